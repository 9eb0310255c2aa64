//! Statements: blocks and scopes, `let`, assignment, and `for` loops,
//! streamed (`stream.rs`) or unrolled (bounds must be known at compile time; the size of an unrolled
//! loop is projected from its first iterations and refused early when it
//! would pass [`MAX_GATES`]).
//!
//! `break` and `continue` set the innermost loop's exit flags
//! (`control.rs`); blocks check them between statements: a statement that
//! starts where the loop may have been left on a secret condition begins a
//! guarded stretch (the rest of the block), and so does a statement's
//! effect when its operands left the loop (`x = if c { break; } else { 1 };`).
//! An unrolled loop stops after the iteration in which every path broke
//! (or returned): a `break` known at compile time costs nothing.

use super::place::Proj;
use super::stream::Records;
use super::value::{const_value_signed, slice, Parts, Val};
use super::{LResult, Lowerer};
use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::limits::{MAX_GATES, MAX_STEPS};
use crate::types::Type;
use garblet_circuits::{Bits, WireId};
use std::collections::BTreeMap;
use std::rc::Rc;

impl Lowerer<'_> {
    /// A block's value, or `None` when every path through it stopped
    /// (returned, or left the loop or iteration).
    pub(super) fn block(&mut self, b: &Block<Type>) -> LResult<Option<Val>> {
        self.push_scope();
        let v = self.block_from(b, 0);
        self.pop_scope();
        v
    }

    /// The statements of `b` from the `from`-th on, then its tail. A
    /// statement that starts where the innermost loop may have been left
    /// on a secret condition starts a guarded stretch: it and the rest of
    /// the block run as under `if still_running { … }` (`control.rs`).
    fn block_from(&mut self, b: &Block<Type>, from: usize) -> LResult<Option<Val>> {
        for (k, s) in b.stmts.iter().enumerate().skip(from) {
            if self.frame().dead {
                return Ok(None);
            }
            if let Some(live) = self.secret_live() {
                return self.guarded(live, |l| {
                    l.push_scope();
                    let v = l.block_from(b, k);
                    l.pop_scope();
                    v
                });
            }
            let old = self.enter_line(s.span);
            let r = self.stmt(s);
            self.set_line(old);
            r?;
        }
        if self.frame().dead {
            return Ok(None);
        }
        // The tail is guarded too: the blocks in it would guard themselves,
        // but guarding it as a whole lets the stretch's merge fold into the
        // merges of the `if`s in it (`if c { x = 1; break; }` as a loop's
        // last expression: one multiplexer of `x`, not two).
        if let (Some(_), Some(live)) = (&b.tail, self.secret_live()) {
            return self.guarded(live, |l| l.block_tail(b));
        }
        self.block_tail(b)
    }

    /// The tail of `b` (or unit).
    fn block_tail(&mut self, b: &Block<Type>) -> LResult<Option<Val>> {
        match &b.tail {
            Some(t) => {
                let old = self.enter_line(t.span);
                let v = self.expr(t);
                self.set_line(old);
                let v = v?;
                Ok(if self.frame().dead { None } else { Some(v) })
            }
            None => Ok(Some(Val::bits(Vec::new()))),
        }
    }

    /// Runs `effect` (what a statement does once its operands are
    /// evaluated) where the innermost loop still runs: unguarded, unless
    /// evaluating the operands left it on a secret condition
    /// (`x = if c { break; } else { 1 };`).
    pub(super) fn effect(&mut self, effect: impl FnOnce(&mut Self) -> LResult<()>) -> LResult<()> {
        match self.secret_live() {
            None => effect(self),
            Some(live) => {
                self.guarded(live, |l| effect(l).map(|()| Some(Val::bits(Vec::new()))))?;
                Ok(())
            }
        }
    }

    pub(super) fn stmt(&mut self, s: &Stmt<Type>) -> LResult<()> {
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
                if !self.frame().dead {
                    self.effect(|l| {
                        l.return_value(v);
                        Ok(())
                    })?;
                }
            }
            StmtKind::Break => self.exit_loop(true),
            StmtKind::Continue => self.exit_loop(false),
        }
        Ok(())
    }

    pub(super) fn for_loop(
        &mut self,
        pat: &Pattern,
        iter: &ForIter<Type>,
        body: &Block<Type>,
    ) -> LResult<()> {
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
        if self.frame().dead {
            return Ok(());
        }
        let plan = Iteration { first, step, count, ty, item_ty, array, counter, span };
        self.effect(|l| l.run_loop(pat, iter, body, plan))
    }

    /// The loop once its iteration is known: streamed or unrolled.
    fn run_loop(
        &mut self,
        pat: &Pattern,
        iter: &ForIter<Type>,
        body: &Block<Type>,
        it: Iteration,
    ) -> LResult<()> {
        let Iteration { first, step, count, ty, item_ty, array, counter, span } = it;
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
        // A loop over an input array may stream (`stream.rs`); why it does
        // not is kept for the error of a loop too large to unroll.
        let plain = iter.adaptors.is_empty();
        let records = match &array {
            Some(bits) => Ok(Records::Array(bits)),
            // `for i in 0..n`, the body reading input arrays as `a[i]`.
            None if first == 0 && step == 1 => Ok(Records::Index),
            None => Err("the loop ranges over numbers other than `0..n` (write `for i in 0..n` or `for r in records`)"
                .to_owned()),
        };
        let refusal = match records {
            Ok(records) => {
                let bits = match records {
                    Records::Array(b) => Some(b),
                    Records::Index => None,
                };
                match self.stream_precheck(bits, count, plain) {
                    Some(reason) => {
                        self.stop_outer_attempt(&reason, count, span)?;
                        Some(reason)
                    }
                    None => match self.try_stream(pat, &item_ty, records, count as u64, body)? {
                        None => return Ok(()),
                        Some(reason) => Some(reason),
                    },
                }
            }
            Err(reason) => Some(reason),
        };
        self.loop_depth += 1;
        self.begin_loop();
        let array = array.as_ref().map(|b| b.as_slice());
        let r = self.unroll(pat, &ty, body, (first, step, count, item_width), counter, array, span, &refusal);
        self.end_loop();
        self.loop_depth -= 1;
        r
    }

    /// The loop unrolled: the body lowered once per iteration.
    #[allow(clippy::too_many_arguments)]
    fn unroll(
        &mut self,
        pat: &Pattern,
        ty: &Type,
        body: &Block<Type>,
        (first, step, count, item_width): (i128, i128, i128, u32),
        counter: Option<(i128, i128)>,
        array: Option<&[WireId]>,
        span: Span,
        refusal: &Option<String>,
    ) -> LResult<()> {
        let loop_start = self.b.gate_count();
        for k in 0..count {
            self.tick(body.span)?;
            let pos = first.wrapping_add(step.wrapping_mul(k));
            let mut item: Bits = match array {
                Some(bits) => slice(bits, (pos as u32).saturating_mul(item_width), item_width),
                None => self.b.constant_bits(pos, item_width),
            };
            if let Some((f, s)) = counter {
                let mut with_index = self.b.constant_bits(f.wrapping_add(s.wrapping_mul(k)), 64);
                with_index.append(&mut item);
                item = with_index;
            }
            self.push_scope();
            self.bind_pattern(pat, ty, Val::bits(item));
            let r = self.block(body);
            self.pop_scope();
            r?;
            if self.end_iteration() {
                break;
            }
            // Project the whole loop from the iterations so far, after
            // iterations 1, 2, 4, 8, …: the first alone can be cheaper than
            // the rest (a value that starts as a constant or an input).
            if (k + 1).count_ones() == 1 {
                let per_iteration = (self.b.gate_count() - loop_start) / (k as usize + 1);
                self.check_unroll(per_iteration, count - 1 - k, span, refusal)?;
            }
        }
        Ok(())
    }

    /// Rejects a loop whose remaining iterations, at the cost of its first,
    /// would take the circuit past [`MAX_GATES`].
    pub(super) fn check_unroll(
        &mut self,
        per_iteration: usize,
        remaining: i128,
        span: Span,
        refusal: &Option<String>,
    ) -> LResult<()> {
        let projected =
            (per_iteration as i128).saturating_mul(remaining).saturating_add(self.b.gate_count() as i128);
        if projected > MAX_GATES as i128 {
            return self.fatal(
                Diagnostic::new(span, format!("this loop would unroll into about {projected} gates, more than the limit of {MAX_GATES}"))
                    .with_help(match refusal {
                        Some(why) => format!("this loop cannot stream (be compiled once and repeated per record) because {why}; loops that do not stream are unrolled into the circuit: use smaller bounds"),
                        None => "loops are unrolled into the circuit: use smaller bounds".to_owned(),
                    }),
            );
        }
        Ok(())
    }

    /// The value of a compile-time integer expression (loop bounds).
    pub(super) fn const_int(&mut self, e: &Expr<Type>, what: &str) -> LResult<i128> {
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

    pub(super) fn assign(
        &mut self,
        place: &Expr<Type>,
        op: Option<BinOp>,
        value: &Expr<Type>,
    ) -> LResult<()> {
        if let ExprKind::Tuple(items) = &place.kind {
            // `(a, b) = value`: the value first, then each part.
            let v = self.expr(value)?;
            let bits = self.bits(&v);
            return self.effect(|l| l.store_parts(items, &place.ty, &bits));
        }
        let mut projs = Vec::new();
        let slot = self.place(place, &mut projs)?;
        let Some(slot) = slot else { return Ok(()) };
        let v = self.expr(value)?;
        if self.frame().dead {
            return Ok(());
        }
        self.effect(|l| l.store(place, op, slot, &projs, v))
    }

    /// `place op= v` once the place (`slot`, `projs`) and `v` are evaluated.
    fn store(
        &mut self,
        place: &Expr<Type>,
        op: Option<BinOp>,
        slot: usize,
        projs: &[Proj],
        v: Val,
    ) -> LResult<()> {
        // A place of constant projections (`c[2]`, `s.n`): its part of
        // the aggregate may keep a value of its own (`Parts`).
        let fixed = constant_place(projs);
        let new = match op {
            None => v,
            Some(op) => {
                let current = self.frame().vals[slot].clone();
                let kept = match (fixed, &current) {
                    (Some((o, w)), Val::Parts(p)) => p.read(o, w),
                    _ => None,
                };
                let old = match kept {
                    _ if projs.is_empty() => current,
                    Some(v) => v,
                    None => {
                        let bits = self.bits(&current);
                        Val::bits(self.read_projs(&bits, projs))
                    }
                };
                // A part's sum grows from its own terms only: a sum read
                // from elsewhere is added up first, so that no two kept
                // parts (or a part and a variable) share a tail that each
                // would add up again (`c[i] += c[i - 1]` over an array
                // would cost n² otherwise).
                let v = match (&fixed, &v) {
                    (Some(_), Val::Lin(_)) => Val::Bits(self.bits(&v)),
                    _ => v,
                };
                self.binary(op, &place.ty, old, v)?
            }
        };
        // Only `place op= v` keeps a part lazy; `place = v` stores wires, as
        // for any value copied into an aggregate (`out[i] = out[i - 1] + x`
        // and `out[i] = s` must not leave sums sharing a tail).
        let lazy = op.is_some() && matches!(new, Val::Lin(_));
        if projs.is_empty() {
            self.frame().vals[slot] = new;
        } else if let Some((o, w)) =
            fixed.filter(|_| lazy || matches!(self.frame().vals[slot], Val::Parts(_)))
        {
            let new = if lazy { new } else { Val::Bits(self.bits(&new)) };
            self.store_part(slot, o, w, new);
        } else {
            let new_bits = self.bits(&new);
            self.write_slot(slot, projs, &new_bits);
        }
        Ok(())
    }

    /// Writes `new` to bits `o .. o + w` of variable `slot`, keeping it as
    /// the part's own value if it is a sum not yet added up (so that `c[k]
    /// += 1` stays lazy, as for a scalar). A kept part that overlaps the
    /// place without being it is first written into the wires.
    fn store_part(&mut self, slot: usize, o: u32, w: u32, new: Val) {
        let current = std::mem::replace(&mut self.frame().vals[slot], Val::bits(Vec::new()));
        // Taken over when no saved branch state shares it (no copy).
        let (mut base, mut lazy) = match current {
            Val::Parts(p) => match Rc::try_unwrap(p) {
                Ok(p) => (p.base, p.lazy),
                Err(p) => (p.base.clone(), p.lazy.clone()),
            },
            other => (self.bits(&other), BTreeMap::new()),
        };
        // The kept parts that overlap `o .. o + w`: one that starts before
        // and reaches into it, and those that start inside it.
        let end = o.saturating_add(w);
        let mut hit: Vec<u32> = Vec::new();
        if let Some((&k, &(kw, _))) = lazy.range(..o).next_back() {
            if k.saturating_add(kw) > o {
                hit.push(k);
            }
        }
        hit.extend(lazy.range(o..end).map(|(&k, _)| k));
        for k in hit {
            let Some((kw, v)) = lazy.remove(&k) else { continue };
            if (k, kw) != (o, w) {
                let bits = self.bits(&v);
                write_range(Rc::<Vec<WireId>>::make_mut(&mut base), k, kw, &bits);
            }
        }
        if matches!(new, Val::Lin(_)) {
            lazy.insert(o, (w, new));
        } else {
            let bits = self.bits(&new);
            write_range(Rc::<Vec<WireId>>::make_mut(&mut base), o, w, &bits);
        }
        self.frame().vals[slot] =
            if lazy.is_empty() { Val::Bits(base) } else { Val::Parts(Rc::new(Parts::new(base, lazy))) };
    }

    /// Writes `new` into the part of variable `slot` that `projs` selects
    /// (in place unless a saved branch state shares the value).
    pub(super) fn write_slot(&mut self, slot: usize, projs: &[Proj], new: &[WireId]) {
        let current = std::mem::replace(&mut self.frame().vals[slot], Val::bits(Vec::new()));
        let mut container = self.bits(&current);
        drop(current);
        let c: &mut Vec<WireId> = Rc::make_mut(&mut container);
        self.write_projs(c, projs, new);
        self.frame().vals[slot] = Val::Bits(container);
    }

    pub(super) fn store_parts(&mut self, items: &[Expr<Type>], ty: &Type, bits: &[WireId]) -> LResult<()> {
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
}

/// What a `for` loop iterates: positions `first + step·k` for `k` in
/// `0..count` (range values, or indices into `array`), with the
/// `enumerate` counter's first value and step.
struct Iteration {
    first: i128,
    step: i128,
    count: i128,
    /// The loop variable's type (with the counter when enumerated).
    ty: Type,
    /// The type of a range value or array element.
    item_ty: Type,
    array: Option<Rc<Vec<WireId>>>,
    counter: Option<(i128, i128)>,
    span: Span,
}

pub(super) fn iter_span(iter: &ForIter<Type>) -> Span {
    match &iter.source {
        ForSource::Range(a, b, _) => a.span.to(b.span),
        ForSource::Array(a) => a.span,
    }
}

/// The bit range of a place made of constant projections only (`None` if
/// a projection is a secret index, or there is none).
fn constant_place(projs: &[Proj]) -> Option<(u32, u32)> {
    let mut at: Option<(u32, u32)> = None;
    for p in projs {
        let Proj::Const { offset, width } = p else { return None };
        let lo = at.map_or(0, |(o, _)| o).saturating_add(*offset);
        at = Some((lo, *width));
    }
    at
}

/// `bits[..w]` written over `container[o .. o + w]` (what fits).
fn write_range(container: &mut [WireId], o: u32, w: u32, bits: &[WireId]) {
    let (o, w) = (o as usize, w as usize);
    if let Some(dst) = container.get_mut(o..o + w) {
        let n = w.min(bits.len());
        dst[..n].copy_from_slice(&bits[..n]);
    }
}
