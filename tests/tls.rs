//! TLS termination inside lyt (`[tls]`): a real rustls client that trusts a self-signed
//! certificate made here does an HTTPS GET and a WSS visitor join; HSTS is sent with TLS and
//! only then; plain HTTP on the TLS port gets no HTTP answer; a client that never finishes
//! its handshake is cut off after `limits.tls_handshake_timeout_s`; unreadable, empty and
//! mismatched certificate or key files stop the start with a clear message and no key bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures_util::{SinkExt as _, StreamExt as _};
use lyt::protocol::ServerFrame;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// A self-signed certificate for `localhost` and its key, as PEM files in a directory.
struct CertFiles {
    cert: PathBuf,
    key: PathBuf,
    key_pem: String,
    der: rustls::pki_types::CertificateDer<'static>,
    _dir: tempfile::TempDir,
}

fn cert_files() -> CertFiles {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let key_pem = made.signing_key.serialize_pem();
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, &key_pem).unwrap();
    CertFiles {
        cert,
        key,
        key_pem,
        der: made.cert.der().clone(),
        _dir: dir,
    }
}

/// A demo server with TLS on, after `tweak`.
async fn start_tls(files: &CertFiles, tweak: impl FnOnce(&mut lyt::Config)) -> TestServer {
    let (cert, key) = (files.cert.clone(), files.key.clone());
    start(move |c| {
        c.tls.cert = Some(cert);
        c.tls.key = Some(key);
        tweak(c);
    })
    .await
}

/// A TLS connection to `port` that trusts only `files`' certificate.
async fn tls_connect(files: &CertFiles, port: u16) -> TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    roots.add(files.der.clone()).unwrap();
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with lyt")
}

/// Everything the peer sends until it closes (an abrupt close counts as the end), bounded.
async fn read_all(mut s: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server did not close the connection"),
        }
    }
}

/// An HTTP/1.1 GET of `path` (connection closed after the response) as the raw response.
async fn get(mut s: impl AsyncRead + tokio::io::AsyncWrite + Unpin, path: &str) -> String {
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    s.flush().await.unwrap();
    String::from_utf8_lossy(&read_all(s).await).into_owned()
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The next text frame of a WSS connection, skipping pings.
async fn ws_frame(
    ws: &mut tokio_tungstenite::WebSocketStream<TlsStream<TcpStream>>,
) -> ServerFrame {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

/// HTTPS GET of /v1/status through a client that trusts the certificate: 200, the queues,
/// HSTS, and the usual security headers.
#[tokio::test]
async fn https_get_status_with_hsts() {
    let files = cert_files();
    let ts = start_tls(&files, |_| {}).await;
    let tls = tls_connect(&files, ts.server.public_addr.port()).await;
    let res = get(tls, "/v1/status").await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(res.contains("da/exit"), "{res}");
    assert_eq!(
        header(&res, "strict-transport-security"),
        Some("max-age=31536000")
    );
    assert_eq!(header(&res, "cache-control"), Some("no-store"));
    ts.stop().await;
}

/// A WSS visitor: the WebSocket handshake over TLS, `hello`, then `join` gets `queued`.
#[tokio::test]
async fn wss_visitor_joins() {
    let files = cert_files();
    let ts = start_tls(&files, |_| {}).await;
    let port = ts.server.public_addr.port();
    let tls = tls_connect(&files, port).await;
    let mut req = format!("wss://localhost:{port}/v1/visitor")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "origin",
        format!("https://localhost:{port}").parse().unwrap(),
    );
    let (mut ws, resp) = tokio_tungstenite::client_async(req, tls).await.unwrap();
    assert!(resp.headers().contains_key("strict-transport-security"));
    assert!(matches!(
        ws_frame(&mut ws).await,
        ServerFrame::Hello { v: 1, .. }
    ));
    ws.send(Message::Text(r#"{"t":"join","queue":"da/exit"}"#.into()))
        .await
        .unwrap();
    let frame = ws_frame(&mut ws).await;
    assert!(
        matches!(frame, ServerFrame::Queued { position: 1, .. }),
        "{frame:?}"
    );
    ts.stop().await;
}

/// Without `[tls]` there is no HSTS (it would be ignored over HTTP, and a TLS proxy sets it).
#[tokio::test]
async fn no_hsts_without_tls() {
    let ts = start(|_| {}).await;
    let tcp = TcpStream::connect(ts.server.public_addr).await.unwrap();
    let res = get(tcp, "/v1/status").await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert_eq!(header(&res, "strict-transport-security"), None, "{res}");
    ts.stop().await;
}

/// Plain HTTP on the TLS port gets no HTTP response: the connection is closed.
#[tokio::test]
async fn plain_http_on_the_tls_port_fails() {
    let files = cert_files();
    let ts = start_tls(&files, |_| {}).await;
    let tcp = TcpStream::connect(ts.server.public_addr).await.unwrap();
    let res = get(tcp, "/v1/status").await;
    assert!(!res.contains("HTTP/1."), "plain HTTP was answered: {res}");
    assert!(!res.contains("da/exit"), "{res}");
    ts.stop().await;
}

/// A client that opens TCP, starts a TLS record and never finishes the handshake is cut off
/// after the configured handshake timeout (1 s here), though the header-read timeout is long.
#[tokio::test]
async fn stalled_handshake_is_cut_off() {
    let files = cert_files();
    let ts = start_tls(&files, |c| {
        c.limits.tls_handshake_timeout_s = 1;
        c.limits.header_read_timeout_s = 3600;
    })
    .await;
    let mut tcp = TcpStream::connect(ts.server.public_addr).await.unwrap();
    // A handshake record header announcing 512 bytes, then nothing.
    tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .unwrap();
    let rest = read_all(&mut tcp).await;
    assert!(rest.len() < 64, "only an alert at most: {rest:?}");
    // A well-behaved client still gets in afterwards.
    let tls = tls_connect(&files, ts.server.public_addr.port()).await;
    assert!(get(tls, "/v1/status").await.starts_with("HTTP/1.1 200"));
    ts.stop().await;
}

fn server_config(cert: &Path, key: &Path) -> lyt::Config {
    let mut c = lyt::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        internal: "127.0.0.1:0".parse().unwrap(),
        ..lyt::Config::default()
    };
    c.tls.cert = Some(cert.to_owned());
    c.tls.key = Some(key.to_owned());
    c
}

/// Start errors: a missing key file, a file with no key, a key of another certificate, and
/// only one of the two paths. Each names the setting; none shows key material.
#[tokio::test]
async fn bad_cert_or_key_stops_the_start() {
    let files = cert_files();
    let other = cert_files();
    let missing = files.key.with_file_name("nope.pem");
    let err = lyt::Server::start(server_config(&files.cert, &missing))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("tls.key") && err.contains("nope.pem"), "{err}");

    let err = lyt::Server::start(server_config(&files.cert, &files.cert))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tls.key") && err.contains("no PEM private key"),
        "{err}"
    );

    let err = lyt::Server::start(server_config(&files.key, &files.key))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tls.cert") && err.contains("no PEM certificate"),
        "{err}"
    );

    let err = lyt::Server::start(server_config(&files.cert, &other.key))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the key does not belong to the certificate"),
        "{err}"
    );
    for pem in [&files.key_pem, &other.key_pem] {
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!err.contains(line), "key material in the error: {err}");
        }
    }

    let mut half = server_config(&files.cert, &files.key);
    half.tls.key = None;
    let err = half.validate().unwrap_err().to_string();
    assert!(err.contains("tls.cert and tls.key"), "{err}");
}

/// `lyt serve` with a bad key path or a mismatched key exits non-zero with one clear line,
/// no panic and no key material.
#[test]
fn cli_refuses_bad_key() {
    let files = cert_files();
    let other = cert_files();
    let dir = tempfile::tempdir().unwrap();
    let run = |key: &Path| {
        let config = dir.path().join("lyt.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:0\"\ninternal = \"127.0.0.1:0\"\n[tls]\ncert = {:?}\nkey = {:?}\n",
                files.cert.display().to_string(),
                key.display().to_string()
            ),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lyt"))
            .current_dir(dir.path())
            .env_remove("LYT_CONFIG")
            .env_remove("LYT_DEMO")
            .args(["serve", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("error:"), "{stderr}");
        stderr
    };
    let stderr = run(&dir.path().join("missing-key.pem"));
    assert!(
        stderr.contains("tls.key") && stderr.contains("missing-key.pem"),
        "{stderr}"
    );
    let stderr = run(&other.key);
    assert!(stderr.contains("does not belong"), "{stderr}");
    for line in other.key_pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!stderr.contains(line), "key material printed: {stderr}");
    }
}
