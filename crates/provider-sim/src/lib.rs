//! A stand-in for the legacy Fitbit Web API, which answers `410 Gone` in the real world since 2 Nov 2026, and for its
//! replacement, Google OAuth plus the Google Health API v4.
//!
//! ds-agent's tests start a [`Simulator`] in-process and talk to it over real HTTP, exactly as they would to
//! `api.fitbit.com`, `oauth2.googleapis.com` and `health.googleapis.com`; developers run the `provider-sim` binary and
//! steer it with curl through `/__admin`. It issues and checks OAuth tokens, serves deterministic synthetic data per
//! user ([`dataset`], and the same person on Google's side, [`google_dataset`]), enforces Fitbit's hourly and Google's
//! per-minute rate limits (and, on demand, Google's per-second pacing of unverified apps), answers as the real Google
//! does even where that is less kind (proto3 JSON, a second data source; on demand, a night still processing and
//! unstable reconciled names), and misbehaves on demand ([`Fault`], legacy-gone switch, latency, a user's newest
//! Google items served defective). It also plays Google's webhooks: a project's subscribers with their verification
//! handshake, and signed, batched, retried notifications of data added for a user.
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
//!   With `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and `assertion=<JWT>` (a service account's; no
//!   client credentials) → `{access_token, expires_in: 3599, token_type}`, a token for the subscriber routes only. The
//!   assertion must be three base64url parts with a JSON payload naming `iss`; its signature is not checked (the
//!   simulator has no service-account key to check it with), else 400 `invalid_grant`. It counts for no user.
//! - `POST /revoke` (`token=` in the form or query): revokes the whole consent; `{}`, or 400 `invalid_token`.
//! - `GET /tokeninfo?access_token=`, or `POST /tokeninfo` with `access_token=` in a form body (as Google takes both):
//!   `{azp, aud, sub, scope, exp, expires_in, access_type}` (`exp` and `expires_in` are strings, as Google sends
//!   them), or 400 `invalid_token`.
//! - `GET /v4/users/me/identity` → `{name, healthUserId, legacyUserId}` (the Fitbit user id), `GET
//!   /v4/users/me/settings` → `{name, timeZone, utcOffset}`.
//! - `GET /v4/users/me/dataTypes/{type}/dataPoints?filter&pageSize&pageToken` and
//!   `GET …/dataPoints:reconcile?filter&pageSize&pageToken&dataSourceFamily` → `{dataPoints, nextPageToken}`, newest
//!   first; `exercise`, `sleep`, `weight` and `body-fat` have data (`exercise` also the exercises added through
//!   [`Simulator::add_google_exercise`]). `list` is the per-source view: on [`phone_exercise_days`] the user's phone
//!   (`HEALTH_CONNECT`, a Pixel 8) recorded the day's first activity too, so `exercise` has a second point for it, a
//!   `WALKING` with its own id. `list` has no `dataSourceFamily` (v4's `ListDataPointsRequest` has none): naming one
//!   is 400 `INVALID_ARGUMENT`, as Google answers a query parameter its request message lacks. `reconcile` is the
//!   merged stream: the tracker's point only, `dataPointName` in place of `name` and no `dataSource`; with
//!   [`SimConfig::google_unstable_reconcile_names`] the names change from call to call. Exercises carry v4's August
//!   2026 types where Fitbit's activity has one (`SOCCER`, `AEROBIC_WORKOUT`, `SWIMMING_POOL`); nights carry
//!   `metadata.mainSleep` and, when Fitbit had short wakes, `shortAwakenings`.
//! - `POST /v4/users/me/dataTypes/{type}/dataPoints:dailyRollUp` with `{range:{start,end}, windowSizeDays}` →
//!   `{rollupDataPoints:[{civilStartTime, civilEndTime, <key>}]}` for `steps`, `total-calories`, `active-minutes`,
//!   `sedentary-period`, `active-zone-minutes`, `weight` and `body-fat`. Days the tracker was not worn
//!   ([`unworn_days`]) have no bucket; days it was worn without a step ([`still_days`]) have buckets with zero sums.
//! - `GET /googlehealthapi/webhooks/webhooks_public_keyset.json` (unauthenticated; the path of Google's
//!   `https://www.gstatic.com/...` URL, [`Simulator::google_webhook_keyset_url`]): the Tink JSON keyset of the webhook
//!   signatures, `{primaryKeyId, key:[{keyData:{typeUrl, value, keyMaterialType}, status, keyId,
//!   outputPrefixType: "TINK"}]}`, `value` the base64 of a hand-encoded `EcdsaPublicKey` proto (P-256, SHA256, DER;
//!   `x` and `y` with a leading zero byte, as Tink's Java writes them). A new key is made at every start.
//!
//! # Google webhooks (docs/notifications.md)
//!
//! Subscriber routes take a service-account token from the JWT-bearer grant: none or an unknown one → 401
//! `UNAUTHENTICATED`, a user's → 403 `PERMISSION_DENIED` (`ACCESS_TOKEN_SCOPE_INSUFFICIENT`). A project that is not a
//! number → 403 "The caller does not have permission" (create, get, list) or 400 "Invalid project number in resource
//! name." (patch, delete).
//!
//! - `POST /v4/projects/{number}/subscribers[?subscriberId=]` with `{endpointUri, subscriberConfigs:[{dataTypes,
//!   subscriptionCreatePolicy}], endpointAuthorization:{secret}}`. 400 `INVALID_ARGUMENT` for an id not matching
//!   `[a-z]([a-z0-9-]{2,34}[a-z0-9])` (one is generated without it), an endpoint that is no `https` URL (`http` is
//!   taken too, for local receivers), no secret, a data type outside Google's kebab-case list or a policy other
//!   than `AUTOMATIC` / `MANUAL`; 409 `ALREADY_EXISTS` for an id in use. Then the verification handshake, inside the
//!   call: `{"type":"verification"}` POSTed with `Content-Type: application/json`, `User-Agent:
//!   Google-Health-API-Webhooks-Verifier` and `Authorization: <secret>` must get 201, the same without
//!   `Authorization` 401 or 403; anything else, a connection error or a 5 s timeout → 400 `FAILED_PRECONDITION` and
//!   nothing stored. The subscriber is then `ACTIVE`.
//! - `GET …/subscribers` → `{subscribers, totalSize}` in one page (`pageSize` and `pageToken` are ignored, no
//!   `nextPageToken`; `{}` without any). v4 publishes no get of one subscriber and no `google.longrunning.Operations`
//!   mixin: `GET …/subscribers/{id}` and `GET …/operations/{id}` are 404 `NOT_FOUND`, as unknown URLs.
//! - `PATCH …/subscribers/{id}?updateMask=endpointUri,subscriberConfigs,endpointAuthorization` (without a mask: the
//!   fields in the body; configs are replaced whole): naming the endpoint or the secret re-runs the handshake.
//! - `DELETE …/subscribers/{id}[?force=true]`: 404 if absent; its pending batch and retries are dropped.
//!
//! A Subscriber is `{name: "projects/{n}/subscribers/{id}", endpointUri, subscriberConfigs, endpointAuthorization:
//! {"secretSet": true}, state, createTime, updateTime}`, never the secret. Create and patch answer `{"name":
//! "projects/{n}/operations/{uuid}", "done": true, "response": {"@type":
//! "type.googleapis.com/google.devicesandservices.health.v4.Subscriber", …the Subscriber}}`, delete the same with
//! `response` `{"@type": "type.googleapis.com/google.protobuf.Empty"}`; with
//! [`SimConfig::google_subscriber_direct_answer`], the Subscriber itself and `{}`. With
//! [`SimConfig::google_operations_pending`], an `Operation` that is not done (`{name, metadata: {"@type":
//! "…CreateSubscriberMetadata"}}`, no `done`, no `response`), the change (handshake included) following a second
//! later; a client learns the outcome from the list only. Every request to these routes is recorded
//! ([`Simulator::google_project_requests`]).
//!
//! Notifications: adding data ([`Simulator::add_google_exercise`], `POST /__admin/google/users/{user}/exercises`) or
//! announcing a change ([`Simulator::notify_google`], `POST /__admin/google/notify`) sends each `ACTIVE` subscriber
//! whose configs name the data type `{"data": {version: "1", clientProvidedSubscriptionName: <random UUID>,
//! healthUserId, operation, dataType, intervals: [{physicalTimeInterval: {startTime, endTime},
//! civilDateTimeInterval: {startDateTime, endDateTime}, civilIso8601TimeInterval: {startTime, endTime}}]}}`, civil
//! being the user's local time (`-03:00` for `exercise`, as the activity logs, UTC for the other types). A POST to
//! `endpointUri` with `Content-Type: application/json`, `User-Agent: Google-Health-API-Webhooks`, `Authorization:
//! <secret>` (left out with [`SimConfig::google_notification_omit_authorization`]) and `GOOGLE-HEALTH-API-SIGNATURE:
//! base64(0x01 || key id, 4 bytes big-endian || DER ECDSA-SHA256 signature of the exact body)`
//! ([`SimConfig::google_signature_header`] names it otherwise). The body is a JSON array of the notifications raised
//! for that subscriber within [`SimConfig::google_notification_batch_ms`]; with
//! [`SimConfig::google_notifications_single`], each notification alone as an object, at once. Any answer but 204
//! (200 included) or a connection error is retried after [`SimConfig::google_notification_retry_base_ms`], doubling,
//! up to [`SimConfig::google_notification_max_attempts`] attempts; every attempt is a [`Delivery`]
//! ([`Simulator::google_deliveries`]). Deliveries run in the background and are dropped when the simulator stops.
//!
//! Data points and rollups are proto3 JSON, as Google writes them (docs/google-health.md#proto3-json): default values
//! are left out, so a still day's steps are `"steps": {}`, a zero `activeZoneMinutes` or sleep-stage count is absent
//! and `false` flags (`nap`, `manuallyEdited`, `hasGps`, `processed`) never appear. [`SimConfig::google_verbose`]
//! prints every field instead, zeros included, and serves no phone source. With
//! [`SimConfig::google_sleep_processing_until`] in the future, the newest night is still processing: no `processed` and
//! no `stagesStatus`. [`google_dataset`] is what the default configuration serves for the Fitbit devices and the
//! rollups.
//!
//! Health API errors are `google.rpc.Status` JSON: 401 `UNAUTHENTICATED`, 403 `PERMISSION_DENIED`
//! (`ACCESS_TOKEN_SCOPE_INSUFFICIENT`; without a reason for a data type whose permission was taken back), 400 `INVALID_ARGUMENT` (filters, ranges, unsupported methods),
//! 400 `FAILED_PRECONDITION` (`ACCOUNT_NOT_LINKED`; a failed webhook verification), 404 `NOT_FOUND`, 409
//! `ALREADY_EXISTS` (a subscriber id in use), 429 `RESOURCE_EXHAUSTED` /
//! `RATE_LIMIT_EXCEEDED` after [`SimConfig::google_rate_limit_per_minute`] requests of a user in a clock minute or,
//! with [`SimConfig::google_requests_per_second`], when the user's token bucket is empty; with
//! [`SimConfig::google_project_requests_per_second`], when the project's bucket (every user together) is empty, with
//! a `QuotaFailure` whose violation names `project:123456789` (no `Retry-After` in any case). The legacy-gone switch
//! leaves Google routes alone.
//!
//! # Admin routes for Google
//!
//! - `POST /__admin/google/users/{user}/tokens` `{"scopes"?, "expires_in"?}` → `{access_token, refresh_token,
//!   expires_at, user_id, health_user_id}` (default scopes: [`GOOGLE_HEALTH_SCOPES`]).
//! - `GET /__admin/google/users/{user}/requests` → `{refresh, code_exchange, revoke, tokeninfo, consent, data,
//!   rate_limited, requests}`.
//! - `PUT /__admin/google/users/{user}/linked` `{"linked": bool}`.
//! - `PUT /__admin/google/users/{user}/defects` `{"defects": bool}` → `{user_id, defects}`: the user's newest
//!   exercise without `metricsSummary.caloriesKcal`, newest night with a first stage `SLEEP_STAGE_TYPE_UNSPECIFIED`,
//!   newest weight without `name` / `dataPointName` and newest steps bucket `{"countSum": "many"}`, in `list`,
//!   `reconcile` and `dailyRollUp` ([`Simulator::set_google_defects`]). Off by default.
//! - `PUT /__admin/google/users/{user}/permission-denied` `{"dataTypes": ["sleep", …]}` → `{user_id, dataTypes,
//!   consents}`: the user's consents so far no longer grant those types; their reads answer 403 `PERMISSION_DENIED`
//!   until a new consent ([`Simulator::set_google_permission_denied`]). `[]` grants them again.
//! - `POST /__admin/google/users/{user}/exercises` `{"start": RFC 3339, "minutes", "steps"?, "exerciseType"?:
//!   "WALKING"}` → `{name, user_id, health_user_id}`: a tracker exercise that `list` and `reconcile` serve from then
//!   on (not the rollups), and an `UPSERT` notification of `exercise` for its interval.
//! - `POST /__admin/google/notify` `{"user", "dataType", "start", "end", "operation"?: "UPSERT"}` → `{notified}` (how
//!   many subscribers): a notification without a change of data.
//! - `GET /__admin/google/deliveries` → `{deliveries: [{subscriber, attempt, status, body, at_ms}]}` (`status`
//!   `null` for a connection error, `at_ms` since the simulator started); `GET /__admin/google/webhooks/subscribers`
//!   → `{subscribers}` of every project.
//! - `POST /__admin/google/webhooks/rotate-key` and `PUT /__admin/google/webhooks/retired` `{"retired": bool}` →
//!   `{primaryKeyId, keyIds, retired}`: a rotation makes a new key with a new id the primary, which signs from then
//!   on; the old keys stay in the keyset, `ENABLED`, or `DISABLED` while retired is on.
//! - `PUT /__admin/config` also takes `google_rate_limit_per_minute` (number), `google_empty_first_page`,
//!   `google_verbose`, `google_phone_source`, `google_unstable_reconcile_names` (booleans),
//!   `google_sleep_processing_until` (epoch seconds or `null`), `google_requests_per_second` and
//!   `google_project_requests_per_second` (a positive number or `null`), `google_subscriber_direct_answer`, `google_notification_omit_authorization`,
//!   `google_notifications_single`, `google_operations_pending` (booleans), `google_signature_header` (a header name),
//!   `google_notification_batch_ms`, `google_notification_retry_base_ms` and `google_notification_max_attempts`
//!   (numbers), and answers with every switch in force.
//! - `POST /__admin/faults` takes the routes `google_token`, `google_revoke`, `google_tokeninfo`, `google_consent`,
//!   `google_data` and `google_keyset`.
//!
//! # Faults of a hostile provider
//!
//! Besides `status`, `slow` and `drop`, `POST /__admin/faults` (and [`Simulator::add_fault`]) take the ways a hostile
//! or compromised provider answers ([`FaultKind`]), for any route unless said otherwise:
//!
//! - `{"kind": "oversized", "bytes": N, "declared"?: bool}`: a 200 of N bytes of whitespace ending in `{}` (valid JSON
//!   if read whole), streamed from one static buffer so that no size costs the simulator memory; with a
//!   `Content-Length` when `declared`, else chunked.
//! - `{"kind": "endless"}`: a 200 whose whitespace never ends (e.g. the keyset, route `google_keyset`).
//! - `{"kind": "redirect", "url", "status"?: 300-399}`: that status (307 by default) with `Location: url`.
//! - `{"kind": "next_link", "url"}`: on Fitbit's `sleep/list.json` and `activities/list.json`, the page as usual with
//!   `pagination.next` set to `url`; other data GETs spend it unchanged.
//! - `{"kind": "audience", "client_id"}`: tokeninfo answers as usual, with `aud` and `azp` naming that other client.
//! - `{"kind": "project_quota", "retry_after"}`: a Health API 429 for the project's quota with that `Retry-After`.

mod config;
mod dataset;
mod faults;
mod fitbit_error;
mod google;
mod http;
mod jwt;
mod memo;
mod rate_limit;
mod redact;
mod scopes;
mod seed;
mod simulator;
mod state;
mod tokens;
mod usage;

pub use config::SimConfig;
pub use dataset::{dataset, still_days, unworn_days, Dataset, SERIES_RESOURCES};
pub use faults::{Fault, FaultKind, Route};
pub use google::{
    google_dataset, google_dataset_verbose, health_user_id, phone_exercise_days, Delivery, GoogleDataset,
    GOOGLE_HEALTH_SCOPES,
};
pub use simulator::Simulator;
pub use tokens::TokenPair;
pub use usage::{GoogleCounts, RequestCounts};
