//! The form of an OAuth request and the app's credentials in it, read alike by Fitbit's and Google's token endpoints.

use std::collections::HashMap;

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;

pub(crate) type Form = HashMap<String, String>;

pub(crate) fn parse_form(body: &[u8]) -> Form {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Fitbit and Google take the app's credentials in a Basic header, in the form, or both (simple-oauth2, the original's
/// OAuth library, sends both). Every credential sent must be right, and at least one complete pair must be sent.
pub(crate) fn client_authenticated(expected: (&str, &str), headers: &HeaderMap, form: &Form) -> bool {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .map(|encoded| decode_basic(encoded).is_some_and(|(id, secret)| (id.as_str(), secret.as_str()) == expected));
    let form_id = form.get("client_id").map(|id| id == expected.0);
    let form_secret = form.get("client_secret").map(|secret| secret == expected.1);
    let anything_wrong = [basic, form_id, form_secret].contains(&Some(false));
    let complete_pair = basic == Some(true) || (form_id == Some(true) && form_secret == Some(true));
    complete_pair && !anything_wrong
}

/// `base64(id:secret)`, each part form-URL-encoded first, as simple-oauth2 sends it.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |part: &str| percent_decode_str(&part.replace('+', " ")).decode_utf8().ok().map(|s| s.into_owned());
    Some((unescape(id)?, unescape(secret)?))
}
