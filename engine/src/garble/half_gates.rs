//! Half-gates garbling: Zahur, Rosulek and Evans, *Two Halves Make a Whole:
//! Reducing Data Transfer in Garbled Circuits using Half Gates*
//! (Eurocrypt 2015), with point-and-permute and free XOR.
//!
//! An AND gate `c = a ∧ b` costs two ciphertexts (32 bytes) and four hashes
//! to garble, two to evaluate. With zero labels `A₀, B₀`, offset Δ,
//! permute bits `pa = lsb(A₀)`, `pb = lsb(B₀)` and the gate's schedule
//! index `g` (tweaks `j = 2g`, `j' = 2g + 1`):
//!
//! ```text
//! garbler half:    T_G = H(A₀, j) ⊕ H(A₁, j) ⊕ pb·Δ      W_G = H(A₀, j) ⊕ pa·T_G
//! evaluator half:  T_E = H(B₀, j') ⊕ H(B₁, j') ⊕ A₀       W_E = H(B₀, j') ⊕ pb·(T_E ⊕ A₀)
//! output:          C₀ = W_G ⊕ W_E; send (T_G, T_E)
//! evaluation:      C = H(A, j) ⊕ sa·T_G ⊕ H(B, j') ⊕ sb·(T_E ⊕ A),  sa = lsb(A), sb = lsb(B)
//! ```
//!
//! `H` is the TCCR hash of [`crate::hash`] (TMMO). All hashes of a batch go
//! through the hash in chunks of [`CHUNK`] gates (4·CHUNK blocks per AES
//! call when garbling, 2·CHUNK when evaluating), with per-thread buffers: no
//! allocation. The gathered labels stay in their buffer and the hash's last
//! XOR ([`TweakableHash::hash_split`]) is done in the pass that builds the
//! tables, so each chunk is walked once after the second AES call.

use std::cell::RefCell;

use crate::block::{wipe, Block};
use crate::hash::{Tmmo, TweakableHash, FIXED_KEY};
use crate::prg::Delta;
use crate::simd::{FusedHalfGates, InPlace, ToBuffer};

use super::ops::Op;
use super::scheme::{in_place_via_buffer, GarbleKey, GarblingScheme};
use super::stream::xor_fold;

/// Gates hashed per AES call (the call covers `4 × CHUNK` blocks when
/// garbling and `2 × CHUNK` when evaluating). Tuned by measurement (see
/// `BENCHMARKS.md`).
pub(crate) const CHUNK: usize = 256;

/// Bytes sent per AND gate.
pub(crate) const TABLE_BYTES: usize = 32;

/// The half-gates scheme over a tweakable hash (TMMO by default).
///
/// [`HalfGates::new`] (TMMO under the fixed key) runs the fused VAES
/// kernels of the `simd` module when the CPU has them (on 512-bit registers
/// with AVX-512F, else on 256-bit ones), and the portable code otherwise; [`HalfGates::portable`] always runs the portable code. Both
/// produce the same bytes.
#[derive(Clone, Debug)]
pub struct HalfGates<H = Tmmo> {
    hash: H,
    fused: Option<FusedHalfGates>,
}

impl HalfGates<Tmmo> {
    /// Half-gates over TMMO with the fixed AES key, on the fused kernels if
    /// this CPU has VAES (with AVX-512F or AVX2).
    pub fn new() -> HalfGates<Tmmo> {
        HalfGates { hash: Tmmo::new(), fused: FusedHalfGates::detect(FIXED_KEY) }
    }

    /// Half-gates over TMMO with the fixed AES key, portable code only
    /// (batched through the `aes` crate): for comparison and tests.
    pub fn portable() -> HalfGates<Tmmo> {
        HalfGates { hash: Tmmo::portable(), fused: None }
    }

    /// Whether fused VAES kernels (512- or 256-bit) are in use.
    pub fn is_fused(&self) -> bool {
        self.fused.is_some()
    }
}

impl Default for HalfGates<Tmmo> {
    fn default() -> Self {
        HalfGates::new()
    }
}

impl<H: TweakableHash> HalfGates<H> {
    /// Half-gates over another hash (portable code).
    pub fn with_hash(hash: H) -> HalfGates<H> {
        HalfGates { hash, fused: None }
    }
}

/// The per-thread hash buffers (inputs, outputs and scratch). When
/// garbling they hold `A₀, A₀ ⊕ Δ, B₀, B₀ ⊕ Δ` and their hashes (π is
/// public: `π(A₀)` gives `A₀` back), so they are secrets: zeroised when the
/// thread exits. Between batches they keep the last chunk's blocks; wiping
/// them per batch would cost a pass over 48 KiB per call.
struct Buffers([Vec<Block>; 3]);

impl Drop for Buffers {
    fn drop(&mut self) {
        for b in &mut self.0 {
            wipe(b);
        }
    }
}

thread_local! {
    /// Per-thread hash buffers, grown once: no allocation and no zeroing per
    /// batch (zeroised on thread exit, see [`Buffers`]).
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

// Tweaks: half `j` (0: garbler half, 1: evaluator half) of the AND gate
// with schedule index `g` uses `2g + j` as a 128-bit block, computed in u64
// (`t0 = base << 1` below, then `t0 + m/2` or `t0 + m`; the fused kernels in
// `crate::simd` compute the same). The drivers (`Garbler::garble`,
// `Evaluator`) refuse a run unless `first_and + ands ≤ AND_INDEX_LIMIT`
// (2^62, `stream.rs`), so `g < 2^62`: the shift and the adds
// never wrap and distinct gates get distinct tweaks. (Unchecked, `base << 1`
// would silently drop bit 63: index 2^63 + g would reuse gate g's tweaks.)

impl<H: TweakableHash> GarblingScheme for HalfGates<H> {
    fn material_len(&self, ands: usize) -> usize {
        ands * TABLE_BYTES
    }

    const TWEAKS_PER_AND: u64 = 2;

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
                let tables: &mut [Block] = bytemuck::cast_slice_mut(material);
                let mut store = ToBuffer { labels, out: c0 };
                fused.garble(key.delta().as_block(), first_and, &mut store, ands, tables);
            }
            None => self.garble_portable(key.delta(), first_and, labels, ands, c0, material),
        }
    }

    fn eval_ands(&self, first_and: u64, labels: &[Block], ands: &[Op], material: &[u8], c: &mut [Block]) {
        match &self.fused {
            Some(fused) => {
                let tables: &[Block] = bytemuck::cast_slice(material);
                fused.eval(first_and, &mut ToBuffer { labels, out: c }, ands, tables);
            }
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
                self.garble_portable(key.delta(), first, labels, ops, c0, &mut material[bytes])
            });
            return xor_fold(&material[..used]);
        };
        let tables: &mut [Block] = bytemuck::cast_slice_mut(material);
        fused.garble(key.delta().as_block(), first_and, &mut InPlace(labels), ands, tables).to_u128()
    }

    fn eval_ands_in_place(&self, first_and: u64, labels: &mut [Block], ands: &[Op], material: &[u8]) -> u128 {
        let Some(fused) = &self.fused else {
            let used = in_place_via_buffer(self, first_and, labels, ands, |first, labels, ops, c, bytes| {
                self.eval_portable(first, labels, ops, &material[bytes], c)
            });
            return xor_fold(&material[..used]);
        };
        let tables: &[Block] = bytemuck::cast_slice(material);
        fused.eval(first_and, &mut InPlace(labels), ands, tables).to_u128()
    }
}

impl<H: TweakableHash> HalfGates<H> {
    /// Garbles a batch with the portable code (the `aes` crate, one hash
    /// layer at a time).
    fn garble_portable(
        &self,
        delta: &Delta,
        first_and: u64,
        labels: &[Block],
        ands: &[Op],
        c0: &mut [Block],
        material: &mut [u8],
    ) {
        let d = delta.as_block();
        let tables: &mut [Block] = bytemuck::cast_slice_mut(material);
        with_buffers(4 * CHUNK, |input, hashed, scratch| {
            let mut base = first_and;
            for ((ops, c0), tables) in
                ands.chunks(CHUNK).zip(c0.chunks_mut(CHUNK)).zip(tables.chunks_mut(2 * CHUNK))
            {
                let n = ops.len();
                let input = &mut input[..4 * n];
                for (op, h) in ops.iter().zip(input.chunks_exact_mut(4)) {
                    let (a, b) = (labels[op.a as usize], labels[op.b as usize]);
                    h[0] = a;
                    h[1] = a ^ d;
                    h[2] = b;
                    h[3] = b ^ d;
                }
                // Block m = 4k + j of gate k hashes with tweak 2(base + k) + j/2,
                // which is 2·base + m/2.
                let t0 = base << 1;
                let (hashed, scratch) = (&mut hashed[..4 * n], &mut scratch[..4 * n]);
                self.hash.hash_split(input, hashed, scratch, |m| Block::from_u64(t0 + (m >> 1) as u64));
                for ((((x, h), s), c), t) in input
                    .chunks_exact(4)
                    .zip(hashed.chunks_exact(4))
                    .zip(scratch.chunks_exact(4))
                    .zip(c0.iter_mut())
                    .zip(tables.chunks_exact_mut(2))
                {
                    let h = [h[0] ^ s[0], h[1] ^ s[1], h[2] ^ s[2], h[3] ^ s[3]];
                    let (a, b) = (x[0], x[2]);
                    let (pa, pb) = (a.lsb(), b.lsb());
                    let tg = h[0] ^ h[1] ^ d.select(pb);
                    let wg = h[0] ^ tg.select(pa);
                    let te = h[2] ^ h[3] ^ a;
                    let we = h[2] ^ (te ^ a).select(pb);
                    *c = wg ^ we;
                    t[0] = tg;
                    t[1] = te;
                }
                base += n as u64;
            }
        })
    }

    /// Evaluates a batch with the portable code.
    fn eval_portable(&self, first_and: u64, labels: &[Block], ands: &[Op], material: &[u8], c: &mut [Block]) {
        let tables: &[Block] = bytemuck::cast_slice(material);
        const ECHUNK: usize = 2 * CHUNK;
        with_buffers(2 * ECHUNK, |input, hashed, scratch| {
            let mut base = first_and;
            for ((ops, c), tables) in
                ands.chunks(ECHUNK).zip(c.chunks_mut(ECHUNK)).zip(tables.chunks(2 * ECHUNK))
            {
                let n = ops.len();
                let input = &mut input[..2 * n];
                for (op, h) in ops.iter().zip(input.chunks_exact_mut(2)) {
                    h[0] = labels[op.a as usize];
                    h[1] = labels[op.b as usize];
                }
                // Block m = 2k + j of gate k hashes with tweak 2(base + k) + j,
                // which is 2·base + m.
                let t0 = base << 1;
                let (hashed, scratch) = (&mut hashed[..2 * n], &mut scratch[..2 * n]);
                self.hash.hash_split(input, hashed, scratch, |m| Block::from_u64(t0 + m as u64));
                for ((((xy, h), s), out), t) in input
                    .chunks_exact(2)
                    .zip(hashed.chunks_exact(2))
                    .zip(scratch.chunks_exact(2))
                    .zip(c.iter_mut())
                    .zip(tables.chunks_exact(2))
                {
                    let (x, y) = (xy[0], xy[1]);
                    let wg = h[0] ^ s[0] ^ t[0].select(x.lsb());
                    let we = h[1] ^ s[1] ^ (t[1] ^ x).select(y.lsb());
                    *out = wg ^ we;
                }
                base += n as u64;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prg::{GateSeed, Prg};

    #[test]
    fn all_four_input_combinations_decode_to_and() {
        let mut prg = Prg::from_seed(Block::new(1));
        let delta = Delta::random(&mut prg);
        let seed = GateSeed::random(&mut prg);
        let key = GarbleKey::new(&delta, &seed);
        let d = delta.as_block();
        let hg = HalfGates::new();
        let n = 1000; // spans several chunks
                      // labels[2k] and labels[2k + 1] are the inputs of gate k.
        let zero: Vec<Block> = (0..2 * n).map(|_| prg.random_block()).collect();
        let ops: Vec<Op> = (0..n as u32).map(|k| Op { a: 2 * k, b: 2 * k + 1, out: 0 }).collect();
        let mut c0 = vec![Block::ZERO; n];
        let mut mat = vec![0u8; hg.material_len(n)];
        hg.garble_ands(key, 77, &zero, &ops, &mut c0, &mut mat);
        for (x, y) in [(false, false), (false, true), (true, false), (true, true)] {
            let active: Vec<Block> =
                zero.iter().enumerate().map(|(i, &l)| l ^ d.select(if i % 2 == 0 { x } else { y })).collect();
            let mut c = vec![Block::ZERO; n];
            hg.eval_ands(77, &active, &ops, &mat, &mut c);
            for k in 0..n {
                assert_eq!(c[k], c0[k] ^ d.select(x & y), "gate {k} inputs {x} {y}");
            }
        }
        // Another tweak base gives another garbling.
        let mut c0b = vec![Block::ZERO; n];
        let mut matb = vec![0u8; hg.material_len(n)];
        hg.garble_ands(key, 78, &zero, &ops, &mut c0b, &mut matb);
        assert_ne!(mat, matb);
    }

    /// At the top of the allowed AND indices (the last batch ending at
    /// `AND_INDEX_LIMIT`): the fused kernels (padding gates included) and the
    /// portable code agree, evaluation decodes, and no tweak wrapped onto
    /// the low indices' (overflow would also panic in a debug build).
    #[test]
    fn top_of_the_and_index_range() {
        use crate::garble::stream::AND_INDEX_LIMIT;
        let fused = HalfGates::new();
        let portable = HalfGates::portable();
        let mut prg = Prg::from_seed(Block::new(3));
        let delta = Delta::random(&mut prg);
        let seed = GateSeed::random(&mut prg);
        let key = GarbleKey::new(&delta, &seed);
        let d = delta.as_block();
        for n in [1usize, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 257, 600] {
            let first = AND_INDEX_LIMIT - n as u64;
            let zero: Vec<Block> = (0..2 * n).map(|_| prg.random_block()).collect();
            let ops: Vec<Op> = (0..n as u32).map(|k| Op { a: 2 * k, b: 2 * k + 1, out: 0 }).collect();
            let mut tables = Vec::new();
            for (scheme, first) in [(&fused, first), (&portable, first), (&portable, 0)] {
                let mut c0 = vec![Block::ZERO; n];
                let mut mat = vec![0u8; 32 * n];
                scheme.garble_ands(key, first, &zero, &ops, &mut c0, &mut mat);
                tables.push((c0, mat));
            }
            assert_eq!(tables[0], tables[1], "{n} gates");
            assert_ne!(tables[1].1, tables[2].1, "{n} gates");
            let (c0, mat) = &tables[0];
            let bits: Vec<bool> = (0..2 * n).map(|i| i % 3 != 1).collect();
            let active: Vec<Block> = zero.iter().zip(&bits).map(|(&l, &x)| l ^ d.select(x)).collect();
            for scheme in [&fused, &portable] {
                let mut c = vec![Block::ZERO; n];
                scheme.eval_ands(first, &active, &ops, mat, &mut c);
                let mut labels = active.clone();
                let ops_in_place: Vec<Op> =
                    (0..n as u32).map(|k| Op { a: 2 * k, b: 2 * k + 1, out: 2 * k }).collect();
                scheme.eval_ands_in_place(first, &mut labels, &ops_in_place, mat);
                for k in 0..n {
                    let expected = c0[k] ^ d.select(bits[2 * k] & bits[2 * k + 1]);
                    assert_eq!(c[k], expected, "gate {k} of {n}");
                    assert_eq!(labels[2 * k], expected, "gate {k} of {n}, in place");
                }
            }
        }
    }

    /// The fused kernels (where the CPU has them) against the portable code,
    /// for every batch length up to a few groups (group remainders, odd
    /// gates) and inputs overwritten by outputs in place.
    #[test]
    fn fused_and_portable_agree_on_every_batch_length() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            HalfGates::new().is_fused(),
            is_x86_feature_detected!("aes")
                && is_x86_feature_detected!("vaes")
                && (is_x86_feature_detected!("avx512f") || is_x86_feature_detected!("avx2"))
        );
        let kernels = FusedHalfGates::all(FIXED_KEY);
        eprintln!("testing {kernels:?} against the portable code");
        for kernel in kernels {
            fused_kernel_agrees_with_the_portable_code(HalfGates { hash: Tmmo::new(), fused: Some(kernel) });
        }
    }

    fn fused_kernel_agrees_with_the_portable_code(fused: HalfGates) {
        let portable = HalfGates::portable();
        let mut prg = Prg::from_seed(Block::new(2));
        let delta = Delta::random(&mut prg);
        let seed = GateSeed::random(&mut prg);
        let key = GarbleKey::new(&delta, &seed);
        let d = delta.as_block();
        for n in 0..41usize {
            // Gate k reads labels 2k and 2k + 1 and writes label 2k (its
            // own input: allowed, its only reader is itself).
            let zero: Vec<Block> = (0..2 * n + 2).map(|_| prg.random_block()).collect();
            let ops: Vec<Op> = (0..n as u32).map(|k| Op { a: 2 * k, b: 2 * k + 1, out: 2 * k }).collect();
            let (mut lf, mut lp) = (zero.clone(), zero.clone());
            let (mut mf, mut mp) = (vec![0u8; 32 * n], vec![0u8; 32 * n]);
            let sf = fused.garble_ands_in_place(key, 1000 + n as u64, &mut lf, &ops, &mut mf);
            let sp = portable.garble_ands_in_place(key, 1000 + n as u64, &mut lp, &ops, &mut mp);
            assert_eq!((sf, &lf, &mf), (sp, &lp, &mp), "garbling {n} gates");
            // The buffered methods (the parallel path) give the same.
            let (mut cf, mut cp) = (vec![Block::ZERO; n], vec![Block::ZERO; n]);
            let (mut bf, mut bp) = (vec![0u8; 32 * n], vec![0u8; 32 * n]);
            fused.garble_ands(key, 1000 + n as u64, &zero, &ops, &mut cf, &mut bf);
            portable.garble_ands(key, 1000 + n as u64, &zero, &ops, &mut cp, &mut bp);
            assert_eq!((&cf, &bf), (&cp, &bp), "buffered garbling {n} gates");
            assert_eq!(bf, mf);
            for (k, c) in cf.iter().enumerate() {
                assert_eq!(*c, lf[2 * k], "gate {k} of {n}");
            }
            let bits: Vec<bool> = (0..2 * n + 2).map(|i| i % 3 == 1 || i % 5 == 0).collect();
            let active: Vec<Block> = zero.iter().zip(&bits).map(|(&l, &x)| l ^ d.select(x)).collect();
            for scheme in [&fused, &portable] {
                let mut c = vec![Block::ZERO; n];
                scheme.eval_ands(1000 + n as u64, &active, &ops, &mf, &mut c);
                for k in 0..n {
                    assert_eq!(
                        c[k],
                        lf[2 * k] ^ d.select(bits[2 * k] & bits[2 * k + 1]),
                        "buffered gate {k} of {n}"
                    );
                }
                let mut labels = active.clone();
                let sum = scheme.eval_ands_in_place(1000 + n as u64, &mut labels, &ops, &mf);
                assert_eq!(sum, sf, "checksum, {n} gates");
                for k in 0..n {
                    let expected = lf[2 * k] ^ d.select(bits[2 * k] & bits[2 * k + 1]);
                    assert_eq!(labels[2 * k], expected, "gate {k} of {n}");
                }
            }
        }
    }
}
