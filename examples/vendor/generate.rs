//! Writes the vendor example's records: `RECORDS` rows of 8 features and a
//! label, as CSV on standard output (the header names the fields as the
//! program's `Record` struct has them: `features.0` … `features.7`,
//! `label`).
//!
//! The labels are known: a record is positive when a hidden linear model
//! (the vendor's weights, slightly off, plus noise) scores it above zero,
//! so the vendor's model classifies most records right, and a run's
//! accuracy can be checked against `tests/vendor.rs`'s reference.
//!
//! ```sh
//! cargo run --release --example vendor_data -- 100000 > records.csv
//! ```
//!
//! Features are decimals in [−4, 4) with four digits after the point;
//! `SEED` (second argument, default 1) picks the records.

use rand::{rngs::StdRng, Rng, SeedableRng};
use std::io::{BufWriter, Write};

/// The hidden model the labels come from.
const TRUE_WEIGHTS: [f64; 8] = [0.8, -1.2, 0.45, 2.1, -0.9, 0.25, 1.4, -0.5];
const TRUE_BIAS: f64 = -0.2;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: vendor_data RECORDS [SEED] > records.csv";
    let records: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        eprintln!("{usage}");
        std::process::exit(2)
    });
    let seed: u64 = args.next().map_or(Some(1), |a| a.parse().ok()).unwrap_or_else(|| {
        eprintln!("{usage}");
        std::process::exit(2)
    });
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let header: Vec<String> = (0..8).map(|j| format!("features.{j}")).chain(["label".into()]).collect();
    writeln!(out, "{}", header.join(","))?;
    for _ in 0..records {
        // Ten-thousandths in [−4, 4).
        let features: Vec<i32> = (0..8).map(|_| rng.gen_range(-40_000..40_000)).collect();
        let score = features.iter().zip(TRUE_WEIGHTS).map(|(&x, w)| f64::from(x) / 1e4 * w).sum::<f64>()
            + TRUE_BIAS
            + rng.gen_range(-1.0..1.0);
        let cells: Vec<String> = features.iter().map(|&x| decimal(x)).collect();
        writeln!(out, "{},{}", cells.join(","), score > 0.0)?;
    }
    out.flush()
}

/// `x / 10^4` with four digits after the point.
fn decimal(x: i32) -> String {
    let sign = if x < 0 { "-" } else { "" };
    let m = x.unsigned_abs();
    format!("{sign}{}.{:04}", m / 10_000, m % 10_000)
}
