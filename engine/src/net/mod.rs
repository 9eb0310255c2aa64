//! Networking between the two parties: TCP with sane defaults, and TLS 1.3
//! with mutual authentication by pinned certificate fingerprints.
//!
//! Two companies running garblet do not share a certificate authority. Each
//! party makes a self-signed identity once ([`Identity::generate`],
//! `garblet keygen`), the two exchange the SHA-256 fingerprints of their
//! certificates out of band (a phone call, a signed e-mail), and every run
//! names the one fingerprint it trusts. The TLS handshake then proves that
//! the peer holds the private key of exactly that certificate, in both
//! directions; anyone else is refused before a byte of the protocol flows.
//!
//! TLS is rustls, TLS 1.3 only, with the `ring` provider; certificates are
//! ECDSA P-256 made by rcgen. Plain TCP exists for tests and for users who
//! pass `--insecure` explicitly.

mod identity;
mod tcp;
mod tls;

pub use identity::{verify_signature, Fingerprint, Identity, SIGNATURE_PREFIX};
pub use tcp::{
    accept, connect, listen, wait_for_connection, StallDirection, Stalled, TcpOptions, TimedStream,
};
pub use tls::{PinnedTls, Side, TlsStream};

use std::io;

/// Whether an I/O error kind means the peer's end of the connection is
/// gone (closed, reset, or ended mid-message): the one definition the
/// handshake, the session's error classes and the messages share.
pub fn is_closed(kind: io::ErrorKind) -> bool {
    use io::ErrorKind as K;
    matches!(kind, K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe)
}

/// An I/O error in words, without the raw `os error N` text.
pub(crate) fn describe(e: &io::Error) -> String {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => {
            "nothing accepts connections there (connection refused): is the peer listening yet, on that port?"
                .into()
        }
        K::TimedOut => {
            "no answer from that address (the host is down, or a firewall drops the packets)".into()
        }
        K::NotFound => "the host name does not resolve".into(),
        K::AddrNotAvailable => "that address is not available on this machine".into(),
        K::AddrInUse => "the port is already in use".into(),
        K::PermissionDenied => "permission denied (ports below 1024 need privileges)".into(),
        kind if is_closed(kind) => "the peer closed the connection".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_owned(),
                None => text,
            }
        }
    }
}

/// What can go wrong while connecting, authenticating or loading identities.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// Could not connect before the deadline.
    #[error("could not connect to {addr} within {seconds} s: {}", describe(cause))]
    Connect {
        /// The address tried.
        addr: String,
        /// The connect timeout.
        seconds: u64,
        /// The last error seen (described in the message, in words).
        cause: io::Error,
    },
    /// Could not listen on the address.
    #[error("cannot listen on {addr}: {}", describe(cause))]
    Listen {
        /// The address.
        addr: String,
        /// The cause (described in the message, in words).
        cause: io::Error,
    },
    /// No peer connected before the deadline.
    #[error("no peer connected to {addr} within {seconds} s")]
    AcceptTimeout {
        /// The listening address.
        addr: String,
        /// The timeout.
        seconds: u64,
    },
    /// The peer presented a certificate other than the one trusted.
    #[error("the peer's certificate has fingerprint {presented}, but this run trusts only {expected}: refusing to talk to it")]
    PeerNotTrusted {
        /// The fingerprint given with `--peer`.
        expected: Fingerprint,
        /// The fingerprint the peer presented.
        presented: Fingerprint,
    },
    /// The peer refused our certificate.
    #[error("the peer refused our certificate ({}ours is {ours})", match expects { Some(f) => format!("it expects fingerprint {f}; "), None => String::new() })]
    RefusedByPeer {
        /// Our fingerprint, to tell the peer.
        ours: Fingerprint,
        /// The fingerprint the peer trusts, if it said.
        expects: Option<Fingerprint>,
    },
    /// The connection ended before the TLS handshake and the verdicts were
    /// done.
    #[error("the peer closed the connection during the TLS handshake")]
    ClosedDuringHandshake,
    /// The peer sent a plain garblet hello: it runs with `--insecure`.
    #[error("the peer speaks plain TCP: did it use --insecure? (both sides use TLS, or both --insecure)")]
    PeerIsPlainTcp,
    /// The peer does not speak TLS at all.
    #[error("the peer does not speak TLS (its first bytes: `{0}`)")]
    NotTls(String),
    /// Any other TLS failure.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// An I/O error during the handshake or on the socket.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// An identity directory or certificate file is missing or unreadable.
    #[error("identity {path}: {message}")]
    Identity {
        /// The file or directory.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A signature could not be made, or does not verify.
    #[error("signature: {0}")]
    Signature(String),
    /// A fingerprint that is not 64 hex digits.
    #[error(
        "`{0}` is not a SHA-256 fingerprint (64 hex digits, colons allowed) nor a readable certificate file"
    )]
    BadFingerprint(String),
}

impl NetError {
    /// Who caused the error, as [`SessionError::fault`] says for a session:
    /// the peer (it presented or refused a certificate, or does not speak
    /// this side's transport), this side (its identity, address or
    /// fingerprint arguments), or the link (connecting, accepting, I/O).
    ///
    /// [`SessionError::fault`]: crate::session::SessionError::fault
    pub fn fault(&self) -> crate::session::Fault {
        use crate::session::Fault;
        match self {
            NetError::PeerNotTrusted { .. }
            | NetError::RefusedByPeer { .. }
            | NetError::PeerIsPlainTcp
            | NetError::NotTls(_)
            | NetError::Tls(_) => Fault::Peer,
            NetError::Listen { .. }
            | NetError::Identity { .. }
            | NetError::Signature(_)
            | NetError::BadFingerprint(_) => Fault::Local,
            NetError::Connect { .. }
            | NetError::AcceptTimeout { .. }
            | NetError::ClosedDuringHandshake
            | NetError::Io(_) => Fault::Transport,
        }
    }
}
