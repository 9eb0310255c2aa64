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
//!   Yao's protocol with half-gates over one connection. Secure against a
//!   *malicious evaluator*: its inputs arrive by OT extension with the
//!   revised KOS consistency check (or one Chou–Orlandi OT per bit for
//!   fewer than [`EXTENSION_THRESHOLD`] bits), and outputs for the garbler
//!   come back as labels the garbler verifies, so a forged output is
//!   detected (the evaluator cannot make the other label without Δ). The
//!   garbler is trusted to garble the agreed program.
//! * **`dualex`** ([`SecurityMode::DualExecution`]): dual execution over two
//!   connections, secure against a malicious garbler and evaluator up to
//!   one leaked bit ([`dualex`] has the construction).
//!
//! # Message order of one direction (G = garbler, E = evaluator)
//!
//! 1. **Hello** ([`hello`]), both ways at once: protocol version, role,
//!    garbling scheme, security mode, OT extension, session nonce, the
//!    blake3 digest of the circuit, each input's name, owner and width,
//!    each output's name, visibility and width. A mismatch stops both sides
//!    with a message naming what differs, before any input is used.
//! 2. **OT** (only if E has input bits), [`steps::ot_send_labels`].
//! 3. G → E: the active labels of G's input bits.
//! 4. G → E: the garbled circuit, streamed (32 bytes per AND), then the
//!    decoding bits of the outputs E may learn (and only those).
//! 5. `semi-honest`: E → G the active labels of the outputs G may learn,
//!    which G checks; G → E done. `dualex`: the equality check.
//!
//! Every count is known from the circuit both sides hold; every length read
//! from the peer is bounded before anything is allocated for it; any
//! unexpected tag is [`SessionError::UnexpectedMessage`].
//!
//! # Layout
//!
//! [`program`] (what is run), [`inputs`] (one party's values), [`hello`]
//! (the codec), [`wire`] (tags and table streaming), [`steps`] (the
//! role-neutral phases), then one file per mode and role:
//! `semi_honest/{garbler,evaluator}.rs` and `dualex/`.

mod config;
pub(crate) mod dualex;
mod error;
pub mod hello;
mod inputs;
pub mod program;
mod semi_honest;
pub(crate) mod steps;
mod wire;

#[cfg(test)]
mod attacks;
#[cfg(test)]
mod tests;

pub use config::{
    OtChoice, Phase, PhaseEntry, PhaseObserver, ProgressObserver, RandomSource, SecurityMode, SessionConfig,
    EXTENSION_THRESHOLD,
};
pub use error::{escape, Fault, InputError, LinkFailure, ProgramMismatch, SessionError};
pub use hello::{fuzz_hello, PROTOCOL_VERSION, SCHEME_HALF_GATES};
pub use inputs::PartyInputs;
pub use program::{InputDesc, OutputDesc, SessionProgram};
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
        self.run_semi_honest(role, ch, program, inputs, Some(&mut |n| self.report(n)))
    }

    fn run_semi_honest<T: Read + Write>(
        &self,
        role: Party,
        ch: &mut Channel<T>,
        program: &SessionProgram<'_>,
        inputs: &PartyInputs,
        progress: Option<Progress<'_>>,
    ) -> Result<SessionOutcome, SessionError> {
        if self.security != SecurityMode::SemiHonestGarbler {
            return Err(SessionError::Config(
                "dual execution runs over two channels: call run_dual_execution",
            ));
        }
        match role {
            Party::Garbler => semi_honest::garbler::run(ch, self, program, inputs, progress),
            Party::Evaluator => semi_honest::evaluator::run(ch, self, program, inputs, progress),
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
    SessionConfig::new().run_semi_honest(Party::Garbler, ch, program, inputs, progress)
}

/// Runs the evaluator's side of a `semi-honest` session on `ch`.
pub fn run_evaluator_program<T: Read + Write>(
    ch: &mut Channel<T>,
    program: &SessionProgram<'_>,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    SessionConfig::new().run_semi_honest(Party::Evaluator, ch, program, inputs, progress)
}
