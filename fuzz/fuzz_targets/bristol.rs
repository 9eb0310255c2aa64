//! The Bristol Fashion reader: any text is a circuit or an error, never a
//! panic or an allocation sized by a header; a circuit it returns writes
//! back and reads again to the same circuit.
#![no_main]
use garblet_circuits::bristol;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(c) = bristol::parse_str(text) {
        let mut out = Vec::new();
        bristol::write(&c, &mut out).unwrap();
        let again = bristol::parse_str(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(again.digest(), c.digest());
    }
});
