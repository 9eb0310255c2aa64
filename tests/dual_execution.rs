//! Dual execution end to end: honest runs of the reference circuits give
//! the published answers (FIPS-197 for AES-128, RustCrypto's SHA-256
//! compression) to both parties, through the library and between two
//! `garblet run` processes; a mode mismatch is refused by both.

use aes::cipher::{BlockEncrypt, KeyInit};
use garblet::circuits::{bristol, opt, Circuit, Party};
use garblet::engine::session::{SecurityMode, SessionConfig, SessionOutcome, SessionProgram};
use garblet::{memory_pair, Channel, PartyInputs};
use garblet_testkit::{bytes_bits, hex, unhex};
use std::process::Stdio;
use support::{bin, free_port};

mod support;
use std::time::Duration;

fn circuit(name: &str) -> Circuit {
    let path = garblet_testkit::bristol(name);
    opt::optimize(&bristol::read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn dualex(c: &Circuit, g: (&str, Vec<bool>), e: (&str, Vec<bool>)) -> (SessionOutcome, SessionOutcome) {
    let config = SessionConfig::new().with_security(SecurityMode::DualExecution);
    let program = SessionProgram::for_dual_execution(c).unwrap();
    let ((pg, pe), (sg, se)) = (memory_pair(), memory_pair());
    let (gi, ei) = (PartyInputs::new([(g.0.to_owned(), g.1)]), PartyInputs::new([(e.0.to_owned(), e.1)]));
    std::thread::scope(|s| {
        let garbler = s.spawn(|| {
            config.run_dual_execution(Party::Garbler, &mut Channel::new(pg), || Ok(sg), &program, &gi)
        });
        let evaluator =
            config.run_dual_execution(Party::Evaluator, &mut Channel::new(pe), || Ok(se), &program, &ei);
        (garbler.join().unwrap().unwrap(), evaluator.unwrap())
    })
}

#[test]
fn aes_128_in_dual_execution_gives_both_parties_the_fips_answer() {
    let c = circuit("aes_128.txt");
    let key: Vec<u8> = (0..16).collect();
    let pt = unhex("00112233445566778899aabbccddeeff");
    let (g, e) = dualex(&c, ("in0", bytes_bits(&key)), ("in1", bytes_bits(&pt)));
    let want = bytes_bits(&unhex("69c4e0d86a7b0430d8cdb78070b4c55a"));
    assert_eq!(g.outputs, vec![("out0".to_owned(), want)]);
    assert_eq!(e.outputs, g.outputs);
    // And a fresh key and block against RustCrypto's AES.
    let key: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
    let pt: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(91) ^ 0x3c);
    let mut block = aes::Block::clone_from_slice(&pt);
    aes::Aes128::new_from_slice(&key).unwrap().encrypt_block(&mut block);
    let (g, e) = dualex(&c, ("in0", bytes_bits(&key)), ("in1", bytes_bits(&pt)));
    assert_eq!(g.outputs[0].1, bytes_bits(&block));
    assert_eq!(e.outputs[0].1, bytes_bits(&block));
}

#[test]
fn sha_256_in_dual_execution_gives_both_parties_rustcryptos_answer() {
    let c = circuit("sha256.txt");
    const IV: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    // "abc", padded: one block.
    let mut block = [0u8; 64];
    block[..3].copy_from_slice(b"abc");
    block[3] = 0x80;
    block[63] = 24;
    let iv: Vec<u8> = IV.iter().flat_map(|w| w.to_be_bytes()).collect();
    let mut state = IV;
    sha2::compress256(&mut state, &[block.into()]);
    let want: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
    // SHA-256("abc") (FIPS 180-2, appendix B.1).
    assert_eq!(hex(&want), "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let (g, e) = dualex(&c, ("in0", bytes_bits(&block)), ("in1", bytes_bits(&iv)));
    assert_eq!(g.outputs[0].1, bytes_bits(&want));
    assert_eq!(e.outputs[0].1, bytes_bits(&want));
}

/// `garblet run` for both parties, as two processes over plain TCP
/// (`--insecure`: TLS is tested elsewhere), with each side's `--security`.
fn two_processes(g_mode: &str, e_mode: &str) -> (std::process::Output, std::process::Output) {
    let aes = garblet_testkit::bristol("aes_128.txt").display().to_string();
    let listen = format!("127.0.0.1:{}", free_port());
    let common = ["--insecure", "--timeout", "20", "--json"];
    let g = bin()
        .args(["run", &aes, "--as", "garbler", "--listen", &listen, "--security", g_mode])
        .args(common)
        .args(["-i", "in0=0x000102030405060708090a0b0c0d0e0f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let e = bin()
        .args(["run", &aes, "--as", "evaluator", "--connect", &listen, "--security", e_mode])
        .args(common)
        .args(["-i", "in1=0x00112233445566778899aabbccddeeff"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (g.wait_with_output().unwrap(), e.wait_with_output().unwrap())
}

#[test]
fn two_processes_in_dual_execution_agree_on_aes() {
    let (g, e) = two_processes("dualex", "dualex");
    for out in [&g, &e] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["outputs"]["out0"], "0x69c4e0d86a7b0430d8cdb78070b4c55a", "{v}");
    }
}

#[test]
fn two_processes_with_different_modes_are_refused() {
    let (g, e) = two_processes("dualex", "semi-honest");
    for out in [&g, &e] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The side that reads the other's hello names the modes.
    let both = format!("{}{}", String::from_utf8_lossy(&g.stderr), String::from_utf8_lossy(&e.stderr));
    assert!(both.contains("security mode"), "{both}");
}
