//! garblet-circuits: the Boolean circuit IR every other part of garblet
//! stands on.
//!
//! - [`Circuit`]: a validated, flat list of XOR/AND/INV gates over `u32`
//!   wires, with named inputs owned by a [`Party`] and named outputs with a
//!   [`Visibility`]; its canonical encoding and blake3 [`CircuitDigest`]
//!   (the two parties compare it before a run).
//! - [`Builder`]: emits gates with constant folding and structural hashing,
//!   and the AND-optimal gadgets of [`gadgets`] (add, compare, multiply,
//!   divide, shift, popcount, …) on bit vectors of any width.
//! - [`opt`]: optimisation passes that never add an AND gate.
//! - Plaintext evaluation ([`Circuit::eval_sliced`]: 64 evaluations per pass)
//!   and [`Stats`].
//! - [`looped`]: a [`LoopedCircuit`], a body repeated over the records of
//!   an input, generated gate by gate (a long loop is never unrolled).
//! - [`bristol`]: Bristol Fashion in and out.
//!
//! ```
//! use garblet_circuits::{Builder, Party, Sign, Visibility};
//!
//! let mut b = Builder::new();
//! let x = b.input("x", Party::Garbler, 32).unwrap();
//! let y = b.input("y", Party::Evaluator, 32).unwrap();
//! let product = b.mul(&x, &y);
//! b.output("product", Visibility::Both, product).unwrap();
//! let circuit = garblet_circuits::opt::optimize(&b.finish().unwrap());
//!
//! assert_eq!(circuit.eval_u128(&[6, 7]).unwrap(), vec![42]);
//! assert_eq!(circuit.stats().and, 993);
//! ```
#![forbid(unsafe_code)]

pub mod bristol;
pub mod builder;
pub mod canonical;
pub mod circuit;
pub mod compose;
pub mod eval;
pub mod gadgets;
pub mod gate_file;
pub mod looped;
pub mod opt;
pub mod stats;
mod strash;

pub use builder::{Bits, BuildError, Builder, BuilderOptions, LoopSpan};
pub use canonical::{CircuitDigest, DecodeError};
pub use circuit::{
    Circuit, CircuitError, Gate, GateKind, Input, InputSpec, Output, Party, Visibility, WireId,
};
pub use eval::{bits_to_u128, u128_to_bits, EvalError};
pub use gadgets::{Columns, Shift, Sign};
pub use gate_file::GateFile;
pub use looped::{Loop, LoopError, LoopedCircuit};
pub use stats::Stats;
