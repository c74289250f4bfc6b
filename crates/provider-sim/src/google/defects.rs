//! Defective items on demand, per user ([`crate::Simulator::set_google_defects`]), for clients whose tests check that
//! every kind of item they skip is counted. Only the user's newest item of each kind is broken, in every answer that
//! holds it: the tracker's newest exercise loses `metricsSummary.caloriesKcal` (a required field missing), the newest
//! night's first stage becomes `SLEEP_STAGE_TYPE_UNSPECIFIED` (malformed), the newest weight loses its `name` (no id,
//! so no `dataPointName` in `reconcile` either) and the newest steps bucket counts `"many"` (malformed).

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::data_types::DataType;
use super::encoding::Encoding;
use super::{GoogleDays, Serving};
use crate::dataset::{worn, History};

/// In the object at the JSON pointer `parent`, `key` set to `value`, or removed when `value` is `None`.
pub(crate) struct Defect {
    parent: &'static str,
    key: &'static str,
    value: Option<&'static str>,
}

impl Defect {
    pub(crate) fn apply(&self, item: &mut Value) {
        let Some(object) = item.pointer_mut(self.parent).and_then(Value::as_object_mut) else { return };
        match self.value {
            Some(value) => object.insert(self.key.into(), json!(value)),
            None => object.remove(self.key),
        };
    }
}

/// The defect of the newest point of a data type, for the types that have one.
fn point_defect(path: &str) -> Option<Defect> {
    match path {
        "exercise" => Some(Defect { parent: "/exercise/metricsSummary", key: "caloriesKcal", value: None }),
        "sleep" => Some(Defect { parent: "/sleep/stages/0", key: "type", value: Some("SLEEP_STAGE_TYPE_UNSPECIFIED") }),
        "weight" => Some(Defect { parent: "", key: "name", value: None }),
        _ => None,
    }
}

const STEPS_BUCKET: Defect = Defect { parent: "/steps", key: "countSum", value: Some("many") };

/// The days of the history, newest first.
fn newest_first(history: &History) -> impl Iterator<Item = NaiveDate> {
    let first = history.first();
    history.last().iter_days().rev().take_while(move |day| *day >= first)
}

/// The defect of the newest (latest start) of the user's Fitbit points of `data_type`, the phone's walks aside, and
/// that point's `name`: the point of an answer to break, if the answer holds it and the type has a defect.
pub(crate) fn newest_point(history: &History, google: &GoogleDays, data_type: &DataType) -> Option<(Value, Defect)> {
    let defect = point_defect(data_type.path)?;
    let serving = Serving { encoding: Encoding::Proto3, phone: false, sleep_processing: false };
    let newest = newest_first(history).find_map(|day| {
        google.points(history, data_type, day, day, serving).into_iter().max_by_key(|p| p.start.physical())
    })?;
    Some((newest.name().clone(), defect))
}

/// Breaks the `steps` bucket of the user's newest worn day: the last of `buckets`, the answer for the days
/// `[start, end)`, when they hold that day.
pub(crate) fn break_newest_bucket(
    history: &History,
    data_type: &DataType,
    (start, end): (NaiveDate, NaiveDate),
    buckets: &mut [Value],
) {
    if data_type.path != "steps" {
        return;
    }
    let newest = newest_first(history).find(|day| history.day_totals(*day).is_some_and(|totals| worn(&totals)));
    if newest.is_some_and(|day| (start..end).contains(&day)) {
        if let Some(bucket) = buckets.last_mut() {
            STEPS_BUCKET.apply(bucket);
        }
    }
}
