//! The syntax tree, generic over what each expression carries: `()` after
//! parsing ([`Untyped`]), a [`Type`] after checking ([`Typed`]) — so the
//! phase shows in the type, and lowering only ever sees checked programs.

use crate::diag::Span;
use crate::types::Type;
use garblet_circuits::{Party, Visibility};

/// A program as parsed.
pub(crate) type Untyped = Program<()>;
/// A program as checked: every expression carries its type.
pub(crate) type Typed = Program<Type>;

/// A whole source file.
#[derive(Clone, Debug)]
pub(crate) struct Program<T> {
    /// `const` items.
    pub consts: Vec<ConstDef<T>>,
    /// `struct` items.
    pub structs: Vec<StructDef>,
    /// `enum` items.
    pub enums: Vec<EnumDef>,
    /// `fn` items.
    pub fns: Vec<FnDef<T>>,
}

/// `const NAME: T = value;`
#[derive(Clone, Debug)]
pub(crate) struct ConstDef<T> {
    /// Its name.
    pub name: String,
    /// Span of the name.
    pub span: Span,
    /// Declared type.
    pub ty: TypeExpr,
    /// Value expression.
    pub value: Expr<T>,
}

/// `struct Name { field: T, … }`
#[derive(Clone, Debug)]
pub(crate) struct StructDef {
    /// Its name.
    pub name: String,
    /// Span of the name.
    pub span: Span,
    /// Fields: name, type, span of the name.
    pub fields: Vec<(String, TypeExpr, Span)>,
}

/// `enum Name { Variant, Variant(T, …), Variant { field: T, … }, … }`
#[derive(Clone, Debug)]
pub(crate) struct EnumDef {
    /// Its name.
    pub name: String,
    /// Span of the name.
    pub span: Span,
    /// The variants in declaration order.
    pub variants: Vec<VariantDef>,
}

/// One variant of an `enum`.
#[derive(Clone, Debug)]
pub(crate) struct VariantDef {
    /// Its name.
    pub name: String,
    /// Span of the name.
    pub span: Span,
    /// `= N`, a constant expression.
    pub discriminant: Option<Expr<()>>,
    /// Its fields.
    pub fields: VariantFields<TypeExpr>,
}

/// The fields of an enum variant (as declared, or as a pattern lists them).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum VariantFields<T> {
    /// `Red`.
    Unit,
    /// `Circle(u8)`: the fields by position.
    Tuple(Vec<T>),
    /// `Rect { w: u8, h: u8 }`: the fields by name.
    Named(Vec<(String, T)>),
}

/// `fn name(params) -> ret { body }`
#[derive(Clone, Debug)]
pub(crate) struct FnDef<T> {
    /// Its name.
    pub name: String,
    /// Span of the name.
    pub span: Span,
    /// Parameters.
    pub params: Vec<ParamDef>,
    /// Declared return type (`None` for `()`).
    pub ret: Option<TypeExpr>,
    /// Who learns the result of `main` (`#[reveal(…)]`; `Both` by default).
    pub reveal: Visibility,
    /// A method taking `&mut self`: its first parameter is a copy of the
    /// receiver, written back to the receiver's place after the call.
    pub mut_self: bool,
    /// The body.
    pub body: Block<T>,
}

/// A function parameter.
#[derive(Clone, Debug)]
pub(crate) struct ParamDef {
    /// Its name.
    pub name: String,
    /// Span of the name.
    pub span: Span,
    /// `mut name: T`.
    pub mutable: bool,
    /// Declared type.
    pub ty: TypeExpr,
    /// Owner (`#[garbler]`/`#[evaluator]`), for `main`'s parameters.
    pub party: Option<Party>,
}

/// A type as written.
#[derive(Clone, Debug)]
pub(crate) enum TypeExpr {
    /// `bool`, `u32`, a struct name, …
    Named(String, Span),
    /// `[T; N]`; `N` is a constant expression.
    Array(Box<TypeExpr>, Box<Expr<()>>, Span),
    /// `(A, B)`, `()`.
    Tuple(Vec<TypeExpr>, Span),
    /// `Option<T>`.
    Option(Box<TypeExpr>, Span),
}

impl TypeExpr {
    /// Where it is written.
    pub(crate) fn span(&self) -> Span {
        match self {
            TypeExpr::Named(_, s)
            | TypeExpr::Array(_, _, s)
            | TypeExpr::Tuple(_, s)
            | TypeExpr::Option(_, s) => *s,
        }
    }
}

/// A `{ … }` block: statements, then an optional value.
#[derive(Clone, Debug)]
pub(crate) struct Block<T> {
    /// Statements in order.
    pub stmts: Vec<Stmt<T>>,
    /// The value of the block (the last expression without `;`).
    pub tail: Option<Box<Expr<T>>>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement.
#[derive(Clone, Debug)]
pub(crate) struct Stmt<T> {
    /// What it is.
    pub kind: StmtKind<T>,
    /// Where.
    pub span: Span,
}

/// The statements.
#[derive(Clone, Debug)]
pub(crate) enum StmtKind<T> {
    /// `let pat: T = init;`
    Let {
        /// What is bound.
        pat: Pattern,
        /// Optional annotation.
        ty: Option<TypeExpr>,
        /// The value.
        init: Expr<T>,
    },
    /// `place = value;` or `place op= value;`
    Assign {
        /// A variable, possibly indexed or with fields.
        place: Expr<T>,
        /// For compound assignment, the operator.
        op: Option<BinOp>,
        /// The value.
        value: Expr<T>,
    },
    /// An expression evaluated for its effect (`if`, a block, …).
    Expr(Expr<T>),
    /// `for pat in iter { body }`
    For {
        /// The loop variable(s).
        pat: Pattern,
        /// What it ranges over.
        iter: ForIter<T>,
        /// The body.
        body: Block<T>,
    },
    /// `return value;`
    Return(Option<Expr<T>>),
    /// `break;`: leaves the innermost enclosing `for` loop.
    Break,
    /// `continue;`: goes on with the next iteration of the innermost
    /// enclosing `for` loop.
    Continue,
}

/// What a `for` loop ranges over: a range or an array, then iterator
/// adaptors applied in order (`(0..n).rev()`, `a.iter().enumerate()`).
#[derive(Clone, Debug)]
pub(crate) struct ForIter<T> {
    /// The range or array.
    pub source: ForSource<T>,
    /// `rev`, `step_by`, `enumerate`, in the order written.
    pub adaptors: Vec<Adaptor<T>>,
}

/// The start of a `for` iterator.
#[derive(Clone, Debug)]
pub(crate) enum ForSource<T> {
    /// `A..B` or `A..=B` (compile-time bounds).
    Range(Expr<T>, Expr<T>, bool),
    /// The elements of an array.
    Array(Expr<T>),
}

/// An iterator adaptor of a `for` loop.
#[derive(Clone, Debug)]
pub(crate) enum Adaptor<T> {
    /// `.rev()`.
    Rev,
    /// `.step_by(k)` (`k` a compile-time constant).
    StepBy(Expr<T>),
    /// `.enumerate()`: items become `(index, item)` with a `usize` index.
    Enumerate,
}

/// The left of `let` and `for`.
#[derive(Clone, Debug)]
pub(crate) enum Pattern {
    /// `x` or `mut x`.
    Ident {
        /// The name.
        name: String,
        /// Declared `mut`.
        mutable: bool,
    },
    /// `_`.
    Wild,
    /// `(a, b, …)`.
    Tuple(Vec<Pattern>, Span),
    /// `S { x, y: p, .. }`, or `S(p, q)` for a tuple struct (fields `0`,
    /// `1`, …): each named field bound by its pattern.
    Struct {
        /// The struct's name.
        name: String,
        /// Field names and their patterns (`x` alone is `x: x`).
        fields: Vec<(String, Pattern)>,
        /// Ends with `..`: the fields not named are ignored.
        rest: bool,
        /// The whole pattern.
        span: Span,
    },
}

/// An expression with what the phase attaches (`()` or its [`Type`]).
#[derive(Clone, Debug)]
pub(crate) struct Expr<T> {
    /// What it is.
    pub kind: ExprKind<T>,
    /// Where.
    pub span: Span,
    /// `()` when parsed, the type when checked.
    pub ty: T,
}

/// The expressions.
#[derive(Clone, Debug)]
pub(crate) enum ExprKind<T> {
    /// An integer literal, `-` folded in (`-128i8`), with its suffix.
    Int {
        /// Written with a leading `-`.
        negative: bool,
        /// The magnitude.
        value: u128,
        /// The suffix, if any.
        suffix: Option<String>,
    },
    /// A decimal literal (`0.75`, `-2.5e-3`), `-` folded in: a fixed-point
    /// number whose type comes from context.
    Decimal {
        /// Written with a leading `-`.
        negative: bool,
        /// The magnitude as written, without `_` (`2.5e-3`).
        text: String,
        /// The fixed-point type's name when the literal stands for an
        /// associated constant (`I16F16::MAX`); source literals have none.
        suffix: Option<String>,
    },
    /// `true`/`false`.
    Bool(bool),
    /// A variable or a `const`.
    Var(String),
    /// `Type::NAME`, such as `u8::MAX`: an associated constant, resolved by
    /// the checker (the built-ins say what it stands for).
    Assoc {
        /// The type's name as written.
        ty: String,
        /// The member's name.
        member: String,
    },
    /// `-x`, `!x`.
    Unary(UnOp, Box<Expr<T>>),
    /// `a op b`.
    Binary(BinOp, Box<Expr<T>>, Box<Expr<T>>),
    /// `x as T`.
    Cast(Box<Expr<T>>, TypeExpr),
    /// `if c { … } else …` (the else is a block expression or another `if`).
    If(Box<Expr<T>>, Block<T>, Option<Box<Expr<T>>>),
    /// `{ … }`.
    Block(Block<T>),
    /// `f(args)`, including the built-ins `min`, `max`, `abs` (method calls
    /// `a.max(b)` are parsed as `max(a, b)`).
    Call(String, Vec<Expr<T>>),
    /// `a[i]`.
    Index(Box<Expr<T>>, Box<Expr<T>>),
    /// `s.field`.
    Field(Box<Expr<T>>, String),
    /// `t.0`.
    TupleField(Box<Expr<T>>, u32),
    /// `[a, b, c]`.
    Array(Vec<Expr<T>>),
    /// `[v; N]` (`N` a constant expression).
    Repeat(Box<Expr<T>>, Box<Expr<()>>),
    /// `(a, b)`; `()` is the unit value.
    Tuple(Vec<Expr<T>>),
    /// `Name { field: value, … }`.
    Struct(String, Vec<(String, Span, Expr<T>)>),
    /// `Enum::Variant`, `Enum::Variant(a, …)` or `Enum::Variant { f: a, … }`:
    /// the enum's name, the variant's, and the fields given (by position,
    /// named `0`, `1`, … or by name; the checker puts them in declaration
    /// order).
    Variant(String, String, Vec<(String, Span, Expr<T>)>),
    /// `match scrutinee { arms }`.
    Match(Box<Expr<T>>, Vec<Arm<T>>),
}

/// One arm of a `match`: `pattern if guard => body`.
#[derive(Clone, Debug)]
pub(crate) struct Arm<T> {
    /// The pattern as written.
    pub pat: MatchPat,
    /// The pattern resolved by the checker (`TPat::Wild` before).
    pub tpat: TPat,
    /// `if guard`.
    pub guard: Option<Expr<T>>,
    /// The arm's value.
    pub body: Expr<T>,
    /// The pattern's span.
    pub span: Span,
}

/// The fields of a variant's or a struct's pattern in a `match` arm, each
/// with its span.
pub(crate) type FieldPats = VariantFields<(Span, MatchPat)>;

/// A pattern of a `match` arm, as written.
#[derive(Clone, Debug)]
pub(crate) enum MatchPat {
    /// `_`.
    Wild(Span),
    /// `..` among the fields of a tuple or a variant.
    Rest(Span),
    /// A name: a binding, or a `const` item.
    Ident(String, Span),
    /// A literal (`3`, `-1`, `true`) or an associated constant (`u8::MAX`).
    Lit(Expr<()>),
    /// `lo..=hi`, `lo..hi`, `lo..`, `..=hi`.
    Range(Option<Expr<()>>, Option<Expr<()>>, bool, Span),
    /// `(a, b, …)`.
    Tuple(Vec<MatchPat>, Span),
    /// `Enum::Variant`, `Enum::Variant(p, …)`, `Enum::Variant { f: p, .. }`;
    /// for named fields, the bool says `..` ended the list.
    Variant(String, String, FieldPats, bool, Span),
    /// `S { x, y: p, .. }` or `S(p, q, ..)`: a struct's fields, by name or
    /// (for a tuple struct) by position; the bool says `..` ended a named
    /// list.
    Struct(String, FieldPats, bool, Span),
    /// `a | b | …`.
    Or(Vec<MatchPat>, Span),
}

impl MatchPat {
    /// Where it is written.
    pub(crate) fn span(&self) -> Span {
        match self {
            MatchPat::Wild(s)
            | MatchPat::Rest(s)
            | MatchPat::Ident(_, s)
            | MatchPat::Range(_, _, _, s)
            | MatchPat::Tuple(_, s)
            | MatchPat::Variant(_, _, _, _, s)
            | MatchPat::Struct(_, _, _, s)
            | MatchPat::Or(_, s) => *s,
            MatchPat::Lit(e) => e.span,
        }
    }
}

/// A pattern resolved against the scrutinee's type, for exhaustiveness and
/// lowering. Integers are compared as keys: the value plus 2^(bits−1) for
/// signed types (so that order is unsigned order), the value itself for
/// unsigned ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TPat {
    /// Matches anything.
    Wild,
    /// Matches anything and binds it.
    Bind(String),
    /// `true` or `false`.
    Bool(bool),
    /// The integers whose keys are in `lo..=hi`.
    Int(u128, u128),
    /// A tuple, struct or tuple struct: its fields in order.
    Tuple(Vec<TPat>),
    /// The variant of this index, its fields in declaration order.
    Variant(usize, Vec<TPat>),
    /// Any of these.
    Or(Vec<TPat>),
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnOp {
    /// `-x` (wrapping).
    Neg,
    /// `!x`: logical on `bool`, bitwise on integers.
    Not,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `^`
    BitXor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&` (both sides evaluated)
    And,
    /// `||` (both sides evaluated)
    Or,
}

impl BinOp {
    /// The operator as written.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }

    /// True for `== != < <= > >=`.
    pub(crate) fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
    }
}

// ----- changing what the tree carries -----------------------------------------

impl<T> Expr<T> {
    /// The same tree with `f` applied to what every expression carries.
    pub(crate) fn map<U>(self, f: &mut impl FnMut(T) -> U) -> Expr<U> {
        let kind = match self.kind {
            ExprKind::Int { negative, value, suffix } => ExprKind::Int { negative, value, suffix },
            ExprKind::Decimal { negative, text, suffix } => ExprKind::Decimal { negative, text, suffix },
            ExprKind::Bool(b) => ExprKind::Bool(b),
            ExprKind::Var(n) => ExprKind::Var(n),
            ExprKind::Assoc { ty, member } => ExprKind::Assoc { ty, member },
            ExprKind::Unary(op, e) => ExprKind::Unary(op, Box::new(e.map(f))),
            ExprKind::Binary(op, a, b) => ExprKind::Binary(op, Box::new(a.map(f)), Box::new(b.map(f))),
            ExprKind::Cast(e, t) => ExprKind::Cast(Box::new(e.map(f)), t),
            ExprKind::If(c, t, e) => {
                ExprKind::If(Box::new(c.map(f)), t.map(f), e.map(|e| Box::new(e.map(f))))
            }
            ExprKind::Block(b) => ExprKind::Block(b.map(f)),
            ExprKind::Call(n, args) => ExprKind::Call(n, args.into_iter().map(|a| a.map(f)).collect()),
            ExprKind::Index(a, i) => ExprKind::Index(Box::new(a.map(f)), Box::new(i.map(f))),
            ExprKind::Field(e, n) => ExprKind::Field(Box::new(e.map(f)), n),
            ExprKind::TupleField(e, k) => ExprKind::TupleField(Box::new(e.map(f)), k),
            ExprKind::Array(items) => ExprKind::Array(items.into_iter().map(|a| a.map(f)).collect()),
            ExprKind::Repeat(e, n) => ExprKind::Repeat(Box::new(e.map(f)), n),
            ExprKind::Tuple(items) => ExprKind::Tuple(items.into_iter().map(|a| a.map(f)).collect()),
            ExprKind::Struct(n, fields) => {
                ExprKind::Struct(n, fields.into_iter().map(|(k, s, e)| (k, s, e.map(f))).collect())
            }
            ExprKind::Variant(n, v, fields) => {
                ExprKind::Variant(n, v, fields.into_iter().map(|(k, s, e)| (k, s, e.map(f))).collect())
            }
            ExprKind::Match(e, arms) => ExprKind::Match(
                Box::new(e.map(f)),
                arms.into_iter()
                    .map(|a| Arm {
                        pat: a.pat,
                        tpat: a.tpat,
                        guard: a.guard.map(|g| g.map(f)),
                        body: a.body.map(f),
                        span: a.span,
                    })
                    .collect(),
            ),
        };
        Expr { kind, span: self.span, ty: f(self.ty) }
    }
}

impl<T> Block<T> {
    /// The same block with `f` applied to what every expression carries.
    pub(crate) fn map<U>(self, f: &mut impl FnMut(T) -> U) -> Block<U> {
        Block {
            stmts: self.stmts.into_iter().map(|s| s.map(f)).collect(),
            tail: self.tail.map(|e| Box::new(e.map(f))),
            span: self.span,
        }
    }
}

impl<T> Stmt<T> {
    /// The same statement with `f` applied to what every expression carries.
    pub(crate) fn map<U>(self, f: &mut impl FnMut(T) -> U) -> Stmt<U> {
        let kind = match self.kind {
            StmtKind::Let { pat, ty, init } => StmtKind::Let { pat, ty, init: init.map(f) },
            StmtKind::Assign { place, op, value } => {
                StmtKind::Assign { place: place.map(f), op, value: value.map(f) }
            }
            StmtKind::Expr(e) => StmtKind::Expr(e.map(f)),
            StmtKind::For { pat, iter, body } => {
                let source = match iter.source {
                    ForSource::Range(a, b, inc) => ForSource::Range(a.map(f), b.map(f), inc),
                    ForSource::Array(a) => ForSource::Array(a.map(f)),
                };
                let adaptors = iter
                    .adaptors
                    .into_iter()
                    .map(|a| match a {
                        Adaptor::Rev => Adaptor::Rev,
                        Adaptor::StepBy(e) => Adaptor::StepBy(e.map(f)),
                        Adaptor::Enumerate => Adaptor::Enumerate,
                    })
                    .collect();
                StmtKind::For { pat, iter: ForIter { source, adaptors }, body: body.map(f) }
            }
            StmtKind::Return(e) => StmtKind::Return(e.map(|e| e.map(f))),
            StmtKind::Break => StmtKind::Break,
            StmtKind::Continue => StmtKind::Continue,
        };
        Stmt { kind, span: self.span }
    }
}
