//! Values during lowering, and arithmetic on compile-time constants.
//!
//! A value is plain wires, a sum not yet added up ([`Val::Lin`], see
//! [`super::linear`]), or an aggregate whose parts at constant places keep
//! such sums ([`Val::Parts`]: a counter in an array costs what a scalar
//! one does, and a secret `if` that touches one element merges that
//! element alone). Kept apart from the walk over the syntax because
//! every other lowering file reads values, and the constant evaluation here
//! (`const_binary`) must agree bit for bit with the gadgets it stands in for.

use super::linear::Lin;
use crate::ast::BinOp;
use garblet_circuits::{Bits, Sign, WireId};
use std::collections::BTreeMap;
use std::rc::Rc;

/// A value during lowering.
#[derive(Clone, Debug)]
pub(super) enum Val {
    /// Any type, flattened.
    Bits(Rc<Vec<WireId>>),
    /// An integer not yet added up.
    Lin(Rc<Lin>),
    /// An aggregate some of whose parts at constant places are values of
    /// their own (sums not yet added up): see [`Parts`].
    Parts(Rc<Parts>),
}

/// An array, struct or tuple whose parts updated at constant places by
/// `op=` (`c[2] += 1`, `s.n += x`) keep their own values, so that a
/// counter in an array is a lazy sum as a scalar one is, and a secret `if`
/// that touches one element merges that element alone. (A part assigned
/// with `=` is stored as wires, and a lazy right operand of `op=` is added
/// up first: no two sums share a tail that each would add up again.)
#[derive(Debug)]
pub(super) struct Parts {
    /// The aggregate's wires, except where `lazy` overrides them.
    pub(super) base: Rc<Vec<WireId>>,
    /// Offset → (width, value), not overlapping. A map, so that writing
    /// the parts of a large array one by one stays O(log n) each.
    pub(super) lazy: BTreeMap<u32, (u32, Val)>,
    /// The flattened wires, once asked for.
    pub(super) cache: std::cell::RefCell<Option<Rc<Vec<WireId>>>>,
}

impl Parts {
    pub(super) fn new(base: Rc<Vec<WireId>>, lazy: BTreeMap<u32, (u32, Val)>) -> Parts {
        Parts { base, lazy, cache: std::cell::RefCell::new(None) }
    }

    /// The value kept for exactly `offset..offset + width`, if any.
    pub(super) fn part(&self, offset: u32, width: u32) -> Option<&Val> {
        self.lazy.get(&offset).filter(|(w, _)| *w == width).map(|(_, v)| v)
    }

    /// The value at `offset..offset + width` without flattening: the part
    /// kept there, or the base's wires where no kept part overlaps; `None`
    /// where kept parts cover it partly (then the caller flattens).
    pub(super) fn read(&self, offset: u32, width: u32) -> Option<Val> {
        if let Some(v) = self.part(offset, width) {
            return Some(v.clone());
        }
        let end = offset.saturating_add(width);
        let before =
            self.lazy.range(..offset).next_back().is_some_and(|(&k, &(w, _))| k.saturating_add(w) > offset);
        if before || self.lazy.range(offset..end).next().is_some() {
            return None;
        }
        Some(Val::bits(slice(&self.base, offset, width)))
    }
}

impl Val {
    /// The part `offset..offset + width` of an aggregate value, read
    /// without flattening a [`Parts`] when it can be.
    pub(super) fn read_part(&self, offset: u32, width: u32) -> Option<Val> {
        match self {
            Val::Parts(p) => p.read(offset, width),
            Val::Bits(b) => Some(Val::bits(slice(b, offset, width))),
            Val::Lin(_) => None,
        }
    }
}

impl Val {
    pub(super) fn bits(b: Bits) -> Val {
        Val::Bits(Rc::new(b))
    }

    pub(super) fn same(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Bits(a), Val::Bits(b)) => Rc::ptr_eq(a, b) || a == b,
            (Val::Lin(a), Val::Lin(b)) => Rc::ptr_eq(a, b),
            (Val::Parts(a), Val::Parts(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

pub(super) fn mask(width: u32) -> u128 {
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// The value of all-constant bits (unsigned).
pub(super) fn const_value(bits: &[WireId]) -> Option<u128> {
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
pub(super) fn const_value_signed(bits: &[WireId], signed: bool) -> Option<i128> {
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

/// The value of a compile-time constant (`None` if any bit is secret).
pub(super) fn const_of(v: &Val) -> Option<u128> {
    match v {
        Val::Bits(b) => const_value(b),
        Val::Lin(l) if l.terms.len() == 0 => Some(l.constant),
        Val::Lin(l) => l.cache.borrow().as_ref().and_then(|b| const_value(b)),
        Val::Parts(p) => p.cache.borrow().as_ref().and_then(|b| const_value(b)),
    }
}

/// `a op b` on constants of `width` bits, with the circuit's semantics
/// (wrapping, division by zero, …); comparisons give 0 or 1. `None` for
/// the operators lowered elsewhere (shifts).
pub(super) fn const_binary(op: BinOp, signed: bool, width: u32, a: u128, b: u128) -> Option<u128> {
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
pub(super) fn is_min_const(bits: &[WireId], sign: Sign) -> bool {
    let n = bits.len();
    bits.iter().enumerate().all(|(k, &w)| {
        let want_one = sign == Sign::Signed && k + 1 == n;
        w == WireId::constant(want_one)
    })
}

pub(super) fn slice(bits: &[WireId], offset: u32, width: u32) -> Bits {
    let (o, w) = (offset as usize, width as usize);
    bits.get(o..o + w).map_or_else(|| vec![WireId::ZERO; w], <[WireId]>::to_vec)
}
