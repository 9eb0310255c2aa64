//! Random circuits for property tests, both kinds the tests need, built
//! one way: every gate reads only wires defined before it, so every
//! generated circuit is valid and evaluates.
//!
//! - [`ssa_circuit`]: each gate writes a fresh wire; operands drawn from
//!   every wire so far (constants included, repeats likely), so the
//!   optimisation passes have work to do.
//! - [`reusing_circuit`]: few wires, overwritten often (inputs too), the
//!   case the garbling schedule must get right (read-after-write and
//!   write-after-read on a reused wire).

use garblet_circuits::{Circuit, Gate, GateKind, InputSpec, Output, Party, Visibility, WireId};
use proptest::prelude::*;

/// A gate of kind `kind % 3` (XOR, AND, INV) reading `a` and `b`.
fn gate(kind: u8, a: WireId, b: WireId, out: WireId) -> Gate {
    match kind % 3 {
        0 => Gate::xor(a, b, out),
        1 => Gate::and(a, b, out),
        _ => Gate::inv(a, out),
    }
}

/// An SSA circuit: 1–3 inputs of 1–7 bits (alternating owners), up to 300
/// gates, 1–3 outputs of 1–5 wires each.
pub fn ssa_circuit() -> impl Strategy<Value = Circuit> {
    (
        prop::collection::vec(1u32..8, 1..4),
        prop::collection::vec((0u8..3, any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..300),
        prop::collection::vec(prop::collection::vec(any::<prop::sample::Index>(), 1..6), 1..4),
    )
        .prop_map(|(widths, gates, outputs)| {
            let inputs: Vec<InputSpec> = widths
                .iter()
                .enumerate()
                .map(|(i, &w)| {
                    let owner = if i % 2 == 0 { Party::Garbler } else { Party::Evaluator };
                    InputSpec::new(format!("i{i}"), owner, w)
                })
                .collect();
            let mut defined: u32 = 2 + widths.iter().sum::<u32>();
            let mut list = Vec::new();
            for (kind, a, b) in gates {
                let a = WireId::new(a.index(defined as usize) as u32);
                let b = WireId::new(b.index(defined as usize) as u32);
                list.push(gate(kind, a, b, WireId::new(defined)));
                defined += 1;
            }
            let outputs = outputs
                .into_iter()
                .enumerate()
                .map(|(k, ws)| Output {
                    name: format!("o{k}"),
                    visibility: Visibility::Both,
                    wires: ws.iter().map(|w| WireId::new(w.index(defined as usize) as u32)).collect(),
                })
                .collect();
            Circuit::new(defined, inputs, outputs, list).unwrap()
        })
}

/// A circuit over few wires, overwritten often (not SSA), including input
/// wires: a garbler input `g` and an evaluator input `e` of 1–5 bits, 1–11
/// extra wires, up to 120 gates, one output `o` visible to both.
pub fn reusing_circuit() -> impl Strategy<Value = Circuit> {
    (
        1u32..6,
        1u32..6,
        1u32..12,
        prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), any::<u32>()), 0..120),
        prop::collection::vec(any::<u32>(), 1..10),
    )
        .prop_map(|(g_bits, e_bits, extra, ops, outs)| {
            reusing_circuit_from(g_bits, e_bits, extra, &ops, &outs)
        })
}

/// [`reusing_circuit`] from explicit choices: `ops` are (kind, a, b, out)
/// taken modulo the wire count, `outs` the output wires likewise.
pub fn reusing_circuit_from(
    g_bits: u32,
    e_bits: u32,
    extra: u32,
    ops: &[(u8, u32, u32, u32)],
    outs: &[u32],
) -> Circuit {
    let num_wires = 2 + g_bits + e_bits + extra;
    let mut gates: Vec<Gate> = ops
        .iter()
        .map(|&(kind, a, b, out)| {
            let (a, b) = (WireId::new(a % num_wires), WireId::new(b % num_wires));
            gate(kind, a, b, WireId::new(2 + out % (num_wires - 2)))
        })
        .collect();
    // Make every read defined: wires never written before are read as
    // constants instead (wires 0..2+inputs are defined from the start).
    let mut defined = vec![false; num_wires as usize];
    for d in defined.iter_mut().take((2 + g_bits + e_bits) as usize) {
        *d = true;
    }
    for g in &mut gates {
        if !defined[g.a.index()] {
            g.a = WireId::ONE;
        }
        if !defined[g.b.index()] {
            g.b = WireId::ZERO;
        }
        if g.kind == GateKind::Inv {
            g.b = g.a;
        }
        defined[g.out.index()] = true;
    }
    let out_wires: Vec<WireId> =
        outs.iter().map(|&o| WireId::new(o % num_wires)).filter(|w| defined[w.index()]).collect();
    Circuit::new(
        num_wires,
        vec![InputSpec::new("g", Party::Garbler, g_bits), InputSpec::new("e", Party::Evaluator, e_bits)],
        vec![Output { name: "o".into(), visibility: Visibility::Both, wires: out_wires }],
        gates,
    )
    .unwrap()
}
