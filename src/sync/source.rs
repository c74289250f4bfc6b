//! Where a sync's items come from: the child's provider, read over the sync's window and turned into OCARIoT objects,
//! one page at a time. Both providers yield the same objects (docs/decisions.md#published-payloads), so everything
//! after this point is provider-blind.

use chrono::{Duration, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use mongodb::bson::Bson;
use serde_json::Value;

use super::resource::ResourceKind;
use super::skip::{skipped, Skip};
use super::transform::{self, google, LogType, MalformedItem};
use super::window::SyncWindow;
use crate::domain::{ChildId, ProviderKind, GOOGLE_ACTIVITY, GOOGLE_METRICS, GOOGLE_SLEEP};
use crate::provider::fitbit::LogList;
use crate::provider::{ProviderError, Providers};

/// One provider item: its id (`resource.logId`), the raw JSON to record, and its OCARIoT object or why it is skipped.
pub struct SourceItem {
    pub id: Bson,
    pub raw: Value,
    pub object: Result<Value, Skip>,
}

/// One page of a resource kind's items, in the provider's order.
pub type ResourcePage = Result<Vec<SourceItem>, ProviderError>;

/// One log type's entries from one page of a log part, and the entries skipped as malformed.
pub struct LogEntries {
    pub log_type: LogType,
    pub entries: Vec<Value>,
    pub malformed: Vec<MalformedItem>,
}

/// One page of a log part: the entries of each of the part's log types.
pub type LogPage = Result<Vec<LogEntries>, ProviderError>;

/// The log parts of a Fitbit sync: one series each (active minutes merge two).
const FITBIT_LOG_PARTS: &[&[LogType]] = &[
    &[LogType::Steps],
    &[LogType::Calories],
    &[LogType::ActiveMinutes],
    &[LogType::LightlyActiveMinutes],
    &[LogType::SedentaryMinutes],
];
/// The log parts of a Google sync: one rollup data type each; active and lightly active minutes come from the same
/// `active-minutes` buckets, read once.
const GOOGLE_LOG_PARTS: &[(&str, &[LogType])] = &[
    ("steps", &[LogType::Steps]),
    ("total-calories", &[LogType::Calories]),
    ("active-minutes", &[LogType::ActiveMinutes, LogType::LightlyActiveMinutes]),
    ("sedentary-period", &[LogType::SedentaryMinutes]),
];

pub struct Source<'a> {
    pub providers: &'a Providers,
    pub provider: ProviderKind,
    pub token: &'a str,
    pub child: ChildId,
    /// `child` as the OCARIoT objects carry it.
    pub child_id: String,
    pub window: SyncWindow,
}

impl Source<'_> {
    /// The scope that allows reading a resource kind (`None`: the daily logs).
    pub fn scope(&self, kind: Option<ResourceKind>) -> &'static str {
        match (self.provider, kind) {
            (ProviderKind::Fitbit, Some(ResourceKind::Weights)) => "rwei",
            (ProviderKind::Fitbit, Some(ResourceKind::Sleep)) => "rsle",
            (ProviderKind::Fitbit, _) => "ract",
            (ProviderKind::Google, Some(ResourceKind::Weights)) => GOOGLE_METRICS,
            (ProviderKind::Google, Some(ResourceKind::Sleep)) => GOOGLE_SLEEP,
            (ProviderKind::Google, _) => GOOGLE_ACTIVITY,
        }
    }

    /// A resource kind's items over the window, page by page (or range by range for weights), so that a sync holds
    /// one page at a time. The stream ends at the first error.
    pub fn resource_pages(&self, kind: ResourceKind) -> BoxStream<'_, ResourcePage> {
        let pages = match self.provider {
            ProviderKind::Fitbit => self.fitbit_pages(kind),
            ProviderKind::Google => self.google_pages(kind),
        };
        pages.take_while_ok()
    }

    /// The log types of each log part, in the order [`Source::log_pages`] numbers the parts.
    pub fn log_parts(&self) -> Vec<&'static [LogType]> {
        match self.provider {
            ProviderKind::Fitbit => FITBIT_LOG_PARTS.to_vec(),
            ProviderKind::Google => GOOGLE_LOG_PARTS.iter().map(|(_, types)| *types).collect(),
        }
    }

    /// The Google log part that reads `data_type` (a rollup type), if any.
    pub fn log_part_reading(&self, data_type: &str) -> Option<usize> {
        match self.provider {
            ProviderKind::Fitbit => None,
            ProviderKind::Google => GOOGLE_LOG_PARTS.iter().position(|(read, _)| *read == data_type),
        }
    }

    /// Log part `part`'s entries over the window, chunk by chunk. The stream ends at the first error.
    pub fn log_pages(&self, part: usize) -> BoxStream<'_, LogPage> {
        let pages = match self.provider {
            ProviderKind::Fitbit => self.fitbit_log_pages(FITBIT_LOG_PARTS[part][0]),
            ProviderKind::Google => self.google_log_pages(GOOGLE_LOG_PARTS[part]),
        };
        pages.take_while_ok()
    }

    fn fitbit_pages(&self, kind: ResourceKind) -> BoxStream<'_, ResourcePage> {
        let (fitbit, token, from) = (&self.providers.fitbit, self.token, self.window.logs_from);
        let pages = match kind {
            ResourceKind::Weights => stream::iter(self.window.weight_ranges())
                .then(move |(from, to)| fitbit.weights(token, from, to))
                .boxed(),
            ResourceKind::Sleep => fitbit.log_list(token, LogList::Sleep, from).boxed(),
            ResourceKind::Activities => fitbit.log_list(token, LogList::Activities, from).boxed(),
        };
        pages.map_ok(move |raw| self.fitbit_items(kind, raw)).boxed()
    }

    fn fitbit_items(&self, kind: ResourceKind, raw: Vec<Value>) -> Vec<SourceItem> {
        raw.into_iter()
            .filter_map(|item| {
                let Some(id) = item.get("logId").and_then(|id| mongodb::bson::to_bson(id).ok()) else {
                    skipped(ProviderKind::Fitbit, kind.name(), self.child, "without logId", &Skip::NoId);
                    return None;
                };
                let object = match kind {
                    ResourceKind::Weights => transform::weight(&item, &self.child_id),
                    ResourceKind::Sleep => transform::sleep(&item, &self.child_id),
                    ResourceKind::Activities => transform::physical_activity(&item, &self.child_id),
                }
                .map_err(Skip::from);
                Some(SourceItem { id, raw: item, object })
            })
            .collect()
    }

    fn fitbit_log_pages(&self, log_type: LogType) -> BoxStream<'_, LogPage> {
        let (fitbit, token, from) = (&self.providers.fitbit, self.token, self.window.logs_from);
        let child = self.child_id.as_str();
        // One request reads a series' whole window: each series is a single page.
        stream::once(async move {
            let (entries, malformed) = match log_type {
                LogType::ActiveMinutes => {
                    let (fairly, very) = futures::try_join!(
                        fitbit.series(token, "minutesFairlyActive", from),
                        fitbit.series(token, "minutesVeryActive", from)
                    )?;
                    let (merged, mut malformed) = transform::active_minutes(&fairly, &very);
                    let (entries, more) = transform::daily_logs(&merged, LogType::ActiveMinutes, child);
                    malformed.extend(more);
                    (entries, malformed)
                }
                _ => {
                    let series = fitbit.series(token, fitbit_series(log_type), from).await?;
                    transform::daily_logs(&series, log_type, child)
                }
            };
            Ok(vec![LogEntries { log_type, entries, malformed }])
        })
        .boxed()
    }

    fn google_pages(&self, kind: ResourceKind) -> BoxStream<'_, ResourcePage> {
        let (google, token, child) = (&self.providers.google, self.token, self.child_id.as_str());
        let from = self.window.logs_from;
        match kind {
            // A weigh-in's body fat is its own data point: both are read over the same range, then paired. The
            // newest range first, so that weights go out newest first like everything Google pages.
            ResourceKind::Weights => stream::iter(self.window.weight_ranges().into_iter().rev())
                .then(move |(from, to)| async move {
                    let until = Some(to + Duration::days(1));
                    let (weights, body_fat): (Vec<Value>, Vec<Value>) = futures::try_join!(
                        google.reconcile(token, child, "weight", from, until).try_concat(),
                        google.reconcile(token, child, "body-fat", from, until).try_concat()
                    )?;
                    let pairs = google::pair_body_fat(&weights, &body_fat);
                    let objects: Vec<_> = weights
                        .iter()
                        .zip(pairs)
                        .map(|(point, fat)| google::weight(point, fat, child).map_err(Skip::from))
                        .collect();
                    Ok(weights
                        .into_iter()
                        .zip(objects)
                        .filter_map(|(point, object)| self.google_item(kind, point, object))
                        .collect())
                })
                .boxed(),
            ResourceKind::Sleep => google
                .reconcile(token, child, "sleep", from, None)
                .map_ok(move |points| {
                    let now = Utc::now();
                    points
                        .into_iter()
                        .filter_map(|point| {
                            let object = match google::sleep_unfinished(&point, now) {
                                true => Err(Skip::Unfinished),
                                false => google::sleep(&point, child).map_err(Skip::from),
                            };
                            self.google_item(kind, point, object)
                        })
                        .collect()
                })
                .boxed(),
            ResourceKind::Activities => google
                .reconcile(token, child, "exercise", from, None)
                .map_ok(move |points| {
                    points
                        .into_iter()
                        .filter_map(|point| {
                            let object = google::exercise(&point, child).map_err(Skip::from);
                            self.google_item(kind, point, object)
                        })
                        .collect()
                })
                .boxed(),
        }
    }

    fn google_item(&self, kind: ResourceKind, point: Value, object: Result<Value, Skip>) -> Option<SourceItem> {
        let Some(id) = google::point_id(&point) else {
            skipped(ProviderKind::Google, kind.name(), self.child, "without id", &Skip::NoId);
            return None;
        };
        let mut raw = point;
        // Recorded under `resource.logId`, the field the `resources` index and the original's queries use.
        raw["logId"] = Value::String(id.clone());
        Some(SourceItem { id: Bson::String(id), raw, object })
    }

    fn google_log_pages(&self, (data_type, log_types): (&'static str, &'static [LogType])) -> BoxStream<'_, LogPage> {
        let (from, to, child) = (self.window.logs_from, self.window.today, self.child_id.as_str());
        self.providers
            .google
            .daily_roll_up(self.token, child, data_type, from, to)
            .map_ok(move |buckets| {
                log_types
                    .iter()
                    .map(|log_type| {
                        let (entries, malformed) = google::daily_logs(&buckets, *log_type, child);
                        LogEntries { log_type: *log_type, entries, malformed }
                    })
                    .collect()
            })
            .boxed()
    }
}

/// The Fitbit series of a single-series log type.
fn fitbit_series(log_type: LogType) -> &'static str {
    match log_type {
        LogType::Steps => "steps",
        LogType::Calories => "calories",
        LogType::LightlyActiveMinutes => "minutesLightlyActive",
        LogType::SedentaryMinutes => "minutesSedentary",
        LogType::ActiveMinutes => unreachable!("active minutes merge two series"),
    }
}

/// Ends a stream of pages after its first error, whatever the pages behind it would say.
trait TakeWhileOk<'a, T> {
    fn take_while_ok(self) -> BoxStream<'a, Result<T, ProviderError>>;
}

impl<'a, T: Send + 'a> TakeWhileOk<'a, T> for BoxStream<'a, Result<T, ProviderError>> {
    fn take_while_ok(self) -> BoxStream<'a, Result<T, ProviderError>> {
        let mut failed = false;
        self.take_while(move |page| {
            let go_on = !failed;
            failed |= page.is_err();
            futures::future::ready(go_on)
        })
        .boxed()
    }
}
