//! The garbling-scheme interface: how a batch of AND gates is garbled and
//! evaluated. XOR and INV are free in every scheme with free XOR (Kolesnikov
//! and Schneider, ICALP 2008), so the interface is about AND gates only.
//!
//! Two schemes implement it: [`HalfGates`] (Zahur, Rosulek, Evans,
//! Eurocrypt 2015: 2κ bits per AND) and [`ThreeHalves`] (Rosulek and Roy,
//! Crypto 2021: 1.5κ + 5 bits per AND). A scheme's material per batch is
//! [`GarblingScheme::material_len`] bytes; the garbler/evaluator drivers,
//! the schedule and the stream format are the same for both.
//!
//! The garbler garbles under a [`GarbleKey`]: Δ, and the seed of the
//! per-gate randomness that three-halves needs (half-gates ignores it).
//!
//! [`HalfGates`]: super::half_gates::HalfGates
//! [`ThreeHalves`]: super::three_halves::ThreeHalves

use crate::block::{wipe, Block};
use crate::prg::{Delta, GateSeed};

use super::gen_half::{self, KnownValues};
use super::ops::Op;
use super::stream::xor_fold;
use crate::hash::TweakableHash;

/// What a batch is garbled under: the garbler's offset Δ and the seed of the
/// scheme's per-gate randomness ([`GateSeed`]), both secrets of one
/// encoding ([`Encoder`](super::Encoder) holds them).
#[derive(Clone, Copy, Debug)]
pub struct GarbleKey<'a> {
    delta: &'a Delta,
    seed: &'a GateSeed,
}

impl<'a> GarbleKey<'a> {
    /// The key made of `delta` and `seed`.
    pub fn new(delta: &'a Delta, seed: &'a GateSeed) -> GarbleKey<'a> {
        GarbleKey { delta, seed }
    }

    /// Δ.
    pub fn delta(&self) -> &'a Delta {
        self.delta
    }

    /// The seed of the per-gate randomness.
    pub fn gate_seed(&self) -> &'a GateSeed {
        self.seed
    }
}

/// A garbling scheme for AND gates under free XOR with point-and-permute.
///
/// Gates are garbled in batches (a batch is independent ANDs whose inputs
/// are all ready). Gate `k` of a batch is the `first_and + k`-th AND gate of
/// the whole circuit, which the scheme uses to derive its tweaks; so that
/// garbling a batch in pieces (e.g. on several threads) gives the same bytes
/// as in one piece, [`GarblingScheme::material_len`] must be additive over
/// pieces whose length is a multiple of [`GarblingScheme::GRANULE`]
/// (within a batch: across batches it need not be, and the drivers sum it
/// per batch).
/// Garbler-side randomness, if any, must likewise be a function of the
/// gate's index and the [`GarbleKey`]'s seed. Material need not be a
/// multiple of 16 bytes: the drivers place each piece's checksum at its
/// offset in the stream.
pub trait GarblingScheme: Send + Sync {
    /// Batches split for parallel work are cut at multiples of this many
    /// gates.
    const GRANULE: usize = 1;

    /// Bytes of garbled material for `ands` AND gates.
    fn material_len(&self, ands: usize) -> usize;

    /// Garbles a batch under `key`: gate `k` has input zero labels `labels[ands[k].a]`
    /// and `labels[ands[k].b]`; its output zero label goes to `c0[k]` (the
    /// caller stores it at `ands[k].out`) and its material to `material`
    /// (`material_len(ands.len())` bytes). Indices are in range of `labels`
    /// (the schedule guarantees it).
    fn garble_ands(
        &self,
        key: GarbleKey<'_>,
        first_and: u64,
        labels: &[Block],
        ands: &[Op],
        c0: &mut [Block],
        material: &mut [u8],
    );

    /// Evaluates a batch: active input labels at `labels[ands[k].a]`,
    /// `labels[ands[k].b]` and the material in, active output labels
    /// `c[k]` out.
    fn eval_ands(&self, first_and: u64, labels: &[Block], ands: &[Op], material: &[u8], c: &mut [Block]);

    /// [`GarblingScheme::garble_ands`] with the output zero labels stored
    /// straight to `labels[ands[k].out]`; returns the XOR of the material's
    /// 16-byte blocks (the stream checksum). The batch's gates must not read
    /// each other's outputs, and a gate may overwrite a label that a gate of
    /// the batch reads only if that reader comes no later (as the schedule
    /// guarantees). The checksum is of the material as if it started a
    /// stream (its first byte in lane 0); the driver moves it to its place. The default garbles in pieces through a small buffer;
    /// schemes override it with a fused kernel.
    fn garble_ands_in_place(
        &self,
        key: GarbleKey<'_>,
        first_and: u64,
        labels: &mut [Block],
        ands: &[Op],
        material: &mut [u8],
    ) -> u128 {
        let used = in_place_via_buffer(self, first_and, labels, ands, |first, labels, ops, c0, bytes| {
            self.garble_ands(key, first, labels, ops, c0, &mut material[bytes])
        });
        xor_fold(&material[..used])
    }

    /// The tweaks the scheme gives each AND gate (`g·TWEAKS_PER_AND + j`):
    /// a generator half gate `g` hashes under `g·TWEAKS_PER_AND + 1`, the
    /// tweak of its second input, so tweaks stay unique.
    const TWEAKS_PER_AND: u64;

    /// The scheme's hash.
    type Hash: TweakableHash;

    /// The hash the scheme garbles under (generator half gates use it too).
    fn hash(&self) -> &Self::Hash;

    /// Garbles generator half gates (`gen_half.rs`: the AND of a wire the
    /// garbler knows, `ands[k].a` with its bit in `values`, and any wire
    /// `ands[k].b`): zero output labels to `c0`, 16 bytes per gate to
    /// `material`. Gate `k` takes AND index `first_and + k`.
    #[allow(clippy::too_many_arguments)]
    fn garble_half_gates(
        &self,
        delta: &Delta,
        values: &KnownValues,
        first_and: u64,
        labels: &[Block],
        ands: &[Op],
        c0: &mut [Block],
        material: &mut [u8],
    ) {
        let d = delta.as_block();
        gen_half::garble(self.hash(), Self::TWEAKS_PER_AND, d, values, first_and, labels, ands, c0, material);
    }

    /// Evaluates generator half gates (see
    /// [`GarblingScheme::garble_half_gates`]): active output labels to `c`.
    fn eval_half_gates(
        &self,
        first_and: u64,
        labels: &[Block],
        ands: &[Op],
        material: &[u8],
        c: &mut [Block],
    ) {
        gen_half::eval(self.hash(), Self::TWEAKS_PER_AND, first_and, labels, ands, material, c);
    }

    /// [`GarblingScheme::eval_ands`] with the output labels stored straight
    /// to `labels[ands[k].out]` (same conditions as
    /// [`GarblingScheme::garble_ands_in_place`]); returns the XOR of the
    /// material's 16-byte blocks.
    fn eval_ands_in_place(&self, first_and: u64, labels: &mut [Block], ands: &[Op], material: &[u8]) -> u128 {
        let used = in_place_via_buffer(self, first_and, labels, ands, |first, labels, ops, c, bytes| {
            self.eval_ands(first, labels, ops, &material[bytes], c)
        });
        xor_fold(&material[..used])
    }
}

/// The default in-place methods: runs `batch(first_and, labels, ops,
/// outputs, material_bytes)` on pieces of `ands` through a stack buffer of
/// output labels, then stores each piece's outputs at `labels[op.out]`.
/// Returns the bytes of material the pieces used. The buffer is zeroised
/// (it held the garbler's zero labels).
pub(crate) fn in_place_via_buffer<S: GarblingScheme + ?Sized>(
    scheme: &S,
    first_and: u64,
    labels: &mut [Block],
    ands: &[Op],
    mut batch: impl FnMut(u64, &[Block], &[Op], &mut [Block], std::ops::Range<usize>),
) -> usize {
    let mut out = [Block::ZERO; IN_PLACE_PIECE];
    const { assert!(S::GRANULE <= IN_PLACE_PIECE) };
    let piece = IN_PLACE_PIECE / S::GRANULE * S::GRANULE;
    let mut pos = 0;
    let used = ands.len().min(piece);
    for (k, ops) in ands.chunks(piece).enumerate() {
        let len = scheme.material_len(ops.len());
        batch(first_and + (k * piece) as u64, labels, ops, &mut out[..ops.len()], pos..pos + len);
        for (op, &c) in ops.iter().zip(&out) {
            labels[op.out as usize] = c;
        }
        pos += len;
    }
    wipe(&mut out[..used]);
    pos
}

/// Gates per piece of the default in-place methods (a stack buffer of
/// output labels).
const IN_PLACE_PIECE: usize = 256;
