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
//! 128-bit blocks `Q_{i,j}`, `T_{i,j}`, `R_j`. After every `u_i` has arrived,
//! the sender picks a fresh seed; both expand it into one challenge
//! `χ_j ∈ GF(2^128)` per block index `j`, and
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
//! Products are in the POLYVAL field (`polyval`, RFC 8452), whose product is
//! the GF(2^128) product times the constant `x^-128`: every `χ_j` is scaled
//! by the same constant, which leaves the challenges uniform and the
//! equations linear, so the check is unchanged.
//!
//! Cost per call: the receiver sends the 128 extra OTs' columns (2 KiB) and
//! 129 blocks (2,064 bytes); the sender sends the 16-byte seed; one
//! GF(2^128) product per OT on each side; each side keeps its columns
//! (16 bytes per OT) until the seed arrives.

use polyval::hazmat::FieldElement;
use polyval::universal_hash::{array::Array, UniversalHash};
use polyval::Polyval;

use crate::block::Block;
use crate::prg::Prg;
use zeroize::Zeroize;

/// Extra OTs with random choice bits added to each checked call: one block
/// of 128, whose columns mask the check's answer.
pub const KOS_PADDING: usize = 128;

/// The receiver's answer: one block per column and the combined choices.
pub(crate) struct CheckAnswer {
    /// `t_i` for each of the 128 columns.
    pub(crate) t: Vec<Block>,
    /// `x`, the combined choice vector.
    pub(crate) x: Block,
}

/// Columns of the batches of one call, kept until the challenge is known.
struct Columns {
    /// How many columns each batch has.
    ncols: usize,
    /// Each batch: `ncols` columns of `nb` blocks, column-major.
    batches: Vec<Vec<Block>>,
}

impl Columns {
    fn new(ncols: usize) -> Self {
        Columns { ncols, batches: Vec::new() }
    }

    fn push(&mut self, cols: &[Block]) {
        self.batches.push(cols.to_vec());
    }

    /// `Σ_j χ_j·C_{i,j}` for every column `i`, over every batch but the
    /// last, plus the last (the extra block, one block per column) with
    /// coefficient 1. Consumes `chi` in block order.
    fn combine(&self, chi: &mut Prg) -> Vec<Block> {
        let Some((extra, body)) = self.batches.split_last() else {
            return vec![Block::ZERO; self.ncols];
        };
        let mut acc = vec![0u128; self.ncols];
        let mut challenge = Vec::new();
        for batch in body {
            let nb = batch.len() / self.ncols;
            challenge.resize(nb, Block::ZERO);
            chi.fill_blocks(&mut challenge);
            for (a, col) in acc.iter_mut().zip(batch.chunks_exact(nb.max(1))) {
                *a ^= u128::from(dot(&challenge, col));
            }
        }
        challenge.zeroize();
        let extra_nb = (extra.len() / self.ncols).max(1);
        acc.iter().zip(extra.chunks_exact(extra_nb)).map(|(&a, e)| Block::new(a) ^ e[0]).collect()
    }
}

impl Drop for Columns {
    fn drop(&mut self) {
        for b in &mut self.batches {
            b.zeroize();
        }
    }
}

/// The sender's side: its `Q` columns of every batch.
pub(crate) struct SenderCheck {
    cols: Columns,
}

impl Default for SenderCheck {
    fn default() -> Self {
        SenderCheck { cols: Columns::new(128) }
    }
}

impl SenderCheck {
    /// Keeps one batch's `Q` columns (128 columns of equal length,
    /// column-major). The extra block must be the last batch pushed.
    pub(crate) fn push_batch(&mut self, q_cols: &[Block]) {
        self.cols.push(q_cols);
    }

    /// Accepts iff every column satisfies `q_i = t_i ⊕ s_i·x`, with `s = Δ`.
    pub(crate) fn verify(self, seed: Block, answer: &CheckAnswer, delta: Block) -> bool {
        if answer.t.len() != 128 {
            return false;
        }
        let q = self.cols.combine(&mut Prg::from_seed(seed));
        let d = delta.to_u128();
        // The receiver's answer and the verdict are public: a variable-time
        // comparison leaks nothing; the selection by Δ's bits is branch-free.
        q.iter()
            .zip(&answer.t)
            .enumerate()
            .all(|(i, (&qi, &ti))| qi == ti ^ answer.x.select((d >> i) & 1 == 1))
    }
}

/// The receiver's side: its `T` columns and choice blocks of every batch.
pub(crate) struct ReceiverCheck {
    cols: Columns,
    /// The choice blocks `R_j` of every batch, as one column.
    choices: Columns,
}

impl Default for ReceiverCheck {
    fn default() -> Self {
        ReceiverCheck { cols: Columns::new(128), choices: Columns::new(1) }
    }
}

impl ReceiverCheck {
    /// Keeps one batch's `T` columns (column-major) and its packed choice
    /// blocks `R_j`. The extra block must be the last batch pushed.
    pub(crate) fn push_batch(&mut self, t_cols: &[Block], r: &[Block]) {
        self.cols.push(t_cols);
        self.choices.push(r);
    }

    /// The answer to the challenge expanded from `seed`.
    pub(crate) fn answer(self, seed: Block) -> CheckAnswer {
        let t = self.cols.combine(&mut Prg::from_seed(seed));
        let x = self.choices.combine(&mut Prg::from_seed(seed))[0];
        CheckAnswer { t, x }
    }
}

/// `Σ a_j·b_j` in the POLYVAL field.
///
/// Each product is one POLYVAL evaluation `(0 ⊕ b_j)·a_j` under the key
/// `a_j`, which uses the CLMUL/PMULL backend that `polyval` picks at run
/// time (the portable `FieldElement` product is several times slower).
fn dot(a: &[Block], b: &[Block]) -> FieldElement {
    let mut acc = 0u128;
    for (x, y) in a.iter().zip(b) {
        let mut p = Polyval::new(&Array::from(x.to_bytes()));
        p.update(&[Array::from(y.to_bytes())]);
        acc ^= u128::from_le_bytes(p.finalize().into());
    }
    FieldElement::from(acc)
}

/// The portable product, for cross-checking [`dot`].
#[cfg(test)]
fn dot_portable(a: &[Block], b: &[Block]) -> FieldElement {
    let mut acc = FieldElement::from(0u128);
    for (x, y) in a.iter().zip(b) {
        acc = acc + FieldElement::from(x.to_u128()) * FieldElement::from(y.to_u128());
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clmul_dot_matches_portable_product() {
        let mut prg = Prg::from_seed(Block::new(3));
        let a: Vec<Block> = (0..100).map(|_| prg.random_block()).collect();
        let b: Vec<Block> = (0..100).map(|_| prg.random_block()).collect();
        assert_eq!(u128::from(dot(&a, &b)), u128::from(dot_portable(&a, &b)));
        // One times anything: POLYVAL's product is a·b·x^-128, so check
        // bilinearity rather than a unit.
        let c: Vec<Block> = a.iter().zip(&b).map(|(&x, &y)| x ^ y).collect();
        let lhs = u128::from(dot(&c, &b));
        let rhs = u128::from(dot(&a, &b)) ^ u128::from(dot(&b, &b));
        assert_eq!(lhs, rhs);
    }

    #[test]
    fn honest_columns_pass_and_an_inconsistent_column_fails() {
        let mut prg = Prg::from_seed(Block::new(9));
        let delta = prg.random_block().set_lsb();
        let d = delta.to_u128();
        // Two batches (3 and 2 blocks per column) and the extra block.
        let mut sender = SenderCheck::default();
        let mut receiver = ReceiverCheck::default();
        let mut bad_sender = SenderCheck::default();
        for (k, nb) in [3usize, 2, 1].into_iter().enumerate() {
            let r: Vec<Block> = (0..nb).map(|_| prg.random_block()).collect();
            let t: Vec<Block> = (0..128 * nb).map(|_| prg.random_block()).collect();
            let q: Vec<Block> = t
                .iter()
                .enumerate()
                .map(|(p, &tt)| tt ^ r[p % nb].select((d >> (p / nb)) & 1 == 1))
                .collect();
            receiver.push_batch(&t, &r);
            sender.push_batch(&q);
            let mut bad = q.clone();
            if k == 0 {
                // Column 5 used another choice bit in block 1.
                bad[5 * nb + 1] ^= Block::new(1 << 17);
            }
            bad_sender.push_batch(&bad);
        }
        let seed = Block::new(77);
        let answer = receiver.answer(seed);
        assert!(sender.verify(seed, &answer, delta));
        assert!(!bad_sender.verify(seed, &answer, delta));
    }
}
