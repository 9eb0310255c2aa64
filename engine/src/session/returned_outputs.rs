//! Message 6 (`semi-honest` only): the outputs the garbler may learn
//! (visibility `garbler` or `both`), returned by the evaluator. The
//! evaluator holds one active label per such output bit. It does not send
//! the labels (16 bytes each) but each label's colour bit and one hash of
//! all of them; the garbler reads its values from the colour bits and
//! accepts them only if the hash is that of its own labels of those
//! values. Per output bit the evaluator sends ⅛ byte instead of 16: on the
//! link benchmark's 1,000 × AES-128 (128,000 output bits), 16 KB instead
//! of 2 MB in the run's last flight.
//!
//! # The message
//!
//! Tag `0xA4`; the colour bits (the lsb of each active label) of the
//! returned outputs, in output order, packed 8 to a byte, least
//! significant bit first (`packed_bits.rs`); the label hash
//! `h_E = blake3 derive-key("garblet output labels v1"; session id ‖ count
//! as u64 LE ‖ the active labels, 16 bytes each, in the same order)`, 32
//! bytes; then the evaluator's transcript hash. The session identifier is
//! the one dual execution binds its second connection with: blake3 of both
//! hellos' fresh nonces ([`super::hello::session_id`]).
//!
//! # What the garbler checks
//!
//! With point-and-permute Δ has lsb 1, so on a wire with zero label `L₀`
//! the label of value `v`, `L₀ ⊕ v·Δ`, has colour `lsb(L₀) ⊕ v`. From
//! colour `c` the garbler reads `v = c ⊕ lsb(L₀)` (`lsb(L₀)` is the wire's
//! decoding bit), hashes its own labels `L₀ ⊕ v·Δ` of the values read, in
//! order, and compares the result with `h_E` in constant time
//! (`blake3::Hash`'s equality). A mismatch, or a stray bit after the last
//! colour bit, is [`SessionError::BadOutputLabels`]; no value is accepted
//! unless all are.
//!
//! # Why it is sound
//!
//! This is the standard "hash of output labels" compression of the
//! *authenticity* of garbled outputs, the property Bellare, Hoang and
//! Rogaway define ("Foundations of Garbled Circuits", CCS 2012): an
//! evaluator cannot produce a valid encoding of any output other than the
//! one the garbled circuit gives. To make the garbler accept a value other
//! than the true one on some bit, the evaluator must include in the hash
//! the label of that other value, `L ⊕ Δ` where it holds `L`; it does not
//! know it without Δ, which the garbling and the checked OT keep from it
//! (Δ's lsb is public, its other 127 bits are not). With blake3 modelled
//! as a random oracle with 256-bit output, each attempt succeeds with
//! probability at most 2⁻¹²⁷ per unknown label (plus 2⁻²⁵⁶ for guessing
//! the hash itself), and the garbler accepts at most one attempt per
//! session: a mismatch ends it. This is the bound the full labels gave
//! (guessing one of them); the session identifier and the count bind the
//! hash to this run and this shape.
//!
//! Privacy for the evaluator is unchanged: the garbler learns exactly the
//! values it would have decoded from the labels themselves, and the hash
//! is a function of labels it could compute anyway.

use super::error::SessionError;
use super::steps::{self, Decoded, Labels, Ranges};
use super::wire::{expect_tag, TAG_OUTPUT_LABELS};
use crate::block::Block;
use crate::channel::Channel;
use crate::garble::{GarbledOutputs, OutputDecodeError};
use crate::packed_bits;
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// How many of its labels the garbler hashes at once: 16 KiB, enough for
/// blake3 to hash 16 chunks in parallel, and all the memory the check
/// takes beyond one bit per output.
const HASH_BATCH: usize = 1024;

/// The label hash `h` of message 6, fed the labels in output order.
pub(super) struct LabelHash(blake3::Hasher);

impl LabelHash {
    /// The hash of `count` labels in the session `session_id`.
    pub(super) fn new(session_id: &[u8; 32], count: usize) -> LabelHash {
        let mut hasher = blake3::Hasher::new_derive_key("garblet output labels v1");
        hasher.update(session_id);
        hasher.update(&(count as u64).to_le_bytes());
        LabelHash(hasher)
    }

    /// The next labels, in output order.
    pub(super) fn absorb(&mut self, labels: &[Block]) {
        self.0.update(Block::as_bytes_slice(labels));
    }

    /// The hash of every label absorbed.
    pub(super) fn finish(&self) -> blake3::Hash {
        self.0.finalize()
    }
}

/// E → G: the colour bits of the outputs in `ranges` and the hash of
/// their labels (nothing if the garbler learns no output).
pub(crate) fn send<T: Read + Write>(
    ch: &mut Channel<T>,
    session_id: &[u8; 32],
    out_labels: &Labels,
    ranges: &Ranges,
) -> Result<(), SessionError> {
    if ranges.is_empty() {
        return Ok(());
    }
    let returned = || ranges.iter().map(|(_, range)| &out_labels.0[range.clone()]);
    let colours: Vec<bool> = returned().flatten().map(|label| label.as_block().lsb()).collect();
    let mut hash = LabelHash::new(session_id, colours.len());
    for labels in returned() {
        hash.absorb(bytemuck::cast_slice(labels));
    }
    ch.send_bytes(&[TAG_OUTPUT_LABELS])?;
    ch.send_bytes(&packed_bits::pack(&colours))?;
    ch.send_bytes(hash.finish().as_bytes())?;
    steps::send_transcript(ch)?;
    ch.flush()?;
    Ok(())
}

/// G: receives the evaluator's colour bits and label hash for the outputs
/// in `ranges`; returns the values, once the hash matches this side's
/// labels of them and the evaluator's transcript hash matches what
/// arrived.
pub(crate) fn receive<T: Read + Write>(
    ch: &mut Channel<T>,
    session_id: &[u8; 32],
    garbled: &[GarbledOutputs],
    ranges: &Ranges,
) -> Result<Decoded, SessionError> {
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    expect_tag(ch, TAG_OUTPUT_LABELS, "the evaluator's returned outputs")?;
    let count = ranges.iter().map(|(_, range)| range.len()).sum();
    let mut packed = vec![0u8; usize::div_ceil(count, 8)];
    ch.recv_bytes(&mut packed)?;
    let mut theirs = [0u8; 32];
    ch.recv_bytes(&mut theirs)?;
    let colours = packed_bits::unpack(&packed, count)
        .ok_or(SessionError::BadOutputLabels(OutputDecodeError::Malformed))?;
    let claimed = claimed_values(garbled, ranges, &colours)?;
    // `blake3::Hash` compares in constant time.
    if expected_hash(session_id, garbled, ranges, &claimed, count)? != blake3::Hash::from_bytes(theirs) {
        return Err(SessionError::BadOutputLabels(OutputDecodeError::LabelHashMismatch));
    }
    steps::check_transcript(ch)?;
    Ok(claimed)
}

/// The values the evaluator's colour bits claim, by output:
/// `v = c ⊕ lsb(L₀)` for each output bit.
fn claimed_values(
    garbled: &[GarbledOutputs],
    ranges: &Ranges,
    colours: &[bool],
) -> Result<Decoded, SessionError> {
    let mut colours = colours.iter();
    ranges
        .iter()
        .map(|(k, range)| {
            let values = range
                .clone()
                .zip(&mut colours)
                .map(|(index, &colour)| Ok(colour ^ own_label(garbled, index, false)?.lsb()))
                .collect::<Result<Vec<bool>, SessionError>>()?;
            Ok((*k, values))
        })
        .collect()
}

/// The label hash the evaluator must have sent: that of this side's labels
/// of the `claimed` values, `L₀ ⊕ v·Δ`, hashed [`HASH_BATCH`] at a time.
fn expected_hash(
    session_id: &[u8; 32],
    garbled: &[GarbledOutputs],
    ranges: &Ranges,
    claimed: &Decoded,
    count: usize,
) -> Result<blake3::Hash, SessionError> {
    let mut hash = LabelHash::new(session_id, count);
    let mut batch = Zeroizing::new(Vec::with_capacity(HASH_BATCH));
    for ((_, range), (_, values)) in ranges.iter().zip(claimed) {
        for (index, &value) in range.clone().zip(values) {
            batch.push(own_label(garbled, index, value)?);
            if batch.len() == HASH_BATCH {
                hash.absorb(&batch);
                batch.clear();
            }
        }
    }
    hash.absorb(&batch);
    Ok(hash.finish())
}

/// This side's label of output bit `index` (over all runs) for `value`.
/// Output positions come from the program, not from the peer: a missing
/// one is a bug here.
fn own_label(garbled: &[GarbledOutputs], index: usize, value: bool) -> Result<Block, SessionError> {
    steps::garbler_output_label(garbled, index, value).ok_or(SessionError::Internal)
}
