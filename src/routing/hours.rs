//! Opening hours: weekly ranges and holidays in the organisation's time zone, as a pure
//! function from an instant to "open until …" or "closed until …".
//!
//! Local times are turned into instants with the zone's rules for that date (jiff's bundled
//! tz database), so hours stay right across daylight-saving changes: a range that starts in
//! a skipped hour starts when the clock resumes, and one that ends in a repeated hour ends at
//! its first occurrence. Adjacent ranges (e.g. `00:00-24:00` every day) merge into one.
//! No weekly hours at all means open around the clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};
use serde::{Deserialize, Serialize};

/// How far ahead the next opening is searched.
const LOOKAHEAD_DAYS: i32 = 21;

/// Opening hours as configured (`[hours]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct HoursConfig {
    /// IANA time zone of the organisation.
    pub time_zone: String,
    /// Local opening ranges per weekday (`mon` … `sun`), e.g. `"09:00-21:00"` or
    /// `"09:00-12:00, 13:00-21:00"`; `24:00` ends at midnight. A day that is not listed is
    /// closed. No entries at all: open around the clock.
    pub weekly: BTreeMap<String, String>,
    /// Dates (`YYYY-MM-DD`, local) closed all day.
    pub holidays: Vec<String>,
    /// The hours in words for visitors, e.g. `Mon-Fri 9-21`.
    pub text: String,
}

impl Default for HoursConfig {
    fn default() -> Self {
        Self {
            time_zone: "Europe/Copenhagen".into(),
            weekly: BTreeMap::new(),
            holidays: Vec::new(),
            text: "Open around the clock".into(),
        }
    }
}

/// Open or closed at an instant, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenState {
    /// Whether chats can be joined.
    pub open: bool,
    /// When that changes (`None`: never, within the look-ahead).
    pub until: Option<Timestamp>,
}

/// Parsed opening hours.
#[derive(Debug, Clone)]
pub struct Schedule {
    tz: TimeZone,
    /// Local ranges per weekday, as (start, end) where end may be `None` for midnight.
    weekly: HashMap<Weekday, Vec<(Time, Option<Time>)>>,
    holidays: BTreeSet<Date>,
    always_open: bool,
}

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

fn parse_range(day: &str, range: &str) -> Result<(Time, Option<Time>), String> {
    let bad = || format!("hours.weekly.{day}: `{range}` is not HH:MM-HH:MM");
    let (a, b) = range.trim().split_once('-').ok_or_else(bad)?;
    let start: Time = a.trim().parse().map_err(|_| bad())?;
    let end = match b.trim() {
        "24:00" => None,
        t => Some(t.parse::<Time>().map_err(|_| bad())?),
    };
    if end.is_some_and(|e| e <= start) {
        return Err(format!(
            "hours.weekly.{day}: `{range}` ends before it starts"
        ));
    }
    Ok((start, end))
}

impl Schedule {
    /// Parses and checks the configuration; errors name the setting to fix.
    pub fn new(cfg: &HoursConfig) -> Result<Self, String> {
        let tz = TimeZone::get(&cfg.time_zone)
            .map_err(|_| format!("hours.time_zone: unknown time zone `{}`", cfg.time_zone))?;
        let mut weekly = HashMap::new();
        for (day, ranges) in &cfg.weekly {
            let wd =
                weekday(day).ok_or_else(|| format!("hours.weekly: `{day}` is not mon..sun"))?;
            let parsed = ranges
                .split(',')
                .filter(|r| !r.trim().is_empty() && r.trim() != "closed")
                .map(|r| parse_range(day, r))
                .collect::<Result<Vec<_>, _>>()?;
            weekly.insert(wd, parsed);
        }
        let holidays = cfg
            .holidays
            .iter()
            .map(|d| {
                d.parse::<Date>()
                    .map_err(|_| format!("hours.holidays: `{d}` is not YYYY-MM-DD"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            tz,
            always_open: cfg.weekly.is_empty(),
            weekly,
            holidays,
        })
    }

    /// The opening intervals (as instants) of local dates `from..from+days`, merged.
    fn intervals(&self, from: Date, days: i32) -> Vec<(Timestamp, Timestamp)> {
        let mut out: Vec<(Timestamp, Timestamp)> = Vec::new();
        for offset in 0..days {
            let Ok(date) = from.checked_add(offset.days()) else {
                continue;
            };
            if self.holidays.contains(&date) {
                continue;
            }
            for (start, end) in self.weekly.get(&date.weekday()).into_iter().flatten() {
                let start = self.instant(date, *start);
                let end = match end {
                    Some(t) => self.instant(date, *t),
                    None => date
                        .tomorrow()
                        .ok()
                        .and_then(|d| self.instant(d, Time::midnight())),
                };
                if let (Some(s), Some(e)) = (start, end)
                    && s < e
                {
                    out.push((s, e));
                }
            }
        }
        out.sort();
        let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
        for (s, e) in out {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    /// A local date and time in the zone as an instant (DST gaps move forward, folds take
    /// the earlier instant).
    fn instant(&self, date: Date, time: Time) -> Option<Timestamp> {
        self.tz.to_timestamp(date.to_datetime(time)).ok()
    }

    /// Open or closed at `now`, and until when.
    pub fn at(&self, now: Timestamp) -> OpenState {
        if self.always_open {
            return OpenState {
                open: true,
                until: None,
            };
        }
        let today = now.to_zoned_datetime(self.tz.clone()).date();
        let Ok(from) = today.checked_sub(1.day()) else {
            return OpenState {
                open: false,
                until: None,
            };
        };
        let intervals = self.intervals(from, LOOKAHEAD_DAYS + 1);
        if let Some((_, end)) = intervals.iter().find(|(s, e)| *s <= now && now < *e) {
            return OpenState {
                open: true,
                until: Some(*end),
            };
        }
        let next = intervals.iter().map(|(s, _)| *s).find(|s| *s > now);
        OpenState {
            open: false,
            until: next,
        }
    }

    /// The organisation's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Whether the schedule has no hours at all (always open).
    pub fn always_open(&self) -> bool {
        self.always_open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(weekly: &[(&str, &str)], holidays: &[&str]) -> Schedule {
        let cfg = HoursConfig {
            weekly: weekly
                .iter()
                .map(|(d, r)| (d.to_string(), r.to_string()))
                .collect(),
            holidays: holidays.iter().map(ToString::to_string).collect(),
            ..HoursConfig::default()
        };
        Schedule::new(&cfg).unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// No weekly hours: open around the clock.
    #[test]
    fn empty_is_always_open() {
        let s = schedule(&[], &[]);
        assert_eq!(
            s.at(at("2026-11-23T03:00:00Z")),
            OpenState {
                open: true,
                until: None
            }
        );
    }

    /// Open within a day's range, closed outside it, with the right next change (Copenhagen
    /// is UTC+1 in November).
    #[test]
    fn weekday_ranges() {
        let s = schedule(&[("mon", "09:00-21:00"), ("tue", "09:00-21:00")], &[]);
        // Monday 2026-11-23, 10:00 local.
        assert_eq!(
            s.at(at("2026-11-23T09:00:00Z")),
            OpenState {
                open: true,
                until: Some(at("2026-11-23T20:00:00Z"))
            }
        );
        // Monday 22:00 local: closed until Tuesday 09:00 local.
        assert_eq!(
            s.at(at("2026-11-23T21:00:00Z")),
            OpenState {
                open: false,
                until: Some(at("2026-11-24T08:00:00Z"))
            }
        );
        // Tuesday 22:00 local: closed until next Monday.
        assert_eq!(
            s.at(at("2026-11-24T21:00:00Z")),
            OpenState {
                open: false,
                until: Some(at("2026-11-30T08:00:00Z"))
            }
        );
    }

    /// A holiday closes its whole day.
    #[test]
    fn holidays_close() {
        let s = schedule(
            &[("thu", "09:00-21:00"), ("fri", "09:00-21:00")],
            &["2026-12-24"],
        );
        let state = s.at(at("2026-12-24T10:00:00Z"));
        assert_eq!(
            state,
            OpenState {
                open: false,
                until: Some(at("2026-12-25T08:00:00Z"))
            }
        );
    }

    /// Around the clock ranges merge across midnight: open until the last day ends.
    #[test]
    fn adjacent_days_merge() {
        let s = schedule(&[("sat", "18:00-24:00"), ("sun", "00:00-06:00")], &[]);
        // Saturday 2026-11-28 20:00 local → open until Sunday 06:00 local.
        assert_eq!(
            s.at(at("2026-11-28T19:00:00Z")),
            OpenState {
                open: true,
                until: Some(at("2026-11-29T05:00:00Z"))
            }
        );
    }

    /// Daylight saving: on 2026-03-29 Copenhagen skips 02:00→03:00; on 2026-10-25 it repeats
    /// 02:00–03:00. Hours stay in local time on both days.
    #[test]
    fn daylight_saving_changes() {
        let s = schedule(&[("sun", "01:00-05:00"), ("sat", "09:00-17:00")], &[]);
        // Spring forward: 01:00 CET = 00:00Z; 05:00 CEST = 03:00Z (the day has 23 hours).
        assert_eq!(
            s.at(at("2026-03-29T00:30:00Z")),
            OpenState {
                open: true,
                until: Some(at("2026-03-29T03:00:00Z"))
            }
        );
        // Fall back: 01:00 CEST = 23:00Z on Saturday; 05:00 CET = 04:00Z (25-hour day).
        assert_eq!(
            s.at(at("2026-10-24T23:30:00Z")),
            OpenState {
                open: true,
                until: Some(at("2026-10-25T04:00:00Z"))
            }
        );
        // The week after spring forward, Saturday 09:00 is CEST: 07:00Z.
        assert_eq!(
            s.at(at("2026-04-04T06:00:00Z")),
            OpenState {
                open: false,
                until: Some(at("2026-04-04T07:00:00Z"))
            }
        );
    }

    /// Bad configuration is refused with the setting's name.
    #[test]
    fn bad_config_is_explained() {
        let bad = |weekly: &[(&str, &str)], tz: &str| {
            let cfg = HoursConfig {
                time_zone: tz.into(),
                weekly: weekly
                    .iter()
                    .map(|(d, r)| (d.to_string(), r.to_string()))
                    .collect(),
                ..HoursConfig::default()
            };
            Schedule::new(&cfg).unwrap_err()
        };
        assert!(bad(&[("mon", "9-5")], "Europe/Copenhagen").contains("hours.weekly.mon"));
        assert!(bad(&[("mon", "21:00-09:00")], "Europe/Copenhagen").contains("ends before"));
        assert!(bad(&[("funday", "09:00-10:00")], "Europe/Copenhagen").contains("mon..sun"));
        assert!(bad(&[], "Mars/Olympus").contains("hours.time_zone"));
    }
}
