//! Tokens at rest: sealed with `TOKEN_ENCRYPTION_KEY`, plaintext records of the original still read and sealed on
//! their next write.

use base64::Engine;
use reqwest::StatusCode;

use crate::helpers::spawn_app_with;

fn key() -> String {
    base64::engine::general_purpose::STANDARD.encode([42u8; 32])
}

#[tokio::test]
async fn tokens_are_stored_sealed_and_read_back_in_clear() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &key())]).await;
    let (child, tokens) = app.connect_child().await;
    let fitbit = app.userauth_document(child).await.unwrap().get_document("fitbit").unwrap().clone();
    for field in ["access_token", "refresh_token"] {
        let stored = fitbit.get_str(field).unwrap();
        assert!(stored.starts_with("enc:v2:"), "{field}: {stored}");
    }
    let raw = format!("{fitbit:?}");
    assert!(!raw.contains(&tokens.access_token) && !raw.contains(&tokens.refresh_token));

    let body: serde_json::Value = app.get(&format!("/v1/users/{child}/fitbit/auth")).await.json().await.unwrap();
    assert_eq!(body["access_token"], tokens.access_token.as_str());
    assert_eq!(body["refresh_token"], tokens.refresh_token.as_str());
}

#[tokio::test]
async fn a_plaintext_record_of_the_original_is_read_and_sealed_on_its_next_write() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &key())]).await;
    let (child, tokens) = app.insert_plaintext_child(60).await;

    let response = app.get(&format!("/v1/users/{child}/fitbit/auth")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["access_token"], tokens.access_token.as_str());

    // Less than 10 minutes left: the refresh writes new tokens, sealed.
    let fresh = app.state.tokens.usable_tokens(child).await.unwrap().auth;
    let fitbit = app.userauth_document(child).await.unwrap().get_document("fitbit").unwrap().clone();
    assert!(fitbit.get_str("access_token").unwrap().starts_with("enc:v2:"));
    assert!(fitbit.get_str("refresh_token").unwrap().starts_with("enc:v2:"));
    assert_eq!(app.state.userauths.find(child).await.unwrap().unwrap().auth.access_token, fresh.access_token);
}
