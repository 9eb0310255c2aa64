//! Places (`a[i].f = …`) and secret indices.
//!
//! A place is a variable slot and a list of projections: constant slices
//! (fields, tuple parts, indices known at compile time) and secret element
//! choices. A secret read is the builder's multiplexer tree
//! (`Builder::select`); a secret write decodes the index once
//! (`Builder::decode`) and multiplexes each element with its bit.
//! Positions past the end read as zero and writes to them are dropped.
//! Apart from statements because reads (in expressions) and writes (in
//! assignments) share the projections.

use super::value::{const_value, slice};
use super::{Fatal, LResult, Lowerer};
use crate::ast::{Expr, ExprKind};
use crate::diag::{Diagnostic, Span};
use crate::types::Type;
use garblet_circuits::{Bits, WireId};

/// A projection of a place: a constant slice or a secret element choice.
pub(super) enum Proj {
    Const { offset: u32, width: u32 },
    Secret { index: Bits, elem_width: u32, len: u32 },
}

impl Lowerer<'_> {
    /// Resolves a place to its variable slot and projections.
    pub(super) fn place(&mut self, e: &Expr<Type>, projs: &mut Vec<Proj>) -> LResult<Option<usize>> {
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

    pub(super) fn read_projs(&mut self, bits: &[WireId], projs: &[Proj]) -> Bits {
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
                Proj::Secret { index, elem_width, len } => self.b.select(&cur, index, *elem_width, *len),
            };
        }
        cur
    }

    pub(super) fn write_projs(&mut self, container: &mut [WireId], projs: &[Proj], new: &[WireId]) {
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
                let sel = self.b.decode(index, *len);
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
}

pub(super) fn out_of_bounds(span: Span, k: u128, n: u32) -> Diagnostic {
    Diagnostic::new(span, format!("index out of bounds: the length is {n} but the index is {k}"))
        .with_label("known at compile time")
}
