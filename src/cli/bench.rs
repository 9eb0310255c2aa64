//! `garblet bench`: the figures users compare engines by, measured in this
//! process on this machine. `BENCHMARKS.md` documents every field.

use anyhow::{anyhow, Context, Result};
use garblet::circuits::{bristol, compose, opt, Builder, Party, Sign, Visibility};
use garblet::engine::channel::{memory_pair, Channel};
use garblet::engine::garble::{
    Encoder, Evaluator, Garbler, GarblingScheme, HalfGates, Plan, Repeated, ThreeHalves,
};
use garblet::engine::internal::workloads;
use garblet::engine::net::{self, TcpOptions};
use garblet::engine::ot::{
    base, CheckBinding, CorrelatedOtReceiver, CorrelatedOtSender, MaliciousReceiver, OtExtReceiver,
    OtExtSender, SemiHonest, SoftSpokenReceiver, SoftSpokenSender,
};
use garblet::engine::session::{
    PartyInputs, SchemeChoice, SecurityMode, SessionConfig, SessionOutcome, SessionProgram,
};
use garblet::engine::Block;
use garblet::engine::{Delta, Prg};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The AES-128 Bristol Fashion circuit (`circuits/bristol/SOURCE.md` gives
/// its provenance), compiled into the binary.
const AES_128_BRISTOL: &str = include_str!("../../circuits/bristol/aes_128.txt");

/// AND gates per repetition of the wide body.
const WIDE_BODY_ANDS: u32 = 1 << 16;

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak-RSS mark so the next phase is measured on its own (Linux).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn random_bits(n: usize, prg: &mut Prg) -> Vec<bool> {
    (0..n).map(|_| prg.random_bool()).collect()
}

/// Timed runs of each in-memory figure: the median is reported, so that
/// one run disturbed by the machine (a shared VM's neighbours, a page-cache
/// flush) does not decide it.
const IN_MEMORY_RUNS: usize = 3;

/// Garbles `plan` in memory (one thread, to a sink, [`IN_MEMORY_RUNS`]
/// times, then once to a buffer), evaluates the buffer in place as many
/// times and checks the outputs. Returns the median garble and evaluate
/// seconds and the stream's bytes.
fn in_memory<G: GarblingScheme + Clone>(
    scheme: G,
    plan: &Plan<'_>,
    encoder: &Encoder,
    inputs: &[garblet::engine::garble::ActiveLabel],
    ands: u64,
    per_and: usize,
) -> Result<(f64, f64, usize)> {
    let garbler = Garbler::with_scheme(scheme.clone());
    let mut garble_s = Vec::with_capacity(IN_MEMORY_RUNS);
    for _ in 0..IN_MEMORY_RUNS {
        let t = Instant::now();
        garbler.garble(plan, encoder, std::io::sink())?;
        garble_s.push(t.elapsed().as_secs_f64());
    }
    let mut tables = Vec::with_capacity(ands as usize * per_and + 1024);
    let outputs = garbler.garble(plan, encoder, &mut tables)?;
    let evaluator = Evaluator::with_scheme(scheme);
    let mut eval_s = Vec::with_capacity(IN_MEMORY_RUNS);
    for _ in 0..IN_MEMORY_RUNS {
        let t = Instant::now();
        let labels = evaluator.evaluate_slice(plan, inputs, &tables)?;
        eval_s.push(t.elapsed().as_secs_f64());
        outputs.verify(&labels).map_err(|e| anyhow!("benchmark self-check failed: {e}"))?;
    }
    Ok((median(garble_s), median(eval_s), tables.len()))
}

/// Garbler and evaluator on two threads over loopback TCP, in `mode`
/// (dual execution: two connections per party).
fn two_party_tcp(
    config: &SessionConfig,
    mode: SecurityMode,
    program_g: SessionProgram<'_>,
    program_e: SessionProgram<'_>,
    g_inputs: PartyInputs,
    e_inputs: PartyInputs,
) -> Result<(SessionOutcome, SessionOutcome, Duration)> {
    let listener = net::listen("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let options =
        TcpOptions { connect_timeout: Duration::from_secs(30), io_timeout: Duration::from_secs(120) };
    let config = config.clone().with_security(mode);
    let started = Instant::now();
    std::thread::scope(|s| {
        let g = s.spawn(|| -> Result<SessionOutcome> {
            let mut ch = Channel::new(net::accept(&listener, &options)?);
            if mode == SecurityMode::DualExecution {
                let second = || net::accept(&listener, &options).map_err(std::io::Error::other);
                return Ok(config.run_dual_execution(
                    Party::Garbler,
                    &mut ch,
                    second,
                    &program_g,
                    &g_inputs,
                )?);
            }
            Ok(config.run(Party::Garbler, &mut ch, &program_g, &g_inputs)?)
        });
        let e = (|| -> Result<SessionOutcome> {
            let mut ch = Channel::new(net::connect(&addr, &options)?);
            if mode == SecurityMode::DualExecution {
                let second = || net::connect(&addr, &options).map_err(std::io::Error::other);
                return Ok(config.run_dual_execution(
                    Party::Evaluator,
                    &mut ch,
                    second,
                    &program_e,
                    &e_inputs,
                )?);
            }
            Ok(config.run(Party::Evaluator, &mut ch, &program_e, &e_inputs)?)
        })();
        let g = g.join().map_err(|_| anyhow!("garbler thread panicked"))?;
        let elapsed = started.elapsed();
        Ok((g?, e?, elapsed))
    })
}

/// Rounds to `digits` decimals, for the report.
fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

/// The deep workload: `copies` AES-128 circuits chained, each encrypting
/// the previous one's output (`compose::chain`; 1,563 copies are the 57.3
/// M-gate, 10.0 M-AND circuit of `BENCHMARKS.md`), one Bristol-shaped SSA
/// circuit run end to end over loopback TCP with pipelined plans, checked
/// against `copies` plaintext evaluations of one AES. Each party takes its
/// copy of the circuit (`SessionProgram::from_owned_circuit`, as `garblet
/// run` does). Peak RSS is this process's, which holds both parties.
fn deep_chain(
    report: &mut serde_json::Map<String, Value>,
    config: &SessionConfig,
    aes: &garblet::circuits::Circuit,
    copies: usize,
    prg: &mut Prg,
    say: impl Fn(&str),
) -> Result<()> {
    say(&format!("deep circuit: {copies} chained AES-128, end to end over loopback TCP"));
    reset_peak_rss();
    let t = Instant::now();
    let chained = compose::chain(aes, copies, "key", "plaintext", "ciphertext")?;
    let build_s = t.elapsed().as_secs_f64();
    let ands = chained.and_count();
    let t = Instant::now();
    let (gates, copy) = (chained.gates().len(), chained.clone());
    let (program_g, program_e) =
        (SessionProgram::from_owned_circuit(chained)?, SessionProgram::from_owned_circuit(copy)?);
    let plan_s = t.elapsed().as_secs_f64() / 2.0;
    let (key, pt) = (random_bits(128, prg), random_bits(128, prg));
    let (g, e, elapsed) = two_party_tcp(
        config,
        SecurityMode::SemiHonestGarbler,
        program_g,
        program_e,
        PartyInputs::new([("key".to_string(), key.clone())]),
        PartyInputs::new([("plaintext".to_string(), pt.clone())]),
    )
    .context("deep-circuit run")?;
    let mut block = pt;
    for _ in 0..copies {
        block = aes.eval_bits(&[key.clone(), block])?.remove(0);
    }
    for o in [&g, &e] {
        if o.outputs[0].1 != block {
            return Err(anyhow!("benchmark self-check failed: the chained AES output differs"));
        }
    }
    report.insert("deep_copies".into(), json!(copies));
    report.insert("deep_gates".into(), json!(gates));
    report.insert("deep_ands".into(), json!(ands));
    report.insert("deep_build_s".into(), json!(round(build_s, 2)));
    report.insert("deep_plan_setup_s".into(), json!(round(plan_s, 2)));
    report.insert("deep_session_s".into(), json!(round(elapsed.as_secs_f64(), 2)));
    report.insert("deep_e2e_and_per_s".into(), json!((ands as f64 / elapsed.as_secs_f64()).round()));
    report.insert("deep_peak_rss_mib".into(), json!(peak_rss_mib().map(|m| m.round())));
    Ok(())
}

/// The compiled workload: `Σ a[i] · b[i]` over `pairs` pairs of `u32`
/// (8,192 pairs: 8.2 M ANDs, 27.8 M gates, a streamed loop; 1,024
/// unrolled), compiled here, run end to end
/// over loopback TCP (each party takes a copy of the circuit, as `garblet
/// run` does), checked against Rust's wrapping arithmetic.
fn dot_product(
    report: &mut serde_json::Map<String, Value>,
    config: &SessionConfig,
    pairs: usize,
    prg: &mut Prg,
    say: impl Fn(&str),
) -> Result<()> {
    say(&format!("compiled program: dot product of {pairs} u32 pairs, end to end over loopback TCP"));
    reset_peak_rss();
    let source = format!(
        "const N: usize = {pairs};\n\
         fn main(#[garbler] a: [u32; N], #[evaluator] b: [u32; N]) -> u32 {{\n\
         let mut s: u32 = 0;\n\
         for i in 0..N {{ s = s + a[i] * b[i]; }}\n\
         s\n}}\n"
    );
    let t = Instant::now();
    let program = garblet::compile(&source, "dot.gbl")
        .map_err(|d| anyhow!("{}", d.render_plain(&source, "dot.gbl")))?;
    let compile_s = t.elapsed().as_secs_f64();
    // 8,192 pairs stream (`for i in 0..N` over `a[i]`, `b[i]`): a looped
    // circuit; 1,024 unroll.
    let circuit = &program.circuit;
    let (gates, ands) = match &program.looped {
        Some(l) => (l.num_gates(), l.and_count()),
        None => (circuit.gates().len() as u64, circuit.and_count()),
    };
    let session = || match &program.looped {
        Some(l) => SessionProgram::looped(l),
        None => SessionProgram::from_owned_circuit(circuit.clone()),
    };
    let words = |prg: &mut Prg| -> Vec<u32> { (0..pairs).map(|_| prg.random_u64() as u32).collect() };
    let (a, b) = (words(prg), words(prg));
    let bits =
        |v: &[u32]| -> Vec<bool> { v.iter().flat_map(|x| (0..32).map(move |k| x >> k & 1 == 1)).collect() };
    let (g, _, elapsed) = two_party_tcp(
        config,
        SecurityMode::SemiHonestGarbler,
        session()?,
        session()?,
        PartyInputs::new([("a".to_string(), bits(&a))]),
        PartyInputs::new([("b".to_string(), bits(&b))]),
    )
    .context("dot-product run")?;
    let want = a.iter().zip(&b).fold(0u32, |s, (x, y)| s.wrapping_add(x.wrapping_mul(*y)));
    if g.outputs[0].1 != bits(&[want]) {
        return Err(anyhow!("benchmark self-check failed: the dot product differs from Rust's"));
    }
    report.insert("dot_pairs".into(), json!(pairs));
    report.insert("dot_gates".into(), json!(gates));
    report.insert("dot_streamed".into(), json!(program.looped.is_some()));
    report.insert("dot_ands".into(), json!(ands));
    report.insert("dot_compile_s".into(), json!(round(compile_s, 2)));
    report.insert("dot_session_s".into(), json!(round(elapsed.as_secs_f64(), 2)));
    report.insert("dot_e2e_and_per_s".into(), json!((ands as f64 / elapsed.as_secs_f64()).round()));
    report.insert("dot_peak_rss_mib".into(), json!(peak_rss_mib().map(|m| m.round())));
    Ok(())
}

/// The checked OTs' binding without a session: any value both sides share.
const BENCH_BINDING: CheckBinding = CheckBinding::new([0xb7; 32]);

/// Correlated OTs per second over the in-memory channel, `n` per call,
/// and the call's bytes both ways per OT, counted on the receiver's
/// channel (the base OTs, once per session, excluded).
fn cot_per_s<Snd: CorrelatedOtSender, Rcv: CorrelatedOtReceiver>(
    n: usize,
    prg: &mut Prg,
) -> Result<(f64, f64)> {
    let (a, b) = memory_pair();
    let sender = std::thread::spawn(move || -> Result<f64> {
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_entropy();
        let delta = Delta::random(&mut prg);
        let mut ot = Snd::setup(&mut ch, &mut prg, delta)?;
        ot.bind_check(BENCH_BINDING);
        let mut out = vec![Block::ZERO; n];
        let t = Instant::now();
        ot.send_correlated(&mut ch, &mut out)?;
        Ok(t.elapsed().as_secs_f64())
    });
    let mut ch = Channel::new(b);
    let mut ot = Rcv::setup(&mut ch, prg)?;
    ot.bind_check(BENCH_BINDING);
    let choices = random_bits(n, prg);
    let mut out = vec![Block::ZERO; n];
    let before = ch.bytes_sent() + ch.bytes_received();
    let t = Instant::now();
    ot.receive_correlated(&mut ch, &choices, &mut out)?;
    let recv_s = t.elapsed().as_secs_f64();
    let bytes = ch.bytes_sent() + ch.bytes_received() - before;
    let send_s = sender.join().map_err(|_| anyhow!("OT thread panicked"))??;
    Ok(((n as f64 / recv_s.max(send_s)).round(), bytes as f64 / n as f64))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs the benchmark and prints it (JSON or a table).
pub(super) fn bench(as_json: bool, full: bool, scheme: SchemeChoice) -> Result<()> {
    let mut prg = Prg::from_entropy();
    let mut report = serde_json::Map::new();
    let config = SessionConfig::new().with_scheme(scheme);
    report.insert("scheme".into(), json!(scheme.as_str()));
    let say = |what: &str| {
        if !as_json {
            errln!("measuring {what} …");
        }
    };

    // 1. Garbling and evaluation in memory, one thread, 2^24 ANDs.
    say("garbling and evaluation (2^24 ANDs, one thread, in memory)");
    let body = workloads::wide_layer(WIDE_BODY_ANDS)?;
    let reps = (1u64 << 24) / u64::from(WIDE_BODY_ANDS);
    let wide = Repeated::new(&body, reps);
    let ands = wide.and_count();
    let plan = Plan::repeated(&wide)?;
    let encoder = Encoder::random(body.input_bits() as usize, &mut prg);
    let inputs: Vec<_> = encoder.encode_bits(0, &random_bits(body.input_bits() as usize, &mut prg));
    let (garble_s, eval_s, hg_bytes) = in_memory(HalfGates::new(), &plan, &encoder, &inputs, ands, 32)?;
    report.insert("garble_and_per_s".into(), json!((ands as f64 / garble_s).round()));
    report.insert("eval_and_per_s".into(), json!((ands as f64 / eval_s).round()));
    say("three-halves garbling and evaluation (2^24 ANDs, one thread, in memory)");
    let (garble_s, eval_s, th_bytes) = in_memory(ThreeHalves::new(), &plan, &encoder, &inputs, ands, 25)?;
    report.insert("garble_and_per_s_three_halves".into(), json!((ands as f64 / garble_s).round()));
    report.insert("eval_and_per_s_three_halves".into(), json!((ands as f64 / eval_s).round()));
    // The streams' bytes (tables, and 64 bytes of header and trailer per
    // instance) per AND gate.
    let per_and = |bytes: usize| (bytes as f64 / ands as f64 * 1000.0).round() / 1000.0;
    report.insert("bytes_per_and_half_gates".into(), json!(per_and(hg_bytes)));
    report.insert("bytes_per_and_three_halves".into(), json!(per_and(th_bytes)));

    // 2. End to end over loopback TCP, same circuit.
    say("end to end over loopback TCP (2^24 ANDs)");
    let g_in = PartyInputs::new([("a".to_string(), random_bits(WIDE_BODY_ANDS as usize, &mut prg))]);
    let e_in = PartyInputs::new([("b".to_string(), random_bits(WIDE_BODY_ANDS as usize, &mut prg))]);
    let (g, _, elapsed) = two_party_tcp(
        &config,
        SecurityMode::SemiHonestGarbler,
        SessionProgram::repeated(&body, reps)?,
        SessionProgram::repeated(&body, reps)?,
        g_in.clone(),
        e_in.clone(),
    )?;
    report.insert("e2e_and_per_s".into(), json!((ands as f64 / elapsed.as_secs_f64()).round()));
    report.insert("bytes_per_and".into(), json!((g.bytes_sent as f64 / ands as f64 * 100.0).round() / 100.0));
    say("end to end over loopback TCP, dual execution (2^24 ANDs each way)");
    let (_, _, elapsed) = two_party_tcp(
        &config,
        SecurityMode::DualExecution,
        SessionProgram::repeated(&body, reps)?,
        SessionProgram::repeated(&body, reps)?,
        g_in,
        e_in,
    )?;
    report.insert("e2e_dualex_and_per_s".into(), json!((ands as f64 / elapsed.as_secs_f64()).round()));

    // 3. AES-128 on 1,000 blocks (one key at the garbler, 1,000 plaintexts at the evaluator).
    say("AES-128 x 1,000 blocks end to end");
    // Embedded: the installed binary does not depend on the source tree.
    let aes = &opt::optimize(&bristol::parse_str(AES_128_BRISTOL)?);
    {
        let blocks = 1000u64;
        let key = random_bits(128, &mut prg);
        let pts = random_bits(128 * 1000, &mut prg);
        for (mode, field) in
            [(SecurityMode::SemiHonestGarbler, "aes_e2e_ms"), (SecurityMode::DualExecution, "aes_dualex_ms")]
        {
            let (g, e, elapsed) = two_party_tcp(
                &config,
                mode,
                SessionProgram::batch(aes, blocks)?,
                SessionProgram::batch(aes, blocks)?,
                PartyInputs::new([("in0".to_string(), key.clone())]),
                PartyInputs::new([("in1".to_string(), pts.clone())]),
            )?;
            // Check two blocks against plaintext evaluation of the circuit.
            for k in [0usize, 999] {
                let want = aes.eval_bits(&[key.clone(), pts[128 * k..128 * (k + 1)].to_vec()])?;
                for o in [&g, &e] {
                    if o.outputs[0].1[128 * k..128 * (k + 1)] != want[0][..] {
                        return Err(anyhow!("benchmark self-check failed: AES block {k} differs ({mode})"));
                    }
                }
            }
            report.insert(field.into(), json!((elapsed.as_secs_f64() * 1e4).round() / 10.0));
        }
    }

    // 4. Millionaires, u64, connect to result.
    say("u64 millionaires, connect to result");
    let mut b = Builder::new();
    let x = b.input("alice", Party::Garbler, 64)?;
    let y = b.input("bob", Party::Evaluator, 64)?;
    let gt = b.gt(&x, &y, Sign::Unsigned);
    b.output("alice_is_richer", Visibility::Both, vec![gt])?;
    let millionaires = opt::optimize(&b.finish()?);
    let mut times = Vec::new();
    for _ in 0..7 {
        let (_, _, elapsed) = two_party_tcp(
            &config,
            SecurityMode::SemiHonestGarbler,
            SessionProgram::from_circuit(&millionaires)?,
            SessionProgram::from_circuit(&millionaires)?,
            PartyInputs::new([("alice".to_string(), random_bits(64, &mut prg))]),
            PartyInputs::new([("bob".to_string(), random_bits(64, &mut prg))]),
        )?;
        times.push(elapsed.as_secs_f64() * 1e3);
    }
    report.insert("millionaires_ms".into(), json!((median(times) * 100.0).round() / 100.0));

    // 5. 128 base OTs end to end (in memory, two threads).
    say("128 base OTs");
    let mut times = Vec::new();
    for _ in 0..7 {
        let (a, b) = memory_pair();
        let t = Instant::now();
        let sender = std::thread::spawn(move || {
            let mut ch = Channel::new(a);
            let mut prg = Prg::from_entropy();
            base::send_random(&mut ch, &mut prg, 128).map(|k| k.len())
        });
        let mut ch = Channel::new(b);
        let choices = random_bits(128, &mut prg);
        base::receive_random(&mut ch, &mut prg, &choices)?;
        sender.join().map_err(|_| anyhow!("OT thread panicked"))??;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report.insert("base_ot_ms".into(), json!((median(times) * 100.0).round() / 100.0));

    // 6. Correlated OTs, 2^22, in memory: unchecked (the OT layer alone)
    // and with the malicious-receiver check every session uses; IKNP, then
    // SoftSpokenOT (the session's default).
    say("2^22 correlated OTs, unchecked and checked");
    let n = 1usize << 22;
    let per_bit = |bytes: f64| (bytes * 1000.0).round() / 1000.0;
    let (rate, _) = cot_per_s::<OtExtSender<SemiHonest>, OtExtReceiver<SemiHonest>>(n, &mut prg)?;
    report.insert("cot_per_s".into(), json!(rate));
    let (rate, bytes) =
        cot_per_s::<OtExtSender<MaliciousReceiver>, OtExtReceiver<MaliciousReceiver>>(n, &mut prg)?;
    report.insert("cot_checked_per_s".into(), json!(rate));
    report.insert("ot_bytes_per_bit_iknp".into(), json!(per_bit(bytes)));
    say("2^22 correlated OTs with SoftSpokenOT (K = 4), unchecked and checked");
    let (rate, _) = cot_per_s::<SoftSpokenSender<SemiHonest>, SoftSpokenReceiver<SemiHonest>>(n, &mut prg)?;
    report.insert("softspoken_cot_per_s".into(), json!(rate));
    let (rate, bytes) =
        cot_per_s::<SoftSpokenSender<MaliciousReceiver>, SoftSpokenReceiver<MaliciousReceiver>>(n, &mut prg)?;
    report.insert("softspoken_cot_checked_per_s".into(), json!(rate));
    // The session's default extension, check included.
    report.insert("ot_bytes_per_bit".into(), json!(per_bit(bytes)));
    report.insert("peak_rss_mib".into(), json!(peak_rss_mib().map(|m| m.round())));

    // 7. Real shapes, not the best case: a deep circuit and a compiled
    // program, both generated here.
    let aes_ssa = bristol::parse_str(AES_128_BRISTOL)?;
    deep_chain(&mut report, &config, &aes_ssa, if full { 1563 } else { 64 }, &mut prg, say)?;
    dot_product(&mut report, &config, if full { 8192 } else { 1024 }, &mut prg, say)?;

    if full {
        say("10^8 AND gates end to end (streamed)");
        reset_peak_rss();
        let reps = 100_000_000u64.div_ceil(u64::from(WIDE_BODY_ANDS));
        let ands = reps * u64::from(WIDE_BODY_ANDS);
        let g_in = PartyInputs::new([("a".to_string(), random_bits(WIDE_BODY_ANDS as usize, &mut prg))]);
        let e_in = PartyInputs::new([("b".to_string(), random_bits(WIDE_BODY_ANDS as usize, &mut prg))]);
        let (_, _, elapsed) = two_party_tcp(
            &config,
            SecurityMode::SemiHonestGarbler,
            SessionProgram::repeated(&body, reps)?,
            SessionProgram::repeated(&body, reps)?,
            g_in,
            e_in,
        )
        .context("10^8-AND run")?;
        report.insert("full_ands".into(), json!(ands));
        report.insert("full_e2e_and_per_s".into(), json!((ands as f64 / elapsed.as_secs_f64()).round()));
        report.insert("full_seconds".into(), json!((elapsed.as_secs_f64() * 100.0).round() / 100.0));
        report.insert("full_peak_rss_mib".into(), json!(peak_rss_mib().map(|m| m.round())));
    }

    if as_json {
        outln!("{}", Value::Object(report));
    } else {
        for (k, v) in &report {
            outln!("{k:>22}  {v}");
        }
    }
    Ok(())
}
