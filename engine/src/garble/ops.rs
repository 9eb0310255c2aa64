//! The plan IR: what a compiled [`Plan`](crate::garble::Plan) hands to a
//! run. [`Op`] (one gate as label indices, the unit the
//! [`GarblingScheme`](crate::garble::GarblingScheme) batches take) and
//! [`Op4`] (a folded XOR/INV chain), grouped into `Segment`s of one sort and
//! `Window`s of consecutive gates. Plain data with no dependencies, so that
//! the schedule that produces it, the schemes and kernels that consume it
//! and the drivers that run it all depend on it and not on each other.

/// One scheduled gate, as indices into the label array of a run. Index `i <
/// num_wires` is wire `i`; index `num_wires` holds Δ for the garbler and the
/// zero block for the evaluator (an INV gate is an XOR with it); index
/// `num_wires + 1 + p` is the private slot of the gate executed at position
/// `p` of the window, used when the gate's wire cannot be written in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// First operand's label index.
    pub a: u32,
    /// Second operand's label index.
    pub b: u32,
    /// Label index written.
    pub out: u32,
}

/// A free op with up to four inputs: `out ← in[0] ⊕ in[1] ⊕ in[2] ⊕ in[3]`
/// (unused inputs are the zero label at index `num_wires + 1 +
/// window_gates`). Chains of XOR/INV whose intermediate values are read
/// once are folded into one such op, so the intermediate labels are never
/// stored or loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Op4 {
    /// Label indices XORed together.
    pub ins: [u32; 4],
    /// Label index written.
    pub out: u32,
}

/// A run of consecutive ops of one sort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// AND batch (true, the range is in `Window::ops`) or free gates
    /// (false, the range is in `Window::free`).
    pub(crate) and: bool,
    /// Free gates with up to four inputs: the range is in `Window::ops4`.
    pub(crate) wide: bool,
    /// AND batches: the lowest label index an op of the batch reads
    /// ([`Window::mark_lowest_reads`]), so that a run sees at once that no
    /// gate reads a garbler input it could garble as a generator half gate
    /// (`gen_half::partition`); 0 where not computed.
    pub(crate) low: u32,
}

/// A compiled window.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    /// AND gates (label indices).
    pub(crate) ops: Vec<Op>,
    pub(crate) segments: Vec<Segment>,
    /// Free gates with two inputs, as *byte offsets* of labels (index ×
    /// 16; see `schedule::window::split_free_ops`).
    pub(crate) free: Vec<Op>,
    /// Free gates with three or four inputs (see [`Op4`]), as byte offsets.
    pub(crate) ops4: Vec<Op4>,
    /// `(wire, slot)` copies applied at the end of the window, for wires
    /// whose last writer in the window wrote a private slot.
    pub(crate) writeback: Vec<(u32, u32)>,
    pub(crate) ands: usize,
}

impl Window {
    /// Sets each AND batch's [`Segment::low`].
    pub(crate) fn mark_lowest_reads(&mut self) {
        for seg in self.segments.iter_mut().filter(|s| s.and) {
            let ops = &self.ops[seg.start as usize..seg.end as usize];
            seg.low = ops.iter().map(|op| op.a.min(op.b)).min().unwrap_or(0);
        }
    }
}
