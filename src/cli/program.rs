//! Loading what a command runs: a Bristol Fashion circuit file (or, with the
//! compiler, a program in the garblet language), and turning command-line
//! values into input bits and output bits back into printable values.

use super::values;
use anyhow::{anyhow, bail, Context, Result};
use garblet::circuits::{bristol, Circuit, Party};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The demo's default program.
const MILLIONAIRES: &str = include_str!("../../examples/millionaires.gbl");

/// How values of a loaded circuit are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueStyle {
    /// Bristol files: integers in, `0x` hex out, padded to the width.
    Hex,
    /// Built-in programs: one-bit values as `true`/`false`, others as
    /// unsigned decimal.
    Integer,
}

/// A loaded circuit with its origin.
pub struct Loaded {
    /// The circuit both parties run.
    pub circuit: Circuit,
    /// The file it came from, for messages and the audit log.
    pub path: String,
    /// How its values print.
    pub style: ValueStyle,
    /// For programs in the language: the compiled program (types of the
    /// inputs and the result, per-line costs).
    pub program: Option<Box<garblet::compiler::Program>>,
    /// For programs in the language: the source text.
    pub source: Option<String>,
}

/// A program that did not compile; the diagnostics were printed already.
#[derive(Debug)]
pub struct CompileFailed {
    /// The file.
    pub path: String,
    /// How many errors.
    pub errors: usize,
}

impl std::fmt::Display for CompileFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = if self.errors == 1 { "" } else { "s" };
        write!(f, "could not compile {} ({} error{s} above)", self.path, self.errors)
    }
}

impl std::error::Error for CompileFailed {}

impl Loaded {
    /// Loads a Bristol Fashion file; `owners` reassigns inputs (`in0` is the
    /// garbler's and the rest the evaluator's otherwise).
    pub fn from_file(path: &Path, owners: &[String]) -> Result<Loaded> {
        if path.extension().is_some_and(|e| e == "gbl") {
            if !owners.is_empty() {
                bail!("--owner is for Bristol files; a program marks its inputs #[garbler] or #[evaluator]");
            }
            let source =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            return Loaded::compile(&source, &path.display().to_string());
        }
        let circuit = bristol::read_file(path).map_err(|e| match e {
            bristol::BristolError::Syntax { .. } => {
                anyhow!("{}: {e} (not a valid Bristol Fashion circuit)", path.display())
            }
            other => anyhow::Error::new(other),
        })?;
        let circuit = apply_owners(circuit, owners)?;
        Ok(Loaded {
            circuit,
            path: path.display().to_string(),
            style: ValueStyle::Hex,
            program: None,
            source: None,
        })
    }

    /// Compiles a program in the garblet language; on errors, prints the
    /// diagnostics (source line and caret) to stderr.
    pub fn compile(source: &str, name: &str) -> Result<Loaded> {
        match garblet::compiler::compile(source, name) {
            Ok(program) => Ok(Loaded {
                circuit: program.circuit.clone(),
                path: name.to_owned(),
                style: ValueStyle::Integer,
                program: Some(Box::new(program)),
                source: Some(source.to_owned()),
            }),
            Err(diagnostics) => {
                use std::io::IsTerminal;
                let text = if std::io::stderr().is_terminal() {
                    diagnostics.render(source, name)
                } else {
                    diagnostics.render_plain(source, name)
                };
                eprint!("{text}");
                Err(CompileFailed { path: name.to_owned(), errors: diagnostics.len() }.into())
            }
        }
    }

    /// A copy (for the demo's second party).
    pub fn duplicate(&self) -> Loaded {
        Loaded {
            circuit: self.circuit.clone(),
            path: self.path.clone(),
            style: self.style,
            program: self.program.clone(),
            source: self.source.clone(),
        }
    }

    /// The type of input `name` in a compiled program.
    fn param_type(&self, name: &str) -> Option<&garblet::compiler::Type> {
        self.program.as_ref()?.params.iter().find(|p| p.name == name).map(|p| &p.ty)
    }

    /// The bits of one input value written on the command line.
    pub fn parse_input(&self, name: &str, text: &str) -> Result<Vec<bool>> {
        let input = self.circuit.input(name).ok_or_else(|| self.unknown_input(name))?;
        if self.program.is_some() {
            // Programs take JSON; a bare word such as 0xff is taken as a string.
            let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
            return self.parse_json_input(name, &value);
        }
        let text = match (self.style, input.width, text) {
            (ValueStyle::Integer, 1, "true") => "1",
            (ValueStyle::Integer, 1, "false") => "0",
            _ => text,
        };
        values::parse_integer(text, input.width).with_context(|| format!("input `{name}`"))
    }

    /// The bits of one input value from a JSON inputs file.
    pub fn parse_json_input(&self, name: &str, value: &Value) -> Result<Vec<bool>> {
        if let Some(ty) = self.param_type(name) {
            return ty.encode(value).map_err(|e| anyhow!("input `{name}`: {e}"));
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => bail!("input `{name}`: {other} is not an integer"),
        };
        self.parse_input(name, &text)
    }

    /// An output value for printing.
    pub fn format_output(&self, name: &str, bits: &[bool]) -> Value {
        if let Some(p) = &self.program {
            if name == "result" {
                return p.result.decode(bits);
            }
            if let Some(ty) = self.param_type(name) {
                return ty.decode(bits);
            }
        }
        match (self.style, bits.len()) {
            (ValueStyle::Hex, _) => Value::String(values::format_hex(bits)),
            (ValueStyle::Integer, 1) => Value::Bool(bits[0]),
            (ValueStyle::Integer, n) if n <= 64 => {
                Value::from(bits.iter().enumerate().fold(0u64, |acc, (k, &b)| acc | (u64::from(b) << k)))
            }
            (ValueStyle::Integer, _) => Value::String(values::format_hex(bits)),
        }
    }

    /// The built-in millionaires' program (`examples/millionaires.gbl`).
    pub fn millionaires() -> Result<Loaded> {
        Loaded::compile(MILLIONAIRES, "millionaires.gbl (built in)")
    }

    fn unknown_input(&self, name: &str) -> anyhow::Error {
        let names: Vec<String> =
            self.circuit.inputs().iter().map(|i| format!("{} ({})", i.name, i.party)).collect();
        anyhow!("unknown input `{name}`: this program's inputs are {}", names.join(", "))
    }

    /// Collects `party`'s inputs (or every input when `party` is `None`) from
    /// `--input NAME=VALUE` arguments and an optional JSON file, checking that
    /// each is given exactly once and that no other party's input is given.
    pub fn collect_inputs(
        &self,
        party: Option<Party>,
        args: &[String],
        json_file: Option<&Path>,
    ) -> Result<Vec<(String, Vec<bool>)>> {
        let mut given: BTreeMap<String, Vec<bool>> = BTreeMap::new();
        for (name, text) in values::parse_assignments(args)? {
            given.insert(name.to_owned(), self.parse_input(name, text)?);
        }
        if let Some(path) = json_file {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let json: Value = serde_json::from_str(&text).with_context(|| {
                format!("{} is not JSON (expected an object of NAME: VALUE)", path.display())
            })?;
            let Value::Object(map) = json else {
                bail!("{} must hold a JSON object of NAME: VALUE", path.display());
            };
            for (name, value) in map {
                let bits = self.parse_json_input(&name, &value)?;
                if given.insert(name.clone(), bits).is_some() {
                    bail!("input `{name}` is given twice (on the command line and in {})", path.display());
                }
            }
        }
        for name in given.keys() {
            match self.circuit.input(name) {
                None => return Err(self.unknown_input(name)),
                Some(i) if party.is_some_and(|p| p != i.party) => {
                    bail!("input `{name}` belongs to the {}: each party gives only its own inputs", i.party)
                }
                Some(_) => {}
            }
        }
        let mut out = Vec::new();
        for input in self.circuit.inputs().iter().filter(|i| party.is_none_or(|p| p == i.party)) {
            match given.remove(&input.name) {
                Some(bits) => out.push((input.name.clone(), bits)),
                None => bail!(
                    "missing input `{}` ({} bits{}): add --input {}=VALUE",
                    input.name,
                    input.width,
                    party.map_or(String::new(), |_| format!(", the {}'s", input.party)),
                    input.name
                ),
            }
        }
        Ok(out)
    }
}

/// Applies `--owner NAME=garbler|evaluator` to a Bristol circuit.
fn apply_owners(circuit: Circuit, owners: &[String]) -> Result<Circuit> {
    let mut map = BTreeMap::new();
    for (name, who) in values::parse_assignments(owners)? {
        let party = match who {
            "garbler" => Party::Garbler,
            "evaluator" => Party::Evaluator,
            other => bail!("--owner {name}={other}: the owner must be `garbler` or `evaluator`"),
        };
        if circuit.input(name).is_none() {
            bail!("--owner {name}: the circuit has no input `{name}`");
        }
        map.insert(name.to_owned(), party);
    }
    Ok(circuit.with_roles(|i| map.get(&i.name).copied().unwrap_or(i.party), |o| o.visibility))
}
