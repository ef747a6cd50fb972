//! Counsellor and supervisor accounts: argon2id password login, login sessions (an HttpOnly,
//! SameSite=Strict cookie), and single-use 30-second tickets that open the counsellor
//! WebSocket in its first frame (tickets never travel in URLs).
//!
//! Session tokens and tickets are 32 random bytes given to the client once; the server keeps
//! only their SHA-256, so a memory dump does not hand out live sessions. Expired entries are
//! pruned whenever a new one is issued.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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

/// Why a login failed. Deliberately one case: the client is not told whether the name exists.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("wrong username or password")]
pub struct LoginFailed;

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

#[derive(Debug)]
struct Account {
    principal: Principal,
    hash: String,
}

/// A cheap-clone handle to accounts, sessions and tickets.
#[derive(Debug, Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    accounts: HashMap<String, Account>,
    /// Verified against when the username is unknown, so both cases cost the same.
    dummy_hash: String,
    session_ttl: Duration,
    ticket_ttl: Duration,
    /// Live sessions by token hash. Std mutex: short sections, never held across `.await`.
    sessions: Mutex<HashMap<TokenHash, (Principal, Instant)>>,
    /// Unused tickets by hash.
    tickets: Mutex<HashMap<TokenHash, (Principal, Instant)>>,
}

impl Auth {
    /// Accounts from config (hashes already validated), with the given lifetimes.
    pub fn new(accounts: &[AccountConfig], session_ttl: Duration, ticket_ttl: Duration) -> Self {
        let accounts = accounts
            .iter()
            .map(|a| {
                let principal = Principal {
                    username: a.username.clone(),
                    alias: a.alias.clone(),
                    role: a.role,
                };
                let account = Account {
                    principal,
                    hash: a.password_hash.expose().clone(),
                };
                (a.username.clone(), account)
            })
            .collect();
        let dummy_hash = hash_password("lyt dummy password for unknown users")
            .unwrap_or_else(|_| String::from("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        Self {
            inner: Arc::new(Inner {
                accounts,
                dummy_hash,
                session_ttl,
                ticket_ttl,
                sessions: Mutex::default(),
                tickets: Mutex::default(),
            }),
        }
    }

    /// Checks a password (on a blocking thread: argon2id is deliberately slow) and opens a
    /// session. Returns the session token and who logged in.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(String, Principal), LoginFailed> {
        let account = self.inner.accounts.get(username);
        let hash = account.map_or_else(|| self.inner.dummy_hash.clone(), |a| a.hash.clone());
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
        let principal = match (ok, account) {
            (true, Some(a)) => a.principal.clone(),
            _ => return Err(LoginFailed),
        };
        let token = new_token();
        insert(
            &self.inner.sessions,
            &token,
            principal.clone(),
            self.inner.session_ttl,
        );
        Ok((token, principal))
    }

    /// The principal of a live session.
    pub fn session(&self, token: &str) -> Option<Principal> {
        let sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sessions
            .get(&token_hash(token))
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(p, _)| p.clone())
    }

    /// Ends a session.
    pub fn logout(&self, token: &str) {
        let mut sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sessions.remove(&token_hash(token));
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

    /// Redeems a ticket: valid once, within its lifetime.
    pub fn redeem_ticket(&self, ticket: &str) -> Option<Principal> {
        let mut tickets = self
            .inner
            .tickets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        tickets
            .remove(&token_hash(ticket))
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(p, _)| p)
    }

    /// Seconds a ticket lives.
    pub fn ticket_ttl(&self) -> Duration {
        self.inner.ticket_ttl
    }

    /// Seconds a session lives.
    pub fn session_ttl(&self) -> Duration {
        self.inner.session_ttl
    }
}

fn insert(
    map: &Mutex<HashMap<TokenHash, (Principal, Instant)>>,
    token: &str,
    principal: Principal,
    ttl: Duration,
) {
    let now = Instant::now();
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
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
        let (token, p) = a.login("maja", "correct horse").await.unwrap();
        assert_eq!(p.alias, "Maja");
        assert_eq!(a.session(&token), Some(p));
        assert_eq!(a.login("maja", "wrong").await, Err(LoginFailed));
        assert_eq!(a.login("nobody", "correct horse").await, Err(LoginFailed));
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
}
