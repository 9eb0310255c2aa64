//! The Bristol reader as it was before issue 15 (a `String` per line,
//! `split_ascii_whitespace`, `str::parse`), kept unchanged as the reference
//! the streaming reader in `bristol.rs` is tested against: the same circuit
//! or the same error for every input.
//!
//! One change: the check of a gate's wire count adds with wraparound, as
//! release builds always did; debug builds of the old reader panicked on an
//! input count of 2^64 − 1.

use super::BristolError;
use crate::circuit::{Circuit, Gate, GateKind, InputSpec, Output, Party, Visibility, WireId};
use std::io::BufRead;

fn syntax(line: usize, message: impl Into<String>) -> BristolError {
    BristolError::Syntax { line, message: message.into() }
}

/// Lines with their 1-based numbers, blank lines skipped.
struct Lines<R> {
    reader: R,
    buf: String,
    number: usize,
}

impl<R: BufRead> Lines<R> {
    fn next_line(&mut self) -> Result<Option<(usize, &str)>, BristolError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_line(&mut self.buf)
                .map_err(|source| BristolError::Io { path: "<input>".into(), source })?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            if !self.buf.trim().is_empty() {
                return Ok(Some((self.number, self.buf.trim())));
            }
        }
    }
}

fn numbers(line: usize, text: &str, what: &str) -> Result<Vec<u64>, BristolError> {
    text.split_ascii_whitespace()
        .map(|t| t.parse::<u64>().map_err(|_| syntax(line, format!("{what}: `{t}` is not a number"))))
        .collect()
}

fn to_u32(line: usize, v: u64, what: &str) -> Result<u32, BristolError> {
    u32::try_from(v)
        .ok()
        .filter(|&v| v < u32::MAX - 2)
        .ok_or_else(|| syntax(line, format!("{what} {v} is too large")))
}

/// Maps Bristol wire numbers to our wires as gates define them.
struct WireMap {
    /// Bristol wire → our wire (u32::MAX: not yet written). Grows on demand.
    map: Vec<u32>,
    declared: u32,
    /// Bristol wires `0..inputs` are the inputs (for messages).
    inputs: u64,
}

const UNSET: u32 = u32::MAX;

impl WireMap {
    fn get(&self, line: usize, w: u64) -> Result<WireId, BristolError> {
        match self.map.get(w as usize) {
            _ if w >= u64::from(self.declared) => {
                Err(syntax(line, format!("wire {w} is past the {} wires the header declares", self.declared)))
            }
            Some(&m) if m != UNSET => Ok(WireId::new(m)),
            _ => Err(syntax(line, format!("wire {w} is read before any gate writes it"))),
        }
    }
    fn set(&mut self, line: usize, w: u64, to: WireId) -> Result<(), BristolError> {
        if w >= u64::from(self.declared) {
            return Err(syntax(
                line,
                format!("wire {w} is past the {} wires the header declares", self.declared),
            ));
        }
        let i = w as usize;
        if i >= self.map.len() {
            self.map.resize((i + 1).max(self.map.len() * 2).min(self.declared as usize), UNSET);
        }
        if self.map[i] != UNSET {
            return Err(super::written_twice(line, w, self.inputs));
        }
        self.map[i] = to.get();
        Ok(())
    }
}

/// Reads Bristol Fashion (or old Bristol) from any reader.
pub(super) fn read<R: BufRead>(reader: R) -> Result<Circuit, BristolError> {
    let mut lines = Lines { reader, buf: String::new(), number: 0 };
    let (l1, header) = match lines.next_line()? {
        Some((n, t)) => (n, numbers(n, t, "header")?),
        None => return Err(syntax(1, "the file is empty")),
    };
    let [n_gates, n_wires] = header[..] else {
        return Err(syntax(l1, "the first line must be `gates wires`"));
    };
    let n_gates = to_u32(l1, n_gates, "gate count")?;
    let n_wires = to_u32(l1, n_wires, "wire count")?;

    let (l2, second) = lines
        .next_line()?
        .map(|(n, t)| (n, t.to_owned()))
        .ok_or_else(|| syntax(l1 + 1, "missing the inputs line"))?;
    let second = numbers(l2, &second, "inputs line")?;
    // Bristol Fashion: `count w_1 … w_count`; old Bristol: `n1 n2 n3` then gates.
    let fashion_inputs = second.first().is_some_and(|&c| c as usize + 1 == second.len());
    let (third_line, third) = match lines.next_line()? {
        Some((n, t)) => (n, t.to_owned()),
        None => (l2 + 1, String::new()),
    };
    let third_is_gate =
        third.split_ascii_whitespace().last().is_some_and(|t| t.chars().all(|c| c.is_ascii_alphabetic()));
    let (input_widths, output_widths, pending_gate) = if fashion_inputs && !third_is_gate {
        let outs = numbers(third_line, &third, "outputs line")?;
        if outs.first().is_none_or(|&c| c as usize + 1 != outs.len()) {
            return Err(syntax(third_line, "the outputs line must be `count width_1 … width_count`"));
        }
        (second[1..].to_vec(), outs[1..].to_vec(), None)
    } else if second.len() == 3 {
        let pending = if third.is_empty() { None } else { Some((third_line, third)) };
        (second[..2].to_vec(), second[2..].to_vec(), pending)
    } else {
        return Err(syntax(
            l2,
            "the inputs line must be `count width_1 … width_count` (or `n1 n2 n3` in old Bristol)",
        ));
    };

    let mut total_in: u64 = 0;
    let mut inputs = Vec::with_capacity(input_widths.len());
    for (k, &w) in input_widths.iter().enumerate() {
        let width = to_u32(l2, w, "input width")?;
        total_in += u64::from(width);
        let party = if k == 0 { Party::Garbler } else { Party::Evaluator };
        inputs.push(InputSpec::new(format!("in{k}"), party, width));
    }
    let total_out: u64 = output_widths.iter().sum();
    if total_in > u64::from(n_wires) || total_out > u64::from(n_wires) {
        return Err(syntax(
            l2,
            format!("the inputs and outputs need more than the {n_wires} wires declared"),
        ));
    }

    let mut wires =
        WireMap { map: Vec::with_capacity((total_in as usize).min(1 << 20)), declared: n_wires, inputs: 0 };
    for w in 0..total_in {
        wires.set(l2, w, WireId::new(WireId::FIRST_FREE + w as u32))?;
    }
    wires.inputs = total_in;
    let mut next_wire = WireId::FIRST_FREE + total_in as u32;
    let mut gates: Vec<Gate> = Vec::with_capacity((n_gates as usize).min(1 << 24));
    let mut seen_gates: u32 = 0;
    // One buffer for every gate line's numbers: no allocation per gate.
    let mut nums: Vec<u64> = Vec::with_capacity(8);
    let mut parse_gate = |line: usize, text: &str, wires: &mut WireMap| -> Result<(), BristolError> {
        let mut tokens = text.split_ascii_whitespace();
        let op = tokens.next_back().ok_or_else(|| syntax(line, "empty gate line"))?;
        if let Some(e) = super::missing_operation(line, op) {
            return Err(e);
        }
        nums.clear();
        for t in tokens {
            nums.push(t.parse::<u64>().map_err(|_| syntax(line, format!("gate: `{t}` is not a number")))?);
        }
        if nums.len() < 2 {
            return Err(syntax(line, "a gate line is `n_in n_out wires… OP`"));
        }
        let (n_in, n_out) = (nums[0] as usize, nums[1] as usize);
        if nums.len() != 2usize.wrapping_add(n_in.saturating_add(n_out)) {
            return Err(syntax(
                line,
                format!(
                    "the gate says {} and {} but lists {}",
                    super::count(n_in, "input"),
                    super::count(n_out, "output"),
                    super::count(nums.len() - 2, "wire")
                ),
            ));
        }
        seen_gates += 1;
        if seen_gates > n_gates {
            return Err(syntax(line, format!("more gates than the {n_gates} the header declares")));
        }
        let ins = &nums[2..2 + n_in];
        let outs = &nums[2 + n_in..];
        let mut fresh = |wires: &mut WireMap, w: u64| -> Result<WireId, BristolError> {
            let id = WireId::new(next_wire);
            wires.set(line, w, id)?;
            next_wire += 1;
            Ok(id)
        };
        match (op, n_in, n_out) {
            ("XOR" | "AND", 2, 1) => {
                let (a, b) = (wires.get(line, ins[0])?, wires.get(line, ins[1])?);
                let out = fresh(wires, outs[0])?;
                let kind = if op == "XOR" { GateKind::Xor } else { GateKind::And };
                gates.push(Gate { a, b, out, kind });
            }
            ("INV" | "NOT", 1, 1) => {
                let a = wires.get(line, ins[0])?;
                let out = fresh(wires, outs[0])?;
                gates.push(Gate::inv(a, out));
            }
            ("EQW", 1, 1) => {
                let a = wires.get(line, ins[0])?;
                wires.set(line, outs[0], a)?;
            }
            ("EQ", 1, 1) => match ins[0] {
                0 | 1 => wires.set(line, outs[0], WireId::constant(ins[0] == 1))?,
                c => return Err(syntax(line, format!("EQ assigns a constant, 0 or 1, not {c}"))),
            },
            ("MAND", _, _) if n_in == 2 * n_out && n_out > 0 => {
                for k in 0..n_out {
                    let (a, b) = (wires.get(line, ins[k])?, wires.get(line, ins[n_out + k])?);
                    let out = fresh(wires, outs[k])?;
                    gates.push(Gate::and(a, b, out));
                }
            }
            ("XOR" | "AND" | "INV" | "NOT" | "EQ" | "EQW" | "MAND", _, _) => {
                return Err(syntax(
                    line,
                    format!(
                        "{op} cannot have {} and {}",
                        super::count(n_in, "input"),
                        super::count(n_out, "output")
                    ),
                ))
            }
            _ => {
                return Err(syntax(
                    line,
                    format!("unknown gate `{op}` (expected XOR, AND, INV, EQ, EQW or MAND)"),
                ))
            }
        }
        Ok(())
    };
    if let Some((line, text)) = pending_gate {
        parse_gate(line, &text, &mut wires)?;
    }
    while let Some((line, text)) = lines.next_line()? {
        parse_gate(line, text, &mut wires)?;
    }
    let last_line = lines.number;
    if seen_gates != n_gates {
        return Err(syntax(
            last_line,
            format!("the header declares {n_gates} gates, the file has {seen_gates}"),
        ));
    }
    let mut outputs = Vec::with_capacity(output_widths.len());
    let mut w = u64::from(n_wires) - total_out;
    for (k, &width) in output_widths.iter().enumerate() {
        let mut bits = Vec::with_capacity(width as usize);
        for _ in 0..width {
            bits.push(
                wires.get(last_line, w).map_err(|_| {
                    syntax(last_line, format!("output wire {w} (output {k}) is never written"))
                })?,
            );
            w += 1;
        }
        outputs.push(Output { name: format!("out{k}"), visibility: Visibility::Both, wires: bits });
    }
    Circuit::new(next_wire, inputs, outputs, gates).map_err(|e| syntax(last_line, e.to_string()))
}
