//! A sync's reads from the Google Health API as OCARIoT objects: the scopes that allow them, the resource pages
//! (`reconcile` pages of exercise and sleep, weights paired with body fat range by range) newest first as Google pages
//! them, and the log parts (`dailyRollUp` chunks, one rollup type each, [`GoogleDataType`]).

use chrono::{Duration, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use mongodb::bson::Bson;
use serde_json::Value;

use super::data_type::GoogleDataType;
use super::transform;
use super::{GoogleClient, PacedRead};
use crate::domain::ocariot::Resource;
use crate::domain::{
    Feed, LogPart, Part, ProviderKind, ResourceKind, Skip, GOOGLE_ACTIVITY, GOOGLE_METRICS, GOOGLE_SLEEP,
};
use crate::provider::page::{skipped, LogEntries, LogPage, PageSlot, Reading, ResourcePage, SourceItem};

/// What a Google sync reads, and the scope of each: the resources, then one log part per rollup data type
/// ([`GoogleDataType`]).
pub const FEEDS: &[Feed] = &[
    Feed { part: Part::Resource(ResourceKind::Weights), scope: GOOGLE_METRICS },
    Feed { part: Part::Resource(ResourceKind::Sleep), scope: GOOGLE_SLEEP },
    Feed { part: Part::Resource(ResourceKind::Activities), scope: GOOGLE_ACTIVITY },
    Feed { part: GoogleDataType::Steps.part(), scope: GOOGLE_ACTIVITY },
    Feed { part: GoogleDataType::TotalCalories.part(), scope: GOOGLE_ACTIVITY },
    Feed { part: GoogleDataType::ActiveMinutes.part(), scope: GOOGLE_ACTIVITY },
    Feed { part: GoogleDataType::SedentaryPeriod.part(), scope: GOOGLE_ACTIVITY },
];

impl GoogleClient {
    /// A resource kind's items over the window, page by page (range by range for weights), each page in `slot`.
    pub fn resource_pages<'a>(
        &'a self,
        reading: &'a Reading<'a>,
        kind: ResourceKind,
        slot: &'a PageSlot,
    ) -> BoxStream<'a, ResourcePage> {
        let (token, child) = (reading.token, reading.child_id.as_str());
        let read = PacedRead { child, slot };
        let from = reading.window.logs_from;
        match kind {
            // A weigh-in's body fat is its own data point: both are read over the same range, then paired. The
            // newest range first, so that weights go out newest first like everything Google pages.
            ResourceKind::Weights => stream::iter(reading.window.weight_ranges().into_iter().rev())
                .then(move |(from, to)| async move {
                    let until = Some(to + Duration::days(1));
                    let (weights, body_fat): (Vec<Value>, Vec<Value>) = futures::try_join!(
                        self.reconcile(token, read, GoogleDataType::Weight.name(), from, until).try_concat(),
                        self.reconcile(token, read, GoogleDataType::BodyFat.name(), from, until).try_concat()
                    )?;
                    let pairs = transform::pair_body_fat(&weights, &body_fat);
                    let objects: Vec<_> = weights
                        .iter()
                        .zip(pairs)
                        .map(|(point, fat)| {
                            transform::weight(point, fat, child).map(Resource::from).map_err(Skip::from)
                        })
                        .collect();
                    Ok(weights
                        .into_iter()
                        .zip(objects)
                        .filter_map(|(point, object)| item(reading, kind, point, object))
                        .collect())
                })
                .boxed(),
            ResourceKind::Sleep => self
                .reconcile(token, read, GoogleDataType::Sleep.name(), from, None)
                .map_ok(move |points| {
                    let now = Utc::now();
                    points
                        .into_iter()
                        .filter_map(|point| {
                            let object = match transform::sleep_unfinished(&point, now) {
                                true => Err(Skip::Unfinished),
                                false => transform::sleep(&point, child).map(Resource::from).map_err(Skip::from),
                            };
                            item(reading, kind, point, object)
                        })
                        .collect()
                })
                .boxed(),
            ResourceKind::Activities => self
                .reconcile(token, read, GoogleDataType::Exercise.name(), from, None)
                .map_ok(move |points| {
                    points
                        .into_iter()
                        .filter_map(|point| {
                            let object = transform::exercise(&point, child).map(Resource::from).map_err(Skip::from);
                            item(reading, kind, point, object)
                        })
                        .collect()
                })
                .boxed(),
        }
    }

    /// Log part `part`'s entries over the window, chunk by chunk, each chunk in `slot`.
    pub fn log_pages<'a>(
        &'a self,
        reading: &'a Reading<'a>,
        part: LogPart,
        slot: &'a PageSlot,
    ) -> BoxStream<'a, LogPage> {
        let data_type = GoogleDataType::of_log_type(part.first());
        let (from, to, child) = (reading.window.logs_from, reading.window.today, reading.child_id.as_str());
        let read = PacedRead { child, slot };
        self.daily_roll_up(reading.token, read, data_type.name(), from, to)
            .map_ok(move |buckets| {
                data_type
                    .log_types()
                    .iter()
                    .map(|log_type| {
                        let (entries, malformed) = transform::daily_logs(&buckets, *log_type, child);
                        LogEntries { log_type: *log_type, entries, malformed }
                    })
                    .collect()
            })
            .boxed()
    }
}

fn item(reading: &Reading<'_>, kind: ResourceKind, point: Value, object: Result<Resource, Skip>) -> Option<SourceItem> {
    let Some(id) = transform::point_id(&point) else {
        skipped(ProviderKind::Google, kind.name(), reading.child, "without id", &Skip::NoId);
        return None;
    };
    let mut raw = point;
    // Recorded under `resource.logId`, the field the `resources` index and the original's queries use.
    raw["logId"] = Value::String(id.clone());
    Some(SourceItem { id: Bson::String(id), raw, object })
}
