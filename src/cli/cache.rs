//! The circuit cache: `--cache DIR` (or `GARBLET_CACHE=DIR`) on the
//! commands that load a circuit, `cache = "DIR"` in a service's
//! configuration. Off unless given.
//!
//! Reading a large Bristol Fashion file is the slow part of starting a run
//! (about 5 s for 1.94 GB); the same circuit in garblet's binary format
//! (the canonical encoding, `docs/CIRCUITS.md`) loads several times faster.
//! The cache keeps that binary form of each Bristol file it has read:
//!
//! ```text
//! DIR/circuits/<digest>.gbc   the canonical encoding; <digest> is its blake3,
//!                             the circuit digest the hello compares
//! DIR/sources/<source key>    one line: the digest of the circuit read from
//!                             that source
//! ```
//!
//! The source key is blake3 (in its own key-derivation domain) of this
//! build's version and the source file's bytes, so that any change to the
//! file, or a new garblet whose reader might read it differently, is a
//! miss. `--owner` is applied after loading, so it is not part of the key:
//! the cached circuit is the file as read, with the Bristol default owners.
//!
//! Nothing read from the cache is trusted: the circuit file is hashed as
//! it is decoded, and a file whose blake3 is not the digest its name says
//! (truncated, a flipped bit, a write cut short) or that does not decode
//! is a miss, with a warning, and is rebuilt from the source. Every file is
//! written to a temporary name in its directory and renamed into place, so
//! that two runs (or both parties) sharing a directory never read half a
//! file. A cache that cannot be written is a warning, never a failed run.
//!
//! Programs in the garblet language are compiled every time (the compiled
//! program's types and output formats are needed besides the circuit); binary
//! circuit files are already in the cached form.

use super::progress::Progress;
use anyhow::{anyhow, bail, Result};
use garblet::circuits::{canonical, Circuit, CircuitDigest};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The key-derivation context of source keys. Changing what a cached
/// circuit depends on (besides the file's bytes and the garblet version,
/// which are hashed) means changing this string.
const SOURCE_CONTEXT: &str = "garblet 2026-12 circuit cache: Bristol Fashion source v1";

/// The extension of cached circuit files.
const EXTENSION: &str = "gbc";

/// Files are read and hashed in chunks of this size.
const CHUNK: usize = 1 << 20;

/// The cache directory.
#[derive(Clone, Debug)]
pub(super) struct Cache {
    dir: PathBuf,
}

/// What a look-up found.
enum Lookup {
    /// The circuit and its digest.
    Hit(Circuit, CircuitDigest),
    /// No entry for this source.
    Miss,
    /// An entry that cannot be used, and why.
    Unusable(String),
}

impl Cache {
    /// The cache in `dir`, whose `circuits` and `sources` directories are
    /// created if missing. `None` or an empty path: no cache.
    pub(super) fn open(dir: Option<&Path>) -> Result<Option<Cache>> {
        let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) else {
            return Ok(None);
        };
        for sub in ["circuits", "sources"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| {
                anyhow!(
                    "cannot use the cache directory {}: {e} (fix --cache or GARBLET_CACHE, or leave it out)",
                    dir.display()
                )
            })?;
        }
        Ok(Some(Cache { dir: dir.to_owned() }))
    }

    /// The directory, for messages.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The circuit of the Bristol file at `path`: from the cache when it
    /// holds the circuit of these bytes, else read with `read` and cached.
    ///
    /// `read` gets a hasher to feed every byte of the file it reads, in
    /// order, to the end: the entry is stored under the key of the bytes
    /// actually read, so a file that changes while it is read is cached
    /// under its new content (or, if it changed in between, not confused
    /// with the old one).
    pub(super) fn bristol(
        &self,
        path: &Path,
        read: impl FnOnce(&Path, &mut blake3::Hasher) -> Result<Circuit>,
    ) -> Result<Circuit> {
        let shown = path.display();
        let key = source_key(path)?;
        match self.lookup(&key) {
            Lookup::Hit(circuit, digest) => {
                errln!("cache hit: loaded {digest} from {} (for {shown})", self.dir.display());
                return Ok(circuit);
            }
            Lookup::Miss => {}
            Lookup::Unusable(why) => errln!(
                "warning: the cache entry for {shown} in {} is unusable ({why}); reading {shown} again",
                self.dir.display()
            ),
        }
        let mut hasher = source_hasher();
        let circuit = read(path, &mut hasher)?;
        let read_key = hasher.finalize().to_hex().to_string();
        match self.store(&read_key, &circuit) {
            Ok(digest) => errln!("cached {shown} as {digest} in {}", self.dir.display()),
            Err(e) => errln!(
                "warning: cannot write the cache in {}: {e:#} (going on without it)",
                self.dir.display()
            ),
        }
        Ok(circuit)
    }

    fn source_path(&self, key: &str) -> PathBuf {
        self.dir.join("sources").join(key)
    }

    fn circuit_path(&self, digest: &str) -> PathBuf {
        self.dir.join("circuits").join(format!("{digest}.{EXTENSION}"))
    }

    /// The cached circuit of source `key`, checked against its digest.
    fn lookup(&self, key: &str) -> Lookup {
        let index = self.source_path(key);
        let mut text = String::new();
        let read = File::open(&index).and_then(|f| f.take(256).read_to_string(&mut text));
        match read {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return Lookup::Unusable(format!("cannot read {}: {e}", index.display())),
        }
        let digest = text.trim();
        if !is_digest(digest) {
            return Lookup::Unusable(format!("{} does not hold a circuit digest", index.display()));
        }
        let file = self.circuit_path(digest);
        let shown = file.display();
        let opened = match File::open(&file) {
            Ok(f) => f,
            Err(e) => return Lookup::Unusable(format!("cannot read {shown}: {e}")),
        };
        let size = opened.metadata().map(|m| m.len()).unwrap_or(0);
        let progress = Progress::bytes(format!("reading {shown} (cached)"), size);
        // Hashed as it is decoded: `read_hashed` reads to the end
        // (trailing bytes are an error), so the digest is the file's.
        let decoded = canonical::read_hashed(BufReader::with_capacity(CHUNK, progress.reader(opened)));
        drop(progress);
        let circuit = match decoded {
            Ok(c) => c,
            Err(e) => return Lookup::Unusable(format!("{shown}: {e}")),
        };
        let actual = circuit.digest();
        if actual.to_hex() != digest {
            return Lookup::Unusable(format!("{shown} has the digest {actual}, not the one its name says"));
        }
        Lookup::Hit(circuit, actual)
    }

    /// Writes `circuit` and the index entry of source `key`; the digest.
    fn store(&self, key: &str, circuit: &Circuit) -> Result<CircuitDigest> {
        let circuits = self.dir.join("circuits");
        let digest = write_atomically(
            &circuits,
            |file| {
                let mut sink = HashingWriter {
                    inner: BufWriter::with_capacity(CHUNK, file),
                    hasher: blake3::Hasher::new(),
                };
                circuit.write_canonical(&mut sink)?;
                sink.inner.flush()?;
                Ok(CircuitDigest(*sink.hasher.finalize().as_bytes()))
            },
            |digest| self.circuit_path(&digest.to_hex()),
        )?;
        write_atomically(
            &self.dir.join("sources"),
            |file| {
                writeln!(file, "{digest}")?;
                Ok(())
            },
            |_| self.source_path(key),
        )?;
        Ok(digest)
    }
}

/// A fresh hasher of source keys: the derivation context, then this build's
/// version (a new garblet may read a file differently).
fn source_hasher() -> blake3::Hasher {
    let mut hasher = blake3::Hasher::new_derive_key(SOURCE_CONTEXT);
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    hasher.update(&(version.len() as u64).to_le_bytes());
    hasher.update(version);
    hasher
}

/// The source key of the file at `path`, in hex: [`source_hasher`] over
/// its bytes (blake3 reads several GB/s; a progress line shows past a
/// second).
fn source_key(path: &Path) -> Result<String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| anyhow!("cannot read {shown}: {e}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = Progress::bytes(format!("hashing {shown}"), size);
    let mut reader = progress.reader(file);
    let mut hasher = source_hasher();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => bail!("cannot read {shown}: {e}"),
        }
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// 64 lower-case hex digits.
fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Writes a file in `dir` under a temporary name with `write`, then
/// renames it to `target(result)`; the temporary file is removed on any
/// failure. A reader of the target sees the old file or the new one,
/// never part of one.
fn write_atomically<T>(
    dir: &Path,
    write: impl FnOnce(&mut File) -> io::Result<T>,
    target: impl FnOnce(&T) -> PathBuf,
) -> Result<T> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let temp =
        dir.join(format!(".tmp-{}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let result = (|| -> io::Result<T> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        let value = write(&mut file)?;
        file.flush()?;
        drop(file);
        fs::rename(&temp, target(&value))?;
        Ok(value)
    })();
    match result {
        Ok(value) => Ok(value),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(anyhow!("{}: {e}", dir.display()))
        }
    }
}

/// A reader that hashes every byte read through it.
pub(super) struct Hashing<'h, R> {
    /// The reader.
    pub(super) inner: R,
    /// The hasher every byte read goes to.
    pub(super) hasher: &'h mut blake3::Hasher,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes every byte written through it.
struct HashingWriter<W> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_64_lower_case_hex_digits() {
        assert!(is_digest(&"0a".repeat(32)));
        for bad in
            ["", "0a", &"0A".repeat(32), &"0g".repeat(32), &"0a".repeat(33), &format!("{} ", "0a".repeat(32))]
        {
            assert!(!is_digest(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("garblet-cache-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let failed = write_atomically(
            &dir,
            |f| {
                f.write_all(b"half")?;
                Err::<(), _>(io::Error::other("disk full"))
            },
            |_| dir.join("never"),
        );
        assert!(failed.unwrap_err().to_string().contains("disk full"));
        // A rename onto a directory fails too.
        fs::create_dir_all(dir.join("taken")).unwrap();
        assert!(write_atomically(&dir, |f| f.write_all(b"x"), |_| dir.join("taken")).is_err());
        let left: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("taken")]);
        write_atomically(&dir, |f| f.write_all(b"whole"), |_| dir.join("done")).unwrap();
        assert_eq!(fs::read(dir.join("done")).unwrap(), b"whole");
        let _ = fs::remove_dir_all(&dir);
    }
}
