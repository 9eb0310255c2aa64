//! A streamed loop run by two parties: the model benchmark over a few
//! hundred records, compiled as a looped circuit and garbled gate by gate
//! (`SessionProgram::looped`), between two threads over an in-memory
//! channel. Both parties derive the same gate stream and digest (the hello
//! compares it), and both learn the count a plain Rust computation gives.

use garblet::compiler::{compile_with, Options, StreamLoops};
use garblet::{memory_pair, Channel, Party, PartyInputs, SessionConfig, SessionProgram};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

const MODEL: &str = include_str!("../examples/model_benchmark.gbl");

#[test]
fn a_streamed_loop_runs_between_two_parties() {
    let n = 300;
    let options = Options::new().with_const("RECORDS", n.to_string()).with_stream_loops(StreamLoops::Always);
    let program = compile_with(MODEL, "model.gbl", &options, &|_| {}).expect("compiles");
    let looped = program.looped.as_ref().expect("the loop streams");

    let mut rng = StdRng::seed_from_u64(16);
    let weights: Vec<i64> = (0..8).map(|_| rng.gen_range(-3000..3000)).collect();
    let bias: i64 = rng.gen_range(-2_000_000..2_000_000);
    let records: Vec<(Vec<i64>, bool)> =
        (0..n).map(|_| ((0..8).map(|_| rng.gen_range(-3000..3000)).collect(), rng.gen_bool(0.5))).collect();
    let want = records
        .iter()
        .filter(|(f, label)| {
            let score = (0..8).fold(bias as i32, |s, j| s.wrapping_add(weights[j] as i32 * f[j] as i32));
            (score >= 0) == *label
        })
        .count();

    let model = program.params[0].ty.encode(&json!({"weights": weights, "bias": bias})).unwrap();
    let rows: Vec<Value> = records.iter().map(|(f, l)| json!({"features": f, "label": l})).collect();
    let data = program.params[1].ty.encode(&Value::Array(rows)).unwrap();
    let plain = program.eval_bits(&[model.clone(), data.clone()]).unwrap();
    assert_eq!(program.result.decode(&plain[0]), json!(want));

    let session = SessionProgram::looped(looped).unwrap();
    assert_eq!(session.digest(), program.digest());
    assert_eq!(session.and_count(), program.and_count());
    let config = SessionConfig::new();
    let (g_end, e_end) = memory_pair();
    let (g, e) = std::thread::scope(|s| {
        let garbler = s.spawn(|| {
            let session = SessionProgram::looped(looped).unwrap();
            let inputs = PartyInputs::new([("model".to_string(), model)]);
            config.run(Party::Garbler, &mut Channel::new(g_end), &session, &inputs)
        });
        let inputs = PartyInputs::new([("records".to_string(), data)]);
        let e = config.run(Party::Evaluator, &mut Channel::new(e_end), &session, &inputs);
        (garbler.join().unwrap(), e)
    });
    let (g, e) = (g.unwrap(), e.unwrap());
    assert_eq!(g.outputs, e.outputs);
    assert_eq!(program.result.decode(&e.outputs[0].1), json!(want));
    assert_eq!(e.and_gates, program.and_count());
}

#[test]
fn parties_with_different_record_counts_are_refused() {
    let looped = |n: usize| {
        let options =
            Options::new().with_const("RECORDS", n.to_string()).with_stream_loops(StreamLoops::Always);
        compile_with(MODEL, "model.gbl", &options, &|_| {}).unwrap().looped.unwrap()
    };
    let (a, b) = (looped(40), looped(41));
    let (g_end, e_end) = memory_pair();
    let config = SessionConfig::new();
    let (g, e) = std::thread::scope(|s| {
        let garbler = s.spawn(|| {
            let session = SessionProgram::looped(&a).unwrap();
            let inputs = PartyInputs::new([("model".to_string(), vec![false; a.inputs()[0].width as usize])]);
            config.run(Party::Garbler, &mut Channel::new(g_end), &session, &inputs)
        });
        let session = SessionProgram::looped(&b).unwrap();
        let inputs = PartyInputs::new([("records".to_string(), vec![false; b.inputs()[1].width as usize])]);
        let e = config.run(Party::Evaluator, &mut Channel::new(e_end), &session, &inputs);
        (garbler.join().unwrap(), e)
    });
    for r in [g, e] {
        let msg = r.unwrap_err().to_string();
        assert!(msg.contains("differ"), "{msg}");
    }
}

/// Dual execution of a streamed loop (`SessionProgram::looped_for_dual_execution`):
/// both executions replay the body, the result revealed to the evaluator
/// only is masked for the garbler (who learns nothing of it), and one
/// revealed to both reaches both; both equal plain Rust's answer.
#[test]
fn a_streamed_loop_runs_in_dual_execution() {
    use garblet::engine::session::SecurityMode;
    let n = 70;
    for reveal in ["#[reveal(evaluator)]", "#[reveal(both)]"] {
        let src = format!(
            "const N: usize = 4;
            {reveal}
            fn main(#[garbler] t: u16, #[evaluator] xs: [u16; N]) -> u32 {{
                let mut s: u32 = 0;
                for x in xs {{ if x > t {{ s += x as u32; }} }}
                s
            }}"
        );
        let options = Options::new().with_const("N", n.to_string()).with_stream_loops(StreamLoops::Always);
        let program = compile_with(&src, "sum.gbl", &options, &|_| {}).expect("compiles");
        let looped = program.looped.as_ref().expect("the loop streams");
        let mut rng = StdRng::seed_from_u64(70);
        let t: u16 = rng.gen_range(0..1000);
        let xs: Vec<u16> = (0..n).map(|_| rng.gen_range(0..2000)).collect();
        let want = xs.iter().filter(|&&x| x > t).map(|&x| u32::from(x)).fold(0u32, u32::wrapping_add);
        let ti = program.params[0].ty.encode(&json!(t)).unwrap();
        let xi = program.params[1].ty.encode(&json!(xs)).unwrap();

        let config = SessionConfig::new().with_security(SecurityMode::DualExecution);
        let session = SessionProgram::looped_for_dual_execution(looped).unwrap();
        assert_eq!(session.and_count(), program.and_count(), "masking adds no AND gate");
        let ((pg, pe), (sg, se)) = (memory_pair(), memory_pair());
        let (g, e) = std::thread::scope(|s| {
            let garbler = s.spawn(|| {
                let inputs = PartyInputs::new([("t".to_string(), ti)]);
                config.run_dual_execution(Party::Garbler, &mut Channel::new(pg), || Ok(sg), &session, &inputs)
            });
            let inputs = PartyInputs::new([("xs".to_string(), xi)]);
            let e = config.run_dual_execution(
                Party::Evaluator,
                &mut Channel::new(pe),
                || Ok(se),
                &session,
                &inputs,
            );
            (garbler.join().unwrap().unwrap(), e.unwrap())
        });
        assert_eq!(program.result.decode(&e.outputs[0].1), json!(want), "{reveal}");
        if reveal.contains("both") {
            assert_eq!(g.outputs, e.outputs);
        } else {
            assert!(g.outputs.is_empty(), "the garbler learns nothing of the evaluator's result");
        }
    }
}

/// `for i in 0..n` over two parties' arrays streams with one window per
/// array (`Plan::looped` copies both into scratch wires per run), and the
/// garbled run gives both parties Rust's dot product.
#[test]
fn an_index_loop_over_two_parties_arrays_runs_between_two_parties() {
    let n = 100;
    let src = "const N: usize = 4;
        fn main(#[garbler] a: [u32; N], #[evaluator] b: [u32; N]) -> u32 {
            let mut s: u32 = 0;
            for i in 0..N { s = s + a[i] * b[i]; }
            s
        }";
    let options = Options::new().with_const("N", n.to_string()).with_stream_loops(StreamLoops::Always);
    let program = compile_with(src, "dot.gbl", &options, &|_| {}).expect("compiles");
    let looped = program.looped.as_ref().expect("the loop streams");
    assert_eq!(looped.loops()[0].windows().len(), 2);
    let mut rng = StdRng::seed_from_u64(100);
    let a: Vec<u32> = (0..n).map(|_| rng.gen()).collect();
    let b: Vec<u32> = (0..n).map(|_| rng.gen()).collect();
    let want = a.iter().zip(&b).fold(0u32, |s, (x, y)| s.wrapping_add(x.wrapping_mul(*y)));
    let ai = program.params[0].ty.encode(&json!(a)).unwrap();
    let bi = program.params[1].ty.encode(&json!(b)).unwrap();
    let session = SessionProgram::looped(looped).unwrap();
    let config = SessionConfig::new();
    let (g_end, e_end) = memory_pair();
    let (g, e) = std::thread::scope(|s| {
        let garbler = s.spawn(|| {
            let inputs = PartyInputs::new([("a".to_string(), ai)]);
            config.run(Party::Garbler, &mut Channel::new(g_end), &session, &inputs)
        });
        let inputs = PartyInputs::new([("b".to_string(), bi)]);
        let e = config.run(Party::Evaluator, &mut Channel::new(e_end), &session, &inputs);
        (garbler.join().unwrap(), e)
    });
    let (g, e) = (g.unwrap(), e.unwrap());
    assert_eq!(g.outputs, e.outputs);
    assert_eq!(program.result.decode(&e.outputs[0].1), json!(want));
}

/// Two passes over the records, each a loop that streams (the mean of the
/// evaluator's `xs`, then how many lie above it and, where they do, the sum
/// of the garbler's weights), run between two parties in both security
/// modes: the plan replays each loop's body after the one before, and both
/// parties get plain Rust's answer.
#[test]
fn two_streamed_loops_run_between_two_parties_in_both_modes() {
    use garblet::engine::session::SecurityMode;
    let n = 90;
    let src = "const N: usize = 4;
        fn main(#[garbler] w: [u16; N], #[evaluator] xs: [u32; N]) -> (u32, u32, u32) {
            let mut sum: u32 = 0;
            for x in xs { sum += x; }
            let mean = sum / (N as u32);
            let mut above: u32 = 0;
            let mut weight: u32 = 0;
            for i in 0..N {
                if xs[i] > mean { above += 1; weight += w[i] as u32; }
            }
            (mean, above, weight)
        }";
    let options = Options::new().with_const("N", n.to_string()).with_stream_loops(StreamLoops::Always);
    let program = compile_with(src, "passes.gbl", &options, &|_| {}).expect("compiles");
    let looped = program.looped.as_ref().expect("the loops stream");
    assert_eq!(looped.loops().len(), 2, "both loops stream");
    let mut rng = StdRng::seed_from_u64(90);
    let w: Vec<u16> = (0..n).map(|_| rng.gen()).collect();
    let xs: Vec<u32> = (0..n).map(|_| rng.gen_range(0..1 << 20)).collect();
    let mean = xs.iter().sum::<u32>() / n as u32;
    let above = xs.iter().filter(|&&x| x > mean).count() as u32;
    let weight = xs.iter().zip(&w).filter(|(&x, _)| x > mean).map(|(_, &w)| u32::from(w)).sum::<u32>();
    let want = json!([mean, above, weight]);
    let wi = program.params[0].ty.encode(&json!(w)).unwrap();
    let xi = program.params[1].ty.encode(&json!(xs)).unwrap();
    assert_eq!(program.result.decode(&program.eval_bits(&[wi.clone(), xi.clone()]).unwrap()[0]), want);

    let session = SessionProgram::looped(looped).unwrap();
    assert_eq!(session.and_count(), program.and_count());
    let (g_end, e_end) = memory_pair();
    let (g, e) = std::thread::scope(|s| {
        let garbler = s.spawn(|| {
            let inputs = PartyInputs::new([("w".to_string(), wi.clone())]);
            SessionConfig::new().run(Party::Garbler, &mut Channel::new(g_end), &session, &inputs)
        });
        let inputs = PartyInputs::new([("xs".to_string(), xi.clone())]);
        let e = SessionConfig::new().run(Party::Evaluator, &mut Channel::new(e_end), &session, &inputs);
        (garbler.join().unwrap().unwrap(), e.unwrap())
    });
    assert_eq!(g.outputs, e.outputs);
    assert_eq!(program.result.decode(&e.outputs[0].1), want, "semi-honest");

    let config = SessionConfig::new().with_security(SecurityMode::DualExecution);
    let session = SessionProgram::looped_for_dual_execution(looped).unwrap();
    let ((pg, pe), (sg, se)) = (memory_pair(), memory_pair());
    let (g, e) = std::thread::scope(|s| {
        let garbler = s.spawn(|| {
            let inputs = PartyInputs::new([("w".to_string(), wi)]);
            config.run_dual_execution(Party::Garbler, &mut Channel::new(pg), || Ok(sg), &session, &inputs)
        });
        let inputs = PartyInputs::new([("xs".to_string(), xi)]);
        let e =
            config.run_dual_execution(Party::Evaluator, &mut Channel::new(pe), || Ok(se), &session, &inputs);
        (garbler.join().unwrap().unwrap(), e.unwrap())
    });
    assert_eq!(g.outputs, e.outputs);
    assert_eq!(program.result.decode(&e.outputs[0].1), want, "dual execution");
}

/// The facade's `session_program` runs what `garblet run` runs: for a
/// program whose loop streams, its looped circuit (the program's `circuit`
/// is then its interface only, whose output is wired to 0), with the same
/// digest as `SessionProgram::looped`; the result matches plaintext
/// evaluation, in both modes.
#[test]
fn the_facade_runs_a_streamed_program_as_garblet_run_does() {
    let src = "fn main(#[garbler] a: [u32; 4], #[evaluator] b: [u32; 4]) -> u32 {
        let mut s = 0u32;
        for i in 0..4 { s = s + a[i] * b[i]; }
        s
    }";
    let options = Options::new().with_stream_loops(StreamLoops::Always);
    let program = compile_with(src, "dot.gbl", &options, &|_| {}).expect("compiles");
    let looped = program.looped.as_ref().expect("the loop streams");
    let a = program.params[0].ty.encode(&json!([1, 2, 3, 4])).unwrap();
    let b = program.params[1].ty.encode(&json!([5, 6, 7, 8])).unwrap();
    assert_eq!(program.result.decode(&program.eval_bits(&[a.clone(), b.clone()]).unwrap()[0]), json!(70));
    let session = garblet::session_program(&program).unwrap();
    assert_eq!(session.digest(), SessionProgram::looped(looped).unwrap().digest());
    let dual = garblet::dual_execution_program(&program).unwrap();
    let config = SessionConfig::new();
    let dual_config = SessionConfig::new().with_security(garblet::SecurityMode::DualExecution);
    for dual_execution in [false, true] {
        let ((pg, pe), (sg, se)) = (memory_pair(), memory_pair());
        let (g, e) = std::thread::scope(|s| {
            let g = s.spawn(|| {
                let inputs = PartyInputs::new([("a".to_string(), a.clone())]);
                let mut ch = Channel::new(pg);
                match dual_execution {
                    false => config.run(Party::Garbler, &mut ch, &session, &inputs),
                    true => {
                        dual_config.run_dual_execution(Party::Garbler, &mut ch, || Ok(sg), &dual, &inputs)
                    }
                }
            });
            let inputs = PartyInputs::new([("b".to_string(), b.clone())]);
            let mut ch = Channel::new(pe);
            let e = match dual_execution {
                false => config.run(Party::Evaluator, &mut ch, &session, &inputs),
                true => dual_config.run_dual_execution(Party::Evaluator, &mut ch, || Ok(se), &dual, &inputs),
            };
            (g.join().unwrap(), e)
        });
        let (g, e) = (g.unwrap(), e.unwrap());
        assert_eq!(program.result.decode(&e.outputs[0].1), json!(70), "dual execution: {dual_execution}");
        assert_eq!(g.outputs, e.outputs);
    }
}

/// The vendor's weights are garbler inputs that no gate writes, so every
/// partial product `weight bit ∧ feature bit` is a generator half gate
/// (one 16-byte ciphertext, ZRE15): under both schemes the garbler sends
/// exactly the tables that count gives (half-gates: 32 bytes per other
/// AND), about half the model's AND gates are such gates, and both
/// parties get plain Rust's count.
#[test]
fn the_vendors_weights_make_generator_half_gates_under_both_schemes() {
    use garblet::engine::circuits::GateKind;
    use garblet::engine::session::SchemeChoice;
    let n = 40;
    let options = Options::new().with_const("RECORDS", n.to_string()).with_stream_loops(StreamLoops::Always);
    let program = compile_with(MODEL, "model.gbl", &options, &|_| {}).expect("compiles");
    let looped = program.looped.as_ref().expect("the loop streams");
    // The garbler's input wires (the model: first in wire order, after the
    // two constants) and the AND gates that read one.
    let model_bits = looped.inputs()[0].width;
    let reads_model = |g: &&garblet::engine::circuits::Gate| {
        g.kind == GateKind::And && [g.a, g.b].iter().any(|w| (2..2 + model_bits).contains(&w.get()))
    };
    let l = &looped.loops()[0];
    let half = l.iterations() * l.body().iter().filter(reads_model).count() as u64
        + l.before().iter().filter(reads_model).count() as u64
        + looped.epilogue().iter().filter(reads_model).count() as u64;
    let ands = program.and_count();
    assert!(half * 2 > ands * 9 / 10 && half < ands, "{half} of {ands}");

    let mut rng = StdRng::seed_from_u64(41);
    let weights: Vec<i64> = (0..8).map(|_| rng.gen_range(-30000..30000)).collect();
    let bias: i64 = rng.gen_range(-2_000_000..2_000_000);
    let records: Vec<(Vec<i64>, bool)> =
        (0..n).map(|_| ((0..8).map(|_| rng.gen_range(-30000..30000)).collect(), rng.gen_bool(0.5))).collect();
    let want = records
        .iter()
        .filter(|(f, label)| {
            let score = (0..8)
                .fold(bias as i32, |s, j| s.wrapping_add((weights[j] as i32).wrapping_mul(f[j] as i32)));
            (score >= 0) == *label
        })
        .count();
    let model = program.params[0].ty.encode(&json!({"weights": weights, "bias": bias})).unwrap();
    let rows: Vec<Value> = records.iter().map(|(f, l)| json!({"features": f, "label": l})).collect();
    let data = program.params[1].ty.encode(&Value::Array(rows)).unwrap();
    let mut sent = Vec::new();
    for scheme in [SchemeChoice::HalfGates, SchemeChoice::ThreeHalves] {
        let config = SessionConfig::new().with_scheme(scheme);
        let session = SessionProgram::looped(looped).unwrap();
        let (g_end, e_end) = memory_pair();
        let (g, e) = std::thread::scope(|s| {
            let garbler = s.spawn(|| {
                let inputs = PartyInputs::new([("model".to_string(), model.clone())]);
                config.run(Party::Garbler, &mut Channel::new(g_end), &session, &inputs)
            });
            let inputs = PartyInputs::new([("records".to_string(), data.clone())]);
            let e = config.run(Party::Evaluator, &mut Channel::new(e_end), &session, &inputs);
            (garbler.join().unwrap().unwrap(), e.unwrap())
        });
        assert_eq!(program.result.decode(&e.outputs[0].1), json!(want), "{scheme:?}");
        assert_eq!(g.outputs, e.outputs);
        sent.push(g.bytes_sent);
    }
    // Half-gates: the tables are 32 + 16·half + 32·(ands − half) + 32
    // bytes; the rest (the hello, the garbler's 160 input labels, the OT's
    // and the outputs' messages) is a few kilobytes.
    let tables = 64 + 16 * half + 32 * (ands - half);
    assert!(sent[0] >= tables && sent[0] < tables + 16_000, "{} against {tables}", sent[0]);
    // Three-halves: the other gates cost at most 25 bytes.
    assert!(sent[1] < 64 + 16 * half + 25 * (ands - half) + 16_000, "{}", sent[1]);
}
