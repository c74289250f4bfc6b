//! The sync engine at scale (issues #4 and #10): one cron tick over thousands of children against the simulator with
//! added latency, on the real MongoDB, Redis and RabbitMQ. Prints children per second, provider requests and MongoDB
//! round trips per child, messages per second and each phase's peak RSS: incremental syncs at 1,000 and 10,000
//! children, then first syncs (12 months each) of Fitbit children and of Google children.
//!
//! `cargo bench --bench sync_tick` (after `scripts/services.sh`). Knobs: `BENCH_CHILDREN` (default 10000; 0 skips the
//! incremental phases), `BENCH_FIRST_SYNC_CHILDREN` (Fitbit, default 50), `BENCH_GOOGLE_FIRST_SYNC_CHILDREN` (default
//! 200), `BENCH_GOOGLE_REQUESTS_PER_SECOND` (each child's Google budget, default 20: the bench measures the service,
//! not Google's pace), `BENCH_LATENCY_MS` (default 50), `SYNC_CONCURRENCY` (default 8). The simulator runs in a child
//! process, so the RSS figures are the service's (plus this driver's small share).

use std::time::{Duration, Instant};

use chrono::Utc;
use ds_agent::metrics;
use ds_agent::startup::Application;
use mongodb::bson::{doc, oid::ObjectId, Document};
use provider_sim::{SimConfig, Simulator};

mod support;
use support::{env_or, metric_sum, peak_rss_mb, reset_peak_rss, rss_mb};

const SIM_FLAG: &str = "--run-simulator";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if let Some(position) = args.iter().position(|a| a == SIM_FLAG) {
        runtime.block_on(run_simulator(&args[position + 1], args[position + 2].parse().unwrap()));
    } else if args.iter().any(|a| a == "--bench") {
        runtime.block_on(run_bench());
    } else {
        // `cargo test --all-targets` runs bench targets too, without `--bench`: the bench is not a test.
        println!("sync_tick: a benchmark; run it with `cargo bench --bench sync_tick`");
    }
}

async fn run_simulator(addr: &str, latency_ms: u64) {
    let config = SimConfig {
        latency: Duration::from_millis(latency_ms),
        rate_limit_per_hour: u32::MAX,
        google_rate_limit_per_minute: u32::MAX,
        access_token_ttl_secs: 24 * 3600,
        ..SimConfig::default()
    };
    let simulator = Simulator::start(config, addr).await.expect("simulator");
    let fitbit = simulator.issue_fitbit_tokens("BENCH", "rwei ract rsle", 24 * 3600);
    let google = simulator.issue_google_tokens("BENCH", provider_sim::GOOGLE_HEALTH_SCOPES, 24 * 3600);
    println!("{} {} {} {}", fitbit.access_token, fitbit.refresh_token, google.access_token, google.refresh_token);
    std::future::pending::<()>().await;
}

/// Provider requests of every provider and status, from the rendered metrics.
fn provider_requests() -> u64 {
    metric_sum("ds_agent_provider_requests_total{") as u64
}

async fn run_bench() {
    // The service's warnings (retried jobs, failed parts) on stderr: a figure with failures in it is not a figure.
    tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_writer(std::io::stderr).init();
    let children = env_or("BENCH_CHILDREN", 10_000) as usize;
    let first_children = env_or("BENCH_FIRST_SYNC_CHILDREN", 50) as usize;
    let google_children = env_or("BENCH_GOOGLE_FIRST_SYNC_CHILDREN", 200) as usize;
    let google_pace = env_or("BENCH_GOOGLE_REQUESTS_PER_SECOND", 20);
    let latency_ms = env_or("BENCH_LATENCY_MS", 50);
    let concurrency = env_or("SYNC_CONCURRENCY", 8);

    // The simulator, in its own process.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let (_simulator, line) = support::spawn_self(&[SIM_FLAG.to_string(), addr.clone(), latency_ms.to_string()]).await;
    let tokens: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let [access_token, refresh_token, google_access, google_refresh] = <[String; 4]>::try_from(tokens).unwrap();

    let database = format!("ds-agent-bench-{}", std::process::id());
    let (settings, _files) = support::service_settings(
        &database,
        &[
            ("FITBIT_API_URL", format!("http://{addr}")),
            ("FITBIT_CLIENT_ID", "1A2B3C".to_string()),
            ("FITBIT_CLIENT_SECRET", "f1tb1ts3cr3t".to_string()),
            ("GOOGLE_HEALTH_API_URL", format!("http://{addr}")),
            ("GOOGLE_OAUTH_URL", format!("http://{addr}")),
            ("GOOGLE_CLIENT_ID", "sim-google-client.apps.googleusercontent.com".to_string()),
            ("GOOGLE_CLIENT_SECRET", "sim-google-secret".to_string()),
            ("GOOGLE_REQUESTS_PER_SECOND", google_pace.to_string()),
            ("SYNC_CONCURRENCY", concurrency.to_string()),
        ],
    );
    let app = Application::build(settings).await.expect("application");
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    for _ in 0..100 {
        if state.bus.is_connected().await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "sync_tick: latency {latency_ms} ms per provider request, SYNC_CONCURRENCY {concurrency}, Google budget \
         {google_pace} requests/s per child"
    );
    println!("sync_tick: idle peak RSS {:.1} MB", peak_rss_mb());

    let userauths = state.store.collection("userauths");
    let fitbit_tokens = (access_token.clone(), refresh_token.clone(), "rwei ract rsle", "BENCH", None);
    let google_tokens = (google_access, google_refresh, provider_sim::GOOGLE_HEALTH_SCOPES, "", Some("google"));
    let seed = |count: usize, last_sync: Option<String>, google: bool| {
        let userauths = userauths.clone();
        let (access_token, refresh_token, scope, user, provider) =
            if google { google_tokens.clone() } else { fitbit_tokens.clone() };
        let user = if google { provider_sim::health_user_id("BENCH") } else { user.to_string() };
        async move {
            let exp = Utc::now().timestamp() + 20 * 3600;
            for batch in (0..count).collect::<Vec<_>>().chunks(1000) {
                let documents: Vec<Document> = batch
                    .iter()
                    .map(|_| {
                        let mut fitbit = doc! {"access_token": &access_token, "expires_in": exp, "refresh_token": &refresh_token,
                            "scope": scope, "token_type": "Bearer", "user_id": &user, "status": "valid_token"};
                        if let Some(last_sync) = &last_sync {
                            fitbit.insert("last_sync", last_sync);
                        }
                        if let Some(provider) = provider {
                            fitbit.insert("provider", provider);
                        }
                        doc! {"user_id": ObjectId::new(), "fitbit": fitbit, "created_at": ds_agent::store::bson_time(Utc::now()), "__v": 0}
                    })
                    .collect();
                userauths.insert_many(documents).await.expect("seed");
            }
        }
    };
    let tick = |label: String, expected: usize, phase: i64| {
        let state = state.clone();
        async move {
            let (requests, messages) = (provider_requests(), metrics::get().publish_confirms.get());
            let round_trips = metrics::get().mongodb_commands.get();
            reset_peak_rss();
            let started = Instant::now();
            // Each phase is its own tick: name it by a time no earlier phase used.
            let scheduled = Utc::now() + chrono::Duration::seconds(phase);
            let enqueued = state.jobs.tick(&state.userauths, scheduled).await.expect("tick").unwrap_or(0);
            let mut last_report = Instant::now();
            loop {
                let depth = state.jobs.depth().await.unwrap_or(u64::MAX);
                if depth == 0 {
                    break;
                }
                if last_report.elapsed() > Duration::from_secs(10) {
                    println!("sync_tick: {label}: {depth} jobs left after {:.0} s", started.elapsed().as_secs_f64());
                    last_report = Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let seconds = started.elapsed().as_secs_f64();
            let requests = provider_requests() - requests;
            let messages = metrics::get().publish_confirms.get() - messages;
            let round_trips = metrics::get().mongodb_commands.get() - round_trips;
            let retried =
                metrics::get().jobs.get_or_create(&metrics::JobLabels { outcome: metrics::JobOutcome::Retried }).get();
            let per_child = |n: u64| n as f64 / enqueued.max(1) as f64;
            println!(
                "sync_tick: {label}: {enqueued} of {expected} children in {seconds:.1} s: {:.2} children/s, {:.2} provider requests per child, {:.1} MongoDB round trips per child, {:.1} messages/s, peak RSS {:.1} MB, RSS now {:.1} MB, {retried} job retries so far",
                enqueued as f64 / seconds,
                per_child(requests),
                per_child(round_trips),
                messages as f64 / seconds,
                peak_rss_mb(),
                rss_mb("VmRSS:")
            );
        }
    };

    // Incremental syncs first, at 1,000 and then at the full count, so the peak RSS they print is theirs.
    let yesterday = (Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let small = children.min(1000);
    let clear = || async {
        state.store.collection("userauths").delete_many(doc! {}).await.unwrap();
        state.store.collection("resources").delete_many(doc! {}).await.unwrap();
    };
    if small > 0 {
        seed(small, Some(yesterday.clone()), false).await;
        tick(format!("incremental sync of {small} children"), small, 1).await;
    }
    if children > small {
        seed(children - small, Some(yesterday), false).await;
        tick(format!("incremental sync of {children} children"), children, 2).await;
    }
    clear().await;

    // First syncs: 12 months of everything per child.
    if first_children > 0 {
        seed(first_children, None, false).await;
        tick(format!("Fitbit first sync of {first_children} children"), first_children, 3).await;
        clear().await;
    }
    if google_children > 0 {
        seed(google_children, None, true).await;
        tick(format!("Google first sync of {google_children} children"), google_children, 4).await;
        clear().await;
    }

    shutdown.cancel();
    state.store.database().drop().await.ok();
    tokio::time::sleep(Duration::from_millis(500)).await;
}
