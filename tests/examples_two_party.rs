//! Every example program, compiled and run by both parties through the
//! garbled engine (in memory), gives what plaintext evaluation gives, on
//! random inputs.

use garblet::circuits::Party;
use garblet::{memory_pair, run_evaluator, run_garbler, Channel, PartyInputs};

fn examples() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gbl"))
        .collect();
    files.sort();
    files
}

#[test]
fn garbled_runs_equal_plaintext_evaluation() {
    let files = examples();
    assert!(files.len() >= 7, "the seven example programs: {files:?}");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut bit = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed & 1 == 1
    };
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let program = garblet::compiler::compile(&source, &path.display().to_string())
            .unwrap_or_else(|d| panic!("{}", d.render_plain(&source, &path.display().to_string())));
        let circuit = program.circuit;
        for _round in 0..3 {
            let values: Vec<(String, Party, Vec<bool>)> = circuit
                .inputs()
                .iter()
                .map(|i| (i.name.clone(), i.party, (0..i.width).map(|_| bit()).collect()))
                .collect();
            let want = circuit.eval_bits(&values.iter().map(|v| v.2.clone()).collect::<Vec<_>>()).unwrap();
            let of = |p: Party| {
                PartyInputs::new(values.iter().filter(|v| v.1 == p).map(|v| (v.0.clone(), v.2.clone())))
            };
            let (g_end, e_end) = memory_pair();
            let (gc, g_in) = (circuit.clone(), of(Party::Garbler));
            let garbler = std::thread::spawn(move || run_garbler(&mut Channel::new(g_end), &gc, &g_in, None));
            let e = run_evaluator(&mut Channel::new(e_end), &circuit, &of(Party::Evaluator), None).unwrap();
            let g = garbler.join().unwrap().unwrap();
            for (k, o) in circuit.outputs().iter().enumerate() {
                for outcome in [&g, &e] {
                    if let Some((_, bits)) = outcome.outputs.iter().find(|(n, _)| *n == o.name) {
                        assert_eq!(bits, &want[k], "{}: output {}", path.display(), o.name);
                    }
                }
                let seen = [&g, &e].iter().filter(|x| x.outputs.iter().any(|(n, _)| *n == o.name)).count();
                let expected = usize::from(o.visibility.reveals_to(Party::Garbler))
                    + usize::from(o.visibility.reveals_to(Party::Evaluator));
                assert_eq!(seen, expected, "{}: who learns {}", path.display(), o.name);
            }
        }
    }
}
