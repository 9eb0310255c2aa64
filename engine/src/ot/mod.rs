//! Oblivious transfer: base OT over Ristretto and two OT extensions,
//! IKNP/ALSZ and SoftSpokenOT, with an optional consistency check (revised
//! KOS, SoftSpokenOT's) against a malicious receiver.
//!
//! The evaluator gets the label of each of its input bits without the
//! garbler learning the bit, and without learning the other label. That is
//! a **correlated OT whose correlation is the garbler's Δ**: the garbler
//! ([`OtExtSender`]) obtains a zero label `x_j` per input bit, the
//! evaluator ([`OtExtReceiver`]) obtains `x_j ⊕ b_j·Δ` for its bit `b_j`.
//! This module builds it in three layers:
//!
//! 1. [`base`]: 128 random **base OTs**, Chou–Orlandi "simplest OT" over
//!    Ristretto (Latincrypt 2015), one round trip, done once per session.
//!    The module docs say why this protocol and what it guarantees.
//!    [`endemic`]: Masny–Rindal **endemic OT** (CCS 2019), whose receiver
//!    speaks first; a session with fewer evaluator input bits than the
//!    extension threshold runs one per bit instead of an extension.
//! 2. `extension.rs`: **IKNP OT extension** (Ishai, Kilian, Nissim, Petrank,
//!    Crypto 2003) with the ALSZ improvements (Asharov, Lindell, Schneider,
//!    Zohner, CCS 2013: base OTs on random seeds expanded by a PRG so the
//!    receiver sends one `u` column per base OT, correlated OT with a
//!    global correlation, batched transposition). The extension sender's
//!    base-OT choice string *is* Δ, so the raw extension rows are already
//!    the correlated OT with correlation Δ (the way emp-toolkit's IKNP
//!    delivers garbler labels): **16 bytes per OT**, one message from the
//!    receiver to the sender, no extra round.
//!    **SoftSpokenOT** (`softspoken/`, [`SoftSpokenSender`],
//!    [`SoftSpokenReceiver`]; Roy, Crypto 2022, ePrint 2022/192) delivers
//!    the same Δ-correlated OT from the same 128 base OTs with **4 bytes
//!    per OT** (`K = 4`: 32 chunks, each a 15-out-of-16 OT from a GGM tree
//!    whose punctured point is 4 bits of Δ), for about four times the AES
//!    work; it is what sessions use by default (`OtChoice`), IKNP on
//!    request. Its module docs give the construction.
//! 3. `check.rs`: the **revised KOS consistency check** (Keller, Orsini,
//!    Scholl, Crypto 2015, as revised in 2022 after Roy's SoftSpokenOT showed
//!    the original check's proof wrong) that makes the extension secure
//!    against a malicious receiver, enabled by the [`MaliciousReceiver`]
//!    type parameter; its module docs give the protocol and why the original
//!    check is not used.
//!
//! Both extensions run the same call-level protocol (the count, the
//! batches, how the check's challenge is derived and when it is folded), written once
//! in `driver.rs`; each supplies only its per-batch work. A caller that
//! wants either extension through one code path uses the
//! [`CorrelatedOtSender`] and [`CorrelatedOtReceiver`] traits.
//!
//! On top of the correlated OT, the extension offers **random OT**
//! (messages `H(x_j)`, `H(x_j ⊕ Δ)`, no extra communication; with chosen
//! or, via `receive_random_choices`, random choice bits) and
//! **chosen-message OT** (32 more bytes per OT from the sender), hashing with
//! the garbling core's TMMO tweakable correlation-robust hash
//! ([`crate::hash::Tmmo`], Guo–Katz–Wang–Yu S&P 2020) under tweaks
//! `2^127 + j` that never collide with garbling's gate tweaks (< 2^64).
//!
//! # Security model and type names
//!
//! The security level is a type parameter, so the name of a session says
//! what it guarantees:
//!
//! * [`SemiHonest`] (the default of the OT layer): IKNP/ALSZ, secure when
//!   both parties follow the protocol. A malicious receiver can make the
//!   sender's correlated outputs depend on bits of Δ (and so learn Δ): **the
//!   session never uses it**. `OtExtSender<SemiHonest>`, alias
//!   [`SemiHonestOtSender`].
//! * [`MaliciousReceiver`]: adds the consistency check of the *revised* KOS
//!   paper (ePrint 2015/546, 2022 revision, Fig. 10, modelled on
//!   SoftSpokenOT's; the original KOS15 check was shown unsound by Roy,
//!   Crypto 2022); the sender aborts with [`OtError::ConsistencyCheckFailed`]
//!   if the receiver used inconsistent choice bits across the columns of its
//!   message. The check is non-interactive (Fiat–Shamir: its challenge is
//!   a hash of the receiver's messages bound to the session,
//!   [`CheckBinding`], which both sides set with `bind_check`), so a call
//!   is still one flight from the receiver and nothing from the sender.
//!   Costs 128 extra OTs and 2,064 more bytes from the receiver per call, a
//!   BLAKE3 hash of the receiver's bytes on each side, one carry-less
//!   GF(2^128) product per OT on each side, on the
//!   receiver's side one more AES block per OT (its columns are re-expanded
//!   for the check rather than kept) and 16 bytes of memory per 128 OTs
//!   until the check, on the sender's one more 128 × 128 transposition per
//!   128 OTs (its rows are transposed back for the check).
//!   `OtExtSender<MaliciousReceiver>`, alias [`KosOtSender`].
//!
//! The same type parameter selects the check for SoftSpokenOT
//! (`SoftSpokenSender<MaliciousReceiver>`), whose columns have IKNP's form.
//! Every garblet session runs [`MaliciousReceiver`], with either extension. Against a malicious
//! *sender* both modes keep the receiver's choice bits private (the sender
//! only ever sees `u^i`, masked by a PRG stream it cannot compute); a sender
//! that delivers wrong outputs (a selective failure) is handled by the
//! session's dual-execution mode (`docs/SECURITY.md`).
//!
//! # Wire cost, per call of `n` OTs
//!
//! | output | receiver → sender | sender → receiver |
//! |---|---|---|
//! | correlated (Δ) | `8 + 16·⌈n/128⌉·128` | 0 |
//! | random | same | 0 |
//! | chosen (128-bit messages) | same | `32·n` |
//! | + revised KOS check | `+ 16·128 + 16·129` | 0 |
//!
//! Base OTs, once per session: 32 bytes to the receiver of the base OT (the
//! extension receiver sends them) and `8 + 32·128` bytes back.
//!
//! # Example
//!
//! ```
//! use garblet_engine::Block;
//! use garblet_engine::channel::{memory_pair, Channel};
//! use garblet_engine::ot::{OtExtReceiver, OtExtSender, SemiHonest};
//! use garblet_engine::{Delta, Prg};
//!
//! let (a, b) = memory_pair();
//! let garbler = std::thread::spawn(move || {
//!     let mut ch = Channel::new(a);
//!     let mut prg = Prg::from_entropy();
//!     let delta = Delta::random(&mut prg);
//!     let mut ot = OtExtSender::<SemiHonest>::setup(&mut ch, &mut prg, delta).unwrap();
//!     let mut zero_labels = vec![Block::ZERO; 1000];
//!     ot.send_correlated(&mut ch, &mut zero_labels).unwrap();
//!     (zero_labels, ot.delta().as_block())
//! });
//! let mut ch = Channel::new(b);
//! let mut prg = Prg::from_entropy();
//! let mut ot = OtExtReceiver::<SemiHonest>::setup(&mut ch, &mut prg).unwrap();
//! let bits: Vec<bool> = (0..1000).map(|i| i % 3 == 0).collect();
//! let mut labels = vec![Block::ZERO; 1000];
//! ot.receive_correlated(&mut ch, &bits, &mut labels).unwrap();
//! let (zero_labels, delta) = garbler.join().unwrap();
//! for j in 0..1000 {
//!     assert_eq!(labels[j], zero_labels[j] ^ delta.select(bits[j]));
//! }
//! ```

pub mod base;
pub(crate) mod check;
pub(crate) mod driver;
pub mod endemic;
pub(crate) mod extension;
pub(crate) mod softspoken;
pub(crate) mod transpose;

pub use check::CheckBinding;
pub use extension::{OtExtReceiver, OtExtSender};
pub use softspoken::{SoftSpokenReceiver, SoftSpokenSender, SOFTSPOKEN_K};

use std::io::{Read, Write};

use crate::block::Block;
use crate::channel::{Channel, ChannelError};
use crate::prg::{Delta, Prg};

/// The sender of a Δ-correlated OT extension, whichever the construction
/// ([`OtExtSender`], [`SoftSpokenSender`]): one code path runs either.
pub trait CorrelatedOtSender: Sized {
    /// Runs the base OTs (and whatever else the construction sets up once)
    /// and returns a session whose correlated OTs have correlation `delta`.
    fn setup<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg, delta: Delta) -> Result<Self, OtError>;

    /// Binds the check's challenges of every later call to the session
    /// ([`CheckBinding`]); required before a checked call.
    fn bind_check(&mut self, binding: CheckBinding);

    /// Correlated OT: fills `zero_labels` with `q_j`; the receiver gets
    /// `q_j ⊕ b_j·Δ` for its choice bits `b_j`.
    fn send_correlated<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        zero_labels: &mut [Block],
    ) -> Result<(), OtError>;
}

/// The receiver of a Δ-correlated OT extension, whichever the construction
/// ([`OtExtReceiver`], [`SoftSpokenReceiver`]).
pub trait CorrelatedOtReceiver: Sized {
    /// Sets up a session as the base OTs' sender, when their first message
    /// already went out ([`base::SenderStart::send`]).
    fn setup_started<T: Read + Write>(
        ch: &mut Channel<T>,
        prg: &mut Prg,
        started: base::SenderStart,
    ) -> Result<Self, OtError>;

    /// Sets up a session, base OTs included.
    fn setup<T: Read + Write>(ch: &mut Channel<T>, prg: &mut Prg) -> Result<Self, OtError> {
        let started = base::SenderStart::send(ch, prg)?;
        Self::setup_started(ch, prg, started)
    }

    /// Binds the check's challenges of every later call to the session
    /// ([`CheckBinding`], the sender's); required before a checked call.
    fn bind_check(&mut self, binding: CheckBinding);

    /// Correlated OT: `labels[j] = q_j ⊕ choices[j]·Δ`.
    fn receive_correlated<T: Read + Write>(
        &mut self,
        ch: &mut Channel<T>,
        choices: &[bool],
        labels: &mut [Block],
    ) -> Result<(), OtError>;
}

/// An error from an oblivious-transfer protocol.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtError {
    /// The channel failed, or the peer's message ended early (a short
    /// message is [`ChannelError::Truncated`]).
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The peer sent 32 bytes that are not the canonical encoding of a
    /// Ristretto point.
    #[error("peer sent a malformed Ristretto point (message index {index})")]
    MalformedPoint {
        /// Position of the point among the peer's points in that message.
        index: usize,
    },
    /// The peer sent the identity point, which would make the keys
    /// predictable.
    #[error("peer sent the identity point (message index {index})")]
    IdentityPoint {
        /// Position of the point among the peer's points in that message.
        index: usize,
    },
    /// The peer announced a different number of OTs than this side asked
    /// for.
    #[error("{what}: this side expects {expected}, the peer announced {received}")]
    LengthMismatch {
        /// Which count disagreed.
        what: &'static str,
        /// The count this side asked for.
        expected: u64,
        /// The count the peer sent.
        received: u64,
    },
    /// The KOS consistency check failed: the receiver did not use the same
    /// choice bits in every column (malicious or corrupted receiver). The
    /// outputs of this call must be discarded.
    #[error("OT extension consistency check failed: the receiver cheated or the data was corrupted")]
    ConsistencyCheckFailed,
    /// The caller's arguments are inconsistent (e.g. output and choice
    /// slices of different lengths); nothing was sent.
    #[error("invalid OT request: {0}")]
    InvalidInput(&'static str),
}

mod sealed {
    /// Seals [`super::Security`]: only this crate's levels implement it. It
    /// is unnameable on purpose (the sealed-trait pattern).
    #[allow(unnameable_types)]
    pub trait Sealed {}
}

/// The security level of an OT extension session, as a type parameter:
/// [`SemiHonest`] or [`MaliciousReceiver`].
pub trait Security: sealed::Sealed + Send + Sync + 'static {
    /// Whether the KOS consistency check runs.
    const MALICIOUS_RECEIVER: bool;
    /// A human-readable name, for logs and benchmark labels.
    const NAME: &'static str;
}

/// Semi-honest security (IKNP/ALSZ): both parties follow the protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SemiHonest;

/// Security against a malicious receiver (KOS consistency check) and a
/// semi-honest sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaliciousReceiver;

impl sealed::Sealed for SemiHonest {}
impl sealed::Sealed for MaliciousReceiver {}

impl Security for SemiHonest {
    const MALICIOUS_RECEIVER: bool = false;
    const NAME: &'static str = "semi-honest";
}

impl Security for MaliciousReceiver {
    const MALICIOUS_RECEIVER: bool = true;
    const NAME: &'static str = "malicious-receiver";
}

/// IKNP/ALSZ extension sender, semi-honest.
pub type SemiHonestOtSender = OtExtSender<SemiHonest>;
/// IKNP/ALSZ extension receiver, semi-honest.
pub type SemiHonestOtReceiver = OtExtReceiver<SemiHonest>;
/// KOS extension sender: aborts on an inconsistent receiver.
pub type KosOtSender = OtExtSender<MaliciousReceiver>;
/// KOS extension receiver (runs the receiver's half of the KOS check).
pub type KosOtReceiver = OtExtReceiver<MaliciousReceiver>;
