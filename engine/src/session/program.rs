//! What both parties run: the public description the hello compares and the
//! compiled batching schedule of the gates, in one of a few shapes (a
//! materialised circuit, a body repeated, a batch of copies, a stream).

use super::dualex::masking::{mask_private_outputs, mask_private_outputs_looped, Mask};
use super::error::{InputError, SessionError};
use crate::garble::{GateSource, KnownValues, KnownWires, Plan, Repeated};
use garblet_circuits::{Circuit, Gate, GateFile, GateKind, LoopedCircuit, Party, Visibility};

/// An input as the hello describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputDesc {
    /// Its name.
    pub name: String,
    /// Who supplies it.
    pub owner: Party,
    /// Its width in bits.
    pub width: u32,
}

/// An output as the hello describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputDesc {
    /// Its name.
    pub name: String,
    /// Who learns it.
    pub to: Visibility,
    /// Its width in bits.
    pub width: u32,
}

/// What both parties run: the public description that the hello compares
/// (input names, owners and widths; output names, visibility and widths; a
/// digest of the gates) and the compiled batching schedule of the gates.
pub struct SessionProgram<'p> {
    inputs: Vec<InputDesc>,
    outputs: Vec<OutputDesc>,
    digest: [u8; 32],
    and_count: u64,
    pub(crate) plan: Plan<'p>,
    shape: Shape,
    /// Dual execution: the outputs meant for one party, masked in the
    /// circuit by that party's random input.
    pub(crate) masks: Vec<Mask>,
    /// The input wires no gate writes (a looped program's; empty for the
    /// others), as a set of wire numbers: the AND gates that read one of
    /// the garbling party's are generator half gates
    /// ([`SessionProgram::half_gate_wires`]). A bit per input wire, not a
    /// list: a client's 100,000 records are 12.9 M unwritten input wires.
    unwritten_inputs: KnownWires,
    /// The generator half gates of the whole program when the garbler
    /// (index 0) or the evaluator (index 1) garbles (for progress reports).
    half_ands: [u64; 2],
}

/// How the plan's gates cover the program.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// One run of the plan is the whole program.
    Single,
    /// `copies` runs of the plan (a body with a shared first input, one
    /// per-copy input and one output), each with its own input labels and
    /// its own range of tweaks, under one Δ.
    Batch { copies: u64, shared_bits: usize, own_bits: usize, ands: u64 },
}

impl std::fmt::Debug for SessionProgram<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionProgram")
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("and_count", &self.and_count)
            .finish_non_exhaustive()
    }
}

fn describe(c: &Circuit) -> (Vec<InputDesc>, Vec<OutputDesc>) {
    (
        c.inputs()
            .iter()
            .map(|i| InputDesc { name: i.name.clone(), owner: i.party, width: i.width })
            .collect(),
        c.outputs()
            .iter()
            .map(|o| OutputDesc { name: o.name.clone(), to: o.visibility, width: o.width() })
            .collect(),
    )
}

impl SessionProgram<'static> {
    /// A materialised circuit.
    pub fn from_circuit(circuit: &Circuit) -> Result<Self, SessionError> {
        let plan = Plan::compile(circuit)?;
        let (inputs, outputs) = describe(circuit);
        Ok(SessionProgram {
            inputs,
            outputs,
            digest: circuit.digest().0,
            and_count: circuit.and_count(),
            plan,
            shape: Shape::Single,
            masks: Vec::new(),
            unwritten_inputs: KnownWires::default(),
            half_ands: [0; 2],
        })
    }

    /// A materialised circuit prepared for dual execution: every output
    /// meant for one party only is XORed inside the circuit with a fresh
    /// random input of that party and revealed to both, so that the other
    /// party sees only a uniformly random value. The session adds the mask
    /// inputs and removes the masks; callers give the circuit's own inputs.
    /// A circuit whose outputs are all public is unchanged.
    pub fn for_dual_execution(circuit: &Circuit) -> Result<Self, SessionError> {
        let (masked, masks) = mask_private_outputs(circuit)?;
        let mut program = SessionProgram::from_circuit(&masked)?;
        program.masks = masks;
        Ok(program)
    }

    /// [`SessionProgram::for_dual_execution`] for a looped circuit (a loop
    /// that streams, [`SessionProgram::looped`]): the one-party outputs
    /// masked alike, by XORs appended to its epilogue, and the body still
    /// scheduled once and replayed, in both executions.
    pub fn looped_for_dual_execution(looped: &LoopedCircuit) -> Result<Self, SessionError> {
        let (masked, masks) = mask_private_outputs_looped(looped)?;
        let mut program = SessionProgram::looped(&masked)?;
        program.masks = masks;
        Ok(program)
    }

    /// `body` run `times` times over (see [`Repeated`]): a long circuit for
    /// throughput and memory measurements, with `body`'s inputs and outputs.
    /// The outputs equal one run of `body` only if `body` never overwrites
    /// its input wires (a circuit from `opt::renumber_wires` may).
    pub fn repeated(body: &Circuit, times: u64) -> Result<Self, SessionError> {
        let source = Repeated::new(body, times);
        let plan = Plan::repeated(&source)?;
        let (inputs, outputs) = describe(body);
        let mut h = blake3::Hasher::new();
        h.update(b"garblet repeated circuit v1");
        h.update(&body.digest().0);
        h.update(&times.to_le_bytes());
        Ok(SessionProgram {
            inputs,
            outputs,
            digest: *h.finalize().as_bytes(),
            and_count: source.and_count(),
            plan,
            shape: Shape::Single,
            masks: Vec::new(),
            unwritten_inputs: KnownWires::default(),
            half_ands: [0; 2],
        })
    }

    /// The same circuit on many inputs: `body` (exactly two inputs and one
    /// output) run `copies` times, its first input shared by every copy (say
    /// an AES key) and its second fresh per copy (say 1,000 plaintext
    /// blocks). The program's second input is the copies' inputs
    /// concatenated, its output the copies' outputs concatenated. The body's
    /// schedule is compiled once; every copy is garbled under the same Δ
    /// with its own range of tweaks.
    pub fn batch(body: &Circuit, copies: u64) -> Result<Self, SessionError> {
        let (ins, outs) = describe(body);
        let ([shared, own], [out]) = (&ins[..], &outs[..]) else {
            return Err(InputError::BatchShape.into());
        };
        let times = |w: u32| u32::try_from(u64::from(w) * copies).map_err(|_| InputError::BatchTooLarge);
        let inputs = vec![shared.clone(), InputDesc { width: times(own.width)?, ..own.clone() }];
        let outputs = vec![OutputDesc { width: times(out.width)?, ..out.clone() }];
        let plan = Plan::compile(body)?;
        let mut h = blake3::Hasher::new();
        h.update(b"garblet batch v1");
        h.update(&body.digest().0);
        h.update(&copies.to_le_bytes());
        Ok(SessionProgram {
            inputs,
            outputs,
            digest: *h.finalize().as_bytes(),
            and_count: body.and_count().saturating_mul(copies),
            plan,
            shape: Shape::Batch {
                copies,
                shared_bits: shared.width as usize,
                own_bits: own.width as usize,
                ands: body.and_count(),
            },
            masks: Vec::new(),
            unwritten_inputs: KnownWires::default(),
            half_ands: [0; 2],
        })
    }
}

impl<'p> SessionProgram<'p> {
    /// Binds `terms` into the digest the hello compares: name = value
    /// pairs that shape the computation but that the gates alone may not
    /// show, such as the constants a program was compiled with
    /// (`garblet run --const N=…`). Two parties whose terms differ (in any
    /// name, value or order) are refused by the hello as for different
    /// circuits. With no terms the digest is unchanged.
    ///
    /// The digest becomes `blake3` in derive-key mode, context
    /// `"garblet program terms v1"`, over the previous digest, the number
    /// of terms, and each name and value, length-prefixed.
    pub fn with_terms(mut self, terms: &[(String, String)]) -> Self {
        if terms.is_empty() {
            return self;
        }
        let mut h = blake3::Hasher::new_derive_key("garblet program terms v1");
        h.update(&self.digest);
        h.update(&(terms.len() as u64).to_le_bytes());
        for (name, value) in terms {
            for part in [name, value] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        }
        self.digest = *h.finalize().as_bytes();
        self
    }

    /// A materialised circuit planned window by window during the run
    /// ([`Plan::pipelined`]): one backward pass over the circuit now (a
    /// byte per gate), then planning on a helper thread that overlaps the
    /// OT and the garbling, with wires renamed so that the run's labels
    /// follow the live values rather than the circuit's wire count. The
    /// choice for a large circuit run once (a Bristol file of millions of
    /// gates); [`SessionProgram::from_circuit`] keeps a compiled plan
    /// (about 20 bytes per gate) for a circuit run many times. The digest
    /// and the tables are the same either way.
    pub fn pipelined(circuit: &'p Circuit) -> Result<Self, SessionError> {
        let plan = Plan::pipelined(circuit)?;
        let (inputs, outputs) = describe(circuit);
        Ok(SessionProgram {
            inputs,
            outputs,
            digest: circuit.digest().0,
            and_count: plan.and_count().unwrap_or_else(|| circuit.and_count()),
            plan,
            shape: Shape::Single,
            masks: Vec::new(),
            unwritten_inputs: KnownWires::default(),
            half_ands: [0; 2],
        })
    }

    /// [`SessionProgram::pipelined`] for a circuit the program may take
    /// ([`Plan::renamed`]): its wires are renamed in place now, so the run
    /// holds the gates and nothing per wire, and only compiles windows. The
    /// choice for the largest circuits run once; the digest is the
    /// circuit's as given.
    pub fn from_owned_circuit(circuit: Circuit) -> Result<Self, SessionError> {
        let (inputs, outputs) = describe(&circuit);
        let digest = circuit.digest().0;
        let plan = Plan::renamed(circuit)?;
        Ok(SessionProgram {
            inputs,
            outputs,
            digest,
            and_count: plan.and_count().unwrap_or(0),
            plan,
            shape: Shape::Single,
            masks: Vec::new(),
            unwritten_inputs: KnownWires::default(),
            half_ands: [0; 2],
        })
    }

    /// A binary circuit file, planned straight from the file
    /// ([`Plan::renamed_from_source`]): the gate list is never held, and
    /// the plan is made before the run, as for
    /// [`SessionProgram::from_owned_circuit`], with the same tables. The
    /// file is checked and hashed as the plan reads it; a file that is not
    /// a valid circuit is [`SessionError::CircuitFile`] (before any plan
    /// error: a malformed gate is named as [`Circuit::new`] names it).
    pub fn from_gate_file(file: &GateFile) -> Result<Self, SessionError> {
        let plan = Plan::renamed_from_source(file);
        // The rest of the file is checked (and hashed) even when planning
        // stopped: the file's own error comes first.
        let digest = file.finish()?;
        let plan = plan?;
        let interface = file.interface();
        let (inputs, outputs) = describe(&interface);
        Ok(SessionProgram {
            inputs,
            outputs,
            digest: digest.0,
            and_count: plan.and_count().unwrap_or(0),
            plan,
            shape: Shape::Single,
            masks: Vec::new(),
            unwritten_inputs: KnownWires::default(),
            half_ands: [0; 2],
        })
    }

    /// Any gate source, streamed (never materialised), with its public
    /// description; `digest` must identify the gates (both sides compare it).
    /// The inputs' widths must add up to the source's input bits and the
    /// outputs' to its output wires.
    pub fn streaming(
        source: &'p dyn GateSource,
        inputs: Vec<InputDesc>,
        outputs: Vec<OutputDesc>,
        digest: [u8; 32],
        and_count: u64,
    ) -> Result<Self, SessionError> {
        let in_bits: u64 = inputs.iter().map(|i| u64::from(i.width)).sum();
        let out_bits: u64 = outputs.iter().map(|o| u64::from(o.width)).sum();
        if in_bits != source.input_bits() || out_bits != source.output_wires().len() as u64 {
            return Err(InputError::SourceMismatch {
                described_inputs: in_bits,
                described_outputs: out_bits,
                source_inputs: source.input_bits(),
                source_outputs: source.output_wires().len() as u64,
            }
            .into());
        }
        let plan = Plan::streaming(source)?;
        Ok(SessionProgram {
            inputs,
            outputs,
            digest,
            and_count,
            plan,
            shape: Shape::Single,
            masks: Vec::new(),
            unwritten_inputs: KnownWires::default(),
            half_ands: [0; 2],
        })
    }

    /// A compiled loop ([`LoopedCircuit`]): its body is scheduled once and
    /// replayed per run of records ([`Plan::looped`]), so memory is the
    /// wire space and the schedule of the stored gates, never the expanded
    /// loop, and planning takes the time of the stored gates. The digest
    /// is [`LoopedCircuit::digest`].
    pub fn looped(looped: &LoopedCircuit) -> Result<Self, SessionError> {
        let (inputs, outputs) = (
            looped
                .inputs()
                .iter()
                .map(|i| InputDesc { name: i.name.clone(), owner: i.party, width: i.width })
                .collect(),
            looped
                .outputs()
                .iter()
                .map(|o| OutputDesc { name: o.name.clone(), to: o.visibility, width: o.width() })
                .collect(),
        );
        let unwritten = unwritten_inputs(looped);
        Ok(SessionProgram {
            inputs,
            outputs,
            digest: looped.digest(),
            and_count: looped.and_count(),
            plan: Plan::looped(looped)?,
            shape: Shape::Single,
            masks: Vec::new(),
            half_ands: [Party::Garbler, Party::Evaluator].map(|p| half_and_count(looped, &unwritten, p)),
            unwritten_inputs: unwritten,
        })
    }

    /// The generator half gates of the whole program when `gp` garbles
    /// (see [`SessionProgram::half_gate_wires`]).
    pub(crate) fn half_gate_count(&self, gp: Party) -> u64 {
        self.half_ands[usize::from(gp == Party::Evaluator)]
    }

    /// The wires whose AND gates party `gp`, garbling, garbles as generator
    /// half gates: its input wires that no gate writes (so their labels are
    /// its input labels for the whole run, and their values its input
    /// bits). Only looped programs have any: both parties plan them the
    /// same way ([`Plan::looped`] reads input wires in place), and both
    /// derive this set from the program and the input owners the hello
    /// compared.
    pub(crate) fn half_gate_wires(&self, gp: Party) -> KnownWires {
        owned_unwritten_wires(self.inputs.iter().map(|i| (i.owner, i.width)), &self.unwritten_inputs, gp)
    }

    /// The garbler's bits of [`SessionProgram::half_gate_wires`]: `own_bits`
    /// are party `gp`'s input bits, in input order.
    pub(crate) fn half_gate_values(&self, gp: Party, own_bits: &[bool]) -> KnownValues {
        KnownValues::from_bits(
            self.owned_unwritten(gp).filter_map(|(wire, k)| Some((wire, *own_bits.get(k)?))),
        )
    }

    /// `(wire, position among gp's input bits)` of gp's unwritten input wires.
    fn owned_unwritten(&self, gp: Party) -> impl Iterator<Item = (u32, usize)> + '_ {
        // Input bit i is wire 2 + i; gp's k-th bit is the k-th of its inputs' bits.
        let mut owned = Vec::new();
        let (mut wire, mut k) = (2u32, 0usize);
        for i in &self.inputs {
            if i.owner == gp && !self.unwritten_inputs.is_empty() {
                owned.extend((0..i.width).map(|j| (wire + j, k + j as usize)));
                k += i.width as usize;
            }
            wire += i.width;
        }
        owned.into_iter().filter(|&(w, _)| self.unwritten_inputs.contains(w))
    }

    /// AND gates.
    pub fn and_count(&self) -> u64 {
        self.and_count
    }

    /// The inputs, in wire order.
    pub fn inputs(&self) -> &[InputDesc] {
        &self.inputs
    }

    /// The outputs, in order.
    pub fn outputs(&self) -> &[OutputDesc] {
        &self.outputs
    }

    /// The digest both sides compare.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// Dual execution reveals every output to both parties (a private
    /// output must have been masked by [`SessionProgram::for_dual_execution`]).
    pub(crate) fn check_dual_execution(&self) -> Result<(), InputError> {
        match self.outputs.iter().find(|o| o.to != Visibility::Both) {
            Some(o) => Err(InputError::DualexNeedsPublicOutputs(o.name.clone())),
            None => Ok(()),
        }
    }

    /// How many runs of the plan make the program.
    pub(crate) fn instances(&self) -> u64 {
        match self.shape {
            Shape::Single => 1,
            Shape::Batch { copies, .. } => copies,
        }
    }

    /// The labels of the program's input bits (`all`, in wire order) that
    /// run `k` reads: the shared bits, then run `k`'s own, gathered; a
    /// single run reads every input and takes `all` itself (leaving it
    /// empty), with the room it was allocated with
    /// ([`SessionProgram::input_label_capacity`]).
    pub(crate) fn instance_labels<T: Copy>(&self, k: u64, all: &mut Vec<T>) -> Vec<T> {
        match self.shape {
            Shape::Single => std::mem::take(all),
            Shape::Batch { shared_bits, own_bits, .. } => {
                let first = shared_bits + k as usize * own_bits;
                let mut labels = Vec::with_capacity(shared_bits + own_bits);
                labels.extend_from_slice(&all[..shared_bits]);
                labels.extend_from_slice(&all[first..first + own_bits]);
                labels
            }
        }
    }

    /// The room (in labels) to allocate for the labels of every input bit:
    /// for a single run, what its label file may take over
    /// (`garble::input_label_room`); a batch's runs gather theirs.
    pub(crate) fn input_label_capacity(&self) -> usize {
        let total = self.total_input_bits();
        match self.shape {
            Shape::Single => total.max(crate::garble::input_label_room(&self.plan)),
            Shape::Batch { .. } => total,
        }
    }

    /// The first AND index (tweak range) of run `k`.
    pub(crate) fn first_and(&self, k: u64) -> u64 {
        match self.shape {
            Shape::Single => 0,
            // Saturating: a product past u64 must not wrap onto an earlier
            // run's tweaks; the garbler and evaluator refuse it instead.
            Shape::Batch { ands, .. } => k.saturating_mul(ands),
        }
    }

    pub(crate) fn total_input_bits(&self) -> usize {
        self.inputs.iter().map(|i| i.width as usize).sum()
    }

    pub(crate) fn input_bits_of(&self, party: Party) -> usize {
        self.inputs.iter().filter(|i| i.owner == party).map(|i| i.width as usize).sum()
    }

    /// Output ranges (in the concatenated output labels) `party` may learn.
    pub(crate) fn visible_ranges(&self, party: Party) -> Vec<(usize, std::ops::Range<usize>)> {
        self.output_ranges().into_iter().filter(|(k, _)| self.outputs[*k].to.reveals_to(party)).collect()
    }

    /// Every output's range in the concatenated output labels.
    pub(crate) fn output_ranges(&self) -> Vec<(usize, std::ops::Range<usize>)> {
        let mut start = 0;
        let mut out = Vec::new();
        for (k, OutputDesc { width, .. }) in self.outputs.iter().enumerate() {
            let end = start + *width as usize;
            out.push((k, start..end));
            start = end;
        }
        out
    }

    /// Total output bits.
    pub(crate) fn output_bits(&self) -> usize {
        self.outputs.iter().map(|o| o.width as usize).sum()
    }
}

/// The input wires of `looped` that no gate writes (before a loop, in its
/// body or in the epilogue): a word per 64 inputs, not a pass per input.
fn unwritten_inputs(looped: &LoopedCircuit) -> KnownWires {
    // Input wires are wire ids: below 2^32 (checked by the circuit).
    let end = u32::try_from(2 + looped.input_bits()).unwrap_or(u32::MAX);
    let mut unwritten = KnownWires::range(2, end);
    let gates =
        looped.loops().iter().flat_map(|l| l.before().iter().chain(l.body())).chain(looped.epilogue());
    for g in gates {
        unwritten.remove(g.out.get());
    }
    unwritten
}

/// The AND gates of `looped`, run as the plan runs them, that read an
/// input wire of `party`'s that no gate writes (`unwritten`).
fn half_and_count(looped: &LoopedCircuit, unwritten: &KnownWires, party: Party) -> u64 {
    let known = owned_unwritten_wires(looped.inputs().iter().map(|i| (i.party, i.width)), unwritten, party);
    let count = |gates: &[Gate]| {
        gates
            .iter()
            .filter(|g| g.kind == GateKind::And && (known.contains(g.a.get()) || known.contains(g.b.get())))
            .count() as u64
    };
    let loops = looped.loops().iter().fold(0u64, |n, l| {
        n.saturating_add(count(l.before())).saturating_add(count(l.body()).saturating_mul(l.iterations()))
    });
    loops.saturating_add(count(looped.epilogue()))
}

/// The input wires of `party` (inputs given in order as `(owner, width)`,
/// input bit `i` being wire `2 + i`) that `unwritten` holds: a word per 64
/// wires.
fn owned_unwritten_wires(
    owners: impl Iterator<Item = (Party, u32)>,
    unwritten: &KnownWires,
    party: Party,
) -> KnownWires {
    let (mut wire, mut owned) = (2u32, KnownWires::default());
    for (owner, width) in owners {
        if owner == party {
            owned.insert_range(wire, wire.saturating_add(width));
        }
        wire = wire.saturating_add(width);
    }
    owned.intersection(unwritten)
}
