//! Circuits made of other circuits: [`chain`], many copies of one circuit
//! each fed the previous copy's output — the long dependency chain of the
//! deep benchmark (1,563 AES-128 copies, 57.3 M gates) that
//! `garblet bench`, `circuits/examples/chained_aes.rs` and the link
//! benchmark generate rather than ship.

use crate::circuit::{Circuit, CircuitError, Gate, GateKind, InputSpec, Output, Party, Visibility, WireId};

/// `copies` copies of `body` in sequence. `body` has two inputs and one
/// output as wide as its second input: the first input (named `shared`,
/// the garbler's) feeds every copy, say an AES key; the second (named
/// `chained`, the evaluator's) feeds the first copy, and each later copy
/// reads the previous copy's output in its place. The result's one output
/// (named `output`, revealed to both) is the last copy's. Every value gets
/// a wire of its own (SSA), as a Bristol file of the chain would have it.
pub fn chain(
    body: &Circuit,
    copies: usize,
    shared: &str,
    chained: &str,
    output: &str,
) -> Result<Circuit, CircuitError> {
    let ([shared_in, chained_in], [body_out]) = (body.inputs(), body.outputs()) else {
        return Err(CircuitError::NotChainable);
    };
    if body_out.width() != chained_in.width {
        return Err(CircuitError::NotChainable);
    }
    let inputs = vec![
        InputSpec::new(shared, Party::Garbler, shared_in.width),
        InputSpec::new(chained, Party::Evaluator, chained_in.width),
    ];
    let first = WireId::FIRST_FREE;
    let key: Vec<WireId> = (0..shared_in.width).map(|i| WireId::new(first + i)).collect();
    let mut block: Vec<WireId> =
        (0..chained_in.width).map(|i| WireId::new(first + shared_in.width + i)).collect();
    let mut next = u64::from(first) + u64::from(shared_in.width) + u64::from(chained_in.width);
    let mut gates = Vec::with_capacity(copies.saturating_mul(body.gates().len()));
    let mut map = vec![WireId::ZERO; body.num_wires() as usize];
    map[1] = WireId::ONE;
    for _ in 0..copies {
        for (w, k) in shared_in.wires().zip(&key) {
            map[w.index()] = *k;
        }
        for (w, b) in chained_in.wires().zip(&block) {
            map[w.index()] = *b;
        }
        for g in body.gates() {
            let out = WireId::new(u32::try_from(next).map_err(|_| CircuitError::TooManyWires)?);
            next += 1;
            let (a, b) = (map[g.a.index()], map[g.b.index()]);
            map[g.out.index()] = out;
            gates.push(match g.kind {
                GateKind::Xor => Gate::xor(a, b, out),
                GateKind::And => Gate::and(a, b, out),
                GateKind::Inv => Gate::inv(a, out),
            });
        }
        block = body_out.wires.iter().map(|w| map[w.index()]).collect();
    }
    let num_wires = u32::try_from(next).map_err(|_| CircuitError::TooManyWires)?;
    let outputs = vec![Output { name: output.into(), visibility: Visibility::Both, wires: block }];
    Circuit::new(num_wires, inputs, outputs, gates)
}
