//! Garbling: garbler and evaluator for half-gates and three-halves
//! ([`HalfGates`], [`ThreeHalves`]), streaming, batched and multi-core.
//!
//! # Overview
//!
//! * [`Encoder`] (garbler only) holds Δ (lsb 1, [`crate::Delta`]) and
//!   the zero label of every input wire; the label of bit `b` is
//!   `zero ⊕ b·Δ`. The evaluator's input labels reach it by correlated OT
//!   with correlation Δ ([`Encoder::with_ot_labels`] takes the zero labels
//!   the OT produced), the garbler's own are sent as
//!   [`Encoder::encode_input`] gives them.
//! * [`Plan`] is the batching schedule, derived from the circuit alone by
//!   both sides (`schedule/mod.rs` explains it).
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
//! windows (see [`DEFAULT_WINDOW_GATES`]), whatever the number of
//! gates; [`Plan::streaming`] and [`Repeated`] keep the circuit itself out of
//! memory too.
//!
//! # Example
//!
//! ```
//! use garblet_engine::circuits::{Builder, Party, Visibility};
//! use garblet_engine::garble::{ActiveLabel, Encoder, Evaluator, Garbler, Plan};
//! use garblet_engine::Prg;
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
//! All blocks are 16 bytes ([`Block::to_bytes`](crate::Block::to_bytes)):
//!
//! 1. the active labels of wire 0 (constant false) and wire 1 (constant
//!    true): the garbler draws their zero labels at random like any input's
//!    and sends the labels of the constant values, so constants cost 32
//!    bytes once and nothing per gate;
//! 2. for every window of the plan, its AND tables in execution order:
//!    half-gates 32 bytes (`T_G`, `T_E`) per AND gate, three-halves 197
//!    bytes per 8 AND gates of a batch (`three_halves.rs`); XOR and INV
//!    send nothing;
//! 3. a trailer: the block `"garblet!" ‖ end` (tag in the high 64 bits;
//!    `end` is the AND index after the run's last AND gate, the first AND
//!    index ([`Garbler::first_and_index`]) plus the AND count, so it binds
//!    the stream to its tweak range too; at most [`AND_INDEX_LIMIT`]) and the
//!    XOR of all blocks before it. The evaluator knows how many
//!    bytes to expect from the plan, so a short stream is
//!    [`GarbledEvalError::Truncated`]; a trailer that does not match (a stream for
//!    another circuit, misframed, corrupted) is [`GarbledEvalError::BadTrailer`] or
//!    [`GarbledEvalError::Corrupt`]. The checksum catches accidental corruption
//!    (e.g. any single corrupted table block); it is not a MAC.
//!
//! # Tweaks
//!
//! AND gate `g` of a run (`g = first_and + k` for its `k`-th AND gate)
//! hashes under the tweaks `2g` and `2g + 1` with half-gates (see
//! `half_gates.rs` and the fused kernels of `crate::simd`), `3g`, `3g + 1`
//! and `3g + 2` with three-halves, computed in `u64` and used as the low
//! 64 bits of a block. Two gates garbled under one Δ with the same
//! tweak would leak Δ, so a run whose indices would pass
//! [`AND_INDEX_LIMIT`] (2^62) is refused before anything is garbled or
//! evaluated ([`GarbleError::TweakRange`], [`GarbledEvalError::TweakRange`]).
//! Below it every tweak (with the kernels' padding gates) is below 2^63 + 64
//! (three-halves: below 3·2^62):
//! no `u64` arithmetic on tweaks can wrap, distinct gates get distinct
//! tweaks, and none meets the OT's tweaks `2^127 + j`
//! (`ot/extension.rs`).
//!
//! # Files
//!
//! One job per file, in dependency order (each file imports only from the
//! ones above it):
//!
//! * `error.rs` — the errors; `stream.rs` — trailer, checksum and the AND
//!   index limit; `ops.rs` — the plan IR ([`Op`], `Op4`, segments and
//!   windows).
//! * `labels.rs` — [`ActiveLabel`], [`Encoder`], [`GarbledOutputs`],
//!   [`OutputDecoder`]; `source.rs` — [`GateSource`], [`Repeated`] and the
//!   gate check.
//! * `scheme.rs` — the [`GarblingScheme`] trait; `half_gates.rs` —
//!   [`HalfGates`] (its fused kernels are in `crate::simd`).
//! * `schedule/` — [`Plan`]: the window compiler, XOR folding, liveness.
//! * `run.rs` — a run's buffers and the free-gate loop, shared by
//!   `garbler.rs` ([`Garbler`]) and `evaluator.rs` ([`Evaluator`]).
//! * `workloads.rs` — generated circuits for benchmarks (not public:
//!   reached through `crate::internal`).
//!
//! Only the items re-exported here are public; the files are private.

mod error;
mod evaluator;
mod garbler;
pub(crate) mod gen_half;
pub(crate) mod half_gates;
mod labels;
pub(crate) mod ops;
mod run;
pub(crate) mod schedule;
pub(crate) mod scheme;
pub(crate) mod source;
pub(crate) mod stream;
pub(crate) mod three_halves;
pub(crate) mod workloads;

pub use error::{GarbleError, GarbledEvalError, OutputDecodeError, PlanError};
pub use evaluator::{evaluate_many, Evaluator};
pub use garbler::{garble_many, Garbler};
pub use gen_half::{KnownValues, KnownWires};
pub use half_gates::HalfGates;
pub use labels::{ActiveLabel, Encoder, GarbledOutputs, OutputDecoder};
pub use ops::Op;
pub use schedule::{Plan, DEFAULT_WINDOW_GATES};
pub use scheme::{GarbleKey, GarblingScheme};
pub use source::{eval_plain, GateSource, Repeated};
pub use stream::AND_INDEX_LIMIT;
pub use three_halves::ThreeHalves;

pub(crate) use run::input_label_room;
