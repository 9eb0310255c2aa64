//! Compile speed: gates of output per second, compiling the examples
//! and an unrolled dot product (scan, parse, check, lower and optimise);
//! and reading records from CSV,
//! in bytes per second.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn example(name: &str) -> String {
    let path = format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn compile_speed(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    for name in ["model_benchmark.gbl", "set_intersection.gbl", "sort.gbl"] {
        let source = example(name);
        let gates = garblet_compiler::compile(&source, name).map(|p| p.circuit.stats().gates).unwrap_or(0);
        group.throughput(Throughput::Elements(gates));
        group.bench_function(name, |b| b.iter(|| garblet_compiler::compile(&source, name)));
    }
    group.finish();
}

/// An unrolled program: the dot product of `n` pairs of `u32`
/// (`BENCHMARKS.md`, issue 16: 8,192 pairs are 27.7 M gates; 1,024 here,
/// 3.5 M gates, so that a sample takes a second or less). The builder's
/// structural hashing, dead-gate removal and renumbering at scale.
fn unrolled_speed(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile_unrolled");
    group.sample_size(10);
    {
        let n = 1024u32;
        let source = format!(
            "const N: usize = {n};\nfn main(#[garbler] a: [u32; N], #[evaluator] b: [u32; N]) -> u32 {{\n    let mut s: u32 = 0;\n    for i in 0..N {{ s = s + a[i] * b[i]; }}\n    s\n}}\n"
        );
        let name = format!("dot_product_{n}");
        let gates = garblet_compiler::compile(&source, &name).map(|p| p.circuit.stats().gates).unwrap_or(0);
        assert!(gates > 0, "{name} compiles");
        group.throughput(Throughput::Elements(gates));
        group.bench_function(&name, |b| b.iter(|| garblet_compiler::compile(&source, &name)));
    }
    group.finish();
}

/// 100,000 records of 8 `i16` features and a label, as the model benchmark
/// takes them, generated here.
fn csv_records(c: &mut Criterion) {
    use garblet_compiler::Type;
    const ROWS: u32 = 100_000;
    let i16 = Type::Int { signed: true, bits: 16 };
    let record = Type::Struct {
        name: "Record".into(),
        fields: vec![("features".into(), Type::Array(Box::new(i16), 8)), ("label".into(), Type::Bool)],
    };
    let ty = Type::Array(Box::new(record), ROWS);
    let mut text = String::from(
        "features.0,features.1,features.2,features.3,features.4,features.5,features.6,features.7,label\n",
    );
    let mut x: u32 = 12345;
    for _ in 0..ROWS {
        for _ in 0..8 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            text.push_str(&format!("{},", (x >> 16) as i16));
        }
        text.push_str(if x & 1 == 1 { "true\n" } else { "false\n" });
    }
    let mut group = c.benchmark_group("records");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("csv_100k_records", |b| {
        b.iter(|| garblet_compiler::encode_csv(&ty, text.as_bytes()).expect("valid records"))
    });
    group.finish();
}

criterion_group!(benches, compile_speed, unrolled_speed, csv_records);
criterion_main!(benches);
