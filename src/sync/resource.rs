//! The three kinds of provider items that are published once each and remembered in `resources`: what each is
//! called in the store, on the bus and in the logs.

use serde_json::Value;

use crate::bus::Event;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    Weights,
    Sleep,
    Activities,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 3] = [ResourceKind::Weights, ResourceKind::Sleep, ResourceKind::Activities];

    /// `resources.type`, as the original named it.
    pub fn record_type(self) -> &'static str {
        match self {
            ResourceKind::Weights => "body",
            ResourceKind::Sleep => "sleep",
            ResourceKind::Activities => "activities",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::Weights => "weights",
            ResourceKind::Sleep => "sleep",
            ResourceKind::Activities => "activities",
        }
    }

    /// The key the OCARIoT consumers de-duplicate an object by, besides the child: the start of an activity or a
    /// night, the time of a weigh-in.
    pub fn natural_key(self, object: &Value) -> Option<&str> {
        let field = match self {
            ResourceKind::Weights => "timestamp",
            ResourceKind::Sleep | ResourceKind::Activities => "start_time",
        };
        object.get(field)?.as_str()
    }

    /// One event carrying `items` (docs/decisions.md#events-on-the-bus).
    pub fn event(self, items: &[Value]) -> Event {
        match self {
            ResourceKind::Weights => Event::items("WeightSyncEvent", "weights.sync", "weight", items),
            ResourceKind::Sleep => Event::items("SleepSyncEvent", "sleep.sync", "sleep", items),
            ResourceKind::Activities => {
                Event::items("PhysicalActivitySyncEvent", "physicalactivities.sync", "physicalactivity", items)
            }
        }
    }
}
