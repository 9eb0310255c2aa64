//! Loading at disk speed (issue 15): writes a large generated circuit to a
//! temporary file as Bristol Fashion and as the binary (canonical) format,
//! times loading each on one core, prints the medians, and deletes the files.
//!
//! ```text
//! cargo run --release -p garblet-circuits --example load_speed -- [MB] [RUNS]
//! ```
//!
//! `MB` (default 600) is the Bristol file's approximate size; `RUNS`
//! (default 5) how many times each load is timed; a third argument,
//! `bristol` or `binary`, times only that format (for profiles). The files go to the
//! system's temporary directory, named after this process.

#[path = "../benches/support/workload.rs"]
mod workload;

use garblet_circuits::{bristol, canonical, Circuit, WireId};
use std::io::Read;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The CPU time this thread has run (Linux: `/proc/thread-self/schedstat`),
/// or zero elsewhere. On a shared machine wall time includes waiting for a
/// core; CPU time does not.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Wall and CPU time of each run.
type Times = Vec<(Duration, Duration)>;

fn report(what: &str, bytes: u64, gates: usize, times: Times) {
    let wall = median(times.iter().map(|t| t.0).collect()).as_secs_f64();
    let cpu = median(times.iter().map(|t| t.1).collect()).as_secs_f64();
    println!(
        "{what:<26} wall {wall:>6.3} s {:>6.2} GB/s | cpu {cpu:>6.3} s {:>6.2} GB/s {:>6.1} M gates/s",
        bytes as f64 / wall / 1e9,
        bytes as f64 / cpu / 1e9,
        gates as f64 / cpu / 1e6
    );
}

/// Wall and CPU time of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, (Duration, Duration)) {
    let (start, cpu) = (Instant::now(), cpu_time());
    let out = f();
    (out, (start.elapsed(), cpu_time() - cpu))
}

/// Times `f` `runs` times; each run's result must equal `expect`.
fn time(runs: usize, expect: &Circuit, f: impl Fn() -> Circuit) -> Times {
    (0..runs)
        .map(|_| {
            let (c, t) = timed(&f);
            assert!(c == *expect, "loaded circuit differs from the one written");
            t
        })
        .collect()
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mb: u64 = args.next().map_or(600, |a| a.parse().expect("MB is a number"));
    let runs: usize = args.next().map_or(5, |a| a.parse().expect("RUNS is a number"));
    // `bristol` or `binary` times only that format (for profiles).
    let only = args.next().unwrap_or_default();
    // About 35 bytes per Bristol gate line at these wire numbers.
    let gates = (mb * 1_000_000 / 35) as usize;
    let dir = std::env::temp_dir();
    let text_path = dir.join(format!("garblet-load-{}.txt", std::process::id()));
    let bin_path = dir.join(format!("garblet-load-{}.bin", std::process::id()));

    let start = Instant::now();
    let circuit = workload::circuit(gates, 15);
    bristol::write_file(&circuit, &text_path)?;
    canonical::write_file(&circuit, &bin_path)?;
    // What the Bristol reader returns (names, owners) is the reference.
    let expect = bristol::read_file(&text_path).expect("the generated file parses");
    let text_bytes = std::fs::metadata(&text_path)?.len();
    let bin_bytes = std::fs::metadata(&bin_path)?.len();
    println!(
        "{gates} gates; Bristol {:.1} MB, binary {:.1} MB (written in {:.1} s)",
        text_bytes as f64 / 1e6,
        bin_bytes as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );

    let raw = |path: &std::path::Path| {
        let mut f = std::fs::File::open(path).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        timed(|| while f.read(&mut buf).unwrap() > 0 {}).1
    };
    if only != "binary" {
        report("read Bristol bytes only", text_bytes, gates, (0..runs).map(|_| raw(&text_path)).collect());
        report(
            "bristol::read_file",
            text_bytes,
            gates,
            time(runs, &expect, || bristol::read_file(&text_path).unwrap()),
        );
    }
    let bin_expect = circuit;
    if only != "bristol" {
        report("read binary bytes only", bin_bytes, gates, (0..runs).map(|_| raw(&bin_path)).collect());
        // The floor any loader pays: a fresh gate list of this size, written
        // once (page faults and zeroing of 16 bytes per gate).
        let fill = || {
            let g = garblet_circuits::Gate::xor(WireId::ZERO, WireId::ONE, WireId::new(2));
            timed(|| std::hint::black_box(vec![g; gates])).1
        };
        report("allocate + fill gate list", bin_bytes, gates, (0..runs).map(|_| fill()).collect());
        report(
            "canonical::read_file",
            bin_bytes,
            gates,
            time(runs, &bin_expect, || canonical::read_file(&bin_path).unwrap()),
        );
        report(
            "fs::read + from_canonical",
            bin_bytes,
            gates,
            time(runs, &bin_expect, || {
                Circuit::from_canonical_bytes(&std::fs::read(&bin_path).unwrap()).unwrap()
            }),
        );
    }
    std::fs::remove_file(&text_path)?;
    std::fs::remove_file(&bin_path)?;
    Ok(())
}
