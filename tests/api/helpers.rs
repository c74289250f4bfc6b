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
    /// The running application, until [`TestApp::stop_and_wait`] takes it.
    server: Option<tokio::task::JoinHandle<Result<(), ds_agent::startup::StartupError>>>,
    /// What this instance leaves behind in the shared services, removed when it is dropped.
    teardown: Teardown,
    _logs: tempfile::TempDir,
}

/// Removes what a test application created in MongoDB, Redis and RabbitMQ when it is dropped, so it runs when the
/// test fails too: on a thread of its own (a test's runtime cannot be blocked on), bounded in time, and it only
/// reports what it could not remove, since a panic in `Drop` during a failing test would abort the whole binary.
///
/// It talks to the services directly, whatever the application was pointed at (a proxy a test cut, a closed port).
pub struct Teardown {
    /// The database and the Redis keys named after it, when this instance owns them (a peer shares them with the
    /// instance it was spawned from).
    database: Option<String>,
    /// The instance's own UserDeleteEvent queue, if it has one (its dead-letter queue goes with it).
    queue: Option<String>,
}

const MONGODB: &str = "mongodb://127.0.0.1:27017";
const REDIS: &str = "redis://127.0.0.1:6379";

impl Teardown {
    /// What an application started with `vars` leaves behind (its database, and its Redis keys).
    pub fn for_environment(vars: &HashMap<String, String>) -> Teardown {
        let uri = vars.get("MONGODB_URI_TEST").map(String::as_str).unwrap_or_default();
        Teardown { database: Some(database_name(uri)), queue: None }
    }
}

/// The job queue's keys (`ds-agent:<database>:*`), the outbox lock, and the children's locks.
async fn remove_redis_keys(database: &str, children: &[String]) {
    let Ok(client) = redis::Client::open(REDIS) else { return };
    let connect = tokio::time::timeout(Duration::from_secs(5), client.get_multiplexed_async_connection());
    let Ok(Ok(mut redis)) = connect.await else {
        eprintln!("test teardown: Redis unreachable, keys of {database} left");
        return;
    };
    let mut keys: Vec<String> = Vec::new();
    if let Ok(mut found) =
        redis::AsyncCommands::scan_match::<_, String>(&mut redis, format!("ds-agent:{database}:*")).await
    {
        while let Some(key) = futures::StreamExt::next(&mut found).await {
            keys.push(key);
        }
    }
    keys.push(format!("ds-agent:lock:outbox:{database}"));
    for child in children {
        keys.push(format!("ds-agent:lock:sync:{child}"));
        keys.push(format!("ds-agent:lock:refresh:{child}"));
    }
    let removed: redis::RedisResult<()> = redis::AsyncCommands::del(&mut redis, keys).await;
    if let Err(e) = removed {
        eprintln!("test teardown: Redis keys of {database} left: {e}");
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        let (database, queue) = (self.database.take(), self.queue.take());
        if database.is_none() && queue.is_none() {
            return;
        }
        // The driver's futures are large in debug builds: a roomy stack.
        let thread = std::thread::Builder::new().stack_size(32 * 1024 * 1024).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let removal = remove_leftovers(database.as_deref(), queue.as_deref());
                if tokio::time::timeout(Duration::from_secs(30), removal).await.is_err() {
                    eprintln!("test teardown: gave up after 30 s; `scripts/test.sh` removes leftovers on its next run");
                }
            });
        });
        if !matches!(thread.map(|thread| thread.join()), Ok(Ok(()))) {
            eprintln!("test teardown: failed; `scripts/test.sh` removes leftovers on its next run");
        }
    }
}

async fn remove_leftovers(database: Option<&str>, queue: Option<&str>) {
    if let Some(name) = database {
        let children = drop_database(name).await;
        remove_redis_keys(name, &children).await;
    }
    if let Some(queue) = queue {
        remove_queue(queue).await;
        remove_queue(&ds_agent::bus::dead_letter_queue(queue)).await;
    }
}

/// Drops the database; returns the children it held, whose lock keys go too.
async fn drop_database(name: &str) -> Vec<String> {
    let options = match mongodb::options::ClientOptions::parse(MONGODB).await {
        Ok(mut options) => {
            options.server_selection_timeout = Some(Duration::from_secs(5));
            options
        }
        Err(_) => return Vec::new(),
    };
    let Ok(client) = mongodb::Client::with_options(options) else { return Vec::new() };
    let database = client.database(name);
    let users = database.collection::<mongodb::bson::Document>("userauths");
    let children = match users.distinct("user_id", mongodb::bson::doc! {}).await {
        Ok(ids) => ids.iter().filter_map(|id| id.as_object_id()).map(|id| id.to_hex()).collect(),
        Err(_) => Vec::new(),
    };
    if let Err(e) = database.drop().await {
        eprintln!("test teardown: database {name} not dropped: {e}");
    }
    children
}

async fn remove_queue(queue: &str) {
    use lapin::options::QueueDeleteOptions;
    let connection = lapin::Connection::connect(crate::bus_probe::BROKER, lapin::ConnectionProperties::default());
    let channel = match tokio::time::timeout(Duration::from_secs(5), connection).await {
        Ok(Ok(connection)) => connection.create_channel().await,
        Ok(Err(e)) => Err(e),
        Err(_) => {
            eprintln!("test teardown: RabbitMQ unreachable, queue {queue} left");
            return;
        }
    };
    let deleted = match channel {
        Ok(channel) => channel.queue_delete(queue, QueueDeleteOptions::default()).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = deleted {
        eprintln!("test teardown: queue {queue} left: {e}");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stopped first; the `teardown` field then removes what it left.
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

    /// Stops the application as SIGTERM would, and waits for it to have stopped: its outcome.
    pub async fn stop_and_wait(&mut self) -> Result<(), ds_agent::startup::StartupError> {
        self.shutdown.cancel();
        let server = self.server.take().expect("the application runs until stopped once");
        server.await.expect("the application task did not panic")
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

/// `ds-agent-test-<unix seconds>-<random>`: unique, and old enough to remove when `scripts/test.sh` finds it left
/// from an earlier run.
pub fn test_database_name() -> String {
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    unique_name(&format!("ds-agent-test-{started}"))
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
        ("MONGODB_URI_TEST", format!("mongodb://127.0.0.1:27017/{}", test_database_name())),
        ("FITBIT_CLIENT_ID", "1A2B3C".into()),
        ("FITBIT_CLIENT_SECRET", "f1tb1ts3cr3t".into()),
        // The Python stand-in on a busy machine can take seconds for a year's records.
        ("MONGODB_TIMEOUT_MS", "10000".into()),
        // The tests want the counts of a first sync, however busy the machine: the 202 path has its own test.
        ("SYNC_ROUTE_WAIT_SECS", "170".into()),
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
        // Not paced unless a test asks: the pace of a real unverified app would make every first sync take a minute.
        ("GOOGLE_REQUESTS_PER_SECOND", "1000"),
        // Read only once a test sets GOOGLE_NOTIFICATION_SECRET.
        ("GOOGLE_NOTIFICATION_KEYSET_URL", &sim.google_webhook_keyset_url()),
        // The app page the connect flow's tests send the browser back to.
        ("GOOGLE_REDIRECT_URIS", "https://app.example/done"),
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
        let mut peer = start(vars, self.sim.clone()).await;
        // The database and its keys belong to the first instance.
        peer.teardown.database = None;
        peer
    }

    /// The settings another instance on the same database would start from, for a test that builds it itself (and
    /// expects the build to fail: nothing of it is removed when the test ends, apart from what this instance owns).
    pub fn peer_settings(&self, overrides: &[(&str, &str)]) -> Settings {
        let mut vars = self.vars.clone();
        vars.insert("PORT_HTTP".into(), "0".into());
        vars.insert("PORT_HTTPS".into(), "0".into());
        for (k, v) in overrides {
            vars.insert(k.to_string(), v.to_string());
        }
        Settings::from_lookup(|name| vars.get(name).cloned()).expect("test settings")
    }

    /// A child on Google, the live provider: a new simulator user's tokens with every Health scope, valid for 8 hours,
    /// handed over through `POST …/fitbit/auth`. What most tests need.
    pub async fn connect_child(&self) -> (ChildId, TokenPair) {
        self.connect_google_user(&unique_name("G"), 8 * 3600).await
    }

    /// A child on the retired Fitbit API with fresh tokens of `scopes`, for tests of what is Fitbit's.
    pub async fn connect_fitbit_child(&self, scopes: &str) -> (ChildId, TokenPair) {
        let (child, tokens, _) = self.connect_fitbit_user(scopes).await;
        (child, tokens)
    }

    /// As [`connect_fitbit_child`](Self::connect_fitbit_child), also naming the simulator's user whose data the child
    /// has.
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

    /// The application's database through a client of the test's own, straight to MongoDB (not through a proxy the
    /// application may be pointed at, and still usable once the application has stopped).
    pub async fn direct_database(&self) -> mongodb::Database {
        let name = database_name(&self.vars["MONGODB_URI_TEST"]);
        mongodb::Client::with_uri_str(MONGODB).await.unwrap().database(&name)
    }

    /// A Fitbit child stored as the original wrote it, tokens in clear, expiring in `expires_in_secs`.
    pub async fn insert_plaintext_child(&self, expires_in_secs: i64) -> (ChildId, TokenPair) {
        let child = ChildId::from(mongodb::bson::oid::ObjectId::new());
        let tokens = self.sim.issue_fitbit_tokens(&unique_name("FB"), "ract", expires_in_secs);
        let legacy = mongodb::bson::doc! {
            "user_id": child.object_id(),
            "fitbit": {"access_token": &tokens.access_token, "expires_in": tokens.expires_at as i32,
                       "refresh_token": &tokens.refresh_token, "scope": "ract", "token_type": "Bearer",
                       "user_id": "ABC123", "status": "valid_token"},
            "created_at": mongodb::bson::Bson::DateTime(mongodb::bson::DateTime::now()), "__v": 0,
        };
        self.store.collection("userauths").insert_one(legacy).await.unwrap();
        (child, tokens)
    }

    /// The raw `userauths` document of a child.
    pub async fn userauth_document(&self, child: ChildId) -> Option<mongodb::bson::Document> {
        let filter = mongodb::bson::doc! {"user_id": child.object_id()};
        self.store.collection("userauths").find_one(filter).await.unwrap()
    }
}

/// Every log line of every test application, at debug level, in one file per test binary run under
/// `target/tmp/test-logs/`: `scripts/scan-logs.sh` reads them after the suite for anything secret
/// (docs/development.md#the-test-suite).
fn capture_logs() {
    static CAPTURED: OnceLock<()> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-logs");
        let file = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::File::create(dir.join(format!("api-{}.log", std::process::id()))));
        let Ok(file) = file else { return };
        let filter = tracing_subscriber::filter::Targets::new().with_target("ds_agent", tracing::Level::DEBUG);
        let layer = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(std::sync::Mutex::new(file));
        use tracing_subscriber::{layer::SubscriberExt, Layer};
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer.with_filter(filter)));
    });
}

async fn start(mut vars: HashMap<String, String>, sim: Arc<Simulator>) -> TestApp {
    capture_logs();
    let logs = tempfile::tempdir().unwrap();
    vars.insert("LOG_DIR".into(), logs.path().display().to_string());
    let mut settings = Settings::from_lookup(|name| vars.get(name).cloned()).expect("test settings");
    // Tests share one broker: each instance gets its own UserDeleteEvent queue, all bound to `users.delete`.
    settings.user_delete_queue = unique_name("data.sync.agent.app");
    let mut teardown = Teardown::for_environment(&vars);
    teardown.queue = Some(settings.user_delete_queue.clone());
    let app = Application::build(settings).await.expect("application failed to build");
    let (https_port, http_port) = (app.https_port(), app.http_port());
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());
    // A sync publishes its first page within a second: on the test broker (tests that name another one watch it
    // themselves), the instance is ready once connected, as it would be long before a cron tick in production.
    if !vars.contains_key("RABBITMQ_URI") {
        assert!(eventually(Duration::from_secs(60), || state.bus.is_connected()).await, "connected to RabbitMQ");
    }
    TestApp {
        server: Some(server),
        address: format!("https://127.0.0.1:{https_port}"),
        http_port,
        https_port,
        client: http_client(),
        store: state.store.clone(),
        state,
        sim,
        vars,
        shutdown,
        teardown,
        _logs: logs,
    }
}

fn database_name(uri: &str) -> String {
    let path = uri.rsplit_once('/').map_or("", |(_, path)| path);
    path.split('?').next().unwrap_or_default().to_string()
}

/// An HTTPS client that trusts the self-signed test certificate and does not follow redirects.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        // A first sync of a year of data, on a busy 2-core machine, or paced as Google paces an unverified app: the
        // tests wait for outcomes, they do not time the service.
        .timeout(Duration::from_secs(180))
        .build()
        .unwrap()
}

/// The value of one `/metrics` line, named with its labels (0 when absent).
pub async fn metric(app: &TestApp, line_start: &str) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines().find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok()).unwrap_or(0)
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
