//! The retirement switch: every legacy route answers 410 Gone, before any check, while admin keeps working.

mod common;

use common::*;
use provider_sim::{RequestCounts, SimConfig};

#[tokio::test]
async fn every_legacy_route_is_gone_and_still_counted() {
    let sim = start().await;
    let pair = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);
    sim.set_legacy_gone(true);

    let responses = vec![
        get_data(&sim, &pair.access_token, &format!("/body/log/weight/date/{0}/{0}.json", today())).await,
        client()
            .get(format!("{}/1/user/-/sleep/list.json", sim.base_url()))
            .bearer_auth(&pair.access_token)
            .send()
            .await
            .unwrap(),
        get_data(&sim, "not-even-a-token", "/activities/list.json").await,
        refresh(&sim, &pair.refresh_token).await,
        client().post(format!("{}/oauth2/token", sim.base_url())).send().await.unwrap(),
        revoke(&sim, &pair.access_token).await,
        introspect(&sim, &pair.access_token, &pair.access_token).await,
        client().get(format!("{}/1.1/user/-/profile.json", sim.base_url())).send().await.unwrap(),
    ];
    for response in responses {
        assert_eq!(response.status(), 410, "{}", response.url());
        assert_eq!(response.text().await.unwrap(), "Gone");
    }
    assert_eq!(sim.counts(USER), RequestCounts { refresh: 1, revoke: 1, introspect: 1, data: 2 });
    assert!(sim.is_refresh_token_valid(&pair.refresh_token) && sim.is_access_token_active(&pair.access_token));

    let admin = client().get(format!("{}/__admin/fitbit/users/{USER}/requests", sim.base_url())).send().await.unwrap();
    assert_eq!(admin.status(), 200);

    sim.set_legacy_gone(false);
    assert_eq!(refresh(&sim, &pair.refresh_token).await.status(), 200);
}

#[tokio::test]
async fn the_simulator_can_start_retired() {
    let sim = start_with(SimConfig { legacy_gone: true, ..SimConfig::default() }).await;
    let pair = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);
    assert_eq!(introspect(&sim, &pair.access_token, &pair.access_token).await.status(), 410);
}
