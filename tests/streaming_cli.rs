//! A streamed loop through the `garblet` binary: the model benchmark at
//! 1,000 records (large enough that its loop streams by default) in
//! `stats`, `eval`, `compile` (a flat circuit, the loop unrolled) and a two-process
//! `run` over loopback, checked against the model computed in Rust.

mod support;

use serde_json::Value;
use support::{args, bin, free_port, spawn, Scratch};

const RECORDS: usize = 1_000;

#[test]
fn a_streamed_loop_through_stats_eval_compile_and_run() {
    let dir = Scratch::new("streaming-cli");
    let program = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/model_benchmark.gbl");
    let weights: [i16; 8] = [31, -70, 12, 9, -3276, 3276, 5, -1];
    let bias: i32 = -1000;
    let mut x: u32 = 7;
    let mut csv = String::from(
        "features.0,features.1,features.2,features.3,features.4,features.5,features.6,features.7,label\n",
    );
    let mut want = 0u32;
    for _ in 0..RECORDS {
        let mut f = [0i16; 8];
        for v in &mut f {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *v = (x >> 16) as i16 / 16;
        }
        let label = x & 4 == 4;
        let score = bias + f.iter().zip(weights).map(|(&a, w)| i32::from(a) * i32::from(w)).sum::<i32>();
        want += u32::from((score >= 0) == label);
        let row: Vec<String> = f.iter().map(|v| v.to_string()).collect();
        csv.push_str(&format!("{},{label}\n", row.join(",")));
    }
    let records = dir.path("records.csv");
    std::fs::write(&records, csv).unwrap();
    let model = dir.path("model.json");
    std::fs::write(&model, format!("{{\"weights\": {weights:?}, \"bias\": {bias}}}")).unwrap();
    let records_arg = format!("records=@{}", records.display());
    let model_arg = format!("model=@{}", model.display());
    let n = format!("RECORDS={RECORDS}");

    // stats: the loop streams; its AND count is the compiler's.
    let out = bin().args(["stats", program, "--json", "--const", &n]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["loops"][0]["runs"], 250, "1,000 records: 250 runs of 4: {stats}");
    let source = std::fs::read_to_string(program).unwrap();
    let options = garblet::compiler::Options::new().with_const("RECORDS", RECORDS.to_string());
    let compiled = garblet::compiler::compile_with(&source, "m.gbl", &options, &|_| {}).unwrap();
    assert_eq!(stats["and"], compiled.and_count());
    assert_eq!(stats["digest"], compiled.digest().iter().map(|b| format!("{b:02x}")).collect::<String>());

    // eval
    let out = bin()
        .args(["eval", program, "--json", "--const", &n, "-i", &model_arg, "-i", &records_arg])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outputs"]["result"], want);

    // compile: a flat circuit, the loop unrolled (the library's, with
    // loops never streamed), so another digest than the streamed program's.
    let bin_out = dir.path("m.bin");
    let out = bin()
        .args(["compile", program, "--const", &n, "--format", "binary", "-o", bin_out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bin().args(["stats", bin_out.to_str().unwrap(), "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let flat: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unrolled = garblet::compiler::compile_with(
        &source,
        "m.gbl",
        &options.with_stream_loops(garblet::compiler::StreamLoops::Never),
        &|_| {},
    )
    .unwrap();
    assert!(unrolled.looped.is_none());
    assert_eq!(flat["and"], unrolled.circuit.and_count());
    assert_eq!(flat["digest"], unrolled.digest().iter().map(|b| format!("{b:02x}")).collect::<String>());
    assert_ne!(flat["digest"], stats["digest"]);

    // run: two processes over loopback.
    let addr = format!("127.0.0.1:{}", free_port());
    let party = |role: &str, endpoint: [&str; 2], input: &str| {
        let mut a = args(&["run", program, "--as", role, "--insecure", "--json", "--timeout", "120"]);
        a.extend(args(&endpoint));
        a.extend(args(&["--const", &n, "-i", input]));
        a
    };
    let g = spawn(&party("garbler", ["--listen", &addr], &model_arg));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let e = spawn(&party("evaluator", ["--connect", &addr], &records_arg));
    for (who, child) in [("evaluator", e), ("garbler", g)] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{who}: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["outputs"]["result"], want, "{who}");
        assert_eq!(v["stats"]["and_gates"], compiled.and_count(), "{who}");
    }
}
