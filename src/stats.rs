//! Today's anonymous statistics for the supervisor dashboard: counts of contacts by channel,
//! topic and outcome, joins and abandons, and the waits of today's accepted chats. Counts
//! and durations only — never a conversation id, an alias of a visitor, a time of day per
//! contact or anything else about a person.
//!
//! "Today" is the calendar day in the opening-hours time zone; the figures start from zero
//! at local midnight. They live in memory (a restart starts the day from zero); the
//! long-term statistics for funders are #8's export.
//!
//! What counts as a contact: a chat a counsellor accepted, counted once when it ends (a
//! transfer is the same contact), with the counsellor's tags when they ended it, otherwise
//! with outcome `ended_by_visitor` (or the end reason's category); a phone callback marked
//! done, with its tags, under channel `phone`.

use std::collections::BTreeMap;

use serde::Serialize;

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

/// The running counts of one day.
#[derive(Debug, Default)]
pub struct Stats {
    date: String,
    contacts: u64,
    by_channel: BTreeMap<String, u64>,
    by_topic: BTreeMap<String, u64>,
    by_outcome: BTreeMap<String, u64>,
    joined: u64,
    abandoned: u64,
    waits: Vec<u32>,
}

impl Stats {
    /// Starts a new day when `date` is not the current one.
    fn roll(&mut self, date: &str) {
        if self.date != date {
            *self = Self {
                date: date.to_owned(),
                ..Self::default()
            };
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

    /// A contact ended on `channel` with these tags; `fallback_outcome` counts when the
    /// tags carry none.
    pub fn contact(&mut self, date: &str, channel: &str, tags: &Tags, fallback_outcome: &str) {
        self.roll(date);
        self.contacts += 1;
        *self.by_channel.entry(channel.to_owned()).or_default() += 1;
        for topic in &tags.topic {
            *self.by_topic.entry(topic.to_string()).or_default() += 1;
        }
        let outcome = tags
            .outcome
            .as_ref()
            .map_or_else(|| fallback_outcome.to_owned(), ToString::to_string);
        *self.by_outcome.entry(outcome).or_default() += 1;
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
        s.contact(d1, "chat", &tags(&["exit", "health"], Some("advice")), "x");
        s.contact(d1, "chat", &tags(&[], None), "ended_by_visitor");
        s.contact(d1, "phone", &tags(&["exit"], Some("advice")), "x");
        let t = s.today(d1);
        assert_eq!(t.contacts, 3);
        assert_eq!(t.by_channel["chat"], 2);
        assert_eq!(t.by_channel["phone"], 1);
        assert_eq!(t.by_topic["exit"], 2);
        assert_eq!(t.by_topic["health"], 1);
        assert_eq!(t.by_outcome["advice"], 2);
        assert_eq!(t.by_outcome["ended_by_visitor"], 1);
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
        assert_eq!(s.today("2026-11-24").contacts, 0);
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
