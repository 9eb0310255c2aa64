//! Values in and out of a compiled program: JSON ↔ bits in the layout of
//! [`crate::types`].
//!
//! - integers: JSON numbers, or strings holding a decimal (`"-5"`), hex
//!   (`"0xff"`), octal (`"0o17"`) or binary (`"0b101"`) number, for values
//!   beyond what a JSON number holds exactly (e.g. `u128`);
//! - `bool`: `true`/`false`;
//! - arrays and tuples: JSON arrays;
//! - structs: JSON objects with every field.
//!
//! [`Type::decode`] writes integers as JSON numbers when they fit in
//! `i64`/`u64`, else as decimal strings.

use crate::types::{int_range_text, Type};
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
        }
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
            Type::Array(elem, n) => Value::Array((0..*n).map(|_| elem.decode_at(bits, pos)).collect()),
            Type::Tuple(ts) => Value::Array(ts.iter().map(|t| t.decode_at(bits, pos)).collect()),
            Type::Struct { fields, .. } => {
                let mut map = serde_json::Map::new();
                for (f, t) in fields {
                    map.insert(f.clone(), t.decode_at(bits, pos));
                }
                Value::Object(map)
            }
        }
    }
}

/// Reads an integer as `(negative, magnitude)`.
fn parse_int(value: &Value, ty: &Type) -> Result<(bool, u128), ValueError> {
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok((false, u128::from(u)))
            } else if let Some(i) = n.as_i64() {
                Ok((i < 0, u128::from(i.unsigned_abs())))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    Ok((f < 0.0, f.abs() as u128))
                } else {
                    Err(ValueError::new(format!(
                        "{n} is not an integer of {ty} (write large values as strings, e.g. \"123456789012345678901234567890\")"
                    )))
                }
            }
        }
        Value::String(s) => parse_int_text(s.trim())
            .ok_or_else(|| ValueError::new(format!("\"{s}\" is not an integer (for {ty})"))),
        Value::Bool(_) => {
            Err(ValueError::new(format!("expected an integer for {ty}, found {value}; write 0 or 1")))
        }
        other => Err(ValueError::new(format!("expected an integer for {ty}, found {other}"))),
    }
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
    u128::from_str_radix(&digits, radix).ok().map(|m| (negative, m))
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
}
