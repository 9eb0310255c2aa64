//! The vendor example (`examples/vendor/`): its program, its model and
//! records read from CSV, checked against the same scoring written in Rust
//! with the `fixed` crate (its `wrapping_*` operations, which the language's
//! fixed-point types follow), at record counts that stream and leave records
//! over after the last run of 16.

use fixed::types::{I16F16, U16F16, U32F32};
use garblet_compiler::{compile_with, encode_csv, Options, StreamLoops};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

const PROGRAM: &str = include_str!("../../examples/vendor/vendor.gbl");
const MODEL: &str = include_str!("../../examples/vendor/model.json");

/// Rows of 8 features (decimals with four digits, as the generator writes
/// them) and a label; the CSV text and the parsed rows.
fn records(n: usize, seed: u64) -> (String, Vec<([I16F16; 8], bool)>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut csv = (0..8).map(|j| format!("features.{j},")).collect::<String>() + "label\n";
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        let xs: Vec<i32> = (0..8).map(|_| rng.gen_range(-40_000..40_000)).collect();
        let label = rng.gen_bool(0.5);
        let cells: Vec<String> = xs
            .iter()
            .map(|&x| {
                format!(
                    "{}{}.{:04}",
                    if x < 0 { "-" } else { "" },
                    x.unsigned_abs() / 10_000,
                    x.unsigned_abs() % 10_000
                )
            })
            .collect();
        csv += &format!("{},{label}\n", cells.join(","));
        let features: [I16F16; 8] = std::array::from_fn(|j| I16F16::from_str(&cells[j]).unwrap());
        rows.push((features, label));
    }
    (csv, rows)
}

/// The report as the program computes it, with `fixed`.
fn reference(model: &Value, rows: &[([I16F16; 8], bool)]) -> Value {
    let fx = |v: &Value| I16F16::from_str(v.as_str().unwrap()).unwrap();
    let weights: Vec<I16F16> = model["weights"].as_array().unwrap().iter().map(fx).collect();
    let (bias, threshold) = (fx(&model["bias"]), fx(&model["threshold"]));
    let (slope, half) = (I16F16::from_str("0.2").unwrap(), I16F16::from_str("0.5").unwrap());
    let (mut correct, mut tp, mut fp) = (0u32, 0u32, 0u32);
    for (features, label) in rows {
        let mut score = bias;
        for j in 0..8 {
            score = score.wrapping_add(weights[j].wrapping_mul(features[j]));
        }
        let p = score.wrapping_mul(slope).wrapping_add(half).max(I16F16::ZERO).min(I16F16::ONE);
        let positive = p >= threshold;
        correct += u32::from(positive == *label);
        tp += u32::from(positive && *label);
        fp += u32::from(positive && !*label);
    }
    let n = rows.len() as u32;
    let accuracy = U32F32::wrapping_from_num(correct).wrapping_div(U32F32::wrapping_from_num(n));
    let accuracy: U16F16 = accuracy.wrapping_to_num();
    json!({
        "records": n,
        "correct": correct,
        "true_positives": tp,
        "false_positives": fp,
        "accuracy": accuracy.to_num::<f64>(),
    })
}

#[test]
fn the_vendor_example_scores_csv_records_as_rust_with_fixed_does() {
    let model: Value = serde_json::from_str(MODEL).unwrap();
    for (n, seed) in [(40, 1), (67, 2)] {
        let options =
            Options::new().with_const("RECORDS", n.to_string()).with_stream_loops(StreamLoops::Always);
        let program = compile_with(PROGRAM, "vendor.gbl", &options, &|_| {})
            .unwrap_or_else(|e| panic!("{}", e.render_plain(PROGRAM, "vendor.gbl")));
        assert!(program.looped.is_some(), "the records loop streams");
        let (csv, rows) = records(n, seed);
        let model_bits = program.params[0].ty.encode(&model).unwrap();
        let record_bits = encode_csv(&program.params[1].ty, csv.as_bytes()).unwrap();
        let out = program.eval_bits(&[model_bits, record_bits]).unwrap();
        let got = program.result.decode(&out[0]);
        let want = reference(&model, &rows);
        assert_eq!(got, want, "{n} records");
        // A model that calls every record positive: the false positives
        // are the negative records.
        let mut all = model.clone();
        all["threshold"] = json!("-1");
        let out = program
            .eval_bits(&[
                program.params[0].ty.encode(&all).unwrap(),
                encode_csv(&program.params[1].ty, csv.as_bytes()).unwrap(),
            ])
            .unwrap();
        let got = program.result.decode(&out[0]);
        let negatives = rows.iter().filter(|(_, l)| !l).count();
        assert_eq!(got["false_positives"], json!(negatives));
        assert_eq!(got, reference(&all, &rows));
    }
}
