//! The refusal frame: what a party that answers hellos (a service, see
//! [`SessionConfig::read_peer_hello`](super::SessionConfig::read_peer_hello))
//! sends *instead of* its own hello when it will not run with this peer.
//! It is message 1r of `docs/PROTOCOL.md`.
//!
//! It travels where the peer expects a hello: the same `u64` length, then
//! [`REFUSAL_MAGIC`] where a hello has `"garblet\0"`, a rule name (`u8`
//! length, 1 to 32 bytes of `[a-z0-9_-]`) and a reason (`u16` length, at
//! most [`MAX_REASON_BYTES`] of UTF-8). The reader checks every length
//! before it reads, rejects anything else as a malformed refusal, and
//! escapes the reason before anyone displays it: the text comes from the
//! peer.

use super::error::{escape, SessionError};
use crate::channel::Channel;
use std::io::{Read, Write};

/// What a refusal frame has where a hello has `"garblet\0"`.
pub(crate) const REFUSAL_MAGIC: &[u8; 8] = b"gblrefus";
/// The longest reason a refusal carries, in bytes (longer ones are cut at
/// a character boundary when sent, rejected when read).
pub const MAX_REASON_BYTES: usize = 1024;
const MAX_RULE_BYTES: usize = 32;
/// The largest refusal frame, after its length.
pub(crate) const MAX_REFUSAL_BYTES: usize = 8 + 1 + MAX_RULE_BYTES + 2 + MAX_REASON_BYTES;

/// Whether `rule` is a rule name a refusal may carry.
fn valid_rule(rule: &[u8]) -> bool {
    (1..=MAX_RULE_BYTES).contains(&rule.len())
        && rule.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The frame's body (after the `u64` length).
pub(crate) fn encode(rule: &str, reason: &str) -> Result<Vec<u8>, SessionError> {
    if !valid_rule(rule.as_bytes()) {
        return Err(SessionError::Config("a refusal's rule is 1 to 32 characters of [a-z0-9_-]"));
    }
    let reason = cut(reason, MAX_REASON_BYTES);
    let mut out = Vec::with_capacity(8 + 3 + rule.len() + reason.len());
    out.extend_from_slice(REFUSAL_MAGIC);
    out.push(rule.len() as u8);
    out.extend_from_slice(rule.as_bytes());
    out.extend_from_slice(&(reason.len() as u16).to_le_bytes());
    out.extend_from_slice(reason.as_bytes());
    Ok(out)
}

/// Reads a frame's body (starting with [`REFUSAL_MAGIC`]) into the error
/// the refused party returns.
pub(crate) fn decode(bytes: &[u8]) -> SessionError {
    let malformed = SessionError::MalformedHello("refusal frame");
    if bytes.len() > MAX_REFUSAL_BYTES {
        return malformed;
    }
    let Some(rest) = bytes.strip_prefix(REFUSAL_MAGIC.as_slice()) else { return malformed };
    let Some((&rule_len, rest)) = rest.split_first() else { return malformed };
    let rule_len = usize::from(rule_len);
    if rest.len() < rule_len + 2 || !valid_rule(&rest[..rule_len]) {
        return malformed;
    }
    let (rule, rest) = rest.split_at(rule_len);
    let reason_len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
    let reason = &rest[2..];
    if reason_len > MAX_REASON_BYTES || reason.len() != reason_len {
        return malformed;
    }
    SessionError::RefusedByService {
        rule: String::from_utf8_lossy(rule).into_owned(),
        reason: escape(&String::from_utf8_lossy(reason)),
    }
}

/// Fuzz entry point (`fuzz/fuzz_targets/refusal.rs`): any bytes where a
/// refusal frame's body is expected decode to a typed error whose message
/// displays, never a panic; a frame that decodes re-encodes to a frame that
/// decodes the same.
pub fn fuzz_refusal(bytes: &[u8]) {
    let e = decode(bytes);
    let _ = e.to_string();
    if let SessionError::RefusedByService { rule, reason } = &e {
        if let Ok(again) = encode(rule, reason) {
            assert!(matches!(decode(&again), SessionError::RefusedByService { .. }));
        }
    }
}

/// Sends a refusal frame instead of our hello (`rule`: 1 to 32 characters
/// of `[a-z0-9_-]`; `reason`: cut to [`MAX_REASON_BYTES`]), then reads
/// until the peer closes — at most 64 KiB, each read bounded by
/// the transport's timeout — so that closing does not reset the connection
/// before the frame is read (a peer may have sent the base OTs' first
/// message after its hello).
pub fn refuse<T: Read + Write>(ch: &mut Channel<T>, rule: &str, reason: &str) -> Result<(), SessionError> {
    let body = encode(rule, reason)?;
    ch.send_u64(body.len() as u64)?;
    ch.send_bytes(&body)?;
    ch.flush()?;
    let mut sink = [0u8; 1];
    for _ in 0..DRAIN_BYTES {
        if ch.recv_bytes(&mut sink).is_err() {
            break;
        }
    }
    Ok(())
}

/// The most a refusing party reads, waiting for the refused peer to close.
const DRAIN_BYTES: usize = 64 << 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_round_trip_escaped_and_bounded() {
        let frame = encode("budget", "used up\x1b[2J").unwrap();
        match decode(&frame) {
            SessionError::RefusedByService { rule, reason } => {
                assert_eq!(rule, "budget");
                assert_eq!(reason, "used up\\u{1b}[2J", "control characters are escaped");
            }
            other => panic!("{other:?}"),
        }
        let long = "é".repeat(MAX_REASON_BYTES);
        let frame = encode("x", &long).unwrap();
        assert!(frame.len() <= MAX_REFUSAL_BYTES);
        assert!(matches!(decode(&frame), SessionError::RefusedByService { .. }));
        assert!(encode("Budget!", "x").is_err());
        assert!(encode("", "x").is_err());
    }

    #[test]
    fn damaged_refusals_are_malformed_never_a_panic() {
        let frame = encode("peer", "not a configured peer").unwrap();
        for cut in 0..frame.len() {
            assert!(matches!(decode(&frame[..cut]), SessionError::MalformedHello(_)), "cut at {cut}");
        }
        let mut long = frame.clone();
        long.push(b'x');
        assert!(matches!(decode(&long), SessionError::MalformedHello(_)));
        let mut bad_rule = frame;
        bad_rule[9] = b'P';
        assert!(matches!(decode(&bad_rule), SessionError::MalformedHello(_)));
    }
}
