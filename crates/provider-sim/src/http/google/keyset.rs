//! The public keyset of the webhook signatures, unauthenticated, at the path of Google's
//! `https://www.gstatic.com/googlehealthapi/webhooks/webhooks_public_keyset.json`
//! (docs/notifications.md#what-google-sends), so that a client only needs its keyset URL pointed at the simulator.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::state::Shared;

pub(crate) const PATH: &str = "/googlehealthapi/webhooks/webhooks_public_keyset.json";

pub(crate) async fn serve(State(shared): State<Arc<Shared>>) -> Response {
    let keyset = shared.lock().webhooks.keys.keyset();
    Json(keyset).into_response()
}
