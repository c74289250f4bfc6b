//! The public surface against hostile and broken clients (docs/operations.md#security): a webhook body without the
//! secret costs nothing, every body has a deadline, an answer given before the request was read reaches the client,
//! and HTTP/2 is refused on both ports.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::binary::{agent, free_port};
use crate::helpers::{eventually, http_client, spawn_app, spawn_app_with, test_certificates, unique_name};
use crate::notifications::{notification, SECRET};

/// A TLS connection to the test server that trusts its certificate and offers no ALPN, as a hand-written client
/// would.
async fn tls(port: u16) -> tokio_rustls::client::TlsStream<TcpStream> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let pem = std::fs::read(test_certificates().0).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    });
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(config.clone());
    connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap()
}

/// Everything the server sends until it closes; an error (a reset) fails the test.
async fn read_to_close(stream: &mut (impl AsyncRead + Unpin), limit: Duration) -> Vec<u8> {
    let mut answer = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await {
        Ok(Ok(_)) => answer,
        Ok(Err(e)) => panic!("the connection broke instead of closing: {e} (read so far: {:?})", text(&answer)),
        Err(_) => panic!("not closed within {limit:?}"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The status and JSON body of one raw HTTP/1.1 answer.
fn status_and_body(answer: &[u8]) -> (u16, Value) {
    let answer = text(answer);
    let status = answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Reads one whole answer of a kept-alive connection (its head and `content-length` bytes).
async fn read_answer(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        answer.push(byte[0]);
    }
    let head = text(&answer).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    answer.extend(body);
    answer
}

#[tokio::test]
async fn six_hundred_trickled_webhook_bodies_without_the_secret_cost_nothing() {
    // The binary alone in its process, so that its memory is its own.
    let sim = provider_sim::Simulator::start(provider_sim::SimConfig::default(), "127.0.0.1:0").await.unwrap();
    let logs = tempfile::tempdir().unwrap();
    let (https, http) = (free_port(), free_port());
    let keyset = sim.google_webhook_keyset_url();
    let (mut command, _teardown) = agent(
        &[
            ("NODE_ENV", "development"),
            ("PORT_HTTPS", &https.to_string()),
            ("PORT_HTTP", &http.to_string()),
            ("GOOGLE_NOTIFICATION_SECRET", SECRET),
            ("GOOGLE_NOTIFICATION_KEYSET_URL", &keyset),
        ],
        logs.path(),
    );
    let mut child = command.spawn().unwrap();
    let pid = child.id();
    let client = http_client();
    let url = |path: &str| format!("https://127.0.0.1:{https}{path}");
    let ready = eventually(Duration::from_secs(60), || async {
        client.get(url("/health/ready")).send().await.is_ok_and(|r| r.status() == StatusCode::OK)
    });
    assert!(ready.await, "the service never got ready");
    let before = memory(pid, "VmRSS");

    // Each attacker declares a megabyte and sends a byte every half second, without Authorization.
    let attackers = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let attack = (0..600).map(|_| {
        let attackers = attackers.clone();
        let url = url("/v1/google/notifications");
        async move {
            let started = Instant::now();
            let trickle = futures::stream::unfold(0, |sent| async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                (sent < 120).then_some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{")), sent + 1))
            });
            let response = attackers
                .post(url)
                .header("content-type", "application/json")
                .header("content-length", "1000000")
                .body(reqwest::Body::wrap_stream(trickle))
                .send()
                .await;
            (response.map(|r| r.status()).ok(), started.elapsed())
        }
    });
    let attack = tokio::spawn(futures::future::join_all(attack));

    // Meanwhile, on connections opened before the attack, readiness and a signed notification answer at once.
    let health = async {
        let mut slowest = Duration::ZERO;
        for round in 0..20 {
            let started = Instant::now();
            let ready = tokio::time::timeout(Duration::from_secs(3), client.get(url("/health/ready")).send()).await;
            assert!(ready.is_ok_and(|r| r.is_ok_and(|r| r.status() == StatusCode::OK)), "round {round}");
            let body = serde_json::to_vec(&notification("HU-x", "steps", chrono::Utc::now(), "UPSERT")).unwrap();
            let signature = sim.sign_google_notification(&body);
            let request = client
                .post(url("/v1/google/notifications"))
                .header("authorization", SECRET)
                .header("X-HEALTHAPI-SIGNATURE", signature)
                .header("content-type", "application/json")
                .body(body);
            let answer = tokio::time::timeout(Duration::from_secs(3), request.send()).await;
            assert!(answer.is_ok_and(|r| r.is_ok_and(|r| r.status() == StatusCode::NO_CONTENT)), "round {round}");
            slowest = slowest.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        slowest
    };
    let slowest = health.await;
    let outcomes = attack.await.unwrap();
    let peak = memory(pid, "VmHWM");
    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = child.wait();

    let answered = outcomes.iter().filter(|(status, _)| *status == Some(StatusCode::UNAUTHORIZED)).count();
    let longest = outcomes.iter().map(|(_, took)| *took).max().unwrap();
    // Answered 401 from the head, or refused beyond HTTP_MAX_CONNECTIONS; either way within seconds, not a minute.
    assert!(longest < Duration::from_secs(8), "an attacker was held {longest:?}");
    assert!(answered >= 400, "only {answered} of 600 got their 401");
    assert!(slowest < Duration::from_secs(3), "readiness and a notification took {slowest:?}");
    assert!(peak - before < 64 * 1024, "memory grew from {before} kB to a peak of {peak} kB");
}

/// A line of `/proc/<pid>/status`, in kB.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn answers_given_before_the_request_was_read_reach_the_client() {
    let app = spawn_app().await;
    // A burst of slow-header clients, shed after the head timer.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(("127.0.0.1", app.http_port)).await.unwrap();
        stream.write_all(b"GET /v1/fitbit HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.unwrap();
        slow.push(stream);
    }
    let shed = futures::future::join_all(slow.iter_mut().map(|stream| async move {
        let mut buf = [0u8; 64];
        tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf)).await.is_ok()
    }));
    assert!(shed.await.into_iter().all(|closed| closed), "the slow clients were shed");

    // Then 200 over-long requests on kept-alive connections, 20 at a time: each gets its JSON answer, none a reset.
    let long_query = format!("GET /v1/fitbit?q={} HTTP/1.1\r\nHost: localhost\r\n\r\n", "a".repeat(70 * 1024));
    let many_headers = format!("GET /v1/fitbit HTTP/1.1\r\nHost: localhost\r\n{}\r\n", "X-Extra: 1\r\n".repeat(200));
    let requests = (0..200).map(|i| {
        let request = if i % 2 == 0 { long_query.clone() } else { many_headers.clone() };
        let port = app.https_port;
        async move {
            let mut stream = tls(port).await;
            stream.write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
            let first = read_answer(&mut stream).await;
            assert!(first.starts_with(b"HTTP/1.1 200"), "{}", text(&first));
            // Written whole, as a client does, while the server is already answering.
            let _ = stream.write_all(request.as_bytes()).await;
            let answer = read_to_close(&mut stream, Duration::from_secs(60)).await;
            status_and_body(&answer)
        }
    });
    let answers: Vec<(u16, Value)> =
        futures::StreamExt::collect(futures::StreamExt::buffer_unordered(futures::stream::iter(requests), 20)).await;
    for (status, body) in &answers {
        assert!(matches!(status, 414 | 431), "{status} {body}");
        assert_eq!(body["code"].as_u64(), Some(u64::from(*status)), "{body}");
    }
    assert_eq!(answers.iter().filter(|(status, _)| *status == 414).count(), 100);
}

#[tokio::test]
async fn http2_is_refused_on_both_ports() {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    let app = spawn_app().await;
    let mut secure = tls(app.https_port).await;
    secure.write_all(PREFACE).await.unwrap();
    let answer = read_to_close(&mut secure, Duration::from_secs(30)).await;
    let (status, body) = status_and_body(&answer);
    assert_eq!((status, body["code"].as_u64()), (505, Some(505)), "{}", text(&answer));

    let mut plain = TcpStream::connect(("127.0.0.1", app.http_port)).await.unwrap();
    plain.write_all(PREFACE).await.unwrap();
    let answer = read_to_close(&mut plain, Duration::from_secs(30)).await;
    assert!(answer.starts_with(b"HTTP/1.1 505 HTTP Version Not Supported\r\n"), "{}", text(&answer));
}

/// Writes a head that declares `length` bytes of body, then one byte every half second until the server answers.
async fn trickle<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, head: &str) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if stream.write_all(b"{").await.is_err() && !answer.is_empty() {
                    break;
                }
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never answered");
    }
    (answer, started.elapsed())
}

#[tokio::test]
async fn a_trickled_body_is_cut_at_its_deadline_and_nothing_is_stored() {
    let app = spawn_app().await;
    let child = ds_agent::domain::ChildId::from(mongodb::bson::oid::ObjectId::new());
    let mut stream = tls(app.https_port).await;
    let head = format!(
        "POST /v1/users/{child}/fitbit/auth HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: 5000\r\n\r\n"
    );
    let (answer, took) = trickle(&mut stream, &head).await;
    let (status, body) = status_and_body(&answer);
    assert_eq!((status, body["message"].as_str()), (408, Some("Request Timeout")), "{}", text(&answer));
    assert!(took < Duration::from_secs(20), "cut after {took:?}");
    assert!(app.userauth_document(child).await.is_none());
}

#[tokio::test]
async fn without_required_authorization_an_unauthenticated_body_is_small_and_quick() {
    let app = spawn_app_with(&[
        ("GOOGLE_NOTIFICATION_SECRET", SECRET),
        ("GOOGLE_NOTIFICATION_REQUIRE_AUTHORIZATION", "false"),
    ])
    .await;
    // Declared beyond the small cap: 413 from the head alone.
    let mut stream = tls(app.https_port).await;
    let head = "POST /v1/google/notifications HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Content-Length: 200000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let (status, body) = status_and_body(&read_to_close(&mut stream, Duration::from_secs(30)).await);
    assert_eq!((status, body["code"].as_u64()), (413, Some(413)));

    // Within the cap but trickled: cut after the short deadline, long before the 10 s of an authorized body.
    let mut stream = tls(app.https_port).await;
    let head = "POST /v1/google/notifications HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Content-Length: 2000\r\n\r\n";
    let (answer, took) = trickle(&mut stream, head).await;
    assert_eq!(status_and_body(&answer).0, 408, "{}", text(&answer));
    assert!(took < Duration::from_secs(8), "cut after {took:?}");

    // With the secret, the same endpoint still takes a Google batch.
    let user = unique_name("HU");
    let bytes = serde_json::to_vec(&notification(&user, "steps", chrono::Utc::now(), "UPSERT")).unwrap();
    let response = app
        .client
        .post(app.url("/v1/google/notifications"))
        .header("authorization", SECRET)
        .header("X-HEALTHAPI-SIGNATURE", app.sim.sign_google_notification(&bytes))
        .header("content-type", "application/json")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}
