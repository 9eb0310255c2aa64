//! The call-level protocol both OT extensions share.
//!
//! IKNP/ALSZ (`extension.rs`) and SoftSpokenOT (`softspoken/`) differ in
//! how a batch's columns are made and finished, and in nothing else a call
//! does. What they share lives here, once:
//!
//! - the receiver announces the call's OT count and the sender refuses a
//!   different one ([`OtError::LengthMismatch`]);
//! - the call is cut into batches of [`BATCH_ROWS`] rows
//!   ([`batches`]);
//! - with a malicious receiver, the revised KOS check of [`super::check`]
//!   made non-interactive (Fiat–Shamir): the receiver appends
//!   [`KOS_PADDING`] random OTs, derives the challenge from a hash of the
//!   call's binding and of every byte it sent, and sends its answer right
//!   after the extra block's columns; the sender does what a batch needs
//!   before its columns arrive (its streams), hashes what it receives,
//!   computes every batch but the last as it arrives, and once the last
//!   columns are in derives the same challenge, folds the earlier batches
//!   back from its output rows, finishes the last batch and the extra
//!   block, and verifies the answer. **The sender sends nothing** in a
//!   call.
//!
//! An extension implements [`SenderBatches`] and [`ReceiverBatches`]: a
//! batch's columns off the wire, a batch finished into rows, a batch
//! extended onto the wire, and the columns the receiver's check answer is
//! computed from.

use std::io::{Read, Write};

use zeroize::Zeroizing;

use super::check::{CheckAnswer, CheckBinding, ReceiverCheck, SenderCheck, Transcript, KOS_PADDING};
use super::extension::BATCH_ROWS;
use super::transpose::transpose_columns;
use super::{OtError, Security};
use crate::block::Block;
use crate::channel::Channel;

/// Splits `n` rows into the batches both parties process: full batches of
/// [`BATCH_ROWS`], then the rest (each extension rounds it up to a
/// multiple of 128).
pub(crate) fn batches(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n.div_ceil(BATCH_ROWS)).map(move |b| {
        let start = b * BATCH_ROWS;
        (start, (n - start).min(BATCH_ROWS))
    })
}

/// The sender's per-batch work.
pub(crate) trait SenderBatches {
    /// Blocks of the receiver's message for a batch of `len` OTs: where the
    /// extra block's columns start after the last batch's.
    fn message_blocks(len: usize) -> usize;

    /// What the receiver sent after the base OTs, before the first call,
    /// that the sender's columns depend on (the check's transcript starts
    /// with it): SoftSpokenOT's GGM corrections; nothing by default.
    fn setup_message(&self) -> &[Block] {
        &[]
    }

    /// Does what the batch of `len` OTs the next [`Self::recv_batch`] brings
    /// needs before its columns arrive (SoftSpokenOT: the leaves' streams),
    /// so that it overlaps with their time on the wire; nothing by default.
    fn prepare_batch(&mut self, _len: usize) {}

    /// Receives the receiver's message for a batch of `len` OTs into the
    /// extension's buffer, from block `offset` on; returns it as received.
    fn recv_batch<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        len: usize,
        offset: usize,
    ) -> Result<&[Block], OtError>;

    /// Computes the batch of `rows.len()` OTs whose message is at `offset`
    /// in the buffer, folding its columns into `check`.
    fn finish_batch(&mut self, rows: &mut [Block], offset: usize, check: Option<&mut SenderCheck>);
}

/// The sender's side of one correlated-OT call: `zero_labels` receives the
/// rows `q_j`. `binding` binds the check's challenge to the session with a
/// malicious receiver ([`super::check`]), `None` without a check; `delta`
/// is the correlation the check verifies against.
pub(crate) fn send_correlated<B: SenderBatches, T: Read + Write>(
    ext: &mut B,
    ch: &mut Channel<T>,
    binding: Option<&CheckBinding>,
    delta: Block,
    zero_labels: &mut [Block],
) -> Result<(), OtError> {
    let n = zero_labels.len();
    let announced = ch.recv_u64()?;
    if announced != n as u64 {
        return Err(OtError::LengthMismatch {
            what: "OT extension count",
            expected: n as u64,
            received: announced,
        });
    }
    match binding {
        None => {
            for (start, len) in batches(n) {
                ext.prepare_batch(len);
                ext.recv_batch(ch, len, 0)?;
                ext.finish_batch(&mut zero_labels[start..start + len], 0, None);
            }
            Ok(())
        }
        Some(binding) => {
            let transcript = Transcript::new(binding, ext.setup_message(), announced);
            send_checked(ext, ch, transcript, delta, zero_labels)
        }
    }
}

/// [`send_correlated`] with the check, after the count: every batch but
/// the last is computed as it arrives (its bytes hashed into `transcript`);
/// the challenge is known once the last batch's and the extra block's
/// columns are in, and only then is anything folded.
fn send_checked<B: SenderBatches, T: Read + Write>(
    ext: &mut B,
    ch: &mut Channel<T>,
    mut transcript: Transcript,
    delta: Block,
    zero_labels: &mut [Block],
) -> Result<(), OtError> {
    let plan: Vec<(usize, usize)> = batches(zero_labels.len()).collect();
    let (last, body) = match plan.split_last() {
        Some((&last, body)) => (Some(last), body),
        None => (None, &[][..]),
    };
    for &(start, len) in body {
        ext.prepare_batch(len);
        transcript.absorb(ext.recv_batch(ch, len, 0)?);
        ext.finish_batch(&mut zero_labels[start..start + len], 0, None);
    }
    // The last batch's columns, then those of the extra block of random OTs
    // that masks the answer (right after them in the buffer).
    let last_blocks = last.map_or(0, |(_, len)| B::message_blocks(len));
    if let Some((_, len)) = last {
        ext.prepare_batch(len);
        transcript.absorb(ext.recv_batch(ch, len, 0)?);
    }
    transcript.absorb(ext.recv_batch(ch, KOS_PADDING, last_blocks)?);
    let mut check = SenderCheck::new(transcript.challenge());
    // Earlier batches are full (a multiple of 128 rows): their rows are
    // exactly the transpose of the columns to fold.
    for &(start, len) in body {
        check.fold_rows(&zero_labels[start..start + len]);
    }
    if let Some((start, len)) = last {
        ext.finish_batch(&mut zero_labels[start..start + len], 0, Some(&mut check));
    }
    check.begin_padding();
    let mut pad = Zeroizing::new(vec![Block::ZERO; KOS_PADDING]);
    ext.finish_batch(&mut pad, last_blocks, Some(&mut check));
    let mut t = vec![Block::ZERO; 128];
    ch.recv_blocks(&mut t)?;
    let x = ch.recv_block()?;
    if !check.verify(&CheckAnswer { t, x }, delta) {
        return Err(OtError::ConsistencyCheckFailed);
    }
    Ok(())
}

/// The receiver's per-batch work.
pub(crate) trait ReceiverBatches {
    /// Extends one batch: computes its columns from `choices`, sends its
    /// message, records it in `check`, and writes the rows into `rows`.
    fn extend_batch<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        choices: &[bool],
        rows: &mut [Block],
        check: Option<&mut ReceiverCheck>,
    ) -> Result<(), OtError>;

    /// A secret random bit (the extra block's choices mask the answer).
    fn random_bool(&mut self) -> bool;

    /// What this side sent after the base OTs, as the sender's
    /// [`SenderBatches::setup_message`]; nothing by default.
    fn setup_message(&self) -> &[Block] {
        &[]
    }

    /// The check's answer, from this extension's `T` columns.
    fn answer(&self, check: ReceiverCheck) -> CheckAnswer;
}

/// The receiver's side of one correlated-OT call: `labels[j] = q_j ⊕
/// choices[j]·Δ`. With a `binding` (a malicious-receiver session), runs the
/// receiver's part of the check: its answer follows its last columns.
pub(crate) fn receive_correlated<B: ReceiverBatches, T: Read + Write>(
    ext: &mut B,
    ch: &mut Channel<T>,
    binding: Option<&CheckBinding>,
    choices: &[bool],
    labels: &mut [Block],
) -> Result<(), OtError> {
    if choices.len() != labels.len() {
        return Err(OtError::InvalidInput("choice bits and outputs have different lengths"));
    }
    let n = labels.len();
    ch.send_u64(n as u64)?;
    let mut check = binding.map(|b| ReceiverCheck::new(b, ext.setup_message(), n as u64));
    for (start, len) in batches(n) {
        ext.extend_batch(ch, &choices[start..start + len], &mut labels[start..start + len], check.as_mut())?;
    }
    if let Some(mut check) = check {
        // Secret: these random choices mask the answer.
        let pad_choices: Zeroizing<Vec<bool>> =
            Zeroizing::new((0..KOS_PADDING).map(|_| ext.random_bool()).collect());
        let mut pad = Zeroizing::new(vec![Block::ZERO; KOS_PADDING]);
        check.begin_padding();
        ext.extend_batch(ch, &pad_choices, &mut pad, Some(&mut check))?;
        // The columns go out now, so that the sender computes while this
        // side computes the answer; the answer follows in the same flight
        // (the sender sends nothing in between).
        ch.flush()?;
        let answer = ext.answer(check);
        ch.send_blocks(&answer.t)?;
        ch.send_block(answer.x)?;
    }
    ch.flush()?;
    Ok(())
}

/// The binding of a call with security `S`: `None` without a check; with
/// it, the session's ([`CheckBinding`]), which the caller must have set.
pub(crate) fn binding_for<S: Security>(
    binding: Option<&CheckBinding>,
) -> Result<Option<&CheckBinding>, OtError> {
    match (S::MALICIOUS_RECEIVER, binding) {
        (false, _) => Ok(None),
        (true, Some(b)) => Ok(Some(b)),
        (true, None) => Err(OtError::InvalidInput("a checked OT call needs a binding (bind_check) first")),
    }
}

/// Transposes a batch's columns (`128 × m` bits, `m` a multiple of 128)
/// into `rows`, of which there may be fewer than `m`: the padding rows are
/// transposed into scratch that is wiped afterwards.
pub(crate) fn transpose_into_rows(cols: &[Block], rows: &mut [Block]) {
    if cols.len() == rows.len() {
        transpose_columns(cols, rows);
    } else {
        let mut tmp = Zeroizing::new(vec![Block::ZERO; cols.len()]);
        transpose_columns(cols, &mut tmp);
        rows.copy_from_slice(&tmp[..rows.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_everything() {
        let v: Vec<_> = batches(BATCH_ROWS * 2 + 5).collect();
        assert_eq!(v, vec![(0, BATCH_ROWS), (BATCH_ROWS, BATCH_ROWS), (2 * BATCH_ROWS, 5)]);
        assert_eq!(batches(0).count(), 0);
    }
}
