//! `cohort(count, K, value)`, the minimum-cohort guard: against a Rust
//! reference (`if count >= K { value } else { every bit set }`) on counts
//! around `K` and values of several types, its AND cost as the cost table
//! in docs/LANGUAGE.md says, and the program's cohort rule
//! (`Program::cohort`), including every way a result bit can escape it.

mod common;
use common::*;
use garblet_compiler::{compile, compile_with, Options};
use serde_json::{json, Value};

use rand::rngs::StdRng as Rng;
use rand::{RngCore, SeedableRng};

/// Counts around `k` (from k − 4 to k + 4, clamped at 0), 0, the type's
/// maximum, and random ones.
fn counts(k: u64, max: u64, rng: &mut Rng) -> Vec<u64> {
    let mut out: Vec<u64> = (k.saturating_sub(4)..=k + 4).filter(|&c| c <= max).collect();
    out.extend([0, max]);
    out.extend((0..8).map(|_| rng.next_u64() % (max.min(4 * k.max(1)) + 1)));
    out
}

#[test]
fn the_guard_releases_the_value_at_k_and_above_and_the_sentinel_below() {
    const K: u64 = 50;
    let mut rng = Rng::seed_from_u64(13);
    // (type of value, its sentinel, a random value as JSON).
    type Gen = fn(&mut Rng) -> Value;
    let cases: [(&str, Value, Gen); 6] = [
        ("u8", json!(u8::MAX), |r| json!(r.next_u64() as u8)),
        ("u32", json!(u32::MAX), |r| json!(r.next_u64() as u32)),
        ("i16", json!(-1), |r| json!(r.next_u64() as i16)),
        ("bool", json!(true), |r| json!(r.next_u64() & 1 == 1)),
        ("[u8; 3]", json!([255, 255, 255]), |r| {
            json!([r.next_u64() as u8, r.next_u64() as u8, r.next_u64() as u8])
        }),
        (
            "Stat",
            json!({"correct": u32::MAX, "score": -1, "ok": true}),
            |r| json!({"correct": r.next_u64() as u32, "score": r.next_u64() as i16, "ok": r.next_u64() & 1 == 1}),
        ),
    ];
    for count_ty in ["u8", "u16", "u64"] {
        let max = match count_ty {
            "u8" => u64::from(u8::MAX),
            "u16" => u64::from(u16::MAX),
            _ => u64::MAX,
        };
        for (ty, sentinel, gen) in &cases {
            let src = format!(
                "struct Stat {{ correct: u32, score: i16, ok: bool }}\n\
                 const K: {count_ty} = {K};\n\
                 fn main(#[garbler] v: {ty}, #[evaluator] n: {count_ty}) -> {ty} {{ cohort(n, K, v) }}"
            );
            let p = build(&src);
            assert_eq!(p.cohort, Some(u128::from(K)), "{src}");
            for n in counts(K, max, &mut rng) {
                let v = gen(&mut rng);
                let want = if n >= K { v.clone() } else { sentinel.clone() };
                assert_eq!(run(&p, &[v.clone(), json!(n)]), want, "count {n}: {count_ty}, value {v} ({ty})");
            }
        }
    }
}

#[test]
fn the_guard_costs_what_the_cost_table_says() {
    // count >= K on n bits: n − tz(K) − 1; the release: one per value bit.
    let cost = |count: &str, k: u64, value: &str| {
        ands(&format!(
            "struct Stat {{ correct: u32, score: i16, ok: bool }}\n\
             fn main(#[garbler] v: {value}, #[evaluator] n: {count}) -> {value} {{ cohort(n, {k}, v) }}"
        ))
    };
    assert_eq!(cost("u32", 50, "u32"), 30 + 32);
    assert_eq!(cost("u32", 50, "bool"), 30 + 1);
    assert_eq!(cost("u16", 50, "Stat"), 14 + 49);
    assert_eq!(cost("u32", 1, "u8"), 31 + 8);
    assert_eq!(cost("u32", 64, "u8"), 25 + 8);
    assert_eq!(cost("u32", 0x8000_0000, "u8"), 8, "n − tz(K) − 1 = 0");
    assert_eq!(cost("u64", 50, "u32"), 62 + 32);
    // K = 0 always releases: the value passes through, no gate.
    assert_eq!(cost("u32", 0, "u32"), 0);
    // Constant bits of the value are free (a 1 stays 1, a 0 is ¬(count ≥ K)).
    assert_eq!(
        ands("fn main(#[garbler] v: u8, #[evaluator] n: u32) -> (u8, u8) { cohort(n, 50, (v, 0x0fu8)) }"),
        30 + 8
    );
    // A guard inside a loop body runs once per iteration; a per-record
    // count feeding one guard pays the comparison once.
    let src = "fn main(#[garbler] v: [u16; 4], #[evaluator] n: [u32; 4]) -> [u16; 4] {
        let mut out = [0u16; 4];
        for i in 0..4 { out[i] = cohort(n[i], 50, v[i]); }
        out
    }";
    assert_eq!(ands(src), 4 * (30 + 16));
    // `stats --by-line`: the guard's gates are charged to its line, and
    // the lines still add up to the circuit.
    let p = build("fn main(#[garbler] v: u32, #[evaluator] n: u32) -> u32 {\n    let r = v * 3;\n    cohort(n, 50, r)\n}");
    let total: u64 = p.line_costs.iter().map(|&(_, n)| n).sum();
    assert_eq!(total, p.circuit.stats().and);
    assert_eq!(p.line_costs.iter().find(|&&(line, _)| line == 3), Some(&(3, 30 + 32)));
}

#[test]
fn k_is_a_constant_that_const_can_set() {
    let src = "const K: u32 = 50;\n\
               fn main(#[garbler] v: u32, #[evaluator] n: u32) -> u32 { cohort(n, K, v) }";
    assert_eq!(build(src).cohort, Some(50));
    let p = compile_with(src, "t.gbl", &Options::new().with_const("K", "7"), &|_| {}).unwrap();
    assert_eq!(p.cohort, Some(7));
    assert_eq!(p.cohort_term(), Some(("cohort result".to_owned(), "7".to_owned())));
    assert_eq!(run(&p, &[json!(1234), json!(7)]), json!(1234));
    assert_eq!(run(&p, &[json!(1234), json!(6)]), json!(u32::MAX));
    // Computed from constants is a constant too.
    let src = "const K: u32 = 5;\n\
               fn main(#[garbler] v: u32, #[evaluator] n: u32) -> u32 { cohort(n, K * 10, v) }";
    assert_eq!(build(src).cohort, Some(50));
}

/// `Program::cohort` of `main(a: u32, b: u32, c: u8, n: u32, m: u32) -> T { body }`.
fn rule(ret: &str, body: &str) -> Option<u128> {
    build(&format!(
        "struct Pair {{ x: u32, y: u32 }}\n\
         fn guard(n: u32, v: u32) -> u32 {{ cohort(n, 60, v) }}\n\
         fn main(#[garbler] a: u32, #[garbler] b: u32, #[garbler] c: u8, #[evaluator] n: u32, #[evaluator] m: u32) -> {ret} {{ {body} }}"
    ))
    .cohort
}

#[test]
fn the_rule_holds_only_when_every_secret_result_bit_comes_out_of_a_guard() {
    // Guarded: directly, through variables, structs, functions, casts.
    assert_eq!(rule("u32", "cohort(n, 50, a)"), Some(50));
    assert_eq!(rule("u32", "let r = cohort(n, 50, a + b); r"), Some(50));
    assert_eq!(rule("Pair", "cohort(n, 50, Pair { x: a, y: b })"), Some(50));
    assert_eq!(rule("Pair", "let p = cohort(n, 50, Pair { x: a, y: b }); Pair { x: p.y, y: p.x }"), Some(50));
    assert_eq!(rule("u32", "guard(n, a)"), Some(60));
    assert_eq!(rule("u64", "cohort(n, 50, a) as u64"), Some(50));
    assert_eq!(rule("u8", "cohort(n, 50, a) as u8"), Some(50));
    // Several guards: the smallest K; nested: the outer one's K.
    assert_eq!(rule("(u32, u32)", "(cohort(n, 50, a), cohort(m, 80, b))"), Some(50));
    assert_eq!(rule("u32", "cohort(n, 80, cohort(n, 50, a))"), Some(80));
    // K = 0 is a guard that always releases: the rule says so.
    assert_eq!(rule("u32", "cohort(n, 0, a)"), Some(0));
    // Constant bits reveal nothing, whatever the count.
    assert_eq!(rule("(u32, u8)", "(cohort(n, 50, a), 7u8)"), Some(50));
    assert_eq!(rule("(u32, u8)", "cohort(n, 50, (a, 255u8))"), Some(50));
    // A bit equal, wire for wire, to a guard's output is that output:
    // `n < 50` is exactly what `cohort(n, 50, 0u8)` releases (all ones
    // below 50), and reveals nothing more.
    assert_eq!(rule("(u8, bool)", "(cohort(n, 50, 0u8), n < 50)"), Some(50));

    // Not guarded: a part outside every guard, or anything computed from a
    // guard's output afterwards.
    assert_eq!(rule("(u32, u32)", "(cohort(n, 50, a), b)"), None);
    assert_eq!(rule("u32", "cohort(n, 50, a) + b"), None);
    assert_eq!(rule("u32", "cohort(n, 50, a) + 1"), None);
    assert_eq!(rule("u32", "!cohort(n, 50, a)"), None);
    assert_eq!(rule("u32", "cohort(n, 50, a) & b"), None);
    assert_eq!(rule("bool", "cohort(n, 50, a) == b"), None);
    assert_eq!(rule("(u32, bool)", "(cohort(n, 50, a), n >= 50)"), None);
    assert_eq!(rule("u32", "if c > 3 { cohort(n, 50, a) } else { cohort(n, 50, b) }"), None);
    assert_eq!(rule("u32", "let mut r = cohort(n, 50, a); if c > 3 { r = b; } r"), None);
    assert_eq!(rule("u32", "a"), None);
    // No guard and nothing secret: no rule to claim.
    assert_eq!(rule("u8", "7"), None);
    // The same value in two guards: the bits carry the larger K (both
    // statements are true; the larger is the one worth making).
    assert_eq!(rule("u32", "let x = cohort(n, 50, a); let y = cohort(n, 50, a); x | y"), Some(50));
}

#[test]
fn mistakes_are_clear_errors() {
    let err = |src: &str| match compile(src, "t.gbl") {
        Ok(_) => panic!("compiled: {src}"),
        Err(e) => e.render_plain(src, "t.gbl"),
    };
    let head =
        "fn main(#[garbler] v: u32, #[evaluator] n: u32, #[evaluator] s: i32, #[evaluator] k: u32) -> u32";
    let cases = [
        ("cohort(n, v)", "`cohort` takes 3 argument(s), 2 given"),
        ("cohort(s, 50, v)", "the count of `cohort` must be an unsigned integer, found i32"),
        ("cohort(n > 3, 50, v)", "the count of `cohort` must be an unsigned integer, found bool"),
        ("cohort(n, 50u8, v)", "mismatched types: expected u32, found u8"),
        ("cohort(n, k, v)", "the minimum `K` of `cohort` must be known at compile time"),
        ("cohort(7u32, 50, v)", "the count of `cohort` is known at compile time (7)"),
        ("cohort(n, 5_000_000_000, v)", "literal out of range"),
    ];
    for (body, want) in cases {
        let src = format!("{head} {{ {body} }}");
        let e = err(&src);
        assert!(e.contains(want), "{body}: {want:?} not in\n{e}");
    }
    let e = err("fn main(#[garbler] v: u32) -> u32 { let mut n = 0; cohort(n, 3, v) }");
    assert!(e.contains("must be an unsigned integer, found an integer that nothing gives a type"), "{e}");
    assert!(e.contains("0u32"), "{e}");
}

/// The governed example (examples/governed/): guarded by K = 4, its guard
/// costs 9 ANDs (the counts have 4 significant bits), and the vendor's
/// two filters give the figures and the sentinel.
#[test]
fn the_governed_example_releases_only_large_cohorts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/governed/");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).unwrap();
    let source = read("model_eval.gbl");
    let p = build(&source);
    assert_eq!(p.cohort, Some(4));
    let guard_line = source.lines().position(|l| l.contains("cohort(matched, K")).unwrap() as u32 + 1;
    assert_eq!(p.line_costs.iter().find(|&&(l, _)| l == guard_line), Some(&(guard_line, 9)));
    let records: Value = serde_json::from_str(&read("records.json")).unwrap();
    for (file, want) in [
        ("model.json", json!({"matched": 5, "correct": 4})),
        ("narrow.json", json!({"matched": 255, "correct": 255})),
    ] {
        let vendor: Value = serde_json::from_str(&read(file)).unwrap();
        let got = run(&p, &[vendor["model"].clone(), vendor["filter"].clone(), records["records"].clone()]);
        assert_eq!(got, want, "{file}");
    }
}
