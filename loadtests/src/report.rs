//! The report of a run: a JSON file with every figure, and PNG plots of latency and
//! throughput over time (drawn with `plotters` on its bitmap backend, with a bundled font, so
//! no system fonts are needed).

use std::path::Path;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::procmon::Sample;
use crate::run::Timeline;
use crate::scenario::{Kind, Scenario};
use crate::stats::{Percentiles, Snapshot};

/// The font of the plots: DejaVu Sans Mono (Bitstream Vera licence), bundled.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");

/// One second of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Second {
    /// Second of the run.
    pub t: usize,
    /// Messages sent.
    pub sent: u64,
    /// Messages received.
    pub received: u64,
    /// Connections set up.
    pub connects: u64,
    /// Latency of the messages received in this second.
    pub latency: Percentiles,
    /// Server CPU used in this second, in cores (1.0 = one core busy).
    pub server_cores: Option<f64>,
    /// Server resident memory at the end of this second, MiB.
    pub server_rss_mib: Option<f64>,
    /// CPU used by the generator's own processes in this second, in cores.
    #[serde(default)]
    pub generator_cores: Option<f64>,
}

/// What the server used, from `/proc`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerUse {
    /// CPU seconds in the measured phase.
    pub measure_cpu_s: f64,
    /// Messages received by clients in the measured phase.
    pub measure_messages: u64,
    /// Server CPU per relayed message in the measured phase, µs.
    pub cpu_us_per_message: Option<f64>,
    /// CPU seconds while connections were set up (start of the run to the measured phase).
    pub setup_cpu_s: f64,
    /// Connections set up per server CPU second during set-up.
    pub connections_per_cpu_s: Option<f64>,
    /// Resident memory before any client connected, MiB.
    pub rss_before_mib: f64,
    /// Resident memory at the start of the measured phase, MiB.
    pub rss_measure_mib: f64,
    /// (rss_measure - rss_before) / connections, KiB: memory per connection.
    pub kib_per_connection: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The scenario as run.
    pub scenario: Scenario,
    /// Its phases, in seconds from the start.
    pub timeline: Timeline,
    /// Generator processes.
    pub shards: u32,
    /// The machine.
    pub machine: String,
    /// Messages sent.
    pub sent: u64,
    /// Messages received.
    pub received: u64,
    /// Sent and never received.
    pub lost: u64,
    /// Received twice.
    pub duplicates: u64,
    /// Found missing in a sequence.
    pub gaps: u64,
    /// Errors by code.
    pub errors: std::collections::BTreeMap<String, u64>,
    /// Connections set up.
    pub connections: u64,
    /// Chats that became ready.
    pub chats_ready: u64,
    /// End-to-end latency of every message.
    pub latency: Percentiles,
    /// Latency of the messages received in the measured phase.
    pub latency_measured: Percentiles,
    /// Time to open a connection and get the server's first frame.
    pub connect: Percentiles,
    /// Time from a visitor's join (or subscription) to a ready chat.
    pub chat_setup: Percentiles,
    /// Connections set up per second, at the busiest second.
    pub peak_connects_per_s: u64,
    /// Messages received per second in the measured phase, on average.
    pub throughput_per_s: f64,
    /// Server resource use (when server pids were given).
    pub server: Option<ServerUse>,
    /// CPU seconds of the generator's own processes over the whole run (it shares the
    /// machine with the server: a busy generator delays messages too).
    #[serde(default)]
    pub generator_cpu_s: Option<f64>,
    /// Per second.
    pub seconds: Vec<Second>,
}

/// A one-line description of this machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {kernel}")
}

/// The sample nearest `t_s` (samples are taken every second).
fn at(samples: &[Sample], t_s: f64) -> Option<Sample> {
    samples
        .iter()
        .min_by(|a, b| (a.t_s - t_s).abs().total_cmp(&(b.t_s - t_s).abs()))
        .copied()
}

impl Report {
    /// Builds the report from the merged counts and the server samples (`baseline` taken
    /// before any client connected).
    pub fn build(
        sc: &Scenario,
        shards: u32,
        snap: &Snapshot,
        baseline: Option<Sample>,
        samples: &[Sample],
    ) -> Self {
        let tl = Timeline::of(sc);
        let n = snap
            .sent_per_s
            .len()
            .max(snap.received_per_s.len())
            .max(snap.latency_per_s.len())
            .max(snap.connects_per_s.len());
        let get = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
        let seconds: Vec<Second> = (0..n)
            .map(|t| {
                let (cores, rss) = match (at(samples, t as f64), at(samples, t as f64 + 1.0)) {
                    (Some(a), Some(b)) if b.t_s > a.t_s => (
                        Some((b.cpu_s - a.cpu_s) / (b.t_s - a.t_s)),
                        Some(b.rss_bytes as f64 / 1_048_576.0),
                    ),
                    _ => (None, None),
                };
                Second {
                    t,
                    sent: get(&snap.sent_per_s, t),
                    received: get(&snap.received_per_s, t),
                    connects: get(&snap.connects_per_s, t),
                    latency: Percentiles::of(snap.latency_per_s.get(t).unwrap_or(&None)),
                    server_cores: cores,
                    server_rss_mib: rss,
                    generator_cores: None,
                }
            })
            .collect();
        // The measured phase, in whole seconds.
        let m0 = tl.measure_s.ceil() as usize;
        let m1 = (tl.send_end_s.floor() as usize).max(m0);
        let mut measured = None;
        let mut measure_messages = 0;
        for t in m0..m1.min(n) {
            if let Some(Some(h)) = snap.latency_per_s.get(t) {
                match &mut measured {
                    None => measured = Some(h.clone()),
                    Some(acc) => {
                        let _ = hdrhistogram::Histogram::add(acc, h);
                    }
                }
            }
            measure_messages += get(&snap.received_per_s, t);
        }
        let span = (m1 - m0).max(1) as f64;
        let server = baseline.and_then(|base| {
            let s0 = at(samples, m0 as f64)?;
            let s1 = at(samples, m1 as f64)?;
            let cpu = (s1.cpu_s - s0.cpu_s).max(0.0);
            let setup_cpu = (s0.cpu_s - base.cpu_s).max(0.0);
            let mib = |b: u64| b as f64 / 1_048_576.0;
            Some(ServerUse {
                measure_cpu_s: cpu,
                measure_messages,
                cpu_us_per_message: (measure_messages > 0)
                    .then(|| cpu * 1e6 / measure_messages as f64),
                setup_cpu_s: setup_cpu,
                connections_per_cpu_s: (setup_cpu > 0.0)
                    .then(|| snap.connections as f64 / setup_cpu),
                rss_before_mib: mib(base.rss_bytes),
                rss_measure_mib: mib(s0.rss_bytes),
                kib_per_connection: (snap.connections > 0).then(|| {
                    (s0.rss_bytes as f64 - base.rss_bytes as f64) / 1024.0 / snap.connections as f64
                }),
            })
        });
        Self {
            scenario: sc.clone(),
            timeline: tl,
            shards,
            machine: machine(),
            sent: snap.sent,
            received: snap.received,
            lost: snap.lost(),
            duplicates: snap.duplicates,
            gaps: snap.gaps,
            errors: snap.errors.clone(),
            connections: snap.connections,
            chats_ready: snap.chats_ready,
            latency: Percentiles::of(&snap.latency),
            latency_measured: Percentiles::of(&measured),
            connect: Percentiles::of(&snap.connect),
            chat_setup: Percentiles::of(&snap.chat_setup),
            peak_connects_per_s: snap.connects_per_s.iter().copied().max().unwrap_or(0),
            throughput_per_s: measure_messages as f64 / span,
            server,
            generator_cpu_s: None,
            seconds,
        }
    }

    /// Adds the generator's own CPU use, sampled like the server's.
    pub fn add_generator(&mut self, samples: &[Sample]) {
        // Child processes leave before the last sample: only increases count.
        let total: f64 = samples
            .windows(2)
            .map(|w| (w[1].cpu_s - w[0].cpu_s).max(0.0))
            .sum();
        self.generator_cpu_s = (samples.len() >= 2).then_some(total);
        for s in &mut self.seconds {
            if let (Some(a), Some(b)) = (at(samples, s.t as f64), at(samples, s.t as f64 + 1.0))
                && b.t_s > a.t_s
                && b.cpu_s >= a.cpu_s
            {
                s.generator_cores = Some((b.cpu_s - a.cpu_s) / (b.t_s - a.t_s));
            }
        }
    }

    /// A short human summary.
    pub fn summary(&self) -> String {
        let l = &self.latency_measured;
        let mut s = format!(
            "{} ({:?} {:?}, {} chats, {} shard(s)): sent {} received {} lost {} duplicates {} errors {}\n\
             latency (measured phase) p50 {} µs p99 {} µs p99.9 {} µs max {} µs; {:.0} msg/s\n\
             connections {} (peak {}/s, connect p99 {} µs); chats ready {} (setup p99 {} µs)",
            self.scenario.name,
            self.scenario.target,
            self.scenario.kind,
            self.scenario.chats,
            self.shards,
            self.sent,
            self.received,
            self.lost,
            self.duplicates,
            self.errors.values().sum::<u64>(),
            l.p50_us,
            l.p99_us,
            l.p999_us,
            l.max_us,
            self.throughput_per_s,
            self.connections,
            self.peak_connects_per_s,
            self.connect.p99_us,
            self.chats_ready,
            self.chat_setup.p99_us,
        );
        if !self.errors.is_empty() {
            s.push_str(&format!("\nerrors: {:?}", self.errors));
        }
        if let Some(g) = self.generator_cpu_s {
            let peak = self
                .seconds
                .iter()
                .filter_map(|s| s.generator_cores)
                .fold(0.0, f64::max);
            s.push_str(&format!(
                "\ngenerator: {g:.1} CPU s in all, busiest second {peak:.2} cores"
            ));
        }
        if let Some(sv) = &self.server {
            s.push_str(&format!(
                "\nserver: {:.2} CPU s measured, {} per message; setup {:.2} CPU s ({} conn per CPU s); RSS {:.1} → {:.1} MiB ({} per connection)",
                sv.measure_cpu_s,
                sv.cpu_us_per_message.map_or("-".into(), |v| format!("{v:.1} µs")),
                sv.setup_cpu_s,
                sv.connections_per_cpu_s.map_or("-".into(), |v| format!("{v:.0}")),
                sv.rss_before_mib,
                sv.rss_measure_mib,
                sv.kib_per_connection.map_or("-".into(), |v| format!("{v:.1} KiB")),
            ));
        }
        s
    }

    /// Writes `report.json`, `latency.png` and `throughput.png` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(self)?)?;
        if self.scenario.kind != Kind::Idle {
            self.plot_latency(&dir.join("latency.png"))?;
        }
        self.plot_throughput(&dir.join("throughput.png"))?;
        Ok(())
    }

    fn title(&self, what: &str) -> String {
        format!(
            "{what}: {:?} {:?}, {} chats",
            self.scenario.target, self.scenario.kind, self.scenario.chats
        )
    }

    /// p50, p99 and p99.9 per second, log scale.
    pub fn plot_latency(&self, path: &Path) -> anyhow::Result<()> {
        register_font();
        let root = BitMapBackend::new(path, (900, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let pts = |f: fn(&Percentiles) -> u64| -> Vec<(f64, f64)> {
            self.seconds
                .iter()
                .filter(|s| s.latency.count > 0)
                .map(|s| (s.t as f64, (f(&s.latency) as f64 / 1000.0).max(0.001)))
                .collect()
        };
        let series = [
            ("p50", pts(|p| p.p50_us), BLUE),
            ("p99", pts(|p| p.p99_us), RED),
            ("p99.9", pts(|p| p.p999_us), BLACK),
        ];
        let ymax = series
            .iter()
            .flat_map(|s| s.1.iter().map(|p| p.1))
            .fold(1.0, f64::max)
            * 2.0;
        let xmax = (self.seconds.len() as f64).max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(self.title("End-to-end latency"), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..xmax, (0.01f64..ymax).log_scale())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc("ms")
            .draw()
            .map_err(plot_err)?;
        for (name, data, color) in series {
            chart
                .draw_series(LineSeries::new(data, color.stroke_width(2)))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
        Ok(())
    }

    /// Messages sent and received and connections per second; server CPU in cores.
    pub fn plot_throughput(&self, path: &Path) -> anyhow::Result<()> {
        register_font();
        let root = BitMapBackend::new(path, (900, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let pts = |f: fn(&Second) -> f64| -> Vec<(f64, f64)> {
            self.seconds.iter().map(|s| (s.t as f64, f(s))).collect()
        };
        let series = [
            ("sent/s", pts(|s| s.sent as f64), BLUE),
            ("received/s", pts(|s| s.received as f64), GREEN),
            ("connections/s", pts(|s| s.connects as f64), MAGENTA),
        ];
        let ymax = series
            .iter()
            .flat_map(|s| s.1.iter().map(|p| p.1))
            .fold(1.0, f64::max)
            * 1.15;
        let cores: Vec<(f64, f64)> = self
            .seconds
            .iter()
            .filter_map(|s| s.server_cores.map(|c| (s.t as f64, c)))
            .collect();
        let gen_cores: Vec<(f64, f64)> = self
            .seconds
            .iter()
            .filter_map(|s| s.generator_cores.map(|c| (s.t as f64, c)))
            .collect();
        let cmax = cores
            .iter()
            .chain(&gen_cores)
            .map(|p| p.1)
            .fold(1.0, f64::max)
            * 1.15;
        let xmax = (self.seconds.len() as f64).max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(self.title("Throughput"), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(70)
            .right_y_label_area_size(50)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)
            .map_err(plot_err)?
            .set_secondary_coord(0f64..xmax, 0f64..cmax);
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc("per second")
            .draw()
            .map_err(plot_err)?;
        chart
            .configure_secondary_axes()
            .y_desc("server CPU (cores)")
            .draw()
            .map_err(plot_err)?;
        for (name, data, color) in series {
            chart
                .draw_series(LineSeries::new(data, color.stroke_width(2)))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        }
        if !cores.is_empty() {
            chart
                .draw_secondary_series(LineSeries::new(cores, RED.stroke_width(1)))
                .map_err(plot_err)?
                .label("server CPU (cores)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED));
        }
        if !gen_cores.is_empty() {
            let grey = RGBColor(140, 140, 140);
            chart
                .draw_secondary_series(LineSeries::new(gen_cores, grey.stroke_width(1)))
                .map_err(plot_err)?
                .label("generator CPU (cores)")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
        Ok(())
    }
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plot: {e:?}")
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bundled font is valid TrueType: registering cannot fail.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::stats::Recorder;

    fn sample_report() -> Report {
        let sc = Scenario {
            chats: 2,
            ramp_per_s: 0.0,
            duration_s: 4.0,
            ..Scenario::default()
        };
        let r = Recorder::default();
        for t in 0..8usize {
            for i in 0..10u64 {
                r.sent(t);
                r.received(t, 100 + i * 10 + t as u64);
            }
        }
        r.connected(0, 300);
        r.connected(0, 400);
        let base = Sample {
            t_s: -0.5,
            cpu_s: 1.0,
            rss_bytes: 10 << 20,
        };
        let samples: Vec<Sample> = (0..9)
            .map(|t| Sample {
                t_s: f64::from(t),
                cpu_s: 1.0 + 0.5 * f64::from(t),
                rss_bytes: (10 << 20) + 20 * 1024,
            })
            .collect();
        Report::build(&sc, 1, &r.snapshot(), Some(base), &samples)
    }

    #[test]
    fn report_counts_the_measured_phase() {
        let rep = sample_report();
        assert_eq!((rep.sent, rep.received, rep.lost), (80, 80, 0));
        assert_eq!(rep.seconds.len(), 8);
        // measured phase: seconds 2..6 (SETTLE_S = 2, duration 4): 40 messages.
        let sv = rep.server.clone().unwrap();
        assert_eq!(sv.measure_messages, 40);
        assert!((sv.measure_cpu_s - 2.0).abs() < 1e-9, "{sv:?}");
        assert!((sv.cpu_us_per_message.unwrap() - 50_000.0).abs() < 1e-6);
        assert!((sv.kib_per_connection.unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(rep.latency_measured.count, 40);
        assert!((rep.throughput_per_s - 10.0).abs() < 1e-9);
        assert!((rep.seconds[3].server_cores.unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(rep.peak_connects_per_s, 2);
        let json = serde_json::to_string(&rep).unwrap();
        assert!(json.contains("\"cpu_us_per_message\""));
        let mut rep = rep;
        let generator: Vec<Sample> = (0..9)
            .map(|t| Sample {
                t_s: f64::from(t),
                cpu_s: 0.25 * f64::from(t),
                rss_bytes: 0,
            })
            .collect();
        let mut generator = generator;
        // The shard processes are gone by the last sample: that drop is not negative CPU.
        generator.push(Sample {
            t_s: 9.0,
            cpu_s: 0.1,
            rss_bytes: 0,
        });
        rep.add_generator(&generator);
        assert_eq!(rep.generator_cpu_s, Some(2.0));
        assert_eq!(rep.seconds[1].generator_cores, Some(0.25));
        assert!(rep.summary().contains("generator: 2.0 CPU s"));
    }

    #[test]
    fn plots_render_to_png_without_system_fonts() {
        let rep = sample_report();
        let dir = tempfile::tempdir().unwrap();
        rep.write(dir.path()).unwrap();
        for f in ["latency.png", "throughput.png"] {
            let bytes = std::fs::read(dir.path().join(f)).unwrap();
            assert_eq!(&bytes[1..4], b"PNG", "{f} is a PNG");
            assert!(bytes.len() > 5_000, "{f} has content");
        }
        let back: Report =
            serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap())
                .unwrap();
        assert_eq!(back.received, 80);
    }
}
