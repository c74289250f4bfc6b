//! Tokens are credentials: logs and error messages show only enough of one to tell it apart.

use axum::http::Uri;

/// Query parameters that carry credentials (Google's tokeninfo and revoke take tokens in the query).
const SECRET_PARAMS: [&str; 5] = ["access_token", "token", "refresh_token", "code", "client_secret"];

/// The path and query of `uri` for a log line, credential values shortened.
pub(crate) fn redact_query(uri: &Uri) -> String {
    let Some(query) = uri.query() else { return uri.path().to_string() };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if SECRET_PARAMS.contains(&key) => format!("{key}={}", short(value)),
            _ => pair.to_string(),
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}

/// The first 6 characters and an ellipsis, as Fitbit's own error messages do.
pub(crate) fn short(token: &str) -> String {
    let head: String = token.chars().take(6).collect();
    format!("{head}…")
}
