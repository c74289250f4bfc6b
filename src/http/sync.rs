//! The manual sync of one child, answered once every fetched item is published, confirmed and recorded. The sync runs
//! in a task of the service's own: a client that goes away does not cut it short. A first sync still running after
//! `SYNC_ROUTE_WAIT_SECS` is answered 202 and goes on, so the OCARIoT gateway's 10 s proxy timeout is never what ends
//! the request (docs/decisions.md#long-first-syncs-on-the-route).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::error::ApiError;
use super::response::json;
use super::user_id::UserId;
use super::AppState;
use crate::domain::ChildId;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/fitbit/sync", post(sync_child))
        .route("/v1/users/{user_id}/fitbit/sync/status", get(sync_status))
}

/// The child's sync status (see [`crate::status`]); the same 404 as `GET …/fitbit/auth` for a child without tokens.
async fn sync_status(State(state): State<AppState>, UserId(user_id): UserId) -> Result<Response, ApiError> {
    let child = ChildId::parse(&user_id)?;
    let Some(status) = state.status.read(child).await? else {
        return Err(ApiError::NotFound {
            message: "Unable to find Fitbit authentication data!".into(),
            description: Some("You must enter new data before you can refer to it.".into()),
        });
    };
    Ok(json(StatusCode::OK, &status))
}

async fn sync_child(State(state): State<AppState>, UserId(user_id): UserId) -> Result<Response, ApiError> {
    let child = ChildId::parse(&user_id)?;
    let mut running = state.sync.spawn(child).await?;
    let outcome = if running.first_sync {
        match tokio::time::timeout(state.settings.sync_route_wait, &mut running.outcome).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::info!("First sync of child {child} still running; answered 202, it goes on");
                state.sync.record_accepted(child, running.started_at).await;
                return Ok(json(StatusCode::ACCEPTED, &json!({"message": "Synchronization in progress."})));
            }
        }
    } else {
        running.outcome.await
    };
    let counts = outcome.map_err(|e| ApiError::Internal(format!("The sync of child {child} failed: {e}")))??;
    Ok(json(StatusCode::OK, &counts))
}
