//! The audit line: one JSON object per run attempt, appended to
//! `--audit-log FILE` and flushed to disk (fsync) before the result is
//! printed, so that a result a party saw always has its line.
//!
//! The record fills in as the run goes (the peer's address and the
//! fingerprint it presented once a connection is up, the phase the run is
//! in), so that a run that fails, or is interrupted by Ctrl-C or SIGTERM,
//! still leaves a line that says how far it got. It never holds an input
//! value. Every field is documented in the README ("The audit line").
//!
//! `chain.rs` is the service's log: the same records, chained by hashes
//! and checked by `garblet audit verify`.

pub(super) mod chain;

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime};

/// How many refused connections a line lists (the count is always exact).
const MAX_LISTED_STRAYS: usize = 16;

/// One run attempt's audit record, shared by the run, its connections and
/// the signal handler; written once.
#[derive(Clone)]
pub(super) struct Audit {
    inner: Arc<Mutex<Record>>,
}

struct Record {
    path: Option<PathBuf>,
    fields: Map<String, Value>,
    started: Instant,
    written: bool,
}

/// The audits of runs under way, for the signal handler.
fn active() -> &'static Mutex<Vec<Audit>> {
    static ACTIVE: OnceLock<Mutex<Vec<Audit>>> = OnceLock::new();
    ACTIVE.get_or_init(|| Mutex::new(Vec::new()))
}

/// Installs, once per process, the Ctrl-C / SIGTERM handler: every run
/// under way gets its line with status `interrupted`, then the process
/// exits with code 130.
pub(super) fn install_interrupt_handler() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let handler = || {
            let audits: Vec<Audit> = active().lock().map(|a| a.clone()).unwrap_or_default();
            for audit in audits {
                let _ = audit.finish("interrupted", None);
            }
            // `errln!`, not `eprintln!`, which panics when stderr is closed
            // (a reader that went away): the handler's thread would die and
            // the process would not stop.
            errln!("\ninterrupted: the run was stopped before it finished");
            std::process::exit(130);
        };
        if let Err(e) = ctrlc::set_handler(handler) {
            errln!("warning: cannot catch Ctrl-C and SIGTERM ({e}): an interrupted run leaves no audit line");
        }
    });
}

impl Audit {
    /// A record for a run starting now, written to `path` (or nowhere).
    pub(super) fn start(path: Option<PathBuf>, fields: Map<String, Value>) -> Audit {
        let mut fields = fields;
        fields.insert("garblet".into(), json!(env!("CARGO_PKG_VERSION")));
        fields.insert("started".into(), json!(rfc3339(SystemTime::now())));
        let audit = Audit {
            inner: Arc::new(Mutex::new(Record { path, fields, started: Instant::now(), written: false })),
        };
        if let Ok(mut a) = active().lock() {
            a.push(audit.clone());
        }
        audit
    }

    /// Sets one field.
    pub(super) fn set(&self, key: &str, value: Value) {
        if let Ok(mut r) = self.inner.lock() {
            r.fields.insert(key.to_owned(), value);
        }
    }

    /// Sets one field of the `peer` object.
    pub(super) fn set_peer(&self, key: &str, value: Value) {
        self.set_in("peer", key, value);
    }

    /// Sets one field of the object `object` (made if missing).
    pub(super) fn set_in(&self, object: &str, key: &str, value: Value) {
        if let Ok(mut r) = self.inner.lock() {
            let peer = r.fields.entry(object).or_insert_with(|| json!({}));
            if let Some(obj) = peer.as_object_mut() {
                obj.insert(key.to_owned(), value);
            }
        }
    }

    /// Whether the record was completed (its line written or being written).
    pub(super) fn is_written(&self) -> bool {
        self.inner.lock().map(|r| r.written).unwrap_or(true)
    }

    /// A copy of the record's fields.
    pub(super) fn snapshot(&self) -> Map<String, Value> {
        self.inner.lock().map(|r| r.fields.clone()).unwrap_or_default()
    }

    /// Whether `other` is this same record.
    pub(super) fn same(&self, other: &Audit) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Records a connection the listener refused.
    pub(super) fn stray(&self, from: &str, reason: &str) {
        if let Ok(mut r) = self.inner.lock() {
            let count = r.fields.get("strays_refused").and_then(Value::as_u64).unwrap_or(0) + 1;
            r.fields.insert("strays_refused".into(), json!(count));
            let list = r.fields.entry("strays").or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                if list.len() < MAX_LISTED_STRAYS {
                    list.push(json!({"from": from, "reason": reason}));
                }
            }
        }
    }

    /// Completes the record with `status`, the end time and `extra`, and
    /// returns its fields — once: `None` if it was completed before (by
    /// the run or by a signal handler).
    pub(super) fn complete(
        &self,
        status: &str,
        extra: Option<Map<String, Value>>,
    ) -> Option<Map<String, Value>> {
        let mut r = self.inner.lock().ok()?;
        if r.written {
            return None;
        }
        r.written = true;
        let micros = u64::try_from(r.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        r.fields.insert("ended".into(), json!(rfc3339(SystemTime::now())));
        r.fields.insert("duration_us".into(), json!(micros));
        r.fields.insert("status".into(), json!(status));
        for (k, v) in extra.unwrap_or_default() {
            r.fields.insert(k, v);
        }
        Some(r.fields.clone())
    }

    /// Completes the record with `status` and the end time, appends it as
    /// one line and syncs the file to disk. Only the first call writes.
    pub(super) fn finish(&self, status: &str, extra: Option<Map<String, Value>>) -> Result<()> {
        let path = match self.inner.lock() {
            Ok(r) => r.path.clone(),
            Err(_) => anyhow::bail!("the audit record is poisoned"),
        };
        let Some(fields) = self.complete(status, extra) else { return Ok(()) };
        let Some(path) = &path else { return Ok(()) };
        let line = Value::Object(fields).to_string();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the audit log {}", path.display()))?;
        // One write of the whole line, so that two runs appending to one
        // file never interleave within a line.
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write the audit log {}", path.display()))?;
        Ok(())
    }
}

/// What a line says about the program: `program` (path, file digest when
/// `file_digest`, circuit digest, AND gates), `inputs` (names, owners,
/// widths: never a value) and `outputs_revealed`.
pub(super) fn program_fields(program: &super::program::Loaded, file_digest: bool) -> Map<String, Value> {
    let c = &program.circuit;
    let revealed: Vec<Value> = c
        .outputs()
        .iter()
        .map(|o| json!({"name": o.name, "to": o.visibility.as_str(), "width": o.width()}))
        .collect();
    let inputs: Vec<Value> = c
        .inputs()
        .iter()
        .map(|i| json!({"name": i.name, "from": i.party.as_str(), "width": i.width}))
        .collect();
    // Streamed: a Bristol file may be gigabytes.
    let file_digest = file_digest
        .then(|| {
            let mut h = blake3::Hasher::new();
            h.update_reader(std::fs::File::open(&program.path).ok()?).ok()?;
            Some(h.finalize().to_hex().to_string())
        })
        .flatten();
    let mut fields = Map::new();
    fields.insert(
        "program".into(),
        json!({
            "path": program.path,
            "file_blake3": file_digest,
            "circuit_digest": program.digest_hex(),
            "and_gates": program.and_count(),
            "consts": program.program.as_ref().map(|p| {
                p.consts.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<String, Value>>()
            }).unwrap_or_default(),
            "cohort": program.cohort(),
        }),
    );
    fields.insert("inputs".into(), json!(inputs));
    fields.insert("outputs_revealed".into(), json!(revealed));
    fields
}

/// Stops listing `audit` among the runs under way.
pub(super) fn done(audit: &Audit) {
    if let Ok(mut a) = active().lock() {
        a.retain(|x| !Arc::ptr_eq(&x.inner, &audit.inner));
    }
}

/// RFC 3339, UTC, to the microsecond.
pub(super) fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}
