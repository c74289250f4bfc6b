//! A fake Google consent page at `GET /o/oauth2/v2/auth`: no browser, no questions. A valid request consents at once
//! and redirects to `redirect_uri` with a fresh code; requests Google would refuse outright get an HTML error page, as
//! Google shows one instead of redirecting.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::faults::Route;
use crate::google::scopes;
use crate::google::tokens::{Code, GoogleTokenStore};
use crate::oauth_form::parse_form;
use crate::preflight::preflight;
use crate::state::{now, Shared};

fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    let page = format!("<html><body><h1>Error {}: {error}</h1><p>{description}</p></body></html>", status.as_u16());
    (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// `redirect_uri` with the given parameters added to its query.
fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let (base, fragment) = redirect_uri.split_once('#').map_or((redirect_uri, None), |(b, f)| (b, Some(f)));
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        query.append_pair(key, value);
    }
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut location = format!("{base}{separator}{}", query.finish());
    if let Some(fragment) = fragment {
        location = format!("{location}#{fragment}");
    }
    (StatusCode::FOUND, [(LOCATION, location)]).into_response()
}

/// `GET /o/oauth2/v2/auth`: signs in `login_hint` (or the default user) and consents to the requested scopes.
pub(crate) async fn authorize(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let query = parse_form(uri.query().unwrap_or_default().as_bytes());
    let get = |key: &str| query.get(key).map(String::as_str).filter(|value| !value.is_empty());
    // A hint like `ABC123@example.com` names the user `ABC123`.
    let (default_user, client_id) = {
        let state = shared.lock();
        (state.config.google_default_user.clone(), state.config.google_client_id.clone())
    };
    let user = get("login_hint").map(|hint| hint.split('@').next().unwrap_or(hint).to_string()).unwrap_or(default_user);
    if let Err(response) = preflight(&shared, Route::GoogleConsent, Some(&user), "").await {
        return response;
    }

    if get("client_id") != Some(client_id.as_str()) {
        return error_page(StatusCode::UNAUTHORIZED, "invalid_client", "The OAuth client was not found.");
    }
    let Some(redirect_uri) =
        get("redirect_uri").filter(|uri| uri.starts_with("http://") || uri.starts_with("https://"))
    else {
        return error_page(StatusCode::BAD_REQUEST, "invalid_request", "Missing or invalid parameter: redirect_uri");
    };
    if get("response_type") != Some("code") {
        return error_page(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "Only response_type=code is supported.",
        );
    }
    let Some(scope) = get("scope") else {
        return error_page(StatusCode::BAD_REQUEST, "invalid_request", "Missing required parameter: scope");
    };
    if let Some(unknown) = scope.split_whitespace().find(|s| !scopes::is_known(s)) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("Some requested scopes were invalid: {unknown}"),
        );
    }
    let challenge = match (get("code_challenge"), get("code_challenge_method").unwrap_or("plain")) {
        (None, _) => None,
        (Some(challenge), method @ ("S256" | "plain")) => Some((challenge.to_string(), method.to_string())),
        (Some(_), other) => {
            let description = format!("Invalid code_challenge_method: {other}");
            return error_page(StatusCode::BAD_REQUEST, "invalid_request", &description);
        }
    };

    let state = get("state");
    let with_state = |mut params: Vec<(&'static str, String)>| {
        if let Some(state) = state {
            params.push(("state", state.to_string()));
        }
        params
    };
    if get("sim_deny").is_some_and(|deny| deny == "true" || deny == "1") {
        let params = with_state(vec![("error", "access_denied".to_string())]);
        return redirect(redirect_uri, &borrowed(&params));
    }
    // The user may grant only some of the scopes.
    let granted: Vec<&str> = match get("sim_scope") {
        Some(subset) => scope.split_whitespace().filter(|s| subset.split_whitespace().any(|g| g == *s)).collect(),
        None => scope.split_whitespace().collect(),
    };
    let granted = granted.join(" ");
    let code = shared.lock().google.tokens.add_code(Code {
        user,
        scopes: granted.clone(),
        client_id,
        redirect_uri: redirect_uri.to_string(),
        offline: get("access_type") == Some("offline"),
        challenge,
        exp: GoogleTokenStore::code_exp(now()),
        used: false,
    });
    let params = with_state(vec![("code", code), ("scope", granted)]);
    redirect(redirect_uri, &borrowed(&params))
}

fn borrowed<'a>(params: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    params.iter().map(|(key, value)| (*key, value.as_str())).collect()
}
