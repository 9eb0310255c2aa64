//! garblet: two-party computation with garbled circuits.
//!
//! This facade re-exports the three crates garblet is made of:
//! [`circuits`] (the Boolean circuit IR, builder, Bristol Fashion),
//! [`compiler`] (the language), and [`engine`] (garbling, OT, channels).
#![forbid(unsafe_code)]

pub use garblet_circuits as circuits;
pub use garblet_compiler as compiler;
pub use garblet_engine as engine;

pub use garblet_circuits::{Builder, Circuit, Party, Visibility};
