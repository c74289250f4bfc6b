//! The OCARIoT consumers refuse an activity or a night unless `end_time − start_time = duration` to the millisecond:
//! items whose duration is not whole seconds are published with an end that satisfies it, on both providers, and
//! whole-second items keep the original's bytes. Through the simulator, which serves the items as written.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::bus_probe::{BusProbe, Published};
use crate::helpers::{spawn_app, unique_name};

const KEYS: [&str; 2] = ["physicalactivities.sync", "sleep.sync"];

/// What the consumers check, as JavaScript dates do it: milliseconds between the two times.
fn difference_ms(item: &Value) -> i64 {
    let ms = |key: &str| DateTime::parse_from_rfc3339(item[key].as_str().unwrap()).unwrap().timestamp_millis();
    ms("end_time") - ms("start_time")
}

/// The published item of `key` that starts at `start_time`.
fn item<'a>(published: &'a Published, key: &str, start_time: &str) -> &'a Value {
    let items = published.items.get(key).unwrap_or_else(|| panic!("nothing on {key}"));
    items.iter().find(|item| item["start_time"] == start_time).unwrap_or_else(|| panic!("{start_time} not on {key}"))
}

/// Whether a message of `key` carries `bytes` exactly as written.
fn carried(published: &Published, key: &str, bytes: &str) -> bool {
    published.messages(key).iter().any(|message| String::from_utf8_lossy(&message.raw).contains(bytes))
}

fn days_ago(days: i64) -> NaiveDate {
    Utc::now().date_naive() - chrono::Duration::days(days)
}

#[tokio::test]
async fn fitbit_items_of_fractional_seconds_end_where_the_consumers_expect_and_whole_ones_keep_their_bytes() {
    let app = spawn_app().await;
    let (child, _, user) = app.connect_fitbit_user("ract rsle").await;
    let day = days_ago(3);
    let levels = json!([{"minutes": 45, "name": "sedentary"}]);
    let activity = |log_id: i64, time: &str, duration: i64| {
        json!({"logId": log_id, "activityName": "Walk", "startTime": format!("{day}T{time}.000-03:00"),
               "duration": duration, "calories": 154, "activityLevel": levels})
    };
    app.sim.add_fitbit_log(&user, "activities", activity(41_000_000_001, "23:31:07", 2_712_345));
    app.sim.add_fitbit_log(&user, "activities", activity(41_000_000_002, "23:01:09", 1_800_000));
    let summary = json!({"deep": {"count": 1, "minutes": 100}, "light": {"count": 1, "minutes": 110},
                         "rem": {"count": 0, "minutes": 0}, "wake": {"count": 1, "minutes": 10}});
    app.sim.add_fitbit_log(
        &user,
        "sleep",
        json!({
            "logId": 41_000_000_003_i64, "dateOfSleep": day.to_string(), "type": "stages", "duration": 13_200_250,
            "startTime": format!("{day}T12:59:00.500"),
            "levels": {"data": [
                {"dateTime": format!("{day}T12:59:00.500"), "level": "wake", "seconds": 600},
                {"dateTime": format!("{day}T13:09:00.500"), "level": "light", "seconds": 6600},
                {"dateTime": format!("{day}T14:59:00.500"), "level": "deep", "seconds": 6000}
            ], "summary": summary}
        }),
    );
    let mut probe = BusProbe::bind(&KEYS).await;

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let counts: Value = response.json().await.unwrap();
    let published = probe.published(&child.to_string(), &counts, Duration::from_secs(60)).await;

    let fractional = item(&published, KEYS[0], &format!("{day}T23:31:07Z"));
    assert_eq!(fractional["end_time"], format!("{}T00:16:19.345Z", day.succ_opt().unwrap()));
    assert_eq!(fractional["duration"], 2_712_345);
    assert_eq!(difference_ms(fractional), 2_712_345);
    let night = item(&published, KEYS[1], &format!("{day}T12:59:00Z"));
    assert_eq!(
        (night["end_time"].as_str().unwrap(), difference_ms(night)),
        (&*format!("{day}T16:39:00.250Z"), 13_200_250)
    );
    assert_eq!(night["pattern"]["data_set"][1]["start_time"], format!("{day}T13:09:00Z"));

    let whole = format!(
        r#"{{"start_time":"{day}T23:01:09Z","end_time":"{day}T23:31:09Z","duration":1800000,"child_id":"{child}","#
    ) + r#""name":"Walk","calories":154,"levels":[{"name":"sedentary","duration":2700000}]}"#;
    assert!(carried(&published, KEYS[0], &whole), "the whole-second activity's bytes: {whole}");
    // Every item the sync published satisfies the consumers' check, the generated ones too.
    for key in KEYS {
        for item in &published.items[key] {
            assert_eq!(difference_ms(item), item["duration"].as_i64().unwrap(), "{item}");
        }
    }
}

#[tokio::test]
async fn google_items_of_fractional_seconds_end_where_the_consumers_expect_and_whole_ones_keep_their_bytes() {
    let app = spawn_app().await;
    let user = unique_name("MS");
    let (child, _) = app.connect_google_user(&user, 3600).await;
    let day = days_ago(3);
    let next = day.succ_opt().unwrap();
    let interval = |start: &str, end: &str| json!({"startTime": start, "startUtcOffset": "-10800s", "endTime": end, "endUtcOffset": "-10800s"});
    // An exercise type no proto has yet, without a display name: read by its type, in title case.
    app.sim.add_google_point(
        &user,
        "exercise",
        json!({
            "interval": interval(&format!("{next}T02:31:07Z"), &format!("{next}T03:16:19.345Z")),
            "exerciseType": "UNDERWATER_HOCKEY_FUTURE", "metricsSummary": {"caloriesKcal": 154.0}
        }),
    );
    app.sim.add_google_point(&user, "exercise", json!({
        "interval": interval(&format!("{next}T02:01:09Z"), &format!("{next}T02:31:09Z")),
        "exerciseType": "SOCCER", "displayName": "Soccer", "metricsSummary": {"caloriesKcal": 154.0, "steps": "3300"}
    }));
    let stage = |start: &str, end: &str, kind: &str| json!({"startTime": start, "startUtcOffset": "-10800s", "endTime": end, "endUtcOffset": "-10800s", "type": kind});
    app.sim.add_google_point(
        &user,
        "sleep",
        json!({
            "interval": interval(&format!("{day}T15:59:00.500Z"), &format!("{day}T19:39:00.750Z")),
            "type": "STAGES",
            "stages": [
                stage(&format!("{day}T15:59:00.500Z"), &format!("{day}T16:09:00.125Z"), "AWAKE"),
                stage(&format!("{day}T16:09:00.125Z"), &format!("{day}T17:59:00.875Z"), "LIGHT"),
                stage(&format!("{day}T17:59:00.875Z"), &format!("{day}T19:39:00.750Z"), "DEEP")
            ],
            "shortAwakenings": [stage(&format!("{day}T17:00:00.250Z"), &format!("{day}T17:01:00Z"), "AWAKE")],
            "summary": {"stagesSummary": [{"type": "DEEP", "minutes": "100", "count": "1"},
                                          {"type": "LIGHT", "minutes": "110", "count": "1"},
                                          {"type": "AWAKE", "minutes": "11", "count": "2"}]},
            "metadata": {"processed": true, "stagesStatus": "SUCCEEDED", "mainSleep": false}
        }),
    );
    let mut probe = BusProbe::bind(&KEYS).await;

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let counts: Value = response.json().await.unwrap();
    let published = probe.published(&child.to_string(), &counts, Duration::from_secs(60)).await;

    let fractional = item(&published, KEYS[0], &format!("{day}T23:31:07Z"));
    assert_eq!(fractional["end_time"], format!("{next}T00:16:19.345Z"));
    assert_eq!((fractional["duration"].as_i64(), difference_ms(fractional)), (Some(2_712_345), 2_712_345));
    assert_eq!(fractional["name"], "Underwater Hockey Future");
    let night = item(&published, KEYS[1], &format!("{day}T12:59:00Z"));
    assert_eq!(night["duration"], 13_200_250);
    assert_eq!(night["end_time"], format!("{day}T16:39:00.250Z"));
    assert_eq!(difference_ms(night), 13_200_250);
    let stages = night["pattern"]["data_set"].as_array().unwrap();
    assert_eq!(stages.len(), 3, "short awakenings are not stages");
    assert_eq!(stages[1], json!({"start_time": format!("{day}T13:09:00Z"), "name": "light", "duration": 6_600_750}));

    let whole = format!(
        r#"{{"start_time":"{day}T23:01:09Z","end_time":"{day}T23:31:09Z","duration":1800000,"child_id":"{child}","#
    ) + r#""name":"Soccer","calories":154,"steps":3300}"#;
    assert!(carried(&published, KEYS[0], &whole), "the whole-second exercise's bytes: {whole}");
    for key in KEYS {
        for item in &published.items[key] {
            assert_eq!(difference_ms(item), item["duration"].as_i64().unwrap(), "{item}");
        }
    }
}
