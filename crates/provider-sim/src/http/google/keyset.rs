//! The public keyset of the webhook signatures, unauthenticated, at the path of Google's
//! `https://www.gstatic.com/googlehealthapi/webhooks/webhooks_public_keyset.json`
//! (docs/notifications.md#what-google-sends), so that a client only needs its keyset URL pointed at the simulator.
//! Faults of the route `google_keyset` apply (an endless keyset, a redirect).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::faults::Route;
use crate::preflight::preflight;
use crate::state::Shared;

pub(crate) const PATH: &str = "/googlehealthapi/webhooks/webhooks_public_keyset.json";

pub(crate) async fn serve(State(shared): State<Arc<Shared>>) -> Response {
    if let Err(response) = preflight(&shared, Route::GoogleKeyset, None, "").await {
        return response;
    }
    let keyset = shared.lock().webhooks.keys.keyset();
    Json(keyset).into_response()
}
