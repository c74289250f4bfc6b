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
/// Query values are masked (`?code=***&state=***`), in the URL and the referrer alike: the connect flow's carry an
/// authorization code, its `state`, a family's e-mail address (`login_hint`) and the app's `redirect_uri`
/// (docs/operations.md#security).
pub async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "-".into());
    let method = request.method().clone();
    let url = masked_target(&request_target(request.uri()));
    let version = match request.version() {
        axum::http::Version::HTTP_10 => "1.0",
        axum::http::Version::HTTP_2 => "2.0",
        _ => "1.1",
    };
    let referrer = masked_target(&header_text(request.headers(), header::REFERER));
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

/// A URL or request target with every query value replaced by `***`; the names stay, so a line still tells which
/// parameters came. A fragment goes.
fn masked_target(target: &str) -> String {
    let target = target.split('#').next().unwrap_or_default();
    let Some((path, query)) = target.split_once('?') else { return target.to_string() };
    let names: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}=***"),
            None => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", names.join("&"))
}

/// The path and query of a request, as Express's `req.url`.
fn request_target(uri: &Uri) -> String {
    uri.path_and_query().map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::masked_target;

    #[test]
    fn query_values_are_masked_names_kept() {
        assert_eq!(
            masked_target("/v1/google/callback?code=4/0Ab&state=eyJ.sig&scope=a%20b"),
            "/v1/google/callback?code=***&state=***&scope=***"
        );
        assert_eq!(
            masked_target("/v1/users/x/google/authorize?login_hint=ann@example.org&flag"),
            "/v1/users/x/google/authorize?login_hint=***&flag"
        );
        assert_eq!(masked_target("https://accounts.example/o?state=s#frag"), "https://accounts.example/o?state=***");
        assert_eq!(masked_target("/v1/fitbit"), "/v1/fitbit");
        assert_eq!(masked_target(""), "");
    }
}
