//! What can end a session early, and whose fault it was.
//!
//! Every variant carries its cause as a typed value (no message strings), so
//! callers and tests match on variants; [`SessionError::fault`] says whether
//! the peer, this side, or the link is to blame. Text that came from the
//! peer (input and output names) is escaped before it is displayed, so a
//! hostile name cannot write control sequences to a terminal.

use super::program::{InputDesc, OutputDesc};
use crate::channel::ChannelError;
use crate::garble::{GarbleError, GarbledEvalError, OutputDecodeError, PlanError};
use crate::net::{NetError, Stalled};
use crate::ot::OtError;
use garblet_circuits::Party;
use std::fmt;
use std::io;

/// Who caused a [`SessionError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The peer sent something the protocol forbids, disagreed about the
    /// run, or was caught cheating.
    Peer,
    /// This side's own arguments (inputs, program, configuration).
    Local,
    /// The link: an I/O error or a timeout, with no evidence against the
    /// peer.
    Transport,
}

/// What can end a session early. Every variant is a clean stop: no panic,
/// no hang past the transport's timeout.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The transport failed, or the peer's message ended early.
    #[error("connection lost: {0}")]
    Channel(#[from] ChannelError),
    /// The peer did not open with a garblet hello.
    #[error("the peer is not speaking the garblet protocol (its first bytes are not a garblet hello)")]
    NotGarblet,
    /// The peer opened a TLS handshake on a plain-TCP run.
    #[error("the peer speaks TLS: this side runs with --insecure (both sides use TLS, or both --insecure)")]
    PeerSpeaksTls,
    /// The two sides are not set up for the same run.
    #[error("the two parties disagree: {0}")]
    Mismatch(#[from] ProgramMismatch),
    /// A message other than the one the protocol expects next.
    #[error("protocol violation: expected {expected}, the peer sent tag {got:#04x}")]
    UnexpectedMessage {
        /// What this side waited for.
        expected: &'static str,
        /// The tag received.
        got: u8,
    },
    /// A hello that does not parse.
    #[error("malformed hello from the peer: {0}")]
    MalformedHello(&'static str),
    /// Oblivious transfer failed; [`OtError::ConsistencyCheckFailed`] means
    /// the peer, as OT receiver, used inconsistent choice bits (an attack on
    /// Δ) or the data was corrupted.
    #[error("oblivious transfer failed: {0}")]
    Ot(#[from] OtError),
    /// The program could not be scheduled.
    #[error("the program cannot be scheduled: {0}")]
    Plan(#[from] PlanError),
    /// The circuit file read while planning is not a valid circuit, or
    /// could not be read ([`garblet_circuits::GateFile`]).
    #[error("the circuit file is not a valid circuit: {0}")]
    CircuitFile(#[from] garblet_circuits::DecodeError),
    /// Garbling failed (writing the tables to the channel failed).
    #[error("garbling failed: {0}")]
    Garble(#[from] GarbleError),
    /// Evaluating the peer's garbled circuit failed: a truncated, misframed
    /// or corrupt stream.
    #[error("the peer's garbled circuit is unusable: {0}")]
    Eval(#[from] GarbledEvalError),
    /// The peer's output decoding information is malformed.
    #[error("the peer's output decoding information is malformed: {0}")]
    Decoder(OutputDecodeError),
    /// The outputs the evaluator returned for the garbler (message 6) do not
    /// match the garbled circuit: their hash is not that of the garbler's
    /// labels of the values claimed
    /// ([`OutputDecodeError::LabelHashMismatch`]), or the colour bits are
    /// malformed. The evaluator cheated, or the run was corrupted.
    #[error("the evaluator returned outputs that do not match the garbled circuit ({0}): a cheating evaluator or a corrupted run")]
    BadOutputLabels(OutputDecodeError),
    /// Dual execution: the two executions' outputs differ. One party
    /// garbled something other than the agreed program, or sent wrong
    /// labels; no output was released.
    #[error("the dual-execution equality check failed: the peer cheated (or the data was corrupted); no output was released")]
    EqualityCheckFailed,
    /// Dual execution: the peer opened its equality-check commitment to a
    /// different value than it committed to.
    #[error("the peer's equality-check commitment does not open: it cheated; no output was released")]
    BadCommitment,
    /// The peer's transcript hash does not match the bytes that arrived:
    /// the link altered data in transit. No output was returned.
    #[error("the data from the peer was altered in transit (the transcript hashes differ); no output was released: the link corrupts data, use TLS (drop --insecure), which detects it")]
    AlteredInTransit,
    /// Dual execution: the second connection could not be opened.
    #[error("could not open the second connection of a dual-execution run: {0}")]
    SecondConnection(io::Error),
    /// This party's own inputs or program are not what the run needs.
    #[error("{0}")]
    Inputs(#[from] InputError),
    /// The configuration does not fit the call (for example, dual execution
    /// asked of a call with one channel).
    #[error("session configuration: {0}")]
    Config(&'static str),
    /// A service read our hello and refused to run (`garblet serve`): the
    /// rule it applied (`peer`, `program`, `approval`, `budget`,
    /// `capacity`, …) and its reason, escaped for display.
    #[error("refused by the service: {reason}")]
    RefusedByService {
        /// The rule, 1 to 32 characters of `[a-z0-9_-]`.
        rule: String,
        /// The service's reason, at most 1 KiB, control characters escaped.
        reason: String,
    },
    /// This side's [`ReleaseGate`](super::ReleaseGate) withheld the
    /// peer's outputs (for `garblet serve`: the audit line could not be
    /// written); the peer learns nothing.
    #[error("the peer's outputs were withheld: {0}")]
    ReleaseWithheld(String),
    /// A worker thread of this side panicked (a bug in garblet).
    #[error("internal error: a session thread panicked")]
    Internal,
    /// The operating system gave no randomness for the run's secrets (the
    /// run stops before anything is sent: there is no safe fallback).
    #[error(transparent)]
    Entropy(#[from] crate::prg::EntropyError),
}

impl SessionError {
    /// Who caused the error. A link that stalled, closed (a message cut
    /// short included) or altered data is [`Fault::Transport`], as
    /// [`SessionError::link_failure`] says: none of it is evidence against
    /// the peer.
    /// A peer that refused our certificate (which a connector learns at
    /// its first read, inside the session) is [`Fault::Peer`].
    pub fn fault(&self) -> Fault {
        use SessionError as E;
        if matches!(self.net_error(), Some(NetError::RefusedByPeer { .. } | NetError::PeerNotTrusted { .. }))
        {
            return Fault::Peer;
        }
        if self.link_failure().is_some() {
            return Fault::Transport;
        }
        match self {
            E::Channel(ChannelError::Io(_)) | E::SecondConnection(_) | E::AlteredInTransit => {
                Fault::Transport
            }
            E::Channel(_) => Fault::Peer,
            E::Ot(OtError::Channel(ChannelError::Io(_))) => Fault::Transport,
            E::Ot(OtError::InvalidInput(_)) => Fault::Local,
            E::Ot(_) => Fault::Peer,
            E::Eval(GarbledEvalError::Io(_)) => Fault::Transport,
            E::Eval(GarbledEvalError::InputCount { .. } | GarbledEvalError::Plan(_)) => Fault::Local,
            E::Eval(_) => Fault::Peer,
            E::Garble(GarbleError::Io(_)) => Fault::Transport,
            E::Garble(_)
            | E::Plan(_)
            | E::CircuitFile(_)
            | E::Inputs(_)
            | E::Config(_)
            | E::ReleaseWithheld(_)
            | E::Internal
            | E::Entropy(_) => Fault::Local,
            E::NotGarblet
            | E::PeerSpeaksTls
            | E::Mismatch(_)
            | E::UnexpectedMessage { .. }
            | E::MalformedHello(_)
            | E::Decoder(_)
            | E::BadOutputLabels(_)
            | E::EqualityCheckFailed
            | E::BadCommitment
            | E::RefusedByService { .. } => Fault::Peer,
        }
    }

    /// True if the error is evidence that the peer deviated from the
    /// protocol (as opposed to disagreeing about the run or losing the link).
    pub fn is_cheating_detected(&self) -> bool {
        matches!(
            self,
            SessionError::Ot(OtError::ConsistencyCheckFailed)
                | SessionError::BadOutputLabels(_)
                | SessionError::EqualityCheckFailed
                | SessionError::BadCommitment
                | SessionError::Eval(GarbledEvalError::Corrupt | GarbledEvalError::BadTrailer { .. })
        )
    }
}

/// What an I/O failure under a [`SessionError`] amounts to, for a message
/// a person can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkFailure {
    /// The peer made no progress within the I/O timeout (or a deadline).
    Stalled(Stalled),
    /// The peer's stream ended: it closed or reset the connection, or the
    /// stream stopped mid-message.
    Closed,
    /// TLS refused a record altered in transit (here, or at the peer, which
    /// said so with an alert and closed the connection).
    Altered,
}

impl SessionError {
    /// The I/O error underneath, if the transport failed.
    pub fn io_error(&self) -> Option<&io::Error> {
        use SessionError as E;
        match self {
            E::Channel(ChannelError::Io(e))
            | E::Ot(OtError::Channel(ChannelError::Io(e)))
            | E::Eval(GarbledEvalError::Io(e))
            | E::Garble(GarbleError::Io(e))
            | E::SecondConnection(e) => Some(e),
            _ => None,
        }
    }

    /// The connection's own error under this one, if the link reported one
    /// during the session: notably [`NetError::RefusedByPeer`], which a
    /// connector learns at its first read, once the session has begun
    /// (`PinnedTls::secure` returns before the listener's verdict).
    pub fn net_error(&self) -> Option<&NetError> {
        let mut inner = self.io_error()?.get_ref()?;
        loop {
            if let Some(e) = inner.downcast_ref::<NetError>() {
                return Some(e);
            }
            match inner.downcast_ref::<ChannelError>() {
                Some(ChannelError::Io(e)) => inner = e.get_ref()?,
                _ => return None,
            }
        }
    }

    /// Whether the link stalled or closed under this error (`None` for
    /// every other error, including a peer caught cheating).
    pub fn link_failure(&self) -> Option<LinkFailure> {
        use SessionError as E;
        match self {
            E::Channel(ChannelError::Truncated { .. })
            | E::Ot(OtError::Channel(ChannelError::Truncated { .. }))
            | E::Eval(GarbledEvalError::Truncated { .. }) => Some(LinkFailure::Closed),
            _ => self.io_error().and_then(LinkFailure::of_io),
        }
    }
}

impl LinkFailure {
    /// What an I/O error amounts to, looking through channel errors wrapped
    /// inside it (the table streams carry channel errors in `io::Error`s).
    pub fn of_io(e: &io::Error) -> Option<LinkFailure> {
        if let Some(inner) = e.get_ref() {
            if let Some(s) = inner.downcast_ref::<Stalled>() {
                return Some(LinkFailure::Stalled(*s));
            }
            match inner.downcast_ref::<rustls::Error>() {
                Some(rustls::Error::DecryptError)
                | Some(rustls::Error::AlertReceived(rustls::AlertDescription::BadRecordMac)) => {
                    return Some(LinkFailure::Altered)
                }
                Some(rustls::Error::AlertReceived(_)) => return Some(LinkFailure::Closed),
                _ => {}
            }
            match inner.downcast_ref::<ChannelError>() {
                Some(ChannelError::Io(e)) => return LinkFailure::of_io(e),
                Some(ChannelError::Truncated { .. }) => return Some(LinkFailure::Closed),
                _ => {}
            }
        }
        crate::net::is_closed(e.kind()).then_some(LinkFailure::Closed)
    }
}

/// How the two sides' hellos differ. Names that came from the peer are
/// shown escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgramMismatch {
    /// Different protocol versions.
    Version {
        /// Ours.
        ours: u32,
        /// The peer's.
        theirs: u32,
    },
    /// Both chose the same role.
    SameRole(Party),
    /// Different garbling schemes.
    Scheme {
        /// Ours.
        ours: u8,
        /// The peer's.
        theirs: u8,
    },
    /// Different security modes (say, `semi-honest` here and `dualex` at
    /// the peer): nothing was computed.
    Security {
        /// Ours.
        ours: &'static str,
        /// The peer's (a name, or the raw byte if unknown).
        theirs: String,
    },
    /// Different OT extensions.
    Ot {
        /// Ours.
        ours: u8,
        /// The peer's.
        theirs: u8,
    },
    /// Input `index` differs (or exists on one side only).
    Input {
        /// Ours.
        ours: Option<InputDesc>,
        /// The peer's.
        theirs: Option<InputDesc>,
    },
    /// Output `index` differs (or exists on one side only).
    Output {
        /// Ours.
        ours: Option<OutputDesc>,
        /// The peer's.
        theirs: Option<OutputDesc>,
    },
    /// Same shapes, different gates (or different terms bound with
    /// [`crate::session::SessionProgram::with_terms`]).
    Digest {
        /// Our program digest.
        ours: [u8; 32],
        /// The peer's.
        theirs: [u8; 32],
        /// Our AND count.
        ours_ands: u64,
        /// The peer's.
        theirs_ands: u64,
    },
    /// Dual execution: the second connection belongs to another run.
    SessionBinding,
}

impl std::error::Error for ProgramMismatch {}

impl fmt::Display for ProgramMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = |d: &Option<InputDesc>| match d {
            Some(i) => format!("input `{}`: {} bits from the {}", escape(&i.name), i.width, i.owner),
            None => "no such input".to_owned(),
        };
        let output = |d: &Option<OutputDesc>| match d {
            Some(o) => format!("output `{}`: {} bits to {}", escape(&o.name), o.width, o.to),
            None => "no such output".to_owned(),
        };
        match self {
            ProgramMismatch::Version { ours, theirs } => write!(
                f,
                "protocol version {ours} here, {theirs} at the peer: run the same garblet version on both sides"
            ),
            ProgramMismatch::SameRole(role) => {
                write!(f, "both parties chose to be the {role}: one must run --as {}", role.peer())
            }
            ProgramMismatch::Scheme { ours, theirs } => {
                let name = |b: u8| {
                    super::SchemeChoice::from_byte(b)
                        .map_or_else(|| format!("unknown scheme {b}"), |s| s.as_str().to_owned())
                };
                write!(f, "garbling scheme {} here, {} at the peer", name(*ours), name(*theirs))
            }
            ProgramMismatch::Security { ours, theirs } => write!(
                f,
                "security mode `{ours}` here, `{}` at the peer: both must pass the same --security",
                escape(theirs)
            ),
            ProgramMismatch::Ot { ours, theirs } => {
                let name = |b: u8| {
                    super::OtChoice::from_byte(b)
                        .map_or_else(|| format!("unknown OT extension {b}"), |o| o.as_str().to_owned())
                };
                write!(
                    f,
                    "OT extension {} here, {} at the peer (or another OT extension threshold): both must pass the same --ot",
                    name(*ours),
                    name(*theirs)
                )
            }
            ProgramMismatch::Input { ours, theirs } => {
                write!(f, "the programs differ: here {}, at the peer {}", input(ours), input(theirs))
            }
            ProgramMismatch::Output { ours, theirs } => {
                write!(f, "the programs differ: here {}, at the peer {}", output(ours), output(theirs))
            }
            ProgramMismatch::Digest { ours, theirs, ours_ands, theirs_ands } => {
                let hex = |d: &[u8; 32]| d[..8].iter().map(|b| format!("{b:02x}")).collect::<String>();
                write!(
                    f,
                    "the programs differ (program digest {} here, {} at the peer; {ours_ands} AND gates here, {theirs_ands} there): both must run the same program, with the same --const values and cohort rules",
                    hex(ours),
                    hex(theirs)
                )
            }
            ProgramMismatch::SessionBinding => {
                write!(f, "the second connection belongs to another run (session identifiers differ)")
            }
        }
    }
}

/// This party's inputs or program do not fit the run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// An input of this party is not given.
    #[error("missing input `{name}` ({width} bits)")]
    Missing {
        /// The input.
        name: String,
        /// Its width.
        width: u32,
    },
    /// An input has the wrong number of bits.
    #[error("input `{name}` is {width} bits wide, {given} bits were given")]
    Width {
        /// The input.
        name: String,
        /// Its width.
        width: u32,
        /// Bits given.
        given: usize,
    },
    /// An input of the other party was given.
    #[error("input `{name}` belongs to the {owner}; the {owner_peer} does not give it", owner_peer = owner.peer())]
    NotOurs {
        /// The input.
        name: String,
        /// Its owner.
        owner: Party,
    },
    /// The program has no such input.
    #[error("the program has no input `{0}`")]
    Unknown(String),
    /// The same input was given twice (which value was meant is unknown).
    #[error("input `{0}` is given twice")]
    Repeated(String),
    /// A batch body must have two inputs and one output.
    #[error("a batch body needs exactly two inputs and one output")]
    BatchShape,
    /// The batch's widths overflow 32 bits.
    #[error("the batch is too large for 32-bit widths")]
    BatchTooLarge,
    /// A streamed program's description does not match its gate source.
    #[error("the description ({described_inputs} input bits, {described_outputs} output bits) does not match the gate source ({source_inputs} and {source_outputs})")]
    SourceMismatch {
        /// Input bits described.
        described_inputs: u64,
        /// Output bits described.
        described_outputs: u64,
        /// Input bits of the source.
        source_inputs: u64,
        /// Output wires of the source.
        source_outputs: u64,
    },
    /// Dual execution masks outputs meant for one party inside the circuit,
    /// which needs a materialised circuit.
    #[error("dual execution of a streamed, repeated or batched program needs every output visible to both parties (output `{0}` is not); use a materialised circuit")]
    DualexNeedsPublicOutputs(String),
    /// The masked circuit could not be built.
    #[error("cannot prepare the circuit for dual execution: {0}")]
    Masking(String),
}

/// Escapes control characters (and backslashes) in text that came from the
/// peer, so it cannot move the cursor or recolour a terminal.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Fingerprint;

    /// A refusal of our certificate met inside the session (a connector's
    /// first read), directly or wrapped as the table stream wraps channel
    /// errors, is found by `net_error` and is the peer's fault; a reset
    /// link is the transport's.
    #[test]
    fn a_refused_certificate_inside_the_session_is_the_peers_fault() {
        let refused = || {
            let e =
                NetError::RefusedByPeer { ours: Fingerprint([1; 32]), expects: Some(Fingerprint([2; 32])) };
            io::Error::new(io::ErrorKind::PermissionDenied, e)
        };
        let direct = SessionError::Channel(ChannelError::Io(refused()));
        let wrapped = SessionError::Eval(GarbledEvalError::Io(io::Error::other(ChannelError::Io(refused()))));
        for e in [direct, wrapped] {
            assert!(matches!(e.net_error(), Some(NetError::RefusedByPeer { .. })), "{e:?}");
            assert_eq!(e.fault(), Fault::Peer, "{e:?}");
        }
        let reset = SessionError::Channel(ChannelError::Io(io::Error::from(io::ErrorKind::ConnectionReset)));
        assert!(reset.net_error().is_none());
        assert_eq!((reset.fault(), reset.link_failure()), (Fault::Transport, Some(LinkFailure::Closed)));
    }

    #[test]
    fn peer_names_are_escaped() {
        let m = ProgramMismatch::Input {
            ours: None,
            theirs: Some(InputDesc {
                name: "evil\x1b[2J\r\nname".to_owned(),
                owner: Party::Garbler,
                width: 8,
            }),
        };
        let shown = m.to_string();
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(shown.contains("evil\\u{1b}[2J\\r\\nname"), "{shown}");
        assert_eq!(escape("plain name"), "plain name");
    }
}
