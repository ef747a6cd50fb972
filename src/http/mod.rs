//! The HTTP surface: the public router (status, auth, the two WebSockets) and the internal
//! router (metrics, health), the shared `AppState`, one error type that becomes the JSON
//! response, and the headers every response carries.

pub mod listen;
pub mod office;
pub mod origin;
pub mod staff;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::protocol::{self, ErrorCode, Limits, ServerFrame};
use crate::relay::{self, Relay, conn::Timing};
pub use origin::Origins;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "lyt_session";

/// Everything a request handler needs: cheap-clone handles only.
#[derive(Clone)]
pub struct AppState {
    /// Relay state.
    pub relay: Relay,
    /// Accounts, sessions, tickets.
    pub auth: Auth,
    /// Metrics.
    pub metrics: Metrics,
    /// The configuration in force.
    pub config: Arc<Config>,
    /// Allowed origins for WebSockets and the API.
    pub origins: Arc<Origins>,
    /// The organisation's root public key: counsellor bundles must chain to it.
    pub org_root: Option<[u8; 32]>,
    /// The office directory (verified at start), as served by `GET /v1/offices`.
    pub offices: Arc<Vec<OfficeEntry>>,
    /// Opening hours.
    pub hours: Arc<crate::routing::hours::Schedule>,
    /// Rate limiters.
    pub limits: crate::limits::Limits,
    /// Sealed referrals awaiting their offices (`None` without a data directory).
    pub referrals: Option<crate::referral::ReferralStore>,
    /// Demo mode only: the demo org root, which certifies identity keys enrolled in the
    /// console at once.
    pub demo_signer: Option<Arc<crate::crypto::IdentityKey>>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Tracks WebSocket tasks, which axum's graceful shutdown does not wait for.
    pub tracker: TaskTracker,
}

impl AppState {
    /// Whether chats are open now, and until when (Unix seconds).
    pub fn open_now(&self) -> (bool, Option<u64>) {
        let state = self.hours.at(jiff::Timestamp::now());
        let until = state
            .until
            .map(|t| u64::try_from(t.as_second()).unwrap_or(0));
        (state.open, until)
    }

    /// Socket-loop timing from the configuration.
    pub fn timing(&self) -> Timing {
        let l = &self.config.limits;
        Timing {
            ping: Duration::from_secs(l.ping_s),
            idle: Duration::from_secs(l.idle_s),
            setup: Duration::from_secs(l.auth_timeout_s),
        }
    }

    /// The `hello` frame sent on connect.
    pub fn hello(&self) -> ServerFrame {
        ServerFrame::Hello {
            v: protocol::VERSION,
            limits: Limits {
                max_frame: protocol::MAX_FRAME_BYTES,
                max_text_chars: 4000,
                ping_s: self.config.limits.ping_s,
                idle_s: self.config.limits.idle_s,
            },
        }
    }
}

/// The WebSocket read buffer per connection (see `limit_ws`).
pub const READ_BUFFER: usize = 1024;

/// Applies the WebSocket limits: 64 KiB messages and frames, a bounded write buffer, and a
/// 1 KiB read buffer (tungstenite's default is 128 KiB). Tungstenite allocates the read
/// buffer with every connection and zeroes its free part before every read, so its size is
/// memory per idle connection and CPU per frame: a relayed frame is a few hundred bytes, and
/// a longer one is read into room reserved for the length its header declares (8 KiB here
/// cost 7 KiB per connection and 4.6 % of the relay's CPU in memset; 2 KiB, 1 KiB more per
/// idle connection than 1 KiB, with the same CPU per message). permessage-deflate is
/// never negotiated (axum's tungstenite has no compression), so an offer of it is ignored.
pub fn limit_ws(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(512 * 1024)
        .max_message_size(protocol::MAX_FRAME_BYTES)
        .max_frame_size(protocol::MAX_FRAME_BYTES)
}

/// An API error: one place turns it into a status and `{code, message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: std::borrow::Cow<'static, str>,
    retry_after_s: Option<u64>,
    /// Login only: the password was right and a TOTP code is needed.
    totp_required: bool,
}

impl ApiError {
    /// A new error.
    pub const fn new(status: StatusCode, code: ErrorCode, message: &'static str) -> Self {
        Self {
            status,
            code,
            message: std::borrow::Cow::Borrowed(message),
            retry_after_s: None,
            totp_required: false,
        }
    }

    /// A new error with a message made at run time (never with anything secret in it).
    pub fn with_message(status: StatusCode, code: ErrorCode, message: String) -> Self {
        Self {
            message: std::borrow::Cow::Owned(message),
            ..Self::new(status, code, "")
        }
    }

    /// 429 `rate_limited`, to retry after `seconds`.
    pub const fn rate_limited(seconds: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: ErrorCode::RateLimited,
            message: std::borrow::Cow::Borrowed("too many attempts; wait and try again"),
            retry_after_s: Some(seconds),
            totp_required: false,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "code": self.code,
            "message": self.message,
            "retry_after_s": self.retry_after_s,
        });
        if self.totp_required {
            body["totp_required"] = serde_json::Value::Bool(true);
        }
        let mut res = (self.status, Json(body)).into_response();
        if let Some(v) = self
            .retry_after_s
            .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// The public router: REST API and WebSockets.
pub fn public_router(state: AppState) -> Router {
    let max_body = state.config.limits.max_body_bytes;
    let router = Router::new()
        .route("/v1/status", get(status))
        .route("/v1/offices", get(offices))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/ticket", post(ticket))
        .route("/v1/auth/logout", post(logout))
        .merge(staff::routes())
        .merge(office::routes())
        .route("/v1/visitor", get(relay::visitor::endpoint))
        .route("/v1/counsellor", get(relay::counsellor::endpoint))
        .route("/widget/", get(crate::web::widget_page))
        .route("/widget/embed.json", get(crate::web::embed_info))
        .route("/widget/{file}", get(crate::web::widget_file))
        .route("/demo", get(crate::web::demo_page))
        .route(
            "/console",
            get(|| async { axum::response::Redirect::permanent("/console/") }),
        )
        .route("/console/", get(crate::web::console_page))
        .route("/console/{file}", get(crate::web::console_file))
        .route(
            "/dashboard",
            get(|| async { axum::response::Redirect::permanent("/dashboard/") }),
        )
        .route("/dashboard/", get(crate::web::dashboard_page))
        .route("/dashboard/{file}", get(crate::web::dashboard_file))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::map_response(common_headers))
        .layer(axum::middleware::map_response_with_state(
            state.metrics.clone(),
            count_response,
        ));
    // HSTS only when lyt itself serves HTTPS: sent over plain HTTP it is ignored by browsers,
    // and behind a TLS proxy the proxy sets it.
    let router = if state.config.tls.enabled() {
        let hsts = HeaderValue::from_str(&format!("max-age={}", state.config.tls.hsts_max_age_s))
            .unwrap_or_else(|_| HeaderValue::from_static("max-age=31536000"));
        router.layer(axum::middleware::map_response(move |mut res: Response| {
            let hsts = hsts.clone();
            async move {
                res.headers_mut()
                    .insert(header::STRICT_TRANSPORT_SECURITY, hsts);
                res
            }
        }))
    } else {
        router
    };
    router.with_state(state)
}

/// The internal router: metrics and health, never exposed publicly.
pub fn internal_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

/// Counts each public response by status class (a bounded label: five values).
async fn count_response(State(m): State<Metrics>, res: Response) -> Response {
    let class = match res.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    m.http_responses.with_label_values(&[class]).inc();
    res
}

/// Headers on every public response: nothing visitor-facing is cached or leaks a referrer.
async fn common_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// `GET /metrics`: the supervisor's live figures are set as gauges at each scrape, so
/// Prometheus sees the same numbers as the dashboard.
async fn metrics(State(s): State<AppState>) -> String {
    let snap = staff::make_snapshot(&s).await;
    let m = &s.metrics;
    let by_state = [
        ("available", snap.counsellors.available),
        ("busy", snap.counsellors.busy),
        ("on_break", snap.counsellors.on_break),
        ("offline", snap.counsellors.offline),
    ];
    for (state, n) in by_state {
        m.counsellors
            .with_label_values(&[state])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    m.load
        .with_label_values(&["chats"])
        .set(i64::from(snap.load.chats));
    m.load
        .with_label_values(&["capacity"])
        .set(i64::from(snap.load.capacity));
    for q in &snap.relay.queues {
        let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        m.longest_wait
            .with_label_values(&[q.id.as_str()])
            .set(secs(q.longest_wait_s));
        m.eta.with_label_values(&[q.id.as_str()]).set(secs(q.eta_s));
    }
    m.open.set(i64::from(s.open_now().0));
    if let Some((open, max)) = crate::metrics::fd_usage() {
        m.open_fds.set(open);
        m.max_fds.set(max);
    }
    m.render()
}

async fn ready(State(s): State<AppState>) -> Response {
    if s.shutdown.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    } else if !s.relay.engine().store_reachable() {
        // The node keeps serving its live chats; a balancer sends new visitors elsewhere.
        (StatusCode::SERVICE_UNAVAILABLE, "shared state unreachable").into_response()
    } else {
        "ready".into_response()
    }
}

/// One queue in `GET /v1/status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct QueueStatus {
    /// Queue id.
    pub id: String,
    /// Display names per language.
    pub names: std::collections::BTreeMap<String, String>,
    /// Visitors waiting now.
    pub waiting: usize,
    /// Estimated wait for someone joining now, rounded up to whole minutes.
    pub eta_s: u64,
}

/// `GET /v1/status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    /// Whether chats can be joined now.
    pub open: bool,
    /// When `open` changes next (Unix seconds): the closing time when open, the next opening
    /// when closed; absent when it does not change (open around the clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_change: Option<u64>,
    /// Opening hours in words.
    pub hours: String,
    /// The queues.
    pub queues: Vec<QueueStatus>,
    /// The phone line.
    pub phone: crate::config::PhoneConfig,
}

async fn status(State(s): State<AppState>) -> Json<Status> {
    // The queues as routing last saw them (on every node the same), this node's estimate.
    let engine = s.relay.engine();
    let counts: Vec<_> = engine
        .figures()
        .waiting
        .into_iter()
        .map(|(q, n, _)| {
            let eta = engine.eta_s(&q, u32::try_from(n + 1).unwrap_or(u32::MAX));
            (q, n, eta)
        })
        .collect();
    let queues = s
        .config
        .queues
        .iter()
        .zip(counts)
        .map(|(q, (_, waiting, eta_s))| QueueStatus {
            id: q.id.to_string(),
            names: q.names.clone(),
            waiting,
            eta_s,
        })
        .collect();
    let (open, next_change) = s.open_now();
    Json(Status {
        open,
        next_change,
        hours: s.config.hours.text.clone(),
        queues,
        phone: s.config.phone.clone(),
    })
}

/// One office in `GET /v1/offices`. Clients verify `cert` against their pinned org root
/// before using its key; the other fields are for display and lookup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OfficeEntry {
    /// The office id bound into envelopes.
    pub id: String,
    /// `brobygger` or `phone_desk`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// The office certificate, base64url.
    pub cert: String,
    /// Municipality, address and reception hours, from `office_info` (empty when not
    /// configured).
    #[serde(flatten)]
    pub info: crate::config::OfficeInfo,
}

/// `GET /v1/offices`.
async fn offices(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "offices": *s.offices }))
}

/// `POST /v1/auth/login` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The current TOTP code, when the account has TOTP.
    #[serde(default)]
    pub totp: Option<String>,
}

/// Refuses API calls from a browser page of a foreign origin (a missing Origin is a
/// non-browser client, which the SameSite=Strict cookie already constrains).
pub(crate) fn check_origin(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(header::ORIGIN) {
        Some(o) if !s.origins.allows_header(Some(o)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "origin not allowed",
        )),
        _ => Ok(()),
    }
}

async fn login(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    check_origin(&s, &headers)?;
    let addr = s.limits.address_key(s.limits.client_ip(&headers, peer));
    s.limits
        .login(addr, &req.username)
        .map_err(ApiError::rate_limited)?;
    let (token, principal) = match s
        .auth
        .login(&req.username, &req.password, req.totp.as_deref())
        .await
    {
        Ok(ok) => ok,
        Err(e) => {
            s.metrics.logins.with_label_values(&["refused"]).inc();
            let totp_required = matches!(e, crate::auth::LoginFailed::Totp { .. });
            return Err(ApiError {
                totp_required,
                ..ApiError::with_message(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::Unauthorized,
                    e.to_string(),
                )
            });
        }
    };
    s.metrics.logins.with_label_values(&["ok"]).inc();
    let secure = if s.config.secure_cookies || s.config.tls.enabled() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/v1; Max-Age={}{secure}",
        s.auth.session_ttl().as_secs()
    );
    let body = serde_json::json!({
        "username": principal.username,
        "alias": principal.alias,
        "role": principal.role,
    });
    let mut res = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// The session token from the `Cookie` header.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

async fn ticket(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_origin(&s, &headers)?;
    let token = session_token(&headers).unwrap_or_default();
    let principal = s.auth.session(token).ok_or(ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        "log in first",
    ))?;
    s.limits
        .ticket(sha2::Sha256::digest(token.as_bytes()).into())
        .map_err(ApiError::rate_limited)?;
    let ticket = s.auth.issue_ticket(principal);
    Ok(Json(
        serde_json::json!({ "ticket": ticket, "expires_s": s.auth.ticket_ttl().as_secs() }),
    ))
}

async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    check_origin(&s, &headers)?;
    if let Some(t) = session_token(&headers) {
        s.auth.logout(t);
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/v1; Max-Age=0");
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}
