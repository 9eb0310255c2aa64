//! Helpers shared by the integration tests.
#![allow(dead_code)]

use garblet_compiler::{compile, compile_with, Options, Program, StreamLoops};
use serde_json::Value;

/// Compiles or panics with the rendered diagnostics.
pub(crate) fn build(src: &str) -> Program {
    match compile(src, "test.gbl") {
        Ok(p) => p,
        Err(e) => panic!("{}", e.render_plain(src, "test.gbl")),
    }
}

/// [`build`] with loops streamed as `mode` says.
pub(crate) fn build_with(src: &str, mode: StreamLoops) -> Program {
    match compile_with(src, "test.gbl", &Options::new().with_stream_loops(mode), &|_| {}) {
        Ok(p) => p,
        Err(e) => panic!("{}", e.render_plain(src, "test.gbl")),
    }
}

/// Evaluates `program` in plaintext on JSON inputs (one per parameter),
/// flat or looped.
pub(crate) fn run(program: &Program, inputs: &[Value]) -> Value {
    let bits: Vec<Vec<bool>> =
        program.params.iter().zip(inputs).map(|(p, v)| p.ty.encode(v).expect("input encodes")).collect();
    let out = program.eval_bits(&bits).expect("evaluates");
    program.result.decode(&out[0])
}

/// Compiles and evaluates.
pub(crate) fn eval(src: &str, inputs: &[Value]) -> Value {
    run(&build(src), inputs)
}

/// The AND count.
pub(crate) fn ands(src: &str) -> u64 {
    build(src).circuit.stats().and
}

/// The diagnostics of a program that must not compile, as plain text.
pub(crate) fn compile_errors(src: &str) -> String {
    match compile(src, "t.gbl") {
        Ok(_) => panic!("compiled: {src}"),
        Err(e) => e.render_plain(src, "t.gbl"),
    }
}
