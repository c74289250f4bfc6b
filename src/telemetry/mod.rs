//! Logging with the levels and texts of the original (docs/decisions.md#logging): a console line
//! `ds.app @ <time> <level>: <message>` and a daily JSON-lines file under `LOG_DIR`, kept 15 days. Production logs
//! warnings and errors only (docs/decisions.md#defaults).

mod format;

use std::path::Path;

use tracing::Level;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::Environment;

pub use format::{ConsoleLine, JsonLine};

const BUFFERED_LINES: usize = 4096;

/// Keeps the background log writers alive; logs are flushed when it is dropped.
pub struct LogGuards(#[allow(dead_code)] Vec<WorkerGuard>);

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot create LOG_DIR={dir:?}")]
    Directory { dir: String, source: std::io::Error },
    #[error("cannot write logs to LOG_DIR={dir:?}")]
    LogFile { dir: String, source: tracing_appender::rolling::InitError },
}

/// Installs the global subscriber. Called once, by the binary; tests run without it.
pub fn init(environment: Environment, log_dir: &Path) -> Result<LogGuards, TelemetryError> {
    let dir = || log_dir.display().to_string();
    std::fs::create_dir_all(log_dir).map_err(|source| TelemetryError::Directory { dir: dir(), source })?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_suffix("results.log")
        .max_log_files(15)
        .build(log_dir)
        .map_err(|source| TelemetryError::LogFile { dir: dir(), source })?;

    let level = match environment {
        Environment::Production => Level::WARN,
        _ => Level::DEBUG,
    };
    // Only our own crate logs below warn: dependencies' debug chatter would drown the original's messages.
    let filter = Targets::new()
        .with_target("ds_agent", level)
        .with_target("provider_sim", level)
        // The RabbitMQ client's own logger stays off, as in the original; the bus logs what matters.
        .with_target("lapin", tracing::level_filters::LevelFilter::OFF)
        .with_default(Level::WARN.min(level));

    // The default buffer of 128,000 lines is allocated up front (about 4 MB per writer); a small one keeps the idle
    // footprint low, and a full buffer still never blocks a request (lines are dropped and counted instead).
    let writer = || NonBlockingBuilder::default().buffered_lines_limit(BUFFERED_LINES).lossy(true);
    let (file_writer, file_guard) = writer().finish(appender);
    let (console_writer, console_guard) = writer().finish(std::io::stdout());
    let file = tracing_subscriber::fmt::layer()
        .event_format(JsonLine)
        .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
        .with_writer(file_writer)
        .with_filter(filter.clone());
    // NODE_ENV=test silences the console, as in the original.
    let console = (environment != Environment::Test).then(|| {
        tracing_subscriber::fmt::layer().event_format(ConsoleLine).with_writer(console_writer).with_filter(filter)
    });
    tracing_subscriber::registry().with(file).with(console).init();
    Ok(LogGuards(vec![file_guard, console_guard]))
}
