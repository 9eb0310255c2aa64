//! Expressions: literals, variables, operators, casts, indexing, calls.
//!
//! Each operator picks a gadget of the builder (or a lazy sum, for `+`,
//! `-` and `*`); operators on two compile-time constants are computed
//! directly (`const_binary`). Calls to user functions are inlined in a fresh
//! frame; the built-ins map onto gadgets.

use super::control::Comparison;
use super::fixed;
use super::linear::{Lin, Term, Terms};
use super::place::out_of_bounds;
use super::value::{const_binary, const_of, const_value, is_min_const, slice, Val};
use super::{Frame, LResult, Lowerer};
use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::fixed::Format;
use crate::types::Type;
use garblet_circuits::{Shift, Sign, WireId};
use std::rc::Rc;

impl Lowerer<'_> {
    pub(super) fn expr(&mut self, e: &Expr<Type>) -> LResult<Val> {
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
    pub(super) fn operands(&mut self, es: &[&Expr<Type>]) -> LResult<Option<Vec<Val>>> {
        let mut out = Vec::with_capacity(es.len());
        for e in es {
            out.push(self.expr(e)?);
            if self.frame().dead {
                return Ok(None);
            }
        }
        Ok(Some(out))
    }

    /// One expression by its kind. The larger arms are methods of their own
    /// (`cast`, `index`, `call`, `binary`) so that this match reads as a
    /// table of where each kind is lowered.
    pub(super) fn expr_inner(&mut self, e: &Expr<Type>) -> LResult<Val> {
        let dead = || Ok(Val::bits(Vec::new()));
        match &e.kind {
            ExprKind::Int { negative, value, .. } => {
                let v = if *negative { value.wrapping_neg() } else { *value };
                Ok(Val::bits(self.b.constant_bits_u128(v, e.ty.width())))
            }
            ExprKind::Decimal { negative, text, .. } => {
                // The checker made sure the format holds the literal.
                let text = if *negative { format!("-{text}") } else { text.clone() };
                match Format::of(&e.ty).map(|f| f.parse(&text)) {
                    Some(Ok(raw)) => Ok(Val::bits(self.b.constant_bits_u128(raw, e.ty.width()))),
                    _ => self.fatal(Diagnostic::new(
                        e.span,
                        format!("internal compiler error: the literal {text} reached lowering as {}", e.ty),
                    )),
                }
            }
            ExprKind::Bool(b) => Ok(Val::bits(vec![self.b.constant(*b)])),
            // The checker turns every `u8::MAX` into the literal it stands
            // for, or stops with an error; none reaches here.
            ExprKind::Assoc { ty, member } => self.fatal(Diagnostic::new(
                e.span,
                format!("internal compiler error: `{ty}::{member}` reached lowering unresolved"),
            )),
            // A variable is its slot in the current frame, else a `const` item.
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
                    (Some(x), Some(y)) => self.binary(*op, &a.ty, x, y),
                    _ => dead(),
                }
            }
            ExprKind::Cast(a, _) => self.cast(a, &e.ty),
            // The whole `if` is charged to its line (the condition and the
            // merges); the branches' statements to their own lines.
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
            ExprKind::Index(a, i) => self.index(a, i),
            ExprKind::Field(a, name) => {
                let v = self.expr(a)?;
                if let Type::Struct { fields, .. } = &a.ty {
                    let mut off = 0u32;
                    for (f, t) in fields {
                        if f == name {
                            return Ok(self.part_of(&v, off, t.width()));
                        }
                        off = off.saturating_add(t.width());
                    }
                }
                Ok(Val::bits(Vec::new()))
            }
            ExprKind::TupleField(a, k) => {
                let v = self.expr(a)?;
                match a.ty.parts().get(*k as usize) {
                    Some((off, t)) => Ok(self.part_of(&v, *off, t.width())),
                    None => Ok(Val::bits(Vec::new())),
                }
            }
            // Aggregates are their parts' wires side by side (`crate::types`).
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
            ExprKind::Variant(_, variant, fields) => self.variant_value(&e.ty, variant, fields),
            ExprKind::Match(scrutinee, arms) => {
                self.depth += 1;
                let old = self.enter_line(e.span);
                let r = self.match_expr(scrutinee, arms);
                self.set_line(old);
                self.depth -= 1;
                r
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

    /// `a as T`: to `bool`, "any bit set" (n − 1 ANDs); between integers a
    /// free zero- or sign-extension (by the source's signedness) or
    /// truncation; to or from a fixed-point type a free rescaling
    /// (`fixed.rs`); anything else keeps its bits.
    fn cast(&mut self, a: &Expr<Type>, to: &Type) -> LResult<Val> {
        let v = self.expr(a)?;
        let bits = self.bits(&v);
        Ok(Val::bits(match (&a.ty, to) {
            (from, to) if from.is_fixed() || to.is_fixed() => self.fixed_cast(&bits, from, to),
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

    /// `a[i]`: a slice when `i` is known (out of bounds is an error then),
    /// otherwise a multiplexer tree (`Builder::select`).
    fn index(&mut self, a: &Expr<Type>, i: &Expr<Type>) -> LResult<Val> {
        let Some(v) = self.operands(&[a, i])? else { return Ok(Val::bits(Vec::new())) };
        let (av, iv) = (&v[0], &v[1]);
        let ibits = self.bits(iv);
        let Type::Array(elem, n) = &a.ty else { return Ok(Val::bits(Vec::new())) };
        let w = elem.width();
        // A constant index into an aggregate with kept parts: that part,
        // without flattening the whole array.
        if let (Val::Parts(_), Some(k)) = (av, const_value(&ibits)) {
            if k < u128::from(*n) {
                if let Some(part) = av.read_part((k as u32).saturating_mul(w), w) {
                    return Ok(part);
                }
            }
        }
        let bits = self.bits(av);
        if let Some(record) = self.streamed_element(&bits, &ibits, w, u64::from(*n), i.span)? {
            return Ok(Val::bits(record));
        }
        match const_value(&ibits) {
            Some(k) if k < u128::from(*n) => Ok(Val::bits(slice(&bits, (k as u32).saturating_mul(w), w))),
            Some(k) => self.fatal(out_of_bounds(i.span, k, *n)),
            None => Ok(Val::bits(self.b.select(&bits, &ibits, w, *n))),
        }
    }

    /// Bits `off .. off + w` of `v`, as a kept part's own value where it
    /// is one (see [`Val::read_part`]).
    fn part_of(&mut self, v: &Val, off: u32, w: u32) -> Val {
        match v.read_part(off, w) {
            Some(part) => part,
            None => {
                let bits = self.bits(v);
                Val::bits(slice(&bits, off, w))
            }
        }
    }

    pub(super) fn constant(&mut self, name: &str, span: Span) -> LResult<Val> {
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

    /// A call: a user function is inlined in a fresh frame holding its
    /// arguments (its gates count on the body's lines); a built-in maps onto
    /// a gadget.
    pub(super) fn call(&mut self, name: &str, args: &[Expr<Type>], e: &Expr<Type>) -> LResult<Val> {
        self.tick(e.span)?;
        let f = self.fns.get(name).copied();
        if let Some(f) = f.filter(|f| f.mut_self) {
            return self.mut_self_call(f, args, e);
        }
        let refs: Vec<&Expr<Type>> = args.iter().collect();
        let Some(vals) = self.operands(&refs)? else { return Ok(Val::bits(Vec::new())) };
        match f {
            Some(f) => self.inline(f, vals, e),
            None => self.builtin(name, args, &vals, e),
        }
    }

    /// `recv.f(args)` for a `&mut self` method, with value semantics: the
    /// receiver's place is resolved first (its indices evaluated once), the
    /// arguments next, the method runs on a copy of the receiver's value,
    /// and the final `self` (which the method's frame appends to its value,
    /// `control.rs`) is written back to the place; the call's value is the
    /// rest. A receiver that is not a place is a temporary: its new value
    /// is dropped, as in Rust.
    fn mut_self_call(&mut self, f: &FnDef<Type>, args: &[Expr<Type>], e: &Expr<Type>) -> LResult<Val> {
        let Some((recv, rest)) = args.split_first() else { return Ok(Val::bits(Vec::new())) };
        let mut projs = Vec::new();
        let slot = if is_place(recv) { self.place(recv, &mut projs)? } else { None };
        let current = match slot {
            Some(s) if projs.is_empty() => self.frame().vals[s].clone(),
            Some(s) => {
                let whole = self.frame().vals[s].clone();
                let bits = self.bits(&whole);
                Val::bits(self.read_projs(&bits, &projs))
            }
            None => self.expr(recv)?,
        };
        if self.frame().dead {
            return Ok(Val::bits(Vec::new()));
        }
        let refs: Vec<&Expr<Type>> = rest.iter().collect();
        let Some(mut vals) = self.operands(&refs)? else { return Ok(Val::bits(Vec::new())) };
        vals.insert(0, current);
        let out = self.inline(f, vals, e)?;
        let bits = self.bits(&out);
        let (w, self_width) = (e.ty.width(), recv.ty.width());
        if let Some(s) = slot {
            let new_self = slice(&bits, w, self_width);
            self.effect(|l| {
                if projs.is_empty() {
                    l.frame().vals[s] = Val::bits(new_self);
                } else {
                    l.write_slot(s, &projs, &new_self);
                }
                Ok(())
            })?;
        }
        Ok(Val::bits(slice(&bits, 0, w)))
    }

    /// A user function inlined in a fresh frame holding its arguments (its
    /// gates count on the body's lines).
    fn inline(&mut self, f: &FnDef<Type>, vals: Vec<Val>, e: &Expr<Type>) -> LResult<Val> {
        if self.depth > crate::limits::MAX_INLINE_DEPTH {
            return self.fatal(
                Diagnostic::new(
                    e.span,
                    format!("calls nest deeper than {} levels", crate::limits::MAX_INLINE_DEPTH),
                )
                .with_help("functions are inlined; flatten the call chain"),
            );
        }
        let mut frame = Frame { mut_self: f.mut_self, ..Frame::default() };
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
        r
    }

    /// A call of a built-in (`crate::builtins`; the checker fixed each one's
    /// number of arguments) on its lowered arguments `vals`.
    fn builtin(&mut self, name: &str, args: &[Expr<Type>], vals: &[Val], e: &Expr<Type>) -> LResult<Val> {
        let ty = &e.ty;
        let sign = |t: &Type| if t.is_signed() { Sign::Signed } else { Sign::Unsigned };
        match name {
            "__min" | "__max" => {
                let a = self.bits(&vals[0]);
                let b = self.bits(&vals[1]);
                let s = sign(&args[0].ty);
                // With the type's minimum, no comparison is needed.
                match (is_min_const(&a, s), is_min_const(&b, s), name) {
                    (true, _, "__max") => return Ok(Val::Bits(b)),
                    (_, true, "__max") => return Ok(Val::Bits(a)),
                    (true, _, _) => return Ok(Val::Bits(a)),
                    (_, true, _) => return Ok(Val::Bits(b)),
                    _ => {}
                }
                Ok(Val::bits(if name == "__min" { self.b.min(&a, &b, s) } else { self.b.max(&a, &b, s) }))
            }
            "__abs" => {
                let a = self.bits(&vals[0]);
                Ok(Val::bits(self.b.abs(&a)))
            }
            "__neg" => Ok(self.negate(&vals[0], ty.width())),
            "__count_ones" => {
                // A sum of one-bit terms: added up with whatever it is added to.
                let a = self.bits(&vals[0]);
                Ok(Val::Lin(Rc::new(Lin::new(
                    32,
                    Terms::default().push(Term::Count(a, false)),
                    0,
                    self.line,
                ))))
            }
            "__cohort" => self.cohort(args, vals),
            _ if crate::builtins::is_int_method(name) => self.int_method(&name[2..], &args[0].ty, vals),
            // `Option<T>` is `is_some` then `T`.
            "__is_some" | "__is_none" => {
                let a = self.bits(&vals[0]);
                let some = a.first().copied().unwrap_or(WireId::ZERO);
                Ok(Val::bits(vec![if name == "__is_some" { some } else { self.b.not(some) }]))
            }
            "__unwrap_or" => {
                let a = self.bits(&vals[0]);
                let d = self.bits(&vals[1]);
                let some = a.first().copied().unwrap_or(WireId::ZERO);
                let value = slice(&a, 1, ty.width());
                Ok(Val::bits(self.b.mux(some, &value, &d)))
            }
            "__len" => {
                let n = match &args[0].ty {
                    Type::Array(_, n) => *n,
                    _ => 0,
                };
                Ok(Val::bits(self.b.constant_bits_u128(u128::from(n), ty.width())))
            }
            _ => self.fatal(Diagnostic::new(e.span, format!("cannot find function `{name}`"))),
        }
    }

    /// `cohort(count, K, value)`: `value` if `count >= K`, else every bit
    /// set (`Builder::release_if_at_least`). `K` must be known at compile
    /// time and `count` must not (a guard on a constant decides nothing
    /// about the data). Each wire it releases is recorded with `K`, for
    /// the program's cohort rule (`super::cohort_rule`).
    fn cohort(&mut self, args: &[Expr<Type>], vals: &[Val]) -> LResult<Val> {
        let count = self.bits(&vals[0]);
        let k = self.bits(&vals[1]);
        let value = self.bits(&vals[2]);
        let Some(k) = const_value(&k) else {
            return self.fatal(
                Diagnostic::new(args[1].span, "the minimum `K` of `cohort` must be known at compile time")
                    .with_help("write a literal or a `const` item (which `--const K=…` can set)"),
            );
        };
        if let Some(n) = const_value(&count) {
            return self.fatal(
                Diagnostic::new(
                    args[0].span,
                    format!("the count of `cohort` is known at compile time ({n}), so the guard would decide nothing about the data"),
                )
                .with_help("count what the data says, e.g. `if matches { n += 1; }` over the records"),
            );
        }
        let out = self.b.release_if_at_least(&count, k, &value);
        for &w in out.iter().filter(|w| !w.is_const()) {
            let least = self.guarded.entry(w).or_insert(k);
            *least = (*least).max(k);
        }
        Ok(Val::bits(out))
    }

    /// `x op y` with `x` of type `ta` (the checker made `y` match, except
    /// for shift amounts): computed here when both are constants, a lazy sum
    /// for `+ - *`, otherwise the builder's gadget.
    pub(super) fn binary(&mut self, op: BinOp, ta: &Type, x: Val, y: Val) -> LResult<Val> {
        let sign = if ta.is_signed() { Sign::Signed } else { Sign::Unsigned };
        let w = ta.width();
        // Fixed point: `*` and `/` rescale; the rest are the integer
        // operations on the bits (`fixed.rs`).
        if let Some((sign, f, n)) = fixed::format(ta) {
            match op {
                BinOp::Mul => return Ok(self.fixed_mul(&x, &y, sign, f, n)),
                BinOp::Div => return Ok(self.fixed_div(&x, &y, sign, f, n)),
                _ => {}
            }
        }
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
            BinOp::Shl | BinOp::Shr => self.shift(op, sign, w, &x, &y),
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.comparison(op, ta, &x, &y)
            }
        })
    }

    /// `x << y`, `x >> y` (arithmetic for signed `x`): free by a known
    /// amount (taken mod the width), else a barrel shifter over the amount's
    /// low bits.
    fn shift(&mut self, op: BinOp, sign: Sign, w: u32, x: &Val, y: &Val) -> Val {
        let a = self.bits(x);
        let amount = self.bits(y);
        let kind = match (op, sign) {
            (BinOp::Shl, _) => Shift::Left,
            (_, Sign::Signed) => Shift::RightArithmetic,
            _ => Shift::RightLogical,
        };
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

    /// `==`, `!=`, `<`, `<=`, `>`, `>=` on values of type `ta`. An order
    /// comparison is remembered by its wire, so that [`Lowerer::merge`] can
    /// see `if a < b { b } else { a }` as a maximum.
    fn comparison(&mut self, op: BinOp, ta: &Type, x: &Val, y: &Val) -> Val {
        let a = self.bits(x);
        let b = self.bits(y);
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
}

/// Whether `e` is a place rooted in a variable (`v`, `v.f`, `v[i].0`).
fn is_place(e: &Expr<Type>) -> bool {
    match &e.kind {
        ExprKind::Var(_) => true,
        ExprKind::Index(b, _) | ExprKind::Field(b, _) | ExprKind::TupleField(b, _) => is_place(b),
        _ => false,
    }
}
