//! Writes the deep benchmark circuit of issue 15: `COPIES` AES-128 circuits
//! (`circuits/bristol/aes_128.txt`) chained, each encrypting the previous
//! one's output under the same key — one long dependency chain. With the
//! default 1,563 copies it has 57.3 M gates, 10.0 M of them AND, and is
//! 1.94 GB as Bristol Fashion text.
//!
//! ```text
//! cargo run --release -p garblet-circuits --example chained_aes -- [COPIES] [OUT.txt] [--binary OUT.gbc] [--check]
//! ```
//!
//! Inputs: `key` (garbler, 128 bits), `plaintext` (evaluator, 128 bits), in
//! the wire order of the Bristol AES circuit (its `in0` and `in1`). Output:
//! `ciphertext` (both), the last copy's output. `--check` evaluates the
//! written circuit on the FIPS-197 key and plaintext and compares it with
//! `COPIES` evaluations of the single AES circuit, and the first copy with
//! RustCrypto's AES (via the single circuit's FIPS-197 vector, tested in
//! the crate's tests).

use garblet_circuits::{
    bristol, canonical, Circuit, Gate, GateKind, InputSpec, Output, Party, Visibility, WireId,
};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut copies = 1563usize;
    let mut out = std::env::temp_dir().join("garblet-chained-aes.txt");
    let mut binary: Option<PathBuf> = None;
    let mut check = false;
    let mut positional = 0;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--binary" => binary = Some(PathBuf::from(args.next().ok_or("--binary needs a path")?)),
            "--check" => check = true,
            _ if positional == 0 => {
                copies = a.parse()?;
                positional += 1;
            }
            _ => out = PathBuf::from(a),
        }
    }
    let aes = bristol::read_file(concat!(env!("CARGO_MANIFEST_DIR"), "/bristol/aes_128.txt"))?;
    let start = Instant::now();
    let chained = chain(&aes, copies)?;
    println!(
        "{copies} copies: {} gates, {} AND ({:.1} s to build)",
        chained.gates().len(),
        chained.and_count(),
        start.elapsed().as_secs_f64()
    );
    if check {
        let key = fips_bits(0x000102030405060708090a0b0c0d0e0f);
        let mut block = fips_bits(0x00112233445566778899aabbccddeeff);
        let whole = chained.eval_bits(&[key.clone(), block.clone()])?;
        for _ in 0..copies {
            block = aes.eval_bits(&[key.clone(), block])?.remove(0);
        }
        assert_eq!(whole[0], block, "the chain is COPIES evaluations of one AES");
        println!("checked: the chained circuit equals {copies} AES-128 evaluations");
    }
    let start = Instant::now();
    bristol::write_file(&chained, &out)?;
    println!(
        "wrote {} ({:.2} GB, {:.1} s)",
        out.display(),
        std::fs::metadata(&out)?.len() as f64 / 1e9,
        start.elapsed().as_secs_f64()
    );
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

/// `copies` copies of `aes` (inputs key, plaintext; one 128-bit output),
/// copy `k + 1` taking copy `k`'s output as its plaintext.
fn chain(aes: &Circuit, copies: usize) -> Result<Circuit, Box<dyn std::error::Error>> {
    let [key_in, pt_in] = aes.inputs() else { return Err("AES has two inputs".into()) };
    let inputs = vec![
        InputSpec::new("key", Party::Garbler, key_in.width),
        InputSpec::new("plaintext", Party::Evaluator, pt_in.width),
    ];
    let key: Vec<WireId> = (0..key_in.width).map(|i| WireId::new(WireId::FIRST_FREE + i)).collect();
    let mut block: Vec<WireId> =
        (0..pt_in.width).map(|i| WireId::new(WireId::FIRST_FREE + key_in.width + i)).collect();
    let mut next = WireId::FIRST_FREE + key_in.width + pt_in.width;
    let mut gates = Vec::with_capacity(copies * aes.gates().len());
    let mut map = vec![WireId::ZERO; aes.num_wires() as usize];
    map[1] = WireId::ONE;
    for _ in 0..copies {
        for (w, k) in key_in.wires().zip(&key) {
            map[w.index()] = *k;
        }
        for (w, b) in pt_in.wires().zip(&block) {
            map[w.index()] = *b;
        }
        for g in aes.gates() {
            let out = WireId::new(next);
            next = next.checked_add(1).ok_or("more than 2^32 wires")?;
            map[g.out.index()] = out;
            let (a, b) = (map[g.a.index()], map[g.b.index()]);
            gates.push(match g.kind {
                GateKind::Xor => Gate::xor(a, b, out),
                GateKind::And => Gate::and(a, b, out),
                GateKind::Inv => Gate::inv(a, out),
            });
        }
        block = aes.outputs()[0].wires.iter().map(|w| map[w.index()]).collect();
    }
    let outputs = vec![Output { name: "ciphertext".into(), visibility: Visibility::Both, wires: block }];
    Ok(Circuit::new(next, inputs, outputs, gates)?)
}
