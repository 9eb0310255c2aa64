//! Builds the millionaires' circuit with the Rust API, prints its statistics,
//! writes it as Bristol Fashion, and evaluates it in plaintext.
//!
//! `cargo run --example millionaires_builder`

use garblet::circuits::{bristol, opt, Builder, Party, Sign, Visibility};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut b = Builder::new();
    let alice = b.input("alice", Party::Garbler, 64)?;
    let bob = b.input("bob", Party::Evaluator, 64)?;
    let richer = b.gt(&alice, &bob, Sign::Unsigned);
    b.output("alice_is_richer", Visibility::Both, vec![richer])?;
    let circuit = opt::optimize(&b.finish()?);

    let s = circuit.stats();
    println!("{} AND gates, {} XOR, {} INV, AND-depth {}", s.and, s.xor, s.inv, s.and_depth);
    println!("digest blake3:{}", circuit.digest());
    for (alice, bob) in [(1_000_000u128, 999_999u128), (5, 7)] {
        let out = circuit.eval_u128(&[alice, bob])?;
        println!("alice {alice}, bob {bob}: alice is richer = {}", out[0] == 1);
    }
    // A Bristol Fashion round trip through a file of this run's own, removed
    // afterwards (never a fixed name in the shared temp folder).
    let path = std::env::temp_dir().join(format!("garblet-millionaires-{}.txt", std::process::id()));
    bristol::write_file(&circuit, &path)?;
    let back = bristol::read_file(&path);
    std::fs::remove_file(&path)?;
    println!("Bristol Fashion round trip: {} gates", back?.gates().len());
    Ok(())
}
