//! The semi-honest-mode garbler: hello (with the Masny–Rindal OTs' `A`
//! when the evaluator has few input bits), OT as sender, its own input labels, the tables, the
//! evaluator's decoding bits and its transcript hash in one flight, then
//! its own outputs from the evaluator's colour bits, checked against the
//! hash of its labels.

use crate::channel::Channel;
use crate::session::config::{Phase, SessionConfig};
use crate::session::error::SessionError;
use crate::session::hello::{self, Hello};
use crate::session::inputs::PartyInputs;
use crate::session::program::SessionProgram;
use crate::session::returned_outputs;
use crate::session::steps;
use crate::session::wire::Progress;
use crate::session::SessionOutcome;
use garblet_circuits::Party;
use std::io::{Read, Write};
use std::time::Instant;

/// Runs the garbler's side of a semi-honest-mode session on `ch`
/// (`read_first`: the peer's hello, when a service read it first).
pub(crate) fn run<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
    read_first: Option<Hello>,
) -> Result<SessionOutcome, SessionError> {
    let start = Instant::now();
    let own_bits = inputs.bits_for(program, Party::Garbler)?;
    let mut prg = config.prg()?;
    let (ours, peer, started) =
        steps::open(ch, config, program, Party::Garbler, &mut prg, read_first, true, &[])?;
    let session_id = hello::session_id(&ours, &peer);
    let reveal = program.visible_ranges(Party::Evaluator);
    let garbled = steps::garble_direction(
        ch,
        config,
        program,
        Party::Garbler,
        &own_bits,
        &mut prg,
        &reveal,
        progress,
        steps::OtStart::new(&session_id, started),
    )?;
    // Our transcript hash closes the flight of the tables and decoding
    // bits: the evaluator checks it before it returns anything.
    steps::send_transcript(ch)?;
    ch.flush()?;
    config.enter(Phase::OutputLabels, ch);
    let mine = returned_outputs::receive(ch, &session_id, &garbled, &program.visible_ranges(Party::Garbler))?;
    config.enter(Phase::Finish, ch);
    Ok(SessionOutcome::new(program, mine, ch, start))
}
