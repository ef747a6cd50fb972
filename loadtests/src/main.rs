//! `lyt-load`: simulated visitors and counsellors against lyt, or the same load against a
//! peer. See `docs/performance.md`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use lyt_loadtests::orchestrate;
use lyt_loadtests::scenario::{Kind, Scenario, Target};

#[derive(Parser, Debug)]
#[command(name = "lyt-load", about = "Load generator for lyt and its peers")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a scenario: a TOML file, overridden by flags.
    Run(Box<RunArgs>),
    /// (Internal) one generator process of a sharded run.
    #[command(hide = true)]
    Shard {
        #[arg(long)]
        scenario_json: String,
        #[arg(long)]
        index: u32,
        #[arg(long)]
        count: u32,
        #[arg(long)]
        t0_ns: u64,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Scenario file (TOML); flags override its values.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Where to write report.json and the plots.
    #[arg(long, default_value = "loadtest-out")]
    out: PathBuf,
    /// Name for the report.
    #[arg(long)]
    name: Option<String>,
    /// Shape of the load.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Server under test.
    #[arg(long, value_enum)]
    target: Option<Target>,
    /// A node's base URL (repeat for several nodes).
    #[arg(long = "node")]
    nodes: Vec<String>,
    /// Concurrent chats.
    #[arg(long)]
    chats: Option<u32>,
    /// Chats set up per second (0: all at once).
    #[arg(long)]
    ramp_per_s: Option<f64>,
    /// Seconds of the measured phase.
    #[arg(long)]
    duration_s: Option<f64>,
    /// Milliseconds between messages of one side.
    #[arg(long)]
    interval_ms: Option<f64>,
    /// Characters per message.
    #[arg(long)]
    msg_bytes: Option<usize>,
    /// Seconds into the measured phase of the storm or churn.
    #[arg(long)]
    event_at_s: Option<f64>,
    /// Generator processes (0: one per 16,000 connections).
    #[arg(long)]
    shards: Option<u32>,
    /// A server process to sample from /proc (repeat).
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,
    /// lyt's demo directory.
    #[arg(long)]
    demo_dir: Option<PathBuf>,
}

impl RunArgs {
    fn scenario(&self) -> anyhow::Result<Scenario> {
        let mut sc = match &self.scenario {
            Some(p) => Scenario::from_toml(&std::fs::read_to_string(p)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            None => Scenario::default(),
        };
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { sc.$f = v; } )* };
        }
        set!(
            name,
            kind,
            target,
            chats,
            ramp_per_s,
            duration_s,
            interval_ms,
            msg_bytes,
            event_at_s,
            shards,
            demo_dir
        );
        if !self.nodes.is_empty() {
            sc.nodes = self.nodes.clone();
        }
        if !self.server_pids.is_empty() {
            sc.server_pids = self.server_pids.clone();
        }
        sc.check()?;
        Ok(sc)
    }
}

#[allow(clippy::print_stdout, reason = "the summary is the command's output")]
fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.cmd {
        Cmd::Run(args) => {
            let sc = args.scenario()?;
            let report = rt.block_on(orchestrate::run(sc, true))?;
            report.write(&args.out)?;
            println!("{}", report.summary());
            println!("report: {}", args.out.join("report.json").display());
        }
        Cmd::Shard {
            scenario_json,
            index,
            count,
            t0_ns,
        } => {
            let sc: Scenario = serde_json::from_str(&scenario_json)?;
            rt.block_on(orchestrate::child(sc, index, count, t0_ns))?;
        }
    }
    Ok(())
}
