//! A demo counsellor bot: logs in as a demo account, goes on duty with a fresh shift key,
//! accepts every offer, completes the handshake and answers each message with a fixed demo
//! text (never echoing or logging what it received). It lets a newcomer try the widget end to
//! end before the shift console exists, and gives the browser tests a real counsellor.
//!
//! Referrals (#8): when a visitor's message contains "henvis" or "refer" (any case) the bot
//! offers a referral to the demo brobygger office with fixed fields. On a `referral_consent`
//! with yes and the hash of exactly that offer it signs and seals the referral `R` to the
//! office's certified key (verified against the org root) and sends it; on `referral_stored`
//! it gives the visitor the code with the office's address and hours. On no, nothing is
//! sealed. The message text is only tested for those words, never kept.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use zeroize::Zeroizing;

use super::e2e::{Chat, CounsellorIdentity};
use super::{ClientError, ConnectOptions, Incoming, WsClient};
use crate::crypto::{self, AppMessage, OfficeKind};
use crate::demo::BROBYGGER_ID;
use crate::http::OfficeEntry;
use crate::protocol::{ConvId, CounsellorFrame, ServerFrame, Skills};
use crate::referral::{Consent, Referral, WILL_QUOTE_CODE};

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
    /// The office directory has no verifiable demo brobygger office.
    #[error("the office directory has no verifiable brobygger office `{BROBYGGER_ID}`")]
    NoOffice,
    /// A crypto step failed.
    #[error("{0}")]
    Crypto(#[from] crypto::Error),
    /// The referral broke a rule.
    #[error("{0}")]
    Referral(#[from] crate::referral::ReferralError),
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

/// The needs the demo referral names.
const DEMO_NEEDS: &[&str] = &["health", "social"];
/// The version of the consent text the widget shows (recorded in `R`).
const CONSENT_TEXT_VERSION: u32 = 1;

/// Whether a visitor's message asks for a referral: it contains "henvis" or "refer".
pub fn asks_for_referral(body: &str) -> bool {
    let lower = Zeroizing::new(body.to_lowercase());
    lower.contains("henvis") || lower.contains("refer")
}

/// The demo brobygger office as the directory lists it, its certificate verified.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Office {
    id: String,
    name: String,
    address: String,
    hours: String,
    recipient_pub: [u8; 32],
}

/// Fetches `/v1/offices` and returns the demo brobygger office, its certificate verified
/// against `org_root` now.
async fn fetch_office(server: &str, org_root: &[u8; 32]) -> Result<Office, BotError> {
    #[derive(serde::Deserialize)]
    struct Directory {
        offices: Vec<OfficeEntry>,
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(ClientError::from)?;
    let directory: Directory = http
        .get(format!("{server}/v1/offices"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(ClientError::from)?
        .json()
        .await
        .map_err(ClientError::from)?;
    let entry = directory
        .offices
        .into_iter()
        .find(|o| o.id == BROBYGGER_ID)
        .ok_or(BotError::NoOffice)?;
    let cert = crypto::b64_decode(&entry.cert, "cert")?;
    let verified = crypto::verify_office_cert(org_root, &cert, now())?;
    if verified.kind != OfficeKind::Brobygger || verified.office_id != entry.id {
        return Err(BotError::NoOffice);
    }
    Ok(Office {
        id: verified.office_id,
        name: verified.display_name,
        address: entry.info.address,
        hours: entry.info.reception_hours,
        recipient_pub: verified.recipient_pub,
    })
}

/// The offer the bot makes: exactly the fields of the `R` it would send, in plain words.
fn offer(office: &Office, alias: &str, language: &str) -> AppMessage {
    AppMessage::ReferralOffer {
        office_id: office.id.clone(),
        office_name: office.name.clone(),
        fields: vec![
            format!("Needs: {}", DEMO_NEEDS.join(", ")),
            format!("Contact: {WILL_QUOTE_CODE} (no phone number, no e-mail)"),
            format!("Language: {language}"),
            "Interpreter: no".to_owned(),
            format!("Counsellor: {alias}"),
        ],
    }
}

/// Where a chat's referral stands.
#[derive(Debug, Default)]
enum ReferralStep {
    /// Nothing offered.
    #[default]
    None,
    /// Offered; waiting for the visitor's answer to the offer with this hash.
    Offered { office: Office, hash: [u8; 32] },
    /// Sealed and sent; waiting for the relay's code.
    Sent { office: Office },
}

/// One chat of the bot.
struct BotChat {
    chat: Chat,
    /// Visitor messages answered so far.
    count: u64,
    /// The queue's language.
    language: String,
    referral: ReferralStep,
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
    /// A referral was offered in a chat.
    ReferralOffered {
        /// The conversation.
        conv: ConvId,
    },
    /// The visitor said no: nothing was sealed.
    ReferralDeclined {
        /// The conversation.
        conv: ConvId,
    },
    /// The visitor said yes; the sealed referral was stored and the code sent to the visitor.
    ReferralStored {
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
    let org_root = crate::demo::org_root_pub(&opts.demo_dir)?;
    let identity = CounsellorIdentity::new(key, cert);
    let shift = identity.start_shift(now())?;
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
    let bot = Bot {
        identity,
        alias: session.alias.clone(),
        server: origin,
        org_root,
    };
    // The queue language of each offered conversation, until its handshake.
    let mut offered: HashMap<ConvId, String> = HashMap::new();
    let mut chats: HashMap<ConvId, BotChat> = HashMap::new();
    loop {
        let frame = match ws.next().await? {
            Incoming::Closed(_) => return Ok(()),
            Incoming::Frame(f) => f,
        };
        match frame {
            ServerFrame::Offer { conv, queue, .. } => {
                offered.insert(conv, queue.lang().to_owned());
                ws.send(&CounsellorFrame::Accept { conv }).await?;
            }
            ServerFrame::Hs1 { conv, m } => match shift.accept(conv, &m) {
                Ok((chat, m)) => {
                    ws.send(&CounsellorFrame::Hs2 { conv, m }).await?;
                    on_event(BotEvent::ChatStarted {
                        conv,
                        safety_code: chat.safety_code(),
                    });
                    let language = offered.remove(&conv).unwrap_or_else(|| "da".to_owned());
                    chats.insert(
                        conv,
                        BotChat {
                            chat,
                            count: 0,
                            language,
                            referral: ReferralStep::None,
                        },
                    );
                }
                Err(_) => end(&mut ws, conv, "technical").await?,
            },
            ServerFrame::Data { conv, n, m } => {
                let Some(c) = chats.get_mut(&conv) else {
                    continue;
                };
                match c.chat.open_received(n, &m) {
                    Ok(Some(received)) => {
                        // The exact JSON is not needed (the bot hashes its own offer); wiped.
                        drop(Zeroizing::new(received.json));
                        match received.message {
                            AppMessage::Text { body, .. } => {
                                let wants_referral = asks_for_referral(&Zeroizing::new(body));
                                c.count += 1;
                                send(&mut ws, &mut c.chat, &AppMessage::Read { upto: n }).await?;
                                send(&mut ws, &mut c.chat, &AppMessage::Typing { on: true })
                                    .await?;
                                tokio::time::sleep(Duration::from_millis(400)).await;
                                if wants_referral {
                                    if bot.offer_referral(&mut ws, c).await? {
                                        on_event(BotEvent::ReferralOffered { conv });
                                    }
                                } else {
                                    send(&mut ws, &mut c.chat, &reply(c.count)).await?;
                                }
                            }
                            AppMessage::ReferralConsent { offer_hash, yes } => {
                                // A yes is reported once the relay has stored it.
                                let outcome = bot.consent(&mut ws, c, &offer_hash, yes).await?;
                                if outcome == Some(false) {
                                    on_event(BotEvent::ReferralDeclined { conv });
                                }
                            }
                            AppMessage::Hello {} => {
                                let hi = AppMessage::Text {
                                    body: "Hej! (Demo counsellor bot) How can I help? Write \"henvis\" or \"refer\" to try a referral to a brobygger office.".into(),
                                    ts: now(),
                                };
                                send(&mut ws, &mut c.chat, &hi).await?;
                            }
                            AppMessage::Bye { .. } => {
                                chats.remove(&conv);
                                end(&mut ws, conv, "advice").await?;
                            }
                            _ => {}
                        }
                    }
                    Ok(None) => {}
                    Err(_) => {
                        chats.remove(&conv);
                        end(&mut ws, conv, "technical").await?;
                    }
                }
            }
            ServerFrame::ReferralStored { conv, code } => {
                let Some(c) = chats.get_mut(&conv) else {
                    continue;
                };
                let ReferralStep::Sent { office } = std::mem::take(&mut c.referral) else {
                    continue;
                };
                let msg = AppMessage::ReferralCode {
                    code,
                    office_name: office.name,
                    address: office.address,
                    hours: office.hours,
                };
                send(&mut ws, &mut c.chat, &msg).await?;
                on_event(BotEvent::ReferralStored { conv });
            }
            ServerFrame::Ended { conv, .. } => {
                offered.remove(&conv);
                if chats.remove(&conv).is_some() {
                    on_event(BotEvent::ChatEnded { conv });
                }
            }
            ServerFrame::Error { code, .. } => {
                tracing::warn!(code = code.as_str(), "relay refused a frame");
                // The relay answers a `referral` frame before anything sent after it, and its
                // errors name no conversation: a refusal while a referral awaits its code is
                // that referral's. Tell the visitor; nothing was stored.
                for c in chats.values_mut() {
                    if matches!(c.referral, ReferralStep::Sent { .. }) {
                        c.referral = ReferralStep::None;
                        let msg = text(
                            "(Demo counsellor bot) I am sorry, the referral could not be stored, so nothing was sent. You can ask again.",
                        );
                        send(&mut ws, &mut c.chat, &msg).await?;
                    }
                }
            }
            _ => {}
        }
    }
}

/// What the bot needs to make referrals.
struct Bot {
    identity: CounsellorIdentity,
    alias: String,
    server: String,
    org_root: [u8; 32],
}

impl Bot {
    /// Offers the demo referral in `c`; false (and a message saying so) while a referral of
    /// this chat awaits its code, or when the office directory has no verifiable demo office.
    async fn offer_referral(&self, ws: &mut WsClient, c: &mut BotChat) -> Result<bool, BotError> {
        if matches!(c.referral, ReferralStep::Sent { .. }) {
            let wait = text(
                "(Demo counsellor bot) Your referral is on its way; the code follows in a moment.",
            );
            send(ws, &mut c.chat, &wait).await?;
            return Ok(false);
        }
        let office = match fetch_office(&self.server, &self.org_root).await {
            Ok(office) => office,
            Err(e) => {
                tracing::warn!(error = %e, "no brobygger office for the demo referral");
                let sorry =
                    text("(Demo counsellor bot) I am sorry, I cannot make a referral right now.");
                send(ws, &mut c.chat, &sorry).await?;
                return Ok(false);
            }
        };
        let intro = text(&format!(
            "(Demo counsellor bot) I can refer you to {}. Below is exactly what they would receive. Nothing is sent unless you say yes.",
            office.name
        ));
        send(ws, &mut c.chat, &intro).await?;
        let msg = offer(&office, &self.alias, &c.language);
        let hash = crypto::offer_hash(&msg.to_json()?);
        send(ws, &mut c.chat, &msg).await?;
        c.referral = ReferralStep::Offered { office, hash };
        Ok(true)
    }

    /// Handles the visitor's answer. `Some(true)`: sealed and sent; `Some(false)`: declined;
    /// `None`: no open offer with that hash, nothing done.
    async fn consent(
        &self,
        ws: &mut WsClient,
        c: &mut BotChat,
        offer_hash: &[u8; 32],
        yes: bool,
    ) -> Result<Option<bool>, BotError> {
        let office = match std::mem::take(&mut c.referral) {
            ReferralStep::Offered { office, hash } if &hash == offer_hash => office,
            other => {
                c.referral = other;
                let msg = text(
                    "(Demo counsellor bot) That answer is not for the offer I made, so nothing was sent.",
                );
                send(ws, &mut c.chat, &msg).await?;
                return Ok(None);
            }
        };
        if !yes {
            let msg = text(
                "(Demo counsellor bot) That is completely fine. Nothing has been sent. We can keep talking, and you can ask again at any time.",
            );
            send(ws, &mut c.chat, &msg).await?;
            return Ok(Some(false));
        }
        let id: [u8; 16] = rand::random();
        let r = Referral {
            referral_id: crypto::b64_encode(&id),
            created_at: now(),
            office_id: office.id.clone(),
            counsellor_alias: self.alias.clone(),
            contact: WILL_QUOTE_CODE.to_owned(),
            language: c.language.clone(),
            interpreter: false,
            needs: DEMO_NEEDS.iter().map(|&n| n.to_owned()).collect(),
            note: String::new(),
            safety: String::new(),
            consent: Consent {
                text_version: CONSENT_TEXT_VERSION,
                ts: now(),
                offer_hash: crypto::b64_encode(offer_hash),
            },
        };
        r.check_fields()?;
        let body = Zeroizing::new(
            serde_json::to_vec(&r).map_err(|e| crypto::Error::Message(e.to_string()))?,
        );
        let plaintext = Zeroizing::new(self.identity.referral_plaintext(&office.id, &id, &body)?);
        let sealed = crypto::seal_referral(
            &office.id,
            &office.recipient_pub,
            &id,
            &plaintext,
            &mut rand::rngs::OsRng,
        )?;
        let thanks = text(
            "(Demo counsellor bot) Thank you. I am sending the referral now; your code follows.",
        );
        send(ws, &mut c.chat, &thanks).await?;
        ws.send(&CounsellorFrame::Referral {
            conv: c.chat.conv(),
            id: ConvId(id),
            office_id: office.id.clone(),
            sealed,
        })
        .await?;
        c.referral = ReferralStep::Sent { office };
        Ok(Some(true))
    }
}

/// A text message from the bot, stamped now.
fn text(body: &str) -> AppMessage {
    AppMessage::Text {
        body: body.to_owned(),
        ts: now(),
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
