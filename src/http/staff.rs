//! The staff API around the counsellor WebSocket (docs/console-api.md): who is logged in,
//! TOTP enrolment, identity-key enrolment and the console's configuration for counsellors;
//! live figures and account management for supervisors.
//!
//! Every route needs a login session (401 without one); the supervisor routes need the
//! supervisor role (403 otherwise). Every `POST` must carry a JSON body (an empty `{}` where
//! there is nothing to say) — `Content-Type: application/json` makes a cross-site form
//! impossible and a cross-site script need a CORS preflight that lyt never grants — and a
//! browser's Origin must be allowed. Nothing here ever answers with anything about a visitor:
//! the supervisor figures are counts, durations and the aliases of counsellors on duty.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, check_origin, session_token};
use crate::auth::{AccountError, AccountView, Principal};
use crate::config::{CHANNELS, Role};
use crate::protocol::ErrorCode;
use crate::relay::snapshot::{CounsellorState, RelaySnapshot};

/// Seconds between snapshots on `GET /v1/supervisor/live`.
pub const LIVE_INTERVAL: Duration = Duration::from_secs(2);
/// Validity of identity certificates lyt issues itself in demo mode.
const DEMO_CERT_DAYS: u64 = 90;

/// The staff routes, merged into the public router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/me", get(me))
        .route("/v1/auth/totp/setup", post(totp_setup))
        .route("/v1/auth/totp/confirm", post(totp_confirm))
        .route("/v1/console/identity", post(enrol))
        .route("/v1/console/config", get(console_config))
        .route("/v1/console/colleagues", get(colleagues))
        .route("/v1/supervisor/snapshot", get(snapshot))
        .route("/v1/supervisor/live", get(live))
        .route(
            "/v1/supervisor/accounts",
            get(accounts).post(create_account),
        )
        .route(
            "/v1/supervisor/accounts/{username}/disabled",
            post(set_disabled),
        )
        .route(
            "/v1/supervisor/accounts/{username}/cert",
            post(register_cert),
        )
        .route(
            "/v1/supervisor/accounts/{username}/totp_reset",
            post(totp_reset),
        )
        .route(
            "/v1/supervisor/accounts/{username}/password_reset",
            post(password_reset),
        )
}

/// An empty JSON body (`{}`), required on POSTs that carry nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        "log in first",
    )
}

/// The logged-in principal (any role).
fn principal(s: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let token = session_token(headers).ok_or_else(unauthorized)?;
    s.auth.session(token).ok_or_else(unauthorized)
}

/// The logged-in principal, for a POST (Origin checked too).
fn principal_post(s: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    check_origin(s, headers)?;
    principal(s, headers)
}

/// The logged-in supervisor.
fn supervisor(s: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let p = principal(s, headers)?;
    if p.role == Role::Supervisor {
        Ok(p)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "this is for supervisors",
        ))
    }
}

fn supervisor_post(s: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    check_origin(s, headers)?;
    supervisor(s, headers)
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        let (status, code) = match &e {
            AccountError::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            AccountError::Invalid(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadFrame),
            AccountError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            AccountError::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        };
        if matches!(e, AccountError::Io(_)) {
            tracing::error!(error = %e, "account store");
        }
        ApiError::with_message(status, code, e.to_string())
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `GET /v1/auth/me`.
async fn me(State(s): State<AppState>, headers: HeaderMap) -> Result<Json<AccountView>, ApiError> {
    let p = principal(&s, &headers)?;
    s.auth
        .account(&p.username)
        .map(Json)
        .ok_or_else(unauthorized)
}

/// `POST /v1/auth/totp/setup` answer.
#[derive(Debug, Serialize)]
struct TotpSetup {
    secret: String,
    uri: String,
}

async fn totp_setup(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(Empty {}): Json<Empty>,
) -> Result<Json<TotpSetup>, ApiError> {
    let p = principal_post(&s, &headers)?;
    let (secret, uri) = s.auth.totp_setup(&p.username)?;
    Ok(Json(TotpSetup { secret, uri }))
}

/// `POST /v1/auth/totp/confirm` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TotpConfirm {
    code: String,
}

/// Confirming is limited like logins (per account and address): six digits must not be
/// guessable by trying.
async fn totp_confirm(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<TotpConfirm>,
) -> Result<StatusCode, ApiError> {
    let p = principal_post(&s, &headers)?;
    let addr = s.limits.address_key(s.limits.client_ip(&headers, peer));
    s.limits
        .login(addr, &p.username)
        .map_err(ApiError::rate_limited)?;
    s.auth.totp_confirm(&p.username, &req.code)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/console/identity` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolRequest {
    /// The Ed25519 identity public key, base64url.
    public_key: String,
}

/// `POST /v1/console/identity` answer.
#[derive(Debug, Serialize)]
struct EnrolAnswer {
    fingerprint: String,
    cert: Option<String>,
}

async fn enrol(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<EnrolRequest>,
) -> Result<Json<EnrolAnswer>, ApiError> {
    let p = principal_post(&s, &headers)?;
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadFrame,
            "public_key must be a 32-byte Ed25519 public key in base64url",
        )
    };
    let key: [u8; 32] = crate::crypto::b64_decode(req.public_key.trim(), "public_key")
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    // A valid point that is not of small order: a key nobody could sign with is refused.
    let point = ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| bad())?;
    if point.is_weak() {
        return Err(bad());
    }
    s.auth.enrol(&p.username, &key)?;
    if let (Some(root), Some(org)) = (&s.demo_signer, s.org_root) {
        let role = match p.role {
            Role::Counsellor => crate::crypto::Role::Counsellor,
            Role::Supervisor => crate::crypto::Role::Supervisor,
        };
        let now = now_unix();
        let cert = crate::crypto::issue_id_cert(
            root,
            role,
            &p.alias,
            &key,
            now.saturating_sub(300),
            now + DEMO_CERT_DAYS * 86_400,
            rand::random(),
        )
        .map_err(|e| {
            ApiError::with_message(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadFrame,
                format!("cannot certify this key: {e}"),
            )
        })?;
        s.auth.register_cert(&p.username, &cert, &org, now)?;
    }
    let identity = s
        .auth
        .account(&p.username)
        .and_then(|a| a.identity)
        .ok_or_else(unauthorized)?;
    Ok(Json(EnrolAnswer {
        fingerprint: identity.fingerprint,
        cert: identity.cert,
    }))
}

/// One queue in the console configuration.
#[derive(Debug, Serialize)]
struct QueueInfo {
    id: String,
    names: std::collections::BTreeMap<String, String>,
}

/// The tag vocabulary.
#[derive(Debug, Serialize)]
struct TagVocabulary {
    topics: Vec<String>,
    outcomes: Vec<String>,
    channels: Vec<String>,
}

/// `GET /v1/console/config`.
#[derive(Debug, Serialize)]
struct ConsoleConfig {
    org_root: Option<String>,
    queues: Vec<QueueInfo>,
    canned: std::collections::BTreeMap<String, Vec<String>>,
    tags: TagVocabulary,
    offer_timeout_s: u64,
    max_capacity: u32,
    demo: bool,
}

async fn console_config(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ConsoleConfig>, ApiError> {
    principal(&s, &headers)?;
    let c = &s.config;
    Ok(Json(ConsoleConfig {
        org_root: s.org_root.map(|r| crate::crypto::b64_encode(&r)),
        queues: c
            .queues
            .iter()
            .map(|q| QueueInfo {
                id: q.id.to_string(),
                names: q.names.clone(),
            })
            .collect(),
        canned: c.canned.clone(),
        tags: TagVocabulary {
            topics: c.tags.all_topics(&c.queues),
            outcomes: c.tags.outcomes.clone(),
            channels: CHANNELS.iter().map(|c| (*c).to_owned()).collect(),
        },
        offer_timeout_s: c.limits.offer_timeout_s,
        max_capacity: crate::protocol::MAX_CAPACITY,
        demo: c.demo,
    }))
}

/// A colleague in `GET /v1/console/colleagues`.
#[derive(Debug, Serialize)]
struct Colleague {
    alias: String,
    available: bool,
}

async fn colleagues(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = principal(&s, &headers)?;
    let list = s.relay.engine().colleagues(&p.alias).await;
    let list: Vec<Colleague> = list
        .into_iter()
        .map(|(alias, available)| Colleague { alias, available })
        .collect();
    Ok(Json(serde_json::json!({ "colleagues": list })))
}

/// Counsellors by state.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ByState {
    /// On duty with a free slot.
    pub available: usize,
    /// On duty at capacity.
    pub busy: usize,
    /// On duty, on a break.
    pub on_break: usize,
    /// Enabled accounts not on duty.
    pub offline: usize,
}

/// Chats against capacity.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Load {
    /// Live chats and pending offers of counsellors on duty.
    pub chats: u32,
    /// Their total capacity.
    pub capacity: u32,
}

/// `GET /v1/supervisor/snapshot`, and each event of `/v1/supervisor/live`.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    /// Unix seconds.
    pub at: u64,
    /// Whether chats are open now.
    pub open: bool,
    /// Counsellors by state.
    pub counsellors: ByState,
    /// Chats against capacity.
    pub load: Load,
    /// Queues, counsellors on duty, active chats, today.
    #[serde(flatten)]
    pub relay: RelaySnapshot,
}

/// The supervisor snapshot now.
pub async fn make_snapshot(s: &AppState) -> Snapshot {
    let relay = s.relay.engine().snapshot().await;
    let count = |st: CounsellorState| relay.on_duty.iter().filter(|d| d.state == st).count();
    let on_duty: std::collections::BTreeSet<String> = relay
        .on_duty
        .iter()
        .map(|d| d.alias.to_lowercase())
        .collect();
    let offline = s
        .auth
        .accounts()
        .iter()
        .filter(|a| !a.disabled && !on_duty.contains(&a.alias.to_lowercase()))
        .count();
    let load = Load {
        chats: relay.on_duty.iter().map(|d| d.chats).sum(),
        capacity: relay.on_duty.iter().map(|d| d.capacity).sum(),
    };
    Snapshot {
        at: now_unix(),
        open: s.open_now().0,
        counsellors: ByState {
            available: count(CounsellorState::Available),
            busy: count(CounsellorState::Busy),
            on_break: count(CounsellorState::OnBreak),
            offline,
        },
        load,
        relay,
    }
}

async fn snapshot(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Snapshot>, ApiError> {
    supervisor(&s, &headers)?;
    Ok(Json(make_snapshot(&s).await))
}

/// `GET /v1/supervisor/live`: Server-Sent Events, a `snapshot` at once and every
/// [`LIVE_INTERVAL`]; the stream ends when the session does (logout, expiry, disabled) or
/// the server shuts down.
async fn live(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    supervisor(&s, &headers)?;
    let token = session_token(&headers).unwrap_or_default().to_owned();
    Ok(Sse::new(live_stream(s, token))
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn live_stream(s: AppState, token: String) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut every = tokio::time::interval(LIVE_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    futures_util::stream::unfold((s, token, every), |(s, token, mut every)| async move {
        tokio::select! {
            () = s.shutdown.cancelled() => return None,
            _ = every.tick() => {}
        }
        if s.auth
            .session(&token)
            .is_none_or(|p| p.role != Role::Supervisor)
        {
            return None;
        }
        let event = Event::default()
            .event("snapshot")
            .json_data(make_snapshot(&s).await)
            .unwrap_or_else(|_| Event::default().event("error").data("internal"));
        Some((Ok(event), (s, token, every)))
    })
}

/// An account in the supervisor's list.
#[derive(Debug, Serialize)]
struct AccountRow {
    #[serde(flatten)]
    account: AccountView,
    on_duty: bool,
}

async fn accounts(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    supervisor(&s, &headers)?;
    let mut rows: Vec<AccountRow> = Vec::new();
    for account in s.auth.accounts() {
        let on_duty = s.relay.engine().is_connected(&account.alias).await;
        rows.push(AccountRow { account, on_duty });
    }
    Ok(Json(serde_json::json!({ "accounts": rows })))
}

/// `POST /v1/supervisor/accounts` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    username: String,
    alias: String,
    role: Role,
}

async fn create_account(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<NewAccount>,
) -> Result<Response, ApiError> {
    let by = supervisor_post(&s, &headers)?;
    let password = s.auth.create(&req.username, &req.alias, req.role).await?;
    tracing::info!(by = %by.username, username = %req.username, role = req.role.as_str(), "account created");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "username": req.username, "password": password })),
    )
        .into_response())
}

/// `POST /v1/supervisor/accounts/{username}/disabled` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Disabled {
    disabled: bool,
}

async fn set_disabled(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
    Json(req): Json<Disabled>,
) -> Result<StatusCode, ApiError> {
    let by = supervisor_post(&s, &headers)?;
    if req.disabled && by.username == username {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            "you cannot disable your own account",
        ));
    }
    s.auth.set_disabled(&username, req.disabled)?;
    if req.disabled
        && let Some(account) = s.auth.account(&username)
    {
        s.relay.engine().disconnect_alias(&account.alias);
    }
    tracing::info!(by = %by.username, %username, disabled = req.disabled, "account state changed");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/supervisor/accounts/{username}/cert` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertRequest {
    /// The identity certificate from `lyt cert counsellor`, base64url.
    cert: String,
}

async fn register_cert(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
    Json(req): Json<CertRequest>,
) -> Result<StatusCode, ApiError> {
    let by = supervisor_post(&s, &headers)?;
    let root = s.org_root.ok_or(ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::Conflict,
        "no org root is configured",
    ))?;
    let cert = crate::crypto::b64_decode(req.cert.trim(), "cert").map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadFrame,
            "cert must be the base64url certificate printed by `lyt cert counsellor`",
        )
    })?;
    s.auth.register_cert(&username, &cert, &root, now_unix())?;
    tracing::info!(by = %by.username, %username, "identity certificate registered");
    Ok(StatusCode::NO_CONTENT)
}

async fn totp_reset(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
    Json(Empty {}): Json<Empty>,
) -> Result<StatusCode, ApiError> {
    let by = supervisor_post(&s, &headers)?;
    s.auth.totp_reset(&username)?;
    tracing::info!(by = %by.username, %username, "TOTP reset");
    Ok(StatusCode::NO_CONTENT)
}

async fn password_reset(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
    Json(Empty {}): Json<Empty>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let by = supervisor_post(&s, &headers)?;
    let password = s.auth.reset_password(&username).await?;
    tracing::info!(by = %by.username, %username, "password reset");
    Ok(Json(
        serde_json::json!({ "username": username, "password": password }),
    ))
}
