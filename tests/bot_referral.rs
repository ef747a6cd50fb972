//! The demo counsellor bot makes brobygger referrals (#8): asked with "refer" or "henvis" it
//! offers one to the demo office; no seals nothing; yes with the hash of exactly that offer
//! seals `R` to the office's certified key, and the visitor gets the code with the office's
//! address and hours; the office pulls it under that code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::client::WsClient;
use lyt::client::bot::{BotEvent, BotOptions, asks_for_referral, run};
use lyt::client::e2e::{Chat, VisitorHandshake};
use lyt::client::office::{PullOptions, PullReport, pull};
use lyt::crypto::{self, AppMessage, Received};
use lyt::demo::BROBYGGER_ID;
use lyt::protocol::{ServerFrame, VisitorFrame};

async fn say(v: &mut WsClient, chat: &mut Chat, msg: &AppMessage) {
    let (n, m) = chat.seal(msg).unwrap();
    v.send(&VisitorFrame::Data {
        conv: chat.conv(),
        n,
        m,
    })
    .await
    .unwrap();
}

fn text(body: &str) -> AppMessage {
    AppMessage::Text {
        body: body.into(),
        ts: now(),
    }
}

/// The next application message from the bot that is not a read receipt or typing.
async fn next(v: &mut WsClient, chat: &mut Chat) -> Received {
    loop {
        let ServerFrame::Data { n, m, .. } = v.frame(WAIT).await.unwrap() else {
            panic!("expected data")
        };
        let received = chat.open_received(n, &m).unwrap().unwrap();
        if !matches!(
            received.message,
            AppMessage::Read { .. } | AppMessage::Typing { .. }
        ) {
            return received;
        }
    }
}

async fn pull_demo(ts: &TestServer, out: &std::path::Path) -> PullReport {
    let (key, token) = lyt::demo::brobygger(&ts.demo.dir).unwrap();
    pull(&PullOptions {
        server: &ts.http,
        office_id: BROBYGGER_ID,
        key: &key,
        token: &token,
        org_root: &ts.demo.org_root_pub,
        out_dir: out,
    })
    .await
    .unwrap()
}

/// Asks for a referral and returns the offer's fields and the hash of its exact JSON.
async fn ask(v: &mut WsClient, chat: &mut Chat, words: &str) -> (Vec<String>, [u8; 32]) {
    say(v, chat, &text(words)).await;
    assert!(
        matches!(next(v, chat).await.message, AppMessage::Text { body, .. } if body.contains("Nothing is sent unless you say yes"))
    );
    let offer = next(v, chat).await;
    let AppMessage::ReferralOffer {
        office_id,
        office_name,
        fields,
    } = offer.message
    else {
        panic!("expected an offer, got {:?}", offer.message)
    };
    assert_eq!(
        (office_id.as_str(), office_name.as_str()),
        (BROBYGGER_ID, "Brobygger København (DEMO)")
    );
    (fields, crypto::offer_hash(&offer.json))
}

/// Only "henvis" and "refer", in any case, ask for a referral.
#[test]
fn referral_words() {
    for yes in [
        "henvis mig",
        "HENVISNING",
        "Can you Refer me?",
        "a referral",
    ] {
        assert!(asks_for_referral(yes), "{yes}");
    }
    for no in ["hej", "help", "hen vis", ""] {
        assert!(!asks_for_referral(no), "{no}");
    }
}

/// No seals nothing; an answer to another offer is refused; yes seals exactly the offered
/// referral, the visitor gets the code and the office pulls it under that code.
#[tokio::test]
async fn bot_refers_on_consent() {
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
    join(&mut v, "da/exit").await;
    let ServerFrame::Assigned { conv, bundle, .. } = v.frame(WAIT).await.unwrap() else {
        panic!("expected assigned");
    };
    let (hs, m) = VisitorHandshake::start(&ts.demo.org_root_pub, conv, &bundle, now()).unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m }).await.unwrap();
    let ServerFrame::Hs2 { m, .. } = v.frame(WAIT).await.unwrap() else {
        panic!("hs2")
    };
    let mut chat = hs.finish(&m).unwrap();
    say(&mut v, &mut chat, &AppMessage::Hello {}).await;
    assert!(
        matches!(next(&mut v, &mut chat).await.message, AppMessage::Text { body, .. } if body.contains("henvis"))
    );
    let out = tempfile::tempdir().unwrap();

    // Offered: exactly what R will hold, in words.
    let (fields, hash) = ask(&mut v, &mut chat, "Kan du HENVISE mig?").await;
    assert_eq!(
        fields,
        [
            "Needs: health, social",
            "Contact: will quote the code (no phone number, no e-mail)",
            "Language: da",
            "Interpreter: no",
            "Counsellor: Ali",
        ]
    );
    // No: acknowledged kindly, nothing sealed.
    say(
        &mut v,
        &mut chat,
        &AppMessage::ReferralConsent {
            offer_hash: hash,
            yes: false,
        },
    )
    .await;
    assert!(
        matches!(next(&mut v, &mut chat).await.message, AppMessage::Text { body, .. } if body.contains("Nothing has been sent"))
    );
    assert_eq!(pull_demo(&ts, out.path()).await, PullReport::default());

    // Asked again; a yes to another offer's hash is refused and seals nothing.
    let (_, hash) = ask(&mut v, &mut chat, "please refer me").await;
    let mut wrong = hash;
    wrong[0] ^= 1;
    say(
        &mut v,
        &mut chat,
        &AppMessage::ReferralConsent {
            offer_hash: wrong,
            yes: true,
        },
    )
    .await;
    assert!(
        matches!(next(&mut v, &mut chat).await.message, AppMessage::Text { body, .. } if body.contains("nothing was sent"))
    );
    assert_eq!(pull_demo(&ts, out.path()).await, PullReport::default());

    // Yes to this offer: sealed, stored, and the code with the office's address and hours.
    say(
        &mut v,
        &mut chat,
        &AppMessage::ReferralConsent {
            offer_hash: hash,
            yes: true,
        },
    )
    .await;
    assert!(
        matches!(next(&mut v, &mut chat).await.message, AppMessage::Text { body, .. } if body.contains("sending the referral"))
    );
    let AppMessage::ReferralCode {
        code,
        office_name,
        address,
        hours,
    } = next(&mut v, &mut chat).await.message
    else {
        panic!("expected the code")
    };
    assert_eq!(
        (office_name.as_str(), address.as_str(), hours.as_str()),
        (
            "Brobygger København (DEMO)",
            "Demogade 1, 1000 København K (DEMO)",
            "Mon-Thu 10-15 (DEMO)"
        )
    );

    let report = pull_demo(&ts, out.path()).await;
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(report.saved.len(), 1);
    assert_eq!(report.saved[0].0, code);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report.saved[0].1).unwrap()).unwrap();
    let r = &saved["referral"];
    assert_eq!(r["office_id"], BROBYGGER_ID);
    assert_eq!(r["counsellor_alias"], "Ali");
    assert_eq!(r["needs"], serde_json::json!(["health", "social"]));
    assert_eq!(r["contact"], lyt::referral::WILL_QUOTE_CODE);
    assert_eq!(r["language"], "da");
    assert_eq!(r["consent"]["offer_hash"], crypto::b64_encode(&hash));

    // The bot reports each step (the last one just after sending the code).
    let mut referrals = Vec::new();
    while !matches!(referrals.last(), Some(BotEvent::ReferralStored { .. })) {
        let e = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap();
        if matches!(
            e,
            BotEvent::ReferralOffered { .. }
                | BotEvent::ReferralDeclined { .. }
                | BotEvent::ReferralStored { .. }
        ) {
            referrals.push(e);
        }
    }
    assert_eq!(
        referrals,
        [
            BotEvent::ReferralOffered { conv },
            BotEvent::ReferralDeclined { conv },
            BotEvent::ReferralOffered { conv },
            BotEvent::ReferralStored { conv },
        ]
    );
    bot.abort();
}
