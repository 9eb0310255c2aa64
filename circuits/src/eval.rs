//! Plaintext evaluation, bit-sliced: each wire holds a `u64` whose 64 bits
//! are 64 independent evaluations, so one pass over the gates evaluates the
//! circuit on 64 inputs at once (one AND/XOR/NOT instruction per gate).
//!
//! The plaintext evaluator is the reference the garbled engine is tested
//! against, and what `garblet eval` runs.

use crate::circuit::{Circuit, GateKind};

/// What can be wrong with the inputs handed to an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Not one value per input.
    #[error("the circuit has {expected} inputs, {got} values were given")]
    InputCount {
        /// Inputs the circuit declares.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A value of the wrong width.
    #[error("input `{name}` is {expected} bits wide, a value of {got} bits was given")]
    InputWidth {
        /// The input's name.
        name: String,
        /// Its width.
        expected: u32,
        /// The value's width.
        got: usize,
    },
    /// A `u128` evaluation of a circuit with an input or output wider than 128 bits.
    #[error("`{name}` is {width} bits wide; use eval_bits for values over 128 bits")]
    TooWide {
        /// The input or output.
        name: String,
        /// Its width.
        width: u32,
    },
}

impl Circuit {
    /// Evaluates 64 instances at once: `inputs[i][k]` holds bit `k` of input
    /// `i` for all 64 lanes. Returns `outputs[o][k]` likewise.
    pub fn eval_sliced(&self, inputs: &[Vec<u64>]) -> Result<Vec<Vec<u64>>, EvalError> {
        if inputs.len() != self.inputs().len() {
            return Err(EvalError::InputCount { expected: self.inputs().len(), got: inputs.len() });
        }
        let mut wires = vec![0u64; self.num_wires() as usize];
        wires[1] = u64::MAX;
        for (input, value) in self.inputs().iter().zip(inputs) {
            if value.len() != input.width as usize {
                return Err(EvalError::InputWidth {
                    name: input.name.clone(),
                    expected: input.width,
                    got: value.len(),
                });
            }
            let first = input.first_wire as usize;
            wires[first..first + value.len()].copy_from_slice(value);
        }
        for g in self.gates() {
            let a = wires[g.a.index()];
            let b = wires[g.b.index()];
            wires[g.out.index()] = match g.kind {
                GateKind::Xor => a ^ b,
                GateKind::And => a & b,
                GateKind::Inv => !a,
            };
        }
        Ok(self.outputs().iter().map(|o| o.wires.iter().map(|w| wires[w.index()]).collect()).collect())
    }

    /// Evaluates one instance: one `Vec<bool>` per input (least significant
    /// bit first), one per output back.
    pub fn eval_bits(&self, inputs: &[Vec<bool>]) -> Result<Vec<Vec<bool>>, EvalError> {
        let sliced: Vec<Vec<u64>> =
            inputs.iter().map(|v| v.iter().map(|&b| u64::from(b)).collect()).collect();
        let out = self.eval_sliced(&sliced)?;
        Ok(out.into_iter().map(|o| o.into_iter().map(|x| x & 1 == 1).collect()).collect())
    }

    /// Evaluates one instance on integer values (every input and output at
    /// most 128 bits wide; higher bits of a value are ignored).
    pub fn eval_u128(&self, inputs: &[u128]) -> Result<Vec<u128>, EvalError> {
        for (name, width) in self
            .inputs()
            .iter()
            .map(|i| (&i.name, i.width))
            .chain(self.outputs().iter().map(|o| (&o.name, o.width())))
        {
            if width > 128 {
                return Err(EvalError::TooWide { name: name.clone(), width });
            }
        }
        if inputs.len() != self.inputs().len() {
            return Err(EvalError::InputCount { expected: self.inputs().len(), got: inputs.len() });
        }
        let bits: Vec<Vec<bool>> =
            self.inputs().iter().zip(inputs).map(|(i, &v)| u128_to_bits(v, i.width)).collect();
        Ok(self.eval_bits(&bits)?.iter().map(|o| bits_to_u128(o)).collect())
    }
}

/// The low `width` bits of `value`, least significant first (zeros past 128).
pub fn u128_to_bits(value: u128, width: u32) -> Vec<bool> {
    (0..width).map(|k| k < 128 && (value >> k) & 1 == 1).collect()
}

/// The integer whose bit k is `bits[k]` (bits past 128 are ignored).
pub fn bits_to_u128(bits: &[bool]) -> u128 {
    bits.iter().take(128).enumerate().fold(0u128, |acc, (k, &b)| acc | (u128::from(b) << k))
}
