//! Oblivious-transfer benchmarks: 128 base OTs end to end, the phases of
//! 64 Masny–Rindal OTs (a session's few evaluator bits), and correlated
//! OTs (correlation Δ, chosen choice bits) per second for 2^20 and 2^24 OTs
//! per call, semi-honest and with the malicious-receiver (KOS) check, over
//! the in-memory channel, each party on one thread. Bytes
//! sent per OT are printed once per size. Figures are recorded in
//! `BENCHMARKS.md` (section "Oblivious transfer").
//!
//! `cargo bench -p garblet-engine --bench ot`; set `GARBLET_BENCH_QUICK=1`
//! for shorter measurements.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::io::{self, Read, Write};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use garblet_engine::channel::{memory_pair, Channel, MemoryChannel};
use garblet_engine::internal::{transpose_128x128, transpose_columns};
use garblet_engine::ot::{
    endemic, CheckBinding, MaliciousReceiver, OtExtReceiver, OtExtSender, Security, SemiHonest,
};
use garblet_engine::Block;
use garblet_engine::{Delta, Prg};

fn config() -> Criterion {
    let quick = std::env::var_os("GARBLET_BENCH_QUICK").is_some();
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if quick { 300 } else { 1000 }))
        .measurement_time(Duration::from_secs(if quick { 3 } else { 8 }))
}

enum Cmd {
    Setup,
    Cot(usize),
}

/// The checked OTs' binding without a session: any value both sides share.
const BENCH_BINDING: CheckBinding = CheckBinding::new([0xb7; 32]);

/// The sender (garbler) on its own thread, driven by commands.
struct SenderThread {
    cmd: Sender<Cmd>,
    /// The sender's thread CPU time for each finished command, in ns.
    done: Receiver<u64>,
    handle: Option<JoinHandle<()>>,
}

impl SenderThread {
    fn spawn<S: Security>(end: MemoryChannel) -> Self {
        let (cmd_tx, cmd_rx) = channel::<Cmd>();
        let (done_tx, done_rx) = channel::<u64>();
        let handle = std::thread::spawn(move || {
            let mut ch = Channel::new(end);
            let mut prg = Prg::from_entropy();
            let mut ot: Option<OtExtSender<S>> = None;
            let mut out: Vec<Block> = Vec::new();
            while let Ok(cmd) = cmd_rx.recv() {
                let cpu0 = thread_cpu_ns().unwrap_or(0);
                match cmd {
                    Cmd::Setup => {
                        let delta = Delta::random(&mut prg);
                        let mut s = OtExtSender::setup(&mut ch, &mut prg, delta).unwrap();
                        s.bind_check(BENCH_BINDING);
                        ot = Some(s);
                    }
                    Cmd::Cot(n) => {
                        out.resize(n, Block::ZERO);
                        let s = ot.as_mut().unwrap();
                        s.send_correlated(&mut ch, &mut out).unwrap();
                    }
                }
                let cpu = thread_cpu_ns().unwrap_or(0).saturating_sub(cpu0);
                done_tx.send(cpu).unwrap();
            }
        });
        SenderThread { cmd: cmd_tx, done: done_rx, handle: Some(handle) }
    }

    fn run(&self, cmd: Cmd) {
        self.cmd.send(cmd).unwrap();
    }

    /// Waits for the command to finish; returns the sender's CPU time in ns.
    fn wait(&self) -> u64 {
        self.done.recv().unwrap()
    }
}

impl Drop for SenderThread {
    fn drop(&mut self) {
        let (dummy, _) = channel();
        drop(std::mem::replace(&mut self.cmd, dummy));
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

fn bench_base_ot(c: &mut Criterion) {
    let mut g = c.benchmark_group("ot_base");
    g.bench_function("128_base_ots_end_to_end", |b| {
        b.iter_custom(|iters| {
            let (a, bch) = memory_pair();
            let sender = SenderThread::spawn::<SemiHonest>(a);
            let mut ch = Channel::new(bch);
            let mut prg = Prg::from_entropy();
            let start = Instant::now();
            for _ in 0..iters {
                sender.run(Cmd::Setup);
                let r = OtExtReceiver::<SemiHonest>::setup(&mut ch, &mut prg).unwrap();
                sender.wait();
                std::hint::black_box(r);
            }
            start.elapsed()
        })
    });
    // The OTs of a session with few evaluator input bits (millionaires:
    // 64), the receiver first (Masny–Rindal), each phase on the critical
    // path of a run: the receiver's message (before its first flight), the
    // sender's answer (its keys), the receiver's keys. The sender's and the
    // receiver's group work runs over the rayon pool.
    const N: usize = 64;
    let choices: Vec<bool> = (0..N).map(|i| i % 3 == 0).collect();
    let context = [9u8; 32];
    let message = {
        let (a, bch) = memory_pair();
        let mut ch = Channel::new(a);
        endemic::ReceiverStart::send(&mut ch, &mut Prg::from_entropy(), &choices).unwrap();
        ch.flush().unwrap();
        let mut bytes = vec![0u8; 8 + 64 * N];
        Channel::new(bch).recv_bytes(&mut bytes).unwrap();
        bytes
    };
    g.bench_function("64_endemic_receiver_message", |b| {
        let (a, _peer) = memory_pair();
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_entropy();
        b.iter(|| std::hint::black_box(endemic::ReceiverStart::send(&mut ch, &mut prg, &choices).unwrap()))
    });
    g.bench_function("64_endemic_sender", |b| {
        let mut prg = Prg::from_entropy();
        b.iter(|| {
            let (a, bch) = memory_pair();
            let mut peer = Channel::new(bch);
            peer.send_bytes(&message).unwrap();
            peer.flush().unwrap();
            let mut ch = Channel::new(a);
            std::hint::black_box(endemic::send_random(&mut ch, &mut prg, N, &context).unwrap())
        })
    });
    g.bench_function("64_endemic_receiver_keys", |b| {
        let mut prg = Prg::from_entropy();
        let a_point = {
            let (a, bch) = memory_pair();
            let mut peer = Channel::new(bch);
            peer.send_bytes(&message).unwrap();
            peer.flush().unwrap();
            let mut ch = Channel::new(a);
            endemic::send_random(&mut ch, &mut prg, N, &context).unwrap();
            ch.flush().unwrap();
            let mut a_bytes = [0u8; 32];
            peer.recv_bytes(&mut a_bytes).unwrap();
            a_bytes
        };
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (a, bch) = memory_pair();
                let mut ch = Channel::new(a);
                let started = endemic::ReceiverStart::send(&mut ch, &mut prg, &choices).unwrap();
                let mut peer = Channel::new(bch);
                peer.send_bytes(&a_point).unwrap();
                peer.flush().unwrap();
                let start = Instant::now();
                std::hint::black_box(started.finish(&mut ch, &context).unwrap());
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn bench_transpose(c: &mut Criterion) {
    let mut g = c.benchmark_group("ot_transpose");
    let mut prg = Prg::from_seed(Block::new(1));
    let mut tile = [0u128; 128];
    for t in tile.iter_mut() {
        *t = prg.random_block().to_u128();
    }
    g.throughput(Throughput::Elements(128));
    g.bench_function("tile_128x128", |b| b.iter(|| transpose_128x128(std::hint::black_box(&mut tile))));
    let n = 1 << 16;
    let mut cols = vec![Block::ZERO; n];
    prg.fill_blocks(&mut cols);
    let mut rows = vec![Block::ZERO; n];
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("columns_65536_rows", |b| {
        b.iter(|| transpose_columns(std::hint::black_box(&cols), &mut rows))
    });
    g.finish();
}

fn bench_cot_for<S: Security>(c: &mut Criterion, sizes: &[usize]) {
    let mut g = c.benchmark_group(format!("ot_cot_{}", S::NAME));
    let (a, bch) = memory_pair();
    let sender = SenderThread::spawn::<S>(a);
    let mut ch = Channel::new(bch);
    let mut prg = Prg::from_entropy();
    sender.run(Cmd::Setup);
    let mut ot = OtExtReceiver::<S>::setup(&mut ch, &mut prg).unwrap();
    ot.bind_check(BENCH_BINDING);
    sender.wait();
    for &n in sizes {
        let choices: Vec<bool> = (0..n).map(|_| prg.random_bool()).collect();
        let mut labels = vec![Block::ZERO; n];
        // Bytes per OT, measured once on the channel counters.
        let before_r = ch.bytes_sent();
        let before_s = ch.bytes_received();
        sender.run(Cmd::Cot(n));
        ot.receive_correlated(&mut ch, &choices, &mut labels).unwrap();
        sender.wait();
        let up = ch.bytes_sent() - before_r;
        let down = ch.bytes_received() - before_s;
        eprintln!(
            "ot_cot_{} n={n}: receiver->sender {up} B ({:.3} B/OT), sender->receiver {down} B",
            S::NAME,
            up as f64 / n as f64
        );
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("correlated_ots", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    sender.run(Cmd::Cot(n));
                    ot.receive_correlated(&mut ch, &choices, &mut labels).unwrap();
                    sender.wait();
                }
                start.elapsed()
            })
        });
        // Critical-path CPU time: the larger of the two parties' thread CPU
        // times. This is the time with one idle core per party, measured
        // even when other jobs share the machine.
        if thread_cpu_ns().is_some() {
            g.bench_with_input(BenchmarkId::new("correlated_ots_cpu_bound", n), &n, |b, &n| {
                b.iter_custom(|iters| {
                    let (mut recv_ns, mut send_ns) = (0u64, 0u64);
                    for _ in 0..iters {
                        sender.run(Cmd::Cot(n));
                        let c0 = thread_cpu_ns().unwrap_or(0);
                        ot.receive_correlated(&mut ch, &choices, &mut labels).unwrap();
                        recv_ns += thread_cpu_ns().unwrap_or(0).saturating_sub(c0);
                        send_ns += sender.wait();
                    }
                    Duration::from_nanos(recv_ns.max(send_ns))
                })
            });
        }
    }
    g.finish();
}

/// A one-way in-memory byte buffer: what one end writes, the other reads
/// later, on the same thread.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<(Vec<u8>, usize)>>);

struct BufferEnd {
    tx: Buffer,
    rx: Buffer,
}

impl Write for BufferEnd {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.tx.0.lock().unwrap().0.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for BufferEnd {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut g = self.rx.0.lock().unwrap();
        let (buf, pos) = &mut *g;
        let n = out.len().min(buf.len() - *pos);
        out[..n].copy_from_slice(&buf[*pos..*pos + n]);
        *pos += n;
        if *pos == buf.len() {
            buf.clear();
            *pos = 0;
        }
        Ok(n)
    }
}

/// Both parties on one thread: the receiver's whole message is produced,
/// then consumed by the sender. The time is the two parties' CPU work
/// added up (semi-honest correlated OT is one message, so this is exact),
/// and it does not depend on getting two idle cores.
fn bench_cot_one_thread(c: &mut Criterion, sizes: &[usize]) {
    let mut g = c.benchmark_group("ot_cot_one_thread");
    // Base OTs over the threaded pipe; the sessions do not own a channel.
    let (a, bch) = memory_pair();
    let setup = std::thread::spawn(move || {
        let mut ch = Channel::new(a);
        let mut prg = Prg::from_entropy();
        OtExtSender::<SemiHonest>::setup_with_random_delta(&mut ch, &mut prg).unwrap()
    });
    let mut prg = Prg::from_entropy();
    let mut receiver = OtExtReceiver::<SemiHonest>::setup(&mut Channel::new(bch), &mut prg).unwrap();
    let mut sender = setup.join().unwrap();
    let (r_to_s, s_to_r) = (Buffer::default(), Buffer::default());
    let mut rch = Channel::new(BufferEnd { tx: r_to_s.clone(), rx: s_to_r.clone() });
    let mut sch = Channel::new(BufferEnd { tx: s_to_r, rx: r_to_s });
    for &n in sizes {
        let choices: Vec<bool> = (0..n).map(|_| prg.random_bool()).collect();
        let mut labels = vec![Block::ZERO; n];
        let mut zeros = vec![Block::ZERO; n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("receiver_then_sender", n), &n, |b, _| {
            b.iter(|| {
                receiver.receive_correlated(&mut rch, &choices, &mut labels).unwrap();
                sender.send_correlated(&mut sch, &mut zeros).unwrap();
            })
        });
        // The same work timed by the thread's CPU clock (Linux schedstat),
        // so time spent descheduled on a busy machine does not count.
        if thread_cpu_ns().is_some() {
            g.bench_with_input(BenchmarkId::new("receiver_then_sender_cpu_time", n), &n, |b, _| {
                b.iter_custom(|iters| {
                    let start = thread_cpu_ns().unwrap_or(0);
                    for _ in 0..iters {
                        receiver.receive_correlated(&mut rch, &choices, &mut labels).unwrap();
                        sender.send_correlated(&mut sch, &mut zeros).unwrap();
                    }
                    Duration::from_nanos(thread_cpu_ns().unwrap_or(0).saturating_sub(start))
                })
            });
        }
        let d = sender.delta().as_block();
        receiver.receive_correlated(&mut rch, &choices, &mut labels).unwrap();
        sender.send_correlated(&mut sch, &mut zeros).unwrap();
        assert!((0..n).all(|j| labels[j] == zeros[j] ^ d.select(choices[j])));
    }
    g.finish();
}

/// CPU time of the calling thread in nanoseconds, from
/// `/proc/thread-self/schedstat` (Linux), if available.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn bench_cot(c: &mut Criterion) {
    bench_cot_one_thread(c, &[1 << 20, 1 << 24]);
    bench_cot_for::<SemiHonest>(c, &[1 << 20, 1 << 24]);
    bench_cot_for::<MaliciousReceiver>(c, &[1 << 20, 1 << 24]);
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_transpose, bench_base_ot, bench_cot
}
criterion_main!(benches);
