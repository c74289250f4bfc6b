//! `/v1/reference`: Swagger UI for the project's own `openapi.yaml`, with every asset served from the binary so that no
//! request leaves the machine (docs/decisions.md#swagger-ui).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::response::moved_permanently;
use super::AppState;

const INDEX: &str = include_str!("../../assets/swagger-ui/index.html");
const CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");
const BUNDLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const SPEC: &str = include_str!("../../openapi.yaml");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/reference", get(|| async { moved_permanently("/v1/reference/") }))
        .route("/v1/reference/", get(|| async { asset("text/html; charset=utf-8", INDEX.as_bytes()) }))
        .route("/v1/reference/index.html", get(|| async { asset("text/html; charset=utf-8", INDEX.as_bytes()) }))
        .route("/v1/reference/swagger-ui.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route(
            "/v1/reference/swagger-ui-bundle.js",
            get(|| async { asset("application/javascript; charset=utf-8", BUNDLE) }),
        )
        .route("/v1/reference/openapi.yaml", get(|| async { asset("text/yaml; charset=utf-8", SPEC.as_bytes()) }))
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
}
