//! Checking enums and `match`: resolving `enum` items, typing variant
//! expressions (`Shape::Circle(3)`), resolving each arm's pattern against
//! the scrutinee's type into a [`TPat`], and deciding at compile time that
//! the arms cover every value (a `match` that does not is an error naming a
//! value it misses). Lowering (`lower/matching.rs`) reads the `TPat`s.
//!
//! Exhaustiveness is the usual specialisation over constructors (Maranget,
//! "Warnings for pattern matching"): `bool` has `true` and `false`, an enum
//! its variants, a tuple one constructor, and an integer type the segments
//! its arms' ranges cut its range into. Arms with a guard count for nothing.

use crate::ast::*;
use crate::check::Checker;
use crate::diag::{Diagnostic, Span};
use crate::infer::Ty;
use crate::limits::MAX_TYPE_BITS;
use crate::types::{fixed_type_by_name, int_range_text, int_type_by_name, literal_fits, Type};

/// A variant of an enum during checking.
#[derive(Clone, Debug)]
pub(crate) struct VariantTy {
    pub(crate) name: String,
    pub(crate) discriminant: u128,
    /// Named `0`, `1`, … for a tuple variant.
    pub(crate) fields: Vec<(String, Ty)>,
    pub(crate) named: bool,
}

/// The largest key of an integer type of `bits` bits.
fn max_key(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// The key of `±magnitude` in an integer type (see [`TPat`]).
pub(crate) fn int_key(negative: bool, magnitude: u128, signed: bool, bits: u32) -> u128 {
    let v = if negative { magnitude.wrapping_neg() } else { magnitude };
    if signed {
        v.wrapping_add(1u128 << (bits - 1)) & max_key(bits)
    } else {
        v & max_key(bits)
    }
}

/// The value of a key, as written in source.
fn key_text(key: u128, signed: bool, bits: u32) -> String {
    if signed {
        let v = key.wrapping_sub(1u128 << (bits - 1)) & max_key(bits);
        let shift = 128 - bits;
        (((v << shift) as i128) >> shift).to_string()
    } else {
        key.to_string()
    }
}

impl Checker {
    /// The variants of the enum `name`, resolved once (`None` if it is not
    /// an enum, or contains itself).
    pub(crate) fn enum_variants(&mut self, name: &str, use_span: Span) -> Option<Vec<VariantTy>> {
        if let Some(v) = self.enums.get(name) {
            return Some(v.clone());
        }
        let def = self.enum_defs.get(name)?.clone();
        if !self.struct_in_progress.insert(name.to_owned()) {
            self.err(
                Diagnostic::new(use_span, format!("the enum `{name}` contains itself"))
                    .with_help("a value must have a finite size: use an array of a fixed length"),
            );
            return None;
        }
        let mut variants: Vec<VariantTy> = Vec::new();
        let mut next: i128 = 0;
        for v in &def.variants {
            if variants.iter().any(|w| w.name == v.name) {
                self.err(Diagnostic::new(v.span, format!("the variant `{}` is declared twice", v.name)));
                continue;
            }
            let d = match &v.discriminant {
                Some(e) => self.const_int(e, 0).unwrap_or(next),
                None => next,
            };
            if d < 0 {
                let span = v.discriminant.as_ref().map_or(v.span, |e| e.span);
                self.err(
                    Diagnostic::new(span, format!("the discriminant of `{}::{}` is negative", name, v.name))
                        .with_help("discriminants are unsigned here: use 0 or more"),
                );
            }
            if let Some(w) = variants.iter().find(|w| i128::try_from(w.discriminant).ok() == Some(d)) {
                let span = v.discriminant.as_ref().map_or(v.span, |e| e.span);
                let msg = format!(
                    "`{}::{}` has the discriminant {d}, as `{}::{}` does",
                    name, v.name, name, w.name
                );
                self.err(Diagnostic::new(span, msg).with_help("give each variant its own value"));
            }
            next = d.saturating_add(1);
            let fields = match &v.fields {
                VariantFields::Unit => Vec::new(),
                VariantFields::Tuple(ts) => {
                    ts.iter().enumerate().map(|(k, t)| (k.to_string(), self.resolve_type_expr(t))).collect()
                }
                VariantFields::Named(fs) => {
                    let mut out: Vec<(String, Ty)> = Vec::new();
                    for (f, t) in fs {
                        let ty = self.resolve_type_expr(t);
                        if out.iter().any(|(g, _)| g == f) {
                            self.err(Diagnostic::new(v.span, format!("field `{f}` is declared twice")));
                            continue;
                        }
                        out.push((f.clone(), ty));
                    }
                    out
                }
            };
            if v.discriminant.is_some() && !fields.is_empty() {
                self.err(
                    Diagnostic::new(v.span, "a variant with fields cannot have a discriminant")
                        .with_help("remove `= …`, or the fields"),
                );
            }
            variants.push(VariantTy {
                name: v.name.clone(),
                discriminant: u128::try_from(d.max(0)).unwrap_or(0),
                fields,
                named: matches!(v.fields, VariantFields::Named(_)),
            });
        }
        if variants.is_empty() {
            self.err(
                Diagnostic::new(def.span, format!("the enum `{name}` has no variants"))
                    .with_help("a value of it could not exist; give it at least one variant"),
            );
        }
        self.struct_in_progress.remove(name);
        self.enums.insert(name.to_owned(), variants.clone());
        let width = self.to_type(&Ty::Enum(name.to_owned())).width_u64();
        if width > MAX_TYPE_BITS {
            self.err(Diagnostic::new(
                def.span,
                format!("the enum `{name}` is {width} bits wide; the limit is {MAX_TYPE_BITS}"),
            ));
        }
        Some(variants)
    }

    fn variant_names(&self, name: &str) -> String {
        let vs = self.enums.get(name).cloned().unwrap_or_default();
        vs.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The variant `member` of the enum `ty`, or an error.
    fn find_variant(&mut self, ty: &str, member: &str, span: Span) -> Option<(usize, VariantTy)> {
        let vs = self.enum_variants(ty, span)?;
        match vs.iter().position(|v| v.name == member) {
            Some(k) => Some((k, vs[k].clone())),
            None => {
                let names = self.variant_names(ty);
                self.err(
                    Diagnostic::new(span, format!("the enum `{ty}` has no variant `{member}`"))
                        .with_help(format!("its variants are: {names}")),
                );
                None
            }
        }
    }

    /// `Enum::Variant`, `Enum::Variant(a, …)`, `Enum::Variant { f: a, … }`.
    pub(crate) fn variant_expr(
        &mut self,
        ty: String,
        member: String,
        fields: Vec<(String, Span, Expr<()>)>,
        span: Span,
    ) -> Expr<Ty> {
        let positional = fields.first().is_some_and(|(f, _, _)| f == "0")
            && fields.iter().enumerate().all(|(k, (f, _, _))| *f == k.to_string());
        let mut given: Vec<(String, Span, Expr<Ty>)> =
            fields.into_iter().map(|(f, s, e)| (f, s, self.expr(e))).collect();
        if !self.enum_defs.contains_key(&ty) {
            let number = fixed_type_by_name(&ty).is_some() || int_type_by_name(&ty).is_some();
            let d = if number {
                // `I16F16::from_num(x)`, `u32::from(x)`, `i64::try_from(x)`;
                // `i32::max(a, b)`, Rust's associated-function form of a
                // method.
                let method = ["min", "max", "abs", "pow", "signum", "count_ones", "count_zeros"]
                    .contains(&member.as_str())
                    || ["leading_", "trailing_", "rotate_", "wrapping_", "saturating_", "checked_"]
                        .iter()
                        .any(|p| member.starts_with(p));
                let help = if method {
                    format!(
                        "call it as a method: `a.{member}(…)`{}",
                        if member == "min" || member == "max" {
                            format!(", or `{member}(a, b)`")
                        } else {
                            String::new()
                        }
                    )
                } else {
                    format!("convert with `as`: `x as {ty}`")
                };
                Diagnostic::new(span, format!("`{ty}::{member}` is not supported")).with_help(help)
            } else {
                Diagnostic::new(span, format!("unknown enum `{ty}`"))
            };
            self.err(d);
            return Self::typed(ExprKind::Variant(ty, member, given), span, Ty::Error);
        }
        let Some((_, v)) = self.find_variant(&ty, &member, span) else {
            return Self::typed(ExprKind::Variant(ty, member, given), span, Ty::Error);
        };
        let path = format!("{ty}::{member}");
        let bad = |c: &mut Self, msg: String, help: String| c.err(Diagnostic::new(span, msg).with_help(help));
        if v.fields.is_empty() && !given.is_empty() {
            bad(self, format!("`{path}` has no fields"), format!("write `{path}`"));
        } else if !v.named && !v.fields.is_empty() && !positional {
            let args = vec!["_"; v.fields.len()].join(", ");
            bad(self, format!("`{path}` has fields by position"), format!("write `{path}({args})`"));
        } else if !v.named && !v.fields.is_empty() && given.len() != v.fields.len() {
            let n = v.fields.len();
            let args = vec!["_"; n].join(", ");
            bad(
                self,
                format!("`{path}` takes {n} field(s), {} given", given.len()),
                format!("write `{path}({args})`"),
            );
        } else if v.named && (positional || given.is_empty()) {
            let names: Vec<&str> = v.fields.iter().map(|(f, _)| f.as_str()).collect();
            bad(
                self,
                format!("`{path}` has named fields"),
                format!("write `{path} {{ {} }}`", names.join(", ")),
            );
        } else {
            for (f, fspan, e) in &given {
                match v.fields.iter().find(|(g, _)| g == f) {
                    Some((_, t)) => {
                        if !self.unify(&e.ty, t) {
                            self.mismatch(e.span, t, &e.ty);
                        }
                    }
                    None => self.err(Diagnostic::new(*fspan, format!("`{path}` has no field `{f}`"))),
                }
            }
            let mut seen = Vec::new();
            for (f, fspan, _) in &given {
                if seen.contains(f) {
                    self.err(Diagnostic::new(*fspan, format!("field `{f}` is given twice")));
                }
                seen.push(f.clone());
            }
            let missing: Vec<&str> =
                v.fields.iter().filter(|(f, _)| !seen.contains(f)).map(|(f, _)| f.as_str()).collect();
            if v.named && !missing.is_empty() {
                self.err(Diagnostic::new(
                    span,
                    format!("missing fields of `{path}`: {}", missing.join(", ")),
                ));
            }
            given.sort_by_key(|(f, _, _)| v.fields.iter().position(|(g, _)| g == f).unwrap_or(usize::MAX));
        }
        Self::typed(ExprKind::Variant(ty.clone(), member, given), span, Ty::Enum(ty))
    }

    /// `match scrutinee { arms }`: each pattern resolved against the
    /// scrutinee's type, guards `bool`, arms of one type, and every value
    /// covered.
    pub(crate) fn match_expr(&mut self, scrutinee: Expr<()>, arms: Vec<Arm<()>>, span: Span) -> Expr<Ty> {
        let scrutinee = self.expr(scrutinee);
        let sty = scrutinee.ty.clone();
        let mut result: Option<Ty> = None;
        let mut typed_arms = Vec::with_capacity(arms.len());
        let errors_before = self.errors.errors.len();
        for arm in arms {
            let mut binds = Vec::new();
            let tpat = self.pattern(&arm.pat, &sty, &mut binds);
            self.scopes.push(Vec::new());
            for (name, ty) in binds {
                self.bind(&name, ty, false);
            }
            let guard = arm.guard.map(|g| {
                let g = self.expr(g);
                if !self.unify(&g.ty, &Ty::Bool) {
                    self.mismatch(g.span, &Ty::Bool, &g.ty);
                }
                g
            });
            let body = self.expr(arm.body);
            self.scopes.pop();
            match &result {
                None => result = Some(body.ty.clone()),
                Some(t) => {
                    let t = t.clone();
                    if !self.unify(&t, &body.ty) {
                        let msg = format!(
                            "the arms of a `match` have different types: {} and {}",
                            self.show(&t),
                            self.show(&body.ty)
                        );
                        self.err(Diagnostic::new(body.span, msg));
                    }
                    result = Some(self.join(&t, &body.ty));
                }
            }
            typed_arms.push(Arm { pat: arm.pat, tpat, guard, body, span: arm.span });
        }
        if self.errors.errors.len() == errors_before {
            let ty = self.to_type(&sty);
            let rows: Vec<Vec<TPat>> =
                typed_arms.iter().filter(|a| a.guard.is_none()).map(|a| vec![a.tpat.clone()]).collect();
            let mut budget = 100_000u32;
            if let Some(w) = missing(&rows, &[ty], &mut budget) {
                let shown = w.into_iter().next().unwrap_or_else(|| "_".into());
                let (msg, help) = if typed_arms.is_empty() {
                    (
                        format!("this `match` has no arms, so pattern `{shown}` is not covered"),
                        "add arms for every value".to_owned(),
                    )
                } else {
                    (
                        format!("non-exhaustive patterns: pattern `{shown}` not covered"),
                        format!("add an arm `{shown} => …`, or a catch-all `_ => …`"),
                    )
                };
                self.err(
                    Diagnostic::new(scrutinee.span, msg)
                        .with_label(format!("pattern `{shown}` not covered"))
                        .with_help(help),
                );
            }
        }
        let ty = result.unwrap_or(Ty::Never);
        Self::typed(ExprKind::Match(Box::new(scrutinee), typed_arms), span, ty)
    }

    /// Resolves `p` against a value of type `ty`, collecting its bindings.
    fn pattern(&mut self, p: &MatchPat, ty: &Ty, binds: &mut Vec<(String, Ty)>) -> TPat {
        match p {
            MatchPat::Wild(_) => TPat::Wild,
            MatchPat::Rest(span) => {
                self.err(
                    Diagnostic::new(*span, "`..` stands for the other fields of a tuple or a variant")
                        .with_help("write `_` to match any value"),
                );
                TPat::Wild
            }
            MatchPat::Ident(name, span) => {
                if self.consts.contains_key(name) && self.lookup(name).is_none() {
                    let e = Expr { kind: ExprKind::Var(name.clone()), span: *span, ty: () };
                    return self.int_pattern(Some(&e), Some(&e), true, ty, *span);
                }
                if binds.iter().any(|(b, _)| b == name) {
                    self.err(Diagnostic::new(*span, format!("`{name}` is bound twice in this pattern")));
                }
                binds.push((name.clone(), ty.clone()));
                TPat::Bind(name.clone())
            }
            MatchPat::Lit(e) => {
                if let ExprKind::Bool(b) = e.kind {
                    if !self.unify(ty, &Ty::Bool) {
                        self.pattern_mismatch(e.span, ty, "bool");
                    }
                    return TPat::Bool(b);
                }
                self.int_pattern(Some(e), Some(e), true, ty, e.span)
            }
            MatchPat::Range(lo, hi, inclusive, span) => {
                self.int_pattern(lo.as_ref(), hi.as_ref(), *inclusive, ty, *span)
            }
            MatchPat::Tuple(items, span) => {
                let ts = match self.find(ty) {
                    Ty::Tuple(ts) => ts,
                    Ty::Error | Ty::Never => vec![Ty::Error; items.len()],
                    other => {
                        let msg =
                            format!("this pattern is a tuple, but the value has type {}", self.show(&other));
                        self.err(Diagnostic::new(*span, msg));
                        vec![Ty::Error; items.len()]
                    }
                };
                let items: Vec<(Span, MatchPat)> = items.iter().map(|p| (p.span(), p.clone())).collect();
                let parts = self.positional(&items, &ts, *span, "the tuple");
                let tys = ts.iter().cloned().chain(std::iter::repeat(Ty::Error));
                TPat::Tuple(parts.into_iter().zip(tys).map(|(p, t)| self.pattern(&p, &t, binds)).collect())
            }
            MatchPat::Variant(ename, vname, fields, _, span) if ename == "Option" => {
                let inner = self.fresh_infer();
                if !self.unify(ty, &Ty::Option(Box::new(inner))) {
                    self.pattern_mismatch(*span, ty, "an Option");
                    return TPat::Wild;
                }
                let inner = match self.find(ty) {
                    Ty::Option(t) => *t,
                    _ => Ty::Error,
                };
                match (vname.as_str(), fields) {
                    ("None", VariantFields::Unit) => TPat::Variant(0, Vec::new()),
                    ("Some", VariantFields::Tuple(items)) => {
                        let parts = self.positional(items, std::slice::from_ref(&inner), *span, "`Some`");
                        let tys = std::iter::once(inner).chain(std::iter::repeat(Ty::Error));
                        TPat::Variant(
                            1,
                            parts.into_iter().zip(tys).map(|(p, t)| self.pattern(&p, &t, binds)).collect(),
                        )
                    }
                    _ => {
                        self.err(
                            Diagnostic::new(*span, "this pattern is not supported")
                                .with_help("write `Some(x)` or `None`"),
                        );
                        TPat::Wild
                    }
                }
            }
            MatchPat::Variant(ename, vname, fields, rest, span) => {
                if !self.enum_defs.contains_key(ename) {
                    if matches!(fields, VariantFields::Unit) {
                        // `u8::MAX` and the like.
                        let e = Expr {
                            kind: ExprKind::Assoc { ty: ename.clone(), member: vname.clone() },
                            span: *span,
                            ty: (),
                        };
                        return self.int_pattern(Some(&e), Some(&e), true, ty, *span);
                    }
                    self.err(Diagnostic::new(*span, format!("unknown enum `{ename}`")));
                    return TPat::Wild;
                }
                let ety = Ty::Enum(ename.clone());
                if !self.unify(ty, &ety) {
                    self.pattern_mismatch(*span, ty, ename);
                    return TPat::Wild;
                }
                let Some((k, v)) = self.find_variant(ename, vname, *span) else { return TPat::Wild };
                let path = format!("{ename}::{vname}");
                let ts: Vec<Ty> = v.fields.iter().map(|(_, t)| t.clone()).collect();
                let parts: Vec<MatchPat> = match fields {
                    VariantFields::Unit if v.fields.is_empty() => Vec::new(),
                    VariantFields::Unit => {
                        let help = if v.named {
                            format!("write `{path} {{ .. }}`")
                        } else {
                            format!("write `{path}({})` or `{path}(..)`", vec!["_"; ts.len()].join(", "))
                        };
                        self.err(Diagnostic::new(*span, format!("`{path}` has fields")).with_help(help));
                        return TPat::Wild;
                    }
                    VariantFields::Tuple(items) if !v.named => {
                        self.positional(items, &ts, *span, &format!("`{path}`"))
                    }
                    VariantFields::Named(items) if v.named => {
                        self.named_parts(&format!("`{path}`"), items, &v.fields, *rest, *span)
                    }
                    VariantFields::Tuple(_) | VariantFields::Named(_) if v.fields.is_empty() => {
                        self.err(
                            Diagnostic::new(*span, format!("`{path}` has no fields"))
                                .with_help(format!("write `{path}`")),
                        );
                        return TPat::Wild;
                    }
                    VariantFields::Tuple(_) => {
                        self.err(
                            Diagnostic::new(*span, format!("`{path}` has named fields"))
                                .with_help(format!("write `{path} {{ .. }}`")),
                        );
                        return TPat::Wild;
                    }
                    VariantFields::Named(_) => {
                        self.err(
                            Diagnostic::new(*span, format!("`{path}` has fields by position"))
                                .with_help(format!("write `{path}(..)`")),
                        );
                        return TPat::Wild;
                    }
                };
                let tys = ts.iter().cloned().chain(std::iter::repeat(Ty::Error));
                TPat::Variant(
                    k,
                    parts.into_iter().zip(tys).map(|(p, t)| self.pattern(&p, &t, binds)).collect(),
                )
            }
            MatchPat::Struct(name, fields, rest, span) => {
                if !self.struct_defs.contains_key(name) {
                    let help = if self.enum_defs.is_empty() {
                        "a struct's pattern names a declared struct: `S { x, .. }`, `S(a, b)`".to_owned()
                    } else {
                        "match an enum's variant by its path, `Enum::Variant(…)`".to_owned()
                    };
                    self.err(Diagnostic::new(*span, format!("unknown struct `{name}`")).with_help(help));
                    return TPat::Wild;
                }
                if !self.unify(ty, &Ty::Struct(name.clone())) {
                    self.pattern_mismatch(*span, ty, &format!("the struct {name}"));
                    return TPat::Wild;
                }
                let Some(declared) = self.struct_fields(name, *span) else { return TPat::Wild };
                let ts: Vec<Ty> = declared.iter().map(|(_, t)| t.clone()).collect();
                let tuple_struct = declared.first().is_some_and(|(f, _)| f == "0");
                let parts = match fields {
                    VariantFields::Tuple(items) if tuple_struct => {
                        self.positional(items, &ts, *span, &format!("`{name}`"))
                    }
                    VariantFields::Named(items) => {
                        self.named_parts(&format!("the struct `{name}`"), items, &declared, *rest, *span)
                    }
                    VariantFields::Tuple(_) | VariantFields::Unit => {
                        let names: Vec<&str> = declared.iter().map(|(f, _)| f.as_str()).collect();
                        self.err(
                            Diagnostic::new(*span, format!("the struct `{name}` has named fields"))
                                .with_help(format!("write `{name} {{ {} }}`", names.join(", "))),
                        );
                        return TPat::Wild;
                    }
                };
                let tys = ts.into_iter().chain(std::iter::repeat(Ty::Error));
                TPat::Tuple(parts.into_iter().zip(tys).map(|(p, t)| self.pattern(&p, &t, binds)).collect())
            }
            MatchPat::Or(alts, span) => {
                let mut out = Vec::with_capacity(alts.len());
                for a in alts {
                    let mut inner = Vec::new();
                    out.push(self.pattern(a, ty, &mut inner));
                    if !inner.is_empty() {
                        self.err(
                            Diagnostic::new(*span, "names bound inside a `|` pattern are not supported")
                                .with_help(
                                    "write one arm per alternative, or match with `_` and use the value",
                                ),
                        );
                    }
                }
                TPat::Or(out)
            }
        }
    }

    /// The patterns of fields by name (of a variant or a struct, `what`),
    /// in declaration order; fields not named are `_` if `rest` (`..`).
    fn named_parts(
        &mut self,
        what: &str,
        items: &[(String, (Span, MatchPat))],
        fields: &[(String, Ty)],
        rest: bool,
        span: Span,
    ) -> Vec<MatchPat> {
        let mut parts = vec![MatchPat::Wild(span); fields.len()];
        let mut seen = Vec::new();
        for (f, (fspan, p)) in items {
            match fields.iter().position(|(g, _)| g == f) {
                Some(i) if !seen.contains(&i) => {
                    seen.push(i);
                    parts[i] = p.clone();
                }
                Some(_) => self.err(Diagnostic::new(*fspan, format!("field `{f}` is matched twice"))),
                None => self.err(Diagnostic::new(*fspan, format!("{what} has no field `{f}`"))),
            }
        }
        let missing: Vec<&str> = fields
            .iter()
            .enumerate()
            .filter(|(i, _)| !seen.contains(i))
            .map(|(_, (f, _))| f.as_str())
            .collect();
        if !rest && !missing.is_empty() {
            self.err(
                Diagnostic::new(span, format!("pattern does not mention field(s) {}", missing.join(", ")))
                    .with_help("name them, or end the list with `..`"),
            );
        }
        parts
    }

    /// The patterns of fields by position, `..` standing for the rest.
    fn positional(&mut self, items: &[(Span, MatchPat)], ts: &[Ty], span: Span, what: &str) -> Vec<MatchPat> {
        let rests = items.iter().filter(|(_, p)| matches!(p, MatchPat::Rest(_))).count();
        if rests > 1 {
            self.err(Diagnostic::new(span, "`..` can appear once in a pattern"));
            return vec![MatchPat::Wild(span); ts.len()];
        }
        if rests == 0 && items.len() != ts.len() || rests == 1 && items.len() - 1 > ts.len() {
            let msg =
                format!("this pattern has {} field(s), but {what} has {}", items.len() - rests, ts.len());
            self.err(Diagnostic::new(span, msg));
            // Still bind the names (as errors), to report nothing more.
            return items
                .iter()
                .filter(|(_, p)| !matches!(p, MatchPat::Rest(_)))
                .map(|(_, p)| p.clone())
                .collect();
        }
        let mut out = Vec::with_capacity(ts.len());
        for (_, p) in items {
            if let MatchPat::Rest(s) = p {
                let n = ts.len() + 1 - items.len();
                out.extend(std::iter::repeat_n(MatchPat::Wild(*s), n));
            } else {
                out.push(p.clone());
            }
        }
        out
    }

    fn pattern_mismatch(&mut self, span: Span, ty: &Ty, found: &str) {
        let msg = format!("mismatched types: the value is {}, this pattern is {found}", self.show(ty));
        self.err(Diagnostic::new(span, msg));
    }

    /// A literal, a constant or a range (bounds absent: the type's ends;
    /// `hi` excluded unless `inclusive`) on an integer value.
    fn int_pattern(
        &mut self,
        lo: Option<&Expr<()>>,
        hi: Option<&Expr<()>>,
        inclusive: bool,
        ty: &Ty,
        span: Span,
    ) -> TPat {
        let suffix = [lo, hi].into_iter().flatten().find_map(|e| match &e.kind {
            ExprKind::Int { suffix: Some(s), .. } => int_type_by_name(s),
            _ => None,
        });
        if let (Ty::Var(_), Some(Type::Int { signed, bits })) = (self.find(ty), suffix) {
            self.unify(ty, &Ty::Int { signed, bits });
        }
        let (signed, bits) = match self.find(ty) {
            Ty::Int { signed, bits } => (signed, bits),
            Ty::Var(_) => {
                self.unify(ty, &Ty::Int { signed: true, bits: 32 });
                (true, 32)
            }
            Ty::Error | Ty::Never => return TPat::Wild,
            other => {
                let shown = self.show(&other);
                let msg = format!("an integer pattern cannot match a value of type {shown}");
                let help = match other {
                    Ty::Fixed { .. } => "compare fixed-point numbers with `if` instead",
                    _ => "match it with `_`, a name, or a pattern of its type",
                };
                self.err(Diagnostic::new(span, msg).with_help(help));
                return TPat::Wild;
            }
        };
        let lo_key = match lo {
            Some(e) => match self.pattern_key(e, signed, bits) {
                Some(k) => k,
                None => return TPat::Wild,
            },
            None => 0,
        };
        let mut hi_key = match hi {
            Some(e) => match self.pattern_key(e, signed, bits) {
                Some(k) => k,
                None => return TPat::Wild,
            },
            None => max_key(bits),
        };
        if !inclusive && hi.is_some() {
            if hi_key == 0 || hi_key <= lo_key {
                self.err(
                    Diagnostic::new(span, "this range is empty")
                        .with_help("write `lo..hi` with lo < hi, or `lo..=hi`"),
                );
                return TPat::Wild;
            }
            hi_key -= 1;
        }
        if lo_key > hi_key {
            self.err(
                Diagnostic::new(span, "this range is empty: its start is past its end")
                    .with_help("write `lo..=hi` with lo <= hi"),
            );
            return TPat::Wild;
        }
        TPat::Int(lo_key, hi_key)
    }

    /// The key of a literal, constant or `u8::MAX` in a pattern.
    fn pattern_key(&mut self, e: &Expr<()>, signed: bool, bits: u32) -> Option<u128> {
        let (negative, magnitude) = match &e.kind {
            ExprKind::Int { negative, value, .. } => (*negative, *value),
            ExprKind::Assoc { ty, member } => match self.assoc_const(ty, member, e.span)? {
                ExprKind::Int { negative, value, .. } => (negative, value),
                _ => {
                    self.err(Diagnostic::new(e.span, "fixed-point patterns are not supported"));
                    return None;
                }
            },
            ExprKind::Var(name) if self.consts.contains_key(name) => {
                let v = self.const_int(e, 0)?;
                (v < 0, v.unsigned_abs())
            }
            ExprKind::Var(name) => {
                self.err(
                    Diagnostic::new(e.span, format!("`{name}` is not a constant"))
                        .with_help("a range's bounds are literals or `const` items"),
                );
                return None;
            }
            _ => {
                self.err(Diagnostic::new(e.span, "this pattern is not supported"));
                return None;
            }
        };
        if !literal_fits(negative, magnitude, signed, bits) {
            let shown = if negative { format!("-{magnitude}") } else { magnitude.to_string() };
            let t = Type::Int { signed, bits };
            self.err(Diagnostic::new(
                e.span,
                format!(
                    "literal out of range: {shown} does not fit in {t} ({})",
                    int_range_text(signed, bits)
                ),
            ));
            return None;
        }
        Some(int_key(negative, magnitude, signed, bits))
    }
}

impl Checker {
    /// `o.unwrap_or(d)`, `o.is_some()`, `o.is_none()` on an `Option`.
    pub(crate) fn option_method(&mut self, name: String, args: Vec<Expr<Ty>>, span: Span) -> Expr<Ty> {
        let inner = self.fresh_infer();
        let opt = Ty::Option(Box::new(inner.clone()));
        if !self.unify(&args[0].ty, &opt) {
            let shown = self.show(&args[0].ty);
            let method = name.trim_start_matches("__");
            self.err(
                Diagnostic::new(args[0].span, format!("`{method}` is a method of Option, not of {shown}"))
                    .with_help("build an Option with `Some(x)` or `None`"),
            );
            return Self::typed(ExprKind::Call(name, args), span, Ty::Error);
        }
        let ty = if name == "__unwrap_or" {
            if let Some(d) = args.get(1) {
                if !self.unify(&d.ty, &inner) {
                    self.mismatch(d.span, &inner, &d.ty);
                }
            }
            inner
        } else {
            Ty::Bool
        };
        Self::typed(ExprKind::Call(name, args), span, ty)
    }
}

// ----- exhaustiveness ----------------------------------------------------------------

/// A constructor of a type, for [`missing`].
#[derive(Clone, Debug)]
enum Ctor {
    Bool(bool),
    /// A segment of keys.
    Int(u128, u128),
    /// The one constructor of a tuple or struct.
    Single,
    /// An enum's variant by index.
    Variant(usize),
}

/// The types of a constructor's fields.
fn ctor_fields(ty: &Type, c: &Ctor) -> Vec<Type> {
    match (ty, c) {
        (Type::Tuple(ts), Ctor::Single) => ts.clone(),
        (Type::Struct { fields, .. }, Ctor::Single) => fields.iter().map(|(_, t)| t.clone()).collect(),
        (Type::Enum { variants, .. }, Ctor::Variant(k)) => {
            variants.get(*k).map(|v| v.fields.iter().map(|(_, t)| t.clone()).collect()).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// Whether the head pattern `p` (not a wildcard, not `|`) is built by `c`.
fn covers(p: &TPat, c: &Ctor) -> bool {
    match (p, c) {
        (TPat::Bool(a), Ctor::Bool(b)) => a == b,
        (TPat::Int(lo, hi), Ctor::Int(a, b)) => lo <= a && b <= hi,
        (TPat::Tuple(_), Ctor::Single) => true,
        (TPat::Variant(i, _), Ctor::Variant(k)) => i == k,
        _ => false,
    }
}

/// `|` alternatives at the head of each row spread into rows; bindings are wildcards.
fn expand(rows: &[Vec<TPat>]) -> Vec<Vec<TPat>> {
    let mut out = Vec::new();
    let mut stack: Vec<Vec<TPat>> = rows.iter().rev().cloned().collect();
    while let Some(row) = stack.pop() {
        match row.first() {
            Some(TPat::Or(alts)) => {
                for a in alts.iter().rev() {
                    let mut r = row.clone();
                    r[0] = a.clone();
                    stack.push(r);
                }
            }
            Some(TPat::Bind(_)) => {
                let mut r = row;
                r[0] = TPat::Wild;
                out.push(r);
            }
            _ => out.push(row),
        }
    }
    out
}

/// How a constructor is written, given its fields' witnesses.
fn show_ctor(ty: &Type, c: &Ctor, fields: &[String]) -> String {
    match (ty, c) {
        (_, Ctor::Bool(b)) => b.to_string(),
        (Type::Int { signed, bits }, Ctor::Int(lo, hi)) => {
            if lo == hi {
                key_text(*lo, *signed, *bits)
            } else {
                format!("{}..={}", key_text(*lo, *signed, *bits), key_text(*hi, *signed, *bits))
            }
        }
        (Type::Enum { name, variants }, Ctor::Variant(k)) => {
            let Some(v) = variants.get(*k) else { return "_".into() };
            let path =
                if ty.option_inner().is_some() { v.name.clone() } else { format!("{name}::{}", v.name) };
            if v.fields.is_empty() {
                path
            } else if v.named {
                if fields.iter().all(|f| f == "_") {
                    format!("{path} {{ .. }}")
                } else {
                    let parts: Vec<String> =
                        v.fields.iter().zip(fields).map(|((f, _), w)| format!("{f}: {w}")).collect();
                    format!("{path} {{ {} }}", parts.join(", "))
                }
            } else {
                format!("{path}({})", fields.join(", "))
            }
        }
        (Type::Struct { name, fields: declared }, Ctor::Single) => {
            if ty.is_tuple_struct() {
                format!("{name}({})", fields.join(", "))
            } else {
                let parts: Vec<String> = declared
                    .iter()
                    .zip(fields)
                    .filter(|(_, w)| *w != "_")
                    .map(|((f, _), w)| format!("{f}: {w}"))
                    .collect();
                match (parts.is_empty(), parts.len() < declared.len()) {
                    (true, _) => format!("{name} {{ .. }}"),
                    (false, true) => format!("{name} {{ {}, .. }}", parts.join(", ")),
                    (false, false) => format!("{name} {{ {} }}", parts.join(", ")),
                }
            }
        }
        _ => {
            if fields.len() == 1 {
                format!("({},)", fields[0])
            } else {
                format!("({})", fields.join(", "))
            }
        }
    }
}

/// A list of values (one per column, as patterns) that no row matches, or
/// `None` if the rows cover every value of `tys`. `budget` bounds the work
/// (when it runs out, the rows count as covering).
fn missing(rows: &[Vec<TPat>], tys: &[Type], budget: &mut u32) -> Option<Vec<String>> {
    let Some((ty, rest)) = tys.split_first() else {
        return if rows.is_empty() { Some(Vec::new()) } else { None };
    };
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    let rows = expand(rows);
    let heads: Vec<&TPat> = rows.iter().filter_map(|r| r.first()).filter(|p| **p != TPat::Wild).collect();
    let ctors: Vec<Ctor> = match ty {
        Type::Bool => vec![Ctor::Bool(false), Ctor::Bool(true)],
        Type::Int { bits, .. } => {
            let mut cuts = vec![0u128];
            for p in &heads {
                if let TPat::Int(lo, hi) = p {
                    cuts.push(*lo);
                    if *hi < max_key(*bits) {
                        cuts.push(hi + 1);
                    }
                }
            }
            cuts.sort_unstable();
            cuts.dedup();
            let mut segs = Vec::with_capacity(cuts.len());
            for (k, &c) in cuts.iter().enumerate() {
                let end = cuts.get(k + 1).map_or(max_key(*bits), |n| n - 1);
                segs.push(Ctor::Int(c, end));
            }
            segs
        }
        Type::Tuple(_) | Type::Struct { .. } => vec![Ctor::Single],
        Type::Enum { variants, .. } => (0..variants.len()).map(Ctor::Variant).collect(),
        _ => Vec::new(),
    };
    let unused = ctors.iter().find(|c| !heads.iter().any(|p| covers(p, c)));
    if ctors.is_empty() || unused.is_some() || heads.is_empty() {
        // Some constructor appears in no head: the rows with a wildcard head decide.
        let default: Vec<Vec<TPat>> =
            rows.iter().filter(|r| r.first() == Some(&TPat::Wild)).map(|r| r[1..].to_vec()).collect();
        let mut w = missing(&default, rest, budget)?;
        let head = match unused {
            Some(c) if !heads.is_empty() => {
                let n = ctor_fields(ty, c).len();
                show_ctor(ty, c, &vec!["_".to_owned(); n])
            }
            _ => "_".to_owned(),
        };
        w.insert(0, head);
        return Some(w);
    }
    for c in &ctors {
        let fields = ctor_fields(ty, c);
        let n = fields.len();
        let spec: Vec<Vec<TPat>> = rows
            .iter()
            .filter_map(|r| {
                let (h, tail) = r.split_first()?;
                let mut out = match h {
                    TPat::Wild => vec![TPat::Wild; n],
                    p if covers(p, c) => match p {
                        TPat::Tuple(ps) | TPat::Variant(_, ps) => ps.clone(),
                        _ => Vec::new(),
                    },
                    _ => return None,
                };
                out.extend_from_slice(tail);
                Some(out)
            })
            .collect();
        let mut tys2 = fields;
        tys2.extend_from_slice(rest);
        if let Some(mut w) = missing(&spec, &tys2, budget) {
            let tail = w.split_off(n.min(w.len()));
            let mut out = vec![show_ctor(ty, c, &w)];
            out.extend(tail);
            return Some(out);
        }
    }
    None
}
