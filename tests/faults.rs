//! Fault injection between two real `garblet run` processes.
//!
//! A proxy sits between the evaluator and the garbler. At one protocol
//! phase, in one direction, it delays the stream, stalls it, truncates it,
//! closes both connections, corrupts a byte, or freezes the receiving
//! process (`SIGSTOP`, the frozen peer of a real deployment). Every case
//! must end, on both sides, within the timeout plus 2 s of the fault; each
//! side either prints the right result or exits 1 with a clear one-line
//! error (never raw `os error` text, never a panic), and writes an audit
//! line whose status says which.
//!
//! Where each phase starts comes from the engine itself: an in-process run
//! of the same program with a phase observer records how many bytes each
//! side had sent when it entered each phase. Sizes depend on the program
//! only, not on inputs or randomness, so the offsets hold for the
//! processes. The plaintext matrix runs with `--insecure`, so offsets are
//! exact; the TLS cases aim at the handshake and the middle of the tables.
//!
//! `cargo test --release --test faults -- --nocapture` prints the matrix
//! reported in `docs/FAULTS.md`.

mod support;

use garblet::engine::session::{Phase, SessionProgram};
use garblet::{Party, PartyInputs};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{args, free_port, keygen, spawn, Scratch};

/// `--timeout` of every run.
const TIMEOUT: Duration = Duration::from_secs(3);
/// What the issue allows past the timeout.
const GRACE: Duration = Duration::from_secs(2);
/// How long a `Delay` holds the stream (less than the timeout: the run
/// must still succeed).
const DELAY: Duration = Duration::from_millis(1500);

/// 256 evaluator input bits, so they go through OT extension; the result
/// goes to both parties, so every phase has traffic.
const PROGRAM: &str = "\
fn main(#[garbler] a: [u32; 8], #[evaluator] b: [u32; 8]) -> u32 {
    let mut s = 0u32;
    for i in 0..8 {
        s = s + a[i] * b[i];
    }
    s
}
";
const A: [u32; 8] = [3, 1_000_003, 7, 0xdead_beef, 11, 13, 0x8000_0001, 5];
const B: [u32; 8] = [2, 999, 0xffff_ffff, 17, 19, 23, 29, 31];

/// About 20 MB of tables (220 rounds: three-halves, the default, sends
/// 24.6 bytes per AND where half-gates sent 32 for 160 rounds): more than
/// the socket buffers between the two processes hold, so a frozen
/// evaluator blocks the garbler's writes.
const BIG_PROGRAM: &str = "\
fn main(#[garbler] a: u64, #[evaluator] b: u64) -> u64 {
    let mut x = a;
    for i in 0..220 {
        x = x * b + a;
    }
    x
}
";

/// The answer, by Rust's own arithmetic.
fn expected() -> u64 {
    u64::from(A.iter().zip(B).fold(0u32, |s, (a, b)| s.wrapping_add(a.wrapping_mul(b))))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    GarblerToEvaluator,
    EvaluatorToGarbler,
}

impl Dir {
    fn arrow(self) -> &'static str {
        match self {
            Dir::GarblerToEvaluator => "G→E",
            Dir::EvaluatorToGarbler => "E→G",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Hold the stream for [`DELAY`], then go on.
    Delay,
    /// Stop forwarding (and stop reading) this direction; keep both
    /// connections open.
    Stall,
    /// End this direction mid-message (the receiver sees end of stream).
    Truncate,
    /// Close both connections.
    Close,
    /// Flip one byte and go on.
    Corrupt,
    /// `SIGSTOP` the receiving process (and forward nothing more to it).
    Freeze,
}

#[derive(Clone, Copy, Debug)]
struct Fault {
    dir: Dir,
    at: u64,
    kind: Kind,
}

/// Phase boundaries: for each direction, the phases with bytes in it and
/// their byte ranges.
struct Phases {
    spans: Vec<(Phase, Dir, u64, u64)>,
}

/// Compiles `source` and returns where each phase's bytes lie in each
/// direction, from an in-process run with phase observers.
fn phase_spans(source: &str) -> Phases {
    let compiled = garblet::compiler::compile(source, "faults.gbl").unwrap();
    let circuit = compiled.circuit;
    let program = SessionProgram::from_circuit(&circuit).unwrap();
    let inputs = |p: Party| {
        PartyInputs::new(
            circuit
                .inputs()
                .iter()
                .filter(|i| i.party == p)
                .map(|i| (i.name.clone(), vec![false; i.width as usize]))
                .collect::<Vec<_>>(),
        )
    };
    let (g, e) = garblet_testkit::phase_offsets(&program, &inputs(Party::Garbler), &inputs(Party::Evaluator));
    let mut spans = Vec::new();
    for (log, dir) in [(g, Dir::GarblerToEvaluator), (e, Dir::EvaluatorToGarbler)] {
        spans.extend(log.spans().into_iter().map(|(phase, start, end)| (phase, dir, start, end)));
    }
    Phases { spans }
}

/// A man in the middle that forwards both directions and applies one
/// fault.
struct Proxy {
    port: u16,
    fired: Arc<Mutex<Option<Instant>>>,
    stop: Arc<AtomicBool>,
    /// Bytes forwarded each way: (G→E, E→G).
    totals: Arc<Mutex<(u64, u64)>>,
}

/// The pids a `Freeze` may stop: (garbler, evaluator).
type Pids = Arc<Mutex<(u32, u32)>>;

impl Proxy {
    fn start(garbler_port: u16, fault: Option<Fault>, pids: Pids) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy {
            port,
            fired: Arc::new(Mutex::new(None)),
            stop: Arc::new(AtomicBool::new(false)),
            totals: Arc::new(Mutex::new((0, 0))),
        };
        let (fired, stop, totals) = (proxy.fired.clone(), proxy.stop.clone(), proxy.totals.clone());
        std::thread::spawn(move || {
            let Ok((evaluator, _)) = listener.accept() else { return };
            let garbler = (0..500)
                .find_map(|_| {
                    TcpStream::connect(("127.0.0.1", garbler_port))
                        .inspect_err(|_| std::thread::sleep(Duration::from_millis(20)))
                        .ok()
                })
                .expect("the garbler listens");
            let pumps = [
                (garbler.try_clone().unwrap(), evaluator.try_clone().unwrap(), Dir::GarblerToEvaluator),
                (evaluator, garbler, Dir::EvaluatorToGarbler),
            ];
            let handles: Vec<_> = pumps
                .into_iter()
                .map(|(from, to, dir)| {
                    let (fired, stop, totals, pids) =
                        (fired.clone(), stop.clone(), totals.clone(), pids.clone());
                    let fault = fault.filter(|f| f.dir == dir);
                    std::thread::spawn(move || pump(from, to, dir, fault, &fired, &stop, &totals, &pids))
                })
                .collect();
            for h in handles {
                let _ = h.join();
            }
        });
        proxy
    }
}

#[allow(clippy::too_many_arguments)]
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    dir: Dir,
    fault: Option<Fault>,
    fired: &Mutex<Option<Instant>>,
    stop: &AtomicBool,
    totals: &Mutex<(u64, u64)>,
    pids: &Pids,
) {
    let _ = to.set_write_timeout(Some(Duration::from_secs(30)));
    let hold = || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let (mut n, mut pending) = (0u64, fault);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let k = match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(k) => k,
        };
        let chunk = &mut buf[..k];
        let count = |bytes: u64| {
            let mut t = totals.lock().unwrap();
            match dir {
                Dir::GarblerToEvaluator => t.0 += bytes,
                Dir::EvaluatorToGarbler => t.1 += bytes,
            }
        };
        if let Some(f) = pending.filter(|f| n + k as u64 > f.at) {
            pending = None;
            let cut = (f.at - n) as usize;
            if to.write_all(&chunk[..cut]).is_err() {
                return;
            }
            count(cut as u64);
            *fired.lock().unwrap() = Some(Instant::now());
            match f.kind {
                Kind::Delay => std::thread::sleep(DELAY),
                Kind::Stall => return hold(),
                Kind::Truncate => {
                    let _ = to.shutdown(Shutdown::Write);
                    return hold();
                }
                Kind::Close => {
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
                Kind::Corrupt => chunk[cut] ^= 0x5a,
                Kind::Freeze => {
                    // A frozen process reads nothing: stop forwarding too,
                    // so the sender's writes back up as they would.
                    let (g, e) = *pids.lock().unwrap();
                    let receiver = if dir == Dir::GarblerToEvaluator { e } else { g };
                    signal(receiver, "STOP");
                    return hold();
                }
            }
            if to.write_all(&chunk[cut..]).is_err() {
                return;
            }
            count((k - cut) as u64);
            n += k as u64;
            continue;
        }
        if to.write_all(chunk).is_err() {
            let _ = from.shutdown(Shutdown::Both);
            return;
        }
        count(k as u64);
        n += k as u64;
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]).status();
}

/// How one party ended.
#[derive(Debug)]
struct Ending {
    code: Option<i32>,
    /// From the fault (or from `SIGCONT` for a frozen party) to exit.
    after_fault: Option<Duration>,
    stdout: String,
    stderr: String,
    audit: Option<Value>,
}

impl Ending {
    /// `ok` or the error's first words, for the matrix.
    fn summary(&self) -> String {
        match self.code {
            Some(0) => "ok".into(),
            _ => {
                let line =
                    self.stderr.lines().rfind(|l| l.starts_with("error: ")).unwrap_or("(no error line)");
                let text = line.trim_start_matches("error: ");
                let short: String = text.chars().take(110).collect();
                if short.len() < text.len() {
                    format!("{short}…")
                } else {
                    short
                }
            }
        }
    }
}

struct Setup {
    scratch: Scratch,
    program: String,
    tls: Option<(String, String)>,
    garbler_inputs: Vec<String>,
    evaluator_inputs: Vec<String>,
}

impl Setup {
    fn new(tag: &str, source: &str, tls: bool, garbler_inputs: &[&str], evaluator_inputs: &[&str]) -> Setup {
        let scratch = Scratch::new(tag);
        let program = scratch.path("faults.gbl");
        std::fs::write(&program, source).unwrap();
        let tls = tls.then(|| (keygen(&scratch.path("g")), keygen(&scratch.path("e"))));
        Setup {
            program: program.to_str().unwrap().to_owned(),
            scratch,
            tls,
            garbler_inputs: garbler_inputs.iter().map(|s| s.to_string()).collect(),
            evaluator_inputs: evaluator_inputs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn party(&self, role: &str, endpoint: [&str; 2], audit: &str, inputs: &[String]) -> Vec<String> {
        let timeout = TIMEOUT.as_secs().to_string();
        let mut a = args(&["run", &self.program, "--as", role, "--json", "--timeout", &timeout]);
        a.extend(args(&endpoint));
        a.extend(args(&["--audit-log", self.scratch.path(audit).to_str().unwrap()]));
        for i in inputs {
            a.extend(args(&["--input", i]));
        }
        match &self.tls {
            None => a.push("--insecure".into()),
            Some((gfp, efp)) => {
                let (dir, peer) = if role == "garbler" { ("g", efp) } else { ("e", gfp) };
                a.extend(args(&["--identity", self.scratch.path(dir).to_str().unwrap(), "--peer", peer]));
            }
        }
        a
    }

    /// Runs both parties through a proxy applying `fault`; `case` names the
    /// audit files.
    fn run(&self, case: &str, fault: Option<Fault>) -> (Ending, Ending, Proxy) {
        let garbler_port = free_port();
        let pids: Pids = Arc::new(Mutex::new((0, 0)));
        let proxy = Proxy::start(garbler_port, fault, pids.clone());
        let (ga, ea) = (format!("{case}-g.jsonl"), format!("{case}-e.jsonl"));
        let listen = format!("127.0.0.1:{garbler_port}");
        let connect = format!("127.0.0.1:{}", proxy.port);
        let g = spawn(&self.party("garbler", ["--listen", &listen], &ga, &self.garbler_inputs));
        let e = spawn(&self.party("evaluator", ["--connect", &connect], &ea, &self.evaluator_inputs));
        *pids.lock().unwrap() = (g.id(), e.id());
        let frozen = fault.filter(|f| f.kind == Kind::Freeze).map(|f| f.dir);
        let (g, e) = wait_both(g, e, &proxy, frozen);
        proxy.stop.store(true, Ordering::Relaxed);
        let audit = |name: &str| {
            let text = std::fs::read_to_string(self.scratch.path(name)).ok()?;
            serde_json::from_str(text.lines().last()?).ok()
        };
        let g = Ending { audit: audit(&ga), ..g };
        let e = Ending { audit: audit(&ea), ..e };
        (g, e, proxy)
    }
}

/// Waits for both processes; a frozen one is continued once the other has
/// ended (or its own time is up), and timed from then. A process still
/// running well past its limit is killed, and the case fails.
fn wait_both(mut g: Child, mut e: Child, proxy: &Proxy, frozen: Option<Dir>) -> (Ending, Ending) {
    let start = Instant::now();
    let mut ended: [Option<(std::process::ExitStatus, Instant)>; 2] = [None, None];
    let mut continued: Option<Instant> = None;
    let hard_limit = Duration::from_secs(60);
    loop {
        for (slot, child) in ended.iter_mut().zip([&mut g, &mut e]) {
            if slot.is_none() {
                if let Ok(Some(status)) = child.try_wait() {
                    *slot = Some((status, Instant::now()));
                }
            }
        }
        if ended.iter().all(Option::is_some) {
            break;
        }
        let fired = *proxy.fired.lock().unwrap();
        if let (Some(dir), None, Some(at)) = (frozen, continued, fired) {
            let frozen_idx = if dir == Dir::GarblerToEvaluator { 1 } else { 0 };
            let other_done = ended[1 - frozen_idx].is_some();
            if other_done || at.elapsed() > TIMEOUT + GRACE {
                let pid = if frozen_idx == 0 { g.id() } else { e.id() };
                signal(pid, "CONT");
                continued = Some(Instant::now());
            }
        }
        if start.elapsed() > hard_limit {
            let _ = g.kill();
            let _ = e.kill();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let fired = *proxy.fired.lock().unwrap();
    let finish = |child: Child, (status, at): (std::process::ExitStatus, Instant), frozen_here: bool| {
        let out = child.wait_with_output().unwrap();
        let from = if frozen_here { continued.or(fired) } else { fired };
        Ending {
            code: status.code(),
            after_fault: from.map(|f| at.saturating_duration_since(f)),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            audit: None,
        }
    };
    let [gs, es] = ended;
    let g_end = finish(g, gs.unwrap(), frozen == Some(Dir::EvaluatorToGarbler));
    let e_end = finish(e, es.unwrap(), frozen == Some(Dir::GarblerToEvaluator));
    (g_end, e_end)
}

/// Checks one party's ending against the rules; returns a description of
/// what is wrong, if anything.
fn judge(who: &str, end: &Ending, answer: u64, must_succeed: bool) -> Option<String> {
    let mut wrong = Vec::new();
    if end.stderr.contains("panicked") {
        wrong.push("panicked".to_owned());
    }
    if let Some(t) = end.after_fault {
        if t > TIMEOUT + GRACE {
            wrong.push(format!("took {:.1} s after the fault", t.as_secs_f64()));
        }
    }
    match end.code {
        Some(0) => {
            let out: Value = serde_json::from_str(end.stdout.trim()).unwrap_or(Value::Null);
            let got = out["outputs"]["result"].as_u64();
            if got != Some(answer) {
                wrong.push(format!("printed {got:?}, not {answer}"));
            }
        }
        Some(1) => {
            let error = end.stderr.lines().rfind(|l| l.starts_with("error: "));
            match error {
                None => wrong.push("no `error:` line".into()),
                Some(line) if line.contains("os error") => wrong.push(format!("raw errno text: {line}")),
                Some(_) => {}
            }
            if must_succeed {
                wrong.push(format!("failed: {}", end.summary()));
            }
        }
        other => wrong.push(format!("exit code {other:?}")),
    }
    let status = end.audit.as_ref().and_then(|a| a["status"].as_str().map(str::to_owned));
    let want = if end.code == Some(0) { "ok" } else { "error" };
    if status.as_deref() != Some(want) {
        wrong.push(format!("audit status {status:?}, expected {want}"));
    }
    if end
        .audit
        .as_ref()
        .is_some_and(|a| a["error"]["message"].as_str().is_some_and(|m| m.contains("os error")))
    {
        wrong.push("raw errno text in the audit line".into());
    }
    (!wrong.is_empty()).then(|| format!("{who}: {}", wrong.join("; ")))
}

/// Where in a span a fault of this kind goes: at the phase's first byte to
/// hold or cut it, in its middle to damage a message.
fn offset(kind: Kind, start: u64, end: u64) -> u64 {
    match kind {
        Kind::Delay | Kind::Stall | Kind::Close | Kind::Freeze => start,
        Kind::Truncate | Kind::Corrupt => start + (end - start) / 2,
    }
}

struct Row {
    label: String,
    garbler: String,
    evaluator: String,
    /// Seconds from the fault to each side's exit.
    times: String,
    problems: Vec<String>,
}

fn times(g: &Ending, e: &Ending) -> String {
    let t = |x: &Ending| x.after_fault.map_or("–".to_owned(), |d| format!("{:.1}", d.as_secs_f64()));
    format!("{} / {}", t(g), t(e))
}

fn run_cases(setup: &Setup, cases: Vec<(String, Fault)>, answer: u64, workers: usize) -> Vec<Row> {
    let queue = Mutex::new(cases.into_iter().enumerate().collect::<Vec<_>>());
    let rows = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let Some((i, (label, fault))) = queue.lock().unwrap().pop() else { return };
                let (g, e, proxy) = setup.run(&format!("case{i}"), Some(fault));
                let mut problems = Vec::new();
                if proxy.fired.lock().unwrap().is_none() {
                    problems.push("the fault never fired".to_owned());
                }
                let succeed = fault.kind == Kind::Delay;
                problems.extend(judge("garbler", &g, answer, succeed));
                problems.extend(judge("evaluator", &e, answer, succeed));
                let cut = matches!(fault.kind, Kind::Stall | Kind::Truncate | Kind::Close | Kind::Freeze);
                if cut && g.code == Some(0) && e.code == Some(0) {
                    problems.push("both succeeded though the stream was cut".into());
                }
                let row = Row {
                    label,
                    garbler: g.summary(),
                    evaluator: e.summary(),
                    times: times(&g, &e),
                    problems,
                };
                rows.lock().unwrap().push((i, row));
            });
        }
    });
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, r)| r).collect()
}

fn report(title: &str, rows: &[Row]) {
    println!(
        "\n### {title}\n\n| case | garbler | evaluator | s after the fault (G / E) |\n|---|---|---|---|"
    );
    for r in rows {
        let (g, e) = (r.garbler.replace('|', "/"), r.evaluator.replace('|', "/"));
        println!("| {} | {g} | {e} | {} |", r.label, r.times);
    }
    let problems: Vec<&String> = rows.iter().flat_map(|r| &r.problems).collect();
    let labelled: Vec<String> = rows
        .iter()
        .filter(|r| !r.problems.is_empty())
        .map(|r| format!("{}: {}", r.label, r.problems.join(", ")))
        .collect();
    assert!(problems.is_empty(), "{} case(s) broke the rules:\n{}", labelled.len(), labelled.join("\n"));
}

fn inputs() -> (String, String) {
    let list = |v: &[u32; 8]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    (format!("a=[{}]", list(&A)), format!("b=[{}]", list(&B)))
}

#[test]
fn every_phase_and_fault_over_plain_tcp_ends_cleanly_within_the_timeout() {
    let phases = phase_spans(PROGRAM);
    let phase_names: Vec<Phase> = phases.spans.iter().map(|s| s.0).collect();
    for p in [
        Phase::Hello,
        Phase::BaseOt,
        Phase::OtExtension,
        Phase::GarblerInputs,
        Phase::Tables,
        Phase::Decoding,
        Phase::OutputLabels,
    ] {
        assert!(phase_names.contains(&p), "{p:?} carries no bytes: {phase_names:?}");
    }
    let (a, b) = inputs();
    let setup = Setup::new("faults-tcp", PROGRAM, false, &[&a], &[&b]);
    let mut cases = Vec::new();
    for &(phase, dir, start, end) in &phases.spans {
        for kind in [Kind::Delay, Kind::Stall, Kind::Truncate, Kind::Close, Kind::Corrupt] {
            let at = offset(kind, start, end);
            let label = format!("{} {} {kind:?} at byte {at}", phase.as_str(), dir.arrow());
            cases.push((label, Fault { dir, at, kind }));
        }
    }
    // The frozen evaluator of the issue, during the tables.
    if let Some(&(_, dir, start, _)) =
        phases.spans.iter().find(|s| s.0 == Phase::Tables && s.1 == Dir::GarblerToEvaluator)
    {
        cases.push((
            "tables G→E Freeze (SIGSTOP the evaluator)".into(),
            Fault { dir, at: start, kind: Kind::Freeze },
        ));
    }
    let rows = run_cases(&setup, cases, expected(), 2);
    report("plain TCP (--insecure), every phase with bytes in that direction", &rows);
}

#[test]
fn faults_under_tls_and_a_frozen_evaluator_mid_stream_end_cleanly() {
    let (a, b) = inputs();
    let setup = Setup::new("faults-tls", PROGRAM, true, &[&a], &[&b]);
    // A clean run first: it must succeed, and it measures the ciphertext.
    let (g, e, proxy) = setup.run("clean", None);
    assert!(judge("garbler", &g, expected(), true).is_none(), "{}", g.stderr);
    assert!(judge("evaluator", &e, expected(), true).is_none(), "{}", e.stderr);
    let (g_to_e, _) = *proxy.totals.lock().unwrap();
    let mut cases = Vec::new();
    for kind in [Kind::Stall, Kind::Truncate, Kind::Close, Kind::Corrupt] {
        // 40 bytes into the ClientHello, then the middle of the tables.
        cases.push((
            format!("TLS handshake E→G {kind:?}"),
            Fault { dir: Dir::EvaluatorToGarbler, at: 40, kind },
        ));
        cases.push((
            format!("TLS tables G→E {kind:?}"),
            Fault { dir: Dir::GarblerToEvaluator, at: g_to_e / 2, kind },
        ));
    }
    let mut rows = run_cases(&setup, cases, expected(), 1);

    // The garbler blocked on writing ~20 MB of tables to a frozen
    // evaluator must fail within the timeout, naming the stall.
    let big = phase_spans(BIG_PROGRAM);
    let &(_, _, start, end) =
        big.spans.iter().find(|s| s.0 == Phase::Tables && s.1 == Dir::GarblerToEvaluator).unwrap();
    assert!(end - start > 16 << 20, "the tables must outsize the socket buffers");
    let big_setup = Setup::new("faults-big", BIG_PROGRAM, true, &["a=3"], &["b=5"]);
    let fault = Fault { dir: Dir::GarblerToEvaluator, at: start + 1_000_000, kind: Kind::Freeze };
    let (g, e, _) = big_setup.run("frozen", Some(fault));
    let mut problems: Vec<String> = judge("garbler", &g, 0, false).into_iter().collect();
    problems.extend(judge("evaluator", &e, 0, false));
    if g.code != Some(1) || !g.stderr.contains("the peer took none of our data") {
        problems.push(format!("garbler: expected the send stall to be named: {}", g.stderr.trim()));
    }
    rows.push(Row {
        label: "TLS tables G→E Freeze, 20 MB of tables (garbler blocked writing)".into(),
        garbler: g.summary(),
        evaluator: e.summary(),
        times: times(&g, &e),
        problems,
    });
    report("TLS 1.3, and a frozen evaluator with the garbler blocked writing", &rows);
}
