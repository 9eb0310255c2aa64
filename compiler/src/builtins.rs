//! The built-ins: functions (`min`, `max`, `abs`, `len`, `count_ones`,
//! `cohort`, and `__neg`, which `wrapping_neg()` parses to) and the
//! associated constants `MIN`, `MAX` and `BITS` of the integer types and
//! `MIN`, `MAX` and `DELTA` of the fixed-point types.
//!
//! `cohort(count, K, value)` is the minimum-cohort guard: `value` when
//! `count >= K`, otherwise the sentinel (every bit set), computed in the
//! circuit. Here it is typed (`count` an unsigned integer, `K` of the same
//! type, the result of `value`'s type); lowering checks that `K` is known
//! at compile time and `count` is not, and records the wires it releases
//! (`lower/expr.rs`), from which [`crate::Program::cohort`] is decided.
//!
//! One place for what the language provides besides its syntax: the
//! checker resolves `u8::MAX` here ([`Checker::assoc_const`]) and types
//! calls here ([`Checker::builtin_call`]); lowering maps each built-in onto
//! a gadget (`lower/expr.rs`). The parser knows none of it.

use crate::ast::*;
use crate::check::Checker;
use crate::diag::{Diagnostic, Span};
use crate::fixed::Format;
use crate::infer::Ty;
use crate::types::{fixed_type_by_name, int_type_by_name, Type};

/// The built-in functions' names.
const BUILTINS: &[&str] = &["min", "max", "abs", "len", "count_ones", "cohort", "__neg"];

/// The integer methods beyond the operators, as the parser names them.
const INT_METHODS: &[&str] = &[
    "__saturating_add",
    "__saturating_sub",
    "__saturating_mul",
    "__checked_add",
    "__checked_sub",
    "__checked_mul",
    "__checked_div",
    "__checked_rem",
    "__leading_zeros",
    "__trailing_zeros",
    "__rotate_left",
    "__rotate_right",
];

/// Whether `name` is an integer method (`x.saturating_add(y)` is the call
/// `__saturating_add(x, y)`).
pub(crate) fn is_int_method(name: &str) -> bool {
    INT_METHODS.contains(&name)
}

/// Whether `name` is a built-in function.
pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

/// `ty_name::member` for an integer type (`u8::MAX`, `i32::MIN`,
/// `u64::BITS`) as the literal it stands for: `MIN` and `MAX` typed as the
/// type itself, `BITS` as a `u32`. `None` when `ty_name` is not an integer
/// type; `Some(Err(()))` for a member other than these three.
fn associated_const(ty_name: &str, member: &str) -> Option<Result<ExprKind<()>, ()>> {
    if let Some(ty) = fixed_type_by_name(ty_name) {
        return Some(fixed_const(&ty, ty_name, member));
    }
    let Some(Type::Int { signed, bits }) = int_type_by_name(ty_name) else { return None };
    let (negative, value) = match member {
        "MAX" if signed => (false, (1u128 << (bits - 1)) - 1),
        "MAX" => (false, if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 }),
        "MIN" if signed => (true, 1u128 << (bits - 1)),
        "MIN" => (false, 0),
        "BITS" => {
            return Some(Ok(ExprKind::Int {
                negative: false,
                value: u128::from(bits),
                suffix: Some("u32".into()),
            }))
        }
        _ => return Some(Err(())),
    };
    Some(Ok(ExprKind::Int { negative, value, suffix: Some(ty_name.to_owned()) }))
}

/// `MIN`, `MAX`, `DELTA` (the smallest positive value), `ZERO` and `ONE`
/// (where 1 fits) of a fixed-point type, as the decimal literal each
/// stands for, typed as the type itself (`I16F16::DELTA` is
/// 0.0000152587890625).
fn fixed_const(ty: &Type, ty_name: &str, member: &str) -> Result<ExprKind<()>, ()> {
    let Some(format) = Format::of(ty) else { return Err(()) };
    let text = match member {
        "MIN" => format.min_text(),
        "MAX" => format.display(format.max_raw()),
        "DELTA" => format.display(1),
        "ZERO" => "0".to_owned(),
        // As in `fixed`: only where 1 is a value of the type.
        "ONE" if format.frac_bits < format.width - u32::from(format.signed) => {
            format.display(1 << format.frac_bits)
        }
        _ => return Err(()),
    };
    let (negative, text) = match text.strip_prefix('-') {
        Some(magnitude) => (true, magnitude.to_owned()),
        None => (false, text),
    };
    Ok(ExprKind::Decimal { negative, text, suffix: Some(ty_name.to_owned()) })
}

/// What to write instead of a count that is not an unsigned integer.
/// The integer methods that fixed-point numbers have too (see
/// `Checker::int_method`).
const FIXED_INT_METHODS: [&str; 4] = ["saturating_add", "saturating_sub", "checked_add", "checked_sub"];

pub(crate) const COUNT_HELP: &str =
    "a count is never negative: give it an unsigned type, e.g. `let mut n = 0u32;` or `n as u32`";

impl Checker {
    /// `ty::member` (an [`ExprKind::Assoc`]) as the integer literal it
    /// stands for, or `None` after reporting why it stands for nothing.
    pub(crate) fn assoc_const(&mut self, ty: &str, member: &str, span: Span) -> Option<ExprKind<()>> {
        match associated_const(ty, member) {
            Some(Ok(kind)) => Some(kind),
            Some(Err(())) if member == "ONE" && fixed_type_by_name(ty).is_some() => {
                let max = fixed_type_by_name(ty).and_then(|t| Format::of(&t)).map(|f| f.display(f.max_raw()));
                self.err(Diagnostic::new(
                    span,
                    format!(
                        "`{ty}::ONE` does not exist: 1 is not a value of {ty}, whose MAX is {}",
                        max.unwrap_or_default()
                    ),
                ));
                None
            }
            Some(Err(())) => {
                let members = if fixed_type_by_name(ty).is_some() {
                    "MIN, MAX, DELTA, ZERO or ONE"
                } else {
                    "MIN, MAX or BITS"
                };
                self.err(Diagnostic::new(span, format!("`{ty}::{member}` is not supported; use {members}")));
                None
            }
            None if matches!(ty, "f32" | "f64") => {
                self.err(
                    Diagnostic::new(span, "floating-point numbers are not supported")
                        .with_help("use a fixed-point type such as I16F16"),
                );
                None
            }
            None if ty.starts_with(|c: char| c.is_ascii_uppercase()) => {
                self.err(
                    Diagnostic::new(span, format!("unknown enum or type `{ty}` in `{ty}::{member}`"))
                        .with_help(format!("declare it, e.g. `enum {ty} {{ {member}, … }}`")),
                );
                None
            }
            None => {
                self.err(
                    Diagnostic::new(span, "paths are not supported")
                        .with_help("a program is one file: write the item's plain name"),
                );
                None
            }
        }
    }

    /// An integer method (`is_int_method`) on typed arguments: the receiver
    /// an integer; the other operand of its type, except a rotation's
    /// amount, a `u32`; `checked_*` give an `Option`.
    pub(crate) fn int_method(&mut self, name: String, args: Vec<Expr<Ty>>, span: Span) -> Expr<Ty> {
        let method = name.trim_start_matches("__").to_owned();
        let unary = method.ends_with("_zeros");
        let want = if unary { 1 } else { 2 };
        if args.len() != want {
            let d = Diagnostic::new(
                span,
                format!("`{method}` takes {} argument(s), {} given", want - 1, args.len() - 1),
            );
            self.err(d);
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        let t = args[0].ty.clone();
        // On a fixed-point number, an addition or subtraction that
        // saturates or is checked is the same operation on its raw bits
        // (as the `fixed` crate defines them); the others are not.
        let fixed_ok = FIXED_INT_METHODS.contains(&method.as_str());
        if self.is_fixed_like(&t) && !fixed_ok {
            let msg = format!("`{method}` is not supported on the fixed-point type {}", self.show(&t));
            self.err(Diagnostic::new(span, msg).with_help(format!(
                "fixed-point numbers have {}; `*` and `/` wrap (as `wrapping_mul` and `wrapping_div`), \
                 and `min`/`max` bound a value",
                FIXED_INT_METHODS.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            )));
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        // (A fixed-point receiver here has one of FIXED_INT_METHODS.)
        if !self.is_number_like(&t) {
            let msg = format!("`{method}` is a method of the integer types, not of {}", self.show(&t));
            self.err(
                Diagnostic::new(span, msg).with_help(format!("convert first, e.g. `(x as u32).{method}(…)`")),
            );
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        let u32_ty = Ty::Int { signed: false, bits: 32 };
        if let Some(b) = args.get(1) {
            let other = if method.starts_with("rotate") { &u32_ty } else { &t };
            if !self.unify(&b.ty, other) {
                self.mismatch(b.span, other, &b.ty);
            }
        }
        let ty = if unary {
            u32_ty
        } else if method.starts_with("checked") {
            Ty::Option(Box::new(t))
        } else {
            t
        };
        Self::typed(ExprKind::Call(name, args), span, ty)
    }

    /// A call of the built-in `name` (already known to be one) on typed
    /// arguments: the number of arguments, then each one's own rule.
    pub(crate) fn builtin_call(&mut self, name: String, args: Vec<Expr<Ty>>, span: Span) -> Expr<Ty> {
        let want = match name.as_str() {
            "min" | "max" => 2,
            "cohort" => 3,
            _ => 1,
        };
        if args.len() != want {
            let mut d =
                Diagnostic::new(span, format!("`{name}` takes {want} argument(s), {} given", args.len()));
            if name == "cohort" {
                d = d.with_help(
                    "write `cohort(count, K, value)`: `value` if `count >= K`, else every bit set",
                );
            }
            self.err(d);
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        let ty = match name.as_str() {
            "min" | "max" => {
                if !self.unify(&args[0].ty, &args[1].ty) {
                    self.mismatch(args[1].span, &args[0].ty, &args[1].ty);
                }
                let t = args[0].ty.clone();
                if !self.is_number_like(&t) {
                    let msg = format!("`{name}` needs numbers, found {}", self.show(&t));
                    self.err(Diagnostic::new(span, msg));
                }
                self.join(&t, &args[1].ty)
            }
            "abs" | "__neg" => {
                let t = args[0].ty.clone();
                if !self.is_number_like(&t) {
                    let msg = format!("`{name}` needs a number, found {}", self.show(&t));
                    self.err(Diagnostic::new(span, msg));
                }
                if name == "abs" {
                    self.must_be_signed.push((span, t.clone(), "`abs`"));
                }
                t
            }
            "cohort" => {
                // count and K: one unsigned integer type (K takes the
                // count's type, as in `count >= K`); the result: value's.
                let t = args[0].ty.clone();
                if !self.is_int_like(&t) {
                    let msg =
                        format!("the count of `cohort` must be an unsigned integer, found {}", self.show(&t));
                    self.err(Diagnostic::new(args[0].span, msg).with_help(COUNT_HELP));
                } else {
                    self.must_be_unsigned.push((args[0].span, t.clone(), "the count of `cohort`"));
                }
                if !self.unify(&t, &args[1].ty) {
                    self.mismatch(args[1].span, &t, &args[1].ty);
                }
                args[2].ty.clone()
            }
            "count_ones" => {
                let t = args[0].ty.clone();
                if !self.is_int_like(&t) {
                    let msg = format!("`count_ones` needs an integer, found {}", self.show(&t));
                    self.err(Diagnostic::new(span, msg));
                }
                Ty::Int { signed: false, bits: 32 }
            }
            _ => {
                // len
                match self.find(&args[0].ty) {
                    Ty::Array(..) | Ty::Error => {}
                    other => {
                        let msg = format!("`len` needs an array, found {}", self.show(&other));
                        self.err(Diagnostic::new(span, msg));
                    }
                }
                self.fresh()
            }
        };
        Self::typed(ExprKind::Call(internal_name(&name), args), span, ty)
    }

    /// A method call `recv.name(…)` (`args[0]` the receiver) on a receiver
    /// that is not a struct or an enum: one of the built-in methods, never
    /// a free function of the same name (as in Rust, where method syntax
    /// does not call free functions).
    pub(crate) fn builtin_method(&mut self, name: &str, args: Vec<Expr<Ty>>, span: Span) -> Expr<Ty> {
        let arity = |want: usize, this: &mut Self, args: &Vec<Expr<Ty>>| {
            if args.len() == want {
                return true;
            }
            this.err(Diagnostic::new(span, format!("`{name}` takes {} argument(s)", want - 1)));
            false
        };
        match name {
            "abs" | "min" | "max" | "len" | "count_ones" => self.builtin_call(name.to_owned(), args, span),
            "wrapping_abs" => self.builtin_call("abs".to_owned(), args, span),
            "wrapping_neg" => self.builtin_call("__neg".to_owned(), args, span),
            "unwrap_or" | "is_some" | "is_none" => {
                let want = if name == "unwrap_or" { 2 } else { 1 };
                if !arity(want, self, &args) {
                    return Self::typed(ExprKind::Call(format!(".{name}"), args), span, Ty::Error);
                }
                self.option_method(format!("__{name}"), args, span)
            }
            _ if is_int_method(&format!("__{name}")) => self.int_method(format!("__{name}"), args, span),
            _ => {
                let d = match name {
                    "swap" => Diagnostic::new(span, "`swap` takes two indices: `v.swap(i, j)`"),
                    "clone" | "to_owned" | "iter" | "into_iter" | "copied" | "cloned" => {
                        Diagnostic::new(span, format!("`{name}` takes no arguments"))
                    }
                    "floor" | "ceil" | "round" | "trunc" | "to_num" | "frac" | "int"
                        if matches!(self.find(&args[0].ty), Ty::Fixed { .. }) =>
                    {
                        let shown = self.show(&args[0].ty);
                        Diagnostic::new(span, format!("method `{name}` is not supported on {shown}")).with_help(
                            format!(
                                "a cast to an integer rounds toward −∞: `x as i32` is the floor, and `(x as i32) as {shown}` the floor kept in {shown}; fixed-point numbers have the methods min, max, abs, saturating_add/sub and checked_add/sub"
                            ),
                        )
                    }
                    _ => {
                        let shown = self.show(&args[0].ty);
                        Diagnostic::new(span, format!("method `{name}` is not supported on {shown}"))
                            .with_help(METHODS_HELP)
                    }
                };
                self.err(d);
                Self::typed(ExprKind::Call(format!(".{name}"), args), span, Ty::Error)
            }
        }
    }
}

/// The methods of the language, for messages.
pub(crate) const METHODS_HELP: &str = "methods of the language: min, max, abs, len, count_ones, leading_zeros, trailing_zeros, rotate_left/right, swap, wrapping_/saturating_/checked_add/sub/mul, wrapping_/checked_div/rem, wrapping_neg/shl/shr, unwrap_or, is_some, is_none; in `for` loops iter, rev, step_by, enumerate; `impl` blocks add methods to structs and enums";

/// The name a checked call of the built-in `name` carries to the lowering:
/// `__` and the name, which no function of the program can have (names
/// starting with `__` are reserved), so that a program's own `fn min` never
/// stands in for the built-in one.
fn internal_name(name: &str) -> String {
    if name.starts_with("__") {
        name.to_owned()
    } else {
        format!("__{name}")
    }
}
