//! A TCP relay for the link benchmark (`benches/link/run.sh`): it sits
//! between the two parties, adds a fixed one-way delay in each direction
//! (this kernel has no `netem`), and counts what crosses it, so that bytes
//! and round trips are measured on the wire rather than reported by the
//! parties themselves.
//!
//! ```text
//! link_relay LISTEN UPSTREAM DELAY_MS REPORT.json
//! ```
//!
//! Every connection accepted on `LISTEN` is joined to a new connection to
//! `UPSTREAM` (dual execution opens two), retried while `UPSTREAM` still
//! refuses (a listener that loads and plans a large circuit before it
//! listens). Each direction is a delay line:
//! a reader thread stamps each chunk with its arrival time, a writer thread
//! sends it `DELAY_MS / 2` later, so a round trip gains `DELAY_MS`. The
//! relay exits once it has served at least one connection and all are
//! closed, writing one JSON object to `REPORT.json`:
//!
//! - `bytes_down` / `bytes_up`: bytes from the connector to the listener
//!   and back;
//! - `flights`: maximal runs of data in one direction (across all
//!   connections, in arrival order at the relay); `round_trips` is
//!   `flights / 2` rounded up — the protocol's round trips as the wire sees
//!   them, TLS handshake included;
//! - `first_byte_s` / `last_byte_s`: seconds from the first accepted
//!   connection to the first and the last byte relayed;
//! - `timeline`: each flight as `[direction, start_s, bytes]` (direction
//!   `"down"` from the connector, `"up"` back; `start_s` from the first
//!   byte): where a run waits on the peer and where it streams.
#![allow(missing_docs)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the relay saw.
struct Wire {
    start: Instant,
    bytes: [AtomicU64; 2],
    /// (last direction, flights so far, first byte, last byte) — one lock
    /// per chunk, enough at the rates this benchmark shapes.
    order: Mutex<(Option<usize>, u64, Option<Duration>, Duration)>,
    /// Each flight: (direction, arrival of its first byte, its bytes).
    timeline: Mutex<Vec<(usize, Duration, u64)>>,
    open: AtomicUsize,
}

impl Wire {
    fn saw(&self, direction: usize, n: usize) {
        self.bytes[direction].fetch_add(n as u64, Ordering::Relaxed);
        let now = self.start.elapsed();
        if let (Ok(mut o), Ok(mut timeline)) = (self.order.lock(), self.timeline.lock()) {
            if o.0 != Some(direction) {
                o.0 = Some(direction);
                o.1 += 1;
                timeline.push((direction, now, 0));
            }
            if let Some(flight) = timeline.last_mut() {
                flight.2 += n as u64;
            }
            o.2.get_or_insert(now);
            o.3 = now;
        }
    }
}

/// One direction: read, stamp, and hand to a writer that waits out the delay.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration, direction: usize, wire: Arc<Wire>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = std::thread::spawn(move || {
        for (due, chunk) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                wire.saw(direction, n);
                if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.join();
}

/// How long the relay keeps trying to reach a listener that is not up yet
/// (it may still be loading and planning a large circuit).
const UPSTREAM_PATIENCE: Duration = Duration::from_secs(120);

/// Connects to the listener, retrying every 50 ms while it refuses, for up
/// to [`UPSTREAM_PATIENCE`]; as `garblet run --connect` itself does.
fn connect_upstream(upstream: &str) -> Option<TcpStream> {
    let give_up = Instant::now() + UPSTREAM_PATIENCE;
    loop {
        match TcpStream::connect(upstream) {
            Ok(s) => return Some(s),
            Err(_) if Instant::now() < give_up => std::thread::sleep(Duration::from_millis(50)),
            Err(_) => return None,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: link_relay LISTEN UPSTREAM DELAY_MS REPORT.json");
        std::process::exit(2);
    }
    let (listen, upstream, report) = (&args[1], args[2].clone(), args[4].clone());
    let delay = Duration::from_micros(args[3].parse::<u64>().expect("DELAY_MS is an integer") * 500);
    let listener = TcpListener::bind(listen).expect("the relay can listen");
    listener.set_nonblocking(true).expect("non-blocking accept");
    let wire = Arc::new(Wire {
        start: Instant::now(),
        bytes: [AtomicU64::new(0), AtomicU64::new(0)],
        order: Mutex::new((None, 0, None, Duration::ZERO)),
        timeline: Mutex::new(Vec::new()),
        open: AtomicUsize::new(0),
    });
    let mut served = 0usize;
    let mut start_set = false;
    let mut start = Instant::now();
    loop {
        match listener.accept() {
            Ok((down, _)) => {
                if !start_set {
                    start = Instant::now();
                    start_set = true;
                }
                let Some(up) = connect_upstream(&upstream) else {
                    // The listener never came up: drop the connector's
                    // connection (it sees the close) and keep serving.
                    eprintln!("link_relay: {upstream} refused connections for {UPSTREAM_PATIENCE:?}");
                    drop(down);
                    continue;
                };
                let _ = (down.set_nodelay(true), up.set_nodelay(true));
                served += 1;
                wire.open.fetch_add(2, Ordering::SeqCst);
                for (from, to, direction) in
                    [(down.try_clone().expect("clone"), up.try_clone().expect("clone"), 0), (up, down, 1)]
                {
                    let wire = wire.clone();
                    std::thread::spawn(move || {
                        pipe(from, to, delay, direction, wire.clone());
                        wire.open.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if served > 0 && wire.open.load(Ordering::SeqCst) == 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    let o = wire.order.lock().expect("no writer panicked");
    let since = |d: Duration| (d.saturating_sub(start - wire.start)).as_secs_f64();
    let first = o.2.unwrap_or_default();
    let timeline: Vec<String> = wire
        .timeline
        .lock()
        .expect("no writer panicked")
        .iter()
        .map(|&(d, at, n)| format!("[\"{}\", {:.6}, {n}]", ["down", "up"][d], (at - first).as_secs_f64()))
        .collect();
    let json = format!(
        "{{\"connections\": {served}, \"bytes_down\": {}, \"bytes_up\": {}, \"flights\": {}, \"round_trips\": {}, \"first_byte_s\": {:.6}, \"last_byte_s\": {:.6}, \"timeline\": [{}]}}\n",
        wire.bytes[0].load(Ordering::Relaxed),
        wire.bytes[1].load(Ordering::Relaxed),
        o.1,
        o.1.div_ceil(2),
        o.2.map(since).unwrap_or(0.0),
        since(o.3),
        timeline.join(", ")
    );
    std::fs::write(&report, json).expect("the report can be written");
}
