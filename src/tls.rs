//! The HTTPS server's certificate: read at startup, and read again without a restart when it is renewed
//! (docs/operations.md#certificate-renewal). Certificates of 90 days are the norm; a restart of every instance for
//! each renewal is not. The files are read again on `SIGHUP` and whenever their contents change (checked every
//! `SSL_RELOAD_INTERVAL_SECS`); a new pair that does not load is refused with an error line and the one in use stays.
//! Connections already open keep the certificate they were made with; new ones get the new one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::error_chain::Chain;

/// Where the certificate and key are read from.
#[derive(Clone, Debug)]
pub struct CertificatePaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("cannot read {name}={path}")]
    File { name: &'static str, path: String, source: std::io::Error },
    #[error("invalid TLS certificate or key (SSL_CERT_PATH={cert}, SSL_KEY_PATH={key})")]
    Invalid { cert: String, key: String, source: InvalidPair },
}

/// What is wrong with a certificate and key that were read.
#[derive(Debug, thiserror::Error)]
pub enum InvalidPair {
    #[error("the certificate file is not valid PEM")]
    CertificatePem(#[source] rustls::pki_types::pem::Error),
    #[error("no certificate found in the PEM file")]
    NoCertificate,
    #[error("the key file holds no valid PEM private key")]
    KeyPem(#[source] rustls::pki_types::pem::Error),
    #[error("the certificate and key were refused")]
    Refused(#[source] rustls::Error),
}

/// A pair as read from disk: the server configuration it makes, the first DNS name of its certificate, and a digest of
/// both files to tell a renewal from the same files read again.
pub struct LoadedCertificate {
    pub config: Arc<rustls::ServerConfig>,
    pub dns_name: Option<String>,
    digest: [u8; 32],
}

impl CertificatePaths {
    /// Reads and checks both files.
    pub async fn load(&self) -> Result<LoadedCertificate, CertificateError> {
        let cert = read("SSL_CERT_PATH", &self.cert).await?;
        let key = read("SSL_KEY_PATH", &self.key).await?;
        let invalid = |source: InvalidPair| CertificateError::Invalid {
            cert: self.cert.display().to_string(),
            key: self.key.display().to_string(),
            source,
        };
        let chain = CertificateDer::pem_slice_iter(&cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(InvalidPair::CertificatePem(e)))?;
        let Some(leaf) = chain.first() else { return Err(invalid(InvalidPair::NoCertificate)) };
        let dns_name = webpki::EndEntityCert::try_from(leaf)
            .ok()
            .and_then(|cert| cert.valid_dns_names().find(|name| !name.starts_with('*')).map(str::to_string));
        let private_key = PrivateKeyDer::from_pem_slice(&key).map_err(|e| invalid(InvalidPair::KeyPem(e)))?;
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(|e| invalid(InvalidPair::Refused(e)))?;
        // HTTP/1.1 only, like the original's Node HTTPS server; a client that skips ALPN and sends HTTP/2's preface
        // anyway is answered 505 by `http::shedding`.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(LoadedCertificate { config: Arc::new(config), dns_name, digest: digest(&cert, &key) })
    }

    /// The digest of both files as they are now, or `None` when either cannot be read (mid-renewal, say).
    async fn current_digest(&self) -> Option<[u8; 32]> {
        let cert = tokio::fs::read(&self.cert).await.ok()?;
        let key = tokio::fs::read(&self.key).await.ok()?;
        Some(digest(&cert, &key))
    }
}

fn digest(cert: &[u8], key: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update((cert.len() as u64).to_be_bytes());
    hasher.update(cert);
    hasher.update(key);
    hasher.finalize().into()
}

async fn read(name: &'static str, path: &Path) -> Result<Vec<u8>, CertificateError> {
    tokio::fs::read(path).await.map_err(|source| CertificateError::File {
        name,
        path: path.display().to_string(),
        source,
    })
}

/// Reloads `server` from `paths` on `SIGHUP` and when the files' contents change (every `every`; `None`: on the
/// signal only), until `shutdown`.
pub fn spawn_reloader(
    paths: CertificatePaths,
    server: RustlsConfig,
    loaded: [u8; 32],
    every: Option<Duration>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = loaded;
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| tracing::warn!("Cannot listen for SIGHUP; certificates reload on file changes only: {e}"))
            .ok();
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hangup.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<Option<()>>();
            let tick = async {
                match every {
                    Some(every) => tokio::time::sleep(every).await,
                    None => std::future::pending().await,
                }
            };
            let forced = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = signalled => true,
                _ = tick => false,
            };
            if !forced && paths.current_digest().await.is_none_or(|now| now == seen) {
                continue;
            }
            match paths.load().await {
                Ok(fresh) if fresh.digest == seen && !forced => {}
                Ok(fresh) => {
                    server.reload_from_config(fresh.config);
                    seen = fresh.digest;
                    tracing::info!(
                        "TLS certificate reloaded from SSL_CERT_PATH={} (new connections use it)",
                        paths.cert.display()
                    );
                }
                Err(e) => {
                    // Marked as seen, so a broken pair is reported once, not every interval.
                    if let Some(now) = paths.current_digest().await {
                        seen = now;
                    }
                    tracing::error!("TLS certificate not reloaded, the one in use stays: {}", Chain(&e));
                }
            }
        }
    })
}

impl LoadedCertificate {
    /// The digest the reloader compares the files with.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pair_that_does_not_load_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let paths = CertificatePaths { cert: cert.clone(), key: key.clone() };

        let Err(missing) = paths.load().await else { panic!("loaded a pair that does not exist") };
        let expected = format!("cannot read SSL_CERT_PATH={}: ", cert.display());
        assert!(Chain(&missing).to_string().starts_with(&expected), "{}", Chain(&missing));
        assert!(
            matches!(missing, CertificateError::File { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        );

        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let Err(empty) = paths.load().await else { panic!("loaded a pair without a certificate") };
        let expected = format!(
            "invalid TLS certificate or key (SSL_CERT_PATH={}, SSL_KEY_PATH={}): no certificate found in the PEM file",
            cert.display(),
            key.display()
        );
        assert_eq!(Chain(&empty).to_string(), expected);
    }
}
