//! The front end never panics: proptest-generated token soup, mutations of
//! valid programs (deleted, duplicated, swapped and replaced tokens, random
//! bytes), and hostile programs built to exhaust stack, memory or time.
//! Every outcome must be a program or diagnostics that render.

use garblet_compiler::compile;
use proptest::prelude::*;
use serde_json::json;

const EXAMPLES: &[&str] = &[
    include_str!("../../examples/millionaires.gbl"),
    include_str!("../../examples/auction.gbl"),
    include_str!("../../examples/sort.gbl"),
    include_str!("../../examples/table_lookup.gbl"),
    include_str!("../../examples/hamming.gbl"),
    include_str!("../../examples/first_match.gbl"),
    "struct P { x: i8, y: (u8, bool) }
fn f(p: P, k: u32) -> i8 { if p.y.1 { return p.x; } let mut q = p; q.x -= 1; q.x * (k as i8) }
fn main(#[garbler] a: [P; 3], #[evaluator] i: u16) -> (i8, u128) {
    let mut t = [0u128; 5];
    t[i] = 7;
    for (k, v) in [(1u8, 2u8), (3, 4)] { t[k] += v as u128; }
    (f(a[i], 3) >> 1, t[i % 5] << i)
}",
    "const RATE: I16F16 = 0.05;
fn step(x: I16F16, w: I8F24) -> I16F16 { x * RATE - (w as I16F16) / 2.5 }
fn main(#[garbler] a: [I16F16; 3], #[evaluator] w: I8F24, #[evaluator] u: U0F8) -> (I16F16, bool, i32, U8F8) {
    let mut s = 0.0;
    for x in a { s += step(x, w); }
    (max(s, -1.5).abs(), s < I16F16::MAX, s as i32, u as U8F8 * 3.75)
}",
    "enum Shape { Circle(u8), Rect { w: u8, h: u8 }, Empty }
enum Color { Red, Green = 5, Blue }
fn main(#[garbler] s: Shape, #[evaluator] x: i8, #[evaluator] c: Color) -> (u8, u8) {
    let k = match x { i8::MIN..=-1 => 0u8, 0 => 1, 1..=5 | 7 => 2, _ => 3 };
    let a = match (s, c) { (Shape::Circle(r), Color::Red) if r > 3 => r, (Shape::Rect { w, .. }, _) => w, _ => c as u8 };
    (k, a)
}",
];

const TOKENS: &[&str] = &[
    "match",
    "enum",
    "=>",
    "::",
    "|",
    "..=",
    "0.5",
    "1e-3",
    "I16F16",
    "U0F8",
    "fn",
    "main",
    "let",
    "mut",
    "if",
    "else",
    "for",
    "in",
    "return",
    "break",
    "continue",
    "'outer",
    "const",
    "struct",
    "as",
    "true",
    "false",
    "x",
    "y",
    "a",
    "b",
    "S",
    "u8",
    "i32",
    "u128",
    "bool",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ",",
    ";",
    ":",
    ".",
    "..",
    "..=",
    "->",
    "#",
    "garbler",
    "evaluator",
    "reveal",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "&",
    "|",
    "!",
    "<<",
    ">>",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "=",
    "+=",
    "<<=",
    "0",
    "1",
    "255",
    "300u8",
    "-128i8",
    "0xff",
    "340282366920938463463374607431768211455",
    "while",
    "match",
    "loop",
    "|x|",
    "min",
    "max",
    "abs",
    "len",
    "0.5",
    "\"s\"",
    "'c'",
    "//c\n",
    "/*",
    "*/",
    "_",
    "::",
    "u32::MAX",
    "?",
    "@",
    "€",
];

/// Cases per property: 600, or `GARBLET_FUZZ_CASES` for a longer run.
fn fuzz_cases() -> u32 {
    std::env::var("GARBLET_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(600)
}

fn compile_checked(src: &str) {
    match compile(src, "fuzz.gbl") {
        Ok(p) => {
            let _ = p.circuit.stats();
        }
        Err(e) => {
            assert!(!e.is_empty(), "an error result carries at least one diagnostic");
            let _ = e.render_plain(src, "fuzz.gbl");
            let _ = e.render(src, "fuzz.gbl");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(fuzz_cases()) })]

    #[test]
    fn token_soup(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)) {
        compile_checked(&tokens.join(" "));
    }

    #[test]
    fn token_soup_in_main(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..40)) {
        compile_checked(&format!("fn main(#[garbler] a: u8, #[evaluator] b: [u8; 4]) -> u8 {{ {} }}", tokens.join(" ")));
    }

    #[test]
    fn mutated_examples(which in 0..EXAMPLES.len(), edits in proptest::collection::vec((any::<u16>(), 0u8..5, proptest::sample::select(TOKENS)), 1..4)) {
        let mut src: Vec<char> = EXAMPLES[which].chars().collect();
        for (pos, kind, tok) in edits {
            if src.is_empty() { break; }
            let p = pos as usize % src.len();
            match kind {
                0 => { src.remove(p); }
                1 => { let end = (p + 8).min(src.len()); src.drain(p..end); }
                2 => { for (k, c) in tok.chars().enumerate() { src.insert(p + k, c); } }
                3 => { let c = src[p]; src.insert(p, c); }
                _ => { let q = (p * 7 + 13) % src.len(); src.swap(p, q); }
            }
        }
        let s: String = src.into_iter().collect();
        compile_checked(&s);
    }

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        compile_checked(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn hostile_programs() {
    let deep_parens =
        format!("fn main(#[garbler] a: u8) -> u8 {{ {}a{} }}", "(".repeat(100_000), ")".repeat(100_000));
    let deep_blocks =
        format!("fn main(#[garbler] a: u8) -> u8 {{ {}a{} }}", "{".repeat(50_000), "}".repeat(50_000));
    let deep_unary = format!("fn main(#[garbler] a: u8) -> u8 {{ {}a }}", "!".repeat(100_000));
    let long_chain = format!("fn main(#[garbler] a: u8) -> u8 {{ a{} }}", " + a".repeat(20_000));
    let deep_types =
        format!("fn main(#[garbler] a: {}u8{}) -> u8 {{ 0 }}", "[".repeat(5000), "; 1]".repeat(5000));
    let deep_else = format!(
        "fn main(#[garbler] a: u8) -> u8 {{ {} 0 {} }}",
        "if a > 1 { 1 } else {".repeat(5000),
        "}".repeat(5000)
    );
    let fn_chain: String =
        (0..400).map(|k| format!("fn f{k}(x: u8) -> u8 {{ f{}(x) }}\n", k + 1)).collect::<String>()
            + "fn f400(x: u8) -> u8 { x }\nfn main(#[garbler] a: u8) -> u8 { f0(a) }";
    let exponential: String = (0..40)
        .map(|k| format!("fn g{k}(x: u32) -> u32 {{ g{}(x) + g{}(x + 1) }}\n", k + 1, k + 1))
        .collect::<String>()
        + "fn g40(x: u32) -> u32 { x * x }\nfn main(#[garbler] a: u32) -> u32 { g0(a) }";
    let cases = [
        deep_parens,
        deep_blocks,
        deep_unary,
        long_chain,
        deep_types,
        deep_else,
        fn_chain,
        exponential,
        "fn main(#[garbler] a: [u128; 16777216]) -> bool { true }".to_owned(),
        "fn main(#[garbler] a: [[u128; 16777216]; 16777216]) -> bool { true }".to_owned(),
        "fn main(#[garbler] a: u64) -> u64 { let mut s = a; for i in 0..18446744073709551615u64 { s += 1; } s }".to_owned(),
        "fn main(#[garbler] a: u64) -> u64 { let mut s = a; for i in 0..100000 { for j in 0..100000 { s = s * a; } } s }".to_owned(),
        "fn main(#[garbler] a: u8) -> u8 { let x = [a; 4000000000]; a }".to_owned(),
        "const A: u32 = B; const B: u32 = A; fn main(#[garbler] a: [u8; A]) -> u8 { 0 }".to_owned(),
        "struct S { s: S } fn main(#[garbler] a: S) -> u8 { 0 }".to_owned(),
        "struct S { t: T } struct T { s: [S; 2] } fn main(#[garbler] a: u8) -> u8 { 0 }".to_owned(),
        "fn main(#[garbler] a: u8) -> u8 { let t = [1u8, 2, 3]; t[7] }".to_owned(),
        "fn main(#[garbler] a: u8) -> u8 { let mut t = [1u8, 2, 3]; t[3] = a; t[0] }".to_owned(),
        "fn main(#[garbler] a: u8) -> u8 { for i in 0..a { } 0 }".to_owned(),
        "fn main(#[garbler] a: i8) -> i8 { -128i8 / -1 + a % 0 }".to_owned(),
        "fn main(#[garbler] a: u8) -> () { }".to_owned(),
        "fn main(#[garbler] a: u8, #[evaluator] a: u8) -> u8 { a }".to_owned(),
        "fn main(#[garbler] a: u8) -> u8 { return; }".to_owned(),
        "fn main(#[garbler] a: u8) -> u8 { if a > 3 { return 1; } }".to_owned(),
        "fn main(#[garbler] a: [u8; 0], #[evaluator] i: u8) -> u8 { a[i] }".to_owned(),
        "fn main(#[garbler] a: [u8; 0], #[evaluator] i: u8) -> [u8; 0] { let mut b = a; b[i] = 1; b }".to_owned(),
        "fn main(#[garbler] a: (), #[evaluator] i: u8) -> ((), u8) { (a, i << 200) }".to_owned(),
        "fn main(#[garbler] a: I0F128, #[evaluator] b: I0F128) -> (I0F128, U128F0) { (a / b * a, (b as U128F0) / 0.0) }".to_owned(),
        "fn main(#[garbler] a: I16F16) -> I16F16 { a * 1e-999999999999999999999 + 1e99999999999999999999 }".to_owned(),
        format!("fn main(#[garbler] a: U0F128) -> U0F128 {{ a + 0.{} }}", "9".repeat(100_000)),
        format!("fn main(#[garbler] a: U0F128) -> U0F128 {{ a + 0.{}1 }}", "0".repeat(399)),
        "fn main(#[garbler] a: I16F16) -> [u8; I16F16::MAX] { [a as u8; I16F16::DELTA] }".to_owned(),
    ];
    for src in &cases {
        let start = std::time::Instant::now();
        compile_checked(src);
        let secs = start.elapsed().as_secs_f64();
        assert!(secs < 60.0, "{:.1}s for {}", secs, &src[..src.len().min(80)]);
    }
}

/// A random, well-typed expression of type `ty` (`u8`, `i16` or `bool`)
/// built from a list of choices, so that checking and lowering (not only
/// parsing) are exercised.
fn typed_expr(ty: &str, depth: u32, choices: &mut std::slice::Iter<'_, u32>) -> String {
    let mut pick = |n: u32| choices.next().map_or(0, |c| c % n);
    let leaf = depth == 0;
    match ty {
        "u8" => {
            let leaves = [
                "a",
                "c[1]",
                "c[a % 4]",
                "c[i]",
                "s.x",
                "3",
                "0",
                "255u8",
                "(b as u8)",
                "(d as u8)",
                "u8::MAX",
                "(i as u8)",
                "(c.len() as u8)",
                "{ if d { return (a, c, acc); } a }",
                "{ return (s.x, c, b); }",
            ];
            let k = pick(if leaf { leaves.len() as u32 } else { leaves.len() as u32 + 9 });
            match k.checked_sub(leaves.len() as u32) {
                None => leaves[k as usize].to_owned(),
                Some(0) | Some(1) => {
                    let op = ["+", "-", "*", "/", "%", "&", "|", "^"][pick(8) as usize];
                    format!(
                        "({} {op} {})",
                        typed_expr("u8", depth - 1, choices),
                        typed_expr("u8", depth - 1, choices)
                    )
                }
                Some(2) => {
                    let op = ["<<", ">>"][pick(2) as usize];
                    let amount_ty = ["u8", "i16"][pick(2) as usize];
                    format!(
                        "({} {op} {})",
                        typed_expr("u8", depth - 1, choices),
                        typed_expr(amount_ty, depth - 1, choices)
                    )
                }
                Some(3) => format!(
                    "(if {} {{ {} }} else {{ {} }})",
                    typed_expr("bool", depth - 1, choices),
                    typed_expr("u8", depth - 1, choices),
                    typed_expr("u8", depth - 1, choices)
                ),
                Some(4) => format!(
                    "min({}, {})",
                    typed_expr("u8", depth - 1, choices),
                    typed_expr("u8", depth - 1, choices)
                ),
                Some(5) => format!("({} as u8)", typed_expr("i16", depth - 1, choices)),
                Some(6) => format!("f({})", typed_expr("u8", depth - 1, choices)),
                Some(7) => format!("{{ let t = {}; t.max(7) }}", typed_expr("u8", depth - 1, choices)),
                _ => format!("c[{} % 4]", typed_expr("u8", depth - 1, choices)),
            }
        }
        "i16" => {
            let leaves = ["b", "s.y[0]", "s.y[a % 2]", "-7i16", "(a as i16)", "i16::MIN", "(i as i16)"];
            let k = pick(if leaf { leaves.len() as u32 } else { leaves.len() as u32 + 6 });
            match k.checked_sub(leaves.len() as u32) {
                None => leaves[k as usize].to_owned(),
                Some(0) | Some(1) => {
                    let op = ["+", "-", "*", "/", "%", "&", "|", "^"][pick(8) as usize];
                    format!(
                        "({} {op} {})",
                        typed_expr("i16", depth - 1, choices),
                        typed_expr("i16", depth - 1, choices)
                    )
                }
                Some(2) => format!("(-{})", typed_expr("i16", depth - 1, choices)),
                Some(3) => format!("abs({})", typed_expr("i16", depth - 1, choices)),
                Some(4) => format!(
                    "({} >> {})",
                    typed_expr("i16", depth - 1, choices),
                    typed_expr("u8", depth - 1, choices)
                ),
                _ => format!(
                    "(if {} {{ {} }} else {{ {} }})",
                    typed_expr("bool", depth - 1, choices),
                    typed_expr("i16", depth - 1, choices),
                    typed_expr("i16", depth - 1, choices)
                ),
            }
        }
        _ => {
            let leaves = ["d", "true", "false", "(a as bool)"];
            let k = pick(if leaf { leaves.len() as u32 } else { leaves.len() as u32 + 5 });
            match k.checked_sub(leaves.len() as u32) {
                None => leaves[k as usize].to_owned(),
                Some(0) => {
                    let op = ["==", "!=", "<", "<=", ">", ">="][pick(6) as usize];
                    format!(
                        "({} {op} {})",
                        typed_expr("u8", depth - 1, choices),
                        typed_expr("u8", depth - 1, choices)
                    )
                }
                Some(1) => {
                    let op = ["==", "<", ">="][pick(3) as usize];
                    format!(
                        "({} {op} {})",
                        typed_expr("i16", depth - 1, choices),
                        typed_expr("i16", depth - 1, choices)
                    )
                }
                Some(2) => {
                    let op = ["&&", "||", "^", "=="][pick(4) as usize];
                    format!(
                        "({} {op} {})",
                        typed_expr("bool", depth - 1, choices),
                        typed_expr("bool", depth - 1, choices)
                    )
                }
                Some(3) => format!("(!{})", typed_expr("bool", depth - 1, choices)),
                _ => format!("(s == S {{ x: {}, y: [b, -1] }})", typed_expr("u8", depth - 1, choices)),
            }
        }
    }
}

/// Whether every error of a rendered report is one Rust gives too for
/// constant arithmetic (overflow, division by zero).
fn only_constant_overflow(text: &str) -> bool {
    let mut errors =
        text.lines().filter(|l| l.starts_with("error: ") && !l.starts_with("error: could not compile"));
    errors.all(|l| {
        l == "error: this arithmetic operation will overflow" || l == "error: this operation divides by zero"
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(fuzz_cases() / 2) })]

    #[test]
    fn random_well_typed_programs(choices in proptest::collection::vec(any::<u32>(), 0..300), depth in 1u32..6,
                                  a in any::<u8>(), b in any::<i16>(), c in any::<[u8; 4]>(), d in any::<bool>(), sx in any::<u8>(), sy in any::<[i16; 2]>()) {
        let mut it = choices.iter();
        let mut body = String::new();
        for _ in 0..3 {
            let e = typed_expr("u8", depth, &mut it);
            let w = typed_expr("i16", depth, &mut it);
            body.push_str(&format!("        r = r ^ {e};\n        c[i % 4] += r;\n        acc += {w};\n"));
        }
        let cond = typed_expr("bool", depth, &mut it);
        let ret = typed_expr("u8", depth, &mut it);
        let src = format!(
            "const N: usize = 3;
struct S {{ x: u8, y: [i16; 2] }}
fn f(v: u8) -> u8 {{ if v > 9 {{ return v - 9; }} v * 2 }}
fn main(#[garbler] a: u8, #[evaluator] b: i16, #[garbler] mut c: [u8; 4], #[evaluator] d: bool, #[garbler] s: S) -> (u8, [u8; 4], i16) {{
    let mut r = 0u8;
    let mut acc = 0i16;
    for i in 0..N {{
{body}        if {cond} {{ r += 1; if d {{ return ({ret}, c, acc); }} }}
    }}
    (r, c, acc)
}}"
        );
        let p = match compile(&src, "fuzz.gbl") {
            Ok(p) => p,
            Err(e) => {
                let text = e.render_plain(&src, "fuzz.gbl");
                // Arithmetic on constants that overflows (`-7i16 + i16::MIN`):
                // Rust refuses such a program too.
                prop_assume!(!only_constant_overflow(&text));
                return Err(TestCaseError::fail(format!("a well-typed program failed:\n{src}\n{text}")));
            }
        };
        let total: u64 = p.line_costs.iter().map(|&(_, n)| n).sum();
        prop_assert_eq!(total, p.circuit.stats().and);
        // The same program with the inputs as constants is computed by the
        // compiler alone; the circuit must agree with it.
        let constant_src = src.replace(
            "fn main(#[garbler] a: u8, #[evaluator] b: i16, #[garbler] mut c: [u8; 4], #[evaluator] d: bool, #[garbler] s: S) -> (u8, [u8; 4], i16) {",
            &format!(
                "fn main(#[garbler] unused: bool) -> (u8, [u8; 4], i16) {{ let a = {a}u8; let b = {b}i16; let mut c = [{}u8, {}, {}, {}]; let d = {d}; let s = S {{ x: {sx}, y: [{}, {}] }};",
                c[0], c[1], c[2], c[3], sy[0], sy[1]
            ),
        );
        let q = match compile(&constant_src, "fuzz.gbl") {
            Ok(q) => q,
            Err(e) => return Err(TestCaseError::fail(e.render_plain(&constant_src, "fuzz.gbl"))),
        };
        prop_assert_eq!(q.circuit.stats().gates, 0);
        let inputs: Vec<Vec<bool>> = p
            .params
            .iter()
            .zip([json!(a), json!(b), json!(c), json!(d), json!({"x": sx, "y": sy})])
            .map(|(prm, v)| prm.ty.encode(&v).unwrap())
            .collect();
        let got = p.result.decode(&p.circuit.eval_bits(&inputs).unwrap()[0]);
        let want = q.result.decode(&q.circuit.eval_bits(&[vec![false]]).unwrap()[0]);
        prop_assert_eq!(got, want, "{}", src);
    }
}
