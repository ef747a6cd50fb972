//! `lyt::client`: a Rust client of the protocol, for the integration tests, the load tests
//! and the command line. `WsClient` speaks frames; `login` and `ticket` speak the auth API.
//! It sends an `Origin` header like a browser would, and can bind a chosen local address
//! (the load tests spread connections across 127.0.0.0/8).

pub mod bot;
pub mod e2e;
pub mod office;
pub mod outbox;
pub mod probe;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocol::ServerFrame;

/// What can go wrong on the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting or speaking WebSocket failed.
    #[error("websocket: {0}")]
    Ws(#[from] tungstenite::Error),
    /// Connecting TCP failed.
    #[error("connect: {0}")]
    Io(#[from] std::io::Error),
    /// An HTTP call failed.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an error status.
    #[error("server refused: {status} {body}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Response body.
        body: String,
    },
    /// The server sent something that is not a frame of the protocol.
    #[error("unexpected from server: {0}")]
    Unexpected(String),
    /// Nothing arrived in time.
    #[error("timed out waiting for the server")]
    Timeout,
    /// The connection was closed.
    #[error("closed by server: {0:?}")]
    Closed(Option<(u16, String)>),
}

/// What the server sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A frame.
    Frame(ServerFrame),
    /// The connection closed, with the close code and reason if any.
    Closed(Option<(u16, String)>),
}

/// A WebSocket connection to a lyt endpoint.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Headers of the server's upgrade response (e.g. to check no extension was agreed).
    pub response_headers: http::HeaderMap,
}

/// How to connect.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The `Origin` header to send (browsers always send one; the relay requires it).
    pub origin: Option<String>,
    /// Local address to bind before connecting.
    pub source: Option<IpAddr>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Socket receive buffer size (`SO_RCVBUF`), e.g. to simulate a slow reader.
    pub recv_buffer: Option<u32>,
}

impl WsClient {
    /// Connects to `url` (e.g. `ws://127.0.0.1:8080/v1/visitor`).
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Self, ClientError> {
        let mut req = url.into_client_request()?;
        if let Some(origin) = &opts.origin {
            req.headers_mut().insert(
                "origin",
                origin
                    .parse()
                    .map_err(|_| ClientError::Unexpected("bad origin".into()))?,
            );
        }
        for (k, v) in &opts.headers {
            let name: http::HeaderName = k
                .parse()
                .map_err(|_| ClientError::Unexpected("bad header".into()))?;
            let value = v
                .parse()
                .map_err(|_| ClientError::Unexpected("bad header".into()))?;
            req.headers_mut().insert(name, value);
        }
        let host = req
            .uri()
            .host()
            .unwrap_or("127.0.0.1")
            .trim_matches(['[', ']'])
            .to_owned();
        let port = req.uri().port_u16().unwrap_or(80);
        let addr: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
            .await?
            .next()
            .ok_or_else(|| ClientError::Unexpected(format!("cannot resolve {host}")))?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(ip) = opts.source {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        if let Some(size) = opts.recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .max_message_size(Some(crate::protocol::MAX_FRAME_BYTES))
            .max_frame_size(Some(crate::protocol::MAX_FRAME_BYTES));
        let (ws, resp) = tokio_tungstenite::client_async_with_config(
            req,
            MaybeTlsStream::Plain(stream),
            Some(config),
        )
        .await?;
        Ok(Self {
            ws,
            response_headers: resp.headers().clone(),
        })
    }

    /// Sends a frame as JSON.
    pub async fn send<T: Serialize>(&mut self, frame: &T) -> Result<(), ClientError> {
        let text =
            serde_json::to_string(frame).map_err(|e| ClientError::Unexpected(e.to_string()))?;
        self.send_text(text).await
    }

    /// Sends raw text (tests use it for malformed input).
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<(), ClientError> {
        self.ws.send(Message::Text(text.into().into())).await?;
        Ok(())
    }

    /// Sends a raw WebSocket message.
    pub async fn send_message(&mut self, msg: Message) -> Result<(), ClientError> {
        self.ws.send(msg).await?;
        Ok(())
    }

    /// The next frame or close, skipping pings and pongs.
    pub async fn next(&mut self) -> Result<Incoming, ClientError> {
        loop {
            let msg = match self.ws.next().await {
                None => return Ok(Incoming::Closed(None)),
                Some(Err(
                    tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                )) => {
                    return Ok(Incoming::Closed(None));
                }
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(m)) => m,
            };
            match msg {
                Message::Text(t) => {
                    let frame = serde_json::from_str(&t)
                        .map_err(|e| ClientError::Unexpected(format!("{e}: {t}")))?;
                    return Ok(Incoming::Frame(frame));
                }
                Message::Close(c) => {
                    return Ok(Incoming::Closed(
                        c.map(|c| (u16::from(c.code), c.reason.to_string())),
                    ));
                }
                Message::Binary(_) => return Err(ClientError::Unexpected("binary frame".into())),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// The next frame within `timeout`; a close is an error.
    pub async fn frame(&mut self, timeout: Duration) -> Result<ServerFrame, ClientError> {
        match tokio::time::timeout(timeout, self.next()).await {
            Err(_) => Err(ClientError::Timeout),
            Ok(Err(e)) => Err(e),
            Ok(Ok(Incoming::Closed(c))) => Err(ClientError::Closed(c)),
            Ok(Ok(Incoming::Frame(f))) => Ok(f),
        }
    }

    /// Waits for the connection to close and returns its close code and reason.
    pub async fn closed(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<(u16, String)>, ClientError> {
        tokio::time::timeout(timeout, async {
            loop {
                match self.next().await {
                    Ok(Incoming::Closed(c)) => return Ok(c),
                    Ok(Incoming::Frame(_)) => {}
                    Err(ClientError::Ws(_)) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        })
        .await
        .map_err(|_| ClientError::Timeout)?
    }

    /// Closes the connection normally.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.ws.close(None).await?;
        Ok(())
    }
}

/// A logged-in session: the cookie value to send to the auth API.
#[derive(Clone)]
pub struct LoginSession {
    base: String,
    cookie: String,
    origin: Option<String>,
    http: reqwest::Client,
    /// The alias the server knows this account by.
    pub alias: String,
}

impl std::fmt::Debug for LoginSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSession")
            .field("alias", &self.alias)
            .finish_non_exhaustive()
    }
}

async fn check(res: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    if res.status().is_success() {
        return Ok(res);
    }
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    Err(ClientError::Refused { status, body })
}

/// How long an idle pooled HTTP connection is kept: less than the server's idle cut-off.
const POOL_IDLE: Duration = Duration::from_secs(5);

/// Logs in at `base` (e.g. `http://127.0.0.1:8080`) with a password.
pub async fn login(
    base: &str,
    origin: Option<&str>,
    username: &str,
    password: &str,
) -> Result<LoginSession, ClientError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // lyt closes a kept-alive connection that sends nothing for
        // `limits.header_read_timeout_s` (10 s by default); a pooled connection is dropped
        // before that, so a request never goes out on one the server is closing.
        .pool_idle_timeout(POOL_IDLE)
        .build()?;
    let mut req = http
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": password }));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let res = check(req.send().await?).await?;
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| ClientError::Unexpected("no session cookie".into()))?
        .to_owned();
    let body: serde_json::Value = res.json().await?;
    let alias = body["alias"].as_str().unwrap_or_default().to_owned();
    Ok(LoginSession {
        base: base.to_owned(),
        cookie,
        origin: origin.map(str::to_owned),
        http,
        alias,
    })
}

impl LoginSession {
    /// Asks for a single-use WebSocket ticket.
    ///
    /// A request that fails before any answer (the connection was closed under it) is sent
    /// once more: asking again is safe, a ticket nobody uses expires unused.
    pub async fn ticket(&self) -> Result<String, ClientError> {
        let req = || {
            let mut req = self
                .http
                .post(format!("{}/v1/auth/ticket", self.base))
                .header("cookie", &self.cookie);
            if let Some(o) = &self.origin {
                req = req.header("origin", o);
            }
            req
        };
        let res = match req().send().await {
            Err(e) if e.is_request() || e.is_connect() => req().send().await?,
            res => res?,
        };
        let body: serde_json::Value = check(res).await?.json().await?;
        body["ticket"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Unexpected("no ticket in response".into()))
    }

    /// `GET path` with this session (e.g. `/v1/supervisor/snapshot`): the JSON answer.
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie);
        Ok(check(req.send().await?).await?.json().await?)
    }
}
