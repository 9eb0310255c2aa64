//! Control flow under secret conditions: merging two branches' states and
//! returns.
//!
//! A secret `if` lowers both branches from the same state; every variable
//! either branch changed is merged with a multiplexer (n ANDs for n bits;
//! unchanged variables cost nothing; two sums with a common tail multiplex
//! only their differences). A `return` under a secret condition sets a
//! "returned" wire; the function's value is selected by it at the end
//! (functions are pure, so nothing else needs undoing). Apart from the
//! statements because the returned-state bookkeeping is shared by `if`,
//! `return` and the end of every function body.

use super::linear::{Lin, Term, Terms};
use super::value::{is_min_const, Val};
use super::{LResult, Lowerer};
use crate::ast::{Block, Expr};
use crate::types::Type;
use garblet_circuits::{Sign, WireId};
use std::rc::Rc;

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

    /// `return v` on the current path: merged with what an earlier return
    /// under a secret condition left (selected by the "returned" wire), and
    /// the rest of the block is dead.
    pub(super) fn return_value(&mut self, v: Val) {
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
}
