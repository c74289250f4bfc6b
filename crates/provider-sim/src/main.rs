//! `provider-sim`: the Google and Fitbit simulator as a process, for `scripts/dev.sh` and manual runs. Point
//! ds-agent's `GOOGLE_OAUTH_URL`, `GOOGLE_HEALTH_API_URL` and Fitbit base URL at it and steer it with curl through
//! `/__admin` (docs/simulator.md). Every setting can be given on the command line (`--help` lists them).

use std::process::ExitCode;

use provider_sim::{SimConfig, Simulator};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

/// The usage text: the flags of the binary, then one `--<setting>` per setting.
fn usage() -> String {
    let mut usage = String::from(
        "usage: provider-sim [--addr HOST:PORT] [--legacy-gone] [--<setting> VALUE]...
  --addr HOST:PORT   listen address (default 127.0.0.1:5080)
  --legacy-gone      (no value) every legacy Fitbit route answers 410 Gone from the start
  --rate-limit N     the same as --rate-limit-per-hour N
  --google-rate-limit N  the same as --google-rate-limit-per-minute N
settings (also GET and PUT /__admin/config; VALUE is JSON, or else a string; defaults in GET /__admin/config):
",
    );
    for (name, what) in SimConfig::SETTINGS.iter().filter(|(name, _)| *name != "legacy_gone") {
        usage.push_str(&format!("  --{:<40} {what}\n", name.replace('_', "-")));
    }
    usage.push_str(
        "env: FITBIT_CLIENT_ID, FITBIT_CLIENT_SECRET, GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET set those settings (flags
     win); RUST_LOG (default info)",
    );
    usage
}

struct Args {
    addr: String,
    config: SimConfig,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args { addr: "127.0.0.1:5080".to_string(), config: SimConfig::default() };
    for (variable, setting) in [
        ("FITBIT_CLIENT_ID", "fitbit_client_id"),
        ("FITBIT_CLIENT_SECRET", "fitbit_client_secret"),
        ("GOOGLE_CLIENT_ID", "google_client_id"),
        ("GOOGLE_CLIENT_SECRET", "google_client_secret"),
    ] {
        if let Ok(value) = std::env::var(variable) {
            parsed.config.set(setting, &Value::String(value))?;
        }
    }
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let setting = match flag.as_str() {
            "--addr" => {
                parsed.addr = value()?;
                continue;
            }
            "--legacy-gone" => {
                parsed.config.legacy_gone = true;
                continue;
            }
            "--rate-limit" => "rate_limit_per_hour".to_string(),
            "--google-rate-limit" => "google_rate_limit_per_minute".to_string(),
            other => match other.strip_prefix("--") {
                Some(name) => name.replace('-', "_"),
                None => return Err(format!("unknown argument {other}")),
            },
        };
        if !SimConfig::SETTINGS.iter().any(|(name, _)| *name == setting) {
            return Err(format!("unknown argument {flag}"));
        }
        let raw = value()?;
        let value = serde_json::from_str(&raw).unwrap_or(Value::String(raw));
        parsed.config.set(&setting, &value)?;
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().any(|arg| arg == "--help" || arg == "-h") {
        println!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("provider-sim: {error}\n{}", usage());
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
