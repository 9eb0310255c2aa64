//! TCP with the settings a two-party protocol wants: Nagle off (the protocol
//! has many small round trips), connect retried with exponential back-off
//! (the other party may start a few seconds later), and read/write timeouts
//! so that a vanished peer is an error, not a hang.

use super::NetError;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Timeouts for connecting and for each read or write.
#[derive(Clone, Copy, Debug)]
pub struct TcpOptions {
    /// How long to keep trying to connect, or to wait for a peer to connect.
    pub connect_timeout: Duration,
    /// How long one read or write may block before the run fails.
    pub io_timeout: Duration,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions { connect_timeout: Duration::from_secs(30), io_timeout: Duration::from_secs(30) }
    }
}

/// Connects to `addr`, retrying with back-off (50 ms doubling to 1 s) until
/// `connect_timeout`.
pub fn connect(addr: &str, options: &TcpOptions) -> Result<TimedStream, NetError> {
    let deadline = Instant::now() + options.connect_timeout;
    let mut delay = Duration::from_millis(50);
    let fail = |cause| NetError::Connect {
        addr: addr.to_owned(),
        seconds: options.connect_timeout.as_secs(),
        cause,
    };
    loop {
        let attempt = addr.to_socket_addrs().and_then(|mut addrs| {
            let target = addrs.next().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(10));
            TcpStream::connect_timeout(&target, left)
        });
        match attempt {
            Ok(stream) => return Ok(TimedStream::new(stream, options.io_timeout)?),
            Err(e) if Instant::now() + delay >= deadline => return Err(fail(e)),
            Err(_) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Binds a listener on `addr`.
pub fn listen(addr: &str) -> Result<TcpListener, NetError> {
    TcpListener::bind(addr).map_err(|cause| NetError::Listen { addr: addr.to_owned(), cause })
}

/// Waits up to `connect_timeout` for one peer on `listener`.
pub fn accept(listener: &TcpListener, options: &TcpOptions) -> Result<TimedStream, NetError> {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + options.connect_timeout;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(NetError::AcceptTimeout { addr, seconds: options.connect_timeout.as_secs() });
                }
                wait_for_connection(listener, deadline - now)?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    listener.set_nonblocking(false)?;
    stream.set_nonblocking(false)?;
    Ok(TimedStream::new(stream, options.io_timeout)?)
}

/// Waits until `listener` (non-blocking) has a connection to accept, or
/// `timeout` has passed, whichever comes first; then the caller accepts.
/// On Unix a `poll(2)` on the socket, so that a peer's connection is taken
/// as soon as it arrives (a loop that slept between attempts added up to
/// its sleep to every run's first round trip); elsewhere a short sleep.
pub fn wait_for_connection(listener: &TcpListener, timeout: Duration) -> io::Result<()> {
    #[cfg(unix)]
    {
        use nix::errno::Errno;
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        // poll(2) waits at most i32::MAX ms (24 days); the callers loop.
        let ms = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(_) | Err(Errno::EINTR) => Ok(()),
            Err(e) => Err(io::Error::from(e)),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = listener;
        std::thread::sleep(timeout.min(Duration::from_millis(5)));
        Ok(())
    }
}

/// Which way a stalled stream was waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StallDirection {
    /// Waiting for the peer to send.
    Receiving,
    /// Waiting for the peer to take what we send (its buffers are full: it
    /// is frozen, overloaded, or a proxy in between stopped forwarding).
    Sending,
}

/// The peer made no progress within the I/O timeout or before a deadline.
/// Carried inside an `io::Error` of kind `TimedOut`; find it with
/// [`Stalled::find`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Stalled {
    /// Which way we were waiting.
    pub direction: StallDirection,
    /// How long we waited, in whole seconds (at least 1 when non-zero).
    pub waited: Duration,
    /// True if an absolute deadline (the time allowed for the TLS handshake
    /// of a connection not yet authenticated) ran out, not the I/O timeout.
    pub deadline: bool,
}

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.waited.as_secs().max(1);
        match (self.deadline, self.direction) {
            (true, _) => write!(f, "the connection was not authenticated within {secs} s"),
            (false, StallDirection::Receiving) => write!(f, "no message from the peer for {secs} s"),
            (false, StallDirection::Sending) => write!(
                f,
                "the peer took none of our data for {secs} s (it is frozen or overloaded, or the network stopped forwarding)"
            ),
        }
    }
}

impl Stalled {
    /// The `Stalled` inside an error chain, if any.
    pub fn find<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e Stalled> {
        let mut cur = Some(e);
        while let Some(err) = cur {
            if let Some(s) = err.downcast_ref::<Stalled>() {
                return Some(s);
            }
            if let Some(io) = err.downcast_ref::<io::Error>() {
                if let Some(s) = io.get_ref().and_then(|inner| inner.downcast_ref::<Stalled>()) {
                    return Some(s);
                }
            }
            cur = err.source();
        }
        None
    }
}

/// How many of the first bytes received a [`TimedStream`] keeps, to say what
/// a peer that does not speak TLS spoke instead.
pub(super) const FIRST_BYTES: usize = 16;

/// A TCP stream to the peer whose every read and write is bounded by the
/// I/O timeout and, while one is set, by an absolute deadline.
///
/// Why not the socket timeouts alone: they bound each system call, and a
/// layer above (TLS, a `write_all`) may retry a timed-out call, or swallow
/// its error and block again on the next one, so that a frozen peer held a
/// run for several timeouts. Here the first timeout is final: the socket is
/// shut down, and every later read or write fails at once with the same
/// [`Stalled`] error.
#[derive(Debug)]
pub struct TimedStream {
    tcp: TcpStream,
    io_timeout: Duration,
    deadline: Option<(Instant, Duration)>,
    stalled: Option<Stalled>,
    /// Since when writes have only trickled out, and how much went.
    trickle: Option<(Instant, usize)>,
    first: [u8; FIRST_BYTES],
    first_len: usize,
}

/// Below this much accepted data per I/O timeout, a writer counts as
/// stalled: a frozen peer's kernel still frees a few bytes now and then,
/// and each partial write would otherwise restart the socket's timer.
pub(super) const MIN_SEND_PROGRESS: usize = 16 * 1024;

impl TimedStream {
    /// Wraps a connected stream (Nagle is turned off).
    pub fn new(tcp: TcpStream, io_timeout: Duration) -> io::Result<Self> {
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(io_timeout))?;
        tcp.set_write_timeout(Some(io_timeout))?;
        Ok(TimedStream {
            tcp,
            io_timeout,
            deadline: None,
            stalled: None,
            trickle: None,
            first: [0; FIRST_BYTES],
            first_len: 0,
        })
    }

    /// Bounds every read and write by `within` from now, on top of the I/O
    /// timeout (`None` lifts it). Used for the handshake of a connection not
    /// yet authenticated, so that a peer that trickles one byte at a time
    /// cannot hold the listener.
    pub fn set_deadline(&mut self, within: Option<Duration>) -> io::Result<()> {
        self.deadline = within.map(|w| (Instant::now() + w, w));
        if within.is_none() {
            self.tcp.set_read_timeout(Some(self.io_timeout))?;
            self.tcp.set_write_timeout(Some(self.io_timeout))?;
        }
        Ok(())
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.tcp.peer_addr()
    }

    /// The first bytes the peer sent (up to 16).
    pub fn first_bytes(&self) -> &[u8] {
        &self.first[..self.first_len]
    }

    /// The stall that ended this stream, if one did.
    pub fn stalled(&self) -> Option<Stalled> {
        self.stalled
    }

    /// Sets the socket timeout for the next call; `Err` once the deadline
    /// has passed or the stream is dead.
    fn arm(&mut self, direction: StallDirection) -> io::Result<()> {
        if let Some(s) = self.stalled {
            return Err(io::Error::new(io::ErrorKind::TimedOut, s));
        }
        if let Some((at, _)) = self.deadline {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.stall(direction));
            }
            let t = Some(left.min(self.io_timeout));
            match direction {
                StallDirection::Receiving => self.tcp.set_read_timeout(t)?,
                StallDirection::Sending => self.tcp.set_write_timeout(t)?,
            }
        }
        Ok(())
    }

    /// Records a stall, shuts the socket down (the peer sees the end of the
    /// stream), and returns the error every later call will get.
    fn stall(&mut self, direction: StallDirection) -> io::Error {
        let deadline = self.deadline.is_some_and(|(at, _)| Instant::now() >= at);
        let waited = match self.deadline {
            Some((_, within)) if deadline => within,
            _ => self.io_timeout,
        };
        let s = Stalled { direction, waited, deadline };
        self.stalled = Some(s);
        let _ = self.tcp.shutdown(Shutdown::Both);
        io::Error::new(io::ErrorKind::TimedOut, s)
    }

    fn check<T>(&mut self, r: io::Result<T>, direction: StallDirection) -> io::Result<T> {
        match r {
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Err(self.stall(direction))
            }
            other => other,
        }
    }
}

impl Read for TimedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm(StallDirection::Receiving)?;
        let r = self.tcp.read(buf);
        let n = self.check(r, StallDirection::Receiving)?;
        if self.first_len < FIRST_BYTES {
            let take = n.min(FIRST_BYTES - self.first_len);
            self.first[self.first_len..self.first_len + take].copy_from_slice(&buf[..take]);
            self.first_len += take;
        }
        Ok(n)
    }
}

impl TimedStream {
    /// One write to the socket (`io` makes the system call and returns how
    /// many of the `len` bytes offered it took), under the I/O timeout, the
    /// deadline and the trickle rule: partial writes share one timeout, and
    /// less than [`MIN_SEND_PROGRESS`] bytes within it is a stall.
    fn send_with(
        &mut self,
        len: usize,
        io: impl FnOnce(&mut TcpStream) -> io::Result<usize>,
    ) -> io::Result<usize> {
        self.arm(StallDirection::Sending)?;
        if let Some((since, _)) = self.trickle {
            // Partial writes share one timeout between them.
            let mut left = self.io_timeout.saturating_sub(since.elapsed());
            if let Some((at, _)) = self.deadline {
                left = left.min(at.saturating_duration_since(Instant::now()));
            }
            if left.is_zero() {
                return Err(self.stall(StallDirection::Sending));
            }
            self.tcp.set_write_timeout(Some(left))?;
        }
        let began = Instant::now();
        let r = io(&mut self.tcp);
        let n = self.check(r, StallDirection::Sending)?;
        match self.trickle {
            _ if n == len && self.trickle.is_none() => {}
            Some((_, sent)) if n == len || sent + n >= MIN_SEND_PROGRESS => {
                self.trickle = None;
                if self.deadline.is_none() {
                    self.tcp.set_write_timeout(Some(self.io_timeout))?;
                }
            }
            Some((since, sent)) => self.trickle = Some((since, sent + n)),
            // The partial write may itself have waited: count from its start.
            None => self.trickle = Some((began, n)),
        }
        Ok(n)
    }
}

impl Write for TimedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_with(buf.len(), |tcp| tcp.write(buf))
    }

    /// One `writev` for all of `bufs` (TLS hands over its queued records at
    /// once; without this, each record would be its own system call), under
    /// the same timeout, deadline and trickle rule as [`Write::write`].
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.send_with(len, |tcp| tcp.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.arm(StallDirection::Sending)?;
        let r = self.tcp.flush();
        self.check(r, StallDirection::Sending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(io_timeout: Duration) -> (TimedStream, TcpStream) {
        let listener = listen("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let options = TcpOptions { connect_timeout: Duration::from_secs(5), io_timeout };
        let peer = TcpStream::connect(&addr).unwrap();
        (accept(&listener, &options).unwrap(), peer)
    }

    #[test]
    fn waiting_for_a_connection_returns_when_one_can_be_accepted_or_when_the_time_is_up() {
        let listener = listen("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        // Nothing comes: the wait ends (after the timeout) and there is
        // nothing to accept.
        wait_for_connection(&listener, Duration::from_millis(20)).unwrap();
        assert_eq!(listener.accept().unwrap_err().kind(), io::ErrorKind::WouldBlock);
        // A peer connects while we wait (far shorter than the timeout):
        // once the wait returns, the connection is there to accept.
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            TcpStream::connect(addr).unwrap()
        });
        let mut accepted = None;
        while accepted.is_none() {
            wait_for_connection(&listener, Duration::from_secs(30)).unwrap();
            accepted = listener.accept().ok();
        }
        let (_stream, from) = accepted.unwrap();
        assert_eq!(from, peer.join().unwrap().local_addr().unwrap());
    }

    #[test]
    fn a_peer_that_takes_nothing_fails_a_writer_once_within_the_timeout() {
        let (mut ours, _frozen) = pair(Duration::from_millis(300));
        let start = Instant::now();
        let chunk = vec![0u8; 1 << 20];
        let err = loop {
            // A frozen peer never reads: the buffers fill, then a write stalls.
            if let Err(e) = ours.write_all(&chunk) {
                break e;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "socket buffers never filled");
        };
        let stalled = Stalled::find(&err).copied().expect("a Stalled error");
        assert_eq!(stalled.direction, StallDirection::Sending);
        assert!(!stalled.deadline);
        // The first stall is final: later calls fail at once, in both ways.
        let again = Instant::now();
        assert!(ours.write(&chunk).is_err());
        assert!(ours.read(&mut [0u8; 4]).is_err());
        assert!(again.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn vectored_writes_to_a_peer_that_takes_nothing_fail_once_within_the_timeout() {
        // What TLS uses to send its records: the same timeout and final stall.
        let (mut ours, _frozen) = pair(Duration::from_millis(300));
        let chunk = vec![0u8; 256 << 10];
        let mut err = None;
        // Far more than any socket buffer holds: the writes must stall.
        for _ in 0..10_000 {
            let bufs = [io::IoSlice::new(&chunk), io::IoSlice::new(&chunk[..1000])];
            if let Err(e) = ours.write_vectored(&bufs) {
                err = Some(e);
                break;
            }
        }
        let err = err.expect("socket buffers never filled");
        let stalled = Stalled::find(&err).copied().expect("a Stalled error");
        assert_eq!(stalled.direction, StallDirection::Sending);
        // The first stall is final, for plain and vectored writes alike.
        for e in [
            ours.write_vectored(&[io::IoSlice::new(&chunk)]).unwrap_err(),
            ours.read(&mut [0u8; 4]).unwrap_err(),
        ] {
            assert_eq!(Stalled::find(&e).copied(), Some(stalled));
        }
    }

    #[test]
    fn a_silent_peer_fails_a_reader() {
        let (mut ours, _silent) = pair(Duration::from_millis(200));
        let err = ours.read(&mut [0u8; 4]).unwrap_err();
        let stalled = Stalled::find(&err).copied().unwrap();
        assert_eq!(stalled.direction, StallDirection::Receiving);
        assert_eq!(err.to_string(), "no message from the peer for 1 s");
    }

    #[test]
    fn a_deadline_bounds_a_peer_that_trickles() {
        // One byte every 100 ms never trips a 1 s I/O timeout (a margin for
        // a loaded machine's late wake-ups); the deadline ends it.
        let (mut ours, mut peer) = pair(Duration::from_secs(1));
        let trickler = std::thread::spawn(move || {
            for _ in 0..60 {
                if peer.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        ours.set_deadline(Some(Duration::from_secs(2))).unwrap();
        let start = Instant::now();
        let err = loop {
            if let Err(e) = ours.read(&mut [0u8; 1]) {
                break e;
            }
        };
        let took = start.elapsed();
        let stalled = Stalled::find(&err).copied().unwrap();
        assert!(stalled.deadline, "{stalled:?}");
        assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(5), "{took:?}");
        assert!(ours.first_bytes().iter().all(|&b| b == b'x') && !ours.first_bytes().is_empty());
        trickler.join().unwrap();
    }
}
