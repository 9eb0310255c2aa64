//! Renaming in one pass: a sequential source (gate `i` writes wire
//! `first_free + i`, as every Bristol file and every binary file converted
//! from one does; compiled programs reuse wires and take two passes)
//! whose gates read no value written more than `reach`
//! gates before them needs no backward pass. The last read of gate `u`'s
//! value is known once gate `u + reach` has been read, so the flags the
//! renaming needs ([`RenameFacts::compute`] makes them backwards over the
//! whole source) are made as the source is read once, in order, a few
//! windows ahead of the renaming; the same flags for every gate that
//! reads or writes a value (not for reads of inputs and constants, which
//! the renaming never frees), so the same renamed gates and the same
//! tables.
//!
//! Why: planning a 57 M-gate file read it twice, and the backward pass
//! (0.55–1.0 s) ran alone on one core before the forward pass could start.
//! The assumption is checked on every gate: a source that writes out of
//! order, reads further back, reads a value before it is written, is
//! malformed or ends early is handed back (`Ok(None)`), and the caller
//! plans it in two passes, which name any error. Chained AES-128 reads
//! 28,350 gates back at most; [`LOOKAHEAD_GATES`] is nine times that.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, sync_channel};

use garblet_circuits::{Gate, GateKind};

use super::rename::{RenameFacts, Renamer, DEAD, FINAL, LAST_A};
use crate::garble::error::PlanError;
use crate::garble::source::{GateSource, BLANK_GATE};

/// The reach assumed by a one-pass plan: a gate may read the values of the
/// `LOOKAHEAD_GATES - 1` gates before it (rounded up to whole windows),
/// besides constants and inputs.
pub(super) const LOOKAHEAD_GATES: u64 = 1 << 18;

/// The reach a one-pass plan in windows of `window_gates` assumes when
/// reading `lookahead` gates (rounded up to whole windows) ahead of its
/// renaming, or `None` if it takes no such plan: a window that is not a
/// power of two (the rings below are indexed by masks), or no lookahead.
pub(super) fn reach(window_gates: usize, lookahead: u64) -> Option<u64> {
    let w = window_gates as u64;
    // Below 2^31: a read's distance and operand are packed in a `u32`.
    (w.is_power_of_two() && lookahead > 0)
        .then(|| lookahead.div_ceil(w).saturating_mul(w) - 1)
        .filter(|&reach| reach < 1 << 31)
}

/// Windows read ahead of the pass by [`read_renamed`]'s reading thread.
const READ_AHEAD: usize = 16;

/// A source of at most this many windows is read on the pass's thread.
const READ_ALONE_WINDOWS: u64 = 4;

/// A window of the source: its first gate's index, a buffer, and how many
/// of the buffer's gates are the window's (0: the source ended).
type Read = (u64, Vec<Gate>, usize);

/// Reads `source` once, in windows of `window_gates` gates, and hands each
/// window to `sink` renamed as [`super::read_renamed`] renames it with the
/// backward pass's flags (`sink` gives back a buffer for a later window,
/// or `None` to stop). `facts` are [`RenameFacts::ahead`] of `source`
/// with the reach of [`reach`]. `Ok(Some(and_count))` when the whole
/// source was read and renamed (or `sink` stopped), `Ok(None)` when the
/// source is not one this pass takes (see the module docs); errors are the
/// renaming's.
///
/// Past [`READ_ALONE_WINDOWS`] windows the source is read (for a file:
/// read, checked, decoded and hashed) on a thread of its own, up to
/// [`READ_AHEAD`] windows ahead: with the pass's thread and the compiler's
/// that makes three stages, whose work is about equal on two cores.
pub(super) fn read_renamed(
    source: &dyn GateSource,
    facts: &RenameFacts,
    window_gates: usize,
    sink: &mut dyn FnMut(u64, Vec<Gate>, usize) -> Option<Vec<Gate>>,
) -> Result<Option<u64>, PlanError> {
    let w = window_gates as u64;
    let total = source.num_gates();
    let read_one = |pos: u64, buf: Option<Vec<Gate>>| -> Read {
        let mut buf = buf.unwrap_or_default();
        buf.resize(window_gates, BLANK_GATE);
        let n = source.read_gates(pos, &mut buf);
        (pos, buf, n)
    };
    if total.div_ceil(w.max(1)) <= READ_ALONE_WINDOWS {
        let mut pos = 0;
        return run_pass(source, facts, window_gates, sink, &mut |buf| {
            let read = read_one(pos, buf);
            pos += read.2 as u64;
            read
        });
    }
    std::thread::scope(|scope| {
        let (read_tx, read_rx) = sync_channel::<Read>(READ_AHEAD);
        let (spent_tx, spent_rx) = channel::<Vec<Gate>>();
        scope.spawn(move || {
            let mut pos = 0;
            while pos < total {
                let read = read_one(pos, spent_rx.try_recv().ok());
                let n = read.2 as u64;
                // The pass stopped (its receiver is gone), or the source
                // ended.
                if read_tx.send(read).is_err() || n == 0 {
                    break;
                }
                pos += n;
            }
        });
        run_pass(source, facts, window_gates, sink, &mut move |buf| {
            if let Some(buf) = buf {
                let _ = spent_tx.send(buf);
            }
            // The reader stops at the source's end, after an empty read,
            // or once this receiver is dropped (the pass stopped: after a
            // short read, say); a closed channel reads as an empty window.
            read_rx.recv().unwrap_or_default()
        })
    })
}

/// The pass over the windows `read` gives in order (given a spare buffer
/// for the next).
fn run_pass(
    source: &dyn GateSource,
    facts: &RenameFacts,
    window_gates: usize,
    sink: &mut dyn FnMut(u64, Vec<Gate>, usize) -> Option<Vec<Gate>>,
    read: &mut dyn FnMut(Option<Vec<Gate>>) -> Read,
) -> Result<Option<u64>, PlanError> {
    let w = window_gates as u64;
    let reach = facts.reach();
    if !w.is_power_of_two() || !(reach + 1).is_multiple_of(w) {
        return Ok(None);
    }
    let total = source.num_gates();
    let mut pass = Pass::new(source, facts, w);
    // Windows read (their values' reads still being found), oldest first.
    let mut pending: VecDeque<Read> = VecDeque::new();
    let mut spare: Vec<Vec<Gate>> = Vec::new();
    let mut renamer = Renamer::new(facts, source.num_wires());
    // A window's gates are renamed once the windows after it that may
    // read its values have been read.
    let lag = ((reach + 1) / w) as usize;
    let mut pos = 0u64;
    loop {
        if pos < total {
            let (start, buf, n) = read(spare.pop());
            // Every window is whole but the last.
            if start != pos || n as u64 != w.min(total - pos) || !pass.read(pos, &buf[..n]) {
                return Ok(None);
            }
            pending.push_back((pos, buf, n));
            pos += n as u64;
        }
        if pending.len() <= lag && pos < total {
            continue;
        }
        let Some((start, mut buf, n)) = pending.pop_front() else { break };
        let flags = pass.settle(start, n);
        renamer.rename_flagged(start, &mut buf[..n], flags)?;
        flags.fill(0);
        match sink(start, buf, n) {
            Some(buf) => spare.push(buf),
            None => break,
        }
    }
    Ok(Some(pass.and_count))
}

/// The state of the pass: per value still read ahead, its last reader so
/// far; per gate not yet renamed, its flags.
struct Pass {
    first_free: u64,
    num_wires: u32,
    reach: u64,
    /// `len - 1` for the rings, which hold the values (and the gates) of
    /// the windows between the one renamed next and the one read.
    mask: u64,
    /// Per value `u` at `u & mask`: 0 if not read yet, else `(d << 1 |
    /// operand) + 1` for its last read so far, by gate `u + d` as its
    /// operand `a` (0) or `b` (1).
    last: Vec<u32>,
    /// Per gate `j` at `j & mask`: `LAST_A | LAST_B | DEAD | FINAL`, set
    /// as the values are settled.
    flags: Vec<u8>,
    /// The gates that write an output, in order, and the next of them to
    /// settle.
    outputs: Vec<u64>,
    next_output: usize,
    and_count: u64,
}

impl Pass {
    fn new(source: &dyn GateSource, facts: &RenameFacts, w: u64) -> Pass {
        let first_free = u64::from(facts.first_free());
        let reach = facts.reach();
        // Held at once: the window renamed next and the `lag` windows
        // after it that may read its values.
        let len = (reach + 1 + w).next_power_of_two();
        let mut outputs: Vec<u64> =
            source.output_wires().iter().filter_map(|o| u64::from(o.get()).checked_sub(first_free)).collect();
        outputs.sort_unstable();
        outputs.dedup();
        Pass {
            first_free,
            num_wires: source.num_wires(),
            reach,
            mask: len - 1,
            last: vec![0; len as usize],
            flags: vec![0; len as usize],
            outputs,
            next_output: 0,
            and_count: 0,
        }
    }

    /// Reads gates `start..` (a whole window, or the source's last): false
    /// if they break the pass's assumptions or fail a check.
    fn read(&mut self, start: u64, gates: &[Gate]) -> bool {
        // What `check_gates` checks follows from the pass's own checks
        // but for an INV's second operand and the last gate's wire: every
        // gate writes the wire after the last (not a constant, below the
        // last gate's) and reads a constant, an input or an earlier gate.
        let last_wire = self.first_free + start + gates.len() as u64;
        if last_wire > u64::from(self.num_wires) {
            return false;
        }
        let Pass { first_free, reach, mask, last, .. } = self;
        let (first_free, reach, mask) = (*first_free, *reach, *mask);
        let last = last.as_mut_slice();
        let mut ok = true;
        let mut ands = 0u64;
        for (j, g) in (start..).zip(gates) {
            ok &= u64::from(g.out.get()) == first_free + j;
            ands += u64::from(g.kind == GateKind::And);
            let inv = g.kind == GateKind::Inv;
            ok &= !inv | (g.a == g.b);
            let reads_b = !inv & (g.b != g.a);
            for (wire, operand, reads) in [(g.a, 0, true), (g.b, 1, reads_b)] {
                let wire = u64::from(wire.get());
                // (An input's wire is below `first_free`, so within the
                // wire space.)
                if reads && wire >= first_free {
                    // How many gates back its writer is: 1 to `reach`.
                    let d = (j + first_free).wrapping_sub(wire);
                    ok &= d.wrapping_sub(1) < reach;
                    // Written even for a read out of reach (the window is
                    // then handed back): wrapping, as `d` may be anything.
                    last[((wire - first_free) & mask) as usize] = ((d as u32) << 1 | operand).wrapping_add(1);
                }
            }
        }
        self.and_count += ands;
        ok
    }

    /// The values of gates `start..start + n` (the oldest window read)
    /// will not be read again: their last readers, and those of their
    /// gates whose value no one reads, get their flags. Returns the
    /// window's flags, now whole (its gates' reads were settled with
    /// earlier values or just now).
    fn settle(&mut self, start: u64, n: usize) -> &mut [u8] {
        let Pass { mask, last, flags, outputs, next_output, .. } = self;
        let mask = *mask;
        for u in start..start + n as u64 {
            let at = (u & mask) as usize;
            let read = std::mem::take(&mut last[at]);
            if outputs.get(*next_output) == Some(&u) {
                // Live after the circuit: no read of it is the last, and
                // its value goes to its reserved wire.
                *next_output += 1;
                flags[at] |= FINAL;
            } else if read == 0 {
                flags[at] |= DEAD;
            } else {
                let (d, operand) = (u64::from((read - 1) >> 1), (read - 1) & 1);
                flags[((u + d) & mask) as usize] |= LAST_A << operand;
            }
        }
        let from = (start & mask) as usize;
        &mut flags[from..from + n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use garblet_circuits::{Circuit, InputSpec, Output, Party, Visibility, WireId};

    /// A sequential circuit of `gates` gates over three input bits: gate
    /// `i` writes wire `5 + i` and reads inputs, constants or the values of
    /// the `reach` gates before it (its last gate reads exactly `reach`
    /// back when it can); some values are read by no one, some several
    /// times, some are outputs, some outputs twice or inputs.
    fn sequential(gates: u32, reach: u32, seed: u64) -> Circuit {
        let mut x = seed | 1;
        let mut next = move |n: u32| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % u64::from(n.max(1))) as u32
        };
        let w = WireId::new;
        let mut list = Vec::new();
        for i in 0..gates {
            let out = 5 + i;
            let mut operand = |far: bool| {
                let back = if far { reach } else { 1 + next(reach) };
                if i >= back && next(5) > 0 {
                    out - back
                } else {
                    next(5)
                }
            };
            let (a, b) = (operand(i + 1 == gates), operand(false));
            list.push(match next(4) {
                0 => Gate::inv(w(a), w(out)),
                1 => Gate::and(w(a), w(b), w(out)),
                2 => Gate::and(w(a), w(a), w(out)),
                _ => Gate::xor(w(a), w(b), w(out)),
            });
        }
        let mut wires: Vec<WireId> = (0..1 + next(6)).map(|_| w(5 + next(gates))).collect();
        wires.extend([w(4 + gates), w(3), wires[0]]);
        let outputs = vec![Output { name: "y".into(), visibility: Visibility::Both, wires }];
        Circuit::new(5 + gates, vec![InputSpec::new("x", Party::Garbler, 3)], outputs, list).unwrap()
    }

    /// The farthest back a gate of `c` reads a gate's value.
    fn reach_of(c: &Circuit) -> u64 {
        let first_free = 2 + c.input_bits();
        let back = |i: usize, w: WireId| (first_free + i as u64).saturating_sub(u64::from(w.get()));
        c.gates()
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let reads = |w: WireId| if u64::from(w.get()) >= first_free { back(i, w) } else { 0 };
                reads(g.a).max(reads(g.b))
            })
            .max()
            .unwrap_or(0)
    }

    /// `c`'s gates renamed by the two passes, window by window.
    fn two_passes(c: &Circuit, window: usize) -> Vec<Gate> {
        let facts = RenameFacts::compute(c, window).unwrap();
        let mut renamer = Renamer::new(&facts, c.num_wires());
        let mut gates = c.gates().to_vec();
        for (k, chunk) in gates.chunks_mut(window).enumerate() {
            renamer.rename((k * window) as u64, chunk).unwrap();
        }
        gates
    }

    /// `c`'s gates renamed by the one pass (`None` if it hands `c` back),
    /// and the AND count it found.
    fn one_pass(c: &Circuit, window: usize, lookahead: u64) -> Option<(Vec<Gate>, u64)> {
        let facts = RenameFacts::ahead(c, window, reach(window, lookahead)?).unwrap();
        let mut gates = Vec::new();
        let mut starts = Vec::new();
        let ands = read_renamed(c, &facts, window, &mut |start, buf, n| {
            starts.push(start);
            gates.extend_from_slice(&buf[..n]);
            Some(buf)
        })
        .unwrap()?;
        assert!(starts.iter().enumerate().all(|(k, &s)| s == (k * window) as u64), "in order");
        Some((gates, ands))
    }

    #[test]
    fn one_pass_renames_as_two_passes_when_the_reach_is_within_its_lookahead() {
        let (mut taken, mut handed_back) = (0, 0);
        for seed in 0..40u64 {
            let (gates, reach_wanted) = (1 + (seed * 37 % 700) as u32, 1 + (seed * 13 % 90) as u32);
            let c = sequential(gates, reach_wanted, seed);
            let reach_found = reach_of(&c);
            for window in [1usize, 2, 8, 64] {
                let expected = two_passes(&c, window);
                for lookahead in [1u64, 7, 64, 100, 1 << 10] {
                    let assumed = reach(window, lookahead).unwrap();
                    let got = one_pass(&c, window, lookahead);
                    let case =
                        format!("seed {seed}, window {window}, lookahead {lookahead}, reach {reach_found}");
                    if reach_found <= assumed {
                        let (renamed, ands) = got.expect(&case);
                        assert_eq!(renamed, expected, "{case}");
                        assert_eq!(ands, c.and_count(), "{case}");
                        taken += 1;
                    } else {
                        assert!(got.is_none(), "{case}: a read beyond the lookahead is handed back");
                        handed_back += 1;
                    }
                }
            }
        }
        assert!(taken > 300 && handed_back > 100, "{taken} taken, {handed_back} handed back");
    }

    #[test]
    fn sources_the_pass_does_not_take_are_handed_back() {
        let c = sequential(300, 20, 7);
        let w = WireId::new;
        // Gates out of order, a read of a value not yet written, a
        // malformed INV, reads of later wires: each as the 200th gate.
        let mut changes = Vec::new();
        let g = c.gates()[199];
        changes.push(Gate { out: w(5 + 201), ..g });
        changes.push(Gate::xor(w(5 + 199), w(3), w(5 + 199)));
        changes.push(Gate { a: w(5 + 198), b: w(2), out: g.out, kind: GateKind::Inv });
        // Reads of later wires (as a circuit that reuses wires makes),
        // through either operand: the distance wraps, and nothing panics.
        changes.push(Gate::xor(w(3), w(5 + 250), g.out));
        // (One gate ahead through `b`: the distance's low 31 bits all ones.)
        changes.push(Gate::xor(w(2), w(5 + 200), g.out));
        changes.push(Gate::and(w(5 + 299), w(2), g.out));
        changes.push(Gate::xor(w(2), WireId::new(u32::MAX - 1), g.out));
        for changed in changes {
            let mut gates = c.gates().to_vec();
            gates[199] = changed;
            let source = Raw { c: &c, gates };
            let facts = RenameFacts::ahead(&source, 16, reach(16, 64).unwrap()).unwrap();
            let got = read_renamed(&source, &facts, 16, &mut |_, buf, _| Some(buf)).unwrap();
            assert_eq!(got, None, "{changed:?}");
        }
        // A source that gives fewer gates than it counts.
        let short = Raw { c: &c, gates: c.gates()[..250].to_vec() };
        let facts = RenameFacts::ahead(&short, 16, reach(16, 64).unwrap()).unwrap();
        assert_eq!(read_renamed(&short, &facts, 16, &mut |_, buf, _| Some(buf)).unwrap(), None);
        // A sink that stops is obeyed.
        let facts = RenameFacts::ahead(&c, 16, reach(16, 64).unwrap()).unwrap();
        let mut windows = 0;
        let stopped = read_renamed(&c, &facts, 16, &mut |_, _, _| {
            windows += 1;
            None
        });
        assert!(stopped.unwrap().is_some());
        assert_eq!(windows, 1);
        // Windows that are not a power of two, or no lookahead: no pass.
        assert_eq!(reach(48, 1 << 10), None);
        assert_eq!(reach(64, 0), None);
        assert_eq!(reach(64, 65), Some(127));
        assert_eq!(reach(64, u64::MAX), None, "a distance must fit 31 bits");
    }

    /// `c` with other gates, unchecked, counted as `c`'s.
    struct Raw<'c> {
        c: &'c Circuit,
        gates: Vec<Gate>,
    }

    impl GateSource for Raw<'_> {
        fn num_wires(&self) -> u32 {
            self.c.num_wires()
        }
        fn input_bits(&self) -> u64 {
            self.c.input_bits()
        }
        fn output_wires(&self) -> Vec<WireId> {
            GateSource::output_wires(self.c)
        }
        fn num_gates(&self) -> u64 {
            self.c.gates().len() as u64
        }
        fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
            let rest = self.gates.get(start as usize..).unwrap_or_default();
            let n = rest.len().min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            n
        }
    }
}
