//! Records from CSV: an array input read row by row from a file, as a data
//! owner keeps it, instead of typed in as JSON.
//!
//! The input's type is `[T; N]`. Each CSV row is one element, in order, and
//! the file must have exactly `N` rows after its header. The header names
//! `T`'s leaves: a struct's fields by name, nested ones with dots (`a.b`),
//! array elements and tuple fields by index (`features.0`, `features.1`, …).
//! When `T` is a scalar the file has one column, under any name. Columns may
//! come in any order; each leaf must have exactly one. Integers are decimal
//! (with a sign where the type has one) or `0x` hex, `_` allowed;
//! fixed-point values are decimals (`-0.75`, `2.5e-3`), rounded to the
//! nearest value of the type, ties to even, as in JSON; booleans are
//! `true`/`false` or `1`/`0`; a C-like enum's cell is a variant's name as
//! declared (`Red`). An `Option` of any of these is one column too: an
//! empty cell is `None`, anything else the value. Enums with fields (and
//! `Option`s of anything but those scalars) have no CSV form: the header
//! is refused, naming the column, and such records are given as JSON.
//!
//! Reading is streamed: one reused record buffer, values parsed from bytes
//! and written straight into the input's bits, so memory is the bits of the
//! input (which the session needs anyway) and nothing per row. A mistake is
//! a [`RecordsError`] naming the row (1-based, not counting the header) and
//! the column.

use crate::fixed::{DecimalError, Format, MAX_DIGITS};
use crate::types::Type;
use std::io::Read;

/// Why a CSV file is not a value of the input's type.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordsError {
    /// The input's type is not an array.
    #[error("a CSV file gives an array of records, but the input is {0}: give it as JSON instead")]
    NotAnArray(String),
    /// The header does not match the element type.
    #[error("the header: {0}")]
    Header(String),
    /// A value that does not parse or does not fit.
    #[error("row {}, column `{column}`: {message}", thousands(*row))]
    Value {
        /// 1-based data row.
        row: u64,
        /// The column's header.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A row with another number of fields than the header.
    #[error("row {}: {found} fields, the header has {expected}", thousands(*row))]
    Width {
        /// 1-based data row.
        row: u64,
        /// Fields in the row.
        found: usize,
        /// Columns in the header.
        expected: usize,
    },
    /// Fewer or more rows than the array's length.
    #[error(
        "{found} row{}, but the input holds {expected} records (one row per record)",
        if *found == 1 { "" } else { "s" }
    )]
    RowCount {
        /// Data rows in the file.
        found: u64,
        /// The array's length.
        expected: u32,
    },
    /// The file is not CSV (or could not be read).
    #[error("{0}")]
    Csv(String),
}

/// `1207` as `1,207`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One scalar of the element type: where its bits go and how to read it.
#[derive(Clone, Debug)]
struct Leaf {
    path: String,
    /// Where the value starts in the element (for an `Option`, its tag).
    offset: u32,
    kind: Scalar,
    /// An `Option` of the scalar: an empty cell is `None` (the tag and the
    /// value stay zero), another is the tag set, then the value.
    optional: bool,
}

#[derive(Clone, Copy, Debug)]
enum Scalar {
    Bool,
    Int {
        signed: bool,
        bits: u32,
    },
    Fixed(Format),
    /// A C-like enum, by its index in the reader's [`EnumCells`].
    Enum(usize),
}

/// The cells of a C-like enum: each variant's name and discriminant, made
/// once per file, so that a cell is matched without allocating.
#[derive(Debug)]
struct EnumCells {
    name: String,
    tag_bits: u32,
    variants: Vec<(Vec<u8>, u128)>,
}

impl EnumCells {
    /// The variants' names for a message: all of them, or the first 16.
    fn names(&self) -> String {
        let shown: Vec<String> =
            self.variants.iter().take(16).map(|(n, _)| String::from_utf8_lossy(n).into_owned()).collect();
        if self.variants.len() > 16 {
            format!("{}, … ({} in all)", shown.join(", "), self.variants.len())
        } else {
            shown.join(", ")
        }
    }
}

/// The scalar a cell of type `ty` holds, if it has one (registering a
/// C-like enum's cells in `enums`).
fn scalar(ty: &Type, enums: &mut Vec<EnumCells>) -> Option<Scalar> {
    match ty {
        Type::Bool => Some(Scalar::Bool),
        Type::Int { signed, bits } => Some(Scalar::Int { signed: *signed, bits: *bits }),
        Type::Fixed { .. } => Format::of(ty).map(Scalar::Fixed),
        Type::Enum { name, variants } if ty.is_c_like_enum() => {
            let k = match enums.iter().position(|e| &e.name == name) {
                Some(k) => k,
                None => {
                    enums.push(EnumCells {
                        name: name.clone(),
                        tag_bits: ty.tag_bits(),
                        variants: variants
                            .iter()
                            .map(|v| (v.name.as_bytes().to_vec(), v.discriminant))
                            .collect(),
                    });
                    enums.len() - 1
                }
            };
            Some(Scalar::Enum(k))
        }
        _ => None,
    }
}

fn leaves(
    ty: &Type,
    path: &str,
    offset: u32,
    out: &mut Vec<Leaf>,
    enums: &mut Vec<EnumCells>,
) -> Result<(), RecordsError> {
    let join = |step: &str| if path.is_empty() { step.to_owned() } else { format!("{path}.{step}") };
    let leaf = |kind, optional| Leaf { path: path.to_owned(), offset, kind, optional };
    let column = || if path.is_empty() { "each record".to_owned() } else { format!("the column `{path}`") };
    match ty {
        Type::Array(elem, n) => {
            for k in 0..*n {
                leaves(elem, &join(&k.to_string()), offset + k * elem.width(), out, enums)?;
            }
        }
        Type::Tuple(ts) => {
            let mut at = offset;
            for (k, t) in ts.iter().enumerate() {
                leaves(t, &join(&k.to_string()), at, out, enums)?;
                at += t.width();
            }
        }
        Type::Struct { fields, .. } => {
            let mut at = offset;
            for (f, t) in fields {
                leaves(t, &join(f), at, out, enums)?;
                at += t.width();
            }
        }
        Type::Enum { .. } if ty.option_inner().is_some() => {
            let inner = ty.option_inner().and_then(|t| scalar(t, enums));
            let Some(kind) = inner else {
                return Err(RecordsError::Header(format!(
                    "{} is {ty}, which has no CSV form: a cell holds an Option of a bool, an integer, a fixed-point number or a C-like enum (empty for None); give this input as JSON",
                    column()
                )));
            };
            out.push(leaf(kind, true));
        }
        Type::Enum { name, .. } if !ty.is_c_like_enum() => {
            return Err(RecordsError::Header(format!(
                "{} is the enum {name}, whose variants have fields, which has no CSV form: a cell holds a C-like enum's variant name; give this input as JSON",
                column()
            )));
        }
        _ => {
            if let Some(kind) = scalar(ty, enums) {
                out.push(leaf(kind, false));
            }
        }
    }
    Ok(())
}

/// For each column of the header, the leaf it fills, and the C-like enums
/// the leaves read.
fn match_header(elem: &Type, header: &csv::ByteRecord) -> Result<(Vec<Leaf>, Vec<EnumCells>), RecordsError> {
    let mut all = Vec::new();
    let mut enums = Vec::new();
    leaves(elem, "", 0, &mut all, &mut enums)?;
    let names: Vec<String> = header.iter().map(|h| String::from_utf8_lossy(h).trim().to_owned()).collect();
    let name_shown = |name: &str| shown(name.as_bytes());
    if all.len() == 1 && all[0].path.is_empty() {
        if names.len() != 1 {
            return Err(RecordsError::Header(format!(
                "{} columns, but each record is one {elem}: give one column",
                names.len()
            )));
        }
        return Ok((all, enums));
    }
    let mut columns = Vec::with_capacity(names.len());
    let mut seen = vec![false; all.len()];
    for name in &names {
        let Some(k) = all.iter().position(|l| &l.path == name) else {
            let known: Vec<&str> = all.iter().take(12).map(|l| l.path.as_str()).collect();
            let more = if all.len() > 12 { ", …" } else { "" };
            return Err(RecordsError::Header(format!(
                "`{}` is not a field of {elem} (its columns are {}{more})",
                name_shown(name),
                known.join(", ")
            )));
        };
        if std::mem::replace(&mut seen[k], true) {
            return Err(RecordsError::Header(format!("column `{}` appears twice", name_shown(name))));
        }
        columns.push(all[k].clone());
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        let missing = all.iter().zip(&seen).filter(|(_, s)| !**s).count();
        return Err(RecordsError::Header(format!(
            "no column `{}`{} (every field of {elem} needs one)",
            all[k].path,
            if missing > 1 { format!(" and {} more", missing - 1) } else { String::new() }
        )));
    }
    Ok((columns, enums))
}

/// Reads a CSV file as a value of `ty` (`[T; N]`), as its bits (least
/// significant first, the layout of [`Type::encode`]).
pub fn encode_csv(ty: &Type, reader: impl Read) -> Result<Vec<bool>, RecordsError> {
    let Type::Array(elem, n) = ty else { return Err(RecordsError::NotAnArray(ty.to_string())) };
    let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(reader);
    let header = csv.byte_headers().map_err(|e| RecordsError::Csv(e.to_string()))?.clone();
    let (columns, enums) = match_header(elem, &header)?;
    let elem_bits = elem.width() as usize;
    let mut bits = vec![false; elem_bits * *n as usize];
    let mut record = csv::ByteRecord::new();
    let mut row: u64 = 0;
    while csv.read_byte_record(&mut record).map_err(|e| RecordsError::Csv(e.to_string()))? {
        row += 1;
        if row > u64::from(*n) {
            // Count the rest for the message, without keeping them.
            while csv.read_byte_record(&mut record).map_err(|e| RecordsError::Csv(e.to_string()))? {
                row += 1;
            }
            return Err(RecordsError::RowCount { found: row, expected: *n });
        }
        if record.len() != columns.len() {
            return Err(RecordsError::Width { row, found: record.len(), expected: columns.len() });
        }
        let base = (row as usize - 1) * elem_bits;
        for (field, leaf) in record.iter().zip(&columns) {
            let at = base + leaf.offset as usize;
            write_leaf(field, leaf, &enums, &mut bits[at..]).map_err(|message| RecordsError::Value {
                row,
                column: if leaf.path.is_empty() {
                    String::from_utf8_lossy(&header[0]).trim().to_owned()
                } else {
                    leaf.path.clone()
                },
                message,
            })?;
        }
    }
    if row != u64::from(*n) {
        return Err(RecordsError::RowCount { found: row, expected: *n });
    }
    Ok(bits)
}

/// Parses one field into `out[..width]` of its leaf (an `Option`'s tag,
/// then its value).
fn write_leaf(field: &[u8], leaf: &Leaf, enums: &[EnumCells], out: &mut [bool]) -> Result<(), String> {
    if !leaf.optional {
        return write_scalar(field, leaf.kind, enums, out);
    }
    if field.trim_ascii().is_empty() {
        return Ok(()); // None: the tag and the value stay zero.
    }
    out[0] = true;
    write_scalar(field, leaf.kind, enums, &mut out[1..])
}

/// A cell or header as a message shows it: control characters escaped
/// (a binary file's bytes), and at most [`SHOWN_CHARS`] characters of it
/// with its length (a 50 MB cell must not become a 50 MB message).
fn shown(text: &[u8]) -> String {
    let all = String::from_utf8_lossy(text);
    let mut out = String::new();
    for (k, c) in all.chars().enumerate() {
        if k == SHOWN_CHARS {
            out.push_str(&format!("… ({} characters)", all.chars().count()));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters of a cell or a header name a message shows.
const SHOWN_CHARS: usize = 48;

/// Parses one field into `out[..width]`.
fn write_scalar(field: &[u8], kind: Scalar, enums: &[EnumCells], out: &mut [bool]) -> Result<(), String> {
    let text = field.trim_ascii();
    let shown = || shown(text);
    match kind {
        Scalar::Bool => {
            // Any case: pandas writes `True`, spreadsheets `TRUE`.
            out[0] = match text {
                b"1" => true,
                b"0" => false,
                t if t.eq_ignore_ascii_case(b"true") => true,
                t if t.eq_ignore_ascii_case(b"false") => false,
                _ => return Err(format!("`{}` is not a bool (true, false, 1 or 0)", shown())),
            };
        }
        Scalar::Int { signed, bits } => {
            // A whole number written with a fraction or an exponent
            // (`3.0`, as pandas writes an integer column that has empty
            // cells, or `1e3`) is that number.
            let (negative, magnitude) = match parse_int(text) {
                Some(v) => v,
                None if text.is_empty() => return Err("the field is empty".to_owned()),
                None => match std::str::from_utf8(text).map(crate::value::exact_integer) {
                    Ok(Ok(v)) => v,
                    Ok(Err(crate::value::NotAnInteger::Fraction)) => {
                        let ty = Type::Int { signed, bits };
                        return Err(format!(
                            "{} is not a whole number, and {ty} holds whole numbers only",
                            shown()
                        ));
                    }
                    _ => return Err(format!("`{}` is not an integer", shown())),
                },
            };
            if !crate::types::literal_fits(negative, magnitude, signed, bits) {
                let ty = Type::Int { signed, bits };
                let range = crate::types::int_range_text(signed, bits);
                return Err(format!("{} does not fit in {ty} ({range})", shown()));
            }
            let v = if negative { magnitude.wrapping_neg() } else { magnitude };
            write_bytes(v, &mut out[..bits as usize]);
        }
        Scalar::Fixed(format) => {
            let raw = match std::str::from_utf8(text).map(|t| format.parse(t)) {
                Ok(Ok(raw)) => raw,
                _ if text.is_empty() => return Err("the field is empty".to_owned()),
                Ok(Err(DecimalError::OutOfRange)) => {
                    return Err(format!("{} does not fit in {} ({})", shown(), format, format.range_text()))
                }
                Ok(Err(DecimalError::TooLong)) => {
                    return Err(format!(
                        "a number of more than {MAX_DIGITS} digits is not a value of {format}"
                    ))
                }
                _ => return Err(format!("`{}` is not a decimal number", shown())),
            };
            write_bytes(raw, &mut out[..format.width as usize]);
        }
        Scalar::Enum(k) => {
            // `match_header` made the index with the table.
            let Some(cells) = enums.get(k) else {
                return Err("an enum column without its variants".to_owned());
            };
            let Some(&(_, d)) = cells.variants.iter().find(|(name, _)| name.as_slice() == text) else {
                let found = if text.is_empty() {
                    format!("the field is empty, but it holds a {}", cells.name)
                } else {
                    format!("`{}` is not a variant of {}", shown(), cells.name)
                };
                return Err(format!("{found} (its variants: {})", cells.names()));
            };
            for (k, slot) in out[..cells.tag_bits as usize].iter_mut().enumerate() {
                *slot = (d >> k) & 1 == 1;
            }
        }
    }
    Ok(())
}

/// Writes `v` into `out` (a whole number of bytes), least significant bit
/// first, eight bits at a time from a table.
fn write_bytes(v: u128, out: &mut [bool]) {
    for (k, slot) in out.chunks_exact_mut(8).enumerate() {
        slot.copy_from_slice(&BYTE_BITS[((v >> (8 * k)) & 0xff) as usize]);
    }
}

/// The eight bits of each byte value, least significant first.
const BYTE_BITS: [[bool; 8]; 256] = {
    let mut table = [[false; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < 8 {
            table[b][k] = (b >> k) & 1 == 1;
            k += 1;
        }
        b += 1;
    }
    table
};

/// A decimal or `0x` integer with an optional sign, as sign and magnitude;
/// `None` if it is not one or needs more than 128 bits.
fn parse_int(text: &[u8]) -> Option<(bool, u128)> {
    let (negative, rest) = match text.split_first()? {
        (b'-', r) => (true, r),
        (b'+', r) => (false, r),
        _ => (false, text),
    };
    let (radix, digits) = match rest {
        [b'0', b'x' | b'X', h @ ..] => (16u128, h),
        _ => (10u128, rest),
    };
    // Up to 19 decimal digits fit a u64, whose multiply is one instruction;
    // longer numbers continue in u128.
    if radix == 10 && digits.len() <= 19 && !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        let v = digits.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'));
        return Some((negative && v != 0, u128::from(v)));
    }
    let mut v: u128 = 0;
    let mut any = false;
    for &c in digits {
        let d = match c {
            b'_' => continue,
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' if radix == 16 => c - b'a' + 10,
            b'A'..=b'F' if radix == 16 => c - b'A' + 10,
            _ => return None,
        };
        v = v.checked_mul(radix)?.checked_add(u128::from(d))?;
        any = true;
    }
    // `-0` is zero, in every type.
    any.then_some((negative && v != 0, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(signed: bool, bits: u32) -> Type {
        Type::Int { signed, bits }
    }

    /// The header of [`record`]'s columns.
    const RECORD_HEADER: &str = "age,features.0,features.1,label\n";

    /// The error reading `csv` as `ty` gives, in words.
    fn csv_error(ty: &Type, csv: &str) -> String {
        encode_csv(ty, csv.as_bytes()).unwrap_err().to_string()
    }

    fn record() -> Type {
        Type::Struct {
            name: "Record".into(),
            fields: vec![
                ("age".into(), int(false, 8)),
                ("features".into(), Type::Array(Box::new(int(true, 16)), 2)),
                ("label".into(), Type::Bool),
            ],
        }
    }

    #[test]
    fn rows_fill_the_same_bits_as_json() {
        let ty = Type::Array(Box::new(record()), 2);
        let csv = "label,features.1,age,features.0\ntrue,-3,42,0x7fff\n0,12,255,-32768\n";
        let json = serde_json::json!([
            {"age": 42, "features": [32767, -3], "label": true},
            {"age": 255, "features": [-32768, 12], "label": false}
        ]);
        assert_eq!(encode_csv(&ty, csv.as_bytes()).unwrap(), ty.encode(&json).unwrap());
        let scalars = Type::Array(Box::new(int(false, 32)), 3);
        assert_eq!(
            encode_csv(&scalars, "x\n1\n2\n 3 \n".as_bytes()).unwrap(),
            scalars.encode(&serde_json::json!([1, 2, 3])).unwrap()
        );
    }

    /// What other tools write: pandas' `True`/`False` and `3.0` (an integer
    /// column with empty cells), a spreadsheet's `TRUE`, `-0`, `1e3`: the
    /// same bits as the JSON values.
    #[test]
    fn cells_as_pandas_and_spreadsheets_write_them() {
        let ty = Type::Array(Box::new(record()), 3);
        let csv =
            "age,features.0,features.1,label\n3.0,-0,1e3,True\n-0,2.50e1,-7.0,FALSE\n255.000,0,0,tRuE\n";
        let json = serde_json::json!([
            {"age": 3, "features": [0, 1000], "label": true},
            {"age": 0, "features": [25, -7], "label": false},
            {"age": 255, "features": [0, 0], "label": true}
        ]);
        assert_eq!(encode_csv(&ty, csv.as_bytes()).unwrap(), ty.encode(&json).unwrap());
        let err = |csv: &str| csv_error(&ty, csv);
        let head = RECORD_HEADER;
        let rows = "1,2,3,true\n1,2,3,true\n";
        assert_eq!(
            err(&format!("{head}1.5,2,3,true\n{rows}")),
            "row 1, column `age`: 1.5 is not a whole number, and u8 holds whole numbers only"
        );
        assert_eq!(
            err(&format!("{head}256.0,2,3,true\n{rows}")),
            "row 1, column `age`: 256.0 does not fit in u8 (0..=255)"
        );
        assert_eq!(
            err(&format!("{head}-1,2,3,true\n{rows}")),
            "row 1, column `age`: -1 does not fit in u8 (0..=255)"
        );
    }

    #[test]
    fn mistakes_name_row_and_column() {
        let ty = Type::Array(Box::new(record()), 2);
        let err = |csv: &str| csv_error(&ty, csv);
        let head = RECORD_HEADER;
        assert_eq!(
            err(&format!("{head}1,2,3,true\n300,2,3,true\n")),
            "row 2, column `age`: 300 does not fit in u8 (0..=255)"
        );
        assert_eq!(err(&format!("{head}1,2,x,true\n")), "row 1, column `features.1`: `x` is not an integer");
        // A cell is shown escaped and cut short, whatever its size.
        let long = "x".repeat(1 << 20);
        assert_eq!(
            err(&format!("{head}1,2,{long},true\n")),
            format!(
                "row 1, column `features.1`: `{}… (1048576 characters)` is not an integer",
                "x".repeat(48)
            )
        );
        assert_eq!(
            err(&format!("{head}1,2,\u{1}\u{7f},true\n")),
            "row 1, column `features.1`: `\\u{1}\\u{7f}` is not an integer"
        );
        assert_eq!(
            err(&format!("{head}1,2,3,yes\n")),
            "row 1, column `label`: `yes` is not a bool (true, false, 1 or 0)"
        );
        assert_eq!(
            err(&format!("{head}1,2,3,true\n")),
            "1 row, but the input holds 2 records (one row per record)"
        );
        assert_eq!(
            err(&format!("{head}1,2,3,true\n1,2,3,true\n1,2,3,true\n")),
            "3 rows, but the input holds 2 records (one row per record)"
        );
        assert_eq!(err(&format!("{head}1,2,3\n")), "row 1: 3 fields, the header has 4");
        assert!(err("age,features.0,label\n").contains("no column `features.1`"));
        assert!(err("age,features.0,features.1,label,colour\n").contains("`colour` is not a field of Record"));
        assert!(err("age,age,features.0,features.1,label\n").contains("column `age` appears twice"));
        assert_eq!(thousands(1207), "1,207");
        assert_eq!(thousands(100), "100");
        assert!(matches!(encode_csv(&record(), "a\n".as_bytes()), Err(RecordsError::NotAnArray(_))));
    }
}
