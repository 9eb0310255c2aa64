//! Slot compaction: the values a window makes and uses up itself are moved
//! to a pool of labels, reused as soon as each value's last reader has
//! run, so that a window's labels take the room of its live values, not
//! of all its gates.
//!
//! Why: a window writes every gate's value to its own wire (or private
//! slot), so its labels span as many 16-byte blocks as it has gates. The
//! looped body of the model benchmark is one window of 60,513 gates: about
//! 1 MB of labels touched per run of the body, the whole second-level
//! cache, and its free gates (11,000 per record) wait on loads. The model
//! at 4 records (one window of 48,930 values) needs a pool of 16,012
//! labels: 256 KB instead of 783 KB. (Running by AND level keeps values
//! live across levels, so the pool is not smaller still.) Reused last
//! freed first, the labels a gate reads were mostly written a short while
//! before.
//!
//! Where: plans that replay their windows (repeated and looped plans),
//! where the smaller working set pays at every run of a window. A plan
//! compiled once and run once (`Plan::compile` of a large circuit) would
//! pay the two passes for little: they slowed `Plan::compile` of 16 chained
//! AES-128 by 30 % (criterion `schedule/compile_gates`).
//!
//! What moves: a value written in the window (in place or to a slot) that
//! is not needed after it ([`Escapes`](super::liveness::Escapes) says so;
//! without it nothing moves). What stays: values
//! needed after the window (written in place, or to the slots the window
//! copies back to their wires), the values from before the window, Δ and
//! the zero label.
//!
//! Soundness rests on the order a run executes a window in, which this
//! pass follows exactly: segments in order; in an AND batch, every gate
//! reads its inputs before any writes its output (the kernels may store a
//! gate's output before a later gate of the batch gathers), so a batch's
//! outputs take pool labels that no gate of the batch reads (labels freed
//! by the batch's reads return to the pool only after it); free ops one at
//! a time, each reading its inputs before writing its output, so an op may
//! take the label of an input it reads last. A value's label returns to
//! the pool after its last read, and a value nobody reads right after it is
//! written. The pool is the private-slot range, less the slots copied back
//! at the window's end; a window never needs more of it than it has gates.

use crate::garble::ops::{Op, Op4, Window};

/// The state of a label during the passes: not a value of this pass, kept
/// where it is, or value `id` (stored as `id + 1`).
const FREE: u32 = 0;
const KEEP: u32 = u32::MAX;

/// The pass's reusable buffers (owned by the `WindowCompiler`).
#[derive(Default)]
pub(super) struct CompactBuffers {
    /// Per slot (label `num_wires + 1 + k`): state.
    slot_state: Vec<u32>,
    /// Per value: its reads in the window.
    reads: Vec<u32>,
    /// Per value: the pool label it moved to.
    home: Vec<u32>,
    /// Pool labels free for reuse, last freed on top.
    pool: Vec<u32>,
    /// Labels freed by the AND batch being renamed (back after it).
    deferred: Vec<u32>,
    /// Labels written in the window (their state is reset after).
    written: Vec<u32>,
    ops: Vec<Op>,
    ops4: Vec<Op4>,
}

/// The labels of a window: wires (below `num_wires`) use the compiler's
/// per-wire array, slots their own.
struct States<'a> {
    num_wires: u32,
    wires: &'a mut [u32],
    slots: &'a mut [u32],
}

impl States<'_> {
    /// The state of label `l`; Δ (`num_wires`) and labels past the slots
    /// are never values of the window (a dummy cell, always FREE).
    fn get(&mut self, l: u32) -> &mut u32 {
        if l < self.num_wires {
            &mut self.wires[l as usize]
        } else {
            let k = (l - self.num_wires) as usize;
            // Slot `num_wires + 1 + j` is cell `j + 1`; cell 0 stands for Δ.
            &mut self.slots[k.min(self.slots.len() - 1)]
        }
    }
}

/// Where one operation of the window is in the run's order.
#[derive(Clone, Copy)]
enum Part {
    /// An AND batch (reads all before writes all).
    And(usize, usize),
    /// Two-input free ops.
    Free(usize, usize),
    /// Free ops of up to four inputs.
    Wide(usize, usize),
}

/// What [`compact`] needs to know about the window.
pub(super) struct CompactInput<'a> {
    pub(super) num_wires: u32,
    pub(super) window_gates: u32,
    /// Labels whose values are needed after the window (wires written in
    /// place, slots copied back).
    pub(super) keep: &'a [u32],
    /// The compiler's per-wire array, all zero (left so).
    pub(super) wire_state: &'a mut [u32],
}

/// Moves the window's local values to pool labels (see the module docs).
/// `w` holds label indices (before the free ops become byte offsets).
pub(super) fn compact(input: CompactInput<'_>, buf: &mut CompactBuffers, w: &mut Window) {
    let CompactInput { num_wires, window_gates, keep, wire_state } = input;
    let CompactBuffers { slot_state, reads, home, pool, deferred, written, ops, ops4 } = buf;
    // Cells: Δ, the window's slots, the zero label (and anything past it).
    slot_state.clear();
    slot_state.resize(window_gates as usize + 2, FREE);
    let mut st = States { num_wires, wires: wire_state, slots: slot_state };
    for &l in keep {
        *st.get(l) = KEEP;
    }
    let parts: Vec<Part> = w
        .segments
        .iter()
        .map(|s| {
            let (a, b) = (s.start as usize, s.end as usize);
            if s.and {
                Part::And(a, b)
            } else if s.wide {
                Part::Wide(a, b)
            } else {
                Part::Free(a, b)
            }
        })
        .collect();

    // Pass 1: each value's reads.
    reads.clear();
    written.clear();
    {
        let read = |st: &mut States<'_>, reads: &mut Vec<u32>, l: u32| {
            let s = *st.get(l);
            if s != FREE && s != KEEP {
                reads[(s - 1) as usize] += 1;
            }
        };
        let mut write = |st: &mut States<'_>, reads: &mut Vec<u32>, l: u32| {
            let s = st.get(l);
            if *s != KEEP {
                reads.push(0);
                *s = reads.len() as u32;
                written.push(l);
            }
        };
        for &p in &parts {
            match p {
                Part::And(a, b) => {
                    for op in &w.ops[a..b] {
                        read(&mut st, reads, op.a);
                        read(&mut st, reads, op.b);
                    }
                    for op in &w.ops[a..b] {
                        write(&mut st, reads, op.out);
                    }
                }
                Part::Free(a, b) => {
                    for op in &w.ops[a..b] {
                        read(&mut st, reads, op.a);
                        read(&mut st, reads, op.b);
                        write(&mut st, reads, op.out);
                    }
                }
                Part::Wide(a, b) => {
                    for op in &w.ops4[a..b] {
                        for &l in &op.ins {
                            read(&mut st, reads, l);
                        }
                        write(&mut st, reads, op.out);
                    }
                }
            }
        }
    }
    for &l in written.iter() {
        *st.get(l) = FREE;
    }

    // Pass 2: the same walk, handing out pool labels.
    home.clear();
    home.resize(reads.len(), 0);
    pool.clear();
    deferred.clear();
    ops.clear();
    ops.extend_from_slice(&w.ops);
    ops4.clear();
    ops4.extend_from_slice(&w.ops4);
    let slots_end = num_wires + 1 + window_gates;
    let mut fresh = num_wires + 1;
    let mut next_value = 0u32;
    let mut overflow = false;
    // A read of `l`: its pool label if `l` holds a moved value (freed after
    // its last read, to `freed`), else `l`.
    let read = |st: &mut States<'_>, reads: &mut [u32], home: &[u32], freed: &mut Vec<u32>, l: u32| -> u32 {
        let s = *st.get(l);
        if s == FREE || s == KEEP {
            return l;
        }
        let id = (s - 1) as usize;
        reads[id] -= 1;
        if reads[id] == 0 {
            freed.push(home[id]);
        }
        home[id]
    };
    for &p in &parts {
        match p {
            Part::And(a, b) => {
                // Every read of the batch first; the labels they free
                // return to the pool only after the batch's writes.
                for op in &mut ops[a..b] {
                    op.a = read(&mut st, reads, home, deferred, op.a);
                    op.b = read(&mut st, reads, home, deferred, op.b);
                }
                for op in &mut ops[a..b] {
                    let mut w = Writer { st: &mut st, reads, home, pool, fresh: &mut fresh, slots_end };
                    overflow |= !w.write(&mut next_value, &mut op.out, Some(&mut *deferred));
                }
                pool.append(deferred);
            }
            Part::Free(a, b) => {
                for op in &mut ops[a..b] {
                    op.a = read(&mut st, reads, home, pool, op.a);
                    op.b = read(&mut st, reads, home, pool, op.b);
                    let mut w = Writer { st: &mut st, reads, home, pool, fresh: &mut fresh, slots_end };
                    overflow |= !w.write(&mut next_value, &mut op.out, None);
                }
            }
            Part::Wide(a, b) => {
                for op in &mut ops4[a..b] {
                    for l in op.ins.iter_mut() {
                        *l = read(&mut st, reads, home, pool, *l);
                    }
                    let mut w = Writer { st: &mut st, reads, home, pool, fresh: &mut fresh, slots_end };
                    overflow |= !w.write(&mut next_value, &mut op.out, None);
                }
            }
        }
    }
    for &l in written.iter() {
        *st.get(l) = FREE;
    }
    for &l in keep {
        *st.get(l) = FREE;
    }
    // More pool labels than slots cannot happen (each moved value or kept
    // slot is a distinct gate of the window); if it did, the window stays
    // as compiled.
    if !overflow {
        std::mem::swap(&mut w.ops, ops);
        std::mem::swap(&mut w.ops4, ops4);
    }
}

/// Hands out pool labels to the values written, in the run's order.
struct Writer<'a, 'b> {
    st: &'a mut States<'b>,
    reads: &'a [u32],
    home: &'a mut [u32],
    /// Free pool labels, last freed on top.
    pool: &'a mut Vec<u32>,
    /// The next slot never handed out.
    fresh: &'a mut u32,
    slots_end: u32,
}

impl Writer<'_, '_> {
    /// [`Writer::take`] for the op writing `*out`, which it renames; a
    /// label nobody reads goes back to `deferred` (an AND batch: after the
    /// batch) or else to the pool at once. False if the slots ran out.
    fn write(&mut self, next_value: &mut u32, out: &mut u32, deferred: Option<&mut Vec<u32>>) -> bool {
        let Some((label, dead)) = self.take(next_value, *out) else { return false };
        *out = label;
        if dead {
            match deferred {
                Some(d) => d.push(label),
                None => self.pool.push(label),
            }
        }
        true
    }

    /// The write of the next value (`*next_value`) to label `out`: where it
    /// goes (`out` itself if kept, else a pool label: the last freed, or the
    /// next fresh slot not kept), and whether nobody reads it (then the
    /// caller frees the label). `None` if the slots ran out.
    fn take(&mut self, next_value: &mut u32, out: u32) -> Option<(u32, bool)> {
        if *self.st.get(out) == KEEP {
            return Some((out, false));
        }
        let id = *next_value as usize;
        *next_value += 1;
        let label = match self.pool.pop() {
            Some(l) => l,
            None => loop {
                if *self.fresh >= self.slots_end {
                    return None;
                }
                let l = *self.fresh;
                *self.fresh += 1;
                if *self.st.get(l) != KEEP {
                    break l;
                }
            },
        };
        *self.st.get(out) = id as u32 + 1;
        self.home[id] = label;
        Some((label, self.reads[id] == 0))
    }
}
