//! Two parties in memory, with one side's outgoing bytes optionally
//! tampered with.

use garblet_circuits::Party;
use garblet_engine::channel::{memory_pair, Channel, MemoryChannel};
use garblet_engine::session::{
    PartyInputs, Phase, PhaseEntry, SessionConfig, SessionError, SessionOutcome, SessionProgram,
};
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

/// What a [`Tamper`] does to the byte stream it writes, at a byte offset
/// counted from the first byte this side sends.
#[derive(Clone, Debug)]
pub enum Tampering {
    /// XOR the byte at `at` with `mask`.
    Flip {
        /// The offset.
        at: u64,
        /// The bits to flip.
        mask: u8,
    },
    /// Write `bytes` over the stream from `at` on.
    Replace {
        /// The offset.
        at: u64,
        /// What the peer reads there instead.
        bytes: Vec<u8>,
    },
    /// Stop at `at`: what comes before is sent, and the write that reaches
    /// `at` fails (`BrokenPipe`), so this side stops and the peer sees the
    /// stream end mid-message. (Dropping bytes silently instead would leave
    /// both sides waiting on a link without timeouts.)
    CutAt(u64),
}

/// A transport that applies one [`Tampering`] to what it writes; reads
/// pass through.
#[derive(Debug)]
pub struct Tamper<T> {
    inner: T,
    written: u64,
    tampering: Tampering,
}

impl<T> Tamper<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, tampering: Tampering) -> Self {
        Tamper { inner, written: 0, tampering }
    }
}

impl<T: Read> Read for Tamper<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<T: Write> Write for Tamper<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let start = self.written;
        self.written += buf.len() as u64;
        let offset = |at: u64| at.checked_sub(start).map(|o| o as usize).filter(|&o| o < buf.len());
        let out: Vec<u8> = match &self.tampering {
            Tampering::Flip { at, mask } => {
                let mut v = buf.to_vec();
                if let Some(o) = offset(*at) {
                    v[o] ^= mask;
                }
                v
            }
            Tampering::Replace { at, bytes } => {
                let mut v = buf.to_vec();
                for (k, b) in bytes.iter().enumerate() {
                    if let Some(o) = offset(at + k as u64) {
                        v[o] = *b;
                    }
                }
                v
            }
            Tampering::CutAt(at) => {
                if let Some(o) = offset(*at) {
                    self.inner.write_all(&buf[..o])?;
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "cut by the test"));
                }
                if *at < start {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "cut by the test"));
                }
                buf.to_vec()
            }
        };
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Runs a semi-honest session in memory, garbler on a second thread;
/// `tamper` alters what one party sends. Returns (garbler, evaluator).
pub fn run_pair(
    program: &SessionProgram<'_>,
    garbler_inputs: &PartyInputs,
    evaluator_inputs: &PartyInputs,
    tamper: Option<(Party, Tampering)>,
) -> (Result<SessionOutcome, SessionError>, Result<SessionOutcome, SessionError>) {
    let (a, b) = memory_pair();
    let wrap = |ch: MemoryChannel, p: Party| {
        let t = tamper.clone().filter(|(who, _)| *who == p).map(|(_, t)| t);
        Channel::new(Tamper::new(ch, t.unwrap_or(Tampering::Replace { at: 0, bytes: Vec::new() })))
    };
    let (mut g_ch, mut e_ch) = (wrap(a, Party::Garbler), wrap(b, Party::Evaluator));
    std::thread::scope(|s| {
        let g = s.spawn(|| {
            let r = SessionConfig::new().run(Party::Garbler, &mut g_ch, program, garbler_inputs);
            drop(g_ch);
            r
        });
        let e = SessionConfig::new().run(Party::Evaluator, &mut e_ch, program, evaluator_inputs);
        drop(e_ch);
        (g.join().expect("the garbler thread"), e)
    })
}

/// One party's phases in a clean run: each phase as it was entered, with
/// the bytes sent and received by then, and the bytes sent in all.
#[derive(Clone, Debug)]
pub struct PhaseLog {
    /// The phases, in order.
    pub entries: Vec<PhaseEntry>,
    /// Bytes the party sent over the whole run.
    pub total_sent: u64,
}

impl PhaseLog {
    /// The phases in which this party sends something, with the byte range
    /// of what it sends in each: `(phase, start, end)`.
    pub fn spans(&self) -> Vec<(Phase, u64, u64)> {
        let ends = self.entries.iter().skip(1).map(|n| n.bytes_sent).chain([self.total_sent]);
        self.entries
            .iter()
            .zip(ends)
            .filter(|(e, end)| *end > e.bytes_sent)
            .map(|(e, end)| (e.phase, e.bytes_sent, end))
            .collect()
    }
}

/// The garbler's and the evaluator's [`PhaseLog`] of a clean run. Sizes
/// depend on the program only, so the offsets hold for any inputs of the
/// same widths, and for the same program run by the `garblet` binary.
pub fn phase_offsets(
    program: &SessionProgram<'_>,
    garbler_inputs: &PartyInputs,
    evaluator_inputs: &PartyInputs,
) -> (PhaseLog, PhaseLog) {
    let logs = [Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new()))];
    let config = |log: &Arc<Mutex<Vec<PhaseEntry>>>| {
        let log = log.clone();
        SessionConfig::new().with_phases(Arc::new(move |e: PhaseEntry| log.lock().unwrap().push(e)))
    };
    let (gc, ec) = (config(&logs[0]), config(&logs[1]));
    let (a, b) = memory_pair();
    let (g, e) = std::thread::scope(|s| {
        let g = s.spawn(|| gc.run(Party::Garbler, &mut Channel::new(a), program, garbler_inputs).unwrap());
        let e = ec.run(Party::Evaluator, &mut Channel::new(b), program, evaluator_inputs).unwrap();
        (g.join().unwrap(), e)
    });
    let [gl, el] = logs;
    let take = |l: Arc<Mutex<Vec<PhaseEntry>>>| l.lock().unwrap().clone();
    (
        PhaseLog { entries: take(gl), total_sent: g.bytes_sent },
        PhaseLog { entries: take(el), total_sent: e.bytes_sent },
    )
}

/// A transport that keeps a copy of every byte written through it.
#[derive(Debug)]
struct Recording<T> {
    inner: T,
    log: Arc<Mutex<Vec<u8>>>,
}

impl<T: Read> Read for Recording<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<T: Write> Write for Recording<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.log.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Runs a semi-honest session in memory with fixed seeds for both parties
/// (`RandomSource::InsecureFixedSeed`: tests only) and returns the bytes
/// each side sent: (garbler → evaluator, evaluator → garbler). The same
/// program, inputs and seeds give the same bytes on every run and every
/// machine, unless the wire format changed.
pub fn recorded_transcript(
    program: &SessionProgram<'_>,
    garbler_inputs: &PartyInputs,
    evaluator_inputs: &PartyInputs,
    seeds: (u128, u128),
) -> (Vec<u8>, Vec<u8>) {
    use garblet_engine::session::RandomSource;
    use garblet_engine::Block;
    let (a, b) = memory_pair();
    let (g_log, e_log) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let seeded = |s: u128| SessionConfig::new().with_random(RandomSource::InsecureFixedSeed(Block::new(s)));
    let (gc, ec) = (seeded(seeds.0), seeded(seeds.1));
    std::thread::scope(|s| {
        let g = s.spawn(|| {
            let mut ch = Channel::new(Recording { inner: a, log: g_log.clone() });
            gc.run(Party::Garbler, &mut ch, program, garbler_inputs).unwrap()
        });
        let mut ch = Channel::new(Recording { inner: b, log: e_log.clone() });
        ec.run(Party::Evaluator, &mut ch, program, evaluator_inputs).unwrap();
        g.join().unwrap();
    });
    let take = |l: Arc<Mutex<Vec<u8>>>| l.lock().unwrap().clone();
    (take(g_log), take(e_log))
}
