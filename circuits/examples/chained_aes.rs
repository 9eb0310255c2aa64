//! Writes the deep benchmark circuit of issue 15: `COPIES` AES-128 circuits
//! (`circuits/bristol/aes_128.txt`) chained, each encrypting the previous
//! one's output under the same key — one long dependency chain. With the
//! default 1,563 copies it has 57.3 M gates, 10.0 M of them AND, and is
//! 1.94 GB as Bristol Fashion text.
//!
//! ```text
//! cargo run --release -p garblet-circuits --example chained_aes -- [COPIES] [OUT.txt] [--binary OUT.gbc] [--no-text] [--check] [--batch]
//! ```
//!
//! With `--batch` the copies are independent instead (`compose::batch`):
//! inputs `key` and `plaintexts` (`COPIES` blocks, block `k` in bits
//! `128k..128k + 128`), output `ciphertexts` — the link benchmark's
//! 1,000 × AES-128 workload.
//!
//! Inputs: `key` (garbler, 128 bits), `plaintext` (evaluator, 128 bits), in
//! the wire order of the Bristol AES circuit (its `in0` and `in1`). Output:
//! `ciphertext` (both), the last copy's output. `--check` evaluates the
//! written circuit on the FIPS-197 key and plaintext and compares it with
//! `COPIES` evaluations of the single AES circuit, and the first copy with
//! RustCrypto's AES (via the single circuit's FIPS-197 vector, tested in
//! the crate's tests).

use garblet_circuits::{bristol, canonical, compose};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut copies = 1563usize;
    let mut out = std::env::temp_dir().join("garblet-chained-aes.txt");
    let mut binary: Option<PathBuf> = None;
    let mut check = false;
    let mut text = true;
    let mut batched = false;
    let mut positional = 0;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--binary" => binary = Some(PathBuf::from(args.next().ok_or("--binary needs a path")?)),
            "--check" => check = true,
            "--no-text" => text = false,
            "--batch" => batched = true,
            _ if positional == 0 => {
                copies = a.parse()?;
                positional += 1;
            }
            _ => out = PathBuf::from(a),
        }
    }
    let aes = bristol::read_file(concat!(env!("CARGO_MANIFEST_DIR"), "/bristol/aes_128.txt"))?;
    let start = Instant::now();
    let chained = if batched {
        compose::batch(&aes, copies, "key", "plaintexts", "ciphertexts")?
    } else {
        compose::chain(&aes, copies, "key", "plaintext", "ciphertext")?
    };
    println!(
        "{copies} copies: {} gates, {} AND ({:.1} s to build)",
        chained.gates().len(),
        chained.and_count(),
        start.elapsed().as_secs_f64()
    );
    if check && !batched {
        let key = fips_bits(0x000102030405060708090a0b0c0d0e0f);
        let mut block = fips_bits(0x00112233445566778899aabbccddeeff);
        let whole = chained.eval_bits(&[key.clone(), block.clone()])?;
        for _ in 0..copies {
            block = aes.eval_bits(&[key.clone(), block])?.remove(0);
        }
        assert_eq!(whole[0], block, "the chain is COPIES evaluations of one AES");
        println!("checked: the chained circuit equals {copies} AES-128 evaluations");
    }
    if text {
        let start = Instant::now();
        bristol::write_file(&chained, &out)?;
        println!(
            "wrote {} ({:.2} GB, {:.1} s)",
            out.display(),
            std::fs::metadata(&out)?.len() as f64 / 1e9,
            start.elapsed().as_secs_f64()
        );
    }
    if let Some(path) = binary {
        canonical::write_file(&chained, &path)?;
        println!("wrote {} ({:.2} GB)", path.display(), std::fs::metadata(&path)?.len() as f64 / 1e9);
    }
    Ok(())
}

/// The Bristol AES circuit's input bits for a 128-bit value, as the link
/// benchmark passes them (`-i in0=0x…`): least significant bit first.
fn fips_bits(v: u128) -> Vec<bool> {
    (0..128).map(|i| v >> i & 1 == 1).collect()
}
