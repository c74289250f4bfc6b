//! The server-side Google connect flow (docs/decisions.md#which-provider-a-child-is-on): the app sends the family's
//! browser to `…/google/authorize`, which redirects to Google's consent page; Google sends it back to
//! `/v1/google/callback`, where the code is exchanged and the tokens stored as POST auth would. The client secret never
//! leaves the service.
//!
//! The callback is public, so the flow trusts nothing it did not sign or set itself: the app's `redirect_uri` must be
//! one of `GOOGLE_REDIRECT_URIS`; the `state` is bound to the browser through a cookie whose secret is also the PKCE
//! verifier, and is good for one callback; in production the callback URL is `GOOGLE_CALLBACK_URL`, never the
//! request's `Host` (docs/operations.md#the-google-connect-flow).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::header::{COOKIE, HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use secrecy::ExposeSecret;

use super::auth::refused;
use super::error::{ApiError, Dependency};
use super::user_id::UserId;
use super::AppState;
use crate::config::Environment;
use crate::domain::ChildId;
use crate::error_chain::Chain;
use crate::tokens::{BrowserSecret, STATE_LIFETIME_SECS};

/// The cookie that holds the browser's [`BrowserSecret`] between the authorize and callback requests.
const CONNECT_COOKIE: &str = "ds_agent_google_connect";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/google/authorize", get(authorize))
        .route("/v1/google/callback", get(callback))
}

async fn authorize(
    State(state): State<AppState>,
    UserId(user_id): UserId,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let child = ChildId::parse(&user_id)?;
    let redirect_uri = query.get("redirect_uri").map(String::as_str).unwrap_or_default();
    if !is_web_url(redirect_uri) {
        return Err(ApiError::validation(
            "Required fields were not provided...",
            "Google Authorization: redirect_uri required, as an absolute http(s) URL!",
        ));
    }
    if !is_allowed_redirect(redirect_uri, &state.settings.google_redirect_uris) {
        return Err(ApiError::validation(
            "Invalid redirect_uri.",
            "Google Authorization: redirect_uri is not one of the app pages this service may send a browser to \
             (GOOGLE_REDIRECT_URIS)!",
        ));
    }
    let Some(client_id) = state.providers.google.credentials().client_id.clone() else {
        return Err(ApiError::NotFound {
            message: "Google client credentials are not configured.".into(),
            description: Some("Set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET.".into()),
        });
    };
    let callback = callback_url(&state, &headers)?;
    let browser = BrowserSecret::generate();
    let signed = state.state_signer.issue(child, redirect_uri, &callback, &browser, chrono::Utc::now().timestamp());
    let login_hint = query.get("login_hint").map(String::as_str);
    let consent = state.providers.google.consent_url(&client_id, &callback, &signed, &browser.challenge(), login_hint);
    let mut response = found(consent.as_str());
    let cookie = connect_cookie(&callback, browser.expose(), STATE_LIFETIME_SECS);
    response.headers_mut().insert(SET_COOKIE, cookie);
    Ok(response)
}

/// A bad or expired `state` is a 400 and stores nothing; every other outcome goes back to the app's redirect URI as
/// `status=success` or `status=error&error=<reason>`.
async fn callback(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let signed = query.get("state").map(String::as_str).unwrap_or_default();
    let browser = cookie(&headers, CONNECT_COOKIE).and_then(BrowserSecret::from_cookie);
    let invalid = |e: crate::tokens::InvalidState| {
        ApiError::validation(e.to_string(), "Please start the Google authorization again.")
    };
    let (child, connect) =
        state.state_signer.verify(signed, browser.as_ref(), chrono::Utc::now().timestamp()).map_err(invalid)?;
    let browser = browser.expect("a verified state came with its browser's secret");
    let lifetime = std::time::Duration::from_secs(STATE_LIFETIME_SECS as u64);
    match state.coordination.claim_once(&connect.used_key(), lifetime).await {
        Ok(true) => {}
        Ok(false) => return Err(invalid(crate::tokens::InvalidState)),
        Err(e) => {
            tracing::warn!("Google callback refused, its state could not be marked used: {}", Chain(&e));
            return Err(ApiError::DependencyDown(Dependency::Redis));
        }
    }
    let back = |outcome: &[(&str, &str)]| {
        let mut url = reqwest::Url::parse(&connect.redirect_uri).expect("checked when the state was issued");
        url.query_pairs_mut().append_pair("user_id", &connect.child).extend_pairs(outcome);
        let mut response = found(url.as_str());
        // The secret has served: the browser forgets it.
        response.headers_mut().insert(SET_COOKIE, connect_cookie(&connect.callback, "", 0));
        response
    };
    if let Some(error) = query.get("error") {
        return Ok(back(&[("status", "error"), ("error", error)]));
    }
    let Some(code) = query.get("code") else {
        return Ok(back(&[("status", "error"), ("error", "missing_code")]));
    };
    let grant = match state.providers.google.exchange_code(code, &connect.callback, browser.expose()).await {
        Ok(grant) => grant,
        Err(e) => {
            tracing::warn!("Google code exchange failed for child {child}: {e}");
            return Ok(back(&[("status", "error"), ("error", "code_exchange_failed")]));
        }
    };
    let Some(refresh_token) = grant.refresh_token.as_ref().map(ExposeSecret::expose_secret) else {
        return Ok(back(&[("status", "error"), ("error", "no_refresh_token")]));
    };
    let authorization = state.providers.google.authorization(
        grant.access_token.expose_secret(),
        refresh_token,
        grant.scope.clone(),
        grant.expires_at(),
    );
    let stored = match authorization.await {
        Ok(auth) => state.userauths.save_authorization(child, &auth).await.map_err(ApiError::from),
        Err(e) => Err(refused(&state, child, grant.access_token.expose_secret(), e).await),
    };
    match stored {
        Ok(()) => Ok(back(&[("status", "success")])),
        Err(e) => {
            let reason = match &e {
                ApiError::Validation { .. } => "insufficient_scope",
                ApiError::DependencyDown(_) | ApiError::Database => "storage_unavailable",
                _ => "provider_error",
            };
            tracing::warn!("Google tokens of child {child} not stored: {e}");
            Ok(back(&[("status", "error"), ("error", reason)]))
        }
    }
}

/// `GOOGLE_CALLBACK_URL` when set (behind a gateway). Outside production, without it, this service's own address as
/// the request names it, for a developer's machine; in production the `Host` header, which any sender sets, is never
/// trusted with the callback.
fn callback_url(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(url) = &state.settings.google_callback_url {
        return Ok(url.clone());
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let plain_host = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if state.settings.environment == Environment::Production || !plain_host {
        return Err(ApiError::NotFound {
            message: "The Google callback URL is not configured.".into(),
            description: Some("Set GOOGLE_CALLBACK_URL to the public URL of /v1/google/callback.".into()),
        });
    }
    Ok(format!("https://{host}/v1/google/callback"))
}

fn is_web_url(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
}

/// Whether `redirect_uri` is under one of the allowed pages: the same scheme, host and port, and a path that is the
/// allowed one or below it (segment by segment, so `/app` does not allow `/application`). No user part, no fragment.
fn is_allowed_redirect(redirect_uri: &str, allowed: &[reqwest::Url]) -> bool {
    let Ok(url) = reqwest::Url::parse(redirect_uri) else { return false };
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return false;
    }
    allowed.iter().any(|page| {
        let same_origin = url.scheme() == page.scheme()
            && url.host_str() == page.host_str()
            && url.port_or_known_default() == page.port_or_known_default();
        let base = page.path().trim_end_matches('/');
        let path = url.path();
        same_origin && (path == base || path.starts_with(&format!("{base}/")) || base.is_empty())
    })
}

/// The connect cookie: only for the callback's path, never sent cross-site except on Google's top-level redirect back
/// (`SameSite=Lax`), out of scripts' reach, over HTTPS only; `max_age` 0 deletes it.
fn connect_cookie(callback: &str, value: &str, max_age: i64) -> HeaderValue {
    let path = reqwest::Url::parse(callback).map(|url| url.path().to_string()).unwrap_or_else(|_| "/".into());
    let cookie = format!("{CONNECT_COOKIE}={value}; Path={path}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("ds_agent_google_connect=; Max-Age=0"))
}

/// The value of cookie `name` among the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(LOCATION, location.to_string())]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_must_stay_under_an_allowed_page() {
        let allowed: Vec<reqwest::Url> = ["https://app.example.org/connected", "http://localhost:3000/"]
            .iter()
            .map(|u| reqwest::Url::parse(u).unwrap())
            .collect();
        for good in [
            "https://app.example.org/connected",
            "https://app.example.org/connected/child?x=1",
            "https://app.example.org:443/connected",
            "http://localhost:3000/anything",
        ] {
            assert!(is_allowed_redirect(good, &allowed), "{good}");
        }
        for bad in [
            "https://app.example.org/connectedx",
            "https://app.example.org/",
            "http://app.example.org/connected",
            "https://app.example.org.evil.com/connected",
            "https://evil.com/connected",
            "https://user@app.example.org/connected",
            "https://app.example.org/connected#x",
            "http://localhost:3001/",
            "not a url",
        ] {
            assert!(!is_allowed_redirect(bad, &allowed), "{bad}");
        }
        assert!(!is_allowed_redirect("https://app.example.org/connected", &[]));
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; ds_agent_google_connect=abc"));
        headers.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&headers, CONNECT_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
        let set = connect_cookie("https://ds.example.org/v1/google/callback", "v", 600);
        assert_eq!(
            set.to_str().unwrap(),
            "ds_agent_google_connect=v; Path=/v1/google/callback; Max-Age=600; HttpOnly; Secure; SameSite=Lax"
        );
    }
}
