//! Values in and out of a compiled program: JSON ↔ bits in the layout of
//! [`crate::types`].
//!
//! - integers: JSON numbers, read exactly from their text at every width
//!   (`18446744073709551616` is 2^64, not the nearest `f64`; serde_json's
//!   `arbitrary_precision` keeps the text). A number whose value is not whole
//!   (`4200000.00000000001`) is an error, never rounded; `5.0` and `4.2e6`
//!   are whole. Strings hold a decimal (`"-5"`), hex (`"0xff"`), octal
//!   (`"0o17"`) or binary (`"0b101"`) number;
//! - fixed point (`I16F16`, …): a JSON number or a string holding a
//!   decimal (`0.75`, `"-2.5e-3"`), rounded to the nearest value of the
//!   type, ties to even (as the `fixed` crate reads decimals); one that does
//!   not fit after rounding is an error;
//! - `bool`: `true`/`false`;
//! - arrays and tuples: JSON arrays;
//! - structs: JSON objects with every field; tuple structs arrays;
//! - enums: serde's externally tagged form: a variant without fields is
//!   its name (`"Red"`), one with a field is an object of one key
//!   (`{"Circle": 3}`), several fields by position an array
//!   (`{"Pair": [1, 2]}`), named fields an object
//!   (`{"Rect": {"w": 1, "h": 2}}`);
//! - `Option<T>`: `null` for `None`, the value itself for `Some`.
//!
//! [`Type::decode`] writes integers as JSON numbers when they fit in
//! `i64`/`u64`, else as decimal strings, and fixed-point values as JSON
//! numbers holding their exact decimal value (`0.0999908447265625`).

use crate::fixed::{DecimalError, Format, MAX_DIGITS};
use crate::types::{int_range_text, Type, Variant};
use serde_json::Value;

/// Why a JSON value is not a value of the type asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("at {path}: ") })]
pub struct ValueError {
    /// Where in the value, e.g. `[3].label` (empty at the top).
    pub path: String,
    /// What is wrong, e.g. `300 does not fit in u8 (0..=255)`.
    pub message: String,
}

impl ValueError {
    fn new(message: impl Into<String>) -> Self {
        ValueError { path: String::new(), message: message.into() }
    }

    fn within(mut self, step: &str) -> Self {
        self.path = format!("{step}{}", self.path);
        self
    }
}

impl Type {
    /// Encodes `value` as this type's bits (least significant first).
    pub fn encode(&self, value: &Value) -> Result<Vec<bool>, ValueError> {
        let mut out = Vec::with_capacity(self.width_u64().min(1 << 24) as usize);
        self.encode_into(value, &mut out)?;
        Ok(out)
    }

    fn encode_into(&self, value: &Value, out: &mut Vec<bool>) -> Result<(), ValueError> {
        match self {
            Type::Bool => match value {
                Value::Bool(b) => out.push(*b),
                other => {
                    return Err(ValueError::new(format!(
                        "expected `true` or `false` for bool, found {other}"
                    )))
                }
            },
            Type::Int { signed, bits } => {
                let (negative, magnitude) = parse_int(value, self)?;
                if !crate::types::literal_fits(negative, magnitude, *signed, *bits) {
                    let shown = if negative { format!("-{magnitude}") } else { magnitude.to_string() };
                    return Err(ValueError::new(format!(
                        "{shown} does not fit in {self} ({})",
                        int_range_text(*signed, *bits)
                    )));
                }
                let v = if negative { magnitude.wrapping_neg() } else { magnitude };
                out.extend((0..*bits).map(|k| (v >> k) & 1 == 1));
            }
            Type::Fixed { .. } => {
                let raw = parse_fixed(value, self)?;
                out.extend((0..self.width()).map(|k| (raw >> k) & 1 == 1));
            }
            Type::Array(elem, n) => {
                let items = match value {
                    Value::Array(items) => items,
                    other => {
                        return Err(ValueError::new(format!(
                            "expected an array of {n} for {self}, found {other}"
                        )))
                    }
                };
                if items.len() != *n as usize {
                    return Err(ValueError::new(format!(
                        "expected {n} elements for {self}, found {}",
                        items.len()
                    )));
                }
                for (k, item) in items.iter().enumerate() {
                    elem.encode_into(item, out).map_err(|e| e.within(&format!("[{k}]")))?;
                }
            }
            Type::Tuple(ts) => {
                let items = match value {
                    Value::Array(items) => items,
                    Value::Null if ts.is_empty() => return Ok(()),
                    other => {
                        return Err(ValueError::new(format!("expected an array for {self}, found {other}")))
                    }
                };
                if items.len() != ts.len() {
                    return Err(ValueError::new(format!(
                        "expected {} elements for {self}, found {}",
                        ts.len(),
                        items.len()
                    )));
                }
                for (k, (t, item)) in ts.iter().zip(items).enumerate() {
                    t.encode_into(item, out).map_err(|e| e.within(&format!(".{k}")))?;
                }
            }
            Type::Struct { fields, .. } if self.is_tuple_struct() && fields.len() == 1 => {
                // A newtype (`struct Score(I16F16)`): its array of one
                // (`[0.5]`), or its field's value, as serde writes it
                // (`0.5`; for `struct W([u8; 2])`, `[1, 2]`).
                let start = out.len();
                let as_array = match value {
                    Value::Array(items) if items.len() == 1 => fields[0].1.encode_into(&items[0], out),
                    _ => Err(ValueError::new(String::new())),
                };
                if as_array.is_err() {
                    out.truncate(start);
                    fields[0].1.encode_into(value, out).map_err(|e| e.within(".0"))?;
                }
            }
            Type::Struct { name, fields } if self.is_tuple_struct() => {
                if !value.is_array() {
                    return Err(ValueError::new(format!(
                        "expected an array of {} for the tuple struct {name}, found {value}",
                        fields.len()
                    )));
                }
                let tuple = Type::Tuple(fields.iter().map(|(_, t)| t.clone()).collect());
                tuple.encode_into(value, out)?;
            }
            Type::Struct { name, fields } => {
                let map = match value {
                    Value::Object(map) => map,
                    other => {
                        return Err(ValueError::new(format!("expected an object for {name}, found {other}")))
                    }
                };
                for key in map.keys() {
                    if !fields.iter().any(|(f, _)| f == key) {
                        return Err(ValueError::new(format!("{name} has no field `{key}`")));
                    }
                }
                for (f, t) in fields {
                    let v = map
                        .get(f)
                        .ok_or_else(|| ValueError::new(format!("missing field `{f}` of {name}")))?;
                    t.encode_into(v, out).map_err(|e| e.within(&format!(".{f}")))?;
                }
            }
            Type::Enum { .. } if self.option_inner().is_some() => {
                let inner = self.option_inner().cloned().unwrap_or_else(Type::unit);
                out.push(!value.is_null());
                if value.is_null() {
                    out.extend((0..inner.width()).map(|_| false));
                } else {
                    inner.encode_into(value, out).map_err(|e| e.within(".Some"))?;
                }
            }
            Type::Enum { name, variants } => self.encode_enum(name, variants, value, out)?,
        }
        Ok(())
    }

    /// An enum value in serde's externally tagged form.
    fn encode_enum(
        &self,
        name: &str,
        variants: &[Variant],
        value: &Value,
        out: &mut Vec<bool>,
    ) -> Result<(), ValueError> {
        let names = || variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ");
        let (key, payload) = match value {
            Value::String(s) => (s.as_str(), None),
            Value::Object(map) if map.len() == 1 => match map.iter().next() {
                Some((k, v)) => (k.as_str(), Some(v)),
                None => return Err(ValueError::new(format!("expected a variant of {name}"))),
            },
            other => {
                return Err(ValueError::new(format!(
                    "expected a variant of {name} (\"Variant\" or {{\"Variant\": …}}), found {other}"
                )))
            }
        };
        let Some(variant) = variants.iter().find(|v| v.name == key) else {
            return Err(ValueError::new(format!(
                "{name} has no variant `{key}`; its variants are {}",
                names()
            )));
        };
        let start = out.len();
        let tag = self.tag_bits();
        out.extend((0..tag).map(|k| k < 128 && (variant.discriminant >> k) & 1 == 1));
        let step = format!(".{key}");
        match (payload, variant.fields.len()) {
            (None, 0) => {}
            (Some(Value::Null), 0) => {}
            (None, _) => {
                return Err(ValueError::new(format!(
                    "the variant `{key}` of {name} has fields: write {{\"{key}\": …}}"
                )))
            }
            (Some(_), 0) => {
                return Err(ValueError::new(format!(
                    "the variant `{key}` of {name} has no fields: write \"{key}\""
                )))
            }
            (Some(v), 1) if !variant.named => {
                variant.fields[0].1.encode_into(v, out).map_err(|e| e.within(&step))?;
            }
            (Some(v), _) if !variant.named => {
                let tuple = Type::Tuple(variant.fields.iter().map(|(_, t)| t.clone()).collect());
                tuple.encode_into(v, out).map_err(|e| e.within(&step))?;
            }
            (Some(v), _) => {
                let record = Type::Struct { name: format!("{name}::{key}"), fields: variant.fields.clone() };
                record.encode_into(v, out).map_err(|e| e.within(&step))?;
            }
        }
        let end = start + self.width() as usize;
        out.resize(end.max(out.len()), false);
        Ok(())
    }

    /// Decodes this type's bits (least significant first) into JSON. Missing
    /// bits read as zero.
    pub fn decode(&self, bits: &[bool]) -> Value {
        let mut pos = 0usize;
        self.decode_at(bits, &mut pos)
    }

    fn decode_at(&self, bits: &[bool], pos: &mut usize) -> Value {
        match self {
            Type::Bool => {
                let b = bits.get(*pos).copied().unwrap_or(false);
                *pos += 1;
                Value::Bool(b)
            }
            Type::Int { signed, bits: w } => {
                let mut v = 0u128;
                for k in 0..*w {
                    if bits.get(*pos + k as usize).copied().unwrap_or(false) {
                        v |= 1 << k;
                    }
                }
                *pos += *w as usize;
                if *signed {
                    // Sign-extend to 128 bits.
                    let shift = 128 - w;
                    let s = ((v << shift) as i128) >> shift;
                    match i64::try_from(s) {
                        Ok(x) => Value::from(x),
                        Err(_) => Value::String(s.to_string()),
                    }
                } else {
                    match u64::try_from(v) {
                        Ok(x) => Value::from(x),
                        Err(_) => Value::String(v.to_string()),
                    }
                }
            }
            Type::Fixed { .. } => {
                let w = self.width();
                let raw = (0..w)
                    .filter(|&k| bits.get(*pos + k as usize).copied().unwrap_or(false))
                    .fold(0u128, |v, k| v | 1 << k);
                *pos += w as usize;
                let text = Format::of(self).map(|f| f.display(raw)).unwrap_or_default();
                // `arbitrary_precision`: the number keeps its exact text.
                match text.parse::<serde_json::Number>() {
                    Ok(n) => Value::Number(n),
                    Err(_) => Value::String(text),
                }
            }
            Type::Array(elem, n) => Value::Array((0..*n).map(|_| elem.decode_at(bits, pos)).collect()),
            Type::Tuple(ts) => Value::Array(ts.iter().map(|t| t.decode_at(bits, pos)).collect()),
            Type::Struct { fields, .. } if self.is_tuple_struct() => {
                Value::Array(fields.iter().map(|(_, t)| t.decode_at(bits, pos)).collect())
            }
            Type::Struct { fields, .. } => {
                let mut map = serde_json::Map::new();
                for (f, t) in fields {
                    map.insert(f.clone(), t.decode_at(bits, pos));
                }
                Value::Object(map)
            }
            Type::Enum { .. } if self.option_inner().is_some() => {
                let some = bits.get(*pos).copied().unwrap_or(false);
                let inner = self.option_inner().cloned().unwrap_or_else(Type::unit);
                *pos += 1;
                let v = inner.decode_at(bits, pos);
                if some {
                    v
                } else {
                    Value::Null
                }
            }
            Type::Enum { variants, .. } => {
                let start = *pos;
                let tag = self.tag_bits();
                let mut d = 0u128;
                for k in 0..tag.min(128) {
                    if bits.get(start + k as usize).copied().unwrap_or(false) {
                        d |= 1 << k;
                    }
                }
                *pos = start + self.width() as usize;
                // A tag no variant has (only from a forged input) reads as
                // the first variant.
                let Some(v) = variants.iter().find(|v| v.discriminant == d).or(variants.first()) else {
                    return Value::Null;
                };
                let mut at = start + tag as usize;
                let payload = if v.fields.is_empty() {
                    return Value::String(v.name.clone());
                } else if v.named {
                    let mut map = serde_json::Map::new();
                    for (f, t) in &v.fields {
                        map.insert(f.clone(), t.decode_at(bits, &mut at));
                    }
                    Value::Object(map)
                } else if v.fields.len() == 1 {
                    v.fields[0].1.decode_at(bits, &mut at)
                } else {
                    Value::Array(v.fields.iter().map(|(_, t)| t.decode_at(bits, &mut at)).collect())
                };
                let mut map = serde_json::Map::new();
                map.insert(v.name.clone(), payload);
                Value::Object(map)
            }
        }
    }
}

/// Reads a fixed-point value of type `ty` as its bits.
fn parse_fixed(value: &Value, ty: &Type) -> Result<u128, ValueError> {
    let Some(format) = Format::of(ty) else {
        return Err(ValueError::new(format!("{ty} is not a fixed-point type")));
    };
    let (text, quoted) = match value {
        // Exactly as written (`arbitrary_precision`): never through an f64.
        Value::Number(n) => (n.to_string(), false),
        Value::String(s) => (s.trim().to_owned(), true),
        other => return Err(ValueError::new(format!("expected a decimal number for {ty}, found {other}"))),
    };
    format.parse(&text).map_err(|e| {
        let shown = if quoted { format!("\"{text}\"") } else { text.clone() };
        ValueError::new(match e {
            DecimalError::OutOfRange => format!("{shown} does not fit in {ty} ({})", format.range_text()),
            DecimalError::Malformed => format!("{shown} is not a decimal number (for {ty})"),
            DecimalError::TooLong => {
                format!("a number of more than {MAX_DIGITS} digits is not a value of {ty}")
            }
        })
    })
}

/// Reads an integer as `(negative, magnitude)`.
fn parse_int(value: &Value, ty: &Type) -> Result<(bool, u128), ValueError> {
    match value {
        Value::Number(n) => {
            // serde_json keeps the number's text (`arbitrary_precision`), so
            // nothing has gone through an `f64` yet: read the text exactly.
            let text = n.to_string();
            exact_integer(&text).map_err(|e| match e {
                NotAnInteger::Fraction => ValueError::new(format!(
                    "{text} is not a whole number, and {ty} holds whole numbers only"
                )),
                NotAnInteger::TooLarge => {
                    let range = match ty {
                        Type::Int { signed, bits } => format!(" ({})", int_range_text(*signed, *bits)),
                        _ => String::new(),
                    };
                    ValueError::new(format!("{text} does not fit in {ty}{range}"))
                }
                NotAnInteger::Malformed => ValueError::new(format!("{text} is not a number (for {ty})")),
            })
        }
        Value::String(s) => parse_int_text(s.trim()).ok_or_else(|| {
            let t = s.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                let range = match ty {
                    Type::Int { signed, bits } => format!(" ({})", int_range_text(*signed, *bits)),
                    _ => String::new(),
                };
                ValueError::new(format!("\"{s}\" does not fit in {ty}{range}"))
            } else {
                ValueError::new(format!("\"{s}\" is not an integer (for {ty})"))
            }
        }),
        Value::Bool(_) => {
            Err(ValueError::new(format!("expected an integer for {ty}, found {value}; write 0 or 1")))
        }
        other => Err(ValueError::new(format!("expected an integer for {ty}, found {other}"))),
    }
}

/// Why a JSON number is not an integer of at most 128 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotAnInteger {
    /// It has a non-zero fractional part (`1.5`, `4200000.00000000001`, `1e-3`).
    Fraction,
    /// Its magnitude is 2^128 or more.
    TooLarge,
    /// Not JSON number syntax (cannot come from serde_json; kept for safety).
    Malformed,
}

/// The exact value of a JSON number's text (`-?int(.frac)?([eE][+-]?exp)?`)
/// as `(negative, magnitude)`, when that value is a whole number. `5.0` and
/// `4.2e6` are whole numbers; `-0` is zero.
pub(crate) fn exact_integer(text: &str) -> Result<(bool, u128), NotAnInteger> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(k) => (&rest[..k], Some(&rest[k + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
        return Err(NotAnInteger::Malformed);
    }
    // The value is `digits × 10^scale`.
    let digits: String = int_part.chars().chain(frac_part.chars()).skip_while(|&c| c == '0').collect();
    if digits.is_empty() {
        return Ok((false, 0));
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let body = e.strip_prefix(['+', '-']).unwrap_or(e);
            if body.is_empty() || !all_digits(body) {
                return Err(NotAnInteger::Malformed);
            }
            // An exponent past i64 is as good as infinite either way.
            e.parse().unwrap_or(if e.starts_with('-') { i64::MIN } else { i64::MAX })
        }
    };
    let frac_len = i64::try_from(frac_part.len()).unwrap_or(i64::MAX);
    let scale = exponent.saturating_sub(frac_len);
    let digits = if scale < 0 {
        // The last -scale digits are the fraction: they must all be zero.
        let cut = usize::try_from(scale.unsigned_abs()).unwrap_or(usize::MAX);
        if cut >= digits.len() || digits[digits.len() - cut..].bytes().any(|b| b != b'0') {
            return Err(NotAnInteger::Fraction);
        }
        digits[..digits.len() - cut].to_owned()
    } else {
        // u128::MAX has 39 digits.
        let zeros = usize::try_from(scale).unwrap_or(usize::MAX);
        if zeros > 39 || digits.len() + zeros > 39 {
            return Err(NotAnInteger::TooLarge);
        }
        digits + &"0".repeat(zeros)
    };
    let magnitude = digits.parse::<u128>().map_err(|_| NotAnInteger::TooLarge)?;
    Ok((negative, magnitude))
}

/// `123`, `-5`, `+7`, `0xff`, `-0x80`, `0o17`, `0b101`, with `_` separators.
fn parse_int_text(s: &str) -> Option<(bool, u128)> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else {
        (10, lower.as_str())
    };
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || digits.starts_with('+') || digits.starts_with('-') {
        return None;
    }
    // `-0` is zero, in every type.
    u128::from_str_radix(&digits, radix).ok().map(|m| (negative && m != 0, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn u(bits: u32) -> Type {
        Type::Int { signed: false, bits }
    }
    fn i(bits: u32) -> Type {
        Type::Int { signed: true, bits }
    }

    #[test]
    fn round_trips() {
        let s = Type::Struct {
            name: "R".into(),
            fields: vec![("x".into(), Type::Array(Box::new(i(16)), 2)), ("ok".into(), Type::Bool)],
        };
        let v = json!({"x": [-3, 7], "ok": true});
        assert_eq!(s.decode(&s.encode(&v).unwrap()), v);
        let t = Type::Tuple(vec![u(128), i(128)]);
        let v =
            json!(["340282366920938463463374607431768211455", "-170141183460469231731687303715884105728"]);
        assert_eq!(t.decode(&t.encode(&v).unwrap()), v);
        assert_eq!(u(8).encode(&json!("0xff")).unwrap(), vec![true; 8]);
        // `-0` is zero, as a number or as text, unsigned too.
        for zero in [json!(0), json!(-0), json!("-0"), json!("-0x0"), json!(" -0 ")] {
            assert_eq!(u(8).encode(&zero).unwrap(), vec![false; 8], "{zero}");
        }
    }

    #[test]
    fn out_of_range_names_the_type() {
        assert_eq!(u(8).encode(&json!(300)).unwrap_err().to_string(), "300 does not fit in u8 (0..=255)");
        assert_eq!(
            i(8).encode(&json!(-129)).unwrap_err().to_string(),
            "-129 does not fit in i8 (-128..=127)"
        );
        let a = Type::Array(Box::new(u(8)), 2);
        assert_eq!(
            a.encode(&json!([1, -1])).unwrap_err().to_string(),
            "at [1]: -1 does not fit in u8 (0..=255)"
        );
        assert!(u(8).encode(&json!(1.5)).is_err());
        assert!(u(8).encode(&json!("12a")).is_err());
    }

    /// A JSON number parsed from its text, as serde_json reads an inputs file.
    fn number(text: &str) -> Value {
        let v: Value = serde_json::from_str(text).unwrap();
        assert!(v.is_number(), "{text}");
        v
    }

    /// The integer the bits of `ty` hold, by Rust's own two's complement.
    fn as_i128(bits: &[bool], signed: bool) -> i128 {
        let raw = bits.iter().enumerate().fold(0u128, |acc, (k, &b)| acc | (u128::from(b) << k));
        let shift = 128 - bits.len() as u32;
        if signed {
            ((raw << shift) as i128) >> shift
        } else {
            raw as i128
        }
    }

    #[test]
    fn numbers_past_2_pow_53_are_exact() {
        let two64 = (1u128 << 64).to_string();
        assert_eq!(
            u(64).encode(&number(&two64)).unwrap_err().to_string(),
            format!("{two64} does not fit in u64 (0..=18446744073709551615)")
        );
        let bits = u(128).encode(&number(&two64)).unwrap();
        assert_eq!(u(128).decode(&bits), json!(two64));
        let max = u128::MAX.to_string();
        assert_eq!(u(128).decode(&u(128).encode(&number(&max)).unwrap()), json!(max));
        let past = (u128::MAX as f64 * 10.0).to_string();
        assert!(u(128).encode(&number(&past)).unwrap_err().to_string().contains("does not fit in u128"));
        let min = i128::MIN.to_string();
        assert_eq!(i(128).decode(&i(128).encode(&number(&min)).unwrap()), json!(min));
        // 2^53 + 1 is the first integer an f64 cannot hold.
        let odd = (1u64 << 53) + 1;
        assert_eq!(u(64).decode(&u(64).encode(&number(&odd.to_string())).unwrap()), json!(odd));
    }

    #[test]
    fn a_fraction_is_never_rounded_into_an_integer() {
        for text in ["4200000.00000000001", "1.5", "-0.5", "1e-3", "12345e-1", "0.15e1"] {
            let err = u(64).encode(&number(text)).unwrap_err().to_string();
            // serde_json writes the exponent's sign (`1e-3`, `0.15e+1`); the digits are as given.
            let digits = text.split('e').next().unwrap();
            assert!(
                err.starts_with(digits) && err.contains("is not a whole number, and u64"),
                "{text}: {err}"
            );
        }
        for (text, want) in
            [("4200000.0", 4_200_000u64), ("4.2e6", 4_200_000), ("12300e-2", 123), ("0.1e1", 1), ("-0", 0)]
        {
            assert_eq!(u(64).decode(&u(64).encode(&number(text)).unwrap()), json!(want), "{text}");
        }
        assert!(u(8).encode(&number("1e999999999999999999999")).is_err());
        assert!(u(8).encode(&number("1e-999999999999999999999")).is_err());
        assert_eq!(u(8).encode(&number("0e999999999999999999999")).unwrap(), vec![false; 8]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            failure_persistence: None,
            ..proptest::test_runner::Config::with_cases(512)
        })]

        /// Every integer written as a plain JSON number encodes to the bits
        /// Rust gives it, or is refused exactly when Rust's `TryFrom` refuses it.
        #[test]
        fn plain_numbers_agree_with_rust(v in proptest::prelude::any::<i128>(), m in proptest::prelude::any::<u128>(), shift in 0u32..128) {
            for (value, text) in [(Some(v), v.to_string()), (i128::try_from(m >> shift).ok(), (m >> shift).to_string())] {
                for (signed, w) in [(false, 8), (true, 8), (false, 64), (true, 64), (false, 128), (true, 128)] {
                    let ty = Type::Int { signed, bits: w };
                    let fits = match (value, signed) {
                        (Some(x), true) => x >= i128::MIN >> (128 - w) && x <= i128::MAX >> (128 - w),
                        (Some(x), false) => x >= 0 && (w == 128 || (x as u128) >> w == 0),
                        (None, _) => !signed && w == 128,
                    };
                    match ty.encode(&number(&text)) {
                        Ok(bits) if value.is_some() => proptest::prop_assert_eq!(Some(as_i128(&bits, signed)), value),
                        Ok(bits) => proptest::prop_assert_eq!(ty.decode(&bits), json!(text)),
                        Err(e) => {
                            proptest::prop_assert!(!fits, "{text} into {ty}: {e}");
                            proptest::prop_assert!(e.to_string().contains("does not fit"), "{e}");
                        }
                    }
                }
            }
        }

        /// `D.F`, `De±k`: whole exactly when Rust's arithmetic says so.
        #[test]
        fn fractions_and_exponents_agree_with_rust(d in 0u64..u64::MAX, frac in 0u32..1_000_000, k in 0u32..25) {
            let ty = u(128);
            let read = |text: &str| ty.encode(&number(text)).map(|b| as_i128(&b, false) as u128);
            // D.F with F's digits: whole iff F == 0.
            let text = format!("{d}.{frac:06}");
            match read(&text) {
                Ok(x) => { proptest::prop_assert_eq!(frac, 0); proptest::prop_assert_eq!(x, u128::from(d)); }
                Err(e) => { proptest::prop_assert!(frac != 0); proptest::prop_assert!(e.to_string().contains("not a whole number")); }
            }
            // D e k = D · 10^k, if that fits in u128.
            let up = 10u128.checked_pow(k).and_then(|p| p.checked_mul(u128::from(d)));
            match (read(&format!("{d}e{k}")), up) {
                (Ok(x), Some(want)) => proptest::prop_assert_eq!(x, want),
                (Err(e), None) => proptest::prop_assert!(e.to_string().contains("does not fit")),
                (got, want) => proptest::prop_assert!(false, "{d}e{k}: {got:?} vs {want:?}"),
            }
            // D e -k = D / 10^k, whole iff 10^k divides D.
            let p = 10u128.pow(k);
            match read(&format!("{d}E-{k}")) {
                Ok(x) => { proptest::prop_assert_eq!(u128::from(d) % p, 0); proptest::prop_assert_eq!(x, u128::from(d) / p); }
                Err(e) => { proptest::prop_assert!(u128::from(d) % p != 0, "{d}E-{k}: {e}"); }
            }
        }
    }
}
