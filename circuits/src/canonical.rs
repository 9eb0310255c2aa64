//! The canonical byte encoding of a [`Circuit`] and its blake3 digest.
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
//! gates   u64 count, then per gate:   kind u8, a u32, b u32, out u32
//! ```
//!
//! Decoding checks every count against the bytes that remain before it
//! allocates, so a hostile encoding cannot make it allocate more than its own
//! length, and the result is validated like any other circuit.

use crate::circuit::{Circuit, CircuitError, Gate, GateKind, InputSpec, Output, Party, Visibility, WireId};
use std::fmt;
use std::io::{self, Write};

const MAGIC: &[u8; 16] = b"garblet-circuit\0";
const VERSION: u32 = 1;
const GATE_BYTES: usize = 13;

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
    /// Bytes follow the last gate.
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
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, VERSION);
        put_u32(&mut out, self.num_wires());
        put_u32(&mut out, self.inputs().len() as u32);
        for i in self.inputs() {
            put_name(&mut out, &i.name);
            out.push(party_tag(i.party));
            put_u32(&mut out, i.width);
        }
        put_u32(&mut out, self.outputs().len() as u32);
        for o in self.outputs() {
            put_name(&mut out, &o.name);
            out.push(visibility_tag(o.visibility));
            put_u32(&mut out, o.width());
            for w in &o.wires {
                put_u32(&mut out, w.get());
            }
        }
        out.extend_from_slice(&(self.gates().len() as u64).to_le_bytes());
        out
    }

    /// Writes the canonical encoding, streaming the gates in chunks.
    pub fn write_canonical<W: Write>(&self, mut sink: W) -> io::Result<()> {
        sink.write_all(&self.canonical_header())?;
        let mut buf = Vec::with_capacity(GATE_BYTES * 4096);
        for chunk in self.gates().chunks(4096) {
            buf.clear();
            for g in chunk {
                buf.push(g.kind.tag());
                buf.extend_from_slice(&g.a.get().to_le_bytes());
                buf.extend_from_slice(&g.b.get().to_le_bytes());
                buf.extend_from_slice(&g.out.get().to_le_bytes());
            }
            sink.write_all(&buf)?;
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
    pub fn digest(&self) -> CircuitDigest {
        let mut hasher = blake3::Hasher::new();
        // blake3::Hasher's Write impl never fails.
        let _ = self.write_canonical(&mut hasher);
        CircuitDigest(*hasher.finalize().as_bytes())
    }

    /// Decodes a canonical encoding (see the module docs).
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Circuit, DecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(16, "the magic")? != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = r.u32("the version")?;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let num_wires = r.u32("the wire count")?;
        let n_inputs = r.count(9, "the input count")?;
        let mut inputs = Vec::with_capacity(n_inputs);
        for _ in 0..n_inputs {
            let name = r.name()?;
            let party = match r.u8("an input's party")? {
                0 => Party::Garbler,
                1 => Party::Evaluator,
                tag => return Err(DecodeError::BadTag { what: "party", tag }),
            };
            let width = r.u32("an input's width")?;
            inputs.push(InputSpec { name, party, width });
        }
        let n_outputs = r.count(9, "the output count")?;
        let mut outputs = Vec::with_capacity(n_outputs);
        for _ in 0..n_outputs {
            let name = r.name()?;
            let visibility = match r.u8("an output's visibility")? {
                0 => Visibility::Garbler,
                1 => Visibility::Evaluator,
                2 => Visibility::Both,
                tag => return Err(DecodeError::BadTag { what: "visibility", tag }),
            };
            let width = r.count(4, "an output's width")?;
            let mut wires = Vec::with_capacity(width);
            for _ in 0..width {
                wires.push(WireId::new(r.u32("an output wire")?));
            }
            outputs.push(Output { name, visibility, wires });
        }
        let n_gates = u64::from_le_bytes(r.array("the gate count")?);
        let remaining = (bytes.len() - r.pos) as u64;
        if n_gates.checked_mul(GATE_BYTES as u64).is_none_or(|need| need > remaining) {
            return Err(DecodeError::Truncated("the gates"));
        }
        let mut gates = Vec::with_capacity(n_gates as usize);
        for _ in 0..n_gates {
            let kind = match r.u8("a gate")? {
                0 => GateKind::Xor,
                1 => GateKind::And,
                2 => GateKind::Inv,
                tag => return Err(DecodeError::BadTag { what: "gate kind", tag }),
            };
            let a = WireId::new(r.u32("a gate")?);
            let b = WireId::new(r.u32("a gate")?);
            let out = WireId::new(r.u32("a gate")?);
            gates.push(Gate { a, b, out, kind });
        }
        if r.pos != bytes.len() {
            return Err(DecodeError::TrailingBytes(bytes.len() - r.pos));
        }
        Ok(Circuit::new(num_wires, inputs, outputs, gates)?)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(DecodeError::Truncated(what))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    /// A count of items of at least `min_item_bytes` each, checked against
    /// what remains.
    fn count(&mut self, min_item_bytes: usize, what: &'static str) -> Result<usize, DecodeError> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_item_bytes) > self.bytes.len() - self.pos {
            return Err(DecodeError::Truncated(what));
        }
        Ok(n)
    }
    fn name(&mut self) -> Result<String, DecodeError> {
        let len = self.u32("a name's length")? as usize;
        let raw = self.take(len, "a name")?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::BadName)
    }
}
