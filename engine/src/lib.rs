//! garblet-engine: the two-party engine. Half-gates garbling under fixed-key
//! AES, oblivious transfer, and the channels both run over.
#![forbid(unsafe_code)]

pub use garblet_circuits as circuits;

pub mod block;
pub mod channel;
pub mod garble;
pub mod hash;
pub mod net;
pub mod ot;
pub mod prg;
pub mod session;
