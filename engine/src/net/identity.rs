//! Party identities: a self-signed ECDSA P-256 certificate and its key, and
//! the SHA-256 fingerprint that names it.

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

    /// Loads the identity `save` wrote.
    pub fn load(dir: &Path) -> Result<Self, NetError> {
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        let bad = |path: &Path, what: String| NetError::Identity {
            path: path.display().to_string(),
            message: what,
        };
        if !cert_path.is_file() || !key_path.is_file() {
            return Err(bad(
                dir,
                format!("no {CERT_FILE} and {KEY_FILE} here: create them with `garblet keygen --out DIR`"),
            ));
        }
        let cert = CertificateDer::from_pem_file(&cert_path).map_err(|e| bad(&cert_path, e.to_string()))?;
        let key = PrivatePkcs8KeyDer::from_pem_file(&key_path).map_err(|e| bad(&key_path, e.to_string()))?;
        Ok(Identity { cert, key: Zeroizing::new(key.secret_pkcs8_der().to_vec()) })
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
