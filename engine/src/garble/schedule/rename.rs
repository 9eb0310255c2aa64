//! Wire renaming for pipelined plans: a circuit read from a file numbers
//! every value with a wire of its own (Bristol Fashion is SSA), so a
//! 57 M-gate circuit asks for 57 M labels — 0.9 GB per party — where a few
//! thousand values are ever live at once. A pipelined plan renames the
//! wires window by window as it compiles, so that a run's label file holds
//! the live values plus a pool, and the schedule's per-wire arrays stay in
//! cache.
//!
//! The renaming reuses a freed wire only `distance` gates after the gate
//! that freed it (a first-in first-out pool), `distance` being the window
//! size. So no wire is written twice in a window, and no wire
//! whose old value a window reads is rewritten in it: every window of the
//! renamed stream is as hazard-free as an SSA one, every gate writes in
//! place and XOR folding is never blocked (see the `schedule` module
//! docs). Outputs go to reserved wires, so their renamed places are known
//! before the run.
//!
//! What the renaming needs to know about the future (the last read of each
//! value, the values never read) comes from one backward pass over the
//! circuit: a byte per gate.

use std::collections::{HashMap, VecDeque};

use garblet_circuits::{Gate, GateKind, WireId};

use crate::garble::error::PlanError;
use crate::garble::source::{check_gates, GateSource, BLANK_GATE};

/// This gate's read of operand `a` is the last read of that value.
pub(super) const LAST_A: u8 = 1;
/// This gate's read of operand `b` is the last read of that value (never
/// set when `b` is `a`, or for an INV).
pub(super) const LAST_B: u8 = 2;
/// No gate reads this gate's value and it is no output.
pub(super) const DEAD: u8 = 4;
/// This gate writes an output's final value: it goes to a reserved wire.
pub(super) const FINAL: u8 = 8;

/// Per-wire state of the backward pass: the wire's value is live; it is
/// an output whose final writer is still to be found; it is an output a
/// gate writes.
const LIVE: u8 = 1;
const PENDING: u8 = 2;
const WRITTEN_OUTPUT: u8 = 4;

/// What the renaming needs, from one backward pass over a whole circuit.
pub(super) struct RenameFacts {
    /// Per gate: `LAST_A | LAST_B | DEAD | FINAL`.
    flags: Vec<u8>,
    /// Wires below it (constants and inputs) start where they are.
    first_free: u32,
    /// Output wire (original numbering, not an input or constant) → its
    /// reserved wire.
    reserved: HashMap<u32, u32>,
    /// A freed wire is reused after this many other allocations.
    distance: u32,
    /// The renamed wire space: an upper bound on the wires the renaming
    /// hands out.
    num_wires: u32,
    /// The outputs, renamed.
    outputs: Vec<WireId>,
    and_count: u64,
    /// Gate `i` writes wire `first_free + i` (see [`rename_all`]).
    sequential: bool,
    /// The farthest back a gate reads a gate's value: gate `i` reads only
    /// the values of gates `i - reach ..`, constants and inputs. Meaningful
    /// when `sequential` (then a [`Renamer`]'s map is a ring of the last
    /// values, not a word per wire; see [`Renamer::new`]).
    reach: u64,
}

impl RenameFacts {
    /// One backward pass over `source`, read in windows of `window_gates`:
    /// the renaming's facts. (No window escapes: renamed windows are not
    /// folded, see `WindowCompiler::compile_renamed`.)
    pub(super) fn compute(source: &dyn GateSource, window_gates: usize) -> Result<RenameFacts, PlanError> {
        let nw = source.num_wires();
        let total = source.num_gates();
        let first_free = u32::try_from(2 + source.input_bits())
            .map_err(|_| PlanError::InputsExceedWires { input_bits: source.input_bits(), num_wires: nw })?;
        let outputs = source.output_wires();
        // Per wire, one byte of state for the pass.
        let mut state = vec![0u8; nw as usize];
        let mut live_count = 0u64;
        for w in &outputs {
            let s = state.get_mut(w.index()).ok_or(PlanError::WireOutOfRange {
                gate: u64::MAX,
                wire: w.get(),
                num_wires: nw,
            })?;
            if *s & LIVE == 0 {
                live_count += 1;
            }
            // Output wires whose final value a gate writes get reserved
            // wires, numbered once the pass has found those gates.
            *s |= LIVE | if w.get() >= 2 { PENDING } else { 0 };
        }
        let gates_len =
            usize::try_from(total).map_err(|_| PlanError::TooManyWires { num_wires: nw, window_gates })?;
        let mut flags = vec![0u8; gates_len];
        let mut peak_live = live_count;
        let mut and_count = 0u64;
        let mut sequential = true;
        let mut reach = 0u64;
        // A source in memory is read in place, others through a buffer.
        let in_memory = source.gates_in_memory();
        let mut buf = match in_memory {
            Some(_) => Vec::new(),
            None => vec![BLANK_GATE; window_gates],
        };
        for k in (0..total.div_ceil(window_gates as u64)).rev() {
            let start = k * window_gates as u64;
            let gates = match in_memory {
                Some(all) => {
                    let from = (start as usize).min(all.len());
                    &all[from..(from + window_gates).min(all.len())]
                }
                None => {
                    let n = source.read_gates(start, &mut buf);
                    &buf[..n]
                }
            };
            check_gates(start, gates, nw)?;
            // Backwards, without branches on the (unpredictable) state
            // bits: `LIVE` is bit 0, so each test below is 0 or 1 and
            // multiplies the flag or state bit it sets.
            let state = state.as_mut_slice();
            let window_flags = &mut flags[start as usize..start as usize + gates.len()];
            for (i, (g, f)) in gates.iter().zip(window_flags.iter_mut()).enumerate().rev() {
                and_count += u64::from(g.kind == GateKind::And);
                let at = start + i as u64;
                sequential &= u64::from(g.out.get()) == u64::from(first_free) + at;
                // How far back each operand's writer is, were the source
                // sequential (0 for a constant or an input; a read ahead
                // of its writer wraps to a reach no ring takes).
                let back = |w: WireId| {
                    let k = u64::from(w.get()).wrapping_sub(u64::from(first_free));
                    at.wrapping_sub(k) & 0u64.wrapping_sub(u64::from(w.get() >= first_free))
                };
                reach = reach.max(back(g.a)).max(back(g.b));
                let (a, b, out) = (g.a.index(), g.b.index(), g.out.index());
                // The write: before it, the wire held another value (or
                // none: the gate is dead). The last write to an output
                // wire is the output's value.
                let so = state[out];
                let pending = (so & PENDING) >> 1;
                let live_out = so & LIVE;
                state[out] = (so & !(PENDING | LIVE)) | (pending * WRITTEN_OUTPUT);
                live_count -= u64::from(live_out);
                let mut flag = (pending * FINAL) | ((live_out ^ 1) * DEAD);
                // The reads come before the write.
                let sa = state[a];
                let last_a = (sa & LIVE) ^ 1;
                state[a] = sa | LIVE;
                let reads_b = u8::from(g.kind != GateKind::Inv && b != a);
                let sb = state[b];
                let last_b = ((sb & LIVE) ^ 1) & reads_b;
                state[b] = sb | reads_b;
                live_count += u64::from(last_a) + u64::from(last_b);
                flag |= (last_a * LAST_A) | (last_b * LAST_B);
                peak_live = peak_live.max(live_count);
                *f = flag;
            }
        }
        let mut reserved = HashMap::new();
        for w in &outputs {
            if state[w.index()] & WRITTEN_OUTPUT != 0 && !reserved.contains_key(&w.get()) {
                reserved.insert(w.get(), first_free + reserved.len() as u32);
            }
        }
        // A fresh wire is handed out only when no pooled wire is old
        // enough, so the pool then holds wires freed in the last `distance`
        // gates only, at most three per gate; live values never exceed
        // `peak_live`. Fresh wires stay below this bound (checked again as
        // they are handed out).
        let distance = window_gates as u32;
        let bound = u64::from(first_free) + reserved.len() as u64 + peak_live + 3 * u64::from(distance) + 4;
        // An output no gate writes is a constant or an input (in a valid
        // circuit) and keeps its wire.
        let renamed_outputs =
            outputs.iter().map(|w| WireId::new(reserved.get(&w.get()).copied().unwrap_or(w.get()))).collect();
        let facts = RenameFacts {
            flags,
            first_free,
            reserved,
            distance,
            num_wires: u32::try_from(bound).unwrap_or(u32::MAX),
            outputs: renamed_outputs,
            and_count,
            sequential,
            reach,
        };
        Ok(facts)
    }

    /// The facts of a source read once, in order ([`super::lookahead`]),
    /// known before reading it on the assumption that it is sequential
    /// (gate `i` writes wire `first_free + i`) and that no gate reads a
    /// value written more than `reach` gates before it (the pass checks
    /// both as it reads): the outputs' reserved wires follow from the
    /// output list alone, and the renamed wire space is bounded by the
    /// reach rather than by the peak of live values, for at most `reach +
    /// 1` values that are not outputs are live at once. No flags and no
    /// AND count: the pass makes them.
    pub(super) fn ahead(
        source: &dyn GateSource,
        window_gates: usize,
        reach: u64,
    ) -> Result<RenameFacts, PlanError> {
        let nw = source.num_wires();
        let total = source.num_gates();
        let first_free = u32::try_from(2 + source.input_bits())
            .map_err(|_| PlanError::InputsExceedWires { input_bits: source.input_bits(), num_wires: nw })?;
        let outputs = source.output_wires();
        // As the backward pass numbers them: in output order, the outputs
        // a gate writes (in a sequential source, the wires `first_free..`
        // of its gates).
        let mut reserved = HashMap::new();
        for w in &outputs {
            let written = w.get().checked_sub(first_free).is_some_and(|k| u64::from(k) < total);
            if written && !reserved.contains_key(&w.get()) {
                reserved.insert(w.get(), first_free + reserved.len() as u32);
            }
        }
        let distance = window_gates as u32;
        let live = reach.saturating_add(1).min(total);
        let bound = u64::from(first_free) + reserved.len() as u64 + live + 3 * u64::from(distance) + 4;
        let renamed_outputs =
            outputs.iter().map(|w| WireId::new(reserved.get(&w.get()).copied().unwrap_or(w.get()))).collect();
        Ok(RenameFacts {
            flags: Vec::new(),
            first_free,
            reserved,
            distance,
            num_wires: u32::try_from(bound).unwrap_or(u32::MAX),
            outputs: renamed_outputs,
            and_count: 0,
            sequential: true,
            reach,
        })
    }

    /// Wires below it (constants and inputs) keep their numbers.
    pub(super) fn first_free(&self) -> u32 {
        self.first_free
    }

    /// The farthest back a gate reads a gate's value (for facts made
    /// [`RenameFacts::ahead`], the bound assumed).
    pub(super) fn reach(&self) -> u64 {
        self.reach
    }

    /// The AND gates of the circuit.
    pub(super) fn and_count(&self) -> u64 {
        self.and_count
    }

    /// The renamed wire space.
    pub(super) fn num_wires(&self) -> u32 {
        self.num_wires
    }

    /// The output wires, renamed.
    pub(super) fn outputs(&self) -> &[WireId] {
        &self.outputs
    }
}

/// The renaming state, carried from one window to the next.
pub(super) struct Renamer<'f> {
    facts: &'f RenameFacts,
    /// Original wire → the renamed wire holding its current value: wire
    /// `w` at `slot(w)`, see [`Renamer::slot`].
    map: Vec<u32>,
    /// All ones (`slot(w) = w`), or for a sequential source one less than
    /// the ring's length, a power of two above its reach.
    ring_mask: u32,
    /// The source's wire count.
    original_wires: u32,
    alloc: Allocator,
}

/// The wire pool: which renamed wire each gate writes.
struct Allocator {
    /// Freed wires, oldest first, each with the low 32 bits of the index
    /// of the gate that freed it (`wire << 32 | gate`). The bits suffice:
    /// a wire is taken from the pool within `distance + pool length +
    /// outputs` gates of its freeing (a gate that is no output's takes
    /// one when the oldest is old enough), below 3 · 2^28 (`MAX_LABELS`).
    pool: VecDeque<u64>,
    /// Next never-used wire.
    next: u32,
}

impl Allocator {
    fn new(facts: &RenameFacts) -> Allocator {
        Allocator { pool: VecDeque::new(), next: facts.first_free + facts.reserved.len() as u32 }
    }

    /// Gate `at` (original `g`, its flags `f` from the backward pass, its
    /// operands already renamed to `a`, `b`): frees the operands it reads
    /// last and returns the wire it writes.
    #[inline(always)]
    fn gate(
        &mut self,
        facts: &RenameFacts,
        at: u64,
        g: &Gate,
        f: u8,
        a: u32,
        b: u32,
    ) -> Result<u32, PlanError> {
        let first_free = facts.first_free;
        let changed =
            || PlanError::WireOutOfRange { gate: at, wire: g.out.get(), num_wires: facts.num_wires };
        let freed = |wire: u32| u64::from(wire) << 32 | (at & 0xffff_ffff);
        if f & LAST_A != 0 && a >= first_free {
            self.pool.push_back(freed(a));
        }
        if f & LAST_B != 0 && b >= first_free {
            self.pool.push_back(freed(b));
        }
        let old_enough = |&&entry: &&u64| (at as u32).wrapping_sub(entry as u32) >= facts.distance;
        let out = if f & FINAL != 0 {
            *facts.reserved.get(&g.out.get()).ok_or_else(changed)?
        } else if let Some(&entry) = self.pool.front().filter(old_enough) {
            self.pool.pop_front();
            (entry >> 32) as u32
        } else {
            self.next += 1;
            if self.next > facts.num_wires {
                return Err(PlanError::TooManyWires {
                    num_wires: facts.num_wires,
                    window_gates: facts.distance as usize,
                });
            }
            self.next - 1
        };
        if f & DEAD != 0 && f & FINAL == 0 {
            self.pool.push_back(freed(out));
        }
        Ok(out)
    }
}

impl<'f> Renamer<'f> {
    /// The map holds a word per original wire, except for a sequential
    /// source (gate `i` writes wire `first_free + i`, as in a Bristol file)
    /// that reads no value from further back than its reach: then the
    /// values of the gates written since the reach, in a ring (for the
    /// 57 M-gate chained AES, 64 K words instead of 229 MB).
    pub(super) fn new(facts: &'f RenameFacts, original_wires: u32) -> Renamer<'f> {
        let first_free = facts.first_free;
        let ring = facts
            .reach
            .checked_add(1)
            .and_then(u64::checked_next_power_of_two)
            .filter(|&r| facts.sequential && r < u64::from(original_wires.saturating_sub(first_free)));
        let (ring_mask, len) = match ring {
            // Below `original_wires`, a u32.
            Some(r) => (r as u32 - 1, first_free + r as u32),
            None => (u32::MAX, original_wires),
        };
        Renamer {
            facts,
            map: (0..len).map(|w| if w < first_free { w } else { u32::MAX }).collect(),
            ring_mask,
            original_wires,
            alloc: Allocator::new(facts),
        }
    }

    /// Where the map holds wire `w`'s renamed wire.
    #[inline(always)]
    fn slot(first_free: u32, ring_mask: u32, w: WireId) -> usize {
        match w.get().checked_sub(first_free) {
            Some(k) => (first_free + (k & ring_mask)) as usize,
            None => w.index(),
        }
    }

    /// Renames `gates` (the gates `first_index..` of the source) in place,
    /// with the flags of the backward pass.
    pub(super) fn rename(&mut self, first_index: u64, gates: &mut [Gate]) -> Result<(), PlanError> {
        let facts = self.facts;
        // The flags of these gates (a source longer than the backward pass
        // read is refused).
        let flags = usize::try_from(first_index)
            .ok()
            .and_then(|from| facts.flags.get(from..from.checked_add(gates.len())?))
            .ok_or(PlanError::WireOutOfRange { gate: first_index, wire: 0, num_wires: facts.num_wires })?;
        self.rename_flagged(first_index, gates, flags)
    }

    /// Renames `gates` (the gates `first_index..` of the source) in place,
    /// given their flags (`LAST_A | LAST_B | DEAD | FINAL`, one per gate).
    pub(super) fn rename_flagged(
        &mut self,
        first_index: u64,
        gates: &mut [Gate],
        flags: &[u8],
    ) -> Result<(), PlanError> {
        let Renamer { facts, map, ring_mask, original_wires, alloc } = self;
        let original_wires = *original_wires;
        let (first_free, ring_mask) = (facts.first_free, *ring_mask);
        let slot = |w: WireId| Renamer::slot(first_free, ring_mask, w);
        if flags.len() != gates.len() {
            return Err(PlanError::WireOutOfRange { gate: first_index, wire: 0, num_wires: facts.num_wires });
        }
        for (i, (g, &f)) in gates.iter_mut().zip(flags).enumerate() {
            let at = first_index + i as u64;
            // The backward pass checked every gate of the source; a source
            // that gives other gates the second time is refused here.
            // Wires past the source's are refused (the backward pass
            // checked them; a ring would wrap them).
            let in_range = g.a.get().max(g.b.get()).max(g.out.get()) < original_wires;
            let (a, b) = match (map.get(slot(g.a)), map.get(slot(g.b)), in_range) {
                (Some(&a), Some(&b), true) => (a, b),
                _ => {
                    return Err(PlanError::WireOutOfRange {
                        gate: at,
                        wire: g.out.get(),
                        num_wires: facts.num_wires,
                    })
                }
            };
            // Reads of values never written (only in a malformed source,
            // which the window compiler rejects) read wire 0.
            let (a, b) = (if a == u32::MAX { 0 } else { a }, if b == u32::MAX { 0 } else { b });
            let out = alloc.gate(facts, at, g, f, a, b)?;
            map[slot(g.out)] = out;
            *g = Gate { a: WireId::new(a), b: WireId::new(b), out: WireId::new(out), kind: g.kind };
        }
        Ok(())
    }
}

/// Renames a whole circuit's gates in place (those `facts` describe). A
/// circuit whose gate `i` writes wire `first_free + i` (a Bristol file as
/// read, a chain from `compose::chain`: every value on a wire of its own,
/// in order) needs no map: the renamed wire of original wire `w` is the
/// renamed output of gate `w - first_free`, already renamed. Others go
/// through a [`Renamer`] and its map.
pub(super) fn rename_all(
    facts: &RenameFacts,
    original_wires: u32,
    gates: &mut [Gate],
) -> Result<(), PlanError> {
    if !facts.sequential {
        return Renamer::new(facts, original_wires).rename(0, gates);
    }
    let first_free = facts.first_free;
    let mut alloc = Allocator::new(facts);
    // Facts of another circuit (a caller defect) are refused, not indexed.
    if facts.flags.len() != gates.len() {
        return Err(PlanError::WireOutOfRange { gate: 0, wire: 0, num_wires: facts.num_wires });
    }
    for (i, &f) in facts.flags.iter().enumerate() {
        let g = gates[i];
        // Sequential: a read of a gate's wire comes after that gate.
        // A read of a wire no earlier gate wrote (a malformed circuit, which
        // the backward pass refuses) reads wire 0.
        let renamed = |w: WireId| match w.get().checked_sub(first_free) {
            None => w.get(),
            Some(k) if (k as usize) < i => gates[k as usize].out.get(),
            Some(_) => 0,
        };
        let (a, b) = (renamed(g.a), renamed(g.b));
        let out = alloc.gate(facts, i as u64, &g, f, a, b)?;
        gates[i] = Gate { a: WireId::new(a), b: WireId::new(b), out: WireId::new(out), kind: g.kind };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use garblet_circuits::{Circuit, InputSpec, Output};
    use garblet_testkit::random::reusing_circuit_from;

    /// Gates as given, unchecked (a [`Circuit`] refuses malformed ones).
    struct RawGates(Vec<Gate>);

    impl GateSource for RawGates {
        fn num_wires(&self) -> u32 {
            8
        }
        fn input_bits(&self) -> u64 {
            2
        }
        fn output_wires(&self) -> Vec<WireId> {
            vec![WireId::new(7)]
        }
        fn num_gates(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
            let rest = self.0.get(start as usize..).unwrap_or_default();
            let n = rest.len().min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            n
        }
    }

    #[test]
    fn the_backward_pass_reports_the_first_malformed_gate_of_a_window() {
        let w = WireId::new;
        let ok = Gate::xor(w(2), w(3), w(4));
        let cases = [
            (Gate::xor(w(2), w(3), w(1)), PlanError::WritesConstant { gate: 1, wire: 1 }),
            (Gate::and(w(2), w(9), w(5)), PlanError::WireOutOfRange { gate: 1, wire: 9, num_wires: 8 }),
            (Gate::and(w(2), w(3), w(8)), PlanError::WireOutOfRange { gate: 1, wire: 8, num_wires: 8 }),
            (Gate { a: w(2), b: w(3), out: w(5), kind: GateKind::Inv }, PlanError::MalformedInv { gate: 1 }),
        ];
        for (bad, expect) in cases {
            // Another malformed gate after it, in the same window: the
            // pass runs backwards but names the first.
            let later = Gate::xor(w(2), w(3), w(0));
            let gates = vec![ok, bad, ok, later, Gate::xor(w(4), w(2), w(7))];
            for window in [5, 8] {
                assert_eq!(
                    RenameFacts::compute(&RawGates(gates.clone()), window).err(),
                    Some(expect.clone())
                );
            }
            // In windows of 2 the later gate (3) is in a later window,
            // which the backward pass reads first.
            assert_eq!(
                RenameFacts::compute(&RawGates(gates.clone()), 2).err(),
                Some(PlanError::WritesConstant { gate: 3, wire: 0 })
            );
        }
    }

    /// The whole of `c` renamed in windows of `window` gates.
    fn renamed(c: &Circuit, window: usize) -> (RenameFacts, Vec<Gate>) {
        let facts = RenameFacts::compute(c, window).unwrap();
        let mut gates = c.gates().to_vec();
        let mut renamer = Renamer::new(&facts, c.num_wires());
        for (k, chunk) in gates.chunks_mut(window).enumerate() {
            renamer.rename((k * window) as u64, chunk).unwrap();
        }
        (facts, gates)
    }

    /// A sequential circuit (gate `i` writes wire `2 + 2 + i`) over two
    /// input bits whose gate `i` reads gates `i - 1` and `i - reach`.
    fn reaching(gates: u32, reach: u32) -> Circuit {
        let w = WireId::new;
        let list = (0..gates)
            .map(|i| {
                let out = 4 + i;
                let (a, b) = (if i == 0 { 2 } else { out - 1 }, if i < reach { 3 } else { out - reach });
                if i % 3 == 0 {
                    Gate::and(w(a), w(b), w(out))
                } else {
                    Gate::xor(w(a), w(b), w(out))
                }
            })
            .collect();
        let outputs = vec![Output {
            name: "y".into(),
            visibility: garblet_circuits::Visibility::Both,
            wires: vec![w(3 + gates), w(4 + gates / 2)],
        }];
        Circuit::new(4 + gates, vec![InputSpec::new("x", garblet_circuits::Party::Garbler, 2)], outputs, list)
            .unwrap()
    }

    #[test]
    fn a_sequential_source_renames_through_a_ring_as_through_a_whole_map() {
        for (gates, reach, ring) in
            [(1000, 1, Some(2)), (1000, 5, Some(8)), (1000, 64, Some(128)), (100, 99, None)]
        {
            let c = reaching(gates, reach);
            for window in [1, 7, 256] {
                let facts = RenameFacts::compute(&c, window).unwrap();
                assert!(facts.sequential);
                assert_eq!(facts.reach, u64::from(reach), "{gates} gates, reach {reach}");
                let renamer = Renamer::new(&facts, c.num_wires());
                let len = ring.map_or(c.num_wires(), |r| 4 + r) as usize;
                assert_eq!(renamer.map.len(), len, "{gates} gates, reach {reach}");
                // Through the ring, window by window, as in place through
                // the gates themselves.
                let (_, by_map) = renamed(&c, window);
                let mut in_place = c.gates().to_vec();
                rename_all(&facts, c.num_wires(), &mut in_place).unwrap();
                assert_eq!(by_map, in_place, "{gates} gates, reach {reach}, window {window}");
            }
        }
    }

    #[test]
    fn renamed_windows_are_hazard_free_and_compute_the_same() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
        };
        for case in 0..300 {
            let ops: Vec<_> =
                (0..(case % 150)).map(|_| ((next() % 3) as u8, next(), next(), next())).collect();
            let outs: Vec<u32> = (0..1 + case % 7).map(|_| next()).collect();
            // Wires reused (the generator's circuits are not SSA), few or many.
            let c = reusing_circuit_from(3, 2, 1 + (case % 40) as u32, &ops, &outs);
            for window in [1usize, 2, 5, 16, 64] {
                let (facts, gates) = renamed(&c, window);
                let nw = facts.num_wires();
                for chunk in gates.chunks(window) {
                    // Per window: no wire written twice, none written after
                    // the window read its old value.
                    let (mut written, mut old_read) = (vec![false; nw as usize], vec![false; nw as usize]);
                    for g in chunk {
                        for r in [g.a, g.b] {
                            assert!(r.get() < nw);
                            if !written[r.index()] {
                                old_read[r.index()] = true;
                            }
                        }
                        assert!(g.out.get() < nw && g.out.get() >= 2, "case {case}");
                        assert!(
                            !written[g.out.index()] && !old_read[g.out.index()],
                            "case {case} window {window}"
                        );
                        written[g.out.index()] = true;
                    }
                }
                let inputs =
                    c.inputs().iter().map(|i| InputSpec::new(i.name.clone(), i.party, i.width)).collect();
                let mut wires = facts.outputs().iter().copied();
                let outputs = c
                    .outputs()
                    .iter()
                    .map(|o| Output {
                        name: o.name.clone(),
                        visibility: o.visibility,
                        wires: wires.by_ref().take(o.wires.len()).collect(),
                    })
                    .collect();
                let r = Circuit::new(nw.max(c.num_wires()), inputs, outputs, gates).unwrap();
                for seed in 0..4u64 {
                    let lanes: Vec<Vec<u64>> = c
                        .inputs()
                        .iter()
                        .map(|i| {
                            (0..i.width)
                                .map(|k| seed.wrapping_mul(0x9e37_79b9).rotate_left(k * 7) ^ u64::from(k))
                                .collect()
                        })
                        .collect();
                    assert_eq!(
                        r.eval_sliced(&lanes).unwrap(),
                        c.eval_sliced(&lanes).unwrap(),
                        "case {case} window {window}"
                    );
                }
            }
        }
    }

    #[test]
    fn ssa_circuits_shrink_to_the_live_set_plus_the_pool() {
        // A chain of 10,000 ANDs, each value on a wire of its own.
        let gates: Vec<Gate> = (0..10_000u32)
            .map(|i| {
                Gate::and(WireId::new(if i == 0 { 2 } else { 3 + i }), WireId::new(3), WireId::new(4 + i))
            })
            .collect();
        let out = Output {
            name: "o".into(),
            visibility: garblet_circuits::Visibility::Both,
            wires: vec![WireId::new(10_003)],
        };
        let c = Circuit::new(
            10_004,
            vec![InputSpec::new("x", garblet_circuits::Party::Garbler, 2)],
            vec![out],
            gates,
        )
        .unwrap();
        let facts = RenameFacts::compute(&c, 64).unwrap();
        assert!(facts.num_wires() <= 4 + 1 + 3 + 3 * 64 + 4, "{}", facts.num_wires());
        assert_eq!(facts.and_count(), 10_000);
        // The output's value sits on its reserved wire, after the inputs.
        assert_eq!(facts.outputs(), &[WireId::new(4)]);
    }
}
