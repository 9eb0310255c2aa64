//! Garbling benchmarks: AES blocks/s of the hash, and garbling/evaluation
//! throughput in AND gates per second on (a) the Bristol AES-128 circuit
//! repeated 1,000 times, (b) a wide generated circuit of 2^24 ANDs, (c) a
//! deep chain of ANDs; single thread and all cores. Figures are recorded in
//! `BENCHMARKS.md`.
//!
//! `cargo bench -p garblet-engine --bench garble`; set `GARBLET_BENCH_QUICK=1`
//! for shorter measurements.
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use garblet_engine::circuits::{bristol, Circuit};
use garblet_engine::garble::{
    evaluate_many, garble_many, ActiveLabel, Encoder, Evaluator, Garbler, Plan, Repeated,
};
use garblet_engine::internal::{workloads, FixedKeyAes, Tmmo, TweakableHash};
use garblet_engine::Block;
use garblet_engine::Prg;

fn config() -> Criterion {
    let quick = std::env::var_os("GARBLET_BENCH_QUICK").is_some();
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if quick { 300 } else { 1000 }))
        .measurement_time(Duration::from_secs(if quick { 2 } else { 6 }))
}

fn bench_aes(c: &mut Criterion) {
    let pi = FixedKeyAes::new();
    let tmmo = Tmmo::new();
    let mut g = c.benchmark_group("aes");
    for n in [8usize, 64, 256, 1024, 4096] {
        let mut blocks = vec![Block::new(7); n];
        let mut scratch = vec![Block::ZERO; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("fixed_key_aes_blocks", n), &n, |b, _| {
            b.iter(|| pi.permute_in_place(black_box(&mut blocks)))
        });
        g.bench_with_input(BenchmarkId::new("tmmo_hashes", n), &n, |b, _| {
            b.iter(|| tmmo.hash_in_place(black_box(&mut blocks), &mut scratch, |k| Block::new(k as u128)))
        });
    }
    g.finish();
}

fn aes_circuit() -> Circuit {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../circuits/bristol/aes_128.txt");
    bristol::read_file(path).expect("the AES-128 Bristol circuit")
}

struct Case {
    name: &'static str,
    plan: Plan<'static>,
    /// Plan of one instance for the many-instance (all cores) figures, and
    /// how many instances.
    instance_plan: Plan<'static>,
    instances: usize,
    /// Use intra-circuit parallelism for "all cores" rather than instances.
    intra: bool,
}

fn garble_once(plan: &Plan<'_>, parallel: bool, prg: &mut Prg) -> (Encoder, Vec<u8>) {
    let enc = Encoder::random(plan.input_bits() as usize, prg);
    let mut stream = Vec::new();
    Garbler::new().parallel(parallel).garble(plan, &enc, &mut stream).expect("garbling");
    (enc, stream)
}

fn bench_case(c: &mut Criterion, case: &Case) {
    let ands = case.plan.and_count().expect("compiled plan");
    let mut prg = Prg::from_seed(Block::new(1));
    let (enc, stream) = garble_once(&case.plan, false, &mut prg);
    let inputs: Vec<ActiveLabel> = enc.encode_bits(0, &vec![true; enc.input_bits()]);
    eprintln!(
        "{}: {} AND gates, {} bytes on the wire = {:.3} bytes/AND",
        case.name,
        ands,
        stream.len(),
        stream.len() as f64 / ands as f64
    );
    let mut g = c.benchmark_group(case.name);
    g.throughput(Throughput::Elements(ands));
    g.bench_function("garble_1_thread", |b| {
        b.iter(|| Garbler::new().garble(&case.plan, &enc, std::io::sink()).expect("garbling"))
    });
    g.bench_function("evaluate_1_thread", |b| {
        b.iter(|| Evaluator::new().evaluate(&case.plan, &inputs, &stream[..]).expect("evaluation"))
    });
    // The same from memory, the tables read in place (`evaluate_slice`).
    g.bench_function("evaluate_1_thread_in_place", |b| {
        b.iter(|| Evaluator::new().evaluate_slice(&case.plan, &inputs, &stream).expect("evaluation"))
    });
    if case.intra {
        g.bench_function("garble_all_cores", |b| {
            b.iter(|| {
                Garbler::new().parallel(true).garble(&case.plan, &enc, std::io::sink()).expect("garbling")
            })
        });
        g.bench_function("evaluate_all_cores", |b| {
            b.iter(|| {
                Evaluator::new()
                    .parallel(true)
                    .evaluate(&case.plan, &inputs, &stream[..])
                    .expect("evaluation")
            })
        });
    } else {
        // The same ANDs as `instances` independent instances, one per task.
        let k = case.instances;
        let encs: Vec<Encoder> =
            (0..k).map(|_| Encoder::random(case.instance_plan.input_bits() as usize, &mut prg)).collect();
        let streams: Vec<Vec<u8>> = encs
            .iter()
            .map(|e| {
                let mut s = Vec::new();
                Garbler::new().garble(&case.instance_plan, e, &mut s).expect("garbling");
                s
            })
            .collect();
        let labels: Vec<Vec<ActiveLabel>> =
            encs.iter().map(|e| e.encode_bits(0, &vec![true; e.input_bits()])).collect();
        g.bench_function("garble_all_cores", |b| {
            b.iter(|| {
                let jobs = encs.iter().map(|e| (e, std::io::sink())).collect();
                garble_many(&Garbler::new(), &case.instance_plan, jobs)
            })
        });
        g.bench_function("evaluate_all_cores", |b| {
            b.iter(|| {
                let jobs = labels.iter().map(|l| l.as_slice()).zip(streams.iter().map(|s| &s[..])).collect();
                evaluate_many(&Evaluator::new(), &case.instance_plan, jobs)
            })
        });
    }
    g.finish();
}

fn bench_schedule(c: &mut Criterion) {
    let mut g = c.benchmark_group("schedule");
    // 16 chained AES-128 (587 k gates, SSA as a Bristol file): the deep
    // shape of issue 15.
    let chained =
        garblet_engine::circuits::compose::chain(&aes_circuit(), 16, "key", "plaintext", "ciphertext")
            .expect("AES chains");
    for (name, circuit) in [
        ("aes128", aes_circuit()),
        ("wide_2^16", workloads::wide_layer(1 << 16).expect("valid wide layer")),
        ("chained_aes_x16", chained),
    ] {
        g.throughput(Throughput::Elements(circuit.gates().len() as u64));
        g.bench_function(BenchmarkId::new("compile_gates", name), |b| {
            b.iter(|| Plan::compile(black_box(&circuit)).expect("plan"))
        });
        // What a pipelined plan does before the run (its backward pass);
        // the windows are compiled during the run.
        g.bench_function(BenchmarkId::new("pipelined_setup_gates", name), |b| {
            b.iter(|| Plan::pipelined(black_box(&circuit)).expect("plan").and_count())
        });
        // The backward pass and the renaming in place (the clone of the
        // circuit is outside the measurement).
        g.bench_function(BenchmarkId::new("renamed_setup_gates", name), |b| {
            b.iter_batched(
                || circuit.clone(),
                |owned| Plan::renamed(owned).expect("plan").and_count(),
                criterion::BatchSize::LargeInput,
            )
        });
        // The same plan made straight from a binary file of the circuit
        // (read from the page cache, checked and hashed as it is read;
        // what `garblet run` does with a large binary circuit).
        let path = std::env::temp_dir().join(format!("garblet-bench-{name}-{}.gbc", std::process::id()));
        garblet_engine::circuits::canonical::write_file(&circuit, &path).expect("writes the temporary file");
        g.bench_function(BenchmarkId::new("renamed_from_file_gates", name), |b| {
            b.iter(|| {
                let file = garblet_engine::circuits::GateFile::open(&path).expect("opens");
                let plan = Plan::renamed_from_source(&file).expect("plan");
                file.finish().expect("a valid file");
                plan.and_count()
            })
        });
        let _ = std::fs::remove_file(&path);
    }
    g.finish();
}

fn bench_circuits(c: &mut Criterion) {
    let only = std::env::var("GARBLET_BENCH_CASE").ok();
    let want = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    let threads = rayon::current_num_threads();
    if want("aes128_x1000") {
        let aes = aes_circuit();
        let plan = Plan::repeated(&Repeated::new(&aes, 1000)).expect("plan");
        let instance_plan = Plan::repeated(&Repeated::new(&aes, (1000 / threads) as u64)).expect("plan");
        bench_case(c, &Case { name: "aes128_x1000", plan, instance_plan, instances: threads, intra: false });
    }
    if want("wide_2^24") {
        let body = workloads::wide_layer(1 << 16).expect("valid wide layer");
        let plan = Plan::repeated(&Repeated::new(&body, 256)).expect("plan");
        let instance_plan = Plan::repeated(&Repeated::new(&body, 1)).expect("plan");
        bench_case(c, &Case { name: "wide_2^24", plan, instance_plan, instances: 1, intra: true });
    }
    if want("chained_aes") {
        // 64 chained AES-128 (2.35 M gates, 410 k ANDs) as `garblet run`
        // plans a large circuit: renamed, so the free gates of a level come
        // from several dependent chains.
        let chained =
            garblet_engine::circuits::compose::chain(&aes_circuit(), 64, "key", "plaintext", "ciphertext")
                .expect("AES chains");
        let plan = Plan::renamed(chained.clone()).expect("plan");
        let instance_plan = Plan::renamed(chained).expect("plan");
        bench_case(
            c,
            &Case { name: "chained_aes_x64_renamed", plan, instance_plan, instances: 1, intra: true },
        );
    }
    if want("chain") {
        let body = workloads::and_chain().expect("valid chain");
        // 63 ANDs per repetition; 2^22 ANDs in all, one long dependent chain.
        let times = (1u64 << 22) / 63;
        let plan = Plan::repeated(&Repeated::new(&body, times)).expect("plan");
        let instance_plan = Plan::repeated(&Repeated::new(&body, times / threads as u64)).expect("plan");
        bench_case(c, &Case { name: "chain_2^22", plan, instance_plan, instances: threads, intra: false });
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_aes, bench_schedule, bench_circuits
}
criterion_main!(benches);
