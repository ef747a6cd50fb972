//! Demo mode: what `lyt serve` sets up when run with no configuration, so a newcomer, the
//! integration tests and the load tests can act as counsellors at once.
//!
//! Everything lives in the demo directory (`./lyt-demo/` by default), created on first run
//! (mode 0700) and reused after:
//!
//! - `accounts.json`: two counsellor accounts and one supervisor account with random
//!   passwords (mode 0600), printed at start and clearly marked DEMO; hashed with argon2id at
//!   every start like any configured account;
//! - `org-root.key`: a demo organisation root key (Ed25519, mode 0600); demo mode pins its
//!   public key as `org_root_pub`, replacing any configured one;
//! - `<username>.id.key` and `<username>.id.cert`: each account's identity key and its
//!   identity certificate signed by the demo root, made with the same code as `lyt keys` and
//!   `lyt cert`. A certificate that has expired or will within a week is issued anew.
//!
//! - `phone-desk.key`: the demo phone desk's recipient key (X25519, mode 0600); its office
//!   certificate is issued by the demo root at each start and listed in `GET /v1/offices`.
//!
//! - `brobygger-kbh.key` and `brobygger-kbh.token`: a demo brobygger office's recipient key
//!   and its API token (mode 0600); its certificate is issued at each start, its token's
//!   hash configured, so `lyt referral pull` can fetch referrals at once.
//!
//! Clients acting as a demo counsellor (tests, load tests, the CLI) read the key and
//! certificate with [`identity`], and the phone desk key with [`phone_desk`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::auth::{hash_password, random_password};
use crate::config::{AccountConfig, Config, Role, Secret};
use crate::crypto::{self, IdentityKey, KeyKind};
use crate::keytool;

/// File name of the demo org root key inside the demo directory.
pub const ORG_ROOT_FILE: &str = "org-root.key";
/// File name of the demo phone desk's recipient key (X25519) inside the demo directory.
pub const PHONE_DESK_KEY_FILE: &str = "phone-desk.key";
/// The demo phone desk's office id.
pub const PHONE_DESK_ID: &str = "phone-desk";
/// Validity of demo identity certificates.
const ID_CERT_DAYS: u64 = 365;
/// A demo identity certificate this close to expiry is issued anew.
const RENEW_BEFORE_S: u64 = 7 * 86_400;

/// The demo brobygger office's id.
pub const BROBYGGER_ID: &str = "bro-kbh";
/// File name of the demo brobygger office's recipient key.
pub const BROBYGGER_KEY_FILE: &str = "brobygger-kbh.key";
/// File name of the demo brobygger office's API token.
pub const BROBYGGER_TOKEN_FILE: &str = "brobygger-kbh.token";

/// File name of the demo accounts inside the demo directory.
pub const ACCOUNTS_FILE: &str = "accounts.json";

/// A demo account with its password in the clear (demo only).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DemoAccount {
    /// Login name.
    pub username: String,
    /// Name shown to visitors.
    pub alias: String,
    /// Counsellor or supervisor.
    pub role: Role,
    /// The password (random, made on first run).
    pub password: String,
}

/// What demo mode set up, for the start-up printout.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The demo directory.
    pub dir: PathBuf,
    /// The accounts and their passwords.
    pub accounts: Vec<DemoAccount>,
    /// The demo org root public key, pinned by clients.
    pub org_root_pub: [u8; 32],
}

/// Why demo mode could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Reading or writing the demo directory failed.
    #[error("demo directory {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A demo file exists but is not what lyt wrote.
    #[error("demo file {0} is corrupt; delete the demo directory to start afresh")]
    Corrupt(PathBuf),
    /// Hashing failed.
    #[error("cannot hash a demo password: {0}")]
    Hash(String),
    /// A demo key or certificate could not be made or read.
    #[error("demo keys: {0:#}")]
    Keys(anyhow::Error),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_owned(),
        source,
    }
}

fn create_dir(dir: &Path) -> Result<(), DemoError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_err(dir))
}

fn load_or_create_accounts(dir: &Path) -> Result<Vec<DemoAccount>, DemoError> {
    let path = dir.join(ACCOUNTS_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        return serde_json::from_str(&text).map_err(|_| DemoError::Corrupt(path));
    }
    let accounts: Vec<DemoAccount> = [
        ("maja", "Maja", Role::Counsellor),
        ("ali", "Ali", Role::Counsellor),
        ("sofie", "Sofie", Role::Supervisor),
    ]
    .into_iter()
    .map(|(u, a, role)| DemoAccount {
        username: u.into(),
        alias: a.into(),
        role,
        password: random_password(),
    })
    .collect();
    let json =
        serde_json::to_vec_pretty(&accounts).map_err(|_| DemoError::Corrupt(path.clone()))?;
    keytool::write_secret_file(&path, &json).map_err(DemoError::Keys)?;
    Ok(accounts)
}

/// The demo org root key, created on first use.
fn org_root(dir: &Path) -> Result<IdentityKey, DemoError> {
    let path = dir.join(ORG_ROOT_FILE);
    if !path.exists() {
        let key = IdentityKey::generate(&mut rand::rngs::OsRng);
        let text = crypto::encode_key_file(KeyKind::Ed25519Secret, &key.to_bytes());
        keytool::write_secret_file(&path, text.as_bytes()).map_err(DemoError::Keys)?;
    }
    keytool::read_identity_key(&path).map_err(DemoError::Keys)
}

fn key_path(dir: &Path, username: &str) -> PathBuf {
    dir.join(format!("{username}.id.key"))
}

fn cert_path(dir: &Path, username: &str) -> PathBuf {
    dir.join(format!("{username}.id.cert"))
}

/// Makes sure `account` has an identity key and a certificate valid for at least a week.
fn ensure_identity(
    dir: &Path,
    root: &IdentityKey,
    account: &DemoAccount,
    now: u64,
) -> Result<(), DemoError> {
    let key_file = key_path(dir, &account.username);
    if !key_file.exists() {
        let key = IdentityKey::generate(&mut rand::rngs::OsRng);
        let text = crypto::encode_key_file(KeyKind::Ed25519Secret, &key.to_bytes());
        keytool::write_secret_file(&key_file, text.as_bytes()).map_err(DemoError::Keys)?;
    }
    let identity = keytool::read_identity_key(&key_file).map_err(DemoError::Keys)?;
    let cert_file = cert_path(dir, &account.username);
    let fresh = keytool::read_cert(&cert_file)
        .ok()
        .and_then(|c| crypto::IdCert::verify(&c, &root.public()).ok())
        .is_some_and(|c| {
            c.id_pub == identity.public()
                && c.alias == account.alias
                && c.not_after > now + RENEW_BEFORE_S
        });
    if fresh {
        return Ok(());
    }
    let role = match account.role {
        Role::Counsellor => crypto::Role::Counsellor,
        Role::Supervisor => crypto::Role::Supervisor,
    };
    let not_after = now + ID_CERT_DAYS * 86_400;
    let cert = crypto::issue_id_cert(
        root,
        role,
        &account.alias,
        &identity.public(),
        now - 300,
        not_after,
        rand::random(),
    )
    .map_err(|e| DemoError::Keys(e.into()))?;
    if cert_file.exists() {
        std::fs::remove_file(&cert_file).map_err(io_err(&cert_file))?;
    }
    keytool::write_cert(&cert_file, "DEMO identity certificate", &cert).map_err(DemoError::Keys)
}

/// The demo phone desk's recipient key, created on first use.
fn phone_desk_key(dir: &Path) -> Result<crypto::StaticKey, DemoError> {
    recipient_key(dir, PHONE_DESK_KEY_FILE)
}

/// The demo brobygger office's recipient key and API token, created on first use.
pub fn brobygger(dir: &Path) -> Result<(crypto::StaticKey, String), DemoError> {
    let key = recipient_key(dir, BROBYGGER_KEY_FILE)?;
    let path = dir.join(BROBYGGER_TOKEN_FILE);
    if !path.exists() {
        let token = crypto::b64_encode(&rand::random::<[u8; 32]>());
        keytool::write_secret_file(&path, token.as_bytes()).map_err(DemoError::Keys)?;
    }
    let token = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    Ok((key, token.trim().to_owned()))
}

/// An office's X25519 recipient key in the demo directory, created on first use.
fn recipient_key(dir: &Path, file: &str) -> Result<crypto::StaticKey, DemoError> {
    let path = dir.join(file);
    if !path.exists() {
        let key = crypto::StaticKey::generate(&mut rand::rngs::OsRng);
        let text = crypto::encode_key_file(KeyKind::X25519Secret, &key.to_bytes());
        keytool::write_secret_file(&path, text.as_bytes()).map_err(DemoError::Keys)?;
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(io_err(&path))?);
    let secret = crypto::decode_key_file(&text, KeyKind::X25519Secret)
        .map_err(|e| DemoError::Keys(e.into()))?;
    Ok(crypto::StaticKey::from_bytes(&secret))
}

/// The demo phone desk's key, for a client acting as the phone desk (tests, the console).
pub fn phone_desk(dir: &Path) -> Result<crypto::StaticKey, DemoError> {
    phone_desk_key(dir)
}

/// A demo account's identity key and identity certificate, for clients acting as it.
pub fn identity(dir: &Path, username: &str) -> Result<(IdentityKey, Vec<u8>), DemoError> {
    let key = keytool::read_identity_key(&key_path(dir, username)).map_err(DemoError::Keys)?;
    let cert = keytool::read_cert(&cert_path(dir, username)).map_err(DemoError::Keys)?;
    Ok((key, cert))
}

/// The demo org root key of a demo directory: demo mode certifies identity keys enrolled in
/// the console with it, so a newcomer can chat at once.
pub fn org_root_key(dir: &Path) -> Result<IdentityKey, DemoError> {
    org_root(dir)
}

/// The demo org root public key of a demo directory.
pub fn org_root_pub(dir: &Path) -> Result<[u8; 32], DemoError> {
    Ok(org_root(dir)?.public())
}

/// Sets up demo mode in `config.demo_dir`: adds the demo accounts to `config`, makes their
/// keys and certificates, and pins the demo org root.
pub fn provision(config: &mut Config) -> Result<Demo, DemoError> {
    let dir = config.demo_dir.clone();
    create_dir(&dir)?;
    let accounts = load_or_create_accounts(&dir)?;
    let root = org_root(&dir)?;
    let now = keytool::now_unix().map_err(DemoError::Keys)?;
    for a in &accounts {
        ensure_identity(&dir, &root, a, now)?;
    }
    config.org_root_pub = Some(crypto::b64_encode(&root.public()));
    // The demo phone desk: its certificate is issued at every start (it is public and cheap).
    let desk = phone_desk_key(&dir)?;
    let desk_cert = crypto::issue_office_cert(
        &root,
        crypto::OfficeKind::PhoneDesk,
        PHONE_DESK_ID,
        "Telefonrådgivningen (DEMO)",
        &desk.public(),
        now - 300,
        now + 730 * 86_400,
    )
    .map_err(|e| DemoError::Keys(e.into()))?;
    config.offices.push(crypto::b64_encode(&desk_cert));
    // The demo brobygger office, with its directory details and API token.
    let (bro, token) = brobygger(&dir)?;
    let bro_cert = crypto::issue_office_cert(
        &root,
        crypto::OfficeKind::Brobygger,
        BROBYGGER_ID,
        "Brobygger København (DEMO)",
        &bro.public(),
        now - 300,
        now + 730 * 86_400,
    )
    .map_err(|e| DemoError::Keys(e.into()))?;
    config.offices.push(crypto::b64_encode(&bro_cert));
    config.office_info.insert(
        BROBYGGER_ID.into(),
        crate::config::OfficeInfo {
            municipality: "København".into(),
            address: "Demogade 1, 1000 København K (DEMO)".into(),
            reception_hours: "Mon-Thu 10-15 (DEMO)".into(),
        },
    );
    config
        .referrals
        .office_tokens
        .insert(BROBYGGER_ID.into(), crate::http::office::token_hash(&token));
    for a in &accounts {
        if config.accounts.iter().any(|c| c.username == a.username) {
            continue;
        }
        let hash = hash_password(&a.password).map_err(|e| DemoError::Hash(e.to_string()))?;
        config.accounts.push(AccountConfig {
            username: a.username.clone(),
            alias: a.alias.clone(),
            role: a.role,
            password_hash: Secret::new(hash),
        });
    }
    Ok(Demo {
        dir,
        accounts,
        org_root_pub: root.public(),
    })
}

/// Reads the demo accounts of a demo directory (for clients acting as demo counsellors).
pub fn read_accounts(dir: &Path) -> Result<Vec<DemoAccount>, DemoError> {
    let path = dir.join(ACCOUNTS_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    serde_json::from_str(&text).map_err(|_| DemoError::Corrupt(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first run creates accounts with private files; the second run reuses them.
    #[test]
    fn created_once_then_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Config {
            demo_dir: tmp.path().join("demo"),
            ..Config::default()
        };
        let first = provision(&mut c).unwrap();
        assert_eq!(first.accounts.len(), 3);
        assert_eq!(c.accounts.len(), 3);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(first.dir.join(ACCOUNTS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut c2 = Config {
            demo_dir: tmp.path().join("demo"),
            ..Config::default()
        };
        let second = provision(&mut c2).unwrap();
        assert_eq!(first.accounts, second.accounts);
        assert_eq!(read_accounts(&first.dir).unwrap(), first.accounts);
    }

    /// A corrupt accounts file is reported, not overwritten.
    #[test]
    fn corrupt_file_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(ACCOUNTS_FILE), "nonsense").unwrap();
        let mut c = Config {
            demo_dir: tmp.path().to_owned(),
            ..Config::default()
        };
        let err = provision(&mut c).unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
