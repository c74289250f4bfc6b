//! The endpoint verification handshake (docs/notifications.md#what-google-sends), run synchronously inside subscriber
//! create and patch: a POST of `{"type":"verification"}` with the secret as `Authorization` must be answered 201 (the
//! discovery doc's demand; the guide also takes 200, which the simulator does not, since a client answering 200 fails
//! somewhere), then the same without `Authorization` must be answered 401 or 403. Verification requests are not signed.

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};

/// The guide's; two implementers saw `Google-Health-API-Webhooks` instead, which the simulator uses on notifications.
const VERIFIER_AGENT: &str = "Google-Health-API-Webhooks-Verifier";
const BODY: &str = r#"{"type":"verification"}"#;

/// `Ok` when the endpoint passed both probes; otherwise why not, for the `FAILED_PRECONDITION` message. The client
/// is the shared outbound one (5 s timeout), and the caller holds no lock.
pub(crate) async fn verify(client: &reqwest::Client, uri: &str, secret: &str) -> Result<(), String> {
    let probe = |authorization: Option<&str>| {
        let mut request =
            client.post(uri).header(CONTENT_TYPE, "application/json").header(USER_AGENT, VERIFIER_AGENT).body(BODY);
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        request.send()
    };
    let failed = |detail: String| format!("Endpoint verification failed for {uri}: {detail}");
    match probe(Some(secret)).await {
        Ok(response) if response.status().as_u16() == 201 => {}
        Ok(response) => {
            let status = response.status().as_u16();
            return Err(failed(format!("the request with the secret was answered {status}, expected 201.")));
        }
        Err(error) => return Err(failed(format!("the endpoint could not be reached ({error})."))),
    }
    match probe(None).await {
        Ok(response) if matches!(response.status().as_u16(), 401 | 403) => Ok(()),
        Ok(response) => {
            let status = response.status().as_u16();
            Err(failed(format!("the request without the secret was answered {status}, expected 401 or 403.")))
        }
        Err(error) => Err(failed(format!("the endpoint could not be reached ({error})."))),
    }
}
