//! What garblet's tests share, in one place, so that a helper is written
//! once and a fix lands everywhere: where the repository's circuits are
//! ([`bristol`]), bits, bytes and hex ([`bits`], [`hex`], [`hex_bits`]),
//! random circuits for property tests ([`random`]), two parties run in
//! memory ([`run_pair`]) and a channel that tampers with one phase's bytes
//! ([`Tamper`]).
//!
//! A dev-dependency of every crate's integration tests (not of unit tests
//! inside a crate, which would see a second copy of that crate's types).

#![forbid(unsafe_code)]

pub mod random;
mod session;

pub use garblet_circuits::eval::{bits_to_u128, u128_to_bits};
pub use session::{phase_offsets, recorded_transcript, run_pair, PhaseLog, Tamper, Tampering};

use std::path::PathBuf;

/// A circuit shipped in `circuits/bristol/` (provenance in its
/// `SOURCE.md`).
pub fn bristol(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../circuits/bristol").join(name)
}

/// `width` bits of `value`, least significant first (bit k is wire k of an
/// input).
pub fn bits(value: u128, width: u32) -> Vec<bool> {
    u128_to_bits(value, width)
}

/// The bits of the integer whose big-endian bytes are `bytes`, least
/// significant first: bit k is wire k (the convention of the Bristol
/// circuits' known answers, `circuits/bristol/SOURCE.md`).
pub fn bytes_bits(bytes: &[u8]) -> Vec<bool> {
    bytes.iter().rev().flat_map(|b| (0..8).map(move |k| (b >> k) & 1 == 1)).collect()
}

/// The inverse of [`bytes_bits`]: big-endian bytes of the integer whose
/// bit k is `bits[k]` (`bits.len()` a multiple of 8).
pub fn bits_bytes(bits: &[bool]) -> Vec<u8> {
    assert_eq!(bits.len() % 8, 0, "a whole number of bytes");
    bits.chunks(8)
        .rev()
        .map(|c| c.iter().enumerate().fold(0u8, |acc, (k, &b)| acc | (u8::from(b) << k)))
        .collect()
}

/// `0x` and two lowercase hex digits per byte.
pub fn hex(bytes: &[u8]) -> String {
    format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Bytes from hex digits (an optional `0x`, whitespace ignored).
pub fn unhex(text: &str) -> Vec<u8> {
    let digits: String = text.trim_start_matches("0x").chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(digits.len() % 2, 0, "two hex digits per byte: {text}");
    (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap()).collect()
}

/// [`bytes_bits`] of [`unhex`]: a hex known answer as wires.
pub fn hex_bits(text: &str) -> Vec<bool> {
    bytes_bits(&unhex(text))
}

/// A path in the system's temporary directory, unique to this process and
/// call, whose file is removed when the value is dropped.
pub struct TempPath(pub PathBuf);

impl TempPath {
    /// A fresh path ending in `name`.
    pub fn new(name: &str) -> TempPath {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        TempPath(std::env::temp_dir().join(format!("garblet-test-{}-{k}-{name}", std::process::id())))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_agree_with_rust_integers() {
        let v: u128 = 0x0011_2233_4455_6677_8899_aabb_ccdd_eeff;
        let wires = hex_bits("00112233445566778899aabbccddeeff");
        assert_eq!(bits_to_u128(&wires), v);
        assert_eq!(wires, bits(v, 128));
        assert_eq!(bits_bytes(&wires), v.to_be_bytes());
        assert_eq!(hex(&v.to_be_bytes()), format!("0x{v:032x}"));
        assert_eq!(unhex(&hex(&[1, 2, 255])), [1, 2, 255]);
        assert!(bristol("aes_128.txt").is_file());
    }
}
