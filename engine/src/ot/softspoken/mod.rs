//! SoftSpokenOT extension (Lawrence Roy, *SoftSpokenOT: Quieter OT
//! Extension from Small-Field Silent VOLE in the Minicrypt Model*,
//! Crypto 2022, ePrint 2022/192), correlated by Δ: the same output as
//! [`super::OtExtSender`] (IKNP), with a quarter of its communication.
//!
//! # Construction (`K = 4`)
//!
//! The 128 base OTs are cut into `128/K` **chunks** of `K`. Each chunk is a
//! `(2^K − 1)`-out-of-`2^K` random OT built from its `K` base OTs by a GGM
//! tree (`ggm.rs`): the extension receiver (evaluator, the base-OT sender)
//! knows all `2^K` leaves `L_x`, `x ∈ {0,1}^K`; the extension sender
//! (garbler, the base-OT receiver with Δ's bits as choices) knows every
//! leaf but `x* = ¬Δ_c`, where `Δ_c` is the chunk's `K` bits of Δ. So, as
//! in IKNP, the punctured points *are* Δ, which the garbler picked.
//!
//! Each leaf seeds an AES-128 counter-mode stream `G(L_x)` (an `m`-bit
//! column per batch of `m` OTs). This is Roy's **small-field VOLE** (§3),
//! read bit by bit of `x`, for `b = 0..K` (column `i = cK + b`):
//!
//! ```text
//! receiver:  T_i = ⊕_{x: x_b = 0} G(L_x),  u_c = ⊕_x G(L_x)
//!            sends  u_c ⊕ r   (r: its m choice bits)        ──128/K columns──▶
//! sender:    W_i = ⊕_{x ≠ x*} (x_b ⊕ x*_b)·G(L_x)  = T_i ⊕ Δ_i·u_c
//!            Q_i = W_i ⊕ Δ_i·(u_c ⊕ r)             = T_i ⊕ Δ_i·r
//! rows:      q_j = t_j ⊕ r_j·Δ                     (transpose, as IKNP)
//! ```
//!
//! (`x_b ⊕ x*_b = x_b ⊕ 1 ⊕ Δ_i`, and the unknown leaf `x*` has
//! coefficient 0.) The columns `Q_i = T_i ⊕ Δ_i·r` are exactly IKNP's, so
//! the transposition, the output convention (`q_j` the garbler's zero
//! label, `t_j = q_j ⊕ r_j·Δ` the evaluator's label) and the consistency
//! check ([`super::check`]) are shared with IKNP. IKNP is the case `K = 1`.
//!
//! **What is sent.** Per batch of `m` OTs (rounded up to 128), the receiver
//! sends `u_c ⊕ r` for every chunk: `(128/K)·m` bits, 4 bytes per OT for
//! `K = 4` (IKNP: 16). The paper's trick of letting the first chunk's `u`
//! *be* the choice vector saves one chunk only for random choice bits; the
//! evaluator's choices are its inputs, so all `128/K` chunks are sent.
//! Once per session, the GGM corrections: `2·(K − 1)` blocks per chunk,
//! 3,072 bytes, sent by the receiver right after the base OTs (no extra
//! round: the sender reads them before the first batch's columns).
//!
//! **Cost.** Per OT, `2^K/K` AES blocks for the receiver and `(2^K − 1)/K`
//! for the sender (4 and 3.75 for `K = 4`, against IKNP's 2 and 1), the
//! price of the 4× smaller message, plus the XORs into the columns; with
//! the check, the receiver expands its leaves a second time (4 more). `K =
//! 4` keeps this at a few AES per OT while cutting the bytes by 4; `K = 8`
//! would cut them by 8 at 32 AES per OT.
//!
//! **Constant time.** The sender stores its leaves by offset from the
//! punctured point (slot `y` holds `L_{y ⊕ x*}`, placed once at set-up by
//! conditional swaps, `ggm::shift_by`), so that `W_i = ⊕_{y: y_b = 1}
//! G(slot y)` is a loop in public order; `Δ_i·(u_c ⊕ r)` is a mask. The
//! receiver's loops depend only on public indices.
//! Nothing is allocated per OT: per session, the batch buffers (the
//! 128-column matrix of [`BATCH_ROWS`] rows and the `128/K` correction
//! columns) and one column of PRG scratch.
//!
//! # Malicious receiver
//!
//! With [`MaliciousReceiver`](super::MaliciousReceiver), each call appends
//! [`KOS_PADDING`] random OTs and runs the consistency check of
//! [`super::check`], the one SoftSpokenOT gives for its subspace VOLE (§5:
//! a random GF(2^128) combination of the rows, challenges derived from a
//! hash of the receiver's messages (Fiat–Shamir), one extra masked block): the sender
//! verifies `Σ_j χ_j·Q_{i,j} ⊕ Q_{i,*} = t_i ⊕ Δ_i·x` for every column `i`.
//! A receiver that used different choice vectors in different chunks
//! (a `u_c ⊕ r_c` with `r_c` not the same `r` for every `c`) fails it
//! except with probability about `2^-128` per challenge, as with KOS, and
//! about `2^-64` against a receiver that grinds up to `2^64` hashes for a
//! challenge it likes (the check is Fiat–Shamir: [`super::check`])
//! (`docs/SECURITY.md`). The receiver re-expands its `T` columns for the
//! check chunk by chunk from the leaves (`ChunkColumns`), as IKNP
//! re-expands `G(k_i^0)`: no memory per OT.
//!
//! A cheating receiver can also send wrong GGM corrections: then the
//! leaves the sender computes depend on which leaf is punctured, i.e. on
//! `Δ_c`. Whatever it sends, the sender's columns are a function of Δ the
//! receiver can compute for every guess of `Δ_c`, so what it can gain is a
//! selective failure: the check passes only for the values of `Δ_c` it
//! prepared for, and it learns that much about Δ at the risk of an abort
//! with the complementary probability — the leakage KOS and SoftSpokenOT
//! (§5, "leaky" VOLE) already allow for (a tree-consistency check of the
//! punctured PRF, as in Boyle et al. 2019, would remove it; it is not
//! implemented). The tests check that wrong corrections are caught.

mod ggm;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::marker::PhantomData;

use zeroize::{Zeroize, Zeroizing};

use super::base;
use super::check::{CheckAnswer, CheckBinding, ColumnSource, ReceiverCheck, SenderCheck};
use super::driver::{self, transpose_into_rows, ReceiverBatches, SenderBatches};
use super::extension::{pack_bits, ColumnPrgs, BATCH_ROWS, KAPPA};
use super::{CorrelatedOtReceiver, CorrelatedOtSender, OtError, Security, SemiHonest};
use crate::block::Block;
use crate::channel::Channel;
use crate::prg::{Delta, Prg};

/// The default SoftSpokenOT parameter `K`: 32 chunks of 4 base OTs, 4
/// bytes per OT from the receiver, 4 AES blocks per OT on each side.
pub const SOFTSPOKEN_K: usize = 4;

/// `K` must divide 128 and keep the trees small.
const fn check_k(k: usize) {
    assert!(k >= 1 && k <= 8 && KAPPA.is_multiple_of(k), "SoftSpokenOT needs 1 <= K <= 8 dividing 128");
}

/// Column `b` of chunk `c` (`T_{cK+b}`) and the chunk's `u_c`, for the
/// receiver: `cols` holds the chunk's `K` columns of `nb` blocks each, `u`
/// (if given) receives `⊕_x G(L_x)` XORed into what it holds.
fn receiver_chunk(
    prgs: &ColumnPrgs,
    k: usize,
    c: usize,
    ctr: u64,
    cols: &mut [Block],
    mut u: Option<&mut [Block]>,
    scratch: &mut [Block],
) {
    let nb = scratch.len();
    cols.fill(Block::ZERO);
    for x in 0..1usize << k {
        prgs.expand_column((c << k) | x, ctr, scratch);
        if let Some(u) = u.as_deref_mut() {
            for (uu, &g) in u.iter_mut().zip(scratch.iter()) {
                *uu ^= g;
            }
        }
        for (b, col) in cols.chunks_exact_mut(nb).enumerate() {
            // Public: which leaves make up column b.
            if (x >> b) & 1 == 0 {
                for (t, &g) in col.iter_mut().zip(scratch.iter()) {
                    *t ^= g;
                }
            }
        }
    }
}

/// The sender (garbler) of a SoftSpokenOT session with parameter `K`; `S`
/// is the security level, as for [`super::OtExtSender`].
///
/// Created once per session with [`SoftSpokenSender::setup`] (128 base
/// OTs and the GGM trees), then called any number of times; each call must
/// be matched by the receiver's with the same number of OTs.
pub struct SoftSpokenSender<S: Security = SemiHonest, const K: usize = SOFTSPOKEN_K> {
    delta: Delta,
    /// The leaves' streams, `2^K` per chunk, slot `y` of chunk `c` the leaf
    /// `y ⊕ x*_c` (slot 0, the punctured leaf, is the zero key, unused).
    prgs: ColumnPrgs,
    ctr: u64,
    ot_index: u64,
    /// What the check's challenges are bound to ([`Self::bind_check`]).
    binding: Option<CheckBinding>,
    /// The receiver's GGM corrections, as received (public: the check's
    /// transcript starts with them).
    corrections: Vec<Block>,
    /// The 128 `Q` columns of a batch.
    cols: Vec<Block>,
    /// `cols` holds the `W` columns of the batch at this counter of this
    /// many blocks per column ([`SenderBatches::prepare_batch`]).
    prepared: Option<(u64, usize)>,
    /// The receiver's `128/K` correction columns (and the extra block's).
    u: Vec<Block>,
    scratch: Vec<Block>,
    _security: PhantomData<S>,
}

impl<S: Security, const K: usize> SoftSpokenSender<S, K> {
    const CHUNKS: usize = {
        check_k(K);
        KAPPA / K
    };

    /// Runs the base OTs as their receiver, with Δ's bits as choices, reads
    /// the receiver's GGM corrections, and returns a session whose
    /// correlated OTs have correlation `delta`.
    pub fn setup<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg, delta: Delta) -> Result<Self, OtError> {
        let chunks = Self::CHUNKS;
        let d = delta.as_block().to_u128();
        let bits: Zeroizing<Vec<bool>> = Zeroizing::new((0..KAPPA).map(|i| (d >> i) & 1 == 1).collect());
        let keys = base::receive_random(ch, prg, &bits)?;
        let mut corrections = Zeroizing::new(vec![Block::ZERO; chunks * 2 * (K - 1)]);
        ch.recv_blocks(&mut corrections)?;
        let mut leaves = Zeroizing::new(vec![Block::ZERO; chunks << K]);
        for c in 0..chunks {
            let s = ((d >> (c * K)) as usize) & ((1 << K) - 1);
            ggm::punctured_tree(
                &keys[c * K..(c + 1) * K],
                s,
                &corrections[c * 2 * (K - 1)..(c + 1) * 2 * (K - 1)],
                &mut leaves[c << K..(c + 1) << K],
            );
            // Stored by offset from the punctured point: slot y holds
            // L_{y ⊕ x*}, so slot 0 is the unknown leaf and every later
            // pass over the leaves is in public order.
            ggm::shift_by(&mut leaves[c << K..(c + 1) << K], !s & ((1 << K) - 1));
        }
        Ok(SoftSpokenSender {
            delta,
            prgs: ColumnPrgs::new(leaves.iter(), false),
            ctr: 0,
            ot_index: 0,
            binding: None,
            corrections: corrections.to_vec(),
            cols: Vec::new(),
            prepared: None,
            u: Vec::new(),
            scratch: Vec::new(),
            _security: PhantomData,
        })
    }

    /// Sizes the batch buffers for batches of `nb` blocks per column: once,
    /// for a full batch, in practice; a larger one replaces them, the old
    /// ones wiped (no secret column is left behind by a reallocation).
    fn ensure_buffers(&mut self, nb: usize) {
        let rows = BATCH_ROWS.max(128 * nb);
        if self.cols.len() < rows {
            self.cols.zeroize();
            self.scratch.zeroize();
            self.cols = vec![Block::ZERO; rows];
            self.scratch = vec![Block::ZERO; rows / 128];
            self.prepared = None;
        }
    }

    /// Writes the `W` columns of the batch at the current counter, `nb`
    /// blocks per column, into `cols`: `W_i = ⊕_{x ≠ x*} (x ⊕ x*)_b·G(L_x)
    /// = ⊕_{y: y_b = 1} G(slot y)` (the slots are offsets from `x*`, see
    /// `setup`; slot 0 unused). Nothing here depends on the receiver's
    /// columns.
    fn expand_w(&mut self, nb: usize) {
        self.ensure_buffers(nb);
        let w = &mut self.cols[..128 * nb];
        let scratch = &mut self.scratch[..nb];
        for (c, cols) in w.chunks_exact_mut(K * nb).enumerate() {
            cols.fill(Block::ZERO);
            for y in 1..1usize << K {
                self.prgs.expand_column((c << K) | y, self.ctr, scratch);
                for (b, col) in cols.chunks_exact_mut(nb).enumerate() {
                    if (y >> b) & 1 == 1 {
                        for (w, &g) in col.iter_mut().zip(scratch.iter()) {
                            *w ^= g;
                        }
                    }
                }
            }
        }
        self.prepared = Some((self.ctr, nb));
    }

    /// The session's correlation Δ (the garbler's offset).
    pub fn delta(&self) -> &Delta {
        &self.delta
    }

    /// OTs delivered by this session so far.
    pub fn ot_count(&self) -> u64 {
        self.ot_index
    }

    /// Binds the consistency check's challenges of every later call to
    /// `binding`, as [`super::OtExtSender::bind_check`] does.
    pub fn bind_check(&mut self, binding: CheckBinding) {
        self.binding = Some(binding);
    }

    /// Correlated OT: fills `zero_labels` with `q_j`; the receiver gets
    /// `q_j ⊕ b_j·Δ` for its choice bits `b_j`.
    ///
    /// Receives `8 + (16/K)·⌈n/128⌉·128` bytes (plus the check's in
    /// malicious mode) and sends nothing, in either mode. Errors as
    /// [`super::OtExtSender::send_correlated`] does.
    pub fn send_correlated<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        zero_labels: &mut [Block],
    ) -> Result<(), OtError> {
        let binding = self.binding;
        let binding = driver::binding_for::<S>(binding.as_ref())?;
        let delta = self.delta.as_block();
        driver::send_correlated(self, ch, binding, delta, zero_labels)?;
        self.ot_index += zero_labels.len() as u64;
        Ok(())
    }
}

impl<S: Security, const K: usize> SenderBatches for SoftSpokenSender<S, K> {
    fn message_blocks(len: usize) -> usize {
        Self::CHUNKS * len.div_ceil(128)
    }

    fn setup_message(&self) -> &[Block] {
        &self.corrections
    }

    /// Receives the correction columns of a batch of `len` OTs into
    /// `self.u`, from block `offset` on.
    fn recv_batch<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        len: usize,
        offset: usize,
    ) -> Result<&[Block], OtError> {
        let nb = len.div_ceil(128);
        let size = Self::CHUNKS * nb;
        let full = Self::CHUNKS * (BATCH_ROWS / 128);
        self.ensure_buffers(nb);
        if self.u.len() < offset + size {
            self.u.resize(full.max(offset + size), Block::ZERO);
        }
        ch.recv_blocks(&mut self.u[offset..offset + size])?;
        Ok(&self.u[offset..offset + size])
    }

    /// The `W` columns of the next batch, expanded while its columns are
    /// on the wire.
    fn prepare_batch(&mut self, len: usize) {
        self.expand_w(len.div_ceil(128));
    }

    /// Computes one batch of `rows.len()` OTs from the corrections at
    /// `offset` in `self.u` (and its `W` columns, expanded now unless
    /// [`Self::prepare_batch`] did), folding its columns into `check`.
    fn finish_batch(&mut self, rows: &mut [Block], offset: usize, mut check: Option<&mut SenderCheck>) {
        let nb = rows.len().div_ceil(128);
        let m = 128 * nb;
        if self.prepared != Some((self.ctr, nb)) {
            self.expand_w(nb);
        }
        self.prepared = None;
        let d = self.delta.as_block().to_u128();
        let q = &mut self.cols[..m];
        let u = &self.u[offset..offset + Self::CHUNKS * nb];
        if let Some(check) = check.as_deref_mut() {
            check.begin_batch(nb);
        }
        for (c, (cols, uc)) in q.chunks_exact_mut(K * nb).zip(u.chunks_exact(nb)).enumerate() {
            // Q_i = W_i ⊕ Δ_i·(u_c ⊕ r).
            for (b, col) in cols.chunks_exact_mut(nb).enumerate() {
                let i = c * K + b;
                let mask = Block::ONES.select((d >> i) & 1 == 1);
                for (w, &v) in col.iter_mut().zip(uc) {
                    *w ^= v & mask;
                }
                if let Some(check) = check.as_deref_mut() {
                    check.fold_column(i, col);
                }
            }
        }
        self.ctr += nb as u64;
        transpose_into_rows(q, rows);
    }
}

impl<S: Security, const K: usize> Drop for SoftSpokenSender<S, K> {
    fn drop(&mut self) {
        self.cols.zeroize();
        self.u.zeroize();
        self.scratch.zeroize();
    }
}

impl<S: Security, const K: usize> std::fmt::Debug for SoftSpokenSender<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftSpokenSender")
            .field("security", &S::NAME)
            .field("k", &K)
            .field("ot_count", &self.ot_index)
            .finish_non_exhaustive()
    }
}

/// The receiver (evaluator) of a SoftSpokenOT session with parameter `K`;
/// `S` is the security level, as for [`super::OtExtReceiver`].
pub struct SoftSpokenReceiver<S: Security = SemiHonest, const K: usize = SOFTSPOKEN_K> {
    /// The leaves' streams, `2^K` per chunk.
    prgs: ColumnPrgs,
    ctr: u64,
    ot_index: u64,
    prg: Prg,
    /// What the check's challenges are bound to ([`Self::bind_check`]).
    binding: Option<CheckBinding>,
    /// The GGM corrections as sent (the check's transcript starts with them).
    corrections: Vec<Block>,
    cols: Vec<Block>,
    u: Vec<Block>,
    rbits: Vec<Block>,
    scratch: Vec<Block>,
    /// Test hook: flip bit `row` of chunk `chunk`'s correction column, as a
    /// receiver using another choice bit in that chunk would. Rows count
    /// across the session as the PRG counters do (see IKNP's hook).
    #[cfg(test)]
    pub(crate) cheat_flips: Vec<(usize, usize)>,
    _security: PhantomData<S>,
}

impl<S: Security, const K: usize> SoftSpokenReceiver<S, K> {
    const CHUNKS: usize = {
        check_k(K);
        KAPPA / K
    };

    /// Runs the 128 base OTs as their sender, builds the GGM trees and sends
    /// their corrections (flushed at once: the sender starts on its leaves
    /// while this side computes its first columns).
    pub fn setup<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg) -> Result<Self, OtError> {
        let started = base::SenderStart::send(ch, prg)?;
        Self::setup_started(ch, prg, started)
    }

    /// [`SoftSpokenReceiver::setup`] when the base OTs' first message
    /// already went out ([`base::SenderStart::send`]).
    pub fn setup_started<T: Read + Write>(
        ch: &mut Channel<T>,
        prg: &mut Prg,
        started: base::SenderStart,
    ) -> Result<Self, OtError> {
        Self::setup_inner(ch, prg, started, None)
    }

    /// The set-up, with a test hook: `tree_flip` XORs a block into one
    /// GGM correction before it is sent (a cheating receiver).
    fn setup_inner<T: Read + Write>(
        ch: &mut Channel<T>,
        prg: &mut Prg,
        started: base::SenderStart,
        tree_flip: Option<(usize, Block)>,
    ) -> Result<Self, OtError> {
        let chunks = Self::CHUNKS;
        let keys = started.finish(ch, KAPPA)?;
        let mut corrections = Zeroizing::new(vec![Block::ZERO; chunks * 2 * (K - 1)]);
        let mut leaves = Zeroizing::new(vec![Block::ZERO; chunks << K]);
        for c in 0..chunks {
            ggm::full_tree(
                &keys[c * K..(c + 1) * K],
                &mut leaves[c << K..(c + 1) << K],
                &mut corrections[c * 2 * (K - 1)..(c + 1) * 2 * (K - 1)],
            );
        }
        if let Some((i, flip)) = tree_flip {
            corrections[i] ^= flip;
        }
        // Sent at once: the sender builds its leaves and expands its first
        // batch's streams from them while this side computes its columns.
        ch.send_blocks(&corrections)?;
        ch.flush()?;
        Ok(SoftSpokenReceiver {
            prgs: ColumnPrgs::new(leaves.iter(), false),
            ctr: 0,
            ot_index: 0,
            prg: Prg::from_seed(prg.fork_seed()),
            binding: None,
            corrections: corrections.to_vec(),
            cols: Vec::new(),
            u: Vec::new(),
            rbits: Vec::new(),
            scratch: Vec::new(),
            #[cfg(test)]
            cheat_flips: Vec::new(),
            _security: PhantomData,
        })
    }

    /// OTs received by this session so far.
    pub fn ot_count(&self) -> u64 {
        self.ot_index
    }

    /// Binds the consistency check's challenges of every later call to
    /// `binding` (the sender's, [`SoftSpokenSender::bind_check`]).
    pub fn bind_check(&mut self, binding: CheckBinding) {
        self.binding = Some(binding);
    }

    /// Correlated OT: `labels[j] = q_j ⊕ choices[j]·Δ`, where the sender got
    /// `q_j` and Δ is its correlation.
    ///
    /// Sends `8 + (16/K)·⌈n/128⌉·128` bytes (plus the check's in malicious
    /// mode). `choices` and `labels` must have the same length; in
    /// malicious mode, [`Self::bind_check`] must have been called.
    pub fn receive_correlated<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        choices: &[bool],
        labels: &mut [Block],
    ) -> Result<(), OtError> {
        let binding = self.binding;
        let binding = driver::binding_for::<S>(binding.as_ref())?;
        driver::receive_correlated(self, ch, binding, choices, labels)?;
        self.ot_index += labels.len() as u64;
        Ok(())
    }
}

impl<S: Security, const K: usize> ReceiverBatches for SoftSpokenReceiver<S, K> {
    fn random_bool(&mut self) -> bool {
        self.prg.random_bool()
    }

    fn setup_message(&self) -> &[Block] {
        &self.corrections
    }

    /// The `T` columns are re-expanded from the leaves, a chunk at a time.
    fn answer(&self, check: ReceiverCheck) -> CheckAnswer {
        check.answer(&ChunkColumns::<K> { prgs: &self.prgs, cache: RefCell::default() })
    }

    fn extend_batch<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        choices: &[bool],
        rows: &mut [Block],
        check: Option<&mut ReceiverCheck>,
    ) -> Result<(), OtError> {
        let nb = rows.len().div_ceil(128);
        let m = 128 * nb;
        let ctr = self.ctr;
        if self.cols.len() < m {
            let full = BATCH_ROWS.max(m);
            self.cols.resize(full, Block::ZERO);
            self.u.resize(Self::CHUNKS * full / 128, Block::ZERO);
            self.rbits.resize(full / 128, Block::ZERO);
            self.scratch.resize(full / 128, Block::ZERO);
        }
        let r = &mut self.rbits[..nb];
        r.fill(Block::ZERO);
        for (rb, cs) in r.iter_mut().zip(choices.chunks(128)) {
            *rb = Block::new(pack_bits(cs));
        }
        let t = &mut self.cols[..m];
        let g = &mut self.u[..Self::CHUNKS * nb];
        let scratch = &mut self.scratch[..nb];
        for (c, (cols, uc)) in t.chunks_exact_mut(K * nb).zip(g.chunks_exact_mut(nb)).enumerate() {
            // u_c ⊕ r: start from r, add every leaf's stream.
            uc.copy_from_slice(r);
            receiver_chunk(&self.prgs, K, c, ctr, cols, Some(uc), scratch);
            #[cfg(test)]
            for &(_, row) in self.cheat_flips.iter().filter(|f| f.0 == c) {
                if let Some(row) = row.checked_sub(128 * ctr as usize).filter(|&k| k < m) {
                    uc[row / 128] ^= Block::new(1u128 << (row % 128));
                }
            }
            // Each chunk's column goes out as soon as it is made (the
            // channel's buffer sends them in a few writes): the sender's
            // first bytes do not wait for the whole batch.
            ch.send_blocks(uc)?;
        }
        self.ctr += nb as u64;
        if let Some(check) = check {
            check.push_batch(ctr, r, g);
        }
        transpose_into_rows(t, rows);
        Ok(())
    }
}

impl<S: Security, const K: usize> Drop for SoftSpokenReceiver<S, K> {
    fn drop(&mut self) {
        self.cols.zeroize();
        self.u.zeroize();
        self.rbits.zeroize();
        self.scratch.zeroize();
    }
}

impl<S: Security, const K: usize> std::fmt::Debug for SoftSpokenReceiver<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftSpokenReceiver")
            .field("security", &S::NAME)
            .field("k", &K)
            .field("ot_count", &self.ot_index)
            .finish_non_exhaustive()
    }
}

/// The receiver's `T` columns for the check, re-expanded from the leaves a
/// chunk at a time: the check asks for columns `0..128` of a batch in
/// order, so each chunk's `K` columns are computed once, when its first
/// column is asked for, and kept until the next chunk's.
struct ChunkColumns<'a, const K: usize> {
    prgs: &'a ColumnPrgs,
    cache: RefCell<ChunkCache>,
}

/// One chunk's columns of one batch, wiped when replaced or dropped.
#[derive(Default)]
struct ChunkCache {
    /// Chunk, counter and blocks per column of what `cols` holds.
    key: Option<(usize, u64, usize)>,
    cols: Zeroizing<Vec<Block>>,
    scratch: Zeroizing<Vec<Block>>,
}

impl<const K: usize> ColumnSource for ChunkColumns<'_, K> {
    fn expand(&self, i: usize, ctr: u64, col: &mut [Block]) {
        let (c, b, nb) = (i / K, i % K, col.len());
        let mut cache = self.cache.borrow_mut();
        if cache.key != Some((c, ctr, nb)) {
            let ChunkCache { key, cols, scratch } = &mut *cache;
            cols.resize(K * nb, Block::ZERO);
            scratch.resize(nb, Block::ZERO);
            receiver_chunk(self.prgs, K, c, ctr, cols, None, scratch);
            *key = Some((c, ctr, nb));
        }
        col.copy_from_slice(&cache.cols[b * nb..(b + 1) * nb]);
    }
}

impl<S: Security, const K: usize> CorrelatedOtSender for SoftSpokenSender<S, K> {
    fn setup<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg, delta: Delta) -> Result<Self, OtError> {
        Self::setup(ch, prg, delta)
    }

    fn bind_check(&mut self, binding: CheckBinding) {
        Self::bind_check(self, binding)
    }

    fn send_correlated<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        zero_labels: &mut [Block],
    ) -> Result<(), OtError> {
        Self::send_correlated(self, ch, zero_labels)
    }
}

impl<S: Security, const K: usize> CorrelatedOtReceiver for SoftSpokenReceiver<S, K> {
    fn setup_started<T: Read + Write>(
        ch: &mut Channel<T>,
        prg: &mut Prg,
        started: base::SenderStart,
    ) -> Result<Self, OtError> {
        Self::setup_started(ch, prg, started)
    }

    fn bind_check(&mut self, binding: CheckBinding) {
        Self::bind_check(self, binding)
    }

    fn receive_correlated<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        choices: &[bool],
        labels: &mut [Block],
    ) -> Result<(), OtError> {
        Self::receive_correlated(self, ch, choices, labels)
    }
}
