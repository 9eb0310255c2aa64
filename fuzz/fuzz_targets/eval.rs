//! Plaintext evaluation of any circuit the canonical decoder accepts, on
//! inputs drawn from the rest of the bytes: never a panic, outputs of the
//! declared widths.
#![no_main]
use garblet_circuits::Circuit;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let at = (usize::from(split) * rest.len() / 256).min(rest.len());
    let (encoded, input_bytes) = rest.split_at(at);
    let Ok(c) = Circuit::from_canonical_bytes(encoded) else { return };
    if c.gates().len() > 100_000 {
        return;
    }
    let mut bits = input_bytes.iter().flat_map(|b| (0..8).map(move |k| (b >> k) & 1 == 1)).cycle();
    let inputs: Vec<Vec<bool>> =
        c.inputs().iter().map(|i| (0..i.width).map(|_| bits.next().unwrap_or(false)).collect()).collect();
    if let Ok(outputs) = c.eval_bits(&inputs) {
        for (o, v) in c.outputs().iter().zip(&outputs) {
            assert_eq!(o.wires.len(), v.len());
        }
    }
});
