//! Bad input gets the specified error or close code, and disturbs no other connection: each
//! test runs its abuse next to a live chat and checks the chat still works afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::client::{ConnectOptions, WsClient};
use lyt::protocol::{ConvId, CounsellorFrame, ErrorCode, ServerFrame, VisitorFrame, close};

/// Proves a live pair still relays both ways.
async fn still_works(v: &mut WsClient, c: &mut WsClient, conv: ConvId) {
    let m: lyt::protocol::Blob = "c3RpbGwgYWxpdmU".parse().unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m: m.clone() })
        .await
        .unwrap();
    assert!(matches!(
        c.frame(WAIT).await.unwrap(),
        ServerFrame::Hs1 { .. }
    ));
    c.send(&CounsellorFrame::Data { conv, n: 0, m })
        .await
        .unwrap();
    assert!(matches!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Data { n: 0, .. }
    ));
}

async fn close_code(ws: &mut WsClient) -> Option<u16> {
    ws.closed(WAIT).await.unwrap().map(|(code, _)| code)
}

/// Invalid JSON gets `bad_frame` twice and close 1008 the third time; an unknown type gets
/// `bad_frame` and the connection stays usable.
#[tokio::test]
async fn invalid_json_and_unknown_types() {
    let ts = start(|_| {}).await;
    let (mut v, mut c, conv) = live_pair(&ts, "maja").await;

    let mut bad = ts.visitor().await;
    bad.send_text(r#"{"t":"warp"}"#).await.unwrap();
    assert_eq!(error_code(&mut bad).await, ErrorCode::BadFrame);
    bad.send_text(r#"{"t":"join","queue":"da/exit","x":1}"#)
        .await
        .unwrap();
    assert_eq!(error_code(&mut bad).await, ErrorCode::BadFrame);
    assert_eq!(
        join(&mut bad, "da/health").await,
        1,
        "still usable after bad frames"
    );

    let mut broken = ts.visitor().await;
    for _ in 0..2 {
        broken.send_text("{not json").await.unwrap();
        assert_eq!(error_code(&mut broken).await, ErrorCode::BadFrame);
    }
    broken.send_text("{not json").await.unwrap();
    assert_eq!(close_code(&mut broken).await, Some(close::POLICY));

    still_works(&mut v, &mut c, conv).await;
}

/// A message over 64 KiB closes that connection with 1009.
#[tokio::test]
async fn oversize_frame_closes_with_1009() {
    let ts = start(|_| {}).await;
    let (mut v, mut c, conv) = live_pair(&ts, "maja").await;
    let mut big = ts.visitor().await;
    let text = format!(r#"{{"t":"join","queue":"{}"}}"#, "a".repeat(64 * 1024));
    big.send_text(text).await.unwrap();
    assert_eq!(close_code(&mut big).await, Some(close::TOO_LARGE));
    still_works(&mut v, &mut c, conv).await;
}

/// Frames for someone else's conversation are refused with `not_found` and reach nobody.
#[tokio::test]
async fn foreign_conversation_is_not_found() {
    let ts = start(|_| {}).await;
    let (mut v, mut c, conv) = live_pair(&ts, "maja").await;
    let mut intruder = ts.visitor().await;
    let m: lyt::protocol::Blob = "aW50cnVkZXI".parse().unwrap();
    intruder
        .send(&VisitorFrame::Data {
            conv,
            n: 0,
            m: m.clone(),
        })
        .await
        .unwrap();
    assert_eq!(error_code(&mut intruder).await, ErrorCode::NotFound);
    let mut other = ts.counsellor("ali", 1).await;
    other
        .send(&CounsellorFrame::Data { conv, n: 0, m })
        .await
        .unwrap();
    assert_eq!(error_code(&mut other).await, ErrorCode::NotFound);
    other
        .send(&CounsellorFrame::End {
            conv,
            tags: Default::default(),
        })
        .await
        .unwrap();
    assert_eq!(error_code(&mut other).await, ErrorCode::NotFound);
    still_works(&mut v, &mut c, conv).await;
}

/// A counsellor frame before `auth`, a bad ticket and a reused ticket each close with 1008.
#[tokio::test]
async fn counsellor_must_authenticate_first() {
    let ts = start(|_| {}).await;
    let (mut v, mut c, conv) = live_pair(&ts, "maja").await;
    let url = format!("{}/v1/counsellor", ts.ws);

    let mut early = WsClient::connect(&url, &ts.opts()).await.unwrap();
    early.frame(WAIT).await.unwrap();
    early.send(&duty(1, junk_bundle())).await.unwrap();
    assert_eq!(close_code(&mut early).await, Some(close::POLICY));

    let mut forged = WsClient::connect(&url, &ts.opts()).await.unwrap();
    forged.frame(WAIT).await.unwrap();
    forged
        .send(&CounsellorFrame::Auth {
            ticket: "forged".into(),
        })
        .await
        .unwrap();
    assert_eq!(close_code(&mut forged).await, Some(close::POLICY));

    let ticket = ts.login("ali").await.ticket().await.unwrap();
    let mut first = WsClient::connect(&url, &ts.opts()).await.unwrap();
    first.frame(WAIT).await.unwrap();
    first
        .send(&CounsellorFrame::Auth {
            ticket: ticket.clone(),
        })
        .await
        .unwrap();
    assert!(matches!(
        first.frame(WAIT).await.unwrap(),
        ServerFrame::Welcome { .. }
    ));
    let mut replay = WsClient::connect(&url, &ts.opts()).await.unwrap();
    replay.frame(WAIT).await.unwrap();
    replay
        .send(&CounsellorFrame::Auth { ticket })
        .await
        .unwrap();
    assert_eq!(close_code(&mut replay).await, Some(close::POLICY));

    still_works(&mut v, &mut c, conv).await;
}

/// A counsellor who never authenticates is closed with 1008 after the auth timeout.
#[tokio::test]
async fn silent_counsellor_is_closed() {
    let ts = start(|c| c.limits.auth_timeout_s = 1).await;
    let url = format!("{}/v1/counsellor", ts.ws);
    let mut silent = WsClient::connect(&url, &ts.opts()).await.unwrap();
    assert_eq!(close_code(&mut silent).await, Some(close::POLICY));
}

/// Missing, `null` and look-alike origins are closed with 1008 on both endpoints.
#[tokio::test]
async fn bad_origins_are_refused() {
    let ts = start(|_| {}).await;
    let (mut v, mut c, conv) = live_pair(&ts, "maja").await;
    let port = ts.server.public_addr.port();
    let origins = [
        None,
        Some("null".to_string()),
        Some(format!("http://127.0.0.1.evil.example:{port}")),
        Some(format!("http://127.0.0.1:{}", port + 1)),
        Some("https://example.org".to_string()),
    ];
    for path in ["/v1/visitor", "/v1/counsellor"] {
        for origin in &origins {
            let opts = ConnectOptions {
                origin: origin.clone(),
                ..ConnectOptions::default()
            };
            let mut ws = WsClient::connect(&format!("{}{path}", ts.ws), &opts)
                .await
                .unwrap();
            assert_eq!(
                close_code(&mut ws).await,
                Some(close::POLICY),
                "{path} {origin:?}"
            );
        }
    }
    still_works(&mut v, &mut c, conv).await;
}

/// An offer of permessage-deflate is not taken up: no extension in the handshake answer.
#[tokio::test]
async fn compression_is_refused() {
    let ts = start(|_| {}).await;
    let mut opts = ts.opts();
    opts.headers.push((
        "sec-websocket-extensions".into(),
        "permessage-deflate; client_max_window_bits".into(),
    ));
    let mut ws = WsClient::connect(&format!("{}/v1/visitor", ts.ws), &opts)
        .await
        .unwrap();
    assert!(
        ws.response_headers
            .get("sec-websocket-extensions")
            .is_none()
    );
    assert!(matches!(
        ws.frame(WAIT).await.unwrap(),
        ServerFrame::Hello { .. }
    ));
}

/// Binary frames are refused like invalid JSON; joining an unknown queue or joining twice
/// gets its own code.
#[tokio::test]
async fn binary_unknown_queue_and_double_join() {
    let ts = start(|_| {}).await;
    let mut v = ts.visitor().await;
    v.send_message(tokio_tungstenite::tungstenite::Message::Binary(
        vec![1, 2, 3].into(),
    ))
    .await
    .unwrap();
    assert_eq!(error_code(&mut v).await, ErrorCode::BadFrame);
    v.send_text(r#"{"t":"join","queue":"xx/none"}"#)
        .await
        .unwrap();
    assert_eq!(error_code(&mut v).await, ErrorCode::UnknownQueue);
    join(&mut v, "da/exit").await;
    v.send_text(r#"{"t":"join","queue":"da/exit"}"#)
        .await
        .unwrap();
    assert_eq!(error_code(&mut v).await, ErrorCode::Conflict);
}

/// A full queue refuses `join` with `queue_full` and the phone line.
#[tokio::test]
async fn full_queue_is_refused() {
    let ts = start(|c| c.limits.max_queue_len = 1).await;
    let mut first = ts.visitor().await;
    join(&mut first, "da/exit").await;
    let mut second = ts.visitor().await;
    second
        .send_text(r#"{"t":"join","queue":"da/exit"}"#)
        .await
        .unwrap();
    match second.frame(WAIT).await.unwrap() {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::QueueFull);
            assert!(
                message.contains("+45 00 00 00 00"),
                "with the phone line: {message}"
            );
        }
        other => panic!("expected queue_full, got {other:?}"),
    }
}

/// A counsellor who stops reading is cut off once their mailbox overflows, and counted;
/// the visitor flooding them is not disturbed and goes back to the queue.
#[tokio::test]
async fn slow_consumer_is_cut_off() {
    let ts = start(|c| {
        c.limits.mailbox = 16;
        c.routing.reconnect_window_s = 0;
        // The flood must pass the frame budget to reach the mailbox limit.
        c.rate.visitor_frames_per_s = 1_000_000;
        c.rate.frames_burst = 1_000_000;
    })
    .await;
    let opts = ConnectOptions {
        recv_buffer: Some(4096),
        ..ts.opts()
    };
    let mut stalled = ts.counsellor_connected_with("maja", &opts).await;
    stalled
        .send(&duty(1, ts.shift("maja").bundle().clone()))
        .await
        .unwrap();
    let mut v = ts.visitor().await;
    join(&mut v, "da/exit").await;
    let conv = offer(&mut stalled).await;
    stalled
        .send(&CounsellorFrame::Accept { conv })
        .await
        .unwrap();
    assigned(&mut v).await;
    let m: lyt::protocol::Blob = "A".repeat(16_000).parse().unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m: m.clone() })
        .await
        .unwrap();
    // 24 MB to a reader with a tiny receive buffer that never reads: the server's writes
    // stall and the mailbox fills.
    for n in 0..1_500 {
        v.send(&VisitorFrame::Data {
            conv,
            n,
            m: m.clone(),
        })
        .await
        .unwrap();
    }
    let metrics_url = format!("http://{}/metrics", ts.server.internal_addr);
    let mut overflowed = false;
    for _ in 0..100 {
        let metrics = reqwest::get(&metrics_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("lyt_mailbox_overflows_total 1") {
            overflowed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let metrics = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        overflowed,
        "the stalled counsellor was cut off and counted:\n{metrics}"
    );
    loop {
        match v.frame(WAIT).await.unwrap() {
            ServerFrame::Queued { position, .. } => {
                assert_eq!(position, 1);
                break;
            }
            ServerFrame::Error { .. } => {} // data sent after the counsellor was gone
            ServerFrame::Stored { .. } => {} // the relay acknowledging what it kept
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// A connection that sends nothing, not even a pong, is closed after the idle timeout.
#[tokio::test]
async fn idle_connection_is_closed() {
    let ts = start(|c| {
        c.limits.ping_s = 1;
        c.limits.idle_s = 2;
    })
    .await;
    let mut silent = ts.visitor().await;
    let mut lively = ts.visitor().await;
    // The client library answers pings only while it reads: `lively` reads (and so pongs)
    // for longer than the idle timeout, `silent` does not.
    let read = tokio::time::timeout(std::time::Duration::from_secs(3), lively.next()).await;
    assert!(
        read.is_err(),
        "nothing but pings arrives for a waiting client"
    );
    assert_eq!(
        join(&mut lively, "da/exit").await,
        1,
        "an answering client stays connected"
    );
    // The server closed `silent` (1000 "idle timeout"); the client sees the close frame or,
    // having tried to answer the queued pings on a closed socket, a reset.
    let closed = silent.closed(WAIT).await.unwrap();
    assert!(
        matches!(closed, None | Some((close::NORMAL, _))),
        "{closed:?}"
    );
    let more = tokio::time::timeout(WAIT, silent.send_text(r#"{"t":"leave"}"#))
        .await
        .unwrap();
    assert!(more.is_err(), "the silent connection is gone");
}

/// A client that trickles its request headers (slowloris) is cut off after the header-read
/// timeout, while a normal request on another connection is served meanwhile.
#[tokio::test]
async fn slow_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let ts = start(|c| c.limits.header_read_timeout_s = 1).await;
    let mut slow = tokio::net::TcpStream::connect(ts.server.public_addr)
        .await
        .unwrap();
    slow.write_all(b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let status = reqwest::get(format!("{}/v1/status", ts.http))
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        slow.read_to_end(&mut buf),
    )
    .await;
    assert!(read.is_ok(), "the slow connection was still open after 5 s");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        buf.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected answer: {text}"
    );
}
