//! The `:user_id` path parameter. axum's own `Path` rejects a parameter that does not decode (`%FF`) with a plain
//! text body; an id that cannot even be decoded is just an invalid id, answered with the documented JSON error.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::error::ApiError;
use crate::domain::InvalidId;

/// The raw `:user_id` of the route; handlers parse it where the original checked it.
pub struct UserId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UserId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(user_id)) => Ok(UserId(user_id)),
            Err(_) => Err(InvalidId.into()),
        }
    }
}
