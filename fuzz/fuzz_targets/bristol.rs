//! The Bristol Fashion reader: any text is a circuit or an error, never a
//! panic or an allocation sized by a header. A circuit it returns writes
//! back to a file that reads as the same function with the same inputs and
//! outputs; writing that again gives the same file. (The digest may change
//! on the first trip: an output that aliases an input or another output is
//! written through copy gates, since Bristol Fashion puts outputs on the
//! last wires — the fuzzer found that case.)
#![no_main]
use garblet_circuits::bristol;

fn write(c: &garblet_circuits::Circuit) -> String {
    let mut out = Vec::new();
    bristol::write(c, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(c) = bristol::parse_str(text) else { return };
    let once = write(&c);
    let again = bristol::parse_str(&once).unwrap();
    assert_eq!(write(&again), once, "writing is idempotent");
    let widths = |c: &garblet_circuits::Circuit| {
        (
            c.inputs().iter().map(|i| i.width).collect::<Vec<_>>(),
            c.outputs().iter().map(|o| o.wires.len()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(widths(&again), widths(&c));
    if c.gates().len() <= 10_000 {
        for fill in [false, true] {
            let inputs: Vec<Vec<bool>> = c.inputs().iter().map(|i| vec![fill; i.width as usize]).collect();
            assert_eq!(again.eval_bits(&inputs).ok(), c.eval_bits(&inputs).ok(), "the same function");
        }
    }
});
