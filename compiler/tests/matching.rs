//! `enum` and `match` against the same programs written in Rust: enum
//! values built, matched and returned; `match` on integer ranges of every
//! width and signedness, on bools and tuples, with `|` and guards; the
//! JSON form of enum values in and out; and the AND counts of the
//! constructs (the cost table in docs/LANGUAGE.md).

mod common;
use common::*;
use proptest::prelude::*;
use serde_json::{json, Value};

const SHAPES: &str = "
enum Shape { Circle(u8), Rect { w: u8, h: u8 }, Empty }
";

#[derive(Clone, Copy, Debug)]
enum Shape {
    Circle(u8),
    Rect { w: u8, h: u8 },
    Empty,
}

fn shape_json(s: Shape) -> Value {
    match s {
        Shape::Circle(r) => json!({ "Circle": r }),
        Shape::Rect { w, h } => json!({ "Rect": { "w": w, "h": h } }),
        Shape::Empty => json!("Empty"),
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        any::<u8>().prop_map(Shape::Circle),
        (any::<u8>(), any::<u8>()).prop_map(|(w, h)| Shape::Rect { w, h }),
        Just(Shape::Empty),
    ]
}

fn area(s: Shape, k: u8) -> (u32, Shape) {
    let a = match s {
        Shape::Circle(r) if r > k => 3 * u32::from(r) * u32::from(r),
        Shape::Circle(_) => 1,
        Shape::Rect { w, h: 0 } => u32::from(w),
        Shape::Rect { w, h } => u32::from(w) * u32::from(h),
        Shape::Empty => 0,
    };
    let t = match s {
        Shape::Circle(r) => Shape::Rect { w: r, h: k },
        Shape::Rect { w, .. } if w == k => Shape::Empty,
        Shape::Rect { w, h } => Shape::Circle(w ^ h),
        Shape::Empty => Shape::Circle(k),
    };
    (a, t)
}

const AREA: &str = "
fn main(#[garbler] s: Shape, #[evaluator] k: u8) -> (u32, Shape) {
    let a = match s {
        Shape::Circle(r) if r > k => 3 * (r as u32) * (r as u32),
        Shape::Circle(_) => 1,
        Shape::Rect { w, h: 0 } => w as u32,
        Shape::Rect { w, h } => (w as u32) * (h as u32),
        Shape::Empty => 0,
    };
    let t = match s {
        Shape::Circle(r) => Shape::Rect { w: r, h: k },
        Shape::Rect { w, .. } if w == k => Shape::Empty,
        Shape::Rect { w, h } => Shape::Circle(w ^ h),
        Shape::Empty => Shape::Circle(k),
    };
    (a, t)
}";

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(64) })]

    #[test]
    fn enum_program_matches_rust(s in shape(), k in any::<u8>()) {
        let p = build(&format!("{SHAPES}{AREA}"));
        let (a, t) = area(s, k);
        prop_assert_eq!(run(&p, &[shape_json(s), json!(k)]), json!([a, shape_json(t)]));
    }

    #[test]
    fn ranges_match_rust_i8(x in any::<i8>()) {
        let p = build("fn main(#[garbler] x: i8) -> u8 { match x { i8::MIN..=-100 => 0, -99..0 => 1, 0 => 2, 1 | 3 | 5 => 3, 6..=100 => 4, 101.. => 5, _ => 6 } }");
        let want = match x { i8::MIN..=-100 => 0, -99..0 => 1, 0 => 2, 1 | 3 | 5 => 3, 6..=100 => 4, 101.. => 5, _ => 6 };
        prop_assert_eq!(run(&p, &[json!(x)]), json!(want));
    }

    #[test]
    fn ranges_match_rust_u16(x in any::<u16>()) {
        let p = build("fn main(#[garbler] x: u16) -> u8 { match x { 0..=9 => 0, 10..1000 => 1, 1000 | 2000 => 2, 60000..=u16::MAX => 3, _ => 4 } }");
        let want = match x { 0..=9 => 0, 10..1000 => 1, 1000 | 2000 => 2, 60000..=u16::MAX => 3, _ => 4 };
        prop_assert_eq!(run(&p, &[json!(x)]), json!(want));
    }

    #[test]
    fn ranges_match_rust_i64(x in any::<i64>()) {
        let p = build("fn main(#[garbler] x: i64) -> u8 { match x { i64::MIN..=-1 => 0, 0..=1000000 => 1, _ => 2 } }");
        let want = match x { i64::MIN..=-1 => 0, 0..=1_000_000 => 1, _ => 2 };
        prop_assert_eq!(run(&p, &[json!(x)]), json!(want));
    }

    #[test]
    fn tuples_bools_and_guards_match_rust(a in any::<bool>(), b in any::<bool>(), x in any::<u32>()) {
        let p = build("fn main(#[garbler] a: bool, #[evaluator] b: bool, #[evaluator] x: u32) -> u32 {
            match (a, b, x) {
                (true, true, _) => 1,
                (true, false, 0..=99) => 2,
                (false, _, y) if y % 2 == 0 => y / 2,
                (false, true, y) => y,
                _ => 7,
            }
        }");
        let want = match (a, b, x) {
            (true, true, _) => 1,
            (true, false, 0..=99) => 2,
            (false, _, y) if y % 2 == 0 => y / 2,
            (false, true, y) => y,
            _ => 7,
        };
        prop_assert_eq!(run(&p, &[json!(a), json!(b), json!(x)]), json!(want));
    }
}

#[test]
fn match_assigns_like_if() {
    let src = "fn main(#[garbler] x: u8) -> (u8, u8) {
        let mut a = 10u8;
        let mut b = 0u8;
        match x {
            0 => { a = 1; }
            1..=5 => { b = x; }
            _ => { a = x; b = x; }
        }
        (a, b)
    }";
    let p = build(src);
    for x in [0u8, 1, 5, 6, 255] {
        let want = match x {
            0 => (1, 0),
            1..=5 => (10, x),
            _ => (x, x),
        };
        assert_eq!(run(&p, &[json!(x)]), json!([want.0, want.1]), "x = {x}");
    }
}

#[test]
fn c_like_enums_cast_to_their_discriminants() {
    let src = "enum Color { Red, Green = 5, Blue }
    fn main(#[garbler] c: Color) -> (u8, Color) {
        let next = match c { Color::Red => Color::Green, Color::Green => Color::Blue, Color::Blue => Color::Red };
        (c as u8, next)
    }";
    let p = build(src);
    assert_eq!(p.params[0].ty.width(), 3);
    for (c, d, n) in [("Red", 0, "Green"), ("Green", 5, "Blue"), ("Blue", 6, "Red")] {
        assert_eq!(run(&p, &[json!(c)]), json!([d, n]));
    }
}

#[test]
fn enum_values_in_and_out_of_json() {
    let src = "enum E { A, B(u8, i16), C { x: bool } }
    fn main(#[garbler] e: E) -> E { e }";
    let p = build(src);
    let t = &p.params[0].ty;
    // Tag of 2 bits, then the widest payload (u8 + i16).
    assert_eq!(t.width(), 2 + 24);
    for v in [json!("A"), json!({"B": [7, -3]}), json!({"C": {"x": true}})] {
        assert_eq!(run(&p, std::slice::from_ref(&v)), v);
    }
    for (bad, msg) in [
        (json!("D"), "E has no variant `D`; its variants are A, B, C"),
        (json!({"A": 1}), "the variant `A` of E has no fields: write \"A\""),
        (json!("B"), "the variant `B` of E has fields: write {\"B\": …}"),
        (json!({"B": [1]}), "at .B: expected 2 elements for (u8, i16), found 1"),
        (json!(3), "expected a variant of E (\"Variant\" or {\"Variant\": …}), found 3"),
    ] {
        assert_eq!(t.encode(&bad).unwrap_err().to_string(), msg);
    }
}

#[test]
fn match_costs() {
    // A C-like enum of 4 variants to one of 4 bytes: 3 arms' conditions
    // (tag equality, 1 AND each) and 3 multiplexers of 8 bits.
    let n = ands(
        "enum D { N, E, S, W }
        fn main(#[garbler] d: D) -> u8 { match d { D::N => 1, D::E => 20, D::S => 33, D::W => 47 } }",
    );
    assert!(n <= 3 + 3 * 8, "{n}");
    // A range on u8: two comparisons with constants.
    let n = ands("fn main(#[garbler] x: u8, #[evaluator] y: u8) -> u8 { match x { 10..=20 => y, _ => 0 } }");
    assert!(n <= 8 + 8 + 1 + 8, "{n}");
}

/// Arms that are statements, as Rust writes them: `=> return v,`,
/// `=> break,`, `=> continue,`, `=> s += x,` (each as if in braces),
/// against the same functions in Rust.
#[test]
fn arms_that_return_break_continue_or_assign_match_rust() {
    // The same arms in Rust, written as the program writes them.
    #[allow(clippy::needless_return)]
    fn f(x: u8) -> u8 {
        match x {
            0 => return 7,
            1..=3 => return x * 2,
            _ => x,
        }
    }
    #[allow(clippy::match_bool, clippy::single_match)]
    fn g(xs: [u8; 6], stop: u8) -> u8 {
        let mut s: u8 = 0;
        for x in xs {
            match x == stop {
                true => break,
                false => {}
            }
            match x % 4 {
                3 => continue,
                0 => s ^= x,
                _ => s = s.wrapping_add(x),
            }
        }
        s
    }
    let src = "
        fn f(x: u8) -> u8 { match x { 0 => return 7, 1..=3 => return x * 2, _ => x, } }
        fn g(xs: [u8; 6], stop: u8) -> u8 {
            let mut s: u8 = 0;
            for x in xs {
                match x == stop { true => break, false => {} }
                match x % 4 { 3 => continue, 0 => s ^= x, _ => s += x }
            }
            s
        }
        fn main(#[garbler] x: u8, #[evaluator] xs: [u8; 6]) -> (u8, u8) { (f(x), g(xs, x)) }";
    let p = build(src);
    let mut rng = 0x9e37_79b9_u32;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        (rng % 12) as u8
    };
    for _ in 0..64 {
        let x = next();
        let xs = [next(), next(), next(), next(), next(), next()];
        let want = json!([f(x), g(xs, x)]);
        assert_eq!(run(&p, &[json!(x), json!(xs)]), want, "x = {x}, xs = {xs:?}");
    }
}
