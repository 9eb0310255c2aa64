//! Records from CSV (`--input NAME=@FILE.csv`): any file is an error naming
//! where, or exactly the array's bits; never a panic.
#![no_main]
use garblet_compiler::{Type, Variant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let i8 = Type::Int { signed: true, bits: 8 };
    let variant = |name: &str, discriminant| Variant {
        name: name.into(),
        discriminant,
        fields: Vec::new(),
        named: false,
    };
    let colour = Type::Enum {
        name: "Colour".into(),
        variants: vec![variant("Red", 0), variant("Green", 5), variant("Blue", 6)],
    };
    let record = Type::Struct {
        name: "Record".into(),
        fields: vec![
            ("age".into(), Type::Int { signed: false, bits: 8 }),
            ("features".into(), Type::Array(Box::new(i8.clone()), 2)),
            ("label".into(), Type::Bool),
            ("weight".into(), Type::Fixed { signed: true, int_bits: 16, frac_bits: 16 }),
            ("share".into(), Type::Fixed { signed: false, int_bits: 0, frac_bits: 128 }),
            ("colour".into(), colour.clone()),
            ("tint".into(), Type::option(colour)),
            ("score".into(), Type::option(i8)),
        ],
    };
    let ty = Type::Array(Box::new(record), 3);
    if let Ok(bits) = garblet_compiler::encode_csv(&ty, data) {
        assert_eq!(bits.len(), ty.width() as usize);
    }
});
