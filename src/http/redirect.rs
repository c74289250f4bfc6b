//! The plain-HTTP listener: every request gets 301 to the same path on HTTPS, nothing else
//! (docs/decisions.md#http-layer). The host of the `Location` is the configured public one (`HTTPS_PUBLIC_HOST`, else
//! the certificate's first DNS name and the HTTPS port), never the request's `Host`, which anyone can set: a redirect
//! built from it would send a browser wherever the sender liked (docs/operations.md#security).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// A router that answers everything with the redirect to `origin` (`https://host[:port]`), the path and query kept.
pub fn router(origin: String) -> Router {
    Router::new().fallback(redirect).with_state(origin)
}

async fn redirect(State(origin): State<String>, request: Request) -> Response {
    let url = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    match HeaderValue::from_str(&format!("{origin}{url}")) {
        Ok(value) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// The origin the redirect points at: `public_host` as configured (it may name a port), else `fallback_host` with
/// `https_port` (left out when it is 443).
pub fn https_origin(public_host: Option<&str>, fallback_host: &str, https_port: u16) -> String {
    match public_host {
        Some(host) => format!("https://{host}"),
        None if https_port == 443 => format!("https://{fallback_host}"),
        None => format!("https://{fallback_host}:{https_port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::https_origin;

    #[test]
    fn the_configured_host_wins_and_the_port_is_added_only_when_needed() {
        assert_eq!(https_origin(Some("api.example.org"), "localhost", 5001), "https://api.example.org");
        assert_eq!(https_origin(Some("api.example.org:8443"), "x", 5001), "https://api.example.org:8443");
        assert_eq!(https_origin(None, "ds.example.org", 5001), "https://ds.example.org:5001");
        assert_eq!(https_origin(None, "ds.example.org", 443), "https://ds.example.org");
    }
}
