//! Fitbit's legacy HTTP face: OAuth (`/oauth2/token`, `/oauth2/revoke`, `/1.1/oauth2/introspect`) and the data
//! GETs under `/1.2/user/-/`, each behind the bearer check of [`bearer`] and the hourly quota of [`quota`].

pub(super) mod bearer;
pub(super) mod data;
pub(super) mod oauth;
pub(super) mod quota;
