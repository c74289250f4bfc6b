//! What every benchmark needs to run the service in-process as in production: a self-signed certificate, a log
//! directory, and the settings it starts from, on a database of its own; the simulator in a process of its own; and
//! the figures they print (knobs, peak RSS, the service's counters, the machine's load).
// Each bench compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;

use ds_agent::config::Settings;
use tempfile::TempDir;

/// The certificate and log directories; the service needs them for as long as it runs.
pub struct BenchFiles {
    _certs: TempDir,
    _logs: TempDir,
}

/// Production settings on `database`, ports chosen by the system, plus `extra` variables.
pub fn service_settings(database: &str, extra: &[(&str, String)]) -> (Settings, BenchFiles) {
    let certs = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(certs.path().join("c.pem"), certified.cert.pem()).unwrap();
    std::fs::write(certs.path().join("k.pem"), certified.key_pair.serialize_pem()).unwrap();
    let logs = tempfile::tempdir().unwrap();
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("NODE_ENV", "production".to_string()),
        ("PORT_HTTP", "0".into()),
        ("PORT_HTTPS", "0".into()),
        ("SSL_CERT_PATH", certs.path().join("c.pem").display().to_string()),
        ("SSL_KEY_PATH", certs.path().join("k.pem").display().to_string()),
        ("MONGODB_URI", format!("mongodb://127.0.0.1:27017/{database}")),
        ("MONGODB_TIMEOUT_MS", "20000".into()),
        ("LOG_DIR", logs.path().display().to_string()),
    ]);
    vars.extend(extra.iter().cloned());
    let mut settings = Settings::from_lookup(|name| vars.get(name).cloned()).expect("settings");
    // Its own `UserDeleteEvent` queue: the broker is shared.
    settings.user_delete_queue = format!("{database}-user-delete");
    (settings, BenchFiles { _certs: certs, _logs: logs })
}

/// A whole-number knob from the environment.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `VmHWM` (peak) or `VmRSS` (now) of this process, in MiB.
pub fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

pub fn peak_rss_mb() -> f64 {
    rss_mb("VmHWM:")
}

/// Resets the peak RSS, so that each phase prints its own (Linux: `5` in `clear_refs`).
pub fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").ok();
}

/// The sum of every series of a metric family whose rendered line starts with `prefix` (a name, or a name with the
/// start of its labels).
pub fn metric_sum(prefix: &str) -> f64 {
    ds_agent::metrics::get()
        .render()
        .lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The machine's load averages over 1, 5 and 15 minutes, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// This bench's binary again, with `args`, in a process of its own (the simulator: the RSS figures are then the
/// service's): the process, and the first line it prints once it is up.
pub async fn spawn_self(args: &[String]) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the simulator's process");
    let mut line = String::new();
    let stdout = child.stdout.take().unwrap();
    tokio::io::BufReader::new(stdout).read_line(&mut line).await.unwrap();
    (child, line)
}
