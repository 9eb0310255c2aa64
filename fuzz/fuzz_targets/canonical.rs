//! The canonical circuit decoder (what the digest is computed over, and the
//! binary circuit file): any bytes are a circuit or an error; a circuit
//! re-encodes to the same bytes; the streaming decoder gives the same answer
//! whatever its buffer size (records split between reads included).
#![no_main]
use garblet_circuits::{canonical, Circuit};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let whole = Circuit::from_canonical_bytes(data);
    if let Ok(c) = &whole {
        assert_eq!(c.to_canonical_bytes(), data);
    }
    // A buffer size from the input's length: 1..=64 bytes.
    let cap = data.len() % 64 + 1;
    let streamed = canonical::read(std::io::BufReader::with_capacity(cap, data));
    assert_eq!(streamed, whole);
});
