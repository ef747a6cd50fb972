//! A dropped visitor connection resumes in the same tab with no message lost or shown twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::client::WsClient;
use lyt::client::e2e::{Chat, VisitorHandshake};
use lyt::client::outbox::Outbox;
use lyt::crypto::AppMessage;
use lyt::protocol::{ConvId, CounsellorFrame, ErrorCode, ServerFrame, VisitorFrame, close};

fn text(body: &str) -> AppMessage {
    AppMessage::Text {
        body: body.into(),
        ts: 0,
    }
}

async fn counsellor_says(c: &mut Counsellor, chat: &mut Chat, body: &str) {
    let (n, m) = chat.seal(&text(body)).unwrap();
    c.send(&CounsellorFrame::Data {
        conv: chat.conv(),
        n,
        m,
    })
    .await
    .unwrap();
}

/// Receives one data frame and decrypts it; returns its counter and message.
async fn receive(v: &mut WsClient, chat: &mut Chat) -> (u64, AppMessage) {
    match v.frame(WAIT).await.unwrap() {
        ServerFrame::Data { n, m, .. } => (n, chat.open(n, &m).unwrap().expect("not a replay")),
        other => panic!("expected data, got {other:?}"),
    }
}

/// Resumes `conv` on a new connection; returns it and what the relay has of the visitor's
/// frames (`resumed.have`).
async fn resume(
    ts: &TestServer,
    token: &str,
    conv: ConvId,
    upto: Option<u64>,
) -> (WsClient, Option<u64>) {
    let mut v = ts.visitor().await;
    v.send(&VisitorFrame::Resume {
        token: token.into(),
        conv,
        upto,
    })
    .await
    .unwrap();
    match v.frame(WAIT).await.unwrap() {
        ServerFrame::Resumed { conv: got, have } => {
            assert_eq!(got, conv);
            (v, have)
        }
        other => panic!("expected resumed, got {other:?}"),
    }
}

/// A visitor (with its resume token) and a counsellor whose chat is secured: the handshake
/// went through the relay and the visitor's `hello` (counter 0) reached the counsellor.
async fn secured_with_token(ts: &TestServer) -> (WsClient, Counsellor, Chat, Chat, String) {
    let mut c = ts.counsellor("maja", 1).await;
    let mut v = ts.visitor().await;
    let (_, token) = join_with_token(&mut v, "da/exit").await;
    let conv = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    let ServerFrame::Assigned { bundle, .. } = v.frame(WAIT).await.unwrap() else {
        panic!()
    };
    let (hs, m) = VisitorHandshake::start(&ts.demo.org_root_pub, conv, &bundle, now()).unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m }).await.unwrap();
    let ServerFrame::Hs1 { m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!()
    };
    let (mut c_chat, m) = c.shift.accept(conv, &m).unwrap();
    c.send(&CounsellorFrame::Hs2 { conv, m }).await.unwrap();
    let ServerFrame::Hs2 { m, .. } = v.frame(WAIT).await.unwrap() else {
        panic!()
    };
    let mut v_chat = hs.finish(&m).unwrap();
    let (n, m) = v_chat.seal(&AppMessage::Hello {}).unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!()
    };
    assert_eq!(c_chat.open(n, &m).unwrap(), Some(AppMessage::Hello {}));
    (v, c, v_chat, c_chat, token)
}

/// A live encrypted chat survives a dropped visitor connection: what the counsellor sent
/// meanwhile (and the one message the visitor had not acknowledged) arrives exactly once
/// after `resume`, and the chat goes on both ways with the same keys.
async fn live_chat_resumes_without_loss_or_duplicates(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, mut c, mut v_chat, mut c_chat, token) = secured_with_token(&ts).await;
    let conv = v_chat.conv();

    counsellor_says(&mut c, &mut c_chat, "one").await;
    counsellor_says(&mut c, &mut c_chat, "two").await;
    assert_eq!(receive(&mut v, &mut v_chat).await, (0, text("one")));
    assert_eq!(receive(&mut v, &mut v_chat).await, (1, text("two")));
    v.send(&VisitorFrame::Ack { conv, upto: 0 }).await.unwrap();
    v.close().await.unwrap();
    let ServerFrame::Peer { state, .. } = c.frame(WAIT).await.unwrap() else {
        panic!("peer")
    };
    assert_eq!(state, lyt::protocol::PeerState::Away);

    counsellor_says(&mut c, &mut c_chat, "three").await;
    counsellor_says(&mut c, &mut c_chat, "four").await;
    // The visitor received up to counter 1 ("two") though it only acknowledged 0.
    let (mut v, _) = resume(&ts, &token, conv, Some(1)).await;
    assert_eq!(receive(&mut v, &mut v_chat).await, (2, text("three")));
    assert_eq!(receive(&mut v, &mut v_chat).await, (3, text("four")));
    let ServerFrame::Peer { state, .. } = c.frame(WAIT).await.unwrap() else {
        panic!("peer")
    };
    assert_eq!(state, lyt::protocol::PeerState::Back);

    let (n, m) = v_chat.seal(&text("still here")).unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    let ServerFrame::Data { n, m, .. } = c.frame(WAIT).await.unwrap() else {
        panic!()
    };
    assert_eq!(c_chat.open(n, &m).unwrap(), Some(text("still here")));
    counsellor_says(&mut c, &mut c_chat, "five").await;
    assert_eq!(receive(&mut v, &mut v_chat).await, (4, text("five")));
}

/// The next `count` messages the counsellor decrypts, skipping `peer` frames and replays of
/// counters it already has (a receiver drops those).
async fn counsellor_gets(c: &mut Counsellor, chat: &mut Chat, count: usize) -> Vec<AppMessage> {
    let mut out = Vec::new();
    while out.len() < count {
        match c.frame(WAIT).await.unwrap() {
            ServerFrame::Data { n, m, .. } => out.extend(chat.open(n, &m).unwrap()),
            ServerFrame::Peer { .. } => {}
            other => panic!("expected data, got {other:?}"),
        }
    }
    out
}

/// Nothing is lost in a drop (docs/protocol.md, "Nothing lost"): the relay acknowledges
/// every 16th frame with `stored`; frames a visitor sent as its connection dropped, which
/// never reached the relay, go again after `resume` — the relay says what it has in
/// `resumed{have}` — and reach the counsellor once, in order, with the same keys; a frame
/// sent twice is dropped by the receiver.
async fn frames_lost_in_a_drop_are_sent_again(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let (mut v, mut c, mut v_chat, mut c_chat, token) = secured_with_token(&ts).await;
    let conv = v_chat.conv();
    let mut outbox = Outbox::new();
    outbox.new_epoch(conv);
    // Hello was counter 0; texts 1..=15 make 16 frames, the 16th acknowledged with `stored`.
    let mut sent = Vec::new();
    for i in 1..16 {
        let msg = text(&format!("m{i}"));
        let (n, m) = v_chat.seal(&msg).unwrap();
        outbox.sent(n, m.clone());
        v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
        sent.push(msg);
    }
    assert_eq!(counsellor_gets(&mut c, &mut c_chat, 15).await, sent);
    assert_eq!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Stored { conv, upto: 15 }
    );
    outbox.have(conv, 15);
    assert!(outbox.is_empty());
    // Two frames written as the connection dropped: they never reach the relay.
    for body in ["lost a", "lost b"] {
        let (n, m) = v_chat.seal(&text(body)).unwrap();
        outbox.sent(n, m);
    }
    drop(v);
    let (mut v, have) = resume(&ts, &token, conv, None).await;
    assert_eq!(have, Some(15), "the relay has up to 15");
    let again = outbox.resend(conv, have);
    assert_eq!(again.len(), 2);
    for f in again.iter().chain(again.last()) {
        // The last one twice: a receiver drops a counter it already has.
        v.send(f).await.unwrap();
    }
    let (n, m) = v_chat.seal(&text("after")).unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    assert_eq!(
        counsellor_gets(&mut c, &mut c_chat, 3).await,
        [text("lost a"), text("lost b"), text("after")]
    );
    no_frame_for(&mut c.ws, 300).await;
}

/// A visitor who drops while waiting keeps their place but is not offered while away;
/// resuming gives back their position and they are offered as usual.
async fn queued_visitor_keeps_their_place(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let mut first = ts.visitor().await;
    let (_, token) = join_with_token(&mut first, "da/exit").await;
    let mut second = ts.visitor().await;
    assert_eq!(join(&mut second, "da/exit").await, 2);
    first.close().await.unwrap();

    // A counsellor arriving now is offered the second visitor: the first is away.
    let mut c = ts.counsellor("maja", 1).await;
    let offered = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv: offered })
        .await
        .unwrap();
    assert_eq!(assigned(&mut second).await, offered);

    let conv = ts.waiting_conversations().await;
    assert_eq!(conv.len(), 1, "the first visitor's conversation waits");
    let (mut first, _) = resume(&ts, &token, conv[0], None).await;
    match first.frame(WAIT).await.unwrap() {
        ServerFrame::Queued {
            position, resume, ..
        } => assert_eq!((position, resume), (1, token)),
        other => panic!("expected queued, got {other:?}"),
    }
    c.send(&CounsellorFrame::End {
        conv: offered,
        tags: Default::default(),
    })
    .await
    .unwrap();
    assert_eq!(ended(&mut c).await, "counsellor_ended");
    assert_eq!(offer(&mut c).await, conv[0]);
}

/// A wrong token is refused with `resume_expired` and changes nothing; the right token on a
/// second connection takes over from a first one that is still open (closed with 1008);
/// after the resume window (10 minutes, on virtual time) the conversation is gone.
async fn resume_is_checked(b: Backend) {
    let ts = start_virtual(b, |_| {}).await;
    let mut v = ts.visitor().await;
    let (_, token) = join_with_token(&mut v, "da/exit").await;
    let conv = ts.waiting_conversations().await[0];

    let mut intruder = ts.visitor().await;
    let guess = VisitorFrame::Resume {
        token: "guess".into(),
        conv,
        upto: None,
    };
    intruder.send(&guess).await.unwrap();
    assert_eq!(error_code(&mut intruder).await, ErrorCode::ResumeExpired);

    let (mut second, _) = resume(&ts, &token, conv, None).await;
    assert!(matches!(
        second.frame(WAIT).await.unwrap(),
        ServerFrame::Queued { position: 1, .. }
    ));
    assert_eq!(
        v.closed(WAIT).await.unwrap().map(|(code, _)| code),
        Some(close::POLICY)
    );

    second.close().await.unwrap();
    ts.until_visitors_here(1).await;
    ts.pass(std::time::Duration::from_secs(599)).await;
    assert_eq!(ts.conversations().await, 1, "within the window");
    ts.pass(std::time::Duration::from_secs(1)).await;
    assert_eq!(ts.conversations().await, 0, "the window passed");
    let mut late = ts.visitor().await;
    late.send(&VisitorFrame::Resume {
        token,
        conv,
        upto: None,
    })
    .await
    .unwrap();
    assert_eq!(error_code(&mut late).await, ErrorCode::ResumeExpired);
}

on_every_backend!(
    live_chat_resumes_without_loss_or_duplicates,
    frames_lost_in_a_drop_are_sent_again,
    queued_visitor_keeps_their_place,
    resume_is_checked,
);
