//! Garbling end to end: random circuits against plaintext evaluation, the
//! Bristol AES-128 and SHA-256 known answers, plans, parallelism, and hostile
//! streams.

use garblet_engine::circuits::{
    bristol, Circuit, Gate, GateFile, InputSpec, Output, Party, Visibility, WireId,
};
use garblet_engine::garble::{
    eval_plain, evaluate_many, garble_many, ActiveLabel, Encoder, Evaluator, GarbleError, GarbledEvalError,
    Garbler, HalfGates, OutputDecodeError, OutputDecoder, Plan, Repeated, AND_INDEX_LIMIT,
};
use garblet_engine::Block;
use garblet_engine::Prg;
use garblet_testkit::hex_bits;
use garblet_testkit::random::reusing_circuit_from;
use proptest::prelude::*;

/// Garbles `plan` with a seeded encoder, evaluates it, decodes; returns the
/// output bits and the garbled bytes.
fn run(plan: &Plan<'_>, inputs: &[bool], seed: u128, parallel: bool) -> (Vec<bool>, Vec<u8>) {
    run_with(plan, inputs, seed, parallel, HalfGates::new(), HalfGates::new())
}

/// [`run`] with given garbler and evaluator schemes (fused or portable).
fn run_with(
    plan: &Plan<'_>,
    inputs: &[bool],
    seed: u128,
    parallel: bool,
    garbler: HalfGates,
    evaluator: HalfGates,
) -> (Vec<bool>, Vec<u8>) {
    let mut prg = Prg::from_seed(Block::new(seed));
    let encoder = Encoder::random(inputs.len(), &mut prg);
    let labels = encoder.encode_bits(0, inputs);
    let mut stream = Vec::new();
    let outputs =
        Garbler::with_scheme(garbler).parallel(parallel).garble(plan, &encoder, &mut stream).unwrap();
    let evaluator = Evaluator::with_scheme(evaluator).parallel(parallel);
    let out_labels = evaluator.evaluate(plan, &labels, &stream[..]).unwrap();
    // Tables read in place give the same labels as tables read from a reader.
    assert_eq!(evaluator.evaluate_slice(plan, &labels, &stream).unwrap(), out_labels);
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

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
        prop_assert_eq!(&eval_plain(&c, &inputs).unwrap(), &expected);
        let full = Plan::compile(&c).unwrap();
        let (bits, stream) = run(&full, &inputs, 1, false);
        prop_assert_eq!(&bits, &expected);
        // Small windows: schedule boundaries everywhere.
        let small = Plan::compile_with_window(&c, window).unwrap();
        prop_assert_eq!(&run(&small, &inputs, 2, false).0, &expected);
        let streaming = Plan::streaming_with_window(&c, window).unwrap();
        prop_assert_eq!(&run(&streaming, &inputs, 3, false).0, &expected);
        let pipelined = Plan::pipelined_with_window(&c, window).unwrap();
        prop_assert_eq!(pipelined.and_count(), Some(c.and_count()));
        prop_assert_eq!(&run(&pipelined, &inputs, 3, false).0, &expected);
        // Repeated twice (a replayed plan: its windows' labels are
        // compacted, `schedule/compact.rs`), against the plaintext run twice.
        let twice = Repeated::new(&c, 2);
        let expected_twice = eval_plain(&twice, &inputs).unwrap();
        let replayed = Plan::repeated_with_window(&twice, window.max(2)).unwrap();
        prop_assert_eq!(&run(&replayed, &inputs, 3, false).0, &expected_twice);
        let replayed = Plan::repeated(&twice).unwrap();
        prop_assert_eq!(&run(&replayed, &inputs, 1, false).0, &expected_twice);
        // Size on the wire: header, 32 bytes per AND, trailer.
        prop_assert_eq!(stream.len() as u64, 32 + 32 * c.and_count() + 32);
        // The portable code (the `aes` crate, one layer at a time) and the
        // fused VAES kernels (where the CPU has them) give the same bytes,
        // and each evaluates the other's garbling.
        let (bits_p, stream_p) = run_with(&full, &inputs, 1, false, HalfGates::portable(), HalfGates::new());
        prop_assert_eq!(&bits_p, &expected);
        prop_assert_eq!(&stream_p, &stream);
        let (bits_q, _) = run_with(&small, &inputs, 2, false, HalfGates::new(), HalfGates::portable());
        prop_assert_eq!(bits_q, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Circuits with far more wires than live values: pipelined plans
    /// rename them (the window compiler's hazard-free path), and give the
    /// plaintext's outputs and the compiled plan's tables.
    #[test]
    fn renamed_pipelined_plans_match_plaintext_and_compiled_tables(
        ops in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), any::<u32>()), 1..300),
        outs in prop::collection::vec(any::<u32>(), 1..10),
        input_seed in any::<u64>(),
        window in 1usize..12,
        parallel in any::<bool>(),
    ) {
        let c = reusing_circuit_from(3, 3, 4000, &ops, &outs);
        let inputs = garblet_testkit::bits(input_seed.into(), 6);
        let expected = flat_plain(&c, &inputs);
        let pipelined = Plan::pipelined_with_window(&c, window).unwrap();
        prop_assert!(pipelined.num_wires() < c.num_wires());
        let (bits, stream) = run(&pipelined, &inputs, 5, parallel);
        prop_assert_eq!(&bits, &expected);
        let compiled = Plan::compile_with_window(&c, window).unwrap();
        let compiled_stream = run(&compiled, &inputs, 5, parallel).1;
        prop_assert_eq!(&stream, &compiled_stream);
        // Renamed in place before the run (through the map: these
        // circuits reuse wires).
        let renamed = Plan::renamed_with_window(c.clone(), window).unwrap();
        let (bits, stream) = run(&renamed, &inputs, 5, parallel);
        prop_assert_eq!(&bits, &expected);
        prop_assert_eq!(&stream, &compiled_stream);
        // Renamed from a source read window by window, never held.
        let from_source = Plan::renamed_from_source_with_window(&c, window).unwrap();
        let (bits, stream) = run(&from_source, &inputs, 5, parallel);
        prop_assert_eq!(&bits, &expected);
        prop_assert_eq!(&stream, &compiled_stream);
    }
}

/// Found by the proptest above: with windows of four gates, an INV folded
/// into the XOR that reads it made that XOR a wider op, and the wider ops
/// of a chain-depth group used to be moved after the group's two-input
/// ops — one of which overwrote (in place) the wire the XOR still had to
/// read.
#[test]
fn folding_keeps_reads_before_in_place_writes() {
    let x = |a: u32, b: u32, o: u32| Gate::xor(WireId::new(a), WireId::new(b), WireId::new(o));
    let inv = |a: u32, o: u32| Gate::inv(WireId::new(a), WireId::new(o));
    let and = |a: u32, b: u32, o: u32| Gate::and(WireId::new(a), WireId::new(b), WireId::new(o));
    let gates = vec![
        and(2, 3, 6),
        x(6, 3, 6),
        x(0, 1, 3),
        x(6, 2, 6),
        inv(6, 11),   // folded into the next gate
        x(11, 4, 12), // reads the old wire 4
        inv(5, 5),
        x(2, 5, 4), // overwrites wire 4 in place, same chain depth
        inv(12, 8),
        and(9, 4, 11),
        x(8, 11, 10),
    ];
    let c = Circuit::new(
        14,
        vec![InputSpec::new("g", Party::Garbler, 4), InputSpec::new("e", Party::Evaluator, 4)],
        vec![Output {
            name: "o".into(),
            visibility: Visibility::Both,
            wires: [4, 5, 8, 10, 12].into_iter().map(WireId::new).collect(),
        }],
        gates,
    )
    .unwrap();
    for seed in 0..256u32 {
        let inputs = garblet_testkit::bits(seed.into(), 8);
        let expected = flat_plain(&c, &inputs);
        for window in [3usize, 4, 5, 64] {
            let plan = Plan::compile_with_window(&c, window).unwrap();
            assert_eq!(run(&plan, &inputs, 7, false).0, expected, "inputs {seed:#x} window {window}");
        }
    }
}

/// More labels than the fixed-size label file holds: free gates take the
/// bounds-checked path.
#[test]
fn circuits_beyond_the_label_file_match_plaintext() {
    let ops: Vec<(u8, u32, u32, u32)> = (0..3000u32)
        .map(|i| {
            ((i % 3) as u8, i.wrapping_mul(2654435761), (i + 7).wrapping_mul(40503), i.wrapping_mul(97_003))
        })
        .collect();
    let c = reusing_circuit_from(4, 4, 1_100_000, &ops, &[3, 5, 7, 9, 11, 13, 1_000_003]);
    assert!(c.num_wires() > 1 << 20);
    for input_seed in 0..4u64 {
        let inputs = garblet_testkit::bits((input_seed * 37).into(), 8);
        let expected = flat_plain(&c, &inputs);
        assert_eq!(run(&Plan::compile(&c).unwrap(), &inputs, 3, false).0, expected);
        assert_eq!(run(&Plan::streaming_with_window(&c, 500).unwrap(), &inputs, 4, false).0, expected);
        // Renamed: a label file of the live values and a pool, not 1.1 M.
        let pipelined = Plan::pipelined_with_window(&c, 500).unwrap();
        assert!(pipelined.num_wires() < 4000, "{} wires", pipelined.num_wires());
        assert_eq!(run(&pipelined, &inputs, 4, false).0, expected);
    }
}

#[test]
fn repeated_plans_match_plaintext() {
    let ops: Vec<(u8, u32, u32, u32)> = (0..300u32)
        .map(|i| ((i * 7 % 3) as u8, i.wrapping_mul(2654435761), i.wrapping_mul(40503), i * 13))
        .collect();
    let c = reusing_circuit_from(4, 4, 6, &ops, &[3, 5, 7, 9, 11, 13]);
    for times in [1u64, 2, 5, 17] {
        let r = Repeated::new(&c, times);
        for input_seed in 0..8u64 {
            let inputs = garblet_testkit::bits((input_seed * 37).into(), 8);
            let expected = eval_plain(&r, &inputs).unwrap();
            for window in [16usize, 301, 1000, 1 << 16] {
                let plan = Plan::repeated_with_window(&r, window).unwrap();
                assert_eq!(plan.and_count(), Some(r.and_count()));
                assert_eq!(run(&plan, &inputs, 9, false).0, expected, "times {times} window {window}");
                let streaming = Plan::streaming_with_window(&r, window).unwrap();
                assert_eq!(run(&streaming, &inputs, 9, false).0, expected);
            }
        }
    }
}

/// A wide layered circuit (many independent ANDs per level), big enough for
/// the parallel path.
fn wide_circuit(width: u32, layers: u32) -> Circuit {
    let n_in = 2 * width;
    let num_wires = 2 + n_in;
    let mut gates = Vec::new();
    for l in 0..layers {
        for i in 0..width {
            let a = WireId::new(2 + i);
            let b = WireId::new(2 + width + (i + l + 1) % width);
            gates.push(Gate::and(a, b, WireId::new(2 + width + i)));
            gates.push(Gate::xor(
                WireId::new(2 + (i + 1) % width),
                WireId::new(2 + width + i),
                WireId::new(2 + i),
            ));
        }
    }
    Circuit::new(
        num_wires,
        vec![InputSpec::new("a", Party::Garbler, width), InputSpec::new("b", Party::Evaluator, width)],
        vec![Output {
            name: "o".into(),
            visibility: Visibility::Both,
            wires: (2..num_wires).map(WireId::new).collect(),
        }],
        gates,
    )
    .unwrap()
}

#[test]
fn parallel_garbling_is_identical_to_one_thread() {
    let c = wide_circuit(5000, 6);
    let inputs: Vec<bool> = (0..10_000).map(|k| k % 3 == 0 || k % 7 == 1).collect();
    let expected = flat_plain(&c, &inputs);
    let plan = Plan::compile(&c).unwrap();
    let (bits1, stream1) = run(&plan, &inputs, 5, false);
    let (bits2, stream2) = run(&plan, &inputs, 5, true);
    assert_eq!(bits1, expected);
    assert_eq!(bits2, expected);
    assert_eq!(stream1, stream2);
    // Portable and fused code agree on large batches too.
    let (bits3, stream3) = run_with(&plan, &inputs, 5, false, HalfGates::portable(), HalfGates::portable());
    assert_eq!(bits3, expected);
    assert_eq!(stream3, stream1);
}

#[test]
fn many_instances_on_all_cores() {
    let c = wide_circuit(64, 4);
    let plan = Plan::compile(&c).unwrap();
    let mut prg = Prg::from_seed(Block::new(11));
    let encoders: Vec<Encoder> = (0..8).map(|_| Encoder::random(128, &mut prg)).collect();
    let inputs: Vec<Vec<bool>> = (0..8).map(|i| (0..128).map(|k| (k * (i + 3)) % 5 < 2).collect()).collect();
    let labels: Vec<Vec<ActiveLabel>> =
        encoders.iter().zip(&inputs).map(|(e, x)| e.encode_bits(0, x)).collect();
    let mut streams: Vec<Vec<u8>> = vec![Vec::new(); 8];
    let outs = garble_many(&Garbler::new(), &plan, encoders.iter().zip(streams.iter_mut()).collect());
    let results = evaluate_many(
        &Evaluator::new(),
        &plan,
        labels.iter().map(|l| l.as_slice()).zip(streams.iter().map(|s| &s[..])).collect(),
    );
    for ((out, res), x) in outs.into_iter().zip(results).zip(&inputs) {
        let bits = out.unwrap().decoder().decode(&res.unwrap()).unwrap();
        assert_eq!(bits, flat_plain(&c, x));
    }
}

fn bristol_kat(file: &str, in0: &str, in1: &str, out0: &str) {
    let c = bristol::read_file(garblet_testkit::bristol(file)).unwrap();
    let mut inputs = hex_bits(in0);
    inputs.extend(hex_bits(in1));
    let plan = Plan::compile(&c).unwrap();
    for parallel in [false, true] {
        let (bits, stream) = run(&plan, &inputs, 42, parallel);
        assert_eq!(bits, hex_bits(out0), "{file} parallel={parallel}");
        assert_eq!(stream.len() as u64, 64 + 32 * c.and_count());
    }
    let (bits, _) = run_with(&plan, &inputs, 42, false, HalfGates::portable(), HalfGates::portable());
    assert_eq!(bits, hex_bits(out0), "{file} portable");
    // Pipelined with renamed wires, in windows small enough that the
    // renamed space is a fraction of the file's: the same answer, and the
    // same tables as the compiled plan (renaming changes label places
    // only, never the order of the ANDs).
    for window in [256usize, 4096] {
        let pipelined = Plan::pipelined_with_window(&c, window).unwrap();
        assert!(pipelined.num_wires() < c.num_wires(), "{file}: {} wires", pipelined.num_wires());
        let compiled = Plan::compile_with_window(&c, window).unwrap();
        let (bits, stream) = run(&pipelined, &inputs, 42, false);
        assert_eq!(bits, hex_bits(out0), "{file} pipelined, window {window}");
        assert_eq!(stream, run(&compiled, &inputs, 42, false).1, "{file} window {window}");
        // Renamed in place before the run, with no map: a Bristol file's
        // gate i writes the i-th wire after the inputs.
        let renamed = Plan::renamed_with_window(c.clone(), window).unwrap();
        assert_eq!(renamed.num_wires(), pipelined.num_wires());
        let ran = run(&renamed, &inputs, 42, false);
        assert_eq!(ran, (bits, stream), "{file} renamed, window {window}");
        // Planned straight from a binary file of the circuit (its gates
        // never held): the same tables, and the file read while planning
        // gives the circuit's digest.
        let path = garblet_testkit::TempPath::new("kat.gbc");
        garblet_engine::circuits::canonical::write_file(&c, &path.0).unwrap();
        let gates = GateFile::open(&path.0).unwrap();
        let from_file = Plan::renamed_from_source_with_window(&gates, window).unwrap();
        assert_eq!(gates.finish().unwrap(), c.digest(), "{file}: the digest of what was planned");
        assert_eq!(run(&from_file, &inputs, 42, false), ran, "{file} from its file, window {window}");
    }
}

#[test]
fn aes128_bristol_known_answer() {
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
fn sha256_bristol_known_answer() {
    let iv = "6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19";
    let empty = format!("80{}", "0".repeat(126));
    bristol_kat("sha256.txt", &empty, iv, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    let abc = format!("61626380{}{}", "0".repeat(104), "0000000000000018");
    bristol_kat("sha256.txt", &abc, iv, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

#[test]
fn aes128_repeated_gives_the_same_answer() {
    let c = bristol::read_file(garblet_testkit::bristol("aes_128.txt")).unwrap();
    let r = Repeated::new(&c, 20);
    let plan = Plan::repeated(&r).unwrap();
    let mut inputs = hex_bits("000102030405060708090a0b0c0d0e0f");
    inputs.extend(hex_bits("00112233445566778899aabbccddeeff"));
    let (bits, stream) = run(&plan, &inputs, 3, false);
    assert_eq!(bits, hex_bits("69c4e0d86a7b0430d8cdb78070b4c55a"));
    assert_eq!(stream.len() as u64, 64 + 32 * 20 * c.and_count());
}

/// A small circuit and a valid stream for the hostile-stream tests.
fn small_setup() -> (Circuit, Vec<ActiveLabel>, Vec<u8>, Vec<bool>) {
    let c = wide_circuit(8, 3);
    let inputs: Vec<bool> = (0..16).map(|k| k % 3 == 1).collect();
    let mut prg = Prg::from_seed(Block::new(8));
    let encoder = Encoder::random(16, &mut prg);
    let labels = encoder.encode_bits(0, &inputs);
    let plan = Plan::compile_with_window(&c, 10).unwrap();
    let mut stream = Vec::new();
    Garbler::new().garble(&plan, &encoder, &mut stream).unwrap();
    let expected = flat_plain(&c, &inputs);
    (c, labels, stream, expected)
}

#[test]
fn truncated_streams_are_errors() {
    let (c, labels, stream, _) = small_setup();
    let plan = Plan::compile_with_window(&c, 10).unwrap();
    for len in 0..stream.len() {
        let err = Evaluator::new().evaluate(&plan, &labels, &stream[..len]).unwrap_err();
        assert!(matches!(err, GarbledEvalError::Truncated { .. }), "len {len}: {err:?}");
        // In place: the same error at the same offset.
        let err2 = Evaluator::new().evaluate_slice(&plan, &labels, &stream[..len]).unwrap_err();
        assert_eq!(format!("{err2}"), format!("{err}"), "len {len}");
    }
}

#[test]
fn corrupted_streams_are_errors() {
    let (c, labels, stream, _) = small_setup();
    let plan = Plan::compile_with_window(&c, 10).unwrap();
    for pos in 0..stream.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = stream.clone();
            bad[pos] ^= flip;
            let err = Evaluator::new().evaluate(&plan, &labels, &bad[..]).unwrap_err();
            assert!(
                matches!(err, GarbledEvalError::Corrupt | GarbledEvalError::BadTrailer { .. }),
                "pos {pos}: {err:?}"
            );
            let err = Evaluator::new().evaluate_slice(&plan, &labels, &bad).unwrap_err();
            assert!(
                matches!(err, GarbledEvalError::Corrupt | GarbledEvalError::BadTrailer { .. }),
                "pos {pos}: {err:?}"
            );
        }
    }
    // A stream for another circuit (fewer ANDs) is misframed.
    let other = wide_circuit(8, 2);
    let other_plan = Plan::compile(&other).unwrap();
    let err = Evaluator::new().evaluate(&other_plan, &labels, &stream[..]).unwrap_err();
    assert!(matches!(err, GarbledEvalError::BadTrailer { .. }), "{err:?}");
    // Random garbage of the right length.
    let mut prg = Prg::from_seed(Block::new(99));
    let mut junk = vec![0u8; stream.len()];
    prg.fill_bytes(&mut junk);
    assert!(Evaluator::new().evaluate(&plan, &labels, &junk[..]).is_err());
}

#[test]
fn long_streams_leave_the_rest_unread() {
    let (c, labels, mut stream, expected) = small_setup();
    let plan = Plan::compile_with_window(&c, 10).unwrap();
    let len = stream.len();
    stream.extend_from_slice(b"next protocol message");
    let mut reader = &stream[..];
    let out = Evaluator::new().evaluate(&plan, &labels, &mut reader).unwrap();
    assert_eq!(reader.len(), stream.len() - len);
    // In place: the bytes after the trailer are ignored, the result is the same.
    let out2 = Evaluator::new().evaluate_slice(&plan, &labels, &stream).unwrap();
    assert_eq!(out2, out);
    let _ = expected;
}

#[test]
fn wrong_input_counts_and_labels_are_errors() {
    let (c, labels, stream, _) = small_setup();
    let plan = Plan::compile_with_window(&c, 10).unwrap();
    assert!(matches!(
        Evaluator::new().evaluate(&plan, &labels[1..], &stream[..]),
        Err(GarbledEvalError::InputCount { expected: 16, got: 15 })
    ));
    let mut prg = Prg::from_seed(Block::new(1));
    let enc = Encoder::random(3, &mut prg);
    assert!(matches!(
        Garbler::new().garble(&plan, &enc, std::io::sink()),
        Err(GarbleError::InputCount { .. })
    ));

    // Output verification rejects a label that is neither label of its wire.
    let enc = Encoder::random(16, &mut prg);
    let inputs = enc.encode_bits(0, &[true; 16]);
    let mut s = Vec::new();
    let outs = Garbler::new().garble(&plan, &enc, &mut s).unwrap();
    let mut out_labels = Evaluator::new().evaluate(&plan, &inputs, &s[..]).unwrap();
    assert!(outs.verify(&out_labels).is_ok());
    out_labels[3] = ActiveLabel::from_block(out_labels[3].as_block() ^ Block::new(2));
    assert_eq!(outs.verify(&out_labels), Err(OutputDecodeError::InvalidLabel { index: 3 }));
    assert!(matches!(outs.decoder().decode(&out_labels[1..]), Err(OutputDecodeError::Count { .. })));

    // Decoder serialisation is exact.
    let dec = outs.decoder();
    let bytes = dec.to_bytes();
    assert_eq!(OutputDecoder::from_bytes(&bytes, dec.len()).unwrap(), dec);
    assert_eq!(OutputDecoder::from_bytes(&bytes[1..], dec.len()), Err(OutputDecodeError::Malformed));
    if !dec.len().is_multiple_of(8) {
        let mut stray = bytes;
        *stray.last_mut().unwrap() |= 0x80;
        assert_eq!(OutputDecoder::from_bytes(&stray, dec.len()), Err(OutputDecodeError::Malformed));
    }
}

#[test]
fn evaluator_sees_only_one_label_per_wire() {
    // The evaluator's whole input is active labels; with the labels of one
    // input assignment it cannot produce the other label of an output wire
    // (that would reveal Δ): its outputs are exactly the garbler's labels of
    // the true values.
    let (c, _, _, _) = small_setup();
    let plan = Plan::compile(&c).unwrap();
    let mut prg = Prg::from_seed(Block::new(4));
    let enc = Encoder::random(16, &mut prg);
    let x: Vec<bool> = (0..16).map(|k| k % 2 == 0).collect();
    let mut s = Vec::new();
    let outs = Garbler::new().garble(&plan, &enc, &mut s).unwrap();
    let labels = Evaluator::new().evaluate(&plan, &enc.encode_bits(0, &x), &s[..]).unwrap();
    let bits = outs.verify(&labels).unwrap();
    assert_eq!(bits, flat_plain(&c, &x));
    // lsb decoding agrees with the garbler's check.
    assert_eq!(outs.decoder().decode(&labels).unwrap(), bits);
}

#[test]
fn encoder_from_correlated_ot_labels() {
    // The evaluator's input labels come from a correlated OT with
    // correlation Δ: it holds zero ⊕ b·Δ for its bits b.
    let c = bristol::read_file(garblet_testkit::bristol("aes_128.txt")).unwrap();
    let mut prg = Prg::from_seed(Block::new(21));
    let delta = garblet_engine::Delta::random(&mut prg);
    let d = delta.as_block();
    let ot_zero: Vec<Block> = (0..128).map(|_| prg.random_block()).collect();
    let key = hex_bits("000102030405060708090a0b0c0d0e0f");
    let plaintext = hex_bits("00112233445566778899aabbccddeeff");
    let ot_received: Vec<ActiveLabel> =
        ot_zero.iter().zip(&plaintext).map(|(&z, &b)| ActiveLabel::from_block(z ^ d.select(b))).collect();
    let enc = Encoder::with_ot_labels(&c, delta, &ot_zero, &mut prg).unwrap();
    assert!(Encoder::with_ot_labels(&c, enc.delta().clone(), &ot_zero[1..], &mut prg).is_err());
    let mut labels = enc.encode_input(&c.inputs()[0], &key).unwrap();
    assert!(enc.encode_input(&c.inputs()[0], &key[1..]).is_err());
    labels.extend(ot_received);
    let plan = Plan::compile(&c).unwrap();
    let mut stream = Vec::new();
    let outs = Garbler::new().garble(&plan, &enc, &mut stream).unwrap();
    let out = Evaluator::new().evaluate(&plan, &labels, &stream[..]).unwrap();
    assert_eq!(outs.decoder().decode(&out).unwrap(), hex_bits("69c4e0d86a7b0430d8cdb78070b4c55a"));
}

/// A source whose gate 25 names a wire out of range.
struct Broken;

impl garblet_engine::garble::GateSource for Broken {
    fn num_wires(&self) -> u32 {
        8
    }
    fn input_bits(&self) -> u64 {
        4
    }
    fn output_wires(&self) -> Vec<WireId> {
        vec![WireId::new(7)]
    }
    fn num_gates(&self) -> u64 {
        40
    }
    fn read_gates(&self, start: u64, out: &mut [Gate]) -> usize {
        let n = (40u64.saturating_sub(start) as usize).min(out.len());
        for (k, g) in out[..n].iter_mut().enumerate() {
            let i = start + k as u64;
            let b = if i == 25 { 99 } else { 3 };
            *g = Gate::and(WireId::new(2), WireId::new(b), WireId::new(6 + (i % 2) as u32));
        }
        n
    }
}

#[test]
fn malformed_streaming_sources_and_streams_stop_cleanly() {
    let mut prg = Prg::from_seed(Block::new(2));
    let enc = Encoder::random(4, &mut prg);
    let plan = Plan::streaming_with_window(&Broken, 10).unwrap();
    let err = Garbler::new().garble(&plan, &enc, std::io::sink()).unwrap_err();
    assert!(matches!(
        err,
        GarbleError::Plan(garblet_engine::garble::PlanError::WireOutOfRange { gate: 25, .. })
    ));
    let labels = enc.encode_bits(0, &[true; 4]);
    let err = Evaluator::new().evaluate(&plan, &labels, &[0u8; 4096][..]).unwrap_err();
    assert!(matches!(err, GarbledEvalError::Plan(_)), "{err:?}");
    assert!(Plan::compile(&Broken).is_err());

    // A truncated stream under a streaming plan: an error, and the
    // scheduling thread stops.
    let (c, labels, stream, _) = small_setup();
    let plan = Plan::streaming_with_window(&c, 10).unwrap();
    for len in [0, 40, stream.len() / 2, stream.len() - 1] {
        let err = Evaluator::new().evaluate(&plan, &labels, &stream[..len]).unwrap_err();
        assert!(matches!(err, GarbledEvalError::Truncated { .. }), "{err:?}");
    }
    assert!(Evaluator::new().evaluate(&plan, &labels, &stream[..]).is_ok());
}

/// The fused (where the CPU has them) and the portable code.
fn both_schemes() -> [(&'static str, HalfGates); 2] {
    [("fused", HalfGates::new()), ("portable", HalfGates::portable())]
}

#[test]
fn first_and_indices_past_the_limit_are_refused_before_any_work() {
    let (c, labels, stream, _) = small_setup();
    let mut prg = Prg::from_seed(Block::new(8));
    let encoder = Encoder::random(16, &mut prg);
    for plan in [Plan::compile_with_window(&c, 10).unwrap(), Plan::streaming_with_window(&c, 10).unwrap()] {
        // Compiled: the AND count; streaming: the gate count (an upper bound).
        let ands = plan.and_count().unwrap_or(c.gates().len() as u64);
        for (name, scheme) in both_schemes() {
            for first in [u64::MAX - 5, u64::MAX, 1 << 63, AND_INDEX_LIMIT, AND_INDEX_LIMIT - ands + 1] {
                let mut sink = Vec::new();
                let err = Garbler::with_scheme(scheme.clone())
                    .first_and_index(first)
                    .garble(&plan, &encoder, &mut sink)
                    .unwrap_err();
                assert!(
                    matches!(err, GarbleError::TweakRange { first_and, ands: a } if first_and == first && a == ands),
                    "{name}, first {first}: {err:?}"
                );
                assert!(sink.is_empty(), "{name}, first {first}: nothing is written");
                let evaluator = Evaluator::with_scheme(scheme.clone()).first_and_index(first);
                let mut reader = &stream[..];
                let err = evaluator.evaluate(&plan, &labels, &mut reader).unwrap_err();
                assert!(
                    matches!(err, GarbledEvalError::TweakRange { first_and, ands: a } if first_and == first && a == ands),
                    "{name}, first {first}: {err:?}"
                );
                assert_eq!(reader.len(), stream.len(), "{name}, first {first}: nothing is read");
                let err = evaluator.evaluate_slice(&plan, &labels, &stream).unwrap_err();
                assert!(matches!(err, GarbledEvalError::TweakRange { .. }), "{name}, first {first}: {err:?}");
            }
        }
    }
}

#[test]
fn the_largest_first_and_index_round_trips() {
    // Several windows, and a wide circuit whose batches are split over
    // threads in parallel mode.
    let cases = [(wide_circuit(8, 3), 10, 7u128), (wide_circuit(2500, 2), 1 << 16, 9)];
    for (c, window, seed) in cases {
        let n_in = c.input_bits() as usize;
        let inputs: Vec<bool> = (0..n_in).map(|k| k % 3 == 1 || k % 7 == 0).collect();
        let expected = flat_plain(&c, &inputs);
        let compiled = Plan::compile_with_window(&c, window).unwrap();
        let streaming = Plan::streaming_with_window(&c, window).unwrap();
        let gates = c.gates().len() as u64;
        for (plan, ands) in [(&compiled, compiled.and_count().unwrap()), (&streaming, gates)] {
            let first = AND_INDEX_LIMIT - ands;
            let mut streams = Vec::new();
            for (gname, g) in both_schemes() {
                for (ename, e) in both_schemes() {
                    for parallel in [false, true] {
                        let mut prg = Prg::from_seed(Block::new(seed));
                        let encoder = Encoder::random(n_in, &mut prg);
                        let labels = encoder.encode_bits(0, &inputs);
                        let mut stream = Vec::new();
                        let outputs = Garbler::with_scheme(g.clone())
                            .parallel(parallel)
                            .first_and_index(first)
                            .garble(plan, &encoder, &mut stream)
                            .unwrap();
                        let evaluator =
                            Evaluator::with_scheme(e.clone()).parallel(parallel).first_and_index(first);
                        let out = evaluator.evaluate(plan, &labels, &stream[..]).unwrap();
                        assert_eq!(evaluator.evaluate_slice(plan, &labels, &stream).unwrap(), out);
                        let bits = outputs.decoder().decode(&out).unwrap();
                        assert_eq!(bits, expected, "{gname} -> {ename}, parallel {parallel}");
                        assert_eq!(outputs.verify(&out).unwrap(), bits);
                        // Another first index is another stream (the trailer
                        // carries the end index): refused.
                        let other = Evaluator::with_scheme(e.clone()).first_and_index(first - 1);
                        assert!(other.evaluate(plan, &labels, &stream[..]).is_err());
                        streams.push(stream);
                    }
                }
            }
            // Same bytes from every scheme and thread count; other tables
            // than from index 0 (no tweak wrapped onto low indices).
            assert!(streams.windows(2).all(|w| w[0] == w[1]));
            let mut prg = Prg::from_seed(Block::new(seed));
            let encoder = Encoder::random(n_in, &mut prg);
            let mut low = Vec::new();
            Garbler::new().garble(plan, &encoder, &mut low).unwrap();
            assert_eq!(low.len(), streams[0].len());
            let tables = 32..low.len() - 32;
            assert_ne!(low[tables.clone()], streams[0][tables]);
        }
    }
}

/// A sink that accepts `left` bytes, then fails (or, with `zero`, stops
/// accepting: `Ok(0)`, which `write_all` reports as `WriteZero`).
struct FailingSink {
    left: usize,
    zero: bool,
    written: usize,
}

impl std::io::Write for FailingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return if self.zero { Ok(0) } else { Err(std::io::Error::other("sink failed")) };
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        self.written += n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn sink_errors_mid_garbling_are_returned_cleanly() {
    let c = wide_circuit(5000, 3);
    let n_in = c.input_bits() as usize;
    let inputs: Vec<bool> = (0..n_in).map(|k| k % 5 < 2).collect();
    // Three windows, so several writes of tables before the trailer; the
    // first window's batch of 5,000 ANDs is split over threads in parallel.
    let plan = Plan::compile_with_window(&c, 12_000).unwrap();
    let mut prg = Prg::from_seed(Block::new(21));
    let encoder = Encoder::random(n_in, &mut prg);
    let labels = encoder.encode_bits(0, &inputs);
    let mut full = Vec::new();
    Garbler::new().garble(&plan, &encoder, &mut full).unwrap();
    for parallel in [false, true] {
        // One garbler throughout: its cached buffers survive the failures.
        let garbler = Garbler::new().parallel(parallel);
        for cut in [0, 1, 31, 32, 33, 1000, full.len() / 2, full.len() - 33, full.len() - 1] {
            for zero in [false, true] {
                let mut sink = FailingSink { left: cut, zero, written: 0 };
                let err = garbler.garble(&plan, &encoder, &mut sink).unwrap_err();
                match err {
                    GarbleError::Io(e) => {
                        let kind =
                            if zero { std::io::ErrorKind::WriteZero } else { std::io::ErrorKind::Other };
                        assert_eq!(e.kind(), kind, "cut {cut}");
                    }
                    other => panic!("cut {cut}: {other:?}"),
                }
                assert_eq!(sink.written, cut);
            }
            // The next run on the same garbler is whole and correct.
            let mut stream = Vec::new();
            let outputs = garbler.garble(&plan, &encoder, &mut stream).unwrap();
            assert_eq!(stream, full, "parallel {parallel}, after cut {cut}");
            let out = Evaluator::new().evaluate(&plan, &labels, &stream[..]).unwrap();
            assert_eq!(outputs.decoder().decode(&out).unwrap(), flat_plain(&c, &inputs));
        }
    }
}

/// A looped circuit by hand: `s ← k`, then per record `r`: `s ← s ⊕ (r ∧ k)`
/// (8 bits; the body rewrites its state in place), `records` records of
/// the evaluator's input through the sliding window.
fn xor_of_masked_records(records: u32) -> garblet_engine::circuits::LoopedCircuit {
    let (k, x) = (2u32, 10u32);
    let s = x + 8 * records;
    let t = s + 8;
    let w = WireId::new;
    let prologue = (0..8).map(|j| Gate::xor(w(k + j), WireId::ZERO, w(s + j))).collect();
    let body = (0..8)
        .flat_map(|j| [Gate::and(w(x + j), w(k + j), w(t + j)), Gate::xor(w(s + j), w(t + j), w(s + j))])
        .collect();
    garblet_engine::circuits::LoopedCircuit::new(
        t + 8,
        vec![InputSpec::new("k", Party::Garbler, 8), InputSpec::new("x", Party::Evaluator, 8 * records)],
        vec![Output { name: "s".into(), visibility: Visibility::Both, wires: (s..s + 8).map(w).collect() }],
        prologue,
        body,
        Vec::new(),
        (x, 8),
        u64::from(records),
    )
    .unwrap()
}

/// Rust's reference for the looped circuits here: a byte, bit `j` = wire `j`.
fn byte(bits: &[bool]) -> u8 {
    bits.iter().enumerate().fold(0u8, |v, (j, &b)| v | (u8::from(b) << j))
}

/// The wires of `bytes`, bit `j` of each byte first.
fn bits_of(bytes: &[u8]) -> Vec<bool> {
    bytes.iter().flat_map(|b| (0..8).map(move |j| b >> j & 1 == 1)).collect()
}

/// A looped circuit evaluated in plaintext and garbled under windows of 3,
/// 16 and 65,536 gates gives `want`.
fn check_looped(
    l: &garblet_engine::circuits::LoopedCircuit,
    inputs: &[bool],
    want: &[bool],
    seed: u64,
    records: u32,
) {
    assert_eq!(eval_plain(l, inputs).unwrap(), want);
    for window in [3usize, 16, 1 << 16] {
        let plan = Plan::looped_with_window(l, window).unwrap();
        assert_eq!(plan.and_count(), Some(l.and_count()));
        assert_eq!(run(&plan, inputs, u128::from(seed), false).0, want, "{records} records, window {window}");
    }
}

#[test]
fn looped_plans_replay_the_body_and_match_plaintext() {
    for records in [1u32, 5, 37] {
        let l = xor_of_masked_records(records);
        for seed in 0..4u64 {
            let inputs = garblet_testkit::bits((seed * 91 + 7).into(), 8 + 8 * records);
            let key = byte(&inputs[..8]);
            let want = inputs[8..].chunks(8).fold(key, |s, r| s ^ (byte(r) & key));
            check_looped(&l, &inputs, &bits_of(&[want]), seed, records);
        }
    }
}

/// Two loops over the same records, the second reading the first's result:
/// `s ← k; s ← s ⊕ (r ∧ k)` per record `r`, then `u ← 0; u ← u ⊕ (r ∧ s)`
/// (`s` fixed during the second loop), 8 bits each; the plan replays each
/// body after the one before, with windows small enough to split them.
#[test]
fn looped_plans_run_several_loops_in_order() {
    use garblet_engine::circuits::{Loop, LoopedCircuit};
    for records in [2u32, 9] {
        // The first loop is `xor_of_masked_records`'s: the key at 2, the
        // records at 10, `s` after them and its temporaries `t` after `s`.
        let x = 10u32;
        let s = x + 8 * records;
        let (u, v) = (s + 16, s + 24);
        let w = WireId::new;
        let first = xor_of_masked_records(records).loops()[0].clone();
        let second = Loop::new(
            (0..8).map(|j| Gate::xor(WireId::ZERO, WireId::ZERO, w(u + j))).collect(),
            (0..8)
                .flat_map(|j| {
                    [Gate::and(w(x + j), w(s + j), w(v + j)), Gate::xor(w(u + j), w(v + j), w(u + j))]
                })
                .collect(),
            vec![(x, 8)],
            u64::from(records),
        );
        let out = |name: &str, from: u32| Output {
            name: name.into(),
            visibility: Visibility::Both,
            wires: (from..from + 8).map(w).collect(),
        };
        let l = LoopedCircuit::with_loops(
            v + 8,
            vec![InputSpec::new("k", Party::Garbler, 8), InputSpec::new("x", Party::Evaluator, 8 * records)],
            vec![out("s", s), out("u", u)],
            vec![first, second],
            Vec::new(),
        )
        .unwrap();
        for seed in 0..3u64 {
            let inputs = garblet_testkit::bits((seed * 57 + 3).into(), 8 + 8 * records);
            let key = byte(&inputs[..8]);
            let rs: Vec<u8> = inputs[8..].chunks(8).map(byte).collect();
            let s_want = rs.iter().fold(key, |s, r| s ^ (r & key));
            let u_want = rs.iter().fold(0, |u, r| u ^ (r & s_want));
            check_looped(&l, &inputs, &bits_of(&[s_want, u_want]), seed, records);
        }
    }
}

/// [`run_with`] with generator half gates for `known` (label indices of
/// garbler input wires no gate writes), under either scheme.
fn run_known<G: garblet_engine::garble::GarblingScheme + Clone>(
    plan: &Plan<'_>,
    inputs: &[bool],
    known: &[u32],
    scheme: G,
) -> (Vec<bool>, Vec<u8>) {
    use garblet_engine::garble::{KnownValues, KnownWires};
    let mut prg = Prg::from_seed(Block::new(9));
    let values = KnownValues::from_bits(known.iter().map(|&i| (i, inputs[i as usize - 2])));
    let encoder = Encoder::random(inputs.len(), &mut prg).with_known_values(values);
    let labels = encoder.encode_bits(0, inputs);
    let set = KnownWires::from_indices(known.iter().copied());
    let mut stream = Vec::new();
    let outputs = Garbler::with_scheme(scheme.clone())
        .generator_half_gates(set.clone())
        .garble(plan, &encoder, &mut stream)
        .unwrap();
    let evaluator = Evaluator::with_scheme(scheme).generator_half_gates(set);
    let out_labels = evaluator.evaluate(plan, &labels, &stream[..]).unwrap();
    assert_eq!(evaluator.evaluate_slice(plan, &labels, &stream).unwrap(), out_labels);
    let bits = outputs.decoder().decode(&out_labels).unwrap();
    assert_eq!(outputs.verify(&out_labels).unwrap(), bits);
    (bits, stream)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// AND gates with an input the garbler knows (its input wires that no
    /// gate writes) garbled as generator half gates, 16 bytes each, under
    /// both schemes and any window: the plaintext's outputs, and a stream
    /// shorter by what the half gates save. A wrong bit, a wrong tweak or
    /// a misread table changes an output (the run's output labels are
    /// verified against the garbler's).
    #[test]
    fn generator_half_gates_match_plaintext(
        g_bits in 1u32..6,
        e_bits in 1u32..6,
        extra in 1u32..12,
        ops in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), any::<u32>()), 0..120),
        outs in prop::collection::vec(any::<u32>(), 1..10),
        input_seed in any::<u64>(),
        window in 1usize..40,
    ) {
        use garblet_engine::garble::ThreeHalves;
        let c = reusing_circuit_from(g_bits, e_bits, extra, &ops, &outs);
        let inputs = garblet_testkit::bits(input_seed.into(), g_bits + e_bits);
        let expected = flat_plain(&c, &inputs);
        let written: std::collections::HashSet<u32> = c.gates().iter().map(|g| g.out.get()).collect();
        let known: Vec<u32> = (2..2 + g_bits).filter(|w| !written.contains(w)).collect();
        let half = c
            .gates()
            .iter()
            .filter(|g| g.kind == garblet_engine::circuits::GateKind::And)
            .filter(|g| known.contains(&g.a.get()) || known.contains(&g.b.get()))
            .count() as u64;
        for plan in [Plan::compile(&c).unwrap(), Plan::compile_with_window(&c, window).unwrap(), Plan::streaming_with_window(&c, window).unwrap()] {
            let (bits, stream) = run_known(&plan, &inputs, &known, HalfGates::new());
            prop_assert_eq!(&bits, &expected);
            prop_assert_eq!(stream.len() as u64, 32 + 16 * half + 32 * (c.and_count() - half) + 32);
            let (bits, _) = run_known(&plan, &inputs, &known, HalfGates::portable());
            prop_assert_eq!(&bits, &expected);
            let (bits, _) = run_known(&plan, &inputs, &known, ThreeHalves::new());
            prop_assert_eq!(&bits, &expected);
        }
    }
}
