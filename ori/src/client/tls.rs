//! `wss://` for the client: rustls with the system's root certificates, or
//! the CA certificates the application gives
//! ([`ClientBuilder::tls_root_pem`](super::ClientBuilder::tls_root_pem)).

use std::sync::Arc;

use tokio_tungstenite::Connector;

use super::ClientError;
use super::builder::Config;

/// The TLS connector of a `wss://` connection.
pub(crate) fn connector(config: &Config) -> Result<Connector, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    match &config.tls_roots {
        Some(pem) => {
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert
                    .map_err(|e| ClientError::Tls(format!("the given CA certificates are not PEM: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| ClientError::Tls(format!("a given CA certificate is unusable: {e}")))?;
            }
            if roots.is_empty() {
                return Err(ClientError::Tls("the given CA PEM holds no CERTIFICATE block".to_owned()));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(ClientError::Tls(
                    "no system root certificates found; give the server's CA with `tls_root_pem`".to_owned(),
                ));
            }
        }
    }
    let provider = crate::util::crypto::ring_provider();
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(tls)))
}

/// The TLS failure inside a connection error, if it is one (an untrusted,
/// expired or misnamed certificate, or a server that does not speak TLS).
pub(crate) fn tls_failure(error: &tokio_tungstenite::tungstenite::Error) -> Option<String> {
    use tokio_tungstenite::tungstenite::Error;
    match error {
        Error::Tls(error) => Some(error.to_string()),
        Error::Io(error) => {
            error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).map(ToString::to_string)
        }
        _ => None,
    }
}
