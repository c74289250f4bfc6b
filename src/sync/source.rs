//! Where a sync's items come from: the child's provider, read over the sync's window and turned into OCARIoT
//! objects. Both providers yield the same objects (§10), so everything after this point is provider-blind.

use chrono::Utc;
use futures::future::join_all;
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

/// A log type's entries, and the entries skipped as malformed.
pub type LogRead = Result<(Vec<Value>, Vec<MalformedItem>), ProviderError>;

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

    pub async fn resources(&self, kind: ResourceKind) -> Result<Vec<SourceItem>, ProviderError> {
        match self.provider {
            ProviderKind::Fitbit => self.fitbit_resources(kind).await,
            ProviderKind::Google => self.google_resources(kind).await,
        }
    }

    /// Every log type's entries, in [`LogType::ALL`] order.
    pub async fn logs(&self) -> Vec<LogRead> {
        match self.provider {
            ProviderKind::Fitbit => self.fitbit_logs().await,
            ProviderKind::Google => self.google_logs().await,
        }
    }

    async fn fitbit_resources(&self, kind: ResourceKind) -> Result<Vec<SourceItem>, ProviderError> {
        let (fitbit, token, from) = (&self.providers.fitbit, self.token, self.window.logs_from);
        let raw = match kind {
            ResourceKind::Weights => fitbit.weights(token, &self.window.weight_ranges()).await?,
            ResourceKind::Sleep => fitbit.log_list(token, LogList::Sleep, from).await?,
            ResourceKind::Activities => fitbit.log_list(token, LogList::Activities, from).await?,
        };
        Ok(raw
            .into_iter()
            .filter_map(|item| {
                let Some(id) = item.get("logId").and_then(|id| mongodb::bson::to_bson(id).ok()) else {
                    skipped(ProviderKind::Fitbit.label(), kind.name(), self.child, "without logId", &Skip::NoId);
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
            .collect())
    }

    async fn fitbit_logs(&self) -> Vec<LogRead> {
        const SERIES: [&str; 6] = [
            "steps",
            "calories",
            "minutesFairlyActive",
            "minutesVeryActive",
            "minutesLightlyActive",
            "minutesSedentary",
        ];
        let reads = SERIES.map(|name| self.providers.fitbit.series(self.token, name, self.window.logs_from));
        let [steps, calories, fairly, very, lightly, sedentary] =
            <[_; 6]>::try_from(join_all(reads).await).unwrap_or_else(|_| unreachable!("six reads, six answers"));
        let child = &self.child_id;
        let plain = |series: Result<Vec<Value>, ProviderError>, log_type| {
            series.map(|series| transform::daily_logs(&series, log_type, child))
        };
        let active = match (fairly, very) {
            (Ok(fairly), Ok(very)) => {
                let (merged, mut skipped) = transform::active_minutes(&fairly, &very);
                let (entries, more) = transform::daily_logs(&merged, LogType::ActiveMinutes, child);
                skipped.extend(more);
                Ok((entries, skipped))
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        vec![
            plain(steps, LogType::Steps),
            plain(calories, LogType::Calories),
            active,
            plain(lightly, LogType::LightlyActiveMinutes),
            plain(sedentary, LogType::SedentaryMinutes),
        ]
    }

    async fn google_resources(&self, kind: ResourceKind) -> Result<Vec<SourceItem>, ProviderError> {
        let (google, token, child) = (&self.providers.google, self.token, self.child_id.as_str());
        let item = |point: Value, object: Result<Value, Skip>| {
            let Some(id) = google::point_id(&point) else {
                skipped(ProviderKind::Google.label(), kind.name(), self.child, "without id", &Skip::NoId);
                return None;
            };
            let mut raw = point;
            // Recorded under `resource.logId`, the field the `resources` index and the original's queries use.
            raw["logId"] = Value::String(id.clone());
            Some(SourceItem { id: Bson::String(id), raw, object })
        };
        let read = |data_type| google.reconcile(token, child, data_type, self.window.logs_from);
        let items = match kind {
            ResourceKind::Weights => {
                let from = self.window.weights_from;
                let (weights, body_fat) = futures::try_join!(
                    google.reconcile(token, child, "weight", from),
                    google.reconcile(token, child, "body-fat", from)
                )?;
                let pairs = google::pair_body_fat(&weights, &body_fat);
                weights
                    .iter()
                    .zip(pairs)
                    .filter_map(|(point, fat)| {
                        item(point.clone(), google::weight(point, fat, child).map_err(Skip::from))
                    })
                    .collect()
            }
            ResourceKind::Sleep => {
                let now = Utc::now();
                read("sleep")
                    .await?
                    .into_iter()
                    .filter_map(|point| {
                        let object = match google::sleep_unfinished(&point, now) {
                            true => Err(Skip::Unfinished),
                            false => google::sleep(&point, child).map_err(Skip::from),
                        };
                        item(point, object)
                    })
                    .collect()
            }
            ResourceKind::Activities => read("exercise")
                .await?
                .into_iter()
                .filter_map(|point| {
                    let object = google::exercise(&point, child).map_err(Skip::from);
                    item(point, object)
                })
                .collect(),
        };
        Ok(items)
    }

    async fn google_logs(&self) -> Vec<LogRead> {
        // Active and lightly active minutes come from the same `active-minutes` buckets: read once.
        let types = ["steps", "total-calories", "active-minutes", "sedentary-period"];
        let (from, to) = (self.window.logs_from, self.window.today);
        let reads =
            types.map(|data_type| self.providers.google.daily_roll_up(self.token, &self.child_id, data_type, from, to));
        let buckets = join_all(reads).await;
        LogType::ALL
            .iter()
            .map(|log_type| {
                let data_type = google::rollup_data_type(*log_type);
                let position = types.iter().position(|t| *t == data_type).expect("every log type is read");
                match &buckets[position] {
                    Ok(buckets) => Ok(google::daily_logs(buckets, *log_type, &self.child_id)),
                    Err(e) => Err(e.clone()),
                }
            })
            .collect()
    }
}
