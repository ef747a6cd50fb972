//! A demo counsellor bot: logs in as a demo account, goes on duty with a fresh shift key,
//! accepts every offer, completes the handshake and answers each message with a fixed demo
//! text (never echoing or logging what it received). It lets a newcomer try the widget end to
//! end before the shift console exists, and gives the browser tests a real counsellor.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::e2e::{Chat, CounsellorIdentity};
use super::{ClientError, ConnectOptions, Incoming, WsClient};
use crate::crypto::AppMessage;
use crate::protocol::{ConvId, CounsellorFrame, ServerFrame, Skills};

/// Settings of the bot.
#[derive(Debug, Clone)]
pub struct BotOptions {
    /// The relay's public base URL, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// The demo directory holding accounts, keys and certificates.
    pub demo_dir: PathBuf,
    /// Which demo account to act as.
    pub username: String,
    /// Concurrent chats.
    pub capacity: u32,
}

/// Why the bot stopped.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The demo directory could not be read.
    #[error("{0}")]
    Demo(#[from] crate::demo::DemoError),
    /// Talking to the relay failed.
    #[error("{0}")]
    Client(#[from] ClientError),
    /// A crypto step failed outside any one chat.
    #[error("{0}")]
    E2e(#[from] super::e2e::E2eError),
    /// The account is not in the demo directory.
    #[error("no demo account `{0}` in the demo directory")]
    NoAccount(String),
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The bot's answer to a visitor's message.
fn reply(count: u64) -> AppMessage {
    AppMessage::Text {
        body: format!(
            "(Demo counsellor bot) Thank you, I received your message no. {count}. A trained counsellor answers here in the real service."
        ),
        ts: now(),
    }
}

/// What the bot reports to its caller (the CLI prints these; tests read them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotEvent {
    /// On duty under this alias.
    OnDuty {
        /// The certified alias.
        alias: String,
    },
    /// A chat's handshake completed; the six-digit code the visitor can compare.
    ChatStarted {
        /// The conversation.
        conv: ConvId,
        /// The safety code.
        safety_code: String,
    },
    /// A chat ended.
    ChatEnded {
        /// The conversation.
        conv: ConvId,
    },
}

/// Runs the bot until the connection closes, reporting events to `on_event`.
pub async fn run(opts: &BotOptions, mut on_event: impl FnMut(BotEvent)) -> Result<(), BotError> {
    let accounts = crate::demo::read_accounts(&opts.demo_dir)?;
    let account = accounts
        .iter()
        .find(|a| a.username == opts.username)
        .ok_or_else(|| BotError::NoAccount(opts.username.clone()))?;
    let (key, cert) = crate::demo::identity(&opts.demo_dir, &opts.username)?;
    let shift = CounsellorIdentity::new(key, cert).start_shift(now())?;
    let origin = opts.server.trim_end_matches('/').to_owned();
    let session =
        super::login(&origin, Some(&origin), &account.username, &account.password).await?;
    let ws_url = format!("{}/v1/counsellor", origin.replacen("http", "ws", 1));
    let connect = ConnectOptions {
        origin: Some(origin.clone()),
        ..ConnectOptions::default()
    };
    let mut ws = WsClient::connect(&ws_url, &connect).await?;
    ws.send(&CounsellorFrame::Auth {
        ticket: session.ticket().await?,
    })
    .await?;
    let skills = Skills {
        langs: ["da", "en"].iter().filter_map(|l| l.parse().ok()).collect(),
        topics: ["any"].iter().filter_map(|t| t.parse().ok()).collect(),
    };
    ws.send(&CounsellorFrame::Duty {
        on: true,
        skills: Some(skills),
        capacity: Some(opts.capacity),
        bundle: Some(shift.bundle().clone()),
    })
    .await?;
    on_event(BotEvent::OnDuty {
        alias: session.alias.clone(),
    });
    let mut chats: HashMap<ConvId, (Chat, u64)> = HashMap::new();
    loop {
        let frame = match ws.next().await? {
            Incoming::Closed(_) => return Ok(()),
            Incoming::Frame(f) => f,
        };
        match frame {
            ServerFrame::Offer { conv, .. } => ws.send(&CounsellorFrame::Accept { conv }).await?,
            ServerFrame::Hs1 { conv, m } => match shift.accept(conv, &m) {
                Ok((chat, m)) => {
                    ws.send(&CounsellorFrame::Hs2 { conv, m }).await?;
                    on_event(BotEvent::ChatStarted {
                        conv,
                        safety_code: chat.safety_code(),
                    });
                    chats.insert(conv, (chat, 0));
                }
                Err(_) => end(&mut ws, conv, "technical").await?,
            },
            ServerFrame::Data { conv, n, m } => {
                let Some((chat, count)) = chats.get_mut(&conv) else {
                    continue;
                };
                match chat.open(n, &m) {
                    Ok(Some(AppMessage::Text { .. })) => {
                        *count += 1;
                        let count = *count;
                        send(&mut ws, chat, &AppMessage::Read { upto: n }).await?;
                        send(&mut ws, chat, &AppMessage::Typing { on: true }).await?;
                        tokio::time::sleep(Duration::from_millis(400)).await;
                        send(&mut ws, chat, &reply(count)).await?;
                    }
                    Ok(Some(AppMessage::Hello {})) => {
                        let hi = AppMessage::Text {
                            body: "Hej! (Demo counsellor bot) How can I help?".into(),
                            ts: now(),
                        };
                        send(&mut ws, chat, &hi).await?;
                    }
                    Ok(Some(AppMessage::Bye { .. })) => {
                        chats.remove(&conv);
                        end(&mut ws, conv, "advice").await?;
                    }
                    Ok(_) => {}
                    Err(_) => {
                        chats.remove(&conv);
                        end(&mut ws, conv, "technical").await?;
                    }
                }
            }
            ServerFrame::Ended { conv, .. } if chats.remove(&conv).is_some() => {
                on_event(BotEvent::ChatEnded { conv });
            }
            ServerFrame::Error { code, .. } => {
                tracing::warn!(code = code.as_str(), "relay refused a frame")
            }
            _ => {}
        }
    }
}

async fn send(ws: &mut WsClient, chat: &mut Chat, msg: &AppMessage) -> Result<(), BotError> {
    let (n, m) = chat.seal(msg)?;
    ws.send(&CounsellorFrame::Data {
        conv: chat.conv(),
        n,
        m,
    })
    .await?;
    Ok(())
}

/// Ends a conversation, tagging why (a category, never content).
async fn end(ws: &mut WsClient, conv: ConvId, outcome: &str) -> Result<(), BotError> {
    let tags = crate::protocol::Tags {
        outcome: outcome.parse().ok(),
        ..Default::default()
    };
    ws.send(&CounsellorFrame::End { conv, tags }).await?;
    Ok(())
}
