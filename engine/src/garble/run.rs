//! What the garbler and the evaluator share to execute a plan: a run's
//! buffers ([`Run`]: the label file, the split-batch outputs, the tables)
//! kept between runs by a [`RunCache`] and wiped on drop, the loop over free
//! gates (labels addressed by byte offset in a fixed-size label file), and
//! the cutting of AND batches into pieces for the stream and for threads.
//! The two drivers differ only in what they do with each AND batch.

use rayon::prelude::*;

use crate::block::{wipe, Block};

use super::ops::{Op, Op4, Segment, Window};
use super::schedule::Plan;
use super::scheme::GarblingScheme;

/// AND batches at least this long are split over the rayon pool when
/// garbling or evaluating in parallel.
pub(super) const PAR_MIN_ANDS: usize = 2048;
/// Piece of an AND batch given to one rayon task.
const PAR_PIECE: usize = 1024;
/// ANDs whose tables are garbled and written, or read and evaluated, at a
/// time: the tables stay in L1/L2 between the checksum and the hashing.
pub(super) const STREAM_PIECE: usize = 512;

/// Buffers of a run, reused across windows.
///
/// A garbler's run holds secrets: its label file holds zero labels and Δ
/// (at index `num_wires`), and `c` the zero labels of split AND batches.
/// Both are zeroised when the run is dropped (its [`Drop`]), whatever the
/// path: a finished run replaced in or evicted from the [`RunCache`], an
/// early return on a sink or stream error, a panic unwinding. `c` never
/// reallocates with its contents ([`Run::grow_c`]), so no copy of a label is
/// left in freed memory; `labels` is never resized. `material` holds only
/// garbled tables (what the stream carries) and is not wiped.
pub(super) struct Run {
    /// The label file: `used` labels (see [`Run::label_len`]), in a buffer
    /// of the next size in [`FILE_LABELS`] (or exactly `used` past them).
    /// Only `labels[..used]` is ever written.
    pub(super) labels: Vec<Block>,
    pub(super) used: usize,
    /// Output labels of a batch split over threads, before [`Run::scatter`].
    pub(super) c: Vec<Block>,
    pub(super) material: Vec<u8>,
    pub(super) and_index: u64,
    pub(super) checksum: u128,
    /// Bytes of tables streamed so far (where the next piece's 16-byte
    /// blocks start, see [`xor_fold_at`](super::stream::xor_fold_at)).
    pub(super) offset: u64,
    /// An AND batch split into generator half gates and the rest
    /// (`gen_half::partition`; label indices only, nothing secret).
    pub(super) half_ops: Vec<Op>,
    pub(super) rest_ops: Vec<Op>,
}

/// Label buffers kept from one run to the next by a garbler or evaluator:
/// a batch of a small circuit would otherwise allocate (and fault in) a
/// window's worth of labels per run. A run it drops (replaced, evicted,
/// or with the cache) is zeroised by [`Run`]'s [`Drop`].
#[derive(Default)]
pub(super) struct RunCache(std::sync::Mutex<Option<Run>>);

impl Clone for RunCache {
    fn clone(&self) -> Self {
        RunCache::default()
    }
}

impl std::fmt::Debug for RunCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunCache")
    }
}

impl RunCache {
    /// A cleared run for `plan`: the cached one if it fits and is free.
    pub(super) fn take(&self, plan: &Plan<'_>) -> Run {
        let cached = self.0.try_lock().ok().and_then(|mut slot| slot.take());
        match cached {
            // A cached run of another size is dropped here (and wiped).
            Some(mut run) if run.used == Run::label_len(plan) => {
                // Wire labels (and the Δ slot) start cleared as in a new run;
                // the window's slots past them are written before they are read.
                let wires = plan.num_wires() as usize + 1;
                run.labels[..wires].fill(Block::ZERO);
                run.and_index = 0;
                run.checksum = 0;
                run.offset = 0;
                run
            }
            _ => Run::new(plan),
        }
    }

    /// Keeps `run` for the next call. If the slot is busy, `run` is
    /// dropped; a run already in the slot (another thread's) is replaced
    /// and dropped. Dropped runs are wiped, outside the lock.
    pub(super) fn give(&self, run: Run) {
        let _dropped = match self.0.try_lock() {
            Ok(mut slot) => slot.replace(run),
            Err(_) => Some(run),
        };
    }
}

impl Drop for Run {
    /// Zeroises every buffer that held labels: `labels[..used]` (the rest
    /// was never written) and all of `c`'s allocation.
    fn drop(&mut self) {
        self.wipe();
    }
}

impl Run {
    /// Wires, Δ (garbler) or zero (evaluator), a private slot per window
    /// gate, then the zero label (see [`Op`]).
    fn label_len(plan: &Plan<'_>) -> usize {
        plan.num_wires() as usize + 2 + plan.window_gates()
    }

    /// The length of the buffer holding `used` labels.
    fn file_len(used: usize) -> usize {
        FILE_LABELS.into_iter().find(|&n| n >= used).unwrap_or(used)
    }

    fn new(plan: &Plan<'_>) -> Run {
        let used = Run::label_len(plan);
        // Zeroed pages from the allocator: a run only touches `used`.
        Run::with_file(bytemuck::zeroed_vec(Run::file_len(used)), used)
    }

    /// A fresh run on the label file `labels`, of which it uses `used`.
    fn with_file(labels: Vec<Block>, used: usize) -> Run {
        Run {
            labels,
            used,
            c: Vec::new(),
            material: Vec::new(),
            and_index: 0,
            checksum: 0,
            offset: 0,
            half_ops: Vec::new(),
            rest_ops: Vec::new(),
        }
    }

    /// A run whose label file is `inputs` (the labels of `plan`'s input
    /// wires, in order) grown in place: the inputs move up past the two
    /// constant slots, and the file is completed with zeros. Large inputs
    /// are then never copied to a second buffer (nor its fresh pages
    /// faulted in: 206 MB per side on the 100,000-record model run). `Err`
    /// gives `inputs` back, untouched, if their buffer has less room than
    /// the file or their count is not the plan's.
    pub(super) fn from_inputs(plan: &Plan<'_>, mut inputs: Vec<Block>) -> Result<Run, Vec<Block>> {
        let used = Run::label_len(plan);
        let file = Run::file_len(used);
        let n = inputs.len();
        if inputs.capacity() < file || n as u64 != plan.input_bits() {
            return Err(inputs);
        }
        // Within the capacity: no reallocation, so no copy of a label is
        // left in freed memory.
        inputs.resize(n + 2, Block::ZERO);
        inputs.copy_within(..n, 2);
        inputs[..2].fill(Block::ZERO);
        inputs.resize(file, Block::ZERO);
        Ok(Run::with_file(inputs, used))
    }

    /// Zeroises the labels used (the rest of the buffer was never written)
    /// and the split-batch outputs `c` (its whole allocation).
    fn wipe(&mut self) {
        let used = self.used.min(self.labels.len());
        wipe(&mut self.labels[..used]);
        let c_all = self.c.capacity();
        self.c.resize(c_all, Block::ZERO);
        wipe(&mut self.c);
    }

    /// Makes `c` at least `n` labels long. A larger buffer is a new zeroed
    /// allocation, and the old one is wiped before it is freed (a `resize`
    /// would copy its labels and free the old buffer as it is).
    pub(super) fn grow_c(&mut self, n: usize) {
        if self.c.len() < n {
            let mut old = std::mem::replace(&mut self.c, vec![Block::ZERO; n]);
            wipe(&mut old);
        }
    }

    /// Makes `material` at least `len` bytes long (it only grows: every
    /// byte used is written before it is read).
    pub(super) fn grow_material(&mut self, len: usize) {
        if self.material.len() < len {
            self.material.resize(len, 0);
        }
    }

    /// Writes the AND outputs `c` to their labels.
    pub(super) fn scatter(&mut self, ops: &[Op]) {
        for (op, &c) in ops.iter().zip(&self.c) {
            self.labels[op.out as usize] = c;
        }
    }

    /// Runs a segment of free gates (XOR, and INV as XOR with the label at
    /// index `num_wires`: Δ for the garbler, zero for the evaluator). Free
    /// ops address labels by byte offset; when the plan's labels fit one of
    /// the fixed file sizes ([`FILE_LABELS`]) the offsets are masked into
    /// it, which costs no bounds check, else every access is checked.
    pub(super) fn free_segment(&mut self, w: &Window, seg: &Segment) {
        let range = seg.start as usize..seg.end as usize;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.labels[..]);
        macro_rules! fixed {
            ($($labels:expr),*) => {
                match bytes.len() {
                    $(n if n == 16 * $labels => {
                        let file = <&mut [u8; 16 * $labels]>::try_from(bytes).expect("the file's size");
                        run_free_segment(&mut FixedFile(file), w, seg, range)
                    })*
                    _ => run_free_segment(&mut CheckedFile(bytes), w, seg, range),
                }
            };
        }
        fixed!(1 << 12, 1 << 14, 1 << 16, 1 << 17, 1 << 18, 1 << 20)
    }

    pub(super) fn writeback(&mut self, w: &Window) {
        for &(wire, slot) in &w.writeback {
            self.labels[wire as usize] = self.labels[slot as usize];
        }
    }
}

/// Gates per rayon task when a batch is split: `PAR_PIECE` rounded up to
/// the scheme's granule.
pub(super) fn par_piece<G: GarblingScheme>() -> usize {
    PAR_PIECE.div_ceil(G::GRANULE) * G::GRANULE
}

/// Runs `piece(first_and, ops, outputs, material)` on the pieces of a batch
/// (`par` gates each, `material` chunked to match) over the rayon pool;
/// returns the XOR of what the pieces return (their checksums).
pub(super) fn split_batch<M: Send>(
    first_and: u64,
    par: usize,
    ops: &[Op],
    out: &mut [Block],
    material: impl IndexedParallelIterator<Item = M>,
    piece: impl Fn(u64, &[Op], &mut [Block], M) -> u128 + Sync + Send,
) -> u128 {
    ops.par_chunks(par)
        .zip(out.par_chunks_mut(par))
        .zip(material)
        .enumerate()
        .map(|(i, ((o, c), m))| piece(first_and + (i * par) as u64, o, c, m))
        .reduce(|| 0, |x, y| x ^ y)
}

/// The room (in labels) to allocate for `plan`'s input labels: enough for
/// a run to take the buffer over as its label file
/// ([`Garbler::garble_taking`], [`Evaluator::evaluate_taking`]) when the
/// inputs fill at least half of that file; otherwise just the inputs, and
/// the run copies them into a file of its own, whose pages it touches only
/// as it uses them (taking a buffer over zero-fills the whole file at once,
/// which costs more than copying a few inputs: the chained AES has 256 input
/// bits and a file of 2^20 labels).
///
/// [`Garbler::garble_taking`]: super::Garbler::garble_taking
/// [`Evaluator::evaluate_taking`]: super::Evaluator::evaluate_taking
pub(crate) fn input_label_room(plan: &Plan<'_>) -> usize {
    let inputs = usize::try_from(plan.input_bits()).unwrap_or(usize::MAX);
    let file = Run::file_len(Run::label_len(plan));
    if inputs.saturating_mul(2) >= file {
        file
    } else {
        inputs
    }
}

/// Label file sizes (in labels) addressed without bounds checks: a run's
/// labels go in the smallest that holds them (see `Run::free_segment`).
const FILE_LABELS: [usize; 6] = [1 << 12, 1 << 14, 1 << 16, 1 << 17, 1 << 18, 1 << 20];

/// Labels addressed by byte offset.
trait LabelFile {
    fn get(&self, off: u32) -> Block;
    fn set(&mut self, off: u32, v: Block);
}

/// A file of `BYTES / 16` labels: offsets masked into it (a no-op on the
/// offsets a plan emits, which are all below `16 × used`), so no bounds
/// checks.
struct FixedFile<'a, const BYTES: usize>(&'a mut [u8; BYTES]);

impl<const BYTES: usize> FixedFile<'_, BYTES> {
    const MASK: u32 = (BYTES - 16) as u32;
}

impl<const BYTES: usize> LabelFile for FixedFile<'_, BYTES> {
    #[inline(always)]
    fn get(&self, off: u32) -> Block {
        let o = (off & Self::MASK) as usize;
        *bytemuck::from_bytes(&self.0[o..o + 16])
    }
    #[inline(always)]
    fn set(&mut self, off: u32, v: Block) {
        let o = (off & Self::MASK) as usize;
        self.0[o..o + 16].copy_from_slice(v.as_bytes());
    }
}

/// Any other size: every access bounds-checked.
struct CheckedFile<'a>(&'a mut [u8]);

impl LabelFile for CheckedFile<'_> {
    #[inline(always)]
    fn get(&self, off: u32) -> Block {
        let o = off as usize;
        *bytemuck::from_bytes(&self.0[o..o + 16])
    }
    #[inline(always)]
    fn set(&mut self, off: u32, v: Block) {
        let o = off as usize;
        self.0[o..o + 16].copy_from_slice(v.as_bytes());
    }
}

fn run_free_segment<F: LabelFile>(file: &mut F, w: &Window, seg: &Segment, range: std::ops::Range<usize>) {
    if seg.wide {
        free_gates4(file, &w.ops4[range]);
    } else {
        free_gates(file, &w.free[range]);
    }
}

/// Free ops of two inputs, in order (an op may read the one before it),
/// unrolled by four.
fn free_gates<F: LabelFile>(file: &mut F, ops: &[Op]) {
    let mut quads = ops.chunks_exact(4);
    for q in &mut quads {
        for op in q {
            file.set(op.out, file.get(op.a) ^ file.get(op.b));
        }
    }
    for op in quads.remainder() {
        file.set(op.out, file.get(op.a) ^ file.get(op.b));
    }
}

/// Free ops of up to four inputs (folded XOR/INV chains).
fn free_gates4<F: LabelFile>(file: &mut F, ops: &[Op4]) {
    for op in ops {
        let [a, b, c, d] = op.ins;
        file.set(op.out, file.get(a) ^ file.get(b) ^ file.get(c) ^ file.get(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::garble::{ActiveLabel, Encoder, Evaluator, Garbler, ThreeHalves};
    use crate::prg::Prg;
    use garblet_circuits::{Party, WireId};
    use proptest::prelude::*;

    /// `inputs` in a buffer with room for `room` labels.
    fn with_room<T: Copy>(inputs: &[T], room: usize) -> Vec<T> {
        let mut v = Vec::with_capacity(room.max(inputs.len()));
        v.extend_from_slice(inputs);
        v
    }

    /// With room for the file, a run takes the input labels' buffer itself
    /// (the same allocation: nothing copied, nothing left unwiped), inputs
    /// after the two constant slots and zeros elsewhere; without room, or
    /// with the wrong count, the labels come back untouched.
    #[test]
    fn a_run_takes_input_labels_over_only_with_room_for_its_file() {
        let c = garblet_circuits::Circuit::new(
            9,
            vec![garblet_circuits::InputSpec::new("x", Party::Garbler, 5)],
            vec![],
            vec![garblet_circuits::Gate::and(WireId::new(2), WireId::new(3), WireId::new(7))],
        )
        .unwrap();
        let plan = Plan::compile(&c).unwrap();
        let inputs: Vec<Block> = (1..=5).map(Block::new).collect();
        let roomy = with_room(&inputs, Run::file_len(Run::label_len(&plan)));
        let at = roomy.as_ptr();
        let run = Run::from_inputs(&plan, roomy).expect("room for the file");
        assert_eq!(run.labels.as_ptr(), at);
        assert_eq!(run.labels.len(), Run::file_len(Run::label_len(&plan)));
        assert_eq!(&run.labels[2..7], &inputs[..]);
        assert!(run.labels[..2].iter().chain(&run.labels[7..]).all(|&l| l == Block::ZERO));
        let tight = with_room(&inputs, 5);
        let at = tight.as_ptr();
        let back = Run::from_inputs(&plan, tight).err().expect("no room");
        assert_eq!((back.as_ptr(), &back[..]), (at, &inputs[..]));
        let short = with_room(&inputs[..4], Run::file_len(Run::label_len(&plan)));
        assert_eq!(Run::from_inputs(&plan, short).err().expect("wrong count"), inputs[..4].to_vec());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// A run that takes its input labels over as its label file (the
        /// session's way, `garble_taking` / `evaluate_taking`) garbles the
        /// same bytes and evaluates to the same outputs as a run that copies
        /// them from a borrowed encoder; without the room, both fall back to
        /// the copy, with the same results. Under both schemes, on renamed
        /// and compiled plans (any input layout of `ssa_circuit`).
        #[test]
        fn runs_that_take_their_input_labels_match_runs_that_copy_them(
            c in garblet_testkit::random::ssa_circuit(),
            seed in any::<u64>(),
            three_halves in any::<bool>(),
            renamed in any::<bool>(),
            room in any::<bool>(),
        ) {
            let plan = if renamed { Plan::renamed(c.clone()).unwrap() } else { Plan::compile(&c).unwrap() };
            let n = c.input_bits() as usize;
            let encoder = |seed: u64| Encoder::random(n, &mut Prg::from_seed(Block::new(u128::from(seed))));
            // The same Δ, constants, gate seed and input labels twice.
            let (copied_enc, mut taken_enc) = (encoder(seed), encoder(seed));
            let room = if room { Run::file_len(Run::label_len(&plan)) } else { n };
            taken_enc.inputs = with_room(&taken_enc.inputs, room);
            let (mut copied, mut taken) = (Vec::new(), Vec::new());
            let (copied_out, taken_out) = if three_halves {
                let g = Garbler::with_scheme(ThreeHalves::new());
                (g.garble(&plan, &copied_enc, &mut copied).unwrap(), g.garble_taking(&plan, taken_enc, &mut taken).unwrap())
            } else {
                let g = Garbler::new();
                (g.garble(&plan, &copied_enc, &mut copied).unwrap(), g.garble_taking(&plan, taken_enc, &mut taken).unwrap())
            };
            prop_assert_eq!(&copied, &taken);
            let bits: Vec<bool> = (0..n).map(|i| (seed >> (i % 64)) & 1 == 1).collect();
            let active: Vec<ActiveLabel> = copied_enc.encode_bits(0, &bits);
            let (by_copy, by_taking) = if three_halves {
                let e = Evaluator::with_scheme(ThreeHalves::new());
                (e.evaluate(&plan, &active, &copied[..]).unwrap(), e.evaluate_taking(&plan, with_room(&active, room), &copied[..]).unwrap())
            } else {
                let e = Evaluator::new();
                (e.evaluate(&plan, &active, &copied[..]).unwrap(), e.evaluate_taking(&plan, with_room(&active, room), &copied[..]).unwrap())
            };
            prop_assert_eq!(&by_copy, &by_taking);
            prop_assert_eq!(copied_out.decoder().decode(&by_taking).unwrap(), crate::garble::eval_plain(&c, &bits).unwrap());
            prop_assert_eq!(taken_out.decoder().bits().to_vec(), copied_out.decoder().bits().to_vec());
        }
    }

    /// What `Run`'s `Drop` wipes: every label written and all of `c`'s
    /// allocation, past its length too.
    #[test]
    fn run_wipe_covers_the_label_file_and_the_scatter_buffer() {
        let c = garblet_circuits::Circuit::new(
            6,
            vec![garblet_circuits::InputSpec::new("x", Party::Garbler, 2)],
            vec![],
            vec![],
        )
        .unwrap();
        let plan = Plan::compile(&c).unwrap();
        let mut run = Run::new(&plan);
        let secret = Block::new(0x5ec2e7_5ec2e7);
        let used = run.used;
        run.labels[..used].fill(secret);
        run.grow_c(3);
        run.c.fill(secret);
        run.c.truncate(1); // the wipe covers the whole allocation
        run.wipe();
        assert!(run.labels.iter().all(|&l| l == Block::ZERO));
        assert!(run.c.len() >= 3 && run.c.iter().all(|&l| l == Block::ZERO));
        // A grown `c` starts zeroed (the old buffer is wiped before it is freed).
        run.c.fill(secret);
        run.grow_c(run.c.len() + 5);
        assert!(run.c.iter().all(|&l| l == Block::ZERO));
        // Odd lengths and offsets (1-aligned blocks, 8-byte words).
        for n in 0..9 {
            let mut v = vec![secret; n + 1];
            wipe(&mut v[1..]);
            assert_eq!(v[0], secret);
            assert!(v[1..].iter().all(|&l| l == Block::ZERO));
        }
    }
}
