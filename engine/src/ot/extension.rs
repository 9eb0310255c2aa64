//! IKNP OT extension with the ALSZ improvements, correlated by Δ.
//!
//! # Construction
//!
//! Ishai, Kilian, Nissim, Petrank, *Extending Oblivious Transfers
//! Efficiently*, Crypto 2003, with the improvements of Asharov, Lindell,
//! Schneider, Zohner, *More Efficient Oblivious Transfer and Extensions for
//! Faster Secure Computation*, CCS 2013 (ALSZ): the κ = 128 base OTs carry
//! random PRG seeds, so the receiver sends a single column per base OT, and
//! the correlated-OT variant needs no message from the sender.
//!
//! Roles are reversed in the base OTs. The extension **sender** (garbler)
//! is the base-OT receiver with choice string `s = Δ` and learns
//! `k_i^{s_i}`; the extension **receiver** (evaluator) is the base-OT
//! sender and learns both `k_i^0, k_i^1` ([`super::base`], once per
//! session). For a batch of `m` OTs with choice bits `r` (an `m`-bit column):
//!
//! ```text
//! receiver:  t^i = G(k_i^0),  u^i = t^i ⊕ G(k_i^1) ⊕ r     ──u^1..u^128──▶
//! sender:    q^i = G(k_i^{s_i}) ⊕ s_i·u^i  (= t^i ⊕ s_i·r)
//! rows:      q_j = t_j ⊕ r_j·Δ              (transpose the 128 × m matrices)
//! ```
//!
//! `G` is AES-128 in counter mode keyed by the base-OT key, one stream per
//! column, continued across calls (so a session can be extended again and
//! again after one set of base OTs). The row `q_j` is the garbler's zero
//! label and `t_j = q_j ⊕ r_j·Δ` the evaluator's label: the **correlated
//! OT with correlation Δ**, delivered with the evaluator's one message.
//!
//! * Random OT: the sender's messages are `H(q_j, τ_j)`, `H(q_j ⊕ Δ, τ_j)`
//!   and the receiver's `H(t_j, τ_j)`, with `H` the TMMO hash of
//!   [`crate::hash`] and the tweak `τ_j = 2^127 + j` for the session-wide OT
//!   index `j` (garbling's tweaks are below 2^64, so the two never meet).
//!   The sender's offset Δ has lsb 1 (point-and-permute), so the receiver
//!   knows one bit of `s`: correlation robustness then rests on 127 unknown
//!   bits, as in every Δ-correlated IKNP used for garbling.
//! * Chosen-message OT: the sender additionally sends
//!   `m_j^b ⊕ H(q_j ⊕ b·Δ, τ_j)` for `b = 0, 1` (32 bytes per OT).
//!
//! # Performance
//!
//! Rows are processed in batches of [`BATCH_ROWS`] (1 MiB of matrix per
//! batch per party). Each column is produced and finished while it is in
//! L1: the column PRG encrypts `BATCH_ROWS / 128` counter blocks in one AES
//! call (the `aes` crate's VAES path), then the receiver XORs in the other
//! stream and its choice bits, the sender its `s_i·u^i`. The matrix is then
//! transposed 128 × 128 tile by tile in safe Rust ([`super::transpose`],
//! four tiles per pass over the columns' cache lines) straight into the
//! caller's output, and the receiver's columns go to the channel as one
//! large write per batch. Nothing is allocated per OT; per session, two
//! 1 MiB buffers per party. Each party is single-threaded.
//!
//! # Malicious receiver
//!
//! With the [`MaliciousReceiver`](super::MaliciousReceiver) parameter each
//! call appends [`KOS_PADDING`] random OTs and runs the revised KOS check of
//! [`super::check`] on the untransposed columns before returning (and, for
//! chosen-message OT, before the sender sends anything that depends on its
//! messages). The sender folds each column into the check while the column
//! is in L1; the receiver re-expands its columns from `G(k_i^0)` once the
//! challenge has arrived (see the check's module docs).

use std::io::{Read, Write};
use std::marker::PhantomData;

use aes::cipher::{Array, KeyInit};
use aes::Aes128;
use zeroize::{Zeroize, Zeroizing};

use super::base;
use super::check::{CheckAnswer, CheckBinding, ColumnSource, Products, ReceiverCheck, SenderCheck};
use super::driver::{self, transpose_into_rows, ReceiverBatches, SenderBatches};
use super::{CorrelatedOtReceiver, CorrelatedOtSender, OtError, Security, SemiHonest};
use crate::block::Block;
use crate::channel::Channel;
use crate::hash::{Tmmo, TweakableHash};
use crate::prg::{encrypt_blocks_in_place, Delta, Prg};
use crate::simd::{AesCtrDot, Unreduced};

/// Number of base OTs, the computational security parameter κ.
pub(crate) const KAPPA: usize = 128;

/// OTs per internal batch (a multiple of 128).
pub(crate) const BATCH_ROWS: usize = 1 << 16;

/// Hash tweaks of OT outputs have this bit set; garbling's tweaks never do.
const TWEAK_DOMAIN: u128 = 1 << 127;

/// Rows hashed per TMMO call.
const HASH_CHUNK: usize = 2048;

/// 128 AES-CTR streams, one per base OT key: the column PRG `G`.
pub(crate) struct ColumnPrgs {
    ciphers: Vec<Aes128>,
    /// The same streams re-expanded straight into the KOS check's inner
    /// products, where the CPU has VAES and VPCLMULQDQ (malicious-mode
    /// receivers only).
    fused: Option<AesCtrDot>,
}

impl ColumnPrgs {
    /// The streams under `seeds`; `fused` asks for the fused check kernel
    /// too.
    pub(crate) fn new<'a>(seeds: impl Iterator<Item = &'a Block> + Clone, fused: bool) -> Self {
        let ciphers = seeds
            .clone()
            .map(|s| {
                let mut key = Array::from(s.to_bytes());
                let c = Aes128::new(&key);
                key.zeroize();
                c
            })
            .collect();
        let fused = if fused { AesCtrDot::detect(seeds) } else { None };
        ColumnPrgs { ciphers, fused }
    }

    /// Writes blocks `ctr .. ctr + col.len()` of column `i`'s stream into
    /// `col` (one batched AES call).
    pub(crate) fn expand_column(&self, i: usize, ctr: u64, col: &mut [Block]) {
        for (k, b) in col.iter_mut().enumerate() {
            *b = Block::new(u128::from(ctr) + k as u128);
        }
        encrypt_blocks_in_place(&self.ciphers[i], col);
    }
}

impl ColumnSource for ColumnPrgs {
    fn expand(&self, i: usize, ctr: u64, col: &mut [Block]) {
        self.expand_column(i, ctr, col);
    }

    fn dot(&self, i: usize, ctr: u64, chi: &[Block], kernel: &Products, scratch: &mut [Block]) -> Unreduced {
        match &self.fused {
            Some(f) => f.dot(i, ctr, chi),
            None => {
                let col = &mut scratch[..chi.len()];
                self.expand_column(i, ctr, col);
                kernel.dot(chi, col)
            }
        }
    }
}

fn tweak(index: u64) -> Block {
    Block::new(TWEAK_DOMAIN | u128::from(index))
}

/// The sender (garbler) of an IKNP/ALSZ OT-extension session; `S` is the
/// security level ([`SemiHonest`] by default, or
/// [`MaliciousReceiver`](super::MaliciousReceiver)).
///
/// Created once per session with [`OtExtSender::setup`] (128 base OTs),
/// then called any number of times; each call must be matched by the
/// corresponding receiver call with the same number of OTs.
pub struct OtExtSender<S: Security = SemiHonest> {
    delta: Delta,
    prgs: ColumnPrgs,
    ctr: u64,
    ot_index: u64,
    /// What the check's challenges are bound to ([`Self::bind_check`]).
    binding: Option<CheckBinding>,
    cols: Vec<Block>,
    u: Vec<Block>,
    hash: Tmmo,
    _security: PhantomData<S>,
}

impl<S: Security> OtExtSender<S> {
    /// Runs the base OTs as their receiver, with Δ's bits as choices, and
    /// returns a session whose correlated OTs have correlation `delta`.
    pub fn setup<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg, delta: Delta) -> Result<Self, OtError> {
        let d = delta.as_block().to_u128();
        // Δ's bits, zeroised when dropped (also on the error path).
        let bits: Zeroizing<Vec<bool>> = Zeroizing::new((0..KAPPA).map(|i| (d >> i) & 1 == 1).collect());
        let keys = base::receive_random(ch, prg, &bits)?;
        Ok(OtExtSender {
            delta,
            prgs: ColumnPrgs::new(keys.iter(), false),
            ctr: 0,
            ot_index: 0,
            binding: None,
            cols: Vec::new(),
            u: Vec::new(),
            hash: Tmmo::new(),
            _security: PhantomData,
        })
    }

    /// [`OtExtSender::setup`] with a fresh random Δ (for uses of OT outside
    /// garbling).
    pub fn setup_with_random_delta<T: Read + Write>(
        ch: &mut Channel<T>,
        prg: &mut Prg,
    ) -> Result<Self, OtError> {
        let delta = Delta::random(prg);
        Self::setup(ch, prg, delta)
    }

    /// The session's correlation Δ (the garbler's offset).
    pub fn delta(&self) -> &Delta {
        &self.delta
    }

    /// OTs delivered by this session so far (the next OT's hash index).
    pub fn ot_count(&self) -> u64 {
        self.ot_index
    }

    /// Binds the consistency check's challenges of every later call to
    /// `binding` (the session's; see [`CheckBinding`]). Required before a
    /// call with [`MaliciousReceiver`](super::MaliciousReceiver), ignored
    /// without the check; the receiver must use the same binding.
    pub fn bind_check(&mut self, binding: CheckBinding) {
        self.binding = Some(binding);
    }

    /// Correlated OT: fills `zero_labels` with `x_j`; the receiver gets
    /// `x_j ⊕ b_j·Δ` for its choice bits `b_j`.
    ///
    /// Receives `8 + 16·⌈n/128⌉·128` bytes (plus the KOS check's in
    /// malicious mode) and sends nothing, in either mode. Errors with
    /// [`OtError::LengthMismatch`] if the receiver asked for a different
    /// number of OTs, with [`OtError::ConsistencyCheckFailed`] if the
    /// KOS check fails (then the outputs must be discarded), and with
    /// [`OtError::InvalidInput`] in malicious mode before
    /// [`Self::bind_check`].
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

    /// Random OT: fills `out[j]` with two random messages; the receiver gets
    /// `out[j][b_j]`. Same communication as [`Self::send_correlated`];
    /// allocates `16·n` bytes of scratch for the correlated rows.
    pub fn send_random<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        out: &mut [[Block; 2]],
    ) -> Result<(), OtError> {
        let first = self.ot_index;
        let mut q = Zeroizing::new(vec![Block::ZERO; out.len()]);
        self.send_correlated(ch, &mut q)?;
        let delta = self.delta.as_block();
        let mut a = Zeroizing::new(vec![Block::ZERO; HASH_CHUNK]);
        let mut b = Zeroizing::new(vec![Block::ZERO; HASH_CHUNK]);
        let mut scratch = Zeroizing::new(vec![Block::ZERO; HASH_CHUNK]);
        for (c, (qs, os)) in q.chunks(HASH_CHUNK).zip(out.chunks_mut(HASH_CHUNK)).enumerate() {
            let base_index = first + (c * HASH_CHUNK) as u64;
            let (a, b) = (&mut a[..qs.len()], &mut b[..qs.len()]);
            for ((x, y), &qj) in a.iter_mut().zip(b.iter_mut()).zip(qs) {
                *x = qj;
                *y = qj ^ delta;
            }
            self.hash.hash_in_place(a, &mut scratch, |k| tweak(base_index + k as u64));
            self.hash.hash_in_place(b, &mut scratch, |k| tweak(base_index + k as u64));
            for ((o, &x), &y) in os.iter_mut().zip(a.iter()).zip(b.iter()) {
                *o = [x, y];
            }
        }
        Ok(())
    }

    /// Chosen-message OT: the receiver gets `messages[j][b_j]`. Sends
    /// `32·n` bytes on top of [`Self::send_random`]'s communication, after
    /// the KOS check has passed in malicious mode; allocates `48·n` bytes of
    /// scratch (the random-OT pads and their correlated rows).
    pub fn send_chosen<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        messages: &[[Block; 2]],
    ) -> Result<(), OtError> {
        let mut keys = Zeroizing::new(vec![[Block::ZERO; 2]; messages.len()]);
        self.send_random(ch, &mut keys)?;
        let mut y = vec![Block::ZERO; 2 * HASH_CHUNK];
        for (ks, ms) in keys.chunks(HASH_CHUNK).zip(messages.chunks(HASH_CHUNK)) {
            let y = &mut y[..2 * ks.len()];
            for ((pair, k), m) in y.chunks_exact_mut(2).zip(ks).zip(ms) {
                pair[0] = k[0] ^ m[0];
                pair[1] = k[1] ^ m[1];
            }
            ch.send_blocks(y)?;
        }
        ch.flush()?;
        Ok(())
    }
}

impl<S: Security> SenderBatches for OtExtSender<S> {
    fn message_blocks(len: usize) -> usize {
        len.div_ceil(128) * 128
    }

    /// Receives the receiver's columns for a batch of `len` OTs (at most
    /// [`BATCH_ROWS`], rounded up to a multiple of 128) into `self.u`, from
    /// block `offset` on.
    fn recv_batch<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        len: usize,
        offset: usize,
    ) -> Result<&[Block], OtError> {
        let m = len.div_ceil(128) * 128;
        // Buffers are allocated on first use (a session that only sets up
        // pays nothing for them); `u` may also hold the KOS extra block
        // after a full batch.
        if self.cols.len() < m {
            self.cols.resize(BATCH_ROWS.max(m), Block::ZERO);
        }
        if self.u.len() < offset + m {
            self.u.resize(BATCH_ROWS.max(offset + m), Block::ZERO);
        }
        ch.recv_blocks(&mut self.u[offset..offset + m])?;
        Ok(&self.u[offset..offset + m])
    }

    /// Computes one batch of `rows.len()` OTs from the columns that
    /// [`Self::recv_batch`] put at `offset` in `self.u`, folding them into
    /// `check`.
    fn finish_batch(&mut self, rows: &mut [Block], offset: usize, mut check: Option<&mut SenderCheck>) {
        let m = rows.len().div_ceil(128) * 128;
        let nb = m / 128;
        let q = &mut self.cols[..m];
        let u = &self.u[offset..offset + m];
        let d = self.delta.as_block().to_u128();
        if let Some(check) = check.as_deref_mut() {
            check.begin_batch(nb);
        }
        // Column by column, while the column is in L1: q^i = G(k_i^{s_i}) ⊕
        // s_i·u^i, then folded into the check.
        for (i, (qc, uc)) in q.chunks_exact_mut(nb).zip(u.chunks_exact(nb)).enumerate() {
            self.prgs.expand_column(i, self.ctr, qc);
            // Branch-free on the secret bit s_i = Δ_i.
            let mask = Block::new(0u128.wrapping_sub((d >> i) & 1));
            for (qq, &uu) in qc.iter_mut().zip(uc) {
                *qq ^= uu & mask;
            }
            if let Some(check) = check.as_deref_mut() {
                check.fold_column(i, qc);
            }
        }
        self.ctr += nb as u64;
        transpose_into_rows(q, rows);
    }
}

impl<S: Security> Drop for OtExtSender<S> {
    fn drop(&mut self) {
        self.cols.zeroize();
        self.u.zeroize();
    }
}

impl<S: Security> std::fmt::Debug for OtExtSender<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtExtSender")
            .field("security", &S::NAME)
            .field("ot_count", &self.ot_index)
            .finish_non_exhaustive()
    }
}

/// The receiver (evaluator) of an IKNP/ALSZ OT-extension session; `S` is
/// the security level ([`SemiHonest`] by default, or
/// [`MaliciousReceiver`](super::MaliciousReceiver)).
///
/// Created once per session with [`OtExtReceiver::setup`] (128 base OTs),
/// then called any number of times, matching the sender's calls.
pub struct OtExtReceiver<S: Security = SemiHonest> {
    prgs0: ColumnPrgs,
    prgs1: ColumnPrgs,
    ctr: u64,
    ot_index: u64,
    prg: Prg,
    /// What the check's challenges are bound to ([`Self::bind_check`]).
    binding: Option<CheckBinding>,
    cols: Vec<Block>,
    u: Vec<Block>,
    rbits: Vec<Block>,
    hash: Tmmo,
    /// Test hook: flip bit `(column, row)` of the `u` matrix, as a
    /// receiver using inconsistent choice bits would. Rows are numbered
    /// across the session's batches as the column PRGs count them (row
    /// `128·ctr + k`), so in the first call, row `r` is the call's row `r`
    /// with each batch padded to a multiple of 128 and the KOS extra block
    /// right after the last batch.
    #[cfg(test)]
    pub(crate) cheat_flips: Vec<(usize, usize)>,
    _security: PhantomData<S>,
}

impl<S: Security> OtExtReceiver<S> {
    /// Runs the 128 base OTs as their sender and returns a session.
    pub fn setup<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg) -> Result<Self, OtError> {
        let started = base::SenderStart::send(ch, prg)?;
        Self::setup_started(ch, prg, started)
    }

    /// [`OtExtReceiver::setup`] when the base OTs' first message already
    /// went out ([`base::SenderStart::send`], e.g. with the session's hello).
    pub fn setup_started<T: Read + Write>(
        ch: &mut Channel<T>,
        prg: &mut Prg,
        started: base::SenderStart,
    ) -> Result<Self, OtError> {
        let keys = started.finish(ch, KAPPA)?;
        Ok(OtExtReceiver {
            // Only the T columns G(k_i^0) are re-expanded for the check.
            prgs0: ColumnPrgs::new(keys.iter().map(|k| &k[0]), S::MALICIOUS_RECEIVER),
            prgs1: ColumnPrgs::new(keys.iter().map(|k| &k[1]), false),
            ctr: 0,
            ot_index: 0,
            prg: Prg::from_seed(prg.fork_seed()),
            binding: None,
            cols: Vec::new(),
            u: Vec::new(),
            rbits: Vec::new(),
            hash: Tmmo::new(),
            #[cfg(test)]
            cheat_flips: Vec::new(),
            _security: PhantomData,
        })
    }

    /// OTs received by this session so far (the next OT's hash index).
    pub fn ot_count(&self) -> u64 {
        self.ot_index
    }

    /// Binds the consistency check's challenges of every later call to
    /// `binding`, as the sender's [`OtExtSender::bind_check`] (the same
    /// value on both sides).
    pub fn bind_check(&mut self, binding: CheckBinding) {
        self.binding = Some(binding);
    }

    /// Correlated OT: `labels[j] = x_j ⊕ choices[j]·Δ`, where the sender
    /// got `x_j` and Δ is its correlation.
    ///
    /// Sends `8 + 16·⌈n/128⌉·128` bytes (plus the KOS check's in malicious
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

    /// Random OT: `out[j]` is the sender's message `choices[j]` of pair `j`.
    pub fn receive_random<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        choices: &[bool],
        out: &mut [Block],
    ) -> Result<(), OtError> {
        let first = self.ot_index;
        self.receive_correlated(ch, choices, out)?;
        let mut scratch = Zeroizing::new(vec![Block::ZERO; HASH_CHUNK]);
        for (c, os) in out.chunks_mut(HASH_CHUNK).enumerate() {
            let base_index = first + (c * HASH_CHUNK) as u64;
            self.hash.hash_in_place(os, &mut scratch, |k| tweak(base_index + k as u64));
        }
        Ok(())
    }

    /// Fully random OT: draws the choice bits from this session's PRG
    /// (seeded from the caller's at set-up) into `choices`, and sets
    /// `out[j]` to the sender's message `choices[j]` of pair `j`. Pairs with
    /// the sender's [`OtExtSender::send_random`].
    pub fn receive_random_choices<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        choices: &mut [bool],
        out: &mut [Block],
    ) -> Result<(), OtError> {
        for c in choices.iter_mut() {
            *c = self.prg.random_bool();
        }
        self.receive_random(ch, choices, out)
    }

    /// Chosen-message OT: `out[j]` is the sender's `messages[j][choices[j]]`.
    pub fn receive_chosen<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        choices: &[bool],
        out: &mut [Block],
    ) -> Result<(), OtError> {
        self.receive_random(ch, choices, out)?;
        let mut y = vec![Block::ZERO; 2 * HASH_CHUNK];
        for (os, cs) in out.chunks_mut(HASH_CHUNK).zip(choices.chunks(HASH_CHUNK)) {
            let y = &mut y[..2 * os.len()];
            ch.recv_blocks(y)?;
            for ((o, pair), &c) in os.iter_mut().zip(y.chunks_exact(2)).zip(cs) {
                // Constant-time select of pair[c].
                *o ^= pair[0] ^ (pair[0] ^ pair[1]).select(c);
            }
        }
        Ok(())
    }
}

impl<S: Security> ReceiverBatches for OtExtReceiver<S> {
    fn random_bool(&mut self) -> bool {
        self.prg.random_bool()
    }

    /// The `T` columns are `G(k_i^0)`: re-expanded, not kept.
    fn answer(&self, check: ReceiverCheck) -> CheckAnswer {
        check.answer(&self.prgs0)
    }

    fn extend_batch<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        choices: &[bool],
        rows: &mut [Block],
        check: Option<&mut ReceiverCheck>,
    ) -> Result<(), OtError> {
        let m = rows.len().div_ceil(128) * 128;
        let nb = m / 128;
        let ctr = self.ctr;
        if self.cols.len() < m {
            self.cols.resize(BATCH_ROWS.max(m), Block::ZERO);
            self.u.resize(BATCH_ROWS.max(m), Block::ZERO);
            self.rbits.resize(BATCH_ROWS.max(m) / 128, Block::ZERO);
        }
        let r = &mut self.rbits[..nb];
        r.fill(Block::ZERO);
        for (rb, cs) in r.iter_mut().zip(choices.chunks(128)) {
            *rb = Block::new(pack_bits(cs));
        }
        let t = &mut self.cols[..m];
        let g = &mut self.u[..m];
        // Column by column, while the column is in L1:
        // t^i = G(k_i^0), u^i = t^i ⊕ G(k_i^1) ⊕ r.
        for (i, (tc, gc)) in t.chunks_exact_mut(nb).zip(g.chunks_exact_mut(nb)).enumerate() {
            self.prgs0.expand_column(i, ctr, tc);
            self.prgs1.expand_column(i, ctr, gc);
            for ((gg, &tt), &rr) in gc.iter_mut().zip(tc.iter()).zip(r.iter()) {
                *gg ^= tt ^ rr;
            }
        }
        self.ctr += nb as u64;
        #[cfg(test)]
        for &(col, row) in &self.cheat_flips {
            if let Some(row) = row.checked_sub(128 * ctr as usize).filter(|&k| k < m) {
                g[col * nb + row / 128] ^= Block::new(1u128 << (row % 128));
            }
        }
        ch.send_blocks(g)?;
        if let Some(check) = check {
            check.push_batch(ctr, r, g);
        }
        transpose_into_rows(t, rows);
        Ok(())
    }
}

/// Packs up to 128 bools, bit `k` from `bits[k]`.
pub(crate) fn pack_bits(bits: &[bool]) -> u128 {
    let mut v = 0u128;
    let mut chunks = bits.chunks_exact(8);
    for (k, c) in (&mut chunks).enumerate() {
        // Eight 0/1 bytes; the multiply gathers bit i of the top byte from
        // byte i (no carries: every partial product lands on its own bit).
        let x = u64::from_le_bytes(std::array::from_fn(|i| u8::from(c[i])));
        let byte = x.wrapping_mul(0x0102_0408_1020_4080) >> 56;
        v |= u128::from(byte) << (8 * k);
    }
    let done = bits.len() - chunks.remainder().len();
    for (i, &b) in chunks.remainder().iter().enumerate() {
        v |= u128::from(b) << (done + i);
    }
    v
}

impl<S: Security> Drop for OtExtReceiver<S> {
    fn drop(&mut self) {
        self.cols.zeroize();
        self.u.zeroize();
        self.rbits.zeroize();
    }
}

impl<S: Security> std::fmt::Debug for OtExtReceiver<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtExtReceiver")
            .field("security", &S::NAME)
            .field("ot_count", &self.ot_index)
            .finish_non_exhaustive()
    }
}

impl<S: Security> CorrelatedOtSender for OtExtSender<S> {
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

impl<S: Security> CorrelatedOtReceiver for OtExtReceiver<S> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::memory_pair;
    use crate::ot::MaliciousReceiver;

    #[test]
    fn pack_bits_order() {
        let mut bits = [false; 128];
        bits[0] = true;
        bits[9] = true;
        bits[127] = true;
        assert_eq!(pack_bits(&bits), 1 | (1 << 9) | (1 << 127));
        assert_eq!(pack_bits(&[true; 3]), 7);
        let bits: Vec<bool> = (0..123).map(|i| (i * 37 + 5) % 7 < 3).collect();
        let expect = bits.iter().enumerate().fold(0u128, |v, (i, &b)| v | (u128::from(b) << i));
        assert_eq!(pack_bits(&bits), expect);
    }

    /// One malicious-mode call of `n` OTs (all choice bits 1) on a fresh
    /// session whose sender draws Δ from `sender_seed`, with the receiver
    /// flipping the bits `flips` of its `u` matrix (see `cheat_flips`).
    /// Returns the sender's result and Δ.
    fn run_cheater(n: usize, sender_seed: u128, flips: Vec<(usize, usize)>) -> (Result<(), OtError>, u128) {
        let (a, b) = memory_pair();
        let sender = std::thread::spawn(move || {
            let mut ch = Channel::new(a);
            let mut prg = Prg::from_seed(Block::new(sender_seed));
            let delta = Delta::random(&mut prg);
            let mut ot = OtExtSender::<MaliciousReceiver>::setup(&mut ch, &mut prg, delta).unwrap();
            ot.bind_check(CheckBinding::new([3; 32]));
            let mut out = vec![Block::ZERO; n];
            (ot.send_correlated(&mut ch, &mut out), ot.delta().as_block().to_u128())
        });
        let mut ch = Channel::new(b);
        let mut prg = Prg::from_seed(Block::new(12));
        let mut ot = OtExtReceiver::<MaliciousReceiver>::setup(&mut ch, &mut prg).unwrap();
        ot.bind_check(CheckBinding::new([3; 32]));
        ot.cheat_flips = flips;
        let choices = vec![true; n];
        let mut out = vec![Block::ZERO; n];
        // The receiver's own call succeeds: it cannot tell it was caught.
        ot.receive_correlated(&mut ch, &choices, &mut out).unwrap();
        drop(ch);
        sender.join().unwrap()
    }

    fn rejected(r: &Result<(), OtError>) -> bool {
        matches!(r, Err(OtError::ConsistencyCheckFailed))
    }

    #[test]
    fn kos_check_rejects_an_inconsistent_column() {
        // Column 0 is Δ's lsb, always 1: the flipped bit always shows.
        assert!(rejected(&run_cheater(1000, 11, vec![(0, 7)]).0));
        assert!(rejected(&run_cheater(1000, 11, vec![(0, 999)]).0));
        // A row of the last batch's rounding to 128 (choice bit 0 there).
        assert!(rejected(&run_cheater(1000, 11, vec![(0, 1010)]).0));
        // The extra block: rows 1024..1152 here.
        assert!(rejected(&run_cheater(1000, 11, vec![(0, 1024)]).0));
        assert!(rejected(&run_cheater(1000, 11, vec![(0, 1024 + 127)]).0));
        // An honest run of the same shape passes.
        assert!(run_cheater(1000, 11, vec![]).0.is_ok());
    }

    #[test]
    fn kos_check_rejects_an_inconsistent_column_in_a_later_batch() {
        // Three batches: 65,536 + 65,536 + 18,928 rows (18,944 with the
        // rounding to 128), then the extra block from row 150,016 on.
        let n = 2 * BATCH_ROWS + 18_928;
        let extra = 2 * BATCH_ROWS + 18_944;
        for row in [BATCH_ROWS, BATCH_ROWS + 4321, 2 * BATCH_ROWS + 18_927, n, extra + 77] {
            assert!(rejected(&run_cheater(n, 11, vec![(0, row)]).0), "row {row}");
        }
        assert!(run_cheater(n, 11, vec![]).0.is_ok());
    }

    #[test]
    fn kos_check_catches_a_flip_in_any_column_where_delta_shows_it() {
        // Column i of the sender's matrix depends on the receiver's u_i only
        // if Δ_i = 1: there a flip must be caught; with Δ_i = 0 it changes
        // nothing the sender sees (the receiver only spoils its own label)
        // and the check passes.
        let mut prg = Prg::from_seed(Block::new(5));
        let n = BATCH_ROWS + 3000;
        let extra_start = (BATCH_ROWS + 3072) as u128;
        let (mut caught, mut passed) = (0, 0);
        for trial in 0..24u128 {
            let col = (prg.random_block().to_u128() % 128) as usize;
            // Rows anywhere in the call, the extra block included.
            let row = (prg.random_block().to_u128() % (extra_start + 128)) as usize;
            let (r, delta) = run_cheater(n, 100 + trial, vec![(col, row)]);
            if (delta >> col) & 1 == 1 {
                assert!(rejected(&r), "column {col}, row {row}: Δ_i = 1");
                caught += 1;
            } else {
                assert!(r.is_ok(), "column {col}, row {row}: Δ_i = 0");
                passed += 1;
            }
        }
        assert!(caught >= 6 && passed >= 3, "{caught} caught, {passed} passed");
        // Several inconsistent columns at once.
        let (r, delta) = run_cheater(n, 7, (1..128).map(|i| (i, 5000 + i)).collect());
        assert!(delta.count_ones() > 1 && rejected(&r));
    }
}
