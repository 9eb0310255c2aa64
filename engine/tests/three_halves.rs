//! Three-halves garbling (Rosulek and Roy, Crypto 2021, ePrint 2021/749)
//! against a reference written from the paper, gate by gate, on the `aes`
//! crate directly; then whole circuits (AES-128, SHA-256 known answers,
//! random circuits) against plaintext evaluation.
//!
//! The reference does not share the engine's algebra: the engine garbles
//! with closed-form coefficient tables; the reference *solves* the
//! evaluator's equations row by row (the paper's `R_p`, `S₁`, `S₂` and the
//! control pair `r(i, j)` written out as matrices), then checks that all
//! four rows decode before returning.

use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use aes::Aes128;
use garblet_engine::circuits::{bristol, Circuit};
use garblet_engine::garble::{
    Encoder, Evaluator, GarbleKey, GarbledEvalError, Garbler, GarblingScheme, Op, Plan, ThreeHalves,
    AND_INDEX_LIMIT,
};
use garblet_engine::{Block, Delta, GateSeed, Prg};
use garblet_testkit::hex_bits;
use garblet_testkit::random::reusing_circuit_from;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// The reference.

/// The fixed public AES key of the engine's permutation π (`hash.rs`: the
/// first 128 bits of the fractional part of π, as a little-endian integer).
const FIXED_KEY: u128 = 0x243f_6a88_85a3_08d3_1319_8a2e_0370_7344;

fn aes(key: u128, x: u128) -> u128 {
    let cipher = Aes128::new(&Array::from(key.to_le_bytes()));
    let mut b = Array::from(x.to_le_bytes());
    cipher.encrypt_block(&mut b);
    u128::from_le_bytes(b.into())
}

/// TMMO (Guo, Katz, Wang, Yu): `H(x, τ) = π(π(x) ⊕ τ) ⊕ π(x)`.
fn tmmo(x: u128, tweak: u64) -> u128 {
    let px = aes(FIXED_KEY, x);
    aes(FIXED_KEY, px ^ u128::from(tweak)) ^ px
}

fn low(x: u128) -> u64 {
    x as u64
}

fn high(x: u128) -> u64 {
    (x >> 64) as u64
}

fn bit64(x: u128) -> u8 {
    (x >> 64) as u8 & 1
}

/// A 2 × 4 matrix over GF(2): rows for `C_L` and `C_R`, columns for `A_L,
/// A_R, B_L, B_R`.
type Matrix = [[u8; 4]; 2];

/// The paper's `R_p(i, j)`.
fn r_p(i: u8, j: u8) -> Matrix {
    match (i, j) {
        (0, 0) => [[0, 0, 1, 0], [0, 1, 0, 0]],
        (0, 1) => [[0, 0, 1, 0], [0, 0, 0, 0]],
        (1, 0) => [[0, 0, 0, 0], [0, 1, 0, 0]],
        _ => [[0; 4]; 2],
    }
}

/// The paper's basis of the random part `R_$`.
const S_1: Matrix = [[1, 1, 1, 0], [1, 0, 0, 1]];
const S_2: Matrix = [[1, 0, 0, 1], [0, 1, 1, 1]];

fn r_matrix(i: u8, j: u8, r1: u8, r2: u8) -> Matrix {
    let mut m = r_p(i, j);
    for row in 0..2 {
        for col in 0..4 {
            m[row][col] ^= (r1 & S_1[row][col]) ^ (r2 & S_2[row][col]);
        }
    }
    m
}

/// `M · (A_L, A_R, B_L, B_R)`, as `(C_L part, C_R part)`.
fn apply(m: &Matrix, a: u128, b: u128) -> (u64, u64) {
    let v = [low(a), high(a), low(b), high(b)];
    let row = |r: &[u8; 4]| (0..4).fold(0u64, |acc, k| if r[k] == 1 { acc ^ v[k] } else { acc });
    (row(&m[0]), row(&m[1]))
}

fn join(l: u64, r: u64) -> u128 {
    u128::from(l) | u128::from(r) << 64
}

/// The garbler's random bits of gate `g`: AES-CTR under the gate seed.
fn rho(seed: u128, g: u64) -> (u8, u8) {
    let word = aes(seed, u128::from(g >> 6)) >> (2 * (g & 63));
    (word as u8 & 1, (word >> 1) as u8 & 1)
}

/// One garbled gate: `(G₀, G₁, G₂)` and the five control bits.
#[derive(Clone, Copy, Debug, PartialEq)]
struct GarbledGate {
    g: [u64; 3],
    z: [u8; 5],
}

/// The evaluator, from the paper: three hashes, the control pair, `R`, the
/// output halves.
fn ref_eval(a: u128, b: u128, gate: &GarbledGate, g: u64) -> u128 {
    let (i, j) = (a as u8 & 1, b as u8 & 1);
    let (ha, hb, hab) = (tmmo(a, 3 * g), tmmo(b, 3 * g + 1), tmmo(a ^ b, 3 * g + 2));
    let z = gate.z;
    let r1 = z[0] ^ (i & z[2]) ^ ((i ^ j) & z[4]) ^ bit64(ha ^ hab);
    let r2 = z[1] ^ (j & z[3]) ^ ((i ^ j) & z[4]) ^ bit64(hb ^ hab);
    let (rl, rr) = apply(&r_matrix(i, j, r1, r2), a, b);
    let sel = |bit: u8, x: u64| if bit == 1 { x } else { 0 };
    let cl = low(ha ^ hab) ^ sel(i, gate.g[0]) ^ sel(i ^ j, gate.g[2]) ^ rl;
    let cr = low(hb ^ hab) ^ sel(j, gate.g[1]) ^ sel(i ^ j, gate.g[2]) ^ rr;
    join(cl, cr)
}

/// The garbler: solves the evaluator's equations for the four rows.
/// Returns the output zero label and the garbled gate.
fn ref_garble(a0: u128, b0: u128, delta: u128, g: u64, (rho1, rho2): (u8, u8)) -> (u128, GarbledGate) {
    let (pa, pb) = (a0 as u8 & 1, b0 as u8 & 1);
    let (ca, cb) = (1 - pa, 1 - pb); // the colours of the true inputs
    let d = |bit: u8| if bit == 1 { delta } else { 0 };
    // The labels of colour 0.
    let (a, b) = (a0 ^ d(pa), b0 ^ d(pb));
    let label_a = |i: u8| a ^ d(i);
    let label_b = |j: u8| b ^ d(j);
    let ha = [tmmo(a, 3 * g), tmmo(a ^ delta, 3 * g)];
    let hb = [tmmo(b, 3 * g + 1), tmmo(b ^ delta, 3 * g + 1)];
    let hab = [tmmo(a ^ b, 3 * g + 2), tmmo(a ^ b ^ delta, 3 * g + 2)];
    // The control pair of row (i, j): uniform in each row (ρ), and such
    // that the four rows' pairs XOR to zero (solvable with z).
    let r = |i: u8, j: u8| (rho1 ^ (i & ca) ^ ((i ^ j) & (ca ^ cb)), rho2 ^ (j & cb) ^ ((i ^ j) & (ca ^ cb)));
    // Control bits: row (0,0) gives z₀, z₁; row (1,1) z₂, z₃; row (0,1) z₄.
    let mut z = [0u8; 5];
    z[0] = r(0, 0).0 ^ bit64(ha[0] ^ hab[0]);
    z[1] = r(0, 0).1 ^ bit64(hb[0] ^ hab[0]);
    z[2] = r(1, 1).0 ^ z[0] ^ bit64(ha[1] ^ hab[0]);
    z[3] = r(1, 1).1 ^ z[1] ^ bit64(hb[1] ^ hab[0]);
    z[4] = r(0, 1).0 ^ z[0] ^ bit64(ha[0] ^ hab[1]);
    let m = |i: u8, j: u8| {
        let (r1, r2) = r(i, j);
        r_matrix(i, j, r1, r2)
    };
    // Output: row (0,0) has no ciphertext; its label is C₀ ⊕ t₀₀·Δ.
    let truth = |i: u8, j: u8| u8::from(i == ca && j == cb);
    let (rl, rr) = apply(&m(0, 0), label_a(0), label_b(0));
    let c00 = join(low(ha[0] ^ hab[0]) ^ rl, low(hb[0] ^ hab[0]) ^ rr);
    let c0 = c00 ^ d(truth(0, 0));
    let target = |i: u8, j: u8| c0 ^ d(truth(i, j));
    // Row (1,1): C_L = h(hA₁ ⊕ hAB₀) ⊕ G₀ ⊕ …, C_R = h(hB₁ ⊕ hAB₀) ⊕ G₁ ⊕ ….
    let (rl, rr) = apply(&m(1, 1), label_a(1), label_b(1));
    let g0 = low(target(1, 1)) ^ low(ha[1] ^ hab[0]) ^ rl;
    let g1 = high(target(1, 1)) ^ low(hb[1] ^ hab[0]) ^ rr;
    // Row (0,1): C_L = h(hA₀ ⊕ hAB₁) ⊕ G₂ ⊕ ….
    let (rl, _) = apply(&m(0, 1), label_a(0), label_b(1));
    let g2 = low(target(0, 1)) ^ low(ha[0] ^ hab[1]) ^ rl;
    let gate = GarbledGate { g: [g0, g1, g2], z };
    for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        assert_eq!(ref_eval(label_a(i), label_b(j), &gate, g), target(i, j), "row ({i}, {j})");
    }
    (c0, gate)
}

/// The material of consecutive gates, as the module docs lay it out: per
/// group of 8, the gates' `G₀, G₁, G₂` (little-endian) then their control
/// bits, 5 per gate, little-endian, `⌈5r/8⌉` bytes for `r` gates.
fn ref_pack(gates: &[GarbledGate]) -> Vec<u8> {
    let mut out = Vec::new();
    for group in gates.chunks(8) {
        let mut z = 0u64;
        for (k, gate) in group.iter().enumerate() {
            for g in gate.g {
                out.extend_from_slice(&g.to_le_bytes());
            }
            for (s, &bit) in gate.z.iter().enumerate() {
                z |= u64::from(bit) << (5 * k + s);
            }
        }
        out.extend_from_slice(&z.to_le_bytes()[..(5 * group.len()).div_ceil(8)]);
    }
    out
}

fn ref_unpack(material: &[u8], n: usize) -> Vec<GarbledGate> {
    let mut gates = Vec::new();
    let mut pos = 0;
    for start in (0..n).step_by(8) {
        let r = (n - start).min(8);
        let ciphers = &material[pos..pos + 24 * r];
        let zb = &material[pos + 24 * r..pos + 24 * r + (5 * r).div_ceil(8)];
        let mut zw = [0u8; 8];
        zw[..zb.len()].copy_from_slice(zb);
        let zw = u64::from_le_bytes(zw);
        for k in 0..r {
            let word = |o: usize| {
                u64::from_le_bytes(ciphers[24 * k + 8 * o..24 * k + 8 * o + 8].try_into().unwrap())
            };
            let z = std::array::from_fn(|s| (zw >> (5 * k + s)) as u8 & 1);
            gates.push(GarbledGate { g: [word(0), word(1), word(2)], z });
        }
        pos += 24 * r + (5 * r).div_ceil(8);
    }
    assert_eq!(pos, material.len());
    gates
}

// ---------------------------------------------------------------------------
// The batched scheme against the reference.

struct Batch {
    delta: Delta,
    seed_key: u128,
    seed: GateSeed,
    labels: Vec<Block>,
    ops: Vec<Op>,
}

/// `n` gates over `2n + 3` random labels, with random (possibly shared)
/// inputs; the outputs go to a separate array.
fn batch(n: usize, seed: u128) -> Batch {
    let mut prg = Prg::from_seed(Block::new(seed));
    let delta = Delta::random(&mut prg);
    let seed_key = prg.random_block().to_u128();
    let labels: Vec<Block> = (0..2 * n + 3).map(|_| prg.random_block()).collect();
    let m = labels.len() as u64;
    let ops = (0..n)
        .map(|_| Op { a: (prg.random_u64() % m) as u32, b: (prg.random_u64() % m) as u32, out: 0 })
        .collect();
    Batch { delta, seed_key, seed: GateSeed::from_block(Block::new(seed_key)), labels, ops }
}

fn reference_batch(b: &Batch, first: u64) -> (Vec<Block>, Vec<u8>) {
    let d = b.delta.as_block().to_u128();
    let (c0, gates): (Vec<Block>, Vec<GarbledGate>) = b
        .ops
        .iter()
        .enumerate()
        .map(|(k, op)| {
            let g = first + k as u64;
            let (a, bb) = (b.labels[op.a as usize].to_u128(), b.labels[op.b as usize].to_u128());
            let (c, gate) = ref_garble(a, bb, d, g, rho(b.seed_key, g));
            (Block::new(c), gate)
        })
        .unzip();
    (c0, ref_pack(&gates))
}

#[test]
fn batches_match_the_reference_byte_for_byte() {
    // The fused kernels where the CPU has them, and the portable code
    // always: each against the paper's reference, not only each other.
    for th in [ThreeHalves::new(), ThreeHalves::portable()] {
        reference_check(&th);
    }
}

fn reference_check(th: &ThreeHalves) {
    let sizes = [0usize, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200, 255, 256, 257, 513];
    for (s, &n) in sizes.iter().enumerate() {
        for first in [0u64, 61, 1 << 40, AND_INDEX_LIMIT - n as u64] {
            let b = batch(n, 1000 + s as u128);
            let key = GarbleKey::new(&b.delta, &b.seed);
            let (want_c0, want_mat) = reference_batch(&b, first);
            assert_eq!(th.material_len(n), want_mat.len(), "{n} gates");
            let mut c0 = vec![Block::ZERO; n];
            let mut mat = vec![0u8; th.material_len(n)];
            th.garble_ands(key, first, &b.labels, &b.ops, &mut c0, &mut mat);
            assert_eq!(mat, want_mat, "material, {n} gates from {first}");
            assert_eq!(c0, want_c0, "output zero labels, {n} gates from {first}");

            // Active labels for random input bits: the batched evaluator
            // and the reference evaluator agree, and decode to AND.
            let mut prg = Prg::from_seed(Block::new(7 + n as u128));
            let bits: Vec<bool> = (0..b.labels.len()).map(|_| prg.random_bool()).collect();
            let d = b.delta.as_block();
            let active: Vec<Block> = b.labels.iter().zip(&bits).map(|(&l, &x)| l ^ d.select(x)).collect();
            let mut c = vec![Block::ZERO; n];
            th.eval_ands(first, &active, &b.ops, &mat, &mut c);
            let gates = ref_unpack(&mat, n);
            for (k, op) in b.ops.iter().enumerate() {
                let (x, y) = (op.a as usize, op.b as usize);
                let g = first + k as u64;
                let want = ref_eval(active[x].to_u128(), active[y].to_u128(), &gates[k], g);
                assert_eq!(c[k].to_u128(), want, "gate {k} of {n}");
                assert_eq!(c[k], c0[k] ^ d.select(bits[x] & bits[y]), "gate {k} of {n} decodes");
            }
        }
    }
}

/// A batch garbled in pieces (cut at multiples of the granule, each piece
/// numbered from its own first gate) gives the bytes of the whole.
#[test]
fn pieces_concatenate_to_the_whole() {
    let th = ThreeHalves::new();
    let granule = <ThreeHalves as GarblingScheme>::GRANULE;
    assert_eq!(granule, 8);
    for (n, cuts) in
        [(100usize, vec![8, 40]), (129, vec![64, 128]), (300, vec![8, 16, 24, 296]), (9, vec![8])]
    {
        let b = batch(n, 77 + n as u128);
        let key = GarbleKey::new(&b.delta, &b.seed);
        let (want_c0, want_mat) = reference_batch(&b, 5000);
        let mut bounds = vec![0];
        bounds.extend(&cuts);
        bounds.push(n);
        let (mut c0, mut mat) = (Vec::new(), Vec::new());
        for w in bounds.windows(2) {
            let ops = &b.ops[w[0]..w[1]];
            let mut pc = vec![Block::ZERO; ops.len()];
            let mut pm = vec![0u8; th.material_len(ops.len())];
            th.garble_ands(key, 5000 + w[0] as u64, &b.labels, ops, &mut pc, &mut pm);
            c0.extend(pc);
            mat.extend(pm);
        }
        assert_eq!(mat.len(), th.material_len(n), "material_len is additive");
        assert_eq!(mat, want_mat, "{n} gates cut at {cuts:?}");
        assert_eq!(c0, want_c0);
    }
}

#[test]
fn at_most_25_bytes_per_and() {
    let th = ThreeHalves::new();
    for n in 1..2000 {
        assert!(th.material_len(n) <= 25 * n, "{n} gates: {} bytes", th.material_len(n));
    }
    // 1.5κ + 5 bits per gate on whole groups: 197 bytes per 8.
    assert_eq!(th.material_len(8000), 197_000);
}

/// The garbler's random bits come from the encoding's seed: two encodings
/// of the same labels and Δ give different material (and both decode).
#[test]
fn fresh_seeds_give_fresh_control_bits() {
    let th = ThreeHalves::new();
    let b = batch(256, 9);
    let other = GateSeed::from_block(Block::new(b.seed_key ^ 1));
    let mut mats = Vec::new();
    for seed in [&b.seed, &other] {
        let mut c0 = vec![Block::ZERO; 256];
        let mut mat = vec![0u8; th.material_len(256)];
        th.garble_ands(GarbleKey::new(&b.delta, seed), 0, &b.labels, &b.ops, &mut c0, &mut mat);
        mats.push((c0, mat));
    }
    assert_ne!(mats[0], mats[1]);
    // Both decode: the paper's evaluator, on every gate and all four input
    // pairs, gets the output label of a ∧ b under either seed.
    let d = b.delta.as_block().to_u128();
    for (c0, mat) in &mats {
        for (g, (gate, op)) in ref_unpack(mat, 256).iter().zip(&b.ops).enumerate() {
            let (a0, b0) = (b.labels[op.a as usize].to_u128(), b.labels[op.b as usize].to_u128());
            for (x, y) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let want = c0[g].to_u128() ^ if x & y == 1 { d } else { 0 };
                // Gates whose inputs share a wire see only equal bits.
                if op.a == op.b && x != y {
                    continue;
                }
                let (a, bb) = (a0 ^ if x == 1 { d } else { 0 }, b0 ^ if y == 1 { d } else { 0 });
                assert_eq!(ref_eval(a, bb, gate, g as u64), want, "gate {g}, inputs ({x}, {y})");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Whole circuits.

fn run(plan: &Plan<'_>, inputs: &[bool], seed: u128, parallel: bool) -> (Vec<bool>, Vec<u8>) {
    let mut prg = Prg::from_seed(Block::new(seed));
    let encoder = Encoder::random(inputs.len(), &mut prg);
    let labels = encoder.encode_bits(0, inputs);
    let mut stream = Vec::new();
    let garbler = Garbler::with_scheme(ThreeHalves::new()).parallel(parallel);
    let outputs = garbler.garble(plan, &encoder, &mut stream).unwrap();
    let evaluator = Evaluator::with_scheme(ThreeHalves::new()).parallel(parallel);
    let out_labels = evaluator.evaluate(plan, &labels, &stream[..]).unwrap();
    assert_eq!(evaluator.evaluate_slice(plan, &labels, &stream).unwrap(), out_labels);
    // The other threading on the evaluator's side reads the same stream.
    let other = Evaluator::with_scheme(ThreeHalves::new()).parallel(!parallel);
    assert_eq!(other.evaluate_slice(plan, &labels, &stream).unwrap(), out_labels);
    let bits = outputs.decoder().decode(&out_labels).unwrap();
    assert_eq!(outputs.verify(&out_labels).unwrap(), bits);
    (bits, stream)
}

fn flat_plain(circuit: &Circuit, inputs: &[bool]) -> Vec<bool> {
    let mut per_input = Vec::new();
    let mut pos = 0;
    for i in circuit.inputs() {
        per_input.push(inputs[pos..pos + i.width as usize].to_vec());
        pos += i.width as usize;
    }
    circuit.eval_bits(&per_input).unwrap().concat()
}

fn bristol_kat(file: &str, in0: &str, in1: &str, out0: &str) {
    let c = bristol::read_file(garblet_testkit::bristol(file)).unwrap();
    let mut inputs = hex_bits(in0);
    inputs.extend(hex_bits(in1));
    let plan = Plan::compile(&c).unwrap();
    let mut streams = Vec::new();
    for parallel in [false, true] {
        let (bits, stream) = run(&plan, &inputs, 42, parallel);
        assert_eq!(bits, hex_bits(out0), "{file} parallel={parallel}");
        assert!(stream.len() as u64 <= 64 + 25 * c.and_count(), "{file}: {} bytes", stream.len());
        streams.push(stream);
    }
    assert_eq!(streams[0], streams[1], "{file}: threads change no byte");
}

#[test]
fn aes128_fips197_known_answer() {
    // FIPS-197 appendix C.1, and the all-zero key and block.
    bristol_kat(
        "aes_128.txt",
        "000102030405060708090a0b0c0d0e0f",
        "00112233445566778899aabbccddeeff",
        "69c4e0d86a7b0430d8cdb78070b4c55a",
    );
    bristol_kat(
        "aes_128.txt",
        "00000000000000000000000000000000",
        "00000000000000000000000000000000",
        "66e94bd4ef8a2c3b884cfa59ca342b2e",
    );
}

#[test]
fn aes128_matches_the_aes_crate_on_random_blocks() {
    let c = bristol::read_file(garblet_testkit::bristol("aes_128.txt")).unwrap();
    let plan = Plan::compile(&c).unwrap();
    let mut prg = Prg::from_seed(Block::new(5));
    for _ in 0..3 {
        let (key, pt) = (prg.random_block().to_bytes(), prg.random_block().to_bytes());
        let mut ct = Array::from(pt);
        Aes128::new(&Array::from(key)).encrypt_block(&mut ct);
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut inputs = hex_bits(&hex(&key));
        inputs.extend(hex_bits(&hex(&pt)));
        let (bits, _) = run(&plan, &inputs, 6, false);
        assert_eq!(bits, hex_bits(&hex(&ct)));
    }
}

#[test]
fn sha256_known_answers() {
    let iv = "6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19";
    let empty = format!("80{}", "0".repeat(126));
    bristol_kat("sha256.txt", &empty, iv, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    let abc = format!("61626380{}{}", "0".repeat(104), "0000000000000018");
    bristol_kat("sha256.txt", &abc, iv, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/// Batches longer than the parallel threshold: the garbler and evaluator
/// split them over threads, cut at other places than the one-thread path,
/// and the stream (its checksum too) is the same.
#[test]
fn wide_batches_split_over_threads_give_the_same_stream() {
    let c = garblet_engine::internal::workloads::wide_layer(5000).unwrap();
    let plan = Plan::compile(&c).unwrap();
    let mut prg = Prg::from_seed(Block::new(8));
    let inputs: Vec<bool> = (0..c.input_bits()).map(|_| prg.random_bool()).collect();
    let expected = flat_plain(&c, &inputs);
    let (bits1, s1) = run(&plan, &inputs, 9, false);
    let (bits2, s2) = run(&plan, &inputs, 9, true);
    assert_eq!(bits1, expected);
    assert_eq!(bits2, expected);
    assert_eq!(s1, s2);
}

#[test]
fn corrupted_material_is_caught() {
    let c = bristol::read_file(garblet_testkit::bristol("aes_128.txt")).unwrap();
    let plan = Plan::compile(&c).unwrap();
    let mut inputs = hex_bits("000102030405060708090a0b0c0d0e0f");
    inputs.extend(hex_bits("00112233445566778899aabbccddeeff"));
    let mut prg = Prg::from_seed(Block::new(1));
    let encoder = Encoder::random(inputs.len(), &mut prg);
    let labels = encoder.encode_bits(0, &inputs);
    let mut stream = Vec::new();
    Garbler::with_scheme(ThreeHalves::new()).garble(&plan, &encoder, &mut stream).unwrap();
    let evaluator = Evaluator::with_scheme(ThreeHalves::new());
    // Any single flipped bit of the tables (ciphertexts and control bits
    // alike): the checksum no longer matches.
    for pos in [32usize, 33, 32 + 24 * 8, 32 + 24 * 8 + 4, stream.len() - 33] {
        let mut bad = stream.clone();
        bad[pos] ^= 0x04;
        let err = evaluator.evaluate_slice(&plan, &labels, &bad).unwrap_err();
        assert!(matches!(err, GarbledEvalError::Corrupt), "byte {pos}: {err}");
    }
    // Short streams are errors, not panics.
    for cut in [0usize, 31, 40, stream.len() / 2, stream.len() - 1] {
        assert!(evaluator.evaluate(&plan, &labels, &stream[..cut]).is_err(), "cut at {cut}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_circuits_match_plaintext(
        g_bits in 1u32..6,
        e_bits in 1u32..6,
        extra in 1u32..12,
        ops in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), any::<u32>()), 0..120),
        outs in prop::collection::vec(any::<u32>(), 1..10),
        input_seed in any::<u64>(),
        window in 1usize..40,
    ) {
        let c = reusing_circuit_from(g_bits, e_bits, extra, &ops, &outs);
        let inputs = garblet_testkit::bits(input_seed.into(), g_bits + e_bits);
        let expected = flat_plain(&c, &inputs);
        let full = Plan::compile(&c).unwrap();
        prop_assert_eq!(&run(&full, &inputs, 1, false).0, &expected);
        let small = Plan::compile_with_window(&c, window).unwrap();
        prop_assert_eq!(&run(&small, &inputs, 2, false).0, &expected);
        let streaming = Plan::streaming_with_window(&c, window).unwrap();
        prop_assert_eq!(&run(&streaming, &inputs, 3, false).0, &expected);
    }
}
