//! The Google Health API v4 under `/v4/` (docs/google-health.md): identity and settings, `list` and `reconcile` of data
//! points with filters and page tokens, and `dailyRollUp`. Every request is authenticated, counted against the per-user
//! per-minute quota and, when pacing is on, the per-second token bucket, then routed; errors are `google.rpc.Status`
//! JSON. The run-time settings decide the encoding (proto3 or verbose), the phone source, whether the newest night is
//! still processing and whether reconciled names are stable; a per-user switch breaks the user's newest items. Points
//! added through the admin routes are served besides the generated ones, which come from the user's kept data
//! ([`crate::memo`]) and are shaped, broken or renamed per answer, on copies. Project routes (`/v4/projects/…`, the
//! webhook subscribers) are elsewhere: they take service-account tokens, not users'.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

use crate::dataset::History;
use crate::faults::Route;
use crate::google::data_types::{self, DataType};
use crate::google::days::Kept;
use crate::google::encoding::Encoding;
use crate::google::filter::Filter;
use crate::google::mapping::health_user_id;
use crate::google::rollup::{self, DailyRollUpRequest};
use crate::google::status::{self, GoogleError};
use crate::google::tokens::GoogleAccess;
use crate::google::{defects, paging, scopes, Serving};
use crate::memo::UserData;
use crate::oauth_form::parse_form;
use crate::preflight::preflight;
use crate::redact::redact_query;
use crate::state::{now, Shared};

type Answer = Result<Response, GoogleError>;

/// The caller of a request that passed authentication.
struct Caller {
    user: String,
    scopes: String,
    /// Data types the caller's consent no longer grants ([`crate::Simulator::set_google_permission_denied`]).
    denied: Vec<String>,
}

/// The bearer token (header, or the `access_token` query parameter Google also takes) as the token store sees it:
/// the user it belongs to, if any, and the caller or the 401 it gets.
fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> (Option<String>, Result<Caller, GoogleError>) {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
        .or_else(|| query.get("access_token").cloned());
    let Some(token) = token else { return (None, Err(status::unauthenticated("CREDENTIALS_MISSING"))) };
    let state = shared.lock();
    match state.google.tokens.access_state(&token, now()) {
        GoogleAccess::Unknown => (None, Err(status::unauthenticated("ACCESS_TOKEN_INVALID"))),
        GoogleAccess::Revoked { user } => {
            (Some(user.to_string()), Err(status::unauthenticated("ACCESS_TOKEN_INVALID")))
        }
        GoogleAccess::Expired { user } => {
            (Some(user.to_string()), Err(status::unauthenticated("ACCESS_TOKEN_EXPIRED")))
        }
        GoogleAccess::Active { user, scopes, denied, .. } => {
            let caller = Caller { user: user.to_string(), scopes: scopes.to_string(), denied: denied.to_vec() };
            (Some(user.to_string()), Ok(caller))
        }
    }
}

/// Every method under `/v4/`.
pub(crate) async fn serve(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = parse_form(uri.query().unwrap_or_default().as_bytes());
    let (user, caller) = authenticate(&shared, &headers, &query);
    // As logged: an `access_token` in the query is shortened.
    let mut detail = format!("{method} {}", redact_query(&uri));
    if method == Method::POST {
        let compact = serde_json::from_slice::<Value>(&body)
            .map_or_else(|_| String::from_utf8_lossy(&body).into_owned(), |v| v.to_string());
        detail = format!("{detail} {compact}");
    }
    if let Err(response) = preflight(&shared, Route::GoogleData, user.as_deref(), &detail).await {
        return response;
    }
    let caller = match caller {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let (refusal, linked) = {
        let mut state = shared.lock();
        let settings = state.config.clone();
        let limit = settings.google_rate_limit_per_minute;
        let refusal = if state.google.quota.rate.consume(&caller.user, limit, now()).exceeded {
            Some(status::rate_limited(limit))
        } else {
            let paced = settings
                .google_requests_per_second
                .filter(|rate| !state.google.quota.pacing.take(&caller.user, *rate, Instant::now()))
                .map(status::paced);
            // The project's bucket, shared by every user (a key no user id can take).
            paced.or_else(|| {
                let limited = settings
                    .google_project_requests_per_second
                    .filter(|rate| !state.google.quota.pacing.take(PROJECT_BUCKET, *rate, Instant::now()))
                    .map(status::project_limited);
                state.google.quota.project_limited += u64::from(limited.is_some());
                limited
            })
        };
        if refusal.is_some() {
            state.usage.entry(caller.user.clone()).or_default().google.rate_limited += 1;
        }
        (refusal, !state.google.unlinked.contains(&caller.user))
    };
    if let Some(refusal) = refusal {
        return refusal.into_response();
    }
    if !linked {
        return status::account_not_linked().into_response();
    }
    let path = percent_decode_str(uri.path()).decode_utf8_lossy().into_owned();
    route(&shared, &caller, &method, &path, &query, &body).unwrap_or_else(IntoResponse::into_response)
}

/// The token bucket of the whole project: a key no user id can be.
const PROJECT_BUCKET: &str = "\u{0}project";

fn route(
    shared: &Shared,
    caller: &Caller,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Answer {
    let not_found = || status::not_found(path);
    let segments: Vec<&str> = path.strip_prefix("/v4/").ok_or_else(not_found)?.split('/').collect();
    let health_user = health_user_id(&caller.user);
    let is_get = *method == Method::GET;
    match segments[..] {
        ["users", user, "identity"] if is_get => {
            check_user(user, &health_user)?;
            Ok(Json(json!({"name": "users/me/identity", "healthUserId": health_user, "legacyUserId": caller.user}))
                .into_response())
        }
        ["users", user, "settings"] if is_get => {
            check_user(user, &health_user)?;
            if !scopes::can_read(&caller.scopes, "settings") {
                return Err(status::scope_insufficient("UsersService.GetSettings"));
            }
            Ok(Json(json!({"name": "users/me/settings", "timeZone": "UTC", "utcOffset": "0s"})).into_response())
        }
        ["users", user, "dataTypes", data_type, last] => {
            let (collection, verb) = last.split_once(':').map_or((last, None), |(c, v)| (c, Some(v)));
            let rpc = match (method.clone(), collection, verb) {
                (Method::GET, "dataPoints", None) => "ListDataPoints",
                (Method::GET, "dataPoints", Some("reconcile")) => "ReconcileDataPoints",
                (Method::POST, "dataPoints", Some("dailyRollUp")) => "DailyRollUpDataPoints",
                _ => return Err(not_found()),
            };
            check_user(user, &health_user)?;
            let data_type = data_types::find(data_type).ok_or_else(|| {
                status::invalid_argument(
                    format!("The data type ID {data_type} is not supported."),
                    Some("INVALID_PARENT_DATA_TYPE_COLLECTION"),
                )
            })?;
            if !scopes::can_read_area(&caller.scopes, data_type.area) {
                return Err(status::scope_insufficient(&format!("DataPointsService.{rpc}")));
            }
            if caller.denied.iter().any(|denied| denied == data_type.path) {
                return Err(status::permission_denied("The caller does not have permission"));
            }
            let data = shared.user_data(&caller.user);
            let defective = shared.lock().google.defects.contains(&caller.user);
            match rpc {
                "DailyRollUpDataPoints" => {
                    let encoding = Encoding::of(shared.lock().config.google_verbose);
                    daily_roll_up(&data.history, data_type, body, encoding, defective)
                }
                _ => list(shared, &data, &health_user, data_type, query, rpc == "ReconcileDataPoints", defective),
            }
        }
        _ => Err(not_found()),
    }
}

/// `users/me`, or the caller's own numeric id.
fn check_user(user: &str, health_user: &str) -> Result<(), GoogleError> {
    if user == "me" || user == health_user {
        Ok(())
    } else {
        Err(status::permission_denied(format!("Permission denied on resource users/{user} (or it may not exist).")))
    }
}

/// A `dataSourceFamily` is absent, or one Google knows.
fn check_family(family: Option<&str>) -> Result<(), GoogleError> {
    let known = ["all-sources", "google-wearables", "google-sources", "self-sources"];
    match family.filter(|f| !f.is_empty()) {
        None => Ok(()),
        Some(family) => match family.strip_prefix("users/me/dataSourceFamilies/") {
            Some(name) if known.contains(&name) => Ok(()),
            _ => Err(status::invalid_argument(
                format!("Invalid data source family: {family}"),
                Some("INVALID_DATA_POINT_DATA_SOURCE_FAMILY"),
            )),
        },
    }
}

/// `list` (and `reconcile`, whose points have `dataPointName` instead of `name` and no `dataSource`). `list` returns
/// each source's points, the phone's walks too, and takes no data source family; `reconcile` merges the phone's walk
/// into the tracker's activity, so only the tracker's is left. `defective`: the
/// user's newest point is broken (see [`defects`]).
fn list(
    shared: &Shared,
    data: &UserData,
    health_user: &str,
    data_type: &DataType,
    query: &HashMap<String, String>,
    reconcile: bool,
    defective: bool,
) -> Answer {
    let supported = if reconcile { data_type.reconcile } else { data_type.list };
    if !supported {
        let method = if reconcile { "Reconcile" } else { "List" };
        return Err(status::invalid_argument(
            format!("{method} is not supported for data type {}", data_type.path),
            None,
        ));
    }
    let get = |key: &str| query.get(key).map(String::as_str);
    // v4's `ListDataPointsRequest` has no data source family (only `reconcile` and the rollups do): Google refuses a
    // query parameter its request message lacks.
    if !reconcile && query.contains_key("dataSourceFamily") {
        return Err(status::invalid_argument(
            "Invalid JSON payload received. Unknown name \"dataSourceFamily\": Cannot bind query parameter. Field \
             'dataSourceFamily' could not be found in request message.",
            None,
        ));
    }
    check_family(get("dataSourceFamily"))?;
    let size = paging::page_size(get("pageSize"), data_type)?;
    let filter = Filter::parse(get("filter"), data_type)?;
    let print = paging::fingerprint(&[
        data_type.path,
        get("filter").unwrap_or_default(),
        &size.to_string(),
        get("dataSourceFamily").unwrap_or_default(),
        if reconcile { "reconcile" } else { "list" },
    ]);
    let settings = shared.lock().config.clone();
    let offset = match get("pageToken").filter(|token| !token.is_empty()) {
        Some(token) => paging::offset(token, print)?,
        None if settings.google_empty_first_page => {
            return Ok(Json(json!({"nextPageToken": paging::token(0, print)})).into_response());
        }
        None => 0,
    };

    let serving = Serving {
        encoding: Encoding::of(settings.google_verbose),
        phone: settings.google_phone_source && !settings.google_verbose && !reconcile,
        sleep_processing: settings.google_sleep_processing_until.is_some_and(|until| now() < until),
    };
    // Reconciled names change with every answer when they are unstable.
    let call = (reconcile && settings.google_unstable_reconcile_names).then(|| {
        let mut state = shared.lock();
        state.google.reconcile_calls += 1;
        state.google.reconcile_calls
    });

    let history = &data.history;
    let (from, to) = filter.days(history.first(), history.last());
    let added =
        shared.lock().google.added.points(history.user(), health_user, data_type.path, (from, to), serving.encoding);
    let added: Vec<Kept> = added.into_iter().map(Kept::value).collect();
    let mut matching: Vec<&Kept> = data
        .google
        .points(history, data_type, from, to, serving)
        .into_iter()
        .chain(&added)
        .filter(|point| filter.matches(*point))
        .collect();
    // Newest first.
    matching.sort_by(|a, b| {
        b.start.physical().cmp(&a.start.physical()).then_with(|| b.name().as_str().cmp(&a.name().as_str()))
    });
    // The first point by the name of the newest one is broken, wherever it is.
    let broken = defective
        .then(|| defects::newest_point(history, &data.google, data_type))
        .flatten()
        .and_then(|(name, defect)| Some((matching.iter().position(|point| *point.name() == name)?, defect)));
    let page: Vec<Value> = matching
        .iter()
        .enumerate()
        .skip(offset)
        .take(size)
        .map(|(index, point)| {
            let mut value = point.json().into_owned();
            if let Some((_, defect)) = broken.as_ref().filter(|(at, _)| *at == index) {
                defect.apply(&mut value);
            }
            if reconcile {
                reconciled(value, call)
            } else {
                value
            }
        })
        .collect();

    let mut body = Map::new();
    if !page.is_empty() {
        body.insert("dataPoints".into(), Value::Array(page));
    }
    if offset.saturating_add(size) < matching.len() {
        body.insert("nextPageToken".into(), json!(paging::token(offset + size, print)));
    }
    Ok(Json(body).into_response())
}

/// A point as `reconcile` gives it; `call` is appended to its id when names are unstable.
fn reconciled(point: Value, call: Option<u64>) -> Value {
    let Value::Object(fields) = point else { return Value::Object(Map::new()) };
    let mut out = Map::new();
    for (key, value) in fields {
        match (key.as_str(), call) {
            ("name", None) => {
                out.insert("dataPointName".into(), value);
            }
            ("name", Some(call)) => {
                out.insert("dataPointName".into(), json!(format!("{}-{call}", value.as_str().unwrap_or_default())));
            }
            ("dataSource", _) => {}
            _ => {
                out.insert(key, value);
            }
        }
    }
    Value::Object(out)
}

/// `defective`: the user's newest steps bucket is broken (see [`defects`]).
fn daily_roll_up(history: &History, data_type: &DataType, body: &[u8], encoding: Encoding, defective: bool) -> Answer {
    if !data_type.daily_roll_up {
        return Err(status::invalid_argument(
            format!("DailyRollup is not supported for data type {}", data_type.path),
            None,
        ));
    }
    let request: DailyRollUpRequest = if body.iter().all(u8::is_ascii_whitespace) {
        DailyRollUpRequest::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|error| status::invalid_argument(format!("Invalid JSON payload received. {error}"), None))?
    };
    check_family(request.data_source_family.as_deref())?;
    let (start, end, window) = rollup::days(&request, data_type)?;
    let mut buckets = rollup::buckets(history, data_type, start, end, window, encoding);
    if defective {
        defects::break_newest_bucket(history, data_type, (start, end), &mut buckets);
    }
    let mut response = Map::new();
    if !buckets.is_empty() {
        response.insert("rollupDataPoints".into(), Value::Array(buckets));
    }
    Ok(Json(response).into_response())
}
