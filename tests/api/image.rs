//! The Docker image, run as operators run it (docs/operations.md#how-the-image-is-tested): its default command and
//! user, the certificates mounted read-only, the configuration by environment, against this machine's MongoDB, Redis
//! and RabbitMQ and the provider simulator. `scripts/test.sh` builds the image (`scripts/image.sh`) and names it in
//! `DS_AGENT_IMAGE`; without it, as in a plain `cargo test`, there is no image to test and the test says so.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ds_agent::domain::ChildId;
use reqwest::StatusCode;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};

use crate::binary::free_port;
use crate::bus_probe::BusProbe;
use crate::helpers::{eventually, http_client, test_database_name, unique_name, Teardown};

/// `podman` with the settings of `scripts/podman.env` (runc, cgroupfs, the host's ulimits).
fn podman(args: &[&str]) -> Output {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/containers.conf");
    Command::new("podman").env("CONTAINERS_CONF", conf).args(args).output().expect("podman runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Removes the container, and the queues its `UserDeleteEvent` subscription declared on the shared broker, however
/// the test ends.
struct Container {
    name: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "--force", "--time", "0", &self.name]);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async {
                let connect = lapin::Connection::connect(crate::bus_probe::BROKER, Default::default());
                if let Ok(Ok(connection)) = tokio::time::timeout(Duration::from_secs(5), connect).await {
                    if let Ok(channel) = connection.create_channel().await {
                        for queue in [
                            ds_agent::config::APP_NAME.to_string(),
                            format!("{}.dead-letter", ds_agent::config::APP_NAME),
                        ] {
                            let _ = channel.queue_delete(&queue, Default::default()).await;
                        }
                    }
                }
            })
        });
        let _ = thread.join();
    }
}

/// A self-signed pair for `localhost` in `dir`, readable by the image's user (uid 10001) through a read-only mount.
fn write_pair(dir: &Path) -> Vec<u8> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    for (name, contents) in [("server.crt", certified.cert.pem()), ("server.key", certified.key_pair.serialize_pem())] {
        let staged = dir.join(format!("{name}.new"));
        std::fs::write(&staged, contents).unwrap();
        std::fs::set_permissions(&staged, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        std::fs::rename(&staged, dir.join(name)).unwrap();
    }
    certified.cert.der().to_vec()
}

/// The certificate the server presents to a new connection.
async fn presented(port: u16, trusted: &[&[u8]]) -> Option<Vec<u8>> {
    let mut roots = rustls::RootCertStore::empty();
    for der in trusted {
        roots.add(CertificateDer::from(der.to_vec())).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .ok()?;
    Some(stream.get_ref().1.peer_certificates()?[0].to_vec())
}

#[tokio::test]
async fn the_image_serves_syncs_and_reloads_its_certificate_as_operators_run_it() {
    let Ok(image) = std::env::var("DS_AGENT_IMAGE") else {
        eprintln!("DS_AGENT_IMAGE is not set: no image to test (scripts/test.sh builds one and sets it)");
        return;
    };
    // Nothing secret or of the tests' in the image: no private key, no .env, no sources, no registry CA bundle.
    let leftovers = podman(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--ulimit",
        "host",
        &image,
        "sh",
        "-c",
        "grep -rlsI 'PRIVATE KEY' /usr /etc /root /home /opt /srv /var 2>/dev/null; \
         ls -d /usr/src/ds/.env /usr/src/ds/src /usr/src/ds/tests /usr/src/ds/.certs /usr/local/share/registry-ca.pem \
               /usr/local/cargo /usr/local/rust 2>/dev/null; true",
    ]);
    assert!(leftovers.status.success(), "{}", String::from_utf8_lossy(&leftovers.stderr));
    assert_eq!(stdout(&leftovers), "", "the image carries what it must not");

    let sim = provider_sim::Simulator::start(provider_sim::SimConfig::default(), "127.0.0.1:0").await.unwrap();
    let certs = tempfile::tempdir().unwrap();
    std::fs::set_permissions(certs.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let first = write_pair(certs.path());
    let (https, http) = (free_port(), free_port());
    let database = test_database_name();
    let mongodb_uri = format!("mongodb://127.0.0.1:27017/{database}");
    let _database = Teardown::for_environment(&HashMap::from([("MONGODB_URI_TEST".to_string(), mongodb_uri.clone())]));
    let base = sim.base_url();
    let name = unique_name("ds-agent-image-test");
    let env = [
        ("NODE_ENV", "production".to_string()),
        ("PORT_HTTPS", https.to_string()),
        ("PORT_HTTP", http.to_string()),
        ("SSL_CERT_PATH", "/certs/server.crt".into()),
        ("SSL_KEY_PATH", "/certs/server.key".into()),
        ("MONGODB_URI", mongodb_uri),
        ("GOOGLE_CLIENT_ID", "sim-google-client.apps.googleusercontent.com".into()),
        ("GOOGLE_CLIENT_SECRET", "sim-google-secret".into()),
        ("GOOGLE_HEALTH_API_URL", base.clone()),
        ("GOOGLE_OAUTH_URL", base),
        ("GOOGLE_REQUESTS_PER_SECOND", "1000".into()),
        ("SYNC_ROUTE_WAIT_SECS", "170".into()),
    ];
    let mount = format!("{}:/certs:ro", certs.path().display());
    let mut args: Vec<String> =
        ["run", "--detach", "--name", &name, "--network", "host", "--ulimit", "host", "--volume", &mount]
            .iter()
            .map(|s| s.to_string())
            .collect();
    for (key, value) in &env {
        args.extend(["--env".to_string(), format!("{key}={value}")]);
    }
    args.push(image.clone());
    let started = podman(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(started.status.success(), "podman run: {}", String::from_utf8_lossy(&started.stderr));
    let _container = Container { name: name.clone() };

    // Ready from outside.
    let client = http_client();
    let url = |path: &str| format!("https://127.0.0.1:{https}{path}");
    let ready = eventually(Duration::from_secs(90), || async {
        client.get(url("/health/ready")).send().await.is_ok_and(|r| r.status() == StatusCode::OK)
    });
    assert!(ready.await, "not ready: {}", stdout(&podman(&["logs", &name])));

    // Its own HEALTHCHECK passes inside, and it is not root.
    let health = podman(&["healthcheck", "run", &name]);
    assert!(health.status.success(), "healthcheck: {} {}", stdout(&health), String::from_utf8_lossy(&health.stderr));
    assert_eq!(stdout(&podman(&["exec", &name, "id", "-u"])), "10001");

    // A Google child connected and synced through it, its data on RabbitMQ.
    let mut probe = BusProbe::bind(&["physicalactivities.sync", "sleep.sync"]).await;
    let child = ChildId::from(mongodb::bson::oid::ObjectId::new());
    let tokens = sim.issue_google_tokens(&unique_name("IMG"), provider_sim::GOOGLE_HEALTH_SCOPES, 3600);
    let body =
        json!({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token, "provider": "google"});
    let auth = client.post(url(&format!("/v1/users/{child}/fitbit/auth"))).json(&body).send().await.unwrap();
    assert_eq!(auth.status(), StatusCode::NO_CONTENT, "{:?}", auth.text().await);
    let sync = client.post(url(&format!("/v1/users/{child}/fitbit/sync"))).send().await.unwrap();
    assert_eq!(sync.status(), StatusCode::OK);
    let counts: Value = sync.json().await.unwrap();
    assert!(counts["activities"].as_u64().unwrap_or(0) + counts["sleep"].as_u64().unwrap_or(0) > 0, "{counts}");
    let event = probe.next_for(&child.to_string(), Duration::from_secs(60)).await;
    assert!(event.is_some(), "the child's data reached RabbitMQ");

    // Logs where the operations doc says: the console line format on stdout, JSON lines under /usr/src/ds/logs.
    let console = podman(&["logs", &name]);
    let console = format!("{}{}", stdout(&console), String::from_utf8_lossy(&console.stderr));
    assert!(console.contains("ds.app @") && console.contains("TOKEN_ENCRYPTION_KEY is not set"), "{console}");
    let file = stdout(&podman(&["exec", &name, "sh", "-c", "cat /usr/src/ds/logs/*results.log"]));
    let line: Value = serde_json::from_str(file.lines().next().expect("a JSON log line")).unwrap();
    assert_eq!(line["level"], "warn", "{line}");

    // A renewed certificate on the mounted files, and SIGHUP: new connections get it.
    let second = write_pair(certs.path());
    assert!(podman(&["kill", "--signal", "HUP", &name]).status.success());
    let renewed = eventually(Duration::from_secs(30), || async {
        presented(https, &[&first, &second]).await.as_deref() == Some(second.as_slice())
    });
    assert!(renewed.await, "the renewed certificate was not served");

    // SIGTERM ends it within the grace period, with exit code 0.
    let stopping = Instant::now();
    let stopped = podman(&["stop", "--time", "30", &name]);
    assert!(stopped.status.success(), "{}", String::from_utf8_lossy(&stopped.stderr));
    assert!(stopping.elapsed() < Duration::from_secs(20), "took {:?} to stop", stopping.elapsed());
    assert_eq!(stdout(&podman(&["inspect", "--format", "{{.State.ExitCode}}", &name])), "0");
}
