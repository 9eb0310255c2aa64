//! Writing Bristol Fashion: plain files other tools read (only XOR, AND and
//! INV gates, gate outputs numbered in order; an output that is a copy of
//! another wire or a constant is made with gates, see the module docs of
//! [`super`]). The reader is `mod.rs`; the two share nothing but the format.

use crate::circuit::{Circuit, GateKind, WireId};
use std::io::{self, Write};
use std::path::Path;

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
