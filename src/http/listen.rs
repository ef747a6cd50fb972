//! The public listener's accept loop. It is axum's `serve` with what that one cannot set:
//! a **header-read timeout** (a client that opens a connection and trickles its request
//! headers — slowloris — is cut off after `limits.header_read_timeout_s`, default 10 s;
//! axum sets no timer, so hyper would wait forever), TCP_NODELAY on every socket, the peer
//! address as `ConnectInfo` (for rate limiting; never logged), and a graceful shutdown that
//! lets in-flight requests finish within the grace period. Upgraded WebSockets leave this
//! loop's tracking and are tracked by the relay's own `TaskTracker`.
//!
//! With TLS (`[tls]`, see `crate::tls`) each connection first completes a TLS handshake
//! within `limits.tls_handshake_timeout_s`, inside the connection's own task so a slow
//! handshake never holds up the accept loop; a connection that does not finish in time, or
//! that speaks anything but TLS, is closed. The header-read timeout then applies as without
//! TLS.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

/// TLS on the public listener: the acceptor and the handshake deadline.
#[derive(Clone)]
pub struct Tls {
    /// The configured certificate and key.
    pub acceptor: TlsAcceptor,
    /// How long a client has to complete the handshake.
    pub handshake_timeout: Duration,
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until `shutdown`, then waits
/// up to `grace` for open requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Tls>,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let connections = TaskTracker::new();
    loop {
        let (tcp, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Latency over throughput: chat frames are small and interactive.
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let Some(tls) = tls else {
                serve_connection(tcp, peer, router, header_read_timeout, shutdown).await;
                return;
            };
            let handshake = tokio::time::timeout(tls.handshake_timeout, tls.acceptor.accept(tcp));
            let stream = tokio::select! {
                () = shutdown.cancelled() => return,
                done = handshake => match done {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out");
                        return;
                    }
                },
            };
            serve_connection(stream, peer, router, header_read_timeout, shutdown).await;
        });
    }
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "HTTP connections still open after the grace period"
        );
    }
}

/// Serves HTTP/1.1 (with upgrades) on one connection until it ends or `shutdown`.
async fn serve_connection<S>(
    io: S,
    peer: std::net::SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
