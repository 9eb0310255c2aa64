//! Bits on the wire, 8 to a byte, least significant bit first: bit `i` is
//! bit `i mod 8` of byte `⌊i/8⌋`, and the unused high bits of the last byte
//! are zero. Two messages carry bits so: the output decoding bits
//! (message 5, [`crate::garble::OutputDecoder`]) and the colour bits the
//! evaluator returns for the garbler's outputs (message 6,
//! `session/returned_outputs.rs`). One codec, so that the two encodings
//! cannot drift apart and one fuzz target (`output_decoder`) covers both
//! parsers.

/// Packs `bits` into `⌈len/8⌉` bytes.
pub(crate) fn pack(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, &b) in bits.iter().enumerate() {
        out[i / 8] |= u8::from(b) << (i % 8);
    }
    out
}

/// Unpacks `len` bits from `bytes` (peer data): `None` unless there are
/// exactly `⌈len/8⌉` bytes and the bits past `len` are zero, so that every
/// accepted message has one encoding.
pub(crate) fn unpack(bytes: &[u8], len: usize) -> Option<Vec<bool>> {
    if bytes.len() != len.div_ceil(8) {
        return None;
    }
    if !len.is_multiple_of(8) && bytes.last().is_some_and(|&last| last >> (len % 8) != 0) {
        return None;
    }
    Some((0..len).map(|i| (bytes[i / 8] >> (i % 8)) & 1 == 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { failure_persistence: None, ..Default::default() })]
        /// Packing round-trips, and any bytes with any claimed length
        /// unpack to bits that re-pack to those bytes, or to `None`.
        #[test]
        fn packed_bits_round_trip_and_hostile_bytes_never_panic(
            bits in proptest::collection::vec(proptest::prelude::any::<bool>(), 0..100),
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
            len in 0usize..160,
        ) {
            proptest::prop_assert_eq!(unpack(&pack(&bits), bits.len()), Some(bits));
            if let Some(unpacked) = unpack(&junk, len) {
                proptest::prop_assert_eq!(pack(&unpacked), junk);
            }
        }
    }

    #[test]
    fn bit_zero_is_the_low_bit_of_byte_zero_and_padding_must_be_zero() {
        let bits = [true, false, false, false, false, false, false, false, false, true];
        assert_eq!(pack(&bits), [0x01, 0x02]);
        assert_eq!(unpack(&[0x01, 0x02], 10).as_deref(), Some(&bits[..]));
        assert_eq!(unpack(&[0x01, 0x06], 10), None, "a stray bit past the last");
        assert_eq!(unpack(&[0x01], 10), None, "a byte short");
        assert_eq!(unpack(&[0x01, 0x02, 0x00], 10), None, "a byte over");
    }
}
