//! The canonical byte encoding of a [`Circuit`] and its blake3 digest; the
//! same bytes are garblet's binary circuit file.
//!
//! Before a run both parties compare [`Circuit::digest`]: equal digests mean
//! the same gates, the same inputs (names, owners, widths) and the same
//! outputs (names, visibility, wires). The encoding is little-endian:
//!
//! ```text
//! magic   b"garblet-circuit\0"  (16 bytes)
//! version u32 = 1
//! wires   u32
//! inputs  u32 count, then per input:  name (u32 len + UTF-8), party u8, width u32
//! outputs u32 count, then per output: name, visibility u8, width u32, width × wire u32
//! gates   u64 count, then per gate:   kind u8, a u32, b u32, out u32  (13 bytes)
//! ```
//!
//! A file holding exactly these bytes ([`write_file`], [`read_file`]) is a
//! binary circuit: its blake3 is the circuit's digest, whatever format the
//! circuit was first loaded from. [`read`] decodes from any `BufRead`,
//! streaming: gate records are fixed-size, so they are decoded in a tight
//! loop straight out of the reader's buffer and checked as they come (1.3 to
//! 1.4 GB/s of file on one core on the Zen 5 machine, most of it faulting in
//! the fresh gate list; `BENCHMARKS.md`).
//!
//! Decoding allocates in proportion to what it has read (or, for a file or
//! a slice, to the input's length), not to the counts the header claims,
//! and the result is validated as [`Circuit::new`] validates: a malformed
//! encoding is a [`DecodeError`], never a panic.
//!
//! Loading a large file is bound by memory the kernel hands out: the gate
//! list (16 bytes a gate) is fresh memory, and on 4 KiB pages its page
//! faults cost about as much as the rest of decoding (issue 15). So the
//! list is allocated once, at its final size when the input's length
//! allows (no regrowth), and a file whose gates write their wires in order
//! is checked with comparisons instead of a bit per wire (`Defined`).

use crate::circuit::{
    Circuit, CircuitError, Gate, GateKind, Input, InputSpec, Output, Party, Visibility, WireId,
};
use std::fmt;
use std::io::{self, BufRead, Write};
use std::path::Path;

/// The first 16 bytes of every canonical encoding (and binary circuit file).
pub const MAGIC: &[u8; 16] = b"garblet-circuit\0";
const VERSION: u32 = 1;
pub(crate) const GATE_BYTES: usize = 13;

/// The blake3 digest of a circuit's canonical encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CircuitDigest(pub [u8; 32]);

impl CircuitDigest {
    /// Lower-case hex, 64 digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for CircuitDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for CircuitDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CircuitDigest({})", self.to_hex())
    }
}

/// Why a byte string is not a canonical circuit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes do not start with the magic string.
    #[error("not a garblet circuit (bad magic)")]
    BadMagic,
    /// An encoding version this build does not read.
    #[error("circuit encoding version {0} is not supported (this build reads version 1)")]
    Version(u32),
    /// The bytes end inside a field.
    #[error("the encoding ends early, inside {0}")]
    Truncated(&'static str),
    /// The file ends before the gates its header declares.
    #[error("the encoding ends after {read} of the {declared} gates its header declares")]
    GatesTruncated {
        /// Whole gate records present.
        read: u64,
        /// Gates the header declares.
        declared: u64,
    },
    /// A gate record's kind is none of XOR (0), AND (1), INV (2).
    #[error("gate {gate}: unknown gate kind tag {tag} (0 is XOR, 1 AND, 2 INV)")]
    BadGateKind {
        /// The gate's index.
        gate: usize,
        /// The tag read.
        tag: u8,
    },
    /// Bytes follow the last gate (counted up to 16 MiB).
    #[error("{0} bytes follow the last gate")]
    TrailingBytes(usize),
    /// A name is not UTF-8.
    #[error("a name is not valid UTF-8")]
    BadName,
    /// An unknown tag for a party, visibility or gate kind.
    #[error("unknown {what} tag {tag}")]
    BadTag {
        /// Which field.
        what: &'static str,
        /// The tag read.
        tag: u8,
    },
    /// The bytes could not be read (a file or stream failed).
    #[error("cannot read the circuit: {message}")]
    Io {
        /// The I/O error's kind.
        kind: io::ErrorKind,
        /// Its text.
        message: String,
    },
    /// The decoded parts do not form a valid circuit.
    #[error(transparent)]
    Invalid(#[from] CircuitError),
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    put_u32(out, name.len() as u32);
    out.extend_from_slice(name.as_bytes());
}

const fn party_tag(p: Party) -> u8 {
    match p {
        Party::Garbler => 0,
        Party::Evaluator => 1,
    }
}

const fn visibility_tag(v: Visibility) -> u8 {
    match v {
        Visibility::Garbler => 0,
        Visibility::Evaluator => 1,
        Visibility::Both => 2,
    }
}

impl Circuit {
    /// Everything but the gates, followed by the gate count.
    fn canonical_header(&self) -> Vec<u8> {
        header_bytes(self.num_wires(), self.inputs(), self.outputs(), self.gates().len() as u64)
    }
}

/// The canonical header of a circuit given as its parts and gate count
/// (for a [`crate::GateFile`], whose gates are read from elsewhere).
pub(crate) fn header_bytes(num_wires: u32, inputs: &[Input], outputs: &[Output], gates: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, VERSION);
    put_u32(&mut out, num_wires);
    put_u32(&mut out, inputs.len() as u32);
    for i in inputs {
        put_name(&mut out, &i.name);
        out.push(party_tag(i.party));
        put_u32(&mut out, i.width);
    }
    put_u32(&mut out, outputs.len() as u32);
    for o in outputs {
        put_name(&mut out, &o.name);
        out.push(visibility_tag(o.visibility));
        put_u32(&mut out, o.width());
        for w in &o.wires {
            put_u32(&mut out, w.get());
        }
    }
    out.extend_from_slice(&gates.to_le_bytes());
    out
}

impl Circuit {
    /// Writes the canonical encoding, streaming the gates in chunks.
    pub fn write_canonical<W: Write>(&self, mut sink: W) -> io::Result<()> {
        sink.write_all(&self.canonical_header())?;
        let mut buf = vec![[0u8; GATE_BYTES]; ENCODE_CHUNK];
        for chunk in self.gates().chunks(ENCODE_CHUNK) {
            sink.write_all(encode_gates(chunk, &mut buf))?;
        }
        Ok(())
    }

    /// The canonical encoding as bytes.
    pub fn to_canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.gates().len() * GATE_BYTES);
        // Writing to a Vec cannot fail.
        let _ = self.write_canonical(&mut out);
        out
    }

    /// blake3 of the canonical encoding, computed without materialising it.
    ///
    /// The gates are encoded a chunk of `DIGEST_CHUNK` at a time and each
    /// chunk hashed on every core (blake3's `update_rayon`; the same hash
    /// as one thread's): for a 57 M-gate circuit the digest is most of what
    /// a run does before planning.
    ///
    /// A circuit decoded by [`read_hashed`] carries its digest already
    /// (the blake3 of the bytes it was read from), and returns it.
    pub fn digest(&self) -> CircuitDigest {
        self.known_digest.0.unwrap_or_else(|| self.encode_digest())
    }

    /// [`Circuit::digest`], always computed from the gates.
    fn encode_digest(&self) -> CircuitDigest {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.canonical_header());
        let mut buf = vec![[0u8; GATE_BYTES]; DIGEST_CHUNK];
        for chunk in self.gates().chunks(DIGEST_CHUNK) {
            hasher.update_rayon(encode_gates(chunk, &mut buf));
        }
        CircuitDigest(*hasher.finalize().as_bytes())
    }

    /// Decodes a canonical encoding (see the module docs): [`read`] over
    /// the bytes in memory, in one pass with no copy.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Circuit, DecodeError> {
        read_sized(bytes, Some(bytes.len() as u64))
    }
}

/// Writes `circuit`'s canonical encoding to a file at `path` (the binary
/// circuit format; `docs/CIRCUITS.md`).
pub fn write_file(circuit: &Circuit, path: impl AsRef<Path>) -> io::Result<()> {
    let mut sink = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    circuit.write_canonical(&mut sink)?;
    sink.flush()
}

/// Reads a binary circuit file: [`read`] over the file in 1 MiB chunks, with
/// the gate list allocated at once when the file's length can hold the
/// gates its header claims.
pub fn read_file(path: impl AsRef<Path>) -> Result<Circuit, DecodeError> {
    let file = std::fs::File::open(path).map_err(io_error)?;
    // A pipe or a special file says 0: the gate list then grows as read.
    let len = file.metadata().map_err(io_error)?.len();
    read_sized(io::BufReader::with_capacity(READ_CHUNK, file), Some(len))
}

/// [`read`], hashing the bytes as they are consumed: the circuit comes
/// back with its digest known, so [`Circuit::digest`] does not encode its
/// gates again (for the 57 M gates of issue 15 that was a third of a
/// second of one core, and hashing on two). The decoder accepts only a
/// canonical encoding (every tag checked, an INV's operands equal, no
/// trailing bytes), so the bytes it consumed are the circuit's encoding
/// and their blake3 its digest; builds with debug assertions check that
/// against the gates.
pub fn read_hashed<R: BufRead>(reader: R) -> Result<Circuit, DecodeError> {
    let mut hashing = Hashing { inner: reader, hasher: blake3::Hasher::new() };
    let mut circuit = read_sized(&mut hashing, None)?;
    let digest = CircuitDigest(*hashing.hasher.finalize().as_bytes());
    debug_assert_eq!(digest, circuit.encode_digest());
    circuit.known_digest.0 = Some(digest);
    Ok(circuit)
}

/// A reader that hashes every byte its user consumes, whether through
/// [`Read::read`] or [`BufRead::consume`].
struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: BufRead> io::Read for Hashing<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.hasher.update(&out[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Hashing<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // The bytes being consumed are still buffered: this returns them
        // without reading.
        if amt > 0 {
            if let Ok(buffered) = self.inner.fill_buf() {
                self.hasher.update(&buffered[..amt.min(buffered.len())]);
            }
        }
        self.inner.consume(amt);
    }
}

/// Whether `head`, the start of a file, is a canonical encoding (starts
/// with the magic string).
pub fn is_canonical(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Decodes a canonical encoding from `reader`, streaming: the header is read
/// field by field, then the fixed-size gate records straight out of the
/// reader's buffer (a `BufReader` of 1 MiB for files, the whole slice for
/// bytes in memory) into the circuit's gate list, each checked as it is
/// decoded — every gate reads only wires set earlier (an input, a constant,
/// or an earlier gate's output) and writes no constant, as [`Circuit::new`]
/// checks. Allocation follows what has been read, never a count in the
/// header alone: the gate list grows at most to twice the gates decoded so
/// far (and to exactly the gate count when the encoding is honest).
///
/// The errors are those of [`Circuit::new`] for the first gate that fails,
/// or [`DecodeError::Truncated`] when the bytes end early.
pub fn read<R: BufRead>(reader: R) -> Result<Circuit, DecodeError> {
    read_sized(reader, None)
}

/// [`read`], told the input's length in bytes when it is known. When that
/// length can hold the gates the header claims, the gate list is allocated
/// once at its final size before any is read (no regrowth; the input's
/// length, not the header, bounds the allocation). Otherwise (a shorter or
/// unknown length) it grows with what is read, as [`read`] says: a claim
/// the input cannot hold ends in [`DecodeError::Truncated`] anyway.
fn read_sized<R: BufRead>(mut reader: R, len: Option<u64>) -> Result<Circuit, DecodeError> {
    let r = &mut reader;
    let Header { num_wires, inputs, outputs, gates: n_gates } = read_header(r)?;
    let fits = len.is_some_and(|len| n_gates.saturating_mul(GATE_BYTES as u64) <= len);
    let ahead = if fits { usize::try_from(n_gates).unwrap_or(0) } else { 0 };
    let mut gates = GateDecoder::new(num_wires, &inputs, n_gates, ahead);
    gates.read_from(r)?;
    let trailing = count_rest(r)?;
    if trailing > 0 {
        return Err(DecodeError::TrailingBytes(trailing));
    }
    gates.check_outputs(&outputs)?;
    Ok(Circuit::from_parts_unchecked(num_wires, inputs, outputs, gates.list))
}

/// Everything before the gate records.
pub(crate) struct Header {
    pub num_wires: u32,
    /// Placed (each input's first wire known) and checked against the
    /// wire count, as [`Circuit::new`] checks them.
    pub inputs: Vec<Input>,
    pub outputs: Vec<Output>,
    /// The gate count the header claims.
    pub gates: u64,
}

/// Reads and checks the header, field by field; allocation follows what
/// has been read, not the counts claimed.
pub(crate) fn read_header(r: &mut impl BufRead) -> Result<Header, DecodeError> {
    if array::<16>(r, "the magic")? != *MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let version = u32_at(r, "the version")?;
    if version != VERSION {
        return Err(DecodeError::Version(version));
    }
    let num_wires = u32_at(r, "the wire count")?;
    let n_inputs = u32_at(r, "the input count")?;
    let mut inputs = Vec::with_capacity((n_inputs as usize).min(HEADER_ITEMS_AHEAD));
    for _ in 0..n_inputs {
        let name = name(r)?;
        let party = match u8_at(r, "an input's party")? {
            0 => Party::Garbler,
            1 => Party::Evaluator,
            tag => return Err(DecodeError::BadTag { what: "party", tag }),
        };
        let width = u32_at(r, "an input's width")?;
        inputs.push(InputSpec { name, party, width });
    }
    let n_outputs = u32_at(r, "the output count")?;
    let mut outputs = Vec::with_capacity((n_outputs as usize).min(HEADER_ITEMS_AHEAD));
    for _ in 0..n_outputs {
        let name = name(r)?;
        let visibility = match u8_at(r, "an output's visibility")? {
            0 => Visibility::Garbler,
            1 => Visibility::Evaluator,
            2 => Visibility::Both,
            tag => return Err(DecodeError::BadTag { what: "visibility", tag }),
        };
        let width = u32_at(r, "an output's width")?;
        let mut wires = Vec::with_capacity((width as usize).min(HEADER_ITEMS_AHEAD));
        for _ in 0..width {
            wires.push(WireId::new(u32_at(r, "an output wire")?));
        }
        outputs.push(Output { name, visibility, wires });
    }
    let gates = u64::from_le_bytes(array(r, "the gate count")?);
    let inputs = Circuit::place_inputs(num_wires, inputs, &outputs)?;
    Ok(Header { num_wires, inputs, outputs, gates })
}

/// Gates encoded per write by [`Circuit::write_canonical`] (53 KB).
const ENCODE_CHUNK: usize = 4096;

/// Gates encoded per hash call by [`Circuit::digest`] (3.3 MB: large
/// enough for blake3 to split over the cores, small enough for L2/L3).
const DIGEST_CHUNK: usize = 1 << 18;

/// The canonical records of `gates` (at most `buf.len()`), written in place
/// in fixed-size records (no per-field push and capacity check: this loop
/// is most of the digest's time after the hashing itself).
fn encode_gates<'b>(gates: &[Gate], buf: &'b mut [[u8; GATE_BYTES]]) -> &'b [u8] {
    let records = &mut buf[..gates.len()];
    for (g, rec) in gates.iter().zip(records.iter_mut()) {
        rec[0] = g.kind.tag();
        rec[1..5].copy_from_slice(&g.a.get().to_le_bytes());
        rec[5..9].copy_from_slice(&g.b.get().to_le_bytes());
        rec[9..].copy_from_slice(&g.out.get().to_le_bytes());
    }
    records.as_flattened()
}

/// The chunk a file is read in.
const READ_CHUNK: usize = 1 << 20;

/// Inputs, outputs or output wires allocated for ahead of reading them.
const HEADER_ITEMS_AHEAD: usize = 1 << 10;

/// Gates allocated for ahead of reading them, at least.
const GATES_AHEAD: usize = 1 << 12;

/// Trailing bytes counted at most, for [`DecodeError::TrailingBytes`].
const TRAILING_COUNTED: usize = 1 << 24;

pub(crate) fn io_error(e: io::Error) -> DecodeError {
    DecodeError::Io { kind: e.kind(), message: e.to_string() }
}

/// Fills `out` from `r`; the end of the input is [`DecodeError::Truncated`].
fn exact<R: BufRead>(r: &mut R, out: &mut [u8], what: &'static str) -> Result<(), DecodeError> {
    r.read_exact(out).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => DecodeError::Truncated(what),
        _ => io_error(e),
    })
}

fn array<const N: usize>(r: &mut impl BufRead, what: &'static str) -> Result<[u8; N], DecodeError> {
    let mut a = [0u8; N];
    exact(r, &mut a, what)?;
    Ok(a)
}

fn u8_at(r: &mut impl BufRead, what: &'static str) -> Result<u8, DecodeError> {
    Ok(array::<1>(r, what)?[0])
}

fn u32_at(r: &mut impl BufRead, what: &'static str) -> Result<u32, DecodeError> {
    Ok(u32::from_le_bytes(array(r, what)?))
}

/// A name: u32 length and UTF-8, read as it arrives (a length alone
/// allocates nothing).
fn name(r: &mut impl BufRead) -> Result<String, DecodeError> {
    let mut left = u32_at(r, "a name's length")? as usize;
    let mut bytes = Vec::with_capacity(left.min(256));
    while left > 0 {
        let buf = r.fill_buf().map_err(io_error)?;
        if buf.is_empty() {
            return Err(DecodeError::Truncated("a name"));
        }
        let take = buf.len().min(left);
        bytes.extend_from_slice(&buf[..take]);
        r.consume(take);
        left -= take;
    }
    String::from_utf8(bytes).map_err(|_| DecodeError::BadName)
}

/// How many bytes remain (up to [`TRAILING_COUNTED`]).
fn count_rest(r: &mut impl BufRead) -> Result<usize, DecodeError> {
    let mut count = 0;
    while count < TRAILING_COUNTED {
        let n = r.fill_buf().map_err(io_error)?.len();
        if n == 0 {
            break;
        }
        r.consume(n);
        count += n;
    }
    Ok(count)
}

/// Whether bit `w` of the set is on (bits past its end are off).
#[inline]
fn is_set(bits: &[u64], w: u32) -> bool {
    bits.get((w >> 6) as usize).is_some_and(|word| word >> (w & 63) & 1 == 1)
}

/// The wires set so far: the constants, the inputs and the outputs of the
/// gates decoded.
///
/// Constants and inputs come first, and while every gate writes the wire
/// right after the last one (as the builder and every writer here number
/// them), the set is the wires below `below`: checking a gate is then
/// comparing numbers, with no bit to read or write ([`decode_in_order`]).
/// From the first gate that writes another wire on, the set is `bits`.
struct Defined {
    /// While `bits` is `None`: the set is exactly the wires below this one.
    below: u32,
    /// One bit per wire (`num_wires / 8` bytes, 512 MiB at most).
    bits: Option<Vec<u64>>,
}

impl Defined {
    fn contains(&self, w: u32) -> bool {
        match &self.bits {
            None => w < self.below,
            Some(bits) => is_set(bits, w),
        }
    }
}

/// The wires below `end` as a bit set for `num_wires` wires (zeroed lazily
/// by the allocator: only the words written cost memory).
fn bits_below(end: u32, num_wires: u32) -> Vec<u64> {
    let mut bits = vec![0u64; (num_wires as usize).div_ceil(64)];
    let (full, rest) = ((end >> 6) as usize, end & 63);
    bits[..full].fill(u64::MAX);
    if rest > 0 {
        bits[full] = (1 << rest) - 1;
    }
    bits
}

/// Decodes and checks gate records as they are read.
pub(crate) struct GateDecoder {
    num_wires: u32,
    /// The wires set so far.
    defined: Defined,
    /// The gates decoded so far.
    pub(crate) list: Vec<Gate>,
    /// The gate count the header claims.
    claimed: u64,
    /// Gates decoded into windows ([`GateDecoder::decode_window`]) rather
    /// than the list: the next gate decoded is gate `taken + list.len()`.
    taken: usize,
}

impl GateDecoder {
    /// `ahead`: gates to allocate for before reading any (at most the
    /// claimed count, and at most what the input's length can hold).
    pub(crate) fn new(num_wires: u32, inputs: &[Input], claimed: u64, ahead: usize) -> Self {
        // Constants and inputs: wires 0 .. inputs_end (checked <= num_wires).
        let inputs_end = inputs.last().map_or(WireId::FIRST_FREE, |i| i.first_wire + i.width).min(num_wires);
        let defined = Defined { below: inputs_end, bits: None };
        GateDecoder { num_wires, defined, list: Vec::with_capacity(ahead), claimed, taken: 0 }
    }

    /// Decodes whole records into the start of `out` (which holds them)
    /// rather than the list, and returns how many: a decoder that checks a
    /// file window by window without ever holding all its gates, and
    /// without copying them twice.
    pub(crate) fn decode_window(&mut self, records: &[u8], out: &mut [Gate]) -> Result<usize, DecodeError> {
        let mut window = Window { out, filled: 0 };
        let decoded = self.decode_to(records, &mut window);
        self.taken += window.filled;
        decoded.map(|()| window.filled)
    }

    /// Reads the claimed number of gate records from `r`: whole records are
    /// decoded where they lie in the reader's buffer; a record split between
    /// two reads is put together in a 13-byte carry.
    fn read_from(&mut self, r: &mut impl BufRead) -> Result<(), DecodeError> {
        let mut left = self.claimed;
        let mut carry = [0u8; GATE_BYTES];
        let mut carried = 0;
        while left > 0 {
            let buf = r.fill_buf().map_err(io_error)?;
            if buf.is_empty() {
                return Err(DecodeError::GatesTruncated {
                    read: self.claimed - left,
                    declared: self.claimed,
                });
            }
            let mut used = 0;
            if carried > 0 {
                let take = (GATE_BYTES - carried).min(buf.len());
                carry[carried..carried + take].copy_from_slice(&buf[..take]);
                carried += take;
                used = take;
                if carried == GATE_BYTES {
                    self.decode(&carry)?;
                    left -= 1;
                    carried = 0;
                }
            }
            let whole = ((buf.len() - used) / GATE_BYTES).min(usize::try_from(left).unwrap_or(usize::MAX));
            let records = &buf[used..used + whole * GATE_BYTES];
            self.decode(records)?;
            left -= whole as u64;
            used += records.len();
            if left > 0 && carried == 0 {
                // Less than a record remains in this buffer: keep it.
                let rest = &buf[used..];
                carry[..rest.len()].copy_from_slice(rest);
                carried = rest.len();
                used = buf.len();
            }
            r.consume(used);
        }
        Ok(())
    }

    /// Once every gate is decoded: each output wire is one a gate, an input
    /// or a constant set, as [`Circuit::new`] checks.
    pub(crate) fn check_outputs(&self, outputs: &[Output]) -> Result<(), DecodeError> {
        for o in outputs {
            for &w in &o.wires {
                if w.get() >= self.num_wires || !self.defined.contains(w.get()) {
                    return Err(
                        CircuitError::UndefinedOutput { output: o.name.clone(), wire: w.get() }.into()
                    );
                }
            }
        }
        Ok(())
    }

    /// Decodes whole records (`records.len()` is a multiple of 13) onto the
    /// list, checking each gate as [`Circuit::new`] does.
    pub(crate) fn decode(&mut self, records: &[u8]) -> Result<(), DecodeError> {
        let start = self.list.len();
        let more = records.len() / GATE_BYTES;
        if start + more > self.list.capacity() {
            // Grow geometrically, but never past the claimed count: an
            // honest encoding ends with capacity == length.
            let want = (start + more).max(2 * self.list.capacity()).max(GATES_AHEAD);
            let claimed = usize::try_from(self.claimed).unwrap_or(usize::MAX);
            let want = want.min(claimed).max(start + more);
            self.list.reserve_exact(want - start);
        }
        let mut list = std::mem::take(&mut self.list);
        let decoded = self.decode_to(records, &mut list);
        self.list = list;
        decoded
    }

    /// Decodes and checks whole records into `sink`, whose first gate is
    /// gate `self.taken` (for the indices in errors).
    fn decode_to(&mut self, records: &[u8], sink: &mut impl GateSink) -> Result<(), DecodeError> {
        let (records, _) = records.as_chunks::<GATE_BYTES>();
        let Defined { below, bits } = &mut self.defined;
        let (records, bits) = match bits {
            Some(bits) => (records, bits),
            None => {
                let done = decode_in_order(records, self.num_wires, below, sink);
                if done == records.len() {
                    return Ok(());
                }
                // Gate `done` writes another wire than the next, or fails a
                // check: from here on, the bit set (the same checks, so the
                // same error if it is one).
                (&records[done..], bits.insert(bits_below(*below, self.num_wires)))
            }
        };
        decode_batch(records, self.num_wires, bits, sink).map_err(|i| {
            let r = &records[i];
            let (tag, a, b, out) = (r[0], word(r, 1), word(r, 5), word(r, 9));
            // decode_batch stopped at this gate because a check fails.
            let gate = self.taken + sink.filled();
            check(gate, tag, a, b, out, self.num_wires, &self.defined)
                .unwrap_or(DecodeError::BadGateKind { gate, tag })
        })
    }
}

/// Where decoded gates go: the growing list of a circuit read whole, or a
/// caller's window ([`GateDecoder::decode_window`]).
trait GateSink {
    /// Gates put so far.
    fn filled(&self) -> usize;
    fn put(&mut self, gate: Gate);
    /// Puts the gates of `records` (whose tags are at most 2).
    fn put_records(&mut self, records: &[[u8; GATE_BYTES]]);
}

impl GateSink for Vec<Gate> {
    fn filled(&self) -> usize {
        self.len()
    }

    #[inline(always)]
    fn put(&mut self, gate: Gate) {
        self.push(gate);
    }

    #[inline(always)]
    fn put_records(&mut self, records: &[[u8; GATE_BYTES]]) {
        // `extend` over a mapped slice knows its length: one capacity check.
        self.extend(records.iter().map(gate_of));
    }
}

/// A caller's slice, filled from its start; it holds every gate put.
struct Window<'a> {
    out: &'a mut [Gate],
    filled: usize,
}

impl GateSink for Window<'_> {
    fn filled(&self) -> usize {
        self.filled
    }

    #[inline(always)]
    fn put(&mut self, gate: Gate) {
        self.out[self.filled] = gate;
        self.filled += 1;
    }

    #[inline(always)]
    fn put_records(&mut self, records: &[[u8; GATE_BYTES]]) {
        for (g, r) in self.out[self.filled..][..records.len()].iter_mut().zip(records) {
            *g = gate_of(r);
        }
        self.filled += records.len();
    }
}

/// Records checked together by [`decode_in_order`].
const IN_ORDER_BLOCK: usize = 64;

/// Decodes the longest run of `records` whose gates each write the wire
/// `*next` (then `*next + 1`, …) and pass every check of [`check`], given
/// that exactly the wires below `*next` are set; returns its length, with
/// `*next` moved past it.
///
/// Under that premise the checks are comparisons: a gate reads only wires
/// below its output and writes `*next < n` (which is not a constant, as
/// the inputs come first). A block of [`IN_ORDER_BLOCK`] records is
/// checked by one loop with no exit, whose body has no branch, then copied
/// by a second with one capacity or bounds check per block
/// ([`GateSink::put_records`]); a block with a failing gate is redone one
/// gate at a time up to it.
#[inline(never)]
fn decode_in_order(records: &[[u8; GATE_BYTES]], n: u32, next: &mut u32, sink: &mut impl GateSink) -> usize {
    let fine = |r: &[u8; GATE_BYTES], out_wanted: u64| {
        let (tag, a, b, out) = (r[0], word(r, 1), word(r, 5), word(r, 9));
        // `&` rather than `&&`: no branch per condition.
        (tag <= 2)
            & (u64::from(out) == out_wanted)
            & (out_wanted < u64::from(n))
            & (u64::from(a.max(b)) < out_wanted)
            & ((tag != GateKind::Inv.tag()) | (a == b))
    };
    let mut done = 0;
    for block in records.chunks(IN_ORDER_BLOCK) {
        let first = u64::from(*next);
        if !block.iter().zip(first..).fold(true, |ok, (r, want)| ok & fine(r, want)) {
            break;
        }
        sink.put_records(block);
        // Every output was below n, a u32.
        *next += block.len() as u32;
        done += block.len();
    }
    for r in &records[done..] {
        if !fine(r, u64::from(*next)) {
            break;
        }
        sink.put(gate_of(r));
        *next += 1;
        done += 1;
    }
    done
}

/// The gate a record holds (whose tag is at most 2).
#[inline(always)]
pub(crate) fn gate_of(r: &[u8; GATE_BYTES]) -> Gate {
    Gate {
        a: WireId::new(word(r, 1)),
        b: WireId::new(word(r, 5)),
        out: WireId::new(word(r, 9)),
        kind: KINDS[usize::from(r[0] & 3)],
    }
}

/// Decodes `records` onto `list` (whose capacity suffices), checking each
/// gate and marking the wire it writes in `defined`; stops at the first
/// gate that fails a check and returns its index in `records`, with `list`
/// and `defined` as they were before it (the caller then names the error).
/// Not inlined: as a function of its own, the compiler knows that the gate
/// list and the wire set do not overlap.
#[inline(never)]
fn decode_batch(
    records: &[[u8; GATE_BYTES]],
    n: u32,
    defined: &mut [u64],
    sink: &mut impl GateSink,
) -> Result<(), usize> {
    for (i, record) in records.iter().enumerate() {
        let (tag, a, b, out) = (record[0], word(record, 1), word(record, 5), word(record, 9));
        // Words past the set's end read as 0: the wire is undefined.
        let bit = |w: u32| defined.get((w >> 6) as usize).is_some_and(|bits| bits >> (w & 63) & 1 == 1);
        let fine = tag <= 2
            && a.max(b).max(out) < n
            && out >= WireId::FIRST_FREE
            && (tag != GateKind::Inv.tag() || a == b)
            && bit(a)
            && bit(b);
        if !fine {
            return Err(i);
        }
        if let Some(bits) = defined.get_mut((out >> 6) as usize) {
            *bits |= 1 << (out & 63);
        }
        sink.put(Gate {
            a: WireId::new(a),
            b: WireId::new(b),
            out: WireId::new(out),
            kind: KINDS[usize::from(tag & 3)],
        });
    }
    Ok(())
}

/// Gate kinds by tag (tags above 2 fail the checks before this is used).
const KINDS: [GateKind; 4] = [GateKind::Xor, GateKind::And, GateKind::Inv, GateKind::Inv];

/// The little-endian `u32` at `at` in a gate record.
#[inline(always)]
fn word(record: &[u8; GATE_BYTES], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&record[at..at + 4]);
    u32::from_le_bytes(w)
}

/// Why gate `gate` is rejected, if it is, in the order `Circuit::new`
/// checks.
fn check(
    gate: usize,
    tag: u8,
    a: u32,
    b: u32,
    out: u32,
    num_wires: u32,
    defined: &Defined,
) -> Option<DecodeError> {
    if tag > 2 {
        return Some(DecodeError::BadGateKind { gate, tag });
    }
    for w in [a, b, out] {
        if w >= num_wires {
            return Some(CircuitError::WireOutOfRange { gate, wire: w, num_wires }.into());
        }
    }
    if tag == GateKind::Inv.tag() && a != b {
        return Some(CircuitError::MalformedInv { gate }.into());
    }
    for w in [a, b] {
        if !defined.contains(w) {
            return Some(CircuitError::ReadBeforeWrite { gate, wire: w }.into());
        }
    }
    (out < WireId::FIRST_FREE).then(|| CircuitError::WritesConstant { gate, wire: out }.into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Builder;

    /// A small circuit with two inputs, a few hundred gates and two
    /// outputs, in wire order (also `gate_file.rs`'s sample).
    pub(crate) fn sample() -> Circuit {
        let mut b = Builder::new();
        let x = b.input("x", Party::Garbler, 16).unwrap();
        let y = b.input("y", Party::Evaluator, 16).unwrap();
        let p = b.mul(&x, &y);
        let s = b.add(&x, &y);
        b.output("product", Visibility::Both, p).unwrap();
        b.output("sum", Visibility::Evaluator, s).unwrap();
        b.finish().unwrap()
    }

    #[test]
    fn decodes_in_any_chunking_to_the_same_circuit() {
        let c = sample();
        let bytes = c.to_canonical_bytes();
        assert_eq!(Circuit::from_canonical_bytes(&bytes).unwrap(), c);
        // Buffers smaller than, equal to and not a multiple of a record.
        for cap in [1, 5, 13, 14, 100, 4096] {
            let decoded = read(io::BufReader::with_capacity(cap, &bytes[..])).unwrap();
            assert_eq!(decoded, c, "buffer of {cap}");
            assert_eq!(decoded.digest(), c.digest());
        }
    }

    #[test]
    fn a_hashed_read_carries_the_digest_of_its_gates() {
        let c = sample();
        // Computed from the gates: `c` was built, not read.
        let expect = c.digest();
        let bytes = c.to_canonical_bytes();
        assert_eq!(expect, CircuitDigest(*blake3::hash(&bytes).as_bytes()));
        // Bytes reach the hasher through `read` (the header) and `consume`
        // (the gate records): buffers smaller than, equal to and not a
        // multiple of a record.
        for cap in [1, 5, 13, 14, 100, 4096, 1 << 20] {
            let decoded = read_hashed(io::BufReader::with_capacity(cap, &bytes[..])).unwrap();
            assert_eq!(decoded.known_digest.0, Some(expect), "buffer of {cap}");
            assert_eq!(decoded.digest(), expect);
            assert_eq!(decoded, c);
        }
        // Refused as `read` refuses.
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(read_hashed(&long[..]), Err(DecodeError::TrailingBytes(1)));
        let mut bad = bytes;
        bad[0] ^= 1;
        assert_eq!(read_hashed(&bad[..]), Err(DecodeError::BadMagic));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().to_canonical_bytes();
        for len in 0..bytes.len() {
            for cap in [7, 1 << 12] {
                let err = read(io::BufReader::with_capacity(cap, &bytes[..len])).unwrap_err();
                assert!(
                    matches!(
                        err,
                        DecodeError::Truncated(_)
                            | DecodeError::GatesTruncated { .. }
                            | DecodeError::BadMagic
                    ),
                    "{len} bytes: {err:?}"
                );
            }
        }
        let mut long = bytes;
        long.extend_from_slice(&[0; 5]);
        assert_eq!(Circuit::from_canonical_bytes(&long), Err(DecodeError::TrailingBytes(5)));
    }

    #[test]
    fn corrupt_gates_give_the_errors_circuit_new_gives() {
        let c = sample();
        let bytes = c.to_canonical_bytes();
        let gates_at = bytes.len() - c.gates().len() * GATE_BYTES;
        // Gate 3: each field corrupted in turn.
        let at = gates_at + 3 * GATE_BYTES;
        let with = |offset: usize, value: &[u8]| {
            let mut b = bytes.clone();
            b[at + offset..at + offset + value.len()].copy_from_slice(value);
            b
        };
        let n = c.num_wires();
        assert_eq!(
            Circuit::from_canonical_bytes(&with(0, &[7])),
            Err(DecodeError::BadGateKind { gate: 3, tag: 7 })
        );
        assert_eq!(
            Circuit::from_canonical_bytes(&with(5, &n.to_le_bytes())),
            Err(CircuitError::WireOutOfRange { gate: 3, wire: n, num_wires: n }.into())
        );
        assert_eq!(
            Circuit::from_canonical_bytes(&with(9, &1u32.to_le_bytes())),
            Err(CircuitError::WritesConstant { gate: 3, wire: 1 }.into())
        );
        // A wire no gate has written yet: the last gate's output.
        let last = c.gates().last().unwrap().out.get();
        let decoded = Circuit::from_canonical_bytes(&with(1, &last.to_le_bytes()));
        let mut gates = c.gates().to_vec();
        gates[3].a = WireId::new(last);
        let inputs = c.inputs().iter().map(|i| InputSpec::new(i.name.clone(), i.party, i.width)).collect();
        let direct = Circuit::new(n, inputs, c.outputs().to_vec(), gates);
        assert_eq!(decoded, direct.map_err(DecodeError::from));
        assert!(matches!(decoded, Err(DecodeError::Invalid(CircuitError::ReadBeforeWrite { gate: 3, .. }))));
    }

    #[test]
    fn gates_out_of_wire_order_are_checked_as_circuit_new_checks_them() {
        // Inputs on wires 2 and 3; the gates write 4, 6 (out of order from
        // here on), 5 and 7.
        let g = |a, b, out| Gate::xor(WireId::new(a), WireId::new(b), WireId::new(out));
        let gates = vec![
            g(2, 3, 4),
            g(4, 2, 6),
            g(6, 4, 5),
            Gate::and(WireId::new(5), WireId::new(6), WireId::new(7)),
        ];
        let inputs = || vec![InputSpec::new("x", Party::Garbler, 2)];
        let outputs =
            vec![Output { name: "y".into(), visibility: Visibility::Both, wires: vec![WireId::new(7)] }];
        let c = Circuit::new(8, inputs(), outputs.clone(), gates.clone()).unwrap();
        let bytes = c.to_canonical_bytes();
        for cap in [1, 13, 4096] {
            assert_eq!(read(io::BufReader::with_capacity(cap, &bytes[..])).unwrap(), c, "buffer of {cap}");
        }
        assert_eq!(Circuit::from_canonical_bytes(&bytes).unwrap(), c);
        // Each gate in turn reads a wire not yet written, or writes one twice
        // over an input: the errors of `Circuit::new`.
        let gates_at = bytes.len() - gates.len() * GATE_BYTES;
        for (gate, field, wire) in [(0, 1, 4), (1, 5, 5), (2, 1, 7), (3, 5, 7), (3, 9, 3), (2, 9, 1)] {
            let mut bad = bytes.clone();
            let at = gates_at + gate * GATE_BYTES + field;
            bad[at..at + 4].copy_from_slice(&u32::to_le_bytes(wire));
            let mut changed = gates.clone();
            let w = WireId::new(wire);
            match field {
                1 => changed[gate].a = w,
                5 => changed[gate].b = w,
                _ => changed[gate].out = w,
            }
            let want = Circuit::new(8, inputs(), outputs.clone(), changed).map_err(DecodeError::from);
            for cap in [1, 13, 4096] {
                let got = read(io::BufReader::with_capacity(cap, &bad[..]));
                assert_eq!(got, want, "gate {gate}, field {field}, buffer of {cap}");
            }
            assert_eq!(Circuit::from_canonical_bytes(&bad), want);
        }
    }

    #[test]
    fn a_header_count_alone_allocates_nothing() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        for v in [VERSION, 4, 0, 0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(
            Circuit::from_canonical_bytes(&bytes),
            Err(DecodeError::GatesTruncated { read: 0, declared: u64::MAX })
        );
        let mut names = bytes[..24].to_vec();
        names.extend_from_slice(&u32::MAX.to_le_bytes()); // inputs
        names.extend_from_slice(&u32::MAX.to_le_bytes()); // a name's length
        assert_eq!(Circuit::from_canonical_bytes(&names), Err(DecodeError::Truncated("a name")));
    }
}
