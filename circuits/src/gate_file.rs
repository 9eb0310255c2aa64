//! A binary circuit file read in place, window by window, never held whole.
//!
//! [`crate::canonical::read_file`] decodes a file into a [`Circuit`]: its
//! gate list (16 bytes a gate) is fresh memory the kernel must fault in and
//! zero, which for the 57 M gates of issue 15 was half of a run's
//! system time and most of its peak memory, only for a planner to read
//! the list once backwards and once forwards. A [`GateFile`] keeps the
//! header (the circuit's interface) and reads gate records at any position
//! when asked, through one reused buffer, so a planner that reads windows
//! of gates (`GateSource` in the engine) plans straight from the file.
//!
//! The file is checked and hashed as it is read in order: reads that
//! continue where the last in-order read ended (the planner's forward pass)
//! go through the same decoder as [`crate::canonical::read`], which checks
//! every gate as [`Circuit::new`] does, and feed blake3. Reads elsewhere
//! (the planner's backward pass) are decoded unchecked: the planner checks
//! the wire ranges it indexes with itself, and the file is only trusted
//! once [`GateFile::finish`] has checked and hashed every gate, in order,
//! and returned the digest. A gate that fails a check, or a read that
//! fails, ends the in-order reads (they return no gates) and is the error
//! `finish` returns, so a plan of a bad file is never used.
//!
//! Memory: the header, a buffer of the largest window read, and the
//! decoder's bit per wire when the gates do not write their wires in order.

use crate::canonical::{
    gate_of, header_bytes, io_error, read_header, CircuitDigest, DecodeError, GateDecoder, Header, GATE_BYTES,
};
use crate::circuit::{Circuit, Gate, Input, Output, Party, Visibility, WireId};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// A binary circuit file whose gates are read where they lie (see the
/// module docs). `Sync`: reads from several threads take turns.
pub struct GateFile {
    num_wires: u32,
    /// Placed, as [`Circuit::new`] places them.
    inputs: Vec<Input>,
    outputs: Vec<Output>,
    /// Gates the header claims (and the file's length holds, exactly).
    num_gates: u64,
    /// Where the first gate record starts.
    records_at: u64,
    /// The file's length and modification time when opened: a file that
    /// changes between the planner's passes is refused by
    /// [`GateFile::finish`].
    stamp: (u64, Option<SystemTime>),
    /// `None` only inside [`GateFile::with_roles`].
    scan: Mutex<Option<Scan>>,
}

/// The reading state: the file, the buffer, and the in-order check.
struct Scan {
    file: File,
    bytes: Vec<u8>,
    /// The checks of every gate read in order so far.
    decoder: GateDecoder,
    /// blake3 of the header and of the gates read in order so far.
    hasher: blake3::Hasher,
    /// Gates read in order so far: the next in-order read starts here.
    next: u64,
    /// The first check or read that failed; in-order reads stop there.
    failed: Option<DecodeError>,
}

impl GateFile {
    /// Opens a binary circuit file and reads its header; the gates are read
    /// later, as asked. The file's length must be exactly the header and
    /// the gates it claims.
    pub fn open(path: impl AsRef<Path>) -> Result<GateFile, DecodeError> {
        let mut file = File::open(path).map_err(io_error)?;
        let metadata = file.metadata().map_err(io_error)?;
        let len = metadata.len();
        let mut head = BufReader::with_capacity(1 << 16, &mut file);
        let Header { num_wires, inputs, outputs, gates } = read_header(&mut head)?;
        let records_at = header_bytes(num_wires, &inputs, &outputs, gates).len() as u64;
        let records = gates.saturating_mul(GATE_BYTES as u64);
        match len.checked_sub(records_at).map(|rest| rest.cmp(&records)) {
            Some(std::cmp::Ordering::Equal) => {}
            Some(std::cmp::Ordering::Greater) => {
                let extra = len - records_at - records;
                return Err(DecodeError::TrailingBytes(usize::try_from(extra).unwrap_or(usize::MAX)));
            }
            Some(std::cmp::Ordering::Less) => {
                let read = (len - records_at) / GATE_BYTES as u64;
                return Err(DecodeError::GatesTruncated { read, declared: gates });
            }
            None => return Err(DecodeError::Truncated("the gates")),
        }
        drop(head);
        let stamp = (len, metadata.modified().ok());
        let mut f = GateFile {
            num_wires,
            inputs,
            outputs,
            num_gates: gates,
            records_at,
            stamp,
            scan: Mutex::new(None),
        };
        f.scan = Mutex::new(Some(f.fresh_scan(file)));
        Ok(f)
    }

    /// The circuit's interface, as [`Circuit::interface`]: the same inputs
    /// and outputs, no gates.
    pub fn interface(&self) -> Circuit {
        Circuit::interface_of(&self.inputs, &self.outputs)
    }

    /// The size of the wire space (constants included).
    pub fn num_wires(&self) -> u32 {
        self.num_wires
    }

    /// The inputs, placed (each input's first wire set).
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// The outputs, with their wires.
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// The output wires, all outputs concatenated in output order.
    pub fn output_wires(&self) -> Vec<WireId> {
        self.outputs.iter().flat_map(|o| o.wires.iter().copied()).collect()
    }

    /// Total input bits.
    pub fn input_bits(&self) -> u64 {
        self.inputs.iter().map(|i| u64::from(i.width)).sum()
    }

    /// The gate count.
    pub fn num_gates(&self) -> u64 {
        self.num_gates
    }

    /// The same file with its inputs handed to other owners and its outputs
    /// to other readers, as [`Circuit::with_roles`] (owners and readers are
    /// in the digest, so the reading starts over).
    pub fn with_roles(
        mut self,
        mut party_of: impl FnMut(&Input) -> Party,
        mut visibility_of: impl FnMut(&Output) -> Visibility,
    ) -> GateFile {
        for i in &mut self.inputs {
            i.party = party_of(i);
        }
        for o in &mut self.outputs {
            o.visibility = visibility_of(o);
        }
        let scan = self.scan.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(scan) = scan {
            let fresh = self.fresh_scan(scan.file);
            *self.scan.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(fresh);
        }
        self
    }

    /// Copies gates `start, start + 1, …` into `out`; returns how many (fewer
    /// than `out.len()` only at the end). A read that continues the
    /// in-order reads checks and hashes its gates; once a check or a read
    /// has failed, such reads return 0 (see [`GateFile::finish`]). Reads
    /// elsewhere decode without checks, and return 0 if the file fails.
    pub fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
        let want = (out.len() as u64).min(self.num_gates.saturating_sub(start));
        if want == 0 {
            return 0;
        }
        let mut guard = self.lock();
        let Some(scan) = guard.as_mut() else { return 0 };
        let in_order = start == scan.next;
        if in_order && scan.failed.is_some() {
            return 0;
        }
        // Fits: `want` is at most `out.len()`.
        let n = want as usize;
        if let Err(e) = scan.read_records(self.records_at, start, n) {
            if in_order {
                scan.failed = Some(e);
            }
            return 0;
        }
        if !in_order {
            let (records, _) = scan.bytes.as_chunks::<GATE_BYTES>();
            for (g, r) in out.iter_mut().zip(records) {
                *g = gate_of(r);
            }
            return n;
        }
        scan.hasher.update(&scan.bytes);
        match scan.decoder.decode_window(&scan.bytes, out) {
            Ok(taken) => {
                scan.next += taken as u64;
                taken
            }
            Err(e) => {
                scan.failed = Some(e);
                0
            }
        }
    }

    /// Checks and hashes the gates not yet read in order (none after a
    /// forward pass over the whole file), checks that every output wire is
    /// set, and returns the circuit's digest: the same as
    /// [`Circuit::digest`] of the file read whole (with [`with_roles`]'s
    /// owners). The first failed check or read is the error, as
    /// [`crate::canonical::read_file`] would report it.
    ///
    /// [`with_roles`]: GateFile::with_roles
    pub fn finish(&self) -> Result<CircuitDigest, DecodeError> {
        let mut buf = vec![Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(WireId::FIRST_FREE)); 1 << 16];
        loop {
            let next = self.lock().as_ref().map_or(self.num_gates, |s| s.next);
            if next >= self.num_gates || self.read_gates(next, &mut buf) == 0 {
                break;
            }
        }
        let guard = self.lock();
        // Always there: only `with_roles` takes it, and puts a new one back.
        let Some(scan) = guard.as_ref() else { return Err(DecodeError::Truncated("the gates")) };
        if let Some(e) = &scan.failed {
            return Err(e.clone());
        }
        let now = scan.file.metadata().map_err(io_error)?;
        if (now.len(), now.modified().ok()) != self.stamp {
            return Err(DecodeError::Io {
                kind: io::ErrorKind::Other,
                message: "the file changed while it was read (run again once it is written)".into(),
            });
        }
        scan.decoder.check_outputs(&self.outputs)?;
        Ok(CircuitDigest(*scan.hasher.finalize().as_bytes()))
    }

    /// A reading state from the first gate, hashing this file's header
    /// (with its current owners and readers).
    fn fresh_scan(&self, file: File) -> Scan {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&header_bytes(self.num_wires, &self.inputs, &self.outputs, self.num_gates));
        Scan {
            file,
            bytes: Vec::new(),
            decoder: GateDecoder::new(self.num_wires, &self.inputs, self.num_gates, 0),
            hasher,
            next: 0,
            failed: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Scan>> {
        // A panic while reading leaves nothing half-updated that matters:
        // at worst `failed` is unset and the next in-order read repeats.
        self.scan.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Scan {
    /// Reads the `n` records from gate `start` on into `bytes`.
    fn read_records(&mut self, records_at: u64, start: u64, n: usize) -> Result<(), DecodeError> {
        self.bytes.resize(n * GATE_BYTES, 0);
        let at = records_at + start * GATE_BYTES as u64;
        self.file.seek(SeekFrom::Start(at)).map_err(io_error)?;
        self.file.read_exact(&mut self.bytes).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => DecodeError::Truncated("the gates"),
            _ => io_error(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::tests::sample;
    use crate::canonical::{read_file, write_file};
    use crate::InputSpec;
    use garblet_testkit::TempPath;

    fn written(c: &Circuit) -> TempPath {
        let path = TempPath::new("gates.gbc");
        write_file(c, &path.0).unwrap();
        path
    }

    fn filler() -> Gate {
        Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(WireId::FIRST_FREE))
    }

    /// Reads every gate forwards in windows of `window`; returns them.
    fn forwards(f: &GateFile, window: usize) -> Vec<Gate> {
        let (mut all, mut buf) = (Vec::new(), vec![filler(); window]);
        loop {
            let n = f.read_gates(all.len() as u64, &mut buf);
            if n == 0 {
                return all;
            }
            all.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn read_in_order_in_any_window_it_gives_the_gates_and_the_digest_of_the_file() {
        let c = sample();
        let path = written(&c);
        for window in [1, 7, 64, 1 << 16] {
            let f = GateFile::open(&path.0).unwrap();
            assert_eq!((f.num_gates(), f.num_wires()), (c.gates().len() as u64, c.num_wires()));
            assert_eq!(f.interface(), c.interface());
            assert_eq!(
                f.output_wires(),
                c.outputs().iter().flat_map(|o| o.wires.clone()).collect::<Vec<_>>()
            );
            // A backward pass first (unchecked, unhashed), as a planner makes.
            let mut buf = vec![filler(); window];
            for start in (0..c.gates().len()).step_by(window).rev() {
                let n = f.read_gates(start as u64, &mut buf);
                assert_eq!(&buf[..n], &c.gates()[start..(start + window).min(c.gates().len())]);
            }
            assert_eq!(forwards(&f, window), c.gates(), "window {window}");
            assert_eq!(f.finish().unwrap(), c.digest(), "window {window}");
        }
        // Without any read, `finish` reads the whole file itself.
        let f = GateFile::open(&path.0).unwrap();
        assert_eq!(f.finish().unwrap(), blake3_of(&path));
    }

    fn blake3_of(path: &TempPath) -> CircuitDigest {
        CircuitDigest(*blake3::hash(&std::fs::read(&path.0).unwrap()).as_bytes())
    }

    #[test]
    fn new_owners_give_the_digest_of_the_circuit_with_those_owners() {
        let c = sample();
        let path = written(&c);
        let flip = |p: Party| if p == Party::Garbler { Party::Evaluator } else { Party::Garbler };
        let f = GateFile::open(&path.0).unwrap().with_roles(|i| flip(i.party), |_| Visibility::Both);
        let owned = c.clone().with_roles(|i| flip(i.party), |_| Visibility::Both);
        assert_ne!(owned.digest(), c.digest());
        assert_eq!(f.interface(), owned.interface());
        assert_eq!(f.finish().unwrap(), owned.digest());
        // A circuit read with its digest forgets it when its owners change.
        let read = read_file(&path.0).unwrap();
        assert_eq!(read.clone().with_roles(|i| i.party, |o| o.visibility).digest(), c.digest());
        assert_eq!(read.with_roles(|i| flip(i.party), |_| Visibility::Both).digest(), owned.digest());
    }

    #[test]
    fn a_bad_file_is_the_error_reading_it_whole_gives() {
        // Inputs on wires 2 and 3; gate 2 reads wire 9, never written.
        let g = |a, b, out| Gate::xor(WireId::new(a), WireId::new(b), WireId::new(out));
        let gates = vec![g(2, 3, 4), g(4, 2, 5), g(5, 4, 6), g(6, 5, 7), g(7, 6, 8), g(8, 7, 9)];
        let outputs =
            vec![Output { name: "y".into(), visibility: Visibility::Both, wires: vec![WireId::new(9)] }];
        let c = Circuit::new(10, vec![InputSpec::new("x", Party::Garbler, 2)], outputs, gates).unwrap();
        let path = written(&c);
        let mut bytes = std::fs::read(&path.0).unwrap();
        let gates_at = bytes.len() - 6 * GATE_BYTES;
        bytes[gates_at + 2 * GATE_BYTES + 1..][..4].copy_from_slice(&9u32.to_le_bytes());
        std::fs::write(&path.0, &bytes).unwrap();
        let whole = read_file(&path.0).unwrap_err();
        assert!(matches!(whole, DecodeError::Invalid(_)), "{whole:?}");
        for window in [1, 2, 4, 64] {
            let f = GateFile::open(&path.0).unwrap();
            // In-order reads stop before the window holding the bad gate.
            assert_eq!(forwards(&f, window).len(), 2 / window * window, "window {window}");
            assert_eq!(f.finish().unwrap_err(), whole, "window {window}");
        }
        // Truncated or with bytes after the gates: refused when opened.
        std::fs::write(&path.0, &bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(GateFile::open(&path.0).err(), Some(DecodeError::GatesTruncated { read: 5, declared: 6 }));
        let mut long = bytes.clone();
        long.extend_from_slice(&[0; 3]);
        std::fs::write(&path.0, &long).unwrap();
        assert_eq!(GateFile::open(&path.0).err(), Some(DecodeError::TrailingBytes(3)));
        std::fs::write(&path.0, &bytes[..20]).unwrap();
        assert!(matches!(GateFile::open(&path.0), Err(DecodeError::Truncated(_))));
    }

    #[test]
    fn a_file_that_changes_while_it_is_planned_is_refused() {
        let c = sample();
        let path = written(&c);
        let f = GateFile::open(&path.0).unwrap();
        let mut buf = vec![filler(); 8];
        assert_eq!(f.read_gates(0, &mut buf), 8);
        // Rewritten in place, one byte longer (the open handle sees it).
        let mut bytes = std::fs::read(&path.0).unwrap();
        bytes.push(0);
        std::fs::write(&path.0, &bytes).unwrap();
        let err = f.finish().unwrap_err();
        assert!(err.to_string().contains("changed while it was read"), "{err}");
    }
}
