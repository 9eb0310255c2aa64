//! Stage 3, type checking: [`Untyped`] → [`Typed`] program.
//!
//! This file walks the program: it collects items so that their order does
//! not matter, resolves `const` items and array lengths (compile-time
//! integer expressions), types statements, checks places (`mut`), rejects
//! recursion (direct or mutual: functions are inlined), checks that
//! `main`'s parameters each name their owner, and at the end checks every
//! literal's range once all types are known. It reports every error it
//! finds.
//!
//! Typing expressions and unifying integer type variables is
//! `crate::infer` (an integer literal without a suffix takes its type from
//! context; one nothing decides is `i32`, or `u64` as an array index); the
//! built-in functions' rules are `crate::builtins`.

use crate::ast::*;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::fixed::{DecimalError, Format};
use crate::infer::Ty;
use crate::limits::{MAX_ARRAY_LEN, MAX_TYPE_BITS};
use crate::types::{
    fixed_name_parts, fixed_type_by_name, int_range_text, int_type_by_name, literal_fits, Type,
};
use garblet_circuits::{Party, Visibility};
use std::collections::{HashMap, HashSet};

/// A parameter of `main`: a circuit input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The parameter's name (the circuit input's name).
    pub name: String,
    /// Who supplies it.
    pub party: Party,
    /// Its type.
    pub ty: Type,
}

/// A checked program, ready to lower.
#[derive(Clone, Debug)]
pub(crate) struct Checked {
    /// The typed program.
    pub program: Typed,
    /// Index of `main` in `program.fns`.
    pub main: usize,
    /// `main`'s parameters.
    pub params: Vec<Param>,
    /// `main`'s result type.
    pub result: Type,
    /// Who learns the result.
    pub reveal: Visibility,
}

/// Type checks `program`, reporting every error.
pub(crate) fn check(program: Untyped) -> Result<Checked, Diagnostics> {
    let mut c = Checker::new();
    c.collect(&program);
    let Program { consts, structs: _, enums: _, fns } = program;

    // Constants (their types and values).
    let mut typed_consts = Vec::new();
    for k in consts {
        let ty = c.resolve_type_expr(&k.ty);
        let scope_depth = c.scopes.len();
        let value = c.expr(k.value);
        c.scopes.truncate(scope_depth);
        if !c.unify(&value.ty, &ty) {
            let msg = format!(
                "mismatched types: the constant `{}` is declared {}, its value is {}",
                k.name,
                c.show(&ty),
                c.show(&value.ty)
            );
            c.err(Diagnostic::new(value.span, msg));
        }
        typed_consts.push(ConstDef { name: k.name, span: k.span, ty: k.ty, value });
    }

    // Functions.
    let mut typed_fns = Vec::new();
    for f in fns {
        let tf = c.function(f);
        typed_fns.push(tf);
    }
    c.check_recursion();

    // main.
    let main = typed_fns.iter().position(|f| f.name == "main");
    let mut params = Vec::new();
    let mut result = Type::unit();
    let mut reveal = Visibility::Both;
    match main {
        None => c.err(
            Diagnostic::new(Span::new(0, 0), "the program has no `fn main`")
                .with_help("write `fn main(#[garbler] a: u32, #[evaluator] b: u32) -> bool { a > b }`"),
        ),
        Some(m) => {
            let sig = c.fns.get("main").cloned();
            let f = &typed_fns[m];
            reveal = f.reveal;
            if let Some(sig) = sig {
                for (p, ty) in f.params.iter().zip(&sig.params) {
                    match p.party {
                        Some(party) => params.push(Param { name: p.name.clone(), party, ty: c.to_type(ty) }),
                        None => c.err(
                            Diagnostic::new(p.span, format!("`main`'s parameter `{}` has no owner", p.name))
                                .with_help(format!(
                                    "mark it `#[garbler] {}: …` or `#[evaluator] {}: …`",
                                    p.name, p.name
                                )),
                        ),
                    }
                }
                result = c.to_type(&sig.ret);
                // A result type that does not exist was reported already.
                if result.is_unit() && !matches!(c.find(&sig.ret), Ty::Error) {
                    c.err(
                        Diagnostic::new(f.span, "`main` must return a value")
                            .with_help("declare the result type: `fn main(…) -> bool`"),
                    );
                }
            }
        }
    }
    for f in &typed_fns {
        if f.name != "main" {
            for p in &f.params {
                if p.party.is_some() {
                    c.err(
                        Diagnostic::new(p.span, "only `main`'s parameters are inputs with an owner")
                            .with_help("remove the `#[garbler]`/`#[evaluator]` attribute"),
                    );
                }
            }
            if f.reveal != Visibility::Both {
                c.err(Diagnostic::new(f.span, "`#[reveal]` applies to `main` only"));
            }
        }
    }

    // Literal ranges and signedness, now that every type is known.
    for (span, negative, value, ty) in std::mem::take(&mut c.literals) {
        let (signed, bits, defaulted) = match c.find(&ty) {
            Ty::Int { signed, bits } => (signed, bits, false),
            Ty::Var(_) => (true, 32, true),
            _ => continue,
        };
        if !literal_fits(negative, value, signed, bits) {
            let shown = if negative { format!("-{value}") } else { value.to_string() };
            let t = Type::Int { signed, bits };
            let mut d = Diagnostic::new(
                span,
                format!(
                    "literal out of range: {shown} does not fit in {t} ({})",
                    int_range_text(signed, bits)
                ),
            );
            if negative && !signed {
                d = d.with_help(format!("{t} is unsigned; use a signed type such as i{bits}"));
            } else if defaulted {
                d = d.with_help(
                    "nothing gives this literal a type, so it is an i32; add a suffix such as `1u64`",
                );
            } else {
                d = d.with_help(format!("use a wider type than {t}"));
            }
            c.err(d);
        }
    }
    // Arithmetic on constants that overflows, as Rust refuses it.
    crate::overflow::check(&mut c);
    // One "type not known" per group of literals that share a type.
    let mut untyped = HashSet::new();
    for (span, negative, text, ty) in std::mem::take(&mut c.decimals) {
        if let Ty::Decimal(root) = c.find(&ty) {
            if !untyped.insert(root) {
                continue;
            }
        }
        c.check_decimal(span, negative, &text, &ty);
    }
    for (span, ty, what) in std::mem::take(&mut c.must_be_signed) {
        match c.find(&ty) {
            Ty::Int { signed: false, bits } => c.err(
                Diagnostic::new(span, format!("cannot apply {what} to the unsigned type u{bits}"))
                    .with_help("use a signed type, or `x.wrapping_neg()` / `0 - x` for wrapping negation"),
            ),
            t @ Ty::Fixed { signed: false, .. } => {
                let t = c.show(&t);
                c.err(
                    Diagnostic::new(span, format!("cannot apply {what} to the unsigned type {t}")).with_help(
                        "use a signed type such as I16F16, or `x.wrapping_neg()` for wrapping negation",
                    ),
                )
            }
            _ => {}
        }
    }

    for (span, ty, what) in std::mem::take(&mut c.must_be_unsigned) {
        let found = match c.find(&ty) {
            Ty::Int { signed: true, bits } => format!("i{bits}"),
            // Nothing gave it a type: it would default to i32.
            Ty::Var(_) => "an integer that nothing gives a type (so an i32)".to_owned(),
            _ => continue,
        };
        c.err(
            Diagnostic::new(span, format!("{what} must be an unsigned integer, found {found}"))
                .with_help(crate::builtins::COUNT_HELP),
        );
    }

    if !c.errors.is_empty() {
        c.errors.errors.sort_by_key(|d| (d.span.start, d.span.end));
        c.errors.errors.dedup();
        return Err(c.errors);
    }
    let mut resolve = |t: Ty| c.to_type(&t);
    let program = Program {
        consts: typed_consts
            .into_iter()
            .map(|k| ConstDef { name: k.name, span: k.span, ty: k.ty, value: k.value.map(&mut resolve) })
            .collect(),
        structs: Vec::new(),
        enums: Vec::new(),
        fns: typed_fns
            .into_iter()
            .map(|f| FnDef {
                name: f.name,
                span: f.span,
                params: f.params,
                ret: f.ret,
                reveal: f.reveal,
                mut_self: f.mut_self,
                body: f.body.map(&mut resolve),
            })
            .collect(),
    };
    match main {
        Some(main) => Ok(Checked { program, main, params, result, reveal }),
        None => Err(Diagnostics::single(Diagnostic::new(Span::new(0, 0), "the program has no `fn main`"))),
    }
}

#[derive(Clone, Debug)]
pub(crate) struct FnSig {
    pub(crate) params: Vec<Ty>,
    /// The first parameter is `self` (a method of an `impl` block).
    pub(crate) has_self: bool,
    /// The first parameter is `&mut self`: the receiver must be a mutable
    /// place (or a temporary), and gets the method's final `self`.
    pub(crate) mut_self: bool,
    pub(crate) ret: Ty,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) struct Local {
    pub(crate) name: String,
    pub(crate) ty: Ty,
    pub(crate) mutable: bool,
}

pub(crate) struct Checker {
    pub(crate) errors: Diagnostics,
    /// Integer variable bindings (`None`: unbound).
    pub(crate) vars: Vec<Option<Ty>>,
    pub(crate) structs: HashMap<String, Vec<(String, Ty)>>,
    pub(crate) struct_defs: HashMap<String, StructDef>,
    pub(crate) struct_in_progress: HashSet<String>,
    /// `enum` items as written, and their variants once resolved.
    pub(crate) enum_defs: HashMap<String, EnumDef>,
    pub(crate) enums: HashMap<String, Vec<crate::matching::VariantTy>>,
    pub(crate) consts: HashMap<String, (Ty, Expr<()>)>,
    pub(crate) const_values: HashMap<String, Option<i128>>,
    pub(crate) fns: HashMap<String, FnSig>,
    pub(crate) scopes: Vec<Vec<Local>>,
    /// The return type of the function being checked.
    pub(crate) ret: Ty,
    pub(crate) current_fn: String,
    /// `for` loops around the statement being checked, in the current
    /// function (`break` and `continue` need one).
    pub(crate) loop_depth: usize,
    /// caller → (callee, call span).
    pub(crate) calls: HashMap<String, Vec<(String, Span)>>,
    pub(crate) literals: Vec<(Span, bool, u128, Ty)>,
    /// Decimal literals: span, `-`, the text, the type (checked at the end).
    pub(crate) decimals: Vec<(Span, bool, String, Ty)>,
    pub(crate) must_be_signed: Vec<(Span, Ty, &'static str)>,
    /// Counts (`cohort`): unsigned once types are known.
    pub(crate) must_be_unsigned: Vec<(Span, Ty, &'static str)>,
    /// Integer operations on constants, checked for overflow once types
    /// are known (`overflow.rs`).
    pub(crate) const_ops: Vec<Expr<Ty>>,
}

impl Checker {
    fn new() -> Self {
        Checker {
            errors: Diagnostics::new(),
            vars: Vec::new(),
            structs: HashMap::new(),
            struct_defs: HashMap::new(),
            struct_in_progress: HashSet::new(),
            enum_defs: HashMap::new(),
            enums: HashMap::new(),
            consts: HashMap::new(),
            const_values: HashMap::new(),
            fns: HashMap::new(),
            scopes: Vec::new(),
            ret: Ty::unit(),
            current_fn: String::new(),
            loop_depth: 0,
            calls: HashMap::new(),
            literals: Vec::new(),
            decimals: Vec::new(),
            must_be_signed: Vec::new(),
            must_be_unsigned: Vec::new(),
            const_ops: Vec::new(),
        }
    }

    pub(crate) fn err(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    // ----- items -------------------------------------------------------------------

    /// Records every item's name (and signature) so that order does not matter.
    pub(crate) fn collect(&mut self, program: &Untyped) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        let mut dup = |name: &str, span: Span, errors: &mut Diagnostics| {
            if let Some(prev) = seen.get(name) {
                let _ = prev;
                errors.push(Diagnostic::new(span, format!("the name `{name}` is defined more than once")));
                true
            } else {
                seen.insert(name.to_owned(), span);
                false
            }
        };
        for s in &program.structs {
            if !dup(&s.name, s.span, &mut self.errors) {
                self.struct_defs.insert(s.name.clone(), s.clone());
            }
        }
        for e in &program.enums {
            if !dup(&e.name, e.span, &mut self.errors) {
                self.enum_defs.insert(e.name.clone(), e.clone());
            }
        }
        for k in &program.consts {
            if !dup(&k.name, k.span, &mut self.errors) {
                self.consts.insert(k.name.clone(), (Ty::Error, k.value.clone()));
            }
        }
        let struct_names: Vec<String> = program.structs.iter().map(|s| s.name.clone()).collect();
        for name in struct_names {
            self.struct_fields(&name, Span::default());
        }
        let enum_names: Vec<String> = program.enums.iter().map(|e| e.name.clone()).collect();
        for name in enum_names {
            self.enum_variants(&name, Span::default());
        }
        for k in &program.consts {
            let ty = self.resolve_type_expr(&k.ty);
            if let Some(entry) = self.consts.get_mut(&k.name) {
                entry.0 = ty;
            }
        }
        for f in &program.fns {
            if dup(&f.name, f.span, &mut self.errors) {
                continue;
            }
            let params = f.params.iter().map(|p| self.resolve_type_expr(&p.ty)).collect();
            let ret = match &f.ret {
                Some(t) => self.resolve_type_expr(t),
                None => Ty::unit(),
            };
            let has_self = f.params.first().is_some_and(|p| p.name == "self");
            let sig = FnSig { params, ret, span: f.span, has_self, mut_self: f.mut_self };
            self.fns.insert(f.name.clone(), sig);
        }
    }

    pub(crate) fn struct_fields(&mut self, name: &str, use_span: Span) -> Option<Vec<(String, Ty)>> {
        if let Some(f) = self.structs.get(name) {
            return Some(f.clone());
        }
        let def = self.struct_defs.get(name)?.clone();
        if !self.struct_in_progress.insert(name.to_owned()) {
            self.err(
                Diagnostic::new(use_span, format!("the struct `{name}` contains itself"))
                    .with_help("a value must have a finite size: use an array of a fixed length"),
            );
            return None;
        }
        let mut fields: Vec<(String, Ty)> = Vec::new();
        for (f, te, fspan) in &def.fields {
            if fields.iter().any(|(g, _)| g == f) {
                self.err(Diagnostic::new(*fspan, format!("field `{f}` is declared twice")));
                continue;
            }
            let ty = self.resolve_type_expr(te);
            fields.push((f.clone(), ty));
        }
        self.struct_in_progress.remove(name);
        self.structs.insert(name.to_owned(), fields.clone());
        let width = self.to_type(&Ty::Struct(name.to_owned())).width_u64();
        if width > MAX_TYPE_BITS {
            self.err(Diagnostic::new(
                def.span,
                format!("the struct `{name}` is {width} bits wide; the limit is {MAX_TYPE_BITS}"),
            ));
        }
        Some(fields)
    }

    pub(crate) fn resolve_type_expr(&mut self, te: &TypeExpr) -> Ty {
        match te {
            TypeExpr::Named(name, span) => {
                if name == "bool" {
                    return Ty::Bool;
                }
                if let Some(Type::Int { signed, bits }) = int_type_by_name(name) {
                    return Ty::Int { signed, bits };
                }
                if let Some(Type::Fixed { signed, int_bits, frac_bits }) = fixed_type_by_name(name) {
                    return Ty::Fixed { signed, int_bits, frac_bits };
                }
                if let Some((i, f)) = fixed_name_parts(name) {
                    let msg = format!("unknown type `{name}`: a fixed-point type has {} bits in all", i + f);
                    self.err(Diagnostic::new(*span, msg).with_help(
                        "the integer and fraction bits of a fixed-point type add up to 8, 16, 32, 64 or 128, e.g. I16F16, I8F24, U8F8",
                    ));
                    return Ty::Error;
                }
                if self.enum_defs.contains_key(name) {
                    return match self.enum_variants(name, *span) {
                        Some(_) => Ty::Enum(name.clone()),
                        None => Ty::Error,
                    };
                }
                if self.struct_defs.contains_key(name) {
                    return match self.struct_fields(name, *span) {
                        Some(_) => Ty::Struct(name.clone()),
                        None => Ty::Error,
                    };
                }
                let help = match name.as_str() {
                    "f32" | "f64" => "floating point is not supported; use a fixed-point type such as I16F16",
                    "usize" | "isize" => "",
                    "String" | "str" | "char" => "text is not supported; use integers",
                    "Vec" | "Option" | "Result" => "use a fixed-length array `[T; N]`",
                    _ => "the types are bool, u8…u128, i8…i128, fixed point (I16F16, U8F8, …), [T; N], tuples and structs",
                };
                self.err(Diagnostic::new(*span, format!("unknown type `{name}`")).with_help(help));
                Ty::Error
            }
            TypeExpr::Tuple(items, _) => Ty::Tuple(items.iter().map(|t| self.resolve_type_expr(t)).collect()),
            TypeExpr::Option(inner, _) => Ty::Option(Box::new(self.resolve_type_expr(inner))),
            TypeExpr::Array(elem, len, span) => {
                let elem = self.resolve_type_expr(elem);
                match self.array_len(len) {
                    Some(n) => {
                        let t = Ty::Array(Box::new(elem), n);
                        let width = self.to_type(&t).width_u64();
                        if width > MAX_TYPE_BITS {
                            // Say how many elements fit: a record array is
                            // sized by `--const RECORDS=…`.
                            let each = (width / u64::from(n).max(1)).max(1);
                            self.err(
                                Diagnostic::new(
                                    *span,
                                    format!(
                                        "this array type is wider than {MAX_TYPE_BITS} bits ({n} elements of {each} bits)"
                                    ),
                                )
                                .with_help(format!(
                                    "a value holds at most {MAX_TYPE_BITS} bits, so at most {} elements of {each} bits: \
                                     split the records into several runs (one file, one run each) and add their results",
                                    MAX_TYPE_BITS / each
                                )),
                            );
                            return Ty::Error;
                        }
                        t
                    }
                    None => Ty::Error,
                }
            }
        }
    }

    /// Evaluates an array length (a compile-time integer expression).
    pub(crate) fn array_len(&mut self, e: &Expr<()>) -> Option<u32> {
        let v = self.const_int(e, 0)?;
        if v < 0 || v > i128::from(MAX_ARRAY_LEN) {
            self.err(Diagnostic::new(
                e.span,
                format!("array length {v} is out of range (0..={MAX_ARRAY_LEN})"),
            ));
            return None;
        }
        Some(v as u32)
    }

    /// Evaluates a compile-time integer expression: literals, `const` names,
    /// arithmetic, shifts, bitwise operators, casts and parentheses.
    pub(crate) fn const_int(&mut self, e: &Expr<()>, depth: usize) -> Option<i128> {
        if depth > 64 {
            self.err(Diagnostic::new(e.span, "constant expression is too deep (or refers to itself)"));
            return None;
        }
        let fail = |c: &mut Self, what: &str| {
            c.err(Diagnostic::new(e.span, format!("{what} in a constant expression")));
            None
        };
        match &e.kind {
            ExprKind::Int { negative, value, .. } => {
                let v = i128::try_from(*value).ok()?;
                Some(if *negative { -v } else { v })
            }
            ExprKind::Assoc { ty, member } if self.consts.contains_key(&format!("{ty}::{member}")) => {
                let v = Expr { kind: ExprKind::Var(format!("{ty}::{member}")), span: e.span, ty: () };
                self.const_int(&v, depth + 1)
            }
            ExprKind::Assoc { ty, member } => match self.assoc_const(ty, member, e.span)? {
                ExprKind::Int { negative, value, .. } => {
                    let v = i128::try_from(value).ok()?;
                    Some(if negative { -v } else { v })
                }
                _ => fail(self, "a fixed-point value"),
            },
            ExprKind::Var(name) => {
                if let Some(v) = self.const_values.get(name) {
                    return *v;
                }
                let Some((_, expr)) = self.consts.get(name).cloned() else {
                    self.err(
                        Diagnostic::new(e.span, format!("`{name}` is not a constant"))
                            .with_help("array lengths and `const` values must be known at compile time: use a literal or a `const`"),
                    );
                    return None;
                };
                self.const_values.insert(name.clone(), None);
                let v = self.const_int(&expr, depth + 1);
                self.const_values.insert(name.clone(), v);
                v
            }
            ExprKind::Unary(UnOp::Neg, a) => match self.const_int(a, depth + 1)?.checked_neg() {
                Some(v) => Some(v),
                None => fail(self, "overflow"),
            },
            ExprKind::Cast(a, _) => self.const_int(a, depth + 1),
            ExprKind::Binary(op, a, b) => {
                let x = self.const_int(a, depth + 1)?;
                let y = self.const_int(b, depth + 1)?;
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => x.checked_div(y),
                    BinOp::Rem => x.checked_rem(y),
                    BinOp::Shl => {
                        u32::try_from(y).ok().filter(|&s| s < 127).and_then(|s| x.checked_mul(1i128 << s))
                    }
                    BinOp::Shr => u32::try_from(y).ok().map(|s| x >> s.min(127)),
                    BinOp::BitAnd => Some(x & y),
                    BinOp::BitOr => Some(x | y),
                    BinOp::BitXor => Some(x ^ y),
                    _ => return fail(self, &format!("`{}` is not supported", op.as_str())),
                };
                match r {
                    Some(v) => Some(v),
                    None => fail(self, "overflow or division by zero"),
                }
            }
            _ => fail(self, "this expression is not supported"),
        }
    }

    /// A decimal literal, once every type is known: its type must be a
    /// fixed-point type that holds it (rounded to nearest, ties to even).
    fn check_decimal(&mut self, span: Span, negative: bool, text: &str, ty: &Ty) {
        let shown = if negative { format!("-{text}") } else { text.to_owned() };
        let ty = match self.find(ty) {
            Ty::Fixed { signed, int_bits, frac_bits } => Type::Fixed { signed, int_bits, frac_bits },
            Ty::Decimal(_) => {
                self.err(
                    Diagnostic::new(span, format!("the type of the decimal literal {shown} is not known"))
                        .with_label("a fixed-point type is needed here")
                        .with_help(format!("annotate it, e.g. `let x: I16F16 = {shown};`, or use it with a value whose type is known")),
                );
                return;
            }
            _ => return,
        };
        let Some(format) = Format::of(&ty) else { return };
        let text = if negative { format!("-{text}") } else { text.to_owned() };
        match format.parse(&text) {
            Ok(_) => {}
            Err(DecimalError::OutOfRange) => self.err(
                Diagnostic::new(
                    span,
                    format!("literal out of range: {shown} does not fit in {ty} ({})", format.range_text()),
                )
                .with_help(if negative && !format.signed {
                    format!(
                        "{ty} is unsigned; use a signed type such as I{}F{}",
                        format.width - format.frac_bits,
                        format.frac_bits
                    )
                } else {
                    "use a type with more integer bits".to_owned()
                }),
            ),
            // The scanner only makes well-formed decimals of few enough digits.
            Err(_) => self.err(Diagnostic::new(span, format!("{shown} is not a decimal number"))),
        }
    }

    pub(crate) fn function(&mut self, f: FnDef<()>) -> FnDef<Ty> {
        let sig = self.fns.get(&f.name).cloned().unwrap_or(FnSig {
            params: Vec::new(),
            ret: Ty::Error,
            span: f.span,
            has_self: false,
            mut_self: false,
        });
        self.ret = sig.ret.clone();
        self.current_fn = f.name.clone();
        self.loop_depth = 0;
        self.scopes = vec![Vec::new()];
        let mut names = HashSet::new();
        for (k, p) in f.params.iter().enumerate() {
            if !names.insert(p.name.clone()) {
                self.err(Diagnostic::new(p.span, format!("the parameter `{}` is declared twice", p.name)));
            }
            let ty = sig.params.get(k).cloned().unwrap_or(Ty::Error);
            self.bind(&p.name, ty, p.mutable);
        }
        let body = self.block(f.body);
        let body_ty = body.tail.as_ref().map_or_else(|| self.block_ty_without_tail(&body), |t| t.ty.clone());
        if !self.unify(&body_ty, &sig.ret) {
            let span = body.tail.as_ref().map_or(body.span, |t| t.span);
            let msg = format!(
                "mismatched types: `{}` returns {}, but its body has type {}",
                f.name,
                self.show(&sig.ret),
                self.show(&body_ty)
            );
            let help = if body.tail.is_none() && !self.is_unit(&sig.ret) {
                "end the body with the result, without a `;`"
            } else {
                "change the declared return type or the value"
            };
            self.err(Diagnostic::new(span, msg).with_help(help));
        }
        FnDef {
            name: f.name,
            span: f.span,
            params: f.params,
            ret: f.ret,
            reveal: f.reveal,
            mut_self: f.mut_self,
            body,
        }
    }

    pub(crate) fn block_ty_without_tail(&self, b: &Block<Ty>) -> Ty {
        match b.stmts.last() {
            Some(Stmt { kind: StmtKind::Return(_) | StmtKind::Break | StmtKind::Continue, .. }) => Ty::Never,
            _ => Ty::unit(),
        }
    }

    pub(crate) fn check_recursion(&mut self) {
        // Depth-first search for a cycle through each function.
        let names: Vec<String> = {
            let mut v: Vec<String> = self.fns.keys().cloned().collect();
            v.sort();
            v
        };
        let mut state: HashMap<String, u8> = HashMap::new(); // 1 = on stack, 2 = done
        let mut reported = HashSet::new();
        for start in names {
            if state.contains_key(&start) {
                continue;
            }
            // Iterative DFS: (function, next edge index).
            let mut stack: Vec<(String, usize)> = vec![(start.clone(), 0)];
            state.insert(start, 1);
            while let Some((f, i)) = stack.last().cloned() {
                let edges = self.calls.get(&f).cloned().unwrap_or_default();
                if i < edges.len() {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    let (g, span) = &edges[i];
                    match state.get(g) {
                        Some(1) => {
                            if reported.insert(*span) {
                                let msg = if *g == f {
                                    format!("`{f}` calls itself: recursion is not supported")
                                } else {
                                    format!("`{f}` calls `{g}`, which calls `{f}` again: recursion is not supported")
                                };
                                self.err(
                                    Diagnostic::new(*span, msg)
                                        .with_label("recursive call")
                                        .with_help("functions are inlined into the circuit; rewrite the recursion as a `for` loop"),
                                );
                            }
                        }
                        Some(_) => {}
                        None => {
                            state.insert(g.clone(), 1);
                            stack.push((g.clone(), 0));
                        }
                    }
                } else {
                    state.insert(f, 2);
                    stack.pop();
                }
            }
        }
    }

    // ----- scopes --------------------------------------------------------------------

    pub(crate) fn bind(&mut self, name: &str, ty: Ty, mutable: bool) {
        if let Some(s) = self.scopes.last_mut() {
            s.push(Local { name: name.to_owned(), ty, mutable });
        }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<&Local> {
        self.scopes.iter().rev().flat_map(|s| s.iter().rev()).find(|l| l.name == name)
    }

    pub(crate) fn bind_pattern(&mut self, pat: &Pattern, ty: &Ty) {
        match pat {
            Pattern::Ident { name, mutable, .. } => self.bind(name, ty.clone(), *mutable),
            Pattern::Wild => {}
            Pattern::Tuple(items, span) => match self.find(ty) {
                Ty::Tuple(ts) if ts.len() == items.len() => {
                    for (p, t) in items.iter().zip(&ts) {
                        self.bind_pattern(p, t);
                    }
                }
                Ty::Error | Ty::Never => {
                    for p in items {
                        self.bind_pattern(p, &Ty::Error);
                    }
                }
                other => {
                    let msg = format!(
                        "this pattern is a tuple of {}, but the value has type {}",
                        items.len(),
                        self.show(&other)
                    );
                    self.err(Diagnostic::new(*span, msg));
                    for p in items {
                        self.bind_pattern(p, &Ty::Error);
                    }
                }
            },
            Pattern::Struct { name, fields, rest, span } => {
                let declared = match self.find(ty) {
                    Ty::Struct(s) if &s == name => self.struct_fields(&s, *span),
                    Ty::Error | Ty::Never => None,
                    other => {
                        let msg = format!(
                            "this pattern is the struct `{name}`, but the value has type {}",
                            self.show(&other)
                        );
                        self.err(Diagnostic::new(*span, msg));
                        None
                    }
                };
                let Some(declared) = declared else {
                    for (_, p) in fields {
                        self.bind_pattern(p, &Ty::Error);
                    }
                    return;
                };
                for (k, (field, p)) in fields.iter().enumerate() {
                    let t = match declared.iter().find(|(f, _)| f == field) {
                        _ if fields[..k].iter().any(|(g, _)| g == field) => {
                            self.err(Diagnostic::new(*span, format!("field `{field}` is bound twice")));
                            Ty::Error
                        }
                        Some((_, t)) => t.clone(),
                        None => {
                            self.err(Diagnostic::new(
                                *span,
                                format!("the struct `{name}` has no field `{field}`"),
                            ));
                            Ty::Error
                        }
                    };
                    self.bind_pattern(p, &t);
                }
                let missing: Vec<&str> = declared
                    .iter()
                    .filter(|(f, _)| !fields.iter().any(|(g, _)| g == f))
                    .map(|(f, _)| f.as_str())
                    .collect();
                if !rest && !missing.is_empty() {
                    self.err(
                        Diagnostic::new(
                            *span,
                            format!("the pattern does not mention field `{}`", missing.join("`, `")),
                        )
                        .with_help("bind it, or end the pattern with `..` to ignore the fields not named"),
                    );
                }
            }
        }
    }

    // ----- blocks and statements -----------------------------------------------------------

    pub(crate) fn block(&mut self, b: Block<()>) -> Block<Ty> {
        self.scopes.push(Vec::new());
        let mut stmts = Vec::with_capacity(b.stmts.len());
        for s in b.stmts {
            stmts.push(self.stmt(s));
        }
        let tail = b.tail.map(|t| Box::new(self.expr(*t)));
        self.scopes.pop();
        Block { stmts, tail, span: b.span }
    }

    pub(crate) fn block_ty(&self, b: &Block<Ty>) -> Ty {
        match &b.tail {
            Some(t) => t.ty.clone(),
            None => self.block_ty_without_tail(b),
        }
    }

    pub(crate) fn stmt(&mut self, s: Stmt<()>) -> Stmt<Ty> {
        let span = s.span;
        let kind = match s.kind {
            StmtKind::Let { pat, ty, init } => {
                let init = self.expr(init);
                if let Some(te) = &ty {
                    let declared = self.resolve_type_expr(te);
                    if !self.unify(&init.ty, &declared) {
                        self.mismatch(init.span, &declared, &init.ty);
                    }
                    self.bind_pattern(&pat, &declared);
                } else {
                    let t = init.ty.clone();
                    self.bind_pattern(&pat, &t);
                }
                StmtKind::Let { pat, ty, init }
            }
            StmtKind::Assign { place, op, value } => {
                let place = self.expr(place);
                self.check_place(&place);
                let value = self.expr(value);
                match op {
                    None => {
                        if !self.unify(&value.ty, &place.ty) {
                            self.mismatch(value.span, &place.ty, &value.ty);
                        }
                    }
                    Some(op) => {
                        if matches!(place.kind, ExprKind::Tuple(_)) {
                            self.err(Diagnostic::new(
                                place.span,
                                "compound assignment to a tuple is not supported",
                            ));
                        }
                        let _ = self.binary_type(op, &place.ty, &value.ty, place.span, value.span, span);
                    }
                }
                StmtKind::Assign { place, op, value }
            }
            StmtKind::Expr(e) => StmtKind::Expr(self.expr(e)),
            StmtKind::For { pat, iter, body } => {
                let (source, mut elem_ty) = match iter.source {
                    ForSource::Range(a, b, inc) => {
                        let a = self.expr(a);
                        let b = self.expr(b);
                        if !self.unify(&a.ty, &b.ty) {
                            self.mismatch(b.span, &a.ty, &b.ty);
                        }
                        if !self.is_int_like(&a.ty) {
                            let msg = format!("a range needs integer bounds, found {}", self.show(&a.ty));
                            self.err(Diagnostic::new(a.span, msg));
                        }
                        let t = a.ty.clone();
                        (ForSource::Range(a, b, inc), t)
                    }
                    ForSource::Array(a) => {
                        let a = self.expr(a);
                        let t = match self.find(&a.ty) {
                            Ty::Array(e, _) => *e,
                            Ty::Error => Ty::Error,
                            other => {
                                let msg = format!(
                                    "`for` can loop over a range `A..B` or an array, not over {}",
                                    self.show(&other)
                                );
                                self.err(Diagnostic::new(a.span, msg));
                                Ty::Error
                            }
                        };
                        (ForSource::Array(a), t)
                    }
                };
                let mut adaptors = Vec::new();
                let mut enumerated = false;
                for ad in iter.adaptors {
                    adaptors.push(match ad {
                        Adaptor::Rev => Adaptor::Rev,
                        Adaptor::StepBy(k) => {
                            let k = self.expr(k);
                            if !self.is_int_like(&k.ty) {
                                let msg = format!("`step_by` needs an integer, found {}", self.show(&k.ty));
                                self.err(Diagnostic::new(k.span, msg));
                            }
                            Adaptor::StepBy(k)
                        }
                        Adaptor::Enumerate => {
                            if enumerated {
                                self.err(Diagnostic::new(span, "`enumerate` twice is not supported"));
                            }
                            enumerated = true;
                            elem_ty = Ty::Tuple(vec![Ty::Int { signed: false, bits: 64 }, elem_ty]);
                            Adaptor::Enumerate
                        }
                    });
                }
                let iter = ForIter { source, adaptors };
                self.scopes.push(Vec::new());
                self.bind_pattern(&pat, &elem_ty);
                self.loop_depth += 1;
                let body = self.block(body);
                self.loop_depth -= 1;
                self.scopes.pop();
                let bt = self.block_ty(&body);
                if !self.unify(&bt, &Ty::unit()) {
                    let sp = body.tail.as_ref().map_or(body.span, |t| t.span);
                    let msg = format!("a `for` body has no value, but this is {}", self.show(&bt));
                    self.err(Diagnostic::new(sp, msg).with_help("end it with `;`"));
                }
                StmtKind::For { pat, iter, body }
            }
            StmtKind::Return(e) => {
                let e = e.map(|e| self.expr(e));
                let t = e.as_ref().map_or_else(Ty::unit, |e| e.ty.clone());
                let ret = self.ret.clone();
                if !self.unify(&t, &ret) {
                    let sp = e.as_ref().map_or(span, |e| e.span);
                    self.mismatch(sp, &ret, &t);
                }
                StmtKind::Return(e)
            }
            StmtKind::Break => {
                self.needs_loop(span, "break");
                StmtKind::Break
            }
            StmtKind::Continue => {
                self.needs_loop(span, "continue");
                StmtKind::Continue
            }
        };
        Stmt { kind, span }
    }

    /// `break` and `continue` (`word`) must be inside a `for` loop of the
    /// function being checked, as in Rust.
    fn needs_loop(&mut self, span: Span, word: &str) {
        if self.loop_depth == 0 {
            self.err(
                Diagnostic::new(span, format!("`{word}` outside of a loop"))
                    .with_label(format!("cannot `{word}` outside of a loop"))
                    .with_help(
                        "`break` and `continue` belong in the body of a `for` loop of the same function",
                    ),
            );
        }
    }

    /// A place must be a `mut` variable, possibly indexed or with fields.
    pub(crate) fn check_place(&mut self, place: &Expr<Ty>) {
        if let ExprKind::Tuple(items) = &place.kind {
            for it in items {
                self.check_place(it);
            }
            return;
        }
        let mut root = place;
        while let ExprKind::Index(b, _) | ExprKind::Field(b, _) | ExprKind::TupleField(b, _) = &root.kind {
            root = b;
        }
        match &root.kind {
            ExprKind::Var(name)
                if name == "self"
                    && std::ptr::eq(root, place)
                    && self.fns.get(&self.current_fn).is_some_and(|s| s.mut_self) =>
            {
                self.err(
                    Diagnostic::new(root.span, "cannot assign to `self` in a `&mut self` method")
                        .with_help("assign its fields (`self.x = …`); `*self = …` is not supported"),
                );
            }
            ExprKind::Var(name) => match self.lookup(name) {
                Some(l) if l.mutable => {}
                Some(_) => {
                    let d = Diagnostic::new(
                        root.span,
                        format!("cannot assign to `{name}`, which is not declared `mut`"),
                    )
                    .with_help(format!(
                        "declare it mutable: `let mut {name}` (or `mut {name}` for a parameter)"
                    ));
                    self.err(d);
                }
                None if self.consts.contains_key(name) => {
                    self.err(Diagnostic::new(root.span, format!("cannot assign to the constant `{name}`")));
                }
                None => {} // already reported as unknown
            },
            _ => self.err(
                Diagnostic::new(place.span, "cannot assign to this expression")
                    .with_help("assign to a variable, an element `a[i]` or a field `s.f`"),
            ),
        }
    }
}
