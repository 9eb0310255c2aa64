//! Stage 2, parsing: tokens → [`Untyped`] program. A recursive-descent
//! parser with precedence climbing for binary operators (Rust's
//! precedences). On an error it records a diagnostic, skips to the next `;`
//! or `}` (or item), and goes on, so every syntax error is reported. Nesting
//! deeper than [`crate::limits::MAX_NESTING`] is an error, never a stack
//! overflow. Rust constructs the language leaves out get a message naming
//! them and what to write instead.

use crate::ast::*;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::limits::{MAX_CHAIN, MAX_NESTING};
use crate::scan::{Tok, Token};
use garblet_circuits::{Party, Visibility};

/// Parses a token list (ending with [`Tok::Eof`]) into a program.
pub(crate) fn parse(tokens: Vec<Token>) -> Result<Untyped, Diagnostics> {
    let mut p = Parser { tokens, pos: 0, errors: Diagnostics::new(), depth: 0, self_ty: None };
    let program = p.program();
    if p.errors.is_empty() {
        Ok(program)
    } else {
        Err(p.errors)
    }
}

/// A syntax error already recorded; unwinds to a recovery point.
struct Bail;

type PResult<T> = Result<T, Bail>;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    errors: Diagnostics,
    depth: usize,
    /// Inside `impl T { … }`: `T`, for `self` parameters.
    self_ty: Option<String>,
}

/// Keywords of Rust the language does not have, and what to say about them.
fn unsupported_keyword(word: &str) -> Option<(&'static str, &'static str)> {
    Some(match word {
        "while" => (
            "`while` loops are not supported: loops must have compile-time bounds",
            "use `for i in 0..N` with a constant `N`",
        ),
        "loop" => (
            "`loop` is not supported: loops must have compile-time bounds",
            "use `for i in 0..N` with a constant `N`",
        ),
        "trait" => ("traits are not supported", "write free functions"),
        "use" | "mod" | "extern" | "crate" => {
            ("modules and imports are not supported", "a program is one file; the built-ins need no import")
        }
        "static" => ("`static` items are not supported", "use `const`"),
        "type" => ("type aliases are not supported", "write the type out"),
        "unsafe" | "async" | "await" | "dyn" | "move" | "ref" | "where" | "Self" | "super" | "box"
        | "yield" => ("this Rust feature is not supported", "see docs/LANGUAGE.md for the language"),
        _ => return None,
    })
}

const KEYWORDS: &[&str] = &[
    "fn", "let", "mut", "if", "else", "for", "in", "return", "const", "struct", "as", "true", "false", "pub",
    "enum", "match", "impl", "break", "continue",
];

impl Parser {
    // ----- token helpers -----------------------------------------------------

    fn peek(&self) -> &Tok {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.tokens[self.pos.min(self.tokens.len() - 1)].span
    }

    /// After an `if` condition or a `match` scrutinee: refuses `{ name :`,
    /// which is a struct literal the condition ended before (`if e ==
    /// Ev::Tx { amt: 500 } …`, which Rust refuses too), rather than
    /// reading it as the block and failing at the `:`.
    fn no_struct_literal_after(&mut self, what: &str) -> PResult<()> {
        let tok = |k: usize| self.tokens.get(self.pos + k).map(|t| &t.tok);
        let ahead = matches!(tok(0), Some(Tok::Punct("{")))
            && matches!(tok(1), Some(Tok::Ident(_)))
            && matches!(tok(2), Some(Tok::Punct(":")));
        if !ahead {
            return Ok(());
        }
        let s = self.span();
        self.errors.push(
            Diagnostic::new(s, format!("a struct literal in {what} needs parentheses")).with_help(
                "write it in parentheses, e.g. `if e == (Ev::Tx { amt: 500 }) { … }`, as Rust asks",
            ),
        );
        // Past the literal and the rest of the condition, to the `{` that
        // opens the block: one error, not a cascade.
        let mut depth = 0usize;
        let mut literal_done = false;
        loop {
            match self.peek() {
                Tok::Eof => return Err(Bail),
                Tok::Punct("{") if literal_done && depth == 0 => return Ok(()),
                Tok::Punct("{" | "(" | "[") => depth += 1,
                Tok::Punct("}" | ")" | "]") => {
                    depth = depth.saturating_sub(1);
                    literal_done |= depth == 0;
                }
                _ => {}
            }
            self.bump();
        }
    }

    fn prev_span(&self) -> Span {
        self.tokens[self.pos.saturating_sub(1).min(self.tokens.len() - 1)].span
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos.min(self.tokens.len() - 1)].clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == w)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn describe(tok: &Tok) -> String {
        match tok {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Int { .. } => "an integer".to_owned(),
            Tok::Decimal(_) => "a decimal number".to_owned(),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::Eof => "the end of the file".to_owned(),
        }
    }

    fn error<T>(&mut self, span: Span, message: impl Into<String>) -> PResult<T> {
        self.errors.push(Diagnostic::new(span, message));
        Err(Bail)
    }

    fn error_help<T>(
        &mut self,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> PResult<T> {
        self.errors.push(Diagnostic::new(span, message).with_help(help));
        Err(Bail)
    }

    fn unexpected<T>(&mut self, expected: &str) -> PResult<T> {
        let tok = self.peek().clone();
        let span = self.span();
        if let Tok::Ident(w) = &tok {
            if let Some((msg, help)) = unsupported_keyword(w) {
                return self.error_help(span, msg, help);
            }
        }
        let found = Self::describe(&tok);
        self.errors.push(
            Diagnostic::new(span, format!("expected {expected}, found {found}"))
                .with_label(format!("expected {expected}")),
        );
        Err(Bail)
    }

    fn expect_punct(&mut self, p: &str) -> PResult<Span> {
        if self.is_punct(p) {
            Ok(self.bump().span)
        } else {
            self.unexpected(&format!("`{p}`"))
        }
    }

    fn expect_ident(&mut self, what: &str) -> PResult<(String, Span)> {
        match self.peek().clone() {
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) && unsupported_keyword(&s).is_none() => {
                let span = self.bump().span;
                Ok((s, span))
            }
            _ => self.unexpected(what),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let span = self.span();
            // Fatal: stop parsing altogether.
            self.pos = self.tokens.len() - 1;
            return self.error_help(
                span,
                format!("the program nests deeper than {MAX_NESTING} levels"),
                "split the expression with `let` bindings or functions",
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Skips to just after the next `;` or to the next `}` closing the
    /// current block (not consumed).
    fn recover_stmt(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::Punct("{") | Tok::Punct("(") | Tok::Punct("[") => depth += 1,
                Tok::Punct("}") | Tok::Punct(")") | Tok::Punct("]") => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                    if depth == 0 && self.is_punct("}") {
                        self.bump();
                        // A block statement ended: stop here.
                        return;
                    }
                }
                Tok::Punct(";") if depth == 0 => {
                    self.bump();
                    return;
                }
                _ => {}
            }
            self.bump();
        }
    }

    /// Skips to the next item keyword at brace depth 0.
    fn recover_item(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::Punct("{") => depth += 1,
                Tok::Punct("}") => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.bump();
                        return;
                    }
                }
                Tok::Ident(w) if depth == 0 && matches!(w.as_str(), "fn" | "struct" | "const" | "enum") => {
                    return
                }
                _ => {}
            }
            self.bump();
        }
    }

    // ----- items ---------------------------------------------------------------

    fn program(&mut self) -> Untyped {
        let mut program =
            Program { consts: Vec::new(), structs: Vec::new(), enums: Vec::new(), fns: Vec::new() };
        while *self.peek() != Tok::Eof {
            // After an error inside a nested block, recovery may close the
            // item early: its own closing brace would only add "expected an
            // item, found `}`" to the error already reported.
            if self.is_punct("}") && !self.errors.is_empty() {
                self.bump();
                continue;
            }
            let start = self.pos;
            if self.item(&mut program).is_err() {
                self.depth = 0;
                if self.pos == start {
                    self.bump();
                }
                self.recover_item();
            }
        }
        program
    }

    fn attributes(&mut self) -> PResult<Vec<(String, Option<String>, Span)>> {
        let mut attrs = Vec::new();
        while self.is_punct("#") {
            let start = self.bump().span;
            self.eat_punct("!");
            self.expect_punct("[")?;
            let (name, _) = self.expect_ident("an attribute name")?;
            // Arguments: names or paths, separated by commas
            // (`derive(Clone, Copy)`, `allow(clippy::x)`), kept as written.
            let arg = if self.eat_punct("(") {
                let mut args = Vec::new();
                while !self.is_punct(")") {
                    let (mut a, _) = self.expect_ident("an attribute argument")?;
                    while self.eat_punct("::") {
                        let (b, _) = self.expect_ident("a name after `::`")?;
                        a = format!("{a}::{b}");
                    }
                    args.push(a);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_punct(")")?;
                Some(args.join(", "))
            } else {
                None
            };
            let end = self.expect_punct("]")?;
            attrs.push((name, arg, start.to(end)));
        }
        Ok(attrs)
    }

    /// The attributes of a `struct` or an `enum` (`what`): `derive` and
    /// `allow`, as Rust code carries them, are accepted and ignored (every
    /// value is copied, compared and printed already); any other is an error.
    fn type_attributes(&mut self, attrs: Vec<(String, Option<String>, Span)>, what: &str) -> PResult<()> {
        match attrs.into_iter().find(|(n, _, _)| n != "derive" && n != "allow") {
            Some((_, _, span)) => self.error_help(
                span,
                format!("this attribute is not supported on {what}"),
                "only `#[derive(…)]` and `#[allow(…)]` are accepted there, and ignored; remove it",
            ),
            None => Ok(()),
        }
    }

    fn item(&mut self, program: &mut Untyped) -> PResult<()> {
        let attrs = self.attributes()?;
        self.eat_word("pub");
        if self.eat_word("fn") {
            let mut reveal = Visibility::Both;
            for (name, arg, span) in attrs {
                match (name.as_str(), arg.as_deref()) {
                    ("reveal", Some("garbler")) => reveal = Visibility::Garbler,
                    ("reveal", Some("evaluator")) => reveal = Visibility::Evaluator,
                    ("reveal", Some("both")) => reveal = Visibility::Both,
                    ("inline", _) | ("allow", _) => {}
                    _ => {
                        return self.error_help(
                            span,
                            format!("unknown attribute `{name}` on a function"),
                            "`main` takes `#[reveal(garbler)]` or `#[reveal(evaluator)]`",
                        )
                    }
                }
            }
            let f = self.function(reveal)?;
            program.fns.push(f);
        } else if self.eat_word("struct") {
            self.type_attributes(attrs, "a `struct`")?;
            let s = self.struct_def()?;
            program.structs.push(s);
        } else if self.eat_word("impl") {
            self.impl_block(program)?;
        } else if self.eat_word("enum") {
            self.type_attributes(attrs, "an `enum`")?;
            let e = self.enum_def()?;
            program.enums.push(e);
        } else if self.eat_word("const") {
            let (name, span) = self.expect_ident("a constant name")?;
            self.expect_punct(":")?;
            let ty = self.type_expr()?;
            self.expect_punct("=")?;
            let value = self.expr()?;
            self.expect_punct(";")?;
            program.consts.push(ConstDef { name, span, ty, value });
        } else {
            return self.unexpected("an item (`fn`, `struct`, `enum` or `const`)");
        }
        Ok(())
    }

    fn function(&mut self, reveal: Visibility) -> PResult<FnDef<()>> {
        let (name, span) = self.expect_ident("a function name")?;
        if name.starts_with("__") {
            return self.error_help(
                span,
                format!("function names starting with `__` are reserved for the compiler: `{name}`"),
                "rename the function",
            );
        }
        if self.is_punct("<") {
            let s = self.span();
            return self.error_help(
                s,
                "generic functions are not supported",
                "write the function for each concrete type",
            );
        }
        self.expect_punct("(")?;
        let mut params = Vec::new();
        let mut mut_self = false;
        while !self.is_punct(")") {
            let attrs = self.attributes()?;
            let mut party: Option<Party> = None;
            for (a, arg, aspan) in attrs {
                match (a.as_str(), arg) {
                    ("garbler" | "evaluator", None) => {
                        let this = if a == "garbler" { Party::Garbler } else { Party::Evaluator };
                        // An input has one owner: a second attribute is a
                        // mistake whichever party it names, never a silent override.
                        if let Some(first) = party {
                            let message = if first == this {
                                format!("`#[{a}]` is given twice on one parameter")
                            } else {
                                format!("a parameter has one owner, but this one is marked `#[{first}]` and `#[{a}]`")
                            };
                            let help = if first == this {
                                "remove one of them".to_owned()
                            } else {
                                format!("keep `#[{first}]` or `#[{a}]`, not both")
                            };
                            return self.error_help(aspan, message, help);
                        }
                        party = Some(this);
                    }
                    _ => {
                        return self.error_help(
                            aspan,
                            format!("unknown attribute `{a}` on a parameter"),
                            "mark `main`'s inputs with `#[garbler]` or `#[evaluator]`",
                        )
                    }
                }
            }
            let mut mutable = self.eat_word("mut");
            if params.is_empty() && self.self_ty.is_some() {
                // `self`, `mut self`, `&self` (a copy: nothing is shared),
                // `&mut self` (a copy written back after the call).
                let at = self.pos;
                let by_ref = self.eat_punct("&");
                if by_ref && !mutable && self.eat_word("mut") {
                    mutable = true;
                    mut_self = true;
                }
                if self.is_word("self") {
                    let pspan = self.bump().span;
                    let ty = TypeExpr::Named(self.self_ty.clone().unwrap_or_default(), pspan);
                    params.push(ParamDef { name: "self".into(), span: pspan, mutable, ty, party: None });
                    if !self.eat_punct(",") {
                        break;
                    }
                    continue;
                }
                if mut_self {
                    (mutable, mut_self) = (false, false);
                }
                self.pos = at;
            }
            if self.is_punct("&") {
                let s = self.span();
                return self.error_help(s, "references are not supported", "pass values: they are copied");
            }
            let (pname, pspan) = self.expect_ident("a parameter name")?;
            self.expect_punct(":")?;
            let ty = self.type_expr()?;
            params.push(ParamDef { name: pname, span: pspan, mutable, ty, party });
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct(")")?;
        let ret = if self.eat_punct("->") { Some(self.type_expr()?) } else { None };
        if self.is_word("where") {
            let s = self.span();
            return self.error(s, "`where` clauses are not supported");
        }
        let body = self.block()?;
        Ok(FnDef { name, span, params, ret, reveal, mut_self, body })
    }

    fn struct_def(&mut self) -> PResult<StructDef> {
        let (name, span) = self.expect_ident("a struct name")?;
        if self.is_punct("<") {
            let s = self.span();
            return self.error(s, "generic structs are not supported");
        }
        if self.eat_punct("(") {
            // A tuple struct: its fields are named `0`, `1`, ….
            let mut fields = Vec::new();
            while !self.is_punct(")") {
                self.eat_word("pub");
                let fspan = self.span();
                let ty = self.type_expr()?;
                fields.push((fields.len().to_string(), ty, fspan));
                if !self.eat_punct(",") {
                    break;
                }
            }
            self.expect_punct(")")?;
            if fields.is_empty() {
                let s = self.prev_span();
                return self.error_help(s, "a tuple struct needs a field", "write `struct S(u32);`");
            }
            self.expect_punct(";")?;
            return Ok(StructDef { name, span, fields });
        }
        if self.is_punct(";") {
            let s = self.span();
            return self.error_help(
                s,
                "unit structs are not supported",
                "use named fields: `struct S { x: u32 }`, or a tuple struct `struct S(u32);`",
            );
        }
        self.expect_punct("{")?;
        let mut fields = Vec::new();
        while !self.is_punct("}") {
            self.eat_word("pub");
            let (f, fspan) = self.expect_ident("a field name")?;
            self.expect_punct(":")?;
            let ty = self.type_expr()?;
            fields.push((f, ty, fspan));
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct("}")?;
        Ok(StructDef { name, span, fields })
    }

    /// `impl T { const K: U = v; fn f(self, …) … }` (after `impl`): each
    /// item becomes a top-level one named `T::K`, `T::f`, with `Self`
    /// standing for `T` and `self` a first parameter of type `T`.
    fn impl_block(&mut self, program: &mut Untyped) -> PResult<()> {
        if self.is_punct("<") {
            let s = self.span();
            return self.error(s, "generic `impl` blocks are not supported");
        }
        let (ty, tspan) = self.expect_ident("a type name")?;
        // `impl std::ops::Add for T`: a trait named by its path.
        let mut path = false;
        while self.is_punct("::") {
            self.bump();
            self.expect_ident("a name")?;
            path = true;
        }
        if self.is_word("for") {
            let s = self.span();
            return self.error_help(s, "trait implementations are not supported", "write `impl T { … }`");
        }
        if path {
            return self.error_help(
                tspan,
                "paths are not supported",
                "write `impl T { … }` for a type of the program",
            );
        }
        let open = self.expect_punct("{")?;
        // `Self` is `T` up to the matching `}`; the items start where the
        // depth is 0 (where to go on after an error in one).
        let mut depth = 0usize;
        let mut starts = Vec::new();
        let mut end = self.tokens.len().saturating_sub(1);
        for (k, t) in self.tokens.iter_mut().enumerate().skip(self.pos) {
            match &t.tok {
                Tok::Punct("{") => depth += 1,
                Tok::Punct("}") if depth == 0 => {
                    end = k;
                    break;
                }
                Tok::Punct("}") => depth -= 1,
                Tok::Ident(w) if w == "Self" => t.tok = Tok::Ident(ty.clone()),
                Tok::Ident(w) if depth == 0 && matches!(w.as_str(), "fn" | "const" | "pub") => starts.push(k),
                _ => {}
            }
        }
        let _ = (open, tspan);
        self.self_ty = Some(ty.clone());
        while self.pos < end {
            let at = self.pos;
            if self.impl_item(&ty, program).is_err() {
                self.depth = 0;
                self.pos = starts.iter().copied().find(|&k| k > at).unwrap_or(end).min(end);
            }
        }
        self.self_ty = None;
        self.pos = end;
        self.expect_punct("}")?;
        Ok(())
    }

    fn impl_item(&mut self, ty: &str, program: &mut Untyped) -> PResult<()> {
        {
            let _ = self.attributes()?;
            self.eat_word("pub");
            if self.eat_word("fn") {
                let mut f = self.function(Visibility::Both)?;
                f.name = format!("{ty}::{}", f.name);
                program.fns.push(f);
            } else if self.eat_word("const") {
                let (name, span) = self.expect_ident("a constant name")?;
                self.expect_punct(":")?;
                let cty = self.type_expr()?;
                self.expect_punct("=")?;
                let value = self.expr()?;
                self.expect_punct(";")?;
                program.consts.push(ConstDef { name: format!("{ty}::{name}"), span, ty: cty, value });
            } else {
                return self.unexpected("`fn` or `const` in an `impl` block");
            }
        }
        Ok(())
    }

    /// `enum Name { A, B = 3, C(u8, u8), D { x: u8 } }` (after `enum`).
    fn enum_def(&mut self) -> PResult<EnumDef> {
        let (name, span) = self.expect_ident("an enum name")?;
        if self.is_punct("<") {
            let s = self.span();
            return self.error(s, "generic enums are not supported");
        }
        self.expect_punct("{")?;
        let mut variants = Vec::new();
        while !self.is_punct("}") {
            let _ = self.attributes()?;
            let (v, vspan) = self.expect_ident("a variant name")?;
            let fields = if self.eat_punct("(") {
                let mut items = Vec::new();
                while !self.is_punct(")") {
                    items.push(self.type_expr()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_punct(")")?;
                VariantFields::Tuple(items)
            } else if self.eat_punct("{") {
                let mut items = Vec::new();
                while !self.is_punct("}") {
                    let (f, _) = self.expect_ident("a field name")?;
                    self.expect_punct(":")?;
                    items.push((f, self.type_expr()?));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_punct("}")?;
                VariantFields::Named(items)
            } else {
                VariantFields::Unit
            };
            let discriminant = if self.eat_punct("=") { Some(self.expr()?) } else { None };
            variants.push(VariantDef { name: v, span: vspan, discriminant, fields });
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct("}")?;
        Ok(EnumDef { name, span, variants })
    }

    fn type_expr(&mut self) -> PResult<TypeExpr> {
        self.enter()?;
        let r = self.type_expr_inner();
        self.leave();
        r
    }

    fn type_expr_inner(&mut self) -> PResult<TypeExpr> {
        let start = self.span();
        if self.eat_punct("[") {
            let elem = self.type_expr()?;
            if !self.is_punct(";") {
                let s = self.span();
                return self.error_help(
                    s,
                    "slices are not supported: arrays need a length",
                    "write `[T; N]`",
                );
            }
            self.bump();
            let len = self.expr()?;
            let end = self.expect_punct("]")?;
            return Ok(TypeExpr::Array(Box::new(elem), Box::new(len), start.to(end)));
        }
        if self.eat_punct("(") {
            let mut items = Vec::new();
            while !self.is_punct(")") {
                items.push(self.type_expr()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
            let end = self.expect_punct(")")?;
            return Ok(TypeExpr::Tuple(items, start.to(end)));
        }
        if self.is_punct("&") {
            return self.error_help(
                start,
                "references are not supported",
                "use the type itself: values are copied",
            );
        }
        let after_as = self.pos >= 1 && matches!(&self.tokens[self.pos - 1].tok, Tok::Ident(w) if w == "as");
        let (name, span) = self.expect_ident("a type")?;
        if name == "Option" && self.eat_punct("<") {
            let inner = self.type_expr()?;
            // `Option<Option<u8>>`: the scanner made one `>>` of the two.
            let end = if self.is_punct(">>") {
                let s = self.span();
                self.tokens[self.pos].tok = Tok::Punct(">");
                s
            } else {
                self.expect_punct(">")?
            };
            return Ok(TypeExpr::Option(Box::new(inner), span.to(end)));
        }
        if self.is_punct("<") {
            let s = self.span();
            let help = match name.as_str() {
                "Vec" | "Box" | "Rc" | "Arc" => "use a fixed-length array `[T; N]` (set N with --const N=…)",
                _ if after_as => "to compare a cast value, parenthesize it: `(x as u8) < y`",
                _ => "the types are bool, u8…u128, i8…i128, [T; N], tuples and structs",
            };
            return self.error_help(
                s,
                format!("`<` after the type `{name}` starts generic arguments, which are not supported"),
                help,
            );
        }
        Ok(TypeExpr::Named(name, span))
    }

    // ----- blocks and statements ---------------------------------------------------

    fn block(&mut self) -> PResult<Block<()>> {
        self.enter()?;
        let r = self.block_inner();
        self.leave();
        r
    }

    fn block_inner(&mut self) -> PResult<Block<()>> {
        let start = self.expect_punct("{")?;
        let mut stmts = Vec::new();
        let mut tail = None;
        loop {
            if self.is_punct("}") || *self.peek() == Tok::Eof {
                break;
            }
            if let Some(t) = tail.take() {
                // An expression without `;` that is not the last thing.
                let t: Box<Expr<()>> = t;
                if is_block_like(&t) {
                    let span = t.span;
                    stmts.push(Stmt { kind: StmtKind::Expr(*t), span });
                } else {
                    let s = self.span();
                    self.errors.push(
                        Diagnostic::new(
                            s,
                            format!("expected `;` or `}}`, found {}", Self::describe(&self.peek().clone())),
                        )
                        .with_help("end the previous statement with `;`"),
                    );
                    self.recover_stmt();
                    continue;
                }
            }
            let before = self.pos;
            let depth = self.depth;
            match self.stmt() {
                Ok(StmtOrTail::Stmt(s)) => stmts.push(*s),
                Ok(StmtOrTail::Tail(e)) => tail = Some(Box::new(e)),
                Err(Bail) => {
                    self.depth = depth;
                    if self.pos == before && !self.is_punct("}") {
                        self.bump();
                    }
                    self.recover_stmt();
                    if self.depth > MAX_NESTING || *self.peek() == Tok::Eof {
                        break;
                    }
                }
            }
        }
        let end = self.expect_punct("}")?;
        Ok(Block { stmts, tail, span: start.to(end) })
    }

    /// `break;` or `continue;` (the `;` may be left out before `}`), at
    /// `start`. Labels are refused by the scanner; a value is refused here.
    fn break_or_continue(&mut self, start: Span) -> PResult<StmtOrTail> {
        let is_break = self.bump().tok == Tok::Ident("break".into());
        let end = if self.is_punct("}") {
            self.prev_span()
        } else if self.is_punct(";") {
            self.bump().span
        } else if is_break {
            let s = self.span();
            return self.error_help(
                s,
                "`break` with a value is not supported: a `for` loop has no value",
                "assign the value to a `mut` variable declared before the loop, then write `break;`",
            );
        } else {
            return self.unexpected("`;` after `continue`");
        };
        let kind = if is_break { StmtKind::Break } else { StmtKind::Continue };
        Ok(StmtOrTail::Stmt(Box::new(Stmt { kind, span: start.to(end) })))
    }

    fn stmt(&mut self) -> PResult<StmtOrTail> {
        let start = self.span();
        if self.eat_punct(";") {
            return Ok(StmtOrTail::Stmt(Box::new(Stmt {
                kind: StmtKind::Expr(unit_expr(start)),
                span: start,
            })));
        }
        if self.eat_word("let") {
            let pat = self.pattern()?;
            let ty = if self.eat_punct(":") { Some(self.type_expr()?) } else { None };
            if !self.is_punct("=") {
                let s = self.span();
                return self.error_help(s, "a `let` needs an initial value", "write `let x = value;`");
            }
            self.bump();
            let init = self.expr()?;
            if self.is_word("else") {
                let s = self.span();
                return self.error_help(
                    s,
                    "`let … else` is not supported",
                    "write `let x = match value { Some(x) => x, _ => return … };`",
                );
            }
            let end = self.expect_punct(";")?;
            return Ok(StmtOrTail::Stmt(Box::new(Stmt {
                kind: StmtKind::Let { pat, ty, init },
                span: start.to(end),
            })));
        }
        if self.eat_word("for") {
            let pat = self.pattern()?;
            if !self.eat_word("in") {
                return self.unexpected("`in`");
            }
            let first = self.expr_no_struct()?;
            let iter = if self.is_punct("..") || self.is_punct("..=") {
                let inclusive = self.bump().tok == Tok::Punct("..=");
                let end = self.expr_no_struct()?;
                ForIter { source: ForSource::Range(first, end, inclusive), adaptors: Vec::new() }
            } else {
                self.for_iter(first)?
            };
            let body = self.block()?;
            let span = start.to(body.span);
            return Ok(StmtOrTail::Stmt(Box::new(Stmt { kind: StmtKind::For { pat, iter, body }, span })));
        }
        if self.eat_word("return") {
            let value = if self.is_punct(";") || self.is_punct("}") { None } else { Some(self.expr()?) };
            let end = if self.is_punct("}") { self.prev_span() } else { self.expect_punct(";")? };
            return Ok(StmtOrTail::Stmt(Box::new(Stmt {
                kind: StmtKind::Return(value),
                span: start.to(end),
            })));
        }
        if self.is_word("break") || self.is_word("continue") {
            return self.break_or_continue(start);
        }
        if let Tok::Ident(w) = self.peek().clone() {
            if matches!(w.as_str(), "fn" | "struct" | "const") {
                return self.error_help(
                    start,
                    format!("`{w}` items inside functions are not supported"),
                    "move it to the top level of the file",
                );
            }
        }
        let e = self.expr()?;
        if let Some(op) = self.assign_op() {
            self.bump();
            let value = self.expr()?;
            let end = self.expect_punct(";")?;
            return Ok(StmtOrTail::Stmt(Box::new(Stmt {
                kind: StmtKind::Assign { place: e, op, value },
                span: start.to(end),
            })));
        }
        if self.is_punct(";") {
            let end = self.bump().span;
            return Ok(StmtOrTail::Stmt(Box::new(Stmt { span: start.to(end), kind: StmtKind::Expr(e) })));
        }
        if self.is_punct("}") || is_block_like(&e) {
            return Ok(StmtOrTail::Tail(e));
        }
        self.unexpected("`;`")
    }

    /// Peels iterator adaptors (parsed as calls of `__rev`, `__step_by`,
    /// `__enumerate`) and ranges in parentheses (`__range`) off a `for`
    /// loop's iterable.
    fn for_iter(&mut self, e: Expr<()>) -> PResult<ForIter<()>> {
        let mut adaptors = Vec::new();
        let mut cur = e;
        loop {
            match cur.kind {
                ExprKind::Call(name, args) if name.starts_with("__") && name != "__neg" => {
                    let span = cur.span;
                    let mut args = args.into_iter();
                    let Some(recv) = args.next() else { return self.error(span, "malformed iterator") };
                    match name.as_str() {
                        "__rev" => adaptors.push(Adaptor::Rev),
                        "__enumerate" => adaptors.push(Adaptor::Enumerate),
                        "__step_by" => match args.next() {
                            Some(k) => adaptors.push(Adaptor::StepBy(k)),
                            None => return self.error(span, "`step_by` takes one argument"),
                        },
                        "__range" | "__range_inclusive" => {
                            let Some(end) = args.next() else { return self.error(span, "malformed range") };
                            adaptors.reverse();
                            let source = ForSource::Range(recv, end, name == "__range_inclusive");
                            return Ok(ForIter { source, adaptors });
                        }
                        _ => return self.error(span, "malformed iterator"),
                    }
                    cur = recv;
                }
                kind => {
                    adaptors.reverse();
                    return Ok(ForIter {
                        source: ForSource::Array(Expr { kind, span: cur.span, ty: () }),
                        adaptors,
                    });
                }
            }
        }
    }

    fn pattern(&mut self) -> PResult<Pattern> {
        self.enter()?;
        let r = self.pattern_inner();
        self.leave();
        r
    }

    fn pattern_inner(&mut self) -> PResult<Pattern> {
        let start = self.span();
        if self.eat_punct("(") {
            let mut items = Vec::new();
            while !self.is_punct(")") {
                items.push(self.pattern()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
            let end = self.expect_punct(")")?;
            return Ok(Pattern::Tuple(items, start.to(end)));
        }
        if self.eat_word("_") {
            return Ok(Pattern::Wild);
        }
        if self.is_punct("&") {
            // `for &x in a.iter()`: Rust's reference pattern; values are
            // copied here, so the variable is the element itself.
            let span = self.span();
            return self.error_help(
                span,
                "a `&` pattern is not needed: there are no references, values are copied",
                "write the variable alone: `for x in a` (or `a.iter()`) binds each element, `let x = y` the value",
            );
        }
        let mutable = self.eat_word("mut");
        let (name, _) = self.expect_ident("a variable name")?;
        if !mutable && self.eat_punct("(") {
            // A tuple struct: `S(a, b)` names its fields `0`, `1`, ….
            let mut fields = Vec::new();
            while !self.is_punct(")") {
                fields.push((fields.len().to_string(), self.pattern()?));
                if !self.eat_punct(",") {
                    break;
                }
            }
            let end = self.expect_punct(")")?;
            return Ok(Pattern::Struct { name, fields, rest: false, span: start.to(end) });
        }
        if !mutable && self.eat_punct("{") {
            let mut fields: Vec<(String, Pattern)> = Vec::new();
            let mut rest = false;
            while !self.is_punct("}") {
                if self.eat_punct("..") {
                    rest = true;
                    break;
                }
                let field_mut = self.eat_word("mut");
                let (field, _) = self.expect_ident("a field name")?;
                let pat = if !field_mut && self.eat_punct(":") {
                    self.pattern()?
                } else {
                    Pattern::Ident { name: field.clone(), mutable: field_mut }
                };
                fields.push((field, pat));
                if !self.eat_punct(",") {
                    break;
                }
            }
            let end = self.expect_punct("}")?;
            return Ok(Pattern::Struct { name, fields, rest, span: start.to(end) });
        }
        if self.is_punct("{") || self.is_punct("(") || self.is_punct("@") {
            let s = self.span();
            return self.error_help(
                s,
                "this pattern is not supported",
                "bind a name, `_`, a tuple of them, or a struct's fields (`S { x, y }`)",
            );
        }
        Ok(Pattern::Ident { name, mutable })
    }

    // ----- expressions -------------------------------------------------------------

    fn expr(&mut self) -> PResult<Expr<()>> {
        self.expr_with(true)
    }

    fn expr_no_struct(&mut self) -> PResult<Expr<()>> {
        self.expr_with(false)
    }

    fn expr_with(&mut self, structs: bool) -> PResult<Expr<()>> {
        self.enter()?;
        let r = self.binary(0, structs);
        self.leave();
        r
    }

    fn binop(&self) -> Option<(BinOp, u8)> {
        let Tok::Punct(p) = self.peek() else { return None };
        Some(match *p {
            "||" => (BinOp::Or, 1),
            "&&" => (BinOp::And, 2),
            "==" => (BinOp::Eq, 3),
            "!=" => (BinOp::Ne, 3),
            "<" => (BinOp::Lt, 3),
            "<=" => (BinOp::Le, 3),
            ">" => (BinOp::Gt, 3),
            ">=" => (BinOp::Ge, 3),
            "|" => (BinOp::BitOr, 4),
            "^" => (BinOp::BitXor, 5),
            "&" => (BinOp::BitAnd, 6),
            "<<" => (BinOp::Shl, 7),
            ">>" => (BinOp::Shr, 7),
            "+" => (BinOp::Add, 8),
            "-" => (BinOp::Sub, 8),
            "*" => (BinOp::Mul, 9),
            "/" => (BinOp::Div, 9),
            "%" => (BinOp::Rem, 9),
            _ => return None,
        })
    }

    fn binary(&mut self, min_prec: u8, structs: bool) -> PResult<Expr<()>> {
        let mut lhs = self.cast(structs)?;
        let mut chain = 0usize;
        while let Some((op, prec)) = self.binop() {
            if prec < min_prec {
                break;
            }
            chain += 1;
            if chain > MAX_CHAIN {
                let s = self.span();
                self.pos = self.tokens.len() - 1;
                return self.error_help(
                    s,
                    format!("this expression has more than {MAX_CHAIN} operators"),
                    "split it with `let` bindings or a `for` loop",
                );
            }
            let op_span = self.bump().span;
            self.enter()?;
            let rhs = self.binary(prec + 1, structs);
            self.leave();
            let rhs = rhs?;
            if op.is_comparison() && self.binop().is_some_and(|(o, _)| o.is_comparison()) {
                let s = self.span();
                return self.error_help(
                    s,
                    "comparison operators cannot be chained",
                    "use `&&`: `a < b && b < c`",
                );
            }
            let _ = op_span;
            let span = lhs.span.to(rhs.span);
            lhs = Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span, ty: () };
        }
        Ok(lhs)
    }

    fn cast(&mut self, structs: bool) -> PResult<Expr<()>> {
        let mut e = self.unary(structs)?;
        while self.eat_word("as") {
            let ty = self.type_expr()?;
            let span = e.span.to(ty.span());
            e = Expr { kind: ExprKind::Cast(Box::new(e), ty), span, ty: () };
        }
        Ok(e)
    }

    fn unary(&mut self, structs: bool) -> PResult<Expr<()>> {
        let start = self.span();
        let op = if self.is_punct("-") {
            UnOp::Neg
        } else if self.is_punct("!") {
            UnOp::Not
        } else if self.is_punct("&") || self.is_punct("&&") {
            return self.error_help(
                start,
                "references are not supported",
                "values are copied; write the value itself",
            );
        } else if self.is_punct("*") {
            return self.error_help(
                start,
                "dereferencing is not supported",
                "there are no references: write the value itself",
            );
        } else if self.is_punct("|") || self.is_punct("||") {
            return self.error_help(start, "closures are not supported", "write a `fn`");
        } else {
            return self.postfix(structs);
        };
        self.bump();
        self.enter()?;
        let operand = self.unary(structs);
        self.leave();
        let operand = operand?;
        let span = start.to(operand.span);
        if op == UnOp::Neg {
            if let ExprKind::Int { negative: false, value, suffix } = &operand.kind {
                return Ok(Expr {
                    kind: ExprKind::Int { negative: true, value: *value, suffix: suffix.clone() },
                    span,
                    ty: (),
                });
            }
            if let ExprKind::Decimal { negative: false, text, suffix } = &operand.kind {
                return Ok(Expr {
                    kind: ExprKind::Decimal { negative: true, text: text.clone(), suffix: suffix.clone() },
                    span,
                    ty: (),
                });
            }
        }
        Ok(Expr { kind: ExprKind::Unary(op, Box::new(operand)), span, ty: () })
    }

    fn postfix(&mut self, structs: bool) -> PResult<Expr<()>> {
        let mut e = self.primary(structs)?;
        loop {
            if self.eat_punct("[") {
                let index = self.expr()?;
                let end = self.expect_punct("]")?;
                let span = e.span.to(end);
                e = Expr { kind: ExprKind::Index(Box::new(e), Box::new(index)), span, ty: () };
            } else if self.eat_punct(".") {
                match self.peek().clone() {
                    Tok::Int { value, suffix: None } => {
                        let end = self.bump().span;
                        let k = u32::try_from(value).unwrap_or(u32::MAX);
                        let span = e.span.to(end);
                        e = Expr { kind: ExprKind::TupleField(Box::new(e), k), span, ty: () };
                    }
                    Tok::Ident(name) => {
                        let name_span = self.bump().span;
                        if self.is_punct("(") || self.is_punct("::") {
                            e = self.method_call(e, &name, name_span)?;
                        } else {
                            let span = e.span.to(name_span);
                            e = Expr { kind: ExprKind::Field(Box::new(e), name), span, ty: () };
                        }
                    }
                    _ => {
                        if let ExprKind::Int { value, .. } = &e.kind {
                            // `a + 5.`: Rust's float literal with no digit after the point.
                            let span = e.span;
                            return self.error_help(
                                span,
                                format!(
                                    "`{value}.` is not a number: a number's point needs a digit after it"
                                ),
                                format!("write `{value}.0`"),
                            );
                        }
                        return self.unexpected("a field name or tuple index");
                    }
                }
            } else if self.is_punct("?") {
                let s = self.span();
                return self.error(s, "the `?` operator is not supported");
            } else {
                return Ok(e);
            }
        }
    }

    /// `recv.name(args)`: the methods that map onto the language.
    fn method_call(&mut self, recv: Expr<()>, name: &str, name_span: Span) -> PResult<Expr<()>> {
        if self.is_punct("::") {
            let s = self.span();
            let help = if name == "to_num" || name == "from_num" {
                "convert with `as`: `x as i32`, `x as I16F16`".to_owned()
            } else {
                format!("write the types with `as` or on a `let`, then call `.{name}(…)`")
            };
            return self.error_help(s, "turbofish `::<…>` is not supported", help);
        }
        self.expect_punct("(")?;
        let mut args = vec![recv];
        while !self.is_punct(")") {
            args.push(self.expr()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        let end = self.expect_punct(")")?;
        let span = args[0].span.to(end);
        let bin = match name {
            "wrapping_add" => Some(BinOp::Add),
            "wrapping_sub" => Some(BinOp::Sub),
            "wrapping_mul" => Some(BinOp::Mul),
            "wrapping_div" => Some(BinOp::Div),
            "wrapping_rem" => Some(BinOp::Rem),
            "wrapping_shl" => Some(BinOp::Shl),
            "wrapping_shr" => Some(BinOp::Shr),
            _ => None,
        };
        let arity = |n: usize, args: &Vec<Expr<()>>| args.len() == n;
        if let Some(op) = bin {
            if !arity(2, &args) {
                return self.error(span, format!("`{name}` takes one argument"));
            }
            let mut it = args.into_iter();
            let (a, b) = match (it.next(), it.next()) {
                (Some(a), Some(b)) => (a, b),
                _ => return self.error(span, format!("`{name}` takes one argument")),
            };
            return Ok(Expr { kind: ExprKind::Binary(op, Box::new(a), Box::new(b)), span, ty: () });
        }
        // The methods that change the expression's shape are built in here,
        // with their arities; any other method (`abs`, `min`,
        // `saturating_add`, `unwrap_or`, a method of an `impl` block) is
        // resolved by the checker on the receiver's type, so that an
        // `impl` method of that name is called on its type and a free
        // function of that name never is.
        match name {
            "rev" | "enumerate" | "step_by" => {
                let want = if name == "step_by" { 2 } else { 1 };
                if args.len() != want {
                    return self.error(span, format!("`{name}` takes {} argument(s)", want - 1));
                }
                Ok(Expr { kind: ExprKind::Call(format!("__{name}"), args), span, ty: () })
            }
            "swap" if args.len() == 3 => {
                let mut it = args.into_iter();
                let (Some(v), Some(i), Some(j)) = (it.next(), it.next(), it.next()) else {
                    return self.error(span, "`swap` takes two indices");
                };
                Ok(swap_block(v, i, j, span))
            }
            "clone" | "to_owned" | "iter" | "into_iter" | "copied" | "cloned" if args.len() == 1 => {
                Ok(args.into_iter().next().unwrap_or_else(|| unit_expr(span)))
            }
            _ if !name.starts_with("__") => {
                // A method of an `impl` block, resolved by the checker on
                // the receiver's type.
                Ok(Expr { kind: ExprKind::Call(format!(".{name}"), args), span, ty: () })
            }
            _ => self.error_help(
                name_span,
                format!("method `{name}` is not supported"),
                crate::builtins::METHODS_HELP,
            ),
        }
    }

    fn primary(&mut self, structs: bool) -> PResult<Expr<()>> {
        let start = self.span();
        match self.peek().clone() {
            Tok::Int { value, suffix } => {
                self.bump();
                Ok(Expr { kind: ExprKind::Int { negative: false, value, suffix }, span: start, ty: () })
            }
            Tok::Decimal(text) => {
                self.bump();
                let kind = ExprKind::Decimal { negative: false, text, suffix: None };
                Ok(Expr { kind, span: start, ty: () })
            }
            Tok::Punct("(") => {
                self.bump();
                let mut items = Vec::new();
                let mut trailing_comma = false;
                while !self.is_punct(")") {
                    items.push(self.expr()?);
                    if items.len() == 1 && (self.is_punct("..") || self.is_punct("..=")) {
                        let inclusive = self.bump().tok == Tok::Punct("..=");
                        let end_expr = self.expr()?;
                        let end = self.expect_punct(")")?;
                        let name = if inclusive { "__range_inclusive" } else { "__range" };
                        items.push(end_expr);
                        return Ok(Expr {
                            kind: ExprKind::Call(name.to_owned(), items),
                            span: start.to(end),
                            ty: (),
                        });
                    }
                    trailing_comma = self.eat_punct(",");
                    if !trailing_comma {
                        break;
                    }
                }
                let end = self.expect_punct(")")?;
                let span = start.to(end);
                if items.len() == 1 && !trailing_comma {
                    let mut e = items.pop().unwrap_or_else(|| unit_expr(span));
                    e.span = span;
                    return Ok(e);
                }
                Ok(Expr { kind: ExprKind::Tuple(items), span, ty: () })
            }
            Tok::Punct("[") => {
                self.bump();
                if self.eat_punct("]") {
                    return Ok(Expr {
                        kind: ExprKind::Array(Vec::new()),
                        span: start.to(self.prev_span()),
                        ty: (),
                    });
                }
                let first = self.expr()?;
                if self.eat_punct(";") {
                    let len = self.expr()?;
                    let end = self.expect_punct("]")?;
                    return Ok(Expr {
                        kind: ExprKind::Repeat(Box::new(first), Box::new(len)),
                        span: start.to(end),
                        ty: (),
                    });
                }
                let mut items = vec![first];
                while self.eat_punct(",") {
                    if self.is_punct("]") {
                        break;
                    }
                    items.push(self.expr()?);
                }
                let end = self.expect_punct("]")?;
                Ok(Expr { kind: ExprKind::Array(items), span: start.to(end), ty: () })
            }
            Tok::Punct("{") => {
                let b = self.block()?;
                let span = b.span;
                Ok(Expr { kind: ExprKind::Block(b), span, ty: () })
            }
            Tok::Ident(w) => match w.as_str() {
                "true" | "false" => {
                    self.bump();
                    Ok(Expr { kind: ExprKind::Bool(w == "true"), span: start, ty: () })
                }
                "if" => self.if_expr(),
                "match" => self.match_expr(),
                _ => self.name_expr(structs),
            },
            _ => self.unexpected("an expression"),
        }
    }

    fn if_expr(&mut self) -> PResult<Expr<()>> {
        let start = self.bump().span; // `if`
        if self.eat_word("let") {
            // `if let P = e { a } else { b }` is `match e { P => a, _ => b }`.
            let pat = self.match_pattern()?;
            self.expect_punct("=")?;
            let scrutinee = self.expr_no_struct()?;
            if let ExprKind::Binary(BinOp::And, ..) = scrutinee.kind {
                // `if let Some(x) = a && x > 2`: a let chain (Rust 2024).
                // Reported, and the rest parsed as it stands (the error
                // stops the compile before any type is checked).
                self.errors.push(
                    Diagnostic::new(scrutinee.span, "`if let … = … && …` (a let chain) is not supported")
                        .with_help("nest the condition: `if let Some(x) = a { if x > 2 { … } }`"),
                );
            }
            let then = self.block()?;
            let then_span = then.span;
            let mut end = then.span;
            let els = if self.eat_word("else") {
                let e = if self.is_word("if") {
                    self.enter()?;
                    let r = self.if_expr();
                    self.leave();
                    r?
                } else {
                    let b = self.block()?;
                    let span = b.span;
                    Expr { kind: ExprKind::Block(b), span, ty: () }
                };
                end = e.span;
                e
            } else {
                unit_expr(end)
            };
            let span = pat.span();
            let arms = vec![
                Arm {
                    pat,
                    tpat: TPat::Wild,
                    guard: None,
                    body: Expr { kind: ExprKind::Block(then), span: then_span, ty: () },
                    span,
                },
                Arm { pat: MatchPat::Wild(span), tpat: TPat::Wild, guard: None, body: els, span },
            ];
            return Ok(Expr {
                kind: ExprKind::Match(Box::new(scrutinee), arms),
                span: start.to(end),
                ty: (),
            });
        }
        let cond = self.expr_no_struct()?;
        self.no_struct_literal_after("an `if` condition")?;
        let then = self.block()?;
        let mut end = then.span;
        let els = if self.eat_word("else") {
            let e = if self.is_word("if") {
                self.enter()?;
                let r = self.if_expr();
                self.leave();
                r?
            } else {
                let b = self.block()?;
                let span = b.span;
                Expr { kind: ExprKind::Block(b), span, ty: () }
            };
            end = e.span;
            Some(Box::new(e))
        } else {
            None
        };
        Ok(Expr { kind: ExprKind::If(Box::new(cond), then, els), span: start.to(end), ty: () })
    }

    /// `match scrutinee { pattern if guard => value, … }`.
    fn match_expr(&mut self) -> PResult<Expr<()>> {
        let start = self.bump().span; // `match`
        let scrutinee = self.expr_no_struct()?;
        self.no_struct_literal_after("a `match` scrutinee")?;
        self.expect_punct("{")?;
        let mut arms = Vec::new();
        while !self.is_punct("}") {
            let pat = self.match_pattern()?;
            let guard = if self.eat_word("if") { Some(self.expr()?) } else { None };
            self.expect_punct("=>")?;
            let body = self.arm_body()?;
            let block_like = is_block_like(&body);
            let span = pat.span();
            arms.push(Arm { pat, tpat: TPat::Wild, guard, body, span });
            if !self.eat_punct(",") && !block_like && !self.is_punct("}") {
                return self.unexpected("`,` between the arms of a `match`");
            }
        }
        let end = self.expect_punct("}")?;
        Ok(Expr { kind: ExprKind::Match(Box::new(scrutinee), arms), span: start.to(end), ty: () })
    }

    /// An arm's value. A statement there, as Rust allows (`=> return 0,`,
    /// `=> break,`, `=> continue,`, `=> s += x,`), is a block of that one
    /// statement, as if written `=> { s += x; }` (Rust gives a jump the
    /// type `!`, which any other arm's type takes, and an assignment the
    /// type `()`).
    fn arm_body(&mut self) -> PResult<Expr<()>> {
        let start = self.span();
        let ends = |p: &Self| p.is_punct(",") || p.is_punct("}");
        let kind = if self.eat_word("return") {
            StmtKind::Return(if ends(self) { None } else { Some(self.expr()?) })
        } else if self.is_word("break") || self.is_word("continue") {
            let is_break = self.bump().tok == Tok::Ident("break".into());
            if !ends(self) {
                let s = self.span();
                return self.error_help(
                    s,
                    "`break` with a value is not supported: a `for` loop has no value",
                    "assign the value to a `mut` variable declared before the loop, then write `break`",
                );
            }
            if is_break {
                StmtKind::Break
            } else {
                StmtKind::Continue
            }
        } else {
            let e = self.expr()?;
            let Some(op) = self.assign_op() else { return Ok(e) };
            self.bump();
            StmtKind::Assign { place: e, op, value: self.expr()? }
        };
        let span = start.to(self.prev_span());
        let block = Block { stmts: vec![Stmt { kind, span }], tail: None, span };
        Ok(Expr { kind: ExprKind::Block(block), span, ty: () })
    }

    /// The assignment operator at the cursor, if any: `=` (`Some(None)`)
    /// or `op=` (`Some(Some(op))`).
    fn assign_op(&self) -> Option<Option<BinOp>> {
        match self.peek() {
            Tok::Punct("=") => Some(None),
            Tok::Punct("+=") => Some(Some(BinOp::Add)),
            Tok::Punct("-=") => Some(Some(BinOp::Sub)),
            Tok::Punct("*=") => Some(Some(BinOp::Mul)),
            Tok::Punct("/=") => Some(Some(BinOp::Div)),
            Tok::Punct("%=") => Some(Some(BinOp::Rem)),
            Tok::Punct("&=") => Some(Some(BinOp::BitAnd)),
            Tok::Punct("|=") => Some(Some(BinOp::BitOr)),
            Tok::Punct("^=") => Some(Some(BinOp::BitXor)),
            Tok::Punct("<<=") => Some(Some(BinOp::Shl)),
            Tok::Punct(">>=") => Some(Some(BinOp::Shr)),
            _ => None,
        }
    }

    /// A `match` pattern: alternatives separated by `|`.
    fn match_pattern(&mut self) -> PResult<MatchPat> {
        self.enter()?;
        let r = self.match_pattern_inner();
        self.leave();
        r
    }

    fn match_pattern_inner(&mut self) -> PResult<MatchPat> {
        let start = self.span();
        self.eat_punct("|");
        let first = self.single_pattern()?;
        if !self.is_punct("|") {
            return Ok(first);
        }
        let mut alts = vec![first];
        while self.eat_punct("|") {
            alts.push(self.single_pattern()?);
        }
        let span = start.to(self.prev_span());
        Ok(MatchPat::Or(alts, span))
    }

    /// One alternative of a pattern.
    fn single_pattern(&mut self) -> PResult<MatchPat> {
        let start = self.span();
        if self.is_punct("..=") || self.is_punct("..") {
            let inclusive = self.bump().tok == Tok::Punct("..=");
            if !self.starts_range_bound() {
                return Ok(MatchPat::Rest(start));
            }
            let hi = self.range_bound()?;
            let span = start.to(hi.span);
            return Ok(MatchPat::Range(None, Some(hi), inclusive, span));
        }
        if self.eat_word("_") {
            return Ok(MatchPat::Wild(start));
        }
        if self.eat_punct("(") {
            let mut items = Vec::new();
            let mut trailing_comma = false;
            while !self.is_punct(")") {
                items.push(self.match_pattern()?);
                trailing_comma = self.eat_punct(",");
                if !trailing_comma {
                    break;
                }
            }
            let end = self.expect_punct(")")?;
            if items.len() == 1 && !trailing_comma {
                return Ok(items.pop().unwrap_or(MatchPat::Wild(start)));
            }
            return Ok(MatchPat::Tuple(items, start.to(end)));
        }
        if self.is_word("true") || self.is_word("false") {
            let w = self.bump();
            let e = Expr {
                kind: ExprKind::Bool(matches!(&w.tok, Tok::Ident(x) if x == "true")),
                span: w.span,
                ty: (),
            };
            return Ok(MatchPat::Lit(e));
        }
        if !self.starts_range_bound() {
            if self.is_word("mut") || self.is_word("ref") {
                return self.error_help(
                    start,
                    "`mut` and `ref` bindings in `match` patterns are not supported",
                    "bind a plain name, then copy it into a `let mut`",
                );
            }
            if matches!(self.peek(), Tok::Decimal(_)) {
                return self.error_help(
                    start,
                    "a fixed-point number cannot be a pattern",
                    "compare instead: `if x == 0.5 { … } else { … }`, or match an integer (`x as i32`)",
                );
            }
            return self.unexpected("a pattern");
        }
        // A name, a path, a literal: maybe a variant with fields, maybe a range.
        let lo = self.range_bound()?;
        if let ExprKind::Var(name) = &lo.kind {
            if name == "None" && !self.is_punct("(") {
                return Ok(MatchPat::Variant(
                    "Option".into(),
                    "None".into(),
                    VariantFields::Unit,
                    false,
                    lo.span,
                ));
            }
            if name == "Some" && self.is_punct("(") {
                return self.variant_pattern("Option".into(), "Some".into(), lo.span);
            }
            if self.is_punct("@") {
                let s = self.span();
                return self.error_help(
                    s,
                    "`@` patterns are not supported",
                    "bind in a `let` inside the arm",
                );
            }
            if self.is_punct("(") || self.is_punct("{") {
                // A struct's pattern; the checker tells it from a misspelt variant.
                let name = name.clone();
                let (fields, rest, span) = self.fields_pattern(lo.span)?;
                return Ok(MatchPat::Struct(name, fields, rest, span));
            }
            if !self.is_punct("..") && !self.is_punct("..=") {
                return Ok(MatchPat::Ident(name.clone(), lo.span));
            }
        }
        if let ExprKind::Assoc { ty, member } = &lo.kind {
            if self.is_punct("(") || self.is_punct("{") {
                let (ty, member) = (ty.clone(), member.clone());
                return self.variant_pattern(ty, member, lo.span);
            }
            if !self.is_punct("..") && !self.is_punct("..=") {
                let span = lo.span;
                return Ok(MatchPat::Variant(ty.clone(), member.clone(), VariantFields::Unit, false, span));
            }
        }
        if self.is_punct("..") || self.is_punct("..=") {
            let inclusive = self.bump().tok == Tok::Punct("..=");
            if !self.starts_range_bound() {
                if inclusive {
                    let s = self.prev_span();
                    return self.error_help(s, "a range `lo..=` needs its end", "write `lo..` or `lo..=hi`");
                }
                let span = start.to(self.prev_span());
                return Ok(MatchPat::Range(Some(lo), None, false, span));
            }
            let hi = self.range_bound()?;
            let span = start.to(hi.span);
            return Ok(MatchPat::Range(Some(lo), Some(hi), inclusive, span));
        }
        Ok(MatchPat::Lit(lo))
    }

    /// Whether the next token can start a range bound or a literal pattern.
    fn starts_range_bound(&self) -> bool {
        match self.peek() {
            Tok::Int { .. } | Tok::Punct("-") => true,
            Tok::Ident(w) => !KEYWORDS.contains(&w.as_str()) && w != "_" && unsupported_keyword(w).is_none(),
            _ => false,
        }
    }

    /// A literal (`3`, `-1`), a name or a path (`u8::MAX`, `Enum::Variant`).
    fn range_bound(&mut self) -> PResult<Expr<()>> {
        let start = self.span();
        if self.eat_punct("-") {
            let t = self.bump();
            return match t.tok {
                Tok::Int { value, suffix } => Ok(Expr {
                    kind: ExprKind::Int { negative: true, value, suffix },
                    span: start.to(t.span),
                    ty: (),
                }),
                _ => self.error(t.span, "expected an integer after `-` in a pattern"),
            };
        }
        if let Tok::Int { value, suffix } = self.peek().clone() {
            self.bump();
            return Ok(Expr { kind: ExprKind::Int { negative: false, value, suffix }, span: start, ty: () });
        }
        let (name, span) = self.expect_ident("a pattern")?;
        if self.eat_punct("::") {
            let (member, mspan) = self.expect_ident("a name after `::`")?;
            return Ok(Expr { kind: ExprKind::Assoc { ty: name, member }, span: span.to(mspan), ty: () });
        }
        Ok(Expr { kind: ExprKind::Var(name), span, ty: () })
    }

    /// `Enum::Variant(p, …)` or `Enum::Variant { f: p, g, .. }` after the path.
    fn variant_pattern(&mut self, ty: String, variant: String, start: Span) -> PResult<MatchPat> {
        let (fields, rest, span) = self.fields_pattern(start)?;
        Ok(MatchPat::Variant(ty, variant, fields, rest, span))
    }

    /// The fields of a variant's or a struct's pattern, `(p, …)` or
    /// `{ f: p, g, .. }`, with whether `..` ended a named list and the span
    /// from `start` on.
    fn fields_pattern(&mut self, start: Span) -> PResult<(FieldPats, bool, Span)> {
        if self.eat_punct("(") {
            let mut items = Vec::new();
            while !self.is_punct(")") {
                let p = self.match_pattern()?;
                items.push((p.span(), p));
                if !self.eat_punct(",") {
                    break;
                }
            }
            let end = self.expect_punct(")")?;
            return Ok((VariantFields::Tuple(items), false, start.to(end)));
        }
        self.expect_punct("{")?;
        let mut items = Vec::new();
        let mut rest = false;
        while !self.is_punct("}") {
            if self.eat_punct("..") {
                rest = true;
                break;
            }
            let (f, fspan) = self.expect_ident("a field name")?;
            let p =
                if self.eat_punct(":") { self.match_pattern()? } else { MatchPat::Ident(f.clone(), fspan) };
            items.push((f, (fspan, p)));
            if !self.eat_punct(",") {
                break;
            }
        }
        let end = self.expect_punct("}")?;
        Ok((VariantFields::Named(items), rest, start.to(end)))
    }

    fn name_expr(&mut self, structs: bool) -> PResult<Expr<()>> {
        let start = self.span();
        if let Tok::Ident(w) = self.peek().clone() {
            if let Some((msg, help)) = unsupported_keyword(&w) {
                return self.error_help(start, msg, help);
            }
            if w == "break" || w == "continue" {
                return self.error_help(
                    start,
                    format!("`{w}` is a statement, not an expression"),
                    format!(
                        "write it as a statement in a block, such as `if c {{ {w}; }}` or `=> {{ {w}; }}`"
                    ),
                );
            }
            if KEYWORDS.contains(&w.as_str()) {
                return self.unexpected("an expression");
            }
        }
        let (name, span) = self.expect_ident("an expression")?;
        if self.is_punct("::") {
            self.bump();
            let (member, mspan) = self.expect_ident("a name after `::`")?;
            if self.is_punct("::") {
                // `std::cmp::max(a, b)`, `core::i32::MAX`.
                let at = self.span();
                return self.error_help(
                    span.to(at),
                    format!("paths such as `{name}::{member}::…` are not supported: the language has no modules"),
                    "call built-ins by their name (`max(a, b)`, `a.max(b)`, `x.count_ones()`), and write constants and enum variants as `Type::NAME`",
                );
            }
            if self.eat_punct("(") {
                // `Enum::Variant(a, …)`.
                let mut args = Vec::new();
                while !self.is_punct(")") {
                    let a = self.expr()?;
                    args.push((args.len().to_string(), a.span, a));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                let end = self.expect_punct(")")?;
                return Ok(Expr { kind: ExprKind::Variant(name, member, args), span: span.to(end), ty: () });
            }
            if structs && self.is_punct("{") && member.starts_with(|c: char| c.is_ascii_uppercase()) {
                // `Enum::Variant { f: a, … }`.
                self.bump();
                let fields = self.struct_fields_lit()?;
                let end = self.expect_punct("}")?;
                return Ok(Expr {
                    kind: ExprKind::Variant(name, member, fields),
                    span: span.to(end),
                    ty: (),
                });
            }
            // `u8::MAX`, `Enum::Variant` and the like: the checker says
            // what the path stands for.
            return Ok(Expr { kind: ExprKind::Assoc { ty: name, member }, span: span.to(mspan), ty: () });
        }
        if self.is_punct("!") {
            return self.error_help(
                span,
                "macros are not supported",
                "see docs/LANGUAGE.md for the built-ins",
            );
        }
        if self.is_punct("(") {
            self.bump();
            let mut args = Vec::new();
            while !self.is_punct(")") {
                args.push(self.expr()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
            let end = self.expect_punct(")")?;
            return Ok(Expr { kind: ExprKind::Call(name, args), span: span.to(end), ty: () });
        }
        if structs && self.is_punct("{") && name.starts_with(|c: char| c.is_ascii_uppercase()) {
            self.bump();
            let fields = self.struct_fields_lit()?;
            let end = self.expect_punct("}")?;
            return Ok(Expr { kind: ExprKind::Struct(name, fields), span: span.to(end), ty: () });
        }
        Ok(Expr { kind: ExprKind::Var(name), span, ty: () })
    }

    /// The `f: value, g, …` of a struct literal, up to its `}`.
    fn struct_fields_lit(&mut self) -> PResult<Vec<(String, Span, Expr<()>)>> {
        let mut fields = Vec::new();
        while !self.is_punct("}") {
            if self.is_punct("..") {
                let s = self.span();
                return self.error(s, "struct update syntax `..base` is not supported");
            }
            let (f, fspan) = self.expect_ident("a field name")?;
            let value = if self.eat_punct(":") {
                self.expr()?
            } else {
                Expr { kind: ExprKind::Var(f.clone()), span: fspan, ty: () }
            };
            fields.push((f, fspan, value));
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(fields)
    }
}

enum StmtOrTail {
    Stmt(Box<Stmt<()>>),
    Tail(Expr<()>),
}

/// `v.swap(i, j)` as `{ let t = v[i]; v[i] = v[j]; v[j] = t; }`.
fn swap_block(v: Expr<()>, i: Expr<()>, j: Expr<()>, span: Span) -> Expr<()> {
    let index = |a: &Expr<()>, k: &Expr<()>| Expr {
        kind: ExprKind::Index(Box::new(a.clone()), Box::new(k.clone())),
        span,
        ty: (),
    };
    let tmp = "__swap".to_owned();
    let stmts = vec![
        Stmt {
            kind: StmtKind::Let {
                pat: Pattern::Ident { name: tmp.clone(), mutable: false },
                ty: None,
                init: index(&v, &i),
            },
            span,
        },
        Stmt { kind: StmtKind::Assign { place: index(&v, &i), op: None, value: index(&v, &j) }, span },
        Stmt {
            kind: StmtKind::Assign {
                place: index(&v, &j),
                op: None,
                value: Expr { kind: ExprKind::Var(tmp), span, ty: () },
            },
            span,
        },
    ];
    Expr { kind: ExprKind::Block(Block { stmts, tail: None, span }), span, ty: () }
}

fn is_block_like(e: &Expr<()>) -> bool {
    matches!(e.kind, ExprKind::If(..) | ExprKind::Block(_) | ExprKind::Match(..))
}

fn unit_expr(span: Span) -> Expr<()> {
    Expr { kind: ExprKind::Tuple(Vec::new()), span, ty: () }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::scan;

    fn parse_src(s: &str) -> Result<Untyped, Diagnostics> {
        parse(scan(s)?)
    }

    #[test]
    fn parses_precedence() {
        let p = parse_src("fn main() -> u32 { 1 + 2 * 3 << 1 }").unwrap();
        let tail = p.fns[0].body.tail.as_ref().unwrap();
        // (1 + (2 * 3)) << 1
        assert!(matches!(tail.kind, ExprKind::Binary(BinOp::Shl, _, _)));
    }

    #[test]
    fn reports_several_errors() {
        let e = parse_src("fn main() { let x = ; while x {} let y = 1 }").unwrap_err();
        assert!(e.len() >= 2, "{e:?}");
        assert!(e.errors.iter().any(|d| d.message.contains("`while` loops are not supported")));
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let src = format!("fn main() -> u8 {{ {}1{} }}", "(".repeat(10_000), ")".repeat(10_000));
        let e = parse_src(&src).unwrap_err();
        assert!(e.errors[0].message.contains("nests deeper"));
    }
}
