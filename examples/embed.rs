//! Embedding garblet: both parties of a computation over an in-memory
//! channel, in two threads — what a protocol engineer wires to their own
//! transport. `cargo run --release --example embed`
//!
//! The program is the AES-128 Bristol circuit kept in the
//! repository (`circuits/bristol/aes_128.txt`), with the key at the
//! garbler and the plaintext at the evaluator; otherwise a 32-bit product
//! built with the Rust API.

use garblet::circuits::{bristol, opt, Builder, Circuit, Party, Visibility};
use garblet::{memory_pair, run_evaluator, run_garbler, Channel, PartyInputs};

fn bits_of_bytes(bytes: &[u8]) -> Vec<bool> {
    // Bristol convention: the byte string read big-endian, bit k = wire k.
    let n = bytes.len();
    (0..n * 8).map(|i| (bytes[n - 1 - i / 8] >> (i % 8)) & 1 == 1).collect()
}

fn hex_of_bits(bits: &[bool]) -> String {
    let n = bits.len() / 8;
    (0..n)
        .map(|j| format!("{:02x}", (0..8).fold(0u8, |a, b| a | (u8::from(bits[(n - 1 - j) * 8 + b]) << b))))
        .collect()
}

/// The circuit, the garbler's input bits and the evaluator's input bits.
type Job = (Circuit, Vec<bool>, Vec<bool>);

fn program() -> Result<Job, Box<dyn std::error::Error>> {
    let aes = concat!(env!("CARGO_MANIFEST_DIR"), "/circuits/bristol/aes_128.txt");
    if let Ok(c) = bristol::read_file(aes) {
        let key = bits_of_bytes(&(0u8..16).collect::<Vec<_>>());
        let pt = bits_of_bytes(&[
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
        ]);
        return Ok((c, key, pt));
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
        println!("evaluator learns {name} = 0x{}", hex_of_bits(bits));
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
