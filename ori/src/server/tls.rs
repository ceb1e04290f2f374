//! [`Tls`]: `https://` and `wss://` on the server's port, from PEM files
//! that can be reloaded while the server runs (rustls, via tokio-rustls).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::ring::sign::any_supported_type;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::Error;
use crate::util::sync::{read, write};

/// The server's TLS: a certificate chain and its private key, read from PEM
/// files. Every connection on the port is TLS (HTTP routes and WebSockets
/// alike). Cheap to clone; [`reload`](Self::reload) on any clone replaces
/// the certificate for new connections (e.g. on SIGHUP, or after a renewal),
/// without a restart; open connections keep theirs.
///
/// ```no_run
/// use ori::{Ori, Tls};
///
/// # async fn run() -> Result<(), ori::Error> {
/// let tls = Tls::from_pem_files("/etc/ori/cert.pem", "/etc/ori/key.pem")?;
/// let reload = tls.clone(); // call `reload.reload()` when the files change
/// Ori::create().websocket_at("/ws").tls(tls).listen("0.0.0.0:443").await
/// # }
/// ```
#[derive(Clone)]
pub struct Tls {
    inner: Arc<Inner>,
}

struct Inner {
    cert_path: PathBuf,
    key_path: PathBuf,
    resolver: Arc<Resolver>,
    config: Arc<rustls::ServerConfig>,
}

/// Hands every handshake the current certificate.
#[derive(Debug)]
struct Resolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(read(&self.current).clone())
    }
}

impl Tls {
    /// Reads the certificate chain (`cert`, PEM, leaf first) and its private
    /// key (`key`, PEM: PKCS#8, PKCS#1 or SEC1). The error names the file
    /// and what is wrong with it.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Tls, Error> {
        let (cert_path, key_path) = (cert.as_ref().to_owned(), key.as_ref().to_owned());
        let resolver = Arc::new(Resolver { current: RwLock::new(load(&cert_path, &key_path)?) });
        let provider = crate::util::crypto::ring_provider();
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls { inner: Arc::new(Inner { cert_path, key_path, resolver, config: Arc::new(config) }) })
    }

    /// Reads the PEM files again; new connections get the new certificate.
    /// On an error the current certificate stays in use.
    pub fn reload(&self) -> Result<(), Error> {
        let key = load(&self.inner.cert_path, &self.inner.key_path)?;
        *write(&self.inner.resolver.current) = key;
        tracing::info!(cert = %self.inner.cert_path.display(), "TLS certificate reloaded");
        Ok(())
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.inner.config.clone())
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.inner.cert_path)
            .field("key", &self.inner.key_path)
            .finish_non_exhaustive()
    }
}

fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<CertifiedKey>, Error> {
    let fail = |path: &Path, what: String| Error::Tls(format!("{}: {what}", path.display()));
    let cert_pem = std::fs::read(cert_path).map_err(|e| fail(cert_path, e.to_string()))?;
    let chain = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(cert_path, format!("not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(fail(cert_path, "no CERTIFICATE block".to_owned()));
    }
    let key_pem = std::fs::read(key_path).map_err(|e| fail(key_path, e.to_string()))?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| fail(key_path, format!("not PEM: {e}")))?
        .ok_or_else(|| fail(key_path, "no PRIVATE KEY block".to_owned()))?;
    let signing_key = any_supported_type(&key).map_err(|e| fail(key_path, format!("unusable key: {e}")))?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified.keys_match().map_err(|e| fail(key_path, format!("does not match the certificate: {e}")))?;
    Ok(Arc::new(certified))
}
