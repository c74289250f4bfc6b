//! `ds-agent google-subscriber create|show|delete`: the operator's side of notifications. With a service account
//! (`GOOGLE_APPLICATION_CREDENTIALS`, else Application Default Credentials), it registers the endpoint
//! (`GOOGLE_NOTIFICATION_URL`) and its secret with Google for the data types the sync reads, on the AUTOMATIC policy,
//! and prints the subscriber's state. It calls only the four methods Google's v4 `DataSubscriptionService` publishes
//! for subscribers: create, list, update (PATCH) and delete (docs/notifications.md#registering-the-subscriber). There is no get, so `show` finds the subscriber in the
//! list; and no route to poll a long-running Operation, so an Operation that is not done yet is followed in the list
//! until the change shows (docs/consumer-and-google-facts.md). Google may also answer with the subscriber itself:
//! both are read. The secret is sent, never printed.

use std::sync::Arc;
use std::time::Duration;

use gcp_auth::{CustomServiceAccount, TokenProvider};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::config::Settings;
use crate::provider::google::SYNCED_TYPES;

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// How long an Operation that is not done is followed in the list, and how often the list is read meanwhile.
const OPERATION_WAIT: Duration = Duration::from_secs(60);
const LIST_INTERVAL: Duration = Duration::from_secs(1);
/// The most subscribers a list page holds.
const PAGE_SIZE: &str = "1000";
/// The most of an answer read: a list of up to `PAGE_SIZE` subscribers of about 500 bytes each
/// (docs/operations.md#provider-answers-and-links).
const SUBSCRIBER_ANSWER_CAP: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SubscriberError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("usage: ds-agent google-subscriber create|show|delete")]
    Usage,
    #[error("service account: {0}")]
    Credentials(#[from] gcp_auth::Error),
    #[error("Google Health API: {0}")]
    Http(String),
    #[error("Google Health API answered {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("subscriber {0} not found")]
    NotFound(String),
}

/// Runs `action`; what it did goes to stdout.
pub async fn run(action: &str, settings: &Settings) -> Result<(), SubscriberError> {
    let subscriber = &settings.notifications.subscriber;
    let project = subscriber.project_number.as_deref().ok_or(SubscriberError::Missing("GOOGLE_PROJECT_NUMBER"))?;
    let client = Client::new(settings).await?;
    let id = subscriber.subscriber_id.as_str();
    let collection = settings.google_health_api_url.endpoint(&format!("v4/projects/{project}/subscribers"));
    let resource = settings.google_health_api_url.endpoint(&format!("v4/projects/{project}/subscribers/{id}"));
    let subscribers = Subscribers { client: &client, resource, collection, id };
    match action {
        "create" => {
            let endpoint =
                subscriber.endpoint_url.as_deref().ok_or(SubscriberError::Missing("GOOGLE_NOTIFICATION_URL"))?;
            let secret = settings
                .notifications
                .secret
                .as_ref()
                .map(ExposeSecret::expose_secret)
                .ok_or(SubscriberError::Missing("GOOGLE_NOTIFICATION_SECRET"))?;
            let body = json!({
                "endpointUri": endpoint,
                "subscriberConfigs": [{"dataTypes": SYNCED_TYPES, "subscriptionCreatePolicy": "AUTOMATIC"}],
                "endpointAuthorization": {"secret": secret},
            });
            let mut url = subscribers.collection.clone();
            url.query_pairs_mut().append_pair("subscriberId", id);
            let created = client.send(client.http.post(url).json(&body)).await;
            let shown = match created {
                // It exists: the same settings again, which also runs Google's endpoint check again (a new secret).
                Err(SubscriberError::Refused { status: 409, .. }) => {
                    println!("Subscriber {id} exists: updating it");
                    let before = subscribers.find().await?.ok_or_else(|| SubscriberError::NotFound(id.into()))?;
                    let mut url = subscribers.resource.clone();
                    url.query_pairs_mut()
                        .append_pair("updateMask", "endpointUri,subscriberConfigs,endpointAuthorization");
                    let answer = client.send(client.http.patch(url).json(&body)).await?;
                    let since = before.get("updateTime").cloned().unwrap_or(Value::Null);
                    subscribers.outcome(answer, Change::Updated { since }).await?
                }
                other => subscribers.outcome(other?, Change::Created).await?,
            };
            print_subscriber(&shown);
        }
        "show" => {
            let found = subscribers.find().await?.ok_or_else(|| SubscriberError::NotFound(id.into()))?;
            print_subscriber(&found);
        }
        "delete" => {
            let answer = client.send(client.http.delete(subscribers.resource.clone())).await?;
            subscribers.outcome(answer, Change::Deleted).await?;
            println!("Subscriber {id} deleted");
        }
        _ => return Err(SubscriberError::Usage),
    }
    Ok(())
}

/// What a create, update or delete was meant to do, to recognise in the list once its Operation is done.
enum Change {
    Created,
    /// The subscriber's `updateTime` before the update.
    Updated {
        since: Value,
    },
    Deleted,
}

/// The project's subscribers, and the one this deployment registers.
struct Subscribers<'a> {
    client: &'a Client,
    /// `…/v4/projects/{number}/subscribers`.
    collection: reqwest::Url,
    /// `…/subscribers/{id}`: the URL of update and delete (there is no get).
    resource: reqwest::Url,
    id: &'a str,
}

impl Subscribers<'_> {
    /// The subscriber, found in the project's list (every page), or `None`.
    async fn find(&self) -> Result<Option<Value>, SubscriberError> {
        let mut page_token = String::new();
        loop {
            let mut query = vec![("pageSize", PAGE_SIZE)];
            if !page_token.is_empty() {
                query.push(("pageToken", page_token.as_str()));
            }
            let page = self.client.send(self.client.http.get(self.collection.clone()).query(&query)).await?;
            let listed = page.get("subscribers").and_then(Value::as_array).cloned().unwrap_or_default();
            // Google names it `projects/{number or id}/subscribers/{id}`: the id tells.
            let mine = listed.into_iter().find(|subscriber| {
                let name = subscriber.get("name").and_then(Value::as_str).unwrap_or_default();
                name.rsplit('/').next() == Some(self.id)
            });
            if mine.is_some() {
                return Ok(mine);
            }
            match page.get("nextPageToken").and_then(Value::as_str).filter(|token| !token.is_empty()) {
                Some(next) => page_token = next.to_string(),
                None => return Ok(None),
            }
        }
    }

    /// The subscriber after `change` (`Null` after a delete), from Google's answer: the subscriber itself, a done
    /// Operation's `response` (or its `error`), or, for an Operation not done yet, the list once it shows the change.
    async fn outcome(&self, answer: Value, change: Change) -> Result<Value, SubscriberError> {
        let is_operation = answer.get("done").is_some()
            || answer.get("name").and_then(Value::as_str).is_some_and(|n| n.contains("/operations/"));
        if !is_operation {
            return Ok(answer);
        }
        if answer.get("done").and_then(Value::as_bool) == Some(true) {
            if let Some(error) = answer.get("error") {
                let message = error.get("message").and_then(Value::as_str).unwrap_or("no message").to_string();
                let status = error.get("code").and_then(Value::as_u64).unwrap_or(0) as u16;
                return Err(SubscriberError::Refused { status, message });
            }
            return Ok(answer.get("response").cloned().unwrap_or(Value::Null));
        }
        let operation = answer.get("name").and_then(Value::as_str).unwrap_or("?").to_string();
        println!("Google is still at it ({operation}); following the subscriber list");
        let deadline = tokio::time::Instant::now() + OPERATION_WAIT;
        loop {
            let found = self.find().await?;
            let done = match (&change, &found) {
                (Change::Created, Some(_)) | (Change::Deleted, None) => true,
                (Change::Updated { since }, Some(subscriber)) => subscriber.get("updateTime") != Some(since),
                _ => false,
            };
            if done {
                return Ok(found.unwrap_or(Value::Null));
            }
            if tokio::time::Instant::now() > deadline {
                return Err(SubscriberError::Http(format!(
                    "the operation {operation} did not show in the subscriber list within 60 s (a failed endpoint \
                     check shows nowhere); `ds-agent google-subscriber show` tells the state later"
                )));
            }
            tokio::time::sleep(LIST_INTERVAL).await;
        }
    }
}

struct Client {
    http: reqwest::Client,
    token: String,
}

impl Client {
    async fn new(settings: &Settings) -> Result<Self, SubscriberError> {
        let provider: Arc<dyn TokenProvider> = match std::env::var("GOOGLE_APPLICATION_CREDENTIALS") {
            Ok(path) if !path.is_empty() => Arc::new(CustomServiceAccount::from_file(path)?),
            _ => gcp_auth::provider().await?,
        };
        let token = provider.token(&[SCOPE]).await?.as_str().to_string();
        let http = crate::provider::transport::http_client(settings.provider_timeout);
        Ok(Client { http, token })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, SubscriberError> {
        let response =
            request.bearer_auth(&self.token).send().await.map_err(|e| SubscriberError::Http(e.to_string()))?;
        let status = response.status();
        let body = crate::provider::transport::read_capped(response, SUBSCRIBER_ANSWER_CAP).await;
        let body: Value = body.ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or(Value::Null);
        if status != StatusCode::OK {
            let message = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("no message").to_string();
            return Err(SubscriberError::Refused { status: status.as_u16(), message });
        }
        Ok(body)
    }
}

fn print_subscriber(subscriber: &Value) {
    let text = |key: &str| subscriber.get(key).and_then(Value::as_str).unwrap_or("?");
    let types: Vec<&str> = subscriber
        .pointer("/subscriberConfigs/0/dataTypes")
        .and_then(Value::as_array)
        .map(|types| types.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let secret_set = subscriber.pointer("/endpointAuthorization/secretSet").and_then(Value::as_bool).unwrap_or(false);
    println!("Subscriber {}", text("name"));
    println!("  state:        {}", text("state"));
    println!("  endpoint:     {}", text("endpointUri"));
    println!("  data types:   {}", types.join(", "));
    println!("  secret set:   {secret_set}");
}
