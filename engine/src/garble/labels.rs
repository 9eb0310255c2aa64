//! Labels and what the two sides hold of them: the evaluator's
//! [`ActiveLabel`], the garbler's input encoding ([`Encoder`]: Δ and the
//! input zero labels) and output zero labels ([`GarbledOutputs`]), and the
//! [`OutputDecoder`] the evaluator receives. Kept apart from the drivers so
//! that the split between the sides (no evaluator type holds Δ or a zero
//! label) is visible in one file.

use zeroize::Zeroize;

use garblet_circuits::{Circuit, Input, Party};

use crate::block::Block;
use crate::packed_bits;
use crate::prg::{Delta, GateSeed, Prg};

use super::error::{GarbleError, OutputDecodeError};
use super::gen_half::KnownValues;
use super::scheme::GarbleKey;

/// A wire label the evaluator holds: the label of the wire's actual value.
/// It is all the evaluator ever sees of a wire; it reveals neither the value
/// nor Δ.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct ActiveLabel(pub(super) Block);

impl ActiveLabel {
    /// A label received from the peer (or from OT).
    pub fn from_block(block: Block) -> ActiveLabel {
        ActiveLabel(block)
    }

    /// The label's block (e.g. to send it back to the garbler).
    pub fn as_block(self) -> Block {
        self.0
    }
}

/// The garbler's encoding: Δ and the zero labels of the input and constant
/// wires. Garbler-side only; zeroised on drop.
pub struct Encoder {
    pub(super) delta: Delta,
    /// The seed of the scheme's per-gate randomness (three-halves), drawn
    /// with the encoding.
    pub(super) gate_seed: GateSeed,
    pub(super) inputs: Vec<Block>,
    pub(super) constants: [Block; 2],
    /// The garbler's bits of the wires a plan garbles as generator half
    /// gates ([`Garbler::generator_half_gates`](super::Garbler::generator_half_gates)).
    pub(super) known_values: KnownValues,
}

impl Encoder {
    /// An encoding with a random Δ and random zero labels for `input_bits`
    /// input wires.
    pub fn random(input_bits: usize, prg: &mut Prg) -> Encoder {
        let delta = Delta::random(prg);
        let mut inputs = vec![Block::ZERO; input_bits];
        prg.fill_blocks(&mut inputs);
        Encoder::new(delta, inputs, prg)
    }

    /// An encoding with a given Δ and given input zero labels (in input wire
    /// order), e.g. those fixed by a correlated OT with correlation Δ. The
    /// constant wires' zero labels are drawn from `prg`.
    pub fn new(delta: Delta, input_zero_labels: Vec<Block>, prg: &mut Prg) -> Encoder {
        let constants = [prg.random_block(), prg.random_block()];
        let gate_seed = GateSeed::random(prg);
        Encoder {
            delta,
            gate_seed,
            inputs: input_zero_labels,
            constants,
            known_values: KnownValues::default(),
        }
    }

    /// This encoding with the garbler's plaintext bits of the wires its
    /// garbler treats as known ([`Garbler::generator_half_gates`]): the
    /// garbler's own input bits, by label index (input bit `i` is label
    /// `2 + i`).
    ///
    /// [`Garbler::generator_half_gates`]: super::Garbler::generator_half_gates
    pub fn with_known_values(mut self, values: KnownValues) -> Encoder {
        self.known_values = values;
        self
    }

    /// An encoding for `circuit` as the session protocol builds it: the
    /// input wires of the evaluator's inputs take, in wire order, the zero
    /// labels `evaluator_zero_labels` of a correlated OT whose correlation is
    /// `delta` (the evaluator received `zero ⊕ b·Δ` for its bit `b`); the
    /// garbler's input wires get fresh random zero labels from `prg`.
    pub fn with_ot_labels(
        circuit: &Circuit,
        delta: Delta,
        evaluator_zero_labels: &[Block],
        prg: &mut Prg,
    ) -> Result<Encoder, GarbleError> {
        let expected = circuit.input_bits_of(Party::Evaluator);
        if evaluator_zero_labels.len() as u64 != expected {
            return Err(GarbleError::InputCount { expected, got: evaluator_zero_labels.len() as u64 });
        }
        let mut zero = Vec::with_capacity(circuit.input_bits() as usize);
        let mut from_ot = evaluator_zero_labels.iter();
        for input in circuit.inputs() {
            for _ in 0..input.width {
                let ot = if input.party == Party::Evaluator { from_ot.next().copied() } else { None };
                zero.push(ot.unwrap_or_else(|| prg.random_block()));
            }
        }
        Ok(Encoder::new(delta, zero, prg))
    }

    /// The active labels of `input` (an input of the circuit this encoder was
    /// made for) holding `bits`, least significant first: what the garbler
    /// sends for its own inputs.
    pub fn encode_input(&self, input: &Input, bits: &[bool]) -> Result<Vec<ActiveLabel>, GarbleError> {
        let first = (input.first_wire as usize).saturating_sub(2);
        if bits.len() != input.width as usize || first + bits.len() > self.inputs.len() {
            return Err(GarbleError::InputCount { expected: u64::from(input.width), got: bits.len() as u64 });
        }
        Ok(self.encode_bits(first, bits))
    }

    /// Δ.
    pub fn delta(&self) -> &Delta {
        &self.delta
    }

    /// What the scheme garbles under: Δ and this encoding's gate seed.
    pub fn key(&self) -> GarbleKey<'_> {
        GarbleKey::new(&self.delta, &self.gate_seed)
    }

    /// The zero labels of the input wires, in wire order (the OT sender's
    /// messages are `zero` and `zero ⊕ Δ`).
    pub fn zero_labels(&self) -> &[Block] {
        &self.inputs
    }

    /// Number of input wires.
    pub fn input_bits(&self) -> usize {
        self.inputs.len()
    }

    /// The active labels of input bits `first, first + 1, …` holding `bits`.
    ///
    /// # Panics
    /// If `first + bits.len()` exceeds the input wires (a caller bug: input
    /// positions come from the circuit, not from the peer).
    pub fn encode_bits(&self, first: usize, bits: &[bool]) -> Vec<ActiveLabel> {
        let d = self.delta.as_block();
        self.inputs[first..first + bits.len()]
            .iter()
            .zip(bits)
            .map(|(&z, &b)| ActiveLabel(z ^ d.select(b)))
            .collect()
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        self.inputs.zeroize();
        self.constants.zeroize();
    }
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("input_bits", &self.inputs.len()).finish_non_exhaustive()
    }
}

/// What the garbler keeps of the outputs: their zero labels and Δ.
/// Garbler-side only; zeroised on drop.
pub struct GarbledOutputs {
    pub(super) delta: Delta,
    pub(super) zero: Vec<Block>,
}

impl GarbledOutputs {
    /// Number of output wires.
    pub fn len(&self) -> usize {
        self.zero.len()
    }

    /// True if the circuit has no output wire.
    pub fn is_empty(&self) -> bool {
        self.zero.is_empty()
    }

    /// Decoding information for all outputs: the lsb of each output's zero
    /// label. Give it only for outputs the evaluator may learn (see
    /// [`OutputDecoder::range`]).
    pub fn decoder(&self) -> OutputDecoder {
        OutputDecoder { bits: self.zero.iter().map(|z| z.lsb()).collect() }
    }

    /// Checks output labels sent back by the evaluator (all outputs, in
    /// order) and returns the bits; a label that is neither of its wire's two
    /// labels is an error.
    pub fn verify(&self, labels: &[ActiveLabel]) -> Result<Vec<bool>, OutputDecodeError> {
        self.verify_range(0, labels)
    }

    /// The garbler's label of output wire `index` carrying `value`
    /// (`zero ⊕ value·Δ`). Dual execution compares these with the labels
    /// the peer's evaluation produced.
    pub fn label(&self, index: usize, value: bool) -> Option<Block> {
        self.zero.get(index).map(|&z| z ^ self.delta.as_block().select(value))
    }

    /// [`GarbledOutputs::verify`] for the output wires `first, first + 1, …`.
    pub fn verify_range(&self, first: usize, labels: &[ActiveLabel]) -> Result<Vec<bool>, OutputDecodeError> {
        let zero =
            self.zero.get(first..first.saturating_add(labels.len())).ok_or(OutputDecodeError::Count {
                expected: self.zero.len().saturating_sub(first),
                got: labels.len(),
            })?;
        let d = self.delta.as_block();
        zero.iter()
            .zip(labels)
            .enumerate()
            .map(|(i, (&z, l))| match l.0 {
                x if x == z => Ok(false),
                x if x == z ^ d => Ok(true),
                _ => Err(OutputDecodeError::InvalidLabel { index: first + i }),
            })
            .collect()
    }
}

impl Drop for GarbledOutputs {
    fn drop(&mut self) {
        self.zero.zeroize();
    }
}

impl std::fmt::Debug for GarbledOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GarbledOutputs").field("len", &self.zero.len()).finish_non_exhaustive()
    }
}

/// Decoding information the evaluator receives: one bit per output wire
/// (the permute bit of the wire's zero label). Reveals nothing beyond the
/// outputs it decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputDecoder {
    bits: Vec<bool>,
}

impl OutputDecoder {
    /// Number of output wires covered.
    pub fn len(&self) -> usize {
        self.bits.len()
    }

    /// True if it covers no wire.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Decoding bits given directly (lsb of each output's zero label), e.g.
    /// the decoders of several instances joined with [`OutputDecoder::bits`].
    pub fn from_bits(bits: Vec<bool>) -> OutputDecoder {
        OutputDecoder { bits }
    }

    /// The decoding bits, one per output wire.
    pub fn bits(&self) -> &[bool] {
        &self.bits
    }

    /// The decoder of output wires `range` only.
    pub fn range(&self, range: std::ops::Range<usize>) -> Option<OutputDecoder> {
        self.bits.get(range).map(|b| OutputDecoder { bits: b.to_vec() })
    }

    /// Decodes active output labels: bit = lsb(label) ⊕ decoding bit.
    pub fn decode(&self, labels: &[ActiveLabel]) -> Result<Vec<bool>, OutputDecodeError> {
        if labels.len() != self.bits.len() {
            return Err(OutputDecodeError::Count { expected: self.bits.len(), got: labels.len() });
        }
        Ok(labels.iter().zip(&self.bits).map(|(l, &d)| l.0.lsb() ^ d).collect())
    }

    /// Packed bytes for the wire, least significant bit first
    /// (`packed_bits.rs`).
    pub fn to_bytes(&self) -> Vec<u8> {
        packed_bits::pack(&self.bits)
    }

    /// Parses [`OutputDecoder::to_bytes`] for `len` output wires: the length
    /// must be exact and unused bits zero.
    pub fn from_bytes(bytes: &[u8], len: usize) -> Result<OutputDecoder, OutputDecodeError> {
        let bits = packed_bits::unpack(bytes, len).ok_or(OutputDecodeError::Malformed)?;
        Ok(OutputDecoder { bits })
    }
}
