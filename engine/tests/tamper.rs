//! The session against a link that alters one message: every alteration
//! ends in the typed error that names it, on the side that can tell, and
//! no side returns a wrong output. Offsets come from a clean run's phase
//! log, so each case hits the message it names.

use garblet_engine::circuits::{Builder, Circuit, Party, Sign, Visibility};
use garblet_engine::garble::OutputDecodeError;
use garblet_engine::session::Fault;
use garblet_engine::session::{PartyInputs, Phase, SessionError, SessionProgram};
use garblet_testkit::{bits, phase_offsets, recorded_transcript, run_pair, PhaseLog, Tampering};

/// `x > y` and `x + y` on 64 bits, both revealed to both parties (so the
/// evaluator returns output labels to the garbler).
fn program() -> Circuit {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 64).unwrap();
    let y = b.input("y", Party::Evaluator, 64).unwrap();
    let gt = b.gt(&x, &y, Sign::Unsigned);
    let sum = b.add(&x, &y);
    b.output("gt", Visibility::Both, vec![gt]).unwrap();
    b.output("sum", Visibility::Both, sum).unwrap();
    b.finish().unwrap()
}

fn inputs() -> (PartyInputs, PartyInputs) {
    (
        PartyInputs::new([("x".to_owned(), bits(9_000, 64))]),
        PartyInputs::new([("y".to_owned(), bits(1_234, 64))]),
    )
}

/// Where `phase` starts in the bytes its sender writes.
fn start(log: &PhaseLog, phase: Phase) -> u64 {
    log.entries.iter().find(|e| e.phase == phase).unwrap_or_else(|| panic!("{phase:?}")).bytes_sent
}

#[test]
fn a_clean_run_through_the_tamper_channel_is_correct() {
    let c = program();
    let p = SessionProgram::from_circuit(&c).unwrap();
    let (g_in, e_in) = inputs();
    let (g, e) = run_pair(&p, &g_in, &e_in, None);
    let want = c.eval_bits(&[bits(9_000, 64), bits(1_234, 64)]).unwrap();
    for o in [g.unwrap(), e.unwrap()] {
        assert_eq!(o.outputs[0].1, want[0]);
        assert_eq!(o.outputs[1].1, want[1]);
    }
}

#[test]
fn a_flipped_returned_output_bit_is_bad_output_labels_at_the_garbler() {
    let c = program();
    let p = SessionProgram::from_circuit(&c).unwrap();
    let (g_in, e_in) = inputs();
    let (_, e_log) = phase_offsets(&p, &g_in, &e_in);
    // Past the tag, in the colour bits (65 of them, 9 bytes): bit 44
    // claims the other value of `sum`'s bit 43, and the label hash the
    // evaluator sent does not cover the label of that value.
    let at = start(&e_log, Phase::OutputLabels) + 1 + 5;
    let (g, e) = run_pair(&p, &g_in, &e_in, Some((Party::Evaluator, Tampering::Flip { at, mask: 0x10 })));
    let err = g.unwrap_err();
    assert!(matches!(err, SessionError::BadOutputLabels(OutputDecodeError::LabelHashMismatch)), "{err}");
    // The evaluator had checked the garbler's transcript and returned its
    // own (correct) outputs before its message was altered on its way.
    let want = c.eval_bits(&[bits(9_000, 64), bits(1_234, 64)]).unwrap();
    assert_eq!(e.unwrap().outputs[1].1, want[1]);
}

#[test]
fn a_rewritten_tag_is_an_unexpected_message_naming_what_was_expected() {
    let c = program();
    let p = SessionProgram::from_circuit(&c).unwrap();
    let (g_in, e_in) = inputs();
    let (g_log, _) = phase_offsets(&p, &g_in, &e_in);
    for (phase, expected) in [
        (Phase::GarblerInputs, "the garbler's input labels"),
        (Phase::Tables, "the garbled circuit"),
        (Phase::Decoding, "the output decoding bits"),
    ] {
        let at = start(&g_log, phase);
        let tamper = Tampering::Replace { at, bytes: vec![0x7e] };
        let (_, e) = run_pair(&p, &g_in, &e_in, Some((Party::Garbler, tamper)));
        match e.unwrap_err() {
            SessionError::UnexpectedMessage { expected: what, got } => {
                assert_eq!((what, got), (expected, 0x7e), "{phase:?}");
            }
            other => panic!("{phase:?}: {other}"),
        }
    }
}

#[test]
fn a_message_cut_at_any_phase_is_an_error_never_a_wrong_output() {
    let c = program();
    let p = SessionProgram::from_circuit(&c).unwrap();
    let (g_in, e_in) = inputs();
    let (g_log, e_log) = phase_offsets(&p, &g_in, &e_in);
    let mut cases = Vec::new();
    for (who, log) in [(Party::Garbler, &g_log), (Party::Evaluator, &e_log)] {
        // Every phase in which this side sends something.
        for (_, start, _) in log.spans() {
            cases.push((who, Tampering::CutAt(start + 1)));
        }
    }
    // The garbler sends in five phases (hello; the OT's `A` and
    // corrections; its input labels; the tables; the decoding bits), the
    // evaluator in two (hello with its OT's first message; the returned
    // outputs).
    assert!(cases.len() >= 7, "{cases:?}");
    let want = c.eval_bits(&[bits(9_000, 64), bits(1_234, 64)]).unwrap();
    for (who, tamper) in cases {
        let (g, e) = run_pair(&p, &g_in, &e_in, Some((who, tamper.clone())));
        assert!(g.is_err() || e.is_err(), "{who:?} {tamper:?}: both succeeded");
        for o in [g, e].into_iter().flatten() {
            assert_eq!(o.outputs[0].1, want[0], "{who:?} {tamper:?}: a wrong output");
            assert_eq!(o.outputs[1].1, want[1], "{who:?} {tamper:?}: a wrong output");
        }
    }
}

#[test]
fn a_byte_altered_in_transit_is_caught_by_the_transcript_check() {
    let c = program();
    let p = SessionProgram::from_circuit(&c).unwrap();
    let (g_in, e_in) = inputs();
    let (g_log, _) = phase_offsets(&p, &g_in, &e_in);
    // A flipped decoding bit would silently flip the evaluator's output; the
    // transcript check refuses to release it instead.
    let at = start(&g_log, Phase::Decoding) + 1;
    let (g, e) = run_pair(&p, &g_in, &e_in, Some((Party::Garbler, Tampering::Flip { at, mask: 0x01 })));
    let err = e.unwrap_err();
    assert!(matches!(err, SessionError::AlteredInTransit), "{err}");
    assert_eq!(err.fault(), Fault::Transport);
    assert!(!err.is_cheating_detected());
    // The evaluator stops before it sends the garbler's output labels: the
    // garbler gets no output either, and never a wrong one.
    assert!(g.is_err());
}

#[test]
fn fixed_seeds_give_a_fixed_transcript() {
    let c = program();
    let p = SessionProgram::from_circuit(&c).unwrap();
    let (g_in, e_in) = inputs();
    let first = recorded_transcript(&p, &g_in, &e_in, (1, 2));
    assert_eq!(first, recorded_transcript(&p, &g_in, &e_in, (1, 2)), "same seeds, same bytes both ways");
    let other = recorded_transcript(&p, &g_in, &e_in, (3, 2));
    assert_ne!(first.0, other.0, "another garbler seed changes what the garbler sends");
}
