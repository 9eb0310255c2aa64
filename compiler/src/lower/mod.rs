//! Stage 4, lowering: a [`Checked`] program → gates on a
//! [`garblet_circuits::Builder`].
//!
//! Lowering is a symbolic execution of `main` in which every value is a
//! vector of wires (flattened as in [`crate::types`]). What is known at
//! compile time is simply a value whose wires are the constants: the builder
//! folds constants, so loop variables, `const` items and arithmetic on them
//! cost nothing, `if` on a constant condition lowers only the branch taken,
//! and an index known at compile time selects directly. Loops are unrolled
//! (bounds must be constants), except a loop over an input array, which
//! may stream (`stream.rs`), and functions inlined at each call (the
//! checker has ruled out recursion).
//!
//! This stage walks the typed syntax; the arithmetic is the builder's
//! (`garblet_circuits::gadgets`), which never sees the syntax. The files:
//!
//! - `mod.rs` — the entry point [`lower`], the lowering state (frames,
//!   scopes, the step and gate limits).
//! - `value.rs` — what a value is during lowering, and arithmetic on
//!   compile-time constants.
//! - `fixed.rs` — fixed-point `*`, `/` and `as` (the other fixed-point
//!   operations are the integer ones on the bits).
//! - `linear.rs` — lazy sums: `+`, `-`, `*`, `count_ones` build a linear
//!   form added up once, by one column compression, when something reads it.
//! - `stmt.rs` — blocks, `let`, assignment, unrolled `for`.
//! - `stream.rs` — a `for` loop over an input array compiled once, as the
//!   body of a [`garblet_circuits::LoopedCircuit`], instead of unrolled.
//! - `expr.rs` — expressions, operators, calls and built-ins.
//! - `place.rs` — places and secret indices (multiplexer trees, one-hot
//!   writes).
//! - `intmethods.rs` — `saturating_*`, `checked_*`, `leading_zeros`,
//!   `rotate_left`, … with Rust's results.
//! - `matching.rs` — enum values and `match` (arms as a chain of `if`s).
//! - `control.rs` — secret `if` (merging two branches' states), `return`
//!   under a secret condition, and `break`/`continue` (a loop's exit flags
//!   and the statements they guard).
//! - `lines.rs` — which source line each AND gate is charged to.

mod control;
mod expr;
mod fixed;
mod intmethods;
mod linear;
mod lines;
mod matching;
mod place;
mod stmt;
mod stream;
mod value;

use crate::ast::*;
use crate::check::Checked;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::limits::{MAX_GATES, MAX_STEPS};
use crate::types::Type;
use crate::StreamLoops;
use control::{Comparison, LoopFlags};
use garblet_circuits::{Bits, Builder, Circuit, LoopSpan, LoopedCircuit, WireId};
use lines::line_costs;
use std::collections::HashMap;
use value::{slice, Val};

/// What lowering produces: the (unoptimised) circuit, the AND gates each
/// source line's expressions emitted that the outputs depend on, and the
/// cohort rule of the result.
pub(crate) struct Lowered {
    /// The circuit, straight from the builder (for a program whose loop
    /// streams, only its interface: see [`garblet_circuits::LoopedCircuit::interface`]).
    pub circuit: Circuit,
    /// The looped circuit of a program whose loop streams, optimised.
    pub looped: Option<LoopedCircuit>,
    /// `(line, ANDs)`, sorted by line, lines without ANDs left out.
    pub line_costs: Vec<(u32, u64)>,
    /// The smallest `K` of the `cohort` guards the result's bits come out
    /// of, when every bit that is not a constant does ([`cohort_rule`]).
    pub cohort: Option<u128>,
}

/// Lowers a checked program into a circuit with one input per parameter of
/// `main` and one output `"result"`.
pub(crate) fn lower<'a>(
    checked: &'a Checked,
    source: &'a str,
    stream_mode: StreamLoops,
) -> Result<Lowered, Diagnostics> {
    let program = &checked.program;
    // Memory stays bounded even where gates pile up between two checks of
    // the count ([`Lowerer::tick`]): a long lazy sum is added up at once
    // when it is read.
    let mut builder = Builder::new();
    builder.set_gate_limit(MAX_GATES + 1);
    let mut l = Lowerer {
        b: builder,
        fns: program.fns.iter().map(|f| (f.name.as_str(), f)).collect(),
        consts: program.consts.iter().map(|c| (c.name.as_str(), c)).collect(),
        const_cache: HashMap::new(),
        frames: vec![Frame::default()],
        errors: Diagnostics::new(),
        line_starts: std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect(),
        source,
        sum_refused: None,
        exhausted_line: None,
        segments: vec![(0, 0)],
        line: 0,
        steps: 0,
        depth: 0,
        comparisons: HashMap::new(),
        guarded: HashMap::new(),
        stream_mode,
        loop_depth: 0,
        stream_depth: 0,
        nested_stream: false,
        index_used: false,
        breaks: Vec::new(),
        guard_depth: 0,
        muxes: HashMap::new(),
        looped: Vec::new(),
        stream_index: None,
    };
    let main = &program.fns[checked.main];
    let mut frame = Frame::default();
    for p in &checked.params {
        let bits = match l.b.input(p.name.clone(), p.party, p.ty.width()) {
            Ok(bits) => bits,
            Err(e) => return Err(Diagnostics::single(Diagnostic::new(main.span, e.to_string()))),
        };
        frame.names.push(p.name.clone());
        frame.vals.push(Val::bits(bits));
    }
    l.frames = vec![frame];
    let result = match l.function_body(&main.body) {
        Ok(v) => l.bits(&v),
        Err(Fatal) => {
            return Err(l.errors);
        }
    };
    if l.sum_refused.is_some() && !l.errors.is_empty() {
        return Err(l.errors);
    }
    if l.b.gates_exhausted() {
        // Where the gates ran out: the sum being added up then, if any.
        let span = l.exhausted_line.map_or(main.span, |line| l.line_span(line));
        return Err(Diagnostics::single(
            Diagnostic::new(span, format!("the circuit grows past {MAX_GATES} gates")).with_help(
                "reduce loop bounds or array sizes (a loop that cannot stream is unrolled into the circuit)",
            ),
        ));
    }
    if !l.errors.is_empty() {
        return Err(l.errors);
    }
    let result: Bits = result.to_vec();
    let cohort = cohort_rule(&result, &l.guarded);
    if let Err(e) = l.b.output("result", checked.reveal, result) {
        return Err(Diagnostics::single(Diagnostic::new(main.span, e.to_string())));
    }
    let segments = std::mem::take(&mut l.segments);
    if !l.looped.is_empty() {
        let loops = std::mem::take(&mut l.looped);
        let windows: Vec<Vec<(&[WireId], &[WireId])>> = loops
            .iter()
            .map(|info| info.windows.iter().map(|(w, r)| (w.as_slice(), r.as_slice())).collect())
            .collect();
        let spans: Vec<LoopSpan<'_>> = loops
            .iter()
            .zip(&windows)
            .map(|(info, windows)| LoopSpan {
                body_start: info.body_start,
                body_end: info.body_end,
                windows,
                iterations: info.iterations,
            })
            .collect();
        let looped = match l.b.finish_looped(&spans) {
            Ok(c) => c,
            Err(e) => return Err(Diagnostics::single(Diagnostic::new(main.span, e.to_string()))),
        };
        let (looped, line_costs) = lines::looped_line_costs(&looped, &segments);
        return Ok(Lowered { circuit: looped.interface(), looped: Some(looped), line_costs, cohort });
    }
    let circuit = match l.b.finish() {
        Ok(c) => c,
        Err(e) => return Err(Diagnostics::single(Diagnostic::new(main.span, e.to_string()))),
    };
    let line_costs = line_costs(&circuit, &segments);
    Ok(Lowered { circuit, looped: None, line_costs, cohort })
}

/// The cohort rule of a result: the smallest `K` among the guards its bits
/// come out of, if every bit that is not a constant is a wire some
/// `cohort(count, K, value)` produced (`guarded`: wire → the largest `K`
/// of a guard that produced it); `None` if any such bit is not, or if no
/// bit is guarded at all.
///
/// Decided on wires, not on syntax: a guard's output wire computes
/// `value ∨ ¬(count ≥ K)`, so wherever that wire is read — through
/// variables, tuples, structs, function returns — it is that function,
/// and anything computed from it afterwards (`cohort(…) + b`, a merge
/// under a secret `if`) is a new wire that is not in `guarded`. Constant
/// bits reveal nothing about any input, whatever the count; a guard's
/// constant bits are its value's 1s (sentinel and value agree there), and
/// the guard never records a constant.
fn cohort_rule(result: &[WireId], guarded: &HashMap<WireId, u128>) -> Option<u128> {
    let mut least: Option<u128> = None;
    for w in result.iter().filter(|w| !w.is_const()) {
        let k = *guarded.get(w)?;
        least = Some(least.map_or(k, |m| m.min(k)));
    }
    least
}

/// Lowering stopped; the reason is in `errors`.
struct Fatal;

type LResult<T> = Result<T, Fatal>;

#[derive(Default, Clone)]
struct Frame {
    names: Vec<String>,
    vals: Vec<Val>,
    marks: Vec<usize>,
    /// Set once a `return` ran on some path (a wire: maybe secret).
    returned: Option<WireId>,
    /// The value returned (valid where `returned` is set).
    ret: Option<Val>,
    /// Every path has stopped (returned, or left the innermost loop or
    /// its iteration by `break`/`continue`): the rest of the block is
    /// skipped.
    dead: bool,
    /// The exit flags of the loops of this function being lowered around
    /// the current statement, innermost last.
    loops: Vec<LoopFlags>,
    /// The frame of a `&mut self` method: its value (returned or the
    /// body's) has the final `self` (slot 0) appended, for the caller to
    /// write back (`expr.rs::mut_self_call`).
    mut_self: bool,
}

/// What a branch changes in a frame (the names stay as they are).
struct State {
    vals: Vec<Val>,
    returned: Option<WireId>,
    ret: Option<Val>,
    dead: bool,
    loops: Vec<LoopFlags>,
}

impl Frame {
    fn state(&self) -> State {
        State {
            vals: self.vals.clone(),
            returned: self.returned,
            ret: self.ret.clone(),
            dead: self.dead,
            loops: self.loops.clone(),
        }
    }

    fn restore(&mut self, s: State) {
        self.vals = s.vals;
        self.returned = s.returned;
        self.ret = s.ret;
        self.dead = s.dead;
        self.loops = s.loops;
    }
}

struct Lowerer<'a> {
    b: Builder,
    fns: HashMap<&'a str, &'a FnDef<Type>>,
    consts: HashMap<&'a str, &'a ConstDef<Type>>,
    const_cache: HashMap<String, Val>,
    frames: Vec<Frame>,
    errors: Diagnostics,
    line_starts: Vec<usize>,
    source: &'a str,
    /// Set when a sum too large to build was refused (`linear.rs`): the
    /// number of errors before its own, so that `tick` stops the lowering
    /// while that error stands (a streamed loop's trial may drop it).
    sum_refused: Option<usize>,
    /// The line of the sum being added up when the builder ran out of
    /// gates, if one was (the error's position).
    exhausted_line: Option<u32>,
    /// `(first gate, line)`: gates from there on belong to that line.
    segments: Vec<(usize, u32)>,
    line: u32,
    steps: u64,
    depth: usize,
    comparisons: HashMap<WireId, Comparison>,
    /// The wires `cohort(count, K, value)` guards produced, each with the
    /// largest `K` of a guard that produced it (see [`cohort_rule`]).
    guarded: HashMap<WireId, u128>,
    /// Whether loops over input arrays may stream.
    stream_mode: StreamLoops,
    /// Loops being lowered around the current statement.
    loop_depth: u32,
    /// Of those, the loops being lowered as streamed bodies (`stream.rs`):
    /// a loop inside one does not stream.
    stream_depth: u32,
    /// Set when a loop that could stream is met inside a `for i in 0..n`
    /// tried as a streamed loop: that attempt stops, so that the outer loop
    /// unrolls and the inner one streams once per iteration (`stream.rs`).
    nested_stream: bool,
    /// Set when a gate read the index of a `for i in 0..n` loop tried as a
    /// streamed loop: that attempt stops (`stream.rs`).
    index_used: bool,
    /// For each loop being lowered, innermost last (across inlined
    /// calls): how many `break`s of it were lowered (a loop whose body
    /// breaks does not stream).
    breaks: Vec<u64>,
    /// Guarded stretches (`Lowerer::guarded`) being lowered around the
    /// current statement.
    guard_depth: u32,
    /// Inside a guarded stretch, the multiplexers merges emitted, bit by
    /// bit: `r → (c, t, e)` for `r = c ? t : e`, so that the stretch's own
    /// merge can fold its condition into theirs (`control.rs`); emptied
    /// when the outermost stretch ends.
    muxes: HashMap<WireId, (WireId, WireId, WireId)>,
    /// The loops that stream, in order (none, one, or several passes over
    /// records, each after the one before).
    looped: Vec<stream::LoopInfo>,
    /// While a `for i in 0..n` loop is tried as a streamed loop: how `a[i]`
    /// reads (`stream.rs`).
    stream_index: Option<stream::StreamIndex>,
}

impl Lowerer<'_> {
    fn frame(&mut self) -> &mut Frame {
        // `frames` always holds the frame of the function being lowered.
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }

    fn fatal<T>(&mut self, d: Diagnostic) -> LResult<T> {
        self.errors.push(d);
        Err(Fatal)
    }

    fn tick(&mut self, span: Span) -> LResult<()> {
        if let Some(before) = self.sum_refused {
            if self.errors.errors.len() > before {
                return Err(Fatal);
            }
            self.sum_refused = None;
        }
        self.check_index_use(span)?;
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return self.fatal(
                Diagnostic::new(span, format!("the program unrolls into more than {MAX_STEPS} steps"))
                    .with_help("reduce loop bounds or array sizes"),
            );
        }
        if self.b.gate_count() > MAX_GATES {
            return self.fatal(
                Diagnostic::new(span, format!("the circuit grows past {MAX_GATES} gates"))
                    .with_help("reduce loop bounds or array sizes"),
            );
        }
        Ok(())
    }

    fn push_scope(&mut self) {
        let f = self.frame();
        let n = f.vals.len();
        f.marks.push(n);
    }

    fn pop_scope(&mut self) {
        let f = self.frame();
        let n = f.marks.pop().unwrap_or(0);
        f.vals.truncate(n);
        f.names.truncate(n);
    }

    fn bind(&mut self, name: &str, v: Val) {
        let f = self.frame();
        f.names.push(name.to_owned());
        f.vals.push(v);
    }

    fn bind_pattern(&mut self, pat: &Pattern, ty: &Type, v: Val) {
        match pat {
            Pattern::Ident { name, .. } => self.bind(name, v),
            Pattern::Wild => {}
            Pattern::Tuple(items, _) => {
                let bits = self.bits(&v);
                for ((p, (off, t)), _) in items.iter().zip(ty.parts()).zip(0..) {
                    let part = slice(&bits, off, t.width());
                    self.bind_pattern(p, t, Val::bits(part));
                }
            }
            Pattern::Struct { fields, .. } => {
                let Type::Struct { fields: declared, .. } = ty else { return };
                let bits = self.bits(&v);
                let parts = ty.parts();
                for (field, p) in fields {
                    // The checker made sure every named field exists.
                    if let Some(k) = declared.iter().position(|(f, _)| f == field) {
                        let (off, t) = parts[k];
                        self.bind_pattern(p, t, Val::bits(slice(&bits, off, t.width())));
                    }
                }
            }
        }
    }

    fn slot(&mut self, name: &str) -> Option<usize> {
        self.frame().names.iter().rposition(|n| n == name)
    }
}
