//! The semi-honest-mode evaluator: hello with its OT's first message (it
//! speaks first in the OT on both paths), OT as receiver, the garbler's input labels, the
//! tables, its decoding bits and the garbler's transcript hash, then the
//! garbler's outputs as colour bits and a hash of their labels, and it is
//! done.

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

/// Runs the evaluator's side of a semi-honest-mode session on `ch`
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
    let own_bits = inputs.bits_for(program, Party::Evaluator)?;
    let mut prg = config.prg()?;
    let (ours, peer, started) =
        steps::open(ch, config, program, Party::Evaluator, &mut prg, read_first, true, &own_bits)?;
    let session_id = hello::session_id(&ours, &peer);
    let out_labels = steps::evaluate_direction(
        ch,
        config,
        program,
        Party::Garbler,
        &own_bits,
        &mut prg,
        progress,
        steps::OtStart::new(&session_id, started),
    )?;
    drop(own_bits);
    config.enter(Phase::Decoding, ch);
    let mine = steps::receive_decoder(ch, &out_labels, &program.visible_ranges(Party::Evaluator))?;
    // Nothing is returned until the whole exchange is known to have
    // arrived as sent.
    steps::check_transcript(ch)?;
    config.enter(Phase::OutputLabels, ch);
    config.before_release(Phase::OutputLabels, ch)?;
    returned_outputs::send(ch, &session_id, &out_labels, &program.visible_ranges(Party::Garbler))?;
    config.enter(Phase::Finish, ch);
    Ok(SessionOutcome::new(program, mine, ch, start))
}
