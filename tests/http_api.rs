//! The HTTP API: status, login and tickets, and the internal listener.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

/// `GET /v1/status` lists the demo queues and the phone line, sets no cookie and is not
/// cached by the browser.
#[tokio::test]
async fn status_lists_queues_and_phone() {
    let ts = start(|_| {}).await;
    let res = reqwest::get(format!("{}/v1/status", ts.http))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    let status: lyt::http::Status = res.json().await.unwrap();
    let ids: Vec<_> = status.queues.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["da/exit", "da/health", "en/any"]);
    assert!(status.open);
    assert!(!status.phone.number.is_empty());

    let mut v = ts.visitor().await;
    join(&mut v, "da/health").await;
    let status: lyt::http::Status = reqwest::get(format!("{}/v1/status", ts.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status.queues[1].waiting, 1);
}

/// A wrong password is refused; a right one sets an HttpOnly, SameSite=Strict cookie.
#[tokio::test]
async fn login_and_ticket() {
    let ts = start(|_| {}).await;
    let err = lyt::client::login(&ts.http, Some(&ts.origin), "maja", "wrong")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
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
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let no_session = reqwest::Client::new()
        .post(format!("{}/v1/auth/ticket", ts.http))
        .send()
        .await
        .unwrap();
    assert_eq!(no_session.status(), 401);
    let foreign = reqwest::Client::new()
        .post(format!("{}/v1/auth/ticket", ts.http))
        .header("cookie", cookie.split(';').next().unwrap())
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert!(ts.login("maja").await.ticket().await.unwrap().len() >= 40);
}

/// The internal listener serves health, readiness and Prometheus metrics; the public one
/// does not serve metrics.
#[tokio::test]
async fn internal_listener() {
    let ts = start(|_| {}).await;
    let internal = format!("http://{}", ts.server.internal_addr);
    assert_eq!(
        reqwest::get(format!("{internal}/healthz"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        reqwest::get(format!("{internal}/readyz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let _pair = live_pair(&ts, "maja").await;
    let metrics = reqwest::get(format!("{internal}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("lyt_conversations_live 1"), "{metrics}");
    assert!(
        metrics.contains(r#"lyt_offers_total{result="accepted"} 1"#),
        "{metrics}"
    );
    // What the alert rules (ops/prometheus/) need: open by the hours (around the clock
    // here), the store answering, responses by class (the WebSocket upgrades are 1xx, the
    // login 2xx), and the node's file descriptors against its limit.
    for line in [
        "lyt_open 1",
        "lyt_store_up 1",
        r#"lyt_http_responses_total{class="1xx"} 2"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}: {metrics}");
    }
    let value = |name: &str| -> i64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing: {metrics}"))
    };
    assert!(value(r#"lyt_http_responses_total{class="2xx"}"#) >= 1);
    assert!(value("lyt_process_open_fds") > 2);
    assert!(value("lyt_process_max_fds") >= value("lyt_process_open_fds"));
    let public = reqwest::get(format!("{}/metrics", ts.http)).await.unwrap();
    assert_eq!(public.status(), 404);
    let metrics = reqwest::get(format!("{internal}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"lyt_http_responses_total{class="4xx"} 1"#),
        "the 404 is counted: {metrics}"
    );
}

/// Outside opening hours the status says closed with the next opening, `join` is refused
/// with `closed` and `retry_after_s`, and a waiting visitor is not affected by the refusal
/// of another.
#[tokio::test]
async fn closed_outside_opening_hours() {
    use lyt::protocol::{ErrorCode, ServerFrame};
    // Open only on the Copenhagen date one week ahead: closed now, opening then.
    let day = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Copenhagen").unwrap())
        .date();
    let weekday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [usize::try_from(day.weekday().to_monday_zero_offset()).unwrap()];
    let today = day.to_string();
    let ts = start(move |c| {
        c.hours.weekly.insert(weekday.into(), "00:00-24:00".into());
        c.hours.holidays.push(today);
        c.hours.text = "Open on the same weekday next week".into();
    })
    .await;
    let status: lyt::http::Status = reqwest::get(format!("{}/v1/status", ts.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!status.open);
    let next = status.next_change.expect("the next opening");
    let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap();
    assert!(
        next > now + 5 * 86_400 && next <= now + 7 * 86_400,
        "{next} vs {now}"
    );
    assert_eq!(status.hours, "Open on the same weekday next week");
    // The gauge the "nobody on duty while open" alert is gated on says closed too.
    let metrics = reqwest::get(format!("http://{}/metrics", ts.server.internal_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.lines().any(|l| l == "lyt_open 0"), "{metrics}");

    let mut v = ts.visitor().await;
    v.send_text(r#"{"t":"join","queue":"da/exit"}"#)
        .await
        .unwrap();
    match v.frame(WAIT).await.unwrap() {
        ServerFrame::Error {
            code,
            retry_after_s,
            message,
        } => {
            assert_eq!(code, ErrorCode::Closed);
            assert!(message.contains("phone"), "{message}");
            let wait = retry_after_s.expect("seconds until opening");
            assert!(wait > 5 * 86_400, "{wait}");
        }
        other => panic!("expected closed, got {other:?}"),
    }
}

/// `public_url` is an allowed origin: the widget iframe served by the relay opens its
/// WebSocket from there.
#[tokio::test]
async fn public_url_is_an_allowed_origin() {
    let ts = start(|c| c.public_url = Some("https://chat.example.org/".into())).await;
    let opts = lyt::client::ConnectOptions {
        origin: Some("https://chat.example.org".into()),
        ..Default::default()
    };
    let mut v = lyt::client::WsClient::connect(&format!("{}/v1/visitor", ts.ws), &opts)
        .await
        .unwrap();
    assert!(matches!(
        v.frame(WAIT).await.unwrap(),
        lyt::protocol::ServerFrame::Hello { .. }
    ));
}
