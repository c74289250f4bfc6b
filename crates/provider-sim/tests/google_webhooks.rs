//! Google Health webhooks: subscribers of a Cloud project managed with a service-account token, the verification
//! handshake, and signed notifications of added data delivered (batched, retried) to a receiver that keeps
//! ds-agent's contract: 201 for a verification with the right `Authorization`, 401 without it, 204 for notifications.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Utc};
use common::google::*;
use common::*;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use provider_sim::{health_user_id, Simulator, GOOGLE_HEALTH_SCOPES};
use serde_json::{json, Value};
use tokio::sync::oneshot;

const PROJECT: &str = "123456789012";
const SECRET: &str = "Bearer 0123456789abcdef0123456789abcdef";
const SUBSCRIBER_TYPE: &str = "type.googleapis.com/google.devicesandservices.health.v4.Subscriber";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn is_verification(&self) -> bool {
        self.json().get("type").is_some_and(|t| t == "verification")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

struct Script {
    verification_status: u16,
    /// Statuses for the next notifications; 204 once it is empty.
    answers: Mutex<VecDeque<u16>>,
    hits: Mutex<Vec<Hit>>,
}

/// A webhook endpoint on 127.0.0.1, stopped when dropped.
struct Receiver {
    url: String,
    script: Arc<Script>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    /// ds-agent's contract: 201 to verifications, 204 to notifications, 401 without the secret.
    async fn start() -> Receiver {
        Receiver::scripted(201, &[]).await
    }

    async fn scripted(verification_status: u16, answers: &[u16]) -> Receiver {
        let script = Arc::new(Script {
            verification_status,
            answers: Mutex::new(answers.iter().copied().collect()),
            hits: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await.unwrap();
        });
        Receiver { url, script, _stop: stop }
    }

    fn hits(&self) -> Vec<Hit> {
        self.script.hits.lock().unwrap().clone()
    }

    fn verifications(&self) -> Vec<Hit> {
        self.hits().into_iter().filter(Hit::is_verification).collect()
    }

    fn notifications(&self) -> Vec<Hit> {
        self.hits().into_iter().filter(|hit| !hit.is_verification()).collect()
    }

    /// Waits for at least `count` notifications and returns them all.
    async fn await_notifications(&self, count: usize) -> Vec<Hit> {
        eventually(&format!("{count} notifications"), || Some(self.notifications()).filter(|n| n.len() >= count)).await
    }
}

async fn hook(State(script): State<Arc<Script>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let hit = Hit { headers, body };
    script.hits.lock().unwrap().push(hit.clone());
    if hit.header("authorization") != Some(SECRET) {
        return StatusCode::UNAUTHORIZED;
    }
    let status = if hit.is_verification() {
        script.verification_status
    } else {
        script.answers.lock().unwrap().pop_front().unwrap_or(204)
    };
    StatusCode::from_u16(status).unwrap()
}

/// Polls `probe` until it gives a value; a generous deadline, so a loaded machine only makes it slower.
async fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A service account's JWT, signature not checked by the simulator.
fn assertion() -> String {
    let part = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let claims = json!({
        "iss": "ds-agent@ocariot.iam.gserviceaccount.com",
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        "aud": "https://oauth2.googleapis.com/token",
        "iat": 1_700_000_000,
        "exp": 1_700_003_600,
    });
    format!("{}.{}.{}", part(json!({"alg": "RS256", "typ": "JWT"})), part(claims), URL_SAFE_NO_PAD.encode("sig"))
}

async fn service_token(sim: &Simulator) -> String {
    let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &assertion())];
    let response = client().post(format!("{}/token", sim.base_url())).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!((body["expires_in"].clone(), body["token_type"].clone()), (json!(3599), json!("Bearer")), "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

fn subscribers_url(sim: &Simulator, project: &str) -> String {
    format!("{}/v4/projects/{project}/subscribers", sim.base_url())
}

fn subscriber_body(endpoint: &str, data_types: &[&str]) -> Value {
    json!({
        "endpointUri": endpoint,
        "subscriberConfigs": [{"dataTypes": data_types, "subscriptionCreatePolicy": "AUTOMATIC"}],
        "endpointAuthorization": {"secret": SECRET},
    })
}

async fn create(sim: &Simulator, token: &str, id: &str, endpoint: &str, data_types: &[&str]) -> reqwest::Response {
    client()
        .post(subscribers_url(sim, PROJECT))
        .query(&[("subscriberId", id)])
        .bearer_auth(token)
        .json(&subscriber_body(endpoint, data_types))
        .send()
        .await
        .unwrap()
}

/// A simulator with one ACTIVE subscriber of `data_types` at the receiver.
async fn subscribed(receiver: &Receiver, data_types: &[&str]) -> Simulator {
    let sim = start().await;
    let token = service_token(&sim).await;
    let response = create(&sim, &token, "ds-agent", &receiver.url, data_types).await;
    assert_eq!(response.status(), 200);
    sim
}

/// A whole minute a few hours ago, so that its civil day at -03:00 may differ from its UTC day.
fn recent_minute() -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    DateTime::from_timestamp(now / 60 * 60 - 5 * 3600, 0).unwrap()
}

/// `(field, value)` pairs of a protobuf message: varints, and length-delimited fields as bytes.
fn proto_fields(mut bytes: &[u8]) -> Vec<(u64, Result<u64, Vec<u8>>)> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let byte = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
            shift += 7;
        }
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let tag = varint(&mut bytes);
        match tag & 7 {
            0 => fields.push((tag >> 3, Ok(varint(&mut bytes)))),
            2 => {
                let length = varint(&mut bytes) as usize;
                fields.push((tag >> 3, Err(bytes[..length].to_vec())));
                bytes = &bytes[length..];
            }
            other => panic!("unexpected wire type {other}"),
        }
    }
    fields
}

/// A big-endian coordinate, leading zero bytes tolerated, as 32 bytes.
fn coordinate(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    assert!(trimmed.len() <= 32, "a P-256 coordinate");
    [vec![0; 32 - trimmed.len()], trimmed].concat()
}

/// The keyset's keys: `(id, status, key)`, each `EcdsaPublicKey` decoded by hand; also the primary key id.
async fn keyset(sim: &Simulator) -> (u64, Vec<(u64, String, VerifyingKey)>) {
    let response = client().get(sim.google_webhook_keyset_url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let keyset = json(response).await;
    let keys = keyset["key"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| {
            assert_eq!(key["outputPrefixType"], "TINK");
            assert_eq!(key["keyData"]["typeUrl"], "type.googleapis.com/google.crypto.tink.EcdsaPublicKey");
            assert_eq!(key["keyData"]["keyMaterialType"], "ASYMMETRIC_PUBLIC");
            let proto = STANDARD.decode(key["keyData"]["value"].as_str().unwrap()).unwrap();
            let (mut x, mut y) = (None, None);
            for (field, value) in proto_fields(&proto) {
                match (field, value) {
                    (1, Ok(version)) => assert_eq!(version, 0),
                    (2, Err(params)) => {
                        let params: Vec<_> = proto_fields(&params);
                        assert_eq!(params, vec![(1, Ok(3)), (2, Ok(2)), (3, Ok(2))], "SHA256, NIST_P256, DER");
                    }
                    (3, Err(bytes)) => x = Some(coordinate(&bytes)),
                    (4, Err(bytes)) => y = Some(coordinate(&bytes)),
                    other => panic!("unexpected field {other:?}"),
                }
            }
            let sec1 = [vec![0x04], x.unwrap(), y.unwrap()].concat();
            let id = key["keyId"].as_u64().unwrap();
            (id, key["status"].as_str().unwrap().to_string(), VerifyingKey::from_sec1_bytes(&sec1).unwrap())
        })
        .collect();
    (keyset["primaryKeyId"].as_u64().unwrap(), keys)
}

/// The key id and DER signature of a signature header.
fn signature_parts(header: &str) -> (u64, Signature) {
    let bytes = STANDARD.decode(header).unwrap();
    assert_eq!(bytes[0], 0x01, "the TINK prefix");
    let id = u32::from_be_bytes(bytes[1..5].try_into().unwrap());
    (u64::from(id), Signature::from_der(&bytes[5..]).unwrap())
}

/// Checks the hit's signature against the keyset's key of the id it names; that id.
async fn verify_signature(sim: &Simulator, hit: &Hit, header: &str) -> u64 {
    let (id, signature) = signature_parts(hit.header(header).expect("a signature header"));
    let (_, keys) = keyset(sim).await;
    let (_, status, key) = keys.iter().find(|(key_id, _, _)| *key_id == id).expect("the key is in the keyset");
    assert_eq!(status, "ENABLED");
    key.verify(&hit.body, &signature).expect("the signature verifies over the exact body");
    id
}

#[tokio::test]
async fn the_keyset_decodes_and_verifies_the_signature_of_a_delivered_notification() {
    let receiver = Receiver::start().await;
    let sim = subscribed(&receiver, &["exercise"]).await;
    let (primary, keys) = keyset(&sim).await;
    assert_eq!(keys.len(), 1);
    assert_eq!((keys[0].0, keys[0].1.as_str()), (primary, "ENABLED"));

    sim.add_google_exercise(USER, recent_minute(), 30, 3000);
    let hit = receiver.await_notifications(1).await.remove(0);
    assert_eq!(verify_signature(&sim, &hit, "google-health-api-signature").await, primary);
    assert_eq!(hit.header("authorization"), Some(SECRET));
    assert_eq!(hit.header("content-type"), Some("application/json"));
    assert_eq!(hit.header("user-agent"), Some("Google-Health-API-Webhooks"));
    // The handle signs as deliveries do.
    let (id, signature) = signature_parts(&sim.sign_google_notification(&hit.body));
    assert_eq!(id, primary);
    keys[0].2.verify(&hit.body, &signature).unwrap();
}

#[tokio::test]
async fn a_verified_endpoint_becomes_an_active_subscriber() {
    let receiver = Receiver::start().await;
    let sim = start().await;
    let token = service_token(&sim).await;
    let response = create(&sim, &token, "ds-agent", &receiver.url, &["exercise", "sleep"]).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains(SECRET), "the secret is input only: {text}");
    let subscriber = &serde_json::from_str::<Value>(&text).unwrap()["response"];
    let name = format!("projects/{PROJECT}/subscribers/ds-agent");
    assert_eq!(subscriber["name"], name);
    assert_eq!(subscriber["state"], "ACTIVE");
    assert_eq!(subscriber["endpointUri"], receiver.url);
    assert_eq!(subscriber["endpointAuthorization"], json!({"secretSet": true}));
    assert_eq!(subscriber["subscriberConfigs"][0]["dataTypes"], json!(["exercise", "sleep"]));
    assert!(subscriber["createTime"].as_str().unwrap().ends_with('Z'));

    // The handshake: with the secret (201), then without it (401).
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits.iter().all(Hit::is_verification));
    assert_eq!(hits[0].header("authorization"), Some(SECRET));
    assert_eq!(hits[0].header("user-agent"), Some("Google-Health-API-Webhooks-Verifier"));
    assert_eq!(hits[0].header("content-type"), Some("application/json"));
    assert_eq!(hits[1].header("authorization"), None);

    assert_eq!(sim.google_subscribers().len(), 1);
    assert_eq!(sim.google_subscribers()[0]["state"], "ACTIVE");
    // v4 publishes no get of one subscriber: the list is the way to read it.
    let got = client().get(format!("{}/ds-agent", subscribers_url(&sim, PROJECT))).bearer_auth(&token).send().await;
    assert_eq!(status(got.unwrap()).await, (404, "NOT_FOUND".to_string(), String::new()));
    let listed = client().get(subscribers_url(&sim, PROJECT)).bearer_auth(&token).send().await.unwrap();
    let listed = json(listed).await;
    assert_eq!((listed["totalSize"].clone(), listed["subscribers"][0]["name"].clone()), (json!(1), json!(name)));

    let again = create(&sim, &token, "ds-agent", &receiver.url, &["exercise"]).await;
    assert_eq!(status(again).await.1, "ALREADY_EXISTS");
    assert_eq!(receiver.hits().len(), 2, "no handshake for an id in use");
}

#[tokio::test]
async fn an_endpoint_answering_200_to_verification_is_refused() {
    let receiver = Receiver::scripted(200, &[]).await;
    let sim = start().await;
    let token = service_token(&sim).await;
    let response = create(&sim, &token, "ds-agent", &receiver.url, &["exercise"]).await;
    assert_eq!(status(response).await, (400, "FAILED_PRECONDITION".to_string(), String::new()));
    assert!(sim.google_subscribers().is_empty());
    let listed = client().get(subscribers_url(&sim, PROJECT)).bearer_auth(&token).send().await;
    assert_eq!(json(listed.unwrap()).await, json!({}));

    // Nobody listening fails the same way.
    let closed = "http://127.0.0.1:9/hook";
    assert_eq!(status(create(&sim, &token, "closed", closed, &["exercise"]).await).await.1, "FAILED_PRECONDITION");
}

#[tokio::test]
async fn project_routes_want_a_service_account_and_a_project_number() {
    let sim = start().await;
    let url = subscribers_url(&sim, PROJECT);
    let anonymous = client().get(&url).send().await.unwrap();
    assert_eq!(status(anonymous).await, (401, "UNAUTHENTICATED".to_string(), "CREDENTIALS_MISSING".to_string()));
    let unknown = client().get(&url).bearer_auth("ya29.unknown").send().await.unwrap();
    assert_eq!(status(unknown).await.1, "UNAUTHENTICATED");
    let user = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3600).access_token;
    let as_user = client().get(&url).bearer_auth(&user).send().await.unwrap();
    assert_eq!(status(as_user).await.1, "PERMISSION_DENIED");

    let token = service_token(&sim).await;
    let by_id = client()
        .post(subscribers_url(&sim, "ocariot-sync"))
        .bearer_auth(&token)
        .json(&subscriber_body("https://sync.example.org/hook", &["exercise"]))
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.status(), 403);
    assert_eq!(json(by_id).await["error"]["message"], "The caller does not have permission");
    let empty = json(client().get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(empty, json!({}));

    let bad = client()
        .post(format!("{}/token", sim.base_url()))
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", "not.a-jwt")])
        .send()
        .await
        .unwrap();
    assert_eq!((bad.status().as_u16(), json(bad).await["error"].clone()), (400, json!("invalid_grant")));
    for (id, body) in [
        ("Bad_Id", subscriber_body("https://x.example/h", &["exercise"])),
        ("ok-id", subscriber_body("ftp://x.example/h", &["exercise"])),
        ("ok-id", subscriber_body("https://x.example/h", &["body_fat"])),
        ("ok-id", json!({"endpointUri": "https://x.example/h", "subscriberConfigs": [{"dataTypes": ["sleep"]}]})),
    ] {
        let response =
            client().post(&url).query(&[("subscriberId", id)]).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(status(response).await.1, "INVALID_ARGUMENT", "{id} {body}");
    }
}

#[tokio::test]
async fn create_and_delete_answer_an_operation_or_directly() {
    let receiver = Receiver::start().await;
    let sim = start().await;
    let token = service_token(&sim).await;
    let operation = json(create(&sim, &token, "first", &receiver.url, &["sleep"]).await).await;
    assert!(operation["name"].as_str().unwrap().starts_with(&format!("projects/{PROJECT}/operations/")));
    assert_eq!(operation["done"], true);
    assert_eq!(operation["response"]["@type"], SUBSCRIBER_TYPE);
    assert_eq!(operation["response"]["name"], format!("projects/{PROJECT}/subscribers/first"));

    let config = client()
        .put(format!("{}/__admin/config", sim.base_url()))
        .json(&json!({"google_subscriber_direct_answer": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(config).await["google_subscriber_direct_answer"], true);
    let direct = json(create(&sim, &token, "second", &receiver.url, &["sleep"]).await).await;
    assert_eq!(direct["name"], format!("projects/{PROJECT}/subscribers/second"));
    assert!(direct.get("done").is_none() && direct.get("response").is_none(), "{direct}");

    let delete = |id: &str| client().delete(format!("{}/{id}", subscribers_url(&sim, PROJECT))).bearer_auth(&token);
    assert_eq!(json(delete("second").send().await.unwrap()).await, json!({}));
    sim.set_google_subscriber_direct_answer(false);
    let deleted = json(delete("first").send().await.unwrap()).await;
    assert_eq!(deleted["response"], json!({"@type": "type.googleapis.com/google.protobuf.Empty"}));
    assert_eq!(status(delete("first").send().await.unwrap()).await.1, "NOT_FOUND");
    assert!(sim.google_subscribers().is_empty());
}

#[tokio::test]
async fn an_added_exercise_is_notified_once_in_an_array_and_then_listed() {
    let exercise_receiver = Receiver::start().await;
    let sleep_receiver = Receiver::start().await;
    let sim = subscribed(&exercise_receiver, &["exercise"]).await;
    let token = service_token(&sim).await;
    assert_eq!(create(&sim, &token, "sleep-only", &sleep_receiver.url, &["sleep"]).await.status(), 200);

    let start = recent_minute();
    let name = sim.add_google_exercise(USER, start, 30, 3000);
    assert!(name.starts_with(&format!("users/{}/dataTypes/exercise/dataPoints/", health_user_id(USER))), "{name}");
    let hit = exercise_receiver.await_notifications(1).await.remove(0);
    let body = hit.json();
    let notifications = body.as_array().expect("a JSON array");
    assert_eq!(notifications.len(), 1);
    let data = &notifications[0]["data"];
    assert_eq!(data["healthUserId"], health_user_id(USER));
    assert_eq!(data["dataType"], "exercise");
    assert_eq!(data["operation"], "UPSERT");
    assert_eq!(data["version"], "1");
    assert_eq!(data["clientProvidedSubscriptionName"].as_str().unwrap().len(), 36);
    let end = start + chrono::Duration::minutes(30);
    let (civil_start, civil_end) =
        ((start - chrono::Duration::hours(3)).naive_utc(), (end - chrono::Duration::hours(3)).naive_utc());
    let interval = &data["intervals"][0];
    assert_eq!(
        interval["physicalTimeInterval"],
        json!({"startTime": start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
               "endTime": end.format("%Y-%m-%dT%H:%M:%SZ").to_string()})
    );
    assert_eq!(
        interval["civilIso8601TimeInterval"],
        json!({"startTime": civil_start.format("%Y-%m-%dT%H:%M:%S").to_string(),
               "endTime": civil_end.format("%Y-%m-%dT%H:%M:%S").to_string()})
    );
    let civil_date = &interval["civilDateTimeInterval"]["startDateTime"]["date"];
    assert_eq!(civil_date, &civil_date_of(civil_start.date()));
    verify_signature(&sim, &hit, "google-health-api-signature").await;
    assert!(hit.header("x-healthapi-signature").is_none(), "the name v4's protos give since July 2026, alone");

    // One attempt, answered 204, and nothing for the sleep subscriber, even after a while.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(exercise_receiver.notifications().len(), 1);
    assert!(sleep_receiver.notifications().is_empty());
    let deliveries = sim.google_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!((deliveries[0].attempt, deliveries[0].status), (1, Some(204)));
    assert_eq!(deliveries[0].subscriber, format!("projects/{PROJECT}/subscribers/ds-agent"));
    assert_eq!(deliveries[0].body.as_bytes(), &hit.body[..]);

    let user = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3600).access_token;
    let day = civil_start.date();
    let filter = between("exercise.interval.civil_start_time", day, day + chrono::Duration::days(1));
    let (points, _) = walk(&sim, &user, "exercise", &[("filter", &filter)]).await;
    let added = points.iter().find(|p| p["name"] == name).expect("list serves the added exercise");
    assert_eq!(added["exercise"]["metricsSummary"]["steps"], "3000");
    assert_eq!(added["exercise"]["exerciseType"], "WALKING");
    let starts: Vec<&str> = points.iter().map(|p| p["exercise"]["interval"]["startTime"].as_str().unwrap()).collect();
    assert!(starts.windows(2).all(|pair| pair[0] >= pair[1]), "newest first: {starts:?}");
    let reconciled = json(reconcile(&sim, &user, "exercise", &[("filter", &filter)]).await).await;
    let reconciled = reconciled["dataPoints"].as_array().unwrap();
    assert!(reconciled.iter().any(|p| p["dataPointName"] == name), "reconcile serves it too");
}

fn civil_date_of(day: chrono::NaiveDate) -> Value {
    civil_date(day)["date"].clone()
}

#[tokio::test]
async fn notifications_raised_together_go_out_as_one_array() {
    let receiver = Receiver::start().await;
    let sim = subscribed(&receiver, &["sleep", "steps"]).await;
    sim.set_google_notification_batch_ms(300);
    let (start, end) = (recent_minute(), recent_minute() + chrono::Duration::hours(1));
    assert_eq!(sim.notify_google(USER, "sleep", start, end, "UPSERT"), 1);
    assert_eq!(sim.notify_google(USER, "steps", start, end, "DELETE"), 1);
    assert_eq!(sim.notify_google(USER, "weight", start, end, "UPSERT"), 0, "not subscribed");
    let body = receiver.await_notifications(1).await[0].json();
    let types: Vec<_> = body.as_array().unwrap().iter().map(|n| n["data"]["dataType"].clone()).collect();
    assert_eq!(types, vec![json!("sleep"), json!("steps")]);
    assert_eq!(body[1]["data"]["operation"], "DELETE");
}

#[tokio::test]
async fn the_single_switch_sends_objects_under_the_older_header_name() {
    let receiver = Receiver::start().await;
    let sim = subscribed(&receiver, &["sleep"]).await;
    let config = client()
        .put(format!("{}/__admin/config", sim.base_url()))
        .json(&json!({"google_notifications_single": true, "google_signature_header": "X-HEALTHAPI-SIGNATURE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 200);
    for _ in 0..2 {
        let notify = client()
            .post(format!("{}/__admin/google/notify", sim.base_url()))
            .json(&json!({"user": USER, "dataType": "sleep", "start": "2026-11-19T22:00:00Z",
                          "end": "2026-11-20T06:30:00Z"}))
            .send()
            .await
            .unwrap();
        assert_eq!(json(notify).await, json!({"notified": 1}));
    }
    let hits = receiver.await_notifications(2).await;
    for hit in &hits {
        let body = hit.json();
        assert!(body.is_object(), "{body}");
        assert_eq!(body["data"]["dataType"], "sleep");
        assert_eq!(body["data"]["operation"], "UPSERT");
        assert_eq!(body["data"]["intervals"][0]["civilIso8601TimeInterval"]["endTime"], "2026-11-20T06:30:00");
        assert!(hit.header("google-health-api-signature").is_none());
        verify_signature(&sim, hit, "x-healthapi-signature").await;
    }
    assert_ne!(
        hits[0].json()["data"]["clientProvidedSubscriptionName"],
        hits[1].json()["data"]["clientProvidedSubscriptionName"]
    );
}

#[tokio::test]
async fn an_answer_of_200_is_retried_until_204() {
    let receiver = Receiver::scripted(201, &[200]).await;
    let sim = subscribed(&receiver, &["exercise"]).await;
    sim.set_google_notification_retry_base_ms(50);
    sim.add_google_exercise(USER, recent_minute(), 20, 2000);
    let hits = receiver.await_notifications(2).await;
    assert_eq!(hits[0].body, hits[1].body, "the same batch again");
    let deliveries =
        eventually("two recorded attempts", || Some(sim.google_deliveries()).filter(|d| d.len() >= 2)).await;
    let outcomes: Vec<_> = deliveries.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(outcomes, vec![(1, Some(200)), (2, Some(204))]);
    assert!(deliveries[1].at.duration_since(deliveries[0].at) >= Duration::from_millis(50), "after the backoff");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.notifications().len(), 2, "no retry after a 204");
}

#[tokio::test]
async fn a_rotated_key_signs_and_both_keys_stay_listed() {
    let receiver = Receiver::start().await;
    let sim = subscribed(&receiver, &["weight"]).await;
    let (start, end) = (recent_minute(), recent_minute());
    let old = sim.google_webhook_key_id();
    sim.notify_google(USER, "weight", start, end, "UPSERT");
    let first = receiver.await_notifications(1).await.remove(0);
    assert_eq!(verify_signature(&sim, &first, "google-health-api-signature").await, u64::from(old));

    let rotated = client().post(format!("{}/__admin/google/webhooks/rotate-key", sim.base_url())).send().await;
    let rotated = json(rotated.unwrap()).await;
    let new = rotated["primaryKeyId"].as_u64().unwrap();
    assert_ne!(new, u64::from(old));
    assert_eq!(rotated["keyIds"], json!([old, new]));
    sim.notify_google(USER, "weight", start, end, "UPSERT");
    let second = receiver.await_notifications(2).await.remove(1);
    assert_eq!(verify_signature(&sim, &second, "google-health-api-signature").await, new);

    let (primary, keys) = keyset(&sim).await;
    assert_eq!(primary, new);
    let listed: Vec<_> = keys.iter().map(|(id, status, _)| (*id, status.clone())).collect();
    assert_eq!(listed, vec![(u64::from(old), "ENABLED".to_string()), (new, "ENABLED".to_string())]);
    sim.set_google_webhook_key_retired(true);
    let (_, keys) = keyset(&sim).await;
    assert_eq!((keys[0].1.as_str(), keys[1].1.as_str()), ("DISABLED", "ENABLED"));
}

#[tokio::test]
async fn a_patched_endpoint_is_verified_again_and_gets_the_notifications() {
    let first = Receiver::start().await;
    let second = Receiver::start().await;
    let failing = Receiver::scripted(204, &[]).await;
    let sim = subscribed(&first, &["sleep"]).await;
    let token = service_token(&sim).await;
    let patch = |endpoint: &str| {
        client()
            .patch(format!("{}/ds-agent", subscribers_url(&sim, PROJECT)))
            .query(&[("updateMask", "endpointUri")])
            .bearer_auth(&token)
            .json(&json!({"endpointUri": endpoint}))
    };
    let refused = patch(&failing.url).send().await.unwrap();
    assert_eq!(status(refused).await.1, "FAILED_PRECONDITION");
    assert_eq!(sim.google_subscribers()[0]["endpointUri"], first.url, "unchanged");
    let patched = json(patch(&second.url).send().await.unwrap()).await;
    assert_eq!(patched["response"]["endpointUri"], second.url);
    assert_eq!(second.verifications().len(), 2);
    sim.notify_google(USER, "sleep", recent_minute(), recent_minute(), "UPSERT");
    second.await_notifications(1).await;
    assert!(first.notifications().is_empty());
}

#[tokio::test]
async fn a_shutdown_does_not_wait_for_pending_retries() {
    let receiver = Receiver::scripted(201, &[500; 10]).await;
    let sim = subscribed(&receiver, &["exercise"]).await;
    sim.set_google_notification_retry_base_ms(60_000);
    sim.add_google_exercise(USER, recent_minute(), 10, 1000);
    receiver.await_notifications(1).await;
    eventually("a recorded attempt", || sim.google_deliveries().first().map(|d| d.status)).await;
    tokio::time::timeout(Duration::from_secs(20), sim.shutdown_and_wait()).await.expect("the shutdown returns");
}

#[tokio::test]
async fn admin_routes_add_exercises_and_show_deliveries_and_subscribers() {
    let receiver = Receiver::start().await;
    let sim = subscribed(&receiver, &["exercise"]).await;
    let admin = |path: &str| format!("{}/__admin/google/{path}", sim.base_url());
    let start = recent_minute().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let added = client()
        .post(admin(&format!("users/{USER}/exercises")))
        .json(&json!({"start": start, "minutes": 45, "steps": 0, "exerciseType": "RUNNING"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let name = json(added).await["name"].as_str().unwrap().to_string();
    receiver.await_notifications(1).await;
    let deliveries =
        eventually("a recorded delivery", || Some(sim.google_deliveries()).filter(|d| !d.is_empty())).await;
    let listed = json(client().get(admin("deliveries")).send().await.unwrap()).await;
    assert_eq!(listed["deliveries"][0]["status"], 204);
    assert_eq!(listed["deliveries"][0]["body"], deliveries[0].body);
    let subscribers = json(client().get(admin("webhooks/subscribers")).send().await.unwrap()).await;
    assert_eq!(subscribers["subscribers"][0]["name"], format!("projects/{PROJECT}/subscribers/ds-agent"));

    let user = sim.issue_google_tokens(USER, GOOGLE_HEALTH_SCOPES, 3600).access_token;
    let (points, _) = walk(&sim, &user, "exercise", &[]).await;
    let point = points.iter().find(|p| p["name"] == name).expect("the added run");
    assert_eq!(point["exercise"]["displayName"], "Run");
    assert!(point["exercise"]["metricsSummary"].get("steps").is_none(), "proto3 leaves zero steps out");

    for bad in
        [json!({"minutes": 10}), json!({"start": start, "minutes": 0}), json!({"start": start, "minutes": 5, "x": 1})]
    {
        let response = client().post(admin(&format!("users/{USER}/exercises"))).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
    let unknown = json!({"user": USER, "dataType": "body_fat", "start": start, "end": start});
    assert_eq!(client().post(admin("notify")).json(&unknown).send().await.unwrap().status(), 400);
}

/// With pending operations, create, patch and delete answer an operation that is not done and change the subscriber a
/// second later; there is no route to poll the operation, and the list shows the outcome.
#[tokio::test]
async fn pending_operations_change_the_subscriber_later_and_cannot_be_polled() {
    let receiver = Receiver::start().await;
    let sim = start().await;
    sim.set_google_operations_pending(true);
    let token = service_token(&sim).await;
    let operation = json(create(&sim, &token, "later", &receiver.url, &["sleep"]).await).await;
    let name = operation["name"].as_str().unwrap().to_string();
    assert!(name.starts_with(&format!("projects/{PROJECT}/operations/")), "{operation}");
    assert!(operation.get("done").is_none() && operation.get("response").is_none(), "{operation}");
    assert_eq!(
        operation["metadata"]["@type"],
        "type.googleapis.com/google.devicesandservices.health.v4.CreateSubscriberMetadata"
    );
    assert!(sim.google_subscribers().is_empty(), "not yet");
    let poll = client().get(format!("{}/v4/{name}", sim.base_url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(status(poll).await.1, "NOT_FOUND");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sim.google_subscribers().len(), 1, "carried out");
    assert_eq!(receiver.hits().len(), 2, "the handshake ran");

    let url = format!("{}/later", subscribers_url(&sim, PROJECT));
    let patched = client()
        .patch(format!("{url}?updateMask=subscriberConfigs"))
        .bearer_auth(&token)
        .json(&subscriber_body(&receiver.url, &["sleep", "steps"]))
        .send()
        .await
        .unwrap();
    assert!(json(patched).await.get("done").is_none());
    let deleted = json(client().delete(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert!(deleted["metadata"]["@type"].as_str().unwrap().ends_with("DeleteSubscriberMetadata"), "{deleted}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(sim.google_subscribers().is_empty(), "deleted after the patch");

    let requests = sim.google_project_requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.split(' ').next().unwrap()).collect();
    assert_eq!(methods, ["POST", "GET", "PATCH", "DELETE"], "{requests:?}");
    assert!(requests[0].contains("/v4/projects/") && requests[0].contains("subscriberId=later"), "{requests:?}");
}
