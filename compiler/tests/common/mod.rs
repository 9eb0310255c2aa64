//! Helpers shared by the integration tests.
#![allow(dead_code)]

use garblet_compiler::{compile, Program};
use serde_json::Value;

/// Compiles or panics with the rendered diagnostics.
pub(crate) fn build(src: &str) -> Program {
    match compile(src, "test.gbl") {
        Ok(p) => p,
        Err(e) => panic!("{}", e.render_plain(src, "test.gbl")),
    }
}

/// Evaluates `program` in plaintext on JSON inputs (one per parameter).
pub(crate) fn run(program: &Program, inputs: &[Value]) -> Value {
    let bits: Vec<Vec<bool>> =
        program.params.iter().zip(inputs).map(|(p, v)| p.ty.encode(v).expect("input encodes")).collect();
    let out = program.circuit.eval_bits(&bits).expect("evaluates");
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
