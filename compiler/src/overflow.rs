//! Constant arithmetic that overflows is an error, as in Rust.
//!
//! Rust evaluates arithmetic on constants at compile time and refuses it
//! when it overflows: `const BIG: u8 = 200 + 100;` ("evaluation of
//! constant value failed") and `x + (1 << 40)` on `i32` ("this arithmetic
//! operation will overflow", a lint denied by default). garblet's gates
//! wrap, so without this check such a program compiled and computed 44 and
//! 256. Arithmetic on values only known at run time wraps in garblet (as
//! Rust's release builds do); this check covers what Rust checks at
//! compile time: expressions made of literals, `const`s, associated
//! constants (`u8::MAX`), casts, `-` and the binary operators.
//!
//! The inference records each such operation with its type
//! (`Checker::const_ops`); once every type is known, [`check`] evaluates
//! them exactly and reports the first operation that leaves its type's
//! range, or divides by zero, or shifts by the type's width or more.

use std::collections::HashSet;

use crate::ast::{BinOp, Expr, ExprKind, UnOp};
use crate::check::Checker;
use crate::diag::{Diagnostic, Span};
use crate::infer::Ty;
use crate::types::Type;

/// Nesting evaluated at most (deeper constant expressions are not checked).
const MAX_DEPTH: usize = 64;

impl Checker {
    /// Whether `e` is a constant expression this check evaluates: literals,
    /// `const` names not shadowed by a local, casts, `-` and the integer
    /// operators.
    pub(crate) fn is_constant(&self, e: &Expr<Ty>) -> bool {
        self.constant_at(e, 0)
    }

    fn constant_at(&self, e: &Expr<Ty>, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match &e.kind {
            ExprKind::Int { .. } => true,
            ExprKind::Var(name) => self.lookup(name).is_none() && self.consts.contains_key(name),
            ExprKind::Cast(a, _) | ExprKind::Unary(UnOp::Neg, a) => self.constant_at(a, depth + 1),
            ExprKind::Binary(op, a, b) => {
                is_integer_op(*op) && self.constant_at(a, depth + 1) && self.constant_at(b, depth + 1)
            }
            _ => false,
        }
    }
}

/// `+ - * / % << >> & | ^`.
pub(crate) fn is_integer_op(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Add
            | BinOp::Sub
            | BinOp::Mul
            | BinOp::Div
            | BinOp::Rem
            | BinOp::Shl
            | BinOp::Shr
            | BinOp::BitAnd
            | BinOp::BitOr
            | BinOp::BitXor
    )
}

/// Reports each recorded constant operation that overflows (once per
/// place: an operation inside another is reported, not the outer one).
pub(crate) fn check(c: &mut Checker) {
    let mut reported = HashSet::new();
    for e in std::mem::take(&mut c.const_ops) {
        if let Err(Some((span, d))) = eval(c, &e, 0) {
            if reported.insert(span) {
                c.err(d);
            }
        }
    }
}

/// A failed evaluation: the overflow found (its place and diagnostic), or
/// `None` when the value is not known here (not an integer, a `const` in
/// error, too deep).
type Failure = Option<(Span, Diagnostic)>;

/// The integer type of `e`, once inferred (an untyped literal is an i32).
fn int_type(c: &mut Checker, e: &Expr<Ty>) -> Option<(bool, u32)> {
    match c.find(&e.ty) {
        Ty::Int { signed, bits } => Some((signed, bits)),
        Ty::Var(_) => Some((true, 32)),
        _ => None,
    }
}

/// The range of an integer type of fewer than 128 bits.
fn range(signed: bool, bits: u32) -> (i128, i128) {
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// `v` reduced to the range of a type of fewer than 128 bits, as Rust's
/// `as` does.
fn wrap(v: i128, signed: bool, bits: u32) -> i128 {
    let m = v & ((1i128 << bits) - 1);
    if signed && m >> (bits - 1) & 1 == 1 {
        m - (1i128 << bits)
    } else {
        m
    }
}

fn eval(c: &mut Checker, e: &Expr<Ty>, depth: usize) -> Result<i128, Failure> {
    if depth > MAX_DEPTH {
        return Err(None);
    }
    let (signed, bits) = int_type(c, e).ok_or(None)?;
    // 128-bit values are not followed (u128's range is beyond i128's).
    if bits >= 128 {
        return Err(None);
    }
    let (lo, hi) = range(signed, bits);
    let overflow = |what: String, shown: String| -> Failure {
        let t = Type::Int { signed, bits };
        Some((
            e.span,
            Diagnostic::new(e.span, "this arithmetic operation will overflow")
                .with_label(format!("{what} is {shown}, which does not fit in {t} ({lo} to {hi})"))
                .with_help(
                    "Rust refuses it too; compute it in a wider type, or write the wrapped value you mean (`wrapping_*` methods wrap)",
                ),
        ))
    };
    match &e.kind {
        ExprKind::Int { negative, value, .. } => {
            let v = i128::try_from(*value).map_err(|_| None)?;
            Ok(if *negative { -v } else { v })
        }
        ExprKind::Var(name) => {
            let v = c.const_values.get(name).copied().flatten();
            let v = match v {
                Some(v) => v,
                None => {
                    let Some((_, expr)) = c.consts.get(name).cloned() else { return Err(None) };
                    silent_value(c, &expr, 0).ok_or(None)?
                }
            };
            // A constant outside its type was reported where it is defined.
            if v < lo || v > hi {
                return Err(None);
            }
            Ok(v)
        }
        ExprKind::Cast(a, _) => {
            let v = eval(c, a, depth + 1)?;
            Ok(wrap(v, signed, bits))
        }
        ExprKind::Unary(UnOp::Neg, a) => {
            let v = eval(c, a, depth + 1)?;
            let r = -v;
            if r < lo || r > hi {
                return Err(overflow(format!("`-({v})`"), r.to_string()));
            }
            Ok(r)
        }
        ExprKind::Binary(op, a, b) if is_integer_op(*op) => {
            let x = eval(c, a, depth + 1)?;
            let y = eval(c, b, depth + 1)?;
            let sym = op.as_str();
            let shown = format!("`{x} {sym} {y}`");
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div | BinOp::Rem => {
                    if y == 0 {
                        let d = Diagnostic::new(e.span, "this operation divides by zero")
                            .with_label(format!("{shown} divides by a constant zero"))
                            .with_help("Rust refuses it too; divide by another value");
                        return Err(Some((e.span, d)));
                    }
                    if *op == BinOp::Div {
                        x.checked_div(y)
                    } else {
                        x.checked_rem(y)
                    }
                }
                BinOp::Shl | BinOp::Shr => {
                    if y < 0 || y >= i128::from(bits) {
                        let d = Diagnostic::new(e.span, "this arithmetic operation will overflow")
                            .with_label(format!(
                                "{shown} shifts by {y}, and {} has {bits} bits",
                                Type::Int { signed, bits }
                            ))
                            .with_help(
                                "Rust refuses it too; shift by less than the width, or use a wider type",
                            );
                        return Err(Some((e.span, d)));
                    }
                    // Bits shifted out of the type are dropped, as in Rust.
                    let s = y as u32;
                    Some(if *op == BinOp::Shl { wrap(x.wrapping_shl(s), signed, bits) } else { x >> s })
                }
                BinOp::BitAnd => Some(x & y),
                BinOp::BitOr => Some(x | y),
                BinOp::BitXor => Some(wrap(x ^ y, signed, bits)),
                _ => None,
            };
            match r {
                Some(r) if r >= lo && r <= hi => Ok(r),
                Some(r) => Err(overflow(shown, r.to_string())),
                None => Err(overflow(shown, "beyond 128 bits".to_owned())),
            }
        }
        _ => Err(None),
    }
}

/// A `const`'s value from its definition (exact; `None` if it is not a
/// plain integer expression), with no diagnostics: its own definition is
/// checked where it is typed.
fn silent_value(c: &Checker, e: &Expr<()>, depth: usize) -> Option<i128> {
    if depth > MAX_DEPTH {
        return None;
    }
    match &e.kind {
        ExprKind::Int { negative, value, .. } => {
            let v = i128::try_from(*value).ok()?;
            Some(if *negative { -v } else { v })
        }
        ExprKind::Var(name) => {
            let (_, expr) = c.consts.get(name)?;
            silent_value(c, expr, depth + 1)
        }
        ExprKind::Unary(UnOp::Neg, a) => silent_value(c, a, depth + 1)?.checked_neg(),
        ExprKind::Binary(op, a, b) => {
            let (x, y) = (silent_value(c, a, depth + 1)?, silent_value(c, b, depth + 1)?);
            match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div => x.checked_div(y),
                BinOp::Rem => x.checked_rem(y),
                BinOp::BitAnd => Some(x & y),
                BinOp::BitOr => Some(x | y),
                BinOp::BitXor => Some(x ^ y),
                _ => None,
            }
        }
        _ => None,
    }
}
