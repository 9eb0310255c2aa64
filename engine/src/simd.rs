//! The engine's only `unsafe` code: fused half-gates kernels on VAES-512
//! (here) and on VAES-256 (with batched TMMO, in [`vaes256`] for CPUs
//! without AVX-512), fused three-halves kernels on VAES-512
//! (`simd/x86/three_halves.rs`), and carry-less inner products on
//! PCLMULQDQ / VPCLMULQDQ for the OT consistency check.
//!
//! # Half-gates kernels: why hand-written
//!
//! The portable path ([`crate::garble::HalfGates`] over [`crate::hash::Tmmo`])
//! hashes through the `aes` crate one layer at a time: gather the labels to
//! a buffer, encrypt it, XOR the tweaks in another pass, encrypt again, then
//! read inputs, hashes and tables once more to build the output labels. Each
//! pass is cheap, but together they cost more than the AES itself. Here one
//! loop keeps a group of gates in AVX-512 registers from the label gather to
//! the output label: the TMMO hash `H(x, i) = π(π(x) ⊕ i) ⊕ π(x)` (Guo,
//! Katz, Wang, Yu, IEEE S&P 2020; see [`crate::hash`]) with both AES layers
//! back to back, the half-gates equations (Zahur, Rosulek, Evans, Eurocrypt
//! 2015; see [`crate::garble::half_gates`]), the stream checksum, and the
//! store of the output label to its wire. The construction, the tweaks and
//! the bytes on the wire are exactly those of the portable path; tests check
//! the two byte for byte.
//!
//! `π` is AES-128 with 4 blocks per `vaesenc` (one 128-bit lane each). The
//! last AES round adds its round key with an XOR, so `π(y) ⊕ p` is computed
//! as the last round under the key `k₁₀ ⊕ p`, which saves the final XOR of
//! TMMO.
//!
//! # Carry-less inner products
//!
//! [`ClmulDot`] computes `Σ_j a_j ⊗ b_j`, the sum of the *unreduced*
//! 256-bit carry-less products of two block slices (polynomials over GF(2)
//! of degree < 128, bit `k` of [`Block::to_u128`] the coefficient of `x^k`).
//! The KOS check ([`crate::ot::check`]) reduces the sum once per column
//! instead of once per product ("lazy reduction", as emp-toolkit's
//! `vector_inn_prdt_sum_red`): reduction is linear, so the result is the
//! same field element. The 64 × 64 products are XORed into three
//! accumulators (low, middle, high), combined at the end. Two kernels,
//! picked once by [`ClmulDot::detect`]: VPCLMULQDQ on 256-bit registers (two
//! products per instruction; AVX2; Karatsuba, three 64 × 64 products per
//! 128 × 128 one), and PCLMULQDQ on 128-bit registers (schoolbook, four).
//! Without either, the check falls back to the `polyval` crate, in safe
//! code ([`crate::ot::check`]).
//!
//! [`AesCtrDot`] fuses the OT extension's column PRG (AES-128 in counter
//! mode, here with VAES on 256-bit registers) with the VPCLMULQDQ product:
//! the receiver's columns, re-expanded for the check, are multiplied while
//! still in registers instead of being stored and read back.
//!
//! Tests check every kernel bit for bit against a portable constant-time
//! product in safe Rust (the BearSSL multiplication with holes, as in the
//! `polyval` crate's soft backend), and the fused one also against the
//! `aes` crate.
//!
//! # Safety
//!
//! A `VaesHalfGates` exists only if the CPU reported AVX-512F and VAES at
//! run time (`VaesHalfGates::detect`); a `VaesThreeHalves` only if it
//! reported AVX-512F, VAES, AES-NI and BMI2 (`VaesThreeHalves::detect`);
//! a `Vaes256Tmmo` (and the
//! `Vaes256HalfGates` that wraps one) only if it reported AES-NI, AVX2 and
//! VAES; a [`ClmulDot`] holds a private
//! kernel choice that [`ClmulDot::detect`] makes only after the CPU reported
//! the features of that kernel; an [`AesCtrDot`] exists only if
//! [`AesCtrDot::detect`] saw AES-NI, AVX2, VAES, PCLMULQDQ and VPCLMULQDQ.
//! Kernels are `#[target_feature]` functions; calling one is the only
//! `unsafe` operation in this module and is sound because of those checks.
//! Loads and stores go through safe `bytemuck` casts between `[Block; N]`
//! (or `[u8; 64·N]`) and `__m128i` / `__m256i` / `__m512i`, and every slice index is
//! bounds-checked as in any other module.

#![allow(unsafe_code)]

use crate::block::Block;
use crate::garble::ops::Op;

#[cfg(target_arch = "x86_64")]
mod vaes256;

#[cfg(target_arch = "x86_64")]
pub(crate) use vaes256::Vaes256Tmmo;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86::AesCtrDot;

/// The fused half-gates kernels this CPU runs: VAES on 512-bit registers
/// (AVX-512F) or, without AVX-512F, on 256-bit ones. Same tweaks, same
/// bytes as the portable code. Empty on other architectures.
#[derive(Clone, Copy, Debug)]
#[allow(clippy::large_enum_variant)] // one per scheme value; a box would add a load per batch
pub(crate) enum FusedHalfGates {
    #[cfg(target_arch = "x86_64")]
    Vaes512(x86::VaesHalfGates),
    #[cfg(target_arch = "x86_64")]
    Vaes256(vaes256::Vaes256HalfGates),
}

impl FusedHalfGates {
    /// The widest kernels this CPU has for TMMO under AES-128 with `key`.
    pub(crate) fn detect(key: Block) -> Option<FusedHalfGates> {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(k) = x86::VaesHalfGates::detect(key) {
                return Some(FusedHalfGates::Vaes512(k));
            }
            if let Some(k) = vaes256::Vaes256HalfGates::detect(key) {
                return Some(FusedHalfGates::Vaes256(k));
            }
        }
        let _ = key;
        None
    }

    /// Every kernel this CPU can run, whatever [`FusedHalfGates::detect`]
    /// prefers (tests compare each with the portable code).
    #[cfg(test)]
    pub(crate) fn all(key: Block) -> Vec<FusedHalfGates> {
        #[allow(unused_mut)] // nothing to add on other architectures
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            v.extend(x86::VaesHalfGates::detect(key).map(FusedHalfGates::Vaes512));
            v.extend(vaes256::Vaes256HalfGates::detect_any(key).map(FusedHalfGates::Vaes256));
        }
        let _ = key;
        v
    }

    /// Garbles `ops` (returns the XOR of the tables written): gate `k` is
    /// AND gate `first_and + k` of the circuit, its input zero labels are
    /// read from `labels`, its output zero label put there as gate `k`'s,
    /// and its two table blocks written to `tables[2k..]`. The gates must
    /// be independent (as in a schedule batch).
    pub(crate) fn garble<S: LabelStore>(
        &self,
        delta: Block,
        first_and: u64,
        labels: &mut S,
        ops: &[Op],
        tables: &mut [Block],
    ) -> Block {
        match self {
            #[cfg(target_arch = "x86_64")]
            FusedHalfGates::Vaes512(k) => k.garble(delta, first_and, labels, ops, tables),
            #[cfg(target_arch = "x86_64")]
            FusedHalfGates::Vaes256(k) => k.garble(delta, first_and, labels, ops, tables),
        }
    }

    /// Evaluates `ops` (returns the XOR of the tables read): active labels
    /// read from and output labels put to `labels`, tables from
    /// `tables[2k..]`.
    pub(crate) fn eval<S: LabelStore>(
        &self,
        first_and: u64,
        labels: &mut S,
        ops: &[Op],
        tables: &[Block],
    ) -> Block {
        match self {
            #[cfg(target_arch = "x86_64")]
            FusedHalfGates::Vaes512(k) => k.eval(first_and, labels, ops, tables),
            #[cfg(target_arch = "x86_64")]
            FusedHalfGates::Vaes256(k) => k.eval(first_and, labels, ops, tables),
        }
    }
}

/// The fused three-halves kernels this CPU runs (VAES on 512-bit
/// registers, with AVX-512F and BMI2; see `simd/x86/three_halves.rs`). Same
/// tweaks, same bytes as the portable code. Empty elsewhere.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FusedThreeHalves {
    #[cfg(target_arch = "x86_64")]
    Vaes512(x86::VaesThreeHalves),
}

impl FusedThreeHalves {
    /// The kernels for TMMO under AES-128 with `key`, if this CPU has them.
    pub(crate) fn detect(key: Block) -> Option<FusedThreeHalves> {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(k) = x86::VaesThreeHalves::detect(key) {
                return Some(FusedThreeHalves::Vaes512(k));
            }
        }
        let _ = key;
        None
    }

    /// Garbles `ops` (see `VaesThreeHalves::garble`): gate `k` is AND gate
    /// `first_and + k`, stored as gate `k0 + k` of `labels`; `rho` the gate
    /// seed's blocks from `⌊first_and / 64⌋` on; `material` exactly the
    /// gates' bytes, groups of 8 from `ops[0]`. Returns the XOR of
    /// `material`'s 16-byte blocks.
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
        match self {
            #[cfg(target_arch = "x86_64")]
            FusedThreeHalves::Vaes512(k) => k.garble(delta, first_and, labels, k0, ops, rho, material),
        }
    }

    /// Evaluates `ops`: active labels read from and output labels put to
    /// `labels`, material (groups of 8 from `ops[0]`) from `material`.
    pub(crate) fn eval<S: LabelStore>(&self, first_and: u64, labels: &mut S, ops: &[Op], material: &[u8]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            FusedThreeHalves::Vaes512(k) => k.eval(first_and, labels, ops, material),
        }
    }
}

/// `Σ_j a_j ⊗ b_j` over GF(2)\[x\], unreduced: the low and high 128 bits of
/// the 256-bit sum, as `[low, high]`.
pub(crate) type Unreduced = [u128; 2];

/// A carry-less inner-product kernel (see the module docs); exists only
/// where [`ClmulDot::detect`] found the CPU features of one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClmulDot(ClmulKind);

/// Which kernel; private, so that only [`ClmulDot::detect`] (after the
/// feature check) and this module's tests choose one. Empty on other
/// architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClmulKind {
    #[cfg(target_arch = "x86_64")]
    Pclmul128,
    #[cfg(target_arch = "x86_64")]
    Vpclmul256,
}

impl ClmulDot {
    /// The fastest kernel this CPU supports, if any.
    pub(crate) fn detect() -> Option<ClmulDot> {
        #[cfg(target_arch = "x86_64")]
        {
            if x86::has_vpclmul256() {
                return Some(ClmulDot(ClmulKind::Vpclmul256));
            }
            if x86::has_pclmul128() {
                return Some(ClmulDot(ClmulKind::Pclmul128));
            }
        }
        None
    }

    /// `Σ_j a_j ⊗ b_j`, unreduced. Constant time in the values.
    ///
    /// # Panics
    /// If the slices have different lengths (a caller bug).
    pub(crate) fn dot(&self, a: &[Block], b: &[Block]) -> Unreduced {
        assert_eq!(a.len(), b.len(), "ClmulDot::dot: lengths differ");
        match self.0 {
            // SAFETY: `ClmulKind::Pclmul128` is only chosen after
            // `has_pclmul128` saw PCLMULQDQ and SSE2.
            #[cfg(target_arch = "x86_64")]
            ClmulKind::Pclmul128 => unsafe { x86::dot_pclmul128(a, b) },
            // SAFETY: `ClmulKind::Vpclmul256` is only chosen after
            // `has_vpclmul256` saw AVX2, PCLMULQDQ and VPCLMULQDQ.
            #[cfg(target_arch = "x86_64")]
            ClmulKind::Vpclmul256 => unsafe { x86::dot_vpclmul256(a, b) },
        }
    }
}

/// Asks the CPU to bring `value`'s cache line closer (a hint: it never
/// faults and changes no value). Gathers of wire labels by index miss the
/// cache on wide circuits; the portable garbling loops call this a few
/// gates ahead.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` only hints (it cannot fault, whatever the
    // address), SSE is part of the x86_64 baseline, and the address comes
    // from a reference, so it is valid anyway.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            (value as *const T).cast::<i8>(),
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Portable carry-less products in safe Rust: the reference the kernels are
/// tested against, bit for bit.
#[cfg(test)]
mod clmul_portable {
    use super::{Block, Unreduced};

    /// The low 64 bits of the carry-less product of `x` and `y`, in constant
    /// time: integer products of the operands split into four interleaved
    /// bit classes with 3-bit holes, which absorb the carries (BearSSL's
    /// `ghash_ctmul64.c`, Thomas Pornin; as in the `polyval` crate).
    fn bmul64(x: u64, y: u64) -> u64 {
        const M0: u64 = 0x1111_1111_1111_1111;
        let m = [M0, M0 << 1, M0 << 2, M0 << 3];
        let xs = m.map(|m| x & m);
        let ys = m.map(|m| y & m);
        let mut out = 0;
        for (k, &mask) in m.iter().enumerate() {
            // Bit class k of the product: the pairs of classes (i, j) with
            // i + j = k mod 4.
            let mut z = 0u64;
            for (i, &xi) in xs.iter().enumerate() {
                z ^= xi.wrapping_mul(ys[(k + 4 - i) % 4]);
            }
            out |= z & mask;
        }
        out
    }

    /// The 128-bit carry-less product of two 64-bit values: the low half
    /// directly, the high half from the product of the bit-reversed values.
    fn clmul64(x: u64, y: u64) -> u128 {
        let lo = bmul64(x, y);
        let hi = bmul64(x.reverse_bits(), y.reverse_bits()).reverse_bits() >> 1;
        u128::from(lo) | (u128::from(hi) << 64)
    }

    pub(super) fn dot(a: &[Block], b: &[Block]) -> Unreduced {
        let (mut lo, mut mid, mut hi) = (0u128, 0u128, 0u128);
        for (x, y) in a.iter().zip(b) {
            let (x, y) = (x.to_u128(), y.to_u128());
            let (x0, x1, y0, y1) = (x as u64, (x >> 64) as u64, y as u64, (y >> 64) as u64);
            lo ^= clmul64(x0, y0);
            hi ^= clmul64(x1, y1);
            mid ^= clmul64(x0, y1) ^ clmul64(x1, y0);
        }
        [lo ^ (mid << 64), hi ^ (mid >> 64)]
    }
}

/// Where a kernel reads its input labels and puts its output labels.
pub(crate) trait LabelStore {
    /// The label at index `i`.
    fn get(&self, i: u32) -> Block;
    /// The output label `c` of gate `k` of the call (`op`).
    fn put(&mut self, k: usize, op: &Op, c: Block);
}

/// Outputs go straight to `labels[op.out]` (one thread; see
/// `GarblingScheme::eval_ands_in_place` for when that is sound).
pub(crate) struct InPlace<'a>(pub(crate) &'a mut [Block]);

impl LabelStore for InPlace<'_> {
    #[inline(always)]
    fn get(&self, i: u32) -> Block {
        self.0[i as usize]
    }
    #[inline(always)]
    fn put(&mut self, _k: usize, op: &Op, c: Block) {
        self.0[op.out as usize] = c;
    }
}

/// Outputs go to `out[k]`, labels are only read (pieces of a batch on
/// several threads).
pub(crate) struct ToBuffer<'a> {
    pub(crate) labels: &'a [Block],
    pub(crate) out: &'a mut [Block],
}

impl LabelStore for ToBuffer<'_> {
    #[inline(always)]
    fn get(&self, i: u32) -> Block {
        self.labels[i as usize]
    }
    #[inline(always)]
    fn put(&mut self, k: usize, _op: &Op, c: Block) {
        self.out[k] = c;
    }
}

/// Stand-in on other architectures: never detected.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy, Debug)]
pub(crate) enum Vaes256Tmmo {}

#[cfg(not(target_arch = "x86_64"))]
impl Vaes256Tmmo {
    pub(crate) fn detect(_key: Block) -> Option<Vaes256Tmmo> {
        None
    }
    pub(crate) fn hash_split(
        &self,
        _: &[Block],
        _: &mut [Block],
        _: &mut [Block],
        _: impl Fn(usize) -> Block,
    ) {
        match *self {}
    }
    pub(crate) fn hash_in_place(&self, _: &mut [Block], _: impl Fn(usize) -> Block) {
        match *self {}
    }
}

/// Stand-in on other architectures: never detected.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) enum AesCtrDot {}

#[cfg(not(target_arch = "x86_64"))]
impl AesCtrDot {
    pub(crate) fn detect<'a>(_keys: impl Iterator<Item = &'a Block>) -> Option<AesCtrDot> {
        None
    }
    pub(crate) fn dot(&self, _: usize, _: u64, _: &[Block]) -> Unreduced {
        match *self {}
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use zeroize::Zeroize;

    use super::{Block, LabelStore, Op, Unreduced};

    /// Gates per evaluation group: 2 gates (4 hashes) per register, 8
    /// registers in flight to cover the latency of `vaesenc`.
    const EVAL_GROUP: usize = 16;
    /// How far ahead of the group being evaluated its tables are
    /// prefetched, in blocks (4 groups: 2 KiB).
    const PREFETCH_BLOCKS: usize = 8 * EVAL_GROUP;
    /// Gates per garbling group: 1 gate (4 hashes) per register.
    const GARBLE_GROUP: usize = 8;
    /// The low 64-bit half of each lane (where a tweak goes, see
    /// [`Block::from_u64`]).
    const LOW_QWORDS: __mmask8 = 0b0101_0101;

    /// The fused half-gates kernels under TMMO with a given AES-128 key;
    /// constructed only on CPUs with AVX-512F and VAES.
    #[derive(Clone, Copy)]
    pub(crate) struct VaesHalfGates {
        /// The 11 round keys, each broadcast to the 4 lanes of a register.
        round_keys: [__m512i; 11],
    }

    impl std::fmt::Debug for VaesHalfGates {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("VaesHalfGates")
        }
    }

    impl VaesHalfGates {
        /// The kernels for TMMO under AES-128 with `key`, if this CPU has
        /// AVX-512F and VAES (and AES-NI, for the key schedule).
        pub(crate) fn detect(key: Block) -> Option<VaesHalfGates> {
            if !(is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("vaes")
                && is_x86_feature_detected!("aes"))
            {
                return None;
            }
            // SAFETY: AES-NI and AVX-512F were detected just above.
            let round_keys = unsafe { broadcast_round_keys(key) };
            Some(VaesHalfGates { round_keys })
        }

        /// Garbles `ops` (returns the XOR of the tables written): gate `k` is AND gate
        /// `first_and + k` of the circuit, its input zero labels are read
        /// from `labels`, its output zero label put there as gate `k`'s,
        /// and its two table blocks written to `tables[2k..]`.
        /// The gates must be independent (as in a schedule batch).
        pub(crate) fn garble<S: LabelStore>(
            &self,
            delta: Block,
            first_and: u64,
            labels: &mut S,
            ops: &[Op],
            tables: &mut [Block],
        ) -> Block {
            // SAFETY: `self` exists only if AVX-512F and VAES were detected.
            unsafe { garble_kernel(&self.round_keys, delta, first_and, labels, ops, tables) }
        }

        /// Evaluates `ops` (returns the XOR of the tables read): active labels
        /// read from and output labels put to `labels`, tables from
        /// `tables[2k..]`.
        pub(crate) fn eval<S: LabelStore>(
            &self,
            first_and: u64,
            labels: &mut S,
            ops: &[Op],
            tables: &[Block],
        ) -> Block {
            // SAFETY: `self` exists only if AVX-512F and VAES were detected.
            unsafe { eval_kernel(&self.round_keys, first_and, labels, ops, tables) }
        }
    }

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

    #[target_feature(enable = "avx512f,vaes")]
    fn eval_kernel<S: LabelStore>(
        rk: &[__m512i; 11],
        first_and: u64,
        labels: &mut S,
        ops: &[Op],
        tables: &[Block],
    ) -> Block {
        let mut acc = _mm512_setzero_si512();
        let mut done = 0;
        // Full groups, then the rest (fewer than a group) padded to the next
        // power of two of registers, so that its AES calls still overlap;
        // the padding reads wire 0 and its results are dropped. One call
        // site per group size keeps each inlined.
        while done < ops.len() {
            let live = (ops.len() - done).min(EVAL_GROUP);
            // The tweak of gate `first_and + done`'s first hash. The drivers
            // keep AND indices below `garble::AND_INDEX_LIMIT` (2^62), so
            // this and the lane adds of `eval_group` (padding gates included,
            // at most 15 past the last) stay below 2^63 + 64: no wrap.
            let t = 2 * (first_and + done as u64);
            // Tables read in place stream from DRAM: ask for the lines a few
            // groups ahead (a hint; never faults, even past the end).
            let ahead = tables.as_ptr().wrapping_add(2 * done + PREFETCH_BLOCKS);
            for line in 0..2 * EVAL_GROUP / 4 {
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(4 * line).cast::<i8>());
            }
            // Initialised only when padding is needed.
            let (mut pad_ops, mut pad_tables);
            let size = live.div_ceil(2).next_power_of_two();
            let (group, tab): (&[Op], &[Block]) = if live == 2 * size {
                (&ops[done..done + live], &tables[2 * done..2 * (done + live)])
            } else if live == 1 {
                // One gate (a chain's batches): the small padding only.
                let (tg, te) = (tables[2 * done], tables[2 * done + 1]);
                let part =
                    eval_group::<S, 1>(rk, t, labels, done, &[ops[done], ops[done]], &[tg, te, tg, te], 1);
                // The table counted once: the padding repeated it.
                acc = _mm512_xor_si512(
                    acc,
                    _mm512_xor_si512(part, to_m512([Block::ZERO, Block::ZERO, tg, te])),
                );
                done += 1;
                continue;
            } else {
                pad_ops = [Op { a: 0, b: 0, out: 0 }; EVAL_GROUP];
                pad_tables = [Block::ZERO; 2 * EVAL_GROUP];
                pad_ops[..live].copy_from_slice(&ops[done..done + live]);
                pad_tables[..2 * live].copy_from_slice(&tables[2 * done..2 * (done + live)]);
                (&pad_ops[..2 * size], &pad_tables[..4 * size])
            };
            let part = match size {
                1 => eval_group::<S, 1>(rk, t, labels, done, group, tab, live),
                2 => eval_group::<S, 2>(rk, t, labels, done, group, tab, live),
                4 => eval_group::<S, 4>(rk, t, labels, done, group, tab, live),
                _ => eval_group::<S, 8>(rk, t, labels, done, group, tab, live),
            };
            acc = _mm512_xor_si512(acc, part);
            done += live;
        }
        fold(acc)
    }

    /// Evaluates `2N` gates (`N` registers of two gates), `t` the tweak of
    /// the first hash, and stores the outputs of the first `live` (the rest
    /// is padding). Returns the XOR of the tables, lane by lane.
    #[inline]
    #[target_feature(enable = "avx512f,vaes")]
    fn eval_group<S: LabelStore, const N: usize>(
        rk: &[__m512i; 11],
        t: u64,
        labels: &mut S,
        k0: usize,
        ops: &[Op],
        tables: &[Block],
        live: usize,
    ) -> __m512i {
        // Fixed-size views (the callers pass 2N gates and 4N table blocks):
        // no bounds checks on them below.
        let ops: &[[Op; 2]; N] = ops.as_chunks::<2>().0.try_into().expect("2N gates");
        let tables: &[[Block; 4]; N] = tables.as_chunks::<4>().0.try_into().expect("4N table blocks");
        // Register j: [A, B, A', B'] of gates 2j and 2j + 1, hashed with
        // tweaks t + 4j .. t + 4j + 3 (the garbler's are 2g and 2g + 1).
        let mut x = [_mm512_setzero_si512(); N];
        let mut labels_in = [_mm512_setzero_si512(); N];
        let mut tweak = [_mm512_setzero_si512(); N];
        let base = _mm512_set_epi64(0, 3, 0, 2, 0, 1, 0, 0);
        for j in 0..N {
            let [o0, o1] = ops[j];
            x[j] = to_m512([labels.get(o0.a), labels.get(o0.b), labels.get(o1.a), labels.get(o1.b)]);
            labels_in[j] = x[j];
            tweak[j] = _mm512_add_epi64(base, _mm512_maskz_set1_epi64(LOW_QWORDS, (t + 4 * j as u64) as i64));
        }
        tmmo!(rk, &mut x, &tweak);
        let mut acc = _mm512_setzero_si512();
        let mut out = [_mm512_setzero_si512(); N];
        for j in 0..N {
            // Tables [T_G, T_E, T_G', T_E'] (the stream's order).
            let tab = to_m512(tables[j]);
            acc = _mm512_xor_si512(acc, tab);
            let l = labels_in[j];
            // [T_G, T_E ⊕ A, T_G', T_E' ⊕ A']: lanes 1 and 3 get A (lane 0 / 2).
            let u = _mm512_xor_si512(tab, _mm512_maskz_shuffle_i64x2::<0b10_10_00_00>(0b1100_1100, l, l));
            // Each lane adds its entry of `u` when its label's lsb is set:
            // lane 0 by lsb(A), lane 1 by lsb(B).
            let lsb = _mm512_test_epi64_mask(l, _mm512_set_epi64(0, 1, 0, 1, 0, 1, 0, 1));
            let sel = lsb | (lsb << 1);
            out[j] = _mm512_mask_xor_epi64(x[j], sel, x[j], u);
        }
        // Output of gate k = lane 0 ⊕ lane 1 of its half.
        let mut j = 0;
        while j + 1 < N {
            let even = _mm512_shuffle_i64x2::<0b10_00_10_00>(out[j], out[j + 1]);
            let odd = _mm512_shuffle_i64x2::<0b11_01_11_01>(out[j], out[j + 1]);
            let c = from_m512(_mm512_xor_si512(even, odd));
            let gates = [ops[j][0], ops[j][1], ops[j + 1][0], ops[j + 1][1]];
            for (k, (c, op)) in c.into_iter().zip(gates).enumerate() {
                if 2 * j + k < live {
                    labels.put(k0 + 2 * j + k, &op, c);
                }
            }
            j += 2;
        }
        if N % 2 == 1 {
            let h = from_m512(out[N - 1]);
            for (k, (c, op)) in [h[0] ^ h[1], h[2] ^ h[3]].into_iter().zip(ops[N - 1]).enumerate() {
                if 2 * (N - 1) + k < live {
                    labels.put(k0 + 2 * (N - 1) + k, &op, c);
                }
            }
        }
        acc
    }

    #[target_feature(enable = "avx512f,vaes")]
    fn garble_kernel<S: LabelStore>(
        rk: &[__m512i; 11],
        delta: Block,
        first_and: u64,
        labels: &mut S,
        ops: &[Op],
        tables: &mut [Block],
    ) -> Block {
        let mut acc = Block::ZERO;
        let mut done = 0;
        // Full groups, then the rest (fewer than a group) padded to the next
        // power of two of registers; the padding reads wire 0 and its
        // results are dropped. One call site per group size keeps each
        // inlined.
        while done < ops.len() {
            let live = (ops.len() - done).min(GARBLE_GROUP);
            // As in `eval_kernel`: below 2^63 + 64 under the drivers' bound
            // on AND indices (2^62), padding gates included.
            let t = 2 * (first_and + done as u64);
            // Initialised only when padding is needed.
            let mut pad_ops;
            let mut pad_tables = [Block::ZERO; 2 * GARBLE_GROUP];
            let size = live.next_power_of_two();
            let (group, tab): (&[Op], &mut [Block]) = if live == size {
                (&ops[done..done + live], &mut tables[2 * done..2 * (done + live)])
            } else {
                pad_ops = [Op { a: 0, b: 0, out: 0 }; GARBLE_GROUP];
                pad_ops[..live].copy_from_slice(&ops[done..done + live]);
                (&pad_ops[..size], &mut pad_tables[..2 * size])
            };
            acc ^= match size {
                1 => garble_group::<S, 1>(rk, delta, t, labels, done, group, tab, live),
                2 => garble_group::<S, 2>(rk, delta, t, labels, done, group, tab, live),
                4 => garble_group::<S, 4>(rk, delta, t, labels, done, group, tab, live),
                _ => garble_group::<S, 8>(rk, delta, t, labels, done, group, tab, live),
            };
            if live != size {
                tables[2 * done..2 * (done + live)].copy_from_slice(&pad_tables[..2 * live]);
                pad_tables.zeroize();
            }
            done += live;
        }
        acc
    }

    /// Garbles `N` gates (one register each), `t` the tweak of the first
    /// gate's garbler half; of the first `live` (the rest is padding) stores
    /// the output labels, and returns the XOR of their tables.
    #[inline]
    #[target_feature(enable = "avx512f,vaes")]
    #[allow(clippy::too_many_arguments)] // one call site per size, all in `garble_kernel`
    fn garble_group<S: LabelStore, const N: usize>(
        rk: &[__m512i; 11],
        delta: Block,
        t: u64,
        labels: &mut S,
        k0: usize,
        ops: &[Op],
        tables: &mut [Block],
        live: usize,
    ) -> Block {
        // Fixed-size views (the callers pass N gates and 2N table blocks):
        // no bounds checks on them below.
        let ops: &[Op; N] = ops.try_into().expect("N gates");
        let tables: &mut [[Block; 2]; N] = tables.as_chunks_mut::<2>().0.try_into().expect("2N table blocks");
        // [0, Δ, 0, Δ]: the second label of each input wire.
        let d4 = to_m512([Block::ZERO, delta, Block::ZERO, delta]);
        let base = _mm512_set_epi64(0, 1, 0, 1, 0, 0, 0, 0);
        // Register k: [A, A ⊕ Δ, B, B ⊕ Δ] of gate k, tweaks 2g, 2g, 2g + 1, 2g + 1.
        let mut x = [_mm512_setzero_si512(); N];
        let mut tweak = [_mm512_setzero_si512(); N];
        let mut inputs = [(Block::ZERO, Block::ZERO); N];
        for (k, op) in ops.iter().enumerate() {
            let (a, b) = (labels.get(op.a), labels.get(op.b));
            inputs[k] = (a, b);
            x[k] = _mm512_xor_si512(to_m512([a, a, b, b]), d4);
            tweak[k] = _mm512_add_epi64(base, _mm512_maskz_set1_epi64(LOW_QWORDS, (t + 2 * k as u64) as i64));
        }
        tmmo!(rk, &mut x, &tweak);
        let mut acc = Block::ZERO;
        for (k, (op, tab)) in ops.iter().zip(tables.iter_mut()).enumerate() {
            let h = from_m512(x[k]);
            let (a, b) = inputs[k];
            let (pa, pb) = (a.lsb(), b.lsb());
            let tg = h[0] ^ h[1] ^ delta.select(pb);
            let wg = h[0] ^ tg.select(pa);
            let te = h[2] ^ h[3] ^ a;
            let we = h[2] ^ (h[2] ^ h[3]).select(pb);
            if k < live {
                labels.put(k0 + k, op, wg ^ we);
                acc ^= tg ^ te;
            }
            *tab = [tg, te];
        }
        acc
    }

    // After `tmmo!`, which the three-halves kernels expand too.
    mod three_halves;
    pub(crate) use three_halves::VaesThreeHalves;

    /// XOR of the four lanes.
    #[inline(always)]
    fn fold(v: __m512i) -> Block {
        let [a, b, c, d] = from_m512(v);
        a ^ b ^ c ^ d
    }

    /// Whether [`dot_pclmul128`] may run.
    pub(super) fn has_pclmul128() -> bool {
        is_x86_feature_detected!("pclmulqdq") && is_x86_feature_detected!("sse2")
    }

    /// Whether [`dot_vpclmul256`] may run.
    pub(super) fn has_vpclmul256() -> bool {
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
    pub(super) fn dot_pclmul128(a: &[Block], b: &[Block]) -> Unreduced {
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
    pub(super) fn dot_vpclmul256(a: &[Block], b: &[Block]) -> Unreduced {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prg::Prg;

    /// Shift-and-add carry-less product, bit by bit: obviously right, slow.
    fn clmul_naive(a: u128, b: u128) -> Unreduced {
        let (mut lo, mut hi) = (0u128, 0u128);
        for k in 0..128 {
            if (b >> k) & 1 == 1 {
                lo ^= a << k;
                if k > 0 {
                    hi ^= a >> (128 - k);
                }
            }
        }
        [lo, hi]
    }

    fn dot_naive(a: &[Block], b: &[Block]) -> Unreduced {
        a.iter().zip(b).fold([0, 0], |acc, (x, y)| {
            let p = clmul_naive(x.to_u128(), y.to_u128());
            [acc[0] ^ p[0], acc[1] ^ p[1]]
        })
    }

    /// Random blocks, with some all-ones and single-bit ones mixed in.
    fn sample(prg: &mut Prg, n: usize) -> Vec<Block> {
        (0..n)
            .map(|j| match j % 7 {
                3 => Block::ONES,
                5 => Block::new(1u128 << (j % 128)),
                _ => prg.random_block(),
            })
            .collect()
    }

    #[test]
    fn portable_clmul_matches_the_naive_product() {
        let p = clmul_portable::dot;
        let one = [Block::new(1)];
        let top = [Block::new(1 << 127)];
        assert_eq!(p(&top, &top), [0, 1 << 126]);
        assert_eq!(p(&one, &top), [1 << 127, 0]);
        assert_eq!(p(&[Block::new(3)], &[Block::new(3)]), [5, 0]);
        assert_eq!(p(&[Block::ONES], &[Block::ONES]), clmul_naive(u128::MAX, u128::MAX));
        let mut prg = Prg::from_seed(Block::new(41));
        for n in [0, 1, 2, 3, 17, 64] {
            let (a, b) = (sample(&mut prg, n), sample(&mut prg, n));
            assert_eq!(p(&a, &b), dot_naive(&a, &b), "n = {n}");
        }
    }

    #[test]
    fn clmul_kernels_match_the_portable_one() {
        #[allow(unused_mut)] // nothing to add on other architectures
        let mut kinds: Vec<ClmulDot> = ClmulDot::detect().into_iter().collect();
        #[cfg(target_arch = "x86_64")]
        {
            if x86::has_pclmul128() {
                kinds.push(ClmulDot(ClmulKind::Pclmul128));
            }
            if x86::has_vpclmul256() {
                kinds.push(ClmulDot(ClmulKind::Vpclmul256));
            }
        }
        eprintln!("testing {kinds:?} against the portable products");
        let mut prg = Prg::from_seed(Block::new(42));
        for n in (0..=21).chain([64, 127, 512, 513, 515]) {
            let (a, b) = (sample(&mut prg, n), sample(&mut prg, n));
            let expect = clmul_portable::dot(&a, &b);
            for k in &kinds {
                assert_eq!(k.dot(&a, &b), expect, "{k:?}, n = {n}");
            }
        }
    }

    #[test]
    fn fused_aes_ctr_dot_matches_the_aes_crate_and_the_portable_product() {
        use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
        let mut prg = Prg::from_seed(Block::new(43));
        let keys: Vec<Block> = (0..3).map(|_| prg.random_block()).collect();
        let Some(fused) = AesCtrDot::detect(keys.iter()) else {
            eprintln!("no VAES-256 / VPCLMULQDQ on this CPU: fused kernel not tested");
            return;
        };
        for (i, key) in keys.iter().enumerate() {
            let aes = aes::Aes128::new(&Array::from(key.to_bytes()));
            // The last counter crosses 2^64 (the column PRGs count in u128).
            for ctr in [0u64, 1, 12_345, u64::MAX - 20] {
                for n in (0..=17).chain([31, 32, 33, 512, 515]) {
                    let chi = sample(&mut prg, n);
                    let stream: Vec<Block> = (0..n)
                        .map(|k| {
                            let mut b = Array::from(Block::new(u128::from(ctr) + k as u128).to_bytes());
                            aes.encrypt_block(&mut b);
                            Block::from_bytes(b.into())
                        })
                        .collect();
                    assert_eq!(
                        fused.dot(i, ctr, &chi),
                        clmul_portable::dot(&chi, &stream),
                        "key {i}, ctr {ctr}, n {n}"
                    );
                }
            }
        }
    }
}
