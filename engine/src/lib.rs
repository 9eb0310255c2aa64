//! garblet-engine: the two-party engine. Half-gates garbling under fixed-key
//! AES, oblivious transfer, and the channels both run over.
#![deny(unsafe_code)] // allowed in `simd` only (VAES / CLMUL kernels); see its module docs

pub use garblet_circuits as circuits;

pub mod block;
pub mod channel;
pub mod garble;
pub mod hash;
pub mod net;
pub mod ot;
pub mod prg;
pub mod session;
mod simd;
