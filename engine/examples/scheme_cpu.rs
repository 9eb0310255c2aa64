//! Garbling and evaluation speed of each scheme in CPU time, one thread:
//! the wide workload of `garblet bench` (2^24 AND gates), garbled to a sink
//! and evaluated from tables in memory, three times.
//!
//! `garblet bench` reports wall time, which on a shared machine measures
//! the other processes too; this reads the thread's own CPU time
//! (`/proc/thread-self/stat`, Linux; 10 ms ticks), so before/after
//! comparisons hold while others build.
//!
//! ```text
//! cargo run --release -p garblet-engine --example scheme_cpu [hg|3h]
//! ```
#![allow(missing_docs)]

use std::time::Instant;

use garblet_engine::garble::{
    ActiveLabel, Encoder, Evaluator, Garbler, GarblingScheme, HalfGates, Plan, Repeated, ThreeHalves,
};
use garblet_engine::internal::workloads::wide_layer;
use garblet_engine::Prg;

/// The calling thread's CPU time (user + system), in seconds.
fn thread_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("Linux /proc");
    // Fields after the command name (which may contain spaces): utime and
    // stime are the 12th and 13th, in clock ticks (100 per second).
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let tick = |i: usize| fields[i].parse::<f64>().expect("a tick count") / 100.0;
    tick(11) + tick(12)
}

fn measure<G: GarblingScheme + Clone>(
    name: &str,
    scheme: G,
    plan: &Plan<'_>,
    encoder: &Encoder,
    inputs: &[ActiveLabel],
    ands: u64,
) {
    let garbler = Garbler::with_scheme(scheme.clone());
    let (cpu, wall) = (thread_cpu_s(), Instant::now());
    garbler.garble(plan, encoder, std::io::sink()).expect("garbling");
    let (garble_cpu, garble_wall) = (thread_cpu_s() - cpu, wall.elapsed().as_secs_f64());
    let mut tables = Vec::new();
    let outputs = garbler.garble(plan, encoder, &mut tables).expect("garbling");
    let (cpu, wall) = (thread_cpu_s(), Instant::now());
    let labels = Evaluator::with_scheme(scheme).evaluate_slice(plan, inputs, &tables).expect("evaluation");
    let (eval_cpu, eval_wall) = (thread_cpu_s() - cpu, wall.elapsed().as_secs_f64());
    outputs.verify(&labels).expect("the evaluation decodes");
    let m = |s: f64| ands as f64 / s / 1e6;
    println!(
        "{name}: garble {:.1} M AND/s cpu ({:.1} wall), evaluate {:.1} M AND/s cpu ({:.1} wall)",
        m(garble_cpu),
        m(garble_wall),
        m(eval_cpu),
        m(eval_wall)
    );
}

fn main() {
    let mut prg = Prg::from_entropy();
    let body = wide_layer(1 << 16).expect("the workload");
    let wide = Repeated::new(&body, (1u64 << 24) >> 16);
    let ands = wide.and_count();
    let plan = Plan::repeated(&wide).expect("a plan");
    let encoder = Encoder::random(body.input_bits() as usize, &mut prg);
    let bits: Vec<bool> = (0..body.input_bits()).map(|i| i % 3 == 0).collect();
    let inputs = encoder.encode_bits(0, &bits);
    let which = std::env::args().nth(1).unwrap_or_default();
    for _ in 0..3 {
        if which != "3h" {
            measure("half-gates  ", HalfGates::new(), &plan, &encoder, &inputs, ands);
        }
        if which != "hg" {
            measure("three-halves", ThreeHalves::new(), &plan, &encoder, &inputs, ands);
        }
    }
}
