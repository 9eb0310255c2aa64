//! Bit-matrix transposition for OT extension, in safe Rust.
//!
//! IKNP-style extension produces its matrix as 128 *columns* of `m` bits
//! (one column per base OT, expanded by a PRG) and needs its *rows* (one
//! 128-bit row per extended OT). [`transpose_128x128`] transposes one
//! 128 × 128 tile with Eklundh's recursive block-swap method: seven stages,
//! stage `s` swapping the off-diagonal `s × s` sub-blocks of every `2s × 2s`
//! block. Each row is held as two `u64` lanes, so the stages with `s ≤ 32`
//! are the same lane-wise shift/mask/xor on both lanes (the compiler turns
//! each row update into one 128-bit SIMD operation; no `unsafe`, no
//! intrinsics) and the stage `s = 64` is a swap of lanes.
//!
//! [`transpose_columns`] walks the tiles of a whole column-major matrix.

use crate::block::Block;

/// One row of a tile: bits 0..64 in lane 0, bits 64..128 in lane 1.
type Row = [u64; 2];

/// Transposes a 128 × 128 bit matrix in place.
///
/// Row `i` is `m[i]`, bit `j` of a row is `(m[i] >> j) & 1`; afterwards bit
/// `j` of row `i` is what bit `i` of row `j` was.
pub fn transpose_128x128(m: &mut [u128; 128]) {
    let mut rows = [[0u64; 2]; 128];
    for (r, &x) in rows.iter_mut().zip(m.iter()) {
        *r = [x as u64, (x >> 64) as u64];
    }
    transpose_rows(&mut rows);
    for (x, r) in m.iter_mut().zip(rows.iter()) {
        *x = u128::from(r[0]) | (u128::from(r[1]) << 64);
    }
}

#[inline(always)]
fn stage<const S: usize>(rows: &mut [Row; 128], mask: u64) {
    let mut base = 0;
    while base < 128 {
        // Split so the two halves of the 2S-block are disjoint borrows.
        let (top, bottom) = rows[base..base + 2 * S].split_at_mut(S);
        for (a, b) in top.iter_mut().zip(bottom.iter_mut()) {
            for lane in 0..2 {
                let t = ((a[lane] >> S) ^ b[lane]) & mask;
                b[lane] ^= t;
                a[lane] ^= t << S;
            }
        }
        base += 2 * S;
    }
}

#[inline(always)]
fn transpose_rows(rows: &mut [Row; 128]) {
    // s = 64: swap lane 1 of row i with lane 0 of row i + 64.
    let (top, bottom) = rows.split_at_mut(64);
    for (a, b) in top.iter_mut().zip(bottom.iter_mut()) {
        std::mem::swap(&mut a[1], &mut b[0]);
    }
    stage::<32>(rows, 0x0000_0000_FFFF_FFFF);
    stage::<16>(rows, 0x0000_FFFF_0000_FFFF);
    stage::<8>(rows, 0x00FF_00FF_00FF_00FF);
    stage::<4>(rows, 0x0F0F_0F0F_0F0F_0F0F);
    stage::<2>(rows, 0x3333_3333_3333_3333);
    stage::<1>(rows, 0x5555_5555_5555_5555);
}

/// Transposes a column-major bit matrix into rows.
///
/// `cols` holds 128 columns of `rows_out.len()` bits each, column `i` being
/// the blocks `cols[i * nb .. (i + 1) * nb]` with `nb = rows_out.len() / 128`
/// (bit `j` of a column is bit `j % 128` of its block `j / 128`). Afterwards
/// bit `i` of `rows_out[j]` is bit `j` of column `i`.
///
/// # Panics
///
/// If `rows_out.len()` is not a multiple of 128 or `cols.len()` is not
/// `rows_out.len()`: both are internal sizes, never peer-controlled.
pub fn transpose_columns(cols: &[Block], rows_out: &mut [Block]) {
    assert!(rows_out.len().is_multiple_of(128), "row count must be a multiple of 128");
    assert_eq!(cols.len(), rows_out.len(), "matrix must be 128 x rows");
    let nb = rows_out.len() / 128;
    // Tiles are gathered GROUP at a time: GROUP consecutive blocks of a
    // column are one 64-byte cache line, read once. (Column starts are a
    // multiple of 4 KiB apart for the usual sizes, so they share L1 sets;
    // reading a tile at a time would miss L1 on every load.)
    let mut tiles = [[[0u64; 2]; 128]; GROUP];
    let full = nb / GROUP * GROUP;
    for (g, out) in rows_out[..full * 128].chunks_exact_mut(128 * GROUP).enumerate() {
        let b0 = g * GROUP;
        for i in 0..128 {
            let line = &cols[i * nb + b0..i * nb + b0 + GROUP];
            for (tile, x) in tiles.iter_mut().zip(line) {
                let x = x.to_u128();
                tile[i] = [x as u64, (x >> 64) as u64];
            }
        }
        for (tile, out) in tiles.iter_mut().zip(out.chunks_exact_mut(128)) {
            transpose_rows(tile);
            store_rows(tile, out);
        }
    }
    let tile = &mut tiles[0];
    for (b, out) in rows_out.chunks_exact_mut(128).enumerate().skip(full) {
        for (i, r) in tile.iter_mut().enumerate() {
            let x = cols[i * nb + b].to_u128();
            *r = [x as u64, (x >> 64) as u64];
        }
        transpose_rows(tile);
        store_rows(tile, out);
    }
}

/// The inverse of [`transpose_columns`]: `rows` (a multiple of 128 of
/// them) into the column-major matrix `cols_out` of 128 columns of
/// `rows.len() / 128` blocks. Afterwards bit `j` of column `i` is bit `i`
/// of `rows[j]`.
///
/// # Panics
///
/// If `rows.len()` is not a multiple of 128 or `cols_out.len()` is not
/// `rows.len()`: internal sizes, never peer-controlled.
pub(crate) fn transpose_rows_to_columns(rows: &[Block], cols_out: &mut [Block]) {
    assert!(rows.len().is_multiple_of(128), "row count must be a multiple of 128");
    assert_eq!(cols_out.len(), rows.len(), "matrix must be 128 x rows");
    let nb = rows.len() / 128;
    let mut tile = [[0u64; 2]; 128];
    for (b, tile_rows) in rows.chunks_exact(128).enumerate() {
        for (r, x) in tile.iter_mut().zip(tile_rows) {
            let x = x.to_u128();
            *r = [x as u64, (x >> 64) as u64];
        }
        transpose_rows(&mut tile);
        for (i, r) in tile.iter().enumerate() {
            cols_out[i * nb + b] = Block::new(u128::from(r[0]) | (u128::from(r[1]) << 64));
        }
    }
}

/// Tiles gathered per pass of [`transpose_columns`]: one cache line of each
/// column.
const GROUP: usize = 4;

#[inline(always)]
fn store_rows(tile: &[Row; 128], out: &mut [Block]) {
    for (o, r) in out.iter_mut().zip(tile.iter()) {
        *o = Block::new(u128::from(r[0]) | (u128::from(r[1]) << 64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: &[u128; 128]) -> [u128; 128] {
        let mut out = [0u128; 128];
        for (i, row) in m.iter().enumerate() {
            for (j, o) in out.iter_mut().enumerate() {
                *o |= ((row >> j) & 1) << i;
            }
        }
        out
    }

    fn pseudo_random_tile(seed: u64) -> [u128; 128] {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut m = [0u128; 128];
        for r in m.iter_mut() {
            let mut v = 0u128;
            for _ in 0..2 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v = (v << 64) | u128::from(x);
            }
            *r = v;
        }
        m
    }

    #[test]
    fn matches_naive_transpose() {
        for seed in 0..8 {
            let m = pseudo_random_tile(seed);
            let mut t = m;
            transpose_128x128(&mut t);
            assert_eq!(t, naive(&m));
            transpose_128x128(&mut t);
            assert_eq!(t, m, "transpose is an involution");
        }
    }

    #[test]
    fn single_bits_move_to_mirror_position() {
        for (i, j) in [(0, 0), (0, 127), (127, 0), (5, 77), (64, 63), (100, 3)] {
            let mut m = [0u128; 128];
            m[i] = 1u128 << j;
            transpose_128x128(&mut m);
            let mut expect = [0u128; 128];
            expect[j] = 1u128 << i;
            assert_eq!(m, expect, "bit ({i},{j})");
        }
    }

    #[test]
    fn column_matrix_to_rows() {
        for n in [128, 384, 512, 1152] {
            column_matrix_to_rows_n(n);
        }
    }

    fn column_matrix_to_rows_n(n: usize) {
        let nb = n / 128;
        let mut cols = vec![Block::ZERO; n];
        for (i, c) in cols.iter_mut().enumerate() {
            *c = Block::new(pseudo_random_tile(i as u64 / 128)[i % 128] ^ (i as u128));
        }
        let mut rows = vec![Block::ZERO; n];
        transpose_columns(&cols, &mut rows);
        let mut back = vec![Block::ZERO; n];
        transpose_rows_to_columns(&rows, &mut back);
        assert_eq!(back, cols, "rows back to columns");
        for (j, row) in rows.iter().enumerate() {
            for i in 0..128 {
                let col_bit = (cols[i * nb + j / 128].to_u128() >> (j % 128)) & 1;
                assert_eq!((row.to_u128() >> i) & 1, col_bit, "row {j} bit {i}");
            }
        }
    }
}
