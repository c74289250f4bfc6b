//! Fitbit's hourly quota per user over data GETs and introspections, with its headers and 429.

mod common;

use chrono::Timelike;
use common::*;
use provider_sim::SimConfig;

fn header(response: &reqwest::Response, name: &str) -> i64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

/// Near the top of the hour the quota would refill mid-test; wait it out.
async fn away_from_the_hour_boundary() {
    let now = chrono::Utc::now();
    let left = 3600 - i64::from(now.minute() * 60 + now.second());
    if left < 5 {
        tokio::time::sleep(std::time::Duration::from_secs(left as u64 + 1)).await;
    }
}

#[tokio::test]
async fn the_quota_is_reported_then_enforced_with_429() {
    away_from_the_hour_boundary().await;
    let sim = start_with(SimConfig { rate_limit_per_hour: 3, ..SimConfig::default() }).await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let path = format!("/activities/tracker/steps/date/{}/today.json", today());

    for remaining in [2, 1, 0] {
        let response = get_data(&sim, &token, &path).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "fitbit-rate-limit-limit"), 3);
        assert_eq!(header(&response, "fitbit-rate-limit-remaining"), remaining);
        assert!((1..=3600).contains(&header(&response, "fitbit-rate-limit-reset")));
    }
    let response = get_data(&sim, &token, &path).await;
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "retry-after"), header(&response, "fitbit-rate-limit-reset"));
    assert_eq!(header(&response, "fitbit-rate-limit-remaining"), 0);
    let body = json(response).await;
    assert_eq!(
        body,
        serde_json::json!({"errors":[{"errorType":"system","fieldName":"n/a","message":"Too Many Requests"}],"success":false})
    );

    let other = sim.issue_fitbit_tokens("OTHER1", ALL_SCOPES, 3600).access_token;
    assert_eq!(get_data(&sim, &other, &path).await.status(), 200, "the quota is per user");
    sim.set_rate_limit(10);
    assert_eq!(get_data(&sim, &token, &path).await.status(), 200);
}

#[tokio::test]
async fn introspections_count_against_the_quota() {
    away_from_the_hour_boundary().await;
    let sim = start_with(SimConfig { rate_limit_per_hour: 2, ..SimConfig::default() }).await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;

    let response = introspect(&sim, &token, &token).await;
    assert_eq!(header(&response, "fitbit-rate-limit-remaining"), 1);
    assert_eq!(get_data(&sim, &token, &format!("/body/log/weight/date/{0}/{0}.json", today())).await.status(), 200);
    let (status, error_type, _) = fitbit_error(introspect(&sim, &token, &token).await).await;
    assert_eq!((status, error_type.as_str()), (429, "system"));
    // Token calls are not metered.
    let pair = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);
    assert_eq!(refresh(&sim, &pair.refresh_token).await.status(), 200);
}
