//! Command-line front end: argument parsing (clap) and the commands.
//!
//! Every failure the user can fix (a missing file, a malformed circuit, an
//! input that does not fit) is one line on stderr, `error: …`, and exit
//! code 2.

mod values;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use garblet::circuits::{bristol, Circuit};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Two-party computation with garbled circuits.
#[derive(Parser, Debug)]
#[command(name = "garblet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a circuit's gate counts, AND-depth, wires, inputs and outputs.
    Stats {
        /// A Bristol Fashion circuit file.
        file: PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate a circuit in plaintext on inputs given in full.
    Eval {
        /// A Bristol Fashion circuit file.
        file: PathBuf,
        /// An input value, NAME=VALUE (decimal or 0x hex; bit k is wire k). Repeat per input.
        #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// Print `{"outputs": {...}}` as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the CLI; errors become one line on stderr and exit code 2.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Stats { file, json } => stats(&file, json),
        Command::Eval { file, inputs, json } => eval(&file, &inputs, json),
    }
}

/// Loads a circuit file.
fn load(path: &Path) -> Result<Circuit> {
    if path.extension().is_some_and(|e| e == "gbl") {
        bail!(
            "{}: programs in the garblet language are not supported by this build yet; give a Bristol Fashion circuit",
            path.display()
        );
    }
    bristol::read_file(path).map_err(|e| match e {
        bristol::BristolError::Syntax { .. } => {
            anyhow!("{}: {e} (not a valid Bristol Fashion circuit)", path.display())
        }
        other => anyhow::Error::new(other),
    })
}

fn stats(path: &Path, as_json: bool) -> Result<()> {
    let circuit = load(path)?;
    let s = circuit.stats();
    let digest = circuit.digest().to_hex();
    if as_json {
        let inputs: Vec<Value> = s
            .inputs
            .iter()
            .map(|(name, party, width)| json!({"name": name, "width": width, "party": party.as_str()}))
            .collect();
        let outputs: Vec<Value> = s
            .outputs
            .iter()
            .map(|(name, vis, width)| json!({"name": name, "width": width, "visibility": vis.as_str()}))
            .collect();
        let obj = json!({
            "and": s.and,
            "xor": s.xor,
            "inv": s.inv,
            "gates": s.gates,
            "wires": s.wires,
            "and_depth": s.and_depth,
            "inputs": inputs,
            "outputs": outputs,
            "garbled_bytes": s.and * 32,
            "digest": digest,
        });
        println!("{obj}");
        return Ok(());
    }
    let list = |items: Vec<String>| if items.is_empty() { "none".to_owned() } else { items.join(", ") };
    println!("circuit    {}", path.display());
    println!("digest     blake3:{digest}");
    println!("gates      {} (AND {}, XOR {}, INV {})", s.gates, s.and, s.xor, s.inv);
    println!("AND depth  {}", s.and_depth);
    println!("wires      {}", s.wires);
    println!(
        "inputs     {}",
        list(s.inputs.iter().map(|(n, p, w)| format!("{n}: {w} bits from the {p}")).collect())
    );
    println!(
        "outputs    {}",
        list(
            s.outputs.iter().map(|(n, v, w)| format!("{n}: {w} bits to {}", values::audience(*v))).collect()
        )
    );
    println!("garbled    {} bytes (32 per AND gate with half-gates)", s.and * 32);
    Ok(())
}

fn eval(path: &Path, given: &[String], as_json: bool) -> Result<()> {
    let circuit = load(path)?;
    let assignments = values::parse_assignments(given)?;
    let mut bits = Vec::with_capacity(circuit.inputs().len());
    for input in circuit.inputs() {
        let text = assignments.get(input.name.as_str()).ok_or_else(|| {
            anyhow!("missing input `{}` ({} bits): add --input {}=VALUE", input.name, input.width, input.name)
        })?;
        bits.push(
            values::parse_integer(text, input.width).with_context(|| format!("input `{}`", input.name))?,
        );
    }
    if let Some(unknown) = assignments.keys().find(|k| circuit.input(k).is_none()) {
        let names: Vec<&str> = circuit.inputs().iter().map(|i| i.name.as_str()).collect();
        bail!("unknown input `{unknown}`: this circuit's inputs are {}", names.join(", "));
    }
    let outputs = circuit.eval_bits(&bits)?;
    if as_json {
        let mut map = Map::new();
        for (o, v) in circuit.outputs().iter().zip(&outputs) {
            map.insert(o.name.clone(), Value::String(values::format_hex(v)));
        }
        println!("{}", json!({ "outputs": map }));
    } else {
        for (o, v) in circuit.outputs().iter().zip(&outputs) {
            println!("{} = {}", o.name, values::format_hex(v));
        }
    }
    Ok(())
}
