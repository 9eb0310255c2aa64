//! Hashing wire labels: a tweakable circular-correlation-robust hash from
//! fixed-key AES.
//!
//! # Construction
//!
//! Garbling calls `H(x, i)` on wire labels `x` that are correlated through
//! the secret offset Δ (free XOR: the two labels of a wire are `X` and
//! `X ⊕ Δ`) and that the evaluator partly knows. Half-gates garbling (Zahur,
//! Rosulek, Evans, Eurocrypt 2015) is secure when `H` is *tweakable
//! circular-correlation robust* (TCCR): for a secret random Δ, the oracle
//! `(x, i, b) ↦ H(x ⊕ Δ, i) ⊕ b·Δ` is indistinguishable from a random
//! function, as long as no pair `(x, i)` is queried twice.
//!
//! We use the TCCR construction of Guo, Katz, Wang and Yu, *Efficient and
//! Secure Multiparty Computation from Fixed-Key Block Ciphers* (IEEE S&P
//! 2020, ePrint 2019/074, §7.4), often called **TMMO**:
//!
//! ```text
//! H(x, i) = π(π(x) ⊕ i) ⊕ π(x)
//! ```
//!
//! where `π` is AES-128 under a fixed, public key ([`FIXED_KEY`]).
//!
//! * **Assumption.** `π` is modelled as a random permutation (the
//!   random-permutation model: fixed-key AES behaves like a public random
//!   permutation). GKWY prove TMMO TCCR in that model with security
//!   `O(q²/2^128)` for `q` queries (no multi-instance loss beyond that).
//! * **Tweak scheme.** The tweak is the AND gate's index in the schedule
//!   (its position among all AND gates garbled so far, a `u64` counter
//!   identical on both sides); half-gates hashes the garbler half with tweak
//!   `2g` and the evaluator half with tweak `2g + 1`, so every `(x, i)` pair
//!   is unique (three-halves hashes `A`, `B` and `A ⊕ B` of gate `g` with
//!   `3g`, `3g + 1`, `3g + 2`; see `garble/three_halves.rs` for the
//!   property that scheme needs). The tweak enters as the 128-bit block
//!   `Block::new(i)`.
//!   Tweaks are computed in `u64`; the garbler and evaluator refuse a run
//!   whose AND indices would reach [`crate::garble::AND_INDEX_LIMIT`]
//!   (2^62), so `2g + 1` never wraps and every tweak stays below 2^64 (the
//!   OT's tweaks have bit 127 set).
//! * **Why this one.** The cheaper one-call variant `π(σ(x) ⊕ i) ⊕ σ(x)`
//!   (σ a linear orthomorphism, which *is* circular correlation robust
//!   without tweaks, GKWY §7.3) is not TCCR: an adversary choosing
//!   `σ(x) ⊕ i = σ(x') ⊕ i'` gets two outputs whose XOR is the known
//!   `σ(x) ⊕ σ(x')`, whatever Δ is. Garbling never lets the evaluator
//!   choose labels, but we prefer a hash whose proof matches the way it is
//!   used. The multi-instance re-keyed hash (Guo, Katz, Wang, Weng, Yu,
//!   Crypto 2020) needs one key schedule per gate, which defeats batching
//!   through one key. TMMO costs two AES calls per hash, both batched: the
//!   first layer `π(x)` over a whole batch in one `encrypt_blocks` call, the
//!   second layer over the tweaked results in another.
//!
//! # Speed
//!
//! The `aes` crate (0.9) picks VAES-512 at run time on this project's
//! machines (0.8 has no VAES backend: measured here at ~400 M blocks/s
//! against 0.9's 550–1,200 M); it amortises its per-call set-up over the
//! slice, so callers hash hundreds of blocks per call (see `BENCHMARKS.md`
//! for blocks/s by batch size). [`TweakableHash::hash_in_place`] is that
//! batched entry point, and [`TweakableHash::hash_split`] the one garbling
//! uses (the first layer is written out of place and the final `⊕ π(x)` is
//! left to the caller's next pass over the batch); nothing here allocates.
//! The backend is generic code
//! instantiated in this crate: build it with `codegen-units = 1`
//! (`[profile.release.package.garblet-engine]`), or its helpers are not
//! inlined and AES runs at half speed.
//!
//! On CPUs with VAES and AVX2 but no AVX-512F (AMD Zen 3), [`Tmmo`] hashes
//! batches through the `simd` module's `Vaes256Tmmo` instead: both layers
//! in one pass, 16 blocks in flight, each block loaded and stored once.
//! Measured on such a machine it took three-halves garbling from 15.7 to
//! 18.9 M AND/s and evaluation from 28.5 to 37 M (`BENCHMARKS.md`).
//!
//! Half-gates does not call this module on CPUs with VAES, nor
//! three-halves on CPUs with AVX-512F, VAES and BMI2: the engine's
//! `simd` module computes the same TMMO (same key, same tweaks, same bytes,
//! tested against the `aes` crate) inside fused kernels that keep labels in
//! registers from the gather to the output label.

use aes::cipher::{Array, KeyInit};
use aes::Aes128;

use crate::block::Block;
use crate::prg::{encrypt_blocks_in_place, encrypt_blocks_into};
use crate::simd::Vaes256Tmmo;

/// The fixed, public AES-128 key of the permutation `π`: the first 128 bits
/// of the fractional part of π (a nothing-up-my-sleeve number), as the
/// little-endian integer `0x243f6a8885a308d313198a2e03707344`.
pub(crate) const FIXED_KEY: Block = Block::new(0x243f_6a88_85a3_08d3_1319_8a2e_0370_7344);

/// A hash of labels with a tweak, evaluated on batches. Garbling schemes are
/// generic over it, so another construction can be dropped in.
pub trait TweakableHash: Send + Sync {
    /// Replaces every `xs[k]` with `H(xs[k], tweak(k))`.
    ///
    /// `scratch` must be at least as long as `xs` (its contents are
    /// overwritten); implementations may panic otherwise, as that is a bug
    /// of the caller, never a consequence of peer data.
    fn hash_in_place(&self, xs: &mut [Block], scratch: &mut [Block], tweak: impl Fn(usize) -> Block);

    /// The AES-128 key of `π` if this hash is TMMO over fixed-key AES and
    /// the engine's fused kernels may compute it in its place (they compute
    /// exactly [`Tmmo`]'s hash, tested against the `aes` crate); `None`
    /// keeps every batch in this hash's own code.
    fn fused_key(&self) -> Option<Block> {
        None
    }

    /// `H(xs[k], tweak(k))` with `xs` left as it is and the last step left
    /// to the caller: afterwards `H(xs[k], tweak(k)) = out[k] ⊕ scratch[k]`,
    /// so a caller that reads the hashes once, next to their inputs, saves
    /// a pass over the batch. `out` and `scratch` must be at least as long as
    /// `xs`. The default copies `xs` to `out`, hashes it in place and clears
    /// `scratch`.
    fn hash_split(
        &self,
        xs: &[Block],
        out: &mut [Block],
        scratch: &mut [Block],
        tweak: impl Fn(usize) -> Block,
    ) {
        let n = xs.len();
        out[..n].copy_from_slice(xs);
        self.hash_in_place(&mut out[..n], scratch, tweak);
        scratch[..n].fill(Block::ZERO);
    }
}

/// The fixed-key AES permutation `π` (AES-128 under `FIXED_KEY`).
#[derive(Clone)]
pub struct FixedKeyAes {
    aes: Aes128,
    /// The key (public), for kernels that run their own key schedule.
    key: Block,
}

impl FixedKeyAes {
    /// The permutation under [`FIXED_KEY`].
    pub fn new() -> FixedKeyAes {
        FixedKeyAes::with_key(FIXED_KEY)
    }

    /// The permutation under another public key (for tests and for
    /// protocols that fix a per-session key).
    pub fn with_key(key: Block) -> FixedKeyAes {
        FixedKeyAes { aes: Aes128::new(&Array::from(key.to_bytes())), key }
    }

    /// `π(x)` for one block.
    pub fn permute(&self, x: Block) -> Block {
        let mut b = [x];
        self.permute_in_place(&mut b);
        b[0]
    }

    /// `out[k] ← π(xs[k])` in one batched AES call (`out` as long as `xs`).
    #[inline]
    pub fn permute_into(&self, xs: &[Block], out: &mut [Block]) {
        encrypt_blocks_into(&self.aes, xs, out);
    }

    /// `xs[k] ← π(xs[k])` in one batched AES call.
    #[inline]
    pub fn permute_in_place(&self, xs: &mut [Block]) {
        encrypt_blocks_in_place(&self.aes, xs);
    }
}

impl Default for FixedKeyAes {
    fn default() -> Self {
        FixedKeyAes::new()
    }
}

impl std::fmt::Debug for FixedKeyAes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FixedKeyAes")
    }
}

/// The TMMO tweakable circular-correlation-robust hash of Guo, Katz, Wang
/// and Yu: `H(x, i) = π(π(x) ⊕ i) ⊕ π(x)`. See the module docs.
///
/// Batches run through the fused VAES-256 kernel of the `simd` module
/// where the CPU has VAES and AVX2 but not AVX-512F, and through the `aes`
/// crate otherwise; both give the same bytes.
#[derive(Clone, Debug)]
pub struct Tmmo {
    pi: FixedKeyAes,
    fused: Option<Vaes256Tmmo>,
    /// [`Tmmo::portable`]: no fused kernel computes this hash.
    portable: bool,
}

impl Default for Tmmo {
    fn default() -> Self {
        Tmmo::new()
    }
}

impl Tmmo {
    /// TMMO over `π` = AES-128 under [`FIXED_KEY`].
    pub fn new() -> Tmmo {
        Tmmo::with_permutation(FixedKeyAes::new())
    }

    /// TMMO over a given permutation.
    pub fn with_permutation(pi: FixedKeyAes) -> Tmmo {
        let fused = Vaes256Tmmo::detect(pi.key);
        Tmmo { pi, fused, portable: false }
    }

    /// TMMO over `π` = AES-128 under [`FIXED_KEY`], batches always through
    /// the `aes` crate: for comparison and tests.
    pub fn portable() -> Tmmo {
        Tmmo { pi: FixedKeyAes::new(), fused: None, portable: true }
    }

    /// Whether batches run through the fused VAES-256 kernel.
    pub fn is_fused(&self) -> bool {
        self.fused.is_some()
    }

    /// The underlying permutation.
    pub fn permutation(&self) -> &FixedKeyAes {
        &self.pi
    }

    /// `H(x, i)` for one block (slow path, for tests and small uses).
    pub fn hash(&self, x: Block, tweak: Block) -> Block {
        let px = self.pi.permute(x);
        self.pi.permute(px ^ tweak) ^ px
    }
}

impl TweakableHash for Tmmo {
    fn fused_key(&self) -> Option<Block> {
        (!self.portable).then_some(self.pi.key)
    }

    #[inline]
    fn hash_in_place(&self, xs: &mut [Block], scratch: &mut [Block], tweak: impl Fn(usize) -> Block) {
        if let Some(fused) = &self.fused {
            return fused.hash_in_place(xs, tweak);
        }
        let n = xs.len();
        let px = &mut scratch[..n];
        // Layer 1: π(x) for the whole batch in one call, into `scratch`.
        self.pi.permute_in_place(xs);
        for (k, (x, p)) in xs.iter_mut().zip(px.iter_mut()).enumerate() {
            *p = *x;
            *x ^= tweak(k);
        }
        // Layer 2: π(π(x) ⊕ i), again in one call, then ⊕ π(x).
        self.pi.permute_in_place(xs);
        for (x, p) in xs.iter_mut().zip(px.iter()) {
            *x ^= *p;
        }
    }

    #[inline]
    fn hash_split(
        &self,
        xs: &[Block],
        out: &mut [Block],
        scratch: &mut [Block],
        tweak: impl Fn(usize) -> Block,
    ) {
        if let Some(fused) = &self.fused {
            return fused.hash_split(xs, out, scratch, tweak);
        }
        let n = xs.len();
        let (out, px) = (&mut out[..n], &mut scratch[..n]);
        // Layer 1: π(x) for the whole batch in one call, into `scratch`.
        self.pi.permute_into(xs, px);
        for (k, (o, p)) in out.iter_mut().zip(px.iter()).enumerate() {
            *o = *p ^ tweak(k);
        }
        // Layer 2: π(π(x) ⊕ i), again in one call; the caller adds π(x).
        self.pi.permute_in_place(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_hash_matches_the_formula() {
        let h = Tmmo::new();
        let xs: Vec<Block> = (0..1000u128)
            .map(|i| Block::new(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)))
            .collect();
        let mut batch = xs.clone();
        let mut scratch = vec![Block::ZERO; xs.len()];
        h.hash_in_place(&mut batch, &mut scratch, |k| Block::new(k as u128 * 3));
        for (k, (&x, &y)) in xs.iter().zip(&batch).enumerate() {
            let px = h.permutation().permute(x);
            let expected = h.permutation().permute(px ^ Block::new(k as u128 * 3)) ^ px;
            assert_eq!(y, expected);
            assert_eq!(y, h.hash(x, Block::new(k as u128 * 3)));
        }
    }

    #[test]
    fn split_hash_matches_the_hash() {
        let h = Tmmo::new();
        let xs: Vec<Block> =
            (0..300u128).map(|i| Block::new(i.wrapping_mul(0x1234_5678_9abc_def1))).collect();
        let (mut out, mut scratch) = (vec![Block::ZERO; 300], vec![Block::ZERO; 300]);
        h.hash_split(&xs, &mut out, &mut scratch, |k| Block::new(k as u128 + 7));
        for (k, &x) in xs.iter().enumerate() {
            assert_eq!(out[k] ^ scratch[k], h.hash(x, Block::new(k as u128 + 7)));
        }
    }

    #[test]
    fn tweak_and_input_both_matter() {
        let h = Tmmo::new();
        let x = Block::new(5);
        assert_ne!(h.hash(x, Block::new(0)), h.hash(x, Block::new(1)));
        assert_ne!(h.hash(x, Block::new(0)), h.hash(Block::new(6), Block::new(0)));
    }

    #[test]
    fn fixed_key_permutation_is_aes128() {
        // FIPS-197 C.1 through the permutation type with that key.
        let key = Block::from_bytes(core::array::from_fn(|i| i as u8));
        let pt = Block::from_bytes(core::array::from_fn(|i| (i as u8) * 0x11));
        let ct = FixedKeyAes::with_key(key).permute(pt);
        assert_eq!(ct.to_bytes()[..4], [0x69, 0xc4, 0xe0, 0xd8]);
        assert_eq!(ct.to_bytes()[12..], [0x70, 0xb4, 0xc5, 0x5a]);
    }
}
