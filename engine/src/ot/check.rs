//! The consistency check that makes OT extension secure against a malicious
//! receiver: the **revised KOS check** (Keller, Orsini, Scholl, *Actively
//! Secure OT Extension with Optimal Overhead*, Crypto 2015, ePrint 2015/546
//! as revised in 2022, §4 and Fig. 10), which replaces the original check.
//!
//! # Why not the original KOS15 check
//!
//! The original check (KOS15 Fig. 7) combined the *transposed* rows,
//! `Σ χ_j·q_j = t ⊕ x·Δ`, and its proof rested on a lemma that Roy's
//! SoftSpokenOT (Crypto 2022, ePrint 2022/192, §4.1.3 and App. D) showed to
//! be false, with an attack; its security is unproven. KOS revised the
//! paper with a check modelled on SoftSpokenOT's, which is what this module
//! implements (as libOTe and CryProt also do since 2025).
//!
//! # The revised check
//!
//! IKNP works on 128 *columns*, one per base OT: the receiver holds
//! `T_i` and sends `u_i = T_i ⊕ G(k_i^1) ⊕ R`, where `R` is its choice
//! vector; the sender derives `Q_i = G(k_i^{s_i}) ⊕ s_i·u_i`, which for an
//! honest receiver is `Q_i = T_i ⊕ s_i·R` (`s = Δ`). Cut every column into
//! 128-bit blocks `Q_{i,j}`, `T_{i,j}`, `R_j`. Once every `u_i` is fixed,
//! both sides derive a seed (interactively: the sender's fresh seed; here:
//! a hash of the receiver's messages, see below) and expand it into one
//! challenge `χ_j ∈ GF(2^128)` per block index `j`, and
//!
//! ```text
//! receiver:  t_i = T_{i,*} ⊕ Σ_j χ_j·T_{i,j}   (i = 0..128),
//!            x   = R_*     ⊕ Σ_j χ_j·R_j              ──(t_0..t_127, x)──▶
//! sender:    accept iff for every i:  Q_{i,*} ⊕ Σ_j χ_j·Q_{i,j} = t_i ⊕ s_i·x
//! ```
//!
//! where the starred block is one extra block of 128 OTs with random choice
//! bits, added with coefficient 1: it masks `x` and the `t_i`, so the check
//! reveals nothing about the real choices; those 128 OTs are discarded.
//! A receiver that used different choice vectors in different columns must
//! make 128 independent universal-hash equations agree on one `x`; the
//! revised paper's §4 gives the proof and the bound. We use one extra block
//! (128 OTs), as libOTe and CryProt do.
//!
//! Products are in the POLYVAL field (RFC 8452), whose product is the
//! GF(2^128) product times the constant `x^-128`: every `χ_j` is scaled by
//! the same constant, which leaves the challenges uniform and the equations
//! linear, so the check is unchanged.
//!
//! # The challenge: Fiat–Shamir
//!
//! The challenge seed is not sent by the sender: both sides derive it as a
//! hash of everything the receiver sends in the call before its answer,
//!
//! ```text
//! seed = BLAKE3-derive_key("garblet OT check challenge v1",
//!          binding ‖ setup ‖ count ‖ columns of every batch ‖ extra block's columns)[..16]
//! ```
//!
//! in wire order and encoding (`count` the 8-byte little-endian
//! announcement). `setup` is what the receiver sent after the base OTs and
//! before its first call, on which the sender's columns depend: for
//! SoftSpokenOT the GGM corrections (3,072 bytes), for IKNP nothing.
//! (Without it, a receiver could fix its columns, learn the challenge, and
//! only then pick corrections — which it sends after the base OTs, when it
//! knows every key — to suit it: a search the hash would not count.) `binding` ([`CheckBinding`]) is a 32-byte value unique to
//! the session that both sides know before the OT: the session uses its
//! session id (`session::hello::session_id`, a hash of both hellos' fresh
//! nonces). So the receiver sends its answer right after its last columns,
//! in the same flight, and the sender sends **nothing** in a checked call:
//! the interactive check's extra exchange (seed down, answer up) is gone.
//!
//! **Security.** This is the Fiat–Shamir transform of the check, analysed
//! in the random-oracle model with BLAKE3 as the oracle; Doerner, Kondi,
//! Lee and shelat (DKLs23, ePrint 2023/765) derive this check's challenge
//! the same way in their OT extension. The bound we rely on:
//!
//! * Let `ε` be the interactive check's soundness error: the probability,
//!   over one uniform challenge drawn *after* the receiver's columns are
//!   fixed, that columns not consistent with one choice vector pass
//!   beyond what a guess of some bits of Δ explains (that selective
//!   failure — learn `c` bits of Δ, abort with probability `1 − 2^-c` —
//!   the interactive check allows too, and it is unchanged). The revised
//!   KOS analysis (ePrint 2015/546, §4, Fig. 10) and SoftSpokenOT's (Roy,
//!   ePrint 2022/192, §5) bound `ε` by about `2^-κ`, `κ = 128` (the
//!   challenge field is GF(2^128)); we have not re-derived their small
//!   constant factors and write `ε ≈ 2^-128`.
//! * With Fiat–Shamir the receiver chooses the oracle's input: it can
//!   hash candidate transcripts offline and keep one whose challenge suits
//!   it ("grinding"). Each oracle query gives one uniform challenge for one
//!   transcript fixed before the answer is known, so a union bound over
//!   its `q` queries (plus one for a transcript it never queried) gives:
//!   **a receiver making `q` oracle queries passes with inconsistent
//!   columns (beyond the selective failure) with probability at most
//!   `(q + 1)·ε`**. For `q ≤ 2^64` that is about `2^-64`: 64 bits of
//!   statistical security against a grinding receiver, where the
//!   interactive check had about 128. Nothing finer is claimed, and the
//!   bound is only as good as the random-oracle heuristic for BLAKE3.
//! * The binding (the session id, fresh nonces from both hellos) makes the
//!   oracle a fresh one per session: queries made before the session (or
//!   in another one) do not help, so all `q` queries must be made during
//!   the session, before the receiver sends its columns. Within a session,
//!   two calls with identical transcripts would share a challenge; that
//!   costs nothing, since the argument above is per query and the receiver
//!   knows every column stream (both base-OT keys) anyway: only Δ is
//!   secret. Dual execution's two directions share the session id; their
//!   transcripts differ, and the same holds.
//!
//! # Computing it
//!
//! **Lazy reduction.** `Σ_j χ_j·C_{i,j}` is computed as the sum of the
//! *unreduced* 256-bit carry-less products `χ_j ⊗ C_{i,j}`
//! (`simd::ClmulDot`: VPCLMULQDQ or PCLMULQDQ), reduced once per
//! column and call (`polyval_reduce`). Reduction is GF(2)-linear, so this
//! is exactly the sum of the POLYVAL products: the answer is bit for bit the
//! one of a product-by-product computation (tested against `polyval`'s own
//! field multiplication). On CPUs without carry-less multiplication the
//! `polyval` crate computes each product (`Products`).
//!
//! **No copy of the columns.**
//!
//! * The **sender** can fold a batch only once it knows the challenge, i.e.
//!   after the *last* column of the call. It hashes each batch's columns as
//!   they arrive ([`Transcript`], BLAKE3 over the received bytes) and
//!   computes the batch's rows as usual; it keeps no columns. When the
//!   last batch's and the extra block's columns are in, it derives the
//!   challenge and then (a) *re-derives* the `Q` columns of every earlier
//!   batch from its own output rows: the rows of a batch are the transpose
//!   of its `Q` columns (both extensions transpose exactly the columns they
//!   fold; earlier batches are full, [`super::extension::BATCH_ROWS`] rows,
//!   a multiple of 128, so nothing is lost to rounding), so each 128 × 128
//!   tile is transposed back ([`SenderCheck::fold_rows`], a few tiles at a
//!   time in 64 KiB of scratch) and folded; (b) computes the last batch
//!   and the extra block, folding their columns directly (the last batch
//!   may have rows rounded up to 128 that are not in the output). Cost
//!   over the interactive version: BLAKE3 over the received bytes (16 or
//!   4 bytes per OT) and one more 128 × 128 transposition per 128 OTs of
//!   all but the last batch, re-reading the output rows; memory: 64 KiB.
//!   (Keeping the received columns instead would cost 16 or 4 bytes per
//!   OT of memory for the whole call; recomputing them from the PRGs, one
//!   to fifteen AES blocks per OT.) Measured (`garblet bench --json`, the
//!   hashing dominates): see `BENCHMARKS.md`.
//! * The **receiver** hashes exactly the bytes it sends, in order. It
//!   keeps only its packed choice blocks `R_j` (one block per 128 OTs) and
//!   each batch's counter, and once it has sent the extra block's columns
//!   (and flushed them, so that the sender works on them meanwhile) it
//!   derives the challenge and *re-expands* its `T` columns `T_i = G(k_i^0)`
//!   from the column PRGs (`ColumnSource`), one column of a batch at a time,
//!   folding each as it is produced; with VAES and VPCLMULQDQ the two are
//!   fused (`simd::AesCtrDot`: the stream never leaves the registers).
//!   That costs one AES block per OT instead of keeping (and later
//!   re-reading) 16 bytes per OT.
//!
//! Cost per call: the receiver sends the 128 extra OTs' columns (2 KiB) and
//! 129 blocks (2,064 bytes); the sender sends nothing. Each side hashes the
//! receiver's bytes and computes one carry-less 128 × 128 product per OT
//! and 128 reductions; the receiver also re-expands its columns (one AES
//! block per OT), the sender re-transposes its rows. Memory: the sender
//! 64 KiB beyond its batch buffer, the receiver 16 bytes per 128 OTs.

use polyval::universal_hash::{array::Array, UniversalHash};
use polyval::Polyval;
use zeroize::{Zeroize, Zeroizing};

use crate::block::Block;
use crate::prg::Prg;
use crate::simd::{ClmulDot, Unreduced};

use super::transpose::transpose_rows_to_columns;

/// Extra OTs with random choice bits added to each checked call: one block
/// of 128, whose columns mask the check's answer.
pub(crate) const KOS_PADDING: usize = 128;

/// The BLAKE3 key-derivation context of the check's challenge.
const CHALLENGE_CONTEXT: &str = "garblet OT check challenge v1";

/// Tiles of 128 rows that [`SenderCheck::fold_rows`] transposes back per
/// pass: 32 tiles, 64 KiB of columns.
const FOLD_TILES: usize = 32;

/// What binds a checked call's challenge to its session: 32 bytes unique to
/// the session that both parties know before the OT (a garblet session
/// passes its session id, a hash of both hellos' fresh nonces). Without a
/// session (tests, benchmarks), any fixed or random value both sides agree
/// on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckBinding([u8; 32]);

impl CheckBinding {
    /// A binding from its 32 bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        CheckBinding(bytes)
    }
}

/// The Fiat–Shamir transcript of one checked call: the binding, the
/// receiver's set-up message that the sender's columns depend on, and every
/// byte the receiver sends in the call before its answer, in wire order;
/// its hash is the challenge seed.
pub(crate) struct Transcript(blake3::Hasher);

impl Transcript {
    /// Starts the transcript of a call whose receiver announced `count`
    /// OTs (the 8-byte little-endian announcement, as on the wire), in a
    /// session whose receiver sent `setup` after the base OTs
    /// (SoftSpokenOT's GGM corrections; nothing for IKNP).
    pub(crate) fn new(binding: &CheckBinding, setup: &[Block], count: u64) -> Self {
        let mut h = blake3::Hasher::new_derive_key(CHALLENGE_CONTEXT);
        h.update(&binding.0);
        h.update(Block::as_bytes_slice(setup));
        h.update(&count.to_le_bytes());
        Transcript(h)
    }

    /// Appends blocks as they go over the wire.
    pub(crate) fn absorb(&mut self, sent: &[Block]) {
        self.0.update(Block::as_bytes_slice(sent));
    }

    /// The challenge seed: the first 16 bytes of the hash.
    pub(crate) fn challenge(&self) -> Block {
        let h = self.0.finalize();
        let mut seed = [0u8; 16];
        seed.copy_from_slice(&h.as_bytes()[..16]);
        Block::from_bytes(seed)
    }
}

/// The receiver's answer: one block per column and the combined choices.
pub(crate) struct CheckAnswer {
    /// `t_i` for each of the 128 columns.
    pub(crate) t: Vec<Block>,
    /// `x`, the combined choice vector.
    pub(crate) x: Block,
}

/// The POLYVAL reduction of a 256-bit carry-less product sum `lo ⊕ hi·x^128`:
/// `hi ⊕ lo·x^-128 mod P`, `P = x^128 + x^127 + x^126 + x^121 + 1`. For a
/// single product `a ⊗ b` this is POLYVAL's `a·b·x^-128` (RFC 8452); two
/// Montgomery folding steps of 64 bits each, as in the `polyval` crate's
/// portable backend. Constant time.
fn polyval_reduce([lo, hi]: Unreduced) -> Block {
    let (v0, mut v1) = (lo as u64, (lo >> 64) as u64);
    let (mut v2, mut v3) = (hi as u64, (hi >> 64) as u64);
    v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
    v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
    v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
    v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
    Block::new(u128::from(v2) | (u128::from(v3) << 64))
}

/// Unreduced inner products: a CLMUL kernel where the CPU has one, else
/// the `polyval` crate, one product at a time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Products(Option<ClmulDot>);

impl Products {
    /// The fastest way on this CPU.
    pub(crate) fn detect() -> Self {
        Products(ClmulDot::detect())
    }

    /// `Σ_j a_j ⊗ b_j` in a form whose [`polyval_reduce`] is `Σ_j a_j·b_j`
    /// in the POLYVAL field. Constant time.
    pub(crate) fn dot(&self, a: &[Block], b: &[Block]) -> Unreduced {
        match &self.0 {
            Some(kernel) => kernel.dot(a, b),
            // Already reduced: `[0, v]` reduces to `v`.
            None => [0, polyval_dot(a, b)],
        }
    }
}

/// `Σ a_j·b_j` in the POLYVAL field, in safe code: each product is one
/// POLYVAL evaluation `(0 ⊕ b_j)·a_j` under the key `a_j` (the `polyval`
/// crate's CLMUL / PMULL backend where the CPU has one, else its
/// constant-time software; a key schedule per product, which is why the
/// kernels of [`crate::simd`] are preferred).
fn polyval_dot(a: &[Block], b: &[Block]) -> u128 {
    assert_eq!(a.len(), b.len(), "polyval_dot: lengths differ");
    let mut acc = 0u128;
    for (x, y) in a.iter().zip(b) {
        let mut key = Array::from(x.to_bytes());
        let mut p = Polyval::new(&key);
        key.zeroize();
        p.update(&[Array::from(y.to_bytes())]);
        acc ^= u128::from_le_bytes(p.finalize().into());
    }
    acc
}

/// `Σ_j χ_j·C_{i,j}` for each column `i`, folded in batch by batch, plus
/// the extra block with coefficient 1.
struct Combiner {
    kernel: Products,
    /// Expands the seed into the challenges, in block order.
    chi_prg: Prg,
    /// The current batch's challenges.
    chi: Vec<Block>,
    /// Per column: the unreduced sum so far.
    acc: Vec<Unreduced>,
    /// Per column: its block of the extra OTs.
    extra: Vec<Block>,
}

impl Combiner {
    fn new(seed: Block, ncols: usize) -> Self {
        Combiner {
            kernel: Products::detect(),
            chi_prg: Prg::from_seed(seed),
            chi: Vec::new(),
            acc: vec![[0, 0]; ncols],
            extra: vec![Block::ZERO; ncols],
        }
    }

    /// Draws the challenges of the next batch, `nb` blocks per column.
    fn next_batch(&mut self, nb: usize) {
        self.chi.resize(nb, Block::ZERO);
        self.chi_prg.fill_blocks(&mut self.chi);
    }

    /// Adds `Σ_j χ_j·col_j` to column `i` (`col` has the batch's length).
    fn fold(&mut self, i: usize, col: &[Block]) {
        let p = self.kernel.dot(&self.chi, col);
        self.add(i, p);
    }

    /// Adds an unreduced sum to column `i`.
    fn add(&mut self, i: usize, [lo, hi]: Unreduced) {
        let a = &mut self.acc[i];
        a[0] ^= lo;
        a[1] ^= hi;
    }

    /// The combined blocks, one per column.
    fn finish(&self) -> Vec<Block> {
        self.acc.iter().zip(&self.extra).map(|(&a, &e)| polyval_reduce(a) ^ e).collect()
    }
}

impl Drop for Combiner {
    fn drop(&mut self) {
        self.chi.zeroize();
        for a in &mut self.acc {
            a.zeroize();
        }
        self.extra.zeroize();
    }
}

/// The sender's side: folds its `Q` columns in once the challenge is known.
///
/// Protocol order, per call: [`SenderCheck::new`] with the challenge seed
/// (derived from the receiver's messages, [`Transcript`]), then for each
/// batch in order either [`SenderCheck::fold_rows`] with the batch's output
/// rows (a full batch computed before the challenge was known) or
/// [`SenderCheck::begin_batch`] and [`SenderCheck::fold_column`] for the
/// 128 columns in order; then [`SenderCheck::begin_padding`] and the extra
/// block's batch the same way (one block per column);
/// [`SenderCheck::verify`] comes last.
pub(crate) struct SenderCheck {
    q: Combiner,
    /// The current batch is the extra block.
    padding: bool,
    /// Blocks per column of the current batch.
    nb: usize,
    /// [`Self::fold_rows`]'s columns, [`FOLD_TILES`] blocks each.
    scratch: Zeroizing<Vec<Block>>,
}

impl SenderCheck {
    /// A check whose challenges are expanded from `seed`.
    pub(crate) fn new(seed: Block) -> Self {
        SenderCheck { q: Combiner::new(seed, 128), padding: false, nb: 0, scratch: Zeroizing::default() }
    }

    /// The next batch that [`Self::begin_batch`] announces is the extra block.
    pub(crate) fn begin_padding(&mut self) {
        self.padding = true;
    }

    /// Starts a batch of `nb` blocks per column.
    pub(crate) fn begin_batch(&mut self, nb: usize) {
        self.nb = nb;
        if self.padding {
            assert_eq!(nb, KOS_PADDING / 128, "the extra block is one block per column");
        } else {
            self.q.next_batch(nb);
        }
    }

    /// Folds column `i` of the current batch.
    pub(crate) fn fold_column(&mut self, i: usize, q_col: &[Block]) {
        assert_eq!(q_col.len(), self.nb, "column length differs from the batch's");
        if self.padding {
            self.q.extra[i] = q_col[0];
        } else {
            self.q.fold(i, q_col);
        }
    }

    /// Folds a whole batch given by its rows `q_j` (a multiple of 128 of
    /// them, the transpose of its `Q` columns): each group of
    /// [`FOLD_TILES`] tiles is transposed back into 128 column pieces and
    /// folded with its challenges. The sum is linear, so folding a column
    /// piece by piece is folding it whole. Constant time.
    pub(crate) fn fold_rows(&mut self, rows: &[Block]) {
        assert!(rows.len().is_multiple_of(128), "a batch of whole tiles");
        let nb = rows.len() / 128;
        self.begin_batch(nb);
        assert!(!self.padding, "the extra block is folded by columns");
        self.scratch.resize(128 * FOLD_TILES, Block::ZERO);
        let Combiner { kernel, chi, acc, .. } = &mut self.q;
        for (group, chi) in rows.chunks(128 * FOLD_TILES).zip(chi.chunks(FOLD_TILES)) {
            let cols = &mut self.scratch[..group.len()];
            transpose_rows_to_columns(group, cols);
            for (a, col) in acc.iter_mut().zip(cols.chunks_exact(chi.len())) {
                let [lo, hi] = kernel.dot(chi, col);
                a[0] ^= lo;
                a[1] ^= hi;
            }
        }
    }

    /// Accepts iff every column satisfies `q_i = t_i ⊕ s_i·x`, with `s = Δ`
    /// (and the extra block was folded in).
    pub(crate) fn verify(self, answer: &CheckAnswer, delta: Block) -> bool {
        if answer.t.len() != 128 || !self.padding {
            return false;
        }
        let q = Zeroizing::new(self.q.finish());
        let d = delta.to_u128();
        // The receiver's answer and the verdict are public: a variable-time
        // comparison leaks nothing; the selection by Δ's bits is branch-free.
        q.iter()
            .zip(&answer.t)
            .enumerate()
            .all(|(i, (&qi, &ti))| qi == ti ^ answer.x.select((d >> i) & 1 == 1))
    }
}

/// The receiver's `T` columns `G(k_i^0)`, re-expandable from its column
/// PRGs.
pub(crate) trait ColumnSource {
    /// Writes blocks `ctr .. ctr + col.len()` of column `i` into `col`.
    fn expand(&self, i: usize, ctr: u64, col: &mut [Block]);

    /// `Σ_j chi_j ⊗ (block ctr + j of column i)`, unreduced; by default
    /// expanded into `scratch` (at least `chi.len()` blocks) and multiplied
    /// with `kernel`.
    fn dot(&self, i: usize, ctr: u64, chi: &[Block], kernel: &Products, scratch: &mut [Block]) -> Unreduced {
        let col = &mut scratch[..chi.len()];
        self.expand(i, ctr, col);
        kernel.dot(chi, col)
    }
}

/// The receiver's side: the transcript of what it sent, and what it needs
/// to recompute its `T` columns and choice blocks once the challenge is
/// known.
pub(crate) struct ReceiverCheck {
    /// Everything sent so far in this call.
    transcript: Transcript,
    /// Each batch: the column PRGs' counter at its start and its blocks per
    /// column.
    batches: Vec<(u64, usize)>,
    /// The choice blocks `R_j` of every batch, in order.
    r: Vec<Block>,
    /// The extra block's counter and choice block, once pushed.
    padding: Option<(u64, Block)>,
    /// The next batch pushed is the extra block.
    padding_next: bool,
}

impl ReceiverCheck {
    /// The check of a call of `count` OTs (already announced) under
    /// `binding`, after the set-up message `setup` ([`Transcript::new`]).
    pub(crate) fn new(binding: &CheckBinding, setup: &[Block], count: u64) -> Self {
        ReceiverCheck {
            transcript: Transcript::new(binding, setup, count),
            batches: Vec::new(),
            r: Vec::new(),
            padding: None,
            padding_next: false,
        }
    }

    /// The next batch that [`Self::push_batch`] records is the extra block.
    pub(crate) fn begin_padding(&mut self) {
        self.padding_next = true;
    }

    /// Records one batch: its `T` columns are `G(k_i^0)` from counter `ctr`
    /// on, `r.len()` blocks each; `r` are its packed choice blocks; `sent`
    /// is its message exactly as it went to the sender.
    pub(crate) fn push_batch(&mut self, ctr: u64, r: &[Block], sent: &[Block]) {
        self.transcript.absorb(sent);
        if self.padding_next {
            assert_eq!(r.len(), KOS_PADDING / 128, "the extra block is one block per column");
            self.padding = Some((ctr, r[0]));
        } else {
            self.batches.push((ctr, r.len()));
            self.r.extend_from_slice(r);
        }
    }

    /// The answer to the challenge derived from everything pushed, the
    /// extra block last ([`Transcript::challenge`]).
    ///
    /// # Panics
    /// If the extra block was not pushed (a caller bug).
    pub(crate) fn answer(self, cols: &impl ColumnSource) -> CheckAnswer {
        let seed = self.transcript.challenge();
        self.answer_to(seed, cols)
    }

    /// The answer to the challenge expanded from `seed`, re-expanding the
    /// `T` columns from `cols`, one column of a batch at a time.
    ///
    /// # Panics
    /// If the extra block was not pushed (a caller bug).
    fn answer_to(self, seed: Block, cols: &impl ColumnSource) -> CheckAnswer {
        let (pad_ctr, pad_r) = self.padding.expect("the extra block is pushed before the answer");
        // Columns 0..128: T; column 128: the choice blocks.
        let mut c = Combiner::new(seed, 129);
        let max_nb = self.batches.iter().map(|&(_, nb)| nb).max().unwrap_or(0).max(1);
        let mut scratch = Zeroizing::new(vec![Block::ZERO; max_nb]);
        let mut r = self.r.as_slice();
        for &(ctr, nb) in &self.batches {
            c.next_batch(nb);
            for i in 0..128 {
                let p = cols.dot(i, ctr, &c.chi, &c.kernel, &mut scratch);
                c.add(i, p);
            }
            let (rb, rest) = r.split_at(nb);
            c.fold(128, rb);
            r = rest;
        }
        for i in 0..128 {
            cols.expand(i, pad_ctr, &mut scratch[..1]);
            c.extra[i] = scratch[0];
        }
        c.extra[128] = pad_r;
        let mut t = c.finish();
        let x = t.pop().expect("129 columns");
        CheckAnswer { t, x }
    }
}

impl Drop for ReceiverCheck {
    fn drop(&mut self) {
        self.r.zeroize();
        if let Some((_, r)) = &mut self.padding {
            r.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polyval::hazmat::FieldElement;

    fn fe(b: Block) -> FieldElement {
        FieldElement::from(b.to_u128())
    }

    #[test]
    fn lazy_reduction_matches_polyvals_product() {
        let mut prg = Prg::from_seed(Block::new(3));
        let a: Vec<Block> = (0..100).map(|_| prg.random_block()).collect();
        let b: Vec<Block> = (0..100).map(|_| prg.random_block()).collect();
        for kernel in [Products(None), Products::detect()] {
            // One product at a time.
            for (&x, &y) in a.iter().zip(&b) {
                let p = polyval_reduce(kernel.dot(&[x], &[y]));
                assert_eq!(p.to_u128(), u128::from(fe(x) * fe(y)));
            }
            // A whole sum, reduced once.
            let expect =
                a.iter().zip(&b).fold(FieldElement::from(0u128), |acc, (&x, &y)| acc + fe(x) * fe(y));
            assert_eq!(polyval_reduce(kernel.dot(&a, &b)).to_u128(), u128::from(expect));
        }
    }

    /// One call's matrices: per batch (the last is the extra block, one
    /// block per column) the receiver's `T` (column-major), its choice
    /// blocks `R` and the sender's `Q = T ⊕ Δ_i·R`.
    struct Call {
        delta: Block,
        t: Vec<Vec<Block>>,
        r: Vec<Vec<Block>>,
        q: Vec<Vec<Block>>,
    }

    impl Call {
        fn honest(prg: &mut Prg, nbs: &[usize]) -> Call {
            let delta = prg.random_block().set_lsb();
            let d = delta.to_u128();
            let (mut t, mut r, mut q) = (Vec::new(), Vec::new(), Vec::new());
            for &nb in nbs.iter().chain(&[1]) {
                let rb: Vec<Block> = (0..nb).map(|_| prg.random_block()).collect();
                let tb: Vec<Block> = (0..128 * nb).map(|_| prg.random_block()).collect();
                let qb = tb
                    .iter()
                    .enumerate()
                    .map(|(p, &tt)| tt ^ rb[p % nb].select((d >> (p / nb)) & 1 == 1))
                    .collect();
                t.push(tb);
                r.push(rb);
                q.push(qb);
            }
            Call { delta, t, r, q }
        }

        /// The fake counter of batch `k` (where its columns start).
        fn ctr(k: usize) -> u64 {
            1000 * k as u64
        }

        /// Runs both sides through the check API; returns the answer and
        /// the sender's verdict.
        fn run(&self, seed: Block) -> (CheckAnswer, bool) {
            let last = self.t.len() - 1;
            let mut sender = SenderCheck::new(seed);
            let mut receiver = ReceiverCheck::new(&CheckBinding::new([0; 32]), &[], 0);
            for (k, (q, r)) in self.q.iter().zip(&self.r).enumerate() {
                let nb = r.len();
                if k == last {
                    sender.begin_padding();
                    receiver.begin_padding();
                }
                sender.begin_batch(nb);
                for (i, col) in q.chunks_exact(nb).enumerate() {
                    sender.fold_column(i, col);
                }
                receiver.push_batch(Self::ctr(k), r, &[]);
            }
            let answer = receiver.answer_to(seed, self);
            let ok = sender.verify(&answer, self.delta);
            (answer, ok)
        }
    }

    impl ColumnSource for Call {
        fn expand(&self, i: usize, ctr: u64, col: &mut [Block]) {
            let k = (ctr / 1000) as usize;
            let nb = self.r[k].len();
            assert_eq!(col.len(), nb);
            col.copy_from_slice(&self.t[k][i * nb..(i + 1) * nb]);
        }
    }

    /// The check's answer computed product by product with `polyval`'s
    /// field multiplication (the straightforward definition).
    fn reference_answer(call: &Call, seed: Block) -> (Vec<u128>, u128) {
        let mut chi = Prg::from_seed(seed);
        let last = call.t.len() - 1;
        let mut t = vec![FieldElement::from(0u128); 128];
        let mut x = FieldElement::from(0u128);
        for (tb, rb) in call.t[..last].iter().zip(&call.r[..last]) {
            let nb = rb.len();
            let mut c = vec![Block::ZERO; nb];
            chi.fill_blocks(&mut c);
            for (ti, col) in t.iter_mut().zip(tb.chunks_exact(nb)) {
                for (&cj, &tj) in c.iter().zip(col) {
                    *ti = *ti + fe(cj) * fe(tj);
                }
            }
            for (&cj, &rj) in c.iter().zip(rb) {
                x = x + fe(cj) * fe(rj);
            }
        }
        let t = t.iter().zip(&call.t[last]).map(|(&ti, e)| u128::from(ti) ^ e.to_u128()).collect();
        (t, u128::from(x) ^ call.r[last][0].to_u128())
    }

    #[test]
    fn honest_answer_is_the_product_by_product_one_and_passes() {
        let mut prg = Prg::from_seed(Block::new(9));
        for nbs in [&[3usize, 2][..], &[1], &[], &[512, 17]] {
            let call = Call::honest(&mut prg, nbs);
            let seed = prg.random_block();
            let (answer, ok) = call.run(seed);
            assert!(ok, "batches {nbs:?}");
            let (t, x) = reference_answer(&call, seed);
            assert_eq!(answer.t.iter().map(|b| b.to_u128()).collect::<Vec<_>>(), t);
            assert_eq!(answer.x.to_u128(), x);
        }
    }

    /// Folding a full batch from its rows (transposed back, as the sender
    /// does for batches computed before the challenge was known) is
    /// folding its columns.
    #[test]
    fn folding_rows_is_folding_their_columns() {
        let mut prg = Prg::from_seed(Block::new(13));
        for nb in [1usize, 5, FOLD_TILES, FOLD_TILES + 3, 3 * FOLD_TILES] {
            let call = Call::honest(&mut prg, &[nb]);
            let seed = prg.random_block();
            let (mut by_cols, mut by_rows) = (SenderCheck::new(seed), SenderCheck::new(seed));
            by_cols.begin_batch(nb);
            for (i, col) in call.q[0].chunks_exact(nb).enumerate() {
                by_cols.fold_column(i, col);
            }
            let mut rows = vec![Block::ZERO; 128 * nb];
            crate::ot::transpose::transpose_columns(&call.q[0], &mut rows);
            by_rows.fold_rows(&rows);
            assert_eq!(by_cols.q.finish(), by_rows.q.finish(), "{nb} blocks per column");
        }
    }

    /// Both sides derive the same challenge from the same bytes, and any
    /// other binding, count or byte gives another one.
    #[test]
    fn the_challenge_is_a_hash_of_the_whole_transcript() {
        let binding = CheckBinding::new([7; 32]);
        let cols: Vec<Block> = (0..300u128).map(Block::new).collect();
        let seed = |b: &CheckBinding, count: u64, cols: &[Block]| {
            let mut t = Transcript::new(b, &cols[..10], count);
            t.absorb(&cols[10..100]);
            t.absorb(&cols[100..]);
            t.challenge()
        };
        let honest = seed(&binding, 300, &cols);
        // Cut anywhere: the hash is of the bytes, not of the calls.
        let mut t = Transcript::new(&binding, &cols[..10], 300);
        t.absorb(&cols[10..]);
        assert_eq!(t.challenge(), honest);
        assert_ne!(seed(&CheckBinding::new([8; 32]), 300, &cols), honest);
        assert_ne!(seed(&binding, 301, &cols), honest);
        for k in [3, 250] {
            // A set-up block, a column block.
            let mut other = cols.clone();
            other[k] ^= Block::new(1 << 100);
            assert_ne!(seed(&binding, 300, &other), honest, "block {k}");
        }
    }

    #[test]
    fn an_inconsistent_column_fails() {
        let mut prg = Prg::from_seed(Block::new(10));
        let mut call = Call::honest(&mut prg, &[3, 2]);
        // Column 0 (Δ's lsb is 1), block 1 of the first batch: another
        // choice bit there.
        call.q[0][1] ^= Block::new(1 << 17);
        assert!(!call.run(Block::new(77)).1);
    }

    /// A receiver whose column `i` used another choice bit than the other
    /// columns: its `u_i` differs from the honest one by one bit, and the
    /// sender's `Q_i = G(k_i^{Δ_i}) ⊕ Δ_i·u_i` by `Δ_i` times that bit (its
    /// `T_i = G(k_i^0)` is fixed by the base OTs). So the flip shows only if
    /// `Δ_i = 1`; then it must be caught, in any batch, any block, the extra
    /// block included. With `Δ_i = 0` the sender's view does not change at
    /// all (the receiver only spoils its own output): the check passes.
    #[test]
    fn single_bit_inconsistencies_are_caught_wherever_delta_shows_them() {
        let mut prg = Prg::from_seed(Block::new(11));
        let (mut caught, mut harmless) = (0, 0);
        for trial in 0..400 {
            let mut call = Call::honest(&mut prg, &[4, 3]);
            let d = call.delta.to_u128();
            let k = trial % call.t.len();
            let nb = call.r[k].len();
            let i = (prg.random_block().to_u128() % 128) as usize;
            let j = (prg.random_block().to_u128() % nb as u128) as usize;
            let bit = Block::new(1 << (prg.random_block().to_u128() % 128));
            call.q[k][i * nb + j] ^= bit.select((d >> i) & 1 == 1);
            let ok = call.run(prg.random_block()).1;
            if (d >> i) & 1 == 1 {
                assert!(!ok, "batch {k}, column {i}, block {j}");
                caught += 1;
            } else {
                assert!(ok, "batch {k}, column {i}: Δ_i = 0");
                harmless += 1;
            }
        }
        assert!(caught > 100 && harmless > 100);
    }

    #[test]
    fn a_consistent_change_of_choice_passes() {
        // The same flip in every column is another choice bit, not a cheat.
        let mut prg = Prg::from_seed(Block::new(12));
        let mut call = Call::honest(&mut prg, &[3, 2]);
        let bit = Block::new(1 << 40);
        let nb = 3;
        call.r[0][2] ^= bit;
        for i in 0..128 {
            let d = (call.delta.to_u128() >> i) & 1 == 1;
            call.q[0][i * nb + 2] ^= bit.select(d);
        }
        assert!(call.run(Block::new(5)).1);
    }
}
