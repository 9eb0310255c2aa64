//! `&mut self` methods: value semantics with write-back — the method runs
//! on a copy of the receiver and its final `self` is written back to the
//! receiver's place (a `mut` variable, a field, an element by a constant or
//! secret index) — against the same code in Rust, and at the AND count of
//! the hand-written value-returning version.

mod common;
use common::*;
use garblet_compiler::StreamLoops;
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Acc {
    total: u32,
    count: u32,
}

impl Acc {
    fn add(&mut self, x: u32) {
        self.total = self.total.wrapping_add(x);
        self.count += 1;
    }
    fn add_twice(&mut self, x: u32) {
        self.add(x);
        self.add(x);
    }
    fn take(&mut self) -> u32 {
        let t = self.total;
        self.total = 0;
        t
    }
    fn add_if_big(&mut self, x: u32, limit: u32) -> bool {
        if x < limit {
            return false;
        }
        self.add(x);
        true
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Bank {
    accs: [Acc; 4],
    last: Acc,
    big: u32,
}

impl Bank {
    fn deposit(&mut self, k: u8, x: u32) {
        self.accs[(k & 3) as usize].add(x);
        self.last.add_twice(x);
        if self.last.add_if_big(x, 1000) {
            self.big += 1;
        }
    }
}

fn reference(xs: [u32; 6], ks: [u8; 6], limit: u32) -> (Bank, u32, [Acc; 2], u32) {
    let mut bank = Bank::default();
    let mut pair = [Acc::default(); 2];
    let mut taken = 0u32;
    for i in 0..6 {
        bank.deposit(ks[i], xs[i]);
        pair[i % 2].add(xs[i]);
        pair[(ks[i] & 1) as usize].add_if_big(xs[i], limit);
        if i == 3 {
            taken = taken.wrapping_add(bank.last.take());
        }
    }
    if xs[0] > limit {
        bank.last.add(1);
    }
    let mut t = (Acc { total: 1, count: 1 }, 5u32);
    t.0.add(t.1);
    let extra = t.0.take();
    let temporary = Acc { total: 3, count: 0 }.take();
    (bank, taken, pair, extra.wrapping_add(t.0.count).wrapping_add(temporary))
}

const SRC: &str = "
struct Acc { total: u32, count: u32 }
impl Acc {
    fn add(&mut self, x: u32) { self.total = self.total.wrapping_add(x); self.count += 1; }
    fn add_twice(&mut self, x: u32) { self.add(x); self.add(x); }
    fn take(&mut self) -> u32 { let t = self.total; self.total = 0; t }
    fn add_if_big(&mut self, x: u32, limit: u32) -> bool {
        if x < limit { return false; }
        self.add(x);
        true
    }
}
struct Bank { accs: [Acc; 4], last: Acc, big: u32 }
impl Bank {
    fn deposit(&mut self, k: u8, x: u32) {
        self.accs[(k & 3) as usize].add(x);
        self.last.add_twice(x);
        if self.last.add_if_big(x, 1000) { self.big += 1; }
    }
}
fn main(#[garbler] xs: [u32; 6], #[evaluator] ks: [u8; 6], #[evaluator] limit: u32) -> (Bank, u32, [Acc; 2], u32) {
    let zero = Acc { total: 0, count: 0 };
    let mut bank = Bank { accs: [zero; 4], last: zero, big: 0 };
    let mut pair = [zero; 2];
    let mut taken = 0u32;
    for i in 0..6 {
        bank.deposit(ks[i], xs[i]);
        pair[i % 2].add(xs[i]);
        pair[(ks[i] & 1) as usize].add_if_big(xs[i], limit);
        if i == 3 { taken = taken.wrapping_add(bank.last.take()); }
    }
    if xs[0] > limit { bank.last.add(1); }
    let mut t = (Acc { total: 1, count: 1 }, 5u32);
    t.0.add(t.1);
    let extra = t.0.take();
    let temporary = Acc { total: 3, count: 0 }.take();
    (bank, taken, pair, extra.wrapping_add(t.0.count).wrapping_add(temporary))
}";

fn acc_json(a: Acc) -> Value {
    json!({"total": a.total, "count": a.count})
}

/// Amounts around the limits the program tests.
fn amount() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..2000, any::<u32>()]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(100) })]

    #[test]
    fn mut_self_methods_match_rust(
        xs in prop::array::uniform6(amount()), ks in any::<[u8; 6]>(), limit in amount()
    ) {
        static PROGRAM: std::sync::OnceLock<garblet_compiler::Program> = std::sync::OnceLock::new();
        let prog = PROGRAM.get_or_init(|| build(SRC));
        let got = run(prog, &[json!(xs), json!(ks), json!(limit)]);
        let (bank, taken, pair, extra) = reference(xs, ks, limit);
        let bank = json!({
            "accs": bank.accs.iter().map(|a| acc_json(*a)).collect::<Vec<_>>(),
            "last": acc_json(bank.last),
            "big": bank.big,
        });
        let pair: Vec<Value> = pair.iter().map(|a| acc_json(*a)).collect();
        prop_assert_eq!(got, json!([bank, taken, pair, extra]));
    }
}

#[test]
fn a_mut_self_method_costs_what_the_value_returning_version_costs() {
    let decls_mut = "struct Acc { total: u32, count: u32 }
        impl Acc {
            fn add(&mut self, x: u32) { self.total = self.total.wrapping_add(x); self.count += 1; }
            fn take(&mut self) -> u32 { let t = self.total; self.total = 0; t }
        }";
    let decls_value = "struct Acc { total: u32, count: u32 }
        impl Acc {
            fn add(mut self, x: u32) -> Acc { self.total = self.total.wrapping_add(x); self.count += 1; self }
            fn take(mut self) -> (u32, Acc) { let t = self.total; self.total = 0; (t, self) }
        }";
    let main = "fn main(#[garbler] xs: [u32; 8], #[evaluator] ks: [u8; 8]) -> (Acc, [Acc; 4], u32)";
    let pairs = [
        (
            "let mut a = Acc { total: 0, count: 0 };
             for x in xs { a.add(x); }
             (a, [a; 4], 0)",
            "let mut a = Acc { total: 0, count: 0 };
             for x in xs { a = a.add(x); }
             (a, [a; 4], 0)",
        ),
        (
            "let mut a = [Acc { total: 0, count: 0 }; 4];
             let mut s = 0u32;
             for i in 0..8 {
                 a[(ks[i] & 3) as usize].add(xs[i]);
                 if xs[i] > 10 { s += a[i % 4].take(); }
             }
             (a[0], a, s)",
            "let mut a = [Acc { total: 0, count: 0 }; 4];
             let mut s = 0u32;
             for i in 0..8 {
                 a[(ks[i] & 3) as usize] = a[(ks[i] & 3) as usize].add(xs[i]);
                 if xs[i] > 10 { let (t, b) = a[i % 4].take(); a[i % 4] = b; s += t; }
             }
             (a[0], a, s)",
        ),
    ];
    for (with_mut, with_value) in pairs {
        let a = ands(&format!("{decls_mut} {main} {{ {with_mut} }}"));
        let b = ands(&format!("{decls_value} {main} {{ {with_value} }}"));
        assert_eq!(a, b, "{with_mut}");
    }
}

#[test]
fn mut_self_errors_name_the_variable() {
    let decls = "struct Acc { total: u32, count: u32 }
        impl Acc {
            fn add(&mut self, x: u32) { self.total = self.total + x; self.count += 1; }
            fn peek(&self) -> u32 { self.add(1); self.total }
            fn reset(&mut self) { self = Acc { total: 0, count: 0 }; }
        }";
    let cases = [
        (
            "let p = Acc { total: 0, count: 0 }; p.add(x); p.total",
            "cannot borrow `p` as mutable, as it is not declared as mutable",
        ),
        (
            "let p = Acc { total: 0, count: 0 }; p.add(x); p.total",
            "consider changing this to be mutable: `let mut p`",
        ),
        ("let q = [Acc { total: 0, count: 0 }; 2]; q[1].add(x); q[0].total", "cannot borrow `q` as mutable"),
        ("let mut p = Acc { total: 0, count: 0 }; Acc::add(p, x); p.total", "`Acc::add` takes `&mut self`"),
        ("let mut p = Acc { total: 0, count: 0 }; p.add(x); p.peek()", "cannot borrow `self` as mutable"),
        (
            "let mut p = Acc { total: 0, count: 0 }; p.reset(); p.total",
            "cannot assign to `self` in a `&mut self` method",
        ),
    ];
    for (body, want) in cases {
        let err = compile_errors(&format!("{decls} fn main(#[garbler] x: u32) -> u32 {{ {body} }}"));
        assert!(err.contains(want), "{body}: {err}");
    }
}

#[test]
fn a_streamed_loop_calling_mut_self_methods_matches_rust() {
    let src = "
        struct Acc { total: u32, count: u32 }
        impl Acc {
            fn add(&mut self, x: u32) { self.total = self.total.wrapping_add(x); self.count += 1; }
        }
        fn main(#[garbler] xs: [u32; 40], #[evaluator] limit: u32) -> Acc {
            let mut a = Acc { total: 0, count: 0 };
            for x in xs { if x > limit { a.add(x); } }
            a
        }";
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng as u32
    };
    for mode in [StreamLoops::Always, StreamLoops::Never] {
        let prog = build_with(src, mode);
        assert_eq!(prog.looped.is_some(), mode == StreamLoops::Always, "the loop streams when asked");
        for _ in 0..8 {
            let xs: Vec<u32> = (0..40).map(|_| next()).collect();
            let limit = next();
            let mut a = Acc::default();
            for &x in &xs {
                if x > limit {
                    a.add(x);
                }
            }
            assert_eq!(run(&prog, &[json!(xs), json!(limit)]), acc_json(a));
        }
    }
}
