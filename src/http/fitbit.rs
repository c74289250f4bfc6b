//! `GET /v1/fitbit`: hands OCARIoT apps the Fitbit client credentials. Returning the secret is deliberate and gated by
//! the API gateway (docs/decisions.md#client-secret-on-the-fitbit-route); it is never logged.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use secrecy::ExposeSecret;
use serde_json::json;

use super::error::ApiError;
use super::response::json;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/fitbit", get(client_credentials))
}

async fn client_credentials(State(state): State<AppState>) -> Result<Response, ApiError> {
    match (&state.settings.fitbit.client_id, &state.settings.fitbit.client_secret) {
        (Some(id), Some(secret)) => {
            Ok(json(StatusCode::OK, &json!({"client_id": id, "client_secret": secret.expose_secret()})))
        }
        _ => {
            Err(ApiError::NotFound { message: "Fitbit client id and secret key not found!".into(), description: None })
        }
    }
}
