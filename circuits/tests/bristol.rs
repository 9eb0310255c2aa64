//! The shared Bristol Fashion circuits (written elsewhere) parse, round-trip,
//! and give their published known answers, and random vectors agree with the
//! RustCrypto `aes` and `sha2` crates. Malformed files are errors with a line
//! number, never panics.

use garblet_circuits::bristol;
use garblet_circuits::Circuit;
use garblet_testkit::{bits_bytes, bytes_bits};
use proptest::prelude::*;

fn load(name: &str) -> Circuit {
    bristol::read_file(garblet_testkit::bristol(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Hex (big-endian byte string) → bits, bit k = wire k, checked against
/// the input's width.
fn hex_bits(hex: &str, width: usize) -> Vec<bool> {
    let bits = garblet_testkit::hex_bits(hex);
    assert_eq!(bits.len(), width, "value width");
    bits
}

fn bits_hex(bits: &[bool]) -> String {
    bits_bytes(bits).iter().map(|b| format!("{b:02x}")).collect()
}

fn run(c: &Circuit, inputs: &[&str]) -> String {
    let values: Vec<Vec<bool>> =
        c.inputs().iter().zip(inputs).map(|(i, h)| hex_bits(h, i.width as usize)).collect();
    bits_hex(&c.eval_bits(&values).unwrap()[0])
}

const SHA_IV: &str = "6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19";

#[test]
fn stats_match_source_md() {
    // (file, AND, XOR, INV, gates, wires) from circuits/bristol/SOURCE.md
    let table = [
        ("aes_128.txt", 6_400, 28_176, 2_087, 36_663, 36_919),
        ("aes_192.txt", 7_168, 32_080, 2_317, 41_565, 41_885),
        ("aes_256.txt", 8_832, 39_008, 2_826, 50_666, 51_050),
        ("sha256.txt", 22_573, 110_644, 1_856, 135_073, 135_841),
        ("mult64.txt", 4_033, 9_642, 0, 13_675, 13_803),
    ];
    for (file, and, xor, inv, gates, wires) in table {
        let s = load(file).stats();
        assert_eq!((s.and, s.xor, s.inv, s.gates, s.wires), (and, xor, inv, gates, wires), "{file}");
    }
}

#[test]
fn known_answers() {
    let aes128 = load("aes_128.txt");
    assert_eq!(
        run(&aes128, &["000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff"]),
        "69c4e0d86a7b0430d8cdb78070b4c55a"
    );
    assert_eq!(
        run(&aes128, &["00".repeat(16).as_str(), "00".repeat(16).as_str()]),
        "66e94bd4ef8a2c3b884cfa59ca342b2e"
    );
    assert_eq!(
        run(
            &load("aes_192.txt"),
            &["000102030405060708090a0b0c0d0e0f1011121314151617", "00112233445566778899aabbccddeeff"]
        ),
        "dda97ca4864cdfe06eaf70a0ec0d7191"
    );
    let key256: String = (0..32).map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        run(&load("aes_256.txt"), &[key256.as_str(), "00112233445566778899aabbccddeeff"]),
        "8ea2b7ca516745bfeafc49904b496089"
    );
    let sha = load("sha256.txt");
    let empty = format!("80{}", "00".repeat(63));
    assert_eq!(
        run(&sha, &[empty.as_str(), SHA_IV]),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let abc = format!("61626380{}0000000000000018", "00".repeat(52));
    assert_eq!(
        run(&sha, &[abc.as_str(), SHA_IV]),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let block1 = "6162636462636465636465666465666765666768666768696768696a68696a6b696a6b6c6a6b6c6d6b6c6d6e6c6d6e6f6d6e6f706e6f70718000000000000000";
    let mid = run(&sha, &[block1, SHA_IV]);
    assert_eq!(mid, "85e655d6417a17953363376a624cde5c76e09589cac5f811cc4b32c1f20e533a");
    let block2 = format!("{}00000000000001c0", "00".repeat(56));
    assert_eq!(
        run(&sha, &[block2.as_str(), mid.as_str()]),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    let mult = load("mult64.txt");
    assert_eq!(run(&mult, &["ffffffffffffffff", "0000000000000002"]), "fffffffffffffffe");
    assert_eq!(run(&mult, &["0123456789abcdef", "fedcba9876543210"]), "2236d88fe5618cf0");
}

#[test]
fn random_vectors_agree_with_rustcrypto() {
    use aes::cipher::{BlockEncrypt, KeyInit};
    let aes128 = load("aes_128.txt");
    let aes256 = load("aes_256.txt");
    let sha = load("sha256.txt");
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(
            &(any::<[u8; 32]>(), any::<[u8; 16]>(), prop::collection::vec(any::<u8>(), 64)),
            |(key, pt, block)| {
                let k128 = aes::Aes128::new_from_slice(&key[..16]).unwrap();
                let mut ct = aes::Block::clone_from_slice(&pt);
                k128.encrypt_block(&mut ct);
                let got = aes128.eval_bits(&[bytes_bits(&key[..16]), bytes_bits(&pt)]).unwrap();
                prop_assert_eq!(bits_bytes(&got[0]), ct.to_vec());

                let k256 = aes::Aes256::new_from_slice(&key).unwrap();
                let mut ct = aes::Block::clone_from_slice(&pt);
                k256.encrypt_block(&mut ct);
                let got = aes256.eval_bits(&[bytes_bits(&key), bytes_bits(&pt)]).unwrap();
                prop_assert_eq!(bits_bytes(&got[0]), ct.to_vec());

                // One compression from a random chaining state.
                let mut state = [0u32; 8];
                for (i, s) in state.iter_mut().enumerate() {
                    *s = u32::from_be_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]);
                }
                let got = sha.eval_bits(&[bytes_bits(&block), bytes_bits(&key)]).unwrap();
                let mut block_arr = [0u8; 64];
                block_arr.copy_from_slice(&block);
                sha2::compress256(&mut state, &[block_arr.into()]);
                let want: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
                prop_assert_eq!(bits_bytes(&got[0]), want);
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn every_shared_file_round_trips() {
    for file in ["aes_128.txt", "aes_192.txt", "aes_256.txt", "sha256.txt", "mult64.txt"] {
        let c = load(file);
        let mut text = Vec::new();
        bristol::write(&c, &mut text).unwrap();
        let again = bristol::read(&text[..]).unwrap();
        assert_eq!(again, c, "{file}: read(write(c)) == c");
        assert_eq!(again.digest(), c.digest());
        // Byte-identical on the second trip.
        let mut text2 = Vec::new();
        bristol::write(&again, &mut text2).unwrap();
        assert_eq!(text, text2, "{file}");
    }
}

#[test]
fn optimised_and_renumbered_circuits_still_give_the_known_answer() {
    let c = load("aes_128.txt");
    let opt = garblet_circuits::opt::optimize(&c);
    assert!(opt.stats().and <= c.stats().and);
    assert!(opt.num_wires() < c.num_wires() / 10, "wire reuse: {} wires", opt.num_wires());
    assert_eq!(
        run(&opt, &["000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff"]),
        "69c4e0d86a7b0430d8cdb78070b4c55a"
    );
    // An optimised, wire-reusing circuit still writes as valid Bristol.
    let mut text = Vec::new();
    bristol::write(&opt, &mut text).unwrap();
    let back = bristol::read(&text[..]).unwrap();
    assert_eq!(
        run(&back, &["000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff"]),
        "69c4e0d86a7b0430d8cdb78070b4c55a"
    );
}

#[test]
fn gate_forms_eq_eqw_mand_and_old_format() {
    // in0 (2 bits), in1 (2 bits); out0 = (a0&b0, a1&b1) via MAND; out1 = copy of a0; out2 = const 1.
    let text = "3 8\n2 2 2\n3 2 1 1\n\n4 2 0 1 2 3 4 5 MAND\n1 1 0 6 EQW\n1 1 1 7 EQ\n";
    let c = bristol::parse_str(text).unwrap();
    assert_eq!(c.stats().and, 2);
    let out = c.eval_u128(&[0b11, 0b01]).unwrap();
    assert_eq!(out, vec![0b01, 1, 1]);
    // Old Bristol: `gates wires`, `n1 n2 n3`, gates.
    let old = "2 5\n1 1 1\n\n2 1 0 1 2 AND\n1 1 2 3 INV\n";
    let err = bristol::parse_str(old).unwrap_err();
    assert!(err.to_string().contains("line"), "{err}");
    let old = "2 4\n1 1 1\n\n2 1 0 1 2 AND\n1 1 2 3 INV\n";
    let c = bristol::parse_str(old).unwrap();
    assert_eq!(c.eval_u128(&[1, 1]).unwrap(), vec![0]);
    assert_eq!(c.eval_u128(&[0, 1]).unwrap(), vec![1]);
}

#[test]
fn malformed_files_name_the_line() {
    let cases = [
        ("", "line 1"),
        ("1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n", ""),
        ("x y\n", "line 1"),
        ("1 3\n2 1 1\n1 1\n\n2 1 0 1 2 NAND\n", "line 5: unknown gate `NAND`"),
        ("1 3\n2 1 1\n1 1\n\n2 1 0 7 2 XOR\n", "line 5: wire 7 is past"),
        ("1 3\n2 1 1\n1 1\n\n2 1 0 2 2 XOR\n", "line 5: wire 2 is read before"),
        ("2 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n", "declares 2 gates, the file has 1"),
        ("1 3\n2 1 1\n1 1\n\n3 1 0 1 2 XOR\n", "line 5"),
        ("1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n2 1 0 1 2 XOR\n", "line 6"),
        ("1 3\n2 1 1\n1 1 1\n\n2 1 0 1 2 XOR\n", "line 3"),
        ("1 99999999999\n", "line 1"),
        (
            "1 3\n2 1 1\n1 1\n\n1 1 0 1 2 XOR\n",
            "line 5: the gate says 1 input and 1 output but lists 3 wires",
        ),
        // A gate writing an input, and a line cut before its operation.
        (
            "1 3\n2 1 1\n1 1\n\n2 1 0 1 1 XOR\n",
            "line 5: wire 1 is an input (wires 0 to 1): no gate may write it",
        ),
        (
            "3 4\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n2 1 0 2 3 AND\n2 1 0 1 2 XOR\n",
            "line 7: wire 2 is written twice",
        ),
        (
            "2 4\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n1 1 2",
            "line 6: the gate line ends with the number 2, not an operation",
        ),
    ];
    for (text, want) in cases {
        match bristol::parse_str(text) {
            Ok(_) if want.is_empty() => {}
            Ok(_) => panic!("{text:?} parsed"),
            Err(e) => assert!(e.to_string().contains(want), "{text:?}: {e}"),
        }
    }
    assert!(bristol::read_file("/nonexistent/file.txt")
        .unwrap_err()
        .to_string()
        .contains("/nonexistent/file.txt"));
}

proptest! {
    /// Any byte-level damage to a valid file is an error or a circuit, never a panic.
    #[test]
    fn damaged_files_never_panic(cut in 0usize..200, junk in prop::collection::vec(any::<u8>(), 0..20), at in 0usize..200) {
        let good = "5 9\n2 2 2\n1 2\n\n2 1 0 2 4 AND\n2 1 1 3 5 XOR\n1 1 4 6 INV\n2 1 5 6 7 AND\n1 1 7 8 INV\n".as_bytes();
        let mut bytes = good[..cut.min(good.len())].to_vec();
        let at = at.min(bytes.len());
        bytes.splice(at..at, junk);
        let _ = bristol::read(&bytes[..]);
    }
}

#[test]
fn batched_aes_is_independent_encryptions_under_one_key() {
    use aes::cipher::{BlockEncrypt, KeyInit};
    let aes128 = load("aes_128.txt");
    let batched = garblet_circuits::compose::batch(&aes128, 3, "key", "plaintexts", "ciphertexts").unwrap();
    assert_eq!(batched.and_count(), 3 * aes128.and_count());
    assert_eq!(batched.input("plaintexts").unwrap().width, 3 * 128);
    let key: Vec<u8> = (0u8..16).collect();
    let cipher = aes::Aes128::new_from_slice(&key).unwrap();
    let blocks = [
        "00112233445566778899aabbccddeeff",
        "000102030405060708090a0b0c0d0e0f",
        "ffeeddccbbaa99887766554433221100",
    ];
    let plaintexts: Vec<bool> = blocks.iter().flat_map(|h| hex_bits(h, 128)).collect();
    let out = batched.eval_bits(&[hex_bits("000102030405060708090a0b0c0d0e0f", 128), plaintexts]).unwrap();
    for (k, (got, h)) in out[0].chunks(128).zip(blocks).enumerate() {
        let mut block = aes::Block::clone_from_slice(&bits_bytes(&hex_bits(h, 128)));
        cipher.encrypt_block(&mut block);
        let want: String = block.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(bits_hex(got), want, "block {k}");
    }
}

#[test]
fn chained_aes_is_aes_applied_again_and_again() {
    use aes::cipher::{BlockEncrypt, KeyInit};
    let aes128 = load("aes_128.txt");
    let chained = garblet_circuits::compose::chain(&aes128, 5, "key", "plaintext", "ciphertext").unwrap();
    assert_eq!(chained.and_count(), 5 * aes128.and_count());
    assert_eq!(chained.gates().len(), 5 * aes128.gates().len());
    // RustCrypto's AES-128, five times over the FIPS-197 key and block.
    let key: Vec<u8> = (0u8..16).collect();
    let cipher = aes::Aes128::new_from_slice(&key).unwrap();
    let mut block = aes::Block::clone_from_slice(&[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    ]);
    for _ in 0..5 {
        cipher.encrypt_block(&mut block);
    }
    let want: String = block.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        run(&chained, &["000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff"]),
        want
    );
    // One input only: nothing to chain through.
    let mut b = garblet_circuits::Builder::new();
    let x = b.input("x", garblet_circuits::Party::Garbler, 8).unwrap();
    b.output("y", garblet_circuits::Visibility::Both, x).unwrap();
    let one_input = b.finish().unwrap();
    assert_eq!(
        garblet_circuits::compose::chain(&one_input, 2, "a", "b", "c").unwrap_err(),
        garblet_circuits::CircuitError::NotChainable
    );
}
