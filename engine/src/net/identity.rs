//! Party identities: a self-signed ECDSA P-256 certificate and its key, and
//! the SHA-256 fingerprint that names it.
//!
//! An identity also signs statements ([`Identity::sign`], ECDSA P-256 with
//! SHA-256, signatures in ASN.1 DER, by `ring` through rustls), which anyone
//! holding its certificate checks with [`verify_signature`]. Every signed
//! message starts with [`SIGNATURE_PREFIX`] and a context string, so no
//! signature can stand for another context's, nor for a TLS 1.3
//! `CertificateVerify` made with the same key (those begin with 64 spaces,
//! RFC 8446 §4.4.3).

use super::NetError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use zeroize::Zeroizing;

/// SHA-256 of a certificate's DER encoding: what two parties compare.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Parses 64 hex digits (colons and spaces allowed), or reads the
    /// certificate file at that path and fingerprints it.
    pub fn from_arg(arg: &str) -> Result<Self, NetError> {
        if let Ok(fp) = arg.parse() {
            return Ok(fp);
        }
        let path = Path::new(arg);
        if path.is_file() {
            let cert = CertificateDer::from_pem_file(path).map_err(|e| NetError::Identity {
                path: path.display().to_string(),
                message: format!("not a PEM certificate: {e}"),
            })?;
            return Ok(Self::of_der(&cert));
        }
        Err(NetError::BadFingerprint(arg.to_owned()))
    }
}

impl FromStr for Fingerprint {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self, NetError> {
        let hex: String = s.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
        let bad = || NetError::BadFingerprint(s.to_owned());
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A party's identity: certificate and private key. The key bytes are
/// zeroised when the identity is dropped.
pub struct Identity {
    cert: CertificateDer<'static>,
    key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").field("fingerprint", &self.fingerprint()).finish_non_exhaustive()
    }
}

/// What every message an identity signs starts with (then the context's
/// length as one byte, the context, and the message).
pub const SIGNATURE_PREFIX: &[u8] = b"garblet identity signature v1\0";

/// The bytes an identity signs for `message` in `context`.
fn signed_bytes(context: &str, message: &[u8]) -> Vec<u8> {
    let context = &context.as_bytes()[..context.len().min(255)];
    let mut out = Vec::with_capacity(SIGNATURE_PREFIX.len() + 1 + context.len() + message.len());
    out.extend_from_slice(SIGNATURE_PREFIX);
    out.push(context.len() as u8);
    out.extend_from_slice(context);
    out.extend_from_slice(message);
    out
}

/// Checks that `signature` is the signature of `message` in `context` by
/// the key of the DER certificate `cert` (ECDSA P-256, SHA-256, ASN.1 DER),
/// and returns the certificate's fingerprint: who signed, for the caller
/// to compare with the fingerprints it trusts.
pub fn verify_signature(
    cert: &[u8],
    context: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<Fingerprint, NetError> {
    let der = CertificateDer::from(cert);
    let parsed = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| NetError::Signature(format!("the certificate does not parse ({e})")))?;
    parsed
        .verify_signature(webpki::ring::ECDSA_P256_SHA256, &signed_bytes(context, message), signature)
        .map_err(|_| {
            NetError::Signature("the signature does not verify with the certificate's key".into())
        })?;
    Ok(Fingerprint::of_der(cert))
}

const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";

impl Identity {
    /// A fresh self-signed identity; `name` goes into the certificate's
    /// common name (for people reading it; trust is by fingerprint only).
    pub fn generate(name: &str) -> Result<Self, NetError> {
        let fail = |e: rcgen::Error| NetError::Tls(format!("cannot make a certificate: {e}"));
        let key = rcgen::KeyPair::generate().map_err(fail)?;
        let mut params = rcgen::CertificateParams::new(vec!["garblet.peer".to_owned()]).map_err(fail)?;
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).map_err(fail)?;
        Ok(Identity { cert: cert.der().clone(), key: Zeroizing::new(key.serialize_der()) })
    }

    /// The certificate's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.cert)
    }

    /// The certificate.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// Signs `message` in `context` (ECDSA P-256 with SHA-256, ASN.1 DER);
    /// [`verify_signature`] checks it against this identity's certificate.
    pub fn sign(&self, context: &str, message: &[u8]) -> Result<Vec<u8>, NetError> {
        let provider = rustls::crypto::ring::default_provider();
        let fail = |e: String| NetError::Signature(format!("cannot sign: {e}"));
        let key =
            provider.key_provider.load_private_key(self.private_key()).map_err(|e| fail(e.to_string()))?;
        let signer = key
            .choose_scheme(&[rustls::SignatureScheme::ECDSA_NISTP256_SHA256])
            .ok_or_else(|| fail("the key is not an ECDSA P-256 key".into()))?;
        signer.sign(&signed_bytes(context, message)).map_err(|e| fail(e.to_string()))
    }

    pub(crate) fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.to_vec()))
    }

    /// Writes `cert.pem` and `key.pem` (mode 0600 on Unix) into `dir`,
    /// creating it; refuses to overwrite an existing identity.
    pub fn save(&self, dir: &Path) -> Result<(), NetError> {
        let err = |path: &Path, e: std::io::Error| NetError::Identity {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        if key_path.exists() || cert_path.exists() {
            return Err(NetError::Identity {
                path: dir.display().to_string(),
                message: "already holds an identity; choose another directory or remove it first".into(),
            });
        }
        let cert_pem = pem_encode("CERTIFICATE", &self.cert);
        let key_pem = Zeroizing::new(pem_encode("PRIVATE KEY", &self.key));
        std::fs::write(&cert_path, cert_pem).map_err(|e| err(&cert_path, e))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        use std::io::Write;
        let mut f = options.open(&key_path).map_err(|e| err(&key_path, e))?;
        f.write_all(key_pem.as_bytes()).map_err(|e| err(&key_path, e))?;
        Ok(())
    }

    /// Loads the identity `save` wrote, and checks it before any network
    /// use: both files are there and readable, the key is private to its
    /// owner (on Unix, like ssh), and the key is the certificate's key.
    pub fn load(dir: &Path) -> Result<Self, NetError> {
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        let bad = |path: &Path, what: String| NetError::Identity {
            path: path.display().to_string(),
            message: what,
        };
        match std::fs::metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(bad(
                    dir,
                    "no such directory: create an identity with `garblet keygen --out DIR`".into(),
                ))
            }
            Err(e) => return Err(bad(dir, unreadable(&e))),
            Ok(m) if !m.is_dir() => {
                return Err(bad(
                    dir,
                    "is a file, not a directory: give the directory `garblet keygen --out` made".into(),
                ))
            }
            Ok(_) => {}
        }
        if let Err(e) = std::fs::read_dir(dir) {
            return Err(bad(dir, unreadable(&e)));
        }
        for path in [&cert_path, &key_path] {
            match std::fs::metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    return Err(bad(
                        dir,
                        format!("no {name} here (an identity is {CERT_FILE} and {KEY_FILE}): create one with `garblet keygen --out DIR`"),
                    ));
                }
                Err(e) => return Err(bad(path, unreadable(&e))),
                Ok(_) => {}
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_path)
                .map_err(|e| bad(&key_path, unreadable(&e)))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(bad(
                    &key_path,
                    format!(
                        "the private key is readable by other users (mode {:03o}): run `chmod 600 {}`",
                        mode & 0o777,
                        key_path.display()
                    ),
                ));
            }
        }
        let read = |path: &Path| std::fs::read(path).map_err(|e| bad(path, unreadable(&e)));
        let (cert_pem, key_pem) = (read(&cert_path)?, Zeroizing::new(read(&key_path)?));
        let cert = CertificateDer::from_pem_slice(&cert_pem)
            .map_err(|e| bad(&cert_path, format!("not a PEM certificate ({e})")))?;
        let key = PrivatePkcs8KeyDer::from_pem_slice(&key_pem)
            .map_err(|e| bad(&key_path, format!("not a PEM PKCS#8 private key ({e})")))?;
        let identity = Identity { cert, key: Zeroizing::new(key.secret_pkcs8_der().to_vec()) };
        identity.check_key_matches().map_err(|what| bad(dir, what))?;
        Ok(identity)
    }

    /// The key must be the certificate's: otherwise every handshake would
    /// fail, late and obscurely.
    fn check_key_matches(&self) -> Result<(), String> {
        let provider = rustls::crypto::ring::default_provider();
        let key = provider
            .key_provider
            .load_private_key(self.private_key())
            .map_err(|e| format!("{KEY_FILE} is not a usable private key ({e})"))?;
        rustls::sign::CertifiedKey::new(vec![self.cert.clone()], key).keys_match().map_err(|_| {
            format!("{KEY_FILE} is not the key of {CERT_FILE} (were they copied from two identities?): use the pair `garblet keygen` made together")
        })
    }
}

/// Advice for a file or directory that cannot be read.
fn unreadable(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        "permission denied: this user must be able to read the identity directory and both files in it (only the owner should read key.pem: `chmod 700 DIR; chmod 600 DIR/key.pem`)".into()
    } else {
        format!("cannot read it: {e}")
    }
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_round_trip_through_files() {
        let dir = std::env::temp_dir().join(format!("garblet-id-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let id = Identity::generate("test").unwrap();
        id.save(&dir).unwrap();
        assert!(id.save(&dir).is_err(), "never overwrites");
        let back = Identity::load(&dir).unwrap();
        assert_eq!(back.fingerprint(), id.fingerprint());
        assert_eq!(*back.key, *id.key);
        let cert_arg = dir.join(CERT_FILE);
        assert_eq!(Fingerprint::from_arg(cert_arg.to_str().unwrap()).unwrap(), id.fingerprint());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_identity_is_named_before_any_handshake() {
        let root = std::env::temp_dir().join(format!("garblet-idcheck-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let message = |dir: &Path| match Identity::load(dir) {
            Err(NetError::Identity { message, .. }) => message,
            other => panic!("expected an identity error, got {other:?}"),
        };
        assert!(message(&root.join("missing")).contains("no such directory"));
        let (a, b) = (root.join("a"), root.join("b"));
        Identity::generate("a").unwrap().save(&a).unwrap();
        Identity::generate("b").unwrap().save(&b).unwrap();
        // A key from another identity.
        let mixed = root.join("mixed");
        std::fs::create_dir_all(&mixed).unwrap();
        std::fs::copy(a.join(CERT_FILE), mixed.join(CERT_FILE)).unwrap();
        std::fs::copy(b.join(KEY_FILE), mixed.join(KEY_FILE)).unwrap();
        assert!(message(&mixed).contains("is not the key of cert.pem"), "{}", message(&mixed));
        std::fs::remove_file(mixed.join(KEY_FILE)).unwrap();
        assert!(message(&mixed).contains("no key.pem here"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(a.join(KEY_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(message(&a).contains("chmod 600"), "{}", message(&a));
        }
        assert!(Identity::load(&b).is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn signatures_verify_only_for_their_key_context_and_message() {
        let (a, b) = (Identity::generate("a").unwrap(), Identity::generate("b").unwrap());
        let sig = a.sign("test context", b"message").unwrap();
        assert_eq!(
            verify_signature(a.certificate(), "test context", b"message", &sig).unwrap(),
            a.fingerprint()
        );
        assert!(verify_signature(b.certificate(), "test context", b"message", &sig).is_err(), "another key");
        assert!(verify_signature(a.certificate(), "other context", b"message", &sig).is_err());
        assert!(verify_signature(a.certificate(), "test context", b"messagE", &sig).is_err());
        let mut bent = sig.clone();
        *bent.last_mut().unwrap() ^= 1;
        assert!(verify_signature(a.certificate(), "test context", b"message", &bent).is_err());
        assert!(verify_signature(b"not a certificate", "test context", b"message", &sig).is_err());
    }

    #[test]
    fn fingerprints_parse_with_or_without_colons() {
        let fp = Fingerprint([0xab; 32]);
        let text = fp.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<Fingerprint>().unwrap(), fp);
        let colons: Vec<String> = fp.0.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(colons.join(":").parse::<Fingerprint>().unwrap(), fp);
        assert!("abc".parse::<Fingerprint>().is_err());
    }
}
