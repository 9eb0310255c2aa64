//! The circuit [`Builder`]: emits gates with constant folding and structural
//! hashing built in, so the gadgets in [`crate::gadgets`] (and the compiler)
//! can be written plainly and still come out AND-minimal.
//!
//! Rules applied at every gate (none ever adds an AND):
//! - constants fold: `x & 0 = 0`, `x & 1 = x`, `x ^ 0 = x`, `x ^ 1 = !x`,
//!   `!0 = 1`; a gadget on constant inputs emits no gate at all;
//! - algebra: `x & x = x`, `x & !x = 0`, `x ^ x = 0`, `x ^ !x = 1`, `!!x = x`;
//!   negations are pushed out of XOR (`!x ^ y = !(x ^ y)`) so equal XORs meet;
//! - structural hashing: a gate with the same operation and operands as an
//!   earlier one returns that gate's wire (operands are ordered first, since
//!   both operations commute).
//!
//! The builder hands out SSA wires; [`Builder::finish`] numbers the inputs
//! `2, 3, …` as [`crate::Circuit`] requires.

use crate::circuit::{
    Circuit, CircuitError, Gate, GateKind, Input, InputSpec, Output, Party, Visibility, WireId,
};
use crate::strash::Strash;

use rustc_hash::FxHashMap;

/// A bit vector of wires, least significant bit first. Gadgets take and
/// return these; signedness is a property of the operation, not the value.
pub type Bits = Vec<WireId>;

/// Which rewrite rules a [`Builder`] applies while gates are added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuilderOptions {
    /// Fold constants and apply the algebraic identities (`x & x = x` …).
    pub fold_constants: bool,
    /// Return an existing wire for a gate already built (common subexpressions).
    pub structural_hashing: bool,
}

impl Default for BuilderOptions {
    fn default() -> Self {
        BuilderOptions { fold_constants: true, structural_hashing: true }
    }
}

/// What [`Builder::finish`] or an input/output declaration can reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Two inputs or two outputs share a name.
    #[error("duplicate {kind} name `{name}`")]
    DuplicateName {
        /// `"input"` or `"output"`.
        kind: &'static str,
        /// The repeated name.
        name: String,
    },
    /// The circuit outgrew 32-bit wire indices.
    #[error("the circuit needs more than 2^32 - 1 wires")]
    TooManyWires,
    /// The circuit reached the limit set with [`Builder::set_gate_limit`].
    #[error("the circuit grows past {limit} gates")]
    TooManyGates {
        /// The limit.
        limit: usize,
    },
}

/// Builds a [`Circuit`] gate by gate. See the module docs for the rewrites.
///
/// ```
/// use garblet_circuits::{Builder, Party, Visibility};
/// let mut b = Builder::new();
/// let alice = b.input("alice", Party::Garbler, 64).unwrap();
/// let bob = b.input("bob", Party::Evaluator, 64).unwrap();
/// let richer = b.gt(&alice, &bob, garblet_circuits::Sign::Unsigned);
/// b.output("alice_is_richer", Visibility::Both, vec![richer]).unwrap();
/// let circuit = b.finish().unwrap();
/// assert_eq!(circuit.and_count(), 64);
/// ```
#[derive(Debug)]
pub struct Builder {
    options: BuilderOptions,
    gates: Vec<Gate>,
    next_wire: u32,
    wires_exhausted: bool,
    /// At most this many gates are built ([`Builder::set_gate_limit`]).
    gate_limit: usize,
    /// A gate was asked for past `gate_limit` (reported when it finishes).
    gates_exhausted: bool,
    /// Each input with the SSA wires the builder gave it.
    inputs: Vec<(Input, Bits)>,
    outputs: Vec<Output>,
    /// The gates by `(kind, a, b)`, operands ordered.
    strash: Strash,
    /// For INV outputs: the wire they negate.
    negation_of: FxHashMap<WireId, WireId>,
    /// For wires that were negated: their INV output.
    negated: FxHashMap<WireId, WireId>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

/// One loop of a looped circuit being finished ([`Builder::finish_looped`]).
#[derive(Clone, Copy, Debug)]
pub struct LoopSpan<'a> {
    /// The index of the body's first gate.
    pub body_start: usize,
    /// The index after the body's last gate.
    pub body_end: usize,
    /// Per window: the placeholders the body read as a record, and the
    /// wires of iteration 0's record.
    pub windows: &'a [(&'a [WireId], &'a [WireId])],
    /// How many times the body runs.
    pub iterations: u64,
}

impl Builder {
    /// A builder with every rewrite on.
    pub fn new() -> Self {
        Self::with_options(BuilderOptions::default())
    }

    /// A builder with the rewrites `options` enables.
    pub fn with_options(options: BuilderOptions) -> Self {
        Builder {
            options,
            gates: Vec::new(),
            next_wire: WireId::FIRST_FREE,
            wires_exhausted: false,
            gate_limit: usize::MAX,
            gates_exhausted: false,
            inputs: Vec::new(),
            outputs: Vec::new(),
            strash: Strash::default(),
            negation_of: FxHashMap::default(),
            negated: FxHashMap::default(),
        }
    }

    /// The options in force.
    pub fn options(&self) -> BuilderOptions {
        self.options
    }

    /// Gates emitted so far.
    pub fn gate_count(&self) -> usize {
        self.gates.len()
    }

    /// Builds at most `limit` gates: past it, a gate asked for is not built
    /// (its output reads as the constant 0), and [`Builder::finish`] fails
    /// with [`BuildError::TooManyGates`]. A bound on memory for callers
    /// that check the gate count only now and then (a compiler adding up a
    /// long lazy sum at once).
    pub fn set_gate_limit(&mut self, limit: usize) {
        self.gate_limit = limit;
    }

    /// Whether a gate was asked for past the limit.
    pub fn gates_exhausted(&self) -> bool {
        self.gates_exhausted
    }

    /// Whether the limit is reached (and if so, marks the builder).
    fn at_gate_limit(&mut self) -> bool {
        if self.gates.len() >= self.gate_limit {
            self.gates_exhausted = true;
        }
        self.gates_exhausted
    }

    /// AND gates emitted so far.
    pub fn and_count(&self) -> usize {
        self.gates.iter().filter(|g| g.kind == GateKind::And).count()
    }

    fn fresh(&mut self) -> WireId {
        take_wire(&mut self.next_wire, &mut self.wires_exhausted)
    }

    /// Declares an input of `width` bits owned by `party`; returns its wires.
    pub fn input(&mut self, name: impl Into<String>, party: Party, width: u32) -> Result<Bits, BuildError> {
        let name = name.into();
        if self.inputs.iter().any(|(i, _)| i.name == name) {
            return Err(BuildError::DuplicateName { kind: "input", name });
        }
        let bits: Bits = (0..width).map(|_| self.fresh()).collect();
        let input = Input { name, party, width, first_wire: 0 };
        self.inputs.push((input, bits.clone()));
        Ok(bits)
    }

    /// Declares an output revealing `wires` (least significant first).
    pub fn output(
        &mut self,
        name: impl Into<String>,
        visibility: Visibility,
        wires: Bits,
    ) -> Result<(), BuildError> {
        let name = name.into();
        if self.outputs.iter().any(|o| o.name == name) {
            return Err(BuildError::DuplicateName { kind: "output", name });
        }
        self.outputs.push(Output { name, visibility, wires });
        Ok(())
    }

    /// A constant bit.
    pub fn constant(&self, value: bool) -> WireId {
        WireId::constant(value)
    }

    /// A constant of `width` bits holding the low bits of `value`
    /// (two's complement for negative values; sign-extended past 128 bits).
    pub fn constant_bits(&self, value: i128, width: u32) -> Bits {
        (0..width).map(|k| WireId::constant((value >> k.min(127)) & 1 == 1)).collect()
    }

    /// Same as [`Builder::constant_bits`] for an unsigned value.
    pub fn constant_bits_u128(&self, value: u128, width: u32) -> Bits {
        (0..width).map(|k| WireId::constant(k < 128 && (value >> k) & 1 == 1)).collect()
    }

    /// If `w` is an INV output, the wire it negates.
    fn strip(&self, w: WireId) -> (WireId, bool) {
        match self.negation_of.get(&w) {
            Some(&src) => (src, true),
            None => (w, false),
        }
    }

    fn emit(&mut self, kind: GateKind, a: WireId, b: WireId) -> WireId {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        if self.at_gate_limit() {
            return WireId::ZERO;
        }
        if !self.options.structural_hashing {
            let out = self.fresh();
            self.gates.push(Gate { a, b, out, kind });
            return out;
        }
        // One probe of the table for both the look-up and the insertion.
        let (next_wire, exhausted) = (&mut self.next_wire, &mut self.wires_exhausted);
        let fresh = || take_wire(next_wire, exhausted);
        match self.strash.find_or_push(&mut self.gates, kind, a, b, fresh) {
            Some(w) => w,
            None => self.gates.last().map_or(WireId::ZERO, |g| g.out),
        }
    }

    /// `!a`.
    pub fn not(&mut self, a: WireId) -> WireId {
        if self.options.fold_constants {
            if a.is_const() {
                return WireId::constant(a == WireId::ZERO);
            }
            if let Some(&src) = self.negation_of.get(&a) {
                return src;
            }
        }
        if self.options.structural_hashing {
            if let Some(&n) = self.negated.get(&a) {
                return n;
            }
        }
        if self.at_gate_limit() {
            return WireId::ZERO;
        }
        let out = self.fresh();
        self.gates.push(Gate::inv(a, out));
        self.negation_of.insert(out, a);
        self.negated.insert(a, out);
        out
    }

    /// `a ^ b` (free under free-XOR).
    pub fn xor(&mut self, a: WireId, b: WireId) -> WireId {
        if !self.options.fold_constants {
            return self.emit(GateKind::Xor, a, b);
        }
        let (a, na) = self.strip(a);
        let (b, nb) = self.strip(b);
        let base = if a == b {
            WireId::ZERO
        } else if a == WireId::ZERO {
            b
        } else if b == WireId::ZERO {
            a
        } else if a == WireId::ONE {
            self.not(b)
        } else if b == WireId::ONE {
            self.not(a)
        } else {
            self.emit(GateKind::Xor, a, b)
        };
        if na != nb {
            self.not(base)
        } else {
            base
        }
    }

    /// `a & b` (one AND gate unless it folds).
    pub fn and(&mut self, a: WireId, b: WireId) -> WireId {
        match self.and_folds(a, b) {
            Some(w) => w,
            None => self.emit(GateKind::And, a, b),
        }
    }

    /// `a & b` if it needs no new gate: what it folds to, or the existing
    /// AND gate's wire; `None` when [`Builder::and`] would build a gate.
    pub(crate) fn and_existing(&self, a: WireId, b: WireId) -> Option<WireId> {
        if let Some(w) = self.and_folds(a, b) {
            return Some(w);
        }
        if !self.options.structural_hashing {
            return None;
        }
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        self.strash.find(&self.gates, GateKind::And, a, b)
    }

    /// `a & b` for operands [`Builder::and_existing`] found no wire for,
    /// and no gate built since computes: a new AND gate, recorded for
    /// structural hashing without looking for itself.
    pub(crate) fn and_new(&mut self, a: WireId, b: WireId) -> WireId {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        if self.at_gate_limit() {
            return WireId::ZERO;
        }
        let out = self.fresh();
        if self.options.structural_hashing {
            self.strash.push_new(&mut self.gates, GateKind::And, a, b, || out);
        } else {
            self.gates.push(Gate { a, b, out, kind: GateKind::And });
        }
        out
    }

    /// The first wire not yet handed out: every wire built so far is below it.
    pub(crate) fn next_wire(&self) -> WireId {
        WireId::new(self.next_wire)
    }

    /// What `a & b` folds to without a gate (a constant, or an operand), if
    /// it does; `None` when [`Builder::and`] would emit an AND gate (or
    /// find the same one built before).
    pub(crate) fn and_folds(&self, a: WireId, b: WireId) -> Option<WireId> {
        if !self.options.fold_constants {
            return None;
        }
        if a == WireId::ZERO || b == WireId::ZERO {
            return Some(WireId::ZERO);
        }
        if a == WireId::ONE || a == b {
            return Some(b);
        }
        if b == WireId::ONE {
            return Some(a);
        }
        let (sa, na) = self.strip(a);
        let (sb, nb) = self.strip(b);
        // Both are the same wire up to negation: x & x = x, x & !x = 0.
        (sa == sb).then_some(if na == nb { a } else { WireId::ZERO })
    }

    /// `a | b` as `a ^ b ^ (a & b)`: one AND, no INV.
    pub fn or(&mut self, a: WireId, b: WireId) -> WireId {
        let both = self.and(a, b);
        let either = self.xor(a, b);
        self.xor(either, both)
    }

    /// `!(a ^ b)`.
    pub fn xnor(&mut self, a: WireId, b: WireId) -> WireId {
        let x = self.xor(a, b);
        self.not(x)
    }

    /// `if s { t } else { f }` on one bit: one AND.
    pub fn mux_bit(&mut self, s: WireId, t: WireId, f: WireId) -> WireId {
        let d = self.xor(t, f);
        let m = self.and(s, d);
        self.xor(f, m)
    }

    /// The gates from index `from` on.
    pub fn gates_since(&self, from: usize) -> &[Gate] {
        &self.gates[from.min(self.gates.len())..]
    }

    /// Whether `bits` are consecutive wires of one input, in order (an
    /// input array, or part of one).
    pub fn is_input_run(&self, bits: &[WireId]) -> bool {
        let Some(&first) = bits.first() else { return false };
        let consecutive =
            bits.iter().enumerate().all(|(k, w)| u64::from(w.get()) == u64::from(first.get()) + k as u64);
        let last = bits[bits.len() - 1];
        consecutive
            && self.inputs.iter().any(|(_, ib)| match (ib.first(), ib.last()) {
                (Some(&lo), Some(&hi)) => lo <= first && last <= hi,
                _ => false,
            })
    }

    /// `width` fresh wires that no gate writes: the stand-ins of a loop's
    /// state and of its current record while one iteration is built (see
    /// [`Builder::finish_looped`]). Gates may read them; the builder
    /// assumes nothing about their values.
    pub fn placeholders(&mut self, width: u32) -> Bits {
        (0..width).map(|_| self.fresh()).collect()
    }

    /// Appends `dst = src ^ 0` (a free copy) without folding or hashing:
    /// writes an existing wire again, so the circuit stops being SSA. For
    /// a loop's state wires (see [`Builder::finish_looped`]).
    pub fn copy_into(&mut self, src: WireId, dst: WireId) {
        if self.at_gate_limit() {
            return;
        }
        self.gates.push(Gate::xor(src, WireId::ZERO, dst));
    }

    /// Forgets the gates from index `from` on for structural hashing and
    /// negation tracking, so that no later gate reuses their wires (a
    /// loop's body: its wires hold a different value each iteration).
    pub fn forget_since(&mut self, from: usize) {
        for g in self.gates.iter().skip(from) {
            if g.kind == GateKind::Inv {
                if self.negation_of.get(&g.out) == Some(&g.a) {
                    self.negation_of.remove(&g.out);
                }
                if self.negated.get(&g.a) == Some(&g.out) {
                    self.negated.remove(&g.a);
                }
            }
        }
        self.strash.forget_since(&self.gates, from);
    }

    /// Drops the gates from index `len` on, as if they had never been
    /// built (their wires are not handed out again).
    pub fn truncate(&mut self, len: usize) {
        self.forget_since(len);
        self.gates.truncate(len);
    }

    /// Finishes a looped circuit ([`crate::looped::LoopedCircuit`]) of
    /// `loops`, in gate order: a loop's body is its gates `body_start ..
    /// body_end`, the gates between it and the loop before it (or the
    /// start) run once before it, and the gates after the last body are
    /// the epilogue. Each of a loop's windows pairs the placeholders the
    /// body read as the current record of an array with the wires of that
    /// array's record of iteration 0 (consecutive input wires, one per
    /// placeholder): the placeholders become those wires, which the loop
    /// shifts by the placeholders' count per iteration. A wire written
    /// several times (state) keeps one number.
    pub fn finish_looped(
        self,
        loops: &[LoopSpan<'_>],
    ) -> Result<crate::looped::LoopedCircuit, crate::looped::LoopError> {
        if self.wires_exhausted {
            return Err(CircuitError::TooManyWires.into());
        }
        if self.gates_exhausted {
            return Err(crate::looped::LoopError::TooManyGates { limit: self.gate_limit });
        }
        let n = self.next_wire as usize;
        let mut map = vec![u32::MAX; n];
        map[0] = 0;
        map[1] = 1;
        let mut next = WireId::FIRST_FREE;
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for (input, bits) in self.inputs {
            inputs.push(InputSpec::new(input.name, input.party, input.width));
            for w in bits {
                map[w.index()] = next;
                next += 1;
            }
        }
        for span in loops {
            for (window, first_record) in span.windows {
                for (p, r) in window.iter().zip(*first_record) {
                    map[p.index()] = map[r.index()];
                }
            }
        }
        let mut gates = self.gates;
        for g in &mut gates {
            if map[g.out.index()] == u32::MAX {
                map[g.out.index()] = next;
                next = next.checked_add(1).ok_or(CircuitError::TooManyWires)?;
            }
            // A read of a wire never written stays out of range; the
            // looped circuit's check refuses it.
            let m = |w: WireId| WireId::new(map[w.index()]);
            *g = Gate { a: m(g.a), b: m(g.b), out: m(g.out), kind: g.kind };
        }
        let mut outputs = self.outputs;
        for o in &mut outputs {
            for w in &mut o.wires {
                *w = WireId::new(map[w.index()]);
            }
        }
        let mut built = Vec::with_capacity(loops.len());
        let mut at = 0;
        for span in loops {
            let body_end = span.body_end.clamp(at, gates.len());
            let body_start = span.body_start.clamp(at, body_end);
            let windows = span
                .windows
                .iter()
                .map(|(w, _)| (w.first().map_or(WireId::FIRST_FREE, |p| map[p.index()]), w.len() as u32))
                .collect();
            built.push(crate::looped::Loop::new(
                gates[at..body_start].to_vec(),
                gates[body_start..body_end].to_vec(),
                windows,
                span.iterations,
            ));
            at = body_end;
        }
        let epilogue = gates.split_off(at);
        crate::looped::LoopedCircuit::with_loops(next, inputs, outputs, built, epilogue)
    }

    /// Finishes the circuit: inputs move to wires `2, 3, …` in declaration
    /// order and every other wire follows them.
    pub fn finish(self) -> Result<Circuit, BuildError> {
        if self.wires_exhausted {
            return Err(BuildError::TooManyWires);
        }
        if self.gates_exhausted {
            return Err(BuildError::TooManyGates { limit: self.gate_limit });
        }
        // The hashing tables go before the wire map is allocated (on a
        // large program they are half as large as the gates).
        let Builder { gates, next_wire, inputs, outputs, strash, negation_of, negated, .. } = self;
        drop((strash, negation_of, negated));
        if let Some(specs) = numbered_in_order(&inputs, &gates, next_wire) {
            // Already numbered as a circuit is (the compiler declares its
            // inputs before any gate): no wire map and no pass to rewrite.
            return Ok(Circuit::from_parts_unchecked(next_wire, specs, outputs, gates));
        }
        let n = next_wire as usize;
        // Old SSA wire → new wire. Inputs first, then the rest in order.
        let mut map = vec![u32::MAX; n];
        map[0] = 0;
        map[1] = 1;
        let mut next = WireId::FIRST_FREE;
        let mut specs = Vec::with_capacity(inputs.len());
        for (mut input, bits) in inputs {
            input.first_wire = next;
            for w in bits {
                map[w.index()] = next;
                next += 1;
            }
            specs.push(input);
        }
        let mut gates = gates;
        for g in &mut gates {
            // Gate outputs are fresh wires written once; give them the next slot.
            map[g.out.index()] = next;
            next += 1;
            g.a = WireId::new(map[g.a.index()]);
            g.b = WireId::new(map[g.b.index()]);
            g.out = WireId::new(map[g.out.index()]);
        }
        let mut outputs = outputs;
        for o in &mut outputs {
            for w in &mut o.wires {
                *w = WireId::new(map[w.index()]);
            }
        }
        Ok(Circuit::from_parts_unchecked(next, specs, outputs, gates))
    }
}
/// The inputs with their first wires, if the builder's wires already are
/// a circuit's numbering: the inputs on `2, 3, …` in declaration order,
/// then gate `i` writing wire `2 + input bits + i`, and no other wire.
fn numbered_in_order(inputs: &[(Input, Bits)], gates: &[Gate], next_wire: u32) -> Option<Vec<Input>> {
    let mut next = WireId::FIRST_FREE;
    let mut specs = Vec::with_capacity(inputs.len());
    for (input, bits) in inputs {
        specs.push(Input { first_wire: next, ..input.clone() });
        for w in bits {
            if w.get() != next {
                return None;
            }
            next = next.checked_add(1)?;
        }
    }
    let first_gate_wire = next;
    let all = u32::try_from(gates.len()).ok().and_then(|n| first_gate_wire.checked_add(n))?;
    let in_order = gates.iter().zip(first_gate_wire..).all(|(g, w)| g.out.get() == w);
    (all == next_wire && in_order).then_some(specs)
}

/// The next fresh wire (`*next`), counting on; past `u32::MAX` the builder
/// is marked exhausted (reported when it finishes) instead of wrapping.
fn take_wire(next: &mut u32, exhausted: &mut bool) -> WireId {
    let w = WireId::new(*next);
    match next.checked_add(1) {
        Some(n) => *next = n,
        None => *exhausted = true,
    }
    w
}
