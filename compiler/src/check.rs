//! Stage 3, type checking: [`Untyped`] → [`Typed`] program.
//!
//! Types are inferred the way Rust infers them for this subset: every
//! expression has one type; an integer literal without a suffix takes its type
//! from context (unification with integer type variables); a literal whose
//! type nothing decides is `i32`, except that one used as an array index is a
//! 64-bit unsigned integer (Rust's `usize`). Out-of-range literals are errors.
//!
//! The checker also resolves `const` items and array lengths (compile-time
//! integer expressions), rejects recursion (direct or mutual: functions are
//! inlined), checks that `main`'s parameters each name their owner, and
//! reports every error it finds.

use crate::ast::*;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::limits::{MAX_ARRAY_LEN, MAX_TYPE_BITS};
use crate::types::{int_range_text, int_type_by_name, literal_fits, Type};
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
pub struct Checked {
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
pub fn check(program: Untyped) -> Result<Checked, Diagnostics> {
    let mut c = Checker::new();
    c.collect(&program);
    let Program { consts, structs: _, fns } = program;

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
                if result.is_unit() {
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
    for (span, ty, what) in std::mem::take(&mut c.must_be_signed) {
        if let Ty::Int { signed: false, bits } = c.find(&ty) {
            c.err(
                Diagnostic::new(span, format!("cannot apply {what} to the unsigned type u{bits}"))
                    .with_help("use a signed type, or `x.wrapping_neg()` / `0 - x` for wrapping negation"),
            );
        }
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
        fns: typed_fns
            .into_iter()
            .map(|f| FnDef {
                name: f.name,
                span: f.span,
                params: f.params,
                ret: f.ret,
                reveal: f.reveal,
                body: f.body.map(&mut resolve),
            })
            .collect(),
    };
    match main {
        Some(main) => Ok(Checked { program, main, params, result, reveal }),
        None => Err(Diagnostics::single(Diagnostic::new(Span::new(0, 0), "the program has no `fn main`"))),
    }
}

/// A type during inference: integer type variables and "diverges" are
/// only here, never in a [`Type`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ty {
    Bool,
    Int {
        signed: bool,
        bits: u32,
    },
    /// An integer type not yet known.
    Var(u32),
    Array(Box<Ty>, u32),
    Tuple(Vec<Ty>),
    Struct(String),
    /// The type of a block that always returns: fits anywhere.
    Never,
    /// After an error: fits anywhere, reported once.
    Error,
}

impl Ty {
    fn unit() -> Ty {
        Ty::Tuple(Vec::new())
    }
}

#[derive(Clone, Debug)]
struct FnSig {
    params: Vec<Ty>,
    ret: Ty,
    span: Span,
}

#[derive(Clone, Debug)]
struct Local {
    name: String,
    ty: Ty,
    mutable: bool,
}

struct Checker {
    errors: Diagnostics,
    /// Integer variable bindings (`None`: unbound).
    vars: Vec<Option<Ty>>,
    structs: HashMap<String, Vec<(String, Ty)>>,
    struct_defs: HashMap<String, StructDef>,
    struct_in_progress: HashSet<String>,
    consts: HashMap<String, (Ty, Expr<()>)>,
    const_values: HashMap<String, Option<i128>>,
    fns: HashMap<String, FnSig>,
    scopes: Vec<Vec<Local>>,
    /// The return type of the function being checked.
    ret: Ty,
    current_fn: String,
    /// caller → (callee, call span).
    calls: HashMap<String, Vec<(String, Span)>>,
    literals: Vec<(Span, bool, u128, Ty)>,
    must_be_signed: Vec<(Span, Ty, &'static str)>,
}

const BUILTINS: &[&str] = &["min", "max", "abs", "len", "count_ones", "__neg"];

impl Checker {
    fn new() -> Self {
        Checker {
            errors: Diagnostics::new(),
            vars: Vec::new(),
            structs: HashMap::new(),
            struct_defs: HashMap::new(),
            struct_in_progress: HashSet::new(),
            consts: HashMap::new(),
            const_values: HashMap::new(),
            fns: HashMap::new(),
            scopes: Vec::new(),
            ret: Ty::unit(),
            current_fn: String::new(),
            calls: HashMap::new(),
            literals: Vec::new(),
            must_be_signed: Vec::new(),
        }
    }

    fn err(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    // ----- items -------------------------------------------------------------------

    /// Records every item's name (and signature) so that order does not matter.
    fn collect(&mut self, program: &Untyped) {
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
        for k in &program.consts {
            if !dup(&k.name, k.span, &mut self.errors) {
                self.consts.insert(k.name.clone(), (Ty::Error, k.value.clone()));
            }
        }
        let struct_names: Vec<String> = program.structs.iter().map(|s| s.name.clone()).collect();
        for name in struct_names {
            self.struct_fields(&name, Span::default());
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
            self.fns.insert(f.name.clone(), FnSig { params, ret, span: f.span });
        }
    }

    fn struct_fields(&mut self, name: &str, use_span: Span) -> Option<Vec<(String, Ty)>> {
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

    fn resolve_type_expr(&mut self, te: &TypeExpr) -> Ty {
        match te {
            TypeExpr::Named(name, span) => {
                if name == "bool" {
                    return Ty::Bool;
                }
                if let Some(Type::Int { signed, bits }) = int_type_by_name(name) {
                    return Ty::Int { signed, bits };
                }
                if self.struct_defs.contains_key(name) {
                    return match self.struct_fields(name, *span) {
                        Some(_) => Ty::Struct(name.clone()),
                        None => Ty::Error,
                    };
                }
                let help = match name.as_str() {
                    "f32" | "f64" => "floating point is not supported; use integers",
                    "usize" | "isize" => "",
                    "String" | "str" | "char" => "text is not supported; use integers",
                    "Vec" | "Option" | "Result" => "use a fixed-length array `[T; N]`",
                    _ => "the types are bool, u8…u128, i8…i128, [T; N], tuples and structs",
                };
                self.err(Diagnostic::new(*span, format!("unknown type `{name}`")).with_help(help));
                Ty::Error
            }
            TypeExpr::Tuple(items, _) => Ty::Tuple(items.iter().map(|t| self.resolve_type_expr(t)).collect()),
            TypeExpr::Array(elem, len, span) => {
                let elem = self.resolve_type_expr(elem);
                match self.array_len(len) {
                    Some(n) => {
                        let t = Ty::Array(Box::new(elem), n);
                        if self.to_type(&t).width_u64() > MAX_TYPE_BITS {
                            self.err(Diagnostic::new(
                                *span,
                                format!("this array type is wider than {MAX_TYPE_BITS} bits"),
                            ));
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
    fn array_len(&mut self, e: &Expr<()>) -> Option<u32> {
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
    fn const_int(&mut self, e: &Expr<()>, depth: usize) -> Option<i128> {
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

    fn function(&mut self, f: FnDef<()>) -> FnDef<Ty> {
        let sig = self.fns.get(&f.name).cloned().unwrap_or(FnSig {
            params: Vec::new(),
            ret: Ty::Error,
            span: f.span,
        });
        self.ret = sig.ret.clone();
        self.current_fn = f.name.clone();
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
        FnDef { name: f.name, span: f.span, params: f.params, ret: f.ret, reveal: f.reveal, body }
    }

    fn block_ty_without_tail(&self, b: &Block<Ty>) -> Ty {
        match b.stmts.last() {
            Some(Stmt { kind: StmtKind::Return(_), .. }) => Ty::Never,
            _ => Ty::unit(),
        }
    }

    fn check_recursion(&mut self) {
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

    fn bind(&mut self, name: &str, ty: Ty, mutable: bool) {
        if let Some(s) = self.scopes.last_mut() {
            s.push(Local { name: name.to_owned(), ty, mutable });
        }
    }

    fn lookup(&self, name: &str) -> Option<&Local> {
        self.scopes.iter().rev().flat_map(|s| s.iter().rev()).find(|l| l.name == name)
    }

    fn bind_pattern(&mut self, pat: &Pattern, ty: &Ty) {
        match pat {
            Pattern::Ident { name, mutable, .. } => self.bind(name, ty.clone(), *mutable),
            Pattern::Wild(_) => {}
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
        }
    }

    // ----- inference -------------------------------------------------------------------

    fn fresh(&mut self) -> Ty {
        self.vars.push(None);
        Ty::Var(self.vars.len() as u32 - 1)
    }

    /// The type `t` stands for, following variable bindings.
    fn find(&self, t: &Ty) -> Ty {
        let mut t = t.clone();
        let mut steps = 0;
        while let Ty::Var(v) = t {
            match self.vars.get(v as usize) {
                Some(Some(next)) if steps < 1_000_000 => {
                    t = next.clone();
                    steps += 1;
                }
                _ => return Ty::Var(v),
            }
        }
        t
    }

    fn unify(&mut self, a: &Ty, b: &Ty) -> bool {
        let (a, b) = (self.find(a), self.find(b));
        match (&a, &b) {
            (Ty::Error, _) | (_, Ty::Error) | (Ty::Never, _) | (_, Ty::Never) => true,
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
            (Ty::Bool, Ty::Bool) => true,
            (Ty::Int { signed: s1, bits: b1 }, Ty::Int { signed: s2, bits: b2 }) => s1 == s2 && b1 == b2,
            (Ty::Array(e1, n1), Ty::Array(e2, n2)) => n1 == n2 && self.unify(e1, e2),
            (Ty::Tuple(t1), Ty::Tuple(t2)) => {
                t1.len() == t2.len() && t1.iter().zip(t2).fold(true, |ok, (x, y)| self.unify(x, y) && ok)
            }
            (Ty::Struct(n1), Ty::Struct(n2)) => n1 == n2,
            _ => false,
        }
    }

    /// After unifying `a` and `b`: the one that is not `Never`.
    fn join(&self, a: &Ty, b: &Ty) -> Ty {
        match self.find(a) {
            Ty::Never => self.find(b),
            t => t,
        }
    }

    fn show(&self, t: &Ty) -> String {
        match self.find(t) {
            Ty::Bool => "bool".into(),
            Ty::Int { signed, bits } => Type::Int { signed, bits }.to_string(),
            Ty::Var(_) => "{integer}".into(),
            Ty::Array(e, n) => format!("[{}; {n}]", self.show(&e)),
            Ty::Tuple(ts) => {
                let parts: Vec<String> = ts.iter().map(|t| self.show(t)).collect();
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
            Ty::Struct(n) => n,
            Ty::Never => "!".into(),
            Ty::Error => "{error}".into(),
        }
    }

    fn is_unit(&self, t: &Ty) -> bool {
        matches!(self.find(t), Ty::Tuple(ts) if ts.is_empty())
    }

    fn is_int_like(&self, t: &Ty) -> bool {
        matches!(self.find(t), Ty::Int { .. } | Ty::Var(_) | Ty::Error | Ty::Never)
    }

    /// The final type (unbound integer variables default to `i32`).
    fn to_type(&self, t: &Ty) -> Type {
        match self.find(t) {
            Ty::Bool => Type::Bool,
            Ty::Int { signed, bits } => Type::Int { signed, bits },
            Ty::Var(_) => Type::Int { signed: true, bits: 32 },
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
            Ty::Never | Ty::Error => Type::unit(),
        }
    }

    fn mismatch(&mut self, span: Span, expected: &Ty, found: &Ty) {
        let msg = format!("mismatched types: expected {}, found {}", self.show(expected), self.show(found));
        let mut d = Diagnostic::new(span, msg).with_label(format!("expected {}", self.show(expected)));
        if self.is_int_like(expected) && self.is_int_like(found) {
            d = d.with_help("convert with `as`, e.g. `x as u32`");
        }
        self.err(d);
    }

    // ----- blocks and statements -----------------------------------------------------------

    fn block(&mut self, b: Block<()>) -> Block<Ty> {
        self.scopes.push(Vec::new());
        let mut stmts = Vec::with_capacity(b.stmts.len());
        for s in b.stmts {
            stmts.push(self.stmt(s));
        }
        let tail = b.tail.map(|t| Box::new(self.expr(*t)));
        self.scopes.pop();
        Block { stmts, tail, span: b.span }
    }

    fn block_ty(&self, b: &Block<Ty>) -> Ty {
        match &b.tail {
            Some(t) => t.ty.clone(),
            None => self.block_ty_without_tail(b),
        }
    }

    fn stmt(&mut self, s: Stmt<()>) -> Stmt<Ty> {
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
                let body = self.block(body);
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
        };
        Stmt { kind, span }
    }

    /// A place must be a `mut` variable, possibly indexed or with fields.
    fn check_place(&mut self, place: &Expr<Ty>) {
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

    // ----- expressions -----------------------------------------------------------------------

    fn typed(kind: ExprKind<Ty>, span: Span, ty: Ty) -> Expr<Ty> {
        Expr { kind, span, ty }
    }

    fn expr(&mut self, e: Expr<()>) -> Expr<Ty> {
        let span = e.span;
        match e.kind {
            ExprKind::Int { negative, value, suffix } => {
                let ty = match suffix.as_deref().and_then(int_type_by_name) {
                    Some(Type::Int { signed, bits }) => Ty::Int { signed, bits },
                    _ => self.fresh(),
                };
                self.literals.push((span, negative, value, ty.clone()));
                Self::typed(ExprKind::Int { negative, value, suffix }, span, ty)
            }
            ExprKind::Bool(b) => Self::typed(ExprKind::Bool(b), span, Ty::Bool),
            ExprKind::Var(name) => {
                let ty = if let Some(l) = self.lookup(&name) {
                    l.ty.clone()
                } else if let Some((t, _)) = self.consts.get(&name) {
                    t.clone()
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
            ExprKind::Unary(op, a) => {
                let a = self.expr(*a);
                let t = self.find(&a.ty);
                let ok = match op {
                    UnOp::Neg => {
                        self.must_be_signed.push((span, a.ty.clone(), "unary `-`"));
                        self.is_int_like(&t)
                    }
                    UnOp::Not => self.is_int_like(&t) || t == Ty::Bool,
                };
                if !ok {
                    let sym = if op == UnOp::Neg { "-" } else { "!" };
                    let msg = format!("cannot apply unary `{sym}` to {}", self.show(&t));
                    self.err(Diagnostic::new(span, msg));
                }
                let ty = a.ty.clone();
                Self::typed(ExprKind::Unary(op, Box::new(a)), span, ty)
            }
            ExprKind::Binary(op, a, b) => {
                let a = self.expr(*a);
                let b = self.expr(*b);
                let ty = self.binary_type(op, &a.ty, &b.ty, a.span, b.span, span);
                Self::typed(ExprKind::Binary(op, Box::new(a), Box::new(b)), span, ty)
            }
            ExprKind::Cast(a, te) => {
                let a = self.expr(*a);
                let target = self.resolve_type_expr(&te);
                let from = self.find(&a.ty);
                let from_ok = matches!(from, Ty::Int { .. } | Ty::Var(_) | Ty::Bool | Ty::Error | Ty::Never);
                let to_ok = matches!(target, Ty::Int { .. } | Ty::Bool | Ty::Error);
                if !from_ok || !to_ok {
                    let msg = format!("cannot cast {} as {}", self.show(&from), self.show(&target));
                    self.err(
                        Diagnostic::new(span, msg).with_help("`as` converts between integer types and bool"),
                    );
                }
                Self::typed(ExprKind::Cast(Box::new(a), te), span, target)
            }
            ExprKind::If(c, then, els) => {
                let c = self.expr(*c);
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
                            let msg = format!(
                                "an `if` without `else` has no value, but this branch is {}",
                                self.show(&tt)
                            );
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
            ExprKind::Block(b) => {
                let b = self.block(b);
                let ty = self.block_ty(&b);
                Self::typed(ExprKind::Block(b), span, ty)
            }
            ExprKind::Call(name, args) => self.call(name, args, span),
            ExprKind::Index(a, i) => {
                let a = self.expr(*a);
                let i = self.expr(*i);
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
                        let msg = format!(
                            "an array index must be an unsigned integer, found {}",
                            self.show(&other)
                        );
                        self.err(Diagnostic::new(i.span, msg).with_help("convert it, e.g. `i as u32`"));
                    }
                }
                Self::typed(ExprKind::Index(Box::new(a), Box::new(i)), span, elem)
            }
            ExprKind::Field(a, name) => {
                let a = self.expr(*a);
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
            ExprKind::TupleField(a, k) => {
                let a = self.expr(*a);
                let ty = match self.find(&a.ty) {
                    Ty::Tuple(ts) if (k as usize) < ts.len() => ts[k as usize].clone(),
                    Ty::Error => Ty::Error,
                    other => {
                        let msg = format!("{} has no field `{k}`", self.show(&other));
                        self.err(Diagnostic::new(span, msg));
                        Ty::Error
                    }
                };
                Self::typed(ExprKind::TupleField(Box::new(a), k), span, ty)
            }
            ExprKind::Array(items) => {
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
            ExprKind::Repeat(v, len) => {
                let v = self.expr(*v);
                let ty = match self.array_len(&len) {
                    Some(n) => {
                        let t = Ty::Array(Box::new(v.ty.clone()), n);
                        if self.to_type(&t).width_u64() > MAX_TYPE_BITS {
                            self.err(Diagnostic::new(
                                span,
                                format!("this array is wider than {MAX_TYPE_BITS} bits"),
                            ));
                            Ty::Error
                        } else {
                            t
                        }
                    }
                    None => Ty::Error,
                };
                Self::typed(ExprKind::Repeat(Box::new(v), len), span, ty)
            }
            ExprKind::Tuple(items) => {
                let items: Vec<Expr<Ty>> = items.into_iter().map(|e| self.expr(e)).collect();
                let ty = Ty::Tuple(items.iter().map(|e| e.ty.clone()).collect());
                Self::typed(ExprKind::Tuple(items), span, ty)
            }
            ExprKind::Struct(name, fields) => {
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
                        None => self
                            .err(Diagnostic::new(fspan, format!("the struct `{name}` has no field `{f}`"))),
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
                    self.err(Diagnostic::new(
                        span,
                        format!("missing fields of `{name}`: {}", missing.join(", ")),
                    ));
                }
                // Declaration order, for lowering.
                given.sort_by_key(|(f, _, _)| decl.iter().position(|(g, _)| g == f).unwrap_or(usize::MAX));
                Self::typed(ExprKind::Struct(name.clone(), given), span, Ty::Struct(name))
            }
        }
    }

    /// A type variable for an element type not yet known (an empty array):
    /// an integer variable (defaults to `i32`).
    fn fresh_any(&mut self) -> Ty {
        self.fresh()
    }

    fn binary_type(&mut self, op: BinOp, a: &Ty, b: &Ty, aspan: Span, bspan: Span, span: Span) -> Ty {
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
                    if self.is_int_like(a) && self.is_int_like(b) {
                        d = d.with_help("both operands must have the same type; convert one with `as`");
                    }
                    self.err(d);
                    return if op.is_comparison() { Ty::Bool } else { Ty::Error };
                }
                let t = self.find(a);
                let ok = match op {
                    BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => self.is_int_like(&t),
                    BinOp::BitAnd
                    | BinOp::BitOr
                    | BinOp::BitXor
                    | BinOp::Lt
                    | BinOp::Le
                    | BinOp::Gt
                    | BinOp::Ge => self.is_int_like(&t) || t == Ty::Bool,
                    _ => true,
                };
                if !ok {
                    let msg = format!("cannot apply `{sym}` to {}", self.show(&t));
                    let mut d = Diagnostic::new(span, msg);
                    if t == Ty::Bool {
                        d = d.with_help("convert with `as u8` to compute with a bool");
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

    fn call(&mut self, name: String, args: Vec<Expr<()>>, span: Span) -> Expr<Ty> {
        let args: Vec<Expr<Ty>> = args.into_iter().map(|a| self.expr(a)).collect();
        if let Some(sig) = self.fns.get(&name).cloned() {
            self.calls.entry(self.current_fn.clone()).or_default().push((name.clone(), span));
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
        if !BUILTINS.contains(&name.as_str()) {
            let d = Diagnostic::new(span, format!("cannot find function `{name}`"));
            let d = if self.lookup(&name).is_some() {
                d.with_help(format!("`{name}` is a variable, not a function"))
            } else {
                d.with_help("the built-in functions are min, max and abs")
            };
            self.err(d);
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        let want = match name.as_str() {
            "min" | "max" => 2,
            _ => 1,
        };
        if args.len() != want {
            self.err(Diagnostic::new(
                span,
                format!("`{name}` takes {want} argument(s), {} given", args.len()),
            ));
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        let ty = match name.as_str() {
            "min" | "max" => {
                if !self.unify(&args[0].ty, &args[1].ty) {
                    self.mismatch(args[1].span, &args[0].ty, &args[1].ty);
                }
                let t = args[0].ty.clone();
                if !self.is_int_like(&t) {
                    let msg = format!("`{name}` needs integers, found {}", self.show(&t));
                    self.err(Diagnostic::new(span, msg));
                }
                self.join(&t, &args[1].ty)
            }
            "abs" | "__neg" => {
                let t = args[0].ty.clone();
                if !self.is_int_like(&t) {
                    let msg = format!("`{name}` needs an integer, found {}", self.show(&t));
                    self.err(Diagnostic::new(span, msg));
                }
                if name == "abs" {
                    self.must_be_signed.push((span, t.clone(), "`abs`"));
                }
                t
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
        Self::typed(ExprKind::Call(name, args), span, ty)
    }
}
