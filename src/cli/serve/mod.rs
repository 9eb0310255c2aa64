//! `garblet serve --config FILE.toml`: a long-running party that holds its
//! data and runs approved programs with known peers, a few times a window,
//! each run in a chained audit log (`docs/GOVERNANCE.md`).
//!
//! Per connection, in its own thread: the TLS handshake (any certificate
//! that signs it is accepted at the TLS layer, within `timeout`), then the
//! peer rule (a certificate the configuration does not list is refused
//! before anything of it is read), then the peer's hello, read before the
//! service says anything (`SessionConfig::read_peer_hello`), then the
//! other rules in order — program, approval (`policy.rs`), budget
//! (`ledger.rs`), cohort — then
//! capacity (at most `max_sessions` runs at once; one more waits briefly)
//! and the budget slot (reserved under a mutex and on disk before the
//! run, deciding the budget again) — and
//! either the session
//! (`SessionConfig::run_responding`) or a refusal frame naming the rule.
//! Everything from the handshake's end to the session's start (the hello
//! and the rules) must end within `timeout`, and a refusal (its frame and
//! the wait for the peer to close after it) within `timeout` more: a peer
//! that sends a byte now and then cannot hold a connection, whatever its
//! certificate. Every connection that completes
//! the handshake gets exactly one line in the audit chain
//! (`audit/chain.rs`).
//!
//! **Release.** The service's line for a run is written and synced at the
//! session's release gate (`SessionConfig::with_release_gate`): just
//! before the message that lets the peer decode its outputs (the decoding
//! bits when the service garbles, the output labels when it evaluates).
//! Until then the peer holds labels it cannot decode; if the line cannot
//! be written, the outputs are withheld and the peer learns nothing. A run
//! that fails after its release (only the service's own outputs were still
//! to come) gets a second line, status `error-after-release`, for the same
//! run. The reservation (a ledger line synced before the session's first
//! message) covers a service that dies mid-run: at start, any reservation
//! without an audit line gets a line with status `lost`.
//!
//! SIGTERM or Ctrl-C stops accepting, lets the sessions under way finish
//! within `grace`, writes the lines of those that did not (status
//! `interrupted`), and exits 0.

mod config;
mod ledger;
mod policy;

use super::audit::chain::{self, Chain};
use super::audit::{self, Audit};
use super::cache::Cache;
use super::program::Loaded;
use anyhow::{bail, Context, Result};
use config::Config;
use garblet::engine::channel::{Channel, ChannelError};
use garblet::engine::net::{self, Fingerprint, Identity, PinnedTls, Side, TimedStream, TlsStream};
use garblet::engine::session::{
    escape, refuse, PartyInputs, PhaseEntry, SessionConfig, SessionError, SessionOutcome,
};
use ledger::Ledger;
use policy::{Offered, Refusal};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Connections beyond `max_sessions` that may be in their handshake or
/// being refused at once; more are closed unread.
const EXTRA_CONNECTIONS: usize = 32;
/// How long a connection waits for a free session slot before it is
/// refused by the `capacity` rule.
const CAPACITY_WAIT: Duration = Duration::from_secs(5);

/// `garblet serve --config FILE [--check]`.
pub(super) fn serve(config_path: &Path, check: bool, cache: Option<&Path>) -> Result<()> {
    let config = Config::load(config_path)?;
    let identity = Identity::load(&config.identity)
        .map_err(|e| config.error_at(config.identity_line, format!("identity: {e}")))?;
    // `--cache` (or GARBLET_CACHE) wins over the configuration's `cache`.
    let cache = match cache {
        Some(dir) => Cache::open(Some(dir))?,
        None => Cache::open(config.cache.as_deref())
            .map_err(|e| config.error_at(config.cache_line, format!("cache: {e:#}")))?,
    };
    let programs = load_programs(&config, cache.as_ref())?;
    let mut unapproved = Vec::new();
    for o in &programs {
        if let Err(r) = policy::check_approvals(o, &config.approvers) {
            unapproved.push(r.reason);
        }
    }
    if check {
        if let Some(parent) = config.audit_log.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(config
                    .error_at(config.audit_log_line, format!("audit_log: no directory {}", parent.display()))
                    .into());
            }
        }
        if config.audit_log.exists() {
            if let Some(broken) = chain::verify_file(&config.audit_log)?.broken {
                return Err(config
                    .error_at(config.audit_log_line, format!("audit_log is not intact: {broken}"))
                    .into());
            }
        }
        if !unapproved.is_empty() {
            bail!("{}", unapproved.join("; "));
        }
        outln!(
            "{}: ok ({} peer{}, {} program{}, identity {})",
            config_path.display(),
            config.peers.len(),
            plural(config.peers.len()),
            programs.len(),
            plural(programs.len()),
            identity.fingerprint()
        );
        return Ok(());
    }
    for reason in &unapproved {
        errln!("warning: {reason} (runs of it are refused until it is approved)");
    }
    let (chain, records) = Chain::open(&config.audit_log)
        .map_err(|e| config.error_at(config.audit_log_line, format!("audit_log: {e:#}")))?;
    let (ledger, reserved) = Ledger::open(&ledger::ledger_path(&config.audit_log))?;
    let logged: HashSet<&str> = records.iter().filter_map(|r| r.get("run").and_then(Value::as_str)).collect();
    for r in reserved.iter().filter(|r| !logged.contains(r.run.as_str())) {
        let mut line = Map::new();
        line.insert("garblet".into(), json!(env!("CARGO_PKG_VERSION")));
        line.insert("run".into(), json!(r.run));
        line.insert("status".into(), json!("lost"));
        line.insert("started".into(), json!(audit::rfc3339(r.at)));
        line.insert("peer".into(), json!({"name": r.peer}));
        line.insert("program".into(), json!({"name": r.program}));
        line.insert(
            "error".into(),
            json!({"kind": "local", "message": "the service stopped during this run, before its line was written"}),
        );
        chain.append(line)?;
    }
    let listener = net::listen(&config.listen)?;
    let tls = PinnedTls::deciding_after(&identity)?;
    let boot = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
    let service = Arc::new(Service {
        fingerprint: identity.fingerprint(),
        tls,
        listen: listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| config.listen.clone()),
        programs,
        chain: Arc::new(chain),
        ledger,
        slots: Slots { used: Mutex::new(0), freed: Condvar::new() },
        stopping: AtomicBool::new(false),
        runs: Mutex::new(Vec::new()),
        seq: AtomicU64::new(0),
        boot: format!("{boot:x}"),
        config,
    });
    run_listener(&service, listener)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Compiles every program and encodes the service's inputs for it.
fn load_programs(config: &Config, cache: Option<&Cache>) -> Result<Vec<Offered>> {
    let mut out: Vec<Offered> = Vec::new();
    for rule in &config.programs {
        let at = |e: anyhow::Error| config.error_at(rule.line, format!("program `{}`: {e:#}", rule.name));
        let loaded = Loaded::from_file(&rule.path, &[], &rule.consts, cache).map_err(at)?;
        let files: Vec<_> = rule.inputs.iter().cloned().collect();
        let inputs = loaded.collect_inputs(Some(rule.role), &rule.input_files, &files).map_err(at)?;
        if let Some(problem) = policy::cohort_problem(rule, &loaded) {
            return Err(config.error_at(rule.line, problem).into());
        }
        let digest = loaded.session_program().map_err(|e| at(e.into()))?.digest();
        if let Some(twin) = out.iter().find(|o| o.digest == digest && o.rule.role == rule.role) {
            return Err(config
                .error_at(
                    rule.line,
                    format!(
                        "programs `{}` and `{}` are the same circuit with the service in the same role: a peer's hello could not tell them apart",
                        twin.rule.name, rule.name
                    ),
                )
                .into());
        }
        out.push(Offered { rule: rule.clone(), loaded, digest, inputs });
    }
    Ok(out)
}

/// Everything the connection threads share.
struct Service {
    config: Config,
    fingerprint: Fingerprint,
    tls: PinnedTls,
    listen: String,
    programs: Vec<Offered>,
    chain: Arc<Chain>,
    ledger: Ledger,
    slots: Slots,
    stopping: AtomicBool,
    /// The audit records of connections under way, for the end of `grace`.
    runs: Mutex<Vec<Audit>>,
    seq: AtomicU64,
    boot: String,
}

/// At most `max_sessions` sessions at once.
struct Slots {
    used: Mutex<usize>,
    freed: Condvar,
}

/// A session slot, given back when dropped.
struct Slot<'s>(&'s Slots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Ok(mut used) = self.0.used.lock() {
            *used = used.saturating_sub(1);
        }
        self.0.freed.notify_one();
    }
}

impl Slots {
    /// A slot, waiting up to `wait` for one to free up.
    fn acquire(&self, max: usize, wait: Duration) -> Option<Slot<'_>> {
        let deadline = Instant::now() + wait;
        let mut used = self.used.lock().ok()?;
        while *used >= max {
            let left = deadline.checked_duration_since(Instant::now())?;
            used = self.freed.wait_timeout(used, left).ok()?.0;
        }
        *used += 1;
        Some(Slot(self))
    }
}

/// Accepts until SIGTERM, then waits for the sessions under way.
fn run_listener(service: &Arc<Service>, listener: std::net::TcpListener) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        errln!("warning: cannot catch Ctrl-C and SIGTERM ({e}): stopping will not wait for sessions");
    }
    listener.set_nonblocking(true).context("the listener")?;
    let c = &service.config;
    for o in &service.programs {
        errln!(
            "offering `{}` ({}, service as {}, digest {}…) to {}: {} run{} per {} per peer",
            o.rule.name,
            o.loaded.path,
            o.rule.role,
            o.digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>(),
            o.rule.peers.join(", "),
            o.rule.max_runs,
            plural(o.rule.max_runs as usize),
            o.rule.window_text
        );
    }
    errln!("listening on {} (fingerprint {})", service.listen, service.fingerprint);
    let in_flight = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((tcp, from)) => {
                let from = from.to_string();
                if in_flight.load(Ordering::SeqCst) >= c.max_sessions + EXTRA_CONNECTIONS {
                    errln!("ignored a connection from {from}: too many connections under way");
                    continue;
                }
                in_flight.fetch_add(1, Ordering::SeqCst);
                let (service, in_flight) = (service.clone(), in_flight.clone());
                std::thread::spawn(move || {
                    service.connection(tcp, &from);
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
                // Woken by a connection at once; by the stop flag within
                // 100 ms.
                if let Err(e) = net::wait_for_connection(&listener, Duration::from_millis(100)) {
                    errln!("warning: waiting for connections failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            Err(e) => {
                errln!("warning: accepting a connection failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    drop(listener);
    service.stopping.store(true, Ordering::SeqCst);
    let grace = c.grace;
    let under_way = in_flight.load(Ordering::SeqCst);
    errln!(
        "stopping: no new connections; waiting up to {} for {under_way} connection{} under way",
        humantime::format_duration(grace),
        plural(under_way)
    );
    let deadline = Instant::now() + grace;
    while in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<Audit> = service.runs.lock().map(|r| r.clone()).unwrap_or_default();
    for record in left {
        let extra = Map::from_iter([(
            "error".to_owned(),
            json!({"kind": "local", "message": "the service stopped (SIGTERM) and the grace period ended before this run did"}),
        )]);
        if let Some(fields) = record.complete("interrupted", Some(extra)) {
            if let Err(e) = service.chain.append(fields) {
                errln!("error: {e:#}");
            }
        }
    }
    // No line is half written when the process exits: the writer is held.
    service.chain.freeze();
    errln!("stopped");
    Ok(())
}

/// What became of one connection after its handshake.
enum Ending {
    /// Refused by a rule.
    Refused(Refusal),
    /// The session ran (and ended as it did).
    Ran(Box<Result<SessionOutcome, SessionError>>, usize),
    /// The peer's hello could not be read.
    NoHello(SessionError),
}

impl Service {
    /// One connection, start to end, in its own thread.
    fn connection(&self, tcp: std::net::TcpStream, from: &str) {
        let timeout = self.config.timeout;
        let stream = tcp
            .set_nonblocking(false)
            .and_then(|()| TimedStream::new(tcp, timeout))
            .map_err(net::NetError::from)
            .and_then(|tcp| self.tls.secure(tcp, Side::Listener, timeout));
        // The phase after the handshake, until the session starts, has a
        // deadline of its own (lifted in `decide_and_run`).
        let stream = stream.and_then(|mut s| s.set_deadline(Some(timeout)).map(|()| s).map_err(Into::into));
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                errln!("ignored a connection from {from}: {}", escape(&e.to_string()));
                return;
            }
        };
        let presented = stream.peer_fingerprint();
        let run = format!("{}-{}", self.boot, self.seq.fetch_add(1, Ordering::SeqCst));
        let mut fields = Map::new();
        fields.insert("run".into(), json!(run));
        fields.insert("tls".into(), json!(true));
        fields.insert("own_fingerprint".into(), json!(self.fingerprint.to_string()));
        fields.insert("endpoint".into(), json!({"listen": self.listen}));
        fields.insert("timeout_s".into(), json!(timeout.as_secs()));
        fields.insert("security".into(), json!("semi-honest"));
        fields.insert(
            "peer".into(),
            json!({"address": from, "name": null, "fingerprint_expected": null,
                   "fingerprint_presented": presented.map(|f| f.to_string())}),
        );
        let record = Audit::start(None, fields);
        if let Ok(mut runs) = self.runs.lock() {
            runs.push(record.clone());
        }
        let mut ch = Channel::new(stream);
        let ending = self.decide_and_run(&mut ch, &record, presented, &run);
        self.finish(&record, ending, &ch);
        if let Ok(mut runs) = self.runs.lock() {
            runs.retain(|r| !r.same(&record));
        }
        audit::done(&record);
    }

    /// The rules in order, then the session (the phase's deadline lifted
    /// as it starts).
    fn decide_and_run(
        &self,
        ch: &mut Channel<TlsStream>,
        record: &Audit,
        presented: Option<Fingerprint>,
        run: &str,
    ) -> Ending {
        // A refusal has a deadline of its own (the rules before it may have
        // used the phase's, waiting for a slot), so that its frame goes out.
        let timeout = self.config.timeout;
        let refused = |ch: &mut Channel<TlsStream>, r: Refusal| {
            let _ = ch.get_mut().set_deadline(Some(timeout));
            let _ = refuse(ch, r.rule, &r.reason);
            Ending::Refused(r)
        };
        // Shutdown and the peer rule need nothing the peer sends: a
        // certificate the configuration does not list is refused before
        // its hello is read.
        if self.stopping.load(Ordering::SeqCst) {
            return refused(ch, Refusal::new("shutdown", "the service is shutting down; try again later"));
        }
        let Some(presented) = presented else {
            return refused(ch, Refusal::new("peer", "no certificate was presented"));
        };
        let peer = match policy::check_peer(&self.config.peers, presented) {
            Ok(p) => p,
            Err(r) => return refused(ch, r),
        };
        record.set_peer("name", json!(peer.name));
        record.set_peer("fingerprint_expected", json!(peer.fingerprint.to_string()));
        let record_phase = record.clone();
        let (record_release, chain) = (record.clone(), self.chain.clone());
        let session = SessionConfig::new()
            .with_phases(Arc::new(move |e: PhaseEntry| {
                record_phase.set("phase", json!(e.phase.as_str()));
            }))
            .with_release_gate(Arc::new(move |e: PhaseEntry| release(&record_release, &chain, e)));
        let hello = match session.read_peer_hello(ch) {
            Ok(h) => h,
            Err(e) => {
                if let SessionError::Mismatch(m) = &e {
                    return refused(ch, Refusal::new("protocol", format!("the two parties disagree: {m}")));
                }
                return Ending::NoHello(e);
            }
        };
        let offered = match policy::choose_program(&self.programs, peer, &hello) {
            Ok(o) => o,
            Err(r) => return refused(ch, r),
        };
        let index = self.programs.iter().position(|o| std::ptr::eq(o, offered)).unwrap_or(0);
        for (k, v) in audit::program_fields(&offered.loaded, true) {
            record.set(&k, v);
        }
        record.set_in("program", "name", json!(offered.rule.name));
        record.set("role", json!(offered.rule.role.as_str()));
        if let Err(r) = policy::check_approvals(offered, &self.config.approvers) {
            return refused(ch, r);
        }
        let rule = &offered.rule;
        let budget_refusal = |used_up: ledger::UsedUp| {
            Refusal::new(
                "budget",
                format!(
                    "budget of {} run{} per {} for program `{}` is used up (next run allowed at {})",
                    rule.max_runs,
                    plural(rule.max_runs as usize),
                    rule.window_text,
                    rule.name,
                    humantime::format_rfc3339_seconds(used_up.next)
                ),
            )
        };
        let unrecorded = || Refusal::new("capacity", "the service cannot record the run; try again later");
        // The budget's answer in its place among the rules; the slot is
        // taken (atomically, deciding again) only once every rule passed.
        match self.ledger.used_up(&peer.name, &rule.name, rule.max_runs, rule.window, SystemTime::now()) {
            Ok(None) => {}
            Ok(Some(used_up)) => return refused(ch, budget_refusal(used_up)),
            Err(e) => {
                errln!("error: {e:#}");
                return refused(ch, unrecorded());
            }
        }
        if let Err(r) = policy::check_cohort(offered) {
            return refused(ch, r);
        }
        let Some(_slot) =
            self.slots.acquire(self.config.max_sessions, CAPACITY_WAIT.min(self.config.timeout))
        else {
            return refused(
                ch,
                Refusal::new(
                    "capacity",
                    format!(
                        "the service is running its maximum of {} sessions; try again shortly",
                        self.config.max_sessions
                    ),
                ),
            );
        };
        match self.ledger.reserve(&peer.name, &rule.name, run, rule.max_runs, rule.window, SystemTime::now())
        {
            Ok(Ok(())) => {}
            Ok(Err(used_up)) => return refused(ch, budget_refusal(used_up)),
            Err(e) => {
                errln!("error: {e:#}");
                return refused(ch, unrecorded());
            }
        }
        // The run uses the garbling scheme the peer asked for.
        let mut session = session;
        if let Some(scheme) = hello.scheme() {
            session.scheme = scheme;
        }
        record.set("scheme", json!(session.scheme.as_str()));
        // And the OT extension it asked for (each is checked against a
        // malicious evaluator).
        if let Some(ot) = hello.ot() {
            session.ot = ot;
        }
        record.set("ot", json!(session.ot.as_str()));
        let outcome = (|| {
            // The session's messages are bounded by the I/O timeout and the
            // writers' progress rule, as in `garblet run`.
            ch.get_mut().set_deadline(None).map_err(|e| SessionError::Channel(ChannelError::Io(e)))?;
            let program = offered.loaded.session_program()?;
            let inputs = PartyInputs::new(offered.inputs.clone());
            session.run_responding(rule.role, ch, hello, &program, &inputs)
        })();
        Ending::Ran(Box::new(outcome), index)
    }

    /// Writes the connection's line, then (for a run that succeeded) prints
    /// the service's outputs.
    fn finish<T: Read + Write>(&self, record: &Audit, ending: Ending, ch: &Channel<T>) {
        let mut extra = Map::new();
        extra.insert("bytes_sent".into(), json!(ch.bytes_sent()));
        extra.insert("bytes_received".into(), json!(ch.bytes_received()));
        let error = |e: SessionError| {
            let e = anyhow::Error::new(e);
            json!({"kind": super::error_kind(&e), "message": super::one_line(&e)})
        };
        let withheld =
            matches!(&ending, Ending::Ran(o, _) if matches!(**o, Err(SessionError::ReleaseWithheld(_))));
        let (status, shown) = match ending {
            Ending::Refused(r) => {
                extra.insert("rule".into(), json!(r.rule));
                extra.insert("reason".into(), json!(r.reason));
                ("refused", None)
            }
            Ending::NoHello(e) => {
                extra.insert("error".into(), error(e));
                ("error", None)
            }
            Ending::Ran(outcome, index) => match *outcome {
                Ok(outcome) => ("ok", Some((outcome, index))),
                Err(e) => {
                    extra.insert("error".into(), error(e));
                    ("error", None)
                }
            },
        };
        let fields = if !record.is_written() {
            let Some(fields) = record.complete(status, Some(extra)) else { return };
            if let Err(e) = self.chain.append(fields.clone()) {
                errln!("error: {e:#} (the run's own outputs are withheld)");
                return;
            }
            fields
        } else {
            let mut line = record.snapshot();
            if line.get("released_at").is_none() {
                // Completed by the shutdown path (status `interrupted`).
                return;
            }
            if status == "ok" {
                // Released: the run's line is in the log.
                line
            } else {
                if withheld {
                    // The release gate could not write the run's line: the
                    // peer learnt nothing; try once more, as an error.
                    line.remove("released_at");
                    line.insert("status".into(), json!("error"));
                } else {
                    // A failure after the release gets a line of its own.
                    line.retain(|k, _| ["garblet", "run", "peer", "program"].contains(&k.as_str()));
                    line.insert("status".into(), json!("error-after-release"));
                    line.insert("ended".into(), json!(audit::rfc3339(SystemTime::now())));
                }
                line.extend(extra);
                let (run, message) = (
                    line.get("run").and_then(Value::as_str).unwrap_or("-").to_owned(),
                    line.get("error")
                        .and_then(|e| e.get("message"))
                        .and_then(Value::as_str)
                        .unwrap_or("-")
                        .to_owned(),
                );
                if let Err(e) = self.chain.append(line) {
                    errln!("error: {e:#}");
                }
                errln!("error: run {run}: {message}");
                return;
            }
        };
        let summary = format!(
            "{status}: peer {} program {}{}",
            fields.get("peer").and_then(|p| p.get("name")).and_then(Value::as_str).unwrap_or("(unknown)"),
            fields.get("program").and_then(|p| p.get("name")).and_then(Value::as_str).unwrap_or("(none)"),
            fields.get("reason").and_then(Value::as_str).map(|r| format!(": {r}")).unwrap_or_default(),
        );
        let run = fields.get("run").cloned().unwrap_or(Value::Null);
        errln!("{summary}");
        if let Some((outcome, index)) = shown {
            let o = &self.programs[index];
            let outputs = super::run::outputs_json(&o.loaded, &outcome);
            // A service goes on whether or not anyone reads its stdout (the
            // audit log has every run).
            let line = json!({"run": run, "program": o.rule.name, "outputs": outputs});
            let _ = writeln!(io::stdout().lock(), "{line}");
        }
    }
}

/// The release gate of a run: completes the run's record (status `ok`, the
/// bytes so far, the phase of the release) and appends it, synced, to the
/// chain. An error withholds the peer's outputs.
fn release(record: &Audit, chain: &Chain, at: PhaseEntry) -> Result<(), String> {
    let mut extra = Map::new();
    extra.insert("released_at".into(), json!(at.phase.as_str()));
    extra.insert("bytes_sent".into(), json!(at.bytes_sent));
    extra.insert("bytes_received".into(), json!(at.bytes_received));
    let fields = record
        .complete("ok", Some(extra))
        .ok_or("the run's audit line was already written (the service is stopping)")?;
    chain.append(fields).map(|_| ()).map_err(|e| format!("{e:#}"))
}
