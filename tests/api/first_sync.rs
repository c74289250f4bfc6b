//! First syncs: a first sync streams each part page by page (publish, confirm, record, then the next page), so that an
//! interrupted one resumes where it stopped and never sends an item twice. Google children, through the simulator.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{Months, NaiveDate, Utc};
use ds_agent::domain::ChildId;
use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::Value;

use crate::bus_probe::{BusProbe, Published};
use crate::helpers::{eventually, spawn_app, spawn_app_with, unique_name, TestApp};
use crate::proxy::Proxy;

const SYNC_KEYS: [&str; 4] = ["physicalactivities.sync", "sleep.sync", "weights.sync", "logs.sync"];
/// Each resource kind's routing key and the field its items are told apart by.
const KINDS: [(&str, &str); 3] =
    [("physicalactivities.sync", "start_time"), ("sleep.sync", "start_time"), ("weights.sync", "timestamp")];

fn months_ago(months: u32) -> NaiveDate {
    Utc::now().date_naive().checked_sub_months(Months::new(months)).unwrap()
}

/// What the simulator holds for `user` over a first sync's windows: activities and nights over 12 months, weigh-ins
/// over 4.
fn expected_counts(user: &str) -> [usize; 3] {
    let today = Utc::now().date_naive();
    let year = provider_sim::google_dataset(user, months_ago(12), today);
    let weights = provider_sim::google_dataset(user, months_ago(4), today);
    [year.points["exercise"].len(), year.points["sleep"].len(), weights.points["weight"].len()]
}

async fn recorded(app: &TestApp, child: ChildId) -> u64 {
    app.store.collection("resources").count_documents(doc! {"user_id": child.to_string()}).await.unwrap()
}

#[tokio::test]
async fn a_first_sync_with_several_pages_of_every_kind_publishes_each_item_once_newest_first() {
    let app = spawn_app().await;
    let user = unique_name("PAGES");
    let mut probe = BusProbe::bind(&SYNC_KEYS).await;
    let (child, _) = app.connect_google_user(&user, 3600).await;

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let published = probe.published(&child.to_string(), &body, Duration::from_secs(60)).await;

    let expected = expected_counts(&user);
    for ((key, field), (count_name, expected)) in
        KINDS.iter().zip(["activities", "sleep", "weights"].iter().zip(expected))
    {
        let items = published.of(key);
        assert_eq!(body[*count_name].as_u64().unwrap() as usize, expected, "{key}: the 200 body counts every item");
        assert_eq!(items.len(), expected, "{key}: every item published");
        assert!(published.messages(key).len() > 1, "{key}: more than one page ({expected} items)");
        let times: Vec<&str> = items.iter().map(|item| item[*field].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|pair| pair[0] > pair[1]), "{key}: newest first, each once");
    }
    // Logs go out chunk by chunk: each type in more than one message, each day once.
    let logs = published.of("logs.sync");
    assert!(published.messages("logs.sync").len() > 4, "{} log messages", published.messages("logs.sync").len());
    let days: HashSet<(String, String)> =
        logs.iter().map(|log| (log["type"].to_string(), log["date"].to_string())).collect();
    assert_eq!(days.len(), logs.len(), "no log entry twice");
    assert_eq!(recorded(&app, child).await as usize, expected.iter().sum::<usize>());
}

#[tokio::test]
async fn a_first_sync_cut_off_from_rabbitmq_midway_is_resumed_by_the_next_and_resends_only_what_was_unconfirmed() {
    let proxy = Proxy::start("127.0.0.1:5672").await;
    let uri = format!("amqp://guest:guest@127.0.0.1:{}", proxy.port);
    let app = spawn_app_with(&[("RABBITMQ_URI", &uri)]).await;
    assert!(eventually(Duration::from_secs(60), || app.state.bus.is_connected()).await);
    let user = unique_name("CUT");
    let mut probe = BusProbe::bind(&SYNC_KEYS[..3]).await;
    let (child, _) = app.connect_google_user(&user, 3600).await;

    // Pages come newest first: the first page that reaches back six months has several pages before it. It is not
    // forwarded, and the connection goes with it.
    let midway = months_ago(6).format("%Y-%m").to_string();
    proxy.trip_on(format!(r#""start_time":"{midway}"#).as_bytes());
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{:?}", response.text().await);
    let mut first = Published::default();
    // Everything the cut sync sent reached the broker before it answered; reading stops once nothing more comes.
    while let Some(message) = probe.next_for(&child.to_string(), Duration::from_secs(5)).await {
        let items = message.body.as_object().and_then(|o| o.values().find_map(Value::as_array)).cloned();
        first.items.entry(message.routing_key.clone()).or_default().extend(items.unwrap_or_default());
    }
    let sent_before: usize = first.items.values().map(Vec::len).sum();
    // The parts publish side by side on one channel: a page of another part that the broker took just before the cut
    // may have lost its confirm with the connection. It is not recorded, and goes again (at least once).
    let recorded_before = recorded(&app, child).await as usize;
    assert!(recorded_before > 0, "pages were confirmed and recorded before the cut");
    assert!(
        recorded_before <= sent_before,
        "only what reached the broker is recorded: {recorded_before} of {sent_before}"
    );
    let stored = app.userauth_document(child).await.unwrap();
    assert!(stored.get_document("fitbit").unwrap().get("last_sync").is_none(), "not finished: no last_sync");

    proxy.restore();
    assert!(eventually(Duration::from_secs(60), || app.state.bus.is_connected()).await, "reconnected");
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let second = probe.published(&child.to_string(), &body, Duration::from_secs(60)).await;

    let expected = expected_counts(&user);
    for ((key, field), expected) in KINDS.iter().zip(expected) {
        let mut items = first.of(key);
        items.extend(second.of(key));
        let distinct: HashSet<&str> = items.iter().map(|item| item[*field].as_str().unwrap()).collect();
        assert_eq!(distinct.len(), expected, "{key}: the rest came with the next sync");
    }
    let expected_total: usize = expected.iter().sum();
    // The next sync sends exactly what was not recorded: nothing confirmed goes twice.
    let sent_after: usize = second.items.values().map(Vec::len).sum();
    assert_eq!(sent_after, expected_total - recorded_before, "again: only the unconfirmed ({sent_before} sent before)");
    assert_eq!(recorded(&app, child).await as usize, expected_total);
    assert!(probe.next_for(&child.to_string(), Duration::from_secs(2)).await.is_none(), "nothing more");
}

#[tokio::test]
async fn first_syncs_run_beside_each_other_without_a_special_cap() {
    // SYNC_CONCURRENCY and SYNC_PAGES_IN_FLIGHT are the only bounds. Four first syncs started together all read from the provider before any of
    // them finished; with the old cap of two, the third started only after one had stored its last_sync.
    let app = spawn_app().await;
    app.sim.set_latency(Duration::from_millis(300));
    let mut users = Vec::new();
    for i in 0..4 {
        let user = unique_name(&format!("MANY{i}"));
        let (child, _) = app.connect_google_user(&user, 3600).await;
        users.push((user, child));
    }
    let mut running = Vec::new();
    for (_, child) in &users {
        running.push(app.state.sync.spawn(*child).await.expect("started"));
    }
    let side_by_side = eventually(Duration::from_secs(60), || async {
        let mut reading = 0;
        for (user, child) in &users {
            let unfinished =
                app.userauth_document(*child).await.unwrap().get_document("fitbit").unwrap().get("last_sync").is_none();
            reading += (unfinished && app.sim.google_counts(user).data > 0) as usize;
        }
        reading == users.len()
    });
    assert!(side_by_side.await, "every first sync reads at the same time");
    app.sim.set_latency(Duration::ZERO);
    for sync in running {
        assert!(sync.first_sync);
        sync.outcome.await.unwrap().expect("the sync finishes");
    }
}
