//! The demo counsellor bot chats end to end with a visitor through the relay.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::client::bot::{BotEvent, BotOptions, run};
use lyt::client::e2e::VisitorHandshake;
use lyt::crypto::AppMessage;
use lyt::protocol::{ServerFrame, VisitorFrame};

/// A visitor is offered to the bot, which completes the handshake, greets, marks the
/// visitor's message read and answers it; the visitor's `bye` ends the chat.
#[tokio::test]
async fn bot_answers_a_visitor() {
    let ts = start(|_| {}).await;
    let opts = BotOptions {
        server: ts.http.clone(),
        demo_dir: ts.demo.dir.clone(),
        username: "ali".into(),
        capacity: 2,
    };
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let bot = tokio::spawn(async move { run(&opts, move |e| drop(events_tx.send(e))).await });
    let mut v = ts.visitor().await;
    join(&mut v, "en/any").await;
    let ServerFrame::Assigned {
        conv,
        bundle,
        alias,
    } = v.frame(WAIT).await.unwrap()
    else {
        panic!("expected assigned");
    };
    assert_eq!(alias, "Ali");
    let (hs, m) = VisitorHandshake::start(&ts.demo.org_root_pub, conv, &bundle, now()).unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m }).await.unwrap();
    let ServerFrame::Hs2 { m, .. } = v.frame(WAIT).await.unwrap() else {
        panic!("hs2")
    };
    let mut chat = hs.finish(&m).unwrap();
    assert!(matches!(events.recv().await.unwrap(), BotEvent::OnDuty { alias } if alias == "Ali"));
    match events.recv().await.unwrap() {
        BotEvent::ChatStarted {
            conv: c,
            safety_code,
        } => {
            assert_eq!(
                (c, safety_code),
                (conv, chat.safety_code()),
                "both sides show the same code"
            );
        }
        other => panic!("expected chat started, got {other:?}"),
    }
    let (n, m) = chat.seal(&AppMessage::Hello {}).unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();

    let next = async |v: &mut lyt::client::WsClient, chat: &mut lyt::client::e2e::Chat| {
        let ServerFrame::Data { n, m, .. } = v.frame(WAIT).await.unwrap() else {
            panic!("data")
        };
        chat.open(n, &m).unwrap().unwrap()
    };
    assert!(
        matches!(next(&mut v, &mut chat).await, AppMessage::Text { body, .. } if body.contains("Demo"))
    );
    let (n, m) = chat
        .seal(&AppMessage::Text {
            body: "hello".into(),
            ts: now(),
        })
        .unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    assert_eq!(next(&mut v, &mut chat).await, AppMessage::Read { upto: 1 });
    assert_eq!(
        next(&mut v, &mut chat).await,
        AppMessage::Typing { on: true }
    );
    assert!(
        matches!(next(&mut v, &mut chat).await, AppMessage::Text { body, .. } if body.contains("no. 1"))
    );
    let (n, m) = chat
        .seal(&AppMessage::Bye {
            reason: "done".into(),
        })
        .unwrap();
    v.send(&VisitorFrame::Data { conv, n, m }).await.unwrap();
    assert_eq!(ended(&mut v).await, "counsellor_ended");
    bot.abort();
}
