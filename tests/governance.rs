//! `garblet serve` between real processes (docs/GOVERNANCE.md): each rule
//! refuses what it should, with the rule named on both sides; budgets hold
//! under a race of ten clients and across a restart; the chained audit log
//! verifies when intact and names the line when changed, cut or reordered;
//! many sessions lose no line; a slow peer blocks no one; SIGTERM lets a
//! session run out its grace and logs it; `serve --check` says what to fix;
//! `min_cohort` admits only programs whose result the peer learns through a
//! large enough cohort guard, and the guard releases the sentinel below it;
//! a run's line is in the log by the time the peer holds its result.

use garblet::engine::channel::Channel;
use garblet::engine::net::{self, Fingerprint, Identity, PinnedTls, Side, TcpOptions, TlsStream};
use garblet::engine::session::{PartyInputs, Phase, PhaseEntry, SessionConfig, SessionProgram};
use garblet::Party;
use serde_json::Value;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{bin, keygen, Scratch};

mod support;

const EXAMPLE: &str = include_str!("../examples/governed/model_eval.gbl");
const RECORDS: &str = include_str!("../examples/governed/records.json");
const MODEL: &str = include_str!("../examples/governed/model.json");
const NARROW: &str = include_str!("../examples/governed/narrow.json");
/// The example's guard, as written in it.
const GUARD: &str = "cohort(matched, K, Accuracy { matched, correct })";

/// Identities and files of one scenario, in a scratch directory.
struct World {
    s: Scratch,
    client: String,
    vendors: Vec<String>,
    approver: String,
}

impl World {
    fn new(tag: &str, vendors: usize) -> World {
        let s = Scratch::new(tag);
        let client = keygen(&s.path("ids/client"));
        let vendors = (0..vendors).map(|i| keygen(&s.path(&format!("ids/vendor{i}")))).collect();
        let approver = keygen(&s.path("ids/approver"));
        std::fs::write(s.path("model_eval.gbl"), EXAMPLE).unwrap();
        std::fs::write(s.path("records.json"), RECORDS).unwrap();
        std::fs::write(s.path("model.json"), MODEL).unwrap();
        std::fs::write(s.path("narrow.json"), NARROW).unwrap();
        World { s, client, vendors, approver }
    }

    fn path(&self, name: &str) -> String {
        self.s.path(name).display().to_string()
    }

    /// A configuration offering `programs` (name, file, max_runs, approvals)
    /// to every vendor.
    fn config(&self, name: &str, programs: &[(&str, &str, u32, u32)], extra: &str) -> PathBuf {
        let mut t = format!(
            "listen = \"127.0.0.1:0\"\nidentity = \"ids/client\"\naudit_log = \"audit.jsonl\"\nmax_sessions = 8\ntimeout = \"10s\"\ngrace = \"1s\"\n{extra}\n"
        );
        let names: Vec<String> = (0..self.vendors.len()).map(|i| format!("\"vendor{i}\"")).collect();
        for (i, fp) in self.vendors.iter().enumerate() {
            t += &format!("[[peer]]\nname = \"vendor{i}\"\nfingerprint = \"{fp}\"\n\n");
        }
        t += &format!("[[approver]]\nname = \"privacy-office\"\nfingerprint = \"{}\"\n\n", self.approver);
        for (program, file, max_runs, approvals) in programs {
            t += &format!(
                "[[program]]\nname = \"{program}\"\npath = \"{file}\"\nrole = \"evaluator\"\ninputs = \"records.json\"\npeers = [{}]\nmax_runs = {max_runs}\nwindow = \"24h\"\napprovals = {approvals}\n\n",
                names.join(", ")
            );
        }
        let path = self.s.path(name);
        std::fs::write(&path, t).unwrap();
        path
    }

    /// `garblet approve FILE --identity ids/WHO --name NAME`.
    fn approve(&self, file: &str, who: &str, name: &str) {
        let out = bin()
            .args([
                "approve",
                &self.path(file),
                "--identity",
                &self.path(&format!("ids/{who}")),
                "--name",
                name,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// The vendor's side: `garblet run FILE --as garbler --connect ADDR`,
    /// with the model and filter of `model.json`.
    fn run(&self, file: &str, vendor: &str, addr: &str) -> Child {
        self.run_with(file, vendor, addr, "model.json")
    }

    /// [`World::run`] with the vendor's inputs from `inputs`.
    fn run_with(&self, file: &str, vendor: &str, addr: &str, inputs: &str) -> Child {
        self.run_as(file, vendor, addr, inputs, &["--as", "garbler"])
    }

    /// [`World::run_with`] with `how` for the role and mode flags.
    fn run_as(&self, file: &str, vendor: &str, addr: &str, inputs: &str, how: &[&str]) -> Child {
        bin()
            .args(["run", &self.path(file), "--connect", addr, "--json", "--timeout", "20"])
            .args(how)
            .args(["--identity", &self.path(&format!("ids/{vendor}")), "--peer", &self.client])
            .args(["--inputs", &self.path(inputs), "--audit-log", &self.path(&format!("{vendor}.jsonl"))])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The service's audit lines.
    fn log(&self) -> Vec<Value> {
        lines(&self.s.path("audit.jsonl"))
    }
}

/// One field of each audit line, `-` where a line has none.
fn field<'a>(log: &'a [Value], key: &str) -> Vec<&'a str> {
    log.iter().map(|l| l[key].as_str().unwrap_or("-")).collect()
}

/// Rewrites one setting of a configuration file that `World::config` wrote.
fn set(config: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains(from), "{from} is not in {}", config.display());
    std::fs::write(config, text.replace(from, to)).unwrap();
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A running `garblet serve`.
struct Service {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Service {
    fn start(config: &Path) -> Service {
        let mut child = bin()
            .args(["serve", "--config", config.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let (err, sink) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.split(' ').next().unwrap_or("").to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            panic!("the service did not start: {:?}", stderr.lock().unwrap());
        });
        Service { child, addr, stderr }
    }

    /// Whether the service has written `times` stderr lines containing
    /// `text` within `wait` (its lines reach the test through a reader
    /// thread).
    fn said_within(&self, text: &str, times: usize, wait: Duration) -> bool {
        let start = Instant::now();
        loop {
            let lines = self.stderr.lock().unwrap();
            if lines.iter().filter(|l| l.contains(text)).count() >= times {
                return true;
            }
            if start.elapsed() > wait {
                eprintln!("the service said: {lines:?}");
                return false;
            }
            drop(lines);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(bin_kill(&["-TERM", &pid]));
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "the service did not stop: {:?}", self.stderr);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kill ARGS` (by process id only).
fn bin_kill(args: &[&str]) -> bool {
    std::process::Command::new("kill").args(args).status().map(|s| s.success()).unwrap_or(false)
}

/// A finished client: exit code, stderr, its audit line.
fn done(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a refusal by `rule` whose message contains `says`.
fn assert_refused(out: &Output, says: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    let e = stderr(out);
    assert!(e.contains("error: refused by the service: ") && e.contains(says), "{e}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "refused");
}

fn assert_ok(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["outputs"]["result"],
        serde_json::json!({"matched": 5, "correct": 4}),
        "5 of the 8 records are in the filter, 4 of them classified correctly"
    );
}

/// The example with another threshold: another circuit.
fn variant(w: &World, file: &str, threshold: u32) {
    std::fs::write(w.s.path(file), EXAMPLE.replace("score >= 0", &format!("score >= {threshold}"))).unwrap();
}

#[test]
fn every_rule_refuses_and_both_sides_log_it() {
    let w = World::new("gov-matrix", 1);
    variant(&w, "unapproved.gbl", 1);
    variant(&w, "forged.gbl", 2);
    variant(&w, "edited.gbl", 3);
    w.approve("model_eval.gbl", "approver", "accuracy");
    // Forged: an approval by an identity that is not a configured approver,
    // and the approver's own approval with its signature altered.
    keygen(&w.s.path("ids/forger"));
    w.approve("forged.gbl", "forger", "forged");
    w.approve("forged.gbl", "approver", "forged");
    let approvals = w.s.path("forged.gbl.approvals");
    let text = std::fs::read_to_string(&approvals).unwrap();
    let mut rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let sig = rows[1]["signature"].as_str().unwrap().to_owned();
    let flipped = if sig.ends_with('0') { "1" } else { "0" };
    rows[1]["signature"] = Value::from(format!("{}{flipped}", &sig[..sig.len() - 1]));
    std::fs::write(&approvals, rows.iter().map(|r| format!("{r}\n")).collect::<String>()).unwrap();
    // Edited after approval.
    w.approve("edited.gbl", "approver", "edited");
    std::fs::write(w.s.path("edited.gbl"), EXAMPLE.replace("score >= 0", "score >= 4")).unwrap();
    let config = w.config(
        "service.toml",
        &[
            ("accuracy", "model_eval.gbl", 1, 1),
            ("unapproved", "unapproved.gbl", 9, 1),
            ("forged", "forged.gbl", 9, 1),
            ("edited", "edited.gbl", 9, 1),
        ],
        "",
    );
    let service = Service::start(&config);
    let a = &service.addr;

    assert_ok(&done(w.run("model_eval.gbl", "vendor0", a)));
    // The run's line was synced before the peer could decode its result:
    // it is in the log the moment the peer has its result.
    let first = w.log();
    assert_eq!(first.len(), 1, "the line of a released run is written before the release");
    assert_eq!(
        (first[0]["status"].as_str(), first[0]["released_at"].as_str()),
        (Some("ok"), Some("output_labels"))
    );
    assert_refused(
        &done(w.run("model_eval.gbl", "vendor0", a)),
        "budget of 1 run per 24h for program `accuracy` is used up (next run allowed at ",
    );
    let stranger = keygen(&w.s.path("ids/stranger"));
    assert_refused(
        &done(w.run("model_eval.gbl", "stranger", a)),
        &format!("does not know your certificate (fingerprint {stranger})"),
    );
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/millionaires.gbl"), w.s.path("other.gbl"))
        .unwrap();
    let other = bin()
        .args([
            "run",
            &w.path("other.gbl"),
            "--as",
            "garbler",
            "--connect",
            a,
            "--json",
            "--input",
            "alice=5",
        ])
        .args(["--identity", &w.path("ids/vendor0"), "--peer", &w.client])
        .output()
        .unwrap();
    assert_refused(&other, "is offered to peer `vendor0`");
    assert_refused(
        &done(w.run("unapproved.gbl", "vendor0", a)),
        "program `unapproved` lacks approvals: 0 valid of 1 needed",
    );
    let forged = done(w.run("forged.gbl", "vendor0", a));
    assert_refused(&forged, "who is not a configured approver");
    assert_refused(&forged, "the signature does not verify");
    assert_refused(&done(w.run("edited.gbl", "vendor0", a)), "another version of the program");

    // The client's own audit line says refused, with the rule.
    let client = lines(&w.s.path("vendor0.jsonl"));
    let rules: Vec<&str> = client.iter().filter_map(|l| l["rule"].as_str()).collect();
    assert_eq!(rules, ["budget", "approval", "approval", "approval"]);
    assert!(client.iter().skip(1).all(|l| l["status"] == "refused"));
    assert!(service.stop().success());
    // The service's chain: one line per connection, each rule named.
    let log = w.log();
    let rules = field(&log, "rule");
    assert_eq!(rules, ["-", "budget", "peer", "program", "approval", "approval", "approval"]);
    assert_eq!(log[0]["status"], "ok");
    assert_eq!(log[0]["peer"]["name"], "vendor0");
    assert_eq!(log[0]["program"]["name"], "accuracy");
    let out = bin().args(["audit", "verify", &w.path("audit.jsonl")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// An approver's signature counts once, and only for the program name it
/// signed: a program that needs two approvals is refused with one
/// approver's two lines, runs once a second approver signs, and a line
/// signed for another name does not count.
#[test]
fn an_approval_counts_once_and_only_for_the_name_it_signed() {
    let w = World::new("gov-approvals", 1);
    let second = keygen(&w.s.path("ids/approver2"));
    variant(&w, "twice.gbl", 0);
    w.approve("twice.gbl", "approver", "twice");
    w.approve("twice.gbl", "approver", "twice");
    variant(&w, "renamed.gbl", 5);
    w.approve("renamed.gbl", "approver", "another-name");
    let extra = format!("[[approver]]\nname = \"second-office\"\nfingerprint = \"{second}\"\n");
    let config =
        w.config("service.toml", &[("twice", "twice.gbl", 9, 2), ("renamed", "renamed.gbl", 9, 1)], &extra);
    let service = Service::start(&config);
    let a = &service.addr;
    let twice = done(w.run("twice.gbl", "vendor0", a));
    assert_refused(&twice, "program `twice` lacks approvals: 1 valid of 2 needed");
    assert_refused(&twice, "a second approval by `privacy-office`");
    assert_refused(
        &done(w.run("renamed.gbl", "vendor0", a)),
        "it approves another program name, not `renamed`",
    );
    w.approve("twice.gbl", "approver2", "twice");
    assert_ok(&done(w.run("twice.gbl", "vendor0", a)));
    assert!(service.stop().success());
    let log = w.log();
    let rules = field(&log, "rule");
    assert_eq!(rules, ["approval", "approval", "-"]);
}

/// The service runs a program in one role and in semi-honest mode only: a
/// peer asking for the same role, or for `dualex`, is refused by the
/// program rule and takes no slot of the budget (the honest run after them
/// is the budget's one run).
#[test]
fn the_wrong_role_or_dual_execution_is_refused_without_using_the_budget() {
    let w = World::new("gov-mode", 1);
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", 1, 0)], "");
    let service = Service::start(&config);
    let a = &service.addr;
    let run = |inputs: &str, how: &[&str]| done(w.run_as("model_eval.gbl", "vendor0", a, inputs, how));
    assert_refused(
        &run("records.json", &["--as", "evaluator"]),
        "program `accuracy` runs with this service as evaluator: connect with --as garbler",
    );
    assert_refused(
        &run("model.json", &["--as", "garbler", "--security", "dualex"]),
        "the service runs `accuracy` in semi-honest mode only: connect with --security semi-honest",
    );
    assert_ok(&run("model.json", &["--as", "garbler"]));
    assert!(service.stop().success());
    let log = w.log();
    let rules = field(&log, "rule");
    assert_eq!(rules, ["program", "program", "-"]);
}

#[test]
fn budgets_hold_under_a_race_and_across_a_restart_and_the_chain_verifies() {
    let w = World::new("gov-race", 1);
    w.approve("model_eval.gbl", "approver", "accuracy");
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", 3, 1)], "");
    let service = Service::start(&config);
    let clients: Vec<Child> = (0..10).map(|_| w.run("model_eval.gbl", "vendor0", &service.addr)).collect();
    let outs: Vec<Output> = clients.into_iter().map(done).collect();
    let ok = outs.iter().filter(|o| o.status.success()).count();
    let budget = outs.iter().filter(|o| stderr(o).contains("budget of 3 runs per 24h")).count();
    assert_eq!((ok, budget), (3, 7), "{:?}", outs.iter().map(stderr).collect::<Vec<_>>());
    assert!(service.stop().success());

    // A restart reads the ledger back: still used up.
    let service = Service::start(&config);
    assert_refused(&done(w.run("model_eval.gbl", "vendor0", &service.addr)), "budget of 3 runs");
    assert!(service.stop().success());
    let log = w.log();
    assert_eq!(log.len(), 11);
    assert_eq!(log.iter().filter(|l| l["status"] == "ok").count(), 3);

    // audit verify: intact, then changed, cut and reordered copies.
    let verify = |bytes: &str, anchor: Option<&str>| {
        let path = w.s.path("copy.jsonl");
        std::fs::write(&path, bytes).unwrap();
        let mut cmd = bin();
        cmd.args(["audit", "verify", path.to_str().unwrap()]);
        if let Some(a) = anchor {
            cmd.args(["--anchor", a]);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let text = std::fs::read_to_string(w.s.path("audit.jsonl")).unwrap();
    let (code, summary) = verify(&text, None);
    assert_eq!(code, Some(0), "{summary}");
    assert!(
        summary.contains("11 lines")
            && summary.contains("3 ok")
            && summary.contains("refused by rule budget: 8"),
        "{summary}"
    );
    let last = summary.lines().find_map(|l| l.strip_prefix("last hash ")).unwrap().to_owned();
    let rows: Vec<&str> = text.lines().collect();
    let join = |rows: &[&str]| rows.iter().map(|r| format!("{r}\n")).collect::<String>();
    // Which lines are refusals depends on how the race went: edit the
    // first refusal that has a line after it.
    let k = (0..rows.len() - 1).find(|&k| rows[k].contains("\"status\":\"refused\"")).expect("a refusal");
    let mut changed = rows.clone();
    let edited = rows[k].replace("\"status\":\"refused\"", "\"status\":\"ok\"");
    assert_ne!(edited, rows[k]);
    changed[k] = &edited;
    let (code, out) = verify(&join(&changed), None);
    assert_eq!(code, Some(1), "{out}");
    let want = format!("line {} does not follow line {}: line {} was changed", k + 2, k + 1, k + 1);
    assert!(out.contains(&want), "{out}");
    let mut removed = rows.clone();
    removed.remove(2);
    let (code, out) = verify(&join(&removed), None);
    assert_eq!(code, Some(1));
    assert!(out.contains("line 3 does not follow line 2"), "{out}");
    let mut swapped = rows.clone();
    swapped.swap(6, 7);
    let (code, out) = verify(&join(&swapped), None);
    assert_eq!(code, Some(1));
    assert!(out.contains("line 7 does not follow line 6"), "{out}");
    // Cut from the end: the chain alone cannot tell, the anchor can.
    let (code, _) = verify(&join(&rows[..10]), None);
    assert_eq!(code, Some(0));
    let (code, out) = verify(&join(&rows[..10]), Some(&last));
    assert_eq!(code, Some(1));
    assert!(out.contains("no line of the chain has the anchored hash"), "{out}");
    assert_eq!(verify(&text, Some(&last)).0, Some(0));
}

#[test]
fn many_sessions_lose_no_line_and_a_slow_peer_blocks_no_one() {
    const PEERS: usize = 5;
    const EACH: usize = 10;
    let w = World::new("gov-many", PEERS);
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", EACH as u32, 0)], "");
    let service = Service::start(&config);
    // Peers that connect and say nothing, and one that sends garbage.
    let idle: Vec<std::net::TcpStream> =
        (0..3).map(|_| std::net::TcpStream::connect(&service.addr).unwrap()).collect();
    let start = Instant::now();
    let outs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..PEERS)
            .map(|p| {
                let (w, addr) = (&w, &service.addr);
                s.spawn(move || {
                    (0..EACH)
                        .map(|_| done(w.run("model_eval.gbl", &format!("vendor{p}"), addr)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    for out in &outs {
        assert_ok(out);
    }
    eprintln!("{} sessions in {:.1} s", outs.len(), start.elapsed().as_secs_f64());
    drop(idle);
    assert!(service.stop().success());
    let log = w.log();
    assert_eq!(log.len(), PEERS * EACH, "one line per session, none lost");
    for p in 0..PEERS {
        let name = format!("vendor{p}");
        assert_eq!(
            log.iter().filter(|l| l["peer"]["name"] == name.as_str() && l["status"] == "ok").count(),
            EACH
        );
    }
    let out = bin().args(["audit", "verify", &w.path("audit.jsonl")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// The phase between the handshake and the session has a deadline: a peer
/// that sends a byte every 200 ms (each of the service's reads waits far
/// less than its I/O timeout) is cut off once the service's `timeout` has
/// passed, whether it is a stranger (refused at once by the peer rule, then
/// read until it closes) or a listed peer trickling its hello, and each
/// connection gets its line. Without the deadline both stay connected for
/// as long as they trickle.
#[test]
fn a_peer_that_trickles_after_the_handshake_is_cut_off_at_the_deadline() {
    let w = World::new("gov-trickle", 1);
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", 3, 0)], "");
    set(&config, "timeout = \"10s\"", "timeout = \"2s\"");
    let service = Service::start(&config);
    let stranger = Identity::generate("stranger").unwrap();
    let vendor = Identity::load(&w.s.path("ids/vendor0")).unwrap();
    for (who, identity) in [("a stranger", &stranger), ("vendor0", &vendor)] {
        let mut tls = connect_tls(&w, identity, &service.addr);
        let start = Instant::now();
        let cut = loop {
            if tls.write_all(&[0]).and_then(|()| tls.flush()).is_err() {
                break start.elapsed();
            }
            assert!(start.elapsed() < Duration::from_secs(15), "{who} is still connected after 15 s");
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(
            cut >= Duration::from_millis(1500) && cut < Duration::from_secs(8),
            "{who} was cut off after {cut:?}, not at the 2 s deadline"
        );
    }
    assert!(service.stop().success());
    let log = w.log();
    assert_eq!(log.len(), 2, "a line per connection: {log:?}");
    assert_eq!(log[0]["status"], "refused", "{:?}", log[0]);
    assert_eq!(log[0]["rule"], "peer", "{:?}", log[0]);
    assert_eq!(log[1]["status"], "error", "{:?}", log[1]);
    assert_eq!(log[1]["peer"]["name"], "vendor0");
}

#[test]
fn sigterm_lets_a_session_use_its_grace_then_logs_it_and_a_crash_is_logged_lost() {
    let w = World::new("gov-term", 1);
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", 3, 0)], "");
    let service = Service::start(&config);
    let vendor = stalled_session(&w, &service.addr);
    // The session has started once its run is reserved in the ledger.
    wait_for_reservations(&w, 1);
    let stopping = Instant::now();
    assert!(service.stop().success(), "SIGTERM exits 0");
    let took = stopping.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "waited the 1 s grace: {took:?}"
    );
    let _ = vendor.join();
    let log = w.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "interrupted");
    assert_eq!(log[0]["peer"]["name"], "vendor0");

    // A service killed mid-run (no grace, no line): the next start logs
    // the reservation it finds without a line as `lost`.
    let mut service = Service::start(&config);
    let vendor = stalled_session(&w, &service.addr);
    wait_for_reservations(&w, 2);
    assert!(bin_kill(&["-KILL", &service.child.id().to_string()]));
    let _ = service.child.wait();
    let _ = vendor.join();
    assert_eq!(w.log().len(), 1, "a killed service wrote nothing");
    let service = Service::start(&config);
    assert!(service.stop().success());
    let log = w.log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["status"], "lost");
    let out = bin().args(["audit", "verify", &w.path("audit.jsonl")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// A TLS connection to the service as `identity`, the service pinned.
fn connect_tls(w: &World, identity: &Identity, addr: &str) -> TlsStream {
    let client: Fingerprint = w.client.parse().unwrap();
    let options =
        TcpOptions { connect_timeout: Duration::from_secs(10), io_timeout: Duration::from_secs(10) };
    let tcp = net::connect(addr, &options).unwrap();
    PinnedTls::new(identity, client).unwrap().secure(tcp, Side::Connector, Duration::from_secs(10)).unwrap()
}

/// vendor0's run of the example through the library, in its own thread:
/// `at_base_ot` runs as its OT starts, and once `cut` is set its next read
/// or write drops the connection (an abort). The thread returns the run.
fn library_session(
    w: &World,
    addr: &str,
    at_base_ot: impl Fn() + Send + Sync + 'static,
    cut: Arc<AtomicBool>,
) -> std::thread::JoinHandle<bool> {
    let program = garblet::compile(EXAMPLE, "model_eval.gbl").unwrap();
    let model: Value = serde_json::from_str(MODEL).unwrap();
    let encode = |name: &str| {
        let ty = &program.params.iter().find(|p| p.name == name).unwrap().ty;
        (name.to_owned(), ty.encode(&model[name]).unwrap())
    };
    let inputs = PartyInputs::new([encode("model"), encode("filter")]);
    // What `garblet run` binds: `Program::session_terms` (here the cohort rule).
    let terms = program.session_terms();
    let tls = connect_tls(w, &Identity::load(&w.s.path("ids/vendor0")).unwrap(), addr);
    std::thread::spawn(move || {
        let hook = Arc::new(move |e: PhaseEntry| {
            if e.phase == Phase::BaseOt {
                at_base_ot();
            }
        });
        let p = SessionProgram::from_circuit(&program.circuit).unwrap().with_terms(&terms);
        let mut ch = Channel::new(Cuttable { inner: Some(tls), cut });
        SessionConfig::new().with_phases(hook).run(Party::Garbler, &mut ch, &p, &inputs).is_ok()
    })
}

/// A vendor (through the library) whose session stalls for 4 s once the
/// OT starts, in its own thread.
fn stalled_session(w: &World, addr: &str) -> std::thread::JoinHandle<bool> {
    let never = Arc::new(AtomicBool::new(false));
    library_session(w, addr, || std::thread::sleep(Duration::from_secs(4)), never)
}

/// A transport the test can cut: once `cut` is set, the next read or write
/// drops the connection and fails, as a peer that aborts a run does.
struct Cuttable<T> {
    inner: Option<T>,
    cut: Arc<AtomicBool>,
}

impl<T> Cuttable<T> {
    fn live(&mut self) -> io::Result<&mut T> {
        if self.cut.load(Ordering::SeqCst) {
            self.inner = None;
        }
        self.inner.as_mut().ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "aborted"))
    }
}

impl<T: Read> Read for Cuttable<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.live()?.read(buf)
    }
}

impl<T: Write> Write for Cuttable<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.live()?.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.live()?.flush()
    }
}

/// vendor0's run of the example, which waits at its base OTs until `cut`
/// is set and then aborts (its connection dropped mid-run).
fn aborted_session(w: &World, addr: &str, cut: Arc<AtomicBool>) -> std::thread::JoinHandle<bool> {
    let wait = cut.clone();
    library_session(
        w,
        addr,
        move || {
            while !wait.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
        },
        cut,
    )
}

/// A run aborted by the peer after the service reserved its budget slot
/// keeps the slot: the next connection is refused by the budget.
#[test]
fn a_run_aborted_after_its_reservation_keeps_its_budget_slot() {
    let w = World::new("gov-abort", 1);
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", 1, 0)], "");
    let service = Service::start(&config);
    let cut = Arc::new(AtomicBool::new(false));
    let vendor = aborted_session(&w, &service.addr, cut.clone());
    wait_for_reservations(&w, 1);
    cut.store(true, Ordering::SeqCst);
    assert!(!vendor.join().unwrap(), "the aborted run ended well");
    // The service writes the aborted run's line when it notices the drop.
    wait_for_log_lines(&w, 1);
    assert_refused(
        &done(w.run("model_eval.gbl", "vendor0", &service.addr)),
        "budget of 1 run per 24h for program `accuracy` is used up",
    );
    assert!(service.stop().success());
    let log = w.log();
    let statuses = field(&log, "status");
    assert_eq!(statuses, ["error", "refused"], "{log:?}");
}

/// A configured peer that sends, after the handshake, a hello that claims
/// 2 MiB, or bytes that are no hello at all, gets a line of its own with
/// the error; one that speaks another protocol version is refused by the
/// `protocol` rule, told so in a refusal frame; the service neither panics
/// nor reads on, and the next run is served.
#[test]
fn a_malformed_or_oversized_hello_ends_that_connection_only() {
    let w = World::new("gov-hostile", 1);
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", 9, 0)], "");
    let service = Service::start(&config);
    let vendor = Identity::load(&w.s.path("ids/vendor0")).unwrap();
    let mut oversized = (2u64 << 20).to_le_bytes().to_vec();
    oversized.extend_from_slice(b"garblet\0");
    let garbage = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    // A hello of protocol version 7: the length, the magic, the version.
    let mut old_version = 12u64.to_le_bytes().to_vec();
    old_version.extend_from_slice(b"garblet\0");
    old_version.extend_from_slice(&7u32.to_le_bytes());
    for bytes in [oversized, garbage, old_version] {
        let mut tls = connect_tls(&w, &vendor, &service.addr);
        tls.write_all(&bytes).unwrap();
        tls.flush().unwrap();
        // The service closes (the read ends, at its end or with an error)
        // well before the 10 s timeout, or sends a refusal frame (a length,
        // then as many bytes) and reads until we close, as a peer does.
        let start = Instant::now();
        let (mut got, mut sink) = (Vec::new(), [0u8; 256]);
        let whole = |got: &[u8]| {
            got.first_chunk::<8>().is_some_and(|l| got.len() as u64 >= 8 + u64::from_le_bytes(*l))
        };
        while !whole(&got) {
            match tls.read(&mut sink) {
                Ok(n @ 1..) => got.extend_from_slice(&sink[..n]),
                _ => break,
            }
        }
        drop(tls);
        assert!(start.elapsed() < Duration::from_secs(5), "the service read on for {:?}", start.elapsed());
        if bytes.len() == 20 {
            let text = String::from_utf8_lossy(&got);
            assert!(text.contains("gblrefus") && text.contains("protocol version"), "{text}");
        }
    }
    assert_ok(&done(w.run("model_eval.gbl", "vendor0", &service.addr)));
    assert!(service.stop().success());
    let log = w.log();
    let ends: Vec<(&str, &str)> = field(&log, "status").into_iter().zip(field(&log, "rule")).collect();
    assert_eq!(ends, [("error", "-"), ("error", "-"), ("refused", "protocol"), ("ok", "-")], "{log:?}");
    for line in &log[..2] {
        assert_eq!(line["error"]["kind"], "peer", "{line:?}");
    }
}

/// At most `max_sessions + 32` connections are under way at once: with
/// `max_sessions = 1`, 33 connections that say nothing hold every place,
/// the next one is closed unread (the service says so on stderr, and it gets
/// no audit line), and once they go a run is served.
#[test]
fn connections_past_max_sessions_plus_32_are_closed_unread() {
    let w = World::new("gov-cap", 1);
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", 9, 0)], "");
    set(&config, "max_sessions = 8", "max_sessions = 1");
    let service = Service::start(&config);
    let idle: Vec<std::net::TcpStream> =
        (0..33).map(|_| std::net::TcpStream::connect(&service.addr).unwrap()).collect();
    // Time for the service to take all 33 (each then waits for its TLS
    // hello, up to the 10 s timeout).
    std::thread::sleep(Duration::from_millis(500));
    let turned_away = done(w.run("model_eval.gbl", "vendor0", &service.addr));
    assert_eq!(turned_away.status.code(), Some(1), "{}", stderr(&turned_away));
    // The service writes its line before it closes the connection, but the
    // thread that reads its stderr may not have taken it in yet when the
    // client has exited.
    assert!(
        service.said_within("too many connections under way", 1, Duration::from_secs(10)),
        "the service did not say so; the client said: {}",
        stderr(&turned_away)
    );
    drop(idle);
    // Each idle connection's end is said ("ignored a connection from …")
    // just before its place is given back: 33 of them and the one turned
    // away.
    assert!(
        service.said_within("ignored a connection from", 34, Duration::from_secs(10)),
        "the idle ones hold on"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_ok(&done(w.run("model_eval.gbl", "vendor0", &service.addr)));
    assert!(service.stop().success());
    let log = w.log();
    assert_eq!(log.len(), 1, "no line for a connection closed unread: {log:?}");
    assert_eq!(log[0]["status"], "ok");
}

/// At `max_sessions` runs under way, one more connection waits up to 5 s
/// for a slot and is then refused by the capacity rule, taking no slot of
/// the budget; the run under way is not disturbed by it.
#[test]
fn a_connection_past_max_sessions_waits_then_is_refused_by_capacity() {
    let w = World::new("gov-capacity", 1);
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", 9, 0)], "");
    set(&config, "max_sessions = 8", "max_sessions = 1");
    let service = Service::start(&config);
    let cut = Arc::new(AtomicBool::new(false));
    let first = aborted_session(&w, &service.addr, cut.clone());
    wait_for_reservations(&w, 1);
    let asked = Instant::now();
    let second = done(w.run("model_eval.gbl", "vendor0", &service.addr));
    let waited = asked.elapsed();
    assert_refused(&second, "the service is running its maximum of 1 sessions; try again shortly");
    assert!(waited >= Duration::from_secs(4) && waited < Duration::from_secs(15), "waited {waited:?}");
    // The refusal's line is written once the refused client has closed;
    // the aborted run's only after the cut. Ordered, not raced.
    wait_for_log_lines(&w, 1);
    cut.store(true, Ordering::SeqCst);
    assert!(!first.join().unwrap(), "the aborted run ended well");
    assert_ok(&done(w.run("model_eval.gbl", "vendor0", &service.addr)));
    assert!(service.stop().success());
    let log = w.log();
    let lines: Vec<(&str, &str)> = field(&log, "status").into_iter().zip(field(&log, "rule")).collect();
    assert_eq!(lines, [("refused", "capacity"), ("error", "-"), ("ok", "-")], "{log:?}");
}

/// Waits until the service's audit log holds `n` lines (a line is written
/// when the service has seen its run end, which may be after the client's
/// process has exited).
fn wait_for_log_lines(w: &World, n: usize) {
    wait_for_lines(&w.s.path("audit.jsonl"), n, "audit lines");
}

/// Waits until the service's ledger holds `n` reservations (a run has
/// started once its reservation is on disk).
fn wait_for_reservations(w: &World, n: usize) {
    wait_for_lines(&w.s.path("audit.jsonl.budget"), n, "reservations");
}

/// Waits up to 10 s until `path` holds `n` whole lines (a line still being
/// written, without its newline, does not count).
fn wait_for_lines(path: &Path, n: usize, what: &str) {
    let whole = || std::fs::read_to_string(path).unwrap_or_default().matches('\n').count();
    let start = Instant::now();
    while whole() < n {
        assert!(start.elapsed() < Duration::from_secs(10), "{} of {n} {what} after 10 s", whole());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn serve_check_says_what_to_fix() {
    let w = World::new("gov-check", 1);
    let check = |config: &Path| {
        bin().args(["serve", "--check", "--config", config.to_str().unwrap()]).output().unwrap()
    };
    let good = w.config("good.toml", &[("accuracy", "model_eval.gbl", 3, 0)], "");
    let out = check(&good);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 peer, 1 program"));
    // An unknown key, named with its line.
    let text = std::fs::read_to_string(&good).unwrap();
    let bad = w.s.path("bad.toml");
    std::fs::write(&bad, text.replace("max_runs = 3", "max_runs = 3\nmax_run = 4")).unwrap();
    let out = check(&bad);
    assert_eq!(out.status.code(), Some(2));
    let line = text.lines().position(|l| l.starts_with("max_runs")).unwrap() + 2;
    assert!(stderr(&out).contains(&format!("bad.toml:{line}: unknown field `max_run`")), "{}", stderr(&out));
    // A min_cohort above the program's guard (K = 4), named with the
    // program's line.
    std::fs::write(&bad, text.replace("max_runs = 3", "max_runs = 3\nmin_cohort = 50")).unwrap();
    let out = check(&bad);
    assert_eq!(out.status.code(), Some(2));
    let name_line = text.lines().position(|l| l == "name = \"accuracy\"").unwrap() + 1;
    assert!(
        stderr(&out).contains(&format!(
            "bad.toml:{name_line}: program `accuracy` releases its result when count >= 4, below min_cohort = 50"
        )),
        "{}",
        stderr(&out)
    );
    // A program that needs an approval it does not have.
    let unapproved = w.config("unapproved.toml", &[("accuracy", "model_eval.gbl", 3, 1)], "");
    let out = check(&unapproved);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("program `accuracy` lacks approvals: 0 valid of 1 needed"),
        "{}",
        stderr(&out)
    );
    w.approve("model_eval.gbl", "approver", "accuracy");
    assert!(check(&unapproved).status.success());
    // Inputs that do not encode, named with the program's line.
    std::fs::write(w.s.path("records.json"), "{\"records\": 5}").unwrap();
    let out = check(&unapproved);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("program `accuracy`:"), "{}", stderr(&out));
}

#[test]
fn the_vendor_serves_as_garbler_and_the_client_connects() {
    let w = World::new("gov-reverse", 1);
    // Here the "client" identity is the vendor's service, `vendor0` the
    // client that connects as evaluator with its records.
    let config = w.s.path("vendor-service.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nidentity = \"ids/client\"\naudit_log = \"vendor-audit.jsonl\"\n\n[[peer]]\nname = \"client\"\nfingerprint = \"{}\"\n\n[[program]]\nname = \"accuracy\"\npath = \"model_eval.gbl\"\nrole = \"garbler\"\ninputs = \"model.json\"\npeers = [\"client\"]\nmax_runs = 1\nwindow = \"1h\"\n",
            w.vendors[0]
        ),
    )
    .unwrap();
    let service = Service::start(&config);
    let run = || {
        bin()
            .args([
                "run",
                &w.path("model_eval.gbl"),
                "--as",
                "evaluator",
                "--connect",
                &service.addr,
                "--json",
            ])
            .args([
                "--identity",
                &w.path("ids/vendor0"),
                "--peer",
                &w.client,
                "--inputs",
                &w.path("records.json"),
            ])
            .output()
            .unwrap()
    };
    assert_ok(&run());
    // Written and synced before the decoding bits went out.
    let first = lines(&w.s.path("vendor-audit.jsonl"));
    assert_eq!(first.len(), 1, "the line of a released run is written before the release");
    assert_eq!(
        (first[0]["status"].as_str(), first[0]["released_at"].as_str()),
        (Some("ok"), Some("decoding"))
    );
    assert_refused(&run(), "budget of 1 run per 1h for program `accuracy` is used up");
    assert!(service.stop().success());
    let log = lines(&w.s.path("vendor-audit.jsonl"));
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["role"], "garbler");
    assert_eq!(log[0]["status"], "ok");
}

/// `min_cohort`: a program whose result reaches the peer without a guard,
/// or through a guard below the minimum, stops the service at start
/// (`serve` and `serve --check`, exit 2, naming the program and its line);
/// one guarded at or above it runs, releasing the figures for a large
/// enough filter and the sentinel for a small one.
#[test]
fn min_cohort_admits_only_guarded_programs_and_the_guard_suppresses_small_cohorts() {
    let w = World::new("gov-cohort", 1);
    let unguarded = EXAMPLE.replace(GUARD, "Accuracy { matched, correct }");
    assert_ne!(unguarded, EXAMPLE);
    std::fs::write(w.s.path("unguarded.gbl"), &unguarded).unwrap();
    // The same, revealed to the service only: nothing reaches the peer.
    std::fs::write(w.s.path("private.gbl"), unguarded.replace("fn main(", "#[reveal(evaluator)]\nfn main("))
        .unwrap();
    let start_fails = |config: &Path, program: &str, says: &str| {
        let text = std::fs::read_to_string(config).unwrap();
        let name = format!("name = \"{program}\"");
        let name_line = text.lines().position(|l| l == name).unwrap() + 1;
        for args in [vec!["serve", "--check", "--config"], vec!["serve", "--config"]] {
            let out = bin().args(&args).arg(config).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            let shown = config.display();
            assert!(stderr(&out).contains(&format!("{shown}:{name_line}: ")), "{}", stderr(&out));
            assert!(stderr(&out).contains(says), "{says:?} not in {}", stderr(&out));
        }
    };
    let config = w.config("unguarded.toml", &[("plain", "unguarded.gbl", 9, 0)], "min_cohort = 4");
    start_fails(
        &config,
        "plain",
        "program `plain` reveals its result to the garbler without a cohort guard on every bit, but min_cohort = 4",
    );
    let config = w.config("above.toml", &[("accuracy", "model_eval.gbl", 9, 0)], "min_cohort = 5");
    start_fails(
        &config,
        "accuracy",
        "program `accuracy` releases its result when count >= 4, below min_cohort = 5",
    );
    let private = w.config("private.toml", &[("private", "private.gbl", 9, 0)], "min_cohort = 4");
    let out = bin().args(["serve", "--check", "--config"]).arg(&private).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    // At the minimum: accepted, and running.
    let config = w.config("service.toml", &[("accuracy", "model_eval.gbl", 9, 0)], "min_cohort = 4");
    let service = Service::start(&config);
    assert_ok(&done(w.run("model_eval.gbl", "vendor0", &service.addr)));
    // A filter that only two records pass: the sentinel, to both parties.
    let narrow = done(w.run_with("model_eval.gbl", "vendor0", &service.addr, "narrow.json"));
    assert!(narrow.status.success(), "{}", stderr(&narrow));
    let json: Value = serde_json::from_slice(&narrow.stdout).unwrap();
    assert_eq!(json["outputs"]["result"], serde_json::json!({"matched": 255, "correct": 255}));
    // A peer that compiles the program with a smaller K runs another
    // circuit under another rule: not offered.
    let lowered = bin()
        .args(["run", &w.path("model_eval.gbl"), "--as", "garbler", "--connect", &service.addr, "--json"])
        .args(["--const", "K=2", "--identity", &w.path("ids/vendor0"), "--peer", &w.client])
        .args(["--inputs", &w.path("narrow.json")])
        .output()
        .unwrap();
    assert_refused(&lowered, "is offered to peer `vendor0`");
    assert!(service.stop().success());
    let log = w.log();
    let status: Vec<&str> = log.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["ok", "ok", "refused"]);
    assert_eq!(log[0]["program"]["cohort"], 4);
    assert_eq!(log[2]["rule"], "program");
}

/// A service's `path` may name a binary circuit (`garblet convert`); its
/// inputs are integers, as for Bristol circuits.
#[test]
fn serve_check_loads_a_binary_circuit() {
    let w = World::new("gov-binary", 1);
    let aes = support::shared("aes_128.txt");
    let out = bin().args(["convert", &aes, "--format", "binary", "-o", &w.path("aes.bin")]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(w.s.path("records.json"), r#"{"in1": "0x00112233445566778899aabbccddeeff"}"#).unwrap();
    let config = w.config("binary.toml", &[("aes", "aes.bin", 3, 0)], "");
    let out = bin().args(["serve", "--check", "--config", config.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 peer, 1 program"));
}

/// A program's inputs from a CSV file (`input.NAME = "FILE"`) and its
/// constants (`const.NAME = VALUE`) in the service's configuration: the
/// approval must be of the same constants (`approve --const`), the peer
/// must run the same constants (else the hello names another program),
/// and a CSV cell that does not fit is named at start with its row.
#[test]
fn a_service_reads_csv_records_and_sets_constants() {
    let w = World::new("gov-csv", 1);
    std::fs::write(w.s.path("records.csv"), include_str!("../examples/governed/records.csv")).unwrap();
    let base = w.config("base.toml", &[("accuracy", "model_eval.gbl", 3, 1)], "");
    let config = w.s.path("csv.toml");
    let text = std::fs::read_to_string(base)
        .unwrap()
        .replace("inputs = \"records.json\"", "input.records = \"records.csv\"\nconst.K = 5");
    std::fs::write(&config, &text).unwrap();
    let check = || bin().args(["serve", "--check", "--config", config.to_str().unwrap()]).output().unwrap();
    // Approved with the default K = 4: another circuit than the one served.
    w.approve("model_eval.gbl", "approver", "accuracy");
    let out = check();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("lacks approvals: 0 valid of 1 needed"), "{}", stderr(&out));
    let approved = bin()
        .args(["approve", &w.path("model_eval.gbl"), "--identity", &w.path("ids/approver")])
        .args(["--name", "accuracy", "--const", "K=5"])
        .output()
        .unwrap();
    assert!(approved.status.success(), "{}", stderr(&approved));
    assert!(check().status.success(), "{}", stderr(&check()));

    let service = Service::start(&config);
    let run = |consts: &[&str], scheme: &str| {
        let mut cmd = bin();
        cmd.args(["run", &w.path("model_eval.gbl"), "--as", "garbler", "--connect", &service.addr, "--json"])
            .args(["--identity", &w.path("ids/vendor0"), "--peer", &w.client])
            .args(["--inputs", &w.path("model.json"), "--scheme", scheme]);
        for c in consts {
            cmd.args(["--const", c]);
        }
        cmd.output().unwrap()
    };
    // 5 records match, K = 5: the figures are released.
    assert_ok(&run(&["K=5"], "three-halves"));
    assert_refused(&run(&[], "three-halves"), "is offered to peer `vendor0`");
    // The service answers in the garbling scheme the peer asks for.
    assert_ok(&run(&["K=5"], "half-gates"));
    assert!(service.stop().success());
    let log = w.log();
    assert_eq!((log[0]["status"].as_str(), log[0]["scheme"].as_str()), (Some("ok"), Some("three-halves")));
    assert_eq!(log[1]["rule"], "program");
    assert_eq!((log[2]["status"].as_str(), log[2]["scheme"].as_str()), (Some("ok"), Some("half-gates")));

    // A cell out of range: named by file, row and column at start.
    let csv = include_str!("../examples/governed/records.csv").replace("-10,-1,3", "-10,300,3");
    std::fs::write(w.s.path("records.csv"), csv).unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("records.csv") && e.contains("row 4") && e.contains("features.1") && e.contains("300"),
        "{e}"
    );
}
