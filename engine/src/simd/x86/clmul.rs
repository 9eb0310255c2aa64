//! Carry-less inner products on PCLMULQDQ / VPCLMULQDQ, and the OT
//! extension's column PRG (AES-128 in counter mode on VAES-256) fused with
//! the product (see the parent modules' docs and `ot/check.rs`).

use core::arch::x86_64::*;

use zeroize::Zeroize;

use super::{aes128_round_keys, to_m128};
use crate::block::Block;
use crate::simd::Unreduced;

/// Whether [`dot_pclmul128`] may run.
pub(in crate::simd) fn has_pclmul128() -> bool {
    is_x86_feature_detected!("pclmulqdq") && is_x86_feature_detected!("sse2")
}

/// Whether [`dot_vpclmul256`] may run.
pub(in crate::simd) fn has_vpclmul256() -> bool {
    is_x86_feature_detected!("pclmulqdq")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("vpclmulqdq")
}

/// The low, middle and high partial sums of carry-less products, one
/// 128-bit lane each.
struct Partial128 {
    lo: __m128i,
    mid: __m128i,
    hi: __m128i,
}

impl Partial128 {
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn new() -> Self {
        Partial128 { lo: _mm_setzero_si128(), mid: _mm_setzero_si128(), hi: _mm_setzero_si128() }
    }

    /// Adds `x ⊗ y`.
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn add(&mut self, x: Block, y: Block) {
        let (x, y) = (to_m128(x), to_m128(y));
        self.lo = _mm_xor_si128(self.lo, _mm_clmulepi64_si128::<0x00>(x, y));
        self.hi = _mm_xor_si128(self.hi, _mm_clmulepi64_si128::<0x11>(x, y));
        let cross = _mm_xor_si128(_mm_clmulepi64_si128::<0x01>(x, y), _mm_clmulepi64_si128::<0x10>(x, y));
        self.mid = _mm_xor_si128(self.mid, cross);
    }

    /// The 256-bit sum `lo ⊕ mid·x^64 ⊕ hi·x^128`.
    #[inline]
    fn finish(&self) -> Unreduced {
        let [lo, mid, hi] =
            [self.lo, self.mid, self.hi].map(|v| bytemuck::cast::<__m128i, Block>(v).to_u128());
        [lo ^ (mid << 64), hi ^ (mid >> 64)]
    }
}

/// `Σ a_j ⊗ b_j` with 128-bit PCLMULQDQ, one product at a time (two
/// interleaved accumulators). The slices have equal lengths.
#[target_feature(enable = "pclmulqdq,sse2")]
pub(in crate::simd) fn dot_pclmul128(a: &[Block], b: &[Block]) -> Unreduced {
    let mut acc = [Partial128::new(), Partial128::new()];
    let (a2, a_rest) = a.as_chunks::<2>();
    let (b2, b_rest) = b.as_chunks::<2>();
    for (x, y) in a2.iter().zip(b2) {
        acc[0].add(x[0], y[0]);
        acc[1].add(x[1], y[1]);
    }
    for (&x, &y) in a_rest.iter().zip(b_rest) {
        acc[0].add(x, y);
    }
    let [p, q] = [acc[0].finish(), acc[1].finish()];
    [p[0] ^ q[0], p[1] ^ q[1]]
}

/// `Σ a_j ⊗ b_j` with VPCLMULQDQ on 256-bit registers: two products per
/// instruction, four products per iteration in two independent
/// accumulator sets. Karatsuba: `a_0 b_0`, `a_1 b_1` and
/// `(a_0 ⊕ a_1)(b_0 ⊕ b_1)` per product; the middle term is corrected
/// once, at the end (it is linear). The slices have equal lengths.
#[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
pub(in crate::simd) fn dot_vpclmul256(a: &[Block], b: &[Block]) -> Unreduced {
    let zero = _mm256_setzero_si256();
    let (mut lo, mut mid, mut hi) = ([zero; 2], [zero; 2], [zero; 2]);
    let (a4, a_rest) = a.as_chunks::<4>();
    let (b4, b_rest) = b.as_chunks::<4>();
    for (x, y) in a4.iter().zip(b4) {
        for k in 0..2 {
            let xv: __m256i = bytemuck::cast([x[2 * k], x[2 * k + 1]]);
            let yv: __m256i = bytemuck::cast([y[2 * k], y[2 * k + 1]]);
            lo[k] = _mm256_xor_si256(lo[k], _mm256_clmulepi64_epi128::<0x00>(xv, yv));
            hi[k] = _mm256_xor_si256(hi[k], _mm256_clmulepi64_epi128::<0x11>(xv, yv));
            // The low qword of each lane: a_0 ⊕ a_1 (0x4e swaps the qwords).
            let xs = _mm256_xor_si256(xv, _mm256_shuffle_epi32::<0x4e>(xv));
            let ys = _mm256_xor_si256(yv, _mm256_shuffle_epi32::<0x4e>(yv));
            mid[k] = _mm256_xor_si256(mid[k], _mm256_clmulepi64_epi128::<0x00>(xs, ys));
        }
    }
    for k in 0..2 {
        mid[k] = _mm256_xor_si256(mid[k], _mm256_xor_si256(lo[k], hi[k]));
    }
    // The (at most 3) remaining products, one lane at a time.
    let mut tail = Partial128::new();
    for (&x, &y) in a_rest.iter().zip(b_rest) {
        tail.add(x, y);
    }
    // Fold the two registers of each set, then the two lanes.
    let lanes = |v: [__m256i; 2]| {
        let [p, q] = bytemuck::cast::<__m256i, [Block; 2]>(_mm256_xor_si256(v[0], v[1]));
        (p ^ q).to_u128()
    };
    let (lo, mid, hi) = (lanes(lo), lanes(mid), lanes(hi));
    let t = tail.finish();
    [lo ^ (mid << 64) ^ t[0], hi ^ (mid >> 64) ^ t[1]]
}

/// Whether [`ctr_dot_vaes256`] may run.
fn has_vaes256() -> bool {
    is_x86_feature_detected!("aes")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("vaes")
        && is_x86_feature_detected!("pclmulqdq")
        && is_x86_feature_detected!("vpclmulqdq")
}

/// AES-128 in counter mode under each of several keys (the OT
/// extension's column PRGs), re-expanded and folded into a carry-less
/// inner product without storing the stream: constructed only on CPUs
/// with AES-NI, AVX2, VAES, PCLMULQDQ and VPCLMULQDQ.
pub(crate) struct AesCtrDot {
    /// Per key: its 11 round keys.
    round_keys: Vec<[Block; 11]>,
}

impl std::fmt::Debug for AesCtrDot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesCtrDot")
    }
}

impl AesCtrDot {
    /// The kernel for AES-128 under `keys`, if this CPU has the features.
    pub(crate) fn detect<'a>(keys: impl Iterator<Item = &'a Block>) -> Option<AesCtrDot> {
        if !has_vaes256() {
            return None;
        }
        let round_keys = keys
            .map(|&k| {
                // SAFETY: AES-NI (and SSE2, part of x86_64) was detected just above.
                let rk = unsafe { aes128_round_keys(k) };
                rk.map(bytemuck::cast::<__m128i, Block>)
            })
            .collect();
        Some(AesCtrDot { round_keys })
    }

    /// `Σ_j chi_j ⊗ AES_{k_i}(ctr + j)`, unreduced, where the counter
    /// `ctr + j` is the block [`Block::new`]`(ctr + j)` (a 128-bit
    /// little-endian integer, as in the column PRGs). Constant time.
    pub(crate) fn dot(&self, i: usize, ctr: u64, chi: &[Block]) -> Unreduced {
        // SAFETY: `self` exists only if AES-NI, AVX2, VAES, PCLMULQDQ and
        // VPCLMULQDQ were detected.
        unsafe { ctr_dot_vaes256(&self.round_keys[i], ctr, chi) }
    }
}

impl Drop for AesCtrDot {
    fn drop(&mut self) {
        for rk in &mut self.round_keys {
            rk.zeroize();
        }
    }
}

/// Registers of two blocks per group in [`ctr_dot_vaes256`]: enough
/// independent `vaesenc` to cover its latency.
const CTR_REGS: usize = 8;

/// See [`AesCtrDot::dot`]: groups of `2·CTR_REGS` counter blocks are
/// encrypted with VAES on 256-bit registers and multiplied by their
/// challenges with VPCLMULQDQ (Karatsuba, as in [`dot_vpclmul256`])
/// while still in registers. The last group's missing challenges are
/// zero, so its extra blocks add nothing.
#[target_feature(enable = "aes,avx2,vaes,pclmulqdq,vpclmulqdq")]
fn ctr_dot_vaes256(rk: &[Block; 11], ctr: u64, chi: &[Block]) -> Unreduced {
    let rk: [__m256i; 11] = rk.map(|k| _mm256_broadcastsi128_si256(to_m128(k)));
    let zero = _mm256_setzero_si256();
    let mut acc = [zero; 3];
    let (groups, rest) = chi.as_chunks::<{ 2 * CTR_REGS }>();
    let blocks = (2 * CTR_REGS * (groups.len() + usize::from(!rest.is_empty()))) as u64;
    // The counter blocks [ctr + j, 0] (`Block::new(ctr + j)`, low qword
    // first): in vector registers while `ctr + j` stays below 2^64, as
    // it always does in practice; else built one by one as 128-bit
    // integers.
    let fits = ctr.checked_add(blocks).is_some();
    let mut next = [ctr, ctr + 1].map(|c| Block::new(u128::from(c)));
    let mut counters = move |x: &mut [__m256i; CTR_REGS]| {
        if fits {
            let two = _mm256_set_epi64x(0, 2, 0, 2);
            let mut c: __m256i = bytemuck::cast(next);
            for v in x.iter_mut() {
                *v = c;
                c = _mm256_add_epi64(c, two);
            }
            next = bytemuck::cast(c);
        } else {
            let first = next[0].to_u128();
            for (r, v) in x.iter_mut().enumerate() {
                let c = first + 2 * r as u128;
                *v = bytemuck::cast([Block::new(c), Block::new(c + 1)]);
            }
            let c = first + (2 * CTR_REGS) as u128;
            next = [Block::new(c), Block::new(c + 1)];
        }
    };
    let mut x = [zero; CTR_REGS];
    for g in groups {
        counters(&mut x);
        ctr_dot_group(&rk, &mut x, g, &mut acc);
    }
    if !rest.is_empty() {
        let mut g = [Block::ZERO; 2 * CTR_REGS];
        g[..rest.len()].copy_from_slice(rest);
        counters(&mut x);
        ctr_dot_group(&rk, &mut x, &g, &mut acc);
    }
    let [lo, mid, hi] = acc;
    let mid = _mm256_xor_si256(mid, _mm256_xor_si256(lo, hi));
    let lanes = |v: __m256i| {
        let [p, q] = bytemuck::cast::<__m256i, [Block; 2]>(v);
        (p ^ q).to_u128()
    };
    let (lo, mid, hi) = (lanes(lo), lanes(mid), lanes(hi));
    [lo ^ (mid << 64), hi ^ (mid >> 64)]
}

/// One group of [`ctr_dot_vaes256`]: encrypts the counter blocks `x`
/// and adds their products with `chi` to `acc` = [low, raw middle,
/// high] (the middle term is corrected by the caller).
#[inline]
#[target_feature(enable = "aes,avx2,vaes,pclmulqdq,vpclmulqdq")]
fn ctr_dot_group(
    rk: &[__m256i; 11],
    x: &mut [__m256i; CTR_REGS],
    chi: &[Block; 2 * CTR_REGS],
    acc: &mut [__m256i; 3],
) {
    for v in x.iter_mut() {
        *v = _mm256_xor_si256(*v, rk[0]);
    }
    for key in &rk[1..10] {
        for v in x.iter_mut() {
            *v = _mm256_aesenc_epi128(*v, *key);
        }
    }
    for v in x.iter_mut() {
        *v = _mm256_aesenclast_epi128(*v, rk[10]);
    }
    let [lo, mid, hi] = acc;
    for (r, &t) in x.iter().enumerate() {
        let y: __m256i = bytemuck::cast([chi[2 * r], chi[2 * r + 1]]);
        *lo = _mm256_xor_si256(*lo, _mm256_clmulepi64_epi128::<0x00>(t, y));
        *hi = _mm256_xor_si256(*hi, _mm256_clmulepi64_epi128::<0x11>(t, y));
        let ts = _mm256_xor_si256(t, _mm256_shuffle_epi32::<0x4e>(t));
        let ys = _mm256_xor_si256(y, _mm256_shuffle_epi32::<0x4e>(y));
        *mid = _mm256_xor_si256(*mid, _mm256_clmulepi64_epi128::<0x00>(ts, ys));
    }
}
