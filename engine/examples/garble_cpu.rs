//! Single-thread garbling/evaluation throughput measured in CPU time of the
//! measuring thread (from `/proc/thread-self/schedstat`), which a busy
//! shared machine distorts far less than wall-clock time. Complements the
//! criterion benchmark `benches/garble.rs`.
//!
//! `cargo run --release -p garblet-engine --example garble_cpu [aes|wide|chain|wN] [iterations] [window] [tmmo|sigma]`
//!
//! `wN`: 2^24 ANDs as a wide layer of width `N` repeated, each copy
//! depending on the last (batches of `N` ANDs, one per AND level).
//!
//! `sigma` swaps in, for comparison only, the one-AES-call hash
//! `π(σ(x) ⊕ i) ⊕ σ(x)` (σ(a‖b) = (a⊕b)‖a), which the engine does not use
//! because it is not TCCR (see `garblet_engine::hash`): it shows what the
//! second AES layer of TMMO costs.

use std::time::Instant;

use garblet_engine::circuits::bristol;
use garblet_engine::garble::{
    ActiveLabel, Encoder, Evaluator, Garbler, GarblingScheme, HalfGates, Plan, Repeated,
};
use garblet_engine::internal::{workloads, FixedKeyAes, TweakableHash};
use garblet_engine::Block;
use garblet_engine::Prg;

/// CPU time of this thread in nanoseconds (0 if unavailable).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// `π(σ(x) ⊕ i) ⊕ σ(x)`: comparison only, not TCCR.
struct SigmaXorTweak(FixedKeyAes);

impl TweakableHash for SigmaXorTweak {
    fn hash_in_place(&self, xs: &mut [Block], scratch: &mut [Block], tweak: impl Fn(usize) -> Block) {
        let saved = &mut scratch[..xs.len()];
        for (k, (x, s)) in xs.iter_mut().zip(saved.iter_mut()).enumerate() {
            let v = x.to_u128();
            let (hi, lo) = ((v >> 64) as u64, v as u64);
            *s = Block::new((u128::from(hi ^ lo) << 64) | u128::from(hi));
            *x = *s ^ tweak(k);
        }
        self.0.permute_in_place(xs);
        for (x, s) in xs.iter_mut().zip(saved.iter()) {
            *x ^= *s;
        }
    }
}

fn measure<G: GarblingScheme>(
    case: &str,
    plan: &Plan<'_>,
    garbler: &Garbler<G>,
    evaluator: &Evaluator<G>,
    iters: usize,
) {
    let ands = plan.and_count().unwrap_or(0);
    let window = plan.window_gates();
    let mut prg = Prg::from_seed(Block::new(5));
    let enc = Encoder::random(plan.input_bits() as usize, &mut prg);
    let inputs: Vec<ActiveLabel> = enc.encode_bits(0, &vec![true; enc.input_bits()]);
    let mut stream = Vec::with_capacity(32 * ands as usize + 64);
    garbler.garble(plan, &enc, &mut stream).expect("garble");
    for _ in 0..iters {
        let (c0, t0) = (thread_cpu_ns(), Instant::now());
        garbler.garble(plan, &enc, std::io::sink()).expect("garble");
        let (c1, t1) = (thread_cpu_ns(), Instant::now());
        evaluator.evaluate(plan, &inputs, &stream[..]).expect("evaluate");
        let (c2, t2) = (thread_cpu_ns(), Instant::now());
        evaluator.evaluate_slice(plan, &inputs, &stream).expect("evaluate");
        let (c3, t3) = (thread_cpu_ns(), Instant::now());
        let rate = |ns: u64| ands as f64 / (ns as f64 / 1e3);
        let wall = |d: std::time::Duration| ands as f64 / d.as_secs_f64() / 1e6;
        println!(
            "{case}: {ands} ANDs, window {window}: garble {:.1} M AND/s (cpu) {:.1} (wall); \
             evaluate (Read) {:.1} (cpu) {:.1} (wall); evaluate (in place) {:.1} (cpu) {:.1} (wall)",
            rate(c1 - c0),
            wall(t1 - t0),
            rate(c2 - c1),
            wall(t2 - t1),
            rate(c3 - c2),
            wall(t3 - t2),
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map(String::as_str).unwrap_or("aes");
    let iters: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let window: usize =
        args.get(3).and_then(|a| a.parse().ok()).unwrap_or(garblet_engine::garble::DEFAULT_WINDOW_GATES);
    let repeated = match case {
        "aes" => {
            let path =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../circuits/bristol/aes_128.txt");
            Repeated::new(&bristol::read_file(path).expect("AES circuit"), 1000)
        }
        w if w.starts_with("w") && w.len() > 1 && w != "wide" => {
            let width: u32 = w[1..].parse().expect("wN: N is a width in AND gates");
            Repeated::new(
                &workloads::wide_layer(width).expect("valid wide layer"),
                (1u64 << 24) / u64::from(width),
            )
        }
        "wide" => Repeated::new(&workloads::wide_layer(1 << 16).expect("valid wide layer"), 256),
        _ => Repeated::new(&workloads::and_chain().expect("valid chain"), (1 << 22) / 63),
    };
    let plan = Plan::repeated_with_window(&repeated, window).expect("plan");
    if args.get(4).map(String::as_str) == Some("sigma") {
        let scheme = || HalfGates::with_hash(SigmaXorTweak(FixedKeyAes::new()));
        measure(
            &format!("{case} (sigma hash)"),
            &plan,
            &Garbler::with_scheme(scheme()),
            &Evaluator::with_scheme(scheme()),
            iters,
        );
    } else {
        // GARBLET_PARALLEL=1: split large AND batches over all cores (compare
        // the wall-clock figures then).
        let par = std::env::var_os("GARBLET_PARALLEL").is_some();
        measure(case, &plan, &Garbler::new().parallel(par), &Evaluator::new().parallel(par), iters);
    }
}
