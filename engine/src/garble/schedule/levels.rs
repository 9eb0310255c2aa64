//! What pass 1 of the window compiler learns about each gate of a window
//! ([`Info`]: its AND level, its free-chain depth, the window gates that
//! produced its operands) and the sentinels these use. Read by the compiler
//! (`window.rs`), which orders the window by it, and by XOR folding
//! (`fuse.rs`), which follows the producers; in a file of its own so that
//! neither depends on the other for it.

/// No window gate: an operand's value is from before the window.
pub(super) const NONE: u32 = u32::MAX;

/// What pass 1 learns about a window gate.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Info {
    /// AND-level (see the `schedule` module docs).
    pub(super) level: u32,
    /// For a free gate, the length of the longest chain of free gates of the
    /// same level ending at it; `u32::MAX` marks an AND gate.
    pub(super) depth: u32,
    /// Window gates that produced the operands, or NONE (value from before).
    pub(super) ref_a: u32,
    pub(super) ref_b: u32,
}

/// The [`Info::depth`] of an AND gate.
pub(super) const AND_DEPTH: u32 = u32::MAX;
