//! A stand-in for the legacy Fitbit Web API, which answers `410 Gone` in the real world since 2 Nov 2026, and for its
//! replacement, Google OAuth plus the Google Health API v4.
//!
//! ds-agent's tests start a [`Simulator`] in-process and talk to it over real HTTP, exactly as they would to
//! `api.fitbit.com`, `oauth2.googleapis.com` and `health.googleapis.com`; developers run the `provider-sim` binary and
//! steer it with curl through `/__admin`. It issues and checks OAuth tokens, serves deterministic synthetic data per
//! user ([`dataset`], and the same person on Google's side, [`google_dataset`]), enforces Fitbit's hourly and Google's
//! per-minute rate limits, and misbehaves on demand ([`Fault`], legacy-gone switch, latency).
//!
//! # Google routes (all at the base URL: it is both `GOOGLE_OAUTH_URL` and `GOOGLE_HEALTH_API_URL`)
//!
//! - `GET /o/oauth2/v2/auth?client_id&redirect_uri&response_type=code&scope&state[&access_type=offline]
//!   [&code_challenge&code_challenge_method][&login_hint]`: a consent page that consents at once and answers `302` to
//!   `redirect_uri?code=…&scope=…&state=…`. The user is `login_hint` (its local part when it is an e-mail address),
//!   else [`SimConfig::google_default_user`]; users are Fitbit user ids, the same synthetic person on both sides.
//!   Simulator extras: `sim_deny=true` redirects with `error=access_denied`; `sim_scope=<scopes>` grants only those
//!   of the requested scopes. Without `access_type=offline` the exchange returns no refresh token.
//! - `POST /token` (form; client by `client_id`/`client_secret` fields or HTTP Basic): `authorization_code`
//!   (`code`, `redirect_uri`, `code_verifier` after PKCE) → `{access_token, expires_in, refresh_token, scope,
//!   token_type}`; `refresh_token` → the same without `refresh_token` (Google's do not rotate). With
//!   [`SimConfig::google_refresh_token_ttl_secs`] both also carry `refresh_token_expires_in`. Errors are
//!   `{"error","error_description"}`: 400 `invalid_grant` / `invalid_request` / `unsupported_grant_type`, 401
//!   `invalid_client`.
//! - `POST /revoke` (`token=` in the form or query): revokes the whole consent; `{}`, or 400 `invalid_token`.
//! - `GET /tokeninfo?access_token=`: `{azp, aud, sub, scope, exp, expires_in, access_type}` (`exp` and `expires_in`
//!   are strings, as Google sends them), or 400 `invalid_token`.
//! - `GET /v4/users/me/identity` → `{name, healthUserId, legacyUserId}` (the Fitbit user id), `GET
//!   /v4/users/me/settings` → `{name, timeZone, utcOffset}`.
//! - `GET /v4/users/me/dataTypes/{type}/dataPoints[:reconcile]?filter&pageSize&pageToken` →
//!   `{dataPoints, nextPageToken}`, newest first; `exercise`, `sleep`, `weight` and `body-fat` have data.
//! - `POST /v4/users/me/dataTypes/{type}/dataPoints:dailyRollUp` with `{range:{start,end}, windowSizeDays}` →
//!   `{rollupDataPoints:[{civilStartTime, civilEndTime, <key>}]}` for `steps`, `total-calories`, `active-minutes`,
//!   `sedentary-period`, `active-zone-minutes`, `weight` and `body-fat`.
//!
//! Health API errors are `google.rpc.Status` JSON: 401 `UNAUTHENTICATED`, 403 `PERMISSION_DENIED`
//! (`ACCESS_TOKEN_SCOPE_INSUFFICIENT`), 400 `INVALID_ARGUMENT` (filters, ranges, unsupported methods),
//! 400 `FAILED_PRECONDITION` (`ACCOUNT_NOT_LINKED`), 404 `NOT_FOUND`, 429 `RESOURCE_EXHAUSTED` after
//! [`SimConfig::google_rate_limit_per_minute`] requests of a user in a clock minute. The legacy-gone switch leaves
//! Google routes alone.
//!
//! # Admin routes for Google
//!
//! - `POST /__admin/google/users/{user}/tokens` `{"scopes"?, "expires_in"?}` → `{access_token, refresh_token,
//!   expires_at, user_id, health_user_id}` (default scopes: [`GOOGLE_HEALTH_SCOPES`]).
//! - `GET /__admin/google/users/{user}/requests` → `{refresh, code_exchange, revoke, tokeninfo, consent, data,
//!   requests}`.
//! - `PUT /__admin/google/users/{user}/linked` `{"linked": bool}`.
//! - `PUT /__admin/config` also takes `google_rate_limit_per_minute` and `google_empty_first_page`.
//! - `POST /__admin/faults` takes the routes `google_token`, `google_revoke`, `google_tokeninfo`, `google_consent`
//!   and `google_data`.

mod config;
mod dataset;
mod faults;
mod fitbit_error;
mod google;
mod http;
mod jwt;
mod rate_limit;
mod redact;
mod scopes;
mod seed;
mod simulator;
mod state;
mod tokens;
mod usage;

pub use config::SimConfig;
pub use dataset::{dataset, Dataset, SERIES_RESOURCES};
pub use faults::{Fault, FaultKind, Route};
pub use google::{google_dataset, health_user_id, GoogleDataset, GOOGLE_HEALTH_SCOPES};
pub use simulator::Simulator;
pub use tokens::TokenPair;
pub use usage::{GoogleCounts, RequestCounts};
