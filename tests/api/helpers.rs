//! `spawn_app()`: a fresh application per test, with its own database name, its own ports and its own log folder.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ds_agent::config::Settings;
use ds_agent::domain::ChildId;
use ds_agent::http::AppState;
use ds_agent::startup::Application;
use ds_agent::store::Store;
use provider_sim::{SimConfig, Simulator, TokenPair};
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub address: String,
    pub http_port: u16,
    pub https_port: u16,
    pub client: reqwest::Client,
    pub store: Store,
    pub state: AppState,
    /// This test's own provider simulator, reached over HTTP through `FITBIT_API_URL`.
    pub sim: Arc<Simulator>,
    /// The variables the application was built from, for a second instance on the same database.
    vars: HashMap<String, String>,
    shutdown: CancellationToken,
    _logs: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Stops the application as SIGTERM would.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request failed")
    }
}

/// Self-signed certificate and key, written once per test binary.
pub fn test_certificates() -> (&'static PathBuf, &'static PathBuf) {
    static CERTS: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    let (_, cert, key) = CERTS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        let cert = dir.path().join("server.crt");
        let key = dir.path().join("server.key");
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        (dir, cert, key)
    });
    (cert, key)
}

pub fn unique_name(prefix: &str) -> String {
    use rand::Rng;
    let suffix: u64 = rand::thread_rng().gen();
    format!("{prefix}-{suffix:016x}")
}

/// The environment a test application starts from; `overrides` replace or add variables.
pub fn test_environment(overrides: &[(&str, &str)]) -> HashMap<String, String> {
    let (cert, key) = test_certificates();
    let mut vars: HashMap<String, String> = [
        ("NODE_ENV", "test".to_string()),
        ("PORT_HTTP", "0".into()),
        ("PORT_HTTPS", "0".into()),
        ("SSL_CERT_PATH", cert.display().to_string()),
        ("SSL_KEY_PATH", key.display().to_string()),
        ("MONGODB_URI_TEST", format!("mongodb://127.0.0.1:27017/{}", unique_name("ds-agent-test"))),
        ("FITBIT_CLIENT_ID", "1A2B3C".into()),
        ("FITBIT_CLIENT_SECRET", "f1tb1ts3cr3t".into()),
        ("MONGODB_TIMEOUT_MS", "2000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let sim = Arc::new(Simulator::start(SimConfig::default(), "127.0.0.1:0").await.expect("simulator"));
    let base = sim.base_url();
    let mut vars = test_environment(&[
        ("FITBIT_API_URL", &base),
        ("GOOGLE_HEALTH_API_URL", &base),
        ("GOOGLE_OAUTH_URL", &base),
        ("GOOGLE_CLIENT_ID", "sim-google-client.apps.googleusercontent.com"),
        ("GOOGLE_CLIENT_SECRET", "sim-google-secret"),
    ]);
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    start(vars, sim).await
}

impl TestApp {
    /// Another instance of the service on the same database and simulator, as in a multi-instance deployment.
    pub async fn spawn_peer(&self, overrides: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars.clone();
        vars.insert("PORT_HTTP".into(), "0".into());
        vars.insert("PORT_HTTPS".into(), "0".into());
        for (k, v) in overrides {
            vars.insert(k.to_string(), v.to_string());
        }
        start(vars, self.sim.clone()).await
    }

    /// A child with fresh simulator tokens, handed over through `POST …/fitbit/auth`.
    pub async fn connect_child(&self, scopes: &str) -> (ChildId, TokenPair) {
        let (child, tokens, _) = self.connect_fitbit_user(scopes).await;
        (child, tokens)
    }

    /// As [`connect_child`](Self::connect_child), also naming the simulator's user whose data the child has.
    pub async fn connect_fitbit_user(&self, scopes: &str) -> (ChildId, TokenPair, String) {
        let child = ChildId::from(mongodb::bson::oid::ObjectId::new());
        let user = unique_name("FB");
        let tokens = self.sim.issue_fitbit_tokens(&user, scopes, 8 * 3600);
        let response = self.post_auth(child, &tokens).await;
        assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT, "{:?}", response.text().await);
        (child, tokens, user)
    }

    /// A child connected through Google: simulator tokens for `user`, handed over with `provider: google`.
    pub async fn connect_google_user(&self, user: &str, expires_in_secs: i64) -> (ChildId, TokenPair) {
        let child = ChildId::from(mongodb::bson::oid::ObjectId::new());
        let tokens = self.sim.issue_google_tokens(user, provider_sim::GOOGLE_HEALTH_SCOPES, expires_in_secs);
        let body = serde_json::json!({
            "access_token": tokens.access_token, "refresh_token": tokens.refresh_token, "provider": "google"
        });
        let response =
            self.client.post(self.url(&format!("/v1/users/{child}/fitbit/auth"))).json(&body).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT, "{:?}", response.text().await);
        (child, tokens)
    }

    pub async fn sync(&self, child: ChildId) -> reqwest::Response {
        self.client.post(self.url(&format!("/v1/users/{child}/fitbit/sync"))).send().await.unwrap()
    }

    pub async fn post_auth(&self, child: ChildId, tokens: &TokenPair) -> reqwest::Response {
        let body = serde_json::json!({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token});
        self.client.post(self.url(&format!("/v1/users/{child}/fitbit/auth"))).json(&body).send().await.unwrap()
    }

    /// The raw `userauths` document of a child.
    pub async fn userauth_document(&self, child: ChildId) -> Option<mongodb::bson::Document> {
        let filter = mongodb::bson::doc! {"user_id": child.object_id()};
        self.store.collection("userauths").find_one(filter).await.unwrap()
    }
}

async fn start(mut vars: HashMap<String, String>, sim: Arc<Simulator>) -> TestApp {
    let logs = tempfile::tempdir().unwrap();
    vars.insert("LOG_DIR".into(), logs.path().display().to_string());
    let mut settings = Settings::from_lookup(|name| vars.get(name).cloned()).expect("test settings");
    // Tests share one broker: each instance gets its own UserDeleteEvent queue, all bound to `users.delete`.
    settings.user_delete_queue = unique_name("data.sync.agent.app");
    let app = Application::build(settings).await.expect("application failed to build");
    let (https_port, http_port) = (app.https_port(), app.http_port());
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("https://127.0.0.1:{https_port}"),
        http_port,
        https_port,
        client: http_client(),
        store: state.store.clone(),
        state,
        sim,
        vars,
        shutdown,
        _logs: logs,
    }
}

/// An HTTPS client that trusts the self-signed test certificate and does not follow redirects.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Polls `check` every 100 ms until it returns true or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
