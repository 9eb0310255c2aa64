//! Structural hashing for the [`crate::Builder`]: which gate already
//! computes `kind(a, b)`, so that building it again returns its wire.
//!
//! **Chains by the younger operand.** The builder's wires are SSA and
//! numbered in creation order, and it orders a gate's operands `a ≤ b`,
//! so a gate `kind(a, b)` can only have been built after `b` existed. The
//! gates are therefore kept in one chain per wire `b`, newest first: `head[b]`
//! is the newest gate whose larger operand is `b`, `prev[i]` the one
//! before gate `i` in its chain (5 bytes per wire and 4 per gate, no load
//! factor and nothing to rehash). A look-up walks the chain of `b`. Nearly
//! always `b` is a wire made a few gates earlier and its users are the
//! last few gates, so the walk reads memory that is still in the cache;
//! the hash table this replaced (`(gate index, hash32)` buckets in
//! hashbrown) took a cache and a TLB miss on nearly every gate of a large
//! program (`BENCHMARKS.md`, issue 16).
//!
//! **Bounded walks.** A chain holds at most [`CHAIN`] gates; the gates of
//! a wire with more users than that go to an ordinary hash table of
//! `(gate index, hash32)` (the old table, which stays empty on most
//! programs), which a look-up probes only when the chain is full. So a
//! look-up costs at most [`CHAIN`] steps and one probe, and it finds
//! exactly what a single table would: the table holds the gates of `b`
//! only while its chain is full, which forgetting a suffix of the gates
//! (the only removal there is) keeps true, since the chain holds `b`'s
//! oldest gates. A byte per wire counts its chain, so that a gate the
//! caller knows is new ([`Strash::push_new`]: the compression's pending
//! partial products, see `gadgets.rs`) is recorded without a walk.

use hashbrown::hash_table::HashTable;

use crate::circuit::{Gate, GateKind, WireId};

/// The most gates one wire's chain holds.
const CHAIN: u8 = 32;

/// No gate (end of a chain, or a wire no gate has as its larger operand).
const NONE: u32 = u32::MAX;

/// Gates by `(kind, a, b)`, operands ordered; INV gates are not in it.
#[derive(Debug, Default)]
pub(crate) struct Strash {
    /// `head[b]`: the newest chained gate whose larger operand is `b`.
    head: Vec<u32>,
    /// `prev[i]`: the chained gate before gate `i` in its chain (indexed
    /// by gate; entries of gates not chained are unused).
    prev: Vec<u32>,
    /// `len[b]`: how many gates `b`'s chain holds (at most [`CHAIN`]), so
    /// that [`Strash::push_new`] knows where a gate goes without a walk.
    len: Vec<u8>,
    /// The gates past the first [`CHAIN`] of their operand `b`: `(gate
    /// index, hash32)`.
    overflow: HashTable<(u32, u32)>,
}

/// 32 bits of the hash of a gate's key: murmur3's 64-bit finaliser, so
/// that every bit of both operands reaches every bit of the hash. (The
/// table holds the gates of wires with many users, whose keys differ only
/// in `a`; FxHash's top 32 bits took just 6 bits of `a`, and a program
/// XORing one wire into thousands spent seconds probing.)
#[inline(always)]
fn hash32(kind: GateKind, a: WireId, b: WireId) -> u32 {
    let mut x = (u64::from(a.get()) << 32 | u64::from(b.get())) ^ (u64::from(kind.tag()) << 62);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    (x >> 32) as u32
}

/// The table's 64-bit hash from the stored 32 bits: hashbrown takes the
/// bucket from the low bits and the tag from the top 7, so both come from
/// the same 32.
#[inline(always)]
fn spread(h: u32) -> u64 {
    u64::from(h) << 32 | u64::from(h)
}

/// `table[k] = value`, growing `table` (with [`NONE`]) to hold entry `k`.
#[inline(always)]
fn set(table: &mut Vec<u32>, k: usize, value: u32) {
    match table.len().cmp(&k) {
        std::cmp::Ordering::Greater => table[k] = value,
        std::cmp::Ordering::Equal => table.push(value),
        std::cmp::Ordering::Less => {
            table.resize(k, NONE);
            table.push(value);
        }
    }
}

/// `len[k] = value`, growing `len` (with zeros) to hold entry `k`.
#[inline(always)]
fn set_len(len: &mut Vec<u8>, k: usize, value: u8) {
    if k >= len.len() {
        len.resize(k + 1, 0);
    }
    len[k] = value;
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
        match self.find(gates, kind, a, b) {
            Some(out) => Some(out),
            None => {
                self.push_new(gates, kind, a, b, fresh);
                None
            }
        }
    }

    /// The output wire of a gate in `gates` computing `kind(a, b)` (`a ≤
    /// b`), if there is one.
    pub(crate) fn find(&self, gates: &[Gate], kind: GateKind, a: WireId, b: WireId) -> Option<WireId> {
        let mut j = self.head.get(b.index()).copied().unwrap_or(NONE);
        while j != NONE {
            let g = &gates[j as usize];
            if g.a == a && g.kind == kind && g.b == b {
                return Some(g.out);
            }
            j = self.prev[j as usize];
        }
        if self.len.get(b.index()).copied().unwrap_or(0) < CHAIN || self.overflow.is_empty() {
            return None;
        }
        let h = hash32(kind, a, b);
        let same = |&(k, hk): &(u32, u32)| {
            hk == h && {
                let g = &gates[k as usize];
                g.kind == kind && g.a == a && g.b == b
            }
        };
        self.overflow.find(spread(h), same).map(|&(k, _)| gates[k as usize].out)
    }

    /// Appends `Gate { a, b, out: fresh(), kind }` (`a ≤ b`) to `gates` and
    /// records it, for a gate the caller knows is not there yet (see
    /// [`Strash::find`]): no walk.
    pub(crate) fn push_new(
        &mut self,
        gates: &mut Vec<Gate>,
        kind: GateKind,
        a: WireId,
        b: WireId,
        fresh: impl FnOnce() -> WireId,
    ) {
        let index = gates.len();
        gates.push(Gate { a, b, out: fresh(), kind });
        // Past 2^32 - 1 gates the wires have run out too (the builder
        // reports it); such a gate is just not shared.
        let Some(i) = u32::try_from(index).ok().filter(|&i| i != NONE) else {
            return;
        };
        let len = self.len.get(b.index()).copied().unwrap_or(0);
        if len < CHAIN {
            // The tables grow as the wires and gates do (usually by one:
            // `b` the newest wire, `index` the next gate).
            let first = self.head.get(b.index()).copied().unwrap_or(NONE);
            set(&mut self.prev, index, first);
            set(&mut self.head, b.index(), i);
            set_len(&mut self.len, b.index(), len + 1);
            return;
        }
        let h = hash32(kind, a, b);
        self.overflow.insert_unique(spread(h), (i, h), |&(_, hk)| spread(hk));
    }

    /// Forgets gates `from..` of `gates` (a no-op for gates not recorded,
    /// or already forgotten).
    pub(crate) fn forget_since(&mut self, gates: &[Gate], from: usize) {
        // Newest first: a chained gate is then the head of its chain.
        for (i, g) in gates.iter().enumerate().skip(from).rev() {
            if g.kind == GateKind::Inv {
                continue;
            }
            match self.head.get_mut(g.b.index()) {
                Some(h) if *h as usize == i => {
                    *h = self.prev[i];
                    // A wire with a head has a length.
                    self.len[g.b.index()] -= 1;
                }
                _ if !self.overflow.is_empty() => {
                    let e =
                        self.overflow.find_entry(spread(hash32(g.kind, g.a, g.b)), |&(k, _)| k as usize == i);
                    if let Ok(e) = e {
                        e.remove();
                    }
                }
                _ => {}
            }
        }
    }
}
