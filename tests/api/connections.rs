//! Connection handling: the servers shed what does not behave. Slow headers and idle connections are closed, too many
//! connections are refused at once, and what hyper would answer with an empty body (an undecodable path, an
//! over-long request line, too many headers) gets the documented JSON error.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, spawn_app_with};

/// Reads until the server closes the connection (or `limit` passes): whether it did.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn a_thousand_slow_header_connections_are_closed_and_health_answers_throughout() {
    let app = spawn_app_with(&[("HTTP_MAX_CONNECTIONS", "1500")]).await;
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(("127.0.0.1", app.http_port)).await.unwrap();
        // A head that never ends.
        stream.write_all(b"GET /v1/fitbit HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.unwrap();
        slow.push(stream);
    }
    let health = async {
        let mut answers = 0;
        for _ in 0..30 {
            assert_eq!(app.get("/health/live").await.status(), StatusCode::OK, "health answered throughout");
            answers += 1;
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        answers
    };
    let closing = futures::future::join_all(slow.iter_mut().map(|s| closed_within(s, Duration::from_secs(60))));
    let (answers, closed) = tokio::join!(health, closing);
    assert_eq!(answers, 30);
    assert!(closed.iter().all(|c| *c), "{} of 1000 still open", closed.iter().filter(|c| !**c).count());
}

#[tokio::test]
async fn connections_beyond_the_maximum_are_refused_at_once() {
    let app = spawn_app_with(&[("HTTP_MAX_CONNECTIONS", "3")]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(("127.0.0.1", app.http_port)).await.unwrap());
    }
    let mut refused = TcpStream::connect(("127.0.0.1", app.http_port)).await.unwrap();
    refused.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.ok();
    assert!(closed_within(&mut refused, Duration::from_secs(30)).await, "closed without an answer");
    drop(held);
    let answered = crate::helpers::eventually(Duration::from_secs(60), || async {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", app.http_port)).await else { return false };
        let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
        let mut head = [0u8; 12];
        matches!(tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut head)).await, Ok(Ok(_)))
            && head.starts_with(b"HTTP/1.1 301")
    });
    assert!(answered.await, "served again once the connections are gone");
}

#[tokio::test]
async fn framework_errors_have_the_documented_json_body() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/v1/users/%FF/fitbit/sync")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Some ID provided does not have a valid format!");

    // Longer than an HTTP client library will even build: written by hand (the plain port shares the rules).
    let mut stream = TcpStream::connect(("127.0.0.1", app.http_port)).await.unwrap();
    let request = format!("GET /v1/fitbit?q={} HTTP/1.1\r\nHost: localhost\r\n\r\n", "a".repeat(70 * 1024));
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!((body["code"].as_u64(), body["message"].as_str()), (Some(414), Some("URI Too Long")));

    let mut request = app.client.get(app.url("/v1/fitbit"));
    for i in 0..200 {
        request = request.header(format!("x-extra-{i}"), "1");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["code"].as_u64(), body["message"].as_str()), (Some(431), Some("Request Header Fields Too Large")));

    // The connection budget is back: an ordinary request still works.
    assert_eq!(app.get("/v1/fitbit").await.status(), StatusCode::OK);
}
