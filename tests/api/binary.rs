//! The built binary: configuration errors stop it with one clear line and a non-zero code; SIGTERM stops it cleanly.

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{eventually, http_client, test_environment, Teardown};

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The binary with a test environment, and what it leaves behind to remove when the test ends.
pub(crate) fn agent(overrides: &[(&str, &str)], logs: &std::path::Path) -> (Command, Teardown) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ds-agent"));
    // An empty working directory, so no .env of the developer's leaks in.
    command.current_dir(logs).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    let mut vars = test_environment(overrides);
    // Outside NODE_ENV=test the binary reads MONGODB_URI: the test database, never the developer's.
    vars.insert("MONGODB_URI".into(), vars["MONGODB_URI_TEST"].clone());
    for (k, v) in &vars {
        command.env(k, v);
    }
    command.env("LOG_DIR", logs.join("logs"));
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    (command, Teardown::for_environment(&vars))
}

#[test]
fn invalid_configuration_stops_the_process_with_one_clear_line() {
    let logs = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("EXPRESSION_AUTO_SYNC", "not a cron")], "EXPRESSION_AUTO_SYNC"),
        (&[("PORT_HTTPS", "https")], "PORT_HTTPS"),
        (&[("SSL_CERT_PATH", "/nonexistent/server.crt")], "SSL_CERT_PATH=/nonexistent/server.crt"),
        (&[("RABBITMQ_URI", "http://broker")], "RABBITMQ_URI"),
        (&[("TOKEN_ENCRYPTION_KEY", "c2hvcnQ=")], "TOKEN_ENCRYPTION_KEY"),
    ];
    for (overrides, expected) in cases {
        let (mut command, _teardown) = agent(overrides, logs.path());
        let output = command.output().unwrap();
        assert!(!output.status.success(), "{expected}: must exit non-zero");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{expected}: one line, got {stderr:?}");
        assert!(lines[0].starts_with("ds-agent: ") && lines[0].contains(expected), "{stderr}");
    }
}

#[test]
fn a_port_in_use_is_a_startup_error() {
    let logs = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let (mut command, _teardown) = agent(&[("PORT_HTTPS", &port)], logs.path());
    let output = command.output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("PORT_HTTPS={port}")));
}

#[tokio::test]
async fn sigterm_stops_the_service_gracefully_with_exit_code_0() {
    let logs = tempfile::tempdir().unwrap();
    let (https, http) = (free_port(), free_port());
    let (mut command, _teardown) = agent(
        &[("NODE_ENV", "development"), ("PORT_HTTPS", &https.to_string()), ("PORT_HTTP", &http.to_string())],
        logs.path(),
    );
    let mut child = command.spawn().unwrap();
    let client = http_client();
    let url = format!("https://127.0.0.1:{https}/health/live");
    let up = eventually(Duration::from_secs(60), || async {
        client.get(&url).send().await.map(|r| r.status() == StatusCode::OK).unwrap_or(false)
    })
    .await;
    assert!(up, "the service never answered");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exited = eventually(Duration::from_secs(60), || {
        let done = matches!(child.try_wait(), Ok(Some(_)));
        async move { done }
    })
    .await;
    assert!(exited, "still running a minute after SIGTERM");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("debug: Background services successfully closed..."), "{stdout}");
    assert!(stdout.contains(&format!("debug: Server HTTPS running on port {https}")), "{stdout}");
    assert!(client.get(&url).send().await.is_err(), "the port must be closed");

    // The daily JSON file holds the same lines.
    let file = std::fs::read_dir(logs.path().join("logs")).unwrap().next().unwrap().unwrap().path();
    let first: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&file).unwrap().lines().next().unwrap()).unwrap();
    assert!(file.to_string_lossy().ends_with("results.log"));
    assert!(first["level"].is_string() && first["message"].is_string() && first["timestamp"].is_string());
}
