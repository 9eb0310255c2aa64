//! The wire format, pinned: a whole semi-honest session with fixed seeds,
//! byte for byte, against transcripts kept in `tests/data/`. Any change to
//! what crosses the wire (message order, sizes, tags, encodings, the hash
//! or OT constructions) fails here; an intended change bumps
//! `PROTOCOL_VERSION`, then regenerates the files with
//! `GARBLET_BLESS=1 cargo test --test golden_transcript` and says why in
//! the commit.
//!
//! Two programs cover both OT paths: 64 evaluator bits (one base OT per
//! bit) and 256 (OT extension with the KOS check).

use garblet::engine::session::{SessionProgram, PROTOCOL_VERSION};
use garblet::{Builder, Party, PartyInputs, Visibility};
use garblet_testkit::{bits, recorded_transcript};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// x (64 bits, garbler) + the low 64 bits of y (`evaluator_bits`), and
/// x > those bits, revealed to both.
fn check(evaluator_bits: u32, name: &str) {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 64).unwrap();
    let y = b.input("y", Party::Evaluator, evaluator_bits).unwrap();
    let low = y[..64].to_vec();
    let sum = b.add(&x, &low);
    let gt = b.gt(&x, &low, garblet::circuits::Sign::Unsigned);
    b.output("sum", Visibility::Both, sum).unwrap();
    b.output("gt", Visibility::Evaluator, vec![gt]).unwrap();
    let c = b.finish().unwrap();
    let program = SessionProgram::from_circuit(&c).unwrap();
    let g = PartyInputs::new([("x".to_owned(), bits(0x0123_4567_89ab_cdef, 64))]);
    let e =
        PartyInputs::new([("y".to_owned(), (0..evaluator_bits).map(|k| k % 3 == 1).collect::<Vec<bool>>())]);
    let (g_to_e, e_to_g) = recorded_transcript(&program, &g, &e, (11, 22));
    let text = format!(
        "protocol version {PROTOCOL_VERSION}\ngarbler to evaluator ({} bytes)\n{}\nevaluator to garbler ({} bytes)\n{}\n",
        g_to_e.len(),
        wrap(&g_to_e),
        e_to_g.len(),
        wrap(&e_to_g)
    );
    let path = data(name);
    if std::env::var_os("GARBLET_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if want != text {
        let first = want.lines().zip(text.lines()).position(|(a, b)| a != b);
        panic!(
            "the wire format changed ({}; first differing line {first:?}): if intended, bump PROTOCOL_VERSION and regenerate with GARBLET_BLESS=1",
            path.display()
        );
    }
}

/// Hex, 64 digits a line.
fn wrap(bytes: &[u8]) -> String {
    bytes
        .chunks(32)
        .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_session_with_base_ots_sends_exactly_the_recorded_bytes() {
    check(64, "transcript-base-ot.txt");
}

#[test]
fn a_session_with_ot_extension_sends_exactly_the_recorded_bytes() {
    check(256, "transcript-ot-extension.txt");
}
