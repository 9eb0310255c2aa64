//! Who may run what: the rules the service applies to each connection, in
//! order, before any input is used — **peer** (the certificate's
//! fingerprint is a `[[peer]]`), **program** (the circuit digest in the
//! peer's hello is a `[[program]]` offered to that peer, in the
//! complementary role and the mode the service runs), **approval** (enough
//! distinct configured approvers signed this version, checked again on
//! every run), **cohort** (every output the peer learns is guarded in the
//! circuit by a count of at least `min_cohort`; static per program, so
//! checked at start, where a failure stops the service, and again per run
//! as a safeguard). Capacity and budget follow in `mod.rs`, with the
//! ledger.
//!
//! Each refusal names its rule and says, in one sentence the peer can act
//! on, what failed. The reasons go to a peer that may be a stranger (the
//! `peer` rule), so they name nothing beyond what that peer already knows
//! or may know: its own fingerprint, and the programs offered to it.

use super::config::{Named, ProgramRule};
use crate::cli::approve;
use crate::cli::program::Loaded;
use garblet::engine::net::Fingerprint;
use garblet::engine::session::{PeerHello, SecurityMode};

/// A refusal: the rule and the reason sent to the peer.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    /// `peer`, `program`, `approval`, `cohort`, `capacity`, `budget`,
    /// `protocol` or `shutdown`.
    pub(super) rule: &'static str,
    /// One sentence for the peer (and the audit log).
    pub(super) reason: String,
}

impl Refusal {
    pub(super) fn new(rule: &'static str, reason: impl Into<String>) -> Refusal {
        Refusal { rule, reason: reason.into() }
    }
}

/// A program the service offers, loaded and with its inputs encoded.
pub(super) struct Offered {
    pub(super) rule: ProgramRule,
    pub(super) loaded: Loaded,
    /// The digest a peer's hello carries for this program: the circuit's,
    /// with the program's terms bound (its cohort rule).
    pub(super) digest: [u8; 32],
    /// The service's own inputs, encoded once at start.
    pub(super) inputs: Vec<(String, Vec<bool>)>,
}

fn short(digest: &[u8; 32]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>() + "…"
}

/// Rule 1, peer: the certificate is one of the configured peers.
pub(super) fn check_peer(peers: &[Named], presented: Fingerprint) -> Result<&Named, Refusal> {
    peers.iter().find(|p| p.fingerprint == presented).ok_or_else(|| {
        Refusal::new(
            "peer",
            format!(
                "this service does not know your certificate (fingerprint {presented}); ask its operator to add it as a [[peer]]"
            ),
        )
    })
}

/// Rule 2, program: the digest the peer sent is a program offered to it,
/// with the service in the other role, in the mode it runs.
pub(super) fn choose_program<'o>(
    programs: &'o [Offered],
    peer: &Named,
    hello: &PeerHello,
) -> Result<&'o Offered, Refusal> {
    let digest = hello.circuit_digest();
    let offered: Vec<&Offered> = programs.iter().filter(|o| o.rule.peers.contains(&peer.name)).collect();
    let Some(found) = offered.iter().find(|o| o.digest == digest) else {
        let list: Vec<String> =
            offered.iter().map(|o| format!("`{}` (digest {})", o.rule.name, short(&o.digest))).collect();
        let list = if list.is_empty() { "none".to_owned() } else { list.join(", ") };
        return Err(Refusal::new(
            "program",
            format!(
                "no program with circuit digest {} is offered to peer `{}` (offered to it: {list}); run exactly the approved file",
                short(&digest),
                peer.name
            ),
        ));
    };
    let o = *found;
    if hello.role() == o.rule.role {
        return Err(Refusal::new(
            "program",
            format!(
                "program `{}` runs with this service as {}: connect with --as {}",
                o.rule.name,
                o.rule.role,
                o.rule.role.peer()
            ),
        ));
    }
    if hello.security() != Some(SecurityMode::SemiHonestGarbler) {
        return Err(Refusal::new(
            "program",
            format!(
                "the service runs `{}` in semi-honest mode only: connect with --security semi-honest",
                o.rule.name
            ),
        ));
    }
    Ok(o)
}

/// Rule 3, approval: at least `approvals` distinct configured approvers
/// signed this program's name, digest and output rules. Read from disk on
/// every call, so a withdrawn approval stops counting at once.
pub(super) fn check_approvals(o: &Offered, approvers: &[Named]) -> Result<(), Refusal> {
    if o.rule.approvals == 0 {
        return Ok(());
    }
    let list: Vec<(String, Fingerprint)> =
        approvers.iter().map(|a| (a.name.clone(), a.fingerprint)).collect();
    let standing = approve::standing(&o.rule.path, &o.rule.name, &o.loaded, &list);
    if standing.valid.len() >= o.rule.approvals {
        return Ok(());
    }
    Err(Refusal::new(
        "approval",
        format!("program `{}` lacks approvals: {}", o.rule.name, standing.describe(o.rule.approvals)),
    ))
}

/// Why `loaded` may not run under `rule.min_cohort`, or `None` if it may:
/// every output the peer learns (the service's role's peer; `both`
/// included) must be a compiled program's result guarded by
/// `cohort(count, K, value)` with `K >= min_cohort` (`Program::cohort`).
/// A program whose outputs go only to the service needs no guard.
pub(super) fn cohort_problem(rule: &ProgramRule, loaded: &Loaded) -> Option<String> {
    let least = rule.min_cohort?;
    let peer = rule.role.peer();
    let to_peer: Vec<String> = loaded
        .circuit
        .outputs()
        .iter()
        .filter(|o| o.visibility.reveals_to(peer))
        .map(|o| format!("`{}`", o.name))
        .collect();
    if to_peer.is_empty() {
        return None;
    }
    let name = &rule.name;
    if loaded.program.is_none() {
        return Some(format!(
            "program `{name}` is a Bristol circuit, which carries no cohort guard, and reveals {} to the {peer}: min_cohort = {least} needs a program in the garblet language whose result is released with `cohort(count, K, value)`",
            to_peer.join(", ")
        ));
    }
    match loaded.cohort() {
        None => Some(format!(
            "program `{name}` reveals its result to the {peer} without a cohort guard on every bit, but min_cohort = {least}: release the result with `cohort(count, K, value)`, K >= {least}, as the last step (docs/LANGUAGE.md)"
        )),
        Some(k) if k < u128::from(least) => Some(format!(
            "program `{name}` releases its result when count >= {k}, below min_cohort = {least}: raise the guard's K to at least {least}"
        )),
        Some(_) => None,
    }
}

/// Rule 4, cohort: [`cohort_problem`] as a refusal. Programs are loaded
/// once, at start, where this same check stops the service, so it cannot
/// fail here for a service that started; it is applied to the matched
/// program anyway, so that the run-time path holds the rule by itself.
pub(super) fn check_cohort(o: &Offered) -> Result<(), Refusal> {
    match cohort_problem(&o.rule, &o.loaded) {
        None => Ok(()),
        Some(reason) => Err(Refusal::new("cohort", reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use garblet::circuits::Party;
    use std::time::Duration;

    fn rule(role: Party, min_cohort: Option<u64>) -> ProgramRule {
        ProgramRule {
            name: "accuracy".into(),
            path: "m.gbl".into(),
            role,
            inputs: None,
            input_files: Vec::new(),
            consts: Vec::new(),
            peers: vec!["vendor".into()],
            max_runs: 1,
            window: Duration::from_secs(60),
            window_text: "1m".into(),
            approvals: 0,
            min_cohort,
            line: 9,
        }
    }

    fn program(body: &str, reveal: &str) -> Loaded {
        let src = format!("{reveal}\nfn main(#[garbler] v: u32, #[evaluator] n: u32) -> u32 {{ {body} }}");
        Loaded::compile(&src, "m.gbl", &[]).unwrap()
    }

    #[test]
    fn min_cohort_admits_exactly_the_results_guarded_well_enough_for_the_peer() {
        let service = Party::Evaluator;
        let guarded = program("cohort(n, 50, v)", "");
        assert_eq!(cohort_problem(&rule(service, None), &program("v", "")), None, "no min_cohort");
        assert_eq!(cohort_problem(&rule(service, Some(50)), &guarded), None);
        assert_eq!(cohort_problem(&rule(service, Some(20)), &guarded), None);
        let below = cohort_problem(&rule(service, Some(51)), &guarded).unwrap();
        assert!(below.contains("when count >= 50, below min_cohort = 51"), "{below}");
        let escapes = cohort_problem(&rule(service, Some(5)), &program("cohort(n, 50, v) + v", "")).unwrap();
        assert!(escapes.contains("without a cohort guard on every bit"), "{escapes}");
        // Revealed to the service only: nothing reaches the peer.
        let private = program("v", "#[reveal(evaluator)]");
        assert_eq!(cohort_problem(&rule(service, Some(5)), &private), None);
        // ... unless the service is the other party.
        assert!(cohort_problem(&rule(Party::Garbler, Some(5)), &private).is_some());
        // A circuit without the compiled program (a Bristol file) carries
        // no rule, even where its gates are those of a guarded program.
        let mut bristol = guarded.duplicate();
        bristol.program = None;
        let bare = cohort_problem(&rule(service, Some(5)), &bristol).unwrap();
        assert!(bare.contains("is a Bristol circuit, which carries no cohort guard"), "{bare}");
    }
}
