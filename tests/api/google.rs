//! Children on the Google Health API, through the same routes and events as Fitbit children: handing tokens over,
//! the connect flow, syncs, refreshes, revokes and the error codes of Google's answers.

use std::collections::HashMap;
use std::time::Duration;

use ds_agent::domain::ChildId;
use reqwest::StatusCode;
use serde_json::{json, Value};

use provider_sim::{Fault, FaultKind, Route};

use crate::bus_probe::{BusProbe, Published};
use crate::helpers::{http_client, spawn_app, unique_name, TestApp};

const SYNC_KEYS: [&str; 4] = ["physicalactivities.sync", "sleep.sync", "weights.sync", "logs.sync"];

async fn stored_fitbit(app: &TestApp, child: ChildId) -> mongodb::bson::Document {
    app.userauth_document(child).await.unwrap().get_document("fitbit").unwrap().clone()
}

#[tokio::test]
async fn a_google_child_goes_through_post_auth_sync_refresh_and_revoke() {
    let app = spawn_app().await;
    let user = unique_name("G");
    // Less than the 10-minute margin left: the sync refreshes first.
    let (child, tokens) = app.connect_google_user(&user, 300).await;
    let stored = stored_fitbit(&app, child).await;
    assert_eq!(stored.get_str("provider").unwrap(), "google");
    assert_eq!(stored.get_str("user_id").unwrap(), provider_sim::health_user_id(&user));

    let read: Value = app.get(&format!("/v1/users/{child}/fitbit/auth")).await.json().await.unwrap();
    assert_eq!(read["access_token"], tokens.access_token.as_str());

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["activities"].as_u64().unwrap() > 0 && body["logs"]["steps"].as_u64().unwrap() > 0, "{body}");
    assert_eq!(app.sim.google_counts(&user).refresh, 1, "refreshed before syncing");
    let stored = stored_fitbit(&app, child).await;
    assert_ne!(stored.get_str("access_token").unwrap(), tokens.access_token, "a new access token");
    assert_eq!(stored.get_str("refresh_token").unwrap(), tokens.refresh_token, "Google refresh tokens do not rotate");
    assert_eq!(stored.get_str("provider").unwrap(), "google");

    let revoke = app.client.post(app.url(&format!("/v1/users/{child}/fitbit/auth/revoke"))).send().await.unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert!(!app.sim.is_google_refresh_token_valid(&tokens.refresh_token), "revoked at Google");
    assert_eq!(app.get(&format!("/v1/users/{child}/fitbit/auth")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn post_auth_tells_google_tokens_from_fitbit_ones_and_checks_them() {
    let app = spawn_app().await;
    let user = unique_name("G");
    let tokens = app.sim.issue_google_tokens(&user, provider_sim::GOOGLE_HEALTH_SCOPES, 3600);
    let child = ChildId::from(mongodb::bson::oid::ObjectId::new());
    let url = app.url(&format!("/v1/users/{child}/fitbit/auth"));

    // Without `provider`, an opaque token is taken as Google's.
    let body = json!({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token});
    assert_eq!(app.client.post(&url).json(&body).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(stored_fitbit(&app, child).await.get_str("provider").unwrap(), "google");

    let bad = json!({"access_token": "x", "refresh_token": "y", "provider": "garmin"});
    let response = app.client.post(&url).json(&bad).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Only a profile scope: the Google scope description, nothing stored.
    let other = ChildId::from(mongodb::bson::oid::ObjectId::new());
    let narrow =
        app.sim.issue_google_tokens(&user, "https://www.googleapis.com/auth/googlehealth.profile.readonly", 3600);
    let body =
        json!({"access_token": narrow.access_token, "refresh_token": narrow.refresh_token, "provider": "google"});
    let response =
        app.client.post(app.url(&format!("/v1/users/{other}/fitbit/auth"))).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        error["message"],
        "The token must have permission for at least one of the features that are synced by the API."
    );
    assert!(error["description"].as_str().unwrap().contains("googlehealth.sleep.readonly"), "{error}");
    assert!(app.userauth_document(other).await.is_none());

    // A dead token: 503 with the original's text, masked.
    let dead = json!({"access_token": "ya29.not-a-real-token", "refresh_token": "1//x", "provider": "google"});
    let response =
        app.client.post(app.url(&format!("/v1/users/{other}/fitbit/auth"))).json(&dead).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["message"], "Access token invalid: ya29.n…. Please submit a new access token and try again.");
    assert!(app.userauth_document(other).await.is_none());
}

/// The connect flow's first leg: the consent URL, and the cookie the browser keeps (`name=value`).
async fn start_connect(app: &TestApp, child: ChildId, user: &str) -> (String, String) {
    let authorize = app
        .get(&format!(
            "/v1/users/{child}/google/authorize?redirect_uri=https%3A%2F%2Fapp.example%2Fdone&login_hint={user}"
        ))
        .await;
    assert_eq!(authorize.status(), StatusCode::FOUND);
    let set_cookie = authorize.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["Path=/v1/google/callback", "Max-Age=600", "HttpOnly", "Secure", "SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "{attribute} missing from {set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    (authorize.headers()["location"].to_str().unwrap().to_string(), cookie)
}

#[tokio::test]
async fn the_connect_flow_stores_tokens_after_consent_and_refuses_a_bad_state() {
    let app = spawn_app().await;
    let user = unique_name("G");
    let child = ChildId::from(mongodb::bson::oid::ObjectId::new());
    let (consent, cookie) = start_connect(&app, child, &user).await;
    assert!(consent.starts_with(&format!("{}/o/oauth2/v2/auth?", app.sim.base_url())), "{consent}");
    for part in [
        "access_type=offline",
        "prompt=consent",
        "response_type=code",
        "googlehealth.sleep.readonly",
        "code_challenge_method=S256",
        "code_challenge=",
    ] {
        assert!(consent.contains(part), "{part} missing from {consent}");
    }

    // The simulator's consent page answers at once, with a code for `login_hint`.
    let back = http_client().get(&consent).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::FOUND);
    let callback = back.headers()["location"].to_str().unwrap().to_string();
    assert!(callback.starts_with(&app.url("/v1/google/callback?")), "{callback}");

    // Without the browser's cookie (a leaked link), the state is refused and nothing is exchanged.
    let leaked = app.client.get(&callback).send().await.unwrap();
    assert_eq!(leaked.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.sim.google_counts(&user).code_exchange, 0);

    let done = app.client.get(&callback).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::FOUND);
    let location = done.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("https://app.example/done?"), "{location}");
    assert!(location.contains("status=success") && location.contains(&child.to_string()), "{location}");
    assert!(done.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "the browser forgets its secret");
    let stored = stored_fitbit(&app, child).await;
    assert_eq!(stored.get_str("provider").unwrap(), "google");
    assert_eq!(stored.get_str("user_id").unwrap(), provider_sim::health_user_id(&user));

    // The same callback again (a replay, even with the cookie): refused, nothing exchanged.
    let replay = app.client.get(&callback).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["message"], "Invalid or expired state.");

    // A tampered state stores nothing and exchanges nothing.
    let url = reqwest::Url::parse(&callback).unwrap();
    let state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1.to_string();
    let (payload, signature) = state.split_once('.').unwrap();
    // One character of the signature changed (the first: the last one's low bits are padding and may not count).
    let other = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = app.url(&format!("/v1/google/callback?code=abc&state={payload}.{other}{}", &signature[1..]));
    for url in [forged, app.url("/v1/google/callback?code=abc&state=garbage")] {
        let response = app.client.get(&url).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{url}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["message"], "Invalid or expired state.");
    }
    assert_eq!(app.sim.google_counts(&user).code_exchange, 1, "no exchange for a bad state");
    assert_eq!(app.get(&format!("/v1/users/{child}/google/authorize")).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_connect_flow_sends_browsers_only_to_listed_pages_and_needs_the_pkce_verifier() {
    let app = spawn_app().await;
    let child = ChildId::from(mongodb::bson::oid::ObjectId::new());
    for unlisted in [
        "https%3A%2F%2Fevil.example%2Fdone",
        "https%3A%2F%2Fapp.example%2Fdone.evil",
        "http%3A%2F%2Fapp.example%2Fdone",
    ] {
        let response = app.get(&format!("/v1/users/{child}/google/authorize?redirect_uri={unlisted}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{unlisted}");
        assert!(response.headers().get("set-cookie").is_none());
        let body: Value = response.json().await.unwrap();
        assert!(body["description"].as_str().unwrap().contains("GOOGLE_REDIRECT_URIS"), "{body}");
    }

    // A code redeemed without the verifier of its challenge (what a thief of the code has) fails at Google.
    let user = unique_name("G");
    let (consent, _) = start_connect(&app, child, &user).await;
    let back = http_client().get(&consent).send().await.unwrap();
    let callback = reqwest::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    let mut redirect = callback.clone();
    redirect.set_query(None);
    for verifier in [None, Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")] {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("client_id", "sim-google-client.apps.googleusercontent.com"),
            ("client_secret", "sim-google-secret"),
        ];
        form.extend(verifier.map(|v| ("code_verifier", v)));
        let response = app.client.post(format!("{}/token", app.sim.base_url())).form(&form).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "verifier {verifier:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant", "{body}");
    }
    assert!(app.userauth_document(child).await.is_none());
}

#[tokio::test]
async fn google_rate_limits_and_dead_tokens_map_to_1429_1012_and_1021() {
    let app = spawn_app().await;
    let user = unique_name("G");
    let (child, _) = app.connect_google_user(&user, 3600).await;
    let mut probe = BusProbe::bind(&["fitbit.auth.error"]).await;

    app.sim.set_google_rate_limit(0);
    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 1429);
    let event = probe.next_for(&child.to_string(), Duration::from_secs(60)).await.expect("1429 event");
    assert_eq!(event.body["fitbit"]["error"]["code"], 1429);
    app.sim.set_google_rate_limit(300);

    // A 401 is refreshed once (Google's client policy); still refused with the new token, the token is invalid.
    let refused =
        Fault { user: Some(user.clone()), route: Some(Route::GoogleData), kind: FaultKind::Status(401), times: 1000 };
    app.sim.add_fault(refused);
    let response = app.sync(child).await;
    app.sim.clear_faults();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 1012, "{body}");
    assert_eq!(app.sim.google_counts(&user).refresh, 1, "one refresh, then the verdict");
    let event = probe.next_for(&child.to_string(), Duration::from_secs(60)).await.expect("1012 event");
    assert_eq!(event.body["fitbit"]["error"]["code"], 1012);
    assert_eq!(stored_fitbit(&app, child).await.get_str("status").unwrap(), "invalid_token");

    // A consent revoked at Google: the refresh after the 401 is refused too, and the child must reconnect.
    let (other, tokens_of_other) = app.connect_google_user(&user, 3600).await;
    let revoke = app
        .client
        .post(format!("{}/revoke", app.sim.base_url()))
        .form(&[("token", tokens_of_other.refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(revoke.status().is_success());
    let response = app.sync(other).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 1021, "{body}");
    let event = probe.next_for(&other.to_string(), Duration::from_secs(60)).await.expect("1021 event");
    assert_eq!(event.body["fitbit"]["error"]["code"], 1021);
    assert_eq!(app.get(&format!("/v1/users/{other}/fitbit/auth")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_retired_legacy_api_is_1410_on_post_auth_and_sync_and_the_cron_skips_the_child() {
    let app = spawn_app().await;
    let (child, _) = app.connect_fitbit_child("rwei ract rsle").await;
    let mut probe = BusProbe::bind(&["fitbit.auth.error"]).await;
    app.sim.set_legacy_gone(true);
    let expected = json!({"code": 1410, "message": "Fitbit Web API is no longer available.",
        "description": "The legacy Fitbit Web API was shut down on 2 November 2026. Please reconnect the account through Google Health and submit new authentication data."});

    let response = app.sync(child).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(response.json::<Value>().await.unwrap(), expected);
    let event = probe.next_for(&child.to_string(), Duration::from_secs(60)).await.expect("1410 event");
    assert_eq!(event.body["fitbit"]["error"], expected);
    assert_eq!(stored_fitbit(&app, child).await.get_str("status").unwrap(), "invalid_token");
    assert_eq!(
        app.state.jobs.tick(&app.state.userauths, chrono::Utc::now()).await.unwrap(),
        Some(0),
        "the cron skips it"
    );

    let newcomer = ChildId::from(mongodb::bson::oid::ObjectId::new());
    let tokens = app.sim.issue_fitbit_tokens(&unique_name("FB"), "rwei ract rsle", 3600);
    let response = app.post_auth(newcomer, &tokens).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(response.json::<Value>().await.unwrap(), expected);
    assert!(probe.next_for(&newcomer.to_string(), Duration::from_secs(60)).await.is_some(), "1410 event on POST auth");
}

/// The same synthetic person through both providers: the events carry the same objects, field by field, except
/// what Google does not have. Fields that differ by nature: an activity's `levels` and `heart_rate` (Google has no
/// per-level minutes and no named zones with bounds), and daily logs of days without wear (Google has no bucket).
#[tokio::test]
async fn fitbit_and_google_publish_the_same_objects_for_the_same_person() {
    let app = spawn_app().await;
    let user = unique_name("SAME");
    let mut probe = BusProbe::bind(&SYNC_KEYS).await;
    let fitbit_tokens = app.sim.issue_fitbit_tokens(&user, "rwei ract rsle", 8 * 3600);
    let fitbit_child = ChildId::from(mongodb::bson::oid::ObjectId::new());
    assert_eq!(app.post_auth(fitbit_child, &fitbit_tokens).await.status(), StatusCode::NO_CONTENT);
    let (google_child, _) = app.connect_google_user(&user, 3600).await;
    let fitbit_counts: Value = app.sync(fitbit_child).await.json().await.unwrap();
    let google_counts: Value = app.sync(google_child).await.json().await.unwrap();
    let wait = Duration::from_secs(60);
    let from_fitbit = probe.published(&fitbit_child.to_string(), &fitbit_counts, wait).await;
    let from_google = probe.published(&google_child.to_string(), &google_counts, wait).await;

    let items = |published: &Published, key: &str| -> Vec<Value> {
        let mut items = published.of(key);
        for item in &mut items {
            let object = item.as_object_mut().unwrap();
            object.remove("child_id");
            object.remove("levels");
            object.remove("heart_rate");
        }
        items
    };
    for (key, order_by) in
        [("physicalactivities.sync", "start_time"), ("sleep.sync", "start_time"), ("weights.sync", "timestamp")]
    {
        let by_time = |list: Vec<Value>| -> HashMap<String, Value> {
            list.into_iter().map(|item| (item[order_by].as_str().unwrap().to_string(), item)).collect()
        };
        let (fitbit, google) = (by_time(items(&from_fitbit, key)), by_time(items(&from_google, key)));
        assert_eq!(fitbit.len(), google.len(), "{key}: same number of items");
        for (time, item) in &fitbit {
            let other = google.get(time).unwrap_or_else(|| panic!("{key} at {time} missing on Google"));
            assert_same(item, other, &format!("{key} at {time}"));
        }
    }
    let logs = |published: &Published| -> HashMap<(String, String), Value> {
        items(published, "logs.sync")
            .into_iter()
            .map(|log| {
                (
                    (log["type"].as_str().unwrap().to_string(), log["date"].as_str().unwrap().to_string()),
                    log["value"].clone(),
                )
            })
            .collect()
    };
    let (fitbit_logs, google_logs) = (logs(&from_fitbit), logs(&from_google));
    assert!(!google_logs.is_empty());
    for (day, value) in &google_logs {
        assert_eq!(fitbit_logs.get(day), Some(value), "log {day:?}");
    }
    let missing = fitbit_logs.keys().filter(|day| !google_logs.contains_key(*day)).count();
    assert!(missing * 10 < fitbit_logs.len(), "only days without wear are missing on Google ({missing})");
}

/// Numbers compare as numbers (a distance in metres from millimetres may differ in the last binary digit).
fn assert_same(fitbit: &Value, google: &Value, what: &str) {
    match (fitbit, google) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{what}: {a} vs {b}");
        }
        (Value::Object(a), Value::Object(b)) => {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{what}: keys");
            for (key, value) in a {
                assert_same(value, &b[key], &format!("{what}.{key}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{what}: length");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(x, y, &format!("{what}[{i}]"));
            }
        }
        _ => assert_eq!(fitbit, google, "{what}"),
    }
}
