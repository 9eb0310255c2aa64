//! Oblivious transfer end to end over the in-memory channel: correctness of
//! correlated, random and chosen-message OT in both security modes, the
//! byte counts the protocol promises, typed errors on hostile peer data, and
//! the KOS check rejecting a cheating receiver.

use std::thread;

use garblet_engine::channel::{memory_pair, Channel, ChannelError, MemoryChannel};
use garblet_engine::ot::{
    base, CheckBinding, CorrelatedOtReceiver, CorrelatedOtSender, MaliciousReceiver, OtError, OtExtReceiver,
    OtExtSender, Security, SemiHonest, SoftSpokenReceiver, SoftSpokenSender,
};
use garblet_engine::Block;
use garblet_engine::{Delta, Prg};

type Ch = Channel<MemoryChannel>;

/// The checked calls' binding without a session (any value both sides
/// share; a session uses its session id).
const BINDING: CheckBinding = CheckBinding::new([0x42; 32]);

fn channels() -> (Ch, Ch) {
    let (a, b) = memory_pair();
    (Channel::new(a), Channel::new(b))
}

fn random_bits(prg: &mut Prg, n: usize) -> Vec<bool> {
    (0..n).map(|_| prg.random_bool()).collect()
}

/// Sizes around tile and batch boundaries (a batch is 65,536 OTs).
const SIZES: [usize; 8] = [0, 1, 127, 128, 129, 1000, 65_536, 70_001];

fn correlated_ot_is_correct<S: Security>() {
    let (mut cs, mut cr) = channels();
    let mut prg = Prg::from_seed(Block::new(0xC0FFEE));
    let choice_sets: Vec<Vec<bool>> = SIZES.iter().map(|&n| random_bits(&mut prg, n)).collect();
    thread::scope(|s| {
        let sender = s.spawn(|| {
            let mut prg = Prg::from_entropy();
            let delta = Delta::random(&mut prg);
            let d = delta.as_block();
            let mut ot = OtExtSender::<S>::setup(&mut cs, &mut prg, delta).unwrap();
            ot.bind_check(BINDING);
            assert_eq!(ot.delta().as_block(), d);
            // Several calls on one session: base OTs are done once.
            let outs: Vec<Vec<Block>> = SIZES
                .iter()
                .map(|&n| {
                    let mut out = vec![Block::ZERO; n];
                    ot.send_correlated(&mut cs, &mut out).unwrap();
                    out
                })
                .collect();
            assert_eq!(ot.ot_count(), SIZES.iter().sum::<usize>() as u64);
            (outs, d)
        });
        let mut prg = Prg::from_entropy();
        let mut ot = OtExtReceiver::<S>::setup(&mut cr, &mut prg).unwrap();
        ot.bind_check(BINDING);
        let mut got = Vec::new();
        for choices in &choice_sets {
            let mut labels = vec![Block::ZERO; choices.len()];
            ot.receive_correlated(&mut cr, choices, &mut labels).unwrap();
            got.push(labels);
        }
        let (outs, delta) = sender.join().unwrap();
        assert!(delta.lsb(), "Δ has lsb 1");
        let mut all_zero_labels = std::collections::HashSet::new();
        for ((choices, labels), zeros) in choice_sets.iter().zip(&got).zip(&outs) {
            for j in 0..choices.len() {
                assert_eq!(labels[j], zeros[j] ^ delta.select(choices[j]), "OT {j}");
                // The receiver's label is exactly one of the two.
                assert_eq!(labels[j] ^ zeros[j] ^ delta.select(!choices[j]), delta);
                all_zero_labels.insert(zeros[j]);
            }
        }
        // Zero labels look random: no repeats across calls.
        assert_eq!(all_zero_labels.len(), SIZES.iter().sum::<usize>());
    });
}

#[test]
fn correlated_ot_semi_honest() {
    correlated_ot_is_correct::<SemiHonest>();
}

#[test]
fn correlated_ot_malicious_receiver_honest_run() {
    correlated_ot_is_correct::<MaliciousReceiver>();
}

fn random_and_chosen_ot_are_correct<S: Security>() {
    let (mut cs, mut cr) = channels();
    let n = 3000;
    let mut prg = Prg::from_seed(Block::new(5));
    let choices = random_bits(&mut prg, n);
    let messages: Vec<[Block; 2]> = (0..n).map(|_| [prg.random_block(), prg.random_block()]).collect();
    thread::scope(|s| {
        let sender = s.spawn(|| {
            let mut prg = Prg::from_entropy();
            let mut ot = OtExtSender::<S>::setup_with_random_delta(&mut cs, &mut prg).unwrap();
            ot.bind_check(BINDING);
            let mut pairs = vec![[Block::ZERO; 2]; n];
            ot.send_random(&mut cs, &mut pairs).unwrap();
            ot.send_chosen(&mut cs, &messages).unwrap();
            let mut pairs2 = vec![[Block::ZERO; 2]; n];
            ot.send_random(&mut cs, &mut pairs2).unwrap();
            (pairs, pairs2)
        });
        let mut prg = Prg::from_entropy();
        let mut ot = OtExtReceiver::<S>::setup(&mut cr, &mut prg).unwrap();
        ot.bind_check(BINDING);
        let mut rand_out = vec![Block::ZERO; n];
        ot.receive_random(&mut cr, &choices, &mut rand_out).unwrap();
        let mut chosen_out = vec![Block::ZERO; n];
        ot.receive_chosen(&mut cr, &choices, &mut chosen_out).unwrap();
        let mut random_choices = vec![false; n];
        let mut rr_out = vec![Block::ZERO; n];
        ot.receive_random_choices(&mut cr, &mut random_choices, &mut rr_out).unwrap();
        let (pairs, pairs2) = sender.join().unwrap();
        let ones = random_choices.iter().filter(|&&c| c).count();
        assert!(ones > n / 3 && ones < 2 * n / 3, "random choices look random: {ones}/{n}");
        for j in 0..n {
            assert_eq!(rr_out[j], pairs2[j][usize::from(random_choices[j])], "fully random OT {j}");
        }
        for j in 0..n {
            let c = usize::from(choices[j]);
            assert_eq!(rand_out[j], pairs[j][c], "random OT {j}");
            assert_ne!(rand_out[j], pairs[j][1 - c]);
            assert_ne!(pairs[j][0] ^ pairs[j][1], pairs[(j + 1) % n][0] ^ pairs[(j + 1) % n][1]);
            assert_eq!(chosen_out[j], messages[j][c], "chosen OT {j}");
        }
    });
}

#[test]
fn random_and_chosen_ot_semi_honest() {
    random_and_chosen_ot_are_correct::<SemiHonest>();
}

#[test]
fn random_and_chosen_ot_malicious_receiver_honest_run() {
    random_and_chosen_ot_are_correct::<MaliciousReceiver>();
}

#[test]
fn message_sizes_are_as_documented() {
    let (mut cs, mut cr) = channels();
    thread::scope(|s| {
        let sender = s.spawn(|| {
            let mut prg = Prg::from_entropy();
            let mut ot = OtExtSender::<SemiHonest>::setup_with_random_delta(&mut cs, &mut prg).unwrap();
            // Base OT: the extension sender is the base-OT receiver.
            assert_eq!(cs.bytes_received(), 32);
            assert_eq!(cs.bytes_sent(), 8 + 32 * 128);
            let mut out = vec![Block::ZERO; 1000];
            ot.send_correlated(&mut cs, &mut out).unwrap();
            assert_eq!(cs.bytes_sent(), 8 + 32 * 128, "correlated OT: nothing from the sender");
            let msgs = vec![[Block::ONES; 2]; 1000];
            ot.send_chosen(&mut cs, &msgs).unwrap();
            assert_eq!(cs.bytes_sent(), 8 + 32 * 128 + 32 * 1000);
        });
        let mut prg = Prg::from_entropy();
        let mut ot = OtExtReceiver::<SemiHonest>::setup(&mut cr, &mut prg).unwrap();
        let base = cr.bytes_sent();
        assert_eq!(base, 32);
        let choices = vec![true; 1000];
        let mut out = vec![Block::ZERO; 1000];
        ot.receive_correlated(&mut cr, &choices, &mut out).unwrap();
        // 8-byte count, then 16 bytes per OT rounded up to 128 OTs.
        assert_eq!(cr.bytes_sent() - base, 8 + 16 * 1024);
        ot.receive_chosen(&mut cr, &choices, &mut out).unwrap();
        assert_eq!(cr.bytes_sent() - base, 2 * (8 + 16 * 1024));
        sender.join().unwrap();
    });

    // The revised KOS check adds 128 extra OTs and 129 blocks (t_0..t_127, x)
    // upstream, nothing downstream (Fiat–Shamir).
    let (mut cs, mut cr) = channels();
    thread::scope(|s| {
        let sender = s.spawn(|| {
            let mut prg = Prg::from_entropy();
            let mut ot =
                OtExtSender::<MaliciousReceiver>::setup_with_random_delta(&mut cs, &mut prg).unwrap();
            ot.bind_check(BINDING);
            let before = cs.bytes_sent();
            let mut out = vec![Block::ZERO; 1024];
            ot.send_correlated(&mut cs, &mut out).unwrap();
            assert_eq!(cs.bytes_sent() - before, 0, "the check's challenge is derived, not sent");
        });
        let mut prg = Prg::from_entropy();
        let mut ot = OtExtReceiver::<MaliciousReceiver>::setup(&mut cr, &mut prg).unwrap();
        ot.bind_check(BINDING);
        let before = cr.bytes_sent();
        let mut out = vec![Block::ZERO; 1024];
        ot.receive_correlated(&mut cr, &[false; 1024], &mut out).unwrap();
        assert_eq!(cr.bytes_sent() - before, 8 + 16 * (1024 + 128) + 16 * 129);
        sender.join().unwrap();
    });
}

/// A peer that speaks raw bytes: `script` runs on the far end of the channel.
fn against_raw_peer<R: Send>(
    script: impl FnOnce(&mut Ch) + Send,
    ours: impl FnOnce(&mut Ch) -> R + Send,
) -> R {
    let (mut theirs, mut mine) = channels();
    thread::scope(|s| {
        let peer = s.spawn(move || {
            script(&mut theirs);
            let _ = theirs.flush();
            // Dropping the channel ends the stream.
        });
        let r = ours(&mut mine);
        drop(mine);
        peer.join().unwrap();
        r
    })
}

#[test]
fn malformed_point_is_a_typed_error() {
    // The extension sender receives the base-OT sender's point A first.
    let err = against_raw_peer(
        |peer| peer.send_bytes(&[0xff; 32]).unwrap(),
        |ch| OtExtSender::<SemiHonest>::setup_with_random_delta(ch, &mut Prg::from_entropy()).unwrap_err(),
    );
    assert!(matches!(err, OtError::MalformedPoint { index: 0 }), "{err:?}");

    // The extension receiver receives 128 points B_i; the 6th is bad.
    let err = against_raw_peer(
        |peer| {
            let mut a = [0u8; 32];
            peer.recv_bytes(&mut a).unwrap();
            peer.send_u64(128).unwrap();
            // A valid point (the peer's own A), five times, then garbage.
            for _ in 0..5 {
                peer.send_bytes(&a).unwrap();
            }
            let mut bad = [0x11u8; 32];
            bad[31] = 0xff; // not a canonical field element
            peer.send_bytes(&bad).unwrap();
            peer.flush().unwrap();
            // Keep the channel open until the receiver has given up.
            let _ = peer.recv_u64();
        },
        |ch| OtExtReceiver::<SemiHonest>::setup(ch, &mut Prg::from_entropy()).unwrap_err(),
    );
    assert!(matches!(err, OtError::MalformedPoint { index: 5 }), "{err:?}");
}

#[test]
fn identity_point_is_a_typed_error() {
    // The compressed identity of Ristretto is 32 zero bytes.
    let err = against_raw_peer(
        |peer| peer.send_bytes(&[0; 32]).unwrap(),
        |ch| OtExtSender::<SemiHonest>::setup_with_random_delta(ch, &mut Prg::from_entropy()).unwrap_err(),
    );
    assert!(matches!(err, OtError::IdentityPoint { index: 0 }), "{err:?}");

    let err = against_raw_peer(
        |peer| {
            let mut a = [0u8; 32];
            peer.recv_bytes(&mut a).unwrap();
            peer.send_u64(128).unwrap();
            peer.send_bytes(&[0; 32]).unwrap();
            peer.flush().unwrap();
            let _ = peer.recv_u64();
        },
        |ch| OtExtReceiver::<SemiHonest>::setup(ch, &mut Prg::from_entropy()).unwrap_err(),
    );
    assert!(matches!(err, OtError::IdentityPoint { index: 0 }), "{err:?}");
}

#[test]
fn wrong_base_ot_count_is_a_typed_error() {
    let err = against_raw_peer(
        |peer| {
            let mut a = [0u8; 32];
            peer.recv_bytes(&mut a).unwrap();
            peer.send_u64(u64::MAX).unwrap();
        },
        |ch| OtExtReceiver::<SemiHonest>::setup(ch, &mut Prg::from_entropy()).unwrap_err(),
    );
    assert!(matches!(err, OtError::LengthMismatch { expected: 128, received: u64::MAX, .. }), "{err:?}");
}

#[test]
fn short_base_ot_message_is_a_typed_error() {
    let err = against_raw_peer(
        |peer| peer.send_bytes(&[1, 2, 3]).unwrap(),
        |ch| OtExtSender::<SemiHonest>::setup_with_random_delta(ch, &mut Prg::from_entropy()).unwrap_err(),
    );
    assert!(
        matches!(err, OtError::Channel(ChannelError::Truncated { expected: 32, received: 3 })),
        "{err:?}"
    );
}

/// Runs honest setup, then lets `cheat` drive the receiver's channel raw
/// while the sender runs `send_correlated` for `n` OTs.
fn extension_against_raw_receiver<S: Security>(
    n: usize,
    cheat: impl FnOnce(&mut Ch) + Send,
) -> Result<(), OtError> {
    let (mut cs, mut cr) = channels();
    thread::scope(|s| {
        let sender = s.spawn(move || {
            let mut prg = Prg::from_entropy();
            let mut ot = OtExtSender::<S>::setup_with_random_delta(&mut cs, &mut prg).unwrap();
            ot.bind_check(BINDING);
            let mut out = vec![Block::ZERO; n];
            ot.send_correlated(&mut cs, &mut out)
        });
        let ot = OtExtReceiver::<S>::setup(&mut cr, &mut Prg::from_entropy()).unwrap();
        cheat(&mut cr);
        let _ = cr.flush();
        drop(cr);
        drop(ot);
        sender.join().unwrap()
    })
}

#[test]
fn wrong_extension_length_is_a_typed_error() {
    let err = extension_against_raw_receiver::<SemiHonest>(1000, |peer| {
        peer.send_u64(1001).unwrap();
    })
    .unwrap_err();
    assert!(matches!(err, OtError::LengthMismatch { expected: 1000, received: 1001, .. }), "{err:?}");
}

#[test]
fn short_extension_message_is_a_typed_error() {
    let err = extension_against_raw_receiver::<SemiHonest>(1024, |peer| {
        peer.send_u64(1024).unwrap();
        // 128 columns of 1024 bits are 16 KiB; send half and hang up.
        peer.send_bytes(&[0x5a; 8192]).unwrap();
    })
    .unwrap_err();
    assert!(
        matches!(err, OtError::Channel(ChannelError::Truncated { expected: 16384, received: 8192 })),
        "{err:?}"
    );
}

#[test]
fn mismatched_arguments_are_rejected_before_sending() {
    let (_cs, mut cr) = channels();
    let mut ot = {
        let (a, b) = memory_pair();
        let t = thread::spawn(move || {
            let mut ch = Channel::new(a);
            OtExtSender::<SemiHonest>::setup_with_random_delta(&mut ch, &mut Prg::from_entropy()).map(|_| ())
        });
        let mut ch = Channel::new(b);
        let ot = OtExtReceiver::<SemiHonest>::setup(&mut ch, &mut Prg::from_entropy()).unwrap();
        t.join().unwrap().unwrap();
        ot
    };
    let mut out = vec![Block::ZERO; 10];
    let err = ot.receive_correlated(&mut cr, &[true; 9], &mut out).unwrap_err();
    assert!(matches!(err, OtError::InvalidInput(_)));
    assert_eq!(cr.bytes_sent(), 0);
}

#[test]
fn consistency_check_rejects_a_cheating_receiver() {
    // A receiver whose columns are not built from one choice vector (here:
    // arbitrary bytes) and who then answers the check with made-up values.
    let n = 4096;
    let err = extension_against_raw_receiver::<MaliciousReceiver>(n, |peer| {
        let mut prg = Prg::from_seed(Block::new(99));
        peer.send_u64(n as u64).unwrap();
        let mut u = vec![Block::ZERO; n + 256];
        prg.fill_blocks(&mut u);
        peer.send_blocks(&u).unwrap();
        peer.send_block(prg.random_block()).unwrap();
        peer.send_block(prg.random_block()).unwrap();
        peer.flush().unwrap();
    })
    .unwrap_err();
    assert!(matches!(err, OtError::ConsistencyCheckFailed), "{err:?}");

    // The same cheat goes unnoticed by a semi-honest sender: that is what the
    // type parameter says.
    let ok = extension_against_raw_receiver::<SemiHonest>(n, |peer| {
        let mut prg = Prg::from_seed(Block::new(99));
        peer.send_u64(n as u64).unwrap();
        let mut u = vec![Block::ZERO; n];
        prg.fill_blocks(&mut u);
        peer.send_blocks(&u).unwrap();
    });
    assert!(ok.is_ok());
}

#[test]
fn base_ots_standalone() {
    let (mut a, mut b) = channels();
    let choices: Vec<bool> = (0..200).map(|i| i % 3 == 1).collect();
    thread::scope(|s| {
        let t = s.spawn(|| base::send_random(&mut a, &mut Prg::from_entropy(), 200).unwrap());
        let got = base::receive_random(&mut b, &mut Prg::from_entropy(), &choices).unwrap();
        let pairs = t.join().unwrap();
        for i in 0..200 {
            assert_eq!(got[i], pairs[i][usize::from(choices[i])]);
            assert_ne!(pairs[i][0], pairs[i][1]);
        }
    });
}

mod hostile_bytes {
    //! Arbitrary bytes from the peer, at every stage: an error or a result,
    //! never a panic or a hang (the peer hangs up after its bytes).
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn extension_sender_setup(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let short = bytes.len() < 32;
            let r = against_raw_peer(
                move |peer| peer.send_bytes(&bytes).unwrap(),
                |ch| OtExtSender::<SemiHonest>::setup_with_random_delta(ch, &mut Prg::from_entropy()).map(|_| ()),
            );
            // The base-OT receiver reads only the 32-byte point A, and a
            // random string is a valid encoding now and then: then setup
            // legitimately succeeds.
            if short {
                prop_assert!(r.is_err());
            }
        }

        #[test]
        fn extension_receiver_setup(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
            let r = against_raw_peer(
                move |peer| peer.send_bytes(&bytes).unwrap(),
                |ch| OtExtReceiver::<SemiHonest>::setup(ch, &mut Prg::from_entropy()).map(|_| ()),
            );
            prop_assert!(r.is_err());
        }

        #[test]
        fn extension_sender_batches(
            announced in prop_oneof![Just(300u64), any::<u64>()],
            len in 0usize..20_000,
            fill in any::<u8>(),
        ) {
            let r = extension_against_raw_receiver::<MaliciousReceiver>(300, move |peer| {
                peer.send_u64(announced).unwrap();
                peer.send_bytes(&vec![fill; len]).unwrap();
            });
            // 300 OTs take 8 + 16·384 bytes, plus the check; never enough here.
            prop_assert!(r.is_err());
        }
    }
}

/// A transport that adds `mask` to the byte at offset `at` of what it
/// reads (a link altering one byte in transit); writes pass through.
struct FlipOnRead<T> {
    inner: T,
    at: u64,
    mask: u8,
    pos: u64,
}

impl<T: std::io::Read> std::io::Read for FlipOnRead<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(k) = self.at.checked_sub(self.pos).filter(|&k| k < n as u64) {
            buf[k as usize] ^= self.mask;
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<T: std::io::Write> std::io::Write for FlipOnRead<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What one checked call of `n` OTs does, seen from the sender: its
/// result, the bytes it sent during the call, and the bytes the receiver
/// read during its call.
struct CheckedCall {
    result: Result<(), OtError>,
    sender_sent: u64,
    receiver_read: u64,
}

/// One checked call of `n` OTs with extension sender `OS` and receiver
/// `OR` (honest), the sender bound to [`BINDING`], the receiver to
/// `receiver_binding`; the sender's link adds `mask` to the byte at offset
/// `flip_at` of its incoming stream (set-up included).
fn checked_call<OS, OR>(n: usize, receiver_binding: CheckBinding, flip_at: u64, mask: u8) -> CheckedCall
where
    OS: CorrelatedOtSender + Send,
    OR: CorrelatedOtReceiver,
{
    let (a, b) = memory_pair();
    thread::scope(|s| {
        let sender = s.spawn(move || {
            let mut ch = Channel::new(FlipOnRead { inner: a, at: flip_at, mask, pos: 0 });
            let mut prg = Prg::from_entropy();
            let delta = Delta::random(&mut prg);
            let mut ot = OS::setup(&mut ch, &mut prg, delta).unwrap();
            ot.bind_check(BINDING);
            let before = ch.bytes_sent();
            let mut out = vec![Block::ZERO; n];
            let result = ot.send_correlated(&mut ch, &mut out);
            (result, ch.bytes_sent() - before)
        });
        let mut ch = Channel::new(b);
        let mut prg = Prg::from_entropy();
        let mut ot = OR::setup(&mut ch, &mut prg).unwrap();
        ot.bind_check(receiver_binding);
        let choices = random_bits(&mut prg, n);
        let mut out = vec![Block::ZERO; n];
        let before = ch.bytes_received();
        // The receiver cannot tell whether it was caught: its call succeeds
        // unless the sender hung up first (the altered count).
        let _ = ot.receive_correlated(&mut ch, &choices, &mut out);
        let receiver_read = ch.bytes_received() - before;
        drop(ch);
        let (result, sender_sent) = sender.join().unwrap();
        CheckedCall { result, sender_sent, receiver_read }
    })
}

/// Bytes the extension sender reads during set-up: the base OTs' `A`, and
/// for SoftSpokenOT the GGM corrections (32 chunks of 6 blocks).
const IKNP_SETUP: u64 = 32;
const SOFTSPOKEN_SETUP: u64 = 32 + 32 * 6 * 16;

fn rejected(call: &CheckedCall) -> bool {
    matches!(call.result, Err(OtError::ConsistencyCheckFailed))
}

type IknpSnd = OtExtSender<MaliciousReceiver>;
type IknpRcv = OtExtReceiver<MaliciousReceiver>;
type SoftSnd = SoftSpokenSender<MaliciousReceiver>;
type SoftRcv = SoftSpokenReceiver<MaliciousReceiver>;

/// The checked call is one flight from the receiver (its columns, then its
/// answer) and nothing from the sender: the challenge is derived on both
/// sides (Fiat–Shamir), not sent. Sizes across tiles and batches.
#[test]
fn a_checked_call_is_one_flight_and_the_sender_sends_nothing() {
    for n in [1, 1000, 65_536, 200_000] {
        let iknp = checked_call::<IknpSnd, IknpRcv>(n, BINDING, u64::MAX, 0);
        let soft = checked_call::<SoftSnd, SoftRcv>(n, BINDING, u64::MAX, 0);
        for (name, call) in [("IKNP", &iknp), ("SoftSpokenOT", &soft)] {
            assert!(call.result.is_ok(), "{name}, n = {n}: {:?}", call.result);
            assert_eq!(call.sender_sent, 0, "{name}, n = {n}: the sender wrote during a checked call");
            assert_eq!(call.receiver_read, 0, "{name}, n = {n}: the receiver waited for the sender");
        }
    }
}

/// A receiver with honest columns whose answer is to the challenge of
/// another transcript (another binding: as if it had hashed other bytes,
/// or precomputed for another session) is rejected.
#[test]
fn an_answer_to_another_transcripts_challenge_is_rejected() {
    let other = CheckBinding::new([0x43; 32]);
    for n in [1000, 2 * 65_536 + 3] {
        let iknp = checked_call::<IknpSnd, IknpRcv>(n, other, u64::MAX, 0);
        assert!(rejected(&iknp), "IKNP, n = {n}: {:?}", iknp.result);
        let soft = checked_call::<SoftSnd, SoftRcv>(n, other, u64::MAX, 0);
        assert!(rejected(&soft), "SoftSpokenOT, n = {n}: {:?}", soft.result);
        // The same binding passes (the control).
        assert!(checked_call::<IknpSnd, IknpRcv>(n, BINDING, u64::MAX, 0).result.is_ok());
        assert!(checked_call::<SoftSnd, SoftRcv>(n, BINDING, u64::MAX, 0).result.is_ok());
    }
}

/// Any byte of the receiver's columns (any batch, the extra block's
/// included), of its answer or of SoftSpokenOT's GGM corrections altered
/// in transit, the receiver honest: the
/// sender's challenge is then another one than the receiver answered (and,
/// where Δ shows it, the columns are inconsistent too), so the check
/// fails — whichever bit of Δ the byte meets, unlike the interactive check,
/// which let an alteration where Δ_i = 0 through harmlessly.
#[test]
fn any_byte_of_the_receivers_flight_altered_in_transit_is_rejected() {
    let mut prg = Prg::from_seed(Block::new(0xF1));
    let n = 1000;
    // Per extension: set-up bytes, and the call's bytes after the 8-byte
    // count: columns of 1024 + 128 OTs, then the 129-block answer.
    for (name, setup, per_ot) in [("IKNP", IKNP_SETUP, 16u64), ("SoftSpokenOT", SOFTSPOKEN_SETUP, 4)] {
        let columns = per_ot * (1024 + 128);
        let call = columns + 129 * 16;
        let mut offsets = vec![0, per_ot * 1024 - 1, per_ot * 1024, columns - 1, columns, call - 1];
        offsets.extend((0..6).map(|_| prg.random_block().to_u128() as u64 % call));
        // The offsets are right: the count's first byte is the length.
        let count = match name {
            "IKNP" => checked_call::<IknpSnd, IknpRcv>(n, BINDING, setup, 1),
            _ => checked_call::<SoftSnd, SoftRcv>(n, BINDING, setup, 1),
        };
        assert!(
            matches!(count.result, Err(OtError::LengthMismatch { expected: 1000, received: 1001, .. })),
            "{name}: {:?}",
            count.result
        );
        for k in offsets {
            let at = setup + 8 + k;
            let mask = (prg.random_block().to_u128() as u8) | 1;
            let r = match name {
                "IKNP" => checked_call::<IknpSnd, IknpRcv>(n, BINDING, at, mask),
                _ => checked_call::<SoftSnd, SoftRcv>(n, BINDING, at, mask),
            };
            assert!(rejected(&r), "{name}: byte {k} of the call ^ {mask:#x}: {:?}", r.result);
        }
    }
    // SoftSpokenOT's GGM corrections (after the base OTs' 32 bytes) are in
    // the transcript too: altered, they are caught whatever Δ is.
    for k in [0, 1000, 32 * 6 * 16 - 1] {
        let r = checked_call::<SoftSnd, SoftRcv>(n, BINDING, IKNP_SETUP + k, 0x80);
        assert!(rejected(&r), "GGM correction byte {k}: {:?}", r.result);
    }
}

/// A checked call without a binding is refused by either side before
/// anything is sent or read (so both calls can run on one thread).
#[test]
fn a_checked_call_needs_a_binding() {
    let (mut cs, mut cr) = channels();
    let (mut sender, mut receiver) = thread::scope(|s| {
        let t = s.spawn(|| {
            OtExtSender::<MaliciousReceiver>::setup_with_random_delta(&mut cs, &mut Prg::from_entropy())
        });
        let r = OtExtReceiver::<MaliciousReceiver>::setup(&mut cr, &mut Prg::from_entropy());
        (t.join().unwrap().unwrap(), r.unwrap())
    });
    let (sent, read) = (cr.bytes_sent(), cs.bytes_received());
    let err = receiver.receive_correlated(&mut cr, &[true; 10], &mut [Block::ZERO; 10]).unwrap_err();
    assert!(matches!(err, OtError::InvalidInput(_)), "{err:?}");
    let err = sender.send_correlated(&mut cs, &mut [Block::ZERO; 10]).unwrap_err();
    assert!(matches!(err, OtError::InvalidInput(_)), "{err:?}");
    assert_eq!((cr.bytes_sent(), cs.bytes_received()), (sent, read));
}
