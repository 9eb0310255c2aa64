//! Optimisation passes. None ever increases the AND count (each rewrite
//! either keeps a gate, drops it, or replaces it by a constant, an existing
//! wire or a free gate).
//!
//! - [`fold_constants`]: constant propagation and the algebraic identities of
//!   [`crate::Builder`] (`x & 0`, `x ^ x`, `!!x`, …).
//! - [`structural_hash`]: one gate per distinct `(op, a, b)` (common
//!   subexpressions).
//! - [`remove_dead_gates`]: drops gates no output depends on.
//! - [`renumber_wires`]: reuses the wires of dead values, so evaluation needs
//!   memory for the largest live set only, not one slot per gate.
//! - [`optimize`]: all four, in that order.

use crate::builder::{Builder, BuilderOptions};
use crate::circuit::{Circuit, Gate, GateKind, Output, WireId};

/// Replays `circuit` through a [`Builder`] with `options`.
fn rebuild(circuit: &Circuit, options: BuilderOptions) -> Circuit {
    let mut b = Builder::with_options(options);
    // Old wire → new wire, updated as gates write (old circuits may reuse wires).
    let mut map = vec![WireId::ZERO; circuit.num_wires() as usize];
    map[1] = WireId::ONE;
    for input in circuit.inputs() {
        // Names are unique in a valid circuit, so this cannot fail.
        let bits = b.input(input.name.clone(), input.party, input.width).unwrap_or_default();
        for (old, new) in input.wires().zip(bits) {
            map[old.index()] = new;
        }
    }
    for g in circuit.gates() {
        let (a, c) = (map[g.a.index()], map[g.b.index()]);
        map[g.out.index()] = match g.kind {
            GateKind::Xor => b.xor(a, c),
            GateKind::And => b.and(a, c),
            GateKind::Inv => b.not(a),
        };
    }
    for o in circuit.outputs() {
        let wires = o.wires.iter().map(|w| map[w.index()]).collect();
        // Unique names again; cannot fail.
        let _ = b.output(o.name.clone(), o.visibility, wires);
    }
    // The rebuilt circuit has no more wires than the builder numbered.
    b.finish().unwrap_or_else(|_| circuit.clone())
}

/// Constant propagation and algebraic simplification.
pub fn fold_constants(circuit: &Circuit) -> Circuit {
    rebuild(circuit, BuilderOptions { fold_constants: true, structural_hashing: false })
}

/// Structural hashing: merges gates with equal operation and operands.
pub fn structural_hash(circuit: &Circuit) -> Circuit {
    rebuild(circuit, BuilderOptions { fold_constants: false, structural_hashing: true })
}

/// Removes every gate whose result no output depends on.
pub fn remove_dead_gates(circuit: &Circuit) -> Circuit {
    remove_dead_gates_owned(circuit.clone())
}

/// [`remove_dead_gates`] in place: one byte per wire and per gate besides
/// the circuit itself.
fn remove_dead_gates_owned(circuit: Circuit) -> Circuit {
    let (num_wires, inputs, outputs, mut gates) = circuit.into_parts();
    let mut live = vec![false; num_wires as usize];
    for o in &outputs {
        for w in &o.wires {
            live[w.index()] = true;
        }
    }
    let mut keep = vec![false; gates.len()];
    for (i, g) in gates.iter().enumerate().rev() {
        if live[g.out.index()] {
            keep[i] = true;
            // Before this gate the wire held another value (or none).
            live[g.out.index()] = false;
            live[g.a.index()] = true;
            live[g.b.index()] = true;
        }
    }
    drop(live);
    let mut next = keep.iter();
    gates.retain(|_| next.next().copied().unwrap_or(false));
    Circuit::from_parts_unchecked(num_wires, inputs, outputs, gates)
}

/// Renumbers wires so that a wire is reused once the value it holds is dead.
/// Inputs keep their wires (which are reused after their last read); the
/// wire count becomes the peak number of live values plus the constants.
pub fn renumber_wires(circuit: &Circuit) -> Circuit {
    renumber_wires_owned(circuit.clone())
}

/// [`renumber_wires`] in place: the gates are rewritten where they are, and
/// the pass keeps 4 bytes per wire and 8 per value (a wire's value, each
/// value's last read and its new wire) and a bit per value, not a second
/// gate list. Values are the inputs' and constants' wires, then one per
/// gate; both passes track which value each wire holds, so nothing per
/// gate is stored between them. When every gate writes a wire of its own
/// (an SSA circuit, as the builder makes), a wire *is* its value: then
/// the pass keeps only 8 bytes per wire (last read and new wire).
fn renumber_wires_owned(circuit: Circuit) -> Circuit {
    const NEVER: u32 = u32::MAX;
    /// Marks a value freed once, even when a gate reads it twice.
    const FREED: u32 = u32::MAX - 1;
    let nw = circuit.num_wires() as usize;
    let first_free = WireId::FIRST_FREE + circuit.inputs().iter().map(|i| i.width).sum::<u32>();
    let ssa = is_ssa(circuit.gates(), nw, first_free);
    let values = if ssa { Some(nw) } else { nw.checked_add(circuit.gates().len()) };
    let Some(values) = values.filter(|&v| v < FREED as usize) else {
        // More values than 32-bit indices hold: left as it is (correct,
        // only not compacted; no circuit in memory comes near).
        return circuit;
    };
    let (num_wires, inputs, outputs, mut gates) = circuit.into_parts();
    let value_of_gate = |i: usize, g: &Gate| if ssa { g.out.get() } else { (nw + i) as u32 };
    // holder[w]: the value wire w holds now (at first, the wire itself);
    // not kept for an SSA circuit, where it is always w.
    let mut holder: Vec<u32> = if ssa { Vec::new() } else { (0..num_wires).collect() };
    let held = |holder: &[u32], w: WireId| if ssa { w.get() } else { holder[w.index()] };
    // last_read[value]: index of the last gate reading it (NEVER if none).
    let mut last_read = vec![NEVER; values];
    for (i, g) in gates.iter().enumerate() {
        let (va, vb) = (held(&holder, g.a), held(&holder, g.b));
        last_read[va as usize] = i as u32;
        last_read[vb as usize] = i as u32;
        if !ssa {
            holder[g.out.index()] = value_of_gate(i, g);
        }
    }
    let output_values: Vec<Vec<u32>> =
        outputs.iter().map(|o| o.wires.iter().map(|&w| held(&holder, w)).collect()).collect();
    let mut is_output = vec![0u64; values.div_ceil(64)];
    for &v in output_values.iter().flatten() {
        is_output[v as usize / 64] |= 1 << (v % 64);
    }
    let is_output = |v: u32| is_output[v as usize / 64] >> (v % 64) & 1 == 1;

    // Allocation. Constants and inputs sit where they are; freed wires go on
    // a stack and are handed out again, lowest reuse distance first.
    let mut wire_of = vec![NEVER; values];
    for (w, slot) in wire_of.iter_mut().enumerate().take(first_free as usize) {
        *slot = w as u32;
    }
    let mut free: Vec<u32> = Vec::new();
    // Inputs never read (and not outputs) are free from the start.
    for w in WireId::FIRST_FREE..first_free {
        if last_read[w as usize] == NEVER && !is_output(w) {
            free.push(w);
        }
    }
    // The second pass replays which value each wire holds.
    for (w, h) in holder.iter_mut().enumerate() {
        *h = w as u32;
    }
    let mut next = first_free;
    for (i, g) in gates.iter_mut().enumerate() {
        let (va, vb) = (held(&holder, g.a), held(&holder, g.b));
        let v = value_of_gate(i, g);
        if !ssa {
            holder[g.out.index()] = v;
        }
        let (wa, wb) = (wire_of[va as usize], wire_of[vb as usize]);
        for v in [va, vb] {
            if last_read[v as usize] == i as u32 && !is_output(v) && v >= WireId::FIRST_FREE {
                free.push(wire_of[v as usize]);
                last_read[v as usize] = FREED;
            }
        }
        let w = free.pop().unwrap_or_else(|| {
            next += 1;
            next - 1
        });
        wire_of[v as usize] = w;
        if last_read[v as usize] == NEVER && !is_output(v) {
            free.push(w);
        }
        *g = Gate { a: WireId::new(wa), b: WireId::new(wb), out: WireId::new(w), kind: g.kind };
    }
    let outputs: Vec<Output> = outputs
        .into_iter()
        .zip(&output_values)
        .map(|(o, vals)| Output {
            name: o.name,
            visibility: o.visibility,
            wires: vals.iter().map(|&v| WireId::new(wire_of[v as usize])).collect(),
        })
        .collect();
    Circuit::from_parts_unchecked(next, inputs, outputs, gates)
}

/// Whether every gate of `gates` writes a wire no constant, input or
/// earlier gate holds (`first_free` is the first wire after the inputs;
/// one bit per wire while checking).
fn is_ssa(gates: &[Gate], num_wires: usize, first_free: u32) -> bool {
    let mut written = vec![0u64; num_wires.div_ceil(64)];
    gates.iter().all(|g| {
        let w = g.out.index();
        let (word, bit) = (w / 64, 1u64 << (w % 64));
        let fresh = g.out.get() >= first_free && written[word] & bit == 0;
        written[word] |= bit;
        fresh
    })
}

/// [`optimize`] for a circuit that a [`Builder`] with the default options
/// built in one pass (every gate folded and hashed as it was added, as the
/// compiler's lowering builds): replaying it through a second builder
/// would give the same gates again, so only the dead gates go and the
/// wires are reused. One pass over the gates and no hash table instead of
/// a full rebuild (the compiler's largest cost on big unrolled programs).
pub fn optimize_built(circuit: Circuit) -> Circuit {
    let first_free = WireId::FIRST_FREE + circuit.inputs().iter().map(|i| i.width).sum::<u32>();
    if is_ssa(circuit.gates(), circuit.num_wires() as usize, first_free) {
        return dead_and_renumber_ssa(circuit, first_free);
    }
    renumber_wires_owned(remove_dead_gates_owned(circuit))
}

/// [`remove_dead_gates`] then [`renumber_wires`] of an SSA circuit (see
/// [`is_ssa`]; `first_free` is the first wire after the inputs), the same
/// gates and wires, in two passes and with less memory: 4 bytes and a bit
/// per wire and a byte per gate besides the circuit.
///
/// In an SSA circuit a wire is a value, so the liveness pass that finds
/// the dead gates, run backwards, also meets each value's last read first:
/// the read after which the value is not live. It marks those reads (two
/// bits per gate), and the forward pass frees a wire at its marked read,
/// as `renumber_wires` does at the read it records, with no table of last
/// reads. A wire an output names is live from the start, so its reads are
/// never last ones; an input no kept gate reads is free from the start.
fn dead_and_renumber_ssa(circuit: Circuit, first_free: u32) -> Circuit {
    const KEEP: u8 = 1;
    const LAST_A: u8 = 2;
    const LAST_B: u8 = 4;
    let (num_wires, inputs, outputs, mut gates) = circuit.into_parts();
    let nw = num_wires as usize;
    let mut live = vec![0u64; nw.div_ceil(64)];
    let is_live = |live: &[u64], w: WireId| live[w.index() / 64] >> (w.index() % 64) & 1 == 1;
    let set = |live: &mut [u64], w: WireId, on: bool| {
        let (word, bit) = (w.index() / 64, 1u64 << (w.index() % 64));
        if on {
            live[word] |= bit;
        } else {
            live[word] &= !bit;
        }
    };
    for w in outputs.iter().flat_map(|o| &o.wires) {
        set(&mut live, *w, true);
    }
    // Dead gates stay 0.
    let mut marks = vec![0u8; gates.len()];
    for (g, m) in gates.iter().zip(&mut marks).rev() {
        if !is_live(&live, g.out) {
            continue;
        }
        set(&mut live, g.out, false);
        let mut mark = KEEP;
        if !g.a.is_const() && !is_live(&live, g.a) {
            mark |= LAST_A;
            set(&mut live, g.a, true);
        }
        if !g.b.is_const() && !is_live(&live, g.b) {
            mark |= LAST_B;
            set(&mut live, g.b, true);
        }
        *m = mark;
    }
    // Old wire → new wire (allocated zeroed: only the pages of wires
    // written are touched; every wire is written before it is read).
    let mut wire_of = vec![0u32; nw];
    for (w, slot) in wire_of.iter_mut().enumerate().take(first_free as usize) {
        *slot = w as u32;
    }
    // Inputs no kept gate reads (and no output names) are free from the start.
    let mut free: Vec<u32> =
        (WireId::FIRST_FREE..first_free).filter(|&w| !is_live(&live, WireId::new(w))).collect();
    drop(live);
    let mut next = first_free;
    let mut kept = 0;
    for i in 0..gates.len() {
        let mark = marks[i];
        if mark == 0 {
            continue;
        }
        let g = gates[i];
        let (wa, wb) = (wire_of[g.a.index()], wire_of[g.b.index()]);
        if mark & LAST_A != 0 {
            free.push(wa);
        }
        if mark & LAST_B != 0 {
            free.push(wb);
        }
        let w = free.pop().unwrap_or_else(|| {
            next += 1;
            next - 1
        });
        wire_of[g.out.index()] = w;
        gates[kept] = Gate { a: WireId::new(wa), b: WireId::new(wb), out: WireId::new(w), kind: g.kind };
        kept += 1;
    }
    gates.truncate(kept);
    let outputs: Vec<Output> = outputs
        .into_iter()
        .map(|o| Output { wires: o.wires.iter().map(|w| WireId::new(wire_of[w.index()])).collect(), ..o })
        .collect();
    Circuit::from_parts_unchecked(next, inputs, outputs, gates)
}

/// Every pass: constants, structural hashing, dead gates, wire reuse.
pub fn optimize(circuit: &Circuit) -> Circuit {
    let c = rebuild(circuit, BuilderOptions::default());
    renumber_wires_owned(remove_dead_gates_owned(c))
}
