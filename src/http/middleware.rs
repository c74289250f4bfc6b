//! Cross-cutting request handling (docs/decisions.md#http-layer): helmet's headers, the morgan access line, and
//! Express's routing rules (case-insensitive paths, optional trailing slash), with the original URL kept for the
//! 404 text.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderName, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;

/// The request target as the client sent it, before path normalisation.
#[derive(Clone, Debug)]
pub struct OriginalUrl(pub String);

const HELMET_HEADERS: [(&str, &str); 6] = [
    ("x-dns-prefetch-control", "off"),
    ("x-frame-options", "SAMEORIGIN"),
    ("strict-transport-security", "max-age=15552000; includeSubDomains"),
    ("x-download-options", "noopen"),
    ("x-content-type-options", "nosniff"),
    ("x-xss-protection", "1; mode=block"),
];

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in HELMET_HEADERS {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    headers.remove("x-powered-by");
    response
}

/// One info line per response in morgan's format:
/// `:remote-addr :remote-user ":method :url HTTP/:http-version" :status :res[content-length] :response-time ms ":referrer" ":user-agent"`.
pub async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "-".into());
    let method = request.method().clone();
    let url = request_target(request.uri());
    let version = match request.version() {
        axum::http::Version::HTTP_10 => "1.0",
        axum::http::Version::HTTP_2 => "2.0",
        _ => "1.1",
    };
    let referrer = header_text(request.headers(), header::REFERER);
    let user_agent = header_text(request.headers(), header::USER_AGENT);
    let response = next.run(request).await;
    let length = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| axum::body::HttpBody::size_hint(response.body()).exact().map(|n| n.to_string()))
        .unwrap_or_else(|| "-".into());
    tracing::info!(
        "{remote} - \"{method} {url} HTTP/{version}\" {} {length} {:.3} ms \"{referrer}\" \"{user_agent}\"",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    response
}

fn header_text(headers: &axum::http::HeaderMap, name: header::HeaderName) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// Express matches paths case-insensitively and ignores one trailing slash. The Swagger UI keeps its slash, since
/// `/v1/reference` redirects to `/v1/reference/`.
pub async fn normalize_path(mut request: Request, next: Next) -> Response {
    let original = request_target(request.uri());
    let path = request.uri().path();
    let mut normalized = path.to_ascii_lowercase();
    if normalized.len() > 1 && normalized.ends_with('/') && !normalized.starts_with("/v1/reference") {
        normalized.pop();
    }
    if normalized != path {
        let rebuilt = match request.uri().query() {
            Some(query) => format!("{normalized}?{query}"),
            None => normalized,
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request.extensions_mut().insert(OriginalUrl(original));
    next.run(request).await
}

/// The path and query of a request, as Express's `req.url`.
fn request_target(uri: &Uri) -> String {
    uri.path_and_query().map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}
