//! A counsellor whose console reloads (or whose connection drops) keeps their live chats:
//! coming back on duty within the reconnect window, they re-handshake with each visitor
//! under a new shift key, and the chat goes on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::client::e2e::VisitorHandshake;
use lyt::crypto::AppMessage;
use lyt::protocol::{CounsellorFrame, ServerFrame, VisitorFrame};

/// After a reload the counsellor gets `resumed`, the visitor a new `assigned` with the new
/// shift key; a fresh handshake gives both a new safety code, and messages flow both ways.
async fn console_reload_keeps_the_chat(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, c, mut v_chat, _) = encrypted_pair(&ts, "maja").await;
    let conv = v_chat.conv();
    let old_code = v_chat.safety_code();
    c.ws.close().await.unwrap();
    assert_eq!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Peer {
            conv,
            state: lyt::protocol::PeerState::Away
        }
    );
    let (n, m) = v_chat
        .seal(&AppMessage::Text {
            body: "are you there?".into(),
            ts: 1,
        })
        .unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    assert_eq!(
        error_code(&mut v).await,
        lyt::protocol::ErrorCode::Conflict,
        "told to wait, not lost silently"
    );

    // The console reloads: a new connection and a new shift key for the same account.
    let mut c = ts.counsellor("maja", 1).await;
    assert_eq!(
        c.frame(WAIT).await.unwrap(),
        ServerFrame::Resumed { conv, have: None }
    );
    let ServerFrame::Assigned {
        conv: got,
        bundle,
        alias,
    } = v.frame(WAIT).await.unwrap()
    else {
        panic!("expected a new assigned")
    };
    assert_eq!((got, alias.as_str()), (conv, "Maja"));
    assert_eq!(&bundle, c.shift.bundle(), "the new shift key");
    let (hs, m) = VisitorHandshake::start(&ts.demo.org_root_pub, conv, &bundle, now()).unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m }).await.unwrap();
    let ServerFrame::Hs1 { m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!("hs1")
    };
    let (mut c_chat, m) = c.shift.accept(conv, &m).unwrap();
    c.send(&CounsellorFrame::Hs2 { conv, m }).await.unwrap();
    let ServerFrame::Hs2 { m, .. } = v.frame(WAIT).await.unwrap() else {
        panic!("hs2")
    };
    let mut v_chat = hs.finish(&m).unwrap();
    assert_eq!(v_chat.safety_code(), c_chat.safety_code());
    assert_ne!(v_chat.safety_code(), old_code, "a new session, a new code");

    let (n, m) = v_chat.seal(&AppMessage::Hello {}).unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!("data")
    };
    assert_eq!(c_chat.open(n, &m).unwrap(), Some(AppMessage::Hello {}));
    let reply = AppMessage::Text {
        body: "I am back".into(),
        ts: 2,
    };
    let (n, m) = c_chat.seal(&reply).unwrap();
    c.send(&CounsellorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = v.frame(WAIT).await.unwrap() else {
        panic!("data")
    };
    assert_eq!(v_chat.open(n, &m).unwrap(), Some(reply));
}

/// Another counsellor coming on duty does not get someone else's parked chat.
async fn only_the_same_account_reclaims(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, c, conv) = live_pair(&ts, "maja").await;
    c.ws.close().await.unwrap();
    assert_eq!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Peer {
            conv,
            state: lyt::protocol::PeerState::Away
        }
    );
    let mut ali = ts.counsellor("ali", 1).await;
    let nothing =
        tokio::time::timeout(std::time::Duration::from_millis(400), ali.frame(WAIT)).await;
    assert!(
        nothing.is_err(),
        "ali is not handed maja's parked chat: {nothing:?}"
    );
}

on_every_backend!(
    console_reload_keeps_the_chat,
    only_the_same_account_reclaims,
);
