//! Bristol Fashion, the field's interchange format for circuits, read and
//! written; the old Bristol format is read too.
//!
//! Bristol Fashion (Archer, Bogdanov, Lindell, Nof, Smart, Orsini, Rotaru,
//! Scholl, Tillich, Wood — the "MPC circuits" collection):
//!
//! ```text
//! gates wires
//! n_inputs  width_1 … width_n
//! n_outputs width_1 … width_m
//!
//! 2 1 a b out XOR | AND        1 1 a out INV
//! 1 1 a out EQW   (copy)       1 1 c out EQ   (constant c ∈ {0, 1})
//! 2k k a_1…a_k b_1…b_k out_1…out_k MAND
//! ```
//!
//! Input wires are numbered from 0 in input order; the outputs are the last
//! `Σ widths` wires, in output order. The old format has `n1 n2 n3` (two input
//! widths and one output width) as its second line and no third header line.
//!
//! Reading names the inputs `in0, in1, …` (the first owned by the garbler,
//! the rest by the evaluator, as `garblet run` assumes for Bristol files) and
//! the outputs `out0, out1, …` (revealed to both). EQ and EQW become wire
//! aliases, so they cost no gate. Every malformed line is an error naming the
//! line; memory grows with the file's content, not with its header's claims.
//!
//! Writing produces plain Bristol Fashion that other tools read: only XOR, AND
//! and INV gates, gate outputs numbered in order, an output that is a copy of
//! another wire (or a constant) made with two INV gates (or `x ⊕ x`).

use crate::circuit::{Circuit, Gate, GateKind, InputSpec, Output, Party, Visibility, WireId};
use std::io::{self, BufRead};
use std::path::Path;

/// Why a file is not a circuit we can read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BristolError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// A malformed line.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn syntax(line: usize, message: impl Into<String>) -> BristolError {
    BristolError::Syntax { line, message: message.into() }
}

fn io_error(source: io::Error) -> BristolError {
    BristolError::Io { path: "<input>".into(), source }
}

/// Reads a Bristol Fashion (or old Bristol) file.
pub fn read_file(path: impl AsRef<Path>) -> Result<Circuit, BristolError> {
    let path = path.as_ref();
    let io_err = |source| BristolError::Io { path: path.display().to_string(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    read(io::BufReader::with_capacity(1 << 16, file)).map_err(|e| match e {
        BristolError::Io { source, .. } => io_err(source),
        other => other,
    })
}

/// Parses a circuit held in a string.
pub fn parse_str(text: &str) -> Result<Circuit, BristolError> {
    read(text.as_bytes())
}

/// Reads Bristol Fashion (or old Bristol) from any reader.
///
/// The reader scans bytes in chunks of 256 KiB (a line longer than that
/// grows the buffer to fit it): no allocation per line, numbers parsed in
/// place. A line outside the common shape (`n_in n_out wires… OP`, ASCII
/// digits and letters separated by spaces or tabs) is handed to a slower
/// path that reads it as text, exactly as earlier versions did: the same
/// circuit or the same error, whatever the bytes.
pub fn read<R: BufRead>(reader: R) -> Result<Circuit, BristolError> {
    read_chunked(reader, CHUNK)
}

/// The size of the reader's buffer, unless a line is longer.
const CHUNK: usize = 1 << 18;

/// Reads with a first buffer of `chunk` bytes (tests use tiny ones to put
/// chunk boundaries everywhere).
fn read_chunked<R: io::Read>(reader: R, chunk: usize) -> Result<Circuit, BristolError> {
    let mut scan = Scanner { reader, buf: vec![0; chunk.max(1)], pos: 0, end: 0, eof: false, line: 0 };
    let (l1, header) = match scan.next_text_line()? {
        Some((n, t)) => (n, numbers(n, &t, "header")?),
        None => return Err(syntax(1, "the file is empty")),
    };
    let [n_gates, n_wires] = header[..] else {
        return Err(syntax(l1, "the first line must be `gates wires`"));
    };
    let n_gates = to_u32(l1, n_gates, "gate count")?;
    let n_wires = to_u32(l1, n_wires, "wire count")?;

    let (l2, second) = scan.next_text_line()?.ok_or_else(|| syntax(l1 + 1, "missing the inputs line"))?;
    let second = numbers(l2, &second, "inputs line")?;
    // Bristol Fashion: `count w_1 … w_count`; old Bristol: `n1 n2 n3` then gates.
    let fashion_inputs = second.first().is_some_and(|&c| c as usize + 1 == second.len());
    let (third_line, third) = scan.next_text_line()?.unwrap_or((l2 + 1, String::new()));
    let third_is_gate =
        third.split_ascii_whitespace().last().is_some_and(|t| t.chars().all(|c| c.is_ascii_alphabetic()));
    let (input_widths, output_widths, pending_gate) = if fashion_inputs && !third_is_gate {
        let outs = numbers(third_line, &third, "outputs line")?;
        if outs.first().is_none_or(|&c| c as usize + 1 != outs.len()) {
            return Err(syntax(third_line, "the outputs line must be `count width_1 … width_count`"));
        }
        (second[1..].to_vec(), outs[1..].to_vec(), None)
    } else if second.len() == 3 {
        let pending = if third.is_empty() { None } else { Some((third_line, third)) };
        (second[..2].to_vec(), second[2..].to_vec(), pending)
    } else {
        return Err(syntax(
            l2,
            "the inputs line must be `count width_1 … width_count` (or `n1 n2 n3` in old Bristol)",
        ));
    };

    let mut total_in: u64 = 0;
    let mut inputs = Vec::with_capacity(input_widths.len());
    for (k, &w) in input_widths.iter().enumerate() {
        let width = to_u32(l2, w, "input width")?;
        total_in += u64::from(width);
        let party = if k == 0 { Party::Garbler } else { Party::Evaluator };
        inputs.push(InputSpec::new(format!("in{k}"), party, width));
    }
    let total_out: u64 = output_widths.iter().sum();
    if total_in > u64::from(n_wires) || total_out > u64::from(n_wires) {
        return Err(syntax(
            l2,
            format!("the inputs and outputs need more than the {n_wires} wires declared"),
        ));
    }

    let mut wires = WireMap::new(n_wires);
    for w in 0..total_in {
        wires.set(l2, w, WireId::new(WireId::FIRST_FREE + w as u32))?;
    }
    wires.inputs = total_in;
    let mut body = Body {
        wires,
        next_wire: WireId::FIRST_FREE + total_in as u32,
        gates: Vec::with_capacity((n_gates as usize).min(1 << 24)),
        seen_gates: 0,
        n_gates,
    };
    // The numbers of a gate line: no allocation per gate (`nums` grows for
    // lines with more numbers than `fast` holds, on the slow path).
    let mut fast = [0u64; FAST_NUMBERS];
    let mut nums: Vec<u64> = Vec::with_capacity(8);
    if let Some((line, text)) = pending_gate {
        body.text_gate(line, &text, &mut nums)?;
    }
    loop {
        if scan.pos == scan.end {
            if scan.eof {
                break;
            }
            scan.refill()?;
            continue;
        }
        let rest = &scan.buf[scan.pos..scan.end];
        // Nearly every line of a large file: parsed and added in one go,
        // as many as follow one another.
        let (len, lines) = body.in_order_lines(rest);
        if lines > 0 {
            scan.line += lines;
            scan.pos += len;
            continue;
        }
        if let Some((len, op, n)) = fast_gate(rest, &mut fast) {
            scan.line += 1;
            body.simple_gate(scan.line, op, n, &fast)?;
            scan.pos += len;
            continue;
        }
        match scan_line(rest, scan.eof, &mut fast) {
            Scanned::Gate { len, op, n } => {
                scan.line += 1;
                body.gate(scan.line, op, op.name(), &fast[..n])?;
                scan.pos += len;
            }
            Scanned::Blank { len } => {
                scan.line += 1;
                scan.pos += len;
            }
            Scanned::More => scan.refill()?,
            Scanned::Other => {
                if let Some((line, text)) = scan.next_text_line()? {
                    body.text_gate(line, &text, &mut nums)?;
                }
            }
        }
    }
    let Body { wires, next_wire, gates, seen_gates, .. } = body;
    let last_line = scan.line;
    if seen_gates != n_gates {
        return Err(syntax(
            last_line,
            format!("the header declares {n_gates} gates, the file has {seen_gates}"),
        ));
    }
    let mut outputs = Vec::with_capacity(output_widths.len());
    let mut w = u64::from(n_wires) - total_out;
    for (k, &width) in output_widths.iter().enumerate() {
        let mut bits = Vec::with_capacity(width as usize);
        for _ in 0..width {
            bits.push(
                wires.get(last_line, w).map_err(|_| {
                    syntax(last_line, format!("output wire {w} (output {k}) is never written"))
                })?,
            );
            w += 1;
        }
        outputs.push(Output { name: format!("out{k}"), visibility: Visibility::Both, wires: bits });
    }
    // Valid by construction, so `Circuit::new`'s second pass over every gate
    // (and its array of a byte per wire) is skipped: each gate reads wires
    // already set (constants, inputs, earlier outputs, found through the
    // map), writes a fresh wire of ours and is an INV only as `Gate::inv`;
    // each output wire is set; input and output names are distinct.
    // Debug builds check it all the same (`from_parts_unchecked`).
    let inputs =
        Circuit::place_inputs(next_wire, inputs, &outputs).map_err(|e| syntax(last_line, e.to_string()))?;
    Ok(Circuit::from_parts_unchecked(next_wire, inputs, outputs, gates))
}

/// A window on the input: the bytes `buf[pos..end]` are read and not yet
/// consumed; `line` lines have been consumed.
struct Scanner<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// The reader has no more bytes.
    eof: bool,
    line: usize,
}

impl<R: io::Read> Scanner<R> {
    /// Reads more bytes after `end` (or notes the end of the input), moving
    /// the unconsumed bytes to the front first, and doubling the buffer if
    /// they fill it (one line longer than the buffer: it grows with what was
    /// read, never with what a header claims).
    fn refill(&mut self) -> Result<(), BristolError> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(2 * self.buf.len(), 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e)),
            }
            return Ok(());
        }
    }

    /// The next line that is not blank, with its 1-based number, read as
    /// text: UTF-8 (or an I/O error of kind `InvalidData`, as
    /// `BufRead::read_line` gives), trimmed of Unicode white space.
    fn next_text_line(&mut self) -> Result<Option<(usize, String)>, BristolError> {
        loop {
            // Find the end of the line, reading more until it is in the buffer.
            let mut searched = self.pos;
            let len = loop {
                match self.buf[searched..self.end].iter().position(|&b| b == b'\n') {
                    Some(i) => break searched + i + 1 - self.pos,
                    None if self.eof => break self.end - self.pos,
                    None => {
                        let offset = self.end - self.pos;
                        self.refill()?;
                        searched = self.pos + offset;
                    }
                }
            };
            if len == 0 {
                return Ok(None);
            }
            let raw = &self.buf[self.pos..self.pos + len];
            self.pos += len;
            self.line += 1;
            let text = std::str::from_utf8(raw).map_err(|_| {
                io_error(io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
            })?;
            let text = text.trim();
            if !text.is_empty() {
                return Ok(Some((self.line, text.to_owned())));
            }
        }
    }
}

/// What [`scan_line`] found at the start of the unconsumed bytes.
enum Scanned {
    /// A gate line of `len` bytes (with its newline): its `n` numbers are
    /// in `nums`.
    Gate { len: usize, op: Op, n: usize },
    /// A line of spaces and tabs only, `len` bytes with its newline.
    Blank { len: usize },
    /// The line goes on past the bytes read so far.
    More,
    /// Anything else (other white space, non-ASCII bytes, a sign, a very
    /// long number, more than [`FAST_NUMBERS`] numbers, an unknown word, an
    /// error): read it as text.
    Other,
}

/// White space inside a line, as `split_ascii_whitespace` sees it.
const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0c)
}

/// The bytes [`common_line`] looks at: the longest line it takes is 35
/// bytes, and a number is read with an 8-byte load from its first digit.
const COMMON_WINDOW: usize = 48;

/// The hottest path, for the lines that make up nearly every large file:
/// `2 1 a b out XOR|AND` or `1 1 a out INV`, single spaces, numbers of 1
/// to 8 digits, `\n` right after the name, and at least [`COMMON_WINDOW`]
/// bytes read from the line's start. Returns the line's length, its gate
/// and its three numbers (for INV, `[a, a, out]`), or `None` for anything
/// else, which [`fast_gate`] then reads.
///
/// Per line it costs a few dozen instructions and one branch that is
/// always taken the same way, rather than a branch per byte, per number
/// and per operation name (which alternate at random between XOR and AND,
/// and were mispredicted about every other line):
///
/// - The 32 bytes after `2 1 ` are loaded as four words; for each, one bit
///   per byte that is not a digit (SWAR, as in [`swar_digits`]), gathered
///   into a 32-bit mask by a multiplication. The first three set bits are
///   the ends of the three numbers: found by counting trailing zeros and
///   clearing the lowest bit, a short chain that does not wait for the
///   numbers' values (the next line's start depends only on it).
/// - Each number is then read from its own 8-byte load, independently.
/// - The operation's four bytes (name and `\n`) are compared as one word,
///   and its kind computed from the comparisons without a branch.
/// - Every condition is combined with `&` into one test at the end; the
///   values computed on a line that fails it are discarded.
#[inline]
fn common_line(s: &[u8]) -> Option<(usize, GateKind, [u64; 3])> {
    const LOW: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    let s: &[u8; COMMON_WINDOW] = s.get(..COMMON_WINDOW)?.try_into().ok()?;
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let head = word(0) as u32;
    let binary = head == u32::from_le_bytes(*b"2 1 ");
    let unary = head == u32::from_le_bytes(*b"1 1 ");
    // Bit k set when byte 4 + k is not an ASCII digit.
    let mut not_digits = 0u32;
    for k in 0..4 {
        // A digit is a byte below 10 once `'0'` is XORed off. Per byte:
        // the high bit set if it was set, or if the low seven bits plus
        // 0x76 reach 0x80 (they are 10 or more; no carry leaves the byte).
        let y = word(4 + 8 * k) ^ 0x3030_3030_3030_3030;
        let high = (((y & 0x7f7f_7f7f_7f7f_7f7f) + 0x7676_7676_7676_7676) | y) & 0x8080_8080_8080_8080;
        // Those bits moved to bit 0 of each byte, then the eight gathered
        // into the top byte by the multiplication.
        not_digits |= (((high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32) << (8 * k);
    }
    // The ends of the first three numbers (32 if there is none).
    let p1 = not_digits.trailing_zeros() as usize;
    let rest = not_digits & not_digits.wrapping_sub(1);
    let p2 = rest.trailing_zeros() as usize;
    let p3 = (rest & rest.wrapping_sub(1)).trailing_zeros() as usize;
    // A u32's trailing zeros are at most 32, so every index below stays
    // inside the window (at most 4 + 33 + 8 bytes).
    //
    // The number of digits from `start` to `end`, and their value (garbage
    // unless 1 to 8: the line is then rejected below).
    let number = |start: usize, end: usize| {
        let digits = end.wrapping_sub(start);
        let x = word(4 + start);
        // Right-align the digits (zeros above), then combine pairs, quads
        // and octets.
        let v = (x & LOW).wrapping_shl(8u32.wrapping_sub(digits as u32).wrapping_mul(8));
        let v = (v.wrapping_mul(10 << 8 | 1) >> 8) & 0x00ff_00ff_00ff_00ff;
        let v = (v.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_ffff_0000_ffff;
        (v.wrapping_mul(10_000 << 32 | 1) >> 32, (1..=8).contains(&digits))
    };
    let (a, a_ok) = number(0, p1);
    let (b, b_ok) = number(p1 + 1, p2);
    let (c, c_ok) = number(p2 + 1, p3);
    let end = if binary { p3 } else { p2 };
    let spaces = (s[4 + p1] == b' ') & (s[4 + p2] == b' ') & (!binary | (s[4 + p3] == b' '));
    let at = 5 + end;
    let name = word(at) as u32;
    let (xor, and) = (name == u32::from_le_bytes(*b"XOR\n"), name == u32::from_le_bytes(*b"AND\n"));
    let inv = name == u32::from_le_bytes(*b"INV\n");
    let ok = spaces & a_ok & b_ok & ((binary & c_ok & (xor | and)) | (unary & inv));
    if !ok {
        return None;
    }
    // XOR and AND alternate at random: a table, not a branch.
    const KINDS: [GateKind; 4] = [GateKind::Xor, GateKind::And, GateKind::Inv, GateKind::Inv];
    let kind = KINDS[usize::from(and) | usize::from(inv) << 1];
    let nums = if binary { [a, b, c] } else { [a, a, b] };
    Some((at + 4, kind, nums))
}

/// The fastest path, for the lines that make up nearly every file:
/// `2 1 a b out XOR|AND`, `1 1 a out INV|EQ|EQW` with single spaces and a
/// `\n` right after the name, numbers of at most 15 digits. Returns the
/// line's length, operation and count of numbers, or `None` for anything
/// else (including the end of the bytes read), which [`scan_line`] then
/// reads.
#[inline]
fn fast_gate(s: &[u8], nums: &mut [u64; FAST_NUMBERS]) -> Option<(usize, Op, usize)> {
    let n = match s.get(..4)? {
        b"2 1 " => 5,
        b"1 1 " => 4,
        _ => return None,
    };
    nums[0] = n as u64 - 3;
    nums[1] = 1;
    let mut i = 4;
    for num in &mut nums[2..n] {
        (*num, i) = fast_number(s, i)?;
    }
    let (op, len) = match s.get(i..i + 4)? {
        b"XOR\n" => (Op::Xor, 4),
        b"AND\n" => (Op::And, 4),
        b"INV\n" => (Op::Inv, 4),
        b"EQW\n" => (Op::Eqw, 4),
        [b'E', b'Q', b'\n', _] => (Op::Eq, 3),
        _ => return None,
    };
    Some((i + len, op, n))
}

/// A number of 1 to 15 digits at `s[i..]` followed by one space: its value
/// and the index after the space.
#[inline]
fn fast_number(s: &[u8], i: usize) -> Option<(u64, usize)> {
    let (value, digits, next) = swar_digits(s.get(i..i + 8)?);
    match (digits, next) {
        (1..=7, b' ') => Some((value, i + digits + 1)),
        (8, _) if s.get(i + 8) == Some(&b' ') => Some((value, i + 9)),
        (8, _) => {
            let (low, more, next) = swar_digits(s.get(i + 8..i + 16)?);
            (more < 8 && next == b' ').then(|| (value * POW10[more] + low, i + 9 + more))
        }
        _ => None,
    }
}

/// 10^k for k < 8.
const POW10: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// The fast path: scans one line of the common shape,
/// `number… OPNAME` with ASCII white space between, at the start of `s`.
/// `eof`: no bytes follow `s`.
fn scan_line(s: &[u8], eof: bool, nums: &mut [u64; FAST_NUMBERS]) -> Scanned {
    let mut i = 0;
    let mut n = 0;
    loop {
        while i < s.len() && is_space(s[i]) {
            i += 1;
        }
        let Some(&c) = s.get(i) else {
            return match (eof, n == 0) {
                (false, _) => Scanned::More,
                (true, true) => Scanned::Blank { len: i },
                (true, false) => Scanned::Other,
            };
        };
        if c.is_ascii_digit() {
            let start = i;
            // Up to eight digits from one eight-byte load; the digits after
            // them, or near the end of the bytes read, one at a time.
            let (mut v, mut more) = (0u64, true);
            if let Some((value, digits, _)) = s.get(i..i + 8).map(swar_digits) {
                (v, more) = (value, digits == 8);
                i += digits;
            }
            while let Some(&d) = s.get(i).filter(|d| more && d.is_ascii_digit()) {
                v = v.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                i += 1;
            }
            match s.get(i) {
                None if !eof => return Scanned::More,
                // At most 19 digits cannot overflow a u64.
                _ if i - start > 19 || n == nums.len() => return Scanned::Other,
                Some(&b) if !is_space(b) && b != b'\n' => return Scanned::Other,
                _ => {
                    nums[n] = v;
                    n += 1;
                }
            }
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while s.get(i).is_some_and(u8::is_ascii_alphabetic) {
                i += 1;
            }
            let op = match &s[start..i] {
                b"XOR" => Op::Xor,
                b"AND" => Op::And,
                b"INV" => Op::Inv,
                b"NOT" => Op::Not,
                b"EQW" => Op::Eqw,
                b"EQ" => Op::Eq,
                b"MAND" => Op::Mand,
                _ => return Scanned::Other,
            };
            while i < s.len() && is_space(s[i]) {
                i += 1;
            }
            let len = match s.get(i) {
                None if !eof => return Scanned::More,
                None => i,
                Some(b'\n') => i + 1,
                Some(_) => return Scanned::Other,
            };
            return Scanned::Gate { len, op, n };
        } else if c == b'\n' && n == 0 {
            return Scanned::Blank { len: i + 1 };
        } else {
            return Scanned::Other;
        }
    }
}

/// The most numbers a line on the fast path has (a MAND of two gates).
const FAST_NUMBERS: usize = 8;

/// The value of the leading ASCII digits in eight bytes, their number (0
/// to 8) and the byte after them (0 if all are digits), without a branch
/// per byte (SWAR).
#[inline]
fn swar_digits(chunk: &[u8]) -> (u64, usize, u8) {
    const LOW: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    let mut eight = [0u8; 8];
    eight.copy_from_slice(chunk);
    let x = u64::from_le_bytes(eight);
    // Per byte, non-zero unless the byte is a digit: high nibble 3, low ≤ 9.
    let not_digit = ((x & HIGH) ^ 0x3030_3030_3030_3030) | (((x & LOW) + 0x0606_0606_0606_0606) & HIGH);
    // The high bit of each byte set if that byte is non-zero.
    let flags =
        (((not_digit & 0x7f7f_7f7f_7f7f_7f7f) + 0x7f7f_7f7f_7f7f_7f7f) | not_digit) & 0x8080_8080_8080_8080;
    let digits = (flags.trailing_zeros() / 8) as usize;
    // The byte after the digits (zero if all eight are digits).
    let next = x.checked_shr(8 * digits as u32).unwrap_or(0) as u8;
    if digits == 0 {
        return (0, 0, next);
    }
    // Right-align the digits (leading zeros above), then combine pairs,
    // quads and octets.
    let v = (x & LOW) << (8 * (8 - digits));
    let v = (v.wrapping_mul(10 << 8 | 1) >> 8) & 0x00ff_00ff_00ff_00ff;
    let v = (v.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_ffff_0000_ffff;
    let v = v.wrapping_mul(10_000 << 32 | 1) >> 32;
    (v, digits, next)
}

/// A gate operation's name, recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Xor,
    And,
    Inv,
    Not,
    Eqw,
    Eq,
    Mand,
    /// Any other name (an error, once the line's counts are checked).
    Unknown,
}

impl Op {
    fn of(name: &str) -> Op {
        match name {
            "XOR" => Op::Xor,
            "AND" => Op::And,
            "INV" => Op::Inv,
            "NOT" => Op::Not,
            "EQW" => Op::Eqw,
            "EQ" => Op::Eq,
            "MAND" => Op::Mand,
            _ => Op::Unknown,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Xor => "XOR",
            Op::And => "AND",
            Op::Inv => "INV",
            Op::Not => "NOT",
            Op::Eqw => "EQW",
            Op::Eq => "EQ",
            Op::Mand => "MAND",
            Op::Unknown => "?",
        }
    }
}

fn numbers(line: usize, text: &str, what: &str) -> Result<Vec<u64>, BristolError> {
    text.split_ascii_whitespace()
        .map(|t| t.parse::<u64>().map_err(|_| syntax(line, format!("{what}: `{t}` is not a number"))))
        .collect()
}

fn to_u32(line: usize, v: u64, what: &str) -> Result<u32, BristolError> {
    u32::try_from(v)
        .ok()
        .filter(|&v| v < u32::MAX - 2)
        .ok_or_else(|| syntax(line, format!("{what} {v} is too large")))
}

/// Maps Bristol wire numbers to our wires as gates define them.
///
/// Most files number the inputs from 0 and each gate's output one past
/// the last (garblet writes them so, and so are the chained benchmark
/// circuits): Bristol wire `w` is then our wire `w + 2` (after the two
/// constants). That prefix takes no memory (`base`); the map holds only
/// what follows the first wire written out of that order, indexed from
/// `base`, so a 57 M-gate file in order is read with no map at all.
struct WireMap {
    /// Bristol wires `0..base` are set, each to our wire `w + 2`. Fixed once
    /// `map` holds an entry.
    base: u64,
    /// Bristol wire `base + i` → our wire (u32::MAX: not yet written).
    /// Grows on demand.
    map: Vec<u32>,
    declared: u32,
    /// Bristol wires `0..inputs` are the inputs (for messages).
    inputs: u64,
}

const UNSET: u32 = u32::MAX;

impl WireMap {
    fn new(declared: u32) -> WireMap {
        WireMap { base: 0, map: Vec::new(), declared, inputs: 0 }
    }

    #[inline]
    fn get(&self, line: usize, w: u64) -> Result<WireId, BristolError> {
        if w < self.base {
            // `base` ≤ declared wires < 2^32, so `w + 2` fits a u32 but for
            // the two largest; those are read through the map.
            return Ok(WireId::new((w + 2) as u32));
        }
        // The map never grows past the declared wires, so a hit is in range.
        match usize::try_from(w - self.base).ok().and_then(|i| self.map.get(i)) {
            Some(&m) if m != UNSET => Ok(WireId::new(m)),
            _ => Err(self.unreadable(line, w)),
        }
    }

    #[cold]
    fn unreadable(&self, line: usize, w: u64) -> BristolError {
        if w >= u64::from(self.declared) {
            self.past_declared(line, w)
        } else {
            syntax(line, format!("wire {w} is read before any gate writes it"))
        }
    }

    #[cold]
    fn past_declared(&self, line: usize, w: u64) -> BristolError {
        syntax(line, format!("wire {w} is past the {} wires the header declares", self.declared))
    }

    #[inline]
    fn set(&mut self, line: usize, w: u64, to: WireId) -> Result<(), BristolError> {
        if w >= u64::from(self.declared) {
            return Err(self.past_declared(line, w));
        }
        if self.map.is_empty()
            && w == self.base
            && u64::from(to.get()) == w + 2
            && w + 2 <= u64::from(u32::MAX - 1)
        {
            self.base += 1;
            return Ok(());
        }
        if w < self.base {
            return Err(written_twice(line, w, self.inputs));
        }
        let i = (w - self.base) as usize;
        if i >= self.map.len() {
            let limit = (u64::from(self.declared) - self.base) as usize;
            self.map.resize((i + 1).max(self.map.len() * 2).min(limit), UNSET);
        }
        if self.map[i] != UNSET {
            return Err(written_twice(line, w, self.inputs));
        }
        self.map[i] = to.get();
        Ok(())
    }
}

/// `n` and `what`, plural unless `n` is 1: "1 input", "2 inputs".
pub(super) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A gate writes wire `w`, already set: an input (wires `0..inputs`) or an
/// earlier gate's output.
#[cold]
pub(super) fn written_twice(line: usize, w: u64, inputs: u64) -> BristolError {
    if w < inputs {
        syntax(line, format!("wire {w} is an input (wires 0 to {}): no gate may write it", inputs - 1))
    } else {
        syntax(line, format!("wire {w} is written twice"))
    }
}

/// The last word of a gate line, `op`, when it is a number: the line ends
/// before its operation (a file cut short, most often).
#[cold]
pub(super) fn missing_operation(line: usize, op: &str) -> Option<BristolError> {
    op.bytes().all(|b| b.is_ascii_digit()).then(|| {
        syntax(
            line,
            format!(
                "the gate line ends with the number {op}, not an operation (XOR, AND, INV, EQ, EQW or MAND): \
                 is the file cut short?"
            ),
        )
    })
}

/// The gates read so far.
struct Body {
    wires: WireMap,
    next_wire: u32,
    gates: Vec<Gate>,
    seen_gates: u32,
    n_gates: u32,
}

impl Body {
    /// A gate line read as text (the slow path): the last token is the
    /// operation, the others must be numbers.
    fn text_gate(&mut self, line: usize, text: &str, nums: &mut Vec<u64>) -> Result<(), BristolError> {
        let mut tokens = text.split_ascii_whitespace();
        let op = tokens.next_back().ok_or_else(|| syntax(line, "empty gate line"))?;
        if let Some(e) = missing_operation(line, op) {
            return Err(e);
        }
        nums.clear();
        for t in tokens {
            nums.push(t.parse::<u64>().map_err(|_| syntax(line, format!("gate: `{t}` is not a number")))?);
        }
        self.gate(line, Op::of(op), op, nums)
    }

    /// Adds the gates of the lines from [`common_line`] at the start of `s`
    /// while the file is in order (the wire map is empty, every wire read is
    /// below the map's `base` and each output is wire `base`, see
    /// [`WireMap`]) and the header allows more gates: then the wires need
    /// no look-up and no check can fail. Returns the bytes and lines it
    /// took; the line it stopped at is read by the general path, which
    /// changes nothing that this did not. The state it changes is kept in
    /// locals for the loop (in registers, not reloaded from `self` for
    /// every line).
    #[inline(never)]
    fn in_order_lines(&mut self, s: &[u8]) -> (usize, usize) {
        let mut base = self.wires.base;
        // With an empty map our next wire is `base + 2`; checked all the same.
        if !self.wires.map.is_empty() || u64::from(self.next_wire) != base + 2 {
            return (0, 0);
        }
        // Outputs stay below the declared wires (< u32::MAX - 2), so our
        // wires `w + 2` fit a u32; and no more gates than the header says.
        let declared = u64::from(self.wires.declared);
        let gates_left = self.n_gates - self.seen_gates;
        let (mut pos, mut lines) = (0, 0);
        while let Some((len, kind, [a, b, out])) = common_line(&s[pos..]) {
            if !((out == base) & (a < base) & (b < base) & (out < declared) & (lines < gates_left as usize)) {
                break;
            }
            self.gates.push(Gate {
                a: WireId::new(a as u32 + 2),
                b: WireId::new(b as u32 + 2),
                out: WireId::new(out as u32 + 2),
                kind,
            });
            base += 1;
            pos += len;
            lines += 1;
        }
        self.wires.base = base;
        self.seen_gates += lines as u32;
        self.next_wire = (base + 2) as u32;
        (pos, lines)
    }

    /// A line from [`fast_gate`]: `2 1 a b out` or `1 1 a out` (`n` = 5 or
    /// 4 numbers). XOR, AND and INV in their usual form go straight to the
    /// gate list, everything else through [`Body::gate`].
    #[inline]
    fn simple_gate(
        &mut self,
        line: usize,
        op: Op,
        n: usize,
        nums: &[u64; FAST_NUMBERS],
    ) -> Result<(), BristolError> {
        match (op, n) {
            (Op::Xor | Op::And, 5) | (Op::Inv, 4) if self.seen_gates < self.n_gates => {
                self.seen_gates += 1;
                let a = self.wires.get(line, nums[2])?;
                let b = if n == 5 { self.wires.get(line, nums[3])? } else { a };
                let out = self.fresh(line, nums[n - 1])?;
                let kind = match op {
                    Op::Xor => GateKind::Xor,
                    Op::And => GateKind::And,
                    _ => GateKind::Inv,
                };
                self.gates.push(Gate { a, b, out, kind });
                Ok(())
            }
            _ => self.gate(line, op, op.name(), &nums[..n]),
        }
    }

    /// A gate line: its operation, the operation's name as written (for
    /// messages) and its numbers.
    #[inline]
    fn gate(&mut self, line: usize, op: Op, name: &str, nums: &[u64]) -> Result<(), BristolError> {
        let [n_in, n_out, ref wires @ ..] = *nums else {
            return Err(syntax(line, "a gate line is `n_in n_out wires… OP`"));
        };
        let (n_in, n_out) = (n_in as usize, n_out as usize);
        if wires.len() != n_in.saturating_add(n_out) {
            return Err(syntax(
                line,
                format!(
                    "the gate says {} and {} but lists {}",
                    count(n_in, "input"),
                    count(n_out, "output"),
                    count(wires.len(), "wire")
                ),
            ));
        }
        self.seen_gates += 1;
        if self.seen_gates > self.n_gates {
            return Err(syntax(line, format!("more gates than the {} the header declares", self.n_gates)));
        }
        let (ins, outs) = wires.split_at(n_in);
        match (op, n_in, n_out) {
            (Op::Xor | Op::And, 2, 1) => {
                let (a, b) = (self.wires.get(line, ins[0])?, self.wires.get(line, ins[1])?);
                let out = self.fresh(line, outs[0])?;
                let kind = if op == Op::Xor { GateKind::Xor } else { GateKind::And };
                self.gates.push(Gate { a, b, out, kind });
            }
            (Op::Inv | Op::Not, 1, 1) => {
                let a = self.wires.get(line, ins[0])?;
                let out = self.fresh(line, outs[0])?;
                self.gates.push(Gate::inv(a, out));
            }
            (Op::Eqw, 1, 1) => {
                let a = self.wires.get(line, ins[0])?;
                self.wires.set(line, outs[0], a)?;
            }
            (Op::Eq, 1, 1) => match ins[0] {
                0 | 1 => self.wires.set(line, outs[0], WireId::constant(ins[0] == 1))?,
                c => return Err(syntax(line, format!("EQ assigns a constant, 0 or 1, not {c}"))),
            },
            (Op::Mand, _, _) if n_in == 2 * n_out && n_out > 0 => {
                for k in 0..n_out {
                    let (a, b) = (self.wires.get(line, ins[k])?, self.wires.get(line, ins[n_out + k])?);
                    let out = self.fresh(line, outs[k])?;
                    self.gates.push(Gate::and(a, b, out));
                }
            }
            (Op::Unknown, _, _) => {
                return Err(syntax(
                    line,
                    format!("unknown gate `{name}` (expected XOR, AND, INV, EQ, EQW or MAND)"),
                ))
            }
            _ => {
                return Err(syntax(
                    line,
                    format!("{name} cannot have {} and {}", count(n_in, "input"), count(n_out, "output")),
                ))
            }
        }
        Ok(())
    }

    /// The next of our wires, for a gate writing Bristol wire `w`.
    #[inline]
    fn fresh(&mut self, line: usize, w: u64) -> Result<WireId, BristolError> {
        let id = WireId::new(self.next_wire);
        self.wires.set(line, w, id)?;
        self.next_wire += 1;
        Ok(id)
    }
}

mod write;
pub use write::{write, write_file};

/// The reader before issue 15, the reference for the tests below.
#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Hands out at most `max` bytes per `read`, cycling 1, 2, …, `max`.
    struct Dribble<'a> {
        bytes: &'a [u8],
        max: usize,
        next: usize,
    }

    impl io::Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.next = self.next % self.max + 1;
            let n = self.next.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// The outcome in comparable form: the circuit, or the error's variant
    /// and message (and, for I/O errors, the kind).
    fn outcome(r: Result<Circuit, BristolError>) -> Result<Circuit, String> {
        r.map_err(|e| match &e {
            BristolError::Io { source, .. } => format!("io {:?}: {e}: {source}", source.kind()),
            BristolError::Syntax { .. } => format!("syntax: {e}"),
        })
    }

    /// The reader gives what the reference gives on `bytes`, with chunk
    /// boundaries everywhere and short reads; returns that outcome.
    fn agrees(bytes: &[u8]) -> Result<Circuit, String> {
        let want = outcome(reference::read(bytes));
        for chunk in [1, 2, 3, 5, 8, 13, 64, CHUNK] {
            let got = outcome(read_chunked(bytes, chunk));
            assert_eq!(got, want, "chunk {chunk}: {:?}", String::from_utf8_lossy(bytes));
        }
        for max in [1, 3, 7, 100] {
            let got = outcome(read_chunked(Dribble { bytes, max, next: 0 }, 4));
            assert_eq!(got, want, "reads of at most {max}: {:?}", String::from_utf8_lossy(bytes));
        }
        assert_eq!(outcome(read(bytes)), want);
        want
    }

    /// A random valid Bristol text: XOR, AND, INV, NOT, EQ, EQW and MAND
    /// over random earlier wires, outputs copied to the last wires by EQW;
    /// old Bristol when there are two inputs and one output, sometimes.
    fn random_text(rng: &mut StdRng) -> String {
        let in_widths: Vec<u64> = (0..rng.gen_range(1..4)).map(|_| rng.gen_range(1..5)).collect();
        let out_widths: Vec<u64> = (0..rng.gen_range(1..3)).map(|_| rng.gen_range(1..4)).collect();
        let total_in: u64 = in_widths.iter().sum();
        let total_out: u64 = out_widths.iter().sum();
        let mut next = total_in;
        let mut lines = Vec::new();
        for _ in 0..rng.gen_range(0..12) {
            let w = |rng: &mut StdRng| rng.gen_range(0..next);
            let line = match rng.gen_range(0..7) {
                0 => format!("2 1 {} {} {next} XOR", w(rng), w(rng)),
                1 => format!("2 1 {} {} {next} AND", w(rng), w(rng)),
                2 => format!("1 1 {} {next} INV", w(rng)),
                3 => format!("1 1 {} {next} NOT", w(rng)),
                4 => format!("1 1 {} {next} EQ", rng.gen_range(0..2)),
                5 => format!("1 1 {} {next} EQW", w(rng)),
                _ => {
                    let k = rng.gen_range(1..4);
                    let ins: Vec<String> = (0..2 * k).map(|_| w(rng).to_string()).collect();
                    let outs: Vec<String> = (next..next + k).map(|o| o.to_string()).collect();
                    next += k - 1;
                    format!("{} {k} {} {} MAND", 2 * k, ins.join(" "), outs.join(" "))
                }
            };
            next += 1;
            lines.push(line);
        }
        for o in 0..total_out {
            lines.push(format!("1 1 {} {} EQW", rng.gen_range(0..next), next + o));
        }
        let n_wires = next + total_out;
        let join = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
        let header = if in_widths.len() == 2 && out_widths.len() == 1 && rng.gen_bool(0.3) {
            format!("{} {n_wires}\n{} {}\n\n", lines.len(), join(&in_widths), total_out)
        } else {
            format!(
                "{} {n_wires}\n{} {}\n{} {}\n\n",
                lines.len(),
                in_widths.len(),
                join(&in_widths),
                out_widths.len(),
                join(&out_widths)
            )
        };
        header + &lines.join("\n") + "\n"
    }

    /// The same lines with other white space: CRLF, tabs and runs of
    /// spaces, trailing and leading blanks, blank lines, no final newline.
    fn respace(text: &str, rng: &mut StdRng) -> String {
        let mut out = String::new();
        for line in text.lines() {
            if rng.gen_bool(0.1) {
                out.push_str(" \t\r\n");
            }
            for (k, token) in line.split(' ').enumerate() {
                if k > 0 || rng.gen_bool(0.2) {
                    out.push_str(["\t", "  ", " \t ", "\x0c", " "][rng.gen_range(0..5)]);
                }
                out.push_str(token);
            }
            out.push_str(["", " ", "\t", " \r", "\r"][rng.gen_range(0..5)]);
            out.push('\n');
        }
        if rng.gen_bool(0.5) {
            out.pop();
        }
        out
    }

    #[test]
    fn random_valid_files_read_as_the_reference_reads_them() {
        let mut rng = StdRng::seed_from_u64(15);
        for _ in 0..400 {
            let text = random_text(&mut rng);
            let c = agrees(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let respaced = respace(&text, &mut rng);
            assert_eq!(agrees(respaced.as_bytes()), Ok(c.clone()), "{respaced:?}");
            // Through the writer and back: the same function and widths.
            let mut written = Vec::new();
            write(&c, &mut written).unwrap();
            let again = agrees(&written).unwrap();
            assert_eq!(again.inputs(), c.inputs());
            let inputs: Vec<Vec<bool>> =
                c.inputs().iter().map(|i| (0..i.width).map(|_| rng.gen()).collect()).collect();
            assert_eq!(again.eval_bits(&inputs), c.eval_bits(&inputs));
        }
    }

    /// What [`fast_gate`] reads from a line, in [`common_line`]'s terms,
    /// if the line is XOR or AND with two inputs or INV with one.
    fn fast_gate_reads(line: &[u8]) -> Option<(usize, GateKind, [u64; 3])> {
        let mut nums = [0; FAST_NUMBERS];
        match fast_gate(line, &mut nums)? {
            (len, Op::Xor, 5) => Some((len, GateKind::Xor, [nums[2], nums[3], nums[4]])),
            (len, Op::And, 5) => Some((len, GateKind::And, [nums[2], nums[3], nums[4]])),
            (len, Op::Inv, 4) => Some((len, GateKind::Inv, [nums[2], nums[2], nums[3]])),
            _ => None,
        }
    }

    #[test]
    fn common_lines_read_as_fast_gate_reads_them() {
        const DAMAGE: &[u8] = b" \t\r\n0789X/:AIQ";
        let mut rng = StdRng::seed_from_u64(4848);
        let mut taken = 0;
        for _ in 0..100_000 {
            // Numbers of 1 to 10 digits, some with leading zeros.
            let number = |rng: &mut StdRng| {
                let digits = rng.gen_range(1..=10);
                let v = rng.gen_range(0..10u64.pow(digits));
                if rng.gen_bool(0.1) {
                    format!("{v:0digits$}", digits = digits as usize)
                } else {
                    v.to_string()
                }
            };
            let (a, b, c) = (number(&mut rng), number(&mut rng), number(&mut rng));
            let mut line = match rng.gen_range(0..6) {
                0 => format!("1 1 {a} {b} INV\n"),
                1 => format!("1 1 {a} {b} XOR\n"),
                2 => format!("2 1 {a} {b} {c} INV\n"),
                3 => format!("2 1 {a} {b} {c} EQW\n"),
                4 => format!("2 1 {a} {b} {c} AND\n"),
                _ => format!("2 1 {a} {b} {c} XOR\n"),
            }
            .into_bytes();
            let short = [&a, &b, &c].iter().all(|n| n.len() <= 8);
            let want = fast_gate_reads(&line);
            let plain = line.clone();
            for _ in 0..rng.gen_range(0..3) {
                let at = rng.gen_range(0..line.len());
                line[at] = DAMAGE[rng.gen_range(0..DAMAGE.len())];
            }
            // What follows the line: another, or bytes of any kind.
            let mut tail = b"2 1 12345678 12345678 12345679 XOR\n1 1 7 8 INV\n".to_vec();
            if rng.gen_bool(0.3) {
                tail = (0..40).map(|_| rng.gen()).collect();
            }
            let cut = rng.gen_range(0..=tail.len());
            line.extend_from_slice(&tail[..cut]);
            let got = common_line(&line);
            if got.is_some() {
                taken += 1;
                assert_eq!(got, fast_gate_reads(&line), "{:?}", String::from_utf8_lossy(&line));
            } else if line.starts_with(&plain) && short && want.is_some() && line.len() >= COMMON_WINDOW {
                panic!("a common line was not taken: {:?}", String::from_utf8_lossy(&line));
            }
        }
        assert!(taken > 2_000, "{taken} lines taken");
    }

    #[test]
    fn damaged_files_read_as_the_reference_reads_them() {
        const PIECES: &[&[u8]] = &[
            b" ",
            b"\t",
            b"\n",
            b"\r\n",
            b"\r",
            b"\x0b",
            b"\x0c",
            b"0",
            b"1",
            b"7",
            b"99",
            b"+3",
            b"-1",
            b"X",
            b"XOR",
            b"AND",
            b"INV",
            b"EQ",
            b"EQW",
            b"MAND",
            b"NOT",
            b"xor",
            b"\xc2\xa0",
            b"\xff",
            b"\xe2\x80\x83",
            b"18446744073709551615",
            b"18446744073709551616",
            b"00000000000000000000001",
            b"4294967295",
        ];
        let mut rng = StdRng::seed_from_u64(1515);
        let (mut ok, mut failed) = (0, 0);
        for _ in 0..3000 {
            let mut bytes = random_text(&mut rng).into_bytes();
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(0..=bytes.len());
                match rng.gen_range(0..3) {
                    0 => {
                        let piece = PIECES[rng.gen_range(0..PIECES.len())];
                        bytes.splice(at..at, piece.iter().copied());
                    }
                    1 => {
                        let end = (at + rng.gen_range(1..4)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    _ if at < bytes.len() => bytes[at] = PIECES[rng.gen_range(0..PIECES.len())][0],
                    _ => {}
                }
            }
            match agrees(&bytes) {
                Ok(_) => ok += 1,
                Err(_) => failed += 1,
            }
        }
        // Both outcomes are exercised.
        assert!(ok > 100 && failed > 100, "{ok} read, {failed} rejected");
    }

    #[test]
    fn lines_split_across_refills_and_odd_white_space() {
        let base = "3 8\n2 2 2\n3 2 1 1\n\n4 2 0 1 2 3 4 5 MAND\n1 1 0 6 EQW\n1 1 1 7 EQ\n";
        let want = agrees(base.as_bytes()).unwrap();
        let variants = [
            base.replace('\n', "\r\n"),
            base.replace(' ', "\t"),
            base.replace(' ', "   "),
            base.replace('\n', " \t\n"),
            base.trim_end().to_owned(),
            base.trim_end().to_owned() + "   ",
            format!("\n\n  {}\n\n\n", base.replace('\n', "\n\n")),
            base.replace('\n', "\x0b\n"),
            base.replace("EQ\n", "EQ\u{a0}\n"),
        ];
        for text in &variants {
            assert_eq!(agrees(text.as_bytes()), Ok(want.clone()), "{text:?}");
        }
        // A MAND line far longer than the first buffer.
        let k = 3000;
        let ins: Vec<String> = (0..2 * k).map(|i| (i % 2).to_string()).collect();
        let outs: Vec<String> = (2..2 + k).map(|o| o.to_string()).collect();
        let long =
            format!("1 {}\n2 1 1\n1 {k}\n\n{} {k} {} {} MAND\n", k + 2, 2 * k, ins.join(" "), outs.join(" "));
        assert_eq!(agrees(long.as_bytes()).unwrap().stats().and, k);
    }

    #[test]
    fn errors_name_the_same_line_as_before() {
        let cases: &[&[u8]] = &[
            b"",
            b"\n \t\n",
            b"1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR",
            b"1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n\n\n",
            b"1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n\xff\n",
            b"1 3\n2 1 1\n1 1\n\n2 1 0 1 2 \xffXOR\n",
            b"1 3\n2 1 1\n1 1\n\n2 1 0 1 2\n",
            b"1 3\n2 1 1\n1 1\n\n2 1 0 1 +2 XOR\n",
            b"1 3\n2 1 1\n1 1\n\n18446744073709551615 0 XOR\n",
            b"1 3\n2 1 1\n1 1\n\n2 1 0 1 99999999999999999999 XOR\n",
            b"1 3\n2 1 1\n1 1\n\nXOR\n",
            b"1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR 5\n",
            b"1 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n2 1 0 1 2 XOR\n",
            b"2 5\n1 1 1\n\n2 1 0 1 2 AND\n1 1 2 3 INV\n",
        ];
        for &bytes in cases {
            let _ = agrees(bytes);
        }
    }
}
