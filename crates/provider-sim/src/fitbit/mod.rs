//! The legacy Fitbit Web API, retired on 2 Nov 2026: with the legacy-gone switch on, every route of it answers
//! `410 Gone` (see `crate::preflight`). Kept for ds-agent's Fitbit children and its tests of Fitbit-only behaviour.
//!
//! What the state keeps ([`tokens`], the JWT access tokens of [`jwt`], [`scopes`]), Fitbit's error bodies
//! ([`error`]) and the paging of its lists ([`paging`]). The routes that read the state are in `crate::http::fitbit`,
//! as Google's are in `crate::http::google`, so the state depends on nothing that depends on it.

pub(crate) mod error;
pub(crate) mod jwt;
pub(crate) mod paging;
pub(crate) mod scopes;
pub(crate) mod tokens;
