//! A user's Google points of the `list` types, made from the Fitbit items of a [`History`] the first time they are
//! asked for and kept, day by day and per [`Encoding`] (for the memo, `src/memo.rs`): the Fitbit devices' points, the phone's walk
//! apart, and the newest night also as still processing. Which of them an answer holds is up to its [`Serving`];
//! what is kept is only ever what generation gives, never broken, renamed or added to.

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde_json::Value;

use super::data_types::DataType;
use super::encoding::Encoding;
use super::filter::Timed;
use super::mapping::{self, Point};
use super::time::LocalTime;
use super::{health_user_id, phone, Serving};
use crate::column::Column;
use crate::dataset::History;

/// A point as kept: its times and name (for filters, order and defects) beside its JSON. Nights, the bulk of a
/// history, are kept as compact JSON text, parsed again for the answers that hold them: they have only strings,
/// integers and booleans, so the text parses back to the same JSON.
pub(crate) struct Kept {
    pub start: LocalTime,
    pub end: LocalTime,
    /// `name` of the JSON (`null` if it has none).
    name: Value,
    json: Json,
}

enum Json {
    Value(Value),
    Text(Box<str>),
}

impl Kept {
    pub(crate) fn value(point: Point) -> Kept {
        let name = point.value["name"].clone();
        Kept { start: point.start, end: point.end, name, json: Json::Value(point.value) }
    }

    fn text(point: Point) -> Kept {
        let name = point.value["name"].clone();
        let text = point.value.to_string().into_boxed_str();
        Kept { start: point.start, end: point.end, name, json: Json::Text(text) }
    }

    pub(crate) fn name(&self) -> &Value {
        &self.name
    }

    /// The point's JSON, lent when kept as such.
    pub(crate) fn json(&self) -> Cow<'_, Value> {
        match &self.json {
            Json::Value(value) => Cow::Borrowed(value),
            Json::Text(text) => Cow::Owned(serde_json::from_str(text).expect("a kept point parses")),
        }
    }
}

impl Timed for Kept {
    fn start(&self) -> LocalTime {
        self.start
    }

    fn end(&self) -> LocalTime {
        self.end
    }
}

pub(crate) struct GoogleDays {
    health_user: String,
    /// Per [`Encoding`], made on first use: most users are only ever served in one.
    encodings: [OnceLock<Columns>; 2],
    days: usize,
}

/// One encoding's points, by day of the history.
struct Columns {
    /// The tracker's, oldest first.
    exercise: Column<Vec<Kept>>,
    phone: Column<Option<Kept>>,
    /// Processed.
    sleep: Column<Option<Kept>>,
    /// The newest night, still processing.
    processing: OnceLock<Option<Kept>>,
    weight: Column<Option<Kept>>,
    body_fat: Column<Option<Kept>>,
}

impl Columns {
    fn new(days: usize) -> Columns {
        Columns {
            exercise: Column::new(days),
            phone: Column::new(days),
            sleep: Column::new(days),
            processing: OnceLock::new(),
            weight: Column::new(days),
            body_fat: Column::new(days),
        }
    }
}

impl GoogleDays {
    /// Empty yet, for the days of `history`.
    pub(crate) fn new(history: &History) -> GoogleDays {
        GoogleDays {
            health_user: health_user_id(history.user()),
            encodings: [OnceLock::new(), OnceLock::new()],
            days: history.day_count(),
        }
    }

    /// The points of a data type for the Fitbit items of `history` (the one this was made for) dated `from` to
    /// `to`, day by day and, within a day, the tracker's before the phone's.
    pub(crate) fn points(
        &self,
        history: &History,
        data_type: &DataType,
        from: NaiveDate,
        to: NaiveDate,
        serving: Serving,
    ) -> Vec<&Kept> {
        let encoding = serving.encoding;
        let slot = match encoding {
            Encoding::Proto3 => 0,
            Encoding::Verbose => 1,
        };
        let columns = self.encodings[slot].get_or_init(|| Columns::new(self.days));
        let health_user = self.health_user.as_str();
        // Days outside the history have no items.
        let (from, to) = (from.max(history.first()), to.min(history.last()));
        let days = from.iter_days().take_while(|day| *day <= to).filter_map(|day| Some((day, history.index(day)?)));
        match data_type.path {
            "exercise" => days
                .flat_map(|(day, index)| {
                    let tracker = columns.exercise.get(index, || {
                        let logs = history.activity_logs(day).iter();
                        logs.filter_map(|log| mapping::exercise(health_user, log, encoding)).map(Kept::value).collect()
                    });
                    let phone = serving.phone.then(|| {
                        let walk = || {
                            phone::walk(history, health_user, day, history.activity_logs(day), encoding)
                                .map(Kept::value)
                        };
                        columns.phone.get(index, walk).and_then(Option::as_ref)
                    });
                    tracker.into_iter().flatten().chain(phone.flatten())
                })
                .collect(),
            "sleep" => days
                .filter_map(|(day, index)| {
                    let night = |processed| {
                        move || {
                            let log = history.sleep_on(day)?;
                            mapping::sleep(health_user, &log, encoding, processed).map(Kept::text)
                        }
                    };
                    if serving.sleep_processing && day == history.last() {
                        columns.processing.get_or_init(night(false)).as_ref()
                    } else {
                        columns.sleep.get(index, night(true)).and_then(Option::as_ref)
                    }
                })
                .collect(),
            "weight" => days
                .filter_map(|(day, index)| {
                    let make =
                        || history.weight_on(day).and_then(|log| mapping::weight(health_user, log)).map(Kept::value);
                    columns.weight.get(index, make).and_then(Option::as_ref)
                })
                .collect(),
            "body-fat" => days
                .filter_map(|(day, index)| {
                    let make =
                        || history.weight_on(day).and_then(|log| mapping::body_fat(health_user, log)).map(Kept::value);
                    columns.body_fat.get(index, make).and_then(Option::as_ref)
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}
