//! The webhook subscribers of a Cloud project, under `/v4/projects/{number}/subscribers`: create (after the
//! verification handshake), list, patch (verifying again when the endpoint or the secret changes) and delete, the
//! four methods v4's `DataSubscriptionService` publishes for them. There is no get of one subscriber and no route to
//! poll an operation (v4 has no `google.longrunning.Operations` mixin): those URLs are 404 here as at Google. The
//! caller is a service account, with a token of the JWT-bearer grant; a user's token is refused with 403. Create,
//! patch and delete answer a done `Operation` or, with `google_subscriber_direct_answer`, the resource itself; with
//! `google_operations_pending`, an `Operation` that is not done, the change following a second later. No lock is held
//! while the endpoint is probed: the handshake is checked again for a concurrent create. Every request is recorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use crate::google::operations::{self, EMPTY_TYPE, SUBSCRIBER_TYPE};
use crate::google::service_accounts::ServiceAccess;
use crate::google::status::{self, GoogleError};
use crate::google::subscribers::{self, Subscriber, SubscriberBody};
use crate::google::tokens::GoogleAccess;
use crate::google::verification;
use crate::oauth_form::parse_form;
use crate::redact::redact_query;
use crate::state::{now, Shared};

type Answer = Result<Response, GoogleError>;

/// How long a pending operation takes to carry out its change.
const PENDING_FOR: Duration = Duration::from_secs(1);

/// Every method under `/v4/projects/`.
pub(crate) async fn serve(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = shared.lock().config.latency;
    tokio::time::sleep(latency).await;
    shared.lock().webhooks.requests.push(format!("{method} {}", redact_query(&uri)));
    let query = parse_form(uri.query().unwrap_or_default().as_bytes());
    let path = percent_decode_str(uri.path()).decode_utf8_lossy().into_owned();
    route(&shared, &method, &path, &query, &headers, &body).await.unwrap_or_else(IntoResponse::into_response)
}

async fn route(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let account = authenticate(shared, headers, query)?;
    let not_found = || status::not_found(path);
    let segments: Vec<&str> = path.strip_prefix("/v4/").ok_or_else(not_found)?.split('/').collect();
    match (method.clone(), &segments[..]) {
        (Method::POST, ["projects", project, "subscribers"]) => create(shared, &account, project, query, body).await,
        (Method::GET, ["projects", project, "subscribers"]) => list(shared, project, query),
        (Method::PATCH, ["projects", project, "subscribers", id]) => patch(shared, project, id, query, body).await,
        (Method::DELETE, ["projects", project, "subscribers", id]) => delete(shared, &account, project, id).await,
        _ => Err(not_found()),
    }
}

/// The service account behind the bearer token (header, or the `access_token` query parameter Google also takes).
fn authenticate(shared: &Shared, headers: &HeaderMap, query: &HashMap<String, String>) -> Result<String, GoogleError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
        .or_else(|| query.get("access_token").cloned());
    let Some(token) = token else { return Err(status::unauthenticated("CREDENTIALS_MISSING")) };
    let now = now();
    let state = shared.lock();
    match state.google.service_tokens.access(&token, now) {
        ServiceAccess::Active { account } => Ok(account.to_string()),
        ServiceAccess::Expired => Err(status::unauthenticated("ACCESS_TOKEN_EXPIRED")),
        ServiceAccess::Unknown => match state.google.tokens.access_state(&token, now) {
            // A user's consent never carries the `cloud-platform` scope the subscriber methods need.
            GoogleAccess::Active { .. } => {
                Err(status::permission_denied("Request had insufficient authentication scopes.")
                    .reason("ACCESS_TOKEN_SCOPE_INSUFFICIENT", None))
            }
            GoogleAccess::Expired { .. } => Err(status::unauthenticated("ACCESS_TOKEN_EXPIRED")),
            GoogleAccess::Revoked { .. } | GoogleAccess::Unknown => {
                Err(status::unauthenticated("ACCESS_TOKEN_INVALID"))
            }
        },
    }
}

fn missing(name: &str) -> GoogleError {
    status::resource_not_found(format!("Subscriber {name} not found."))
}

/// Whether changes answer an `Operation` that is not done, and happen a moment later.
fn pending(shared: &Shared) -> bool {
    shared.lock().config.google_operations_pending
}

/// Runs `change` in the background after [`PENDING_FOR`]; its failure changes nothing and is only logged.
fn later<F>(shared: &Arc<Shared>, what: String, change: F)
where
    F: std::future::Future<Output = Result<Value, GoogleError>> + Send + 'static,
{
    shared.spawn(async move {
        tokio::time::sleep(PENDING_FOR).await;
        if let Err(error) = change.await {
            tracing::info!("pending operation on {what} failed: {error:?}");
        }
    });
}

/// `resource` as the direct answer, or inside a done `Operation` typed `type_url`.
fn answer(shared: &Shared, project: &str, type_url: &str, resource: Value) -> Response {
    if shared.lock().config.google_subscriber_direct_answer {
        Json(resource).into_response()
    } else {
        Json(operations::done(project, type_url, resource)).into_response()
    }
}

async fn create(
    shared: &Arc<Shared>,
    account: &str,
    project: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Answer {
    subscribers::check_project(project, false)?;
    let id = match query.get("subscriberId").filter(|id| !id.is_empty()) {
        Some(id) => {
            subscribers::check_id(id)?;
            id.clone()
        }
        None => subscribers::generated_id(),
    };
    let body = subscribers::parse_body(body)?;
    let endpoint_uri = subscribers::check_endpoint(body.endpoint_uri.as_deref())?;
    let configs = subscribers::check_configs(body.subscriber_configs.as_deref())?;
    let secret = subscribers::check_secret(body.endpoint_authorization.as_ref())?;
    let name = subscribers::name(project, &id);
    let exists = || status::already_exists(format!("Subscriber {name} already exists."));
    if shared.lock().webhooks.subscribers.contains(&name) {
        return Err(exists());
    }
    let created = Utc::now();
    let subscriber = Subscriber {
        project: project.to_string(),
        id,
        endpoint_uri,
        configs,
        secret,
        state: "ACTIVE",
        create_time: created,
        update_time: created,
    };
    let account = account.to_string();
    if pending(shared) {
        later(shared, name, store_created(shared.clone(), subscriber, account));
        return Ok(Json(operations::pending(project, "CreateSubscriberMetadata")).into_response());
    }
    let resource = store_created(shared.clone(), subscriber, account).await?;
    Ok(answer(shared, project, SUBSCRIBER_TYPE, resource))
}

/// The end of a create: the endpoint's handshake, then the subscriber stored, unless a concurrent create won.
async fn store_created(shared: Arc<Shared>, subscriber: Subscriber, account: String) -> Result<Value, GoogleError> {
    let verified = verification::verify(&shared.outbound, &subscriber.endpoint_uri, &subscriber.secret).await;
    verified.map_err(status::failed_precondition)?;
    let name = subscribers::name(&subscriber.project, &subscriber.id);
    let resource = subscriber.to_json();
    {
        let mut state = shared.lock();
        if state.webhooks.subscribers.contains(&name) {
            return Err(status::already_exists(format!("Subscriber {name} already exists.")));
        }
        state.webhooks.subscribers.insert(subscriber);
    }
    tracing::info!("subscriber {name} created by {account}");
    Ok(resource)
}

/// One page holds every subscriber of the project (a project has a handful): `pageSize` is checked, then ignored, and
/// there is never a `nextPageToken`. No subscriber gives `{}`, proto3 leaving the empty list and the zero out.
fn list(shared: &Shared, project: &str, query: &HashMap<String, String>) -> Answer {
    subscribers::check_project(project, false)?;
    if let Some(size) = query.get("pageSize").filter(|size| size.trim().parse::<u32>().is_err()) {
        return Err(status::invalid_argument(format!("Invalid value for pageSize: {size}"), None));
    }
    let state = shared.lock();
    let found: Vec<Value> = state.webhooks.subscribers.of_project(project).map(Subscriber::to_json).collect();
    if found.is_empty() {
        return Ok(Json(json!({})).into_response());
    }
    Ok(Json(json!({"subscribers": found, "totalSize": found.len()})).into_response())
}

/// A field an update mask may name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Endpoint,
    Configs,
    Authorization,
}

/// The fields of `updateMask` (camelCase or snake_case paths, comma-separated); without one, those the body sets.
fn update_mask(query: &HashMap<String, String>, body: &SubscriberBody) -> Result<Vec<Field>, GoogleError> {
    let Some(mask) = query.get("updateMask") else {
        let present = [
            (body.endpoint_uri.is_some(), Field::Endpoint),
            (body.subscriber_configs.is_some(), Field::Configs),
            (body.endpoint_authorization.is_some(), Field::Authorization),
        ];
        return Ok(present.iter().filter(|(set, _)| *set).map(|(_, field)| *field).collect());
    };
    mask.split(',')
        .map(str::trim)
        .filter(|path| !path.is_empty())
        .map(|path| match path {
            "endpointUri" | "endpoint_uri" => Ok(Field::Endpoint),
            "subscriberConfigs" | "subscriber_configs" => Ok(Field::Configs),
            "endpointAuthorization" | "endpoint_authorization" => Ok(Field::Authorization),
            "endpointAuthorization.secret" | "endpoint_authorization.secret" => Ok(Field::Authorization),
            other => Err(status::invalid_argument(format!("Invalid update mask path: {other}"), None)),
        })
        .collect()
}

async fn patch(shared: &Arc<Shared>, project: &str, id: &str, query: &HashMap<String, String>, body: &[u8]) -> Answer {
    subscribers::check_project(project, true)?;
    let name = subscribers::name(project, id);
    let current = shared.lock().webhooks.subscribers.get(&name).cloned().ok_or_else(|| missing(&name))?;
    let body = subscribers::parse_body(body)?;
    let mask = update_mask(query, &body)?;
    if mask.is_empty() {
        return Err(status::invalid_argument("The update mask names no field to update.", None));
    }
    let mut updated = current;
    if mask.contains(&Field::Endpoint) {
        updated.endpoint_uri = subscribers::check_endpoint(body.endpoint_uri.as_deref())?;
    }
    if mask.contains(&Field::Configs) {
        // A full replacement, not a merge.
        updated.configs = subscribers::check_configs(body.subscriber_configs.as_deref())?;
    }
    if mask.contains(&Field::Authorization) {
        updated.secret = subscribers::check_secret(body.endpoint_authorization.as_ref())?;
    }
    // Naming the endpoint or the secret in the mask re-runs the handshake, changed or not.
    let verify = mask.contains(&Field::Endpoint) || mask.contains(&Field::Authorization);
    if pending(shared) {
        later(shared, name, store_updated(shared.clone(), updated, verify));
        return Ok(Json(operations::pending(project, "UpdateSubscriberMetadata")).into_response());
    }
    let resource = store_updated(shared.clone(), updated, verify).await?;
    Ok(answer(shared, project, SUBSCRIBER_TYPE, resource))
}

/// The end of a patch: the handshake again when `verify`, then the subscriber stored, unless it was deleted meanwhile.
async fn store_updated(shared: Arc<Shared>, mut updated: Subscriber, verify: bool) -> Result<Value, GoogleError> {
    if verify {
        verification::verify(&shared.outbound, &updated.endpoint_uri, &updated.secret)
            .await
            .map_err(status::failed_precondition)?;
    }
    let name = subscribers::name(&updated.project, &updated.id);
    updated.state = "ACTIVE";
    updated.update_time = Utc::now();
    let resource = updated.to_json();
    let mut state = shared.lock();
    if !state.webhooks.subscribers.contains(&name) {
        return Err(missing(&name));
    }
    state.webhooks.subscribers.insert(updated);
    Ok(resource)
}

/// `force` is accepted and ignored: the simulator keeps no manual subscriptions to delete with it. A batch not yet
/// sent is dropped, and retries to the subscriber stop.
async fn delete(shared: &Arc<Shared>, account: &str, project: &str, id: &str) -> Answer {
    subscribers::check_project(project, true)?;
    let name = subscribers::name(project, id);
    if !shared.lock().webhooks.subscribers.contains(&name) {
        return Err(missing(&name));
    }
    let remove = {
        let (shared, name, account) = (shared.clone(), name.clone(), account.to_string());
        async move {
            {
                let mut state = shared.lock();
                state.webhooks.subscribers.remove(&name).ok_or_else(|| missing(&name))?;
                state.webhooks.batches.remove(&name);
            }
            tracing::info!("subscriber {name} deleted by {account}");
            Ok(json!({}))
        }
    };
    if pending(shared) {
        later(shared, name, remove);
        return Ok(Json(operations::pending(project, "DeleteSubscriberMetadata")).into_response());
    }
    let resource = remove.await?;
    Ok(answer(shared, project, EMPTY_TYPE, resource))
}
