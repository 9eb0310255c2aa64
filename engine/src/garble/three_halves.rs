//! Three-halves garbling: Rosulek and Roy, *Three Halves Make a Whole?
//! Beating the Half-Gates Lower Bound for Garbled Circuits* (Crypto 2021,
//! ePrint 2021/749), with free XOR and point-and-permute as in
//! [`HalfGates`](super::HalfGates).
//!
//! An AND gate costs three 64-bit half-ciphertexts and five control bits
//! (1.5κ + 5 bits for κ = 128: 24 bytes and 5 bits, against half-gates'
//! 32 bytes), six hashes to garble and three to evaluate. Half-gates' 2κ
//! was proven optimal for "linear" garbling (Zahur, Rosulek, Evans); this
//! scheme leaves that model by *slicing* labels in halves and *dicing* the
//! evaluator's linear combination with secret control bits. Xu, Hu and Xu
//! (Crypto 2025, ePrint 2024/1532) prove 1.5κ a lower bound in the model
//! that includes slicing and dicing, so this is the last large step in
//! bytes per AND for free-XOR-compatible schemes of this kind: what is left
//! is the 5 bits.
//!
//! # The construction
//!
//! Labels and Δ are sliced into two 64-bit halves, `X = (X_L, X_R)`: `X_L`
//! the low 64 bits of [`Block::to_u128`], `X_R` the high ones (so
//! `lsb(Δ_L) = lsb(Δ) = 1`). For an AND gate with input zero labels `A₀,
//! B₀` and permute bits `pa = lsb(A₀)`, `pb = lsb(B₀)`, let `A* = A₀ ⊕
//! pa·Δ` and `B* = B₀ ⊕ pb·Δ` be the labels of *colour* 0. The evaluator
//! holds `A = A* ⊕ iΔ`, `B = B* ⊕ jΔ` and sees the colours `(i, j) = (lsb A,
//! lsb B)`; the true inputs' colours are `(¬pa, ¬pb)`. With tweaks
//! `τ = 3g, 3g + 1, 3g + 2` for the gate's schedule index `g`, and `H` the
//! TCCR hash of [`crate::hash`] (TMMO), truncated as `h = low 64 bits`,
//! `ĥ = bit 64`:
//!
//! ```text
//! evaluator:  hA = H(A, 3g)   hB = H(B, 3g+1)   hAB = H(A ⊕ B, 3g+2)
//!   control:  r₁ = z₀ ⊕ i·z₂ ⊕ (i⊕j)·z₄ ⊕ ĥ(hA ⊕ hAB)
//!             r₂ = z₁ ⊕ j·z₃ ⊕ (i⊕j)·z₄ ⊕ ĥ(hB ⊕ hAB)
//!             R  = R_p(i, j) ⊕ r₁·S₁ ⊕ r₂·S₂           (a 2×4 bit matrix)
//!   output:   C_L = h(hA ⊕ hAB) ⊕ i·G₀ ⊕ (i⊕j)·G₂ ⊕ R_L · (A_L, A_R, B_L, B_R)
//!             C_R = h(hB ⊕ hAB) ⊕ j·G₁ ⊕ (i⊕j)·G₂ ⊕ R_R · (A_L, A_R, B_L, B_R)
//! ```
//!
//! `R_p` and the basis `S₁, S₂` of the random part are the paper's (the
//! consts [`R_P`], [`S1`], [`S2`] below). The garbler hashes all six
//! labels the evaluator could hold (`A*`, `A* ⊕ Δ`, `B*`, `B* ⊕ Δ`, `A* ⊕
//! B*`, `A* ⊕ B* ⊕ Δ`), draws two random bits `ρ = (ρ₁, ρ₂)` per gate, and
//! gives the evaluator at colours `(i, j)` the control pair
//!
//! ```text
//! r₁(i,j) = ρ₁ ⊕ i·¬pa ⊕ (i⊕j)·(pa⊕pb)        r₂(i,j) = ρ₂ ⊕ j·¬pb ⊕ (i⊕j)·(pa⊕pb)
//! ```
//!
//! which is uniform in every row whatever `pa, pb` are (ρ masks it): the
//! *dicing*. The control bits `z` are the unique solution of the evaluator's
//! control equations for these four rows; the output zero label and the
//! ciphertexts `G₀, G₁, G₂` are the unique solution of its output
//! equations for the targets `C(i, j) = C₀ ⊕ [i = ¬pa ∧ j = ¬pb]·Δ`
//! (`G₀, G₁` from row (1,1), `G₂` from row (0,1), `C₀` from row (0,0); the
//! fourth row then holds because `R_p, S₁, S₂` were chosen so that it
//! does). Everything but the hashes is linear in `(A₀, B₀, Δ)`, with
//! coefficients that depend only on `(pa, pb, ρ)`: the tables
//! [`GARBLE_LABEL_MASKS`] (for the label halves) and the per-batch
//! `delta_terms` (for Δ's halves) hold them, derived at compile time from
//! `R_p, S₁, S₂` by [`garble_coefficients`]. The per-gate reference in
//! `engine/tests/three_halves.rs` solves the rows directly instead and is
//! checked against this code byte for byte.
//!
//! # Randomness
//!
//! `ρ` for gate `g` comes from the encoding's [`GateSeed`](crate::GateSeed)
//! (AES-128-CTR under a key drawn from the garbler's OS-seeded [`Prg`],
//! fresh with every Δ): bits `2(g mod 64)`, `2(g mod 64) + 1` of block
//! `⌊g/64⌋`. A function of `g`, so pieces garbled on several threads agree;
//! fresh per encoding, so two garblings never share a gate's `ρ`.
//!
//! [`Prg`]: crate::Prg
//!
//! # Hash and security
//!
//! The paper proves the scheme secure when `H` is *tweakable circular
//! correlation robust* in the randomized sense it defines (RTCCR): the
//! adversary sees `H(X ⊕ Δ, τ)` masked by linear functions of Δ's halves
//! chosen by the garbler's randomness, and each (input, tweak) pair is used
//! once, as in half-gates' TCCR game but with the offsets that slicing
//! makes. We use the engine's TMMO, `H(x, τ) = π(π(x) ⊕ τ) ⊕ π(x)` over
//! fixed-key AES (Guo, Katz, Wang, Yu, S&P 2020), which they prove TCCR in
//! the random-permutation model; we rely on the same ideal-permutation
//! argument for the randomized variant, as the paper's authors suggest for
//! fixed-key AES instantiations. This is an assumption we state, not a
//! proof we checked: see `docs/SECURITY.md`. Tweaks: `3g`, `3g + 1`, `3g +
//! 2` (`A`, `B` and `A ⊕ B`; the two labels of one pair share a tweak, as
//! the two labels of a wire do in half-gates); below
//! [`AND_INDEX_LIMIT`](super::AND_INDEX_LIMIT) every one is below `3·2^62`,
//! far from wrapping a `u64` and from the OT's tweaks (bit 127 set). Each
//! hash output gives 65 bits: the half-label `h` and the control mask `ĥ`.
//!
//! # Material layout
//!
//! Per group of 8 gates (a batch is cut in groups from its first gate):
//! for each gate `G₀, G₁, G₂` as little-endian `u64`s (24 bytes), then the
//! group's control bits, 5 per gate, gate `k`'s `z₀..z₄` at bits `5k ..
//! 5k + 5` of a little-endian integer of 5 bytes: 197 bytes per 8 gates. A
//! last group of `r < 8` gates has `24r` bytes and then `⌈5r/8⌉` control
//! bytes, so every AND costs at most 25 bytes. [`GarblingScheme::GRANULE`]
//! is one group: pieces cut at multiples of 8 gates add up to the batch's
//! bytes. (The stream checksum places each piece's blocks at its offset in
//! the stream, so pieces need not be multiples of 16 bytes.)
//!
//! # Speed
//!
//! On CPUs with AVX-512F, VAES and BMI2, [`ThreeHalves::new`] runs the
//! fused kernels of the `simd` module (`simd/x86/three_halves.rs`): one
//! group of 8 gates at a time goes from the gather of its input labels to
//! its output labels and its 197 bytes of material in AVX-512 registers,
//! 4 gates per register (the same label of 4 gates side by side), with
//! TMMO's two AES layers back to back and every per-gate selection of
//! the equations above as a masked XOR (no branch, no per-thread buffer).
//! The evaluator's selection masks are bit operations on `(i, j, r₁, r₂)`,
//! since `R = R_p(i, j) ⊕ r₁S₁ ⊕ r₂S₂` is affine in them; the garbler's
//! come from [`GARBLE_KMASKS`], derived from [`GARBLE_COEFFICIENTS`] like
//! the portable tables. Same bytes as the portable code (tested on
//! random batches of every length). Measured on an AMD EPYC (Zen 5, 2
//! vCPUs, shared), one thread, the wide workload of `garblet bench`:
//! garbling from 39 to 91 M AND/s and evaluation from 68 to 148 M AND/s
//! (medians of three runs, `BENCHMARKS.md`), at or above the AES
//! throughput that half-gates' kernels reach per hash (three-halves hashes
//! 6 and 3 labels per AND against half-gates' 4 and 2). A batch's last
//! group of at most 4 gates (all of a narrow level: a ripple-carry chain
//! has one AND per level) hashes and finishes one half of the group only,
//! and what it wipes is sized to what it wrote: on a 1.2 M-step chain this
//! took the session from 4 to 8 M AND/s (half-gates: 11–12 M).
//!
//! Elsewhere, portable code: the hashes of a chunk of gates go through
//! [`TweakableHash::hash_split`] in two batched AES calls of `6 × 128`
//! blocks when garbling and `3 × 256` when evaluating, from per-thread
//! buffers (no allocation), then one pass builds the tables.

use std::cell::RefCell;

use zeroize::Zeroize;

use crate::block::{wipe, Block};
use crate::hash::{Tmmo, TweakableHash, FIXED_KEY};
use crate::prg::Delta;
use crate::simd::{prefetch, FusedThreeHalves, InPlace, LabelStore, ToBuffer};

use super::ops::Op;
use super::scheme::{in_place_via_buffer, GarbleKey, GarblingScheme};
use super::stream::{rotate_to, xor_fold};

/// Gates hashed per AES call when garbling (`6 × GARBLE_CHUNK` blocks).
const GARBLE_CHUNK: usize = 128;
/// Gates hashed per AES call when evaluating (`3 × EVAL_CHUNK` blocks).
const EVAL_CHUNK: usize = 256;
/// Gates per group of control bits.
pub(crate) const GROUP: usize = 8;
/// Bytes of ciphertexts per gate: three 64-bit halves.
const CIPHER_BYTES: usize = 24;
/// Bytes of a full group: 8 gates' ciphertexts and their 40 control bits.
pub(crate) const GROUP_BYTES: usize = GROUP * CIPHER_BYTES + 5;

const _: () = assert!(GARBLE_CHUNK.is_multiple_of(GROUP) && EVAL_CHUNK.is_multiple_of(GROUP));

/// The fixed part `R_p(i, j)` of the evaluator's selection matrix, indexed
/// by `i | j << 1`. Bits 0–3: the row of `C_L`, the coefficients of `A_L,
/// A_R, B_L, B_R`; bits 4–7: the row of `C_R`. From the paper: row (0,0)
/// selects `B_L` into `C_L` and `A_R` into `C_R`, row (0,1) `B_L` into
/// `C_L`, row (1,0) `A_R` into `C_R`, row (1,1) nothing.
pub(crate) const R_P: [u8; 4] = [0b0010_0100, 0b0010_0000, 0b0000_0100, 0];
/// The first basis matrix of the random part: rows `(1 1 1 0)` and
/// `(1 0 0 1)` over `(A_L, A_R, B_L, B_R)`.
pub(crate) const S1: u8 = 0b1001_0111;
/// The second basis matrix: rows `(1 0 0 1)` and `(0 1 1 1)`.
pub(crate) const S2: u8 = 0b1110_1001;

/// `R_p(i, j) ⊕ r₁·S₁ ⊕ r₂·S₂`.
const fn r_matrix(i: usize, j: usize, r1: usize, r2: usize) -> u8 {
    R_P[i | j << 1] ^ if r1 == 1 { S1 } else { 0 } ^ if r2 == 1 { S2 } else { 0 }
}

/// A 64-bit mask of `bit` (0 or 1).
#[inline(always)]
const fn mask(bit: u64) -> u64 {
    0u64.wrapping_sub(bit)
}

/// The evaluator's selection masks, indexed by `i | j << 1 | r₁ << 2 | r₂
/// << 3`: for `C_L` then `C_R`, the masks of `A_L, A_R, B_L, B_R`.
const EVAL_MASKS: [[u64; 8]; 16] = {
    let mut t = [[0u64; 8]; 16];
    let mut k = 0;
    while k < 16 {
        let r = r_matrix(k & 1, (k >> 1) & 1, (k >> 2) & 1, (k >> 3) & 1);
        let mut b = 0;
        while b < 8 {
            t[k][b] = mask(((r >> b) & 1) as u64);
            b += 1;
        }
        k += 1;
    }
    t
};

/// [`EVAL_MASKS`] in the pair form of [`linear_pair`]: `(C_L, C_R)` at
/// once.
const EVAL_PAIR_MASKS: [[Block; 4]; 16] = {
    let mut t = [[Block::ZERO; 4]; 16];
    let mut k = 0;
    while k < 16 {
        let m = &EVAL_MASKS[k];
        t[k] = [pair(m[0], m[5]), pair(m[1], m[4]), pair(m[2], m[7]), pair(m[3], m[6])];
        k += 1;
    }
    t
};

// The garbler's linear part. Symbols, as bits of a u8: the halves of A₀,
// B₀ and Δ.
const A_L: u8 = 1;
const A_R: u8 = 2;
const B_L: u8 = 4;
const B_R: u8 = 8;
const D_L: u8 = 16;
const D_R: u8 = 32;

/// `row · (X_L, X_R, Y_L, Y_R)` as a set of symbols (`row` a nibble of an
/// `R` matrix, `x`, `y` labels as pairs of symbol sets).
const fn dot(row: u8, x: (u8, u8), y: (u8, u8)) -> u8 {
    let v = [x.0, x.1, y.0, y.1];
    let mut out = 0;
    let mut k = 0;
    while k < 4 {
        if (row >> k) & 1 == 1 {
            out ^= v[k];
        }
        k += 1;
    }
    out
}

/// The matrix `R(i, j)` the garbler gives row `(i, j)` when the true
/// colours are `(ca, cb)` and its random bits `(ρ₁, ρ₂)`: the control pair
/// of the module docs.
const fn row_matrix(i: usize, j: usize, ca: usize, cb: usize, rho1: usize, rho2: usize) -> u8 {
    let r1 = rho1 ^ (i & ca) ^ ((i ^ j) & (ca ^ cb));
    let r2 = rho2 ^ (j & cb) ^ ((i ^ j) & (ca ^ cb));
    r_matrix(i, j, r1, r2)
}

/// For `(pa, pb, ρ₁, ρ₂)`: the linear parts of `C₀_L, C₀_R, G₀, G₁, G₂` as
/// sets of the symbols [`A_L`] … [`D_R`], by solving the evaluator's
/// equations of rows (0,0), (1,1) and (0,1) for the targets (see the module
/// docs); the hashes' parts are added per gate.
pub(crate) const fn garble_coefficients(pa: usize, pb: usize, rho1: usize, rho2: usize) -> [u8; 5] {
    let (ca, cb) = (1 - pa, 1 - pb);
    let a = (A_L ^ if pa == 1 { D_L } else { 0 }, A_R ^ if pa == 1 { D_R } else { 0 });
    let b = (B_L ^ if pb == 1 { D_L } else { 0 }, B_R ^ if pb == 1 { D_R } else { 0 });
    let a1 = (a.0 ^ D_L, a.1 ^ D_R);
    let b1 = (b.0 ^ D_L, b.1 ^ D_R);
    let (r00, r11, r01) = (
        row_matrix(0, 0, ca, cb, rho1, rho2),
        row_matrix(1, 1, ca, cb, rho1, rho2),
        row_matrix(0, 1, ca, cb, rho1, rho2),
    );
    // Whether row (i, j) is the true one (its output is C₀ ⊕ Δ).
    let (t00, t11, t01) = (ca == 0 && cb == 0, ca == 1 && cb == 1, ca == 0 && cb == 1);
    let (lo, hi) = (0x0f, 4);
    let c0l = dot(r00 & lo, a, b) ^ if t00 { D_L } else { 0 };
    let c0r = dot(r00 >> hi, a, b) ^ if t00 { D_R } else { 0 };
    let g0 = dot(r00 & lo, a, b) ^ dot(r11 & lo, a1, b1) ^ if t00 != t11 { D_L } else { 0 };
    let g1 = dot(r00 >> hi, a, b) ^ dot(r11 >> hi, a1, b1) ^ if t00 != t11 { D_R } else { 0 };
    let g2 = dot(r00 & lo, a, b) ^ dot(r01 & lo, a, b1) ^ if t00 != t01 { D_L } else { 0 };
    [c0l, c0r, g0, g1, g2]
}

/// [`garble_coefficients`] for every `pa | pb << 1 | ρ₁ << 2 | ρ₂ << 3`.
const GARBLE_COEFFICIENTS: [[u8; 5]; 16] = {
    let mut t = [[0u8; 5]; 16];
    let mut k = 0;
    while k < 16 {
        t[k] = garble_coefficients(k & 1, (k >> 1) & 1, (k >> 2) & 1, (k >> 3) & 1);
        k += 1;
    }
    t
};

/// The label part of [`GARBLE_COEFFICIENTS`] as masks: for each case and
/// output (`C₀_L, C₀_R, G₀, G₁, G₂`), the masks of `A₀_L, A₀_R, B₀_L,
/// B₀_R`.
const GARBLE_LABEL_MASKS: [[[u64; 4]; 5]; 16] = {
    let mut t = [[[0u64; 4]; 5]; 16];
    let mut k = 0;
    while k < 16 {
        let mut m = 0;
        while m < 5 {
            let mut s = 0;
            while s < 4 {
                t[k][m][s] = mask(((GARBLE_COEFFICIENTS[k][m] >> s) & 1) as u64);
                s += 1;
            }
            m += 1;
        }
        k += 1;
    }
    t
};

/// A block of two 64-bit halves: `lo` the low 64 bits of [`Block::to_u128`],
/// `hi` the high ones.
const fn pair(lo: u64, hi: u64) -> Block {
    Block::new(lo as u128 | (hi as u128) << 64)
}

/// The garbler's linear part in pairs of halves, so that one 128-bit
/// operation computes two outputs: for each case and pair (`(C₀_L, C₀_R)`,
/// `(G₀, G₁)`, `(G₂, –)`), the masks of `A₀`, `A₀` with its halves swapped,
/// `B₀`, `B₀` swapped. Pair `(L, R)` is then `A₀ & M₀ ⊕ swap(A₀) & M₁ ⊕ B₀
/// & M₂ ⊕ swap(B₀) & M₃`: its low half `A_L·a_L ⊕ A_R·a_R ⊕ B_L·b_L ⊕
/// B_R·b_R` with `L`'s coefficients, its high half the same with `R`'s.
const GARBLE_PAIR_MASKS: [[[Block; 4]; 3]; 16] = {
    let mut t = [[[Block::ZERO; 4]; 3]; 16];
    let mut k = 0;
    while k < 16 {
        let m = &GARBLE_LABEL_MASKS[k];
        let mut p = 0;
        while p < 3 {
            let l = &m[2 * p];
            let r = if 2 * p + 1 < 5 { m[2 * p + 1] } else { [0; 4] };
            t[k][p] = [pair(l[0], r[1]), pair(l[1], r[0]), pair(l[2], r[3]), pair(l[3], r[2])];
            p += 1;
        }
        k += 1;
    }
    t
};

/// The Δ part of every case's outputs, for one Δ (computed per batch), in
/// the pairs of [`GARBLE_PAIR_MASKS`]. Secret: zeroised by the caller.
fn delta_pairs(delta: &Delta) -> [[Block; 3]; 16] {
    let d = delta.as_block().to_u128();
    let (dl, dr) = (d as u64, (d >> 64) as u64);
    let mut t = [[Block::ZERO; 3]; 16];
    for (row, coef) in t.iter_mut().zip(&GARBLE_COEFFICIENTS) {
        let term = |o: usize| {
            coef.get(o)
                .map_or(0, |&c| (dl & mask(u64::from(c >> 4) & 1)) ^ (dr & mask(u64::from(c >> 5) & 1)))
        };
        *row = [pair(term(0), term(1)), pair(term(2), term(3)), pair(term(4), 0)];
    }
    t
}

/// `dt ⊕ A & M₀ ⊕ swap(A) & M₁ ⊕ B & M₂ ⊕ swap(B) & M₃`: two linear
/// combinations of the halves of `a` and `b` at once (see
/// [`GARBLE_PAIR_MASKS`]; the evaluator's [`EVAL_PAIR_MASKS`] have the same
/// shape).
#[inline(always)]
fn linear_pair(dt: Block, m: &[Block; 4], a: Block, b: Block) -> Block {
    dt ^ (a & m[0]) ^ (a.swap_halves() & m[1]) ^ (b & m[2]) ^ (b.swap_halves() & m[3])
}

/// The garbler's linear part as AVX-512 mask bits, for the fused kernel
/// (`simd/x86/three_halves.rs`): for each case and pair (as in
/// [`GARBLE_PAIR_MASKS`]), byte `s` of the word is for the source `s` of
/// `A₀, swap(A₀), B₀, swap(B₀), Δ, swap(Δ)`, its bit 0 the coefficient of
/// the source's low half in the pair's low output, bit 1 of its high half
/// in the high output (so a gate's two bits shifted to its lane are the
/// mask of a masked XOR).
pub(crate) const GARBLE_KMASKS: [[u64; 3]; 16] = {
    // The symbols each source holds in its (low, high) halves.
    const SOURCES: [(u8, u8); 6] = [(A_L, A_R), (A_R, A_L), (B_L, B_R), (B_R, B_L), (D_L, D_R), (D_R, D_L)];
    let mut t = [[0u64; 3]; 16];
    let mut k = 0;
    while k < 16 {
        let c = &GARBLE_COEFFICIENTS[k];
        let mut p = 0;
        while p < 3 {
            let (l, r) = (c[2 * p], if 2 * p + 1 < 5 { c[2 * p + 1] } else { 0 });
            let mut s = 0;
            while s < 6 {
                let lo = (l & SOURCES[s].0 != 0) as u64;
                let hi = (r & SOURCES[s].1 != 0) as u64;
                t[k][p] |= (lo | hi << 1) << (8 * s);
                s += 1;
            }
            p += 1;
        }
        k += 1;
    }
    t
};

/// Gates per call of the fused garbling kernel (a multiple of [`GROUP`]):
/// the seed's blocks for one call are computed ahead, on the stack.
const FUSED_GARBLE_CHUNK: usize = 512;

const _: () = assert!(FUSED_GARBLE_CHUNK.is_multiple_of(GROUP));

/// Bytes of material for `n` gates (see the module docs).
#[inline]
const fn material_bytes(n: usize) -> usize {
    let rest = n % GROUP;
    n / GROUP * GROUP_BYTES + rest * CIPHER_BYTES + (5 * rest).div_ceil(8)
}

/// The three-halves scheme over a tweakable hash (TMMO by default).
///
/// [`ThreeHalves::new`] (TMMO under the fixed key) runs the fused VAES-512
/// kernels of the `simd` module where the CPU has AVX-512F, VAES and BMI2:
/// same bytes as the portable code, which runs everywhere else.
#[derive(Clone, Debug)]
pub struct ThreeHalves<H = Tmmo> {
    hash: H,
    fused: Option<FusedThreeHalves>,
}

impl ThreeHalves<Tmmo> {
    /// Three-halves over TMMO with the fixed AES key, on the fused kernels
    /// if this CPU has them.
    pub fn new() -> ThreeHalves<Tmmo> {
        ThreeHalves { hash: Tmmo::new(), fused: FusedThreeHalves::detect(FIXED_KEY) }
    }

    /// Three-halves over TMMO with the portable code only (for comparison
    /// and tests).
    pub fn portable() -> ThreeHalves<Tmmo> {
        ThreeHalves { hash: Tmmo::portable(), fused: None }
    }

    /// Whether the fused kernels are in use.
    pub fn is_fused(&self) -> bool {
        self.fused.is_some()
    }
}

impl Default for ThreeHalves<Tmmo> {
    fn default() -> Self {
        ThreeHalves::new()
    }
}

impl<H: TweakableHash> ThreeHalves<H> {
    /// Three-halves over another hash (portable code).
    pub fn with_hash(hash: H) -> ThreeHalves<H> {
        ThreeHalves { hash, fused: None }
    }
}

/// Per-thread hash buffers (inputs, outputs, scratch). When garbling they
/// hold both labels of every input and their hashes: secrets, zeroised when
/// the thread exits (as half-gates' buffers).
struct Buffers([Vec<Block>; 3]);

impl Drop for Buffers {
    fn drop(&mut self) {
        for b in &mut self.0 {
            wipe(b);
        }
    }
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = const { RefCell::new(Buffers([Vec::new(), Vec::new(), Vec::new()])) };
}

/// Runs `f` with three per-thread buffers of at least `len` blocks each.
fn with_buffers<R>(len: usize, f: impl FnOnce(&mut [Block], &mut [Block], &mut [Block]) -> R) -> R {
    BUFFERS.with(|cell| {
        let mut guard = cell.borrow_mut();
        let [input, out, scratch] = &mut guard.0;
        if input.len() < len {
            for b in [&mut *input, &mut *out, &mut *scratch] {
                b.resize(len, Block::ZERO);
            }
        }
        f(&mut input[..len], &mut out[..len], &mut scratch[..len])
    })
}

/// How many gates ahead the gathers prefetch their input labels.
const PREFETCH_GATES: usize = 16;

/// Prefetches the input labels of `op` (when there is one).
#[inline(always)]
fn prefetch_inputs(labels: &[Block], op: Option<&Op>) {
    if let Some(op) = op {
        for i in [op.a, op.b] {
            if let Some(l) = labels.get(i as usize) {
                prefetch(l);
            }
        }
    }
}

/// Bit 64 of a block (the control mask `ĥ`).
#[inline(always)]
fn bit64(x: Block) -> u64 {
    (x.to_u128() >> 64) as u64 & 1
}

/// Writes `z` (the control bits of the `gates` gates of a group, 5 each)
/// to `out` (`⌈5·gates/8⌉` bytes).
#[inline(always)]
fn store_control(z: u64, out: &mut [u8]) {
    let bytes = z.to_le_bytes();
    out.copy_from_slice(&bytes[..out.len()]);
}

/// Reads a group's control bits.
#[inline(always)]
fn load_control(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(b)
}

impl<H: TweakableHash> GarblingScheme for ThreeHalves<H> {
    /// One group of 8 gates (197 bytes).
    const GRANULE: usize = GROUP;

    fn material_len(&self, ands: usize) -> usize {
        material_bytes(ands)
    }

    const TWEAKS_PER_AND: u64 = 3;

    type Hash = H;

    fn hash(&self) -> &H {
        &self.hash
    }

    fn garble_ands(
        &self,
        key: GarbleKey<'_>,
        first_and: u64,
        labels: &[Block],
        ands: &[Op],
        c0: &mut [Block],
        material: &mut [u8],
    ) {
        match &self.fused {
            Some(fused) => {
                // The checksum is the caller's (`split_batch` folds pieces).
                let _fold =
                    garble_fused(fused, key, first_and, &mut ToBuffer { labels, out: c0 }, ands, material);
            }
            None => self.garble_portable(key, first_and, labels, ands, c0, material),
        }
    }

    fn eval_ands(&self, first_and: u64, labels: &[Block], ands: &[Op], material: &[u8], c: &mut [Block]) {
        match &self.fused {
            Some(fused) => fused.eval(first_and, &mut ToBuffer { labels, out: c }, ands, material),
            None => self.eval_portable(first_and, labels, ands, material, c),
        }
    }

    fn garble_ands_in_place(
        &self,
        key: GarbleKey<'_>,
        first_and: u64,
        labels: &mut [Block],
        ands: &[Op],
        material: &mut [u8],
    ) -> u128 {
        let Some(fused) = &self.fused else {
            let used = in_place_via_buffer(self, first_and, labels, ands, |first, labels, ops, c0, bytes| {
                self.garble_portable(key, first, labels, ops, c0, &mut material[bytes])
            });
            return xor_fold(&material[..used]);
        };
        let used = material_bytes(ands.len());
        garble_fused(fused, key, first_and, &mut InPlace(labels), ands, &mut material[..used])
    }

    fn eval_ands_in_place(&self, first_and: u64, labels: &mut [Block], ands: &[Op], material: &[u8]) -> u128 {
        let Some(fused) = &self.fused else {
            let used = in_place_via_buffer(self, first_and, labels, ands, |first, labels, ops, c, bytes| {
                self.eval_portable(first, labels, ops, &material[bytes], c)
            });
            return xor_fold(&material[..used]);
        };
        let used = material_bytes(ands.len());
        fused.eval(first_and, &mut InPlace(labels), ands, &material[..used]);
        xor_fold(&material[..used])
    }
}

/// Garbles `ands` on the fused kernels, in calls of
/// [`FUSED_GARBLE_CHUNK`] gates with the seed's blocks computed ahead
/// (and wiped after). Returns [`xor_fold`] of `material`, which the kernels
/// compute as they write it.
fn garble_fused<S: LabelStore>(
    fused: &FusedThreeHalves,
    key: GarbleKey<'_>,
    first_and: u64,
    labels: &mut S,
    ands: &[Op],
    material: &mut [u8],
) -> u128 {
    let d = key.delta().as_block();
    let mut rho = [Block::ZERO; FUSED_GARBLE_CHUNK / 64 + 1];
    // The seed's blocks written, to wipe: one for a narrow level's few
    // gates, where wiping all of them showed in the profile.
    let mut used = 0;
    let (mut pos, mut fold) = (0, 0);
    for (n, ops) in ands.chunks(FUSED_GARBLE_CHUNK).enumerate() {
        let done = n * FUSED_GARBLE_CHUNK;
        let base = first_and + done as u64;
        let q0 = base >> 6;
        let nq = (((base + ops.len() as u64 - 1) >> 6) - q0 + 1) as usize;
        key.gate_seed().blocks(q0, &mut rho[..nq]);
        used = used.max(nq);
        let bytes = material_bytes(ops.len());
        let chunk = fused.garble(d, base, labels, done, ops, &rho[..nq], &mut material[pos..pos + bytes]);
        fold ^= rotate_to(chunk, pos as u64);
        pos += bytes;
    }
    wipe(&mut rho[..used]);
    fold
}

impl<H: TweakableHash> ThreeHalves<H> {
    /// Garbles a batch with the portable code (batched hashes through
    /// per-thread buffers, then one pass per chunk).
    fn garble_portable(
        &self,
        key: GarbleKey<'_>,
        first_and: u64,
        labels: &[Block],
        ands: &[Op],
        c0: &mut [Block],
        material: &mut [u8],
    ) {
        let d = key.delta().as_block();
        let mut dpairs = delta_pairs(key.delta());
        // The seed's blocks for one chunk: its gates span at most
        // GARBLE_CHUNK / 64 + 1 of them.
        let mut rho = [Block::ZERO; GARBLE_CHUNK / 64 + 1];
        with_buffers(6 * GARBLE_CHUNK, |input, hashed, scratch| {
            let mut base = first_and;
            let mut mat_pos = 0;
            for (ops, c0) in ands.chunks(GARBLE_CHUNK).zip(c0.chunks_mut(GARBLE_CHUNK)) {
                let n = ops.len();
                let input = &mut input[..6 * n];
                for (k, (op, h)) in ops.iter().zip(input.chunks_exact_mut(6)).enumerate() {
                    prefetch_inputs(labels, ops.get(k + PREFETCH_GATES));
                    let (a, b) = (labels[op.a as usize], labels[op.b as usize]);
                    h[0] = a;
                    h[1] = a ^ d;
                    h[2] = b;
                    h[3] = b ^ d;
                    h[4] = a ^ b;
                    h[5] = a ^ b ^ d;
                }
                // Block m = 6k + s of gate k hashes with tweak 3(base + k) +
                // s/2, which is 3·base + m/2.
                let t0 = 3 * base;
                let (hashed, scratch) = (&mut hashed[..6 * n], &mut scratch[..6 * n]);
                self.hash.hash_split(input, hashed, scratch, |m| Block::from_u64(t0 + (m >> 1) as u64));
                let q0 = base >> 6;
                let nq = (((base + n as u64 - 1) >> 6) - q0 + 1) as usize;
                key.gate_seed().blocks(q0, &mut rho[..nq]);

                let bytes = material_bytes(n);
                let mat = &mut material[mat_pos..mat_pos + bytes];
                for (group, ((x, h), s)) in input
                    .chunks(6 * GROUP)
                    .zip(hashed.chunks(6 * GROUP))
                    .zip(scratch.chunks(6 * GROUP))
                    .enumerate()
                {
                    let gates = x.len() / 6;
                    let gmat = &mut mat[group * GROUP_BYTES..][..material_bytes(gates)];
                    let (ciphers, control) = gmat.split_at_mut(gates * CIPHER_BYTES);
                    let mut z = 0u64;
                    for (k, (((x, h), s), t)) in x
                        .chunks_exact(6)
                        .zip(h.chunks_exact(6))
                        .zip(s.chunks_exact(6))
                        .zip(ciphers.chunks_exact_mut(CIPHER_BYTES))
                        .enumerate()
                    {
                        let g = base + (group * GROUP + k) as u64;
                        let word = rho[((g >> 6) - q0) as usize].to_u128();
                        let r = (word >> (2 * (g & 63))) as usize & 3;
                        let h =
                            [h[0] ^ s[0], h[1] ^ s[1], h[2] ^ s[2], h[3] ^ s[3], h[4] ^ s[4], h[5] ^ s[5]];
                        let (a, b) = (x[0], x[2]);
                        let (pa, pb) = (a.lsb(), b.lsb());
                        let case = usize::from(pa) | usize::from(pb) << 1 | r << 2;
                        // Hashes of the colour-0 labels A*, B*, A* ⊕ B*.
                        let da = h[0] ^ h[1];
                        let db = h[2] ^ h[3];
                        let dab = h[4] ^ h[5];
                        let ha = h[0] ^ da.select(pa);
                        let hb = h[2] ^ db.select(pb);
                        let hab = h[4] ^ dab.select(pa ^ pb);
                        let (ua, ub) = (ha ^ hab, hb ^ hab);
                        let (m, dt) = (&GARBLE_PAIR_MASKS[case], &dpairs[case]);
                        c0[group * GROUP + k] = Block::low_halves(ua, ub) ^ linear_pair(dt[0], &m[0], a, b);
                        let g01 = Block::low_halves(da, db) ^ linear_pair(dt[1], &m[1], a, b);
                        let g2 = dab ^ linear_pair(dt[2], &m[2], a, b);
                        t[..16].copy_from_slice(g01.as_bytes());
                        t[16..].copy_from_slice(&g2.as_bytes()[..8]);
                        let (pa, pb) = (u64::from(pa), u64::from(pb));
                        let bits = ((r as u64 & 1) ^ bit64(ua))
                            | ((r as u64 >> 1) ^ bit64(ub)) << 1
                            | (1 ^ pa ^ bit64(da)) << 2
                            | (1 ^ pb ^ bit64(db)) << 3
                            | (pa ^ pb ^ bit64(dab)) << 4;
                        z |= bits << (5 * k);
                    }
                    store_control(z, control);
                }
                mat_pos += bytes;
                base += n as u64;
            }
        });
        dpairs.iter_mut().for_each(|t| t.zeroize());
        rho.zeroize();
    }

    /// Evaluates a batch with the portable code.
    fn eval_portable(&self, first_and: u64, labels: &[Block], ands: &[Op], material: &[u8], c: &mut [Block]) {
        with_buffers(3 * EVAL_CHUNK, |input, hashed, scratch| {
            let mut base = first_and;
            let mut mat_pos = 0;
            for (ops, c) in ands.chunks(EVAL_CHUNK).zip(c.chunks_mut(EVAL_CHUNK)) {
                let n = ops.len();
                let input = &mut input[..3 * n];
                for (k, (op, h)) in ops.iter().zip(input.chunks_exact_mut(3)).enumerate() {
                    prefetch_inputs(labels, ops.get(k + PREFETCH_GATES));
                    let (a, b) = (labels[op.a as usize], labels[op.b as usize]);
                    h[0] = a;
                    h[1] = b;
                    h[2] = a ^ b;
                }
                // Block m = 3k + s of gate k hashes with tweak 3(base + k) + s.
                let t0 = 3 * base;
                let (hashed, scratch) = (&mut hashed[..3 * n], &mut scratch[..3 * n]);
                self.hash.hash_split(input, hashed, scratch, |m| Block::from_u64(t0 + m as u64));
                let bytes = material_bytes(n);
                let mat = &material[mat_pos..mat_pos + bytes];
                for (group, ((x, h), s)) in input
                    .chunks(3 * GROUP)
                    .zip(hashed.chunks(3 * GROUP))
                    .zip(scratch.chunks(3 * GROUP))
                    .enumerate()
                {
                    let gates = x.len() / 3;
                    let gmat = &mat[group * GROUP_BYTES..][..material_bytes(gates)];
                    let (ciphers, control) = gmat.split_at(gates * CIPHER_BYTES);
                    let z = load_control(control);
                    for (k, (((x, h), s), t)) in x
                        .chunks_exact(3)
                        .zip(h.chunks_exact(3))
                        .zip(s.chunks_exact(3))
                        .zip(ciphers.chunks_exact(CIPHER_BYTES))
                        .enumerate()
                    {
                        let (a, b) = (x[0], x[1]);
                        let (ua, ub) = (h[0] ^ s[0] ^ h[2] ^ s[2], h[1] ^ s[1] ^ h[2] ^ s[2]);
                        let (i, j) = (u64::from(a.lsb()), u64::from(b.lsb()));
                        let zk = z >> (5 * k);
                        let r1 = (zk ^ (i & (zk >> 2)) ^ ((i ^ j) & (zk >> 4)) ^ bit64(ua)) & 1;
                        let r2 = ((zk >> 1) ^ (j & (zk >> 3)) ^ ((i ^ j) & (zk >> 4)) ^ bit64(ub)) & 1;
                        let m = &EVAL_PAIR_MASKS[(i | j << 1 | r1 << 2 | r2 << 3) as usize];
                        // (G₀, G₁) selected by (i, j), and G₂ in both halves by i ⊕ j.
                        let g01 = Block::from_bytes(t[..16].try_into().expect("16 bytes"));
                        let mut g2 = [0u8; 8];
                        g2.copy_from_slice(&t[16..CIPHER_BYTES]);
                        let g2 = u64::from_le_bytes(g2) & mask(i ^ j);
                        let g = (g01 & pair(mask(i), mask(j))) ^ pair(g2, g2);
                        c[group * GROUP + k] = Block::low_halves(ua, ub) ^ linear_pair(g, m, a, b);
                    }
                }
                mat_pos += bytes;
                base += n as u64;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prg::{GateSeed, Prg};

    /// Decodes on all four inputs, for batch lengths across groups and
    /// chunks, in place and buffered.
    #[test]
    fn all_four_input_combinations_decode_to_and() {
        let th = ThreeHalves::new();
        let mut prg = Prg::from_seed(Block::new(11));
        let delta = Delta::random(&mut prg);
        let seed = GateSeed::random(&mut prg);
        let key = GarbleKey::new(&delta, &seed);
        let d = delta.as_block();
        for n in [0usize, 1, 2, 7, 8, 9, 127, 128, 129, 300, 1000] {
            let zero: Vec<Block> = (0..2 * n).map(|_| prg.random_block()).collect();
            let ops: Vec<Op> = (0..n as u32).map(|k| Op { a: 2 * k, b: 2 * k + 1, out: 2 * k }).collect();
            let mut c0 = vec![Block::ZERO; n];
            let mut mat = vec![0u8; th.material_len(n)];
            th.garble_ands(key, 77, &zero, &ops, &mut c0, &mut mat);
            let mut inplace = zero.clone();
            let mut mat2 = vec![0u8; th.material_len(n)];
            let sum = th.garble_ands_in_place(key, 77, &mut inplace, &ops, &mut mat2);
            assert_eq!(mat, mat2);
            for (k, c) in c0.iter().enumerate() {
                assert_eq!(*c, inplace[2 * k]);
            }
            for (x, y) in [(false, false), (false, true), (true, false), (true, true)] {
                let active: Vec<Block> = zero
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| l ^ d.select(if i % 2 == 0 { x } else { y }))
                    .collect();
                let mut c = vec![Block::ZERO; n];
                th.eval_ands(77, &active, &ops, &mat, &mut c);
                let mut labels = active.clone();
                assert_eq!(th.eval_ands_in_place(77, &mut labels, &ops, &mat), sum);
                for k in 0..n {
                    assert_eq!(c[k], c0[k] ^ d.select(x & y), "gate {k} of {n}, inputs {x} {y}");
                    assert_eq!(labels[2 * k], c[k]);
                }
            }
        }
    }

    /// The fused kernels (where the CPU has them) against the portable
    /// code, byte for byte: material, output labels and checksums, garbling
    /// and evaluating, buffered and in place, on random batches of every
    /// length up to 40 gates (so every partial group of 8 and of 4 lanes)
    /// and longer ones across the garbler's chunks, from first gates that
    /// start groups mid-block of the seed.
    #[test]
    fn fused_and_portable_agree_on_every_batch_length() {
        let fused = ThreeHalves::new();
        if !fused.is_fused() {
            eprintln!("no fused three-halves kernels on this CPU: not tested");
            return;
        }
        let portable = ThreeHalves::portable();
        let mut prg = Prg::from_seed(Block::new(12));
        let delta = Delta::random(&mut prg);
        let seed = GateSeed::random(&mut prg);
        let key = GarbleKey::new(&delta, &seed);
        let d = delta.as_block();
        for n in (0..=40).chain([63, 64, 65, 511, 512, 513, 1100]) {
            for first in [0u64, 5, 61, 1 << 40] {
                // Inputs from wires 0 .. 2n + 1 (repeats allowed), outputs
                // to the wires after them.
                let inputs = 2 * n as u128 + 1;
                let zero: Vec<Block> = (0..3 * n + 1).map(|_| prg.random_block()).collect();
                let ops: Vec<Op> = (0..n)
                    .map(|k| {
                        let r = prg.random_block().to_u128();
                        let out = (2 * n + 1 + k) as u32;
                        Op { a: (r % inputs) as u32, b: ((r >> 64) % inputs) as u32, out }
                    })
                    .collect();
                let len = th_len(n);
                let what = format!("{n} gates from {first}");
                let (mut cp, mut mp) = (vec![Block::ZERO; n], vec![0xa5u8; len]);
                portable.garble_ands(key, first, &zero, &ops, &mut cp, &mut mp);
                let (mut cf, mut mf) = (vec![Block::ONES; n], vec![0x5au8; len]);
                fused.garble_ands(key, first, &zero, &ops, &mut cf, &mut mf);
                assert_eq!(mf, mp, "material, {what}");
                assert_eq!(cf, cp, "output labels, {what}");
                let (mut lp, mut lf) = (zero.clone(), zero.clone());
                let (mut mp2, mut mf2) = (vec![0xa5u8; len], vec![0x5au8; len]);
                let sp = portable.garble_ands_in_place(key, first, &mut lp, &ops, &mut mp2);
                let sf = fused.garble_ands_in_place(key, first, &mut lf, &ops, &mut mf2);
                assert_eq!((sf, &mf2), (sp, &mp), "in place, {what}");
                assert_eq!(lf, lp, "labels in place, {what}");
                // Active labels: a random value on every wire.
                let bits: Vec<bool> = (0..zero.len()).map(|_| prg.random_block().lsb()).collect();
                let active: Vec<Block> = zero.iter().zip(&bits).map(|(&l, &x)| l ^ d.select(x)).collect();
                let (mut ep, mut ef) = (vec![Block::ZERO; n], vec![Block::ONES; n]);
                portable.eval_ands(first, &active, &ops, &mp, &mut ep);
                fused.eval_ands(first, &active, &ops, &mp, &mut ef);
                assert_eq!(ef, ep, "evaluation, {what}");
                for (k, op) in ops.iter().enumerate() {
                    let v = bits[op.a as usize] & bits[op.b as usize];
                    assert_eq!(ef[k], cp[k] ^ d.select(v), "gate {k}, {what}");
                }
                let (mut ap, mut af) = (active.clone(), active.clone());
                let sp = portable.eval_ands_in_place(first, &mut ap, &ops, &mp);
                let sf = fused.eval_ands_in_place(first, &mut af, &ops, &mp);
                assert_eq!((sf, &af), (sp, &ap), "evaluation in place, {what}");
            }
        }
    }

    fn th_len(n: usize) -> usize {
        ThreeHalves::new().material_len(n)
    }

    #[test]
    fn material_is_at_most_25_bytes_per_and() {
        let th = ThreeHalves::new();
        assert_eq!(th.material_len(0), 0);
        assert_eq!(th.material_len(8), 197);
        for n in 1..5000 {
            assert!(th.material_len(n) <= 25 * n, "{n} gates");
        }
    }

    /// The fourth row (1,0), which the garbler does not solve for, holds
    /// for every case: the constraint that `R_p, S₁, S₂` were chosen for.
    #[test]
    fn every_case_is_consistent() {
        for (case, &[c0l, c0r, g0, _, g2]) in GARBLE_COEFFICIENTS.iter().enumerate() {
            let (pa, pb) = (case & 1, (case >> 1) & 1);
            let (ca, cb) = (1 - pa, 1 - pb);
            // Row (1, 0): the control pair, the matrix, the labels.
            let r1 = ((case >> 2) & 1) ^ ca ^ (ca ^ cb);
            let r2 = ((case >> 3) & 1) ^ (ca ^ cb);
            let r = r_matrix(1, 0, r1, r2);
            let a = (A_L ^ [0, D_L][pa] ^ D_L, A_R ^ [0, D_R][pa] ^ D_R);
            let b = (B_L ^ [0, D_L][pb], B_R ^ [0, D_R][pb]);
            let t = if (1, 0) == (ca, cb) { (D_L, D_R) } else { (0, 0) };
            // The hash parts cancel (checked by the decoding tests); the
            // linear parts must match C₀ ⊕ t·Δ.
            assert_eq!(g0 ^ g2 ^ dot(r & 0x0f, a, b), c0l ^ t.0, "case {case}, C_L");
            assert_eq!(g2 ^ dot(r >> 4, a, b), c0r ^ t.1, "case {case}, C_R");
        }
    }
}
