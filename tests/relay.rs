//! The relay flow over real WebSockets: join, offer, accept, handshake and data relayed in
//! order, end; capacity and waiting; decline and expiry; shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use lyt::crypto::AppMessage;
use lyt::protocol::{
    ConvId, CounsellorFrame, ServerFrame, Tags, TransferTarget, VisitorFrame, close,
};

fn blob(bytes: &[u8]) -> lyt::protocol::Blob {
    URL_SAFE_NO_PAD.encode(bytes).parse().unwrap()
}

/// The opaque bytes of message `i` from `side`.
fn payload(side: &str, i: u64) -> Vec<u8> {
    format!("{side} message {i}").into_bytes()
}

async fn expect_data(c: &mut lyt::client::WsClient, conv: ConvId, n: u64, bytes: &[u8]) {
    match c.frame(WAIT).await.unwrap() {
        ServerFrame::Data {
            conv: got,
            n: got_n,
            m,
        } => {
            assert_eq!((got, got_n), (conv, n));
            assert_eq!(URL_SAFE_NO_PAD.decode(m.as_str()).unwrap(), bytes);
        }
        other => panic!("expected data {n}, got {other:?}"),
    }
}

/// A visitor and a demo counsellor chat end to end: after the handshake through the relay,
/// 100 encrypted messages each way arrive in order and decrypt to what was sent; the
/// counsellor ends, both get `ended`, and nothing of the chat remains.
async fn encrypted_chat_in_order_and_leaves_nothing(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, mut c, mut v_chat, mut c_chat) = encrypted_pair(&ts, "maja").await;
    let conv = v_chat.conv();
    let text = |side: &str, i: u64| AppMessage::Text {
        body: format!("{side} says {i}"),
        ts: i,
    };
    for i in 0..100 {
        let (n, m) = v_chat.seal(&text("visitor", i)).unwrap();
        v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
        let (n, m) = c_chat.seal(&text("counsellor", i)).unwrap();
        c.send(&CounsellorFrame::Data { conv, n, m }).await.unwrap();
    }
    for i in 0..100 {
        let (n, m) = next_data(&mut c).await;
        assert_eq!(c_chat.open(n, &m).unwrap(), Some(text("visitor", i)));
        let (n, m) = next_data(&mut v).await;
        assert_eq!(v_chat.open(n, &m).unwrap(), Some(text("counsellor", i)));
    }
    v.send(&VisitorFrame::Ack { conv, upto: 99 }).await.unwrap();

    c.send(&CounsellorFrame::End {
        conv,
        tags: Tags::default(),
    })
    .await
    .unwrap();
    assert_eq!(ended(&mut v).await, "counsellor_ended");
    assert_eq!(ended(&mut c).await, "counsellor_ended");
    assert_eq!(ts.conversations().await, 0);
}

/// The relay forwards `hs1`, `hs2` and `data` verbatim: opaque payloads arrive unchanged.
async fn frames_are_relayed_verbatim(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, mut c, conv) = live_pair(&ts, "maja").await;
    v.send(&VisitorFrame::Hs1 {
        conv,
        m: blob(b"noise message 1"),
    })
    .await
    .unwrap();
    match c.frame(WAIT).await.unwrap() {
        ServerFrame::Hs1 { conv: got, m } => assert_eq!((got, m), (conv, blob(b"noise message 1"))),
        other => panic!("expected hs1, got {other:?}"),
    }
    c.send(&CounsellorFrame::Hs2 {
        conv,
        m: blob(b"noise message 2"),
    })
    .await
    .unwrap();
    assert!(matches!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Hs2 { .. }
    ));
    for n in 0..10 {
        v.send(&VisitorFrame::Data {
            conv,
            n,
            m: blob(&payload("visitor", n)),
        })
        .await
        .unwrap();
        c.send(&CounsellorFrame::Data {
            conv,
            n,
            m: blob(&payload("counsellor", n)),
        })
        .await
        .unwrap();
    }
    for n in 0..10 {
        expect_data(&mut c, conv, n, &payload("visitor", n)).await;
        expect_data(&mut v, conv, n, &payload("counsellor", n)).await;
    }
    // A payload at the limit (22,000 base64url characters) is many times the relay's 1 KiB
    // read buffer: read whole, relayed whole, in both directions.
    let largest: Vec<u8> = (0..lyt::protocol::MAX_BLOB_CHARS / 4 * 3)
        .map(|i| (i % 251) as u8)
        .collect();
    assert_eq!(
        URL_SAFE_NO_PAD.encode(&largest).len(),
        lyt::protocol::MAX_BLOB_CHARS
    );
    v.send(&VisitorFrame::Data {
        conv,
        n: 10,
        m: blob(&largest),
    })
    .await
    .unwrap();
    c.send(&CounsellorFrame::Data {
        conv,
        n: 10,
        m: blob(&largest),
    })
    .await
    .unwrap();
    expect_data(&mut c, conv, 10, &largest).await;
    expect_data(&mut v, conv, 10, &largest).await;
}

/// When the visitor leaves, the counsellor gets `ended{visitor_left}` and the state is gone;
/// the same visitor connection can join again.
async fn visitor_leaves_and_can_join_again(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, mut c, _) = live_pair(&ts, "maja").await;
    v.send(&VisitorFrame::Leave {}).await.unwrap();
    assert_eq!(ended(&mut c).await, "visitor_left");
    assert_eq!(ended(&mut v).await, "visitor_left");
    assert_eq!(ts.conversations().await, 0);
    assert_eq!(join(&mut v, "en/any").await, 1);
    offer(&mut c).await;
}

/// A visitor whose connection drops is shown to the counsellor as away; the chat waits for
/// a resume for the whole resume window (10 minutes, on virtual time), then ends and nothing
/// of it remains.
async fn visitor_disconnect_ends_the_chat_after_the_resume_window(b: Backend) {
    let ts = start_virtual(b, |_| {}).await;
    let (v, mut c, conv) = live_pair(&ts, "maja").await;
    v.close().await.unwrap();
    match c.frame(WAIT).await.unwrap() {
        ServerFrame::Peer { conv: got, state } => {
            assert_eq!((got, state), (conv, lyt::protocol::PeerState::Away))
        }
        other => panic!("expected peer away, got {other:?}"),
    }
    ts.pass(Duration::from_secs(599)).await;
    no_frame_for(&mut c, 100).await;
    assert_eq!(ts.conversations().await, 1, "the visitor can still resume");
    ts.pass(Duration::from_secs(1)).await;
    assert_eq!(ended(&mut c).await, "visitor_left");
    assert_eq!(ts.conversations().await, 0);
}

/// With a counsellor of capacity 1, the second visitor waits with position 1 and is
/// offered as soon as the first chat ends.
async fn second_visitor_waits_for_capacity(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let mut c = ts.counsellor("maja", 1).await;
    let mut v1 = ts.visitor().await;
    join(&mut v1, "da/exit").await;
    let conv1 = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv: conv1 })
        .await
        .unwrap();
    assigned(&mut v1).await;

    let mut v2 = ts.visitor().await;
    assert_eq!(join(&mut v2, "da/health").await, 1);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), c.frame(WAIT))
            .await
            .is_err(),
        "no offer while at capacity"
    );
    c.send(&CounsellorFrame::End {
        conv: conv1,
        tags: Tags::default(),
    })
    .await
    .unwrap();
    assert_eq!(ended(&mut c).await, "counsellor_ended");
    let conv2 = offer(&mut c).await;
    assert_ne!(conv1, conv2);
    c.send(&CounsellorFrame::Accept { conv: conv2 })
        .await
        .unwrap();
    assert_eq!(assigned(&mut v2).await, conv2);
}

/// Positions are pushed: the second in line moves to position 1 when the first is served.
async fn positions_are_pushed(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let mut v1 = ts.visitor().await;
    let mut v2 = ts.visitor().await;
    assert_eq!(join(&mut v1, "da/exit").await, 1);
    assert_eq!(join(&mut v2, "da/exit").await, 2);
    v1.send(&VisitorFrame::Leave {}).await.unwrap();
    match v2.frame(WAIT).await.unwrap() {
        ServerFrame::Queued { position, .. } => assert_eq!(position, 1),
        other => panic!("expected queued, got {other:?}"),
    }
}

/// A decline moves the visitor on to the next counsellor.
async fn decline_moves_on(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let mut maja = ts.counsellor("maja", 1).await;
    let mut v = ts.visitor().await;
    join(&mut v, "da/exit").await;
    let conv = offer(&mut maja).await;
    let mut ali = ts.counsellor("ali", 1).await;
    maja.send(&CounsellorFrame::Decline { conv }).await.unwrap();
    assert_eq!(offer(&mut ali).await, conv);
    ali.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    match v.frame(WAIT).await.unwrap() {
        ServerFrame::Assigned { alias, .. } => assert_eq!(alias, "Ali"),
        other => panic!("expected assigned, got {other:?}"),
    }
    maja.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assert_eq!(
        error_code(&mut maja).await,
        lyt::protocol::ErrorCode::Conflict
    );
}

/// An offer that expires (30 s, on virtual time) is withdrawn from that counsellor and made
/// to the next one; until then it stays.
async fn expired_offer_moves_on(b: Backend) {
    let ts = start_virtual(b, |_| {}).await;
    let mut maja = ts.counsellor("maja", 1).await;
    let mut v = ts.visitor().await;
    join(&mut v, "da/exit").await;
    let conv = offer(&mut maja).await;
    let mut ali = ts.counsellor("ali", 1).await;
    ts.pass(Duration::from_secs(29)).await;
    no_frame_for(&mut maja, 100).await;
    no_frame_for(&mut ali, 100).await;
    ts.pass(Duration::from_secs(1)).await;
    assert_eq!(ended(&mut maja).await, "offer_expired");
    assert_eq!(offer(&mut ali).await, conv);
}

/// A counsellor transfers a live chat to a queue: they get `ended{transferred}`, the visitor
/// is queued at the front, and a colleague is offered the visitor.
async fn transfer_to_queue(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, mut maja, conv) = live_pair(&ts, "maja").await;
    let mut ali = ts.counsellor("ali", 1).await;
    let to = TransferTarget {
        queue: Some("en/any".parse().unwrap()),
        alias: None,
    };
    maja.send(&CounsellorFrame::Transfer { conv, to })
        .await
        .unwrap();
    assert_eq!(ended(&mut maja).await, "transferred");
    assert_eq!(offer(&mut ali).await, conv);
    assert!(matches!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Queued { position: 1, .. }
    ));
}

/// A counsellor who goes away and does not come back within the reconnect window (a minute,
/// on virtual time): the visitor is told they are away, then the chat returns to the front of
/// the queue.
async fn lost_counsellor_requeues_the_visitor(b: Backend) {
    let ts = start_virtual(b, |_| {}).await;
    let (mut v, maja, conv) = live_pair(&ts, "maja").await;
    maja.ws.close().await.unwrap();
    assert_eq!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Peer {
            conv,
            state: lyt::protocol::PeerState::Away
        }
    );
    ts.pass(Duration::from_secs(59)).await;
    no_frame_for(&mut v, 100).await;
    ts.pass(Duration::from_secs(1)).await;
    assert!(matches!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Queued { position: 1, .. }
    ));
    let mut ali = ts.counsellor("ali", 1).await;
    assert_eq!(offer(&mut ali).await, conv);
    ali.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assert_eq!(assigned(&mut v).await, conv);
}

/// On shutdown every open socket receives close 1001 and the server stops.
async fn graceful_shutdown_closes_with_1001(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, mut c, _) = live_pair(&ts, "maja").await;
    let mut idle = ts.visitor().await;
    ts.server.shutdown();
    for ws in [&mut v, &mut c, &mut idle] {
        let code = ws.closed(WAIT).await.unwrap().map(|(code, _)| code);
        assert_eq!(code, Some(close::GOING_AWAY));
    }
    tokio::time::timeout(WAIT, ts.server.wait())
        .await
        .expect("serve returns");
}

/// The queue limit counts every visitor still waiting, those with a pending offer too: with
/// room for one, a second visitor is refused with `queue_full` while the first is offered.
async fn queue_limit_counts_visitors_with_an_offer(b: Backend) {
    let ts = start_on(b, |c| c.limits.max_queue_len = 1).await;
    let mut c = ts.counsellor("maja", 1).await;
    let mut v1 = ts.visitor().await;
    join(&mut v1, "da/exit").await;
    offer(&mut c).await;
    let mut v2 = ts.visitor().await;
    v2.send(&VisitorFrame::Join {
        queue: "da/exit".parse().unwrap(),
    })
    .await
    .unwrap();
    assert_eq!(
        error_code(&mut v2).await,
        lyt::protocol::ErrorCode::QueueFull
    );
}

/// A counsellor who transfers a chat to a queue is not offered it straight back, even as
/// the only one free; a colleague coming on duty is.
async fn transfer_is_not_offered_back(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (_v, mut maja, conv) = live_pair(&ts, "maja").await;
    let to = TransferTarget {
        queue: Some("da/exit".parse().unwrap()),
        alias: None,
    };
    maja.send(&CounsellorFrame::Transfer { conv, to })
        .await
        .unwrap();
    assert_eq!(ended(&mut maja).await, "transferred");
    let mut ali = ts.counsellor("ali", 1).await;
    assert_eq!(offer(&mut ali).await, conv);
    no_frame_for(&mut maja, 300).await;
}

on_every_backend!(
    encrypted_chat_in_order_and_leaves_nothing,
    frames_are_relayed_verbatim,
    visitor_leaves_and_can_join_again,
    visitor_disconnect_ends_the_chat_after_the_resume_window,
    second_visitor_waits_for_capacity,
    positions_are_pushed,
    decline_moves_on,
    expired_offer_moves_on,
    transfer_to_queue,
    lost_counsellor_requeues_the_visitor,
    graceful_shutdown_closes_with_1001,
    queue_limit_counts_visitors_with_an_offer,
    transfer_is_not_offered_back,
);
