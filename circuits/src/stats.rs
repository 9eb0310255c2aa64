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
    /// Computes the [`Stats`] in one pass over the gates.
    pub fn stats(&self) -> Stats {
        let (mut and, mut xor, mut inv) = (0u64, 0u64, 0u64);
        let mut depth = vec![0u32; self.num_wires() as usize];
        let mut and_depth = 0;
        for g in self.gates() {
            let d = depth[g.a.index()].max(depth[g.b.index()]);
            let d = match g.kind {
                GateKind::And => {
                    and += 1;
                    d + 1
                }
                GateKind::Xor => {
                    xor += 1;
                    d
                }
                GateKind::Inv => {
                    inv += 1;
                    d
                }
            };
            depth[g.out.index()] = d;
            and_depth = and_depth.max(d);
        }
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
