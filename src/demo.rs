//! Demo mode: what `lyt serve` sets up when run with no configuration, so a newcomer, the
//! integration tests and the load tests can act as counsellors at once.
//!
//! Everything lives in the demo directory (`./lyt-demo/` by default), created on first run
//! (mode 0700) and reused after: `accounts.json` holds two counsellor accounts and one
//! supervisor account with random passwords (mode 0600), printed at start and clearly marked
//! DEMO. The passwords are hashed with argon2id at every start like any configured account.

use std::path::{Path, PathBuf};

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::auth::hash_password;
use crate::config::{AccountConfig, Config, Role, Secret};

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
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A random password from an alphabet without look-alikes, in groups of four.
fn random_password() -> String {
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

/// Creates `path` with mode 0600 (owner only) and writes `contents`; refuses to overwrite.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
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
    write_private(&path, &json).map_err(io_err(&path))?;
    Ok(accounts)
}

/// Sets up demo mode in `config.demo_dir` and adds the demo accounts to `config`.
pub fn provision(config: &mut Config) -> Result<Demo, DemoError> {
    let dir = config.demo_dir.clone();
    create_dir(&dir)?;
    let accounts = load_or_create_accounts(&dir)?;
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
    Ok(Demo { dir, accounts })
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
