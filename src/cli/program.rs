//! Loading what a command runs: a Bristol Fashion circuit file, a binary
//! garblet circuit (the canonical encoding, `docs/CIRCUITS.md`) or, with the
//! compiler, a program in the garblet language; and turning command-line
//! values into input bits and output bits back into printable values.
//!
//! Which of the three a file is comes from its content, not its name: a
//! program saved as `credit.rs` or a circuit saved as `adder.gbl` loads as
//! what it is ([`FileKind::sniff`]), and when a command needs another kind
//! the error says which it expected and which it found.

use super::cache::{Cache, Hashing};
use super::progress::Progress;
use super::run::PIPELINE_FROM_GATES;
use super::values;
use anyhow::{anyhow, bail, Context, Result};
use garblet::circuits::{bristol, canonical, Circuit, GateFile, LoopedCircuit, Party};
use garblet::engine::session::{SessionError, SessionProgram};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a file holds, told by its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FileKind {
    /// A program in the garblet language.
    Program,
    /// A Bristol Fashion (or old Bristol) circuit.
    Bristol,
    /// A binary garblet circuit: the canonical encoding, which starts with
    /// the magic `garblet-circuit\0`.
    Binary,
}

impl FileKind {
    /// Binary circuits open with their magic; Bristol files with a line of
    /// two integers (gates, wires); a program can do neither (it starts with
    /// an item, an attribute or a comment). `head` is the start of the file;
    /// anything else is taken for a program, whose compile errors then point
    /// at the problem.
    pub(super) fn sniff(head: &[u8]) -> FileKind {
        if canonical::is_canonical(head) {
            return FileKind::Binary;
        }
        let first = head.split(|&b| b == b'\n').map(|l| l.trim_ascii()).find(|l| !l.is_empty());
        let is_number = |t: &&[u8]| !t.is_empty() && t.iter().all(u8::is_ascii_digit);
        match first {
            Some(line) => {
                let tokens: Vec<&[u8]> =
                    line.split(u8::is_ascii_whitespace).filter(|t| !t.is_empty()).collect();
                if tokens.len() == 2 && tokens.iter().all(is_number) {
                    FileKind::Bristol
                } else {
                    FileKind::Program
                }
            }
            None => FileKind::Program,
        }
    }

    /// Reads the start of `path` and sniffs it; an unreadable or empty file
    /// is an error.
    pub(super) fn of_file(path: &Path) -> Result<FileKind> {
        let mut head = Vec::with_capacity(4096);
        std::fs::File::open(path)
            .and_then(|f| f.take(4096).read_to_end(&mut head))
            .with_context(|| format!("cannot read {}", path.display()))?;
        if head.iter().all(u8::is_ascii_whitespace) {
            bail!(
                "{} is empty: expected a program in the garblet language, a Bristol Fashion circuit or a binary garblet circuit",
                path.display()
            );
        }
        Ok(FileKind::sniff(&head))
    }

    /// The kind in words, for messages.
    pub(super) fn describe(self) -> &'static str {
        match self {
            FileKind::Program => "a program in the garblet language",
            FileKind::Bristol => {
                "a Bristol Fashion circuit (its first line is two integers: gates and wires)"
            }
            FileKind::Binary => "a binary garblet circuit (it starts with `garblet-circuit`)",
        }
    }
}

/// Where an input value came from, for the error when it is given twice.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    /// `--input NAME=VALUE`.
    Flag,
    /// `--inputs FILE.json`.
    File(PathBuf),
    /// The demo's default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("--input"),
            Source::File(p) => write!(f, "--inputs {}", p.display()),
            Source::Default => f.write_str("the default"),
        }
    }
}

/// The demo's default program.
const MILLIONAIRES: &str = include_str!("../../examples/millionaires.gbl");

/// How values of a loaded circuit are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ValueStyle {
    /// Circuit files (Bristol and binary): integers in, `0x` hex out,
    /// padded to the width.
    Hex,
    /// Built-in programs: one-bit values as `true`/`false`, others as
    /// unsigned decimal.
    Integer,
}

/// A loaded circuit with its origin.
pub(super) struct Loaded {
    /// The circuit both parties run; for a program whose loop streams,
    /// only its interface (inputs and outputs): the gates are
    /// [`Loaded::looped`]'s, and the methods below pick the right one.
    pub circuit: Circuit,
    /// The file it came from, for messages and the audit log.
    pub path: String,
    /// How its values print.
    pub style: ValueStyle,
    /// For programs in the language: the compiled program (types of the
    /// inputs and the result, per-line costs). Its `circuit` is only the
    /// interface (no gates): the gates are [`Loaded::circuit`]'s.
    pub program: Option<Box<garblet::compiler::Program>>,
    /// For a large binary circuit run semi-honest ([`Loaded::for_run`]):
    /// the file its gates are read from when the run plans them. `circuit`
    /// is then only the interface.
    pub gates_in: Option<PathBuf>,
    /// For programs in the language: the source text.
    pub source: Option<String>,
}

/// `--const NAME=VALUE` arguments as (name, value) pairs.
pub(super) fn parse_consts(args: &[String]) -> Result<Vec<(String, String)>> {
    args.iter()
        .map(|arg| match arg.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
                Ok((name.trim().to_owned(), value.trim().to_owned()))
            }
            _ => bail!("--const {arg}: give NAME=VALUE, e.g. --const N=100000"),
        })
        .collect()
}

/// A program that did not compile; the diagnostics were printed already.
#[derive(Debug)]
pub(super) struct CompileFailed {
    /// The file.
    pub path: String,
    /// How many errors.
    pub errors: usize,
    /// What the file may have been meant as instead.
    pub hint: Option<String>,
}

impl std::fmt::Display for CompileFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = if self.errors == 1 { "" } else { "s" };
        write!(f, "could not compile {} ({} error{s} above)", self.path, self.errors)?;
        match &self.hint {
            Some(hint) => write!(f, ": {hint}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for CompileFailed {}

impl Loaded {
    /// Loads a program or a Bristol Fashion file, whichever `path` holds;
    /// `owners` reassigns a Bristol circuit's inputs (`in0` is the garbler's
    /// and the rest the evaluator's otherwise). A load or compile that takes
    /// a while shows a progress line on a terminal.
    ///
    /// `consts` sets a program's `const` items (`--const N=100000`); the
    /// values are bound into the digest the hello compares.
    ///
    /// With `cache`, a Bristol file's circuit comes from the circuit cache
    /// when it holds these bytes' circuit, and is cached otherwise (see
    /// [`Cache`]); `--owner` applies after. Programs are compiled and
    /// binary circuits read as without it.
    pub(super) fn from_file(
        path: &Path,
        owners: &[String],
        consts: &[String],
        cache: Option<&Cache>,
    ) -> Result<Loaded> {
        let kind = FileKind::of_file(path)?;
        let shown = path.display();
        let consts = parse_consts(consts)?;
        if kind != FileKind::Program && !consts.is_empty() {
            bail!(
                "--const sets a constant of a program in the garblet language, but {shown} is {} (remove --const)",
                kind.describe()
            );
        }
        if kind == FileKind::Program {
            if !owners.is_empty() {
                bail!(
                    "--owner is for circuit files, but {shown} is {}: a program marks its inputs #[garbler] or #[evaluator] (remove --owner)",
                    kind.describe()
                );
            }
            let source = std::fs::read_to_string(path)
                .map_err(|e| anyhow!("cannot read {shown} as {}: {e}", kind.describe()))?;
            if let Some(cache) = cache {
                errln!(
                    "note: {shown} is a program: programs are compiled every time, the cache in {} holds circuit files",
                    cache.dir().display()
                );
            }
            return Loaded::compile(&source, &shown.to_string(), &consts);
        }
        let circuit = match (kind, cache) {
            (FileKind::Binary, _) => read_binary(path)?,
            (_, Some(cache)) => cache.bristol(path, |p, hasher| read_bristol(p, Some(hasher)))?,
            (_, None) => read_bristol(path, None)?,
        };
        let circuit = apply_owners(circuit, owners)?;
        Ok(Loaded {
            circuit,
            path: shown.to_string(),
            style: ValueStyle::Hex,
            program: None,
            source: None,
            gates_in: None,
        })
    }

    /// [`Loaded::from_file`] for `garblet run`: with `from_file_gates` (a
    /// semi-honest run), a binary circuit of [`PIPELINE_FROM_GATES`] gates or
    /// more is not read now: its header gives the interface, and the run
    /// plans straight from the file ([`Loaded::session_program`],
    /// `SessionProgram::from_gate_file`), so its gates are never held in
    /// memory (issue 15: a third less memory and half the page faults of
    /// reading the 57 M-gate chained AES first).
    pub(super) fn for_run(
        path: &Path,
        owners: &[String],
        consts: &[String],
        cache: Option<&Cache>,
        from_file_gates: bool,
    ) -> Result<Loaded> {
        if from_file_gates && consts.is_empty() && FileKind::of_file(path)? == FileKind::Binary {
            let file = open_gate_file(path)?;
            if file.num_gates() >= PIPELINE_FROM_GATES as u64 {
                let circuit = apply_owners(file.interface(), owners)?;
                return Ok(Loaded {
                    circuit,
                    path: path.display().to_string(),
                    style: ValueStyle::Hex,
                    program: None,
                    source: None,
                    gates_in: Some(path.to_owned()),
                });
            }
        }
        Loaded::from_file(path, owners, consts, cache)
    }

    /// Compiles a program in the garblet language; on errors, prints the
    /// diagnostics (source line and caret) to stderr.
    pub(super) fn compile(source: &str, name: &str, consts: &[(String, String)]) -> Result<Loaded> {
        Loaded::compile_with(source, name, consts, garblet::compiler::StreamLoops::Auto)
    }

    /// A program compiled to a flat circuit, every loop unrolled (`garblet
    /// compile` writes flat circuits: a loop that would stream unrolls, up
    /// to the gate limit).
    pub(super) fn program_flat(path: &Path, consts: &[String]) -> Result<Loaded> {
        let consts = parse_consts(consts)?;
        let shown = path.display();
        let source = std::fs::read_to_string(path).map_err(|e| anyhow!("cannot read {shown}: {e}"))?;
        Loaded::compile_with(&source, &shown.to_string(), &consts, garblet::compiler::StreamLoops::Never)
    }

    fn compile_with(
        source: &str,
        name: &str,
        consts: &[(String, String)],
        stream: garblet::compiler::StreamLoops,
    ) -> Result<Loaded> {
        let options = consts
            .iter()
            .fold(garblet::compiler::Options::new().with_stream_loops(stream), |o, (name, value)| {
                o.with_const(name.as_str(), value.as_str())
            });
        let compiled = {
            let progress = Progress::spinner(format!("compiling {name}"));
            garblet::compiler::compile_with(source, name, &options, &|stage| {
                progress.set_message(format!("compiling {name}: {}", stage.describe()));
            })
            // The progress line is cleared here, before anything prints.
        };
        match compiled {
            // One copy of the gates: the loaded circuit takes them, and
            // the program keeps only the interface (its metadata is what
            // the commands read; `Loaded`'s methods pick the gates).
            Ok(mut program) => Ok(Loaded {
                circuit: {
                    let interface = program.circuit.interface();
                    std::mem::replace(&mut program.circuit, interface)
                },
                path: name.to_owned(),
                style: ValueStyle::Integer,
                program: Some(Box::new(program)),
                source: Some(source.to_owned()),
                gates_in: None,
            }),
            Err(diagnostics) => {
                use std::io::IsTerminal;
                let text = if std::io::stderr().is_terminal() {
                    diagnostics.render(source, name)
                } else {
                    diagnostics.render_plain(source, name)
                };
                err!("{text}");
                // Text with no `fn` at all was probably meant as something else.
                let hint = (!source.contains("fn")).then(|| {
                    format!(
                        "{name} has no `fn main`, so it is no program; a Bristol Fashion circuit would start with a line of two integers (gates and wires)"
                    )
                });
                Err(CompileFailed { path: name.to_owned(), errors: diagnostics.len(), hint }.into())
            }
        }
    }

    /// The looped circuit of a program whose loop streams.
    pub(super) fn looped(&self) -> Option<&LoopedCircuit> {
        self.program.as_ref()?.looped.as_ref()
    }

    /// AND gates of the computation (the expanded loop when it streams).
    pub(super) fn and_count(&self) -> u64 {
        match self.looped() {
            Some(l) => l.and_count(),
            None => self.circuit.and_count(),
        }
    }

    /// The digest of the gates, hex (the looped circuit's when the loop
    /// streams: its own domain, `LoopedCircuit::digest`).
    pub(super) fn digest_bytes(&self) -> [u8; 32] {
        match self.looped() {
            Some(l) => l.digest(),
            None => self.circuit.digest().0,
        }
    }

    /// [`Loaded::digest_bytes`] in hex.
    pub(super) fn digest_hex(&self) -> String {
        self.digest_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Plaintext evaluation, one value per input.
    pub(super) fn eval_bits(&self, inputs: &[Vec<bool>]) -> Result<Vec<Vec<bool>>> {
        Ok(match self.looped() {
            Some(l) => l.eval_bits(inputs)?,
            None => self.circuit.eval_bits(inputs)?,
        })
    }

    /// What both parties run, semi-honest: the circuit, or the looped
    /// circuit streamed (its gates generated as they are garbled), with
    /// [`Loaded::session_terms`] bound.
    pub(super) fn session_program(&self) -> Result<SessionProgram<'_>, SessionError> {
        if self.gates_in.is_some() {
            // Only `garblet run` loads so, and plans with `program_from_file`.
            return Err(SessionError::Config("a circuit whose gates stay in its file is planned from it"));
        }
        let program = match self.looped() {
            Some(l) => SessionProgram::looped(l)?,
            // A large circuit is planned as the run goes (labels for the
            // live wires only); `garblet run` takes it instead, see
            // `run::take_large_circuit`.
            None if self.circuit.gates().len() >= PIPELINE_FROM_GATES => {
                SessionProgram::pipelined(&self.circuit)?
            }
            None => SessionProgram::from_circuit(&self.circuit)?,
        };
        Ok(program.with_terms(&self.session_terms()))
    }

    /// For a circuit whose gates stay in its file ([`Loaded::for_run`]):
    /// what both parties run, planned straight from the file (checked and
    /// hashed as it is read), with [`Loaded::session_terms`] bound. `None`
    /// for every other circuit: [`Loaded::session_program`] is theirs.
    pub(super) fn program_from_file(&self) -> Result<Option<SessionProgram<'static>>> {
        let Some(path) = &self.gates_in else { return Ok(None) };
        // The owners `--owner` gave, as the interface holds them.
        let interface = &self.circuit;
        let file = open_gate_file(path)?.with_roles(
            |i| interface.input(&i.name).map_or(i.party, |mine| mine.party),
            |o| interface.output(&o.name).map_or(o.visibility, |mine| mine.visibility),
        );
        let program = SessionProgram::from_gate_file(&file).map_err(|e| match e {
            SessionError::CircuitFile(e) => binary_error(path, e),
            other => other.into(),
        })?;
        Ok(Some(program.with_terms(&self.session_terms())))
    }

    /// [`Loaded::session_program`] for dual execution, which masks private
    /// outputs inside a materialised circuit: a streamed loop is refused.
    pub(super) fn dual_execution_program(&self) -> Result<SessionProgram<'static>> {
        if self.gates_in.is_some() {
            bail!("internal: a circuit planned from its file runs semi-honest only");
        }
        let program = match self.looped() {
            Some(looped) => SessionProgram::looped_for_dual_execution(looped)?,
            None => SessionProgram::for_dual_execution(&self.circuit)?,
        };
        Ok(program.with_terms(&self.session_terms()))
    }

    /// What the hello binds besides the circuit: the constants set with
    /// `--const`, as `const NAME` = canonical value, then the program's
    /// cohort rule, as `cohort result` = its `K` (when the result is
    /// guarded). Two parties whose compiled rules differ are refused, even
    /// where their gates agree.
    pub(super) fn session_terms(&self) -> Vec<(String, String)> {
        self.program.as_ref().map_or_else(Vec::new, |p| p.session_terms())
    }

    /// The cohort rule of a compiled program: every bit of the result that
    /// depends on an input is released only when a count reached this
    /// `K`. `None` for an unguarded result and for Bristol circuits.
    pub(super) fn cohort(&self) -> Option<u128> {
        self.program.as_ref().and_then(|p| p.cohort)
    }

    /// A copy (for the demo's second party).
    pub(super) fn duplicate(&self) -> Loaded {
        Loaded {
            circuit: self.circuit.clone(),
            path: self.path.clone(),
            style: self.style,
            program: self.program.clone(),
            source: self.source.clone(),
            gates_in: self.gates_in.clone(),
        }
    }

    /// The type of input `name` in a compiled program.
    fn param_type(&self, name: &str) -> Option<&garblet::compiler::Type> {
        self.program.as_ref()?.params.iter().find(|p| p.name == name).map(|p| &p.ty)
    }

    /// The bits of one input value written on the command line.
    ///
    /// `@FILE` reads the value from a file: CSV (by the `.csv` extension)
    /// for an array of records or scalars, JSON otherwise.
    pub(super) fn parse_input(&self, name: &str, text: &str) -> Result<Vec<bool>> {
        let input = self.circuit.input(name).ok_or_else(|| self.unknown_input(name))?;
        if let Some(file) = text.strip_prefix('@') {
            return self.read_input_file(name, Path::new(file));
        }
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

    /// The bits of input `name` read from `path` (`--input NAME=@FILE`):
    /// CSV records, or one JSON value. Both are streamed from the file.
    fn read_input_file(&self, name: &str, path: &Path) -> Result<Vec<bool>> {
        let Some(ty) = self.param_type(name) else {
            bail!(
                "input `{name}`: @FILE needs a program in the garblet language, whose types say how to read it; {} is a circuit file (give the value itself)",
                self.path
            );
        };
        let shown = path.display();
        let file =
            std::fs::File::open(path).map_err(|e| anyhow!("input `{name}`: cannot read {shown}: {e}"))?;
        let reader = std::io::BufReader::with_capacity(1 << 20, file);
        let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv {
            return garblet::compiler::encode_csv(ty, reader)
                .map_err(|e| anyhow!("input `{name}`: {shown}: {e}"));
        }
        let value: Value = serde_json::from_reader(reader)
            .map_err(|e| anyhow!("input `{name}`: {shown} is not JSON: {e} (a .csv file is read as CSV)"))?;
        ty.encode(&value).map_err(|e| anyhow!("input `{name}`: {shown}: {e}"))
    }

    /// The bits of one input value from a JSON inputs file.
    pub(super) fn parse_json_input(&self, name: &str, value: &Value) -> Result<Vec<bool>> {
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
    pub(super) fn format_output(&self, name: &str, bits: &[bool]) -> Value {
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
    pub(super) fn millionaires() -> Result<Loaded> {
        Loaded::compile(MILLIONAIRES, "millionaires.gbl (built in)", &[])
    }

    fn unknown_input(&self, name: &str) -> anyhow::Error {
        let names: Vec<String> =
            self.circuit.inputs().iter().map(|i| format!("{} ({})", i.name, i.party)).collect();
        anyhow!("unknown input `{name}`: this program's inputs are {}", names.join(", "))
    }

    /// Collects `party`'s inputs (or every input when `party` is `None`) from
    /// `--input NAME=VALUE` arguments and JSON files, checking that each is
    /// given exactly once and that no other party's input is given.
    pub(super) fn collect_inputs(
        &self,
        party: Option<Party>,
        args: &[String],
        json_files: &[PathBuf],
    ) -> Result<Vec<(String, Vec<bool>)>> {
        self.collect_inputs_with_defaults(party, args, json_files, &[])
    }

    /// [`Loaded::collect_inputs`], taking `defaults` (`NAME`, `VALUE`) for
    /// inputs no argument and no file gives.
    pub(super) fn collect_inputs_with_defaults(
        &self,
        party: Option<Party>,
        args: &[String],
        json_files: &[PathBuf],
        defaults: &[(&str, &str)],
    ) -> Result<Vec<(String, Vec<bool>)>> {
        let mut given: BTreeMap<String, (Vec<bool>, Source)> = BTreeMap::new();
        let add = |given: &mut BTreeMap<_, _>, name: String, bits: Vec<bool>, from: Source| -> Result<()> {
            if let Some((_, first)) = given.get(&name) {
                if *first == from {
                    bail!("input `{name}` is given twice by {from}: give it once");
                }
                bail!("input `{name}` is given twice, by {first} and by {from}: give it once");
            }
            given.insert(name, (bits, from));
            Ok(())
        };
        for arg in args {
            let Some((name, text)) = arg.split_once('=') else {
                bail!("`{arg}` is not NAME=VALUE");
            };
            let name = name.trim();
            add(&mut given, name.to_owned(), self.parse_input(name, text.trim())?, Source::Flag)?;
        }
        for path in json_files {
            for (name, value) in read_json_object(path)? {
                let bits =
                    self.parse_json_input(&name, &value).with_context(|| path.display().to_string())?;
                add(&mut given, name, bits, Source::File(path.clone()))?;
            }
        }
        for &(name, text) in defaults {
            if !given.contains_key(name) {
                add(&mut given, name.to_owned(), self.parse_input(name, text)?, Source::Default)?;
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
                Some((bits, _)) => out.push((input.name.clone(), bits)),
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

/// The `NAME: VALUE` pairs of a JSON inputs file, in the file's order.
fn read_json_object(path: &Path) -> Result<Vec<(String, Value)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON (expected an object of NAME: VALUE)", path.display()))?;
    let Value::Object(map) = json else {
        bail!("{} must hold a JSON object of NAME: VALUE", path.display());
    };
    Ok(map.into_iter().collect())
}

/// Reads a Bristol file, with a progress bar of the bytes read when that
/// takes a while; with `hasher`, every byte of the file goes to it, to the
/// end (the circuit cache keys the circuit by the bytes read).
fn read_bristol(path: &Path, hasher: Option<&mut blake3::Hasher>) -> Result<Circuit> {
    let shown = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {shown}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = Progress::bytes(format!("reading {shown}"), size);
    let read = match hasher {
        Some(hasher) => {
            let hashing = Hashing { inner: progress.reader(file), hasher };
            let mut reader = std::io::BufReader::with_capacity(1 << 16, hashing);
            let read = bristol::read(&mut reader);
            // Whatever follows the last gate is part of the file too.
            if read.is_ok() {
                std::io::copy(&mut reader, &mut std::io::sink())
                    .map_err(|e| anyhow!("cannot read {shown}: {e}"))?;
            }
            read
        }
        None => bristol::read(std::io::BufReader::with_capacity(1 << 16, progress.reader(file))),
    };
    drop(progress);
    // A file named as a circuit, past its header: the error is a gate's.
    // Elsewhere the file may be something else: say why it was read as
    // Bristol.
    let named_bristol =
        path.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt") || e.eq_ignore_ascii_case("bristol"));
    read.map_err(|e| match e {
        bristol::BristolError::Syntax { line, .. } if line <= 3 || !named_bristol => anyhow!(
            "{shown}: {e} (the file starts like a Bristol Fashion circuit, with a line of two integers, but is not a valid one)"
        ),
        bristol::BristolError::Syntax { .. } => anyhow!("{shown}: {e}"),
        bristol::BristolError::Io { source, .. } => anyhow!("cannot read {shown}: {source}"),
        other => anyhow::Error::new(other),
    })
}

/// Reads a binary circuit file, streaming (memory: the circuit, one 1 MiB
/// buffer and a bit per wire), with a progress bar when that takes a while.
/// The file is hashed as it is read, so the circuit's digest (the hello's)
/// costs no second pass over its gates.
fn read_binary(path: &Path) -> Result<Circuit> {
    let shown = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {shown}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = Progress::bytes(format!("reading {shown}"), size);
    let read = canonical::read_hashed(std::io::BufReader::with_capacity(1 << 20, progress.reader(file)));
    drop(progress);
    read.map_err(|e| binary_error(path, e))
}

/// Opens a binary circuit file whose gates are read as they are planned.
fn open_gate_file(path: &Path) -> Result<GateFile> {
    GateFile::open(path).map_err(|e| binary_error(path, e))
}

/// A binary circuit file's decoding error, in words that say what to fix.
fn binary_error(path: &Path, e: canonical::DecodeError) -> anyhow::Error {
    let shown = path.display();
    match e {
        canonical::DecodeError::Io { message, .. } => anyhow!("cannot read {shown}: {message}"),
        other => anyhow!(
            "{shown}: {other} (the file starts like a binary garblet circuit, with `garblet-circuit`, but is not a valid one)"
        ),
    }
}

/// Applies `--owner NAME=garbler|evaluator` to a circuit file's circuit.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_apart_by_their_first_line() {
        let bristol = [
            "1 3\n2 1 1\n1 1\n\n2 1 0 1 2 AND\n",
            "\n\n  36663 36919 \r\n2 128 128\n",
            "32 96\n64 32 32 32\n",
        ];
        for text in bristol {
            assert_eq!(FileKind::sniff(text.as_bytes()), FileKind::Bristol, "{text:?}");
        }
        let programs = [
            "fn main(#[garbler] a: u8, #[evaluator] b: u8) -> bool { a < b }",
            "// credit scoring\nfn main() -> u8 { 1 }",
            "#[reveal(garbler)]\nfn main() -> u8 { 1 }",
            "const N: u32 = 3;\n",
            "1 2 3\n",
            "12\n",
            "1 x\n",
            "hello",
            "",
        ];
        for text in programs {
            assert_eq!(FileKind::sniff(text.as_bytes()), FileKind::Program, "{text:?}");
        }
        let binary = bristol::parse_str(bristol[0]).unwrap().to_canonical_bytes();
        assert_eq!(FileKind::sniff(&binary), FileKind::Binary);
        assert_eq!(FileKind::sniff(&binary[..20]), FileKind::Binary);
        assert_eq!(FileKind::sniff(&binary[..10]), FileKind::Program, "too short for the magic");
    }
}
