//! The three kinds of provider items that are published once each and remembered in `resources`: what each is
//! called in the store and in the logs, and the key the OCARIoT consumers de-duplicate them by.

use serde_json::Value;

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
}
