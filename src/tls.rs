//! Optional TLS termination on the public listener, for deployments without a reverse proxy.
//!
//! `tls.cert` (PEM: the certificate, then its intermediates) and `tls.key` (PEM: a PKCS#8,
//! PKCS#1 or SEC1 private key) turn it on; both or neither must be set. They are read once at
//! start and checked there: an unreadable file, a file without a certificate or key, or a key
//! that does not belong to the certificate stops the start with a message that names the
//! setting and the file — never any key material. rustls with the `ring` provider, TLS 1.2
//! and 1.3, ALPN `http/1.1` (the public listener speaks HTTP/1.1 and WebSocket upgrades).
//!
//! The handshake has its own deadline (`limits.tls_handshake_timeout_s`): a client that opens
//! a connection and never finishes the handshake is cut off then, before the header-read
//! timeout (which starts only once HTTP is spoken) applies. The internal listener
//! (`/metrics`, health) stays plain HTTP: it is never exposed publicly.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::config::TlsConfig;

/// Why TLS could not be set up. Messages name the file and the setting, never key bytes.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only one of `tls.cert` and `tls.key` is set.
    #[error("tls: set both tls.cert and tls.key (LYT_TLS__CERT, LYT_TLS__KEY), or neither")]
    Incomplete,
    /// A file could not be read.
    #[error("tls.{setting}: cannot read {path}: {source}")]
    Read {
        /// `cert` or `key`.
        setting: &'static str,
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The certificate file holds no usable certificate.
    #[error("tls.cert: {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate {
        /// The file.
        path: String,
    },
    /// The key file holds no usable private key.
    #[error(
        "tls.key: {path} holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)"
    )]
    NoKey {
        /// The file.
        path: String,
    },
    /// rustls refused the pair (most often: the key does not belong to the certificate).
    #[error("tls: the certificate {cert} and the key {key} cannot be used together: {reason}")]
    Refused {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// rustls's reason (it never contains key material).
        reason: String,
    },
}

/// The acceptor for `config`, or `None` when TLS is off.
pub fn acceptor(config: &TlsConfig) -> Result<Option<TlsAcceptor>, TlsError> {
    let (cert_path, key_path) = match (&config.cert, &config.key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c.as_path(), k.as_path()),
        _ => return Err(TlsError::Incomplete),
    };
    let chain = certificates(cert_path)?;
    let key = private_key(key_path)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let refused = |e: rustls::Error| TlsError::Refused {
        cert: cert_path.display().to_string(),
        key: key_path.display().to_string(),
        reason: match e {
            rustls::Error::InconsistentKeys(_) => {
                "the key does not belong to the certificate".into()
            }
            other => other.to_string(),
        },
    };
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(refused)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(refused)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}

fn read(setting: &'static str, path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, TlsError> {
    std::fs::read(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|source| TlsError::Read {
            setting,
            path: path.display().to_string(),
            source,
        })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read("cert", path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_default();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.display().to_string(),
        });
    }
    Ok(chain)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read("key", path)?;
    // The parser's own error is dropped: it may quote a line of the file.
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoKey {
        path: path.display().to_string(),
    })
}
