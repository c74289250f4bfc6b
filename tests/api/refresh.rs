//! The token refresh service: the 10-minute margin, one refresh per child across tasks and instances, and
//! `invalid_grant` handling.

use ds_agent::domain::ChildId;
use ds_agent::tokens::RefreshError;
use mongodb::bson::{doc, oid::ObjectId};
use provider_sim::TokenPair;

use crate::helpers::{spawn_app, unique_name, TestApp};

/// A child whose stored access token expires in `expires_in` seconds.
async fn child_expiring_in(app: &TestApp, expires_in: i64) -> (ChildId, String, TokenPair) {
    let user = unique_name("FB");
    let tokens = app.sim.issue_fitbit_tokens(&user, "rwei ract rsle", expires_in);
    let child = ChildId::from(ObjectId::new());
    let response = app.post_auth(child, &tokens).await;
    assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT, "{:?}", response.text().await);
    (child, user, tokens)
}

#[tokio::test]
async fn tokens_with_more_than_ten_minutes_left_are_used_as_they_are() {
    let app = spawn_app().await;
    let (child, user, tokens) = child_expiring_in(&app, 3600).await;
    let auth = app.state.tokens.usable_tokens(child).await.unwrap().auth;
    assert_eq!(auth.access_token, tokens.access_token);
    assert_eq!(app.sim.counts(&user).refresh, 0);
}

#[tokio::test]
async fn tokens_inside_the_margin_are_refreshed_and_only_token_fields_change() {
    let app = spawn_app().await;
    let (child, user, old) = child_expiring_in(&app, 300).await;
    app.store
        .collection("userauths")
        .update_one(doc! {"user_id": child.object_id()}, doc! {"$set": {"fitbit.last_sync": "2020-09-08T19:09:23Z"}})
        .await
        .unwrap();

    let auth = app.state.tokens.usable_tokens(child).await.unwrap().auth;
    assert_eq!(app.sim.counts(&user).refresh, 1);
    assert_ne!(auth.access_token, old.access_token);
    assert!(app.sim.is_access_token_active(&auth.access_token));
    assert!(!app.sim.is_refresh_token_valid(&old.refresh_token), "the old refresh token is spent");

    let fitbit = app.userauth_document(child).await.unwrap().get_document("fitbit").unwrap().clone();
    assert_eq!(fitbit.get_str("access_token").unwrap(), auth.access_token);
    assert_eq!(fitbit.get_str("refresh_token").unwrap(), auth.refresh_token);
    assert_eq!(fitbit.get_str("status").unwrap(), "valid_token");
    assert_eq!(
        fitbit.get_str("last_sync").unwrap(),
        "2020-09-08T19:09:23Z",
        "docs/decisions.md#refresh-keeps-last-sync"
    );
    assert!(i64::from(fitbit.get_i32("expires_in").unwrap()) > chrono::Utc::now().timestamp() + 3600);
}

#[tokio::test]
async fn fifty_concurrent_refreshes_from_two_instances_make_exactly_one_provider_call() {
    let app = spawn_app().await;
    let peer = app.spawn_peer(&[]).await;
    let (child, user, _) = child_expiring_in(&app, 120).await;

    let mut tasks = Vec::new();
    for i in 0..50 {
        let tokens = if i % 2 == 0 { app.state.tokens.clone() } else { peer.state.tokens.clone() };
        tasks.push(tokio::spawn(async move { tokens.usable_tokens(child).await.map(|usable| usable.auth) }));
    }
    let mut access_tokens = std::collections::HashSet::new();
    for task in tasks {
        let auth = task.await.unwrap().expect("every caller gets working tokens");
        access_tokens.insert(auth.access_token);
    }
    assert_eq!(app.sim.counts(&user).refresh, 1, "exactly one refresh reached the provider");
    assert_eq!(access_tokens.len(), 1, "every caller got the same new tokens");

    let stored = app.state.userauths.find(child).await.unwrap().unwrap();
    assert!(app.sim.is_access_token_active(&stored.auth.access_token));
    assert!(app.sim.is_refresh_token_valid(&stored.auth.refresh_token), "the stored refresh token still works");
}

#[tokio::test]
async fn a_spent_refresh_token_is_invalid_grant_after_a_second_look_at_the_store() {
    let app = spawn_app().await;
    let (child, user, tokens) = child_expiring_in(&app, 60).await;
    // Someone else (not through this service) spends the refresh token.
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/oauth2/token", app.sim.base_url()))
        .basic_auth("1A2B3C", Some("f1tb1ts3cr3t"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", tokens.refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    let error = app.state.tokens.usable_tokens(child).await.err().unwrap();
    let RefreshError::Provider(error) = error else { panic!("expected a provider error, got {error:?}") };
    assert_eq!(error.code(), Some(1021));
    assert_eq!(app.sim.counts(&user).refresh, 2);
}

#[tokio::test]
async fn a_refresh_blocked_by_the_provider_outage_is_a_transient_error_and_keeps_the_tokens() {
    let app = spawn_app().await;
    let (child, _, tokens) = child_expiring_in(&app, 60).await;
    app.sim.add_fault(provider_sim::Fault {
        user: None,
        route: Some(provider_sim::Route::Token),
        kind: provider_sim::FaultKind::Drop,
        times: 1,
    });
    let error = app.state.tokens.usable_tokens(child).await.err().unwrap();
    let RefreshError::Provider(error) = error else { panic!("expected a provider error, got {error:?}") };
    assert!(error.is_transient());
    let stored = app.state.userauths.find(child).await.unwrap().unwrap();
    assert_eq!(stored.auth.refresh_token, tokens.refresh_token, "nothing lost");
}
