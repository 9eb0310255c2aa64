//! Write-behind: the send system calls of a bulk stream on a thread of
//! their own.
//!
//! Why: the garbler's main thread garbles and sends. On loopback and on
//! fast links the kernel's share of a send (copying into the socket
//! buffers, TCP's processing, waking the reader) was a fifth of its CPU
//! time on the 100,000-record model run (`BENCHMARKS.md`), during which it
//! garbled nothing. Once a [`TimedStream`](super::TimedStream) sees a bulk
//! write (at least [`WRITE_BEHIND_MIN`] bytes), it copies what it is given
//! into buffers that a writer thread sends, and garbling goes on meanwhile,
//! on a core the evaluator leaves idle part of the time. Small messages
//! (hellos, base OTs, a millionaires run) never start it, so they pay no
//! thread hop.
//!
//! What stays the same:
//! - bytes go out in the order they were written;
//! - every send is bounded as before: the writer sends through its own
//!   `TimedStream` on a clone of the socket, with the same I/O timeout and
//!   trickle rule (a write-behind is only started without a deadline);
//! - the first stall is final, and it is reported, as the same
//!   [`Stalled`] error, on the caller's next read, write or flush;
//! - a flush returns once everything written has been handed to the
//!   kernel (or with the error that stopped it).
//!
//! Memory: at most [`QUEUED`] buffers of at most [`CHUNK`] bytes are in
//! flight; a write blocks while they are all queued (never longer than the
//! writer's own timeout, after which the writer fails and so does the
//! write). The buffers hold only bytes bound for the peer (ciphertext under
//! TLS, which encrypts above this layer), so they are not wiped.

use super::tcp::{Stalled, TimedStream};
use std::io::{self, IoSlice};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

/// A write of at least this many bytes starts the write-behind: the
/// channel's 256 KiB buffer, or TLS's four 16 KiB records in one `writev`.
pub(super) const WRITE_BEHIND_MIN: usize = 64 * 1024;

/// The most bytes one queued buffer holds; a longer write is taken in
/// parts (`Write::write_all` asks again for the rest).
pub(super) const CHUNK: usize = 1 << 20;

/// The most buffers handed to the writer and not yet sent.
pub(super) const QUEUED: usize = 4;

/// Why the writer stopped: its error, and its stall if it stalled.
type WriterFailure = (io::Error, Option<Stalled>);

/// The caller's end of a writer thread.
#[derive(Debug)]
pub(super) struct WriteBehind {
    queue: Option<SyncSender<Vec<u8>>>,
    /// Buffers the writer has sent, back for reuse.
    spare: Receiver<Vec<u8>>,
    /// Buffers handed over and not yet back.
    in_flight: usize,
    writer: Option<JoinHandle<Result<(), WriterFailure>>>,
}

impl WriteBehind {
    /// Starts a writer thread that sends through `stream`.
    pub(super) fn start(mut stream: TimedStream) -> io::Result<WriteBehind> {
        let (queue, work) = mpsc::sync_channel::<Vec<u8>>(QUEUED);
        let (back, spare) = mpsc::channel();
        let writer = std::thread::Builder::new().name("garblet-send".into()).spawn(move || {
            for buf in work {
                if let Err(e) = stream.write_all_here(&buf) {
                    return Err((e, stream.stalled()));
                }
                // The caller may have gone: then nobody reuses the buffer.
                let _ = back.send(buf);
            }
            Ok(())
        })?;
        Ok(WriteBehind { queue: Some(queue), spare, in_flight: 0, writer: Some(writer) })
    }

    /// Queues the first up to [`CHUNK`] bytes of `bufs`; returns how many.
    /// `Err` once the writer has stopped (see [`WriteBehind::failure`]).
    pub(super) fn push(&mut self, bufs: &[IoSlice<'_>]) -> Result<usize, WriterFailure> {
        let mut buf = if self.in_flight >= QUEUED {
            let buf = self.spare.recv().map_err(|_| self.failure())?;
            self.in_flight -= 1;
            buf
        } else {
            match self.spare.try_recv() {
                Ok(buf) => {
                    self.in_flight -= 1;
                    buf
                }
                Err(_) => Vec::with_capacity(CHUNK),
            }
        };
        buf.clear();
        for b in bufs {
            let take = b.len().min(CHUNK - buf.len());
            buf.extend_from_slice(&b[..take]);
            if buf.len() == CHUNK {
                break;
            }
        }
        let n = buf.len();
        let sent = self.queue.as_ref().is_some_and(|q| q.send(buf).is_ok());
        if !sent {
            return Err(self.failure());
        }
        self.in_flight += 1;
        Ok(n)
    }

    /// Waits until every queued buffer has been sent.
    pub(super) fn drain(&mut self) -> Result<(), WriterFailure> {
        while self.in_flight > 0 {
            self.spare.recv().map_err(|_| self.failure())?;
            self.in_flight -= 1;
        }
        Ok(())
    }

    /// The writer's failure, if it has already stopped on one.
    pub(super) fn poll_failure(&mut self) -> Option<WriterFailure> {
        if self.writer.as_ref().is_some_and(|w| w.is_finished()) {
            Some(self.failure())
        } else {
            None
        }
    }

    /// Stops the writer (it sends what is queued first) and returns why it
    /// stopped, or, if it ended cleanly, a closed-pipe error: called once
    /// the writer is known to have stopped, or to stop it.
    pub(super) fn failure(&mut self) -> WriterFailure {
        self.queue = None;
        let ended = self.writer.take().map(|w| w.join());
        match ended {
            Some(Ok(Err(failure))) => failure,
            Some(Err(_)) => (io::Error::other("the sending thread panicked"), None),
            Some(Ok(Ok(()))) | None => (io::Error::from(io::ErrorKind::BrokenPipe), None),
        }
    }
}

impl Drop for WriteBehind {
    /// Sends what is queued (each send under the writer's timeout), then
    /// ends the thread.
    fn drop(&mut self) {
        self.queue = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}
