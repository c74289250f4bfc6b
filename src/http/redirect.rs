//! The plain-HTTP listener: every request gets 301 to the same URL on HTTPS, nothing else
//! (docs/decisions.md#http-layer).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// A router that answers everything with the redirect. `https_port` replaces the port in the `Host` header.
pub fn router(https_port: u16) -> Router {
    Router::new().fallback(redirect).with_state(https_port)
}

async fn redirect(State(https_port): State<u16>, request: Request) -> Response {
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let url = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let location = format!("https://{}{url}", replace_first_port(host, https_port));
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// Replaces the first `:<digits>` of `host` with `:<port>`, as the original's `host.replace(/:\d+/, …)` did. A host
/// without a port keeps none, so the Location then points at 443.
pub fn replace_first_port(host: &str, port: u16) -> String {
    let bytes = host.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b':' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let end = bytes[i + 1..].iter().position(|c| !c.is_ascii_digit()).map_or(bytes.len(), |n| i + 1 + n);
            return format!("{}:{port}{}", &host[..i], &host[end..]);
        }
    }
    host.to_string()
}

#[cfg(test)]
mod tests {
    use super::replace_first_port;

    #[test]
    fn replaces_only_the_first_port() {
        assert_eq!(replace_first_port("localhost:5000", 5001), "localhost:5001");
        assert_eq!(replace_first_port("example.org", 5001), "example.org");
        assert_eq!(replace_first_port("", 5001), "");
        assert_eq!(replace_first_port("a:1:2", 9), "a:9:2");
        // The original's regex finds `:1` inside an IPv6 literal first; kept as is.
        assert_eq!(replace_first_port("[::1]:5000", 5001), "[::5001]:5000");
    }
}
