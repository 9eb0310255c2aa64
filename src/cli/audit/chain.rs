//! The service's audit log: a hash chain of JSON lines (a plain linked
//! timestamping chain in the manner of Haber–Stornetta, "How to Time-Stamp
//! a Digital Document", 1991, with blake3 as the hash).
//!
//! Every line is one JSON object whose `prev` field is the blake3 hash, in
//! hex, of the previous line's bytes (without its newline); the first
//! line's `prev` is [`GENESIS`]. Changing, removing or reordering a line
//! breaks the link to the line after it, which `garblet audit verify`
//! names. Removing lines *at the end* leaves a shorter chain that still
//! verifies: that is what the last hash is for — anchor it elsewhere (an
//! e-mail, a ticket, the other party) and pass it back with `--anchor`.
//!
//! One writer per file ([`Chain`]), behind a mutex: concurrent sessions
//! append whole lines, in order, each synced to disk (fsync) before
//! `append` returns.

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The `prev` of the first line: blake3 of `garblet audit chain v1`, hex.
pub(in crate::cli) const GENESIS_INPUT: &[u8] = b"garblet audit chain v1";

/// The genesis value, hex.
pub(in crate::cli) fn genesis() -> String {
    blake3::hash(GENESIS_INPUT).to_hex().to_string()
}

/// The hash that the next line's `prev` carries.
fn link(line: &[u8]) -> String {
    blake3::hash(line).to_hex().to_string()
}

/// The largest audit log `verify` and the service read (1 GiB).
const MAX_LOG_BYTES: u64 = 1 << 30;

/// The one writer of a chained log.
pub(in crate::cli) struct Chain {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    file: File,
    /// The hash of the last line written.
    last: String,
}

impl Chain {
    /// Opens `path` for appending (creating it), after checking the chain
    /// it already holds: a service does not extend a broken chain.
    pub(in crate::cli) fn open(path: &Path) -> Result<(Chain, Vec<Value>)> {
        let (records, last) = if path.exists() {
            let report = verify_file(path)?;
            if let Some(broken) = report.broken {
                bail!(
                    "the audit log {} is not intact ({broken}): keep it as evidence, and give the service a new audit_log",
                    path.display()
                );
            }
            (report.records, report.last)
        } else {
            (Vec::new(), genesis())
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the audit log {} for appending", path.display()))?;
        Ok((Chain { path: path.to_owned(), state: Mutex::new(State { file, last }) }, records))
    }

    /// Appends `fields` with `prev` set, as one line, synced to disk.
    /// Returns the new line's hash.
    pub(in crate::cli) fn append(&self, mut fields: Map<String, Value>) -> Result<String> {
        let mut state = self.state.lock().map_err(|_| anyhow::anyhow!("the audit log writer is poisoned"))?;
        fields.insert("prev".into(), json!(state.last));
        let line = Value::Object(fields).to_string();
        let mut bytes = line.clone().into_bytes();
        bytes.push(b'\n');
        // One write of the whole line, then fsync: the line is on disk, or
        // the caller learns it is not.
        state
            .file
            .write_all(&bytes)
            .and_then(|()| state.file.sync_data())
            .with_context(|| format!("cannot write the audit log {}", self.path.display()))?;
        state.last = link(line.as_bytes());
        Ok(state.last.clone())
    }
}

impl Chain {
    /// Holds the writer for good: called just before the process exits,
    /// so that no line is cut by the exit.
    pub(in crate::cli) fn freeze(&self) {
        if let Ok(guard) = self.state.lock() {
            std::mem::forget(guard);
        }
    }
}

/// What `verify` found.
pub(in crate::cli) struct Report {
    /// The records of the intact prefix.
    pub(in crate::cli) records: Vec<Value>,
    /// The hash of the last intact line (the genesis value for an empty log).
    pub(in crate::cli) last: String,
    /// Where and how the chain breaks, if it does.
    pub(in crate::cli) broken: Option<String>,
}

/// Checks the chain of the log at `path`.
pub(in crate::cli) fn verify_file(path: &Path) -> Result<Report> {
    let size = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    if size > MAX_LOG_BYTES {
        bail!("{} is larger than 1 GiB: split it, and verify each part", path.display());
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(verify_bytes(&bytes))
}

/// Checks a chain held in memory.
pub(in crate::cli) fn verify_bytes(bytes: &[u8]) -> Report {
    let mut report = Report { records: Vec::new(), last: genesis(), broken: None };
    if bytes.is_empty() {
        return report;
    }
    let complete = bytes.ends_with(b"\n");
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let all: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    for (i, line) in all.iter().enumerate() {
        let n = i + 1;
        if !complete && n == all.len() {
            report.broken = Some(format!("line {n} is incomplete (no newline at its end): it was cut short"));
            return report;
        }
        let record: Value = match serde_json::from_slice(line) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                report.broken = Some(format!("line {n} is not a JSON object: it was changed"));
                return report;
            }
        };
        let prev = record.get("prev").and_then(Value::as_str).unwrap_or("");
        if prev != report.last {
            report.broken = Some(if n == 1 {
                "line 1 does not start the chain (its prev is not the genesis value): lines were removed from the start, or line 1 was changed".to_owned()
            } else {
                format!(
                    "line {n} does not follow line {}: line {} was changed, or a line was removed or moved between them",
                    n - 1,
                    n - 1
                )
            });
            return report;
        }
        report.last = link(line);
        report.records.push(record);
    }
    report
}

/// `garblet audit verify FILE [--anchor HASH]`: prints a summary; fails
/// (exit 1) naming the first line where the chain breaks.
pub(in crate::cli) fn verify_command(path: &Path, anchor: Option<&str>) -> Result<bool> {
    let report = verify_file(path)?;
    let mut runs: BTreeMap<(String, String), BTreeMap<String, u64>> = BTreeMap::new();
    let mut refusals: BTreeMap<String, u64> = BTreeMap::new();
    let mut anchored = anchor.is_none();
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("-").to_owned();
    for r in &report.records {
        let status = text(r.get("status"));
        if status == "refused" {
            *refusals.entry(text(r.get("rule"))).or_default() += 1;
        } else {
            let peer = text(r.pointer("/peer/name"));
            let program = text(r.pointer("/program/name"));
            *runs.entry((peer, program)).or_default().entry(status).or_default() += 1;
        }
    }
    if let Some(a) = anchor {
        anchored = a == genesis() || line_hashes(path)?.iter().any(|h| h == a);
    }
    outln!(
        "{}: {} line{}",
        path.display(),
        report.records.len(),
        if report.records.len() == 1 { "" } else { "s" }
    );
    for ((peer, program), statuses) in &runs {
        let list: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
        outln!("  runs   peer {peer:<16} program {program:<16} {}", list.join(", "));
    }
    for (rule, n) in &refusals {
        outln!("  refused by rule {rule}: {n}");
    }
    outln!("last hash {}", report.last);
    if let Some(broken) = &report.broken {
        outln!("BROKEN: {broken}");
        return Ok(false);
    }
    if !anchored {
        outln!("BROKEN: no line of the chain has the anchored hash: lines after it were removed, or the log is another one");
        return Ok(false);
    }
    outln!("intact{}", if anchor.is_some() { ", and it contains the anchored line" } else { "" });
    Ok(true)
}

/// The hash of every line of the file, in order.
fn line_hashes(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    Ok(body.split(|&b| b == b'\n').map(link).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_of(n: usize) -> Vec<u8> {
        let dir = std::env::temp_dir().join(format!("garblet-chain-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.jsonl");
        let (chain, _) = Chain::open(&path).unwrap();
        for i in 0..n {
            let mut m = Map::new();
            m.insert("i".into(), json!(i));
            chain.append(m).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        bytes
    }

    fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
        bytes.strip_suffix(b"\n").unwrap().split(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
    }

    fn join(lines: &[Vec<u8>]) -> Vec<u8> {
        let mut out = lines.join(&b'\n');
        out.push(b'\n');
        out
    }

    #[test]
    fn an_intact_chain_verifies_and_every_change_is_named() {
        let bytes = chain_of(5);
        let r = verify_bytes(&bytes);
        assert!(r.broken.is_none());
        assert_eq!(r.records.len(), 5);
        let l = lines(&bytes);
        // Changed: line 2's text.
        let mut changed = l.clone();
        changed[1] =
            String::from_utf8(changed[1].clone()).unwrap().replace("\"i\":1", "\"i\":7").into_bytes();
        assert!(verify_bytes(&join(&changed)).broken.unwrap().starts_with("line 3 does not follow line 2"));
        // Removed: line 3.
        let mut removed = l.clone();
        removed.remove(2);
        assert!(verify_bytes(&join(&removed)).broken.unwrap().starts_with("line 3 does not follow line 2"));
        // Reordered: lines 2 and 3.
        let mut swapped = l.clone();
        swapped.swap(1, 2);
        assert!(verify_bytes(&join(&swapped)).broken.unwrap().starts_with("line 2 does not follow line 1"));
        // Removed from the start.
        assert!(verify_bytes(&join(&l[1..])).broken.unwrap().starts_with("line 1 does not start the chain"));
        // Cut mid-line.
        assert!(verify_bytes(&bytes[..bytes.len() - 3]).broken.unwrap().contains("incomplete"));
        // Not JSON.
        let mut junk = l;
        junk[3] = b"{oops".to_vec();
        assert!(verify_bytes(&join(&junk)).broken.unwrap().starts_with("line 4 is not a JSON object"));
    }
}
