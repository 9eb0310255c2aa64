//! XOR folding: a free gate whose value is read once, by a free gate, and
//! not needed after its window is folded into its reader, which becomes one
//! op XORing up to four labels ([`Op4`]); then the window's ops are
//! re-emitted without the folded gates. Runs inside the window compiler
//! (`window.rs`) for whole-circuit plans, after the ops are placed and
//! before the write-backs.

use garblet_circuits::{Gate, GateKind, WireId};

use crate::garble::ops::{Op, Op4, Segment, Window};

use super::levels::{Info, AND_DEPTH, NONE};
use super::liveness::Escapes;

/// What [`fuse`] reads from the window compiler.
pub(super) struct FuseInput<'a> {
    pub(super) first_index: u64,
    pub(super) gates: &'a [Gate],
    pub(super) info: &'a [Info],
    pub(super) pos: &'a [u32],
    pub(super) flags: &'a [u8],
    pub(super) zero_index: u32,
}

/// [`fuse`]'s reusable buffers (owned by the `WindowCompiler`).
pub(super) struct FuseBuffers<'a> {
    pub(super) readers: &'a mut Vec<(u32, u32)>,
    pub(super) gate_at: &'a mut Vec<u32>,
    pub(super) inputs: &'a mut Vec<([u32; 4], u8)>,
    pub(super) absorbed: &'a mut Vec<bool>,
}

/// Folds free gates into their reader: a free gate `P` whose value does not
/// escape the window and is read by exactly one gate `R`, itself free, is
/// removed and its inputs become `R`'s (up to four inputs in all). Then
/// re-emits the window's ops without the removed gates, free segments split
/// into two-input ops (`ops`) and wider ones (`ops4`) per chain depth.
///
/// Moving `P`'s reads to `R`'s later position is sound only if the labels
/// it reads do not change in between. Labels written in the window are
/// written once (a private slot, or a wire with a single writer written in
/// place); the only labels that change are wires whose value from before
/// the window is read and that the window writes. A gate reading such a
/// value is never folded. (`compact.rs` reuses labels within a window,
/// but only after folding, on the ops in their final order.)
pub(super) fn fuse(input: FuseInput<'_>, esc: &Escapes, buf: FuseBuffers<'_>, w: &mut Window) {
    let FuseInput { first_index, gates, info, pos, flags, zero_index } = input;
    let FuseBuffers { readers, gate_at, inputs, absorbed } = buf;
    let n = gates.len();
    let is_free = |g: usize| info[g].depth != AND_DEPTH;
    readers.clear();
    readers.resize(n, (0, NONE));
    gate_at.clear();
    gate_at.resize(n, 0);
    for (g, i) in info.iter().enumerate() {
        gate_at[pos[g] as usize] = g as u32;
        for r in [i.ref_a, if i.ref_b == i.ref_a { NONE } else { i.ref_b }] {
            if r != NONE {
                readers[r as usize].0 += 1;
                readers[r as usize].1 = g as u32;
            }
        }
    }
    // Reads a wire's value from before the window that the window changes.
    let unstable = |g: usize| {
        let gate = &gates[g];
        let old = |r: u32, wire: WireId| r == NONE && flags[wire.index()] != 0;
        old(info[g].ref_a, gate.a) || (gate.kind != GateKind::Inv && old(info[g].ref_b, gate.b))
    };
    inputs.clear();
    inputs.resize(n, ([zero_index; 4], 0));
    for (&g, &op) in gate_at.iter().zip(&w.ops) {
        let g = g as usize;
        if !is_free(g) {
            continue;
        }
        let (ref_a, ref_b) = (info[g].ref_a, info[g].ref_b);
        let inv = gates[g].kind == GateKind::Inv;
        // An INV reads one label (and Δ or zero); an XOR of a value with
        // itself is left alone.
        let refs = if inv { [ref_a, NONE] } else { [ref_a, ref_b] };
        let distinct = inv || ref_a != ref_b;
        let mut ins = [zero_index; 4];
        let mut len = 0usize;
        for (k, (&r, label)) in refs.iter().zip([op.a, op.b]).enumerate() {
            let other = 1 - k; // operands left to place after this one
            let foldable = r != NONE
                && distinct
                && is_free(r as usize)
                && !absorbed[r as usize]
                && readers[r as usize] == (1, g as u32)
                && !esc.get(first_index + r as u64)
                && !unstable(r as usize);
            let (rin, rlen) = if foldable { inputs[r as usize] } else { ([zero_index; 4], 0) };
            if foldable && len + rlen as usize + other <= 4 {
                ins[len..len + rlen as usize].copy_from_slice(&rin[..rlen as usize]);
                len += rlen as usize;
                absorbed[r as usize] = true;
            } else {
                ins[len] = label;
                len += 1;
            }
        }
        inputs[g] = (ins, len as u8);
    }
    // Re-emit: AND segments as they are, free segments without the folded
    // gates, per chain depth two-input ops first, then the wider ones.
    let old_ops = std::mem::take(&mut w.ops);
    let old_segments = std::mem::take(&mut w.segments);
    w.ops.reserve(old_ops.len());
    w.ops4.clear();
    for seg in old_segments {
        let range = seg.start as usize..seg.end as usize;
        if seg.and {
            let start = w.ops.len() as u32;
            w.ops.extend_from_slice(&old_ops[range]);
            w.segments.push(Segment { start, end: w.ops.len() as u32, and: true, wide: false, low: 0 });
            continue;
        }
        let mut p = range.start;
        while p < range.end {
            let depth = info[gate_at[p] as usize].depth;
            let mut q = p;
            while q < range.end && info[gate_at[q] as usize].depth == depth {
                q += 1;
            }
            // A group's ops are independent, so two-input ops can go first
            // and the wider ones after, in two segments. Unless one reads a
            // wire's value from before the window that the window
            // overwrites: its writer may be in the group too and must stay
            // after it, so the group keeps its order, a segment per run of
            // one kind.
            let keep_order = (p..q).any(|pp| unstable(gate_at[pp] as usize));
            let kinds: &[Option<bool>] = if keep_order { &[None] } else { &[Some(false), Some(true)] };
            for &kind in kinds {
                for (pp, op) in old_ops.iter().enumerate().take(q).skip(p) {
                    let g = gate_at[pp] as usize;
                    let (ins, len) = inputs[g];
                    let wide = len > 2;
                    if absorbed[g] || kind.is_some_and(|k| k != wide) {
                        continue;
                    }
                    let at = if wide {
                        w.ops4.push(Op4 { ins, out: op.out });
                        w.ops4.len() as u32
                    } else {
                        w.ops.push(Op { a: ins[0], b: ins[1], out: op.out });
                        w.ops.len() as u32
                    };
                    match w.segments.last_mut() {
                        // Extends the last segment if it is the same kind and
                        // ends just before: the order is unchanged.
                        Some(s) if !s.and && s.wide == wide && s.end == at - 1 => s.end = at,
                        _ => w.segments.push(Segment { start: at - 1, end: at, and: false, wide, low: 0 }),
                    }
                }
            }
            p = q;
        }
    }
}
