//! `match` and enum values.
//!
//! An enum value is its tag (the variant's discriminant) then the
//! variant's fields, zero to the enum's width (`crate::types`). A `match`
//! evaluates its scrutinee once; each arm's pattern becomes a condition on
//! the scrutinee's wires (comparisons with constants, ANDed over the parts
//! of a tuple or variant, ORed over `|` alternatives), with the guard
//! ANDed in; the arms then lower as `if c0 { arm0 } else if c1 { arm1 } …
//! else { last arm }` through the secret-`if` machinery
//! (`Lowerer::branches`), so that what the arms assign is merged as an
//! `if` merges it. The checker has made sure the arms cover every value,
//! so the last arm needs no condition.

use super::value::{slice, Val};
use super::{LResult, Lowerer};
use crate::ast::*;
use crate::types::Type;
use garblet_circuits::{Sign, WireId};

impl Lowerer<'_> {
    /// `Enum::Variant(fields…)`: the tag, the fields, zeros.
    pub(super) fn variant_value(
        &mut self,
        ty: &Type,
        variant: &str,
        fields: &[(String, crate::diag::Span, Expr<Type>)],
    ) -> LResult<Val> {
        let Type::Enum { variants, .. } = ty else { return Ok(Val::bits(Vec::new())) };
        let d = variants.iter().find(|v| v.name == variant).map_or(0, |v| v.discriminant);
        let mut out = self.b.constant_bits_u128(d, ty.tag_bits());
        for (_, _, e) in fields {
            let v = self.expr(e)?;
            out.extend_from_slice(&self.bits(&v));
        }
        out.resize(ty.width() as usize, WireId::ZERO);
        Ok(Val::bits(out))
    }

    /// `match scrutinee { arms }`.
    pub(super) fn match_expr(&mut self, scrutinee: &Expr<Type>, arms: &[Arm<Type>]) -> LResult<Val> {
        let v = self.expr(scrutinee)?;
        if self.frame().dead {
            return Ok(Val::bits(Vec::new()));
        }
        let bits = self.bits(&v).to_vec();
        let v = self.arms_from(&bits, &scrutinee.ty, arms)?;
        Ok(v.unwrap_or_else(|| Val::bits(Vec::new())))
    }

    /// The arms from the first of `arms` on, as a chain of `if`/`else`.
    fn arms_from(&mut self, bits: &[WireId], ty: &Type, arms: &[Arm<Type>]) -> LResult<Option<Val>> {
        let Some((arm, rest)) = arms.split_first() else { return Ok(None) };
        if rest.is_empty() {
            return self.arm_body(bits, ty, arm);
        }
        let mut c = self.pattern_condition(&arm.tpat, bits, ty);
        if let Some(g) = &arm.guard {
            self.push_scope();
            self.bind_matched(&arm.tpat, bits, ty);
            let gv = self.expr(g);
            self.pop_scope();
            let gv = gv?;
            let gb = self.bits(&gv).first().copied().unwrap_or(WireId::ZERO);
            c = self.b.and(c, gb);
        }
        if c == WireId::ONE {
            return self.arm_body(bits, ty, arm);
        }
        if c == WireId::ZERO {
            return self.arms_from(bits, ty, rest);
        }
        let mut then = |l: &mut Self| l.arm_body(bits, ty, arm);
        let mut els = |l: &mut Self| l.arms_from(bits, ty, rest);
        self.tick(arm.span)?;
        self.branches(c, &mut then, &mut els).map(Some)
    }

    /// One arm's value, its pattern's names bound.
    fn arm_body(&mut self, bits: &[WireId], ty: &Type, arm: &Arm<Type>) -> LResult<Option<Val>> {
        self.push_scope();
        self.bind_matched(&arm.tpat, bits, ty);
        let v = self.expr(&arm.body);
        self.pop_scope();
        let v = v?;
        Ok(if self.frame().dead { None } else { Some(v) })
    }

    /// Binds the names of `p` to the parts of `bits` they stand for.
    fn bind_matched(&mut self, p: &TPat, bits: &[WireId], ty: &Type) {
        match p {
            TPat::Bind(name) => self.bind(name, Val::bits(bits.to_vec())),
            TPat::Tuple(ps) => {
                for (q, (off, t)) in ps.iter().zip(ty.parts()) {
                    let part = slice(bits, off, t.width());
                    self.bind_matched(q, &part, t);
                }
            }
            TPat::Variant(k, ps) => {
                if let Type::Enum { variants, .. } = ty {
                    let mut off = ty.tag_bits();
                    let fields = variants.get(*k).map(|v| v.fields.as_slice()).unwrap_or_default();
                    for (q, (_, t)) in ps.iter().zip(fields) {
                        let part = slice(bits, off, t.width());
                        self.bind_matched(q, &part, t);
                        off = off.saturating_add(t.width());
                    }
                }
            }
            TPat::Wild | TPat::Bool(_) | TPat::Int(..) | TPat::Or(_) => {}
        }
    }

    /// The wire that says whether `bits` (a value of `ty`) matches `p`.
    fn pattern_condition(&mut self, p: &TPat, bits: &[WireId], ty: &Type) -> WireId {
        match p {
            TPat::Wild | TPat::Bind(_) => WireId::ONE,
            TPat::Bool(b) => {
                let w = bits.first().copied().unwrap_or(WireId::ZERO);
                if *b {
                    w
                } else {
                    self.b.not(w)
                }
            }
            TPat::Int(lo, hi) => {
                let n = bits.len() as u32;
                // The key: the value with its sign bit flipped when signed.
                let mut key = bits.to_vec();
                if ty.is_signed() {
                    if let Some(last) = key.last_mut() {
                        *last = self.b.not(*last);
                    }
                }
                let max = if n >= 128 { u128::MAX } else { (1u128 << n) - 1 };
                if lo == hi {
                    let k = self.b.constant_bits_u128(*lo, n);
                    return self.b.eq(&key, &k);
                }
                let ge = if *lo == 0 {
                    WireId::ONE
                } else {
                    let k = self.b.constant_bits_u128(*lo, n);
                    self.b.ge(&key, &k, Sign::Unsigned)
                };
                let le = if *hi == max {
                    WireId::ONE
                } else {
                    let k = self.b.constant_bits_u128(*hi, n);
                    self.b.le(&key, &k, Sign::Unsigned)
                };
                self.b.and(ge, le)
            }
            TPat::Tuple(ps) => {
                let mut c = WireId::ONE;
                for (q, (off, t)) in ps.iter().zip(ty.parts()) {
                    let part = slice(bits, off, t.width());
                    let qc = self.pattern_condition(q, &part, t);
                    c = self.b.and(c, qc);
                }
                c
            }
            TPat::Variant(k, ps) => {
                let Type::Enum { variants, .. } = ty else { return WireId::ZERO };
                let tag_bits = ty.tag_bits();
                let d = variants.get(*k).map_or(0, |v| v.discriminant);
                let tag = slice(bits, 0, tag_bits);
                let want = self.b.constant_bits_u128(d, tag_bits);
                let mut c = self.b.eq(&tag, &want);
                let mut off = tag_bits;
                let fields = variants.get(*k).map(|v| v.fields.as_slice()).unwrap_or_default();
                for (q, (_, t)) in ps.iter().zip(fields) {
                    let part = slice(bits, off, t.width());
                    let qc = self.pattern_condition(q, &part, t);
                    c = self.b.and(c, qc);
                    off = off.saturating_add(t.width());
                }
                c
            }
            TPat::Or(alts) => {
                let mut c = WireId::ZERO;
                for q in alts {
                    let qc = self.pattern_condition(q, bits, ty);
                    c = self.b.or(c, qc);
                }
                c
            }
        }
    }
}
