//! The integer methods with Rust's results at every width and signedness:
//! `saturating_add/sub/mul`, `checked_add/sub/mul/div/rem` (an
//! `Option`: `is_some` then the value, zero when `None`),
//! `leading_zeros`, `trailing_zeros` and `rotate_left/right`. (The
//! `wrapping_*` methods are the operators themselves.)

use super::value::Val;
use super::{LResult, Lowerer};
use crate::types::Type;
use garblet_circuits::{Bits, Sign, WireId};

impl Lowerer<'_> {
    /// `a op b` with Rust's overflow: `(result mod 2^n, overflowed)`.
    fn overflowing(&mut self, op: &str, a: &Bits, b: &Bits, signed: bool) -> (Bits, WireId) {
        let n = a.len() as u32;
        if n == 0 {
            return (Vec::new(), WireId::ZERO);
        }
        let sign = if signed { Sign::Signed } else { Sign::Unsigned };
        let top = |v: &Bits| v.last().copied().unwrap_or(WireId::ZERO);
        match op {
            "add" | "sub" => {
                if signed {
                    let r = if op == "add" { self.b.add(a, b) } else { self.b.sub(a, b) };
                    // Overflow: the operands' signs agree (add) / differ
                    // (sub), and the result's sign differs from a's.
                    let (sa, sb, sr) = (top(a), top(b), top(&r));
                    let ab = self.b.xor(sa, sb);
                    let same = if op == "add" { self.b.not(ab) } else { ab };
                    let flip = self.b.xor(sr, sa);
                    let ov = self.b.and(same, flip);
                    (r, ov)
                } else {
                    // One bit wider: the carry (add) or borrow (sub) out.
                    let wa = self.b.resize(a, n + 1, Sign::Unsigned);
                    let wb = self.b.resize(b, n + 1, Sign::Unsigned);
                    let mut r = if op == "add" { self.b.add(&wa, &wb) } else { self.b.sub(&wa, &wb) };
                    let ov = r.pop().unwrap_or(WireId::ZERO);
                    (r, ov)
                }
            }
            _ => {
                // mul: the full 2n-bit product; overflow when its high bits
                // are not the extension of the low n.
                let wa = self.b.resize(a, 2 * n, sign);
                let wb = self.b.resize(b, 2 * n, sign);
                // Sums keep their constants in 128 bits: wider products
                // go straight to the multiplier.
                let p = if 2 * n <= 128 {
                    let p = self.mul(&Val::bits(wa), &Val::bits(wb), 2 * n);
                    self.bits(&p).to_vec()
                } else {
                    self.b.mul(&wa, &wb)
                };
                let low = p[..n as usize].to_vec();
                let mut ov = WireId::ZERO;
                let ext = if signed { top(&low) } else { WireId::ZERO };
                for &w in &p[n as usize..] {
                    let d = self.b.xor(w, ext);
                    ov = self.b.or(ov, d);
                }
                (low, ov)
            }
        }
    }

    /// `Some(v)` if `ok`, else `None` (zeros).
    fn option_of(&mut self, ok: WireId, v: &Bits) -> Val {
        let mut out = vec![ok];
        for &w in v {
            out.push(self.b.and(ok, w));
        }
        Val::bits(out)
    }

    /// An integer method (`name` without its `__`) on lowered operands.
    pub(super) fn int_method(&mut self, name: &str, ty: &Type, vals: &[Val]) -> LResult<Val> {
        let signed = ty.is_signed();
        let a = self.bits(&vals[0]).to_vec();
        let n = a.len();
        let b = match vals.get(1) {
            Some(v) => self.bits(v).to_vec(),
            None => Vec::new(),
        };
        Ok(match name {
            "saturating_add" | "saturating_sub" | "saturating_mul" => {
                let op = &name["saturating_".len()..];
                let (r, ov) = self.overflowing(op, &a, &b, signed);
                let sat: Bits = if signed {
                    // MIN when the exact result is negative, else MAX.
                    let sa = a.last().copied().unwrap_or(WireId::ZERO);
                    let neg = if op == "mul" {
                        let sb = b.last().copied().unwrap_or(WireId::ZERO);
                        self.b.xor(sa, sb)
                    } else {
                        sa
                    };
                    let pos = self.b.not(neg);
                    let mut s = vec![pos; n.saturating_sub(1)];
                    s.push(neg);
                    s
                } else {
                    vec![if op == "sub" { WireId::ZERO } else { WireId::ONE }; n]
                };
                Val::bits(self.b.mux(ov, &sat, &r))
            }
            "checked_add" | "checked_sub" | "checked_mul" => {
                let (r, ov) = self.overflowing(&name["checked_".len()..], &a, &b, signed);
                let ok = self.b.not(ov);
                self.option_of(ok, &r)
            }
            "checked_div" | "checked_rem" => {
                let sign = if signed { Sign::Signed } else { Sign::Unsigned };
                let r =
                    if name == "checked_div" { self.b.div(&a, &b, sign) } else { self.b.rem(&a, &b, sign) };
                let zero = vec![WireId::ZERO; n];
                let mut bad = self.b.eq(&b, &zero);
                if signed && n > 0 {
                    // MIN / -1 overflows.
                    let mut min = vec![WireId::ZERO; n];
                    min[n - 1] = WireId::ONE;
                    let is_min = self.b.eq(&a, &min);
                    let minus_one = self.b.eq(&b, &vec![WireId::ONE; n]);
                    let both = self.b.and(is_min, minus_one);
                    bad = self.b.or(bad, both);
                }
                let ok = self.b.not(bad);
                self.option_of(ok, &r)
            }
            "leading_zeros" | "trailing_zeros" => {
                // The zeros before the first one: the positions where the
                // OR of the bits so far (from that end) is still 0.
                let order: Vec<WireId> =
                    if name == "leading_zeros" { a.iter().rev().copied().collect() } else { a.clone() };
                let mut seen = WireId::ZERO;
                let mut none_yet = Vec::with_capacity(n);
                for w in order {
                    seen = self.b.or(seen, w);
                    none_yet.push(self.b.not(seen));
                }
                let count = self.b.popcount(&none_yet);
                Val::bits(self.b.resize(&count, 32, Sign::Unsigned))
            }
            "rotate_left" | "rotate_right" => {
                // Barrel rotation over the amount's low log2(n) bits.
                let k = n.trailing_zeros() as usize;
                let mut cur = a;
                for (j, &s) in b.iter().take(k).enumerate() {
                    let by = (1usize << j) % n.max(1);
                    let rotated: Bits = (0..n)
                        .map(
                            |i| if name == "rotate_left" { cur[(i + n - by) % n] } else { cur[(i + by) % n] },
                        )
                        .collect();
                    cur = self.b.mux(s, &rotated, &cur);
                }
                Val::bits(cur)
            }
            _ => Val::bits(a),
        })
    }
}
