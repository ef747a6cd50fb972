//! The parent process: starts the shards (in this process, or as child processes of this
//! binary), samples the server from `/proc`, shows progress and builds the report.

use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt as _;

use crate::procmon::{self, Sample};
use crate::report::Report;
use crate::run::{Timeline, run_shard};
use crate::scenario::Scenario;
use crate::schedule::Clock;
use crate::stats::Snapshot;

/// A line a child shard writes on its standard output.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardLine {
    /// Counts so far: sent, received, connections, errors.
    Progress([u64; 4]),
    /// The final counts.
    Result(Box<Snapshot>),
    /// The shard failed before its clients ran.
    Failed(String),
}

/// Seconds from now to the start of the run: time for the shards to start and log in.
const START_DELAY_S: f64 = 2.0;

fn counts(s: &Snapshot) -> [u64; 4] {
    [s.sent, s.received, s.connections, s.error_total()]
}

/// Runs `sc` with all its shards and returns the report. `show_progress` draws a progress bar
/// on standard error.
pub async fn run(sc: Scenario, show_progress: bool) -> anyhow::Result<Report> {
    sc.check()?;
    let shards = sc.shard_count();
    let clock = Clock::new();
    let start_delay = if shards > 1 {
        START_DELAY_S + 1.0
    } else {
        START_DELAY_S
    };
    let t0_ns = clock.now_ns() + (start_delay * 1e9) as u64;
    let t0 = Instant::now() + Duration::from_secs_f64(start_delay);
    let tl = Timeline::of(&sc);
    let bar = if show_progress {
        indicatif::ProgressBar::new(tl.end_s.ceil() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} s {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // The server, and the generator's own processes, sampled every second from just before
    // the start.
    let pids = sc.server_pids.clone();
    let gen_pids = Arc::new(Mutex::new(vec![std::process::id()]));
    let gen_pids_s = Arc::clone(&gen_pids);
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until((t0 - Duration::from_millis(500)).into()).await;
        let baseline = procmon::sample(&pids, -0.5);
        let mut samples: Vec<Sample> = Vec::new();
        let mut gen_samples: Vec<Sample> = Vec::new();
        let mut k = 0u32;
        loop {
            tokio::time::sleep_until((t0 + Duration::from_secs(u64::from(k))).into()).await;
            if let Some(s) = procmon::sample(&pids, f64::from(k)) {
                samples.push(s);
            }
            let g = gen_pids_s
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(s) = procmon::sample(&g, f64::from(k)) {
                gen_samples.push(s);
            }
            if f64::from(k) > tl.end_s + 1.0 {
                break;
            }
            k += 1;
        }
        (baseline, samples, gen_samples)
    });
    let mut total = Snapshot::default();
    if shards == 1 {
        let b = bar.clone();
        let start = t0;
        total = run_shard(sc.clone(), 0, 1, t0_ns, move |s| {
            let [sent, rec, conns, errs] = counts(s);
            b.set_position(start.elapsed().as_secs());
            b.set_message(format!(
                "conns {conns} sent {sent} recv {rec} errors {errs}"
            ));
        })
        .await?;
    } else {
        let exe = std::env::current_exe()?;
        let json = serde_json::to_string(&sc)?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u32, ShardLine)>();
        let mut children = Vec::new();
        for i in 0..shards {
            let mut child = tokio::process::Command::new(&exe)
                .args([
                    "shard",
                    "--index",
                    &i.to_string(),
                    "--count",
                    &shards.to_string(),
                ])
                .args(["--t0-ns", &t0_ns.to_string(), "--scenario-json", &json])
                .stdout(Stdio::piped())
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .spawn()?;
            let out = child
                .stdout
                .take()
                .ok_or_else(|| anyhow::anyhow!("shard {i}: no stdout"))?;
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(out).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    if let Ok(line) = serde_json::from_str::<ShardLine>(&l) {
                        let _ = tx.send((i, line));
                    }
                }
            });
            if let Some(pid) = child.id() {
                gen_pids
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(pid);
            }
            children.push(child);
        }
        drop(tx);
        let mut progress = vec![[0u64; 4]; shards as usize];
        let mut done = 0;
        while let Some((i, line)) = rx.recv().await {
            match line {
                ShardLine::Progress(c) => {
                    progress[i as usize] = c;
                    let sum = progress.iter().fold([0u64; 4], |mut a, c| {
                        for (x, y) in a.iter_mut().zip(c) {
                            *x += y;
                        }
                        a
                    });
                    bar.set_position(t0.elapsed().as_secs());
                    bar.set_message(format!(
                        "conns {} sent {} recv {} errors {}",
                        sum[2], sum[0], sum[1], sum[3]
                    ));
                }
                ShardLine::Result(s) => {
                    total.merge(&s);
                    done += 1;
                }
                ShardLine::Failed(e) => anyhow::bail!("shard {i} failed: {e}"),
            }
        }
        for mut c in children {
            let _ = c.wait().await;
        }
        anyhow::ensure!(done == shards, "only {done} of {shards} shards reported");
    }
    bar.finish_and_clear();
    let (baseline, samples, gen_samples) = sampler.await?;
    let mut report = Report::build(&sc, shards, &total, baseline, &samples);
    report.add_generator(&gen_samples);
    Ok(report)
}

/// The child side: runs one shard and writes [`ShardLine`]s on standard output.
pub async fn child(sc: Scenario, index: u32, count: u32, t0_ns: u64) -> anyhow::Result<()> {
    use std::io::Write as _;
    let emit = |l: &ShardLine| {
        if let Ok(j) = serde_json::to_string(l) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{j}");
            let _ = out.flush();
        }
    };
    if let Err(e) = sc.check() {
        emit(&ShardLine::Failed(format!("{e:#}")));
        return Ok(());
    }
    anyhow::ensure!(
        index < count,
        "shard index {index} is not below the count {count}"
    );
    match run_shard(sc, index, count, t0_ns, |s| {
        emit(&ShardLine::Progress(counts(s)))
    })
    .await
    {
        Ok(s) => emit(&ShardLine::Result(Box::new(s))),
        Err(e) => emit(&ShardLine::Failed(format!("{e:#}"))),
    }
    Ok(())
}
