//! The garbled stream's framing, shared by the garbler (who writes it) and
//! the evaluator (who checks it): the trailer tag, the checksum
//! ([`xor_fold`]) and the bound on AND indices that keeps every tweak unique
//! ([`AND_INDEX_LIMIT`]). The format itself is described in the
//! [module docs of `garble`](crate::garble#stream-format).

use crate::block::Block;

/// Tag in the high 64 bits of the trailer's first block: `"garblet!"`.
pub(super) const TRAILER_TAG: u64 = u64::from_be_bytes(*b"garblet!");

/// The bound on AND gate indices: a run numbers its AND gates `first_and,
/// first_and + 1, …` ([`Garbler::first_and_index`]) and is refused unless
/// `first_and + ands ≤ AND_INDEX_LIMIT`, `ands` the plan's AND count (for a
/// [`Plan::streaming`] plan, its gate count). Every index is then below
/// 2^62 and every tweak (`2g`, `2g + 1`, and the fused kernels' padding
/// gates, at most 16 past the last gate) below 2^63 + 64, far from
/// wrapping a `u64` and from the OT's tweak domain (bit 127). 2^62 AND gates
/// take over a century to garble at 10^9 per second.
///
/// [`Garbler::first_and_index`]: crate::garble::Garbler::first_and_index
/// [`Plan::streaming`]: crate::garble::Plan::streaming
pub const AND_INDEX_LIMIT: u64 = 1 << 62;

/// Whether AND gates `first_and .. first_and + ands` stay within
/// [`AND_INDEX_LIMIT`].
pub(super) fn and_range_fits(first_and: u64, ands: u64) -> bool {
    first_and.checked_add(ands).is_some_and(|end| end <= AND_INDEX_LIMIT)
}

/// XOR of all 16-byte blocks of `bytes`, read little-endian, the last one
/// zero-padded if `bytes` is not a multiple of 16 long (three-halves
/// material is 197 bytes per 8 gates). Four 128-bit accumulators, one SIMD
/// XOR per block.
pub(crate) fn xor_fold(bytes: &[u8]) -> u128 {
    let whole = bytes.len() / 16 * 16;
    let blocks: &[Block] = bytemuck::cast_slice(&bytes[..whole]);
    let mut acc = [Block::ZERO; 4];
    let mut wide = blocks.chunks_exact(4);
    for c in &mut wide {
        for (a, &b) in acc.iter_mut().zip(c) {
            *a ^= b;
        }
    }
    for &b in wide.remainder() {
        acc[0] ^= b;
    }
    let mut tail = [0u8; 16];
    tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
    acc[1] ^= Block::from_bytes(tail);
    (acc[0] ^ acc[1] ^ acc[2] ^ acc[3]).to_u128()
}

/// What `bytes`, found at byte `offset` of a stream, add to the XOR of the
/// stream's 16-byte blocks: [`xor_fold`] of the piece with its bytes moved
/// to their lanes in the stream's blocks (byte `p` of the piece is lane
/// `(offset + p) mod 16`). So the checksum of a stream is the same however
/// its tables are cut into pieces, even when a piece is not a multiple of
/// 16 bytes long.
pub(super) fn xor_fold_at(bytes: &[u8], offset: u64) -> u128 {
    rotate_to(xor_fold(bytes), offset)
}

/// A piece's [`xor_fold`] moved to the lanes of a piece at `offset`.
pub(crate) fn rotate_to(fold: u128, offset: u64) -> u128 {
    fold.rotate_left(8 * (offset % 16) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_fold_is_the_xor_of_all_blocks() {
        for len in [0usize, 1, 15, 16, 17, 32, 48, 64, 80, 128, 144, 197, 394, 528] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let naive = bytes.chunks(16).fold(0u128, |acc, c| {
                let mut b = [0u8; 16];
                b[..c.len()].copy_from_slice(c);
                acc ^ u128::from_le_bytes(b)
            });
            assert_eq!(xor_fold(&bytes), naive, "{len} bytes");
        }
    }

    #[test]
    fn pieces_fold_to_the_whole() {
        let bytes: Vec<u8> = (0..1000).map(|i| (i * 91 + 7) as u8).collect();
        for cuts in [vec![0, 197, 394, 1000], vec![0, 1, 17, 500, 999, 1000], vec![0, 1000]] {
            let sum = cuts.windows(2).fold(0, |acc, w| acc ^ xor_fold_at(&bytes[w[0]..w[1]], w[0] as u64));
            assert_eq!(sum, xor_fold(&bytes), "{cuts:?}");
        }
    }

    #[test]
    fn and_range_bound() {
        assert!(and_range_fits(0, 0));
        assert!(and_range_fits(0, AND_INDEX_LIMIT));
        assert!(and_range_fits(AND_INDEX_LIMIT - 10, 10));
        assert!(and_range_fits(AND_INDEX_LIMIT, 0));
        assert!(!and_range_fits(AND_INDEX_LIMIT - 10, 11));
        assert!(!and_range_fits(AND_INDEX_LIMIT + 1, 0));
        assert!(!and_range_fits(1 << 63, 0));
        assert!(!and_range_fits(u64::MAX - 5, 3));
        assert!(!and_range_fits(5, u64::MAX - 3));
        // The largest tweak of an allowed run, with the fused kernels' padding
        // (at most 15 gates past the last), is far from wrapping a u64.
        const { assert!(2 * (AND_INDEX_LIMIT - 1 + 16) + 1 < (1 << 63) + 64) };
        // Three-halves' largest tweak, 3g + 2.
        const { assert!(3 * (AND_INDEX_LIMIT - 1) + 2 < 3 << 62) };
    }
}
