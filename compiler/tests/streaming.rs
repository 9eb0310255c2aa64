//! Loops that stream: a `for` loop over an input array compiled once as the
//! body of a looped circuit. Each program is compiled streamed and unrolled
//! and both are checked against the same function computed in plain Rust
//! (Rust's arithmetic is the reference) on random inputs; per-record AND
//! counts are compared with the unrolled loop's.

mod common;
use common::run;
use garblet_compiler::{compile_with, Options, Program, StreamLoops};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

const MODEL: &str = include_str!("../../examples/model_benchmark.gbl");

fn build(src: &str, n: usize, mode: StreamLoops, name: &str) -> Program {
    let options = Options::new().with_const(name, n.to_string()).with_stream_loops(mode);
    match compile_with(src, "test.gbl", &options, &|_| {}) {
        Ok(p) => p,
        Err(e) => panic!("{}", e.render_plain(src, "test.gbl")),
    }
}

/// Streamed and unrolled, both checked against `reference` on `trials`
/// random inputs; returns the two programs.
fn check(
    src: &str,
    n: usize,
    trials: usize,
    inputs: impl Fn(&mut StdRng) -> Vec<Value>,
    reference: impl Fn(&[Value]) -> Value,
) -> (Program, Program) {
    let streamed = build(src, n, StreamLoops::Always, "N");
    let unrolled = build(src, n, StreamLoops::Never, "N");
    assert!(streamed.looped.is_some(), "the loop streams");
    assert!(unrolled.looped.is_none());
    let mut rng = StdRng::seed_from_u64(n as u64 * 7919 + src.len() as u64);
    for _ in 0..trials {
        let ins = inputs(&mut rng);
        let want = reference(&ins);
        assert_eq!(run(&streamed, &ins), want, "streamed, inputs {ins:?}");
        assert_eq!(run(&unrolled, &ins), want, "unrolled, inputs {ins:?}");
    }
    (streamed, unrolled)
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

fn model_inputs(rng: &mut StdRng, n: usize) -> Vec<Value> {
    let weights: Vec<i64> = (0..8).map(|_| rng.gen_range(-3000..3000)).collect();
    let model = json!({"weights": weights, "bias": rng.gen_range(-2_000_000..2_000_000)});
    let records: Vec<Value> = (0..n)
        .map(|_| {
            let f: Vec<i64> = (0..8).map(|_| rng.gen_range(-3000..3000)).collect();
            json!({"features": f, "label": rng.gen_bool(0.5)})
        })
        .collect();
    vec![model, Value::Array(records)]
}

fn model_reference(ins: &[Value]) -> Value {
    let w = ints(&ins[0]["weights"]);
    let bias = ins[0]["bias"].as_i64().unwrap() as i32;
    let correct = ins[1]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            let f = ints(&r["features"]);
            let score = (0..8).fold(bias, |s, j| s.wrapping_add((w[j] as i16 as i32) * (f[j] as i16 as i32)));
            (score >= 0) == r["label"].as_bool().unwrap()
        })
        .count();
    json!(correct as u32)
}

#[test]
fn the_model_benchmark_streams_with_the_unrolled_results_and_and_counts() {
    let n = 37; // nine runs of 4 records, 1 left over
    let model = |n| build(MODEL, n, StreamLoops::Always, "RECORDS");
    let unrolled = |n| build(MODEL, n, StreamLoops::Never, "RECORDS");
    let (s, u) = (model(n), unrolled(n));
    let looped = s.looped.as_ref().expect("the records loop streams");
    // A record is about 16,600 gates: 4 records a run keep a run's body
    // under 2^17 gates (`RUN_GATES`).
    assert_eq!(looped.loops()[0].iterations(), 9, "4 records per run");
    assert_eq!(looped.loops()[0].window_bits(), 4 * (8 * 16 + 1), "4 records of 8 × i16 and a bool");
    assert!(looped.loops()[0].body().len() <= 1 << 17, "{}", looped.loops()[0].body().len());
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..6 {
        let ins = model_inputs(&mut rng, n);
        let want = model_reference(&ins);
        assert_eq!(run(&s, &ins), want);
        assert_eq!(run(&u, &ins), want);
    }
    // Per record, streamed costs what an unrolled iteration costs, plus
    // adding the lazy count into the 32-bit state once per run of 4
    // records (at most 31 ANDs).
    let per_record_unrolled = unrolled(n + 1).and_count() - u.and_count();
    let per_run = looped.loops()[0].body_and_count();
    assert!(per_run >= 4 * per_record_unrolled, "{per_run} vs 4 × {per_record_unrolled}");
    assert!(per_run <= 4 * per_record_unrolled + 31, "{per_run} vs 4 × {per_record_unrolled}");
    assert_eq!(model(n + 4).and_count() - s.and_count(), per_run);
    assert!(s.and_count() >= u.and_count());
    assert!(
        s.and_count() - u.and_count() <= 9 * 31 + per_record_unrolled,
        "{} vs {}",
        s.and_count(),
        u.and_count()
    );
    // Line costs add up to the AND count.
    assert_eq!(s.line_costs.iter().map(|(_, n)| n).sum::<u64>(), s.and_count());
    // The digest depends on the number of records.
    assert_ne!(model(n).digest(), model(n + 16).digest());
    assert_ne!(model(n).digest(), model(n + 1).digest());
    assert_eq!(model(n).digest(), s.digest());
}

#[test]
fn large_loops_stream_by_default_and_small_ones_unroll() {
    let small = build(MODEL, 64, StreamLoops::Auto, "RECORDS");
    assert!(small.looped.is_none(), "64 records unroll as before");
    let large = build(MODEL, 2_000, StreamLoops::Auto, "RECORDS");
    let looped = large.looped.as_ref().expect("2,000 records stream");
    // A few body copies' worth of stored gates, not 2,000.
    assert!(looped.stored_gates() < 2 * looped.loops()[0].body().len() + 1_000, "{}", looped.stored_gates());
    let mut rng = StdRng::seed_from_u64(2);
    let ins = model_inputs(&mut rng, 2_000);
    assert_eq!(run(&large, &ins), model_reference(&ins));
}

#[test]
fn a_sum_streams() {
    let src = "const N: usize = 4;
        fn main(#[evaluator] xs: [u16; N]) -> u32 {
            let mut s: u32 = 0;
            for x in xs { s += x as u32; }
            s
        }";
    let (s, u) = check(
        src,
        37,
        8,
        |rng| vec![json!((0..37).map(|_| rng.gen::<u16>()).collect::<Vec<_>>())],
        |ins| json!(ints(&ins[0]).iter().map(|&x| x as u32).fold(0u32, u32::wrapping_add)),
    );
    let per_record = build(src, 38, StreamLoops::Never, "N").and_count() - u.and_count();
    let per_run = s.looped.unwrap().loops()[0].body_and_count();
    assert!(per_run <= 16 * per_record + 31, "{per_run} vs 16 × {per_record}");
}

/// A histogram and counters held in an array and a struct, bumped under
/// secret `if`s: streamed and unrolled agree with Rust, and a streamed
/// run costs what its records cost unrolled (the parts stay lazy sums).
#[test]
fn counters_in_an_array_and_a_struct_stream() {
    let src = "const N: usize = 4;
        struct C { lo: u32, hi: u32 }
        fn main(#[evaluator] xs: [u8; N]) -> ([u32; 4], C) {
            let mut h = [0u32; 4];
            let mut c = C { lo: 0, hi: 0 };
            for x in xs {
                if x % 4 == 0 { h[0] += 1; } else if x % 4 == 1 { h[1] += 1; } else if x % 4 == 2 { h[2] += 1; } else { h[3] += 1; }
                if x < 128 { c.lo += 1; } else { c.hi += x as u32; }
            }
            (h, c)
        }";
    for n in [17usize, 40] {
        let (s, u) = check(
            src,
            n,
            6,
            |rng| vec![json!((0..n).map(|_| rng.gen::<u8>()).collect::<Vec<_>>())],
            |ins| {
                let (mut h, mut lo, mut hi) = ([0u32; 4], 0u32, 0u32);
                for x in ints(&ins[0]) {
                    h[(x % 4) as usize] += 1;
                    if x < 128 {
                        lo += 1;
                    } else {
                        hi += x as u32;
                    }
                }
                json!([h, {"lo": lo, "hi": hi}])
            },
        );
        let per_record = build(src, n + 1, StreamLoops::Never, "N").and_count() - u.and_count();
        let per_run = s.looped.unwrap().loops()[0].body_and_count();
        assert!(per_run <= 16 * per_record + 200, "{per_run} vs 16 × {per_record}");
    }
}

#[test]
fn a_count_with_an_invariant_threshold_streams() {
    let src = "const N: usize = 4;
        fn main(#[garbler] t: i16, #[evaluator] xs: [i16; N]) -> u32 {
            let mut c = 0;
            for x in xs { if x > t { c += 1; } }
            c
        }";
    check(
        src,
        50,
        8,
        |rng| vec![json!(rng.gen::<i16>()), json!((0..50).map(|_| rng.gen::<i16>()).collect::<Vec<_>>())],
        |ins| {
            let t = ins[0].as_i64().unwrap();
            json!(ints(&ins[1]).iter().filter(|&&x| x > t).count() as u32)
        },
    );
}

#[test]
fn min_and_max_stream() {
    let src = "const N: usize = 4;
        fn main(#[evaluator] xs: [i16; N]) -> (i16, i16) {
            let mut lo: i16 = 32767;
            let mut hi: i16 = -32768;
            for x in xs {
                if x < lo { lo = x; }
                if x > hi { hi = x; }
            }
            (lo, hi)
        }";
    check(
        src,
        33,
        8,
        |rng| vec![json!((0..33).map(|_| rng.gen::<i16>()).collect::<Vec<_>>())],
        |ins| {
            let xs = ints(&ins[0]);
            json!([xs.iter().min().unwrap(), xs.iter().max().unwrap()])
        },
    );
}

#[test]
fn an_argmax_over_records_streams() {
    let src = "const N: usize = 4;
        struct Row { id: u32, score: i32 }
        fn main(#[evaluator] rows: [Row; N]) -> u32 {
            let mut best: i32 = -2147483648;
            let mut arg: u32 = 0;
            for r in rows {
                if r.score > best { best = r.score; arg = r.id; }
            }
            arg
        }";
    check(
        src,
        40,
        8,
        |rng| {
            let rows: Vec<Value> = (0..40)
                .map(|_| json!({"id": rng.gen::<u32>(), "score": rng.gen_range(-50i32..50)}))
                .collect();
            vec![Value::Array(rows)]
        },
        |ins| {
            let mut best = (i64::MIN, 0);
            for r in ins[0].as_array().unwrap() {
                let s = r["score"].as_i64().unwrap();
                if s > best.0 {
                    best = (s, r["id"].as_i64().unwrap());
                }
            }
            json!(best.1)
        },
    );
}

/// An argmax by position and a first-match search, written the plain way:
/// `argmax = i` writes 0 over 0 at the first record, and `idx = i` writes
/// nothing there, so the first record leaves them as they were; they
/// change only once the state is unknown, and they stream as state (they
/// used to make the loop unroll: 59 M gates and 14.7 s at 200,000 records,
/// refused at 400,000). Streamed and unrolled against Rust, ties going to
/// the lowest index, at sizes that leave records after the last full run.
#[test]
fn a_variable_the_first_record_leaves_unchanged_streams_as_state() {
    let argmax = "const N: usize = 4;
        fn main(#[evaluator] records: [u32; N]) -> (u32, u32) {
            let mut best = 0u32;
            let mut argmax = 0u32;
            let mut i = 0u32;
            for r in records {
                if r > best { best = r; argmax = i; }
                i += 1;
            }
            (best, argmax)
        }";
    let first_match = "const N: usize = 4;
        fn main(#[garbler] v: u32, #[evaluator] records: [u32; N]) -> (bool, u32) {
            let mut found = false;
            let mut idx = 0u32;
            let mut i = 0u32;
            for r in records {
                if !found && r == v { idx = i; found = true; }
                i += 1;
            }
            (found, idx)
        }";
    for n in [17, 40, 1003] {
        check(
            argmax,
            n,
            6,
            |rng| vec![json!((0..n).map(|_| rng.gen_range(0..50u32)).collect::<Vec<_>>())],
            |ins| {
                let (mut best, mut arg) = (0, 0);
                for (i, x) in ints(&ins[0]).into_iter().enumerate() {
                    if x > best {
                        (best, arg) = (x, i);
                    }
                }
                json!([best, arg])
            },
        );
        check(
            first_match,
            n,
            6,
            |rng| {
                vec![
                    json!(rng.gen_range(0..60u32)),
                    json!((0..n).map(|_| rng.gen_range(0..50u32)).collect::<Vec<_>>()),
                ]
            },
            |ins| {
                let v = ins[0].as_i64().unwrap();
                match ints(&ins[1]).iter().position(|&x| x == v) {
                    Some(i) => json!([true, i]),
                    None => json!([false, 0]),
                }
            },
        );
    }
}

#[test]
fn accumulators_that_swap_are_copied_through_temporaries() {
    let src = "const N: usize = 4;
        fn main(#[evaluator] xs: [u8; N]) -> (u8, u8) {
            let mut a: u8 = 1;
            let mut b: u8 = 2;
            for x in xs { let t = a; a = b ^ x; b = t; }
            (a, b)
        }";
    check(
        src,
        9,
        8,
        |rng| vec![json!((0..9).map(|_| rng.gen::<u8>()).collect::<Vec<_>>())],
        |ins| {
            let (mut a, mut b) = (1i64, 2i64);
            for x in ints(&ins[0]) {
                (a, b) = (b ^ x, a);
            }
            json!([a, b])
        },
    );
}

/// A plain Rust function of the records.
type Reference = Box<dyn Fn(&[i64]) -> i64>;

/// `for i in 0..n` streams when the body reads input arrays only as
/// `a[i]`: one window per array, each with its own stride (two parties'
/// arrays of different element widths here, and a struct array's field),
/// against Rust's wrapping arithmetic; lengths with and without records
/// left over after the last run.
#[test]
fn an_index_loop_over_several_arrays_streams() {
    let src = "const N: usize = 4;
        struct P { w: u8, on: bool }
        fn main(#[garbler] a: [u32; N], #[garbler] p: [P; N], #[evaluator] b: [u16; N]) -> (u32, u32) {
            let mut s: u32 = 0;
            let mut m: u32 = 0;
            for i in 0..N {
                s += a[i] * (b[i] as u32);
                if p[i].on { m += p[i].w as u32; }
            }
            (s, m)
        }";
    for n in [33, 48] {
        let (s, u) = check(
            src,
            n,
            6,
            |rng| {
                let a: Vec<u32> = (0..n).map(|_| rng.gen()).collect();
                let p: Vec<Value> =
                    (0..n).map(|_| json!({"w": rng.gen::<u8>(), "on": rng.gen_bool(0.5)})).collect();
                let b: Vec<u16> = (0..n).map(|_| rng.gen()).collect();
                vec![json!(a), Value::Array(p), json!(b)]
            },
            |ins| {
                let (a, b) = (ints(&ins[0]), ints(&ins[2]));
                let s = a
                    .iter()
                    .zip(&b)
                    .fold(0u32, |s, (&x, &y)| s.wrapping_add((x as u32).wrapping_mul(y as u32)));
                let m = ins[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["on"].as_bool().unwrap())
                    .map(|r| r["w"].as_u64().unwrap() as u32)
                    .sum::<u32>();
                json!([s, m])
            },
        );
        let looped = s.looped.as_ref().unwrap();
        assert_eq!(looped.loops()[0].windows().len(), 3, "one window per array");
        assert_eq!(looped.loops()[0].window_bits(), 16 * (32 + 9 + 16));
        assert_eq!(looped.loops()[0].iterations(), n as u64 / 16);
        // About what the unrolled loop costs per record (the lazy sums
        // are added into the state once per run of 16).
        let per_record = |p: &Program| p.and_count() as f64 / n as f64;
        assert!(per_record(&s) <= per_record(&u) + 8.0, "{} vs {}", per_record(&s), per_record(&u));
    }
}

/// A `break` under a secret condition streams: the "broke" flag is state
/// carried from run to run, and every record after the first that breaks
/// is a no-op, as in the unrolled loop. Lengths that leave records over
/// after the last run (unrolled after the loop, under the same flag) and
/// that do not.
#[test]
fn a_loop_that_breaks_streams() {
    let src = "const N: usize = 4;
        fn main(#[garbler] t: u16, #[evaluator] xs: [u16; N]) -> (u32, u32) {
            let mut before: u32 = 0;
            let mut sum: u32 = 0;
            for x in xs {
                if x == 0 { continue; }
                if x > t { break; }
                before += 1;
                sum += x as u32;
            }
            (before, sum)
        }";
    for n in [40, 48] {
        let (s, _) = check(
            src,
            n,
            12,
            |rng| {
                // Thresholds that break early, late and never.
                let t: u16 = [900, 990, 1000][rng.gen_range(0..3)];
                vec![json!(t), json!((0..n).map(|_| rng.gen_range(0u16..1000)).collect::<Vec<_>>())]
            },
            |ins| {
                let t = ins[0].as_i64().unwrap();
                let (mut before, mut sum) = (0u32, 0u32);
                for x in ints(&ins[1]) {
                    if x == 0 {
                        continue;
                    }
                    if x > t {
                        break;
                    }
                    before += 1;
                    sum += x as u32;
                }
                json!([before, sum])
            },
        );
        assert_eq!(s.looped.as_ref().unwrap().loops()[0].iterations(), n as u64 / 16);
    }
}

/// A `break` whose condition the first record's known state decides (`seen
/// == 2` with `seen` still 0, so the first pass over one record lowered no
/// `break`): the streamed loop still carries the "broke" flag from run to
/// run, so the runs after the one that broke do nothing. Without it every
/// later run counted its records again. The collector (the first 8 flagged
/// rows, then `break`) is a reviewer's program that returned a count of 9.
#[test]
fn a_break_decided_by_record_and_state_together_stops_every_later_run() {
    let first_two = "const N: usize = 4;
        fn main(#[evaluator] xs: [u32; N]) -> (u32, u32) {
            let mut seen: u32 = 0;
            let mut big: u32 = 0;
            for x in xs {
                if x > 10 && seen == 2 { break; }
                seen += 1;
                if x > 10 { big += 1; }
            }
            (seen, big)
        }";
    let collect = "const N: usize = 4;
        fn main(#[evaluator] xs: [u32; N]) -> (u32, u32) {
            let mut k: u32 = 0;
            let mut sum: u32 = 0;
            for x in xs {
                if x > 10 {
                    k += 1;
                    sum += x;
                    if k == 8 { break; }
                }
            }
            (k, sum)
        }";
    let data = |rng: &mut StdRng, n: usize| {
        // Mostly small values, so that the break comes in a later run.
        let xs: Vec<u32> =
            (0..n).map(|_| if rng.gen_range(0..8) == 0 { rng.gen_range(11..100) } else { 1 }).collect();
        vec![json!(xs)]
    };
    for n in [17, 40, 65] {
        check(
            first_two,
            n,
            16,
            |rng| data(rng, n),
            |ins| {
                let (mut seen, mut big) = (0u32, 0u32);
                for x in ints(&ins[0]) {
                    if x > 10 && seen == 2 {
                        break;
                    }
                    seen += 1;
                    if x > 10 {
                        big += 1;
                    }
                }
                json!([seen, big])
            },
        );
        check(
            collect,
            n,
            16,
            |rng| data(rng, n),
            |ins| {
                let (mut k, mut sum) = (0u32, 0u32);
                for x in ints(&ins[0]) {
                    if x > 10 {
                        k += 1;
                        sum += x as u32;
                        if k == 8 {
                            break;
                        }
                    }
                }
                json!([k, sum])
            },
        );
    }
}

/// Loops that cannot stream unroll, with correct results.
#[test]
fn loops_that_cannot_stream_unroll() {
    let n = 12;
    let xs = |rng: &mut StdRng| json!((0..n).map(|_| rng.gen_range(0u16..1000)).collect::<Vec<_>>());
    let cases: [(&str, Reference); 4] = [
        (
            // The index in arithmetic.
            "const N: usize = 4;
            fn main(#[evaluator] xs: [u16; N]) -> u32 {
                let mut s: u32 = 0;
                for i in 0..N { s += (xs[i] as u32) * (i as u32); }
                s
            }",
            Box::new(|xs| xs.iter().enumerate().map(|(i, x)| x * i as i64).sum()),
        ),
        (
            // Another element than the current one.
            "const N: usize = 4;
            fn main(#[evaluator] xs: [u16; N]) -> u32 {
                let mut s: u32 = 0;
                for x in xs { s += (x as u32) * (xs[0] as u32); }
                s
            }",
            Box::new(|xs| xs.iter().map(|x| x * xs[0]).sum()),
        ),
        (
            // An accumulator needed at compile time (a loop bound).
            "const N: usize = 4;
            fn main(#[evaluator] xs: [u16; N]) -> u32 {
                let mut s: u32 = 0;
                let mut k: u32 = 0;
                for x in xs { for _j in 0..k { s += x as u32; } k += 1; }
                s
            }",
            Box::new(|xs| xs.iter().enumerate().map(|(i, x)| x * i as i64).sum()),
        ),
        (
            // A `return` inside the body.
            "const N: usize = 4;
            fn main(#[evaluator] xs: [u16; N]) -> u32 {
                let mut s: u32 = 0;
                for x in xs { if x > 900 { return 7; } s += x as u32; }
                s
            }",
            Box::new(|xs| if xs.iter().any(|&x| x > 900) { 7 } else { xs.iter().sum() }),
        ),
    ];
    let mut rng = StdRng::seed_from_u64(3);
    for (src, reference) in &cases {
        let p = build(src, n, StreamLoops::Always, "N");
        assert!(p.looped.is_none(), "{src}");
        for _ in 0..8 {
            let ins = vec![xs(&mut rng)];
            assert_eq!(run(&p, &ins), json!(reference(&ints(&ins[0]))), "{src}");
        }
    }
}

/// A sorting network on a local array (Batcher's odd-even merge sort):
/// its `for i in 0..k` loops compute indices from `i`, so none streams. The
/// attempt stops at the first gate that reads the index; before it lowered
/// a multiplexer over the whole array at each access of each such loop
/// (9 s and 868 MB of compiling for 256 elements, against 0.2 s unrolled:
/// `BENCHMARKS.md`). Checked against Rust's sort, and the same circuit as
/// with streaming off.
#[test]
fn a_sorting_network_over_a_local_array_unrolls_its_index_loops() {
    let src = "const N: usize = 64;
        fn main(#[garbler] a: [u32; 32], #[evaluator] b: [u32; 32]) -> [u32; N] {
            let mut v = [0u32; N];
            for i in 0..32 { v[i] = a[i]; v[i + 32] = b[i]; }
            for lp in 0..6 {
                let p = 1 << lp;
                for lk in 0..(lp + 1) {
                    let k = p >> lk;
                    for j in (k % p..N - k).step_by(2 * k) {
                        for i in 0..k {
                            let (left, right) = (i + j, i + j + k);
                            if right < N && left / (2 * p) == right / (2 * p) {
                                let lo = min(v[left], v[right]);
                                let hi = max(v[left], v[right]);
                                v[left] = lo;
                                v[right] = hi;
                            }
                        }
                    }
                }
            }
            v
        }";
    let auto = common::build_with(src, StreamLoops::Auto);
    let always = common::build_with(src, StreamLoops::Always);
    let never = common::build_with(src, StreamLoops::Never);
    assert!(auto.looped.is_none() && always.looped.is_none(), "no loop streams");
    assert_eq!(auto.digest(), never.digest());
    assert_eq!(always.digest(), never.digest());
    let mut rng = StdRng::seed_from_u64(256);
    for _ in 0..4 {
        let (a, b): (Vec<u32>, Vec<u32>) = (0..32).map(|_| (rng.gen::<u32>(), rng.gen::<u32>())).unzip();
        let mut want: Vec<u32> = a.iter().chain(&b).copied().collect();
        want.sort_unstable();
        assert_eq!(run(&auto, &[json!(a), json!(b)]), json!(want));
    }
}

#[test]
fn a_loop_too_large_to_unroll_says_why_it_could_not_stream() {
    // Records read backwards: an index other than the loop variable.
    let src = MODEL.replace("for r in records {", "for i in 0..RECORDS { let r = records[RECORDS - 1 - i];");
    let options = Options::new().with_const("RECORDS", "100000");
    let errors = compile_with(&src, "t.gbl", &options, &|_| {}).unwrap_err();
    let text = errors.render_plain(&src, "t.gbl");
    assert!(text.contains("would unroll into about"), "{text}");
    assert!(text.contains("cannot stream") && text.contains("other than the loop variable"), "{text}");
    // Read forwards, `records[i]`, it streams, as it does written `for r in records`.
    let forwards = MODEL.replace("for r in records {", "for i in 0..RECORDS { let r = records[i];");
    let p =
        compile_with(&forwards, "t.gbl", &Options::new().with_const("RECORDS", "100000"), &|_| {}).unwrap();
    assert!(p.looped.is_some(), "`for i in 0..n` over `records[i]` streams");
    // The same program as written streams.
    let p = compile_with(MODEL, "t.gbl", &Options::new().with_const("RECORDS", "100000"), &|_| {}).unwrap();
    let looped = p.looped.as_ref().expect("100,000 records stream");
    assert_eq!(looped.loops()[0].iterations() * 4, 100_000, "4 records per run");
    assert_eq!(p.and_count(), looped.and_count());
}

/// Several passes over the records, each a loop that streams: the mean of
/// `xs`, then how many records lie above it and by how much in all (a
/// `for i in 0..N` loop reading `xs[i]`), then a third loop over another
/// array. A later loop reads what the earlier ones computed.
#[test]
fn several_loops_stream_one_after_the_other() {
    let src = "const N: usize = 4;
        fn main(#[garbler] t: u16, #[evaluator] xs: [u32; N], #[evaluator] ws: [u16; N]) -> (u32, u32, u32, u32) {
            let mut sum: u32 = 0;
            for x in xs { sum += x; }
            let mean = sum / (N as u32);
            let mut above: u32 = 0;
            let mut excess: u32 = 0;
            for i in 0..N {
                if xs[i] > mean {
                    above += 1;
                    excess += xs[i] - mean;
                }
            }
            let mut heavy: u32 = 0;
            for w in ws {
                if w > t { heavy += w as u32; }
            }
            (mean, above, excess, heavy)
        }";
    for n in [35, 64] {
        let (s, u) = check(
            src,
            n,
            5,
            |rng| {
                let xs: Vec<u32> = (0..n).map(|_| rng.gen_range(0..1 << 24)).collect();
                let ws: Vec<u16> = (0..n).map(|_| rng.gen()).collect();
                vec![json!(rng.gen::<u16>()), json!(xs), json!(ws)]
            },
            |ins| {
                let t = ins[0].as_u64().unwrap() as u16;
                let xs: Vec<u32> = ints(&ins[1]).iter().map(|&x| x as u32).collect();
                let mean = xs.iter().fold(0u32, |s, &x| s.wrapping_add(x)) / n as u32;
                let above = xs.iter().filter(|&&x| x > mean).count() as u32;
                let excess = xs.iter().filter(|&&x| x > mean).fold(0u32, |s, &x| s.wrapping_add(x - mean));
                let heavy =
                    ints(&ins[2]).iter().map(|&w| w as u16).filter(|&w| w > t).map(u32::from).sum::<u32>();
                json!([mean, above, excess, heavy])
            },
        );
        let looped = s.looped.as_ref().unwrap();
        let runs: Vec<u64> = looped.loops().iter().map(|l| l.iterations()).collect();
        assert_eq!(runs, vec![n as u64 / 16; 3], "three loops stream, 16 records a run");
        assert_eq!(looped.loops()[1].windows().len(), 1, "the second loop reads xs");
        let per_record = |p: &Program| p.and_count() as f64 / n as f64;
        assert!(per_record(&s) <= per_record(&u) + 8.0, "{} vs {}", per_record(&s), per_record(&u));
    }
}

/// A loop over the records inside an unrolled loop of a few rounds (as
/// k-means iterates) streams once per round, each round's loop reading the
/// threshold the round before computed; a secret `break` of the rounds,
/// and a loop under a secret `if`, discard what the skipped loops computed.
/// Streamed and unrolled, against plain Rust.
#[test]
fn a_loop_inside_an_unrolled_loop_streams_once_per_round() {
    let src = "const N: usize = 4;
        fn main(#[garbler] t0: u32, #[garbler] stop: u32, #[evaluator] xs: [u32; N]) -> (u32, u32, u32) {
            let mut t = t0;
            let mut rounds: u32 = 0;
            for _round in 0..3 {
                if t > stop { break; }
                let mut sum: u32 = 0;
                let mut count: u32 = 0;
                for x in xs {
                    if x > t { sum += x; count += 1; }
                }
                t = if count == 0 { stop + 1 } else { sum / count };
                rounds += 1;
            }
            let mut low: u32 = 0;
            if t0 < stop {
                for x in xs { if x < t0 { low += 1; } }
            }
            (t, rounds, low)
        }";
    for n in [40, 33] {
        let (s, _) = check(
            src,
            n,
            8,
            |rng| {
                let xs: Vec<u32> = (0..n).map(|_| rng.gen_range(0..1 << 16)).collect();
                let t0 = rng.gen_range(0..1 << 15);
                let stop = rng.gen_range(1 << 14..1 << 16);
                vec![json!(t0), json!(stop), json!(xs)]
            },
            |ins| {
                let (t0, stop) = (ins[0].as_u64().unwrap() as u32, ins[1].as_u64().unwrap() as u32);
                let xs: Vec<u32> = ints(&ins[2]).iter().map(|&x| x as u32).collect();
                let (mut t, mut rounds) = (t0, 0u32);
                for _ in 0..3 {
                    if t > stop {
                        break;
                    }
                    let above: Vec<u32> = xs.iter().copied().filter(|&x| x > t).collect();
                    let sum = above.iter().fold(0u32, |s, &x| s.wrapping_add(x));
                    t = if above.is_empty() { stop + 1 } else { sum / above.len() as u32 };
                    rounds += 1;
                }
                let low = if t0 < stop { xs.iter().filter(|&&x| x < t0).count() as u32 } else { 0 };
                json!([t, rounds, low])
            },
        );
        let looped = s.looped.as_ref().unwrap();
        assert_eq!(looped.loops().len(), 4, "three rounds and the loop under `if` stream");
    }
    // At 100,000 records by default: the rounds loop is not tried as a
    // streamed loop with its inner loop unrolled into it (38 M gates a
    // pass); the inner loop streams in each round.
    let p = build(src, 100_000, StreamLoops::Auto, "N");
    let runs: Vec<u64> = p.looped.as_ref().unwrap().loops().iter().map(|l| l.iterations()).collect();
    assert_eq!(runs, vec![100_000 / 16; 4]);
}
