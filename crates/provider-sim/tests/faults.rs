//! Injected faults and latency: what ds-agent's retries and timeouts are tested against.

mod common;

use std::time::{Duration, Instant};

use common::*;
use provider_sim::{Fault, FaultKind, Route, SimConfig};

fn weight_path() -> String {
    format!("/body/log/weight/date/{0}/{0}.json", today())
}

#[tokio::test]
async fn a_status_fault_answers_an_html_error_page_then_wears_off() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    sim.add_fault(Fault { user: Some(USER.into()), route: Some(Route::Data), kind: FaultKind::Status(503), times: 2 });

    for _ in 0..2 {
        let response = get_data(&sim, &token, &weight_path()).await;
        assert_eq!(response.status(), 503);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(response.text().await.unwrap(), "<html><body>Server Error</body></html>");
    }
    assert_eq!(get_data(&sim, &token, &weight_path()).await.status(), 200);
    assert_eq!(sim.counts(USER).data, 3, "faulted requests are counted");
}

#[tokio::test]
async fn faults_match_only_their_user_and_route() {
    let sim = start().await;
    let pair = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);
    let other = sim.issue_fitbit_tokens("OTHER1", ALL_SCOPES, 3600);
    sim.add_fault(Fault { user: Some("OTHER1".into()), route: None, kind: FaultKind::Status(500), times: 5 });
    sim.add_fault(Fault { user: None, route: Some(Route::Token), kind: FaultKind::Status(500), times: 1 });

    assert_eq!(get_data(&sim, &pair.access_token, &weight_path()).await.status(), 200);
    assert_eq!(get_data(&sim, &other.access_token, &weight_path()).await.status(), 500);
    assert_eq!(refresh(&sim, &pair.refresh_token).await.status(), 500);
    assert!(sim.is_refresh_token_valid(&pair.refresh_token), "a faulted refresh spends nothing");
    assert_eq!(refresh(&sim, &pair.refresh_token).await.status(), 200);

    sim.clear_faults();
    assert_eq!(get_data(&sim, &other.access_token, &weight_path()).await.status(), 200);
}

#[tokio::test]
async fn a_slow_fault_delays_a_normal_answer() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    sim.add_fault(Fault {
        user: None,
        route: Some(Route::Introspect),
        kind: FaultKind::Slow(Duration::from_millis(400)),
        times: 1,
    });

    let started = Instant::now();
    let response = introspect(&sim, &token, &token).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(json(response).await["active"], true);

    let timed_out = client()
        .get(format!("{}/1.2/user/-{}", sim.base_url(), weight_path()))
        .bearer_auth(&token)
        .timeout(Duration::from_millis(100));
    sim.add_fault(Fault {
        user: None,
        route: Some(Route::Data),
        kind: FaultKind::Slow(Duration::from_secs(2)),
        times: 1,
    });
    assert!(timed_out.send().await.unwrap_err().is_timeout());
}

#[tokio::test]
async fn a_drop_fault_is_a_transport_error() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    sim.add_fault(Fault { user: Some(USER.into()), route: Some(Route::Data), kind: FaultKind::Drop, times: 1 });

    let result =
        client().get(format!("{}/1.2/user/-{}", sim.base_url(), weight_path())).bearer_auth(&token).send().await;
    let error = result.expect_err("no HTTP response at all");
    assert!(error.status().is_none(), "{error:?}");
    assert_eq!(get_data(&sim, &token, &weight_path()).await.status(), 200);
}

#[tokio::test]
async fn latency_slows_every_legacy_request_but_not_admin() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    sim.set_latency(Duration::from_millis(500));

    let started = Instant::now();
    assert_eq!(get_data(&sim, &token, &weight_path()).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(500));
    let started = Instant::now();
    assert_eq!(get_data(&sim, &token, "/no/such/thing.json").await.status(), 404);
    assert!(started.elapsed() >= Duration::from_millis(500));

    let started = Instant::now();
    let admin = client().get(format!("{}/__admin/fitbit/users/{USER}/requests", sim.base_url())).send().await.unwrap();
    assert_eq!(admin.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(500));
}

/// Reads a whole body chunk by chunk without keeping it: its length.
async fn streamed_length(mut response: reqwest::Response) -> u64 {
    let mut length = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        length += chunk.len() as u64;
    }
    length
}

#[tokio::test]
async fn an_oversized_fault_streams_valid_json_of_the_given_length_chunked_or_declared() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let bytes = 5 * 1024 * 1024 + 7;
    sim.add_fault(Fault {
        user: Some(USER.into()),
        route: Some(Route::Data),
        kind: FaultKind::Oversized { bytes, declared: false },
        times: 1,
    });
    let response = get_data(&sim, &token, &weight_path()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), None, "chunked: the length shows only by reading");
    assert_eq!(streamed_length(response).await, bytes);

    sim.add_fault(Fault {
        user: Some(USER.into()),
        route: Some(Route::Data),
        kind: FaultKind::Oversized { bytes: 200_000, declared: true },
        times: 1,
    });
    let response = get_data(&sim, &token, &weight_path()).await;
    assert_eq!(response.content_length(), Some(200_000));
    let body: serde_json::Value = response.json().await.expect("whitespace then {}: valid JSON if read whole");
    assert_eq!(body, serde_json::json!({}));
    assert_eq!(get_data(&sim, &token, &weight_path()).await.status(), 200, "worn off");
}

#[tokio::test]
async fn an_endless_keyset_never_ends() {
    let sim = start().await;
    sim.add_fault(Fault { user: None, route: Some(Route::GoogleKeyset), kind: FaultKind::Endless, times: 1 });
    let mut response = client().get(sim.google_webhook_keyset_url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut read = 0;
    while read < 20 * 1024 * 1024 {
        read += response.chunk().await.unwrap().expect("the body goes on").len();
    }
    drop(response);
    let keyset = client().get(sim.google_webhook_keyset_url()).send().await.unwrap();
    assert!(json(keyset).await["key"].is_array(), "worn off: the keyset again");
}

#[tokio::test]
async fn a_redirect_fault_points_elsewhere_without_a_body() {
    let sim = start().await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let elsewhere = "http://127.0.0.1:9/token?x=1";
    sim.add_fault(Fault {
        user: None,
        route: Some(Route::GoogleToken),
        kind: FaultKind::Redirect { status: 307, url: elsewhere.into() },
        times: 1,
    });
    let response = no_redirects
        .post(format!("{}/token", sim.base_url()))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "1//x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], elsewhere);
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_next_link_fault_replaces_pagination_next_of_list_pages() {
    let sim = start().await;
    let token = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600).access_token;
    let elsewhere = "https://evil.example:8443/1.2/user/-/sleep/list.json?offset=100";
    sim.add_fault(Fault {
        user: Some(USER.into()),
        route: Some(Route::Data),
        kind: FaultKind::NextLink(elsewhere.into()),
        times: 1,
    });
    let path = format!("/sleep/list.json?afterDate={}&sort=asc&offset=0&limit=5", first_day());
    let page = json(get_data(&sim, &token, &path).await).await;
    assert_eq!(page["pagination"]["next"], elsewhere);
    assert_eq!(page["sleep"].as_array().map(Vec::len), Some(5), "the page itself as usual");
    let page = json(get_data(&sim, &token, &path).await).await;
    assert!(page["pagination"]["next"].as_str().unwrap().starts_with(&sim.base_url()), "worn off");
}

#[tokio::test]
async fn an_audience_fault_names_another_client_in_tokeninfo() {
    let sim = start().await;
    let pair = sim.issue_google_tokens(USER, provider_sim::GOOGLE_HEALTH_SCOPES, 3599);
    sim.add_fault(Fault {
        user: Some(USER.into()),
        route: Some(Route::GoogleTokeninfo),
        kind: FaultKind::Audience("other-client.apps.googleusercontent.com".into()),
        times: 1,
    });
    let url = format!("{}/tokeninfo", sim.base_url());
    let info = json(client().post(&url).form(&[("access_token", &pair.access_token)]).send().await.unwrap()).await;
    assert_eq!(info["aud"], "other-client.apps.googleusercontent.com");
    assert_eq!(info["azp"], "other-client.apps.googleusercontent.com");
    assert_eq!(info["scope"], provider_sim::GOOGLE_HEALTH_SCOPES);
    let info = json(client().post(&url).form(&[("access_token", &pair.access_token)]).send().await.unwrap()).await;
    assert_eq!(info["aud"], SimConfig::default().google_client_id, "worn off");
}

#[tokio::test]
async fn a_project_quota_fault_is_googles_project_429_with_the_given_retry_after() {
    let sim = start().await;
    let token = sim.issue_google_tokens(USER, provider_sim::GOOGLE_HEALTH_SCOPES, 3599).access_token;
    sim.add_fault(Fault {
        user: Some(USER.into()),
        route: Some(Route::GoogleData),
        kind: FaultKind::ProjectQuota { retry_after: "99999999999".into() },
        times: 1,
    });
    let url = format!("{}/v4/users/me/identity", sim.base_url());
    let response = client().get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "99999999999");
    let body = json(response).await;
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    let subjects: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|detail| detail["violations"][0]["subject"].as_str())
        .collect();
    assert!(subjects.iter().any(|s| s.starts_with("project:")), "{body}");
    assert_eq!(client().get(&url).bearer_auth(&token).send().await.unwrap().status(), 200, "worn off");
}
