//! Routing rules over real WebSockets: priority topics, wrap-up time, missed offers putting a
//! counsellor on break, and the statistics they leave in the metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lyt::protocol::{CounsellorFrame, ServerFrame, Tags, VisitorFrame};

/// A visitor of a priority topic is offered before an older visitor of another topic.
async fn priority_topic_goes_first(b: Backend) {
    let ts = start_on(b, |c| c.routing.priority_topics = vec!["health".into()]).await;
    let mut older = ts.visitor().await;
    join(&mut older, "da/exit").await;
    let mut urgent = ts.visitor().await;
    assert_eq!(join(&mut urgent, "da/health").await, 1);
    let mut c = ts.counsellor("maja", 1).await;
    let conv = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assert_eq!(assigned(&mut urgent).await, conv);
}

/// After a chat ends the counsellor gets the wrap-up time (two minutes, on virtual time)
/// before the next offer.
async fn wrap_up_delays_the_next_offer(b: Backend) {
    let ts = start_virtual(b, |c| c.routing.wrap_up_s = 120).await;
    let (_v, mut c, conv) = live_pair(&ts, "maja").await;
    let mut next = ts.visitor().await;
    join(&mut next, "da/exit").await;
    c.send(&CounsellorFrame::End {
        conv,
        tags: Tags::default(),
    })
    .await
    .unwrap();
    assert_eq!(ended(&mut c).await, "counsellor_ended");
    ts.pass(std::time::Duration::from_secs(119)).await;
    no_frame_for(&mut c, 100).await;
    ts.pass(std::time::Duration::from_secs(1)).await;
    offer(&mut c).await;
}

/// A chat the visitor ends starts the counsellor's wrap-up too: no offer comes before it
/// ends. (Routing reads the published presence; a visitor's end once updated only the
/// console's node, and the next visitor was offered at once.)
async fn wrap_up_follows_a_chat_the_visitor_ended(b: Backend) {
    let ts = start_virtual(b, |c| c.routing.wrap_up_s = 120).await;
    let mut c = ts.counsellor("maja", 2).await;
    let mut v = ts.visitor().await;
    join(&mut v, "da/exit").await;
    let conv = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assigned(&mut v).await;
    v.send(&VisitorFrame::Leave {}).await.unwrap();
    assert_eq!(ended(&mut c).await, "visitor_left");
    let mut next = ts.visitor().await;
    join(&mut next, "da/exit").await;
    no_frame_for(&mut c, 200).await;
    ts.pass(std::time::Duration::from_secs(119)).await;
    no_frame_for(&mut c, 100).await;
    ts.pass(std::time::Duration::from_secs(1)).await;
    offer(&mut c).await;
}

/// Letting offers expire (30 s each, on virtual time) twice in a row puts a counsellor on
/// break with the reason; ending the break brings offers back.
async fn missed_offers_put_a_counsellor_on_break(b: Backend) {
    let ts = start_virtual(b, |c| c.routing.max_missed_offers = 2).await;
    let mut c = ts.counsellor("maja", 1).await;
    let mut v1 = ts.visitor().await;
    join(&mut v1, "da/exit").await;
    let mut v2 = ts.visitor().await;
    join(&mut v2, "da/exit").await;
    offer(&mut c).await;
    ts.pass(std::time::Duration::from_secs(30)).await;
    assert_eq!(ended(&mut c).await, "offer_expired");
    offer(&mut c).await;
    ts.pass(std::time::Duration::from_secs(30)).await;
    assert_eq!(ended(&mut c).await, "offer_expired");
    assert_eq!(
        c.frame(WAIT).await.unwrap(),
        ServerFrame::OnBreak {
            reason: lyt::protocol::BreakReason::MissedOffers
        }
    );
    let mut v3 = ts.visitor().await;
    join(&mut v3, "da/exit").await;
    no_frame_for(&mut c, 500).await;
    c.send(&CounsellorFrame::Break { on: false }).await.unwrap();
    offer(&mut c).await;
}

/// Waits, chat durations and visitors who gave up are counted for the dashboard.
async fn statistics_are_recorded(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let mut gave_up = ts.visitor().await;
    join(&mut gave_up, "en/any").await;
    gave_up.send(&VisitorFrame::Leave {}).await.unwrap();
    ended(&mut gave_up).await;
    let (_v, mut c, conv) = live_pair(&ts, "maja").await;
    c.send(&CounsellorFrame::End {
        conv,
        tags: Tags::default(),
    })
    .await
    .unwrap();
    ended(&mut c).await;
    let url = format!("http://{}/metrics", ts.server.internal_addr);
    let metrics = reqwest::get(url).await.unwrap().text().await.unwrap();
    for line in [
        "lyt_abandoned_total 1",
        r#"lyt_wait_seconds_count{queue="da/exit"} 1"#,
        "lyt_handle_seconds_count 1",
        r#"lyt_offers_total{result="accepted"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
}

/// Lowering capacity takes back the newest pending offer above it: that visitor keeps
/// waiting and is offered again when the counsellor has room.
async fn lower_capacity_withdraws_offers_above_it(b: Backend) {
    let ts = start_on(b, |_| {}).await;
    let mut c = ts.counsellor("maja", 2).await;
    let mut v1 = ts.visitor().await;
    join(&mut v1, "da/exit").await;
    let first = offer(&mut c).await;
    let mut v2 = ts.visitor().await;
    join(&mut v2, "da/exit").await;
    let second = offer(&mut c).await;
    let bundle = c.shift.bundle().clone();
    c.send(&duty(1, bundle)).await.unwrap();
    assert_eq!(
        c.frame(WAIT).await.unwrap(),
        ServerFrame::Ended {
            conv: second,
            reason: lyt::protocol::EndReason::OfferWithdrawn
        }
    );
    c.send(&CounsellorFrame::Accept { conv: first })
        .await
        .unwrap();
    assert!(
        matches!(next_frame(&mut v1).await, ServerFrame::Assigned { conv, .. } if conv == first)
    );
    no_frame_for(&mut c, 300).await;
    c.send(&CounsellorFrame::End {
        conv: first,
        tags: Tags::default(),
    })
    .await
    .unwrap();
    assert_eq!(ended(&mut c).await, "counsellor_ended");
    assert_eq!(
        offer(&mut c).await,
        second,
        "the withdrawn visitor still waits"
    );
}

/// Routing runs on events, not on a clock: with the sweep an hour apart, a join is offered
/// at once, a decline and a colleague going on duty move the visitor on, and the end of a
/// chat brings the next visitor.
async fn routing_runs_on_events(b: Backend) {
    let ts = start_on(b, |c| c.routing.sweep_ms = 3_600_000).await;
    let mut maja = ts.counsellor("maja", 1).await;
    let mut v1 = ts.visitor().await;
    join(&mut v1, "da/exit").await;
    let conv1 = offer(&mut maja).await;
    maja.send(&CounsellorFrame::Decline { conv: conv1 })
        .await
        .unwrap();
    let mut ali = ts.counsellor("ali", 1).await;
    assert_eq!(
        offer(&mut ali).await,
        conv1,
        "declined, then offered to a colleague"
    );
    ali.send(&CounsellorFrame::Accept { conv: conv1 })
        .await
        .unwrap();
    let mut v2 = ts.visitor().await;
    join(&mut v2, "da/exit").await;
    let conv2 = offer(&mut maja).await;
    maja.send(&CounsellorFrame::Accept { conv: conv2 })
        .await
        .unwrap();
    let mut v3 = ts.visitor().await;
    join(&mut v3, "da/exit").await;
    ali.send(&CounsellorFrame::End {
        conv: conv1,
        tags: Tags::default(),
    })
    .await
    .unwrap();
    assert_eq!(ended(&mut ali).await, "counsellor_ended");
    let conv3 = offer(&mut ali).await;
    assert_ne!(conv3, conv1);
    assert_ne!(conv3, conv2);
}

on_every_backend!(
    priority_topic_goes_first,
    wrap_up_delays_the_next_offer,
    wrap_up_follows_a_chat_the_visitor_ended,
    missed_offers_put_a_counsellor_on_break,
    statistics_are_recorded,
    lower_capacity_withdraws_offers_above_it,
    routing_runs_on_events,
);
