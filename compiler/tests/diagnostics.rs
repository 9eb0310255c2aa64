//! Golden tests of the messages users see: each malformed program in
//! `tests/diagnostics/*.gbl` must render exactly as the `.txt` next to it.
//! Set `GARBLET_BLESS=1` to rewrite the `.txt` files.

use garblet_compiler::compile;
use std::path::Path;

#[test]
fn golden_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    let bless = std::env::var_os("GARBLET_BLESS").is_some();
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    let mut checked = 0;
    for path in entries {
        if path.extension().and_then(|e| e.to_str()) != Some("gbl") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let rendered = match compile(&source, name) {
            Ok(_) => panic!("{name} compiled, but it is an error case"),
            Err(e) => e.render_plain(&source, name),
        };
        let golden = path.with_extension("txt");
        if bless {
            std::fs::write(&golden, &rendered).unwrap();
        } else {
            let want = std::fs::read_to_string(&golden).unwrap_or_default();
            assert_eq!(rendered, want, "{name}: diagnostics differ from {}", golden.display());
        }
        checked += 1;
    }
    assert!(checked >= 10);
}
