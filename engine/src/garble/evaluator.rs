//! The evaluator: [`Evaluator`] evaluates a [`Plan`] on active input labels
//! and a garbled stream read from any [`Read`] (or in place from memory),
//! checking the stream's trailer and checksum; [`evaluate_many`] evaluates
//! independent instances on all cores. It never holds Δ or a zero label.
//! The evaluator's half of the drivers; the garbler's is in `garbler.rs`.

use std::io::{self, Read};

use rayon::prelude::*;

use crate::block::{wipe, Block};

use super::error::GarbledEvalError;
use super::gen_half::{partition, KnownWires, Split, HALF_GATE_BYTES};
use super::half_gates::HalfGates;
use super::labels::ActiveLabel;
use super::ops::{Op, Window};
use super::run::{par_piece, split_batch, Run, RunCache, PAR_MIN_ANDS, STREAM_PIECE};
use super::schedule::Plan;
use super::scheme::GarblingScheme;
use super::stream::{and_range_fits, rotate_to, xor_fold, xor_fold_at, TRAILER_TAG};

/// The evaluator: evaluates a [`Plan`] on active input labels and a garbled
/// stream. It never holds Δ or a zero label.
#[derive(Clone, Debug, Default)]
pub struct Evaluator<G = HalfGates> {
    scheme: G,
    parallel: bool,
    first_and: u64,
    cache: RunCache,
    /// Wires whose AND gates are generator half gates, if any.
    known: Option<KnownWires>,
}

impl Evaluator<HalfGates> {
    /// A single-threaded half-gates evaluator.
    pub fn new() -> Evaluator<HalfGates> {
        Evaluator {
            scheme: HalfGates::new(),
            parallel: false,
            first_and: 0,
            cache: RunCache::default(),
            known: None,
        }
    }
}

/// Where the evaluator reads the garbled circuit from: a reader (the tables
/// copied to a buffer piece by piece) or memory (read in place).
trait TableReader {
    /// Fills `buf` with the next bytes of the stream.
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), GarbledEvalError>;
    /// Makes the next `len` bytes of the stream the [`TableReader::loaded`]
    /// piece.
    fn load(&mut self, len: usize) -> Result<(), GarbledEvalError>;
    /// The piece of the last [`TableReader::load`].
    fn loaded(&self) -> &[u8];
}

/// Tables read from a [`Read`] into a reused buffer.
struct CopiedTables<R> {
    reader: R,
    /// Reused across pieces; it only grows.
    buf: Vec<u8>,
    /// The loaded piece is `buf[..len]`.
    len: usize,
    /// Bytes read so far.
    offset: u64,
}

impl<R: Read> CopiedTables<R> {
    fn fill(&mut self, len: usize) -> Result<(), GarbledEvalError> {
        self.reader.read_exact(&mut self.buf[..len]).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                GarbledEvalError::Truncated { offset: self.offset, expected: len as u64 }
            } else {
                GarbledEvalError::Io(e)
            }
        })?;
        self.offset += len as u64;
        Ok(())
    }
}

impl<R: Read> TableReader for CopiedTables<R> {
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), GarbledEvalError> {
        self.load(buf.len())?;
        buf.copy_from_slice(&self.buf[..buf.len()]);
        Ok(())
    }

    fn load(&mut self, len: usize) -> Result<(), GarbledEvalError> {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        self.len = 0;
        self.fill(len)?;
        self.len = len;
        Ok(())
    }

    fn loaded(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Tables read in place from memory.
struct BorrowedTables<'a> {
    bytes: &'a [u8],
    /// The loaded piece is `bytes[start..end]`.
    start: usize,
    end: usize,
}

impl TableReader for BorrowedTables<'_> {
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), GarbledEvalError> {
        self.load(buf.len())?;
        buf.copy_from_slice(self.loaded());
        Ok(())
    }

    fn load(&mut self, len: usize) -> Result<(), GarbledEvalError> {
        let available = self.bytes.len() - self.end;
        if available < len {
            // The stream ends inside this piece: as a reader would see it.
            return Err(GarbledEvalError::Truncated { offset: self.end as u64, expected: len as u64 });
        }
        self.start = self.end;
        self.end += len;
        Ok(())
    }

    fn loaded(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }
}

impl<G: GarblingScheme> Evaluator<G> {
    /// An evaluator for another scheme.
    pub fn with_scheme(scheme: G) -> Evaluator<G> {
        Evaluator { scheme, parallel: false, first_and: 0, cache: RunCache::default(), known: None }
    }

    /// The garbling scheme.
    pub fn scheme(&self) -> &G {
        &self.scheme
    }

    /// Numbers this run's AND gates from `first` (AND gate `g` hashes under
    /// tweaks `2g` and `2g + 1`), so that several garblings under one Δ —
    /// the instances of a batch — never reuse a tweak. The evaluator must
    /// use the same value. Evaluation refuses a plan whose AND gates would
    /// pass [`AND_INDEX_LIMIT`] from here ([`GarbledEvalError::TweakRange`]).
    ///
    /// [`AND_INDEX_LIMIT`]: crate::garble::AND_INDEX_LIMIT
    pub fn first_and_index(mut self, first: u64) -> Self {
        self.first_and = first;
        self
    }

    /// Spread large AND batches over the rayon thread pool (same results as
    /// with one thread); see [`Garbler::parallel`] for when it pays.
    ///
    /// [`Garbler::parallel`]: crate::garble::Garbler::parallel
    pub fn parallel(mut self, on: bool) -> Evaluator<G> {
        self.parallel = on;
        self
    }

    /// Evaluates every AND gate with an input in `known` as a generator
    /// half gate: the same set the garbler was given
    /// ([`Garbler::generator_half_gates`](super::Garbler::generator_half_gates)).
    pub fn generator_half_gates(mut self, known: KnownWires) -> Evaluator<G> {
        self.known = (!known.is_empty()).then_some(known);
        self
    }

    /// Bytes of the next read of tables: from op `from` of the AND segment
    /// `si`, one unit of `unit` ANDs if the segment's rest is larger, else
    /// the rest and the following AND segments while they fit in `piece`
    /// ANDs (segments split for parallel work are read alone).
    fn piece_bytes(&self, w: &Window, si: usize, from: usize, unit: usize, piece: usize) -> usize {
        let mut gates = 0;
        let mut bytes = 0;
        for (j, seg) in w.segments.iter().enumerate().skip(si).filter(|(_, s)| s.and) {
            let n = (seg.end - seg.start) as usize;
            let rest = if j == si { n - from } else { n };
            if j == si && (rest > piece || unit != piece) {
                return self.scheme.material_len(rest.min(unit));
            }
            // With generator half gates a batch's bytes depend on its
            // split: each batch is read alone.
            if j > si
                && (self.known.is_some() || (self.parallel && n >= PAR_MIN_ANDS) || gates + rest > piece)
            {
                break;
            }
            gates += rest;
            bytes += self.scheme.material_len(rest);
        }
        bytes
    }

    /// Evaluates `plan` on the active labels of all input wires (in wire
    /// order), reading the garbled circuit from `source` one window at a
    /// time. Returns the active labels of the output wires.
    pub fn evaluate<R: Read>(
        &self,
        plan: &Plan<'_>,
        inputs: &[ActiveLabel],
        source: R,
    ) -> Result<Vec<ActiveLabel>, GarbledEvalError> {
        let mut run = self.cache.take(plan);
        let mut tables =
            CopiedTables { reader: source, buf: std::mem::take(&mut run.material), len: 0, offset: 0 };
        let result = self.evaluate_run(plan, Some(inputs), &mut run, &mut tables);
        run.material = tables.buf;
        self.finish_run(run, result)
    }

    /// [`Evaluator::evaluate`], taking the input labels: if they were
    /// allocated with room for the run's label file (the session's are;
    /// see `garble::input_label_room`), the run takes them over as its file
    /// in place, instead of a copy into a new one. The outputs are those of
    /// [`Evaluator::evaluate`]; the labels are wiped with the run.
    pub fn evaluate_taking<R: Read>(
        &self,
        plan: &Plan<'_>,
        inputs: Vec<ActiveLabel>,
        source: R,
    ) -> Result<Vec<ActiveLabel>, GarbledEvalError> {
        match Run::from_inputs(plan, bytemuck::allocation::cast_vec(inputs)) {
            Ok(mut run) => {
                let mut tables = CopiedTables { reader: source, buf: Vec::new(), len: 0, offset: 0 };
                let result = self.evaluate_run(plan, None, &mut run, &mut tables);
                run.material = tables.buf;
                self.finish_run(run, result)
            }
            Err(mut inputs) => {
                let result = self.evaluate(plan, bytemuck::cast_slice(&inputs), source);
                wipe(&mut inputs);
                result
            }
        }
    }

    /// [`Evaluator::evaluate`] on a garbled circuit already in memory (a
    /// received buffer, a memory-mapped file): the tables are read where
    /// they are, not copied. Bytes after the trailer are ignored.
    pub fn evaluate_slice(
        &self,
        plan: &Plan<'_>,
        inputs: &[ActiveLabel],
        stream: &[u8],
    ) -> Result<Vec<ActiveLabel>, GarbledEvalError> {
        let mut run = self.cache.take(plan);
        let mut tables = BorrowedTables { bytes: stream, start: 0, end: 0 };
        let result = self.evaluate_run(plan, Some(inputs), &mut run, &mut tables);
        self.finish_run(run, result)
    }

    /// Returns the run's buffers to the cache (on success) and the outputs.
    fn finish_run(
        &self,
        run: Run,
        result: Result<Vec<ActiveLabel>, GarbledEvalError>,
    ) -> Result<Vec<ActiveLabel>, GarbledEvalError> {
        if result.is_ok() {
            self.cache.give(run);
        }
        result
    }

    /// Evaluates `plan` on `run`, with `inputs` copied into its label file
    /// (`None`: they are already there, see [`Run::from_inputs`]).
    fn evaluate_run<T: TableReader>(
        &self,
        plan: &Plan<'_>,
        inputs: Option<&[ActiveLabel]>,
        run: &mut Run,
        source: &mut T,
    ) -> Result<Vec<ActiveLabel>, GarbledEvalError> {
        if let Some(inputs) = inputs.filter(|i| i.len() as u64 != plan.input_bits()) {
            return Err(GarbledEvalError::InputCount {
                expected: plan.input_bits(),
                got: inputs.len() as u64,
            });
        }
        // Once per run, before anything is read (as the garbler checks).
        let ands = plan.and_bound();
        if !and_range_fits(self.first_and, ands) {
            return Err(GarbledEvalError::TweakRange { first_and: self.first_and, ands });
        }
        run.and_index = self.first_and;
        // The zero label, the last one the plan uses (the filler of
        // `Op4`'s unused inputs).
        let zero = run.used - 1;
        run.labels[zero] = Block::ZERO;
        let mut header = [0u8; 32];
        source.read_exact(&mut header)?;
        let constants = Block::try_from_bytes_slice(&header).ok_or(GarbledEvalError::Corrupt)?;
        run.labels[..2].copy_from_slice(constants);
        run.checksum = xor_fold(&header);
        for (l, i) in run.labels[2..].iter_mut().zip(inputs.unwrap_or_default()) {
            *l = i.0;
        }

        plan.for_each_window(|w: &Window| -> Result<(), GarbledEvalError> {
            // Tables are read about `STREAM_PIECE` ANDs at a time (whole
            // batches, or pieces of a larger batch), folded into the
            // checksum and evaluated while still in cache.
            let piece = STREAM_PIECE.div_ceil(G::GRANULE) * G::GRANULE;
            if !and_range_fits(run.and_index, w.ands as u64) {
                return Err(GarbledEvalError::TweakRange { first_and: self.first_and, ands });
            }
            let (mut pos, mut loaded) = (0, 0);
            for (si, seg) in w.segments.iter().enumerate() {
                if !seg.and {
                    run.free_segment(w, seg);
                    continue;
                }
                let ops = &w.ops[seg.start as usize..seg.end as usize];
                let (mut half, mut rest) =
                    (std::mem::take(&mut run.half_ops), std::mem::take(&mut run.rest_ops));
                let split = self
                    .known
                    .as_ref()
                    .map_or(Split::None, |k| partition(k, ops, seg.low, &mut half, &mut rest));
                if split != Split::None {
                    // Every earlier batch was read alone (`piece_bytes`).
                    debug_assert_eq!(pos, loaded);
                    let (h, r) = if split == Split::All { (ops, &[][..]) } else { (&half[..], &rest[..]) };
                    let r = self.half_gate_batch(run, source, h, r, piece);
                    (run.half_ops, run.rest_ops) = (half, rest);
                    r?;
                    (pos, loaded) = (0, 0);
                    continue;
                }
                (run.half_ops, run.rest_ops) = (half, rest);
                let n = ops.len();
                let split = self.parallel && n >= PAR_MIN_ANDS;
                if split {
                    run.grow_c(n);
                }
                let unit = if split { n } else { piece };
                for (k, sub) in ops.chunks(unit).enumerate() {
                    let len = self.scheme.material_len(sub.len());
                    if pos == loaded {
                        loaded = self.piece_bytes(w, si, k * unit, unit, piece);
                        source.load(loaded)?;
                        pos = 0;
                    }
                    let mat = source.loaded().get(pos..pos + len).ok_or(GarbledEvalError::Corrupt)?;
                    // Where this piece's bytes sit in the stream's blocks.
                    let at = run.offset;
                    run.offset += len as u64;
                    if !split {
                        // One thread: output labels go straight to the wires,
                        // the checksum is folded as the tables are read.
                        let first = run.and_index;
                        let sum = self.scheme.eval_ands_in_place(first, &mut run.labels, sub, mat);
                        run.checksum ^= rotate_to(sum, at);
                    } else {
                        // The whole batch (`unit == n`), outputs to `run.c`.
                        let (labels, out) = (&run.labels[..], &mut run.c[..n]);
                        let par = par_piece::<G>();
                        let par_len = self.scheme.material_len(par);
                        let mats = mat.par_chunks(par_len);
                        let base = run.and_index;
                        run.checksum ^= split_batch(base, par, sub, out, mats, |first, o, c, m| {
                            self.scheme.eval_ands(first, labels, o, m, c);
                            xor_fold_at(m, at + (first - base) / par as u64 * par_len as u64)
                        });
                    }
                    run.and_index += sub.len() as u64;
                    pos += len;
                }
                if split {
                    run.scatter(ops);
                }
            }
            run.writeback(w);
            Ok(())
        })?;

        let mut trailer = [0u8; 32];
        source.read_exact(&mut trailer)?;
        let tag = u128::from_le_bytes(trailer[..16].try_into().unwrap_or([0; 16]));
        let expected = (u128::from(TRAILER_TAG) << 64) | u128::from(run.and_index);
        if tag != expected {
            return Err(GarbledEvalError::BadTrailer { expected_ands: run.and_index, trailer: tag });
        }
        let sum = u128::from_le_bytes(trailer[16..].try_into().unwrap_or([0; 16]));
        if sum != run.checksum {
            return Err(GarbledEvalError::Corrupt);
        }
        Ok(plan.output_wires().iter().map(|w| ActiveLabel(run.labels[w.index()])).collect())
    }
}

impl<G: GarblingScheme> Evaluator<G> {
    /// Evaluates an AND batch split into generator half gates `half` and
    /// the other gates `rest` (`gen_half::partition`): the half gates'
    /// tables (16 bytes each, read first) into `run.c`, then the rest in
    /// place, `piece` at a time, then the half gates' outputs stored (after
    /// the rest has read its inputs, as the batch's order requires).
    fn half_gate_batch<T: TableReader>(
        &self,
        run: &mut Run,
        source: &mut T,
        half: &[Op],
        rest: &[Op],
        piece: usize,
    ) -> Result<(), GarbledEvalError> {
        let h = half.len();
        let len = HALF_GATE_BYTES * h;
        source.load(len)?;
        let mat = source.loaded().get(..len).ok_or(GarbledEvalError::Corrupt)?;
        run.grow_c(h);
        self.scheme.eval_half_gates(run.and_index, &run.labels, half, mat, &mut run.c[..h]);
        run.checksum ^= rotate_to(xor_fold(mat), run.offset);
        run.offset += len as u64;
        run.and_index += h as u64;
        for sub in rest.chunks(piece) {
            let len = self.scheme.material_len(sub.len());
            source.load(len)?;
            let mat = source.loaded().get(..len).ok_or(GarbledEvalError::Corrupt)?;
            let sum = self.scheme.eval_ands_in_place(run.and_index, &mut run.labels, sub, mat);
            run.checksum ^= rotate_to(sum, run.offset);
            run.offset += len as u64;
            run.and_index += sub.len() as u64;
        }
        run.scatter(half);
        Ok(())
    }
}

/// Evaluates many independent instances of one plan on all cores, one
/// instance per rayon task: `(input labels, garbled stream)` each.
pub fn evaluate_many<G, R>(
    evaluator: &Evaluator<G>,
    plan: &Plan<'_>,
    jobs: Vec<(&[ActiveLabel], R)>,
) -> Vec<Result<Vec<ActiveLabel>, GarbledEvalError>>
where
    G: GarblingScheme,
    R: Read + Send,
{
    jobs.into_par_iter().map(|(inputs, source)| evaluator.evaluate(plan, inputs, source)).collect()
}
