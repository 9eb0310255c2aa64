//! The circuit IR: wires, gates, parties, and the validated [`Circuit`].
//!
//! A circuit is a flat, topologically ordered list of two-input gates over
//! `u32` wire indices. Every gate is a 16-byte [`Gate`] value in one `Vec`, so
//! a circuit of 10^8 gates costs 1.6 GB and no per-gate heap allocation.
//!
//! Wires `0` and `1` are the constants false and true ([`WireId::ZERO`],
//! [`WireId::ONE`]). The inputs occupy the wires right after them, input by
//! input, in declaration order. Gates may write any other wire, and a wire may
//! be written more than once (after [`crate::opt::renumber_wires`] wires are
//! reused once dead): a gate reads the value its operand wires hold at that
//! point of the list. Outputs name the wires whose values at the end of the
//! list are the results.

use std::fmt;

/// The index of a wire in a [`Circuit`]'s wire space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct WireId(u32);

impl WireId {
    /// The constant-false wire.
    pub const ZERO: WireId = WireId(0);
    /// The constant-true wire.
    pub const ONE: WireId = WireId(1);
    /// The first wire that is not a constant (the first input wire, if any).
    pub const FIRST_FREE: u32 = 2;

    /// A wire from its raw index.
    #[inline]
    pub const fn new(index: u32) -> Self {
        WireId(index)
    }

    /// The raw index.
    #[inline]
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The raw index as a `usize`, for indexing wire arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// True for [`WireId::ZERO`] and [`WireId::ONE`].
    #[inline]
    pub const fn is_const(self) -> bool {
        self.0 < Self::FIRST_FREE
    }

    /// The constant wire carrying `value`.
    #[inline]
    pub const fn constant(value: bool) -> Self {
        if value {
            Self::ONE
        } else {
            Self::ZERO
        }
    }
}

impl fmt::Display for WireId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "w{}", self.0)
    }
}

/// The operation of a gate. XOR and INV are free under free-XOR garbling;
/// AND is the one that costs (32 bytes with half-gates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum GateKind {
    /// `out = a ^ b`.
    Xor = 0,
    /// `out = a & b`.
    And = 1,
    /// `out = !a` (`b` is ignored and equals `a`).
    Inv = 2,
}

impl GateKind {
    /// The tag used by the canonical encoding.
    pub const fn tag(self) -> u8 {
        self as u8
    }
}

/// One gate: `out = kind(a, b)`. 16 bytes, `Copy`, no heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Gate {
    /// First operand.
    pub a: WireId,
    /// Second operand (equal to `a` for [`GateKind::Inv`]).
    pub b: WireId,
    /// The wire written.
    pub out: WireId,
    /// The operation.
    pub kind: GateKind,
}

impl Gate {
    /// `out = a ^ b`.
    pub const fn xor(a: WireId, b: WireId, out: WireId) -> Self {
        Gate { a, b, out, kind: GateKind::Xor }
    }
    /// `out = a & b`.
    pub const fn and(a: WireId, b: WireId, out: WireId) -> Self {
        Gate { a, b, out, kind: GateKind::And }
    }
    /// `out = !a`.
    pub const fn inv(a: WireId, out: WireId) -> Self {
        Gate { a, b: a, out, kind: GateKind::Inv }
    }
}

/// The two parties of a garbled-circuit computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    /// The party that garbles: holds Δ and every wire's zero label.
    Garbler,
    /// The party that evaluates: holds one label per wire.
    Evaluator,
}

impl Party {
    /// `"garbler"` or `"evaluator"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Party::Garbler => "garbler",
            Party::Evaluator => "evaluator",
        }
    }
    /// The other party.
    pub const fn peer(self) -> Party {
        match self {
            Party::Garbler => Party::Evaluator,
            Party::Evaluator => Party::Garbler,
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who learns an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Visibility {
    /// Only the garbler learns it.
    Garbler,
    /// Only the evaluator learns it.
    Evaluator,
    /// Both parties learn it.
    Both,
}

impl Visibility {
    /// `"garbler"`, `"evaluator"` or `"both"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Visibility::Garbler => "garbler",
            Visibility::Evaluator => "evaluator",
            Visibility::Both => "both",
        }
    }
    /// Whether `party` learns an output of this visibility.
    pub const fn reveals_to(self, party: Party) -> bool {
        matches!(
            (self, party),
            (Visibility::Both, _)
                | (Visibility::Garbler, Party::Garbler)
                | (Visibility::Evaluator, Party::Evaluator)
        )
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named input of `width` bits owned by one party. Its wires are the
/// contiguous range `first_wire .. first_wire + width`; bit `k` (least
/// significant first) is wire `first_wire + k`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Input {
    /// The input's name, unique among inputs.
    pub name: String,
    /// Who supplies it.
    pub party: Party,
    /// Its width in bits.
    pub width: u32,
    /// Its first wire (assigned by [`Circuit::new`]).
    pub first_wire: u32,
}

impl Input {
    /// The wires of this input, least significant bit first.
    pub fn wires(&self) -> impl ExactSizeIterator<Item = WireId> + '_ {
        (self.first_wire..self.first_wire + self.width).map(WireId)
    }
}

/// A named output: the values of `wires` (least significant bit first) at the
/// end of the gate list, revealed according to `visibility`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Output {
    /// The output's name, unique among outputs.
    pub name: String,
    /// Who learns it.
    pub visibility: Visibility,
    /// Its wires, least significant bit first (may be constants or inputs).
    pub wires: Vec<WireId>,
}

impl Output {
    /// Its width in bits.
    pub fn width(&self) -> u32 {
        self.wires.len() as u32
    }
}

/// What can be wrong with the parts handed to [`Circuit::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CircuitError {
    /// Two inputs or two outputs share a name.
    #[error("duplicate {kind} name `{name}`")]
    DuplicateName {
        /// `"input"` or `"output"`.
        kind: &'static str,
        /// The repeated name.
        name: String,
    },
    /// More wires than a `u32` can index.
    #[error("the circuit needs more than 2^32 - 1 wires")]
    TooManyWires,
    /// [`chain`](crate::compose::chain) needs two inputs and one output as
    /// wide as the second input.
    #[error("only a circuit with two inputs and one output as wide as its second input can be chained")]
    NotChainable,
    /// The inputs alone need more wires than the circuit declares.
    #[error("the inputs need {needed} wires, but the circuit has only {num_wires}")]
    InputsExceedWires {
        /// Wires the constants and inputs occupy.
        needed: u64,
        /// The declared wire count.
        num_wires: u32,
    },
    /// A gate reads or writes a wire at or past `num_wires`.
    #[error("gate {gate} uses wire {wire}, but the circuit has only {num_wires} wires (0 to {}, the constants 0 and 1 included)", num_wires.saturating_sub(1))]
    WireOutOfRange {
        /// Gate index.
        gate: usize,
        /// The wire.
        wire: u32,
        /// The declared wire count.
        num_wires: u32,
    },
    /// A gate reads a wire nothing has written yet.
    #[error("gate {gate} reads wire {wire} before any gate writes it")]
    ReadBeforeWrite {
        /// Gate index.
        gate: usize,
        /// The wire.
        wire: u32,
    },
    /// A gate writes one of the constant wires.
    #[error("gate {gate} writes the constant wire {wire}")]
    WritesConstant {
        /// Gate index.
        gate: usize,
        /// The wire.
        wire: u32,
    },
    /// An output names a wire that is never set or out of range.
    #[error("output `{output}` uses wire {wire}, which holds no value at the end")]
    UndefinedOutput {
        /// Output name.
        output: String,
        /// The wire.
        wire: u32,
    },
    /// An INV gate whose second operand differs from the first.
    #[error("gate {gate} is an INV whose operands differ")]
    MalformedInv {
        /// Gate index.
        gate: usize,
    },
}

/// A validated circuit. See the module docs for the wire conventions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Circuit {
    num_wires: u32,
    inputs: Vec<Input>,
    outputs: Vec<Output>,
    gates: Vec<Gate>,
    /// The digest, when it came with the circuit (see [`KnownDigest`]).
    pub(crate) known_digest: KnownDigest,
}

/// A circuit's digest known without encoding its gates again: the blake3
/// of the binary file it was decoded from, hashed as it was read
/// (`canonical::read_hashed`; the decoder accepts only canonical
/// encodings, so those bytes are the circuit's encoding). Not part of the
/// circuit's value: every two are equal, so circuits compare by their
/// contents alone.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KnownDigest(pub(crate) Option<crate::CircuitDigest>);

impl PartialEq for KnownDigest {
    fn eq(&self, _: &KnownDigest) -> bool {
        true
    }
}

impl Eq for KnownDigest {}

/// An input as declared to [`Circuit::new`]: its wires are assigned there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec {
    /// Name, unique among inputs.
    pub name: String,
    /// Owner.
    pub party: Party,
    /// Width in bits.
    pub width: u32,
}

impl InputSpec {
    /// A new input declaration.
    pub fn new(name: impl Into<String>, party: Party, width: u32) -> Self {
        InputSpec { name: name.into(), party, width }
    }
}

impl Circuit {
    /// Checks and assembles a circuit. Inputs get the wires
    /// `2 .. 2 + Σ width` in order; `num_wires` must cover every wire used.
    pub fn new(
        num_wires: u32,
        inputs: Vec<InputSpec>,
        outputs: Vec<Output>,
        gates: Vec<Gate>,
    ) -> Result<Self, CircuitError> {
        let placed = Circuit::place_inputs(num_wires, inputs, &outputs)?;
        let circuit = Circuit { num_wires, inputs: placed, outputs, gates, known_digest: KnownDigest(None) };
        circuit.validate()?;
        Ok(circuit)
    }

    /// The checks of [`Circuit::new`] that come before the gates: unique
    /// names, and inputs that fit in `num_wires`; assigns the inputs' wires.
    /// The canonical decoder runs these before it reads any gate.
    pub(crate) fn place_inputs(
        num_wires: u32,
        inputs: Vec<InputSpec>,
        outputs: &[Output],
    ) -> Result<Vec<Input>, CircuitError> {
        check_unique("input", inputs.iter().map(|i| i.name.as_str()))?;
        check_unique("output", outputs.iter().map(|o| o.name.as_str()))?;
        let mut next = u64::from(WireId::FIRST_FREE);
        let mut placed = Vec::with_capacity(inputs.len());
        for spec in inputs {
            let first = u32::try_from(next).map_err(|_| CircuitError::TooManyWires)?;
            next += u64::from(spec.width);
            placed.push(Input { name: spec.name, party: spec.party, width: spec.width, first_wire: first });
        }
        if next > u64::from(num_wires) {
            return Err(CircuitError::InputsExceedWires { needed: next, num_wires });
        }
        Ok(placed)
    }

    /// Assembles a circuit without the full check. For crate-internal
    /// producers that construct valid circuits by design (builder, passes).
    pub(crate) fn from_parts_unchecked(
        num_wires: u32,
        inputs: Vec<Input>,
        outputs: Vec<Output>,
        gates: Vec<Gate>,
    ) -> Self {
        let circuit = Circuit { num_wires, inputs, outputs, gates, known_digest: KnownDigest(None) };
        debug_assert_eq!(circuit.validate(), Ok(()));
        circuit
    }

    fn validate(&self) -> Result<(), CircuitError> {
        let n = self.num_wires;
        let mut defined = vec![false; n as usize];
        for d in defined.iter_mut().take(WireId::FIRST_FREE as usize) {
            *d = true;
        }
        for input in &self.inputs {
            for w in input.wires() {
                defined[w.index()] = true;
            }
        }
        for (i, g) in self.gates.iter().enumerate() {
            for w in [g.a, g.b, g.out] {
                if w.get() >= n {
                    return Err(CircuitError::WireOutOfRange { gate: i, wire: w.get(), num_wires: n });
                }
            }
            if g.kind == GateKind::Inv && g.a != g.b {
                return Err(CircuitError::MalformedInv { gate: i });
            }
            for w in [g.a, g.b] {
                if !defined[w.index()] {
                    return Err(CircuitError::ReadBeforeWrite { gate: i, wire: w.get() });
                }
            }
            if g.out.is_const() {
                return Err(CircuitError::WritesConstant { gate: i, wire: g.out.get() });
            }
            defined[g.out.index()] = true;
        }
        for o in &self.outputs {
            for &w in &o.wires {
                if w.get() >= n || !defined[w.index()] {
                    return Err(CircuitError::UndefinedOutput { output: o.name.clone(), wire: w.get() });
                }
            }
        }
        Ok(())
    }

    /// The size of the wire space (including the two constants).
    pub fn num_wires(&self) -> u32 {
        self.num_wires
    }
    /// The inputs in wire order.
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }
    /// The outputs in declaration order.
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }
    /// The gates in evaluation order.
    pub fn gates(&self) -> &[Gate] {
        &self.gates
    }
    /// The input called `name`.
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }
    /// The output called `name`.
    pub fn output(&self, name: &str) -> Option<&Output> {
        self.outputs.iter().find(|o| o.name == name)
    }
    /// Total input bits of `party`.
    pub fn input_bits_of(&self, party: Party) -> u64 {
        self.inputs.iter().filter(|i| i.party == party).map(|i| u64::from(i.width)).sum()
    }
    /// Total input bits.
    pub fn input_bits(&self) -> u64 {
        self.inputs.iter().map(|i| u64::from(i.width)).sum()
    }
    /// Number of AND gates.
    pub fn and_count(&self) -> u64 {
        self.gates.iter().filter(|g| g.kind == GateKind::And).count() as u64
    }

    /// Returns the same circuit with its inputs handed to other owners and its
    /// outputs to other readers (the gates are untouched).
    pub fn with_roles(
        mut self,
        mut party_of: impl FnMut(&Input) -> Party,
        mut visibility_of: impl FnMut(&Output) -> Visibility,
    ) -> Self {
        let mut changed = false;
        for i in &mut self.inputs {
            let party = party_of(i);
            changed |= party != i.party;
            i.party = party;
        }
        for o in &mut self.outputs {
            let visibility = visibility_of(o);
            changed |= visibility != o.visibility;
            o.visibility = visibility;
        }
        // Owners and visibility are in the digest: one the circuit came
        // with (read from a file) no longer holds once they change.
        if changed {
            self.known_digest = KnownDigest(None);
        }
        self
    }

    /// The gate list, taken: for a consumer that transforms it in place
    /// and needs the circuit no more (a pipelined plan renames the wires
    /// of a file-sized circuit this way instead of holding a copy).
    pub fn into_gates(self) -> Vec<Gate> {
        self.gates
    }

    /// The circuit's interface alone: the same inputs and outputs (names,
    /// owners, widths, readers), no gates, every output bit on wire 0. What
    /// a caller keeps for reporting once it has handed the gates on, so
    /// that no second copy of them stays alive.
    pub fn interface(&self) -> Circuit {
        Circuit::interface_of(&self.inputs, &self.outputs)
    }

    /// [`Circuit::interface`] of a circuit given as its inputs (placed, as
    /// [`Circuit::new`] places them) and outputs.
    pub(crate) fn interface_of(inputs: &[Input], outputs: &[Output]) -> Circuit {
        let outputs = outputs
            .iter()
            .map(|o| Output { wires: vec![WireId::ZERO; o.wires.len()], ..o.clone() })
            .collect();
        let input_bits: u64 = inputs.iter().map(|i| u64::from(i.width)).sum();
        Circuit {
            num_wires: WireId::FIRST_FREE + u32::try_from(input_bits).unwrap_or(u32::MAX - 2),
            inputs: inputs.to_vec(),
            outputs,
            gates: Vec::new(),
            known_digest: KnownDigest(None),
        }
    }

    pub(crate) fn into_parts(self) -> (u32, Vec<Input>, Vec<Output>, Vec<Gate>) {
        (self.num_wires, self.inputs, self.outputs, self.gates)
    }
}

fn check_unique<'a>(kind: &'static str, names: impl Iterator<Item = &'a str>) -> Result<(), CircuitError> {
    let mut seen = rustc_hash::FxHashSet::default();
    for name in names {
        if !seen.insert(name) {
            return Err(CircuitError::DuplicateName { kind, name: name.to_owned() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_is_sixteen_bytes() {
        assert_eq!(size_of::<Gate>(), 16);
    }

    #[test]
    fn rejects_read_before_write() {
        let g = vec![Gate::and(WireId::new(2), WireId::new(4), WireId::new(3))];
        let err = Circuit::new(5, vec![InputSpec::new("x", Party::Garbler, 1)], vec![], g).unwrap_err();
        assert_eq!(err, CircuitError::ReadBeforeWrite { gate: 0, wire: 4 });
    }

    #[test]
    fn rejects_writing_a_constant() {
        let g = vec![Gate::inv(WireId::new(2), WireId::ONE)];
        let err = Circuit::new(3, vec![InputSpec::new("x", Party::Garbler, 1)], vec![], g).unwrap_err();
        assert_eq!(err, CircuitError::WritesConstant { gate: 0, wire: 1 });
    }

    #[test]
    fn rejects_duplicate_names() {
        let inputs = vec![InputSpec::new("x", Party::Garbler, 1), InputSpec::new("x", Party::Evaluator, 1)];
        assert!(matches!(Circuit::new(4, inputs, vec![], vec![]), Err(CircuitError::DuplicateName { .. })));
    }
}
