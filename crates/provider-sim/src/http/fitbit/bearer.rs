//! Bearer authentication of data GETs and introspection. The caller's user is needed before the checks (to count the
//! request and match faults), so identifying and authorising are two steps.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;

use crate::fitbit::error::{self as fitbit_error, FitbitError};
use crate::fitbit::tokens::AccessState;
use crate::state::{now, Shared};

/// The bearer token of a request, as the token store sees it now.
pub(super) enum Bearer {
    Missing,
    Unknown(String),
    Revoked { token: String, user: String },
    Expired { token: String, user: String },
    Active(Caller),
}

/// An authorised caller.
pub(super) struct Caller {
    pub user: String,
    pub scopes: String,
}

impl Bearer {
    pub(super) fn of(shared: &Shared, headers: &HeaderMap) -> Bearer {
        let token = headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_string());
        let Some(token) = token else { return Bearer::Missing };
        let state = shared.lock();
        match state.fitbit.tokens.access_state(&token, now()) {
            AccessState::Unknown => Bearer::Unknown(token),
            AccessState::Revoked { user } => Bearer::Revoked { user: user.to_string(), token },
            AccessState::Expired { user } => Bearer::Expired { user: user.to_string(), token },
            AccessState::Active { user, scopes, .. } => {
                Bearer::Active(Caller { user: user.to_string(), scopes: scopes.to_string() })
            }
        }
    }

    pub(super) fn user(&self) -> Option<&str> {
        match self {
            Bearer::Missing | Bearer::Unknown(_) => None,
            Bearer::Revoked { user, .. } | Bearer::Expired { user, .. } => Some(user),
            Bearer::Active(caller) => Some(&caller.user),
        }
    }

    /// The caller, or Fitbit's 401: `invalid_token` for missing, unknown and revoked tokens, `expired_token` else.
    pub(super) fn authorize(self) -> Result<Caller, FitbitError> {
        match self {
            Bearer::Missing => Err(fitbit_error::invalid_token(None)),
            Bearer::Unknown(token) | Bearer::Revoked { token, .. } => Err(fitbit_error::invalid_token(Some(&token))),
            Bearer::Expired { token, .. } => Err(fitbit_error::expired_token(&token)),
            Bearer::Active(caller) => Ok(caller),
        }
    }
}
