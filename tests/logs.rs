//! The captured log of whole sessions, at the most verbose level, contains no payload, no
//! client address and no user agent. (Its own test binary: it installs the global logger.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use lyt::client::{ConnectOptions, WsClient};
use lyt::protocol::{CounsellorFrame, ServerFrame, VisitorFrame};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const CANARY_TEXT: &str = "CANARY-PLAINTEXT-7f3a";
const CANARY_SOURCE: &str = "127.0.0.77";
const CANARY_FORWARDED: &str = "203.0.113.77";
const CANARY_AGENT: &str = "CanaryAgent/9.9";

/// A chat at log level `trace` with canary content, a canary source address and canary
/// headers leaves none of them in the log, while the log does record the session.
#[tokio::test]
async fn no_payload_or_address_in_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    lyt::logging::init("trace", move || writer.clone(), false).unwrap();

    let ts = start(|_| {}).await;
    let mut c = ts.counsellor("maja", 1).await;
    let opts = ConnectOptions {
        origin: Some(ts.origin.clone()),
        source: Some(CANARY_SOURCE.parse().unwrap()),
        headers: vec![
            ("user-agent".into(), CANARY_AGENT.into()),
            ("x-forwarded-for".into(), CANARY_FORWARDED.into()),
        ],
        ..ConnectOptions::default()
    };
    let mut v = WsClient::connect(&format!("{}/v1/visitor", ts.ws), &opts)
        .await
        .unwrap();
    v.frame(WAIT).await.unwrap();
    join(&mut v, "da/exit").await;
    let conv = offer(&mut c).await;
    c.send(&CounsellorFrame::Accept { conv }).await.unwrap();
    assigned(&mut v).await;
    let m: lyt::protocol::Blob = URL_SAFE_NO_PAD.encode(CANARY_TEXT).parse().unwrap();
    v.send(&VisitorFrame::Hs1 { conv, m: m.clone() })
        .await
        .unwrap();
    c.frame(WAIT).await.unwrap();
    for n in 0..5 {
        v.send(&VisitorFrame::Data {
            conv,
            n,
            m: m.clone(),
        })
        .await
        .unwrap();
        c.send(&CounsellorFrame::Data {
            conv,
            n,
            m: m.clone(),
        })
        .await
        .unwrap();
    }
    for _ in 0..5 {
        assert!(matches!(
            c.frame(WAIT).await.unwrap(),
            ServerFrame::Data { .. }
        ));
        assert!(matches!(
            v.frame(WAIT).await.unwrap(),
            ServerFrame::Data { .. }
        ));
    }
    v.send_text(format!(
        r#"{{"t":"data","conv":"{conv}","n":"{CANARY_TEXT}"}}"#
    ))
    .await
    .unwrap();
    assert!(matches!(
        v.frame(WAIT).await.unwrap(),
        ServerFrame::Error { .. }
    ));
    v.send(&VisitorFrame::Leave {}).await.unwrap();
    ended(&mut c).await;
    ts.server.shutdown();
    ts.server.wait().await;

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("counsellor connected"),
        "the log records sessions:\n{log}"
    );
    for canary in [
        CANARY_TEXT,
        m.as_str(),
        CANARY_SOURCE,
        CANARY_FORWARDED,
        CANARY_AGENT,
    ] {
        assert!(
            !log.contains(canary),
            "{canary} leaked into the log:\n{log}"
        );
    }
}
