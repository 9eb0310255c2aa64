//! Per-line AND costs ([`crate::Program::line_costs`]).
//!
//! While lowering, every gate the builder emits belongs to the source line
//! being lowered (a list of `(first gate, line)` segments); afterwards a
//! backward liveness pass counts each line's AND gates that an output
//! depends on. Apart from the walk so that attribution (which line a gate
//! is charged to) is decided in one place.

use super::Lowerer;
use crate::diag::Span;
use garblet_circuits::{Circuit, GateKind, LoopedCircuit, WireId};
use std::collections::HashMap;

/// Live AND gates per line: gate `g` belongs to the last segment starting at
/// or before it; a gate is live if an output depends on it.
pub(super) fn line_costs(circuit: &Circuit, segments: &[(usize, u32)]) -> Vec<(u32, u64)> {
    let gates = circuit.gates();
    // A bit per wire (a byte per wire missed the caches on large programs).
    let mut live = vec![0u64; (circuit.num_wires() as usize).div_ceil(64)];
    let set = |live: &mut [u64], w: WireId| live[w.index() / 64] |= 1 << (w.index() % 64);
    for o in circuit.outputs() {
        for &w in &o.wires {
            set(&mut live, w);
        }
    }
    // Counted per segment first (a counter at hand, where a map of lines
    // hashed once per AND gate), then added up by line.
    let mut per_segment = vec![0u64; segments.len() + 1];
    let mut seg = segments.len();
    for (i, g) in gates.iter().enumerate().rev() {
        while seg > 0 && segments[seg - 1].0 > i {
            seg -= 1;
        }
        if live[g.out.index() / 64] >> (g.out.index() % 64) & 1 == 0 {
            continue;
        }
        set(&mut live, g.a);
        set(&mut live, g.b);
        if g.kind == GateKind::And {
            per_segment[seg] += 1;
        }
    }
    drop(live);
    let mut per_line: HashMap<u32, u64> = HashMap::new();
    for (seg, &n) in per_segment.iter().enumerate().filter(|&(_, &n)| n > 0) {
        let line = if seg > 0 { segments[seg - 1].1 } else { 0 };
        *per_line.entry(line).or_default() += n;
    }
    let mut v: Vec<(u32, u64)> = per_line.into_iter().filter(|&(_, n)| n > 0).collect();
    v.sort_unstable();
    v
}

/// A looped circuit optimised ([`LoopedCircuit::optimized_tagged`]) with
/// its per-line AND costs: each kept gate carries the line of the segment
/// it was emitted in; a body gate counts once per iteration. The counts
/// add up to the looped circuit's AND count.
pub(super) fn looped_line_costs(
    looped: &LoopedCircuit,
    segments: &[(usize, u32)],
) -> (LoopedCircuit, Vec<(u32, u64)>) {
    let n = looped.stored_gates();
    let mut tags = Vec::with_capacity(n);
    let mut seg = 0;
    for i in 0..n {
        while seg < segments.len() && segments[seg].0 <= i {
            seg += 1;
        }
        tags.push(if seg > 0 { segments[seg - 1].1 } else { 0 });
    }
    let (opt, kept) = looped.optimized_tagged(&tags);
    // Each stored gate with the times it runs: once before a loop or in
    // the epilogue, once per iteration in a body.
    let runs = opt
        .loops()
        .iter()
        .flat_map(|l| {
            let before = l.before().iter().map(|g| (g, 1));
            before.chain(l.body().iter().map(|g| (g, l.iterations())))
        })
        .chain(opt.epilogue().iter().map(|g| (g, 1)));
    let mut per_line: HashMap<u32, u64> = HashMap::new();
    for ((g, times), &line) in runs.zip(&kept) {
        if g.kind == GateKind::And {
            *per_line.entry(line).or_default() += times;
        }
    }
    let mut v: Vec<(u32, u64)> = per_line.into_iter().filter(|&(_, n)| n > 0).collect();
    v.sort_unstable();
    (opt, v)
}

impl Lowerer<'_> {
    pub(super) fn line_of(&self, span: Span) -> u32 {
        let pos = span.start as usize;
        match self.line_starts.binary_search(&pos) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// The span of source line `line` (1-based), without its indentation
    /// and line break.
    pub(super) fn line_span(&self, line: u32) -> Span {
        let i = (line as usize).clamp(1, self.line_starts.len()) - 1;
        let start = self.line_starts[i];
        let end = self.line_starts.get(i + 1).map_or(self.source.len(), |&next| next - 1);
        let text = &self.source[start..end];
        let indent = text.len() - text.trim_start().len();
        let width = text.trim().len();
        Span::new(start + indent, start + indent + width)
    }

    /// Attributes the gates emitted from now on to `span`'s line; returns
    /// the line to go back to.
    pub(super) fn enter_line(&mut self, span: Span) -> u32 {
        let line = self.line_of(span);
        let old = self.line;
        self.set_line(line);
        old
    }

    pub(super) fn set_line(&mut self, line: u32) {
        let g = self.b.gate_count();
        switch_line(&mut self.segments, &mut self.line, line, g);
    }
}

/// Charges the gates from gate `g` on to `line` (a new segment, unless
/// `line` is already `current`).
pub(super) fn switch_line(segments: &mut Vec<(usize, u32)>, current: &mut u32, line: u32, g: usize) {
    if line != *current {
        match segments.last_mut() {
            Some(last) if last.0 == g => last.1 = line,
            _ => segments.push((g, line)),
        }
        *current = line;
    }
}
