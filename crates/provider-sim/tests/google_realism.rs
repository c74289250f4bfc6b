//! The Google side answers as unkindly as the real Health API: proto3 JSON leaves default values out, still days have
//! buckets with no sums in them, a phone is a second source that `list` returns and `reconcile` merges, reconciled
//! names may change from call to call, the newest night may still be processing, an unverified app is paced per
//! second, and on demand a user's newest items are defective.

mod common;

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate};
use common::google::*;
use common::*;
use provider_sim::{
    dataset, google_dataset, google_dataset_verbose, phone_exercise_days, still_days, unworn_days, SimConfig,
    Simulator, GOOGLE_HEALTH_SCOPES,
};
use serde_json::{json, Value};

/// The first synthetic user with a day in the last 60 that `pick` returns, and that day: whether a given user has one
/// in the window depends on today's date.
fn user_and_day(pick: impl Fn(&str, NaiveDate, NaiveDate) -> Vec<NaiveDate>) -> (String, NaiveDate) {
    let from = today() - Duration::days(59);
    (0..500)
        .map(|i| format!("REAL{i}"))
        .find_map(|user| pick(&user, from, today()).first().map(|day| (user.clone(), *day)))
        .expect("some user has such a day")
}

fn is_default(value: &Value) -> bool {
    matches!(value, Value::Bool(false) | Value::Null)
        || value.as_f64() == Some(0.0)
        || value == "0"
        || value.as_str().is_some_and(|s| s.ends_with("_UNSPECIFIED"))
}

/// Whether a proto3 default (`"0"`, `0`, `false`, an `*_UNSPECIFIED` enum) is printed anywhere in `value`.
fn holds_default(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(holds_default),
        Value::Object(fields) => fields.values().any(holds_default),
        scalar => is_default(scalar),
    }
}

/// `value` without the fields that hold a default.
fn strip_defaults(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(strip_defaults).collect()),
        Value::Object(fields) => Value::Object(
            fields.iter().filter(|(_, v)| !is_default(v)).map(|(k, v)| (k.clone(), strip_defaults(v))).collect(),
        ),
        scalar => scalar.clone(),
    }
}

async fn bucket(sim: &Simulator, token: &str, data_type: &str, day: NaiveDate) -> Value {
    let response = daily_roll_up(sim, token, data_type, day, day + Duration::days(1)).await;
    assert_eq!(response.status(), 200, "{data_type}");
    let body = json(response).await;
    assert_eq!(body["rollupDataPoints"].as_array().map(Vec::len), Some(1), "{data_type}: {body}");
    body["rollupDataPoints"][0].clone()
}

async fn config(sim: &Simulator, body: Value) -> reqwest::Response {
    client().put(format!("{}/__admin/config", sim.base_url())).body(body.to_string()).send().await.unwrap()
}

fn points(body: &Value) -> Vec<Value> {
    body["dataPoints"].as_array().cloned().unwrap_or_default()
}

fn at(value: &Value) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn still_days_have_buckets_whose_zero_sums_are_left_out_unless_verbose() {
    let (user, day) = user_and_day(still_days);
    assert!(unworn_days(&user, day, day).is_empty(), "a still day is worn");
    let fitbit = dataset(&user, day, day);
    let value = |resource: &str| fitbit.series[resource][0]["value"].as_str().unwrap().parse::<i64>().unwrap();
    for resource in ["steps", "minutesLightlyActive", "minutesFairlyActive", "minutesVeryActive"] {
        assert_eq!(value(resource), 0, "{resource} on {day}");
    }
    let sedentary = value("minutesSedentary");
    assert!((600..=900).contains(&sedentary), "{sedentary}");
    assert!(value("calories") > 0 && fitbit.activities.is_empty(), "basal calories and no activity");

    let sim = start().await;
    let fitbit_token = sim.issue_fitbit_tokens(&user, ALL_SCOPES, 3600).access_token;
    let path = format!("/activities/tracker/steps/date/{day}/{day}.json");
    let steps = json(get_data(&sim, &fitbit_token, &path).await).await;
    assert_eq!(steps["activities-tracker-steps"], json!([{"dateTime": day.to_string(), "value": "0"}]));

    let token = sim.issue_google_tokens(&user, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let steps = bucket(&sim, &token, "steps", day).await;
    assert_eq!(steps["civilStartTime"], json!({"date": civil_date(day)["date"], "time": {}}));
    assert_eq!(steps["steps"], json!({}), "a worn day's zero steps are left out");
    assert_eq!(bucket(&sim, &token, "active-minutes", day).await["activeMinutes"], json!({}));
    assert_eq!(bucket(&sim, &token, "active-zone-minutes", day).await["activeZoneMinutes"], json!({}));
    assert_eq!(
        bucket(&sim, &token, "sedentary-period", day).await["sedentaryPeriod"],
        json!({"durationSum": format!("{}s", sedentary * 60)})
    );
    let calories = bucket(&sim, &token, "total-calories", day).await;
    assert_eq!(calories["totalCalories"]["kcalSum"].as_f64(), Some(value("calories") as f64));

    sim.set_google_verbose(true);
    assert_eq!(bucket(&sim, &token, "steps", day).await["steps"], json!({"countSum": "0"}));
    assert_eq!(
        bucket(&sim, &token, "active-minutes", day).await["activeMinutes"],
        json!({"activeMinutesRollupByActivityLevel": [
            {"activityLevel": "LIGHT", "activeMinutesSum": "0"},
            {"activityLevel": "MODERATE", "activeMinutesSum": "0"},
            {"activityLevel": "VIGOROUS", "activeMinutesSum": "0"},
        ]})
    );
    assert_eq!(
        bucket(&sim, &token, "active-zone-minutes", day).await["activeZoneMinutes"],
        json!({"sumInFatBurnHeartZone": "0", "sumInCardioHeartZone": "0", "sumInPeakHeartZone": "0"})
    );

    // Both encodings, over two weeks around the day, are what google_dataset and google_dataset_verbose say.
    let (from, to) = (day - Duration::days(6), (day + Duration::days(7)).min(today()));
    for (verbose, expected) in
        [(false, google_dataset(&user, from, to)), (true, google_dataset_verbose(&user, from, to))]
    {
        sim.set_google_verbose(verbose);
        for data_type in ["steps", "total-calories", "active-minutes", "sedentary-period", "active-zone-minutes"] {
            let body = json(daily_roll_up(&sim, &token, data_type, from, to + Duration::days(1)).await).await;
            assert_eq!(body["rollupDataPoints"], json!(expected.daily_rollups[data_type]), "{data_type} {verbose}");
        }
    }
}

#[tokio::test]
async fn an_activity_level_without_minutes_keeps_its_level_only() {
    let idle_but_for_light = |user: &str, from: NaiveDate, to: NaiveDate| {
        let series = dataset(user, from, to).series;
        let value = |resource: &str, i: usize| series[resource][i]["value"].as_str().unwrap().to_string();
        (0..series["steps"].len())
            .filter(|i| value("minutesVeryActive", *i) == "0" && value("minutesLightlyActive", *i) != "0")
            .map(|i| from + Duration::days(i as i64))
            .collect()
    };
    let (user, day) = user_and_day(idle_but_for_light);
    let sim = start().await;
    let token = sim.issue_google_tokens(&user, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let levels = bucket(&sim, &token, "active-minutes", day).await["activeMinutes"]
        ["activeMinutesRollupByActivityLevel"]
        .clone();
    assert_eq!(levels[2], json!({"activityLevel": "VIGOROUS"}), "{levels}");
    assert!(levels[0]["activeMinutesSum"].is_string());
}

#[tokio::test]
async fn data_points_leave_zero_metrics_and_false_flags_out_unless_verbose() {
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let (from, to) = (today() - Duration::days(59), today() + Duration::days(1));
    for (data_type, field) in [
        ("exercise", "exercise.interval.civil_start_time"),
        ("sleep", "sleep.interval.civil_end_time"),
        ("weight", "weight.sample_time.civil_time"),
    ] {
        let query = [("filter", between(field, from, to))];
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        sim.set_google_verbose(false);
        let (proto3, _) = walk(&sim, &token, data_type, &query).await;
        assert!(!proto3.is_empty(), "{data_type}");
        assert!(!proto3.iter().any(holds_default), "{data_type}: a default value is printed");
        let tracker: Vec<Value> =
            proto3.iter().filter(|point| point["dataSource"]["platform"] != "HEALTH_CONNECT").cloned().collect();
        let mut expected = google_dataset(USER, from, today()).points[data_type].clone();
        expected.reverse();
        assert_eq!(tracker, expected, "{data_type}: google_dataset is the default output");

        sim.set_google_verbose(true);
        let (verbose, _) = walk(&sim, &token, data_type, &query).await;
        let mut expected = google_dataset_verbose(USER, from, today()).points[data_type].clone();
        expected.reverse();
        assert_eq!(verbose, expected, "{data_type}: verbose has no phone source");
        assert_eq!(verbose.iter().map(strip_defaults).collect::<Vec<_>>(), tracker, "{data_type}");
    }

    sim.set_google_verbose(false);
    let filter = between("sleep.interval.civil_end_time", from, to);
    let night = points(&json(list(&sim, &token, "sleep", &[("filter", &filter)]).await).await)[0].clone();
    let metadata = &night["sleep"]["metadata"];
    assert!(metadata.get("nap").is_none() && metadata.get("manuallyEdited").is_none(), "{metadata}");
    assert_eq!((metadata["processed"].as_bool(), metadata["mainSleep"].as_bool()), (Some(true), Some(true)));
    let summary = &night["sleep"]["summary"];
    for stage in summary["stagesSummary"].as_array().unwrap() {
        assert!(stage["type"].is_string() && stage.get("minutes") != Some(&json!("0")), "{stage}");
    }
    let config = json(config(&sim, json!({"google_verbose": true})).await).await;
    assert_eq!(config["google_verbose"], true);
    let night = points(&json(list(&sim, &token, "sleep", &[("filter", &filter)]).await).await)[0].clone();
    assert_eq!(night["sleep"]["metadata"]["nap"], false, "verbose prints false flags");
}

#[tokio::test]
async fn the_phone_is_a_second_source_that_list_returns_and_reconcile_merges() {
    let (user, day) = user_and_day(phone_exercise_days);
    let sim = start().await;
    let token = sim.issue_google_tokens(&user, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let filter = between("exercise.interval.civil_start_time", day, day + Duration::days(1));
    let tracker = google_dataset(&user, day, day).points["exercise"].clone();
    assert!(!tracker.is_empty());

    let listed = points(&json(list(&sim, &token, "exercise", &[("filter", &filter)]).await).await);
    assert_eq!(listed.len(), tracker.len() + 1, "the tracker's activities and the phone's walk");
    let phone = listed.iter().find(|p| p["dataSource"]["platform"] == "HEALTH_CONNECT").unwrap();
    assert_eq!(
        phone["dataSource"],
        json!({"recordingMethod": "PASSIVELY_MEASURED", "platform": "HEALTH_CONNECT",
               "device": {"formFactor": "PHONE", "manufacturer": "Google", "displayName": "Pixel 8"}})
    );
    let (phone_walk, first) = (&phone["exercise"], &tracker[0]["exercise"]);
    assert_eq!(
        (phone_walk["exerciseType"].as_str(), phone_walk["displayName"].as_str()),
        (Some("WALKING"), Some("Walk"))
    );
    let minute = Duration::minutes(1);
    assert_eq!(at(&phone_walk["interval"]["startTime"]), at(&first["interval"]["startTime"]) + minute);
    assert_eq!(at(&phone_walk["interval"]["endTime"]), at(&first["interval"]["endTime"]) - minute);
    let (metrics, tracker_metrics) = (&phone_walk["metricsSummary"], &first["metricsSummary"]);
    assert!(metrics["caloriesKcal"].as_f64().unwrap() > 0.0);
    assert_ne!(metrics["caloriesKcal"], tracker_metrics["caloriesKcal"]);
    assert!(metrics["steps"].as_str().unwrap().parse::<i64>().unwrap() > 0);
    assert_ne!(metrics["steps"], tracker_metrics["steps"]);
    let id = id_of(phone);
    assert!(id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert!(tracker.iter().all(|point| id_of(point) != id));
    let again = points(&json(list(&sim, &token, "exercise", &[("filter", &filter)]).await).await);
    assert_eq!(again, listed, "the phone's point is stable");
    let starts: Vec<_> = listed.iter().map(|p| at(&p["exercise"]["interval"]["startTime"])).collect();
    assert!(starts.windows(2).all(|pair| pair[0] >= pair[1]), "newest first");

    let reconciled = points(&json(reconcile(&sim, &token, "exercise", &[("filter", &filter)]).await).await);
    let mut newest_first = tracker.clone();
    newest_first.reverse();
    assert_eq!(reconciled.len(), tracker.len(), "one point for the walk");
    for (merged, point) in reconciled.iter().zip(&newest_first) {
        assert_eq!(merged["dataPointName"], point["name"]);
        assert!(merged.get("dataSource").is_none() && merged.get("name").is_none());
        assert_eq!(merged["exercise"], point["exercise"], "the tracker's point");
    }

    // `list` has no data source family in v4 (`ListDataPointsRequest` lacks the field): Google answers 400.
    for family in ["google-wearables", "all-sources"] {
        let family = format!("users/me/dataSourceFamilies/{family}");
        let query = [("filter", filter.as_str()), ("dataSourceFamily", family.as_str())];
        let response = list(&sim, &token, "exercise", &query).await;
        assert_eq!(response.status(), 400);
        let error = json(response).await["error"].clone();
        assert_eq!(error["status"], "INVALID_ARGUMENT");
        assert!(error["message"].as_str().unwrap().contains("Unknown name \"dataSourceFamily\""), "{error}");
    }
    sim.set_google_phone_source(false);
    assert_eq!(points(&json(list(&sim, &token, "exercise", &[("filter", &filter)]).await).await), newest_first);
    assert_eq!(json(config(&sim, json!({"google_phone_source": true})).await).await["google_phone_source"], true);
    sim.set_google_verbose(true);
    assert_eq!(points(&json(list(&sim, &token, "exercise", &[("filter", &filter)]).await).await).len(), tracker.len());
    sim.set_google_verbose(false);

    // The phone's days in a listing are phone_exercise_days.
    let (from, to) = (today() - Duration::days(59), today() + Duration::days(1));
    let window = [("filter", between("exercise.interval.civil_start_time", from, to))];
    let window: Vec<(&str, &str)> = window.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (all, _) = walk(&sim, &token, "exercise", &window).await;
    let mut days: Vec<NaiveDate> = all
        .iter()
        .filter(|p| p["dataSource"]["platform"] == "HEALTH_CONNECT")
        .map(|p| at(&p["exercise"]["interval"]["startTime"]).date_naive())
        .collect();
    days.reverse();
    assert_eq!(days, phone_exercise_days(&user, from, today()));
}

#[test]
fn the_phone_records_about_one_active_day_in_four() {
    let (from, to) = (first_day(), today());
    let mut active: Vec<String> = dataset(USER, from, to)
        .activities
        .iter()
        .map(|log| log["startTime"].as_str().unwrap()[..10].to_string())
        .collect();
    active.dedup();
    let phone = phone_exercise_days(USER, from, to);
    assert!(phone.iter().all(|day| active.contains(&day.to_string())), "only days with an activity");
    let share = phone.len() as f64 / active.len() as f64;
    assert!((0.15..0.35).contains(&share), "{} of {} active days", phone.len(), active.len());
}

#[tokio::test]
async fn reconciled_names_may_change_from_call_to_call_and_reconcile_pages_like_list() {
    let sim = start_with(SimConfig { google_unstable_reconcile_names: true, ..SimConfig::default() }).await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let (from, to) = (today() - Duration::days(59), today() + Duration::days(1));
    let filter = between("weight.sample_time.civil_time", from, to);
    let listed = points(&json(list(&sim, &token, "weight", &[("filter", &filter)]).await).await);
    let first = points(&json(reconcile(&sim, &token, "weight", &[("filter", &filter)]).await).await);
    let second = points(&json(reconcile(&sim, &token, "weight", &[("filter", &filter)]).await).await);
    assert!(!listed.is_empty() && first.len() == listed.len() && second.len() == listed.len());
    let natural_key = |point: &Value| point["weight"]["sampleTime"]["physicalTime"].clone();
    for ((one, two), point) in first.iter().zip(&second).zip(&listed) {
        assert_ne!(one["dataPointName"], two["dataPointName"], "a new name in every answer");
        assert_ne!(one["dataPointName"], point["name"]);
        assert!(one["dataPointName"].as_str().unwrap().starts_with(point["name"].as_str().unwrap()));
        assert_eq!((natural_key(one), natural_key(two)), (natural_key(point), natural_key(point)));
        assert_eq!(one["weight"], point["weight"]);
    }

    // Pages follow the same tokens as list, and the family is checked as for list.
    let filter = between("exercise.interval.civil_start_time", from, to);
    let mut query = vec![("filter", filter.clone()), ("pageSize", "10".to_string())];
    let mut merged = Vec::new();
    loop {
        let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let body = json(reconcile(&sim, &token, "exercise", &pairs).await).await;
        let page = points(&body);
        assert!(page.len() <= 10);
        merged.extend(page);
        match body["nextPageToken"].as_str() {
            Some(next) => query = vec![query[0].clone(), query[1].clone(), ("pageToken", next.to_string())],
            None => break,
        }
    }
    assert_eq!(merged.len(), google_dataset(USER, from, today()).points["exercise"].len(), "no phone duplicate");
    let family = |family: &str| {
        [("filter", filter.clone()), ("dataSourceFamily", format!("users/me/dataSourceFamilies/{family}"))]
    };
    let wearables = family("google-wearables");
    let pairs: Vec<(&str, &str)> = wearables.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(reconcile(&sim, &token, "exercise", &pairs).await.status(), 200);
    let unknown = family("fitbit");
    let pairs: Vec<(&str, &str)> = unknown.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, _, reason) = status(reconcile(&sim, &token, "exercise", &pairs).await).await;
    assert_eq!((code, reason.as_str()), (400, "INVALID_DATA_POINT_DATA_SOURCE_FAMILY"));

    let answer = json(config(&sim, json!({"google_unstable_reconcile_names": false})).await).await;
    assert_eq!(answer["google_unstable_reconcile_names"], false);
    let filter = between("weight.sample_time.civil_time", from, to);
    let stable = points(&json(reconcile(&sim, &token, "weight", &[("filter", &filter)]).await).await);
    let names = |points: &[Value], key: &str| points.iter().map(|p| p[key].clone()).collect::<Vec<_>>();
    assert_eq!(names(&stable, "dataPointName"), names(&listed, "name"));
    sim.set_google_unstable_reconcile_names(true);
    let unstable = points(&json(reconcile(&sim, &token, "weight", &[("filter", &filter)]).await).await);
    assert_ne!(names(&unstable, "dataPointName"), names(&listed, "name"));
}

#[tokio::test]
async fn the_newest_night_may_still_be_processing() {
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let from = today() - Duration::days(2);
    let filter = between("sleep.interval.civil_end_time", from, today() + Duration::days(1));
    let query = [("filter", filter.as_str())];
    let expected = google_dataset(USER, from, today()).points["sleep"].clone();
    let now = chrono::Utc::now().timestamp();

    sim.set_google_sleep_processing_until(Some(now + 3600));
    for method in ["list", "reconcile"] {
        let response = if method == "list" {
            list(&sim, &token, "sleep", &query).await
        } else {
            reconcile(&sim, &token, "sleep", &query).await
        };
        let nights = points(&json(response).await);
        assert_eq!(nights.len(), 3, "{method}");
        let newest = nights.iter().max_by_key(|night| at(&night["sleep"]["interval"]["endTime"])).unwrap();
        assert_eq!(newest, &nights[0], "{method}: newest first");
        assert_eq!(newest["sleep"]["metadata"], json!({"mainSleep": true}), "{method}: no processed, no stagesStatus");
        let served = expected.last().unwrap();
        for key in ["stages", "summary", "interval", "type"] {
            assert_eq!(newest["sleep"][key], served["sleep"][key], "{method}: {key} as they are");
        }
        for older in &nights[1..] {
            assert_eq!(older["sleep"]["metadata"]["processed"], true, "{method}");
            assert!(older["sleep"]["metadata"]["stagesStatus"].is_string());
        }
    }
    sim.set_google_verbose(true);
    let nights = points(&json(list(&sim, &token, "sleep", &query).await).await);
    assert_eq!(nights[0]["sleep"]["metadata"]["processed"], false);
    assert_eq!(nights[1]["sleep"]["metadata"]["processed"], true);
    sim.set_google_verbose(false);

    sim.set_google_sleep_processing_until(Some(now - 1));
    let nights = points(&json(list(&sim, &token, "sleep", &query).await).await);
    let mut expected_newest_first = expected.clone();
    expected_newest_first.reverse();
    assert_eq!(nights, expected_newest_first, "processed once the time has come");

    let answer = json(config(&sim, json!({"google_sleep_processing_until": now + 3600})).await).await;
    assert_eq!(answer["google_sleep_processing_until"], now + 3600);
    let nights = points(&json(list(&sim, &token, "sleep", &query).await).await);
    assert!(nights[0]["sleep"]["metadata"].get("processed").is_none());
    let answer = json(config(&sim, json!({"google_sleep_processing_until": null})).await).await;
    assert_eq!(answer["google_sleep_processing_until"], Value::Null);
    assert_eq!(points(&json(list(&sim, &token, "sleep", &query).await).await), expected_newest_first);
}

#[tokio::test]
async fn an_unverified_app_is_paced_per_second_without_retry_after() {
    let sim = start_with(SimConfig { google_requests_per_second: Some(1.0), ..SimConfig::default() }).await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let started = Instant::now();
    for _ in 0..2 {
        assert_eq!(health_get(&sim, &token, "identity", &[]).await.status(), 200, "a burst of two");
    }
    let response = health_get(&sim, &token, "identity", &[]).await;
    assert!(started.elapsed().as_secs_f64() < 1.0, "three requests in well under a second");
    assert!(response.headers().get("retry-after").is_none());
    let body = json(response).await;
    assert_eq!(
        (body["error"]["code"].as_u64(), body["error"]["status"].as_str()),
        (Some(429), Some("RESOURCE_EXHAUSTED"))
    );
    assert_eq!(body["error"]["details"][0]["reason"], "RATE_LIMIT_EXCEEDED");
    let counts = sim.google_counts(USER);
    assert_eq!((counts.data, counts.rate_limited), (3, 1));
    let requests = client().get(format!("{}/__admin/google/users/{USER}/requests", sim.base_url())).send().await;
    assert_eq!(json(requests.unwrap()).await["rate_limited"], 1);
    let other = sim.issue_google_tokens("PACED2", GOOGLE_HEALTH_SCOPES, 3599).access_token;
    assert_eq!(health_get(&sim, &other, "identity", &[]).await.status(), 200, "per user");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(health_get(&sim, &token, "identity", &[]).await.status(), 200, "a token a second");

    // 2.5 per second, as for an unverified app: a burst of 5, then 2.5 a second.
    assert_eq!(
        json(config(&sim, json!({"google_requests_per_second": 2.5})).await).await["google_requests_per_second"],
        2.5
    );
    let started = Instant::now();
    let mut passed = 0;
    for _ in 0..8 {
        passed += usize::from(health_get(&sim, &token, "identity", &[]).await.status() == 200);
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert!(passed >= 5 && passed <= 5 + (2.5 * elapsed) as usize, "{passed} in {elapsed} s");
    if elapsed < 1.2 {
        assert!(passed < 8, "{passed} in {elapsed} s");
    }

    assert_eq!(config(&sim, json!({"google_requests_per_second": -1})).await.status(), 400);
    let answer = json(config(&sim, json!({"google_requests_per_second": null})).await).await;
    assert_eq!(answer["google_requests_per_second"], Value::Null);
    for _ in 0..8 {
        assert_eq!(health_get(&sim, &token, "identity", &[]).await.status(), 200, "no pacing");
    }
    sim.set_google_requests_per_second(Some(0.1));
    assert_eq!(health_get(&sim, &token, "identity", &[]).await.status(), 200, "buckets start full");
    assert_eq!(health_get(&sim, &token, "identity", &[]).await.status(), 429);
}

/// What `token`'s user is served over the last 60 days, per answer: `list` (every page) and `reconcile` (the first
/// page, the newest points) of each type with a defect, then the `steps` and `weight` rollups.
async fn served(sim: &Simulator, token: &str) -> Vec<(String, Vec<Value>)> {
    let (from, to) = (today() - Duration::days(59), today() + Duration::days(1));
    let mut answers = Vec::new();
    for (data_type, field) in [
        ("exercise", "exercise.interval.civil_start_time"),
        ("sleep", "sleep.interval.civil_end_time"),
        ("weight", "weight.sample_time.civil_time"),
    ] {
        let filter = between(field, from, to);
        let query = [("filter", filter.as_str())];
        answers.push((format!("list {data_type}"), walk(sim, token, data_type, &query).await.0));
        let reconciled = points(&json(reconcile(sim, token, data_type, &query).await).await);
        answers.push((format!("reconcile {data_type}"), reconciled));
    }
    for data_type in ["steps", "weight"] {
        let body = json(daily_roll_up(sim, token, data_type, from, to).await).await;
        answers.push((format!("dailyRollUp {data_type}"), body["rollupDataPoints"].as_array().unwrap().clone()));
    }
    answers
}

/// `item` with the defect of its data type, as `set_google_defects` documents it.
fn with_defect(data_type: &str, item: &Value) -> Value {
    let mut item = item.clone();
    match data_type {
        "exercise" => {
            item["exercise"]["metricsSummary"].as_object_mut().unwrap().remove("caloriesKcal");
        }
        "sleep" => item["sleep"]["stages"][0]["type"] = json!("SLEEP_STAGE_TYPE_UNSPECIFIED"),
        "weight" => {
            let fields = item.as_object_mut().unwrap();
            fields.remove("name");
            fields.remove("dataPointName");
        }
        _ => item["steps"] = json!({"countSum": "many"}),
    }
    item
}

#[tokio::test]
async fn defects_on_demand_break_the_newest_item_of_each_kind_for_that_user_only() {
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let other = sim.issue_google_tokens("DEFECTS2", GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let (sound, other_sound) = (served(&sim, &token).await, served(&sim, &other).await);
    let newest = google_dataset(USER, today() - Duration::days(59), today());

    sim.set_google_defects(USER, true);
    let broken = served(&sim, &token).await;
    for ((answer, was), (_, is)) in sound.iter().zip(&broken) {
        let (method, data_type) = answer.split_once(' ').unwrap();
        let at = match (method, data_type) {
            ("dailyRollUp", "weight") => None,
            ("dailyRollUp", _) => {
                assert_eq!(was.last(), newest.daily_rollups[data_type].last(), "{answer}");
                Some(was.len() - 1)
            }
            ("reconcile", _) => {
                assert_eq!(was[0]["dataPointName"], newest.points[data_type].last().unwrap()["name"], "{answer}");
                Some(0)
            }
            _ => Some(was.iter().position(|point| point == newest.points[data_type].last().unwrap()).unwrap()),
        };
        assert_eq!(was.len(), is.len(), "{answer}");
        let changed: Vec<usize> = (0..was.len()).filter(|&i| was[i] != is[i]).collect();
        assert_eq!(changed, Vec::from_iter(at), "{answer}: only the newest item");
        if let Some(at) = at {
            assert_eq!(is[at], with_defect(data_type, &was[at]), "{answer}");
        }
    }
    assert_eq!(served(&sim, &other).await, other_sound, "only for that user");

    let admin = |user: &str| format!("{}/__admin/google/users/{user}/defects", sim.base_url());
    let off = client().put(admin(USER)).body(json!({"defects": false}).to_string()).send().await.unwrap();
    assert_eq!(json(off).await, json!({"user_id": USER, "defects": false}));
    assert_eq!(served(&sim, &token).await, sound);
    let on = client().put(admin("DEFECTS2")).body(json!({"defects": true}).to_string()).send().await.unwrap();
    assert_eq!(on.status(), 200);
    assert_ne!(served(&sim, &other).await, other_sound);
    assert_eq!(served(&sim, &token).await, sound);
    assert_eq!(client().put(admin(USER)).body("{}").send().await.unwrap().status(), 400);
}

/// v4 gained 169 exercise types and two sleep fields on 14 Aug 2026: the generated data carries some of each.
#[tokio::test]
async fn exercises_and_nights_carry_the_august_2026_types_and_fields() {
    let data = google_dataset(USER, first_day(), today());
    let types: std::collections::BTreeSet<&str> =
        data.points["exercise"].iter().filter_map(|point| point["exercise"]["exerciseType"].as_str()).collect();
    for august in ["SOCCER", "AEROBIC_WORKOUT", "SWIMMING_POOL"] {
        assert!(types.contains(august), "{august} missing from {types:?}");
    }
    assert!(!types.contains("WORKOUT") && !types.contains("SWIMMING"), "{types:?}");
    let nights = &data.points["sleep"];
    assert!(nights.iter().all(|night| night["sleep"]["metadata"]["mainSleep"] == true));
    let short = nights.iter().filter(|night| night["sleep"].get("shortAwakenings").is_some()).count();
    assert!(short > 0 && short < nights.len(), "{short} of {} nights have short awakenings", nights.len());

    // And the Health API serves them so.
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let filter = between("exercise.interval.civil_start_time", first_day(), today() + Duration::days(1));
    let (served, _) = walk(&sim, &token, "exercise", &[("filter", filter.as_str())]).await;
    let served: std::collections::BTreeSet<&str> =
        served.iter().filter_map(|point| point["exercise"]["exerciseType"].as_str()).collect();
    assert!(served.is_superset(&types), "{served:?}");
}

/// A user who takes back the permission for a data type: its reads answer 403 `PERMISSION_DENIED` until the user
/// consents again; the other types are served all along.
#[tokio::test]
async fn a_permission_taken_back_is_403_for_that_type_until_a_new_consent() {
    let sim = start().await;
    let user = "DENIED1";
    let old = sim.issue_google_tokens(user, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let (from, to) = (today() - Duration::days(30), today());
    let sleep_filter = between("sleep.interval.civil_end_time", from, to);
    let sleep = |token: String| {
        let filter = sleep_filter.clone();
        let sim = &sim;
        async move { reconcile(sim, &token, "sleep", &[("filter", filter.as_str())]).await }
    };
    assert_eq!(sleep(old.clone()).await.status(), 200);

    assert_eq!(sim.set_google_permission_denied(user, &["sleep"]), 1);
    let (code, status_name, reason) = status(sleep(old.clone()).await).await;
    assert_eq!((code, status_name.as_str(), reason.as_str()), (403, "PERMISSION_DENIED", ""));
    let exercise_filter = between("exercise.interval.civil_start_time", from, to);
    assert_eq!(reconcile(&sim, &old, "exercise", &[("filter", exercise_filter.as_str())]).await.status(), 200);
    assert_eq!(daily_roll_up(&sim, &old, "steps", from, to).await.status(), 200);

    let answer = client()
        .put(format!("{}/__admin/google/users/{user}/permission-denied", sim.base_url()))
        .json(&json!({"dataTypes": ["sleep", "steps"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(answer).await, json!({"user_id": user, "dataTypes": ["sleep", "steps"], "consents": 1}));
    assert_eq!(daily_roll_up(&sim, &old, "steps", from, to).await.status(), 403);

    // Reconnecting: the new consent grants everything; the old one still refuses.
    let new = sim.issue_google_tokens(user, GOOGLE_HEALTH_SCOPES, 3599).access_token;
    assert_eq!(sleep(new.clone()).await.status(), 200);
    assert_eq!(daily_roll_up(&sim, &new, "steps", from, to).await.status(), 200);
    assert_eq!(sleep(old.clone()).await.status(), 403);
    assert_eq!(sim.set_google_permission_denied(user, &[]), 2);
    assert_eq!(sleep(old).await.status(), 200);
}

#[tokio::test]
async fn the_projects_quota_counts_every_user_together_and_names_the_project() {
    let sim = Simulator::start(SimConfig::default(), "127.0.0.1:0").await.unwrap();
    let first = sim.issue_google_tokens("PROJECT1", GOOGLE_HEALTH_SCOPES, 3599).access_token;
    let second = sim.issue_google_tokens("PROJECT2", GOOGLE_HEALTH_SCOPES, 3599).access_token;
    // 0.5 a second: a burst of one, then one every two seconds, whoever asks.
    let answer = json(config(&sim, json!({"google_project_requests_per_second": 0.5})).await).await;
    assert_eq!(answer["google_project_requests_per_second"], 0.5);
    assert_eq!(health_get(&sim, &first, "identity", &[]).await.status(), 200);
    let refused = health_get(&sim, &second, "identity", &[]).await;
    assert_eq!(refused.status(), 429, "another user, the same project");
    assert!(refused.headers().get("retry-after").is_none());
    let body = json(refused).await;
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    let violation = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|detail| detail["@type"] == "type.googleapis.com/google.rpc.QuotaFailure")
        .map(|detail| detail["violations"][0].clone())
        .expect("a QuotaFailure");
    assert_eq!(violation["subject"], "project:123456789");
    assert_eq!(sim.google_project_limited(), 1);
    assert_eq!(json(config(&sim, json!({})).await).await["google_project_limited"], 1);

    assert_eq!(config(&sim, json!({"google_project_requests_per_second": 0})).await.status(), 400);
    sim.set_google_project_requests_per_second(None);
    assert_eq!(health_get(&sim, &second, "identity", &[]).await.status(), 200, "no project quota");
}
