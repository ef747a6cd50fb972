//! Telephone counselling: the office directory lists the phone desk; a visitor's callback
//! request sealed to it is stored as ciphertext only, listed to counsellors, opened only with
//! the desk's key, and deleted when done.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::crypto::{self, OfficeKind, open_callback, seal_callback, verify_office_cert};
use lyt::protocol::{ConvId, CounsellorFrame, ErrorCode, ServerFrame, VisitorFrame};

const CANARY_PHONE: &str = "+45 12 34 56 78";

/// The demo phone desk is in `GET /v1/offices`, and its certificate chains to the demo root.
async fn desk_pub(ts: &TestServer) -> [u8; 32] {
    let body: serde_json::Value = reqwest::get(format!("{}/v1/offices", ts.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let desk = body["offices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "phone_desk")
        .expect("a phone desk");
    let cert = crypto::b64_decode(desk["cert"].as_str().unwrap(), "cert").unwrap();
    let office = verify_office_cert(&ts.demo.org_root_pub, &cert, now()).unwrap();
    assert_eq!(office.kind, OfficeKind::PhoneDesk);
    assert_eq!(desk["id"], office.office_id);
    office.recipient_pub
}

/// A sealed request reaches counsellors as ciphertext, opens with the desk key only, and is
/// gone from the server once marked done.
async fn callback_request_round_trip(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let recipient = desk_pub(&ts).await;
    let mut c = ts.counsellor_connected("maja").await;

    let request = ConvId::random();
    let plaintext = format!(
        r#"{{"phone":"{CANARY_PHONE}","when":"evening","language":"da","voicemail_ok":false}}"#
    );
    let sealed = seal_callback(
        &recipient,
        &request.0,
        plaintext.as_bytes(),
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    let mut v = ts.visitor().await;
    let frame = VisitorFrame::Callback {
        queue: "da/phone".parse().unwrap(),
        id: request,
        sealed,
    };
    v.send(&frame).await.unwrap();
    assert_eq!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::CallbackReceived {
            id: request.to_string()
        }
    );
    v.send(&frame).await.unwrap();
    assert_eq!(
        error_code(&mut v).await,
        ErrorCode::Conflict,
        "one request per connection"
    );

    let ServerFrame::Callbacks { items } = c.frame(WAIT).await.unwrap() else {
        panic!("callbacks")
    };
    assert_eq!(items.len(), 1);
    let state = format!("{:?}", ts.server.relay());
    assert!(
        !state.contains(CANARY_PHONE) && !state.contains("evening"),
        "only ciphertext is held"
    );
    let desk = lyt::demo::phone_desk(&ts.demo.dir).unwrap();
    let opened = open_callback(&desk, &request.0, &items[0].sealed).unwrap();
    assert_eq!(opened.as_slice(), plaintext.as_bytes());
    let wrong = crypto::StaticKey::generate(&mut rand::rngs::OsRng);
    assert!(open_callback(&wrong, &request.0, &items[0].sealed).is_err());

    c.send(&CounsellorFrame::CallbackDone {
        id: items[0].id.clone(),
        tags: Default::default(),
    })
    .await
    .unwrap();
    assert_eq!(
        c.frame(WAIT).await.unwrap(),
        ServerFrame::Callbacks { items: vec![] }
    );
    c.send(&CounsellorFrame::CallbackDone {
        id: items[0].id.clone(),
        tags: Default::default(),
    })
    .await
    .unwrap();
    assert_eq!(error_code(&mut c).await, ErrorCode::NotFound);
}

/// Unknown phone queues, oversize envelopes and a full list are refused; a request is kept
/// for its whole lifetime (a day, on virtual time), then disappears.
async fn callback_limits(b: Backend) {
    let ts = start_virtual(b, |c| c.limits.max_callbacks = 1).await;
    let recipient = desk_pub(&ts).await;
    let mut c = ts.counsellor_connected("maja").await;
    let seal = |id: &ConvId, len: usize| {
        seal_callback(&recipient, &id.0, &vec![b'x'; len], &mut rand::rngs::OsRng).unwrap()
    };
    let mut v = ts.visitor().await;
    let id = ConvId::random();
    v.send(&VisitorFrame::Callback {
        queue: "xx/phone".parse().unwrap(),
        id,
        sealed: seal(&id, 10),
    })
    .await
    .unwrap();
    assert_eq!(error_code(&mut v).await, ErrorCode::UnknownQueue);
    v.send(&VisitorFrame::Callback {
        queue: "da/phone".parse().unwrap(),
        id,
        sealed: seal(&id, 4000),
    })
    .await
    .unwrap();
    assert_eq!(error_code(&mut v).await, ErrorCode::TooLarge);
    v.send(&VisitorFrame::Callback {
        queue: "en/phone".parse().unwrap(),
        id,
        sealed: seal(&id, 100),
    })
    .await
    .unwrap();
    assert!(matches!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::CallbackReceived { .. }
    ));
    let mut other = ts.visitor().await;
    let id2 = ConvId::random();
    other
        .send(&VisitorFrame::Callback {
            queue: "da/phone".parse().unwrap(),
            id: id2,
            sealed: seal(&id2, 100),
        })
        .await
        .unwrap();
    assert_eq!(error_code(&mut other).await, ErrorCode::QueueFull);

    let ServerFrame::Callbacks { items } = c.frame(WAIT).await.unwrap() else {
        panic!("callbacks")
    };
    assert_eq!(items.len(), 1);
    let day = std::time::Duration::from_secs(24 * 3600);
    ts.pass(day - std::time::Duration::from_secs(1)).await;
    no_frame_for(&mut c, 100).await;
    // At its TTL the request is deleted and the list sent again.
    ts.pass(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        c.frame(WAIT).await.unwrap(),
        ServerFrame::Callbacks { items: vec![] },
        "expired"
    );
}

on_every_backend!(callback_request_round_trip, callback_limits,);
