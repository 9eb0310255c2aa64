use super::*;
use crate::channel::memory_pair;
use crate::ot::MaliciousReceiver;

/// The checked calls' binding without a session.
const BINDING: CheckBinding = CheckBinding::new([0x55; 32]);

/// Runs one session of calls of sizes `ns` with parameter `K` and checks
/// `t_j ⊕ q_j = b_j·Δ` for every OT, and that Δ is the sender's. Returns
/// the bytes the receiver sent after the set-up.
fn correlated<S: Security, const K: usize>(ns: &[usize], seed: u128) -> u64 {
    let (a, b) = memory_pair();
    let calls = ns.to_vec();
    let sender = std::thread::spawn(move || {
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_seed(Block::new(seed));
        let delta = Delta::random(&mut prg);
        let chosen = delta.as_block();
        let mut ot = SoftSpokenSender::<S, K>::setup(&mut ch, &mut prg, delta).unwrap();
        ot.bind_check(BINDING);
        assert_eq!(ot.delta().as_block(), chosen);
        let mut out = Vec::new();
        for n in calls {
            let mut q = vec![Block::ZERO; n];
            ot.send_correlated(&mut ch, &mut q).unwrap();
            out.push(q);
        }
        (out, chosen)
    });
    let mut ch = Channel::new(b);
    let mut prg = Prg::from_seed(Block::new(seed + 1));
    let mut ot = SoftSpokenReceiver::<S, K>::setup(&mut ch, &mut prg).unwrap();
    ot.bind_check(BINDING);
    let before = ch.bytes_sent();
    let mut got = Vec::new();
    for &n in ns {
        let choices: Vec<bool> = (0..n).map(|_| prg.random_bool()).collect();
        let mut t = vec![Block::ZERO; n];
        ot.receive_correlated(&mut ch, &choices, &mut t).unwrap();
        got.push((choices, t));
    }
    let sent = ch.bytes_sent() - before;
    let (qs, delta) = sender.join().unwrap();
    for (q, (choices, t)) in qs.iter().zip(&got) {
        for j in 0..q.len() {
            assert_eq!(t[j] ^ q[j], delta.select(choices[j]), "K = {K}, OT {j} of {}", q.len());
        }
        // Not all-zero outputs.
        assert!(q.len() < 2 || q[0] != q[1]);
    }
    assert_eq!(ot.ot_count(), ns.iter().sum::<usize>() as u64);
    sent
}

#[test]
fn correlated_outputs_for_many_sizes() {
    let sizes = [1, 5, 127, 128, 129, 1000, 0, 3];
    correlated::<SemiHonest, 4>(&sizes, 1);
    correlated::<MaliciousReceiver, 4>(&sizes, 2);
    // K = 1 is IKNP; K = 2 and 8 exercise other trees.
    correlated::<MaliciousReceiver, 1>(&[1, 300], 3);
    correlated::<MaliciousReceiver, 2>(&[129, 7], 4);
    correlated::<SemiHonest, 8>(&[200], 5);
}

#[test]
fn correlated_outputs_across_batches() {
    correlated::<MaliciousReceiver, 4>(&[BATCH_ROWS + 131, 77], 6);
}

#[test]
fn the_receiver_sends_a_quarter_of_iknp() {
    // Semi-honest: the count and (128/K)·m bits, the GGM corrections
    // having gone with the set-up.
    assert_eq!(correlated::<SemiHonest, 4>(&[1000], 7), 8 + 4 * 1024);
    assert_eq!(correlated::<SemiHonest, 2>(&[1000], 7), 8 + 8 * 1024);
    // Checked: plus the extra block's columns (4·128) and the answer.
    assert_eq!(correlated::<MaliciousReceiver, 4>(&[1000], 8), 8 + 4 * 1024 + 4 * 128 + 129 * 16);
}

/// One checked call of `n` OTs (random choice bits) on a fresh session
/// whose sender draws Δ from `sender_seed`; the receiver flips the bits
/// `flips` of its correction columns (see `cheat_flips`) and the block
/// `tree_flip` of its GGM corrections. Returns the sender's result and Δ.
fn run_cheater(
    n: usize,
    sender_seed: u128,
    flips: Vec<(usize, usize)>,
    tree_flip: Option<(usize, Block)>,
) -> (Result<(), OtError>, u128) {
    let (a, b) = memory_pair();
    let sender = std::thread::spawn(move || {
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_seed(Block::new(sender_seed));
        let delta = Delta::random(&mut prg);
        let mut ot = SoftSpokenSender::<MaliciousReceiver>::setup(&mut ch, &mut prg, delta).unwrap();
        ot.bind_check(BINDING);
        let mut out = vec![Block::ZERO; n];
        (ot.send_correlated(&mut ch, &mut out), ot.delta().as_block().to_u128())
    });
    let mut ch = Channel::new(b);
    let mut prg = Prg::from_seed(Block::new(12));
    let started = base::SenderStart::send(&mut ch, &mut prg).unwrap();
    let mut ot =
        SoftSpokenReceiver::<MaliciousReceiver>::setup_inner(&mut ch, &mut prg, started, tree_flip).unwrap();
    ot.bind_check(BINDING);
    ot.cheat_flips = flips;
    let choices: Vec<bool> = (0..n).map(|i| i % 3 == 1).collect();
    let mut out = vec![Block::ZERO; n];
    // The receiver's own call succeeds: it cannot tell it was caught.
    ot.receive_correlated(&mut ch, &choices, &mut out).unwrap();
    drop(ch);
    sender.join().unwrap()
}

fn rejected(r: &Result<(), OtError>) -> bool {
    matches!(r, Err(OtError::ConsistencyCheckFailed))
}

/// Δ's chunk `c` (4 bits).
fn chunk_of(delta: u128, c: usize) -> u128 {
    (delta >> (4 * c)) & 0xf
}

#[test]
fn check_rejects_another_choice_bit_in_one_chunk() {
    // Chunk 0 holds Δ's lsb, always 1: a flipped bit there always shows.
    for row in [0, 7, 999, 1010, 1024, 1024 + 127] {
        assert!(rejected(&run_cheater(1000, 11, vec![(0, row)], None).0), "row {row}");
    }
    // The first of two batches, folded back from the sender's rows once the
    // challenge is known, and the second.
    for row in [5, BATCH_ROWS - 1, BATCH_ROWS + 7] {
        assert!(rejected(&run_cheater(BATCH_ROWS + 1000, 11, vec![(0, row)], None).0), "row {row}");
    }
    assert!(run_cheater(1000, 11, vec![], None).0.is_ok());
}

#[test]
fn check_rejects_inconsistent_chunks_where_delta_shows_them() {
    let mut prg = Prg::from_seed(Block::new(5));
    let n = 3000;
    let (mut caught, mut passed) = (0, 0);
    for trial in 0..20u128 {
        let chunk = (prg.random_block().to_u128() % 32) as usize;
        let row = (prg.random_block().to_u128() % (3072 + 128)) as usize;
        let (r, delta) = run_cheater(n, 100 + trial, vec![(chunk, row)], None);
        // The sender's columns of the chunk move by Δ_i times the flip:
        // invisible only if the chunk's four bits of Δ are all zero.
        if chunk_of(delta, chunk) != 0 {
            assert!(rejected(&r), "chunk {chunk}, row {row}");
            caught += 1;
        } else {
            assert!(r.is_ok(), "chunk {chunk}, row {row}: Δ_c = 0");
            passed += 1;
        }
    }
    assert!(caught >= 15, "{caught} caught, {passed} passed");
    // Half the chunks with one choice vector, half with another.
    let (r, _) = run_cheater(n, 7, (0..16).map(|c| (c, 2000)).collect(), None);
    assert!(rejected(&r));
    // Every chunk but the last, across many rows.
    let flips = (0..31).flat_map(|c| (0..50).map(move |j| (c, 37 * j))).collect();
    assert!(rejected(&run_cheater(n, 8, flips, None).0));
    // A different row in every chunk.
    assert!(rejected(&run_cheater(n, 9, (0..32).map(|c| (c, 10 * c)).collect(), None).0));
    // The same flip in every chunk, with the check answered for the
    // unflipped choices: the columns agree with each other but not with x.
    assert!(rejected(&run_cheater(n, 10, (0..32).map(|c| (c, 1234)).collect(), None).0));
}

#[test]
fn check_rejects_wrong_ggm_corrections() {
    // Chunk 0, level 1: correction c_1^b is used by the sender iff Δ_1 = b.
    for seed in 20..24u128 {
        for b in 0..2 {
            let (r, delta) = run_cheater(500, seed, vec![], Some((b, Block::new(1 << 40))));
            if (delta >> 1) & 1 == b as u128 {
                assert!(rejected(&r), "seed {seed}, correction {b}");
            } else {
                assert!(r.is_ok(), "seed {seed}: correction {b} unused");
            }
        }
    }
    // Level 3 of chunk 5 (index 5·6 + 4 + b).
    let (r, delta) = run_cheater(500, 30, vec![], Some((34, Block::ONES)));
    let (r2, _) = run_cheater(500, 30, vec![], Some((35, Block::ONES)));
    assert!(rejected(&r) ^ rejected(&r2), "Δ_23 = {}", (delta >> 23) & 1);
}

/// A receiver that sends `bytes` instead of its part of the call after an
/// honest set-up (and `n` announced), then hangs up.
fn hostile_receiver(n: usize, announced: u64, body: Vec<u8>, answer: bool) -> OtError {
    let (a, b) = memory_pair();
    let sender = std::thread::spawn(move || {
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_seed(Block::new(40));
        let delta = Delta::random(&mut prg);
        let mut ot = SoftSpokenSender::<MaliciousReceiver>::setup(&mut ch, &mut prg, delta).unwrap();
        ot.bind_check(BINDING);
        let mut out = vec![Block::ZERO; n];
        ot.send_correlated(&mut ch, &mut out).unwrap_err()
    });
    let mut ch = Channel::new(b);
    let mut prg = Prg::from_seed(Block::new(41));
    let _ot = SoftSpokenReceiver::<MaliciousReceiver>::setup(&mut ch, &mut prg).unwrap();
    ch.send_u64(announced).unwrap();
    ch.send_bytes(&body).unwrap();
    ch.flush().unwrap();
    if answer {
        let mut junk = vec![0u8; 129 * 16];
        prg.fill_bytes(&mut junk);
        ch.send_bytes(&junk).unwrap();
        ch.flush().unwrap();
    }
    drop(ch);
    sender.join().unwrap()
}

#[test]
fn hostile_messages_are_typed_errors() {
    let n = 300;
    // 3 blocks per column, the extra block 1: (3 + 1)·32 columns.
    let full = 4 * 32 * 16;
    let err = hostile_receiver(n, 301, vec![], false);
    assert!(matches!(err, OtError::LengthMismatch { expected: 300, received: 301, .. }), "{err}");
    let err = hostile_receiver(n, u64::MAX, vec![], false);
    assert!(matches!(err, OtError::LengthMismatch { .. }), "{err}");
    for short in [0, 1, 16 * 32 * 3 - 1, full - 5] {
        let err = hostile_receiver(n, n as u64, vec![0xab; short], false);
        assert!(
            matches!(err, OtError::Channel(crate::channel::ChannelError::Truncated { .. })),
            "{short}: {err}"
        );
    }
    // The right length of random bytes, and a random answer.
    let mut junk = vec![0u8; full];
    Prg::from_seed(Block::new(42)).fill_bytes(&mut junk);
    assert!(rejected(&Err(hostile_receiver(n, n as u64, junk.clone(), true))));
    // All zeros: a consistent-looking but unrelated matrix.
    assert!(rejected(&Err(hostile_receiver(n, n as u64, vec![0; full], true))));
    // The columns, then an answer cut short.
    let err = hostile_receiver(n, n as u64, junk, false);
    assert!(matches!(err, OtError::Channel(_)), "{err}");
}

#[test]
fn truncated_ggm_corrections_are_a_typed_error() {
    let (a, b) = memory_pair();
    let sender = std::thread::spawn(move || {
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_seed(Block::new(50));
        let delta = Delta::random(&mut prg);
        SoftSpokenSender::<MaliciousReceiver>::setup(&mut ch, &mut prg, delta).unwrap_err()
    });
    let mut ch = Channel::new(b);
    let mut prg = Prg::from_seed(Block::new(51));
    let started = base::SenderStart::send(&mut ch, &mut prg).unwrap();
    let _keys = started.finish(&mut ch, KAPPA).unwrap();
    ch.send_bytes(&[7; 100]).unwrap();
    drop(ch);
    let err = sender.join().unwrap();
    assert!(matches!(err, OtError::Channel(_)), "{err}");
}

/// The sender's rows of one semi-honest call of `n` OTs, its batches driven
/// by hand: `prepare` says whether each batch's `W` columns are expanded
/// before its columns are read ([`SenderBatches::prepare_batch`], as the
/// driver does) or when it is finished; `stale` prepares a batch of
/// another size first, which the finish must not use. Also returns the
/// receiver's labels, choices and Δ.
fn hand_driven_call(n: usize, prepare: bool, stale: bool) -> (Vec<Block>, Vec<Block>, Vec<bool>, Block) {
    let (a, b) = memory_pair();
    let receiver = std::thread::spawn(move || {
        let mut ch = Channel::new(b);
        let mut prg = Prg::from_seed(Block::new(41));
        let mut ot = SoftSpokenReceiver::<SemiHonest, 4>::setup(&mut ch, &mut prg).unwrap();
        let choices: Vec<bool> = (0..n).map(|_| prg.random_bool()).collect();
        let mut t = vec![Block::ZERO; n];
        ot.receive_correlated(&mut ch, &choices, &mut t).unwrap();
        (t, choices)
    });
    let mut ch = Channel::new(a);
    let mut prg = Prg::from_seed(Block::new(40));
    let delta = Delta::random(&mut prg);
    let d = delta.as_block();
    let mut ot = SoftSpokenSender::<SemiHonest, 4>::setup(&mut ch, &mut prg, delta).unwrap();
    assert_eq!(ch.recv_u64().unwrap(), n as u64);
    let mut q = vec![Block::ZERO; n];
    for (start, len) in driver::batches(n) {
        if stale {
            ot.prepare_batch(len + 128);
        }
        if prepare {
            ot.prepare_batch(len);
        }
        ot.recv_batch(&mut ch, len, 0).unwrap();
        ot.finish_batch(&mut q[start..start + len], 0, None);
    }
    let (t, choices) = receiver.join().unwrap();
    (q, t, choices, d)
}

#[test]
fn batches_prepared_before_their_columns_give_the_same_rows() {
    let n = BATCH_ROWS + 300;
    let (plain, t, choices, delta) = hand_driven_call(n, false, false);
    for j in 0..n {
        assert_eq!(plain[j] ^ t[j], delta.select(choices[j]), "OT {j}");
    }
    assert_eq!(hand_driven_call(n, true, false).0, plain);
    // A batch prepared for another size is expanded again when finished.
    assert_eq!(hand_driven_call(n, false, true).0, plain);
}
