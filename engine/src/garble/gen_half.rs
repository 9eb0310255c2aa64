//! Generator half gates: AND gates one of whose inputs the garbler knows in
//! the clear, garbled with one ciphertext.
//!
//! # Construction
//!
//! Half-gates garbling (Zahur, Rosulek, Evans, *Two Halves Make a Whole*,
//! Eurocrypt 2015, ePrint 2014/756, §3) splits an AND into two halves; the
//! *generator half gate* is the AND of a wire with a bit `v` the garbler
//! knows, and costs one ciphertext:
//!
//! ```text
//! garbler:   h₀ = H(B₀, j)   h₁ = H(B₀ ⊕ Δ, j)
//!            G  = h₀ ⊕ h₁ ⊕ v·Δ          (sent: 16 bytes)
//!            C₀ = h₀ ⊕ lsb(B₀)·G         (the output's zero label)
//! evaluator: C  = H(B, j) ⊕ lsb(B)·G     (B its label of the other input)
//! ```
//!
//! With `B = B₀ ⊕ b·Δ` the evaluator gets `C₀ ⊕ (v ∧ b)·Δ`. `G` is `v·Δ`
//! masked by `H(B₀ ⊕ Δ, j)` or `H(B₀, j)`, whichever the evaluator cannot
//! compute, so it reveals neither `v` nor `b` (the generator half gate's
//! proof in ZRE15, under the same tweakable circular-correlation-robust
//! hash; see [`crate::hash`]).
//!
//! A wire qualifies when it is an input wire of the party that garbles and
//! no gate of the plan writes it: its value is then the garbler's own input
//! bit for the whole run. Which wires those are follows from the circuit
//! and the input owners alone, so both parties classify every AND gate the
//! same way ([`KnownWires`], [`partition`]). The garbler's bits are
//! [`KnownValues`], a secret wiped on drop.
//!
//! # Tweaks
//!
//! A generator half gate is still an AND gate of the schedule: it takes the
//! next AND index `g` and hashes with tweak `stride·g + 1`, the tweak its
//! scheme gives gate `g`'s second input (half-gates `2g + 1`, three-halves
//! `3g + 1`). Every tweak thus stays within gate `g`'s own set, and no two
//! gates share one.
//!
//! # Why
//!
//! A vendor's model weights are garbler inputs, and the partial products
//! of `weight · feature` are half of the model benchmark's AND gates: as
//! generator half gates they cost 16 bytes, 2 hashes for the garbler and 1
//! for the evaluator, against three-halves' 24.6 bytes, 6 and 3.

use std::sync::OnceLock;

use zeroize::Zeroizing;

use super::ops::Op;
use crate::block::{wipe, Block};
use crate::hash::{TweakableHash, FIXED_KEY};
use crate::simd::FusedGenHalf;

/// Bytes of material per generator half gate: the one ciphertext `G`.
pub(crate) const HALF_GATE_BYTES: usize = 16;

/// Gates hashed per call (stack buffers of `2 · PIECE` blocks).
const PIECE: usize = 128;

/// A set of label indices: the input wires the garbler knows in the clear
/// that no gate writes. Public knowledge (both parties compute it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownWires {
    bits: Vec<u64>,
}

impl KnownWires {
    /// The set of `indices`.
    pub fn from_indices(indices: impl IntoIterator<Item = u32>) -> KnownWires {
        let mut bits = Vec::new();
        for i in indices {
            let (word, bit) = ((i / 64) as usize, i % 64);
            if bits.len() <= word {
                bits.resize(word + 1, 0);
            }
            bits[word] |= 1 << bit;
        }
        KnownWires { bits }
    }

    /// The same set over `words` words (for comparing sets built two ways).
    #[cfg(test)]
    fn with_len(mut self, words: usize) -> KnownWires {
        self.bits.resize(words, 0);
        self
    }

    /// The set of every index in `start..end`.
    pub(crate) fn range(start: u32, end: u32) -> KnownWires {
        let mut set = KnownWires::default();
        set.insert_range(start, end);
        set
    }

    /// Adds every index in `start..end`, a word at a time, in place.
    pub(crate) fn insert_range(&mut self, start: u32, end: u32) {
        if start >= end {
            return;
        }
        let words = (end as usize).div_ceil(64);
        if self.bits.len() < words {
            self.bits.resize(words, 0);
        }
        for (w, word) in self.bits.iter_mut().enumerate().take(words).skip((start / 64) as usize) {
            let lo = (w as u64 * 64).max(u64::from(start));
            let hi = ((w as u64 + 1) * 64).min(u64::from(end));
            let ones = if hi - lo == 64 { u64::MAX } else { ((1u64 << (hi - lo)) - 1) << (lo % 64) };
            *word |= ones;
        }
    }

    /// Takes index `i` out of the set.
    pub(crate) fn remove(&mut self, i: u32) {
        if let Some(word) = self.bits.get_mut((i / 64) as usize) {
            *word &= !(1 << (i % 64));
        }
    }

    /// The indices in both sets.
    pub(crate) fn intersection(&self, other: &KnownWires) -> KnownWires {
        let mut bits: Vec<u64> = self.bits.iter().zip(&other.bits).map(|(a, b)| a & b).collect();
        // No empty words at the end, so that the set's end (the bound
        // `partition` compares a batch's lowest read with) stays low.
        while bits.last() == Some(&0) {
            bits.pop();
        }
        KnownWires { bits }
    }

    /// Whether label index `i` is in the set.
    #[inline]
    pub fn contains(&self, i: u32) -> bool {
        // Past the last word: not in the set (labels past the inputs).
        let word = (i / 64) as usize;
        word < self.bits.len() && self.bits[word] >> (i % 64) & 1 == 1
    }

    /// One past the largest label index the set may hold.
    fn end(&self) -> u64 {
        64 * self.bits.len() as u64
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }
}

/// The garbler's plaintext bits of its [`KnownWires`], by label index: a
/// secret (they are its input bits), wiped on drop.
#[derive(Clone, Default)]
pub struct KnownValues {
    bits: Zeroizing<Vec<u64>>,
}

impl KnownValues {
    /// The bits `(label index, value)`.
    pub fn from_bits(bits: impl IntoIterator<Item = (u32, bool)>) -> KnownValues {
        let mut words: Zeroizing<Vec<u64>> = Zeroizing::new(Vec::new());
        for (i, v) in bits {
            let (word, bit) = ((i / 64) as usize, i % 64);
            if words.len() <= word {
                // Grown by copying into a new zeroised vector, so no unwiped
                // copy is left behind.
                let mut grown = Zeroizing::new(vec![0u64; word + 1]);
                grown[..words.len()].copy_from_slice(&words);
                words = grown;
            }
            words[word] |= u64::from(v) << bit;
        }
        KnownValues { bits: words }
    }

    /// The garbler's bit of label index `i` (false past the set).
    #[inline]
    pub(crate) fn get(&self, i: u32) -> bool {
        self.bits.get((i / 64) as usize).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }
}

impl std::fmt::Debug for KnownValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KnownValues(..)")
    }
}

/// How [`partition`] split an AND batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Split {
    /// No gate reads a known wire: the batch as it is.
    None,
    /// Every gate's `a` is known: the whole batch is half gates, as it is
    /// (nothing copied: a product's partial products by a garbler input).
    All,
    /// Some gates: the half gates and the rest are in the two lists.
    Mixed,
}

/// Splits an AND batch into the generator half gates (the gates with an
/// input in `known`, written with that input as `a`) and the rest, each in
/// batch order ([`Split::Mixed`]; the lists are filled only then). Both
/// parties call it on the same batch and get the same split.
pub(crate) fn partition(
    known: &KnownWires,
    ops: &[Op],
    low: u32,
    half: &mut Vec<Op>,
    rest: &mut Vec<Op>,
) -> Split {
    half.clear();
    rest.clear();
    // No gate of the batch reads a label as low as the set's (most
    // batches: the set is the garbler's inputs, the lowest labels after
    // the constants), known from the plan without a look at the gates.
    if u64::from(low) >= known.end() {
        return Split::None;
    }
    // Most batches have none (a product's partial products are one batch;
    // the adders after it read no input), and a product's are all half
    // gates: a read-only count first.
    let (mut ka, mut kb) = (0usize, 0usize);
    for op in ops {
        let a = known.contains(op.a);
        ka += usize::from(a);
        kb += usize::from(!a & known.contains(op.b));
    }
    if ka + kb == 0 {
        return Split::None;
    }
    if ka == ops.len() {
        return Split::All;
    }
    // Branch-free (half gates come in no pattern a predictor could
    // follow): every op is written to both lists, and only the list it
    // belongs to advances.
    let blank = Op { a: 0, b: 0, out: 0 };
    half.resize(ops.len(), blank);
    rest.resize(ops.len(), blank);
    let (mut h, mut r) = (0, 0);
    for &op in ops {
        let (ka, kb) = (known.contains(op.a), known.contains(op.b));
        let swap = kb & !ka;
        half[h] = Op { a: if swap { op.b } else { op.a }, b: if swap { op.a } else { op.b }, out: op.out };
        rest[r] = op;
        let is_half = ka | kb;
        h += usize::from(is_half);
        r += usize::from(!is_half);
    }
    half.truncate(h);
    rest.truncate(r);
    Split::Mixed
}

/// The fused kernels (`simd/x86/gen_half.rs`) for `hash`, if it lets them
/// compute it ([`TweakableHash::fused_key`]) under the engine's fixed key
/// and this CPU has them; detected once.
fn fused<H: TweakableHash>(hash: &H) -> Option<&'static FusedGenHalf> {
    static FIXED: OnceLock<Option<FusedGenHalf>> = OnceLock::new();
    if hash.fused_key()? != FIXED_KEY {
        return None;
    }
    FIXED.get_or_init(|| FusedGenHalf::detect(FIXED_KEY)).as_ref()
}

/// The tweak of half gate `g` (see the module docs).
#[inline]
fn tweak(stride: u64, g: u64) -> Block {
    Block::from_u64(stride * g + 1)
}

/// Garbles generator half gates `ops` (`a` known, value in `values`; AND
/// indices `first_and…`): zero output labels to `c0`, one ciphertext per
/// gate to `material` (`16 · ops.len()` bytes). Returns nothing secret
/// beyond `c0`; the stack buffers are wiped.
#[allow(clippy::too_many_arguments)]
pub(crate) fn garble<H: TweakableHash>(
    hash: &H,
    stride: u64,
    delta: Block,
    values: &KnownValues,
    first_and: u64,
    labels: &[Block],
    ops: &[Op],
    c0: &mut [Block],
    material: &mut [u8],
) {
    let tables: &mut [Block] = bytemuck::cast_slice_mut(&mut material[..HALF_GATE_BYTES * ops.len()]);
    if let Some(kernel) = fused(hash) {
        return kernel.garble(stride, delta, values, first_and, labels, ops, c0, tables);
    }
    let mut input = [Block::ZERO; 2 * PIECE];
    let mut hashed = [Block::ZERO; 2 * PIECE];
    let mut scratch = [Block::ZERO; 2 * PIECE];
    for (p, ((ops, c0), tables)) in
        ops.chunks(PIECE).zip(c0.chunks_mut(PIECE)).zip(tables.chunks_mut(PIECE)).enumerate()
    {
        let n = ops.len();
        let base = first_and + (p * PIECE) as u64;
        // Gate k's two labels side by side: block m is gate m / 2's.
        for (op, pair) in ops.iter().zip(input.chunks_exact_mut(2)) {
            let b0 = labels[op.b as usize];
            pair[0] = b0;
            pair[1] = b0 ^ delta;
        }
        hash.hash_split(&input[..2 * n], &mut hashed[..2 * n], &mut scratch[..2 * n], |m| {
            tweak(stride, base + (m >> 1) as u64)
        });
        for (k, op) in ops.iter().enumerate() {
            let h0 = hashed[2 * k] ^ scratch[2 * k];
            let h1 = hashed[2 * k + 1] ^ scratch[2 * k + 1];
            let g = h0 ^ h1 ^ delta.select(values.get(op.a));
            tables[k] = g;
            c0[k] = h0 ^ g.select(input[2 * k].lsb());
        }
    }
    wipe(&mut input);
    wipe(&mut hashed);
    wipe(&mut scratch);
}

/// Evaluates generator half gates `ops` (`a` the known input, not read):
/// active output labels to `c`.
pub(crate) fn eval<H: TweakableHash>(
    hash: &H,
    stride: u64,
    first_and: u64,
    labels: &[Block],
    ops: &[Op],
    material: &[u8],
    c: &mut [Block],
) {
    let tables: &[Block] = bytemuck::cast_slice(&material[..HALF_GATE_BYTES * ops.len()]);
    if let Some(kernel) = fused(hash) {
        return kernel.eval(stride, first_and, labels, ops, tables, c);
    }
    let mut input = [Block::ZERO; PIECE];
    let mut hashed = [Block::ZERO; PIECE];
    let mut scratch = [Block::ZERO; PIECE];
    for (p, ((ops, c), tables)) in
        ops.chunks(PIECE).zip(c.chunks_mut(PIECE)).zip(tables.chunks(PIECE)).enumerate()
    {
        let n = ops.len();
        let base = first_and + (p * PIECE) as u64;
        for (k, op) in ops.iter().enumerate() {
            input[k] = labels[op.b as usize];
        }
        hash.hash_split(&input[..n], &mut hashed[..n], &mut scratch[..n], |m| tweak(stride, base + m as u64));
        for k in 0..n {
            c[k] = hashed[k] ^ scratch[k] ^ tables[k].select(input[k].lsb());
        }
    }
    wipe(&mut input);
    wipe(&mut hashed);
    wipe(&mut scratch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Tmmo;

    fn block(i: u64) -> Block {
        Block::new(u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ 0x5555)
    }

    /// Against the formulas of ZRE15's generator half gate written out one
    /// gate at a time with the one-block hash: for every `v` and `b`, the
    /// evaluator's label is `C₀ ⊕ (v ∧ b)·Δ`, and the garbler's bytes are
    /// `G = H(B₀, j) ⊕ H(B₀ ⊕ Δ, j) ⊕ v·Δ`, `j = stride·g + 1`.
    #[test]
    fn half_gates_match_the_formulas_and_compute_and() {
        let h = Tmmo::new();
        let delta = block(7).set_lsb();
        for stride in [2u64, 3] {
            // 300 gates (three pieces), known input at label 0..8, other at 8..308.
            let n = 300usize;
            let mut labels: Vec<Block> = (0..(8 + n) as u64).map(block).collect();
            let ops: Vec<Op> = (0..n as u32).map(|k| Op { a: k % 8, b: 8 + k, out: 0 }).collect();
            let values = KnownValues::from_bits((0..8u32).map(|i| (i, i % 3 == 1)));
            let first = 1_000u64;
            let mut c0 = vec![Block::ZERO; n];
            let mut material = vec![0u8; HALF_GATE_BYTES * n];
            garble(&h, stride, delta, &values, first, &labels, &ops, &mut c0, &mut material);
            let tables: &[Block] = bytemuck::cast_slice(&material);
            for (k, op) in ops.iter().enumerate() {
                let j = Block::from_u64(stride * (first + k as u64) + 1);
                let b0 = labels[op.b as usize];
                let v = op.a % 3 == 1;
                let g = h.hash(b0, j) ^ h.hash(b0 ^ delta, j) ^ delta.select(v);
                assert_eq!(tables[k], g, "gate {k}");
                assert_eq!(c0[k], h.hash(b0, j) ^ g.select(b0.lsb()));
            }
            for b in [false, true] {
                let mut active = labels.clone();
                for op in &ops {
                    active[op.b as usize] ^= delta.select(b);
                }
                let mut c = vec![Block::ZERO; n];
                eval(&h, stride, first, &active, &ops, &material, &mut c);
                for (k, op) in ops.iter().enumerate() {
                    let v = op.a % 3 == 1;
                    assert_eq!(c[k], c0[k] ^ delta.select(v && b), "stride {stride}, gate {k}, b {b}");
                }
            }
            labels.clear();
        }
    }

    /// The fused VAES-512 kernels (`simd/x86/gen_half.rs`) against the
    /// portable code, byte for byte: every length across the kernels'
    /// groups (16 gates garbling, 32 evaluating) and their padded tails,
    /// both strides, AND indices past 2^32, labels read in any order.
    #[test]
    fn fused_kernels_match_the_portable_code_on_every_length() {
        let (fast, slow) = (Tmmo::new(), Tmmo::portable());
        assert!(fused(&slow).is_none(), "the portable hash must stay portable");
        if fused(&fast).is_none() {
            eprintln!("no AVX-512F and VAES here: the fused kernels are not run");
            return;
        }
        let delta = block(99).set_lsb();
        let labels: Vec<Block> = (0..500u64).map(|i| block(i + 3)).collect();
        let values = KnownValues::from_bits((0..500u32).map(|i| (i, i % 5 < 2)));
        let mut rng = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for n in (0..=80).chain([255, 300, 513]) {
            for stride in [2u64, 3] {
                let ops: Vec<Op> = (0..n)
                    .map(|_| Op { a: (next() % 500) as u32, b: (next() % 500) as u32, out: 0 })
                    .collect();
                let first = (1u64 << 33) + next() % 1000;
                let garbled = |h: &Tmmo| {
                    let (mut c0, mut mat) = (vec![Block::ZERO; n], vec![0u8; HALF_GATE_BYTES * n]);
                    garble(h, stride, delta, &values, first, &labels, &ops, &mut c0, &mut mat);
                    (c0, mat)
                };
                let (c0, mat) = garbled(&fast);
                assert_eq!(
                    (&c0, &mat),
                    (&garbled(&slow).0, &garbled(&slow).1),
                    "garbling {n} gates, stride {stride}"
                );
                // The evaluator's labels: the zero labels with some Δ added.
                let active: Vec<Block> = labels.iter().map(|&l| l ^ delta.select(next() & 1 == 1)).collect();
                let evaluated = |h: &Tmmo| {
                    let mut c = vec![Block::ZERO; n];
                    eval(h, stride, first, &active, &ops, &mat, &mut c);
                    c
                };
                let c = evaluated(&fast);
                assert_eq!(c, evaluated(&slow), "evaluating {n} gates, stride {stride}");
                for (k, op) in ops.iter().enumerate() {
                    let (v, b) = (op.a % 5 < 2, active[op.b as usize] != labels[op.b as usize]);
                    assert_eq!(c[k], c0[k] ^ delta.select(v && b), "gate {k} of {n}");
                }
            }
        }
    }

    /// The word-level set operations against a set of indices built one
    /// by one: ranges on and off word boundaries, removal, a range added to
    /// a set (the union) and intersection.
    #[test]
    fn set_operations_match_sets_built_index_by_index() {
        for (start, end) in [(0u32, 0u32), (2, 3), (2, 64), (0, 64), (63, 65), (2, 130), (64, 128), (5, 1000)]
        {
            let r = KnownWires::range(start, end);
            assert_eq!(r, KnownWires::from_indices(start..end).with_len(r.bits.len()), "{start}..{end}");
            for i in 0..1100 {
                assert_eq!(r.contains(i), (start..end).contains(&i), "{start}..{end} at {i}");
            }
        }
        let mut a = KnownWires::range(2, 300);
        for i in (0..300).step_by(7) {
            a.remove(i);
        }
        let b = KnownWires::range(100, 700);
        let mut u = a.clone();
        u.insert_range(100, 700);
        let n = a.intersection(&b);
        for i in 0..800 {
            let (x, y) = ((2..300).contains(&i) && i % 7 != 0, (100..700).contains(&i));
            assert_eq!((u.contains(i), n.contains(i)), (x || y, x && y), "{i}");
        }
    }

    /// The split puts the known input first, keeps batch order, and is the
    /// same on both sides (it reads only indices); a batch of half gates
    /// whose known input is already `a` is used as it is.
    #[test]
    fn partition_puts_the_known_input_first() {
        let known = KnownWires::from_indices([3, 70]);
        let ops = [
            Op { a: 1, b: 2, out: 10 },
            Op { a: 5, b: 3, out: 11 },
            Op { a: 70, b: 4, out: 12 },
            Op { a: 6, b: 7, out: 13 },
        ];
        let (mut half, mut rest) = (Vec::new(), Vec::new());
        assert_eq!(partition(&known, &ops, 0, &mut half, &mut rest), Split::Mixed);
        assert_eq!(half, vec![Op { a: 3, b: 5, out: 11 }, Op { a: 70, b: 4, out: 12 }]);
        assert_eq!(rest, vec![ops[0], ops[3]]);
        assert_eq!(partition(&KnownWires::default(), &ops, 0, &mut half, &mut rest), Split::None);
        // A batch whose lowest read is past the set's words is not looked
        // at; one below them is.
        assert_eq!(partition(&known, &ops, 128, &mut half, &mut rest), Split::None);
        assert_eq!(partition(&known, &ops, 1, &mut half, &mut rest), Split::Mixed);
        assert_eq!(partition(&known, &ops[2..3], 0, &mut half, &mut rest), Split::All);
        // A known `b` alone is swapped into place, so it is copied.
        assert_eq!(partition(&known, &ops[1..2], 0, &mut half, &mut rest), Split::Mixed);
        assert_eq!((half.as_slice(), rest.as_slice()), (&[Op { a: 3, b: 5, out: 11 }][..], &[][..]));
        assert!(known.contains(70) && !known.contains(71) && !known.contains(100_000));
    }
}
