//! Data GETs: authorisation, scopes, date ranges, paging and the synthetic history behind them.

mod common;

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use common::*;
use provider_sim::{dataset, SERIES_RESOURCES};
use serde_json::Value;

fn list_path(list: &str, anchor: &str, date: NaiveDate, sort: &str, limit: usize) -> String {
    format!("/{list}/list.json?{anchor}={date}&sort={sort}&offset=0&limit={limit}")
}

/// Every item of a list, following `pagination.next` from the first page.
async fn walk(sim: &provider_sim::Simulator, token: &str, list: &str, first_path: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut url = format!("{}/1.2/user/-{first_path}", sim.base_url());
    loop {
        let response = client().get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body = json(response).await;
        pages += 1;
        items.extend(body[list].as_array().unwrap().iter().cloned());
        let next = body["pagination"]["next"].as_str().unwrap();
        if next.is_empty() {
            return (items, pages);
        }
        assert!(next.starts_with(&sim.base_url()), "absolute next link: {next}");
        url = next.to_string();
    }
}

fn log_ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|item| item["logId"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn expired_and_unknown_tokens_are_refused() {
    let sim = start().await;
    let expired = sim.issue_fitbit_tokens(USER, ALL_SCOPES, -1);
    let path = "/activities/tracker/steps/date/2026-01-01/today.json";
    let (status, error_type, message) = fitbit_error(get_data(&sim, &expired.access_token, path).await).await;
    assert_eq!((status, error_type.as_str()), (401, "expired_token"));
    assert_eq!(message, format!("Access token expired: {}…", &expired.access_token[..6]));
    let (status, error_type, _) = fitbit_error(get_data(&sim, "nobody", path).await).await;
    assert_eq!((status, error_type.as_str()), (401, "invalid_token"));
    let no_auth = client().get(format!("{}/1.2/user/-{path}", sim.base_url())).send().await.unwrap();
    assert_eq!(fitbit_error(no_auth).await.1, "invalid_token");
    assert_eq!(sim.counts(USER).data, 1, "the expired token's request is counted for its user");
}

#[tokio::test]
async fn each_resource_needs_its_scope() {
    let sim = start().await;
    let weight_only = sim.issue_fitbit_tokens(USER, "rwei", 3600).access_token;
    let today = today();
    for path in [
        list_path("sleep", "beforeDate", today, "desc", 10),
        list_path("activities", "beforeDate", today, "desc", 10),
        format!("/activities/tracker/calories/date/{today}/today.json"),
    ] {
        let (status, error_type, _) = fitbit_error(get_data(&sim, &weight_only, &path).await).await;
        assert_eq!((status, error_type.as_str()), (403, "insufficient_scope"), "{path}");
    }
    let weights = format!("/body/log/weight/date/{}/{today}.json", today - Duration::days(5));
    assert_eq!(get_data(&sim, &weight_only, &weights).await.status(), 200);
}

#[tokio::test]
async fn weights_cover_both_ends_of_at_most_31_days() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let (end, base) = (today(), today() - Duration::days(31));

    let body = json(get_data(&sim, &token, &format!("/body/log/weight/date/{base}/{end}.json")).await).await;
    let weights = body["weight"].as_array().unwrap();
    assert!(weights.len() >= 5, "about one weigh-in every three days: {}", weights.len());
    assert_eq!(weights, &dataset(USER, base, end).weight);
    for weight in weights {
        let date: NaiveDate = weight["date"].as_str().unwrap().parse().unwrap();
        assert!((base..=end).contains(&date));
        assert_eq!(weight["source"], "Aria");
        assert!(weight["weight"].as_f64().unwrap() > 15.0);
        assert!(weight["bmi"].is_f64() && weight["time"].as_str().unwrap().len() == 8);
    }

    let too_long = format!("/body/log/weight/date/{}/{end}.json", base - Duration::days(1));
    let (status, error_type, _) = fitbit_error(get_data(&sim, &token, &too_long).await).await;
    assert_eq!((status, error_type.as_str()), (400, "validation"));
    let reversed = format!("/body/log/weight/date/{end}/{base}.json");
    assert_eq!(fitbit_error(get_data(&sim, &token, &reversed).await).await.0, 400);
    let not_a_date = format!("/body/log/weight/date/yesterday/{end}.json");
    assert_eq!(fitbit_error(get_data(&sim, &token, &not_a_date).await).await.0, 400);
}

#[tokio::test]
async fn paging_through_activities_yields_the_whole_history_once() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let tomorrow = today() + Duration::days(1);

    let (items, pages) =
        walk(&sim, &token, "activities", &list_path("activities", "beforeDate", tomorrow, "desc", 100)).await;
    let mut expected = dataset(USER, first_day(), today()).activities;
    expected.reverse();
    assert!(pages >= 3, "two years of activities take several pages of 100");
    assert_eq!(log_ids(&items), log_ids(&expected));
    assert_eq!(items, expected);
    assert_eq!(log_ids(&items).into_iter().collect::<HashSet<_>>().len(), items.len());
    let starts: Vec<&str> = items.iter().map(|item| item["startTime"].as_str().unwrap()).collect();
    assert!(starts.windows(2).all(|pair| pair[0] > pair[1]), "newest first");
}

#[tokio::test]
async fn paging_forward_through_sleep_includes_the_anchor_date() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let from = today() - Duration::days(20);

    let (items, pages) = walk(&sim, &token, "sleep", &list_path("sleep", "afterDate", from, "asc", 4)).await;
    assert_eq!(items, dataset(USER, from, today()).sleep);
    assert_eq!(items.len(), 21, "one night per day, both ends included");
    assert_eq!(pages, 6);
    assert_eq!(items[0]["dateOfSleep"], from.to_string());

    let before_today = json(get_data(&sim, &token, &list_path("sleep", "beforeDate", today(), "desc", 1)).await).await;
    let yesterday = (today() - Duration::days(1)).to_string();
    assert_eq!(before_today["sleep"][0]["dateOfSleep"], yesterday, "beforeDate excludes its own date");
}

#[tokio::test]
async fn list_parameters_are_validated() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let day = today();
    for query in [
        format!("beforeDate={day}&afterDate={day}&sort=desc&offset=0&limit=10"),
        "sort=desc&offset=0&limit=10".to_string(),
        format!("beforeDate={day}&sort=asc&offset=0&limit=10"),
        format!("afterDate={day}&sort=desc&offset=0&limit=10"),
        format!("beforeDate={day}&sort=desc&offset=0&limit=101"),
        format!("beforeDate={day}&sort=desc&offset=0"),
    ] {
        let (status, error_type, _) =
            fitbit_error(get_data(&sim, &token, &format!("/sleep/list.json?{query}")).await).await;
        assert_eq!((status, error_type.as_str()), (400, "validation"), "{query}");
    }
}

#[test]
fn sleep_logs_have_the_v1_2_shape() {
    let nights = dataset(USER, first_day(), today()).sleep;
    assert!(nights.iter().any(|night| night["type"] == "classic"));
    for night in nights {
        let summary = &night["levels"]["summary"];
        let names: &[&str] = if night["type"] == "stages" {
            &["deep", "light", "rem", "wake"]
        } else {
            &["asleep", "awake", "restless"]
        };
        for name in names {
            assert!(summary[name]["count"].is_u64() && summary[name]["minutes"].is_i64(), "{name} in {summary}");
        }
        let seconds: i64 =
            night["levels"]["data"].as_array().unwrap().iter().map(|d| d["seconds"].as_i64().unwrap()).sum();
        assert_eq!(seconds * 1000, night["duration"].as_i64().unwrap());
        assert_eq!(night["timeInBed"].as_i64().unwrap() * 60_000, night["duration"].as_i64().unwrap());
        assert!(night["startTime"].as_str().unwrap().ends_with(".000"));
    }
}

#[test]
fn activity_logs_have_the_fields_ds_agent_reads() {
    let activities = dataset(USER, first_day(), today()).activities;
    assert!(activities.iter().any(|a| a.get("averageHeartRate").is_none()));
    assert!(activities.iter().any(|a| a.get("steps").is_none()));
    assert!(activities.iter().any(|a| a.get("distance").is_none()));
    for activity in &activities {
        let levels = activity["activityLevel"].as_array().unwrap();
        let minutes: i64 = levels.iter().map(|level| level["minutes"].as_i64().unwrap()).sum();
        assert_eq!(minutes * 60_000, activity["duration"].as_i64().unwrap());
        assert_eq!(activity.get("averageHeartRate").is_some(), activity.get("heartRateZones").is_some());
        assert_eq!(activity["distanceUnit"], "Kilometer");
        assert!(activity["startTime"].as_str().unwrap().ends_with(".000-03:00"));
    }
}

#[tokio::test]
async fn tracker_series_have_one_string_value_per_day() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let start = today() - Duration::days(30);
    for resource in SERIES_RESOURCES {
        let body =
            json(get_data(&sim, &token, &format!("/activities/tracker/{resource}/date/{start}/today.json")).await)
                .await;
        let series = body[format!("activities-tracker-{resource}")].as_array().unwrap().clone();
        assert_eq!(series.len(), 31);
        for (offset, entry) in series.iter().enumerate() {
            assert_eq!(entry["dateTime"], (start + Duration::days(offset as i64)).to_string());
            assert!(entry["value"].as_str().unwrap().parse::<u32>().is_ok(), "{entry}");
        }
        assert_eq!(series, dataset(USER, start, today()).series[resource]);
    }
    let dated =
        json(get_data(&sim, &token, &format!("/activities/tracker/steps/date/{start}/{}.json", today())).await).await;
    let literal =
        json(get_data(&sim, &token, &format!("/activities/tracker/steps/date/{start}/today.json")).await).await;
    assert_eq!(dated, literal);

    let too_long = format!("/activities/tracker/steps/date/{}/today.json", today() - Duration::days(1096));
    assert_eq!(fitbit_error(get_data(&sim, &token, &too_long).await).await.0, 400);
    let unknown = format!("/activities/tracker/heart/date/{start}/today.json");
    assert_eq!(fitbit_error(get_data(&sim, &token, &unknown).await).await.1, "not_found");
}

#[tokio::test]
async fn the_same_request_gives_the_same_body_and_users_differ() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let other = sim.issue_fitbit_tokens("XYZ789", ALL_SCOPES, 3600).access_token;
    let path = list_path("sleep", "beforeDate", today(), "desc", 20);

    let first = get_data(&sim, &token, &path).await.text().await.unwrap();
    let second = get_data(&sim, &token, &path).await.text().await.unwrap();
    assert_eq!(first, second);
    let restarted = start().await;
    let again = restarted.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let third = get_data(&restarted, &again, &path).await.text().await.unwrap();
    assert_eq!(
        first.replace(&restarted.base_url(), &sim.base_url()),
        third.replace(&restarted.base_url(), &sim.base_url())
    );
    assert_ne!(first, get_data(&sim, &other, &path).await.text().await.unwrap());
}

#[tokio::test]
async fn version_1_and_1_2_serve_the_same_data_and_requests_are_recorded() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let path = format!("/body/log/weight/date/{}/{}.json", today() - Duration::days(10), today());
    let v1 = client().get(format!("{}/1/user/-{path}", sim.base_url())).bearer_auth(&token).send().await.unwrap();
    let v1_2 = get_data(&sim, &token, &path).await;
    assert_eq!(json(v1).await, json(v1_2).await);
    assert_eq!(get_data(&sim, &token, "/foods/log/date/today.json").await.status(), 404);
    assert_eq!(
        sim.data_requests(USER),
        vec![
            format!("/1/user/-{path}"),
            format!("/1.2/user/-{path}"),
            "/1.2/user/-/foods/log/date/today.json".to_string()
        ]
    );
    assert_eq!(sim.counts(USER).data, 3);
}

#[tokio::test]
async fn added_logs_are_served_on_their_day_as_written() {
    let sim = start().await;
    let user = "ADDED1";
    let token = sim.issue_fitbit_tokens(user, "ract rsle", 3600).access_token;
    let day = today() - Duration::days(2);
    let activity = serde_json::json!({"logId": 1, "activityName": "Walk", "duration": 2_712_345,
        "startTime": format!("{day}T23:58:00.000-03:00"), "calories": 100, "activityLevel": []});
    let night = serde_json::json!({"logId": 2, "dateOfSleep": day.to_string(), "duration": 28_800_250,
        "startTime": format!("{}T22:10:00.500", day - Duration::days(1)), "type": "stages"});
    sim.add_fitbit_log(user, "activities", activity.clone());
    sim.add_fitbit_log(user, "sleep", night.clone());
    let tomorrow = today() + Duration::days(1);
    let (activities, _) =
        walk(&sim, &token, "activities", &list_path("activities", "beforeDate", tomorrow, "desc", 100)).await;
    let generated = dataset(user, day, day).activities;
    let on_day: Vec<&Value> =
        activities.iter().filter(|a| a["startTime"].as_str().unwrap().starts_with(&day.to_string())).collect();
    assert_eq!(on_day.len(), generated.len() + 1);
    // Newest first: the added log follows the day's generated ones, so it comes first walking back.
    assert_eq!(on_day[0], &activity);
    let (nights, _) = walk(&sim, &token, "sleep", &list_path("sleep", "afterDate", day, "asc", 100)).await;
    assert_eq!(nights[1], night, "after the day's generated night");
    assert_eq!(nights.iter().filter(|n| n["dateOfSleep"] == day.to_string()).count(), 2);
}
