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
//!
//! # Files
//!
//! This file holds [`Plan`] and the driving of the window compiler over a
//! source. `window.rs` compiles one window, `fuse.rs` folds XOR chains,
//! `compact.rs` moves the values a window uses up to a small pool of
//! labels reused in the run's order,
//! `liveness.rs` computes what escapes a window, and `levels.rs` the
//! per-gate facts the compiler and the folding share. `rename.rs` renames
//! a source's wires to its live values after a backward pass over it;
//! `lookahead.rs` makes the same renaming of a sequential source in one
//! forward pass. The ops they produce are in [`crate::garble::ops`].
//!
//! [`Op4`]: crate::garble::ops::Op4

use std::sync::mpsc::{channel, sync_channel};

use garblet_circuits::{Circuit, Gate, LoopedCircuit, WireId};

use crate::garble::error::PlanError;
use crate::garble::ops::{Op, Segment, Window};
use crate::garble::source::{GateSource, Repeated, BLANK_GATE};

mod compact;
mod fuse;
mod levels;
mod liveness;
mod lookahead;
mod rename;
mod window;

use liveness::Escapes;
use rename::{rename_all, RenameFacts, Renamer};
use window::WindowCompiler;

/// Default window: gates scheduled together. Measured on the AES-128 and
/// wide benchmarks (see `BENCHMARKS.md`). Part of the protocol: the AND
/// gates are numbered in the schedule's order, which the window fixes, so
/// every plan kind of a session uses this window on both sides
/// (`docs/PROTOCOL.md`, Garbled tables).
pub const DEFAULT_WINDOW_GATES: usize = 1 << 16;

/// Windows a streaming plan schedules ahead of the run.
const WINDOWS_AHEAD: usize = 2;

/// Renamed windows queued for the compiler when planning from a source:
/// deep enough that the stages' uneven windows (page faults, a slow read)
/// do not stall each other (2 → 16: the chained AES planned in 1.37–1.42
/// s instead of 1.50–1.63 s, `BENCHMARKS.md`); 16 windows of gates are 16
/// MiB.
const RENAMED_AHEAD: usize = 16;

/// A source of at most this many windows is renamed and compiled on one
/// thread ([`Plan::renamed_from_source`]): for so few, starting a helper
/// costs more than the overlap saves (one AES-128, one window, planned
/// 31 % slower on two threads; 16 chained, 9 windows, 19 % faster).
const RENAME_ALONE_WINDOWS: u64 = 4;

/// Largest label index a plan may use: free ops address labels by byte
/// offset in a `u32`.
const MAX_LABELS: u64 = 1 << 28;

enum Kind<'s> {
    Compiled(Vec<Window>),
    Streaming(&'s dyn GateSource),
    Repeated {
        windows: Vec<Window>,
        reps: u64,
        tail: Vec<Window>,
    },
    /// Compiled window by window during the run, as `Streaming`, with the
    /// liveness of a whole-circuit plan and (unless the renamed space
    /// would not fit a run's label file) renamed wires.
    Pipelined {
        source: &'s dyn GateSource,
        escapes: Option<Escapes>,
        rename: Option<RenameFacts>,
    },
    /// A looped circuit: per loop, the gates before it compiled once and
    /// its body compiled once and replayed `iterations` times, each run
    /// preceded by a window of copies that brings its records to the
    /// scratch wires the body reads; then the epilogue.
    Looped {
        loops: Vec<LoopPlan>,
        epilogue: Vec<Window>,
    },
}

/// One loop of a [`Kind::Looped`] plan.
struct LoopPlan {
    before: Vec<Window>,
    body: Vec<Window>,
    copy: Vec<RecordCopy>,
    iterations: u64,
}

/// The copies before each run of a looped body, one per window: `stride`
/// labels from the run's records (`from + run · stride …`) to the scratch
/// wires `to …`.
#[derive(Clone, Copy, Debug)]
struct RecordCopy {
    from: u32,
    to: u32,
    stride: u32,
}

/// How [`Plan::run_ahead`] compiles a window.
#[derive(Clone, Copy)]
enum Compile<'a> {
    /// The window compiler, with the whole circuit's liveness if known.
    Plain(Option<&'a Escapes>),
    /// Rename, then the one-pass compiler for hazard-free windows.
    Renaming(&'a RenameFacts),
}

/// Appends to `into` every wire that `gates` read before writing it: what
/// a run of them needs from before (a loop's state, a repeated body's
/// inputs).
fn read_before_written(gates: &[Gate], num_wires: u32, into: &mut Vec<u32>) {
    let mut written = vec![false; num_wires as usize];
    for g in gates {
        for r in [g.a, g.b] {
            if let Some(false) = written.get(r.index()) {
                into.push(r.get());
            }
        }
        if let Some(w) = written.get_mut(g.out.index()) {
            *w = true;
        }
    }
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

/// Compiles the consecutive windows of a whole circuit `source`, whose
/// wires `live_after` are needed after its last gate.
fn compile_all(
    source: &dyn GateSource,
    window_gates: usize,
    live_after: &[u32],
    replayed: bool,
) -> Result<Vec<Window>, PlanError> {
    let escapes = Escapes::compute(source, window_gates, live_after);
    let mut compiler = WindowCompiler::new(source.num_wires(), window_gates);
    if replayed {
        compiler = compiler.compacting();
    }
    let mut buf = vec![BLANK_GATE; window_gates];
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

    /// [`Plan::compile`] with another window size (in gates); both parties
    /// must use the same one (see [`DEFAULT_WINDOW_GATES`]).
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
        let windows = compile_all(source, window_gates, &outputs, false)?;
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

    /// [`Plan::streaming`] with another window size (in gates); both parties
    /// must use the same one (see [`DEFAULT_WINDOW_GATES`]).
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

    /// A plan compiled window by window during the run on a helper thread,
    /// as [`Plan::streaming`], but from one backward pass over the whole
    /// circuit made now (a byte per gate): the wires are renamed as the
    /// windows are compiled so that a run's labels cover the live values plus a
    /// pool, not every wire of the circuit, and every window is
    /// hazard-free and compiled in one pass (`rename.rs`). The choice for
    /// a large circuit run once: planning overlaps the run, and the plan
    /// takes no memory per gate beyond that byte. (Should the renamed
    /// space not fit a run's label file, the windows are compiled as for
    /// [`Plan::compile`], XOR chains folded, with a bit per gate of
    /// liveness instead.)
    pub fn pipelined(source: &'s dyn GateSource) -> Result<Plan<'s>, PlanError> {
        Plan::pipelined_with_window(source, DEFAULT_WINDOW_GATES)
    }

    /// [`Plan::pipelined`] with another window size (in gates); both parties
    /// must use the same one (see [`DEFAULT_WINDOW_GATES`]).
    pub fn pipelined_with_window(
        source: &'s dyn GateSource,
        window_gates: usize,
    ) -> Result<Plan<'s>, PlanError> {
        // As for compiled plans: no window larger than the circuit (the
        // same cut, so the same tables as `Plan::compile`).
        let window_gates = window_gates.min(usize::try_from(source.num_gates()).unwrap_or(usize::MAX).max(1));
        check_shape(source, window_gates)?;
        let facts = RenameFacts::compute(source, window_gates)?;
        let and_count = facts.and_count();
        // Renamed even where it does not save labels (a compiled program
        // whose wires are already reused): renamed windows are hazard-free
        // and compile in one pass. Otherwise the window compiler folds XOR
        // chains, with the liveness of the whole circuit.
        let fits = u64::from(facts.num_wires()) + 2 + window_gates as u64 <= MAX_LABELS;
        let (rename, escapes) = if fits {
            (Some(facts), None)
        } else {
            let live_after: Vec<u32> = source.output_wires().iter().map(|w| w.get()).collect();
            (None, Escapes::compute(source, window_gates, &live_after))
        };
        let (num_wires, outputs) = match &rename {
            Some(f) => (f.num_wires(), f.outputs().to_vec()),
            None => (source.num_wires(), source.output_wires()),
        };
        Ok(Plan {
            num_wires,
            input_bits: source.input_bits(),
            outputs,
            window_gates,
            and_count: Some(and_count),
            kind: Kind::Pipelined { source, escapes, rename },
        })
    }

    /// A compiled plan of a circuit this plan may take, made without ever
    /// holding the circuit and its plan at once: the wires are renamed in
    /// place (no per-wire map for a circuit whose gate `i` writes the
    /// `i`-th wire after the inputs, as a Bristol file does), then the
    /// hazard-free windows are compiled in one pass each, from the last,
    /// each window's gates freed as its schedule is made. All of it before
    /// the run: the run only garbles. Memory: the gates and a byte per
    /// gate while renaming, then never more than the gates; the run's
    /// labels cover the live values and a pool. The same tables as
    /// [`Plan::compile`] and [`Plan::pipelined`].
    pub fn renamed(circuit: Circuit) -> Result<Plan<'static>, PlanError> {
        Plan::renamed_with_window(circuit, DEFAULT_WINDOW_GATES)
    }

    /// [`Plan::renamed`] with another window size (in gates); both parties
    /// must use the same one (see [`DEFAULT_WINDOW_GATES`]).
    pub fn renamed_with_window(circuit: Circuit, window_gates: usize) -> Result<Plan<'static>, PlanError> {
        let window_gates = window_gates.min(circuit.gates().len().max(1));
        check_shape(&circuit, window_gates)?;
        let facts = RenameFacts::compute(&circuit, window_gates)?;
        if u64::from(facts.num_wires()) + 2 + window_gates as u64 > MAX_LABELS {
            return Err(PlanError::TooManyWires { num_wires: facts.num_wires(), window_gates });
        }
        let (original_wires, input_bits) = (circuit.num_wires(), circuit.input_bits());
        let mut gates = circuit.into_gates();
        rename_all(&facts, original_wires, &mut gates)?;
        // Windows compiled now, before any peer waits, from the last to
        // the first, the gates given back as their windows are made: the
        // schedule (12 bytes per gate) replaces the gates (16) rather than
        // adding to them.
        let num_wires = facts.num_wires();
        let mut compiler = WindowCompiler::new(num_wires, window_gates);
        let count = gates.len().div_ceil(window_gates);
        let mut windows = Vec::with_capacity(count);
        for k in (0..count).rev() {
            let start = k * window_gates;
            let mut w = Window::default();
            compiler.compile_renamed(start as u64, &gates[start..], &mut w)?;
            windows.push(w);
            gates.truncate(start);
            gates.shrink_to_fit();
        }
        windows.reverse();
        Ok(Plan {
            num_wires,
            input_bits,
            outputs: facts.outputs().to_vec(),
            window_gates,
            and_count: Some(facts.and_count()),
            kind: Kind::Compiled(windows),
        })
    }

    /// [`Plan::renamed`] of any source, read window by window and never
    /// held. A sequential source (gate `i` writes wire `first_free + i`,
    /// as in every Bristol file) whose gates read no value written more
    /// than about 2^18 gates before them is read once, in order, its last
    /// reads found a few windows ahead of the renaming (`lookahead.rs`);
    /// past four windows it is read, renamed and compiled on three
    /// threads. Any other source (or one that breaks those assumptions
    /// part way) is planned in two passes: a backward pass from its last
    /// window to its first, then each window read again in order, renamed
    /// and compiled (past four windows, read and renamed on a helper
    /// thread while this one compiles). For a circuit in a file
    /// ([`garblet_circuits::GateFile`]) memory is the schedule (12 bytes a
    /// gate), plus a byte a gate in two passes, never the gate list (16
    /// bytes a gate of fresh memory). The same tables as
    /// [`Plan::renamed`] either way. A source that ends before its gate
    /// count is a [`PlanError::SourceEnded`].
    pub fn renamed_from_source(source: &dyn GateSource) -> Result<Plan<'static>, PlanError> {
        Plan::renamed_from_source_with_window(source, DEFAULT_WINDOW_GATES)
    }

    /// [`Plan::renamed_from_source`] with another window size (in gates); both parties
    /// must use the same one (see [`DEFAULT_WINDOW_GATES`]).
    pub fn renamed_from_source_with_window(
        source: &dyn GateSource,
        window_gates: usize,
    ) -> Result<Plan<'static>, PlanError> {
        Plan::renamed_from_source_looking_ahead(source, window_gates, lookahead::LOOKAHEAD_GATES)
    }

    /// [`Plan::renamed_from_source_with_window`], reading a sequential
    /// source once with a lookahead of `lookahead` gates when it can (see
    /// `lookahead.rs`), else in two passes.
    fn renamed_from_source_looking_ahead(
        source: &dyn GateSource,
        window_gates: usize,
        lookahead: u64,
    ) -> Result<Plan<'static>, PlanError> {
        let total = source.num_gates();
        let window_gates = window_gates.min(usize::try_from(total).unwrap_or(usize::MAX).max(1));
        check_shape(source, window_gates)?;
        let windows = total.div_ceil(window_gates as u64);
        if let Some(reach) = lookahead::reach(window_gates, lookahead) {
            let facts = RenameFacts::ahead(source, window_gates, reach)?;
            if u64::from(facts.num_wires()) + 2 + window_gates as u64 <= MAX_LABELS {
                let (compiled, and_count) =
                    compile_produced(facts.num_wires(), window_gates, windows, |sink| {
                        lookahead::read_renamed(source, &facts, window_gates, sink)
                    })?;
                if let Some(and_count) = and_count {
                    return Ok(Plan {
                        num_wires: facts.num_wires(),
                        input_bits: source.input_bits(),
                        outputs: facts.outputs().to_vec(),
                        window_gates,
                        and_count: Some(and_count),
                        kind: Kind::Compiled(compiled),
                    });
                }
            }
        }
        let facts = RenameFacts::compute(source, window_gates)?;
        let num_wires = facts.num_wires();
        if u64::from(num_wires) + 2 + window_gates as u64 > MAX_LABELS {
            return Err(PlanError::TooManyWires { num_wires, window_gates });
        }
        let (compiled, ()) = compile_produced(num_wires, window_gates, windows, |sink| {
            read_renamed(source, &facts, window_gates, sink)
        })?;
        Ok(Plan {
            num_wires,
            input_bits: source.input_bits(),
            outputs: facts.outputs().to_vec(),
            window_gates,
            and_count: Some(facts.and_count()),
            kind: Kind::Compiled(compiled),
        })
    }

    /// The plan of a [`LoopedCircuit`] (loops the compiler did not
    /// unroll): per loop, the gates before it and its body are each
    /// compiled once (the body with its records read from scratch wires
    /// after the circuit's own, its state live across runs), and the body
    /// is replayed `iterations` times, each run after a window of free
    /// copies that brings that run's records to the scratch wires; the
    /// epilogue is compiled once. The loops run one after the other, so
    /// they share the scratch wires. Memory: the parts' schedules (about
    /// 20 bytes per stored gate) and the wire space; planning time: the
    /// stored gates, not the expanded loops.
    pub fn looped(source: &LoopedCircuit) -> Result<Plan<'static>, PlanError> {
        Plan::looped_with_window(source, DEFAULT_WINDOW_GATES)
    }

    /// [`Plan::looped`] with another window size (in gates); both parties
    /// must use the same one (see [`DEFAULT_WINDOW_GATES`]).
    pub fn looped_with_window(
        source: &LoopedCircuit,
        window_gates: usize,
    ) -> Result<Plan<'static>, PlanError> {
        // Each loop's windows' scratch wires, one after the other past the
        // circuit's.
        let scratch = source.num_wires();
        let mut copies = Vec::with_capacity(source.loops().len());
        let mut end = u64::from(scratch);
        for l in source.loops() {
            let mut copy = Vec::with_capacity(l.windows().len());
            let mut to = u64::from(scratch);
            for &(from, stride) in l.windows() {
                copy.push(RecordCopy { from, to: to as u32, stride });
                to += u64::from(stride);
            }
            end = end.max(to);
            copies.push(copy);
        }
        let num_wires =
            u32::try_from(end).map_err(|_| PlanError::TooManyWires { num_wires: u32::MAX, window_gates })?;
        let stride = (end - u64::from(scratch)) as u32;
        let outputs: Vec<WireId> = source.outputs().iter().flat_map(|o| o.wires.iter().copied()).collect();
        // Each part is a gate list run once, over the circuit's wires.
        let part = |gates: Vec<Gate>| {
            Repeated::from_gates(num_wires, source.input_bits(), outputs.clone(), gates, 1)
        };
        let mut parts = Vec::with_capacity(source.loops().len());
        for (l, copy) in source.loops().iter().zip(&copies) {
            let body: Vec<Gate> = l
                .body()
                .iter()
                .map(|g| {
                    let mv = |w: WireId| {
                        let c = copy.iter().find(|c| w.get().wrapping_sub(c.from) < c.stride);
                        c.map_or(w, |c| WireId::new(c.to + (w.get() - c.from)))
                    };
                    Gate { a: mv(g.a), b: mv(g.b), out: g.out, kind: g.kind }
                })
                .collect();
            parts.push((part(l.before().to_vec())?, part(body)?));
        }
        let epilogue = part(source.epilogue().to_vec())?;
        let longest = parts.iter().map(|(before, body)| before.body().len().max(body.body().len())).max();
        let window_gates =
            window_gates.min(longest.unwrap_or(0).max(epilogue.body().len()).max(stride as usize).max(1));
        for (_, body) in &parts {
            check_shape(body, window_gates)?;
        }
        let windows = |part: &Repeated, live_after: &mut Vec<u32>| -> Result<Vec<Window>, PlanError> {
            live_after.sort_unstable();
            live_after.dedup();
            if part.body().is_empty() {
                return Ok(Vec::new());
            }
            compile_all(part, window_gates, live_after, true)
        };
        // Needed after a part: the outputs, and what a later part reads
        // before writing it (a body's state and invariants, what a later
        // loop or the epilogue reads); built from the end.
        let mut live: Vec<u32> = outputs.iter().map(|w| w.get()).collect();
        let epilogue_windows = windows(&epilogue, &mut live)?;
        read_before_written(epilogue.body(), num_wires, &mut live);
        let mut loops = Vec::with_capacity(parts.len());
        for ((before, body), (l, copy)) in parts.iter().zip(source.loops().iter().zip(copies)).rev() {
            read_before_written(body.body(), num_wires, &mut live);
            let body_windows = windows(body, &mut live)?;
            let before_windows = windows(before, &mut live)?;
            read_before_written(before.body(), num_wires, &mut live);
            let iterations = if body_windows.is_empty() { 0 } else { l.iterations() };
            loops.push(LoopPlan { before: before_windows, body: body_windows, copy, iterations });
        }
        loops.reverse();
        let ands = |w: &[Window]| w.iter().map(|w| w.ands as u64).sum::<u64>();
        // Saturating, as for `Plan::repeated`.
        let and_count = loops.iter().fold(ands(&epilogue_windows), |n, l| {
            n.saturating_add(ands(&l.before)).saturating_add(ands(&l.body).saturating_mul(l.iterations))
        });
        Ok(Plan {
            num_wires,
            input_bits: source.input_bits(),
            outputs,
            window_gates,
            and_count: Some(and_count),
            kind: Kind::Looped { loops, epilogue: epilogue_windows },
        })
    }

    /// The plan of a [`Repeated`] circuit: as many copies of the body as fill
    /// a window are compiled once (so that independent copies share
    /// batches), and that schedule is replayed.
    pub fn repeated(source: &Repeated) -> Result<Plan<'static>, PlanError> {
        Plan::repeated_with_window(source, DEFAULT_WINDOW_GATES)
    }

    /// [`Plan::repeated`] with another window size (in gates); both parties
    /// must use the same one (see [`DEFAULT_WINDOW_GATES`]).
    pub fn repeated_with_window(source: &Repeated, window_gates: usize) -> Result<Plan<'static>, PlanError> {
        check_shape(source, window_gates)?;
        let body_len = source.body().len().max(1);
        // After a run of copies: the outputs, and what the next copy reads
        // before writing it.
        let mut live_after: Vec<u32> = source.output_wires().iter().map(|w| w.get()).collect();
        read_before_written(source.body(), source.num_wires(), &mut live_after);
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
            compile_all(&r, window_gates, &live_after, true)
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
            Kind::Streaming(source) => self.run_ahead(*source, Compile::Plain(None), f),
            Kind::Pipelined { source, rename: Some(facts), .. } => {
                self.run_ahead(*source, Compile::Renaming(facts), f)
            }
            Kind::Pipelined { source, escapes, rename: None } => {
                self.run_ahead(*source, Compile::Plain(escapes.as_ref()), f)
            }
            Kind::Looped { loops, epilogue } => {
                // The copy window: free ops `to + j ← from + run·stride + j
                // ⊕ zero` per window (byte offsets; the zero label sits
                // after the slots, see `Op4`).
                let zero = (self.num_wires + 1 + self.window_gates as u32) << 4;
                let mut copies = Window::default();
                for l in loops {
                    l.before.iter().try_for_each(&mut f)?;
                    let n: u32 = l.copy.iter().map(|c| c.stride).sum();
                    copies.segments.clear();
                    copies.segments.push(Segment { start: 0, end: n, and: false, wide: false, low: 0 });
                    for run in 0..l.iterations {
                        copies.free.clear();
                        for c in &l.copy {
                            // In range: every window lies inside one input
                            // for every run (checked by `LoopedCircuit`).
                            let first = c.from + (run as u32) * c.stride;
                            copies.free.extend((0..c.stride).map(|j| Op {
                                a: (first + j) << 4,
                                b: zero,
                                out: (c.to + j) << 4,
                            }));
                        }
                        f(&copies)?;
                        l.body.iter().try_for_each(&mut f)?;
                    }
                }
                epilogue.iter().try_for_each(f)
            }
        }
    }

    /// Runs `f` on the windows of `source` compiled on a helper thread (at
    /// most WINDOWS_AHEAD queued), so that on a machine with a spare core
    /// scheduling overlaps garbling. Windows are recycled.
    fn run_ahead<E: From<PlanError>>(
        &self,
        source: &dyn GateSource,
        how: Compile<'_>,
        mut f: impl FnMut(&Window) -> Result<(), E>,
    ) -> Result<(), E> {
        let (ready_tx, ready_rx) = sync_channel::<Result<Window, PlanError>>(WINDOWS_AHEAD);
        let (spent_tx, spent_rx) = channel::<Window>();
        let (num_wires, window_gates) = (self.num_wires, self.window_gates);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut compiler = WindowCompiler::new(num_wires, window_gates);
                let mut renamer = match how {
                    Compile::Renaming(facts) => Some(Renamer::new(facts, source.num_wires())),
                    _ => None,
                };
                let mut buf = vec![BLANK_GATE; window_gates];
                let mut pos = 0u64;
                loop {
                    let n = source.read_gates(pos, &mut buf);
                    if n == 0 {
                        return;
                    }
                    let mut w = spent_rx.try_recv().unwrap_or_default();
                    let compiled = match (how, renamer.as_mut()) {
                        (_, Some(r)) => r
                            .rename(pos, &mut buf[..n])
                            .and_then(|()| compiler.compile_renamed(pos, &buf[..n], &mut w)),
                        (Compile::Plain(escapes), None) => compiler.compile(pos, &buf[..n], escapes, &mut w),
                        // A renamer exists whenever `how` is `Renaming`.
                        (Compile::Renaming(_), None) => compiler.compile(pos, &buf[..n], None, &mut w),
                    }
                    .map(|()| w);
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

/// Reads `source` window by window (`window_gates` gates), renames each
/// window and hands it to `sink` as `(first gate, buffer, gates in it)`;
/// `sink` returns a buffer for the next window (resized here if short), or
/// `None` to stop. Errors: the source ending early, or a renaming error.
fn read_renamed(
    source: &dyn GateSource,
    facts: &RenameFacts,
    window_gates: usize,
    sink: &mut dyn FnMut(u64, Vec<Gate>, usize) -> Option<Vec<Gate>>,
) -> Result<(), PlanError> {
    let total = source.num_gates();
    let mut renamer = Renamer::new(facts, source.num_wires());
    let mut buf = Vec::new();
    let mut pos = 0u64;
    while pos < total {
        if buf.len() < window_gates {
            buf.resize(window_gates, BLANK_GATE);
        }
        let n = source.read_gates(pos, &mut buf);
        if n == 0 {
            return Err(PlanError::SourceEnded { at: pos, num_gates: total });
        }
        renamer.rename(pos, &mut buf[..n])?;
        match sink(pos, buf, n) {
            Some(next) => buf = next,
            None => return Ok(()),
        }
        pos += n as u64;
    }
    Ok(())
}

/// The windows `produce` hands its sink (each window's first gate's
/// index, a buffer and how many of its gates are the window's), renamed,
/// compiled in order. Past [`RENAME_ALONE_WINDOWS`] windows, `produce`
/// runs on a helper thread while this one compiles (the renamer's state
/// runs from window to window, the compiler's does not), at most
/// [`RENAMED_AHEAD`] windows apart, their buffers recycled. The sink gives
/// a buffer back, or `None` once the compiler has stopped on an error,
/// which comes first; then `produce`'s own.
fn compile_produced<T: Send>(
    num_wires: u32,
    window_gates: usize,
    windows: u64,
    produce: impl FnOnce(&mut dyn FnMut(u64, Vec<Gate>, usize) -> Option<Vec<Gate>>) -> Result<T, PlanError>
        + Send,
) -> Result<(Vec<Window>, T), PlanError> {
    let mut compiler = WindowCompiler::new(num_wires, window_gates);
    let mut compiled = Vec::with_capacity(usize::try_from(windows).unwrap_or(0));
    let mut compile = |pos: u64, gates: &[Gate]| -> Result<(), PlanError> {
        let mut w = Window::default();
        compiler.compile_renamed(pos, gates, &mut w)?;
        compiled.push(w);
        Ok(())
    };
    let produced = if windows <= RENAME_ALONE_WINDOWS {
        let mut result = Ok(());
        let produced = produce(&mut |pos, buf, n| {
            result = compile(pos, &buf[..n]);
            result.is_ok().then_some(buf)
        });
        result?;
        produced?
    } else {
        let (ready_tx, ready_rx) = sync_channel::<(u64, Vec<Gate>, usize)>(RENAMED_AHEAD);
        let (spent_tx, spent_rx) = channel::<Vec<Gate>>();
        std::thread::scope(|scope| {
            let producing = scope.spawn(move || {
                produce(&mut |pos, buf, n| {
                    // A closed channel: the compiler stopped on an error.
                    ready_tx.send((pos, buf, n)).ok()?;
                    Some(spent_rx.try_recv().unwrap_or_default())
                })
            });
            let result = ready_rx.iter().try_for_each(|(pos, buf, n)| {
                compile(pos, &buf[..n])?;
                // The helper may have finished: then the buffer goes.
                let _ = spent_tx.send(buf);
                Ok(())
            });
            // Dropping the receiver stops a helper still sending.
            drop(ready_rx);
            let produced = producing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // The first error in the source's order: a renaming error
            // comes from a window the compiler had not reached.
            result.and(produced)
        })?
    };
    Ok((compiled, produced))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::garble::ops::Op4;
    use garblet_circuits::{Circuit, InputSpec, Output, Party, Visibility};

    fn w(i: u32) -> WireId {
        WireId::new(i)
    }

    /// A source of raw gates over `num_wires` wires (no validation beyond
    /// the plan's own).
    fn source(num_wires: u32, gates: Vec<Gate>, outputs: Vec<u32>) -> Repeated {
        Repeated::from_gates(num_wires, 4, outputs.into_iter().map(WireId::new).collect(), gates, 1).unwrap()
    }

    /// A value used up inside its window gives its label back (`compact.rs`):
    /// a chain of 3,000 gates, each reading the one before, writes two
    /// labels of the pool in turn, not 3,000; the output, needed after the
    /// window, is still written to its wire; and a value nobody reads takes
    /// a label only for its own op.
    #[test]
    fn a_window_reuses_the_labels_of_values_it_has_used_up() {
        let n = 3000u32;
        let gates: Vec<Gate> = (0..n)
            .map(|i| {
                let prev = if i == 0 { w(2) } else { w(6 + i - 1) };
                if i % 2 == 0 {
                    Gate::and(prev, w(3 + i % 3), w(6 + i))
                } else {
                    Gate::xor(prev, w(3 + i % 3), w(6 + i))
                }
            })
            .collect();
        let last = 6 + n - 1;
        let src = source(6 + n, gates, vec![last]);
        let windows = compile_all(&src, 4096, &[last], true).unwrap();
        let win = &windows[0];
        let mut written: Vec<u32> = win.ops.iter().map(|o| o.out).collect();
        written.extend(win.free.iter().map(|o| o.out >> 4));
        written.extend(win.ops4.iter().map(|o| o.out >> 4));
        assert!(written.contains(&last), "the output is written to its wire");
        written.sort_unstable();
        written.dedup();
        assert!(written.len() <= 3, "labels written: {}", written.len());
        // Without liveness nothing moves: every gate writes its own wire.
        let mut plain = Window::default();
        WindowCompiler::new(6 + n, 4096).compile(0, src.body(), None, &mut plain).unwrap();
        let mut own: Vec<u32> =
            plain.ops.iter().map(|o| o.out).chain(plain.free.iter().map(|o| o.out >> 4)).collect();
        own.sort_unstable();
        own.dedup();
        assert_eq!(own.len(), n as usize);
    }

    #[test]
    fn single_reader_xor_chains_are_folded() {
        // Inputs 2..6; t7 = x2 ^ x3; t8 = !t7; t9 = t8 ^ x4 (output), read by
        // nobody else: one op of four inputs, x2 ^ x3 ^ Δ ^ x4.
        let gates = vec![Gate::xor(w(2), w(3), w(7)), Gate::inv(w(7), w(8)), Gate::xor(w(8), w(4), w(9))];
        let src = source(10, gates, vec![9]);
        let windows = compile_all(&src, 64, &[9], false).unwrap();
        let win = &windows[0];
        // (Byte offsets: label index × 16.)
        assert_eq!(win.ops4, vec![Op4 { ins: [2 << 4, 3 << 4, 10 << 4, 4 << 4], out: 9 << 4 }]);
        assert!(win.segments.iter().all(|s| s.wide), "{:?}", win.segments);
        // Without liveness (a streaming plan) nothing is folded.
        let mut comp = WindowCompiler::new(10, 64);
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
        let windows = compile_all(&src, 64, &[8, 9, 10, 11], false).unwrap();
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
        let windows = compile_all(&src, 64, &[2, 7], false).unwrap();
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
        let mut comp = WindowCompiler::new(12, 64);
        let mut win = Window::default();
        comp.compile(0, &gates, None, &mut win).unwrap();
        let and_sizes: Vec<u32> = win.segments.iter().filter(|s| s.and).map(|s| s.end - s.start).collect();
        assert_eq!(and_sizes, vec![3, 1, 1]);
        assert_eq!(win.ands, 5);
        let plan = Plan::compile(&c).unwrap();
        assert_eq!(plan.and_count(), Some(5));
    }

    /// A chain of `len` gates over two input bits whose reads after the
    /// first `honest` ones (the backward pass's) come up short from gate
    /// `cut` on (`short`), or give gate `cut` a wire out of range.
    struct Flaky {
        gates: Vec<Gate>,
        honest: usize,
        reads: std::sync::atomic::AtomicUsize,
        cut: u64,
        short: bool,
    }

    impl GateSource for Flaky {
        fn num_wires(&self) -> u32 {
            4 + self.gates.len() as u32
        }
        fn input_bits(&self) -> u64 {
            2
        }
        fn output_wires(&self) -> Vec<WireId> {
            vec![w(3 + self.gates.len() as u32)]
        }
        fn num_gates(&self) -> u64 {
            self.gates.len() as u64
        }
        fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
            let late = self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= self.honest;
            if late && self.short && start >= self.cut {
                return 0;
            }
            let rest = &self.gates[start as usize..];
            let n = rest.len().min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            if late && !self.short && (start..start + n as u64).contains(&self.cut) {
                out[(self.cut - start) as usize].a = w(self.num_wires() + 5);
            }
            n
        }
    }

    /// A sequential source within the lookahead is planned in one pass
    /// (its renamed space is the bound `RenameFacts::ahead` gives, not the
    /// backward pass's), with the same ops as in two (it has no INV,
    /// whose op names Δ's label, after each plan's own wires); one that
    /// reads further back is planned in two.
    #[test]
    fn a_sequential_source_is_planned_in_one_pass_with_the_ops_of_two() {
        // Gate i reads gates i - 1 and i - 40 (or the inputs).
        let gates: Vec<Gate> = (0..2000u32)
            .map(|i| {
                let back = |k: u32| if i >= k { w(4 + i - k) } else { w(2 + k % 2) };
                if i % 3 == 0 {
                    Gate::xor(back(1), back(40), w(4 + i))
                } else {
                    Gate::and(back(1), back(40), w(4 + i))
                }
            })
            .collect();
        let source =
            Flaky { gates, honest: usize::MAX, reads: Default::default(), cut: u64::MAX, short: false };
        let ops = |plan: &Plan<'_>| -> Vec<(Vec<Op>, Vec<Op>)> {
            let Kind::Compiled(windows) = &plan.kind else { panic!("a compiled plan") };
            windows.iter().map(|w| (w.ops.clone(), w.free.clone())).collect()
        };
        for window in [16usize, 64] {
            let two = Plan::renamed_from_source_looking_ahead(&source, window, 0).unwrap();
            assert_eq!(two.num_wires(), RenameFacts::compute(&source, window).unwrap().num_wires());
            for (lookahead, one_pass) in [(40, true), (window as u64 * 3, true), (32, window == 64)] {
                let plan = Plan::renamed_from_source_looking_ahead(&source, window, lookahead).unwrap();
                let ahead = lookahead::reach(window, lookahead)
                    .map(|reach| RenameFacts::ahead(&source, window, reach).unwrap().num_wires());
                let case = format!("window {window}, lookahead {lookahead}");
                assert_eq!(plan.num_wires() == ahead.unwrap(), one_pass, "{case}");
                assert_eq!(ops(&plan), ops(&two), "{case}");
                assert_eq!(plan.and_count(), two.and_count());
            }
        }
    }

    /// Planning from a source renames on one thread and compiles on
    /// another: an error on either side is the plan's, and the first in
    /// the source's order. In two passes, the forward pass meets the
    /// source's change (the backward pass reads each window once first);
    /// in one, the pass meets it, hands the source back, and the two
    /// passes that then plan it name the error.
    #[test]
    fn renamed_plans_from_a_source_report_errors_from_both_stages() {
        let chain = |len: u32| -> Vec<Gate> {
            (0..len).map(|i| Gate::and(w(if i == 0 { 2 } else { 3 + i }), w(3), w(4 + i))).collect()
        };
        // 10 windows: the two stages on two threads; 3: on one.
        for (window, windows, cuts) in [(16, 10, [0, 64, 144]), (64, 3, [0, 64, 128])] {
            for (lookahead, honest) in [(0, windows), (lookahead::LOOKAHEAD_GATES, 0)] {
                let flaky = |cut: u64, short: bool| Flaky {
                    gates: chain(160),
                    honest,
                    reads: Default::default(),
                    cut,
                    short,
                };
                let plan =
                    |source: &Flaky| Plan::renamed_from_source_looking_ahead(source, window, lookahead);
                let ok = plan(&flaky(u64::MAX, true)).unwrap();
                assert_eq!(ok.and_count(), Some(160));
                for cut in cuts {
                    assert_eq!(
                        plan(&flaky(cut, true)).err(),
                        Some(PlanError::SourceEnded { at: cut, num_gates: 160 }),
                        "window {window}, lookahead {lookahead}, cut at {cut}"
                    );
                    let bad = plan(&flaky(cut + 3, false)).err();
                    assert!(
                        matches!(bad, Some(PlanError::WireOutOfRange { gate, .. }) if gate == cut + 3),
                        "window {window}, lookahead {lookahead}, gate {}: {bad:?}",
                        cut + 3
                    );
                }
            }
        }
    }
}
