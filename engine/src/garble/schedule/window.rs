//! The window compiler: turns one window of gates into a [`Window`] of ops.
//! Pass 1 gives every gate its level and the producers of its operands
//! (read-after-write), then the window is ordered by level and chain depth,
//! each gate writes its wire in place or a private slot (write-after-read,
//! write-after-write), XOR chains are folded (`fuse.rs`) and the free ops
//! are turned into byte offsets. The algorithm is in the
//! [`schedule`](crate::garble::schedule) module docs.

use garblet_circuits::{Gate, GateKind, WireId};

use crate::garble::error::PlanError;
use crate::garble::ops::{Op, Op4, Segment, Window};
use crate::garble::source::{check_gate, check_gates};

use super::compact::{compact, CompactBuffers, CompactInput};
use super::fuse::{fuse, FuseBuffers, FuseInput};
use super::levels::{Info, AND_DEPTH, NONE};
use super::liveness::Escapes;

/// Per-wire flags of the window being compiled.
const WRITTEN: u8 = 1;
const WRITTEN_TWICE: u8 = 2;

/// The window compiler, with its buffers reused from one window to the next.
pub(super) struct WindowCompiler {
    num_wires: u32,
    /// Label index of the zero label (both parties): `num_wires + 1 +
    /// window_gates`, after the private slots.
    zero_index: u32,
    /// Per wire: 1 + the window gate that last wrote it, or 0.
    producer: Vec<u32>,
    /// Per wire: `WRITTEN` etc. in this window.
    flags: Vec<u8>,
    info: Vec<Info>,
    counts: Vec<u32>,
    pos: Vec<u32>,
    /// Window gates ordered by depth.
    order: Vec<u32>,
    depth_counts: Vec<u32>,
    /// Per window gate: writes its wire in place (no hazard).
    direct: Vec<bool>,
    /// `(gate, wire)`: the gate reads the wire's value from before the
    /// window.
    old_reads: Vec<(u32, u32)>,
    /// Per wire: 1 + the last execution position reading its old value, or 0.
    last_old_read: Vec<u32>,
    /// Per window gate: how many gates read its value, and the last one.
    readers: Vec<(u32, u32)>,
    /// Per execution position: the window gate there.
    gate_at: Vec<u32>,
    /// Per window gate: its free op's inputs after fusion (label indices,
    /// unused ones the zero label), and how many are used.
    inputs: Vec<([u32; 4], u8)>,
    /// Per window gate: folded into its only reader's op.
    absorbed: Vec<bool>,
    /// Per wire: the AND level of the value the window wrote to it (0 for
    /// values from before the window). For `compile_renamed`.
    wire_level: Vec<u32>,
    /// Per window gate: its sort key (AND of level L: 2L - 1; free of
    /// level L: 2L).
    keys: Vec<u32>,
    /// Whether windows are compacted (`compact.rs`): for plans whose
    /// windows are replayed (repeated and looped plans), where a smaller
    /// working set pays at every run of the window; a window run once
    /// would pay the two passes for little.
    compacting: bool,
    /// The labels whose values are needed after the window (`compact`).
    keep: Vec<u32>,
    compact: CompactBuffers,
    /// `compile_renamed`'s ANDs and free ops in execution order, sorted
    /// here (warm memory, reused) and then copied to the window's fresh
    /// vectors once, rather than those zeroed and then scattered into.
    sorted: Vec<Op>,
}

impl WindowCompiler {
    pub(super) fn new(num_wires: u32, window_gates: usize) -> WindowCompiler {
        WindowCompiler {
            num_wires,
            // In range: checked by `check_shape`.
            zero_index: num_wires + 1 + window_gates as u32,
            // The per-wire arrays are made by the first window that needs
            // them (`compile` and `compile_renamed` need different ones).
            producer: Vec::new(),
            flags: Vec::new(),
            info: Vec::new(),
            counts: Vec::new(),
            pos: Vec::new(),
            order: Vec::new(),
            depth_counts: Vec::new(),
            direct: Vec::new(),
            old_reads: Vec::new(),
            last_old_read: Vec::new(),
            readers: Vec::new(),
            gate_at: Vec::new(),
            inputs: Vec::new(),
            absorbed: Vec::new(),
            wire_level: Vec::new(),
            keys: Vec::new(),
            compacting: false,
            keep: Vec::new(),
            compact: CompactBuffers::default(),
            sorted: Vec::new(),
        }
    }

    /// The same compiler, compacting each window's labels (for plans that
    /// replay their windows; see `compact.rs`).
    pub(super) fn compacting(mut self) -> WindowCompiler {
        self.compacting = true;
        self
    }

    /// Compiles a window of renamed gates (`rename.rs`): no wire is
    /// written twice in it and none is rewritten after the window read its
    /// old value, so every gate writes its wire in place and the window
    /// needs no slots, no write-backs and no hazard analysis. One pass
    /// gives each gate its level, a counting sort places the ANDs of each
    /// level in one batch and the free gates of the level after them, in
    /// their original order (which keeps every free gate after the free
    /// gates it reads). XOR chains are not folded: folding pays when a
    /// compiled plan is garbled many times, while a pipelined plan is
    /// compiled for one run and the planning, not the free gates, is what
    /// that run waits for.
    ///
    /// Errors if a gate is malformed, or (a renamer defect) if the window
    /// is not hazard-free.
    pub(super) fn compile_renamed(
        &mut self,
        first_index: u64,
        gates: &[Gate],
        w: &mut Window,
    ) -> Result<(), PlanError> {
        let nw = self.num_wires;
        let WindowCompiler { wire_level, keys, counts, sorted, .. } = self;
        if wire_level.len() != nw as usize {
            *wire_level = vec![0; nw as usize];
        }
        // The renamer's gates pass `check_gate` by construction; one
        // reduction over the window confirms it (a renamer defect is an
        // error, not a panic). Up to a failing gate the window is still
        // levelled, so that the per-wire levels are reset below.
        let result = check_gates(first_index, gates, nw);
        let seen = match &result {
            Ok(()) => gates.len(),
            Err(_) => (0..gates.len())
                .find(|&i| check_gate(first_index + i as u64, &gates[i], nw).is_err())
                .unwrap_or(0),
        };
        let gates = &gates[..seen];
        // Slices, not the vectors: a store through a slice cannot move a
        // vector's pointer or length, so neither is reloaded per gate.
        let wire_level = wire_level.as_mut_slice();
        keys.clear();
        keys.resize(seen, 0);
        // A level is at most the window's AND count, so a key `2L + 1`
        // is at most `2 · seen + 1`.
        counts.clear();
        counts.resize(2 * seen + 3, 0);
        let (keys, counts) = (keys.as_mut_slice(), counts.as_mut_slice());
        // Levels, sort keys and their histogram (`counts[k + 1]`) in one
        // pass.
        let mut max_key = 0u32;
        for (gate, slot) in gates.iter().zip(keys.iter_mut()) {
            let l = wire_level[gate.a.index()].max(wire_level[gate.b.index()]);
            let (level, key) = if gate.kind == GateKind::And { (l + 1, 2 * l + 1) } else { (l, 2 * l) };
            wire_level[gate.out.index()] = level;
            max_key = max_key.max(key);
            counts[key as usize + 1] += 1;
            *slot = key;
        }
        if result.is_ok() {
            // Counting sort by key, ANDs into `ops`, free gates into `free`.
            w.segments.clear();
            let (mut ands, mut frees) = (0u32, 0u32);
            for k in 0..=max_key as usize {
                let len = counts[k + 1];
                let and = k % 2 == 1;
                let start = if and { ands } else { frees };
                if len > 0 {
                    w.segments.push(Segment { start, end: start + len, and, wide: false, low: 0 });
                }
                counts[k + 1] = start;
                if and {
                    ands += len;
                } else {
                    frees += len;
                }
            }
            // Every place below `seen` is written: its old contents stay.
            if sorted.len() < seen {
                sorted.resize(seen, Op { a: 0, b: 0, out: 0 });
            }
            let (ops, free) = sorted[..seen].split_at_mut(ands as usize);
            for (gate, &k) in gates.iter().zip(keys.iter()) {
                let slot = &mut counts[k as usize + 1];
                let at = *slot as usize;
                *slot += 1;
                if k % 2 == 1 {
                    ops[at] = Op { a: gate.a.get(), b: gate.b.get(), out: gate.out.get() };
                } else {
                    let b = if gate.kind == GateKind::Inv { nw } else { gate.b.get() };
                    free[at] = Op { a: gate.a.get() << 4, b: b << 4, out: gate.out.get() << 4 };
                }
                // The per-wire levels are reset for the next window here
                // rather than in a pass of their own.
                wire_level[gate.out.index()] = 0;
            }
            w.ops.clear();
            w.ops.extend_from_slice(ops);
            w.free.clear();
            w.free.extend_from_slice(free);
            w.ops4.clear();
            w.writeback.clear();
            w.ands = ands as usize;
            w.mark_lowest_reads();
        } else {
            for gate in gates {
                wire_level[gate.out.index()] = 0;
            }
        }
        result
    }

    /// Compiles `gates` (the gates `first_index..` of the source) into `w`.
    ///
    /// A gate writes its wire in place when it is the wire's only writer in
    /// the window and every reader of the wire's old value executes no later
    /// than it (always so in SSA circuits, and for `x ← x ⊕ y`); otherwise it
    /// writes a private slot, and the last writer's slot is copied to the
    /// wire at the end of the window.
    ///
    /// With `escapes` (known for whole-circuit plans, see [`Escapes`]), a
    /// free gate whose value is read once, by a free gate, and not needed
    /// after the window is folded into its reader (see `fuse`).
    pub(super) fn compile(
        &mut self,
        first_index: u64,
        gates: &[Gate],
        escapes: Option<&Escapes>,
        w: &mut Window,
    ) -> Result<(), PlanError> {
        let num_wires = self.num_wires;
        if self.producer.len() != num_wires as usize {
            // Zero (no producer) is the allocator's zeroed memory: the
            // pages of wires no window writes are never touched (a looped
            // plan's wire space holds every input bit).
            self.producer = vec![0; num_wires as usize];
            self.flags = vec![0; num_wires as usize];
            self.last_old_read = vec![0; num_wires as usize];
        }
        let WindowCompiler { producer, flags, info, old_reads, .. } = self;
        info.clear();
        old_reads.clear();
        let mut max_level = 0u32;
        let mut max_depth = 0u32;
        let mut result = Ok(());
        let mut seen = 0;
        for (g, gate) in gates.iter().enumerate() {
            if let Err(e) = check_gate(first_index + g as u64, gate, num_wires) {
                result = Err(e);
                break;
            }
            seen = g + 1;
            let (a, b, out) = (gate.a.index(), gate.b.index(), gate.out.index());
            // Stored as `g + 1`: 0 (no producer in the window) becomes NONE.
            let (pa, pb) = (producer[a].wrapping_sub(1), producer[b].wrapping_sub(1));
            let ia = if pa == NONE {
                old_reads.push((g as u32, a as u32));
                Info { level: 0, depth: AND_DEPTH, ref_a: NONE, ref_b: NONE }
            } else {
                info[pa as usize]
            };
            let ib = if pb == NONE {
                if b != a {
                    old_reads.push((g as u32, b as u32));
                }
                Info { level: 0, depth: AND_DEPTH, ref_a: NONE, ref_b: NONE }
            } else {
                info[pb as usize]
            };
            let is_and = gate.kind == GateKind::And;
            let level = ia.level.max(ib.level) + u32::from(is_and);
            let depth = if is_and {
                AND_DEPTH
            } else {
                // Chains continue through free producers of the same level.
                let chain = |i: Info| if i.depth != AND_DEPTH && i.level == level { i.depth + 1 } else { 0 };
                chain(ia).max(chain(ib))
            };
            max_level = max_level.max(level);
            if depth != AND_DEPTH {
                max_depth = max_depth.max(depth);
            }
            info.push(Info { level, depth, ref_a: pa, ref_b: pb });
            flags[out] |= if flags[out] & WRITTEN != 0 { WRITTEN_TWICE } else { WRITTEN };
            // g < window length, and nw + 1 + window < u32::MAX (checked by the plan).
            producer[out] = g as u32 + 1;
        }
        if result.is_ok() {
            self.finish(first_index, gates, escapes, max_level, max_depth, w);
        }
        // Reset the per-wire state for the next window, even on error.
        let WindowCompiler { producer, flags, .. } = self;
        for gate in &gates[..seen] {
            producer[gate.out.index()] = 0;
            flags[gate.out.index()] = 0;
        }
        result
    }

    /// Orders the window (by level, ANDs before free gates of a level, free
    /// gates by chain depth so that independent XORs sit side by side for
    /// instruction-level parallelism), then emits ops and write-backs.
    fn finish(
        &mut self,
        first_index: u64,
        gates: &[Gate],
        escapes: Option<&Escapes>,
        max_level: u32,
        max_depth: u32,
        w: &mut Window,
    ) {
        let n = gates.len();
        let nw = self.num_wires;
        let zero_index = self.zero_index;
        let WindowCompiler {
            producer,
            flags,
            info,
            counts,
            pos,
            order,
            depth_counts,
            direct,
            old_reads,
            last_old_read,
            readers,
            gate_at,
            inputs,
            absorbed,
            keep,
            compact: compact_buffers,
            compacting,
            ..
        } = self;
        let depth_of = |i: &Info| if i.depth == AND_DEPTH { 0 } else { i.depth as usize };
        // Stable counting sort by depth (skipped when every depth is 0); the
        // sort by key below is stable too.
        order.clear();
        if max_depth == 0 {
            order.extend(0..n as u32);
        } else {
            depth_counts.clear();
            depth_counts.resize(max_depth as usize + 2, 0);
            for i in info.iter() {
                depth_counts[depth_of(i) + 1] += 1;
            }
            for d in 0..=max_depth as usize {
                depth_counts[d + 1] += depth_counts[d];
            }
            order.resize(n, 0);
            for (g, i) in info.iter().enumerate() {
                let d = depth_of(i);
                order[depth_counts[d] as usize] = g as u32;
                depth_counts[d] += 1;
            }
        }
        // Counting sort by key: AND of level L -> 2L - 1, free of level L -> 2L.
        let keys = 2 * max_level as usize + 1;
        counts.clear();
        counts.resize(keys + 1, 0);
        let key = |i: &Info| -> usize {
            if i.depth == AND_DEPTH {
                2 * i.level as usize - 1
            } else {
                2 * i.level as usize
            }
        };
        for i in info.iter() {
            counts[key(i) + 1] += 1;
        }
        w.segments.clear();
        for k in 0..keys {
            let (start, len) = (counts[k], counts[k + 1]);
            if len > 0 {
                w.segments.push(Segment { start, end: start + len, and: k % 2 == 1, wide: false, low: 0 });
            }
            counts[k + 1] += start;
        }
        pos.clear();
        pos.resize(n, 0);
        for &g in order.iter() {
            let k = key(&info[g as usize]);
            pos[g as usize] = counts[k];
            counts[k] += 1;
        }
        for &(r, wire) in old_reads.iter() {
            let last = &mut last_old_read[wire as usize];
            *last = (*last).max(pos[r as usize] + 1);
        }
        direct.clear();
        for (g, gate) in gates.iter().enumerate() {
            let out = gate.out.index();
            direct.push(flags[out] == WRITTEN && last_old_read[out] <= pos[g] + 1);
        }
        for &(_, wire) in old_reads.iter() {
            last_old_read[wire as usize] = 0;
        }
        let target = |g: usize| if direct[g] { gates[g].out.get() } else { nw + 1 + pos[g] };
        let resolve = |r: u32, wire: WireId| if r == NONE { wire.get() } else { target(r as usize) };
        w.ops.clear();
        w.ops.resize(n, Op { a: 0, b: 0, out: 0 });
        let mut ands = 0;
        for (g, (gate, i)) in gates.iter().zip(info.iter()).enumerate() {
            let a = resolve(i.ref_a, gate.a);
            let b = if gate.kind == GateKind::Inv { nw } else { resolve(i.ref_b, gate.b) };
            w.ops[pos[g] as usize] = Op { a, b, out: target(g) };
            ands += usize::from(gate.kind == GateKind::And);
        }
        w.ands = ands;
        absorbed.clear();
        absorbed.resize(n, false);
        w.ops4.clear();
        if let Some(esc) = escapes {
            fuse(
                FuseInput {
                    first_index,
                    gates,
                    info,
                    pos: pos.as_slice(),
                    flags: flags.as_slice(),
                    zero_index,
                },
                esc,
                FuseBuffers { readers, gate_at, inputs, absorbed },
                w,
            );
        }
        w.writeback.clear();
        for (g, gate) in gates.iter().enumerate() {
            // A value not needed after the window is not copied to its wire.
            let needed = escapes.is_none_or(|e| e.get(first_index + g as u64));
            if !direct[g] && !absorbed[g] && needed && producer[gate.out.index()] == g as u32 + 1 {
                w.writeback.push((gate.out.get(), nw + 1 + pos[g]));
            }
        }
        if let Some(esc) = escapes.filter(|_| *compacting) {
            // The values needed after the window stay where they are: wires
            // written in place, and the slots copied back to their wires.
            keep.clear();
            for (g, gate) in gates.iter().enumerate() {
                if direct[g] && !absorbed[g] && esc.get(first_index + g as u64) {
                    keep.push(gate.out.get());
                }
            }
            keep.extend(w.writeback.iter().map(|&(_, slot)| slot));
            let input = CompactInput {
                num_wires: nw,
                window_gates: zero_index - nw - 1,
                keep: keep.as_slice(),
                wire_state: last_old_read.as_mut_slice(),
            };
            compact(input, compact_buffers, w);
        }
        split_free_ops(w);
        w.mark_lowest_reads();
    }
}

/// Moves the free ops of `w.ops` to `w.free` and turns the label indices of
/// every free op (`free`, `ops4`) into byte offsets (index × 16), so that
/// the evaluation loop of the free gates, the hottest loop after AES,
/// addresses a label with no shift (see `Run::free_gates`). AND ops keep
/// label indices.
fn split_free_ops(w: &mut Window) {
    let ops = std::mem::take(&mut w.ops);
    w.free.clear();
    w.ops.reserve(ops.len());
    for seg in w.segments.iter_mut() {
        let range = seg.start as usize..seg.end as usize;
        if seg.and {
            seg.start = w.ops.len() as u32;
            w.ops.extend_from_slice(&ops[range]);
            seg.end = w.ops.len() as u32;
        } else if !seg.wide {
            seg.start = w.free.len() as u32;
            w.free.extend(ops[range].iter().map(|op| Op { a: op.a << 4, b: op.b << 4, out: op.out << 4 }));
            seg.end = w.free.len() as u32;
        }
    }
    for op in w.ops4.iter_mut() {
        *op = Op4 { ins: op.ins.map(|i| i << 4), out: op.out << 4 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(i: u32) -> WireId {
        WireId::new(i)
    }

    /// The window's two-input ops in execution order, as label indices.
    fn exec_ops(win: &Window) -> Vec<Op> {
        let mut out = Vec::new();
        for seg in &win.segments {
            let range = seg.start as usize..seg.end as usize;
            if seg.and {
                out.extend_from_slice(&win.ops[range]);
            } else if !seg.wide {
                out.extend(win.free[range].iter().map(|o| Op { a: o.a >> 4, b: o.b >> 4, out: o.out >> 4 }));
            }
        }
        out
    }

    #[test]
    fn renaming_handles_reused_wires() {
        // w6 = x2 & x3 ; w7 = w6 ^ x4 ; w6 = x4 & x5 (WAR on w6 for the XOR,
        // which must see the first value) ; w7 = w7 ^ w6.
        let gates = vec![
            Gate::and(w(2), w(3), w(6)),
            Gate::xor(w(6), w(4), w(7)),
            Gate::and(w(4), w(5), w(6)),
            Gate::xor(w(7), w(6), w(7)),
        ];
        let mut comp = WindowCompiler::new(8, 64);
        let mut win = Window::default();
        comp.compile(0, &gates, None, &mut win).unwrap();
        // Both ANDs are independent: one batch of two. Every wire is written
        // twice, so every gate writes a private slot (from index 8 + 1).
        // (The lowest label the batch reads is x2.)
        assert_eq!(win.segments[0], Segment { start: 0, end: 2, and: true, wide: false, low: 2 });
        // The first XOR reads the first AND's slot (exec position 0).
        let ops = exec_ops(&win);
        assert_eq!(ops[2], Op { a: 9, b: 4, out: 9 + 2 });
        // The second XOR reads the first XOR's slot and the second AND's.
        assert_eq!(ops[3], Op { a: 9 + 2, b: 9 + 1, out: 9 + 3 });
        // Last writers are copied back.
        assert_eq!(win.writeback, vec![(6, 9 + 1), (7, 9 + 3)]);
        assert!(comp.producer.iter().all(|&p| p == 0));
        assert!(comp.flags.iter().all(|&f| f == 0));
        assert!(comp.last_old_read.iter().all(|&l| l == 0));
    }

    #[test]
    fn a_renamed_window_with_a_malformed_gate_is_refused_at_its_first() {
        let ok = Gate::xor(w(2), w(3), w(4));
        let cases = [
            (Gate::xor(w(2), w(3), w(0)), PlanError::WritesConstant { gate: 11, wire: 0 }),
            (Gate::and(w(2), w(8), w(5)), PlanError::WireOutOfRange { gate: 11, wire: 8, num_wires: 8 }),
            (Gate { a: w(2), b: w(3), out: w(5), kind: GateKind::Inv }, PlanError::MalformedInv { gate: 11 }),
        ];
        for (bad, expect) in cases {
            let later = Gate::and(w(2), w(9), w(6));
            let mut comp = WindowCompiler::new(8, 64);
            let mut win = Window::default();
            let got = comp.compile_renamed(10, &[ok, bad, ok, later], &mut win);
            assert_eq!(got, Err(expect));
            // The gates before it leave no level behind.
            assert!(comp.wire_level.iter().all(|&l| l == 0));
        }
    }

    #[test]
    fn in_place_only_when_old_readers_run_first() {
        // g0: w6 = x2 & x3 (level 1); g1: w7 = w6 ^ x4 (level 1, reads the old
        // x4); g2: x4 = x2 ^ x3 (level 0, runs first: must not clobber x4);
        // g3: x5 = x5 ^ x2 (reads its own old value: in place is fine).
        let gates = vec![
            Gate::and(w(2), w(3), w(6)),
            Gate::xor(w(6), w(4), w(7)),
            Gate::xor(w(2), w(3), w(4)),
            Gate::xor(w(5), w(2), w(5)),
        ];
        let mut comp = WindowCompiler::new(8, 64);
        let mut win = Window::default();
        comp.compile(0, &gates, None, &mut win).unwrap();
        // Level-0 free gates first: g2 (renamed to slot 9 + 0), g3 (in place).
        let ops = exec_ops(&win);
        assert_eq!(ops[0], Op { a: 2, b: 3, out: 9 });
        assert_eq!(ops[1], Op { a: 5, b: 2, out: 5 });
        assert_eq!(ops[3], Op { a: 6, b: 4, out: 7 });
        assert_eq!(win.writeback, vec![(4, 9)]);
        assert!(comp.last_old_read.iter().all(|&p| p == 0));
    }

    #[test]
    fn ssa_gates_write_in_place() {
        let gates = vec![Gate::and(w(2), w(3), w(5)), Gate::inv(w(5), w(6)), Gate::xor(w(6), w(4), w(7))];
        let mut comp = WindowCompiler::new(8, 64);
        let mut win = Window::default();
        comp.compile(0, &gates, None, &mut win).unwrap();
        assert_eq!(
            exec_ops(&win),
            vec![Op { a: 2, b: 3, out: 5 }, Op { a: 5, b: 8, out: 6 }, Op { a: 6, b: 4, out: 7 }]
        );
        assert!(win.writeback.is_empty());
    }

    #[test]
    fn malformed_gates_are_errors() {
        let mut comp = WindowCompiler::new(4, 64);
        let mut win = Window::default();
        assert!(matches!(
            comp.compile(0, &[Gate::and(w(2), w(9), w(3))], None, &mut win),
            Err(PlanError::WireOutOfRange { wire: 9, .. })
        ));
        assert!(matches!(
            comp.compile(0, &[Gate::and(w(2), w(2), w(1))], None, &mut win),
            Err(PlanError::WritesConstant { .. })
        ));
        assert!(comp.producer.iter().all(|&p| p == 0));
    }
}
