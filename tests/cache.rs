//! The circuit cache (`--cache DIR`, `GARBLET_CACHE`): a Bristol file read
//! once is loaded from its binary form afterwards, with the same outputs
//! (checked against RustCrypto's AES); a corrupt entry is a warning and a
//! rebuild, never a wrong output; a changed source misses; parties and runs
//! sharing a directory never see half a file.

use aes::cipher::{BlockEncrypt, KeyInit};
use garblet_testkit::hex;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::{args, bin, free_port, shared, spawn, Scratch};

mod support;

const KEY: [u8; 16] = *b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f";
const PT: [u8; 16] = *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff";

fn rustcrypto(key: &[u8; 16], pt: &[u8; 16]) -> String {
    let cipher = aes::Aes128::new_from_slice(key).unwrap();
    let mut ct = aes::Block::clone_from_slice(pt);
    cipher.encrypt_block(&mut ct);
    hex(&ct)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `garblet eval FILE --json` of AES-128 on KEY and PT, with `extra` arguments.
fn eval_aes(file: &Path, extra: &[&str]) -> Output {
    let mut a = args(&["eval", file.to_str().unwrap(), "--json", "-i", &format!("in0={}", hex(&KEY))]);
    a.extend(args(&["-i", &format!("in1={}", hex(&PT))]));
    a.extend(args(extra));
    bin().args(&a).env_remove("GARBLET_CACHE").output().unwrap()
}

/// The `out0` of a successful `eval --json`.
fn out0(out: &Output) -> String {
    assert!(out.status.success(), "stderr: {}", stderr(out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["outputs"]["out0"].as_str().unwrap().to_owned()
}

/// The digest `garblet stats --json` prints (no cache).
fn digest_of(file: &Path) -> String {
    let out =
        bin().args(["stats", file.to_str().unwrap(), "--json"]).env_remove("GARBLET_CACHE").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["digest"].as_str().unwrap().to_owned()
}

/// A copy of the shared AES-128 circuit in `s`, to edit.
fn aes_copy(s: &Scratch) -> PathBuf {
    let path = s.path("aes_128.txt");
    std::fs::copy(shared("aes_128.txt"), &path).unwrap();
    path
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_second_load_hits_and_gives_the_same_outputs() {
    let s = Scratch::new("cache-hit");
    let aes = aes_copy(&s);
    let cache = s.path("cache");
    let cache_arg = cache.to_str().unwrap();
    let want = rustcrypto(&KEY, &PT);
    let digest = digest_of(&aes);

    let first = eval_aes(&aes, &["--cache", cache_arg]);
    assert_eq!(out0(&first), want);
    assert!(
        stderr(&first).contains(&format!("cached {} as {digest} in {cache_arg}", aes.display())),
        "{}",
        stderr(&first)
    );
    assert_eq!(files_in(&cache.join("circuits")), vec![format!("{digest}.gbc")]);
    // The entry is the binary circuit: its blake3 is the digest.
    let bytes = std::fs::read(cache.join("circuits").join(format!("{digest}.gbc"))).unwrap();
    assert_eq!(blake3::hash(&bytes).to_hex().as_str(), digest);

    let second = eval_aes(&aes, &["--cache", cache_arg]);
    assert_eq!(out0(&second), want);
    assert!(
        stderr(&second).contains(&format!("cache hit: loaded {digest} from {cache_arg}")),
        "{}",
        stderr(&second)
    );
    assert!(!stderr(&second).contains("cached "), "{}", stderr(&second));

    // GARBLET_CACHE does the same; stats on a hit prints the same digest.
    let out =
        bin().args(["stats", aes.to_str().unwrap(), "--json"]).env("GARBLET_CACHE", &cache).output().unwrap();
    assert!(stderr(&out).contains("cache hit"), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["digest"], digest);

    // Without the cache nothing is said about one.
    let plain = eval_aes(&aes, &[]);
    assert_eq!(out0(&plain), want);
    assert!(!stderr(&plain).contains("cache"), "{}", stderr(&plain));

    // --owner applies after the cache: the same entry, another circuit.
    let owned = s.path("owned.gbc");
    let out = bin()
        .args(["convert", aes.to_str().unwrap(), "--owner", "in1=garbler", "-o", owned.to_str().unwrap()])
        .args(["--cache", cache_arg])
        .env_remove("GARBLET_CACHE")
        .output()
        .unwrap();
    assert!(out.status.success() && stderr(&out).contains("cache hit"), "{}", stderr(&out));
    assert_ne!(digest_of(&owned), digest);
    let out = bin().args(["stats", owned.to_str().unwrap(), "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][1]["party"], "garbler");
}

#[test]
fn a_corrupt_entry_is_a_warning_and_a_rebuild_never_a_wrong_output() {
    let s = Scratch::new("cache-corrupt");
    let aes = aes_copy(&s);
    let cache = s.path("cache");
    let cache_arg = cache.to_str().unwrap();
    let want = rustcrypto(&KEY, &PT);
    let digest = digest_of(&aes);
    assert_eq!(out0(&eval_aes(&aes, &["--cache", cache_arg])), want);
    let entry = cache.join("circuits").join(format!("{digest}.gbc"));
    let good = std::fs::read(&entry).unwrap();

    // A flipped bit in a gate's operand, one in a gate's kind (XOR and AND
    // swapped: still a valid circuit, a different function), a truncated
    // file, a missing one.
    let gates = good.len() - 36_663 * 13;
    let mut operand = good.clone();
    operand[gates + 1] ^= 1;
    let mut kind = good.clone();
    kind[gates] ^= 1;
    let damages: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("operand", Some(operand)),
        ("kind", Some(kind)),
        ("truncated", Some(good[..good.len() / 2].to_vec())),
        ("empty", Some(Vec::new())),
        ("missing", None),
    ];
    for (what, bytes) in damages {
        match bytes {
            Some(b) => std::fs::write(&entry, b).unwrap(),
            None => std::fs::remove_file(&entry).unwrap(),
        }
        let out = eval_aes(&aes, &["--cache", cache_arg]);
        assert_eq!(out0(&out), want, "{what}");
        let err = stderr(&out);
        assert!(err.contains("warning: the cache entry for") && err.contains("is unusable"), "{what}: {err}");
        assert!(err.contains(&format!("cached {} as {digest}", aes.display())), "{what}: {err}");
        assert!(!err.contains("cache hit"), "{what}: {err}");
        assert_eq!(std::fs::read(&entry).unwrap(), good, "{what}: rebuilt");
        let again = eval_aes(&aes, &["--cache", cache_arg]);
        assert_eq!(out0(&again), want);
        assert!(stderr(&again).contains("cache hit"), "{what}: {}", stderr(&again));
    }

    // A damaged index entry: the same.
    let sources = cache.join("sources");
    let index = sources.join(&files_in(&sources)[0]);
    for text in ["not a digest\n", "", &format!("{}\n", "0".repeat(64))] {
        std::fs::write(&index, text).unwrap();
        let out = eval_aes(&aes, &["--cache", cache_arg]);
        assert_eq!(out0(&out), want, "{text:?}");
        assert!(stderr(&out).contains("is unusable"), "{text:?}: {}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&index).unwrap(), format!("{digest}\n"));
    }
}

#[test]
fn a_changed_source_misses() {
    let s = Scratch::new("cache-changed");
    let aes = aes_copy(&s);
    let cache = s.path("cache");
    let cache_arg = cache.to_str().unwrap();
    let want = rustcrypto(&KEY, &PT);
    assert_eq!(out0(&eval_aes(&aes, &["--cache", cache_arg])), want);

    // One gate changed: the last XOR becomes an AND.
    let text = std::fs::read_to_string(&aes).unwrap();
    let at = text.rfind(" XOR").unwrap();
    let changed = format!("{} AND{}", &text[..at], &text[at + 4..]);
    std::fs::write(&aes, changed).unwrap();
    let plain = out0(&eval_aes(&aes, &[]));
    assert_ne!(plain, want, "the change shows in the output");
    let out = eval_aes(&aes, &["--cache", cache_arg]);
    assert_eq!(out0(&out), plain);
    assert!(stderr(&out).contains("cached ") && !stderr(&out).contains("cache hit"), "{}", stderr(&out));
    assert_eq!(files_in(&cache.join("circuits")).len(), 2);

    // A byte that changes no gate (a trailing newline) is another source
    // too, but the same circuit: one more index entry, no more circuits.
    let mut bytes = std::fs::read(&aes).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&aes, bytes).unwrap();
    let out = eval_aes(&aes, &["--cache", cache_arg]);
    assert_eq!(out0(&out), plain);
    assert!(stderr(&out).contains("cached "), "{}", stderr(&out));
    assert_eq!(files_in(&cache.join("circuits")).len(), 2);
    assert_eq!(files_in(&cache.join("sources")).len(), 3);
}

#[test]
fn programs_are_compiled_every_time_so_constants_never_go_stale() {
    let s = Scratch::new("cache-const");
    let cache = s.path("cache");
    let program = s.path("sum.gbl");
    std::fs::write(
        &program,
        "const N: u32 = 2;\nfn main(#[garbler] a: u32, #[evaluator] b: u32) -> u32 { a + b * N }\n",
    )
    .unwrap();
    let result = |n: &str| {
        let out = bin()
            .args(["eval", program.to_str().unwrap(), "--json", "-i", "a=1", "-i", "b=10"])
            .args(["--const", &format!("N={n}"), "--cache", cache.to_str().unwrap()])
            .env_remove("GARBLET_CACHE")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains("programs are compiled every time"), "{}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["outputs"]["result"].clone()
    };
    assert_eq!(result("3"), 31);
    assert_eq!(result("5"), 51);
    assert_eq!(result("3"), 31);
    assert!(files_in(&cache.join("circuits")).is_empty());
}

#[test]
fn runs_sharing_a_directory_never_see_half_a_file() {
    let s = Scratch::new("cache-concurrent");
    let aes = aes_copy(&s);
    let cache = s.path("cache");
    let cache_arg = cache.to_str().unwrap().to_owned();
    let want = rustcrypto(&KEY, &PT);
    let digest = digest_of(&aes);
    for round in 0..3 {
        let children: Vec<_> = (0..6)
            .map(|_| {
                let mut a = args(&["eval", aes.to_str().unwrap(), "--json", "--cache", &cache_arg]);
                a.extend(args(&["-i", &format!("in0={}", hex(&KEY)), "-i", &format!("in1={}", hex(&PT))]));
                spawn(&a)
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(out0(&out), want, "round {round}");
            assert!(!stderr(&out).contains("warning"), "round {round}: {}", stderr(&out));
        }
    }
    // No temporary file is left behind.
    assert_eq!(files_in(&cache.join("circuits")), vec![format!("{digest}.gbc")]);
    assert_eq!(files_in(&cache.join("sources")).len(), 1);
}

#[test]
fn two_parties_share_a_cache_and_agree_with_rustcrypto() {
    let s = Scratch::new("cache-run");
    let aes = aes_copy(&s);
    let cache = s.path("cache");
    let cache_arg = cache.to_str().unwrap().to_owned();
    let key = *b"cache key 16 byt";
    let pt = *b"plaintext block!";
    let want = rustcrypto(&key, &pt);
    for round in 0..2 {
        let listen = format!("127.0.0.1:{}", free_port());
        let common = ["--insecure", "--json", "--cache", &cache_arg];
        let mut g = args(&["run", aes.to_str().unwrap(), "--as", "garbler", "--listen", &listen]);
        g.extend(args(&common));
        g.extend(args(&["-i", &format!("in0={}", hex(&key))]));
        let mut e = args(&["run", aes.to_str().unwrap(), "--as", "evaluator", "--connect", &listen]);
        e.extend(args(&common));
        e.extend(args(&["-i", &format!("in1={}", hex(&pt))]));
        let (g, e) = (spawn(&g), spawn(&e));
        for out in [g.wait_with_output().unwrap(), e.wait_with_output().unwrap()] {
            assert!(out.status.success(), "round {round}: {}", stderr(&out));
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["outputs"]["out0"], want.as_str(), "round {round}");
            if round == 1 {
                assert!(stderr(&out).contains("cache hit"), "{}", stderr(&out));
            }
        }
    }
}

#[test]
fn an_unusable_cache_directory_is_a_usage_error() {
    let s = Scratch::new("cache-bad-dir");
    let aes = aes_copy(&s);
    let file = s.path("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = eval_aes(&aes, &["--cache", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot use the cache directory"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn a_service_takes_the_cache_from_its_configuration_or_the_flag() {
    let s = Scratch::new("cache-serve");
    aes_copy(&s);
    support::keygen(&s.path("id"));
    std::fs::write(s.path("in.json"), format!("{{\"in1\": \"{}\"}}", hex(&PT))).unwrap();
    let config = s.path("service.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nidentity = \"id\"\naudit_log = \"audit.jsonl\"\ncache = \"c\"\n\n[[peer]]\nname = \"vendor\"\nfingerprint = \"{}\"\n\n[[program]]\nname = \"aes\"\npath = \"aes_128.txt\"\nrole = \"evaluator\"\ninputs = \"in.json\"\npeers = [\"vendor\"]\nmax_runs = 1\nwindow = \"1h\"\n",
            "ab".repeat(32)
        ),
    )
    .unwrap();
    let check = |extra: &[&str]| {
        let out = bin()
            .args(["serve", "--check", "--config", config.to_str().unwrap()])
            .args(extra)
            .env_remove("GARBLET_CACHE")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    // Relative to the configuration's directory.
    let c = s.path("c");
    assert!(check(&[]).contains(&format!("cached {}", s.path("aes_128.txt").display())));
    assert!(check(&[]).contains(&format!(
        "cache hit: loaded {} from {}",
        digest_of(&s.path("aes_128.txt")),
        c.display()
    )));
    // --cache wins.
    let other = s.path("other");
    assert!(check(&["--cache", other.to_str().unwrap()]).contains(&format!("in {}", other.display())));
}

#[test]
fn an_empty_garblet_cache_is_no_cache() {
    let s = Scratch::new("cache-env-empty");
    let aes = aes_copy(&s);
    let out = bin()
        .args(["stats", aes.to_str().unwrap()])
        .env("GARBLET_CACHE", "")
        .current_dir(s.path(""))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("cache"), "{}", stderr(&out));
}
