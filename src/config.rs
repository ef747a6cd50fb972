//! One `Config` for the whole service, layered as defaults → TOML file → `LYT_*` environment
//! variables → command-line flags, validated at start with messages that say what to set.
//!
//! Environment variables name a setting in upper case with `__` between table levels:
//! `LYT_LISTEN=0.0.0.0:8080`, `LYT_LIMITS__MAILBOX=128`,
//! `LYT_ALLOWED_ORIGINS='["https://example.org"]'`. A value is read as TOML when it parses as
//! a TOML value (numbers, booleans, arrays) and as a plain string otherwise. Unknown keys in
//! the file and unknown `LYT_*` variables are reported as warnings, not errors, so that a
//! newer config works with an older binary. Secrets (`password_hash`) print as `***`.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::protocol::QueueId;

/// Environment variables that belong to the command line, not to `Config`.
const CLI_ENV: &[&str] = &["LYT_CONFIG", "LYT_LOG", "LYT_DEMO"];

/// A value that never prints: `Debug`, `Display` and `Serialize` show `***`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself; call sites are easy to audit.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// The role of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Takes chats and phone callbacks.
    Counsellor,
    /// A counsellor who also sees the live dashboard and manages counsellors.
    Supervisor,
}

impl Role {
    /// The role as a lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counsellor => "counsellor",
            Self::Supervisor => "supervisor",
        }
    }
}

/// A counsellor or supervisor account.
#[derive(Debug, Clone, Serialize, Deserialize)]

pub struct AccountConfig {
    /// Login name.
    pub username: String,
    /// The name visitors see (must equal the alias in the account's identity certificate).
    pub alias: String,
    /// Counsellor or supervisor.
    pub role: Role,
    /// Argon2id PHC string, e.g. made by `lyt counsellor hash-password`.
    pub password_hash: Secret<String>,
}

/// A routing queue.
#[derive(Debug, Clone, Serialize, Deserialize)]

pub struct QueueConfig {
    /// `lang/topic`, e.g. `da/exit`.
    pub id: QueueId,
    /// Display names per language, e.g. `{ da = "Exit", en = "Getting out" }`.
    #[serde(default)]
    pub names: std::collections::BTreeMap<String, String>,
}

/// The phone line shown in the widget.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PhoneConfig {
    /// The number as it should be dialled and shown.
    pub number: String,
    /// Opening hours in words, e.g. `Mon-Fri 9-21`.
    pub hours: String,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        Self {
            number: "+45 00 00 00 00 (demo)".into(),
            hours: "Mon-Sun 00-24 (demo)".into(),
        }
    }
}

/// Connection and protocol limits. Every one is explicit and documented here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// Frames queued for one connection before it counts as too slow and is closed (1013).
    pub mailbox: usize,
    /// Seconds between WebSocket pings.
    pub ping_s: u64,
    /// Seconds without any frame (pongs count) before a connection is closed.
    pub idle_s: u64,
    /// Seconds a counsellor has after connecting to send `auth`.
    pub auth_timeout_s: u64,
    /// Seconds an offer waits for accept/decline before it moves on.
    pub offer_timeout_s: u64,
    /// Seconds before a visitor may be offered again to a counsellor who declined them or let
    /// the offer expire (when nobody else is available).
    pub reoffer_after_s: u64,
    /// Seconds a ticket from `POST /v1/auth/ticket` stays valid (single use).
    pub ticket_ttl_s: u64,
    /// Seconds a login session lasts.
    pub session_ttl_s: u64,
    /// Maximum visitors waiting in one queue.
    pub max_queue_len: usize,
    /// Maximum visitors waiting in all queues together.
    pub max_waiting_total: usize,
    /// Seconds a visitor whose connection dropped can resume their conversation.
    pub resume_window_s: u64,
    /// Seconds a sealed callback request is kept before it is deleted unhandled.
    pub callback_ttl_s: u64,
    /// Most pending callback requests (then `queue_full`).
    pub max_callbacks: usize,
    /// Seconds a socket task gets to close after shutdown begins.
    pub shutdown_grace_s: u64,
    /// Maximum request body of the HTTP API, in bytes.
    pub max_body_bytes: usize,
    /// Seconds a client has to send its request headers (against slowloris).
    pub header_read_timeout_s: u64,
    /// Seconds a client has to complete the TLS handshake when lyt terminates TLS (`[tls]`).
    pub tls_handshake_timeout_s: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            mailbox: 256,
            ping_s: 20,
            idle_s: 60,
            auth_timeout_s: 10,
            offer_timeout_s: 30,
            reoffer_after_s: 60,
            ticket_ttl_s: 30,
            session_ttl_s: 12 * 3600,
            max_queue_len: 200,
            max_waiting_total: 1_000,
            resume_window_s: 600,
            callback_ttl_s: 24 * 3600,
            max_callbacks: 500,
            shutdown_grace_s: 10,
            max_body_bytes: 16 * 1024,
            header_read_timeout_s: 10,
            tls_handshake_timeout_s: 10,
        }
    }
}

/// TLS termination inside lyt, for deployments without a reverse proxy (see `src/tls.rs`).
/// Both paths set: the public listener speaks only HTTPS/WSS, every response carries HSTS and
/// the session cookie is `Secure`. Neither set: plain HTTP (behind a TLS proxy).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsConfig {
    /// PEM file: the server certificate, then its intermediates (`LYT_TLS__CERT`).
    pub cert: Option<PathBuf>,
    /// PEM file: the certificate's private key, PKCS#8, PKCS#1 or SEC1 (`LYT_TLS__KEY`).
    pub key: Option<PathBuf>,
    /// `max-age` of the `Strict-Transport-Security` header sent while TLS is on.
    pub hsts_max_age_s: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert: None,
            key: None,
            hsts_max_age_s: 365 * 24 * 3600,
        }
    }
}

impl TlsConfig {
    /// Whether lyt terminates TLS itself.
    pub fn enabled(&self) -> bool {
        self.cert.is_some() && self.key.is_some()
    }
}

/// Routing rules beyond the limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RoutingConfig {
    /// Topics served before all others (after visitors put back at the front), e.g.
    /// `["trafficking"]`.
    pub priority_topics: Vec<String>,
    /// Seconds after a chat ends before the counsellor is offered the next one (0: none).
    pub wrap_up_s: u64,
    /// Offers a counsellor may let expire in a row before they are put on break and told.
    pub max_missed_offers: u32,
    /// Seconds a counsellor whose connection dropped has to come back on duty and keep their
    /// live chats (0: the chats go back to the queue at once).
    pub reconnect_window_s: u64,
    /// Milliseconds between sweeps: expired offers, lapsed conversations, counsellors whose
    /// node died, and routing once more as a safety net. Routing itself runs on every event
    /// (a join, decline, end, duty change or accept), not on this tick. At least 10.
    pub sweep_ms: u64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            priority_topics: Vec::new(),
            wrap_up_s: 0,
            max_missed_offers: 3,
            reconnect_window_s: 60,
            sweep_ms: 250,
        }
    }
}

/// Shared state in Redis, to run as one of many nodes (`docs/state.md`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` (`LYT_REDIS__URL`, `serve --redis`); never
    /// printed. Unset: one node with in-memory state.
    pub url: Option<Secret<String>>,
    /// Further URLs of a Redis Cluster's masters: with any, `url` and these are one Cluster.
    pub cluster: Vec<Secret<String>>,
}

/// Brobygger referrals.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ReferralsConfig {
    /// Days an unacknowledged referral is kept before it is deleted.
    pub retention_days: u64,
    /// Each office's API token, as its SHA-256 in base64url (from `lyt referral token`):
    /// `office_tokens.kbh-1 = "…"`. The token itself is given to the office only.
    pub office_tokens: std::collections::BTreeMap<String, String>,
    /// Optional per office: a URL lyt POSTs `{"event":"referral_waiting","office_id":…}` to
    /// when a referral for it is stored (nothing of the referral; `src/webhook.rs`).
    pub webhooks: std::collections::BTreeMap<String, String>,
}

impl Default for ReferralsConfig {
    fn default() -> Self {
        Self {
            retention_days: 30,
            office_tokens: std::collections::BTreeMap::new(),
            webhooks: std::collections::BTreeMap::new(),
        }
    }
}

/// What the office directory shows about an office beyond its certificate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OfficeInfo {
    /// The municipality (searchable in the console).
    pub municipality: String,
    /// The street address of the reception.
    pub address: String,
    /// Reception hours in words.
    pub reception_hours: String,
}

/// The anonymous categories a contact is tagged with when it ends (chat `end`, phone
/// `callback_done`): the console offers exactly these, and the relay refuses others, so no
/// free text about a person can reach the statistics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TagsConfig {
    /// Topics a contact was about (the queues' topics are always included).
    pub topics: Vec<String>,
    /// Outcomes of a contact.
    pub outcomes: Vec<String>,
}

/// The channels a contact can come through.
pub const CHANNELS: &[&str] = &["chat", "phone"];

impl Default for TagsConfig {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect();
        Self {
            topics: words(&[
                "exit",
                "health",
                "trafficking",
                "violence",
                "housing",
                "money",
                "legal",
                "residence",
                "drugs",
                "other",
            ]),
            outcomes: words(&[
                "advice",
                "information",
                "referred",
                "callback",
                "crisis",
                "no_contact",
                "technical",
                "other",
            ]),
        }
    }
}

impl TagsConfig {
    /// Topics offered: the configured ones, then the queues' topics not among them.
    pub fn all_topics(&self, queues: &[QueueConfig]) -> Vec<String> {
        let mut topics = self.topics.clone();
        for q in queues {
            let topic = q.id.topic().to_owned();
            if !topics.contains(&topic) {
                topics.push(topic);
            }
        }
        topics
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The public listener: widget, WebSockets, REST.
    pub listen: SocketAddr,
    /// The internal listener: `/metrics`, `/healthz`, `/readyz`. Never expose it publicly.
    pub internal: SocketAddr,
    /// Run with demo accounts and keys (set by `lyt serve`, not by the file).
    #[serde(skip)]
    pub demo: bool,
    /// Where demo mode keeps its keys and passwords.
    pub demo_dir: PathBuf,
    /// The organisation's root public key (base64url), pinned by clients.
    pub org_root_pub: Option<String>,
    /// The relay's public base URL as browsers reach it, e.g. `https://chat.example.org`.
    /// The widget iframe is served from it, so it is always an allowed origin.
    pub public_url: Option<String>,
    /// Origins allowed to open WebSockets and call the API (exact match, e.g.
    /// `https://example.org`). Demo mode adds the local origins of `listen`.
    pub allowed_origins: Vec<String>,
    /// Mark the session cookie `Secure` (set it behind a TLS proxy; always on with `[tls]`).
    pub secure_cookies: bool,
    /// TLS termination inside lyt (off: plain HTTP, for a TLS proxy in front).
    pub tls: TlsConfig,
    /// The routing queues.
    pub queues: Vec<QueueConfig>,
    /// The phone line.
    pub phone: PhoneConfig,
    /// Opening hours of the chat (none: open around the clock, as in the demo).
    pub hours: crate::routing::hours::HoursConfig,
    /// Counsellor and supervisor accounts.
    pub accounts: Vec<AccountConfig>,
    /// Office certificates (base64url, from `lyt cert office`): brobygger offices and the
    /// phone desk. Each must chain to `org_root_pub`.
    pub offices: Vec<String>,
    /// Where lyt keeps what must outlive a restart (the staff accounts' changes made in the
    /// dashboard). Unset: such changes last until the process ends (a warning says so);
    /// demo mode uses the demo directory.
    pub data_dir: Option<PathBuf>,
    /// Canned responses offered in the console, per language, e.g.
    /// `canned.da = ["Hej, jeg hedder …"]`.
    pub canned: std::collections::BTreeMap<String, Vec<String>>,
    /// The tag vocabulary of ended contacts.
    pub tags: TagsConfig,
    /// Brobygger referrals.
    pub referrals: ReferralsConfig,
    /// Directory details per office id (municipality, address, reception hours).
    pub office_info: std::collections::BTreeMap<String, OfficeInfo>,
    /// Routing rules.
    pub routing: RoutingConfig,
    /// Shared state for many nodes (none: in memory).
    pub redis: RedisConfig,
    /// Rate limits.
    pub rate: crate::limits::RateConfig,
    /// Limits.
    pub limits: LimitsConfig,
}

impl Default for Config {
    fn default() -> Self {
        let queue = |id: &str, da: &str, en: &str| QueueConfig {
            id: id.parse().expect("built-in queue ids are valid"),
            names: [("da".into(), da.into()), ("en".into(), en.into())].into(),
        };
        Self {
            listen: ([127, 0, 0, 1], 8080).into(),
            internal: ([127, 0, 0, 1], 9090).into(),
            demo: false,
            demo_dir: PathBuf::from("lyt-demo"),
            org_root_pub: None,
            public_url: None,
            allowed_origins: Vec::new(),
            secure_cookies: false,
            tls: TlsConfig::default(),
            queues: vec![
                queue("da/exit", "Vil gerne ud", "Getting out"),
                queue("da/health", "Helbred", "Health"),
                queue("en/any", "Alt andet (engelsk)", "Anything (English)"),
            ],
            phone: PhoneConfig::default(),
            hours: crate::routing::hours::HoursConfig::default(),
            accounts: Vec::new(),
            offices: Vec::new(),
            data_dir: None,
            canned: default_canned(),
            tags: TagsConfig::default(),
            referrals: ReferralsConfig::default(),
            office_info: std::collections::BTreeMap::new(),
            routing: RoutingConfig::default(),
            redis: RedisConfig::default(),
            rate: crate::limits::RateConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

/// Canned responses for the demo and as an example; an organisation writes its own.
fn default_canned() -> std::collections::BTreeMap<String, Vec<String>> {
    let lines = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    [
        (
            "da".to_owned(),
            lines(&[
                "Hej, tak fordi du skriver. Du er anonym her. Hvad har du på hjerte?",
                "Du bestemmer selv, hvad du vil fortælle.",
                "Vil du have, at vi ringer til dig i stedet? Du kan bede om et opkald i chatten.",
                "Tak for snakken. Du er altid velkommen til at skrive igen.",
            ]),
        ),
        (
            "en".to_owned(),
            lines(&[
                "Hello, thank you for writing. You are anonymous here. What is on your mind?",
                "You decide what you want to tell.",
                "Would you rather we call you? You can ask for a call in the chat.",
                "Thank you for talking with us. You are always welcome to write again.",
            ]),
        ),
    ]
    .into()
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a value has the wrong type.
    #[error("invalid configuration: {0}")]
    Parse(String),
    /// The values are inconsistent; the message says what to set.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A loaded configuration and the warnings met on the way (unknown keys).
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Human-readable warnings, to be logged at start.
    pub warnings: Vec<String>,
}

impl Config {
    /// Loads defaults, then `file` if given, then the `LYT_*` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, ConfigError> {
        let mut root = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str::<toml::Table>(&text)
                    .map_err(|e| ConfigError::Parse(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        let mut warnings = Vec::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("LYT_") else {
                continue;
            };
            if CLI_ENV.contains(&name.as_str()) {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                warnings.push(format!("ignoring malformed variable {name}"));
                continue;
            }
            set_path(&mut root, &path, env_value(&value));
        }
        let mut unknown = BTreeSet::new();
        let config: Config = serde_ignored::deserialize(toml::Value::Table(root), |p| {
            unknown.insert(p.to_string());
        })
        .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        warnings.extend(unknown.into_iter().map(|key| {
            let var = format!("LYT_{}", key.replace('.', "__").to_ascii_uppercase());
            format!("unknown setting `{key}` (in the config file or as {var}) is ignored")
        }));
        config.validate()?;
        Ok(Loaded { config, warnings })
    }

    /// Checks what serde cannot: uniqueness, ranges, hash formats.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        let mut ids = BTreeSet::new();
        for q in &self.queues {
            if !ids.insert(q.id.as_str()) {
                return bad(format!("queue `{}` is configured twice", q.id));
            }
        }
        let (mut names, mut aliases) = (BTreeSet::new(), BTreeSet::new());
        for a in &self.accounts {
            if !names.insert(a.username.as_str()) {
                return bad(format!("account `{}` is configured twice", a.username));
            }
            if !aliases.insert(a.alias.to_lowercase()) {
                return bad(format!("alias `{}` is used by two accounts", a.alias));
            }
            if a.alias.is_empty() || a.alias.chars().count() > 32 {
                return bad(format!("alias of `{}` must be 1-32 characters", a.username));
            }
            if argon2::PasswordHash::new(a.password_hash.expose()).is_err() {
                return bad(format!(
                    "password_hash of `{}` is not a PHC string; make one with `lyt counsellor hash-password`",
                    a.username
                ));
            }
        }
        if let Some(url) = &self.public_url
            && crate::http::origin::normalise(url.trim_end_matches('/')).is_none()
        {
            return bad(format!(
                "public_url `{url}` must look like https://host[:port]"
            ));
        }
        for o in &self.allowed_origins {
            if crate::http::origin::normalise(o).is_none() {
                return bad(format!(
                    "allowed_origins entry `{o}` must look like https://host[:port]"
                ));
            }
        }
        for word in self.tags.topics.iter().chain(&self.tags.outcomes) {
            if word.parse::<crate::protocol::Slug>().is_err() {
                return bad(format!(
                    "tags: `{word}` must be 1-32 of a-z 0-9 _ - (a category, not free text)"
                ));
            }
        }
        for (lang, lines) in &self.canned {
            if lines
                .iter()
                .any(|l| l.is_empty() || l.chars().count() > 1000)
            {
                return bad(format!(
                    "canned.{lang}: each response must be 1-1000 characters"
                ));
            }
        }
        for (office, url) in &self.referrals.webhooks {
            if let Err(why) = crate::webhook::check_url(url) {
                return bad(format!("referrals.webhooks.{office}: {why}"));
            }
        }
        crate::routing::hours::Schedule::new(&self.hours).map_err(ConfigError::Invalid)?;
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return bad(crate::tls::TlsError::Incomplete.to_string());
        }
        let l = &self.limits;
        if l.mailbox == 0 || l.offer_timeout_s == 0 || l.ping_s == 0 || l.idle_s <= l.ping_s {
            return bad(
                "limits: mailbox, offer_timeout_s and ping_s must be > 0, and idle_s > ping_s"
                    .into(),
            );
        }
        Ok(())
    }

    /// The configuration as TOML with every secret shown as `***`.
    pub fn redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print: {e}"))
    }
}

/// A variable's value as TOML when it parses as one, else as a string.
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(t) = entry {
                set_path(t, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// With nothing set, the defaults are the embedded demo-ready service.
    #[test]
    fn defaults() {
        let c = Config::load(None, env(&[])).unwrap().config;
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.internal.to_string(), "127.0.0.1:9090");
        let ids: Vec<_> = c.queues.iter().map(|q| q.id.to_string()).collect();
        assert_eq!(ids, ["da/exit", "da/health", "en/any"]);
    }

    /// The environment overrides the file, nested keys use `__`, and unknown keys warn.
    #[test]
    fn layering_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lyt.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:1000\"\ncolour = \"red\"\n[limits]\nmailbox = 7\noffer_timeout_s = 5\n",
        )
        .unwrap();
        let loaded = Config::load(
            Some(&path),
            env(&[
                ("LYT_LISTEN", "127.0.0.1:2000"),
                ("LYT_LIMITS__MAILBOX", "9"),
                ("LYT_ALLOWED_ORIGINS", r#"["https://example.org"]"#),
                ("LYT_NOPE", "1"),
                ("LYT_LOG", "debug"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        let c = loaded.config;
        assert_eq!(c.listen.to_string(), "127.0.0.1:2000");
        assert_eq!(c.limits.mailbox, 9);
        assert_eq!(c.limits.offer_timeout_s, 5);
        assert_eq!(c.allowed_origins, ["https://example.org"]);
        let w = loaded.warnings.join("\n");
        assert!(w.contains("`colour`") && w.contains("`nope`"), "{w}");
        assert!(!w.contains("log"), "{w}");
    }

    /// Bad values fail with a message that names the setting.
    #[test]
    fn invalid_values_are_explained() {
        let err = Config::load(None, env(&[("LYT_LISTEN", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
        let err =
            Config::load(None, env(&[("LYT_ALLOWED_ORIGINS", r#"["example.org"]"#)])).unwrap_err();
        assert!(err.to_string().contains("allowed_origins"), "{err}");
    }

    /// TLS paths come from the environment like any setting; one without the other is
    /// refused with a message naming both.
    #[test]
    fn tls_settings() {
        let c = Config::load(
            None,
            env(&[
                ("LYT_TLS__CERT", "/etc/lyt/cert.pem"),
                ("LYT_TLS__KEY", "/etc/lyt/key.pem"),
                ("LYT_LIMITS__TLS_HANDSHAKE_TIMEOUT_S", "5"),
            ]),
        )
        .unwrap()
        .config;
        assert!(c.tls.enabled());
        assert_eq!(c.tls.key.as_deref(), Some(Path::new("/etc/lyt/key.pem")));
        assert_eq!(c.limits.tls_handshake_timeout_s, 5);
        assert!(!Config::default().tls.enabled());
        let err = Config::load(None, env(&[("LYT_TLS__CERT", "/etc/lyt/cert.pem")])).unwrap_err();
        assert!(err.to_string().contains("tls.key"), "{err}");
    }

    /// Secrets never appear in any printout of the configuration.
    #[test]
    fn secrets_are_redacted() {
        let mut c = Config::default();
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        c.accounts.push(AccountConfig {
            username: "maja".into(),
            alias: "Maja".into(),
            role: Role::Counsellor,
            password_hash: Secret::new(hash.into()),
        });
        assert!(!format!("{c:?}").contains("argon2id"));
        assert!(!c.redacted_toml().contains("argon2id"));
        assert!(c.redacted_toml().contains("***"));
    }
}
