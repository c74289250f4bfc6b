//! Injected failures: the ways Fitbit, Google and the network misbehave that ds-agent must survive (5xx pages, slow
//! answers, dropped connections), and the ways a hostile or compromised provider could (answers too large or endless,
//! redirects elsewhere, page links to another host, tokens of another client). Each fault affects a number of
//! matching requests, then disappears.

use std::time::Duration;

use serde::Deserialize;

#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// Only requests of this user (the bearer's user, or the owner of the token or code in the form); `None`: anyone.
    pub user: Option<String>,
    /// Only this kind of request; `None`: any route, legacy or Google.
    pub route: Option<Route>,
    pub kind: FaultKind,
    /// How many matching requests it affects.
    pub times: u32,
}

/// A kind of request, for faults and counting. In admin JSON: `token`, `revoke`, `introspect`, `data`, `google_token`,
/// `google_revoke`, `google_tokeninfo`, `google_consent`, `google_data`, `google_keyset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `POST /oauth2/token`
    Token,
    /// `POST /oauth2/revoke`
    Revoke,
    /// `POST /1.1/oauth2/introspect`
    Introspect,
    /// Every data GET under `/1/user/-/` and `/1.2/user/-/`
    Data,
    /// Google's `POST /token`, both grants
    GoogleToken,
    /// Google's `POST /revoke`
    GoogleRevoke,
    /// Google's `/tokeninfo`, `GET` or `POST`
    GoogleTokeninfo,
    /// Google's fake consent page, `GET /o/oauth2/v2/auth`
    GoogleConsent,
    /// Every Google Health API request under `/v4/`
    GoogleData,
    /// The webhook keyset, `GET /googlehealthapi/webhooks/webhooks_public_keyset.json` (counted for no user)
    GoogleKeyset,
}

impl Route {
    /// A route of the retired Fitbit API, which the legacy-gone switch turns into 410s.
    pub fn is_legacy(self) -> bool {
        matches!(self, Route::Token | Route::Revoke | Route::Introspect | Route::Data)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// This status with an HTML error page, as Fitbit's load balancers send.
    Status(u16),
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Close the connection without a complete response: the client sees a transport error.
    Drop,
    /// A 200 `application/json` body of `bytes` bytes: whitespace, then `{}`, so it is valid JSON if read whole. Streamed
    /// in chunks of one static buffer, never held in memory. `declared`: with a `Content-Length`, else chunked.
    Oversized { bytes: u64, declared: bool },
    /// A 200 `application/json` body of whitespace that never ends, until the client hangs up.
    Endless,
    /// `status` (a 3xx) with `Location: url` and no body.
    Redirect { status: u16, url: String },
    /// Fitbit list pages (`sleep/list.json`, `activities/list.json`): the page as usual, its `pagination.next` this URL.
    /// Other data GETs spend it without a change.
    NextLink(String),
    /// Google's tokeninfo: the answer as usual, but `aud` and `azp` name this other OAuth client.
    Audience(String),
    /// A Health API 429 for the project's quota (its `QuotaFailure` naming the project) with `Retry-After` set to this
    /// text: Google documents none, a broken or hostile one may send anything.
    ProjectQuota { retry_after: String },
}

#[derive(Default)]
pub(crate) struct Faults(Vec<Fault>);

impl Faults {
    pub(crate) fn add(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.0.push(fault);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The first fault matching this request, which spends one of its `times`. Faults added first win.
    pub(crate) fn take(&mut self, user: Option<&str>, route: Route) -> Option<FaultKind> {
        let index = self
            .0
            .iter()
            .position(|f| f.route.is_none_or(|r| r == route) && f.user.as_deref().is_none_or(|u| Some(u) == user))?;
        let fault = &mut self.0[index];
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.0.remove(index);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_match_user_and_route_and_wear_off() {
        let mut faults = Faults::default();
        faults.add(Fault { user: Some("A".into()), route: Some(Route::Data), kind: FaultKind::Drop, times: 2 });
        assert_eq!(faults.take(Some("B"), Route::Data), None);
        assert_eq!(faults.take(Some("A"), Route::Token), None);
        assert_eq!(faults.take(None, Route::Data), None);
        assert_eq!(faults.take(Some("A"), Route::Data), Some(FaultKind::Drop));
        assert_eq!(faults.take(Some("A"), Route::Data), Some(FaultKind::Drop));
        assert_eq!(faults.take(Some("A"), Route::Data), None);
    }
}
