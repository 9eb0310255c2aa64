//! `break` and `continue` in unrolled loops: each program is checked
//! against the same code run as Rust on random secret inputs, and the AND
//! counts against what the semantics promise (a `break` known at compile
//! time is free; a loop that never exits costs what it did before).

mod common;
use common::*;
use garblet_compiler::{Program, StreamLoops};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

/// Checks `program` against `reference` on `trials` inputs drawn by `inputs`.
fn check(
    program: &Program,
    seed: u64,
    trials: usize,
    inputs: impl Fn(&mut StdRng) -> Vec<Value>,
    reference: impl Fn(&[Value]) -> Value,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..trials {
        let ins = inputs(&mut rng);
        assert_eq!(run(program, &ins), reference(&ins), "inputs {ins:?}");
    }
}

fn small_array(rng: &mut StdRng, n: usize, lo: i64, hi: i64) -> Value {
    json!((0..n).map(|_| rng.gen_range(lo..hi)).collect::<Vec<i64>>())
}

const FIND_FIRST: &str = "
fn main(#[garbler] xs: [u32; 16], #[evaluator] v: u32) -> u32 {
    let mut idx: u32 = 16;
    for i in 0..16 {
        if xs[i] == v {
            idx = i as u32;
            break;
        }
    }
    idx
}";

/// The same search without `break`: the first match wins because of a flag.
const FIND_FIRST_FLAG: &str = "
fn main(#[garbler] xs: [u32; 16], #[evaluator] v: u32) -> u32 {
    let mut idx: u32 = 16;
    let mut found = false;
    for i in 0..16 {
        if !found && xs[i] == v {
            idx = i as u32;
            found = true;
        }
    }
    idx
}";

fn find_first(ins: &[Value]) -> Value {
    let xs = ints(&ins[0]);
    let v = ins[1].as_i64().unwrap();
    let mut idx = 16;
    for (i, &x) in xs.iter().enumerate() {
        if x == v {
            idx = i;
            break;
        }
    }
    json!(idx)
}

fn find_inputs(rng: &mut StdRng) -> Vec<Value> {
    vec![small_array(rng, 16, 0, 24), json!(rng.gen_range(0..24))]
}

#[test]
fn find_first_with_a_secret_break() {
    let p = build(FIND_FIRST);
    check(&p, 1, 200, find_inputs, find_first);
    let flag = build(FIND_FIRST_FLAG);
    check(&flag, 2, 50, find_inputs, find_first);
    // A secret `break` costs what the flag written by hand costs: 16
    // comparisons of 31 ANDs, then about 5 ANDs per iteration.
    let (with_break, with_flag) = (p.and_count(), flag.and_count());
    println!("find-first over 16 u32: {with_break} ANDs with `break`, {with_flag} with a flag");
    assert_eq!(with_break, 571);
    assert_eq!(with_flag, 571);
    // `--by-line` still adds up.
    assert_eq!(p.line_costs.iter().map(|(_, n)| n).sum::<u64>(), with_break);
}

#[test]
fn sum_skipping_negatives_with_continue() {
    let src = "
fn main(#[garbler] xs: [i32; 12], #[evaluator] limit: i32) -> (i32, u32) {
    let mut sum: i32 = 0;
    let mut skipped: u32 = 0;
    for x in xs {
        if x < 0 {
            skipped += 1;
            continue;
        }
        if x > limit {
            continue;
        }
        sum += x;
    }
    (sum, skipped)
}";
    let p = build(src);
    // `continue` costs no more than the `if`s written around the rest.
    let nested = build(
        &src.replace("skipped += 1;\n            continue;\n        }", "skipped += 1;\n        } else {")
            .replace(
                "if x > limit {\n            continue;\n        }\n        sum += x;",
                "if x <= limit {\n            sum += x;\n        }\n        }",
            ),
    );
    println!(
        "sum skipping negatives: {} ANDs with `continue`, {} with nested `if`s",
        p.and_count(),
        nested.and_count()
    );
    assert!(p.and_count() <= nested.and_count());
    check(
        &p,
        3,
        200,
        |rng| vec![small_array(rng, 12, -1000, 1000), json!(rng.gen_range(-100..1000))],
        |ins| {
            let limit = ins[1].as_i64().unwrap() as i32;
            let (mut sum, mut skipped) = (0i32, 0u32);
            for x in ints(&ins[0]) {
                let x = x as i32;
                if x < 0 {
                    skipped += 1;
                    continue;
                }
                if x > limit {
                    continue;
                }
                sum += x;
            }
            json!([sum, skipped])
        },
    );
}

#[test]
fn break_in_the_inner_loop_leaves_only_the_inner_loop() {
    // For each row: the sum of its elements up to the first zero; and the
    // number of rows whose prefix reached `cap` (with `continue` in the
    // outer loop after an inner `break`).
    let src = "
fn main(#[garbler] rows: [[u8; 6]; 5], #[evaluator] cap: u16) -> ([u16; 5], u8) {
    let mut sums = [0u16; 5];
    let mut capped: u8 = 0;
    for r in 0..5 {
        let mut s: u16 = 0;
        for c in 0..6 {
            if rows[r][c] == 0 {
                break;
            }
            s += rows[r][c] as u16;
            if s >= cap {
                s = cap;
                break;
            }
        }
        sums[r] = s;
        if s < cap {
            continue;
        }
        capped += 1;
    }
    (sums, capped)
}";
    let p = build(src);
    check(
        &p,
        4,
        200,
        |rng| {
            let rows: Vec<Value> = (0..5).map(|_| small_array(rng, 6, 0, 12)).collect();
            vec![json!(rows), json!(rng.gen_range(1..60))]
        },
        |ins| {
            let cap = ins[1].as_i64().unwrap() as u16;
            let mut sums = [0u16; 5];
            let mut capped = 0u8;
            for (r, row) in ins[0].as_array().unwrap().iter().enumerate() {
                let row = ints(row);
                let mut s: u16 = 0;
                for &x in row.iter() {
                    if x == 0 {
                        break;
                    }
                    s += x as u16;
                    if s >= cap {
                        s = cap;
                        break;
                    }
                }
                sums[r] = s;
                if s < cap {
                    continue;
                }
                capped += 1;
            }
            json!([sums, capped])
        },
    );
}

#[test]
fn a_break_known_at_compile_time_costs_nothing() {
    let breaking = "
fn main(#[garbler] a: [u32; 16], #[evaluator] b: u32) -> u32 {
    let mut s: u32 = b;
    for i in 0..16 {
        if i == 5 {
            break;
        }
        if i % 2 == 1 {
            continue;
        }
        s = s * a[i] + 1;
    }
    s
}";
    let truncated = "
fn main(#[garbler] a: [u32; 16], #[evaluator] b: u32) -> u32 {
    let mut s: u32 = b;
    for i in (0..5).step_by(2) {
        s = s * a[i] + 1;
    }
    s
}";
    let p = build(breaking);
    let q = build(truncated);
    assert_eq!(p.and_count(), q.and_count());
    assert_eq!(p.digest(), q.digest(), "the same circuit");
    check(
        &p,
        5,
        50,
        |rng| vec![small_array(rng, 16, 0, 1 << 20), json!(rng.gen_range(0..1 << 30))],
        |ins| {
            let a = ints(&ins[0]);
            let mut s = ins[1].as_i64().unwrap() as u32;
            for i in (0..5).step_by(2) {
                s = s.wrapping_mul(a[i] as u32).wrapping_add(1);
            }
            json!(s)
        },
    );
}

#[test]
fn loops_without_break_cost_what_they_did() {
    // AND and gate counts pinned from the compiler before `break` existed
    // (commit 91cd947): a loop that never exits on a secret condition
    // compiles to the same circuit.
    let cases: [(&str, u64, u64); 4] = [
        (FIND_FIRST_FLAG, 571, 1699),
        (
            "fn main(#[garbler] a: [i32; 8], #[evaluator] b: i32) -> i32 {
                let mut best = a[0];
                for x in a { if x - b > best { best = x - b; } }
                for i in 0..8 { if a[i] < 0 { return best; } }
                best
            }",
            821,
            3985,
        ),
        (
            "fn main(#[garbler] a: [u16; 10], #[evaluator] b: [u16; 10]) -> u32 {
                let mut s: u32 = 0;
                for i in 0..10 { for j in 0..10 { if a[i] == b[j] { s += 1; } } }
                s
            }",
            1597,
            5266,
        ),
        (
            "fn classify(x: i32) -> u8 {
                if x < 0 { return 0; }
                if x == 0 { return 1; }
                let mut r = 2;
                if x > 100 { r = 3; if x > 1000 { return 4; } }
                r
            }
            fn main(#[garbler] a: [i32; 6], #[evaluator] b: i32) -> u32 {
                let mut s: u32 = 0;
                for x in a { s += classify(x - b) as u32; if x > b { s = s * 3; } else { s ^= 5; } }
                s
            }",
            1453,
            6275,
        ),
    ];
    for (src, ands, gates) in cases {
        let p = build(src);
        assert_eq!((p.circuit.stats().and, p.circuit.stats().gates), (ands, gates), "{src}");
    }
}

#[test]
fn statements_after_a_secret_exit_are_guarded() {
    // `break` and `continue` inside nested `if`s and a `match`, an
    // assignment whose value may break, a tuple assignment, array writes.
    let src = "
fn main(#[garbler] xs: [i16; 10], #[evaluator] k: i16) -> (i16, i16, [i16; 4], u8) {
    let mut acc: i16 = 0;
    let mut last: i16 = -1;
    let mut hist = [0i16; 4];
    let mut steps: u8 = 0;
    for x in xs {
        steps += 1;
        match x % 4 {
            0 => { if x > k { break; } }
            1 | -1 => { continue; }
            _ => {}
        }
        acc = if x == k { break; } else { acc + x };
        if acc > 100 {
            if x < 0 { continue; } else { acc -= 50; }
        }
        (last, hist[(x & 3) as usize]) = (x, hist[(x & 3) as usize] + 1);
    }
    (acc, last, hist, steps)
}";
    let p = build(src);
    check(
        &p,
        6,
        300,
        |rng| vec![small_array(rng, 10, -20, 60), json!(rng.gen_range(-20..60))],
        |ins| {
            let k = ins[1].as_i64().unwrap() as i16;
            let (mut acc, mut last, mut hist, mut steps) = (0i16, -1i16, [0i16; 4], 0u8);
            for x in ints(&ins[0]) {
                let x = x as i16;
                steps += 1;
                match x % 4 {
                    0 if x > k => break,
                    1 | -1 => continue,
                    _ => {}
                }
                acc = if x == k {
                    break;
                } else {
                    acc.wrapping_add(x)
                };
                if acc > 100 {
                    if x < 0 {
                        continue;
                    } else {
                        acc -= 50;
                    }
                }
                (last, hist[(x & 3) as usize]) = (x, hist[(x & 3) as usize] + 1);
            }
            json!([acc, last, hist, steps])
        },
    );
}

#[test]
fn return_and_break_in_one_loop() {
    let src = "
fn scan(xs: [u8; 8], stop: u8, bad: u8) -> u16 {
    let mut s: u16 = 0;
    for i in 0..8 {
        if xs[i] == bad {
            return 999;
        }
        if xs[i] == stop {
            break;
        }
        s += xs[i] as u16;
    }
    s * 2
}

fn main(#[garbler] xs: [u8; 8], #[evaluator] stop: u8, #[evaluator] bad: u8) -> (u16, u16) {
    let mut total: u16 = 0;
    for j in 0..2 {
        total += scan(xs, stop + j, bad);
        if total > 300 {
            break;
        }
    }
    (scan(xs, stop, bad), total)
}";
    let scan = |xs: &[i64], stop: i64, bad: i64| -> u16 {
        let mut s: u16 = 0;
        for &x in xs {
            if x == bad {
                return 999;
            }
            if x == stop {
                break;
            }
            s += x as u16;
        }
        s * 2
    };
    let p = build(src);
    check(
        &p,
        7,
        300,
        |rng| vec![small_array(rng, 8, 0, 20), json!(rng.gen_range(0..20)), json!(rng.gen_range(0..25))],
        |ins| {
            let xs = ints(&ins[0]);
            let (stop, bad) = (ins[1].as_i64().unwrap(), ins[2].as_i64().unwrap());
            let mut total: u16 = 0;
            for j in 0..2 {
                total = total.wrapping_add(scan(&xs, (stop + j) & 0xff, bad));
                if total > 300 {
                    break;
                }
            }
            json!([scan(&xs, stop, bad), total])
        },
    );
}

#[test]
fn adaptors_and_loops_over_arrays() {
    // The last index (from the end) whose element is below `v`, skipping
    // odd positions, with `enumerate` and `rev`.
    let src = "
fn main(#[garbler] xs: [u8; 12], #[evaluator] v: u8) -> (u64, u32) {
    let mut at: u64 = 99;
    let mut seen: u32 = 0;
    for (i, x) in xs.iter().enumerate().rev() {
        if i % 2 == 1 { continue; }
        seen += 1;
        if x < v { at = i; break; }
    }
    (at, seen)
}";
    let p = build(src);
    check(
        &p,
        8,
        200,
        |rng| vec![small_array(rng, 12, 0, 200), json!(rng.gen_range(0..60))],
        |ins| {
            let v = ins[1].as_i64().unwrap();
            let (mut at, mut seen) = (99u64, 0u32);
            for (i, x) in ints(&ins[0]).into_iter().enumerate().rev() {
                if i % 2 == 1 {
                    continue;
                }
                seen += 1;
                if x < v {
                    at = i as u64;
                    break;
                }
            }
            json!([at, seen])
        },
    );
}

#[test]
fn loops_that_may_break_or_continue_stream() {
    let src = "
fn main(#[evaluator] xs: [u16; 40]) -> (u32, u32) {
    let mut s: u32 = 0;
    let mut n: u32 = 0;
    for x in xs {
        if x > 500 {
            break;
        }
        n += 1;
        s += x as u32;
    }
    (s, n)
}";
    // `break`: the loop's "broke" flag is state carried from run to run.
    let reference = |ins: &[Value], stop: bool| {
        let (mut s, mut n) = (0u32, 0u32);
        for x in ints(&ins[0]) {
            if x > 500 {
                if stop {
                    break;
                }
                continue;
            }
            n += 1;
            s += x as u32;
        }
        json!([s, n])
    };
    let inputs = |rng: &mut StdRng| vec![small_array(rng, 40, 0, 520)];
    let streamed = build_with(src, StreamLoops::Always);
    let unrolled = build_with(src, StreamLoops::Never);
    assert!(streamed.looped.is_some(), "a loop that may break streams");
    assert!(unrolled.looped.is_none());
    check(&streamed, 9, 100, inputs, |ins| reference(ins, true));
    check(&unrolled, 9, 100, inputs, |ins| reference(ins, true));
    // Too large to unroll, it streams by default.
    let big =
        src.replace("[u16; 40]", "[u16; 1000000]").replace("s += x as u32;", "s += (x as u32) * (x as u32);");
    assert!(build_with(&big, StreamLoops::Auto).looped.is_some(), "a million records stream");

    // The same loop with `continue` in place of `break`.
    let cont = &src.replace("break;", "continue;");
    let streamed = build_with(cont, StreamLoops::Always);
    let unrolled = build_with(cont, StreamLoops::Never);
    assert!(streamed.looped.is_some(), "a loop with `continue` streams");
    check(&streamed, 10, 100, inputs, |ins| reference(ins, false));
    check(&unrolled, 10, 100, inputs, |ins| reference(ins, false));
}

#[test]
fn diagnostics() {
    let text = compile_errors("fn main(#[garbler] a: u8) -> u8 { if a > 3 { break; } a }");
    assert!(text.contains("`break` outside of a loop"), "{text}");
    // A function called from a loop is not inside it.
    let text = compile_errors(
        "fn f(a: u8) -> u8 { if a > 3 { continue; } a }
         fn main(#[garbler] a: u8) -> u8 { let mut s = 0; for i in 0..3 { s += f(a + i); } s }",
    );
    assert!(text.contains("`continue` outside of a loop"), "{text}");
    let text = compile_errors("fn main(#[garbler] a: u8) -> u8 { for i in 0..3 { break 'outer; } a }");
    assert!(text.contains("labelled `break` and `continue` are not supported"), "{text}");
    let text = compile_errors("fn main(#[garbler] a: u8) -> u8 { 'outer: for i in 0..3 { break; } a }");
    assert!(text.contains("loop labels are not supported"), "{text}");
    let text =
        compile_errors("fn main(#[garbler] a: u8) -> u8 { let mut x = 0; for i in 0..3 { break a; } x }");
    assert!(text.contains("`break` with a value is not supported"), "{text}");
    let text = compile_errors("fn main(#[garbler] a: u8) -> u8 { for i in 0..3 { let x = break; } a }");
    assert!(text.contains("`break` is a statement, not an expression"), "{text}");
}

#[test]
fn more_shapes() {
    // A `while`-like loop: the number of halvings until zero.
    let src = "
fn main(#[garbler] a: u32, #[evaluator] b: u32) -> (u32, u8) {
    let mut x = a ^ b;
    let mut n: u8 = 0;
    for _ in 0..40 {
        if x == 0 { break }
        x = x / 2;
        n += 1;
    }
    (x, n)
}";
    check(
        &build(src),
        11,
        100,
        |rng| vec![json!(rng.gen::<u32>() >> rng.gen_range(0..32)), json!(rng.gen_range(0..4))],
        |ins| {
            let mut x = ins[0].as_u64().unwrap() as u32 ^ ins[1].as_u64().unwrap() as u32;
            let mut n = 0u8;
            for _ in 0..40 {
                if x == 0 {
                    break;
                }
                x /= 2;
                n += 1;
            }
            json!([x, n])
        },
    );

    // An outer loop left on a secret condition, with inner loops (that
    // break themselves) and a function with its own loop after it; both
    // branches of an `if` leaving, and a statement after them.
    let src = "
fn first_above(xs: [u8; 5], t: u8) -> u8 {
    let mut r: u8 = 9;
    for i in 0..5 {
        if xs[i] > t { r = i as u8; break; }
    }
    r
}

fn main(#[garbler] m: [[u8; 5]; 4], #[evaluator] t: u8) -> (u16, [u8; 4], u8) {
    let mut total: u16 = 0;
    let mut firsts = [7u8; 4];
    let mut rows: u8 = 0;
    for r in 0..4 {
        for c in 0..5 {
            if m[r][c] == 0 { break; }
            total += m[r][c] as u16;
        }
        firsts[r] = first_above(m[r], t);
        if total > 200 {
            if m[r][0] > t { break; } else { continue; }
            rows += 100;
        }
        rows += 1;
    }
    (total, firsts, rows)
}";
    check(
        &build(src),
        12,
        300,
        |rng| {
            let m: Vec<Value> = (0..4).map(|_| small_array(rng, 5, 0, 30)).collect();
            vec![json!(m), json!(rng.gen_range(0..30))]
        },
        |ins| {
            let t = ins[1].as_i64().unwrap();
            let m: Vec<Vec<i64>> = ins[0].as_array().unwrap().iter().map(ints).collect();
            let first_above = |xs: &[i64]| xs.iter().position(|&x| x > t).map_or(9, |i| i as u8);
            let (mut total, mut firsts, mut rows) = (0u16, [7u8; 4], 0u8);
            for r in 0..4 {
                for &x in &m[r] {
                    if x == 0 {
                        break;
                    }
                    total += x as u16;
                }
                firsts[r] = first_above(&m[r]);
                if total > 200 {
                    if m[r][0] > t {
                        break;
                    } else {
                        continue;
                    }
                }
                rows += 1;
            }
            json!([total, firsts, rows])
        },
    );
}
