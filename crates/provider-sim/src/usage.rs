//! What each user sent, so tests can assert how many calls ds-agent made and which data it asked for.

use crate::faults::Route;

/// Legacy Fitbit requests received per route for one user, failed ones included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub refresh: u32,
    pub revoke: u32,
    pub introspect: u32,
    pub data: u32,
}

/// Google requests received for one user, failed ones included. A request counts for a user when its bearer token,
/// refresh token, code, revoked token or described token belongs to that user (or, on the consent page, when the user
/// signs in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GoogleCounts {
    /// `POST /token` with `grant_type=refresh_token` (or any grant type but `authorization_code` and the service
    /// account's JWT-bearer grant, which counts for no user).
    pub refresh: u32,
    /// `POST /token` with `grant_type=authorization_code`.
    pub code_exchange: u32,
    /// `POST /revoke`.
    pub revoke: u32,
    /// `GET /tokeninfo`.
    pub tokeninfo: u32,
    /// `GET /o/oauth2/v2/auth`.
    pub consent: u32,
    /// Health API requests under `/v4/`.
    pub data: u32,
    /// Health API requests refused with 429 `RESOURCE_EXHAUSTED`, by the per-minute quota or the per-second pacing
    /// (also counted in `data`).
    pub rate_limited: u32,
}

#[derive(Clone, Default)]
pub(crate) struct Usage {
    pub counts: RequestCounts,
    /// Path and query of each data GET, in arrival order.
    pub data_paths: Vec<String>,
    pub google: GoogleCounts,
    /// `"<METHOD> <path and query>[ <JSON body>]"` of each Health API request, in arrival order.
    pub google_requests: Vec<String>,
}

impl Usage {
    /// Counts a request of `route`; `detail` is the path and query of data requests (with the body of POSTs for Google)
    /// and the `grant_type` of Google token requests.
    pub(crate) fn record(&mut self, route: Route, detail: &str) {
        let counter = match route {
            Route::Token => &mut self.counts.refresh,
            Route::Revoke => &mut self.counts.revoke,
            Route::Introspect => &mut self.counts.introspect,
            Route::Data => {
                self.data_paths.push(detail.to_string());
                &mut self.counts.data
            }
            Route::GoogleToken if detail == "authorization_code" => &mut self.google.code_exchange,
            Route::GoogleToken => &mut self.google.refresh,
            Route::GoogleRevoke => &mut self.google.revoke,
            Route::GoogleTokeninfo => &mut self.google.tokeninfo,
            Route::GoogleConsent => &mut self.google.consent,
            Route::GoogleData => {
                self.google_requests.push(detail.to_string());
                &mut self.google.data
            }
            // Fetched by no user: never counted.
            Route::GoogleKeyset => return,
        };
        *counter += 1;
    }
}
