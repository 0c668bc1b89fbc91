//! `loadtest`: drives y-websocket servers (ardoise, the reference Node server, any other on this
//! machine) with simulated Yjs clients and reports latency, throughput, convergence and the
//! server's CPU and memory. Modes: `run` (etherpad-load-test flags), `ramp` (capacity until an
//! SLO breaks), `create-storm` (new pads over background load), `connect` (idle connections).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use loadtest::proc::Process;
use loadtest::report::{self, Report};
use loadtest::scenario::{Plan, Scenario};
use loadtest::target::Target;
use loadtest::{ramp, run as runner};

/// Load generator for y-websocket servers. Connects only to this machine (loopback).
#[derive(Debug, Parser)]
#[command(name = "loadtest", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pads with authors typing and lurkers reading (etherpad-load-test flags).
    Run(RunArgs),
    /// Adds authors and lurkers to one pad until p99 exceeds --slo or edits pile up unseen;
    /// reports the largest number of authors sustained.
    Ramp(RampArgs),
    /// Opens brand-new pads at --rate per second while `run` load goes on; counts created,
    /// refused (503 at upgrade or close 1013) and failed.
    CreateStorm(StormArgs),
    /// Holds idle connections over pads and reports the server's memory per connection.
    Connect(ConnectArgs),
    /// No server: what one small write per delivery costs the kernel on loopback (the writing
    /// thread's CPU per 1,000 writes), the floor of a server that sends each delivery alone.
    Floor(FloorArgs),
    /// Prints a Markdown table of JSON reports written with `--json`.
    Table {
        /// Report files, in the order of the rows.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `floor`'s flags; the defaults are scenario 8's deliveries (9,000 connections, 43,500 frames
/// of about 40 bytes a second).
#[derive(Debug, Args)]
struct FloorArgs {
    /// Connection pairs.
    #[arg(long, default_value_t = 9000)]
    conns: usize,
    /// Writes a second, over all connections.
    #[arg(long, default_value_t = 43_500)]
    rate: u64,
    /// Bytes per write.
    #[arg(long, default_value_t = 40)]
    bytes: usize,
    /// Seconds of writing.
    #[arg(long, default_value_t = 20.0)]
    secs: f64,
    /// Core of the writing thread.
    #[arg(long, default_value_t = 0)]
    writer_core: usize,
    /// Core of the reading thread.
    #[arg(long, default_value_t = 1)]
    reader_core: usize,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// What every mode takes.
#[derive(Debug, Args)]
struct Common {
    /// WebSocket endpoint: documents are at `{url}/{name}`, or at `{doc}` if the URL holds it
    /// (e.g. `ws://127.0.0.1:8080/ws/{doc}`). Loopback hosts only.
    #[arg(long)]
    url: String,
    /// The server's process id, to report its CPU time and memory from /proc; repeated for a
    /// server made of several processes (nodes, HAProxy, PostgreSQL), counted together with
    /// their children.
    #[arg(long, alias = "server-pid")]
    pid: Vec<u32>,
    /// Name of the server in the report.
    #[arg(long, default_value = "server")]
    label: String,
    /// Print the report as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// No progress line on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Clients connect at this rate before the measured phase, per second.
    #[arg(long)]
    connect_rate: Option<f64>,
}

/// The load of `run` (and the background load of `create-storm`).
#[derive(Debug, Args)]
struct Load {
    /// Start from a PEERS.md preset (a–e); the flags below override its parts.
    #[arg(long, value_enum, default_value = "custom")]
    scenario: Scenario,
    /// Pads under load.
    #[arg(long, alias = "docs")]
    pads: Option<usize>,
    /// Authors (writers) per pad.
    #[arg(long, alias = "writers")]
    authors: Option<usize>,
    /// Lurkers (readers) per pad.
    #[arg(long, alias = "readers")]
    lurkers: Option<usize>,
    /// Length of the measured phase: `30`, `30s` or `500ms` (bare numbers are seconds).
    #[arg(long, value_parser = seconds)]
    duration: Option<Duration>,
    /// Characters each edit inserts.
    #[arg(long)]
    chars: Option<usize>,
    /// Pause between an author's edits: `400ms` or `0.4s` (bare numbers are milliseconds).
    #[arg(long, value_parser = millis)]
    type_every: Option<Duration>,
    /// After each edit, the author also moves its cursor: an awareness update sent with the
    /// edit's update, as an editor does on every keystroke.
    #[arg(long)]
    cursor: bool,
    /// Lurkers count frames without decoding them (one core drives many more); latency and
    /// convergence are then measured by the authors.
    #[arg(long)]
    count_lurkers: bool,
    /// Longest wait for outstanding deliveries after the last edit, in seconds.
    #[arg(long)]
    drain_secs: Option<f64>,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    load: Load,
}

#[derive(Debug, Args)]
struct StormArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    load: Load,
    /// New pads opened per second.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// New pads opened in all.
    #[arg(long, default_value_t = 500)]
    count: usize,
}

#[derive(Debug, Args)]
struct ConnectArgs {
    #[command(flatten)]
    common: Common,
    /// Idle connections to hold.
    #[arg(long, default_value_t = 1000)]
    conns: usize,
    /// Pads they are spread over.
    #[arg(long, default_value_t = 100)]
    pads: usize,
    /// How long to hold them once connected: `10`, `10s` (bare numbers are seconds).
    #[arg(long, value_parser = seconds, default_value = "5")]
    hold: Duration,
}

#[derive(Debug, Args)]
struct RampArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    ramp: ramp::Settings,
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
    match cli.command {
        Command::Table { files } => table(&files),
        Command::Floor(args) => {
            anyhow::ensure!(
                args.secs.is_finite() && args.secs > 0.0,
                "--secs must be positive"
            );
            let floor = loadtest::floor::measure(&loadtest::floor::Options {
                conns: args.conns,
                rate: args.rate,
                bytes: args.bytes,
                duration: std::time::Duration::from_secs_f64(args.secs),
                writer_core: args.writer_core,
                reader_core: args.reader_core,
            })?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&floor)?);
            } else {
                print!("{}", floor.human());
            }
            Ok(())
        }
        Command::Run(args) => {
            let plan = plan(&args.common, &args.load)?;
            execute(&args.common, plan)
        }
        Command::CreateStorm(args) => {
            let mut plan = plan(&args.common, &args.load)?;
            plan.storm_conns = args.count;
            plan.storm_rate = args.rate;
            execute(&args.common, plan)
        }
        Command::Connect(args) => {
            anyhow::ensure!(args.pads >= 1, "--pads must be at least 1");
            let mut plan = Scenario::C.preset();
            plan.docs = args.pads;
            plan.readers = args.conns.div_ceil(args.pads);
            plan.duration_secs = args.hold.as_secs_f64();
            if let Some(rate) = args.common.connect_rate {
                plan.connect_rate = rate;
            }
            execute(&args.common, plan)
        }
        Command::Ramp(args) => {
            let target = Target::parse(&args.common.url)?;
            args.ramp.validate()?;
            let server = server_process(&args.common.pid)?;
            let report = runtime()?.block_on(ramp::execute(ramp::Options {
                target,
                settings: args.ramp,
                server,
                label: args.common.label.clone(),
                progress: !args.common.quiet,
            }))?;
            if args.common.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.human());
            }
            Ok(())
        }
    }
}

/// The plan of `run`: the preset, then the flags.
fn plan(common: &Common, load: &Load) -> Result<Plan> {
    let mut plan = load.scenario.preset();
    if let Some(v) = load.pads {
        plan.docs = v;
    }
    if let Some(v) = load.authors {
        plan.writers = v;
    }
    if let Some(v) = load.lurkers {
        plan.readers = v;
    }
    if let Some(v) = load.duration {
        plan.duration_secs = v.as_secs_f64();
    }
    if let Some(v) = load.chars {
        plan.chars = v;
    }
    if let Some(v) = load.type_every {
        anyhow::ensure!(!v.is_zero(), "--type-every must be positive");
        plan.rate = 1.0 / v.as_secs_f64();
    }
    if let Some(v) = load.drain_secs {
        plan.drain_secs = v;
    }
    if let Some(v) = common.connect_rate {
        plan.connect_rate = v;
    }
    plan.count_readers = load.count_lurkers;
    plan.cursor = load.cursor;
    Ok(plan)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

/// The server's processes given with `--pid`, if any.
fn server_process(pids: &[u32]) -> Result<Option<Process>> {
    (!pids.is_empty()).then(|| Process::group(pids)).transpose()
}

fn execute(common: &Common, plan: Plan) -> Result<()> {
    let target = Target::parse(&common.url)?;
    plan.validate()?;
    let server = server_process(&common.pid)?;
    let report = runtime()?.block_on(runner::execute(runner::Options {
        target,
        plan,
        server,
        label: common.label.clone(),
        progress: !common.quiet,
    }))?;
    if common.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.human());
    }
    anyhow::ensure!(
        report.synced > 0,
        "no client could connect to {}",
        common.url
    );
    Ok(())
}

fn table(files: &[PathBuf]) -> Result<()> {
    let mut reports = Vec::new();
    let mut ramps = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        if let Ok(r) = serde_json::from_str::<ramp::RampReport>(&text) {
            ramps.push(r);
        } else {
            reports.push(
                serde_json::from_str::<Report>(&text)
                    .with_context(|| format!("parsing {}", f.display()))?,
            );
        }
    }
    if !reports.is_empty() {
        print!("{}", report::table(&reports));
    }
    if !ramps.is_empty() {
        print!("{}", ramp::table(&ramps));
    }
    Ok(())
}

/// `30`, `30s`, `1.5s`, `500ms`: bare numbers in seconds.
fn seconds(s: &str) -> Result<Duration> {
    parse_duration(s, 1.0)
}

/// `400ms`, `0.4s`: bare numbers in milliseconds.
fn millis(s: &str) -> Result<Duration> {
    parse_duration(s, 0.001)
}

fn parse_duration(s: &str, bare_unit_secs: f64) -> Result<Duration> {
    let s = s.trim();
    let (number, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, bare_unit_secs)
    };
    let x: f64 = number
        .trim()
        .parse()
        .with_context(|| format!("not a duration: {s:?}"))?;
    let secs = x * unit;
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        bail!("duration out of range: {s:?}");
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(millis("400ms").ok(), Some(Duration::from_millis(400)));
        assert_eq!(millis("400").ok(), Some(Duration::from_millis(400)));
        assert_eq!(millis("0.4s").ok(), Some(Duration::from_millis(400)));
        assert_eq!(seconds("30").ok(), Some(Duration::from_secs(30)));
        assert_eq!(seconds("30s").ok(), Some(Duration::from_secs(30)));
        assert!(seconds("-1").is_err());
        assert!(seconds("x").is_err());
    }

    #[test]
    fn etherpad_flags_make_a_plan() {
        let cli = Cli::try_parse_from([
            "loadtest",
            "run",
            "--url",
            "ws://127.0.0.1:1/ws",
            "--pads",
            "3",
            "--authors",
            "2",
            "--lurkers",
            "5",
            "--duration",
            "7",
            "--type-every",
            "400ms",
        ])
        .expect("valid flags");
        let Command::Run(args) = cli.command else {
            panic!("run expected");
        };
        let p = plan(&args.common, &args.load).expect("plan");
        assert_eq!((p.docs, p.writers, p.readers, p.chars), (3, 2, 5, 4));
        assert_eq!(p.duration_secs, 7.0);
        assert!((p.rate - 2.5).abs() < 1e-9);
        assert!(!p.cursor, "off by default");
        p.validate().expect("within bounds");
    }

    #[test]
    fn cursor_flag_reaches_the_plan() {
        let cli = Cli::try_parse_from([
            "loadtest",
            "run",
            "--url",
            "ws://127.0.0.1:1/ws",
            "--cursor",
        ])
        .expect("valid flags");
        let Command::Run(args) = cli.command else {
            panic!("run expected");
        };
        assert!(plan(&args.common, &args.load).expect("plan").cursor);
    }
}
