//! What operators configure reaches the service: every variable the service reads is documented in `.env.example`,
//! and docker compose passes every variable of `.env.example` to the ds-agent service (docs/operations.md#deployment).
//! `scripts/test.sh` also validates the compose file with `docker-compose config`.

use std::cell::RefCell;
use std::collections::BTreeSet;

use ds_agent::config::Settings;

fn repository_file(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// The variables `.env.example` documents, set or commented out (`NAME=` or `# NAME=` at a line's start).
fn documented() -> BTreeSet<String> {
    repository_file(".env.example")
        .lines()
        .filter_map(|line| line.trim_start_matches("# ").split_once('='))
        .map(|(name, _)| name)
        .filter(|name| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_variable_the_service_reads_is_documented() {
    let read = RefCell::new(BTreeSet::new());
    for environment in ["development", "test", "production"] {
        Settings::from_lookup(|name| {
            read.borrow_mut().insert(name.to_string());
            (name == "NODE_ENV").then(|| environment.to_string())
        })
        .expect("the defaults are valid settings");
    }
    // Read by `ds-agent google-subscriber` through Google's credential lookup, not by the settings.
    read.borrow_mut().insert("GOOGLE_APPLICATION_CREDENTIALS".into());
    let read = read.into_inner();
    assert!(read.len() > 40, "{read:?}");
    let documented = documented();
    let undocumented: Vec<_> = read.difference(&documented).collect();
    assert!(undocumented.is_empty(), "read but not in .env.example: {undocumented:?}");
}

#[test]
fn compose_passes_every_documented_variable_to_the_service() {
    let compose = repository_file("docker-compose.yml");
    let service = compose.split("\n  ds-agent:\n").nth(1).expect("a ds-agent service");
    let service = service.split("\n  prometheus:\n").next().unwrap();
    let passed: BTreeSet<String> = service
        .lines()
        .filter_map(|line| {
            let (name, value) = line.trim().split_once(": ")?;
            // Interpolated from the operator's environment or .env, with compose's wiring as the default.
            value.starts_with(&format!("${{{name}:-")).then(|| name.to_string())
        })
        .collect();
    let documented = documented();
    assert!(documented.len() > 40, "{documented:?}");
    let dropped: Vec<_> = documented.difference(&passed).collect();
    assert!(dropped.is_empty(), "in .env.example but not passed by docker-compose.yml: {dropped:?}");
}
