//! AND-optimal gadgets on bit vectors, as methods of [`Builder`].
//!
//! Every gadget takes [`Bits`] (least significant bit first) of any width and
//! works for unsigned and two's-complement signed values alike; where the two
//! differ, a [`Sign`] argument says which. Results wrap like Rust's
//! `wrapping_*` methods. AND counts for `n`-bit operands (what the tests
//! assert, before constant folding shrinks them further):
//!
//! | gadget | ANDs | construction |
//! |---|---|---|
//! | `add`, `sub` | n − 1 | ripple carry, carry = c ⊕ ((c ⊕ a) ∧ (c ⊕ b)) |
//! | `lt` `le` `gt` `ge` | n | borrow chain of a − b only (signed: MSBs flipped) |
//! | `eq`, `ne` | n − 1 | XNOR, balanced AND tree |
//! | `mux` | n | f ⊕ (s ∧ (t ⊕ f)) |
//! | `neg` | n − 2 | conditional-negate with the condition constant |
//! | `abs`, conditional negate | n − 1 | (a ⊕ s) + s |
//! | `min`, `max` | 2n | compare, then mux |
//! | `mul` (low n bits) | n² − n + 1 | schoolbook, each row added on the bits it reaches |
//! | `mul_full` (2n bits) | 2n² − n (+ 2n − 2 signed) | schoolbook with carries; signed by the (a·b)ₕᵢ correction, whose masks are partial products already built |
//! | `div`, `rem` unsigned | ≈ n² + 2n | restoring division on a growing remainder (1,117 at n = 32) |
//! | shifts/rotates by a secret | n·⌈log₂ n⌉ | barrel shifter over the amount's low bits |
//! | `popcount` | ≈ n | carry-save column compression with full adders |
//! | `add_many` (k terms) | ≈ (k − 1)(n − 1) | the same compression over all terms' columns |
//! | `select` (len elements) | w·(len − 1) for a power of two | multiplexer tree over the index's low ⌈log₂ len⌉ bits |
//! | `decode` | 2^k − 2 | one-hot decoder of k index bits |
//! | `ge_const` (unsigned `a >= k`, k constant) | n − tz(k) − 1 for 0 < k < 2^n (30 for k = 50 on 32 bits); 0 for k = 0 or k ≥ 2^n | borrow chain of a − k: free up to and at k's lowest set bit |
//! | `release_if_at_least` | `ge_const` + one per non-constant bit of the value | `value ∨ ¬(count ≥ k)`: the value, or every bit set |
//! | `add_columns` | one per full or half adder | [`Columns`] filled by `push_term`, `push_count`, `push_product` (one AND per partial product, Baugh–Wooley when signed); a constant's bits join free |
//!
//! Division by zero has a defined result (Rust would panic), the one RISC-V
//! chose: unsigned `x / 0 = MAX` and `x % 0 = x`; signed `x / 0 = -1` and
//! `x % 0 = x`. Signed `MIN / -1 = MIN` and `MIN % -1 = 0`, as
//! `wrapping_div`/`wrapping_rem`.
//!
//! Shifts and rotates by a secret amount take the amount modulo the width,
//! as `wrapping_shl`/`wrapping_shr` do; `>>` with [`Sign::Signed`] is
//! arithmetic.

use crate::builder::{Bits, Builder};
use crate::circuit::{GateKind, WireId};
use rustc_hash::FxHashSet;
use std::collections::VecDeque;

/// Whether an operation reads its operands as unsigned or two's-complement
/// signed integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sign {
    /// Unsigned.
    Unsigned,
    /// Two's-complement signed.
    Signed,
}

/// The kinds of shift for [`Builder::shift_const`] and [`Builder::shift`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shift {
    /// Left shift, zeros in.
    Left,
    /// Right shift, zeros in.
    RightLogical,
    /// Right shift, copies of the sign bit in.
    RightArithmetic,
    /// Rotate left.
    RotateLeft,
    /// Rotate right.
    RotateRight,
}

fn same_width(a: &Bits, b: &Bits, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: operands must have the same width");
}

/// The fewest low bits of `a` that `a` is the zero-extension (unsigned) or
/// sign-extension (signed) of.
pub fn significant_width(a: &[WireId], sign: Sign) -> usize {
    let mut k = a.len();
    match sign {
        Sign::Unsigned => {
            while k > 0 && a[k - 1] == WireId::ZERO {
                k -= 1;
            }
        }
        Sign::Signed => {
            while k > 1 && a[k - 2] == a[k - 1] {
                k -= 1;
            }
        }
    }
    k
}

/// The narrower reading of `a`: its [`significant_width`] as unsigned or as
/// signed, whichever is smaller (unsigned on a tie; a signed width is at
/// least 1). Products of such operands need only their significant bits.
pub fn narrowest(a: &[WireId]) -> (usize, Sign) {
    let unsigned = significant_width(a, Sign::Unsigned);
    let signed = significant_width(a, Sign::Signed);
    if unsigned <= signed {
        (unsigned, Sign::Unsigned)
    } else {
        (signed.max(1), Sign::Signed)
    }
}

/// How many bits that are not constants [`Builder::push_product`] adds to
/// a sum `width` bits wide for `a · b`: its partial products that land below
/// the width, of operands read at their [`narrowest`] widths, less those
/// with a constant factor (they fold to nothing or to the other factor's
/// wire). Every one of them is a bit the sum's compression must take in, so
/// a caller can refuse a sum too large to build before it pushes anything
/// (the products of a long lazy sum, added up at once). Time is linear in
/// the operands' widths.
pub fn product_bits(a: &[WireId], b: &[WireId], width: usize) -> u64 {
    let is_wire = |w: &WireId| *w != WireId::ZERO && *w != WireId::ONE;
    let (wa, wb) = (narrowest(a).0.min(a.len()), narrowest(b).0.min(b.len()));
    // wires_below[k]: the wires among b's first k bits.
    let mut wires_below = Vec::with_capacity(wb + 1);
    wires_below.push(0u64);
    for bit in &b[..wb] {
        wires_below.push(wires_below[wires_below.len() - 1] + u64::from(is_wire(bit)));
    }
    a[..wa]
        .iter()
        .enumerate()
        .filter(|&(i, bit)| i < width && is_wire(bit))
        .map(|(i, _)| wires_below[wb.min(width - i)])
        .sum()
}

/// The non-adjacent form of the `width`-bit constant `c`: the signed powers
/// of two `(shift, negative)` whose sum is `c` (mod 2^width), no two adjacent,
/// lowest first. `x · c` is then a sum of `±(x << shift)`, with at most
/// ⌈(width + 1) / 2⌉ terms where plain binary may need `width`.
pub fn non_adjacent_form(c: u128, width: u32) -> Vec<(u32, bool)> {
    let mask = if width >= 128 { u128::MAX } else { (1u128 << width) - 1 };
    let mut k = c & mask;
    let mut digits = Vec::new();
    for i in 0..width {
        if k & 1 == 1 {
            if k & 3 == 3 && width > 1 {
                digits.push((i, true));
                k = k.wrapping_add(1);
            } else {
                digits.push((i, false));
                k = k.wrapping_sub(1);
            }
        }
        k >>= 1;
    }
    digits
}

/// Bits of a sum waiting to be added up: `Σ_c Σ columns[c] · 2^c + constant
/// (mod 2^width)`. Filled with [`Columns::push`], [`Builder::push_term`],
/// [`Builder::push_count`] and [`Builder::push_product`], then added up at
/// once by [`Builder::add_columns`]: a whole sum of sums and products costs
/// one carry-save compression instead of one carry-propagate adder per `+`.
///
/// The constant is held modulo 2^128: sums wider than 128 bits take no
/// constant bits above bit 127.
#[derive(Clone, Debug)]
pub struct Columns {
    columns: Vec<Vec<Pending>>,
    constant: u128,
    /// The tag [`Builder::push_product`] gives the products it adds (see
    /// [`Builder::add_columns_tagged`]).
    tag: u32,
    /// The operand wires of the products pushed so far, and the operand
    /// pairs (`(low, high)` wire numbers) of products that may repeat a
    /// pair (see [`Builder::push_product`]): a pending product of that set
    /// may find its AND built by the time it is taken, the others cannot.
    operands: FxHashSet<u32>,
    repeated: FxHashSet<(u32, u32)>,
    /// Scratch for the repeat check, kept to allocate once per sum.
    scratch: Vec<u32>,
}

/// A bit of a [`Columns`] sum: a wire, or a partial product `a ∧ b`
/// (perhaps negated, charged to a tag) whose AND gate is built only
/// when the compression reaches it. Built when pushed, a product's value
/// would be live from its push to the end of the whole sum: 4.3 M values
/// for a dot product of 8,192 `u32` pairs, whose labels then miss every
/// cache when the compression reads them, and which a plan must keep
/// apart. Built when its column is compressed, it is read at once. The
/// same gates either way (so the same AND count and depth), in another
/// order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    a: WireId,
    b: WireId,
    /// [`PRODUCT`] for a product (else `a` is the bit), [`NEGATED`], and
    /// the tag in the low 30 bits.
    meta: u32,
}

const PRODUCT: u32 = 1 << 31;
const NEGATED: u32 = 1 << 30;
const TAG: u32 = NEGATED - 1;

impl Pending {
    fn wire(w: WireId) -> Pending {
        Pending { a: w, b: w, meta: 0 }
    }

    fn product(a: WireId, b: WireId, negated: bool, tag: u32) -> Pending {
        Pending { a, b, meta: PRODUCT | if negated { NEGATED } else { 0 } | tag.min(TAG) }
    }
}

/// A product's operands as a set key.
fn pair_key(a: WireId, b: WireId) -> (u32, u32) {
    (a.get().min(b.get()), a.get().max(b.get()))
}

impl Columns {
    /// The sum `constant` (mod 2^width), with no bits yet.
    pub fn new(width: u32, constant: u128) -> Columns {
        Columns {
            columns: vec![Vec::new(); width as usize],
            constant,
            tag: 0,
            operands: FxHashSet::default(),
            repeated: FxHashSet::default(),
            scratch: Vec::new(),
        }
    }

    /// Whether a product of operands `a` and `b` (as its partial products
    /// read them) may have an operand pair that another product of this
    /// sum has too, or that it has twice: a wire in both or twice in one
    /// (`x * x`), or wires of earlier products on both sides (`a * b + b *
    /// a`). Notes `a` and `b` as operands. A pair can repeat only so, and
    /// both of its pending products are then looked up when taken (their
    /// pairs go to `repeated`); in a sum of products of distinct values,
    /// such as a dot product, none is.
    fn may_repeat(&mut self, a: &[WireId], b: &[WireId]) -> bool {
        let wires = |x: &[WireId]| x.iter().filter(|w| !w.is_const()).map(|w| w.get()).collect::<Vec<_>>();
        let (a, b) = (wires(a), wires(b));
        self.scratch.clear();
        self.scratch.extend_from_slice(&a);
        self.scratch.extend_from_slice(&b);
        self.scratch.sort_unstable();
        let twice = self.scratch.windows(2).any(|p| p[0] == p[1]);
        let seen = |x: &[u32]| x.iter().any(|w| self.operands.contains(w));
        let shared = seen(&a) && seen(&b);
        self.operands.extend(a.iter().chain(&b).copied());
        twice || shared
    }

    /// Tags the products pushed from now on (for
    /// [`Builder::add_columns_tagged`]; 0 until set).
    pub fn set_tag(&mut self, tag: u32) {
        self.tag = tag;
    }

    /// The sum's width in bits.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The bits waiting in the sum (wires and pending partial products;
    /// constants are held apart and not counted).
    pub fn bits(&self) -> usize {
        self.columns.iter().map(Vec::len).sum()
    }

    /// Adds `bit · 2^col`: nothing past the width or for a constant zero; a
    /// constant one joins the constant (whose bits cost nothing to add).
    pub fn push(&mut self, col: usize, bit: WireId) {
        if col >= self.columns.len() || bit == WireId::ZERO {
            return;
        }
        if bit == WireId::ONE {
            if col < 128 {
                self.constant = self.constant.wrapping_add(1u128 << col);
            }
        } else {
            self.columns[col].push(Pending::wire(bit));
        }
    }

    /// Adds `c` to the constant (mod 2^128).
    pub fn add_constant(&mut self, c: u128) {
        self.constant = self.constant.wrapping_add(c);
    }

    /// Subtracts `c` from the constant (mod 2^128).
    pub fn sub_constant(&mut self, c: u128) {
        self.constant = self.constant.wrapping_sub(c);
    }
}

/// Number of index bits used for an array of `len` elements.
fn index_bits(len: u32) -> usize {
    if len <= 1 {
        0
    } else {
        (32 - (len - 1).leading_zeros()) as usize
    }
}

/// Bits needed to hold the number `n` (0 for 0).
fn bits_for(n: u64) -> u32 {
    64 - n.leading_zeros()
}

impl Builder {
    // ----- bitwise ---------------------------------------------------------

    /// Bitwise NOT.
    pub fn not_bits(&mut self, a: &Bits) -> Bits {
        a.iter().map(|&x| self.not(x)).collect()
    }

    /// Bitwise XOR. Panics if widths differ.
    pub fn xor_bits(&mut self, a: &Bits, b: &Bits) -> Bits {
        same_width(a, b, "xor");
        a.iter().zip(b).map(|(&x, &y)| self.xor(x, y)).collect()
    }

    /// Bitwise AND. Panics if widths differ.
    pub fn and_bits(&mut self, a: &Bits, b: &Bits) -> Bits {
        same_width(a, b, "and");
        a.iter().zip(b).map(|(&x, &y)| self.and(x, y)).collect()
    }

    /// Bitwise OR. Panics if widths differ.
    pub fn or_bits(&mut self, a: &Bits, b: &Bits) -> Bits {
        same_width(a, b, "or");
        a.iter().zip(b).map(|(&x, &y)| self.or(x, y)).collect()
    }

    /// AND of all bits (true for no bits), as a balanced tree: n − 1 ANDs.
    pub fn reduce_and(&mut self, a: &[WireId]) -> WireId {
        self.reduce(a, WireId::ONE, Self::and)
    }

    /// OR of all bits (false for no bits), as a balanced tree: n − 1 ANDs.
    pub fn reduce_or(&mut self, a: &[WireId]) -> WireId {
        self.reduce(a, WireId::ZERO, Self::or)
    }

    /// XOR of all bits (free).
    pub fn reduce_xor(&mut self, a: &[WireId]) -> WireId {
        self.reduce(a, WireId::ZERO, Self::xor)
    }

    fn reduce(&mut self, a: &[WireId], empty: WireId, op: fn(&mut Self, WireId, WireId) -> WireId) -> WireId {
        let mut level: Vec<WireId> = a.to_vec();
        if level.is_empty() {
            return empty;
        }
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            for pair in level.chunks(2) {
                next.push(if pair.len() == 2 { op(self, pair[0], pair[1]) } else { pair[0] });
            }
            level = next;
        }
        level[0]
    }

    // ----- width changes (free) --------------------------------------------

    /// Zero-extends or truncates to `width`.
    pub fn zext(&self, a: &Bits, width: u32) -> Bits {
        self.resize(a, width, Sign::Unsigned)
    }

    /// Sign-extends or truncates to `width`.
    pub fn sext(&self, a: &Bits, width: u32) -> Bits {
        self.resize(a, width, Sign::Signed)
    }

    /// Extends (by zeros or copies of the sign bit) or truncates to `width`,
    /// like Rust's `as` between integer types.
    pub fn resize(&self, a: &Bits, width: u32, sign: Sign) -> Bits {
        let width = width as usize;
        let fill = match (sign, a.last()) {
            (Sign::Signed, Some(&msb)) => msb,
            _ => WireId::ZERO,
        };
        let mut out: Bits = a.iter().copied().take(width).collect();
        out.resize(width, fill);
        out
    }

    // ----- selection ---------------------------------------------------------

    /// `if s { t } else { f }` bitwise: n ANDs. Panics if widths differ.
    pub fn mux(&mut self, s: WireId, t: &Bits, f: &Bits) -> Bits {
        same_width(t, f, "mux");
        t.iter().zip(f).map(|(&x, &y)| self.mux_bit(s, x, y)).collect()
    }

    /// Swaps `a` and `b` when `s` holds: n ANDs (one shared difference).
    pub fn cond_swap(&mut self, s: WireId, a: &Bits, b: &Bits) -> (Bits, Bits) {
        same_width(a, b, "cond_swap");
        let mut x = Vec::with_capacity(a.len());
        let mut y = Vec::with_capacity(a.len());
        for (&p, &q) in a.iter().zip(b) {
            let d = self.xor(p, q);
            let d = self.and(s, d);
            x.push(self.xor(p, d));
            y.push(self.xor(q, d));
        }
        (x, y)
    }

    // ----- addition and subtraction -----------------------------------------

    /// `a + b + cin` with the carry out: n ANDs.
    pub fn add_with_carry(&mut self, a: &Bits, b: &Bits, cin: WireId) -> (Bits, WireId) {
        same_width(a, b, "add");
        let mut carry = cin;
        let mut sum = Vec::with_capacity(a.len());
        for (&x, &y) in a.iter().zip(b) {
            let t = self.xor(x, y);
            sum.push(self.xor(t, carry));
            carry = self.majority(x, y, carry);
        }
        (sum, carry)
    }

    /// `maj(x, y, c) = c ⊕ ((c ⊕ x) ∧ (c ⊕ y))`: one AND.
    pub fn majority(&mut self, x: WireId, y: WireId, c: WireId) -> WireId {
        let cx = self.xor(c, x);
        let cy = self.xor(c, y);
        let m = self.and(cx, cy);
        self.xor(c, m)
    }

    /// Wrapping `a + b`: n − 1 ANDs.
    pub fn add(&mut self, a: &Bits, b: &Bits) -> Bits {
        same_width(a, b, "add");
        let n = a.len();
        let mut carry = WireId::ZERO;
        let mut sum = Vec::with_capacity(n);
        for i in 0..n {
            let t = self.xor(a[i], b[i]);
            sum.push(self.xor(t, carry));
            if i + 1 < n {
                carry = self.majority(a[i], b[i], carry);
            }
        }
        sum
    }

    /// `a − b` with the borrow out (set when `a < b` unsigned): n ANDs. With
    /// `want_difference` false only the borrow chain is built.
    pub fn sub_with_borrow(&mut self, a: &[WireId], b: &[WireId], want_difference: bool) -> (Bits, WireId) {
        assert_eq!(a.len(), b.len(), "sub: operands must have the same width");
        let mut borrow = WireId::ZERO;
        let mut diff = Vec::with_capacity(if want_difference { a.len() } else { 0 });
        for (&x, &y) in a.iter().zip(b) {
            if want_difference {
                let t = self.xor(x, y);
                diff.push(self.xor(t, borrow));
            }
            // borrow' = maj(!x, y, borrow)
            let nx = self.not(x);
            borrow = self.majority(nx, y, borrow);
        }
        (diff, borrow)
    }

    /// Wrapping `a − b`: n − 1 ANDs.
    pub fn sub(&mut self, a: &Bits, b: &Bits) -> Bits {
        same_width(a, b, "sub");
        let n = a.len();
        let mut borrow = WireId::ZERO;
        let mut diff = Vec::with_capacity(n);
        for i in 0..n {
            let t = self.xor(a[i], b[i]);
            diff.push(self.xor(t, borrow));
            if i + 1 < n {
                let nx = self.not(a[i]);
                borrow = self.majority(nx, b[i], borrow);
            }
        }
        diff
    }

    /// `if c { -a } else { a }` (wrapping) as `(a ⊕ c) + c`: n − 1 ANDs.
    pub fn cond_neg(&mut self, a: &Bits, c: WireId) -> Bits {
        let n = a.len();
        let mut carry = c;
        let mut out = Vec::with_capacity(n);
        for (i, &bit) in a.iter().enumerate() {
            let x = self.xor(bit, c);
            out.push(self.xor(x, carry));
            if i + 1 < n {
                carry = self.and(x, carry);
            }
        }
        out
    }

    /// Wrapping `-a`: n − 2 ANDs.
    pub fn neg(&mut self, a: &Bits) -> Bits {
        self.cond_neg(a, WireId::ONE)
    }

    /// Wrapping absolute value of a signed `a` (`abs(MIN) = MIN`, as
    /// `wrapping_abs`): n − 1 ANDs.
    pub fn abs(&mut self, a: &Bits) -> Bits {
        match a.last() {
            Some(&msb) => self.cond_neg(a, msb),
            None => Vec::new(),
        }
    }

    // ----- comparison ---------------------------------------------------------

    fn flip_msb(&mut self, a: &Bits) -> Bits {
        let mut a = a.clone();
        if let Some(msb) = a.last_mut() {
            *msb = self.not(*msb);
        }
        a
    }

    /// `a < b`: n ANDs.
    pub fn lt(&mut self, a: &Bits, b: &Bits, sign: Sign) -> WireId {
        same_width(a, b, "compare");
        match sign {
            Sign::Unsigned => self.sub_with_borrow(a, b, false).1,
            Sign::Signed => {
                let (a, b) = (self.flip_msb(a), self.flip_msb(b));
                self.sub_with_borrow(&a, &b, false).1
            }
        }
    }

    /// `a > b`: n ANDs.
    pub fn gt(&mut self, a: &Bits, b: &Bits, sign: Sign) -> WireId {
        self.lt(b, a, sign)
    }

    /// `a <= b`: n ANDs.
    pub fn le(&mut self, a: &Bits, b: &Bits, sign: Sign) -> WireId {
        let gt = self.lt(b, a, sign);
        self.not(gt)
    }

    /// `a >= b`: n ANDs.
    pub fn ge(&mut self, a: &Bits, b: &Bits, sign: Sign) -> WireId {
        let lt = self.lt(a, b, sign);
        self.not(lt)
    }

    /// `a == b`: n − 1 ANDs.
    pub fn eq(&mut self, a: &Bits, b: &Bits) -> WireId {
        same_width(a, b, "eq");
        let same: Bits = a.iter().zip(b).map(|(&x, &y)| self.xnor(x, y)).collect();
        self.reduce_and(&same)
    }

    /// `a != b`: n − 1 ANDs.
    pub fn ne(&mut self, a: &Bits, b: &Bits) -> WireId {
        let eq = self.eq(a, b);
        self.not(eq)
    }

    /// `a == 0`: n − 1 ANDs.
    pub fn is_zero(&mut self, a: &Bits) -> WireId {
        let any = self.reduce_or(a);
        self.not(any)
    }

    /// The smaller of `a` and `b`: 2n ANDs.
    pub fn min(&mut self, a: &Bits, b: &Bits, sign: Sign) -> Bits {
        let lt = self.lt(a, b, sign);
        self.mux(lt, a, b)
    }

    /// The larger of `a` and `b`: 2n ANDs.
    pub fn max(&mut self, a: &Bits, b: &Bits, sign: Sign) -> Bits {
        let lt = self.lt(a, b, sign);
        self.mux(lt, b, a)
    }

    // ----- multiplication -----------------------------------------------------

    /// Wrapping `a · b` (the low n bits; the same for signed and unsigned):
    /// n² − n + 1 ANDs (993 at 32 bits, 4,033 at 64).
    ///
    /// When both operands are zero- or sign-extensions of narrower values
    /// (their high bits are constant zero or copies of one bit), the product
    /// is taken at the narrow width with [`Builder::mul_full`] instead, which
    /// is cheaper: `(x as i32) * (y as i32)` for `i16` values costs 526 ANDs.
    pub fn mul(&mut self, a: &Bits, b: &Bits) -> Bits {
        same_width(a, b, "mul");
        let n = a.len();
        if n == 0 {
            return Vec::new();
        }
        let full_cost =
            |k: usize, sign: Sign| 2 * k * k - k + if sign == Sign::Signed { 2 * k - 2 } else { 0 };
        let narrow = [Sign::Unsigned, Sign::Signed]
            .into_iter()
            .map(|sign| {
                let k = significant_width(a, sign).max(significant_width(b, sign)).max(1);
                (full_cost(k, sign), k, sign)
            })
            .min_by_key(|&(cost, k, _)| (cost, k));
        if let Some((cost, k, sign)) = narrow {
            if cost < n * n - n + 1 {
                let (x, y) = (self.resize(a, k as u32, sign), self.resize(b, k as u32, sign));
                let product = self.mul_full(&x, &y, sign);
                return self.resize(&product, n as u32, sign);
            }
        }
        let mut acc: Bits = a.iter().map(|&x| self.and(x, b[0])).collect();
        for i in 1..n {
            let row: Bits = a[..n - i].iter().map(|&x| self.and(x, b[i])).collect();
            let sum = self.add(&acc[i..].to_vec(), &row);
            acc[i..].copy_from_slice(&sum);
        }
        acc
    }

    /// The full 2n-bit product: 2n² − n ANDs unsigned, plus 2n − 2 signed.
    pub fn mul_full(&mut self, a: &Bits, b: &Bits, sign: Sign) -> Bits {
        same_width(a, b, "mul_full");
        let n = a.len();
        if n == 0 {
            return Vec::new();
        }
        let mut acc: Bits = a.iter().map(|&x| self.and(x, b[0])).collect();
        acc.resize(2 * n, WireId::ZERO);
        for i in 1..n {
            let row: Bits = a.iter().map(|&x| self.and(x, b[i])).collect();
            let (sum, carry) = self.add_with_carry(&acc[i..i + n].to_vec(), &row, WireId::ZERO);
            acc[i..i + n].copy_from_slice(&sum);
            acc[i + n] = carry;
        }
        if sign == Sign::Signed {
            // a_s·b_s = a_u·b_u − 2ⁿ·(a_{n−1}·b_u + b_{n−1}·a_u)  (mod 2²ⁿ)
            let zero = vec![WireId::ZERO; n];
            let ma = self.mux(a[n - 1], b, &zero);
            let mb = self.mux(b[n - 1], a, &zero);
            let hi = acc[n..].to_vec();
            let hi = self.sub(&hi, &ma);
            let hi = self.sub(&hi, &mb);
            acc[n..].copy_from_slice(&hi);
        }
        acc
    }

    // ----- division -------------------------------------------------------------

    /// Unsigned quotient and remainder by restoring division on a remainder
    /// that grows one bit per step (step m compares m bits only, since the
    /// remainder is below 2^m and the divisor's high bits must be zero to fit
    /// under it). `x / 0 = MAX`, `x % 0 = x`.
    fn udivrem(&mut self, a: &Bits, d: &Bits, want_remainder: bool) -> (Bits, Bits) {
        same_width(a, d, "div");
        let n = a.len();
        // high_nonzero[m] = OR of d[m..n]; zero past the top.
        let mut high_nonzero = vec![WireId::ZERO; n + 1];
        for m in (1..n).rev() {
            high_nonzero[m] = self.or(high_nonzero[m + 1], d[m]);
        }
        let mut quotient = vec![WireId::ZERO; n];
        let mut rem: Bits = Vec::with_capacity(n);
        for k in (0..n).rev() {
            let m = n - k;
            let mut shifted = Vec::with_capacity(m);
            shifted.push(a[k]);
            shifted.extend_from_slice(&rem);
            let (diff, borrow) = self.sub_with_borrow(&shifted, &d[..m], true);
            let too_big = self.or(borrow, high_nonzero[m]);
            let q = self.not(too_big);
            quotient[k] = q;
            rem = if k > 0 || want_remainder { self.mux(q, &diff, &shifted) } else { shifted };
        }
        (quotient, rem)
    }

    fn divrem(&mut self, a: &Bits, b: &Bits, sign: Sign, want_remainder: bool) -> (Bits, Bits) {
        same_width(a, b, "div");
        match (sign, a.last(), b.last()) {
            (Sign::Signed, Some(&sa), Some(&sb)) => {
                let ua = self.cond_neg(a, sa);
                let ub = self.cond_neg(b, sb);
                let (q, r) = self.udivrem(&ua, &ub, want_remainder);
                // x / 0 = -1 whatever x's sign: no negation when b == 0.
                let b_zero = self.is_zero(b);
                let signs_differ = self.xor(sa, sb);
                let b_nonzero = self.not(b_zero);
                let negate_q = self.and(signs_differ, b_nonzero);
                let q = self.cond_neg(&q, negate_q);
                let r = if want_remainder { self.cond_neg(&r, sa) } else { r };
                (q, r)
            }
            _ => self.udivrem(a, b, want_remainder),
        }
    }

    /// Truncating `a / b` (see the module docs for `b == 0` and `MIN / -1`).
    pub fn div(&mut self, a: &Bits, b: &Bits, sign: Sign) -> Bits {
        self.divrem(a, b, sign, false).0
    }

    /// Truncating `a % b`, the sign of `a` (see the module docs for `b == 0`).
    pub fn rem(&mut self, a: &Bits, b: &Bits, sign: Sign) -> Bits {
        self.divrem(a, b, sign, true).1
    }

    /// Quotient and remainder together, sharing one division.
    pub fn div_rem(&mut self, a: &Bits, b: &Bits, sign: Sign) -> (Bits, Bits) {
        self.divrem(a, b, sign, true)
    }

    // ----- shifts ---------------------------------------------------------------

    /// Shift or rotate by a constant `k` (free). Shifts by `k ≥ n` give all
    /// zeros (or all sign bits); rotates take `k mod n`.
    pub fn shift_const(&self, a: &Bits, k: u64, kind: Shift) -> Bits {
        let n = a.len();
        if n == 0 {
            return Vec::new();
        }
        let fill = match kind {
            Shift::RightArithmetic => a[n - 1],
            _ => WireId::ZERO,
        };
        let k_sat = usize::try_from(k).unwrap_or(usize::MAX).min(n);
        let k_rot = (k % n as u64) as usize;
        (0..n)
            .map(|i| match kind {
                Shift::Left => {
                    if i >= k_sat {
                        a[i - k_sat]
                    } else {
                        WireId::ZERO
                    }
                }
                Shift::RightLogical | Shift::RightArithmetic => {
                    if i + k_sat < n {
                        a[i + k_sat]
                    } else {
                        fill
                    }
                }
                Shift::RotateLeft => a[(i + n - k_rot) % n],
                Shift::RotateRight => a[(i + k_rot) % n],
            })
            .collect()
    }

    /// Shift or rotate by a secret `amount` taken modulo the width (as
    /// `wrapping_shl`/`wrapping_shr`): a barrel shifter, n ANDs per amount bit
    /// used (n·log₂ n for power-of-two widths: 160 at 32 bits).
    pub fn shift(&mut self, a: &Bits, amount: &Bits, kind: Shift) -> Bits {
        let n = a.len();
        if n <= 1 {
            return a.clone();
        }
        let amount: Bits = if n.is_power_of_two() {
            let stages = n.trailing_zeros() as usize;
            amount.iter().copied().take(stages).collect()
        } else {
            // amount mod n with a constant divisor (folds to a small circuit).
            let w = amount.len().max(bits_for(n as u64) as usize) as u32;
            let amt = self.zext(amount, w);
            let modulus = self.constant_bits_u128(n as u128, w);
            let r = self.rem(&amt, &modulus, Sign::Unsigned);
            self.zext(&r, bits_for(n as u64 - 1))
        };
        let mut x = a.clone();
        for (j, &bit) in amount.iter().enumerate() {
            let shifted = self.shift_const(&x, 1u64 << j, kind);
            x = self.mux(bit, &shifted, &x);
        }
        x
    }

    // ----- counting ---------------------------------------------------------

    /// Number of set bits, as an unsigned value of ⌊log₂ n⌋ + 1 bits: carry-save
    /// column compression with full adders (one AND each), ≈ n ANDs.
    pub fn popcount(&mut self, a: &Bits) -> Bits {
        let width = bits_for(a.len() as u64);
        let terms: Vec<Bits> = a.iter().map(|&bit| vec![bit]).collect();
        self.add_many(&terms, width)
    }

    /// The wrapping sum (mod 2^width) of many terms of any widths (each
    /// zero-extended or truncated to `width`), by carry-save column
    /// compression ([`Builder::add_columns`]): every full adder costs one AND
    /// and removes one bit, so k n-bit terms cost about (k − 1)(n − 1) ANDs
    /// (as many as k − 1 ripple adders) and N one-bit terms about N ANDs
    /// (where ripple adders would cost N·log N). The top column needs no
    /// carries and costs nothing.
    ///
    /// Unlike [`Columns::push`], a constant-one bit of a term stays a wire
    /// in its column (the builder folds the adders it meets), so the counts
    /// are those of the table whatever the terms hold.
    pub fn add_many(&mut self, terms: &[Bits], width: u32) -> Bits {
        let mut sum = Columns::new(width, 0);
        for term in terms {
            for (c, &bit) in term.iter().take(width as usize).enumerate() {
                if bit != WireId::ZERO {
                    sum.columns[c].push(Pending::wire(bit));
                }
            }
        }
        self.add_columns(sum)
    }

    /// Adds `x` to a sum, bit i in column i (zero-extended or truncated to
    /// the sum's width); with `negate`, subtracts it as `¬x + 1` (free).
    pub fn push_term(&mut self, sum: &mut Columns, x: &[WireId], negate: bool) {
        let n = sum.width();
        if negate {
            for (i, &bit) in x.iter().enumerate().take(n) {
                let nb = self.not(bit);
                sum.push(i, nb);
            }
            // The complement of the zero-extension's high zeros.
            for i in x.len()..n {
                sum.push(i, WireId::ONE);
            }
            sum.add_constant(1);
        } else {
            for (i, &bit) in x.iter().enumerate().take(n) {
                sum.push(i, bit);
            }
        }
    }

    /// Adds the number of set bits of `x` to a sum, every bit in column 0;
    /// with `negate`, subtracts it, each bit as `¬bit − 1` (free).
    pub fn push_count(&mut self, sum: &mut Columns, x: &[WireId], negate: bool) {
        for &bit in x {
            if negate {
                let nb = self.not(bit);
                sum.push(0, nb);
                sum.sub_constant(1);
            } else {
                sum.push(0, bit);
            }
        }
    }

    /// Adds `bit · 2^col`, or with `negative`, `−bit · 2^col` as
    /// `(¬bit − 1) · 2^col` (free).
    fn push_signed(&mut self, sum: &mut Columns, col: usize, bit: WireId, negative: bool) {
        if col >= sum.width() {
            return;
        }
        if negative {
            let nb = self.not(bit);
            sum.push(col, nb);
            if col < 128 {
                sum.sub_constant(1u128 << col);
            }
        } else {
            sum.push(col, bit);
        }
    }

    /// Adds the partial products of `a · b` (with `negate`, `−a · b`), mod
    /// the sum's width, to a sum: one AND per partial product that lands
    /// below the width. Each operand is read at its [`narrowest`] width, so
    /// a product of zero- or sign-extended values multiplies only their
    /// significant bits; when either is signed, Baugh–Wooley: the partial
    /// products that involve exactly one sign bit are subtracted (an
    /// unsigned operand gets a zero sign bit).
    pub fn push_product(&mut self, sum: &mut Columns, a: &[WireId], b: &[WireId], negate: bool) {
        self.push_product_shifted(sum, a, b, negate, 0);
    }

    /// [`Builder::push_product`] of `a · b · 2^shift`: each partial product
    /// `shift` columns up (a term that appears `k` times in a sum is added
    /// once per digit of `k`'s non-adjacent form, shifted).
    #[allow(clippy::needless_range_loop)] // indices are the bit weights
    pub fn push_product_shifted(
        &mut self,
        sum: &mut Columns,
        a: &[WireId],
        b: &[WireId],
        negate: bool,
        shift: usize,
    ) {
        let n = sum.width().saturating_sub(shift);
        let col = |c: usize| c + shift;
        let ((wa, sign_a), (wb, sign_b)) = (narrowest(a), narrowest(b));
        if sign_a == Sign::Unsigned && sign_b == Sign::Unsigned {
            let r = sum.may_repeat(&a[..wa], &b[..wb]);
            for i in 0..wa {
                for j in 0..wb {
                    if i + j < n {
                        self.push_partial(sum, col(i + j), a[i], b[j], negate, r);
                    }
                }
            }
            return;
        }
        let with_sign_bit = |x: &[WireId], w: usize, sign: Sign| -> Vec<WireId> {
            match sign {
                Sign::Signed => x[..w].to_vec(),
                Sign::Unsigned => x[..w].iter().copied().chain([WireId::ZERO]).collect(),
            }
        };
        let (sa, sb) = (with_sign_bit(a, wa, sign_a), with_sign_bit(b, wb, sign_b));
        let r = sum.may_repeat(&sa, &sb);
        let (p, q) = (sa.len(), sb.len());
        for i in 0..p - 1 {
            for j in 0..q - 1 {
                if i + j < n {
                    self.push_partial(sum, col(i + j), sa[i], sb[j], negate, r);
                }
            }
        }
        if p + q - 2 < n {
            self.push_partial(sum, col(p + q - 2), sa[p - 1], sb[q - 1], negate, r);
        }
        for j in 0..q - 1 {
            if p - 1 + j < n {
                self.push_partial(sum, col(p - 1 + j), sa[p - 1], sb[j], !negate, r);
            }
        }
        for i in 0..p - 1 {
            if i + q - 1 < n {
                self.push_partial(sum, col(i + q - 1), sa[i], sb[q - 1], !negate, r);
            }
        }
    }

    /// Adds the partial product `x ∧ y · 2^col` (with `negative`, its
    /// negation, as [`Builder::push_signed`] does). One that needs no new
    /// gate (it folds, or its AND exists) is added as that wire; the others
    /// wait in the sum as [`Pending`] products, built by
    /// [`Builder::add_columns`] when it reaches them (with `may_repeat`,
    /// their pairs noted as ones another pending product may share).
    fn push_partial(
        &mut self,
        sum: &mut Columns,
        col: usize,
        x: WireId,
        y: WireId,
        negative: bool,
        may_repeat: bool,
    ) {
        if col >= sum.width() {
            return;
        }
        match self.and_existing(x, y) {
            Some(w) => self.push_signed(sum, col, w, negative),
            None => {
                if may_repeat {
                    sum.repeated.insert(pair_key(x, y));
                }
                sum.columns[col].push(Pending::product(x, y, negative, sum.tag));
                if negative && col < 128 {
                    sum.sub_constant(1u128 << col);
                }
            }
        }
    }

    /// Adds up a sum by column compression, lowest column first: full adders
    /// (one AND each) while a column has three bits or more, then a half
    /// adder; the constant's bit of the column joins last, where a half
    /// adder with a constant one is free (`x + 1` is `¬x` carrying `x`, and
    /// `x + y + 1` is `¬(x ⊕ y)` carrying `x ∨ y`). The top column needs no
    /// carry: it is the XOR of its bits.
    pub fn add_columns(&mut self, sum: Columns) -> Bits {
        self.add_columns_tagged(sum, 0, |_, _| {})
    }

    /// [`Builder::add_columns`], telling `on_tag(tag, gate)` which tag the
    /// gates from gate number `gate` on belong to: a product's
    /// [`Columns::set_tag`] while its AND (and INV) is built, `tag`
    /// otherwise. Called only when the tag changes; the compiler charges
    /// gates to source lines with it.
    pub fn add_columns_tagged(&mut self, sum: Columns, tag: u32, mut on_tag: impl FnMut(u32, usize)) -> Bits {
        let Columns { columns, constant, repeated, operands, scratch, .. } = sum;
        drop((operands, scratch));
        let n = columns.len();
        let mut cols: Vec<VecDeque<Pending>> = columns.into_iter().map(VecDeque::from).collect();
        let mut out = Vec::with_capacity(n);
        let mut taker = Taker { repeated, old: self.next_wire(), checked: self.gate_count(), current: tag };
        for c in 0..n {
            let one = c < 128 && (constant >> c) & 1 == 1;
            let mut q = std::mem::take(&mut cols[c]);
            if c + 1 == n {
                let mut x = if one { WireId::ONE } else { WireId::ZERO };
                for w in q {
                    let w = taker.take(self, w, &mut on_tag);
                    x = self.xor(x, w);
                    taker.note(self);
                }
                out.push(x);
                break;
            }
            let mut carries = Vec::new();
            while q.len() >= 3 {
                let (x, y, z) = match (q.pop_front(), q.pop_front(), q.pop_front()) {
                    (Some(x), Some(y), Some(z)) => (
                        taker.take(self, x, &mut on_tag),
                        taker.take(self, y, &mut on_tag),
                        taker.take(self, z, &mut on_tag),
                    ),
                    _ => break,
                };
                let xy = self.xor(x, y);
                let s = self.xor(xy, z);
                q.push_back(Pending::wire(s));
                carries.push(Pending::wire(self.majority(x, y, z)));
                taker.note(self);
            }
            let (x, y) = (q.pop_front(), q.pop_front());
            let x = x.map(|b| taker.take(self, b, &mut on_tag));
            let y = y.map(|b| taker.take(self, b, &mut on_tag));
            let bit = match (x, y, one) {
                (None, _, o) => self.constant(o),
                (Some(x), None, false) => x,
                (Some(x), None, true) => {
                    carries.push(Pending::wire(x));
                    self.not(x)
                }
                (Some(x), Some(y), false) => {
                    carries.push(Pending::wire(self.and(x, y)));
                    self.xor(x, y)
                }
                (Some(x), Some(y), true) => {
                    carries.push(Pending::wire(self.or(x, y)));
                    self.xnor(x, y)
                }
            };
            taker.note(self);
            out.push(bit);
            cols[c + 1].extend(carries);
        }
        out.resize(n, WireId::ZERO);
        out
    }

    // ----- release guards ------------------------------------------------------

    /// `a >= k` for an unsigned `a` of n bits and a constant `k`: the borrow
    /// chain of `a − k`, which is free below `k`'s lowest set bit and at it,
    /// so n − tz(k) − 1 ANDs for 0 < k < 2^n (tz: trailing zeros; 30 for
    /// k = 50 on 32 bits). Constant true for `k = 0`, constant false when
    /// `k` does not fit in n bits.
    pub fn ge_const(&mut self, a: &[WireId], k: u128) -> WireId {
        let n = a.len();
        if n < 128 && k >> n != 0 {
            return WireId::ZERO;
        }
        let k = self.constant_bits_u128(k, n as u32);
        let (_, borrow) = self.sub_with_borrow(a, &k, false);
        self.not(borrow)
    }

    /// The minimum-cohort guard: `if count >= k { value } else { every bit
    /// set }`, with `count` unsigned and `k` a constant, as
    /// `value ∨ ¬(count ≥ k)` bit by bit. Costs [`Builder::ge_const`] plus
    /// one AND per bit of `value` that is not a constant (a constant bit
    /// is free: 1 stays 1, 0 becomes the negated condition).
    ///
    /// Every bit of the result depends on `value` only through this guard:
    /// below `k` the result is all ones whatever `value` holds.
    pub fn release_if_at_least(&mut self, count: &[WireId], k: u128, value: &[WireId]) -> Bits {
        let released = self.ge_const(count, k);
        let suppressed = self.not(released);
        value.iter().map(|&v| self.or(v, suppressed)).collect()
    }

    // ----- secret indices ----------------------------------------------------

    /// `bits[index]`, reading `bits` as `len` elements of `elem_width` bits,
    /// by a multiplexer tree over the index's low k = ⌈log₂ len⌉ bits:
    /// elem_width · Σ_{j=1..k} ⌈len/2^j⌉ ANDs ((len − 1) · elem_width for a
    /// power of two). Positions past the end (or past `bits`) read as zero.
    pub fn select(&mut self, bits: &[WireId], index: &[WireId], elem_width: u32, len: u32) -> Bits {
        let k = index_bits(len);
        let w = elem_width as usize;
        let zero = vec![WireId::ZERO; w];
        let mut level: Vec<Bits> = (0..1usize << k)
            .map(|e| {
                if e < len as usize {
                    bits.get(e * w..(e + 1) * w).map_or_else(|| zero.clone(), <[WireId]>::to_vec)
                } else {
                    zero.clone()
                }
            })
            .collect();
        for j in 0..k {
            let s = index.get(j).copied().unwrap_or(WireId::ZERO);
            let mut next = Vec::with_capacity(level.len() / 2);
            for pair in level.chunks(2) {
                if pair[0] == pair[1] {
                    next.push(pair[0].clone());
                } else {
                    next.push(self.mux(s, &pair[1], &pair[0]));
                }
            }
            level = next;
        }
        level.into_iter().next().unwrap_or_default()
    }

    /// One-hot decoding of the index's low k = ⌈log₂ len⌉ bits: `sel[e]` is
    /// set when the index (mod 2^k) equals `e`, for `e < len`; 2^k − 2 ANDs
    /// (a secret write multiplexes each element with its bit).
    pub fn decode(&mut self, index: &[WireId], len: u32) -> Bits {
        let k = index_bits(len);
        let mut sel = vec![WireId::ONE];
        for j in 0..k {
            let bit = index.get(j).copied().unwrap_or(WireId::ZERO);
            let half = sel.len();
            let mut next = vec![WireId::ZERO; half * 2];
            for e in 0..half {
                let t = self.and(sel[e], bit);
                next[e] = self.xor(sel[e], t);
                next[e + half] = t;
            }
            sel = next;
        }
        sel.truncate(len as usize);
        sel
    }
}

/// Builds the pending products of a sum being compressed
/// ([`Builder::add_columns_tagged`]). A pending product's AND did not exist
/// when it was pushed ([`Builder::push_partial`] looked), so it is built
/// without a look-up unless a gate built since may compute it: another
/// pending product with the same operands (`repeated`, filled by
/// `Columns::may_repeat`), or an AND the
/// compression built from two wires older than the sum (`note` adds their
/// operands to `repeated`). Those two are the only ANDs built between the
/// push and the take, so the circuit is the one a look-up for every product
/// would build; the look-up would walk each operand's chain of products
/// (`strash.rs`), which the column order leaves spread over memory. (A
/// caller that builds ANDs of its own between pushing products and adding
/// them up may get one of those twice: the same value, a gate not shared,
/// never a wrong circuit.)
struct Taker {
    repeated: FxHashSet<(u32, u32)>,
    /// Wires below it existed before the compression.
    old: WireId,
    /// Gates before it have been noted.
    checked: usize,
    /// The sum's tag: that of every gate but the products'.
    current: u32,
}

impl Taker {
    /// The wire of a sum's bit: a pending product's AND (and INV) built now.
    fn take(&mut self, b: &mut Builder, bit: Pending, on_tag: &mut impl FnMut(u32, usize)) -> WireId {
        if bit.meta & PRODUCT == 0 {
            return bit.a;
        }
        let (x, y, negated, tag) = (bit.a, bit.b, bit.meta & NEGATED != 0, bit.meta & TAG);
        if tag != self.current {
            on_tag(tag, b.gate_count());
        }
        let looked_up = !self.repeated.is_empty() && self.repeated.contains(&pair_key(x, y));
        let p = if looked_up { b.and(x, y) } else { b.and_new(x, y) };
        let w = if negated { b.not(p) } else { p };
        if tag != self.current {
            on_tag(self.current, b.gate_count());
        }
        self.checked = b.gate_count();
        w
    }

    /// After compression gates: the operands of the ANDs just built from
    /// two old wires noted.
    fn note(&mut self, b: &Builder) {
        for g in b.gates_since(self.checked) {
            if g.kind == GateKind::And && g.a < self.old && g.b < self.old {
                self.repeated.insert(pair_key(g.a, g.b));
            }
        }
        self.checked = b.gate_count();
    }
}
