//! Stage 4, lowering: a [`Checked`] program → gates on a
//! [`garblet_circuits::Builder`].
//!
//! Lowering is a symbolic execution of `main` in which every value is a
//! vector of wires (flattened as in [`crate::types`]). What is known at
//! compile time is simply a value whose wires are the constants: the builder
//! folds constants, so loop variables, `const` items and arithmetic on them
//! cost nothing, `if` on a constant condition lowers only the branch taken,
//! and an index known at compile time selects directly.
//!
//! - **Loops** are unrolled; bounds must be constants.
//! - **Functions** are inlined at each call (the checker has ruled out
//!   recursion). A `return` under a secret condition sets a "returned" bit;
//!   the function's value is selected by it at the end (functions are pure,
//!   so nothing else needs undoing).
//! - **Secret `if`**: both branches are lowered from the same state and every
//!   variable either branch changed is merged with a multiplexer (n ANDs for
//!   n bits; unchanged variables cost nothing).
//! - **Sums are lazy.** `+`, `-`, unary `-` and `*` build a linear form
//!   (`Lin`): a list of terms (values, negated values, products) and a
//!   constant, materialised only when something else reads it, by one
//!   carry-save column compression (a full adder per AND). So a chain of
//!   `+=` costs what one multi-operand adder costs, a product feeding a sum
//!   never goes through its own carry-propagate adder, `count += 1` under a
//!   secret `if` adds the condition bit itself (no multiplexer), and a
//!   product of sign- or zero-extended operands multiplies only their
//!   significant bits (Baugh–Wooley for signed ones).
//! - **Secret index**: a read is a multiplexer tree over the index's low
//!   k = ⌈log₂ N⌉ bits (w·Σ_{j=1..k} ⌈N/2^j⌉ ANDs, (N − 1)·w for N a power
//!   of two: a node with elements on one side only still multiplexes them
//!   with zero); a write decodes those bits once (2^k − 2 ANDs) and
//!   multiplexes each element (N·w). Positions past the end read as zero and
//!   writes to them are dropped.

use crate::ast::*;
use crate::check::Checked;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::limits::{MAX_GATES, MAX_STEPS};
use crate::types::Type;
use garblet_circuits::{Bits, Builder, Circuit, GateKind, Shift, Sign, WireId};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// What lowering produces: the (unoptimised) circuit and the AND gates each
/// source line's expressions emitted that the outputs depend on.
pub struct Lowered {
    /// The circuit, straight from the builder.
    pub circuit: Circuit,
    /// `(line, ANDs)`, sorted by line, lines without ANDs left out.
    pub line_costs: Vec<(u32, u64)>,
}

/// Lowers a checked program into a circuit with one input per parameter of
/// `main` and one output `"result"`.
pub fn lower(checked: &Checked, source: &str) -> Result<Lowered, Diagnostics> {
    let program = &checked.program;
    let mut l = Lowerer {
        b: Builder::new(),
        fns: program.fns.iter().map(|f| (f.name.as_str(), f)).collect(),
        consts: program.consts.iter().map(|c| (c.name.as_str(), c)).collect(),
        const_cache: HashMap::new(),
        frames: vec![Frame::default()],
        errors: Diagnostics::new(),
        line_starts: std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect(),
        segments: vec![(0, 0)],
        line: 0,
        steps: 0,
        depth: 0,
        comparisons: HashMap::new(),
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
    if !l.errors.is_empty() {
        return Err(l.errors);
    }
    let result: Bits = result.to_vec();
    if let Err(e) = l.b.output("result", checked.reveal, result) {
        return Err(Diagnostics::single(Diagnostic::new(main.span, e.to_string())));
    }
    let segments = std::mem::take(&mut l.segments);
    let circuit = match l.b.finish() {
        Ok(c) => c,
        Err(e) => return Err(Diagnostics::single(Diagnostic::new(main.span, e.to_string()))),
    };
    let line_costs = line_costs(&circuit, &segments);
    Ok(Lowered { circuit, line_costs })
}

/// Live AND gates per line: gate `g` belongs to the last segment starting at
/// or before it; a gate is live if an output depends on it.
fn line_costs(circuit: &Circuit, segments: &[(usize, u32)]) -> Vec<(u32, u64)> {
    let gates = circuit.gates();
    let mut live = vec![false; circuit.num_wires() as usize];
    for o in circuit.outputs() {
        for w in &o.wires {
            live[w.index()] = true;
        }
    }
    let mut per_line: HashMap<u32, u64> = HashMap::new();
    let mut seg = segments.len();
    for (i, g) in gates.iter().enumerate().rev() {
        while seg > 0 && segments[seg - 1].0 > i {
            seg -= 1;
        }
        if !live[g.out.index()] {
            continue;
        }
        live[g.a.index()] = true;
        live[g.b.index()] = true;
        if g.kind == GateKind::And {
            let line = if seg > 0 { segments[seg - 1].1 } else { 0 };
            *per_line.entry(line).or_default() += 1;
        }
    }
    let mut v: Vec<(u32, u64)> = per_line.into_iter().filter(|&(_, n)| n > 0).collect();
    v.sort_unstable();
    v
}

/// Lowering stopped; the reason is in `errors`.
struct Fatal;

type LResult<T> = Result<T, Fatal>;

// ----- values ---------------------------------------------------------------------------

/// A value during lowering.
#[derive(Clone, Debug)]
enum Val {
    /// Any type, flattened.
    Bits(Rc<Vec<WireId>>),
    /// An integer not yet added up.
    Lin(Rc<Lin>),
}

impl Val {
    fn bits(b: Bits) -> Val {
        Val::Bits(Rc::new(b))
    }

    fn same(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Bits(a), Val::Bits(b)) => Rc::ptr_eq(a, b) || a == b,
            (Val::Lin(a), Val::Lin(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// One term of a linear form.
#[derive(Clone, Debug)]
enum Term {
    /// `+x`.
    Add(Rc<Vec<WireId>>),
    /// `-x`.
    Sub(Rc<Vec<WireId>>),
    /// `±(a · b)` (true: negated), written on a source line.
    Mul(Rc<Vec<WireId>>, Rc<Vec<WireId>>, bool, u32),
    /// `±` the number of set bits of a value (`count_ones`; true: negated).
    Count(Rc<Vec<WireId>>, bool),
}

impl Term {
    fn negated(&self) -> Term {
        match self {
            Term::Add(x) => Term::Sub(x.clone()),
            Term::Sub(x) => Term::Add(x.clone()),
            Term::Mul(a, b, n, line) => Term::Mul(a.clone(), b.clone(), !n, *line),
            Term::Count(x, n) => Term::Count(x.clone(), !n),
        }
    }
}

/// A persistent list of terms (shared tails make the common part of two
/// branches' sums cheap to find).
#[derive(Clone, Debug, Default)]
struct Terms(Option<Rc<TermNode>>);

#[derive(Debug)]
struct TermNode {
    term: Term,
    next: Terms,
    len: usize,
}

impl Drop for TermNode {
    /// Unlinks the list iteratively: a long sum must not overflow the stack.
    fn drop(&mut self) {
        let mut next = self.next.0.take();
        while let Some(node) = next {
            match Rc::try_unwrap(node) {
                Ok(mut n) => next = n.next.0.take(),
                Err(_) => break,
            }
        }
    }
}

impl Terms {
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |n| n.len)
    }

    fn push(&self, term: Term) -> Terms {
        Terms(Some(Rc::new(TermNode { term, next: self.clone(), len: self.len() + 1 })))
    }

    fn ptr_eq(&self, other: &Terms) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn next(&self) -> Terms {
        self.0.as_ref().map_or_else(Terms::default, |n| n.next.clone())
    }

    fn to_vec(&self) -> Vec<Term> {
        let mut out = Vec::with_capacity(self.len());
        let mut cur = self.0.clone();
        while let Some(n) = cur {
            out.push(n.term.clone());
            cur = n.next.0.clone();
        }
        out.reverse();
        out
    }

    /// The longest common tail of two lists, and the terms before it in each.
    fn split_common(a: &Terms, b: &Terms) -> (Terms, Vec<Term>, Vec<Term>) {
        let (mut x, mut y) = (a.clone(), b.clone());
        let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
        while x.len() > y.len() {
            only_a.extend(x.0.as_ref().map(|n| n.term.clone()));
            x = x.next();
        }
        while y.len() > x.len() {
            only_b.extend(y.0.as_ref().map(|n| n.term.clone()));
            y = y.next();
        }
        while !x.ptr_eq(&y) {
            only_a.extend(x.0.as_ref().map(|n| n.term.clone()));
            only_b.extend(y.0.as_ref().map(|n| n.term.clone()));
            x = x.next();
            y = y.next();
        }
        (x, only_a, only_b)
    }
}

/// `Σ terms + constant (mod 2^width)`, with its materialised bits once built
/// and the source line the adding up is charged to.
#[derive(Debug)]
struct Lin {
    width: u32,
    terms: Terms,
    constant: u128,
    cache: RefCell<Option<Rc<Vec<WireId>>>>,
    line: u32,
}

fn mask(width: u32) -> u128 {
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

impl Lin {
    fn new(width: u32, terms: Terms, constant: u128, line: u32) -> Lin {
        Lin { width, terms, constant: constant & mask(width), cache: RefCell::new(None), line }
    }
}

/// The value of all-constant bits (unsigned).
fn const_value(bits: &[WireId]) -> Option<u128> {
    let mut v = 0u128;
    for (k, &w) in bits.iter().enumerate() {
        if !w.is_const() {
            return None;
        }
        if w == WireId::ONE {
            if k >= 128 {
                return None;
            }
            v |= 1 << k;
        }
    }
    Some(v)
}

/// The value of all-constant bits read with `signed`.
fn const_value_signed(bits: &[WireId], signed: bool) -> Option<i128> {
    let v = const_value(bits)?;
    let w = bits.len() as u32;
    if w == 0 {
        return Some(0);
    }
    if signed {
        let shift = 128 - w.min(128);
        Some(((v << shift) as i128) >> shift)
    } else {
        i128::try_from(v).ok()
    }
}

// ----- the lowering state ------------------------------------------------------------------

#[derive(Default, Clone)]
struct Frame {
    names: Vec<String>,
    vals: Vec<Val>,
    marks: Vec<usize>,
    /// Set once a `return` ran on some path (a wire: maybe secret).
    returned: Option<WireId>,
    /// The value returned (valid where `returned` is set).
    ret: Option<Val>,
    /// Every path has returned: the rest of the block is skipped.
    dead: bool,
}

/// A comparison result remembered for [`Lowerer::merge`]: the wire is
/// `lo < hi` (or its negation).
struct Comparison {
    lo: Rc<Vec<WireId>>,
    hi: Rc<Vec<WireId>>,
    sign: Sign,
    negated: bool,
}

/// What a branch changes in a frame (the names stay as they are).
struct State {
    vals: Vec<Val>,
    returned: Option<WireId>,
    ret: Option<Val>,
    dead: bool,
}

impl Frame {
    fn state(&self) -> State {
        State { vals: self.vals.clone(), returned: self.returned, ret: self.ret.clone(), dead: self.dead }
    }

    fn restore(&mut self, s: State) {
        self.vals = s.vals;
        self.returned = s.returned;
        self.ret = s.ret;
        self.dead = s.dead;
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
    /// `(first gate, line)`: gates from there on belong to that line.
    segments: Vec<(usize, u32)>,
    line: u32,
    steps: u64,
    depth: usize,
    comparisons: HashMap<WireId, Comparison>,
}

/// A projection of a place: a constant slice or a secret element choice.
enum Proj {
    Const { offset: u32, width: u32 },
    Secret { index: Bits, elem_width: u32, len: u32 },
}

impl<'a> Lowerer<'a> {
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

    fn line_of(&self, span: Span) -> u32 {
        let pos = span.start as usize;
        match self.line_starts.binary_search(&pos) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// Attributes the gates emitted from now on to `span`'s line; returns
    /// the line to go back to.
    fn enter_line(&mut self, span: Span) -> u32 {
        let line = self.line_of(span);
        let old = self.line;
        self.set_line(line);
        old
    }

    fn set_line(&mut self, line: u32) {
        if line != self.line {
            let g = self.b.gate_count();
            match self.segments.last_mut() {
                Some(last) if last.0 == g => last.1 = line,
                _ => self.segments.push((g, line)),
            }
            self.line = line;
        }
    }

    // ----- scopes -------------------------------------------------------------------------

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
            Pattern::Wild(_) => {}
            Pattern::Tuple(items, _) => {
                let bits = self.bits(&v);
                for ((p, (off, t)), _) in items.iter().zip(ty.parts()).zip(0..) {
                    let part = slice(&bits, off, t.width());
                    self.bind_pattern(p, t, Val::bits(part));
                }
            }
        }
    }

    fn slot(&mut self, name: &str) -> Option<usize> {
        self.frame().names.iter().rposition(|n| n == name)
    }

    // ----- functions, blocks, statements ------------------------------------------------------

    /// Lowers a function body in the current (fresh) frame; the function's value.
    fn function_body(&mut self, body: &Block<Type>) -> LResult<Val> {
        let v = self.block(body)?;
        let f = self.frame().state();
        Ok(match (v, f.returned, f.ret) {
            (Some(v), None, _) => v,
            (Some(v), Some(r), Some(ret)) => self.merge(r, &ret, &v),
            (Some(v), Some(_), None) => v,
            (None, _, Some(ret)) => ret,
            (None, _, None) => Val::bits(Vec::new()),
        })
    }

    /// A block's value, or `None` when every path through it returned.
    fn block(&mut self, b: &Block<Type>) -> LResult<Option<Val>> {
        self.push_scope();
        for s in &b.stmts {
            if self.frame().dead {
                break;
            }
            let old = self.enter_line(s.span);
            let r = self.stmt(s);
            self.set_line(old);
            r?;
        }
        let v = if self.frame().dead {
            None
        } else {
            match &b.tail {
                Some(t) => {
                    let old = self.enter_line(t.span);
                    let v = self.expr(t);
                    self.set_line(old);
                    let v = v?;
                    if self.frame().dead {
                        None
                    } else {
                        Some(v)
                    }
                }
                None => Some(Val::bits(Vec::new())),
            }
        };
        self.pop_scope();
        Ok(v)
    }

    fn stmt(&mut self, s: &Stmt<Type>) -> LResult<()> {
        self.tick(s.span)?;
        match &s.kind {
            StmtKind::Let { pat, init, .. } => {
                let v = self.expr(init)?;
                self.bind_pattern(pat, &init.ty, v);
            }
            StmtKind::Assign { place, op, value } => self.assign(place, *op, value)?,
            StmtKind::Expr(e) => {
                self.expr(e)?;
            }
            StmtKind::For { pat, iter, body } => self.for_loop(pat, iter, body)?,
            StmtKind::Return(e) => {
                let v = match e {
                    Some(e) => self.expr(e)?,
                    None => Val::bits(Vec::new()),
                };
                if self.frame().dead {
                    return Ok(());
                }
                let f = self.frame().state();
                let ret = match (f.returned, f.ret) {
                    (Some(r), Some(old)) => self.merge(r, &old, &v),
                    _ => v,
                };
                let f = self.frame();
                f.ret = Some(ret);
                f.returned = Some(WireId::ONE);
                f.dead = true;
            }
        }
        Ok(())
    }

    fn for_loop(&mut self, pat: &Pattern, iter: &ForIter<Type>, body: &Block<Type>) -> LResult<()> {
        // The iteration as an arithmetic progression of positions (range
        // values or array indices), with the `enumerate` counter alongside.
        let (mut first, mut step, mut count, item_ty, array) = match &iter.source {
            ForSource::Range(a, b, inclusive) => {
                let lo = self.const_int(a, "a loop bound")?;
                let hi = self.const_int(b, "a loop bound")?;
                let hi = if *inclusive { hi.saturating_add(1) } else { hi };
                (lo, 1i128, hi.saturating_sub(lo).max(0), a.ty.clone(), None)
            }
            ForSource::Array(a) => {
                let v = self.expr(a)?;
                let bits = self.bits(&v);
                let Type::Array(elem, n) = &a.ty else { return Ok(()) };
                (0, 1, i128::from(*n), (**elem).clone(), Some(bits))
            }
        };
        let mut counter: Option<(i128, i128)> = None;
        let mut ty = item_ty.clone();
        for ad in &iter.adaptors {
            match ad {
                Adaptor::Rev => {
                    first = first.saturating_add(step.saturating_mul(count - 1));
                    step = step.saturating_neg();
                    if let Some((f, s)) = counter {
                        counter = Some((f.saturating_add(s.saturating_mul(count - 1)), s.saturating_neg()));
                    }
                }
                Adaptor::StepBy(k) => {
                    let k = self.const_int(k, "a `step_by` step")?;
                    if k <= 0 {
                        return self
                            .fatal(Diagnostic::new(iter_span(iter), "`step_by` needs a step of at least 1"));
                    }
                    step = step.saturating_mul(k);
                    count = count.saturating_add(k - 1) / k;
                    if let Some((f, s)) = counter {
                        counter = Some((f, s.saturating_mul(k)));
                    }
                }
                Adaptor::Enumerate => {
                    counter = Some((0, 1));
                    ty = Type::Tuple(vec![Type::Int { signed: false, bits: 64 }, ty]);
                }
            }
        }
        let span = iter_span(iter);
        if count > i128::from(MAX_STEPS) {
            return self.fatal(
                Diagnostic::new(
                    span,
                    format!("this loop runs {count} times, more than the limit of {MAX_STEPS}"),
                )
                .with_help("loops are unrolled into the circuit: use smaller bounds"),
            );
        }
        let item_width = item_ty.width();
        let loop_start = self.b.gate_count();
        for k in 0..count {
            self.tick(body.span)?;
            let pos = first.wrapping_add(step.wrapping_mul(k));
            let mut item: Bits = match &array {
                Some(bits) => slice(bits, (pos as u32).saturating_mul(item_width), item_width),
                None => self.b.constant_bits(pos, item_width),
            };
            if let Some((f, s)) = counter {
                let mut with_index = self.b.constant_bits(f.wrapping_add(s.wrapping_mul(k)), 64);
                with_index.append(&mut item);
                item = with_index;
            }
            self.push_scope();
            self.bind_pattern(pat, &ty, Val::bits(item));
            let r = self.block(body);
            self.pop_scope();
            r?;
            if self.frame().dead {
                break;
            }
            // Project the whole loop from the iterations so far, after
            // iterations 1, 2, 4, 8, …: the first alone can be cheaper than
            // the rest (a value that starts as a constant or an input).
            if (k + 1).count_ones() == 1 {
                let per_iteration = (self.b.gate_count() - loop_start) / (k as usize + 1);
                self.check_unroll(per_iteration, count - 1 - k, span)?;
            }
        }
        Ok(())
    }

    /// Rejects a loop whose remaining iterations, at the cost of its first,
    /// would take the circuit past [`MAX_GATES`].
    fn check_unroll(&mut self, per_iteration: usize, remaining: i128, span: Span) -> LResult<()> {
        let projected =
            (per_iteration as i128).saturating_mul(remaining).saturating_add(self.b.gate_count() as i128);
        if projected > MAX_GATES as i128 {
            return self.fatal(
                Diagnostic::new(span, format!("this loop would unroll into about {projected} gates, more than the limit of {MAX_GATES}"))
                    .with_help("loops are unrolled into the circuit: use smaller bounds"),
            );
        }
        Ok(())
    }

    /// The value of a compile-time integer expression (loop bounds).
    fn const_int(&mut self, e: &Expr<Type>, what: &str) -> LResult<i128> {
        let v = self.expr(e)?;
        let bits = self.bits(&v);
        match const_value_signed(&bits, e.ty.is_signed()) {
            Some(x) => Ok(x),
            None => self.fatal(
                Diagnostic::new(e.span, format!("{what} must be known at compile time"))
                    .with_help("use literals, `const` items and loop variables of enclosing loops"),
            ),
        }
    }

    // ----- assignment --------------------------------------------------------------------------

    /// Resolves a place to its variable slot and projections.
    fn place(&mut self, e: &Expr<Type>, projs: &mut Vec<Proj>) -> LResult<Option<usize>> {
        match &e.kind {
            ExprKind::Var(name) => Ok(self.slot(name)),
            ExprKind::Index(base, index) => {
                let slot = self.place(base, projs)?;
                let Type::Array(elem, n) = &base.ty else { return Ok(None) };
                let iv = self.expr(index)?;
                let ibits = self.bits(&iv);
                let ew = elem.width();
                match const_value(&ibits) {
                    Some(k) => {
                        if k >= u128::from(*n) {
                            self.errors.push(out_of_bounds(index.span, k, *n));
                            return Err(Fatal);
                        }
                        projs.push(Proj::Const { offset: (k as u32).saturating_mul(ew), width: ew });
                    }
                    None => projs.push(Proj::Secret { index: ibits.to_vec(), elem_width: ew, len: *n }),
                }
                Ok(slot)
            }
            ExprKind::Field(base, name) => {
                let slot = self.place(base, projs)?;
                if let Type::Struct { fields, .. } = &base.ty {
                    let mut off = 0u32;
                    for (f, t) in fields {
                        if f == name {
                            projs.push(Proj::Const { offset: off, width: t.width() });
                            break;
                        }
                        off = off.saturating_add(t.width());
                    }
                }
                Ok(slot)
            }
            ExprKind::TupleField(base, k) => {
                let slot = self.place(base, projs)?;
                if let Some((off, t)) = base.ty.parts().get(*k as usize) {
                    projs.push(Proj::Const { offset: *off, width: t.width() });
                }
                Ok(slot)
            }
            _ => Ok(None),
        }
    }

    fn assign(&mut self, place: &Expr<Type>, op: Option<BinOp>, value: &Expr<Type>) -> LResult<()> {
        if let ExprKind::Tuple(items) = &place.kind {
            // `(a, b) = value`: the value first, then each part.
            let v = self.expr(value)?;
            let bits = self.bits(&v);
            return self.store_parts(items, &place.ty, &bits);
        }
        let mut projs = Vec::new();
        let slot = self.place(place, &mut projs)?;
        let Some(slot) = slot else { return Ok(()) };
        let v = self.expr(value)?;
        if self.frame().dead {
            return Ok(());
        }
        let new = match op {
            None => v,
            Some(op) => {
                let current = self.frame().vals[slot].clone();
                let old = if projs.is_empty() {
                    current
                } else {
                    let bits = self.bits(&current);
                    Val::bits(self.read_projs(&bits, &projs))
                };
                self.binary(op, &place.ty, &value.ty, old, v)?
            }
        };
        if projs.is_empty() {
            self.frame().vals[slot] = new;
        } else {
            let new_bits = self.bits(&new);
            self.write_slot(slot, &projs, &new_bits);
        }
        Ok(())
    }

    /// Writes `new` into the part of variable `slot` that `projs` selects
    /// (in place unless a saved branch state shares the value).
    fn write_slot(&mut self, slot: usize, projs: &[Proj], new: &[WireId]) {
        let current = std::mem::replace(&mut self.frame().vals[slot], Val::bits(Vec::new()));
        let mut container = self.bits(&current);
        drop(current);
        let c: &mut Vec<WireId> = Rc::make_mut(&mut container);
        self.write_projs(c, projs, new);
        self.frame().vals[slot] = Val::Bits(container);
    }

    fn store_parts(&mut self, items: &[Expr<Type>], ty: &Type, bits: &[WireId]) -> LResult<()> {
        for (it, (off, t)) in items.iter().zip(ty.parts()) {
            let part = slice(bits, off, t.width());
            if let ExprKind::Tuple(inner) = &it.kind {
                self.store_parts(inner, t, &part)?;
                continue;
            }
            let mut projs = Vec::new();
            let Some(slot) = self.place(it, &mut projs)? else { continue };
            if projs.is_empty() {
                self.frame().vals[slot] = Val::bits(part);
            } else {
                self.write_slot(slot, &projs, &part);
            }
        }
        Ok(())
    }

    fn read_projs(&mut self, bits: &[WireId], projs: &[Proj]) -> Bits {
        // Leading constant projections narrow the range without copying.
        let (mut lo, mut hi) = (0usize, bits.len());
        let mut k = 0;
        while let Some(Proj::Const { offset, width }) = projs.get(k) {
            lo = (lo + *offset as usize).min(hi);
            hi = (lo + *width as usize).min(hi);
            k += 1;
        }
        let mut cur: Bits = bits[lo..hi].to_vec();
        for p in &projs[k..] {
            cur = match p {
                Proj::Const { offset, width } => slice(&cur, *offset, *width),
                Proj::Secret { index, elem_width, len } => self.select(&cur, index, *elem_width, *len),
            };
        }
        cur
    }

    fn write_projs(&mut self, container: &mut [WireId], projs: &[Proj], new: &[WireId]) {
        let Some((first, rest)) = projs.split_first() else {
            let n = container.len().min(new.len());
            container[..n].copy_from_slice(&new[..n]);
            return;
        };
        match first {
            Proj::Const { offset, width } => {
                let (o, w) = (*offset as usize, *width as usize);
                if let Some(part) = container.get_mut(o..o + w) {
                    self.write_projs(part, rest, new);
                }
            }
            Proj::Secret { index, elem_width, len } => {
                let sel = self.decode(index, *len);
                let w = *elem_width as usize;
                for (k, &s) in sel.iter().enumerate() {
                    let Some(part) = container.get_mut(k * w..(k + 1) * w) else { break };
                    let old: Bits = part.to_vec();
                    let mut upd = old.clone();
                    self.write_projs(&mut upd, rest, new);
                    let muxed = self.b.mux(s, &upd, &old);
                    part.copy_from_slice(&muxed);
                }
            }
        }
    }

    /// Number of index bits used for an array of `len` elements.
    fn index_bits(len: u32) -> usize {
        if len <= 1 {
            0
        } else {
            (32 - (len - 1).leading_zeros()) as usize
        }
    }

    /// `elements[index]` by a multiplexer tree over the index's low bits;
    /// positions past the end read as zero.
    fn select(&mut self, bits: &[WireId], index: &[WireId], elem_width: u32, len: u32) -> Bits {
        let k = Self::index_bits(len);
        let w = elem_width as usize;
        let zero = vec![WireId::ZERO; w];
        let mut level: Vec<Bits> = (0..1usize << k)
            .map(|e| if e < len as usize { slice(bits, (e * w) as u32, elem_width) } else { zero.clone() })
            .collect();
        for j in 0..k {
            let s = index.get(j).copied().unwrap_or(WireId::ZERO);
            let mut next = Vec::with_capacity(level.len() / 2);
            for pair in level.chunks(2) {
                if pair[0] == pair[1] {
                    next.push(pair[0].clone());
                } else {
                    next.push(self.b.mux(s, &pair[1], &pair[0]));
                }
            }
            level = next;
        }
        level.into_iter().next().unwrap_or_default()
    }

    /// One-hot decoding of the index's low bits: `sel[e]` is set when the
    /// index (mod 2^⌈log₂ len⌉) equals `e`, for `e < len`.
    fn decode(&mut self, index: &[WireId], len: u32) -> Bits {
        let k = Self::index_bits(len);
        let mut sel = vec![WireId::ONE];
        for j in 0..k {
            let bit = index.get(j).copied().unwrap_or(WireId::ZERO);
            let half = sel.len();
            let mut next = vec![WireId::ZERO; half * 2];
            for e in 0..half {
                let t = self.b.and(sel[e], bit);
                next[e] = self.b.xor(sel[e], t);
                next[e + half] = t;
            }
            sel = next;
        }
        sel.truncate(len as usize);
        sel
    }

    // ----- control flow ------------------------------------------------------------------------

    /// `if c { t } else { e }` on values: one multiplexer, or for two sums
    /// with a common part, the common part plus a multiplexer of the rest.
    fn merge(&mut self, c: WireId, t: &Val, e: &Val) -> Val {
        if t.same(e) {
            return t.clone();
        }
        if c == WireId::ONE {
            return t.clone();
        }
        if c == WireId::ZERO {
            return e.clone();
        }
        let (t, e) = match (t, e) {
            (Val::Lin(x), Val::Bits(b)) => (t.clone(), Val::Lin(self.lin_like(b, x))),
            (Val::Bits(b), Val::Lin(y)) => (Val::Lin(self.lin_like(b, y)), e.clone()),
            _ => (t.clone(), e.clone()),
        };
        let (t, e) = (&t, &e);
        if let (Val::Lin(x), Val::Lin(y)) = (t, e) {
            if x.width == y.width && x.cache.borrow().is_none() && y.cache.borrow().is_none() {
                let (common, only_t, only_e) = Terms::split_common(&x.terms, &y.terms);
                let w = x.width;
                let mut rest_t = Terms::default();
                for term in only_t.into_iter().rev() {
                    rest_t = rest_t.push(term);
                }
                let mut rest_e = Terms::default();
                for term in only_e.into_iter().rev() {
                    rest_e = rest_e.push(term);
                }
                let dt = self.materialize(&Lin::new(w, rest_t, x.constant, self.line));
                let de = self.materialize(&Lin::new(w, rest_e, y.constant, self.line));
                let m = self.b.mux(c, &dt, &de);
                return Val::Lin(Rc::new(Lin::new(w, common.push(Term::Add(Rc::new(m))), 0, self.line)));
            }
        }
        let tb = self.bits(t);
        let eb = self.bits(e);
        if tb.len() != eb.len() {
            return t.clone();
        }
        // `if a < b { b } else { a }` is max(a, b): when a is the type's
        // minimum (`let mut m = 0; … if x > m { m = x; }`), it is b.
        if let Some(cmp) = self.comparisons.get(&c) {
            let (t2, e2) = if cmp.negated { (&eb, &tb) } else { (&tb, &eb) };
            let (lo, hi) = (&cmp.lo, &cmp.hi);
            if is_min_const(lo, cmp.sign) {
                if **t2 == **hi && **e2 == **lo {
                    return Val::Bits(t2.clone());
                }
                if **t2 == **lo && **e2 == **hi {
                    return Val::Bits(t2.clone());
                }
            }
        }
        Val::bits(self.b.mux(c, &tb, &eb))
    }

    /// `b` as a linear form, sharing the first term of `other` when that
    /// term is `+b` (so that `x` and `x + 1` are seen to differ by 1).
    fn lin_like(&self, b: &Rc<Vec<WireId>>, other: &Lin) -> Rc<Lin> {
        let w = other.width;
        if const_value(b).is_none() {
            let mut cur = other.terms.clone();
            while cur.len() > 1 {
                cur = cur.next();
            }
            if let Some(node) = &cur.0 {
                if let Term::Add(x) = &node.term {
                    if Rc::ptr_eq(x, b) || **x == **b {
                        return Rc::new(Lin::new(w, cur.clone(), 0, other.line));
                    }
                }
            }
        }
        Rc::new(self.lin_of_bits(b.clone(), w))
    }

    fn if_expr(&mut self, cond: &Expr<Type>, then: &Block<Type>, els: Option<&Expr<Type>>) -> LResult<Val> {
        let cv = self.expr(cond)?;
        let c = self.bits(&cv).first().copied().unwrap_or(WireId::ZERO);
        if self.frame().dead {
            return Ok(Val::bits(Vec::new()));
        }
        if c == WireId::ONE {
            return Ok(self.block(then)?.unwrap_or_else(|| Val::bits(Vec::new())));
        }
        if c == WireId::ZERO {
            return match els {
                Some(e) => self.expr(e),
                None => Ok(Val::bits(Vec::new())),
            };
        }
        let before = self.frame().state();
        let vt = self.block(then)?;
        let after_t = self.frame().state();
        self.frame().restore(before);
        let ve = match els {
            Some(e) => {
                let v = self.expr(e)?;
                if self.frame().dead {
                    None
                } else {
                    Some(v)
                }
            }
            None => Some(Val::bits(Vec::new())),
        };
        let after_e = self.frame().state();
        // Merge the two states.
        let returned = match (after_t.returned, after_e.returned) {
            (None, None) => None,
            (t, e) => {
                let (t, e) = (t.unwrap_or(WireId::ZERO), e.unwrap_or(WireId::ZERO));
                Some(self.b.mux_bit(c, t, e))
            }
        };
        let ret = match (&after_t.ret, &after_e.ret) {
            (Some(x), Some(y)) => Some(self.merge(c, x, y)),
            (Some(x), None) => Some(x.clone()),
            (None, y) => y.clone(),
        };
        let dead = after_t.dead && after_e.dead;
        let vals = if after_t.dead {
            after_e.vals.clone()
        } else if after_e.dead {
            after_t.vals.clone()
        } else {
            let mut vals = after_e.vals.clone();
            for (k, slot) in vals.iter_mut().enumerate() {
                if let Some(tv) = after_t.vals.get(k) {
                    if !tv.same(slot) {
                        *slot = self.merge(c, tv, slot);
                    }
                }
            }
            vals
        };
        let value = match (vt, ve) {
            (Some(a), Some(b)) => self.merge(c, &a, &b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => Val::bits(Vec::new()),
        };
        let f = self.frame();
        f.vals = vals;
        f.returned = returned;
        f.ret = ret;
        f.dead = dead;
        Ok(value)
    }

    // ----- expressions ---------------------------------------------------------------------------

    fn expr(&mut self, e: &Expr<Type>) -> LResult<Val> {
        self.tick(e.span)?;
        let v = self.expr_inner(e)?;
        if self.frame().dead {
            // Every path returned inside this expression: its value is never
            // used, but keep its width right for the operations around it.
            return Ok(Val::bits(vec![WireId::ZERO; e.ty.width() as usize]));
        }
        Ok(v)
    }

    /// Lowers the operands of an operation; `None` when a `return` in them
    /// ended every path (the operation is then skipped).
    fn operands(&mut self, es: &[&Expr<Type>]) -> LResult<Option<Vec<Val>>> {
        let mut out = Vec::with_capacity(es.len());
        for e in es {
            out.push(self.expr(e)?);
            if self.frame().dead {
                return Ok(None);
            }
        }
        Ok(Some(out))
    }

    fn expr_inner(&mut self, e: &Expr<Type>) -> LResult<Val> {
        let dead = || Ok(Val::bits(Vec::new()));
        match &e.kind {
            ExprKind::Int { negative, value, .. } => {
                let v = if *negative { value.wrapping_neg() } else { *value };
                Ok(Val::bits(self.b.constant_bits_u128(v, e.ty.width())))
            }
            ExprKind::Bool(b) => Ok(Val::bits(vec![self.b.constant(*b)])),
            ExprKind::Var(name) => {
                if let Some(slot) = self.slot(name) {
                    return Ok(self.frame().vals[slot].clone());
                }
                self.constant(name, e.span)
            }
            ExprKind::Unary(op, a) => {
                let v = self.expr(a)?;
                match op {
                    UnOp::Neg => Ok(self.negate(&v, a.ty.width())),
                    UnOp::Not => {
                        let bits = self.bits(&v);
                        Ok(Val::bits(self.b.not_bits(&bits)))
                    }
                }
            }
            ExprKind::Binary(op, a, b) => {
                let Some(mut v) = self.operands(&[a, b])? else { return dead() };
                let (y, x) = (v.pop(), v.pop());
                match (x, y) {
                    (Some(x), Some(y)) => self.binary(*op, &a.ty, &b.ty, x, y),
                    _ => dead(),
                }
            }
            ExprKind::Cast(a, _) => {
                let v = self.expr(a)?;
                let bits = self.bits(&v);
                Ok(Val::bits(match (&a.ty, &e.ty) {
                    (_, Type::Bool) => {
                        let nz = self.b.reduce_or(&bits);
                        vec![nz]
                    }
                    (from, Type::Int { bits: w, .. }) => {
                        let sign = if from.is_signed() { Sign::Signed } else { Sign::Unsigned };
                        self.b.resize(&bits, *w, sign)
                    }
                    _ => bits.to_vec(),
                }))
            }
            ExprKind::If(c, t, els) => {
                self.depth += 1;
                let old = self.enter_line(e.span);
                let r = self.if_expr(c, t, els.as_deref());
                self.set_line(old);
                self.depth -= 1;
                r
            }
            ExprKind::Block(b) => Ok(self.block(b)?.unwrap_or_else(|| Val::bits(Vec::new()))),
            ExprKind::Call(name, args) => self.call(name, args, e),
            ExprKind::Index(a, i) => {
                let Some(v) = self.operands(&[a, i])? else { return dead() };
                let (av, iv) = (&v[0], &v[1]);
                let bits = self.bits(av);
                let ibits = self.bits(iv);
                let Type::Array(elem, n) = &a.ty else { return Ok(Val::bits(Vec::new())) };
                let w = elem.width();
                match const_value(&ibits) {
                    Some(k) if k < u128::from(*n) => {
                        Ok(Val::bits(slice(&bits, (k as u32).saturating_mul(w), w)))
                    }
                    Some(k) => self.fatal(out_of_bounds(i.span, k, *n)),
                    None => Ok(Val::bits(self.select(&bits, &ibits, w, *n))),
                }
            }
            ExprKind::Field(a, name) => {
                let v = self.expr(a)?;
                let bits = self.bits(&v);
                if let Type::Struct { fields, .. } = &a.ty {
                    let mut off = 0u32;
                    for (f, t) in fields {
                        if f == name {
                            return Ok(Val::bits(slice(&bits, off, t.width())));
                        }
                        off = off.saturating_add(t.width());
                    }
                }
                Ok(Val::bits(Vec::new()))
            }
            ExprKind::TupleField(a, k) => {
                let v = self.expr(a)?;
                let bits = self.bits(&v);
                match a.ty.parts().get(*k as usize) {
                    Some((off, t)) => Ok(Val::bits(slice(&bits, *off, t.width()))),
                    None => Ok(Val::bits(Vec::new())),
                }
            }
            ExprKind::Array(items) | ExprKind::Tuple(items) => {
                let mut out = Vec::with_capacity(e.ty.width_u64().min(1 << 24) as usize);
                for it in items {
                    let v = self.expr(it)?;
                    out.extend_from_slice(&self.bits(&v));
                }
                Ok(Val::bits(out))
            }
            ExprKind::Struct(_, fields) => {
                let mut out = Vec::new();
                for (_, _, it) in fields {
                    let v = self.expr(it)?;
                    out.extend_from_slice(&self.bits(&v));
                }
                Ok(Val::bits(out))
            }
            ExprKind::Repeat(v, _) => {
                let Type::Array(_, n) = &e.ty else { return Ok(Val::bits(Vec::new())) };
                let item = self.expr(v)?;
                let bits = self.bits(&item);
                self.tick(e.span)?;
                let mut out = Vec::with_capacity(bits.len().saturating_mul(*n as usize));
                for _ in 0..*n {
                    out.extend_from_slice(&bits);
                }
                Ok(Val::bits(out))
            }
        }
    }

    fn constant(&mut self, name: &str, span: Span) -> LResult<Val> {
        if let Some(v) = self.const_cache.get(name) {
            return Ok(v.clone());
        }
        let Some(def) = self.consts.get(name).copied() else {
            return self.fatal(Diagnostic::new(span, format!("cannot find `{name}`")));
        };
        if self.depth > crate::limits::MAX_INLINE_DEPTH {
            return self.fatal(Diagnostic::new(span, format!("the constant `{name}` refers to itself")));
        }
        // Constants see only other constants: lower in an empty frame.
        self.depth += 1;
        self.frames.push(Frame::default());
        let v = self.expr(&def.value);
        self.frames.pop();
        self.depth -= 1;
        let v = v?;
        let bits = self.bits(&v);
        if bits.iter().any(|w| !w.is_const()) {
            return self.fatal(Diagnostic::new(
                def.value.span,
                format!("the value of `{name}` is not known at compile time"),
            ));
        }
        let v = Val::Bits(bits);
        self.const_cache.insert(name.to_owned(), v.clone());
        Ok(v)
    }

    fn call(&mut self, name: &str, args: &[Expr<Type>], e: &Expr<Type>) -> LResult<Val> {
        self.tick(e.span)?;
        let refs: Vec<&Expr<Type>> = args.iter().collect();
        let Some(vals) = self.operands(&refs)? else { return Ok(Val::bits(Vec::new())) };
        if let Some(f) = self.fns.get(name).copied() {
            if self.depth > crate::limits::MAX_INLINE_DEPTH {
                return self.fatal(
                    Diagnostic::new(
                        e.span,
                        format!("calls nest deeper than {} levels", crate::limits::MAX_INLINE_DEPTH),
                    )
                    .with_help("functions are inlined; flatten the call chain"),
                );
            }
            let mut frame = Frame::default();
            for (p, v) in f.params.iter().zip(vals) {
                frame.names.push(p.name.clone());
                frame.vals.push(v);
            }
            self.depth += 1;
            self.frames.push(frame);
            let old = self.line;
            let r = self.function_body(&f.body);
            self.set_line(old);
            self.frames.pop();
            self.depth -= 1;
            return r;
        }
        // Built-ins: the checker fixed each one's number of arguments.
        let ty = &e.ty;
        let sign = |t: &Type| if t.is_signed() { Sign::Signed } else { Sign::Unsigned };
        match name {
            "min" | "max" => {
                let a = self.bits(&vals[0]);
                let b = self.bits(&vals[1]);
                let s = sign(&args[0].ty);
                // With the type's minimum, no comparison is needed.
                match (is_min_const(&a, s), is_min_const(&b, s), name) {
                    (true, _, "max") => return Ok(Val::Bits(b)),
                    (_, true, "max") => return Ok(Val::Bits(a)),
                    (true, _, _) => return Ok(Val::Bits(a)),
                    (_, true, _) => return Ok(Val::Bits(b)),
                    _ => {}
                }
                Ok(Val::bits(if name == "min" { self.b.min(&a, &b, s) } else { self.b.max(&a, &b, s) }))
            }
            "abs" => {
                let a = self.bits(&vals[0]);
                Ok(Val::bits(self.b.abs(&a)))
            }
            "__neg" => Ok(self.negate(&vals[0], ty.width())),
            "count_ones" => {
                // A sum of one-bit terms: added up with whatever it is added to.
                let a = self.bits(&vals[0]);
                Ok(Val::Lin(Rc::new(Lin::new(
                    32,
                    Terms::default().push(Term::Count(a, false)),
                    0,
                    self.line,
                ))))
            }
            "len" => {
                let n = match &args[0].ty {
                    Type::Array(_, n) => *n,
                    _ => 0,
                };
                Ok(Val::bits(self.b.constant_bits_u128(u128::from(n), ty.width())))
            }
            _ => self.fatal(Diagnostic::new(e.span, format!("cannot find function `{name}`"))),
        }
    }

    // ----- operators -----------------------------------------------------------------------------

    fn binary(&mut self, op: BinOp, ta: &Type, tb: &Type, x: Val, y: Val) -> LResult<Val> {
        let sign = if ta.is_signed() { Sign::Signed } else { Sign::Unsigned };
        let w = ta.width();
        // Compile-time arithmetic (loop variables, constants): computed here
        // rather than by folding a gadget's gates away.
        if ta.is_int() || *ta == Type::Bool {
            if let (Some(a), Some(b)) = (const_of(&x), const_of(&y)) {
                if let Some(v) = const_binary(op, ta.is_signed(), w, a, b) {
                    let width = if op.is_comparison() { 1 } else { w };
                    return Ok(Val::bits(self.b.constant_bits_u128(v, width)));
                }
            }
        }
        Ok(match op {
            BinOp::Add => self.add(&x, &y, w, false),
            BinOp::Sub => self.add(&x, &y, w, true),
            BinOp::Mul => self.mul(&x, &y, w),
            BinOp::Div | BinOp::Rem => {
                let a = self.bits(&x);
                let b = self.bits(&y);
                Val::bits(if op == BinOp::Div { self.b.div(&a, &b, sign) } else { self.b.rem(&a, &b, sign) })
            }
            BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => {
                let a = self.bits(&x);
                let b = self.bits(&y);
                Val::bits(match op {
                    BinOp::BitAnd => self.b.and_bits(&a, &b),
                    BinOp::BitOr => self.b.or_bits(&a, &b),
                    _ => self.b.xor_bits(&a, &b),
                })
            }
            BinOp::And | BinOp::Or => {
                let a = self.bits(&x).first().copied().unwrap_or(WireId::ZERO);
                let b = self.bits(&y).first().copied().unwrap_or(WireId::ZERO);
                Val::bits(vec![if op == BinOp::And { self.b.and(a, b) } else { self.b.or(a, b) }])
            }
            BinOp::Shl | BinOp::Shr => {
                let a = self.bits(&x);
                let amount = self.bits(&y);
                let kind = match (op, sign) {
                    (BinOp::Shl, _) => Shift::Left,
                    (_, Sign::Signed) => Shift::RightArithmetic,
                    _ => Shift::RightLogical,
                };
                let _ = tb;
                match const_value(&amount) {
                    Some(k) => {
                        let k = if w == 0 { 0 } else { (k % u128::from(w)) as u64 };
                        Val::bits(self.b.shift_const(&a, k, kind))
                    }
                    None => {
                        // Two's complement low bits = the amount mod the width
                        // (all widths are powers of two).
                        let amount = if w.is_power_of_two() {
                            let k = w.trailing_zeros() as usize;
                            amount.iter().copied().take(k).collect()
                        } else {
                            amount.to_vec()
                        };
                        Val::bits(self.b.shift(&a, &amount, kind))
                    }
                }
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let a = self.bits(&x);
                let b = self.bits(&y);
                let s = if ta.is_signed() { Sign::Signed } else { Sign::Unsigned };
                let bit = match op {
                    BinOp::Eq => self.b.eq(&a, &b),
                    BinOp::Ne => self.b.ne(&a, &b),
                    BinOp::Lt => self.b.lt(&a, &b, s),
                    BinOp::Le => self.b.le(&a, &b, s),
                    BinOp::Gt => self.b.gt(&a, &b, s),
                    _ => self.b.ge(&a, &b, s),
                };
                // Remember `bit = (x < y)` (or its negation) for `merge`.
                let (lo, hi, negated) = match op {
                    BinOp::Lt => (a, b, false),
                    BinOp::Gt => (b, a, false),
                    BinOp::Le => (b, a, true),
                    _ => (a, b, true),
                };
                if !matches!(op, BinOp::Eq | BinOp::Ne) && !bit.is_const() {
                    self.comparisons.insert(bit, Comparison { lo, hi, sign: s, negated });
                }
                Val::bits(vec![bit])
            }
        })
    }

    fn as_lin(&mut self, v: &Val, width: u32) -> Rc<Lin> {
        match v {
            Val::Lin(l) => {
                if let Some(bits) = l.cache.borrow().clone() {
                    return Rc::new(self.lin_of_bits(bits, width));
                }
                l.clone()
            }
            Val::Bits(b) => Rc::new(self.lin_of_bits(b.clone(), width)),
        }
    }

    fn lin_of_bits(&self, b: Rc<Vec<WireId>>, width: u32) -> Lin {
        match const_value(&b) {
            Some(c) => Lin::new(width, Terms::default(), c, self.line),
            None => Lin::new(width, Terms::default().push(Term::Add(b)), 0, self.line),
        }
    }

    fn add(&mut self, x: &Val, y: &Val, w: u32, subtract: bool) -> Val {
        let a = self.as_lin(x, w);
        let b = self.as_lin(y, w);
        // Append the shorter list to the longer (a sum is usually an
        // accumulator plus a term).
        let (base, other, other_negated, base_negated) = if a.terms.len() >= b.terms.len() {
            (a.clone(), b.clone(), subtract, false)
        } else {
            (b.clone(), a.clone(), false, subtract)
        };
        let mut terms = base.terms.clone();
        if base_negated {
            // b − (long a): rebuild negated (rare).
            let mut t = Terms::default();
            for term in base.terms.to_vec() {
                t = t.push(term.negated());
            }
            terms = t;
        }
        for term in other.terms.to_vec() {
            terms = terms.push(if other_negated { term.negated() } else { term });
        }
        let cb = if base_negated { base.constant.wrapping_neg() } else { base.constant };
        let co = if other_negated { other.constant.wrapping_neg() } else { other.constant };
        Val::Lin(Rc::new(Lin::new(w, terms, cb.wrapping_add(co), self.line)))
    }

    fn negate(&mut self, v: &Val, w: u32) -> Val {
        let a = self.as_lin(v, w);
        let mut t = Terms::default();
        for term in a.terms.to_vec() {
            t = t.push(term.negated());
        }
        Val::Lin(Rc::new(Lin::new(w, t, a.constant.wrapping_neg(), self.line)))
    }

    fn mul(&mut self, x: &Val, y: &Val, w: u32) -> Val {
        let a = self.bits(x);
        let b = self.bits(y);
        let (cst, other) = match (const_value(&a), const_value(&b)) {
            (Some(c), _) => (Some(c), b.clone()),
            (_, Some(c)) => (Some(c), a.clone()),
            _ => (None, a.clone()),
        };
        match cst {
            Some(c) => {
                // Non-adjacent form: x·c as a sum of ±(x << i).
                let mut k = c & mask(w);
                let mut terms = Terms::default();
                for i in 0..w {
                    if k & 1 == 1 {
                        let shifted = Rc::new(self.b.shift_const(&other, u64::from(i), Shift::Left));
                        if k & 3 == 3 && w > 1 {
                            terms = terms.push(Term::Sub(shifted));
                            k = k.wrapping_add(1);
                        } else {
                            terms = terms.push(Term::Add(shifted));
                            k = k.wrapping_sub(1);
                        }
                    }
                    k >>= 1;
                }
                Val::Lin(Rc::new(Lin::new(w, terms, 0, self.line)))
            }
            None => Val::Lin(Rc::new(Lin::new(
                w,
                Terms::default().push(Term::Mul(a, b, false, self.line)),
                0,
                self.line,
            ))),
        }
    }

    /// The bits of a value (materialising a sum once; the result is cached).
    fn bits(&mut self, v: &Val) -> Rc<Vec<WireId>> {
        match v {
            Val::Bits(b) => b.clone(),
            Val::Lin(l) => {
                if let Some(b) = l.cache.borrow().clone() {
                    return b;
                }
                let b = Rc::new(self.materialize(l));
                *l.cache.borrow_mut() = Some(b.clone());
                b
            }
        }
    }

    /// Adds up a linear form: the two-operand and single-product cases use
    /// the builder's gadgets; anything larger goes through one column
    /// compression of every term's bits (products as partial products).
    fn materialize(&mut self, l: &Lin) -> Bits {
        let old = self.line;
        self.set_line(l.line);
        let bits = self.materialize_here(l);
        self.set_line(old);
        bits
    }

    fn materialize_here(&mut self, l: &Lin) -> Bits {
        let n = l.width;
        let terms = l.terms.to_vec();
        if let Some(b) = l.cache.borrow().as_ref() {
            return b.to_vec();
        }
        match (terms.as_slice(), l.constant) {
            ([], c) => return self.b.constant_bits_u128(c, n),
            ([Term::Add(x)], 0) => return x.to_vec(),
            ([Term::Sub(x)], 0) => return self.b.neg(x),
            ([Term::Add(x), Term::Add(y)], 0) => return self.b.add(x, y),
            ([Term::Add(x), Term::Sub(y)], 0) => return self.b.sub(x, y),
            ([Term::Sub(y), Term::Add(x)], 0) => return self.b.sub(x, y),
            ([Term::Mul(a, b, false, line)], 0) if !narrow(a).is_narrow(n) && !narrow(b).is_narrow(n) => {
                self.set_line(*line);
                return self.b.mul(a, b);
            }
            _ => {}
        }
        let mut cols: Vec<Vec<WireId>> = vec![Vec::new(); n as usize];
        let mut constant = l.constant;
        for t in &terms {
            match t {
                Term::Add(x) => {
                    for (i, &bit) in x.iter().enumerate().take(n as usize) {
                        push_bit(&mut cols, &mut constant, i, bit, n);
                    }
                }
                Term::Sub(x) => {
                    for (i, &bit) in x.iter().enumerate().take(n as usize) {
                        let nb = self.b.not(bit);
                        push_bit(&mut cols, &mut constant, i, nb, n);
                    }
                    constant = constant.wrapping_add(1);
                }
                Term::Count(x, neg) => {
                    for &bit in x.iter() {
                        if *neg {
                            // −bit = ¬bit − 1
                            let nb = self.b.not(bit);
                            push_bit(&mut cols, &mut constant, 0, nb, n);
                            constant = constant.wrapping_sub(1);
                        } else {
                            push_bit(&mut cols, &mut constant, 0, bit, n);
                        }
                    }
                }
                Term::Mul(a, b, neg, line) => {
                    self.set_line(*line);
                    self.partial_products(a, b, *neg, &mut cols, &mut constant, n);
                }
            }
        }
        self.set_line(l.line);
        self.compress(cols, constant, n)
    }

    /// Adds the partial products of `±a·b (mod 2^n)` to the columns.
    #[allow(clippy::needless_range_loop)] // indices are the bit weights
    fn partial_products(
        &mut self,
        a: &[WireId],
        b: &[WireId],
        neg: bool,
        cols: &mut [Vec<WireId>],
        constant: &mut u128,
        n: u32,
    ) {
        let (na, nb) = (narrow(a), narrow(b));
        let mut emit = |me: &mut Self, col: usize, bit: WireId, negative: bool, cols: &mut [Vec<WireId>]| {
            if col >= n as usize {
                return;
            }
            if negative != neg {
                // −bit·2^col = (¬bit − 1)·2^col
                let nb = me.b.not(bit);
                push_bit(cols, constant, col, nb, n);
                *constant = constant.wrapping_sub(1u128 << col);
            } else {
                push_bit(cols, constant, col, bit, n);
            }
        };
        if !na.signed && !nb.signed {
            for i in 0..na.width {
                for j in 0..nb.width {
                    if i + j < n as usize {
                        let p = self.b.and(a[i], b[j]);
                        emit(self, i + j, p, false, cols);
                    }
                }
            }
            return;
        }
        // Baugh–Wooley on signed widths P, Q (an unsigned operand gets a zero sign bit).
        let sa: Vec<WireId> = if na.signed {
            a[..na.width].to_vec()
        } else {
            a[..na.width].iter().copied().chain([WireId::ZERO]).collect()
        };
        let sb: Vec<WireId> = if nb.signed {
            b[..nb.width].to_vec()
        } else {
            b[..nb.width].iter().copied().chain([WireId::ZERO]).collect()
        };
        let (p, q) = (sa.len(), sb.len());
        for i in 0..p - 1 {
            for j in 0..q - 1 {
                if i + j < n as usize {
                    let x = self.b.and(sa[i], sb[j]);
                    emit(self, i + j, x, false, cols);
                }
            }
        }
        if p + q - 2 < n as usize {
            let x = self.b.and(sa[p - 1], sb[q - 1]);
            emit(self, p + q - 2, x, false, cols);
        }
        for j in 0..q - 1 {
            if p - 1 + j < n as usize {
                let x = self.b.and(sa[p - 1], sb[j]);
                emit(self, p - 1 + j, x, true, cols);
            }
        }
        for i in 0..p - 1 {
            if i + q - 1 < n as usize {
                let x = self.b.and(sa[i], sb[q - 1]);
                emit(self, i + q - 1, x, true, cols);
            }
        }
    }

    /// Column compression: full adders (one AND each) until a column has at
    /// most two bits, then a half adder; the constant's bit of each column
    /// joins last (a half adder with a constant one is free). The top column
    /// needs no carry.
    fn compress(&mut self, cols: Vec<Vec<WireId>>, constant: u128, n: u32) -> Bits {
        let n = n as usize;
        let mut cols: Vec<VecDeque<WireId>> = cols.into_iter().map(VecDeque::from).collect();
        let mut out = Vec::with_capacity(n);
        for c in 0..n {
            let one = c < 128 && (constant >> c) & 1 == 1;
            let mut q = std::mem::take(&mut cols[c]);
            if c + 1 == n {
                let mut x = if one { WireId::ONE } else { WireId::ZERO };
                for w in q {
                    x = self.b.xor(x, w);
                }
                out.push(x);
                break;
            }
            let mut carries = Vec::new();
            while q.len() >= 3 {
                let (x, y, z) = match (q.pop_front(), q.pop_front(), q.pop_front()) {
                    (Some(x), Some(y), Some(z)) => (x, y, z),
                    _ => break,
                };
                let xy = self.b.xor(x, y);
                q.push_back(self.b.xor(xy, z));
                carries.push(self.b.majority(x, y, z));
            }
            let bit = match (q.pop_front(), q.pop_front(), one) {
                (None, _, o) => self.b.constant(o),
                (Some(x), None, false) => x,
                (Some(x), None, true) => {
                    carries.push(x);
                    self.b.not(x)
                }
                (Some(x), Some(y), false) => {
                    carries.push(self.b.and(x, y));
                    self.b.xor(x, y)
                }
                (Some(x), Some(y), true) => {
                    carries.push(self.b.or(x, y));
                    self.b.xnor(x, y)
                }
            };
            out.push(bit);
            cols[c + 1].extend(carries);
        }
        out.resize(n, WireId::ZERO);
        out
    }
}

/// The value of a compile-time constant (`None` if any bit is secret).
fn const_of(v: &Val) -> Option<u128> {
    match v {
        Val::Bits(b) => const_value(b),
        Val::Lin(l) if l.terms.len() == 0 => Some(l.constant),
        Val::Lin(l) => l.cache.borrow().as_ref().and_then(|b| const_value(b)),
    }
}

/// `a op b` on constants of `width` bits, with the circuit's semantics
/// (wrapping, division by zero, …); comparisons give 0 or 1. `None` for
/// the operators lowered elsewhere (shifts).
fn const_binary(op: BinOp, signed: bool, width: u32, a: u128, b: u128) -> Option<u128> {
    let m = mask(width);
    let (a, b) = (a & m, b & m);
    let sx = |v: u128| -> i128 {
        let shift = 128 - width.min(128);
        ((v << shift) as i128) >> shift
    };
    let v = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::Div if b == 0 => m,
        BinOp::Div if signed => sx(a).wrapping_div(sx(b)) as u128,
        BinOp::Div => a / b,
        BinOp::Rem if b == 0 => a,
        BinOp::Rem if signed => sx(a).wrapping_rem(sx(b)) as u128,
        BinOp::Rem => a % b,
        BinOp::BitAnd | BinOp::And => a & b,
        BinOp::BitOr | BinOp::Or => a | b,
        BinOp::BitXor => a ^ b,
        BinOp::Eq => u128::from(a == b),
        BinOp::Ne => u128::from(a != b),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = if signed { sx(a).cmp(&sx(b)) } else { a.cmp(&b) };
            let r = match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Le => ord.is_le(),
                BinOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            };
            u128::from(r)
        }
        BinOp::Shl | BinOp::Shr => return None,
    };
    Some(v & m)
}

/// Whether `bits` is the constant minimum of its type (0 unsigned, MIN signed).
fn is_min_const(bits: &[WireId], sign: Sign) -> bool {
    let n = bits.len();
    bits.iter().enumerate().all(|(k, &w)| {
        let want_one = sign == Sign::Signed && k + 1 == n;
        w == WireId::constant(want_one)
    })
}

fn push_bit(cols: &mut [Vec<WireId>], constant: &mut u128, col: usize, bit: WireId, n: u32) {
    if col >= n as usize || bit == WireId::ZERO {
        return;
    }
    if bit == WireId::ONE {
        if col < 128 {
            *constant = constant.wrapping_add(1u128 << col);
        }
    } else {
        cols[col].push(bit);
    }
}

/// How many low bits of a value are significant, and whether the rest are
/// copies of the top one (signed) or zeros (unsigned).
#[derive(Clone, Copy, Debug)]
struct Narrow {
    width: usize,
    signed: bool,
}

impl Narrow {
    fn is_narrow(self, n: u32) -> bool {
        self.width < n as usize
    }
}

fn narrow(a: &[WireId]) -> Narrow {
    let n = a.len();
    let unsigned = a.iter().rposition(|&w| w != WireId::ZERO).map_or(0, |i| i + 1);
    let signed = match a.last() {
        Some(&top) if top != WireId::ZERO => {
            let mut p = n;
            while p > 1 && a[p - 2] == top {
                p -= 1;
            }
            p
        }
        _ => n,
    };
    if unsigned <= signed || n == 0 {
        Narrow { width: unsigned, signed: false }
    } else {
        Narrow { width: signed.max(1), signed: true }
    }
}

fn iter_span(iter: &ForIter<Type>) -> Span {
    match &iter.source {
        ForSource::Range(a, b, _) => a.span.to(b.span),
        ForSource::Array(a) => a.span,
    }
}

fn slice(bits: &[WireId], offset: u32, width: u32) -> Bits {
    let (o, w) = (offset as usize, width as usize);
    bits.get(o..o + w).map_or_else(|| vec![WireId::ZERO; w], <[WireId]>::to_vec)
}

fn out_of_bounds(span: Span, k: u128, n: u32) -> Diagnostic {
    Diagnostic::new(span, format!("index out of bounds: the length is {n} but the index is {k}"))
        .with_label("known at compile time")
}
