//! `garblet run` on a binary circuit large enough to be planned straight
//! from its file (a million gates or more, semi-honest): the gates are
//! never read into memory, and the run must still give RustCrypto's
//! answer, honour `--owner` in the digest the hello compares, and turn a
//! corrupt file into a one-line error.

use aes::cipher::{BlockEncrypt, KeyInit};
use garblet::circuits::{bristol, canonical, compose};
use garblet_testkit::hex;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use support::{args, free_port, spawn, Scratch};

mod support;

/// AES-128 chained: each copy encrypts the previous copy's output under
/// the same key. 29 copies are 1,063,227 gates, past the CLI's threshold
/// (2^20) for planning from the file.
const COPIES: usize = 29;

fn chained_file(s: &Scratch) -> std::path::PathBuf {
    let aes = bristol::read_file(garblet_testkit::bristol("aes_128.txt")).unwrap();
    let chained = compose::chain(&aes, COPIES, "key", "plaintext", "ciphertext").unwrap();
    assert!(chained.gates().len() >= 1 << 20, "{} gates", chained.gates().len());
    let path = s.path("chained.gbc");
    canonical::write_file(&chained, &path).unwrap();
    path
}

/// RustCrypto's AES-128 applied `COPIES` times, as the CLI prints it.
fn reference(key: &[u8; 16], pt: &[u8; 16]) -> String {
    let cipher = aes::Aes128::new_from_slice(key).unwrap();
    let mut block = aes::Block::clone_from_slice(pt);
    for _ in 0..COPIES {
        cipher.encrypt_block(&mut block);
    }
    hex(&block)
}

/// Both parties of a run over loopback, each with its own extra arguments.
fn run_pair(file: &Path, garbler: &[&str], evaluator: &[&str]) -> (Output, Output) {
    let listen = format!("127.0.0.1:{}", free_port());
    let file = file.to_str().unwrap();
    let common = ["--insecure", "--json", "--timeout", "60"];
    let mut g = args(&["run", file, "--as", "garbler", "--listen", &listen]);
    g.extend(args(&common));
    g.extend(args(garbler));
    let mut e = args(&["run", file, "--as", "evaluator", "--connect", &listen]);
    e.extend(args(&common));
    e.extend(args(evaluator));
    let (g, e) = (spawn(&g), spawn(&e));
    (g.wait_with_output().unwrap(), e.wait_with_output().unwrap())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A block as the CLI reads and prints the Bristol AES's: hex, first byte
/// first.
fn arg(bytes: &[u8; 16]) -> String {
    hex(bytes)
}

#[test]
fn a_large_binary_circuit_planned_from_its_file_gives_rustcryptos_answer() {
    let s = Scratch::new("large-binary");
    let file = chained_file(&s);
    let (key, pt) = (*b"sixteen byte key", *b"plaintext block!");
    let want = reference(&key, &pt);
    let (k, p) = (format!("key={}", arg(&key)), format!("plaintext={}", arg(&pt)));
    let (g, e) = run_pair(&file, &["-i", &k], &["-i", &p]);
    for out in [&g, &e] {
        assert!(out.status.success(), "{}", stderr(out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["outputs"]["ciphertext"], want.as_str(), "{}", stderr(out));
        assert_eq!(v["stats"]["and_gates"], 6400 * COPIES as u64);
    }

    // `--owner` on both sides: the owners swap, and the run still agrees.
    let swap = ["--owner", "key=evaluator", "--owner", "plaintext=garbler"];
    let mut garbler = swap.to_vec();
    garbler.extend(["-i", &p]);
    let mut evaluator = swap.to_vec();
    evaluator.extend(["-i", &k]);
    let (g, e) = run_pair(&file, &garbler, &evaluator);
    for out in [&g, &e] {
        assert!(out.status.success(), "{}", stderr(out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["outputs"]["ciphertext"], want.as_str());
    }

    // On one side only: the owners are in the digest, so the hello refuses.
    let mut garbler = swap.to_vec();
    garbler.extend(["-i", &p]);
    let (g, e) = run_pair(&file, &garbler, &["-i", &p]);
    for out in [&g, &e] {
        assert!(!out.status.success());
        assert!(stderr(out).contains("disagree"), "{}", stderr(out));
    }
}

#[test]
fn a_corrupt_large_binary_circuit_is_a_one_line_error_before_any_connection() {
    let s = Scratch::new("large-binary-corrupt");
    let file = chained_file(&s);
    let mut bytes = std::fs::read(&file).unwrap();
    let gates = 36_663 * COPIES;
    let first = bytes.len() - gates * 13;
    // Gate 500,000's first operand: a wire no gate has written yet.
    let at = first + 500_000 * 13 + 1;
    bytes[at..at + 4].copy_from_slice(&1_000_000u32.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let out = support::bin()
        .args(["run", file.to_str().unwrap(), "--as", "garbler", "--insecure", "--connect", "127.0.0.1:9"])
        .args(["-i", "key=1", "--timeout", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("gate 500000 reads wire 1000000 before any gate writes it"), "{text}");
    assert!(text.contains("not a valid one"), "{text}");
    // One error line (after --insecure's warning).
    assert_eq!(text.lines().filter(|l| l.starts_with("error:")).count(), 1, "{text}");
}
