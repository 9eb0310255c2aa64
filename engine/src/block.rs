//! The 128-bit [`Block`]: a wire label, a hash input or output, an OT
//! message.
//!
//! A block is 16 bytes with a fixed byte order: [`Block::new`] and
//! [`Block::to_u128`] read and write the bytes little-endian, so that
//! [`Block::lsb`] (the point-and-permute bit) is bit 0 of byte 0 and the
//! in-memory bytes are the bytes sent on the wire on every platform. Blocks
//! are `bytemuck::Pod`, so slices of them are cast to byte slices (for I/O)
//! and to AES block slices (for batched encryption) without copying.

use std::fmt;
use std::ops::{BitAnd, BitAndAssign, BitXor, BitXorAssign};

use bytemuck::{Pod, Zeroable};
use zeroize::Zeroize;

/// A 128-bit value: 16 bytes, XOR-able, with a least significant bit used for
/// point-and-permute.
///
/// Alignment is 1 (it wraps `[u8; 16]`), so a byte buffer received from a
/// peer can be viewed as blocks without a copy; arithmetic goes through
/// `u128`, which compiles to single SIMD instructions.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
#[repr(transparent)]
pub struct Block([u8; 16]);

impl Block {
    /// The all-zero block.
    pub const ZERO: Block = Block([0; 16]);
    /// The block with every bit set.
    pub const ONES: Block = Block([0xff; 16]);
    /// Size of a block in bytes.
    pub const BYTES: usize = 16;

    /// A block from a 128-bit integer (stored little-endian).
    #[inline(always)]
    pub const fn new(value: u128) -> Block {
        Block(value.to_le_bytes())
    }

    /// The block as a 128-bit integer (read little-endian).
    #[inline(always)]
    pub const fn to_u128(self) -> u128 {
        u128::from_le_bytes(self.0)
    }

    /// A block from its 16 bytes.
    #[inline(always)]
    pub const fn from_bytes(bytes: [u8; 16]) -> Block {
        Block(bytes)
    }

    /// The block's 16 bytes.
    #[inline(always)]
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// The block's bytes, borrowed.
    #[inline(always)]
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The least significant bit (bit 0 of byte 0): the point-and-permute
    /// ("colour") bit of a wire label.
    #[inline(always)]
    pub const fn lsb(self) -> bool {
        self.0[0] & 1 == 1
    }

    /// `self` if `bit` is true, [`Block::ZERO`] otherwise, without a branch.
    #[inline(always)]
    pub fn select(self, bit: bool) -> Block {
        let mask = 0u64.wrapping_sub(u64::from(bit));
        let l = self.lanes();
        Block::from_lanes([l[0] & mask, l[1] & mask])
    }

    /// The block whose integer value ([`Block::to_u128`]) is `value`: a
    /// cheaper [`Block::new`] for 64-bit values such as tweaks.
    #[inline(always)]
    pub fn from_u64(value: u64) -> Block {
        Block::from_lanes([value.to_le(), 0])
    }

    /// The 16 bytes as two native-endian `u64` lanes. Bitwise operations go
    /// through them: LLVM turns a pair of lane operations into one 128-bit
    /// SIMD instruction, and the result does not depend on endianness.
    #[inline(always)]
    fn lanes(self) -> [u64; 2] {
        bytemuck::cast(self.0)
    }

    #[inline(always)]
    fn from_lanes(lanes: [u64; 2]) -> Block {
        Block(bytemuck::cast(lanes))
    }

    /// The two 8-byte halves exchanged: `X_R ‖ X_L` for `X_L ‖ X_R` (one
    /// shuffle; three-halves garbling works on halves).
    #[inline(always)]
    pub(crate) fn swap_halves(self) -> Block {
        let l = self.lanes();
        Block::from_lanes([l[1], l[0]])
    }

    /// The low 8 bytes of `lo`, then the low 8 bytes of `hi`.
    #[inline(always)]
    pub(crate) fn low_halves(lo: Block, hi: Block) -> Block {
        Block::from_lanes([lo.lanes()[0], hi.lanes()[0]])
    }

    /// The block with its least significant bit cleared.
    #[inline(always)]
    pub const fn clear_lsb(self) -> Block {
        let mut b = self.0;
        b[0] &= 0xfe;
        Block(b)
    }

    /// The block with its least significant bit set.
    #[inline(always)]
    pub const fn set_lsb(self) -> Block {
        let mut b = self.0;
        b[0] |= 1;
        Block(b)
    }

    /// Views a slice of blocks as bytes (16 per block), without copying.
    #[inline]
    pub fn as_bytes_slice(blocks: &[Block]) -> &[u8] {
        bytemuck::cast_slice(blocks)
    }

    /// Views a mutable slice of blocks as bytes, without copying.
    #[inline]
    pub fn as_bytes_slice_mut(blocks: &mut [Block]) -> &mut [u8] {
        bytemuck::cast_slice_mut(blocks)
    }

    /// Views bytes as blocks, without copying. `None` unless the length is a
    /// multiple of 16.
    #[inline]
    pub fn try_from_bytes_slice(bytes: &[u8]) -> Option<&[Block]> {
        bytemuck::try_cast_slice(bytes).ok()
    }

    /// Views mutable bytes as blocks, without copying. `None` unless the
    /// length is a multiple of 16.
    #[inline]
    pub fn try_from_bytes_slice_mut(bytes: &mut [u8]) -> Option<&mut [Block]> {
        bytemuck::try_cast_slice_mut(bytes).ok()
    }
}

impl From<u128> for Block {
    #[inline(always)]
    fn from(value: u128) -> Block {
        Block::new(value)
    }
}

impl From<Block> for u128 {
    #[inline(always)]
    fn from(block: Block) -> u128 {
        block.to_u128()
    }
}

impl From<[u8; 16]> for Block {
    #[inline(always)]
    fn from(bytes: [u8; 16]) -> Block {
        Block(bytes)
    }
}

impl From<Block> for [u8; 16] {
    #[inline(always)]
    fn from(block: Block) -> [u8; 16] {
        block.0
    }
}

impl AsRef<[u8]> for Block {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Block({:032x})", self.to_u128())
    }
}

impl fmt::LowerHex for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.to_u128(), f)
    }
}

impl BitXor for Block {
    type Output = Block;
    #[inline(always)]
    fn bitxor(self, rhs: Block) -> Block {
        let (a, b) = (self.lanes(), rhs.lanes());
        Block::from_lanes([a[0] ^ b[0], a[1] ^ b[1]])
    }
}

impl BitXorAssign for Block {
    #[inline(always)]
    fn bitxor_assign(&mut self, rhs: Block) {
        *self = *self ^ rhs;
    }
}

impl BitAnd for Block {
    type Output = Block;
    #[inline(always)]
    fn bitand(self, rhs: Block) -> Block {
        let (a, b) = (self.lanes(), rhs.lanes());
        Block::from_lanes([a[0] & b[0], a[1] & b[1]])
    }
}

impl BitAndAssign for Block {
    #[inline(always)]
    fn bitand_assign(&mut self, rhs: Block) {
        *self = *self & rhs;
    }
}

impl Zeroize for Block {
    fn zeroize(&mut self) {
        wipe(core::slice::from_mut(self));
    }
}

/// Zeroises `blocks` with volatile writes the compiler cannot drop, 8 bytes
/// at a time where aligned (a block is 1-aligned). `zeroize` on `[Block]`
/// would write byte by byte: 16 stores per block, which showed in profiles
/// of the garbling loops' per-batch buffers.
pub(crate) fn wipe(blocks: &mut [Block]) {
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(blocks);
    let (head, words, tail) = bytemuck::pod_align_to_mut::<u8, u64>(bytes);
    head.zeroize();
    words.zeroize();
    tail.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_sixteen_bytes_little_endian() {
        assert_eq!(size_of::<Block>(), 16);
        let b = Block::new(0x0102);
        assert_eq!(b.to_bytes()[0], 0x02);
        assert_eq!(b.to_bytes()[1], 0x01);
        assert_eq!(Block::as_bytes_slice(&[b])[0], 0x02);
        assert_eq!(Block::from_bytes(b.to_bytes()), b);
        assert_eq!(Block::from(0x0102u128).to_u128(), 0x0102);
    }

    #[test]
    fn xor_and_select_lsb() {
        let a = Block::new(0xf0f0_0000_0000_0000_0000_0000_0000_0003);
        let b = Block::new(0x0ff0_0000_0000_0000_0000_0000_0000_0001);
        assert_eq!((a ^ b).to_u128(), 0xff00_0000_0000_0000_0000_0000_0000_0002);
        assert_eq!((a & b).to_u128(), 0x00f0_0000_0000_0000_0000_0000_0000_0001);
        let mut c = a;
        c ^= b;
        c &= Block::ONES;
        assert_eq!(c, a ^ b);
        assert!(a.lsb());
        assert!(!(a ^ b).lsb());
        assert_eq!(a.select(true), a);
        assert_eq!(a.select(false), Block::ZERO);
        assert_eq!(a.clear_lsb().to_u128(), a.to_u128() & !1);
        assert!(Block::ZERO.set_lsb().lsb());
        assert_eq!(Block::ONES.to_u128(), u128::MAX);
        assert_eq!(Block::from_u64(0x1234_5678_9abc_def0), Block::new(0x1234_5678_9abc_def0));
    }

    #[test]
    fn byte_views_round_trip() {
        let blocks = [Block::new(1), Block::new(u128::MAX - 5)];
        let bytes = Block::as_bytes_slice(&blocks).to_vec();
        assert_eq!(bytes.len(), 32);
        assert_eq!(Block::try_from_bytes_slice(&bytes).unwrap(), &blocks);
        assert!(Block::try_from_bytes_slice(&bytes[1..]).is_none());
    }
}
