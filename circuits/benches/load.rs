//! Loading circuits (issue 15): Bristol Fashion parsing in bytes/s and
//! gates/s, and the binary (canonical) decoding, on a generated AND/XOR-heavy
//! circuit written into memory (`support/workload.rs`); no file is read.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

#[path = "support/workload.rs"]
mod workload;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use garblet_circuits::{bristol, Circuit};
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

criterion_group!(benches, bench_load);
criterion_main!(benches);
