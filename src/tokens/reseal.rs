//! `ds-agent tokens reseal [--batch-size N]`: the operator's step of a key rotation (docs/operations.md#security).
//! It seals every stored token (`userauths`, `revocations`) under `TOKEN_ENCRYPTION_KEY`: values under a previous key,
//! `enc:v1:` values and plaintext left by the original. It runs beside the serving instances (a value is replaced only
//! if it is still the one read), prints a progress line per batch, and can run again at any time.

use crate::config::Settings;
use crate::store::{self, ResealReport, Store, StoreError, TokenCipher};

const DEFAULT_BATCH: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("usage: ds-agent tokens reseal [--batch-size N]")]
    Usage,
    #[error("TOKEN_ENCRYPTION_KEY must be set: it is the key every token is sealed with")]
    NoKey,
    /// Flattened on purpose, as at startup: the driver's text may hold the URI's password.
    #[error("invalid MongoDB URI: {0}")]
    MongoUri(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{0} stored tokens open with no configured key and were left as they were: add the key that sealed them to \
         TOKEN_ENCRYPTION_KEYS_PREVIOUS and run again"
    )]
    Undecryptable(u64),
}

/// Runs `tokens <args>`; what it did goes to stdout, one line per batch and collection.
pub async fn run(args: &[String], settings: &Settings) -> Result<Vec<ResealReport>, ResealError> {
    let batch = match args {
        [action] if action == "reseal" => DEFAULT_BATCH,
        [action, flag, size] if action == "reseal" && flag == "--batch-size" => {
            size.parse::<i64>().ok().filter(|n| *n > 0).ok_or(ResealError::Usage)?
        }
        _ => return Err(ResealError::Usage),
    };
    let cipher = TokenCipher::from_settings(settings);
    let Some(key_id) = cipher.current_key_id().map(str::to_string) else { return Err(ResealError::NoKey) };
    let store = Store::new(settings.mongodb_uri.expose(), settings.mongodb_timeout)
        .await
        .map_err(|e| ResealError::MongoUri(settings.mongodb_uri.scrub_error(&e)))?;
    store.ping().await?;
    println!("sealing every stored token under the key {key_id} (TOKEN_ENCRYPTION_KEY), {batch} documents a batch");
    let reports = store::reseal_tokens(&store, &cipher, batch, |report| println!("{}", line(report))).await;
    store.close().await;
    let reports = reports?;
    for report in &reports {
        println!("done: {}", line(report));
    }
    match reports.iter().map(|r| r.undecryptable).sum() {
        0 => Ok(reports),
        left => Err(ResealError::Undecryptable(left)),
    }
}

fn line(report: &ResealReport) -> String {
    format!(
        "{}: {} documents read, {} tokens re-sealed, {} already under the current key, {} cannot be opened, {} \
         rewritten meanwhile by an instance",
        report.collection, report.documents, report.resealed, report.current, report.undecryptable, report.raced
    )
}
