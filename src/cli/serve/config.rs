//! The service's configuration file (`garblet serve --config FILE.toml`),
//! read with `toml` and serde, every key documented in `docs/GOVERNANCE.md`.
//!
//! Unknown keys are errors, and so is every value that cannot work
//! (a fingerprint that is not 64 hex digits, a peer named by a program but
//! not configured, a window of `3 fortnights`): each is reported with the
//! file and the line it is on, and exit code 2. Relative paths resolve
//! against the configuration file's directory.

use anyhow::Result;
use garblet::circuits::Party;
use garblet::engine::net::Fingerprint;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// A configuration error: the file, the line (when one is to blame) and
/// what to fix.
#[derive(Debug)]
pub(in crate::cli) struct ConfigError {
    path: String,
    line: Option<usize>,
    message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Spanned<String>,
    identity: Spanned<String>,
    audit_log: Spanned<String>,
    max_sessions: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    grace: Option<Spanned<String>>,
    min_cohort: Option<Spanned<i64>>,
    /// The circuit cache directory (as `--cache`).
    cache: Option<Spanned<String>>,
    #[serde(default)]
    peer: Vec<RawPeer>,
    #[serde(default)]
    approver: Vec<RawPeer>,
    #[serde(default)]
    program: Vec<RawProgram>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeer {
    name: Spanned<String>,
    fingerprint: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    name: Spanned<String>,
    path: Spanned<String>,
    role: Spanned<String>,
    inputs: Option<Spanned<String>>,
    /// `input.NAME = "FILE"`: one input from a CSV or JSON file.
    #[serde(default)]
    input: BTreeMap<String, Spanned<String>>,
    /// `const.NAME = VALUE`: a constant of the program (as `--const`).
    #[serde(default, rename = "const")]
    consts: BTreeMap<String, Spanned<toml::Value>>,
    peers: Spanned<Vec<Spanned<String>>>,
    max_runs: Spanned<i64>,
    window: Spanned<String>,
    approvals: Option<Spanned<i64>>,
    min_cohort: Option<Spanned<i64>>,
}

/// A configured party (a peer or an approver).
#[derive(Clone, Debug)]
pub(in crate::cli) struct Named {
    pub(in crate::cli) name: String,
    pub(in crate::cli) fingerprint: Fingerprint,
}

/// One `[[program]]`.
#[derive(Clone, Debug)]
pub(in crate::cli) struct ProgramRule {
    pub(in crate::cli) name: String,
    pub(in crate::cli) path: PathBuf,
    /// The service's role in the run.
    pub(in crate::cli) role: Party,
    pub(in crate::cli) inputs: Option<PathBuf>,
    /// `input.NAME = "FILE"`, as `--input NAME=@FILE` arguments.
    pub(in crate::cli) input_files: Vec<String>,
    /// `const.NAME = VALUE`, as `--const NAME=VALUE` arguments.
    pub(in crate::cli) consts: Vec<String>,
    pub(in crate::cli) peers: Vec<String>,
    pub(in crate::cli) max_runs: u32,
    pub(in crate::cli) window: Duration,
    /// The window as written (`24h`), for messages.
    pub(in crate::cli) window_text: String,
    pub(in crate::cli) approvals: usize,
    /// The smallest cohort the program's outputs to the peer must be
    /// guarded by (`min_cohort`: the program's, else the service's).
    pub(in crate::cli) min_cohort: Option<u64>,
    /// The line of its `name`, for errors found later (compiling, inputs).
    pub(in crate::cli) line: usize,
}

/// The whole configuration, checked for consistency (files are loaded by
/// the service).
#[derive(Clone, Debug)]
pub(in crate::cli) struct Config {
    /// The file, as given.
    pub(in crate::cli) path: PathBuf,
    pub(in crate::cli) listen: String,
    pub(in crate::cli) identity: PathBuf,
    pub(in crate::cli) identity_line: usize,
    pub(in crate::cli) audit_log: PathBuf,
    pub(in crate::cli) audit_log_line: usize,
    pub(in crate::cli) max_sessions: usize,
    pub(in crate::cli) timeout: Duration,
    pub(in crate::cli) grace: Duration,
    pub(in crate::cli) peers: Vec<Named>,
    pub(in crate::cli) approvers: Vec<Named>,
    pub(in crate::cli) programs: Vec<ProgramRule>,
    /// `cache`: the circuit cache directory, if any (`--cache` overrides it).
    pub(in crate::cli) cache: Option<PathBuf>,
    pub(in crate::cli) cache_line: usize,
}

/// The most sessions a service may run at once.
const MAX_SESSIONS: i64 = 1024;

impl Config {
    /// An error at `line` of this file.
    pub(in crate::cli) fn error_at(&self, line: usize, message: impl Into<String>) -> ConfigError {
        ConfigError { path: self.path.display().to_string(), line: Some(line), message: message.into() }
    }

    /// Reads and checks the configuration at `path`.
    pub(in crate::cli) fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: shown.clone(),
            line: None,
            message: format!("cannot read the configuration: {e}"),
        })?;
        let line_of = |span: Range<usize>| text[..span.start.min(text.len())].matches('\n').count() + 1;
        let err = |span: Range<usize>, message: String| ConfigError {
            path: shown.clone(),
            line: Some(line_of(span)),
            message,
        };
        let raw: RawConfig = toml::from_str(&text).map_err(|e| ConfigError {
            path: shown.clone(),
            line: e.span().map(line_of),
            message: e.message().trim().to_owned(),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: &str| if Path::new(p).is_absolute() { PathBuf::from(p) } else { base.join(p) };

        let listen = raw.listen.get_ref().clone();
        crate::cli::check_address(&listen, "listen").map_err(|e| err(raw.listen.span(), e.to_string()))?;
        let duration = |value: &Option<Spanned<String>>,
                        key: &str,
                        default: u64|
         -> Result<Duration, ConfigError> {
            let Some(v) = value else { return Ok(Duration::from_secs(default)) };
            let d = humantime::parse_duration(v.get_ref()).map_err(|e| {
                err(
                    v.span(),
                    format!("{key} = \"{}\": {e} (write it like \"30s\", \"5m\" or \"24h\")", v.get_ref()),
                )
            })?;
            if d < Duration::from_secs(1) || d > Duration::from_secs(604_800) {
                return Err(err(v.span(), format!("{key} must be from 1s to 7 days")));
            }
            Ok(d)
        };
        let timeout = duration(&raw.timeout, "timeout", 30)?;
        let grace = duration(&raw.grace, "grace", 30)?;
        let max_sessions = match &raw.max_sessions {
            None => 8,
            Some(m) if (1..=MAX_SESSIONS).contains(m.get_ref()) => *m.get_ref() as usize,
            Some(m) => return Err(err(m.span(), format!("max_sessions must be from 1 to {MAX_SESSIONS}"))),
        };

        let named = |list: &[RawPeer], what: &str| -> Result<Vec<Named>, ConfigError> {
            let mut out: Vec<Named> = Vec::new();
            for p in list {
                let name = p.name.get_ref().trim().to_owned();
                if name.is_empty() {
                    return Err(err(p.name.span(), format!("a {what}'s name is empty")));
                }
                let fingerprint: Fingerprint = p.fingerprint.get_ref().parse().map_err(|_| {
                    err(p.fingerprint.span(), format!("{what} `{name}`: the fingerprint is not 64 hex digits (it is what `garblet keygen` printed)"))
                })?;
                if out.iter().any(|o| o.name == name) {
                    return Err(err(p.name.span(), format!("two {what}s are named `{name}`")));
                }
                if let Some(o) = out.iter().find(|o| o.fingerprint == fingerprint) {
                    return Err(err(
                        p.fingerprint.span(),
                        format!("{what}s `{}` and `{name}` have the same fingerprint", o.name),
                    ));
                }
                out.push(Named { name, fingerprint });
            }
            Ok(out)
        };
        let service_min_cohort = match &raw.min_cohort {
            None => None,
            Some(k) if *k.get_ref() < 1 => return Err(err(k.span(), "min_cohort must be at least 1".into())),
            Some(k) => Some(*k.get_ref() as u64),
        };
        let peers = named(&raw.peer, "peer")?;
        let approvers = named(&raw.approver, "approver")?;

        let mut programs: Vec<ProgramRule> = Vec::new();
        for p in &raw.program {
            let name = p.name.get_ref().trim().to_owned();
            let line = line_of(p.name.span());
            if name.is_empty() {
                return Err(err(p.name.span(), "a program's name is empty".into()));
            }
            if programs.iter().any(|o| o.name == name) {
                return Err(err(p.name.span(), format!("two programs are named `{name}`")));
            }
            let min_cohort = match (&p.min_cohort, service_min_cohort) {
                (None, service) => service,
                (Some(k), _) if *k.get_ref() < 1 => {
                    return Err(err(k.span(), format!("program `{name}`: min_cohort must be at least 1")))
                }
                (Some(k), Some(service)) if (*k.get_ref() as u64) < service => {
                    return Err(err(
                        k.span(),
                        format!(
                            "program `{name}`: min_cohort = {} is below the service's min_cohort = {service}: a program may raise it, not lower it",
                            k.get_ref()
                        ),
                    ))
                }
                (Some(k), _) => Some(*k.get_ref() as u64),
            };
            let role = match p.role.get_ref().as_str() {
                "garbler" => Party::Garbler,
                "evaluator" => Party::Evaluator,
                other => {
                    return Err(err(
                        p.role.span(),
                        format!("program `{name}`: role = \"{other}\": write \"garbler\" or \"evaluator\" (the service's role in the run)"),
                    ))
                }
            };
            if p.peers.get_ref().is_empty() {
                return Err(err(
                    p.peers.span(),
                    format!("program `{name}`: peers is empty, so no one could run it"),
                ));
            }
            let mut listed = BTreeSet::new();
            for peer in p.peers.get_ref() {
                if !peers.iter().any(|q| &q.name == peer.get_ref()) {
                    return Err(err(
                        peer.span(),
                        format!(
                            "program `{name}`: peer `{}` is not configured (add a [[peer]] with that name)",
                            peer.get_ref()
                        ),
                    ));
                }
                listed.insert(peer.get_ref().clone());
            }
            let max_runs = match *p.max_runs.get_ref() {
                n @ 1..=1_000_000 => n as u32,
                _ => {
                    return Err(err(
                        p.max_runs.span(),
                        format!("program `{name}`: max_runs must be from 1 to 1000000"),
                    ))
                }
            };
            let window_text = p.window.get_ref().trim().to_owned();
            let window = humantime::parse_duration(&window_text).map_err(|e| {
                err(
                    p.window.span(),
                    format!(
                        "program `{name}`: window = \"{window_text}\": {e} (write it like \"1h\" or \"24h\")"
                    ),
                )
            })?;
            if window < Duration::from_secs(1) || window > Duration::from_secs(366 * 86_400) {
                return Err(err(
                    p.window.span(),
                    format!("program `{name}`: window must be from 1s to 366 days"),
                ));
            }
            let approvals = match &p.approvals {
                None => 0,
                Some(a) if *a.get_ref() < 0 => {
                    return Err(err(a.span(), format!("program `{name}`: approvals cannot be negative")))
                }
                Some(a) if *a.get_ref() as usize > approvers.len() => {
                    return Err(err(
                        a.span(),
                        format!(
                            "program `{name}`: approvals = {} but only {} approver{} configured: it could never run",
                            a.get_ref(),
                            approvers.len(),
                            if approvers.len() == 1 { " is" } else { "s are" }
                        ),
                    ))
                }
                Some(a) => *a.get_ref() as usize,
            };
            let input_files = p
                .input
                .iter()
                .map(|(input, file)| format!("{input}=@{}", resolve(file.get_ref()).display()))
                .collect();
            let mut consts = Vec::new();
            for (constant, value) in &p.consts {
                let text = match value.get_ref() {
                    toml::Value::Integer(n) => n.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    toml::Value::Float(x) => x.to_string(),
                    toml::Value::String(t) => t.clone(),
                    _ => {
                        return Err(err(
                            value.span(),
                            format!(
                                "program `{name}`: const.{constant} must be a number, a boolean or a string (as after --const {constant}=)"
                            ),
                        ))
                    }
                };
                consts.push(format!("{constant}={text}"));
            }
            programs.push(ProgramRule {
                input_files,
                consts,
                name,
                path: resolve(p.path.get_ref()),
                role,
                inputs: p.inputs.as_ref().map(|i| resolve(i.get_ref())),
                peers: listed.into_iter().collect(),
                max_runs,
                window,
                window_text,
                approvals,
                min_cohort,
                line,
            });
        }
        if programs.is_empty() {
            return Err(ConfigError {
                path: shown,
                line: None,
                message: "no [[program]]: the service would have nothing to run".into(),
            });
        }
        Ok(Config {
            path: path.to_owned(),
            listen,
            identity: resolve(raw.identity.get_ref()),
            identity_line: line_of(raw.identity.span()),
            audit_log: resolve(raw.audit_log.get_ref()),
            audit_log_line: line_of(raw.audit_log.span()),
            max_sessions,
            timeout,
            grace,
            peers,
            approvers,
            programs,
            cache: raw.cache.as_ref().map(|c| resolve(c.get_ref())),
            cache_line: raw.cache.as_ref().map_or(0, |c| line_of(c.span())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "6d1f00000000000000000000000000000000000000000000000000000000c93a";

    fn load(text: &str) -> Result<Config, ConfigError> {
        // A file of its own per call (tests run on parallel threads), removed on drop.
        let path = garblet_testkit::TempPath::new("config.toml");
        std::fs::write(&path.0, text).unwrap();
        Config::load(&path.0)
    }

    fn good() -> String {
        format!(
            "listen = \"127.0.0.1:7000\"\nidentity = \"ids/client\"\naudit_log = \"audit.jsonl\"\n\n[[peer]]\nname = \"vendor\"\nfingerprint = \"{FP}\"\n\n[[program]]\nname = \"accuracy\"\npath = \"m.gbl\"\nrole = \"evaluator\"\npeers = [\"vendor\"]\nmax_runs = 3\nwindow = \"24h\"\n"
        )
    }

    #[test]
    fn a_good_config_resolves_paths_against_its_directory() {
        let c = load(&good()).unwrap();
        assert_eq!(c.programs[0].window, Duration::from_secs(86_400));
        assert!(c.programs[0].path.ends_with("m.gbl") && c.programs[0].path.is_absolute());
        assert_eq!(c.max_sessions, 8);
    }

    #[test]
    fn errors_name_their_line() {
        let msg = |t: String| load(&t).unwrap_err().to_string();
        let m = msg(good().replace("max_runs = 3", "max_runs = 3\ncolour = \"blue\""));
        assert!(m.contains(":15:") && m.contains("colour"), "{m}");
        let m = msg(good().replace("[\"vendor\"]", "[\"vendor\", \"nobody\"]"));
        assert!(m.contains(":13:") && m.contains("`nobody` is not configured"), "{m}");
        let m = msg(good().replace("\"24h\"", "\"3 fortnights\""));
        assert!(m.contains(":15:") && m.contains("window"), "{m}");
        let m = msg(good() + "min_cohort = 0\n");
        assert!(m.contains(":16:") && m.contains("min_cohort must be at least 1"), "{m}");
        let with_default = |t: String| t.replace("audit.jsonl\"\n", "audit.jsonl\"\nmin_cohort = 50\n");
        let m = msg(with_default(good()) + "min_cohort = 20\n");
        assert!(m.contains(":17:") && m.contains("is below the service's min_cohort = 50"), "{m}");
        assert_eq!(load(&with_default(good())).unwrap().programs[0].min_cohort, Some(50));
        assert_eq!(
            load(&(with_default(good()) + "min_cohort = 80\n")).unwrap().programs[0].min_cohort,
            Some(80)
        );
        assert_eq!(load(&good()).unwrap().programs[0].min_cohort, None);
        let m = msg(good() + "min_cohort = \"many\"\n");
        assert!(m.contains(":16:"), "{m}");
        let m = msg(good().replace(FP, "abc"));
        assert!(m.contains(":7:"), "{m}");
    }
}
