//! Fitbit's paging of the sleep and activity lists: from an anchor date, `beforeDate` walks back in time (`sort=desc`)
//! and `afterDate` forward (`sort=asc`), `limit` (1 to 100) items per page, and `pagination.next` links to the next
//! page (empty on the last one). Fitbit compares against midnight of the anchor, so `beforeDate` excludes its own date
//! and `afterDate` includes it: ds-agent's (and the original's) `beforeDate=<tomorrow>` gets today's items. Only plain dates are
//! accepted as anchors. Sleep logs are placed on their `dateOfSleep`, activities on the date of their `startTime`; logs
//! added through [`crate::Simulator::add_fitbit_log`] follow the day's generated ones.

use std::collections::HashMap;

use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::error::{self as fitbit_error, FitbitError};
use crate::dataset::History;

const MAX_LIMIT: usize = 100;

#[derive(Clone, Copy)]
pub(crate) enum List {
    Sleep,
    Activities,
}

impl List {
    pub(crate) fn name(self) -> &'static str {
        match self {
            List::Sleep => "sleep",
            List::Activities => "activities",
        }
    }

    /// The day's items in chronological order, then the logs `added` on that day.
    fn items_on<'a>(self, history: &'a History, added: &'a [Value], day: NaiveDate) -> Vec<Item<'a>> {
        let mut items: Vec<Item<'a>> = match self {
            List::Sleep => history.sleep_text(day).map(Item::Night).into_iter().collect(),
            List::Activities => history.activity_logs(day).iter().map(Item::Log).collect(),
        };
        let date_key = match self {
            List::Sleep => "dateOfSleep",
            List::Activities => "startTime",
        };
        let day = day.to_string();
        let on_day = |log: &&Value| log.get(date_key).and_then(Value::as_str).and_then(|d| d.get(..10)) == Some(&day);
        items.extend(added.iter().filter(on_day).map(Item::Log));
        items
    }
}

/// An item of the history, lent: the JSON of a log, or the text of a night.
#[derive(Clone, Copy)]
enum Item<'a> {
    Log(&'a Value),
    Night(&'a str),
}

impl Item<'_> {
    fn to_json(self) -> Value {
        match self {
            Item::Log(log) => log.clone(),
            Item::Night(text) => serde_json::from_str(text).expect("a kept night parses"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Before,
    After,
}

struct Page {
    direction: Direction,
    anchor: NaiveDate,
    offset: usize,
    limit: usize,
}

impl Page {
    fn parse(query: &HashMap<String, String>) -> Result<Page, FitbitError> {
        let (direction, raw) = match (query.get("beforeDate"), query.get("afterDate")) {
            (Some(date), None) => (Direction::Before, date),
            (None, Some(date)) => (Direction::After, date),
            _ => {
                return Err(fitbit_error::validation(
                    "beforeDate",
                    "Exactly one of beforeDate or afterDate is required.",
                ))
            }
        };
        let field = anchor_field(direction);
        let anchor = parse_date(raw, field)?;
        let sort = sort_order(direction);
        if query.get("sort").map(String::as_str) != Some(sort) {
            return Err(fitbit_error::validation("sort", format!("The sort order must be {sort} with {field}.")));
        }
        let offset = match query.get("offset") {
            None => 0,
            Some(raw) => raw.parse().map_err(|_| fitbit_error::validation("offset", "Invalid offset."))?,
        };
        let limit = query
            .get("limit")
            .and_then(|raw| raw.parse().ok())
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| {
                fitbit_error::validation("limit", format!("The limit must be between 1 and {MAX_LIMIT}."))
            })?;
        Ok(Page { direction, anchor, offset, limit })
    }
}

fn anchor_field(direction: Direction) -> &'static str {
    match direction {
        Direction::Before => "beforeDate",
        Direction::After => "afterDate",
    }
}

fn sort_order(direction: Direction) -> &'static str {
    match direction {
        Direction::Before => "desc",
        Direction::After => "asc",
    }
}

/// One page of `list` as `{"<list>":[…],"pagination":{…}}`; `link` is the list's absolute URL without query.
/// `next_link`, from a [`crate::FaultKind::NextLink`], replaces `pagination.next` whatever follows.
pub(crate) fn list(
    history: &History,
    added: &[Value],
    list: List,
    query: &HashMap<String, String>,
    link: &str,
    next_link: Option<&str>,
) -> Result<Response, FitbitError> {
    let page = Page::parse(query)?;
    let end = page.offset.saturating_add(page.limit);
    // One item more than the page tells whether a next page exists.
    let wanted = end.saturating_add(1);
    let mut items = Vec::new();
    match page.direction {
        Direction::Before => {
            let mut day = page.anchor.pred_opt().map(|day| day.min(history.last()));
            while let Some(current) = day.filter(|d| *d >= history.first() && items.len() < wanted) {
                items.extend(list.items_on(history, added, current).into_iter().rev());
                day = current.pred_opt();
            }
        }
        Direction::After => {
            let mut day = Some(page.anchor.max(history.first()));
            while let Some(current) = day.filter(|d| *d <= history.last() && items.len() < wanted) {
                items.extend(list.items_on(history, added, current));
                day = current.succ_opt();
            }
        }
    }
    let has_next = items.len() > end;
    let items: Vec<Value> = items.into_iter().skip(page.offset).take(page.limit).map(Item::to_json).collect();

    let (field, sort) = (anchor_field(page.direction), sort_order(page.direction));
    let page_link =
        |offset: usize| format!("{link}?{field}={}&sort={sort}&offset={offset}&limit={}", page.anchor, page.limit);
    let next = match next_link {
        Some(url) => url.to_string(),
        None if has_next => page_link(end),
        None => String::new(),
    };
    let previous = if page.offset > 0 { page_link(page.offset.saturating_sub(page.limit)) } else { String::new() };

    let mut pagination = Map::new();
    pagination.insert(field.into(), json!(page.anchor.to_string()));
    pagination.insert("limit".into(), json!(page.limit));
    pagination.insert("next".into(), json!(next));
    pagination.insert("offset".into(), json!(page.offset));
    pagination.insert("previous".into(), json!(previous));
    pagination.insert("sort".into(), json!(sort));
    let mut body = Map::new();
    body.insert(list.name().into(), Value::Array(items));
    body.insert("pagination".into(), Value::Object(pagination));
    Ok(Json(body).into_response())
}

/// `YYYY-MM-DD`, or Fitbit's 400 naming the field.
pub(crate) fn parse_date(value: &str, field: &'static str) -> Result<NaiveDate, FitbitError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 10)
        .ok_or_else(|| fitbit_error::validation(field, format!("Invalid date: {value}. Expected yyyy-MM-dd.")))
}
