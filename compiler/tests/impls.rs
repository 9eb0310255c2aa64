//! `impl` blocks: methods with `self` by value, associated functions and
//! constants, `Self`, against the same code in Rust.

mod common;
use common::*;
use proptest::prelude::*;
use serde_json::json;

#[derive(Clone, Copy)]
struct P {
    x: i16,
    y: i16,
}

#[derive(Clone, Copy)]
enum Dir {
    N,
    E,
    S,
    W,
}

impl P {
    const K: usize = 3;
    fn new(x: i16, y: i16) -> Self {
        Self { x, y }
    }
    fn norm1(self) -> i16 {
        self.x.wrapping_abs().wrapping_add(self.y.wrapping_abs())
    }
    fn moved(mut self, d: Dir, k: i16) -> P {
        match d {
            Dir::N => self.y = self.y.wrapping_add(k),
            Dir::E => self.x = self.x.wrapping_add(k),
            Dir::S => self.y = self.y.wrapping_sub(k),
            Dir::W => self.x = self.x.wrapping_sub(k),
        }
        self
    }
}

impl Dir {
    fn turn(self) -> Dir {
        match self {
            Dir::N => Dir::E,
            Dir::E => Dir::S,
            Dir::S => Dir::W,
            Dir::W => Dir::N,
        }
    }
}

const SRC: &str = "
struct P { x: i16, y: i16 }
enum Dir { N, E, S, W }
impl P {
    const K: usize = 3;
    fn new(x: i16, y: i16) -> Self { Self { x, y } }
    fn norm1(self) -> i16 { self.x.abs() + self.y.abs() }
    fn moved(mut self, d: Dir, k: i16) -> P {
        match d {
            Dir::N => { self.y += k; }
            Dir::E => { self.x += k; }
            Dir::S => { self.y -= k; }
            Dir::W => { self.x -= k; }
        }
        self
    }
}
impl Dir {
    fn turn(self) -> Dir { match self { Dir::N => Dir::E, Dir::E => Dir::S, Dir::S => Dir::W, Dir::W => Dir::N } }
}
fn main(#[garbler] p: P, #[evaluator] d: Dir, #[evaluator] k: i16) -> (i16, P, Dir, [u8; P::K]) {
    let q = P::new(p.y, p.x).moved(d, k);
    (p.norm1() + q.norm1(), q, d.turn().turn(), [P::K as u8; P::K])
}";

fn dir(k: u8) -> (Dir, &'static str) {
    [(Dir::N, "N"), (Dir::E, "E"), (Dir::S, "S"), (Dir::W, "W")][usize::from(k % 4)]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(48) })]

    #[test]
    fn impl_program_matches_rust(x in any::<i16>(), y in any::<i16>(), d in any::<u8>(), k in any::<i16>()) {
        let p = build(SRC);
        let (d, dn) = dir(d);
        let q = P::new(y, x).moved(d, k);
        let t = d.turn().turn();
        let tn = ["N", "E", "S", "W"][t as usize];
        let n = P { x, y }.norm1().wrapping_add(q.norm1());
        let fill = [P::K as u8; P::K];
        let want = json!([n, {"x": q.x, "y": q.y}, tn, fill]);
        prop_assert_eq!(run(&p, &[json!({"x": x, "y": y}), json!(dn), json!(k)]), want);
    }
}

#[test]
fn methods_cost_what_their_bodies_cost() {
    let free = "struct A { v: u32 } impl A { fn get(self) -> u32 { self.v } }
        fn main(#[garbler] a: A, #[evaluator] b: u32) -> u32 { a.get() + b }";
    let inline = "fn main(#[garbler] a: u32, #[evaluator] b: u32) -> u32 { a + b }";
    assert_eq!(ands(free), ands(inline));
}

/// Functions of an enum's `impl` block called by path (`Level::of(x)`,
/// `Self::of(x)`), next to its variants, its constants and a method:
/// against the same code in Rust, for every `u8`.
#[test]
fn an_enums_associated_functions_are_called_by_path() {
    #[derive(Clone, Copy)]
    enum Level {
        Low,
        Mid(u8),
        High,
    }
    impl Level {
        const CUT: u8 = 100;
        fn of(x: u8) -> Self {
            if x < 10 {
                Level::Low
            } else if x < Self::CUT {
                Self::Mid(x)
            } else {
                Level::High
            }
        }
        fn again(x: u8) -> Level {
            Self::of(x)
        }
        fn score(self) -> u8 {
            match self {
                Level::Low => 1,
                Level::Mid(v) => v / 10,
                Level::High => 100,
            }
        }
    }
    let src = "enum Level { Low, Mid(u8), High }
        impl Level {
            const CUT: u8 = 100;
            fn of(x: u8) -> Self { if x < 10 { Level::Low } else if x < Self::CUT { Self::Mid(x) } else { Level::High } }
            fn again(x: u8) -> Level { Self::of(x) }
            fn score(self) -> u8 { match self { Level::Low => 1, Level::Mid(v) => v / 10, Level::High => 100 } }
        }
        fn main(#[garbler] x: u8) -> u8 { Level::of(x).score() + Level::again(x).score() }";
    let p = build(src);
    for x in 0..=u8::MAX {
        let want = Level::of(x).score() + Level::again(x).score();
        assert_eq!(run(&p, &[json!(x)]), json!(want), "x = {x}");
    }
}

/// `#[derive(…)]` and `#[allow(…)]` on types, as Rust code carries them,
/// change nothing: the same circuit as without them.
#[test]
fn derive_and_allow_on_types_are_accepted_and_ignored() {
    let body = "struct P { x: i16 }
        enum E { A, B }
        fn main(#[garbler] a: P, #[evaluator] e: E) -> i16 { match e { E::A => a.x, E::B => -a.x } }";
    let with = body
        .replace("struct P", "#[derive(Clone, Copy, Debug, PartialEq)]\n#[allow(clippy::upper_case_acronyms, dead_code)]\nstruct P")
        .replace("enum E", "#[derive(Clone, Copy)] enum E");
    assert_eq!(build(&with).digest(), build(body).digest());
}

const BUILT_IN_NAMES: &str = "
struct Span { lo: u32, hi: u32 }
struct Money(i64);
impl Span {
    fn len(self) -> u32 { self.hi - self.lo }
    fn swap(self) -> Span { Span { lo: self.hi, hi: self.lo } }
    fn is_some(self) -> bool { self.lo < self.hi }
    fn unwrap_or(self, d: u32) -> u32 { if self.lo < self.hi { self.lo } else { d } }
}
impl Money {
    fn checked_add(self, o: Money) -> Option<Money> {
        match self.0.checked_add(o.0) { Some(v) => Some(Money(v)), None => None }
    }
    fn min(self, o: Money) -> Money { if o.0 < self.0 { o } else { self } }
    fn abs(self) -> i64 { self.0.wrapping_abs() }
}
fn abs(x: i32) -> i32 { x * 100 }
fn min(a: u8, b: u8) -> u8 { a + b }
fn max(a: u8, b: u8) -> u8 { a ^ b }
fn len(x: [u8; 4]) -> u8 { 99 }
fn count_ones(x: u32) -> u32 { x + 1000 }
fn main(#[garbler] a: i32, #[garbler] s: Span, #[garbler] m: Money,
        #[evaluator] b: u8, #[evaluator] c: u8, #[evaluator] v: [u8; 4], #[evaluator] n: Money)
        -> ((i32, i32, u8, u8, u8, u8, u8, u8, u32, u32), (u32, Span, bool, u32, Option<Money>, Money, i64)) {
    ((abs(a), a.abs(), min(b, c), b.min(c), max(b, c), b.max(c), len(v), v.len() as u8,
      count_ones(a as u32), (a as u32).count_ones()),
     (s.len(), s.swap(), s.is_some(), s.unwrap_or(7), m.checked_add(n), m.min(n), m.abs()))
}";

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(32) })]

    /// Method syntax calls the receiver's method, never a free function:
    /// the program's own `abs`, `min`, `max`, `len` and `count_ones` beside
    /// the built-in methods of those names, and `impl` methods named like
    /// built-ins (`len`, `swap`, `is_some`, `unwrap_or`, `checked_add`,
    /// `min`, `abs`) on a struct and a tuple struct: against the same code
    /// in Rust.
    #[test]
    fn methods_named_like_built_ins_are_the_receivers_own(
        a in any::<i32>(), lo in any::<u32>(), hi in any::<u32>(), m in any::<i64>(),
        b in any::<u8>(), c in any::<u8>(), v in any::<[u8; 4]>(), n in any::<i64>(),
    ) {
        let p = build(BUILT_IN_NAMES);
        let first = json!([
            a.wrapping_mul(100), a.wrapping_abs(), b.wrapping_add(c), b.min(c), b ^ c, b.max(c), 99, v.len(),
            (a as u32).wrapping_add(1000), (a as u32).count_ones(),
        ]);
        let second = json!([
            hi.wrapping_sub(lo), {"lo": hi, "hi": lo}, lo < hi, if lo < hi { lo } else { 7 },
            m.checked_add(n).map(|s| json!([s])), [if n < m { n } else { m }], m.wrapping_abs(),
        ]);
        let inputs = [json!(a), json!({"lo": lo, "hi": hi}), json!([m]), json!(b), json!(c), json!(v), json!([n])];
        prop_assert_eq!(run(&p, &inputs), json!([first, second]));
    }
}

/// Names starting with `__` are the compiler's (its built-ins' internal
/// names): a function so named is refused, so it cannot stand in for one.
#[test]
fn function_names_starting_with_two_underscores_are_reserved() {
    let errors = compile_errors(
        "fn __neg(x: i32) -> i32 { x } fn main(#[garbler] a: i32) -> i32 { a.wrapping_neg() }",
    );
    assert!(errors.contains("function names starting with `__` are reserved"), "{errors}");
}
