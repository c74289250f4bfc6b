//! Injected faults and latency: what ds-agent's retries and timeouts are tested against.

mod common;

use std::time::{Duration, Instant};

use common::*;
use provider_sim::{Fault, FaultKind, Route};

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
