//! TMMO on VAES with 256-bit registers, both AES layers in one pass.
//!
//! For CPUs with VAES and AVX2 but no AVX-512 (AMD Zen 3, Intel Ice Lake
//! client parts with AVX-512 disabled, …), where the VAES-512 kernels of
//! [`super::x86`] cannot run. The `aes` crate does use VAES-256 there, but
//! TMMO through it is two calls and a pass in between: each layer's blocks
//! leave the registers, and each call pays its set-up. Measured on an AMD
//! EPYC (Zen 3) the two calls reach about 150–230 M blocks/s; this kernel
//! keeps 16 blocks (8 registers) in flight through both layers, so every
//! block is loaded once and stored once.
//!
//! The hash is exactly [`crate::hash::Tmmo`]'s, `H(x, i) = π(π(x) ⊕ i) ⊕
//! π(x)` (Guo, Katz, Wang, Yu, IEEE S&P 2020): same key, same tweaks, same
//! bytes; the tests check it against the `aes` crate block by block.

use core::arch::x86_64::*;

use super::x86::aes128_round_keys;
use super::LabelStore;
use crate::block::{wipe, Block};
use crate::garble::ops::Op;

/// Registers of two blocks hashed together: enough independent `vaesenc`
/// to cover its latency (4 cycles, 2 per cycle on Zen 3).
const REGS: usize = 8;
/// Blocks per group.
const GROUP: usize = 2 * REGS;

/// TMMO's two layers on an array of registers: evaluates to `p = π(x)` and
/// leaves `π(p ⊕ tweak)` in `x` (the hash is their XOR), both layers
/// interleaved over the registers. A macro, so that it is always expanded
/// inside the calling kernel and the blocks stay in registers (a
/// `#[target_feature]` function cannot be `#[inline(always)]`, and the
/// compiler did not inline this one).
macro_rules! tmmo_layers {
    ($rk:expr, $x:expr, $tweak:expr) => {{
        let (rk, x, tweak): (&[__m256i; 11], &mut [__m256i; _], &[__m256i; _]) = ($rk, $x, $tweak);
        aes_layer!(rk, &mut *x);
        let p = *x;
        for (r, t) in x.iter_mut().zip(tweak) {
            *r = _mm256_xor_si256(*r, *t);
        }
        aes_layer!(rk, &mut *x);
        p
    }};
}

/// `x[j] ← π(x[j])` for every register of the array `x` (AES-128, two
/// blocks each).
macro_rules! aes_layer {
    ($rk:expr, $x:expr) => {{
        let (rk, x) = ($rk, $x);
        for r in x.iter_mut() {
            *r = _mm256_xor_si256(*r, rk[0]);
        }
        for key in &rk[1..10] {
            for r in x.iter_mut() {
                *r = _mm256_aesenc_epi128(*r, *key);
            }
        }
        for r in x.iter_mut() {
            *r = _mm256_aesenclast_epi128(*r, rk[10]);
        }
    }};
}

/// TMMO's two layers on one group: `(π(x), π(π(x) ⊕ tweak))` for the
/// blocks `x` (`[Block; GROUP]`) at positions `start, start + 1, …` of the
/// caller's batch. A macro for the reason `tmmo_layers!` is one.
macro_rules! tmmo_group {
    ($rk:expr, $x:expr, $start:expr, $tweak:expr) => {{
        let (x, start): ([Block; GROUP], usize) = ($x, $start);
        let tweak = $tweak;
        let mut v: [__m256i; REGS] = bytemuck::cast(x);
        let tweaks: [__m256i; REGS] =
            bytemuck::cast(core::array::from_fn::<Block, GROUP, _>(|k| tweak(start + k)));
        let p = tmmo_layers!($rk, &mut v, &tweaks);
        (bytemuck::cast::<_, [Block; GROUP]>(p), bytemuck::cast::<_, [Block; GROUP]>(v))
    }};
}

/// TMMO under one AES-128 key on VAES-256; constructed only on CPUs with
/// AES-NI, AVX2 and VAES.
#[derive(Clone, Copy)]
pub(crate) struct Vaes256Tmmo {
    /// The 11 round keys, each broadcast to both lanes of a register.
    round_keys: [__m256i; 11],
}

impl std::fmt::Debug for Vaes256Tmmo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vaes256Tmmo")
    }
}

impl Vaes256Tmmo {
    /// The kernel for TMMO under AES-128 with `key`, if this CPU has AES-NI,
    /// AVX2 and VAES and *not* AVX-512F: there the `aes` crate runs VAES-512
    /// and the half-gates kernels of [`super::x86`] take over, which is what
    /// was measured on such machines; this kernel was not.
    pub(crate) fn detect(key: Block) -> Option<Vaes256Tmmo> {
        if !(is_x86_feature_detected!("aes")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("vaes"))
            || is_x86_feature_detected!("avx512f")
        {
            return None;
        }
        Some(Vaes256Tmmo::new_unchecked(key))
    }

    /// The kernel without the AVX-512 exclusion of [`Vaes256Tmmo::detect`]
    /// (still only where VAES-256 runs): for tests on any such CPU.
    #[cfg(test)]
    pub(crate) fn detect_any(key: Block) -> Option<Vaes256Tmmo> {
        (is_x86_feature_detected!("aes")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("vaes"))
        .then(|| Vaes256Tmmo::new_unchecked(key))
    }

    /// Callers have checked AES-NI, AVX2 and VAES.
    fn new_unchecked(key: Block) -> Vaes256Tmmo {
        // SAFETY: the callers checked AES-NI (SSE2 is part of x86_64).
        let rk = unsafe { aes128_round_keys(key) };
        // SAFETY: as above, and AVX2 for the broadcast.
        let round_keys = unsafe { broadcast(rk) };
        Vaes256Tmmo { round_keys }
    }

    /// [`crate::hash::TweakableHash::hash_split`]: `scratch[k] = π(xs[k])`
    /// and `out[k] = π(π(xs[k]) ⊕ tweak(k))`, so that `H(xs[k], tweak(k)) =
    /// out[k] ⊕ scratch[k]`. `out` and `scratch` at least as long as `xs`.
    pub(crate) fn hash_split(
        &self,
        xs: &[Block],
        out: &mut [Block],
        scratch: &mut [Block],
        tweak: impl Fn(usize) -> Block,
    ) {
        let n = xs.len();
        // SAFETY: `self` exists only if AES-NI, AVX2 and VAES were detected.
        unsafe { split_kernel(&self.round_keys, xs, &mut out[..n], &mut scratch[..n], tweak) }
    }

    /// [`crate::hash::TweakableHash::hash_in_place`]: `xs[k] ← H(xs[k],
    /// tweak(k))`.
    pub(crate) fn hash_in_place(&self, xs: &mut [Block], tweak: impl Fn(usize) -> Block) {
        // SAFETY: `self` exists only if AES-NI, AVX2 and VAES were detected.
        unsafe { in_place_kernel(&self.round_keys, xs, tweak) }
    }
}

/// See [`Vaes256Tmmo::hash_split`] (`out`, `scratch` as long as `xs`):
/// full groups straight from the slices, the rest (fewer than a group)
/// padded, its extra blocks dropped.
#[target_feature(enable = "aes,avx2,vaes")]
fn split_kernel(
    rk: &[__m256i; 11],
    xs: &[Block],
    out: &mut [Block],
    scratch: &mut [Block],
    tweak: impl Fn(usize) -> Block,
) {
    let (groups, rest) = xs.as_chunks::<GROUP>();
    let (out_groups, out_rest) = out.as_chunks_mut::<GROUP>();
    let (p_groups, p_rest) = scratch.as_chunks_mut::<GROUP>();
    for (g, ((x, o), p)) in groups.iter().zip(out_groups).zip(p_groups).enumerate() {
        (*p, *o) = tmmo_group!(rk, *x, g * GROUP, &tweak);
    }
    if !rest.is_empty() {
        let mut x = [Block::ZERO; GROUP];
        x[..rest.len()].copy_from_slice(rest);
        let (p, h) = tmmo_group!(rk, x, groups.len() * GROUP, &tweak);
        p_rest.copy_from_slice(&p[..rest.len()]);
        out_rest.copy_from_slice(&h[..rest.len()]);
    }
}

/// See [`Vaes256Tmmo::hash_in_place`].
#[target_feature(enable = "aes,avx2,vaes")]
fn in_place_kernel(rk: &[__m256i; 11], xs: &mut [Block], tweak: impl Fn(usize) -> Block) {
    let (groups, rest) = xs.as_chunks_mut::<GROUP>();
    let whole = groups.len() * GROUP;
    for (g, x) in groups.iter_mut().enumerate() {
        let (p, h) = tmmo_group!(rk, *x, g * GROUP, &tweak);
        *x = core::array::from_fn(|k| h[k] ^ p[k]);
    }
    if !rest.is_empty() {
        let mut x = [Block::ZERO; GROUP];
        x[..rest.len()].copy_from_slice(rest);
        let (p, h) = tmmo_group!(rk, x, whole, &tweak);
        for (k, out) in rest.iter_mut().enumerate() {
            *out = h[k] ^ p[k];
        }
    }
}

/// The round keys broadcast to both 128-bit lanes.
#[target_feature(enable = "avx2")]
fn broadcast(rk: [__m128i; 11]) -> [__m256i; 11] {
    rk.map(|k| _mm256_broadcastsi128_si256(k))
}

/// The fused half-gates kernels (Zahur, Rosulek, Evans, Eurocrypt 2015)
/// under TMMO on VAES-256: the 256-bit counterpart of
/// [`super::x86::VaesHalfGates`], same tweaks, same bytes. Labels go from
/// the gather to the output label without leaving the registers; the
/// portable code instead makes three passes over per-thread buffers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vaes256HalfGates(Vaes256Tmmo);

/// Gates per evaluation group: one register `[A, B]` per gate.
const EVAL_GROUP: usize = REGS;
/// Gates per garbling group: two registers `[A, A ⊕ Δ]`, `[B, B ⊕ Δ]` per
/// gate.
const GARBLE_GROUP: usize = REGS / 2;
/// How far ahead of the group being evaluated its tables are prefetched,
/// in blocks (4 groups: 1 KiB).
const PREFETCH_BLOCKS: usize = 8 * EVAL_GROUP;

impl Vaes256HalfGates {
    /// The kernels for TMMO under AES-128 with `key`, under the conditions
    /// of [`Vaes256Tmmo::detect`].
    pub(crate) fn detect(key: Block) -> Option<Vaes256HalfGates> {
        Vaes256Tmmo::detect(key).map(Vaes256HalfGates)
    }

    /// As [`Vaes256HalfGates::detect`] on any CPU with VAES-256 (tests).
    #[cfg(test)]
    pub(crate) fn detect_any(key: Block) -> Option<Vaes256HalfGates> {
        Vaes256Tmmo::detect_any(key).map(Vaes256HalfGates)
    }

    /// As [`super::x86::VaesHalfGates::garble`].
    pub(crate) fn garble<S: LabelStore>(
        &self,
        delta: Block,
        first_and: u64,
        labels: &mut S,
        ops: &[Op],
        tables: &mut [Block],
    ) -> Block {
        // SAFETY: `self` exists only if AES-NI, AVX2 and VAES were detected.
        unsafe { garble_kernel(&self.0.round_keys, delta, first_and, labels, ops, tables) }
    }

    /// As [`super::x86::VaesHalfGates::eval`].
    pub(crate) fn eval<S: LabelStore>(
        &self,
        first_and: u64,
        labels: &mut S,
        ops: &[Op],
        tables: &[Block],
    ) -> Block {
        // SAFETY: `self` exists only if AES-NI, AVX2 and VAES were detected.
        unsafe { eval_kernel(&self.0.round_keys, first_and, labels, ops, tables) }
    }
}

/// The tweak register `[lo, hi]` (each a [`Block::from_u64`]).
#[inline(always)]
fn tweak_pair(lo: u64, hi: u64) -> __m256i {
    bytemuck::cast([Block::from_u64(lo), Block::from_u64(hi)])
}

#[target_feature(enable = "aes,avx2,vaes")]
fn garble_kernel<S: LabelStore>(
    rk: &[__m256i; 11],
    delta: Block,
    first_and: u64,
    labels: &mut S,
    ops: &[Op],
    tables: &mut [Block],
) -> Block {
    let mut acc = Block::ZERO;
    // Full groups straight from and into the caller's slices; the rest
    // (fewer than a group) padded with gates on wire 0, whose tables are
    // dropped and wiped (they are derived from Δ).
    let (groups, rest) = ops.as_chunks::<GARBLE_GROUP>();
    let (table_groups, table_rest) = tables[..2 * ops.len()].as_chunks_mut::<{ 2 * GARBLE_GROUP }>();
    for (n, (group, tabs)) in groups.iter().zip(table_groups).enumerate() {
        let done = n * GARBLE_GROUP;
        // Gate `first_and + done`'s garbler-half tweak. The drivers keep AND
        // indices below `garble::AND_INDEX_LIMIT` (2^62), so with the
        // padding (at most 3 gates past the last) no tweak wraps.
        let t = 2 * (first_and + done as u64);
        acc ^= garble_group(rk, delta, t, labels, done, group, tabs, GARBLE_GROUP);
    }
    if !rest.is_empty() {
        let done = groups.len() * GARBLE_GROUP;
        let mut group = [Op { a: 0, b: 0, out: 0 }; GARBLE_GROUP];
        group[..rest.len()].copy_from_slice(rest);
        let mut tabs = [Block::ZERO; 2 * GARBLE_GROUP];
        let t = 2 * (first_and + done as u64);
        acc ^= garble_group(rk, delta, t, labels, done, &group, &mut tabs, rest.len());
        table_rest.copy_from_slice(&tabs[..table_rest.len()]);
        wipe(&mut tabs);
    }
    acc
}

/// Garbles the gates of `ops` (the first `live` real, the rest padding on
/// wire 0), `t` the first gate's garbler-half tweak: stores the real gates'
/// output labels and tables, returns the XOR of their tables.
#[inline]
#[target_feature(enable = "aes,avx2,vaes")]
#[allow(clippy::too_many_arguments)] // one call site, in `garble_kernel`
fn garble_group<S: LabelStore>(
    rk: &[__m256i; 11],
    delta: Block,
    t: u64,
    labels: &mut S,
    k0: usize,
    ops: &[Op; GARBLE_GROUP],
    tables: &mut [Block; 2 * GARBLE_GROUP],
    live: usize,
) -> Block {
    let d2: __m256i = bytemuck::cast([Block::ZERO, delta]);
    let mut x = [_mm256_setzero_si256(); REGS];
    let mut tweak = [_mm256_setzero_si256(); REGS];
    let mut inputs = [(Block::ZERO, Block::ZERO); GARBLE_GROUP];
    for (k, op) in ops.iter().enumerate() {
        let (a, b) = (labels.get(op.a), labels.get(op.b));
        inputs[k] = (a, b);
        // [A, A ⊕ Δ] with tweak 2g, [B, B ⊕ Δ] with 2g + 1.
        x[2 * k] = _mm256_xor_si256(bytemuck::cast([a, a]), d2);
        x[2 * k + 1] = _mm256_xor_si256(bytemuck::cast([b, b]), d2);
        let g = t + 2 * k as u64;
        tweak[2 * k] = tweak_pair(g, g);
        tweak[2 * k + 1] = tweak_pair(g + 1, g + 1);
    }
    let p = tmmo_layers!(rk, &mut x, &tweak);
    let mut acc = Block::ZERO;
    for (k, (op, (a, b))) in ops.iter().zip(inputs).enumerate() {
        let [ha0, ha1]: [Block; 2] = bytemuck::cast(_mm256_xor_si256(x[2 * k], p[2 * k]));
        let [hb0, hb1]: [Block; 2] = bytemuck::cast(_mm256_xor_si256(x[2 * k + 1], p[2 * k + 1]));
        let (pa, pb) = (a.lsb(), b.lsb());
        let tg = ha0 ^ ha1 ^ delta.select(pb);
        let wg = ha0 ^ tg.select(pa);
        let te = hb0 ^ hb1 ^ a;
        let we = hb0 ^ (hb0 ^ hb1).select(pb);
        tables[2 * k] = tg;
        tables[2 * k + 1] = te;
        if k < live {
            labels.put(k0 + k, op, wg ^ we);
            acc ^= tg ^ te;
        }
    }
    acc
}

#[target_feature(enable = "aes,avx2,vaes")]
fn eval_kernel<S: LabelStore>(
    rk: &[__m256i; 11],
    first_and: u64,
    labels: &mut S,
    ops: &[Op],
    tables: &[Block],
) -> Block {
    let mut acc = _mm256_setzero_si256();
    let (groups, rest) = ops.as_chunks::<EVAL_GROUP>();
    let (table_groups, table_rest) = tables[..2 * ops.len()].as_chunks::<{ 2 * EVAL_GROUP }>();
    for (n, (group, tabs)) in groups.iter().zip(table_groups).enumerate() {
        let done = n * EVAL_GROUP;
        // Tables read in place stream from DRAM: ask for the lines a few
        // groups ahead (a hint; never faults, even past the end).
        let ahead = tables.as_ptr().wrapping_add(2 * done + PREFETCH_BLOCKS);
        for line in 0..2 * EVAL_GROUP / 4 {
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(4 * line).cast::<i8>());
        }
        // As in `garble_kernel`: no tweak wraps under the drivers' bound.
        let t = 2 * (first_and + done as u64);
        acc = _mm256_xor_si256(acc, eval_group(rk, t, labels, done, group, tabs, EVAL_GROUP));
    }
    if !rest.is_empty() {
        let done = groups.len() * EVAL_GROUP;
        let mut group = [Op { a: 0, b: 0, out: 0 }; EVAL_GROUP];
        group[..rest.len()].copy_from_slice(rest);
        let mut tabs = [Block::ZERO; 2 * EVAL_GROUP];
        tabs[..table_rest.len()].copy_from_slice(table_rest);
        let t = 2 * (first_and + done as u64);
        acc = _mm256_xor_si256(acc, eval_group(rk, t, labels, done, &group, &tabs, rest.len()));
    }
    let [a, b]: [Block; 2] = bytemuck::cast(acc);
    a ^ b
}

/// Evaluates the gates of `ops` (the first `live` real, the rest padding
/// with zero tables), `t` the first gate's garbler-half tweak; stores the
/// real gates' output labels. Returns the XOR of the tables, lane by lane.
#[inline]
#[target_feature(enable = "aes,avx2,vaes")]
fn eval_group<S: LabelStore>(
    rk: &[__m256i; 11],
    t: u64,
    labels: &mut S,
    k0: usize,
    ops: &[Op; EVAL_GROUP],
    tables: &[Block; 2 * EVAL_GROUP],
    live: usize,
) -> __m256i {
    // Register k: [A, B] of gate k, tweaks 2g and 2g + 1.
    let mut x = [_mm256_setzero_si256(); REGS];
    let mut tweak = [_mm256_setzero_si256(); REGS];
    for (k, op) in ops.iter().enumerate() {
        x[k] = bytemuck::cast([labels.get(op.a), labels.get(op.b)]);
        tweak[k] = tweak_pair(t + 2 * k as u64, t + 2 * k as u64 + 1);
    }
    let inputs = x;
    let p = tmmo_layers!(rk, &mut x, &tweak);
    let tables: &[[Block; 2]; EVAL_GROUP] = tables.as_chunks::<2>().0.try_into().expect("2 blocks per gate");
    let mut acc = _mm256_setzero_si256();
    for (k, op) in ops.iter().enumerate() {
        let l = inputs[k];
        // [T_G, T_E] (the stream's order).
        let tab: __m256i = bytemuck::cast(tables[k]);
        acc = _mm256_xor_si256(acc, tab);
        // [T_G, T_E ⊕ A]: the high lane gets A (the low lane of `l`).
        let u = _mm256_xor_si256(tab, _mm256_permute2x128_si256::<0x08>(l, l));
        // Each lane adds its entry of `u` when its label's lsb is set: the
        // lsb moved to bit 63, its dword spread over the lane, then signed.
        let lsb = _mm256_srai_epi32::<31>(_mm256_shuffle_epi32::<0x55>(_mm256_slli_epi64::<63>(l)));
        let out = _mm256_xor_si256(_mm256_xor_si256(x[k], p[k]), _mm256_and_si256(u, lsb));
        let [lo, hi]: [Block; 2] = bytemuck::cast(out);
        if k < live {
            labels.put(k0 + k, op, lo ^ hi);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::FIXED_KEY;
    use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};

    /// `H(x, t) = π(π(x) ⊕ t) ⊕ π(x)` with the `aes` crate, block by block.
    fn reference(key: Block, x: Block, t: Block) -> Block {
        let aes = aes::Aes128::new(&Array::from(key.to_bytes()));
        let pi = |b: Block| {
            let mut a = Array::from(b.to_bytes());
            aes.encrypt_block(&mut a);
            Block::from_bytes(a.into())
        };
        let p = pi(x);
        pi(p ^ t) ^ p
    }

    #[test]
    fn split_and_in_place_match_the_aes_crate_on_every_length() {
        let key = FIXED_KEY;
        let Some(kernel) = Vaes256Tmmo::detect_any(key) else {
            eprintln!("no VAES-256 on this CPU: kernel not tested");
            return;
        };
        let tweak = |k: usize| Block::from_u64(3 * k as u64 + 0x1_0000_0001);
        for n in (0..=40).chain([255, 256, 257, 768]) {
            let xs: Vec<Block> = (0..n)
                .map(|k| Block::new((k as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)))
                .collect();
            let expect: Vec<Block> =
                xs.iter().enumerate().map(|(k, &x)| reference(key, x, tweak(k))).collect();
            let (mut out, mut scratch) = (vec![Block::ONES; n + 3], vec![Block::ONES; n + 3]);
            kernel.hash_split(&xs, &mut out, &mut scratch, tweak);
            let split: Vec<Block> = (0..n).map(|k| out[k] ^ scratch[k]).collect();
            assert_eq!(split, expect, "split, n = {n}");
            assert!(out[n..].iter().chain(&scratch[n..]).all(|&b| b == Block::ONES), "wrote past n = {n}");
            let mut in_place = xs.clone();
            kernel.hash_in_place(&mut in_place, tweak);
            assert_eq!(in_place, expect, "in place, n = {n}");
        }
    }

    #[test]
    fn another_key_gives_another_permutation() {
        let key = Block::new(0x0011_2233_4455_6677_8899_aabb_ccdd_eeff);
        let Some(kernel) = Vaes256Tmmo::detect_any(key) else {
            return;
        };
        let mut xs = vec![Block::new(7); 3];
        kernel.hash_in_place(&mut xs, |k| Block::from_u64(k as u64));
        for (k, &h) in xs.iter().enumerate() {
            assert_eq!(h, reference(key, Block::new(7), Block::from_u64(k as u64)));
        }
    }
}
