//! End to end through the relay: bundles are checked on duty and by the visitor, the relay
//! holds only ciphertext, and tampering ends the conversation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::client::e2e::{CounsellorIdentity, VisitorHandshake};
use lyt::crypto::{AppMessage, IdentityKey, Role, issue_id_cert};
use lyt::protocol::{CounsellorFrame, ErrorCode, ServerFrame, VisitorFrame};

const CANARY: &str = "CANARY-7c1e please help me leave";

/// Canary plaintext sent through the relay appears nowhere in its state: not in the hub or
/// the in-memory store, not in the metrics, while the chat is live (on every backend; on
/// Redis `tests/canary.rs` also searches a dump of every key).
async fn relay_state_never_holds_plaintext(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, mut c, mut v_chat, mut c_chat) = encrypted_pair(&ts, "maja").await;
    let conv = v_chat.conv();
    let (n, m) = v_chat
        .seal(&AppMessage::Text {
            body: CANARY.into(),
            ts: 1,
        })
        .unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!("data")
    };
    assert!(
        !m.as_str()
            .contains(&lyt::crypto::b64_encode(CANARY.as_bytes())[..16])
    );
    assert_eq!(
        c_chat.open(n, &m).unwrap(),
        Some(AppMessage::Text {
            body: CANARY.into(),
            ts: 1
        })
    );

    let state = format!("{:?}", ts.server.relay());
    assert!(
        state.contains(&conv.to_string()),
        "the dump shows the live conversation"
    );
    let internal = format!("http://{}/metrics", ts.server.internal_addr);
    let metrics = reqwest::get(internal).await.unwrap().text().await.unwrap();
    for dump in [&state, &metrics] {
        assert!(!dump.contains("CANARY"), "plaintext in relay state");
    }
}

/// A bundle that is not the logged-in account's, or not signed by the organisation, is
/// refused on duty with `forbidden`, and no visitor is routed to it.
#[tokio::test]
async fn duty_requires_this_accounts_valid_bundle() {
    let ts = start(|_| {}).await;
    let mut maja = ts.counsellor_connected("maja").await;
    maja.send(&duty(1, ts.shift("ali").bundle().clone()))
        .await
        .unwrap();
    assert_eq!(error_code(&mut maja).await, ErrorCode::Forbidden);

    let rogue_root = IdentityKey::generate(&mut rand::rngs::OsRng);
    let key = IdentityKey::generate(&mut rand::rngs::OsRng);
    let cert = issue_id_cert(
        &rogue_root,
        Role::Counsellor,
        "Maja",
        &key.public(),
        now() - 60,
        now() + 3600,
        1,
    )
    .unwrap();
    let rogue = CounsellorIdentity::new(key, cert)
        .start_shift(now())
        .unwrap();
    maja.send(&duty(1, rogue.bundle().clone())).await.unwrap();
    assert_eq!(error_code(&mut maja).await, ErrorCode::Forbidden);

    maja.send(&duty(1, junk_bundle())).await.unwrap();
    assert_eq!(error_code(&mut maja).await, ErrorCode::Forbidden);

    let mut v = ts.visitor().await;
    join(&mut v, "da/exit").await;
    let no_offer =
        tokio::time::timeout(std::time::Duration::from_millis(300), maja.frame(WAIT)).await;
    assert!(no_offer.is_err(), "nobody is on duty");
    maja.send(&duty(1, ts.shift("maja").bundle().clone()))
        .await
        .unwrap();
    offer(&mut maja).await;
}

/// A visitor who pins another organisation's root refuses the relayed bundle before any
/// handshake, so a relay cannot substitute a counsellor.
#[tokio::test]
async fn visitor_refuses_a_bundle_from_another_root() {
    let ts = start(|_| {}).await;
    let (mut v, _c, conv) = live_pair(&ts, "maja").await;
    let _ = &mut v;
    let other_root = IdentityKey::generate(&mut rand::rngs::OsRng).public();
    let bundle = ts.shift("maja").bundle().clone();
    assert!(VisitorHandshake::start(&other_root, conv, &bundle, now()).is_err());
    assert!(VisitorHandshake::start(&ts.demo.org_root_pub, conv, &bundle, now()).is_ok());
}

/// A data frame altered in transit is refused by the receiver: the conversation must end.
#[tokio::test]
async fn tampered_data_is_refused() {
    let ts = start(|_| {}).await;
    let (mut v, mut c, mut v_chat, mut c_chat) = encrypted_pair(&ts, "maja").await;
    let conv = v_chat.conv();
    let (n, m) = v_chat
        .seal(&AppMessage::Text {
            body: "hi".into(),
            ts: 2,
        })
        .unwrap();
    let mut bytes = lyt::crypto::b64_decode(m.as_str(), "m").unwrap();
    bytes[0] ^= 1;
    let m = lyt::crypto::b64_encode(&bytes).parse().unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!("data")
    };
    assert!(c_chat.open(n, &m).is_err());
    c.send(&CounsellorFrame::End {
        conv,
        tags: Default::default(),
    })
    .await
    .unwrap();
    assert_eq!(ended(&mut v).await, "counsellor_ended");
}

on_every_backend!(relay_state_never_holds_plaintext);
