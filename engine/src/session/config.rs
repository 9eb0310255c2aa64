//! How a session runs: one reusable [`SessionConfig`] (in the manner of
//! rustls's `ClientConfig`), shared by every run it drives.

use crate::block::Block;
use crate::channel::Channel;
use crate::prg::Prg;
use std::fmt;
use std::sync::Arc;

/// From this many evaluator input bits on, OT extension (128 base OTs, then
/// 4 bytes per bit with SoftSpokenOT, 16 with IKNP, plus the consistency
/// check); below it, one base OT per bit is cheaper.
pub const EXTENSION_THRESHOLD: usize = 128;

/// What the session protects against. Both sides must choose the same
/// mode: it is in the hello, and a mismatch stops the run before any input
/// is used.
///
/// `docs/SECURITY.md` has the full threat model of each mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecurityMode {
    /// `semi-honest` on the command line: Yao's protocol with
    /// maliciously-secure OT. Secure against a **malicious evaluator**
    /// (checked OT extension, garbler outputs returned as labels it
    /// verifies); the garbler is trusted to garble the agreed program.
    #[default]
    SemiHonestGarbler,
    /// `dualex`: dual execution (Huang–Katz–Evans, IEEE S&P 2012). Each
    /// party garbles once and evaluates the other's circuit, both runs with
    /// checked OT, then a commit-then-open equality check on the output
    /// labels. Secure against a malicious garbler *and* evaluator, except
    /// that a cheater learns at most one bit beyond the output (the check's
    /// verdict); the honest party never accepts a wrong output.
    DualExecution,
}

impl SecurityMode {
    /// The name used on the command line and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityMode::SemiHonestGarbler => "semi-honest",
            SecurityMode::DualExecution => "dualex",
        }
    }

    /// Parses [`SecurityMode::as_str`].
    pub fn parse(s: &str) -> Option<SecurityMode> {
        match s {
            "semi-honest" => Some(SecurityMode::SemiHonestGarbler),
            "dualex" => Some(SecurityMode::DualExecution),
            _ => None,
        }
    }

    pub(crate) fn to_byte(self) -> u8 {
        match self {
            SecurityMode::SemiHonestGarbler => 1,
            SecurityMode::DualExecution => 2,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<SecurityMode> {
        match b {
            1 => Some(SecurityMode::SemiHonestGarbler),
            2 => Some(SecurityMode::DualExecution),
            _ => None,
        }
    }
}

impl fmt::Display for SecurityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The OT extension that delivers the evaluator's input labels. Both
/// sides must choose the same: it is the hello's OT byte, and a mismatch
/// stops the run before any input is used. Every choice is secure against
/// a malicious receiver: an unchecked extension lets the evaluator recover
/// Δ, so none is offered to the session.
///
/// SoftSpokenOT is the default: 4 bytes per evaluator input bit instead of
/// IKNP's 16, for twice to four times the AES work per OT (the link, not
/// the CPU, is usually the limit; `BENCHMARKS.md` has both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OtChoice {
    /// `iknp`: IKNP/ALSZ with the revised KOS consistency check
    /// (`ot/extension.rs`, `ot/check.rs`); 16 bytes per OT. OT byte 1.
    KosChecked,
    /// `softspoken`: SoftSpokenOT with `K = 4` (Roy, Crypto 2022, ePrint
    /// 2022/192) and the same consistency check (`ot/softspoken/`); 4 bytes
    /// per OT. OT byte 2.
    #[default]
    SoftSpoken,
}

impl OtChoice {
    /// The name used on the command line and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            OtChoice::KosChecked => "iknp",
            OtChoice::SoftSpoken => "softspoken",
        }
    }

    /// Parses [`OtChoice::as_str`].
    pub fn parse(s: &str) -> Option<OtChoice> {
        match s {
            "iknp" => Some(OtChoice::KosChecked),
            "softspoken" => Some(OtChoice::SoftSpoken),
            _ => None,
        }
    }

    pub(crate) fn to_byte(self) -> u8 {
        match self {
            OtChoice::KosChecked => 1,
            OtChoice::SoftSpoken => 2,
        }
    }

    /// The extension of a hello's OT byte, if this implementation knows it.
    pub fn from_byte(b: u8) -> Option<OtChoice> {
        match b {
            1 => Some(OtChoice::KosChecked),
            2 => Some(OtChoice::SoftSpoken),
            _ => None,
        }
    }
}

impl fmt::Display for OtChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The garbling scheme. Both sides must choose the same: it is the hello's
/// scheme byte, and a mismatch stops the run before any input is used.
///
/// Three-halves is the default: it sends 24.6 bytes per AND gate instead of
/// 32 (23 % less), and a link between two hosts (rarely above 10 Gbit/s)
/// is what bounds a session's speed; half-gates hashes less (4 AES-based
/// hashes per AND to garble, 2 to evaluate, against 6 and 3), so it is the
/// choice when both parties share a fast link and CPU is the limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SchemeChoice {
    /// `half-gates`: Zahur, Rosulek, Evans (Eurocrypt 2015); 32 bytes per
    /// AND. Scheme byte 1.
    HalfGates,
    /// `three-halves`: Rosulek, Roy (Crypto 2021, ePrint 2021/749);
    /// 1.5κ + 5 bits, at most 25 bytes per AND (197 bytes per 8). Scheme
    /// byte 2.
    #[default]
    ThreeHalves,
}

impl SchemeChoice {
    /// The name used on the command line and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemeChoice::HalfGates => "half-gates",
            SchemeChoice::ThreeHalves => "three-halves",
        }
    }

    /// Parses [`SchemeChoice::as_str`].
    pub fn parse(s: &str) -> Option<SchemeChoice> {
        match s {
            "half-gates" => Some(SchemeChoice::HalfGates),
            "three-halves" => Some(SchemeChoice::ThreeHalves),
            _ => None,
        }
    }

    /// The hello's scheme byte ([`SCHEME_HALF_GATES`], [`SCHEME_THREE_HALVES`]).
    ///
    /// [`SCHEME_HALF_GATES`]: super::SCHEME_HALF_GATES
    /// [`SCHEME_THREE_HALVES`]: super::SCHEME_THREE_HALVES
    pub fn to_byte(self) -> u8 {
        match self {
            SchemeChoice::HalfGates => super::hello::SCHEME_HALF_GATES,
            SchemeChoice::ThreeHalves => super::hello::SCHEME_THREE_HALVES,
        }
    }

    /// The scheme of a hello's scheme byte, if this implementation knows it.
    pub fn from_byte(b: u8) -> Option<SchemeChoice> {
        match b {
            super::hello::SCHEME_HALF_GATES => Some(SchemeChoice::HalfGates),
            super::hello::SCHEME_THREE_HALVES => Some(SchemeChoice::ThreeHalves),
            _ => None,
        }
    }
}

impl fmt::Display for SchemeChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the session's randomness (Δ, labels, OT secrets) comes from.
#[derive(Clone, Default)]
pub enum RandomSource {
    /// Operating-system entropy, fresh for every run. The only choice for
    /// real runs.
    #[default]
    OsEntropy,
    /// A fixed seed: every run repeats the same transcript. **Insecure**;
    /// for reproducible tests and transcript comparisons only.
    InsecureFixedSeed(Block),
}

impl fmt::Debug for RandomSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RandomSource::OsEntropy => f.write_str("OsEntropy"),
            // The seed is a secret of the run: never printed.
            RandomSource::InsecureFixedSeed(_) => f.write_str("InsecureFixedSeed(..)"),
        }
    }
}

/// Observes progress: called with the number of AND gates this party has
/// garbled or evaluated so far (from any of the session's threads).
pub type ProgressObserver = Arc<dyn Fn(u64) + Send + Sync>;

/// The phases of a run, in order, as [`SessionConfig::with_phases`] reports
/// them: what a run was doing when it failed, for messages, audit logs and
/// fault-injection tests. Dual execution runs the middle phases once per
/// direction, on two connections at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// The hellos: versions, program shapes and digests, security mode.
    Hello,
    /// The base oblivious transfers: 128 Chou–Orlandi OTs to seed the
    /// extension, or one Masny–Rindal OT per evaluator input bit below the
    /// threshold.
    BaseOt,
    /// The OT extension (IKNP/ALSZ) and its KOS consistency check.
    OtExtension,
    /// The garbler's input labels.
    GarblerInputs,
    /// The garbled tables, streamed.
    Tables,
    /// The decoding bits of the outputs the evaluator learns.
    Decoding,
    /// The outputs the garbler learns, returned by the evaluator (their
    /// colour bits and a hash of their labels).
    OutputLabels,
    /// Dual execution's equality check.
    EqualityCheck,
    /// The garbler's final acknowledgement.
    Finish,
}

impl Phase {
    /// A short name (`hello`, `base_ot`, `ot_extension`, `garbler_inputs`, `tables`, `decoding`,
    /// `output_labels`, `equality_check`, `finish`) for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Hello => "hello",
            Phase::BaseOt => "base_ot",
            Phase::OtExtension => "ot_extension",
            Phase::GarblerInputs => "garbler_inputs",
            Phase::Tables => "tables",
            Phase::Decoding => "decoding",
            Phase::OutputLabels => "output_labels",
            Phase::EqualityCheck => "equality_check",
            Phase::Finish => "finish",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Hello => "the hello",
            Phase::BaseOt => "the base oblivious transfers",
            Phase::OtExtension => "the OT extension",
            Phase::GarblerInputs => "the garbler's input labels",
            Phase::Tables => "the garbled tables",
            Phase::Decoding => "the output decoding bits",
            Phase::OutputLabels => "the output labels",
            Phase::EqualityCheck => "the equality check",
            Phase::Finish => "the final acknowledgement",
        })
    }
}

/// Where a run was when it entered a [`Phase`]: the bytes it had sent and
/// received on that phase's connection so far. The same program and inputs
/// give the same counts on every run, so a test can aim a fault at the
/// first byte of a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseEntry {
    /// The phase entered.
    pub phase: Phase,
    /// Bytes this side had sent on the connection.
    pub bytes_sent: u64,
    /// Bytes this side had received on the connection.
    pub bytes_received: u64,
}

/// Called as a run enters each [`Phase`].
pub type PhaseObserver = Arc<dyn Fn(PhaseEntry) + Send + Sync>;

/// Called once per direction, just before this party sends the message
/// that lets the peer learn outputs: the output decoding bits when it
/// garbles, the garbler's output labels when it evaluates. Until then the
/// peer holds only labels it cannot decode. `Err(reason)` withholds them:
/// the run stops with [`SessionError::ReleaseWithheld`] and the peer
/// learns nothing. `garblet serve` writes and syncs the run's audit line
/// here (`docs/GOVERNANCE.md`, "Release").
///
/// [`SessionError::ReleaseWithheld`]: super::SessionError::ReleaseWithheld
pub type ReleaseGate = Arc<dyn Fn(PhaseEntry) -> Result<(), String> + Send + Sync>;

/// Settings for any number of sessions. Cheap to clone.
#[derive(Clone)]
pub struct SessionConfig {
    /// The security mode; both parties must agree.
    pub security: SecurityMode,
    /// The garbling scheme (both directions in dual execution); both
    /// parties must agree.
    pub scheme: SchemeChoice,
    /// The OT extension; both parties must agree.
    pub ot: OtChoice,
    /// From this many evaluator input bits on, OT extension; below it one
    /// base OT per bit (both are secure against a malicious receiver). Both
    /// parties must agree; it is part of the hello.
    pub ot_extension_threshold: usize,
    /// Progress callback.
    pub progress: Option<ProgressObserver>,
    /// Told as the run enters each phase; `None` by default.
    pub phases: Option<PhaseObserver>,
    /// Asked before the peer's outputs are released; `None` by default.
    pub release_gate: Option<ReleaseGate>,
    /// Randomness.
    pub random: RandomSource,
}

impl SessionConfig {
    /// The default: semi-honest garbler (checked OT), three-halves, OS
    /// entropy.
    pub fn new() -> Self {
        SessionConfig {
            security: SecurityMode::default(),
            scheme: SchemeChoice::default(),
            ot: OtChoice::default(),
            ot_extension_threshold: EXTENSION_THRESHOLD,
            progress: None,
            phases: None,
            release_gate: None,
            random: RandomSource::default(),
        }
    }

    /// The same configuration in another security mode.
    pub fn with_security(mut self, security: SecurityMode) -> Self {
        self.security = security;
        self
    }

    /// The same configuration with another garbling scheme.
    pub fn with_scheme(mut self, scheme: SchemeChoice) -> Self {
        self.scheme = scheme;
        self
    }

    /// The same configuration with another OT extension.
    pub fn with_ot(mut self, ot: OtChoice) -> Self {
        self.ot = ot;
        self
    }

    /// The same configuration with a progress observer.
    pub fn with_progress(mut self, progress: ProgressObserver) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The same configuration, reporting each phase as the run enters it.
    pub fn with_phases(mut self, phases: PhaseObserver) -> Self {
        self.phases = Some(phases);
        self
    }

    /// The same configuration, asking `gate` before the peer's outputs are
    /// released ([`ReleaseGate`]).
    pub fn with_release_gate(mut self, gate: ReleaseGate) -> Self {
        self.release_gate = Some(gate);
        self
    }

    /// The same configuration with another source of randomness.
    pub fn with_random(mut self, random: RandomSource) -> Self {
        self.random = random;
        self
    }

    /// A fresh PRG for one run, or the error of an OS that gave no
    /// randomness (a typed error, not a panic, for the library's callers).
    pub(crate) fn prg(&self) -> Result<Prg, super::SessionError> {
        Ok(match &self.random {
            RandomSource::OsEntropy => Prg::try_from_entropy()?,
            RandomSource::InsecureFixedSeed(seed) => Prg::from_seed(*seed),
        })
    }

    pub(crate) fn enter<T: std::io::Read + std::io::Write>(&self, phase: Phase, ch: &Channel<T>) {
        if let Some(p) = &self.phases {
            p(PhaseEntry { phase, bytes_sent: ch.bytes_sent(), bytes_received: ch.bytes_received() });
        }
    }

    /// Asks the [`ReleaseGate`], if any, whether the message that
    /// releases the peer's outputs may go out now.
    pub(crate) fn before_release<T: std::io::Read + std::io::Write>(
        &self,
        phase: Phase,
        ch: &Channel<T>,
    ) -> Result<(), super::SessionError> {
        match &self.release_gate {
            None => Ok(()),
            Some(gate) => {
                gate(PhaseEntry { phase, bytes_sent: ch.bytes_sent(), bytes_received: ch.bytes_received() })
                    .map_err(super::SessionError::ReleaseWithheld)
            }
        }
    }

    pub(crate) fn report(&self, ands: u64) {
        if let Some(p) = &self.progress {
            p(ands);
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig::new()
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("security", &self.security)
            .field("scheme", &self.scheme)
            .field("ot", &self.ot)
            .field("ot_extension_threshold", &self.ot_extension_threshold)
            .field("progress", &self.progress.is_some())
            .field("phases", &self.phases.is_some())
            .field("release_gate", &self.release_gate.is_some())
            .field("random", &self.random)
            .finish()
    }
}
