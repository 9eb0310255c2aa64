//! TCP with the settings a two-party protocol wants: Nagle off (the protocol
//! has many small round trips), connect retried with exponential back-off
//! (the other party may start a few seconds later), and read/write timeouts
//! so that a vanished peer is an error, not a hang.

use super::NetError;
use std::io;
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
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

fn configure(stream: &TcpStream, options: &TcpOptions) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(options.io_timeout))?;
    stream.set_write_timeout(Some(options.io_timeout))?;
    Ok(())
}

/// Connects to `addr`, retrying with back-off (50 ms doubling to 1 s) until
/// `connect_timeout`.
pub fn connect(addr: &str, options: &TcpOptions) -> Result<TcpStream, NetError> {
    let deadline = Instant::now() + options.connect_timeout;
    let mut delay = Duration::from_millis(50);
    let fail = |source| NetError::Connect {
        addr: addr.to_owned(),
        seconds: options.connect_timeout.as_secs(),
        source,
    };
    loop {
        let attempt = addr.to_socket_addrs().and_then(|mut addrs| {
            let target = addrs.next().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(10));
            TcpStream::connect_timeout(&target, left)
        });
        match attempt {
            Ok(stream) => {
                configure(&stream, options)?;
                return Ok(stream);
            }
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
    TcpListener::bind(addr).map_err(|source| NetError::Listen { addr: addr.to_owned(), source })
}

/// Waits up to `connect_timeout` for one peer on `listener`.
pub fn accept(listener: &TcpListener, options: &TcpOptions) -> Result<TcpStream, NetError> {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + options.connect_timeout;
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {
                if Instant::now() >= deadline {
                    return Err(NetError::AcceptTimeout { addr, seconds: options.connect_timeout.as_secs() });
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    };
    listener.set_nonblocking(false)?;
    stream.set_nonblocking(false)?;
    configure(&stream, options)?;
    Ok(stream)
}
