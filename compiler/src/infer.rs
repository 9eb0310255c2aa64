//! Type inference: the inference-time type [`Ty`], unification of integer
//! and decimal type variables, and the typing of every expression.
//!
//! Types are inferred the way Rust infers them for this subset: every
//! expression has one type; an integer literal without a suffix gets a type
//! variable that unification with its context binds; one nothing decides is
//! `i32` ([`Checker::to_type`]), except that one used as an array index is
//! `u64` (Rust's `usize`). A decimal literal (`0.75`) gets a decimal
//! variable, which only a fixed-point type (`I16F16`, …) binds, as a float
//! literal in Rust takes `f32` or `f64`; one nothing decides is an error
//! (`check.rs`), since no fixed-point format is a natural default. The two
//! kinds never mix: `x * 2` on an `I16F16` is an error that says to write
//! `2.0`, as Rust says for floats. Apart from `check.rs`, which walks items and
//! statements, because this is the part that knows what a type variable is:
//! nothing outside this file creates or binds one.

use crate::ast::*;
use crate::builtins::is_builtin;
use crate::check::Checker;
use crate::diag::{Diagnostic, Span};
use crate::limits::MAX_TYPE_BITS;
use crate::types::{fixed_type_by_name, int_type_by_name, Type};

/// A type during inference: integer type variables and "diverges" are
/// only here, never in a [`Type`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Bool,
    Int {
        signed: bool,
        bits: u32,
    },
    /// A fixed-point type, e.g. `I16F16`.
    Fixed {
        signed: bool,
        int_bits: u32,
        frac_bits: u32,
    },
    /// An integer type not yet known.
    Var(u32),
    /// A fixed-point type not yet known (the type of a decimal literal);
    /// shares the variable table with [`Ty::Var`].
    Decimal(u32),
    Array(Box<Ty>, u32),
    Tuple(Vec<Ty>),
    Struct(String),
    /// An `enum`, by name.
    Enum(String),
    /// `Option<T>`.
    Option(Box<Ty>),
    /// A type not yet known, of any kind (the `T` of a `None`); shares the
    /// variable table with [`Ty::Var`].
    Infer(u32),
    /// The type of a block that always returns: fits anywhere.
    Never,
    /// After an error: fits anywhere, reported once.
    Error,
}

impl Ty {
    pub(crate) fn unit() -> Ty {
        Ty::Tuple(Vec::new())
    }
}

impl Checker {
    pub(crate) fn fresh(&mut self) -> Ty {
        self.vars.push(None);
        Ty::Var(self.vars.len() as u32 - 1)
    }

    /// A variable for the type of a decimal literal.
    pub(crate) fn fresh_decimal(&mut self) -> Ty {
        self.vars.push(None);
        Ty::Decimal(self.vars.len() as u32 - 1)
    }

    /// A variable for a type of any kind.
    pub(crate) fn fresh_infer(&mut self) -> Ty {
        self.vars.push(None);
        Ty::Infer(self.vars.len() as u32 - 1)
    }

    /// Whether the variable `v` occurs in `t` (binding it there would make
    /// an infinite type).
    fn occurs(&self, v: u32, t: &Ty) -> bool {
        match self.find(t) {
            Ty::Infer(w) => w == v,
            Ty::Option(inner) | Ty::Array(inner, _) => self.occurs(v, &inner),
            Ty::Tuple(ts) => ts.iter().any(|t| self.occurs(v, t)),
            _ => false,
        }
    }

    /// The type `t` stands for, following variable bindings.
    pub(crate) fn find(&self, t: &Ty) -> Ty {
        let mut t = t.clone();
        let mut steps = 0;
        while let Ty::Var(v) | Ty::Decimal(v) | Ty::Infer(v) = t {
            match self.vars.get(v as usize) {
                Some(Some(next)) if steps < 1_000_000 => {
                    t = next.clone();
                    steps += 1;
                }
                _ => return t,
            }
        }
        t
    }

    pub(crate) fn unify(&mut self, a: &Ty, b: &Ty) -> bool {
        let (a, b) = (self.find(a), self.find(b));
        match (&a, &b) {
            // A decimal literal where a type failed to resolve: reported
            // once, there, not again as a literal without a type.
            (Ty::Decimal(x), Ty::Error) | (Ty::Error, Ty::Decimal(x)) => {
                self.vars[*x as usize] = Some(Ty::Error);
                true
            }
            (Ty::Infer(_), Ty::Never) | (Ty::Never, Ty::Infer(_)) => true,
            (Ty::Infer(x), Ty::Infer(y)) if x == y => true,
            (Ty::Infer(x), _) => {
                if self.occurs(*x, &b) {
                    return false;
                }
                self.vars[*x as usize] = Some(b.clone());
                true
            }
            (_, Ty::Infer(y)) => {
                if self.occurs(*y, &a) {
                    return false;
                }
                self.vars[*y as usize] = Some(a.clone());
                true
            }
            (Ty::Error, _) | (_, Ty::Error) | (Ty::Never, _) | (_, Ty::Never) => true,
            (Ty::Option(x), Ty::Option(y)) => self.unify(x, y),
            (Ty::Var(x), Ty::Var(y)) => {
                if x != y {
                    self.vars[*x as usize] = Some(b.clone());
                }
                true
            }
            (Ty::Var(x), Ty::Int { .. }) => {
                self.vars[*x as usize] = Some(b.clone());
                true
            }
            (Ty::Int { .. }, Ty::Var(y)) => {
                self.vars[*y as usize] = Some(a.clone());
                true
            }
            (Ty::Decimal(x), Ty::Decimal(y)) => {
                if x != y {
                    self.vars[*x as usize] = Some(b.clone());
                }
                true
            }
            (Ty::Decimal(x), Ty::Fixed { .. }) => {
                self.vars[*x as usize] = Some(b.clone());
                true
            }
            (Ty::Fixed { .. }, Ty::Decimal(y)) => {
                self.vars[*y as usize] = Some(a.clone());
                true
            }
            (Ty::Bool, Ty::Bool) => true,
            (Ty::Int { signed: s1, bits: b1 }, Ty::Int { signed: s2, bits: b2 }) => s1 == s2 && b1 == b2,
            (Ty::Fixed { .. }, Ty::Fixed { .. }) => a == b,
            (Ty::Array(e1, n1), Ty::Array(e2, n2)) => n1 == n2 && self.unify(e1, e2),
            (Ty::Tuple(t1), Ty::Tuple(t2)) => {
                t1.len() == t2.len() && t1.iter().zip(t2).fold(true, |ok, (x, y)| self.unify(x, y) && ok)
            }
            (Ty::Struct(n1), Ty::Struct(n2)) | (Ty::Enum(n1), Ty::Enum(n2)) => n1 == n2,
            _ => false,
        }
    }

    /// After unifying `a` and `b`: the one that is not `Never`.
    pub(crate) fn join(&self, a: &Ty, b: &Ty) -> Ty {
        match self.find(a) {
            Ty::Never => self.find(b),
            t => t,
        }
    }

    pub(crate) fn show(&self, t: &Ty) -> String {
        match self.find(t) {
            Ty::Bool => "bool".into(),
            Ty::Int { signed, bits } => Type::Int { signed, bits }.to_string(),
            Ty::Fixed { signed, int_bits, frac_bits } => {
                Type::Fixed { signed, int_bits, frac_bits }.to_string()
            }
            Ty::Var(_) => "{integer}".into(),
            Ty::Decimal(_) => "{decimal}".into(),
            Ty::Array(e, n) => format!("[{}; {n}]", self.show(&e)),
            Ty::Tuple(ts) => {
                let parts: Vec<String> = ts.iter().map(|t| self.show(t)).collect();
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
            Ty::Struct(n) | Ty::Enum(n) => n,
            Ty::Option(t) => format!("Option<{}>", self.show(&t)),
            Ty::Infer(_) => "_".into(),
            Ty::Never => "!".into(),
            Ty::Error => "{error}".into(),
        }
    }

    pub(crate) fn is_unit(&self, t: &Ty) -> bool {
        matches!(self.find(t), Ty::Tuple(ts) if ts.is_empty())
    }

    pub(crate) fn is_int_like(&self, t: &Ty) -> bool {
        matches!(self.find(t), Ty::Int { .. } | Ty::Var(_) | Ty::Error | Ty::Never)
    }

    /// A fixed-point type, known or not yet (a decimal literal's).
    pub(crate) fn is_fixed_like(&self, t: &Ty) -> bool {
        matches!(self.find(t), Ty::Fixed { .. } | Ty::Decimal(_))
    }

    /// What arithmetic (`+ - * /`), order comparisons, `min`, `max` and
    /// `abs` take: integers and fixed-point numbers.
    pub(crate) fn is_number_like(&self, t: &Ty) -> bool {
        self.is_int_like(t) || self.is_fixed_like(t)
    }

    /// The final type (unbound integer variables default to `i32`).
    pub(crate) fn to_type(&self, t: &Ty) -> Type {
        match self.find(t) {
            Ty::Bool => Type::Bool,
            Ty::Int { signed, bits } => Type::Int { signed, bits },
            Ty::Var(_) => Type::Int { signed: true, bits: 32 },
            Ty::Fixed { signed, int_bits, frac_bits } => Type::Fixed { signed, int_bits, frac_bits },
            // Reported by `check` (a decimal literal needs a type); checking
            // stops there, so this never reaches lowering.
            Ty::Decimal(_) => Type::unit(),
            Ty::Array(e, n) => Type::Array(Box::new(self.to_type(&e)), n),
            Ty::Tuple(ts) => Type::Tuple(ts.iter().map(|t| self.to_type(t)).collect()),
            Ty::Struct(name) => Type::Struct {
                name: name.clone(),
                fields: self
                    .structs
                    .get(&name)
                    .map(|fs| fs.iter().map(|(f, t)| (f.clone(), self.to_type(t))).collect())
                    .unwrap_or_default(),
            },
            Ty::Enum(name) => Type::Enum {
                name: name.clone(),
                variants: self
                    .enums
                    .get(&name)
                    .map(|vs| {
                        vs.iter()
                            .map(|v| crate::types::Variant {
                                name: v.name.clone(),
                                discriminant: v.discriminant,
                                fields: v.fields.iter().map(|(f, t)| (f.clone(), self.to_type(t))).collect(),
                                named: v.named,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            Ty::Option(t) => Type::option(self.to_type(&t)),
            // Nothing said what it is (a `None` never used otherwise).
            Ty::Infer(_) => Type::unit(),
            Ty::Never | Ty::Error => Type::unit(),
        }
    }

    pub(crate) fn mismatch(&mut self, span: Span, expected: &Ty, found: &Ty) {
        let msg = format!("mismatched types: expected {}, found {}", self.show(expected), self.show(found));
        let mut d = Diagnostic::new(span, msg).with_label(format!("expected {}", self.show(expected)));
        if let Some(help) = self.conversion_help(expected, found) {
            d = d.with_help(format!("{help}{}", self.size_alias_note(expected, found)));
        }
        self.err(d);
    }

    /// `usize` and `isize` are `u64` and `i64` here, and messages show
    /// them so: said where one of two mismatched number types is 64 bits
    /// wide, so that a program that declared `usize` is not puzzled.
    pub(crate) fn size_alias_note(&self, a: &Ty, b: &Ty) -> &'static str {
        let wide = |t: &Ty| matches!(self.find(t), Ty::Int { bits: 64, .. });
        if wide(a) || wide(b) {
            " (`usize` is `u64` here, and `isize` is `i64`)"
        } else {
            ""
        }
    }

    /// What to write when a value of type `found` is given where `expected`
    /// is wanted, between numbers.
    pub(crate) fn conversion_help(&self, expected: &Ty, found: &Ty) -> Option<String> {
        let (e, f) = (self.find(expected), self.find(found));
        if matches!(f, Ty::Var(_)) && self.is_fixed_like(&e) {
            Some("an integer literal is an integer: write a fixed-point number with a decimal point (`1.0`, not `1`)".into())
        } else if self.is_number_like(&e) && self.is_number_like(&f) {
            let target = match e {
                Ty::Int { .. } | Ty::Fixed { .. } => self.show(&e),
                _ => "u32".into(),
            };
            Some(format!("convert with `as`, e.g. `x as {target}`"))
        } else {
            None
        }
    }

    // ----- expressions -----------------------------------------------------------------------

    pub(crate) fn typed(kind: ExprKind<Ty>, span: Span, ty: Ty) -> Expr<Ty> {
        Expr { kind, span, ty }
    }

    /// Types an expression by its kind. Every kind with more to check than
    /// its operands' types is a method of its own below, so that this match
    /// is a table of the language's expressions.
    /// Whether `ty` is an enum with a variant named `member`.
    fn is_variant(&self, ty: &str, member: &str) -> bool {
        self.enum_defs.get(ty).is_some_and(|d| d.variants.iter().any(|v| v.name == member))
    }

    pub(crate) fn expr(&mut self, e: Expr<()>) -> Expr<Ty> {
        let span = e.span;
        match e.kind {
            ExprKind::Int { negative, value, suffix } => self.int_literal(negative, value, suffix, span),
            ExprKind::Decimal { negative, text, suffix } => {
                self.decimal_literal(negative, text, suffix, span)
            }
            ExprKind::Bool(b) => Self::typed(ExprKind::Bool(b), span, Ty::Bool),
            ExprKind::Var(name) => self.var(name, span),
            ExprKind::Assoc { ty, member } if self.consts.contains_key(&format!("{ty}::{member}")) => {
                self.var(format!("{ty}::{member}"), span)
            }
            ExprKind::Assoc { ty, member } if self.enum_defs.contains_key(&ty) => {
                self.variant_expr(ty, member, Vec::new(), span)
            }
            ExprKind::Variant(ty, member, fields)
                if !self.is_variant(&ty, &member) && self.fns.contains_key(&format!("{ty}::{member}")) =>
            {
                // `T::f(a, …)`: a function of an `impl` block (of a struct,
                // or of an enum when no variant has that name).
                let args = fields.into_iter().map(|(_, _, e)| e).collect();
                self.call(format!("{ty}::{member}"), args, span)
            }
            ExprKind::Variant(ty, member, fields) => self.variant_expr(ty, member, fields, span),
            ExprKind::Match(scrutinee, arms) => self.match_expr(*scrutinee, arms, span),
            ExprKind::Assoc { ty, member } => match self.assoc_const(&ty, &member, span) {
                Some(ExprKind::Int { negative, value, suffix }) => {
                    self.int_literal(negative, value, suffix, span)
                }
                Some(ExprKind::Decimal { negative, text, suffix }) => {
                    self.decimal_literal(negative, text, suffix, span)
                }
                _ => Self::typed(ExprKind::Assoc { ty, member }, span, Ty::Error),
            },
            ExprKind::Unary(op, a) => self.unary(op, *a, span),
            ExprKind::Binary(op, a, b) => {
                let a = self.expr(*a);
                let b = self.expr(*b);
                let ty = self.binary_type(op, &a.ty, &b.ty, a.span, b.span, span);
                let constant =
                    crate::overflow::is_integer_op(op) && self.is_constant(&a) && self.is_constant(&b);
                let e = Self::typed(ExprKind::Binary(op, Box::new(a), Box::new(b)), span, ty);
                if constant {
                    self.const_ops.push(e.clone());
                }
                e
            }
            ExprKind::Cast(a, te) => self.cast(*a, te, span),
            ExprKind::If(c, then, els) => self.if_expr(*c, then, els, span),
            ExprKind::Block(b) => {
                let b = self.block(b);
                let ty = self.block_ty(&b);
                Self::typed(ExprKind::Block(b), span, ty)
            }
            ExprKind::Call(name, args) => self.call(name, args, span),
            ExprKind::Index(a, i) => self.index(*a, *i, span),
            ExprKind::Field(a, name) => self.field(*a, name, span),
            ExprKind::TupleField(a, k) => self.tuple_field(*a, k, span),
            ExprKind::Array(items) => self.array(items, span),
            ExprKind::Repeat(v, len) => self.repeat(*v, len, span),
            ExprKind::Tuple(items) => {
                let items: Vec<Expr<Ty>> = items.into_iter().map(|e| self.expr(e)).collect();
                let ty = Ty::Tuple(items.iter().map(|e| e.ty.clone()).collect());
                Self::typed(ExprKind::Tuple(items), span, ty)
            }
            ExprKind::Struct(name, fields) => self.struct_lit(name, fields, span),
        }
    }

    /// An integer literal: typed by its suffix, else a fresh integer variable;
    /// its range is checked once all types are known (`literals`).
    fn int_literal(&mut self, negative: bool, value: u128, suffix: Option<String>, span: Span) -> Expr<Ty> {
        let ty = match suffix.as_deref().and_then(int_type_by_name) {
            Some(Type::Int { signed, bits }) => Ty::Int { signed, bits },
            _ => self.fresh(),
        };
        self.literals.push((span, negative, value, ty.clone()));
        Self::typed(ExprKind::Int { negative, value, suffix }, span, ty)
    }

    /// A decimal literal: a fresh decimal variable (an associated constant
    /// such as `I16F16::MAX` has its type); its value is checked once all
    /// types are known (`decimals`).
    fn decimal_literal(
        &mut self,
        negative: bool,
        text: String,
        suffix: Option<String>,
        span: Span,
    ) -> Expr<Ty> {
        let ty = match suffix.as_deref().and_then(fixed_type_by_name) {
            Some(Type::Fixed { signed, int_bits, frac_bits }) => Ty::Fixed { signed, int_bits, frac_bits },
            _ => self.fresh_decimal(),
        };
        self.decimals.push((span, negative, text.clone(), ty.clone()));
        Self::typed(ExprKind::Decimal { negative, text, suffix }, span, ty)
    }

    /// A name: a local (innermost first), else a `const` item.
    fn var(&mut self, name: String, span: Span) -> Expr<Ty> {
        let ty = if let Some(l) = self.lookup(&name) {
            l.ty.clone()
        } else if let Some((t, _)) = self.consts.get(&name) {
            t.clone()
        } else if name == "None" {
            let t = Ty::Option(Box::new(self.fresh_infer()));
            return Self::typed(ExprKind::Variant("Option".into(), "None".into(), Vec::new()), span, t);
        } else {
            let mut d = Diagnostic::new(span, format!("cannot find `{name}` in this scope"));
            if self.fns.contains_key(&name) {
                d = d.with_help(format!("`{name}` is a function: call it with `{name}(…)`"));
            }
            self.err(d);
            Ty::Error
        };
        Self::typed(ExprKind::Var(name), span, ty)
    }

    /// `-a` (signed integers: checked once types are known, `must_be_signed`)
    /// and `!a` (integers and bools).
    fn unary(&mut self, op: UnOp, a: Expr<()>, span: Span) -> Expr<Ty> {
        let a = self.expr(a);
        let t = self.find(&a.ty);
        let ok = match op {
            UnOp::Neg => {
                self.must_be_signed.push((span, a.ty.clone(), "unary `-`"));
                self.is_number_like(&t)
            }
            UnOp::Not => self.is_int_like(&t) || t == Ty::Bool,
        };
        if !ok {
            let sym = if op == UnOp::Neg { "-" } else { "!" };
            let msg = format!("cannot apply unary `{sym}` to {}", self.show(&t));
            self.err(Diagnostic::new(span, msg));
        }
        let ty = a.ty.clone();
        let constant = op == UnOp::Neg && self.is_constant(&a);
        let e = Self::typed(ExprKind::Unary(op, Box::new(a)), span, ty);
        if constant {
            self.const_ops.push(e.clone());
        }
        e
    }

    /// `a as T`: between integer types, fixed-point types and `bool`
    /// (except fixed-point to `bool`). A decimal literal cast to a
    /// fixed-point type takes that type (`0.5 as I8F8`).
    fn cast(&mut self, a: Expr<()>, te: TypeExpr, span: Span) -> Expr<Ty> {
        let a = self.expr(a);
        let target = self.resolve_type_expr(&te);
        if matches!(self.find(&a.ty), Ty::Decimal(_)) && matches!(target, Ty::Fixed { .. }) {
            self.unify(&a.ty, &target);
        }
        let from = self.find(&a.ty);
        if let Ty::Enum(name) = &from {
            let c_like = self.enums.get(name).is_some_and(|vs| vs.iter().all(|v| v.fields.is_empty()));
            if c_like && matches!(target, Ty::Int { .. } | Ty::Error) {
                return Self::typed(ExprKind::Cast(Box::new(a), te), span, target);
            }
            let msg = format!("cannot cast the enum {name} as {}", self.show(&target));
            let help = if c_like {
                "an enum converts to an integer type only: `e as u8` is its discriminant"
            } else {
                "only an enum whose variants have no fields converts with `as`; use `match`"
            };
            self.err(Diagnostic::new(span, msg).with_help(help));
            return Self::typed(ExprKind::Cast(Box::new(a), te), span, Ty::Error);
        }
        let from_ok = matches!(
            from,
            Ty::Int { .. }
                | Ty::Var(_)
                | Ty::Fixed { .. }
                | Ty::Decimal(_)
                | Ty::Bool
                | Ty::Error
                | Ty::Never
        );
        let to_ok = matches!(target, Ty::Int { .. } | Ty::Fixed { .. } | Ty::Bool | Ty::Error);
        if self.is_fixed_like(&from) && target == Ty::Bool {
            let msg = format!("cannot cast {} as bool", self.show(&from));
            self.err(Diagnostic::new(span, msg).with_help("compare instead: `x != 0.0`"));
        } else if !from_ok || !to_ok {
            let msg = format!("cannot cast {} as {}", self.show(&from), self.show(&target));
            self.err(
                Diagnostic::new(span, msg)
                    .with_help("`as` converts between integer types, fixed-point types and bool"),
            );
        }
        Self::typed(ExprKind::Cast(Box::new(a), te), span, target)
    }

    /// `if c { … } else { … }`: a `bool` condition, branches of one type (a
    /// branch that always returns fits any); without `else`, the unit type.
    fn if_expr(&mut self, c: Expr<()>, then: Block<()>, els: Option<Box<Expr<()>>>, span: Span) -> Expr<Ty> {
        let c = self.expr(c);
        if !self.unify(&c.ty, &Ty::Bool) {
            self.mismatch(c.span, &Ty::Bool, &c.ty);
        }
        let then = self.block(then);
        let tt = self.block_ty(&then);
        let (els, ty) = match els {
            Some(e) => {
                let e = self.expr(*e);
                if !self.unify(&tt, &e.ty) {
                    let msg = format!(
                        "`if` and `else` have different types: {} and {}",
                        self.show(&tt),
                        self.show(&e.ty)
                    );
                    self.err(Diagnostic::new(e.span, msg));
                }
                let ty = self.join(&tt, &e.ty);
                (Some(Box::new(e)), ty)
            }
            None => {
                if !self.unify(&tt, &Ty::unit()) {
                    let sp = then.tail.as_ref().map_or(then.span, |t| t.span);
                    let msg =
                        format!("an `if` without `else` has no value, but this branch is {}", self.show(&tt));
                    self.err(
                        Diagnostic::new(sp, msg)
                            .with_help("add an `else` branch, or end the statement with `;`"),
                    );
                }
                (None, Ty::unit())
            }
        };
        Self::typed(ExprKind::If(Box::new(c), then, els), span, ty)
    }

    /// `a[i]`: `a` an array; `i` unsigned, an untyped literal index is `u64`
    /// (Rust's `usize`).
    fn index(&mut self, a: Expr<()>, i: Expr<()>, span: Span) -> Expr<Ty> {
        let a = self.expr(a);
        let i = self.expr(i);
        let elem = match self.find(&a.ty) {
            Ty::Array(e, _) => *e,
            Ty::Error => Ty::Error,
            other => {
                let msg = format!("cannot index into a value of type {}", self.show(&other));
                self.err(Diagnostic::new(a.span, msg));
                Ty::Error
            }
        };
        match self.find(&i.ty) {
            Ty::Var(v) => self.vars[v as usize] = Some(Ty::Int { signed: false, bits: 64 }),
            Ty::Int { signed: false, .. } | Ty::Error => {}
            other => {
                let msg = format!("an array index must be an unsigned integer, found {}", self.show(&other));
                self.err(Diagnostic::new(i.span, msg).with_help("convert it, e.g. `i as u32`"));
            }
        }
        Self::typed(ExprKind::Index(Box::new(a), Box::new(i)), span, elem)
    }

    /// `s.f` on a struct.
    fn field(&mut self, a: Expr<()>, name: String, span: Span) -> Expr<Ty> {
        let a = self.expr(a);
        let ty = match self.find(&a.ty) {
            Ty::Struct(s) => {
                let fields = self.structs.get(&s).cloned().unwrap_or_default();
                match fields.iter().find(|(f, _)| *f == name) {
                    Some((_, t)) => t.clone(),
                    None => {
                        let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
                        self.err(
                            Diagnostic::new(span, format!("the struct `{s}` has no field `{name}`"))
                                .with_help(format!("its fields are: {}", names.join(", "))),
                        );
                        Ty::Error
                    }
                }
            }
            Ty::Error => Ty::Error,
            other => {
                let msg = format!("{} has no field `{name}`", self.show(&other));
                self.err(Diagnostic::new(span, msg));
                Ty::Error
            }
        };
        Self::typed(ExprKind::Field(Box::new(a), name), span, ty)
    }

    /// `t.0` on a tuple.
    fn tuple_field(&mut self, a: Expr<()>, k: u32, span: Span) -> Expr<Ty> {
        let a = self.expr(a);
        let ty = match self.find(&a.ty) {
            Ty::Tuple(ts) if (k as usize) < ts.len() => ts[k as usize].clone(),
            Ty::Struct(s) if self.is_tuple_struct(&s) => {
                let fields = self.structs.get(&s).cloned().unwrap_or_default();
                match fields.get(k as usize) {
                    Some((_, t)) => t.clone(),
                    None => {
                        let msg =
                            format!("the tuple struct `{s}` has no field `{k}`; it has {}", fields.len());
                        self.err(
                            Diagnostic::new(span, msg)
                                .with_help(format!("its fields are 0..{}", fields.len())),
                        );
                        Ty::Error
                    }
                }
            }
            Ty::Error => Ty::Error,
            other => {
                let msg = format!("{} has no field `{k}`", self.show(&other));
                self.err(Diagnostic::new(span, msg));
                Ty::Error
            }
        };
        Self::typed(ExprKind::TupleField(Box::new(a), k), span, ty)
    }

    /// `[a, b, …]`: every element of the first one's type.
    fn array(&mut self, items: Vec<Expr<()>>, span: Span) -> Expr<Ty> {
        let elem = self.fresh_any();
        let mut out = Vec::with_capacity(items.len());
        let mut elem_ty: Option<Ty> = None;
        for it in items {
            let it = self.expr(it);
            match &elem_ty {
                None => elem_ty = Some(it.ty.clone()),
                Some(t) => {
                    let t = t.clone();
                    if !self.unify(&it.ty, &t) {
                        self.mismatch(it.span, &t, &it.ty);
                    }
                }
            }
            out.push(it);
        }
        let n = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let ty = Ty::Array(Box::new(elem_ty.unwrap_or(elem)), n);
        Self::typed(ExprKind::Array(out), span, ty)
    }

    /// `[v; N]`: `N` known at compile time, the array within the width limit.
    fn repeat(&mut self, v: Expr<()>, len: Box<Expr<()>>, span: Span) -> Expr<Ty> {
        let v = self.expr(v);
        let ty = match self.array_len(&len) {
            Some(n) => {
                let t = Ty::Array(Box::new(v.ty.clone()), n);
                if self.to_type(&t).width_u64() > MAX_TYPE_BITS {
                    self.err(Diagnostic::new(span, format!("this array is wider than {MAX_TYPE_BITS} bits")));
                    Ty::Error
                } else {
                    t
                }
            }
            None => Ty::Error,
        };
        Self::typed(ExprKind::Repeat(Box::new(v), len), span, ty)
    }

    /// `S { f: v, … }`: every field once, each of its declared type; the
    /// fields are put in declaration order for lowering.
    fn struct_lit(&mut self, name: String, fields: Vec<(String, Span, Expr<()>)>, span: Span) -> Expr<Ty> {
        let Some(decl) = self.struct_fields(&name, span) else {
            if !self.struct_defs.contains_key(&name) {
                self.err(Diagnostic::new(span, format!("unknown struct `{name}`")));
            }
            let fields = fields.into_iter().map(|(f, s, e)| (f, s, self.expr(e))).collect();
            return Self::typed(ExprKind::Struct(name, fields), span, Ty::Error);
        };
        let mut given: Vec<(String, Span, Expr<Ty>)> = Vec::new();
        for (f, fspan, e) in fields {
            let e = self.expr(e);
            match decl.iter().find(|(g, _)| *g == f) {
                Some((_, t)) => {
                    if !self.unify(&e.ty, t) {
                        self.mismatch(e.span, t, &e.ty);
                    }
                }
                None => self.err(Diagnostic::new(fspan, format!("the struct `{name}` has no field `{f}`"))),
            }
            if given.iter().any(|(g, _, _)| *g == f) {
                self.err(Diagnostic::new(fspan, format!("field `{f}` is given twice")));
                continue;
            }
            given.push((f, fspan, e));
        }
        let missing: Vec<&str> = decl
            .iter()
            .filter(|(f, _)| !given.iter().any(|(g, _, _)| g == f))
            .map(|(f, _)| f.as_str())
            .collect();
        if !missing.is_empty() {
            self.err(Diagnostic::new(span, format!("missing fields of `{name}`: {}", missing.join(", "))));
        }
        // Declaration order, for lowering.
        given.sort_by_key(|(f, _, _)| decl.iter().position(|(g, _)| g == f).unwrap_or(usize::MAX));
        Self::typed(ExprKind::Struct(name.clone(), given), span, Ty::Struct(name))
    }

    /// A type variable for an element type not yet known (an empty array):
    /// an integer variable (defaults to `i32`).
    fn fresh_any(&mut self) -> Ty {
        self.fresh()
    }

    pub(crate) fn binary_type(
        &mut self,
        op: BinOp,
        a: &Ty,
        b: &Ty,
        aspan: Span,
        bspan: Span,
        span: Span,
    ) -> Ty {
        let sym = op.as_str();
        match op {
            BinOp::Shl | BinOp::Shr => {
                for (t, s) in [(a, aspan), (b, bspan)] {
                    if !self.is_int_like(t) {
                        let msg = format!("`{sym}` needs integers, found {}", self.show(t));
                        self.err(Diagnostic::new(s, msg));
                    }
                }
                a.clone()
            }
            BinOp::And | BinOp::Or => {
                for (t, s) in [(a, aspan), (b, bspan)] {
                    if !self.unify(t, &Ty::Bool) {
                        let msg = format!("`{sym}` needs bool operands, found {}", self.show(t));
                        self.err(Diagnostic::new(s, msg).with_help("compare integers first, e.g. `x != 0`"));
                    }
                }
                Ty::Bool
            }
            _ => {
                if !self.unify(a, b) {
                    let msg =
                        format!("mismatched types: `{sym}` between {} and {}", self.show(a), self.show(b));
                    let mut d = Diagnostic::new(span, msg);
                    let (fa, fb) = (self.find(a), self.find(b));
                    if matches!(fb, Ty::Var(_)) && self.is_fixed_like(&fa) {
                        d = d.with_help(self.conversion_help(&fa, &fb).unwrap_or_default());
                    } else if matches!(fa, Ty::Var(_)) && self.is_fixed_like(&fb) {
                        d = d.with_help(self.conversion_help(&fb, &fa).unwrap_or_default());
                    } else if self.is_number_like(a) && self.is_number_like(b) {
                        d = d.with_help(format!(
                            "both operands must have the same type; convert one with `as`{}",
                            self.size_alias_note(a, b)
                        ));
                    }
                    self.err(d);
                    return if op.is_comparison() { Ty::Bool } else { Ty::Error };
                }
                let t = self.find(a);
                let ok = match op {
                    BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => self.is_number_like(&t),
                    BinOp::Rem => self.is_int_like(&t),
                    BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => self.is_int_like(&t) || t == Ty::Bool,
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => self.is_number_like(&t) || t == Ty::Bool,
                    _ => true,
                };
                if !ok {
                    let msg = format!("cannot apply `{sym}` to {}", self.show(&t));
                    let mut d = Diagnostic::new(span, msg);
                    if t == Ty::Bool {
                        d = d.with_help("convert with `as u8` to compute with a bool");
                    } else if self.is_fixed_like(&t) {
                        d = d.with_help(
                            "fixed-point numbers have + - * /, comparisons, min, max, abs and `as`",
                        );
                    }
                    self.err(d);
                }
                if op.is_comparison() {
                    Ty::Bool
                } else {
                    self.join(a, b)
                }
            }
        }
    }

    /// Whether the struct `s` was declared with fields by position.
    pub(crate) fn is_tuple_struct(&self, s: &str) -> bool {
        self.struct_defs.get(s).is_some_and(|d| d.fields.first().is_some_and(|(f, _, _)| f == "0"))
    }

    /// `S(a, b)` for a tuple struct `S`.
    fn tuple_struct_lit(&mut self, name: String, args: Vec<Expr<Ty>>, span: Span) -> Expr<Ty> {
        if !self.is_tuple_struct(&name) {
            self.err(
                Diagnostic::new(span, format!("`{name}` has named fields"))
                    .with_help(format!("write `{name} {{ field: value, … }}`")),
            );
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        let Some(decl) = self.struct_fields(&name, span) else {
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        };
        if decl.len() != args.len() {
            let d =
                Diagnostic::new(span, format!("`{name}` has {} field(s), {} given", decl.len(), args.len()))
                    .with_help(format!("write `{name}({})`", vec!["_"; decl.len()].join(", ")));
            self.err(d);
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        let mut fields = Vec::with_capacity(args.len());
        for ((f, t), a) in decl.iter().zip(args) {
            if !self.unify(&a.ty, t) {
                self.mismatch(a.span, t, &a.ty);
            }
            fields.push((f.clone(), a.span, a));
        }
        Self::typed(ExprKind::Struct(name.clone(), fields), span, Ty::Struct(name))
    }

    /// `recv.method(…)` on a receiver of the struct or enum `ty`: the
    /// function `ty::method` of its `impl` block.
    fn method_name(&mut self, ty: &str, method: &str, span: Span) -> Option<String> {
        let full = format!("{ty}::{method}");
        match self.fns.get(&full) {
            Some(sig) if !sig.params.is_empty() && sig.has_self => Some(full),
            Some(_) => {
                self.err(
                    Diagnostic::new(span, format!("`{full}` has no `self` parameter"))
                        .with_help(format!("call it as `{full}(…)`")),
                );
                None
            }
            None => {
                self.err(
                    Diagnostic::new(span, format!("no method `{method}` on the type {ty}"))
                        .with_help(format!("declare it in `impl {ty} {{ fn {method}(self, …) … }}`")),
                );
                None
            }
        }
    }

    /// The receiver of a `&mut self` method `name`, called as a method
    /// (`method`) or by its path: a place rooted in a `mut` variable, or a
    /// temporary (whose new value is dropped, as in Rust).
    fn mut_receiver(&mut self, name: &str, args: &[Expr<Ty>], method: bool, span: Span) {
        let Some(recv) = args.first() else { return };
        if !method {
            let (_, m) = name.rsplit_once("::").unwrap_or(("", name));
            self.err(
                Diagnostic::new(
                    span,
                    format!("`{name}` takes `&mut self`, and references are not supported"),
                )
                .with_help(format!("call it as a method: `v.{m}(…)`")),
            );
            return;
        }
        let mut root = recv;
        while let ExprKind::Index(b, _) | ExprKind::Field(b, _) | ExprKind::TupleField(b, _) = &root.kind {
            root = b;
        }
        let ExprKind::Var(v) = &root.kind else { return };
        match self.lookup(v) {
            Some(l) if !l.mutable => {
                let help = if v == "self" {
                    "consider taking `&mut self` (or `mut self`)".to_owned()
                } else {
                    format!(
                        "consider changing this to be mutable: `let mut {v}` (or `mut {v}` for a parameter)"
                    )
                };
                self.err(
                    Diagnostic::new(
                        root.span,
                        format!("cannot borrow `{v}` as mutable, as it is not declared as mutable"),
                    )
                    .with_label("cannot borrow as mutable")
                    .with_help(help),
                );
            }
            _ => {} // mutable, a constant (a temporary copy) or unknown (reported)
        }
    }

    pub(crate) fn call(&mut self, name: String, args: Vec<Expr<()>>, span: Span) -> Expr<Ty> {
        let args: Vec<Expr<Ty>> = args.into_iter().map(|a| self.expr(a)).collect();
        let method = name.starts_with('.');
        let name = match name.strip_prefix('.') {
            Some(method) => {
                let ty = match args.first().map(|recv| self.find(&recv.ty)) {
                    Some(Ty::Struct(ty) | Ty::Enum(ty)) => ty,
                    // Reported where the receiver went wrong.
                    Some(Ty::Error) => return Self::typed(ExprKind::Call(name, args), span, Ty::Error),
                    _ => return self.builtin_method(method, args, span),
                };
                match self.method_name(&ty, method, span) {
                    Some(n) => n,
                    None => return Self::typed(ExprKind::Call(name, args), span, Ty::Error),
                }
            }
            None => name,
        };
        if let Some(sig) = self.fns.get(&name).cloned() {
            self.calls.entry(self.current_fn.clone()).or_default().push((name.clone(), span));
            if sig.mut_self {
                self.mut_receiver(&name, &args, method, span);
            }
            if args.len() != sig.params.len() {
                let _ = sig.span;
                self.err(Diagnostic::new(
                    span,
                    format!("`{name}` takes {} argument(s), {} given", sig.params.len(), args.len()),
                ));
            } else {
                for (a, p) in args.iter().zip(&sig.params) {
                    if !self.unify(&a.ty, p) {
                        self.mismatch(a.span, p, &a.ty);
                    }
                }
            }
            return Self::typed(ExprKind::Call(name, args), span, sig.ret);
        }
        if self.struct_defs.contains_key(&name) && !self.fns.contains_key(&name) {
            return self.tuple_struct_lit(name, args, span);
        }
        if name == "Some" {
            if args.len() != 1 {
                let d = Diagnostic::new(span, format!("`Some` takes 1 value, {} given", args.len()))
                    .with_help("write `Some(x)`");
                self.err(d);
                return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
            }
            let t = Ty::Option(Box::new(args[0].ty.clone()));
            let fields = args.into_iter().map(|a| ("0".to_owned(), a.span, a)).collect();
            return Self::typed(ExprKind::Variant("Option".into(), "Some".into(), fields), span, t);
        }
        if crate::builtins::is_int_method(&name) {
            return self.int_method(name, args, span);
        }
        if matches!(name.as_str(), "__unwrap_or" | "__is_some" | "__is_none") {
            return self.option_method(name, args, span);
        }
        if name.starts_with("__") && name != "__neg" {
            self.err(
                Diagnostic::new(
                    span,
                    "ranges and iterator adaptors can only be the iterable of a `for` loop",
                )
                .with_help("write `for i in (0..n).rev() { … }`"),
            );
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        if !is_builtin(&name) {
            let d = Diagnostic::new(span, format!("cannot find function `{name}`"));
            let d = if self.lookup(&name).is_some() {
                d.with_help(format!("`{name}` is a variable, not a function"))
            } else {
                d.with_help("the built-in functions are min, max and abs")
            };
            self.err(d);
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        self.builtin_call(name, args, span)
    }
}
