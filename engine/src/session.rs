//! The two-party session protocol: what the garbler and the evaluator send
//! each other, in which order, and what each learns. `docs/PROTOCOL.md` is
//! the long form; this is the code.
//!
//! Threat model: **semi-honest**. Both parties follow the protocol; each
//! learns its own inputs, the circuit, and the outputs the circuit reveals
//! to it — nothing about the other's inputs beyond what those outputs imply.
//! Outputs for the garbler come back as labels it checks, so an evaluator
//! that reports a wrong value is detected rather than believed.
//!
//! Message order (G = garbler, E = evaluator):
//!
//! 1. **Hello**, both ways at once: protocol version, role, garbling scheme,
//!    OT security, the blake3 digest of the circuit, each input's name, owner
//!    and width, each output's name, visibility and width. A mismatch stops
//!    both sides with a message naming what differs, before any input is
//!    used.
//! 2. **OT** (only if E has input bits): from [`EXTENSION_THRESHOLD`] bits
//!    on, 128 Chou–Orlandi base OTs, then one IKNP/ALSZ correlated-OT message
//!    whose correlation is G's Δ; below it, one Chou–Orlandi random OT per
//!    bit, made correlated by G sending `k0 ⊕ k1 ⊕ Δ` (16 bytes per bit). E
//!    ends up with the active label of each of its input bits, G with their
//!    zero labels.
//! 3. G → E: `TAG_GARBLER_INPUTS`, the active labels of G's input bits.
//! 4. G → E: `TAG_TABLES`, the garbled circuit streamed
//!    ([`crate::garble`]'s stream format, 32 bytes per AND), then
//!    `TAG_DECODER` and the decoding bits of the outputs E may learn (and
//!    only those).
//! 5. E → G: `TAG_OUTPUT_LABELS`, the active labels of the outputs G may
//!    learn; G checks each is one of its two labels.
//! 6. G → E: `TAG_DONE`.
//!
//! Every count is known from the circuit both sides hold; every length read
//! from the peer is bounded before anything is allocated for it; any
//! unexpected tag is [`SessionError::UnexpectedMessage`].

use crate::block::Block;
use crate::channel::{Channel, ChannelError};
use crate::garble::{
    ActiveLabel, DecodeError, Encoder, Evaluator, GarbledOutputs, Garbler, GateSource, OutputDecoder, Plan,
    Repeated,
};
use crate::ot::{base, OtError, OtExtReceiver, OtExtSender, SemiHonest};
use crate::prg::{Delta, Prg};
use garblet_circuits::{Circuit, Party, Visibility};
use std::io::{self, Read, Write};
use std::time::Instant;
use zeroize::Zeroizing;

/// This implementation's protocol version.
pub const PROTOCOL_VERSION: u32 = 1;
/// The garbling scheme in the hello: 1 = half-gates (Zahur–Rosulek–Evans).
pub const SCHEME_HALF_GATES: u8 = 1;
const MAGIC: &[u8; 8] = b"garblet\0";
const MAX_HELLO_BYTES: u64 = 1 << 20;
const MAX_NAMES: usize = 1 << 12;

/// From this many evaluator input bits on, OT extension (128 base OTs, then
/// 16 bytes per bit); below it, one base OT per bit is cheaper.
pub const EXTENSION_THRESHOLD: usize = 128;

const TAG_GARBLER_INPUTS: u8 = 0xA1;
const TAG_TABLES: u8 = 0xA2;
const TAG_DECODER: u8 = 0xA3;
const TAG_OUTPUT_LABELS: u8 = 0xA4;
const TAG_DONE: u8 = 0xA5;

/// What can end a session early. Every variant is a clean stop: no panic,
/// no hang past the transport's timeout.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The transport failed or the peer went away.
    #[error("connection lost: {0}")]
    Channel(#[from] ChannelError),
    /// The peer did not open with a garblet hello.
    #[error("the peer is not speaking the garblet protocol (its first bytes are not a garblet hello)")]
    NotGarblet,
    /// The two sides are not set up for the same run.
    #[error("the two parties disagree: {0}")]
    Mismatch(String),
    /// A message other than the one the protocol expects next.
    #[error("protocol violation: expected {expected}, the peer sent tag {got:#04x}")]
    UnexpectedMessage {
        /// What this side waited for.
        expected: &'static str,
        /// The tag received.
        got: u8,
    },
    /// A hello that does not parse.
    #[error("malformed hello from the peer: {0}")]
    MalformedHello(&'static str),
    /// Oblivious transfer failed.
    #[error("oblivious transfer failed: {0}")]
    Ot(#[from] OtError),
    /// Garbling or evaluation failed (a truncated or corrupt garbled stream).
    #[error("garbled circuit: {0}")]
    Garbling(String),
    /// The evaluator sent back an output label that is neither of the two
    /// labels of that wire: it cheated, or the data was corrupted.
    #[error("the evaluator's output labels do not verify: {0}")]
    BadOutputLabels(String),
    /// This party's own inputs are not what the circuit needs.
    #[error("{0}")]
    Inputs(String),
}

/// One party's role and its own input values, by input name (bit k of a
/// value is wire k of that input).
#[derive(Clone, Debug)]
pub struct PartyInputs {
    values: Vec<(String, Vec<bool>)>,
}

impl PartyInputs {
    /// Inputs from `(name, bits)` pairs.
    pub fn new(values: impl IntoIterator<Item = (String, Vec<bool>)>) -> Self {
        PartyInputs { values: values.into_iter().collect() }
    }

    /// The bits of `party`'s inputs in the program's wire order, checking
    /// that exactly `party`'s inputs are given, each with its width.
    fn bits_for(&self, program: &SessionProgram<'_>, party: Party) -> Result<Vec<bool>, SessionError> {
        let mut bits = Vec::new();
        for (name, _, width) in program.inputs.iter().filter(|i| i.1 == party) {
            let value = self
                .values
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| SessionError::Inputs(format!("missing input `{name}` ({width} bits)")))?;
            if value.1.len() != *width as usize {
                return Err(SessionError::Inputs(format!(
                    "input `{name}` is {width} bits wide, {} bits were given",
                    value.1.len()
                )));
            }
            bits.extend_from_slice(&value.1);
        }
        for (name, _) in &self.values {
            match program.inputs.iter().find(|i| &i.0 == name) {
                Some(i) if i.1 == party => {}
                Some(i) => {
                    return Err(SessionError::Inputs(format!(
                        "input `{name}` belongs to the {}; the {party} does not give it",
                        i.1
                    )))
                }
                None => return Err(SessionError::Inputs(format!("the program has no input `{name}`"))),
            }
        }
        Ok(bits)
    }
}

/// An input as the hello describes it: name, owner, width in bits.
pub type InputDesc = (String, Party, u32);
/// An output as the hello describes it: name, who learns it, width in bits.
pub type OutputDesc = (String, Visibility, u32);

/// What both parties run: the public description that the hello compares
/// (input names, owners and widths; output names, visibility and widths; a
/// digest of the gates) and the compiled batching schedule of the gates.
pub struct SessionProgram<'p> {
    inputs: Vec<InputDesc>,
    outputs: Vec<OutputDesc>,
    digest: [u8; 32],
    and_count: u64,
    plan: Plan<'p>,
    shape: Shape,
}

/// How the plan's gates cover the program.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// One run of the plan is the whole program.
    Single,
    /// `copies` runs of the plan (a body with a shared first input, one
    /// per-copy input and one output), each with its own input labels and
    /// its own range of tweaks, under one Δ.
    Batch { copies: u64, shared_bits: usize, own_bits: usize, ands: u64 },
}

impl std::fmt::Debug for SessionProgram<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionProgram")
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("and_count", &self.and_count)
            .finish_non_exhaustive()
    }
}

fn describe(c: &Circuit) -> (Vec<InputDesc>, Vec<OutputDesc>) {
    (
        c.inputs().iter().map(|i| (i.name.clone(), i.party, i.width)).collect(),
        c.outputs().iter().map(|o| (o.name.clone(), o.visibility, o.width())).collect(),
    )
}

impl SessionProgram<'static> {
    /// A materialised circuit.
    pub fn from_circuit(circuit: &Circuit) -> Result<Self, SessionError> {
        let plan = Plan::compile(circuit).map_err(|e| SessionError::Garbling(e.to_string()))?;
        let (inputs, outputs) = describe(circuit);
        Ok(SessionProgram {
            inputs,
            outputs,
            digest: circuit.digest().0,
            and_count: circuit.and_count(),
            plan,
            shape: Shape::Single,
        })
    }

    /// `body` run `times` times over (see [`Repeated`]): a long circuit for
    /// throughput and memory measurements, with `body`'s inputs and outputs.
    /// The outputs equal one run of `body` only if `body` never overwrites
    /// its input wires (a circuit from `opt::renumber_wires` may).
    pub fn repeated(body: &Circuit, times: u64) -> Result<Self, SessionError> {
        let source = Repeated::new(body, times);
        let plan = Plan::repeated(&source).map_err(|e| SessionError::Garbling(e.to_string()))?;
        let (inputs, outputs) = describe(body);
        let mut h = blake3::Hasher::new();
        h.update(b"garblet repeated circuit v1");
        h.update(&body.digest().0);
        h.update(&times.to_le_bytes());
        Ok(SessionProgram {
            inputs,
            outputs,
            digest: *h.finalize().as_bytes(),
            and_count: source.and_count(),
            plan,
            shape: Shape::Single,
        })
    }
}

impl SessionProgram<'static> {
    /// The same circuit on many inputs: `body` (exactly two inputs and one
    /// output) run `copies` times, its first input shared by every copy (say
    /// an AES key) and its second fresh per copy (say 1,000 plaintext
    /// blocks). The program's second input is the copies' inputs
    /// concatenated, its output the copies' outputs concatenated. The body's
    /// schedule is compiled once; every copy is garbled under the same Δ
    /// with its own range of tweaks.
    pub fn batch(body: &Circuit, copies: u64) -> Result<Self, SessionError> {
        let (ins, outs) = describe(body);
        let ([shared, own], [out]) = (&ins[..], &outs[..]) else {
            return Err(SessionError::Inputs("a batch body needs exactly two inputs and one output".into()));
        };
        let times = |w: u32| {
            u32::try_from(u64::from(w) * copies)
                .map_err(|_| SessionError::Inputs("the batch is too large for 32-bit widths".into()))
        };
        let inputs = vec![shared.clone(), (own.0.clone(), own.1, times(own.2)?)];
        let outputs = vec![(out.0.clone(), out.1, times(out.2)?)];
        let plan = Plan::compile(body).map_err(|e| SessionError::Garbling(e.to_string()))?;
        let mut h = blake3::Hasher::new();
        h.update(b"garblet batch v1");
        h.update(&body.digest().0);
        h.update(&copies.to_le_bytes());
        Ok(SessionProgram {
            inputs,
            outputs,
            digest: *h.finalize().as_bytes(),
            and_count: body.and_count() * copies,
            plan,
            shape: Shape::Batch {
                copies,
                shared_bits: shared.2 as usize,
                own_bits: own.2 as usize,
                ands: body.and_count(),
            },
        })
    }
}

impl<'p> SessionProgram<'p> {
    /// How many runs of the plan make the program.
    fn instances(&self) -> u64 {
        match self.shape {
            Shape::Single => 1,
            Shape::Batch { copies, .. } => copies,
        }
    }

    /// The program's input bits (indices in wire order) that run `k` reads.
    fn instance_inputs(&self, k: u64) -> Vec<usize> {
        match self.shape {
            Shape::Single => (0..self.inputs.iter().map(|i| i.2 as usize).sum()).collect(),
            Shape::Batch { shared_bits, own_bits, .. } => {
                let first = shared_bits + k as usize * own_bits;
                (0..shared_bits).chain(first..first + own_bits).collect()
            }
        }
    }

    /// The first AND index (tweak range) of run `k`.
    fn first_and(&self, k: u64) -> u64 {
        match self.shape {
            Shape::Single => 0,
            // Saturating: a product past u64 must not wrap onto an earlier
            // run's tweaks; the garbler and evaluator refuse it instead.
            Shape::Batch { ands, .. } => k.saturating_mul(ands),
        }
    }

    /// Any gate source, streamed (never materialised), with its public
    /// description; `digest` must identify the gates (both sides compare it).
    /// The inputs' widths must add up to the source's input bits and the
    /// outputs' to its output wires.
    pub fn streaming(
        source: &'p dyn GateSource,
        inputs: Vec<InputDesc>,
        outputs: Vec<OutputDesc>,
        digest: [u8; 32],
        and_count: u64,
    ) -> Result<Self, SessionError> {
        let in_bits: u64 = inputs.iter().map(|i| u64::from(i.2)).sum();
        let out_bits: u64 = outputs.iter().map(|o| u64::from(o.2)).sum();
        if in_bits != source.input_bits() || out_bits != source.output_wires().len() as u64 {
            return Err(SessionError::Inputs(format!(
                "the description ({in_bits} input bits, {out_bits} output bits) does not match the gate source ({} and {})",
                source.input_bits(),
                source.output_wires().len()
            )));
        }
        let plan = Plan::streaming(source).map_err(|e| SessionError::Garbling(e.to_string()))?;
        Ok(SessionProgram { inputs, outputs, digest, and_count, plan, shape: Shape::Single })
    }

    /// AND gates.
    pub fn and_count(&self) -> u64 {
        self.and_count
    }

    fn input_bits_of(&self, party: Party) -> usize {
        self.inputs.iter().filter(|i| i.1 == party).map(|i| i.2 as usize).sum()
    }

    /// Output ranges (in the concatenated output labels) `party` may learn.
    fn visible_ranges(&self, party: Party) -> Vec<(usize, std::ops::Range<usize>)> {
        let mut start = 0;
        let mut out = Vec::new();
        for (k, (_, vis, width)) in self.outputs.iter().enumerate() {
            let end = start + *width as usize;
            if vis.reveals_to(party) {
                out.push((k, start..end));
            }
            start = end;
        }
        out
    }
}

/// What a finished session reports.
#[derive(Clone, Debug)]
pub struct SessionOutcome {
    /// The outputs revealed to this party, by name, least significant bit first.
    pub outputs: Vec<(String, Vec<bool>)>,
    /// AND gates garbled.
    pub and_gates: u64,
    /// Bytes this party sent.
    pub bytes_sent: u64,
    /// Bytes this party received.
    pub bytes_received: u64,
    /// Wall time from the hello to the end.
    pub seconds: f64,
}

/// Called with the number of AND gates processed so far (for progress bars).
pub type Progress<'a> = &'a mut dyn FnMut(u64);

// ----- hello -------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
struct Hello {
    version: u32,
    role: Party,
    scheme: u8,
    digest: [u8; 32],
    and_count: u64,
    inputs: Vec<InputDesc>,
    outputs: Vec<OutputDesc>,
}

fn party_byte(p: Party) -> u8 {
    match p {
        Party::Garbler => 0,
        Party::Evaluator => 1,
    }
}

fn visibility_byte(v: Visibility) -> u8 {
    match v {
        Visibility::Garbler => 0,
        Visibility::Evaluator => 1,
        Visibility::Both => 2,
    }
}

fn party_of(b: u8) -> Option<Party> {
    match b {
        0 => Some(Party::Garbler),
        1 => Some(Party::Evaluator),
        _ => None,
    }
}

fn visibility_of(b: u8) -> Option<Visibility> {
    match b {
        0 => Some(Visibility::Garbler),
        1 => Some(Visibility::Evaluator),
        2 => Some(Visibility::Both),
        _ => None,
    }
}

/// Reads the hello's fields; every read is bounds-checked.
struct HelloReader<'a>(&'a [u8]);

impl<'a> HelloReader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SessionError> {
        if self.0.len() < n {
            return Err(SessionError::MalformedHello(what));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], SessionError> {
        self.take(N, what)?.try_into().map_err(|_| SessionError::MalformedHello(what))
    }
    fn byte(&mut self, what: &'static str) -> Result<u8, SessionError> {
        Ok(self.take(1, what)?[0])
    }
    /// A `u16` count of `(name, tag, width)` entries.
    fn entries<T>(
        &mut self,
        what: &'static str,
        tag: fn(u8) -> Option<T>,
    ) -> Result<Vec<(String, T, u32)>, SessionError> {
        let n = u16::from_le_bytes(self.array("count")?);
        let mut out = Vec::new();
        for _ in 0..n {
            let len = self.byte("name length")? as usize;
            let name = String::from_utf8_lossy(self.take(len, "name")?).into_owned();
            let t = tag(self.byte(what)?).ok_or(SessionError::MalformedHello(what))?;
            let width = u32::from_le_bytes(self.array("width")?);
            out.push((name, t, width));
        }
        Ok(out)
    }
}

impl Hello {
    fn of(program: &SessionProgram<'_>, role: Party) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            role,
            scheme: SCHEME_HALF_GATES,
            digest: program.digest,
            and_count: program.and_count,
            inputs: program.inputs.clone(),
            outputs: program.outputs.clone(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.push(party_byte(self.role));
        out.push(self.scheme);
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.and_count.to_le_bytes());
        let name = |out: &mut Vec<u8>, n: &str| {
            let n = &n.as_bytes()[..n.len().min(255)];
            out.push(n.len() as u8);
            out.extend_from_slice(n);
        };
        out.extend_from_slice(&(self.inputs.len().min(MAX_NAMES) as u16).to_le_bytes());
        for (n, p, w) in self.inputs.iter().take(MAX_NAMES) {
            name(&mut out, n);
            out.push(party_byte(*p));
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&(self.outputs.len().min(MAX_NAMES) as u16).to_le_bytes());
        for (n, v, w) in self.outputs.iter().take(MAX_NAMES) {
            name(&mut out, n);
            out.push(visibility_byte(*v));
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Hello, SessionError> {
        let mut r = HelloReader(bytes);
        if r.take(8, "magic")? != MAGIC {
            return Err(SessionError::NotGarblet);
        }
        let version = u32::from_le_bytes(r.array("version")?);
        let role = party_of(r.byte("role")?).ok_or(SessionError::MalformedHello("role"))?;
        let scheme = r.byte("scheme")?;
        let digest = r.array("digest")?;
        let and_count = u64::from_le_bytes(r.array("AND count")?);
        let inputs = r.entries("input owner", party_of)?;
        let outputs = r.entries("visibility", visibility_of)?;
        if !r.0.is_empty() {
            return Err(SessionError::MalformedHello("trailing bytes"));
        }
        Ok(Hello { version, role, scheme, digest, and_count, inputs, outputs })
    }

    /// Names the first difference between our hello and the peer's.
    fn compare(&self, peer: &Hello) -> Result<(), SessionError> {
        let mismatch = |s: String| Err(SessionError::Mismatch(s));
        if peer.version != self.version {
            return mismatch(format!(
                "protocol version {} here, {} at the peer: run the same garblet version on both sides",
                self.version, peer.version
            ));
        }
        if peer.role == self.role {
            return mismatch(format!(
                "both parties chose to be the {}: one must run --as {}",
                self.role,
                self.role.peer()
            ));
        }
        if peer.scheme != self.scheme {
            return mismatch(format!("garbling scheme {} here, {} at the peer", self.scheme, peer.scheme));
        }
        if peer.digest == self.digest {
            return Ok(());
        }
        let describe_in = |(n, p, w): &(String, Party, u32)| format!("input `{n}`: {w} bits from the {p}");
        let describe_out = |(n, v, w): &(String, Visibility, u32)| format!("output `{n}`: {w} bits to {v}");
        for k in 0..self.inputs.len().max(peer.inputs.len()) {
            let (ours, theirs) = (self.inputs.get(k), peer.inputs.get(k));
            if ours != theirs {
                return mismatch(format!(
                    "the programs differ: here {}, at the peer {}",
                    ours.map_or("no such input".into(), describe_in),
                    theirs.map_or("no such input".into(), describe_in)
                ));
            }
        }
        for k in 0..self.outputs.len().max(peer.outputs.len()) {
            let (ours, theirs) = (self.outputs.get(k), peer.outputs.get(k));
            if ours != theirs {
                return mismatch(format!(
                    "the programs differ: here {}, at the peer {}",
                    ours.map_or("no such output".into(), describe_out),
                    theirs.map_or("no such output".into(), describe_out)
                ));
            }
        }
        let hex = |d: &[u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        mismatch(format!(
            "the programs differ (circuit digest {} here, {} at the peer; {} AND gates here, {} there): both must run the same program",
            &hex(&self.digest)[..16],
            &hex(&peer.digest)[..16],
            self.and_count,
            peer.and_count
        ))
    }
}

fn exchange_hello<T: Read + Write>(ch: &mut Channel<T>, ours: &Hello) -> Result<(), SessionError> {
    let bytes = ours.encode();
    ch.send_u64(bytes.len() as u64)?;
    ch.send_bytes(&bytes)?;
    ch.flush()?;
    // A peer that is not garblet (or garbage on the socket) shows up here:
    // the length or the magic is wrong.
    let len = ch.recv_u64().map_err(|e| match e {
        ChannelError::Truncated { .. } => SessionError::NotGarblet,
        other => SessionError::Channel(other),
    })?;
    if len > MAX_HELLO_BYTES || len < MAGIC.len() as u64 {
        return Err(SessionError::NotGarblet);
    }
    let mut peer = vec![0u8; len as usize];
    ch.recv_bytes(&mut peer)?;
    let peer = Hello::decode(&peer)?;
    ours.compare(&peer)
}

fn expect_tag<T: Read + Write>(
    ch: &mut Channel<T>,
    tag: u8,
    expected: &'static str,
) -> Result<(), SessionError> {
    let mut got = [0u8; 1];
    ch.recv_bytes(&mut got)?;
    if got[0] != tag {
        return Err(SessionError::UnexpectedMessage { expected, got: got[0] });
    }
    Ok(())
}

/// Checks output labels `start, start + 1, …` of the whole program against
/// the runs' output labels (each run covers the same number of outputs).
fn verify_outputs(
    garbled: &[GarbledOutputs],
    start: usize,
    labels: &[ActiveLabel],
) -> Result<Vec<bool>, DecodeError> {
    let per = garbled.first().map_or(0, |g| g.len()).max(1);
    let mut bits = Vec::with_capacity(labels.len());
    let mut pos = start;
    let mut rest = labels;
    while !rest.is_empty() {
        let (run, local) = (pos / per, pos % per);
        let run = garbled.get(run).ok_or(DecodeError::Count { expected: per, got: labels.len() })?;
        let take = (per - local).min(rest.len());
        bits.extend(run.verify_range(local, &rest[..take])?);
        pos += take;
        rest = &rest[take..];
    }
    Ok(bits)
}

/// `Write` over a channel that reports AND-table progress.
struct TableSink<'c, 'p, T: Read + Write> {
    ch: &'c mut Channel<T>,
    written: u64,
    progress: Option<Progress<'p>>,
}

impl<T: Read + Write> Write for TableSink<'_, '_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.ch.send_bytes(buf).map_err(io::Error::other)?;
        self.written += buf.len() as u64;
        if let Some(p) = self.progress.as_mut() {
            p(self.written / 32);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.ch.flush().map_err(io::Error::other)
    }
}

/// `Read` over a channel that reports AND-table progress.
struct TableSource<'c, 'p, T: Read + Write> {
    ch: &'c mut Channel<T>,
    read: u64,
    progress: Option<Progress<'p>>,
}

impl<T: Read + Write> Read for TableSource<'_, '_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.ch.recv_bytes(buf).map_err(|e| match e {
            ChannelError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::UnexpectedEof, other),
        })?;
        self.read += buf.len() as u64;
        if let Some(p) = self.progress.as_mut() {
            p(self.read / 32);
        }
        Ok(buf.len())
    }
}

/// Runs the garbler's side of a session on `ch` for a materialised circuit.
pub fn run_garbler<T: Read + Write>(
    ch: &mut Channel<T>,
    circuit: &Circuit,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    run_garbler_program(ch, &SessionProgram::from_circuit(circuit)?, inputs, progress)
}

/// Runs the evaluator's side of a session on `ch` for a materialised circuit.
pub fn run_evaluator<T: Read + Write>(
    ch: &mut Channel<T>,
    circuit: &Circuit,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    run_evaluator_program(ch, &SessionProgram::from_circuit(circuit)?, inputs, progress)
}

/// Runs the garbler's side of a session on `ch`.
pub fn run_garbler_program<T: Read + Write>(
    ch: &mut Channel<T>,
    program: &SessionProgram<'_>,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    let start = Instant::now();
    let own_bits = inputs.bits_for(program, Party::Garbler)?;
    exchange_hello(ch, &Hello::of(program, Party::Garbler))?;

    let mut prg = Prg::from_entropy();
    let delta = Delta::random(&mut prg);
    // Zero labels of every input wire, in wire order; the evaluator's come
    // out of the oblivious transfer.
    let total_bits: usize = program.inputs.iter().map(|i| i.2 as usize).sum();
    // Secrets: wiped when dropped.
    let mut zero = Zeroizing::new(vec![Block::ZERO; total_bits]);
    let eval_bits = program.input_bits_of(Party::Evaluator);
    let mut eval_zero = Zeroizing::new(vec![Block::ZERO; eval_bits]);
    if eval_bits >= EXTENSION_THRESHOLD {
        let mut ot = OtExtSender::<SemiHonest>::setup(ch, &mut prg, Delta::from_block(delta.as_block()))?;
        ot.send_correlated(ch, &mut eval_zero)?;
    } else if eval_bits > 0 {
        // Fewer bits than the extension's 128 base OTs: one base OT per bit,
        // derandomised into a correlated OT by sending k0 ⊕ k1 ⊕ Δ.
        let keys = base::send_random(ch, &mut prg, eval_bits)?;
        let corrections: Vec<Block> = keys.iter().map(|[k0, k1]| *k0 ^ *k1 ^ delta.as_block()).collect();
        for (z, [k0, _]) in eval_zero.iter_mut().zip(keys.iter()) {
            *z = *k0;
        }
        ch.send_blocks(&corrections)?;
    }
    let (mut offset, mut from_ot) = (0usize, 0usize);
    for (_, party, width) in &program.inputs {
        let w = *width as usize;
        match party {
            Party::Garbler => prg.fill_blocks(&mut zero[offset..offset + w]),
            Party::Evaluator => {
                zero[offset..offset + w].copy_from_slice(&eval_zero[from_ot..from_ot + w]);
                from_ot += w;
            }
        }
        offset += w;
    }
    let d = delta.as_block();

    // The garbler's own input labels, in wire order: zero ⊕ bit·Δ.
    ch.send_bytes(&[TAG_GARBLER_INPUTS])?;
    let (mut taken, mut offset) = (0usize, 0usize);
    for (_, party, width) in &program.inputs {
        let w = *width as usize;
        if *party == Party::Garbler {
            let labels: Vec<Block> = zero[offset..offset + w]
                .iter()
                .zip(&own_bits[taken..taken + w])
                .map(|(z, &bit)| *z ^ d.select(bit))
                .collect();
            ch.send_blocks(&labels)?;
            taken += w;
        }
        offset += w;
    }

    ch.send_bytes(&[TAG_TABLES])?;
    let mut garbled = Vec::new();
    {
        let mut sink = TableSink { ch: &mut *ch, written: 0, progress };
        // One garbler for every run: its label buffers are reused.
        let mut garbler = Garbler::new();
        for k in 0..program.instances() {
            let labels: Vec<Block> = program.instance_inputs(k).iter().map(|&i| zero[i]).collect();
            let encoder = Encoder::new(Delta::from_block(d), labels, &mut prg);
            garbler = garbler.first_and_index(program.first_and(k));
            let outputs = garbler
                .garble(&program.plan, &encoder, &mut sink)
                .map_err(|e| SessionError::Garbling(e.to_string()))?;
            garbled.push(outputs);
        }
    }
    drop(delta);
    // Decoding bits only for what the evaluator may learn.
    ch.send_bytes(&[TAG_DECODER])?;
    let decoder =
        OutputDecoder::from_bits(garbled.iter().flat_map(|g| g.decoder().bits().to_vec()).collect());
    for (_, range) in program.visible_ranges(Party::Evaluator) {
        let part = decoder.range(range).ok_or_else(|| SessionError::Garbling("output range".into()))?;
        ch.send_bytes(&part.to_bytes())?;
    }
    ch.flush()?;

    // Outputs for the garbler: labels from the evaluator, checked.
    let mut outputs = Vec::new();
    let mine = program.visible_ranges(Party::Garbler);
    if !mine.is_empty() {
        expect_tag(ch, TAG_OUTPUT_LABELS, "the evaluator's output labels")?;
        for (k, range) in mine {
            let mut blocks = vec![Block::ZERO; range.len()];
            ch.recv_blocks(&mut blocks)?;
            let labels: Vec<ActiveLabel> = blocks.into_iter().map(ActiveLabel::from_block).collect();
            let bits = verify_outputs(&garbled, range.start, &labels)
                .map_err(|e| SessionError::BadOutputLabels(e.to_string()))?;
            outputs.push((program.outputs[k].0.clone(), bits));
        }
    }
    ch.send_bytes(&[TAG_DONE])?;
    ch.flush()?;
    Ok(SessionOutcome {
        outputs,
        and_gates: program.and_count,
        bytes_sent: ch.bytes_sent(),
        bytes_received: ch.bytes_received(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Runs the evaluator's side of a session on `ch`.
pub fn run_evaluator_program<T: Read + Write>(
    ch: &mut Channel<T>,
    program: &SessionProgram<'_>,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    let start = Instant::now();
    let own_bits = inputs.bits_for(program, Party::Evaluator)?;
    exchange_hello(ch, &Hello::of(program, Party::Evaluator))?;

    let mut prg = Prg::from_entropy();
    let mut own_labels = vec![Block::ZERO; own_bits.len()];
    if own_bits.len() >= EXTENSION_THRESHOLD {
        let mut ot = OtExtReceiver::<SemiHonest>::setup(ch, &mut prg)?;
        ot.receive_correlated(ch, &own_bits, &mut own_labels)?;
    } else if !own_bits.is_empty() {
        let keys = base::receive_random(ch, &mut prg, &own_bits)?;
        let mut corrections = vec![Block::ZERO; own_bits.len()];
        ch.recv_blocks(&mut corrections)?;
        for (((l, k), c), &b) in own_labels.iter_mut().zip(keys.iter()).zip(&corrections).zip(&own_bits) {
            *l = *k ^ c.select(b);
        }
    }

    expect_tag(ch, TAG_GARBLER_INPUTS, "the garbler's input labels")?;
    let mut garbler_labels = vec![Block::ZERO; program.input_bits_of(Party::Garbler)];
    ch.recv_blocks(&mut garbler_labels)?;
    let (mut g, mut e) = (garbler_labels.into_iter(), own_labels.into_iter());
    let mut labels = Vec::new();
    for (_, party, width) in &program.inputs {
        for _ in 0..*width {
            let next = match party {
                Party::Garbler => g.next(),
                Party::Evaluator => e.next(),
            };
            labels.push(ActiveLabel::from_block(next.unwrap_or(Block::ZERO)));
        }
    }

    expect_tag(ch, TAG_TABLES, "the garbled circuit")?;
    let mut out_labels = Vec::new();
    {
        let mut source = TableSource { ch: &mut *ch, read: 0, progress };
        let mut evaluator = Evaluator::new();
        for k in 0..program.instances() {
            let inputs: Vec<ActiveLabel> = program.instance_inputs(k).iter().map(|&i| labels[i]).collect();
            evaluator = evaluator.first_and_index(program.first_and(k));
            let outputs = evaluator
                .evaluate(&program.plan, &inputs, &mut source)
                .map_err(|e| SessionError::Garbling(e.to_string()))?;
            out_labels.extend(outputs);
        }
    }
    expect_tag(ch, TAG_DECODER, "the output decoding bits")?;
    let mut outputs = Vec::new();
    for (k, range) in program.visible_ranges(Party::Evaluator) {
        let n = range.len();
        let mut bytes = vec![0u8; n.div_ceil(8)];
        ch.recv_bytes(&mut bytes)?;
        let decoder =
            OutputDecoder::from_bytes(&bytes, n).map_err(|e| SessionError::Garbling(e.to_string()))?;
        let bits = decoder.decode(&out_labels[range]).map_err(|e| SessionError::Garbling(e.to_string()))?;
        outputs.push((program.outputs[k].0.clone(), bits));
    }
    let theirs = program.visible_ranges(Party::Garbler);
    if !theirs.is_empty() {
        ch.send_bytes(&[TAG_OUTPUT_LABELS])?;
        for (_, range) in theirs {
            let blocks: Vec<Block> = out_labels[range].iter().map(|l| l.as_block()).collect();
            ch.send_blocks(&blocks)?;
        }
        ch.flush()?;
    }
    expect_tag(ch, TAG_DONE, "the end of the session")?;
    Ok(SessionOutcome {
        outputs,
        and_gates: program.and_count,
        bytes_sent: ch.bytes_sent(),
        bytes_received: ch.bytes_received(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::memory_pair;
    use garblet_circuits::{Builder, Sign};

    fn millionaires(vis: Visibility) -> Circuit {
        let mut b = Builder::new();
        let x = b.input("alice", Party::Garbler, 64).unwrap();
        let y = b.input("bob", Party::Evaluator, 64).unwrap();
        let gt = b.gt(&x, &y, Sign::Unsigned);
        let sum = b.add(&x, &y);
        b.output("richer", vis, vec![gt]).unwrap();
        b.output("sum", Visibility::Both, sum).unwrap();
        garblet_circuits::opt::optimize(&b.finish().unwrap())
    }

    fn bits(v: u64) -> Vec<bool> {
        (0..64).map(|k| (v >> k) & 1 == 1).collect()
    }

    fn run_both(
        gc: Circuit,
        ec: Circuit,
        a: u64,
        b: u64,
    ) -> (Result<SessionOutcome, SessionError>, Result<SessionOutcome, SessionError>) {
        let (ga, eb) = memory_pair();
        let g = std::thread::spawn(move || {
            let mut ch = Channel::new(ga);
            run_garbler(&mut ch, &gc, &PartyInputs::new([("alice".to_owned(), bits(a))]), None)
        });
        let mut ch = Channel::new(eb);
        let e = run_evaluator(&mut ch, &ec, &PartyInputs::new([("bob".to_owned(), bits(b))]), None);
        (g.join().unwrap(), e)
    }

    #[test]
    fn both_parties_get_what_the_program_reveals() {
        for vis in [Visibility::Both, Visibility::Garbler, Visibility::Evaluator] {
            let c = millionaires(vis);
            let (g, e) = run_both(c.clone(), c, 1_000_000, 999_999);
            let (g, e) = (g.unwrap(), e.unwrap());
            let names = |o: &SessionOutcome| o.outputs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            assert_eq!(names(&g).contains(&"richer".to_owned()), vis.reveals_to(Party::Garbler));
            assert_eq!(names(&e).contains(&"richer".to_owned()), vis.reveals_to(Party::Evaluator));
            for o in [&g, &e] {
                for (name, value) in &o.outputs {
                    match name.as_str() {
                        "richer" => assert_eq!(value, &vec![true]),
                        "sum" => assert_eq!(value, &bits(1_999_999)),
                        _ => panic!("unexpected output {name}"),
                    }
                }
            }
        }
    }

    #[test]
    fn different_programs_are_refused_naming_the_difference() {
        let mut b = Builder::new();
        let x = b.input("alice", Party::Garbler, 64).unwrap();
        let y = b.input("bob", Party::Evaluator, 64).unwrap();
        let lt = b.lt(&x, &y, Sign::Unsigned);
        let sum = b.sub(&x, &y);
        b.output("richer", Visibility::Both, vec![lt]).unwrap();
        b.output("sum", Visibility::Both, sum).unwrap();
        let other = b.finish().unwrap();
        let (g, e) = run_both(millionaires(Visibility::Both), other, 1, 2);
        for r in [g, e] {
            let msg = r.unwrap_err().to_string();
            assert!(msg.contains("programs differ"), "{msg}");
        }
    }

    #[test]
    fn garbage_instead_of_a_hello_is_a_clean_error() {
        let (a, b) = memory_pair();
        let garbage = std::thread::spawn(move || {
            let mut ch = Channel::new(a);
            ch.send_bytes(&[0xde; 200]).unwrap();
            ch.flush().unwrap();
            // Stay until the other side's hello has gone out.
            let mut hello = [0u8; 16];
            let _ = ch.recv_bytes(&mut hello);
            drop(ch);
        });
        let mut ch = Channel::new(b);
        let c = millionaires(Visibility::Both);
        let err =
            run_evaluator(&mut ch, &c, &PartyInputs::new([("bob".to_owned(), bits(1))]), None).unwrap_err();
        assert!(matches!(err, SessionError::NotGarblet), "{err}");
        garbage.join().unwrap();
    }

    #[test]
    fn repeated_programs_run_and_only_the_evaluator_sees_evaluator_outputs() {
        // Not renumbered: a repeated body must not overwrite its own inputs.
        let mut b = Builder::new();
        let x = b.input("alice", Party::Garbler, 64).unwrap();
        let y = b.input("bob", Party::Evaluator, 64).unwrap();
        let gt = b.gt(&x, &y, Sign::Unsigned);
        let sum = b.add(&x, &y);
        b.output("richer", Visibility::Evaluator, vec![gt]).unwrap();
        b.output("sum", Visibility::Both, sum).unwrap();
        let c = b.finish().unwrap();
        let (ga, eb) = memory_pair();
        let gc = c.clone();
        let g = std::thread::spawn(move || {
            let program = SessionProgram::repeated(&gc, 50).unwrap();
            run_garbler_program(
                &mut Channel::new(ga),
                &program,
                &PartyInputs::new([("alice".to_owned(), bits(9))]),
                None,
            )
        });
        let program = SessionProgram::repeated(&c, 50).unwrap();
        assert_eq!(program.and_count(), 50 * c.and_count());
        let mut seen = 0u64;
        let mut progress = |ands: u64| seen = seen.max(ands);
        let e = run_evaluator_program(
            &mut Channel::new(eb),
            &program,
            &PartyInputs::new([("bob".to_owned(), bits(4))]),
            Some(&mut progress),
        )
        .unwrap();
        let g = g.join().unwrap().unwrap();
        assert_eq!(e.outputs[0], ("richer".to_owned(), vec![true]));
        assert_eq!(g.outputs, vec![("sum".to_owned(), bits(13))], "the garbler learns only `sum`");
        assert!(seen >= 50 * c.and_count(), "progress reached the end: {seen}");
    }

    #[test]
    fn batches_run_each_copy_on_its_own_inputs() {
        let mut b = Builder::new();
        let key = b.input("key", Party::Garbler, 8).unwrap();
        let x = b.input("x", Party::Evaluator, 8).unwrap();
        let p = b.mul(&key, &x);
        b.output("y", Visibility::Both, p).unwrap();
        let body = b.finish().unwrap();
        let copies = 300u64;
        let xs: Vec<u8> = (0..copies).map(|i| (i * 37 + 11) as u8).collect();
        let x_bits: Vec<bool> = xs.iter().flat_map(|&v| (0..8).map(move |k| (v >> k) & 1 == 1)).collect();
        let key_bits: Vec<bool> = (0..8).map(|k| (0x5bu8 >> k) & 1 == 1).collect();
        let (ga, eb) = memory_pair();
        let gb = body.clone();
        let g = std::thread::spawn(move || {
            let program = SessionProgram::batch(&gb, copies).unwrap();
            run_garbler_program(
                &mut Channel::new(ga),
                &program,
                &PartyInputs::new([("key".to_owned(), key_bits)]),
                None,
            )
        });
        let program = SessionProgram::batch(&body, copies).unwrap();
        let e = run_evaluator_program(
            &mut Channel::new(eb),
            &program,
            &PartyInputs::new([("x".to_owned(), x_bits)]),
            None,
        )
        .unwrap();
        let g = g.join().unwrap().unwrap();
        let want: Vec<bool> =
            xs.iter().flat_map(|&v| (0..8).map(move |k| (0x5bu8.wrapping_mul(v) >> k) & 1 == 1)).collect();
        assert_eq!(e.outputs, vec![("y".to_owned(), want.clone())]);
        assert_eq!(g.outputs, e.outputs, "the garbler's checked copy agrees");
        assert_eq!(e.and_gates, copies * body.and_count());
    }

    proptest::proptest! {
        /// Any bytes, and any damage to a real hello, decode or fail cleanly.
        #[test]
        fn hostile_hellos_never_panic(junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), at in 0usize..200, byte in proptest::prelude::any::<u8>()) {
            let _ = Hello::decode(&junk);
            let c = millionaires(Visibility::Both);
            let mut bytes = Hello::of(&SessionProgram::from_circuit(&c).unwrap(), Party::Garbler).encode();
            let at = at % bytes.len();
            bytes[at] = byte;
            let _ = Hello::decode(&bytes);
        }
    }

    #[test]
    fn hello_round_trips_and_rejects_truncation() {
        let c = millionaires(Visibility::Both);
        let h = Hello::of(&SessionProgram::from_circuit(&c).unwrap(), Party::Garbler);
        let bytes = h.encode();
        assert_eq!(Hello::decode(&bytes).unwrap(), h);
        for cut in 0..bytes.len() {
            assert!(Hello::decode(&bytes[..cut]).is_err());
        }
    }
}
