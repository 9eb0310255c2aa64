//! Approvals: `garblet approve PROGRAM --identity DIR [--name N]` signs a
//! statement about one version of one program, and the service counts the
//! statements of its configured approvers before every run.
//!
//! The statement binds, under the context string [`CONTEXT`] (and the
//! identity signature prefix of `engine::net`), the program's name in the
//! service's configuration, its circuit digest (blake3 of the canonical
//! encoding: gates, wires, inputs, outputs) and its output rules (every
//! output's name, who learns it, and its width; and, for a program whose
//! result is guarded by `cohort(count, K, value)`, its cohort rule), in a
//! length-prefixed encoding ([`statement`]). The signature is ECDSA P-256 with SHA-256 by
//! the approver's identity key (from `garblet keygen`); the line also
//! carries the approver's certificate, so the service can check the
//! signature and match the certificate's SHA-256 fingerprint against its
//! `[[approver]]`s. Editing the program changes its digest, so every
//! earlier approval stops counting.

use super::program::Loaded;
use anyhow::{bail, Context, Result};
use garblet::engine::net::{verify_signature, Fingerprint, Identity};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The signature context of approvals.
pub(super) const CONTEXT: &str = "garblet program approval v1";

/// The largest approvals file read (64 KiB: hundreds of approvals).
const MAX_APPROVALS_BYTES: u64 = 64 << 10;

/// `PROGRAM.approvals`, beside the program.
pub(super) fn approvals_path(program: &Path) -> PathBuf {
    let mut name = program.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".approvals");
    program.with_file_name(name)
}

/// The bytes an approver signs: the program's name, its circuit digest and
/// its output rules, each length-prefixed. A program with a cohort rule
/// adds, after the outputs, `u32 count ‖ per rule: u32 len ‖ name ‖ u32
/// len ‖ value` (`cohort result` = K); a program without one signs
/// exactly what it signed before cohort rules existed. Every part is
/// length-prefixed and the rules come last, so no statement is another's
/// with its rules cut off or added.
pub(super) fn statement(name: &str, program: &Loaded) -> Vec<u8> {
    let circuit = &program.circuit;
    let mut out = Vec::new();
    let field = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    field(&mut out, name.as_bytes());
    field(&mut out, &program.digest_bytes());
    out.extend_from_slice(&(circuit.outputs().len() as u32).to_le_bytes());
    for o in circuit.outputs() {
        field(&mut out, o.name.as_bytes());
        field(&mut out, o.visibility.as_str().as_bytes());
        out.extend_from_slice(&o.width().to_le_bytes());
    }
    let rules = output_rules(program);
    if !rules.is_empty() {
        out.extend_from_slice(&(rules.len() as u32).to_le_bytes());
        for (rule, value) in &rules {
            field(&mut out, rule.as_bytes());
            field(&mut out, value.as_bytes());
        }
    }
    out
}

/// The rules on the program's outputs that an approval binds besides
/// their names, audiences and widths: the cohort rule, if any.
fn output_rules(program: &Loaded) -> Vec<(String, String)> {
    program.program.as_ref().and_then(|p| p.cohort_term()).into_iter().collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// `garblet approve`: signs the statement and appends one line to
/// `PROGRAM.approvals`.
pub(super) fn approve(
    program_path: &Path,
    identity_dir: &Path,
    name: Option<&str>,
    consts: &[String],
) -> Result<()> {
    let program = Loaded::from_file(program_path, &[], consts, None)?;
    let identity = Identity::load(identity_dir)?;
    let name = match name {
        Some(n) => n.to_owned(),
        None => program_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    if name.trim().is_empty() {
        bail!("give the program's name in the service's configuration with --name NAME");
    }
    let signature = identity.sign(CONTEXT, &statement(&name, &program))?;
    let outputs: Vec<Value> = program
        .circuit
        .outputs()
        .iter()
        .map(|o| json!({"name": o.name, "to": o.visibility.as_str(), "width": o.width()}))
        .collect();
    let line = json!({
        "program": name,
        "circuit_digest": program.digest_hex(),
        "outputs": outputs,
        "cohort": program.cohort(),
        "approver_fingerprint": identity.fingerprint().to_string(),
        "signed_at": super::audit::rfc3339(std::time::SystemTime::now()),
        "certificate": hex(identity.certificate()),
        "signature": hex(&signature),
    });
    let path = approvals_path(program_path);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    outln!("{}", identity.fingerprint());
    errln!(
        "approved `{name}` (circuit digest {}…) as {}; appended to {}",
        &program.digest_hex()[..16],
        identity.fingerprint(),
        path.display()
    );
    Ok(())
}

/// How the approvals of one program stand.
#[derive(Debug)]
pub(super) struct Standing {
    /// Distinct configured approvers whose signature verifies, by name.
    pub(super) valid: Vec<String>,
    /// Lines that do not count, and why (1-based line numbers).
    pub(super) rejected: Vec<(usize, String)>,
}

impl Standing {
    /// A short account for messages: `0 of 1 (line 1: …)`.
    pub(super) fn describe(&self, needed: usize) -> String {
        let mut text = format!("{} valid of {needed} needed", self.valid.len());
        if !self.valid.is_empty() {
            text.push_str(&format!(" (by {})", self.valid.join(", ")));
        }
        for (line, why) in self.rejected.iter().take(3) {
            text.push_str(&format!("; line {line} does not count: {why}"));
        }
        text
    }
}

/// Checks every line of `PROGRAM.approvals` against the program as loaded
/// and the configured approvers (`(name, fingerprint)`).
pub(super) fn standing(
    program_path: &Path,
    name: &str,
    program: &Loaded,
    approvers: &[(String, Fingerprint)],
) -> Standing {
    let mut s = Standing { valid: Vec::new(), rejected: Vec::new() };
    let path = approvals_path(program_path);
    let text = match std::fs::metadata(&path) {
        Err(_) => return s,
        Ok(m) if m.len() > MAX_APPROVALS_BYTES => {
            s.rejected.push((0, format!("{} is larger than 64 KiB", path.display())));
            return s;
        }
        Ok(_) => match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                s.rejected.push((0, format!("cannot read {}: {e}", path.display())));
                return s;
            }
        },
    };
    let message = statement(name, program);
    let digest = program.digest_hex();
    let cohort = program.cohort().map(|k| k.to_string());
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let n = i + 1;
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            s.rejected.push((n, "not a JSON object".into()));
            continue;
        };
        let field = |k: &str| v.get(k).and_then(Value::as_str).and_then(unhex);
        let (Some(cert), Some(sig)) = (field("certificate"), field("signature")) else {
            s.rejected.push((n, "no certificate or signature in hex".into()));
            continue;
        };
        let fingerprint = match verify_signature(&cert, CONTEXT, &message, &sig) {
            Ok(f) => f,
            Err(_) => {
                let said = v.get("circuit_digest").and_then(Value::as_str).unwrap_or("");
                let why = if v.get("program").and_then(Value::as_str) != Some(name) {
                    format!("it approves another program name, not `{name}`")
                } else if said != digest {
                    "it approves another version of the program (the circuit digest differs: was the program edited?)"
                        .into()
                } else if cohort_said(&v) != cohort {
                    format!(
                        "it approves other output rules (cohort guard {} there, {} here)",
                        cohort_said(&v).as_deref().unwrap_or("none"),
                        cohort.as_deref().unwrap_or("none")
                    )
                } else {
                    "the signature does not verify (forged, or altered)".into()
                };
                s.rejected.push((n, why));
                continue;
            }
        };
        match approvers.iter().find(|(_, f)| *f == fingerprint) {
            None => {
                s.rejected.push((n, format!("signed by {fingerprint}, who is not a configured approver")))
            }
            Some((who, _)) if s.valid.contains(who) => {
                s.rejected.push((n, format!("a second approval by `{who}`")))
            }
            Some((who, _)) => s.valid.push(who.clone()),
        }
    }
    s
}

/// The cohort rule an approvals line shows (for the reason a line does not
/// count; the signature is what decides).
fn cohort_said(line: &Value) -> Option<String> {
    match line.get("cohort")? {
        Value::Null => None,
        other => Some(other.to_string().trim_matches('"').to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_binds_the_cohort_rule_and_is_unchanged_without_one() {
        let src = "fn main(#[garbler] v: u32, #[evaluator] n: u32) -> u32 { cohort(n, 50, v) }";
        let guarded = Loaded::compile(src, "g.gbl", &[]).unwrap();
        assert_eq!(guarded.cohort(), Some(50));
        let with_rule = statement("accuracy", &guarded);
        // The same circuit without the rule: the statement of before.
        let mut plain = guarded.duplicate();
        if let Some(p) = plain.program.as_mut() {
            p.cohort = None;
        }
        let without = statement("accuracy", &plain);
        assert_ne!(with_rule, without);
        assert!(with_rule.starts_with(&without), "the rule follows the outputs");
        let mut lower = guarded.duplicate();
        if let Some(p) = lower.program.as_mut() {
            p.cohort = Some(5);
        }
        assert_ne!(statement("accuracy", &lower), with_rule);
    }
}
