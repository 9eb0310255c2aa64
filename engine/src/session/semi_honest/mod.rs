//! The `semi-honest` mode: Yao's protocol (three-halves garbling by default,
//! half-gates by choice; the hello names the scheme), the evaluator's
//! inputs by maliciously-secure OT, and the garbler's outputs returned as
//! colour bits with a hash of their labels, which it verifies. Secure against a malicious evaluator; the garbler is
//! trusted to garble the agreed program (`docs/SECURITY.md`).
//!
//! Each role is one file and reads as the list of [`super::steps`] it
//! calls.

pub(crate) mod evaluator;
pub(crate) mod garbler;
