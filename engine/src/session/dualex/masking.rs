//! Per-party outputs under dual execution. Both parties evaluate a garbled
//! copy of the program, so both would learn every output. An output meant
//! for one party is therefore XORed, inside the circuit, with a fresh
//! uniformly random input of that party, and revealed to both: the other
//! party sees a one-time-padded value, the owner removes its pad after the
//! equality check. The XORs are free gates, so the AND count is unchanged.

use crate::session::error::InputError;
use garblet_circuits::{
    Circuit, Gate, Input, InputSpec, Loop, LoopedCircuit, Output, Party, Visibility, WireId,
};

/// One masked output: the mask input's name, the output's index, and the
/// party that owns both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mask {
    pub(crate) input: String,
    pub(crate) output: usize,
    pub(crate) owner: Party,
}

/// The mask input's name for output `name`. Program identifiers and
/// Bristol names never contain a space, so it cannot clash.
fn mask_name(name: &str) -> String {
    format!("dualex mask {name}")
}

/// `circuit` with every one-party output masked by that party's new input
/// (appended after the existing inputs), and the list of masks. A circuit
/// whose outputs are all public comes back unchanged.
pub(crate) fn mask_private_outputs(circuit: &Circuit) -> Result<(Circuit, Vec<Mask>), InputError> {
    let Some(m) =
        Masking::new(circuit.inputs(), circuit.outputs(), circuit.input_bits(), circuit.num_wires())?
    else {
        return Ok((circuit.clone(), Vec::new()));
    };
    let mut gates = m.remap_gates(circuit.gates());
    let (inputs, outputs, masks) = m.finish(&mut gates)?;
    let masked =
        Circuit::new(m.num_wires, inputs, outputs, gates).map_err(|e| InputError::Masking(e.to_string()))?;
    Ok((masked, masks))
}

/// [`mask_private_outputs`] for a looped circuit (a loop that streams):
/// the same mask inputs, every wire past the inputs moved up alike in
/// every loop's gates before it and body and in the epilogue (the record
/// windows lie in inputs, so they do not move), and the XORs with the masks appended to
/// the epilogue.
pub(crate) fn mask_private_outputs_looped(
    looped: &LoopedCircuit,
) -> Result<(LoopedCircuit, Vec<Mask>), InputError> {
    let Some(m) = Masking::new(looped.inputs(), looped.outputs(), looped.input_bits(), looped.num_wires())?
    else {
        return Ok((looped.clone(), Vec::new()));
    };
    let loops = looped
        .loops()
        .iter()
        .map(|l| {
            let (before, body) = (m.remap_gates(l.before()), m.remap_gates(l.body()));
            Loop::new(before, body, l.windows().to_vec(), l.iterations())
        })
        .collect();
    let mut epilogue = m.remap_gates(looped.epilogue());
    let (inputs, outputs, masks) = m.finish(&mut epilogue)?;
    let masked = LoopedCircuit::with_loops(m.num_wires, inputs, outputs, loops, epilogue)
        .map_err(|e| InputError::Masking(e.to_string()))?;
    Ok((masked, masks))
}

/// A masked circuit's inputs (the masks appended), outputs and masks.
type MaskedInterface = (Vec<InputSpec>, Vec<Output>, Vec<Mask>);

/// The masking of one circuit's outputs, whatever holds its gates.
struct Masking<'c> {
    inputs: &'c [Input],
    outputs: &'c [Output],
    /// The one-party outputs: index, output, owner.
    private: Vec<(usize, &'c Output, Party)>,
    /// The mask inputs' bits, and the first wire past the old inputs.
    mask_bits: u32,
    input_end: u32,
    /// The first wire for the masked outputs, and the new wire count.
    first_out: u32,
    num_wires: u32,
}

impl<'c> Masking<'c> {
    /// `None` when every output is public.
    fn new(
        inputs: &'c [Input],
        outputs: &'c [Output],
        input_bits: u64,
        num_wires: u32,
    ) -> Result<Option<Masking<'c>>, InputError> {
        let private: Vec<(usize, &Output, Party)> = outputs
            .iter()
            .enumerate()
            .filter_map(|(k, o)| match o.visibility {
                Visibility::Both => None,
                Visibility::Garbler => Some((k, o, Party::Garbler)),
                Visibility::Evaluator => Some((k, o, Party::Evaluator)),
            })
            .collect();
        if private.is_empty() {
            return Ok(None);
        }
        let too_big = || InputError::Masking("the masked circuit needs more than 2^32 wires".into());
        let mask_bits: u32 =
            private.iter().try_fold(0u32, |acc, (_, o, _)| acc.checked_add(o.width())).ok_or_else(too_big)?;
        let input_end = WireId::FIRST_FREE + u32::try_from(input_bits).map_err(|_| too_big())?;
        let first_out = num_wires.max(input_end).checked_add(mask_bits).ok_or_else(too_big)?;
        let num_wires = first_out.checked_add(mask_bits).ok_or_else(too_big)?;
        Ok(Some(Masking { inputs, outputs, private, mask_bits, input_end, first_out, num_wires }))
    }

    /// Wires past the inputs move up by the mask inputs' width.
    fn remap(&self, w: WireId) -> WireId {
        if w.get() >= self.input_end {
            WireId::new(w.get() + self.mask_bits)
        } else {
            w
        }
    }

    fn remap_gates(&self, gates: &[Gate]) -> Vec<Gate> {
        gates
            .iter()
            .map(|g| Gate { a: self.remap(g.a), b: self.remap(g.b), out: self.remap(g.out), kind: g.kind })
            .collect()
    }

    /// The inputs with the masks appended, the outputs (private ones
    /// masked and public), and the masks; the XORs appended to `gates`.
    fn finish(&self, gates: &mut Vec<Gate>) -> Result<MaskedInterface, InputError> {
        let mut inputs: Vec<InputSpec> =
            self.inputs.iter().map(|i| InputSpec::new(i.name.clone(), i.party, i.width)).collect();
        let mut outputs: Vec<Output> = self
            .outputs
            .iter()
            .map(|o| Output {
                name: o.name.clone(),
                visibility: o.visibility,
                wires: o.wires.iter().map(|&w| self.remap(w)).collect(),
            })
            .collect();
        let mut masks = Vec::with_capacity(self.private.len());
        let (mut next, mut mask_wire) = (self.first_out, self.input_end);
        for &(k, o, owner) in &self.private {
            let name = mask_name(&o.name);
            if self.inputs.iter().any(|i| i.name == name) {
                return Err(InputError::Masking(format!("the program already has an input named `{name}`")));
            }
            inputs.push(InputSpec::new(name.clone(), owner, o.width()));
            let mut wires = Vec::with_capacity(o.wires.len());
            for &w in &outputs[k].wires {
                let out = WireId::new(next);
                gates.push(Gate::xor(w, WireId::new(mask_wire), out));
                wires.push(out);
                next += 1;
                mask_wire += 1;
            }
            outputs[k] = Output { name: o.name.clone(), visibility: Visibility::Both, wires };
            masks.push(Mask { input: name, output: k, owner });
        }
        Ok((inputs, outputs, masks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use garblet_circuits::{Builder, Sign};

    #[test]
    fn masked_outputs_are_the_value_xor_the_mask() {
        let mut b = Builder::new();
        let x = b.input("x", Party::Garbler, 8).unwrap();
        let y = b.input("y", Party::Evaluator, 8).unwrap();
        let sum = b.add(&x, &y);
        let gt = b.gt(&x, &y, Sign::Unsigned);
        let prod = b.mul(&x, &y);
        b.output("sum", Visibility::Garbler, sum).unwrap();
        b.output("gt", Visibility::Both, vec![gt]).unwrap();
        b.output("prod", Visibility::Evaluator, prod).unwrap();
        let c = garblet_circuits::opt::optimize(&b.finish().unwrap());
        let (m, masks) = mask_private_outputs(&c).unwrap();
        assert_eq!(m.and_count(), c.and_count(), "masking adds no AND gate");
        assert_eq!(masks.len(), 2);
        assert!(m.outputs().iter().all(|o| o.visibility == Visibility::Both));
        let bits = |v: u64, w: usize| garblet_circuits::eval::u128_to_bits(v.into(), w as u32);
        for (xv, yv, m1, m2) in [(200u64, 100u64, 0x5au64, 0xc3u64), (3, 9, 0, 0xff)] {
            let plain = c.eval_bits(&[bits(xv, 8), bits(yv, 8)]).unwrap();
            let masked = m.eval_bits(&[bits(xv, 8), bits(yv, 8), bits(m1, 8), bits(m2, 8)]).unwrap();
            let xor = |a: &[bool], b: &[bool]| a.iter().zip(b).map(|(p, q)| p ^ q).collect::<Vec<bool>>();
            assert_eq!(masked[0], xor(&plain[0], &bits(m1, 8)));
            assert_eq!(masked[1], plain[1]);
            assert_eq!(masked[2], xor(&plain[2], &bits(m2, 8)));
        }
    }
}
