//! TLS 1.3 with mutual authentication by pinned fingerprints (rustls).
//!
//! Both sides present their self-signed certificate and accept exactly one
//! peer certificate, named by its SHA-256 fingerprint. Chains, names and
//! dates are not consulted: the fingerprint *is* the trust decision, made by
//! the two people when they exchanged fingerprints. The handshake signature
//! is still verified, so the peer must hold the certificate's private key.

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
use std::net::TcpStream;
use std::sync::Arc;

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
pub enum TlsStream {
    /// We connected.
    Client(Box<StreamOwned<ClientConnection, TcpStream>>),
    /// We listened.
    Server(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsStream::Client(_) => "TlsStream::Client",
            TlsStream::Server(_) => "TlsStream::Server",
        })
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            TlsStream::Client(s) => s.read(buf),
            TlsStream::Server(s) => s.read(buf),
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            TlsStream::Client(s) => s.write(buf),
            TlsStream::Server(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            TlsStream::Client(s) => s.flush(),
            TlsStream::Server(s) => s.flush(),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts exactly one certificate, by fingerprint.
#[derive(Debug)]
struct Pinned {
    expected: Fingerprint,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pinned {
    fn check(&self, cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        let presented = Fingerprint::of_der(cert);
        if presented == self.expected {
            Ok(())
        } else {
            // Carried to the caller through the error text; see `classify`.
            Err(rustls::Error::General(format!("{PINNING_PREFIX}{presented}")))
        }
    }
}

const PINNING_PREFIX: &str = "garblet: untrusted peer fingerprint ";

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

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity).map(|()| ServerCertVerified::assertion())
    }
    signature_checks!();
}

impl ClientCertVerifier for Pinned {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity).map(|()| ClientCertVerified::assertion())
    }
    signature_checks!();
}

/// Runs the TLS 1.3 handshake on `tcp` as `side`, presenting `identity` and
/// accepting only a peer whose certificate has fingerprint `peer`.
pub fn secure(
    tcp: TcpStream,
    side: Side,
    identity: &Identity,
    peer: Fingerprint,
) -> Result<TlsStream, NetError> {
    let provider = provider();
    let verifier =
        Arc::new(Pinned { expected: peer, algorithms: provider.signature_verification_algorithms });
    let chain = vec![identity.certificate().clone()];
    let tls_err = |e: rustls::Error| NetError::Tls(e.to_string());
    let classify = |e: io::Error| -> NetError {
        let text = e.to_string();
        if let Some(presented) = text.split(PINNING_PREFIX).nth(1) {
            if let Ok(presented) = presented.trim().parse::<Fingerprint>() {
                return NetError::PeerNotTrusted { expected: peer, presented };
            }
        }
        if text.contains("AlertReceived") || text.contains("received fatal alert") {
            return NetError::RefusedByPeer { ours: identity.fingerprint(), alert: text };
        }
        match e.kind() {
            io::ErrorKind::InvalidData => NetError::Tls(text),
            _ => NetError::Io(e),
        }
    };
    match side {
        Side::Connector => {
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13])
                .map_err(tls_err)?
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_client_auth_cert(chain, identity.private_key())
                .map_err(tls_err)?;
            let name = ServerName::try_from("garblet.peer").map_err(|e| NetError::Tls(e.to_string()))?;
            let conn = ClientConnection::new(Arc::new(config), name).map_err(tls_err)?;
            let mut stream = StreamOwned::new(conn, tcp);
            while stream.conn.is_handshaking() {
                stream.conn.complete_io(&mut stream.sock).map_err(classify)?;
            }
            Ok(TlsStream::Client(Box::new(stream)))
        }
        Side::Listener => {
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13])
                .map_err(tls_err)?
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain, identity.private_key())
                .map_err(tls_err)?;
            let conn = ServerConnection::new(Arc::new(config)).map_err(tls_err)?;
            let mut stream = StreamOwned::new(conn, tcp);
            while stream.conn.is_handshaking() {
                stream.conn.complete_io(&mut stream.sock).map_err(classify)?;
            }
            Ok(TlsStream::Server(Box::new(stream)))
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
            let mut s = secure(tcp, Side::Listener, &server_id, server_trusts)?;
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf)?;
            s.write_all(&buf)?;
            s.flush()?;
            Ok(s)
        });
        let client = (|| {
            let tcp = connect(&addr, &options)?;
            let mut s = secure(tcp, Side::Connector, &client_id, client_trusts)?;
            s.write_all(b"hello")?;
            s.flush()?;
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf)?;
            assert_eq!(&buf, b"hello");
            Ok(s)
        })();
        (server.join().unwrap(), client)
    }

    #[test]
    fn mutually_pinned_peers_talk() {
        let (a, b) = (Identity::generate("a").unwrap(), Identity::generate("b").unwrap());
        let (fa, fb) = (a.fingerprint(), b.fingerprint());
        let (server, client) = pair(a, fb, b, fa);
        server.unwrap();
        client.unwrap();
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
        let (_server, client) = pair(a, fb, b, fc);
        match client {
            Err(NetError::PeerNotTrusted { expected, presented }) => {
                assert_eq!(expected, fc);
                assert_eq!(presented, fa);
            }
            other => panic!("expected PeerNotTrusted, got {other:?}"),
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
        assert!(client.is_err(), "the client learns it was refused");
    }
}
