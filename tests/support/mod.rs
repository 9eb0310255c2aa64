//! What the two-process tests share: the binary, free ports, scratch
//! directories that clean up after themselves, identities.
#![allow(dead_code)] // each test file uses its own subset

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `garblet` binary under test.
pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_garblet"))
}

/// A circuit of `circuits/bristol/`, as a command-line argument.
pub(crate) fn shared(name: &str) -> String {
    garblet_testkit::bristol(name).display().to_string()
}

/// A port nothing listens on (right now), for a child process to listen on.
///
/// Not one the kernel hands out for `bind(0)`: those come from the
/// ephemeral range, which outgoing connections (the proxies' and the
/// parties' own) also take their local ports from, so a port picked that
/// way could be a live connection's by the time the child binds it (seen
/// in CI as "the port is already in use"). Ports below the ephemeral range
/// are taken only by listeners; each one is handed out once per process,
/// starting from an offset that differs between test binaries.
pub(crate) fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    const LOW: u32 = 10_000;
    let high = ephemeral_low().clamp(LOW + 1_000, 65_535);
    let span = high - LOW;
    let _ = NEXT.compare_exchange(u32::MAX, std::process::id() % span, Ordering::Relaxed, Ordering::Relaxed);
    for _ in 0..span {
        let port = (LOW + NEXT.fetch_add(1, Ordering::Relaxed) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {LOW}..{high}")
}

/// The first port of the kernel's ephemeral range.
fn ephemeral_low() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A directory under the system temp dir, removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    /// A fresh directory named after `tag` and this process.
    pub(crate) fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("garblet-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// A path inside it.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `garblet keygen`, returning the fingerprint it printed.
pub(crate) fn keygen(dir: &Path) -> String {
    let out = bin().args(["keygen", "--out", dir.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fp = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(fp.len(), 64, "a SHA-256 fingerprint: {fp}");
    fp
}

/// Starts the binary with piped stdout and stderr.
pub(crate) fn spawn(args: &[String]) -> Child {
    bin().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Owned arguments.
pub(crate) fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
