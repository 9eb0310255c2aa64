//! The session attacked, as a cheating peer would: every test here runs an
//! honest party against an adversary built from the same protocol steps
//! with one deviation, and checks that the honest party stops with a
//! typed error naming the cheat (or, in dual execution, outputs the correct
//! value), and never outputs a wrong one.

use super::dualex::{self, Prepared};
use super::hello::{self, Hello, Link};
use super::returned_outputs::LabelHash;
use super::steps::{self, Labels};
use super::tests::dualex_pair;
use super::wire::{TAG_OUTPUT_LABELS, TAG_TABLES};
use super::*;
use crate::block::Block;
use crate::channel::{memory_pair, ChannelError, MemoryChannel};
use crate::garble::{ActiveLabel, Encoder, Garbler, OutputDecodeError, ThreeHalves};
use crate::ot::{
    CheckBinding, MaliciousReceiver, OtError, OtExtReceiver, OtExtSender, SemiHonest, SoftSpokenReceiver,
};
use crate::packed_bits;
use crate::prg::{Delta, Prg};
use garblet_circuits::{Builder, Sign, Visibility};

fn bits(v: u64, w: u32) -> Vec<bool> {
    garblet_circuits::eval::u128_to_bits(v.into(), w)
}

/// x > y and x + y, for the garbler; `wide` evaluator bits (≥ 128 uses the
/// OT extension).
fn program_with(vis: Visibility, wide: u32) -> Circuit {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 64).unwrap();
    let y = b.input("y", Party::Evaluator, wide).unwrap();
    let y64 = y[..64].to_vec();
    let gt = b.gt(&x, &y64, Sign::Unsigned);
    let sum = b.add(&x, &y64);
    b.output("gt", vis, vec![gt]).unwrap();
    b.output("sum", vis, sum).unwrap();
    garblet_circuits::opt::optimize(&b.finish().unwrap())
}

// ----- a malicious evaluator against the semi-honest mode -------------------

/// How a cheating evaluator deviates in message 6
/// (`returned_outputs.rs`). It starts from the honest message: the colour
/// bits of its labels of the garbler's outputs and the hash of those labels.
#[derive(Clone, Copy)]
struct Forgery {
    /// Edits the colour bits it claims and the labels it hashes.
    claim: fn(&mut Vec<bool>, &mut Vec<Block>),
    /// Edits the encoded body: the packed colour bits, then the 32-byte
    /// label hash (the transcript hash follows unless the body is short).
    reframe: fn(&mut Vec<u8>),
}

impl Forgery {
    /// No deviation: the honest message.
    fn none() -> Forgery {
        Forgery { claim: |_, _| {}, reframe: |_| {} }
    }

    /// Other colour bits or other labels hashed, framed honestly.
    fn claim(claim: fn(&mut Vec<bool>, &mut Vec<Block>)) -> Forgery {
        Forgery { claim, ..Forgery::none() }
    }

    /// The honest claim, its bytes edited.
    fn reframe(reframe: fn(&mut Vec<u8>)) -> Forgery {
        Forgery { reframe, ..Forgery::none() }
    }
}

/// A cheating evaluator's session: the honest steps, with the OT receiver
/// and the returned outputs under the test's control. `flips` are the OT
/// receiver's `cheat_flips`: (column, row) for IKNP, (chunk, row) for
/// SoftSpokenOT, the extension `ot` names.
fn cheating_evaluator(
    ch: &mut Channel<MemoryChannel>,
    ot: OtChoice,
    program: &SessionProgram<'_>,
    own_bits: &[bool],
    flips: Vec<(usize, usize)>,
    forgery: Forgery,
) -> Result<(), SessionError> {
    let config = SessionConfig::new().with_ot(ot);
    let mut prg = Prg::from_entropy();
    ch.start_transcript();
    let ours = Hello::new(program, Party::Evaluator, &config, Link::Primary, [1; 32]);
    let peer = hello::exchange(ch, &ours)?;
    let session_id = hello::session_id(&ours, &peer);
    let own = if flips.is_empty() {
        let ot = steps::OtStart::new(&session_id, None);
        steps::ot_receive_labels(ch, &config, &mut prg, own_bits, program.input_label_capacity(), ot)?
    } else {
        // The session's binding: the check sees this receiver's real
        // transcript, and fails on the flips alone.
        let binding = CheckBinding::new(session_id);
        let mut own = vec![Block::ZERO; own_bits.len()];
        match ot {
            OtChoice::KosChecked => {
                let mut ot = OtExtReceiver::<MaliciousReceiver>::setup(ch, &mut prg)?;
                ot.bind_check(binding);
                ot.cheat_flips = flips;
                ot.receive_correlated(ch, own_bits, &mut own)?;
            }
            OtChoice::SoftSpoken => {
                let mut ot = SoftSpokenReceiver::<MaliciousReceiver>::setup(ch, &mut prg)?;
                ot.bind_check(binding);
                ot.cheat_flips = flips;
                ot.receive_correlated(ch, own_bits, &mut own)?;
            }
        }
        Labels(own.into_iter().map(ActiveLabel::from_block).collect())
    };
    let labels = steps::receive_garbler_labels(ch, program, Party::Garbler, own)?;
    let out = steps::receive_tables(ch, config.scheme, program, Party::Garbler, labels, None)?;
    steps::receive_decoder(ch, &out, &program.visible_ranges(Party::Evaluator))?;
    steps::check_transcript(ch)?;
    // Message 6 as the honest evaluator would build it, then forged.
    let mut hashed: Vec<Block> = program
        .visible_ranges(Party::Garbler)
        .into_iter()
        .flat_map(|(_, r)| out.0[r].iter().map(|l| l.as_block()).collect::<Vec<_>>())
        .collect();
    let mut colours: Vec<bool> = hashed.iter().map(|l| l.lsb()).collect();
    (forgery.claim)(&mut colours, &mut hashed);
    let mut hash = LabelHash::new(&session_id, hashed.len());
    hash.absorb(&hashed);
    let mut body = packed_bits::pack(&colours);
    body.extend_from_slice(hash.finish().as_bytes());
    let honest_len = body.len();
    (forgery.reframe)(&mut body);
    ch.send_bytes(&[TAG_OUTPUT_LABELS])?;
    ch.send_bytes(&body)?;
    if body.len() >= honest_len {
        steps::send_transcript(ch)?;
    }
    ch.flush()?;
    // Then the connection closes (short or not, the garbler has all it
    // will read).
    Ok(())
}

/// Runs an honest garbler against [`cheating_evaluator`]; returns the
/// garbler's result.
fn against_honest_garbler(
    ot: OtChoice,
    program: SessionProgram<'static>,
    x: u64,
    y_bits: Vec<bool>,
    flips: Vec<(usize, usize)>,
    forgery: Forgery,
) -> Result<SessionOutcome, SessionError> {
    let (a, b) = memory_pair();
    std::thread::scope(|s| {
        let g = s.spawn(|| {
            SessionConfig::new().with_ot(ot).run(
                Party::Garbler,
                &mut Channel::new(a),
                &program,
                &PartyInputs::new([("x".to_owned(), bits(x, 64))]),
            )
        });
        let mut ch = Channel::new(b);
        let _ = cheating_evaluator(&mut ch, ot, &program, &y_bits, flips, forgery);
        drop(ch);
        g.join().unwrap()
    })
}

#[test]
fn column_varying_choice_bits_are_rejected_by_the_session() {
    // Column 0 (IKNP) and chunk 0 (SoftSpokenOT) hold Δ's lsb, always 1:
    // another choice bit there always changes what the garbler sees.
    let c = program_with(Visibility::Garbler, 256);
    for ot in [OtChoice::KosChecked, OtChoice::SoftSpoken] {
        for flip in [(0, 0), (0, 200), (0, 255)] {
            let program = SessionProgram::from_circuit(&c).unwrap();
            let err = against_honest_garbler(ot, program, 7, vec![true; 256], vec![flip], Forgery::none())
                .unwrap_err();
            assert!(matches!(err, SessionError::Ot(OtError::ConsistencyCheckFailed)), "{ot} {flip:?}: {err}");
            assert!(err.is_cheating_detected());
            assert_eq!(err.fault(), Fault::Peer);
        }
    }
}

/// A hostile evaluator's SoftSpokenOT messages, at the session level: the
/// wrong count, the columns cut short, or an honest OT followed by bytes
/// where the output labels belong. The garbler stops with a typed error
/// naming the peer each time: no panic, no output.
#[test]
fn short_long_and_miscounted_ot_messages_are_typed_errors_at_the_garbler() {
    let c = program_with(Visibility::Garbler, 256);
    for case in ["count", "short", "long"] {
        let (a, b) = memory_pair();
        let program = SessionProgram::from_circuit(&c).unwrap();
        let err = std::thread::scope(|s| {
            let g = s.spawn(|| {
                SessionConfig::new().run(
                    Party::Garbler,
                    &mut Channel::new(a),
                    &program,
                    &PartyInputs::new([("x".to_owned(), bits(7, 64))]),
                )
            });
            let mut ch = Channel::new(b);
            let mut prg = Prg::from_entropy();
            let config = SessionConfig::new();
            let ours = Hello::new(&program, Party::Evaluator, &config, Link::Primary, [1; 32]);
            let peer = hello::exchange(&mut ch, &ours).unwrap();
            let mut ot = SoftSpokenReceiver::<MaliciousReceiver>::setup(&mut ch, &mut prg).unwrap();
            ot.bind_check(CheckBinding::new(hello::session_id(&ours, &peer)));
            match case {
                "count" => ch.send_u64(255).unwrap(),
                "short" => {
                    ch.send_u64(256).unwrap();
                    ch.send_bytes(&[0x5a; 32 * 16 + 7]).unwrap();
                }
                _ => {
                    let mut labels = vec![Block::ZERO; 256];
                    ot.receive_correlated(&mut ch, &[true; 256], &mut labels).unwrap();
                    ch.send_bytes(&[0x00; 100]).unwrap();
                }
            }
            ch.flush().unwrap();
            if case == "long" {
                // Take everything the garbler sends until it gives up.
                let mut sink = [0u8; 1];
                while ch.recv_bytes(&mut sink).is_ok() {}
            }
            drop(ch);
            g.join().unwrap().unwrap_err()
        });
        match case {
            "count" => {
                assert!(matches!(err, SessionError::Ot(OtError::LengthMismatch { .. })), "{case}: {err}")
            }
            "short" => assert!(matches!(err, SessionError::Ot(OtError::Channel(_))), "{case}: {err}"),
            _ => assert!(matches!(err, SessionError::UnexpectedMessage { got: 0, .. }), "{case}: {err}"),
        }
        assert_ne!(err.fault(), Fault::Local, "{case}: {err}");
    }
}

/// An honest garbler against [`cheating_evaluator`] on `x > y` and
/// `x + y` for the garbler (65 output bits: `gt`, then `sum`), x = 5 and
/// y = 9.
fn returned_outputs_against_honest_garbler(forgery: Forgery) -> Result<SessionOutcome, SessionError> {
    let c = program_with(Visibility::Garbler, 64);
    let program = SessionProgram::from_circuit(&c).unwrap();
    against_honest_garbler(OtChoice::default(), program, 5, bits(9, 64), vec![], forgery)
}

/// Claims the evaluator can make without Δ: each is rejected as a label
/// hash mismatch. The strongest flips a colour bit and hashes, for that
/// bit, its own label with the colour flipped too (its best guess of the
/// other label, knowing only that Δ's lsb is 1).
#[test]
fn forged_returned_outputs_are_rejected() {
    let forgeries: [(&str, Forgery); 6] = [
        ("claim the other value of one bit, with the honest hash", Forgery::claim(|c, _| c[0] ^= true)),
        (
            "claim the other value of one bit, hashing its label with the colour flipped",
            Forgery::claim(|c, l| {
                c[3] ^= true;
                l[3] ^= Block::new(1);
            }),
        ),
        (
            "claim the other value of every bit, each label's colour flipped",
            Forgery::claim(|c, l| {
                for (c, l) in c.iter_mut().zip(l.iter_mut()) {
                    *c ^= true;
                    *l ^= Block::new(1);
                }
            }),
        ),
        (
            "honest colours, a label that is neither of the two hashed",
            Forgery::claim(|_, l| l[64] ^= Block::new(0xdead_beef << 40)),
        ),
        ("a hash over all-zero labels", Forgery::claim(|_, l| l.iter_mut().for_each(|b| *b = Block::ZERO))),
        ("the honest claim, one bit of the hash flipped", Forgery::reframe(|body| body[9 + 20] ^= 0x04)),
    ];
    for (what, forgery) in forgeries {
        let err = returned_outputs_against_honest_garbler(forgery).unwrap_err();
        assert!(
            matches!(err, SessionError::BadOutputLabels(OutputDecodeError::LabelHashMismatch)),
            "{what}: {err}"
        );
        assert!(err.is_cheating_detected(), "{what}");
        assert_eq!(err.fault(), Fault::Peer, "{what}");
    }
}

/// The same harness without a deviation is accepted with the right
/// values: the rejections above come from the forgeries.
#[test]
fn honest_returned_outputs_are_accepted_with_the_right_values() {
    let ok = returned_outputs_against_honest_garbler(Forgery::none()).unwrap();
    assert_eq!(ok.outputs, vec![("gt".to_owned(), vec![false]), ("sum".to_owned(), bits(14, 64))]);
}

/// Message 6 cut short, one byte too long, or with a stray bit after the
/// last colour bit: a typed error each, no panic, no hang.
#[test]
fn a_short_long_or_padded_returned_outputs_message_is_a_typed_error() {
    // 65 colour bits: 9 bytes, then the 32-byte hash.
    let cuts: [(&str, Forgery); 2] = [
        ("in the colour bits", Forgery::reframe(|body| body.truncate(5))),
        ("in the hash", Forgery::reframe(|body| body.truncate(9 + 20))),
    ];
    for (what, forgery) in cuts {
        let err = returned_outputs_against_honest_garbler(forgery).unwrap_err();
        assert!(matches!(err, SessionError::Channel(ChannelError::Truncated { .. })), "cut {what}: {err}");
        // A message cut short is the link's end as far as this side can
        // tell: a transport fault, no evidence of cheating.
        assert_eq!(
            (err.fault(), err.link_failure()),
            (Fault::Transport, Some(LinkFailure::Closed)),
            "cut {what}"
        );
        assert!(!err.is_cheating_detected(), "cut {what}");
    }
    // An extra colour byte: the garbler reads it as the hash's first.
    let err =
        returned_outputs_against_honest_garbler(Forgery::reframe(|body| body.insert(9, 0))).unwrap_err();
    assert!(matches!(err, SessionError::BadOutputLabels(OutputDecodeError::LabelHashMismatch)), "{err}");
    // Bit 65 of 72 set: the packing has one encoding.
    let err = returned_outputs_against_honest_garbler(Forgery::reframe(|body| body[8] |= 0x02)).unwrap_err();
    assert!(matches!(err, SessionError::BadOutputLabels(OutputDecodeError::Malformed)), "{err}");
}

/// The batched Δ-recovery attack: in a batch of 129 copies, copy 0 is the
/// reference and copy c uses another choice bit in OT column c − 1 only.
/// Against the unchecked extension each copy's output would reveal Δ's bit
/// c − 1; the session's checked OT rejects it before any table is sent.
///
/// Against SoftSpokenOT the same attack flips one chunk (four columns) per
/// copy: 33 copies, chunk c − 1 in copy c.
#[test]
fn the_batched_delta_recovery_attack_is_rejected() {
    for (ot, copies) in [(OtChoice::KosChecked, 129u64), (OtChoice::SoftSpoken, 33)] {
        batched_delta_recovery(ot, copies);
    }
}

fn batched_delta_recovery(ot: OtChoice, copies: u64) {
    let body = tests::mul_body();
    let flips: Vec<(usize, usize)> = (1..copies as usize).map(|c| (c - 1, c * 8)).collect();
    let (a, e) = memory_pair();
    let result = std::thread::scope(|s| {
        let g = s.spawn(|| {
            let program = SessionProgram::batch(&body, copies).unwrap();
            SessionConfig::new().with_ot(ot).run(
                Party::Garbler,
                &mut Channel::new(a),
                &program,
                &PartyInputs::new([("key".to_owned(), bits(0x5b, 8))]),
            )
        });
        let program = SessionProgram::batch(&body, copies).unwrap();
        let mut ch = Channel::new(e);
        let cheat = cheating_evaluator(
            &mut ch,
            ot,
            &program,
            &vec![false; 8 * copies as usize],
            flips,
            Forgery::none(),
        );
        drop(ch);
        (g.join().unwrap(), cheat)
    });
    let err = result.0.unwrap_err();
    assert!(matches!(err, SessionError::Ot(OtError::ConsistencyCheckFailed)), "{ot}: {err}");
    assert!(result.1.is_err(), "{ot}: the cheater got no tables");
}

/// The attack above is real: against the *unchecked* extension, the label a
/// flipping receiver gets in column i is off by exactly Δ_i in bit i, so
/// each copy's output tells it one bit of Δ. (The session never runs the
/// unchecked extension.)
#[test]
fn column_flips_against_the_unchecked_extension_would_leak_delta() {
    let n = 256;
    let (a, b) = memory_pair();
    let (zero, delta) = std::thread::scope(|s| {
        let g = s.spawn(|| {
            let mut ch = Channel::new(a);
            let mut prg = Prg::from_entropy();
            let delta = Delta::random(&mut prg);
            let mut ot = OtExtSender::<SemiHonest>::setup(&mut ch, &mut prg, delta).unwrap();
            let mut zero = vec![Block::ZERO; n];
            ot.send_correlated(&mut ch, &mut zero).unwrap();
            (zero, ot.delta().as_block())
        });
        let mut ch = Channel::new(b);
        let mut prg = Prg::from_entropy();
        let mut ot = OtExtReceiver::<SemiHonest>::setup(&mut ch, &mut prg).unwrap();
        ot.cheat_flips = (0..128).map(|i| (i, i + 100)).collect();
        let mut labels = vec![Block::ZERO; n];
        ot.receive_correlated(&mut ch, &vec![false; n], &mut labels).unwrap();
        let (zero, delta) = g.join().unwrap();
        for i in 0..128 {
            let off = (labels[i + 100] ^ zero[i + 100]).to_u128();
            let delta_bit = (delta.to_u128() >> i) & 1;
            assert_eq!(off, delta_bit << i, "column {i}: the offset is Δ's bit {i}");
        }
        (zero, delta)
    });
    assert_ne!(zero[0], delta);
}

// ----- a malicious garbler against dual execution ---------------------------

/// How a cheating party garbles its circuit.
#[derive(Clone, Copy, Debug)]
enum Cheat {
    /// Garbles another function of the same shape.
    OtherFunction,
    /// Flips one bit of one table row, and fixes the stream checksum so
    /// that the corruption is not caught before the equality check.
    FlipTableRow { byte: usize },
    /// Flips a table bit without fixing the checksum.
    FlipTableRowVisibly,
    /// Flips one bit in every 16-byte row of the stream (and fixes the
    /// checksum): some flipped row is certainly on the evaluation path.
    FlipEveryRow,
    /// Garbles with a wrong zero label for one of the honest party's OT
    /// input bits (a selective failure on that choice bit).
    WrongOtLabel { bit: usize },
    /// Sends the other label for one of its own input bits.
    WrongOwnLabel { bit: usize },
    /// Sends a flipped decoding bit, to make the honest party decode the
    /// wrong value.
    WrongDecoder { bit: usize },
}

/// The cheater's garbling direction: the honest steps, one deviation.
#[allow(clippy::too_many_arguments)]
fn cheating_garble(
    ch: &mut Channel<MemoryChannel>,
    cheat: Cheat,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    other: &SessionProgram<'_>,
    session_id: &[u8; 32],
    gp: Party,
    own_bits: &[bool],
    prg: &mut Prg,
) -> Result<Vec<crate::garble::GarbledOutputs>, SessionError> {
    {
        let delta = Delta::random(prg);
        let ot = steps::OtStart::new(session_id, None);
        let (mut from_ot, _state) =
            steps::ot_send_labels(ch, config, prg, &delta, (program, gp), ot)?.into_parts();
        if let Cheat::WrongOtLabel { bit } = cheat {
            from_ot[bit] ^= Block::new(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
        }
        let zero = steps::input_zero_labels(program, gp, prg, from_ot);
        let mut bits = own_bits.to_vec();
        if let Cheat::WrongOwnLabel { bit } = cheat {
            bits[bit] ^= true;
        }
        steps::send_garbler_labels(ch, program, gp, &zero, &delta, &bits)?;
        let plan_of = if matches!(cheat, Cheat::OtherFunction) { other } else { program };
        let encoder = Encoder::new(steps::copy_delta(&delta), zero.to_vec(), prg);
        let mut tables = Vec::new();
        let garble = |plan: &crate::garble::Plan<'_>, tables: &mut Vec<u8>| match config.scheme {
            SchemeChoice::HalfGates => Garbler::new().garble(plan, &encoder, tables),
            _ => Garbler::with_scheme(ThreeHalves::new()).garble(plan, &encoder, tables),
        };
        let garbled = garble(&plan_of.plan, &mut tables)?;
        if matches!(cheat, Cheat::OtherFunction) {
            // Three-halves' stream length follows the schedule's batches,
            // not only the AND count: a cheater fits the other function's
            // stream to the honest length (trailer and checksum redone), so
            // that it reaches the equality check.
            let mut honest = Vec::new();
            garble(&program.plan, &mut honest)?;
            let body = honest.len() - 32;
            tables.truncate(tables.len() - 32);
            tables.resize(body, 0);
            // The checksum: the XOR of the 16-byte blocks before the trailer.
            let sum = tables.chunks(16).fold(0u128, |acc, c| {
                let mut b = [0u8; 16];
                b[..c.len()].copy_from_slice(c);
                acc ^ u128::from_le_bytes(b)
            });
            tables.extend_from_slice(&honest[body..body + 16]);
            tables.extend_from_slice(&sum.to_le_bytes());
        }
        let len = tables.len();
        match cheat {
            Cheat::FlipTableRow { byte } => {
                // Within the tables, before the 32-byte trailer.
                let byte = byte % (len - 32);
                tables[byte] ^= 0x10;
                // The checksum is the XOR of the tables' 16-byte blocks, in
                // the trailer's last 16 bytes.
                tables[len - 16 + byte % 16] ^= 0x10;
            }
            Cheat::FlipTableRowVisibly => tables[40] ^= 1,
            Cheat::FlipEveryRow => {
                let rows = (len - 32) / 16;
                for r in 0..rows {
                    tables[16 * r] ^= 0x10;
                }
                if rows % 2 == 1 {
                    tables[len - 16] ^= 0x10;
                }
            }
            _ => {}
        }
        ch.send_bytes(&[TAG_TABLES])?;
        ch.send_bytes(&tables)?;
        let garbled = vec![garbled];
        if let Cheat::WrongDecoder { bit } = cheat {
            let mut bits = garbled[0].decoder().bits().to_vec();
            bits[bit] ^= true;
            let decoder = crate::garble::OutputDecoder::from_bits(bits);
            ch.send_bytes(&[wire::TAG_DECODER])?;
            for (_, range) in program.output_ranges() {
                ch.send_bytes(&decoder.range(range).unwrap().to_bytes())?;
            }
            ch.flush()?;
        } else {
            steps::send_decoder(ch, &garbled, &program.output_ranges())?;
        }
        Ok(garbled)
    }
}

/// One party of a dual-execution run that cheats in its garbling and is
/// honest otherwise (it evaluates honestly and runs the equality check).
fn cheating_dualex_party(
    role: Party,
    cheat: Cheat,
    primary: MemoryChannel,
    secondary: MemoryChannel,
    circuit: &Circuit,
    other: &Circuit,
    inputs: &PartyInputs,
) -> Result<SessionOutcome, SessionError> {
    let config = SessionConfig::new().with_security(SecurityMode::DualExecution);
    let program = SessionProgram::for_dual_execution(circuit)?;
    let other = SessionProgram::for_dual_execution(other)?;
    let mut primary = Channel::new(primary);
    let mut own = Prepared::new(&config, &program, inputs, role)?;
    let (session_id, mut secondary) =
        dualex::handshake(&mut primary, || Ok(secondary), role, &config, &program, &mut own.prg)?;
    let (mut gprg, mut eprg) = (Prg::from_entropy(), Prg::from_entropy());
    let (garbled, evaluated) = {
        let (g_ch, e_ch) = match role {
            Party::Garbler => (&mut primary, &mut secondary),
            Party::Evaluator => (&mut secondary, &mut primary),
        };
        let bits = own.bits.to_vec();
        std::thread::scope(|s| {
            let g = s.spawn(|| {
                cheating_garble(g_ch, cheat, &config, &program, &other, &session_id, role, &bits, &mut gprg)
            });
            let e =
                dualex::evaluate_peer(e_ch, &config, &program, &session_id, role.peer(), &bits, &mut eprg);
            (g.join().unwrap(), e)
        })
    };
    let (garbled, evaluated) = (garbled?, evaluated?);
    let outputs = own.conclude(&mut primary, role, &program, &session_id, &garbled, &evaluated)?;
    Ok(SessionOutcome::new(&program, outputs, &primary, Instant::now()))
}

/// Runs an honest party against a cheater in dual execution; returns the
/// honest party's result.
fn honest_against(
    cheater: Party,
    cheat: Cheat,
    x: u64,
    y: u64,
    vis: Visibility,
) -> Result<SessionOutcome, SessionError> {
    let c = program_with(vis, 64);
    // The other function: y > x and x + !y, the same shape and AND count
    // (so its stream has the honest length and reaches the check).
    let mut b = Builder::new();
    let xi = b.input("x", Party::Garbler, 64).unwrap();
    let yi = b.input("y", Party::Evaluator, 64).unwrap();
    let lt = b.gt(&yi, &xi, Sign::Unsigned);
    let not_y: Vec<_> = yi.iter().map(|&w| b.not(w)).collect();
    let other_sum = b.add(&xi, &not_y);
    b.output("gt", vis, vec![lt]).unwrap();
    b.output("sum", vis, other_sum).unwrap();
    let other = garblet_circuits::opt::optimize(&b.finish().unwrap());
    assert_eq!(other.and_count(), c.and_count());
    let inputs_of = |p: Party| match p {
        Party::Garbler => PartyInputs::new([("x".to_owned(), bits(x, 64))]),
        Party::Evaluator => PartyInputs::new([("y".to_owned(), bits(y, 64))]),
    };
    let (p_g, p_e) = memory_pair();
    let (s_g, s_e) = memory_pair();
    let ((cp, cs), (hp, hs)) = match cheater {
        Party::Garbler => ((p_g, s_g), (p_e, s_e)),
        Party::Evaluator => ((p_e, s_e), (p_g, s_g)),
    };
    let honest = cheater.peer();
    std::thread::scope(|s| {
        let cheating =
            s.spawn(|| cheating_dualex_party(cheater, cheat, cp, cs, &c, &other, &inputs_of(cheater)));
        let config = SessionConfig::new().with_security(SecurityMode::DualExecution);
        let program = SessionProgram::for_dual_execution(&c).unwrap();
        let r =
            config.run_dual_execution(honest, &mut Channel::new(hp), || Ok(hs), &program, &inputs_of(honest));
        let _ = cheating.join().unwrap();
        r
    })
}

/// The honest party either aborts naming the cheat, or outputs the right
/// values; it never outputs a wrong one.
fn assert_aborts_or_correct(r: Result<SessionOutcome, SessionError>, x: u64, y: u64, what: &str) -> bool {
    match r {
        Err(e) => {
            assert!(
                e.is_cheating_detected(),
                "{what}: the honest party stopped, but not as a detected cheat: {e}"
            );
            true
        }
        Ok(o) => {
            for (name, v) in &o.outputs {
                let want = match name.as_str() {
                    "gt" => vec![x > y],
                    "sum" => bits(x.wrapping_add(y), 64),
                    other => panic!("unexpected output {other}"),
                };
                assert_eq!(v, &want, "{what}: the honest party accepted a wrong `{name}`");
            }
            false
        }
    }
}

#[test]
fn a_garbler_of_another_function_is_caught() {
    for cheater in [Party::Garbler, Party::Evaluator] {
        let honest_only = match cheater {
            Party::Garbler => Visibility::Evaluator,
            Party::Evaluator => Visibility::Garbler,
        };
        for vis in [Visibility::Both, honest_only] {
            let r = honest_against(cheater, Cheat::OtherFunction, 1_000, 2_000, vis);
            // x < y and x - y differ from x > y and x + y here: abort.
            assert!(assert_aborts_or_correct(r, 1_000, 2_000, "other function"), "{cheater} {vis:?}");
        }
    }
}

#[test]
fn a_flipped_table_row_is_caught_or_harmless() {
    for cheater in [Party::Garbler, Party::Evaluator] {
        // One flipped row is on the evaluation path or not, depending on
        // the run's random permute bits: abort or correct, never wrong.
        for byte in [0usize, 17, 100, 1_000, 2_000, 4_000] {
            let what = format!("{cheater} flips table byte {byte}");
            assert_aborts_or_correct(
                honest_against(cheater, Cheat::FlipTableRow { byte }, 123_456, 654_321, Visibility::Both),
                123_456,
                654_321,
                &what,
            );
        }
        // Every row flipped: certainly caught.
        let every = honest_against(cheater, Cheat::FlipEveryRow, 123_456, 654_321, Visibility::Both);
        assert!(
            assert_aborts_or_correct(every, 123_456, 654_321, "every row"),
            "{cheater}: every row flipped"
        );
        let r = honest_against(cheater, Cheat::FlipTableRowVisibly, 1, 2, Visibility::Both);
        let err = r.unwrap_err();
        assert!(matches!(err, SessionError::Eval(crate::garble::GarbledEvalError::Corrupt)), "{err}");
    }
}

#[test]
fn a_wrong_input_label_is_caught_or_harmless() {
    for cheater in [Party::Garbler, Party::Evaluator] {
        let mut aborted = 0;
        for bit in [0usize, 5, 63] {
            for cheat in [Cheat::WrongOtLabel { bit }, Cheat::WrongOwnLabel { bit }] {
                let what = format!("{cheater}: {cheat:?}");
                aborted += usize::from(assert_aborts_or_correct(
                    honest_against(cheater, cheat, 0xffff_0000, 0x0000_ffff, Visibility::Both),
                    0xffff_0000,
                    0x0000_ffff,
                    &what,
                ));
            }
        }
        assert!(aborted > 0, "{cheater}: a garbage OT label must abort");
    }
}

#[test]
fn a_wrong_decoding_bit_is_caught() {
    for cheater in [Party::Garbler, Party::Evaluator] {
        for bit in [0usize, 1, 64] {
            let r = honest_against(cheater, Cheat::WrongDecoder { bit }, 77, 5, Visibility::Both);
            let err = r.unwrap_err();
            assert!(matches!(err, SessionError::EqualityCheckFailed), "{cheater} bit {bit}: {err}");
        }
    }
}

#[test]
fn honest_dual_execution_still_passes_through_the_attack_harness() {
    // The harness with a no-op deviation (flip and unflip) agrees with the
    // honest run: the tests above fail because of the cheat, not the harness.
    let c = program_with(Visibility::Both, 64);
    let (g, e) = dualex_pair(
        &c,
        &c,
        PartyInputs::new([("x".to_owned(), bits(10, 64))]),
        PartyInputs::new([("y".to_owned(), bits(20, 64))]),
    );
    assert!(!assert_aborts_or_correct(g, 10, 20, "honest garbler"));
    assert!(!assert_aborts_or_correct(e, 10, 20, "honest evaluator"));
}
