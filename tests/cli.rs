//! The `garblet` binary as a user runs it: `stats` and `eval` on the shared
//! Bristol circuits against SOURCE.md and against the RustCrypto AES and
//! SHA-256, and the one-line errors with exit code 2.

use aes::cipher::{BlockEncrypt, KeyInit};
use garblet_testkit::hex;
use proptest::prelude::*;
use serde_json::Value;
use std::process::Output;
use support::shared;

mod support;

fn garblet(args: &[&str]) -> Output {
    support::bin().args(args).output().expect("the garblet binary runs")
}

fn eval_json(file: &str, inputs: &[(&str, String)]) -> Value {
    let mut args = vec!["eval".to_owned(), shared(file), "--json".to_owned()];
    for (name, value) in inputs {
        args.push("--input".to_owned());
        args.push(format!("{name}={value}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = garblet(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stats_json_matches_source_md() {
    let out = garblet(&["stats", &shared("aes_128.txt"), "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["and"], 6400);
    assert_eq!(v["xor"], 28176);
    assert_eq!(v["inv"], 2087);
    assert_eq!(v["wires"], 36919);
    assert!(v["and_depth"].as_u64().unwrap() > 0);
    assert_eq!(v["inputs"][0]["name"], "in0");
    assert_eq!(v["inputs"][0]["width"], 128);
    assert_eq!(v["inputs"][0]["party"], "garbler");
    assert_eq!(v["inputs"][1]["party"], "evaluator");
    assert_eq!(v["outputs"][0]["name"], "out0");
    assert_eq!(v["outputs"][0]["visibility"], "both");
    let text = garblet(&["stats", &shared("sha256.txt")]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("AND 22573"));
}

#[test]
fn eval_gives_the_fips_197_answer() {
    let v = eval_json(
        "aes_128.txt",
        &[
            ("in0", "0x000102030405060708090a0b0c0d0e0f".into()),
            ("in1", "0x00112233445566778899aabbccddeeff".into()),
        ],
    );
    assert_eq!(v["outputs"]["out0"], "0x69c4e0d86a7b0430d8cdb78070b4c55a");
    // Decimal input, text output.
    let out =
        garblet(&["eval", &shared("mult64.txt"), "--input", "in0=18446744073709551615", "--input", "in1=2"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "out0 = 0xfffffffffffffffe");
}

proptest! {
    // No regression file in the working tree: a failure prints its seed.
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn eval_agrees_with_rustcrypto_on_random_inputs(key in any::<[u8; 16]>(), pt in any::<[u8; 16]>(), block in prop::collection::vec(any::<u8>(), 64)) {
        let cipher = aes::Aes128::new_from_slice(&key).unwrap();
        let mut ct = aes::Block::clone_from_slice(&pt);
        cipher.encrypt_block(&mut ct);
        let v = eval_json("aes_128.txt", &[("in0", hex(&key)), ("in1", hex(&pt))]);
        prop_assert_eq!(v["outputs"]["out0"].as_str().unwrap(), hex(&ct));

        const IV: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
        let iv_bytes: Vec<u8> = IV.iter().flat_map(|w| w.to_be_bytes()).collect();
        let mut state = IV;
        let mut arr = [0u8; 64];
        arr.copy_from_slice(&block);
        sha2::compress256(&mut state, &[arr.into()]);
        let want: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
        let v = eval_json("sha256.txt", &[("in0", hex(&block)), ("in1", hex(&iv_bytes))]);
        prop_assert_eq!(v["outputs"]["out0"].as_str().unwrap(), hex(&want));
    }
}

fn assert_one_line_error(args: &[&str], needle: &str) {
    let out = garblet(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
}

#[test]
fn user_errors_are_one_line_with_exit_code_2() {
    let aes = shared("aes_128.txt");
    assert_one_line_error(&["eval", &aes, "--input", "in0=1"], "missing input `in1`");
    assert_one_line_error(
        &["eval", &aes, "-i", "in0=1", "-i", "in1=2", "-i", "key=3"],
        "unknown input `key`",
    );
    assert_one_line_error(
        &["eval", &aes, "-i", "in0=0x1ffffffffffffffffffffffffffffffff", "-i", "in1=2"],
        "does not fit in 128 bits",
    );
    assert_one_line_error(&["eval", &aes, "-i", "in0=twelve", "-i", "in1=2"], "not an unsigned integer");
    assert_one_line_error(&["stats", "/no/such/file.txt"], "cannot read /no/such/file.txt");
    let dir = std::env::temp_dir().join(format!("garblet-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XNOR\n").unwrap();
    assert_one_line_error(&["stats", bad.to_str().unwrap()], "line 5");
    std::fs::remove_dir_all(&dir).ok();
}

fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn programs_compile_evaluate_and_report_costs() {
    let out = garblet(&[
        "eval",
        &example("millionaires.gbl"),
        "--input",
        "alice=5000000",
        "--input",
        "bob=3000000",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outputs"]["result"], true);

    let out = garblet(&["stats", &example("millionaires.gbl"), "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["and"], 64);
    assert_eq!(v["inputs"][0]["name"], "alice");
    assert_eq!(v["inputs"][1]["party"], "evaluator");
    assert_eq!(v["outputs"][0]["name"], "result");

    let out = garblet(&["stats", &example("millionaires.gbl"), "--by-line"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("alice > bob") && text.contains("64"), "{text}");

    // compile → Bristol → eval gives the same answer.
    let dir = std::env::temp_dir().join(format!("garblet-compile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bristol = dir.join("m.txt");
    let out = garblet(&["compile", &example("millionaires.gbl"), "-o", bristol.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = garblet(&["eval", bristol.to_str().unwrap(), "-i", "in0=7", "-i", "in1=3", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outputs"]["out0"], "0x1");

    // A value that does not fit its type, and a program with an error.
    let out = garblet(&["eval", &example("millionaires.gbl"), "-i", "alice=-1", "-i", "bob=3"]);
    assert_eq!(out.status.code(), Some(2));
    let bad = dir.join("bad.gbl");
    std::fs::write(&bad, "fn main(#[garbler] a: u8, #[evaluator] b: u8) -> u8 {\n    a + c\n}\n").unwrap();
    let out = garblet(&["eval", bad.to_str().unwrap(), "-i", "a=1", "-i", "b=2"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains('^') && err.contains("a + c"), "a caret under the source line: {err}");
    assert!(err.lines().last().unwrap().starts_with("error: could not compile"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_timeout_of_zero_or_past_a_week_is_refused_before_anything_runs() {
    for bad in ["0", "604801", "18446744073709551615"] {
        let out = garblet(&[
            "run",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/millionaires.gbl"),
            "--as",
            "garbler",
            "--listen",
            "127.0.0.1:0",
            "--insecure",
            "--timeout",
            bad,
        ]);
        assert_eq!(out.status.code(), Some(2), "--timeout {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--timeout") && err.contains("1..=604800"), "--timeout {bad}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn bad_addresses_and_audit_log_paths_are_usage_errors_before_the_network() {
    let program = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/millionaires.gbl");
    let base = ["run", program, "--as", "garbler", "--insecure", "--timeout", "60", "-i", "alice=1"];
    for (flag, addr, needle) in [
        ("--connect", "127.0.0.1", "the port is missing"),
        ("--connect", "127.0.0.1:70000", "not a port number"),
        ("--listen", "0.0.0.0:http", "not a port number"),
        ("--connect", "127.0.0.1:0", "port 0"),
    ] {
        let started = std::time::Instant::now();
        let mut args = base.to_vec();
        args.extend([flag, addr]);
        let out = garblet(&args);
        assert_eq!(out.status.code(), Some(2), "{flag} {addr}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{flag} {addr}: {err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{flag} {addr}: no retry until the timeout"
        );
    }
    let dir = std::env::temp_dir().join(format!("garblet-audit-{}", std::process::id()));
    let missing = dir.join("no-such-dir").join("audit.jsonl");
    let mut args = base.to_vec();
    let missing = missing.to_string_lossy().into_owned();
    args.extend(["--listen", "127.0.0.1:0", "--audit-log", &missing]);
    let out = garblet(&args);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write the audit log"), "{err}");
}

#[test]
fn with_json_an_error_is_one_json_object_on_stdout_too() {
    let program = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/millionaires.gbl");
    // A usage error.
    let out = garblet(&[
        "run",
        program,
        "--as",
        "garbler",
        "--connect",
        "127.0.0.1",
        "--insecure",
        "--json",
        "-i",
        "alice=1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(v["error"]["kind"], "usage");
    assert!(v["error"]["message"].as_str().unwrap().contains("the port is missing"), "{v}");
    // A run that fails: nobody listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let out = garblet(&[
        "run",
        program,
        "--as",
        "garbler",
        "--connect",
        &addr,
        "--insecure",
        "--json",
        "--timeout",
        "1",
        "-i",
        "alice=1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(v["error"]["kind"], "network", "{v}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
}

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("garblet-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn eval_result(args: &[&str]) -> Value {
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = garblet(&all);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "nothing on stderr (no progress line off a terminal)");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["outputs"]["result"].clone()
}

const WIDE: &str =
    "fn main(#[garbler] a: u128, #[evaluator] b: u64, #[evaluator] c: i128) -> (u128, u64, i128) {
    (a + (b as u128), b, c - 1)
}";

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    /// Large JSON numbers: u128, u64 and i128 written as plain JSON numbers
    /// (on the command line and in a file) are read exactly.
    #[test]
    fn large_json_numbers_are_read_exactly(a in any::<u128>(), b in any::<u64>(), c in any::<i128>()) {
        let dir = TempDir::new("wide");
        let program = dir.file("wide.gbl", WIDE);
        let want = serde_json::json!([
            a.wrapping_add(u128::from(b)).to_string(),
            b,
            c.wrapping_sub(1).to_string(),
        ]);
        // u64 prints as a number when it fits; u128/i128 as strings past i64/u64.
        let normal = |v: Value| -> Value {
            v.as_array().unwrap().iter().map(|x| match x { Value::Number(n) => Value::String(n.to_string()), o => o.clone() }).collect()
        };
        let flags = [format!("a={a}"), format!("b={b}"), format!("c={c}")];
        let got = eval_result(&[&program, "-i", &flags[0], "-i", &flags[1], "-i", &flags[2]]);
        prop_assert_eq!(normal(got), normal(want.clone()));
        let inputs = dir.file("in.json", &format!("{{\"a\": {a}, \"b\": {b}, \"c\": {c}}}"));
        let got = eval_result(&[&program, "--inputs", &inputs]);
        prop_assert_eq!(normal(got), normal(want));
        // A Bristol input of 128 bits from a JSON number: AES-128 against RustCrypto.
        let key = a.to_be_bytes();
        let cipher = aes::Aes128::new_from_slice(&key).unwrap();
        let mut ct = aes::Block::clone_from_slice(&b.to_be_bytes().repeat(2));
        let pt = u128::from_be_bytes(ct.as_slice().try_into().unwrap());
        cipher.encrypt_block(&mut ct);
        let inputs = dir.file("aes.json", &format!("{{\"in0\": {a}, \"in1\": {pt}}}"));
        let out = garblet(&["eval", &shared("aes_128.txt"), "--inputs", &inputs, "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        prop_assert_eq!(v["outputs"]["out0"].as_str().unwrap(), hex(&ct));
    }
}

#[test]
fn large_json_numbers_that_do_not_fit_or_are_not_whole_are_errors() {
    let dir = TempDir::new("big");
    let program = example("millionaires.gbl");
    let two64 = (1u128 << 64).to_string();
    let max = u64::MAX.to_string();
    let alice = format!("alice={two64}");
    assert_one_line_error(
        &["eval", &program, "-i", &alice, "-i", "bob=1"],
        &format!("input `alice`: {two64} does not fit in u64 (0..={max})"),
    );
    let file = dir.file("big.json", &format!("{{\"alice\": {two64}, \"bob\": 1}}"));
    assert_one_line_error(&["eval", &program, "--inputs", &file], &format!("{two64} does not fit in u64"));
    for fraction in ["4200000.00000000001", "0.5", "1e-1", "-0.0001"] {
        let alice = format!("alice={fraction}");
        assert_one_line_error(&["eval", &program, "-i", &alice, "-i", "bob=1"], "is not a whole number");
        let file = dir.file("frac.json", &format!("{{\"alice\": {fraction}, \"bob\": 1}}"));
        assert_one_line_error(&["eval", &program, "--inputs", &file], "is not a whole number");
    }
    // Whole values however written, checked against Rust's comparison.
    for (alice, bob) in
        [("4200000.0", 4_200_000u64), ("4.2e6", 4_199_999), ("18446744073709551615", u64::MAX - 1)]
    {
        let a = format!("alice={alice}");
        let b = format!("bob={bob}");
        let exact: u64 = match alice {
            "4200000.0" | "4.2e6" => 4_200_000,
            other => other.parse().unwrap(),
        };
        assert_eq!(eval_result(&[&program, "-i", &a, "-i", &b]), Value::Bool(exact > bob), "{alice} > {bob}");
    }
    // Bristol inputs: a JSON number past u64 is exact, a fraction is refused.
    let file = dir.file("mult.json", &format!("{{\"in0\": {two64}, \"in1\": 2}}"));
    assert_one_line_error(&["eval", &shared("mult64.txt"), "--inputs", &file], "does not fit in 64 bits");
    let file = dir.file("mult.json", "{\"in0\": 2.5, \"in1\": 2}");
    assert_one_line_error(&["eval", &shared("mult64.txt"), "--inputs", &file], "not an unsigned integer");
}

#[test]
fn inputs_files_repeat_and_merge_and_a_name_given_twice_names_both_sources() {
    let dir = TempDir::new("inputs");
    let program = example("millionaires.gbl");
    let a = dir.file("a.json", "{\"alice\": 7}");
    let b = dir.file("b.json", "{\"bob\": 9}");
    let ab = dir.file("ab.json", "{\"alice\": 1, \"bob\": 2}");
    assert_eq!(eval_result(&[&program, "--inputs", &a, "--inputs", &b]), Value::Bool(7 > 9));
    assert_eq!(eval_result(&[&program, "--inputs", &a, "-i", "bob=3"]), Value::Bool(7 > 3));
    assert_one_line_error(
        &["eval", &program, "--inputs", &ab, "--inputs", &b],
        &format!("input `bob` is given twice, by --inputs {ab} and by --inputs {b}"),
    );
    assert_one_line_error(
        &["eval", &program, "-i", "bob=1", "--inputs", &ab],
        &format!("input `bob` is given twice, by --input and by --inputs {ab}"),
    );
    assert_one_line_error(
        &["eval", &program, "-i", "bob=1", "-i", "bob=2", "-i", "alice=1"],
        "given twice by --input",
    );
    // `demo` takes --inputs too, repeated, over its built-in defaults.
    let out = garblet(&["demo", "--inputs", &a, "--inputs", &b]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("holds alice = 7") && text.contains("holds bob = 9"), "{text}");
    assert!(text.contains("learns result = false"), "{text}");
    let out = garblet(&["demo", "--inputs", &a]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("holds alice = 7") && text.contains("holds bob = 4200000"), "{text}");
    assert_one_line_error(&["demo", "--inputs", &ab, "-i", "alice=3"], "input `alice` is given twice");
}

#[test]
fn files_are_recognised_by_content_and_a_wrong_kind_says_what_was_expected() {
    let dir = TempDir::new("kinds");
    let source = std::fs::read_to_string(example("millionaires.gbl")).unwrap();
    let credit = dir.file("credit.rs", &source);
    let aes = dir.file("aes.gbl", &std::fs::read_to_string(shared("aes_128.txt")).unwrap());
    // A program under any name compiles; a circuit under any name loads.
    assert_eq!(eval_result(&[&credit, "-i", "alice=2", "-i", "bob=1"]), Value::Bool(true));
    let out = garblet(&["stats", &aes, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["and"], 6400);
    // The wrong kind for the command.
    let out = dir.0.join("out.txt");
    let out = out.to_str().unwrap();
    assert_one_line_error(
        &["compile", &aes, "-o", out],
        "`garblet compile` takes a program in the garblet language, but",
    );
    assert!(!std::path::Path::new(out).exists());
    assert_one_line_error(&["stats", &aes, "--by-line"], "--by-line needs a program in the garblet language");
    assert_one_line_error(
        &[
            "run",
            &credit,
            "--as",
            "garbler",
            "--listen",
            "127.0.0.1:0",
            "--insecure",
            "--owner",
            "alice=garbler",
        ],
        "--owner is for circuit files, but",
    );
    // Text that is neither.
    let neither = dir.file("notes.txt", "hello\n");
    let out = garblet(&["stats", &neither]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no `fn main`") && err.contains("Bristol Fashion circuit would start"), "{err}");
    // A circuit that starts like one and breaks later says so.
    let broken = dir.file("broken.rs", "1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XNOR\n");
    assert_one_line_error(&["stats", &broken], "starts like a Bristol Fashion circuit");
    // Named as a circuit, a bad gate is just that.
    let named = dir.file("broken.txt", "1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XNOR\n");
    let out = garblet(&["stats", &named]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 5: unknown gate `XNOR`") && !err.contains("starts like"), "{err}");
}

#[test]
fn bad_paths_are_one_line_errors() {
    let dir = TempDir::new("paths");
    let program = example("millionaires.gbl");
    let missing = dir.0.join("missing.json");
    let missing = missing.to_str().unwrap();
    let here = dir.0.to_str().unwrap();
    let empty = dir.file("empty.gbl", "\n \n");
    let binary = dir.0.join("binary.gbl");
    std::fs::write(&binary, [0xffu8, 0xfe, 0x00, 0x80]).unwrap();
    let binary = binary.to_str().unwrap();
    let not_json = dir.file("inputs.json", "alice = 1");
    let not_object = dir.file("list.json", "[1, 2]");
    for (args, needle) in [
        (vec!["stats", missing], format!("cannot read {missing}")),
        (vec!["eval", here], format!("cannot read {here}")),
        (vec!["stats", &empty], format!("{empty} is empty")),
        (vec!["eval", &program, "--inputs", missing], format!("cannot read {missing}")),
        (vec!["eval", &program, "--inputs", here], format!("cannot read {here}")),
        (vec!["eval", &program, "--inputs", &not_json], format!("{not_json} is not JSON")),
        (vec!["eval", &program, "--inputs", &not_object], "must hold a JSON object".to_owned()),
        (vec!["demo", "--program", missing], format!("cannot read {missing}")),
        (vec!["demo", "--inputs", missing], format!("cannot read {missing}")),
        (vec!["compile", &program, "-o", &format!("{here}/no/such/dir/out.txt")], "cannot write".to_owned()),
    ] {
        assert_one_line_error(&args, &needle);
    }
    let out = garblet(&["stats", binary]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read") && err.contains("program in the garblet language"), "{err}");
}

/// `--input NAME=@FILE`: records from CSV (header names the fields, one row
/// per record, any column order), a value from a JSON file, and `--const`
/// sizing the program to the file; checked against the model computed in
/// Rust, and each mistake named by file, row and column.
#[test]
fn records_from_csv_and_json_files_with_the_program_sized_by_const() {
    let dir = TempDir::new("records");
    let program = example("model_benchmark.gbl");
    let weights: [i16; 8] = [3, -7, 120, 0, -32768, 32767, 5, -1];
    let bias: i32 = -1000;
    let mut x: u32 = 99;
    let mut rows = Vec::new();
    for _ in 0..37 {
        let mut f = [0i16; 8];
        for v in &mut f {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *v = (x >> 16) as i16;
        }
        rows.push((f, x & 4 == 4));
    }
    // The reference: Rust's own arithmetic.
    let want = rows
        .iter()
        .filter(|(f, label)| {
            let score = bias + f.iter().zip(weights).map(|(&a, w)| i32::from(a) * i32::from(w)).sum::<i32>();
            (score >= 0) == *label
        })
        .count();
    let mut csv = String::from(
        "label,features.7,features.6,features.5,features.4,features.3,features.2,features.1,features.0\n",
    );
    for (f, label) in &rows {
        csv.push_str(if *label { "true" } else { "0" });
        for v in f.iter().rev() {
            csv.push_str(&format!(",{v}"));
        }
        csv.push('\n');
    }
    let records = dir.file("records.csv", &csv);
    let model = dir.file("model.json", &format!("{{\"weights\": {weights:?}, \"bias\": {bias}}}"));
    let (records_arg, model_arg) = (format!("records=@{records}"), format!("model=@{model}"));
    let args = ["--const", "RECORDS=37", "-i", &model_arg, "-i", &records_arg];
    let mut all = vec![program.as_str()];
    all.extend(args);
    assert_eq!(eval_result(&all), want);

    // Mistakes, each one line naming where.
    let bad = dir.file("bad.csv", &csv.replacen(&format!("{}", rows[4].0[2]), "70000", 1));
    let row_of = csv.lines().skip(1).position(|l| l.contains(&format!(",{},", rows[4].0[2]))).unwrap() + 1;
    assert_one_line_error(
        &["eval", &program, "--const", "RECORDS=37", "-i", &model_arg, "-i", &format!("records=@{bad}")],
        &format!("input `records`: {bad}: row {row_of}, column `features.2`: 70000 does not fit in i16"),
    );
    assert_one_line_error(
        &["eval", &program, "--const", "RECORDS=36", "-i", &model_arg, "-i", &records_arg],
        "37 rows, but the input holds 36 records",
    );
    let header = dir.file("header.csv", &csv.replace("features.3", "features.03"));
    assert_one_line_error(
        &["eval", &program, "--const", "RECORDS=37", "-i", &model_arg, "-i", &format!("records=@{header}")],
        "`features.03` is not a field of Record",
    );
    assert_one_line_error(
        &["eval", &program, "-i", &model_arg, "-i", "records=@/no/such/records.csv"],
        "input `records`: cannot read /no/such/records.csv",
    );
}

/// The digest `garblet stats --json` prints for `file`.
fn digest_of(file: &str) -> String {
    let out = garblet(&["stats", file, "--json"]);
    assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["digest"].as_str().unwrap().to_owned()
}

#[test]
fn binary_circuits_have_the_digest_of_what_they_were_written_from() {
    let dir = TempDir::new("binary");
    let bin = |name: &str| dir.0.join(name).to_str().unwrap().to_owned();
    // A compiled program written as binary: the compiler's digest, and the
    // file's own blake3; names kept, values given and printed as integers.
    let source = std::fs::read_to_string(example("millionaires.gbl")).unwrap();
    let compiled = garblet::compiler::compile(&source, "millionaires.gbl").unwrap();
    let m = bin("m.bin");
    let out = garblet(&["compile", &example("millionaires.gbl"), "--format", "binary", "-o", &m]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want = compiled.circuit.digest().to_hex();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&want), "compile prints the digest");
    assert_eq!(digest_of(&m), want);
    assert_eq!(blake3::hash(&std::fs::read(&m).unwrap()).to_hex().as_str(), want);
    let out = garblet(&["eval", &m, "-i", "alice=5000000", "-i", "bob=4200000", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outputs"]["result"], "0x1");

    // A Bristol file converted to binary: the digest of the Bristol file as
    // loaded, and the FIPS-197 answer; converted back, the same function.
    let aes = shared("aes_128.txt");
    let a = bin("aes.bin");
    let out = garblet(&["convert", &aes, "--format", "binary", "-o", &a]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(digest_of(&a), digest_of(&aes));
    let (key, pt) = ("0x000102030405060708090a0b0c0d0e0f", "0x00112233445566778899aabbccddeeff");
    let back = bin("aes-again.txt");
    let out = garblet(&["convert", &a, "--format", "bristol", "-o", &back]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for file in [&a, &back] {
        let out = garblet(&["eval", file, "-i", &format!("in0={key}"), "-i", &format!("in1={pt}")]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "out0 = 0x69c4e0d86a7b0430d8cdb78070b4c55a");
    }
    // --owner applies before the conversion, so the owners are in the digest.
    let owned = bin("owned.bin");
    let out = garblet(&["convert", &aes, "--owner", "in1=garbler", "-o", &owned]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_ne!(digest_of(&owned), digest_of(&aes));
    let out = garblet(&["stats", &owned, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][1]["party"], "garbler");
}

#[test]
fn truncated_or_corrupt_binary_circuits_are_one_line_errors() {
    let dir = TempDir::new("corrupt");
    let a = dir.0.join("aes.bin").to_str().unwrap().to_owned();
    let out = garblet(&["convert", &shared("aes_128.txt"), "-o", &a]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&a).unwrap();
    let write = |name: &str, b: &[u8]| {
        let path = dir.0.join(name);
        std::fs::write(&path, b).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let half = write("half.bin", &bytes[..bytes.len() / 2]);
    assert_one_line_error(&["stats", &half], "the encoding ends after");
    assert_one_line_error(&["stats", &half], "of the 36663 gates its header declares");
    let header = write("header.bin", &bytes[..30]);
    assert_one_line_error(&["eval", &header, "-i", "in0=1"], "ends early");
    let mut b = bytes.clone();
    b[16] = 9;
    let version = write("version.bin", &b);
    assert_one_line_error(&["stats", &version], "version 9 is not supported");
    // The first gate's kind, then its first operand.
    let gates = bytes.len() - 36_663 * 13;
    assert_eq!(bytes[gates - 8..gates], 36_663u64.to_le_bytes(), "the gate count precedes the gates");
    let mut b = bytes.clone();
    b[gates] = 7;
    let tag = write("tag.bin", &b);
    assert_one_line_error(&["stats", &tag], "gate 0: unknown gate kind tag 7 (0 is XOR, 1 AND, 2 INV)");
    let mut b = bytes.clone();
    b[gates + 1..gates + 5].copy_from_slice(&4_000_000u32.to_le_bytes());
    let wire = write("wire.bin", &b);
    assert_one_line_error(&["stats", &wire], "gate 0 uses wire 4000000");
    let mut b = bytes;
    b.push(0);
    let trailing = write("trailing.bin", &b);
    assert_one_line_error(&["stats", &trailing], "1 bytes follow the last gate");
    for bad in [&half, &tag] {
        assert_one_line_error(&["stats", bad], "starts like a binary garblet circuit");
    }
    // A binary circuit is not a program.
    assert_one_line_error(&["compile", &a, "-o", &half], "`garblet convert` converts a circuit file");
    let empty = write("empty.txt", b"");
    assert_one_line_error(&["stats", &empty], "a Bristol Fashion circuit or a binary garblet circuit");
}

/// Which of the command's output pipes is closed before it starts writing.
enum Closed {
    Stdout,
    Stderr,
}

/// Runs garblet with both outputs piped and one of them closed at once
/// (its read end dropped right after the start).
fn with_a_closed_pipe(args: &[&str], closed: Closed) -> Output {
    let mut child = support::bin()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the garblet binary runs");
    match closed {
        Closed::Stdout => drop(child.stdout.take()),
        Closed::Stderr => drop(child.stderr.take()),
    }
    child.wait_with_output().expect("garblet ends")
}

/// A reader that stops reading (`garblet stats … | head -1`) ends the
/// command quietly with code 141, as SIGPIPE would in a pipeline, and not
/// with the panic and backtrace `println!` gives on a closed stdout: the
/// pipe's read end is closed before the command writes anything.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let program = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/model_benchmark.gbl");
    for args in
        [vec!["stats", program], vec!["stats", program, "--json"], vec!["stats", program, "--by-line"]]
    {
        let out = with_a_closed_pipe(&args, Closed::Stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// `compile -o -` and `convert -o -` write the circuit to stdout, the same
/// bytes as to a file, in both formats.
#[test]
fn a_circuit_written_to_dash_goes_to_stdout() {
    let dir = TempDir::new("dash-out");
    let program = example("millionaires.gbl");
    for format in ["bristol", "binary"] {
        let file = dir.0.join(format!("m.{format}"));
        let file = file.to_str().unwrap();
        let to_file = garblet(&["compile", &program, "--format", format, "-o", file]);
        assert!(to_file.status.success(), "{}", String::from_utf8_lossy(&to_file.stderr));
        let to_stdout = garblet(&["compile", &program, "--format", format, "-o", "-"]);
        assert!(to_stdout.status.success(), "{}", String::from_utf8_lossy(&to_stdout.stderr));
        assert_eq!(to_stdout.stdout, std::fs::read(file).unwrap(), "{format}");
        assert!(String::from_utf8_lossy(&to_stdout.stderr).starts_with("wrote stdout: "));
        let converted = garblet(&["convert", file, "--format", format, "-o", "-"]);
        assert!(converted.status.success(), "{}", String::from_utf8_lossy(&converted.stderr));
        if format == "binary" {
            assert_eq!(converted.stdout, to_stdout.stdout, "a binary circuit converts to itself");
        }
    }
}

/// A closed stderr does not turn a message into a panic: a usage error
/// still exits with 2 and a finished command with 0 (a panic exits 101).
#[test]
fn a_closed_stderr_changes_no_exit_code() {
    let program = example("millionaires.gbl");
    for (args, code) in [
        (vec!["eval", program.as_str(), "-i", "alice=1"], 2),
        (vec!["compile", program.as_str(), "-o", "-"], 0),
    ] {
        let out = with_a_closed_pipe(&args, Closed::Stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
}
