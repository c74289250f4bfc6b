//! `ds-agent google-subscriber create|show|delete`: the operator's side of notifications
//! (docs/notifications.md#registering-the-subscriber). With a service account (`GOOGLE_APPLICATION_CREDENTIALS`, else
//! Application Default Credentials), it registers the endpoint (`GOOGLE_NOTIFICATION_URL`) and its secret with Google
//! for the data types the sync reads, on the AUTOMATIC policy, and prints the subscriber's state. Google answers with a
//! long-running Operation or with the subscriber itself (Google's documentation says both; docs/google-health.md#gaps):
//! both are read. The secret is sent, never printed.

use std::sync::Arc;
use std::time::Duration;

use gcp_auth::{CustomServiceAccount, TokenProvider};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::config::Settings;
use crate::sync::SYNCED_TYPES;

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// How long an unfinished Operation is polled.
const OPERATION_WAIT: Duration = Duration::from_secs(60);

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
}

/// Runs `action`; what it did goes to stdout.
pub async fn run(action: &str, settings: &Settings) -> Result<(), SubscriberError> {
    let subscriber = &settings.notifications.subscriber;
    let project = subscriber.project_number.as_deref().ok_or(SubscriberError::Missing("GOOGLE_PROJECT_NUMBER"))?;
    let client = Client::new(settings).await?;
    let collection = format!("{}/v4/projects/{project}/subscribers", settings.google_health_api_url);
    let resource = format!("{collection}/{}", subscriber.subscriber_id);
    match action {
        "create" => {
            let endpoint =
                subscriber.endpoint_url.as_deref().ok_or(SubscriberError::Missing("GOOGLE_NOTIFICATION_URL"))?;
            let secret = settings
                .notifications
                .secret
                .as_deref()
                .ok_or(SubscriberError::Missing("GOOGLE_NOTIFICATION_SECRET"))?;
            let body = json!({
                "endpointUri": endpoint,
                "subscriberConfigs": [{"dataTypes": SYNCED_TYPES, "subscriptionCreatePolicy": "AUTOMATIC"}],
                "endpointAuthorization": {"secret": secret},
            });
            let url = format!("{collection}?subscriberId={}", subscriber.subscriber_id);
            let created = client.send(client.http.post(&url).json(&body)).await;
            let answer = match created {
                // It exists: the same settings again, which also runs Google's endpoint check again (a new secret).
                Err(SubscriberError::Refused { status: 409, .. }) => {
                    let url = format!("{resource}?updateMask=endpointUri,subscriberConfigs,endpointAuthorization");
                    println!("Subscriber {} exists: updating it", subscriber.subscriber_id);
                    client.send(client.http.patch(&url).json(&body)).await?
                }
                other => other?,
            };
            print_subscriber(&client.finished(answer).await?);
        }
        "show" => print_subscriber(&client.send(client.http.get(&resource)).await?),
        "delete" => {
            let answer = client.send(client.http.delete(&resource)).await?;
            client.finished(answer).await?;
            println!("Subscriber {} deleted", subscriber.subscriber_id);
        }
        _ => return Err(SubscriberError::Usage),
    }
    Ok(())
}

struct Client {
    http: reqwest::Client,
    token: String,
    health_url: String,
}

impl Client {
    async fn new(settings: &Settings) -> Result<Self, SubscriberError> {
        let provider: Arc<dyn TokenProvider> = match std::env::var("GOOGLE_APPLICATION_CREDENTIALS") {
            Ok(path) if !path.is_empty() => Arc::new(CustomServiceAccount::from_file(path)?),
            _ => gcp_auth::provider().await?,
        };
        let token = provider.token(&[SCOPE]).await?.as_str().to_string();
        let http = crate::provider::transport::http_client(settings.provider_timeout);
        Ok(Client { http, token, health_url: settings.google_health_api_url.clone() })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, SubscriberError> {
        let response =
            request.bearer_auth(&self.token).send().await.map_err(|e| SubscriberError::Http(e.to_string()))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status != StatusCode::OK {
            let message = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("no message").to_string();
            return Err(SubscriberError::Refused { status: status.as_u16(), message });
        }
        Ok(body)
    }

    /// The result of an answer that may be a long-running Operation (polled until done) or the result itself.
    async fn finished(&self, answer: Value) -> Result<Value, SubscriberError> {
        let is_operation = answer.get("done").is_some()
            || answer.get("name").and_then(Value::as_str).is_some_and(|n| n.contains("/operations/"));
        if !is_operation {
            return Ok(answer);
        }
        let mut operation = answer;
        let deadline = tokio::time::Instant::now() + OPERATION_WAIT;
        while operation.get("done").and_then(Value::as_bool) != Some(true) {
            if tokio::time::Instant::now() > deadline {
                return Err(SubscriberError::Http("the operation did not finish within 60 s".into()));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let name = operation.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            operation = self.send(self.http.get(format!("{}/v4/{name}", self.health_url))).await?;
        }
        if let Some(error) = operation.get("error") {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("no message").to_string();
            let status = error.get("code").and_then(Value::as_u64).unwrap_or(0) as u16;
            return Err(SubscriberError::Refused { status, message });
        }
        Ok(operation.get("response").cloned().unwrap_or(Value::Null))
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
