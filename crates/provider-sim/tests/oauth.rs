//! Token issue, refresh, revoke and introspection, over HTTP as ds-agent calls them.

mod common;

use common::*;
use provider_sim::RequestCounts;
use serde_json::json;

#[tokio::test]
async fn access_tokens_are_hs256_jwts_with_fitbit_claims() {
    let sim = start().await;
    let pair = sim.issue_fitbit_tokens(USER, "rwei rsle", 3600);
    let now = chrono::Utc::now().timestamp();

    assert_eq!(jwt_part(&pair.access_token, 0), json!({"alg": "HS256", "typ": "JWT"}));
    let claims = jwt_part(&pair.access_token, 1);
    assert_eq!(claims["aud"], "1A2B3C");
    assert_eq!(claims["sub"], USER);
    assert_eq!(claims["iss"], "Fitbit");
    assert_eq!(claims["typ"], "access_token");
    assert_eq!(claims["scopes"], "rwei rsle");
    assert_eq!(claims["exp"], pair.expires_at);
    assert!((claims["iat"].as_i64().unwrap() - now).abs() <= 2);
    assert!((pair.expires_at - now - 3600).abs() <= 2);
    assert!(!claims["jti"].as_str().unwrap().is_empty());
    assert_eq!(pair.access_token.split('.').nth(2).unwrap().len(), 43, "a base64url HMAC-SHA256");

    assert_eq!(pair.refresh_token.len(), 64);
    assert!(pair.refresh_token.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(sim.issue_fitbit_tokens(USER, "rwei rsle", 3600).access_token, pair.access_token);
}

#[tokio::test]
async fn a_refresh_token_works_once_and_the_new_pair_works() {
    let sim = start().await;
    let first = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);

    let response = refresh(&sim, &first.refresh_token).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["expires_in"], 28800);
    assert_eq!(body["scope"], "weight activity sleep");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["user_id"], USER);
    let (access, refresh_token) = (body["access_token"].as_str().unwrap(), body["refresh_token"].as_str().unwrap());
    assert_eq!(jwt_part(access, 1)["scopes"], ALL_SCOPES);
    assert_eq!(jwt_part(access, 1)["sub"], USER);

    let (status, error_type, message) = fitbit_error(refresh(&sim, &first.refresh_token).await).await;
    assert_eq!((status, error_type.as_str()), (400, "invalid_grant"));
    assert_eq!(message, format!("Refresh token invalid: {}…", &first.refresh_token[..6]));

    assert_eq!(
        get_data(&sim, access, "/sleep/list.json?beforeDate=2030-01-01&sort=desc&offset=0&limit=1").await.status(),
        200
    );
    assert!(sim.is_refresh_token_valid(refresh_token));
    assert!(!sim.is_refresh_token_valid(&first.refresh_token));
    assert!(sim.is_access_token_active(&first.access_token), "the old access token lives until it expires");
    assert_eq!(refresh(&sim, refresh_token).await.status(), 200);
    assert_eq!(sim.counts(USER).refresh, 3);
}

#[tokio::test]
async fn wrong_or_missing_client_credentials_are_invalid_client() {
    let sim = start().await;
    let pair = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);
    let url = format!("{}/oauth2/token", sim.base_url());
    let grant = [("grant_type", "refresh_token"), ("refresh_token", pair.refresh_token.as_str())];

    let wrong_basic = client().post(&url).basic_auth("1A2B3C", Some("nope")).form(&grant).send().await.unwrap();
    assert_eq!(fitbit_error(wrong_basic).await.0, 401);
    let none = client().post(&url).form(&grant).send().await.unwrap();
    let (status, error_type, _) = fitbit_error(none).await;
    assert_eq!((status, error_type.as_str()), (401, "invalid_client"));
    let mut wrong_form = grant.to_vec();
    wrong_form.extend([("client_id", "1A2B3C"), ("client_secret", "wrong")]);
    let right_header_wrong_form = client().post(&url).header("authorization", basic_auth()).form(&wrong_form).send();
    assert_eq!(fitbit_error(right_header_wrong_form.await.unwrap()).await.1, "invalid_client");
    assert!(sim.is_refresh_token_valid(&pair.refresh_token), "a rejected client spends nothing");

    let mut form_only = grant.to_vec();
    form_only.extend([("client_id", "1A2B3C"), ("client_secret", "f1tb1ts3cr3t")]);
    assert_eq!(client().post(&url).form(&form_only).send().await.unwrap().status(), 200);

    let revoke_url = format!("{}/oauth2/revoke", sim.base_url());
    let bad_revoke =
        client().post(&revoke_url).basic_auth("1A2B3C", Some("nope")).form(&[("token", &pair.access_token)]);
    assert_eq!(fitbit_error(bad_revoke.send().await.unwrap()).await.1, "invalid_client");
    assert!(sim.is_access_token_active(&pair.access_token));
    assert_eq!(sim.counts(USER), RequestCounts { refresh: 4, revoke: 1, introspect: 0, data: 0 });
}

#[tokio::test]
async fn introspection_describes_the_form_token() {
    let sim = start().await;
    let pair = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);
    let expired = sim.issue_fitbit_tokens(USER, ALL_SCOPES, -10);

    let response = introspect(&sim, &pair.access_token, &pair.access_token).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "{ACTIVITY=READ, SLEEP=READ, WEIGHT=READ}");
    assert_eq!(body["client_id"], "1A2B3C");
    assert_eq!(body["user_id"], USER);
    assert_eq!(body["token_type"], "access_token");
    assert_eq!(body["exp"], pair.expires_at * 1000);

    assert_eq!(json(introspect(&sim, &pair.access_token, &expired.access_token).await).await, json!({"active": false}));
    assert_eq!(json(introspect(&sim, &pair.access_token, "not-a-token").await).await, json!({"active": false}));

    let (status, error_type, _) = fitbit_error(introspect(&sim, &expired.access_token, &pair.access_token).await).await;
    assert_eq!((status, error_type.as_str()), (401, "expired_token"));
    let (status, error_type, _) = fitbit_error(introspect(&sim, "forged", &pair.access_token).await).await;
    assert_eq!((status, error_type.as_str()), (401, "invalid_token"));
    assert_eq!(sim.counts(USER).introspect, 4, "the forged bearer belongs to nobody");
}

#[tokio::test]
async fn revoking_kills_the_whole_grant() {
    let sim = start().await;
    let pair = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);
    let other = sim.issue_fitbit_tokens(USER, ALL_SCOPES, 3600);

    let response = revoke(&sim, &pair.access_token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await, json!({}));

    let (status, error_type, message) =
        fitbit_error(get_data(&sim, &pair.access_token, "/body/log/weight/date/2026-01-01/2026-01-02.json").await)
            .await;
    assert_eq!((status, error_type.as_str()), (401, "invalid_token"));
    assert_eq!(message, format!("Access token invalid: {}…", &pair.access_token[..6]));
    assert_eq!(fitbit_error(refresh(&sim, &pair.refresh_token).await).await.1, "invalid_grant");
    assert!(sim.is_access_token_active(&other.access_token), "another grant of the same user survives");

    // Revoking by refresh token revokes the access token too.
    assert_eq!(revoke(&sim, &other.refresh_token).await.status(), 200);
    assert!(!sim.is_access_token_active(&other.access_token));
    assert_eq!(revoke(&sim, "unknown").await.status(), 200);
    assert_eq!(sim.counts(USER).revoke, 2);
}

#[tokio::test]
async fn only_the_refresh_grant_is_supported() {
    let sim = start().await;
    let url = format!("{}/oauth2/token", sim.base_url());
    let form = [("grant_type", "authorization_code"), ("code", "x")];
    let response = client().post(&url).header("authorization", basic_auth()).form(&form).send().await.unwrap();
    let (status, error_type, _) = fitbit_error(response).await;
    assert_eq!((status, error_type.as_str()), (400, "unsupported_grant_type"));
}
