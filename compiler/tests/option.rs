//! `Option<T>` against Rust's: `Some`, `None`, `match`, `if let`,
//! `unwrap_or`, `is_some`, `is_none`, and its JSON form (`null` or the
//! value) in and out.

mod common;
use common::*;
use proptest::prelude::*;
use serde_json::{json, Value};

fn opt<T: Into<Value>>(o: Option<T>) -> Value {
    o.map_or(Value::Null, Into::into)
}

const FIND: &str = "
fn find(a: [i16; 4], x: i16) -> Option<u8> {
    let mut r = None;
    for i in 0..4 {
        if a[i] == x { r = Some(i as u8); }
    }
    r
}
fn main(#[garbler] a: [i16; 4], #[evaluator] x: i16, #[evaluator] o: Option<i16>) -> (Option<u8>, u8, bool, bool, i16, i16) {
    let f = find(a, x);
    let k = match f { Some(i) if i > 1 => i * 10, Some(_) => 1, None => 0 };
    let mut v = 0i16;
    if let Some(y) = o { v = y; } else { v = -1; }
    (f, k, o.is_none(), f.is_some(), o.unwrap_or(7).wrapping_add(v), match o { Some(-5..=5) => 1, Some(_) => 2, None => 3 })
}";

fn find(a: [i16; 4], x: i16, o: Option<i16>) -> Value {
    let mut f = None;
    for (i, &ai) in a.iter().enumerate() {
        if ai == x {
            f = Some(i as u8);
        }
    }
    let k = match f {
        Some(i) if i > 1 => i * 10,
        Some(_) => 1,
        None => 0,
    };
    let v = o.unwrap_or(-1); // `if let Some(y) = o { y } else { -1 }` in the program
    let m = match o {
        Some(-5..=5) => 1,
        Some(_) => 2,
        None => 3,
    };
    json!([opt(f), k, o.is_none(), f.is_some(), o.unwrap_or(7).wrapping_add(v), m])
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(64) })]

    #[test]
    fn option_program_matches_rust(a in any::<[i16; 4]>(), k in 0usize..5, x in any::<i16>(), o in any::<Option<i16>>()) {
        // Half the time look for an element that is there.
        let x = if k < 4 { a[k] } else { x };
        let p = build(FIND);
        prop_assert_eq!(run(&p, &[json!(a), json!(x), opt(o)]), find(a, x, o));
    }
}

#[test]
fn option_values_in_and_out_of_json() {
    let p = build("fn main(#[garbler] o: Option<(u8, bool)>, #[evaluator] n: Option<Option<i8>>) -> (Option<(u8, bool)>, Option<Option<i8>>) { (o, n) }");
    let t = &p.params[0].ty;
    // `is_some`, then the value.
    assert_eq!(t.width(), 1 + 9);
    assert_eq!(t.to_string(), "Option<(u8, bool)>");
    assert_eq!(run(&p, &[json!([3, true]), json!(-4)]), json!([[3, true], -4]));
    assert_eq!(run(&p, &[Value::Null, Value::Null]), json!([null, null]));
    assert_eq!(
        t.encode(&json!([300, true])).unwrap_err().to_string(),
        "at .Some.0: 300 does not fit in u8 (0..=255)"
    );
}

#[test]
fn option_costs() {
    // `unwrap_or`: one multiplexer of the value's width.
    assert_eq!(ands("fn main(#[garbler] o: Option<u32>, #[evaluator] d: u32) -> u32 { o.unwrap_or(d) }"), 32);
    // `is_some`, `Some(x)`, `None`: free.
    assert_eq!(ands("fn main(#[garbler] o: Option<u32>, #[evaluator] d: u32) -> (bool, Option<u32>, Option<u8>) { (o.is_some(), Some(d), None) }"), 0);
}
