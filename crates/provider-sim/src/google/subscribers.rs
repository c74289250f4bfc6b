//! Webhook subscribers (docs/notifications.md#what-google-sends): a Cloud project's endpoint plus the data types it
//! wants, with the secret Google sends back as the `Authorization` header. Here are the resource, its validation and
//! its JSON; the routes and the verification handshake are in `http/google/subscribers.rs`. The secret is input only:
//! reads say `secretSet: true` instead.

use std::collections::BTreeMap;

use axum::http::HeaderValue;
use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

use super::status::{self, GoogleError};

/// The data types a subscriber config may name, kebab-case (the launch set, then the ones later guides added).
pub(crate) const WEBHOOK_DATA_TYPES: [&str; 29] = [
    "altitude",
    "distance",
    "floors",
    "sleep",
    "steps",
    "weight",
    "exercise",
    "body-fat",
    "heart-rate",
    "daily-resting-heart-rate",
    "active-zone-minutes",
    "active-minutes",
    "total-calories",
    "time-in-heart-rate-zone",
    "calories-in-heart-rate-zone",
    "daily-heart-rate-zones",
    "daily-heart-rate-variability",
    "daily-oxygen-saturation",
    "daily-respiratory-rate",
    "daily-sleep-temperature-derivations",
    "heart-rate-variability",
    "height",
    "hydration-log",
    "nutrition-log",
    "respiratory-rate-sleep-summary",
    "run-vo2-max",
    "sedentary-period",
    "activity-level",
    "blood-glucose",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    pub data_types: Vec<String>,
    /// `AUTOMATIC` or `MANUAL`.
    pub policy: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Subscriber {
    pub project: String,
    pub id: String,
    pub endpoint_uri: String,
    pub configs: Vec<Config>,
    pub secret: String,
    /// Always `ACTIVE` once stored: a subscriber that failed verification is not stored at all.
    pub state: &'static str,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

impl Subscriber {
    pub(crate) fn name(&self) -> String {
        name(&self.project, &self.id)
    }

    /// Active and subscribed to `data_type` by one of its configs.
    pub(crate) fn wants(&self, data_type: &str) -> bool {
        self.state == "ACTIVE" && self.configs.iter().any(|config| config.data_types.iter().any(|t| t == data_type))
    }

    pub(crate) fn to_json(&self) -> Value {
        let configs: Vec<Value> = self
            .configs
            .iter()
            .map(|config| json!({"dataTypes": config.data_types, "subscriptionCreatePolicy": config.policy}))
            .collect();
        json!({
            "name": self.name(),
            "endpointUri": self.endpoint_uri,
            "subscriberConfigs": configs,
            "endpointAuthorization": {"secretSet": true},
            "state": self.state,
            "createTime": timestamp(self.create_time),
            "updateTime": timestamp(self.update_time),
        })
    }
}

/// Microseconds, as Google's resource times have them.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn name(project: &str, id: &str) -> String {
    format!("projects/{project}/subscribers/{id}")
}

/// Every subscriber of every project, by name.
#[derive(Default)]
pub(crate) struct Subscribers {
    by_name: BTreeMap<String, Subscriber>,
}

impl Subscribers {
    pub(crate) fn get(&self, name: &str) -> Option<&Subscriber> {
        self.by_name.get(name)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub(crate) fn insert(&mut self, subscriber: Subscriber) {
        self.by_name.insert(subscriber.name(), subscriber);
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<Subscriber> {
        self.by_name.remove(name)
    }

    pub(crate) fn of_project<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a Subscriber> + 'a {
        self.by_name.values().filter(move |s| s.project == project)
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Subscriber> {
        self.by_name.values()
    }
}

/// A create or patch body; every field optional so that a missing one gets Google's 400, not serde's.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscriberBody {
    pub endpoint_uri: Option<String>,
    pub subscriber_configs: Option<Vec<ConfigBody>>,
    pub endpoint_authorization: Option<AuthorizationBody>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigBody {
    pub data_types: Option<Vec<String>>,
    pub subscription_create_policy: Option<String>,
}

#[derive(Default, Deserialize)]
pub(crate) struct AuthorizationBody {
    pub secret: Option<String>,
}

pub(crate) fn parse_body(body: &[u8]) -> Result<SubscriberBody, GoogleError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(SubscriberBody::default());
    }
    serde_json::from_slice(body)
        .map_err(|error| status::invalid_argument(format!("Invalid JSON payload received. {error}"), None))
}

/// A project *number*. With the project id Google answers create, list and get with 403 "The caller does not have
/// permission", and patch and delete with 400 (Google's troubleshooting page).
pub(crate) fn check_project(project: &str, patch_or_delete: bool) -> Result<(), GoogleError> {
    if !project.is_empty() && project.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else if patch_or_delete {
        Err(status::invalid_argument("Invalid project number in resource name.", None))
    } else {
        Err(status::permission_denied("The caller does not have permission"))
    }
}

/// `[a-z]([a-z0-9-]{2,34}[a-z0-9])`: 4 to 36 characters.
pub(crate) fn check_id(id: &str) -> Result<(), GoogleError> {
    let bytes = id.as_bytes();
    let valid = (4..=36).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes[1..].iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[bytes.len() - 1] != b'-';
    if valid {
        Ok(())
    } else {
        Err(status::invalid_argument(
            format!("Invalid subscriber_id '{id}': it must match [a-z]([a-z0-9-]{{2,34}}[a-z0-9])."),
            None,
        ))
    }
}

/// An id for a create without `subscriberId`.
pub(crate) fn generated_id() -> String {
    let tail: String =
        rand::thread_rng().sample_iter(&Alphanumeric).take(15).map(|b| char::from(b).to_ascii_lowercase()).collect();
    format!("s{tail}")
}

/// An absolute `https` URL with a host. Google demands HTTPS; the simulator takes `http` too, since test receivers
/// listen on plain 127.0.0.1.
pub(crate) fn check_endpoint(uri: Option<&str>) -> Result<String, GoogleError> {
    let uri = uri.map(str::trim).filter(|u| !u.is_empty());
    let Some(uri) = uri else { return Err(status::invalid_argument("endpoint_uri is required.", None)) };
    match reqwest::Url::parse(uri) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(uri.to_string())
        }
        _ => Err(status::invalid_argument(format!("Invalid endpoint_uri '{uri}': it must be an HTTPS URL."), None)),
    }
}

/// The complete `Authorization` header value Google will send, so it must be a valid header value.
pub(crate) fn check_secret(authorization: Option<&AuthorizationBody>) -> Result<String, GoogleError> {
    let secret = authorization.and_then(|a| a.secret.as_deref()).filter(|s| !s.trim().is_empty());
    let Some(secret) = secret else {
        return Err(status::invalid_argument("endpoint_authorization.secret is required.", None));
    };
    if HeaderValue::from_str(secret).is_err() {
        return Err(status::invalid_argument("endpoint_authorization.secret is not a valid header value.", None));
    }
    Ok(secret.to_string())
}

pub(crate) fn check_configs(configs: Option<&[ConfigBody]>) -> Result<Vec<Config>, GoogleError> {
    let configs = configs.filter(|c| !c.is_empty());
    let Some(configs) = configs else {
        return Err(status::invalid_argument("subscriber_configs must name at least one data type.", None));
    };
    configs
        .iter()
        .map(|config| {
            let data_types =
                config.data_types.clone().filter(|types| !types.is_empty()).ok_or_else(|| {
                    status::invalid_argument("subscriber_configs.data_types must not be empty.", None)
                })?;
            if let Some(unknown) = data_types.iter().find(|t| !WEBHOOK_DATA_TYPES.contains(&t.as_str())) {
                return Err(status::invalid_argument(
                    format!("The data type {unknown} is not supported for subscriptions."),
                    None,
                ));
            }
            let policy = config.subscription_create_policy.as_deref().unwrap_or_default();
            if !matches!(policy, "AUTOMATIC" | "MANUAL") {
                return Err(status::invalid_argument(
                    format!("Invalid subscription_create_policy '{policy}': expected AUTOMATIC or MANUAL."),
                    None,
                ));
            }
            Ok(Config { data_types, policy: policy.to_string() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_pattern() {
        for good in ["ds-agent", "abcd", "a-1b", &"a".repeat(36)] {
            assert!(check_id(good).is_ok(), "{good}");
        }
        for bad in ["abc", "1abc", "Abcd", "abc-", "ab_cd", &"a".repeat(37)] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        for _ in 0..20 {
            check_id(&generated_id()).unwrap();
        }
    }

    #[test]
    fn projects_endpoints_and_configs_are_checked() {
        assert!(check_project("123456", false).is_ok());
        assert!(check_project("my-project", false).is_err());
        assert!(check_endpoint(Some("https://sync.example.org/webhooks/google-health")).is_ok());
        assert!(check_endpoint(Some("http://127.0.0.1:8080/hook")).is_ok());
        assert!(check_endpoint(Some("ftp://example.org/")).is_err());
        assert!(check_endpoint(Some("not a url")).is_err());
        assert!(check_endpoint(None).is_err());
        let config = |types: &[&str], policy: &str| ConfigBody {
            data_types: Some(types.iter().map(|t| t.to_string()).collect()),
            subscription_create_policy: Some(policy.to_string()),
        };
        assert!(check_configs(Some(&[config(&["exercise", "body-fat"], "AUTOMATIC")])).is_ok());
        assert!(check_configs(Some(&[config(&["body_fat"], "AUTOMATIC")])).is_err());
        assert!(check_configs(Some(&[config(&["sleep"], "SOMETIMES")])).is_err());
        assert!(check_configs(Some(&[])).is_err());
    }
}
