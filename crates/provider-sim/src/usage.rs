//! What each user sent, so tests can assert how many calls ds-agent made and which data it asked for.

use crate::faults::Route;

/// Requests received per route for one user, failed ones included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub refresh: u32,
    pub revoke: u32,
    pub introspect: u32,
    pub data: u32,
}

#[derive(Clone, Default)]
pub(crate) struct Usage {
    pub counts: RequestCounts,
    /// Path and query of each data GET, in arrival order.
    pub data_paths: Vec<String>,
}

impl Usage {
    pub(crate) fn record(&mut self, route: Route, path_and_query: &str) {
        let counter = match route {
            Route::Token => &mut self.counts.refresh,
            Route::Revoke => &mut self.counts.revoke,
            Route::Introspect => &mut self.counts.introspect,
            Route::Data => {
                self.data_paths.push(path_and_query.to_string());
                &mut self.counts.data
            }
        };
        *counter += 1;
    }
}
