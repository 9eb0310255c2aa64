//! Circuit statistics: gate counts by kind, wires, AND-depth, and the
//! inputs and outputs with their widths.

use crate::circuit::{Circuit, GateKind, Party, Visibility, WireId};

/// What `garblet stats` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// AND gates (each costs 32 bytes with half-gates).
    pub and: u64,
    /// XOR gates (free).
    pub xor: u64,
    /// INV gates (free).
    pub inv: u64,
    /// All gates.
    pub gates: u64,
    /// Wires other than the two constants (for a Bristol file read as is,
    /// exactly the file's wire count; after renumbering, the peak number of
    /// live values, which bounds evaluation memory).
    pub wires: u32,
    /// The longest chain of ANDs from an input to an output (rounds of
    /// dependent hashing).
    pub and_depth: u32,
    /// `(name, owner, width)` per input.
    pub inputs: Vec<(String, Party, u32)>,
    /// `(name, visibility, width)` per output.
    pub outputs: Vec<(String, Visibility, u32)>,
}

impl Circuit {
    /// Computes the [`Stats`] in one pass over the gates (two if the AND
    /// depth reaches 65,535).
    pub fn stats(&self) -> Stats {
        let (mut and, mut xor, mut inv) = (0u64, 0u64, 0u64);
        for g in self.gates() {
            match g.kind {
                GateKind::And => and += 1,
                GateKind::Xor => xor += 1,
                GateKind::Inv => inv += 1,
            }
        }
        // The depths in 16 bits where they fit: half the memory of 32, so
        // that a large circuit's table stays in the caches longer.
        let and_depth = and_depth_u16(self).unwrap_or_else(|| and_depth_u32(self));
        Stats {
            and,
            xor,
            inv,
            gates: self.gates().len() as u64,
            wires: self.num_wires().saturating_sub(WireId::FIRST_FREE),
            and_depth,
            inputs: self.inputs().iter().map(|i| (i.name.clone(), i.party, i.width)).collect(),
            outputs: self.outputs().iter().map(|o| (o.name.clone(), o.visibility, o.width())).collect(),
        }
    }
}

/// The AND depth of `circuit`, the depths kept in 16 bits; `None` if it
/// reaches 65,535.
fn and_depth_u16(circuit: &Circuit) -> Option<u32> {
    let mut depth = vec![0u16; circuit.num_wires() as usize];
    let mut deepest = 0;
    for g in circuit.gates() {
        let d = depth[g.a.index()].max(depth[g.b.index()]);
        let d = if g.kind == GateKind::And { d.checked_add(1).filter(|&d| d < u16::MAX)? } else { d };
        depth[g.out.index()] = d;
        deepest = deepest.max(d);
    }
    Some(u32::from(deepest))
}

/// The AND depth of `circuit`, the depths kept in 32 bits.
fn and_depth_u32(circuit: &Circuit) -> u32 {
    let mut depth = vec![0u32; circuit.num_wires() as usize];
    let mut deepest = 0;
    for g in circuit.gates() {
        let d = depth[g.a.index()].max(depth[g.b.index()]);
        let d = if g.kind == GateKind::And { d.saturating_add(1) } else { d };
        depth[g.out.index()] = d;
        deepest = deepest.max(d);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use crate::circuit::{Circuit, Gate, InputSpec, Output, Party, Visibility, WireId};

    /// A chain of `n` ANDs (each of the previous result and the input),
    /// with a free gate after each: AND depth `n`.
    fn chain(n: u32) -> Circuit {
        let x = WireId::new(2);
        let mut gates = Vec::new();
        let mut last = x;
        for k in 0..n {
            let w = WireId::new(3 + 2 * k);
            gates.push(Gate::and(last, x, w));
            gates.push(Gate::inv(w, WireId::new(w.get() + 1)));
            last = WireId::new(w.get() + 1);
        }
        let out = Output { name: "o".into(), visibility: Visibility::Both, wires: vec![last] };
        Circuit::new(3 + 2 * n, vec![InputSpec::new("x", Party::Garbler, 1)], vec![out], gates).unwrap()
    }

    #[test]
    fn and_depth_past_sixteen_bits() {
        for n in [0, 1, 65_533, 65_534, 65_535, 65_536, 70_000] {
            let s = chain(n).stats();
            assert_eq!(
                (s.and_depth, s.and, s.inv, s.gates),
                (n, u64::from(n), u64::from(n), 2 * u64::from(n))
            );
        }
    }
}
