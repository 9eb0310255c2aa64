//! Garbling: half-gates garbler and evaluator, streaming, batched and
//! multi-core.
//!
//! # Overview
//!
//! * [`Encoder`] (garbler only) holds Δ (lsb 1, [`crate::prg::Delta`]) and
//!   the zero label of every input wire; the label of bit `b` is
//!   `zero ⊕ b·Δ`. The evaluator's input labels reach it by correlated OT
//!   with correlation Δ ([`Encoder::with_ot_labels`] takes the zero labels
//!   the OT produced), the garbler's own are sent as
//!   [`Encoder::encode_input`] gives them.
//! * [`Plan`] is the batching schedule, derived from the circuit alone by
//!   both sides ([`schedule`] explains it).
//! * [`Garbler::garble`] writes the garbled circuit to any [`std::io::Write`]
//!   as it goes (one window of tables at a time) and returns
//!   [`GarbledOutputs`]: the output zero labels, from which come the
//!   [`OutputDecoder`] for the evaluator (lsb of each output zero label) and
//!   [`GarbledOutputs::verify`] to check output labels sent back by the
//!   evaluator.
//! * [`Evaluator::evaluate`] reads the stream from any [`std::io::Read`] as
//!   it arrives and returns the output [`ActiveLabel`]s
//!   ([`Evaluator::evaluate_slice`] reads a stream already in memory in
//!   place, without copying the tables). The evaluator's side
//!   of the API handles only active labels: no type it can reach holds Δ or
//!   a zero label.
//!
//! Memory on both sides is the wire labels (16 bytes × wires) plus a few
//! windows (see [`schedule::DEFAULT_WINDOW_GATES`]), whatever the number of
//! gates; [`Plan::streaming`] and [`Repeated`] keep the circuit itself out of
//! memory too.
//!
//! # Example
//!
//! ```
//! use garblet_engine::circuits::{Builder, Party, Visibility};
//! use garblet_engine::garble::{ActiveLabel, Encoder, Evaluator, Garbler, Plan};
//! use garblet_engine::prg::Prg;
//!
//! // x + y on 8 bits; x is the garbler's, y the evaluator's.
//! let mut b = Builder::new();
//! let x = b.input("x", Party::Garbler, 8).unwrap();
//! let y = b.input("y", Party::Evaluator, 8).unwrap();
//! let sum = b.add(&x, &y);
//! b.output("sum", Visibility::Both, sum).unwrap();
//! let circuit = b.finish().unwrap();
//! let plan = Plan::compile(&circuit).unwrap(); // both sides, from the circuit alone
//!
//! // Garbler: Δ and input zero labels (wires of x then y).
//! let mut prg = Prg::from_entropy();
//! let encoder = Encoder::random(16, &mut prg);
//! let x_bits: Vec<bool> = (0..8).map(|k| (100u8 >> k) & 1 == 1).collect();
//! let mut inputs = encoder.encode_bits(0, &x_bits); // sent to the evaluator
//! // The evaluator's labels would come by correlated OT; here we encode them.
//! let y_bits: Vec<bool> = (0..8).map(|k| (55u8 >> k) & 1 == 1).collect();
//! inputs.extend(encoder.encode_bits(8, &y_bits));
//!
//! let mut channel = Vec::new(); // any `Write`: a socket, a pipe, a file
//! let outputs = Garbler::new().garble(&plan, &encoder, &mut channel).unwrap();
//! let decoder = outputs.decoder(); // sent to the evaluator (1 bit per output wire)
//!
//! // Evaluator: reads the stream from any `Read`.
//! let labels: Vec<ActiveLabel> = Evaluator::new().evaluate(&plan, &inputs, &channel[..]).unwrap();
//! let bits = decoder.decode(&labels).unwrap();
//! let value: u32 = bits.iter().enumerate().map(|(k, &b)| u32::from(b) << k).sum();
//! assert_eq!(value, 155);
//! // Or the evaluator sends the labels back and the garbler checks them.
//! assert_eq!(outputs.verify(&labels).unwrap(), bits);
//! ```
//!
//! # Stream format
//!
//! All blocks are 16 bytes ([`Block::to_bytes`]):
//!
//! 1. the active labels of wire 0 (constant false) and wire 1 (constant
//!    true): the garbler draws their zero labels at random like any input's
//!    and sends the labels of the constant values, so constants cost 32
//!    bytes once and nothing per gate;
//! 2. for every window of the plan, its AND tables in execution order, 32
//!    bytes (`T_G`, `T_E`) per AND gate; XOR and INV send nothing;
//! 3. a trailer: the block `"garblet!" ‖ end` (tag in the high 64 bits;
//!    `end` is the AND index after the run's last AND gate, the first AND
//!    index ([`Garbler::first_and_index`]) plus the AND count, so it binds
//!    the stream to its tweak range too; at most [`AND_INDEX_LIMIT`]) and the
//!    XOR of all blocks before it. The evaluator knows how many
//!    bytes to expect from the plan, so a short stream is
//!    [`EvalError::Truncated`]; a trailer that does not match (a stream for
//!    another circuit, misframed, corrupted) is [`EvalError::BadTrailer`] or
//!    [`EvalError::Corrupt`]. The checksum catches accidental corruption
//!    (e.g. any single corrupted table block); it is not a MAC.
//!
//! # Tweaks
//!
//! AND gate `g` of a run (`g = first_and + k` for its `k`-th AND gate)
//! hashes under the tweaks `2g` and `2g + 1`, computed in `u64` (see
//! [`half_gates`] and the fused kernels of `crate::simd`) and used as the
//! low 64 bits of a block. Two gates garbled under one Δ with the same
//! tweak would leak Δ, so a run whose indices would pass
//! [`AND_INDEX_LIMIT`] (2^62) is refused before anything is garbled or
//! evaluated ([`GarbleError::TweakRange`], [`EvalError::TweakRange`]).
//! Below it every tweak (with the kernels' padding gates) is below 2^63 + 64:
//! no `u64` arithmetic on tweaks can wrap, distinct gates get distinct
//! tweaks, and none meets the OT's tweaks `2^127 + j`
//! ([`crate::ot::extension`]).

use std::io::{self, Read, Write};

use rayon::prelude::*;
use zeroize::Zeroize;

use garblet_circuits::{Circuit, Input, Party};

use crate::block::Block;
use crate::prg::{Delta, Prg};

pub mod half_gates;
pub mod schedule;
pub mod scheme;
pub mod source;
pub mod workloads;

pub use half_gates::HalfGates;
pub use schedule::Plan;
pub use scheme::GarblingScheme;
pub use source::{eval_plain, GateSource, Repeated};

use schedule::Window;

/// Tag in the high 64 bits of the trailer's first block: `"garblet!"`.
const TRAILER_TAG: u64 = u64::from_be_bytes(*b"garblet!");

/// The bound on AND gate indices: a run numbers its AND gates `first_and,
/// first_and + 1, …` ([`Garbler::first_and_index`]) and is refused unless
/// `first_and + ands ≤ AND_INDEX_LIMIT`, `ands` the plan's AND count (for a
/// [`Plan::streaming`] plan, its gate count). Every index is then below
/// 2^62 and every tweak (`2g`, `2g + 1`, and the fused kernels' padding
/// gates, at most 16 past the last gate) below 2^63 + 64, far from
/// wrapping a `u64` and from the OT's tweak domain (bit 127). 2^62 AND gates
/// take over a century to garble at 10^9 per second.
pub const AND_INDEX_LIMIT: u64 = 1 << 62;

/// Whether AND gates `first_and .. first_and + ands` stay within
/// [`AND_INDEX_LIMIT`].
fn and_range_fits(first_and: u64, ands: u64) -> bool {
    first_and.checked_add(ands).is_some_and(|end| end <= AND_INDEX_LIMIT)
}

/// AND batches at least this long are split over the rayon pool when
/// garbling or evaluating in parallel.
const PAR_MIN_ANDS: usize = 2048;
/// Piece of an AND batch given to one rayon task.
const PAR_PIECE: usize = 1024;
/// ANDs whose tables are garbled and written, or read and evaluated, at a
/// time: the tables stay in L1/L2 between the checksum and the hashing.
const STREAM_PIECE: usize = 512;

/// A circuit that cannot be scheduled: a malformed [`GateSource`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A gate or an output names a wire at or past the wire count (`gate`
    /// is `u64::MAX` for an output).
    #[error("gate {gate} uses wire {wire}, but the circuit has {num_wires} wires")]
    WireOutOfRange {
        /// Gate index in the source.
        gate: u64,
        /// The wire.
        wire: u32,
        /// The wire count.
        num_wires: u32,
    },
    /// A gate writes wire 0 or 1.
    #[error("gate {gate} writes the constant wire {wire}")]
    WritesConstant {
        /// Gate index.
        gate: u64,
        /// The wire.
        wire: u32,
    },
    /// An INV gate with two different operands.
    #[error("gate {gate} is an INV whose operands differ")]
    MalformedInv {
        /// Gate index.
        gate: u64,
    },
    /// The constants and inputs need more wires than the circuit has.
    #[error("{input_bits} input bits do not fit in {num_wires} wires")]
    InputsExceedWires {
        /// Input bits.
        input_bits: u64,
        /// The wire count.
        num_wires: u32,
    },
    /// Wires plus window slots must be indexable by `u32`.
    #[error("{num_wires} wires and a window of {window_gates} gates exceed the label index space")]
    TooManyWires {
        /// The wire count.
        num_wires: u32,
        /// The window size.
        window_gates: usize,
    },
}

/// Garbling failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GarbleError {
    /// Writing the garbled stream to the sink failed.
    #[error("writing the garbled circuit failed: {0}")]
    Io(#[from] io::Error),
    /// The circuit could not be scheduled.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A number of input labels or bits does not match the circuit's input
    /// wires.
    #[error("expected {expected} input labels or bits, got {got}")]
    InputCount {
        /// Input wires of the circuit.
        expected: u64,
        /// Labels in the encoder.
        got: u64,
    },
    /// The run's AND indices `first_and .. first_and + ands` would pass
    /// [`AND_INDEX_LIMIT`], where tweaks would no longer be unique. Nothing
    /// was garbled or written.
    #[error("AND gates {first_and} + {ands} pass the AND index limit 2^62 (tweaks would repeat)")]
    TweakRange {
        /// The first AND index ([`Garbler::first_and_index`]).
        first_and: u64,
        /// The plan's AND count (its gate count if streaming).
        ands: u64,
    },
}

/// Evaluation failed; every variant caused by the peer's data is an error
/// here, never a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The garbled stream ended early.
    #[error("the garbled stream ended early: {expected} more bytes were expected at byte {offset}")]
    Truncated {
        /// Stream offset where the read started.
        offset: u64,
        /// Bytes that read wanted.
        expected: u64,
    },
    /// Reading the garbled stream failed (other than ending early).
    #[error("reading the garbled circuit failed: {0}")]
    Io(io::Error),
    /// The trailer does not close this circuit's stream (wrong tag or AND
    /// index): the stream is misframed, belongs to another circuit or was
    /// garbled from another first AND index.
    #[error("the garbled stream's trailer does not match: expected AND index {expected_ands} at the end, trailer says {trailer:x}")]
    BadTrailer {
        /// The AND index after this run's last AND gate: the first AND index
        /// plus the plan's AND count (the AND count when the first index is
        /// 0).
        expected_ands: u64,
        /// The trailer block received.
        trailer: u128,
    },
    /// The checksum of the tables received differs from the garbler's.
    #[error("the garbled tables are corrupt (checksum mismatch)")]
    Corrupt,
    /// The number of input labels does not match the circuit's input wires.
    #[error("{got} input labels given but the circuit has {expected} input wires")]
    InputCount {
        /// Input wires of the circuit.
        expected: u64,
        /// Labels given.
        got: u64,
    },
    /// The circuit could not be scheduled.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The run's AND indices `first_and .. first_and + ands` would pass
    /// [`AND_INDEX_LIMIT`] (see [`GarbleError::TweakRange`]). Nothing was
    /// read or evaluated.
    #[error("AND gates {first_and} + {ands} pass the AND index limit 2^62 (tweaks would repeat)")]
    TweakRange {
        /// The first AND index ([`Evaluator::first_and_index`]).
        first_and: u64,
        /// The plan's AND count (its gate count if streaming).
        ands: u64,
    },
}

/// Decoding or verifying output labels failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The number of labels (or decoding bits) does not match.
    #[error("expected {expected} output labels, got {got}")]
    Count {
        /// Expected number.
        expected: usize,
        /// Received number.
        got: usize,
    },
    /// A label is neither of the two labels of its output wire.
    #[error("output label {index} is not a valid label of its wire")]
    InvalidLabel {
        /// Position of the label.
        index: usize,
    },
    /// A serialised decoder has the wrong length or stray bits.
    #[error("malformed output decoding information")]
    Malformed,
}

/// A wire label the evaluator holds: the label of the wire's actual value.
/// It is all the evaluator ever sees of a wire; it reveals neither the value
/// nor Δ.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct ActiveLabel(Block);

impl ActiveLabel {
    /// A label received from the peer (or from OT).
    pub fn from_block(block: Block) -> ActiveLabel {
        ActiveLabel(block)
    }

    /// The label's block (e.g. to send it back to the garbler).
    pub fn as_block(self) -> Block {
        self.0
    }
}

/// The garbler's encoding: Δ and the zero labels of the input and constant
/// wires. Garbler-side only; zeroised on drop.
pub struct Encoder {
    delta: Delta,
    inputs: Vec<Block>,
    constants: [Block; 2],
}

impl Encoder {
    /// An encoding with a random Δ and random zero labels for `input_bits`
    /// input wires.
    pub fn random(input_bits: usize, prg: &mut Prg) -> Encoder {
        let delta = Delta::random(prg);
        let mut inputs = vec![Block::ZERO; input_bits];
        prg.fill_blocks(&mut inputs);
        Encoder::new(delta, inputs, prg)
    }

    /// An encoding with a given Δ and given input zero labels (in input wire
    /// order), e.g. those fixed by a correlated OT with correlation Δ. The
    /// constant wires' zero labels are drawn from `prg`.
    pub fn new(delta: Delta, input_zero_labels: Vec<Block>, prg: &mut Prg) -> Encoder {
        let constants = [prg.random_block(), prg.random_block()];
        Encoder { delta, inputs: input_zero_labels, constants }
    }

    /// An encoding for `circuit` as the session protocol builds it: the
    /// input wires of the evaluator's inputs take, in wire order, the zero
    /// labels `evaluator_zero_labels` of a correlated OT whose correlation is
    /// `delta` (the evaluator received `zero ⊕ b·Δ` for its bit `b`); the
    /// garbler's input wires get fresh random zero labels from `prg`.
    pub fn with_ot_labels(
        circuit: &Circuit,
        delta: Delta,
        evaluator_zero_labels: &[Block],
        prg: &mut Prg,
    ) -> Result<Encoder, GarbleError> {
        let expected = circuit.input_bits_of(Party::Evaluator);
        if evaluator_zero_labels.len() as u64 != expected {
            return Err(GarbleError::InputCount { expected, got: evaluator_zero_labels.len() as u64 });
        }
        let mut zero = Vec::with_capacity(circuit.input_bits() as usize);
        let mut from_ot = evaluator_zero_labels.iter();
        for input in circuit.inputs() {
            for _ in 0..input.width {
                let ot = if input.party == Party::Evaluator { from_ot.next().copied() } else { None };
                zero.push(ot.unwrap_or_else(|| prg.random_block()));
            }
        }
        Ok(Encoder::new(delta, zero, prg))
    }

    /// The active labels of `input` (an input of the circuit this encoder was
    /// made for) holding `bits`, least significant first: what the garbler
    /// sends for its own inputs.
    pub fn encode_input(&self, input: &Input, bits: &[bool]) -> Result<Vec<ActiveLabel>, GarbleError> {
        let first = (input.first_wire as usize).saturating_sub(2);
        if bits.len() != input.width as usize || first + bits.len() > self.inputs.len() {
            return Err(GarbleError::InputCount { expected: u64::from(input.width), got: bits.len() as u64 });
        }
        Ok(self.encode_bits(first, bits))
    }

    /// Δ.
    pub fn delta(&self) -> &Delta {
        &self.delta
    }

    /// The zero labels of the input wires, in wire order (the OT sender's
    /// messages are `zero` and `zero ⊕ Δ`).
    pub fn zero_labels(&self) -> &[Block] {
        &self.inputs
    }

    /// Number of input wires.
    pub fn input_bits(&self) -> usize {
        self.inputs.len()
    }

    /// The active labels of input bits `first, first + 1, …` holding `bits`.
    ///
    /// # Panics
    /// If `first + bits.len()` exceeds the input wires (a caller bug: input
    /// positions come from the circuit, not from the peer).
    pub fn encode_bits(&self, first: usize, bits: &[bool]) -> Vec<ActiveLabel> {
        let d = self.delta.as_block();
        self.inputs[first..first + bits.len()]
            .iter()
            .zip(bits)
            .map(|(&z, &b)| ActiveLabel(z ^ d.select(b)))
            .collect()
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        self.inputs.zeroize();
        self.constants.zeroize();
    }
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("input_bits", &self.inputs.len()).finish_non_exhaustive()
    }
}

/// What the garbler keeps of the outputs: their zero labels and Δ.
/// Garbler-side only; zeroised on drop.
pub struct GarbledOutputs {
    delta: Delta,
    zero: Vec<Block>,
}

impl GarbledOutputs {
    /// Number of output wires.
    pub fn len(&self) -> usize {
        self.zero.len()
    }

    /// True if the circuit has no output wire.
    pub fn is_empty(&self) -> bool {
        self.zero.is_empty()
    }

    /// Decoding information for all outputs: the lsb of each output's zero
    /// label. Give it only for outputs the evaluator may learn (see
    /// [`OutputDecoder::range`]).
    pub fn decoder(&self) -> OutputDecoder {
        OutputDecoder { bits: self.zero.iter().map(|z| z.lsb()).collect() }
    }

    /// Checks output labels sent back by the evaluator (all outputs, in
    /// order) and returns the bits; a label that is neither of its wire's two
    /// labels is an error.
    pub fn verify(&self, labels: &[ActiveLabel]) -> Result<Vec<bool>, DecodeError> {
        self.verify_range(0, labels)
    }

    /// The garbler's label of output wire `index` carrying `value`
    /// (`zero ⊕ value·Δ`). Dual execution compares these with the labels
    /// the peer's evaluation produced.
    pub fn label(&self, index: usize, value: bool) -> Option<Block> {
        self.zero.get(index).map(|&z| z ^ self.delta.as_block().select(value))
    }

    /// [`GarbledOutputs::verify`] for the output wires `first, first + 1, …`.
    pub fn verify_range(&self, first: usize, labels: &[ActiveLabel]) -> Result<Vec<bool>, DecodeError> {
        let zero = self.zero.get(first..first.saturating_add(labels.len())).ok_or(DecodeError::Count {
            expected: self.zero.len().saturating_sub(first),
            got: labels.len(),
        })?;
        let d = self.delta.as_block();
        zero.iter()
            .zip(labels)
            .enumerate()
            .map(|(i, (&z, l))| match l.0 {
                x if x == z => Ok(false),
                x if x == z ^ d => Ok(true),
                _ => Err(DecodeError::InvalidLabel { index: first + i }),
            })
            .collect()
    }
}

impl Drop for GarbledOutputs {
    fn drop(&mut self) {
        self.zero.zeroize();
    }
}

impl std::fmt::Debug for GarbledOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GarbledOutputs").field("len", &self.zero.len()).finish_non_exhaustive()
    }
}

/// Decoding information the evaluator receives: one bit per output wire
/// (the permute bit of the wire's zero label). Reveals nothing beyond the
/// outputs it decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputDecoder {
    bits: Vec<bool>,
}

impl OutputDecoder {
    /// Number of output wires covered.
    pub fn len(&self) -> usize {
        self.bits.len()
    }

    /// True if it covers no wire.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Decoding bits given directly (lsb of each output's zero label), e.g.
    /// the decoders of several instances joined with [`OutputDecoder::bits`].
    pub fn from_bits(bits: Vec<bool>) -> OutputDecoder {
        OutputDecoder { bits }
    }

    /// The decoding bits, one per output wire.
    pub fn bits(&self) -> &[bool] {
        &self.bits
    }

    /// The decoder of output wires `range` only.
    pub fn range(&self, range: std::ops::Range<usize>) -> Option<OutputDecoder> {
        self.bits.get(range).map(|b| OutputDecoder { bits: b.to_vec() })
    }

    /// Decodes active output labels: bit = lsb(label) ⊕ decoding bit.
    pub fn decode(&self, labels: &[ActiveLabel]) -> Result<Vec<bool>, DecodeError> {
        if labels.len() != self.bits.len() {
            return Err(DecodeError::Count { expected: self.bits.len(), got: labels.len() });
        }
        Ok(labels.iter().zip(&self.bits).map(|(l, &d)| l.0.lsb() ^ d).collect())
    }

    /// Packed bytes for the wire, least significant bit first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.bits.len().div_ceil(8)];
        for (i, &b) in self.bits.iter().enumerate() {
            out[i / 8] |= u8::from(b) << (i % 8);
        }
        out
    }

    /// Parses [`OutputDecoder::to_bytes`] for `len` output wires: the length
    /// must be exact and unused bits zero.
    pub fn from_bytes(bytes: &[u8], len: usize) -> Result<OutputDecoder, DecodeError> {
        if bytes.len() != len.div_ceil(8) {
            return Err(DecodeError::Malformed);
        }
        if !len.is_multiple_of(8) {
            if let Some(&last) = bytes.last() {
                if last >> (len % 8) != 0 {
                    return Err(DecodeError::Malformed);
                }
            }
        }
        Ok(OutputDecoder { bits: (0..len).map(|i| (bytes[i / 8] >> (i % 8)) & 1 == 1).collect() })
    }
}

/// XOR of all 16-byte blocks of `bytes` (a multiple of 16 long), read
/// little-endian. Four 128-bit accumulators, one SIMD XOR per block.
fn xor_fold(bytes: &[u8]) -> u128 {
    let blocks: &[Block] = bytemuck::cast_slice(&bytes[..bytes.len() / 16 * 16]);
    let mut acc = [Block::ZERO; 4];
    let mut wide = blocks.chunks_exact(4);
    for c in &mut wide {
        for (a, &b) in acc.iter_mut().zip(c) {
            *a ^= b;
        }
    }
    for &b in wide.remainder() {
        acc[0] ^= b;
    }
    (acc[0] ^ acc[1] ^ acc[2] ^ acc[3]).to_u128()
}

/// Zeroises `blocks` with volatile writes that the compiler cannot drop,
/// 8 bytes at a time where aligned (a block is 1-aligned).
fn wipe_blocks(blocks: &mut [Block]) {
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(blocks);
    let (head, words, tail) = bytemuck::pod_align_to_mut::<u8, u64>(bytes);
    head.zeroize();
    words.zeroize();
    tail.zeroize();
}

/// Buffers of a run, reused across windows.
///
/// A garbler's run holds secrets: its label file holds zero labels and Δ
/// (at index `num_wires`), and `c` the zero labels of split AND batches.
/// Both are zeroised when the run is dropped (its [`Drop`]), whatever the
/// path: a finished run replaced in or evicted from the [`RunCache`], an
/// early return on a sink or stream error, a panic unwinding. `c` never
/// reallocates with its contents ([`Run::grow_c`]), so no copy of a label is
/// left in freed memory; `labels` is never resized. `material` holds only
/// garbled tables (what the stream carries) and is not wiped.
struct Run {
    /// The label file: `used` labels (see [`Run::label_len`]), in a buffer
    /// of the next size in [`FILE_LABELS`] (or exactly `used` past them).
    /// Only `labels[..used]` is ever written.
    labels: Vec<Block>,
    used: usize,
    /// Output labels of a batch split over threads, before [`Run::scatter`].
    c: Vec<Block>,
    material: Vec<u8>,
    and_index: u64,
    checksum: u128,
}

/// Label buffers kept from one run to the next by a garbler or evaluator:
/// a batch of a small circuit would otherwise allocate (and fault in) a
/// window's worth of labels per run. A run it drops (replaced, evicted,
/// or with the cache) is zeroised by [`Run`]'s [`Drop`].
#[derive(Default)]
struct RunCache(std::sync::Mutex<Option<Run>>);

impl Clone for RunCache {
    fn clone(&self) -> Self {
        RunCache::default()
    }
}

impl std::fmt::Debug for RunCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunCache")
    }
}

impl RunCache {
    /// A cleared run for `plan`: the cached one if it fits and is free.
    fn take(&self, plan: &Plan<'_>) -> Run {
        let cached = self.0.try_lock().ok().and_then(|mut slot| slot.take());
        match cached {
            // A cached run of another size is dropped here (and wiped).
            Some(mut run) if run.used == Run::label_len(plan) => {
                // Wire labels (and the Δ slot) start cleared as in a new run;
                // the window's slots past them are written before they are read.
                let wires = plan.num_wires() as usize + 1;
                run.labels[..wires].fill(Block::ZERO);
                run.and_index = 0;
                run.checksum = 0;
                run
            }
            _ => Run::new(plan),
        }
    }

    /// Keeps `run` for the next call. If the slot is busy, `run` is
    /// dropped; a run already in the slot (another thread's) is replaced
    /// and dropped. Dropped runs are wiped, outside the lock.
    fn give(&self, run: Run) {
        let _dropped = match self.0.try_lock() {
            Ok(mut slot) => slot.replace(run),
            Err(_) => Some(run),
        };
    }
}

impl Drop for Run {
    /// Zeroises every buffer that held labels: `labels[..used]` (the rest
    /// was never written) and all of `c`'s allocation.
    fn drop(&mut self) {
        self.wipe();
    }
}

impl Run {
    /// Wires, Δ (garbler) or zero (evaluator), a private slot per window
    /// gate, then the zero label (see [`schedule::Op`]).
    fn label_len(plan: &Plan<'_>) -> usize {
        plan.num_wires() as usize + 2 + plan.window_gates()
    }

    fn new(plan: &Plan<'_>) -> Run {
        let used = Run::label_len(plan);
        Run {
            // Zeroed pages from the allocator: a run only touches `used`.
            labels: bytemuck::zeroed_vec(FILE_LABELS.into_iter().find(|&n| n >= used).unwrap_or(used)),
            used,
            c: Vec::new(),
            material: Vec::new(),
            and_index: 0,
            checksum: 0,
        }
    }

    /// Zeroises the labels used (the rest of the buffer was never written)
    /// and the split-batch outputs `c` (its whole allocation).
    fn wipe(&mut self) {
        let used = self.used.min(self.labels.len());
        wipe_blocks(&mut self.labels[..used]);
        let c_all = self.c.capacity();
        self.c.resize(c_all, Block::ZERO);
        wipe_blocks(&mut self.c);
    }

    /// Makes `c` at least `n` labels long. A larger buffer is a new zeroed
    /// allocation, and the old one is wiped before it is freed (a `resize`
    /// would copy its labels and free the old buffer as it is).
    fn grow_c(&mut self, n: usize) {
        if self.c.len() < n {
            let mut old = std::mem::replace(&mut self.c, vec![Block::ZERO; n]);
            wipe_blocks(&mut old);
        }
    }

    /// Makes `material` at least `len` bytes long (it only grows: every
    /// byte used is written before it is read).
    fn grow_material(&mut self, len: usize) {
        if self.material.len() < len {
            self.material.resize(len, 0);
        }
    }

    /// Writes the AND outputs `c` to their labels.
    fn scatter(&mut self, ops: &[schedule::Op]) {
        for (op, &c) in ops.iter().zip(&self.c) {
            self.labels[op.out as usize] = c;
        }
    }

    /// Runs a segment of free gates (XOR, and INV as XOR with the label at
    /// index `num_wires`: Δ for the garbler, zero for the evaluator). Free
    /// ops address labels by byte offset; when the plan's labels fit one of
    /// the fixed file sizes ([`FILE_LABELS`]) the offsets are masked into
    /// it, which costs no bounds check, else every access is checked.
    fn free_segment(&mut self, w: &Window, seg: &schedule::Segment) {
        let range = seg.start as usize..seg.end as usize;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.labels[..]);
        macro_rules! fixed {
            ($($labels:expr),*) => {
                match bytes.len() {
                    $(n if n == 16 * $labels => {
                        let file = <&mut [u8; 16 * $labels]>::try_from(bytes).expect("the file's size");
                        run_free_segment(&mut FixedFile(file), w, seg, range)
                    })*
                    _ => run_free_segment(&mut CheckedFile(bytes), w, seg, range),
                }
            };
        }
        fixed!(1 << 12, 1 << 14, 1 << 16, 1 << 17, 1 << 18, 1 << 20)
    }

    fn writeback(&mut self, w: &Window) {
        for &(wire, slot) in &w.writeback {
            self.labels[wire as usize] = self.labels[slot as usize];
        }
    }
}

/// Gates per rayon task when a batch is split: `PAR_PIECE` rounded up to
/// the scheme's granule.
fn par_piece<G: GarblingScheme>() -> usize {
    PAR_PIECE.div_ceil(G::GRANULE) * G::GRANULE
}

/// Runs `piece(first_and, ops, outputs, material)` on the pieces of a batch
/// (`par` gates each, `material` chunked to match) over the rayon pool;
/// returns the XOR of what the pieces return (their checksums).
fn split_batch<M: Send>(
    first_and: u64,
    par: usize,
    ops: &[schedule::Op],
    out: &mut [Block],
    material: impl IndexedParallelIterator<Item = M>,
    piece: impl Fn(u64, &[schedule::Op], &mut [Block], M) -> u128 + Sync + Send,
) -> u128 {
    ops.par_chunks(par)
        .zip(out.par_chunks_mut(par))
        .zip(material)
        .enumerate()
        .map(|(i, ((o, c), m))| piece(first_and + (i * par) as u64, o, c, m))
        .reduce(|| 0, |x, y| x ^ y)
}

/// Label file sizes (in labels) addressed without bounds checks: a run's
/// labels go in the smallest that holds them (see `Run::free_segment`).
const FILE_LABELS: [usize; 6] = [1 << 12, 1 << 14, 1 << 16, 1 << 17, 1 << 18, 1 << 20];

/// Labels addressed by byte offset.
trait LabelFile {
    fn get(&self, off: u32) -> Block;
    fn set(&mut self, off: u32, v: Block);
}

/// A file of `BYTES / 16` labels: offsets masked into it (a no-op on the
/// offsets a plan emits, which are all below `16 × used`), so no bounds
/// checks.
struct FixedFile<'a, const BYTES: usize>(&'a mut [u8; BYTES]);

impl<const BYTES: usize> FixedFile<'_, BYTES> {
    const MASK: u32 = (BYTES - 16) as u32;
}

impl<const BYTES: usize> LabelFile for FixedFile<'_, BYTES> {
    #[inline(always)]
    fn get(&self, off: u32) -> Block {
        let o = (off & Self::MASK) as usize;
        *bytemuck::from_bytes(&self.0[o..o + 16])
    }
    #[inline(always)]
    fn set(&mut self, off: u32, v: Block) {
        let o = (off & Self::MASK) as usize;
        self.0[o..o + 16].copy_from_slice(v.as_bytes());
    }
}

/// Any other size: every access bounds-checked.
struct CheckedFile<'a>(&'a mut [u8]);

impl LabelFile for CheckedFile<'_> {
    #[inline(always)]
    fn get(&self, off: u32) -> Block {
        let o = off as usize;
        *bytemuck::from_bytes(&self.0[o..o + 16])
    }
    #[inline(always)]
    fn set(&mut self, off: u32, v: Block) {
        let o = off as usize;
        self.0[o..o + 16].copy_from_slice(v.as_bytes());
    }
}

fn run_free_segment<F: LabelFile>(
    file: &mut F,
    w: &Window,
    seg: &schedule::Segment,
    range: std::ops::Range<usize>,
) {
    if seg.wide {
        free_gates4(file, &w.ops4[range]);
    } else {
        free_gates(file, &w.free[range]);
    }
}

/// Free ops of two inputs, in order (an op may read the one before it),
/// unrolled by four.
fn free_gates<F: LabelFile>(file: &mut F, ops: &[schedule::Op]) {
    let mut quads = ops.chunks_exact(4);
    for q in &mut quads {
        for op in q {
            file.set(op.out, file.get(op.a) ^ file.get(op.b));
        }
    }
    for op in quads.remainder() {
        file.set(op.out, file.get(op.a) ^ file.get(op.b));
    }
}

/// Free ops of up to four inputs (folded XOR/INV chains).
fn free_gates4<F: LabelFile>(file: &mut F, ops: &[schedule::Op4]) {
    for op in ops {
        let [a, b, c, d] = op.ins;
        file.set(op.out, file.get(a) ^ file.get(b) ^ file.get(c) ^ file.get(d));
    }
}

/// The garbler: garbles a [`Plan`] under an [`Encoder`] into a stream.
#[derive(Clone, Debug, Default)]
pub struct Garbler<G = HalfGates> {
    scheme: G,
    parallel: bool,
    first_and: u64,
    cache: RunCache,
}

impl Garbler<HalfGates> {
    /// A single-threaded half-gates garbler.
    pub fn new() -> Garbler<HalfGates> {
        Garbler { scheme: HalfGates::new(), parallel: false, first_and: 0, cache: RunCache::default() }
    }
}

impl<G: GarblingScheme> Garbler<G> {
    /// A garbler for another scheme.
    pub fn with_scheme(scheme: G) -> Garbler<G> {
        Garbler { scheme, parallel: false, first_and: 0, cache: RunCache::default() }
    }

    /// Numbers this run's AND gates from `first` (AND gate `g` hashes under
    /// tweaks `2g` and `2g + 1`), so that several garblings under one Δ —
    /// the instances of a batch — never reuse a tweak. The evaluator must
    /// use the same value. [`Garbler::garble`] refuses a plan whose AND
    /// gates would pass [`AND_INDEX_LIMIT`] from here
    /// ([`GarbleError::TweakRange`]).
    pub fn first_and_index(mut self, first: u64) -> Self {
        self.first_and = first;
        self
    }

    /// Spread large AND batches over the rayon thread pool (the output is
    /// byte-for-byte the same as with one thread). The pieces' output labels
    /// are then copied back by one thread and the free gates stay on it, so
    /// this pays only with more than two cores; on two, one thread per
    /// instance ([`garble_many`]) is the way to use both (see
    /// `BENCHMARKS.md`).
    pub fn parallel(mut self, on: bool) -> Garbler<G> {
        self.parallel = on;
        self
    }

    /// Garbles `plan` and writes the garbled circuit to `sink`, one window at
    /// a time. Returns the output zero labels.
    ///
    /// A plan whose AND indices would pass [`AND_INDEX_LIMIT`] is
    /// [`GarbleError::TweakRange`], before anything is written. On an error
    /// of `sink` the run stops there (the stream is incomplete) and its
    /// label buffers are wiped.
    pub fn garble<W: Write>(
        &self,
        plan: &Plan<'_>,
        encoder: &Encoder,
        mut sink: W,
    ) -> Result<GarbledOutputs, GarbleError> {
        if encoder.inputs.len() as u64 != plan.input_bits() {
            return Err(GarbleError::InputCount {
                expected: plan.input_bits(),
                got: encoder.inputs.len() as u64,
            });
        }
        // Once per run: within the limit no tweak can wrap, so the batches
        // below need no check of their own.
        let ands = plan.and_bound();
        if !and_range_fits(self.first_and, ands) {
            return Err(GarbleError::TweakRange { first_and: self.first_and, ands });
        }
        let d = encoder.delta.as_block();
        let nw = plan.num_wires() as usize;
        let mut run = self.cache.take(plan);
        run.and_index = self.first_and;
        run.labels[0] = encoder.constants[0];
        run.labels[1] = encoder.constants[1];
        run.labels[2..2 + encoder.inputs.len()].copy_from_slice(&encoder.inputs);
        run.labels[nw] = d;
        // The zero label, the last one the plan uses (the filler of
        // `schedule::Op4`'s unused inputs).
        let zero = run.used - 1;
        run.labels[zero] = Block::ZERO;
        let header = [encoder.constants[0], encoder.constants[1] ^ d];
        sink.write_all(Block::as_bytes_slice(&header))?;
        run.checksum = xor_fold(Block::as_bytes_slice(&header));

        plan.for_each_window(|w: &Window| -> Result<(), GarbleError> {
            // Each batch (or piece of `STREAM_PIECE` ANDs of a larger one)
            // is folded into the checksum while its tables are in cache; the
            // window's tables are written at once.
            let piece = STREAM_PIECE.div_ceil(G::GRANULE) * G::GRANULE;
            // Once per window, for a streaming source that yields more gates
            // than it counted: the run stops before an index passes the limit.
            if !and_range_fits(run.and_index, w.ands as u64) {
                return Err(GarbleError::TweakRange { first_and: self.first_and, ands });
            }
            run.grow_material(self.scheme.material_len(w.ands));
            let mut pos = 0;
            for seg in &w.segments {
                if !seg.and {
                    run.free_segment(w, seg);
                    continue;
                }
                let ops = &w.ops[seg.start as usize..seg.end as usize];
                let n = ops.len();
                let split = self.parallel && n >= PAR_MIN_ANDS;
                if split {
                    run.grow_c(n);
                }
                let unit = if split { n } else { piece };
                for sub in ops.chunks(unit) {
                    let len = self.scheme.material_len(sub.len());
                    let mat = &mut run.material[pos..pos + len];
                    if !split {
                        // One thread: output labels go straight to the wires.
                        let first = run.and_index;
                        run.checksum ^= self.scheme.garble_ands_in_place(
                            &encoder.delta,
                            first,
                            &mut run.labels,
                            sub,
                            mat,
                        );
                    } else {
                        // The whole batch (`unit == n`), outputs to `run.c`.
                        let (labels, out) = (&run.labels[..], &mut run.c[..n]);
                        let par = par_piece::<G>();
                        let mats = mat.par_chunks_mut(self.scheme.material_len(par));
                        run.checksum ^= split_batch(run.and_index, par, sub, out, mats, |first, o, c, m| {
                            self.scheme.garble_ands(&encoder.delta, first, labels, o, c, m);
                            xor_fold(m)
                        });
                    }
                    run.and_index += sub.len() as u64;
                    pos += len;
                }
                if split {
                    run.scatter(ops);
                }
            }
            sink.write_all(&run.material[..pos])?;
            run.writeback(w);
            Ok(())
        })?;

        // The end index `first_and + ands` (at most `AND_INDEX_LIMIT`, checked
        // above, so the additions never wrapped) in the low 64 bits.
        let trailer = [
            Block::new((u128::from(TRAILER_TAG) << 64) | u128::from(run.and_index)),
            Block::new(run.checksum),
        ];
        sink.write_all(Block::as_bytes_slice(&trailer))?;
        sink.flush()?;
        let zero = plan.output_wires().iter().map(|w| run.labels[w.index()]).collect();
        self.cache.give(run);
        Ok(GarbledOutputs { delta: encoder.delta.clone(), zero })
    }
}

/// The evaluator: evaluates a [`Plan`] on active input labels and a garbled
/// stream. It never holds Δ or a zero label.
#[derive(Clone, Debug, Default)]
pub struct Evaluator<G = HalfGates> {
    scheme: G,
    parallel: bool,
    first_and: u64,
    cache: RunCache,
}

impl Evaluator<HalfGates> {
    /// A single-threaded half-gates evaluator.
    pub fn new() -> Evaluator<HalfGates> {
        Evaluator { scheme: HalfGates::new(), parallel: false, first_and: 0, cache: RunCache::default() }
    }
}

/// Where the evaluator reads the garbled circuit from: a reader (the tables
/// copied to a buffer piece by piece) or memory (read in place).
trait TableSource {
    /// Fills `buf` with the next bytes of the stream.
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), EvalError>;
    /// Makes the next `len` bytes of the stream the [`TableSource::loaded`]
    /// piece.
    fn load(&mut self, len: usize) -> Result<(), EvalError>;
    /// The piece of the last [`TableSource::load`].
    fn loaded(&self) -> &[u8];
}

/// Tables read from a [`Read`] into a reused buffer.
struct CopiedTables<R> {
    reader: R,
    /// Reused across pieces; it only grows.
    buf: Vec<u8>,
    /// The loaded piece is `buf[..len]`.
    len: usize,
    /// Bytes read so far.
    offset: u64,
}

impl<R: Read> CopiedTables<R> {
    fn fill(&mut self, len: usize) -> Result<(), EvalError> {
        self.reader.read_exact(&mut self.buf[..len]).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                EvalError::Truncated { offset: self.offset, expected: len as u64 }
            } else {
                EvalError::Io(e)
            }
        })?;
        self.offset += len as u64;
        Ok(())
    }
}

impl<R: Read> TableSource for CopiedTables<R> {
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), EvalError> {
        self.load(buf.len())?;
        buf.copy_from_slice(&self.buf[..buf.len()]);
        Ok(())
    }

    fn load(&mut self, len: usize) -> Result<(), EvalError> {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        self.len = 0;
        self.fill(len)?;
        self.len = len;
        Ok(())
    }

    fn loaded(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Tables read in place from memory.
struct BorrowedTables<'a> {
    bytes: &'a [u8],
    /// The loaded piece is `bytes[start..end]`.
    start: usize,
    end: usize,
}

impl TableSource for BorrowedTables<'_> {
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), EvalError> {
        self.load(buf.len())?;
        buf.copy_from_slice(self.loaded());
        Ok(())
    }

    fn load(&mut self, len: usize) -> Result<(), EvalError> {
        let available = self.bytes.len() - self.end;
        if available < len {
            // The stream ends inside this piece: as a reader would see it.
            return Err(EvalError::Truncated { offset: self.end as u64, expected: len as u64 });
        }
        self.start = self.end;
        self.end += len;
        Ok(())
    }

    fn loaded(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }
}

impl<G: GarblingScheme> Evaluator<G> {
    /// An evaluator for another scheme.
    pub fn with_scheme(scheme: G) -> Evaluator<G> {
        Evaluator { scheme, parallel: false, first_and: 0, cache: RunCache::default() }
    }

    /// Numbers this run's AND gates from `first` (AND gate `g` hashes under
    /// tweaks `2g` and `2g + 1`), so that several garblings under one Δ —
    /// the instances of a batch — never reuse a tweak. The evaluator must
    /// use the same value. Evaluation refuses a plan whose AND gates would
    /// pass [`AND_INDEX_LIMIT`] from here ([`EvalError::TweakRange`]).
    pub fn first_and_index(mut self, first: u64) -> Self {
        self.first_and = first;
        self
    }

    /// Spread large AND batches over the rayon thread pool (same results as
    /// with one thread); see [`Garbler::parallel`] for when it pays.
    pub fn parallel(mut self, on: bool) -> Evaluator<G> {
        self.parallel = on;
        self
    }

    /// Bytes of the next read of tables: from op `from` of the AND segment
    /// `si`, one unit of `unit` ANDs if the segment's rest is larger, else
    /// the rest and the following AND segments while they fit in `piece`
    /// ANDs (segments split for parallel work are read alone).
    fn piece_bytes(&self, w: &Window, si: usize, from: usize, unit: usize, piece: usize) -> usize {
        let mut gates = 0;
        let mut bytes = 0;
        for (j, seg) in w.segments.iter().enumerate().skip(si).filter(|(_, s)| s.and) {
            let n = (seg.end - seg.start) as usize;
            let rest = if j == si { n - from } else { n };
            if j == si && (rest > piece || unit != piece) {
                return self.scheme.material_len(rest.min(unit));
            }
            if j > si && ((self.parallel && n >= PAR_MIN_ANDS) || gates + rest > piece) {
                break;
            }
            gates += rest;
            bytes += self.scheme.material_len(rest);
        }
        bytes
    }

    /// Evaluates `plan` on the active labels of all input wires (in wire
    /// order), reading the garbled circuit from `source` one window at a
    /// time. Returns the active labels of the output wires.
    pub fn evaluate<R: Read>(
        &self,
        plan: &Plan<'_>,
        inputs: &[ActiveLabel],
        source: R,
    ) -> Result<Vec<ActiveLabel>, EvalError> {
        let mut run = self.cache.take(plan);
        let mut tables =
            CopiedTables { reader: source, buf: std::mem::take(&mut run.material), len: 0, offset: 0 };
        let result = self.evaluate_run(plan, inputs, &mut run, &mut tables);
        run.material = tables.buf;
        self.finish_run(run, result)
    }

    /// [`Evaluator::evaluate`] on a garbled circuit already in memory (a
    /// received buffer, a memory-mapped file): the tables are read where
    /// they are, not copied. Bytes after the trailer are ignored.
    pub fn evaluate_slice(
        &self,
        plan: &Plan<'_>,
        inputs: &[ActiveLabel],
        stream: &[u8],
    ) -> Result<Vec<ActiveLabel>, EvalError> {
        let mut run = self.cache.take(plan);
        let mut tables = BorrowedTables { bytes: stream, start: 0, end: 0 };
        let result = self.evaluate_run(plan, inputs, &mut run, &mut tables);
        self.finish_run(run, result)
    }

    /// Returns the run's buffers to the cache (on success) and the outputs.
    fn finish_run(
        &self,
        run: Run,
        result: Result<Vec<ActiveLabel>, EvalError>,
    ) -> Result<Vec<ActiveLabel>, EvalError> {
        if result.is_ok() {
            self.cache.give(run);
        }
        result
    }

    fn evaluate_run<T: TableSource>(
        &self,
        plan: &Plan<'_>,
        inputs: &[ActiveLabel],
        run: &mut Run,
        source: &mut T,
    ) -> Result<Vec<ActiveLabel>, EvalError> {
        if inputs.len() as u64 != plan.input_bits() {
            return Err(EvalError::InputCount { expected: plan.input_bits(), got: inputs.len() as u64 });
        }
        // Once per run, before anything is read (as the garbler checks).
        let ands = plan.and_bound();
        if !and_range_fits(self.first_and, ands) {
            return Err(EvalError::TweakRange { first_and: self.first_and, ands });
        }
        run.and_index = self.first_and;
        // The zero label, the last one the plan uses (the filler of
        // `schedule::Op4`'s unused inputs).
        let zero = run.used - 1;
        run.labels[zero] = Block::ZERO;
        let mut header = [0u8; 32];
        source.read_exact(&mut header)?;
        let constants = Block::try_from_bytes_slice(&header).ok_or(EvalError::Corrupt)?;
        run.labels[..2].copy_from_slice(constants);
        run.checksum = xor_fold(&header);
        for (l, i) in run.labels[2..2 + inputs.len()].iter_mut().zip(inputs) {
            *l = i.0;
        }

        plan.for_each_window(|w: &Window| -> Result<(), EvalError> {
            // Tables are read about `STREAM_PIECE` ANDs at a time (whole
            // batches, or pieces of a larger batch), folded into the
            // checksum and evaluated while still in cache.
            let piece = STREAM_PIECE.div_ceil(G::GRANULE) * G::GRANULE;
            if !and_range_fits(run.and_index, w.ands as u64) {
                return Err(EvalError::TweakRange { first_and: self.first_and, ands });
            }
            let (mut pos, mut loaded) = (0, 0);
            for (si, seg) in w.segments.iter().enumerate() {
                if !seg.and {
                    run.free_segment(w, seg);
                    continue;
                }
                let ops = &w.ops[seg.start as usize..seg.end as usize];
                let n = ops.len();
                let split = self.parallel && n >= PAR_MIN_ANDS;
                if split {
                    run.grow_c(n);
                }
                let unit = if split { n } else { piece };
                for (k, sub) in ops.chunks(unit).enumerate() {
                    let len = self.scheme.material_len(sub.len());
                    if pos == loaded {
                        loaded = self.piece_bytes(w, si, k * unit, unit, piece);
                        source.load(loaded)?;
                        pos = 0;
                    }
                    let mat = source.loaded().get(pos..pos + len).ok_or(EvalError::Corrupt)?;
                    if !split {
                        // One thread: output labels go straight to the wires,
                        // the checksum is folded as the tables are read.
                        let first = run.and_index;
                        run.checksum ^= self.scheme.eval_ands_in_place(first, &mut run.labels, sub, mat);
                    } else {
                        // The whole batch (`unit == n`), outputs to `run.c`.
                        let (labels, out) = (&run.labels[..], &mut run.c[..n]);
                        let par = par_piece::<G>();
                        let mats = mat.par_chunks(self.scheme.material_len(par));
                        run.checksum ^= split_batch(run.and_index, par, sub, out, mats, |first, o, c, m| {
                            self.scheme.eval_ands(first, labels, o, m, c);
                            xor_fold(m)
                        });
                    }
                    run.and_index += sub.len() as u64;
                    pos += len;
                }
                if split {
                    run.scatter(ops);
                }
            }
            run.writeback(w);
            Ok(())
        })?;

        let mut trailer = [0u8; 32];
        source.read_exact(&mut trailer)?;
        let tag = u128::from_le_bytes(trailer[..16].try_into().unwrap_or([0; 16]));
        let expected = (u128::from(TRAILER_TAG) << 64) | u128::from(run.and_index);
        if tag != expected {
            return Err(EvalError::BadTrailer { expected_ands: run.and_index, trailer: tag });
        }
        let sum = u128::from_le_bytes(trailer[16..].try_into().unwrap_or([0; 16]));
        if sum != run.checksum {
            return Err(EvalError::Corrupt);
        }
        Ok(plan.output_wires().iter().map(|w| ActiveLabel(run.labels[w.index()])).collect())
    }
}

/// Garbles one plan for many independent instances (e.g. the same circuit on
/// many inputs) on all cores, one instance per rayon task. Each instance has
/// its own encoder and sink; results are in instance order and identical to
/// garbling them one by one.
pub fn garble_many<G, W>(
    garbler: &Garbler<G>,
    plan: &Plan<'_>,
    jobs: Vec<(&Encoder, W)>,
) -> Vec<Result<GarbledOutputs, GarbleError>>
where
    G: GarblingScheme,
    W: Write + Send,
{
    jobs.into_par_iter().map(|(enc, sink)| garbler.garble(plan, enc, sink)).collect()
}

/// Evaluates many independent instances of one plan on all cores, one
/// instance per rayon task: `(input labels, garbled stream)` each.
pub fn evaluate_many<G, R>(
    evaluator: &Evaluator<G>,
    plan: &Plan<'_>,
    jobs: Vec<(&[ActiveLabel], R)>,
) -> Vec<Result<Vec<ActiveLabel>, EvalError>>
where
    G: GarblingScheme,
    R: Read + Send,
{
    jobs.into_par_iter().map(|(inputs, source)| evaluator.evaluate(plan, inputs, source)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_fold_is_the_xor_of_all_blocks() {
        for blocks in [0usize, 1, 2, 3, 4, 5, 8, 9, 33] {
            let bytes: Vec<u8> = (0..16 * blocks).map(|i| (i * 37 + 11) as u8).collect();
            let naive = bytes
                .chunks_exact(16)
                .fold(0u128, |acc, c| acc ^ u128::from_le_bytes(<[u8; 16]>::try_from(c).unwrap()));
            assert_eq!(xor_fold(&bytes), naive, "{blocks} blocks");
        }
    }

    #[test]
    fn and_range_bound() {
        assert!(and_range_fits(0, 0));
        assert!(and_range_fits(0, AND_INDEX_LIMIT));
        assert!(and_range_fits(AND_INDEX_LIMIT - 10, 10));
        assert!(and_range_fits(AND_INDEX_LIMIT, 0));
        assert!(!and_range_fits(AND_INDEX_LIMIT - 10, 11));
        assert!(!and_range_fits(AND_INDEX_LIMIT + 1, 0));
        assert!(!and_range_fits(1 << 63, 0));
        assert!(!and_range_fits(u64::MAX - 5, 3));
        assert!(!and_range_fits(5, u64::MAX - 3));
        // The largest tweak of an allowed run, with the fused kernels' padding
        // (at most 15 gates past the last), is far from wrapping a u64.
        const { assert!(2 * (AND_INDEX_LIMIT - 1 + 16) + 1 < (1 << 63) + 64) };
    }

    /// What `Run`'s `Drop` wipes: every label written and all of `c`'s
    /// allocation, past its length too.
    #[test]
    fn run_wipe_covers_the_label_file_and_the_scatter_buffer() {
        let c = garblet_circuits::Circuit::new(
            6,
            vec![garblet_circuits::InputSpec::new("x", Party::Garbler, 2)],
            vec![],
            vec![],
        )
        .unwrap();
        let plan = Plan::compile(&c).unwrap();
        let mut run = Run::new(&plan);
        let secret = Block::new(0x5ec2e7_5ec2e7);
        let used = run.used;
        run.labels[..used].fill(secret);
        run.grow_c(3);
        run.c.fill(secret);
        run.c.truncate(1); // the wipe covers the whole allocation
        run.wipe();
        assert!(run.labels.iter().all(|&l| l == Block::ZERO));
        assert!(run.c.len() >= 3 && run.c.iter().all(|&l| l == Block::ZERO));
        // A grown `c` starts zeroed (the old buffer is wiped before it is freed).
        run.c.fill(secret);
        run.grow_c(run.c.len() + 5);
        assert!(run.c.iter().all(|&l| l == Block::ZERO));
        // Odd lengths and offsets (1-aligned blocks, 8-byte words).
        for n in 0..9 {
            let mut v = vec![secret; n + 1];
            wipe_blocks(&mut v[1..]);
            assert_eq!(v[0], secret);
            assert!(v[1..].iter().all(|&l| l == Block::ZERO));
        }
    }
}
