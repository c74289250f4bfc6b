//! The `ds-agent` binary: configuration, logging, then the application until SIGINT or SIGTERM; or, with
//! `google-subscriber create|show|delete`, the management of the Google Health subscriber (operators); or, with
//! `tokens reseal`, the sealing of every stored token under the current key (docs/operations.md#security).

use std::process::ExitCode;

use ds_agent::config::Settings;
use ds_agent::error_chain::Chain;
use ds_agent::shutdown::cancel_on_signal;
use ds_agent::startup::Application;
use ds_agent::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is fine; real environment variables win over it.
    let _ = dotenvy::dotenv();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => return fatal(&e),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("google-subscriber") {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let action = args.get(1).map(String::as_str).unwrap_or_default();
        return match ds_agent::notifications::subscriber::run(action, &settings).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ds-agent google-subscriber: {}", Chain(&e));
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) == Some("tokens") {
        let _ = rustls::crypto::ring::default_provider().install_default();
        return match ds_agent::tokens::reseal::run(&args[1..], &settings).await {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ds-agent tokens: {}", Chain(&e));
                ExitCode::FAILURE
            }
        };
    }
    let _logs = match telemetry::init(settings.environment, &settings.log_dir) {
        Ok(guards) => guards,
        Err(e) => return fatal(&e),
    };
    if settings.environment == ds_agent::config::Environment::Production && settings.token_encryption_key.is_none() {
        tracing::warn!("TOKEN_ENCRYPTION_KEY is not set: provider tokens are stored unencrypted.");
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => return fatal(&e),
    };
    tokio::spawn(cancel_on_signal(app.shutdown_token()));
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(&e),
    }
}

/// One clear line on stderr (and in the log, once it exists), with every cause, then a non-zero exit.
fn fatal(error: &(dyn std::error::Error + 'static)) -> ExitCode {
    let error = Chain(error);
    tracing::error!("Error initializing services in background! {error}");
    eprintln!("ds-agent: {error}");
    ExitCode::FAILURE
}
