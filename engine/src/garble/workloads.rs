//! Generated circuits for measuring a garbling engine: the shapes the
//! benchmarks, `examples/garble_cpu.rs` and `garblet bench` use, in one
//! place so that every figure is taken on the same circuit.

use garblet_circuits::{Circuit, CircuitError, Gate, InputSpec, Output, Party, Visibility, WireId};

/// The best case for batching: `width` independent ANDs, each folded back
/// into the garbler's state with a free XOR (`a_i ← a_i ⊕ (a_i ∧ b_{i+1})`),
/// so that repeating the circuit ([`Repeated`](super::source::Repeated)) chains repetitions.
/// Inputs `a` (garbler) and `b` (evaluator), `width` bits each; output `a`.
pub fn wide_layer(width: u32) -> Result<Circuit, CircuitError> {
    let num_wires = width.checked_mul(2).and_then(|w| w.checked_add(2)).ok_or(CircuitError::TooManyWires)?;
    let mut gates = Vec::with_capacity(2 * width as usize);
    for i in 0..width {
        let a = WireId::new(2 + i);
        let b = WireId::new(2 + width + (i + 1) % width);
        let t = WireId::new(2 + width + i);
        gates.push(Gate::and(a, b, t));
        gates.push(Gate::xor(a, t, a));
    }
    Circuit::new(
        num_wires,
        vec![InputSpec::new("a", Party::Garbler, width), InputSpec::new("b", Party::Evaluator, width)],
        vec![Output {
            name: "a".into(),
            visibility: Visibility::Both,
            wires: (2..2 + width).map(WireId::new).collect(),
        }],
        gates,
    )
}

/// The worst case for batching: `acc ← acc ∧ x_k` over 63 inputs, every AND
/// waiting for the previous one. Inputs `x` (garbler) and `y` (evaluator),
/// 32 bits each; output `acc`.
pub fn and_chain() -> Result<Circuit, CircuitError> {
    let acc = WireId::new(2);
    let gates = (1..64).map(|k| Gate::and(acc, WireId::new(2 + k), acc)).collect();
    Circuit::new(
        66,
        vec![InputSpec::new("x", Party::Garbler, 32), InputSpec::new("y", Party::Evaluator, 32)],
        vec![Output { name: "acc".into(), visibility: Visibility::Both, wires: vec![acc] }],
        gates,
    )
}
