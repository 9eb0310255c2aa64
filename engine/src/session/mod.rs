//! The two-party session protocol: what the garbler and the evaluator send
//! each other, in which order, and what each learns. `docs/PROTOCOL.md` is
//! the long form and `docs/SECURITY.md` the threat model; this is the code.
//!
//! # Modes
//!
//! A [`SessionConfig`] names the [`SecurityMode`]; both parties must agree
//! (it is in the hello):
//!
//! * **`semi-honest`** ([`SecurityMode::SemiHonestGarbler`], the default):
//!   Yao's protocol over one connection (three-halves garbling by default,
//!   half-gates on request: [`SchemeChoice`]). Secure against a
//!   *malicious evaluator*: its inputs arrive by OT extension with the
//!   revised KOS consistency check (or one Masny–Rindal OT per bit for
//!   fewer than [`EXTENSION_THRESHOLD`] bits), and outputs for the garbler
//!   come back as colour bits with a hash of their labels, which the
//!   garbler verifies, so a forged output is detected (the evaluator cannot
//!   hash the other label without Δ; `returned_outputs.rs`). The garbler is
//!   trusted to garble the agreed program.
//! * **`dualex`** ([`SecurityMode::DualExecution`]): dual execution over two
//!   connections, secure against a malicious garbler and evaluator up to
//!   one leaked bit (`dualex/mod.rs` has the construction).
//!
//! # Messages
//!
//! The message table (what each party sends, in which order, with which
//! tags and sizes) is kept in one place, `docs/PROTOCOL.md`, so that it
//! cannot drift from a copy here; `wire.rs` holds the tags. In short: the
//! hello both ways (a mismatch stops both sides before any input is used),
//! OT for the evaluator's input bits, the garbler's input labels, the
//! garbled tables streamed, the output decoding bits, then the garbler's
//! outputs back as colour bits and a label hash (`semi-honest`) or the
//! equality check (`dualex`).
//!
//! Every count is known from the circuit both sides hold; every length read
//! from the peer is bounded before anything is allocated for it; any
//! unexpected tag is [`SessionError::UnexpectedMessage`].
//!
//! # Layout
//!
//! `program.rs` ([`SessionProgram`]: what is run), `inputs.rs`
//! ([`PartyInputs`]: one party's values), `hello.rs` (the codec),
//! `wire.rs` (tags and table streaming), `steps.rs` (the role-neutral
//! phases), `returned_outputs.rs` (the garbler's outputs, returned by the
//! evaluator and checked), `responder.rs` and `refusal.rs` (a service that reads the
//! peer's hello first, then answers with its own or refuses), then one
//! file per mode and role: `semi_honest/{garbler,evaluator}.rs`
//! and `dualex/`. The files are private; the items re-exported here are the
//! API.

mod config;
pub(crate) mod dualex;
mod error;
pub(crate) mod hello;
mod inputs;
mod program;
pub(crate) mod refusal;
mod responder;
mod returned_outputs;
mod semi_honest;
pub(crate) mod steps;
mod wire;

#[cfg(test)]
mod attacks;
#[cfg(test)]
mod tests;

pub use config::{
    OtChoice, Phase, PhaseEntry, PhaseObserver, ProgressObserver, RandomSource, ReleaseGate, SchemeChoice,
    SecurityMode, SessionConfig, EXTENSION_THRESHOLD,
};
pub use error::{escape, Fault, InputError, LinkFailure, ProgramMismatch, SessionError};
pub use hello::{PROTOCOL_VERSION, SCHEME_HALF_GATES, SCHEME_THREE_HALVES};
pub use inputs::PartyInputs;
pub use program::{InputDesc, OutputDesc, SessionProgram};
pub use refusal::{refuse, MAX_REASON_BYTES};
pub use responder::PeerHello;
pub use wire::Progress;

use crate::channel::Channel;
use garblet_circuits::{Circuit, Party};
use std::io::{Read, Write};
use std::time::Instant;

/// What a finished session reports.
#[derive(Clone, Debug)]
pub struct SessionOutcome {
    /// The outputs revealed to this party, by name, least significant bit first.
    pub outputs: Vec<(String, Vec<bool>)>,
    /// AND gates garbled (per direction).
    pub and_gates: u64,
    /// Bytes this party sent (over both connections in dual execution).
    pub bytes_sent: u64,
    /// Bytes this party received.
    pub bytes_received: u64,
    /// Wall time from the hello to the end.
    pub seconds: f64,
    /// The security mode the run used.
    pub security: SecurityMode,
}

impl SessionOutcome {
    fn new<T: Read + Write>(
        program: &SessionProgram<'_>,
        decoded: steps::Decoded,
        ch: &Channel<T>,
        start: Instant,
    ) -> SessionOutcome {
        SessionOutcome {
            outputs: decoded.into_iter().map(|(k, bits)| (program.outputs()[k].name.clone(), bits)).collect(),
            and_gates: program.and_count(),
            bytes_sent: ch.bytes_sent(),
            bytes_received: ch.bytes_received(),
            seconds: start.elapsed().as_secs_f64(),
            security: SecurityMode::SemiHonestGarbler,
        }
    }
}

impl SessionConfig {
    /// Runs this party's side of a `semi-honest` session on `ch`.
    ///
    /// In [`SecurityMode::DualExecution`] this is a
    /// [`SessionError::Config`] error: dual execution needs two channels
    /// ([`SessionConfig::run_dual_execution`]).
    pub fn run<T: Read + Write>(
        &self,
        role: Party,
        ch: &mut Channel<T>,
        program: &SessionProgram<'_>,
        inputs: &PartyInputs,
    ) -> Result<SessionOutcome, SessionError> {
        self.run_semi_honest(role, ch, program, inputs, Some(&mut |n| self.report(n)), None)
    }

    fn run_semi_honest<T: Read + Write>(
        &self,
        role: Party,
        ch: &mut Channel<T>,
        program: &SessionProgram<'_>,
        inputs: &PartyInputs,
        progress: Option<Progress<'_>>,
        read_first: Option<hello::Hello>,
    ) -> Result<SessionOutcome, SessionError> {
        if self.security != SecurityMode::SemiHonestGarbler {
            return Err(SessionError::Config(
                "dual execution runs over two channels: call run_dual_execution",
            ));
        }
        match role {
            Party::Garbler => semi_honest::garbler::run(ch, self, program, inputs, progress, read_first),
            Party::Evaluator => semi_honest::evaluator::run(ch, self, program, inputs, progress, read_first),
        }
    }

    /// Runs this party's side of a `dualex` session. `primary` carries the
    /// direction in which this party has `role`; once the hellos on it
    /// agree, `open_secondary` is called for the second connection, which
    /// carries the direction with the roles swapped (the connector connects
    /// again, the listener accepts again). The two directions run at once,
    /// one thread each. For a program with outputs meant for one party,
    /// build it with [`SessionProgram::for_dual_execution`].
    pub fn run_dual_execution<A, B>(
        &self,
        role: Party,
        primary: &mut Channel<A>,
        open_secondary: impl FnOnce() -> std::io::Result<B>,
        program: &SessionProgram<'_>,
        inputs: &PartyInputs,
    ) -> Result<SessionOutcome, SessionError>
    where
        A: Read + Write + Send,
        B: Read + Write + Send,
    {
        if self.security != SecurityMode::DualExecution {
            return Err(SessionError::Config("run_dual_execution needs SecurityMode::DualExecution"));
        }
        let mut outcome = dualex::run(primary, open_secondary, role, self, program, inputs)?;
        outcome.security = SecurityMode::DualExecution;
        Ok(outcome)
    }
}

/// Runs the garbler's side of a `semi-honest` session on `ch` for a
/// materialised circuit, with the default [`SessionConfig`].
pub fn run_garbler<T: Read + Write>(
    ch: &mut Channel<T>,
    circuit: &Circuit,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    run_garbler_program(ch, &SessionProgram::from_circuit(circuit)?, inputs, progress)
}

/// Runs the evaluator's side of a `semi-honest` session on `ch` for a
/// materialised circuit, with the default [`SessionConfig`].
pub fn run_evaluator<T: Read + Write>(
    ch: &mut Channel<T>,
    circuit: &Circuit,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    run_evaluator_program(ch, &SessionProgram::from_circuit(circuit)?, inputs, progress)
}

/// Runs the garbler's side of a `semi-honest` session on `ch`.
pub fn run_garbler_program<T: Read + Write>(
    ch: &mut Channel<T>,
    program: &SessionProgram<'_>,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    SessionConfig::new().run_semi_honest(Party::Garbler, ch, program, inputs, progress, None)
}

/// Runs the evaluator's side of a `semi-honest` session on `ch`.
pub fn run_evaluator_program<T: Read + Write>(
    ch: &mut Channel<T>,
    program: &SessionProgram<'_>,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    SessionConfig::new().run_semi_honest(Party::Evaluator, ch, program, inputs, progress, None)
}
