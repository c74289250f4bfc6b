//! Google Health notifications, from the webhook to a narrowed sync. The simulator plays Google: it registers a subscriber (checking the
//! endpoint as Google does), signs what it sends with its Tink key and serves the keyset; the tests also sign their
//! own floods with that key.

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use ds_agent::domain::ChildId;
use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::bus_probe::BusProbe;
use crate::helpers::{eventually, metric, spawn_app, spawn_app_with, unique_name, TestApp};

pub(crate) const SECRET: &str = "Bearer 5f1c0e9a7b3d4c2e8f6a1b0c9d8e7f6a";

pub(crate) async fn notification_app(extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("GOOGLE_NOTIFICATION_SECRET", SECRET), ("GOOGLE_NOTIFICATION_COALESCE_SECS", "1")];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

fn endpoint(app: &TestApp) -> String {
    app.url("/v1/google/notifications")
}

/// A Google Health notification of `data_type` for `health_user` over the day before `at`, in Google's shape (a
/// day, so that the civil dates cover `at` in whatever zone the simulated person lives).
pub(crate) fn notification(health_user: &str, data_type: &str, at: DateTime<Utc>, operation: &str) -> Value {
    let from = at - chrono::Duration::days(1);
    let civil = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    json!({"data": {"version": "1", "clientProvidedSubscriptionName": unique_name("n"), "healthUserId": health_user,
        "operation": operation, "dataType": data_type, "intervals": [{
            "physicalTimeInterval": {"startTime": from.to_rfc3339(), "endTime": at.to_rfc3339()},
            "civilIso8601TimeInterval": {"startTime": civil(from), "endTime": civil(at)}}]}})
}

async fn post(app: &TestApp, body: &[u8], authorization: Option<&str>, signature: Option<String>) -> reqwest::Response {
    let mut request = app.client.post(endpoint(app)).header("content-type", "application/json").body(body.to_vec());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    if let Some(signature) = signature {
        request = request.header("X-HEALTHAPI-SIGNATURE", signature);
    }
    request.send().await.unwrap()
}

pub(crate) async fn post_signed(app: &TestApp, body: &Value) -> reqwest::Response {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = app.sim.sign_google_notification(&bytes);
    post(app, &bytes, Some(SECRET), Some(signature)).await
}

/// Nothing waits for a window and no job is queued.
pub(crate) async fn nothing_enqueued(app: &TestApp) -> bool {
    let mut redis =
        redis::Client::open("redis://127.0.0.1:6379").unwrap().get_multiplexed_async_connection().await.unwrap();
    let waiting: u64 =
        redis::cmd("ZCARD").arg(app.state.jobs.keys().notify_due()).query_async(&mut redis).await.unwrap();
    waiting == 0 && app.state.jobs.depth().await.unwrap() == 0
}

/// A service account's access token from the simulator's token endpoint (it does not check the JWT's signature).
async fn service_token(app: &TestApp) -> String {
    let part = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let claims = json!({"iss": "ds-agent@ocariot.iam.gserviceaccount.com", "aud": "https://oauth2.googleapis.com/token",
                        "scope": "https://www.googleapis.com/auth/cloud-platform", "iat": 0, "exp": 4_000_000_000u64});
    let assertion = format!("{}.{}.{}", part(json!({"alg": "RS256"})), part(claims), URL_SAFE_NO_PAD.encode("sig"));
    let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())];
    let response = app.client.post(format!("{}/token", app.sim.base_url())).form(&form).send().await.unwrap();
    response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

async fn create_subscriber(app: &TestApp, secret: &str, data_types: &[&str]) -> reqwest::Response {
    let token = service_token(app).await;
    let body = json!({"endpointUri": endpoint(app),
        "subscriberConfigs": [{"dataTypes": data_types, "subscriptionCreatePolicy": "AUTOMATIC"}],
        "endpointAuthorization": {"secret": secret}});
    app.client
        .post(format!("{}/v4/projects/123456789/subscribers", app.sim.base_url()))
        .query(&[("subscriberId", unique_name("ds"))])
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A Google child with everything the simulator holds for its last week published, so that a notification makes a
/// targeted sync with nothing else new. (The year before stays unread: its first sync is skipped by a `last_sync`.)
pub(crate) async fn synced_google_child(app: &TestApp, user: &str) -> ChildId {
    let (child, _) = app.connect_google_user(user, 3600).await;
    let last_sync = (Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let update = doc! {"$set": {"fitbit.last_sync": last_sync}};
    app.store.collection("userauths").update_one(doc! {"user_id": child.object_id()}, update).await.unwrap();
    assert_eq!(app.sync(child).await.status(), StatusCode::OK);
    child
}

#[tokio::test]
async fn the_endpoint_check_passes_with_the_secret_and_fails_without_it() {
    let app = notification_app(&[]).await;
    let created = create_subscriber(&app, SECRET, &["exercise"]).await;
    assert_eq!(created.status(), StatusCode::OK, "{:?}", created.text().await);
    assert_eq!(app.sim.google_subscribers()[0]["state"], "ACTIVE");
    // Google's two probes: 201 with the secret, 401 without it.
    let check = br#"{"type":"verification"}"#;
    assert_eq!(post(&app, check, Some(SECRET), None).await.status(), StatusCode::CREATED);
    assert_eq!(post(&app, check, None, None).await.status(), StatusCode::UNAUTHORIZED);

    let refused = create_subscriber(&app, "Bearer not-the-secret-we-have-0000", &["exercise"]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["status"], "FAILED_PRECONDITION");
    assert_eq!(app.sim.google_subscribers().len(), 1, "the refused subscriber is not stored");

    // Off unless a secret is set: the JSON 404.
    let off = spawn_app().await;
    let response = post(&off, check, Some(SECRET), None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], 404);
}

#[tokio::test]
async fn only_a_valid_signature_over_the_exact_bytes_is_accepted() {
    let app = notification_app(&[]).await;
    let body = serde_json::to_vec(&json!([notification("1234", "exercise", Utc::now(), "UPSERT")])).unwrap();
    let signature = app.sim.sign_google_notification(&body);

    let mut changed = body.clone();
    let at = changed.iter().position(|b| *b == b'1').unwrap();
    changed[at] = b'2';
    assert_eq!(post(&app, &changed, Some(SECRET), Some(signature.clone())).await.status(), StatusCode::UNAUTHORIZED);
    // The same signature under a key id the keyset does not hold.
    let mut raw = base64::engine::general_purpose::STANDARD.decode(&signature).unwrap();
    raw[4] ^= 0xff;
    let unknown_key = base64::engine::general_purpose::STANDARD.encode(raw);
    assert_eq!(post(&app, &body, Some(SECRET), Some(unknown_key)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post(&app, &body, Some(SECRET), None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(&app, &body, Some("Bearer wrong"), Some(signature.clone())).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(post(&app, b"{not json", Some(SECRET), None).await.status(), StatusCode::BAD_REQUEST);
    let too_large = vec![b' '; 1024 * 1024 + 1];
    assert_eq!(post(&app, &too_large, Some(SECRET), None).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(nothing_enqueued(&app).await, "nothing refused was noted");

    // After a key rotation the new key id is unknown to the cached keyset: fetched again once, then accepted.
    let accepted = post(&app, &body, Some(SECRET), Some(signature)).await;
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT, "{:?}", accepted.text().await);
    app.sim.rotate_google_webhook_key();
    let single = serde_json::to_vec(&notification("1234", "sleep", Utc::now(), "UPSERT")).unwrap();
    let rotated = app.sim.sign_google_notification(&single);
    assert_eq!(post(&app, &single, Some(SECRET), Some(rotated)).await.status(), StatusCode::NO_CONTENT);

    // No child is Google user 1234: dropped once the window closes, nothing enqueued.
    assert!(eventually(Duration::from_secs(60), || nothing_enqueued(&app)).await);
    let deleted = json!(notification("1234", "exercise", Utc::now(), "DELETE"));
    let before = metric(&app, r#"ds_agent_notifications_total{outcome="deleted"}"#).await;
    assert_eq!(post_signed(&app, &deleted).await.status(), StatusCode::NO_CONTENT);
    assert!(metric(&app, r#"ds_agent_notifications_total{outcome="deleted"}"#).await > before);
    assert!(nothing_enqueued(&app).await, "OCARIoT has no delete event");
}

#[tokio::test]
async fn a_walk_added_at_google_is_published_once_reading_only_exercise() {
    let app = notification_app(&[]).await;
    let user = unique_name("LIVE");
    let child = synced_google_child(&app, &user).await;
    let created = create_subscriber(&app, SECRET, &["exercise", "sleep", "steps"]).await;
    assert_eq!(created.status(), StatusCode::OK, "{:?}", created.text().await);
    let mut probe = BusProbe::bind(&["physicalactivities.sync", "sleep.sync", "weights.sync", "logs.sync"]).await;
    let requests_before = app.sim.google_data_requests(&user).len();

    let start = Utc::now() - chrono::Duration::hours(2);
    app.sim.add_google_exercise(&user, start, 30, 2400);
    let published = probe.next_for(&child.to_string(), Duration::from_secs(90)).await.expect("the walk's event");
    assert_eq!(published.routing_key, "physicalactivities.sync");
    let activities = published.body["physicalactivity"].as_array().unwrap();
    assert_eq!(activities.len(), 1, "only the new walk: {activities:?}");
    assert_eq!(activities[0]["steps"], 2400);
    assert!(probe.next_for(&child.to_string(), Duration::from_secs(3)).await.is_none(), "published once");

    let reads: Vec<String> = app.sim.google_data_requests(&user)[requests_before..].to_vec();
    assert!(!reads.is_empty() && reads.len() <= 2, "{reads:?}");
    assert!(reads.iter().all(|r| r.contains("/dataTypes/exercise/")), "only the notified type: {reads:?}");
    let deliveries = app.sim.google_deliveries();
    assert!(deliveries.iter().any(|d| d.status == Some(204)), "Google saw 204");
    assert!(metric(&app, "ds_agent_notification_to_published_seconds_count").await > 0);
}

#[tokio::test]
async fn a_flood_for_fifty_children_is_one_job_per_child_and_each_new_walk_goes_out_once() {
    let app = notification_app(&[("GOOGLE_NOTIFICATION_COALESCE_SECS", "10")]).await;
    let users: Vec<String> = (0..50).map(|i| unique_name(&format!("FLOOD{i}"))).collect();
    let connected = futures::StreamExt::collect::<Vec<_>>(futures::StreamExt::buffer_unordered(
        futures::stream::iter(users.iter().map(|user| async { (synced_google_child(&app, user).await, user.clone()) })),
        8,
    ))
    .await;
    let mut children = HashMap::new();
    for (i, (child, user)) in connected.into_iter().enumerate() {
        // No subscriber: the simulator notifies nobody, the test's flood does.
        app.sim.add_google_exercise(&user, Utc::now() - chrono::Duration::hours(3), 20, 1000 + i as u64);
        children.insert(child.to_string(), user);
    }
    let before: HashMap<String, usize> =
        children.values().map(|user| (user.clone(), app.sim.google_data_requests(user).len())).collect();
    let mut probe = BusProbe::bind(&["physicalactivities.sync"]).await;

    // 1,000 notifications, 20 per child, as batches of 10 and single objects, 16 requests at a time.
    let health_users: Vec<String> = children.values().map(|user| provider_sim::health_user_id(user)).collect();
    let bodies: Vec<Value> = (0..100)
        .map(|i| {
            let batch: Vec<Value> = (0..10)
                .map(|j| notification(&health_users[(i * 10 + j) % 50], "exercise", Utc::now(), "UPSERT"))
                .collect();
            if i % 2 == 0 {
                json!(batch)
            } else {
                json!(batch[0])
            }
        })
        .collect();
    let answers = futures::StreamExt::collect::<Vec<_>>(futures::StreamExt::buffer_unordered(
        futures::stream::iter(bodies.iter().map(|body| post_signed(&app, body))),
        16,
    ))
    .await;
    assert!(answers.iter().all(|a| a.status() == StatusCode::NO_CONTENT), "every answer 204");

    let mut seen: HashMap<String, usize> = HashMap::new();
    while seen.len() < children.len() {
        let Some(message) = probe.next(Duration::from_secs(120)).await else { break };
        let items = message.body["physicalactivity"].as_array().unwrap();
        let child = items[0]["child_id"].as_str().unwrap().to_string();
        if children.contains_key(&child) {
            *seen.entry(child).or_default() += items.len();
        }
    }
    assert_eq!(seen.len(), children.len(), "every child's walk went out");
    assert!(seen.values().all(|n| *n == 1), "each walk once: {seen:?}");
    while let Some(message) = probe.next(Duration::from_secs(3)).await {
        let child = message.body["physicalactivity"][0]["child_id"].as_str().unwrap().to_string();
        assert!(!children.contains_key(&child), "nothing sent twice");
    }
    for user in children.values() {
        let reads = app.sim.google_data_requests(user).len() - before[user];
        assert!((1..=2).contains(&reads), "{user}: one job per window ({reads} reads)");
    }
}

#[tokio::test]
async fn each_tick_counts_the_google_children_that_had_no_notification() {
    let app = notification_app(&[]).await;
    let (quiet, notified) = (unique_name("QUIET"), unique_name("HEARD"));
    synced_google_child(&app, &quiet).await;
    let child = synced_google_child(&app, &notified).await;
    let mut probe = BusProbe::bind(&["physicalactivities.sync"]).await;
    app.sim.add_google_exercise(&notified, Utc::now() - chrono::Duration::hours(1), 15, 900);
    let body = json!(notification(&provider_sim::health_user_id(&notified), "exercise", Utc::now(), "UPSERT"));
    assert_eq!(post_signed(&app, &body).await.status(), StatusCode::NO_CONTENT);
    assert!(probe.next_for(&child.to_string(), Duration::from_secs(90)).await.is_some(), "the notified sync ran");
    // Its job is acknowledged just after the publish: until then the child counts as queued.
    assert!(eventually(Duration::from_secs(60), || async { app.state.jobs.depth().await.unwrap() == 0 }).await);

    let enqueued = app.state.jobs.tick(&app.state.userauths, Utc::now()).await.unwrap();
    assert_eq!(enqueued, Some(2), "the cron still syncs both");
    let stale = metric(&app, "ds_agent_google_children_without_notifications").await;
    assert_eq!(stale, 1, "only the child without a notification");
}

#[tokio::test]
async fn a_notification_job_whose_worker_died_is_reclaimed_and_still_reads_only_what_was_notified() {
    let app = notification_app(&[("SYNC_RECLAIM_AFTER_SECS", "2")]).await;
    let user = unique_name("RECLAIM");
    let child = synced_google_child(&app, &user).await;
    app.sim.add_google_exercise(&user, Utc::now() - chrono::Duration::hours(1), 25, 1800);
    let mut probe = BusProbe::bind(&["physicalactivities.sync"]).await;
    let requests_before = app.sim.google_data_requests(&user).len();

    // A worker of another instance took the notification job and died with it.
    let day = Utc::now().date_naive();
    let target = ds_agent::sync::SyncTarget {
        data_types: vec![ds_agent::provider::google::GoogleDataType::Exercise],
        days: Some((day, day)),
        notified_at_ms: Utc::now().timestamp_millis(),
    };
    let mut redis =
        redis::Client::open("redis://127.0.0.1:6379").unwrap().get_multiplexed_async_connection().await.unwrap();
    let jobs = app.state.jobs.keys().stream();
    // In one transaction, so that no live worker reads the job first.
    let _: () = redis::pipe()
        .atomic()
        .cmd("SADD")
        .arg(app.state.jobs.keys().queued())
        .arg(child.to_string())
        .ignore()
        .cmd("XADD")
        .arg(&jobs)
        .arg("*")
        .arg("job")
        .arg(
            serde_json::to_string(&ds_agent::jobs::JobPayload {
                child: child.to_string(),
                attempt: 1,
                tick: 0,
                target: Some(target),
            })
            .unwrap(),
        )
        .ignore()
        .cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("dead-worker")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(&jobs)
        .arg(">")
        .ignore()
        .query_async(&mut redis)
        .await
        .unwrap();

    let published = probe.next_for(&child.to_string(), Duration::from_secs(90)).await.expect("reclaimed and run");
    assert_eq!(published.body["physicalactivity"].as_array().unwrap().len(), 1);
    let reads = &app.sim.google_data_requests(&user)[requests_before..];
    assert!(reads.iter().all(|r| r.contains("/dataTypes/exercise/")), "{reads:?}");
    assert!(eventually(Duration::from_secs(30), || async { app.state.jobs.depth().await.unwrap() == 0 }).await);
}

#[tokio::test]
async fn google_subscriber_creates_shows_updates_and_deletes_with_a_service_account() {
    let app = notification_app(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let generated = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
        .arg(&key)
        .output()
        .expect("openssl (Debian package `openssl`) makes the test's service account key");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let account = json!({"type": "service_account", "project_id": "ocariot-test", "private_key_id": "test-key",
        "private_key": std::fs::read_to_string(&key).unwrap(),
        "client_email": "ds-agent@ocariot-test.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": format!("{}/token", app.sim.base_url())});
    let credentials = dir.path().join("account.json");
    std::fs::write(&credentials, account.to_string()).unwrap();
    let subscriber_id = unique_name("ds");
    let env: Vec<(String, String)> = [
        ("GOOGLE_APPLICATION_CREDENTIALS", credentials.display().to_string()),
        ("GOOGLE_HEALTH_API_URL", app.sim.base_url()),
        ("GOOGLE_PROJECT_NUMBER", "123456789".into()),
        ("GOOGLE_SUBSCRIBER_ID", subscriber_id.clone()),
        ("GOOGLE_NOTIFICATION_URL", endpoint(&app)),
        ("GOOGLE_NOTIFICATION_SECRET", SECRET.into()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .to_vec();
    // The binary is waited for on a blocking thread: the endpoint check it causes is answered by this runtime.
    let created = {
        let env = env.clone();
        tokio::task::spawn_blocking(move || run_subscriber(&env, "create")).await.unwrap()
    };
    assert!(created.contains("state:        ACTIVE") && created.contains("secret set:   true"), "{created}");
    let subscribers = app.sim.google_subscribers();
    assert_eq!(subscribers.len(), 1);
    assert_eq!(subscribers[0]["endpointUri"], endpoint(&app));
    let types = subscribers[0]["subscriberConfigs"][0]["dataTypes"].as_array().unwrap().len();
    assert_eq!(types, ds_agent::provider::google::SYNCED_TYPES.len());

    // Google's guide shows the subscriber answered directly, its discovery document an Operation: both are read.
    app.sim.set_google_subscriber_direct_answer(true);
    let (again, shown, deleted) = tokio::task::spawn_blocking({
        let env = env.clone();
        move || (run_subscriber(&env, "create"), run_subscriber(&env, "show"), run_subscriber(&env, "delete"))
    })
    .await
    .unwrap();
    assert!(again.contains("exists: updating it") && again.contains("ACTIVE"), "{again}");
    assert!(shown.contains(&format!("subscribers/{subscriber_id}")) && shown.contains("ACTIVE"), "{shown}");
    assert!(deleted.contains("deleted"), "{deleted}");
    assert!(app.sim.google_subscribers().is_empty());

    // Operations that are not done yet: Google publishes no route to poll them, so the list tells when each is done.
    app.sim.set_google_subscriber_direct_answer(false);
    app.sim.set_google_operations_pending(true);
    let (created, updated, deleted) = tokio::task::spawn_blocking(move || {
        (run_subscriber(&env, "create"), run_subscriber(&env, "create"), run_subscriber(&env, "delete"))
    })
    .await
    .unwrap();
    assert!(created.contains("following the subscriber list") && created.contains("state:        ACTIVE"), "{created}");
    assert!(updated.contains("exists: updating it") && updated.contains("state:        ACTIVE"), "{updated}");
    assert!(deleted.contains("following the subscriber list") && deleted.contains("deleted"), "{deleted}");
    assert!(app.sim.google_subscribers().is_empty());

    // Only the routes Google publishes: create, list, update and delete.
    let collection = "/v4/projects/123456789/subscribers";
    let resource = format!("{collection}/{subscriber_id}");
    let requests = app.sim.google_project_requests();
    for request in &requests {
        let (method, target) = request.split_once(' ').unwrap();
        let path = target.split('?').next().unwrap();
        let published = matches!(
            (method, path == collection, path == resource),
            ("POST" | "GET", true, false) | ("PATCH" | "DELETE", false, true)
        );
        assert!(published, "{request} is not a published route: {requests:?}");
    }
    let methods: std::collections::BTreeSet<&str> = requests.iter().map(|r| r.split(' ').next().unwrap()).collect();
    assert_eq!(methods, ["DELETE", "GET", "PATCH", "POST"].into(), "{requests:?}");
}

/// `ds-agent google-subscriber <action>` with `env`; its stdout, once it succeeded.
fn run_subscriber(env: &[(String, String)], action: &str) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ds-agent"))
        .args(["google-subscriber", action])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{action}: {stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert!(!stdout.contains(SECRET.split(' ').nth(1).unwrap()), "the secret is never printed");
    stdout
}

#[tokio::test]
async fn an_unreachable_keyset_is_503_so_that_google_delivers_again_and_nothing_is_noted() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let keyset = format!("http://127.0.0.1:{closed}/keyset.json");
    let app = notification_app(&[("GOOGLE_NOTIFICATION_KEYSET_URL", &keyset)]).await;
    let body = json!([notification("1234", "exercise", Utc::now(), "UPSERT")]);
    let response = post_signed(&app, &body).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["message"], "Google's signing keys could not be read.");
    assert!(nothing_enqueued(&app).await);
}
