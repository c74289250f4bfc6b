//! §5.6: the manual sync of one child, answered once every fetched item is published and confirmed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use super::error::ApiError;
use super::response::json;
use super::AppState;
use crate::domain::ChildId;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/users/{user_id}/fitbit/sync", post(sync_child))
}

async fn sync_child(State(state): State<AppState>, Path(user_id): Path<String>) -> Result<Response, ApiError> {
    let child = ChildId::parse(&user_id)?;
    let counts = state.sync.sync(child).await?;
    Ok(json(StatusCode::OK, &counts))
}
