//! Loading circuits (issue 15): Bristol Fashion parsing in bytes/s and
//! gates/s, and the binary (canonical) decoding, on a generated AND/XOR-heavy
//! circuit written into memory (`support/workload.rs`); and a binary file
//! read in place (`GateFile`), written to the temporary directory first.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

#[path = "support/workload.rs"]
mod workload;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use garblet_circuits::{bristol, canonical, Circuit, Gate, GateFile, WireId};
use std::hint::black_box;

fn bench_load(c: &mut Criterion) {
    // 200 000 gates: about 6 MB of Bristol text, wire numbers of six digits.
    let circuit = workload::circuit(200_000, 15);
    let mut text = Vec::new();
    bristol::write(&circuit, &mut text).expect("writes to memory");
    let binary = circuit.to_canonical_bytes();
    let gates = circuit.gates().len() as u64;

    let mut g = c.benchmark_group("load");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function(BenchmarkId::new("bristol::read", "bytes"), |b| {
        b.iter(|| bristol::read(black_box(&text[..])).unwrap())
    });
    g.throughput(Throughput::Elements(gates));
    g.bench_function(BenchmarkId::new("bristol::read", "gates"), |b| {
        b.iter(|| bristol::read(black_box(&text[..])).unwrap())
    });
    g.throughput(Throughput::Bytes(binary.len() as u64));
    g.bench_function(BenchmarkId::new("from_canonical_bytes", "bytes"), |b| {
        b.iter(|| Circuit::from_canonical_bytes(black_box(&binary)).unwrap())
    });
    g.throughput(Throughput::Elements(gates));
    g.bench_function(BenchmarkId::new("from_canonical_bytes", "gates"), |b| {
        b.iter(|| Circuit::from_canonical_bytes(black_box(&binary)).unwrap())
    });
    g.finish();
}

/// A binary file read in place (`GateFile`), window by window as a planner
/// reads it: forwards (each gate checked and hashed: the digest comes
/// out) and backwards (decoded only). The file is written to the temporary
/// directory first, so it is read from the page cache.
fn bench_gate_file(c: &mut Criterion) {
    let circuit = workload::circuit(2_000_000, 15);
    let path = std::env::temp_dir().join(format!("garblet-bench-gates-{}.gbc", std::process::id()));
    canonical::write_file(&circuit, &path).expect("writes the temporary file");
    let bytes = std::fs::metadata(&path).expect("was written").len();
    let window = 1 << 16;
    let filler = Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(WireId::FIRST_FREE));
    let mut buf = vec![filler; window];

    let mut g = c.benchmark_group("gate_file");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    // `finish` reads every gate forwards, in windows of 2^16, as a planner
    // does, and returns the digest.
    g.bench_function(BenchmarkId::new("forwards_checked_hashed", "bytes"), |b| {
        b.iter(|| GateFile::open(&path).unwrap().finish().unwrap())
    });
    g.bench_function(BenchmarkId::new("backwards", "bytes"), |b| {
        let file = GateFile::open(&path).unwrap();
        let gates = file.num_gates();
        b.iter(|| {
            for k in (0..gates.div_ceil(window as u64)).rev() {
                black_box(file.read_gates(k * window as u64, &mut buf));
            }
        })
    });
    g.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, bench_load, bench_gate_file);
criterion_main!(benches);
