//! The canonical circuit decoder (what the digest is computed over): any
//! bytes are a circuit or an error; a circuit re-encodes to the same bytes.
#![no_main]
use garblet_circuits::Circuit;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Circuit::from_canonical_bytes(data) {
        assert_eq!(c.to_canonical_bytes(), data);
    }
});
