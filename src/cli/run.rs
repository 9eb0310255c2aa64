//! `garblet run`, `garblet demo` and `garblet keygen`: two parties, one
//! command each, over TLS 1.3 with pinned fingerprints (or, when asked
//! explicitly, plain TCP).

use super::program::Loaded;
use anyhow::{bail, Context, Result};
use garblet::circuits::{Circuit, Party};
use garblet::engine::channel::Channel;
use garblet::engine::net::{self, Fingerprint, Identity, Side, TcpOptions};
use garblet::engine::session::{PartyInputs, SecurityMode, SessionConfig, SessionOutcome, SessionProgram};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Map, Value};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where to reach the peer.
#[derive(Debug)]
pub enum Endpoint {
    /// Wait for the peer on this address.
    Listen(String),
    /// Wait for the peer on this already bound listener.
    Bound(std::net::TcpListener),
    /// Connect to the peer at this address.
    Connect(String),
}

/// How to secure the connection.
pub enum Security {
    /// TLS 1.3, our identity, the one peer fingerprint we trust.
    Tls { identity: Identity, peer: Fingerprint },
    /// Plain TCP (tests, or a link secured otherwise); a warning is printed.
    Insecure,
}

/// Everything `garblet run` needs.
pub struct RunRequest {
    /// The program.
    pub program: Loaded,
    /// Garbler or evaluator.
    pub role: Party,
    /// Listen or connect.
    pub endpoint: Endpoint,
    /// TLS or not.
    pub security: Security,
    /// What the run protects against (both parties must agree).
    pub mode: SecurityMode,
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
pub struct RunReport {
    /// The session's outcome.
    pub outcome: SessionOutcome,
}

/// Anything that is both `Read` and `Write` (TCP or TLS), boxed.
trait Transport: Read + Write + Send {}
impl<T: Read + Write + Send> Transport for T {}

fn secure(tcp: std::net::TcpStream, side: Side, security: &Security) -> Result<Box<dyn Transport>> {
    Ok(match security {
        Security::Tls { identity, peer } => Box::new(net::secure(tcp, side, identity, *peer)?),
        Security::Insecure => Box::new(tcp),
    })
}

/// Opens connections to the peer: the listener accepts, the connector
/// connects, each connection authenticated on its own. Dual execution opens
/// a second one once the first's hello has agreed.
struct Links<'r> {
    source: Source<'r>,
    security: &'r Security,
    options: TcpOptions,
}

/// Where connections come from.
enum Source<'r> {
    /// A listener bound for this run.
    Bound(std::net::TcpListener),
    /// The caller's listener.
    Borrowed(&'r std::net::TcpListener),
    /// The peer's address.
    Connect(&'r str),
}

impl<'r> Links<'r> {
    fn new(endpoint: &'r Endpoint, security: &'r Security, options: TcpOptions) -> Result<Self> {
        let source = match endpoint {
            Endpoint::Listen(addr) => Source::Bound(net::listen(addr)?),
            Endpoint::Bound(listener) => Source::Borrowed(listener),
            Endpoint::Connect(addr) => Source::Connect(addr),
        };
        Ok(Links { source, security, options })
    }

    fn open(&self) -> Result<Box<dyn Transport>> {
        match &self.source {
            Source::Bound(listener) => self.accept_peer(listener),
            Source::Borrowed(listener) => self.accept_peer(listener),
            Source::Connect(addr) => {
                secure(net::connect(addr, &self.options)?, Side::Connector, self.security)
            }
        }
    }

    /// Waits for the authenticated peer until the connect timeout. Over TLS,
    /// a connection that fails the handshake (a port scan, an HTTP request,
    /// a peer with another certificate) is dropped with one line on stderr,
    /// and the wait goes on.
    fn accept_peer(&self, listener: &std::net::TcpListener) -> Result<Box<dyn Transport>> {
        let deadline = Instant::now() + self.options.connect_timeout;
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        if let Security::Tls { peer, .. } = self.security {
            eprintln!("waiting for the peer on {addr} (fingerprint {peer})");
        }
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let options = TcpOptions { connect_timeout: remaining, ..self.options };
            let tcp = net::accept(listener, &options)?;
            if matches!(self.security, Security::Insecure) {
                return secure(tcp, Side::Listener, self.security);
            }
            let from = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "an unknown address".into());
            // The handshake of a stray may not outlast the wait for the peer;
            // the socket gets its I/O timeout back once the peer is in.
            let handle = tcp.try_clone()?;
            let _ = tcp
                .set_read_timeout(Some(remaining.clamp(Duration::from_millis(100), self.options.io_timeout)));
            match secure(tcp, Side::Listener, self.security) {
                Ok(t) => {
                    handle.set_read_timeout(Some(self.options.io_timeout))?;
                    return Ok(t);
                }
                Err(e) if Instant::now() < deadline => {
                    eprintln!(
                        "ignored a connection from {from}: {}",
                        garblet::engine::session::escape(&format!("{e:#}"))
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Runs one party's side; writes the audit line whatever the result.
pub fn run(req: &RunRequest) -> Result<RunReport> {
    let started = Instant::now();
    let options = TcpOptions { connect_timeout: req.timeout, io_timeout: req.timeout };
    let result = (|| -> Result<SessionOutcome> {
        let inputs = PartyInputs::new(req.inputs.clone());
        let total = req.program.circuit.and_count();
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
        let config = SessionConfig::new().with_security(req.mode).with_progress(observer);
        let circuit = &req.program.circuit;
        let links = Links::new(&req.endpoint, &req.security, options)?;
        let mut first = Channel::new(links.open()?);
        let outcome = match req.mode {
            SecurityMode::DualExecution => {
                let program = SessionProgram::for_dual_execution(circuit)?;
                let second = || links.open().map_err(|e| std::io::Error::other(format!("{e:#}")));
                config.run_dual_execution(req.role, &mut first, second, &program, &inputs)
            }
            _ => {
                let program = SessionProgram::from_circuit(circuit)?;
                config.run(req.role, &mut first, &program, &inputs)
            }
        };
        bar.finish_and_clear();
        Ok(outcome?)
    })();
    if let Some(path) = &req.audit_log {
        let line = audit_line(req, &result, started.elapsed());
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the audit log {}", path.display()))?;
        writeln!(f, "{line}").with_context(|| format!("cannot write the audit log {}", path.display()))?;
    }
    Ok(RunReport { outcome: result? })
}

/// One JSON line: who ran what with whom, what was revealed to whom, how
/// much crossed the wire, how it ended. Never an input value.
fn audit_line(req: &RunRequest, result: &Result<SessionOutcome>, elapsed: Duration) -> Value {
    let c = &req.program.circuit;
    let revealed: Vec<Value> = c
        .outputs()
        .iter()
        .map(|o| json!({"name": o.name, "to": o.visibility.as_str(), "width": o.width()}))
        .collect();
    let (peer, ours) = match &req.security {
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
    let mut line = json!({
        "time": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "role": req.role.as_str(),
        "program": req.program.path,
        "circuit_digest": c.digest().to_hex(),
        "and_gates": c.and_count(),
        "peer_fingerprint": peer,
        "own_fingerprint": ours,
        "endpoint": endpoint,
        "tls": !matches!(req.security, Security::Insecure),
        "security": req.mode.as_str(),
        "outputs_revealed": revealed,
        "duration_s": elapsed.as_secs_f64(),
    });
    match result {
        Ok(o) => {
            line["status"] = json!("ok");
            line["bytes_sent"] = json!(o.bytes_sent);
            line["bytes_received"] = json!(o.bytes_received);
        }
        Err(e) => {
            line["status"] = json!("error");
            line["error"] = json!(format!("{e:#}"));
        }
    }
    line
}

/// The outputs visible to this party, formatted, by name.
pub fn outputs_json(program: &Loaded, outcome: &SessionOutcome) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, bits) in &outcome.outputs {
        map.insert(name.clone(), program.format_output(name, bits));
    }
    map
}

/// Prints a run's result, as text or as the JSON object of the issue.
pub fn print_report(program: &Loaded, report: &RunReport, as_json: bool) {
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
        println!("{obj}");
        return;
    }
    if outputs.is_empty() {
        println!("(the program reveals nothing to this party)");
    }
    for (name, value) in &outputs {
        match value {
            Value::String(s) => println!("{name} = {s}"),
            other => println!("{name} = {other}"),
        }
    }
    eprintln!(
        "{} AND gates, {} sent, {} received, {:.1} ms",
        o.and_gates,
        human_bytes(o.bytes_sent),
        human_bytes(o.bytes_received),
        o.seconds * 1e3
    );
}

/// `12.3 MiB`-style sizes.
pub fn human_bytes(n: u64) -> String {
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
pub fn keygen(dir: &Path, name: &str) -> Result<()> {
    let identity = Identity::generate(name)?;
    identity.save(dir)?;
    println!("{}", identity.fingerprint());
    eprintln!(
        "wrote {}/cert.pem and {}/key.pem (keep key.pem private).\n\
         Give the fingerprint above to the other party; they pass it as --peer.",
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// Reads `--peer`: a fingerprint or a certificate file.
pub fn parse_peer(arg: &str) -> Result<Fingerprint> {
    Ok(Fingerprint::from_arg(arg)?)
}

/// `garblet demo`: both parties in this process, over loopback TLS with
/// fresh identities.
pub fn demo(program: Loaded, inputs: Vec<(String, Vec<bool>)>, mode: SecurityMode) -> Result<()> {
    let circuit: &Circuit = &program.circuit;
    let garbler_id = Identity::generate("demo garbler")?;
    let evaluator_id = Identity::generate("demo evaluator")?;
    let (gfp, efp) = (garbler_id.fingerprint(), evaluator_id.fingerprint());
    println!(
        "garblet demo: two parties in one process, TLS 1.3 over loopback, fresh identities, security {mode}"
    );
    println!(
        "  garbler   {}…  holds {}",
        &gfp.to_string()[..16],
        holdings(&program, &inputs, Party::Garbler)
    );
    println!(
        "  evaluator {}…  holds {}",
        &efp.to_string()[..16],
        holdings(&program, &inputs, Party::Evaluator)
    );
    println!(
        "  program   {} ({} AND gates, digest {}…)",
        program.path,
        circuit.and_count(),
        &circuit.digest().to_hex()[..16]
    );

    let listener = net::listen("127.0.0.1:0")?;
    let addr = listener.local_addr().context("loopback address")?.to_string();
    let split = |p: Party| -> Vec<(String, Vec<bool>)> {
        inputs.iter().filter(|(n, _)| circuit.input(n).is_some_and(|i| i.party == p)).cloned().collect()
    };
    let (g_inputs, e_inputs) = (split(Party::Garbler), split(Party::Evaluator));
    let g_program = program.duplicate();
    let garbler = std::thread::spawn(move || {
        run(&RunRequest {
            program: g_program,
            role: Party::Garbler,
            endpoint: Endpoint::Bound(listener),
            security: Security::Tls { identity: garbler_id, peer: efp },
            mode,
            timeout: Duration::from_secs(30),
            inputs: g_inputs,
            audit_log: None,
            progress: true,
        })
    });
    let started = Instant::now();
    let evaluator = run(&RunRequest {
        program: program.duplicate(),
        role: Party::Evaluator,
        endpoint: Endpoint::Connect(addr),
        security: Security::Tls { identity: evaluator_id, peer: gfp },
        mode,
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
            println!("  the {who} learns nothing");
        }
        for (name, value) in outputs {
            println!("  the {who} learns {name} = {}", describe_value(&value));
        }
    }
    let g = &garbler.outcome;
    println!(
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
pub fn security_from_args(identity: Option<&Path>, peer: Option<&str>, insecure: bool) -> Result<Security> {
    match (identity, peer, insecure) {
        (Some(dir), Some(peer), false) => Ok(Security::Tls { identity: Identity::load(dir)?, peer: parse_peer(peer)? }),
        (None, None, true) => {
            eprintln!(
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
