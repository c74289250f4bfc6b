//! The one error type of the REST API. Every failure becomes the original's body `{code, message, description?}`
//! (docs/decisions.md#http-layer) here, in one place, so handlers just use `?`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::response::json;
use crate::domain::{InvalidId, ScopeError};
use crate::error_chain::Chain;
use crate::status::StatusError;
use crate::store::StoreError;
use crate::sync::SyncError;

/// A dependency the API may find down; named in 503 answers and in `/health/ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    MongoDb,
    Redis,
    RabbitMq,
}

impl Dependency {
    pub fn name(self) -> &'static str {
        match self {
            Dependency::MongoDb => "MongoDB",
            Dependency::Redis => "Redis",
            Dependency::RabbitMq => "RabbitMQ",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Endpoint {0} does not found!")]
    EndpointNotFound(String),
    #[error("Unable to process request body!")]
    MalformedBody,
    #[error("request entity too large")]
    BodyTooLarge,
    /// The body did not arrive within `http::body_read::BODY_READ_TIMEOUT`; the connection closes after the answer.
    #[error("Request Timeout")]
    BodyTimeout,
    #[error("{0}")]
    UnsupportedBody(String),
    #[error("{message}")]
    Validation { message: String, description: Option<String> },
    #[error("{message}")]
    NotFound { message: String, description: Option<String> },
    #[error("{message}")]
    Conflict { message: String, description: Option<String> },
    /// The provider could not confirm something the route needs (the original's FitbitClientException).
    #[error("{message}")]
    ProviderUnavailable { message: String, description: Option<String> },
    /// A typed provider failure on the sync route: the body carries the internal code
    /// (docs/decisions.md#internal-error-codes).
    #[error("{0}")]
    Provider(crate::provider::ProviderError),
    #[error("The service is temporarily unavailable: {} is not reachable.", .0.name())]
    DependencyDown(Dependency),
    #[error("An internal error has occurred in the database!")]
    Database,
    #[error("The service is shutting down.")]
    ShuttingDown,
    /// A Google notification without the configured secret or a valid signature.
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Internal(String),
}

/// The original's error body; `description` is left out when absent.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct ErrorBody {
    pub code: u16,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ApiError {
    pub fn validation(message: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::Validation { message: message.into(), description: Some(description.into()) }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::EndpointNotFound(_) | ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MalformedBody | ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedBody(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::DependencyDown(_) | ApiError::ProviderUnavailable { .. } | ApiError::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Provider(e) => e.http_status(),
            ApiError::Database | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn description(&self) -> Option<String> {
        match self {
            ApiError::MalformedBody => Some(
                "Please verify that the JSON provided in the request body has a valid format and try again.".into(),
            ),
            ApiError::Validation { description, .. }
            | ApiError::NotFound { description, .. }
            | ApiError::Conflict { description, .. }
            | ApiError::ProviderUnavailable { description, .. } => description.clone(),
            ApiError::DependencyDown(_) | ApiError::Database | ApiError::ShuttingDown => {
                Some("Please try again later...".into())
            }
            ApiError::BodyTimeout => Some("The request body did not arrive in time.".into()),
            _ => None,
        }
    }

    pub fn body(&self) -> ErrorBody {
        if let ApiError::Provider(e) = self {
            let body = e.body();
            return ErrorBody { code: body.code, message: body.message, description: body.description };
        }
        ErrorBody { code: self.status().as_u16(), message: self.to_string(), description: self.description() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Database | ApiError::Internal(_) = self {
            tracing::error!("{self}");
        }
        let mut response = json(self.status(), &self.body());
        if let ApiError::BodyTimeout | ApiError::BodyTooLarge | ApiError::Unauthorized(_) = self {
            // The rest of the body is not read: the connection closes (lingering, see `http::shedding`).
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<InvalidId> for ApiError {
    fn from(e: InvalidId) -> Self {
        ApiError::validation(e.to_string(), InvalidId::DESCRIPTION)
    }
}

impl From<ScopeError> for ApiError {
    fn from(e: ScopeError) -> Self {
        ApiError::validation(e.to_string(), ScopeError::DESCRIPTION)
    }
}

impl From<StatusError> for ApiError {
    fn from(e: StatusError) -> Self {
        match e {
            StatusError::Store(e) => e.into(),
            StatusError::Coordination(e) => {
                tracing::warn!("Redis call failed: {}", Chain(&e));
                ApiError::DependencyDown(Dependency::Redis)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unreachable(_) | StoreError::TimedOut(_) => {
                tracing::warn!("MongoDB call failed: {}", Chain(&e));
                ApiError::DependencyDown(Dependency::MongoDb)
            }
            StoreError::Duplicate => ApiError::Conflict {
                message: "A registration with the same unique data already exists!".into(),
                description: None,
            },
            StoreError::Other(_)
            | StoreError::Malformed(_)
            | StoreError::Unencodable(_)
            | StoreError::NoSealingKey
            | StoreError::JournalWriterStopped => {
                tracing::error!("MongoDB call failed: {}", Chain(&e));
                ApiError::Database
            }
            // The same answer as any database failure; the log says what operators must fix (never the key).
            StoreError::Undecryptable(reason) => {
                tracing::error!("Stored tokens cannot be read: {reason}");
                ApiError::Database
            }
        }
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::NoAuthorization => ApiError::Validation { message: e.to_string(), description: None },
            SyncError::Scope(e) => e.into(),
            SyncError::Provider(e) => ApiError::Provider(e),
            SyncError::Busy => ApiError::Conflict {
                message: "A synchronization of this child is already in progress.".into(),
                description: Some("Please wait for it to finish and try again.".into()),
            },
            SyncError::Store(e) => e.into(),
            SyncError::Coordination(e) => {
                tracing::warn!("Redis call failed: {}", Chain(&e));
                ApiError::DependencyDown(Dependency::Redis)
            }
            SyncError::Bus(e) => {
                tracing::warn!("Sync not finished, nothing recorded as synced: {}", Chain(&e));
                ApiError::DependencyDown(Dependency::RabbitMq)
            }
            SyncError::Interrupted => ApiError::ShuttingDown,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bodies_keep_the_original_texts() {
        let body = serde_json::to_value(ApiError::EndpointNotFound("/v1/x?a=1".into()).body()).unwrap();
        assert_eq!(body, serde_json::json!({"code": 404, "message": "Endpoint /v1/x?a=1 does not found!"}));
        let body = serde_json::to_value(ApiError::validation("message", "description").body()).unwrap();
        assert_eq!(body, serde_json::json!({"code": 400, "message": "message", "description": "description"}));
        let body = ApiError::MalformedBody.body();
        assert_eq!((body.code, body.message.as_str()), (400, "Unable to process request body!"));
        assert_eq!(ApiError::BodyTooLarge.body().code, 413);
    }

    #[test]
    fn database_errors_map_as_the_original() {
        let conflict: ApiError = StoreError::Duplicate.into();
        assert_eq!(conflict.body().code, 409);
        assert_eq!(conflict.body().message, "A registration with the same unique data already exists!");
        let other: ApiError = StoreError::Other(mongodb::error::Error::custom("boom")).into();
        assert_eq!(
            other.body(),
            ErrorBody {
                code: 500,
                message: "An internal error has occurred in the database!".into(),
                description: Some("Please try again later...".into())
            }
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for down in
            [StoreError::from(mongodb::error::Error::from(refused)), StoreError::TimedOut(Duration::from_secs(1))]
        {
            let down: ApiError = down.into();
            assert_eq!(down.body().code, 503);
            assert_eq!(down.body().message, "The service is temporarily unavailable: MongoDB is not reachable.");
        }
    }
}
