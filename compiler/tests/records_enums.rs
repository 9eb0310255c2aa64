//! Enum and `Option` columns in CSV records (`--input NAME=@FILE.csv`): a
//! C-like enum's cell is a variant's name, an `Option`'s cell is empty for
//! `None`. The reference is the JSON input path: the same values written as
//! JSON must give the same bits.

mod common;
use common::*;
use garblet_compiler::{encode_csv, Type};
use proptest::prelude::*;
use serde_json::{json, Value};

const SRC: &str = "
enum Colour { Red, Green = 5, Blue }
enum Size { Only }
struct Rec { colour: Colour, score: Option<i16>, flag: Option<bool>, tint: Option<Colour>, w: Option<I8F8>, n: u8, size: Size }
fn main(#[garbler] rs: [Rec; 6], #[evaluator] cs: [Option<Colour>; 3], #[evaluator] ks: [Colour; 2]) -> u8 {
    rs[0].n
}";

const COLOURS: [&str; 3] = ["Red", "Green", "Blue"];

/// One record: colour, score, flag, tint, w (raw I8F8 bits), n.
type Row = (usize, Option<i16>, Option<bool>, Option<usize>, Option<i16>, u8);

fn param(i: usize) -> Type {
    static PROGRAM: std::sync::OnceLock<garblet_compiler::Program> = std::sync::OnceLock::new();
    PROGRAM.get_or_init(|| build(SRC)).params[i].ty.clone()
}

/// An I8F8's raw bits as a decimal (exact: k / 256 has at most 8 decimals).
fn decimal(raw: i16) -> String {
    format!("{}", f64::from(raw) / 256.0)
}

fn cell<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(128) })]

    #[test]
    fn enum_and_option_cells_read_as_json_does(
        rows in prop::array::uniform6(
            (0usize..3, any::<Option<i16>>(), any::<Option<bool>>(), prop::option::of(0usize..3),
             any::<Option<i16>>(), any::<u8>())
        ),
        cs in prop::array::uniform3(prop::option::of(0usize..3)),
        ks in prop::array::uniform2(0usize..3),
        numeric_bools in any::<bool>(),
    ) {
        let rows: [Row; 6] = rows;
        // Columns in another order than the fields, with spaces around cells.
        let mut csv = String::from("n,tint,colour,size,w,flag,score\n");
        let mut records = Vec::new();
        for &(colour, score, flag, tint, w, n) in &rows {
            let flag_cell = match (flag, numeric_bools) {
                (Some(b), true) => u8::from(b).to_string(),
                _ => cell(flag),
            };
            csv.push_str(&format!(
                "{n}, {},{},Only,{},{flag_cell}, {}\n",
                cell(tint.map(|t| COLOURS[t])),
                COLOURS[colour],
                cell(w.map(decimal)),
                cell(score),
            ));
            records.push(json!({
                "colour": COLOURS[colour],
                "score": score,
                "flag": flag,
                "tint": tint.map(|t| COLOURS[t]),
                "w": w.map(decimal),
                "n": n,
                "size": "Only",
            }));
        }
        let ty = param(0);
        prop_assert_eq!(encode_csv(&ty, csv.as_bytes()).unwrap(), ty.encode(&Value::Array(records)).unwrap());

        // Arrays of an enum and of an Option of one: one column each. An
        // empty line is no record in CSV: `None` alone on a line is `""`.
        let csv: String = std::iter::once("c\n".to_owned())
            .chain(cs.iter().map(|c| format!("{}\n", c.map_or("\"\"", |c| COLOURS[c]))))
            .collect();
        let json: Vec<Value> = cs.iter().map(|c| json!(c.map(|c| COLOURS[c]))).collect();
        prop_assert_eq!(encode_csv(&param(1), csv.as_bytes()).unwrap(), param(1).encode(&json!(json)).unwrap());
        let csv = format!("k\n{}\n{}\n", COLOURS[ks[0]], COLOURS[ks[1]]);
        let json = json!([COLOURS[ks[0]], COLOURS[ks[1]]]);
        prop_assert_eq!(encode_csv(&param(2), csv.as_bytes()).unwrap(), param(2).encode(&json).unwrap());
    }
}

#[test]
fn a_bad_variant_names_row_column_and_the_variants() {
    let ty = param(0);
    let head = "colour,score,flag,tint,w,n,size\n";
    let good = "Red,1,true,,0.5,3,Only\n";
    let err =
        |rows: &str| encode_csv(&ty, format!("{head}{good}{rows}{}", good.repeat(4)).as_bytes()).unwrap_err();
    assert_eq!(
        err("Purple,1,true,,0.5,3,Only\n").to_string(),
        "row 2, column `colour`: `Purple` is not a variant of Colour (its variants: Red, Green, Blue)"
    );
    assert_eq!(
        err("red,1,true,,0.5,3,Only\n").to_string(),
        "row 2, column `colour`: `red` is not a variant of Colour (its variants: Red, Green, Blue)"
    );
    assert_eq!(
        err("Red,1,true,Colour::Blue,0.5,3,Only\n").to_string(),
        "row 2, column `tint`: `Colour::Blue` is not a variant of Colour (its variants: Red, Green, Blue)"
    );
    assert_eq!(
        err(",1,true,,0.5,3,Only\n").to_string(),
        "row 2, column `colour`: the field is empty, but it holds a Colour (its variants: Red, Green, Blue)"
    );
    assert_eq!(err("Red,x,true,,0.5,3,Only\n").to_string(), "row 2, column `score`: `x` is not an integer");
    let cs = encode_csv(&param(1), "c\nBlue\nGreen\nYellow\n".as_bytes()).unwrap_err();
    assert_eq!(
        cs.to_string(),
        "row 3, column `c`: `Yellow` is not a variant of Colour (its variants: Red, Green, Blue)"
    );
}

#[test]
fn enums_with_fields_have_no_csv_form() {
    let src = "
        enum Shape { Circle(u8), Empty }
        struct Rec { id: u8, shape: Shape }
        struct Pair { a: Option<(u8, u8)>, b: u8 }
        struct Deep { o: Option<Option<u8>> }
        fn main(#[garbler] a: [Rec; 2], #[garbler] b: [Shape; 2], #[garbler] c: [Pair; 2], #[garbler] d: [Deep; 1]) -> u8 { 0 }";
    let prog = build(src);
    let err = |i: usize, csv: &str| encode_csv(&prog.params[i].ty, csv.as_bytes()).unwrap_err().to_string();
    assert_eq!(
        err(0, "id,shape\n1,Empty\n2,Empty\n"),
        "the header: the column `shape` is the enum Shape, whose variants have fields, which has no CSV form: a cell holds a C-like enum's variant name; give this input as JSON"
    );
    assert!(err(1, "s\nEmpty\nEmpty\n")
        .starts_with("the header: each record is the enum Shape, whose variants have fields"));
    assert!(
        err(2, "a,b\n,1\n,2\n")
            .starts_with("the header: the column `a` is Option<(u8, u8)>, which has no CSV form"),
        "{}",
        err(2, "a,b\n,1\n,2\n")
    );
    assert!(err(3, "o\n\n").contains("the column `o` is Option<Option<u8>>, which has no CSV form"));
}
