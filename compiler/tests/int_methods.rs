//! The integer methods against Rust's own, for every width and
//! signedness: `saturating_*`, `checked_*` (an `Option`), `leading_zeros`,
//! `trailing_zeros`, `rotate_left/right`, on edge values and random ones.

mod common;
use common::*;
use garblet_compiler::Program;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{json, Value};

const BINARY: &[&str] = &[
    "saturating_add",
    "saturating_sub",
    "saturating_mul",
    "checked_add",
    "checked_sub",
    "checked_mul",
    "checked_div",
    "checked_rem",
];

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

fn opt<T: ToString>(o: Option<T>) -> Value {
    o.map_or(Value::Null, num)
}

fn programs(ty: &str) -> Vec<(&'static str, Program)> {
    let mut out: Vec<(&'static str, Program)> = BINARY
        .iter()
        .map(|m| {
            let ret = if m.starts_with("checked") { format!("Option<{ty}>") } else { ty.to_owned() };
            (*m, build(&format!("fn main(#[garbler] a: {ty}, #[evaluator] b: {ty}) -> {ret} {{ a.{m}(b) }}")))
        })
        .collect();
    for m in ["leading_zeros", "trailing_zeros"] {
        out.push((
            m,
            build(&format!("fn main(#[garbler] a: {ty}, #[evaluator] b: {ty}) -> u32 {{ a.{m}() }}")),
        ));
    }
    for m in ["rotate_left", "rotate_right"] {
        out.push((
            m,
            build(&format!(
                "fn main(#[garbler] a: {ty}, #[evaluator] b: {ty}) -> {ty} {{ a.{m}(b as u32) }}"
            )),
        ));
    }
    out
}

macro_rules! reference {
    ($t:ty, $a:expr, $b:expr, $m:expr) => {{
        let (a, b): ($t, $t) = ($a, $b);
        match $m {
            "saturating_add" => num(a.saturating_add(b)),
            "saturating_sub" => num(a.saturating_sub(b)),
            "saturating_mul" => num(a.saturating_mul(b)),
            "checked_add" => opt(a.checked_add(b)),
            "checked_sub" => opt(a.checked_sub(b)),
            "checked_mul" => opt(a.checked_mul(b)),
            "checked_div" => opt(a.checked_div(b)),
            "checked_rem" => opt(a.checked_rem(b)),
            "leading_zeros" => num(a.leading_zeros()),
            "trailing_zeros" => num(a.trailing_zeros()),
            "rotate_left" => num(a.rotate_left(b as u32)),
            "rotate_right" => num(a.rotate_right(b as u32)),
            other => panic!("{other}"),
        }
    }};
}

macro_rules! check_type {
    ($name:ident, $t:ty) => {
        #[test]
        fn $name() {
            let progs = programs(stringify!($t));
            let edges: Vec<$t> = vec![
                0,
                1,
                2,
                3,
                7,
                <$t>::MAX,
                <$t>::MIN,
                <$t>::MAX / 2,
                <$t>::MIN / 2,
                (<$t>::MAX).wrapping_add(<$t>::MIN / 3),
                (0 as $t).wrapping_sub(1),
                (0 as $t).wrapping_sub(2),
            ];
            let mut runner = proptest::test_runner::TestRunner::deterministic();
            let mut values = edges.clone();
            for _ in 0..12 {
                values.push(any::<$t>().new_tree(&mut runner).unwrap().current());
                // Small values, where products do not always overflow.
                values.push((-9i8..=9).new_tree(&mut runner).unwrap().current() as $t);
            }
            for (m, p) in &progs {
                for &a in &values {
                    for &b in values.iter().step_by(3) {
                        let got = run(p, &[num(a), num(b)]);
                        let want = reference!($t, a, b, *m);
                        assert_eq!(got, want, "{}::{m}({a}, {b})", stringify!($t));
                    }
                }
            }
        }
    };
}

check_type!(u8_methods, u8);
check_type!(u16_methods, u16);
check_type!(u32_methods, u32);
check_type!(u64_methods, u64);
check_type!(u128_methods, u128);
check_type!(i8_methods, i8);
check_type!(i16_methods, i16);
check_type!(i32_methods, i32);
check_type!(i64_methods, i64);
check_type!(i128_methods, i128);

#[test]
fn method_costs() {
    let cost = |body: &str| ands(&format!("fn main(#[garbler] a: u32, #[evaluator] b: u32) -> {body} }}"));
    let i = |body: &str| ands(&format!("fn main(#[garbler] a: i32, #[evaluator] b: i32) -> {body} }}"));
    let got = [
        cost("u32 { a.saturating_add(b)"),
        cost("u32 { a.saturating_sub(b)"),
        i("i32 { a.saturating_add(b)"),
        cost("Option<u32> { a.checked_add(b)"),
        cost("u32 { a.saturating_mul(b)"),
        i("i32 { a.saturating_mul(b)"),
        cost("u32 { a.leading_zeros()"),
        cost("u32 { a.rotate_left(b)"),
        cost("u32 { a.rotate_left(5)"),
    ];
    eprintln!("costs: {got:?}");
    // Constant rotations are free; the others within the documented bounds.
    assert_eq!(got[8], 0);
    assert!(got[0] <= 2 * 32 + 1 && got[1] <= 2 * 32 + 1 && got[2] <= 2 * 32 + 1, "{got:?}");
}
