//! Fixed-point arithmetic (`I16F16`, `U8F8`, …) on wires, with the
//! semantics of the `fixed` crate's `wrapping_*` operations.
//!
//! A fixed-point value is the integer `x` of its bits scaled by 2^-f, so
//! most operations are the integer ones on those bits and never come here:
//! `+`, `-`, unary `-`, comparisons, `min`, `max`, `abs` (all wrapping, as
//! for integers). What differs:
//!
//! - `a * b`: the full product of the extended operands, `a·b`, shifted
//!   right by f — the floor of the exact product (rounding toward −∞, as
//!   `fixed` does) — and wrapped to n bits. Only the low n + f bits of the
//!   product are computed (the bits above can only wrap away), as one
//!   product term of the lazy sums (`linear.rs`), so partial products are
//!   taken of the significant bits only and a constant factor is a few
//!   shifted additions; past 128 bits (I64F64 and wider), by
//!   `Builder::mul`.
//! - `a / b`: `(a · 2^f) / b` truncated toward zero, as `fixed` does, and
//!   wrapped to n bits: an unsigned division of the magnitudes at
//!   n + f (+ 1 when signed) bits, whose divisor is zero-extended so the
//!   divider's steps stay short, then the sign. `a / 0` has every bit set,
//!   as for the integers: `MAX` unsigned, `-DELTA` signed (`fixed` panics).
//! - `as`: free rewiring, as `fixed`'s `wrapping_to_num` /
//!   `wrapping_from_num`: fraction bits dropped round toward −∞, integer
//!   bits wrap.

use super::value::{slice, Val};
use super::Lowerer;
use crate::types::Type;
use garblet_circuits::{Bits, Shift, Sign, WireId};

/// Signedness, fraction bits and width of a fixed-point type (`None` for
/// other types).
pub(super) fn format(ty: &Type) -> Option<(Sign, u32, u32)> {
    match ty {
        Type::Fixed { signed, int_bits, frac_bits } => {
            Some((if *signed { Sign::Signed } else { Sign::Unsigned }, *frac_bits, int_bits + frac_bits))
        }
        _ => None,
    }
}

impl Lowerer<'_> {
    /// `x * y` of a fixed-point type of `n` bits, `f` of them fraction bits.
    pub(super) fn fixed_mul(&mut self, x: &Val, y: &Val, sign: Sign, f: u32, n: u32) -> Val {
        if f == 0 {
            // An integer product: a lazy term, summed with what it meets.
            return self.mul(x, y, n);
        }
        let a = self.bits(x);
        let b = self.bits(y);
        let w = n + f;
        let a = self.b.resize(&a, w, sign);
        let b = self.b.resize(&b, w, sign);
        let bits = if w <= 128 {
            let product = self.mul(&Val::bits(a), &Val::bits(b), w);
            self.bits(&product).to_vec()
        } else {
            // A column sum holds its constant in 128 bits (`Columns`), too
            // few for the signed partial products past bit 127: the
            // builder's multiplier, which takes the product at the
            // operands' significant width.
            self.b.mul(&a, &b)
        };
        Val::bits(slice(&bits, f, n))
    }

    /// `x / y` of a fixed-point type of `n` bits, `f` of them fraction bits.
    pub(super) fn fixed_div(&mut self, x: &Val, y: &Val, sign: Sign, f: u32, n: u32) -> Val {
        let a = self.bits(x);
        let b = self.bits(y);
        if f == 0 {
            return Val::bits(self.b.div(&a, &b, sign));
        }
        if sign == Sign::Unsigned {
            let quotient = self.unsigned_scaled_div(&a, &b, f);
            return Val::bits(quotient[..n as usize].to_vec());
        }
        // Magnitudes at n + 1 bits (|MIN| needs them), divided unsigned;
        // the quotient is negated when the signs differ and `b != 0`, so
        // that `a / 0` keeps every bit set, as `Builder::div` does.
        let (sa, sb) = (a[n as usize - 1], b[n as usize - 1]);
        let wide_a = self.b.resize(&a, n + 1, Sign::Signed);
        let wide_b = self.b.resize(&b, n + 1, Sign::Signed);
        let ua = self.b.cond_neg(&wide_a, sa);
        let ub = self.b.cond_neg(&wide_b, sb);
        let quotient = self.unsigned_scaled_div(&ua, &ub, f);
        let b_zero = self.b.is_zero(&b);
        let b_nonzero = self.b.not(b_zero);
        let signs_differ = self.b.xor(sa, sb);
        let negate = self.b.and(signs_differ, b_nonzero);
        Val::bits(self.b.cond_neg(&quotient[..n as usize].to_vec(), negate))
    }

    /// `⌊(a · 2^f) / b⌋` of unsigned `a`, `b` of one width, at that width
    /// plus f bits (every bit set when `b == 0`).
    fn unsigned_scaled_div(&mut self, a: &[WireId], b: &[WireId], f: u32) -> Bits {
        let w = a.len() as u32 + f;
        let mut dividend = vec![WireId::ZERO; f as usize];
        dividend.extend_from_slice(a);
        let divisor = self.b.resize(&b.to_vec(), w, Sign::Unsigned);
        self.b.div(&dividend, &divisor, Sign::Unsigned)
    }

    /// `bits as to` where `from` or `to` is a fixed-point type (not `bool`
    /// as the target: the checker refuses it): the value scaled by
    /// 2^(f_to − f_from), rounded toward −∞ when fraction bits are dropped,
    /// wrapped to the target's width. Free.
    pub(super) fn fixed_cast(&self, bits: &Bits, from: &Type, to: &Type) -> Bits {
        let (from_sign, from_frac) = match format(from) {
            Some((sign, f, _)) => (sign, f),
            None if from.is_signed() => (Sign::Signed, 0),
            None => (Sign::Unsigned, 0),
        };
        let (to_frac, to_width) = match (format(to), to) {
            (Some((_, f, n)), _) => (f, n),
            (None, Type::Int { bits, .. }) => (0, *bits),
            // Not produced by the checker.
            (None, _) => return bits.clone(),
        };
        // Room for the value shifted either way without losing a bit.
        let room = bits.len() as u32 + from_frac.abs_diff(to_frac) + to_width;
        let wide = self.b.resize(bits, room, from_sign);
        let shifted = if to_frac >= from_frac {
            self.b.shift_const(&wide, u64::from(to_frac - from_frac), Shift::Left)
        } else {
            let kind = if from_sign == Sign::Signed { Shift::RightArithmetic } else { Shift::RightLogical };
            self.b.shift_const(&wide, u64::from(from_frac - to_frac), kind)
        };
        slice(&shifted, 0, to_width)
    }
}
