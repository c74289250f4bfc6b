//! Fitbit's data GETs, as ds-agent (and the original) call them, under `/1/user/-/` and `/1.2/user/-/`: weight logs,
//! the sleep and activity lists and the daily tracker series, served from the synthetic history of the bearer's user.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::HOST;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::bearer::{Bearer, Caller};
use super::quota::metered;
use crate::dataset::{History, SERIES_RESOURCES};
use crate::faults::{FaultKind, Route};
use crate::fitbit::error::{self as fitbit_error, FitbitError};
use crate::fitbit::paging::{self, parse_date, List};
use crate::fitbit::scopes;
use crate::preflight::preflight;
use crate::state::Shared;

/// Fitbit's limits on date ranges, in days between the two dates.
const MAX_WEIGHT_RANGE_DAYS: i64 = 31;
const MAX_SERIES_RANGE_DAYS: i64 = 1095;

/// An answer whose validation steps can use `?`.
type Answer = Result<Response, FitbitError>;

pub(crate) async fn get(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    let path_and_query = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let bearer = Bearer::of(&shared, &headers);
    let next_link = match preflight(&shared, Route::Data, bearer.user(), path_and_query).await {
        Ok(Some(FaultKind::NextLink(url))) => Some(url),
        Ok(_) => None,
        Err(response) => return response,
    };
    let caller = match bearer.authorize() {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    // Paging links point back at the address the client used, which may differ from the bound one behind Docker.
    let origin = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .map_or_else(|| shared.base_url.clone(), |host| format!("http://{host}"));
    metered(&shared, &caller.user, || {
        serve(&shared, &caller, &uri, &origin, next_link.as_deref()).unwrap_or_else(IntoResponse::into_response)
    })
}

fn serve(shared: &Shared, caller: &Caller, uri: &Uri, origin: &str, next_link: Option<&str>) -> Answer {
    let path = uri.path();
    let (prefix, resource) = ["/1.2/user/-/", "/1/user/-/"]
        .iter()
        .find_map(|prefix| Some((&prefix[..prefix.len() - 1], path.strip_prefix(prefix)?)))
        .ok_or_else(fitbit_error::not_found)?;
    let endpoint = Endpoint::parse(resource).ok_or_else(fitbit_error::not_found)?;
    let (code, data) = endpoint.scope();
    if !scopes::has(&caller.scopes, code) {
        return Err(fitbit_error::insufficient_scope(data));
    }
    let data = shared.user_data(&caller.user);
    let history = &data.history;
    match endpoint {
        Endpoint::Weight { base, end } => weights(history, base, end),
        Endpoint::List(list) => {
            let query: HashMap<String, String> =
                form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
            let added: Vec<Value> = shared
                .lock()
                .fitbit
                .added
                .get(&caller.user)
                .into_iter()
                .flatten()
                .filter(|(of_list, _)| *of_list == list.name())
                .map(|(_, log)| log.clone())
                .collect();
            paging::list(history, &added, list, &query, &format!("{origin}{prefix}/{resource}"), next_link)
        }
        Endpoint::Tracker { index, start, end } => tracker(history, index, start, end),
    }
}

enum Endpoint<'a> {
    Weight { base: &'a str, end: &'a str },
    List(List),
    Tracker { index: usize, start: &'a str, end: &'a str },
}

impl<'a> Endpoint<'a> {
    /// `resource` is the path after `/user/-/`.
    fn parse(resource: &'a str) -> Option<Endpoint<'a>> {
        let segments: Vec<&'a str> = resource.split('/').collect();
        match segments[..] {
            ["body", "log", "weight", "date", base, end] => {
                Some(Endpoint::Weight { base, end: end.strip_suffix(".json")? })
            }
            ["sleep", "list.json"] => Some(Endpoint::List(List::Sleep)),
            ["activities", "list.json"] => Some(Endpoint::List(List::Activities)),
            ["activities", "tracker", name, "date", start, end] => Some(Endpoint::Tracker {
                index: SERIES_RESOURCES.iter().position(|resource| *resource == name)?,
                start,
                end: end.strip_suffix(".json")?,
            }),
            _ => None,
        }
    }

    /// The scope code it needs, and the name of its data in Fitbit's 403 message.
    fn scope(&self) -> (&'static str, &'static str) {
        match self {
            Endpoint::Weight { .. } => ("rwei", "weight"),
            Endpoint::List(List::Sleep) => ("rsle", "sleep"),
            Endpoint::List(List::Activities) | Endpoint::Tracker { .. } => ("ract", "activity"),
        }
    }
}

fn check_range(from: NaiveDate, to: NaiveDate, max_days: i64) -> Result<(), FitbitError> {
    if to < from {
        return Err(fitbit_error::validation("end-date", "The end date must not be before the base date."));
    }
    if (to - from).num_days() > max_days {
        return Err(fitbit_error::validation("end-date", format!("The date range cannot exceed {max_days} days.")));
    }
    Ok(())
}

/// `body/log/weight/date/<base>/<end>.json`: both dates included.
fn weights(history: &History, base: &str, end: &str) -> Answer {
    let (base, end) = (parse_date(base, "base-date")?, parse_date(end, "end-date")?);
    check_range(base, end, MAX_WEIGHT_RANGE_DAYS)?;
    let weight: Vec<Value> =
        base.iter_days().take_while(|day| *day <= end).filter_map(|day| history.weight_on(day)).cloned().collect();
    let mut body = Map::new();
    body.insert("weight".into(), Value::Array(weight));
    Ok(Json(body).into_response())
}

/// `activities/tracker/<resource>/date/<start>/<end>.json`, `<end>` a date or `today`: one entry per day.
fn tracker(history: &History, index: usize, start: &str, end: &str) -> Answer {
    let start = parse_date(start, "base-date")?;
    let end = if end == "today" { history.last() } else { parse_date(end, "end-date")? };
    check_range(start, end, MAX_SERIES_RANGE_DAYS)?;
    let mut body = Map::new();
    let series = Value::Array(history.series(index, start, end));
    body.insert(format!("activities-tracker-{}", SERIES_RESOURCES[index]), series);
    Ok(Json(body).into_response())
}
