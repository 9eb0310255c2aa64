//! garblet-engine: the two-party engine. Three-halves (the default) and
//! half-gates garbling under fixed-key AES, oblivious transfer, dual
//! execution, and the channels and transports all of it runs over.
//!
//! # The API
//!
//! Most embedders need only [`session`]: [`session::run_garbler`] and
//! [`session::run_evaluator`] run one party of the whole protocol over a
//! [`channel::Channel`], and [`net`] opens that channel between two hosts
//! (TCP, then TLS 1.3 with pinned fingerprints). Protocol engineers who
//! build their own protocol on garblet's parts use [`garble`] (garbler,
//! evaluator, plan, label types) and [`ot`] (base OT and OT extension),
//! with [`Block`], [`Prg`] and [`Delta`] at the root.
//!
//! Everything else is private: the window compiler, the fused VAES kernels,
//! the hash, the transposition, the hello codec. [`internal`] re-exports the
//! few of those that the benchmarks and fuzzers drive directly; it is not
//! part of the API and may change in any release.
#![deny(unsafe_code)] // allowed in `simd` only (VAES / CLMUL kernels); see its module docs

pub use garblet_circuits as circuits;

mod block;
pub mod channel;
pub mod garble;
mod hash;
pub mod net;
pub mod ot;
mod packed_bits;
mod prg;
pub mod session;
mod simd;

pub use block::Block;
pub use prg::{Delta, EntropyError, GateSeed, Prg};

/// Not part of the API: the internals that garblet's own benchmarks,
/// fuzz targets and CLI `bench` drive directly. Semver does not cover it.
#[doc(hidden)]
pub mod internal {
    /// Generated circuits for benchmarks.
    pub mod workloads {
        pub use crate::garble::workloads::*;
    }
    pub use crate::hash::{FixedKeyAes, Tmmo, TweakableHash};
    pub use crate::ot::transpose::{transpose_128x128, transpose_columns};
    pub use crate::session::hello::fuzz_hello;
    pub use crate::session::refusal::fuzz_refusal;
}
