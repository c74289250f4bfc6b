//! The three kinds of provider items that are published once each and remembered in `resources`: what each is
//! called in the store and in the logs.

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
}
