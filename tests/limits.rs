//! Rate limits over real sockets: per hashed address, per connection, per account, and the
//! trusted proxy header.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::client::{ClientError, ConnectOptions, WsClient};
use lyt::protocol::{ErrorCode, ServerFrame, VisitorFrame};

fn from(ts: &TestServer, source: &str) -> ConnectOptions {
    ConnectOptions {
        source: Some(source.parse().unwrap()),
        ..ts.opts()
    }
}

async fn connect(ts: &TestServer, opts: &ConnectOptions) -> Result<WsClient, ClientError> {
    WsClient::connect(&format!("{}/v1/visitor", ts.ws), opts).await
}

fn is_429(result: Result<WsClient, ClientError>) -> bool {
    matches!(result, Err(ClientError::Ws(tokio_tungstenite::tungstenite::Error::Http(r))) if r.status() == 429)
}

async fn rate_limited(v: &mut WsClient) -> u64 {
    match v.frame(WAIT).await.unwrap() {
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            retry_after_s: Some(s),
            ..
        } => s,
        other => panic!("expected rate_limited, got {other:?}"),
    }
}

/// New visitor connections are limited per address; another address is not affected.
#[tokio::test]
async fn visitor_connections_per_address() {
    let ts = start(|c| c.rate.visitor_connects_per_min = 2).await;
    let a = from(&ts, "127.0.0.21");
    let _one = connect(&ts, &a).await.unwrap();
    let _two = connect(&ts, &a).await.unwrap();
    assert!(
        is_429(connect(&ts, &a).await),
        "the third from one address is refused"
    );
    assert!(connect(&ts, &from(&ts, "127.0.0.22")).await.is_ok());
}

/// Joins are limited per address, with the seconds to wait.
#[tokio::test]
async fn joins_per_address() {
    let ts = start(|c| c.rate.joins_per_hour = 2).await;
    let mut v = ts.visitor().await;
    for _ in 0..2 {
        join(&mut v, "da/exit").await;
        v.send(&VisitorFrame::Leave {}).await.unwrap();
        ended(&mut v).await;
    }
    v.send_text(r#"{"t":"join","queue":"da/exit"}"#)
        .await
        .unwrap();
    let wait = rate_limited(&mut v).await;
    assert!((1..=1800).contains(&wait), "{wait}");
}

/// A connection that sends frames faster than its budget gets `rate_limited` and the excess
/// is not acted on; the connection stays open.
#[tokio::test]
async fn frames_per_connection() {
    let ts = start(|c| {
        c.rate.visitor_frames_per_s = 1;
        c.rate.frames_burst = 3;
    })
    .await;
    let mut v = ts.visitor().await;
    for _ in 0..3 {
        v.send_text(r#"{"t":"nope"}"#).await.unwrap();
        assert_eq!(error_code(&mut v).await, ErrorCode::BadFrame);
    }
    v.send_text(r#"{"t":"join","queue":"da/exit"}"#)
        .await
        .unwrap();
    rate_limited(&mut v).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(join(&mut v, "da/exit").await, 1, "the budget refills");
}

/// Login attempts are limited per account, even with the right password, with Retry-After.
#[tokio::test]
async fn logins_per_account() {
    let ts = start(|c| c.rate.logins_per_min_per_account = 2).await;
    for _ in 0..2 {
        let err = lyt::client::login(&ts.http, None, "maja", "wrong")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
    }
    let maja = ts
        .demo
        .accounts
        .iter()
        .find(|a| a.username == "maja")
        .unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", ts.http))
        .json(&serde_json::json!({ "username": "maja", "password": maja.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    assert!(
        ts.login("ali").await.ticket().await.is_ok(),
        "another account is not affected"
    );
}

/// Behind a trusted proxy the configured header decides the address: two clients behind the
/// same proxy address are counted apart, and the same client is counted together.
#[tokio::test]
async fn trusted_proxy_header() {
    let ts = start(|c| {
        c.rate.visitor_connects_per_min = 1;
        c.rate.trusted_proxy_header = Some("x-forwarded-for".into());
    })
    .await;
    let behind = |client: &str| ConnectOptions {
        headers: vec![("x-forwarded-for".into(), format!("10.9.8.7, {client}"))],
        ..ts.opts()
    };
    let _a = connect(&ts, &behind("198.51.100.1")).await.unwrap();
    let _b = connect(&ts, &behind("198.51.100.2")).await.unwrap();
    assert!(is_429(connect(&ts, &behind("198.51.100.1")).await));
}
