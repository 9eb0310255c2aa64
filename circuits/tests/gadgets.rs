//! Every gadget against Rust's own integer arithmetic: exhaustively over all
//! operand pairs at 5 and 6 bits, on random values (proptest) at 8, 16, 32,
//! 64 and 128 bits, with its AND count asserted.

use garblet_circuits::opt::optimize;
use garblet_circuits::{Bits, Builder, Circuit, Party, Shift, Sign, Visibility};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

type BinaryGadget = fn(&mut Builder, &Bits, &Bits) -> Bits;
type UnaryGadget = fn(&mut Builder, &Bits) -> Bits;

fn mask(width: u32) -> u128 {
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// Sign-extends the low `width` bits of `v` to an i128.
fn sx(v: u128, width: u32) -> i128 {
    let shift = 128 - width;
    ((v << shift) as i128) >> shift
}

fn binary_circuit(width: u32, gadget: BinaryGadget) -> Circuit {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, width).unwrap();
    let y = b.input("y", Party::Evaluator, width).unwrap();
    let r = gadget(&mut b, &x, &y);
    b.output("r", Visibility::Both, r).unwrap();
    optimize(&b.finish().unwrap())
}

fn unary_circuit(width: u32, gadget: UnaryGadget) -> Circuit {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, width).unwrap();
    let r = gadget(&mut b, &x);
    b.output("r", Visibility::Both, r).unwrap();
    optimize(&b.finish().unwrap())
}

/// Evaluates `c` on many input tuples, 64 at a time (bit-sliced).
fn eval_many(c: &Circuit, cases: &[Vec<u128>]) -> Vec<u128> {
    let mut results = Vec::with_capacity(cases.len());
    for chunk in cases.chunks(64) {
        let sliced: Vec<Vec<u64>> = c
            .inputs()
            .iter()
            .enumerate()
            .map(|(i, input)| {
                (0..input.width)
                    .map(|k| {
                        chunk
                            .iter()
                            .enumerate()
                            .fold(0u64, |acc, (lane, case)| acc | ((((case[i] >> k) & 1) as u64) << lane))
                    })
                    .collect()
            })
            .collect();
        let out = c.eval_sliced(&sliced).unwrap();
        for lane in 0..chunk.len() {
            let v = out[0]
                .iter()
                .take(128)
                .enumerate()
                .fold(0u128, |acc, (k, &w)| acc | (u128::from((w >> lane) & 1) << k));
            results.push(v);
        }
    }
    results
}

fn check_cases(name: &str, c: &Circuit, cases: &[Vec<u128>], reference: impl Fn(&[u128]) -> u128) {
    let got = eval_many(c, cases);
    let out_mask = mask(c.outputs()[0].width());
    for (case, got) in cases.iter().zip(got) {
        let want = reference(case) & out_mask;
        assert_eq!(got, want, "{name}{case:?}: circuit gave {got:#x}, Rust gives {want:#x}");
    }
}

// ----- reference semantics at any width (exhaustive tests) -------------------

/// Division by zero as documented: unsigned x/0 = MAX, x%0 = x; signed
/// x/0 = -1, x%0 = x. Otherwise Rust's wrapping_div / wrapping_rem.
fn ref_div(a: u128, b: u128, w: u32, sign: Sign, rem: bool) -> u128 {
    match sign {
        Sign::Unsigned => match (b, rem) {
            (0, false) => mask(w),
            (0, true) => a,
            (_, false) => a / b,
            (_, true) => a % b,
        },
        Sign::Signed => {
            let (a, b) = (sx(a, w), sx(b, w));
            let r = match (b, rem) {
                (0, false) => -1,
                (0, true) => a,
                // i128 never overflows at ≤ 64-bit operands; mask wraps MIN/-1.
                (_, false) => a.wrapping_div(b),
                (_, true) => a.wrapping_rem(b),
            };
            (r as u128) & mask(w)
        }
    }
}

fn ref_compare(a: u128, b: u128, w: u32, sign: Sign) -> std::cmp::Ordering {
    match sign {
        Sign::Unsigned => a.cmp(&b),
        Sign::Signed => sx(a, w).cmp(&sx(b, w)),
    }
}

struct Case {
    name: &'static str,
    gadget: BinaryGadget,
    reference: fn(u128, u128, u32) -> u128,
}

fn binary_cases() -> Vec<Case> {
    use std::cmp::Ordering::*;
    vec![
        Case { name: "add", gadget: |b, x, y| b.add(x, y), reference: |a, b, _| a.wrapping_add(b) },
        Case { name: "sub", gadget: |b, x, y| b.sub(x, y), reference: |a, b, _| a.wrapping_sub(b) },
        Case { name: "mul", gadget: |b, x, y| b.mul(x, y), reference: |a, b, _| a.wrapping_mul(b) },
        Case {
            name: "mul_full_u",
            gadget: |b, x, y| b.mul_full(x, y, Sign::Unsigned),
            reference: |a, b, _| a * b,
        },
        Case {
            name: "mul_full_s",
            gadget: |b, x, y| b.mul_full(x, y, Sign::Signed),
            reference: |a, b, w| (sx(a, w) * sx(b, w)) as u128,
        },
        Case {
            name: "div_u",
            gadget: |b, x, y| b.div(x, y, Sign::Unsigned),
            reference: |a, b, w| ref_div(a, b, w, Sign::Unsigned, false),
        },
        Case {
            name: "rem_u",
            gadget: |b, x, y| b.rem(x, y, Sign::Unsigned),
            reference: |a, b, w| ref_div(a, b, w, Sign::Unsigned, true),
        },
        Case {
            name: "div_s",
            gadget: |b, x, y| b.div(x, y, Sign::Signed),
            reference: |a, b, w| ref_div(a, b, w, Sign::Signed, false),
        },
        Case {
            name: "rem_s",
            gadget: |b, x, y| b.rem(x, y, Sign::Signed),
            reference: |a, b, w| ref_div(a, b, w, Sign::Signed, true),
        },
        Case {
            name: "lt_u",
            gadget: |b, x, y| vec![b.lt(x, y, Sign::Unsigned)],
            reference: |a, b, w| (ref_compare(a, b, w, Sign::Unsigned) == Less) as u128,
        },
        Case {
            name: "le_s",
            gadget: |b, x, y| vec![b.le(x, y, Sign::Signed)],
            reference: |a, b, w| (ref_compare(a, b, w, Sign::Signed) != Greater) as u128,
        },
        Case {
            name: "gt_s",
            gadget: |b, x, y| vec![b.gt(x, y, Sign::Signed)],
            reference: |a, b, w| (ref_compare(a, b, w, Sign::Signed) == Greater) as u128,
        },
        Case {
            name: "ge_u",
            gadget: |b, x, y| vec![b.ge(x, y, Sign::Unsigned)],
            reference: |a, b, w| (ref_compare(a, b, w, Sign::Unsigned) != Less) as u128,
        },
        Case { name: "eq", gadget: |b, x, y| vec![b.eq(x, y)], reference: |a, b, _| (a == b) as u128 },
        Case { name: "ne", gadget: |b, x, y| vec![b.ne(x, y)], reference: |a, b, _| (a != b) as u128 },
        Case {
            name: "min_s",
            gadget: |b, x, y| b.min(x, y, Sign::Signed),
            reference: |a, b, w| if ref_compare(a, b, w, Sign::Signed) == Less { a } else { b },
        },
        Case { name: "max_u", gadget: |b, x, y| b.max(x, y, Sign::Unsigned), reference: |a, b, _| a.max(b) },
        Case {
            name: "shl",
            gadget: |b, x, y| b.shift(x, y, Shift::Left),
            reference: |a, b, w| a << (b % u128::from(w)),
        },
        Case {
            name: "shr_u",
            gadget: |b, x, y| b.shift(x, y, Shift::RightLogical),
            reference: |a, b, w| a >> (b % u128::from(w)),
        },
        Case {
            name: "shr_s",
            gadget: |b, x, y| b.shift(x, y, Shift::RightArithmetic),
            reference: |a, b, w| (sx(a, w) >> (b % u128::from(w))) as u128,
        },
        Case {
            name: "rotl",
            gadget: |b, x, y| b.shift(x, y, Shift::RotateLeft),
            reference: |a, b, w| {
                let k = (b % u128::from(w)) as u32;
                (a << k | a >> ((w - k) % w)) & mask(w)
            },
        },
        Case {
            name: "rotr",
            gadget: |b, x, y| b.shift(x, y, Shift::RotateRight),
            reference: |a, b, w| {
                let k = (b % u128::from(w)) as u32;
                (a >> k | a << ((w - k) % w)) & mask(w)
            },
        },
    ]
}

#[test]
fn binary_gadgets_exhaustive_at_5_and_6_bits() {
    for w in [5u32, 6] {
        let all: Vec<Vec<u128>> =
            (0..1u128 << w).flat_map(|a| (0..1u128 << w).map(move |b| vec![a, b])).collect();
        for case in binary_cases() {
            let c = binary_circuit(w, case.gadget);
            check_cases(&format!("{}@{w}", case.name), &c, &all, |v| (case.reference)(v[0], v[1], w));
        }
    }
}

#[test]
fn unary_gadgets_exhaustive_at_5_and_6_bits() {
    type Reference = fn(u128, u32) -> u128;
    let cases: [(&str, UnaryGadget, Reference); 4] = [
        ("neg", |b, x| b.neg(x), |a, _| a.wrapping_neg()),
        ("abs", |b, x| b.abs(x), |a, w| sx(a, w).unsigned_abs()),
        ("popcount", |b, x| b.popcount(x), |a, _| u128::from(a.count_ones())),
        ("not", |b, x| b.not_bits(x), |a, _| !a),
    ];
    for w in [5u32, 6] {
        let all: Vec<Vec<u128>> = (0..1u128 << w).map(|a| vec![a]).collect();
        for (name, gadget, reference) in cases {
            let c = unary_circuit(w, gadget);
            check_cases(&format!("{name}@{w}"), &c, &all, |v| reference(v[0], w));
        }
    }
}

#[test]
fn mux_and_constant_shifts_exhaustive_at_6_bits() {
    let w = 6;
    let mut b = Builder::new();
    let s = b.input("s", Party::Garbler, 1).unwrap();
    let t = b.input("t", Party::Garbler, w).unwrap();
    let f = b.input("f", Party::Evaluator, w).unwrap();
    let r = b.mux(s[0], &t, &f);
    b.output("r", Visibility::Both, r).unwrap();
    let c = optimize(&b.finish().unwrap());
    assert_eq!(c.stats().and, u64::from(w));
    let all: Vec<Vec<u128>> = (0..2u128)
        .flat_map(|s| (0..64u128).flat_map(move |t| (0..64u128).map(move |f| vec![s, t, f])))
        .collect();
    check_cases("mux", &c, &all, |v| if v[0] == 1 { v[1] } else { v[2] });

    for k in 0..8u64 {
        for (kind, reference) in [
            (Shift::Left, (|a, k| a << k) as fn(u128, u32) -> u128),
            (Shift::RightLogical, |a, k| a >> k),
            (Shift::RightArithmetic, |a, k| (sx(a, 6) >> k) as u128),
            (Shift::RotateLeft, |a, k| {
                let k = k % 6;
                a << k | a >> ((6 - k) % 6)
            }),
        ] {
            let mut b = Builder::new();
            let x = b.input("x", Party::Garbler, w).unwrap();
            let r = b.shift_const(&x, k, kind);
            b.output("r", Visibility::Both, r).unwrap();
            let c = b.finish().unwrap();
            assert_eq!(c.stats().gates, 0, "a constant shift is free");
            let all: Vec<Vec<u128>> = (0..64u128).map(|a| vec![a]).collect();
            check_cases(&format!("{kind:?} by {k}"), &c, &all, |v| reference(v[0], k as u32));
        }
    }
}

/// The AND counts the gadget docs promise, for n-bit operands.
fn expected_ands(name: &str, n: u64) -> Option<u64> {
    let log = u64::from(n.trailing_zeros());
    let udiv = n * n + 2 * n - 3;
    Some(match name {
        "add" | "sub" => n - 1,
        "mul" => n * n - n + 1,
        "mul_full_u" => 2 * n * n - n,
        "div_u" => udiv,
        "rem_u" => udiv + n,
        "lt_u" | "le_s" | "gt_s" | "ge_u" => n,
        "eq" | "ne" => n - 1,
        "min_s" | "max_u" => 2 * n,
        "shl" | "shr_u" if n.is_power_of_two() => n * log,
        // The last stage swaps halves: the pairs share one AND (structural hashing).
        "rotl" | "rotr" if n.is_power_of_two() => n * log - n / 2,
        // The sign bit never moves: one mux per stage folds away.
        "shr_s" if n.is_power_of_two() => n * log - log,
        _ => return None,
    })
}

macro_rules! random_width_test {
    ($test:ident, $u:ty, $s:ty) => {
        #[test]
        fn $test() {
            const W: u32 = <$u>::BITS;
            let m = mask(W);
            // Rust's own operations on the native types of this width.
            let rust: Vec<(&str, Box<dyn Fn(u128, u128) -> Option<u128>>)> = vec![
                ("add", Box::new(|a, b| Some((a as $u).wrapping_add(b as $u) as u128))),
                ("sub", Box::new(|a, b| Some((a as $u).wrapping_sub(b as $u) as u128))),
                ("mul", Box::new(|a, b| Some((a as $u).wrapping_mul(b as $u) as u128))),
                ("div_u", Box::new(|a, b| (a as $u).checked_div(b as $u).map(|q| q as u128))),
                ("rem_u", Box::new(|a, b| (a as $u).checked_rem(b as $u).map(|q| q as u128))),
                (
                    "div_s",
                    Box::new(|a, b| {
                        let (a, b) = (a as $u as $s, b as $u as $s);
                        (b != 0).then(|| a.wrapping_div(b) as $u as u128)
                    }),
                ),
                (
                    "rem_s",
                    Box::new(|a, b| {
                        let (a, b) = (a as $u as $s, b as $u as $s);
                        (b != 0).then(|| a.wrapping_rem(b) as $u as u128)
                    }),
                ),
                ("lt_u", Box::new(|a, b| Some(((a as $u) < (b as $u)) as u128))),
                ("le_s", Box::new(|a, b| Some(((a as $u as $s) <= (b as $u as $s)) as u128))),
                ("gt_s", Box::new(|a, b| Some(((a as $u as $s) > (b as $u as $s)) as u128))),
                ("ge_u", Box::new(|a, b| Some(((a as $u) >= (b as $u)) as u128))),
                ("eq", Box::new(|a, b| Some((a == b) as u128))),
                ("ne", Box::new(|a, b| Some((a != b) as u128))),
                ("min_s", Box::new(|a, b| Some((a as $u as $s).min(b as $u as $s) as $u as u128))),
                ("max_u", Box::new(|a, b| Some((a as $u).max(b as $u) as u128))),
                ("shl", Box::new(|a, b| Some((a as $u).wrapping_shl(b as u32) as u128))),
                ("shr_u", Box::new(|a, b| Some((a as $u).wrapping_shr(b as u32) as u128))),
                ("shr_s", Box::new(|a, b| Some((a as $u as $s).wrapping_shr(b as u32) as $u as u128))),
                ("rotl", Box::new(|a, b| Some((a as $u).rotate_left((b % u128::from(W)) as u32) as u128))),
                ("rotr", Box::new(|a, b| Some((a as $u).rotate_right((b % u128::from(W)) as u32) as u128))),
            ];
            let gadgets: std::collections::HashMap<&str, BinaryGadget> =
                binary_cases().into_iter().map(|c| (c.name, c.gadget)).collect();
            for (name, reference) in &rust {
                let c = binary_circuit(W, gadgets[name]);
                if let Some(ands) = expected_ands(name, u64::from(W)) {
                    assert_eq!(c.stats().and, ands, "AND count of {name} at {W} bits");
                }
                let mut runner = TestRunner::new(Config { cases: 128, ..Config::default() });
                // Random pairs, plus the edge values that matter most.
                let strategy = prop::collection::vec(
                    (
                        prop_oneof![
                            any::<u128>(),
                            Just(0u128),
                            Just(m),
                            Just(m >> 1),
                            Just((m >> 1) + 1),
                            Just(1)
                        ],
                        prop_oneof![any::<u128>(), Just(0u128), Just(m), Just(1), Just(m >> 1), Just(2)],
                    ),
                    64,
                );
                runner
                    .run(&strategy, |pairs| {
                        let cases: Vec<Vec<u128>> = pairs.iter().map(|&(a, b)| vec![a & m, b & m]).collect();
                        let got = eval_many(&c, &cases);
                        for (case, got) in cases.iter().zip(got) {
                            let (a, b) = (case[0], case[1]);
                            // Division by zero: the documented result.
                            let want = reference(a, b).unwrap_or_else(|| {
                                let signed = name.ends_with("_s");
                                let sign = if signed { Sign::Signed } else { Sign::Unsigned };
                                ref_div(a, b, W, sign, name.starts_with("rem"))
                            });
                            prop_assert_eq!(got, want, "{}({:#x}, {:#x}) at {} bits", name, a, b, W);
                        }
                        Ok(())
                    })
                    .unwrap();
            }
            // Unary gadgets.
            let neg = unary_circuit(W, |b, x| b.neg(x));
            let abs = unary_circuit(W, |b, x| b.abs(x));
            let pop = unary_circuit(W, |b, x| b.popcount(x));
            assert_eq!(neg.stats().and, u64::from(W) - 2);
            assert_eq!(abs.stats().and, u64::from(W) - 1);
            assert!(pop.stats().and <= u64::from(W), "popcount at {W} bits: {} ANDs", pop.stats().and);
            let mut runner = TestRunner::new(Config { cases: 64, ..Config::default() });
            runner
                .run(&prop::collection::vec(any::<u128>(), 64), |vals| {
                    let cases: Vec<Vec<u128>> = vals.iter().map(|&a| vec![a & m]).collect();
                    for (case, got) in cases.iter().zip(eval_many(&neg, &cases)) {
                        prop_assert_eq!(got, (case[0] as $u).wrapping_neg() as u128);
                    }
                    for (case, got) in cases.iter().zip(eval_many(&abs, &cases)) {
                        prop_assert_eq!(got, (case[0] as $u as $s).wrapping_abs() as $u as u128);
                    }
                    for (case, got) in cases.iter().zip(eval_many(&pop, &cases)) {
                        prop_assert_eq!(got, u128::from((case[0] as $u).count_ones()));
                    }
                    Ok(())
                })
                .unwrap();
        }
    };
}

random_width_test!(random_values_at_8_bits, u8, i8);
random_width_test!(random_values_at_16_bits, u16, i16);
random_width_test!(random_values_at_32_bits, u32, i32);
random_width_test!(random_values_at_64_bits, u64, i64);
random_width_test!(random_values_at_128_bits, u128, i128);

/// The full product, checked at 32 and 64 bits against the widening types.
#[test]
fn full_products_at_32_and_64_bits() {
    let cu = binary_circuit(64, |b, x, y| b.mul_full(x, y, Sign::Unsigned));
    let cs = binary_circuit(64, |b, x, y| b.mul_full(x, y, Sign::Signed));
    assert_eq!(cu.stats().and, 2 * 64 * 64 - 64);
    assert_eq!(cs.stats().and, 2 * 64 * 64 - 64 + 2 * 64 - 2);
    let mut runner = TestRunner::new(Config { cases: 32, ..Config::default() });
    runner
        .run(&prop::collection::vec((any::<u64>(), any::<u64>()), 64), |pairs| {
            let cases: Vec<Vec<u128>> =
                pairs.iter().map(|&(a, b)| vec![u128::from(a), u128::from(b)]).collect();
            for ((a, b), got) in pairs.iter().zip(eval_many(&cu, &cases)) {
                prop_assert_eq!(got, u128::from(*a) * u128::from(*b));
            }
            for ((a, b), got) in pairs.iter().zip(eval_many(&cs, &cases)) {
                prop_assert_eq!(got, (i128::from(*a as i64) * i128::from(*b as i64)) as u128);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn constants_fold_to_no_gates() {
    let mut b = Builder::new();
    let x = b.constant_bits(1234, 32);
    let y = b.constant_bits(-77, 32);
    let p = b.mul(&x, &y);
    let q = b.div(&x, &y, Sign::Signed);
    let l = b.lt(&x, &y, Sign::Signed);
    b.output("p", Visibility::Both, p).unwrap();
    b.output("q", Visibility::Both, q).unwrap();
    b.output("l", Visibility::Both, vec![l]).unwrap();
    assert_eq!(b.gate_count(), 0, "a gadget on constant inputs emits no gate");
    let c = b.finish().unwrap();
    let out = c.eval_u128(&[]).unwrap();
    assert_eq!(out[0] as u32, 1234u32.wrapping_mul(-77i32 as u32));
    assert_eq!(out[1] as u32 as i32, 1234 / -77);
    assert_eq!(out[2], 0);
}

#[test]
fn and_with_a_constant_emits_no_and_and_x_xor_x_is_zero() {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 8).unwrap();
    let k = b.constant_bits(0b1010_0110, 8);
    let masked = b.and_bits(&x, &k);
    assert_eq!(b.and_count(), 0);
    let zero = b.xor_bits(&x, &x);
    assert!(zero.iter().all(|w| *w == garblet_circuits::WireId::ZERO));
    let nx = b.not(x[0]);
    assert_eq!(b.and(x[0], nx), garblet_circuits::WireId::ZERO);
    assert_eq!(b.not(nx), x[0]);
    b.output("m", Visibility::Both, masked).unwrap();
    assert_eq!(b.finish().unwrap().eval_u128(&[0xff]).unwrap(), vec![0b1010_0110]);
}

#[test]
fn issue_table_counts() {
    // u32 division, the one with an aim: at most 1,200 ANDs.
    let div = binary_circuit(32, |b, x, y| b.div(x, y, Sign::Unsigned));
    assert!(div.stats().and <= 1200, "u32 division: {} ANDs", div.stats().and);
    // A shift of a u32 by a secret u32: 160.
    let shl = binary_circuit(32, |b, x, y| b.shift(x, y, Shift::Left));
    assert_eq!(shl.stats().and, 160);
    // Hamming distance of 256 bits: at most 300.
    let ham = binary_circuit(256, |b, x, y| {
        let d = b.xor_bits(x, y);
        b.popcount(&d)
    });
    assert!(ham.stats().and <= 300, "hamming 256: {} ANDs", ham.stats().and);
}

#[test]
fn add_many_sums_like_rust() {
    // 200 u32 terms (the sum-of-200 row of the compiler's table): ≤ 199 · 31.
    let mut b = Builder::new();
    let terms: Vec<Bits> = (0..200).map(|i| b.input(format!("t{i}"), Party::Garbler, 32).unwrap()).collect();
    let sum = b.add_many(&terms, 32);
    b.output("s", Visibility::Both, sum).unwrap();
    let c = optimize(&b.finish().unwrap());
    assert!(c.stats().and <= 199 * 31, "{} ANDs", c.stats().and);
    let mut runner = TestRunner::new(Config { cases: 16, ..Config::default() });
    runner
        .run(&prop::collection::vec(prop::collection::vec(any::<u32>(), 200), 64), |lanes| {
            let cases: Vec<Vec<u128>> =
                lanes.iter().map(|v| v.iter().map(|&x| u128::from(x)).collect()).collect();
            for (v, got) in lanes.iter().zip(eval_many(&c, &cases)) {
                prop_assert_eq!(got, u128::from(v.iter().fold(0u32, |a, &x| a.wrapping_add(x))));
            }
            Ok(())
        })
        .unwrap();
    // Mixed widths, exhaustive over three small terms.
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 3).unwrap();
    let y = b.input("y", Party::Garbler, 5).unwrap();
    let z = b.input("z", Party::Evaluator, 1).unwrap();
    let s = b.add_many(&[x, y, z], 6);
    b.output("s", Visibility::Both, s).unwrap();
    let c = optimize(&b.finish().unwrap());
    let all: Vec<Vec<u128>> = (0..8u128)
        .flat_map(|x| (0..32u128).flat_map(move |y| (0..2u128).map(move |z| vec![x, y, z])))
        .collect();
    check_cases("add_many", &c, &all, |v| v[0] + v[1] + v[2]);
}

#[test]
fn mul_narrows_extended_operands() {
    // (x as i32) * (y as i32) for i16 x, y: a signed 16-bit full product.
    let widen = |sign: Sign| -> Circuit {
        let mut b = Builder::new();
        let x = b.input("x", Party::Garbler, 16).unwrap();
        let y = b.input("y", Party::Evaluator, 16).unwrap();
        let (x, y) = (b.resize(&x, 32, sign), b.resize(&y, 32, sign));
        let p = b.mul(&x, &y);
        b.output("p", Visibility::Both, p).unwrap();
        optimize(&b.finish().unwrap())
    };
    let signed = widen(Sign::Signed);
    let unsigned = widen(Sign::Unsigned);
    assert_eq!(signed.stats().and, 2 * 16 * 16 - 16 + 2 * 16 - 2);
    assert_eq!(unsigned.stats().and, 2 * 16 * 16 - 16);
    let mut runner = TestRunner::new(Config { cases: 64, ..Config::default() });
    runner
        .run(&prop::collection::vec((any::<u16>(), any::<u16>()), 64), |pairs| {
            let cases: Vec<Vec<u128>> =
                pairs.iter().map(|&(a, b)| vec![u128::from(a), u128::from(b)]).collect();
            for ((a, b), got) in pairs.iter().zip(eval_many(&signed, &cases)) {
                let want = i32::from(*a as i16).wrapping_mul(i32::from(*b as i16)) as u32;
                prop_assert_eq!(got, u128::from(want));
            }
            for ((a, b), got) in pairs.iter().zip(eval_many(&unsigned, &cases)) {
                prop_assert_eq!(got, u128::from(u32::from(*a).wrapping_mul(u32::from(*b))));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn columns_add_products_terms_counts_and_constants() {
    // s = x·y (x sign-extended, y zero-extended to 8 bits) − z + popcount(z) − x·z + 37,
    // mod 2^8, exhaustively over 4-bit x, y, z: Baugh–Wooley, unsigned
    // products, negation and the constant all through one compression.
    use garblet_circuits::{Columns, WireId};
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 4).unwrap();
    let y = b.input("y", Party::Evaluator, 4).unwrap();
    let z = b.input("z", Party::Evaluator, 4).unwrap();
    let xs = b.sext(&x, 8);
    let yz = b.zext(&y, 8);
    let zz = b.zext(&z, 8);
    let mut sum = Columns::new(8, 37);
    b.push_product(&mut sum, &xs, &yz, false);
    b.push_term(&mut sum, &z, true);
    b.push_count(&mut sum, &z, false);
    b.push_product(&mut sum, &xs, &zz, true);
    sum.push(3, WireId::ONE);
    let s = b.add_columns(sum);
    b.output("s", Visibility::Both, s).unwrap();
    let c = optimize(&b.finish().unwrap());
    let all: Vec<Vec<u128>> = (0..16u128)
        .flat_map(|x| (0..16u128).flat_map(move |y| (0..16u128).map(move |z| vec![x, y, z])))
        .collect();
    check_cases("columns", &c, &all, |v| {
        let (x, y, z) = (sx(v[0], 4), v[1] as i128, v[2] as i128);
        (x * y - z + z.count_ones() as i128 - x * z + 37 + 8) as u128
    });
}

/// `product_bits` counts exactly the bits `push_product` adds to a sum
/// when the operands hold no constant one (wires, zero- or sign-extended,
/// some bits forced to zero), whatever the widths, signs and the sum's
/// width: it is how a compiler refuses a sum too large to build before
/// pushing it. With constant ones among the bits it counts no more than
/// `push_product` adds (a one folds to the other factor's wire).
#[test]
fn product_bits_counts_the_bits_a_product_adds_to_a_sum() {
    use garblet_circuits::gadgets::product_bits;
    use garblet_circuits::{Columns, WireId};
    proptest!(ProptestConfig::with_cases(300), |(
        wa in 1u32..20, wb in 1u32..20, ext_a in 0u32..12, ext_b in 0u32..12,
        signed_a: bool, signed_b: bool, width in 1usize..48,
        zeros_a in proptest::collection::vec(any::<bool>(), 20),
        ones_b in proptest::collection::vec(any::<bool>(), 20),
        with_ones: bool,
    )| {
        let mut b = Builder::new();
        let x = b.input("x", Party::Garbler, wa).unwrap();
        let y = b.input("y", Party::Evaluator, wb).unwrap();
        let mut x: Vec<WireId> = x.iter().zip(&zeros_a).map(|(&w, &z)| if z { WireId::ZERO } else { w }).collect();
        let mut y: Vec<WireId> =
            y.iter().zip(&ones_b).map(|(&w, &o)| if o && with_ones { WireId::ONE } else { w }).collect();
        x = if signed_a { b.sext(&x, wa + ext_a) } else { b.zext(&x, wa + ext_a) };
        y = if signed_b { b.sext(&y, wb + ext_b) } else { b.zext(&y, wb + ext_b) };
        let mut sum = Columns::new(width as u32, 0);
        b.push_product(&mut sum, &x, &y, false);
        let counted = product_bits(&x, &y, width) as usize;
        if with_ones && ones_b.iter().take(wb as usize).any(|&o| o) {
            prop_assert!(counted <= sum.bits(), "{counted} > {}", sum.bits());
        } else {
            prop_assert_eq!(counted, sum.bits());
        }
    });
}

/// `ge_const` and the cohort guard, exhaustively at 6 bits for every
/// constant (and two that do not fit): the values, the sentinel (every bit
/// set) below the constant, and the AND counts the module docs promise.
#[test]
fn release_guard_exhaustive_at_6_bits() {
    use garblet_circuits::WireId;
    const N: u32 = 6;
    for k in 0..(1u128 << N) + 2 {
        let mut b = Builder::new();
        let count = b.input("count", Party::Evaluator, N).unwrap();
        let value = b.input("value", Party::Garbler, 4).unwrap();
        let ge = b.ge_const(&count, k);
        let ge_ands = b.and_count() as u64;
        let want_ands = match k {
            0 => 0,
            k if k >= 1 << N => 0,
            k => u64::from(N - k.trailing_zeros() - 1),
        };
        assert_eq!(ge_ands, want_ands, "ge_const k = {k}");
        // A value with two constant bits: 1 stays 1, 0 becomes ¬(count ≥ k).
        let mixed = vec![value[0], WireId::ONE, value[1], WireId::ZERO];
        let out = b.release_if_at_least(&count, k, &mixed);
        let guard_ands = b.and_count() as u64 - ge_ands;
        let secret_condition = k != 0 && k < 1 << N;
        assert_eq!(guard_ands, if secret_condition { 2 } else { 0 }, "guard k = {k}");
        b.output("ge", Visibility::Both, vec![ge]).unwrap();
        b.output("out", Visibility::Both, out).unwrap();
        let c = b.finish().unwrap();
        for n in 0..1u128 << N {
            for v in 0..4u128 {
                let got = c.eval_u128(&[n, v]).unwrap();
                let released = n >= k;
                let want = if released { (v & 1) | 0b10 | ((v >> 1) & 1) << 2 } else { 0b1111 };
                assert_eq!(got, vec![u128::from(released), want], "count {n}, k {k}, value {v}");
            }
        }
    }
}

/// One term of a random sum: a product of two operands drawn from a small
/// pool of wires (so that operand pairs repeat, within a product and across
/// products, as in `x * x` or `a * b + b * a`), perhaps negated, or a
/// plain term.
#[derive(Clone, Debug)]
enum SumTerm {
    Product(Vec<usize>, Vec<usize>, bool),
    Plain(Vec<usize>, bool),
}

fn sum_term() -> impl Strategy<Value = SumTerm> {
    let operand = || proptest::sample::subsequence((0..8usize).collect::<Vec<_>>(), 1..=4).prop_shuffle();
    prop_oneof![
        3 => (operand(), operand(), any::<bool>()).prop_map(|(a, b, n)| SumTerm::Product(a, b, n)),
        1 => (operand(), any::<bool>()).prop_map(|(a, n)| SumTerm::Plain(a, n)),
    ]
}

/// The circuit of `Σ terms + constant` (mod 2^width) over an input of 4
/// bits whose pool is its bits and the XORs of neighbours; with `eager`,
/// every partial product's AND is built when its product is pushed (the
/// builder's behaviour before products waited in the sum), through the
/// public `Columns::push`.
fn sum_circuit(terms: &[SumTerm], width: u32, constant: u128, eager: bool) -> Circuit {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 4).unwrap();
    let pool: Vec<_> = x.iter().copied().chain((0..4).map(|i| b.xor(x[i], x[(i + 1) % 4]))).collect();
    let mut sum = garblet_circuits::Columns::new(width, constant);
    for t in terms {
        match t {
            SumTerm::Product(a, c, negate) => {
                let (a, c): (Bits, Bits) =
                    (a.iter().map(|&i| pool[i]).collect(), c.iter().map(|&i| pool[i]).collect());
                if !eager {
                    b.push_product(&mut sum, &a, &c, *negate);
                    continue;
                }
                // Operands of distinct wires read as unsigned: the
                // schoolbook rows, each bit negated as `¬p − 1`.
                for (i, &ai) in a.iter().enumerate() {
                    for (j, &cj) in c.iter().enumerate() {
                        if i + j < width as usize {
                            let p = b.and(ai, cj);
                            if *negate {
                                let np = b.not(p);
                                sum.push(i + j, np);
                                sum.sub_constant(1 << (i + j));
                            } else {
                                sum.push(i + j, p);
                            }
                        }
                    }
                }
            }
            SumTerm::Plain(a, negate) => {
                let a: Bits = a.iter().map(|&i| pool[i]).collect();
                b.push_term(&mut sum, &a, *negate);
            }
        }
    }
    let r = b.add_columns(sum);
    b.output("r", Visibility::Both, r).unwrap();
    b.finish().unwrap()
}

proptest! {
    #![proptest_config(Config { cases: 400, ..Config::default() })]

    /// Products that wait in the sum until the compression reaches them
    /// build exactly the gates that building them at once would (the same
    /// AND and gate counts, so no look-up the waiting skips was needed),
    /// and the sum is right: checked on all 16 inputs against Rust's
    /// wrapping arithmetic.
    #[test]
    fn pending_products_build_the_same_gates_as_eager_ones(
        terms in proptest::collection::vec(sum_term(), 1..6),
        width in 1u32..10,
        constant in any::<u8>(),
    ) {
        let lazy = sum_circuit(&terms, width, u128::from(constant), false);
        let eager = sum_circuit(&terms, width, u128::from(constant), true);
        prop_assert_eq!(lazy.and_count(), eager.and_count());
        prop_assert_eq!(lazy.gates().len(), eager.gates().len());
        let value = |x: u128, ws: &[usize]| -> u128 {
            let bit = |i: usize| if i < 4 { (x >> i) & 1 } else { ((x >> (i - 4)) ^ (x >> ((i - 3) % 4))) & 1 };
            ws.iter().enumerate().map(|(k, &i)| bit(i) << k).sum()
        };
        for x in 0..16u128 {
            let mut want = u128::from(constant);
            for t in &terms {
                let v = match t {
                    SumTerm::Product(a, c, n) => (value(x, a).wrapping_mul(value(x, c)), *n),
                    SumTerm::Plain(a, n) => (value(x, a), *n),
                };
                want = if v.1 { want.wrapping_sub(v.0) } else { want.wrapping_add(v.0) };
            }
            let want = want & mask(width);
            prop_assert_eq!(lazy.eval_u128(&[x]).unwrap(), vec![want]);
            prop_assert_eq!(eager.eval_u128(&[x]).unwrap(), vec![want]);
        }
    }
}

/// Past its gate limit a builder builds nothing more (memory stays bounded
/// while a caller adds up a long sum between two checks of the count), and
/// finishing fails instead of giving a circuit with missing gates.
#[test]
fn a_builder_past_its_gate_limit_builds_nothing_and_will_not_finish() {
    use garblet_circuits::{BuildError, Builder, Party, Sign, Visibility};
    let build = |limit: Option<usize>| {
        let mut b = Builder::new();
        if let Some(limit) = limit {
            b.set_gate_limit(limit);
        }
        let x = b.input("x", Party::Garbler, 32).unwrap();
        let y = b.input("y", Party::Evaluator, 32).unwrap();
        let sum = b.add(&x, &y);
        let product = b.mul(&sum, &y);
        let less = b.lt(&product, &x, Sign::Unsigned);
        b.output("r", Visibility::Both, vec![less]).unwrap();
        (b.gate_count(), b.gates_exhausted(), b.finish())
    };
    let (all, exhausted, circuit) = build(None);
    assert!(!exhausted && circuit.is_ok());
    let (count, exhausted, circuit) = build(Some(all / 2));
    assert_eq!(count, all / 2, "no gate past the limit");
    assert!(exhausted);
    assert!(matches!(circuit, Err(BuildError::TooManyGates { limit }) if limit == all / 2));
    let (_, exhausted, circuit) = build(Some(all));
    assert!(!exhausted && circuit.is_ok(), "a limit the circuit fits is no error");
}
