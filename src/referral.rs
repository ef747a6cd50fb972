//! Brobygger referrals (PROTOCOL.md §4): the referral JSON `R` the counsellor signs and
//! seals, the short code a visitor quotes at the office's reception, and the relay's store of
//! sealed envelopes until the office acknowledges them.
//!
//! The store keeps each envelope — `{id, code, office_id, enc, ct, created_at}`, nothing
//! readable — as one file `<data_dir>/referrals/<id>.json`, written atomically and fsync'd
//! (file and directory) before the counsellor is told the code, so an acknowledged write
//! survives a crash or restart. Acknowledged referrals are deleted at once; unacknowledged
//! ones when their retention ends (`referrals.retention_days`, default 30). The only other
//! thing kept is a count of referrals per office per day (`referral-stats.json`, local
//! dates), from which the monthly figures and `lyt stats export` are made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::auth::write_atomic;
use crate::crypto::Sealed;

/// The needs a referral can name: the three areas a brobygger clarifies, then what else a
/// person may ask for.
pub const NEEDS: &[&str] = &[
    "health",
    "social",
    "work",
    "housing",
    "legal",
    "safety",
    "psychologist",
    "bisidder",
];
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Longest contact wish or safety constraint, in characters.
pub const MAX_FIELD_CHARS: usize = 200;
/// Largest sealed referral ciphertext accepted, in bytes.
pub const MAX_REFERRAL_CT_BYTES: usize = 16 * 1024;
/// What `contact` says when the person will come in and quote the code.
pub const WILL_QUOTE_CODE: &str = "will quote the code";

/// The visitor's consent as recorded in `R`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// Version of the consent text the widget showed.
    pub text_version: u32,
    /// When the visitor said yes (Unix seconds, the counsellor's clock).
    pub ts: u64,
    /// `offer_hash` of the exact `referral_offer` the visitor answered, base64url.
    pub offer_hash: String,
}

/// `R`: the referral an office reads, exactly as the counsellor signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Referral {
    /// 16 random bytes, base64url: the envelope's `aad` and the store's id.
    pub referral_id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The office it is for (bound into the envelope and the signature).
    pub office_id: String,
    /// The counsellor's alias (equal to the signer's certificate).
    pub counsellor_alias: String,
    /// How the person wants to be contacted, or [`WILL_QUOTE_CODE`].
    pub contact: String,
    /// The person's language (e.g. `da`, `en`, `th`).
    pub language: String,
    /// Whether an interpreter is needed.
    #[serde(default)]
    pub interpreter: bool,
    /// From [`NEEDS`].
    pub needs: Vec<String>,
    /// A short note, at most [`MAX_NOTE_CHARS`].
    #[serde(default)]
    pub note: String,
    /// Safety constraints, e.g. "no voicemail".
    #[serde(default)]
    pub safety: String,
    /// The visitor's consent.
    pub consent: Consent,
}

/// Why a referral body is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferralError {
    /// Not the referral JSON.
    #[error("the referral is not valid JSON of the expected shape: {0}")]
    Shape(String),
    /// A field breaks a rule.
    #[error("the referral is refused: {0}")]
    Invalid(String),
}

impl Referral {
    /// Parses `R` and checks it against what the envelope and signature bind: the office,
    /// the id and the signer's alias; and the field rules (needs from the list, lengths).
    pub fn parse_bound(
        r: &[u8],
        office_id: &str,
        referral_id: &[u8; 16],
        signer_alias: &str,
    ) -> Result<Self, ReferralError> {
        let referral: Self =
            serde_json::from_slice(r).map_err(|e| ReferralError::Shape(e.to_string()))?;
        let bad = |m: &str| Err(ReferralError::Invalid(m.to_owned()));
        if referral.office_id != office_id {
            return bad("it names another office than the one it was sealed to");
        }
        if referral.referral_id != crate::crypto::b64_encode(referral_id) {
            return bad("its id differs from the envelope's");
        }
        if referral.counsellor_alias != signer_alias {
            return bad("the counsellor alias differs from the signer's certificate");
        }
        referral.check_fields()?;
        Ok(referral)
    }

    /// The field rules.
    pub fn check_fields(&self) -> Result<(), ReferralError> {
        let bad = |m: String| Err(ReferralError::Invalid(m));
        if let Some(n) = self.needs.iter().find(|n| !NEEDS.contains(&n.as_str())) {
            return bad(format!("unknown need `{n}`"));
        }
        if self.note.chars().count() > MAX_NOTE_CHARS {
            return bad(format!(
                "the note is longer than {MAX_NOTE_CHARS} characters"
            ));
        }
        for (name, v) in [
            ("contact", &self.contact),
            ("safety", &self.safety),
            ("language", &self.language),
        ] {
            if v.chars().count() > MAX_FIELD_CHARS {
                return bad(format!(
                    "{name} is longer than {MAX_FIELD_CHARS} characters"
                ));
            }
        }
        if self.contact.trim().is_empty() {
            return bad(format!(
                "contact is empty (say how, or `{WILL_QUOTE_CODE}`)"
            ));
        }
        Ok(())
    }
}

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or handwritten is
/// unambiguous.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new referral code `BRO-XXXX-XXXX`: 8 symbols of 5 bits, 40 bits of entropy.
pub fn new_code() -> String {
    let bytes: [u8; 5] = rand::random();
    let mut bits = u64::from_be_bytes([0, 0, 0, bytes[0], bytes[1], bytes[2], bytes[3], bytes[4]]);
    let mut symbols = [0u8; 8];
    for s in symbols.iter_mut().rev() {
        // Masked to 5 bits: the index is always in range.
        *s = CODE_ALPHABET[usize::try_from(bits & 31).unwrap_or(0)];
        bits >>= 5;
    }
    let text = String::from_utf8_lossy(&symbols).into_owned();
    format!("BRO-{}-{}", &text[..4], &text[4..])
}

/// Normalises a code as typed at a reception: upper case, O→0, I/L→1, spaces and dashes
/// ignored. `None` when it cannot be a code.
pub fn normalise_code(input: &str) -> Option<String> {
    let mut symbols: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    if let Some(rest) = symbols.strip_prefix("BR0") {
        symbols = rest.to_owned();
    }
    (symbols.len() == 8 && symbols.bytes().all(|b| CODE_ALPHABET.contains(&b)))
        .then(|| format!("BRO-{}-{}", &symbols[..4], &symbols[4..]))
}

/// A sealed referral as stored and as handed to its office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredReferral {
    /// The referral id, base64url of 16 bytes (the envelope's `aad`).
    pub id: String,
    /// The code the visitor quotes.
    pub code: String,
    /// The office it is sealed to.
    pub office_id: String,
    /// The sealed envelope.
    pub sealed: Sealed,
    /// Unix seconds.
    pub created_at: u64,
}

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The same id was stored before.
    #[error("a referral with this id exists")]
    Duplicate,
    /// No such referral for this office.
    #[error("no such referral")]
    NotFound,
    /// Reading or writing the data directory failed.
    #[error("referral store: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Default)]
struct State {
    by_id: BTreeMap<String, StoredReferral>,
    /// Referrals stored per office per local day (`YYYY-MM-DD`).
    daily: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The referral store: a cheap-clone handle.
#[derive(Debug, Clone)]
pub struct ReferralStore {
    dir: PathBuf,
    stats_file: PathBuf,
    retention_s: u64,
    time_zone: jiff::tz::TimeZone,
    state: Arc<Mutex<State>>,
}

fn is_id(name: &str) -> bool {
    crate::crypto::b64_decode(name, "id").is_ok_and(|b| b.len() == 16)
}

impl ReferralStore {
    /// Opens (creating) `<data_dir>/referrals/` and loads what is there; referrals past
    /// their retention are deleted.
    pub fn open(
        data_dir: &Path,
        retention_days: u64,
        time_zone: jiff::tz::TimeZone,
        now: u64,
    ) -> Result<Self, StoreError> {
        let dir = data_dir.join("referrals");
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
        let stats_file = referral_stats_file(data_dir);
        let store = Self {
            dir,
            stats_file,
            retention_s: retention_days.saturating_mul(86_400),
            time_zone,
            state: Arc::new(Mutex::new(State::default())),
        };
        store.rescan(&mut store.lock())?;
        store.expire(now)?;
        Ok(store)
    }

    /// Reads the directory and the daily counts again: with many nodes sharing the data
    /// directory, another node may have stored or acknowledged referrals since.
    fn rescan(&self, state: &mut State) -> std::io::Result<()> {
        let mut by_id = BTreeMap::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue; // the lock file, temporary files of an interrupted write
            };
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                // Acknowledged by another node meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let r: StoredReferral = serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            if r.id == stem && is_id(stem) {
                by_id.insert(r.id.clone(), r);
            }
        }
        state.by_id = by_id;
        match std::fs::read_to_string(&self.stats_file) {
            Ok(text) => {
                state.daily = serde_json::from_str(&text).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: {e}", self.stats_file.display()),
                    )
                })?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// An exclusive lock on the directory across processes (nodes sharing it), held while
    /// a change reads and writes.
    fn dir_lock(&self) -> std::io::Result<std::fs::File> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(".lock"))?;
        f.lock()?;
        Ok(f)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Stores a sealed referral durably and returns its new code. Blocking (fsync): call it
    /// from a blocking thread.
    pub fn put(
        &self,
        id: &[u8; 16],
        office_id: &str,
        sealed: Sealed,
        now: u64,
    ) -> Result<String, StoreError> {
        let id = crate::crypto::b64_encode(id);
        let mut state = self.lock();
        let _dir = self.dir_lock()?;
        self.rescan(&mut state)?;
        if state.by_id.contains_key(&id) {
            return Err(StoreError::Duplicate);
        }
        let code = loop {
            let code = new_code();
            if !state.by_id.values().any(|r| r.code == code) {
                break code;
            }
        };
        let r = StoredReferral {
            id: id.clone(),
            code: code.clone(),
            office_id: office_id.to_owned(),
            sealed,
            created_at: now,
        };
        let json = serde_json::to_vec(&r).map_err(std::io::Error::other)?;
        write_atomic(&self.path(&id), &json)?;
        state.by_id.insert(id, r);
        let day = date_of(now, &self.time_zone);
        *state
            .daily
            .entry(office_id.to_owned())
            .or_default()
            .entry(day)
            .or_default() += 1;
        let stats = serde_json::to_vec_pretty(&state.daily).map_err(std::io::Error::other)?;
        write_atomic(&self.stats_file, &stats)?;
        Ok(code)
    }

    /// The office's unacknowledged referrals, oldest first.
    pub fn list(&self, office_id: &str) -> Vec<StoredReferral> {
        let mut state = self.lock();
        if let Err(e) = self.rescan(&mut state) {
            tracing::error!(error = %e, "referral directory");
        }
        let mut v: Vec<StoredReferral> = state
            .by_id
            .values()
            .filter(|r| r.office_id == office_id)
            .cloned()
            .collect();
        v.sort_by_key(|r| r.created_at);
        v
    }

    /// Acknowledges (deletes) one of the office's referrals.
    pub fn ack(&self, office_id: &str, id: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        let _dir = self.dir_lock()?;
        self.rescan(&mut state)?;
        match state.by_id.get(id) {
            Some(r) if r.office_id == office_id => {}
            _ => return Err(StoreError::NotFound),
        }
        remove_file(&self.path(id))?;
        state.by_id.remove(id);
        Ok(())
    }

    /// Deletes referrals older than the retention.
    pub fn expire(&self, now: u64) -> Result<usize, StoreError> {
        let mut state = self.lock();
        let _dir = self.dir_lock()?;
        self.rescan(&mut state)?;
        let old: Vec<String> = state
            .by_id
            .values()
            .filter(|r| now.saturating_sub(r.created_at) >= self.retention_s)
            .map(|r| r.id.clone())
            .collect();
        for id in &old {
            remove_file(&self.path(id))?;
            state.by_id.remove(id);
        }
        Ok(old.len())
    }

    /// How many referrals are waiting, for every office.
    pub fn pending(&self) -> usize {
        self.lock().by_id.len()
    }

    /// Referrals per office per month (`YYYY-MM`).
    pub fn monthly(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.lock()
            .daily
            .iter()
            .map(|(office, days)| {
                let mut months: BTreeMap<String, u64> = BTreeMap::new();
                for (day, n) in days {
                    *months
                        .entry(day[..7.min(day.len())].to_owned())
                        .or_default() += n;
                }
                (office.clone(), months)
            })
            .collect()
    }
}

fn remove_file(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The file of the referral counts per office per day.
pub fn referral_stats_file(data_dir: &Path) -> PathBuf {
    data_dir.join("referral-stats.json")
}

/// Reads the referral counts per office per day (empty when there are none).
pub fn read_daily_counts(
    data_dir: &Path,
) -> std::io::Result<BTreeMap<String, BTreeMap<String, u64>>> {
    match std::fs::read_to_string(referral_stats_file(data_dir)) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

/// `YYYY-MM-DD` of a Unix time in `tz`.
fn date_of(unix: u64, tz: &jiff::tz::TimeZone) -> String {
    let ts = jiff::Timestamp::from_second(i64::try_from(unix).unwrap_or(0))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.to_zoned_datetime(tz.clone()).date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed() -> Sealed {
        Sealed {
            enc: vec![1; 32],
            ct: vec![2; 64],
        }
    }

    /// Codes have the documented shape and alphabet, and read-aloud variants normalise.
    #[test]
    fn codes() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 13, "{c}");
            assert!(c.starts_with("BRO-"));
            assert_eq!(normalise_code(&c), Some(c.clone()));
            assert_eq!(normalise_code(&c.to_lowercase().replace('-', " ")), Some(c));
        }
        assert_eq!(
            normalise_code("bro 4kq7 9mxo").as_deref(),
            Some("BRO-4KQ7-9MX0")
        );
        assert_eq!(normalise_code("BRO-4KQ7-9MXU"), None);
        assert_eq!(normalise_code("BRO-4KQ7"), None);
    }

    /// Stored referrals survive a reopen; ack deletes; other offices cannot ack or see;
    /// retention deletes old ones; duplicates are refused; monthly counts are kept.
    /// Nodes sharing one data directory: a referral stored through one is listed and
    /// acknowledged through another, and both count it once.
    #[test]
    fn nodes_share_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let now = 1_800_000_000;
        let a = ReferralStore::open(tmp.path(), 30, jiff::tz::TimeZone::UTC, now).unwrap();
        let b = ReferralStore::open(tmp.path(), 30, jiff::tz::TimeZone::UTC, now).unwrap();
        let code = a.put(&[1; 16], "kbh", sealed(), now).unwrap();
        b.put(&[2; 16], "kbh", sealed(), now).unwrap();
        assert!(matches!(
            b.put(&[1; 16], "kbh", sealed(), now),
            Err(StoreError::Duplicate)
        ));
        let listed = b.list("kbh");
        assert_eq!(listed.len(), 2);
        assert_eq!(listed.iter().filter(|r| r.code == code).count(), 1);
        b.ack("kbh", &crate::crypto::b64_encode(&[1; 16])).unwrap();
        assert_eq!(a.list("kbh").len(), 1);
        let month = a.monthly();
        assert_eq!(month["kbh"].values().sum::<u64>(), 2);
    }

    #[test]
    fn durable_store() {
        let tmp = tempfile::tempdir().unwrap();
        let now = 1_800_000_000;
        let s = ReferralStore::open(tmp.path(), 30, jiff::tz::TimeZone::UTC, now).unwrap();
        let code = s.put(&[1; 16], "kbh", sealed(), now).unwrap();
        s.put(&[2; 16], "kbh", sealed(), now + 1).unwrap();
        s.put(&[3; 16], "aarhus", sealed(), now - 29 * 86_400)
            .unwrap();
        assert!(matches!(
            s.put(&[1; 16], "kbh", sealed(), now),
            Err(StoreError::Duplicate)
        ));
        let again = ReferralStore::open(tmp.path(), 30, jiff::tz::TimeZone::UTC, now).unwrap();
        let list = again.list("kbh");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].code, code);
        assert_eq!(list[0].sealed, sealed());
        let id1 = crate::crypto::b64_encode(&[1; 16]);
        assert!(matches!(
            again.ack("aarhus", &id1),
            Err(StoreError::NotFound)
        ));
        again.ack("kbh", &id1).unwrap();
        assert!(matches!(again.ack("kbh", &id1), Err(StoreError::NotFound)));
        assert_eq!(
            ReferralStore::open(tmp.path(), 30, jiff::tz::TimeZone::UTC, now)
                .unwrap()
                .list("kbh")
                .len(),
            1
        );
        // A day later the Aarhus referral has reached its 30 days.
        let later =
            ReferralStore::open(tmp.path(), 30, jiff::tz::TimeZone::UTC, now + 86_400).unwrap();
        assert!(later.list("aarhus").is_empty());
        assert_eq!(later.monthly()["kbh"]["2027-01"], 2);
        assert_eq!(later.monthly()["aarhus"].values().sum::<u64>(), 1);
    }

    fn referral() -> Referral {
        Referral {
            referral_id: crate::crypto::b64_encode(&[4; 16]),
            created_at: 1,
            office_id: "kbh".into(),
            counsellor_alias: "Maja".into(),
            contact: WILL_QUOTE_CODE.into(),
            language: "da".into(),
            interpreter: false,
            needs: vec!["health".into(), "bisidder".into()],
            note: String::new(),
            safety: "no voicemail".into(),
            consent: Consent {
                text_version: 1,
                ts: 1,
                offer_hash: "x".into(),
            },
        }
    }

    /// `R` must name the office, id and alias it was sealed and signed for, and follow the
    /// field rules.
    #[test]
    fn bound_fields() {
        let r = referral();
        let bytes = serde_json::to_vec(&r).unwrap();
        assert_eq!(
            Referral::parse_bound(&bytes, "kbh", &[4; 16], "Maja"),
            Ok(r.clone())
        );
        assert!(Referral::parse_bound(&bytes, "aarhus", &[4; 16], "Maja").is_err());
        assert!(Referral::parse_bound(&bytes, "kbh", &[5; 16], "Maja").is_err());
        assert!(Referral::parse_bound(&bytes, "kbh", &[4; 16], "Ali").is_err());
        for broken in [
            Referral {
                needs: vec!["money".into()],
                ..r.clone()
            },
            Referral {
                note: "x".repeat(501),
                ..r.clone()
            },
            Referral {
                contact: " ".into(),
                ..r.clone()
            },
        ] {
            assert!(broken.check_fields().is_err(), "{broken:?}");
        }
        assert!(matches!(
            Referral::parse_bound(b"{\"referral_id\":1}", "kbh", &[4; 16], "Maja"),
            Err(ReferralError::Shape(_))
        ));
    }
}
