//! The engine's only `unsafe` code: fused half-gates kernels on VAES-512
//! (`simd/x86/half_gates.rs`) and on VAES-256 (with batched TMMO, in
//! [`vaes256`] for CPUs without AVX-512), fused three-halves kernels on
//! VAES-512 (`simd/x86/three_halves.rs`), fused generator half gates on
//! VAES-512 (`simd/x86/gen_half.rs`), and carry-less inner products on
//! PCLMULQDQ / VPCLMULQDQ for the OT consistency check
//! (`simd/x86/clmul.rs`). This file holds the choice among them that the
//! rest of the engine calls, and the tests of the carry-less products.
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
//! a `VaesGenHalf` only if it reported AVX-512F, VAES and AES-NI
//! (`VaesGenHalf::detect`);
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

/// The fused generator half-gate kernels this CPU runs (VAES on 512-bit
/// registers, with AVX-512F; see `simd/x86/gen_half.rs`). Same tweaks,
/// same bytes as the portable code in `garble/gen_half.rs`. Empty elsewhere.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FusedGenHalf {
    #[cfg(target_arch = "x86_64")]
    Vaes512(x86::VaesGenHalf),
}

impl FusedGenHalf {
    /// The kernels for TMMO under AES-128 with `key`, if this CPU has them.
    pub(crate) fn detect(key: Block) -> Option<FusedGenHalf> {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(k) = x86::VaesGenHalf::detect(key) {
                return Some(FusedGenHalf::Vaes512(k));
            }
        }
        let _ = key;
        None
    }

    /// Garbles generator half gates `ops` (`a` known, its bit in
    /// `values`): gate `k` is AND gate `first_and + k` under tweak
    /// `stride·(first_and + k) + 1`; zero output labels to `c0`, one
    /// ciphertext per gate to `tables`.
    #[allow(clippy::too_many_arguments)] // one call site, in `gen_half.rs`
    pub(crate) fn garble(
        &self,
        stride: u64,
        delta: Block,
        values: &crate::garble::gen_half::KnownValues,
        first_and: u64,
        labels: &[Block],
        ops: &[Op],
        c0: &mut [Block],
        tables: &mut [Block],
    ) {
        match self {
            #[cfg(target_arch = "x86_64")]
            FusedGenHalf::Vaes512(k) => k.garble(stride, delta, values, first_and, labels, ops, c0, tables),
        }
    }

    /// Evaluates generator half gates `ops`: active output labels to `c`.
    pub(crate) fn eval(
        &self,
        stride: u64,
        first_and: u64,
        labels: &[Block],
        ops: &[Op],
        tables: &[Block],
        c: &mut [Block],
    ) {
        match self {
            #[cfg(target_arch = "x86_64")]
            FusedGenHalf::Vaes512(k) => k.eval(stride, first_and, labels, ops, tables, c),
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
mod x86;

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
