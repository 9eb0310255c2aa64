//! The garbling layer's errors, one enum per operation: scheduling a
//! circuit ([`PlanError`]), garbling ([`GarbleError`]), evaluating a garbled
//! stream ([`GarbledEvalError`]) and decoding or verifying output labels
//! ([`OutputDecodeError`]). Their own file so that every module of the layer
//! can name them without depending on the garbler or the evaluator.

use std::io;

/// A circuit that cannot be scheduled: a malformed [`GateSource`](crate::garble::GateSource).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A gate or an output names a wire at or past the wire count (`gate`
    /// is `u64::MAX` for an output).
    #[error("gate {gate} uses wire {wire}, but the circuit has {num_wires} wires")]
    WireOutOfRange {
        /// Gate index in the source.
        gate: u64,
        /// The wire.
        wire: u32,
        /// The wire count.
        num_wires: u32,
    },
    /// A gate writes wire 0 or 1.
    #[error("gate {gate} writes the constant wire {wire}")]
    WritesConstant {
        /// Gate index.
        gate: u64,
        /// The wire.
        wire: u32,
    },
    /// An INV gate with two different operands.
    #[error("gate {gate} is an INV whose operands differ")]
    MalformedInv {
        /// Gate index.
        gate: u64,
    },
    /// The constants and inputs need more wires than the circuit has.
    #[error("{input_bits} input bits do not fit in {num_wires} wires")]
    InputsExceedWires {
        /// Input bits.
        input_bits: u64,
        /// The wire count.
        num_wires: u32,
    },
    /// The source gave no gates at `at`, before its gate count: a file
    /// that failed or changed while it was read.
    #[error("the circuit ended at gate {at} of {num_gates} while it was planned")]
    SourceEnded {
        /// The first gate not given.
        at: u64,
        /// The gates the source claims.
        num_gates: u64,
    },
    /// Wires plus window slots must be indexable by `u32`.
    #[error("{num_wires} wires and a window of {window_gates} gates exceed the label index space")]
    TooManyWires {
        /// The wire count.
        num_wires: u32,
        /// The window size.
        window_gates: usize,
    },
}

/// Garbling failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GarbleError {
    /// Writing the garbled stream to the sink failed.
    #[error("writing the garbled circuit failed: {0}")]
    Io(#[from] io::Error),
    /// The circuit could not be scheduled.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A number of input labels or bits does not match the circuit's input
    /// wires.
    #[error("expected {expected} input labels or bits, got {got}")]
    InputCount {
        /// Input wires of the circuit.
        expected: u64,
        /// Labels in the encoder.
        got: u64,
    },
    /// The run's AND indices `first_and .. first_and + ands` would pass
    /// [`AND_INDEX_LIMIT`], where tweaks would no longer be unique. Nothing
    /// was garbled or written.
    ///
    /// [`AND_INDEX_LIMIT`]: crate::garble::AND_INDEX_LIMIT
    #[error("AND gates {first_and} + {ands} pass the AND index limit 2^62 (tweaks would repeat)")]
    TweakRange {
        /// The first AND index
        /// ([`Garbler::first_and_index`](crate::garble::Garbler::first_and_index)).
        first_and: u64,
        /// The plan's AND count (its gate count if streaming).
        ands: u64,
    },
}

/// Evaluation failed; every variant caused by the peer's data is an error
/// here, never a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GarbledEvalError {
    /// The garbled stream ended early.
    #[error("the garbled stream ended early: {expected} more bytes were expected at byte {offset}")]
    Truncated {
        /// Stream offset where the read started.
        offset: u64,
        /// Bytes that read wanted.
        expected: u64,
    },
    /// Reading the garbled stream failed (other than ending early).
    #[error("reading the garbled circuit failed: {0}")]
    Io(io::Error),
    /// The trailer does not close this circuit's stream (wrong tag or AND
    /// index): the stream is misframed, belongs to another circuit or was
    /// garbled from another first AND index.
    #[error("the garbled stream's trailer does not match: expected AND index {expected_ands} at the end, trailer says {trailer:x}")]
    BadTrailer {
        /// The AND index after this run's last AND gate: the first AND index
        /// plus the plan's AND count (the AND count when the first index is
        /// 0).
        expected_ands: u64,
        /// The trailer block received.
        trailer: u128,
    },
    /// The checksum of the tables received differs from the garbler's.
    #[error("the garbled tables are corrupt (checksum mismatch)")]
    Corrupt,
    /// The number of input labels does not match the circuit's input wires.
    #[error("{got} input labels given but the circuit has {expected} input wires")]
    InputCount {
        /// Input wires of the circuit.
        expected: u64,
        /// Labels given.
        got: u64,
    },
    /// The circuit could not be scheduled.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The run's AND indices `first_and .. first_and + ands` would pass
    /// [`AND_INDEX_LIMIT`] (see [`GarbleError::TweakRange`]). Nothing was
    /// read or evaluated.
    ///
    /// [`AND_INDEX_LIMIT`]: crate::garble::AND_INDEX_LIMIT
    #[error("AND gates {first_and} + {ands} pass the AND index limit 2^62 (tweaks would repeat)")]
    TweakRange {
        /// The first AND index
        /// ([`Evaluator::first_and_index`](crate::garble::Evaluator::first_and_index)).
        first_and: u64,
        /// The plan's AND count (its gate count if streaming).
        ands: u64,
    },
}

/// Decoding or verifying output labels failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutputDecodeError {
    /// The number of labels (or decoding bits) does not match.
    #[error("expected {expected} output labels, got {got}")]
    Count {
        /// Expected number.
        expected: usize,
        /// Received number.
        got: usize,
    },
    /// A label is neither of the two labels of its output wire.
    #[error("output label {index} is not a valid label of its wire")]
    InvalidLabel {
        /// Position of the label.
        index: usize,
    },
    /// Packed output bits — a serialised decoder, or the colour bits the
    /// evaluator returns — have the wrong length or stray bits past the
    /// last.
    #[error("malformed packed output bits (wrong length, or stray bits past the last)")]
    Malformed,
    /// The evaluator's hash of its output labels is not the hash of the
    /// garbler's labels of the values its colour bits claim: it claimed a
    /// value whose label it does not hold, or the data was corrupted.
    #[error("the hash of the output labels does not match the values returned")]
    LabelHashMismatch,
}
