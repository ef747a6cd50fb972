//! Counsellor and supervisor accounts: argon2id password login with optional TOTP (RFC
//! 6238), login sessions (an HttpOnly, SameSite=Strict cookie), single-use 30-second tickets
//! that open the counsellor WebSocket in its first frame (tickets never travel in URLs), and
//! what supervisors manage: adding and disabling accounts, enrolled identity keys and their
//! certificates, TOTP resets.
//!
//! Session tokens and tickets are 32 random bytes given to the client once; the server keeps
//! only their SHA-256, so a memory dump does not hand out live sessions. Expired entries are
//! pruned whenever a new one is issued.
//!
//! Accounts come from the configuration; with a data directory, every change made at run
//! time (and the accounts themselves) is kept in `<data_dir>/staff.json`, written atomically
//! (temporary file, fsync, rename) with mode 0600, and that file is authoritative for the
//! accounts it holds at the next start; accounts configured later are added to it. Without a
//! data directory, changes last until the process ends. The file holds password hashes,
//! TOTP secrets (needed to check codes), identity public keys and certificates: no session,
//! ticket or anything about a visitor.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::config::{AccountConfig, Role};

/// Who is logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Login name.
    pub username: String,
    /// Name shown to visitors.
    pub alias: String,
    /// Counsellor or supervisor.
    pub role: Role,
}

/// Why a login failed. A wrong password, an unknown name and a disabled account are one case:
/// the client is not told whether the name exists or is disabled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginFailed {
    /// Wrong username or password, or a disabled account.
    #[error("wrong username or password")]
    Credentials,
    /// The password was right; the account needs its TOTP code (`missing`) or the code was
    /// wrong or already used.
    #[error("{}", if *missing { "enter the code from your authenticator app" } else { "wrong or used code; wait for the next one" })]
    Totp {
        /// No code was sent.
        missing: bool,
    },
}

/// Why an account operation was refused; the message is for the supervisor.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountError {
    /// No such account.
    #[error("no such account")]
    NotFound,
    /// The request is invalid (name, alias, key, certificate).
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(&'static str),
    /// The data file could not be written; nothing was changed.
    #[error("cannot save accounts: {0}")]
    Io(String),
}

/// Hashes a password as an argon2id PHC string (for config files and demo accounts).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

type TokenHash = [u8; 32];

fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A random password from an alphabet without look-alikes, in four groups of four (≈ 79 bits).
pub fn random_password() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..4)
        .map(|_| {
            (0..4)
                .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// TOTP parameters: RFC 6238 defaults every authenticator app understands.
const TOTP_DIGITS: usize = 6;
const TOTP_STEP_S: u64 = 30;
/// Accepted clock drift, in steps either side.
const TOTP_SKEW: u8 = 1;
/// The issuer shown in authenticator apps.
const TOTP_ISSUER: &str = "lyt";

fn totp(secret: &[u8]) -> Option<totp_rs::TOTP> {
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        TOTP_DIGITS,
        TOTP_SKEW,
        TOTP_STEP_S,
        secret.to_vec(),
    )
    .ok()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The time step of a valid `code` for `secret` after `last_step` (a code is used once), if
/// any: the current step and one either side are accepted.
fn totp_step(secret: &[u8], code: &str, last_step: u64, now: u64) -> Option<u64> {
    let t = totp(secret)?;
    let current = now / TOTP_STEP_S;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .filter(|step| *step > last_step)
        .find(|step| {
            let expected = t.generate(step * TOTP_STEP_S);
            bool::from(subtle::ConstantTimeEq::ct_eq(
                expected.as_bytes(),
                code.trim().as_bytes(),
            ))
        })
}

/// An account as kept in memory and in `staff.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Account {
    username: String,
    alias: String,
    role: Role,
    password_hash: String,
    #[serde(default)]
    disabled: bool,
    /// Base32 TOTP secret once TOTP is confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp_secret: Option<String>,
    /// The enrolled identity public key (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity_pub: Option<String>,
    /// The identity certificate registered for that key (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_cert: Option<String>,
    /// A TOTP secret awaiting confirmation (never saved).
    #[serde(skip)]
    totp_pending: Option<String>,
    /// The last TOTP step used (codes are single use; never saved).
    #[serde(skip)]
    totp_last_step: u64,
}

impl Account {
    /// A new, enabled account without TOTP or identity.
    fn new(username: &str, alias: &str, role: Role, password_hash: String) -> Self {
        Self {
            username: username.to_owned(),
            alias: alias.to_owned(),
            role,
            password_hash,
            disabled: false,
            totp_secret: None,
            identity_pub: None,
            id_cert: None,
            totp_pending: None,
            totp_last_step: 0,
        }
    }

    fn principal(&self) -> Principal {
        Principal {
            username: self.username.clone(),
            alias: self.alias.clone(),
            role: self.role,
        }
    }

    fn totp_bytes(secret: &str) -> Option<Vec<u8>> {
        totp_rs::Secret::Encoded(secret.to_owned()).to_bytes().ok()
    }
}

/// The saved form of the accounts.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffFile {
    version: u32,
    accounts: Vec<Account>,
}

/// File name of the account store inside the data directory.
pub const STAFF_FILE: &str = "staff.json";

/// An enrolled identity key as shown to the account and to supervisors.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IdentityView {
    /// The Ed25519 public key, base64url.
    pub public_key: String,
    /// Its fingerprint, for reading aloud.
    pub fingerprint: String,
    /// The registered identity certificate, base64url.
    pub cert: Option<String>,
    /// When the certificate expires (Unix seconds).
    pub cert_expires: Option<u64>,
}

/// An account as shown to itself (`/v1/auth/me`) and to supervisors (without secrets).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccountView {
    /// Login name.
    pub username: String,
    /// Name shown to visitors.
    pub alias: String,
    /// Role.
    pub role: Role,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether login needs a TOTP code.
    pub totp_enabled: bool,
    /// The enrolled identity key, if any.
    pub identity: Option<IdentityView>,
}

/// A cheap-clone handle to accounts, sessions and tickets.
#[derive(Debug, Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Accounts by username. Std mutex: short sections, never held across `.await`.
    accounts: Mutex<BTreeMap<String, Account>>,
    /// Where changes are saved (`None`: in memory only).
    file: Option<PathBuf>,
    /// Verified against when the username is unknown, so both cases cost the same.
    dummy_hash: String,
    session_ttl: Duration,
    ticket_ttl: Duration,
    /// Live sessions by token hash.
    sessions: Mutex<HashMap<TokenHash, (Principal, Instant)>>,
    /// Unused tickets by hash.
    tickets: Mutex<HashMap<TokenHash, (Principal, Instant)>>,
    /// The file's modification time as last read or written (many nodes share the file;
    /// see `refresh`).
    seen: Mutex<Option<std::time::SystemTime>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `bytes` to `path` atomically: a temporary file beside it (mode 0600), fsync,
/// rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Why the account store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not what lyt writes.
    #[error("{path} is not a valid account store ({reason}); restore it from a backup")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The merged accounts could not be saved.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Auth {
    /// Accounts from config (hashes already validated), in memory only, with the given
    /// lifetimes.
    pub fn new(accounts: &[AccountConfig], session_ttl: Duration, ticket_ttl: Duration) -> Self {
        Self::build(seed(accounts), None, session_ttl, ticket_ttl)
    }

    /// Accounts kept in `<data_dir>/staff.json`: the file's accounts, plus configured ones it
    /// does not have yet (then saved).
    pub fn open(
        accounts: &[AccountConfig],
        data_dir: &Path,
        session_ttl: Duration,
        ticket_ttl: Duration,
    ) -> Result<Self, StoreError> {
        let path = data_dir.join(STAFF_FILE);
        let mut map = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let file: StaffFile =
                    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                if file.version != 1 {
                    return Err(StoreError::Corrupt {
                        path,
                        reason: format!("unknown version {}", file.version),
                    });
                }
                file.accounts
                    .into_iter()
                    .map(|a| (a.username.clone(), a))
                    .collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        for (name, account) in seed(accounts) {
            map.entry(name).or_insert(account);
        }
        save(&path, &map).map_err(|source| StoreError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(Self::build(map, Some(path), session_ttl, ticket_ttl))
    }

    fn build(
        accounts: BTreeMap<String, Account>,
        file: Option<PathBuf>,
        session_ttl: Duration,
        ticket_ttl: Duration,
    ) -> Self {
        let dummy_hash = hash_password("lyt dummy password for unknown users")
            .unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        let auth = Self {
            inner: Arc::new(Inner {
                accounts: Mutex::new(accounts),
                file,
                dummy_hash,
                session_ttl,
                ticket_ttl,
                sessions: Mutex::default(),
                tickets: Mutex::default(),
                seen: Mutex::default(),
            }),
        };
        auth.note_file_time();
        auth
    }

    /// Remembers the file's current modification time as this process's own.
    fn note_file_time(&self) {
        if let Some(path) = &self.inner.file {
            *lock(&self.inner.seen) = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        }
    }

    /// Takes the accounts from `staff.json` when another process (another node sharing the
    /// data directory) changed it since this one last read or wrote it: a disabled account
    /// is disabled on every node, and its sessions and tickets here end. Returns whether
    /// anything was read. Called every two seconds with many nodes, and before every change.
    pub fn refresh(&self) -> Result<bool, StoreError> {
        let Some(path) = &self.inner.file else {
            return Ok(false);
        };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified.is_none() || *lock(&self.inner.seen) == modified {
            return Ok(false);
        }
        let text = std::fs::read_to_string(path).map_err(|source| StoreError::Read {
            path: path.clone(),
            source,
        })?;
        let file: StaffFile = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let fresh: BTreeMap<String, Account> = file
            .accounts
            .into_iter()
            .map(|a| (a.username.clone(), a))
            .collect();
        let ended: Vec<String> = {
            let mut accounts = lock(&self.inner.accounts);
            let ended = accounts
                .keys()
                .filter(|u| fresh.get(*u).is_none_or(|a| a.disabled))
                .cloned()
                .collect();
            *accounts = fresh;
            ended
        };
        for username in ended {
            self.end_sessions(&username);
        }
        *lock(&self.inner.seen) = modified;
        Ok(true)
    }

    /// Whether account changes outlive the process.
    pub fn is_persistent(&self) -> bool {
        self.inner.file.is_some()
    }

    /// Applies `change` to the account `username` and saves; on a failed save the change
    /// is undone, so memory and file never disagree.
    fn update<R>(
        &self,
        username: &str,
        change: impl FnOnce(&mut Account) -> Result<R, AccountError>,
    ) -> Result<R, AccountError> {
        // Another node's change first, so this one does not overwrite it.
        if let Err(e) = self.refresh() {
            return Err(AccountError::Io(e.to_string()));
        }
        let mut accounts = lock(&self.inner.accounts);
        let account = accounts.get_mut(username).ok_or(AccountError::NotFound)?;
        let before = account.clone();
        let result = change(account)?;
        if let Err(e) = self.persist(&accounts) {
            accounts.insert(username.to_owned(), before);
            return Err(e);
        }
        Ok(result)
    }

    fn persist(&self, accounts: &BTreeMap<String, Account>) -> Result<(), AccountError> {
        match &self.inner.file {
            Some(path) => {
                save(path, accounts).map_err(|e| AccountError::Io(e.to_string()))?;
                self.note_file_time();
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Checks a password (on a blocking thread: argon2id is deliberately slow) and, where
    /// enabled, the TOTP code, and opens a session. Returns the session token and who
    /// logged in.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
    ) -> Result<(String, Principal), LoginFailed> {
        let account = lock(&self.inner.accounts).get(username).cloned();
        let hash = account.as_ref().map_or_else(
            || self.inner.dummy_hash.clone(),
            |a| a.password_hash.clone(),
        );
        let password = zeroize::Zeroizing::new(password.to_owned());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        let account = match account {
            Some(a) if ok && !a.disabled => a,
            _ => return Err(LoginFailed::Credentials),
        };
        if let Some(secret) = &account.totp_secret {
            let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
                return Err(LoginFailed::Totp { missing: true });
            };
            let bytes = Account::totp_bytes(secret).ok_or(LoginFailed::Credentials)?;
            // Check and record the step under the lock, so a code is used at most once.
            let mut accounts = lock(&self.inner.accounts);
            let a = accounts
                .get_mut(username)
                .filter(|a| !a.disabled)
                .ok_or(LoginFailed::Credentials)?;
            let step = totp_step(&bytes, code, a.totp_last_step, unix_now())
                .ok_or(LoginFailed::Totp { missing: false })?;
            a.totp_last_step = step;
        }
        let principal = account.principal();
        let token = new_token();
        insert(
            &self.inner.sessions,
            &token,
            principal.clone(),
            self.inner.session_ttl,
        );
        Ok((token, principal))
    }

    /// The principal of a live session of an enabled account.
    pub fn session(&self, token: &str) -> Option<Principal> {
        let principal = lock(&self.inner.sessions)
            .get(&token_hash(token))
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(p, _)| p.clone())?;
        lock(&self.inner.accounts)
            .get(&principal.username)
            .filter(|a| !a.disabled)
            .map(Account::principal)
    }

    /// Ends a session.
    pub fn logout(&self, token: &str) {
        lock(&self.inner.sessions).remove(&token_hash(token));
    }

    /// Issues a single-use ticket for the counsellor WebSocket.
    pub fn issue_ticket(&self, principal: Principal) -> String {
        let ticket = new_token();
        insert(
            &self.inner.tickets,
            &ticket,
            principal,
            self.inner.ticket_ttl,
        );
        ticket
    }

    /// Redeems a ticket: valid once, within its lifetime, for an enabled account.
    pub fn redeem_ticket(&self, ticket: &str) -> Option<Principal> {
        let principal = lock(&self.inner.tickets)
            .remove(&token_hash(ticket))
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(p, _)| p)?;
        lock(&self.inner.accounts)
            .get(&principal.username)
            .filter(|a| !a.disabled)
            .map(Account::principal)
    }

    /// Seconds a ticket lives.
    pub fn ticket_ttl(&self) -> Duration {
        self.inner.ticket_ttl
    }

    /// Seconds a session lives.
    pub fn session_ttl(&self) -> Duration {
        self.inner.session_ttl
    }

    /// One account, without secrets.
    pub fn account(&self, username: &str) -> Option<AccountView> {
        lock(&self.inner.accounts).get(username).map(view)
    }

    /// All accounts, without secrets, by username.
    pub fn accounts(&self) -> Vec<AccountView> {
        lock(&self.inner.accounts).values().map(view).collect()
    }

    /// Adds an account with a generated password, returned once.
    pub async fn create(
        &self,
        username: &str,
        alias: &str,
        role: Role,
    ) -> Result<String, AccountError> {
        check_username(username)?;
        check_account_alias(alias)?;
        let (password, hash) = new_password().await?;
        self.refresh()
            .map_err(|e| AccountError::Io(e.to_string()))?;
        let mut accounts = lock(&self.inner.accounts);
        if accounts.contains_key(username) {
            return Err(AccountError::Conflict("that username is taken"));
        }
        if accounts
            .values()
            .any(|a| a.alias.to_lowercase() == alias.to_lowercase())
        {
            return Err(AccountError::Conflict("that alias is taken"));
        }
        let account = Account::new(username, alias, role, hash);
        accounts.insert(username.to_owned(), account);
        if let Err(e) = self.persist(&accounts) {
            accounts.remove(username);
            return Err(e);
        }
        Ok(password)
    }

    /// Gives an account a new generated password, returned once; its sessions end.
    pub async fn reset_password(&self, username: &str) -> Result<String, AccountError> {
        if self.account(username).is_none() {
            return Err(AccountError::NotFound);
        }
        let (password, hash) = new_password().await?;
        self.update(username, |a| {
            a.password_hash = hash;
            Ok(())
        })?;
        self.end_sessions(username);
        Ok(password)
    }

    /// Disables or enables an account. Disabling ends its sessions and unused tickets (the
    /// caller takes it off duty).
    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), AccountError> {
        self.update(username, |a| {
            a.disabled = disabled;
            Ok(())
        })?;
        if disabled {
            self.end_sessions(username);
        }
        Ok(())
    }

    fn end_sessions(&self, username: &str) {
        lock(&self.inner.sessions).retain(|_, (p, _)| p.username != username);
        lock(&self.inner.tickets).retain(|_, (p, _)| p.username != username);
    }

    /// Starts TOTP enrolment: a fresh secret (160 bits) and its `otpauth://` URI. Login does
    /// not ask for codes until [`Auth::totp_confirm`].
    pub fn totp_setup(&self, username: &str) -> Result<(String, String), AccountError> {
        let secret = totp_rs::Secret::Raw(rand::random::<[u8; 20]>().to_vec()).to_encoded();
        let totp_rs::Secret::Encoded(secret) = secret else {
            return Err(AccountError::Io("cannot encode a TOTP secret".into()));
        };
        let uri = format!(
            "otpauth://totp/{TOTP_ISSUER}:{username}?secret={secret}&issuer={TOTP_ISSUER}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_S}"
        );
        let pending = secret.clone();
        let mut accounts = lock(&self.inner.accounts);
        let a = accounts.get_mut(username).ok_or(AccountError::NotFound)?;
        a.totp_pending = Some(pending);
        Ok((secret, uri))
    }

    /// Confirms TOTP enrolment with a current code; from then on login needs a code.
    pub fn totp_confirm(&self, username: &str, code: &str) -> Result<(), AccountError> {
        self.update(username, |a| {
            let pending = a
                .totp_pending
                .clone()
                .ok_or(AccountError::Conflict("start the TOTP setup first"))?;
            let bytes = Account::totp_bytes(&pending)
                .ok_or(AccountError::Invalid("bad TOTP secret".into()))?;
            let step = totp_step(&bytes, code, a.totp_last_step, unix_now())
                .ok_or(AccountError::Invalid("wrong code; try the next one".into()))?;
            a.totp_secret = Some(pending);
            a.totp_pending = None;
            a.totp_last_step = step;
            Ok(())
        })
    }

    /// Removes TOTP from an account (a supervisor's reset after a lost phone).
    pub fn totp_reset(&self, username: &str) -> Result<(), AccountError> {
        self.update(username, |a| {
            a.totp_secret = None;
            a.totp_pending = None;
            Ok(())
        })
    }

    /// Enrols an identity public key for the account. Another key than the enrolled one
    /// replaces it and drops its certificate.
    pub fn enrol(&self, username: &str, public_key: &[u8; 32]) -> Result<(), AccountError> {
        let encoded = crate::crypto::b64_encode(public_key);
        self.update(username, |a| {
            if a.identity_pub.as_deref() != Some(encoded.as_str()) {
                a.identity_pub = Some(encoded);
                a.id_cert = None;
            }
            Ok(())
        })
    }

    /// Registers an identity certificate: it must be signed by the org root, unexpired, name
    /// the account's alias and role, and certify the enrolled key.
    pub fn register_cert(
        &self,
        username: &str,
        cert: &[u8],
        root: &[u8; 32],
        now: u64,
    ) -> Result<(), AccountError> {
        let parsed = crate::crypto::IdCert::verify(cert, root).map_err(|_| {
            AccountError::Invalid(
                "the certificate is not signed by this organisation's root key".into(),
            )
        })?;
        if parsed.not_after <= now {
            return Err(AccountError::Invalid("the certificate has expired".into()));
        }
        self.update(username, |a| {
            if parsed.alias != a.alias {
                return Err(AccountError::Invalid(format!(
                    "the certificate names `{}`, the account's alias is `{}`",
                    parsed.alias, a.alias
                )));
            }
            let role = match parsed.role {
                crate::crypto::Role::Counsellor => Role::Counsellor,
                crate::crypto::Role::Supervisor => Role::Supervisor,
            };
            if role != a.role {
                return Err(AccountError::Invalid(format!(
                    "the certificate is for a {}, the account is a {}",
                    role.as_str(),
                    a.role.as_str()
                )));
            }
            let enrolled = a.identity_pub.as_deref().ok_or(AccountError::Conflict(
                "the account has no enrolled identity key: log in to the console first",
            ))?;
            if crate::crypto::b64_encode(&parsed.id_pub) != enrolled {
                return Err(AccountError::Invalid(
                    "the certificate is for another key than the one enrolled".into(),
                ));
            }
            a.id_cert = Some(crate::crypto::b64_encode(cert));
            Ok(())
        })
    }
}

fn view(a: &Account) -> AccountView {
    let identity = a.identity_pub.as_ref().map(|pk| {
        let fingerprint = crate::crypto::b64_decode(pk, "identity")
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(|k| crate::crypto::fingerprint(&k))
            .unwrap_or_default();
        let cert_expires = a
            .id_cert
            .as_ref()
            .and_then(|c| crate::crypto::b64_decode(c, "cert").ok())
            .and_then(|c| crate::crypto::IdCert::parse(&c).ok())
            .map(|c| c.not_after);
        IdentityView {
            public_key: pk.clone(),
            fingerprint,
            cert: a.id_cert.clone(),
            cert_expires,
        }
    });
    AccountView {
        username: a.username.clone(),
        alias: a.alias.clone(),
        role: a.role,
        disabled: a.disabled,
        totp_enabled: a.totp_secret.is_some(),
        identity,
    }
}

fn seed(accounts: &[AccountConfig]) -> BTreeMap<String, Account> {
    accounts
        .iter()
        .map(|a| {
            let account = Account::new(
                &a.username,
                &a.alias,
                a.role,
                a.password_hash.expose().clone(),
            );
            (a.username.clone(), account)
        })
        .collect()
}

fn save(path: &Path, accounts: &BTreeMap<String, Account>) -> std::io::Result<()> {
    let file = StaffFile {
        version: 1,
        accounts: accounts.values().cloned().collect(),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
    write_atomic(path, &json)
}

/// A generated password and its argon2id hash (hashed on a blocking thread).
async fn new_password() -> Result<(String, String), AccountError> {
    let password = random_password();
    let secret = zeroize::Zeroizing::new(password.clone());
    let hash = tokio::task::spawn_blocking(move || hash_password(&secret))
        .await
        .map_err(|e| AccountError::Io(e.to_string()))?
        .map_err(|e| AccountError::Io(e.to_string()))?;
    Ok((password, hash))
}

/// Usernames: 1-32 of `a-z 0-9 _ - .`, starting with a letter.
fn check_username(name: &str) -> Result<(), AccountError> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid(
            "username: 1-32 of a-z 0-9 _ - . starting with a letter".into(),
        ))
    }
}

/// Aliases: 1-32 printable characters, as in the configuration.
fn check_account_alias(alias: &str) -> Result<(), AccountError> {
    let n = alias.chars().count();
    if (1..=32).contains(&n) && alias.trim() == alias && !alias.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(AccountError::Invalid(
            "alias: 1-32 characters, no leading or trailing spaces".into(),
        ))
    }
}

fn insert(
    map: &Mutex<HashMap<TokenHash, (Principal, Instant)>>,
    token: &str,
    principal: Principal,
    ttl: Duration,
) {
    let now = Instant::now();
    let mut map = lock(map);
    map.retain(|_, (_, exp)| *exp > now);
    map.insert(token_hash(token), (principal, now + ttl));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn auth(ticket_ttl: Duration) -> Auth {
        let account = AccountConfig {
            username: "maja".into(),
            alias: "Maja".into(),
            role: Role::Counsellor,
            password_hash: Secret::new(hash_password("correct horse").unwrap()),
        };
        Auth::new(&[account], Duration::from_secs(60), ticket_ttl)
    }

    /// The right password opens a session; a wrong password or unknown name does not.
    #[tokio::test]
    async fn login() {
        let a = auth(Duration::from_secs(30));
        let (token, p) = a.login("maja", "correct horse", None).await.unwrap();
        assert_eq!(p.alias, "Maja");
        assert_eq!(a.session(&token), Some(p));
        assert_eq!(
            a.login("maja", "wrong", None).await,
            Err(LoginFailed::Credentials)
        );
        assert_eq!(
            a.login("nobody", "correct horse", None).await,
            Err(LoginFailed::Credentials)
        );
        a.logout(&token);
        assert_eq!(a.session(&token), None);
    }

    /// A ticket works once, and not after it expires.
    #[tokio::test]
    async fn tickets_are_single_use_and_expire() {
        let a = auth(Duration::from_secs(30));
        let p = Principal {
            username: "maja".into(),
            alias: "Maja".into(),
            role: Role::Counsellor,
        };
        let t = a.issue_ticket(p.clone());
        assert_eq!(a.redeem_ticket(&t), Some(p.clone()));
        assert_eq!(a.redeem_ticket(&t), None);
        let short = auth(Duration::ZERO);
        let t = short.issue_ticket(p);
        assert_eq!(short.redeem_ticket(&t), None);
    }

    fn code_now(secret: &str) -> String {
        let bytes = Account::totp_bytes(secret).unwrap();
        totp(&bytes).unwrap().generate(unix_now())
    }

    /// TOTP: not asked before it is confirmed; then a code is required, checked, and used once.
    #[tokio::test]
    async fn totp_flow() {
        let a = auth(Duration::from_secs(30));
        let (secret, uri) = a.totp_setup("maja").unwrap();
        assert!(uri.starts_with("otpauth://totp/lyt:maja?secret="), "{uri}");
        assert!(a.login("maja", "correct horse", None).await.is_ok());
        assert!(matches!(
            a.totp_confirm("maja", "000000x"),
            Err(AccountError::Invalid(_))
        ));
        let code = code_now(&secret);
        a.totp_confirm("maja", &code).unwrap();
        assert!(a.account("maja").unwrap().totp_enabled);
        assert_eq!(
            a.login("maja", "correct horse", None).await,
            Err(LoginFailed::Totp { missing: true })
        );
        // The code used to confirm cannot be used again to log in.
        assert_eq!(
            a.login("maja", "correct horse", Some(&code)).await,
            Err(LoginFailed::Totp { missing: false })
        );
        // A right code with a wrong password says nothing about TOTP.
        assert_eq!(
            a.login("maja", "wrong", Some(&code)).await,
            Err(LoginFailed::Credentials)
        );
        a.totp_reset("maja").unwrap();
        assert!(a.login("maja", "correct horse", None).await.is_ok());
    }

    /// A code is accepted only within one step of now, and each step only once.
    #[test]
    fn totp_steps() {
        let secret = [7u8; 20];
        let t = totp(&secret).unwrap();
        let now = 1_800_000_000;
        let code = t.generate(now);
        let step = now / TOTP_STEP_S;
        assert_eq!(totp_step(&secret, &code, 0, now), Some(step));
        assert_eq!(totp_step(&secret, &code, step, now), None);
        assert_eq!(totp_step(&secret, &code, 0, now + 3 * TOTP_STEP_S), None);
        assert_eq!(
            totp_step(&secret, &t.generate(now + TOTP_STEP_S), 0, now),
            Some(step + 1)
        );
    }

    /// Disabling ends sessions and tickets and refuses login with the same answer as a wrong
    /// password; enabling restores login.
    #[tokio::test]
    async fn disabled_accounts_cannot_log_in() {
        let a = auth(Duration::from_secs(30));
        let (token, p) = a.login("maja", "correct horse", None).await.unwrap();
        let ticket = a.issue_ticket(p);
        a.set_disabled("maja", true).unwrap();
        assert_eq!(a.session(&token), None);
        assert_eq!(a.redeem_ticket(&ticket), None);
        assert_eq!(
            a.login("maja", "correct horse", None).await,
            Err(LoginFailed::Credentials)
        );
        a.set_disabled("maja", false).unwrap();
        assert!(a.login("maja", "correct horse", None).await.is_ok());
        assert_eq!(a.set_disabled("nobody", true), Err(AccountError::NotFound));
    }

    /// Two nodes sharing one data directory: an account disabled on one is disabled on the
    /// other at its next refresh (its sessions there end), and a change on the other does
    /// not overwrite it.
    #[tokio::test]
    async fn nodes_sharing_the_file_see_each_others_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = [AccountConfig {
            username: "maja".into(),
            alias: "Maja".into(),
            role: Role::Counsellor,
            password_hash: Secret::new(hash_password("correct horse").unwrap()),
        }];
        let ttl = Duration::from_secs(60);
        let a = Auth::open(&cfg, tmp.path(), ttl, ttl).unwrap();
        let b = Auth::open(&cfg, tmp.path(), ttl, ttl).unwrap();
        let (token, _) = b.login("maja", "correct horse", None).await.unwrap();
        assert!(!b.refresh().unwrap(), "nothing changed yet");
        // File times can be coarse: make the change visibly later.
        std::thread::sleep(Duration::from_millis(20));
        a.set_disabled("maja", true).unwrap();
        assert!(b.refresh().unwrap());
        assert_eq!(
            b.session(&token),
            None,
            "the session on the other node ended"
        );
        assert_eq!(
            b.login("maja", "correct horse", None).await,
            Err(LoginFailed::Credentials)
        );
        std::thread::sleep(Duration::from_millis(20));
        // A change on B reads A's first: maja stays disabled.
        b.create("lea", "Lea", Role::Counsellor).await.unwrap();
        let c = Auth::open(&cfg, tmp.path(), ttl, ttl).unwrap();
        assert!(c.account("maja").unwrap().disabled);
        assert!(c.account("lea").is_some());
    }

    /// Changes are saved atomically and survive a reopen; configured accounts are merged in.
    #[tokio::test]
    async fn store_persists_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = [AccountConfig {
            username: "maja".into(),
            alias: "Maja".into(),
            role: Role::Counsellor,
            password_hash: Secret::new(hash_password("correct horse").unwrap()),
        }];
        let ttl = Duration::from_secs(60);
        let a = Auth::open(&cfg, tmp.path(), ttl, ttl).unwrap();
        let password = a.create("lea", "Lea", Role::Counsellor).await.unwrap();
        a.set_disabled("maja", true).unwrap();
        a.enrol("lea", &[9; 32]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(tmp.path().join(STAFF_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let b = Auth::open(&cfg, tmp.path(), ttl, ttl).unwrap();
        assert!(b.account("maja").unwrap().disabled);
        assert!(b.login("lea", &password, None).await.is_ok());
        assert_eq!(
            b.account("lea").unwrap().identity.unwrap().public_key,
            crate::crypto::b64_encode(&[9; 32])
        );
        assert!(matches!(
            b.create("lea", "Someone", Role::Counsellor).await,
            Err(AccountError::Conflict(_))
        ));
        assert!(matches!(
            b.create("Bad Name", "X", Role::Counsellor).await,
            Err(AccountError::Invalid(_))
        ));
        std::fs::write(tmp.path().join(STAFF_FILE), "{}").unwrap();
        assert!(matches!(
            Auth::open(&cfg, tmp.path(), ttl, ttl),
            Err(StoreError::Corrupt { .. })
        ));
    }

    /// A certificate is registered only when signed by the root, for the account's alias and
    /// role and the enrolled key; enrolling another key drops it.
    #[test]
    fn certificates_must_match_the_enrolled_key() {
        use crate::crypto::IdentityKey;
        let a = auth(Duration::from_secs(30));
        let root = IdentityKey::generate(&mut rand::rngs::OsRng);
        let other_root = IdentityKey::generate(&mut rand::rngs::OsRng);
        let id = IdentityKey::generate(&mut rand::rngs::OsRng);
        let now = 1_800_000_000;
        let cert = |root: &IdentityKey, alias: &str, role, key: &[u8; 32]| {
            crate::crypto::issue_id_cert(root, role, alias, key, now - 10, now + 86_400, 1).unwrap()
        };
        let good = cert(&root, "Maja", crate::crypto::Role::Counsellor, &id.public());
        assert_eq!(
            a.register_cert("maja", &good, &root.public(), now),
            Err(AccountError::Conflict(
                "the account has no enrolled identity key: log in to the console first"
            ))
        );
        a.enrol("maja", &id.public()).unwrap();
        for bad in [
            cert(
                &other_root,
                "Maja",
                crate::crypto::Role::Counsellor,
                &id.public(),
            ),
            cert(&root, "Ali", crate::crypto::Role::Counsellor, &id.public()),
            cert(&root, "Maja", crate::crypto::Role::Supervisor, &id.public()),
            cert(&root, "Maja", crate::crypto::Role::Counsellor, &[5; 32]),
        ] {
            assert!(matches!(
                a.register_cert("maja", &bad, &root.public(), now),
                Err(AccountError::Invalid(_))
            ));
        }
        assert!(
            a.register_cert("maja", &good, &root.public(), now + 86_400)
                .is_err()
        );
        a.register_cert("maja", &good, &root.public(), now).unwrap();
        let identity = a.account("maja").unwrap().identity.unwrap();
        assert_eq!(identity.cert_expires, Some(now + 86_400));
        a.enrol("maja", &id.public()).unwrap();
        assert!(a.account("maja").unwrap().identity.unwrap().cert.is_some());
        a.enrol("maja", &[6; 32]).unwrap();
        assert!(a.account("maja").unwrap().identity.unwrap().cert.is_none());
    }
}
