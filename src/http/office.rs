//! The brobygger offices' API: `GET /v1/referrals` lists the office's sealed referrals and
//! `POST /v1/referrals/{id}/ack` deletes one the office has safely opened and saved. The
//! office authenticates with `Authorization: Bearer <token>`; lyt keeps only each token's
//! SHA-256 (`referrals.office_tokens`), compared in constant time. The answers carry only
//! what the relay has: ciphertext, ids, codes and times. No browser ever calls this API, so
//! it sends no CORS headers and needs no cookies.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{ApiError, AppState};
use crate::protocol::ErrorCode;
use crate::referral::{ReferralStore, StoreError, StoredReferral};

/// The office routes, merged into the public router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/referrals", get(list))
        .route("/v1/referrals/{id}/ack", post(ack))
}

/// The SHA-256 of an office token, base64url: what `referrals.office_tokens` holds.
pub fn token_hash(token: &str) -> String {
    crate::crypto::b64_encode(&Sha256::digest(token.trim().as_bytes()))
}

/// The office a bearer token belongs to, and the store.
fn office(s: &AppState, headers: &HeaderMap) -> Result<(String, ReferralStore), ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "send the office's token as `Authorization: Bearer …`",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let hash = token_hash(token);
    let mut found = None;
    // Every configured hash is compared, in constant time each.
    for (office, expected) in &s.config.referrals.office_tokens {
        if bool::from(hash.as_bytes().ct_eq(expected.trim().as_bytes())) {
            found = Some(office.clone());
        }
    }
    let office = found.ok_or_else(unauthorized)?;
    let store = s.referrals.clone().ok_or(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal,
        "referrals are not enabled on this server (no data directory)",
    ))?;
    Ok((office, store))
}

/// `GET /v1/referrals`: the office's unacknowledged referrals, oldest first.
async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (office, store) = office(&s, &headers)?;
    let items: Vec<StoredReferral> = store.list(&office);
    Ok(Json(serde_json::json!({ "referrals": items })))
}

/// `POST /v1/referrals/{id}/ack`: the office has the referral; it is deleted.
async fn ack(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (office, store) = office(&s, &headers)?;
    let result = tokio::task::spawn_blocking(move || store.ack(&office, &id)).await;
    match result {
        Ok(Ok(())) => {
            s.metrics.referrals.with_label_values(&["acked"]).inc();
            Ok(StatusCode::NO_CONTENT)
        }
        Ok(Err(StoreError::NotFound)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such referral for this office",
        )),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "referral ack");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "could not delete the referral; try again",
            ))
        }
        Err(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        )),
    }
}
