//! garblet: two-party computation with garbled circuits.
//!
//! Two parties, the **garbler** and the **evaluator**, compute a function of
//! their private inputs; each learns only the outputs the circuit reveals to
//! it. Two security modes (`docs/SECURITY.md`): `semi-honest`, secure
//! against a malicious evaluator with a trusted garbler, and `dualex`
//! (dual execution), secure against both up to one leaked bit — chosen with
//! [`engine::session::SessionConfig`].
//!
//! The facade re-exports the three crates garblet is made of —
//! [`circuits`] (the Boolean circuit IR, builder, Bristol Fashion),
//! [`compiler`] (the language) and [`engine`] (garbling, OT, channels,
//! TLS, the session protocol) — and puts the few calls most embedders need
//! at the top level.
//!
//! # Running both parties
//!
//! Build or load a circuit, open a channel (any `Read + Write`: a TCP or TLS
//! stream, or the in-memory pair used here), and run one side per party:
//!
//! ```
//! use garblet::circuits::{opt, Builder, Party, Sign, Visibility};
//! use garblet::{memory_pair, run_evaluator, run_garbler, Channel, PartyInputs};
//!
//! // The program: is alice richer than bob?
//! let mut b = Builder::new();
//! let alice = b.input("alice", Party::Garbler, 64)?;
//! let bob = b.input("bob", Party::Evaluator, 64)?;
//! let richer = b.gt(&alice, &bob, Sign::Unsigned);
//! b.output("alice_is_richer", Visibility::Both, vec![richer])?;
//! let circuit = opt::optimize(&b.finish()?);
//!
//! let bits = |v: u64| (0..64).map(|k| (v >> k) & 1 == 1).collect::<Vec<bool>>();
//! let (garbler_end, evaluator_end) = memory_pair();
//! let garbler_circuit = circuit.clone();
//! let garbler = std::thread::spawn(move || {
//!     let mut ch = Channel::new(garbler_end);
//!     let inputs = PartyInputs::new([("alice".to_string(), bits(5_000_000))]);
//!     run_garbler(&mut ch, &garbler_circuit, &inputs, None)
//! });
//! let mut ch = Channel::new(evaluator_end);
//! let inputs = PartyInputs::new([("bob".to_string(), bits(4_200_000))]);
//! let evaluator = run_evaluator(&mut ch, &circuit, &inputs, None)?;
//! let garbler = garbler.join().unwrap()?;
//!
//! assert_eq!(evaluator.outputs, vec![("alice_is_richer".to_string(), vec![true])]);
//! assert_eq!(garbler.outputs, evaluator.outputs);
//! assert_eq!(evaluator.and_gates, 64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Between two hosts, [`engine::net`] opens the TCP connection and secures it
//! with TLS 1.3 and pinned certificate fingerprints; `garblet run` is that
//! plus argument parsing.
#![forbid(unsafe_code)]

pub use garblet_circuits as circuits;
pub use garblet_compiler as compiler;
pub use garblet_engine as engine;

pub use garblet_circuits::{Builder, Circuit, Party, Visibility};
pub use garblet_engine::channel::{memory_pair, Channel, MemoryChannel};
pub use garblet_engine::session::{run_evaluator, run_garbler, PartyInputs, SessionError, SessionOutcome};
