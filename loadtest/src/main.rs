//! `loadtest`: drives y-websocket servers (ardoise, the reference Node server, any other on this
//! machine) with simulated Yjs clients and reports latency, throughput, convergence and the
//! server's CPU and memory. The load shapes are those of `PEERS.md`.

mod client;
mod proc;
mod report;
mod run;
mod scenario;
mod stats;
mod target;
mod track;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::proc::Process;
use crate::report::Report;
use crate::scenario::Scenario;
use crate::target::Target;

/// Load generator for y-websocket servers. Connects only to this machine (loopback).
#[derive(Debug, Parser)]
#[command(
    name = "loadtest",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prints a Markdown table of JSON reports written with `--json`.
    Table {
        /// Report files, in the order of the rows.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// WebSocket endpoint: documents are at `{url}/{name}`, or at `{doc}` if the URL holds it.
    /// Loopback hosts only.
    #[arg(long, required = true)]
    url: Option<String>,
    /// Load shape preset (PEERS.md); the flags below override its parts.
    #[arg(long, value_enum, default_value = "a")]
    scenario: Scenario,
    /// Documents under load.
    #[arg(long)]
    docs: Option<usize>,
    /// Writers per document.
    #[arg(long)]
    writers: Option<usize>,
    /// Readers per document.
    #[arg(long)]
    readers: Option<usize>,
    /// Edits per second of each writer.
    #[arg(long)]
    rate: Option<f64>,
    /// Length of the measured phase, in seconds.
    #[arg(long)]
    duration_secs: Option<f64>,
    /// Connections to brand-new documents opened during the measured phase.
    #[arg(long)]
    storm_conns: Option<usize>,
    /// Rate of those connections, per second.
    #[arg(long)]
    storm_rate: Option<f64>,
    /// Rate at which the documents' clients connect before the measured phase, per second.
    #[arg(long)]
    connect_rate: Option<f64>,
    /// Longest wait for outstanding deliveries after the last edit, in seconds.
    #[arg(long)]
    drain_secs: Option<f64>,
    /// The server's process id, to report its CPU time and memory from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Name of the server in the report.
    #[arg(long, default_value = "server")]
    label: String,
    /// Print the report as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// No progress line on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(Command::Table { files }) = cli.command {
        return table(&files);
    }
    let args = cli.run;
    let url = args.url.context("--url is required")?;
    let target = Target::parse(&url)?;
    let mut plan = args.scenario.preset();
    macro_rules! set {
        ($($field:ident),*) => { $(if let Some(v) = args.$field { plan.$field = v; })* };
    }
    set!(
        docs,
        writers,
        readers,
        rate,
        duration_secs,
        storm_conns,
        storm_rate,
        connect_rate,
        drain_secs
    );
    plan.validate()?;
    let server = args.server_pid.map(Process::new).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let report = runtime.block_on(run::execute(run::Options {
        target,
        plan,
        server,
        label: args.label,
        progress: !args.quiet,
    }))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.human());
    }
    anyhow::ensure!(report.synced > 0, "no client could connect to {url}");
    Ok(())
}

fn table(files: &[PathBuf]) -> Result<()> {
    let reports = files
        .iter()
        .map(|f| {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            serde_json::from_str::<Report>(&text)
                .with_context(|| format!("parsing {}", f.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    print!("{}", report::table(&reports));
    Ok(())
}
