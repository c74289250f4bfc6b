//! `provider-sim`: the Fitbit and Google simulator as a process, for `scripts/dev.sh` and manual runs. Point
//! ds-agent's Fitbit base URL, `GOOGLE_OAUTH_URL` and `GOOGLE_HEALTH_API_URL` at it and steer it with curl through
//! `/__admin`.

use std::process::ExitCode;
use std::time::Duration;

use provider_sim::{SimConfig, Simulator};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: provider-sim [--addr HOST:PORT] [--legacy-gone] [--latency-ms N] [--rate-limit N]
                    [--google-rate-limit N] [--google-default-user ID]
  --addr HOST:PORT          listen address (default 127.0.0.1:5080)
  --legacy-gone             answer 410 Gone on every legacy Fitbit route from the start (Google routes stay up)
  --latency-ms N            add N ms to every non-admin request (default 0)
  --rate-limit N            Fitbit data GETs + introspections per user per hour (default 150)
  --google-rate-limit N     Google Health API requests per user per minute (default 300)
  --google-default-user ID  user the consent page signs in without login_hint (default SIMUSR)
env: FITBIT_CLIENT_ID, FITBIT_CLIENT_SECRET (default 1A2B3C / f1tb1ts3cr3t);
     GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET (default sim-google-client.apps.googleusercontent.com / sim-google-secret);
     RUST_LOG (default info)";

struct Args {
    addr: String,
    config: SimConfig,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args { addr: "127.0.0.1:5080".to_string(), config: SimConfig::default() };
    if let Ok(id) = std::env::var("FITBIT_CLIENT_ID") {
        parsed.config.fitbit_client_id = id;
    }
    if let Ok(secret) = std::env::var("FITBIT_CLIENT_SECRET") {
        parsed.config.fitbit_client_secret = secret;
    }
    if let Ok(id) = std::env::var("GOOGLE_CLIENT_ID") {
        parsed.config.google_client_id = id;
    }
    if let Ok(secret) = std::env::var("GOOGLE_CLIENT_SECRET") {
        parsed.config.google_client_secret = secret;
    }
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => parsed.addr = value()?,
            "--legacy-gone" => parsed.config.legacy_gone = true,
            "--latency-ms" => {
                let ms = value()?.parse().map_err(|_| "--latency-ms takes a whole number".to_string())?;
                parsed.config.latency = Duration::from_millis(ms);
            }
            "--rate-limit" => {
                parsed.config.rate_limit_per_hour =
                    value()?.parse().map_err(|_| "--rate-limit takes a whole number".to_string())?;
            }
            "--google-rate-limit" => {
                parsed.config.google_rate_limit_per_minute =
                    value()?.parse().map_err(|_| "--google-rate-limit takes a whole number".to_string())?;
            }
            "--google-default-user" => parsed.config.google_default_user = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("provider-sim: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let simulator = match Simulator::start(args.config, &args.addr).await {
        Ok(simulator) => simulator,
        Err(error) => {
            tracing::error!("cannot listen on {}: {error}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("provider-sim listening on {}", simulator.base_url());
    wait_for_stop_signal().await;
    tracing::info!("provider-sim stopping");
    simulator.shutdown_and_wait().await;
    ExitCode::SUCCESS
}

async fn wait_for_stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
