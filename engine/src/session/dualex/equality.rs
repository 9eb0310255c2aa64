//! The equality check that ends dual execution. It validates the outputs
//! the way Huang–Katz–Evans ("Quid-Pro-Quo-tocols", IEEE S&P 2012) do —
//! each party compares, for every output wire, the label pair it holds
//! across the two garbled circuits — and realises the equality test as a
//! commit-then-open of a hash of those pairs (our choice; the argument is
//! below and in `docs/SECURITY.md`).
//!
//! After both executions, each party holds, for every output bit, one label
//! in each of the two garbled circuits: in the circuit it garbled, the label
//! of the value it decoded from the peer's circuit; in the circuit it
//! evaluated, the label evaluation gave it. Honest parties hold the same
//! pair. Each hashes its pairs, with the session identifier, to a 32-byte
//! value `h`. The primary garbler commits to `h_G` (`blake3` keyed
//! commitment with 32 random bytes), the primary evaluator answers with
//! `h_E` in the clear, the garbler opens. Each accepts iff `h_G = h_E`.
//!
//! Why it is sound: the labels of a circuit a party did not garble are
//! known to it only for the values its own evaluation produced, so it can
//! compute the honest party's `h` only if the honest party's output is the
//! true output; and the commitment stops the first mover from copying the
//! second's value. The verdict is the one bit a cheater learns.

use crate::block::Block;
use crate::channel::Channel;
use crate::prg::Prg;
use crate::session::error::SessionError;
use crate::session::wire::{expect_tag, TAG_CHECK, TAG_COMMIT, TAG_OPEN};
use garblet_circuits::Party;
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// The check value: the session identifier and every output bit's two
/// labels, the primary circuit's first.
pub(crate) fn check_value(
    session_id: &[u8; 32],
    primary: &[Block],
    secondary: &[Block],
) -> Zeroizing<[u8; 32]> {
    let mut h = blake3::Hasher::new_derive_key("garblet dual-execution equality check v1");
    h.update(session_id);
    h.update(&(primary.len() as u64).to_le_bytes());
    h.update(bytemuck::cast_slice(primary));
    h.update(bytemuck::cast_slice(secondary));
    Zeroizing::new(*h.finalize().as_bytes())
}

fn commitment(randomness: &[u8; 32], value: &[u8; 32]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("garblet dual-execution commitment v1");
    h.update(randomness);
    h.update(value);
    *h.finalize().as_bytes()
}

/// Compares without an early exit.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Runs the check on the primary channel; `role` is this party's role
/// there. `Ok(())` means the outputs may be released.
pub(crate) fn run<T: Read + Write>(
    ch: &mut Channel<T>,
    role: Party,
    prg: &mut Prg,
    ours: &[u8; 32],
) -> Result<(), SessionError> {
    match role {
        Party::Garbler => {
            let mut r = Zeroizing::new([0u8; 32]);
            r[..16].copy_from_slice(&prg.random_block().to_bytes());
            r[16..].copy_from_slice(&prg.random_block().to_bytes());
            ch.send_bytes(&[TAG_COMMIT])?;
            ch.send_bytes(&commitment(&r, ours))?;
            ch.flush()?;
            expect_tag(ch, TAG_CHECK, "the peer's equality-check value")?;
            let mut theirs = [0u8; 32];
            ch.recv_bytes(&mut theirs)?;
            // Open whatever the verdict, so that both sides conclude.
            ch.send_bytes(&[TAG_OPEN])?;
            ch.send_bytes(&r[..])?;
            ch.send_bytes(ours)?;
            ch.flush()?;
            if same(ours, &theirs) {
                Ok(())
            } else {
                Err(SessionError::EqualityCheckFailed)
            }
        }
        Party::Evaluator => {
            expect_tag(ch, TAG_COMMIT, "the peer's equality-check commitment")?;
            let mut c = [0u8; 32];
            ch.recv_bytes(&mut c)?;
            ch.send_bytes(&[TAG_CHECK])?;
            ch.send_bytes(ours)?;
            ch.flush()?;
            expect_tag(ch, TAG_OPEN, "the opening of the peer's commitment")?;
            let (mut r, mut theirs) = (Zeroizing::new([0u8; 32]), [0u8; 32]);
            ch.recv_bytes(&mut r[..])?;
            ch.recv_bytes(&mut theirs)?;
            if !same(&commitment(&r, &theirs), &c) {
                return Err(SessionError::BadCommitment);
            }
            if same(ours, &theirs) {
                Ok(())
            } else {
                Err(SessionError::EqualityCheckFailed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::memory_pair;

    fn value(b: u8) -> [u8; 32] {
        [b; 32]
    }

    /// Both sides honest: equal values pass on both sides, different values
    /// fail on both sides.
    #[test]
    fn honest_sides_agree_on_the_verdict() {
        for (g, e, ok) in [(value(1), value(1), true), (value(1), value(2), false)] {
            let (a, b) = memory_pair();
            let garbler = std::thread::spawn(move || {
                run(&mut Channel::new(a), Party::Garbler, &mut Prg::from_seed(Block::new(1)), &g)
            });
            let evaluator =
                run(&mut Channel::new(b), Party::Evaluator, &mut Prg::from_seed(Block::new(2)), &e);
            let garbler = garbler.join().unwrap();
            if ok {
                assert!(garbler.is_ok() && evaluator.is_ok(), "{garbler:?} {evaluator:?}");
            } else {
                assert!(matches!(garbler, Err(SessionError::EqualityCheckFailed)), "{garbler:?}");
                assert!(matches!(evaluator, Err(SessionError::EqualityCheckFailed)), "{evaluator:?}");
            }
        }
    }

    /// A cheating first mover: it commits to one value, sees the
    /// evaluator's, and opens its commitment to the evaluator's value (or
    /// sends a wrong opening, or the wrong tag). The evaluator refuses each
    /// (`BadCommitment`, or the unexpected message), never `Ok`.
    #[test]
    fn a_garbler_that_opens_its_commitment_to_another_value_is_caught() {
        #[derive(Clone, Copy, Debug)]
        enum Cheat {
            OpenToTheirs,
            OtherRandomness,
            WrongTag,
        }
        for cheat in [Cheat::OpenToTheirs, Cheat::OtherRandomness, Cheat::WrongTag] {
            let (a, b) = memory_pair();
            let garbler = std::thread::spawn(move || -> Result<(), SessionError> {
                let mut ch = Channel::new(a);
                let r = [7u8; 32];
                ch.send_bytes(&[TAG_COMMIT])?;
                ch.send_bytes(&commitment(&r, &value(1)))?;
                ch.flush()?;
                expect_tag(&mut ch, TAG_CHECK, "the check value")?;
                let mut theirs = [0u8; 32];
                ch.recv_bytes(&mut theirs)?;
                let (tag, opened_r, opened) = match cheat {
                    Cheat::OpenToTheirs => (TAG_OPEN, r, theirs),
                    Cheat::OtherRandomness => (TAG_OPEN, [8u8; 32], value(1)),
                    Cheat::WrongTag => (TAG_CHECK, r, value(1)),
                };
                ch.send_bytes(&[tag])?;
                ch.send_bytes(&opened_r)?;
                ch.send_bytes(&opened)?;
                ch.flush()?;
                Ok(())
            });
            let evaluator =
                run(&mut Channel::new(b), Party::Evaluator, &mut Prg::from_seed(Block::new(2)), &value(2));
            let _ = garbler.join().unwrap();
            match cheat {
                Cheat::OpenToTheirs | Cheat::OtherRandomness => {
                    assert!(matches!(evaluator, Err(SessionError::BadCommitment)), "{cheat:?}: {evaluator:?}")
                }
                Cheat::WrongTag => assert!(
                    matches!(evaluator, Err(SessionError::UnexpectedMessage { .. })),
                    "{cheat:?}: {evaluator:?}"
                ),
            }
        }
    }

    /// A peer that stops in the middle of the check: a typed channel error
    /// on the other side, never `Ok`.
    #[test]
    fn a_check_cut_short_is_an_error_on_either_side() {
        // The evaluator's side: the commitment comes, then nothing.
        let (a, b) = memory_pair();
        let garbler = std::thread::spawn(move || {
            let mut ch = Channel::new(a);
            ch.send_bytes(&[TAG_COMMIT]).unwrap();
            ch.send_bytes(&[0u8; 20]).unwrap();
            ch.flush().unwrap();
        });
        let evaluator =
            run(&mut Channel::new(b), Party::Evaluator, &mut Prg::from_seed(Block::new(2)), &value(2));
        garbler.join().unwrap();
        assert!(matches!(evaluator, Err(SessionError::Channel(_))), "{evaluator:?}");
        // The garbler's side: the evaluator's check value cut short.
        let (a, b) = memory_pair();
        let evaluator = std::thread::spawn(move || {
            let mut ch = Channel::new(b);
            let mut c = [0u8; 33];
            ch.recv_bytes(&mut c).unwrap();
            ch.send_bytes(&[TAG_CHECK]).unwrap();
            ch.send_bytes(&[0u8; 5]).unwrap();
            ch.flush().unwrap();
        });
        let garbler =
            run(&mut Channel::new(a), Party::Garbler, &mut Prg::from_seed(Block::new(1)), &value(1));
        evaluator.join().unwrap();
        assert!(matches!(garbler, Err(SessionError::Channel(_))), "{garbler:?}");
    }
}
