//! Stage 1, scanning: source text → [`Token`]s. Comments (`//`, nested
//! `/* */`) and whitespace are dropped. Unknown characters, string and
//! character literals are reported (all of them) and skipped. A number with
//! a fraction or an exponent (`0.75`, `1e-3`) is a decimal literal, whose
//! fixed-point type the checker infers; right after a `.` a number is a
//! tuple index (`t.0.1`), never a decimal.

use crate::diag::{Diagnostic, Diagnostics, Span};

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An identifier or keyword (keywords are told apart by the parser).
    Ident(String),
    /// An integer literal: its value and optional type suffix (`10u8`).
    Int {
        /// The value (literals are never negative; `-` is an operator).
        value: u128,
        /// The suffix, e.g. `"u8"`.
        suffix: Option<String>,
    },
    /// A decimal literal (`0.75`, `2.5e-3`) as written, without `_`.
    Decimal(String),
    /// Punctuation or an operator, e.g. `"+="`.
    Punct(&'static str),
    /// End of input.
    Eof,
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// The token.
    pub tok: Tok,
    /// Its source span.
    pub span: Span,
}

/// Longest first, so that `<<=` wins over `<<` and `<`.
const PUNCTS: &[&str] = &[
    "<<=", ">>=", "...", "..=", "::", "->", "=>", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=",
    "%=", "^=", "&=", "|=", "<<", ">>", "..", "(", ")", "[", "]", "{", "}", ",", ";", ":", ".", "#", "!",
    "+", "-", "*", "/", "%", "^", "&", "|", "<", ">", "=", "?", "@", "$", "~",
];

/// Scans `source` into tokens ending with [`Tok::Eof`], or every lexical error.
pub(crate) fn scan(source: &str) -> Result<Vec<Token>, Diagnostics> {
    let mut tokens = Vec::new();
    let mut errors = Diagnostics::new();
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if bytes[i..].starts_with(b"//") {
            // Byte comparisons: a comment may hold any UTF-8, and `i` steps
            // through it a byte at a time, so it is not always on a char
            // boundary (slicing `source` there would panic).
            i = bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |k| i + k);
        } else if bytes[i..].starts_with(b"/*") {
            let mut depth = 0usize;
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            if depth > 0 {
                errors.push(
                    Diagnostic::new(Span::new(start, start + 2), "unterminated block comment")
                        .with_help("close it with `*/`"),
                );
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token { tok: Tok::Ident(source[start..i].to_owned()), span: Span::new(start, i) });
        } else if c.is_ascii_digit() {
            let after_dot = matches!(tokens.last(), Some(Token { tok: Tok::Punct("."), .. }));
            i = scan_number(source, i, after_dot, &mut tokens, &mut errors);
        } else if let Some(end) = label_end(bytes, i) {
            // `'outer` (a loop label or a lifetime): one error for the
            // label alone, so that scanning goes on right after it.
            let after_exit = matches!(
                tokens.last(),
                Some(Token { tok: Tok::Ident(w), .. }) if w == "break" || w == "continue"
            );
            let (msg, help) = if after_exit {
                (
                    "labelled `break` and `continue` are not supported",
                    "`break` and `continue` apply to the innermost loop: to leave an outer loop, set a `mut` flag before `break`, and after the inner loop `break` again if it is set",
                )
            } else if bytes[end..].starts_with(b":") {
                ("loop labels are not supported", "`break` and `continue` apply to the innermost loop")
            } else {
                ("lifetimes are not supported", "garblet programs have no references")
            };
            errors.push(Diagnostic::new(Span::new(start, end), msg).with_help(help));
            i = end;
        } else if c == b'"' || c == b'\'' {
            // Skip to the closing quote (or the end of the line) to resync.
            i += 1;
            while i < bytes.len() && bytes[i] != c && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            let what = if c == b'"' { "string literals are" } else { "character literals and lifetimes are" };
            errors.push(
                Diagnostic::new(Span::new(start, i), format!("{what} not supported"))
                    .with_help("garblet programs compute on booleans and integers only"),
            );
        } else if let Some(p) = PUNCTS.iter().find(|p| bytes[i..].starts_with(p.as_bytes())) {
            i += p.len();
            tokens.push(Token { tok: Tok::Punct(p), span: Span::new(start, i) });
        } else {
            let ch = source[i..].chars().next().unwrap_or('?');
            i += ch.len_utf8();
            errors.push(Diagnostic::new(Span::new(start, i), format!("unexpected character `{ch}`")));
        }
    }
    tokens.push(Token { tok: Tok::Eof, span: Span::new(bytes.len(), bytes.len()) });
    if errors.is_empty() {
        Ok(tokens)
    } else {
        Err(errors)
    }
}

/// Scans an integer or decimal literal starting at `i` (a digit); returns
/// the index after it. `after_dot`: the previous token is `.`, so this is a
/// tuple index (an integer) whatever follows.
fn scan_number(
    source: &str,
    start: usize,
    after_dot: bool,
    tokens: &mut Vec<Token>,
    errors: &mut Diagnostics,
) -> usize {
    let bytes = source.as_bytes();
    let mut i = start;
    let radix = match source.get(i..i + 2) {
        Some("0x") | Some("0X") => 16,
        Some("0b") | Some("0B") => 2,
        Some("0o") | Some("0O") => 8,
        _ => 10,
    };
    if radix != 10 {
        i += 2;
    }
    let digits_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_hexdigit() || bytes[i] == b'_') {
        // In decimal, stop at any letter (`e` may start an exponent, making
        // a decimal literal); hex digits include a-f, so only decimal needs care.
        if radix == 10 && !bytes[i].is_ascii_digit() && bytes[i] != b'_' {
            break;
        }
        if radix == 16 && (bytes[i] == b'i' || bytes[i] == b'u') {
            break;
        }
        i += 1;
    }
    let digits: String = source[digits_start..i].chars().filter(|&c| c != '_').collect();
    // A decimal: `1.5` or `1e3` (but `1..5` is a range and `t.0.1` a field).
    if radix == 10 && !after_dot {
        let fraction = bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if fraction || exponent_end(bytes, i).is_some() {
            return scan_decimal(source, start, i, tokens, errors);
        }
    }
    let suffix_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    let suffix = &source[suffix_start..i];
    let span = Span::new(start, i);
    if let Some(bad) = digits.chars().find(|c| !c.is_digit(radix)) {
        errors.push(Diagnostic::new(span, format!("invalid digit `{bad}` in a base-{radix} literal")));
        return i;
    }
    let value = if digits.is_empty() { None } else { u128::from_str_radix(&digits, radix).ok() };
    match value {
        None if digits.is_empty() => {
            errors.push(Diagnostic::new(span, "an integer literal needs digits"));
        }
        None => errors.push(
            Diagnostic::new(span, "integer literal is too large")
                .with_help("the largest integer is u128::MAX = 340282366920938463463374607431768211455"),
        ),
        Some(value) => {
            let suffix = if suffix.is_empty() {
                None
            } else if crate::types::int_type_by_name(suffix).is_some() {
                Some(suffix.to_owned())
            } else {
                errors.push(
                    Diagnostic::new(
                        Span::new(suffix_start, i),
                        format!("invalid suffix `{suffix}` for an integer literal"),
                    )
                    .with_help("the suffixes are u8 u16 u32 u64 u128 i8 i16 i32 i64 i128"),
                );
                None
            };
            tokens.push(Token { tok: Tok::Int { value, suffix }, span });
        }
    }
    i
}

/// The end of an exponent `e3`, `E-7`, `e+1_0` starting at `at`, if one does.
fn exponent_end(bytes: &[u8], at: usize) -> Option<usize> {
    if !matches!(bytes.get(at), Some(b'e' | b'E')) {
        return None;
    }
    let mut k = at + 1;
    if matches!(bytes.get(k), Some(b'+' | b'-')) {
        k += 1;
    }
    if !bytes.get(k).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    while k < bytes.len() && (bytes[k].is_ascii_digit() || bytes[k] == b'_') {
        k += 1;
    }
    Some(k)
}

/// Scans a decimal literal from `start`, whose integer digits end at `i`:
/// a fraction `.digits`, an exponent, then no suffix (a decimal's type
/// comes from context). Returns the index after it.
fn scan_decimal(
    source: &str,
    start: usize,
    mut i: usize,
    tokens: &mut Vec<Token>,
    errors: &mut Diagnostics,
) -> usize {
    let bytes = source.as_bytes();
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
            i += 1;
        }
    }
    if let Some(end) = exponent_end(bytes, i) {
        i = end;
    }
    let suffix_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    let help = "a decimal literal is a fixed-point number whose type comes from context, e.g. `let x: I16F16 = 1.5;`";
    let suffix = &source[suffix_start..i];
    if !suffix.is_empty() {
        let d = if matches!(suffix, "f32" | "f64") {
            Diagnostic::new(Span::new(start, i), "floating-point numbers are not supported")
        } else {
            Diagnostic::new(
                Span::new(suffix_start, i),
                format!("invalid suffix `{suffix}` for a decimal literal"),
            )
        };
        errors.push(d.with_help(help));
        return i;
    }
    let text: String = source[start..i].chars().filter(|&c| c != '_').collect();
    if text.bytes().filter(u8::is_ascii_digit).count() > crate::fixed::MAX_DIGITS {
        errors.push(Diagnostic::new(
            Span::new(start, i),
            format!("a decimal literal of more than {} digits", crate::fixed::MAX_DIGITS),
        ));
        return i;
    }
    tokens.push(Token { tok: Tok::Decimal(text), span: Span::new(start, i) });
    i
}

/// The end of a label or lifetime (`'outer`, not a character literal such
/// as `'a'`) starting at `i`, if one does.
fn label_end(bytes: &[u8], i: usize) -> Option<usize> {
    if bytes.get(i) != Some(&b'\'') {
        return None;
    }
    let first = *bytes.get(i + 1)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut end = i + 1;
    while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
        end += 1;
    }
    (bytes.get(end) != Some(&b'\'')).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        scan(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn scans_operators_longest_first() {
        assert_eq!(
            toks("a<<=b>>c..d"),
            vec![
                Tok::Ident("a".into()),
                Tok::Punct("<<="),
                Tok::Ident("b".into()),
                Tok::Punct(">>"),
                Tok::Ident("c".into()),
                Tok::Punct(".."),
                Tok::Ident("d".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn scans_literals_and_comments() {
        assert_eq!(
            toks("0xff_u8 /* a /* nested */ c */ 1_000 // x\n 0b101i32 0..3"),
            vec![
                Tok::Int { value: 255, suffix: Some("u8".into()) },
                Tok::Int { value: 1000, suffix: None },
                Tok::Int { value: 5, suffix: Some("i32".into()) },
                Tok::Int { value: 0, suffix: None },
                Tok::Punct(".."),
                Tok::Int { value: 3, suffix: None },
                Tok::Eof
            ]
        );
    }

    #[test]
    fn reports_every_bad_token() {
        let e = scan("1.5f64 \"s\" 12xyz 99999999999999999999999999999999999999999 2.5x").unwrap_err();
        assert_eq!(e.len(), 5);
    }

    #[test]
    fn scans_decimals_and_tuple_indices() {
        assert_eq!(
            toks("0.75 1_000.5 2e-3 1E+2 t.0.1 1..5 2.5.max"),
            vec![
                Tok::Decimal("0.75".into()),
                Tok::Decimal("1000.5".into()),
                Tok::Decimal("2e-3".into()),
                Tok::Decimal("1E+2".into()),
                Tok::Ident("t".into()),
                Tok::Punct("."),
                Tok::Int { value: 0, suffix: None },
                Tok::Punct("."),
                Tok::Int { value: 1, suffix: None },
                Tok::Int { value: 1, suffix: None },
                Tok::Punct(".."),
                Tok::Int { value: 5, suffix: None },
                Tok::Decimal("2.5".into()),
                Tok::Punct("."),
                Tok::Ident("max".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn comments_may_hold_any_utf8() {
        // Found by the compiler fuzz target (and the no-panic tests): a
        // multi-byte character inside a comment used to panic the scanner.
        for src in ["/* € */ fn", "/* é /* ü */ ß */ fn", "// €\nfn", "/* unterminated € ", "€"] {
            let _ = scan(src);
        }
        assert!(scan("/* € */ fn").is_ok());
        assert!(scan("// ünïcödé\nfn").is_ok());
    }
}
