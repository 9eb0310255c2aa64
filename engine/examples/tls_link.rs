//! The transport alone: one party streams bytes to the other over loopback,
//! through the same layers a session uses (`Channel` over `TlsStream` over
//! `TimedStream`, or `TimedStream` alone with `--insecure`), and each side
//! reports its wall time and the CPU time of its own thread.
//!
//! ```sh
//! cargo run --release -p garblet-engine --example tls_link -- [MIB] [CHUNK_KIB] [--insecure]
//! ```
//!
//! Defaults: 195 MiB (the 8,192-pair dot product's garbled tables) in
//! chunks of 1,024 KiB. The CPU time is read from
//! `/proc/thread-self/schedstat` (Linux; 0 elsewhere).

use garblet_engine::channel::Channel;
use garblet_engine::net::{self, Identity, PinnedTls, Side, TcpOptions};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Nanoseconds of CPU this thread has used so far.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn transfer<T: Read + Write>(ch: &mut Channel<T>, send: bool, total: usize, chunk: usize) -> (Duration, u64) {
    let mut buf = vec![0x5au8; chunk];
    let (t0, c0) = (Instant::now(), thread_cpu_ns());
    let mut done = 0;
    while done < total {
        let n = chunk.min(total - done);
        if send {
            ch.send_bytes(&buf[..n]).expect("send");
        } else {
            ch.recv_bytes(&mut buf[..n]).expect("receive");
        }
        done += n;
    }
    if send {
        ch.flush().expect("flush");
        // The receiver's one-byte answer: the sender's time covers delivery.
        let mut ack = [0u8; 1];
        ch.recv_bytes(&mut ack).expect("ack");
    } else {
        ch.send_bytes(&[1]).expect("ack");
        ch.flush().expect("flush");
    }
    (t0.elapsed(), thread_cpu_ns() - c0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let insecure = args.iter().any(|a| a == "--insecure");
    let mut numbers =
        args.iter().filter(|a| !a.starts_with("--")).map(|a| a.parse::<usize>().expect("a number"));
    let total = numbers.next().unwrap_or(195) << 20;
    let chunk = numbers.next().unwrap_or(1024) << 10;
    let options =
        TcpOptions { connect_timeout: Duration::from_secs(10), io_timeout: Duration::from_secs(30) };
    let (g, e) = (Identity::generate("g").expect("identity"), Identity::generate("e").expect("identity"));
    let (fg, fe) = (g.fingerprint(), e.fingerprint());
    let listener = net::listen("127.0.0.1:0").expect("listen");
    let addr = listener.local_addr().expect("address").to_string();
    let receiver = std::thread::spawn(move || {
        let tcp = net::accept(&listener, &options).expect("accept");
        if insecure {
            transfer(&mut Channel::new(tcp), false, total, chunk)
        } else {
            let tls = PinnedTls::new(&e, fg).expect("tls").secure(tcp, Side::Listener, options.io_timeout);
            transfer(&mut Channel::new(tls.expect("handshake")), false, total, chunk)
        }
    });
    let tcp = net::connect(&addr, &options).expect("connect");
    let sent = if insecure {
        transfer(&mut Channel::new(tcp), true, total, chunk)
    } else {
        let tls = PinnedTls::new(&g, fe).expect("tls").secure(tcp, Side::Connector, options.io_timeout);
        transfer(&mut Channel::new(tls.expect("handshake")), true, total, chunk)
    };
    let received = receiver.join().expect("receiver");
    let mib = (total >> 20) as f64;
    println!(
        "{} {} MiB in {} KiB chunks: {:.1} ms, {:.0} MiB/s; sender CPU {:.1} ms, receiver CPU {:.1} ms",
        if insecure { "tcp" } else { "tls" },
        total >> 20,
        chunk >> 10,
        sent.0.as_secs_f64() * 1e3,
        mib / sent.0.as_secs_f64(),
        sent.1 as f64 / 1e6,
        received.1 as f64 / 1e6,
    );
}
