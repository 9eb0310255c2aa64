//! Compile speed: gates of output per second, compiling the examples
//! (scan, parse, check, lower and optimise).
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

criterion_group!(benches, compile_speed);
criterion_main!(benches);
