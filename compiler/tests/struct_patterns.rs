//! Struct patterns: `let S { x, y: p, .. } = v;`, `let W(a, b) = w;`, in
//! `let` and `for`, nested in tuples, with `mut` bindings — against the
//! same code in Rust. They cost nothing: a pattern only names wires.

mod common;
use common::*;
use proptest::prelude::*;
use serde_json::json;

#[derive(Clone, Copy)]
struct P {
    x: u8,
    y: u8,
    z: bool,
}

#[derive(Clone, Copy)]
struct W(u16, i8);

fn reference(ps: &[P; 3], w: W) -> i32 {
    let mut s: i32 = 0;
    for P { x, y: yy, .. } in ps {
        s = s + i32::from(*x) - i32::from(*yy);
    }
    let W(a, b) = w;
    let P { z, mut x, y: _ } = ps[1];
    x = x.wrapping_add(1);
    if z {
        s += i32::from(x);
    }
    let (P { x: first, .. }, n) = (ps[0], 2u8);
    s + i32::from(a) * i32::from(b) + i32::from(first.wrapping_mul(n))
}

const SRC: &str = "
struct P { x: u8, y: u8, z: bool }
struct W(u16, i8);
fn main(#[garbler] ps: [P; 3], #[evaluator] w: W) -> i32 {
    let mut s: i32 = 0;
    for P { x, y: yy, .. } in ps { s = s + (x as i32) - (yy as i32); }
    let W(a, b) = w;
    let P { z, mut x, y: _ } = ps[1];
    x = x + 1;
    if z { s = s + (x as i32); }
    let (P { x: first, .. }, n) = (ps[0], 2u8);
    s + (a as i32) * (b as i32) + ((first * n) as i32)
}";

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(32) })]

    #[test]
    fn struct_patterns_match_rust(
        xs in any::<[(u8, u8, bool); 3]>(), a in any::<u16>(), b in any::<i8>()
    ) {
        let prog = build(SRC);
        let ps = xs.map(|(x, y, z)| P { x, y, z });
        let json_ps: Vec<_> = xs.iter().map(|&(x, y, z)| json!({"x": x, "y": y, "z": z})).collect();
        let got = run(&prog, &[json!(json_ps), json!([a, b])]);
        prop_assert_eq!(got, json!(reference(&ps, W(a, b))));
    }
}

#[test]
fn a_pattern_costs_what_field_access_costs() {
    let with_pattern = build(
        "struct P { x: u32, y: u32 }
         fn main(#[garbler] p: P, #[evaluator] q: P) -> u32 { let P { x, y } = p; let P { x: u, .. } = q; x * u + y }",
    );
    let with_fields = build(
        "struct P { x: u32, y: u32 }
         fn main(#[garbler] p: P, #[evaluator] q: P) -> u32 { p.x * q.x + p.y }",
    );
    assert_eq!(with_pattern.circuit.digest(), with_fields.circuit.digest());
}

#[test]
fn wrong_struct_patterns_are_explained() {
    let cases = [
        ("let P { x } = p; x", "the pattern does not mention field `y`"),
        ("let P { x, w, .. } = p; x", "the struct `P` has no field `w`"),
        ("let Q { x, .. } = p; x", "this pattern is the struct `Q`, but the value has type P"),
        ("let P { x, x, y } = p; x", "field `x` is bound twice"),
        ("let (a, b) = p; a", "this pattern is a tuple of 2, but the value has type P"),
    ];
    for (body, want) in cases {
        let src = format!(
            "struct P {{ x: u8, y: u8 }} struct Q {{ x: u8 }} fn main(#[garbler] p: P) -> u8 {{ {body} }}"
        );
        let err = compile_errors(&src);
        assert!(err.contains(want), "{body}: {err}");
    }
}
