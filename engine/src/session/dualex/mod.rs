//! The `dualex` mode: dual execution (Huang, Katz, Evans,
//! "Quid-Pro-Quo-tocols: Strengthening Semi-Honest Protocols with Dual
//! Execution", IEEE S&P 2012).
//!
//! Each party garbles the program once and evaluates the peer's garbling,
//! over two connections at once (one thread per direction, so that on a
//! duplex link the wall time stays near one semi-honest run). Both
//! directions run exactly the semi-honest phases of [`super::steps`], with
//! checked OT, roles swapped on the second connection. No output is
//! released until the [`equality`] check on the output labels has passed;
//! any mismatch aborts.
//!
//! Guarantee (`docs/SECURITY.md`): a cheating party — one that garbles
//! another function, corrupts table rows, sends wrong input labels, or
//! selectively fails the other party's OT choices — learns at most one bit
//! beyond the output (whether the check passes, or whether the run aborts
//! before it), and the honest party never accepts a wrong output.
//! Outputs meant for one party are masked inside the circuit
//! ([`masking`]).

pub(crate) mod equality;
pub(crate) mod masking;

use super::config::{Phase, SessionConfig};
use super::error::SessionError;
use super::hello::{self, Hello, Link};
use super::inputs::PartyInputs;
use super::program::SessionProgram;
use super::steps::{self, Decoded, Labels};
use super::SessionOutcome;
use crate::block::Block;
use crate::channel::Channel;
use crate::garble::GarbledOutputs;
use crate::prg::Prg;
use garblet_circuits::Party;
use std::io::{Read, Write};
use std::time::Instant;
use zeroize::Zeroizing;

/// What evaluating the peer's garbling gives: the active labels of every
/// output and the decoded outputs.
pub(crate) type Evaluated = (Labels, Vec<bool>);

/// Runs one party's side of a dual-execution session. `primary` carries
/// the direction in which `role` is as chosen, `secondary` the direction
/// with the roles swapped; both are used at once.
pub(crate) fn run<A, B>(
    primary: &mut Channel<A>,
    open_secondary: impl FnOnce() -> std::io::Result<B>,
    role: Party,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    inputs: &PartyInputs,
) -> Result<SessionOutcome, SessionError>
where
    A: Read + Write + Send,
    B: Read + Write + Send,
{
    let start = Instant::now();
    let mut own = Prepared::new(config, program, inputs, role)?;
    let (session_id, mut secondary) =
        handshake(primary, open_secondary, role, config, program, &mut own.prg)?;
    let secondary = &mut secondary;
    let prgs = [Prg::from_seed(own.prg.fork_seed()), Prg::from_seed(own.prg.fork_seed())];
    let own_bits = &own.bits[..];
    let (garbled, evaluated) = match role {
        Party::Garbler => {
            both_directions(primary, secondary, config, program, &session_id, role, own_bits, prgs)
        }
        Party::Evaluator => {
            both_directions(secondary, primary, config, program, &session_id, role, own_bits, prgs)
        }
    }?;
    config.enter(Phase::EqualityCheck, primary);
    let outputs = own.conclude(primary, role, program, &session_id, &garbled, &evaluated)?;
    let mut outcome = SessionOutcome::new(program, outputs, primary, start);
    outcome.bytes_sent += secondary.bytes_sent();
    outcome.bytes_received += secondary.bytes_received();
    Ok(outcome)
}

/// This party's secrets for one run: its input bits (with its masks'
/// pads appended), the pads, and its PRG.
pub(crate) struct Prepared {
    pub(crate) bits: Zeroizing<Vec<bool>>,
    pads: Vec<(usize, Zeroizing<Vec<bool>>)>,
    pub(crate) prg: Prg,
}

impl Prepared {
    /// Checks the program and inputs, and draws the pads of this party's
    /// masked outputs.
    pub(crate) fn new(
        config: &SessionConfig,
        program: &SessionProgram<'_>,
        inputs: &PartyInputs,
        role: Party,
    ) -> Result<Prepared, SessionError> {
        program.check_dual_execution()?;
        let mut prg = config.prg()?;
        let mut inputs = inputs.clone();
        let mut pads = Vec::new();
        for mask in program.masks.iter().filter(|m| m.owner == role) {
            let width = program.outputs()[mask.output].width as usize;
            let pad: Vec<bool> = (0..width).map(|_| prg.random_bool()).collect();
            inputs.push(mask.input.clone(), pad.clone());
            pads.push((mask.output, Zeroizing::new(pad)));
        }
        let bits = inputs.bits_for(program, role)?;
        Ok(Prepared { bits, pads, prg })
    }

    /// The equality check, then this party's outputs: the public ones, and
    /// its own masked ones with the pads removed. Nothing is returned
    /// before the check passes.
    pub(crate) fn conclude<T: Read + Write>(
        &mut self,
        primary: &mut Channel<T>,
        role: Party,
        program: &SessionProgram<'_>,
        session_id: &[u8; 32],
        garbled: &[GarbledOutputs],
        (out_labels, decoded): &Evaluated,
    ) -> Result<Decoded, SessionError> {
        // In the circuit this party garbled, the labels of the values it
        // decoded from the peer's; in the peer's, the labels it evaluated.
        let mut own = Zeroizing::new(Vec::with_capacity(decoded.len()));
        for (i, &bit) in decoded.iter().enumerate() {
            own.push(steps::garbler_output_label(garbled, i, bit).ok_or(SessionError::Internal)?);
        }
        let evaluated: Zeroizing<Vec<Block>> =
            Zeroizing::new(out_labels.0.iter().map(|l| l.as_block()).collect());
        let (first, second) = match role {
            Party::Garbler => (&own[..], &evaluated[..]),
            Party::Evaluator => (&evaluated[..], &own[..]),
        };
        let value = equality::check_value(session_id, first, second);
        equality::run(primary, role, &mut self.prg, &value)?;

        let mut outputs = Vec::new();
        for (k, range) in program.output_ranges() {
            let mut bits = decoded[range].to_vec();
            match program.masks.iter().find(|m| m.output == k) {
                None => {}
                Some(mask) if mask.owner == role => {
                    let (_, pad) = self.pads.iter().find(|(o, _)| *o == k).ok_or(SessionError::Internal)?;
                    for (b, p) in bits.iter_mut().zip(pad.iter()) {
                        *b ^= p;
                    }
                }
                // The peer's private output: this party saw it padded.
                Some(_) => continue,
            }
            outputs.push((k, bits));
        }
        Ok(outputs)
    }
}

/// Both hellos: the primary one (roles as chosen, fresh nonces); only if
/// the two sides agree, the second connection is opened and its hello
/// (roles swapped) bound to the primary by the session identifier. Returns
/// the identifier and the second connection.
pub(crate) fn handshake<A: Read + Write, B: Read + Write>(
    primary: &mut Channel<A>,
    open_secondary: impl FnOnce() -> std::io::Result<B>,
    role: Party,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    prg: &mut Prg,
) -> Result<([u8; 32], Channel<B>), SessionError> {
    let (ours, peer, _) = steps::open(primary, config, program, role, prg, None, false, &[])?;
    let session_id = hello::session_id(&ours, &peer);
    let mut secondary = Channel::new(open_secondary().map_err(SessionError::SecondConnection)?);
    hello::exchange(&mut secondary, &Hello::new(program, role.peer(), config, Link::Secondary, session_id))?;
    Ok((session_id, secondary))
}

/// Both directions at once: this party garbles on `g_ch` (one thread) and
/// evaluates the peer's garbling on `e_ch` (this thread).
#[allow(clippy::too_many_arguments)]
fn both_directions<G, E>(
    g_ch: &mut Channel<G>,
    e_ch: &mut Channel<E>,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    session_id: &[u8; 32],
    role: Party,
    own_bits: &[bool],
    [mut garble_prg, mut eval_prg]: [Prg; 2],
) -> Result<(Vec<GarbledOutputs>, Evaluated), SessionError>
where
    G: Read + Write + Send,
    E: Read + Write + Send,
{
    std::thread::scope(|s| {
        let garbling =
            s.spawn(|| garble_for_peer(g_ch, config, program, session_id, role, own_bits, &mut garble_prg));
        let evaluated =
            evaluate_peer(e_ch, config, program, session_id, role.peer(), own_bits, &mut eval_prg);
        let garbled = garbling.join().map_err(|_| SessionError::Internal)?;
        // An error of the evaluation first: it is the one that says what
        // the peer did.
        let evaluated = evaluated?;
        Ok((garbled?, evaluated))
    })
}

/// Garbles the program for the peer: this party is the garbler of the
/// direction, its inputs are those of program party `gp`; every output's
/// decoding bits go to the peer (private outputs are masked).
fn garble_for_peer<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    session_id: &[u8; 32],
    gp: Party,
    own_bits: &[bool],
    prg: &mut Prg,
) -> Result<Vec<GarbledOutputs>, SessionError> {
    let mut report = |n: u64| config.report(n);
    let every = program.output_ranges();
    let ot = steps::OtStart::new(session_id, None);
    steps::garble_direction(ch, config, program, gp, own_bits, prg, &every, Some(&mut report), ot)
}

/// Evaluates the peer's garbling, in which the peer garbles as program
/// party `gp`; returns the output labels and the decoded outputs.
pub(crate) fn evaluate_peer<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    session_id: &[u8; 32],
    gp: Party,
    own_bits: &[bool],
    prg: &mut Prg,
) -> Result<Evaluated, SessionError> {
    let ot = steps::OtStart::new(session_id, None);
    let out_labels = steps::evaluate_direction(ch, config, program, gp, own_bits, prg, None, ot)?;
    config.enter(Phase::Decoding, ch);
    let decoded: Decoded = steps::receive_decoder(ch, &out_labels, &program.output_ranges())?;
    Ok((out_labels, decoded.into_iter().flat_map(|(_, b)| b).collect()))
}
