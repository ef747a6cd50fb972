//! Logging set-up. lyt logs events, never content: its own code writes no payload, key,
//! token, address or user agent at any level. Some dependencies do at their most verbose
//! levels (tungstenite logs whole frames at trace, axum logs client addresses at trace), so
//! those crates are capped here whatever `LYT_LOG` asks for.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, Registry};

/// Dependencies that log content or addresses below these levels.
const CAPS: &[(&str, LevelFilter)] = &[
    ("tungstenite", LevelFilter::WARN),
    ("tokio_tungstenite", LevelFilter::WARN),
    ("axum", LevelFilter::DEBUG),
    ("hyper", LevelFilter::INFO),
    ("hyper_util", LevelFilter::INFO),
    ("reqwest", LevelFilter::INFO),
];

/// The filter in force: `directives` (as in `LYT_LOG`, default `info`) with the caps applied.
fn caps() -> Targets {
    Targets::new()
        .with_targets(CAPS.iter().copied())
        .with_default(LevelFilter::TRACE)
}

/// Installs the global subscriber writing to `writer`, with `directives` (e.g. `info`,
/// `lyt=debug`), coloured with ANSI escapes only when `ansi` (a terminal: a log collector
/// would keep the escapes). Returns an error if a subscriber is already installed.
pub fn init<W>(
    directives: &str,
    writer: W,
    ansi: bool,
) -> Result<(), tracing_subscriber::util::TryInitError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let env = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(writer)
        .with_filter(env.and(caps()));
    Registry::default().with(layer).try_init()
}
