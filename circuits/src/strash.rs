//! Structural hashing for the [`crate::Builder`]: which gate already
//! computes `kind(a, b)`, so that building it again returns its wire.
//!
//! The table holds, per gate, its index in the builder's gate list and 32
//! bits of its key's hash (8 bytes an entry, in hashbrown's `HashTable`);
//! the key itself is read back from the gate on the rare probe whose tag
//! matches. A map from the 8-byte key to the 4-byte wire took 16 bytes an
//! entry. On large programs the table outgrows the caches and nearly
//! every probe misses (a profile of compiling a 27.7 M-gate dot product:
//! half the time in the insert's store); a table half the size misses less
//! often and needs less memory. The stored hash lets the table grow
//! without reading the gates back (an earlier version that stored the
//! index alone spent most of its time re-reading gates while growing).

use hashbrown::hash_table::{Entry, HashTable};
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

use crate::circuit::{Gate, GateKind, WireId};

/// Gates by `(kind, a, b)`, operands ordered; INV gates are not in it.
#[derive(Debug, Default)]
pub(crate) struct Strash {
    /// `(gate index, hash32)`.
    table: HashTable<(u32, u32)>,
}

/// 32 bits of the hash of a gate's key.
#[inline(always)]
fn hash32(kind: GateKind, a: WireId, b: WireId) -> u32 {
    let key = (u64::from(a.get()) << 32 | u64::from(b.get())) ^ (u64::from(kind.tag()) << 63);
    (FxBuildHasher.hash_one(key) >> 32) as u32
}

/// The table's 64-bit hash from the stored 32 bits: hashbrown takes the
/// bucket from the low bits and the tag from the top 7, so both come from
/// the same 32.
#[inline(always)]
fn spread(h: u32) -> u64 {
    u64::from(h) << 32 | u64::from(h)
}

impl Strash {
    /// The output wire of a gate in `gates` computing `kind(a, b)` (`a ≤
    /// b`), or else `None` after appending `Gate { a, b, out: fresh(), kind
    /// }` to `gates` and recording it.
    pub(crate) fn find_or_push(
        &mut self,
        gates: &mut Vec<Gate>,
        kind: GateKind,
        a: WireId,
        b: WireId,
        fresh: impl FnOnce() -> WireId,
    ) -> Option<WireId> {
        let index = gates.len();
        let h = hash32(kind, a, b);
        let list: &[Gate] = gates;
        let same = |&(i, hi): &(u32, u32)| {
            hi == h && {
                let g = &list[i as usize];
                g.kind == kind && g.a == a && g.b == b
            }
        };
        match self.table.entry(spread(h), same, |&(_, hi)| spread(hi)) {
            Entry::Occupied(e) => Some(gates[e.get().0 as usize].out),
            Entry::Vacant(slot) => {
                gates.push(Gate { a, b, out: fresh(), kind });
                // Past 2^32 gates the wires have run out too (the builder
                // reports it); such a gate is just not shared.
                if let Ok(i) = u32::try_from(index) {
                    slot.insert((i, h));
                }
                None
            }
        }
    }

    /// Forgets gate `index` of `gates` (a no-op for gates not recorded).
    pub(crate) fn forget(&mut self, gates: &[Gate], index: usize) {
        let g = &gates[index];
        if g.kind == GateKind::Inv {
            return;
        }
        if let Ok(e) = self.table.find_entry(spread(hash32(g.kind, g.a, g.b)), |&(i, _)| i as usize == index)
        {
            e.remove();
        }
    }
}
