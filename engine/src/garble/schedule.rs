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

/// A run of consecutive ops of one sort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// AND batch (true) or free gates (false).
    pub(crate) and: bool,
}

/// A compiled window.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    pub(crate) ops: Vec<Op>,
    pub(crate) segments: Vec<Segment>,
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
}

impl Compiler {
    fn new(num_wires: u32) -> Compiler {
        Compiler {
            num_wires,
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
        }
    }

    /// Compiles `gates` (the gates `first_index..` of the source) into `w`.
    ///
    /// A gate writes its wire in place when it is the wire's only writer in
    /// the window and every reader of the wire's old value executes no later
    /// than it (always so in SSA circuits, and for `x ← x ⊕ y`); otherwise it
    /// writes a private slot, and the last writer's slot is copied to the
    /// wire at the end of the window.
    fn compile(&mut self, first_index: u64, gates: &[Gate], w: &mut Window) -> Result<(), PlanError> {
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
            self.finish(gates, max_level, max_depth, w);
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
    fn finish(&mut self, gates: &[Gate], max_level: u32, max_depth: u32, w: &mut Window) {
        let n = gates.len();
        let nw = self.num_wires;
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
                w.segments.push(Segment { start, end: start + len, and: k % 2 == 1 });
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
        w.writeback.clear();
        for (g, gate) in gates.iter().enumerate() {
            if !direct[g] && producer[gate.out.index()] == g as u32 {
                w.writeback.push((gate.out.get(), nw + 1 + pos[g]));
            }
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
    if window_gates == 0 || (u64::from(nw) + 1 + window_gates as u64) >= u64::from(u32::MAX) {
        return Err(PlanError::TooManyWires { num_wires: nw, window_gates });
    }
    if let Some(w) = source.output_wires().iter().find(|w| w.get() >= nw) {
        return Err(PlanError::WireOutOfRange { gate: u64::MAX, wire: w.get(), num_wires: nw });
    }
    Ok(())
}

/// Compiles consecutive windows of `source` starting at gate `start`, up to
/// gate `end`.
fn compile_all(source: &dyn GateSource, window_gates: usize) -> Result<Vec<Window>, PlanError> {
    let mut compiler = Compiler::new(source.num_wires());
    let mut buf = vec![Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(2)); window_gates];
    let mut windows = Vec::new();
    let mut pos = 0u64;
    loop {
        let n = source.read_gates(pos, &mut buf);
        if n == 0 {
            break;
        }
        let mut w = Window::default();
        compiler.compile(pos, &buf[..n], &mut w)?;
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
        let windows = compile_all(source, window_gates)?;
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
            compile_all(&r, window_gates)
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
            and_count: Some(per_rep * reps + tail_ands),
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
                        let mut compiler = Compiler::new(num_wires);
                        let mut buf =
                            vec![Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(2)); window_gates];
                        let mut pos = 0u64;
                        loop {
                            let n = source.read_gates(pos, &mut buf);
                            if n == 0 {
                                return;
                            }
                            let mut w = spent_rx.try_recv().unwrap_or_default();
                            let compiled = compiler.compile(pos, &buf[..n], &mut w).map(|()| w);
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
        let mut comp = Compiler::new(12);
        let mut win = Window::default();
        comp.compile(0, &gates, &mut win).unwrap();
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
        let mut comp = Compiler::new(8);
        let mut win = Window::default();
        comp.compile(0, &gates, &mut win).unwrap();
        // Both ANDs are independent: one batch of two. Every wire is written
        // twice, so every gate writes a private slot (from index 8 + 1).
        assert_eq!(win.segments[0], Segment { start: 0, end: 2, and: true });
        // The first XOR reads the first AND's slot (exec position 0).
        assert_eq!(win.ops[2], Op { a: 9, b: 4, out: 9 + 2 });
        // The second XOR reads the first XOR's slot and the second AND's.
        assert_eq!(win.ops[3], Op { a: 9 + 2, b: 9 + 1, out: 9 + 3 });
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
        let mut comp = Compiler::new(8);
        let mut win = Window::default();
        comp.compile(0, &gates, &mut win).unwrap();
        // Level-0 free gates first: g2 (renamed to slot 9 + 0), g3 (in place).
        assert_eq!(win.ops[0], Op { a: 2, b: 3, out: 9 });
        assert_eq!(win.ops[1], Op { a: 5, b: 2, out: 5 });
        assert_eq!(win.ops[3], Op { a: 6, b: 4, out: 7 });
        assert_eq!(win.writeback, vec![(4, 9)]);
        assert!(comp.last_old_read.iter().all(|&p| p == 0));
    }

    #[test]
    fn ssa_gates_write_in_place() {
        let gates = vec![Gate::and(w(2), w(3), w(5)), Gate::inv(w(5), w(6)), Gate::xor(w(6), w(4), w(7))];
        let mut comp = Compiler::new(8);
        let mut win = Window::default();
        comp.compile(0, &gates, &mut win).unwrap();
        assert_eq!(
            win.ops,
            vec![Op { a: 2, b: 3, out: 5 }, Op { a: 5, b: 8, out: 6 }, Op { a: 6, b: 4, out: 7 }]
        );
        assert!(win.writeback.is_empty());
    }

    #[test]
    fn malformed_gates_are_errors() {
        let mut comp = Compiler::new(4);
        let mut win = Window::default();
        assert!(matches!(
            comp.compile(0, &[Gate::and(w(2), w(9), w(3))], &mut win),
            Err(PlanError::WireOutOfRange { wire: 9, .. })
        ));
        assert!(matches!(
            comp.compile(0, &[Gate::and(w(2), w(2), w(1))], &mut win),
            Err(PlanError::WritesConstant { .. })
        ));
        assert!(comp.producer.iter().all(|&p| p == NONE));
    }
}
