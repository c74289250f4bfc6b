//! What every benchmark needs to run the service in-process as in production: a self-signed certificate, a log
//! directory, and the settings it starts from, on a database of its own.

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
