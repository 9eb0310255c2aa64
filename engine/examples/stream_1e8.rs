//! Streaming demonstration: a generated circuit of 10^8 AND gates garbled
//! and evaluated concurrently, the garbled tables flowing through a bounded
//! in-memory pipe, with memory independent of the circuit's size.
//!
//! ```text
//! cargo build --release -p garblet-engine --example stream_1e8
//! /usr/bin/time -v target/release/examples/stream_1e8 [layers] [width] [streaming|repeated]
//! ```
//!
//! The circuit is never materialised: [`Layers`] computes gate `k` from `k`
//! (width-wide layers of AND + XOR with a layer-dependent wiring), and
//! [`Plan::streaming`] compiles one window at a time. With `repeated`, the
//! wiring of two layers is stored once as a [`Repeated`] body and its
//! schedule compiled once ([`Plan::repeated`]); the gates are the same but
//! for the layer-dependent part of the wiring. The result is checked against
//! a streaming plaintext evaluation of the same source.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Instant;

use garblet_engine::circuits::{Gate, WireId};
use garblet_engine::garble::{eval_plain, Encoder, Evaluator, Garbler, GateSource, Plan, Repeated};
use garblet_engine::Prg;

/// `layers` layers of `width` ANDs over a state of `2 × width` wires
/// (`a` then `b`): in layer `l`, `t_i = a_i ∧ b_σ(i)` then `a_i ← a_i ⊕ t_i`
/// and, every other layer, the roles of `a` and `b` swap. σ depends on the
/// layer. Wires are rewritten every layer: not SSA.
struct Layers {
    width: u32,
    layers: u64,
}

impl Layers {
    fn gate(&self, k: u64) -> Gate {
        let w = u64::from(self.width);
        let layer = k / (2 * w);
        let i = (k % (2 * w)) / 2;
        let (x_base, y_base) = if layer.is_multiple_of(2) { (2, 2 + w) } else { (2 + w, 2) };
        let j = (i.wrapping_mul(0x9e37_79b9) + layer * 7 + 1) % w;
        let t = 2 + 2 * w; // one temporary wire, reused by every gate pair
        let (x, y, t) =
            (WireId::new((x_base + i) as u32), WireId::new((y_base + j) as u32), WireId::new(t as u32));
        if k.is_multiple_of(2) {
            Gate::and(x, y, t)
        } else {
            Gate::xor(x, t, x)
        }
    }
}

impl GateSource for Layers {
    fn num_wires(&self) -> u32 {
        3 + 2 * self.width
    }
    fn input_bits(&self) -> u64 {
        2 * u64::from(self.width)
    }
    fn output_wires(&self) -> Vec<WireId> {
        (2..2 + 2 * self.width).map(WireId::new).collect()
    }
    fn num_gates(&self) -> u64 {
        2 * u64::from(self.width) * self.layers
    }
    fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
        let n = (self.num_gates().saturating_sub(start)).min(out.len() as u64) as usize;
        for (k, g) in out[..n].iter_mut().enumerate() {
            *g = self.gate(start + k as u64);
        }
        n
    }
}

/// Chunks of at most this many bytes go through the pipe; at most
/// `PIPE_DEPTH` chunks are in flight.
const CHUNK: usize = 1 << 20;
const PIPE_DEPTH: usize = 4;

struct PipeWriter {
    tx: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.flush()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            self.tx.send(chunk).map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        }
        Ok(())
    }
}

struct PipeReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.cur = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let layers: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1526);
    let width: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1 << 16);
    let repeated = args.get(3).map(String::as_str) == Some("repeated");
    let layers_source = Layers { width, layers };
    let body_source = Layers { width, layers: 2 };
    let mut body =
        vec![Gate::xor(WireId::ZERO, WireId::ZERO, WireId::new(2)); body_source.num_gates() as usize];
    if repeated {
        body_source.read_gates(0, &mut body);
    } else {
        body.clear();
    }
    let rep = Repeated::from_gates(
        body_source.num_wires(),
        body_source.input_bits(),
        body_source.output_wires(),
        body,
        layers / 2,
    )
    .expect("valid body");
    let source: &dyn GateSource = if repeated { &rep } else { &layers_source };
    let ands = u64::from(width) * if repeated { layers / 2 * 2 } else { layers };
    println!(
        "circuit: {} gates, {} AND gates, {} wires (generated, never stored)",
        source.num_gates(),
        ands,
        source.num_wires()
    );

    let mut prg = Prg::from_entropy();
    let input_bits = source.input_bits() as usize;
    let inputs: Vec<bool> = (0..input_bits).map(|_| prg.random_bool()).collect();
    let encoder = Encoder::random(input_bits, &mut prg);
    let labels = encoder.encode_bits(0, &inputs);

    let plan = if repeated { Plan::repeated(&rep) } else { Plan::streaming(source) }.expect("valid source");
    println!(
        "plan: {}",
        if repeated { "repeated body, compiled once" } else { "streaming, compiled window by window" }
    );
    let (tx, rx) = sync_channel(PIPE_DEPTH);
    let start = Instant::now();
    let (outputs, out_labels) = std::thread::scope(|s| {
        let garbler = s.spawn(|| {
            let mut sink = PipeWriter { tx, buf: Vec::with_capacity(CHUNK) };
            let outputs = Garbler::new().garble(&plan, &encoder, &mut sink).expect("garbling");
            drop(sink);
            outputs
        });
        let reader = PipeReader { rx, cur: Vec::new(), pos: 0 };
        let out_labels = Evaluator::new().evaluate(&plan, &labels, reader).expect("evaluation");
        (garbler.join().expect("garbler thread"), out_labels)
    });
    let secs = start.elapsed().as_secs_f64();
    let bits = outputs.decoder().decode(&out_labels).expect("decoding");
    println!(
        "garbled and evaluated concurrently in {secs:.2} s: {:.1} M AND/s, {:.2} GB of tables streamed",
        ands as f64 / secs / 1e6,
        (32.0 * ands as f64 + 64.0) / 1e9
    );

    let t = Instant::now();
    let expected = eval_plain(source, &inputs).expect("plaintext evaluation");
    println!(
        "plaintext check in {:.2} s: {}",
        t.elapsed().as_secs_f64(),
        if bits == expected { "outputs match" } else { "MISMATCH" }
    );
    assert_eq!(bits, expected, "garbled result differs from plaintext");
}
