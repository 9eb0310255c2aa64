//! Hot paths of garblet-circuits: Bristol parsing, bit-sliced plaintext
//! evaluation, building and optimising gadget circuits.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use garblet::circuits::{bristol, opt, Builder, Party, Sign, Visibility};
use std::hint::black_box;

fn aes_path() -> String {
    format!("{}/circuits/bristol/aes_128.txt", env!("CARGO_MANIFEST_DIR"))
}

fn bench_bristol(c: &mut Criterion) {
    let text = std::fs::read(aes_path()).expect("shared AES-128 circuit");
    let circuit = bristol::read(&text[..]).expect("parses");
    let mut g = c.benchmark_group("bristol");
    g.throughput(Throughput::Elements(circuit.gates().len() as u64));
    g.bench_function("parse aes_128 (gates/s)", |b| b.iter(|| bristol::read(black_box(&text[..])).unwrap()));
    g.bench_function("write aes_128 (gates/s)", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(text.len());
            bristol::write(black_box(&circuit), &mut out).unwrap();
            out
        })
    });
    g.finish();
}

fn bench_eval(c: &mut Criterion) {
    let circuit = bristol::read_file(aes_path()).expect("parses");
    let inputs: Vec<Vec<u64>> = circuit
        .inputs()
        .iter()
        .map(|i| (0..i.width).map(|k| 0x9e37_79b9_7f4a_7c15u64.rotate_left(k)).collect())
        .collect();
    let mut g = c.benchmark_group("plaintext eval");
    // 64 evaluations per pass: count gate evaluations.
    g.throughput(Throughput::Elements(circuit.gates().len() as u64 * 64));
    g.bench_function("aes_128 x64 bit-sliced (gate evals/s)", |b| {
        b.iter(|| circuit.eval_sliced(black_box(&inputs)).unwrap())
    });
    let renumbered = opt::optimize(&circuit);
    g.bench_function("aes_128 optimised, wires reused (gate evals/s)", |b| {
        b.iter(|| renumbered.eval_sliced(black_box(&inputs)).unwrap())
    });
    g.finish();
}

fn bench_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("build");
    let build = || {
        let mut b = Builder::new();
        let x = b.input("x", Party::Garbler, 64).unwrap();
        let y = b.input("y", Party::Evaluator, 64).unwrap();
        let p = b.mul(&x, &y);
        let q = b.div(&p, &y, Sign::Signed);
        b.output("q", Visibility::Both, q).unwrap();
        b.finish().unwrap()
    };
    let gates = build().gates().len() as u64;
    g.throughput(Throughput::Elements(gates));
    g.bench_function("i64 mul+div gadgets (gates/s)", |b| b.iter(build));
    let circuit = build();
    g.bench_function("optimize i64 mul+div (gates/s)", |b| b.iter(|| opt::optimize(black_box(&circuit))));
    g.finish();
}

criterion_group!(benches, bench_bristol, bench_eval, bench_build);
criterion_main!(benches);
