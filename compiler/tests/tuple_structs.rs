//! Tuple structs: `struct P(u8, i16);`, `P(a, b)`, `p.0`, assignment to a
//! field, methods, and JSON as an array, against the same code in Rust.

mod common;
use common::*;
use proptest::prelude::*;
use serde_json::json;

#[derive(Clone, Copy)]
struct P(u8, i16);

impl P {
    fn scaled(self, k: i16) -> P {
        P(self.0.wrapping_add(1), self.1.wrapping_mul(k))
    }
}

const SRC: &str = "
struct P(u8, i16);
impl P {
    fn scaled(self, k: i16) -> P { P(self.0 + 1, self.1 * k) }
}
fn main(#[garbler] p: P, #[evaluator] k: i16) -> (P, i16, [u8; 2]) {
    let mut q = p.scaled(k);
    q.1 -= 1;
    (q, p.1, [q.0, p.0])
}";

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(48) })]

    #[test]
    fn tuple_struct_program_matches_rust(a in any::<u8>(), b in any::<i16>(), k in any::<i16>()) {
        let prog = build(SRC);
        let p = P(a, b);
        let mut q = p.scaled(k);
        q.1 = q.1.wrapping_sub(1);
        let want = json!([[q.0, q.1], p.1, [q.0, p.0]]);
        prop_assert_eq!(run(&prog, &[json!([a, b]), json!(k)]), want);
    }
}

#[test]
fn tuple_structs_are_json_arrays() {
    let p = build("struct W([u8; 2], bool); fn main(#[garbler] w: W) -> W { w }");
    let t = &p.params[0].ty;
    assert_eq!((t.to_string(), t.width()), ("W".to_owned(), 17));
    assert_eq!(run(&p, &[json!([[1, 2], true])]), json!([[1, 2], true]));
    assert_eq!(
        t.encode(&json!({"0": [1, 2], "1": true})).unwrap_err().to_string(),
        "expected an array of 2 for the tuple struct W, found {\"0\":[1,2],\"1\":true}"
    );
}

/// A newtype is read from its field's value as serde writes it (`0.5` for
/// `Score(0.5)`), or from its array; it prints as an array. A tuple struct
/// of two fields still needs its array.
#[test]
fn a_newtype_is_read_from_its_value_as_serde_writes_it() {
    let p = build("struct Score(I16F16); struct Id(u32); fn main(#[garbler] s: Score, #[evaluator] i: Id) -> (Score, Id) { (s, i) }");
    assert_eq!(run(&p, &[json!(0.5), json!(7)]), json!([[0.5], [7]]));
    assert_eq!(run(&p, &[json!(["-1.25"]), json!([7])]), json!([[-1.25], [7]]));
    let id = &p.params[1].ty;
    assert_eq!(
        id.encode(&json!(-1)).unwrap_err().to_string(),
        "at .0: -1 does not fit in u32 (0..=4294967295)"
    );
    // A newtype of an array: serde's form is the array itself.
    let w = build("struct W([u8; 2]); struct V([u8; 1]); fn main(#[garbler] w: W, #[garbler] v: V) -> (W, V) { (w, v) }");
    assert_eq!(run(&w, &[json!([1, 2]), json!([5])]), json!([[[1, 2]], [[5]]]));
    assert_eq!(run(&w, &[json!([[1, 2]]), json!([[5]])]), json!([[[1, 2]], [[5]]]));
    let two = build("struct P(u8, u8); fn main(#[garbler] p: P) -> P { p }");
    assert!(two.params[0].ty.encode(&json!(3)).is_err());
}
