//! The garbler: [`Garbler`] garbles a [`Plan`] under an [`Encoder`] and
//! writes the garbled stream to any [`Write`] one window at a time;
//! [`garble_many`] garbles independent instances on all cores. The
//! garbler's half of the drivers; the evaluator's is in `evaluator.rs`.

use std::io::Write;

use rayon::prelude::*;

use crate::block::Block;

use super::error::GarbleError;
use super::gen_half::{partition, KnownWires, Split, HALF_GATE_BYTES};
use super::half_gates::HalfGates;
use super::labels::{Encoder, GarbledOutputs};
use super::ops::{Op, Window};
use super::run::{par_piece, split_batch, Run, RunCache, PAR_MIN_ANDS, STREAM_PIECE};
use super::schedule::Plan;
use super::scheme::GarblingScheme;
use super::stream::{and_range_fits, rotate_to, xor_fold, xor_fold_at, TRAILER_TAG};

/// The garbler: garbles a [`Plan`] under an [`Encoder`] into a stream.
#[derive(Clone, Debug, Default)]
pub struct Garbler<G = HalfGates> {
    scheme: G,
    parallel: bool,
    first_and: u64,
    cache: RunCache,
    /// Wires garbled as generator half gates' known inputs, if any.
    known: Option<KnownWires>,
}

impl Garbler<HalfGates> {
    /// A single-threaded half-gates garbler.
    pub fn new() -> Garbler<HalfGates> {
        Garbler {
            scheme: HalfGates::new(),
            parallel: false,
            first_and: 0,
            cache: RunCache::default(),
            known: None,
        }
    }
}

impl<G: GarblingScheme> Garbler<G> {
    /// A garbler for another scheme.
    pub fn with_scheme(scheme: G) -> Garbler<G> {
        Garbler { scheme, parallel: false, first_and: 0, cache: RunCache::default(), known: None }
    }

    /// The garbling scheme.
    pub fn scheme(&self) -> &G {
        &self.scheme
    }

    /// Numbers this run's AND gates from `first` (AND gate `g` hashes under
    /// tweaks `2g` and `2g + 1`), so that several garblings under one Δ —
    /// the instances of a batch — never reuse a tweak. The evaluator must
    /// use the same value. [`Garbler::garble`] refuses a plan whose AND
    /// gates would pass [`AND_INDEX_LIMIT`] from here
    /// ([`GarbleError::TweakRange`]).
    ///
    /// [`AND_INDEX_LIMIT`]: crate::garble::AND_INDEX_LIMIT
    pub fn first_and_index(mut self, first: u64) -> Self {
        self.first_and = first;
        self
    }

    /// Spread large AND batches over the rayon thread pool (the output is
    /// byte-for-byte the same as with one thread). The pieces' output labels
    /// are then copied back by one thread and the free gates stay on it, so
    /// this pays only with more than two cores; on two, one thread per
    /// instance ([`garble_many`]) is the way to use both (see
    /// `BENCHMARKS.md`).
    pub fn parallel(mut self, on: bool) -> Garbler<G> {
        self.parallel = on;
        self
    }

    /// Garbles every AND gate with an input in `known` as a generator half
    /// gate (`gen_half.rs`: 16 bytes, two hashes), that input's bit taken
    /// from the encoder ([`Encoder::with_known_values`]). `known` must hold
    /// only input wires of the garbler's that no gate of the plan writes,
    /// and the evaluator must be given the same set
    /// ([`Evaluator::generator_half_gates`](super::Evaluator::generator_half_gates)).
    pub fn generator_half_gates(mut self, known: KnownWires) -> Garbler<G> {
        self.known = (!known.is_empty()).then_some(known);
        self
    }

    /// Garbles `plan` and writes the garbled circuit to `sink`, one window at
    /// a time. Returns the output zero labels.
    ///
    /// A plan whose AND indices would pass [`AND_INDEX_LIMIT`] is
    /// [`GarbleError::TweakRange`], before anything is written. On an error
    /// of `sink` the run stops there (the stream is incomplete) and its
    /// label buffers are wiped.
    ///
    /// [`AND_INDEX_LIMIT`]: crate::garble::AND_INDEX_LIMIT
    pub fn garble<W: Write>(
        &self,
        plan: &Plan<'_>,
        encoder: &Encoder,
        sink: W,
    ) -> Result<GarbledOutputs, GarbleError> {
        self.check(plan, encoder.inputs.len())?;
        let mut run = self.cache.take(plan);
        run.labels[2..2 + encoder.inputs.len()].copy_from_slice(&encoder.inputs);
        self.garble_run(plan, encoder, run, sink)
    }

    /// [`Garbler::garble`], taking the encoder: if its input labels were
    /// allocated with room for the run's label file (the session's are;
    /// see `garble::input_label_room`), the run takes them over as its file
    /// in place, instead of a copy into a new one. The tables and outputs
    /// are those of [`Garbler::garble`]; the labels are wiped with the run.
    pub fn garble_taking<W: Write>(
        &self,
        plan: &Plan<'_>,
        mut encoder: Encoder,
        sink: W,
    ) -> Result<GarbledOutputs, GarbleError> {
        self.check(plan, encoder.inputs.len())?;
        match Run::from_inputs(plan, std::mem::take(&mut encoder.inputs)) {
            Ok(run) => self.garble_run(plan, &encoder, run, sink),
            Err(inputs) => {
                encoder.inputs = inputs;
                self.garble(plan, &encoder, sink)
            }
        }
    }

    /// The input count and the tweak range, before anything is written.
    fn check(&self, plan: &Plan<'_>, inputs: usize) -> Result<(), GarbleError> {
        if inputs as u64 != plan.input_bits() {
            return Err(GarbleError::InputCount { expected: plan.input_bits(), got: inputs as u64 });
        }
        // Once per run: within the limit no tweak can wrap, so the batches
        // below need no check of their own.
        let ands = plan.and_bound();
        if !and_range_fits(self.first_and, ands) {
            return Err(GarbleError::TweakRange { first_and: self.first_and, ands });
        }
        Ok(())
    }

    /// Garbles `plan` on `run`, whose label file holds the input labels.
    fn garble_run<W: Write>(
        &self,
        plan: &Plan<'_>,
        encoder: &Encoder,
        mut run: Run,
        mut sink: W,
    ) -> Result<GarbledOutputs, GarbleError> {
        let ands = plan.and_bound();
        let d = encoder.delta.as_block();
        let nw = plan.num_wires() as usize;
        run.and_index = self.first_and;
        run.labels[0] = encoder.constants[0];
        run.labels[1] = encoder.constants[1];
        run.labels[nw] = d;
        // The zero label, the last one the plan uses (the filler of
        // `Op4`'s unused inputs).
        let zero = run.used - 1;
        run.labels[zero] = Block::ZERO;
        let header = [encoder.constants[0], encoder.constants[1] ^ d];
        sink.write_all(Block::as_bytes_slice(&header))?;
        run.checksum = xor_fold(Block::as_bytes_slice(&header));

        plan.for_each_window(|w: &Window| -> Result<(), GarbleError> {
            // Each batch (or piece of `STREAM_PIECE` ANDs of a larger one)
            // is folded into the checksum while its tables are in cache; the
            // window's tables are written at once.
            let piece = STREAM_PIECE.div_ceil(G::GRANULE) * G::GRANULE;
            // Once per window, for a streaming source that yields more gates
            // than it counted: the run stops before an index passes the limit.
            if !and_range_fits(run.and_index, w.ands as u64) {
                return Err(GarbleError::TweakRange { first_and: self.first_and, ands });
            }
            // Per AND segment: material is additive within a batch (cut at
            // granules), not across batches (three-halves packs a batch's
            // last partial group of 8 gates on its own).
            let bytes = w.segments.iter().filter(|s| s.and);
            run.grow_material(bytes.map(|s| self.scheme.material_len((s.end - s.start) as usize)).sum());
            let mut pos = 0;
            for seg in &w.segments {
                if !seg.and {
                    run.free_segment(w, seg);
                    continue;
                }
                let all = &w.ops[seg.start as usize..seg.end as usize];
                // Generator half gates first (outputs to `run.c`, stored
                // after the batch's other gates have read their inputs).
                let (mut half, mut rest) =
                    (std::mem::take(&mut run.half_ops), std::mem::take(&mut run.rest_ops));
                let split = self
                    .known
                    .as_ref()
                    .map_or(Split::None, |k| partition(k, all, seg.low, &mut half, &mut rest));
                let mixed = split != Split::None;
                let (half_ops, ops): (&[Op], &[Op]) = match split {
                    Split::None => (&[], all),
                    Split::All => (all, &[]),
                    Split::Mixed => (&half, &rest),
                };
                if mixed {
                    let h = half_ops.len();
                    let len = HALF_GATE_BYTES * h;
                    run.grow_material(pos + len + self.scheme.material_len(ops.len()));
                    run.grow_c(h);
                    let mat = &mut run.material[pos..pos + len];
                    let (labels, c) = (&run.labels[..], &mut run.c[..h]);
                    let values = &encoder.known_values;
                    self.scheme.garble_half_gates(
                        &encoder.delta,
                        values,
                        run.and_index,
                        labels,
                        half_ops,
                        c,
                        mat,
                    );
                    run.checksum ^= rotate_to(xor_fold(mat), run.offset + pos as u64);
                    run.and_index += h as u64;
                    pos += len;
                }
                let n = ops.len();
                let split = !mixed && self.parallel && n >= PAR_MIN_ANDS;
                if split {
                    run.grow_c(n);
                }
                let unit = if split { n } else { piece };
                for sub in ops.chunks(unit) {
                    let len = self.scheme.material_len(sub.len());
                    if self.known.is_some() {
                        run.grow_material(pos + len);
                    }
                    let mat = &mut run.material[pos..pos + len];
                    // Where this piece's bytes sit in the stream's blocks.
                    let at = run.offset + pos as u64;
                    if !split {
                        // One thread: output labels go straight to the wires.
                        let first = run.and_index;
                        let sum =
                            self.scheme.garble_ands_in_place(encoder.key(), first, &mut run.labels, sub, mat);
                        run.checksum ^= rotate_to(sum, at);
                    } else {
                        // The whole batch (`unit == n`), outputs to `run.c`.
                        let (labels, out) = (&run.labels[..], &mut run.c[..n]);
                        let par = par_piece::<G>();
                        let par_len = self.scheme.material_len(par);
                        let mats = mat.par_chunks_mut(par_len);
                        let base = run.and_index;
                        run.checksum ^= split_batch(base, par, sub, out, mats, |first, o, c, m| {
                            self.scheme.garble_ands(encoder.key(), first, labels, o, c, m);
                            xor_fold_at(m, at + (first - base) / par as u64 * par_len as u64)
                        });
                    }
                    run.and_index += sub.len() as u64;
                    pos += len;
                }
                if split || mixed {
                    run.scatter(if mixed { half_ops } else { ops });
                }
                (run.half_ops, run.rest_ops) = (half, rest);
            }
            sink.write_all(&run.material[..pos])?;
            run.offset += pos as u64;
            run.writeback(w);
            Ok(())
        })?;

        // The end index `first_and + ands` (at most `AND_INDEX_LIMIT`, checked
        // above, so the additions never wrapped) in the low 64 bits.
        let trailer = [
            Block::new((u128::from(TRAILER_TAG) << 64) | u128::from(run.and_index)),
            Block::new(run.checksum),
        ];
        sink.write_all(Block::as_bytes_slice(&trailer))?;
        sink.flush()?;
        let zero = plan.output_wires().iter().map(|w| run.labels[w.index()]).collect();
        self.cache.give(run);
        Ok(GarbledOutputs { delta: encoder.delta.clone(), zero })
    }
}

/// Garbles one plan for many independent instances (e.g. the same circuit on
/// many inputs) on all cores, one instance per rayon task. Each instance has
/// its own encoder and sink; results are in instance order and identical to
/// garbling them one by one.
pub fn garble_many<G, W>(
    garbler: &Garbler<G>,
    plan: &Plan<'_>,
    jobs: Vec<(&Encoder, W)>,
) -> Vec<Result<GarbledOutputs, GarbleError>>
where
    G: GarblingScheme,
    W: Write + Send,
{
    jobs.into_par_iter().map(|(enc, sink)| garbler.garble(plan, enc, sink)).collect()
}
