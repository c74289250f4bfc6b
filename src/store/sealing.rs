//! The stored tokens as a whole, for key rotation (docs/operations.md#security): the startup check that the configured
//! keys open what is stored, and the re-seal that moves every stored token under the current key while instances keep
//! writing.
//!
//! Both read `userauths` (tokens in `fitbit.access_token`, `fitbit.refresh_token`) and `revocations` (tokens at the
//! top level) by `_id` only, the index every collection has.

use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};

use super::crypto::{is_sealed, Aad, TokenCipher};
use super::{Store, StoreError, REVOCATIONS, USERAUTHS};
use crate::domain::ChildId;

/// How many of the newest records of each collection the startup check reads.
const CHECK_SAMPLE: i64 = 50;
/// How often a record is read again when an instance rewrote it between the re-seal's read and write.
const RACE_RETRIES: usize = 3;

/// One collection whose documents hold tokens: where they are, and what binds them.
struct Tokens {
    collection: &'static str,
    /// The token fields, as paths from the document.
    fields: [&'static str; 2],
    aad: fn(ChildId, &str) -> Aad,
}

const SEALED_COLLECTIONS: [Tokens; 2] = [
    Tokens {
        collection: USERAUTHS,
        fields: ["fitbit.access_token", "fitbit.refresh_token"],
        aad: |child, field| Aad::userauths(child, field),
    },
    Tokens {
        collection: REVOCATIONS,
        fields: ["access_token", "refresh_token"],
        aad: |child, field| Aad::revocation(child, field),
    },
];

impl Tokens {
    /// The field's stored value, with the associated data it must open with; `None` when absent or empty, or when the
    /// document names no child.
    fn value<'a>(&self, document: &'a Document, path: &'static str) -> Option<(&'a str, Aad)> {
        let child = ChildId::from(document.get_object_id("user_id").ok()?);
        let (value, field) = match path.split_once('.') {
            Some((part, field)) => (document.get_document(part).ok()?.get_str(field).ok()?, field),
            None => (document.get_str(path).ok()?, path),
        };
        (!value.is_empty()).then(|| (value, (self.aad)(child, field)))
    }

    fn projection(&self) -> Document {
        let mut projection = doc! {"user_id": 1};
        for field in self.fields {
            projection.insert(field, 1);
        }
        projection
    }
}

/// What the startup check found among the newest stored tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyCheck {
    /// Sealed values read.
    pub sealed: usize,
    /// Of those, how many a configured key opened.
    pub opened: usize,
}

impl KeyCheck {
    /// False when sealed tokens are stored and no configured key opens any of them: the service would fail every
    /// read of them.
    pub fn passed(&self) -> bool {
        self.sealed == 0 || self.opened > 0
    }
}

/// Tries the configured keys on the sealed tokens of the newest records (by `_id`) of `userauths` and `revocations`.
pub async fn check_token_keys(store: &Store, cipher: &TokenCipher) -> Result<KeyCheck, StoreError> {
    let mut check = KeyCheck::default();
    for tokens in &SEALED_COLLECTIONS {
        let collection = store.collection(tokens.collection);
        let find = collection.find(doc! {}).projection(tokens.projection()).sort(doc! {"_id": -1}).limit(CHECK_SAMPLE);
        let cursor = store.timed(find).await?;
        let documents: Vec<Document> = store.timed(cursor.try_collect()).await?;
        for document in &documents {
            for path in tokens.fields {
                let Some((value, aad)) = tokens.value(document, path) else { continue };
                if is_sealed(value) {
                    check.sealed += 1;
                    check.opened += usize::from(cipher.open(value, &aad).is_ok());
                }
            }
        }
    }
    Ok(check)
}

/// What a re-seal did in one collection, counted in token values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResealReport {
    pub collection: &'static str,
    /// Documents read.
    pub documents: u64,
    /// Values written again under the current key (plaintext, `enc:v1:` and values under a previous key).
    pub resealed: u64,
    /// Values already under the current key.
    pub current: u64,
    /// Values no configured key opens, left as they were.
    pub undecryptable: u64,
    /// Values an instance kept rewriting while the re-seal tried (they are then under the current key anyway, if
    /// every instance has it).
    pub raced: u64,
}

/// Seals every stored token of `userauths` and `revocations` under the current key, `batch` documents at a time,
/// calling `progress` after each batch. A value is replaced only if it is still the one read (its old value is in the
/// update's filter), so instances may keep writing meanwhile; it can run again at any time.
pub async fn reseal_tokens(
    store: &Store,
    cipher: &TokenCipher,
    batch: i64,
    mut progress: impl FnMut(&ResealReport),
) -> Result<Vec<ResealReport>, StoreError> {
    if !cipher.seals() {
        return Err(StoreError::NoSealingKey);
    }
    let mut reports = Vec::new();
    for tokens in &SEALED_COLLECTIONS {
        let mut report = ResealReport { collection: tokens.collection, ..Default::default() };
        let mut after: Option<ObjectId> = None;
        loop {
            let filter = match after {
                Some(id) => doc! {"_id": {"$gt": id}},
                None => doc! {},
            };
            let collection = store.collection(tokens.collection);
            let find =
                collection.find(filter).projection(tokens.projection()).sort(doc! {"_id": 1}).limit(batch.max(1));
            let cursor = store.timed(find).await?;
            let documents: Vec<Document> = store.timed(cursor.try_collect()).await?;
            let Some(last) = documents.last() else { break };
            after = Some(last.get_object_id("_id").map_err(StoreError::Malformed)?);
            for document in documents {
                reseal_document(store, cipher, tokens, document, &mut report).await?;
            }
            progress(&report);
        }
        reports.push(report);
    }
    Ok(reports)
}

/// Re-seals the token fields of one document in one conditional update, reading it again if an instance rewrote it.
async fn reseal_document(
    store: &Store,
    cipher: &TokenCipher,
    tokens: &Tokens,
    mut document: Document,
    report: &mut ResealReport,
) -> Result<(), StoreError> {
    report.documents += 1;
    let Ok(id) = document.get_object_id("_id") else { return Ok(()) };
    for attempt in 0..=RACE_RETRIES {
        let mut filter = doc! {"_id": id};
        let mut set = Document::new();
        let (mut current, mut undecryptable) = (0, 0);
        for path in tokens.fields {
            let Some((value, aad)) = tokens.value(&document, path) else { continue };
            if cipher.is_current(value) {
                current += 1;
                continue;
            }
            match cipher.open(value, &aad) {
                Ok(plain) => {
                    filter.insert(path, value);
                    set.insert(path, cipher.seal(&plain, &aad));
                }
                Err(_) => undecryptable += 1,
            }
        }
        if set.is_empty() {
            report.current += current;
            report.undecryptable += undecryptable;
            return Ok(());
        }
        let resealed = set.len() as u64;
        let update = doc! {"$set": set};
        let result = store.timed(store.collection(tokens.collection).update_one(filter, update)).await?;
        if result.matched_count == 1 {
            report.current += current;
            report.undecryptable += undecryptable;
            report.resealed += resealed;
            return Ok(());
        }
        if attempt == RACE_RETRIES {
            report.raced += resealed;
            return Ok(());
        }
        let projection = tokens.projection();
        let collection = store.collection(tokens.collection);
        let reread = collection.find_one(doc! {"_id": id}).projection(projection);
        match store.timed(reread).await? {
            Some(fresh) => document = fresh,
            // Deleted meanwhile: nothing left to seal.
            None => return Ok(()),
        }
    }
    Ok(())
}
