//! Fused generator half gates on VAES-512 (AVX-512F, VAES).
//!
//! The construction is ZRE15's generator half gate (Zahur, Rosulek, Evans,
//! *Two Halves Make a Whole*, Eurocrypt 2015, §3), exactly as
//! [`crate::garble::gen_half`] computes it: the same TMMO hash (Guo, Katz,
//! Wang, Yu, IEEE S&P 2020), the same tweak `stride·g + 1`, the same
//! ciphertext `G = H(B₀) ⊕ H(B₀ ⊕ Δ) ⊕ v·Δ` and zero output label `C₀ =
//! H(B₀) ⊕ lsb(B₀)·G`; the tests compare the two byte for byte.
//!
//! Why: the portable code gathers the labels to a buffer, hashes it
//! through the `aes` crate in two calls with a pass between them, and reads
//! labels and hashes once more to build `G` and `C₀`. In the model
//! benchmark that cost 15 % of the garbler's time for half of its AND
//! gates. Here a group of 16 gates (32 hashes on the garbler's side, 8
//! registers in flight through both AES layers) goes from the gather to
//! the stored ciphertexts and labels in registers; the selections by `v`
//! and by the colour `lsb(B₀)` are masked XORs.

use core::arch::x86_64::*;

use zeroize::Zeroize;

use super::{broadcast_round_keys, from_m512, to_m128, to_m512, LOW_QWORDS};
use crate::block::Block;
use crate::garble::gen_half::KnownValues;
use crate::garble::ops::Op;

/// Registers of 4 gates per group.
const REGS: usize = 4;
/// Gates per group (the garbler hashes 2 blocks a gate: 8 registers).
const GATES: usize = 4 * REGS;
/// Gates per evaluator group (1 hash a gate: 8 registers in flight).
const EVAL_GATES: usize = 2 * GATES;

/// The fused generator half gates under TMMO with a given AES-128 key;
/// constructed only on CPUs with AVX-512F, VAES and AES-NI.
#[derive(Clone, Copy)]
pub(crate) struct VaesGenHalf {
    /// The 11 round keys, each broadcast to the 4 lanes of a register.
    round_keys: [__m512i; 11],
}

impl std::fmt::Debug for VaesGenHalf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaesGenHalf")
    }
}

impl VaesGenHalf {
    /// The kernels for TMMO under AES-128 with `key`, if this CPU has
    /// AVX-512F, VAES and AES-NI (for the key schedule).
    pub(crate) fn detect(key: Block) -> Option<VaesGenHalf> {
        if !(is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("vaes")
            && is_x86_feature_detected!("aes"))
        {
            return None;
        }
        // SAFETY: AES-NI and AVX-512F were detected just above.
        let round_keys = unsafe { broadcast_round_keys(key) };
        Some(VaesGenHalf { round_keys })
    }

    /// As [`crate::garble::gen_half`]'s portable `garble`: gate `k` of
    /// `ops` (`a` known, its bit in `values`; `b` read from `labels`) is AND
    /// gate `first_and + k`, hashed under `stride·(first_and + k) + 1`; its
    /// zero output label goes to `c0[k]` and its ciphertext to `tables[k]`.
    #[allow(clippy::too_many_arguments)] // one call site, in `gen_half.rs`
    pub(crate) fn garble(
        &self,
        stride: u64,
        delta: Block,
        values: &KnownValues,
        first_and: u64,
        labels: &[Block],
        ops: &[Op],
        c0: &mut [Block],
        tables: &mut [Block],
    ) {
        let n = ops.len();
        // SAFETY: `self` exists only if AVX-512F, VAES and AES-NI were detected.
        unsafe {
            garble_kernel(
                &self.round_keys,
                stride,
                delta,
                values,
                first_and,
                labels,
                ops,
                &mut c0[..n],
                &mut tables[..n],
            )
        }
    }

    /// As the portable `eval`: the active output label of gate `k` to
    /// `c[k]`, from its label of `b` and ciphertext `tables[k]`.
    pub(crate) fn eval(
        &self,
        stride: u64,
        first_and: u64,
        labels: &[Block],
        ops: &[Op],
        tables: &[Block],
        c: &mut [Block],
    ) {
        let n = ops.len();
        // SAFETY: `self` exists only if AVX-512F, VAES and AES-NI were detected.
        unsafe { eval_kernel(&self.round_keys, stride, first_and, labels, ops, &tables[..n], &mut c[..n]) }
    }
}

/// `[1, 0]` in every lane: a label's colour bit.
#[inline]
#[target_feature(enable = "avx512f")]
fn low_bit() -> __m512i {
    _mm512_set_epi64(0, 1, 0, 1, 0, 1, 0, 1)
}

/// Mask bits of 4 gates, one per lane at its low half, copied to both
/// halves of each lane.
#[inline(always)]
fn both(m: u8) -> u8 {
    m | m << 1
}

/// The tweaks of 4 consecutive gates from gate `g` on: lane `k` is
/// `Block::from_u64(stride·(g + k) + 1)`.
#[inline]
#[target_feature(enable = "avx512f")]
fn tweaks4(stride: u64, g: u64) -> __m512i {
    let s = stride as i64;
    // The drivers keep AND indices below 2^62 and strides are 2 or 3, so
    // these never wrap.
    let steps = _mm512_set_epi64(0, 3 * s, 0, 2 * s, 0, s, 0, 0);
    _mm512_add_epi64(steps, _mm512_maskz_set1_epi64(LOW_QWORDS, (stride * g + 1) as i64))
}

/// The labels of `b` of 4 gates.
#[inline(always)]
fn gather_b(labels: &[Block], ops: &[Op]) -> __m512i {
    to_m512([
        labels[ops[0].b as usize],
        labels[ops[1].b as usize],
        labels[ops[2].b as usize],
        labels[ops[3].b as usize],
    ])
}

#[target_feature(enable = "avx512f,vaes,aes")]
#[allow(clippy::too_many_arguments)] // one call site
fn garble_kernel(
    rk: &[__m512i; 11],
    stride: u64,
    delta: Block,
    values: &KnownValues,
    first_and: u64,
    labels: &[Block],
    ops: &[Op],
    c0: &mut [Block],
    tables: &mut [Block],
) {
    let d = _mm512_broadcast_i32x4(to_m128(delta));
    let (groups, rest) = ops.as_chunks::<GATES>();
    let (c0_groups, c0_rest) = c0.as_chunks_mut::<GATES>();
    let (t_groups, t_rest) = tables.as_chunks_mut::<GATES>();
    for (n, ((group, c0), t)) in groups.iter().zip(c0_groups).zip(t_groups).enumerate() {
        garble_group(rk, stride, d, values, first_and + (n * GATES) as u64, labels, group, c0, t);
    }
    if rest.is_empty() {
        return;
    }
    // The last group padded with copies of its first gate; the padding's
    // outputs are dropped and the buffers (zero labels) wiped.
    let r = rest.len();
    let mut group = [rest[0]; GATES];
    group[..r].copy_from_slice(rest);
    let (mut c, mut t) = ([Block::ZERO; GATES], [Block::ZERO; GATES]);
    let g = first_and + (groups.len() * GATES) as u64;
    garble_group(rk, stride, d, values, g, labels, &group, &mut c, &mut t);
    c0_rest.copy_from_slice(&c[..r]);
    t_rest.copy_from_slice(&t[..r]);
    c.zeroize();
    t.zeroize();
}

/// Garbles 16 gates from AND index `g`: their 32 hashes `H(B₀)` and `H(B₀
/// ⊕ Δ)` in 8 registers through both AES layers, then `G` and `C₀` by
/// masked XORs.
#[inline]
#[target_feature(enable = "avx512f,vaes,aes")]
#[allow(clippy::too_many_arguments)] // two call sites, in `garble_kernel`
fn garble_group(
    rk: &[__m512i; 11],
    stride: u64,
    d: __m512i,
    values: &KnownValues,
    g: u64,
    labels: &[Block],
    ops: &[Op; GATES],
    c0: &mut [Block; GATES],
    tables: &mut [Block; GATES],
) {
    // Arrays built whole (not filled in a loop), so that they stay in
    // registers: x[j] = B₀ of gates 4j .. 4j + 4, x[REGS + j] the same ⊕ Δ.
    let b0: [__m512i; REGS] = core::array::from_fn(|j| gather_b(labels, &ops[4 * j..4 * j + 4]));
    let t: [__m512i; REGS] = core::array::from_fn(|j| tweaks4(stride, g + 4 * j as u64));
    let mut x = [
        b0[0],
        b0[1],
        b0[2],
        b0[3],
        _mm512_xor_si512(b0[0], d),
        _mm512_xor_si512(b0[1], d),
        _mm512_xor_si512(b0[2], d),
        _mm512_xor_si512(b0[3], d),
    ];
    let tweak = [t[0], t[1], t[2], t[3], t[0], t[1], t[2], t[3]];
    let colour: [u8; REGS] = core::array::from_fn(|j| both(_mm512_test_epi64_mask(b0[j], low_bit())));
    let known: [u8; REGS] = core::array::from_fn(|j| {
        let v = |k: usize| u8::from(values.get(ops[4 * j + k].a)) << (2 * k);
        both(v(0) | v(1) | v(2) | v(3))
    });
    tmmo!(rk, &mut x, &tweak);
    for j in 0..REGS {
        let (h0, h1) = (x[j], x[REGS + j]);
        let mut gt = _mm512_xor_si512(h0, h1);
        gt = _mm512_mask_xor_epi64(gt, known[j], gt, d);
        let c = _mm512_mask_xor_epi64(h0, colour[j], h0, gt);
        tables[4 * j..4 * j + 4].copy_from_slice(&from_m512(gt));
        c0[4 * j..4 * j + 4].copy_from_slice(&from_m512(c));
    }
}

#[target_feature(enable = "avx512f,vaes,aes")]
fn eval_kernel(
    rk: &[__m512i; 11],
    stride: u64,
    first_and: u64,
    labels: &[Block],
    ops: &[Op],
    tables: &[Block],
    c: &mut [Block],
) {
    let (groups, rest) = ops.as_chunks::<EVAL_GATES>();
    let (t_groups, t_rest) = tables.as_chunks::<EVAL_GATES>();
    let (c_groups, c_rest) = c.as_chunks_mut::<EVAL_GATES>();
    for (n, ((group, t), c)) in groups.iter().zip(t_groups).zip(c_groups).enumerate() {
        eval_group(rk, stride, first_and + (n * EVAL_GATES) as u64, labels, group, t, c);
    }
    if rest.is_empty() {
        return;
    }
    // Padded as when garbling; the padding reads zero ciphertexts.
    let r = rest.len();
    let mut group = [rest[0]; EVAL_GATES];
    group[..r].copy_from_slice(rest);
    let mut t = [Block::ZERO; EVAL_GATES];
    t[..r].copy_from_slice(t_rest);
    let mut out = [Block::ZERO; EVAL_GATES];
    eval_group(rk, stride, first_and + (groups.len() * EVAL_GATES) as u64, labels, &group, &t, &mut out);
    c_rest.copy_from_slice(&out[..r]);
}

/// Evaluates 32 gates from AND index `g`: `C = H(B) ⊕ lsb(B)·G`.
#[inline]
#[target_feature(enable = "avx512f,vaes,aes")]
fn eval_group(
    rk: &[__m512i; 11],
    stride: u64,
    g: u64,
    labels: &[Block],
    ops: &[Op; EVAL_GATES],
    tables: &[Block; EVAL_GATES],
    c: &mut [Block; EVAL_GATES],
) {
    const N: usize = EVAL_GATES / 4;
    // Built whole, so that they stay in registers (see `garble_group`).
    let mut x: [__m512i; N] = core::array::from_fn(|j| gather_b(labels, &ops[4 * j..4 * j + 4]));
    let tweak: [__m512i; N] = core::array::from_fn(|j| tweaks4(stride, g + 4 * j as u64));
    let colour: [u8; N] = core::array::from_fn(|j| both(_mm512_test_epi64_mask(x[j], low_bit())));
    tmmo!(rk, &mut x, &tweak);
    for j in 0..N {
        let gt = to_m512(*tables[4 * j..].first_chunk::<4>().expect("4 ciphertexts"));
        let out = _mm512_mask_xor_epi64(x[j], colour[j], x[j], gt);
        c[4 * j..4 * j + 4].copy_from_slice(&from_m512(out));
    }
}
