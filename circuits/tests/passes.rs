//! Random circuits through every optimisation pass: the same outputs on
//! random inputs before and after, and never more AND gates.

use garblet_circuits::opt::{
    fold_constants, optimize, optimize_built, remove_dead_gates, renumber_wires, structural_hash,
};
use garblet_circuits::{Circuit, Gate, GateKind, InputSpec, Output, Party, Visibility, WireId};
use garblet_testkit::random::ssa_circuit;
use proptest::prelude::*;

type Pass = fn(&Circuit) -> Circuit;

fn random_lanes(c: &Circuit, seed: u64) -> Vec<Vec<u64>> {
    let mut x = seed | 1;
    let mut next = move || {
        // xorshift64*: plenty for test inputs.
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    c.inputs().iter().map(|i| (0..i.width).map(|_| next()).collect()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_pass_preserves_outputs(c in ssa_circuit(), seed in any::<u64>()) {
        let lanes = random_lanes(&c, seed);
        let want = c.eval_sliced(&lanes).unwrap();
        let passes: [(&str, Pass); 5] = [
            ("fold_constants", fold_constants),
            ("structural_hash", structural_hash),
            ("remove_dead_gates", remove_dead_gates),
            ("renumber_wires", renumber_wires),
            ("optimize", optimize),
        ];
        for (name, pass) in passes {
            let after = pass(&c);
            prop_assert_eq!(after.eval_sliced(&lanes).unwrap(), want.clone(), "{}", name);
            prop_assert!(after.and_count() <= c.and_count(), "{} added ANDs", name);
            prop_assert_eq!(after.inputs(), c.inputs());
            // Passes compose, on circuits that already reuse wires too.
            let twice = optimize(&renumber_wires(&after));
            prop_assert_eq!(twice.eval_sliced(&lanes).unwrap(), want.clone(), "optimize after {}", name);
        }
        let opt = optimize(&c);
        prop_assert!(opt.num_wires() <= c.num_wires());
        // Valid: the canonical encoding decodes to the same circuit.
        prop_assert_eq!(Circuit::from_canonical_bytes(&opt.to_canonical_bytes()).unwrap(), opt);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `optimize_built`'s one-pass dead-gate removal and renumbering of an
    /// SSA circuit gives exactly the circuit of the two passes.
    #[test]
    fn optimize_built_is_dead_gates_then_renumbering(c in ssa_circuit()) {
        let want = renumber_wires(&remove_dead_gates(&c));
        prop_assert_eq!(optimize_built(c.clone()), want);
        // And on a circuit that reuses wires (not SSA: the two passes).
        let reused = renumber_wires(&c);
        prop_assert_eq!(optimize_built(reused.clone()), renumber_wires(&remove_dead_gates(&reused)));
    }
}

/// The builder's structural hashing finds gates past the first few users
/// of a wire (its chains hold 32, the rest go to a table), and forgets a
/// suffix of them exactly.
#[test]
fn structural_hashing_of_a_wire_with_many_users() {
    use garblet_circuits::Builder;
    let mut b = Builder::new();
    let xs = b.input("x", Party::Garbler, 100).unwrap();
    let y = b.input("y", Party::Evaluator, 2).unwrap();
    // A wire younger than every x, then 100 gates with it as the larger operand.
    let late = b.and(y[0], y[1]);
    let first: Vec<WireId> = xs.iter().map(|&x| b.and(x, late)).collect();
    let xors: Vec<WireId> = xs.iter().map(|&x| b.xor(late, x)).collect();
    let n = b.gate_count();
    assert_eq!(n, 201);
    // Built again, in another order and with the operands swapped: found.
    for (k, &x) in xs.iter().enumerate().rev() {
        assert_eq!(b.and(late, x), first[k]);
        assert_eq!(b.xor(x, late), xors[k]);
    }
    assert_eq!(b.gate_count(), n);
    // Forget gates 11.. (chained and tabled ones): built anew, once.
    b.forget_since(11);
    let again: Vec<WireId> = xs.iter().map(|&x| b.and(x, late)).collect();
    assert_eq!(again[..10], first[..10], "gates before the cut are still found");
    assert!(again[10..].iter().zip(&first[10..]).all(|(a, f)| a != f), "forgotten gates are not");
    assert_eq!(b.gate_count(), n + 90);
    let xors_again: Vec<WireId> = xs.iter().map(|&x| b.xor(x, late)).collect();
    assert_eq!(b.gate_count(), n + 190);
    assert_eq!(xs.iter().map(|&x| b.xor(late, x)).collect::<Vec<_>>(), xors_again);
    assert_eq!(xs.iter().map(|&x| b.and(late, x)).collect::<Vec<_>>(), again);
    assert_eq!(b.gate_count(), n + 190);
    // Truncating drops them and their index entries; the gates come back.
    b.truncate(n);
    assert_eq!(b.gate_count(), n);
    let third: Vec<WireId> = xs.iter().map(|&x| b.and(late, x)).collect();
    assert_eq!(third[..10], first[..10]);
    assert_eq!(b.gate_count(), n + 90);
    let y_out = b.xor(third[99], xors[0]);
    b.output("o", Visibility::Both, vec![y_out]).unwrap();
    let c = b.finish().unwrap();
    for v in [0u128, 1, 3, (1 << 100) - 1, 12345] {
        for yv in 0..4u128 {
            let l = yv & (yv >> 1) & 1;
            let want = ((v >> 99) & l) ^ (v & 1) ^ l;
            assert_eq!(c.eval_u128(&[v, yv]).unwrap(), vec![want]);
        }
    }
}

#[test]
fn fold_constants_removes_constant_logic() {
    // x & 0, x ^ x, !!x: all fold.
    let x = WireId::new(2);
    let gates = vec![
        Gate::and(x, WireId::ZERO, WireId::new(3)),
        Gate::xor(x, x, WireId::new(4)),
        Gate::inv(x, WireId::new(5)),
        Gate::inv(WireId::new(5), WireId::new(6)),
        Gate::and(WireId::new(6), WireId::new(6), WireId::new(7)),
    ];
    let out =
        Output { name: "o".into(), visibility: Visibility::Both, wires: (3..8).map(WireId::new).collect() };
    let c = Circuit::new(8, vec![InputSpec::new("x", Party::Garbler, 1)], vec![out], gates).unwrap();
    let f = optimize(&c);
    assert_eq!(f.stats().and, 0);
    assert_eq!(f.stats().gates, 1, "only !x remains");
    assert_eq!(f.eval_u128(&[1]).unwrap(), c.eval_u128(&[1]).unwrap());
    assert_eq!(f.eval_u128(&[0]).unwrap(), c.eval_u128(&[0]).unwrap());
}

#[test]
fn structural_hashing_merges_duplicates() {
    let (a, b) = (WireId::new(2), WireId::new(3));
    let gates = vec![
        Gate::and(a, b, WireId::new(4)),
        Gate::and(b, a, WireId::new(5)),
        Gate::xor(WireId::new(4), WireId::new(5), WireId::new(6)),
    ];
    let out = Output {
        name: "o".into(),
        visibility: Visibility::Both,
        wires: vec![WireId::new(4), WireId::new(5)],
    };
    let c = Circuit::new(7, vec![InputSpec::new("x", Party::Garbler, 2)], vec![out], gates).unwrap();
    assert_eq!(structural_hash(&c).and_count(), 1);
    assert_eq!(remove_dead_gates(&c).stats().gates, 2);
}

#[test]
fn renumbering_bounds_wires_by_the_live_set() {
    // A chain of 10,000 ANDs needs 3 live values at a time, not 10,000 wires.
    let mut gates = Vec::new();
    let mut acc = WireId::new(2);
    for i in 0..10_000u32 {
        let out = WireId::new(4 + i);
        gates.push(Gate::and(acc, WireId::new(3), out));
        acc = out;
    }
    let out = Output { name: "o".into(), visibility: Visibility::Both, wires: vec![acc] };
    let c = Circuit::new(10_004, vec![InputSpec::new("x", Party::Garbler, 2)], vec![out], gates).unwrap();
    let r = renumber_wires(&c);
    assert!(r.num_wires() <= 5, "{} wires", r.num_wires());
    assert_eq!(r.eval_u128(&[3]).unwrap(), vec![1]);
    assert_eq!(r.eval_u128(&[1]).unwrap(), vec![0]);
    assert_eq!(r.stats().and_depth, 10_000);
    assert_eq!(r.gates().iter().filter(|g| g.kind == GateKind::And).count(), 10_000);
}
