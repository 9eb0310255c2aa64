//! Receiver-first base OT: Masny–Rindal endemic OT over Ristretto.
//!
//! # Construction
//!
//! Daniel Masny and Peter Rindal, *Endemic Oblivious Transfer*, ACM CCS
//! 2019 (ePrint 2019/706), Fig. 6 ("OT from a key agreement with uniform
//! messages"), with Diffie–Hellman in the prime-order Ristretto group
//! (`curve25519-dalek`) as the key agreement, producing **random** OTs.
//! Writing `G` for the Ristretto base point, `H_i` for a hash onto the
//! group (BLAKE3's XOF, domain [`POINT_HASH_DOMAIN`], then
//! `RistrettoPoint::from_uniform_bytes`, which is indifferentiable from a
//! random oracle onto the group) and `K` for a hash to 128 bits (domain
//! [`KEY_DOMAIN`]):
//!
//! ```text
//! receiver (choices c_1..c_n)                  sender
//! s_i ← Z_ℓ, M_i = s_i·G
//! R_i ← uniform point (r_{1−c_i} = R_i)
//! r_{c_i} = M_i − H_i(r_{1−c_i})
//!                                              a ← Z_ℓ, A = a·G
//! reject A if malformed or identity ◀── A ──
//!                 ── n, (r_0, r_1)_1..n ──▶   reject malformed points
//!                                              B_i^j = r_j + H_i(r_{1−j}), reject the identity
//! k_i = K(ctx, i, c_i, r_0, r_1, A, s_i·A)    k_i^j = K(ctx, i, j, r_0, r_1, A, a·B_i^j)
//! ```
//!
//! `ctx` is the session identifier both parties know once the hellos are
//! exchanged (the receiver's first message goes out before it, so `H_i`
//! cannot include it; the keys do).
//!
//! # Why this protocol: the receiver speaks first
//!
//! A session's evaluator with fewer inputs than the extension threshold
//! gets each input label from one base OT, of which it is the *receiver*.
//! With Chou–Orlandi ([`super::base`]) the sender speaks first, so an
//! evaluator that connects must wait a round trip for the garbler's `A`
//! before its OT can start. Here neither party's message depends on the
//! other's: the receiver's pairs go out in the evaluator's first flight,
//! with its hello, and `A` with the garbler's hello; each side computes its
//! keys once it holds the other's message, both at once. The run is half a
//! round trip shorter (3½ round trips from TCP connect to both results,
//! TLS included; `docs/PROTOCOL.md`), and the evaluator's key computation
//! overlaps the garbler's.
//!
//! # Security
//!
//! * **Receiver privacy is perfect** (statistical in `from_uniform_bytes`'s
//!   distance from uniform, about 2^-125): `r_{1−c}` is a uniform point and
//!   `r_c = M − H(r_{1−c})` is uniform because `M` is, so `(r_0, r_1)` is a
//!   pair of independent uniform points whatever `c` is, even to a
//!   malicious sender.
//! * **Sender privacy against a malicious receiver**, under CDH in the
//!   random-oracle model (Masny–Rindal, Theorem 3: the protocol UC-realises
//!   *endemic* OT, in which a corrupt party may choose its own outputs; a
//!   random-key OT derandomised by one-time pads, as the session does,
//!   inherits standard OT security). Intuitively, `B^0 − r_0 = H(r_1)` and
//!   `B^1 − r_1 = H(r_0)` cannot both be under the receiver's control: to
//!   know the discrete logarithms of both `B^0` and `B^1` it would have to
//!   choose `r_0` after `H(r_0)`'s value fixes `r_1`, and `r_1` after
//!   `H(r_1)`'s fixes `r_0`.
//! * Unlike Chou–Orlandi, whose simulator cannot always extract a malicious
//!   receiver's choice (see [`super::base`]), this protocol's choice is
//!   extractable from the receiver's oracle queries, so its security is
//!   composable (UC, random-oracle model).
//!
//! Cost per OT: the receiver does one fixed-base multiplication, two hashes
//! onto the group and one fixed-base multiplication by `A`'s table; the
//! sender two hashes onto the group and two variable-base multiplications,
//! the latter spread over the rayon pool. 64 bytes from the receiver per OT
//! plus 8, 32 bytes back.
//!
//! Peer data: a point that fails to decompress is
//! [`OtError::MalformedPoint`] (indexed in message order: `r_0` of OT `i` is
//! `2i`), a derived `B_i^j` or an `A` equal to the identity is
//! [`OtError::IdentityPoint`], a count other than the one both parties
//! derived is [`OtError::LengthMismatch`], a short message is
//! [`OtError::Channel`]. Secret scalars and shared points are wiped after
//! use and the keys returned in [`Zeroizing`] containers.

use std::io::{Read, Write};

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rayon::prelude::*;
use subtle::{Choice, ConditionallySelectable};
use zeroize::{Zeroize, Zeroizing};

use super::base::{decode_point, random_scalar, Ephemeral, MAX_BASE_OTS};
use super::OtError;
use crate::block::Block;
use crate::channel::Channel;
use crate::prg::Prg;

/// BLAKE3 key-derivation context of the hash onto the group, `H_i`.
pub const POINT_HASH_DOMAIN: &str = "garblet 2026 endemic OT hash to Ristretto (Masny-Rindal) v1";

/// BLAKE3 key-derivation context of the key hash, `K`.
pub const KEY_DOMAIN: &str = "garblet 2026 endemic OT key (Masny-Rindal over Ristretto) v1";

/// The sender's variable-base multiplications are split over the rayon pool
/// in chunks of this many OTs.
const SENDER_CHUNK: usize = 16;

/// The receiver's side after its message went out: its secret scalars and
/// the pairs it sent, until the sender's `A` arrives ([`ReceiverStart::finish`]).
pub struct ReceiverStart {
    scalars: Zeroizing<Vec<Scalar>>,
    /// The receiver's choices, kept to index the key hash.
    choices: Zeroizing<Vec<u8>>,
    pairs: Vec<[CompressedRistretto; 2]>,
}

impl std::fmt::Debug for ReceiverStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverStart").field("ots", &self.pairs.len()).finish_non_exhaustive()
    }
}

impl ReceiverStart {
    /// Sends the receiver's message for one random OT per choice bit: the
    /// count, then `(r_0, r_1)` per OT (buffered: the caller flushes, or the
    /// next read does). The message depends on nothing from the sender, so a
    /// session sends it with its hello.
    pub fn send<T: Read + Write>(
        ch: &mut Channel<T>,
        prg: &mut Prg,
        choices: &[bool],
    ) -> Result<ReceiverStart, OtError> {
        let n = choices.len();
        if n > MAX_BASE_OTS {
            return Err(OtError::InvalidInput("too many base OTs requested"));
        }
        // The randomness in order from the PRG; the group work (a fixed-base
        // multiplication, two hashes onto the group, two compressions per
        // OT) over the pool, so that the message is out sooner.
        let mut scalars = Zeroizing::new(Vec::with_capacity(n));
        let mut others = vec![[0u8; 64]; n];
        for other in others.iter_mut() {
            scalars.push(random_scalar(prg));
            prg.fill_bytes(other);
        }
        let pairs: Vec<[CompressedRistretto; 2]> =
            (scalars.par_iter(), others.par_iter(), choices.par_iter())
                .into_par_iter()
                .enumerate()
                .map(|(i, (s, other, &c))| {
                    let other = RistrettoPoint::from_uniform_bytes(other).compress();
                    let mut m = RistrettoPoint::mul_base(s);
                    let mut mine = (m - hash_to_point(i, &other)).compress();
                    m.zeroize();
                    // (r_0, r_1) = (mine, other) for c = 0, swapped in constant
                    // time for c = 1.
                    let (mut r0, mut r1) = (mine.0, other.0);
                    mine.0.zeroize();
                    let swap = Choice::from(u8::from(c));
                    for (x, y) in r0.iter_mut().zip(r1.iter_mut()) {
                        u8::conditional_swap(x, y, swap);
                    }
                    [CompressedRistretto(r0), CompressedRistretto(r1)]
                })
                .collect();
        others.zeroize();
        ch.send_u64(n as u64)?;
        for pair in &pairs {
            ch.send_bytes(pair[0].as_bytes())?;
            ch.send_bytes(pair[1].as_bytes())?;
        }
        let choices = Zeroizing::new(choices.iter().map(|&c| u8::from(c)).collect());
        Ok(ReceiverStart { scalars, choices, pairs })
    }

    /// Reads the sender's `A` and returns the key of each chosen side,
    /// `k_i = K(context, i, c_i, r_0, r_1, A, s_i·A)`.
    pub fn finish<T: Read + Write>(
        self,
        ch: &mut Channel<T>,
        context: &[u8; 32],
    ) -> Result<Zeroizing<Vec<Block>>, OtError> {
        let ReceiverStart { scalars, choices, pairs } = self;
        let mut buf = [0u8; 32];
        ch.recv_bytes(&mut buf)?;
        let big_a = decode_point(&buf, 0)?;
        let big_a_c = CompressedRistretto(buf);
        // A is the same in every OT: its table makes s_i·A a fixed-base
        // (still constant-time) multiplication, about 3× cheaper.
        let a_table = RistrettoBasepointTable::create(&big_a);
        let enc: Zeroizing<Vec<CompressedRistretto>> = Zeroizing::new(
            scalars
                .par_chunks(SENDER_CHUNK)
                .flat_map_iter(|chunk| {
                    let shared: Zeroizing<Vec<RistrettoPoint>> =
                        Zeroizing::new(chunk.iter().map(|s| s * &a_table).collect());
                    RistrettoPoint::double_and_compress_batch(shared.iter())
                })
                .collect(),
        );
        let keys = pairs
            .iter()
            .zip(choices.iter())
            .zip(enc.iter())
            .enumerate()
            .map(|(i, ((pair, &c), e))| key_hash(context, i, c, pair, &big_a_c, e))
            .collect();
        Ok(Zeroizing::new(keys))
    }
}

/// The sender's side after its message: `A = a·G` is sent, the receiver's
/// pairs not yet read. `A` depends on nothing from the receiver, so a
/// session sends it with its hello: the receiver then computes its keys
/// while the sender computes its own.
#[derive(Debug)]
pub struct SenderStart(Ephemeral);

impl SenderStart {
    /// Draws `a` and sends `A = a·G` (buffered: the caller flushes, or the
    /// next read does).
    pub fn send<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg) -> Result<SenderStart, OtError> {
        Ephemeral::send(ch, prg).map(SenderStart)
    }

    /// Reads the receiver's count and pairs and returns the `n` key pairs
    /// `[k^0, k^1]`.
    pub fn finish<T: Read + Write>(
        self,
        ch: &mut Channel<T>,
        n: usize,
        context: &[u8; 32],
    ) -> Result<Zeroizing<Vec<[Block; 2]>>, OtError> {
        finish_send(ch, self, n, context)
    }
}

/// Sender of `n` random OTs: sends `A`, reads the receiver's message, and
/// returns the `n` key pairs `[k^0, k^1]`.
pub fn send_random<T: Read + Write>(
    ch: &mut Channel<T>,
    prg: &mut Prg,
    n: usize,
    context: &[u8; 32],
) -> Result<Zeroizing<Vec<[Block; 2]>>, OtError> {
    if n > MAX_BASE_OTS {
        return Err(OtError::InvalidInput("too many base OTs requested"));
    }
    SenderStart::send(ch, prg)?.finish(ch, n, context)
}

fn finish_send<T: Read + Write>(
    ch: &mut Channel<T>,
    SenderStart(Ephemeral { a, public: big_a_c }): SenderStart,
    n: usize,
    context: &[u8; 32],
) -> Result<Zeroizing<Vec<[Block; 2]>>, OtError> {
    if n > MAX_BASE_OTS {
        return Err(OtError::InvalidInput("too many base OTs requested"));
    }
    let count = ch.recv_u64()?;
    if count != n as u64 {
        return Err(OtError::LengthMismatch { what: "base OT count", expected: n as u64, received: count });
    }
    let mut message = vec![0u8; 64 * n];
    ch.recv_bytes(&mut message)?;
    let pairs: Vec<[CompressedRistretto; 2]> = message
        .chunks_exact(64)
        .map(|m| {
            let (r0, r1) = m.split_at(32);
            [0, 1].map(|k| CompressedRistretto(<[u8; 32]>::try_from([r0, r1][k]).unwrap_or_default()))
        })
        .collect();
    // Decoding, the hashes onto the group and a·B_i^j, the sender's whole
    // cost, over the pool (the receiver waits); the first failing point in
    // message order is the error.
    let chunks: Vec<Result<Zeroizing<Vec<CompressedRistretto>>, OtError>> = pairs
        .par_chunks(SENDER_CHUNK)
        .enumerate()
        .map(|(k, chunk)| {
            // Wiped when dropped, on the error path too.
            let mut shared = Zeroizing::new(Vec::with_capacity(2 * chunk.len()));
            for (offset, pair) in chunk.iter().enumerate() {
                let i = k * SENDER_CHUNK + offset;
                for j in 0..2 {
                    let r = pair[j].decompress().ok_or(OtError::MalformedPoint { index: 2 * i + j })?;
                    let b = r + hash_to_point(i, &pair[1 - j]);
                    if b.is_identity() {
                        return Err(OtError::IdentityPoint { index: 2 * i + j });
                    }
                    shared.push(b * *a);
                }
            }
            Ok(Zeroizing::new(RistrettoPoint::double_and_compress_batch(shared.iter())))
        })
        .collect();
    // Every chunk's encodings are wiped when dropped, on the error path too.
    let mut enc = Zeroizing::new(Vec::with_capacity(2 * n));
    for chunk in chunks {
        enc.extend_from_slice(&chunk?);
    }
    let keys = pairs
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            [0u8, 1].map(|j| key_hash(context, i, j, pair, &big_a_c, &enc[2 * i + usize::from(j)]))
        })
        .collect();
    Ok(Zeroizing::new(keys))
}

/// `H_i(r)`: OT `i`'s hash of a point's encoding onto the group.
fn hash_to_point(index: usize, point: &CompressedRistretto) -> RistrettoPoint {
    let mut h = blake3::Hasher::new_derive_key(POINT_HASH_DOMAIN);
    h.update(&(index as u64).to_le_bytes());
    h.update(point.as_bytes());
    let mut wide = [0u8; 64];
    h.finalize_xof().fill(&mut wide);
    RistrettoPoint::from_uniform_bytes(&wide)
}

/// `K(context, i, j, r_0, r_1, A, S)`, `S` encoded as its double (a
/// bijection of the group: one inversion per batch).
fn key_hash(
    context: &[u8; 32],
    index: usize,
    side: u8,
    pair: &[CompressedRistretto; 2],
    big_a: &CompressedRistretto,
    shared: &CompressedRistretto,
) -> Block {
    let mut h = blake3::Hasher::new_derive_key(KEY_DOMAIN);
    h.update(context);
    h.update(&(index as u64).to_le_bytes());
    h.update(&[side]);
    h.update(pair[0].as_bytes());
    h.update(pair[1].as_bytes());
    h.update(big_a.as_bytes());
    h.update(shared.as_bytes());
    let out = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&out.as_bytes()[..16]);
    Block::from_bytes(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::memory_pair;

    const CTX: [u8; 32] = [7; 32];

    /// What a run gives: the receiver's keys, the sender's pairs, bytes
    /// the receiver sent and received.
    type Run = (Zeroizing<Vec<Block>>, Zeroizing<Vec<[Block; 2]>>, u64, u64);

    fn run(choices: &[bool]) -> Run {
        let (a, b) = memory_pair();
        let n = choices.len();
        let sender = std::thread::spawn(move || {
            let mut ch = Channel::new(a);
            let mut prg = Prg::from_seed(Block::new(1));
            let keys = send_random(&mut ch, &mut prg, n, &CTX).unwrap();
            ch.flush().unwrap();
            keys
        });
        let mut ch = Channel::new(b);
        let mut prg = Prg::from_seed(Block::new(2));
        let started = ReceiverStart::send(&mut ch, &mut prg, choices).unwrap();
        ch.flush().unwrap();
        let got = started.finish(&mut ch, &CTX).unwrap();
        (got, sender.join().unwrap(), ch.bytes_sent(), ch.bytes_received())
    }

    #[test]
    fn receiver_gets_the_chosen_keys_and_not_the_others() {
        let choices: Vec<bool> = (0..100).map(|i| (i * 7 + 3) % 5 < 2).collect();
        let (got, pairs, sent, received) = run(&choices);
        for (i, &c) in choices.iter().enumerate() {
            assert_eq!(got[i], pairs[i][usize::from(c)]);
            assert_ne!(got[i], pairs[i][usize::from(!c)]);
            assert_ne!(pairs[i][0], pairs[i][1]);
        }
        assert_eq!(sent, 8 + 64 * 100);
        assert_eq!(received, 32);
    }

    #[test]
    fn no_ots_is_a_count_and_a_point() {
        let (got, pairs, sent, received) = run(&[]);
        assert!(got.is_empty() && pairs.is_empty());
        assert_eq!((sent, received), (8, 32));
    }

    /// Runs the sender against a hand-made receiver message.
    fn sender_against(message: Vec<u8>, n: usize) -> Result<Zeroizing<Vec<[Block; 2]>>, OtError> {
        let (a, b) = memory_pair();
        // The peer sends its message, takes `A`, and closes: a short
        // message ends in a typed error, not a wait.
        let peer = std::thread::spawn(move || {
            let mut peer = Channel::new(b);
            // (A sender that refuses at once may have gone already.)
            let _ = peer.send_bytes(&message).and_then(|()| peer.flush());
            let mut big_a = [0u8; 32];
            let _ = peer.recv_bytes(&mut big_a);
        });
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_seed(Block::new(3));
        let got = send_random(&mut ch, &mut prg, n, &CTX);
        drop(ch);
        peer.join().unwrap();
        got
    }

    fn honest_message(n: usize) -> Vec<u8> {
        let (a, b) = memory_pair();
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_seed(Block::new(4));
        let choices = vec![true; n];
        ReceiverStart::send(&mut ch, &mut prg, &choices).unwrap();
        ch.flush().unwrap();
        let mut peer = Channel::new(b);
        let mut out = vec![0u8; 8 + 64 * n];
        peer.recv_bytes(&mut out).unwrap();
        out
    }

    #[test]
    fn the_sender_refuses_malformed_points_a_wrong_count_and_short_messages() {
        let good = honest_message(3);
        assert!(sender_against(good.clone(), 3).is_ok());
        // A non-canonical encoding (all ones is not a field element < p).
        let mut bad = good.clone();
        bad[8 + 64 + 32..8 + 128].fill(0xff);
        assert!(matches!(sender_against(bad, 3), Err(OtError::MalformedPoint { index: 3 })));
        let mut wrong_count = good.clone();
        wrong_count[..8].copy_from_slice(&4u64.to_le_bytes());
        assert!(matches!(
            sender_against(wrong_count, 3),
            Err(OtError::LengthMismatch { expected: 3, received: 4, .. })
        ));
        assert!(matches!(sender_against(good[..100].to_vec(), 3), Err(OtError::Channel(_))));
        assert!(matches!(sender_against(honest_message(1), MAX_BASE_OTS + 1), Err(OtError::InvalidInput(_))));
    }

    #[test]
    fn a_receiver_that_makes_b_the_identity_is_refused() {
        // r_0 = −H_0(r_1) makes B^0 = r_0 + H_0(r_1) the identity.
        let r1 = RistrettoPoint::mul_base(&Scalar::from(5u8)).compress();
        let r0 = (-hash_to_point(0, &r1)).compress();
        let mut message = 1u64.to_le_bytes().to_vec();
        message.extend_from_slice(r0.as_bytes());
        message.extend_from_slice(r1.as_bytes());
        assert!(matches!(sender_against(message, 1), Err(OtError::IdentityPoint { index: 0 })));
    }

    #[test]
    fn the_receiver_refuses_a_malformed_or_identity_a() {
        for (a_bytes, want_identity) in [([0xffu8; 32], false), ([0u8; 32], true)] {
            let (a, b) = memory_pair();
            let mut ch = Channel::new(a);
            let mut prg = Prg::from_seed(Block::new(5));
            let started = ReceiverStart::send(&mut ch, &mut prg, &[true, false]).unwrap();
            ch.flush().unwrap();
            let mut peer = Channel::new(b);
            let mut skip = vec![0u8; 8 + 128];
            peer.recv_bytes(&mut skip).unwrap();
            peer.send_bytes(&a_bytes).unwrap();
            peer.flush().unwrap();
            let err = started.finish(&mut ch, &CTX).unwrap_err();
            if want_identity {
                assert!(matches!(err, OtError::IdentityPoint { index: 0 }), "{err:?}");
            } else {
                assert!(matches!(err, OtError::MalformedPoint { index: 0 }), "{err:?}");
            }
        }
    }

    fn message_for(choice: bool) -> Vec<u8> {
        let (a, b) = memory_pair();
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_seed(Block::new(6));
        ReceiverStart::send(&mut ch, &mut prg, &[choice; 8]).unwrap();
        ch.flush().unwrap();
        let mut peer = Channel::new(b);
        let mut out = vec![0u8; 8 + 64 * 8];
        peer.recv_bytes(&mut out).unwrap();
        out
    }

    #[test]
    fn the_choice_only_swaps_the_pair() {
        // Same randomness, other choice: the same two points, swapped. So
        // the pair's distribution (two independent uniform points) does
        // not depend on the choice; and both decode.
        let (m0, m1) = (message_for(false), message_for(true));
        for i in 0..8 {
            let at = |m: &[u8], k: usize| m[8 + 64 * i + 32 * k..8 + 64 * i + 32 * (k + 1)].to_vec();
            assert_eq!(at(&m0, 0), at(&m1, 1));
            assert_eq!(at(&m0, 1), at(&m1, 0));
            assert_ne!(at(&m0, 0), at(&m0, 1));
            for k in 0..2 {
                assert!(CompressedRistretto(at(&m0, k).try_into().unwrap()).decompress().is_some());
            }
        }
    }
}
