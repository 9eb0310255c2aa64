//! TLS 1.3 with mutual authentication by pinned fingerprints (rustls).
//!
//! Both sides present their self-signed certificate and accept exactly one
//! peer certificate, named by its SHA-256 fingerprint. Chains, names and
//! dates are not consulted: the fingerprint *is* the trust decision, made by
//! the two people when they exchanged fingerprints. The handshake signature
//! is still verified, so the peer must hold the certificate's private key.

use super::TimedStream;
use super::{Fingerprint, Identity, NetError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConnection, DigitallySignedStruct, DistinguishedName, ServerConnection, SignatureScheme,
    StreamOwned,
};
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

/// Which end of the TCP connection this party is (independent of whether it
/// garbles or evaluates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The party that connected.
    Connector,
    /// The party that listened.
    Listener,
}

/// An authenticated, encrypted stream to the one trusted peer.
pub struct TlsStream {
    conn: Conn,
    /// The connector reads the listener's verdict with the first protocol
    /// bytes rather than before sending any (one round trip less): until
    /// then, this is our fingerprint, for the refusal message.
    verdict_pending: Option<Fingerprint>,
    /// Set when the deferred verdict refused us (or was not a verdict):
    /// every later read fails with it.
    refused: Option<(io::ErrorKind, String)>,
}

enum Conn {
    /// We connected.
    Client(Box<StreamOwned<ClientConnection, ReadAhead>>),
    /// We listened.
    Server(Box<StreamOwned<ServerConnection, ReadAhead>>),
}

/// Bytes [`ReadAhead`] takes from the socket at most per system call.
const READ_AHEAD_BYTES: usize = 64 * 1024;

/// The socket as rustls sees it: reads go through a buffer of
/// [`READ_AHEAD_BYTES`], writes (vectored ones too) straight to the
/// [`TimedStream`].
///
/// rustls reads at most what its record buffer has room for (one record,
/// about 16 KiB, once the handshake is done), so that the table stream cost
/// one `recv` per record on the evaluator's side; here one `recv` takes up
/// to four records, and rustls copies them out of memory. (A larger buffer
/// measured no better: it spills out of the L2 cache the garbling shares.)
/// Every read from the socket is still one [`TimedStream`] read, under the
/// same timeout and deadline, and rustls still sees every byte in order.
/// On the way out, rustls hands its queued records (up to 64 KiB, its
/// default limit) to the [`TimedStream`]'s `write_vectored`: one `writev` instead
/// of one `send` per record.
struct ReadAhead {
    sock: TimedStream,
    buf: Box<[u8]>,
    /// `buf[pos..len]` was read from the socket and not yet taken.
    pos: usize,
    len: usize,
}

impl ReadAhead {
    fn new(sock: TimedStream) -> Self {
        ReadAhead { sock, buf: vec![0u8; READ_AHEAD_BYTES].into_boxed_slice(), pos: 0, len: 0 }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.len {
            if out.len() >= self.buf.len() {
                return self.sock.read(out);
            }
            // On an error nothing changes: the buffer stays empty.
            self.len = self.sock.read(&mut self.buf)?;
            self.pos = 0;
        }
        let n = (self.len - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for ReadAhead {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.sock.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.conn {
            Conn::Client(_) => "TlsStream(connector)",
            Conn::Server(_) => "TlsStream(listener)",
        })
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(ours) = self.verdict_pending.take() {
            if let Err(e) = read_verdict(&mut self.conn, ours) {
                let kind = match &e {
                    NetError::Io(io) => io.kind(),
                    _ => io::ErrorKind::PermissionDenied,
                };
                self.refused = Some((kind, e.to_string()));
                // The first time, the typed error itself (a caller can
                // downcast it: `NetError::RefusedByPeer`).
                return Err(io::Error::new(kind, e));
            }
        }
        if let Some((kind, message)) = &self.refused {
            return Err(io::Error::new(*kind, message.clone()));
        }
        self.conn.read(buf)
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Client(s) => s.read(buf),
            Conn::Server(s) => s.read(buf),
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.conn.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.conn.flush()
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Client(s) => s.write(buf),
            Conn::Server(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Client(s) => s.flush(),
            Conn::Server(s) => s.flush(),
        }
    }
}

/// Reads the peer's verdict: `Ok` if it accepted us.
fn read_verdict(conn: &mut Conn, ours: Fingerprint) -> Result<(), NetError> {
    let mut theirs = [0u8; VERDICT_BYTES];
    conn.read_exact(&mut theirs)?;
    if &theirs[..8] != VERDICT_MAGIC {
        return Err(NetError::Tls(
            "the peer is not garblet (no authentication verdict after the handshake)".into(),
        ));
    }
    if theirs[8] != 1 {
        let mut expects = [0u8; 32];
        expects.copy_from_slice(&theirs[9..41]);
        return Err(NetError::RefusedByPeer { ours, expects: Some(Fingerprint(expects)) });
    }
    Ok(())
}

/// Bytes a side that refused reads (and drops) before closing, so that
/// closing with unread data does not reset the connection and lose its
/// verdict: the connector sends its first protocol bytes with its verdict.
const DRAIN_LIMIT: usize = 1 << 20;

/// rustls's `ring` provider with AES-128-GCM first among the TLS 1.3
/// suites (then AES-256-GCM, then ChaCha20-Poly1305, its defaults), so that
/// two garblet parties agree on it: the handshake (X25519 or P-256, ECDSA
/// P-256) and the garbling (κ = 128) give 128-bit security, which
/// AES-256's four more rounds per block would not raise. The suite
/// encrypts every table byte, so it is the one choice here that costs CPU per
/// AND (`examples/cpu_budget.rs` measures the transport).
fn provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .sort_by_key(|suite| suite.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    Arc::new(provider)
}

/// Accepts any certificate whose key signs the handshake; which
/// certificate is trusted is decided after the handshake, by fingerprint, in
/// [`PinnedTls::secure`], so that both sides can say who refused whom.
#[derive(Debug)]
struct ProvenKey {
    algorithms: WebPkiSupportedAlgorithms,
}

/// The signature checks and schemes both verifier traits share.
macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(message, cert, dss, &self.algorithms)
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(message, cert, dss, &self.algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    };
}

impl ServerCertVerifier for ProvenKey {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    signature_checks!();
}

impl ClientCertVerifier for ProvenKey {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    signature_checks!();
}

/// The verdict each side sends right after the handshake, before any
/// protocol byte: magic, accepted (1) or refused (0), the fingerprint this
/// side trusts, the fingerprint the peer presented.
const VERDICT_MAGIC: &[u8; 8] = b"gbltauth";
const VERDICT_BYTES: usize = 8 + 1 + 32 + 32;

/// Our identity and the one peer certificate we trust, ready to secure
/// connections. Cheap to clone; every handshake thread of a listener holds
/// one.
///
/// A service that serves several peers builds it with
/// [`PinnedTls::deciding_after`]: the handshake then proves which key the
/// peer holds, accepts it at the TLS layer, and leaves the decision to the
/// caller, who reads [`TlsStream::peer_fingerprint`] before anything else.
#[derive(Clone)]
pub struct PinnedTls {
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
    ours: Fingerprint,
    /// The one certificate trusted, or `None`: any, decided by the caller.
    peer: Option<Fingerprint>,
}

impl std::fmt::Debug for PinnedTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedTls").field("ours", &self.ours).field("peer", &self.peer).finish()
    }
}

impl PinnedTls {
    /// Presents `identity`, trusts only the certificate with fingerprint
    /// `peer`. Fails if the identity's key is not the key of its
    /// certificate.
    pub fn new(identity: &Identity, peer: Fingerprint) -> Result<Self, NetError> {
        Self::build(identity, Some(peer))
    }

    /// Presents `identity` and accepts, at the TLS layer, any certificate
    /// whose key signs the handshake. The caller **must** then decide by
    /// [`TlsStream::peer_fingerprint`] (a service checks it against its list
    /// of peers, and refuses with a reason the peer can read).
    pub fn deciding_after(identity: &Identity) -> Result<Self, NetError> {
        Self::build(identity, None)
    }

    fn build(identity: &Identity, peer: Option<Fingerprint>) -> Result<Self, NetError> {
        let provider = provider();
        let verifier = Arc::new(ProvenKey { algorithms: provider.signature_verification_algorithms });
        let chain = vec![identity.certificate().clone()];
        let tls_err = |e: rustls::Error| NetError::Tls(e.to_string());
        let client = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(tls_err)?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_client_auth_cert(chain.clone(), identity.private_key())
            .map_err(tls_err)?;
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(tls_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, identity.private_key())
            .map_err(tls_err)?;
        Ok(PinnedTls {
            client: Arc::new(client),
            server: Arc::new(server),
            ours: identity.fingerprint(),
            peer,
        })
    }

    /// Our certificate's fingerprint.
    pub fn ours(&self) -> Fingerprint {
        self.ours
    }

    /// The fingerprint we trust (`None` when built with
    /// [`PinnedTls::deciding_after`]).
    pub fn peer(&self) -> Option<Fingerprint> {
        self.peer
    }

    /// Runs the TLS 1.3 handshake on `tcp` as `side`, then exchanges
    /// verdicts: each side checks the fingerprint the other presented and
    /// says whether it accepts it (and, if not, which one it expects). The
    /// listener sends nothing else before it has the connector's verdict;
    /// the connector's first protocol bytes follow its own verdict at once
    /// (the listener's is read with the first read), so they reach only
    /// the certificate it pinned. The whole of it must end within
    /// `within`, or the connection is dropped as stalled.
    pub fn secure(&self, mut tcp: TimedStream, side: Side, within: Duration) -> Result<TlsStream, NetError> {
        tcp.set_deadline(Some(within))?;
        let conn = match side {
            Side::Connector => {
                let name = ServerName::try_from("garblet.peer").map_err(|e| NetError::Tls(e.to_string()))?;
                let conn = ClientConnection::new(self.client.clone(), name)
                    .map_err(|e| NetError::Tls(e.to_string()))?;
                Conn::Client(Box::new(StreamOwned::new(conn, ReadAhead::new(tcp))))
            }
            Side::Listener => {
                let conn =
                    ServerConnection::new(self.server.clone()).map_err(|e| NetError::Tls(e.to_string()))?;
                Conn::Server(Box::new(StreamOwned::new(conn, ReadAhead::new(tcp))))
            }
        };
        let mut stream = TlsStream { conn, verdict_pending: None, refused: None };
        if let Err(e) = stream.handshake() {
            let error = self.classify(e, stream.socket());
            // What the peer sent after the bytes that failed (a plain-TCP
            // peer's first protocol messages, say) is read and dropped
            // before closing, so that the close does not reset the
            // connection and lose the alert that tells the peer what
            // happened. Bounded by DRAIN_LIMIT and the deadline.
            if !matches!(error, NetError::Io(_)) {
                stream.send_pending_alert();
                if matches!(error, NetError::PeerIsPlainTcp | NetError::NotTls(_)) {
                    // rustls does not always answer bytes that are not TLS
                    // at all: a fatal `unexpected_message` alert record
                    // tells a plain garblet peer that this side speaks TLS.
                    let _ = stream.socket_mut().write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a]);
                    let _ = stream.socket_mut().flush();
                }
                let mut sink = [0u8; 4096];
                let mut drained = 0;
                while drained < DRAIN_LIMIT {
                    match stream.socket_mut().read(&mut sink) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => drained += n,
                    }
                }
            }
            return Err(error);
        }
        let presented =
            stream.peer_fingerprint().ok_or_else(|| NetError::Tls("the peer sent no certificate".into()))?;
        // Deciding after the handshake, we accept here and name the
        // certificate we saw as the one trusted.
        let trusted = self.peer.unwrap_or(presented);
        let accepted = presented == trusted;
        let mut verdict = [0u8; VERDICT_BYTES];
        verdict[..8].copy_from_slice(VERDICT_MAGIC);
        verdict[8] = u8::from(accepted);
        verdict[9..41].copy_from_slice(&trusted.0);
        verdict[41..].copy_from_slice(&presented.0);
        let sent = stream.conn.write_all(&verdict).and_then(|()| stream.conn.flush());
        if !accepted {
            // Read what the peer sent before closing: closing with unread
            // data would reset the connection and could lose our refusal.
            // A listener reads on until the connector closes (a connector
            // sends its first protocol bytes right after its verdict); the
            // handshake's deadline bounds the wait. A connector reads the
            // listener's verdict, after which the listener sends nothing.
            let mut sink = [0u8; 4096];
            match side {
                Side::Connector => {
                    let _ = stream.conn.read_exact(&mut sink[..VERDICT_BYTES]);
                }
                Side::Listener => {
                    let mut drained = 0;
                    while drained < DRAIN_LIMIT {
                        match stream.conn.read(&mut sink) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => drained += n,
                        }
                    }
                }
            }
            return Err(NetError::PeerNotTrusted { expected: trusted, presented });
        }
        sent.map_err(|e| self.classify(e, stream.socket()))?;
        match side {
            // The listener's verdict travels back while our first protocol
            // bytes go out: it is read with the first read.
            Side::Connector => stream.verdict_pending = Some(self.ours),
            // The connector's verdict came with its last handshake flight.
            Side::Listener => read_verdict(&mut stream.conn, self.ours).map_err(|e| match e {
                NetError::Io(io) => self.classify(io, stream.socket()),
                other => other,
            })?,
        }
        stream.socket_mut().set_deadline(None)?;
        Ok(stream)
    }

    /// Names a handshake failure: a stall, a refusal, a peer that speaks
    /// plain garblet (`--insecure`) or something that is not TLS at all.
    fn classify(&self, e: io::Error, sock: &TimedStream) -> NetError {
        if sock.stalled().is_some() {
            return NetError::Io(e);
        }
        let first = sock.first_bytes();
        let tls_record = first.len() >= 2 && (0x14..=0x17).contains(&first[0]) && first[1] == 0x03;
        if !first.is_empty() && !tls_record {
            if first.len() >= 16 && &first[8..16] == b"garblet\0" {
                return NetError::PeerIsPlainTcp;
            }
            return NetError::NotTls(printable(first));
        }
        let text = e.to_string();
        if text.contains("AlertReceived") || text.contains("received fatal alert") {
            return NetError::RefusedByPeer { ours: self.ours, expects: None };
        }
        match e.kind() {
            io::ErrorKind::InvalidData => NetError::Tls(text),
            kind if super::is_closed(kind) => NetError::ClosedDuringHandshake,
            _ => NetError::Io(e),
        }
    }
}

/// The first bytes of a stream, as text a terminal can show safely.
fn printable(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| if (0x20..0x7f).contains(&b) { char::from(b) } else { '.' }).collect()
}

impl TlsStream {
    fn handshake(&mut self) -> io::Result<()> {
        match &mut self.conn {
            Conn::Client(s) => {
                while s.conn.is_handshaking() {
                    s.conn.complete_io(&mut s.sock)?;
                }
            }
            Conn::Server(s) => {
                while s.conn.is_handshaking() {
                    s.conn.complete_io(&mut s.sock)?;
                }
            }
        }
        Ok(())
    }

    /// Writes what rustls has queued (the alert naming a failed handshake).
    fn send_pending_alert(&mut self) {
        match &mut self.conn {
            Conn::Client(s) => {
                while s.conn.wants_write() && s.conn.write_tls(&mut s.sock).is_ok_and(|n| n > 0) {}
                let _ = s.sock.flush();
            }
            Conn::Server(s) => {
                while s.conn.wants_write() && s.conn.write_tls(&mut s.sock).is_ok_and(|n| n > 0) {}
                let _ = s.sock.flush();
            }
        }
    }

    /// The fingerprint of the certificate the peer presented (and whose key
    /// signed the handshake).
    pub fn peer_fingerprint(&self) -> Option<Fingerprint> {
        let certs = match &self.conn {
            Conn::Client(s) => s.conn.peer_certificates(),
            Conn::Server(s) => s.conn.peer_certificates(),
        };
        certs.and_then(|c| c.first()).map(|c| Fingerprint::of_der(c))
    }

    /// The TLS 1.3 cipher suite the handshake agreed on, by its IANA name
    /// (`TLS13_AES_128_GCM_SHA256` between two garblet parties).
    pub fn cipher_suite(&self) -> Option<&'static str> {
        let suite = match &self.conn {
            Conn::Client(s) => s.conn.negotiated_cipher_suite(),
            Conn::Server(s) => s.conn.negotiated_cipher_suite(),
        };
        suite.and_then(|s| s.suite().as_str())
    }

    /// The TCP stream underneath.
    pub fn socket(&self) -> &TimedStream {
        match &self.conn {
            Conn::Client(s) => &s.sock.sock,
            Conn::Server(s) => &s.sock.sock,
        }
    }

    /// Bounds every read and write from now on by `within` in all (the
    /// deadline of a phase, as the handshake has), on top of the I/O
    /// timeout; `None` lifts it. A service bounds so the phase between the
    /// handshake and the session (the peer's hello, the rules, a refusal),
    /// where any certificate may be talking to it.
    pub fn set_deadline(&mut self, within: Option<Duration>) -> io::Result<()> {
        self.socket_mut().set_deadline(within)
    }

    fn socket_mut(&mut self) -> &mut TimedStream {
        match &mut self.conn {
            Conn::Client(s) => &mut s.sock.sock,
            Conn::Server(s) => &mut s.sock.sock,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{accept, connect, listen, TcpOptions};
    use std::time::Duration;

    fn pair(
        server_id: Identity,
        server_trusts: Fingerprint,
        client_id: Identity,
        client_trusts: Fingerprint,
    ) -> (Result<TlsStream, NetError>, Result<TlsStream, NetError>) {
        let listener = listen("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let options =
            TcpOptions { connect_timeout: Duration::from_secs(5), io_timeout: Duration::from_secs(5) };
        let server = std::thread::spawn(move || {
            let tcp = accept(&listener, &options)?;
            let mut s =
                PinnedTls::new(&server_id, server_trusts)?.secure(tcp, Side::Listener, options.io_timeout)?;
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf)?;
            s.write_all(&buf)?;
            s.flush()?;
            Ok(s)
        });
        let client = (|| {
            let tcp = connect(&addr, &options)?;
            let mut s = PinnedTls::new(&client_id, client_trusts)?.secure(
                tcp,
                Side::Connector,
                options.io_timeout,
            )?;
            s.write_all(b"hello")?;
            s.flush()?;
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf)?;
            assert_eq!(&buf, b"hello");
            Ok(s)
        })();
        (server.join().unwrap(), client)
    }

    /// The bytes at `offset` of a test stream (a pattern, not a reference
    /// implementation: the check is that what arrives is what was sent).
    fn pattern(offset: usize, out: &mut [u8]) {
        for (i, b) in out.iter_mut().enumerate() {
            let x = (offset + i) as u64;
            *b = (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 29) as u8;
        }
    }

    #[test]
    fn large_transfers_arrive_intact_both_ways_in_any_pieces() {
        // Writes and reads of odd sizes around the record (16 KiB) and
        // read-ahead (64 KiB) sizes, so that records and reads straddle
        // every boundary.
        const TOTAL: usize = 5 << 20;
        let sizes = [1usize, 5, 16_384, 16_401, 65_536, 65_537, 300_000, 7, 1 << 20];
        let (a, b) = (Identity::generate("a").unwrap(), Identity::generate("b").unwrap());
        let (fa, fb) = (a.fingerprint(), b.fingerprint());
        let listener = listen("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let options =
            TcpOptions { connect_timeout: Duration::from_secs(5), io_timeout: Duration::from_secs(20) };
        fn send(s: &mut TlsStream, sizes: &[usize]) {
            let (mut sent, mut k) = (0, 0);
            let mut buf = vec![0u8; 1 << 20];
            while sent < TOTAL {
                let n = sizes[k % sizes.len()].min(TOTAL - sent);
                pattern(sent, &mut buf[..n]);
                s.write_all(&buf[..n]).unwrap();
                sent += n;
                k += 1;
            }
            s.flush().unwrap();
        }
        fn receive(s: &mut TlsStream, sizes: &[usize]) {
            let (mut got, mut k) = (0, 3);
            let (mut buf, mut want) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
            while got < TOTAL {
                let n = sizes[k % sizes.len()].min(TOTAL - got);
                let r = s.read(&mut buf[..n]).unwrap();
                assert!(r > 0, "the stream ended after {got} bytes");
                pattern(got, &mut want[..r]);
                assert!(buf[..r] == want[..r], "bytes {got}..{} differ", got + r);
                got += r;
                k += 1;
            }
        }
        let server = std::thread::spawn(move || {
            let tcp = accept(&listener, &options).unwrap();
            let mut s =
                PinnedTls::new(&a, fb).unwrap().secure(tcp, Side::Listener, options.io_timeout).unwrap();
            receive(&mut s, &sizes);
            send(&mut s, &sizes);
        });
        let tcp = connect(&addr, &options).unwrap();
        let mut s = PinnedTls::new(&b, fa).unwrap().secure(tcp, Side::Connector, options.io_timeout).unwrap();
        send(&mut s, &sizes);
        receive(&mut s, &sizes);
        server.join().unwrap();
    }

    #[test]
    fn mutually_pinned_peers_talk() {
        let (a, b) = (Identity::generate("a").unwrap(), Identity::generate("b").unwrap());
        let (fa, fb) = (a.fingerprint(), b.fingerprint());
        let (server, client) = pair(a, fb, b, fa);
        // Both ends agree on AES-128-GCM, which `provider` puts first.
        for s in [server.unwrap(), client.unwrap()] {
            assert_eq!(s.cipher_suite(), Some("TLS13_AES_128_GCM_SHA256"));
        }
    }

    #[test]
    fn a_wrong_server_is_refused_by_the_client() {
        let (a, b, c) = (
            Identity::generate("a").unwrap(),
            Identity::generate("b").unwrap(),
            Identity::generate("c").unwrap(),
        );
        let (fb, fc) = (b.fingerprint(), c.fingerprint());
        let fa = a.fingerprint();
        // The client expects c but a answers.
        let (server, client) = pair(a, fb, b, fc);
        // Both are the peer's doing, as `NetError::fault` says.
        for e in [server.as_ref().err(), client.as_ref().err()] {
            assert_eq!(e.map(NetError::fault), Some(crate::session::Fault::Peer), "{e:?}");
        }
        match client {
            Err(NetError::PeerNotTrusted { expected, presented }) => {
                assert_eq!(expected, fc);
                assert_eq!(presented, fa);
            }
            other => panic!("expected PeerNotTrusted, got {other:?}"),
        }
        // The server learns which certificate the client expected.
        match server {
            Err(NetError::RefusedByPeer { ours, expects }) => {
                assert_eq!(ours, fa);
                assert_eq!(expects, Some(fc));
            }
            other => panic!("expected RefusedByPeer, got {other:?}"),
        }
    }

    #[test]
    fn a_wrong_client_is_refused_by_the_server() {
        let (a, b, c) = (
            Identity::generate("a").unwrap(),
            Identity::generate("b").unwrap(),
            Identity::generate("c").unwrap(),
        );
        let (fa, fc) = (a.fingerprint(), c.fingerprint());
        let fb = b.fingerprint();
        // The server expects c but b connects.
        let (server, client) = pair(a, fc, b, fa);
        match server {
            Err(NetError::PeerNotTrusted { expected, presented }) => {
                assert_eq!(expected, fc);
                assert_eq!(presented, fb);
            }
            other => panic!("expected PeerNotTrusted, got {other:?}"),
        }
        // The connector sends its first bytes with its verdict and meets
        // the refusal on its first read, as the typed error.
        let Err(NetError::Io(e)) = client else {
            panic!("expected the refusal on the first read, got {client:?}")
        };
        match e.get_ref().and_then(|inner| inner.downcast_ref::<NetError>()) {
            Some(NetError::RefusedByPeer { ours, expects }) => {
                assert_eq!(*ours, fb);
                assert_eq!(*expects, Some(fc), "the client learns which fingerprint the server expects");
            }
            other => panic!("expected RefusedByPeer, got {other:?}"),
        }
        assert!(e.to_string().contains(&format!("it expects fingerprint {fc}")), "{e}");
    }
}
