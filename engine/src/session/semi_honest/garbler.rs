//! The semi-honest-mode garbler: hello, OT as sender, its own input labels,
//! the tables, the evaluator's decoding bits, then its own outputs from the
//! evaluator's labels, checked.

use super::super::config::SessionConfig;
use super::super::error::SessionError;
use super::super::hello::{self, Hello, Link};
use super::super::inputs::PartyInputs;
use super::super::program::SessionProgram;
use super::super::steps;
use super::super::wire::{Progress, TAG_DONE};
use super::super::SessionOutcome;
use crate::channel::Channel;
use crate::prg::Delta;
use garblet_circuits::Party;
use std::io::{Read, Write};
use std::time::Instant;

/// Runs the garbler's side of a semi-honest-mode session on `ch`.
pub(crate) fn run<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    let start = Instant::now();
    let own_bits = inputs.bits_for(program, Party::Garbler)?;
    let mut prg = config.prg();
    let nonce = hello::fresh_nonce(&mut prg);
    hello::exchange(ch, &Hello::new(program, Party::Garbler, config, Link::Primary, nonce))?;

    let delta = Delta::random(&mut prg);
    let from_ot =
        steps::ot_send_labels(ch, config, &mut prg, &delta, program.input_bits_of(Party::Evaluator))?;
    let zero = steps::input_zero_labels(program, Party::Garbler, &mut prg, &from_ot);
    drop(from_ot);
    steps::send_garbler_labels(ch, program, Party::Garbler, &zero, &delta, &own_bits)?;
    let garbled = steps::send_tables(ch, program, &zero, &delta, &mut prg, progress)?;
    drop((zero, delta));
    steps::send_decoder(ch, &garbled, &program.visible_ranges(Party::Evaluator))?;
    let mine = steps::receive_output_labels(ch, &garbled, &program.visible_ranges(Party::Garbler))?;
    ch.send_bytes(&[TAG_DONE])?;
    ch.flush()?;
    Ok(SessionOutcome::new(program, mine, ch, start))
}
