//! Byte channels between the two parties.
//!
//! [`Channel`] wraps any blocking `Read + Write` transport (a `TcpStream`, a
//! TLS stream, the in-memory [`MemoryChannel`] of [`memory_pair`]) with
//! buffered framing helpers for the messages the engine exchanges: blocks,
//! `u64`s and bounded lengths. Both oblivious transfer ([`crate::ot`]) and
//! garbling speak to this one type.
//!
//! # Peer data is hostile
//!
//! * A read that ends before the expected number of bytes arrived is
//!   [`ChannelError::Truncated`], never a panic or a partially filled buffer
//!   passed on as if it were complete.
//! * A length read from the peer is checked against a caller-given bound
//!   ([`Channel::recv_len`]) *before* anything is allocated for it.
//! * Nothing here allocates in proportion to a peer-chosen number.
//! * A peer that stays connected but silent blocks a read for as long as the
//!   transport lets it: give network transports a read timeout
//!   (`TcpStream::set_read_timeout`); it surfaces as [`ChannelError::Io`].
//!
//! # Buffering and flushing
//!
//! Small writes gather in a send buffer; large writes (at least the buffer's
//! size) go straight to the transport without a copy. Every receive first
//! flushes pending output, so a request/response exchange cannot deadlock on
//! a message left in the buffer; [`Channel::flush`] pushes output out
//! explicitly at the end of a flow.
//!
//! Architecture invariant: no peer message makes this module allocate; the
//! buffers have fixed sizes chosen at construction.

use std::io::{self, Read, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use crate::block::Block;

/// Default size of the send and receive buffers (256 KiB).
pub const DEFAULT_BUFFER_BYTES: usize = 256 * 1024;

/// An error on a [`Channel`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The transport reported an I/O error.
    #[error("channel I/O error: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the channel before a whole message arrived.
    #[error("truncated message: expected {expected} bytes, the channel ended after {received}")]
    Truncated {
        /// Bytes the message needed.
        expected: usize,
        /// Bytes that arrived before the end of the stream.
        received: usize,
    },
    /// The peer announced a length above the bound the protocol allows.
    #[error("length {received} announced by the peer exceeds the limit of {max}")]
    LengthTooLarge {
        /// The length the peer sent.
        received: u64,
        /// The largest length the protocol accepts here.
        max: u64,
    },
}

/// A buffered, framed, byte-counting channel over a `Read + Write`
/// transport.
///
/// ```
/// use garblet_engine::Block;
/// use garblet_engine::channel::{memory_pair, Channel};
///
/// let (a, b) = memory_pair();
/// let (mut a, mut b) = (Channel::new(a), Channel::new(b));
/// a.send_blocks(&[Block::new(7), Block::ONES]).unwrap();
/// a.send_u64(42).unwrap();
/// a.flush().unwrap();
/// let mut got = [Block::ZERO; 2];
/// b.recv_blocks(&mut got).unwrap();
/// assert_eq!(got, [Block::new(7), Block::ONES]);
/// assert_eq!(b.recv_u64().unwrap(), 42);
/// assert_eq!(a.bytes_sent(), 40);
/// assert_eq!(b.bytes_received(), 40);
/// ```
pub struct Channel<T: Read + Write> {
    inner: T,
    transcript: Option<Box<Transcript>>,
    wbuf: Vec<u8>,
    wcap: usize,
    rbuf: Box<[u8]>,
    rpos: usize,
    rlen: usize,
    sent: u64,
    received: u64,
}

impl<T: Read + Write> Channel<T> {
    /// Wraps a transport with buffers of [`DEFAULT_BUFFER_BYTES`].
    pub fn new(inner: T) -> Self {
        Self::with_buffer_size(inner, DEFAULT_BUFFER_BYTES)
    }

    /// Wraps a transport with send and receive buffers of `bytes` bytes each
    /// (at least 64).
    pub fn with_buffer_size(inner: T, bytes: usize) -> Self {
        let bytes = bytes.max(64);
        Channel {
            inner,
            transcript: None,
            wbuf: Vec::with_capacity(bytes),
            wcap: bytes,
            rbuf: vec![0u8; bytes].into_boxed_slice(),
            rpos: 0,
            rlen: 0,
            sent: 0,
            received: 0,
        }
    }

    /// Starts hashing everything sent and received from here on (see
    /// [`Channel::transcript`]).
    pub fn start_transcript(&mut self) {
        self.transcript = Some(Box::new(Transcript {
            sent: blake3::Hasher::new_derive_key("garblet transcript v1"),
            received: blake3::Hasher::new_derive_key("garblet transcript v1"),
            paused: false,
        }));
    }

    /// Leaves the bytes that follow out of the transcript (`true`) or takes
    /// them in again (`false`): the garbled tables carry their own
    /// checksum, and hashing them would slow the hot path.
    pub fn pause_transcript(&mut self, paused: bool) {
        if let Some(t) = self.transcript.as_mut() {
            t.paused = paused;
        }
    }

    /// The hashes of the bytes sent and received since
    /// [`Channel::start_transcript`], pauses excepted: `(sent, received)`.
    /// One side's `sent` equals the other's `received` unless the link
    /// altered something: a check for links without integrity of their own
    /// (plain TCP), not a defence against a cheating peer.
    pub fn transcript(&self) -> Option<([u8; 32], [u8; 32])> {
        self.transcript.as_ref().map(|t| (*t.sent.finalize().as_bytes(), *t.received.finalize().as_bytes()))
    }

    /// Sends raw bytes (buffered; see [`Channel::flush`]).
    pub fn send_bytes(&mut self, data: &[u8]) -> Result<(), ChannelError> {
        if let Some(t) = self.transcript.as_mut().filter(|t| !t.paused) {
            t.sent.update(data);
        }
        self.sent += data.len() as u64;
        if self.wbuf.len() + data.len() <= self.wcap {
            self.wbuf.extend_from_slice(data);
            return Ok(());
        }
        self.write_pending()?;
        if data.len() >= self.wcap {
            self.inner.write_all(data)?;
        } else {
            self.wbuf.extend_from_slice(data);
        }
        Ok(())
    }

    /// Sends a slice of blocks, 16 bytes each, in order.
    pub fn send_blocks(&mut self, blocks: &[Block]) -> Result<(), ChannelError> {
        self.send_bytes(Block::as_bytes_slice(blocks))
    }

    /// Sends one block.
    pub fn send_block(&mut self, block: Block) -> Result<(), ChannelError> {
        self.send_bytes(block.as_bytes())
    }

    /// Sends a `u64`, little-endian.
    pub fn send_u64(&mut self, value: u64) -> Result<(), ChannelError> {
        self.send_bytes(&value.to_le_bytes())
    }

    /// Writes buffered output to the transport and flushes the transport.
    pub fn flush(&mut self) -> Result<(), ChannelError> {
        self.write_pending()?;
        self.inner.flush()?;
        Ok(())
    }

    /// Fills `out` with the next `out.len()` bytes from the peer.
    ///
    /// Pending output is flushed first. If the stream ends early the error
    /// is [`ChannelError::Truncated`].
    pub fn recv_bytes(&mut self, out: &mut [u8]) -> Result<(), ChannelError> {
        if !self.wbuf.is_empty() {
            self.flush()?;
        }
        let expected = out.len();
        let mut filled = 0;
        // Whatever is buffered first.
        let take = (self.rlen - self.rpos).min(expected);
        out[..take].copy_from_slice(&self.rbuf[self.rpos..self.rpos + take]);
        self.rpos += take;
        filled += take;
        while filled < expected {
            let remaining = expected - filled;
            if remaining >= self.rbuf.len() {
                // Large read: straight into the destination, no copy.
                let n = read_retrying(&mut self.inner, &mut out[filled..])?;
                if n == 0 {
                    return Err(self.truncated(expected, filled));
                }
                filled += n;
            } else {
                let n = read_retrying(&mut self.inner, &mut self.rbuf)?;
                if n == 0 {
                    return Err(self.truncated(expected, filled));
                }
                self.rlen = n;
                let take = n.min(remaining);
                out[filled..filled + take].copy_from_slice(&self.rbuf[..take]);
                self.rpos = take;
                filled += take;
            }
        }
        self.received += expected as u64;
        if let Some(t) = self.transcript.as_mut().filter(|t| !t.paused) {
            t.received.update(out);
        }
        Ok(())
    }

    /// Fills `out` with blocks from the peer.
    pub fn recv_blocks(&mut self, out: &mut [Block]) -> Result<(), ChannelError> {
        self.recv_bytes(Block::as_bytes_slice_mut(out))
    }

    /// Receives one block.
    pub fn recv_block(&mut self) -> Result<Block, ChannelError> {
        let mut b = [0u8; 16];
        self.recv_bytes(&mut b)?;
        Ok(Block::from_bytes(b))
    }

    /// Receives a little-endian `u64`.
    pub fn recv_u64(&mut self) -> Result<u64, ChannelError> {
        let mut b = [0u8; 8];
        self.recv_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Receives a length (a `u64`) and checks it is at most `max` before the
    /// caller allocates anything for it.
    pub fn recv_len(&mut self, max: u64) -> Result<usize, ChannelError> {
        let len = self.recv_u64()?;
        if len > max {
            return Err(ChannelError::LengthTooLarge { received: len, max });
        }
        usize::try_from(len)
            .map_err(|_| ChannelError::LengthTooLarge { received: len, max: usize::MAX as u64 })
    }

    /// Bytes sent so far (counted when handed to the channel, buffered or
    /// not).
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }

    /// Bytes received so far (counted when delivered to the caller).
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// The transport, borrowed.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The transport, mutably borrowed (writing to it directly bypasses the
    /// buffers and the counters).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Flushes and returns the transport. Bytes already read ahead into the
    /// receive buffer are lost.
    pub fn into_inner(mut self) -> Result<T, ChannelError> {
        self.flush()?;
        Ok(self.inner)
    }

    /// [`Channel::flush`], dropping what could not be written if it fails
    /// (the link is gone with it), so that reads can still take what the
    /// peer sent before it closed.
    pub(crate) fn flush_or_drop(&mut self) -> Result<(), ChannelError> {
        let flushed = self.flush();
        self.wbuf.clear();
        flushed
    }

    fn write_pending(&mut self) -> Result<(), ChannelError> {
        if !self.wbuf.is_empty() {
            self.inner.write_all(&self.wbuf)?;
            self.wbuf.clear();
        }
        Ok(())
    }

    fn truncated(&mut self, expected: usize, received: usize) -> ChannelError {
        // The partial message is consumed; the counters record it.
        self.received += received as u64;
        ChannelError::Truncated { expected, received }
    }
}

/// Running hashes of a channel's two directions.
struct Transcript {
    sent: blake3::Hasher,
    received: blake3::Hasher,
    paused: bool,
}

impl<T: Read + Write> std::fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("bytes_sent", &self.sent)
            .field("bytes_received", &self.received)
            .field("buffered_out", &self.wbuf.len())
            .field("buffered_in", &(self.rlen - self.rpos))
            .finish()
    }
}

fn read_retrying<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Number of chunks one direction of a [`MemoryChannel`] holds before the
/// writer blocks (back-pressure, so a fast writer cannot grow memory without
/// bound).
pub const MEMORY_CHANNEL_DEPTH: usize = 64;

/// One end of an in-memory duplex byte pipe, for tests, benchmarks and
/// running both parties in one process. Made by [`memory_pair`].
///
/// Each `write` call moves one chunk (one copy of the written bytes) to the
/// peer, so wrap it in a [`Channel`], whose buffering makes chunks large.
/// Dropping one end makes the other end's reads return end-of-stream once
/// the chunks already sent are consumed, and its writes fail with
/// `BrokenPipe`.
#[derive(Debug)]
pub struct MemoryChannel {
    tx: SyncSender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
    /// Our chunks, emptied and handed back by the peer for reuse.
    recycled: Receiver<Vec<u8>>,
    /// Where the peer's chunks go back once read.
    recycle: Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

/// Two connected ends of an in-memory duplex pipe: what one end writes, the
/// other reads.
pub fn memory_pair() -> (MemoryChannel, MemoryChannel) {
    let (tx_ab, rx_ab) = sync_channel(MEMORY_CHANNEL_DEPTH);
    let (tx_ba, rx_ba) = sync_channel(MEMORY_CHANNEL_DEPTH);
    // Chunks travel back, emptied, so steady-state writes do not allocate
    // (and fault in) fresh memory.
    let (back_to_a, a_recycled) = channel();
    let (back_to_b, b_recycled) = channel();
    (
        MemoryChannel {
            tx: tx_ab,
            rx: rx_ba,
            recycled: a_recycled,
            recycle: back_to_b,
            cur: Vec::new(),
            pos: 0,
        },
        MemoryChannel {
            tx: tx_ba,
            rx: rx_ab,
            recycled: b_recycled,
            recycle: back_to_a,
            cur: Vec::new(),
            pos: 0,
        },
    )
}

/// Chunks larger than this are not kept for reuse.
const MAX_RECYCLED_BYTES: usize = 16 << 20;

impl Read for MemoryChannel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    let mut old = std::mem::replace(&mut self.cur, chunk);
                    self.pos = 0;
                    if old.capacity() > 0 && old.capacity() <= MAX_RECYCLED_BYTES {
                        old.clear();
                        // The peer may be gone; then the buffer is just freed.
                        let _ = self.recycle.send(old);
                    }
                }
                // The peer hung up and everything it sent has been read.
                Err(_) => return Ok(0),
            }
        }
        let n = (self.cur.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for MemoryChannel {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut chunk = self.recycled.try_recv().unwrap_or_default();
        chunk.extend_from_slice(buf);
        self.tx
            .send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "memory channel peer dropped"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_small_and_large() {
        let (a, b) = memory_pair();
        let mut a = Channel::with_buffer_size(a, 64);
        let mut b = Channel::with_buffer_size(b, 64);
        let big: Vec<Block> = (0..1000u128).map(Block::new).collect();
        let t = std::thread::spawn(move || {
            a.send_u64(5).unwrap();
            a.send_blocks(&big).unwrap();
            a.send_block(Block::ONES).unwrap();
            a.flush().unwrap();
            a.bytes_sent()
        });
        assert_eq!(b.recv_u64().unwrap(), 5);
        let mut got = vec![Block::ZERO; 1000];
        b.recv_blocks(&mut got).unwrap();
        assert!(got.iter().enumerate().all(|(i, x)| x.to_u128() == i as u128));
        assert_eq!(b.recv_block().unwrap(), Block::ONES);
        let sent = t.join().unwrap();
        assert_eq!(sent, 8 + 16_000 + 16);
        assert_eq!(b.bytes_received(), sent);
    }

    #[test]
    fn short_message_is_truncated_error() {
        let (a, b) = memory_pair();
        let mut a = Channel::new(a);
        let mut b = Channel::new(b);
        a.send_bytes(&[1, 2, 3]).unwrap();
        drop(a.into_inner().unwrap());
        let mut buf = [0u8; 16];
        match b.recv_bytes(&mut buf) {
            Err(ChannelError::Truncated { expected: 16, received: 3 }) => {}
            other => panic!("expected Truncated, got {other:?}"),
        }
    }

    #[test]
    fn oversized_length_is_rejected_before_allocation() {
        let (a, b) = memory_pair();
        let mut a = Channel::new(a);
        let mut b = Channel::new(b);
        a.send_u64(u64::MAX).unwrap();
        a.flush().unwrap();
        assert!(matches!(
            b.recv_len(1 << 20),
            Err(ChannelError::LengthTooLarge { received: u64::MAX, max: 1_048_576 })
        ));
    }
}
