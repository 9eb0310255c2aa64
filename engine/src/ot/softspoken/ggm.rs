//! The `(2^K − 1)`-out-of-`2^K` random OTs of SoftSpokenOT, one per chunk
//! of `K` base OTs: a GGM tree (Goldreich–Goldwasser–Micali) of depth `K`
//! whose `2^K` leaves the tree's owner (the extension receiver) knows, and
//! whose leaves but one the other party (the extension sender) can compute.
//!
//! # The tree
//!
//! The owner holds both keys `k_d^0, k_d^1` of the chunk's base OTs
//! `d = 0..K`; the other party holds `k_d^{s_d}` for its choice bits `s`
//! (Δ's bits). Node indices grow by one low bit per level: the two nodes
//! of level 1 are `k_0^0, k_0^1` themselves, and node `p` of level `d`
//! has children `p` and `p + 2^d` on level `d + 1`, `G(node) = (AES_node(0),
//! AES_node(1))`. For `d = 1..K` the owner sends the level's two sums
//! masked by the base OT of that level, `c_d^b = k_d^b ⊕ ⊕_p child(p, b)`.
//!
//! The punctured party knows node `s_0` of level 1, so the unknown path runs
//! through `x* = ¬s` (bitwise, `K` bits). On each level it expands the nodes
//! it knows, and recovers the missing sibling of the path, the child with
//! bit `s_d`, as `c_d^{s_d} ⊕ k_d^{s_d} ⊕` the sum of the others: it then
//! knows every leaf except leaf `x*`. That costs `2·(K − 1)` blocks per
//! chunk, once per session (3,072 bytes for `K = 4`), and `2^K − 2` AES key
//! schedules per chunk on each side.
//!
//! The punctured party's computation is branch-free in `s`: every node is
//! expanded (the path node is zero, its children are masked out) and the
//! missing child is placed by masks.

use aes::cipher::{Array, KeyInit};
use aes::Aes128;
use zeroize::Zeroize;

use crate::block::Block;
use crate::prg::encrypt_blocks_in_place;

/// The length-doubling PRG of the tree: `(AES_node(0), AES_node(1))`.
fn expand_node(node: Block) -> [Block; 2] {
    let mut key = Array::from(node.to_bytes());
    let aes = Aes128::new(&key);
    key.zeroize();
    let mut out = [Block::new(0), Block::new(1)];
    encrypt_blocks_in_place(&aes, &mut out);
    out
}

/// The owner's side: fills `leaves` (`2^K` blocks) from the chunk's `K`
/// base-OT key pairs and writes the `2·(K − 1)` corrections
/// (`c_1^0, c_1^1, c_2^0, …`) to `corrections`.
pub(super) fn full_tree(keys: &[[Block; 2]], leaves: &mut [Block], corrections: &mut [Block]) {
    let k = keys.len();
    assert_eq!(leaves.len(), 1 << k, "2^K leaves");
    assert_eq!(corrections.len(), 2 * (k - 1), "two corrections per level below the first");
    leaves[0] = keys[0][0];
    leaves[1] = keys[0][1];
    for d in 1..k {
        let half = 1 << d;
        let (mut sum0, mut sum1) = (Block::ZERO, Block::ZERO);
        for p in 0..half {
            let [a, b] = expand_node(leaves[p]);
            leaves[p] = a;
            leaves[p + half] = b;
            sum0 ^= a;
            sum1 ^= b;
        }
        corrections[2 * (d - 1)] = sum0 ^ keys[d][0];
        corrections[2 * (d - 1) + 1] = sum1 ^ keys[d][1];
        sum0.zeroize();
        sum1.zeroize();
    }
}

/// The punctured party's side: `known[d] = k_d^{s_d}` for the choice bits
/// `s` (bit `d` of `s`); fills `leaves` with every leaf but `x* = ¬s`,
/// which it sets to zero. Branch-free in `s`.
pub(super) fn punctured_tree(known: &[Block], s: usize, corrections: &[Block], leaves: &mut [Block]) {
    let k = known.len();
    assert_eq!(leaves.len(), 1 << k, "2^K leaves");
    assert_eq!(corrections.len(), 2 * (k - 1), "two corrections per level below the first");
    let xstar = !s & ((1 << k) - 1);
    let s0 = s & 1 == 1;
    leaves[0] = known[0].select(!s0);
    leaves[1] = known[0].select(s0);
    for d in 1..k {
        let half = 1 << d;
        let path = xstar & (half - 1);
        let sd = (s >> d) & 1 == 1;
        let (mut acc0, mut acc1) = (Block::ZERO, Block::ZERO);
        for p in 0..half {
            // The path node is unknown (zero here): mask out its children.
            let known_node = p != path;
            let [a, b] = expand_node(leaves[p]);
            let (a, b) = (a.select(known_node), b.select(known_node));
            leaves[p] = a;
            leaves[p + half] = b;
            acc0 ^= a;
            acc1 ^= b;
        }
        // The path's child with bit s_d: c_d^{s_d} ⊕ k_d^{s_d} ⊕ the others.
        let (c0, c1) = (corrections[2 * (d - 1)], corrections[2 * (d - 1) + 1]);
        let mut missing = known[d] ^ c0.select(!sd) ^ c1.select(sd) ^ acc0.select(!sd) ^ acc1.select(sd);
        for p in 0..half {
            let at = p == path;
            leaves[p] ^= missing.select(at & !sd);
            leaves[p + half] ^= missing.select(at & sd);
        }
        missing.zeroize();
        acc0.zeroize();
        acc1.zeroize();
    }
}

/// Reorders `leaves` so that slot `y` holds what slot `y ⊕ shift` held,
/// by conditional swaps: branch-free in `shift`, and the same memory
/// accesses whatever it is.
pub(super) fn shift_by(leaves: &mut [Block], shift: usize) {
    let k = leaves.len().trailing_zeros() as usize;
    for b in 0..k {
        let swap = Block::ONES.select((shift >> b) & 1 == 1);
        for x in (0..leaves.len()).filter(|x| (x >> b) & 1 == 0) {
            let y = x | (1 << b);
            let mut t = (leaves[x] ^ leaves[y]) & swap;
            leaves[x] ^= t;
            leaves[y] ^= t;
            t.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prg::Prg;

    #[test]
    fn the_punctured_party_gets_every_leaf_but_the_complement_of_its_choices() {
        let mut prg = Prg::from_seed(Block::new(21));
        for k in 1..=5usize {
            let keys: Vec<[Block; 2]> = (0..k).map(|_| [prg.random_block(), prg.random_block()]).collect();
            let mut leaves = vec![Block::ZERO; 1 << k];
            let mut corr = vec![Block::ZERO; 2 * (k - 1)];
            full_tree(&keys, &mut leaves, &mut corr);
            // Distinct leaves (no two equal by construction).
            for a in 0..leaves.len() {
                for b in 0..a {
                    assert_ne!(leaves[a], leaves[b], "K = {k}");
                }
            }
            for s in 0..1usize << k {
                let known: Vec<Block> = (0..k).map(|d| keys[d][(s >> d) & 1]).collect();
                let mut got = vec![Block::new(7); 1 << k];
                punctured_tree(&known, s, &corr, &mut got);
                let xstar = !s & ((1 << k) - 1);
                for x in 0..1usize << k {
                    if x == xstar {
                        assert_eq!(got[x], Block::ZERO, "K = {k}, s = {s}");
                    } else {
                        assert_eq!(got[x], leaves[x], "K = {k}, s = {s}, leaf {x}");
                    }
                }
            }
        }
    }

    #[test]
    fn shift_by_moves_slot_y_xor_shift_to_slot_y() {
        let orig: Vec<Block> = (0..16u128).map(|v| Block::new(v + 100)).collect();
        for shift in 0..16 {
            let mut l = orig.clone();
            shift_by(&mut l, shift);
            for y in 0..16 {
                assert_eq!(l[y], orig[y ^ shift], "shift {shift}, slot {y}");
            }
        }
    }

    #[test]
    fn a_wrong_correction_changes_what_the_punctured_party_computes() {
        let mut prg = Prg::from_seed(Block::new(22));
        let k = 4;
        let keys: Vec<[Block; 2]> = (0..k).map(|_| [prg.random_block(), prg.random_block()]).collect();
        let mut leaves = vec![Block::ZERO; 1 << k];
        let mut corr = vec![Block::ZERO; 2 * (k - 1)];
        full_tree(&keys, &mut leaves, &mut corr);
        corr[3] ^= Block::new(1);
        // c_2^1 is used when s_2 = 1.
        let s = 0b0100;
        let known: Vec<Block> = (0..k).map(|d| keys[d][(s >> d) & 1]).collect();
        let mut got = vec![Block::ZERO; 1 << k];
        punctured_tree(&known, s, &corr, &mut got);
        let xstar = !s & 0xf;
        assert!((0..16).any(|x| x != xstar && got[x] != leaves[x]));
    }
}
