//! Struct patterns in `match` arms — `P { x: 0, y, .. }`, `W(a, _)`,
//! nested in variants and tuples, with literal and range fields as
//! conditions — against the same `match` in Rust, exhaustiveness included.

mod common;
use common::*;
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug)]
struct P {
    x: u8,
    y: i8,
    f: bool,
}

#[derive(Clone, Copy, Debug)]
struct W(u8, u8);

#[derive(Clone, Copy, Debug)]
enum Shape {
    Pt(P),
    Rect { a: P, b: P },
    Empty,
}

fn reference(s: Shape, p: P, w: W) -> (u32, u32, u32) {
    let a = match s {
        Shape::Pt(P { x: 0, y, .. }) => (y as u8) as u32,
        Shape::Pt(P { x: 1..=9, f: true, .. }) => 100,
        Shape::Pt(P { x, y: -5..=5, f }) => (x as u32) + (f as u32),
        Shape::Pt(P { .. }) => 7,
        Shape::Rect { a: P { x: ax, .. }, b: P { f: true, x: bx, .. } } => (ax as u32) * (bx as u32),
        Shape::Rect { a, b: P { y, .. } } => (a.x as u32) + ((y as u8) as u32),
        Shape::Empty => 1,
    };
    let b = match (p, w) {
        (P { x: 0, .. }, W(c, _)) => c as u32,
        (P { f: false, y: i8::MIN..=-1, .. }, W(_, 200..)) => 2,
        (P { x, y, f }, W(c, d)) if x == c => ((y as u8) as u32) + (f as u32) + (d as u32),
        (_, W(c, ..)) => (c as u32) * 3,
    };
    let c = match w {
        W(0, d) => d as u32,
        W(c, 0) => (c as u32) + 1000,
        W(..) => 5,
    };
    (a, b, c)
}

const SRC: &str = "
struct P { x: u8, y: i8, f: bool }
struct W(u8, u8);
enum Shape { Pt(P), Rect { a: P, b: P }, Empty }
fn main(#[garbler] s: Shape, #[evaluator] p: P, #[evaluator] w: W) -> (u32, u32, u32) {
    let a = match s {
        Shape::Pt(P { x: 0, y, .. }) => (y as u8) as u32,
        Shape::Pt(P { x: 1..=9, f: true, .. }) => 100,
        Shape::Pt(P { x, y: -5..=5, f }) => (x as u32) + (f as u32),
        Shape::Pt(P { .. }) => 7,
        Shape::Rect { a: P { x: ax, .. }, b: P { f: true, x: bx, .. } } => (ax as u32) * (bx as u32),
        Shape::Rect { a, b: P { y, .. } } => (a.x as u32) + ((y as u8) as u32),
        Shape::Empty => 1,
    };
    let b = match (p, w) {
        (P { x: 0, .. }, W(c, _)) => c as u32,
        (P { f: false, y: i8::MIN..=-1, .. }, W(_, 200..)) => 2,
        (P { x, y, f }, W(c, d)) if x == c => ((y as u8) as u32) + (f as u32) + (d as u32),
        (_, W(c, ..)) => (c as u32) * 3,
    };
    let c = match w {
        W(0, d) => d as u32,
        W(c, 0) => (c as u32) + 1000,
        W(..) => 5,
    };
    (a, b, c)
}";

fn p_json(p: P) -> Value {
    json!({"x": p.x, "y": p.y, "f": p.f})
}

fn shape_json(s: Shape) -> Value {
    match s {
        Shape::Pt(p) => json!({"Pt": p_json(p)}),
        Shape::Rect { a, b } => json!({"Rect": {"a": p_json(a), "b": p_json(b)}}),
        Shape::Empty => json!("Empty"),
    }
}

/// Bytes that hit the arms' literals and ranges often.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![0u8..12, 195u8..=255, any::<u8>()]
}

fn point() -> impl Strategy<Value = P> {
    (byte(), prop_oneof![-8i8..8, any::<i8>()], any::<bool>()).prop_map(|(x, y, f)| P { x, y, f })
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        point().prop_map(Shape::Pt),
        (point(), point()).prop_map(|(a, b)| Shape::Rect { a, b }),
        Just(Shape::Empty),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(200) })]

    #[test]
    fn struct_patterns_in_match_arms_match_rust(s in shape(), p in point(), c in byte(), d in byte()) {
        static PROGRAM: std::sync::OnceLock<garblet_compiler::Program> = std::sync::OnceLock::new();
        let prog = PROGRAM.get_or_init(|| build(SRC));
        let got = run(prog, &[shape_json(s), p_json(p), json!([c, d])]);
        let (a, b, cc) = reference(s, p, W(c, d));
        prop_assert_eq!(got, json!([a, b, cc]));
    }
}

#[test]
fn a_struct_pattern_of_bindings_costs_what_field_access_costs() {
    let decls = "struct P { x: u8, y: i8, f: bool }
         enum Shape { Pt(P), Rect { a: P, b: P }, Empty }";
    let cases = [
        (
            "match s {
                Shape::Pt(P { x, y, .. }) => x + (y as u8),
                Shape::Rect { a: P { x, .. }, b: P { f, .. } } => x + (f as u8),
                Shape::Empty => 1,
            }",
            "match s {
                Shape::Pt(p) => p.x + (p.y as u8),
                Shape::Rect { a, b } => a.x + (b.f as u8),
                Shape::Empty => 1,
            }",
        ),
        (
            "match (q, 3u8) { (P { x, y, f: g }, k) => if g { x * k } else { y as u8 } }",
            "if q.f { q.x * 3 } else { q.y as u8 }",
        ),
    ];
    for (with_pattern, with_fields) in cases {
        let src = |body: &str| {
            format!("{decls} fn main(#[garbler] s: Shape, #[evaluator] q: P) -> u8 {{ {body} }}")
        };
        let (a, b) = (ands(&src(with_pattern)), ands(&src(with_fields)));
        assert_eq!(a, b, "{with_pattern}");
    }
}

#[test]
fn struct_patterns_count_in_exhaustiveness() {
    let decls = "struct P { x: u8, y: i8, f: bool } struct W(u8, bool);";
    // Covered: all-binding fields are irrefutable; refutable fields are split.
    for body in [
        "match p { P { x, .. } => x }",
        "match w { W(a, true) => a, W(_, false) => 0 }",
        "match (p, w) { (P { f: true, .. }, _) => 1, (P { f: false, .. }, W(..)) => 2 }",
        "match p { P { x: 0..=9, .. } => 1, P { x: 10.., y, .. } => y as u8 }",
    ] {
        build(&format!("{decls} fn main(#[garbler] p: P, #[evaluator] w: W) -> u8 {{ {body} }}"));
    }
    let cases = [
        (
            "match p { P { x: 0, .. } => 1, P { f: true, .. } => 2 }",
            "pattern `P { x: 1..=255, f: false, .. }` not covered",
        ),
        ("match w { W(0, _) => 1, W(_, true) => 2 }", "pattern `W(1..=255, false)` not covered"),
        ("match p { P { x: 0, y: 0, f: true } => 1 }", "pattern `P { x: 1..=255, .. }` not covered"),
        ("match (w, p) { (W(_, true), P { .. }) => 1 }", "pattern `(W(_, false), _)` not covered"),
        (
            "match p { P { x: 1, .. } => 1, Q { .. } => 2, _ => 3 }",
            "mismatched types: the value is P, this pattern is the struct Q",
        ),
        ("match p { R { .. } => 1, _ => 3 }", "unknown struct `R`"),
        ("match p { P { z, .. } => 1 }", "the struct `P` has no field `z`"),
        ("match p { P { x } => x }", "pattern does not mention field(s) y, f"),
        ("match p { P(a, b, c) => a }", "the struct `P` has named fields"),
        ("match w { W(a) => a }", "this pattern has 1 field(s), but `W` has 2"),
    ];
    for (body, want) in cases {
        let src = format!(
            "{decls} struct Q {{ x: u8 }} fn main(#[garbler] p: P, #[evaluator] w: W) -> u8 {{ {body} }}"
        );
        let err = compile_errors(&src);
        assert!(err.contains(want), "{body}: {err}");
    }
}
