//! Embedding garblet: both parties of a computation over an in-memory
//! channel, in two threads — what a protocol engineer wires to their own
//! transport. `cargo run --release --example embed`
//!
//! The program is the AES-128 Bristol circuit kept in the repository
//! (`circuits/bristol/aes_128.txt`), with the key at the garbler and the
//! plaintext at the evaluator, checked against FIPS-197; where the file is
//! not there (the example copied out of the repository), a 32-bit product
//! built with the Rust API. Values follow the Bristol convention: a byte
//! string read as a big-endian integer, bit k of it on wire k
//! (`u128_to_bits`, `bits_to_u128`).

use garblet::circuits::{bristol, opt, Builder, Circuit, Party, Visibility};
use garblet::{bits_to_u128, memory_pair, run_evaluator, run_garbler, u128_to_bits, Channel, PartyInputs};

/// The circuit, the garbler's input bits and the evaluator's input bits.
type Job = (Circuit, Vec<bool>, Vec<bool>);

/// FIPS-197, appendix C.1: key, plaintext, ciphertext.
const FIPS_197: [u128; 3] = [
    0x000102030405060708090a0b0c0d0e0f,
    0x00112233445566778899aabbccddeeff,
    0x69c4e0d86a7b0430d8cdb78070b4c55a,
];

fn program() -> Result<Job, Box<dyn std::error::Error>> {
    let aes = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/circuits/bristol/aes_128.txt"));
    if aes.exists() {
        // A file that is there but does not read is an error, not the product.
        let c = bristol::read_file(aes)?;
        return Ok((c, u128_to_bits(FIPS_197[0], 128), u128_to_bits(FIPS_197[1], 128)));
    }
    let mut b = Builder::new();
    let x = b.input("in0", Party::Garbler, 32)?;
    let y = b.input("in1", Party::Evaluator, 32)?;
    let p = b.mul(&x, &y);
    b.output("out0", Visibility::Both, p)?;
    let bits = |v: u32| (0..32).map(|k| (v >> k) & 1 == 1).collect();
    Ok((opt::optimize(&b.finish()?), bits(0xdead_beef), bits(0x1234_5678)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (circuit, garbler_value, evaluator_value) = program()?;
    let (g_end, e_end) = memory_pair();
    let g_circuit = circuit.clone();
    let garbler = std::thread::spawn(move || {
        let mut ch = Channel::new(g_end);
        run_garbler(&mut ch, &g_circuit, &PartyInputs::new([("in0".to_string(), garbler_value)]), None)
    });
    let mut ch = Channel::new(e_end);
    let outcome =
        run_evaluator(&mut ch, &circuit, &PartyInputs::new([("in1".to_string(), evaluator_value)]), None)?;
    let g = garbler.join().map_err(|_| "garbler thread panicked")??;
    for (name, bits) in &outcome.outputs {
        let value = bits_to_u128(bits);
        println!("evaluator learns {name} = {value:#0width$x}", width = 2 + bits.len() / 4);
        if bits.len() == 128 && value != FIPS_197[2] {
            return Err(format!("{name} is not FIPS-197's ciphertext {:#034x}", FIPS_197[2]).into());
        }
    }
    println!(
        "{} AND gates, garbler sent {} bytes, evaluator sent {} bytes, {:.1} ms",
        outcome.and_gates,
        g.bytes_sent,
        outcome.bytes_sent,
        outcome.seconds * 1e3
    );
    Ok(())
}
