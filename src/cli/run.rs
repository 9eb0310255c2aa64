//! `garblet run`, `garblet demo` and `garblet keygen`: two parties, one
//! command each, over TLS 1.3 with pinned fingerprints (or, when asked
//! explicitly, plain TCP).

use super::audit::{self, Audit};
use super::links::{self, Links};
use super::program::Loaded;
use anyhow::{bail, Context, Result};
use garblet::circuits::{Circuit, Party};
use garblet::engine::channel::Channel;
use garblet::engine::net::{self, Fingerprint, Identity, NetError, PinnedTls, StallDirection, TcpOptions};
use garblet::engine::session::{
    LinkFailure, OtChoice, PartyInputs, Phase, PhaseEntry, ProgramMismatch, SchemeChoice, SecurityMode,
    SessionConfig, SessionError, SessionOutcome, SessionProgram,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Map, Value};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where to reach the peer.
#[derive(Debug)]
pub(super) enum Endpoint {
    /// Wait for the peer on this address.
    Listen(String),
    /// Wait for the peer on this already bound listener.
    Bound(std::net::TcpListener),
    /// Connect to the peer at this address.
    Connect(String),
}

/// How to secure the connection.
pub(super) enum Security {
    /// TLS 1.3, our identity, the one peer fingerprint we trust.
    Tls { identity: Identity, peer: Fingerprint },
    /// Plain TCP (tests, or a link secured otherwise); a warning is printed.
    Insecure,
}

/// Everything `garblet run` needs.
pub(super) struct RunRequest {
    /// The program.
    pub program: Loaded,
    /// What both parties run, when it was planned before the request was
    /// made: a binary circuit planned from its file
    /// ([`Loaded::program_from_file`]). Otherwise the run plans `program`.
    pub planned: Option<SessionProgram<'static>>,
    /// Garbler or evaluator.
    pub role: Party,
    /// Listen or connect.
    pub endpoint: Endpoint,
    /// TLS or not.
    pub security: Security,
    /// What the run protects against (both parties must agree).
    pub mode: SecurityMode,
    /// The garbling scheme (both parties must agree).
    pub scheme: SchemeChoice,
    /// The OT extension (both parties must agree).
    pub ot: OtChoice,
    /// Connect and I/O timeout.
    pub timeout: Duration,
    /// This party's inputs, already parsed.
    pub inputs: Vec<(String, Vec<bool>)>,
    /// Append one JSON line here.
    pub audit_log: Option<PathBuf>,
    /// Show a progress bar (only on a terminal, only past a second).
    pub progress: bool,
}

/// A finished run as the CLI reports it.
pub(super) struct RunReport {
    /// The session's outcome.
    pub outcome: SessionOutcome,
}

/// Runs one party's side. The audit line (if asked for) is written and
/// synced to disk before this returns, whatever the result.
pub(super) fn run(req: &mut RunRequest) -> Result<RunReport> {
    audit::install_interrupt_handler();
    let audit = Audit::start(req.audit_log.clone(), audit_fields(req));
    let phase = Arc::new(Mutex::new(None::<Phase>));
    let traffic = links::Traffic::default();
    let owned = take_large_circuit(req);
    let planned = req.planned.take();
    let req = &*req;
    let result = run_session(req, owned, planned, &audit, &phase, &traffic);
    let phase = phase.lock().ok().and_then(|p| *p);
    let (sent, received) = traffic.totals();
    let mut extra = Map::new();
    extra.insert("bytes_sent".into(), json!(sent));
    extra.insert("bytes_received".into(), json!(received));
    extra.insert("phase".into(), json!(phase.map(Phase::as_str)));
    let result = result.map_err(|e| with_our_consts(explain(e, phase, req.timeout), &req.program));
    let status = match &result {
        Ok(_) => "ok",
        Err(e) => {
            let detail = e.downcast_ref::<Explained>().map(|x| x.detail.clone());
            extra.insert(
                "error".into(),
                json!({"kind": super::error_kind(e), "message": super::one_line(e), "detail": detail}),
            );
            match refusal_rule(e) {
                Some(rule) => {
                    extra.insert("rule".into(), json!(rule));
                    "refused"
                }
                None => "error",
            }
        }
    };
    let written = audit.finish(status, Some(extra));
    audit::done(&audit);
    let outcome = result?;
    // A result whose audit line could not be written is not shown.
    written
        .context("the run finished, but its audit line could not be written, so its result is withheld")?;
    Ok(RunReport { outcome })
}

/// The rule a service named when it refused the run, if it did.
fn refusal_rule(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|c| match c.downcast_ref::<SessionError>() {
        Some(SessionError::RefusedByService { rule, .. }) => Some(rule.clone()),
        _ => None,
    })
}

/// From this many gates on, a run plans window by window as it goes
/// (`SessionProgram::pipelined`: labels for the live wires only, planning
/// overlapped with the run) instead of compiling the whole plan first.
pub(super) const PIPELINE_FROM_GATES: usize = 1 << 20;

/// A semi-honest run of a circuit of [`PIPELINE_FROM_GATES`] or more
/// takes the circuit (`SessionProgram::from_owned_circuit` renames its
/// wires in place: no copy, nothing per wire during the run) and leaves
/// in the request a circuit with the same inputs and outputs and no
/// gates, which is all the report after the run reads.
fn take_large_circuit(req: &mut RunRequest) -> Option<Circuit> {
    let circuit = &req.program.circuit;
    if req.mode == SecurityMode::DualExecution || circuit.gates().len() < PIPELINE_FROM_GATES {
        return None;
    }
    let shell = circuit.interface();
    Some(std::mem::replace(&mut req.program.circuit, shell))
}

/// The run itself: connections, the session, the progress bar.
fn run_session(
    req: &RunRequest,
    owned: Option<Circuit>,
    planned: Option<SessionProgram<'static>>,
    audit: &Audit,
    phase: &Arc<Mutex<Option<Phase>>>,
    traffic: &links::Traffic,
) -> Result<SessionOutcome> {
    let started = Instant::now();
    let options = TcpOptions { connect_timeout: req.timeout, io_timeout: req.timeout };
    let inputs = PartyInputs::new(req.inputs.clone());
    // Planned before the peer is reached: a pipelined or renamed plan's
    // setup (the one cost that grows with the circuit before the first
    // message) is not spent while the peer waits.
    let program = match (owned, planned, req.mode) {
        (_, _, SecurityMode::DualExecution) => req.program.dual_execution_program()?,
        (_, Some(planned), _) => planned,
        (Some(owned), None, _) => {
            SessionProgram::from_owned_circuit(owned)?.with_terms(&req.program.session_terms())
        }
        (None, None, _) => req.program.session_program()?,
    };
    let total = program.and_count();
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} AND gates  {rate}  {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} M AND/s", state.per_sec() / 1e6);
            }),
    );
    let show = req.progress && std::io::stderr().is_terminal();
    let (shown, first) = (AtomicBool::new(false), AtomicBool::new(true));
    let observer_bar = bar.clone();
    let observer = Arc::new(move |ands: u64| {
        if first.swap(false, Ordering::Relaxed) {
            // Rate and time left count from the first table, not from
            // the wait for the peer.
            observer_bar.reset_elapsed();
            observer_bar.reset_eta();
        }
        if show && started.elapsed() > Duration::from_secs(1) && !shown.swap(true, Ordering::Relaxed) {
            observer_bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        observer_bar.set_position(ands.min(total));
    });
    let (phase_cell, phase_audit) = (phase.clone(), audit.clone());
    let phases = Arc::new(move |entry: PhaseEntry| {
        let p = entry.phase;
        if let Ok(mut cell) = phase_cell.lock() {
            *cell = Some(p);
        }
        phase_audit.set("phase", json!(p.as_str()));
    });
    let config = SessionConfig::new()
        .with_security(req.mode)
        .with_scheme(req.scheme)
        .with_ot(req.ot)
        .with_progress(observer)
        .with_phases(phases);
    let tls = match &req.security {
        Security::Tls { identity, peer } => Some(PinnedTls::new(identity, *peer)?),
        Security::Insecure => None,
    };
    let source = match &req.endpoint {
        Endpoint::Listen(addr) => links::Source::Bound(net::listen(addr)?),
        Endpoint::Bound(listener) => links::Source::Borrowed(listener),
        Endpoint::Connect(addr) => links::Source::Connect(addr),
    };
    let links = Links::new(source, tls, options, audit.clone(), traffic.clone());
    let result = (|| -> Result<SessionOutcome> {
        let mut first = Channel::new(links.open()?);
        let outcome = match req.mode {
            SecurityMode::DualExecution => {
                let second = || links.open().map_err(|e| std::io::Error::other(format!("{e:#}")));
                config.run_dual_execution(req.role, &mut first, second, &program, &inputs)
            }
            _ => config.run(req.role, &mut first, &program, &inputs),
        };
        Ok(outcome?)
    })();
    bar.finish_and_clear();
    result
}

/// A failed run in words a person can act on; `detail` keeps the whole
/// chain of causes for the audit line.
#[derive(Debug)]
pub(super) struct Explained {
    /// The message.
    pub message: String,
    /// The kind, as `error_kind` names it.
    pub kind: &'static str,
    /// Every cause, on one line.
    pub detail: String,
}

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Explained {}

/// A stall or a closed connection becomes one sentence naming the phase it
/// hit (and the `--timeout` it broke) instead of a chain of I/O errors;
/// other errors keep their own message.
fn explain(e: anyhow::Error, phase: Option<Phase>, timeout: Duration) -> anyhow::Error {
    let failure = e.chain().find_map(|cause| {
        if let Some(s) = cause.downcast_ref::<SessionError>() {
            return s.link_failure();
        }
        match cause.downcast_ref::<NetError>() {
            Some(NetError::Io(io)) => return LinkFailure::of_io(io),
            Some(_) => return None,
            None => {}
        }
        cause.downcast_ref::<std::io::Error>().and_then(LinkFailure::of_io)
    });
    let during = phase.map(|p| format!(" during {p}")).unwrap_or_default();
    let secs = timeout.as_secs();
    let message = match failure {
        None => return e,
        Some(LinkFailure::Stalled(stall)) if stall.deadline => stall.to_string(),
        Some(LinkFailure::Stalled(stall)) if stall.direction == StallDirection::Sending => format!(
            "the peer took none of our data for {secs} s{during} (--timeout): it is frozen or overloaded, or the network stopped forwarding"
        ),
        Some(LinkFailure::Stalled(_)) => format!("no message from the peer for {secs} s{during} (--timeout)"),
        Some(LinkFailure::Altered) => format!(
            "data was altered in transit{during}: TLS refused it and the connection was closed (a faulty or hostile network path)"
        ),
        Some(_) => format!("the peer closed the connection{during}"),
    };
    anyhow::Error::new(Explained { message, kind: super::error_kind(&e), detail: super::one_line(&e) })
}

/// Programs that differ (by digest, or by an input's width, as a
/// different `--const N` makes), when this side set constants: the message
/// names them (the hello compares digests only; the peer's message names
/// its own), so that the two can be compared.
fn with_our_consts(e: anyhow::Error, program: &Loaded) -> anyhow::Error {
    let digests_differ = e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<SessionError>(),
            Some(SessionError::Mismatch(ProgramMismatch::Digest { .. } | ProgramMismatch::Input { .. }))
        )
    });
    let consts = program.program.as_ref().map(|p| p.consts.as_slice()).unwrap_or_default();
    if !digests_differ || consts.is_empty() {
        return e;
    }
    let set: Vec<String> = consts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let message = format!("{} (this side: --const {})", super::one_line(&e), set.join(" --const "));
    anyhow::Error::new(Explained { message, kind: super::error_kind(&e), detail: super::one_line(&e) })
}

/// What the audit line knows before the run starts. Never an input value.
fn audit_fields(req: &RunRequest) -> Map<String, Value> {
    let (expected, ours) = match &req.security {
        Security::Tls { identity, peer } => {
            (json!(peer.to_string()), json!(identity.fingerprint().to_string()))
        }
        Security::Insecure => (Value::Null, Value::Null),
    };
    let endpoint = match &req.endpoint {
        Endpoint::Listen(a) => json!({"listen": a}),
        Endpoint::Bound(l) => json!({"listen": l.local_addr().map(|a| a.to_string()).unwrap_or_default()}),
        Endpoint::Connect(a) => json!({"connect": a}),
    };
    let mut line = audit::program_fields(&req.program, req.audit_log.is_some());
    line.insert("role".into(), json!(req.role.as_str()));
    line.insert("security".into(), json!(req.mode.as_str()));
    line.insert("scheme".into(), json!(req.scheme.as_str()));
    line.insert("ot".into(), json!(req.ot.as_str()));
    line.insert("tls".into(), json!(!matches!(req.security, Security::Insecure)));
    line.insert("own_fingerprint".into(), ours);
    line.insert("endpoint".into(), endpoint);
    line.insert("timeout_s".into(), json!(req.timeout.as_secs()));
    line.insert(
        "peer".into(),
        json!({"address": null, "fingerprint_expected": expected, "fingerprint_presented": null}),
    );
    line
}

/// The outputs visible to this party, formatted, by name.
pub(super) fn outputs_json(program: &Loaded, outcome: &SessionOutcome) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, bits) in &outcome.outputs {
        map.insert(name.clone(), program.format_output(name, bits));
    }
    map
}

/// Prints a run's result, as text or as the JSON object of the issue.
pub(super) fn print_report(program: &Loaded, report: &RunReport, as_json: bool) -> Result<()> {
    let o = &report.outcome;
    let outputs = outputs_json(program, o);
    if as_json {
        let obj = json!({
            "outputs": outputs,
            "stats": {
                "and_gates": o.and_gates,
                "bytes_sent": o.bytes_sent,
                "bytes_received": o.bytes_received,
                "seconds": o.seconds,
            }
        });
        outln!("{obj}");
        return Ok(());
    }
    if outputs.is_empty() {
        outln!("(the program reveals nothing to this party)");
    }
    for (name, value) in &outputs {
        match value {
            Value::String(s) => outln!("{name} = {s}"),
            other => outln!("{name} = {other}"),
        }
    }
    errln!(
        "{} AND gates, {} sent, {} received, {:.1} ms",
        o.and_gates,
        human_bytes(o.bytes_sent),
        human_bytes(o.bytes_received),
        o.seconds * 1e3
    );
    Ok(())
}

/// `12.3 MiB`-style sizes.
pub(super) fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// `garblet keygen --out DIR`.
pub(super) fn keygen(dir: &Path, name: &str) -> Result<()> {
    let identity = Identity::generate(name)?;
    identity.save(dir)?;
    outln!("{}", identity.fingerprint());
    errln!(
        "wrote {}/cert.pem and {}/key.pem (keep key.pem private).\n\
         Give the fingerprint above to the other party; they pass it as --peer.",
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// Reads `--peer`: a fingerprint or a certificate file.
pub(super) fn parse_peer(arg: &str) -> Result<Fingerprint> {
    Ok(Fingerprint::from_arg(arg)?)
}

/// `garblet demo`: both parties in this process, over loopback TLS with
/// fresh identities.
pub(super) fn demo(
    program: Loaded,
    inputs: Vec<(String, Vec<bool>)>,
    mode: SecurityMode,
    scheme: SchemeChoice,
    ot: OtChoice,
) -> Result<()> {
    let circuit: &Circuit = &program.circuit;
    let garbler_id = Identity::generate("demo garbler")?;
    let evaluator_id = Identity::generate("demo evaluator")?;
    let (gfp, efp) = (garbler_id.fingerprint(), evaluator_id.fingerprint());
    outln!(
        "garblet demo: two parties in one process, TLS 1.3 over loopback, fresh identities, security {mode}, scheme {scheme}, OT {ot}"
    );
    outln!("  garbler   {}…  holds {}", &gfp.to_string()[..16], holdings(&program, &inputs, Party::Garbler));
    outln!(
        "  evaluator {}…  holds {}",
        &efp.to_string()[..16],
        holdings(&program, &inputs, Party::Evaluator)
    );
    outln!(
        "  program   {} ({} AND gates, digest {}…)",
        program.path,
        program.and_count(),
        &program.digest_hex()[..16]
    );

    let listener = net::listen("127.0.0.1:0")?;
    let addr = listener.local_addr().context("loopback address")?.to_string();
    let split = |p: Party| -> Vec<(String, Vec<bool>)> {
        inputs.iter().filter(|(n, _)| circuit.input(n).is_some_and(|i| i.party == p)).cloned().collect()
    };
    let (g_inputs, e_inputs) = (split(Party::Garbler), split(Party::Evaluator));
    let g_program = program.duplicate();
    let garbler = std::thread::spawn(move || {
        run(&mut RunRequest {
            planned: None,
            program: g_program,
            role: Party::Garbler,
            endpoint: Endpoint::Bound(listener),
            security: Security::Tls { identity: garbler_id, peer: efp },
            mode,
            scheme,
            ot,
            timeout: Duration::from_secs(30),
            inputs: g_inputs,
            audit_log: None,
            progress: true,
        })
    });
    let started = Instant::now();
    let evaluator = run(&mut RunRequest {
        planned: None,
        program: program.duplicate(),
        role: Party::Evaluator,
        endpoint: Endpoint::Connect(addr),
        security: Security::Tls { identity: evaluator_id, peer: gfp },
        mode,
        scheme,
        ot,
        timeout: Duration::from_secs(30),
        inputs: e_inputs,
        audit_log: None,
        progress: true,
    });
    let garbler = garbler.join().map_err(|_| anyhow::anyhow!("the garbler thread panicked"))?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let (garbler, evaluator) = (garbler.context("garbler")?, evaluator.context("evaluator")?);
    for (who, report) in [("garbler", &garbler), ("evaluator", &evaluator)] {
        let outputs = outputs_json(&program, &report.outcome);
        if outputs.is_empty() {
            outln!("  the {who} learns nothing");
        }
        for (name, value) in outputs {
            outln!("  the {who} learns {name} = {}", describe_value(&value));
        }
    }
    let g = &garbler.outcome;
    outln!(
        "cost: {} AND gates, {} garbler → evaluator, {} back, {ms:.1} ms",
        g.and_gates,
        human_bytes(g.bytes_sent),
        human_bytes(g.bytes_received)
    );
    Ok(())
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn holdings(program: &Loaded, inputs: &[(String, Vec<bool>)], party: Party) -> String {
    let mine: Vec<String> = program
        .circuit
        .inputs()
        .iter()
        .filter(|i| i.party == party)
        .map(|i| {
            let shown = inputs
                .iter()
                .find(|(n, _)| *n == i.name)
                .map(|(_, bits)| describe_value(&program.format_output(&i.name, bits)))
                .unwrap_or_default();
            format!("{} = {}", i.name, shown)
        })
        .collect();
    if mine.is_empty() {
        "no input".into()
    } else {
        mine.join(", ")
    }
}

/// Refuses a run without TLS unless `--insecure` was given.
pub(super) fn security_from_args(
    identity: Option<&Path>,
    peer: Option<&str>,
    insecure: bool,
) -> Result<Security> {
    match (identity, peer, insecure) {
        (Some(dir), Some(peer), false) => Ok(Security::Tls { identity: Identity::load(dir)?, peer: parse_peer(peer)? }),
        (None, None, true) => {
            errln!(
                "warning: --insecure: the connection is neither encrypted nor authenticated; anyone on the path can read the garbled circuit and impersonate the peer"
            );
            Ok(Security::Insecure)
        }
        (_, _, true) => bail!("--insecure cannot be combined with --identity/--peer"),
        (None, _, false) | (_, None, false) => bail!(
            "give --identity DIR and --peer FINGERPRINT (create an identity with `garblet keygen --out DIR`), or --insecure for an unauthenticated plain-TCP run"
        ),
    }
}
