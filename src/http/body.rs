//! Request bodies, parsed before routing as Express's body-parser did, so a bad body is reported even on an unknown
//! route. JSON and form bodies up to 100 kB, read by `body_read` within its deadline; 413 and 415 keep their status
//! (docs/decisions.md#request-bodies).

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};

use super::body_read::{declared_length, read_body, BODY_READ_TIMEOUT};
use super::error::ApiError;

pub const BODY_LIMIT: usize = 100 * 1024;

/// The parsed body: a JSON value, the fields of a form, or `{}` for anything else.
#[derive(Clone, Debug)]
pub struct ParsedBody(pub Value);

impl<S: Send + Sync> FromRequestParts<S> for ParsedBody {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ParsedBody>().cloned().unwrap_or(ParsedBody(Value::Object(Map::new()))))
    }
}

#[derive(Debug, PartialEq)]
enum Kind {
    Json,
    Form,
    Other,
}

pub async fn parse_body(request: Request, next: Next) -> Result<Response, ApiError> {
    if super::notifications::is_notification(request.uri().path()) {
        return Ok(next.run(request).await);
    }
    let kind = kind_of(request.headers())?;
    if kind == Kind::Other {
        return Ok(next.run(request).await);
    }
    check_encoding(request.headers())?;
    if declared_length(request.headers()).is_some_and(|n| n > BODY_LIMIT) {
        return Err(ApiError::BodyTooLarge);
    }
    let (mut parts, body) = request.into_parts();
    let bytes = read_body(body, BODY_LIMIT, BODY_READ_TIMEOUT).await?;
    let value = match kind {
        Kind::Json => parse_json(&bytes)?,
        _ => parse_form(&bytes)?,
    };
    parts.extensions.insert(ParsedBody(value));
    Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await)
}

fn kind_of(headers: &HeaderMap) -> Result<Kind, ApiError> {
    let Some(content_type) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return Ok(Kind::Other);
    };
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or("").trim().to_ascii_lowercase();
    let kind = match essence.as_str() {
        "application/json" => Kind::Json,
        "application/x-www-form-urlencoded" => Kind::Form,
        _ => return Ok(Kind::Other),
    };
    for param in params {
        let Some((name, value)) = param.split_once('=') else { continue };
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = value.trim().trim_matches('"').to_ascii_lowercase();
            let accepted = match kind {
                Kind::Json => charset.starts_with("utf-"),
                _ => charset == "utf-8",
            };
            if !accepted {
                return Err(ApiError::UnsupportedBody(format!("unsupported charset \"{}\"", charset.to_uppercase())));
            }
        }
    }
    Ok(kind)
}

fn check_encoding(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()) {
        None => Ok(()),
        Some(e) if e.trim().eq_ignore_ascii_case("identity") => Ok(()),
        Some(e) => Err(ApiError::UnsupportedBody(format!("unsupported content encoding \"{}\"", e.trim()))),
    }
}

/// body-parser's strict mode: an empty body is `{}`; otherwise only an object or an array is accepted.
fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ApiError::MalformedBody)?;
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if trimmed.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    if !trimmed.starts_with(['{', '[']) {
        return Err(ApiError::MalformedBody);
    }
    serde_json::from_str(trimmed).map_err(|_| ApiError::MalformedBody)
}

/// `extended: false` forms: flat string fields; a repeated field becomes an array of strings.
fn parse_form(bytes: &[u8]) -> Result<Value, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|_| ApiError::MalformedBody)?;
    let mut fields = Map::new();
    for (name, value) in pairs {
        match fields.get_mut(&name) {
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(existing) => *existing = Value::Array(vec![existing.take(), Value::String(value)]),
            None => {
                fields.insert(name, Value::String(value));
            }
        }
    }
    Ok(Value::Object(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_strict_like_body_parser() {
        assert_eq!(parse_json(b"").unwrap(), json!({}));
        assert_eq!(parse_json(b" {\"a\":1}").unwrap(), json!({"a": 1}));
        assert_eq!(parse_json(b"[1]").unwrap(), json!([1]));
        assert!(parse_json(b"wrong body").is_err());
        assert!(parse_json(b"\"text\"").is_err());
        assert!(parse_json(b"{\"a\":").is_err());
    }

    #[test]
    fn forms_become_string_fields() {
        assert_eq!(parse_form(b"access_token=a%20b&x=1&x=2").unwrap(), json!({"access_token": "a b", "x": ["1", "2"]}));
    }

    #[test]
    fn charsets_follow_body_parser() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json; charset=utf-16".parse().unwrap());
        assert_eq!(kind_of(&headers).unwrap(), Kind::Json);
        headers.insert(header::CONTENT_TYPE, "application/json; charset=latin1".parse().unwrap());
        assert_eq!(kind_of(&headers).unwrap_err().to_string(), "unsupported charset \"LATIN1\"");
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(kind_of(&headers).unwrap(), Kind::Other);
    }
}
