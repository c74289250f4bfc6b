//! A sync's reads from the Fitbit Web API as OCARIoT objects: the scopes that allow them, the resource pages (weights
//! range by range, sleep and activity lists page by page) and the log parts (one daily series each; active minutes
//! merge two), oldest first as Fitbit pages them.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde_json::Value;

use super::transform;
use super::{FitbitClient, LogList};
use crate::domain::ocariot::{LogType, Resource};
use crate::domain::{Feed, LogPart, Part, ProviderKind, ResourceKind, Skip};
use crate::provider::page::{skipped, LogEntries, LogPage, Reading, ResourcePage, SourceItem};

/// What a Fitbit sync reads, and the scope of each: the resources, then one log part per daily series (active
/// minutes merge two series into one part).
pub const FEEDS: &[Feed] = &[
    Feed { part: Part::Resource(ResourceKind::Weights), scope: "rwei" },
    Feed { part: Part::Resource(ResourceKind::Sleep), scope: "rsle" },
    Feed { part: Part::Resource(ResourceKind::Activities), scope: "ract" },
    Feed { part: Part::Logs(LogPart(&[LogType::Steps])), scope: "ract" },
    Feed { part: Part::Logs(LogPart(&[LogType::Calories])), scope: "ract" },
    Feed { part: Part::Logs(LogPart(&[LogType::ActiveMinutes])), scope: "ract" },
    Feed { part: Part::Logs(LogPart(&[LogType::LightlyActiveMinutes])), scope: "ract" },
    Feed { part: Part::Logs(LogPart(&[LogType::SedentaryMinutes])), scope: "ract" },
];

impl FitbitClient {
    /// A resource kind's items over the window, page by page (or range by range for weights).
    pub fn resource_pages<'a>(&'a self, reading: &'a Reading<'a>, kind: ResourceKind) -> BoxStream<'a, ResourcePage> {
        let (token, from) = (reading.token, reading.window.logs_from);
        let pages = match kind {
            ResourceKind::Weights => stream::iter(reading.window.weight_ranges())
                .then(move |(from, to)| self.weights(token, from, to))
                .boxed(),
            ResourceKind::Sleep => self.log_list(token, LogList::Sleep, from).boxed(),
            ResourceKind::Activities => self.log_list(token, LogList::Activities, from).boxed(),
        };
        pages.map_ok(move |raw| items(reading, kind, raw)).boxed()
    }

    /// Log part `part`'s entries over the window: one request reads a series' whole window, so each is one page.
    pub fn log_pages<'a>(&'a self, reading: &'a Reading<'a>, part: LogPart) -> BoxStream<'a, LogPage> {
        let log_type = part.first();
        let (token, from, child) = (reading.token, reading.window.logs_from, reading.child_id.as_str());
        stream::once(async move {
            let (entries, malformed) = match log_type {
                LogType::ActiveMinutes => {
                    let (fairly, very) = futures::try_join!(
                        self.series(token, "minutesFairlyActive", from),
                        self.series(token, "minutesVeryActive", from)
                    )?;
                    let (merged, mut malformed) = transform::active_minutes(&fairly, &very);
                    let (entries, more) = transform::daily_logs(&merged, LogType::ActiveMinutes, child);
                    malformed.extend(more);
                    (entries, malformed)
                }
                _ => {
                    let series = self.series(token, series_name(log_type), from).await?;
                    transform::daily_logs(&series, log_type, child)
                }
            };
            Ok(vec![LogEntries { log_type, entries, malformed }])
        })
        .boxed()
    }
}

fn items(reading: &Reading<'_>, kind: ResourceKind, raw: Vec<Value>) -> Vec<SourceItem> {
    raw.into_iter()
        .filter_map(|item| {
            let Some(id) = item.get("logId").and_then(|id| mongodb::bson::to_bson(id).ok()) else {
                skipped(ProviderKind::Fitbit, kind.name(), reading.child, "without logId", &Skip::NoId);
                return None;
            };
            let object = match kind {
                ResourceKind::Weights => transform::weight(&item, &reading.child_id).map(Resource::from),
                ResourceKind::Sleep => transform::sleep(&item, &reading.child_id).map(Resource::from),
                ResourceKind::Activities => transform::physical_activity(&item, &reading.child_id).map(Resource::from),
            }
            .map_err(Skip::from);
            Some(SourceItem { id, raw: item, object })
        })
        .collect()
}

/// The Fitbit series of a single-series log type.
fn series_name(log_type: LogType) -> &'static str {
    match log_type {
        LogType::Steps => "steps",
        LogType::Calories => "calories",
        LogType::LightlyActiveMinutes => "minutesLightlyActive",
        LogType::SedentaryMinutes => "minutesSedentary",
        LogType::ActiveMinutes => unreachable!("active minutes merge two series"),
    }
}
