//! The sync engine at scale (issue #4): one cron tick over thousands of children against the simulator with added
//! latency, on the real MongoDB, Redis and RabbitMQ. Prints children per second, provider requests per child (first
//! and incremental sync), messages per second and peak RSS at 1,000 and 10,000 children.
//!
//! `cargo bench --bench sync_tick` (after `scripts/services.sh`). Knobs: `BENCH_CHILDREN` (default 10000),
//! `BENCH_FIRST_SYNC_CHILDREN` (default 50), `BENCH_LATENCY_MS` (default 50), `SYNC_CONCURRENCY` (default 8).
//! The simulator runs in a child process, so the RSS figures are the service's (plus this driver's small share).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use ds_agent::config::Settings;
use ds_agent::metrics;
use ds_agent::startup::Application;
use mongodb::bson::{doc, oid::ObjectId, Document};
use provider_sim::{SimConfig, Simulator};

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
        access_token_ttl_secs: 24 * 3600,
        ..SimConfig::default()
    };
    let simulator = Simulator::start(config, addr).await.expect("simulator");
    let tokens = simulator.issue_fitbit_tokens("BENCH", "rwei ract rsle", 24 * 3600);
    println!("{} {}", tokens.access_token, tokens.refresh_token);
    std::future::pending::<()>().await;
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `VmHWM` (peak) or `VmRSS` (now) of this process, in MB.
fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn peak_rss_mb() -> f64 {
    rss_mb("VmHWM:")
}

fn provider_requests() -> u64 {
    [200u16, 0, 400, 401, 404, 429, 500, 503]
        .iter()
        .map(|s| metrics::value("ds_agent_provider_requests_total", &format!(r#"provider="fitbit",status="{s}""#)))
        .sum()
}

async fn run_bench() {
    let children = env_or("BENCH_CHILDREN", 10_000) as usize;
    let first_children = env_or("BENCH_FIRST_SYNC_CHILDREN", 50) as usize;
    let latency_ms = env_or("BENCH_LATENCY_MS", 50);
    let concurrency = env_or("SYNC_CONCURRENCY", 8);

    // The simulator, in its own process.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut simulator = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([SIM_FLAG, &addr, &latency_ms.to_string()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("simulator process");
    let mut line = String::new();
    {
        use tokio::io::AsyncBufReadExt;
        let stdout = simulator.stdout.take().unwrap();
        tokio::io::BufReader::new(stdout).read_line(&mut line).await.unwrap();
    }
    let mut tokens = line.split_whitespace();
    let (access_token, refresh_token) = (tokens.next().unwrap().to_string(), tokens.next().unwrap().to_string());

    let certs = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(certs.path().join("c.pem"), certified.cert.pem()).unwrap();
    std::fs::write(certs.path().join("k.pem"), certified.key_pair.serialize_pem()).unwrap();
    let logs = tempfile::tempdir().unwrap();
    let database = format!("ds-agent-bench-{}", std::process::id());
    let vars: HashMap<&str, String> = HashMap::from([
        ("NODE_ENV", "production".to_string()),
        ("PORT_HTTP", "0".into()),
        ("PORT_HTTPS", "0".into()),
        ("SSL_CERT_PATH", certs.path().join("c.pem").display().to_string()),
        ("SSL_KEY_PATH", certs.path().join("k.pem").display().to_string()),
        ("MONGODB_URI", format!("mongodb://127.0.0.1:27017/{database}")),
        ("FITBIT_API_URL", format!("http://{addr}")),
        ("FITBIT_CLIENT_ID", "1A2B3C".into()),
        ("FITBIT_CLIENT_SECRET", "f1tb1ts3cr3t".into()),
        ("SYNC_CONCURRENCY", concurrency.to_string()),
        ("MONGODB_TIMEOUT_MS", "20000".into()),
        ("LOG_DIR", logs.path().display().to_string()),
    ]);
    let mut settings = Settings::from_lookup(|name| vars.get(name).cloned()).expect("settings");
    settings.user_delete_queue = format!("bench-{}", std::process::id());
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
    println!("sync_tick: latency {latency_ms} ms per provider request, SYNC_CONCURRENCY {concurrency}");
    println!("sync_tick: idle peak RSS {:.1} MB", peak_rss_mb());

    let userauths = state.store.collection("userauths");
    let seed = |count: usize, last_sync: Option<String>| {
        let (userauths, access_token, refresh_token) = (userauths.clone(), access_token.clone(), refresh_token.clone());
        async move {
            let exp = Utc::now().timestamp() + 20 * 3600;
            for batch in (0..count).collect::<Vec<_>>().chunks(1000) {
                let documents: Vec<Document> = batch
                    .iter()
                    .map(|_| {
                        let mut fitbit = doc! {"access_token": &access_token, "expires_in": exp, "refresh_token": &refresh_token,
                            "scope": "rwei ract rsle", "token_type": "Bearer", "user_id": "BENCH", "status": "valid_token"};
                        if let Some(last_sync) = &last_sync {
                            fitbit.insert("last_sync", last_sync);
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
            let (requests, messages) = (provider_requests(), metrics::value("ds_agent_publish_confirms_total", ""));
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
            let messages = metrics::value("ds_agent_publish_confirms_total", "") - messages;
            println!(
                "sync_tick: {label}: {enqueued} of {expected} children in {seconds:.1} s: {:.1} children/s, {:.2} provider requests per child, {:.1} messages/s, peak RSS {:.1} MB, RSS now {:.1} MB",
                enqueued as f64 / seconds,
                requests as f64 / enqueued.max(1) as f64,
                messages as f64 / seconds,
                peak_rss_mb(),
                rss_mb("VmRSS:")
            );
        }
    };

    // Incremental syncs first, at 1,000 and then at the full count, so the peak RSS they print is theirs.
    let yesterday = (Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let small = children.min(1000);
    seed(small, Some(yesterday.clone())).await;
    tick(format!("incremental sync of {small} children"), small, 1).await;
    if children > small {
        seed(children - small, Some(yesterday)).await;
        tick(format!("incremental sync of {children} children"), children, 2).await;
    }
    state.store.collection("userauths").delete_many(doc! {}).await.unwrap();
    state.store.collection("resources").delete_many(doc! {}).await.unwrap();

    // First syncs: 12 months of everything per child.
    seed(first_children, None).await;
    tick(format!("first sync of {first_children} children"), first_children, 3).await;

    shutdown.cancel();
    state.store.database().drop().await.ok();
    tokio::time::sleep(Duration::from_millis(500)).await;
}
