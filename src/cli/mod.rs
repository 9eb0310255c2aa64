//! Command-line front end: argument parsing (clap) and the commands.
//!
//! Every failure the user can fix (a missing file, a malformed circuit, an
//! input that does not fit, a missing identity) is one line on stderr,
//! `error: …`, and exit code 2. A run that fails once under way (the peer
//! vanished, refused us, or ran another program) exits with code 1.
//! Output to a closed stdout (`garblet stats … | head -1`) ends the command
//! quietly with code 141, as a pipeline's SIGPIPE would, instead of the
//! panic `println!` gives; messages to a closed stderr are dropped
//! (`errln!`), and the exit code stays what it would have been.

/// `println!` to stdout, returning [`StdoutClosed`] from the enclosing
/// function (whose error type takes it) if the write fails.
macro_rules! outln {
    ($($arg:tt)*) => {
        if let Err(e) = std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!("{}\n", format_args!($($arg)*))) {
            return Err(crate::cli::StdoutClosed(e).into());
        }
    };
}

/// `eprintln!` that ignores a failed write: a message nobody can read (its
/// stderr closed) is no reason for a command or a service to panic.
macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(&mut std::io::stderr().lock(), format_args!("{}\n", format_args!($($arg)*)));
    }};
}

/// `eprint!` as [`errln!`].
macro_rules! err {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(&mut std::io::stderr().lock(), format_args!($($arg)*));
    }};
}

mod approve;
mod audit;
mod bench;
mod cache;
mod links;
mod program;
mod progress;
mod run;
mod serve;
mod values;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use garblet::circuits::Party;
use program::Loaded;
use serde_json::{json, Map, Value};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Two-party computation with garbled circuits.
#[derive(Parser, Debug)]
#[command(name = "garblet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Role {
    Garbler,
    Evaluator,
}

/// `--security`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Secure against a malicious evaluator; the garbler is trusted to garble.
    #[value(name = "semi-honest")]
    SemiHonest,
    /// Dual execution: secure against a malicious garbler too, up to one leaked bit.
    #[value(name = "dualex")]
    Dualex,
}

impl From<Mode> for garblet::engine::session::SecurityMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::SemiHonest => garblet::engine::session::SecurityMode::SemiHonestGarbler,
            Mode::Dualex => garblet::engine::session::SecurityMode::DualExecution,
        }
    }
}

/// `--scheme`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchemeArg {
    /// Half-gates (Zahur, Rosulek, Evans): 32 bytes per AND, less hashing.
    #[value(name = "half-gates")]
    HalfGates,
    /// Three-halves (Rosulek, Roy): at most 25 bytes per AND (24.6 on long batches), more hashing.
    #[value(name = "three-halves")]
    ThreeHalves,
}

impl From<SchemeArg> for garblet::engine::session::SchemeChoice {
    fn from(s: SchemeArg) -> Self {
        match s {
            SchemeArg::HalfGates => garblet::engine::session::SchemeChoice::HalfGates,
            SchemeArg::ThreeHalves => garblet::engine::session::SchemeChoice::ThreeHalves,
        }
    }
}

/// `--ot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OtArg {
    /// SoftSpokenOT, K = 4 (Roy): 4 bytes per evaluator input bit.
    #[value(name = "softspoken")]
    SoftSpoken,
    /// IKNP/ALSZ (with the same check): 16 bytes per evaluator input bit, less AES.
    #[value(name = "iknp")]
    Iknp,
}

impl From<OtArg> for garblet::engine::session::OtChoice {
    fn from(o: OtArg) -> Self {
        match o {
            OtArg::SoftSpoken => garblet::engine::session::OtChoice::SoftSpoken,
            OtArg::Iknp => garblet::engine::session::OtChoice::KosChecked,
        }
    }
}

/// `--format` of `compile` and `convert`: how a circuit file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Bristol Fashion text (XOR, AND, INV), read by other tools; inputs and
    /// outputs become in0, in1, … and out0, out1, ….
    Bristol,
    /// garblet's binary circuit: the canonical encoding, whose blake3 is the
    /// digest the hello compares; keeps names, owners and who learns what;
    /// loads several times faster.
    Binary,
}

impl Format {
    /// Writes `circuit` to `out` in this format; `-` is stdout.
    fn write(self, circuit: &garblet::circuits::Circuit, out: &Path) -> Result<()> {
        if out == Path::new("-") {
            let mut sink = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            let written = match self {
                Format::Bristol => garblet::circuits::bristol::write(circuit, &mut sink),
                Format::Binary => circuit.write_canonical(&mut sink),
            };
            return written.and_then(|()| sink.flush()).map_err(|e| StdoutClosed(e).into());
        }
        match self {
            Format::Bristol => garblet::circuits::bristol::write_file(circuit, out),
            Format::Binary => garblet::circuits::canonical::write_file(circuit, out),
        }
        .with_context(|| format!("cannot write {}", out.display()))
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a circuit's gate counts, AND-depth, wires, inputs and outputs.
    Stats {
        /// A program, a Bristol Fashion or a binary circuit file (told apart by content).
        file: PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// For programs: the AND gates each source line costs.
        #[arg(long)]
        by_line: bool,
        /// Set a `const` of the program, NAME=VALUE (e.g. N=100000). Repeat per constant.
        #[arg(long = "const", value_name = "NAME=VALUE")]
        consts: Vec<String>,
        /// Keep and reuse the binary form of Bristol circuit files in DIR,
        /// keyed by the file's blake3 (docs/CIRCUITS.md, "The circuit
        /// cache"); default: $GARBLET_CACHE if set, else no cache.
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
    },
    /// Compile a program (.gbl) to a circuit file (Bristol Fashion or binary).
    ///
    /// The file is a flat circuit: every loop is unrolled, also one that
    /// `run` streams (compiles once and repeats per record), so its digest
    /// differs from the streamed program's; run both parties from the same
    /// kind of file.
    Compile {
        /// The program.
        file: PathBuf,
        /// Where to write the circuit (`-` for stdout).
        #[arg(short = 'o', long = "out", value_name = "OUT")]
        out: PathBuf,
        /// `bristol` (text other tools read; names become in0, out0, …) or
        /// `binary` (garblet's own: keeps input and output names, loads fast).
        #[arg(long, value_enum, default_value_t = Format::Bristol)]
        format: Format,
        /// Set a `const` of the program, NAME=VALUE (e.g. N=100000). Repeat per constant.
        #[arg(long = "const", value_name = "NAME=VALUE")]
        consts: Vec<String>,
    },
    /// Convert a circuit file to another format (binary keeps the circuit's digest).
    Convert {
        /// A Bristol Fashion or binary circuit file, or a program (told apart by content).
        file: PathBuf,
        /// `binary` (same digest as FILE loaded) or `bristol`.
        #[arg(long, value_enum, default_value_t = Format::Binary)]
        format: Format,
        /// Where to write the circuit (`-` for stdout).
        #[arg(short = 'o', long = "out", value_name = "OUT")]
        out: PathBuf,
        /// For circuit files: who owns an input (default: in0 the garbler, the rest the evaluator, for Bristol).
        #[arg(long = "owner", value_name = "NAME=garbler|evaluator")]
        owners: Vec<String>,
        /// Set a `const` of the program, NAME=VALUE (e.g. N=100000). Repeat per constant.
        #[arg(long = "const", value_name = "NAME=VALUE")]
        consts: Vec<String>,
        /// Keep and reuse the binary form of Bristol circuit files in DIR,
        /// keyed by the file's blake3 (docs/CIRCUITS.md, "The circuit
        /// cache"); default: $GARBLET_CACHE if set, else no cache.
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
    },
    /// Evaluate a circuit in plaintext on inputs given in full.
    Eval {
        /// A program, a Bristol Fashion or a binary circuit file (told apart by content).
        file: PathBuf,
        /// An input value, NAME=VALUE: JSON for programs; for circuit files decimal or 0x hex, bit k is wire k. Repeat per input.
        #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// A JSON file holding an object of NAME: VALUE with (more) inputs.
        /// Repeat for several files; a name given twice is an error.
        #[arg(long = "inputs", value_name = "FILE.json")]
        inputs_file: Vec<PathBuf>,
        /// Print `{"outputs": {...}}` as JSON.
        #[arg(long)]
        json: bool,
        /// Set a `const` of the program, NAME=VALUE (e.g. N=100000). Repeat per constant.
        #[arg(long = "const", value_name = "NAME=VALUE")]
        consts: Vec<String>,
        /// Keep and reuse the binary form of Bristol circuit files in DIR,
        /// keyed by the file's blake3 (docs/CIRCUITS.md, "The circuit
        /// cache"); default: $GARBLET_CACHE if set, else no cache.
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
    },
    /// Run one party of a two-party computation with a peer on another host.
    Run {
        /// The program (.gbl), Bristol Fashion or binary circuit (both parties must run the same circuit).
        file: PathBuf,
        /// Which party this is.
        #[arg(long = "as", value_enum)]
        role: Role,
        /// Wait for the peer on ADDR (e.g. 0.0.0.0:7000).
        #[arg(long, value_name = "ADDR", conflicts_with = "connect", required_unless_present = "connect")]
        listen: Option<String>,
        /// Connect to the peer at ADDR (e.g. host:7000); retried until the timeout.
        #[arg(long, value_name = "ADDR")]
        connect: Option<String>,
        /// This party's input, NAME=VALUE. Repeat per input; give only your own.
        #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// A JSON file holding an object of NAME: VALUE with (more) inputs.
        /// Repeat for several files; a name given twice is an error.
        #[arg(long = "inputs", value_name = "FILE.json")]
        inputs_file: Vec<PathBuf>,
        /// For circuit files: who owns an input (default for Bristol: in0 the garbler, the rest the evaluator).
        #[arg(long = "owner", value_name = "NAME=garbler|evaluator")]
        owners: Vec<String>,
        /// This party's identity directory (from `garblet keygen`).
        #[arg(long, value_name = "DIR")]
        identity: Option<PathBuf>,
        /// The peer's SHA-256 certificate fingerprint (64 hex digits), or its cert.pem.
        #[arg(long, value_name = "FINGERPRINT")]
        peer: Option<String>,
        /// Plain TCP with no encryption or authentication (prints a warning).
        #[arg(long)]
        insecure: bool,
        /// Seconds to wait for the peer to connect, and for each message
        /// (1 to 604800, a week).
        #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=604_800))]
        timeout: u64,
        /// What the run protects against; both parties must pass the same
        /// (docs/SECURITY.md): `semi-honest` (secure against a malicious
        /// evaluator; the garbler is trusted to garble the program) or
        /// `dualex` (dual execution: also against a malicious garbler, up to
        /// one leaked bit; about twice the work, two connections).
        #[arg(long, value_enum, default_value_t = Mode::SemiHonest)]
        security: Mode,
        /// The garbling scheme; both parties must pass the same (the hello
        /// compares them): `three-halves` (at most 25 bytes per AND gate, the
        /// default: the link is usually the limit) or `half-gates` (32 bytes,
        /// less CPU per gate, which can pay where the CPU and not the link
        /// is the limit: long chains of dependent ANDs ran 1.4 times as fast).
        #[arg(long, value_enum, default_value_t = SchemeArg::ThreeHalves)]
        scheme: SchemeArg,
        /// The OT extension of the evaluator's inputs; both parties must pass
        /// the same (the hello compares them): `softspoken` (SoftSpokenOT,
        /// 4 bytes per evaluator input bit, the default) or `iknp` (16
        /// bytes, less CPU per bit). Both run the malicious-receiver check.
        #[arg(long, value_enum, default_value_t = OtArg::SoftSpoken)]
        ot: OtArg,
        /// Append one JSON line about this run (never an input value).
        #[arg(long, value_name = "FILE")]
        audit_log: Option<PathBuf>,
        /// Print `{"outputs": {...}, "stats": {...}}` as JSON.
        #[arg(long)]
        json: bool,
        /// Set a `const` of the program, NAME=VALUE (e.g. N=100000); the peer
        /// must set the same (the hello compares them). Repeat per constant.
        #[arg(long = "const", value_name = "NAME=VALUE")]
        consts: Vec<String>,
        /// Keep and reuse the binary form of Bristol circuit files in DIR,
        /// keyed by the file's blake3 (docs/CIRCUITS.md, "The circuit
        /// cache"); default: $GARBLET_CACHE if set, else no cache.
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
    },
    /// Both parties in this process over loopback TLS, with the millionaires' program.
    Demo {
        /// A program (.gbl), Bristol Fashion or binary circuit to run instead of the built-in millionaires.
        #[arg(long, value_name = "FILE")]
        program: Option<PathBuf>,
        /// Inputs of both parties, NAME=VALUE (defaults: alice=5000000, bob=4200000).
        #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// A JSON file holding an object of NAME: VALUE with (more) inputs.
        /// Repeat for several files; a name given twice is an error.
        #[arg(long = "inputs", value_name = "FILE.json")]
        inputs_file: Vec<PathBuf>,
        /// `semi-honest` or `dualex` (see `garblet run --help`).
        #[arg(long, value_enum, default_value_t = Mode::SemiHonest)]
        security: Mode,
        /// `three-halves` or `half-gates` (see `garblet run --help`).
        #[arg(long, value_enum, default_value_t = SchemeArg::ThreeHalves)]
        scheme: SchemeArg,
        /// `softspoken` or `iknp` (see `garblet run --help`).
        #[arg(long, value_enum, default_value_t = OtArg::SoftSpoken)]
        ot: OtArg,
        /// Set a `const` of the program, NAME=VALUE (e.g. N=100000). Repeat per constant.
        #[arg(long = "const", value_name = "NAME=VALUE")]
        consts: Vec<String>,
        /// Keep and reuse the binary form of Bristol circuit files in DIR,
        /// keyed by the file's blake3 (docs/CIRCUITS.md, "The circuit
        /// cache"); default: $GARBLET_CACHE if set, else no cache.
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
    },
    /// Measure garbling, evaluation, end-to-end and OT throughput on this machine.
    Bench {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Also run 10^8 AND gates end to end and report their peak memory.
        #[arg(long)]
        full: bool,
        /// The scheme of the end-to-end runs (the in-memory figures cover both).
        #[arg(long, value_enum, default_value_t = SchemeArg::ThreeHalves)]
        scheme: SchemeArg,
    },
    /// Serve approved programs to known peers, within budgets, with a chained audit log (docs/GOVERNANCE.md).
    Serve {
        /// The service's configuration (TOML; docs/GOVERNANCE.md lists every key).
        #[arg(long, value_name = "FILE.toml")]
        config: PathBuf,
        /// Check the configuration, identity, programs, inputs, approvals and audit log, then exit (0 or 2) without listening.
        #[arg(long)]
        check: bool,
        /// The circuit cache, DIR (default: $GARBLET_CACHE if set; either
        /// overrides the configuration's `cache`; see `garblet run --help`).
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
    },
    /// Approve a program for a service: sign its name, circuit digest and output rules, appending to PROGRAM.approvals.
    Approve {
        /// The program (.gbl), Bristol Fashion or binary circuit.
        program: PathBuf,
        /// The approver's identity directory (from `garblet keygen`).
        #[arg(long, value_name = "DIR")]
        identity: PathBuf,
        /// The program's name in the service's configuration (default: the file name without extension).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Set a `const` of the program, as the service's `const.NAME` does (repeatable); each value is another circuit to approve.
        #[arg(long = "const", value_name = "NAME=VALUE")]
        consts: Vec<String>,
    },
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Create a party identity (key and self-signed certificate) and print its fingerprint.
    Keygen {
        /// Directory to write cert.pem and key.pem into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// A name for people reading the certificate (trust is by fingerprint only).
        #[arg(long, default_value = "garblet party")]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check a service's chained audit log and summarise it; exit 1 naming the first broken line.
    Verify {
        /// The audit log (`audit_log` of the service's configuration).
        file: PathBuf,
        /// A last hash noted earlier: the log must still contain that line (catches lines cut from the end).
        #[arg(long, value_name = "HASH")]
        anchor: Option<String>,
    },
}

/// An error that arose after the run started (exit code 1, not 2).
#[derive(Debug)]
struct RunFailed(anyhow::Error);

impl std::fmt::Display for RunFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&one_line(&self.0))
    }
}

impl std::error::Error for RunFailed {}

/// Runs the CLI; errors become one line on stderr and, with `--json`, one
/// `{"error": {"kind": …, "message": …}}` object on stdout.
/// A write to stdout failed (its reader went away, or the disk is full):
/// the command stops there.
#[derive(Debug)]
pub(crate) struct StdoutClosed(pub(crate) std::io::Error);

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write to stdout: {}", self.0)
    }
}

impl std::error::Error for StdoutClosed {}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let as_json = match &cli.command {
        Command::Stats { json, .. }
        | Command::Eval { json, .. }
        | Command::Run { json, .. }
        | Command::Bench { json, .. } => *json,
        _ => false,
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<StdoutClosed>().is_some_and(|c| c.0.kind() == ErrorKind::BrokenPipe) => {
            // The reader of our output went away: nothing more to say.
            ExitCode::from(141)
        }
        Err(e) => {
            let failed = e.downcast_ref::<RunFailed>();
            let code = if failed.is_some() { 1 } else { 2 };
            let message = one_line(&e);
            errln!("error: {message}");
            if as_json {
                let kind = failed.map_or("usage", |f| error_kind(&f.0));
                let error = json!({"error": {"kind": kind, "message": message}});
                // Best effort: the message is on stderr already.
                let _ = writeln!(std::io::stdout().lock(), "{error}");
            }
            ExitCode::from(code)
        }
    }
}

/// What kind of failure ended a run, for `--json` and scripts:
/// `peer_cheated`, `refused`, `peer`, `local`, `transport`, `network` or `run`.
fn error_kind(e: &anyhow::Error) -> &'static str {
    use garblet::engine::session::{Fault, SessionError};
    for cause in e.chain() {
        if let Some(x) = cause.downcast_ref::<run::Explained>() {
            return x.kind;
        }
        if let Some(s) = cause.downcast_ref::<SessionError>() {
            return match s.fault() {
                _ if matches!(s, SessionError::RefusedByService { .. }) => "refused",
                _ if s.is_cheating_detected() => "peer_cheated",
                Fault::Peer => "peer",
                Fault::Local => "local",
                _ => "transport",
            };
        }
        if cause.downcast_ref::<garblet::engine::net::NetError>().is_some() {
            return "network";
        }
    }
    "run"
}

/// The error and its causes on one line, skipping a cause whose text the
/// message already carries.
fn one_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Stats { file, json, by_line, consts, cache } => {
            let cache = open_cache(cache)?;
            stats(&file, json, by_line, &consts, cache.as_ref())
        }
        Command::Compile { file, out, format, consts } => {
            let kind = program::FileKind::of_file(&file)?;
            if kind != program::FileKind::Program {
                anyhow::bail!(
                    "`garblet compile` takes a program in the garblet language, but {} is {} (`garblet convert` converts a circuit file)",
                    file.display(),
                    kind.describe()
                );
            }
            // A flat circuit: a loop that `run` would stream unrolls here.
            let program = Loaded::program_flat(&file, &consts)?;
            refuse_looped(&program, "compile")?;
            write_circuit(&program.circuit, format, &out)
        }
        Command::Convert { file, format, out, owners, consts, cache } => {
            let cache = open_cache(cache)?;
            let loaded = Loaded::from_file(&file, &owners, &consts, cache.as_ref())?;
            refuse_looped(&loaded, "convert")?;
            write_circuit(&loaded.circuit, format, &out)
        }
        Command::Eval { file, inputs, inputs_file, json, consts, cache } => {
            let cache = open_cache(cache)?;
            eval(&file, &inputs, &inputs_file, json, &consts, cache.as_ref())
        }
        Command::Run {
            file,
            role,
            listen,
            connect,
            inputs,
            inputs_file,
            owners,
            identity,
            peer,
            insecure,
            timeout,
            security: mode,
            scheme,
            ot,
            audit_log,
            json,
            consts,
            cache,
        } => {
            let cache = open_cache(cache)?;
            let from_file_gates = matches!(mode, Mode::SemiHonest);
            let program = Loaded::for_run(&file, &owners, &consts, cache.as_ref(), from_file_gates)?;
            let role = match role {
                Role::Garbler => Party::Garbler,
                Role::Evaluator => Party::Evaluator,
            };
            let own = program.collect_inputs(Some(role), &inputs, &inputs_file)?;
            let security = run::security_from_args(identity.as_deref(), peer.as_deref(), insecure)?;
            let endpoint = match (listen, connect) {
                (Some(addr), _) => run::Endpoint::Listen(check_address(&addr, "--listen")?),
                (None, Some(addr)) => run::Endpoint::Connect(check_address(&addr, "--connect")?),
                (None, None) => anyhow::bail!("give --listen ADDR or --connect ADDR"),
            };
            // Everything local is checked before the network is touched: a
            // run whose audit line cannot be written must not start.
            if let Some(path) = &audit_log {
                std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot write the audit log {}: {e} (fix --audit-log's path or its permissions)",
                        path.display()
                    )
                })?;
            }
            // A large binary circuit is planned from its file now, before
            // the network: a corrupt file is refused as the input it is.
            let planned = program.program_from_file()?;
            let mut request = run::RunRequest {
                program,
                planned,
                role,
                endpoint,
                security,
                mode: mode.into(),
                scheme: scheme.into(),
                ot: ot.into(),
                timeout: Duration::from_secs(timeout),
                inputs: own,
                audit_log,
                progress: !json,
            };
            let report = run::run(&mut request).map_err(|e| anyhow::Error::new(RunFailed(e)))?;
            run::print_report(&request.program, &report, json)
        }
        Command::Demo { program, inputs, inputs_file, security, scheme, ot, consts, cache } => {
            let cache = open_cache(cache)?;
            let (program, defaults): (_, &[(&str, &str)]) = match program {
                Some(path) => (Loaded::from_file(&path, &[], &consts, cache.as_ref())?, &[]),
                None if !consts.is_empty() => {
                    anyhow::bail!(
                        "--const sets a constant of the program given with --program (remove --const)"
                    )
                }
                None => (Loaded::millionaires()?, &[("alice", "5000000"), ("bob", "4200000")]),
            };
            let all = program.collect_inputs_with_defaults(None, &inputs, &inputs_file, defaults)?;
            run::demo(program, all, security.into(), scheme.into(), ot.into())
                .map_err(|e| anyhow::Error::new(RunFailed(e)))
        }
        Command::Keygen { out, name } => run::keygen(&out, &name),
        Command::Serve { config, check, cache } => serve::serve(&config, check, cache_dir(cache).as_deref()),
        Command::Approve { program, identity, name, consts } => {
            approve::approve(&program, &identity, name.as_deref(), &consts)
        }
        Command::Audit { command: AuditCommand::Verify { file, anchor } } => {
            if audit::chain::verify_command(&file, anchor.as_deref())? {
                Ok(())
            } else {
                Err(anyhow::Error::new(RunFailed(anyhow::anyhow!(
                    "the audit log {} is not intact",
                    file.display()
                ))))
            }
        }
        Command::Bench { json, full, scheme } => {
            bench::bench(json, full, scheme.into()).map_err(|e| anyhow::Error::new(RunFailed(e)))
        }
    }
}

/// The cache directory: `--cache DIR`, else `GARBLET_CACHE` when set and
/// not empty, else none.
fn cache_dir(arg: Option<PathBuf>) -> Option<PathBuf> {
    arg.or_else(|| std::env::var_os("GARBLET_CACHE").filter(|v| !v.is_empty()).map(PathBuf::from))
}

/// The circuit cache of [`cache_dir`], if any.
fn open_cache(arg: Option<PathBuf>) -> Result<Option<cache::Cache>> {
    cache::Cache::open(cache_dir(arg).as_deref())
}

/// Writes a circuit file and says what it holds on stderr; for binary files
/// the digest too, which is the file's blake3.
fn write_circuit(circuit: &garblet::circuits::Circuit, format: Format, out: &Path) -> Result<()> {
    format.write(circuit, out)?;
    let s = circuit.stats();
    let digest = match format {
        Format::Binary => format!(", digest blake3:{}", circuit.digest()),
        Format::Bristol => String::new(),
    };
    let to = if out == Path::new("-") { "stdout".into() } else { out.display().to_string() };
    errln!("wrote {to}: {} AND, {} XOR, {} INV gates{digest}", s.and, s.xor, s.inv);
    Ok(())
}

/// Checks that `addr` is HOST:PORT with a port in 1..=65535 (0 only to
/// listen on any free port), so that a typo is a usage error now rather
/// than a connection retried until the timeout.
fn check_address(addr: &str, flag: &str) -> Result<String> {
    let Some((host, port)) = addr.rsplit_once(':') else {
        anyhow::bail!("{flag} {addr}: give HOST:PORT, e.g. 127.0.0.1:7000 (the port is missing)");
    };
    let host_ok = !host.is_empty() || flag == "--listen";
    match port.parse::<u16>() {
        Ok(0) if flag == "--connect" => anyhow::bail!("{flag} {addr}: port 0 cannot be connected to"),
        Ok(_) if host_ok => Ok(addr.to_owned()),
        Ok(_) => anyhow::bail!("{flag} {addr}: the host is missing (HOST:PORT)"),
        Err(_) => anyhow::bail!("{flag} {addr}: `{port}` is not a port number (1 to 65535)"),
    }
}

fn stats(
    path: &Path,
    as_json: bool,
    by_line: bool,
    consts: &[String],
    cache: Option<&cache::Cache>,
) -> Result<()> {
    let loaded = Loaded::from_file(path, &[], consts, cache)?;
    if by_line {
        return stats_by_line(&loaded, as_json);
    }
    if let Some(looped) = loaded.looped() {
        return stats_looped(path, &loaded, looped, as_json);
    }
    let circuit = &loaded.circuit;
    let s = circuit.stats();
    let digest = circuit.digest().to_hex();
    if as_json {
        let inputs: Vec<Value> = s
            .inputs
            .iter()
            .map(|(name, party, width)| json!({"name": name, "width": width, "party": party.as_str()}))
            .collect();
        let outputs: Vec<Value> = s
            .outputs
            .iter()
            .map(|(name, vis, width)| json!({"name": name, "width": width, "visibility": vis.as_str()}))
            .collect();
        let obj = json!({
            "and": s.and,
            "xor": s.xor,
            "inv": s.inv,
            "gates": s.gates,
            "wires": s.wires,
            "and_depth": s.and_depth,
            "inputs": inputs,
            "outputs": outputs,
            "garbled_bytes": s.and * 32,
            "garbled_bytes_three_halves_at_most": s.and * 25,
            "digest": digest,
            "consts": consts_json(&loaded),
            "cohort": loaded.cohort().map(|k| json!({"output": "result", "at_least": k})),
        });
        outln!("{obj}");
        return Ok(());
    }
    let list = |items: Vec<String>| if items.is_empty() { "none".to_owned() } else { items.join(", ") };
    outln!("circuit    {}", path.display());
    outln!("digest     blake3:{digest}");
    if let Some(p) = loaded.program.as_ref().filter(|p| !p.consts.is_empty()) {
        let set: Vec<String> = p.consts.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        outln!("constants  {} (set with --const; the hello compares them too)", set.join(", "));
    }
    if let Some(k) = loaded.cohort() {
        outln!(
            "cohort     guard: result released only when count >= {k}, else every bit set (the hello compares it)"
        );
    }
    outln!("gates      {} (AND {}, XOR {}, INV {})", s.gates, s.and, s.xor, s.inv);
    outln!("AND depth  {}", s.and_depth);
    outln!("wires      {}", s.wires);
    outln!(
        "inputs     {}",
        list(s.inputs.iter().map(|(n, p, w)| format!("{n}: {w} bits from the {p}")).collect())
    );
    outln!(
        "outputs    {}",
        list(
            s.outputs.iter().map(|(n, v, w)| format!("{n}: {w} bits to {}", values::audience(*v))).collect()
        )
    );
    outln!(
        "garbled    at most {} bytes with three-halves, the default (24.6 to 25 per AND gate); {} with half-gates (32 per AND)",
        s.and * 25,
        s.and * 32
    );
    Ok(())
}

/// `garblet compile` and `convert` write a materialised circuit; a program
/// whose loop streams has none.
fn refuse_looped(loaded: &Loaded, command: &str) -> Result<()> {
    if let Some(l) = loaded.looped() {
        anyhow::bail!(
            "{}: a loop of it streams (compiled once and repeated, {} runs in all), so there is no flat circuit to write: `garblet {command}` writes materialised circuits only. `garblet stats`, `eval` and `run` take the program itself; with fewer records the loop unrolls and `{command}` works",
            loaded.path,
            l.loops().iter().map(|l| l.iterations()).sum::<u64>()
        );
    }
    Ok(())
}

/// `garblet stats` of a program whose loop streams: the looped circuit's
/// figures (counted, not materialised; no AND depth).
fn stats_looped(
    path: &Path,
    loaded: &Loaded,
    l: &garblet::circuits::LoopedCircuit,
    as_json: bool,
) -> Result<()> {
    let count = |g: &[garblet::circuits::Gate], k: garblet::circuits::GateKind| {
        g.iter().filter(|g| g.kind == k).count() as u64
    };
    let expanded = |k| {
        let loops = l.loops().iter().map(|lp| count(lp.before(), k) + count(lp.body(), k) * lp.iterations());
        count(l.epilogue(), k) + loops.sum::<u64>()
    };
    use garblet::circuits::GateKind::{And, Inv, Xor};
    let (and, xor, inv) = (expanded(And), expanded(Xor), expanded(Inv));
    let digest = loaded.digest_hex();
    let inputs: Vec<Value> = l
        .inputs()
        .iter()
        .map(|i| json!({"name": i.name, "width": i.width, "party": i.party.as_str()}))
        .collect();
    let outputs: Vec<Value> = l
        .outputs()
        .iter()
        .map(|o| json!({"name": o.name, "width": o.width(), "visibility": o.visibility.as_str()}))
        .collect();
    if as_json {
        let obj = json!({
            "and": and,
            "xor": xor,
            "inv": inv,
            "gates": l.num_gates(),
            "wires": l.num_wires(),
            "and_depth": null,
            "inputs": inputs,
            "outputs": outputs,
            "garbled_bytes": and * 32,
            "garbled_bytes_three_halves_at_most": and * 25,
            "digest": digest,
            "consts": consts_json(loaded),
            "cohort": loaded.cohort().map(|k| json!({"output": "result", "at_least": k})),
            "loops": l.loops().iter().map(|lp| json!({
                "runs": lp.iterations(),
                "window_bits": lp.window_bits(),
                "body_gates": lp.body().len(),
                "body_and": lp.body_and_count(),
                "gates_before": lp.before().len(),
            })).collect::<Vec<_>>(),
            "stored_gates": l.stored_gates(),
            "epilogue_gates": l.epilogue().len(),
        });
        outln!("{obj}");
        return Ok(());
    }
    outln!("circuit    {}", path.display());
    outln!("digest     blake3:{digest} (looped circuit)");
    if let Some(p) = loaded.program.as_ref().filter(|p| !p.consts.is_empty()) {
        let set: Vec<String> = p.consts.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        outln!("constants  {} (set with --const; the hello compares them too)", set.join(", "));
    }
    for (k, lp) in l.loops().iter().enumerate() {
        let which = if l.loops().len() > 1 { format!("loop {}", k + 1) } else { "loop".into() };
        outln!(
            "{which:<10} streams: a body of {} gates ({} AND) over {} bits of records, run {} times",
            lp.body().len(),
            lp.body_and_count(),
            lp.window_bits(),
            lp.iterations(),
        );
    }
    outln!("stored     {} gates", l.stored_gates());
    outln!("gates      {} (AND {and}, XOR {xor}, INV {inv}), generated as they are garbled", l.num_gates());
    outln!("wires      {}", l.num_wires());
    let list = |items: Vec<String>| if items.is_empty() { "none".to_owned() } else { items.join(", ") };
    outln!(
        "inputs     {}",
        list(
            l.inputs().iter().map(|i| format!("{}: {} bits from the {}", i.name, i.width, i.party)).collect()
        )
    );
    outln!(
        "outputs    {}",
        list(
            l.outputs()
                .iter()
                .map(|o| format!("{}: {} bits to {}", o.name, o.width(), values::audience(o.visibility)))
                .collect()
        )
    );
    outln!(
        "garbled    at most {} bytes with three-halves, the default (24.6 to 25 per AND gate); {} with half-gates (32 per AND)",
        and * 25,
        and * 32
    );
    Ok(())
}

/// The constants set with `--const`, as a JSON object.
fn consts_json(loaded: &Loaded) -> Value {
    let set = loaded.program.as_ref().map(|p| p.consts.as_slice()).unwrap_or_default();
    Value::Object(set.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// The AND gates each source line of a program costs.
fn stats_by_line(loaded: &Loaded, as_json: bool) -> Result<()> {
    let (Some(program), Some(source)) = (&loaded.program, &loaded.source) else {
        anyhow::bail!(
            "--by-line needs a program in the garblet language, but {} is a circuit file",
            loaded.path
        );
    };
    let lines: Vec<&str> = source.lines().collect();
    let total = loaded.and_count();
    if as_json {
        let rows: Vec<Value> = program
            .line_costs
            .iter()
            .map(|&(line, ands)| {
                let text = (line as usize).checked_sub(1).and_then(|i| lines.get(i)).map_or("", |l| l.trim());
                json!({"line": line, "and": ands, "source": text})
            })
            .collect();
        outln!("{}", json!({"and": total, "lines": rows}));
        return Ok(());
    }
    outln!("{:>6}  {:>9}  {:>6}  source", "line", "AND", "share");
    for &(line, ands) in &program.line_costs {
        let text = (line as usize).checked_sub(1).and_then(|i| lines.get(i)).map_or("", |l| l.trim());
        let share = if total == 0 { 0.0 } else { 100.0 * ands as f64 / total as f64 };
        outln!("{line:>6}  {ands:>9}  {share:>5.1}%  {text}");
    }
    outln!("{:>6}  {total:>9}  100.0%", "total");
    Ok(())
}

fn eval(
    path: &Path,
    given: &[String],
    inputs_files: &[PathBuf],
    as_json: bool,
    consts: &[String],
    cache: Option<&cache::Cache>,
) -> Result<()> {
    let program = Loaded::from_file(path, &[], consts, cache)?;
    let all = program.collect_inputs(None, given, inputs_files)?;
    let bits: Vec<Vec<bool>> = all.into_iter().map(|(_, b)| b).collect();
    let outputs = program.eval_bits(&bits).context("evaluation")?;
    let mut map = Map::new();
    for (o, v) in program.circuit.outputs().iter().zip(&outputs) {
        map.insert(o.name.clone(), program.format_output(&o.name, v));
    }
    if as_json {
        outln!("{}", json!({ "outputs": map }));
    } else {
        for (name, value) in map {
            match value {
                Value::String(s) => outln!("{name} = {s}"),
                other => outln!("{name} = {other}"),
            }
        }
    }
    Ok(())
}
