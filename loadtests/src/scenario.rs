//! What a load run does: the scenario, read from a TOML file and overridden by flags.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The shape of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[clap(rename_all = "snake_case")]
pub enum Kind {
    /// `chats` conversations set up at `ramp_per_s`, then messages at `interval_ms` per side.
    Steady,
    /// As steady, but every chat is set up at once: all visitors join together.
    Surge,
    /// As steady; at `event_at_s` every visitor's connection drops and comes back with
    /// `resume` (lyt) or a new subscription (peers), all at once.
    ReconnectStorm,
    /// As steady; at `event_at_s` every counsellor's connection drops; each logs in again,
    /// goes on duty with a new shift and takes its chats back (a new handshake).
    CounsellorChurn,
    /// `chats` visitor connections (lyt: past `hello`, not joined) held open and idle, to
    /// measure the server's memory per connection.
    Idle,
}

/// Which server speaks at the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[clap(rename_all = "snake_case")]
pub enum Target {
    /// lyt: the real protocol with real end-to-end crypto.
    Lyt,
    /// Nchan as a 1:1 relay (`loadtests/peers/nchan`).
    Nchan,
    /// socket.io with its Redis adapter as a 1:1 relay (`loadtests/peers/socketio`).
    Socketio,
}

/// A load scenario. Every field has a default; see `loadtests/scenarios/*.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// A name for the report.
    pub name: String,
    /// The shape of the load.
    pub kind: Kind,
    /// The server under test.
    pub target: Target,
    /// Base URLs of the nodes (`http://127.0.0.1:8080`); connections are spread over them
    /// round robin, so a visitor and its counsellor may be on different nodes.
    pub nodes: Vec<String>,
    /// Concurrent conversations (two connections each).
    pub chats: u32,
    /// Conversations set up per second during the ramp (0: all at once).
    pub ramp_per_s: f64,
    /// Seconds of messages after the ramp (the measured phase).
    pub duration_s: f64,
    /// Milliseconds between two messages of one side (open loop: on schedule, never waiting
    /// for an answer).
    pub interval_ms: f64,
    /// Characters of each message's text (before padding and encryption).
    pub msg_bytes: usize,
    /// Seconds after the last send to wait for messages still on the way.
    pub drain_s: f64,
    /// Seconds into the measured phase when the reconnect storm or counsellor churn happens.
    pub event_at_s: f64,
    /// Generator processes (each with its own file descriptors and source addresses); 0: one
    /// per 16,000 connections.
    pub shards: u32,
    /// Processes of the server whose CPU time and memory are sampled (all added up).
    pub server_pids: Vec<u32>,
    /// lyt: the queue visitors join.
    pub queue: String,
    /// lyt: the demo directory of the server (accounts, identity keys and certificates).
    pub demo_dir: PathBuf,
    /// lyt: the demo counsellor accounts to log in as, used round robin.
    pub accounts: Vec<String>,
    /// Spread connections over source addresses in 127.0.0.0/8 (127.<shard+1>.x.y).
    pub spread_sources: bool,
    /// Seconds any one protocol step may take before it counts as a `timeout` error.
    pub step_timeout_s: f64,
    /// In a reconnect storm or churn, drop connections as a network failure does (no close
    /// frame, unread input discarded) instead of closing them cleanly (a reload).
    pub abrupt_drop: bool,
    /// lyt: at the end every visitor leaves (`leave`), ending its chat, so that what the
    /// server keeps of ended chats can be checked afterwards. Otherwise the clients just stop
    /// and their chats wait out the resume window.
    pub leave_at_end: bool,
    /// In a reconnect storm: how many times each side drops, `drop_every_s` apart.
    pub drops: u32,
    /// Seconds between two drops of one side.
    pub drop_every_s: f64,
    /// lyt, in a reconnect storm: the counsellors drop too (as many times, halfway between
    /// the visitors' drops), go on duty again at once and take their chats back under new
    /// handshakes. Both sides then send read receipts and carry what the other side never
    /// read into the new session, and drop a message carried again that they already have,
    /// as the widget and the console do (docs/protocol.md, "Nothing lost").
    pub counsellors_drop: bool,
    /// lyt: both sides carry what the other never read into a new session, as with
    /// `counsellors_drop`, in any kind of run — for runs where the test itself cuts the
    /// counsellors off (a frozen node) and the relay re-assigns their chats.
    pub carry: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "steady".into(),
            kind: Kind::Steady,
            target: Target::Lyt,
            nodes: vec!["http://127.0.0.1:8080".into()],
            chats: 100,
            ramp_per_s: 500.0,
            duration_s: 10.0,
            interval_ms: 5000.0,
            msg_bytes: 100,
            drain_s: 3.0,
            event_at_s: 3.0,
            shards: 1,
            server_pids: Vec::new(),
            queue: "da/exit".into(),
            demo_dir: PathBuf::from("lyt-demo"),
            accounts: vec!["maja".into(), "ali".into()],
            spread_sources: true,
            step_timeout_s: 30.0,
            abrupt_drop: true,
            leave_at_end: false,
            drops: 1,
            drop_every_s: 3.0,
            counsellors_drop: false,
            carry: false,
        }
    }
}

/// Connections one generator process takes on before `shards = 0` adds another (the fd hard
/// limit here is 20,000 per process).
pub const CONNECTIONS_PER_SHARD: u32 = 16_000;

/// The longest text of one message (the protocol's limit is 4,000 characters).
pub const MAX_MSG_BYTES: usize = 4000;

/// The shortest message: it must hold the sequence number and the send time.
pub const MIN_MSG_BYTES: usize = crate::schedule::STAMP_BYTES;

impl Scenario {
    /// Reads a TOML scenario file.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let s: Self = toml::from_str(text)?;
        s.check()?;
        Ok(s)
    }

    /// Refuses what cannot run, with a clear reason.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.nodes.is_empty(), "nodes: give at least one base URL");
        for n in &self.nodes {
            anyhow::ensure!(
                n.starts_with("http://"),
                "nodes: `{n}` is not an http:// base URL"
            );
        }
        anyhow::ensure!(self.chats >= 1, "chats must be at least 1");
        anyhow::ensure!(
            self.interval_ms.is_finite() && self.interval_ms >= 1.0,
            "interval_ms must be at least 1"
        );
        anyhow::ensure!(
            (MIN_MSG_BYTES..=MAX_MSG_BYTES).contains(&self.msg_bytes),
            "msg_bytes must be between {MIN_MSG_BYTES} and {MAX_MSG_BYTES}"
        );
        for (name, v) in [
            ("ramp_per_s", self.ramp_per_s),
            ("duration_s", self.duration_s),
            ("drain_s", self.drain_s),
            ("event_at_s", self.event_at_s),
        ] {
            anyhow::ensure!(v.is_finite() && v >= 0.0, "{name} must be 0 or more");
        }
        anyhow::ensure!(
            self.step_timeout_s.is_finite() && self.step_timeout_s > 0.0,
            "step_timeout_s must be positive"
        );
        if self.target == Target::Lyt {
            anyhow::ensure!(
                !self.accounts.is_empty(),
                "accounts: name at least one demo counsellor"
            );
        }
        anyhow::ensure!(self.drops >= 1, "drops must be at least 1");
        anyhow::ensure!(
            self.drop_every_s.is_finite() && self.drop_every_s > 0.0,
            "drop_every_s must be positive"
        );
        if self.counsellors_drop {
            anyhow::ensure!(
                self.kind == Kind::ReconnectStorm && self.target == Target::Lyt,
                "counsellors_drop needs a reconnect_storm on lyt"
            );
        }
        anyhow::ensure!(
            !self.carry || self.target == Target::Lyt,
            "carry is a lyt client behaviour"
        );
        if matches!(self.kind, Kind::CounsellorChurn) {
            anyhow::ensure!(
                self.target == Target::Lyt,
                "counsellor_churn needs lyt (the peers have no counsellors)"
            );
        }
        Ok(())
    }

    /// Connections the scenario opens at once.
    pub fn connections(&self) -> u32 {
        match self.kind {
            Kind::Idle => self.chats,
            _ => self.chats.saturating_mul(2),
        }
    }

    /// Generator processes to use.
    pub fn shard_count(&self) -> u32 {
        if self.shards > 0 {
            return self.shards;
        }
        self.connections().div_ceil(CONNECTIONS_PER_SHARD).max(1)
    }

    /// The chats of shard `i` of `n`: chat indices `i, i+n, i+2n, …`.
    pub fn chats_of_shard(&self, i: u32, n: u32) -> Vec<u32> {
        (i..self.chats).step_by(n.max(1) as usize).collect()
    }

    /// Whether the lyt clients carry unread messages into a new session.
    pub fn carries(&self) -> bool {
        self.carry || self.counsellors_drop
    }

    /// The base URL for connection `k`.
    pub fn node(&self, k: u32) -> &str {
        &self.nodes[k as usize % self.nodes.len()]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_unknown_keys_are_refused() {
        let s = Scenario::from_toml(
            "kind = \"surge\"\nchats = 40\nnodes = [\"http://127.0.0.1:1\", \"http://127.0.0.1:2\"]\n",
        )
        .unwrap();
        assert_eq!(s.kind, Kind::Surge);
        assert_eq!(s.chats, 40);
        assert_eq!(s.node(0), "http://127.0.0.1:1");
        assert_eq!(s.node(3), "http://127.0.0.1:2");
        assert!(Scenario::from_toml("chatz = 3").is_err());
    }

    #[test]
    fn bad_values_get_clear_errors() {
        let err = |t: &str| Scenario::from_toml(t).unwrap_err().to_string();
        assert!(err("msg_bytes = 1").contains("msg_bytes"));
        assert!(err("interval_ms = 0.0").contains("interval_ms"));
        assert!(err("nodes = []").contains("nodes"));
        assert!(err("nodes = [\"ws://x\"]").contains("http://"));
        assert!(err("duration_s = -1.0").contains("duration_s"));
        assert!(err("kind = \"counsellor_churn\"\ntarget = \"nchan\"").contains("lyt"));
        assert!(err("counsellors_drop = true").contains("reconnect_storm"));
        assert!(err("drops = 0").contains("drops"));
        assert!(err("carry = true\ntarget = \"nchan\"").contains("lyt"));
    }

    #[test]
    fn shards_split_chats_evenly_and_completely() {
        let s = Scenario {
            chats: 10_000,
            shards: 0,
            ..Scenario::default()
        };
        assert_eq!(s.shard_count(), 2, "20,000 connections need two processes");
        let n = s.shard_count();
        let mut all: Vec<u32> = (0..n).flat_map(|i| s.chats_of_shard(i, n)).collect();
        all.sort_unstable();
        assert_eq!(all, (0..10_000).collect::<Vec<_>>());
    }
}
