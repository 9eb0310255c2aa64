//! The AND-count table of the issue: each program written plainly, its AND
//! count asserted against the bound and its result checked against Rust.

mod common;
use common::*;
use serde_json::json;

fn check_bound(name: &str, src: &str, bound: u64) -> garblet_compiler::Program {
    let p = build(src);
    let and = p.circuit.stats().and;
    println!("TABLE {name}: {and} ANDs (bound {bound})");
    assert!(and <= bound, "{name}: {and} ANDs > {bound}");
    let total: u64 = p.line_costs.iter().map(|&(_, n)| n).sum();
    assert_eq!(total, and, "{name}: line costs add up to the AND count");
    p
}

/// One binary operator on two parameters: its AND bound, then results
/// against Rust's own arithmetic.
struct Binary {
    name: &'static str,
    source: &'static str,
    bound: u64,
    cases: Vec<([serde_json::Value; 2], serde_json::Value)>,
}

#[test]
fn binary_operators_meet_their_bounds_and_rusts_arithmetic() {
    let (x, y) = (-1234567890123i64, 9876543210i64);
    let table = [
        Binary {
            name: "a > b, u64",
            source: "fn main(#[garbler] a: u64, #[evaluator] b: u64) -> bool { a > b }",
            bound: 64,
            cases: vec![
                ([json!(5u64), json!(3u64)], json!(5u64 > 3)),
                ([json!(u64::MAX), json!(u64::MAX)], json!(false)),
            ],
        },
        Binary {
            name: "a + b, u32",
            source: "fn main(#[garbler] a: u32, #[evaluator] b: u32) -> u32 { a + b }",
            bound: 31,
            cases: vec![([json!(u32::MAX), json!(2)], json!(u32::MAX.wrapping_add(2)))],
        },
        Binary {
            name: "a * b, u32",
            source: "fn main(#[garbler] a: u32, #[evaluator] b: u32) -> u32 { a * b }",
            bound: 993,
            cases: vec![(
                [json!(123456789u32), json!(987654321u32)],
                json!(123456789u32.wrapping_mul(987654321)),
            )],
        },
        Binary {
            name: "a * b, i64",
            source: "fn main(#[garbler] a: i64, #[evaluator] b: i64) -> i64 { a * b }",
            bound: 4033,
            cases: vec![([json!(x), json!(y)], json!(x.wrapping_mul(y)))],
        },
        Binary {
            name: "a / b, u32",
            source: "fn main(#[garbler] a: u32, #[evaluator] b: u32) -> u32 { a / b }",
            bound: 1200,
            cases: vec![([json!(1000000007u32), json!(12345u32)], json!(1000000007u32 / 12345))],
        },
        Binary {
            name: "a == b, u128",
            source: "fn main(#[garbler] a: u128, #[evaluator] b: u128) -> bool { a == b }",
            bound: 127,
            cases: vec![(
                [json!("0xffffffffffffffffffffffffffffffff"), json!(u128::MAX.to_string())],
                json!(true),
            )],
        },
    ];
    for row in table {
        let p = check_bound(row.name, row.source, row.bound);
        for (inputs, want) in row.cases {
            assert_eq!(run(&p, &inputs), want, "{}: {inputs:?}", row.name);
        }
    }
}

#[test]
fn sum_200_u32() {
    let src = "
fn main(#[garbler] a: [u32; 100], #[evaluator] b: [u32; 100]) -> u32 {
    let mut sum = 0;
    for i in 0..100 {
        sum += a[i];
    }
    for x in b {
        sum = sum + x;
    }
    sum
}";
    let p = check_bound("sum of 200 u32", src, 6169);
    let a: Vec<u32> = (0..100).map(|i| i * 7919 + 4000000000u32.wrapping_mul(i)).collect();
    let b: Vec<u32> = (0..100).map(|i| u32::MAX - i * 31).collect();
    let want = a.iter().chain(&b).fold(0u32, |s, &x| s.wrapping_add(x));
    assert_eq!(run(&p, &[json!(a), json!(b)]), json!(want));
}

#[test]
fn max_32_u32() {
    let src = "
fn main(#[garbler] a: [u32; 16], #[evaluator] b: [u32; 16]) -> u32 {
    let mut m = a[0];
    for i in 1..16 {
        if a[i] > m {
            m = a[i];
        }
    }
    for x in b {
        m = max(m, x);
    }
    m
}";
    let p = check_bound("max of 32 u32", src, 1984);
    let a: Vec<u32> = (0..16).map(|i| i * 1000).collect();
    let mut b: Vec<u32> = (0..16).map(|i| i * 999).collect();
    b[7] = 4_000_000_000;
    assert_eq!(run(&p, &[json!(a), json!(b)]), json!(4_000_000_000u32));
}

#[test]
fn dot_product_i32() {
    let src = "
fn main(#[garbler] a: [i32; 16], #[evaluator] b: [i32; 16]) -> i32 {
    let mut acc: i32 = 0;
    for i in 0..16 {
        acc += a[i] * b[i];
    }
    acc
}";
    let p = check_bound("dot product [i32; 16]", src, 16353);
    let a: Vec<i32> = (0..16).map(|i| (i * 123457 - 999999) * (i % 3 - 1)).collect();
    let b: Vec<i32> = (0..16).map(|i| i32::MAX - i * 7777777).collect();
    let want = a.iter().zip(&b).fold(0i32, |s, (&x, &y)| s.wrapping_add(x.wrapping_mul(y)));
    assert_eq!(run(&p, &[json!(a), json!(b)]), json!(want));
}

#[test]
fn hamming_256() {
    let src = "
fn main(#[garbler] a: [bool; 256], #[evaluator] b: [bool; 256]) -> u32 {
    let mut d = 0;
    for i in 0..256 {
        if a[i] != b[i] {
            d += 1;
        }
    }
    d
}";
    let p = check_bound("Hamming distance [bool; 256]", src, 300);
    let a: Vec<bool> = (0..256).map(|i| i % 3 == 0).collect();
    let b: Vec<bool> = (0..256).map(|i| i % 5 == 0).collect();
    let want = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert_eq!(run(&p, &[json!(a), json!(b)]), json!(want));
    let src2 = "
fn main(#[garbler] a: [bool; 256], #[evaluator] b: [bool; 256]) -> u16 {
    let mut count: u16 = 0;
    for i in 0..256 {
        count += (a[i] != b[i]) as u16;
    }
    count
}";
    let p = check_bound("Hamming distance (cast form)", src2, 300);
    assert_eq!(run(&p, &[json!(a), json!(b)]), json!(want));
}

#[test]
fn table_lookup() {
    let src = "
fn main(#[garbler] t: [u32; 16], #[evaluator] i: u8) -> u32 {
    t[i]
}";
    let p = check_bound("t[i], [u32; 16], i: u8", src, 500);
    let t: Vec<u32> = (0..16).map(|k| k * 1_000_003 + 17).collect();
    for i in 0..16 {
        assert_eq!(run(&p, &[json!(t), json!(i)]), json!(t[i]));
    }
}

#[test]
fn shift_by_secret() {
    let p =
        check_bound("a << s, u32", "fn main(#[garbler] a: u32, #[evaluator] s: u32) -> u32 { a << s }", 160);
    for s in [0u32, 1, 5, 31, 32, 33, 100] {
        assert_eq!(run(&p, &[json!(0xdeadbeefu32), json!(s)]), json!(0xdeadbeefu32.wrapping_shl(s)));
    }
}

const SORT: &str = "
const N: usize = 16;

fn main(#[garbler] a: [u32; 8], #[evaluator] b: [u32; 8]) -> [u32; N] {
    let mut v = [0u32; N];
    for i in 0..8 {
        v[i] = a[i];
        v[i + 8] = b[i];
    }
    // Batcher's odd-even merge sort.
    for pp in 0..4 {
        let p = 1 << pp;
        for kk in 0..(pp + 1) {
            let k = p >> kk;
            for j in 0..N {
                for i in 0..k {
                    if j % (2 * k) == k % p && i + j + k < N && (i + j) / (p * 2) == (i + j + k) / (p * 2) {
                        if v[i + j] > v[i + j + k] {
                            let t = v[i + j];
                            v[i + j] = v[i + j + k];
                            v[i + j + k] = t;
                        }
                    }
                }
            }
        }
    }
    v
}";

/// The 16 values of `a` and `b` come back sorted, as Rust's own sort has
/// them.
fn assert_sorts_16(p: &garblet_compiler::Program) {
    let a: Vec<u32> = vec![5, 3, 99, 1, 4000000000, 7, 7, 0];
    let b: Vec<u32> = vec![12, 11, 10, 9, 8, 2, 6, 4];
    let mut want: Vec<u32> = a.iter().chain(&b).copied().collect();
    want.sort();
    assert_eq!(run(p, &[json!(a), json!(b)]), json!(want));
}

#[test]
fn sort_16() {
    let p = check_bound("sort 16 u32", SORT, 4032);
    assert_sorts_16(&p);
}

#[test]
fn max_32_u32_from_zero() {
    let src = "
fn main(#[garbler] a: [u32; 16], #[evaluator] b: [u32; 16]) -> u32 {
    let mut m = 0;
    for x in a {
        if x > m {
            m = x;
        }
    }
    for i in 0..16 {
        m = max(m, b[i]);
    }
    m
}";
    let p = check_bound("max of 32 u32 (from 0)", src, 1984);
    let a: Vec<u32> = (0..16).map(|i| i * 1000).collect();
    let b: Vec<u32> = (0..16).map(|i| i * 999 + 7).collect();
    assert_eq!(run(&p, &[json!(a), json!(b)]), json!(15 * 1000));
    let src = "
fn main(#[garbler] a: [i32; 16], #[evaluator] b: [i32; 16]) -> i32 {
    let mut m = i32::MIN;
    for x in a { m = m.max(x); }
    for x in b { if x >= m { m = x; } }
    m
}";
    let p = check_bound("max of 32 i32 (from MIN)", src, 1984);
    let a: Vec<i32> = (0..16).map(|i| -i * 1000).collect();
    let b: Vec<i32> = (0..16).map(|i| -i * 999 - 7).collect();
    assert_eq!(run(&p, &[json!(a), json!(b)]), json!(0));
}

/// Batcher's network as Wikipedia writes it (ranges with `step_by`, `min`
/// in a bound), with `min`/`max` compare-exchanges.
#[test]
fn sort_16_wikipedia_form() {
    let src = "
const N: usize = 16;

fn main(#[garbler] a: [u32; 8], #[evaluator] b: [u32; 8]) -> [u32; N] {
    let mut v = [0u32; N];
    for i in 0..8 {
        v[i] = a[i];
        v[i + 8] = b[i];
    }
    for lp in 0..4 {
        let p = 1 << lp;
        for lk in 0..=lp {
            let k = p >> lk;
            for j in (k % p..N - k).step_by(2 * k) {
                for i in 0..min(k, N - j - k) {
                    if (i + j) / (p * 2) == (i + j + k) / (p * 2) {
                        let lo = min(v[i + j], v[i + j + k]);
                        let hi = max(v[i + j], v[i + j + k]);
                        v[i + j] = lo;
                        v[i + j + k] = hi;
                    }
                }
            }
        }
    }
    v
}";
    let p = check_bound("sort 16 u32 (min/max, step_by)", src, 4032);
    assert_sorts_16(&p);
}

#[test]
fn hamming_by_count_ones() {
    let src = "
fn main(#[garbler] a: [u64; 4], #[evaluator] b: [u64; 4]) -> u32 {
    let mut d = 0;
    for i in 0..4 {
        d += (a[i] ^ b[i]).count_ones();
    }
    d
}";
    let p = check_bound("Hamming distance [u64; 4] by count_ones", src, 300);
    let a = [u64::MAX, 0x1234_5678_9abc_def0, 0, 77];
    let b = [0u64, 0x0fed_cba9_8765_4321, 0, u64::MAX];
    let want: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
    assert_eq!(run(&p, &[json!(a), json!(b)]), json!(want));
}

/// The rows of `docs/LANGUAGE.md`'s cost table for a secret index, for
/// every length and not only powers of two: with k = ⌈log₂ N⌉ index bits,
/// a read costs w · Σ_{j=1..k} ⌈N / 2^j⌉ (one multiplexer per tree node
/// that has an element under it; positions past the end read as zero) and
/// a write 2^k − 2 for decoding the index plus N · w. Values are checked
/// against Rust's indexing with the documented out-of-range rule.
#[test]
fn secret_index_costs_match_the_language_doc() {
    for n in [2u32, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 31, 33, 100] {
        for w in [1u32, 8, 32] {
            let k = 32 - (n - 1).leading_zeros();
            let doc_read: u64 = (1..=k).map(|j| u64::from(n.div_ceil(1 << j))).sum::<u64>() * u64::from(w);
            let doc_write = (1u64 << k) - 2 + u64::from(n) * u64::from(w);
            let ty = format!("u{}", w.max(8));
            let (elem, mask) =
                if w == 1 { ("bool".to_owned(), 1u64) } else { (ty.clone(), u64::MAX >> (64 - w)) };
            let read =
                format!("fn main(#[garbler] a: [{elem}; {n}], #[evaluator] i: u8) -> {elem} {{ a[i] }}");
            let write = format!(
                "fn main(#[garbler] a: [{elem}; {n}], #[evaluator] i: u8, #[evaluator] v: {elem}) -> [{elem}; {n}] {{
                     let mut b = a;
                     b[i] = v;
                     b
                 }}"
            );
            // The table's bounds and power-of-two case, from the formula.
            assert!(doc_read <= u64::from(n + k - 1) * u64::from(w));
            if n.is_power_of_two() {
                assert_eq!(doc_read, u64::from(n - 1) * u64::from(w));
            }
            // The examples the table gives.
            let w64 = u64::from(w);
            match n {
                3 => assert_eq!(doc_write, 2 + 3 * w64),
                5 => assert_eq!(doc_read, 6 * w64),
                100 => assert_eq!((doc_read, doc_write), (102 * w64, 126 + 100 * w64)),
                _ => {}
            }
            let pr = build(&read);
            let pw = build(&write);
            println!(
                "TABLE a[i], N = {n}, w = {w}: read {} (doc {doc_read}), write {} (doc {doc_write})",
                pr.circuit.stats().and,
                pw.circuit.stats().and
            );
            assert_eq!(pr.circuit.stats().and, doc_read, "read, N = {n}, w = {w}");
            assert_eq!(pw.circuit.stats().and, doc_write, "write, N = {n}, w = {w}");

            let a: Vec<u64> = (0..u64::from(n)).map(|e| (e * 0x9e37_79b9 + 5) & mask).collect();
            let to_json = |x: u64| if w == 1 { json!(x == 1) } else { json!(x) };
            let arr: Vec<serde_json::Value> = a.iter().map(|&x| to_json(x)).collect();
            for i in 0..=255u32 {
                let pos = (i % (1 << k)) as usize;
                let want = a.get(pos).copied().unwrap_or(0);
                assert_eq!(run(&pr, &[json!(arr), json!(i)]), to_json(want), "a[{i}], N = {n}");
                if i % 7 == 0 {
                    let mut b = arr.clone();
                    if pos < n as usize {
                        b[pos] = to_json(mask);
                    }
                    assert_eq!(
                        run(&pw, &[json!(arr), json!(i), to_json(mask)]),
                        json!(b),
                        "b[{i}] = v, N = {n}"
                    );
                }
            }
        }
    }
}
