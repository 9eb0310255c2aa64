//! The batching schedule: which AND gates are hashed together.
//!
//! Both parties derive the schedule from the gate list alone, so they agree
//! on the order of the garbled tables without exchanging anything.
//!
//! # Algorithm
//!
//! Gates are taken in windows of at most `window_gates` consecutive gates
//! (default [`DEFAULT_WINDOW_GATES`]). Each gate gets a level: an AND gate
//! `1 + max(level of its operands)`, a free gate (XOR, INV)
//! `max(level of its operands)`, values from before the window 0. Gates are
//! executed by increasing level: all ANDs of level `L` as one batch (their
//! operands are all ready), then the free gates of level `L`, ordered by the
//! length of the chain of same-level free gates ending at them (so that
//! independent XORs sit side by side for instruction-level parallelism).
//!
//! Reordering is only sound if it respects the hazards of a circuit whose
//! wires are reused (not SSA): a gate reads the value its operand held *at
//! its place in the original list*. Inside a window, every read is resolved
//! to its producer at compile time (read-after-write). A gate writes its wire
//! in place only when it is that wire's only writer in the window and every
//! reader of the wire's previous value executes no later than it
//! (write-after-read); otherwise (several writers, or an old-value reader
//! scheduled later) it writes a private slot, readers are pointed at the
//! slot, and the last writer's slot is copied to the wire when the window
//! ends (write-after-write). SSA circuits such as Bristol files never need a
//! slot.
//!
//! For whole-circuit plans ([`Plan::compile`], [`Plan::repeated`]) a
//! liveness pass over the circuit first marks the values still needed after
//! their window (`Escapes`). A free gate whose value is not needed later
//! and is read by exactly one gate, itself free, is then folded into that
//! reader: the reader becomes one op XORing up to four labels ([`Op4`]), so
//! intermediate labels of XOR chains are never stored or loaded (AES-128:
//! 9,179 of its 30,263 XOR/INV gates fold away). A gate reading a wire's
//! value from before the window that the window overwrites is never folded,
//! as its read cannot move. Values not needed after the window are not
//! copied back to their wires either.
//!
//! A wide circuit puts up to a whole window of ANDs in one batch; a chain
//! of dependent ANDs (the worst case) gives batches of one. The garbled
//! tables are sent in execution order, and the tweak of an AND gate is its
//! position in that order over the whole circuit.
//!
//! # Plans
//!
//! A [`Plan`] is the compiled schedule of a [`GateSource`]: compiled once
//! and kept ([`Plan::compile`], ~20 bytes per gate, reused by every run of
//! the circuit), compiled window by window during the run on
//! a helper thread a few windows ahead ([`Plan::streaming`], memory
//! independent of circuit size), or a
//! [`Repeated`] body compiled once and replayed ([`Plan::repeated`]).

use std::sync::mpsc::{channel, sync_channel};

use garblet_circuits::{Gate, GateKind, WireId};

use super::source::{GateSource, Repeated};
use super::PlanError;

/// Default window: gates scheduled together. Measured on the AES-128 and
/// wide benchmarks (see `BENCHMARKS.md`).
pub const DEFAULT_WINDOW_GATES: usize = 1 << 16;

const NONE: u32 = u32::MAX;

/// Windows a streaming plan schedules ahead of the run.
const WINDOWS_AHEAD: usize = 2;

/// One scheduled gate, as indices into the label array of a run. Index `i <
/// num_wires` is wire `i`; index `num_wires` holds Δ for the garbler and the
/// zero block for the evaluator (an INV gate is an XOR with it); index
/// `num_wires + 1 + p` is the private slot of the gate executed at position
/// `p` of the window, used when the gate's wire cannot be written in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// First operand's label index.
    pub a: u32,
    /// Second operand's label index.
    pub b: u32,
    /// Label index written.
    pub out: u32,
}

/// A free op with up to four inputs: `out ← in[0] ⊕ in[1] ⊕ in[2] ⊕ in[3]`
/// (unused inputs are the zero label at index `num_wires + 1 +
/// window_gates`). Chains of XOR/INV whose intermediate values are read
/// once are folded into one such op, so the intermediate labels are never
/// stored or loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op4 {
    /// Label indices XORed together.
    pub ins: [u32; 4],
    /// Label index written.
    pub out: u32,
}

/// A run of consecutive ops of one sort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// AND batch (true, the range is in `Window::ops`) or free gates
    /// (false, the range is in `Window::free`).
    pub(crate) and: bool,
    /// Free gates with up to four inputs: the range is in `Window::ops4`.
    pub(crate) wide: bool,
}

/// A compiled window.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    /// AND gates (label indices).
    pub(crate) ops: Vec<Op>,
    pub(crate) segments: Vec<Segment>,
    /// Free gates with two inputs, as *byte offsets* of labels (index ×
    /// 16; see [`split_free_ops`]).
    pub(crate) free: Vec<Op>,
    /// Free gates with three or four inputs (see [`Op4`]), as byte offsets.
    pub(crate) ops4: Vec<Op4>,
    /// `(wire, slot)` copies applied at the end of the window, for wires
    /// whose last writer in the window wrote a private slot.
    pub(crate) writeback: Vec<(u32, u32)>,
    pub(crate) ands: usize,
}

/// Checks one gate against the wire space.
pub(crate) fn check_gate(index: u64, g: &Gate, num_wires: u32) -> Result<(), PlanError> {
    for w in [g.a, g.b, g.out] {
        if w.get() >= num_wires {
            return Err(PlanError::WireOutOfRange { gate: index, wire: w.get(), num_wires });
        }
    }
    if g.out.is_const() {
        return Err(PlanError::WritesConstant { gate: index, wire: g.out.get() });
    }
    if g.kind == GateKind::Inv && g.a != g.b {
        return Err(PlanError::MalformedInv { gate: index });
    }
    Ok(())
}

/// Per-wire flags of the window being compiled.
const WRITTEN: u8 = 1;
const WRITTEN_TWICE: u8 = 2;

/// What pass 1 learns about a window gate.
#[derive(Clone, Copy, Debug, Default)]
struct Info {
    /// AND-level (see the module docs).
    level: u32,
    /// For a free gate, the length of the longest chain of free gates of the
    /// same level ending at it; `u32::MAX` marks an AND gate.
    depth: u32,
    /// Window gates that produced the operands, or NONE (value from before).
    ref_a: u32,
    ref_b: u32,
}

const AND_DEPTH: u32 = u32::MAX;

/// Reusable buffers of the window compiler.
struct Compiler {
    num_wires: u32,
    /// Label index of the zero label (both parties): `num_wires + 1 +
    /// window_gates`, after the private slots.
    zero_index: u32,
    /// Per wire: window gate that last wrote it, or NONE.
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
}

impl Compiler {
    fn new(num_wires: u32, window_gates: usize) -> Compiler {
        Compiler {
            num_wires,
            // In range: checked by `check_shape`.
            zero_index: num_wires + 1 + window_gates as u32,
            producer: vec![NONE; num_wires as usize],
            flags: vec![0; num_wires as usize],
            info: Vec::new(),
            counts: Vec::new(),
            pos: Vec::new(),
            order: Vec::new(),
            depth_counts: Vec::new(),
            direct: Vec::new(),
            old_reads: Vec::new(),
            last_old_read: vec![0; num_wires as usize],
            readers: Vec::new(),
            gate_at: Vec::new(),
            inputs: Vec::new(),
            absorbed: Vec::new(),
        }
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
    fn compile(
        &mut self,
        first_index: u64,
        gates: &[Gate],
        escapes: Option<&Escapes>,
        w: &mut Window,
    ) -> Result<(), PlanError> {
        let num_wires = self.num_wires;
        let Compiler { producer, flags, info, old_reads, .. } = self;
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
            let (pa, pb) = (producer[a], producer[b]);
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
            producer[out] = g as u32;
        }
        if result.is_ok() {
            self.finish(first_index, gates, escapes, max_level, max_depth, w);
        }
        // Reset the per-wire state for the next window, even on error.
        let Compiler { producer, flags, .. } = self;
        for gate in &gates[..seen] {
            producer[gate.out.index()] = NONE;
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
        let Compiler {
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
                w.segments.push(Segment { start, end: start + len, and: k % 2 == 1, wide: false });
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
            if !direct[g] && !absorbed[g] && needed && producer[gate.out.index()] == g as u32 {
                w.writeback.push((gate.out.get(), nw + 1 + pos[g]));
            }
        }
        split_free_ops(w);
    }
}

/// Largest label index a plan may use: free ops address labels by byte
/// offset in a `u32`.
pub(crate) const MAX_LABELS: u64 = 1 << 28;

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

/// What [`fuse`] reads from the window compiler.
struct FuseInput<'a> {
    first_index: u64,
    gates: &'a [Gate],
    info: &'a [Info],
    pos: &'a [u32],
    flags: &'a [u8],
    zero_index: u32,
}

/// [`fuse`]'s reusable buffers (see [`Compiler`]).
struct FuseBuffers<'a> {
    readers: &'a mut Vec<(u32, u32)>,
    gate_at: &'a mut Vec<u32>,
    inputs: &'a mut Vec<([u32; 4], u8)>,
    absorbed: &'a mut Vec<bool>,
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
/// value is never folded.
fn fuse(input: FuseInput<'_>, esc: &Escapes, buf: FuseBuffers<'_>, w: &mut Window) {
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
            w.segments.push(Segment { start, end: w.ops.len() as u32, and: true, wide: false });
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
                        _ => w.segments.push(Segment { start: at - 1, end: at, and: false, wide }),
                    }
                }
            }
            p = q;
        }
    }
}

enum Kind<'s> {
    Compiled(Vec<Window>),
    Streaming(&'s dyn GateSource),
    Repeated { windows: Vec<Window>, reps: u64, tail: Vec<Window> },
}

/// The compiled batching schedule of a circuit; see the module docs.
/// Garbler and evaluator run the same plan.
pub struct Plan<'s> {
    num_wires: u32,
    input_bits: u64,
    outputs: Vec<WireId>,
    window_gates: usize,
    and_count: Option<u64>,
    kind: Kind<'s>,
}

impl std::fmt::Debug for Plan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("num_wires", &self.num_wires)
            .field("input_bits", &self.input_bits)
            .field("outputs", &self.outputs.len())
            .field("window_gates", &self.window_gates)
            .field("and_count", &self.and_count)
            .finish_non_exhaustive()
    }
}

fn check_shape(source: &dyn GateSource, window_gates: usize) -> Result<(), PlanError> {
    let nw = source.num_wires();
    if source.input_bits() + 2 > u64::from(nw) {
        return Err(PlanError::InputsExceedWires { input_bits: source.input_bits(), num_wires: nw });
    }
    // Labels: wires, Δ (or zero), a private slot per window gate, zero.
    if window_gates == 0 || (u64::from(nw) + 2 + window_gates as u64) >= MAX_LABELS {
        return Err(PlanError::TooManyWires { num_wires: nw, window_gates });
    }
    if let Some(w) = source.output_wires().iter().find(|w| w.get() >= nw) {
        return Err(PlanError::WireOutOfRange { gate: u64::MAX, wire: w.get(), num_wires: nw });
    }
    Ok(())
}

/// For every gate of a whole circuit, whether its value is still needed
/// after the end of its window: it is the last write to its wire in the
/// window, and the wire is read after the window before being written again
/// (or is live after the circuit). A bit per gate.
pub(crate) struct Escapes {
    bits: Vec<u64>,
}

impl Escapes {
    /// Liveness over `source`, cut into windows of `window_gates` gates as
    /// [`compile_all`] cuts it, with the wires `live_after` needed after the
    /// last gate. `None` if a gate is malformed (the compiler reports it).
    fn compute(source: &dyn GateSource, window_gates: usize, live_after: &[u32]) -> Option<Escapes> {
        let nw = source.num_wires();
        let total = source.num_gates();
        let mut live = vec![false; nw as usize];
        for &w in live_after {
            *live.get_mut(w as usize)? = true;
        }
        let mut seen = vec![false; nw as usize];
        let mut bits = vec![0u64; usize::try_from(total.div_ceil(64)).ok()?];
        let mut buf = vec![Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(2)); window_gates];
        for k in (0..total.div_ceil(window_gates as u64)).rev() {
            let start = k * window_gates as u64;
            let n = source.read_gates(start, &mut buf);
            let gates = &buf[..n];
            if gates.iter().enumerate().any(|(i, g)| check_gate(start + i as u64, g, nw).is_err()) {
                return None;
            }
            // The window's last write to each wire escapes if the wire is
            // live at the window's end.
            for (i, g) in gates.iter().enumerate().rev() {
                let out = g.out.index();
                if !seen[out] {
                    seen[out] = true;
                    if live[out] {
                        let bit = start + i as u64;
                        bits[(bit / 64) as usize] |= 1 << (bit % 64);
                    }
                }
            }
            // Liveness at the window's start.
            for g in gates.iter().rev() {
                seen[g.out.index()] = false;
                live[g.out.index()] = false;
                live[g.a.index()] = true;
                live[g.b.index()] = true;
            }
        }
        Some(Escapes { bits })
    }

    fn get(&self, gate: u64) -> bool {
        self.bits.get((gate / 64) as usize).is_some_and(|b| (b >> (gate % 64)) & 1 == 1)
    }
}

/// Compiles the consecutive windows of a whole circuit `source`, whose
/// wires `live_after` are needed after its last gate.
fn compile_all(
    source: &dyn GateSource,
    window_gates: usize,
    live_after: &[u32],
) -> Result<Vec<Window>, PlanError> {
    let escapes = Escapes::compute(source, window_gates, live_after);
    let mut compiler = Compiler::new(source.num_wires(), window_gates);
    let mut buf = vec![Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(2)); window_gates];
    let mut windows = Vec::new();
    let mut pos = 0u64;
    loop {
        let n = source.read_gates(pos, &mut buf);
        if n == 0 {
            break;
        }
        let mut w = Window::default();
        compiler.compile(pos, &buf[..n], escapes.as_ref(), &mut w)?;
        windows.push(w);
        pos += n as u64;
    }
    Ok(windows)
}

impl<'s> Plan<'s> {
    /// Compiles the whole schedule of `source` now and keeps it (about 20
    /// bytes per gate): the choice for a circuit garbled more than once.
    pub fn compile(source: &dyn GateSource) -> Result<Plan<'static>, PlanError> {
        Plan::compile_with_window(source, DEFAULT_WINDOW_GATES)
    }

    /// [`Plan::compile`] with another window size (in gates).
    pub fn compile_with_window(
        source: &dyn GateSource,
        window_gates: usize,
    ) -> Result<Plan<'static>, PlanError> {
        // A window never needs to be larger than the circuit: the label
        // buffer of a run is sized by it (this keeps small circuits garbled
        // many times, e.g. batches, from allocating a full window each time).
        let window_gates = window_gates.min(usize::try_from(source.num_gates()).unwrap_or(usize::MAX).max(1));
        check_shape(source, window_gates)?;
        let outputs: Vec<u32> = source.output_wires().iter().map(|w| w.get()).collect();
        let windows = compile_all(source, window_gates, &outputs)?;
        let and_count = windows.iter().map(|w| w.ands as u64).sum();
        Ok(Plan {
            num_wires: source.num_wires(),
            input_bits: source.input_bits(),
            outputs: source.output_wires(),
            window_gates,
            and_count: Some(and_count),
            kind: Kind::Compiled(windows),
        })
    }

    /// A plan that compiles each window when the run reaches it: memory is
    /// one window whatever the circuit's size.
    pub fn streaming(source: &'s dyn GateSource) -> Result<Plan<'s>, PlanError> {
        Plan::streaming_with_window(source, DEFAULT_WINDOW_GATES)
    }

    /// [`Plan::streaming`] with another window size (in gates).
    pub fn streaming_with_window(
        source: &'s dyn GateSource,
        window_gates: usize,
    ) -> Result<Plan<'s>, PlanError> {
        check_shape(source, window_gates)?;
        Ok(Plan {
            num_wires: source.num_wires(),
            input_bits: source.input_bits(),
            outputs: source.output_wires(),
            window_gates,
            and_count: None,
            kind: Kind::Streaming(source),
        })
    }

    /// The plan of a [`Repeated`] circuit: as many copies of the body as fill
    /// a window are compiled once (so that independent copies share
    /// batches), and that schedule is replayed.
    pub fn repeated(source: &Repeated) -> Result<Plan<'static>, PlanError> {
        Plan::repeated_with_window(source, DEFAULT_WINDOW_GATES)
    }

    /// [`Plan::repeated`] with another window size (in gates).
    pub fn repeated_with_window(source: &Repeated, window_gates: usize) -> Result<Plan<'static>, PlanError> {
        check_shape(source, window_gates)?;
        let body_len = source.body().len().max(1);
        // After a run of copies: the outputs, and what the next copy reads
        // before writing it.
        let mut live_after: Vec<u32> = source.output_wires().iter().map(|w| w.get()).collect();
        let mut written = vec![false; source.num_wires() as usize];
        for g in source.body() {
            for r in [g.a, g.b] {
                if !written[r.index()] {
                    live_after.push(r.get());
                }
            }
            written[g.out.index()] = true;
        }
        let per = (window_gates / body_len).max(1) as u64;
        let per = per.min(source.times().max(1));
        let chunk = |times: u64| -> Result<Vec<Window>, PlanError> {
            if times == 0 {
                return Ok(Vec::new());
            }
            let r = Repeated::from_gates(
                source.num_wires(),
                source.input_bits(),
                source.output_wires(),
                source.body().to_vec(),
                times,
            )?;
            compile_all(&r, window_gates, &live_after)
        };
        let windows = chunk(per)?;
        let reps = source.times() / per;
        let tail = chunk(source.times() % per)?;
        let per_rep: u64 = windows.iter().map(|w| w.ands as u64).sum();
        let tail_ands: u64 = tail.iter().map(|w| w.ands as u64).sum();
        Ok(Plan {
            num_wires: source.num_wires(),
            input_bits: source.input_bits(),
            outputs: source.output_wires(),
            window_gates,
            // Saturating: a count past u64 (a huge `times`) must not wrap to a
            // small one, which would defeat the tweak-range check of a run.
            and_count: Some(per_rep.saturating_mul(reps).saturating_add(tail_ands)),
            kind: Kind::Repeated { windows, reps, tail },
        })
    }

    /// The size of the wire space.
    pub fn num_wires(&self) -> u32 {
        self.num_wires
    }

    /// Input wires (after the two constants).
    pub fn input_bits(&self) -> u64 {
        self.input_bits
    }

    /// The output wires in order.
    pub fn output_wires(&self) -> &[WireId] {
        &self.outputs
    }

    /// AND gates in the circuit, if known before the run (not for
    /// [`Plan::streaming`]).
    pub fn and_count(&self) -> Option<u64> {
        self.and_count
    }

    /// An upper bound on the AND gates of a run: [`Plan::and_count`] when
    /// known, else (streaming) the source's gate count, as if every gate
    /// were an AND. Used to check a run's tweak range before it starts.
    pub(crate) fn and_bound(&self) -> u64 {
        match (&self.kind, self.and_count) {
            (_, Some(n)) => n,
            (Kind::Streaming(source), None) => source.num_gates(),
            // Only streaming plans have no count.
            (_, None) => u64::MAX,
        }
    }

    /// The window size in gates: an upper bound on the slots a run needs.
    pub fn window_gates(&self) -> usize {
        self.window_gates
    }

    /// Calls `f` on every window in order.
    pub(crate) fn for_each_window<E: From<PlanError>>(
        &self,
        mut f: impl FnMut(&Window) -> Result<(), E>,
    ) -> Result<(), E> {
        match &self.kind {
            Kind::Compiled(windows) => windows.iter().try_for_each(f),
            Kind::Repeated { windows, reps, tail } => {
                for _ in 0..*reps {
                    windows.iter().try_for_each(&mut f)?;
                }
                tail.iter().try_for_each(f)
            }
            Kind::Streaming(source) => {
                // A helper thread reads and schedules windows ahead of the run
                // (at most WINDOWS_AHEAD queued), so that on a machine with a
                // spare core scheduling overlaps garbling. Windows are recycled.
                let (ready_tx, ready_rx) = sync_channel::<Result<Window, PlanError>>(WINDOWS_AHEAD);
                let (spent_tx, spent_rx) = channel::<Window>();
                let (num_wires, window_gates) = (self.num_wires, self.window_gates);
                std::thread::scope(|scope| {
                    scope.spawn(move || {
                        let mut compiler = Compiler::new(num_wires, window_gates);
                        let mut buf =
                            vec![Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(2)); window_gates];
                        let mut pos = 0u64;
                        loop {
                            let n = source.read_gates(pos, &mut buf);
                            if n == 0 {
                                return;
                            }
                            let mut w = spent_rx.try_recv().unwrap_or_default();
                            let compiled = compiler.compile(pos, &buf[..n], None, &mut w).map(|()| w);
                            let failed = compiled.is_err();
                            // A closed channel means the run stopped early.
                            if ready_tx.send(compiled).is_err() || failed {
                                return;
                            }
                            pos += n as u64;
                        }
                    });
                    // Returning (on success or error) drops `ready_rx`, which
                    // stops the helper; the scope joins it.
                    for compiled in ready_rx {
                        let w = compiled?;
                        f(&w)?;
                        // The helper may have finished: then the window is dropped.
                        let _ = spent_tx.send(w);
                    }
                    Ok(())
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use garblet_circuits::{Circuit, InputSpec, Output, Party, Visibility};

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

    /// A source of raw gates over `num_wires` wires (no validation beyond
    /// the plan's own).
    fn source(num_wires: u32, gates: Vec<Gate>, outputs: Vec<u32>) -> Repeated {
        Repeated::from_gates(num_wires, 4, outputs.into_iter().map(WireId::new).collect(), gates, 1).unwrap()
    }

    #[test]
    fn single_reader_xor_chains_are_folded() {
        // Inputs 2..6; t7 = x2 ^ x3; t8 = !t7; t9 = t8 ^ x4 (output), read by
        // nobody else: one op of four inputs, x2 ^ x3 ^ Δ ^ x4.
        let gates = vec![Gate::xor(w(2), w(3), w(7)), Gate::inv(w(7), w(8)), Gate::xor(w(8), w(4), w(9))];
        let src = source(10, gates, vec![9]);
        let windows = compile_all(&src, 64, &[9]).unwrap();
        let win = &windows[0];
        // (Byte offsets: label index × 16.)
        assert_eq!(win.ops4, vec![Op4 { ins: [2 << 4, 3 << 4, 10 << 4, 4 << 4], out: 9 << 4 }]);
        assert!(win.segments.iter().all(|s| s.wide), "{:?}", win.segments);
        // Without liveness (a streaming plan) nothing is folded.
        let mut comp = Compiler::new(10, 64);
        let mut plain = Window::default();
        let gates = src.body().to_vec();
        comp.compile(0, &gates, None, &mut plain).unwrap();
        assert!(plain.ops4.is_empty());
        assert_eq!(plain.free.len(), 3);
    }

    #[test]
    fn values_read_twice_or_needed_later_are_not_folded() {
        // t7 = x2 ^ x3 is read twice; t8 = x4 ^ x5 is an output.
        let gates = vec![
            Gate::xor(w(2), w(3), w(7)),
            Gate::xor(w(7), w(4), w(9)),
            Gate::xor(w(7), w(5), w(10)),
            Gate::xor(w(4), w(5), w(8)),
            Gate::xor(w(8), w(2), w(11)),
        ];
        let src = source(12, gates, vec![8, 9, 10, 11]);
        let windows = compile_all(&src, 64, &[8, 9, 10, 11]).unwrap();
        assert!(windows[0].ops4.is_empty());
        assert_eq!(windows[0].free.len(), 5);
    }

    #[test]
    fn reads_of_overwritten_wires_are_not_moved() {
        // t6 = x2 ^ x3 reads x2 before x2 is overwritten (x2 = x4 ^ x5, in
        // place); folding t6 into t7 = t6 ^ x4 would read the new x2.
        let gates =
            vec![Gate::xor(w(2), w(3), w(6)), Gate::xor(w(4), w(5), w(2)), Gate::xor(w(6), w(4), w(7))];
        let src = source(8, gates, vec![2, 7]);
        let windows = compile_all(&src, 64, &[2, 7]).unwrap();
        assert!(windows[0].ops4.is_empty(), "{:?}", windows[0].ops4);
    }

    #[test]
    fn independent_ands_share_a_batch_and_chains_do_not() {
        // Inputs 2..6. Four independent ANDs, then a chain of two.
        let gates = vec![
            Gate::and(w(2), w(3), w(6)),
            Gate::and(w(4), w(5), w(7)),
            Gate::xor(w(6), w(7), w(8)),
            Gate::and(w(2), w(5), w(9)),
            Gate::and(w(8), w(9), w(10)),
            Gate::and(w(10), w(2), w(11)),
        ];
        let c = Circuit::new(
            12,
            vec![InputSpec::new("x", Party::Garbler, 4)],
            vec![Output { name: "o".into(), visibility: Visibility::Both, wires: vec![w(11)] }],
            gates.clone(),
        )
        .unwrap();
        let mut comp = Compiler::new(12, 64);
        let mut win = Window::default();
        comp.compile(0, &gates, None, &mut win).unwrap();
        let and_sizes: Vec<u32> = win.segments.iter().filter(|s| s.and).map(|s| s.end - s.start).collect();
        assert_eq!(and_sizes, vec![3, 1, 1]);
        assert_eq!(win.ands, 5);
        let plan = Plan::compile(&c).unwrap();
        assert_eq!(plan.and_count(), Some(5));
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
        let mut comp = Compiler::new(8, 64);
        let mut win = Window::default();
        comp.compile(0, &gates, None, &mut win).unwrap();
        // Both ANDs are independent: one batch of two. Every wire is written
        // twice, so every gate writes a private slot (from index 8 + 1).
        assert_eq!(win.segments[0], Segment { start: 0, end: 2, and: true, wide: false });
        // The first XOR reads the first AND's slot (exec position 0).
        let ops = exec_ops(&win);
        assert_eq!(ops[2], Op { a: 9, b: 4, out: 9 + 2 });
        // The second XOR reads the first XOR's slot and the second AND's.
        assert_eq!(ops[3], Op { a: 9 + 2, b: 9 + 1, out: 9 + 3 });
        // Last writers are copied back.
        assert_eq!(win.writeback, vec![(6, 9 + 1), (7, 9 + 3)]);
        assert!(comp.producer.iter().all(|&p| p == NONE));
        assert!(comp.flags.iter().all(|&f| f == 0));
        assert!(comp.last_old_read.iter().all(|&l| l == 0));
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
        let mut comp = Compiler::new(8, 64);
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
        let mut comp = Compiler::new(8, 64);
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
        let mut comp = Compiler::new(4, 64);
        let mut win = Window::default();
        assert!(matches!(
            comp.compile(0, &[Gate::and(w(2), w(9), w(3))], None, &mut win),
            Err(PlanError::WireOutOfRange { wire: 9, .. })
        ));
        assert!(matches!(
            comp.compile(0, &[Gate::and(w(2), w(2), w(1))], None, &mut win),
            Err(PlanError::WritesConstant { .. })
        ));
        assert!(comp.producer.iter().all(|&p| p == NONE));
    }
}
