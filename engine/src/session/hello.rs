//! The hello: the first message, both ways at once. It names everything
//! both sides must agree on before any input is used — protocol version,
//! role, garbling scheme, security mode, OT extension, the program's digest
//! and shapes — and binds a dual-execution run's second connection to its
//! first.
//!
//! The codec reads hostile bytes: every read is bounds-checked, the whole
//! message is at most [`MAX_HELLO_BYTES`], and [`fuzz_hello`] is the entry
//! point for fuzzing it.

use super::config::{SecurityMode, SessionConfig};
use super::error::{ProgramMismatch, SessionError};
use super::program::{InputDesc, OutputDesc, SessionProgram};
use super::refusal::{self, REFUSAL_MAGIC};
use crate::channel::{Channel, ChannelError};
use crate::prg::Prg;
use garblet_circuits::{Party, Visibility};
use std::io::{Read, Write};

/// This implementation's protocol version (2: security mode, OT choice and
/// session binding in the hello; 3: transcript hashes with the output
/// labels and the final acknowledgement; 4: two round trips — the base
/// OTs' first message in the hello's flight, the garbler's transcript hash
/// in the tables' flight, no final acknowledgement — and three-halves
/// garbling, scheme byte 2, the default; 5: SoftSpokenOT, OT byte 2, the
/// default extension; 6: the garbler's outputs come back as one colour bit
/// each and a hash of their labels, not the labels; 7: the OT extension's
/// consistency check is non-interactive — its challenge is a hash of the
/// evaluator's OT messages bound to the session id, not a seed from the
/// garbler — one round trip fewer with 128 or more evaluator input bits;
/// 8: below the extension threshold the evaluator's bits go through
/// Masny–Rindal OTs, whose receiver (the evaluator) speaks first, in the
/// flight of its hello — half a round trip fewer when the evaluator
/// connects; 9: in looped programs, AND gates that read an unwritten input
/// wire of the garbling party's are generator half gates, 16 bytes each).
pub const PROTOCOL_VERSION: u32 = 9;
/// The garbling scheme in the hello: 1 = half-gates (Zahur–Rosulek–Evans).
pub const SCHEME_HALF_GATES: u8 = 1;
/// The garbling scheme in the hello: 2 = three-halves (Rosulek–Roy).
pub const SCHEME_THREE_HALVES: u8 = 2;
const MAGIC: &[u8; 8] = b"garblet\0";
/// The largest hello accepted from a peer.
pub(super) const MAX_HELLO_BYTES: u64 = 1 << 20;
/// The most inputs, and the most outputs, a hello lists (an encoder lists
/// the first ones; a decoder refuses more).
const MAX_NAMES: usize = 1 << 12;

/// Which connection of a run a hello opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    /// The only connection (semi-honest), or the first of dual execution:
    /// roles as chosen.
    Primary,
    /// Dual execution's second connection: roles swapped.
    Secondary,
}

/// A hello, as sent or as read from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hello {
    pub(crate) version: u32,
    pub(crate) role: Party,
    pub(crate) scheme: u8,
    pub(crate) security: u8,
    pub(crate) ot: u8,
    pub(crate) ot_threshold: u32,
    pub(crate) link: u8,
    /// Fresh per run on the primary link; the session identifier derived
    /// from both primary nonces on the secondary link.
    pub(crate) nonce: [u8; 32],
    pub(crate) digest: [u8; 32],
    pub(crate) and_count: u64,
    pub(crate) inputs: Vec<InputDesc>,
    pub(crate) outputs: Vec<OutputDesc>,
}

fn party_byte(p: Party) -> u8 {
    match p {
        Party::Garbler => 0,
        Party::Evaluator => 1,
    }
}

fn visibility_byte(v: Visibility) -> u8 {
    match v {
        Visibility::Garbler => 0,
        Visibility::Evaluator => 1,
        Visibility::Both => 2,
    }
}

fn party_of(b: u8) -> Option<Party> {
    match b {
        0 => Some(Party::Garbler),
        1 => Some(Party::Evaluator),
        _ => None,
    }
}

fn visibility_of(b: u8) -> Option<Visibility> {
    match b {
        0 => Some(Visibility::Garbler),
        1 => Some(Visibility::Evaluator),
        2 => Some(Visibility::Both),
        _ => None,
    }
}

/// Reads the hello's fields; every read is bounds-checked.
struct HelloReader<'a>(&'a [u8]);

impl<'a> HelloReader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SessionError> {
        if self.0.len() < n {
            return Err(SessionError::MalformedHello(what));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], SessionError> {
        self.take(N, what)?.try_into().map_err(|_| SessionError::MalformedHello(what))
    }
    fn byte(&mut self, what: &'static str) -> Result<u8, SessionError> {
        Ok(self.take(1, what)?[0])
    }
    /// A `u16` count of `(name, tag, width)` entries.
    fn entries<T>(
        &mut self,
        what: &'static str,
        tag: fn(u8) -> Option<T>,
    ) -> Result<Vec<(String, T, u32)>, SessionError> {
        // (name, owner or visibility, width); the callers name the fields.
        // No more than an encoder writes, so that what a hello decodes to
        // stays within a few times its size.
        let n = u16::from_le_bytes(self.array("count")?);
        if usize::from(n) > MAX_NAMES {
            return Err(SessionError::MalformedHello("count"));
        }
        let mut out = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let len = self.byte("name length")? as usize;
            let name = String::from_utf8_lossy(self.take(len, "name")?).into_owned();
            let t = tag(self.byte(what)?).ok_or(SessionError::MalformedHello(what))?;
            let width = u32::from_le_bytes(self.array("width")?);
            out.push((name, t, width));
        }
        Ok(out)
    }
}

impl Hello {
    pub(crate) fn new(
        program: &SessionProgram<'_>,
        role: Party,
        config: &SessionConfig,
        link: Link,
        nonce: [u8; 32],
    ) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            role,
            scheme: config.scheme.to_byte(),
            security: config.security.to_byte(),
            ot: config.ot.to_byte(),
            ot_threshold: u32::try_from(config.ot_extension_threshold).unwrap_or(u32::MAX),
            link: match link {
                Link::Primary => 0,
                Link::Secondary => 1,
            },
            nonce,
            digest: program.digest(),
            and_count: program.and_count(),
            inputs: program.inputs().to_vec(),
            outputs: program.outputs().to_vec(),
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(192);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.push(party_byte(self.role));
        out.push(self.scheme);
        out.push(self.security);
        out.push(self.ot);
        out.extend_from_slice(&self.ot_threshold.to_le_bytes());
        out.push(self.link);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.and_count.to_le_bytes());
        let name = |out: &mut Vec<u8>, n: &str| {
            let n = &n.as_bytes()[..n.len().min(255)];
            out.push(n.len() as u8);
            out.extend_from_slice(n);
        };
        out.extend_from_slice(&(self.inputs.len().min(MAX_NAMES) as u16).to_le_bytes());
        for i in self.inputs.iter().take(MAX_NAMES) {
            name(&mut out, &i.name);
            out.push(party_byte(i.owner));
            out.extend_from_slice(&i.width.to_le_bytes());
        }
        out.extend_from_slice(&(self.outputs.len().min(MAX_NAMES) as u16).to_le_bytes());
        for o in self.outputs.iter().take(MAX_NAMES) {
            name(&mut out, &o.name);
            out.push(visibility_byte(o.to));
            out.extend_from_slice(&o.width.to_le_bytes());
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Hello, SessionError> {
        let mut r = HelloReader(bytes);
        if r.take(8, "magic")? != MAGIC {
            return Err(SessionError::NotGarblet);
        }
        let version = u32::from_le_bytes(r.array("version")?);
        if version != PROTOCOL_VERSION {
            // Another version's hello may be laid out differently: compare
            // the version alone.
            return Err(ProgramMismatch::Version { ours: PROTOCOL_VERSION, theirs: version }.into());
        }
        let role = party_of(r.byte("role")?).ok_or(SessionError::MalformedHello("role"))?;
        let scheme = r.byte("scheme")?;
        let security = r.byte("security mode")?;
        let ot = r.byte("OT extension")?;
        let ot_threshold = u32::from_le_bytes(r.array("OT threshold")?);
        let link = r.byte("link")?;
        let nonce = r.array("nonce")?;
        let digest = r.array("digest")?;
        let and_count = u64::from_le_bytes(r.array("AND count")?);
        let inputs = r
            .entries("input owner", party_of)?
            .into_iter()
            .map(|(name, owner, width)| InputDesc { name, owner, width })
            .collect();
        let outputs = r
            .entries("visibility", visibility_of)?
            .into_iter()
            .map(|(name, to, width)| OutputDesc { name, to, width })
            .collect();
        if !r.0.is_empty() {
            return Err(SessionError::MalformedHello("trailing bytes"));
        }
        Ok(Hello {
            version,
            role,
            scheme,
            security,
            ot,
            ot_threshold,
            link,
            nonce,
            digest,
            and_count,
            inputs,
            outputs,
        })
    }

    /// Names the first difference between our hello and the peer's.
    pub(crate) fn compare(&self, peer: &Hello) -> Result<(), ProgramMismatch> {
        if peer.version != self.version {
            return Err(ProgramMismatch::Version { ours: self.version, theirs: peer.version });
        }
        if peer.role == self.role {
            return Err(ProgramMismatch::SameRole(self.role));
        }
        if peer.security != self.security {
            let name = |b: u8| {
                SecurityMode::from_byte(b).map_or_else(|| format!("unknown mode {b}"), |m| m.to_string())
            };
            let ours = SecurityMode::from_byte(self.security).map_or("unknown", SecurityMode::as_str);
            return Err(ProgramMismatch::Security { ours, theirs: name(peer.security) });
        }
        if peer.scheme != self.scheme {
            return Err(ProgramMismatch::Scheme { ours: self.scheme, theirs: peer.scheme });
        }
        if peer.ot != self.ot || peer.ot_threshold != self.ot_threshold {
            return Err(ProgramMismatch::Ot { ours: self.ot, theirs: peer.ot });
        }
        if peer.link != self.link || (self.link == 1 && peer.nonce != self.nonce) {
            return Err(ProgramMismatch::SessionBinding);
        }
        if peer.digest == self.digest && peer.inputs == self.inputs && peer.outputs == self.outputs {
            return Ok(());
        }
        for k in 0..self.inputs.len().max(peer.inputs.len()) {
            let (ours, theirs) = (self.inputs.get(k), peer.inputs.get(k));
            if ours != theirs {
                return Err(ProgramMismatch::Input { ours: ours.cloned(), theirs: theirs.cloned() });
            }
        }
        for k in 0..self.outputs.len().max(peer.outputs.len()) {
            let (ours, theirs) = (self.outputs.get(k), peer.outputs.get(k));
            if ours != theirs {
                return Err(ProgramMismatch::Output { ours: ours.cloned(), theirs: theirs.cloned() });
            }
        }
        Err(ProgramMismatch::Digest {
            ours: self.digest,
            theirs: peer.digest,
            ours_ands: self.and_count,
            theirs_ands: peer.and_count,
        })
    }
}

/// A fresh nonce for a primary hello.
pub(crate) fn fresh_nonce(prg: &mut Prg) -> [u8; 32] {
    let mut n = [0u8; 32];
    n[..16].copy_from_slice(&prg.random_block().to_bytes());
    n[16..].copy_from_slice(&prg.random_block().to_bytes());
    n
}

/// The session identifier of a run: both primary nonces, the garbler's
/// first. It binds dual execution's second connection and equality check,
/// and the label hash of a `semi-honest` run's returned outputs
/// (`returned_outputs.rs`); the derivation's context string predates the
/// second use.
pub(crate) fn session_id(ours: &Hello, peer: &Hello) -> [u8; 32] {
    let (g, e) = if ours.role == Party::Garbler { (ours, peer) } else { (peer, ours) };
    let mut h = blake3::Hasher::new_derive_key("garblet dual-execution session id v1");
    h.update(&g.nonce);
    h.update(&e.nonce);
    *h.finalize().as_bytes()
}

/// Sends our hello, reads the peer's, and compares them. Returns the peer's.
pub(crate) fn exchange<T: Read + Write>(ch: &mut Channel<T>, ours: &Hello) -> Result<Hello, SessionError> {
    send(ch, ours)?;
    let peer = read(ch)?;
    ours.compare(&peer)?;
    Ok(peer)
}

/// Sends our hello.
pub(crate) fn send<T: Read + Write>(ch: &mut Channel<T>, ours: &Hello) -> Result<(), SessionError> {
    write(ch, ours)?;
    ch.flush()?;
    Ok(())
}

/// Writes our hello into the channel's buffer, for a caller that sends more
/// in the same flight and flushes.
pub(crate) fn write<T: Read + Write>(ch: &mut Channel<T>, ours: &Hello) -> Result<(), SessionError> {
    let bytes = ours.encode();
    ch.send_u64(bytes.len() as u64)?;
    ch.send_bytes(&bytes)?;
    Ok(())
}

/// Reads the peer's hello (or its refusal frame, which becomes
/// [`SessionError::RefusedByService`]) without comparing it.
pub(crate) fn read<T: Read + Write>(ch: &mut Channel<T>) -> Result<Hello, SessionError> {
    // A peer that is not garblet (or garbage on the socket) shows up here:
    // the length or the magic is wrong.
    let mut first = [0u8; 8];
    let got = ch.recv_bytes(&mut first);
    // A TLS record (handshake 0x16 or alert 0x15, version 3.x), whole or
    // cut short: the peer secures its side and we do not.
    let received = match &got {
        Ok(()) => first.len(),
        Err(ChannelError::Truncated { received, .. }) => *received,
        Err(_) => 0,
    };
    if received >= 2 && matches!(first, [0x15 | 0x16, 0x03, ..]) {
        return Err(SessionError::PeerSpeaksTls);
    }
    got.map_err(|e| match e {
        // Some bytes, then the end: not a garblet peer. No bytes at all:
        // the peer closed the connection.
        ChannelError::Truncated { received, .. } if received > 0 => SessionError::NotGarblet,
        other => SessionError::Channel(other),
    })?;
    let len = u64::from_le_bytes(first);
    if len > MAX_HELLO_BYTES || len < MAGIC.len() as u64 {
        return Err(SessionError::NotGarblet);
    }
    let mut peer = vec![0u8; len as usize];
    ch.recv_bytes(&mut peer)?;
    if peer.starts_with(REFUSAL_MAGIC) {
        return Err(refusal::decode(&peer));
    }
    Hello::decode(&peer)
}

/// Fuzzing entry point: decodes `bytes` as a peer's hello and, if it
/// parses, compares it with a fixed one. Must never panic, whatever the
/// bytes.
pub fn fuzz_hello(bytes: &[u8]) {
    if let Ok(peer) = Hello::decode(bytes) {
        let mut ours = peer.clone();
        ours.role = ours.role.peer();
        let _ = ours.compare(&peer).map_err(|e| e.to_string());
        let _ = Hello::decode(&peer.encode());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use garblet_circuits::{Builder, Sign};

    fn hello() -> Hello {
        let mut b = Builder::new();
        let x = b.input("alice", Party::Garbler, 64).unwrap();
        let y = b.input("bob", Party::Evaluator, 64).unwrap();
        let gt = b.gt(&x, &y, Sign::Unsigned);
        b.output("richer", Visibility::Both, vec![gt]).unwrap();
        let c = b.finish().unwrap();
        let program = SessionProgram::from_circuit(&c).unwrap();
        Hello::new(&program, Party::Garbler, &SessionConfig::new(), Link::Primary, [7; 32])
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { failure_persistence: None, ..Default::default() })]
        /// Any bytes, and any damage to a real hello, decode or fail cleanly.
        #[test]
        fn hostile_hellos_never_panic(junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), at in 0usize..200, byte in proptest::prelude::any::<u8>()) {
            fuzz_hello(&junk);
            let mut bytes = hello().encode();
            let at = at % bytes.len();
            bytes[at] = byte;
            fuzz_hello(&bytes);
        }
    }

    /// A hello that lists more inputs than an encoder writes is malformed,
    /// so that a 1 MiB hello of short entries (up to 2 × 65,535 of them)
    /// cannot make the decoder build megabytes of entries.
    #[test]
    fn a_hello_listing_more_than_4096_inputs_is_malformed() {
        let mut h = hello();
        let one = h.inputs[0].clone();
        h.inputs = vec![one.clone(); MAX_NAMES];
        let bytes = h.encode();
        assert_eq!(Hello::decode(&bytes).unwrap().inputs.len(), MAX_NAMES);
        // The count raised by one and one more entry written after it.
        let entry = 1 + one.name.len() + 1 + 4;
        let outputs: usize = 2 + h.outputs.iter().map(|o| 1 + o.name.len() + 1 + 4).sum::<usize>();
        let count_at = bytes.len() - outputs - MAX_NAMES * entry - 2;
        assert_eq!(bytes[count_at..count_at + 2], (MAX_NAMES as u16).to_le_bytes());
        let mut more = bytes[..count_at].to_vec();
        more.extend_from_slice(&(MAX_NAMES as u16 + 1).to_le_bytes());
        more.extend_from_slice(&bytes[count_at + 2..count_at + 2 + entry]);
        more.extend_from_slice(&bytes[count_at + 2..]);
        assert!(matches!(Hello::decode(&more), Err(SessionError::MalformedHello("count"))));
    }

    /// Dual execution's second connection carries the session identifier
    /// in its nonce: a second-link hello with another identifier (a
    /// connection of another session, or a replay) and a primary hello on
    /// the second link are refused as not bound to this session.
    #[test]
    fn a_second_connection_of_another_session_is_refused() {
        let mut ours = hello();
        ours.link = 1;
        ours.nonce = [9; 32];
        let mut peer = ours.clone();
        peer.role = Party::Evaluator;
        assert_eq!(ours.compare(&peer), Ok(()));
        let mut other = peer.clone();
        other.nonce[31] ^= 1;
        assert_eq!(ours.compare(&other), Err(ProgramMismatch::SessionBinding));
        let mut primary = peer;
        primary.link = 0;
        assert_eq!(ours.compare(&primary), Err(ProgramMismatch::SessionBinding));
        // On the primary link the nonces are fresh on each side and differ.
        let (mut a, mut b) = (hello(), hello());
        b.role = Party::Evaluator;
        (a.nonce, b.nonce) = ([1; 32], [2; 32]);
        assert_eq!(a.compare(&b), Ok(()));
    }

    #[test]
    fn hello_round_trips_and_rejects_truncation() {
        let h = hello();
        let bytes = h.encode();
        assert_eq!(Hello::decode(&bytes).unwrap(), h);
        for cut in 0..bytes.len() {
            assert!(Hello::decode(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn a_different_security_mode_is_named() {
        let ours = hello();
        let mut peer = ours.clone();
        peer.role = Party::Evaluator;
        assert_eq!(ours.compare(&peer), Ok(()));
        peer.security = SecurityMode::DualExecution.to_byte();
        let err = ours.compare(&peer).unwrap_err();
        assert!(matches!(err, ProgramMismatch::Security { ours: "semi-honest", .. }), "{err:?}");
        assert!(err.to_string().contains("`dualex` at the peer"), "{err}");
        peer.security = 77;
        assert!(ours.compare(&peer).unwrap_err().to_string().contains("unknown mode 77"));
    }
}
