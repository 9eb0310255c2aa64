//! Budgets: at most `max_runs` run starts per peer and program in any
//! window of `window` (a sliding window).
//!
//! A run is reserved under one mutex before it starts, so concurrent
//! connections can never take more than the budget between them, and the
//! reservation is appended to the ledger (`AUDIT_LOG.budget`, one JSON line
//! per run start) and synced to disk before the session's first message.
//! A run counts from its start whatever its end: a failed or interrupted
//! run does not give its slot back (a peer that aborts after learning its
//! output must not get another try for free). At start the service reads
//! the ledger back, so budgets survive a restart.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The ledger beside an audit log.
pub(super) fn ledger_path(audit_log: &Path) -> PathBuf {
    let mut name = audit_log.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".budget");
    audit_log.with_file_name(name)
}

/// The run starts of every (peer, program), persisted.
pub(super) struct Ledger {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    file: File,
    starts: HashMap<(String, String), Vec<SystemTime>>,
}

/// A run start read back from the ledger.
pub(super) struct Reserved {
    /// The run's identifier (also in its audit line).
    pub(super) run: String,
    /// The peer's name.
    pub(super) peer: String,
    /// The program's name.
    pub(super) program: String,
    /// When it started.
    pub(super) at: SystemTime,
}

/// Why a reservation was refused: the budget is used up until `next`.
#[derive(Debug)]
pub(super) struct UsedUp {
    /// When the oldest start in the window leaves it.
    pub(super) next: SystemTime,
}

impl Ledger {
    /// Opens (creating) the ledger at `path` and reads its run starts,
    /// which it also returns.
    pub(super) fn open(path: &Path) -> Result<(Ledger, Vec<Reserved>)> {
        let mut starts: HashMap<(String, String), Vec<SystemTime>> = HashMap::new();
        let mut reserved = Vec::new();
        if path.exists() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the budget ledger {}", path.display()))?;
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let parsed = serde_json::from_str::<Value>(line).ok().and_then(|v| {
                    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
                    let at = humantime::parse_rfc3339(&s("at")?).ok()?;
                    Some((s("run")?, s("peer")?, s("program")?, at))
                });
                let Some((run, peer, program, at)) = parsed else {
                    bail!(
                        "{}:{}: not a budget ledger line (the service writes this file; restore it, or remove the line to forget that run)",
                        path.display(),
                        i + 1
                    );
                };
                starts.entry((peer.clone(), program.clone())).or_default().push(at);
                reserved.push(Reserved { run, peer, program, at });
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the budget ledger {} for appending", path.display()))?;
        Ok((Ledger { path: path.to_owned(), state: Mutex::new(State { file, starts }) }, reserved))
    }

    /// Whether `peer`'s budget for `program` is used up at `now`, without
    /// reserving anything: the rule's answer, in its place in the order
    /// of rules. [`Ledger::reserve`] decides again, atomically.
    pub(super) fn used_up(
        &self,
        peer: &str,
        program: &str,
        max_runs: u32,
        window: Duration,
        now: SystemTime,
    ) -> Result<Option<UsedUp>> {
        let state = self.state.lock().map_err(|_| anyhow::anyhow!("the budget ledger is poisoned"))?;
        let since = now.checked_sub(window).unwrap_or(SystemTime::UNIX_EPOCH);
        let Some(starts) = state.starts.get(&(peer.to_owned(), program.to_owned())) else { return Ok(None) };
        let live: Vec<SystemTime> = starts.iter().copied().filter(|t| *t > since).collect();
        if live.len() < max_runs as usize {
            return Ok(None);
        }
        Ok(Some(UsedUp { next: live.iter().min().copied().unwrap_or(now) + window }))
    }

    /// Reserves one run of `program` for `peer` at `now`, if fewer than
    /// `max_runs` started in the window before it: the start is recorded
    /// and on disk when this returns `Ok(Ok(()))`.
    pub(super) fn reserve(
        &self,
        peer: &str,
        program: &str,
        run: &str,
        max_runs: u32,
        window: Duration,
        now: SystemTime,
    ) -> Result<Result<(), UsedUp>> {
        let mut state = self.state.lock().map_err(|_| anyhow::anyhow!("the budget ledger is poisoned"))?;
        let key = (peer.to_owned(), program.to_owned());
        let since = now.checked_sub(window).unwrap_or(SystemTime::UNIX_EPOCH);
        let starts = state.starts.entry(key.clone()).or_default();
        starts.retain(|t| *t > since);
        if starts.len() >= max_runs as usize {
            let oldest = starts.iter().min().copied().unwrap_or(now);
            return Ok(Err(UsedUp { next: oldest + window }));
        }
        let line =
            json!({"run": run, "peer": peer, "program": program, "at": super::super::audit::rfc3339(now)});
        state
            .file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| state.file.sync_data())
            .with_context(|| format!("cannot write the budget ledger {}", self.path.display()))?;
        state.starts.entry(key).or_default().push(now);
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_exact_under_threads_and_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("garblet-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl.budget");
        let (ledger, _) = Ledger::open(&path).unwrap();
        let day = Duration::from_secs(86_400);
        let now = SystemTime::now();
        let granted = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for i in 0..10 {
                let (ledger, granted) = (&ledger, &granted);
                s.spawn(move || {
                    if ledger.reserve("vendor", "accuracy", &i.to_string(), 3, day, now).unwrap().is_ok() {
                        granted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(granted.into_inner(), 3);
        drop(ledger);
        let (again, reserved) = Ledger::open(&path).unwrap();
        assert_eq!(reserved.len(), 3);
        assert!(again.used_up("vendor", "accuracy", 3, day, now).unwrap().is_some());
        assert!(again.used_up("other", "accuracy", 3, day, now).unwrap().is_none());
        let refused = again.reserve("vendor", "accuracy", "x", 3, day, now).unwrap().unwrap_err();
        assert!(refused.next > now && refused.next <= now + day);
        assert!(again.reserve("other", "accuracy", "y", 3, day, now).unwrap().is_ok(), "per peer");
        assert!(again
            .reserve("vendor", "accuracy", "z", 3, day, now + day + Duration::from_secs(1))
            .unwrap()
            .is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
