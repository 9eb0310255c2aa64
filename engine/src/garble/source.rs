//! Where gates come from: the [`GateSource`] trait the schedule pulls gates
//! from, implemented by a materialised [`Circuit`], by [`Repeated`], a
//! generator that replays one block of gates many times without storing
//! the copies, and by a [`LoopedCircuit`] (a compiled loop: its body
//! replayed once per run of records, the window shifted each time). Also the check every consumer of a source applies to each
//! gate (`check_gate`): the schedule, liveness, [`Repeated::from_gates`]
//! and [`eval_plain`].

use garblet_circuits::{Circuit, Gate, GateFile, GateKind, LoopedCircuit, WireId};

use super::error::PlanError;

/// A circuit read gate by gate, so that a circuit far larger than memory can
/// be garbled: the garbler and evaluator pull windows of gates through
/// [`GateSource::read_gates`] and never hold more than one window.
///
/// Wire conventions are those of [`Circuit`]: wires 0 and 1 are the
/// constants, the input bits occupy wires `2 .. 2 + input_bits()` (all
/// inputs, in input order), gates are in evaluation order and a wire may be
/// written several times.
pub trait GateSource: Sync {
    /// The size of the wire space (constants included).
    fn num_wires(&self) -> u32;
    /// How many input wires follow the two constants.
    fn input_bits(&self) -> u64;
    /// The output wires, all outputs concatenated in output order.
    fn output_wires(&self) -> Vec<WireId>;
    /// The number of gates.
    fn num_gates(&self) -> u64;
    /// Copies gates `start, start + 1, …` into `out`; returns how many were
    /// copied (fewer than `out.len()` only at the end, 0 past it).
    fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize;
    /// All the gates, if the source holds them in memory as one slice
    /// (the same `num_gates` gates [`GateSource::read_gates`] gives): then
    /// a reader can skip that method's copy.
    fn gates_in_memory(&self) -> Option<&[Gate]> {
        None
    }
}

/// Checks one gate against the wire space.
pub(crate) fn check_gate(index: u64, g: &Gate, num_wires: u32) -> Result<(), PlanError> {
    for w in [g.a, g.b, g.out] {
        if w.get() >= num_wires {
            return Err(PlanError::WireOutOfRange { gate: index, wire: w.get(), num_wires });
        }
    }
    if g.out.is_const() {
        return Err(PlanError::WritesConstant { gate: index, wire: g.out.get() });
    }
    if g.kind == GateKind::Inv && g.a != g.b {
        return Err(PlanError::MalformedInv { gate: index });
    }
    Ok(())
}

/// [`check_gate`] for a run of gates `first_index, first_index + 1, …`,
/// as one reduction with no branch per gate (the checks of a hot loop
/// that trusts its gates, or checks them all before indexing with their
/// wires); the first failing gate is looked for only when one fails.
pub(crate) fn check_gates(first_index: u64, gates: &[Gate], num_wires: u32) -> Result<(), PlanError> {
    let (mut widest, mut lowest_out, mut bad_inv) = (0u32, u32::MAX, false);
    for g in gates {
        widest = widest.max(g.a.get()).max(g.b.get()).max(g.out.get());
        lowest_out = lowest_out.min(g.out.get());
        bad_inv |= (g.kind == GateKind::Inv) & (g.a != g.b);
    }
    if widest < num_wires && lowest_out >= WireId::FIRST_FREE && !bad_inv {
        return Ok(());
    }
    gates.iter().zip(first_index..).try_for_each(|(g, at)| check_gate(at, g, num_wires))
}

/// A binary circuit file read in place: the plan reads its windows from
/// the file, checked and hashed as they are read in order (see
/// [`GateFile`]: a plan of it is used only once [`GateFile::finish`] has
/// returned the digest).
impl GateSource for GateFile {
    fn num_wires(&self) -> u32 {
        GateFile::num_wires(self)
    }
    fn input_bits(&self) -> u64 {
        GateFile::input_bits(self)
    }
    fn output_wires(&self) -> Vec<WireId> {
        GateFile::output_wires(self)
    }
    fn num_gates(&self) -> u64 {
        GateFile::num_gates(self)
    }
    fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
        GateFile::read_gates(self, start, out)
    }
}

impl GateSource for Circuit {
    fn num_wires(&self) -> u32 {
        Circuit::num_wires(self)
    }
    fn input_bits(&self) -> u64 {
        Circuit::input_bits(self)
    }
    fn output_wires(&self) -> Vec<WireId> {
        self.outputs().iter().flat_map(|o| o.wires.iter().copied()).collect()
    }
    fn num_gates(&self) -> u64 {
        self.gates().len() as u64
    }
    fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
        let gates = self.gates();
        let start = usize::try_from(start).unwrap_or(usize::MAX).min(gates.len());
        let n = out.len().min(gates.len() - start);
        out[..n].copy_from_slice(&gates[start..start + n]);
        n
    }
    fn gates_in_memory(&self) -> Option<&[Gate]> {
        Some(self.gates())
    }
}

impl<T: GateSource + ?Sized> GateSource for &T {
    fn num_wires(&self) -> u32 {
        (**self).num_wires()
    }
    fn input_bits(&self) -> u64 {
        (**self).input_bits()
    }
    fn output_wires(&self) -> Vec<WireId> {
        (**self).output_wires()
    }
    fn num_gates(&self) -> u64 {
        (**self).num_gates()
    }
    fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
        (**self).read_gates(start, out)
    }
    fn gates_in_memory(&self) -> Option<&[Gate]> {
        (**self).gates_in_memory()
    }
}

/// A circuit whose gate list is replayed `times` times: gates
/// `body[0..n], body[0..n], …`. Only the body is stored.
///
/// With a body that writes every wire before reading it (e.g. a Bristol
/// circuit), the outputs equal one run of the body; the point is a long
/// circuit (10^8+ AND gates) for throughput and memory measurements, and
/// every repetition is garbled with fresh tweaks and labels.
#[derive(Clone, Debug)]
pub struct Repeated {
    body: Vec<Gate>,
    times: u64,
    num_wires: u32,
    input_bits: u64,
    outputs: Vec<WireId>,
}

impl Repeated {
    /// `body`'s gates `times` times over, with `body`'s wires, inputs and
    /// outputs.
    pub fn new(body: &Circuit, times: u64) -> Repeated {
        Repeated {
            body: body.gates().to_vec(),
            times,
            num_wires: body.num_wires(),
            input_bits: body.input_bits(),
            outputs: GateSource::output_wires(body),
        }
    }

    /// A repeated raw gate list; the list is checked as
    /// [`Plan`](crate::garble::Plan) checks any source (wires in range, no write to a
    /// constant, INV well formed).
    pub fn from_gates(
        num_wires: u32,
        input_bits: u64,
        outputs: Vec<WireId>,
        body: Vec<Gate>,
        times: u64,
    ) -> Result<Repeated, PlanError> {
        if input_bits + 2 > u64::from(num_wires) {
            return Err(PlanError::InputsExceedWires { input_bits, num_wires });
        }
        for (i, g) in body.iter().enumerate() {
            check_gate(i as u64, g, num_wires)?;
        }
        if let Some(w) = outputs.iter().find(|w| w.get() >= num_wires) {
            return Err(PlanError::WireOutOfRange { gate: u64::MAX, wire: w.get(), num_wires });
        }
        Ok(Repeated { body, times, num_wires, input_bits, outputs })
    }

    /// The repeated block.
    pub fn body(&self) -> &[Gate] {
        &self.body
    }

    /// How many times it is repeated.
    pub fn times(&self) -> u64 {
        self.times
    }

    /// AND gates over all repetitions (saturating at `u64::MAX`).
    pub fn and_count(&self) -> u64 {
        (self.body.iter().filter(|g| g.kind == GateKind::And).count() as u64).saturating_mul(self.times)
    }
}

impl GateSource for Repeated {
    fn num_wires(&self) -> u32 {
        self.num_wires
    }
    fn input_bits(&self) -> u64 {
        self.input_bits
    }
    fn output_wires(&self) -> Vec<WireId> {
        self.outputs.clone()
    }
    fn num_gates(&self) -> u64 {
        // Saturating (as `and_count`): it bounds a streaming run's tweaks.
        (self.body.len() as u64).saturating_mul(self.times)
    }
    fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
        let len = self.body.len() as u64;
        let total = self.num_gates();
        let mut pos = start.min(total);
        let mut written = 0;
        while written < out.len() && pos < total {
            // In range: pos < total = len * times, so len > 0.
            let off = (pos % len) as usize;
            let n = (out.len() - written).min(self.body.len() - off);
            out[written..written + n].copy_from_slice(&self.body[off..off + n]);
            written += n;
            pos += n as u64;
        }
        written
    }
}

/// A compiled loop, generated gate by gate ([`LoopedCircuit::read_gates`]):
/// both parties expand the same looped circuit into the same sequence, and
/// a session compares its [`LoopedCircuit::digest`].
impl GateSource for LoopedCircuit {
    fn num_wires(&self) -> u32 {
        LoopedCircuit::num_wires(self)
    }
    fn input_bits(&self) -> u64 {
        LoopedCircuit::input_bits(self)
    }
    fn output_wires(&self) -> Vec<WireId> {
        self.outputs().iter().flat_map(|o| o.wires.iter().copied()).collect()
    }
    fn num_gates(&self) -> u64 {
        LoopedCircuit::num_gates(self)
    }
    fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
        LoopedCircuit::read_gates(self, start, out)
    }
}

/// Plaintext evaluation of any [`GateSource`], streaming (memory: one bit
/// per wire plus a window of gates). `inputs` holds all input bits in wire
/// order; returns the output bits in [`GateSource::output_wires`] order.
///
/// A gate to fill a buffer that [`GateSource::read_gates`] then
/// overwrites.
pub(crate) const BLANK_GATE: Gate = Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(2));

/// The reference the garbled results are tested against.
pub fn eval_plain(source: &dyn GateSource, inputs: &[bool]) -> Result<Vec<bool>, PlanError> {
    let nw = source.num_wires();
    if inputs.len() as u64 != source.input_bits() || source.input_bits() + 2 > u64::from(nw) {
        return Err(PlanError::InputsExceedWires { input_bits: inputs.len() as u64, num_wires: nw });
    }
    let mut wires = vec![false; nw as usize];
    wires[1] = true;
    wires[2..2 + inputs.len()].copy_from_slice(inputs);
    let mut buf = vec![BLANK_GATE; 4096];
    let mut pos = 0u64;
    loop {
        let n = source.read_gates(pos, &mut buf);
        if n == 0 {
            break;
        }
        for (i, g) in buf[..n].iter().enumerate() {
            check_gate(pos + i as u64, g, nw)?;
            let (a, b) = (wires[g.a.index()], wires[g.b.index()]);
            wires[g.out.index()] = match g.kind {
                GateKind::Xor => a ^ b,
                GateKind::And => a & b,
                GateKind::Inv => !a,
            };
        }
        pos += n as u64;
    }
    source
        .output_wires()
        .iter()
        .map(|w| {
            wires.get(w.index()).copied().ok_or(PlanError::WireOutOfRange {
                gate: u64::MAX,
                wire: w.get(),
                num_wires: nw,
            })
        })
        .collect()
}
