//! The `garblet` binary as a user runs it: `stats` and `eval` on the shared
//! Bristol circuits against SOURCE.md and against the RustCrypto AES and
//! SHA-256, and the one-line errors with exit code 2.

use aes::cipher::{BlockEncrypt, KeyInit};
use proptest::prelude::*;
use serde_json::Value;
use std::process::{Command, Output};

fn garblet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_garblet")).args(args).output().expect("the garblet binary runs")
}

fn shared(name: &str) -> String {
    format!("{}/circuits/bristol/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(v["error"]["kind"], "network", "{v}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
}
