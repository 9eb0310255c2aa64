//! Honest sessions in both modes, mode and program mismatches, and the
//! fixed-seed transcript.

use super::*;
use crate::block::Block;
use crate::channel::memory_pair;
use garblet_circuits::{Builder, Sign, Visibility};

fn millionaires(vis: Visibility) -> Circuit {
    let mut b = Builder::new();
    let x = b.input("alice", Party::Garbler, 64).unwrap();
    let y = b.input("bob", Party::Evaluator, 64).unwrap();
    let gt = b.gt(&x, &y, Sign::Unsigned);
    let sum = b.add(&x, &y);
    b.output("richer", vis, vec![gt]).unwrap();
    b.output("sum", Visibility::Both, sum).unwrap();
    garblet_circuits::opt::optimize(&b.finish().unwrap())
}

fn bits(v: u64) -> Vec<bool> {
    garblet_circuits::eval::u128_to_bits(v.into(), 64)
}

fn run_both(
    gc: Circuit,
    ec: Circuit,
    a: u64,
    b: u64,
) -> (Result<SessionOutcome, SessionError>, Result<SessionOutcome, SessionError>) {
    let (ga, eb) = memory_pair();
    let g = std::thread::spawn(move || {
        let mut ch = Channel::new(ga);
        run_garbler(&mut ch, &gc, &PartyInputs::new([("alice".to_owned(), bits(a))]), None)
    });
    let mut ch = Channel::new(eb);
    let e = run_evaluator(&mut ch, &ec, &PartyInputs::new([("bob".to_owned(), bits(b))]), None);
    (g.join().unwrap(), e)
}

#[test]
fn both_parties_get_what_the_program_reveals() {
    for vis in [Visibility::Both, Visibility::Garbler, Visibility::Evaluator] {
        let c = millionaires(vis);
        let (g, e) = run_both(c.clone(), c, 1_000_000, 999_999);
        let (g, e) = (g.unwrap(), e.unwrap());
        let names = |o: &SessionOutcome| o.outputs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&g).contains(&"richer".to_owned()), vis.reveals_to(Party::Garbler));
        assert_eq!(names(&e).contains(&"richer".to_owned()), vis.reveals_to(Party::Evaluator));
        for o in [&g, &e] {
            for (name, value) in &o.outputs {
                match name.as_str() {
                    "richer" => assert_eq!(value, &vec![true]),
                    "sum" => assert_eq!(value, &bits(1_999_999)),
                    _ => panic!("unexpected output {name}"),
                }
            }
        }
    }
}

#[test]
fn different_programs_are_refused_naming_the_difference() {
    let mut b = Builder::new();
    let x = b.input("alice", Party::Garbler, 64).unwrap();
    let y = b.input("bob", Party::Evaluator, 64).unwrap();
    let lt = b.lt(&x, &y, Sign::Unsigned);
    let sum = b.sub(&x, &y);
    b.output("richer", Visibility::Both, vec![lt]).unwrap();
    b.output("sum", Visibility::Both, sum).unwrap();
    let other = b.finish().unwrap();
    let (g, e) = run_both(millionaires(Visibility::Both), other, 1, 2);
    for r in [g, e] {
        let msg = r.unwrap_err().to_string();
        assert!(msg.contains("programs differ"), "{msg}");
    }
}

#[test]
fn garbage_instead_of_a_hello_is_a_clean_error() {
    let (a, b) = memory_pair();
    let garbage = std::thread::spawn(move || {
        let mut ch = Channel::new(a);
        ch.send_bytes(&[0xde; 200]).unwrap();
        ch.flush().unwrap();
        // Stay until the other side's hello has gone out.
        let mut hello = [0u8; 16];
        let _ = ch.recv_bytes(&mut hello);
        drop(ch);
    });
    let mut ch = Channel::new(b);
    let c = millionaires(Visibility::Both);
    let err = run_evaluator(&mut ch, &c, &PartyInputs::new([("bob".to_owned(), bits(1))]), None).unwrap_err();
    assert!(matches!(err, SessionError::NotGarblet), "{err}");
    garbage.join().unwrap();
}

#[test]
fn repeated_programs_run_and_only_the_evaluator_sees_evaluator_outputs() {
    // Not renumbered: a repeated body must not overwrite its own inputs.
    let mut b = Builder::new();
    let x = b.input("alice", Party::Garbler, 64).unwrap();
    let y = b.input("bob", Party::Evaluator, 64).unwrap();
    let gt = b.gt(&x, &y, Sign::Unsigned);
    let sum = b.add(&x, &y);
    b.output("richer", Visibility::Evaluator, vec![gt]).unwrap();
    b.output("sum", Visibility::Both, sum).unwrap();
    let c = b.finish().unwrap();
    let (ga, eb) = memory_pair();
    let gc = c.clone();
    let g = std::thread::spawn(move || {
        let program = SessionProgram::repeated(&gc, 50).unwrap();
        run_garbler_program(
            &mut Channel::new(ga),
            &program,
            &PartyInputs::new([("alice".to_owned(), bits(9))]),
            None,
        )
    });
    let program = SessionProgram::repeated(&c, 50).unwrap();
    assert_eq!(program.and_count(), 50 * c.and_count());
    let mut seen = 0u64;
    let mut progress = |ands: u64| seen = seen.max(ands);
    let e = run_evaluator_program(
        &mut Channel::new(eb),
        &program,
        &PartyInputs::new([("bob".to_owned(), bits(4))]),
        Some(&mut progress),
    )
    .unwrap();
    let g = g.join().unwrap().unwrap();
    assert_eq!(e.outputs[0], ("richer".to_owned(), vec![true]));
    assert_eq!(g.outputs, vec![("sum".to_owned(), bits(13))], "the garbler learns only `sum`");
    assert!(seen >= 50 * c.and_count(), "progress reached the end: {seen}");
}

/// A batch body: `y = key · x` on 8 bits, `key` the garbler's, `x` the
/// evaluator's.
pub(super) fn mul_body() -> Circuit {
    let mut b = Builder::new();
    let key = b.input("key", Party::Garbler, 8).unwrap();
    let x = b.input("x", Party::Evaluator, 8).unwrap();
    let p = b.mul(&key, &x);
    b.output("y", Visibility::Both, p).unwrap();
    b.finish().unwrap()
}

#[test]
fn batches_run_each_copy_on_its_own_inputs() {
    let body = mul_body();
    let copies = 300u64;
    let xs: Vec<u8> = (0..copies).map(|i| (i * 37 + 11) as u8).collect();
    let x_bits: Vec<bool> = xs.iter().flat_map(|&v| (0..8).map(move |k| (v >> k) & 1 == 1)).collect();
    let key_bits: Vec<bool> = (0..8).map(|k| (0x5bu8 >> k) & 1 == 1).collect();
    let (ga, eb) = memory_pair();
    let gb = body.clone();
    let g = std::thread::spawn(move || {
        let program = SessionProgram::batch(&gb, copies).unwrap();
        run_garbler_program(
            &mut Channel::new(ga),
            &program,
            &PartyInputs::new([("key".to_owned(), key_bits)]),
            None,
        )
    });
    let program = SessionProgram::batch(&body, copies).unwrap();
    let e = run_evaluator_program(
        &mut Channel::new(eb),
        &program,
        &PartyInputs::new([("x".to_owned(), x_bits)]),
        None,
    )
    .unwrap();
    let g = g.join().unwrap().unwrap();
    let want: Vec<bool> =
        xs.iter().flat_map(|&v| (0..8).map(move |k| (0x5bu8.wrapping_mul(v) >> k) & 1 == 1)).collect();
    assert_eq!(e.outputs, vec![("y".to_owned(), want)]);
    assert_eq!(g.outputs, e.outputs, "the garbler's checked copy agrees");
    assert_eq!(e.and_gates, copies * body.and_count());
}

/// Both parties of a dual-execution run, each on its own thread, over two
/// in-memory connections.
pub(super) fn dualex_pair(
    gc: &Circuit,
    ec: &Circuit,
    g_in: PartyInputs,
    e_in: PartyInputs,
) -> (Result<SessionOutcome, SessionError>, Result<SessionOutcome, SessionError>) {
    let (p_g, p_e) = memory_pair();
    let (s_g, s_e) = memory_pair();
    let config = SessionConfig::new().with_security(SecurityMode::DualExecution);
    let gp = SessionProgram::for_dual_execution(gc).unwrap();
    let ep = SessionProgram::for_dual_execution(ec).unwrap();
    std::thread::scope(|s| {
        let g = s.spawn(|| {
            config.run_dual_execution(Party::Garbler, &mut Channel::new(p_g), || Ok(s_g), &gp, &g_in)
        });
        let e = config.run_dual_execution(Party::Evaluator, &mut Channel::new(p_e), || Ok(s_e), &ep, &e_in);
        (g.join().unwrap(), e)
    })
}

fn named(v: u64, name: &str) -> PartyInputs {
    PartyInputs::new([(name.to_owned(), bits(v))])
}

#[test]
fn dual_execution_gives_each_party_what_the_program_reveals() {
    for vis in [Visibility::Both, Visibility::Garbler, Visibility::Evaluator] {
        let c = millionaires(vis);
        let (g, e) = dualex_pair(&c, &c, named(1_000_000, "alice"), named(999_999, "bob"));
        let (g, e) = (g.unwrap(), e.unwrap());
        for (o, party) in [(&g, Party::Garbler), (&e, Party::Evaluator)] {
            assert_eq!(o.security, SecurityMode::DualExecution);
            let richer = o.outputs.iter().find(|(n, _)| n == "richer");
            assert_eq!(richer.is_some(), vis.reveals_to(party), "{vis:?} {party}");
            if let Some((_, v)) = richer {
                assert_eq!(v, &vec![true]);
            }
            let sum = o.outputs.iter().find(|(n, _)| n == "sum").unwrap();
            assert_eq!(sum.1, bits(1_999_999));
            assert!(o.outputs.iter().all(|(n, _)| !n.starts_with("dualex mask")));
        }
    }
}

#[test]
fn dual_execution_with_many_input_bits_uses_the_checked_extension() {
    // 256 evaluator bits: the OT extension path in both directions.
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 256).unwrap();
    let y = b.input("y", Party::Evaluator, 256).unwrap();
    let xs: Vec<_> = x.chunks(64).map(|c| c.to_vec()).collect();
    let ys: Vec<_> = y.chunks(64).map(|c| c.to_vec()).collect();
    let mut acc = b.constant_bits(0, 64);
    for (a, c) in xs.iter().zip(&ys) {
        let p = b.add(a, c);
        acc = b.add(&acc, &p);
    }
    b.output("total", Visibility::Garbler, acc).unwrap();
    let c = garblet_circuits::opt::optimize(&b.finish().unwrap());
    let xv: Vec<bool> = (0..256).map(|i| i % 3 == 0).collect();
    let yv: Vec<bool> = (0..256).map(|i| i % 5 == 1).collect();
    let want = c.eval_bits(&[xv.clone(), yv.clone()]).unwrap();
    let (g, e) = dualex_pair(
        &c,
        &c,
        PartyInputs::new([("x".to_owned(), xv)]),
        PartyInputs::new([("y".to_owned(), yv)]),
    );
    assert_eq!(g.unwrap().outputs, vec![("total".to_owned(), want[0].clone())]);
    assert!(e.unwrap().outputs.is_empty(), "the evaluator learns nothing");
}

#[test]
fn a_security_mode_mismatch_stops_both_sides_before_any_input_is_used() {
    let c = millionaires(Visibility::Both);
    let (a, b) = memory_pair();
    let (a2, _b2) = memory_pair();
    let gc = c.clone();
    let g = std::thread::spawn(move || {
        let config = SessionConfig::new().with_security(SecurityMode::DualExecution);
        let program = SessionProgram::for_dual_execution(&gc).unwrap();
        config.run_dual_execution(
            Party::Garbler,
            &mut Channel::new(a),
            || Ok(a2),
            &program,
            &named(5, "alice"),
        )
    });
    let program = SessionProgram::from_circuit(&c).unwrap();
    let e = SessionConfig::new().run(Party::Evaluator, &mut Channel::new(b), &program, &named(3, "bob"));
    for r in [g.join().unwrap(), e] {
        let err = r.unwrap_err();
        assert!(matches!(err, SessionError::Mismatch(ProgramMismatch::Security { .. })), "{err}");
        assert!(err.to_string().contains("security mode"), "{err}");
    }
}

#[test]
fn the_mode_must_fit_the_call() {
    let c = millionaires(Visibility::Both);
    let program = SessionProgram::from_circuit(&c).unwrap();
    let (a, _b) = memory_pair();
    let dual = SessionConfig::new().with_security(SecurityMode::DualExecution);
    let err = dual.run(Party::Garbler, &mut Channel::new(a), &program, &named(1, "alice")).unwrap_err();
    assert!(matches!(err, SessionError::Config(_)));
    assert_eq!(err.fault(), Fault::Local);
    // A private output needs the masked program.
    let private = SessionProgram::from_circuit(&millionaires(Visibility::Garbler)).unwrap();
    let ((a, _), (b, _)) = (memory_pair(), memory_pair());
    let err = dual
        .run_dual_execution(Party::Garbler, &mut Channel::new(a), || Ok(b), &private, &named(1, "alice"))
        .unwrap_err();
    assert!(matches!(err, SessionError::Inputs(InputError::DualexNeedsPublicOutputs(_))), "{err}");
}

#[test]
fn outcome_and_inputs_never_debug_print_values() {
    let inputs = named(0xdead_beef, "alice");
    assert!(!format!("{inputs:?}").contains("true"));
    let config = SessionConfig::new().with_random(RandomSource::InsecureFixedSeed(Block::new(99)));
    assert!(!format!("{config:?}").contains("99"));
}

#[test]
fn terms_bind_the_digest_only_when_given_and_in_order() {
    let c = millionaires(Visibility::Both);
    let plain = SessionProgram::from_circuit(&c).unwrap().digest();
    let digest = |terms: &[(&str, &str)]| {
        let terms: Vec<(String, String)> =
            terms.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        SessionProgram::from_circuit(&c).unwrap().with_terms(&terms).digest()
    };
    assert_eq!(digest(&[]), plain, "no terms: the circuit digest as it was");
    let one = digest(&[("const N", "3")]);
    assert_ne!(one, plain);
    assert_eq!(one, digest(&[("const N", "3")]));
    assert_ne!(one, digest(&[("const N", "4")]));
    assert_ne!(digest(&[("a", "b"), ("c", "d")]), digest(&[("c", "d"), ("a", "b")]));
    // Length prefixes: moving a byte between name and value changes it.
    assert_ne!(digest(&[("ab", "c")]), digest(&[("a", "bc")]));

    // Two parties that bind different terms to the same circuit are refused.
    let (ga, eb) = memory_pair();
    let gc = c.clone();
    let g = std::thread::spawn(move || {
        let program =
            SessionProgram::from_circuit(&gc).unwrap().with_terms(&[("const N".into(), "3".into())]);
        let inputs = PartyInputs::new([("alice".to_owned(), bits(1))]);
        SessionConfig::new().run(Party::Garbler, &mut Channel::new(ga), &program, &inputs)
    });
    let program = SessionProgram::from_circuit(&c).unwrap().with_terms(&[("const N".into(), "4".into())]);
    let inputs = PartyInputs::new([("bob".to_owned(), bits(2))]);
    let e = SessionConfig::new().run(Party::Evaluator, &mut Channel::new(eb), &program, &inputs);
    for r in [g.join().unwrap(), e] {
        let err = r.unwrap_err().to_string();
        assert!(err.contains("programs differ") && err.contains("program digest"), "{err}");
    }
}

/// What a run with a release gate on one side saw: both results, the
/// phases the gate was asked at, and the phases the peer entered, each
/// with whether the gate had answered by then.
struct Gated {
    garbler: Result<SessionOutcome, SessionError>,
    evaluator: Result<SessionOutcome, SessionError>,
    asked: Vec<Phase>,
    peer_phases: Vec<(Phase, bool)>,
}

/// Runs millionaires with a slow release gate on `gated`'s side that
/// answers `answer`.
fn run_with_gate(gated: Party, answer: Result<(), String>) -> Gated {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let c = millionaires(Visibility::Both);
    let answered = Arc::new(AtomicBool::new(false));
    let (asked, peer_phases) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let (done, seen) = (answered.clone(), asked.clone());
    let gate: ReleaseGate = Arc::new(move |e: PhaseEntry| {
        seen.lock().unwrap().push(e.phase);
        // A slow disk: the peer must still be waiting when it answers.
        std::thread::sleep(std::time::Duration::from_millis(200));
        done.store(true, Ordering::SeqCst);
        answer.clone()
    });
    let (done, entered) = (answered, peer_phases.clone());
    let observer: PhaseObserver = Arc::new(move |e: PhaseEntry| {
        entered.lock().unwrap().push((e.phase, done.load(Ordering::SeqCst)));
    });
    let config_of = |p: Party| {
        if p == gated {
            SessionConfig::new().with_release_gate(gate.clone())
        } else {
            SessionConfig::new().with_phases(observer.clone())
        }
    };
    let (gcfg, ecfg) = (config_of(Party::Garbler), config_of(Party::Evaluator));
    let (ga, eb) = memory_pair();
    let c2 = c.clone();
    let g = std::thread::spawn(move || {
        let p = SessionProgram::from_circuit(&c2).unwrap();
        gcfg.run(
            Party::Garbler,
            &mut Channel::new(ga),
            &p,
            &PartyInputs::new([("alice".to_owned(), bits(7))]),
        )
    });
    let p = SessionProgram::from_circuit(&c).unwrap();
    let evaluator = ecfg.run(
        Party::Evaluator,
        &mut Channel::new(eb),
        &p,
        &PartyInputs::new([("bob".to_owned(), bits(5))]),
    );
    let garbler = g.join().unwrap();
    let asked = asked.lock().unwrap().clone();
    let peer_phases = peer_phases.lock().unwrap().clone();
    Gated { garbler, evaluator, asked, peer_phases }
}

/// The phase a peer enters once it holds its outputs: the evaluator
/// after the decoding bits, the garbler after the output labels.
fn decoded_phase(peer: Party) -> Phase {
    if peer == Party::Evaluator {
        Phase::OutputLabels
    } else {
        Phase::Finish
    }
}

#[test]
fn the_release_gate_answers_before_the_peer_can_decode() {
    for gated in [Party::Garbler, Party::Evaluator] {
        let r = run_with_gate(gated, Ok(()));
        let (g, e) = (r.garbler.unwrap(), r.evaluator.unwrap());
        assert_eq!(g.outputs, e.outputs);
        let release = if gated == Party::Garbler { Phase::Decoding } else { Phase::OutputLabels };
        assert_eq!(r.asked, vec![release], "gated {gated:?}: asked once, at the release step");
        let decoded = r.peer_phases.iter().find(|(p, _)| *p == decoded_phase(gated.peer()));
        assert_eq!(
            decoded,
            Some(&(decoded_phase(gated.peer()), true)),
            "gated {gated:?}: {:?}",
            r.peer_phases
        );
    }
}

#[test]
fn a_gate_that_withholds_leaves_the_peer_without_outputs() {
    for gated in [Party::Garbler, Party::Evaluator] {
        let r = run_with_gate(gated, Err("the audit log is full".to_owned()));
        let (ours, theirs) =
            if gated == Party::Garbler { (r.garbler, r.evaluator) } else { (r.evaluator, r.garbler) };
        match ours {
            Err(SessionError::ReleaseWithheld(m)) => assert_eq!(m, "the audit log is full"),
            other => panic!("gated {gated:?}: expected ReleaseWithheld, got {other:?}"),
        }
        assert!(theirs.is_err(), "gated {gated:?}: the peer finished: {theirs:?}");
        // The peer never reached the step after decoding.
        assert!(
            !r.peer_phases.iter().any(|(p, _)| *p == decoded_phase(gated.peer())),
            "gated {gated:?}: {:?}",
            r.peer_phases
        );
    }
}

/// Semi-honest and dual execution under each garbling scheme: the same
/// outputs, and three-halves sends fewer table bytes.
#[test]
fn both_schemes_in_both_modes() {
    let c = millionaires(Visibility::Both);
    let mut sent = Vec::new();
    for scheme in [SchemeChoice::HalfGates, SchemeChoice::ThreeHalves] {
        let config = SessionConfig::new().with_scheme(scheme);
        let program = SessionProgram::from_circuit(&c).unwrap();
        let (a, b) = memory_pair();
        let (g, e) = std::thread::scope(|s| {
            let g =
                s.spawn(|| config.run(Party::Garbler, &mut Channel::new(a), &program, &named(70, "alice")));
            let e = config.run(Party::Evaluator, &mut Channel::new(b), &program, &named(71, "bob"));
            (g.join().unwrap(), e)
        });
        let (g, e) = (g.unwrap(), e.unwrap());
        for o in [&g, &e] {
            assert_eq!(o.outputs[0], ("richer".to_owned(), vec![false]), "{scheme}");
            assert_eq!(o.outputs[1], ("sum".to_owned(), bits(141)), "{scheme}");
        }
        sent.push(g.bytes_sent);

        let dual = config.clone().with_security(SecurityMode::DualExecution);
        let program = SessionProgram::for_dual_execution(&c).unwrap();
        let ((p_g, p_e), (s_g, s_e)) = (memory_pair(), memory_pair());
        let (g, e) = std::thread::scope(|s| {
            let g = s.spawn(|| {
                dual.run_dual_execution(
                    Party::Garbler,
                    &mut Channel::new(p_g),
                    || Ok(s_g),
                    &program,
                    &named(9, "alice"),
                )
            });
            let e = dual.run_dual_execution(
                Party::Evaluator,
                &mut Channel::new(p_e),
                || Ok(s_e),
                &program,
                &named(3, "bob"),
            );
            (g.join().unwrap(), e)
        });
        for o in [g.unwrap(), e.unwrap()] {
            assert_eq!(o.security, SecurityMode::DualExecution);
            let richer = o.outputs.iter().find(|(n, _)| n == "richer").unwrap();
            assert_eq!(richer.1, vec![true], "{scheme} dualex");
            let sum = o.outputs.iter().find(|(n, _)| n == "sum").unwrap();
            assert_eq!(sum.1, bits(12), "{scheme} dualex");
        }
    }
    let ands = c.and_count();
    // Half-gates sends 32 bytes per AND, three-halves at most 25.
    assert!(
        sent[0] - sent[1] >= 7 * ands,
        "half-gates {} bytes, three-halves {} ({ands} ANDs)",
        sent[0],
        sent[1]
    );
}

/// The hello's scheme byte: 1 for half-gates, 2 for three-halves; peers
/// that chose different schemes stop before any input is used, naming
/// both.
#[test]
fn a_scheme_mismatch_stops_both_sides_before_any_input_is_used() {
    assert_eq!(SchemeChoice::HalfGates.to_byte(), SCHEME_HALF_GATES);
    assert_eq!(SchemeChoice::ThreeHalves.to_byte(), SCHEME_THREE_HALVES);
    assert_eq!((SCHEME_HALF_GATES, SCHEME_THREE_HALVES), (1, 2));
    assert_eq!(SchemeChoice::default(), SchemeChoice::ThreeHalves);
    for s in [SchemeChoice::HalfGates, SchemeChoice::ThreeHalves] {
        assert_eq!(SchemeChoice::parse(s.as_str()), Some(s));
        assert_eq!(SchemeChoice::from_byte(s.to_byte()), Some(s));
    }
    assert_eq!(SchemeChoice::from_byte(3), None);
    for security in [SecurityMode::SemiHonestGarbler, SecurityMode::DualExecution] {
        let c = millionaires(Visibility::Both);
        let (a, b) = memory_pair();
        let (a2, b2) = memory_pair();
        let program = match security {
            SecurityMode::DualExecution => SessionProgram::for_dual_execution(&c).unwrap(),
            _ => SessionProgram::from_circuit(&c).unwrap(),
        };
        let run = |scheme: SchemeChoice, role: Party, ch, second, inputs: PartyInputs| {
            let config = SessionConfig::new().with_security(security).with_scheme(scheme);
            match security {
                SecurityMode::DualExecution => {
                    config.run_dual_execution(role, &mut Channel::new(ch), || Ok(second), &program, &inputs)
                }
                _ => config.run(role, &mut Channel::new(ch), &program, &inputs),
            }
        };
        let (g, e) = std::thread::scope(|s| {
            let g = s.spawn(|| run(SchemeChoice::HalfGates, Party::Garbler, a, a2, named(5, "alice")));
            let e = run(SchemeChoice::ThreeHalves, Party::Evaluator, b, b2, named(3, "bob"));
            (g.join().unwrap(), e)
        });
        for (r, ours, theirs) in [(g, "half-gates", "three-halves"), (e, "three-halves", "half-gates")] {
            let err = r.unwrap_err();
            assert!(
                matches!(err, SessionError::Mismatch(ProgramMismatch::Scheme { .. })),
                "{security}: {err}"
            );
            let text = err.to_string();
            assert!(
                text.contains(&format!("garbling scheme {ours} here, {theirs} at the peer")),
                "{security}: {text}"
            );
        }
    }
}

/// `s ← s · y + x`, 20 times over 64 bits, SSA (not renumbered): 300 k
/// wires, each used once, enough for a pipelined plan to rename.
fn mul_add_chain() -> Circuit {
    let mut b = Builder::new();
    let x = b.input("alice", Party::Garbler, 64).unwrap();
    let y = b.input("bob", Party::Evaluator, 64).unwrap();
    let mut s = x.clone();
    for _ in 0..20 {
        let p = b.mul(&s, &y);
        s = b.add(&p, &x);
    }
    b.output("s", Visibility::Both, s).unwrap();
    b.finish().unwrap()
}

#[test]
fn pipelined_and_compiled_plans_interoperate() {
    let c = mul_add_chain();
    let (x, y) = (0x0123_4567_89ab_cdefu64, 0xfedc_ba98_7654_3211u64);
    let want = (0..20).fold(x, |s, _| s.wrapping_mul(y).wrapping_add(x));
    let pipelined = SessionProgram::pipelined(&c).unwrap();
    assert!(pipelined.plan.num_wires() < c.num_wires(), "renamed: {} wires", pipelined.plan.num_wires());
    assert_eq!(pipelined.digest(), c.digest().0);
    assert_eq!(pipelined.and_count(), c.and_count());
    let owned = SessionProgram::from_owned_circuit(c.clone()).unwrap();
    assert_eq!((owned.digest(), owned.and_count()), (c.digest().0, c.and_count()));
    // 0: compiled, 1: pipelined, 2: renamed in place.
    fn program_of(c: &Circuit, how: u8) -> SessionProgram<'_> {
        match how {
            0 => SessionProgram::from_circuit(c).unwrap(),
            1 => SessionProgram::pipelined(c).unwrap(),
            _ => SessionProgram::from_owned_circuit(c.clone()).unwrap(),
        }
    }
    for (garbler, evaluator) in [(1, 0), (0, 1), (1, 1), (2, 0), (0, 2), (2, 1)] {
        let (ga, eb) = memory_pair();
        let gc = c.clone();
        let g = std::thread::spawn(move || {
            let program = program_of(&gc, garbler);
            run_garbler_program(&mut Channel::new(ga), &program, &named(x, "alice"), None)
        });
        let program = program_of(&c, evaluator);
        let e = run_evaluator_program(&mut Channel::new(eb), &program, &named(y, "bob"), None).unwrap();
        let g = g.join().unwrap().unwrap();
        for o in [&g, &e] {
            assert_eq!(o.outputs, vec![("s".to_owned(), bits(want))]);
        }
    }
}

/// `x > y[..64]` and the parity of all of `y`, for both; `wide` evaluator
/// bits (≥ 128: the OT extension).
fn wide_evaluator(wide: u32) -> Circuit {
    let mut b = Builder::new();
    let x = b.input("alice", Party::Garbler, 64).unwrap();
    let y = b.input("bob", Party::Evaluator, wide).unwrap();
    let gt = b.gt(&x, &y[..64].to_vec(), Sign::Unsigned);
    let parity = y.iter().skip(1).fold(y[0], |acc, &w| b.xor(acc, w));
    b.output("richer", Visibility::Both, vec![gt]).unwrap();
    b.output("parity", Visibility::Both, vec![parity]).unwrap();
    garblet_circuits::opt::optimize(&b.finish().unwrap())
}

/// One run of [`wide_evaluator`] under `config` on both sides; returns both
/// outcomes after checking the outputs against the plaintext.
fn run_wide(config: &SessionConfig, wide: u32, x: u64, seed: u128) -> (SessionOutcome, SessionOutcome) {
    let c = wide_evaluator(wide);
    let mut prg = crate::prg::Prg::from_seed(Block::new(seed));
    let y: Vec<bool> = (0..wide).map(|_| prg.random_bool()).collect();
    let y64 = y[..64].iter().enumerate().fold(0u64, |v, (i, &b)| v | (u64::from(b) << i));
    let parity = y.iter().fold(false, |p, &b| p ^ b);
    let (a, b) = memory_pair();
    let (g, e) = std::thread::scope(|s| {
        let program = SessionProgram::from_circuit(&c).unwrap();
        let g = s.spawn(|| {
            let program = SessionProgram::from_circuit(&c).unwrap();
            config.run(Party::Garbler, &mut Channel::new(a), &program, &named(x, "alice"))
        });
        let e = config.run(
            Party::Evaluator,
            &mut Channel::new(b),
            &program,
            &PartyInputs::new([("bob".to_owned(), y)]),
        );
        (g.join().unwrap(), e)
    });
    let (g, e) = (g.unwrap(), e.unwrap());
    for o in [&g, &e] {
        assert_eq!(o.outputs[0], ("richer".to_owned(), vec![x > y64]), "{}", config.ot);
        assert_eq!(o.outputs[1], ("parity".to_owned(), vec![parity]), "{}", config.ot);
    }
    (g, e)
}

/// Both OT extensions under both schemes, semi-honest and dual execution:
/// the same outputs; SoftSpokenOT sends less.
#[test]
fn both_ot_extensions_under_both_schemes_and_modes() {
    assert_eq!(OtChoice::default(), OtChoice::SoftSpoken);
    for o in [OtChoice::KosChecked, OtChoice::SoftSpoken] {
        assert_eq!(OtChoice::parse(o.as_str()), Some(o));
        assert_eq!(OtChoice::from_byte(o.to_byte()), Some(o));
    }
    assert_eq!((OtChoice::KosChecked.to_byte(), OtChoice::SoftSpoken.to_byte()), (1, 2));
    assert_eq!(OtChoice::from_byte(3), None);
    for scheme in [SchemeChoice::HalfGates, SchemeChoice::ThreeHalves] {
        let mut received = Vec::new();
        for ot in [OtChoice::KosChecked, OtChoice::SoftSpoken] {
            let config = SessionConfig::new().with_scheme(scheme).with_ot(ot);
            let (g, _) = run_wide(&config, 1000, 0xffff_0000, 1);
            run_wide(&config, 200, 3, 2);
            received.push(g.bytes_received);
        }
        // The evaluator's OT message: 16 bytes per bit against 4 (for 1,024
        // rows, 12,288 bytes fewer, less 3,072 of GGM corrections, plus the
        // extra block's 1,536 bytes fewer).
        assert_eq!(received[0] - received[1], 12 * 1024 - 3072 + 1536, "{scheme}: {received:?}");

        for ot in [OtChoice::KosChecked, OtChoice::SoftSpoken] {
            let dual = SessionConfig::new()
                .with_scheme(scheme)
                .with_ot(ot)
                .with_security(SecurityMode::DualExecution);
            let c = wide_evaluator(300);
            let program = SessionProgram::for_dual_execution(&c).unwrap();
            let mut prg = crate::prg::Prg::from_seed(Block::new(3));
            let y: Vec<bool> = (0..300).map(|_| prg.random_bool()).collect();
            let parity = y.iter().fold(false, |p, &b| p ^ b);
            let ((p_g, p_e), (s_g, s_e)) = (memory_pair(), memory_pair());
            let (g, e) = std::thread::scope(|s| {
                let g = s.spawn(|| {
                    dual.run_dual_execution(
                        Party::Garbler,
                        &mut Channel::new(p_g),
                        || Ok(s_g),
                        &program,
                        &named(9, "alice"),
                    )
                });
                let e = dual.run_dual_execution(
                    Party::Evaluator,
                    &mut Channel::new(p_e),
                    || Ok(s_e),
                    &program,
                    &PartyInputs::new([("bob".to_owned(), y)]),
                );
                (g.join().unwrap(), e)
            });
            for o in [g.unwrap(), e.unwrap()] {
                let p = o.outputs.iter().find(|(n, _)| n == "parity").unwrap();
                assert_eq!(p.1, vec![parity], "{scheme} {ot} dualex");
            }
        }
    }
}

/// Peers that chose different OT extensions stop at the hello, naming both.
#[test]
fn an_ot_mismatch_stops_both_sides_before_any_input_is_used() {
    let c = wide_evaluator(200);
    let (a, b) = memory_pair();
    let y = vec![true; 200];
    let (g, e) = std::thread::scope(|s| {
        let g = s.spawn(|| {
            let program = SessionProgram::from_circuit(&c).unwrap();
            let config = SessionConfig::new().with_ot(OtChoice::KosChecked);
            config.run(Party::Garbler, &mut Channel::new(a), &program, &named(5, "alice"))
        });
        let program = SessionProgram::from_circuit(&c).unwrap();
        let config = SessionConfig::new().with_ot(OtChoice::SoftSpoken);
        let e = config.run(
            Party::Evaluator,
            &mut Channel::new(b),
            &program,
            &PartyInputs::new([("bob".to_owned(), y)]),
        );
        (g.join().unwrap(), e)
    });
    for (r, ours, theirs) in [(g, "iknp", "softspoken"), (e, "softspoken", "iknp")] {
        let err = r.unwrap_err();
        assert!(matches!(err, SessionError::Mismatch(ProgramMismatch::Ot { .. })), "{err}");
        let text = err.to_string();
        assert!(text.contains(&format!("OT extension {ours} here, {theirs} at the peer")), "{text}");
    }
}

/// The aim of issue 14: an evaluator-input-heavy run (2^20 input bits, one
/// AND) sends at most 5 bytes per evaluator input bit, both directions,
/// with SoftSpokenOT; IKNP sends more than 16. Prints both figures.
#[test]
fn an_input_heavy_session_sends_at_most_five_bytes_per_input_bit() {
    let wide = 1u32 << 20;
    let mut per_bit = Vec::new();
    for ot in [OtChoice::KosChecked, OtChoice::SoftSpoken] {
        let config = SessionConfig::new().with_ot(ot);
        let (g, e) = run_wide(&config, wide, 12345, 4);
        assert_eq!(g.bytes_sent + g.bytes_received, e.bytes_sent + e.bytes_received);
        let total = g.bytes_sent + g.bytes_received;
        let ratio = total as f64 / f64::from(wide);
        eprintln!("{ot}: {total} bytes for {wide} evaluator input bits = {ratio:.4} bytes per bit");
        per_bit.push(ratio);
    }
    assert!(per_bit[0] > 16.0, "iknp: {per_bit:?}");
    assert!(per_bit[1] <= 5.0, "softspoken: {per_bit:?}");
}

/// `n` output bits for `vis`, bit `i` = `alice[i mod 64] ∧ bob[⌊i / 64⌋ mod 64]`.
fn many_outputs(n: u32, vis: Visibility) -> Circuit {
    let mut b = Builder::new();
    let x = b.input("alice", Party::Garbler, 64).unwrap();
    let y = b.input("bob", Party::Evaluator, 64).unwrap();
    let out = (0..n as usize).map(|i| b.and(x[i % 64], y[(i / 64) % 64])).collect();
    b.output("mix", vis, out).unwrap();
    b.finish().unwrap()
}

/// The outputs the garbler learns come back at 1 bit each plus one hash
/// (message 6): for 12,345 output bits, the evaluator sends its hello, its
/// base OTs, and exactly 1 tag + ⌈n/8⌉ colour bytes + 32 (label hash) + 32
/// (transcript hash). Prints the figure.
#[test]
fn a_garbler_output_heavy_session_returns_one_bit_per_output_bit() {
    let n = 12_345u32;
    let c = many_outputs(n, Visibility::Garbler);
    let (g, e) = run_both(c.clone(), c.clone(), 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
    let (g, e) = (g.unwrap(), e.unwrap());
    let want = c.eval_bits(&[bits(0x0123_4567_89ab_cdef), bits(0xfedc_ba98_7654_3210)]).unwrap();
    assert_eq!(g.outputs, vec![("mix".to_owned(), want[0].clone())]);
    assert!(e.outputs.is_empty());

    let program = SessionProgram::from_circuit(&c).unwrap();
    let config = SessionConfig::new();
    let hello = hello::Hello::new(&program, Party::Evaluator, &config, hello::Link::Primary, [0; 32]);
    let hello_bytes = 8 + hello.encode().len() as u64;
    // 64 evaluator bits, below the extension threshold: the count, then a
    // pair of Ristretto points per bit (Masny–Rindal's receiver message).
    let base_ot_bytes = 8 + 64 * 64;
    let returned = e.bytes_sent - hello_bytes - base_ot_bytes;
    eprintln!(
        "evaluator → garbler: {} bytes for {n} garbler output bits; the returned outputs (message 6): {returned} bytes ({:.4} bytes per output bit)",
        e.bytes_sent,
        returned as f64 / f64::from(n)
    );
    let (tag, label_hash, transcript_hash) = (1, 32, 32);
    assert_eq!(returned, tag + u64::from(n).div_ceil(8) + label_hash + transcript_hash);
    assert_eq!(g.bytes_received, e.bytes_sent);
}

/// A transport that tags every byte it writes with its party's causal
/// depth: 0 until the party has read anything, else one more than the
/// deepest byte it has read. The deepest byte written is the last flight
/// of the run's longest chain of waits, so `depth + 1` is the number of
/// one-way flights the run needs on the wire (its round trips, doubled),
/// whatever the threads' timing.
struct CausalDepth<T> {
    inner: T,
    me: usize,
    shared: std::sync::Arc<std::sync::Mutex<DepthLog>>,
}

#[derive(Default)]
struct DepthLog {
    /// Per party: its depth now.
    depth: [u32; 2],
    /// Per party's stream: `(end offset, depth)` of each write.
    written: [Vec<(u64, u32)>; 2],
    /// Per party: bytes of the peer's stream it has read.
    read: [u64; 2],
}

impl DepthLog {
    fn deepest(&self) -> u32 {
        self.written.iter().flatten().map(|&(_, d)| d).max().unwrap_or(0)
    }
}

impl<T: Write> Write for CausalDepth<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Logged before the bytes go, so that the peer never reads bytes
        // without their depth; trimmed if fewer went.
        let start = {
            let mut log = self.shared.lock().unwrap();
            let start = log.written[self.me].last().map_or(0, |w| w.0);
            let depth = log.depth[self.me];
            log.written[self.me].push((start + buf.len() as u64, depth));
            start
        };
        let sent = self.inner.write(buf);
        let n = *sent.as_ref().unwrap_or(&0);
        if let Some(last) = self.shared.lock().unwrap().written[self.me].last_mut() {
            last.0 = start + n as u64;
        }
        sent
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Read> Read for CausalDepth<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut log = self.shared.lock().unwrap();
        let peer = 1 - self.me;
        let (from, to) = (log.read[self.me], log.read[self.me] + n as u64);
        log.read[self.me] = to;
        // The writes that overlap [from, to): each ends after `from` and
        // starts before `to`.
        let mut start = 0;
        let mut deepest = None;
        for &(end, d) in &log.written[peer] {
            if end > from && start < to {
                deepest = deepest.max(Some(d));
            }
            start = end;
        }
        if let Some(d) = deepest {
            log.depth[self.me] = log.depth[self.me].max(d + 1);
        }
        Ok(n)
    }
}

/// Flights on the wire of one semi-honest run of `circuit` with
/// `bob_bits` evaluator bits, counted by causal depth.
fn flights(circuit: &Circuit, bob_bits: usize) -> u32 {
    let (a, b) = memory_pair();
    let log = std::sync::Arc::new(std::sync::Mutex::new(DepthLog::default()));
    let config = SessionConfig::new();
    std::thread::scope(|s| {
        let g = s.spawn(|| {
            let program = SessionProgram::from_circuit(circuit).unwrap();
            let mut ch = Channel::new(CausalDepth { inner: a, me: 0, shared: log.clone() });
            config.run(Party::Garbler, &mut ch, &program, &named(5_000_000, "alice")).unwrap()
        });
        let program = SessionProgram::from_circuit(circuit).unwrap();
        let mut ch = Channel::new(CausalDepth { inner: b, me: 1, shared: log.clone() });
        let bob = PartyInputs::new([("bob".to_owned(), vec![true; bob_bits])]);
        config.run(Party::Evaluator, &mut ch, &program, &bob).unwrap();
        g.join().unwrap();
    });
    let deepest = log.lock().unwrap().deepest();
    deepest + 1
}

/// Issue 14's round trips, counted by what waits on what (docs/PROTOCOL.md,
/// "Flights and round trips"): after the hellos (sent at once), the
/// millionaires' comparison (64 evaluator bits, Masny–Rindal OTs in the
/// evaluator's first flight) needs 3 flights — 1½ round trips, 2 changes
/// of direction, within the aim of ≤ 4 — and a run with 256 evaluator bits
/// (the OT extension) 5.
#[test]
fn round_trips_are_counted_by_what_waits_on_what() {
    assert_eq!(flights(&millionaires(Visibility::Both), 64), 3);
    assert_eq!(flights(&wide_evaluator(256), 256), 5);
}

/// Issue 14's budget: a three-halves session sends at most 25 bytes per
/// AND gate, counting every byte either side sends (hellos, OT, labels,
/// tables, outputs), on a run large enough for the fixed part not to
/// count: 2^20 ANDs (`garblet bench`'s wide body, 4,096 wide, 256 times),
/// 4,096 evaluator input bits. Half-gates, for contrast, sends over 32.
#[test]
fn a_three_halves_session_sends_at_most_25_bytes_per_and() {
    let width = 4096u32;
    let body = crate::garble::workloads::wide_layer(width).unwrap();
    let reps = 256;
    let mut prg = crate::prg::Prg::from_seed(Block::new(25));
    let a: Vec<bool> = (0..width).map(|_| prg.random_bool()).collect();
    let b: Vec<bool> = (0..width).map(|_| prg.random_bool()).collect();
    // The plaintext run of the same repetitions (inputs: a, then b).
    let source = crate::garble::Repeated::new(&body, reps);
    let want = crate::garble::eval_plain(&source, &[a.clone(), b.clone()].concat()).unwrap();
    // Bytes per AND: (above, at most) for each scheme.
    for (scheme, (above, limit)) in
        [(SchemeChoice::ThreeHalves, (0.0, 25.0)), (SchemeChoice::HalfGates, (32.0, 33.0))]
    {
        let config = SessionConfig::new().with_scheme(scheme);
        let (ga, eb) = memory_pair();
        let (g, e) = std::thread::scope(|s| {
            let g = s.spawn(|| {
                let program = SessionProgram::repeated(&body, reps).unwrap();
                config.run(
                    Party::Garbler,
                    &mut Channel::new(ga),
                    &program,
                    &PartyInputs::new([("a".to_owned(), a.clone())]),
                )
            });
            let program = SessionProgram::repeated(&body, reps).unwrap();
            let e = config.run(
                Party::Evaluator,
                &mut Channel::new(eb),
                &program,
                &PartyInputs::new([("b".to_owned(), b.clone())]),
            );
            (g.join().unwrap().unwrap(), e.unwrap())
        });
        for o in [&g, &e] {
            assert_eq!(o.outputs[0], ("a".to_owned(), want.clone()), "{scheme}");
        }
        let ands = u64::from(width) * reps;
        let per_and = (g.bytes_sent + g.bytes_received) as f64 / ands as f64;
        eprintln!(
            "{scheme}: {} + {} bytes for {ands} ANDs = {per_and:.3} bytes per AND",
            g.bytes_sent, g.bytes_received
        );
        assert!(per_and > above && per_and <= limit, "{scheme}: {per_and}");
    }
}
