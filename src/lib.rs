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
//! # From source to a session
//!
//! [`compile`] turns a program in the garblet language into a circuit and
//! its typed parameters; [`session_program`] makes of it the
//! [`SessionProgram`] both parties run (its looped circuit when a loop
//! streams, with the names, widths and terms the hello compares),
//! [`SessionConfig`] sets the security mode, and [`run_garbler_program`] /
//! [`run_evaluator_program`] run it.
//!
//! ```
//! use garblet::{compile, memory_pair, session_program, Channel, Party, PartyInputs, SessionConfig};
//!
//! let source = "fn main(#[garbler] a: u32, #[evaluator] b: u32) -> u32 { a * b + 7 }";
//! let program = compile(source, "product.gbl").map_err(|e| e.render_plain(source, "product.gbl"))?;
//! let session = session_program(&program)?;
//! // Inputs are encoded by type, as `garblet run --input` does.
//! let a = program.params[0].ty.encode(&serde_json::json!(6_000)).unwrap();
//! let b = program.params[1].ty.encode(&serde_json::json!(7_000)).unwrap();
//!
//! let config = SessionConfig::new(); // semi-honest; `with_security` for dualex
//! let (g_end, e_end) = memory_pair();
//! let (g, e) = std::thread::scope(|s| {
//!     let garbler = s.spawn(|| {
//!         let inputs = PartyInputs::new([("a".to_string(), a)]);
//!         config.run(Party::Garbler, &mut Channel::new(g_end), &session, &inputs)
//!     });
//!     let inputs = PartyInputs::new([("b".to_string(), b)]);
//!     let e = config.run(Party::Evaluator, &mut Channel::new(e_end), &session, &inputs);
//!     (garbler.join().unwrap(), e)
//! });
//! let (g, e) = (g?, e?);
//! assert_eq!(g.outputs, e.outputs);
//! assert_eq!(program.result.decode(&e.outputs[0].1), serde_json::json!(42_000_007));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Between two hosts, [`net`] opens the TCP connection and secures it with
//! TLS 1.3 and pinned certificate fingerprints; `garblet run` is that plus
//! argument parsing. Each party keeps an [`net::Identity`] (`generate`,
//! `save`, `load`) and pins the peer's [`net::Fingerprint`]; the listener's
//! side:
//!
//! ```no_run
//! use std::time::Duration;
//! use garblet::net::{self, Fingerprint, Identity, PinnedTls, Side, TcpOptions};
//! use garblet::{compile, session_program, Channel, Party, PartyInputs, SessionConfig};
//!
//! let ours = Identity::load("ids/garbler".as_ref())?;
//! let theirs: Fingerprint = "…the evaluator's 64 hex digits…".parse()?;
//! let options = TcpOptions { connect_timeout: Duration::from_secs(30), io_timeout: Duration::from_secs(30) };
//! let tcp = net::accept(&net::listen("0.0.0.0:7000")?, &options)?; // the other side: net::connect
//! let tls = PinnedTls::new(&ours, theirs)?.secure(tcp, Side::Listener, options.io_timeout)?;
//! let source = "fn main(#[garbler] a: u64, #[evaluator] b: u64) -> bool { a > b }";
//! let program = compile(source, "richer.gbl").map_err(|e| e.render_plain(source, "richer.gbl"))?;
//! let a = program.params[0].ty.encode(&serde_json::json!(5_000_000)).unwrap();
//! let inputs = PartyInputs::new([("a".to_string(), a)]);
//! let outcome = SessionConfig::new().run(Party::Garbler, &mut Channel::new(tls), &session_program(&program)?, &inputs)?;
//! println!("{}", program.result.decode(&outcome.outputs[0].1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`net::PinnedTls`] secures TCP streams ([`net::TimedStream`], which
//! bounds every read and write); over a transport of your own, bring its
//! authentication and encryption, and pass it to [`Channel::new`].
//!
//! # What is public
//!
//! The facade re-exports what an embedder needs; [`engine`] documents the
//! parts a protocol engineer builds on ([`engine::garble`], [`engine::ot`]).
//! Everything else in the crates is private, and the engine's
//! `#[doc(hidden)] internal` module (for garblet's own benchmarks and fuzz
//! targets) is not covered by semver.
#![forbid(unsafe_code)]

pub use garblet_circuits as circuits;
pub use garblet_compiler as compiler;
pub use garblet_engine as engine;

pub use garblet_circuits::{bits_to_u128, u128_to_bits};
pub use garblet_circuits::{Builder, Circuit, Party, Visibility};
pub use garblet_compiler::{compile, Diagnostics, Program};
pub use garblet_engine::channel::ChannelError;
pub use garblet_engine::channel::{memory_pair, Channel, MemoryChannel};
pub use garblet_engine::net;
pub use garblet_engine::session::{
    run_evaluator, run_evaluator_program, run_garbler, run_garbler_program, Fault, LinkFailure, OtChoice,
    PartyInputs, Phase, ProgramMismatch, SchemeChoice, SecurityMode, SessionConfig, SessionError,
    SessionOutcome, SessionProgram,
};
/// The JSON values [`compiler::Type::encode`] takes and `decode` gives, so
/// that an embedder's `serde_json` is the same crate as garblet's.
pub use serde_json;

/// What both parties run for a compiled `program` in `semi-honest` mode,
/// as `garblet run` runs it: the looped circuit when a loop streams
/// ([`Program::looped`]; the program's `circuit` is then its interface
/// only, and running it would give a wrong result), the circuit otherwise,
/// with the program's terms bound ([`Program::session_terms`]: constants
/// set from outside and the cohort rule, which the hello compares).
pub fn session_program(program: &Program) -> Result<SessionProgram<'_>, SessionError> {
    let session = match &program.looped {
        Some(looped) => SessionProgram::looped(looped)?,
        None => SessionProgram::from_circuit(&program.circuit)?,
    };
    Ok(session.with_terms(&program.session_terms()))
}

/// [`session_program`] for `dualex` (dual execution), whose private
/// outputs are masked inside the circuit.
pub fn dual_execution_program(program: &Program) -> Result<SessionProgram<'static>, SessionError> {
    let session = match &program.looped {
        Some(looped) => SessionProgram::looped_for_dual_execution(looped)?,
        None => SessionProgram::for_dual_execution(&program.circuit)?,
    };
    Ok(session.with_terms(&program.session_terms()))
}
