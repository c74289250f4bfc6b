//! docs/operations.md#security: token encryption keys rotate without downtime (a previous key still opens, new writes
//! go under the current key, `tokens reseal` moves everything), a sealed value is bound to its child and field, and a
//! wrong key destroys nothing: the service refuses to start with it, a revocation it cannot open is kept, a
//! UserDeleteEvent it cannot handle ends on a dead-letter queue.

use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use ds_agent::domain::ChildId;
use ds_agent::startup::{Application, StartupError};
use ds_agent::store::crypto::key_id;
use ds_agent::store::{Aad, StoreError, TokenCipher};
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use reqwest::StatusCode;

use crate::bus_probe::{publish_user_delete, subscribed, user_delete_event, BROKER};
use crate::helpers::{eventually, metric, spawn_app_with, unique_name, TestApp};

const A: [u8; 32] = [0xa1; 32];
const B: [u8; 32] = [0xb2; 32];

fn b64(key: &[u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// The `fitbit` part of a child's raw record.
async fn stored(app: &TestApp, child: ChildId) -> Document {
    app.userauth_document(child).await.expect("a record").get_document("fitbit").unwrap().clone()
}

fn under(key: &[u8; 32]) -> String {
    format!("enc:v2:{}:", key_id(key))
}

fn assert_under(fitbit: &Document, key: &[u8; 32]) {
    for field in ["access_token", "refresh_token"] {
        let value = fitbit.get_str(field).unwrap();
        assert!(value.starts_with(&under(key)), "{field} not under {}: {value}", key_id(key));
    }
}

/// A value as the previous format sealed it: `enc:v1:`, no key id, no associated data.
fn seal_v1(key: &[u8; 32], token: &str) -> String {
    use aes_gcm::aead::{Aead, KeyInit};
    let nonce = [9u8; 12];
    let cipher = aes_gcm::Aes256Gcm::new(key.into());
    let sealed = cipher.encrypt(aes_gcm::Nonce::from_slice(&nonce), token.as_bytes()).unwrap();
    format!("enc:v1:{}", base64::engine::general_purpose::STANDARD.encode([nonce.as_slice(), &sealed].concat()))
}

/// A revocation to retry, as `tokens::revocations` writes it, sealed under `key` and due now.
async fn insert_revocation(app: &TestApp, key: [u8; 32]) -> (ObjectId, ChildId) {
    let child = ChildId::from(ObjectId::new());
    let cipher = TokenCipher::new(Some(key), &[]);
    let id = ObjectId::new();
    let entry = doc! {
        "_id": id,
        "user_id": child.object_id(),
        "access_token": cipher.seal("revoke-me-access", &Aad::revocation(child, "access_token")),
        "refresh_token": cipher.seal("revoke-me-refresh", &Aad::revocation(child, "refresh_token")),
        "provider": "google",
        "attempts": 1,
        "next_attempt_at": Bson::DateTime(mongodb::bson::DateTime::from_millis(Utc::now().timestamp_millis() - 1000)),
        "created_at": Bson::DateTime(mongodb::bson::DateTime::now()),
    };
    app.store.collection("revocations").insert_one(entry).await.unwrap();
    (id, child)
}

#[tokio::test]
async fn after_a_rotation_syncs_go_on_and_new_writes_are_sealed_under_the_new_key() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &b64(&A))]).await;
    let user = unique_name("G");
    // Less than 10 minutes left: the sync under the new key refreshes first, and so writes.
    let (child, tokens) = app.connect_google_user(&user, 300).await;
    assert_under(&stored(&app, child).await, &A);

    let rotated =
        app.spawn_peer(&[("TOKEN_ENCRYPTION_KEY", &b64(&B)), ("TOKEN_ENCRYPTION_KEYS_PREVIOUS", &b64(&A))]).await;
    let read = rotated.state.userauths.find(child).await.unwrap().unwrap();
    assert_eq!(read.auth.refresh_token, tokens.refresh_token, "the previous key opens what it sealed");
    let response = rotated.sync(child).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    assert_eq!(app.sim.google_counts(&user).refresh, 1, "refreshed under the new key");
    assert_under(&stored(&rotated, child).await, &B);

    let (second, _) = rotated.connect_google_user(&unique_name("G"), 3600).await;
    assert_under(&stored(&rotated, second).await, &B);
    // An instance not yet given the new key cannot read what it sealed: the order of the steps matters.
    let error = app.state.userauths.find(second).await.unwrap_err();
    assert!(matches!(error, StoreError::Undecryptable(_)), "{error}");
}

#[tokio::test]
async fn the_reseal_leaves_nothing_under_the_old_key_and_seals_plaintext_and_v1_values() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &b64(&A))]).await;
    let (sealed_child, tokens) = app.connect_child().await;
    let (plain_child, plain) = app.insert_plaintext_child(8 * 3600).await;
    let (plain_access, plain_refresh) = (plain.access_token, plain.refresh_token);
    let (v1_child, v1) = app.insert_plaintext_child(8 * 3600).await;
    let v1_access = v1.access_token;
    let v1 = doc! {"$set": {"fitbit.access_token": seal_v1(&A, &v1_access)}};
    app.store.collection("userauths").update_one(doc! {"user_id": v1_child.object_id()}, v1).await.unwrap();
    let (revocation, _) = insert_revocation(&app, A).await;

    let rotated =
        app.spawn_peer(&[("TOKEN_ENCRYPTION_KEY", &b64(&B)), ("TOKEN_ENCRYPTION_KEYS_PREVIOUS", &b64(&A))]).await;
    let cipher = TokenCipher::from_settings(&rotated.state.settings);
    let mut batches = 0;
    // One document a batch, so that paging by `_id` is what reaches them all.
    let reports = ds_agent::store::reseal_tokens(&rotated.store, &cipher, 1, |_| batches += 1).await.unwrap();
    assert!(batches >= 4, "a progress call per batch: {batches}");
    let userauths = &reports[0];
    assert_eq!((userauths.collection, userauths.documents), ("userauths", 3));
    // 2 sealed under A, 2 plaintext, 1 v1 and 1 plaintext.
    assert_eq!((userauths.resealed, userauths.current, userauths.undecryptable), (6, 0, 0), "{userauths:?}");
    assert_eq!((reports[1].collection, reports[1].resealed), ("revocations", 2), "{:?}", reports[1]);

    for child in [sealed_child, plain_child, v1_child] {
        let fitbit = stored(&app, child).await;
        assert_under(&fitbit, &B);
        let raw = format!("{fitbit:?}");
        assert!(!raw.contains(&under(&A)) && !raw.contains("enc:v1:"), "{raw}");
    }
    let raw = format!("{:?}", stored(&app, plain_child).await);
    assert!(!raw.contains(&plain_access) && !raw.contains(&plain_refresh), "plaintext is sealed: {raw}");
    let entry = app.store.collection("revocations").find_one(doc! {"_id": revocation}).await.unwrap().unwrap();
    assert!(entry.get_str("access_token").unwrap().starts_with(&under(&B)), "{entry}");

    // A is no longer needed: an instance with B alone starts (the startup check passes) and reads everything.
    let only_b = app.spawn_peer(&[("TOKEN_ENCRYPTION_KEY", &b64(&B)), ("TOKEN_ENCRYPTION_KEYS_PREVIOUS", "")]).await;
    assert_eq!(
        only_b.state.userauths.find(sealed_child).await.unwrap().unwrap().auth.access_token,
        tokens.access_token
    );
    assert_eq!(only_b.state.userauths.find(plain_child).await.unwrap().unwrap().auth.refresh_token, plain_refresh);
    assert_eq!(only_b.state.userauths.find(v1_child).await.unwrap().unwrap().auth.access_token, v1_access);

    // Again: nothing left to do.
    let again = ds_agent::store::reseal_tokens(&only_b.store, &cipher, 100, |_| {}).await.unwrap();
    assert_eq!((again[0].resealed, again[0].current, again[1].current), (0, 6, 2), "{again:?}");
}

#[tokio::test]
async fn the_reseal_command_prints_its_progress_and_fails_without_a_key() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &b64(&A))]).await;
    let (child, _) = app.connect_child().await;
    let run = |vars: &[(&str, &str)], args: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ds-agent"));
        command.current_dir(dir.path()).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        command.env("NODE_ENV", "test").env("MONGODB_URI_TEST", app.state.settings.mongodb_uri.expose());
        for (k, v) in vars {
            command.env(k, v);
        }
        command.args(args).output().unwrap()
    };
    let output = run(&[], &["tokens", "reseal"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("TOKEN_ENCRYPTION_KEY"), "{stderr}");

    let keys = [("TOKEN_ENCRYPTION_KEY", b64(&B)), ("TOKEN_ENCRYPTION_KEYS_PREVIOUS", b64(&A))];
    let vars: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = run(&vars, &["tokens", "reseal", "--batch-size", "10"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("userauths: 1 documents read, 2 tokens re-sealed"), "{stdout}");
    assert!(!stdout.contains(&b64(&A)) && !stdout.contains(&b64(&B)), "no key printed: {stdout}");
    assert_under(&stored(&app, child).await, &B);

    // A MongoDB URI the driver refuses: a clear line, and never its password.
    let refused = [vars[0], ("MONGODB_URI_TEST", "mongodb://agent:s3cret@127.0.0.1:27017/ds?authMechanism=NOPE")];
    let output = run(&refused, &["tokens", "reseal"]);
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success() && printed.contains("invalid MongoDB URI"), "{printed}");
    assert!(!printed.contains("s3cret"), "{printed}");
}

#[tokio::test]
async fn a_sealed_value_swapped_between_two_children_does_not_open_and_destroys_nothing() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &b64(&A))]).await;
    let (one, _) = app.connect_google_user(&unique_name("G"), 3600).await;
    let (two, _) = app.connect_google_user(&unique_name("G"), 3600).await;
    let (three, _) = app.connect_google_user(&unique_name("G"), 3600).await;
    let (before_one, before_two) = (stored(&app, one).await, stored(&app, two).await);
    let userauths = app.store.collection("userauths");
    let swap = |child: ChildId, value: &str| {
        let (userauths, value) = (userauths.clone(), value.to_string());
        async move {
            let update = doc! {"$set": {"fitbit.access_token": value}};
            userauths.update_one(doc! {"user_id": child.object_id()}, update).await.unwrap();
        }
    };
    swap(one, before_two.get_str("access_token").unwrap()).await;
    swap(two, before_one.get_str("access_token").unwrap()).await;

    for child in [one, two] {
        let error = app.state.userauths.find(child).await.unwrap_err();
        assert!(matches!(error, StoreError::Undecryptable(_)), "{error}");
        let response = app.get(&format!("/v1/users/{child}/fitbit/auth")).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    let response = app.sync(one).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "the sync fails cleanly");
    let body = response.text().await.unwrap();
    assert!(!body.contains("enc:v2:"), "{body}");
    let response = app.sync(three).await;
    assert_eq!(response.status(), StatusCode::OK, "another child syncs: {:?}", response.text().await);

    // Nothing was marked, removed or rewritten: swapped back, both open again.
    let after_one = stored(&app, one).await;
    assert_eq!(after_one.get_str("refresh_token").unwrap(), before_one.get_str("refresh_token").unwrap());
    assert_eq!(after_one.get_str("status").unwrap(), "valid_token");
    swap(one, before_one.get_str("access_token").unwrap()).await;
    swap(two, before_two.get_str("access_token").unwrap()).await;
    assert!(app.state.userauths.find(one).await.unwrap().is_some());
    assert!(app.state.userauths.find(two).await.unwrap().is_some());
}

#[tokio::test]
async fn started_with_only_a_wrong_key_the_application_refuses_to_build_with_a_clear_error() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &b64(&A))]).await;
    app.connect_child().await;

    let wrong = Application::build(app.peer_settings(&[("TOKEN_ENCRYPTION_KEY", &b64(&B))])).await;
    let error = wrong.err().expect("a wrong key is refused");
    assert!(matches!(error, StartupError::WrongTokenKeys { sealed: 2 }), "{error}");
    let text = error.to_string();
    assert!(text.contains("TOKEN_ENCRYPTION_KEY") && text.contains("TOKEN_ENCRYPTION_KEYS_PREVIOUS"), "{text}");
    assert!(!text.contains(&b64(&A)) && !text.contains(&b64(&B)), "{text}");

    let none = Application::build(app.peer_settings(&[("TOKEN_ENCRYPTION_KEY", "")])).await;
    let error = none.err().expect("no key at all is refused when sealed tokens are stored");
    assert!(matches!(error, StartupError::MissingTokenKey { .. }), "{error}");
    assert!(error.to_string().contains("TOKEN_ENCRYPTION_KEY"), "{error}");

    let rotating =
        app.peer_settings(&[("TOKEN_ENCRYPTION_KEY", &b64(&B)), ("TOKEN_ENCRYPTION_KEYS_PREVIOUS", &b64(&A))]);
    assert!(Application::build(rotating).await.is_ok(), "the old key as a previous one is enough");
}

#[tokio::test]
async fn a_revocation_that_cannot_be_decrypted_is_kept_and_counted() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &b64(&B))]).await;
    let (lost, _) = insert_revocation(&app, A).await;
    let counted = metric(&app, "ds_agent_revocations_undecryptable_total").await;

    let settled = app.state.revocations.retry_due(Utc::now()).await.unwrap();
    assert_eq!(settled, 0, "not settled: neither revoked nor given up");
    let entry = app.store.collection("revocations").find_one(doc! {"_id": lost}).await.unwrap();
    let entry = entry.expect("the revocation is kept");
    assert_eq!(entry.get_i32("attempts").unwrap(), 1, "no attempt counted: it was not tried");
    let next = entry.get_datetime("next_attempt_at").unwrap().timestamp_millis();
    assert!(next > Utc::now().timestamp_millis() + 3600 * 1000, "tried again hours later, with the keys of then");
    assert!(metric(&app, "ds_agent_revocations_undecryptable_total").await > counted);

    // Once the key that sealed it is configured, it is revoked and goes.
    let fixed = app.spawn_peer(&[("TOKEN_ENCRYPTION_KEYS_PREVIOUS", &b64(&A))]).await;
    let due = doc! {"$set": {"next_attempt_at": Bson::DateTime(mongodb::bson::DateTime::now())}};
    app.store.collection("revocations").update_one(doc! {"_id": lost}, due).await.unwrap();
    assert_eq!(fixed.state.revocations.retry_due(Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 1);
    assert!(app.store.collection("revocations").find_one(doc! {"_id": lost}).await.unwrap().is_none());
}

#[tokio::test]
async fn a_user_delete_event_that_keeps_failing_ends_on_the_dead_letter_queue() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &b64(&A))]).await;
    let (child, _) = app.connect_child().await;
    let (other, _) = app.connect_child().await;
    // The child's access token replaced by another child's: no key opens it, every handling fails.
    let foreign = stored(&app, other).await.get_str("access_token").unwrap().to_string();
    let update = doc! {"$set": {"fitbit.access_token": &foreign}};
    app.store.collection("userauths").update_one(doc! {"user_id": child.object_id()}, update).await.unwrap();
    let dead_lettered = metric(&app, "ds_agent_user_delete_dead_lettered_total").await;

    let connection = Connection::connect(BROKER, ConnectionProperties::default()).await.unwrap();
    let queue = app.state.settings.user_delete_queue.clone();
    let dead_letter = ds_agent::bus::dead_letter_queue(&queue);
    let passive = QueueDeclareOptions { passive: true, ..Default::default() };
    assert!(subscribed(&connection, &queue).await, "the service subscribed");
    let body = user_delete_event(&child.to_string());
    publish_user_delete(&connection, &body).await;
    let channel = connection.create_channel().await.unwrap();

    // Five handlings 2 s apart, then parked.
    let parked = eventually(Duration::from_secs(90), || async {
        let channel = connection.create_channel().await.unwrap();
        channel.queue_declare(&dead_letter, passive, FieldTable::default()).await.is_ok_and(|q| q.message_count() == 1)
    })
    .await;
    assert!(parked, "the message is on {dead_letter}");
    let message = channel.basic_get(&dead_letter, BasicGetOptions { no_ack: true }).await.unwrap().unwrap();
    assert_eq!(message.delivery.data, body.as_bytes(), "the original body");
    let attempts =
        message.delivery.properties.headers().as_ref().unwrap().inner()[ds_agent::bus::FAILED_ATTEMPTS_HEADER].clone();
    assert_eq!(attempts, AMQPValue::LongLongInt(ds_agent::bus::MAX_USER_DELETE_ATTEMPTS));
    let state = channel.queue_declare(&queue, passive, FieldTable::default()).await.unwrap();
    assert_eq!(state.message_count(), 0, "not requeued any more");
    assert!(metric(&app, "ds_agent_user_delete_dead_lettered_total").await > dead_lettered);
    let record = stored(&app, child).await;
    assert_eq!(record.get_str("access_token").unwrap(), foreign, "nothing of the child was deleted");
}

#[tokio::test]
async fn a_refresh_that_read_before_a_reseal_still_writes_its_new_tokens() {
    let app = spawn_app_with(&[("TOKEN_ENCRYPTION_KEY", &b64(&B)), ("TOKEN_ENCRYPTION_KEYS_PREVIOUS", &b64(&A))]).await;
    let child = ChildId::from(ObjectId::new());
    let cipher_a = TokenCipher::new(Some(A), &[]);
    let record = doc! {
        "user_id": child.object_id(),
        "fitbit": {"access_token": cipher_a.seal("old-access", &Aad::userauths(child, "access_token")),
                   "refresh_token": cipher_a.seal("old-refresh", &Aad::userauths(child, "refresh_token")),
                   "expires_in": 1, "scope": "ract", "token_type": "Bearer", "status": "valid_token"},
    };
    app.store.collection("userauths").insert_one(record).await.unwrap();
    // A refresh reads the record under A ...
    let read = app.state.userauths.find(child).await.unwrap().unwrap();
    // ... the re-seal rewrites it under B meanwhile ...
    let cipher = TokenCipher::from_settings(&app.state.settings);
    ds_agent::store::reseal_tokens(&app.store, &cipher, 10, |_| {}).await.unwrap();
    assert_ne!(stored(&app, child).await.get_str("refresh_token").unwrap(), read.stored_refresh_token);
    // ... and the refresh's new tokens (a Fitbit refresh token works once) are still written.
    let fresh = ds_agent::domain::ProviderAuth {
        access_token: "new-access".into(),
        refresh_token: "new-refresh".into(),
        ..read.auth.clone()
    };
    assert!(app.state.userauths.replace_tokens(child, &read, &fresh).await.unwrap(), "not lost to the re-seal");
    assert_eq!(app.state.userauths.find(child).await.unwrap().unwrap().auth.refresh_token, "new-refresh");
    // New tokens handed over meanwhile still win over a refresh that read the old ones.
    let stale = app.state.userauths.find(child).await.unwrap().unwrap();
    let other = ds_agent::domain::ProviderAuth { refresh_token: "posted".into(), ..fresh.clone() };
    app.state.userauths.save_authorization(child, &other).await.unwrap();
    assert!(!app.state.userauths.replace_tokens(child, &stale, &fresh).await.unwrap());
}
