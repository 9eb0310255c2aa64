//! Bristol Fashion, the field's interchange format for circuits, read and
//! written; the old Bristol format is read too.
//!
//! Bristol Fashion (Archer, Bogdanov, Lindell, Nof, Smart, Orsini, Rotaru,
//! Scholl, Tillich, Wood — the "MPC circuits" collection):
//!
//! ```text
//! gates wires
//! n_inputs  width_1 … width_n
//! n_outputs width_1 … width_m
//!
//! 2 1 a b out XOR | AND        1 1 a out INV
//! 1 1 a out EQW   (copy)       1 1 c out EQ   (constant c ∈ {0, 1})
//! 2k k a_1…a_k b_1…b_k out_1…out_k MAND
//! ```
//!
//! Input wires are numbered from 0 in input order; the outputs are the last
//! `Σ widths` wires, in output order. The old format has `n1 n2 n3` (two input
//! widths and one output width) as its second line and no third header line.
//!
//! Reading names the inputs `in0, in1, …` (the first owned by the garbler,
//! the rest by the evaluator, as `garblet run` assumes for Bristol files) and
//! the outputs `out0, out1, …` (revealed to both). EQ and EQW become wire
//! aliases, so they cost no gate. Every malformed line is an error naming the
//! line; memory grows with the file's content, not with its header's claims.
//!
//! Writing produces plain Bristol Fashion that other tools read: only XOR, AND
//! and INV gates, gate outputs numbered in order, an output that is a copy of
//! another wire (or a constant) made with two INV gates (or `x ⊕ x`).

use crate::circuit::{Circuit, Gate, GateKind, InputSpec, Output, Party, Visibility, WireId};
use std::io::{self, BufRead, Write};
use std::path::Path;

/// Why a file is not a circuit we can read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BristolError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// A malformed line.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn syntax(line: usize, message: impl Into<String>) -> BristolError {
    BristolError::Syntax { line, message: message.into() }
}

/// Reads a Bristol Fashion (or old Bristol) file.
pub fn read_file(path: impl AsRef<Path>) -> Result<Circuit, BristolError> {
    let path = path.as_ref();
    let io_err = |source| BristolError::Io { path: path.display().to_string(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    read(io::BufReader::with_capacity(1 << 16, file)).map_err(|e| match e {
        BristolError::Io { source, .. } => io_err(source),
        other => other,
    })
}

/// Parses a circuit held in a string.
pub fn parse_str(text: &str) -> Result<Circuit, BristolError> {
    read(text.as_bytes())
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
            return Err(syntax(line, format!("wire {w} is written twice")));
        }
        self.map[i] = to.get();
        Ok(())
    }
}

/// Reads Bristol Fashion (or old Bristol) from any reader.
pub fn read<R: BufRead>(reader: R) -> Result<Circuit, BristolError> {
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

    let mut wires = WireMap { map: Vec::with_capacity((total_in as usize).min(1 << 20)), declared: n_wires };
    for w in 0..total_in {
        wires.set(l2, w, WireId::new(WireId::FIRST_FREE + w as u32))?;
    }
    let mut next_wire = WireId::FIRST_FREE + total_in as u32;
    let mut gates: Vec<Gate> = Vec::with_capacity((n_gates as usize).min(1 << 24));
    let mut seen_gates: u32 = 0;
    // One buffer for every gate line's numbers: no allocation per gate.
    let mut nums: Vec<u64> = Vec::with_capacity(8);
    let mut parse_gate = |line: usize, text: &str, wires: &mut WireMap| -> Result<(), BristolError> {
        let mut tokens = text.split_ascii_whitespace();
        let op = tokens.next_back().ok_or_else(|| syntax(line, "empty gate line"))?;
        nums.clear();
        for t in tokens {
            nums.push(t.parse::<u64>().map_err(|_| syntax(line, format!("gate: `{t}` is not a number")))?);
        }
        if nums.len() < 2 {
            return Err(syntax(line, "a gate line is `n_in n_out wires… OP`"));
        }
        let (n_in, n_out) = (nums[0] as usize, nums[1] as usize);
        if nums.len() != 2 + n_in.saturating_add(n_out) {
            return Err(syntax(
                line,
                format!("the gate says {n_in} inputs and {n_out} outputs but lists {} wires", nums.len() - 2),
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
                return Err(syntax(line, format!("{op} cannot have {n_in} inputs and {n_out} outputs")))
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

/// Writes `circuit` as Bristol Fashion (see the module docs), streaming the
/// gates. Input and output names, owners and visibility are not part of the
/// format.
pub fn write<W: Write>(circuit: &Circuit, sink: W) -> io::Result<()> {
    const NONE: u32 = u32::MAX;
    let mut sink = io::BufWriter::with_capacity(1 << 16, sink);
    let gates = circuit.gates();
    let total_in: u32 = circuit.inputs().iter().map(|i| i.width).sum();
    let total_out: u32 = circuit.outputs().iter().map(|o| o.width()).sum();

    // Plan. An output bit whose value comes from a gate's final write takes
    // its place in the output area directly; any other (an input, a constant,
    // a second output of the same gate) is copied there with two INVs.
    let mut last_writer = vec![NONE; circuit.num_wires() as usize];
    for (i, g) in gates.iter().enumerate() {
        last_writer[g.out.index()] = i as u32;
    }
    let mut direct: rustc_hash::FxHashMap<u32, u32> = rustc_hash::FxHashMap::default();
    let mut copies: Vec<(u32, WireId)> = Vec::new();
    let out_bits = circuit.outputs().iter().flat_map(|o| o.wires.iter().copied());
    for (j, w) in out_bits.enumerate() {
        let writer = if w.is_const() { NONE } else { last_writer[w.index()] };
        if writer != NONE && !direct.contains_key(&writer) {
            direct.insert(writer, j as u32);
        } else {
            copies.push((j as u32, w));
        }
    }
    let uses_one = gates.iter().any(|g| g.a == WireId::ONE || g.b == WireId::ONE)
        || copies.iter().any(|&(_, w)| w == WireId::ONE);
    let uses_zero = uses_one
        || gates.iter().any(|g| g.a == WireId::ZERO || g.b == WireId::ZERO)
        || copies.iter().any(|&(_, w)| w == WireId::ZERO);
    if uses_zero && total_in == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a circuit without inputs cannot express constants in Bristol Fashion",
        ));
    }
    let const_gates = u64::from(uses_zero) + u64::from(uses_one);
    let n_gates = gates.len() as u64 + const_gates + 2 * copies.len() as u64;
    let sequential = (gates.len() - direct.len()) as u64 + const_gates + copies.len() as u64;
    let n_wires = u64::from(total_in) + sequential + u64::from(total_out);
    let n_wires = u32::try_from(n_wires)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many wires for u32 numbering"))?;
    let out_base = n_wires - total_out;

    writeln!(sink, "{n_gates} {n_wires}")?;
    write!(sink, "{}", circuit.inputs().len())?;
    for i in circuit.inputs() {
        write!(sink, " {}", i.width)?;
    }
    writeln!(sink)?;
    write!(sink, "{}", circuit.outputs().len())?;
    for o in circuit.outputs() {
        write!(sink, " {}", o.width())?;
    }
    writeln!(sink)?;
    writeln!(sink)?;

    // Each of our wires maps to the Bristol wire holding its current value.
    let mut current = vec![NONE; circuit.num_wires() as usize];
    for input in circuit.inputs() {
        for (k, w) in input.wires().enumerate() {
            current[w.index()] = input.first_wire - WireId::FIRST_FREE + k as u32;
        }
    }
    let mut next = total_in;
    if uses_zero {
        writeln!(sink, "2 1 0 0 {next} XOR")?;
        current[0] = next;
        next += 1;
    }
    if uses_one {
        writeln!(sink, "1 1 {} {next} INV", current[0])?;
        current[1] = next;
        next += 1;
    }
    for (i, g) in gates.iter().enumerate() {
        let out = match direct.get(&(i as u32)) {
            Some(&j) => out_base + j,
            None => {
                next += 1;
                next - 1
            }
        };
        let a = current[g.a.index()];
        match g.kind {
            GateKind::Inv => writeln!(sink, "1 1 {a} {out} INV")?,
            GateKind::Xor => writeln!(sink, "2 1 {a} {} {out} XOR", current[g.b.index()])?,
            GateKind::And => writeln!(sink, "2 1 {a} {} {out} AND", current[g.b.index()])?,
        }
        current[g.out.index()] = out;
    }
    for &(j, w) in &copies {
        let source = current[w.index()];
        writeln!(sink, "1 1 {source} {next} INV")?;
        writeln!(sink, "1 1 {next} {} INV", out_base + j)?;
        next += 1;
    }
    debug_assert_eq!(next, out_base);
    sink.flush()
}

/// Writes `circuit` to a file as Bristol Fashion.
pub fn write_file(circuit: &Circuit, path: impl AsRef<Path>) -> io::Result<()> {
    write(circuit, std::fs::File::create(path)?)
}
