//! A hostile or compromised provider (docs/operations.md#provider-answers-and-links): tokens go only to the provider's
//! own origin, no redirect is followed, every answer is read up to a cap, `Retry-After` is capped, and a token issued
//! to another OAuth client is refused. The simulator plays the provider; a plain TCP listener on another port plays
//! the host a token must never reach, and counts who knocks.
//!
//! What the application read of an oversized answer is told by the simulator, which counts the bytes of such bodies
//! it streamed: a reader that stops at its cap takes the cap and what the sockets buffer, one that reads on takes
//! all. (This process's memory would also count every other test running beside.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::Utc;
use ds_agent::config::{BaseUrl, ClientCredentials};
use ds_agent::coordination::Coordination;
use ds_agent::domain::{ChildId, TokenStatus};
use ds_agent::provider::google::{GoogleClient, PacedRead, ProjectBudget};
use ds_agent::provider::page::PageBudget;
use ds_agent::provider::{ProviderErrorKind, RETRY_AFTER_CAP_SECS};
use ds_agent::tokens::RefreshError;
use futures::StreamExt;
use mongodb::bson::doc;
use provider_sim::{Fault, FaultKind, Route, SimConfig, Simulator, GOOGLE_HEALTH_SCOPES};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::helpers::{spawn_app, unique_name, TestApp};
use crate::notifications::{nothing_enqueued, notification, notification_app, post_signed};

const MIB: u64 = 1024 * 1024;

/// The tests that count failures (process-wide metrics) run one at a time.
static ONE_AT_A_TIME: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

/// Room for what loopback sockets buffer beyond what the application read.
const SOCKET_SLACK: u64 = 16 * MIB;

/// The application stopped reading the simulator's oversized answers near `cap`: far from their whole length.
fn assert_cut_near(sim: &Simulator, streamed_before: u64, cap: u64, what: &str) {
    let streamed = sim.streamed_bytes() - streamed_before;
    assert!(streamed < cap + SOCKET_SLACK, "{what}: {} MiB streamed, cap {} KiB", streamed / MIB, cap / 1024);
}

/// A host no token may reach: a plain TCP listener on another port that counts the connections it gets.
struct Sentinel {
    port: u16,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Sentinel {
    async fn start() -> Sentinel {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                // Whatever it was sent is read and dropped; no answer.
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    while matches!(socket.read(&mut buffer).await, Ok(n) if n > 0) {}
                });
            }
        });
        Sentinel { port, connections, task }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn google_client(sim: &Simulator) -> GoogleClient {
    let credentials = ClientCredentials {
        client_id: Some(SimConfig::default().google_client_id),
        client_secret: Some(SimConfig::default().google_client_secret.into()),
    };
    let base = BaseUrl::parse("GOOGLE_HEALTH_API_URL", &sim.base_url()).expect("the simulator's URL");
    GoogleClient::new(base.clone(), base, credentials, Duration::from_secs(10), 1000.0)
}

async fn resource_count(app: &TestApp, child: ChildId, kind: &str) -> u64 {
    let filter = doc! {"user_id": child.to_string(), "type": kind};
    app.store.collection("resources").count_documents(filter).await.unwrap()
}

#[tokio::test]
async fn a_page_link_to_another_host_or_port_is_not_followed_and_what_came_before_stays_recorded() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let sentinel = Sentinel::start().await;
    let list = "1.2/user/-/sleep/list.json?afterDate=2020-01-01&sort=asc&offset=100&limit=100&access_token=stolen";
    // Another port of the same host, and another host name (which resolves to the sentinel too).
    let links =
        [format!("http://127.0.0.1:{}/{list}", sentinel.port), format!("http://localhost:{}/{list}", sentinel.port)];
    let mut children = Vec::new();
    for link in &links {
        let (child, _, user) = app.connect_fitbit_user("rwei ract rsle").await;
        let fault = FaultKind::NextLink(link.clone());
        app.sim.add_fault(Fault { user: Some(user), route: Some(Route::Data), kind: fault, times: 1000 });
        children.push(child);
    }
    let answers = futures::future::join_all(children.iter().map(|child| app.sync(*child))).await;

    for (child, answer) in children.iter().zip(answers) {
        // Sleep and activities fail after their first page; weights and the logs do not: a partial sync, 200
        // (docs/decisions.md#partial-failures).
        assert_eq!(answer.status(), StatusCode::OK);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["sleep"], 100, "the first page of sleep only: {body}");
        assert_eq!(resource_count(&app, *child, "sleep").await, 100, "what was published before is recorded");
        let activities = body["activities"].as_u64().unwrap();
        assert!(activities > 0 && activities <= 100, "{body}");
        assert_eq!(resource_count(&app, *child, "activities").await, activities);
        assert!(body["weights"].as_u64().unwrap() > 0, "the other parts went on: {body}");
    }
    assert_eq!(sentinel.connections(), 0, "no request, and so no token, went to the other origin");
}

#[tokio::test]
async fn an_oversized_data_page_is_cut_at_the_cap_whether_chunked_or_declared() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let sim = Simulator::start(SimConfig::default(), "127.0.0.1:0").await.expect("simulator");
    let user = unique_name("HUGE");
    let token = sim.issue_google_tokens(&user, GOOGLE_HEALTH_SCOPES, 3600).access_token;
    let client = google_client(&sim);
    let budget = PageBudget::new(1);
    let slot = budget.slot();
    let read = PacedRead { child: "huge", slot: &slot };
    let from = Utc::now().date_naive() - chrono::Duration::days(30);
    for declared in [false, true] {
        let before = sim.streamed_bytes();
        // 50 MiB of whitespace then `{}`: valid JSON, an empty page, if it were read whole.
        let kind = FaultKind::Oversized { bytes: 50 * MIB, declared };
        sim.add_fault(Fault { user: Some(user.clone()), route: Some(Route::GoogleData), kind, times: 1 });
        let page = client.reconcile(&token, read, "exercise", from, None).boxed().next().await;
        let error = match page {
            Some(Err(error)) => error,
            other => panic!("declared {declared}: the page was taken: {other:?}"),
        };
        assert_eq!(error.kind, ProviderErrorKind::RefusedAnswer, "{error}");
        assert!(error.detail.contains("larger than 16384 KiB"), "{error}");
        assert!(!error.is_transient() && !error.publishes_event(), "a provider failure, not retried nor announced");
        assert_cut_near(&sim, before, 16 * MIB, "a 50 MiB page");
        slot.empty();
    }
    assert_eq!(sim.google_data_requests(&user).len(), 2, "read once each, not retried");
    // The same read without the fault is a page.
    let page = client.reconcile(&token, read, "exercise", from, None).boxed().next().await;
    assert!(matches!(page, Some(Ok(_))), "{page:?}");
}

/// A Google child whose access token expires within the refresh margin: its next use refreshes it.
async fn google_child_due_for_refresh(app: &TestApp) -> (ChildId, String, String) {
    let user = unique_name("REFRESH");
    let (child, tokens) = app.connect_google_user(&user, 120).await;
    (child, user, tokens.refresh_token)
}

#[tokio::test]
async fn a_50_mib_token_answer_fails_the_refresh_as_a_provider_failure_and_the_tokens_stay() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let app = spawn_app().await;
    let (child, user, refresh_token) = google_child_due_for_refresh(&app).await;
    let kind = FaultKind::Oversized { bytes: 50 * MIB, declared: false };
    app.sim.add_fault(Fault { user: Some(user.clone()), route: Some(Route::GoogleToken), kind, times: 1 });
    let before = app.sim.streamed_bytes();

    let refused = app.state.tokens.usable_tokens(child).await.map(|usable| usable.auth);
    let error = match refused {
        Err(RefreshError::Provider(error)) => error,
        other => panic!("the refresh went through: {other:?}"),
    };
    assert_eq!(error.kind, ProviderErrorKind::RefusedAnswer, "{error}");
    assert!(error.detail.contains("larger than 64 KiB"), "{error}");
    assert_cut_near(&app.sim, before, 64 * 1024, "a 50 MiB token answer");
    assert_eq!(app.sim.google_counts(&user).refresh, 1, "one try, not retried");
    let stored = app.state.userauths.find(child).await.unwrap().expect("the tokens stay");
    assert_eq!(stored.auth.refresh_token, refresh_token);
    assert_eq!(stored.auth.status, Some(TokenStatus::ValidToken), "neither marked nor removed");
    // Once the provider answers sanely, the same tokens refresh.
    assert!(app.state.tokens.usable_tokens(child).await.is_ok());
}

#[tokio::test]
async fn a_307_from_the_token_endpoint_is_not_followed_and_nothing_is_sent_again() {
    let app = spawn_app().await;
    let sentinel = Sentinel::start().await;
    let (child, user, refresh_token) = google_child_due_for_refresh(&app).await;
    let url = format!("http://127.0.0.1:{}/token", sentinel.port);
    for status in [307, 308] {
        let kind = FaultKind::Redirect { status, url: url.clone() };
        app.sim.add_fault(Fault { user: Some(user.clone()), route: Some(Route::GoogleToken), kind, times: 1 });
        let error = match app.state.tokens.usable_tokens(child).await {
            Err(RefreshError::Provider(error)) => error,
            other => panic!("{status}: the refresh went through: {:?}", other.map(|usable| usable.refreshed)),
        };
        assert_eq!(error.kind, ProviderErrorKind::RefusedAnswer, "{error}");
        assert!(!error.to_string().contains(&url), "where it points is not shown: {error}");
    }
    assert_eq!(sentinel.connections(), 0, "the refresh token and client secret were not re-sent elsewhere");
    let stored = app.state.userauths.find(child).await.unwrap().expect("the tokens stay");
    assert_eq!(stored.auth.refresh_token, refresh_token);
}

#[tokio::test]
async fn an_absurd_retry_after_on_a_project_429_pauses_the_project_for_an_hour_at_most() {
    let sim = Simulator::start(SimConfig::default(), "127.0.0.1:0").await.expect("simulator");
    let user = unique_name("QUOTA");
    let token = sim.issue_google_tokens(&user, GOOGLE_HEALTH_SCOPES, 3600).access_token;
    let coordination = Arc::new(Coordination::new("redis://127.0.0.1:6379", Duration::from_secs(5)).unwrap());
    let namespace = unique_name("hostile");
    let client_id = SimConfig::default().google_client_id;
    let budget = ProjectBudget::new(coordination, &namespace, &client_id, 6000);
    let client = google_client(&sim).with_project_budget(budget);
    let kind = FaultKind::ProjectQuota { retry_after: "99999999999".into() };
    sim.add_fault(Fault { user: Some(user.clone()), route: Some(Route::GoogleData), kind, times: 1 });

    let error = client.identity(&token).await.expect_err("the 429 fails the call");
    assert_eq!(error.kind, ProviderErrorKind::RateLimited { retry_after_secs: Some(RETRY_AFTER_CAP_SECS) });
    let key = format!("ds-agent:{namespace}:google-project:{client_id}:pause");
    let mut redis =
        redis::Client::open("redis://127.0.0.1:6379").unwrap().get_multiplexed_async_connection().await.unwrap();
    let left_ms: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut redis).await.unwrap();
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut redis).await.unwrap();
    let cap_ms = RETRY_AFTER_CAP_SECS as i64 * 1000;
    assert!(left_ms > cap_ms - 60_000 && left_ms <= cap_ms, "the project pauses for the cap: {left_ms} ms left");
}

#[tokio::test]
async fn a_google_token_issued_to_another_client_is_refused_and_nothing_stored() {
    let app = spawn_app().await;
    let user = unique_name("AUD");
    let tokens = app.sim.issue_google_tokens(&user, GOOGLE_HEALTH_SCOPES, 3600);
    let kind = FaultKind::Audience("another-app.apps.googleusercontent.com".into());
    app.sim.add_fault(Fault { user: Some(user.clone()), route: Some(Route::GoogleTokeninfo), kind, times: 1 });
    let child = ChildId::from(mongodb::bson::oid::ObjectId::new());
    let body =
        json!({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token, "provider": "google"});
    let post = || app.client.post(app.url(&format!("/v1/users/{child}/fitbit/auth"))).json(&body).send();

    let refused = post().await.unwrap();
    // POST auth's answer to a token that is not valid (docs/decisions.md#post-auth-with-an-inactive-token).
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = refused.text().await.unwrap();
    let masked = format!(
        "Access token invalid: {}…. Please submit a new access token and try again.",
        &tokens.access_token[..6]
    );
    assert!(text.contains(&masked), "{text}");
    assert!(!text.contains(&tokens.access_token));
    assert!(app.userauth_document(child).await.is_none(), "nothing stored");
    assert_eq!(app.sim.google_counts(&user).data, 0, "refused before the identity call");

    // The same tokens, once tokeninfo names this service's client, are taken: the audience was the reason.
    assert_eq!(post().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(app.sim.google_counts(&user).tokeninfo, 2);
}

#[tokio::test]
async fn an_endless_keyset_is_cut_and_the_notification_answered_503() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let app = notification_app(&[]).await;
    app.sim.add_fault(Fault { user: None, route: Some(Route::GoogleKeyset), kind: FaultKind::Endless, times: 1 });
    let before = app.sim.streamed_bytes();
    let body = json!([notification("1234", "exercise", Utc::now(), "UPSERT")]);
    let response = tokio::time::timeout(Duration::from_secs(30), post_signed(&app, &body))
        .await
        .expect("cut at the cap, not waited out to the timeout");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["message"], "Google's signing keys could not be read.");
    assert!(nothing_enqueued(&app).await);
    assert_cut_near(&app.sim, before, 256 * 1024, "an endless keyset");
    // Once the keyset is served again, the same notification is taken.
    assert_eq!(post_signed(&app, &body).await.status(), StatusCode::NO_CONTENT);
}
