//! The generated circuit the loading benchmarks read: AND/XOR-heavy, SSA,
//! operands drawn from recent wires (as in arithmetic and AES circuits), so
//! that wire numbers have as many digits as in real large files.
//!
//! Shared by `benches/load.rs` and `examples/load_speed.rs` through
//! `#[path]`; it needs only the crate and its dev-dependency `rand`.

use garblet_circuits::{Circuit, Gate, InputSpec, Output, Party, Visibility, WireId};

use rand::{rngs::StdRng, RngCore, SeedableRng};

/// A circuit of `gates` gates (about 45 % AND, 50 % XOR, 5 % INV) on two
/// 128-bit inputs, with one 128-bit output (the last gates written).
pub(crate) fn circuit(gates: usize, seed: u64) -> Circuit {
    let mut rng = StdRng::seed_from_u64(seed);
    let inputs =
        vec![InputSpec::new("in0", Party::Garbler, 128), InputSpec::new("in1", Party::Evaluator, 128)];
    let first = WireId::FIRST_FREE;
    let mut next = first + 256;
    let mut list = Vec::with_capacity(gates);
    for _ in 0..gates {
        let r = rng.next_u64();
        // Operands among the last 4096 values written (or the inputs).
        let span = u64::from(next - first).min(4096);
        let pick = |x: u64| WireId::new(next - 1 - (x % span) as u32);
        let (a, b, out) = (pick(r >> 8), pick(r >> 32), WireId::new(next));
        list.push(match r % 20 {
            0 => Gate::inv(a, out),
            1..=9 => Gate::and(a, b, out),
            _ => Gate::xor(a, b, out),
        });
        next += 1;
    }
    let outs = (next.max(first + 128) - 128..next.max(first + 128)).map(WireId::new).collect();
    let outputs = vec![Output { name: "out0".into(), visibility: Visibility::Both, wires: outs }];
    Circuit::new(next, inputs, outputs, list).expect("generated circuits are valid")
}
