//! A synthetic visitor for deployment checks (`lyt probe`): it joins a queue, verifies the
//! counsellor's certificate chain against the pinned org root, completes the end-to-end
//! handshake, says hello, sends one message, waits for an encrypted answer and leaves.
//!
//! It occupies a counsellor like any visitor, so it is meant for a test deployment with a
//! bot counsellor (`lyt counsellor bot`), as `ops/smoke.sh` runs it, never against real
//! counsellors on shift. It reports the alias and the safety code, never message content.

use std::time::{Duration, Instant};

use super::e2e::VisitorHandshake;
use super::{ClientError, ConnectOptions, WsClient};
use crate::crypto::AppMessage;
use crate::protocol::{QueueId, ServerFrame, VisitorFrame};

/// Settings of one probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The relay's public base URL, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// The `Origin` header to send (an allowed origin of the relay).
    pub origin: String,
    /// The organisation's root public key, as pinned in the widget.
    pub org_root: [u8; 32],
    /// The queue to join.
    pub queue: QueueId,
    /// How long the whole probe may take.
    pub timeout: Duration,
}

/// What a successful probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// The counsellor's certified alias.
    pub alias: String,
    /// The safety code both sides derived.
    pub safety_code: String,
    /// How the chat ended after the probe's `bye`.
    pub ended: crate::protocol::EndReason,
}

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Talking to the relay failed.
    #[error("{0}")]
    Client(#[from] ClientError),
    /// The relay refused a frame.
    #[error("the relay refused: {code}: {message}")]
    Refused {
        /// The error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The counsellor's certificate chain or the handshake failed.
    #[error("end-to-end encryption failed: {0}")]
    E2e(#[from] super::e2e::E2eError),
    /// The relay sent a frame the probe did not expect at this step.
    #[error("unexpected frame while waiting for {0}")]
    Unexpected(&'static str),
    /// The probe ran out of time.
    #[error("no {0} within the probe's time limit")]
    Timeout(&'static str),
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The next frame before `deadline`, with an `error` frame turned into [`ProbeError::Refused`].
async fn next(
    ws: &mut WsClient,
    deadline: Instant,
    what: &'static str,
) -> Result<ServerFrame, ProbeError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ProbeError::Timeout(what));
    }
    match ws.frame(left).await {
        Ok(ServerFrame::Error { code, message, .. }) => Err(ProbeError::Refused {
            code: code.to_string(),
            message,
        }),
        Ok(frame) => Ok(frame),
        Err(ClientError::Timeout) => Err(ProbeError::Timeout(what)),
        Err(e) => Err(e.into()),
    }
}

/// Runs one probe chat.
pub async fn run(o: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    let deadline = Instant::now() + o.timeout;
    let base = o.server.trim_end_matches('/');
    let url = format!("{}/v1/visitor", base.replacen("http", "ws", 1));
    let connect = ConnectOptions {
        origin: Some(o.origin.clone()),
        ..ConnectOptions::default()
    };
    let mut ws = WsClient::connect(&url, &connect).await?;
    if !matches!(
        next(&mut ws, deadline, "hello").await?,
        ServerFrame::Hello { .. }
    ) {
        return Err(ProbeError::Unexpected("hello"));
    }
    ws.send(&VisitorFrame::Join {
        queue: o.queue.clone(),
    })
    .await?;
    let (conv, bundle) = loop {
        match next(&mut ws, deadline, "counsellor").await? {
            ServerFrame::Queued { .. } => {}
            ServerFrame::Assigned { conv, bundle, .. } => break (conv, bundle),
            _ => return Err(ProbeError::Unexpected("a counsellor")),
        }
    };
    let (hs, m) = VisitorHandshake::start(&o.org_root, conv, &bundle, now())?;
    let alias = hs.alias().to_owned();
    ws.send(&VisitorFrame::Hs1 { conv, m }).await?;
    let m = loop {
        match next(&mut ws, deadline, "handshake").await? {
            ServerFrame::Hs2 { m, .. } => break m,
            ServerFrame::Queued { .. } => {}
            _ => return Err(ProbeError::Unexpected("the handshake")),
        }
    };
    let mut chat = hs.finish(&m)?;
    for msg in [
        AppMessage::Hello {},
        AppMessage::Text {
            body: "(lyt probe) a deployment check; please answer".into(),
            ts: now(),
        },
    ] {
        let (n, m) = chat.seal(&msg)?;
        ws.send(&VisitorFrame::Data { conv, n, m }).await?;
    }
    loop {
        match next(&mut ws, deadline, "answer").await? {
            ServerFrame::Data { n, m, .. } => {
                if let Some(AppMessage::Text { .. }) = chat.open(n, &m)? {
                    break;
                }
            }
            ServerFrame::Ended { .. } => return Err(ProbeError::Unexpected("an answer")),
            _ => {}
        }
    }
    let (n, m) = chat.seal(&AppMessage::Bye {
        reason: "done".into(),
    })?;
    ws.send(&VisitorFrame::Data { conv, n, m }).await?;
    let ended = loop {
        if let ServerFrame::Ended { reason, .. } =
            next(&mut ws, deadline, "end of the chat").await?
        {
            break reason;
        }
    };
    let _ = ws.close().await;
    Ok(ProbeReport {
        alias,
        safety_code: chat.safety_code(),
        ended,
    })
}
