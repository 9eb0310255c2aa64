//! Every operator × integer type × signedness against Rust's own wrapping
//! arithmetic, on edge values and random values.

mod common;
use common::*;
use garblet_compiler::Program;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{json, Value};

const OPS: &[&str] = &["+", "-", "*", "/", "%", "&", "|", "^", "==", "!=", "<", "<=", ">", ">="];

fn program(ty: &str, op: &str) -> Program {
    let ret = if matches!(op, "==" | "!=" | "<" | "<=" | ">" | ">=") { "bool" } else { ty };
    build(&format!("fn main(#[garbler] a: {ty}, #[evaluator] b: {ty}) -> {ret} {{ a {op} b }}"))
}

fn num<T: ToString>(x: T) -> Value {
    let s = x.to_string();
    match s.parse::<i64>() {
        Ok(v) => json!(v),
        Err(_) => match s.parse::<u64>() {
            Ok(v) => json!(v),
            Err(_) => json!(s),
        },
    }
}

macro_rules! reference {
    ($t:ty, $a:expr, $b:expr, $op:expr) => {{
        let (a, b): ($t, $t) = ($a, $b);
        match $op {
            "+" => num(a.wrapping_add(b)),
            "-" => num(a.wrapping_sub(b)),
            "*" => num(a.wrapping_mul(b)),
            // Division by zero: unsigned x/0 = MAX, signed x/0 = -1; x % 0 = x.
            "/" => {
                if b == 0 {
                    num(if <$t>::MIN == 0 { <$t>::MAX } else { (0 as $t).wrapping_sub(1) })
                } else {
                    num(a.wrapping_div(b))
                }
            }
            "%" => num(if b == 0 { a } else { a.wrapping_rem(b) }),
            "&" => num(a & b),
            "|" => num(a | b),
            "^" => num(a ^ b),
            "==" => json!(a == b),
            "!=" => json!(a != b),
            "<" => json!(a < b),
            "<=" => json!(a <= b),
            ">" => json!(a > b),
            ">=" => json!(a >= b),
            _ => unreachable!(),
        }
    }};
}

macro_rules! op_tests {
    ($name:ident, $t:ty, $ty:expr) => {
        #[test]
        fn $name() {
            let edges: Vec<$t> = vec![
                0,
                1,
                2,
                3,
                <$t>::MAX,
                <$t>::MIN,
                <$t>::MAX / 3,
                <$t>::MIN.wrapping_add(1),
                (0 as $t).wrapping_sub(1),
                7,
                100 as $t,
            ];
            let progs: Vec<(&str, Program)> = OPS.iter().map(|op| (*op, program($ty, op))).collect();
            let mut runner = proptest::test_runner::TestRunner::deterministic();
            let mut values: Vec<($t, $t)> = Vec::new();
            for &a in &edges {
                for &b in &edges {
                    values.push((a, b));
                }
            }
            for _ in 0..40 {
                let a = any::<$t>().new_tree(&mut runner).unwrap().current();
                let b = any::<$t>().new_tree(&mut runner).unwrap().current();
                values.push((a, b));
            }
            for (op, p) in &progs {
                for &(a, b) in &values {
                    let got = run(p, &[num(a), num(b)]);
                    let want = reference!($t, a, b, *op);
                    assert_eq!(got, want, "{} {} {} {} ", $ty, a, op, b);
                }
            }
        }
    };
}

op_tests!(ops_u8, u8, "u8");
op_tests!(ops_i8, i8, "i8");
op_tests!(ops_u16, u16, "u16");
op_tests!(ops_i16, i16, "i16");
op_tests!(ops_u32, u32, "u32");
op_tests!(ops_i32, i32, "i32");
op_tests!(ops_u64, u64, "u64");
op_tests!(ops_i64, i64, "i64");
op_tests!(ops_u128, u128, "u128");
op_tests!(ops_i128, i128, "i128");

macro_rules! shift_tests {
    ($name:ident, $t:ty, $ty:expr) => {
        #[test]
        fn $name() {
            let shl = build(&format!("fn main(#[garbler] a: {0}, #[evaluator] s: u32) -> {0} {{ a << s }}", $ty));
            let shr = build(&format!("fn main(#[garbler] a: {0}, #[evaluator] s: u8) -> {0} {{ a >> s }}", $ty));
            let shr_signed_amount = build(&format!("fn main(#[garbler] a: {0}, #[evaluator] s: i16) -> {0} {{ a >> s }}", $ty));
            let shl_const = build(&format!("fn main(#[garbler] a: {0}, #[evaluator] s: u8) -> {0} {{ (a << 3) ^ (a >> 5) ^ s as {0} }}", $ty));
            for a in [<$t>::MAX, <$t>::MIN, 1 as $t, 0x5a as $t, (0 as $t).wrapping_sub(77)] {
                for s in [0u32, 1, 3, 7, 8, 15, 31, 63, 64, 127, 130, 200, 255] {
                    assert_eq!(run(&shl, &[num(a), json!(s)]), num(a.wrapping_shl(s)), "{a} << {s}");
                    assert_eq!(run(&shr, &[num(a), json!(s)]), num(a.wrapping_shr(s)), "{a} >> {s}");
                    let si = -(s as i16);
                    assert_eq!(run(&shr_signed_amount, &[num(a), json!(si)]), num(a.wrapping_shr(si as u32)), "{a} >> {si}");
                    let s8 = s as u8;
                    assert_eq!(run(&shl_const, &[num(a), json!(s8)]), num((a << 3) ^ (a >> 5) ^ s8 as $t));
                }
            }
        }
    };
}

shift_tests!(shifts_u8, u8, "u8");
shift_tests!(shifts_i8, i8, "i8");
shift_tests!(shifts_u32, u32, "u32");
shift_tests!(shifts_i32, i32, "i32");
shift_tests!(shifts_i64, i64, "i64");
shift_tests!(shifts_u128, u128, "u128");

#[test]
fn unary_casts_and_builtins() {
    let src = "
fn main(#[garbler] a: i16, #[evaluator] b: u8) -> (i16, i16, u16, i64, u8, bool, i16, i16, i16, u32, u8) {
    (-a, !a, a as u16, a as i64, a as u8, a as bool, abs(a), min(a, b as i16), a.max(-5), a.count_ones(), b.wrapping_neg())
}";
    let p = build(src);
    for a in [0i16, 1, -1, i16::MIN, i16::MAX, 300, -300] {
        for b in [0u8, 1, 200, 255] {
            let want = json!([
                a.wrapping_neg(),
                !a,
                a as u16,
                a as i64,
                a as u8,
                a != 0,
                a.wrapping_abs(),
                a.min(b as i16),
                a.max(-5),
                a.count_ones(),
                b.wrapping_neg()
            ]);
            assert_eq!(run(&p, &[json!(a), json!(b)]), want, "a={a} b={b}");
        }
    }
}

#[test]
fn bools() {
    let src = "
fn main(#[garbler] a: bool, #[evaluator] b: bool) -> [bool; 8] {
    [a && b, a || b, a ^ b, !a, a == b, a != b, a < b, (a as u8 + b as u8) == 1]
}";
    let p = build(src);
    for a in [false, true] {
        for b in [false, true] {
            let want = json!([a && b, a || b, a ^ b, !a, a == b, a != b, !a & b, (a as u8 + b as u8) == 1]);
            assert_eq!(run(&p, &[json!(a), json!(b)]), want);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(64) })]

    /// Sums, differences and products in one expression (the lazy sums),
    /// with narrow operands and constants.
    #[test]
    fn linear_forms(a in any::<i32>(), b in any::<i16>(), c in any::<u8>(), d in any::<i64>()) {
        let src = "
fn main(#[garbler] a: i32, #[evaluator] b: i16, #[evaluator] c: u8, #[garbler] d: i64) -> (i32, i64, i32, i64, u8, i32) {
    let x = a * 3 - (b as i32) * -7 + c as i32 - a * (b as i32);
    let y = (a as i64) * (b as i64) - (c as i64) * d + d * 10 - (-d) * (c as i64);
    let mut z = 0;
    z -= a;
    z += (b as i32) * (c as i32);
    z = z - 5 * (c as i32);
    let w = (d * d) - (d as i32 as i64) * (a as i64);
    let v = c * c + c;
    let u = -(a * a) + 1;
    (x, y, z, w, v, u)
}";
        let p = build(src);
        let (bi, ci) = (b as i32, c as i32);
        let x = a.wrapping_mul(3).wrapping_sub(bi.wrapping_mul(-7)).wrapping_add(ci).wrapping_sub(a.wrapping_mul(bi));
        let y = (a as i64).wrapping_mul(b as i64).wrapping_sub((c as i64).wrapping_mul(d)).wrapping_add(d.wrapping_mul(10)).wrapping_sub(d.wrapping_neg().wrapping_mul(c as i64));
        let z = 0i32.wrapping_sub(a).wrapping_add(bi.wrapping_mul(ci)).wrapping_sub(5i32.wrapping_mul(ci));
        let w = d.wrapping_mul(d).wrapping_sub(((d as i32) as i64).wrapping_mul(a as i64));
        let v = c.wrapping_mul(c).wrapping_add(c);
        let u = a.wrapping_mul(a).wrapping_neg().wrapping_add(1);
        prop_assert_eq!(run(&p, &[json!(a), json!(b), json!(c), json!(d)]), json!([x, y, z, w, v, u]));
    }

    /// Sums merged by secret `if`s.
    #[test]
    fn conditional_sums(xs in proptest::collection::vec(any::<u16>(), 8), t in any::<u16>()) {
        let src = "
fn main(#[garbler] xs: [u16; 8], #[evaluator] t: u16) -> (u16, u16, u16) {
    let mut above = 0;
    let mut total: u16 = 1;
    let mut alt = 0u16;
    for x in xs {
        if x > t {
            above += 1;
            total += x;
        } else {
            total -= 2 * x;
            alt += 3;
        }
    }
    (above, total, alt)
}";
        let p = build(src);
        let (mut above, mut total, mut alt) = (0u16, 1u16, 0u16);
        for &x in &xs {
            if x > t { above += 1; total = total.wrapping_add(x); } else { total = total.wrapping_sub(2u16.wrapping_mul(x)); alt += 3; }
        }
        prop_assert_eq!(run(&p, &[json!(xs), json!(t)]), json!([above, total, alt]));
    }
}

macro_rules! const_tests {
    ($name:ident, $t:ty, $ty:expr) => {
        /// The same operators on values known at compile time (computed by
        /// the compiler, not by gates) agree with Rust's wrapping operations
        /// and with the circuits. (Locals holding the constants: an
        /// operation on the `const`s themselves that overflows is refused,
        /// as Rust refuses it; `tests/consts.rs`.)
        #[test]
        fn $name() {
            let edges: Vec<$t> = vec![0, 1, 3, <$t>::MAX, <$t>::MIN, (0 as $t).wrapping_sub(1), 100 as $t];
            for &a in &edges {
                for &b in &edges {
                    let exprs: Vec<String> = OPS.iter().map(|op| format!("a {op} b")).collect();
                    let src = format!(
                        "const A: {0} = {1}; const B: {0} = {2};\nfn main(#[garbler] z: bool) -> ({0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, bool, bool, bool, bool, bool, bool) {{ let (a, b) = (A, B); ({3}) }}",
                        $ty,
                        if a.to_string().starts_with('-') { format!("-{}", a.to_string().trim_start_matches('-')) } else { a.to_string() },
                        b,
                        exprs.join(", ")
                    );
                    let p = build(&src);
                    assert_eq!(p.circuit.stats().gates, 0);
                    let got = run(&p, &[json!(false)]);
                    let want: Vec<serde_json::Value> = OPS.iter().map(|op| reference!($t, a, b, *op)).collect();
                    assert_eq!(got, json!(want), "{} {} {}", $ty, a, b);
                }
            }
        }
    };
}

const_tests!(consts_u8, u8, "u8");
const_tests!(consts_i8, i8, "i8");
const_tests!(consts_i32, i32, "i32");
const_tests!(consts_u64, u64, "u64");
const_tests!(consts_i128, i128, "i128");
const_tests!(consts_u128, u128, "u128");
