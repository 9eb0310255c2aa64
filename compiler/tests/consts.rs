//! Constants set from outside the source (`--const N=…`): the program
//! compiled with an override behaves as if the source said that value, and
//! every mistake is an error that names the constant.

mod common;
use common::run;
use garblet_compiler::{compile_with, Options, Program};
use serde_json::json;

const SUM: &str = "
const N: usize = 4;
const SCALE: u8 = 1;
const DOUBLE: bool = false;

fn main(#[garbler] a: [u32; N], #[evaluator] b: u32) -> u32 {
    let mut s = b;
    for i in 0..N {
        s = s + a[i] * (SCALE as u32);
    }
    if DOUBLE { s * 2 } else { s }
}";

fn build_with(options: &Options) -> Result<Program, String> {
    compile_with(SUM, "sum.gbl", options, &|_| {}).map_err(|e| e.render_plain(SUM, "sum.gbl"))
}

#[test]
fn an_override_is_the_value_the_source_would_have_said() {
    for n in [1u32, 4, 9, 100] {
        let p =
            build_with(&Options::new().with_const("N", n.to_string()).with_const("SCALE", "0x3")).unwrap();
        // The array's width follows N: the hello will see it.
        assert_eq!(p.params[0].ty.width(), 32 * n);
        let a: Vec<u32> = (0..n).map(|k| k.wrapping_mul(2_654_435_761)).collect();
        let want = a.iter().fold(7u32, |s, &x| s.wrapping_add(x.wrapping_mul(3)));
        assert_eq!(run(&p, &[json!(a), json!(7)]), json!(want), "N = {n}");
        assert_eq!(p.consts, vec![("N".to_string(), n.to_string()), ("SCALE".to_string(), "3".to_string())]);
    }
    let doubled = build_with(&Options::new().with_const("DOUBLE", "true")).unwrap();
    assert_eq!(run(&doubled, &[json!([1, 2, 3, 4]), json!(0)]), json!(20));
    // Without overrides, the source's values, and nothing recorded.
    let plain = build_with(&Options::new()).unwrap();
    assert_eq!(plain.params[0].ty.width(), 128);
    assert!(plain.consts.is_empty());
}

#[test]
fn a_bad_override_names_the_constant_and_what_to_fix() {
    let cases = [
        (Options::new().with_const("SCALE", "300"), "--const SCALE=300: 300 does not fit in u8"),
        (Options::new().with_const("SCALE", "-1"), "--const SCALE=-1: -1 does not fit in u8"),
        (Options::new().with_const("N", "ten"), "--const N=ten: `ten` is not an integer"),
        (Options::new().with_const("DOUBLE", "yes"), "`yes` is not a bool (write true or false)"),
        (Options::new().with_const("M", "3"), "--const M: the program has no `const M`"),
        (Options::new().with_const("N", "3").with_const("N", "4"), "--const N is given twice"),
    ];
    for (options, want) in cases {
        let err = build_with(&options).unwrap_err();
        assert!(err.contains(want), "{want:?} not in:\n{err}");
    }
    let err = build_with(&Options::new().with_const("M", "3")).unwrap_err();
    assert!(err.contains("its constants are `N`, `SCALE`, `DOUBLE`"), "{err}");
}

/// Constant arithmetic that stays in range compiles to Rust's values (the
/// same expressions written in Rust below); one that overflows, divides by
/// zero or shifts by the width is refused, as Rust refuses it.
#[test]
fn constant_arithmetic_follows_rust_and_refuses_what_rust_refuses() {
    const K: u32 = 1 << 31;
    const M: i32 = i32::MIN;
    const N: usize = 1000;
    let src = "
const K: u32 = 1 << 31;
const M: i32 = i32::MIN;
const N: usize = 1000;
fn main(#[garbler] a: u8, #[evaluator] b: i32) -> (u32, i32, u8, u64, i8) {
    let x = (K >> 3) + 255u32 * 3;
    let y = b + (M / 2) + -128;
    let z = a + (3u8 << 7) + (300u32 as u8) + (u8::MAX - 200);
    let w = (N as u64) * 1_000_000_000_000;
    let v = (1i8 << 7) >> 2;
    (x, y, z, w, v)
}";
    let p = compile_with(src, "c.gbl", &Options::new(), &|_| {})
        .map_err(|e| e.render_plain(src, "c.gbl"))
        .unwrap();
    let (a, b) = (9u8, -5i32);
    let want = json!([
        (K >> 3) + 255u32 * 3,
        b + (M / 2) + -128,
        a.wrapping_add(3u8 << 7).wrapping_add(300u32 as u8).wrapping_add(u8::MAX - 200),
        (N as u64) * 1_000_000_000_000,
        (1i8 << 7) >> 2,
    ]);
    assert_eq!(run(&p, &[json!(a), json!(b)]), want);
    for (bad, what) in [
        ("const B: u8 = 200 + 100;", "`200 + 100` is 300"),
        ("const B: u8 = 10 - 11;", "`10 - 11` is -1"),
        ("const B: i16 = 300 * 300;", "`300 * 300` is 90000"),
        ("const B: u64 = 1 << 64;", "shifts by 64"),
        ("const B: u32 = 5 % (2 - 2);", "divides by a constant zero"),
        ("const B: i32 = i32::MIN / -1;", "is 2147483648"),
        ("const B: i8 = -(i8::MIN);", "`-(-128)` is 128"),
        ("const C: u16 = 60000; const B: u16 = C + C;", "`60000 + 60000` is 120000"),
    ] {
        let src = format!("{bad}\nfn main(#[garbler] a: u8) -> u8 {{ a }}");
        let e = compile_with(&src, "bad.gbl", &Options::new(), &|_| {})
            .err()
            .map(|e| e.render_plain(&src, "bad.gbl"));
        let e = e.unwrap_or_else(|| panic!("`{bad}` compiled"));
        assert!(e.contains(what), "`{bad}`: {e}");
    }
}
