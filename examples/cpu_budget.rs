//! The CPU budget of a session on this machine: upper bounds on the AND
//! gates per second a two-party session of issue 15's and 16's workloads
//! can reach, from what one core does with nothing else to do.
//! `cargo run --release --example cpu_budget [REPS] [chained|dot|model]`
//!
//! Measured, each on one thread, best of `REPS` (default 3):
//! - the transport's CPU per byte, writer and reader, over loopback TCP
//!   and over garblet's mutual TLS (1 GiB one way, 1 MiB writes, each
//!   thread's CPU time from `/proc/thread-self/schedstat`);
//! - garbling and evaluating each workload's plan in memory, with no
//!   network, no OT and no planning (the plan is made first, not timed).
//!
//! A session does all of that work and more (the OT, the hello, waiting
//! for the peer), so per AND gate the garbler spends at least
//! `g = 1/garbling rate + bytes per AND × writer's CPU per byte` and the
//! evaluator `e = 1/evaluation rate + bytes per AND × reader's`. Printed:
//! - `the garbler's core alone <= 1/g`: as two processes on two cores run,
//!   one party to a core; the garbler is the busier one;
//! - `one core each <= 1/max(g, e)`;
//! - `two cores shared <= 2/(g + e)`: both parties' work spread perfectly
//!   over both cores, which no real split beats.
//!
//! The workloads are those `BENCHMARKS.md` measures between two processes:
//! 1,563 chained AES-128 (57.3 M gates, 10.0 M ANDs; planned as `garblet
//! run` plans a large circuit, wires renamed), the dot product of 8,192
//! `u32` pairs and `examples/model_benchmark.gbl` at 100,000 records (their
//! loops streamed, as `garblet run` compiles them; the model's 10 GB of
//! tables are garbled only, not kept for evaluation).

use garblet::circuits::{bristol, compose, Circuit};
use garblet::compiler::{compile_with, Options};
use garblet::engine::garble::{
    ActiveLabel, Encoder, Evaluator, Garbler, GarblingScheme, HalfGates, Plan, ThreeHalves,
};
use garblet::engine::net::{self, Identity, PinnedTls, Side, TcpOptions};
use garblet::engine::{Block, Prg};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const DOT: &str = "const N: usize = 8192;
fn main(#[garbler] a: [u32; N], #[evaluator] b: [u32; N]) -> u32 {
    let mut s = 0u32;
    for i in 0..N { s = s + a[i] * b[i]; }
    s
}";

fn chained_aes() -> Result<Circuit, Box<dyn std::error::Error>> {
    let aes = bristol::read_file(concat!(env!("CARGO_MANIFEST_DIR"), "/circuits/bristol/aes_128.txt"))?;
    Ok(compose::chain(&aes, 1563, "key", "plaintext", "ciphertext")?)
}

/// Best of `reps` wall-clock seconds of `f`.
fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// CPU nanoseconds per byte of the transport, writer and reader.
#[derive(Clone, Copy)]
struct Transport {
    tcp: (f64, f64),
    tls: (f64, f64),
}

/// Garbling and (unless `garble_only`) evaluation of `plan` in memory,
/// and what they and `link` allow a session.
fn measure<G: GarblingScheme + Clone>(
    name: &str,
    plan: &Plan<'_>,
    g: G,
    reps: usize,
    link: Transport,
    garble_only: bool,
) {
    let ands = plan.and_count().expect("a plan of known size") as f64;
    let mut prg = Prg::from_seed(Block::new(1));
    let enc = Encoder::random(plan.input_bits() as usize, &mut prg);
    let mut bytes = CountingSink(0);
    Garbler::with_scheme(g.clone()).garble(plan, &enc, &mut bytes).expect("garbling");
    let per_and = bytes.0 as f64 / ands;
    let garble_ns = best(reps, || {
        Garbler::with_scheme(g.clone()).garble(plan, &enc, std::io::sink()).expect("garbling");
    }) * 1e9
        / ands;
    let eval_ns = (!garble_only).then(|| {
        let mut stream = Vec::with_capacity(bytes.0);
        Garbler::with_scheme(g.clone()).garble(plan, &enc, &mut stream).expect("garbling");
        let inputs: Vec<ActiveLabel> = enc.encode_bits(0, &vec![true; enc.input_bits()]);
        best(reps, || {
            Evaluator::with_scheme(g.clone()).evaluate_slice(plan, &inputs, &stream).expect("evaluation");
        }) * 1e9
            / ands
    });
    let rate = |ns: f64| 1e3 / ns;
    print!("{name:<26} {per_and:>5.1} B/AND  garble {:>6.1} M AND/s", rate(garble_ns));
    match eval_ns {
        Some(e) => println!("  evaluate {:>6.1} M AND/s", rate(e)),
        None => println!(),
    }
    for (over, (w, r)) in [("TCP", link.tcp), ("TLS", link.tls)] {
        let garbler = garble_ns + per_and * w;
        print!("    a session over {over}: the garbler's core alone <= {:>5.1} M AND/s", rate(garbler));
        match eval_ns {
            Some(e) => {
                let evaluator = e + per_and * r;
                println!(
                    ", one core each <= {:>5.1} M, two cores shared <= {:>5.1} M",
                    rate(garbler.max(evaluator)),
                    2.0 * rate(garbler + evaluator)
                );
            }
            None => println!(),
        }
    }
}

/// Counts the bytes written to it.
struct CountingSink(usize);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// CPU seconds this thread has run (`/proc/thread-self/schedstat`).
fn thread_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    stat.split_whitespace().next().and_then(|ns| ns.parse::<f64>().ok()).expect("a count of ns") / 1e9
}

/// One-way transfer of `bytes` over loopback TCP, with or without mutual
/// TLS, as the garbler's tables go: the listener writes 1 MiB at a time,
/// the connector reads. The CPU nanoseconds per byte of each thread.
fn transport(tls: bool, bytes: usize) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let (gi, ei) = (Identity::generate("garbler")?, Identity::generate("evaluator")?);
    let (gt, et) = (PinnedTls::new(&gi, ei.fingerprint())?, PinnedTls::new(&ei, gi.fingerprint())?);
    let listener = net::listen("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let options = TcpOptions::default();
    let within = Duration::from_secs(30);
    let reader = std::thread::spawn(move || -> Result<f64, String> {
        let sock = net::connect(&addr, &options).map_err(|e| e.to_string())?;
        let mut stream: Box<dyn Read> = if tls {
            Box::new(et.secure(sock, Side::Connector, within).map_err(|e| e.to_string())?)
        } else {
            Box::new(sock)
        };
        let mut buf = vec![0u8; 1 << 20];
        let (mut got, t) = (0, thread_cpu_s());
        while got < bytes {
            got += stream.read(&mut buf).map_err(|e| e.to_string())?;
        }
        Ok((thread_cpu_s() - t) * 1e9 / bytes as f64)
    });
    let sock = net::accept(&listener, &TcpOptions::default())?;
    let mut stream: Box<dyn Write> =
        if tls { Box::new(gt.secure(sock, Side::Listener, within)?) } else { Box::new(sock) };
    let chunk = vec![0x5au8; 1 << 20];
    let t = thread_cpu_s();
    for _ in 0..bytes.div_ceil(chunk.len()) {
        stream.write_all(&chunk)?;
    }
    stream.flush()?;
    let writer = (thread_cpu_s() - t) * 1e9 / bytes as f64;
    let reader = reader.join().map_err(|_| "the reader panicked")??;
    Ok((writer, reader))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps = std::env::args().nth(1).map_or(Ok(3), |r| r.parse())?;
    // A second argument runs the workloads whose names contain it.
    let only = std::env::args().nth(2).unwrap_or_default();
    let want = |name: &str| name.contains(only.as_str());
    let best_of = |tls| -> Result<(f64, f64), Box<dyn std::error::Error>> {
        let runs = (0..reps).map(|_| transport(tls, 1 << 30)).collect::<Result<Vec<_>, _>>()?;
        Ok(runs.into_iter().fold((f64::INFINITY, f64::INFINITY), |(a, b), (w, r)| (a.min(w), b.min(r))))
    };
    let link = Transport { tcp: best_of(false)?, tls: best_of(true)? };
    for (over, (w, r)) in [("TCP", link.tcp), ("mutual TLS", link.tls)] {
        println!("loopback {over:<10} CPU per byte: writer {w:.3} ns, reader {r:.3} ns (1 GiB one way)");
    }
    if want("chained") {
        let chained = Plan::renamed(chained_aes()?)?;
        measure("chained AES, half-gates", &chained, HalfGates::new(), reps, link, false);
        measure("chained AES, three-halves", &chained, ThreeHalves::new(), reps, link, false);
    }
    let looped =
        |source: &str, name: &str, options: &Options| -> Result<Plan<'static>, Box<dyn std::error::Error>> {
            let program =
                compile_with(source, name, options, &|_| {}).map_err(|e| e.render_plain(source, name))?;
            let looped = program.looped.ok_or("the program's loop should stream")?;
            Ok(Plan::looped(&looped)?)
        };
    if want("dot") {
        let dot = looped(DOT, "dot.gbl", &Options::new())?;
        measure("dot 8192, half-gates", &dot, HalfGates::new(), reps, link, false);
        measure("dot 8192, three-halves", &dot, ThreeHalves::new(), reps, link, false);
    }
    // The model benchmark at 100,000 records: 10 GB of tables, so
    // garbling only (its garbler, not its evaluator, is the busy party).
    if want("model") {
        let source = include_str!("model_benchmark.gbl");
        let model = looped(source, "model_benchmark.gbl", &Options::new().with_const("RECORDS", "100000"))?;
        measure("model 100000, half-gates", &model, HalfGates::new(), 1, link, true);
        measure("model 100000, three-halves", &model, ThreeHalves::new(), 1, link, true);
    }
    Ok(())
}
