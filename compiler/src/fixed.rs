//! Fixed-point numbers as plain values: decimal text to the bits of an
//! `I16F16`, `U8F8`, … and back, with the semantics of the `fixed` crate.
//!
//! - Reading (`parse`): a decimal such as `0.1`, `-2.5e-3` or `1_000.25` is
//!   rounded to the nearest value the format holds, ties to even, as
//!   `fixed`'s `FromStr` documents; a value that does not fit after
//!   rounding is an error, never wrapped. (`fixed` 1.30 rounds a few long
//!   decimals just below a half up, e.g. I16F16 `0.0631027`; this rounds
//!   them to nearest: `compiler/tests/fixed.rs`, `nearest`.)
//! - Writing (`display`): the exact value, in as many decimal digits as it
//!   takes (a binary fraction of f bits has at most f decimal ones), so that
//!   I16F16's 0.1 prints as `0.0999908447265625`. `fixed`'s `Display`
//!   prints the shortest text that reads back to the same value (`0.1`);
//!   ours reads back to the same value too, and says what it is.
//!
//! The literals (`check`, `lower`), input values (`value`, `records`) and
//! `--const` (`consts`) all read through here; the arithmetic in the
//! circuit is `lower/fixed.rs`.

use crate::types::Type;
use num_bigint::BigUint;

/// A fixed-point format: what [`Type::Fixed`] says, as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Format {
    /// Two's complement (`I…`) or unsigned (`U…`).
    pub(crate) signed: bool,
    /// Fraction bits.
    pub(crate) frac_bits: u32,
    /// Total bits: 8, 16, 32, 64 or 128.
    pub(crate) width: u32,
}

/// Why a text is not a value of a format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// Not a decimal number (`1.2.3`, `abc`, `0x10`).
    Malformed,
    /// More than [`MAX_DIGITS`] digits.
    TooLong,
    /// The nearest representable value is outside the format's range.
    OutOfRange,
}

/// The most digits a decimal may have: the exact value of any format takes
/// at most 39 integer and 128 fraction digits, so this is generous, and it
/// bounds the work of reading one.
pub(crate) const MAX_DIGITS: usize = 400;

impl Format {
    /// The format of a [`Type::Fixed`].
    pub(crate) fn of(ty: &Type) -> Option<Format> {
        match ty {
            Type::Fixed { signed, int_bits, frac_bits } => {
                Some(Format { signed: *signed, frac_bits: *frac_bits, width: int_bits + frac_bits })
            }
            _ => None,
        }
    }

    fn mask(self) -> u128 {
        mask(self.width)
    }

    /// The largest magnitude a positive value may have, in units of 2^-f.
    fn max_positive(self) -> u128 {
        if self.signed {
            self.mask() >> 1
        } else {
            self.mask()
        }
    }

    /// The largest magnitude a negative value may have, in units of 2^-f.
    fn max_negative(self) -> u128 {
        if self.signed {
            1u128 << (self.width - 1)
        } else {
            0
        }
    }

    /// The bits of `-magnitude` (if `negative`) or `magnitude`, in units of
    /// 2^-f, if the format holds it.
    fn bits_of(self, negative: bool, magnitude: u128) -> Option<u128> {
        if negative {
            (magnitude <= self.max_negative()).then(|| magnitude.wrapping_neg() & self.mask())
        } else {
            (magnitude <= self.max_positive()).then_some(magnitude)
        }
    }

    /// Reads a decimal: an optional sign, digits with an optional `.` (and
    /// `_` between digits), an optional exponent `e±k`; rounded to the
    /// nearest value of the format, ties to even. The format's bits.
    pub(crate) fn parse(self, text: &str) -> Result<u128, DecimalError> {
        let d = Decimal::read(text)?;
        let magnitude = d.scaled(self.frac_bits).ok_or(DecimalError::OutOfRange)?;
        // `-0.0001` rounds to zero, which every format holds.
        let negative = d.negative && magnitude != 0;
        self.bits_of(negative, magnitude).ok_or(DecimalError::OutOfRange)
    }

    /// The exact decimal value of the format's bits `raw` (read modulo
    /// 2^width): `-1.5`, `0.0999908447265625`, `3`.
    pub(crate) fn display(self, raw: u128) -> String {
        let raw = raw & self.mask();
        let negative = self.signed && (raw >> (self.width - 1)) & 1 == 1;
        let magnitude = if negative { raw.wrapping_neg() & self.mask() } else { raw };
        let f = self.frac_bits;
        let int_part = magnitude.checked_shr(f).unwrap_or(0);
        let frac = magnitude & mask(f);
        let mut out = String::new();
        if negative {
            out.push('-');
        }
        out.push_str(&int_part.to_string());
        if frac != 0 {
            // frac / 2^f = frac · 5^f / 10^f: f decimal digits, exactly.
            let digits = if f <= 27 {
                (frac * 5u128.pow(f)).to_string()
            } else {
                (BigUint::from(frac) * BigUint::from(5u32).pow(f)).to_string()
            };
            let padded = format!("{digits:0>width$}", width = f as usize);
            out.push('.');
            out.push_str(padded.trim_end_matches('0'));
        }
        out
    }

    /// The bits of the largest value.
    pub(crate) fn max_raw(self) -> u128 {
        self.max_positive()
    }

    /// The smallest value, exactly: `-32768`, `0`.
    pub(crate) fn min_text(self) -> String {
        self.display(self.max_negative().wrapping_neg() & self.mask())
    }

    /// The range in words, for errors: `-32768..=32767.9999847412109375`.
    pub(crate) fn range_text(self) -> String {
        format!("{}..={}", self.min_text(), self.display(self.max_raw()))
    }
}

impl std::fmt::Display for Format {
    /// The type's name: `I16F16`, `U0F8`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.signed { 'I' } else { 'U' };
        write!(f, "{kind}{}F{}", self.width - self.frac_bits, self.frac_bits)
    }
}

/// `mask(w)`: the low `w` bits set (all for `w ≥ 128`).
fn mask(width: u32) -> u128 {
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// A decimal read from text: `±digits × 10^scale`, `digits` without
/// leading zeros (empty for zero).
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    scale: i64,
}

impl Decimal {
    fn read(text: &str) -> Result<Decimal, DecimalError> {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(k) => (&rest[..k], Some(&rest[k + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits_of = |s: &str| -> Result<Vec<u8>, DecimalError> {
            // `_` only between digits, as Rust writes them.
            if s.starts_with('_') || s.ends_with('_') || s.contains("__") {
                return Err(DecimalError::Malformed);
            }
            s.bytes()
                .filter(|&b| b != b'_')
                .map(|b| if b.is_ascii_digit() { Ok(b - b'0') } else { Err(DecimalError::Malformed) })
                .collect()
        };
        let int_digits = digits_of(int_part)?;
        let frac_digits = digits_of(frac_part)?;
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(DecimalError::Malformed);
        }
        if int_digits.len() + frac_digits.len() > MAX_DIGITS {
            return Err(DecimalError::TooLong);
        }
        let exponent: i64 = match exponent {
            None => 0,
            Some(e) => {
                let body = e.strip_prefix(['+', '-']).unwrap_or(e);
                if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(DecimalError::Malformed);
                }
                // Past i64 is as good as infinite either way.
                e.parse().unwrap_or(if e.starts_with('-') { i64::MIN } else { i64::MAX })
            }
        };
        let mut digits: Vec<u8> = int_digits.into_iter().chain(frac_digits.iter().copied()).collect();
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..leading);
        // A text of at most MAX_DIGITS digits: the length fits an i64.
        let scale = exponent.saturating_sub(frac_digits.len() as i64);
        Ok(Decimal { negative, digits, scale })
    }

    /// `round(|value| × 2^f)`, to nearest with ties to even, if it is below
    /// 2^128.
    fn scaled(&self, f: u32) -> Option<u128> {
        if self.digits.is_empty() {
            return Some(0);
        }
        let len = self.digits.len() as i64;
        if self.scale >= 0 {
            // At least 10^(len - 1 + scale) ≥ 10^39 > 2^128 past this.
            if len.saturating_add(self.scale) > 39 {
                return None;
            }
            let n = (digits_value(&self.digits) * BigUint::from(10u32).pow(self.scale as u32)) << f;
            return u128::try_from(n).ok();
        }
        let k = self.scale.unsigned_abs();
        // Below 10^(len - k) ≤ 10^-40 < 2^-129: rounds to zero for any f ≤ 128.
        if len - (k.min(i64::MAX as u64) as i64) < -40 {
            return Some(0);
        }
        let k = k as u32;
        // The common case, a short decimal into at most 64 fraction bits,
        // in u128 arithmetic: d < 10^19 < 2^64, so d · 2^f < 2^128.
        if self.digits.len() <= 19 && k <= 19 && f <= 64 {
            let d = self.digits.iter().fold(0u64, |v, &c| v * 10 + u64::from(c));
            let (num, den) = (u128::from(d) << f, 10u128.pow(k));
            let (q, r) = (num / den, num % den);
            let up = 2 * r > den || (2 * r == den && q & 1 == 1);
            return Some(q + u128::from(up));
        }
        let num = digits_value(&self.digits) << f;
        let den = BigUint::from(10u32).pow(k);
        let (q, r) = (&num / &den, &num % &den);
        let twice: BigUint = r << 1u32;
        let up = twice > den || (twice == den && q.bit(0));
        u128::try_from(q + u32::from(up)).ok()
    }
}

fn digits_value(digits: &[u8]) -> BigUint {
    let mut text = String::with_capacity(digits.len());
    text.extend(digits.iter().map(|&d| char::from(b'0' + d)));
    text.parse().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(signed: bool, int_bits: u32, frac_bits: u32) -> Format {
        Format { signed, frac_bits, width: int_bits + frac_bits }
    }

    #[test]
    fn reads_to_nearest_ties_to_even() {
        let i16f16 = fmt(true, 16, 16);
        assert_eq!(i16f16.parse("0.75"), Ok(0xC000));
        assert_eq!(i16f16.parse("-1"), Ok(0xFFFF_0000));
        assert_eq!(i16f16.parse("0.1"), Ok(6554)); // 6553.6 → 6554
        assert_eq!(i16f16.display(6554), "0.100006103515625");
        assert_eq!(i16f16.display(6553), "0.0999908447265625");
        // Ties: 2^-17 is half a unit: 0 (even) and 3 · 2^-17 → 2 (even).
        assert_eq!(i16f16.parse("0.00000762939453125"), Ok(0));
        assert_eq!(i16f16.parse("0.00002288818359375"), Ok(2));
        assert_eq!(i16f16.parse("-0.00000762939453125"), Ok(0));
        assert_eq!(i16f16.parse("1e-3"), i16f16.parse("0.001"));
        assert_eq!(i16f16.parse("1_000.5"), Ok(1000 << 16 | 0x8000));
        assert_eq!(i16f16.parse("32767.99999"), Ok(0x7FFF_FFFF));
        assert_eq!(i16f16.parse("32767.999999"), Err(DecimalError::OutOfRange));
        assert_eq!(i16f16.parse("-32768"), Ok(0x8000_0000));
        assert_eq!(i16f16.parse("1e6"), Err(DecimalError::OutOfRange));
        assert_eq!(i16f16.parse("1e999999999999999999999"), Err(DecimalError::OutOfRange));
        assert_eq!(i16f16.parse("1e-999999999999999999999"), Ok(0));
        for bad in ["", "-", ".", "1.2.3", "0x10", "1e", "1e+", "abc", "_1", "1__0", "1.5_", "--1", "1 2"] {
            assert_eq!(i16f16.parse(bad), Err(DecimalError::Malformed), "{bad}");
        }
        assert_eq!(i16f16.parse(&"1".repeat(MAX_DIGITS + 1)), Err(DecimalError::TooLong));
        let u0f8 = fmt(false, 0, 8);
        assert_eq!(u0f8.parse("0.99609375"), Ok(255));
        assert_eq!(u0f8.parse("0.999"), Err(DecimalError::OutOfRange));
        assert_eq!(u0f8.parse("-0.001"), Ok(0));
        assert_eq!(u0f8.parse("-0.003"), Err(DecimalError::OutOfRange));
    }

    #[test]
    fn writes_exact_decimals() {
        let i8f8 = fmt(true, 8, 8);
        assert_eq!(i8f8.display(0xFF80), "-0.5");
        assert_eq!(i8f8.display(0x8000), "-128");
        assert_eq!(i8f8.range_text(), "-128..=127.99609375");
        let i0f128 = fmt(true, 0, 128);
        assert_eq!(i0f128.display(1u128 << 127), "-0.5");
        assert_eq!(i0f128.parse("-0.5"), Ok(1u128 << 127));
        let u0f128 = fmt(false, 0, 128);
        let tiny = u0f128.display(1);
        assert_eq!(tiny.len(), 130); // "0." and 128 digits: 2^-128 exactly
        assert_eq!(u0f128.parse(&tiny), Ok(1));
        let u128f0 = fmt(false, 128, 0);
        assert_eq!(u128f0.display(u128::MAX), u128::MAX.to_string());
        assert_eq!(fmt(true, 128, 0).range_text(), format!("{}..={}", i128::MIN, i128::MAX));
    }
}
