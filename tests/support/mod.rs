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

/// A port nothing listens on (right now).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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
