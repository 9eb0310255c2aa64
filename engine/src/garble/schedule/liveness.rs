//! Liveness over a whole circuit: for each gate, whether its value is still
//! needed after its window ([`Escapes`]). Only whole-circuit plans know it;
//! XOR folding (`fuse.rs`) and the window's write-backs (`window.rs`) use
//! it to keep values that leave the window and drop those that do not.

use crate::garble::source::{check_gate, GateSource, BLANK_GATE};

/// For every gate of a whole circuit, whether its value is still needed
/// after the end of its window: it is the last write to its wire in the
/// window, and the wire is read after the window before being written again
/// (or is live after the circuit). A bit per gate.
pub(super) struct Escapes {
    bits: Vec<u64>,
}

impl Escapes {
    /// Liveness over `source`, cut into windows of `window_gates` gates as
    /// `compile_all` (in `schedule/mod.rs`) cuts it, with the wires
    /// `live_after` needed after the last gate. `None` if a gate is
    /// malformed (the compiler reports it).
    pub(super) fn compute(
        source: &dyn GateSource,
        window_gates: usize,
        live_after: &[u32],
    ) -> Option<Escapes> {
        let nw = source.num_wires();
        let total = source.num_gates();
        let mut live = vec![false; nw as usize];
        for &w in live_after {
            *live.get_mut(w as usize)? = true;
        }
        let mut seen = vec![false; nw as usize];
        let mut bits = vec![0u64; usize::try_from(total.div_ceil(64)).ok()?];
        let mut buf = vec![BLANK_GATE; window_gates];
        for k in (0..total.div_ceil(window_gates as u64)).rev() {
            let start = k * window_gates as u64;
            let n = source.read_gates(start, &mut buf);
            let gates = &buf[..n];
            if gates.iter().enumerate().any(|(i, g)| check_gate(start + i as u64, g, nw).is_err()) {
                return None;
            }
            // The window's last write to each wire escapes if the wire is
            // live at the window's end.
            for (i, g) in gates.iter().enumerate().rev() {
                let out = g.out.index();
                if !seen[out] {
                    seen[out] = true;
                    if live[out] {
                        let bit = start + i as u64;
                        bits[(bit / 64) as usize] |= 1 << (bit % 64);
                    }
                }
            }
            // Liveness at the window's start.
            for g in gates.iter().rev() {
                seen[g.out.index()] = false;
                live[g.out.index()] = false;
                live[g.a.index()] = true;
                live[g.b.index()] = true;
            }
        }
        Some(Escapes { bits })
    }

    pub(super) fn get(&self, gate: u64) -> bool {
        self.bits.get((gate / 64) as usize).is_some_and(|b| (b >> (gate % 64)) & 1 == 1)
    }
}
