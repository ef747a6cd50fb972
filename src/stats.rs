//! Today's anonymous statistics for the supervisor dashboard: counts of contacts by channel,
//! topic and outcome, joins and abandons, and the waits of today's accepted chats. Counts
//! and durations only — never a conversation id, an alias of a visitor, a time of day per
//! contact or anything else about a person.
//!
//! "Today" is the calendar day in the opening-hours time zone; the figures start from zero
//! at local midnight. With a data directory, each day's counts are saved as
//! `<data_dir>/stats/YYYY-MM-DD.json` every minute and at shutdown (and read back at start,
//! so a restart keeps today's counts); `lyt stats export` turns them into CSV for funders.
//! The saved form holds the same counts and nothing else.
//!
//! What counts as a contact: a chat a counsellor accepted, counted once when it ends (a
//! transfer is the same contact), with the counsellor's tags when they ended it, otherwise
//! with outcome `ended_by_visitor` (or the end reason's category); a phone callback marked
//! done, with its tags, under channel `phone`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::protocol::Tags;

/// Waits kept per day for the percentiles (a day with more contacts keeps the first ones;
/// at 4 bytes each this bounds the memory to 256 KiB).
const MAX_WAIT_SAMPLES: usize = 65_536;

/// Wait-time percentiles of today's accepted chats, in seconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WaitPercentiles {
    /// Median.
    pub p50: u32,
    /// 90th percentile.
    pub p90: u32,
    /// 99th percentile.
    pub p99: u32,
    /// How many waits they are computed from.
    pub count: usize,
}

/// Today's figures as the dashboard shows them.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Today {
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    /// Contacts ended today (chat and phone).
    pub contacts: u64,
    /// Contacts by channel.
    pub by_channel: BTreeMap<String, u64>,
    /// Contacts by language (the queue's language; phone calls as logged).
    pub by_language: BTreeMap<String, u64>,
    /// Contacts by topic tag (a contact with two topics counts under both).
    pub by_topic: BTreeMap<String, u64>,
    /// Contacts by outcome.
    pub by_outcome: BTreeMap<String, u64>,
    /// Visitors who joined a queue.
    pub joined: u64,
    /// Visitors who left before a counsellor accepted.
    pub abandoned: u64,
    /// `abandoned / joined` (0 when nobody joined).
    pub abandon_rate: f64,
    /// Waits from join to accept.
    pub wait_s: WaitPercentiles,
}

/// The running counts of one day; also their saved form.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Stats {
    date: String,
    contacts: u64,
    by_channel: BTreeMap<String, u64>,
    by_language: BTreeMap<String, u64>,
    by_topic: BTreeMap<String, u64>,
    by_outcome: BTreeMap<String, u64>,
    joined: u64,
    abandoned: u64,
    waits: Vec<u32>,
    /// The finished day, until it is saved (so its last minute is not lost at midnight).
    #[serde(skip)]
    previous: Option<Box<Stats>>,
}

impl Stats {
    /// Adds another file's counts of the same day (another node's).
    pub fn merge(&mut self, other: Self) {
        self.contacts += other.contacts;
        self.joined += other.joined;
        self.abandoned += other.abandoned;
        for (mine, theirs) in [
            (&mut self.by_channel, other.by_channel),
            (&mut self.by_language, other.by_language),
            (&mut self.by_topic, other.by_topic),
            (&mut self.by_outcome, other.by_outcome),
        ] {
            for (k, v) in theirs {
                *mine.entry(k).or_default() += v;
            }
        }
        self.waits.extend(other.waits);
        self.waits.truncate(MAX_WAIT_SAMPLES);
    }

    /// Starts a new day when `date` is not the current one.
    fn roll(&mut self, date: &str) {
        if self.date != date {
            let finished = std::mem::replace(
                self,
                Self {
                    date: date.to_owned(),
                    ..Self::default()
                },
            );
            if !finished.date.is_empty() {
                self.previous = Some(Box::new(Self {
                    previous: None,
                    ..finished
                }));
            }
        }
    }

    /// A visitor joined a queue.
    pub fn joined(&mut self, date: &str) {
        self.roll(date);
        self.joined += 1;
    }

    /// A visitor left before being accepted.
    pub fn abandoned(&mut self, date: &str) {
        self.roll(date);
        self.abandoned += 1;
    }

    /// A counsellor accepted a visitor who waited `secs`.
    pub fn waited(&mut self, date: &str, secs: f64) {
        self.roll(date);
        if self.waits.len() < MAX_WAIT_SAMPLES {
            // Bounded and non-negative: the cast cannot wrap.
            self.waits.push(secs.clamp(0.0, f64::from(u32::MAX)) as u32);
        }
    }

    /// A contact ended on `channel` in `language` with these tags; `fallback_outcome`
    /// counts when the tags carry none.
    pub fn contact(
        &mut self,
        date: &str,
        channel: &str,
        language: Option<&str>,
        tags: &Tags,
        fallback_outcome: &str,
    ) {
        self.roll(date);
        self.contacts += 1;
        *self.by_channel.entry(channel.to_owned()).or_default() += 1;
        if let Some(lang) = language {
            *self.by_language.entry(lang.to_owned()).or_default() += 1;
        }
        for topic in &tags.topic {
            *self.by_topic.entry(topic.to_string()).or_default() += 1;
        }
        let outcome = tags
            .outcome
            .as_ref()
            .map_or_else(|| fallback_outcome.to_owned(), ToString::to_string);
        *self.by_outcome.entry(outcome).or_default() += 1;
    }

    /// The counts of day `date` alone (empty when these are another day's): what one node
    /// shares with the others through the store.
    pub fn of_day(&self, date: &str) -> Self {
        if self.date == date {
            Self {
                previous: None,
                ..self.clone()
            }
        } else {
            Self {
                date: date.to_owned(),
                ..Self::default()
            }
        }
    }

    /// The sum of several nodes' counts; those of another day than `date` are left out.
    pub fn sum_of_day(date: &str, parts: impl IntoIterator<Item = Self>) -> Self {
        let mut sum = Self {
            date: date.to_owned(),
            ..Self::default()
        };
        for part in parts.into_iter().filter(|p| p.date == date) {
            sum.merge(part);
        }
        sum
    }

    /// Today's figures (all zero when the last event was on another day).
    pub fn today(&self, date: &str) -> Today {
        if self.date != date {
            return Today {
                date: date.to_owned(),
                ..Today::default()
            };
        }
        let mut waits = self.waits.clone();
        waits.sort_unstable();
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let abandon_rate = if self.joined == 0 {
            0.0
        } else {
            (self.abandoned as f64 / self.joined as f64 * 1000.0).round() / 1000.0
        };
        Today {
            date: self.date.clone(),
            contacts: self.contacts,
            by_channel: self.by_channel.clone(),
            by_language: self.by_language.clone(),
            by_topic: self.by_topic.clone(),
            by_outcome: self.by_outcome.clone(),
            joined: self.joined,
            abandoned: self.abandoned,
            abandon_rate,
            wait_s: WaitPercentiles {
                p50: percentile(&waits, 50),
                p90: percentile(&waits, 90),
                p99: percentile(&waits, 99),
                count: waits.len(),
            },
        }
    }
}

impl Stats {
    /// What is to be saved now: a finished day not saved yet, then the current day.
    pub fn to_save(&mut self) -> Vec<Self> {
        let mut out: Vec<Self> = self.previous.take().map(|b| *b).into_iter().collect();
        if !self.date.is_empty() {
            out.push(Self {
                previous: None,
                ..self.clone()
            });
        }
        out
    }

    /// Takes back counts saved earlier today (a restart keeps the day's figures).
    pub fn restore(&mut self, saved: Self, today: &str) {
        if saved.date == today && self.date.is_empty() {
            *self = saved;
        }
    }

    /// The date these counts are for (empty before the first event).
    pub fn date(&self) -> &str {
        &self.date
    }

    /// Rows of the export: `(dimension, value, count)` for channel, language, topic and
    /// outcome, plus joined and abandoned.
    pub fn rows(&self) -> Vec<(&'static str, String, u64)> {
        let mut rows = vec![
            ("contacts", "all".to_owned(), self.contacts),
            ("joined", "all".to_owned(), self.joined),
            ("abandoned", "all".to_owned(), self.abandoned),
        ];
        for (dim, map) in [
            ("channel", &self.by_channel),
            ("language", &self.by_language),
            ("topic", &self.by_topic),
            ("outcome", &self.by_outcome),
        ] {
            rows.extend(map.iter().map(|(k, v)| (dim, k.clone(), *v)));
        }
        rows
    }
}

/// The file a day's counts are saved in: `stats/YYYY-MM-DD.json`, or with many nodes sharing
/// one data directory `stats/YYYY-MM-DD.<node>.json`, one per node process (summed by
/// `load_day_all`), so no node overwrites another's counts.
pub fn day_file(data_dir: &std::path::Path, date: &str) -> std::path::PathBuf {
    data_dir.join("stats").join(format!("{date}.json"))
}

fn node_day_file(data_dir: &std::path::Path, date: &str, node: &str) -> std::path::PathBuf {
    data_dir.join("stats").join(format!("{date}.{node}.json"))
}

/// A day's counts from every file of that day (one node's, or each of many nodes'), summed.
pub fn load_day_all(data_dir: &std::path::Path, date: &str) -> std::io::Result<Option<Stats>> {
    let mut total = load_day(data_dir, date)?;
    let dir = data_dir.join("stats");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(total),
        Err(e) => return Err(e),
    };
    let (prefix, own) = (format!("{date}."), format!("{date}.json"));
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix) && n.ends_with(".json") && *n != own)
        .collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name))?;
        let part: Stats = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        match total.as_mut() {
            Some(t) => t.merge(part),
            None => total = Some(part),
        }
    }
    Ok(total)
}

/// Reads a day's saved counts, if any.
pub fn load_day(data_dir: &std::path::Path, date: &str) -> std::io::Result<Option<Stats>> {
    match std::fs::read_to_string(day_file(data_dir, date)) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Saves a day's counts atomically; `node` names this node's own file when many nodes
/// share the data directory.
pub fn save_day(
    data_dir: &std::path::Path,
    stats: &Stats,
    node: Option<&str>,
) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(stats).map_err(std::io::Error::other)?;
    let path = match node {
        Some(node) => node_day_file(data_dir, &stats.date, node),
        None => day_file(data_dir, &stats.date),
    };
    crate::auth::write_atomic(&path, &json)
}

/// Counts below this are shown as `<3` in a public export: a small count can point to a
/// person.
pub const SUPPRESS_BELOW: u64 = 3;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A date is not `YYYY-MM-DD`, or the range is reversed.
    #[error("{0}")]
    Range(String),
    /// A file could not be read.
    #[error("cannot read the statistics: {0}")]
    Io(#[from] std::io::Error),
}

/// The CSV of daily counts from `from` to `to` (inclusive, local dates): a header and rows
/// `date,dimension,value,count` for contacts, joined, abandoned, channel, language, topic,
/// outcome and referrals (value: the office id). With `public`, counts of 1 and 2 are
/// written `<3`. Days without a file have no rows.
pub fn export_csv(
    data_dir: &std::path::Path,
    from: &str,
    to: &str,
    public: bool,
) -> Result<String, ExportError> {
    let parse = |d: &str| {
        d.parse::<jiff::civil::Date>()
            .map_err(|_| ExportError::Range(format!("`{d}` is not a date (YYYY-MM-DD)")))
    };
    let (start, end) = (parse(from)?, parse(to)?);
    if end < start {
        return Err(ExportError::Range("--to is before --from".into()));
    }
    if start.until(end).map_or(true, |span| span.get_days() > 3660) {
        return Err(ExportError::Range(
            "export at most ten years at a time".into(),
        ));
    }
    let referrals = crate::referral::read_daily_counts(data_dir)?;
    let mut out = String::from("date,dimension,value,count\n");
    let mut day = start;
    while day <= end {
        let date = day.to_string();
        let mut rows = load_day_all(data_dir, &date)?
            .map(|s| s.rows())
            .unwrap_or_default();
        for (office, days) in &referrals {
            if let Some(n) = days.get(&date) {
                rows.push(("referrals", office.clone(), *n));
            }
        }
        for (dim, value, count) in rows {
            if count == 0 {
                continue;
            }
            let count = if public && count < SUPPRESS_BELOW {
                format!("<{SUPPRESS_BELOW}")
            } else {
                count.to_string()
            };
            out.push_str(&format!("{date},{dim},{},{count}\n", csv_field(&value)));
        }
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    Ok(out)
}

/// A CSV field: quoted when it holds a comma, quote or line break (values are slugs and
/// office ids, so this is a guard, not a habit).
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The nearest-rank percentile of sorted values (0 for none).
fn percentile(sorted: &[u32], p: usize) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// Today's date in `tz`, `YYYY-MM-DD`.
pub fn local_date(tz: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::now()
        .to_zoned_datetime(tz.clone())
        .date()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(topics: &[&str], outcome: Option<&str>) -> Tags {
        Tags {
            topic: topics.iter().map(|t| t.parse().unwrap()).collect(),
            outcome: outcome.map(|o| o.parse().unwrap()),
            channel: None,
        }
    }

    /// Contacts are counted by channel, topic and outcome; a day change starts from zero.
    #[test]
    fn counts_by_category_and_rolls_over() {
        let mut s = Stats::default();
        let d1 = "2026-11-23";
        s.joined(d1);
        s.joined(d1);
        s.joined(d1);
        s.abandoned(d1);
        s.contact(
            d1,
            "chat",
            Some("da"),
            &tags(&["exit", "health"], Some("advice")),
            "x",
        );
        s.contact(d1, "chat", Some("da"), &tags(&[], None), "ended_by_visitor");
        s.contact(d1, "phone", None, &tags(&["exit"], Some("advice")), "x");
        let t = s.today(d1);
        assert_eq!(t.contacts, 3);
        assert_eq!(t.by_channel["chat"], 2);
        assert_eq!(t.by_channel["phone"], 1);
        assert_eq!(t.by_topic["exit"], 2);
        assert_eq!(t.by_topic["health"], 1);
        assert_eq!(t.by_outcome["advice"], 2);
        assert_eq!(t.by_outcome["ended_by_visitor"], 1);
        assert_eq!(t.by_language["da"], 2);
        // Saved and restored on the same day, not on another.
        let tmp = tempfile::tempdir().unwrap();
        save_day(tmp.path(), &s.to_save()[0], None).unwrap();
        let back = load_day(tmp.path(), d1).unwrap().unwrap();
        let mut fresh = Stats::default();
        fresh.restore(back.clone(), "2026-11-24");
        assert_eq!(fresh.date(), "");
        fresh.restore(back, d1);
        assert_eq!(fresh.today(d1), t);
        assert!(fresh.rows().contains(&("topic", "exit".into(), 2)));
        assert!((t.abandon_rate - 0.333).abs() < 1e-9, "{}", t.abandon_rate);
        assert_eq!(
            s.today("2026-11-24"),
            Today {
                date: "2026-11-24".into(),
                ..Today::default()
            }
        );
        s.joined("2026-11-24");
        assert_eq!(s.today("2026-11-24").joined, 1);
        // The finished day is handed over for saving once, then the current one.
        let saved = s.to_save();
        assert_eq!(saved.len(), 2);
        assert_eq!((saved[0].date(), saved[0].contacts), ("2026-11-23", 3));
        assert_eq!(saved[1].date(), "2026-11-24");
        assert_eq!(s.to_save().len(), 1);
        assert_eq!(s.today("2026-11-24").contacts, 0);
    }

    /// The export covers the range, adds referrals, and suppresses small counts when public.
    #[test]
    fn export() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Stats::default();
        for _ in 0..4 {
            s.contact(
                "2026-11-23",
                "chat",
                Some("da"),
                &tags(&["exit"], Some("advice")),
                "x",
            );
        }
        s.contact(
            "2026-11-23",
            "phone",
            Some("en"),
            &tags(&["health"], None),
            "untagged",
        );
        save_day(tmp.path(), &s.to_save()[0], None).unwrap();
        // Two more nodes' files of the same day are summed in; another day's is not.
        let mut other = Stats::default();
        other.contact(
            "2026-11-23",
            "chat",
            Some("da"),
            &tags(&["exit"], Some("advice")),
            "x",
        );
        save_day(tmp.path(), &other.to_save()[0], Some("a1b2c3")).unwrap();
        save_day(tmp.path(), &other.to_save()[0], Some("d4e5f6")).unwrap();
        let mut later = Stats::default();
        later.joined("2026-11-29");
        save_day(tmp.path(), &later.to_save()[0], Some("a1b2c3")).unwrap();
        std::fs::write(
            crate::referral::referral_stats_file(tmp.path()),
            r#"{"bro-kbh": {"2026-11-23": 2, "2026-12-01": 1}}"#,
        )
        .unwrap();
        let all = export_csv(tmp.path(), "2026-11-22", "2026-11-30", false).unwrap();
        assert!(all.starts_with("date,dimension,value,count\n"));
        for row in [
            "2026-11-23,contacts,all,7",
            "2026-11-23,channel,chat,6",
            "2026-11-23,channel,phone,1",
            "2026-11-23,language,en,1",
            "2026-11-23,topic,exit,6",
            "2026-11-23,outcome,untagged,1",
            "2026-11-23,referrals,bro-kbh,2",
        ] {
            assert!(all.lines().any(|l| l == row), "{row} missing in\n{all}");
        }
        assert!(!all.contains("2026-12-01"), "outside the range");
        assert!(
            all.lines().any(|l| l.starts_with("2026-11-29,joined,")),
            "{all}"
        );
        let public = export_csv(tmp.path(), "2026-11-23", "2026-11-23", true).unwrap();
        assert!(public.lines().any(|l| l == "2026-11-23,channel,phone,<3"));
        assert!(
            public
                .lines()
                .any(|l| l == "2026-11-23,referrals,bro-kbh,<3")
        );
        assert!(public.lines().any(|l| l == "2026-11-23,channel,chat,6"));
        assert!(export_csv(tmp.path(), "2026-11-23", "2026-11-22", false).is_err());
        assert!(export_csv(tmp.path(), "23/11", "2026-11-22", false).is_err());
    }

    /// Nearest-rank percentiles.
    #[test]
    fn percentiles() {
        let mut s = Stats::default();
        let d = "2026-11-23";
        for w in 1..=100 {
            s.waited(d, f64::from(w));
        }
        let p = s.today(d).wait_s;
        assert_eq!((p.p50, p.p90, p.p99, p.count), (50, 90, 99, 100));
        assert_eq!(percentile(&[], 50), 0);
        assert_eq!(percentile(&[7], 99), 7);
        s.waited(d, -5.0);
        assert_eq!(s.today(d).wait_s.count, 101);
    }
}
