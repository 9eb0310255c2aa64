//! Message tags and the adapters that stream garbled tables through a
//! [`Channel`] while reporting progress.
//!
//! The message table, with sizes and order, is `docs/PROTOCOL.md`
//! ("Messages"); each tag below names its row there.

use super::error::SessionError;
use crate::channel::{Channel, ChannelError};
use std::io::{self, Read, Write};

/// G → E: the active labels of the garbler's input bits (message 3).
pub(crate) const TAG_GARBLER_INPUTS: u8 = 0xA1;
/// G → E: the garbled tables, streamed (message 4).
pub(crate) const TAG_TABLES: u8 = 0xA2;
/// G → E: decoding bits of the outputs E may learn (message 5).
pub(crate) const TAG_DECODER: u8 = 0xA3;
/// E → G: the outputs G may learn, as colour bits and a hash of their
/// labels (message 6; `returned_outputs.rs`).
pub(crate) const TAG_OUTPUT_LABELS: u8 = 0xA4;
// 0xA5 was message 7 (G → E, done) up to protocol version 3; version 4
// folds G's transcript hash into message 5's flight and has no message 7.
/// Dual execution, first party → second: a commitment to its check value (message 8).
pub(crate) const TAG_COMMIT: u8 = 0xB1;
/// Dual execution, second party → first: its check value (message 9).
pub(crate) const TAG_CHECK: u8 = 0xB2;
/// Dual execution, first party → second: the commitment's opening (message 10).
pub(crate) const TAG_OPEN: u8 = 0xB3;

/// Called with the number of AND gates processed so far.
pub type Progress<'a> = &'a mut dyn FnMut(u64);

/// Reads one tag byte and checks it is `tag`.
pub(crate) fn expect_tag<T: Read + Write>(
    ch: &mut Channel<T>,
    tag: u8,
    expected: &'static str,
) -> Result<(), SessionError> {
    let mut got = [0u8; 1];
    ch.recv_bytes(&mut got)?;
    if got[0] != tag {
        return Err(SessionError::UnexpectedMessage { expected, got: got[0] });
    }
    Ok(())
}

/// `Write` over a channel that reports AND-table progress.
pub(crate) struct TableSink<'c, 'p, T: Read + Write> {
    pub(crate) ch: &'c mut Channel<T>,
    pub(crate) written: u64,
    pub(crate) progress: Option<Progress<'p>>,
    /// `(AND gates, bytes of tables)` of the whole program: progress is
    /// `bytes · ands / tables` (generator half gates make bytes per AND
    /// uneven, so the average is taken).
    pub(crate) rate: (u64, u64),
}

impl<T: Read + Write> Write for TableSink<'_, '_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.ch.send_bytes(buf).map_err(io::Error::other)?;
        self.written += buf.len() as u64;
        if let Some(p) = self.progress.as_mut() {
            p(ands_done(self.written, self.rate));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.ch.flush().map_err(io::Error::other)
    }
}

/// `Read` over a channel that reports AND-table progress.
pub(crate) struct TableSource<'c, 'p, T: Read + Write> {
    pub(crate) ch: &'c mut Channel<T>,
    pub(crate) read: u64,
    pub(crate) progress: Option<Progress<'p>>,
    /// `(AND gates, bytes of tables)` (see [`TableSink`]).
    pub(crate) rate: (u64, u64),
}

impl<T: Read + Write> Read for TableSource<'_, '_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.ch.recv_bytes(buf).map_err(|e| match e {
            ChannelError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::UnexpectedEof, other),
        })?;
        self.read += buf.len() as u64;
        if let Some(p) = self.progress.as_mut() {
            p(ands_done(self.read, self.rate));
        }
        Ok(buf.len())
    }
}

/// The AND gates `bytes` of tables stand for, at `rate` = `(ands, bytes)`.
fn ands_done(bytes: u64, (ands, total): (u64, u64)) -> u64 {
    (u128::from(bytes) * u128::from(ands) / u128::from(total.max(1))) as u64
}
