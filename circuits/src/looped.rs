//! A looped circuit: loops, each a body run `iterations` times over
//! windows that slide through inputs (one per array the loop reads) after
//! the gates before it, and an epilogue, in one wire space.
//!
//! Why: a program that folds a long input array into a few accumulators
//! (a sum, a count, a maximum) unrolls into gates proportional to the
//! array: 100,000 records of a linear classifier are about 1.7·10^9 gates,
//! 27 GB as a [`Circuit`]. As a [`LoopedCircuit`] it is the gates of one
//! record plus a few, and the full gate sequence is generated on demand
//! ([`LoopedCircuit::read_gates`]) for the garbler, the evaluator and the
//! plaintext evaluator alike. Memory is then the wire space (one slot per
//! input bit and per stored gate), not the gate count. A program may make
//! several passes over its records (a mean, then the variance around it):
//! each pass is one [`Loop`], run after the one before.
//!
//! The expanded gate sequence is
//!
//! ```text
//! before₀, body₀(0), …, body₀(n₀ - 1), before₁, body₁(0), …, epilogue
//! ```
//!
//! where `bodyₖ(i)` is loop `k`'s body with every operand wire `w` in one
//! of its windows `start .. start + stride` replaced by `w + i * stride` (a
//! window is the first record of an input array whose records lie one
//! after the other; a loop over several arrays, `for i in 0..n { … a[i] …
//! b[i] … }`, has one window per array, each with its own stride). Only
//! operands are shifted; a body never writes a window wire of its loop.
//! Accumulators are wires the body reads and then rewrites (a copy is
//! `XOR x, 0`, free under free-XOR): the circuit is not SSA, a gate reads
//! what its operands hold at that point of the sequence, as in [`Circuit`].
//! The first loop's `before` is the prologue.
//!
//! Both parties of a run derive the same sequence from the same
//! [`LoopedCircuit`] and compare [`LoopedCircuit::digest`] (its own
//! domain: the parts, the windows and the iteration counts), so two
//! programs that differ only in their number of records differ in digest.

use crate::circuit::{Circuit, CircuitError, Gate, GateKind, Input, InputSpec, Output, WireId};
use crate::eval::EvalError;

/// The blake3 key-derivation context of [`LoopedCircuit::digest`].
pub const DIGEST_CONTEXT: &str = "garblet looped circuit v1";

/// What can be wrong with the parts of a [`LoopedCircuit`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoopError {
    /// The wire space, names or gates are invalid (gate indices count
    /// through the stored gates in order: each loop's gates before it and
    /// its body once, then the epilogue).
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    /// A window does not lie inside one input for every iteration, or
    /// overlaps another window of its loop.
    #[error("the window {start}..{start}+{stride} × {iterations} iterations is not inside one input, apart from the other windows")]
    Window {
        /// First window wire.
        start: u32,
        /// Window width.
        stride: u32,
        /// Iterations.
        iterations: u64,
    },
    /// The builder reached its gate limit ([`crate::Builder::set_gate_limit`]).
    #[error("the circuit grows past {limit} gates")]
    TooManyGates {
        /// The limit.
        limit: usize,
    },
    /// A body gate writes a window wire of its loop.
    #[error("body gate {gate} writes the window wire {wire}")]
    WritesWindow {
        /// Body gate index (within its loop's body).
        gate: usize,
        /// The wire.
        wire: u32,
    },
}

/// One loop of a [`LoopedCircuit`]: the gates run once before it, and a
/// body run `iterations` times over sliding windows. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loop {
    before: Vec<Gate>,
    body: Vec<Gate>,
    /// `(first wire, stride)` per window.
    windows: Vec<(u32, u32)>,
    iterations: u64,
}

impl Loop {
    /// A loop: `before` runs once, then `body` `iterations` times, run `i`
    /// reading `first + i * stride ..` of each window `(first, stride)`
    /// where iteration 0 reads `first ..`. Checked with the circuit it is
    /// part of ([`LoopedCircuit::with_loops`]).
    pub fn new(before: Vec<Gate>, body: Vec<Gate>, windows: Vec<(u32, u32)>, iterations: u64) -> Loop {
        Loop { before, body, windows, iterations }
    }
    /// The gates run once before the loop (after the previous loop).
    pub fn before(&self) -> &[Gate] {
        &self.before
    }
    /// The gates of one iteration, as iteration 0 runs them.
    pub fn body(&self) -> &[Gate] {
        &self.body
    }
    /// `(first wire, width)` of each window: iteration `i` reads `first +
    /// i * width ..` instead.
    pub fn windows(&self) -> &[(u32, u32)] {
        &self.windows
    }
    /// The record bits one iteration reads, over all windows.
    pub fn window_bits(&self) -> u64 {
        self.windows.iter().map(|&(_, s)| u64::from(s)).sum()
    }
    /// How many times the body runs.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }
    /// AND gates of one iteration of the body.
    pub fn body_and_count(&self) -> u64 {
        ands(&self.body)
    }
    /// Gates of the expanded loop, `before` included (saturating).
    fn num_gates(&self) -> u64 {
        (self.body.len() as u64).saturating_mul(self.iterations).saturating_add(self.before.len() as u64)
    }

    /// The stride of this loop's window holding `w`, if one does.
    #[inline]
    fn window_of(&self, w: WireId) -> Option<u32> {
        self.windows.iter().find(|&&(start, stride)| w.get().wrapping_sub(start) < stride).map(|&(_, s)| s)
    }

    /// Body gate `g` as iteration `i` runs it.
    #[inline]
    fn shifted(&self, g: Gate, i: u64) -> Gate {
        // In range: validation put every shifted window inside an input.
        let mv = |w: WireId| match self.window_of(w) {
            Some(stride) => WireId::new(w.get() + (i * u64::from(stride)) as u32),
            None => w,
        };
        Gate { a: mv(g.a), b: mv(g.b), out: g.out, kind: g.kind }
    }

    /// The windows inside one input each for every iteration, apart from
    /// each other, and no body gate writing a window wire.
    fn check_windows(&self, inputs: &[Input]) -> Result<(), LoopError> {
        let mut spans: Vec<(u64, u64)> = Vec::with_capacity(self.windows.len());
        for &(start_w, stride_w) in &self.windows {
            let (start, stride) = (u64::from(start_w), u64::from(stride_w));
            let window_err =
                LoopError::Window { start: start_w, stride: stride_w, iterations: self.iterations };
            let end = stride
                .checked_mul(self.iterations)
                .and_then(|n| n.checked_add(start))
                .ok_or(window_err.clone())?;
            if stride > 0 && self.iterations > 0 {
                let inside = inputs.iter().any(|i| {
                    let (f, w) = (u64::from(i.first_wire), u64::from(i.width));
                    start >= f && end <= f + w
                });
                // Overlapping windows would make a wire two records.
                let apart = spans.iter().all(|&(s, e)| end <= s || start >= e);
                if !inside || !apart {
                    return Err(window_err);
                }
                spans.push((start, end));
            }
        }
        for (i, g) in self.body.iter().enumerate() {
            if self.window_of(g.out).is_some() {
                return Err(LoopError::WritesWindow { gate: i, wire: g.out.get() });
            }
        }
        Ok(())
    }
}

/// Gates with one tag each.
type Tagged<T> = (Vec<Gate>, Vec<T>);

/// AND gates in `gates`.
fn ands(gates: &[Gate]) -> u64 {
    gates.iter().filter(|g| g.kind == GateKind::And).count() as u64
}

/// Loops and an epilogue over one wire space. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopedCircuit {
    num_wires: u32,
    inputs: Vec<Input>,
    outputs: Vec<Output>,
    loops: Vec<Loop>,
    epilogue: Vec<Gate>,
}

impl LoopedCircuit {
    /// Checks and assembles a looped circuit of one loop, with one window
    /// (see [`LoopedCircuit::with_loops`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        num_wires: u32,
        inputs: Vec<InputSpec>,
        outputs: Vec<Output>,
        prologue: Vec<Gate>,
        body: Vec<Gate>,
        epilogue: Vec<Gate>,
        window: (u32, u32),
        iterations: u64,
    ) -> Result<LoopedCircuit, LoopError> {
        LoopedCircuit::with_windows(
            num_wires,
            inputs,
            outputs,
            prologue,
            body,
            epilogue,
            vec![window],
            iterations,
        )
    }

    /// [`LoopedCircuit::new`] with several windows, `(first wire, stride)`
    /// each: iteration `i` reads `first + i * stride ..` of each.
    #[allow(clippy::too_many_arguments)]
    pub fn with_windows(
        num_wires: u32,
        inputs: Vec<InputSpec>,
        outputs: Vec<Output>,
        prologue: Vec<Gate>,
        body: Vec<Gate>,
        epilogue: Vec<Gate>,
        windows: Vec<(u32, u32)>,
        iterations: u64,
    ) -> Result<LoopedCircuit, LoopError> {
        let the_loop = Loop::new(prologue, body, windows, iterations);
        LoopedCircuit::with_loops(num_wires, inputs, outputs, vec![the_loop], epilogue)
    }

    /// Checks and assembles a looped circuit of `loops` run one after the
    /// other, then `epilogue`. Inputs get the wires `2 .. 2 + Σ width` in
    /// order, as in [`Circuit::new`]. Checks: every
    /// wire in range, no write to a constant, INV well formed, every read
    /// set earlier (each body as it runs the first time; later runs read
    /// what the first wrote), outputs set; per loop, each window inside
    /// one input for every iteration and apart from the loop's other
    /// windows, and no body gate writing a window wire of its loop.
    pub fn with_loops(
        num_wires: u32,
        inputs: Vec<InputSpec>,
        outputs: Vec<Output>,
        loops: Vec<Loop>,
        epilogue: Vec<Gate>,
    ) -> Result<LoopedCircuit, LoopError> {
        let placed = Circuit::place_inputs(num_wires, inputs, &outputs)?;
        // No loop is one empty loop, so that `loops` is never empty.
        let loops =
            if loops.is_empty() { vec![Loop::new(Vec::new(), Vec::new(), Vec::new(), 0)] } else { loops };
        let c = LoopedCircuit { num_wires, inputs: placed, outputs, loops, epilogue };
        c.validate()?;
        Ok(c)
    }

    /// The stored gates in order: each loop's `before` and body, then the
    /// epilogue (a body once).
    fn stored(&self) -> impl Iterator<Item = &Gate> + '_ {
        self.loops.iter().flat_map(|l| l.before.iter().chain(&l.body)).chain(&self.epilogue)
    }

    fn validate(&self) -> Result<(), LoopError> {
        for l in &self.loops {
            l.check_windows(&self.inputs)?;
        }
        // The reads, in the order of a run with one iteration per loop
        // (later iterations read the same wires, or window wires of other
        // records, which are inputs).
        let n = self.num_wires;
        let mut defined = vec![false; n as usize];
        defined[0] = true;
        defined[1] = true;
        for input in &self.inputs {
            for w in input.wires() {
                defined[w.index()] = true;
            }
        }
        for (i, g) in self.stored().enumerate() {
            for w in [g.a, g.b, g.out] {
                if w.get() >= n {
                    return Err(CircuitError::WireOutOfRange { gate: i, wire: w.get(), num_wires: n }.into());
                }
            }
            if g.kind == GateKind::Inv && g.a != g.b {
                return Err(CircuitError::MalformedInv { gate: i }.into());
            }
            for w in [g.a, g.b] {
                if !defined[w.index()] {
                    return Err(CircuitError::ReadBeforeWrite { gate: i, wire: w.get() }.into());
                }
            }
            if g.out.is_const() {
                return Err(CircuitError::WritesConstant { gate: i, wire: g.out.get() }.into());
            }
            defined[g.out.index()] = true;
        }
        for o in &self.outputs {
            for &w in &o.wires {
                if w.get() >= n || !defined[w.index()] {
                    return Err(
                        CircuitError::UndefinedOutput { output: o.name.clone(), wire: w.get() }.into()
                    );
                }
            }
        }
        Ok(())
    }

    /// The size of the wire space (including the two constants).
    pub fn num_wires(&self) -> u32 {
        self.num_wires
    }
    /// The inputs in wire order.
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }
    /// The outputs in declaration order.
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }
    /// The input called `name`.
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }
    /// Total input bits.
    pub fn input_bits(&self) -> u64 {
        self.inputs.iter().map(|i| u64::from(i.width)).sum()
    }
    /// The loops, in the order they run (at least one).
    pub fn loops(&self) -> &[Loop] {
        &self.loops
    }
    /// The gates after the last loop.
    pub fn epilogue(&self) -> &[Gate] {
        &self.epilogue
    }

    /// Gates of the expanded sequence (saturating).
    pub fn num_gates(&self) -> u64 {
        self.loops.iter().fold(self.epilogue.len() as u64, |n, l| n.saturating_add(l.num_gates()))
    }

    /// Gates stored (each loop's `before` and body once, the epilogue).
    pub fn stored_gates(&self) -> usize {
        self.loops.iter().map(|l| l.before.len() + l.body.len()).sum::<usize>() + self.epilogue.len()
    }

    /// AND gates of the expanded sequence (saturating).
    pub fn and_count(&self) -> u64 {
        self.loops.iter().fold(ands(&self.epilogue), |n, l| {
            n.saturating_add(l.body_and_count().saturating_mul(l.iterations)).saturating_add(ands(&l.before))
        })
    }

    /// Copies gates `start, start + 1, …` of the expanded sequence into
    /// `out`; returns how many were copied (fewer than `out.len()` only at
    /// the end, 0 past it).
    pub fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
        let mut written = 0;
        // `pos`: the position within the part being read, after the parts
        // before it are skipped.
        let mut pos = start;
        for l in &self.loops {
            if written == out.len() {
                return written;
            }
            let p = l.before.len() as u64;
            if pos < p {
                let off = pos as usize;
                let n = (out.len() - written).min(l.before.len() - off);
                out[written..written + n].copy_from_slice(&l.before[off..off + n]);
                written += n;
                pos += n as u64;
            }
            pos -= p.min(pos);
            let b = l.body.len() as u64;
            let body_gates = b.saturating_mul(l.iterations);
            while written < out.len() && pos < body_gates {
                // b > 0 here, since body_gates > pos ≥ 0.
                let (i, off) = (pos / b, (pos % b) as usize);
                let n = (out.len() - written).min(l.body.len() - off);
                for (slot, g) in out[written..written + n].iter_mut().zip(&l.body[off..off + n]) {
                    *slot = l.shifted(*g, i);
                }
                written += n;
                pos += n as u64;
            }
            pos -= body_gates.min(pos);
        }
        if written < out.len() && pos < self.epilogue.len() as u64 {
            let off = pos as usize;
            let n = (out.len() - written).min(self.epilogue.len() - off);
            out[written..written + n].copy_from_slice(&self.epilogue[off..off + n]);
            written += n;
        }
        written
    }

    /// The expanded gate sequence, generated (never stored).
    pub fn gates(&self) -> impl Iterator<Item = Gate> + '_ {
        self.loops
            .iter()
            .flat_map(|l| {
                let body = (0..l.iterations).flat_map(move |i| l.body.iter().map(move |g| l.shifted(*g, i)));
                l.before.iter().copied().chain(body)
            })
            .chain(self.epilogue.iter().copied())
    }

    /// Evaluates 64 instances at once over the expanded sequence (as
    /// [`Circuit::eval_sliced`]); memory is one `u64` per wire.
    ///
    /// Each iteration's records are copied to where iteration 0's lie
    /// (the body never writes a window: [`LoopedCircuit::with_loops`]
    /// checks it), so the body runs as stored, with no wire shifted per
    /// gate; iteration 0's are put back after the loop, for gates outside
    /// it that read them. (Expanding each gate as [`LoopedCircuit::gates`]
    /// does took 14 ns a gate: 21 s for the model benchmark's 100,000
    /// records, twice its two-party run.)
    pub fn eval_sliced(&self, inputs: &[Vec<u64>]) -> Result<Vec<Vec<u64>>, EvalError> {
        if inputs.len() != self.inputs.len() {
            return Err(EvalError::InputCount { expected: self.inputs.len(), got: inputs.len() });
        }
        let mut wires = vec![0u64; self.num_wires as usize];
        wires[1] = u64::MAX;
        for (input, value) in self.inputs.iter().zip(inputs) {
            if value.len() != input.width as usize {
                return Err(EvalError::InputWidth {
                    name: input.name.clone(),
                    expected: input.width,
                    got: value.len(),
                });
            }
            let first = input.first_wire as usize;
            wires[first..first + value.len()].copy_from_slice(value);
        }
        let run = |wires: &mut [u64], gates: &[Gate]| {
            for g in gates {
                let (a, b) = (wires[g.a.index()], wires[g.b.index()]);
                wires[g.out.index()] = match g.kind {
                    GateKind::Xor => a ^ b,
                    GateKind::And => a & b,
                    GateKind::Inv => !a,
                };
            }
        };
        for l in &self.loops {
            run(&mut wires, &l.before);
            let span = |&(start, stride): &(u32, u32)| (start as usize, stride as usize);
            let first: Vec<Vec<u64>> =
                l.windows.iter().map(span).map(|(s, w)| wires[s..s + w].to_vec()).collect();
            for i in 0..l.iterations {
                if i > 0 {
                    for (s, w) in l.windows.iter().map(span) {
                        // In range: validation put every iteration's window inside an input.
                        let from = s + i as usize * w;
                        wires.copy_within(from..from + w, s);
                    }
                }
                run(&mut wires, &l.body);
            }
            for ((s, w), saved) in l.windows.iter().map(span).zip(&first) {
                wires[s..s + w].copy_from_slice(saved);
            }
        }
        run(&mut wires, &self.epilogue);
        Ok(self.outputs.iter().map(|o| o.wires.iter().map(|w| wires[w.index()]).collect()).collect())
    }

    /// Evaluates one instance (as [`Circuit::eval_bits`]).
    pub fn eval_bits(&self, inputs: &[Vec<bool>]) -> Result<Vec<Vec<bool>>, EvalError> {
        let sliced: Vec<Vec<u64>> =
            inputs.iter().map(|v| v.iter().map(|&b| u64::from(b)).collect()).collect();
        let out = self.eval_sliced(&sliced)?;
        Ok(out.into_iter().map(|o| o.into_iter().map(|x| x & 1 == 1).collect()).collect())
    }

    /// blake3 in derive-key mode, context [`DIGEST_CONTEXT`], over: the
    /// wire count; each input (name, party, width) and output (name,
    /// visibility, wires), length-prefixed; then, for one loop, its window's
    /// start and width (with several windows: `u32::MAX`, their count as a
    /// `u64`, then each start and width), its iteration count, and the
    /// prologue, the body and the epilogue, each as its gate count and its
    /// gates in the canonical 13-byte form (tag, a, b, out; little-endian).
    /// With several loops: `u32::MAX` and `u64::MAX` (no window count is
    /// that), the loop count, per loop its window count, windows, iteration
    /// count, gates before and body; then the epilogue.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key(DIGEST_CONTEXT);
        let put_str = |h: &mut blake3::Hasher, s: &str| {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        let put_windows = |h: &mut blake3::Hasher, windows: &[(u32, u32)]| {
            h.update(&(windows.len() as u64).to_le_bytes());
            for (start, stride) in windows {
                h.update(&start.to_le_bytes());
                h.update(&stride.to_le_bytes());
            }
        };
        let put_gates = |h: &mut blake3::Hasher, part: &[Gate]| {
            h.update(&(part.len() as u64).to_le_bytes());
            let mut buf = Vec::with_capacity(13 * 4096);
            for chunk in part.chunks(4096) {
                buf.clear();
                for g in chunk {
                    buf.push(g.kind.tag());
                    buf.extend_from_slice(&g.a.get().to_le_bytes());
                    buf.extend_from_slice(&g.b.get().to_le_bytes());
                    buf.extend_from_slice(&g.out.get().to_le_bytes());
                }
                h.update(&buf);
            }
        };
        h.update(&self.num_wires.to_le_bytes());
        h.update(&(self.inputs.len() as u64).to_le_bytes());
        for i in &self.inputs {
            put_str(&mut h, &i.name);
            put_str(&mut h, i.party.as_str());
            h.update(&i.width.to_le_bytes());
        }
        h.update(&(self.outputs.len() as u64).to_le_bytes());
        for o in &self.outputs {
            put_str(&mut h, &o.name);
            put_str(&mut h, o.visibility.as_str());
            h.update(&(o.wires.len() as u64).to_le_bytes());
            for w in &o.wires {
                h.update(&w.get().to_le_bytes());
            }
        }
        match self.loops.as_slice() {
            [l] => {
                match l.windows.as_slice() {
                    &[(start, stride)] => {
                        h.update(&start.to_le_bytes());
                        h.update(&stride.to_le_bytes());
                    }
                    // Several windows (or none): a start no single window
                    // has (it lies inside an input), then the count and
                    // each window.
                    windows => {
                        h.update(&u32::MAX.to_le_bytes());
                        put_windows(&mut h, windows);
                    }
                }
                h.update(&l.iterations.to_le_bytes());
                put_gates(&mut h, &l.before);
                put_gates(&mut h, &l.body);
            }
            loops => {
                h.update(&u32::MAX.to_le_bytes());
                h.update(&u64::MAX.to_le_bytes());
                h.update(&(loops.len() as u64).to_le_bytes());
                for l in loops {
                    put_windows(&mut h, &l.windows);
                    h.update(&l.iterations.to_le_bytes());
                    put_gates(&mut h, &l.before);
                    put_gates(&mut h, &l.body);
                }
            }
        }
        put_gates(&mut h, &self.epilogue);
        *h.finalize().as_bytes()
    }

    /// The optimisation passes that respect the loops, never adding an AND:
    ///
    /// - loop-invariant hoisting: a body gate whose operands are neither
    ///   window wires of its loop nor wires its body rewrites (directly or
    ///   through other such gates), and whose output is written by no
    ///   other gate, computes the same value in every iteration; it moves
    ///   to the end of the gates before its loop (an unrolled loop shares
    ///   such gates between its iterations by structural hashing, so this
    ///   keeps the per-iteration AND count equal to the unrolled one). What
    ///   an earlier loop wrote is invariant in a later one;
    /// - dead gates: a backward liveness over the epilogue, then per loop
    ///   from the last, the body to a fixed point (what an iteration reads
    ///   of what the previous one wrote is live at the end of the body)
    ///   and the gates before it, drops every gate no output depends on.
    ///
    /// Wires are not renumbered: the wire space is the inputs plus the
    /// stored gates, small next to the inputs of a long loop.
    pub fn optimized(&self) -> LoopedCircuit {
        self.optimized_tagged(&vec![0; self.stored_gates()]).0
    }

    /// [`LoopedCircuit::optimized`], carrying one tag per stored gate (in
    /// stored order: each loop's gates before it and body, the epilogue)
    /// to the gates kept, in the same order (the compiler tags each gate
    /// with its source line).
    pub fn optimized_tagged<T: Copy>(&self, tags: &[T]) -> (LoopedCircuit, Vec<T>) {
        assert_eq!(tags.len(), self.stored_gates(), "one tag per stored gate");
        let n = self.num_wires as usize;
        let mut writes = vec![0u8; n];
        for g in self.stored() {
            let c = &mut writes[g.out.index()];
            *c = c.saturating_add(1);
        }
        // Hoisting, loop by loop: (before, its tags), (body, its tags).
        let mut parts: Vec<(Tagged<T>, Tagged<T>)> = Vec::with_capacity(self.loops.len());
        let mut at = 0;
        let mut variant = vec![false; n];
        for l in &self.loops {
            let (before_tags, rest) = tags[at..].split_at(l.before.len());
            let body_tags = &rest[..l.body.len()];
            at += l.before.len() + l.body.len();
            variant.iter_mut().for_each(|v| *v = false);
            for &(start, stride) in &l.windows {
                for w in start..start.saturating_add(stride).min(self.num_wires) {
                    variant[w as usize] = true;
                }
            }
            for g in &l.body {
                if writes[g.out.index()] > 1 {
                    variant[g.out.index()] = true;
                }
            }
            let (mut before, mut before_tags) = (l.before.clone(), before_tags.to_vec());
            let mut body = Vec::with_capacity(l.body.len());
            let mut body_tags_kept = Vec::with_capacity(l.body.len());
            for (g, &t) in l.body.iter().zip(body_tags) {
                if variant[g.a.index()] || variant[g.b.index()] || writes[g.out.index()] > 1 {
                    variant[g.out.index()] = true;
                    body.push(*g);
                    body_tags_kept.push(t);
                } else {
                    before.push(*g);
                    before_tags.push(t);
                }
            }
            parts.push(((before, before_tags), (body, body_tags_kept)));
        }
        let epilogue_tags = &tags[at..];
        // Dead gates.
        let mut live = vec![false; n];
        for o in &self.outputs {
            for w in &o.wires {
                live[w.index()] = true;
            }
        }
        let backward = |gates: &[Gate], live: &mut Vec<bool>, keep: &mut Vec<bool>| {
            for (i, g) in gates.iter().enumerate().rev() {
                if live[g.out.index()] {
                    keep[i] = true;
                    live[g.out.index()] = false;
                    live[g.a.index()] = true;
                    live[g.b.index()] = true;
                }
            }
        };
        let mut keep_epilogue = vec![false; self.epilogue.len()];
        backward(&self.epilogue, &mut live, &mut keep_epilogue);
        let mut kept: Vec<(Vec<bool>, Vec<bool>)> = Vec::with_capacity(parts.len());
        for (((before, _), (body, _)), l) in parts.iter().zip(&self.loops).rev() {
            let after_body = live.clone();
            let mut keep_body = vec![false; body.len()];
            if l.iterations > 0 {
                // live_out(body) = after_body ∪ live_in(body), to a fixed point.
                let mut out = after_body.clone();
                loop {
                    let mut li = out.clone();
                    let mut keep = vec![false; body.len()];
                    backward(body, &mut li, &mut keep);
                    let mut grew = false;
                    for (o, &x) in out.iter_mut().zip(&li) {
                        if x && !*o {
                            *o = true;
                            grew = true;
                        }
                    }
                    keep_body = keep;
                    if !grew {
                        // `li` is live_in(body); the live set before the
                        // loop also holds what an empty loop would pass
                        // through.
                        live = li;
                        for (x, &a) in live.iter_mut().zip(&after_body) {
                            *x |= a;
                        }
                        break;
                    }
                }
            }
            let mut keep_before = vec![false; before.len()];
            backward(before, &mut live, &mut keep_before);
            kept.push((keep_before, keep_body));
        }
        kept.reverse();
        fn pick<X: Copy>(xs: &[X], keep: &[bool]) -> Vec<X> {
            xs.iter().zip(keep).filter(|(_, &k)| k).map(|(x, _)| *x).collect()
        }
        let mut kept_tags = Vec::new();
        let mut loops = Vec::with_capacity(parts.len());
        for ((((before, before_tags), (body, body_tags)), (keep_before, keep_body)), l) in
            parts.iter().zip(&kept).zip(&self.loops)
        {
            kept_tags.extend(pick(before_tags, keep_before));
            kept_tags.extend(pick(body_tags, keep_body));
            loops.push(Loop {
                before: pick(before, keep_before),
                body: pick(body, keep_body),
                windows: l.windows.clone(),
                iterations: l.iterations,
            });
        }
        kept_tags.extend(pick(epilogue_tags, &keep_epilogue));
        let c = LoopedCircuit {
            num_wires: self.num_wires,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            loops,
            epilogue: pick(&self.epilogue, &keep_epilogue),
        };
        (c, kept_tags)
    }

    /// A circuit with this one's inputs and outputs (names, owners,
    /// widths, visibility) and no gates, every output bit wired to the
    /// constant 0: the interface, for code that describes a program's
    /// inputs and outputs. It does not compute the loop.
    pub fn interface(&self) -> Circuit {
        let inputs: Vec<InputSpec> =
            self.inputs.iter().map(|i| InputSpec::new(i.name.clone(), i.party, i.width)).collect();
        let outputs = self
            .outputs
            .iter()
            .map(|o| Output { wires: vec![WireId::ZERO; o.wires.len()], ..o.clone() })
            .collect();
        let wires = u32::try_from(self.input_bits() + 2).unwrap_or(u32::MAX);
        // Valid: the same inputs fitted in this circuit's wire space.
        Circuit::new(wires, inputs, outputs, Vec::new()).expect("the interface of a valid looped circuit")
    }

    /// The same loop unrolled into a [`Circuit`] (tests and small loops;
    /// the gates are materialised).
    pub fn unrolled(&self) -> Circuit {
        let inputs = self.inputs.iter().map(|i| InputSpec::new(i.name.clone(), i.party, i.width)).collect();
        // Valid by construction: the checks of `new` cover every iteration.
        Circuit::new(self.num_wires, inputs, self.outputs.clone(), self.gates().collect())
            .expect("a valid looped circuit unrolls into a valid circuit")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::{Party, Visibility};

    /// The expanded sequence read by [`LoopedCircuit::read_gates`], `chunk`
    /// gates a call.
    fn read_in_chunks(c: &LoopedCircuit, chunk: usize) -> Vec<Gate> {
        let mut buf = vec![Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(2)); chunk];
        let (mut all, mut pos) = (Vec::new(), 0);
        loop {
            let k = c.read_gates(pos, &mut buf);
            if k == 0 {
                return all;
            }
            all.extend_from_slice(&buf[..k]);
            pos += k as u64;
        }
    }

    /// Σ x[i] mod 4 over two-bit records, as a loop.
    fn sum_loop(records: u64) -> LoopedCircuit {
        // Wires: 0,1 constants; 2.. the input (2 bits per record); then
        // state s0, s1, and the body's temporaries.
        let first = 2u32;
        let s = first + 2 * records as u32;
        let w = WireId::new;
        let (s0, s1, t0, c, t1) = (w(s), w(s + 1), w(s + 2), w(s + 3), w(s + 4));
        let prologue = vec![Gate::xor(w(0), w(0), s0), Gate::xor(w(0), w(0), s1)];
        // s += x (2 bits): s0' = s0 ^ x0, carry = s0 & x0, s1' = s1 ^ x1 ^ carry.
        let body = vec![
            Gate::xor(s0, w(first), t0),
            Gate::and(s0, w(first), c),
            Gate::xor(s1, w(first + 1), t1),
            Gate::xor(t1, c, s1),
            Gate::xor(t0, w(0), s0),
        ];
        let out = Output { name: "sum".into(), visibility: Visibility::Both, wires: vec![s0, s1] };
        LoopedCircuit::new(
            s + 5,
            vec![InputSpec::new("x", Party::Evaluator, 2 * records as u32)],
            vec![out],
            prologue,
            body,
            vec![],
            (first, 2),
            records,
        )
        .unwrap()
    }

    #[test]
    fn a_sum_loop_adds_every_record() {
        let c = sum_loop(5);
        let xs = [3u8, 1, 2, 3, 2];
        let bits: Vec<bool> = xs.iter().flat_map(|x| [x & 1 == 1, x & 2 == 2]).collect();
        let out = c.eval_bits(std::slice::from_ref(&bits)).unwrap();
        let want = xs.iter().map(|&x| u32::from(x)).sum::<u32>() % 4;
        assert_eq!(out[0], vec![want & 1 == 1, want & 2 == 2]);
        assert_eq!(c.unrolled().eval_bits(&[bits]).unwrap(), out);
        assert_eq!(c.and_count(), 5);
        assert_eq!(c.num_gates(), 2 + 5 * 5);
        assert_eq!(read_in_chunks(&c, 7), c.gates().collect::<Vec<_>>());
        assert_eq!(c.optimized().eval_bits(&[vec![true; 10]]).unwrap()[0], vec![true, true]);
        assert_ne!(c.digest(), sum_loop(4).digest());
    }

    /// Gates after the loop that read records directly (the first and
    /// the third), and the loop's own result: the same as the loop
    /// unrolled, for every input of five two-bit records. (The evaluator
    /// copies each iteration's records over the first's and puts the
    /// first's back after the loop.)
    #[test]
    fn gates_after_a_loop_read_its_first_records_as_they_were() {
        let records = 5u32;
        let first = 2u32;
        let w = WireId::new;
        let plain = sum_loop(u64::from(records));
        let s = plain.num_wires();
        let (r0, r2, both) = (w(s), w(s + 1), w(s + 2));
        let epilogue = vec![
            Gate::xor(w(first), w(first + 1), r0),
            Gate::and(w(first + 4), w(first + 5), r2),
            Gate::xor(r0, r2, both),
        ];
        let mut outputs = plain.outputs().to_vec();
        outputs.push(Output { name: "r".into(), visibility: Visibility::Both, wires: vec![r0, r2, both] });
        let l = &plain.loops()[0];
        let c = LoopedCircuit::new(
            s + 3,
            vec![InputSpec::new("x", Party::Evaluator, 2 * records)],
            outputs,
            l.before().to_vec(),
            l.body().to_vec(),
            epilogue,
            (first, 2),
            u64::from(records),
        )
        .unwrap();
        let unrolled = c.unrolled();
        for x in 0..1u32 << (2 * records) {
            let bits: Vec<bool> = (0..2 * records).map(|k| x >> k & 1 == 1).collect();
            let got = c.eval_bits(std::slice::from_ref(&bits)).unwrap();
            assert_eq!(got, unrolled.eval_bits(std::slice::from_ref(&bits)).unwrap(), "x = {x:#b}");
            assert_eq!(got[1][0], bits[0] ^ bits[1], "x = {x:#b}");
        }
    }

    /// A loop over two arrays of different record widths: `s += x_i & y_i`
    /// bit by bit over x (2 bits a record) and y (1 bit a record, applied
    /// to bit 0), one window each.
    #[test]
    fn two_windows_shift_by_their_own_strides() {
        let records = 5u32;
        let w = WireId::new;
        // Inputs: x at 2.., y at 2 + 2·records...; state s at the end.
        let (x0, y0) = (2, 2 + 2 * records);
        let s = y0 + records;
        let (t, c) = (s + 1, s + 2);
        let prologue = vec![Gate::xor(w(0), w(0), w(s))];
        // s ^= (x_i.0 ^ x_i.1) & y_i
        let body = vec![
            Gate::xor(w(x0), w(x0 + 1), w(t)),
            Gate::and(w(t), w(y0), w(c)),
            Gate::xor(w(s), w(c), w(s)),
        ];
        let out = Output { name: "s".into(), visibility: Visibility::Both, wires: vec![w(s)] };
        let inputs = vec![
            InputSpec::new("x", Party::Garbler, 2 * records),
            InputSpec::new("y", Party::Evaluator, records),
        ];
        let make = |windows: Vec<(u32, u32)>| {
            LoopedCircuit::with_windows(
                c + 1,
                inputs.clone(),
                vec![out.clone()],
                prologue.clone(),
                body.clone(),
                vec![],
                windows,
                u64::from(records),
            )
        };
        let l = make(vec![(x0, 2), (y0, 1)]).unwrap();
        let (xs, ys) = ([0b01u8, 0b11, 0b10, 0b01, 0b00], [true, true, true, false, true]);
        let x: Vec<bool> = xs.iter().flat_map(|v| [v & 1 == 1, v & 2 == 2]).collect();
        let want = xs.iter().zip(ys).filter(|(v, y)| *y && (*v & 1) ^ (*v >> 1) == 1).count() % 2 == 1;
        let got = l.eval_bits(&[x.clone(), ys.to_vec()]).unwrap();
        assert_eq!(got[0], vec![want]);
        assert_eq!(l.unrolled().eval_bits(&[x, ys.to_vec()]).unwrap(), got);
        assert_eq!(l.loops()[0].window_bits(), 3);
        // Overlapping windows, and a window past its input, are refused.
        assert!(matches!(make(vec![(x0, 2), (x0 + 1, 1)]), Err(LoopError::Window { .. })));
        assert!(matches!(make(vec![(x0, 2), (y0, 2)]), Err(LoopError::Window { .. })));
        // The digest tells the windows apart.
        assert_ne!(l.digest(), make(vec![(y0, 1), (x0, 2)]).unwrap().digest());
    }

    /// Two passes over the same records: `s = Σ x mod 4`, then `t = ⊕ᵢ
    /// (xᵢ.0 ∧ s.0 ∧ s.1)`. The second body's `s.0 ∧ s.1` reads only the
    /// first loop's final state: invariant there, hoisted before the
    /// second loop, where it must see the sum of every record.
    #[test]
    fn a_second_loop_reads_the_first_ones_result() {
        let records = 6u32;
        let w = WireId::new;
        let first = 2u32;
        let s = first + 2 * records;
        let (s0, s1, t0, c, t1) = (w(s), w(s + 1), w(s + 2), w(s + 3), w(s + 4));
        let (t, u, v) = (w(s + 5), w(s + 6), w(s + 7));
        let sum = Loop::new(
            vec![Gate::xor(w(0), w(0), s0), Gate::xor(w(0), w(0), s1)],
            vec![
                Gate::xor(s0, w(first), t0),
                Gate::and(s0, w(first), c),
                Gate::xor(s1, w(first + 1), t1),
                Gate::xor(t1, c, s1),
                Gate::xor(t0, w(0), s0),
            ],
            vec![(first, 2)],
            u64::from(records),
        );
        let parity = Loop::new(
            vec![Gate::xor(w(0), w(0), t)],
            vec![Gate::and(s0, s1, u), Gate::and(u, w(first), v), Gate::xor(t, v, t)],
            vec![(first, 2)],
            u64::from(records),
        );
        let outputs = vec![
            Output { name: "s".into(), visibility: Visibility::Both, wires: vec![s0, s1] },
            Output { name: "t".into(), visibility: Visibility::Both, wires: vec![t] },
        ];
        let inputs = vec![InputSpec::new("x", Party::Evaluator, 2 * records)];
        let make = |loops: Vec<Loop>| {
            LoopedCircuit::with_loops(s + 8, inputs.clone(), outputs.clone(), loops, vec![]).unwrap()
        };
        let l = make(vec![sum.clone(), parity.clone()]);
        assert_eq!(l.and_count(), 3 * u64::from(records), "one AND a record, then two");
        assert_eq!(l.num_gates(), 2 + 5 * 6 + 1 + 3 * 6);
        let opt = l.optimized();
        assert_eq!(opt.loops()[1].body().len(), 2, "s.0 ∧ s.1 is hoisted");
        assert_eq!(opt.and_count(), 2 * u64::from(records) + 1);
        for xs in [[3u8, 1, 2, 3, 2, 0], [1, 1, 1, 0, 0, 0], [3, 3, 3, 3, 3, 3], [2, 0, 0, 1, 0, 0]] {
            let bits: Vec<bool> = xs.iter().flat_map(|x| [x & 1 == 1, x & 2 == 2]).collect();
            let s_want = xs.iter().map(|&x| u32::from(x)).sum::<u32>() % 4;
            let t_want = s_want == 3 && xs.iter().filter(|&&x| x & 1 == 1).count() % 2 == 1;
            let want = vec![vec![s_want & 1 == 1, s_want & 2 == 2], vec![t_want]];
            assert_eq!(l.eval_bits(std::slice::from_ref(&bits)).unwrap(), want, "{xs:?}");
            assert_eq!(opt.eval_bits(std::slice::from_ref(&bits)).unwrap(), want, "{xs:?}");
            assert_eq!(l.unrolled().eval_bits(std::slice::from_ref(&bits)).unwrap(), want);
        }
        for chunk in [1, 4, 31] {
            assert_eq!(read_in_chunks(&l, chunk), l.gates().collect::<Vec<_>>(), "{chunk}");
        }
        // The digest tells apart the loops, their order and their counts.
        let one_loop = LoopedCircuit::with_loops(
            s + 8,
            inputs.clone(),
            vec![outputs[0].clone()],
            vec![sum.clone()],
            vec![],
        )
        .unwrap();
        assert_ne!(l.digest(), one_loop.digest());
        let fewer = Loop { iterations: 5, ..parity.clone() };
        assert_ne!(l.digest(), make(vec![sum.clone(), fewer]).digest());
        // A window of the second loop past its input is refused.
        let past = Loop { iterations: 7, ..parity };
        let err = LoopedCircuit::with_loops(s + 8, inputs, outputs, vec![sum, past], vec![]).unwrap_err();
        assert!(matches!(err, LoopError::Window { .. }));
    }

    #[test]
    fn a_window_past_its_input_is_refused() {
        let c = sum_loop(3);
        let err = LoopedCircuit::new(
            c.num_wires(),
            vec![InputSpec::new("x", Party::Evaluator, 6)],
            c.outputs().to_vec(),
            c.loops()[0].before().to_vec(),
            c.loops()[0].body().to_vec(),
            vec![],
            (2, 2),
            4,
        )
        .unwrap_err();
        assert!(matches!(err, LoopError::Window { .. }));
    }
}
