//! The role-neutral phases of a run. A mode is a sequence of these calls:
//! the semi-honest garbler and evaluator call each once, in order; dual
//! execution calls the same phases twice, once per direction, with the
//! roles swapped.
//!
//! Each phase reads and writes one [`Channel`], knows every count from the
//! program both sides hold, and wipes the secrets it made when it returns
//! (buffers of labels are `Zeroizing`).

use super::config::{OtChoice, Phase, SchemeChoice, SessionConfig};
use super::error::SessionError;
use super::hello::{self, Hello, Link};
use super::program::{InputDesc, SessionProgram};
use super::wire::{
    expect_tag, Progress, TableSink, TableSource, TAG_DECODER, TAG_GARBLER_INPUTS, TAG_TABLES,
};
use crate::block::Block;
use crate::channel::Channel;
use crate::garble::{
    ActiveLabel, Encoder, Evaluator, GarbledOutputs, Garbler, GarblingScheme, KnownValues, OutputDecodeError,
    OutputDecoder, ThreeHalves,
};
use crate::ot::{
    base, endemic, CheckBinding, CorrelatedOtReceiver, CorrelatedOtSender, MaliciousReceiver, OtExtReceiver,
    OtExtSender, SoftSpokenReceiver, SoftSpokenSender,
};
use crate::prg::{Delta, Prg};
use garblet_circuits::Party;
use std::io::{Read, Write};
use std::ops::Range;
use zeroize::{Zeroize, Zeroizing};

/// Output ranges, by output index, in the concatenated output labels.
pub(crate) type Ranges = [(usize, Range<usize>)];

/// Decoded outputs, by output index.
pub(crate) type Decoded = Vec<(usize, Vec<bool>)>;

/// Active labels held by an evaluator; wiped when dropped.
pub(crate) struct Labels(pub(crate) Vec<ActiveLabel>);

impl Drop for Labels {
    fn drop(&mut self) {
        bytemuck::cast_slice_mut::<ActiveLabel, u8>(&mut self.0).zeroize();
    }
}

/// A copy of Δ under its own zeroising owner.
pub(crate) fn copy_delta(delta: &Delta) -> Delta {
    Delta::from_block(delta.as_block())
}

/// A party's first message of the OT that carries the evaluator's inputs,
/// when it already went out with that party's hello ([`open`] with
/// `pipeline`). The evaluator starts the OT in its hello's flight on both
/// paths, so that an evaluator that connects starts it in its first
/// flight; below the extension threshold the garbler's `A` goes with its
/// own hello too (the two Masny–Rindal messages are independent).
pub(crate) enum EarlyOt {
    /// With OT extension: Chou–Orlandi's `A` (the evaluator is the base
    /// OTs' sender).
    BaseSender(base::SenderStart),
    /// Below the extension threshold: the Masny–Rindal receiver's message,
    /// one OT per input bit (the evaluator is their receiver).
    DirectReceiver(endemic::ReceiverStart),
    /// Below the extension threshold, the garbler's side: the Masny–Rindal
    /// sender's `A`, which depends on nothing from the evaluator.
    DirectSender(endemic::SenderStart),
}

/// What a direction's OT starts from: its first message if it already went
/// out with the hello ([`EarlyOt`]), and the session id (`hello::session_id`),
/// which both sides know once the hellos are exchanged: the direct OTs'
/// keys and the extension's consistency check are bound to it, so a
/// receiver cannot prepare its check's transcript before the session (see
/// `ot::check`).
pub(crate) struct OtStart {
    /// The OT's first message, if it already went out.
    pub(crate) early: Option<EarlyOt>,
    /// The session id.
    pub(crate) session_id: [u8; 32],
}

impl OtStart {
    /// A direction of the session `session_id`, with the OT's first
    /// message `early` if it already went out.
    pub(crate) fn new(session_id: &[u8; 32], early: Option<EarlyOt>) -> Self {
        OtStart { early, session_id: *session_id }
    }

    /// The extension check's binding.
    fn binding(&self) -> CheckBinding {
        CheckBinding::new(self.session_id)
    }
}

/// Whether `n` evaluator input bits go through OT extension.
fn use_extension(config: &SessionConfig, n: usize) -> bool {
    n >= config.ot_extension_threshold.clamp(1, base::MAX_BASE_OTS)
}

/// Evaluator inputs by OT, the garbler's side: returns the zero labels of
/// the evaluator's `n` input bits, with correlation Δ. Secure against a
/// malicious receiver on both paths: the extension (SoftSpokenOT or IKNP,
/// `config.ot`) always runs the consistency check (`MaliciousReceiver`),
/// and below the threshold every bit is its own Masny–Rindal OT
/// (`ot::endemic`), which a receiver cannot make inconsistent.
///
/// `ot`: the session id the keys and the check are bound to, and `A` if it
/// went out with the hello ([`OtStart`]). `n` is the peer's input bits of
/// `program` in the direction `gp` garbles; the labels are allocated with
/// room for every input bit, so that [`input_zero_labels`] completes them
/// where they are, and for a single run with room for its label file, which
/// they become (no copy of 12.9 M labels, and no fresh pages to fault in,
/// on a 100,000-record run).
pub(crate) fn ot_send_labels<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    prg: &mut Prg,
    delta: &Delta,
    (program, gp): (&SessionProgram<'_>, Party),
    ot: OtStart,
) -> Result<SentOt, SessionError> {
    let n = program.input_bits_of(gp.peer());
    let mut zero = Zeroizing::new(Vec::with_capacity(program.input_label_capacity()));
    zero.resize(n, Block::ZERO);
    if n == 0 {
        return Ok(SentOt { zero, state: None });
    }
    let state = if use_extension(config, n) {
        let send = match config.ot {
            OtChoice::KosChecked => extension_send::<OtExtSender<MaliciousReceiver>, T>,
            OtChoice::SoftSpoken => extension_send::<SoftSpokenSender<MaliciousReceiver>, T>,
        };
        Some(send(ch, config, prg, delta, ot.binding(), &mut zero)?)
    } else {
        // One random OT per bit, derandomised into a correlated OT by
        // sending k0 ⊕ k1 ⊕ Δ: the receiver holds one of k0, k1 and so
        // learns exactly one of the two labels.
        config.enter(Phase::BaseOt, ch);
        let started = match ot.early {
            Some(EarlyOt::DirectSender(s)) => s,
            Some(EarlyOt::BaseSender(_) | EarlyOt::DirectReceiver(_)) => return Err(SessionError::Internal),
            None => endemic::SenderStart::send(ch, prg)?,
        };
        let keys = started.finish(ch, n, &ot.session_id)?;
        let corrections: Zeroizing<Vec<Block>> =
            Zeroizing::new(keys.iter().map(|[k0, k1]| *k0 ^ *k1 ^ delta.as_block()).collect());
        for (z, [k0, _]) in zero.iter_mut().zip(keys.iter()) {
            *z = *k0;
        }
        ch.send_blocks(&corrections)?;
        None
    };
    Ok(SentOt { zero, state })
}

/// The garbler's side of the OT: the zero labels of the peer's input bits,
/// and the OT extension's sender state. That state holds megabytes of
/// secrets, wiped when it is dropped. A small one ([`SentOt::into_parts`])
/// is kept until the tables are sent, so that its wipe (1 ms on the
/// 128,000 OTs of 1,000 × AES, measured) is not on the path to the first
/// table; a large one is wiped and freed before the tables, as memory
/// follows what is live (12.9 M input bits, a 100,000-record model run,
/// held 200 MB more through the tables). Every path wipes it: on an error
/// it is dropped with the rest.
pub(crate) struct SentOt {
    /// The zero label of each of the peer's input bits.
    pub(crate) zero: Zeroizing<Vec<Block>>,
    state: Option<Box<dyn Send>>,
}

/// The largest OT output (its labels' bytes) kept until the tables are
/// sent: 8 MiB, 524,288 input bits.
const KEPT_OT_BYTES: usize = 8 << 20;

/// The OT extension's sender state, wiped when dropped.
pub(crate) type OtState = Box<dyn Send>;

impl SentOt {
    /// The zero labels, and the extension's state while the labels take at
    /// most [`KEPT_OT_BYTES`] (for the caller to drop after the tables); a
    /// larger state is dropped (wiped and freed) here.
    pub(crate) fn into_parts(self) -> (Zeroizing<Vec<Block>>, Option<OtState>) {
        let SentOt { zero, state } = self;
        let state = state.filter(|_| zero.len() * size_of::<Block>() <= KEPT_OT_BYTES);
        (zero, state)
    }
}

/// The garbler's side of the OT extension, whichever the construction;
/// returns its state, for the caller to drop (and so wipe) later.
fn extension_send<O: CorrelatedOtSender + Send + 'static, T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    prg: &mut Prg,
    delta: &Delta,
    binding: CheckBinding,
    zero: &mut [Block],
) -> Result<Box<dyn Send>, SessionError> {
    config.enter(Phase::BaseOt, ch);
    let mut ot = O::setup(ch, prg, copy_delta(delta))?;
    ot.bind_check(binding);
    config.enter(Phase::OtExtension, ch);
    ot.send_correlated(ch, zero)?;
    Ok(Box::new(ot))
}

/// The evaluator's side of the OT extension, whichever the construction.
fn extension_receive<O: CorrelatedOtReceiver, T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    prg: &mut Prg,
    bits: &[bool],
    started: Option<base::SenderStart>,
    binding: CheckBinding,
    labels: &mut [Block],
) -> Result<(), SessionError> {
    config.enter(Phase::BaseOt, ch);
    let mut ot = match started {
        Some(s) => O::setup_started(ch, prg, s)?,
        None => O::setup(ch, prg)?,
    };
    ot.bind_check(binding);
    config.enter(Phase::OtExtension, ch);
    ot.receive_correlated(ch, bits, labels)?;
    Ok(())
}

/// Evaluator inputs by OT, the evaluator's side: the active label of each
/// of its input bits (`ot` as for [`ot_send_labels`], with the OT's first
/// message if it went out with the hello), with room for `capacity` labels
/// (`SessionProgram::input_label_capacity`: [`receive_garbler_labels`]
/// completes them in place, and a single run takes them over).
pub(crate) fn ot_receive_labels<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    prg: &mut Prg,
    bits: &[bool],
    capacity: usize,
    ot: OtStart,
) -> Result<Labels, SessionError> {
    let mut own = Labels(Vec::with_capacity(capacity.max(bits.len())));
    own.0.resize(bits.len(), ActiveLabel::default());
    if bits.is_empty() {
        return Ok(own);
    }
    let labels: &mut [Block] = bytemuck::cast_slice_mut(&mut own.0);
    let binding = ot.binding();
    match (use_extension(config, bits.len()), ot.early) {
        (true, early) => {
            let started = match early {
                Some(EarlyOt::BaseSender(s)) => Some(s),
                Some(EarlyOt::DirectReceiver(_) | EarlyOt::DirectSender(_)) => {
                    return Err(SessionError::Internal)
                }
                None => None,
            };
            let receive = match config.ot {
                OtChoice::KosChecked => extension_receive::<OtExtReceiver<MaliciousReceiver>, T>,
                OtChoice::SoftSpoken => extension_receive::<SoftSpokenReceiver<MaliciousReceiver>, T>,
            };
            receive(ch, config, prg, bits, started, binding, labels)?;
        }
        (false, early) => {
            config.enter(Phase::BaseOt, ch);
            let started = match early {
                Some(EarlyOt::DirectReceiver(s)) => s,
                Some(EarlyOt::BaseSender(_) | EarlyOt::DirectSender(_)) => {
                    return Err(SessionError::Internal)
                }
                None => endemic::ReceiverStart::send(ch, prg, bits)?,
            };
            let keys = started.finish(ch, &ot.session_id)?;
            let mut corrections = Zeroizing::new(vec![Block::ZERO; bits.len()]);
            ch.recv_blocks(&mut corrections)?;
            for (((l, k), c), &b) in labels.iter_mut().zip(keys.iter()).zip(corrections.iter()).zip(bits) {
                *l = *k ^ c.select(b);
            }
        }
    }
    Ok(own)
}

/// Spreads `labels[..]` (the labels of the inputs of `peer`, in wire order,
/// one after the other) in place to those inputs' places among every input
/// (`inputs`, in wire order), growing `labels` to every input bit; returns the ranges
/// left for the other party's inputs, in wire order. The first of `peer`'s
/// inputs moves least, so they are moved last to first: no input's labels
/// are overwritten before they move.
fn spread_in_place<L: bytemuck::Pod + Default>(
    inputs: &[InputDesc],
    peer: Party,
    labels: &mut Vec<L>,
) -> Vec<Range<usize>> {
    let mut places = Vec::new();
    let (mut offset, mut taken) = (0usize, 0usize);
    for InputDesc { owner, width, .. } in inputs {
        let w = *width as usize;
        places.push((*owner == peer, taken, offset..offset + w));
        if *owner == peer {
            taken += w;
        }
        offset += w;
    }
    if labels.capacity() < offset {
        // The session allocates the room; without it, grow by hand, not by
        // a reallocation that would free the old buffer unwiped.
        let mut grown = Vec::with_capacity(offset);
        grown.extend_from_slice(labels);
        bytemuck::cast_slice_mut::<L, u8>(labels).zeroize();
        *labels = grown;
    }
    labels.resize(offset, L::default());
    let mut others = Vec::new();
    for (theirs, from, to) in places.into_iter().rev() {
        if theirs {
            labels.copy_within(from..from + to.len(), to.start);
        } else {
            others.push(to);
        }
    }
    others.reverse();
    others
}

/// The garbler's zero labels of every input wire, in wire order: its own
/// drawn from `prg`, the evaluator's those fixed by the OT (`from_ot`,
/// completed in place). `gp` is the program party that garbles in this
/// direction.
pub(crate) fn input_zero_labels(
    program: &SessionProgram<'_>,
    gp: Party,
    prg: &mut Prg,
    mut from_ot: Zeroizing<Vec<Block>>,
) -> Zeroizing<Vec<Block>> {
    for own in spread_in_place(program.inputs(), gp.peer(), &mut from_ot) {
        prg.fill_blocks(&mut from_ot[own]);
    }
    from_ot
}

/// G → E: the active labels of the garbler's own input bits, zero ⊕ bit·Δ.
pub(crate) fn send_garbler_labels<T: Read + Write>(
    ch: &mut Channel<T>,
    program: &SessionProgram<'_>,
    gp: Party,
    zero: &[Block],
    delta: &Delta,
    own_bits: &[bool],
) -> Result<(), SessionError> {
    ch.send_bytes(&[TAG_GARBLER_INPUTS])?;
    let (mut taken, mut offset) = (0usize, 0usize);
    for InputDesc { owner: party, width, .. } in program.inputs() {
        let w = *width as usize;
        if *party == gp {
            let labels: Zeroizing<Vec<Block>> = Zeroizing::new(
                zero[offset..offset + w]
                    .iter()
                    .zip(&own_bits[taken..taken + w])
                    .map(|(z, &bit)| *z ^ delta.as_block().select(bit))
                    .collect(),
            );
            ch.send_blocks(&labels)?;
            taken += w;
        }
        offset += w;
    }
    Ok(())
}

/// E: receives the garbler's input labels and merges them with its own
/// (`own`, from the OT, completed in place) into the active labels of every
/// input wire.
pub(crate) fn receive_garbler_labels<T: Read + Write>(
    ch: &mut Channel<T>,
    program: &SessionProgram<'_>,
    gp: Party,
    mut own: Labels,
) -> Result<Labels, SessionError> {
    expect_tag(ch, TAG_GARBLER_INPUTS, "the garbler's input labels")?;
    let mut theirs = Zeroizing::new(vec![Block::ZERO; program.input_bits_of(gp)]);
    ch.recv_blocks(&mut theirs)?;
    if own.0.len() != program.input_bits_of(gp.peer()) {
        return Err(SessionError::Internal);
    }
    let mut g = theirs.iter();
    for range in spread_in_place(program.inputs(), gp.peer(), &mut own.0) {
        for (label, from) in own.0[range].iter_mut().zip(&mut g) {
            *label = ActiveLabel::from_block(*from);
        }
    }
    Ok(own)
}

/// G → E: the garbled tables of every run of the plan, streamed, under
/// `scheme`. Returns what the garbler keeps of the outputs.
///
/// The AND gates that read one of `gp`'s input wires that no gate writes
/// are generator half gates ([`SessionProgram::half_gate_wires`]), garbled
/// with `gp`'s bits `own_bits`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn send_tables<T: Read + Write>(
    ch: &mut Channel<T>,
    scheme: SchemeChoice,
    program: &SessionProgram<'_>,
    (gp, own_bits): (Party, &[bool]),
    zero: Zeroizing<Vec<Block>>,
    delta: &Delta,
    prg: &mut Prg,
    progress: Option<Progress<'_>>,
) -> Result<Vec<GarbledOutputs>, SessionError> {
    let known = program.half_gate_wires(gp);
    let values = program.half_gate_values(gp, own_bits);
    match scheme {
        SchemeChoice::HalfGates => send_tables_with(
            Garbler::new().generator_half_gates(known),
            ch,
            program,
            (gp, values),
            zero,
            delta,
            prg,
            progress,
        ),
        SchemeChoice::ThreeHalves => send_tables_with(
            Garbler::with_scheme(ThreeHalves::new()).generator_half_gates(known),
            ch,
            program,
            (gp, values),
            zero,
            delta,
            prg,
            progress,
        ),
    }
}

/// [`send_tables`] with a given garbler.
#[allow(clippy::too_many_arguments)]
fn send_tables_with<T: Read + Write, G: GarblingScheme>(
    mut garbler: Garbler<G>,
    ch: &mut Channel<T>,
    program: &SessionProgram<'_>,
    (gp, values): (Party, KnownValues),
    mut zero: Zeroizing<Vec<Block>>,
    delta: &Delta,
    prg: &mut Prg,
    progress: Option<Progress<'_>>,
) -> Result<Vec<GarbledOutputs>, SessionError> {
    ch.send_bytes(&[TAG_TABLES])?;
    ch.pause_transcript(true);
    let mut garbled = Vec::new();
    let rate = table_rate(program, gp, garbler.scheme());
    let mut sink = TableSink { ch: &mut *ch, written: 0, progress, rate };
    // One garbler for every run: its label buffers are reused.
    for k in 0..program.instances() {
        garbler = garbler.first_and_index(program.first_and(k));
        // A single run's label file may be the labels themselves (wiped
        // with the run); otherwise the run copies them.
        let encoder = Encoder::new(copy_delta(delta), program.instance_labels(k, &mut zero), prg)
            .with_known_values(values.clone());
        garbled.push(garbler.garble_taking(&program.plan, encoder, &mut sink)?);
    }
    ch.pause_transcript(false);
    Ok(garbled)
}

/// `(AND gates, bytes of tables)` of the whole program under `scheme`,
/// with `gp`'s generator half gates at 16 bytes (for progress reports).
fn table_rate<G: GarblingScheme>(program: &SessionProgram<'_>, gp: Party, scheme: &G) -> (u64, u64) {
    let ands = program.and_count();
    let half = program.half_gate_count(gp).min(ands);
    let other = u128::from(ands - half) * scheme.material_len(8) as u128 / 8;
    (ands, (u128::from(16 * half) + other).min(u128::from(u64::MAX)) as u64)
}

/// E: evaluates the streamed tables of every run under `scheme`; returns
/// the active labels of all outputs, concatenated.
/// `gp` is the party that garbles (whose unwritten input wires make
/// generator half gates, as in [`send_tables`]).
pub(crate) fn receive_tables<T: Read + Write>(
    ch: &mut Channel<T>,
    scheme: SchemeChoice,
    program: &SessionProgram<'_>,
    gp: Party,
    inputs: Labels,
    progress: Option<Progress<'_>>,
) -> Result<Labels, SessionError> {
    let known = program.half_gate_wires(gp);
    match scheme {
        SchemeChoice::HalfGates => receive_tables_with(
            Evaluator::new().generator_half_gates(known),
            ch,
            (program, gp),
            inputs,
            progress,
        ),
        SchemeChoice::ThreeHalves => receive_tables_with(
            Evaluator::with_scheme(ThreeHalves::new()).generator_half_gates(known),
            ch,
            (program, gp),
            inputs,
            progress,
        ),
    }
}

/// [`receive_tables`] with a given evaluator.
fn receive_tables_with<T: Read + Write, G: GarblingScheme>(
    mut evaluator: Evaluator<G>,
    ch: &mut Channel<T>,
    (program, gp): (&SessionProgram<'_>, Party),
    mut inputs: Labels,
    progress: Option<Progress<'_>>,
) -> Result<Labels, SessionError> {
    expect_tag(ch, TAG_TABLES, "the garbled circuit")?;
    ch.pause_transcript(true);
    let mut out = Labels(Vec::with_capacity(program.output_bits()));
    let rate = table_rate(program, gp, evaluator.scheme());
    let mut source = TableSource { ch: &mut *ch, read: 0, progress, rate };
    for k in 0..program.instances() {
        evaluator = evaluator.first_and_index(program.first_and(k));
        // As for the garbler; the labels are wiped either way.
        let labels = program.instance_labels(k, &mut inputs.0);
        out.0.extend(evaluator.evaluate_taking(&program.plan, labels, &mut source)?);
    }
    ch.pause_transcript(false);
    Ok(out)
}

/// G → E: decoding bits of the outputs in `ranges` (and only those).
pub(crate) fn send_decoder<T: Read + Write>(
    ch: &mut Channel<T>,
    garbled: &[GarbledOutputs],
    ranges: &Ranges,
) -> Result<(), SessionError> {
    ch.send_bytes(&[TAG_DECODER])?;
    let decoder =
        OutputDecoder::from_bits(garbled.iter().flat_map(|g| g.decoder().bits().to_vec()).collect());
    for (_, range) in ranges {
        let part = decoder.range(range.clone()).ok_or(SessionError::Decoder(OutputDecodeError::Count {
            expected: range.end,
            got: decoder.len(),
        }))?;
        ch.send_bytes(&part.to_bytes())?;
    }
    ch.flush()?;
    Ok(())
}

/// E: receives the decoding bits of the outputs in `ranges` and decodes
/// its active labels with them.
pub(crate) fn receive_decoder<T: Read + Write>(
    ch: &mut Channel<T>,
    out_labels: &Labels,
    ranges: &Ranges,
) -> Result<Decoded, SessionError> {
    expect_tag(ch, TAG_DECODER, "the output decoding bits")?;
    let mut outputs = Vec::new();
    for (k, range) in ranges {
        let n = range.len();
        let mut bytes = vec![0u8; n.div_ceil(8)];
        ch.recv_bytes(&mut bytes)?;
        let decoder = OutputDecoder::from_bytes(&bytes, n).map_err(SessionError::Decoder)?;
        let bits = decoder.decode(&out_labels.0[range.clone()]).map_err(SessionError::Decoder)?;
        outputs.push((*k, bits));
    }
    Ok(outputs)
}

/// Sends the hash of everything this side sent so far (table bodies
/// excepted), so the peer can tell whether the link altered any of it.
pub(crate) fn send_transcript<T: Read + Write>(ch: &mut Channel<T>) -> Result<(), SessionError> {
    let (sent, _) = ch.transcript().ok_or(SessionError::Internal)?;
    ch.send_bytes(&sent)?;
    Ok(())
}

/// Reads the peer's transcript hash and compares it with what arrived
/// here. A mismatch means the link altered data in transit (plain TCP has
/// no integrity; TLS would have refused the altered record).
pub(crate) fn check_transcript<T: Read + Write>(ch: &mut Channel<T>) -> Result<(), SessionError> {
    let (_, received) = ch.transcript().ok_or(SessionError::Internal)?;
    let mut theirs = [0u8; 32];
    ch.recv_bytes(&mut theirs)?;
    if theirs != received {
        return Err(SessionError::AlteredInTransit);
    }
    Ok(())
}

/// The garbler's label of output bit `index` (over all runs) for `value`.
pub(crate) fn garbler_output_label(garbled: &[GarbledOutputs], index: usize, value: bool) -> Option<Block> {
    let per = garbled.first().map_or(0, |g| g.len());
    if per == 0 {
        return None;
    }
    garbled.get(index / per)?.label(index % per, value)
}

/// The primary hello: a fresh nonce, ours sent, the peer's read and
/// compared — or, when a service has read the peer's hello first
/// (`read_first`), ours sent in answer and compared. Returns both, and the
/// OT's first message when `pipeline` sent it.
///
/// `pipeline` (a run with one direction, `semi-honest`) saves round trips:
/// this party's first message of the OT that carries the evaluator's bits
/// (`evaluator_bits`: the evaluator's own; empty on the garbler's side)
/// goes out in the same flight as its hello, before the peer's hello is
/// read. No such message uses a secret the peer could learn from it:
/// Chou–Orlandi's and Masny–Rindal's `A` are fresh random points, the
/// Masny–Rindal receiver's message a pair of independent uniform points per
/// bit whatever the bit (`ot::endemic`); if the hellos differ, the run
/// stops all the same.
#[allow(clippy::too_many_arguments)]
pub(crate) fn open<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    role: Party,
    prg: &mut Prg,
    read_first: Option<Hello>,
    pipeline: bool,
    evaluator_bits: &[bool],
) -> Result<(Hello, Hello, Option<EarlyOt>), SessionError> {
    let ours = Hello::new(program, role, config, Link::Primary, hello::fresh_nonce(prg));
    let n = program.input_bits_of(Party::Evaluator);
    let early = |ch: &mut Channel<T>, prg: &mut Prg| -> Result<Option<EarlyOt>, SessionError> {
        if !pipeline || n == 0 {
            return Ok(None);
        }
        Ok(match (role, use_extension(config, n)) {
            (Party::Evaluator, true) => Some(EarlyOt::BaseSender(base::SenderStart::send(ch, prg)?)),
            (Party::Evaluator, false) => {
                Some(EarlyOt::DirectReceiver(endemic::ReceiverStart::send(ch, prg, evaluator_bits)?))
            }
            (Party::Garbler, false) => Some(EarlyOt::DirectSender(endemic::SenderStart::send(ch, prg)?)),
            (Party::Garbler, true) => None,
        })
    };
    match read_first {
        None => {
            config.enter(Phase::Hello, ch);
            ch.start_transcript();
            // The hello and the OT's first message in one flight (a flush
            // in between would send them as two TCP segments, and a
            // link's timing would show them apart). If the flush fails
            // (the peer closed), what it sent before closing (its hello,
            // which names the difference) is still read.
            hello::write(ch, &ours)?;
            let started = early(ch, prg)?;
            let sent = ch.flush_or_drop();
            let peer = hello::read(ch)?;
            ours.compare(&peer)?;
            sent?;
            Ok((ours, peer, started))
        }
        // The peer's hello was read first (the transcript started before
        // it): we answer with ours, then compare.
        Some(peer) => {
            hello::send(ch, &ours)?;
            ours.compare(&peer)?;
            let started = early(ch, prg)?;
            Ok((ours, peer, started))
        }
    }
}

/// One direction, the garbler's side: a fresh Δ, OT as sender, its own
/// input labels, the tables, and — once the release gate agrees — the
/// decoding bits of the outputs in `reveal`. `gp` is the program party
/// that garbles in this direction.
#[allow(clippy::too_many_arguments)]
pub(crate) fn garble_direction<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    gp: Party,
    own_bits: &[bool],
    prg: &mut Prg,
    reveal: &Ranges,
    progress: Option<Progress<'_>>,
    ot: OtStart,
) -> Result<Vec<GarbledOutputs>, SessionError> {
    let delta = Delta::random(prg);
    // A large OT state is wiped now, a small one after the tables (see
    // `SentOt`).
    let (from_ot, ot_state) = ot_send_labels(ch, config, prg, &delta, (program, gp), ot)?.into_parts();
    let zero = input_zero_labels(program, gp, prg, from_ot);
    config.enter(Phase::GarblerInputs, ch);
    send_garbler_labels(ch, program, gp, &zero, &delta, own_bits)?;
    config.enter(Phase::Tables, ch);
    let garbled = send_tables(ch, config.scheme, program, (gp, own_bits), zero, &delta, prg, progress)?;
    drop((delta, ot_state));
    config.enter(Phase::Decoding, ch);
    config.before_release(Phase::Decoding, ch)?;
    send_decoder(ch, &garbled, reveal)?;
    Ok(garbled)
}

/// One direction, the evaluator's side: OT as receiver, the garbler's
/// input labels, the tables. Returns the active labels of every output.
#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluate_direction<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    gp: Party,
    own_bits: &[bool],
    prg: &mut Prg,
    progress: Option<Progress<'_>>,
    ot: OtStart,
) -> Result<Labels, SessionError> {
    let own_labels = ot_receive_labels(ch, config, prg, own_bits, program.input_label_capacity(), ot)?;
    config.enter(Phase::GarblerInputs, ch);
    let labels = receive_garbler_labels(ch, program, gp, own_labels)?;
    config.enter(Phase::Tables, ch);
    receive_tables(ch, config.scheme, program, gp, labels, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(bits: usize) -> SentOt {
        SentOt { zero: Zeroizing::new(vec![Block::ZERO; bits]), state: Some(Box::new([7u8; 64])) }
    }

    /// Inputs of widths 1..=5 owned as `owners` says.
    fn inputs(owners: &[Party]) -> Vec<InputDesc> {
        owners
            .iter()
            .enumerate()
            .map(|(k, &owner)| InputDesc { name: format!("x{k}"), owner, width: k as u32 % 5 + 1 })
            .collect()
    }

    /// Spreading one party's labels in place puts each where gathering
    /// them in wire order would (every interleaving of owners, either
    /// party), and returns the other party's ranges in order.
    #[test]
    fn spreading_in_place_matches_gathering() {
        use Party::{Evaluator as E, Garbler as G};
        for owners in
            [vec![], vec![G], vec![E], vec![G, E], vec![E, G], vec![E, G, E, G, G, E, E], vec![G, G, E]]
        {
            let inputs = inputs(&owners);
            for peer in [G, E] {
                let total: usize = inputs.iter().map(|i| i.width as usize).sum();
                let mut expected = vec![0u32; total];
                let (mut offset, mut next, mut other) = (0, 1u32, Vec::new());
                for i in &inputs {
                    let range = offset..offset + i.width as usize;
                    if i.owner == peer {
                        for e in &mut expected[range] {
                            *e = next;
                            next += 1;
                        }
                    } else {
                        other.push(range);
                    }
                    offset += i.width as usize;
                }
                // With the room the session allocates, and without it.
                let mut labels: Vec<u32> = (1..next).collect();
                if owners.len() % 2 == 0 {
                    labels.reserve_exact(total);
                }
                let ranges = spread_in_place(&inputs, peer, &mut labels);
                for r in &ranges {
                    labels[r.clone()].fill(0);
                }
                assert_eq!((labels, ranges), (expected, other), "{owners:?}, peer {peer:?}");
            }
        }
    }

    /// Up to 8 MiB of labels the OT state waits for the tables; past it it
    /// is dropped (so wiped and freed) at once.
    #[test]
    fn only_a_small_ot_state_is_kept_through_the_tables() {
        let most = KEPT_OT_BYTES / size_of::<Block>();
        let (zero, state) = sent(most).into_parts();
        assert_eq!((zero.len(), state.is_some()), (most, true));
        let (zero, state) = sent(most + 1).into_parts();
        assert_eq!((zero.len(), state.is_some()), (most + 1, false));
        assert!(sent(0).into_parts().1.is_some());
    }
}
