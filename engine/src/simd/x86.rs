//! The x86-64 kernels (see the parent module for why each is hand-written
//! and what makes its `unsafe` sound): the fused half-gates kernels on
//! VAES-512 ([`half_gates`]), the fused three-halves kernels on VAES-512
//! ([`three_halves`]), the carry-less inner products and the OT's fused
//! AES-CTR product ([`clmul`]), and what they share here: the AES-128 key
//! schedule, register casts and the `tmmo!` macro, which expands TMMO inside
//! the calling kernel so that its blocks stay in registers.

use core::arch::x86_64::*;

use super::Block;

/// The low 64-bit half of each lane (where a tweak goes, see
/// [`Block::from_u64`]).
const LOW_QWORDS: __mmask8 = 0b0101_0101;

#[inline(always)]
fn to_m128(b: Block) -> __m128i {
    bytemuck::cast(b)
}

#[inline(always)]
fn to_m512(b: [Block; 4]) -> __m512i {
    bytemuck::cast(b)
}

#[inline(always)]
fn from_m512(v: __m512i) -> [Block; 4] {
    bytemuck::cast(v)
}

/// One step of the AES-128 key schedule (FIPS-197 §5.2) with AES-NI's
/// `aeskeygenassist` output `assist`.
#[target_feature(enable = "aes,sse2")]
fn expand_step(key: __m128i, assist: __m128i) -> __m128i {
    let t = _mm_shuffle_epi32::<0xff>(assist);
    let mut k = key;
    k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    _mm_xor_si128(k, t)
}

/// The AES-128 round keys of `key`, broadcast to 4 lanes.
#[target_feature(enable = "aes,sse2,avx512f")]
fn broadcast_round_keys(key: Block) -> [__m512i; 11] {
    aes128_round_keys(key).map(|k| _mm512_broadcast_i32x4(k))
}

/// TMMO on `N` registers of 4 blocks: `x[j] ← π(π(x[j]) ⊕ tweak[j]) ⊕
/// π(x[j])`, both layers interleaved over the registers. A macro, so
/// that it is always expanded inside the calling kernel and the blocks
/// stay in registers.
macro_rules! tmmo {
    ($rk:expr, $x:expr, $tweak:expr) => {{
        let (rk, x, tweak) = ($rk, $x, $tweak);
        // Layer 1: p = π(x).
        for v in x.iter_mut() {
            *v = _mm512_xor_si512(*v, rk[0]);
        }
        for key in &rk[1..10] {
            for v in x.iter_mut() {
                *v = _mm512_aesenc_epi128(*v, *key);
            }
        }
        let mut p = *x;
        for v in p.iter_mut() {
            *v = _mm512_aesenclast_epi128(*v, rk[10]);
        }
        // Layer 2: π(p ⊕ tweak) ⊕ p, the final XOR folded into the last
        // round key.
        for j in 0..x.len() {
            // 0x96: three-way XOR.
            x[j] = _mm512_ternarylogic_epi64::<0x96>(p[j], tweak[j], rk[0]);
        }
        for key in &rk[1..10] {
            for v in x.iter_mut() {
                *v = _mm512_aesenc_epi128(*v, *key);
            }
        }
        for j in 0..x.len() {
            x[j] = _mm512_aesenclast_epi128(x[j], _mm512_xor_si512(rk[10], p[j]));
        }
    }};
}

/// The 11 AES-128 round keys of `key` (FIPS-197 §5.2, with AES-NI's
/// `aeskeygenassist`).
#[target_feature(enable = "aes,sse2")]
pub(super) fn aes128_round_keys(key: Block) -> [__m128i; 11] {
    let mut rk = [_mm_setzero_si128(); 11];
    rk[0] = to_m128(key);
    macro_rules! step {
        ($i:expr, $rcon:expr) => {
            rk[$i] = expand_step(rk[$i - 1], _mm_aeskeygenassist_si128::<$rcon>(rk[$i - 1]));
        };
    }
    step!(1, 0x01);
    step!(2, 0x02);
    step!(3, 0x04);
    step!(4, 0x08);
    step!(5, 0x10);
    step!(6, 0x20);
    step!(7, 0x40);
    step!(8, 0x80);
    step!(9, 0x1b);
    step!(10, 0x36);
    rk
}

/// XOR of the four lanes.
#[inline(always)]
fn fold(v: __m512i) -> Block {
    let [a, b, c, d] = from_m512(v);
    a ^ b ^ c ^ d
}

// After `tmmo!`, which the half-gates, three-halves and generator
// half-gate kernels expand.
mod gen_half;
mod half_gates;
mod three_halves;

mod clmul;

pub(crate) use clmul::AesCtrDot;
pub(super) use clmul::{dot_pclmul128, dot_vpclmul256, has_pclmul128, has_vpclmul256};
pub(crate) use gen_half::VaesGenHalf;
pub(crate) use half_gates::VaesHalfGates;
pub(crate) use three_halves::VaesThreeHalves;
