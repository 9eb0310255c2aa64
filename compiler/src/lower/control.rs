//! Control flow under secret conditions: merging two branches' states,
//! returns, and `break`/`continue`.
//!
//! A secret `if` lowers both branches from the same state; every variable
//! either branch changed is merged with a multiplexer (n ANDs for n bits;
//! unchanged variables cost nothing; two sums with a common tail multiplex
//! only their differences). A `return` under a secret condition sets a
//! "returned" wire; the function's value is selected by it at the end
//! (functions are pure, so nothing else needs undoing). Apart from the
//! statements because the returned-state bookkeeping is shared by `if`,
//! `return` and the end of every function body.
//!
//! `break` and `continue` leave the innermost loop or its iteration on
//! the current path. Each loop being unrolled keeps two wires, [`LoopFlags`]:
//! "left by `break`" and "left this iteration by `continue`", part of the
//! branch state, so that a secret `if` merges them like variables (free
//! when one side is a constant: `if c { break; }` sets "broke" to `c`).
//! Unlike `return`, a path that left the loop must keep the variables it
//! had then: the loop goes on for the other paths, and after it everyone
//! reads them. So when a statement starts where the loop may have been
//! left on a secret condition, the rest of its block runs as if under
//! `if still_running { … }` ([`Lowerer::guarded`]): what it assigns is
//! merged with the old values, one multiplexer (n ANDs for n bits) per
//! variable it changes, once per guarded stretch, not per statement.
//! The next iterations start the same way while "broke" is secret. Where
//! the exit is known at compile time nothing is guarded: a known `break`
//! ends the unrolling, a known `continue` skips the rest of the
//! iteration, and a loop that never exits on a secret condition costs
//! exactly what it cost before `break` existed. Why flags rather than
//! snapshots (saving every variable at each `break` and selecting at the
//! end, as `return` does for its value): the snapshot would multiplex
//! every variable in scope at every secret `break`, where guarding costs
//! only what the statements after it actually assign.

use super::linear::{Lin, Term, Terms};
use super::value::{is_min_const, slice, Parts, Val};
use super::{LResult, Lowerer};
use crate::ast::{Block, Expr};
use crate::types::Type;
use garblet_circuits::{Sign, WireId};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The exits of one loop being lowered, on the current path: wires, each
/// a constant when it is known at compile time. A path never has both set
/// (it stops at the first exit), so `broke ^ continued` is "left".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LoopFlags {
    /// The path has left the loop by `break`.
    pub(super) broke: WireId,
    /// The path has left the current iteration by `continue` (cleared at
    /// the start of each iteration).
    pub(super) continued: WireId,
}

impl Default for LoopFlags {
    fn default() -> Self {
        LoopFlags { broke: WireId::ZERO, continued: WireId::ZERO }
    }
}

/// A comparison result remembered for [`Lowerer::merge`]: the wire is
/// `lo < hi` (or its negation).
pub(super) struct Comparison {
    pub(super) lo: Rc<Vec<WireId>>,
    pub(super) hi: Rc<Vec<WireId>>,
    pub(super) sign: Sign,
    pub(super) negated: bool,
}

impl Lowerer<'_> {
    /// Lowers a function body in the current (fresh) frame; the function's value.
    pub(super) fn function_body(&mut self, body: &Block<Type>) -> LResult<Val> {
        let v = self.block(body)?.map(|v| self.with_self(v));
        let f = self.frame().state();
        Ok(match (v, f.returned, f.ret) {
            (Some(v), None, _) => v,
            (Some(v), Some(r), Some(ret)) => self.merge(r, &ret, &v),
            (Some(v), Some(_), None) => v,
            (None, _, Some(ret)) => ret,
            (None, _, None) => Val::bits(Vec::new()),
        })
    }

    /// In a `&mut self` method's frame, `v` with the current `self`
    /// appended (the value a return or the body's end leaves); else `v`.
    fn with_self(&mut self, v: Val) -> Val {
        if !self.frame().mut_self {
            return v;
        }
        let Some(s) = self.frame().vals.first().cloned() else { return v };
        let mut bits = self.bits(&v).to_vec();
        bits.extend_from_slice(&self.bits(&s));
        Val::bits(bits)
    }

    /// `return v` on the current path: merged with what an earlier return
    /// under a secret condition left (selected by the "returned" wire), and
    /// the rest of the block is dead.
    pub(super) fn return_value(&mut self, v: Val) {
        let v = self.with_self(v);
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

    /// `if c { t } else { e }` on values: one multiplexer, or for two sums
    /// with a common part, the common part plus a multiplexer of the rest.
    pub(super) fn merge(&mut self, c: WireId, t: &Val, e: &Val) -> Val {
        self.merge_with(c, t, e, false)
    }

    /// [`Lowerer::merge`]; with `guarded`, `c` is a guarded stretch's
    /// "still running" wire and the multiplexers fold into those of the
    /// merges inside the stretch ([`Lowerer::guard_bit`]).
    fn merge_with(&mut self, c: WireId, t: &Val, e: &Val, guarded: bool) -> Val {
        if t.same(e) {
            return t.clone();
        }
        if c == WireId::ONE {
            return t.clone();
        }
        if c == WireId::ZERO {
            return e.clone();
        }
        if let Some(v) = self.merge_parts(c, t, e, guarded) {
            return v;
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
                let m = self.mux_bits(c, &dt, &de, guarded);
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
        Val::bits(self.mux_bits(c, &tb, &eb, guarded))
    }

    /// Two versions of an aggregate that differ only in parts kept as
    /// values of their own ([`Parts`]; the same wires elsewhere): merged
    /// part by part, so that `if x == k { c[k] += 1 }` costs what it costs
    /// on a scalar. `None` when the wires differ elsewhere, or the parts
    /// overlap differently (then the whole value is multiplexed).
    fn merge_parts(&mut self, c: WireId, t: &Val, e: &Val, guarded: bool) -> Option<Val> {
        let none = BTreeMap::new();
        let (tb, tl, eb, el) = match (t, e) {
            (Val::Parts(a), Val::Parts(b)) => (&a.base, &a.lazy, &b.base, &b.lazy),
            (Val::Parts(a), Val::Bits(b)) => (&a.base, &a.lazy, b, &none),
            (Val::Bits(a), Val::Parts(b)) => (a, &none, &b.base, &b.lazy),
            _ => return None,
        };
        if !(Rc::ptr_eq(tb, eb) || tb == eb) {
            return None;
        }
        // Both maps are ordered by offset: one pass over the two.
        let base = tb.clone();
        let part = |o: u32, w: u32| Val::bits(slice(&base, o, w));
        let (mut ti, mut ei) = (tl.iter().peekable(), el.iter().peekable());
        // Built in offset order, then bulk-loaded into the map.
        let mut lazy = Vec::with_capacity(tl.len().max(el.len()));
        let mut reached = 0u32;
        loop {
            let (o, w, tv, ev) = match (ti.peek().copied(), ei.peek().copied()) {
                (Some((&to, (tw, tv))), Some((&eo, (ew, ev)))) if (to, *tw) == (eo, *ew) => {
                    ti.next();
                    ei.next();
                    (to, *tw, tv.clone(), ev.clone())
                }
                (Some((&to, (tw, tv))), next) if next.is_none_or(|(&eo, _)| to < eo) => {
                    ti.next();
                    (to, *tw, tv.clone(), part(to, *tw))
                }
                (_, Some((&eo, (ew, ev)))) => {
                    ei.next();
                    (eo, *ew, part(eo, *ew), ev.clone())
                }
                _ => break,
            };
            // Parts that overlap differently on the two sides: no merge
            // by parts.
            if o < reached {
                return None;
            }
            reached = o.saturating_add(w);
            let m = if tv.same(&ev) { tv } else { self.merge_with(c, &tv, &ev, guarded) };
            lazy.push((o, (w, m)));
        }
        Some(Val::Parts(Rc::new(Parts::new(base, lazy.into_iter().collect()))))
    }

    /// `c ? t : e` bit by bit (n ANDs for n differing bits). Inside a
    /// guarded stretch each multiplexer is remembered, and the stretch's
    /// own merge (`guarded`) goes through [`Lowerer::guard_bit`].
    fn mux_bits(&mut self, c: WireId, t: &[WireId], e: &[WireId], guarded: bool) -> Vec<WireId> {
        if guarded {
            return t.iter().zip(e).map(|(&t, &e)| self.guard_bit(c, t, e, 0)).collect();
        }
        let out: Vec<WireId> = t.iter().zip(e).map(|(&t, &e)| self.b.mux_bit(c, t, e)).collect();
        if self.guard_depth > 0 {
            for ((&r, &t), &e) in out.iter().zip(t).zip(e) {
                if t != e && r != t && r != e {
                    self.muxes.insert(r, (c, t, e));
                }
            }
        }
        out
    }

    /// One bit of `live ? t : e` at the end of a guarded stretch. Where `t`
    /// is `c ? x : y`, a multiplexer of a merge inside the stretch, it is
    /// `(live & c) ? x : (live ? y : e)`: so `if c { x = v; break; }` in a
    /// guarded stretch costs one multiplexer of `x` and one AND for
    /// `live & c` (shared by every bit and by the "broke" flag), not two
    /// multiplexers. The inner one is left without readers (unless the
    /// stretch read `x` after the `if`), and optimisation removes it.
    /// Follows at most 16 multiplexers back.
    fn guard_bit(&mut self, live: WireId, t: WireId, e: WireId, depth: u32) -> WireId {
        if t == e {
            return t;
        }
        let (c, x, rest) = match self.muxes.get(&t).copied() {
            Some((c, x, y)) if depth < 16 => {
                let g = self.b.and(live, c);
                let rest = self.guard_bit(live, y, e, depth + 1);
                (g, x, rest)
            }
            _ => (live, t, e),
        };
        let r = self.b.mux_bit(c, x, rest);
        if self.guard_depth > 0 && r != x && r != rest {
            self.muxes.insert(r, (c, x, rest));
        }
        r
    }

    pub(super) fn if_expr(
        &mut self,
        cond: &Expr<Type>,
        then: &Block<Type>,
        els: Option<&Expr<Type>>,
    ) -> LResult<Val> {
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
        let mut then_branch = |l: &mut Self| l.block(then);
        let mut else_branch = |l: &mut Self| match els {
            Some(e) => {
                let v = l.expr(e)?;
                Ok(if l.frame().dead { None } else { Some(v) })
            }
            None => Ok(Some(Val::bits(Vec::new()))),
        };
        self.branches(c, &mut then_branch, &mut else_branch)
    }

    /// Both branches of a choice on the secret wire `c`, each lowered from
    /// the same state by its closure (`None`: every path in it returned),
    /// then the two states and values merged.
    pub(super) fn branches(
        &mut self,
        c: WireId,
        then: &mut dyn FnMut(&mut Self) -> LResult<Option<Val>>,
        els: &mut dyn FnMut(&mut Self) -> LResult<Option<Val>>,
    ) -> LResult<Val> {
        let before = self.frame().state();
        let vt = then(self)?;
        let after_t = self.frame().state();
        self.frame().restore(before);
        let ve = els(self)?;
        let after_e = self.frame().state();
        let value = self.merge_states(c, after_t, after_e, vt, ve, false);
        Ok(value.unwrap_or_else(|| Val::bits(Vec::new())))
    }

    /// Sets the frame to the merge of two branches' end states `t` (where
    /// `c` holds) and `e`, and returns the merge of their values (`None`:
    /// the branch stopped). With `disjoint` ([`Lowerer::guarded`]), the
    /// innermost loop's exit flags of `e` are known clear where `c` holds:
    /// they merge as `e ^ (c & t)`, one AND only for a flag that `t` sets on
    /// a secret condition.
    fn merge_states(
        &mut self,
        c: WireId,
        t: super::State,
        e: super::State,
        vt: Option<Val>,
        ve: Option<Val>,
        disjoint: bool,
    ) -> Option<Val> {
        let returned = match (t.returned, e.returned) {
            (None, None) => None,
            (rt, re) => {
                let (rt, re) = (rt.unwrap_or(WireId::ZERO), re.unwrap_or(WireId::ZERO));
                Some(self.b.mux_bit(c, rt, re))
            }
        };
        let ret = match (&t.ret, &e.ret) {
            (Some(x), Some(y)) => Some(self.merge_with(c, x, y, disjoint)),
            (Some(x), None) => Some(x.clone()),
            (None, y) => y.clone(),
        };
        let dead = t.dead && e.dead;
        // A branch in which every path returned leaves nothing to merge
        // (the function's value is selected by "returned"); a branch that
        // stopped by `break` or `continue` does: its variables live on.
        let t_returned = t.returned == Some(WireId::ONE);
        let e_returned = e.returned == Some(WireId::ONE);
        let (vals, loops) = if t_returned {
            (e.vals, e.loops)
        } else if e_returned {
            (t.vals, t.loops)
        } else {
            let mut vals = e.vals;
            for (k, slot) in vals.iter_mut().enumerate() {
                if let Some(tv) = t.vals.get(k) {
                    if !tv.same(slot) {
                        *slot = self.merge_with(c, tv, slot, disjoint);
                    }
                }
            }
            let mut loops = e.loops;
            let innermost = loops.len().checked_sub(1);
            for (k, flags) in loops.iter_mut().enumerate() {
                let Some(tf) = t.loops.get(k) else { continue };
                let disjoint = disjoint && Some(k) == innermost;
                flags.broke = self.merge_flag(c, tf.broke, flags.broke, disjoint);
                flags.continued = self.merge_flag(c, tf.continued, flags.continued, disjoint);
            }
            (vals, loops)
        };
        let value = match (vt, ve) {
            (Some(a), Some(b)) => Some(self.merge(c, &a, &b)),
            (Some(a), None) => Some(a),
            (None, b) => b,
        };
        let f = self.frame();
        f.vals = vals;
        f.returned = returned;
        f.ret = ret;
        f.dead = dead;
        f.loops = loops;
        value
    }

    /// `if c { t } else { e }` on one exit flag; with `disjoint`, `e` is
    /// known clear where `c` holds, so `e ^ (c & t)`: free when `t` is a
    /// constant.
    fn merge_flag(&mut self, c: WireId, t: WireId, e: WireId, disjoint: bool) -> WireId {
        if t == e {
            t
        } else if disjoint {
            let m = self.b.and(c, t);
            self.b.xor(e, m)
        } else {
            self.b.mux_bit(c, t, e)
        }
    }

    /// `break` (or `continue`) on the current path: its flag in the
    /// innermost loop is set, and the path stops (the rest of the block is
    /// skipped; where the path is secret, the merge of the enclosing `if`
    /// turns the flag into its condition).
    pub(super) fn exit_loop(&mut self, is_break: bool) {
        if self.frame().dead {
            return;
        }
        if is_break {
            if let Some(n) = self.breaks.last_mut() {
                *n += 1;
            }
        }
        let f = self.frame();
        // The checker allows `break` only inside a loop of the function.
        let Some(flags) = f.loops.last_mut() else { return };
        if is_break {
            flags.broke = WireId::ONE;
        } else {
            flags.continued = WireId::ONE;
        }
        f.dead = true;
    }

    /// Where the innermost loop of the current function still runs, when
    /// the current path may have left it (or its iteration) on a secret
    /// condition; `None` when nothing needs guarding (no loop, or no exit
    /// that is not known at compile time: a path known to have left is
    /// dead instead).
    pub(super) fn secret_live(&mut self) -> Option<WireId> {
        let flags = *self.frame().loops.last()?;
        let left = self.b.xor(flags.broke, flags.continued);
        if left.is_const() {
            return None;
        }
        Some(self.b.not(left))
    }

    /// `rest` (the rest of a block, or what a statement does once its
    /// operands are evaluated) lowered only where `live` holds: as
    /// `if live { rest }` with no `else`, where the innermost loop's exit
    /// flags start clear and merge back as `old ^ (live & new)`. The value
    /// is `rest`'s (it matters only where the loop still runs).
    pub(super) fn guarded(
        &mut self,
        live: WireId,
        rest: impl FnOnce(&mut Self) -> LResult<Option<Val>>,
    ) -> LResult<Option<Val>> {
        let mut stopped = self.frame().state();
        if let Some(flags) = self.frame().loops.last_mut() {
            *flags = LoopFlags::default();
        }
        self.guard_depth += 1;
        let v = rest(self);
        self.guard_depth -= 1;
        let v = v?;
        let after = self.frame().state();
        // Where `live` is clear the path has left: it stays as it was.
        stopped.dead = true;
        let value = self.merge_states(live, after, stopped, v, None, true);
        if self.guard_depth == 0 {
            self.muxes.clear();
        }
        Ok(value)
    }

    /// The end of one iteration of the innermost loop: `continue` is
    /// cleared, and whether the loop stops (every path broke or returned).
    pub(super) fn end_iteration(&mut self) -> bool {
        let f = self.frame();
        let returned = f.returned == Some(WireId::ONE);
        f.dead = returned;
        let Some(flags) = f.loops.last_mut() else { return true };
        flags.continued = WireId::ZERO;
        returned || flags.broke == WireId::ONE
    }

    /// Starts a loop: its exit flags clear.
    pub(super) fn begin_loop(&mut self) {
        self.frame().loops.push(LoopFlags::default());
        self.breaks.push(0);
    }

    /// Ends the innermost loop; how many `break`s of it were lowered. Paths
    /// that left it go on after it; the block stops only where every path
    /// returned.
    pub(super) fn end_loop(&mut self) -> u64 {
        let f = self.frame();
        f.loops.pop();
        f.dead = f.returned == Some(WireId::ONE);
        self.breaks.pop().unwrap_or(0)
    }
}
