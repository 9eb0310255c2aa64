//! Base oblivious transfer: Chou–Orlandi "simplest OT" over Ristretto.
//!
//! # Construction
//!
//! Tung Chou and Claudio Orlandi, *The Simplest Protocol for Oblivious
//! Transfer*, Latincrypt 2015 (ePrint 2015/267), in the prime-order
//! Ristretto group (`curve25519-dalek`), producing **random** OTs: the sender
//! learns `n` pairs of random keys, the receiver the key of its choice in
//! each pair. Writing `G` for the Ristretto base point and `H` for a hash to
//! 128 bits (BLAKE3 in key-derivation mode, domain `BASE_OT_DOMAIN`):
//!
//! ```text
//! sender                                     receiver (choices c_1..c_n)
//! a ← Z_ℓ, A = a·G            ── A ──▶       reject A if malformed or identity
//!                                            b_i ← Z_ℓ, B_i = b_i·G + c_i·A
//! reject any malformed or     ◀── n, B_1..B_n ──
//! identity B_i
//! k_i^0 = H(i, A, B_i, a·B_i)                k_i = H(i, A, B_i, b_i·A)
//! k_i^1 = H(i, A, B_i, a·B_i − a·A)
//! ```
//!
//! One round trip: 32 bytes from sender to receiver, `8 + 32·n` bytes back
//! (4,104 bytes for the 128 base OTs of the extension).
//!
//! Cost, per OT: the receiver does a fixed-base multiplication (`b·G`)
//! and `b·A` (variable-base with curve25519-dalek's AVX-512 IFMA backend,
//! otherwise through a table built once for `A`, after its points are
//! sent), the sender one variable-base multiplication (`a·B_i`; `a·B_i −
//! a·A` is a subtraction).
//! Points are compressed in batches with one field inversion per batch
//! (`double_and_compress_batch`, which encodes `2·P`): the receiver builds
//! `B_i = 2·P_i` from `P_i = b'_i·G + c_i·(A/2)` and sends 32 at a time, so
//! the sender's multiplications overlap its work, and the shared points are
//! hashed as the encoding of their double (a bijection of the group).
//!
//! # Security model, and why this protocol
//!
//! * **Receiver privacy is perfect**, even against a malicious sender: `B_i`
//!   is a uniformly random group element whatever `c_i` is. In the OT
//!   extension the *extension sender* (the garbler) is the base-OT receiver
//!   and its choice string is Δ, so Δ stays hidden from any peer.
//! * **Sender privacy** (the receiver learns nothing about `k_i^{1−c_i}`)
//!   holds under the computational Diffie–Hellman assumption in the random
//!   oracle model; we rely on it against a semi-honest receiver, which is the
//!   role of the extension receiver in semi-honest mode.
//! * **Known limitation.** The original paper claimed UC security; that
//!   claim was found not to hold (Genç, Iovino, Rial, *The Simplest Protocol
//!   for Oblivious Transfer Revisited*, 2017; Hauck and Loss, *Efficient and
//!   Universally Composable Protocols for Oblivious Transfer from the CDH
//!   Assumption*, 2017): the simulator cannot always extract a malicious
//!   receiver's choice, and Canetti, Sarkar and Wang (*Blazing Fast OT for
//!   Three-Round UC OT Extension*, PKC 2020) note that it is not known to
//!   suffice for OT extension against active adversaries. Hashing
//!   the transcript (`i`, `A`, `B_i`) into every key, as here, is the usual
//!   hardening, but we do not claim UC security. For the extension this
//!   matters only with a malicious *extension sender* (the base-OT
//!   receiver's side is perfectly private, see above), a case this crate
//!   does not claim to cover.
//! * **Why Chou–Orlandi here and Masny–Rindal for single OTs.** The
//!   extension's 128 base OTs have the evaluator as their *sender*, and a
//!   sender-first protocol lets the evaluator start them in its hello's
//!   flight; Chou–Orlandi's sender does one variable-base multiplication
//!   per OT against Masny–Rindal's two plus two hashes onto the curve, and
//!   its weaker guarantee concerns only a malicious base-OT *receiver* (the
//!   garbler here), which is outside this crate's claims for the extension.
//!   Below the extension threshold the evaluator is the OTs' *receiver*,
//!   and there the session uses Masny–Rindal endemic OT
//!   ([`super::endemic`]), whose receiver speaks first: the OT then also
//!   starts in the evaluator's first flight.
//!
//! Peer data: a point that fails to decompress is [`OtError::MalformedPoint`],
//! the identity is [`OtError::IdentityPoint`], a count other than the one
//! both parties asked for is [`OtError::LengthMismatch`], a short message is
//! [`OtError::Channel`]. Secret scalars are zeroised after use and the keys
//! are returned in [`Zeroizing`] containers.

use std::io::{Read, Write};

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use subtle::{Choice, ConditionallySelectable};
use zeroize::{Zeroize, Zeroizing};

use super::OtError;
use crate::block::Block;
use crate::channel::Channel;
use crate::prg::Prg;

/// BLAKE3 key-derivation context of the base-OT key hash.
pub const BASE_OT_DOMAIN: &str = "garblet 2026 base OT (Chou-Orlandi over Ristretto) v1";

/// Points the base-OT receiver computes, compresses (one inversion) and
/// sends at a time.
const RECEIVER_CHUNK: usize = 32;

/// The largest number of base OTs one call performs (the extension needs
/// 128; the bound keeps every buffer small).
pub const MAX_BASE_OTS: usize = 4096;

/// Sender of `n` random base OTs: returns `n` key pairs `[k^0, k^1]`.
///
/// The peer must call [`receive_random`] with `n` choice bits.
pub fn send_random<T: Read + Write>(
    ch: &mut Channel<T>,
    prg: &mut Prg,
    n: usize,
) -> Result<Zeroizing<Vec<[Block; 2]>>, OtError> {
    let started = SenderStart::send(ch, prg)?;
    ch.flush()?;
    started.finish(ch, n)
}

/// The sender's side of [`send_random`] after its first message: `A` is
/// sent, the `B_i` not yet read. A session sends `A` in the same flight as
/// its hello ([`SenderStart::send`] before reading the peer's hello), which
/// saves a round trip: `A` depends on nothing but fresh randomness.
#[derive(Debug)]
pub struct SenderStart(Ephemeral);

/// A fresh Diffie–Hellman key pair whose public half went to the peer:
/// the first message of a Chou–Orlandi sender and of a Masny–Rindal
/// sender ([`super::endemic`]) alike.
pub(crate) struct Ephemeral {
    /// The secret scalar `a`.
    pub(crate) a: Zeroizing<Scalar>,
    /// `A = a·G`, as sent.
    pub(crate) public: CompressedRistretto,
}

impl std::fmt::Debug for Ephemeral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ephemeral")
    }
}

impl Ephemeral {
    /// Draws `a` and sends `A = a·G` (buffered: the caller flushes, or the
    /// next read does).
    pub(crate) fn send<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg) -> Result<Ephemeral, OtError> {
        let a = Zeroizing::new(random_scalar(prg));
        let public = RistrettoPoint::mul_base(&a).compress();
        ch.send_bytes(public.as_bytes())?;
        Ok(Ephemeral { a, public })
    }
}

impl SenderStart {
    /// Draws `a` and sends `A = a·G` (buffered: the caller flushes, or the
    /// next read does).
    pub fn send<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg) -> Result<SenderStart, OtError> {
        Ephemeral::send(ch, prg).map(SenderStart)
    }

    /// Reads the receiver's `n` and `B_i` and returns the `n` key pairs, as
    /// [`send_random`] does.
    pub fn finish<T: Read + Write>(
        self,
        ch: &mut Channel<T>,
        n: usize,
    ) -> Result<Zeroizing<Vec<[Block; 2]>>, OtError> {
        if n > MAX_BASE_OTS {
            return Err(OtError::InvalidInput("too many base OTs requested"));
        }
        let SenderStart(Ephemeral { a, public }) = self;
        finish_send(ch, &a, &public, n)
    }
}

fn finish_send<T: Read + Write>(
    ch: &mut Channel<T>,
    a: &Scalar,
    big_a_c: &CompressedRistretto,
    n: usize,
) -> Result<Zeroizing<Vec<[Block; 2]>>, OtError> {
    let big_a_c = *big_a_c;
    let count = ch.recv_u64()?;
    if count != n as u64 {
        return Err(OtError::LengthMismatch { what: "base OT count", expected: n as u64, received: count });
    }
    // a·A = a²·G, by the fixed-base table.
    let a_big_a = RistrettoPoint::mul_base(&Zeroizing::new(*a * *a));
    // a·B_i and a·B_i − a·A, interleaved, computed as the B_i arrive (the
    // receiver sends them in chunks), then one batched compression.
    let mut bs = Vec::with_capacity(n);
    let mut shared = Vec::with_capacity(2 * n);
    let mut buf = [0u8; 32];
    for index in 0..n {
        ch.recv_bytes(&mut buf)?;
        let b = decode_point(&buf, index)?;
        bs.push(CompressedRistretto(buf));
        let ab = b * *a;
        shared.push(ab);
        shared.push(ab - a_big_a);
    }
    let mut enc = RistrettoPoint::double_and_compress_batch(&shared);
    shared.zeroize_points();
    let mut keys = Zeroizing::new(Vec::with_capacity(n));
    for (i, b_c) in bs.iter().enumerate() {
        keys.push([key_hash(i, &big_a_c, b_c, &enc[2 * i]), key_hash(i, &big_a_c, b_c, &enc[2 * i + 1])]);
    }
    for e in enc.iter_mut() {
        e.0.zeroize();
    }
    Ok(keys)
}

/// Receiver of random base OTs: for each choice bit `c_i`, returns `k_i^{c_i}`
/// of the sender's pair.
///
/// The peer must call [`send_random`] with `n = choices.len()`.
pub fn receive_random<T: Read + Write>(
    ch: &mut Channel<T>,
    prg: &mut Prg,
    choices: &[bool],
) -> Result<Zeroizing<Vec<Block>>, OtError> {
    let n = choices.len();
    if n > MAX_BASE_OTS {
        return Err(OtError::InvalidInput("too many base OTs requested"));
    }
    let mut buf = [0u8; 32];
    ch.recv_bytes(&mut buf)?;
    let big_a_c = CompressedRistretto(buf);
    let big_a = decode_point(&buf, 0)?;

    // B_i is built as 2·P_i with P_i = b'_i·G + c_i·(A/2), so that all the
    // B_i are compressed with one field inversion
    // (`double_and_compress_batch` encodes 2·P); then b_i = 2·b'_i. The
    // first points go out before anything else is computed for A: the
    // sender's multiplications wait on them.
    let a_half = big_a * Scalar::from(2u8).invert();
    let mut scalars = Zeroizing::new(Vec::with_capacity(n));
    let mut bs_c = Vec::with_capacity(n);
    let mut halves = Vec::with_capacity(RECEIVER_CHUNK);
    ch.send_u64(n as u64)?;
    // In chunks, each flushed, so the sender's multiplications start early.
    for chunk in choices.chunks(RECEIVER_CHUNK) {
        halves.clear();
        for &c in chunk {
            let b_half = random_scalar(prg);
            let p = RistrettoPoint::mul_base(&b_half);
            // Constant-time select of b'·G or b'·G + A/2.
            halves.push(RistrettoPoint::conditional_select(&p, &(p + a_half), Choice::from(u8::from(c))));
            scalars.push(b_half + b_half);
        }
        for b_c in RistrettoPoint::double_and_compress_batch(&halves) {
            ch.send_bytes(b_c.as_bytes())?;
            bs_c.push(b_c);
        }
        ch.flush()?;
    }
    halves.zeroize_points();
    // Send first, then compute the shared points while the sender computes
    // its own: the two multiplication loops run in parallel.
    ch.flush()?;
    let mut shared = shared_points(&big_a, &scalars);
    let mut enc = RistrettoPoint::double_and_compress_batch(&shared);
    shared.zeroize_points();
    let mut keys = Zeroizing::new(Vec::with_capacity(n));
    for (i, b_c) in bs_c.iter().enumerate() {
        keys.push(key_hash(i, &big_a_c, b_c, &enc[i]));
    }
    for e in enc.iter_mut() {
        e.0.zeroize();
    }
    Ok(keys)
}

/// The receiver's shared points `b_i·A`, constant-time either way. With
/// curve25519-dalek's AVX-512 IFMA backend compiled in (`.cargo/config.toml`)
/// and the CPU to run it, a variable-base multiplication (about 16 µs on a
/// Zen 4 core) is cheaper than building a table for `A` (about 1.3 ms) and
/// multiplying through it (13 µs each); without it (AVX2: 36 µs), the
/// table is (BENCHMARKS.md, 2026-12-04).
fn shared_points(big_a: &RistrettoPoint, scalars: &[Scalar]) -> Vec<RistrettoPoint> {
    shared_points_by(big_a, scalars, ifma_backend())
}

/// [`shared_points`] by variable-base multiplications (`true`) or through
/// a table for `A`.
fn shared_points_by(big_a: &RistrettoPoint, scalars: &[Scalar], variable_base: bool) -> Vec<RistrettoPoint> {
    if variable_base {
        scalars.iter().map(|b| big_a * b).collect()
    } else {
        let a_table = RistrettoBasepointTable::create(big_a);
        scalars.iter().map(|b| b * &a_table).collect()
    }
}

/// Whether curve25519-dalek runs its AVX-512 IFMA backend: compiled in,
/// and the CPU has the instructions (dalek's own run-time test).
fn ifma_backend() -> bool {
    #[cfg(all(curve25519_dalek_backend = "avx512", target_arch = "x86_64"))]
    {
        std::arch::is_x86_feature_detected!("avx512ifma") && std::arch::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(all(curve25519_dalek_backend = "avx512", target_arch = "x86_64")))]
    {
        false
    }
}

/// A uniformly random scalar from 512 PRG bits (reduced mod ℓ).
pub(crate) fn random_scalar(prg: &mut Prg) -> Scalar {
    let mut wide = [0u8; 64];
    prg.fill_bytes(&mut wide);
    let s = Scalar::from_bytes_mod_order_wide(&wide);
    wide.zeroize();
    s
}

/// Decodes a peer's point: rejects non-canonical encodings and the identity.
pub(crate) fn decode_point(bytes: &[u8; 32], index: usize) -> Result<RistrettoPoint, OtError> {
    let p = CompressedRistretto(*bytes).decompress().ok_or(OtError::MalformedPoint { index })?;
    if p.is_identity() {
        return Err(OtError::IdentityPoint { index });
    }
    Ok(p)
}

fn key_hash(
    index: usize,
    a: &CompressedRistretto,
    b: &CompressedRistretto,
    shared: &CompressedRistretto,
) -> Block {
    let mut h = blake3::Hasher::new_derive_key(BASE_OT_DOMAIN);
    h.update(&(index as u64).to_le_bytes());
    h.update(a.as_bytes());
    h.update(b.as_bytes());
    h.update(shared.as_bytes());
    let out = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&out.as_bytes()[..16]);
    Block::from_bytes(k)
}

/// Overwrites secret points with the identity.
trait ZeroizePoints {
    fn zeroize_points(&mut self);
}

impl ZeroizePoints for Vec<RistrettoPoint> {
    fn zeroize_points(&mut self) {
        for p in self.iter_mut() {
            p.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::memory_pair;

    #[test]
    fn shared_points_are_the_same_by_table_and_by_variable_base() {
        let mut prg = Prg::from_seed(Block::new(9));
        let a = random_scalar(&mut prg);
        let big_a = RistrettoPoint::mul_base(&a);
        let scalars: Vec<Scalar> = (0..40).map(|_| random_scalar(&mut prg)).collect();
        let by_table = shared_points_by(&big_a, &scalars, false);
        assert_eq!(shared_points_by(&big_a, &scalars, true), by_table);
        // b·A = (b·a)·G, by the base point's table.
        for (p, b) in by_table.iter().zip(&scalars) {
            assert_eq!(*p, RistrettoPoint::mul_base(&(b * a)));
        }
        // This machine's pick is one of them.
        assert_eq!(shared_points(&big_a, &scalars), by_table);
    }

    #[test]
    fn receiver_gets_chosen_keys() {
        let (a, b) = memory_pair();
        let n = 128;
        let choices: Vec<bool> = (0..n).map(|i| (i * 7 + 3) % 5 < 2).collect();
        let c2 = choices.clone();
        let t = std::thread::spawn(move || {
            let mut ch = Channel::new(a);
            let mut prg = Prg::from_seed(Block::new(1));
            send_random(&mut ch, &mut prg, n).unwrap()
        });
        let mut ch = Channel::new(b);
        let mut prg = Prg::from_seed(Block::new(2));
        let got = receive_random(&mut ch, &mut prg, &c2).unwrap();
        let pairs = t.join().unwrap();
        for i in 0..n {
            assert_eq!(got[i], pairs[i][usize::from(choices[i])]);
            assert_ne!(got[i], pairs[i][usize::from(!choices[i])]);
        }
        assert_eq!(ch.bytes_sent(), 8 + 32 * n as u64);
        assert_eq!(ch.bytes_received(), 32);
    }
}
