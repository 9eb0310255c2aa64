//! The fused half-gates kernels on VAES-512 (AVX-512F, VAES): a group of
//! gates goes from the label gather through both TMMO layers and the
//! half-gates equations (Zahur, Rosulek, Evans, Eurocrypt 2015) to the output
//! label and the tables in registers; same tweaks and bytes as the portable
//! code in `garble/half_gates.rs` (the tests compare them byte for byte).

use core::arch::x86_64::*;

use zeroize::Zeroize;

use super::{broadcast_round_keys, fold, from_m512, to_m512, LOW_QWORDS};
use crate::block::Block;
use crate::garble::ops::Op;
use crate::simd::LabelStore;

/// Gates per evaluation group: 2 gates (4 hashes) per register, 8
/// registers in flight to cover the latency of `vaesenc`.
const EVAL_GROUP: usize = 16;
/// How far ahead of the group being evaluated its tables are
/// prefetched, in blocks (4 groups: 2 KiB).
const PREFETCH_BLOCKS: usize = 8 * EVAL_GROUP;
/// Gates per garbling group: 1 gate (4 hashes) per register.
const GARBLE_GROUP: usize = 8;

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
            let part = eval_group::<S, 1>(rk, t, labels, done, &[ops[done], ops[done]], &[tg, te, tg, te], 1);
            // The table counted once: the padding repeated it.
            acc = _mm512_xor_si512(acc, _mm512_xor_si512(part, to_m512([Block::ZERO, Block::ZERO, tg, te])));
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
