//! Lazy sums: `+`, `-`, unary `-`, `*` and `count_ones` build a linear form
//! ([`Lin`]) that is added up only when something else reads it.
//!
//! This file decides *what* is added; the adding itself (column
//! compression, partial products, Baugh–Wooley, constant folding of the
//! carries) is [`garblet_circuits::Columns`] and the `Builder` methods
//! `push_term`, `push_count`, `push_product` and `add_columns`, shared with
//! `add_many` and `popcount`. A chain of `+=` thus costs one multi-operand
//! adder, a product feeding a sum never goes through its own
//! carry-propagate adder, and two branches' sums that share a tail merge
//! only their differences (`Terms` is a persistent list for that).

use super::value::{const_value, mask, Val};
use super::Lowerer;
use crate::diag::Diagnostic;
use crate::limits::MAX_GATES;
use garblet_circuits::gadgets::{narrowest, non_adjacent_form, product_bits};
use garblet_circuits::{Bits, Columns, Shift, WireId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// How many terms two sums that share terms may each have before
/// [`Lowerer::add`] adds them up rather than join their lists.
const SHARED_SUM_TERMS: usize = 8;

/// How far [`Terms::share_a_tail`] looks.
const SHARE_SEARCH_STEPS: usize = 1024;

/// One term of a linear form.
#[derive(Clone, Debug)]
pub(super) enum Term {
    /// `+x`.
    Add(Rc<Vec<WireId>>),
    /// `-x`.
    Sub(Rc<Vec<WireId>>),
    /// `±(a · b)` (true: negated), written on a source line.
    Mul(Rc<Vec<WireId>>, Rc<Vec<WireId>>, bool, u32),
    /// `±` the number of set bits of a value (`count_ones`; true: negated).
    Count(Rc<Vec<WireId>>, bool),
}

impl Term {
    pub(super) fn negated(&self) -> Term {
        match self {
            Term::Add(x) => Term::Sub(x.clone()),
            Term::Sub(x) => Term::Add(x.clone()),
            Term::Mul(a, b, n, line) => Term::Mul(a.clone(), b.clone(), !n, *line),
            Term::Count(x, n) => Term::Count(x.clone(), !n),
        }
    }
}

/// A persistent list of terms (shared tails make the common part of two
/// branches' sums cheap to find).
#[derive(Clone, Debug, Default)]
pub(super) struct Terms(pub(super) Option<Rc<TermNode>>);

#[derive(Debug)]
pub(super) struct TermNode {
    pub(super) term: Term,
    pub(super) next: Terms,
    pub(super) len: usize,
}

impl Drop for TermNode {
    /// Unlinks the list iteratively: a long sum must not overflow the stack.
    fn drop(&mut self) {
        let mut next = self.next.0.take();
        while let Some(node) = next {
            match Rc::try_unwrap(node) {
                Ok(mut n) => next = n.next.0.take(),
                Err(_) => break,
            }
        }
    }
}

impl Terms {
    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |n| n.len)
    }

    pub(super) fn push(&self, term: Term) -> Terms {
        Terms(Some(Rc::new(TermNode { term, next: self.clone(), len: self.len() + 1 })))
    }

    pub(super) fn ptr_eq(&self, other: &Terms) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    pub(super) fn next(&self) -> Terms {
        self.0.as_ref().map_or_else(Terms::default, |n| n.next.clone())
    }

    pub(super) fn to_vec(&self) -> Vec<Term> {
        let mut out = Vec::with_capacity(self.len());
        let mut cur = self.0.clone();
        while let Some(n) = cur {
            out.push(n.term.clone());
            cur = n.next.0.clone();
        }
        out.reverse();
        out
    }

    /// Whether two lists share a tail that is not empty, as far as
    /// [`SHARE_SEARCH_STEPS`] steps down them tell (a sum of a long
    /// accumulator and a sum of a few terms is not searched to its end at
    /// every step of a loop).
    pub(super) fn share_a_tail(a: &Terms, b: &Terms) -> bool {
        let (mut x, mut y) = (a.clone(), b.clone());
        for _ in 0..SHARE_SEARCH_STEPS {
            if x.ptr_eq(&y) {
                return x.len() > 0;
            }
            if x.len() >= y.len() {
                x = x.next();
            } else {
                y = y.next();
            }
        }
        false
    }

    /// The longest common tail of two lists, and the terms before it in each.
    pub(super) fn split_common(a: &Terms, b: &Terms) -> (Terms, Vec<Term>, Vec<Term>) {
        let (mut x, mut y) = (a.clone(), b.clone());
        let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
        while x.len() > y.len() {
            only_a.extend(x.0.as_ref().map(|n| n.term.clone()));
            x = x.next();
        }
        while y.len() > x.len() {
            only_b.extend(y.0.as_ref().map(|n| n.term.clone()));
            y = y.next();
        }
        while !x.ptr_eq(&y) {
            only_a.extend(x.0.as_ref().map(|n| n.term.clone()));
            only_b.extend(y.0.as_ref().map(|n| n.term.clone()));
            x = x.next();
            y = y.next();
        }
        (x, only_a, only_b)
    }
}

/// `Σ terms + constant (mod 2^width)`, with its materialised bits once built
/// and the source line the adding up is charged to.
#[derive(Debug)]
pub(super) struct Lin {
    pub(super) width: u32,
    pub(super) terms: Terms,
    pub(super) constant: u128,
    pub(super) cache: RefCell<Option<Rc<Vec<WireId>>>>,
    pub(super) line: u32,
}

impl Lin {
    pub(super) fn new(width: u32, terms: Terms, constant: u128, line: u32) -> Lin {
        Lin { width, terms, constant: constant & mask(width), cache: RefCell::new(None), line }
    }
}

impl Lowerer<'_> {
    pub(super) fn as_lin(&mut self, v: &Val, width: u32) -> Rc<Lin> {
        match v {
            Val::Lin(l) => {
                if let Some(bits) = l.cache.borrow().clone() {
                    return Rc::new(self.lin_of_bits(bits, width));
                }
                l.clone()
            }
            Val::Bits(b) => Rc::new(self.lin_of_bits(b.clone(), width)),
            Val::Parts(_) => {
                let b = self.bits(v);
                Rc::new(self.lin_of_bits(b, width))
            }
        }
    }

    pub(super) fn lin_of_bits(&self, b: Rc<Vec<WireId>>, width: u32) -> Lin {
        match const_value(&b) {
            Some(c) => Lin::new(width, Terms::default(), c, self.line),
            None => Lin::new(width, Terms::default().push(Term::Add(b)), 0, self.line),
        }
    }

    /// `b` as a linear form, sharing the first term of `other` when that
    /// term is `+b` (so that `x` and `x + 1` are seen to differ by 1).
    pub(super) fn lin_like(&self, b: &Rc<Vec<WireId>>, other: &Lin) -> Rc<Lin> {
        let w = other.width;
        if const_value(b).is_none() {
            let mut cur = other.terms.clone();
            while cur.len() > 1 {
                cur = cur.next();
            }
            if let Some(node) = &cur.0 {
                if let Term::Add(x) = &node.term {
                    if Rc::ptr_eq(x, b) || **x == **b {
                        return Rc::new(Lin::new(w, cur.clone(), 0, other.line));
                    }
                }
            }
        }
        Rc::new(self.lin_of_bits(b.clone(), w))
    }

    pub(super) fn add(&mut self, x: &Val, y: &Val, w: u32, subtract: bool) -> Val {
        let mut a = self.as_lin(x, w);
        let mut b = self.as_lin(y, w);
        // Two sums that share terms (`h = h + h + x`, `b = a + b` after
        // `a = b`) would repeat the shared ones in their sum, doubling them
        // at every step of a loop: past a few terms each, they are added up
        // first (each once: the bits are cached), so the list grows with the
        // program, not exponentially.
        if a.terms.len().min(b.terms.len()) > SHARED_SUM_TERMS && Terms::share_a_tail(&a.terms, &b.terms) {
            self.bits(x);
            self.bits(y);
            a = self.as_lin(x, w);
            b = self.as_lin(y, w);
        }
        // Append the shorter list to the longer (a sum is usually an
        // accumulator plus a term).
        let (base, other, other_negated, base_negated) =
            if a.terms.len() >= b.terms.len() { (a, b, subtract, false) } else { (b, a, false, subtract) };
        let mut terms = base.terms.clone();
        if base_negated {
            // b − (long a): rebuild negated (rare).
            let mut t = Terms::default();
            for term in base.terms.to_vec() {
                t = t.push(term.negated());
            }
            terms = t;
        }
        for term in other.terms.to_vec() {
            terms = terms.push(if other_negated { term.negated() } else { term });
        }
        let cb = if base_negated { base.constant.wrapping_neg() } else { base.constant };
        let co = if other_negated { other.constant.wrapping_neg() } else { other.constant };
        Val::Lin(Rc::new(Lin::new(w, terms, cb.wrapping_add(co), self.line)))
    }

    pub(super) fn negate(&mut self, v: &Val, w: u32) -> Val {
        let a = self.as_lin(v, w);
        let mut t = Terms::default();
        for term in a.terms.to_vec() {
            t = t.push(term.negated());
        }
        Val::Lin(Rc::new(Lin::new(w, t, a.constant.wrapping_neg(), self.line)))
    }

    /// `x · y` as a linear form: by a constant, the sum of `±(x << i)` over
    /// the constant's non-adjacent form (shifts are free, and the terms join
    /// the surrounding sum); otherwise one product term, added up (as partial
    /// products) with whatever it is added to.
    pub(super) fn mul(&mut self, x: &Val, y: &Val, w: u32) -> Val {
        let a = self.bits(x);
        let b = self.bits(y);
        let (cst, other) = match (const_value(&a), const_value(&b)) {
            (Some(c), _) => (Some(c), b.clone()),
            (_, Some(c)) => (Some(c), a.clone()),
            _ => (None, a.clone()),
        };
        match cst {
            Some(c) => {
                let mut terms = Terms::default();
                for (i, negative) in non_adjacent_form(c, w) {
                    let shifted = Rc::new(self.b.shift_const(&other, u64::from(i), Shift::Left));
                    terms = terms.push(if negative { Term::Sub(shifted) } else { Term::Add(shifted) });
                }
                Val::Lin(Rc::new(Lin::new(w, terms, 0, self.line)))
            }
            None => Val::Lin(Rc::new(Lin::new(
                w,
                Terms::default().push(Term::Mul(a, b, false, self.line)),
                0,
                self.line,
            ))),
        }
    }

    /// The bits of a value (materialising a sum once; the result is cached).
    pub(super) fn bits(&mut self, v: &Val) -> Rc<Vec<WireId>> {
        match v {
            Val::Bits(b) => b.clone(),
            Val::Lin(l) => {
                if let Some(b) = l.cache.borrow().clone() {
                    return b;
                }
                let b = Rc::new(self.materialize(l));
                *l.cache.borrow_mut() = Some(b.clone());
                b
            }
            Val::Parts(p) => {
                if let Some(b) = p.cache.borrow().clone() {
                    return b;
                }
                let mut out: Vec<WireId> = (*p.base).clone();
                for (o, (w, part)) in &p.lazy {
                    let bits = self.bits(part);
                    let (o, w) = (*o as usize, *w as usize);
                    if let (Some(dst), Some(src)) = (out.get_mut(o..o + w), bits.get(..w)) {
                        dst.copy_from_slice(src);
                    }
                }
                let b = Rc::new(out);
                *p.cache.borrow_mut() = Some(b.clone());
                b
            }
        }
    }

    /// Adds up a linear form: the two-operand and single-product cases use
    /// the builder's gadgets; anything larger goes through one column
    /// compression of every term's bits (products as partial products).
    pub(super) fn materialize(&mut self, l: &Lin) -> Bits {
        let old = self.line;
        self.set_line(l.line);
        let bits = self.materialize_here(l);
        if self.exhausted_line.is_none() && self.b.gates_exhausted() {
            self.exhausted_line = Some(l.line);
        }
        self.set_line(old);
        bits
    }

    /// Whether adding up `terms` (a sum `n` bits wide) would take the
    /// circuit past [`MAX_GATES`]: every bit the compression takes in costs
    /// a gate at least, so the bits are counted before any is pushed. A
    /// long lazy sum (a loop that cannot stream, `s += x * y` over 100,000
    /// records) is refused at once, with its line, rather than built up to
    /// the limit: 22.6 s and 5 GB for 100,000 records of `u64` before.
    fn too_large(&mut self, l: &Lin, terms: &[Digits]) -> bool {
        let wires = |x: &[WireId], n: usize| x.iter().take(n).filter(|w| !w.is_const()).count() as u64;
        // The bits, and how many each line wrote (products are charged to
        // the line that multiplied, the other terms to the sum's).
        let mut per_line: HashMap<u32, u64> = HashMap::new();
        for (t, digits) in terms {
            for &(shift, _) in digits {
                let n = l.width.saturating_sub(shift) as usize;
                let (line, k) = match t {
                    Term::Add(x) | Term::Sub(x) => (l.line, wires(x, n)),
                    Term::Count(x, _) => (l.line, wires(x, x.len())),
                    Term::Mul(a, b, _, line) => (*line, product_bits(a, b, n)),
                };
                let e = per_line.entry(line).or_default();
                *e = e.saturating_add(k);
            }
        }
        let bits = per_line.values().fold(0u64, |s, &k| s.saturating_add(k));
        if (self.b.gate_count() as u64).saturating_add(bits) <= MAX_GATES as u64 {
            return false;
        }
        // The error points at the line that wrote the most bits.
        let line = per_line
            .iter()
            .max_by_key(|&(&line, &k)| (k, std::cmp::Reverse(line)))
            .map_or(l.line, |(&line, _)| line);
        self.sum_refused = Some(self.errors.errors.len());
        self.errors.push(
            Diagnostic::new(
                self.line_span(line),
                format!(
                    "this sum would add up {bits} bits ({} terms) at once, more than the circuit's limit of {MAX_GATES} gates",
                    terms.len()
                ),
            )
            .with_help(
                "a sum is added up where it is read, so one in a loop that cannot stream (and is unrolled) grows with \
                 every iteration: reduce loop bounds or array sizes, or let the loop stream (docs/LANGUAGE.md, \
                 \"Loops that stream\")",
            ),
        );
        true
    }

    /// Adds up a linear form here: a constant, a single term and the
    /// two-operand sums go through the builder's two-operand gadgets (a
    /// ripple adder costs what the compression would, in fewer gates), a
    /// lone product whose operands are full width through
    /// [`Builder::mul`]; anything larger through one
    /// [`Builder::add_columns`] of every term's bits, products as partial
    /// products, each charged to the line that wrote it.
    ///
    /// [`Builder::mul`]: garblet_circuits::Builder::mul
    /// [`Builder::add_columns`]: garblet_circuits::Builder::add_columns
    pub(super) fn materialize_here(&mut self, l: &Lin) -> Bits {
        let n = l.width;
        let terms = l.terms.to_vec();
        if let Some(b) = l.cache.borrow().as_ref() {
            return b.to_vec();
        }
        let full_width = |x: &[WireId]| narrowest(x).0 >= n as usize;
        match (terms.as_slice(), l.constant) {
            ([], c) => return self.b.constant_bits_u128(c, n),
            ([Term::Add(x)], 0) => return x.to_vec(),
            ([Term::Sub(x)], 0) => return self.b.neg(x),
            ([Term::Add(x), Term::Add(y)], 0) => return self.b.add(x, y),
            ([Term::Add(x), Term::Sub(y)], 0) => return self.b.sub(x, y),
            ([Term::Sub(y), Term::Add(x)], 0) => return self.b.sub(x, y),
            ([Term::Mul(a, b, false, line)], 0) if full_width(a) && full_width(b) => {
                self.set_line(*line);
                return self.b.mul(a, b);
            }
            _ => {}
        }
        let terms = like_terms(terms, n);
        if self.too_large(l, &terms) {
            return vec![WireId::ZERO; n as usize];
        }
        let mut sum = Columns::new(n, l.constant);
        for (t, digits) in &terms {
            for &(shift, negative) in digits {
                let shift = shift as usize;
                match t {
                    Term::Add(x) if shift == 0 => self.b.push_term(&mut sum, x, negative),
                    Term::Add(x) => self.b.push_term(&mut sum, &shifted(x, shift, n), negative),
                    Term::Sub(x) => self.b.push_term(&mut sum, x, !negative),
                    Term::Count(x, negated) => self.b.push_count(&mut sum, x, *negated),
                    Term::Mul(a, b, negated, line) => {
                        // The products' ANDs are built by the compression, and
                        // charged to their line there.
                        self.set_line(*line);
                        sum.set_tag(*line);
                        self.b.push_product_shifted(&mut sum, a, b, *negated ^ negative, shift);
                    }
                }
            }
        }
        self.set_line(l.line);
        let (b, segments, current) = (&mut self.b, &mut self.segments, &mut self.line);
        b.add_columns_tagged(sum, l.line, |line, gate| {
            super::lines::switch_line(segments, current, line, gate)
        })
    }
}

/// A term of a sum and the digits `(shift, negative)` it is pushed with
/// (see [`like_terms`]).
type Digits = (Term, Vec<(u32, bool)>);

/// The terms of a sum, like terms together: a term that appears `k` times
/// (`+x` and `−x` counting against each other, products by their operands
/// in order) is kept once, with the digits `(shift, negative)` of `k`'s
/// non-adjacent form, so that it is pushed once per digit, shifted, rather
/// than `k` times (`s += x * y` in a loop of 100,000 steps: 6 shifted
/// products, not 100,000; and `x - x` is nothing). Every other term keeps
/// its place and the single digit `(0, false)`; a sum without repeats is
/// pushed as it was written. Counts are never merged.
fn like_terms(terms: Vec<Term>, width: u32) -> Vec<Digits> {
    #[derive(Hash, PartialEq, Eq)]
    enum Key {
        Lin(Rc<Vec<WireId>>),
        Mul(Rc<Vec<WireId>>, Rc<Vec<WireId>>),
    }
    let key = |t: &Term| match t {
        Term::Add(x) | Term::Sub(x) => Some(Key::Lin(x.clone())),
        Term::Mul(a, b, _, _) => Some(Key::Mul(a.clone(), b.clone())),
        Term::Count(..) => None,
    };
    let mut seen: HashMap<Key, usize> = HashMap::new();
    let mut repeats = false;
    for t in &terms {
        if let Some(k) = key(t) {
            let count = seen.entry(k).or_default();
            *count += 1;
            repeats |= *count > 1;
        }
    }
    if !repeats {
        return terms.into_iter().map(|t| (t, vec![(0, false)])).collect();
    }
    // The multiplicity of each repeated term (mod 2^width), and where it
    // first appears.
    let mut total: HashMap<Key, (usize, u128)> = HashMap::new();
    let mut out: Vec<Option<Digits>> = Vec::with_capacity(terms.len());
    for t in terms {
        let Some(k) = key(&t).filter(|k| seen[k] > 1) else {
            out.push(Some((t, vec![(0, false)])));
            continue;
        };
        let sign: u128 = match &t {
            Term::Sub(_) | Term::Mul(_, _, true, _) => u128::MAX,
            _ => 1,
        };
        match total.get_mut(&k) {
            Some((_, m)) => *m = m.wrapping_add(sign),
            None => {
                let canonical = match t {
                    Term::Sub(x) => Term::Add(x),
                    Term::Mul(a, b, _, line) => Term::Mul(a, b, false, line),
                    other => other,
                };
                total.insert(k, (out.len(), sign));
                out.push(Some((canonical, Vec::new())));
            }
        }
    }
    for (at, m) in total.into_values() {
        if let Some((_, digits)) = &mut out[at] {
            *digits = non_adjacent_form(m & mask(width), width);
        }
    }
    out.into_iter().flatten().filter(|(_, digits)| !digits.is_empty()).collect()
}

/// `x · 2^shift` as a sum's term `width` bits wide (free: a zero-extended
/// value moved up, its top bits dropped).
fn shifted(x: &[WireId], shift: usize, width: u32) -> Vec<WireId> {
    let keep = (width as usize).saturating_sub(shift).min(x.len());
    std::iter::repeat_n(WireId::ZERO, shift.min(width as usize)).chain(x[..keep].iter().copied()).collect()
}
