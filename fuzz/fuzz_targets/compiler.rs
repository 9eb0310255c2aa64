//! The compiler front end: any source text compiles or returns diagnostics,
//! never panics; a program that compiles has a valid circuit.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    if let Ok(program) = garblet_compiler::compile(source, "fuzz.gbl") {
        let c = &program.circuit;
        assert_eq!(garblet_circuits::Circuit::from_canonical_bytes(&c.to_canonical_bytes()).unwrap().digest(), c.digest());
    }
});
