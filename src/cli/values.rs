//! Parsing and printing input and output values on the command line.
//!
//! A value is an integer in decimal or `0x` hex; bit k (least significant = 0)
//! is the k-th wire of its input. Outputs print as `0x` hex, zero-padded to
//! their width.

use anyhow::{bail, Result};
use garblet::circuits::Visibility;
use num_bigint::BigUint;
use num_traits::Num;
use std::collections::BTreeMap;

/// Splits `NAME=VALUE` arguments; a name given twice is an error.
pub(super) fn parse_assignments(args: &[String]) -> Result<BTreeMap<&str, &str>> {
    let mut map = BTreeMap::new();
    for arg in args {
        let Some((name, value)) = arg.split_once('=') else {
            bail!("`{arg}` is not NAME=VALUE");
        };
        let (name, value) = (name.trim(), value.trim());
        if map.insert(name, value).is_some() {
            bail!("input `{name}` is given twice");
        }
    }
    Ok(map)
}

/// Parses a decimal or `0x` hex integer into `width` bits, least significant first.
pub(super) fn parse_integer(text: &str, width: u32) -> Result<Vec<bool>> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let parsed = if let Some(hex) = cleaned.strip_prefix("0x").or_else(|| cleaned.strip_prefix("0X")) {
        BigUint::from_str_radix(hex, 16)
    } else {
        BigUint::from_str_radix(&cleaned, 10)
    };
    let Ok(value) = parsed else {
        bail!("`{text}` is not an unsigned integer (write it in decimal or as 0x hex)");
    };
    if value.bits() > u64::from(width) {
        bail!("{text} does not fit in {width} bits (it needs {})", value.bits());
    }
    Ok((0..u64::from(width)).map(|k| value.bit(k)).collect())
}

/// `0x` hex of a bit vector (bit k = bit k of the integer), padded to its width.
pub(super) fn format_hex(bits: &[bool]) -> String {
    let digits = bits.len().div_ceil(4).max(1);
    let mut s = String::with_capacity(digits + 2);
    s.push_str("0x");
    for d in (0..digits).rev() {
        let nibble =
            (0..4).fold(0u32, |acc, b| acc | (u32::from(*bits.get(4 * d + b).unwrap_or(&false)) << b));
        s.push(char::from_digit(nibble, 16).unwrap_or('0'));
    }
    s
}

/// Who learns an output of this visibility, in words.
pub(super) fn audience(v: Visibility) -> &'static str {
    match v {
        Visibility::Garbler => "the garbler",
        Visibility::Evaluator => "the evaluator",
        Visibility::Both => "both parties",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_through_hex() {
        let bits = parse_integer("0x00112233445566778899aabbccddeeff", 128).unwrap();
        assert_eq!(format_hex(&bits), "0x00112233445566778899aabbccddeeff");
        assert_eq!(parse_integer("5", 3).unwrap(), vec![true, false, true]);
        assert!(parse_integer("8", 3).unwrap_err().to_string().contains("does not fit in 3 bits"));
        assert!(parse_integer("-1", 8).is_err());
        assert!(parse_integer("0xzz", 8).is_err());
    }
}
