//! Google Health notifications end to end (docs/notifications.md): from a signed notification posted to the endpoint to
//! the child's event at RabbitMQ, on the real MongoDB stand-in, Redis and RabbitMQ, with the simulator adding latency
//! to every Google request. Prints the latency's median and p99, the provider requests per notification, and the
//! endpoint's answer times under a flood.
//!
//! `cargo bench --bench notifications` (after `scripts/services.sh`). Knobs: `BENCH_NOTIFICATIONS` (default 200, one
//! child each), `BENCH_LATENCY_MS` (default 50), `BENCH_COALESCE_SECS` (default 1: the window is the latency's
//! floor), `BENCH_FLOOD` (default 1000 notifications, 32 at a time).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use ds_agent::startup::Application;
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use mongodb::bson::{doc, oid::ObjectId};
use provider_sim::{SimConfig, Simulator};
use serde_json::{json, Value};

mod support;
use support::env_or;

const SECRET: &str = "Bearer bench-notification-secret-0123456789";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs bench targets too, without `--bench`: the bench is not a test.
        println!("notifications: a benchmark; run it with `cargo bench --bench notifications`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_writer(std::io::stderr).init();
    let children = env_or("BENCH_NOTIFICATIONS", 200) as usize;
    let latency_ms = env_or("BENCH_LATENCY_MS", 50);
    let coalesce = env_or("BENCH_COALESCE_SECS", 1);
    let flood = env_or("BENCH_FLOOD", 1000) as usize;
    let config =
        SimConfig { rate_limit_per_hour: u32::MAX, google_rate_limit_per_minute: u32::MAX, ..Default::default() };
    let sim = Simulator::start(config, "127.0.0.1:0").await.expect("simulator");
    let base = sim.base_url();

    let database = format!("ds-agent-bench-notifications-{}", std::process::id());
    let (settings, _files) = support::service_settings(
        &database,
        &[
            ("GOOGLE_HEALTH_API_URL", base.clone()),
            ("GOOGLE_OAUTH_URL", base.clone()),
            ("GOOGLE_CLIENT_ID", "sim-google-client.apps.googleusercontent.com".to_string()),
            ("GOOGLE_CLIENT_SECRET", "sim-google-secret".to_string()),
            ("GOOGLE_REQUESTS_PER_SECOND", "20".to_string()),
            ("GOOGLE_NOTIFICATION_SECRET", SECRET.to_string()),
            ("GOOGLE_NOTIFICATION_KEYSET_URL", sim.google_webhook_keyset_url()),
            ("GOOGLE_NOTIFICATION_COALESCE_SECS", coalesce.to_string()),
        ],
    );
    let app = Application::build(settings).await.expect("application");
    let endpoint = format!("https://127.0.0.1:{}/v1/google/notifications", app.https_port());
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    while !state.bus.is_connected().await {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Children already synced (a last_sync of now), each its own simulated person with a new walk waiting.
    let users: Vec<String> = (0..children).map(|i| format!("NOTIFY{i}")).collect();
    let mut child_of_user = HashMap::new();
    let documents: Vec<_> = users
        .iter()
        .map(|user| {
            let tokens = sim.issue_google_tokens(user, provider_sim::GOOGLE_HEALTH_SCOPES, 24 * 3600);
            let child = ObjectId::new();
            child_of_user.insert(child.to_hex(), user.clone());
            let fitbit = doc! {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "expires_in": Utc::now().timestamp() + 20 * 3600, "scope": provider_sim::GOOGLE_HEALTH_SCOPES,
            "token_type": "Bearer", "user_id": provider_sim::health_user_id(user), "status": "valid_token",
            "provider": "google", "last_sync": Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()};
            doc! {"user_id": child, "fitbit": fitbit, "created_at": ds_agent::store::bson_time(Utc::now()), "__v": 0}
        })
        .collect();
    state.store.collection("userauths").insert_many(documents).await.unwrap();
    for user in &users {
        sim.add_google_exercise(user, Utc::now() - chrono::Duration::minutes(90), 30, 3000);
    }
    sim.set_latency(Duration::from_millis(latency_ms));

    // What reaches RabbitMQ: a private queue on the activities' routing key.
    let broker =
        lapin::Connection::connect("amqp://guest:guest@127.0.0.1:5672/ocariot", Default::default()).await.unwrap();
    let channel = broker.create_channel().await.unwrap();
    let exclusive = QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() };
    let queue = channel.queue_declare("", exclusive, FieldTable::default()).await.unwrap();
    let bind = QueueBindOptions::default();
    channel
        .queue_bind(queue.name().as_str(), "data.sync", "physicalactivities.sync", bind, FieldTable::default())
        .await
        .unwrap();
    let mut consumer = channel
        .basic_consume(queue.name().as_str(), "bench", BasicConsumeOptions::default(), FieldTable::default())
        .await
        .unwrap();

    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let notification = |user: &str| {
        // The day before now, so that the civil dates cover the walk in the simulated person's zone.
        let civil = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let (from, to) = (civil(Utc::now() - chrono::Duration::days(1)), civil(Utc::now()));
        serde_json::to_vec(&json!([{"data": {"version": "1", "healthUserId": provider_sim::health_user_id(user),
            "operation": "UPSERT", "dataType": "exercise", "intervals": [{"civilIso8601TimeInterval":
            {"startTime": from, "endTime": to}}]}}]))
        .unwrap()
    };
    let post = |body: Vec<u8>| {
        let (client, endpoint, signature) = (client.clone(), endpoint.clone(), sim.sign_google_notification(&body));
        async move {
            let started = Instant::now();
            let response = client
                .post(endpoint)
                .header("authorization", SECRET)
                .header("x-healthapi-signature", signature)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 204);
            started.elapsed().as_secs_f64() * 1000.0
        }
    };
    let requests_before: HashMap<&String, usize> =
        users.iter().map(|u| (u, sim.google_data_requests(u).len())).collect();

    // One notification per child, 20 a second, each timed until its walk reaches RabbitMQ.
    println!(
        "notifications: {children} notifications, 20 a second, {latency_ms} ms per Google request, window {coalesce} s"
    );
    let mut sent_at = HashMap::new();
    let posting = async {
        for user in &users {
            sent_at.insert(user.clone(), Instant::now());
            post(notification(user)).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mut arrived = HashMap::new();
    let receiving = async {
        while arrived.len() < children {
            let Ok(Some(Ok(delivery))) = tokio::time::timeout(Duration::from_secs(120), consumer.next()).await else {
                break;
            };
            delivery.ack(BasicAckOptions::default()).await.ok();
            let body: Value = serde_json::from_slice(&delivery.data).unwrap_or_default();
            // Other processes may publish on the same broker: only this bench's children count.
            if let Some(user) = body["physicalactivity"][0]["child_id"].as_str().and_then(|c| child_of_user.get(c)) {
                arrived.entry(user.clone()).or_insert_with(Instant::now);
            }
        }
    };
    futures::join!(posting, receiving);
    let mut latencies: Vec<f64> =
        arrived.iter().map(|(user, at)| at.duration_since(sent_at[user]).as_secs_f64()).collect();
    latencies.sort_by(f64::total_cmp);
    let requests: usize = users.iter().map(|u| sim.google_data_requests(u).len() - requests_before[u]).sum();
    println!(
        "notifications: {} of {children} walks at RabbitMQ; notification to message: median {:.2} s, p99 {:.2} s; {:.2} provider requests per notification",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        requests as f64 / children as f64
    );

    // The flood: the endpoint's answer times with many notifications at once, first on 32 new TLS connections (their
    // handshakes included), then on the same connections kept alive, as an HTTP client like Google's keeps them.
    for round in ["new connections", "kept-alive connections"] {
        let started = Instant::now();
        let bodies: Vec<Vec<u8>> = (0..flood).map(|i| notification(&users[i % children])).collect();
        let mut answers: Vec<f64> =
            futures::stream::iter(bodies.into_iter().map(post)).buffer_unordered(32).collect().await;
        answers.sort_by(f64::total_cmp);
        println!(
            "notifications: flood of {flood} in {:.1} s, 32 at a time, {round}: answer median {:.1} ms, p99 {:.1} ms, \
             max {:.1} ms",
            started.elapsed().as_secs_f64(),
            percentile(&answers, 0.5),
            percentile(&answers, 0.99),
            answers.last().copied().unwrap_or(0.0)
        );
    }

    // Let the flood's jobs finish before the database goes.
    for _ in 0..600 {
        if state.jobs.depth().await.unwrap_or(0) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    broker.close(200, "bench over").await.ok();
    shutdown.cancel();
    state.store.database().drop().await.ok();
    // The job queue's and the notifications' keys are named after the database.
    if let Ok(mut redis) =
        redis::Client::open("redis://127.0.0.1:6379").unwrap().get_multiplexed_async_connection().await
    {
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("ds-agent:{database}:*")).query_async(&mut redis).await.unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query_async(&mut redis).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}
