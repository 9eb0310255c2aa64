//! The types of the language and how a value of each is laid out in bits.
//!
//! Every value is flattened to a bit vector, least significant bit first:
//! an integer's bits in order, a fixed-point number's bits as the integer
//! it is scaled from (the layout of the `fixed` crate), a `bool` as one bit, array elements one after
//! another (element 0 first), tuple and struct fields in declaration order.
//! A circuit input or output of type `T` is [`Type::width`] bits in this
//! layout.

use std::fmt;

/// A type of the language.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`: one bit.
    Bool,
    /// An integer type, e.g. `u8` or `i64`.
    Int {
        /// Two's-complement signed (`i…`) or unsigned (`u…`).
        signed: bool,
        /// Width in bits: 8, 16, 32, 64 or 128.
        bits: u32,
    },
    /// A fixed-point type named as in the `fixed` crate, e.g. `I16F16` or
    /// `U0F8`: an integer of `int_bits + frac_bits` bits (two's complement
    /// when signed) scaled by 2^-`frac_bits`. The total is 8, 16, 32, 64
    /// or 128 bits (`crate::fixed` has the arithmetic of its values).
    Fixed {
        /// Two's-complement signed (`I…`) or unsigned (`U…`).
        signed: bool,
        /// Integer bits (including the sign bit when signed); may be 0.
        int_bits: u32,
        /// Fraction bits; may be 0.
        frac_bits: u32,
    },
    /// `[T; N]`.
    Array(Box<Type>, u32),
    /// A tuple; the empty tuple is the unit type `()`.
    Tuple(Vec<Type>),
    /// A `struct` with named fields in declaration order.
    Struct {
        /// The struct's name.
        name: String,
        /// Field names and types.
        fields: Vec<(String, Type)>,
    },
    /// An `enum`: a tag of [`Type::tag_bits`] bits holding the variant's
    /// discriminant, then the payload of the widest variant (a variant's
    /// fields in order from the payload's first bit, the rest zero).
    Enum {
        /// The enum's name.
        name: String,
        /// The variants in declaration order.
        variants: Vec<Variant>,
    },
}

/// One variant of an [`Type::Enum`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    /// Its name.
    pub name: String,
    /// Its discriminant: the value of the tag (and of `as` on a C-like enum).
    pub discriminant: u128,
    /// Its fields: named `0`, `1`, … for a tuple variant.
    pub fields: Vec<(String, Type)>,
    /// Declared with named fields (`Rect { w: u8 }`) rather than by
    /// position (`Circle(u8)`) or none.
    pub named: bool,
}

impl Variant {
    /// Width of the fields together.
    pub fn payload_width_u64(&self) -> u64 {
        self.fields.iter().fold(0u64, |acc, (_, t)| acc.saturating_add(t.width_u64()))
    }
}

impl Type {
    /// The unit type `()`.
    pub fn unit() -> Type {
        Type::Tuple(Vec::new())
    }

    /// Width of the flattened value in bits (saturating at `u32::MAX`; the
    /// checker rejects types wider than [`crate::limits::MAX_TYPE_BITS`]).
    pub fn width(&self) -> u32 {
        u32::try_from(self.width_u64()).unwrap_or(u32::MAX)
    }

    /// Width in bits without overflow.
    pub(crate) fn width_u64(&self) -> u64 {
        match self {
            Type::Bool => 1,
            Type::Int { bits, .. } => u64::from(*bits),
            Type::Fixed { int_bits, frac_bits, .. } => u64::from(*int_bits) + u64::from(*frac_bits),
            Type::Array(elem, n) => elem.width_u64().saturating_mul(u64::from(*n)),
            Type::Tuple(ts) => ts.iter().fold(0u64, |acc, t| acc.saturating_add(t.width_u64())),
            Type::Struct { fields, .. } => {
                fields.iter().fold(0u64, |acc, (_, t)| acc.saturating_add(t.width_u64()))
            }
            Type::Enum { variants, .. } => {
                let payload = variants.iter().map(Variant::payload_width_u64).max().unwrap_or(0);
                u64::from(self.tag_bits()).saturating_add(payload)
            }
        }
    }

    /// `Option<T>`: an enum `None` (tag 0) | `Some(T)` (tag 1), so a
    /// `bool` (is some) then `T`.
    pub fn option(t: Type) -> Type {
        Type::Enum {
            name: format!("Option<{t}>"),
            variants: vec![
                Variant { name: "None".into(), discriminant: 0, fields: Vec::new(), named: false },
                Variant { name: "Some".into(), discriminant: 1, fields: vec![("0".into(), t)], named: false },
            ],
        }
    }

    /// For `Option<T>`, `T`.
    pub fn option_inner(&self) -> Option<&Type> {
        match self {
            Type::Enum { name, variants } if name.starts_with("Option<") => {
                variants.get(1).and_then(|v| v.fields.first()).map(|(_, t)| t)
            }
            _ => None,
        }
    }

    /// The bits of an enum's tag: enough for its largest discriminant (0
    /// for other types, and for an enum of one variant with discriminant 0).
    pub fn tag_bits(&self) -> u32 {
        match self {
            Type::Enum { variants, .. } => {
                let max = variants.iter().map(|v| v.discriminant).max().unwrap_or(0);
                128 - max.leading_zeros()
            }
            _ => 0,
        }
    }

    /// True for a tuple struct (`struct P(u8, i16);`, fields named `0`, `1`, …).
    pub fn is_tuple_struct(&self) -> bool {
        matches!(self, Type::Struct { fields, .. } if fields.first().is_some_and(|(f, _)| f == "0"))
    }

    /// True for an enum whose variants have no fields (which `as` converts
    /// to an integer).
    pub fn is_c_like_enum(&self) -> bool {
        matches!(self, Type::Enum { variants, .. } if variants.iter().all(|v| v.fields.is_empty()))
    }

    /// True for integer types.
    pub fn is_int(&self) -> bool {
        matches!(self, Type::Int { .. })
    }

    /// True for fixed-point types.
    pub fn is_fixed(&self) -> bool {
        matches!(self, Type::Fixed { .. })
    }

    /// True for signed integer and signed fixed-point types.
    pub fn is_signed(&self) -> bool {
        matches!(self, Type::Int { signed: true, .. } | Type::Fixed { signed: true, .. })
    }

    /// True for `()`.
    pub fn is_unit(&self) -> bool {
        matches!(self, Type::Tuple(ts) if ts.is_empty())
    }

    /// The types of the parts a value of this type is made of, with their bit
    /// offsets: array elements, tuple or struct fields; none for scalars.
    pub fn parts(&self) -> Vec<(u32, &Type)> {
        let mut out = Vec::new();
        let mut offset = 0u32;
        match self {
            Type::Array(elem, n) => {
                let w = elem.width();
                for k in 0..*n {
                    out.push((k.saturating_mul(w), &**elem));
                }
            }
            Type::Tuple(ts) => {
                for t in ts {
                    out.push((offset, t));
                    offset = offset.saturating_add(t.width());
                }
            }
            Type::Struct { fields, .. } => {
                for (_, t) in fields {
                    out.push((offset, t));
                    offset = offset.saturating_add(t.width());
                }
            }
            Type::Bool | Type::Int { .. } | Type::Fixed { .. } | Type::Enum { .. } => {}
        }
        out
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Int { signed, bits } => write!(f, "{}{bits}", if *signed { 'i' } else { 'u' }),
            Type::Fixed { signed, int_bits, frac_bits } => {
                write!(f, "{}{int_bits}F{frac_bits}", if *signed { 'I' } else { 'U' })
            }
            Type::Array(elem, n) => write!(f, "[{elem}; {n}]"),
            Type::Tuple(ts) => {
                f.write_str("(")?;
                for (k, t) in ts.iter().enumerate() {
                    if k > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                if ts.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            Type::Struct { name, .. } | Type::Enum { name, .. } => f.write_str(name),
        }
    }
}

/// The integer type called `name` (`u8` … `i128`; `usize`/`isize` are 64-bit).
pub(crate) fn int_type_by_name(name: &str) -> Option<Type> {
    let (signed, bits) = match name {
        "u8" => (false, 8),
        "u16" => (false, 16),
        "u32" => (false, 32),
        "u64" | "usize" => (false, 64),
        "u128" => (false, 128),
        "i8" => (true, 8),
        "i16" => (true, 16),
        "i32" => (true, 32),
        "i64" | "isize" => (true, 64),
        "i128" => (true, 128),
        _ => return None,
    };
    Some(Type::Int { signed, bits })
}

/// The fixed-point type called `name`, as the `fixed` crate names them:
/// `I` (signed) or `U` (unsigned), the integer bits, `F`, the fraction
/// bits, the two adding up to 8, 16, 32, 64 or 128 (`I16F16`, `U0F8`,
/// `I8F24`). Numbers are plain decimals without leading zeros.
pub(crate) fn fixed_type_by_name(name: &str) -> Option<Type> {
    let (int_bits, frac_bits) = fixed_name_parts(name)?;
    matches!(int_bits + frac_bits, 8 | 16 | 32 | 64 | 128).then_some(Type::Fixed {
        signed: name.starts_with('I'),
        int_bits,
        frac_bits,
    })
}

/// `(i, f)` of a name shaped like a fixed-point type (`I10F10`), whatever
/// the total: for telling "no such width" from "not a type name".
pub(crate) fn fixed_name_parts(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix('I').or_else(|| name.strip_prefix('U'))?;
    let (i, f) = rest.split_once('F')?;
    let number = |s: &str| -> Option<u32> {
        let plain = !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
        if !plain || (s.len() > 1 && s.starts_with('0')) {
            return None;
        }
        s.parse().ok()
    };
    Some((number(i)?, number(f)?))
}

/// The range of an integer type as `(min, max)` in i128/u128 terms: for
/// display in errors, e.g. `0..=255`.
pub(crate) fn int_range_text(signed: bool, bits: u32) -> String {
    if signed {
        let max = (1u128 << (bits - 1)) - 1;
        format!("-{}..={max}", max + 1)
    } else if bits == 128 {
        format!("0..={}", u128::MAX)
    } else {
        format!("0..={}", (1u128 << bits) - 1)
    }
}

/// Whether the literal `-magnitude` (if `negative`) or `magnitude` fits.
pub(crate) fn literal_fits(negative: bool, magnitude: u128, signed: bool, bits: u32) -> bool {
    if negative {
        signed && magnitude <= 1u128 << (bits - 1)
    } else if signed {
        magnitude < 1u128 << (bits - 1)
    } else {
        bits == 128 || magnitude < 1u128 << bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_in_source_syntax() {
        let t = Type::Array(Box::new(Type::Int { signed: false, bits: 32 }), 16);
        assert_eq!(t.to_string(), "[u32; 16]");
        assert_eq!(Type::Tuple(vec![Type::Bool, t.clone()]).to_string(), "(bool, [u32; 16])");
        assert_eq!(Type::unit().to_string(), "()");
        assert_eq!(t.width(), 512);
    }

    #[test]
    fn literal_ranges() {
        assert!(literal_fits(true, 128, true, 8));
        assert!(!literal_fits(false, 128, true, 8));
        assert!(literal_fits(false, 255, false, 8));
        assert!(!literal_fits(false, 256, false, 8));
        assert!(!literal_fits(true, 1, false, 8));
        assert_eq!(int_range_text(false, 8), "0..=255");
        assert_eq!(int_range_text(true, 8), "-128..=127");
    }

    #[test]
    fn fixed_names_as_the_fixed_crate() {
        let t = fixed_type_by_name("I16F16").unwrap();
        assert_eq!(t, Type::Fixed { signed: true, int_bits: 16, frac_bits: 16 });
        assert_eq!((t.to_string(), t.width(), t.is_signed()), ("I16F16".into(), 32, true));
        let u = fixed_type_by_name("U0F8").unwrap();
        assert_eq!((u.to_string(), u.width(), u.is_signed()), ("U0F8".into(), 8, false));
        assert_eq!(fixed_type_by_name("I128F0").unwrap().width(), 128);
        for bad in ["I10F10", "I016F16", "IF16", "I16F", "i16f16", "I16F16x", "U8F8F8", "I+8F8", "I9999F1"] {
            assert_eq!(fixed_type_by_name(bad), None, "{bad}");
        }
        assert_eq!(fixed_name_parts("I10F10"), Some((10, 10)));
    }
}
