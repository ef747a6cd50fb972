//! The browser assets lyt serves itself: the widget iframe (`/widget/`), its script and
//! style, the host-page `embed.js` with its Subresource Integrity hash, and in demo mode a
//! demo host page (`/demo`) that embeds the widget exactly as an organisation's site would.
//!
//! Every response carries `Cache-Control: no-store` and `Referrer-Policy: no-referrer` (the
//! router's common headers). The widget document gets a strict CSP: only its own script,
//! style and WebSocket, no inline code, framed only by the configured origins.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha384};

use crate::http::AppState;

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The embedded file `name`, if the assets were built.
pub fn asset(name: &str) -> Option<&'static [u8]> {
    ASSETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// The Subresource Integrity value of `embed.js` (`sha384-…`), if built.
pub fn embed_integrity() -> Option<String> {
    asset("embed.js").map(|js| {
        let digest = Sha384::digest(js);
        format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the widget is not built into this binary: run `npm ci && npm run build` in web-widget/ and rebuild lyt",
    )
        .into_response()
}

/// The CSP of the widget document: framed only by the allowed origins.
fn widget_csp(app: &AppState) -> String {
    // CSP source expressions cannot name IPv6 literals (browsers reject `http://[::1]:…`);
    // such origins stay allowed for the API but cannot frame the widget.
    let ancestors = app
        .origins
        .list()
        .into_iter()
        .filter(|o| !o.contains('['))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; frame-ancestors 'self' {ancestors}; base-uri 'none'; form-action 'none'"
    )
}

fn with_headers(
    body: &'static [u8],
    ctype: &'static str,
    extra: &[(header::HeaderName, String)],
) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name.clone(), v);
        }
    }
    res
}

/// `GET /widget/`: the widget document.
pub async fn widget_page(State(app): State<AppState>) -> Response {
    let Some(html) = asset("widget.html") else {
        return not_built();
    };
    let extra = [
        (header::CONTENT_SECURITY_POLICY, widget_csp(&app)),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin".into(),
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()".into(),
        ),
    ];
    with_headers(html, content_type("widget.html"), &extra)
}

/// `GET /widget/{file}`: the widget's script and style, and the host-page `embed.js` (which
/// host pages load cross-origin with SRI, so it carries CORS and CORP for that).
pub async fn widget_file(Path(name): Path<String>) -> Response {
    if ASSETS.is_empty() {
        return not_built();
    }
    let Some(bytes) = asset(&name).filter(|_| name != "widget.html") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cross_origin = name == "embed.js";
    let extra = if cross_origin {
        vec![
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_string()),
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin".into(),
            ),
        ]
    } else {
        vec![(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin".into(),
        )]
    };
    with_headers(bytes, content_type(&name), &extra)
}

/// `GET /widget/embed.json`: what an operator needs for the snippet (`src`, `integrity`).
pub async fn embed_info() -> Response {
    match embed_integrity() {
        Some(integrity) => {
            axum::Json(serde_json::json!({ "src": "/widget/embed.js", "integrity": integrity }))
                .into_response()
        }
        None => not_built(),
    }
}

/// The embed snippet for a host page.
pub fn snippet(relay: &str, org_root_b64: &str, lang: &str, quick_exit: &str) -> Option<String> {
    let integrity = embed_integrity()?;
    Some(format!(
        "<script src=\"{relay}/widget/embed.js\" integrity=\"{integrity}\" crossorigin=\"anonymous\"\n        \
         data-relay=\"{relay}\" data-org-root=\"{org_root_b64}\" data-lang=\"{lang}\"\n        \
         data-quick-exit=\"{quick_exit}\"></script>"
    ))
}

/// The neutral site the demo's quick exit goes to.
pub const DEMO_QUICK_EXIT: &str = "https://www.dr.dk/vejret";

/// `GET /demo` (demo mode only): a host page with the widget embedded.
pub async fn demo_page(State(app): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if !app.config.demo {
        return StatusCode::NOT_FOUND.into_response();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| app.origins.allows(&format!("http://{h}")))
        .map_or_else(|| app.config.listen.to_string(), str::to_owned);
    let relay = format!("http://{host}");
    let root = app
        .org_root
        .map(|r| crate::crypto::b64_encode(&r))
        .unwrap_or_default();
    let Some(snippet) = snippet(&relay, &root, "da", DEMO_QUICK_EXIT) else {
        return not_built();
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Demo host page — lyt</title></head>\n<body>\n\
         <main><h1>An organisation's web site (DEMO)</h1>\
         <p>This page stands for the site that embeds the lyt widget. The chat button in the corner \
         opens the widget. Run <code>lyt counsellor bot</code> to have a demo counsellor answer.</p>\
         <p>The embed snippet used here:</p><pre id=\"snippet\">{escaped}</pre></main>\n{snippet}\n</body></html>\n",
        escaped = snippet
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    );
    let mut res = axum::response::Html(html).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; frame-src 'self'; \
             img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    res
}

/// The CSP of the staff pages (console and dashboard): own script, style and connections
/// only, never framed.
const STAFF_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";

/// A staff page (`console` or `dashboard`): `{page}.html` with the staff headers.
fn staff_page(page: &str) -> Response {
    let Some(html) = asset(&format!("{page}.html")) else {
        return not_built();
    };
    let extra = [
        (header::CONTENT_SECURITY_POLICY, STAFF_CSP.to_string()),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin".into(),
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()".into(),
        ),
        (header::X_FRAME_OPTIONS, "DENY".into()),
    ];
    with_headers(html, content_type("x.html"), &extra)
}

/// A script or style of a staff page; other pages' documents are not served under it.
fn staff_file(page: &str, name: &str) -> Response {
    if ASSETS.is_empty() {
        return not_built();
    }
    let allowed = name
        .strip_prefix(page)
        .is_some_and(|rest| matches!(rest, ".js" | ".css"));
    let Some(bytes) = asset(name).filter(|_| allowed) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let extra = [(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin".to_string(),
    )];
    with_headers(bytes, content_type(name), &extra)
}

/// `GET /console/`: the counsellor shift console.
pub async fn console_page() -> Response {
    staff_page("console")
}

/// `GET /console/{file}`: `console.js` and `console.css`.
pub async fn console_file(Path(name): Path<String>) -> Response {
    staff_file("console", &name)
}

/// `GET /dashboard/`: the supervisor dashboard.
pub async fn dashboard_page() -> Response {
    staff_page("dashboard")
}

/// `GET /dashboard/{file}`: `dashboard.js` and `dashboard.css`.
pub async fn dashboard_file(Path(name): Path<String>) -> Response {
    staff_file("dashboard", &name)
}
