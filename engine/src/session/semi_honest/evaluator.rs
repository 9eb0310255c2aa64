//! The semi-honest-mode evaluator: hello, OT as receiver, the garbler's
//! input labels, the tables, its decoding bits, then the garbler's outputs
//! as labels.

use super::super::config::SessionConfig;
use super::super::error::SessionError;
use super::super::hello::{self, Hello, Link};
use super::super::inputs::PartyInputs;
use super::super::program::SessionProgram;
use super::super::steps;
use super::super::wire::{expect_tag, Progress, TAG_DONE};
use super::super::SessionOutcome;
use crate::channel::Channel;
use garblet_circuits::Party;
use std::io::{Read, Write};
use std::time::Instant;

/// Runs the evaluator's side of a semi-honest-mode session on `ch`.
pub(crate) fn run<T: Read + Write>(
    ch: &mut Channel<T>,
    config: &SessionConfig,
    program: &SessionProgram<'_>,
    inputs: &PartyInputs,
    progress: Option<Progress<'_>>,
) -> Result<SessionOutcome, SessionError> {
    let start = Instant::now();
    let own_bits = inputs.bits_for(program, Party::Evaluator)?;
    let mut prg = config.prg();
    let nonce = hello::fresh_nonce(&mut prg);
    hello::exchange(ch, &Hello::new(program, Party::Evaluator, config, Link::Primary, nonce))?;

    let own_labels = steps::ot_receive_labels(ch, config, &mut prg, &own_bits)?;
    drop(own_bits);
    let labels = steps::receive_garbler_labels(ch, program, Party::Garbler, &own_labels)?;
    drop(own_labels);
    let out_labels = steps::receive_tables(ch, program, &labels, progress)?;
    drop(labels);
    let mine = steps::receive_decoder(ch, &out_labels, &program.visible_ranges(Party::Evaluator))?;
    steps::send_output_labels(ch, &out_labels, &program.visible_ranges(Party::Garbler))?;
    expect_tag(ch, TAG_DONE, "the end of the session")?;
    Ok(SessionOutcome::new(program, mine, ch, start))
}
