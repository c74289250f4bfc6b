//! What operators see: one child's sync status (`GET …/fitbit/sync/status`) through a child's life, and the dashboard
//! and alert rules of `deploy/` checked against the metrics a running service exports.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{eventually, spawn_app_with, unique_name, TestApp};
use crate::notifications::{notification, notification_app, post_signed, synced_google_child};

async fn status(app: &TestApp, child: &str) -> (StatusCode, Value) {
    let response = app.get(&format!("/v1/users/{child}/fitbit/sync/status")).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// No token of the child appears anywhere in `body`.
fn nothing_secret(body: &Value, secrets: &[&str]) {
    let text = body.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "a token leaked into {text}");
    }
    assert!(!text.contains("access_token") && !text.contains("refresh_token"), "{text}");
}

#[tokio::test]
async fn a_childs_status_from_no_sync_to_a_sync_running_done_and_rate_limited() {
    // Paced, so that a first sync lasts long enough to be seen running.
    let app = spawn_app_with(&[("GOOGLE_REQUESTS_PER_SECOND", "10")]).await;
    let (missing, invalid) = (mongodb::bson::oid::ObjectId::new().to_hex(), "not-an-id");
    let (code, body) = status(&app, &missing).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "Unable to find Fitbit authentication data!");
    let (code, body) = status(&app, invalid).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 400);

    let (child, tokens) = app.connect_google_user(&unique_name("STATUS"), 3600).await;
    let secrets = [tokens.access_token.as_str(), tokens.refresh_token.as_str()];
    let (code, never) = status(&app, &child.to_string()).await;
    assert_eq!(code, StatusCode::OK, "{never}");
    assert_eq!(never["provider"], "google");
    assert_eq!(never["token_status"], "valid_token");
    assert_eq!((never["last_sync"].clone(), never["running"].clone()), (Value::Null, Value::Bool(false)));
    assert_eq!(never["last_outcome"], Value::Null);
    assert_eq!(never["job"]["queued"], false);
    nothing_secret(&never, &secrets);

    let sync = tokio::spawn({
        let (client, url) = (app.client.clone(), app.url(&format!("/v1/users/{child}/fitbit/sync")));
        async move { client.post(url).send().await.unwrap() }
    });
    let seen_running = eventually(Duration::from_secs(60), || async {
        status(&app, &child.to_string()).await.1["running"] == Value::Bool(true)
    })
    .await;
    assert!(seen_running, "the lease is seen while the sync runs");
    let answer = sync.await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let counts: Value = answer.json().await.unwrap();
    let (_, done) = status(&app, &child.to_string()).await;
    assert_eq!(done["running"], false);
    assert!(done["last_sync"].is_string(), "{done}");
    assert_eq!(done["last_outcome"]["result"], "success");
    assert_eq!(done["last_outcome"]["counts"], counts, "the counts the route answered");
    assert!(done["last_outcome"]["at"].as_str().unwrap().ends_with('Z'));
    nothing_secret(&done, &secrets);

    // A Fitbit child whose provider rate-limits it: the outcome says 1429.
    app.sim.set_rate_limit(1);
    let (limited, fitbit_tokens) = app.connect_fitbit_child("rwei ract rsle").await;
    assert_eq!(app.sync(limited).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let (_, body) = status(&app, &limited.to_string()).await;
    assert_eq!(body["provider"], "fitbit");
    assert_eq!(body["last_outcome"]["result"], "failed");
    assert_eq!(body["last_outcome"]["code"], 1429);
    nothing_secret(&body, &[&fitbit_tokens.access_token, &fitbit_tokens.refresh_token]);
}

#[tokio::test]
async fn a_notified_child_whose_job_waits_for_a_retry_shows_it() {
    let app = notification_app(&[("SYNC_RETRY_BASE_SECS", "300")]).await;
    let user = unique_name("WAITS");
    let child = synced_google_child(&app, &user).await;
    let stored = app.userauth_document(child).await.unwrap();
    let health_user = stored.get_document("fitbit").unwrap().get_str("user_id").unwrap().to_string();
    // Another instance's sync holds the child: the notification's job finds it busy and waits for a retry.
    let lease = format!("ds-agent:lock:sync:{child}");
    let mut redis =
        redis::Client::open("redis://127.0.0.1:6379").unwrap().get_multiplexed_async_connection().await.unwrap();
    let _: () =
        redis::cmd("SET").arg(&lease).arg("another-instance").arg("EX").arg(120).query_async(&mut redis).await.unwrap();

    let accepted = post_signed(&app, &notification(&health_user, "exercise", Utc::now(), "UPSERT")).await;
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
    let waiting = eventually(Duration::from_secs(60), || async {
        status(&app, &child.to_string()).await.1["job"]["retry_at"].is_string()
    })
    .await;
    let (_, body) = status(&app, &child.to_string()).await;
    let _: () = redis::cmd("DEL").arg(&lease).query_async(&mut redis).await.unwrap();
    assert!(waiting, "{body}");
    assert_eq!(body["job"]["queued"], true);
    assert_eq!(body["running"], true, "the other instance's lease");
    assert!(body["last_notification_at"].is_string(), "{body}");
    // A job that found the child busy ran no sync: the last outcome is still the last sync's.
    assert_eq!(body["last_outcome"]["result"], "success", "{body}");
}

/// The metric names and label names a running service exports, from its `/metrics` text.
fn exported(text: &str) -> HashMap<String, BTreeSet<String>> {
    let mut exported: HashMap<String, BTreeSet<String>> = HashMap::new();
    for line in text.lines().filter(|line| !line.starts_with('#') && !line.is_empty()) {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = exported.entry(line[..name_end].to_string()).or_default();
        if let Some(inside) = line[name_end..].strip_prefix('{').and_then(|rest| rest.split_once('}')) {
            for pair in inside.0.split(',').filter(|pair| !pair.is_empty()) {
                labels.insert(pair.split('=').next().unwrap().to_string());
            }
        }
    }
    exported
}

/// Every `(metric, [label names])` an expression selects: a metric name, and the label names of the `{…}` after it.
fn selected(expr: &str) -> Vec<(String, Vec<String>)> {
    let is_name = |c: char| c.is_ascii_lowercase() || c == '_';
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(start) = ["ds_agent_", "process_"].iter().filter_map(|prefix| rest.find(prefix)).min() {
        let after = &rest[start..];
        let end = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
        let (name, tail) = after.split_at(end);
        let labels = match tail.strip_prefix('{').and_then(|inside| inside.split_once('}')) {
            Some((inside, _)) => inside
                .split(',')
                .filter_map(|matcher| {
                    let label: String = matcher.trim().chars().take_while(|c| is_name(*c)).collect();
                    (!label.is_empty()).then_some(label)
                })
                .collect(),
            None => Vec::new(),
        };
        found.push((name.to_string(), labels));
        rest = tail;
    }
    found
}

#[tokio::test]
async fn every_metric_and_label_the_dashboard_and_the_alert_rules_name_is_exported() {
    let app = notification_app(&[]).await;
    // A sync, a notification and a scrape: every family the dashboard draws has its samples.
    let child = synced_google_child(&app, &unique_name("SCRAPE")).await;
    let stored = app.userauth_document(child).await.unwrap();
    let health_user = stored.get_document("fitbit").unwrap().get_str("user_id").unwrap().to_string();
    assert_eq!(post_signed(&app, &notification(&health_user, "sleep", Utc::now(), "UPSERT")).await.status(), 204);
    assert_eq!(app.state.jobs.tick(&app.state.userauths, Utc::now()).await.unwrap(), Some(1));
    let notified = eventually(Duration::from_secs(60), || async {
        let text = app.get("/metrics").await.text().await.unwrap();
        text.lines().any(|l| l.starts_with("ds_agent_notification_to_published_seconds_count") && !l.ends_with(" 0"))
    })
    .await;
    assert!(notified, "the notification's sync ended");
    let response = app.get("/metrics").await;
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let exported = exported(&response.text().await.unwrap());

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("deploy/grafana/ds-agent.json")).unwrap()).unwrap();
    let mut exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|target| target["expr"].as_str().map(str::to_string))
        .collect();
    let rules = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).unwrap();
    let rule_exprs: Vec<String> =
        rules.lines().filter_map(|line| line.trim().strip_prefix("expr: ")).map(str::to_string).collect();
    assert_eq!(rule_exprs.len(), rules.matches("- alert:").count(), "one single-line expr per rule");
    exprs.extend(rule_exprs);
    assert!(exprs.len() > 20);

    let mut missing = Vec::new();
    for expr in &exprs {
        for (metric, labels) in selected(expr) {
            // A histogram is exported as its _bucket, _sum and _count series.
            let Some(exported_labels) = exported.get(&metric) else {
                missing.push(format!("{metric} (in {expr})"));
                continue;
            };
            for label in labels {
                // `job` and `instance` are the target labels Prometheus adds.
                if !exported_labels.contains(&label) && label != "job" && label != "instance" {
                    missing.push(format!("{metric}{{{label}}} (in {expr})"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "named but not exported: {missing:#?}");
}
