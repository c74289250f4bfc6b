//! Throughput at Google's real pace, in one run (docs/performance.md#what-bounds-throughput): a cron tick of Google
//! children against the simulator with 50 ms per request, once unpaced and once at Google's pace (the simulator
//! refusing more than 2.5 requests a second per user, the service at its default of 2), for first syncs (12 months)
//! and for incremental ones; then two instances sharing a project quota that the simulator holds them to. Each child
//! is a simulator user of its own, so each has its own per-user quota, as on Google. Prints children per second,
//! requests per child, the 429s met (per user, per project), the 1429 events, and each phase's peak RSS.
//!
//! `cargo bench --bench google_pace` (after `scripts/services.sh`; restart the MongoDB stand-in first, it slows as it
//! ages). Knobs: `BENCH_GOOGLE_FIRST_SYNC_CHILDREN` (default 200), `BENCH_GOOGLE_INCREMENTAL_CHILDREN` (default 2000),
//! `BENCH_PROJECT_CHILDREN` (default 200; 0 skips the two-instance phase), `BENCH_PROJECT_REQUESTS_PER_SECOND`
//! (default 40), `BENCH_LATENCY_MS` (default 50), `BENCH_PHASES` (a comma-separated subset of `first-paced`,
//! `first-unpaced`, `incremental-paced`, `incremental-unpaced`, `project`). The service runs with its defaults;
//! `SYNC_CONCURRENCY` and `SYNC_PAGES_IN_FLIGHT`, when set, are passed on.

use std::time::{Duration, Instant};

use chrono::Utc;
use ds_agent::http::AppState;
use ds_agent::startup::Application;
use mongodb::bson::{doc, oid::ObjectId, Document};
use provider_sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

mod support;
use support::{env_or, load_average, metric_sum, peak_rss_mb, reset_peak_rss, rss_mb};

const SIM_FLAG: &str = "--run-simulator";
/// What Google allows an app it has not verified, per user (docs/google-health.md#pacing).
const GOOGLE_USER_REQUESTS_PER_SECOND: f64 = 2.5;
/// The service's pace per child when it is "unpaced": far above anything the machine reaches.
const UNPACED_REQUESTS_PER_SECOND: &str = "20";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if let Some(position) = args.iter().position(|a| a == SIM_FLAG) {
        let (latency_ms, users) = (args[position + 2].parse().unwrap(), args[position + 3].parse().unwrap());
        runtime.block_on(run_simulator(&args[position + 1], latency_ms, users));
    } else if args.iter().any(|a| a == "--bench") {
        runtime.block_on(run_bench());
    } else {
        // `cargo test --all-targets` runs bench targets too, without `--bench`: the bench is not a test.
        println!("google_pace: a benchmark; run it with `cargo bench --bench google_pace`");
    }
}

async fn run_simulator(addr: &str, latency_ms: u64, users: usize) {
    let config = SimConfig {
        latency: Duration::from_millis(latency_ms),
        // Every child's generated data kept: the simulator would otherwise be what the bench measures.
        memo_users: users,
        rate_limit_per_hour: u32::MAX,
        // Google's per-user quota a minute; the per-second pace and the project quota are set per phase.
        google_rate_limit_per_minute: 300,
        ..SimConfig::default()
    };
    let _simulator = Simulator::start(config, addr).await.expect("simulator");
    println!("ready");
    std::future::pending::<()>().await;
}

/// One phase's setting: the simulator's quotas, the service's pace, how many instances share the tick.
struct Phase {
    label: String,
    children: usize,
    first_sync: bool,
    /// The simulator's per-user pace (`None`: no per-user pace).
    user_pace: Option<f64>,
    /// The simulator's project quota, requests a second (`None`: none).
    project_quota: Option<f64>,
    /// The service's `GOOGLE_REQUESTS_PER_SECOND` (`None`: its default).
    service_pace: Option<&'static str>,
    instances: usize,
}

/// What a phase measured.
struct Figures {
    children_per_second: f64,
    requests_per_child: f64,
}

struct Bench {
    simulator: String,
    http: reqwest::Client,
    /// Access and refresh token, and health user id, of each simulator user.
    users: Vec<(String, String, String)>,
    latency_ms: u64,
}

async fn run_bench() {
    // The service's warnings (retried jobs, failed parts, 429s) on stderr: a figure with failures in it is not one.
    tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_writer(std::io::stderr).init();
    let first = env_or("BENCH_GOOGLE_FIRST_SYNC_CHILDREN", 200) as usize;
    let incremental = env_or("BENCH_GOOGLE_INCREMENTAL_CHILDREN", 2000) as usize;
    let project_children = env_or("BENCH_PROJECT_CHILDREN", 200) as usize;
    let project_quota = env_or("BENCH_PROJECT_REQUESTS_PER_SECOND", 40) as f64;
    let latency_ms = env_or("BENCH_LATENCY_MS", 50);
    let phases = std::env::var("BENCH_PHASES")
        .unwrap_or_else(|_| "first-paced,first-unpaced,incremental-paced,incremental-unpaced,project".into());
    let wanted = |name: &str| phases.split(',').any(|phase| phase.trim() == name);

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let users = first.max(incremental).max(project_children);
    let simulator_args = [SIM_FLAG.to_string(), addr.clone(), latency_ms.to_string(), users.to_string()];
    let (_simulator, _ready) = support::spawn_self(&simulator_args).await;
    let mut bench =
        Bench { simulator: format!("http://{addr}"), http: reqwest::Client::new(), users: Vec::new(), latency_ms };
    bench.issue_tokens(users).await;
    println!(
        "google_pace: {latency_ms} ms per request; SYNC_CONCURRENCY {}, SYNC_PAGES_IN_FLIGHT {} (unset: the \
         defaults); load average {}",
        std::env::var("SYNC_CONCURRENCY").unwrap_or_else(|_| "unset".into()),
        std::env::var("SYNC_PAGES_IN_FLIGHT").unwrap_or_else(|_| "unset".into()),
        load_average()
    );

    let paced = |label: &str, children, first_sync| Phase {
        label: format!("{label}, at Google's pace"),
        children,
        first_sync,
        user_pace: Some(GOOGLE_USER_REQUESTS_PER_SECOND),
        project_quota: None,
        service_pace: None,
        instances: 1,
    };
    let unpaced = |label: &str, children, first_sync| Phase {
        label: format!("{label}, unpaced"),
        children,
        first_sync,
        user_pace: None,
        project_quota: None,
        service_pace: Some(UNPACED_REQUESTS_PER_SECOND),
        instances: 1,
    };
    let ratio = |paced: &Option<Figures>, unpaced: &Option<Figures>, what: &str| {
        if let (Some(paced), Some(unpaced)) = (paced, unpaced) {
            println!(
                "google_pace: {what}: at Google's pace {:.0} % of the unpaced children/s (target: at least 80 %)",
                100.0 * paced.children_per_second / unpaced.children_per_second
            );
        }
    };
    let label = format!("first sync of {first} children");
    let first_paced = if wanted("first-paced") { Some(bench.run(paced(&label, first, true)).await) } else { None };
    let first_unpaced =
        if wanted("first-unpaced") { Some(bench.run(unpaced(&label, first, true)).await) } else { None };
    ratio(&first_paced, &first_unpaced, "first syncs");
    let label = format!("incremental sync of {incremental} children");
    let incremental_paced =
        if wanted("incremental-paced") { Some(bench.run(paced(&label, incremental, false)).await) } else { None };
    let incremental_unpaced =
        if wanted("incremental-unpaced") { Some(bench.run(unpaced(&label, incremental, false)).await) } else { None };
    ratio(&incremental_paced, &incremental_unpaced, "incremental syncs");
    if wanted("project") && project_children > 0 {
        let phase = Phase {
            label: format!(
                "incremental sync of {project_children} children, two instances, project quota {project_quota} \
                 requests/s"
            ),
            children: project_children,
            first_sync: false,
            user_pace: Some(GOOGLE_USER_REQUESTS_PER_SECOND),
            project_quota: Some(project_quota),
            service_pace: None,
            instances: 2,
        };
        let figures = bench.run(phase).await;
        let ceiling = project_quota / figures.requests_per_child;
        println!(
            "google_pace: two instances under a project quota of {project_quota} requests/s: {:.0} % of the {ceiling:.2} \
             children/s the quota allows (target: at least 80 %)",
            100.0 * figures.children_per_second / ceiling
        );
    }
    println!("google_pace: load average at the end {}", load_average());
}

impl Bench {
    async fn admin(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/__admin/{path}", self.simulator);
        let request = if path == "config" { self.http.put(url) } else { self.http.post(url) };
        let answer = request.json(&body).send().await.expect("the simulator answers");
        assert!(answer.status().is_success(), "simulator admin {path}: {}", answer.status());
        answer.json().await.expect("a JSON answer")
    }

    /// Tokens for `count` simulator users, valid for the whole bench.
    async fn issue_tokens(&mut self, count: usize) {
        for i in 0..count {
            let answer = self.admin(&format!("google/users/PACE{i}/tokens"), json!({"expires_in": 24 * 3600})).await;
            let field = |key: &str| answer[key].as_str().expect("a token field").to_string();
            self.users.push((field("access_token"), field("refresh_token"), field("health_user_id")));
        }
    }

    async fn project_refusals(&self) -> u64 {
        self.admin("config", json!({})).await["google_project_limited"].as_u64().unwrap_or(0)
    }

    /// Starts `phase.instances` instances on a database of the phase's own, seeds the children, runs one tick to its
    /// end, prints the figures, and removes what the phase made.
    async fn run(&self, phase: Phase) -> Figures {
        self.admin(
            "config",
            json!({
                "latency_ms": self.latency_ms,
                "google_requests_per_second": phase.user_pace,
                "google_project_requests_per_second": phase.project_quota,
            }),
        )
        .await;
        let database = format!("ds-agent-bench-pace-{}-{}", std::process::id(), rand::random::<u32>());
        let mut extra = vec![
            ("GOOGLE_HEALTH_API_URL", self.simulator.clone()),
            ("GOOGLE_OAUTH_URL", self.simulator.clone()),
            ("GOOGLE_CLIENT_ID", "sim-google-client.apps.googleusercontent.com".to_string()),
            ("GOOGLE_CLIENT_SECRET", "sim-google-secret".to_string()),
        ];
        if let Some(pace) = phase.service_pace {
            extra.push(("GOOGLE_REQUESTS_PER_SECOND", pace.to_string()));
        }
        if let Some(quota) = phase.project_quota {
            extra.push(("GOOGLE_PROJECT_REQUESTS_PER_MINUTE", ((quota * 60.0) as u32).to_string()));
        }
        for knob in ["SYNC_CONCURRENCY", "SYNC_PAGES_IN_FLIGHT"] {
            if let Ok(value) = std::env::var(knob) {
                extra.push((knob, value));
            }
        }
        let mut instances: Vec<(AppState, CancellationToken, support::BenchFiles)> = Vec::new();
        for _ in 0..phase.instances {
            let (settings, files) = support::service_settings(&database, &extra);
            let app = Application::build(settings).await.expect("application");
            let (state, shutdown) = (app.state().clone(), app.shutdown_token());
            tokio::spawn(app.run_until_stopped());
            for _ in 0..100 {
                if state.bus.is_connected().await {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            instances.push((state, shutdown, files));
        }
        let state = instances[0].0.clone();
        let yesterday = (Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        self.seed(&state, phase.children, (!phase.first_sync).then_some(yesterday.as_str())).await;

        let requests = metric_sum("ds_agent_provider_requests_total{provider=\"google\"");
        let refused = metric_sum("ds_agent_provider_requests_total{provider=\"google\",status=\"429\"}");
        let events_1429 = metric_sum("ds_agent_error_events_total{code=\"1429\"}");
        let project_refused = self.project_refusals().await;
        reset_peak_rss();
        let started = Instant::now();
        let enqueued = state.jobs.tick(&state.userauths, Utc::now()).await.expect("tick").unwrap_or(0);
        let mut last_report = Instant::now();
        while state.jobs.depth().await.unwrap_or(u64::MAX) > 0 {
            if last_report.elapsed() > Duration::from_secs(15) {
                let depth = state.jobs.depth().await.unwrap_or(0);
                println!(
                    "google_pace: {}: {depth} jobs left after {:.0} s",
                    phase.label,
                    started.elapsed().as_secs_f64()
                );
                last_report = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        let peak = peak_rss_mb();
        let requests = metric_sum("ds_agent_provider_requests_total{provider=\"google\"") - requests;
        let refused = metric_sum("ds_agent_provider_requests_total{provider=\"google\",status=\"429\"}") - refused;
        let events_1429 = metric_sum("ds_agent_error_events_total{code=\"1429\"}") - events_1429;
        let project_refused = self.project_refusals().await - project_refused;
        let synced = state
            .store
            .collection("userauths")
            .count_documents(doc! {"fitbit.last_sync": {"$gt": &yesterday}})
            .await
            .unwrap_or(0);
        let figures = Figures {
            children_per_second: enqueued as f64 / seconds,
            requests_per_child: requests / enqueued.max(1) as f64,
        };
        println!(
            "google_pace: {}: {enqueued} children in {seconds:.1} s: {:.2} children/s, {:.1} requests per child, {} \
             synced to the end, 429s {refused} (of the project: {project_refused}), 1429 events {events_1429}, peak \
             RSS {peak:.1} MiB, RSS now {:.1} MiB, load average {}",
            phase.label,
            figures.children_per_second,
            figures.requests_per_child,
            synced,
            rss_mb("VmRSS:"),
            load_average()
        );

        for (_, shutdown, _) in &instances {
            shutdown.cancel();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        state.store.database().drop().await.ok();
        remove_redis_keys(&database).await;
        figures
    }

    /// `count` Google children, each a simulator user of its own, last synced at `last_sync` (`None`: first syncs).
    async fn seed(&self, state: &AppState, count: usize, last_sync: Option<&str>) {
        let exp = Utc::now().timestamp() + 20 * 3600;
        let documents: Vec<Document> = self.users[..count]
            .iter()
            .map(|(access, refresh, health_user)| {
                let mut grant = doc! {"access_token": access, "expires_in": exp, "refresh_token": refresh,
                    "scope": provider_sim::GOOGLE_HEALTH_SCOPES, "token_type": "Bearer", "user_id": health_user,
                    "status": "valid_token", "provider": "google"};
                if let Some(last_sync) = last_sync {
                    grant.insert("last_sync", last_sync);
                }
                doc! {"user_id": ObjectId::new(), "fitbit": grant, "created_at": ds_agent::store::bson_time(Utc::now()), "__v": 0}
            })
            .collect();
        for batch in documents.chunks(1000) {
            state.store.collection("userauths").insert_many(batch.to_vec()).await.expect("seed");
        }
    }
}

/// The job queue's and the project budget's keys of the phase's database.
async fn remove_redis_keys(database: &str) {
    let Ok(client) = redis::Client::open("redis://127.0.0.1:6379") else { return };
    let Ok(mut redis) = client.get_multiplexed_async_connection().await else { return };
    let keys: Vec<String> =
        match redis::AsyncCommands::scan_match::<_, String>(&mut redis, format!("ds-agent:{database}:*")).await {
            Ok(found) => {
                use futures::StreamExt;
                found.collect().await
            }
            Err(_) => return,
        };
    if !keys.is_empty() {
        redis::AsyncCommands::del::<_, ()>(&mut redis, keys).await.ok();
    }
}
