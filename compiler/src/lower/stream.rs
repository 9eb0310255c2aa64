//! Loops that stream: `for r in records { … }` over an input array (or
//! `for i in 0..n { … a[i] … b[i] … }` over several), lowered
//! once as the body of a [`garblet_circuits::LoopedCircuit`] instead of
//! unrolled, so that its size is one record's gates, not the array's.
//!
//! Why this shape: an unrolled loop over 100,000 records of the model
//! benchmark is about 1.5·10^9 gates, past what a compiler can hold in
//! memory, while the records are independent but for a few accumulators.
//! The body is lowered with the records bound to placeholder wires (the
//! window) and each accumulator bound to *state* wires: opaque wires, never
//! constants, so the builder cannot specialise the body to the first
//! iteration. The state wires are copied in before the loop (the prologue)
//! and copied back at the end of the body (copies are free XORs; through
//! temporaries when accumulators swap); the engine replays the body once
//! per run of records with the window shifted to that run.
//!
//! One run of the body covers up to [`RECORDS_PER_RUN`] records (lowered
//! one after the other, so that accumulators stay lazy sums within a run),
//! fewer when their gates would pass [`RUN_GATES`] (a run's labels then
//! stay in a core's caches); the records left over are unrolled after
//! the loop.
//!
//! Which loops: `for x in a` (no iterator adaptor) where `a` is, bit for
//! bit, a run of an input's wires (a parameter of `main`, or a field or
//! copy of one), or `for i in 0..n` whose body reads such arrays of at
//! least `n` elements as `a[i]` and uses `i` for nothing else (each array
//! read gets its own window of placeholders, [`StreamIndex`]); at least
//! two iterations, not inside a loop that streams. Several such loops of a
//! program stream, one after the other (two passes over the records: a
//! mean, then the variance around it; or a loop over the records inside
//! an unrolled loop of a few rounds, as k-means iterates); each is a
//! [`garblet_circuits::Loop`] of the looped circuit, and what an earlier
//! loop computed is fixed during a later one. The body is lowered twice:
//! once to learn which variables of the enclosing function it assigns
//! (the accumulators; lowering is symbolic, so this is exact for the
//! paths the builder could not rule out), then for real. The loop is
//! unrolled instead, as before (everything the attempt emitted is rolled
//! back), when the body may `return` (`break` streams: its "broke" flag is
//! one more state wire, carried from run to run, under which every later
//! record's body is a no-op; `continue` only guards the rest of one
//! record's body), reads the array other than through
//! the loop variable (`a[0]`, `a[j]`), needs an accumulator's value at
//! compile time (the second pass fails), or when the unrolled loop would
//! be small (under [`STREAM_MIN_GATES`] gates, in [`StreamLoops::Auto`]);
//! the reason is kept for the error of a loop too large to unroll.
//!
//! Per-record AND count: the body's over its records, after the loop-aware
//! optimisation ([`garblet_circuits::LoopedCircuit::optimized`]) hoists
//! what depends on neither the records nor the state. That is the unrolled
//! loop's cost per record plus adding the lazy sums into the state once
//! per run (for `correct += 1` into a `u32`: about 31 ANDs per run; the
//! model benchmark, 4 records a run, costs 4,105 ANDs per record streamed,
//! 4,097 to 4,098 unrolled); an unrolled loop's first iteration can also be
//! cheaper (it adds to the constant 0).

use super::value::Val;
use super::{LResult, Lowerer};
use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::types::Type;
use crate::StreamLoops;
use garblet_circuits::{Bits, WireId};
use std::collections::HashSet;
use std::rc::Rc;

/// In [`StreamLoops::Auto`], a loop whose unrolled form would have fewer
/// gates than this (the body's gates times the iterations) is unrolled:
/// a circuit of 4 M gates compiles in about a second and 64 MB, and keeps
/// the whole-circuit optimisations and the materialised engine path.
pub(crate) const STREAM_MIN_GATES: u64 = 1 << 22;

/// Records per run of the body at most (when the loop has at least twice
/// as many): within one run an accumulator stays a lazy sum (`correct += 1`
/// adds a bit to a column compression, about 1 AND), and it is added up
/// into the state wires once per run (a 32-bit addition, 31 ANDs): with 16
/// records per run the state costs about 2 ANDs per record over the
/// unrolled loop instead of 31. The records left over (`n % per_run`) are
/// unrolled after the loop.
pub(crate) const RECORDS_PER_RUN: u64 = 16;

/// The gates a run's body aims at, at most: fewer records per run (a power
/// of two, down to one) when the records' gates would pass it, so that a
/// run's labels and ops (about 30 bytes a gate, 4 MB at most) stay near
/// the core in its L2 and L3 caches while the body is garbled. Measured on
/// the model benchmark (16,600 gates a record) on the Zen 5 machine (1 MB
/// of L2 per core): 4 records per run took about 25 % less CPU than 16,
/// for 0.13 % more ANDs; 2 records little less than 4, for 0.31 % more
/// (`BENCHMARKS.md`).
pub(crate) const RUN_GATES: u64 = 1 << 17;

/// Records per run for a body of `per_record` gates a record, over `count`
/// records: the most, up to [`RECORDS_PER_RUN`] and a power of two, whose
/// gates stay within [`RUN_GATES`], and no more than half the records.
fn records_per_run(count: u64, per_record: u64) -> u64 {
    let mut k = RECORDS_PER_RUN;
    while k > 1 && (k.saturating_mul(per_record) > RUN_GATES || count < 2 * k) {
        k /= 2;
    }
    k
}

/// Why a loop inside a loop being streamed does not stream.
const NESTED: &str = "the loop is inside a loop that streams (loops stream one level deep)";

/// The loop that streamed: what [`garblet_circuits::Builder::finish_looped`]
/// needs.
pub(crate) struct LoopInfo {
    /// The index of the body's first gate.
    pub body_start: usize,
    /// Gates up to the end of the body.
    pub body_end: usize,
    /// Per array the body reads: the placeholders it read as the run's
    /// records, and the wires of the first run's records.
    pub windows: Vec<(Bits, Bits)>,
    /// The number of records.
    pub iterations: u64,
}

/// What a streamed loop iterates over.
#[derive(Clone, Copy)]
pub(super) enum Records<'a> {
    /// `for x in a`: the input array's wires.
    Array(&'a [WireId]),
    /// `for i in 0..n`: the body reads input arrays as `a[i]`
    /// ([`StreamIndex`]).
    Index,
}

/// While the body of a `for i in 0..n` loop is lowered for streaming: the
/// loop variable is bound to placeholder wires, and `a[i]` of an input
/// array `a` (with at least `n` elements) reads a window of placeholders
/// for `a`'s records instead (`Lowerer::streamed_element`), one window per
/// array. Any other use of `i` reads its placeholders, which the loop
/// refuses after the body is lowered.
pub(super) struct StreamIndex {
    /// The loop variable's placeholders.
    index: Bits,
    /// The loop's count: an array needs that many elements.
    count: u64,
    /// Records per run, and the record of the run being lowered.
    per_run: usize,
    record: usize,
    /// The arrays read so far: their first wire and wire count (an input
    /// run: consecutive wires), element width and window.
    arrays: Vec<(u32, usize, usize, Bits)>,
    /// Gates before this one have been looked at for reads of `index`
    /// ([`Lowerer::check_index_use`]).
    scanned: usize,
}

/// Why a `for i in 0..n` loop does not stream when its body computes with
/// the index.
const INDEX_USED: &str = "the body uses the index other than to read input arrays as `a[i]`";

/// What lowering can roll back to when streaming a loop is given up.
struct Snapshot {
    gates: usize,
    segments: Vec<(usize, u32)>,
    line: u32,
    frames: Vec<super::Frame>,
    /// Lazy sums not yet added up: the body may add them up (caching its
    /// own wires), which a rollback must forget.
    lazy: Vec<Rc<super::linear::Lin>>,
    /// Aggregates with lazy parts not yet flattened (the same, for their
    /// flattened wires).
    parts: Vec<Rc<super::value::Parts>>,
}

impl Lowerer<'_> {
    fn snapshot(&self) -> Snapshot {
        let lazy = self
            .frames
            .iter()
            .flat_map(|f| f.vals.iter())
            .flat_map(|v| match v {
                Val::Parts(p) => p.lazy.values().map(|(_, v)| v).collect::<Vec<_>>(),
                v => vec![v],
            })
            .filter_map(|v| match v {
                Val::Lin(l) if l.cache.borrow().is_none() => Some(l.clone()),
                _ => None,
            })
            .collect();
        let parts = self
            .frames
            .iter()
            .flat_map(|f| f.vals.iter())
            .filter_map(|v| match v {
                Val::Parts(p) if p.cache.borrow().is_none() => Some(p.clone()),
                _ => None,
            })
            .collect();
        Snapshot {
            gates: self.b.gate_count(),
            segments: self.segments.clone(),
            line: self.line,
            frames: self.frames.clone(),
            lazy,
            parts,
        }
    }

    fn rollback(&mut self, s: &Snapshot) {
        self.b.truncate(s.gates);
        self.segments = s.segments.clone();
        self.line = s.line;
        self.frames = s.frames.clone();
        self.muxes.clear();
        for l in &s.lazy {
            *l.cache.borrow_mut() = None;
        }
        for p in &s.parts {
            *p.cache.borrow_mut() = None;
        }
    }

    /// One iteration of the body with the loop variable bound to `record`.
    fn body_once(&mut self, pat: &Pattern, ty: &Type, record: &[WireId], body: &Block<Type>) -> LResult<()> {
        self.tick(body.span)?;
        self.push_scope();
        self.bind_pattern(pat, ty, Val::bits(record.to_vec()));
        let r = self.block(body);
        self.pop_scope();
        r.map(|_| ())
    }

    /// Iterations of the body, one per item (the value the loop variable is
    /// bound to), inside a loop whose `break` flag starts as `broke` (a
    /// state wire in a streamed body: whether an earlier run broke);
    /// whether the body lowered a `break`, and the flag after the last
    /// iteration. With a [`StreamIndex`], item `k` is the run's record `k`.
    fn body_runs(
        &mut self,
        pat: &Pattern,
        ty: &Type,
        items: &[Bits],
        body: &Block<Type>,
        broke: WireId,
    ) -> LResult<(bool, WireId)> {
        self.loop_depth += 1;
        self.begin_loop();
        if let Some(flags) = self.frame().loops.last_mut() {
            flags.broke = broke;
        }
        let mut r = Ok(());
        for (k, item) in items.iter().enumerate() {
            if let Some(si) = self.stream_index.as_mut() {
                si.record = k;
            }
            r = self.body_once(pat, ty, item, body);
            if r.is_err() || self.end_iteration() {
                break;
            }
        }
        let after = self.frame().loops.last().map_or(broke, |f| f.broke);
        let breaks = self.end_loop();
        self.loop_depth -= 1;
        r.map(|()| (breaks > 0, after))
    }

    /// `a[i]` in the body of a `for i in 0..n` loop being streamed, `i` the
    /// loop variable (its placeholders `index`) and `a` an input array of
    /// at least `n` elements of `width` bits: the run's current record's
    /// placeholders in `a`'s window (made at its first read). `Ok(None)`
    /// otherwise (no loop being streamed, or a constant index, or an array
    /// that is not an input of at least `n` elements): the caller indexes as
    /// usual. An input array of `n` elements or more read at another secret
    /// index (`a[n - 1 - i]`, `a[x]`) is an error that stops the attempt
    /// (the loop unrolls): its multiplexer over the whole array per record
    /// is what streaming avoids.
    pub(super) fn streamed_element(
        &mut self,
        array: &[WireId],
        index: &[WireId],
        width: u32,
        len: u64,
        span: Span,
    ) -> LResult<Option<Bits>> {
        let Some(si) = self.stream_index.as_ref() else { return Ok(None) };
        if array.is_empty() || index.iter().all(|w| w.is_const()) {
            return Ok(None);
        }
        // An input run is known by its first wire and length: an array read
        // before is not checked again (the check walks its every wire).
        let key = (array[0].get(), array.len(), width as usize);
        let known = si.arrays.iter().position(|&(first, len, aw, _)| (first, len, aw) == key);
        let long_input = len >= si.count && (known.is_some() || self.b.is_input_run(array));
        if !long_input {
            return Ok(None);
        }
        if si.index != index {
            return self.fatal(Diagnostic::new(
                span,
                "the body reads an input array of the loop's length at an index other than the loop variable",
            ));
        }
        let (w, per_run, record) = (width as usize, si.per_run, si.record);
        let k = match known {
            Some(k) => k,
            None => {
                let window = self.b.placeholders((w * per_run) as u32);
                let Some(si) = self.stream_index.as_mut() else { return Ok(None) };
                si.arrays.push((key.0, key.1, key.2, window));
                si.arrays.len() - 1
            }
        };
        let Some(si) = self.stream_index.as_ref() else { return Ok(None) };
        Ok(Some(si.arrays[k].3[record * w..(record + 1) * w].to_vec()))
    }

    /// Why `for pat in array` (with `array`'s wires) cannot stream before
    /// its body is looked at, or `None` when it may.
    pub(super) fn stream_precheck(
        &self,
        array: Option<&[WireId]>,
        count: i128,
        plain: bool,
    ) -> Option<String> {
        if self.stream_mode == StreamLoops::Never {
            return Some("streaming loops is switched off".into());
        }
        if !plain {
            return Some("the loop uses an iterator adaptor (`rev`, `step_by`, `enumerate`)".into());
        }
        if count < 2 {
            return Some("the loop runs fewer than two times".into());
        }
        if array.is_some_and(|a| !self.b.is_input_run(a)) {
            return Some("the array is not an input of `main` (a parameter, or a field of one)".into());
        }
        if self.stream_depth > 0 {
            return Some(NESTED.into());
        }
        None
    }

    /// A loop of `count` iterations that could stream, met inside the body
    /// of a `for i in 0..n` loop being tried as a streamed loop
    /// (`stream_index` is set) with fewer iterations (`n < count`): stops
    /// that attempt (an error that [`Lowerer::try_stream`] takes back), so
    /// that the outer loop unrolls, a few rounds as k-means iterates, and
    /// this one streams once per round instead of unrolling into each. A
    /// short inner loop (a record's 8 features) unrolls into the outer
    /// loop's body as before. `Ok(())` elsewhere.
    pub(super) fn stop_outer_attempt(&mut self, refusal: &str, count: i128, span: Span) -> LResult<()> {
        let outer = self.stream_index.as_ref().map_or(u64::MAX, |si| si.count);
        if refusal != NESTED || count <= i128::from(outer) {
            return Ok(());
        }
        self.nested_stream = true;
        self.fatal(Diagnostic::new(span, NESTED))
    }

    /// While a `for i in 0..n` loop is tried as a streamed loop: stops the
    /// attempt (an error that [`Lowerer::try_stream`] takes back) as soon
    /// as a gate reads the index, which the loop would refuse once its body
    /// is lowered ([`INDEX_USED`]). Without it, a body that computes
    /// indices from `i` into a local array (a sorting network's inner loop)
    /// lowers a multiplexer over the whole array per access before it is
    /// refused, at every loop of that kind the program unrolls: 9 s and
    /// 868 MB for a 256-element sort that compiles in 0.2 s unrolled.
    /// Called at every step of lowering ([`Lowerer::tick`]); each gate is
    /// looked at once.
    pub(super) fn check_index_use(&mut self, span: Span) -> LResult<()> {
        let Some(si) = self.stream_index.as_mut() else { return Ok(()) };
        let from = si.scanned.min(self.b.gate_count());
        let gates = self.b.gates_since(from);
        si.scanned = from + gates.len();
        if !reads_any(gates, &si.index) {
            return Ok(());
        }
        self.index_used = true;
        self.fatal(Diagnostic::new(span, INDEX_USED))
    }

    /// Tries to lower `for pat in array { body }` as a streamed loop;
    /// `Ok(None)` when it did, `Ok(Some(reason))` when it did not, with
    /// lowering left as it was.
    pub(super) fn try_stream(
        &mut self,
        pat: &Pattern,
        item_ty: &Type,
        records: Records<'_>,
        count: u64,
        body: &Block<Type>,
    ) -> LResult<Option<String>> {
        self.stream_depth += 1;
        let r = self.try_stream_records(pat, item_ty, records, count, body);
        self.stream_depth -= 1;
        self.stream_index = None;
        self.nested_stream = false;
        self.index_used = false;
        r
    }

    fn try_stream_records(
        &mut self,
        pat: &Pattern,
        item_ty: &Type,
        records: Records<'_>,
        count: u64,
        body: &Block<Type>,
    ) -> LResult<Option<String>> {
        let width = item_ty.width() as usize;
        let before = self.snapshot();
        let nslots = self.frame().vals.len();
        let was_returned = (self.frame().returned, self.frame().dead);

        // 1. Which variables does the body assign? One record is lowered,
        // the loop variable bound to a record's placeholders (`for x in a`)
        // or to the index's (`for i in 0..n`, the arrays' windows made as
        // the body reads them); its gates also size the runs.
        let items = self.stream_items(records, width, 1, count);
        let errors = self.errors.errors.len();
        let first = self.body_runs(pat, item_ty, &items, body, WireId::ZERO);
        if std::mem::take(&mut self.nested_stream) {
            self.errors.errors.truncate(errors);
            self.rollback(&before);
            return Ok(Some("a loop inside it streams instead".into()));
        }
        if std::mem::take(&mut self.index_used) {
            self.errors.errors.truncate(errors);
            self.rollback(&before);
            return Ok(Some(INDEX_USED.into()));
        }
        let mut breaks = match (records, first) {
            // An error in the body is an error unrolled too: report it.
            (Records::Array(_), r) => r?.0,
            (Records::Index, Ok((b, _))) if self.errors.errors.len() == errors => b,
            // With the index unknown: a bound or size that needs its value.
            (Records::Index, _) => {
                let why = self.errors.errors.get(errors).map(|d| d.message.clone()).unwrap_or_default();
                self.errors.errors.truncate(errors);
                self.rollback(&before);
                return Ok(Some(format!("the body needs the index's value at compile time ({why})")));
            }
        };
        let old_frame = &before.frames[before.frames.len() - 1];
        let mut assigned: Vec<usize> =
            (0..nslots).filter(|&s| !self.frame().vals[s].same(&old_frame.vals[s])).collect();
        let returns = (self.frame().returned, self.frame().dead) != was_returned;
        let per_record = (self.b.gate_count() - before.gates) as u64;
        self.rollback(&before);
        if returns {
            return Ok(Some("the body may `return`".into()));
        }
        let per_run = records_per_run(count, per_record);
        let runs = count / per_run;
        // Steps 2 and 3 run again, with the flag, if the body breaks only
        // once its state is unknown (and with more state, if a variable
        // changes only then, below): the first record's known state can
        // decide a `break`'s condition (`if x > 10 && seen == 2` with
        // `seen` still 0 lowers no `break`), and without the flag a later
        // run would not know that an earlier one broke.
        let (items, broke, state, with_state, body_start, r) = loop {
            let items = self.stream_items(records, width, per_run, count);
            // 2. The state wires, copied in: the accumulators' and, when the
            // body may `break`, the loop's "broke" flag (false before the loop;
            // once a record breaks, every later run's body is a no-op under it,
            // as the iterations after a secret `break` are unrolled).
            let broke = if breaks {
                let w = self.b.placeholders(1)[0];
                self.b.copy_into(WireId::ZERO, w);
                w
            } else {
                WireId::ZERO
            };
            let mut state: Vec<(usize, Bits)> = Vec::new();
            for &s in &assigned {
                let v = self.frame().vals[s].clone();
                let bits = self.bits(&v);
                let wires = self.b.placeholders(bits.len() as u32);
                for (&src, &dst) in bits.iter().zip(&wires) {
                    self.b.copy_into(src, dst);
                }
                self.frame().vals[s] = Val::bits(wires.clone());
                state.push((s, wires));
            }
            let with_state: Vec<Val> = self.frame().vals.clone();
            let body_start = self.b.gate_count();

            // 3. The body, for real. An error here that the first pass did not
            // meet comes from the state being unknown (an accumulator used as
            // a loop bound, say): the loop unrolls instead.
            let errors = self.errors.errors.len();
            let r = self.body_runs(pat, item_ty, &items, body, broke);
            if r.is_err() || self.errors.errors.len() != errors {
                let why = self.errors.errors.get(errors).map(|d| d.message.clone()).unwrap_or_default();
                self.errors.errors.truncate(errors);
                self.rollback(&before);
                return Ok(Some(format!(
                    "the body needs an accumulator's value at compile time (with the value unknown: {why})"
                )));
            }
            if !breaks && r.as_ref().is_ok_and(|&(b, _)| b) {
                self.rollback(&before);
                breaks = true;
                continue;
            }
            // A variable the first record left as it was can change once the
            // state is unknown (`argmax = i` writes 0 over 0 at the first
            // record, `if r > best { argmax = i }`): it is state too, and
            // steps 2 and 3 run again with it (each time with one more, so
            // at most once per variable).
            let unnoticed: Vec<usize> = (0..nslots)
                .filter(|&s| !assigned.contains(&s) && !self.frame().vals[s].same(&with_state[s]))
                .collect();
            if !unnoticed.is_empty() && (self.frame().returned, self.frame().dead) == was_returned {
                self.rollback(&before);
                assigned.extend(unnoticed);
                assigned.sort_unstable();
                continue;
            }
            break (items, broke, state, with_state, body_start, r);
        };
        let stable = (0..nslots).all(|s| assigned.contains(&s) || self.frame().vals[s].same(&with_state[s]));
        if !stable || (self.frame().returned, self.frame().dead) != was_returned {
            self.rollback(&before);
            return Ok(Some("the body assigns variables differently when its state is not known".into()));
        }
        let broke_after = r.map_or(broke, |(_, b)| b);
        if broke_after.is_const() && breaks {
            // Every record breaks: the loop stops at its first record.
            self.rollback(&before);
            return Ok(Some("the body always `break`s".into()));
        }

        // 4. The new state, copied back (through temporaries where a new
        // value is another state wire, so that no copy reads a wire an
        // earlier copy of this step overwrote).
        let state_wires: HashSet<WireId> = state
            .iter()
            .flat_map(|(_, w)| w.iter().copied())
            .chain([broke].into_iter().filter(|_| breaks))
            .collect();
        let mut updates: Vec<(Bits, Bits)> = Vec::new();
        for (s, wires) in &state {
            let v = self.frame().vals[*s].clone();
            updates.push((self.bits(&v).to_vec(), wires.clone()));
        }
        if breaks {
            updates.push((vec![broke_after], vec![broke]));
        }
        let mut copies = Vec::new();
        for (new, wires) in &updates {
            for (&src, &dst) in new.iter().zip(wires) {
                if src == dst {
                    continue;
                }
                if state_wires.contains(&src) {
                    let tmp = self.b.placeholders(1)[0];
                    self.b.copy_into(src, tmp);
                    copies.push((tmp, dst));
                } else {
                    copies.push((src, dst));
                }
            }
        }
        for (src, dst) in copies {
            self.b.copy_into(src, dst);
        }
        let body_end = self.b.gate_count();

        // 5. The body may read the arrays through the loop variable only
        // (and, `for i in 0..n`, use the index for nothing else).
        let (windows, refusal) = self.record_windows(records, &items, body_start, body_end);
        if let Some(why) = refusal {
            self.rollback(&before);
            return Ok(Some(why));
        }
        let body_gates = (body_end - body_start) as u64;
        if self.stream_mode == StreamLoops::Auto && body_gates.saturating_mul(runs) < STREAM_MIN_GATES {
            self.rollback(&before);
            return Ok(Some("the unrolled loop is small".into()));
        }

        // The body's wires hold a new value each iteration: nothing after
        // the loop may reuse them by structural hashing.
        self.b.forget_since(body_start);
        for (s, wires) in state {
            self.frame().vals[s] = Val::bits(wires);
        }
        self.looped.push(LoopInfo { body_start, body_end, windows, iterations: runs });
        // The records left over, unrolled after the loop.
        let done = runs * per_run;
        let rest: Vec<Bits> = match records {
            Records::Array(array) => {
                array[done as usize * width..].chunks(width.max(1)).map(|c| c.to_vec()).collect()
            }
            Records::Index => {
                self.stream_index = None;
                (done..count).map(|i| self.b.constant_bits(i128::from(i), width as u32)).collect()
            }
        };
        self.body_runs(pat, item_ty, &rest, body, broke)?;
        Ok(None)
    }

    /// The values the loop variable is bound to in one run of `per_run`
    /// records: the run's records (`for x in a`: a window of placeholders)
    /// or, `for i in 0..n`, the index's placeholders, with a fresh
    /// [`StreamIndex`] whose arrays' windows are made as the body reads them.
    fn stream_items(&mut self, records: Records<'_>, width: usize, per_run: u64, count: u64) -> Vec<Bits> {
        match records {
            Records::Array(_) => {
                let window = self.b.placeholders((width as u64 * per_run) as u32);
                window.chunks(width.max(1)).map(|c| c.to_vec()).collect()
            }
            Records::Index => {
                let index = match self.stream_index.as_ref() {
                    Some(si) => si.index.clone(),
                    None => self.b.placeholders(width as u32),
                };
                self.stream_index = Some(StreamIndex {
                    index: index.clone(),
                    count,
                    per_run: per_run as usize,
                    record: 0,
                    arrays: Vec::new(),
                    scanned: self.b.gate_count(),
                });
                vec![index; per_run as usize]
            }
        }
    }

    /// The windows of a streamed body (gates `body_start..body_end`): per
    /// array, the placeholders it read as the run's records and the wires
    /// of the first run's records; or why the loop cannot stream: the body
    /// reads an array's wires directly (`a[0]`, `a[j]`), or uses `for i in
    /// 0..n`'s index other than as `a[i]` of input arrays, or indexes none.
    fn record_windows(
        &self,
        records: Records<'_>,
        items: &[Bits],
        body_start: usize,
        body_end: usize,
    ) -> (Vec<(Bits, Bits)>, Option<String>) {
        let gates = &self.b.gates_since(body_start)[..body_end - body_start];
        let reads =
            |lo: u32, hi: u32| gates.iter().any(|g| [g.a, g.b].iter().any(|w| (lo..=hi).contains(&w.get())));
        let direct = "the body reads the array other than through the loop variable (e.g. `a[0]` or `a[j]`)";
        match records {
            Records::Array(array) => {
                let window: Bits = items.concat();
                if reads(array[0].get(), array[array.len() - 1].get()) {
                    return (Vec::new(), Some(direct.into()));
                }
                let first = array[..window.len()].to_vec();
                (vec![(window, first)], None)
            }
            Records::Index => {
                let Some(si) = self.stream_index.as_ref() else { return (Vec::new(), Some(direct.into())) };
                if reads_any(gates, &si.index) {
                    return (Vec::new(), Some(INDEX_USED.into()));
                }
                if si.arrays.is_empty() {
                    return (Vec::new(), Some("the body reads no input array as `a[i]`".into()));
                }
                let mut windows = Vec::with_capacity(si.arrays.len());
                for (first, len, _, window) in &si.arrays {
                    // `len ≥ 1`: an input run is never empty.
                    if reads(*first, first + (*len as u32 - 1)) {
                        return (Vec::new(), Some(direct.into()));
                    }
                    let first_record = (0..window.len() as u32).map(|k| WireId::new(first + k)).collect();
                    windows.push((window.clone(), first_record));
                }
                (windows, None)
            }
        }
    }
}

/// Whether any of `gates` reads any of `wires`.
fn reads_any(gates: &[garblet_circuits::Gate], wires: &[WireId]) -> bool {
    let (Some(lo), Some(hi)) = (wires.iter().min(), wires.iter().max()) else { return false };
    gates.iter().any(|g| [g.a, g.b].iter().any(|w| (lo..=hi).contains(&w) && wires.contains(w)))
}
