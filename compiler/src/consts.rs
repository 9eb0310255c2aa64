//! Program constants set from outside the source (`garblet … --const
//! N=100000`): one program serves any data-set size.
//!
//! An override replaces the value of a `const` item before type checking,
//! as if the source said `const N: usize = 100000;`. Only integer,
//! fixed-point and `bool` constants can be set; the value must fit the
//! declared type (a fixed-point value is rounded to the nearest the type
//! holds, as its literals are), and
//! an override of a name the program does not declare is an error naming
//! the constants it does declare. What was set is kept in
//! [`crate::Program::consts`] so that a session can bind it into what the
//! hello compares.

use crate::ast::{ConstDef, Expr, ExprKind, TypeExpr, Untyped};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::fixed::{DecimalError, Format, MAX_DIGITS};
use crate::types::{fixed_type_by_name, int_type_by_name, Type};

/// Replaces the value of each `const` named in `overrides` by the literal
/// given. Returns the overrides in canonical form (decimal integers, the
/// exact decimal value of a fixed-point one, or `true`/`false`), in the
/// order given, or every error found.
pub(crate) fn apply(
    program: &mut Untyped,
    overrides: &[(String, String)],
) -> Result<Vec<(String, String)>, Diagnostics> {
    let mut errors = Vec::new();
    let mut applied: Vec<(String, String)> = Vec::new();
    for (name, text) in overrides {
        if applied.iter().any(|(n, _)| n == name) {
            errors.push(Diagnostic::new(Span::new(0, 0), format!("--const {name} is given twice")));
            continue;
        }
        let Some(item) = program.consts.iter_mut().find(|k| &k.name == name) else {
            errors.push(unknown(name, &program.consts));
            continue;
        };
        match literal(item, text.trim()) {
            Ok((kind, canonical)) => {
                let span = item.value.span;
                item.value = Expr { kind, span, ty: () };
                applied.push((name.clone(), canonical));
            }
            Err(message) => errors.push(
                Diagnostic::new(item.span, format!("--const {name}={text}: {message}"))
                    .with_help("the value must fit the constant's declared type"),
            ),
        }
    }
    if errors.is_empty() {
        return Ok(applied);
    }
    let mut all = Diagnostics::new();
    for e in errors {
        all.push(e);
    }
    Err(all)
}

fn unknown(name: &str, consts: &[ConstDef<()>]) -> Diagnostic {
    // Shown at the program's first constant (the file's start if it has
    // none): the line the help's list begins with.
    let at = consts.first().map_or(Span::new(0, 0), |k| k.span);
    let d = Diagnostic::new(at, format!("--const {name}: the program has no `const {name}`"));
    if consts.is_empty() {
        d.with_help("the program declares no constants; add `const NAME: usize = …;` to set one from outside")
    } else {
        let names: Vec<String> = consts.iter().map(|k| format!("`{}`", k.name)).collect();
        d.with_help(format!("its constants are {}", names.join(", ")))
    }
}

/// The literal `text` stands for as a value of `item`'s declared type.
fn literal(item: &ConstDef<()>, text: &str) -> Result<(ExprKind<()>, String), String> {
    let TypeExpr::Named(ty, _) = &item.ty else {
        return Err("only integer, fixed-point and bool constants can be set from the command line".into());
    };
    if ty == "bool" {
        return match text {
            "true" | "1" => Ok((ExprKind::Bool(true), "true".into())),
            "false" | "0" => Ok((ExprKind::Bool(false), "false".into())),
            _ => Err(format!("`{text}` is not a bool (write true or false)")),
        };
    }
    if let Some(fixed) = fixed_type_by_name(ty) {
        return fixed_literal(&fixed, text);
    }
    let Some(Type::Int { signed, bits }) = int_type_by_name(ty) else {
        return Err(format!(
            "only integer, fixed-point and bool constants can be set; `{}` is {ty}",
            item.name
        ));
    };
    let (negative, magnitude) = parse_integer(text)?;
    let max_positive = if signed { (1u128 << (bits - 1)) - 1 } else { u128::MAX >> (128 - bits) };
    let max_negative = if signed { 1u128 << (bits - 1) } else { 0 };
    let fits = if negative { magnitude <= max_negative } else { magnitude <= max_positive };
    if !fits {
        return Err(format!("{text} does not fit in {ty}"));
    }
    let negative = negative && magnitude != 0;
    let canonical = if negative { format!("-{magnitude}") } else { magnitude.to_string() };
    Ok((ExprKind::Int { negative, value: magnitude, suffix: None }, canonical))
}

/// A decimal as a value of the fixed-point type `ty`: the literal of its
/// exact value (rounded to nearest, ties to even), which is also its
/// canonical form.
fn fixed_literal(ty: &Type, text: &str) -> Result<(ExprKind<()>, String), String> {
    let Some(format) = Format::of(ty) else { return Err(format!("{ty} is not a fixed-point type")) };
    let raw = format.parse(text).map_err(|e| match e {
        DecimalError::OutOfRange => format!("{text} does not fit in {ty} ({})", format.range_text()),
        DecimalError::Malformed => format!("`{text}` is not a decimal number"),
        DecimalError::TooLong => format!("a number of more than {MAX_DIGITS} digits is not a value of {ty}"),
    })?;
    let canonical = format.display(raw);
    let (negative, magnitude) = match canonical.strip_prefix('-') {
        Some(m) => (true, m.to_owned()),
        None => (false, canonical.clone()),
    };
    Ok((ExprKind::Decimal { negative, text: magnitude, suffix: None }, canonical))
}

/// A decimal, `0x` hexadecimal or `0b` binary integer with an optional
/// sign and `_` separators, as sign and magnitude.
fn parse_integer(text: &str) -> Result<(bool, u128), String> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, digits) = if let Some(h) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
        (16, h)
    } else if let Some(b) = rest.strip_prefix("0b").or_else(|| rest.strip_prefix("0B")) {
        (2, b)
    } else {
        (10, rest)
    };
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        return Err(format!("`{text}` is not an integer"));
    }
    match u128::from_str_radix(&digits, radix) {
        Ok(v) => Ok((negative, v)),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("{text} does not fit in 128 bits"))
        }
        Err(_) => Err(format!("`{text}` is not an integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_integer;

    #[test]
    fn integers_parse_as_rust_writes_them() {
        assert_eq!(parse_integer("100_000"), Ok((false, 100_000)));
        assert_eq!(parse_integer("-0x80"), Ok((true, 128)));
        assert_eq!(parse_integer("0b101"), Ok((false, 5)));
        assert_eq!(parse_integer(&u128::MAX.to_string()), Ok((false, u128::MAX)));
        assert!(parse_integer("340282366920938463463374607431768211456").unwrap_err().contains("128 bits"));
        assert!(parse_integer("12a").is_err());
        assert!(parse_integer("-").is_err());
        assert!(parse_integer("").is_err());
    }
}
