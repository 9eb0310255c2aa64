//! garblet-compiler: the garblet language, compiled to Boolean circuits.
//!
//! A program is a small Rust-like file whose `fn main` takes each party's
//! inputs and returns the result (see `docs/LANGUAGE.md`). The compiler is a
//! pipeline in one direction, one stage per private module:
//!
//! `scan` → `parse` → `check` (with `infer` and `builtins`) → `lower` →
//! [`garblet_circuits::opt::optimize`]
//!
//! Each stage reports every error it finds as a [`Diagnostic`] with a source
//! span; [`Diagnostics::render_plain`] prints them with the source line and a
//! caret underline. No input makes the compiler panic: nesting, array sizes,
//! loop trip counts and circuit size are bounded, and the pipeline runs on a
//! thread with its own large stack.
//!
//! ```
//! let source = "
//! fn main(#[garbler] alice: u64, #[evaluator] bob: u64) -> bool {
//!     alice > bob
//! }";
//! let program = garblet_compiler::compile(source, "millionaires.gbl").unwrap();
//! assert_eq!(program.circuit.stats().and, 64);
//!
//! let alice = program.params[0].ty.encode(&serde_json::json!(5_000_000)).unwrap();
//! let bob = program.params[1].ty.encode(&serde_json::json!(3_000_000)).unwrap();
//! let out = program.circuit.eval_bits(&[alice, bob]).unwrap();
//! assert_eq!(program.result.decode(&out[0]), serde_json::json!(true));
//!
//! let errors = garblet_compiler::compile("fn main() -> u8 { 300 }", "bad.gbl").unwrap_err();
//! assert!(errors.render_plain("fn main() -> u8 { 300 }", "bad.gbl").contains("^^^"));
//! ```
#![forbid(unsafe_code)]

mod ast;
mod builtins;
mod check;
mod consts;
mod diag;
mod fixed;
mod infer;
mod lower;
mod matching;
mod overflow;
mod parse;
mod records;
mod scan;
mod types;
mod value;

pub use check::Param;
pub use diag::{Diagnostic, Diagnostics, Span};
pub use records::{encode_csv, RecordsError};
pub use types::{Type, Variant};
pub use value::ValueError;

use garblet_circuits::{Circuit, LoopedCircuit, Visibility};

/// The bounds that keep every input from exhausting the compiler.
pub mod limits {
    /// Deepest nesting of expressions, blocks and types the parser accepts.
    pub const MAX_NESTING: usize = 200;
    /// Most binary operators in one chain such as `a + b + c + …`.
    pub const MAX_CHAIN: usize = 10_000;
    /// Deepest chain of inlined calls.
    pub const MAX_INLINE_DEPTH: usize = 200;
    /// Longest array.
    pub const MAX_ARRAY_LEN: u32 = 1 << 24;
    /// Widest type, in bits.
    pub const MAX_TYPE_BITS: u64 = 1 << 26;
    /// Most gates lowering may emit.
    pub const MAX_GATES: usize = 100_000_000;
    /// Most statements and loop iterations lowering may execute.
    pub const MAX_STEPS: u64 = 20_000_000;
    /// Stack of the compiler thread.
    pub const STACK_BYTES: usize = 256 << 20;
}

/// A compiled program.
#[derive(Clone, Debug)]
pub struct Program {
    /// The circuit, optimised with [`garblet_circuits::opt::optimize`]: one
    /// input per parameter of `main` (named as the parameter, owned by its
    /// party, [`Type::width`] bits wide) and one output `"result"`.
    ///
    /// When a loop streams ([`Program::looped`] is `Some`), this is only
    /// the interface ([`LoopedCircuit::interface`]: the same inputs and
    /// output, no gates, the output wired to 0); run, evaluate and count
    /// the looped circuit instead ([`Program::and_count`],
    /// [`Program::eval_bits`], [`Program::digest`] do the right thing).
    pub circuit: Circuit,
    /// The program as a [`LoopedCircuit`] when a `for` loop over an input
    /// array streams (compiled once as a body repeated per record; see
    /// `docs/LANGUAGE.md`), optimised with
    /// [`LoopedCircuit::optimized`]; `None` for a flat program.
    pub looped: Option<LoopedCircuit>,
    /// `main`'s parameters, in order.
    pub params: Vec<Param>,
    /// The result type.
    pub result: Type,
    /// Who learns the result (`#[reveal(…)]` on `main`; both by default).
    pub reveal: Visibility,
    /// `(line, AND gates)` for each 1-based source line whose statements or
    /// expressions emitted AND gates the result depends on, sorted by line.
    /// Measured by tagging each gate with the line of the innermost
    /// statement (or block tail) being lowered when the builder emitted it;
    /// the gates of an inlined function body count on the body's lines.
    /// The counts add up to the circuit's AND count.
    pub line_costs: Vec<(u32, u64)>,
    /// The constants set from outside ([`Options::consts`]), in canonical
    /// form (decimal, or `true`/`false`), in the order given. A session
    /// binds them into what the hello compares, so that two parties that
    /// set different values are refused even where the circuits agree.
    pub consts: Vec<(String, String)>,
    /// The program's cohort rule: `Some(K)` when every bit of the result
    /// that depends on an input comes straight out of a
    /// `cohort(count, K', value)` guard with `K' >= K` (`K` is the
    /// smallest such `K'`), so that no such bit is released unless its
    /// guard's count reached `K`; otherwise `None` (a bit escapes every
    /// guard, is computed from a guard's output afterwards, or the program
    /// has no guard). Decided during lowering, on the wires each guard
    /// produced, before optimisation; a session binds it into what the
    /// hello compares, as [`Program::cohort_term`].
    pub cohort: Option<u128>,
}

impl Program {
    /// AND gates of the computation (of the expanded loop when it streams).
    pub fn and_count(&self) -> u64 {
        match &self.looped {
            Some(l) => l.and_count(),
            None => self.circuit.and_count(),
        }
    }

    /// Evaluates the program in plaintext on one value per parameter (as
    /// [`Circuit::eval_bits`]), flat or looped.
    pub fn eval_bits(&self, inputs: &[Vec<bool>]) -> Result<Vec<Vec<bool>>, garblet_circuits::EvalError> {
        match &self.looped {
            Some(l) => l.eval_bits(inputs),
            None => self.circuit.eval_bits(inputs),
        }
    }

    /// The digest of the gates both parties compare: the circuit's
    /// canonical digest, or the looped circuit's ([`LoopedCircuit::digest`],
    /// its own domain).
    pub fn digest(&self) -> [u8; 32] {
        match &self.looped {
            Some(l) => l.digest(),
            None => self.circuit.digest().0,
        }
    }

    /// The cohort rule as a `(name, value)` term for the hello
    /// (`("cohort result", "50")`), or `None` when the result is not
    /// guarded.
    pub fn cohort_term(&self) -> Option<(String, String)> {
        self.cohort.map(|k| ("cohort result".to_owned(), k.to_string()))
    }

    /// Everything a session binds into the digest the hello compares
    /// besides the circuit (`SessionProgram::with_terms`): each constant set
    /// from outside as `("const NAME", value)`, then the cohort rule. Both
    /// parties must bind the same terms; `garblet run` and `garblet serve`
    /// bind exactly these.
    pub fn session_terms(&self) -> Vec<(String, String)> {
        let consts = self.consts.iter().map(|(name, value)| (format!("const {name}"), value.clone()));
        consts.chain(self.cohort_term()).collect()
    }
}

/// What a compilation takes besides the source.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Options {
    /// Values for `const` items, by name, as written on a command line
    /// (`--const N=100000`): decimal, `0x`/`0b` with `_` separators, or
    /// `true`/`false` for a `bool` constant. Each must name a `const` the
    /// program declares and fit its type.
    pub consts: Vec<(String, String)>,
    /// Whether a `for` loop over an input array may stream.
    pub stream_loops: StreamLoops,
}

/// Whether a `for` loop over an input array is compiled once and repeated
/// per record (streamed) instead of unrolled (`docs/LANGUAGE.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamLoops {
    /// Stream a loop that can stream when its unrolled form would be
    /// large (at least 4 M gates); unroll the others.
    #[default]
    Auto,
    /// Stream every loop that can stream (tests; small loops).
    Always,
    /// Unroll every loop.
    Never,
}

impl Options {
    /// No overrides.
    pub fn new() -> Options {
        Options::default()
    }

    /// Sets `const name` to `value` (see [`Options::consts`]).
    pub fn with_const(mut self, name: impl Into<String>, value: impl Into<String>) -> Options {
        self.consts.push((name.into(), value.into()));
        self
    }

    /// Sets [`Options::stream_loops`].
    pub fn with_stream_loops(mut self, mode: StreamLoops) -> Options {
        self.stream_loops = mode;
        self
    }
}

/// A stage of the pipeline, reported to [`compile_with_progress`]'s callback
/// as it starts (for a progress line: lowering a large program takes seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// `scan`: source text to tokens.
    Scan,
    /// `parse`: tokens to syntax.
    Parse,
    /// `check`: types, names, owners.
    Check,
    /// `lower`: to gates; usually the longest stage.
    Lower,
    /// [`garblet_circuits::opt::optimize`].
    Optimize,
}

impl Stage {
    /// What the stage does, in words (`"lowering to gates"`).
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Scan => "scanning",
            Stage::Parse => "parsing",
            Stage::Check => "checking types",
            Stage::Lower => "lowering to gates",
            Stage::Optimize => "optimising the circuit",
        }
    }
}

/// Compiles `source` (the contents of `file_name`) into a [`Program`], or
/// returns every error of the first stage that found any.
pub fn compile(source: &str, file_name: &str) -> Result<Program, Diagnostics> {
    compile_with_progress(source, file_name, &|_| {})
}

/// [`compile`], calling `on_stage` as each stage starts (from the compiler's
/// own thread).
pub fn compile_with_progress(
    source: &str,
    file_name: &str,
    on_stage: &(dyn Fn(Stage) + Sync),
) -> Result<Program, Diagnostics> {
    compile_with(source, file_name, &Options::default(), on_stage)
}

/// [`compile_with_progress`] with [`Options`] (constants set from outside).
pub fn compile_with(
    source: &str,
    file_name: &str,
    options: &Options,
    on_stage: &(dyn Fn(Stage) + Sync),
) -> Result<Program, Diagnostics> {
    let _ = file_name;
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("garblet-compile".into())
            .stack_size(limits::STACK_BYTES)
            .spawn_scoped(scope, || compile_here(source, options, on_stage));
        let handle = match worker {
            Ok(h) => h,
            // No thread available: compile on this one (the depth limits still hold).
            Err(_) => return compile_here(source, options, on_stage),
        };
        match handle.join() {
            Ok(r) => r,
            Err(_) => Err(Diagnostics::single(
                Diagnostic::new(Span::new(0, 0), "internal compiler error: the compiler panicked")
                    .with_help("please report this program to the garblet developers"),
            )),
        }
    })
}

/// The pipeline on the current thread.
fn compile_here(
    source: &str,
    options: &Options,
    on_stage: &(dyn Fn(Stage) + Sync),
) -> Result<Program, Diagnostics> {
    on_stage(Stage::Scan);
    let tokens = scan::scan(source)?;
    on_stage(Stage::Parse);
    let mut untyped = parse::parse(tokens)?;
    let consts = consts::apply(&mut untyped, &options.consts)?;
    on_stage(Stage::Check);
    let checked = check::check(untyped)?;
    on_stage(Stage::Lower);
    let lowered = lower::lower(&checked, source, options.stream_loops)?;
    on_stage(Stage::Optimize);
    // A looped circuit was optimised with its line costs, in `lower`.
    let circuit = match lowered.looped {
        Some(_) => lowered.circuit,
        // The lowering's builder folded and hashed every gate as it was
        // added: a second builder pass would find nothing (tested below),
        // so only dead gates go and wires are reused.
        None => garblet_circuits::opt::optimize_built(lowered.circuit),
    };
    Ok(Program {
        circuit,
        looped: lowered.looped,
        params: checked.params,
        result: checked.result,
        reveal: checked.reveal,
        line_costs: lowered.line_costs,
        consts,
        cohort: lowered.cohort,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// `optimize_built` is `optimize` for what the lowering builds: the
    /// full rebuild (constants, structural hashing) finds nothing more, on
    /// every example and on programs that exercise the lowering's
    /// speculative paths (secret `if`, `match`, loops, functions).
    #[test]
    fn the_lowering_leaves_nothing_for_a_second_builder_pass() {
        let programs = [
            include_str!("../../examples/auction.gbl"),
            include_str!("../../examples/first_match.gbl"),
            include_str!("../../examples/hamming.gbl"),
            include_str!("../../examples/hash_fold.gbl"),
            include_str!("../../examples/millionaires.gbl"),
            include_str!("../../examples/model_benchmark.gbl"),
            include_str!("../../examples/set_intersection.gbl"),
            include_str!("../../examples/sort.gbl"),
            include_str!("../../examples/table_lookup.gbl"),
            "fn main(#[garbler] a: [u32; 8], #[evaluator] b: [u32; 8]) -> u32 {
                let mut s = 0u32; let mut m = 0u32;
                for i in 0..8 { s = s + a[i] * b[i]; if a[i] > b[i] { m = m ^ a[i]; } else { m = m + (b[i] >> 3); } }
                match s & 3 { 0 => s ^ m, 1 => s.wrapping_sub(m), _ => m.rotate_left(5) ^ !s }
            }",
            "fn f(x: i16, y: i16) -> i16 { if x < y { x.saturating_sub(y) } else { y.max(x) } }
             fn main(#[garbler] a: [i16; 6], #[evaluator] b: [i16; 6]) -> (i16, bool) {
                let mut acc = 0i16;
                for i in 0..6 { acc = acc.wrapping_add(f(a[i], b[i])); }
                (acc, a[0] == b[0] && !(a[1] == b[1]))
            }",
        ];
        for (k, src) in programs.iter().enumerate() {
            let tokens = scan::scan(src).unwrap();
            let untyped = parse::parse(tokens).unwrap();
            let checked = check::check(untyped).unwrap();
            let lowered = lower::lower(&checked, src, StreamLoops::Never).unwrap();
            let full = garblet_circuits::opt::optimize(&lowered.circuit);
            let built = garblet_circuits::opt::optimize_built(lowered.circuit);
            assert_eq!(full.digest(), built.digest(), "program {k}");
            assert!(built.and_count() > 0, "program {k} does some work");
        }
    }

    #[test]
    fn stages_are_reported_in_pipeline_order() {
        let seen = Mutex::new(Vec::new());
        let src = "fn main(#[garbler] a: u8, #[evaluator] b: u8) -> bool { a < b }";
        compile_with_progress(src, "t.gbl", &|s| seen.lock().unwrap().push(s)).unwrap();
        let want = [Stage::Scan, Stage::Parse, Stage::Check, Stage::Lower, Stage::Optimize];
        assert_eq!(seen.into_inner().unwrap(), want);
        // A type error stops the pipeline after checking.
        let seen = Mutex::new(Vec::new());
        compile_with_progress("fn main() -> u8 { true }", "t.gbl", &|s| seen.lock().unwrap().push(s))
            .unwrap_err();
        assert_eq!(seen.into_inner().unwrap(), [Stage::Scan, Stage::Parse, Stage::Check]);
    }
}
