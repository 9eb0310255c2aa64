//! A party that reads the peer's hello before it speaks: a service that
//! serves several peers and programs, and decides per connection which
//! program to run — or refuses.
//!
//! The connecting party does nothing new: it sends its hello and reads the
//! answer, as in every run. The responder reads that hello first
//! ([`SessionConfig::read_peer_hello`]), looks at what it names (the
//! circuit digest, the peer's role, the security mode), and answers either
//! with its own hello and the rest of the session
//! ([`SessionConfig::run_responding`]) or with a refusal frame
//! ([`refuse`](super::refuse)) that the peer returns as
//! [`SessionError::RefusedByService`]. Nothing of the responder's inputs
//! is touched before it answers with its hello.
//!
//! Direct runs, where both parties send their hello at once, are
//! unchanged byte for byte: the connector cannot tell whether the other
//! side read its hello before or after sending its own.

use super::config::{Phase, SecurityMode, SessionConfig};
use super::error::SessionError;
use super::hello::{self, Hello};
use super::inputs::PartyInputs;
use super::program::SessionProgram;
use super::SessionOutcome;
use crate::channel::Channel;
use garblet_circuits::Party;
use std::io::{Read, Write};

/// The hello a connecting peer sent, read before answering. What a service
/// decides on: the program (by digest), the peer's role, the mode.
#[derive(Clone, Debug)]
pub struct PeerHello {
    hello: Hello,
}

impl PeerHello {
    /// The blake3 digest of the circuit the peer wants to run.
    pub fn circuit_digest(&self) -> [u8; 32] {
        self.hello.digest
    }

    /// The role the peer takes (the responder must take the other).
    pub fn role(&self) -> Party {
        self.hello.role
    }

    /// The garbling scheme the peer asks for (`None` for one this build
    /// does not know). A service may answer in it: both schemes are
    /// secure under the same assumptions; they differ in bytes and CPU.
    pub fn scheme(&self) -> Option<super::config::SchemeChoice> {
        super::config::SchemeChoice::from_byte(self.hello.scheme)
    }

    /// The OT extension the peer asks for (`None` for one this build does
    /// not know).
    pub fn ot(&self) -> Option<super::config::OtChoice> {
        super::config::OtChoice::from_byte(self.hello.ot)
    }

    /// The security mode the peer asks for (`None` for one this build
    /// does not know).
    pub fn security(&self) -> Option<SecurityMode> {
        SecurityMode::from_byte(self.hello.security)
    }
}

impl SessionConfig {
    /// Reads the connecting peer's hello, first thing on `ch` (the
    /// transcript starts here). Bounded like every hello (1 MiB); a peer
    /// that is not garblet, or sends a hello that does not parse, is an
    /// error. Then answer with [`SessionConfig::run_responding`] or
    /// [`refuse`](super::refuse).
    pub fn read_peer_hello<T: Read + Write>(&self, ch: &mut Channel<T>) -> Result<PeerHello, SessionError> {
        self.enter(Phase::Hello, ch);
        ch.start_transcript();
        Ok(PeerHello { hello: hello::read(ch)? })
    }

    /// Runs this party's side of a `semi-honest` session whose peer hello
    /// was read with [`SessionConfig::read_peer_hello`]: our hello goes
    /// out in answer, the two are compared as in every run (a difference
    /// stops both sides, named), and the session goes on as
    /// [`SessionConfig::run`]'s.
    pub fn run_responding<T: Read + Write>(
        &self,
        role: Party,
        ch: &mut Channel<T>,
        peer: PeerHello,
        program: &SessionProgram<'_>,
        inputs: &PartyInputs,
    ) -> Result<SessionOutcome, SessionError> {
        self.run_semi_honest(role, ch, program, inputs, Some(&mut |n| self.report(n)), Some(peer.hello))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::memory_pair;
    use crate::session::refuse;
    use garblet_circuits::{Builder, Sign, Visibility};

    fn millionaires() -> garblet_circuits::Circuit {
        let mut b = Builder::new();
        let x = b.input("alice", Party::Garbler, 16).unwrap();
        let y = b.input("bob", Party::Evaluator, 16).unwrap();
        let gt = b.gt(&x, &y, Sign::Unsigned);
        b.output("richer", Visibility::Both, vec![gt]).unwrap();
        b.finish().unwrap()
    }

    fn bits(v: u64, w: usize) -> Vec<bool> {
        (0..w).map(|i| v >> i & 1 == 1).collect()
    }

    #[test]
    fn a_responder_reads_first_then_runs_in_either_role() {
        let c = millionaires();
        for responder in [Party::Garbler, Party::Evaluator] {
            let (a, b) = memory_pair();
            let c2 = c.clone();
            let connector = std::thread::spawn(move || {
                let p = SessionProgram::from_circuit(&c2).unwrap();
                let role = responder.peer();
                let name = if role == Party::Garbler { "alice" } else { "bob" };
                let inputs = PartyInputs::new([(
                    name.to_owned(),
                    bits(if role == Party::Garbler { 9 } else { 4 }, 16),
                )]);
                SessionConfig::new().run(role, &mut Channel::new(a), &p, &inputs)
            });
            let mut ch = Channel::new(b);
            let config = SessionConfig::new();
            let peer = config.read_peer_hello(&mut ch).unwrap();
            let p = SessionProgram::from_circuit(&c).unwrap();
            assert_eq!(peer.circuit_digest(), p.digest());
            assert_eq!(peer.role(), responder.peer());
            assert_eq!(peer.security(), Some(SecurityMode::SemiHonestGarbler));
            let name = if responder == Party::Garbler { "alice" } else { "bob" };
            let own = if responder == Party::Garbler { 9 } else { 4 };
            let inputs = PartyInputs::new([(name.to_owned(), bits(own, 16))]);
            let ours = config.run_responding(responder, &mut ch, peer, &p, &inputs).unwrap();
            let theirs = connector.join().unwrap().unwrap();
            assert_eq!(ours.outputs, vec![("richer".to_owned(), vec![true])]);
            assert_eq!(theirs.outputs, ours.outputs);
        }
    }

    #[test]
    fn a_refused_connector_gets_the_rule_and_the_reason() {
        let c = millionaires();
        let (a, b) = memory_pair();
        let connector = std::thread::spawn(move || {
            let p = SessionProgram::from_circuit(&c).unwrap();
            let inputs = PartyInputs::new([("bob".to_owned(), bits(4, 16))]);
            SessionConfig::new().run(Party::Evaluator, &mut Channel::new(a), &p, &inputs)
        });
        let mut ch = Channel::new(b);
        SessionConfig::new().read_peer_hello(&mut ch).unwrap();
        refuse(&mut ch, "budget", "budget of 3 runs per 24h is used up").unwrap();
        drop(ch);
        match connector.join().unwrap() {
            Err(SessionError::RefusedByService { rule, reason }) => {
                assert_eq!(rule, "budget");
                assert_eq!(reason, "budget of 3 runs per 24h is used up");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
