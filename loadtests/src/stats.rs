//! What the simulated clients measure: end-to-end latency in HDR histograms (overall and per
//! second), messages sent and received per second, connection and chat set-ups, errors by
//! code, duplicates and gaps. One `Recorder` per generator process; the processes' snapshots
//! are merged by the parent.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use serde::{Deserialize, Serialize};

/// Highest latency a histogram tracks, in microseconds (larger values are clamped).
pub const MAX_LATENCY_US: u64 = 120_000_000;

fn histogram() -> Histogram<u64> {
    #[allow(clippy::expect_used, reason = "constant, valid bounds")]
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Everything counted so far, in a form that can be merged and sent between processes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// End-to-end latency of every message, µs (base64 of the HDR V2 encoding).
    #[serde(with = "hist_b64")]
    pub latency: Option<Histogram<u64>>,
    /// Latency per second of the run, by the second the message arrived.
    #[serde(with = "hist_vec_b64")]
    pub latency_per_s: Vec<Option<Histogram<u64>>>,
    /// Time from opening a connection to the server's first frame (lyt: `hello`), µs.
    #[serde(with = "hist_b64")]
    pub connect: Option<Histogram<u64>>,
    /// Time from a visitor's `join` to its first decrypted answer path (chat ready), µs.
    #[serde(with = "hist_b64")]
    pub chat_setup: Option<Histogram<u64>>,
    /// Messages sent per second of the run.
    pub sent_per_s: Vec<u64>,
    /// Messages received per second of the run.
    pub received_per_s: Vec<u64>,
    /// Connections set up per second of the run.
    pub connects_per_s: Vec<u64>,
    /// Messages sent.
    pub sent: u64,
    /// Messages received (each once).
    pub received: u64,
    /// Messages received again (a replay that was not dropped as such).
    pub duplicates: u64,
    /// Messages a receiver found missing (a gap in the sequence).
    pub gaps: u64,
    /// Connections set up.
    pub connections: u64,
    /// Chats that became ready (both sides keyed and sending).
    pub chats_ready: u64,
    /// Errors by code.
    pub errors: BTreeMap<String, u64>,
}

fn bump(v: &mut Vec<u64>, i: usize, by: u64) {
    if v.len() <= i {
        v.resize(i + 1, 0);
    }
    v[i] += by;
}

fn record(h: &mut Option<Histogram<u64>>, us: u64) {
    h.get_or_insert_with(histogram)
        .saturating_record(us.clamp(1, MAX_LATENCY_US));
}

fn merge_hist(into: &mut Option<Histogram<u64>>, from: &Option<Histogram<u64>>) {
    if let Some(f) = from {
        let h = into.get_or_insert_with(histogram);
        // Same bounds everywhere: adding cannot fail.
        let _ = h.add(f);
    }
}

impl Snapshot {
    /// Adds another process's counts.
    pub fn merge(&mut self, o: &Snapshot) {
        merge_hist(&mut self.latency, &o.latency);
        merge_hist(&mut self.connect, &o.connect);
        merge_hist(&mut self.chat_setup, &o.chat_setup);
        if self.latency_per_s.len() < o.latency_per_s.len() {
            self.latency_per_s.resize(o.latency_per_s.len(), None);
        }
        for (i, h) in o.latency_per_s.iter().enumerate() {
            merge_hist(&mut self.latency_per_s[i], h);
        }
        for (into, from) in [
            (&mut self.sent_per_s, &o.sent_per_s),
            (&mut self.received_per_s, &o.received_per_s),
            (&mut self.connects_per_s, &o.connects_per_s),
        ] {
            for (i, n) in from.iter().enumerate() {
                bump(into, i, *n);
            }
        }
        self.sent += o.sent;
        self.received += o.received;
        self.duplicates += o.duplicates;
        self.gaps += o.gaps;
        self.connections += o.connections;
        self.chats_ready += o.chats_ready;
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    /// Errors of all codes.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Messages sent and never received (after the drain).
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }
}

/// The process's counters, shared by every simulated client.
#[derive(Debug, Default)]
pub struct Recorder {
    inner: Mutex<Snapshot>,
}

impl Recorder {
    fn with<R>(&self, f: impl FnOnce(&mut Snapshot) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A message arrived `latency_us` after it was due, in second `sec` of the run.
    pub fn received(&self, sec: usize, latency_us: u64) {
        self.with(|s| {
            record(&mut s.latency, latency_us);
            if s.latency_per_s.len() <= sec {
                s.latency_per_s.resize(sec + 1, None);
            }
            record(&mut s.latency_per_s[sec], latency_us);
            bump(&mut s.received_per_s, sec, 1);
            s.received += 1;
        });
    }

    /// A message went out in second `sec`.
    pub fn sent(&self, sec: usize) {
        self.with(|s| {
            bump(&mut s.sent_per_s, sec, 1);
            s.sent += 1;
        });
    }

    /// A duplicate arrived.
    pub fn duplicate(&self) {
        self.with(|s| s.duplicates += 1);
    }

    /// `n` messages were skipped in a sequence.
    pub fn gap(&self, n: u64) {
        self.with(|s| s.gaps += n);
    }

    /// A connection was set up in second `sec`, `us` after it was started.
    pub fn connected(&self, sec: usize, us: u64) {
        self.with(|s| {
            record(&mut s.connect, us);
            bump(&mut s.connects_per_s, sec, 1);
            s.connections += 1;
        });
    }

    /// A chat became ready `us` after its visitor joined.
    pub fn chat_ready(&self, us: u64) {
        self.with(|s| {
            record(&mut s.chat_setup, us);
            s.chats_ready += 1;
        });
    }

    /// Something failed; `code` names what (never any content).
    pub fn error(&self, code: &str) {
        self.with(|s| *s.errors.entry(code.to_owned()).or_default() += 1);
    }

    /// A copy of the counts so far.
    pub fn snapshot(&self) -> Snapshot {
        self.with(|s| s.clone())
    }
}

/// Latency percentiles of one histogram, in microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Values recorded.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
}

impl Percentiles {
    /// Of `h` (all zero when nothing was recorded).
    pub fn of(h: &Option<Histogram<u64>>) -> Self {
        match h {
            Some(h) if !h.is_empty() => Self {
                count: h.len(),
                p50_us: h.value_at_quantile(0.5),
                p99_us: h.value_at_quantile(0.99),
                p999_us: h.value_at_quantile(0.999),
                max_us: h.max(),
                mean_us: h.mean(),
            },
            _ => Self::default(),
        }
    }
}

fn encode_hist(h: &Histogram<u64>) -> Result<String, String> {
    let mut buf = Vec::new();
    V2Serializer::new()
        .serialize(h, &mut buf)
        .map_err(|e| format!("{e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(buf))
}

fn decode_hist(s: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| e.to_string())?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("{e:?}"))
}

mod hist_b64 {
    use hdrhistogram::Histogram;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Option<Histogram<u64>>, s: S) -> Result<S::Ok, S::Error> {
        match h {
            None => s.serialize_none(),
            Some(h) => s.serialize_some(&super::encode_hist(h).map_err(serde::ser::Error::custom)?),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Histogram<u64>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::decode_hist(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

mod hist_vec_b64 {
    use hdrhistogram::Histogram;
    use serde::{Deserialize as _, Deserializer, Serialize as _, Serializer};

    pub fn serialize<S: Serializer>(v: &[Option<Histogram<u64>>], s: S) -> Result<S::Ok, S::Error> {
        let texts = v
            .iter()
            .map(|h| h.as_ref().map(super::encode_hist).transpose())
            .collect::<Result<Vec<_>, _>>()
            .map_err(serde::ser::Error::custom)?;
        texts.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Option<Histogram<u64>>>, D::Error> {
        Vec::<Option<String>>::deserialize(d)?
            .into_iter()
            .map(|t| {
                t.map(|t| super::decode_hist(&t))
                    .transpose()
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram() {
        let r = Recorder::default();
        for us in 1..=1000 {
            r.received(0, us);
        }
        let p = Percentiles::of(&r.snapshot().latency);
        assert_eq!(p.count, 1000);
        assert!((499..=501).contains(&p.p50_us), "{p:?}");
        assert!((989..=991).contains(&p.p99_us), "{p:?}");
        assert!((998..=1000).contains(&p.p999_us), "{p:?}");
        assert_eq!(Percentiles::of(&None), Percentiles::default());
    }

    #[test]
    fn snapshots_survive_json_and_merge() {
        let a = Recorder::default();
        a.received(0, 100);
        a.received(2, 300);
        a.sent(0);
        a.sent(2);
        a.connected(1, 50);
        a.error("timeout");
        let b = Recorder::default();
        b.received(1, 200);
        b.sent(1);
        b.sent(1);
        b.duplicate();
        b.gap(2);
        b.error("timeout");
        b.error("closed_1013");
        let json = serde_json::to_string(&b.snapshot()).unwrap();
        let b: Snapshot = serde_json::from_str(&json).unwrap();
        let mut m = a.snapshot();
        m.merge(&b);
        assert_eq!(m.received, 3);
        assert_eq!(m.sent, 4);
        assert_eq!(m.lost(), 1);
        assert_eq!((m.duplicates, m.gaps), (1, 2));
        assert_eq!(m.sent_per_s, vec![1, 2, 1]);
        assert_eq!(m.received_per_s, vec![1, 1, 1]);
        assert_eq!(m.latency_per_s.len(), 3);
        assert_eq!(Percentiles::of(&m.latency_per_s[1]).count, 1);
        assert_eq!(m.errors["timeout"], 2);
        assert_eq!(m.error_total(), 3);
        assert_eq!(Percentiles::of(&m.latency).count, 3);
    }
}
