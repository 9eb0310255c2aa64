//! Fused three-halves kernels on VAES-512 (AVX-512F, VAES, BMI2).
//!
//! The scheme is Rosulek and Roy's (*Three Halves Make a Whole?*, Crypto
//! 2021, ePrint 2021/749), exactly as [`crate::garble::three_halves`]
//! computes it: same TMMO hash (Guo, Katz, Wang, Yu, IEEE S&P 2020), same
//! tweaks `3g, 3g + 1, 3g + 2`, same ciphertexts, control bits and byte
//! order; the tests compare the two byte for byte.
//!
//! The portable code gathers a chunk's labels to a per-thread buffer,
//! hashes it with two batched AES calls, then reads labels, hashes and
//! scratch once more to build the tables, one gate at a time. Here one
//! group of 8 gates (one group of the material layout: 192 bytes of
//! ciphertexts and 40 control bits) goes from the gather to the output
//! labels and the material without leaving the registers:
//!
//! * Labels are laid out *by gate*: a register holds the same label of 4
//!   gates (`[A₀, A₁, A₂, A₃]`, `[B₀, …]`, `[A₀ ⊕ B₀, …]`, and when
//!   garbling the same ⊕ Δ), so the hashes of one kind for 4 gates are one
//!   register and the scheme's XORs of hashes are one instruction each.
//! * Everything per gate that selects (colours, control bits, the
//!   garbler's random bits) becomes AVX-512 mask bits, two per gate (one
//!   per 64-bit half of its lane), and every "add `x` if bit" of the scheme
//!   is a masked XOR: no branch, no table of 128-bit masks. The evaluator's
//!   selection matrix `R = R_p(i, j) ⊕ r₁S₁ ⊕ r₂S₂` is affine in `(i, j, r₁,
//!   r₂)` for the paper's `R_p, S₁, S₂` (see `eval_group`), so its mask bits
//!   are a few bit operations; the garbler's coefficients (not affine in
//!   its case bits) come from a 16-entry table of mask bytes
//!   ([`GARBLE_KMASKS`]) derived at compile time from the same solution
//!   the portable code uses.
//! * Control bits move between the material's packing (gate `k`'s `z_s`
//!   at bit `5k + s`) and the mask layout with BMI2's `pext` / `pdep`.
//! * Ciphertexts `G₀, G₁, G₂` are loaded and stored as three 64-byte
//!   registers per group and moved into lanes with `vpermt2q`.
//!
//! Two things keep a group's work in registers and short (measured on the
//! Zen 4 machine, `BENCHMARKS.md`: together garbling went from 48–58 to
//! 64–70 M AND/s):
//!
//! * The code for each half of a group (4 gates) is a macro written out
//!   for `h = 0` and `h = 1`, not a loop: LLVM kept the loop rolled, and
//!   with a variable `h` the register arrays (`x`, `a`, `b`, `g01`, …)
//!   lived on the stack.
//! * The garbler's mask bytes come from [`KMASKS_TWO_GATES`], two gates
//!   per look-up, indexed by the gates' case nibbles, which two `pdep`
//!   interleave; the control bits are packed and unpacked with three
//!   `pdep` / `pext` of bit pairs, not ten.

use core::arch::x86_64::*;

use zeroize::Zeroize;

use super::{broadcast_round_keys, from_m512, to_m128, to_m512, LOW_QWORDS};
use crate::block::Block;
use crate::garble::ops::Op;
use crate::garble::stream::{rotate_to, xor_fold};
use crate::garble::three_halves::{GARBLE_KMASKS, GROUP, GROUP_BYTES};
use crate::simd::LabelStore;

/// Ciphertext bytes of a full group: 8 gates × 24.
const CIPHERS: usize = 192;

const _: () = assert!(GROUP == 8 && GROUP_BYTES == CIPHERS + 5);

/// The fused three-halves kernels under TMMO with a given AES-128 key;
/// constructed only on CPUs with AVX-512F, VAES, AES-NI and BMI2.
#[derive(Clone, Copy)]
pub(crate) struct VaesThreeHalves {
    /// The 11 round keys, each broadcast to the 4 lanes of a register.
    round_keys: [__m512i; 11],
}

impl std::fmt::Debug for VaesThreeHalves {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaesThreeHalves")
    }
}

impl VaesThreeHalves {
    /// The kernels for TMMO under AES-128 with `key`, if this CPU has
    /// AVX-512F, VAES, AES-NI (for the key schedule) and BMI2.
    pub(crate) fn detect(key: Block) -> Option<VaesThreeHalves> {
        if !(is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("vaes")
            && is_x86_feature_detected!("aes")
            && is_x86_feature_detected!("bmi2"))
        {
            return None;
        }
        // SAFETY: AES-NI and AVX-512F were detected just above.
        let round_keys = unsafe { broadcast_round_keys(key) };
        Some(VaesThreeHalves { round_keys })
    }

    /// Garbles `ops` under Δ = `delta`: gate `k` is AND gate `first_and +
    /// k`, its input zero labels are read from `labels`, its output zero
    /// label put there as gate `k0 + k`'s, and its material written to
    /// `material` (`material_len(ops.len())` bytes, groups from `ops[0]`).
    /// `rho` holds the gate seed's blocks from `⌊first_and / 64⌋` on,
    /// covering every gate of `ops`. The gates must be independent. Returns
    /// the XOR of `material`'s 16-byte blocks (the stream's checksum, see
    /// `garble/stream.rs`), folded from the registers as each group is
    /// written rather than read back.
    #[allow(clippy::too_many_arguments)] // one call site, in `three_halves.rs`
    pub(crate) fn garble<S: LabelStore>(
        &self,
        delta: Block,
        first_and: u64,
        labels: &mut S,
        k0: usize,
        ops: &[Op],
        rho: &[Block],
        material: &mut [u8],
    ) -> u128 {
        // SAFETY: `self` exists only if AVX-512F, VAES and BMI2 were detected.
        unsafe { garble_kernel(&self.round_keys, delta, first_and, labels, k0, ops, rho, material) }
    }

    /// Evaluates `ops`: active labels read from and output labels put to
    /// `labels` (gate `k` as `k`), material read from `material`.
    pub(crate) fn eval<S: LabelStore>(&self, first_and: u64, labels: &mut S, ops: &[Op], material: &[u8]) {
        // SAFETY: `self` exists only if AVX-512F, VAES and BMI2 were detected.
        unsafe { eval_kernel(&self.round_keys, first_and, labels, ops, material) }
    }
}

/// `[1, 0]` in every lane: bit 0 of the low half (a label's colour).
#[inline]
#[target_feature(enable = "avx512f")]
fn low_bit() -> __m512i {
    _mm512_set_epi64(0, 1, 0, 1, 0, 1, 0, 1)
}

/// `[0, 1]` in every lane: bit 64 (a hash's control mask `ĥ`).
#[inline]
#[target_feature(enable = "avx512f")]
fn high_bit() -> __m512i {
    _mm512_set_epi64(1, 0, 1, 0, 1, 0, 1, 0)
}

/// Bit 64 of each lane (a hash's `ĥ`) as even mask bits.
#[inline]
#[target_feature(enable = "avx512f")]
fn high_mask(v: __m512i) -> u8 {
    _mm512_test_epi64_mask(v, high_bit()) >> 1
}

/// The halves of every lane exchanged.
#[inline]
#[target_feature(enable = "avx512f")]
fn swap_halves(v: __m512i) -> __m512i {
    _mm512_shuffle_epi32::<0x4e>(v)
}

/// Mask bits of 4 gates, one per lane at its low half (bits 0, 2, 4, 6).
const EVEN: u8 = 0x55;

/// A mask of even bits copied to both halves of each lane.
#[inline(always)]
fn both(m: u8) -> u8 {
    m | m << 1
}

/// The tweaks of 4 consecutive gates' hashes of one kind: lane `k` is
/// `Block::from_u64(t + 3k)`.
#[inline]
#[target_feature(enable = "avx512f")]
fn tweaks4(t: u64) -> __m512i {
    // The drivers keep AND indices below 2^62, so 3g + 11 never wraps.
    _mm512_add_epi64(_mm512_set_epi64(0, 9, 0, 6, 0, 3, 0, 0), _mm512_maskz_set1_epi64(LOW_QWORDS, t as i64))
}

/// `t + 1` in the low half of every lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn next_tweak(t: __m512i) -> __m512i {
    _mm512_add_epi64(t, _mm512_maskz_set1_epi64(LOW_QWORDS, 1))
}

/// One label of each of 4 gates.
#[inline(always)]
fn gather4<S: LabelStore>(labels: &S, ops: &[Op], b: bool) -> __m512i {
    let w = |op: &Op| if b { op.b } else { op.a };
    to_m512([labels.get(w(&ops[0])), labels.get(w(&ops[1])), labels.get(w(&ops[2])), labels.get(w(&ops[3]))])
}

/// Bits `5k` and `5k + 1` of 4 gates' packed control bits.
const CONTROL_PAIRS: u32 = 0b00011_00011_00011_00011;

/// The control bits `z_s` of 4 gates (packed as in the material: gate `k`'s
/// at bit `5k + s` of `zw`) as even mask bits, `[z₀, …, z₄]`: three
/// extractions of bit pairs (see [`pack_control`]).
#[inline]
#[target_feature(enable = "bmi2")]
fn unpack_control(zw: u32) -> [u8; 5] {
    let (z01, z23, z4) =
        (_pext_u32(zw, CONTROL_PAIRS), _pext_u32(zw, CONTROL_PAIRS << 2), _pext_u32(zw, CONTROL_PAIRS << 4));
    [z01, z01 >> 1, z23, z23 >> 1, z4].map(|z| z as u8 & EVEN)
}

/// The inverse of [`unpack_control`]: `z[s]` (even mask bits) packed at
/// bits `5k + s`. Three deposits: `z₀, z₁` and `z₂, z₃`
/// interleaved bit by bit are pairs per gate, and `z₄` is paired with the
/// zero above it (which lands on the next gate's bit 0, or past the last
/// gate's: an OR of zero).
#[inline]
#[target_feature(enable = "bmi2")]
fn pack_control(z: [u8; 5]) -> u32 {
    _pdep_u32(u32::from(z[0] | z[1] << 1), CONTROL_PAIRS)
        | _pdep_u32(u32::from(z[2] | z[3] << 1), CONTROL_PAIRS << 2)
        | _pdep_u32(u32::from(z[4]), CONTROL_PAIRS << 4)
}

/// Adds `src[s]` to the lanes' halves selected by byte `s` of `km` (see
/// [`GARBLE_KMASKS`]).
#[inline]
#[target_feature(enable = "avx512f")]
fn add_selected(mut v: __m512i, km: u64, src: &[__m512i; 6]) -> __m512i {
    for (s, &x) in src.iter().enumerate() {
        v = _mm512_mask_xor_epi64(v, (km >> (8 * s)) as u8, v, x);
    }
    v
}

#[target_feature(enable = "avx512f,vaes,bmi2")]
fn eval_kernel<S: LabelStore>(
    rk: &[__m512i; 11],
    first_and: u64,
    labels: &mut S,
    ops: &[Op],
    material: &[u8],
) {
    let (groups, rest) = ops.as_chunks::<GROUP>();
    let (mats, _) = material.as_chunks::<GROUP_BYTES>();
    for (n, (group, mat)) in groups.iter().zip(mats).enumerate() {
        let done = n * GROUP;
        eval_group::<S, true>(rk, 3 * (first_and + done as u64), labels, done, group, mat, GROUP);
    }
    if !rest.is_empty() {
        // The last group (fewer than 8 gates) padded with gates on wire 0
        // and zero material; their outputs are dropped.
        let done = groups.len() * GROUP;
        let r = rest.len();
        let mut group = [Op { a: 0, b: 0, out: 0 }; GROUP];
        group[..r].copy_from_slice(rest);
        let src = &material[groups.len() * GROUP_BYTES..];
        let control = (5 * r).div_ceil(8);
        let mut mat = [0u8; GROUP_BYTES];
        mat[..24 * r].copy_from_slice(&src[..24 * r]);
        mat[CIPHERS..CIPHERS + control].copy_from_slice(&src[24 * r..24 * r + control]);
        let t = 3 * (first_and + done as u64);
        if r > 4 {
            eval_group::<S, true>(rk, t, labels, done, &group, &mat, r);
        } else {
            eval_group::<S, false>(rk, t, labels, done, &group, &mat, r);
        }
    }
}

/// Evaluates a group of 8 gates, `t` the first one's first tweak (`3g`);
/// stores the outputs of the first `live` (the rest is padding).
///
/// Per lane (gate) the evaluator computes (module docs of
/// `three_halves.rs`) `C = [h(hA ⊕ hAB), h(hB ⊕ hAB)] ⊕ [i·G₀, j·G₁] ⊕
/// (i⊕j)·[G₂, G₂] ⊕ A·M₀ ⊕ swap(A)·M₁ ⊕ B·M₂ ⊕ swap(B)·M₃`, where the
/// masks' halves are bits of `R = R_p(i, j) ⊕ r₁S₁ ⊕ r₂S₂`. With the
/// paper's matrices those bits are `M₀ = (r₁⊕r₂, ¬j⊕r₂)`, `M₁ = (r₁, r₁)`,
/// `M₂ = (¬i⊕r₁, r₁⊕r₂)`, `M₃ = (r₂, r₂)` (`R_p` has `¬i` at `B_L → C_L`
/// and `¬j` at `A_R → C_R`; `S₁ = 1001_0111`, `S₂ = 1110_1001`).
#[inline]
#[target_feature(enable = "avx512f,vaes,bmi2")]
fn eval_group<S: LabelStore, const BOTH_HALVES: bool>(
    rk: &[__m512i; 11],
    t: u64,
    labels: &mut S,
    k0: usize,
    ops: &[Op; GROUP],
    mat: &[u8; GROUP_BYTES],
    live: usize,
) {
    // Registers 3h, 3h + 1, 3h + 2: A, B, A ⊕ B of gates 4h .. 4h + 4.
    let zero = _mm512_setzero_si512();
    let (mut a, mut b) = ([zero; 2], [zero; 2]);
    let (mut x, mut tweak) = ([zero; 6], [zero; 6]);
    macro_rules! eval_gather {
        ($h:expr) => {{
            let h: usize = $h;
            let o = &ops[4 * h..4 * h + 4];
            (a[h], b[h]) = (gather4(labels, o, false), gather4(labels, o, true));
            x[3 * h] = a[h];
            x[3 * h + 1] = b[h];
            x[3 * h + 2] = _mm512_xor_si512(a[h], b[h]);
            tweak[3 * h] = tweaks4(t + 12 * h as u64);
            tweak[3 * h + 1] = next_tweak(tweak[3 * h]);
            tweak[3 * h + 2] = next_tweak(tweak[3 * h + 1]);
        }};
    }
    // A group of at most 4 live gates (a narrow level's, padded) hashes
    // and finishes its first half only (`BOTH_HALVES` false; a constant,
    // so that full groups run the code they ran before).
    eval_gather!(0);
    if BOTH_HALVES {
        eval_gather!(1);
        tmmo!(rk, &mut x, &tweak);
    } else if let (Some(x), Some(tweak)) = (x.first_chunk_mut::<3>(), tweak.first_chunk::<3>()) {
        tmmo!(rk, x, tweak);
    }
    let ciphers: [__m512i; 3] = bytemuck::cast(*mat.first_chunk::<CIPHERS>().expect("192 bytes"));
    let mut z = [0u8; 8];
    z[..5].copy_from_slice(&mat[CIPHERS..]);
    let z = u64::from_le_bytes(z);
    // Gate k's (G₀, G₁, G₂) are qwords 3k .. 3k + 3 of the group: lanes
    // [G₀, G₁] and [G₂, G₂] of gates 4h .. 4h + 4.
    let sources = [(ciphers[0], ciphers[1]), (ciphers[1], ciphers[2])];
    let g01_index = [_mm512_set_epi64(10, 9, 7, 6, 4, 3, 1, 0), _mm512_set_epi64(14, 13, 11, 10, 8, 7, 5, 4)];
    let g2_index = [_mm512_set_epi64(11, 11, 8, 8, 5, 5, 2, 2), _mm512_set_epi64(15, 15, 12, 12, 9, 9, 6, 6)];
    macro_rules! eval_half {
        ($h:expr) => {{
            let h: usize = $h;
            let (ha, hb, hab) = (x[3 * h], x[3 * h + 1], x[3 * h + 2]);
            let (ua, ub) = (_mm512_xor_si512(ha, hab), _mm512_xor_si512(hb, hab));
            let (s0, s1) = sources[h];
            let g01 = _mm512_permutex2var_epi64(s0, g01_index[h], s1);
            let g2 = _mm512_permutex2var_epi64(s0, g2_index[h], s1);
            // Even mask bits, one per gate.
            let i = _mm512_test_epi64_mask(a[h], low_bit());
            let j = _mm512_test_epi64_mask(b[h], low_bit());
            let (hua, hub) = (high_mask(ua), high_mask(ub));
            let zw = (z >> (20 * h)) as u32;
            let zs = unpack_control(zw);
            let ij = i ^ j;
            let r1 = zs[0] ^ (i & zs[2]) ^ (ij & zs[4]) ^ hua;
            let r2 = zs[1] ^ (j & zs[3]) ^ (ij & zs[4]) ^ hub;
            let (ni, nj) = (!i & EVEN, !j & EVEN);
            let mut c = _mm512_unpacklo_epi64(ua, ub);
            c = _mm512_mask_xor_epi64(c, i | j << 1, c, g01);
            c = _mm512_mask_xor_epi64(c, both(ij), c, g2);
            c = _mm512_mask_xor_epi64(c, (r1 ^ r2) | (nj ^ r2) << 1, c, a[h]);
            c = _mm512_mask_xor_epi64(c, both(r1), c, swap_halves(a[h]));
            c = _mm512_mask_xor_epi64(c, (ni ^ r1) | (r1 ^ r2) << 1, c, b[h]);
            c = _mm512_mask_xor_epi64(c, both(r2), c, swap_halves(b[h]));
            for (k, c) in from_m512(c).into_iter().enumerate() {
                if 4 * h + k < live {
                    labels.put(k0 + 4 * h + k, &ops[4 * h + k], c);
                }
            }
        }};
    }
    eval_half!(0);
    if BOTH_HALVES {
        eval_half!(1);
    }
}

/// Gate `g`'s random bits and the next 7 gates' (2 each, `ρ₁` first), from
/// the seed's blocks `rho` (block 0 is gate `64·q0`'s). Blocks past the
/// end read as zero (padding gates).
#[inline(always)]
fn rho_bits(rho: &[Block], q0: u64, g: u64) -> u16 {
    let q = ((g >> 6) - q0) as usize;
    let off = 2 * (g & 63) as u32;
    let mut w = rho[q].to_u128() >> off;
    if off > 112 {
        w |= rho.get(q + 1).map_or(0, |b| b.to_u128()) << (128 - off);
    }
    w as u16
}

#[target_feature(enable = "avx512f,vaes,bmi2")]
#[allow(clippy::too_many_arguments)] // one call site
fn garble_kernel<S: LabelStore>(
    rk: &[__m512i; 11],
    delta: Block,
    first_and: u64,
    labels: &mut S,
    k0: usize,
    ops: &[Op],
    rho: &[Block],
    material: &mut [u8],
) -> u128 {
    let q0 = first_and >> 6;
    let (groups, rest) = ops.as_chunks::<GROUP>();
    let (mats, tail) = material.as_chunks_mut::<GROUP_BYTES>();
    let mut fold = 0;
    for (n, (group, mat)) in groups.iter().zip(mats).enumerate() {
        let (done, g) = (n * GROUP, first_and + (n * GROUP) as u64);
        let group_fold = garble_group::<S, true>(
            rk,
            delta,
            3 * g,
            rho_bits(rho, q0, g),
            labels,
            k0 + done,
            group,
            mat,
            GROUP,
        );
        fold ^= rotate_to(group_fold, (n * GROUP_BYTES) as u64);
    }
    if rest.is_empty() {
        return fold;
    }
    // The last group padded with gates on wire 0: their outputs are
    // dropped, and of the material only the live gates' ciphertexts
    // and control bits are kept (then the buffer, derived from Δ, is
    // wiped).
    let (done, r) = (groups.len() * GROUP, rest.len());
    let g = first_and + done as u64;
    let mut group = [Op { a: 0, b: 0, out: 0 }; GROUP];
    group[..r].copy_from_slice(rest);
    // The group's material in words, wiped 8 bytes a store.
    let mut words = [0u64; GROUP_BYTES.div_ceil(8)];
    let mat: &mut [u8; GROUP_BYTES] = bytemuck::cast_slice_mut::<u64, u8>(&mut words)
        .first_chunk_mut()
        .expect("the group's words hold its bytes");
    let rho = rho_bits(rho, q0, g);
    if r > 4 {
        garble_group::<S, true>(rk, delta, 3 * g, rho, labels, k0 + done, &group, mat, r);
    } else {
        garble_group::<S, false>(rk, delta, 3 * g, rho, labels, k0 + done, &group, mat, r);
    }
    let control = (5 * r).div_ceil(8);
    tail[..24 * r].copy_from_slice(&mat[..24 * r]);
    tail[24 * r..24 * r + control].copy_from_slice(&mat[CIPHERS..CIPHERS + control]);
    words.zeroize();
    // Packed closer than a full group's: folded from the bytes.
    fold ^ rotate_to(xor_fold(&tail[..24 * r + control]), (groups.len() * GROUP_BYTES) as u64)
}

/// [`GARBLE_KMASKS`] for two gates at once: entry `c₀ | c₁ << 4` is the
/// first gate's masks for case `c₀` and the second's (moved to lane 1)
/// for case `c₁`. 6 KiB, so that a group's masks take 4 look-ups, not 8.
static KMASKS_TWO_GATES: [[u64; 3]; 256] = {
    let mut t = [[0u64; 3]; 256];
    let mut i = 0;
    while i < 256 {
        let (lo, hi) = (&GARBLE_KMASKS[i & 15], &GARBLE_KMASKS[i >> 4]);
        let mut m = 0;
        while m < 3 {
            t[i][m] = lo[m] | hi[m] << 2;
            m += 1;
        }
        i += 1;
    }
    t
};

/// Garbles a group of 8 gates, `t` the first one's first tweak (`3g`),
/// `rho` their random bits; stores the outputs of the first `live` (the
/// rest is padding) and the group's material (control bits of the live
/// gates only). Returns the XOR of the material's 16-byte blocks (the
/// ciphertexts' 12, and the control bits, which start the 13th).
#[inline]
#[target_feature(enable = "avx512f,vaes,bmi2")]
#[allow(clippy::too_many_arguments)] // two call sites, in `garble_kernel`
fn garble_group<S: LabelStore, const BOTH_HALVES: bool>(
    rk: &[__m512i; 11],
    delta: Block,
    t: u64,
    rho: u16,
    labels: &mut S,
    k0: usize,
    ops: &[Op; GROUP],
    mat: &mut [u8; GROUP_BYTES],
    live: usize,
) -> u128 {
    let d = _mm512_broadcast_i32x4(to_m128(delta));
    // `x[h]`: A₀, A₀ ⊕ Δ, B₀, B₀ ⊕ Δ, A₀ ⊕ B₀, A₀ ⊕ B₀ ⊕ Δ of gates 4h ..
    // 4h + 4.
    let zero = _mm512_setzero_si512();
    let (mut a, mut b) = ([zero; 2], [zero; 2]);
    let (mut x, mut tweak) = ([[zero; 6]; 2], [[zero; 6]; 2]);
    macro_rules! garble_gather {
        ($h:expr) => {{
            let h: usize = $h;
            let o = &ops[4 * h..4 * h + 4];
            (a[h], b[h]) = (gather4(labels, o, false), gather4(labels, o, true));
            let ab = _mm512_xor_si512(a[h], b[h]);
            x[h] = [
                a[h],
                _mm512_xor_si512(a[h], d),
                b[h],
                _mm512_xor_si512(b[h], d),
                ab,
                _mm512_xor_si512(ab, d),
            ];
            let ta = tweaks4(t + 12 * h as u64);
            let tb = next_tweak(ta);
            let tab = next_tweak(tb);
            tweak[h] = [ta, ta, tb, tb, tab, tab];
        }};
    }
    // A group of at most 4 live gates (a narrow level's, padded) hashes
    // and finishes its first half only (`BOTH_HALVES` false; a constant,
    // so that full groups run the code they ran before): its material
    // holds those gates'.
    garble_gather!(0);
    if BOTH_HALVES {
        garble_gather!(1);
    }
    // Hashed half by half: 6 values, their 6 first-layer outputs and the
    // 11 round keys fit the 32 registers; 12 would not.
    tmmo!(rk, &mut x[0], &tweak[0]);
    if BOTH_HALVES {
        tmmo!(rk, &mut x[1], &tweak[1]);
    }
    let ds = swap_halves(d);
    let (mut g01, mut g2) = ([zero; 2], [zero; 2]);
    let mut z = 0u64;
    macro_rules! finish_half {
        ($h:expr) => {{
            let h: usize = $h;
            let hs = &x[h];
            let (da, db, dab) = (
                _mm512_xor_si512(hs[0], hs[1]),
                _mm512_xor_si512(hs[2], hs[3]),
                _mm512_xor_si512(hs[4], hs[5]),
            );
            let pa = _mm512_test_epi64_mask(a[h], low_bit());
            let pb = _mm512_test_epi64_mask(b[h], low_bit());
            // Hashes of the colour-0 labels A*, B*, A* ⊕ B*.
            let ha = _mm512_mask_xor_epi64(hs[0], both(pa), hs[0], da);
            let hb = _mm512_mask_xor_epi64(hs[2], both(pb), hs[2], db);
            let hab = _mm512_mask_xor_epi64(hs[4], both(pa ^ pb), hs[4], dab);
            let (ua, ub) = (_mm512_xor_si512(ha, hab), _mm512_xor_si512(hb, hab));
            // Gate k's case pa | pb << 1 | ρ₁ << 2 | ρ₂ << 3 as nibble k of
            // `cases` (the colours and the random bits interleaved two by two),
            // and the mask bytes of its linear parts, moved to its lane: two
            // gates per table look-up.
            let r = (rho >> (8 * h)) as u8;
            let cases = _pdep_u32(u32::from(pa | pb << 1), 0x3333) | _pdep_u32(u32::from(r), 0xcccc);
            let (lo, hi) =
                (&KMASKS_TWO_GATES[(cases & 0xff) as usize], &KMASKS_TWO_GATES[(cases >> 8) as usize]);
            let km = [lo[0] | hi[0] << 4, lo[1] | hi[1] << 4, lo[2] | hi[2] << 4];
            let src = [a[h], swap_halves(a[h]), b[h], swap_halves(b[h]), d, ds];
            let c0 = add_selected(_mm512_unpacklo_epi64(ua, ub), km[0], &src);
            g01[h] = add_selected(_mm512_unpacklo_epi64(da, db), km[1], &src);
            g2[h] = add_selected(dab, km[2], &src);
            let (r1, r2) = (r & EVEN, (r >> 1) & EVEN);
            let zs = [
                r1 ^ high_mask(ua),
                r2 ^ high_mask(ub),
                (!pa & EVEN) ^ high_mask(da),
                (!pb & EVEN) ^ high_mask(db),
                pa ^ pb ^ high_mask(dab),
            ];
            z |= u64::from(pack_control(zs)) << (20 * h);
            for (k, c) in from_m512(c0).into_iter().enumerate() {
                if 4 * h + k < live {
                    labels.put(k0 + 4 * h + k, &ops[4 * h + k], c);
                }
            }
        }};
    }
    finish_half!(0);
    if BOTH_HALVES {
        finish_half!(1);
    }
    // Gate k's (G₀, G₁, G₂) at qwords 3k .. 3k + 3: from [G₀, G₁] (g01,
    // index 2k, 2k + 1) and [G₂, –] (g2, index 8 + 2k) of its half.
    let head = _mm512_set_epi64(5, 4, 10, 3, 2, 8, 1, 0);
    let mid_lo = _mm512_set_epi64(0, 0, 0, 0, 14, 7, 6, 12);
    let mid_hi = _mm512_set_epi64(2, 8, 1, 0, 0, 0, 0, 0);
    let tail = _mm512_set_epi64(14, 7, 6, 12, 5, 4, 10, 3);
    let ciphers = [
        _mm512_permutex2var_epi64(g01[0], head, g2[0]),
        _mm512_mask_blend_epi64(
            0xf0,
            _mm512_permutex2var_epi64(g01[0], mid_lo, g2[0]),
            _mm512_permutex2var_epi64(g01[1], mid_hi, g2[1]),
        ),
        _mm512_permutex2var_epi64(g01[1], tail, g2[1]),
    ];
    let (out, control) = mat.split_at_mut(CIPHERS);
    out.copy_from_slice(&bytemuck::cast::<_, [u8; CIPHERS]>(ciphers));
    let z = z & ((1u64 << (5 * live)) - 1);
    control.copy_from_slice(&z.to_le_bytes()[..5]);
    let lanes: [u128; 4] =
        bytemuck::cast(_mm512_ternarylogic_epi64::<0x96>(ciphers[0], ciphers[1], ciphers[2]));
    lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3] ^ u128::from(z)
}
