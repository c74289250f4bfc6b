//! The legacy Fitbit Web API, retired on 2 Nov 2026: with the legacy-gone switch on, every route of it answers
//! `410 Gone` (see `crate::preflight`). Kept for ds-agent's Fitbit children and its tests of Fitbit-only behaviour.
//!
//! Two layers: what the state keeps ([`tokens`], the JWT access tokens of [`jwt`], [`scopes`]) and Fitbit's error
//! bodies ([`error`]), below the state; and the routes ([`oauth`], [`data`] with its [`paging`], the bearer check
//! of [`bearer`] and the hourly quota of [`quota`]), which the HTTP router mounts and which read the state.

pub(crate) mod bearer;
pub(crate) mod data;
pub(crate) mod error;
pub(crate) mod jwt;
pub(crate) mod oauth;
pub(crate) mod paging;
pub(crate) mod quota;
pub(crate) mod scopes;
pub(crate) mod tokens;
