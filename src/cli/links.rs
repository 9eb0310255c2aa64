//! Connections to the peer for `garblet run`: the listener accepts, the
//! connector connects, and each connection is authenticated on its own
//! (dual execution opens a second one once the first's hello has agreed).
//!
//! A listener must survive strays: a port scan, an HTTP request, a peer
//! with another certificate, or a client that trickles one byte every few
//! seconds. Each accepted connection gets its own handshake thread with a
//! deadline, so no stray can hold the listener, and the first connection
//! that authenticates as the pinned peer wins. Strays are dropped with one
//! line each (and counted in the audit line) while the wait goes on until
//! the timeout.

use super::audit::Audit;
use anyhow::Result;
use garblet::engine::net::{self, NetError, PinnedTls, Side, TcpOptions, TimedStream};
use garblet::engine::session::escape;
use serde_json::json;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Handshakes a listener runs at once; more connections than this are
/// dropped unread until one finishes.
const MAX_PENDING_HANDSHAKES: usize = 32;

/// Anything that is both `Read` and `Write` (TCP or TLS), boxed.
pub(super) trait Transport: Read + Write + Send {}
impl<T: Read + Write + Send> Transport for T {}

/// Where connections come from.
pub(super) enum Source<'r> {
    /// A listener bound for this run.
    Bound(TcpListener),
    /// The caller's listener.
    Borrowed(&'r TcpListener),
    /// The peer's address.
    Connect(&'r str),
}

/// Opens authenticated connections to the one peer.
pub(super) struct Links<'r> {
    source: Source<'r>,
    tls: Option<PinnedTls>,
    options: TcpOptions,
    audit: Audit,
    traffic: Traffic,
    /// Whether the listener said where it waits (once per run).
    announced: std::cell::Cell<bool>,
}

/// Bytes each way over all of a run's connections (protocol bytes, TLS
/// framing excluded), kept outside the session so that a failed run still
/// reports them.
#[derive(Clone, Default)]
pub(super) struct Traffic {
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
}

impl Traffic {
    /// (sent, received) so far.
    pub(super) fn totals(&self) -> (u64, u64) {
        (self.sent.load(Ordering::Relaxed), self.received.load(Ordering::Relaxed))
    }
}

struct Counted<T> {
    inner: T,
    traffic: Traffic,
}

impl<T: Read> Read for Counted<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.traffic.received.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<T: Write> Write for Counted<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.traffic.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<'r> Links<'r> {
    /// Links from `source`, over TLS with `tls` or plain TCP with `None`.
    /// (`traffic` counts the bytes of every connection opened.)
    pub(super) fn new(
        source: Source<'r>,
        tls: Option<PinnedTls>,
        options: TcpOptions,
        audit: Audit,
        traffic: Traffic,
    ) -> Self {
        Links { source, tls, options, audit, traffic, announced: Default::default() }
    }

    /// The next connection to the peer, authenticated.
    pub(super) fn open(&self) -> Result<Box<dyn Transport>> {
        let (from, stream): (String, Box<dyn Transport>) = match &self.source {
            Source::Bound(listener) => self.accept_peer(listener)?,
            Source::Borrowed(listener) => self.accept_peer(listener)?,
            Source::Connect(addr) => {
                let tcp = net::connect(addr, &self.options)?;
                let from = address(&tcp);
                match &self.tls {
                    None => (from, Box::new(tcp)),
                    Some(tls) => {
                        let secured =
                            tls.secure(tcp, Side::Connector, self.options.io_timeout).inspect_err(|e| {
                                self.audit.set_peer("address", json!(from));
                                if let NetError::PeerNotTrusted { presented, .. } = e {
                                    self.audit
                                        .set_peer("fingerprint_presented", json!(presented.to_string()));
                                }
                            })?;
                        (from, Box::new(secured))
                    }
                }
            }
        };
        self.audit.set_peer("address", json!(from));
        if let Some(peer) = self.tls.as_ref().and_then(PinnedTls::peer) {
            // The handshake accepted exactly this certificate.
            self.audit.set_peer("fingerprint_presented", json!(peer.to_string()));
        }
        Ok(Box::new(Counted { inner: stream, traffic: self.traffic.clone() }))
    }

    /// Waits for the authenticated peer until the connect timeout.
    fn accept_peer(&self, listener: &TcpListener) -> Result<(String, Box<dyn Transport>)> {
        let total = self.options.connect_timeout;
        let deadline = Instant::now() + total;
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let announce = !self.announced.replace(true);
        let Some(tls) = &self.tls else {
            if announce {
                errln!("waiting for the peer on {addr} (plain TCP, --insecure)");
            }
            let tcp = net::accept(listener, &self.options)?;
            return Ok((address(&tcp), Box::new(tcp)));
        };
        if announce {
            let peer = tls.peer().map_or_else(|| "any".to_owned(), |p| p.to_string());
            errln!("waiting for the peer on {addr} (fingerprint {peer})");
        }
        listener.set_nonblocking(true)?;
        let (done_tx, done_rx) = mpsc::channel::<(String, Result<net::TlsStream, NetError>)>();
        let (mut pending, mut refused) = (0usize, 0u64);
        let mut last_refusal = String::new();
        loop {
            // Finished handshakes first: the peer, or strays to drop.
            let wait = if pending > 0 { Duration::from_millis(5) } else { Duration::ZERO };
            while let Ok((from, result)) = done_rx.recv_timeout(wait) {
                pending -= 1;
                match result {
                    Ok(stream) => {
                        listener.set_nonblocking(false)?;
                        return Ok((from, Box::new(stream)));
                    }
                    Err(e) => {
                        let reason = escape(&super::one_line(&anyhow::Error::new(e)));
                        errln!("ignored a connection from {from}: {reason}");
                        self.audit.stray(&from, &reason);
                        refused += 1;
                        last_refusal = format!("; the last, from {from}: {reason}");
                    }
                }
                if pending == 0 {
                    break;
                }
            }
            let now = Instant::now();
            if now >= deadline && pending == 0 {
                listener.set_nonblocking(false)?;
                let strays = match refused {
                    0 => String::new(),
                    n => format!(" (refused {n} connection{}{last_refusal})", if n == 1 { "" } else { "s" }),
                };
                let seconds = total.as_secs().max(1);
                let timeout = NetError::AcceptTimeout { addr: addr.clone(), seconds };
                return Err(match refused {
                    0 => timeout.into(),
                    _ => anyhow::Error::new(timeout)
                        .context(format!("no peer connected to {addr} within {seconds} s{strays}")),
                });
            }
            if now >= deadline {
                continue; // only the handshakes under way may still finish
            }
            match listener.accept() {
                Ok((tcp, from)) => {
                    let from = from.to_string();
                    if pending >= MAX_PENDING_HANDSHAKES {
                        errln!("ignored a connection from {from}: {MAX_PENDING_HANDSHAKES} handshakes already under way");
                        continue;
                    }
                    tcp.set_nonblocking(false)?;
                    let stream = TimedStream::new(tcp, self.options.io_timeout)?;
                    // A handshake may not outlast the wait for the peer (but
                    // gets at least a second, for a peer that comes late).
                    let within = self.options.io_timeout.min(deadline - now).max(Duration::from_secs(1));
                    let (tls, done) = (tls.clone(), done_tx.clone());
                    std::thread::spawn(move || {
                        let result = tls.secure(stream, Side::Listener, within);
                        let _ = done.send((from, result));
                    });
                    pending += 1;
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
                    // With handshakes under way the loop comes back here
                    // every 5 ms (their results above); without, it waits
                    // for the next connection, or the deadline.
                    if pending == 0 {
                        net::wait_for_connection(listener, deadline - now)?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn address(tcp: &TimedStream) -> String {
    tcp.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "an unknown address".into())
}
