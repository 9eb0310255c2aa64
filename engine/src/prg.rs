//! Randomness: the AES-128-CTR pseudorandom generator [`Prg`] and the global
//! free-XOR offset [`Delta`].
//!
//! [`Prg`] keys AES-128 with a 128-bit seed and encrypts the counter
//! `0, 1, 2, …` (each as a little-endian [`Block`]); output is produced in
//! batches through one `encrypt_blocks` call, which the `aes` crate runs on
//! its widest backend (VAES-512 where present, else AES-NI, else a
//! constant-time bitsliced software AES). [`Prg::from_entropy`] draws the
//! seed from the operating system (`getrandom`). The key schedule is
//! zeroised on drop (the `aes` crate's `zeroize` feature), and so is any
//! buffered output.
//!
//! [`Delta`] is the garbler's secret offset Δ: a block whose least
//! significant bit is 1 *by construction* (both constructors force it), as
//! point-and-permute requires. It is zeroised on drop and its `Debug` output
//! shows no bit of it.

use std::fmt;

use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use aes::Aes128;
use zeroize::Zeroize;

use crate::block::Block;

/// Error drawing a seed from the operating system.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct EntropyError(getrandom::Error);

/// Encrypts `blocks` in place under `cipher`, in one batched call.
///
/// Never inlined, here and in [`encrypt_blocks_into`]: the `aes` backend is
/// generic code, instantiated where it is inlined, and it only runs at full
/// speed when compiled with one codegen unit, as this crate is. Inlined into
/// a generic caller (the garbler and evaluator are generic over their sink
/// and source), it would be instantiated in the calling crate with that
/// crate's codegen units: the `garblet` binary (4 units) ran its hash at
/// about half speed that way. One call per batch of hundreds of blocks
/// costs nothing.
#[inline(never)]
pub(crate) fn encrypt_blocks_in_place(cipher: &Aes128, blocks: &mut [Block]) {
    let raw: &mut [[u8; 16]] = bytemuck::cast_slice_mut(blocks);
    cipher.encrypt_blocks(Array::cast_slice_from_core_mut(raw));
}

/// Encrypts `input` into `out` (the same length) under `cipher`, in one
/// batched call.
///
/// # Panics
/// If the lengths differ (a caller bug).
#[inline(never)]
pub(crate) fn encrypt_blocks_into(cipher: &Aes128, input: &[Block], out: &mut [Block]) {
    let raw_in: &[[u8; 16]] = bytemuck::cast_slice(input);
    let raw_out: &mut [[u8; 16]] = bytemuck::cast_slice_mut(out);
    cipher
        .encrypt_blocks_b2b(Array::cast_slice_from_core(raw_in), Array::cast_slice_from_core_mut(raw_out))
        .expect("encrypt_blocks_into: lengths differ");
}

/// How many blocks [`Prg::fill_bytes`] and friends buffer internally.
const BUFFER_BLOCKS: usize = 64;

/// A pseudorandom generator: AES-128 in counter mode under a secret seed.
///
/// Deterministic for a given seed ([`Prg::from_seed`]), so both sides of a
/// protocol can expand a shared seed; [`Prg::from_entropy`] seeds it from the
/// OS. Not `Clone`: two copies would emit the same stream.
pub struct Prg {
    cipher: Aes128,
    /// The next counter value to encrypt.
    counter: u128,
    /// Unused output of the last refill, consumed from `pos`.
    buffer: [Block; BUFFER_BLOCKS],
    pos: usize,
    /// Unused bits for [`Prg::random_bool`] and how many remain.
    bits: u128,
    bits_left: u32,
}

impl Prg {
    /// A generator whose whole output is determined by `seed`.
    pub fn from_seed(seed: Block) -> Prg {
        let mut key = Array::from(seed.to_bytes());
        let cipher = Aes128::new(&key);
        key.zeroize();
        Prg {
            cipher,
            counter: 0,
            buffer: [Block::ZERO; BUFFER_BLOCKS],
            pos: BUFFER_BLOCKS,
            bits: 0,
            bits_left: 0,
        }
    }

    /// A generator seeded from the operating system's entropy source.
    ///
    /// # Panics
    /// If the OS cannot provide randomness (see [`Prg::try_from_entropy`] for
    /// the fallible form); continuing without randomness would be insecure.
    pub fn from_entropy() -> Prg {
        match Prg::try_from_entropy() {
            Ok(prg) => prg,
            // Invariant: a working OS random source; there is no safe fallback.
            Err(e) => panic!("{e}"),
        }
    }

    /// A generator seeded from the operating system's entropy source, or the
    /// error the OS returned.
    pub fn try_from_entropy() -> Result<Prg, EntropyError> {
        let mut seed = [0u8; 16];
        getrandom::fill(&mut seed).map_err(EntropyError)?;
        let prg = Prg::from_seed(Block::from_bytes(seed));
        seed.zeroize();
        Ok(prg)
    }

    /// A fresh seed for another generator, drawn from this one.
    pub fn fork_seed(&mut self) -> Block {
        self.random_block()
    }

    /// One pseudorandom block.
    pub fn random_block(&mut self) -> Block {
        if self.pos == BUFFER_BLOCKS {
            self.refill();
        }
        let b = self.buffer[self.pos];
        self.buffer[self.pos] = Block::ZERO;
        self.pos += 1;
        b
    }

    /// Fills `out` with pseudorandom blocks, encrypting the counters in one
    /// batched AES call.
    pub fn fill_blocks(&mut self, out: &mut [Block]) {
        for b in out.iter_mut() {
            *b = Block::new(self.counter);
            self.counter = self.counter.wrapping_add(1);
        }
        encrypt_blocks_in_place(&self.cipher, out);
    }

    /// Fills `out` with pseudorandom bytes.
    pub fn fill_bytes(&mut self, out: &mut [u8]) {
        let mut chunks = out.chunks_exact_mut(16);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.random_block().to_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let mut last = self.random_block().to_bytes();
            rest.copy_from_slice(&last[..rest.len()]);
            last.zeroize();
        }
    }

    /// One pseudorandom bit.
    pub fn random_bool(&mut self) -> bool {
        if self.bits_left == 0 {
            self.bits = self.random_block().to_u128();
            self.bits_left = 128;
        }
        let bit = self.bits & 1 == 1;
        self.bits >>= 1;
        self.bits_left -= 1;
        bit
    }

    /// A pseudorandom `u64`.
    pub fn random_u64(&mut self) -> u64 {
        // Truncation keeps the low 64 pseudorandom bits.
        self.random_block().to_u128() as u64
    }

    fn refill(&mut self) {
        let mut buf = [Block::ZERO; BUFFER_BLOCKS];
        self.fill_blocks(&mut buf);
        self.buffer = buf;
        buf.zeroize();
        self.pos = 0;
    }
}

impl Drop for Prg {
    fn drop(&mut self) {
        self.buffer.zeroize();
        self.bits.zeroize();
        self.counter.zeroize();
    }
}

impl fmt::Debug for Prg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Prg { .. }")
    }
}

/// The garbler's global offset Δ for free XOR: the one label of every wire is
/// its zero label XOR Δ.
///
/// Its least significant bit is 1 by construction, so a wire's two labels
/// have different point-and-permute bits. Zeroised on drop; `Debug` prints no
/// secret. It is deliberately not `Copy`.
#[derive(Clone)]
pub struct Delta(Block);

impl Delta {
    /// A random Δ drawn from `prg`, with its lsb forced to 1.
    pub fn random(prg: &mut Prg) -> Delta {
        Delta::from_block(prg.random_block())
    }

    /// Δ from a block, with its lsb forced to 1 (e.g. the offset of a
    /// correlated OT whose correlation is already fixed).
    pub fn from_block(block: Block) -> Delta {
        Delta(block.set_lsb())
    }

    /// The offset as a block. Secret: handle with care.
    #[inline(always)]
    pub fn as_block(&self) -> Block {
        self.0
    }
}

impl Drop for Delta {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Delta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Delta(<secret>)")
    }
}

/// The seed of a garbling's per-gate randomness, for schemes whose garbler
/// draws random bits per gate (three-halves draws two, its `r`). Drawn from
/// the garbler's [`Prg`] with each encoding ([`GateSeed::random`]), so it is
/// fresh for every Δ and never a fixed value.
///
/// Gate `g`'s bits are bits `2(g mod 64)` and `2(g mod 64) + 1` of
/// AES-128 under the seed of the counter block `⌊g / 64⌋` (AES in counter
/// mode, as [`Prg`]): a function of the gate's index alone, so a batch
/// garbled in pieces on several threads gets the same bits as in one piece.
/// The key schedule is zeroised on drop; `Debug` prints no secret.
#[derive(Clone)]
pub struct GateSeed {
    cipher: Aes128,
}

impl GateSeed {
    /// A fresh seed drawn from `prg`.
    pub fn random(prg: &mut Prg) -> GateSeed {
        let mut key = prg.random_block();
        let seed = GateSeed::from_block(key);
        key.zeroize();
        seed
    }

    /// The seed with AES key `key` (reproducible garblings in tests; a
    /// real garbling uses [`GateSeed::random`]).
    pub fn from_block(key: Block) -> GateSeed {
        let mut k = Array::from(key.to_bytes());
        let cipher = Aes128::new(&k);
        k.zeroize();
        GateSeed { cipher }
    }

    /// `out[k] ← AES(first + k)`: the random bits of gates `64·(first + k)
    /// .. 64·(first + k + 1)`, in one batched call.
    pub(crate) fn blocks(&self, first: u64, out: &mut [Block]) {
        for (k, b) in out.iter_mut().enumerate() {
            *b = Block::from_u64(first + k as u64);
        }
        encrypt_blocks_in_place(&self.cipher, out);
    }
}

impl fmt::Debug for GateSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GateSeed(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_known_answer_fips197_c1() {
        // FIPS-197 appendix C.1: key 000102..0f, plaintext 00112233..ff.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let pt: [u8; 16] = core::array::from_fn(|i| (i as u8) * 0x11);
        let cipher = Aes128::new(&Array::from(key));
        let mut blocks = [Block::from_bytes(pt); 3];
        encrypt_blocks_in_place(&cipher, &mut blocks);
        let expected =
            [0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a];
        for b in blocks {
            assert_eq!(b.to_bytes(), expected);
        }
    }

    #[test]
    fn prg_is_deterministic_and_consistent() {
        let seed = Block::new(42);
        let mut a = Prg::from_seed(seed);
        let mut b = Prg::from_seed(seed);
        let mut bulk = vec![Block::ZERO; 200];
        a.fill_blocks(&mut bulk);
        let singles: Vec<Block> = (0..200).map(|_| b.random_block()).collect();
        assert_eq!(bulk, singles);
        let mut bytes = [0u8; 37];
        a.fill_bytes(&mut bytes);
        assert_ne!(bytes, [0u8; 37]);
        let mut c = Prg::from_seed(Block::new(43));
        assert_ne!(c.random_block(), Prg::from_seed(seed).random_block());
    }

    #[test]
    fn random_bool_is_balanced() {
        let mut prg = Prg::from_entropy();
        let ones = (0..10_000).filter(|_| prg.random_bool()).count();
        assert!((4_500..5_500).contains(&ones), "{ones}");
    }

    #[test]
    fn delta_lsb_is_one_and_debug_is_redacted() {
        let mut prg = Prg::from_seed(Block::new(7));
        for _ in 0..64 {
            assert!(Delta::random(&mut prg).as_block().lsb());
        }
        let d = Delta::from_block(Block::new(0xabcd_ef00));
        assert!(d.as_block().lsb());
        assert_eq!(d.as_block().to_u128(), 0xabcd_ef01);
        assert!(!format!("{d:?}").contains("abcd"));
        assert_eq!(format!("{d:?}"), "Delta(<secret>)");
    }
}
