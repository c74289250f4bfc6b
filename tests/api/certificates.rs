//! The HTTPS certificate is renewed without a restart (docs/operations.md#certificate-renewal): new connections get
//! the new pair, open ones keep theirs, and a broken pair is refused while the one in use stays.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{eventually, spawn_app_with};

/// A self-signed pair for `localhost`, written where the service reads it (replaced whole, as a renewal does).
fn write_pair(dir: &Path) -> Vec<u8> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    replace(&dir.join("server.crt"), certified.cert.pem().as_bytes());
    replace(&dir.join("server.key"), certified.key_pair.serialize_pem().as_bytes());
    certified.cert.der().to_vec()
}

/// Writes a file beside `path`, then renames it over: the reader sees the old or the new one, never half.
fn replace(path: &Path, contents: &[u8]) {
    let staged = path.with_extension("new");
    std::fs::write(&staged, contents).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// A TLS connection that trusts `trusted`; the certificate the server presented.
async fn connect(port: u16, trusted: &[&[u8]]) -> (tokio_rustls::client::TlsStream<TcpStream>, Vec<u8>) {
    let mut roots = rustls::RootCertStore::empty();
    for der in trusted {
        roots.add(CertificateDer::from(der.to_vec())).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let presented = stream.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    (stream, presented)
}

/// One request on a kept-alive connection: its status line.
async fn live(stream: &mut tokio_rustls::client::TlsStream<TcpStream>) -> String {
    stream.write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await.unwrap().unwrap();
    String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_renewed_certificate_is_served_to_new_connections_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_pair(dir.path());
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    let app = spawn_app_with(&[
        ("SSL_CERT_PATH", cert.to_str().unwrap()),
        ("SSL_KEY_PATH", key.to_str().unwrap()),
        ("SSL_RELOAD_INTERVAL_SECS", "1"),
    ])
    .await;
    let (mut open, presented) = connect(app.https_port, &[&first]).await;
    assert_eq!(presented, first);
    assert_eq!(live(&mut open).await, "HTTP/1.1 200 OK");

    let second = write_pair(dir.path());
    let renewed =
        eventually(Duration::from_secs(60), || async { connect(app.https_port, &[&first, &second]).await.1 == second });
    assert!(renewed.await, "new connections never got the renewed certificate");
    assert_eq!(live(&mut open).await, "HTTP/1.1 200 OK", "the open connection is unharmed");

    // A broken pair (a key that is not PEM) is refused: the renewed one stays in use.
    replace(&key, b"not a key");
    tokio::time::sleep(Duration::from_secs(3)).await;
    for _ in 0..3 {
        assert_eq!(connect(app.https_port, &[&first, &second]).await.1, second);
    }
    // Once the files make a pair again, it is taken.
    let third = write_pair(dir.path());
    let fixed = eventually(Duration::from_secs(60), || async {
        connect(app.https_port, &[&first, &second, &third]).await.1 == third
    });
    assert!(fixed.await, "the repaired pair was never taken");
    assert!(CertificateDer::pem_slice_iter(&std::fs::read(&cert).unwrap()).count() == 1);
}
