//! The `userauths` collection, exactly as the original wrote it (docs/decisions.md#stored-documents), so that a
//! database written by the original works unchanged. Tokens are sealed by [`TokenCipher`] on every write, bound to
//! their child and field ([`Aad::userauths`]).

use chrono::Utc;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::UpdateOptions;

use super::crypto::{Aad, TokenCipher};
use super::{bson_time, Store, StoreError, USERAUTHS};
use crate::domain::{ChildId, ProviderAuth, ProviderKind, Scopes, TokenStatus};

#[derive(Clone)]
pub struct UserAuths {
    store: Store,
    cipher: TokenCipher,
}

/// A child's record as read: the authorization (if any) and the refresh token exactly as stored, which a refresh
/// must still find in place to write its result (compare-and-set).
#[derive(Clone)]
pub struct StoredAuth {
    pub auth: ProviderAuth,
    pub stored_refresh_token: String,
    /// What the provider refused to give under this authorization (`fitbit.permission_denied`: OCARIoT kinds such as
    /// `sleep` or `steps`), which syncs skip until new tokens replace it.
    pub permission_denied: Vec<String>,
}

/// The stored refresh token is plaintext where no key sealed it: masked like the tokens of [`ProviderAuth`].
impl std::fmt::Debug for StoredAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredAuth")
            .field("auth", &self.auth)
            .field("stored_refresh_token", &crate::domain::mask_token(&self.stored_refresh_token))
            .field("permission_denied", &self.permission_denied)
            .finish()
    }
}

/// A child the cron syncs: one with a valid token.
#[derive(Clone, Debug)]
pub struct ValidChild {
    pub id: mongodb::bson::oid::ObjectId,
    pub child: ChildId,
    pub provider: ProviderKind,
    /// `fitbit.last_sync` as stored (`YYYY-MM-DDTHH:MM:SSZ`, so text order is time order); `None` before a first sync.
    pub last_sync: Option<String>,
}

/// How often a compare-and-set is tried again when only the sealing of the value it compares changed (a re-seal ran
/// between the read and the write).
const RESEALED_RETRIES: usize = 3;

/// Where the kinds a provider refused are kept: inside the `fitbit` part, so that a new authorization, which replaces
/// that part whole, forgets them; a refresh of the same grant keeps them. Absent while nothing was refused, so
/// records keep the original's shape.
const PERMISSION_DENIED: &str = "fitbit.permission_denied";

impl UserAuths {
    pub fn new(store: Store, cipher: TokenCipher) -> Self {
        UserAuths { store, cipher }
    }

    /// The child's authorization; `None` when there is no record or its `fitbit` part is gone (revoked).
    pub async fn find(&self, child: ChildId) -> Result<Option<StoredAuth>, StoreError> {
        let collection = self.store.collection(USERAUTHS);
        let found = self.store.timed(collection.find_one(doc! {"user_id": child.object_id()})).await?;
        let Some(fitbit) = found.as_ref().and_then(|d| d.get_document("fitbit").ok()) else { return Ok(None) };
        self.read_auth(child, fitbit)
    }

    /// POST auth: a new authorization replaces the whole `fitbit` part (this wipe of `last_sync` is kept:
    /// docs/decisions.md#refresh-keeps-last-sync); the record is created when missing.
    pub async fn save_authorization(&self, child: ChildId, auth: &ProviderAuth) -> Result<(), StoreError> {
        let update = doc! {
            "$set": {"user_id": child.object_id(), "fitbit": self.fitbit_document(child, auth)},
            "$setOnInsert": {"created_at": bson_time(Utc::now()), "__v": 0},
        };
        let options = UpdateOptions::builder().upsert(true).build();
        let collection = self.store.collection(USERAUTHS);
        let filter = doc! {"user_id": child.object_id()};
        match self
            .store
            .timed(collection.update_one(filter.clone(), update.clone()).with_options(options.clone()))
            .await
        {
            // Two concurrent first saves race on the unique index; the loser updates the winner's record.
            Err(StoreError::Duplicate) => {
                self.store.timed(collection.update_one(filter, update).with_options(options)).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }

    /// A refresh: only the token fields change (docs/decisions.md#refresh-keeps-last-sync), and only if the refresh
    /// token read before is still the stored one. Returns false when another writer got there first. A value that is
    /// the same token sealed again (by `ds-agent tokens reseal`) is still the stored one: the write is tried again on it,
    /// so a re-seal never loses a refresh's new tokens.
    pub async fn replace_tokens(
        &self,
        child: ChildId,
        previous: &StoredAuth,
        fresh: &ProviderAuth,
    ) -> Result<bool, StoreError> {
        let mut set = Document::new();
        set.insert(
            "fitbit.access_token",
            self.cipher.seal(&fresh.access_token, &Aad::userauths(child, "access_token")),
        );
        set.insert(
            "fitbit.refresh_token",
            self.cipher.seal(&fresh.refresh_token, &Aad::userauths(child, "refresh_token")),
        );
        if let Some(exp) = fresh.expires_in {
            set.insert("fitbit.expires_in", epoch_bson(exp));
        }
        if let Some(scope) = &fresh.scope {
            set.insert("fitbit.scope", scope.as_str());
        }
        set.insert("fitbit.token_type", "Bearer");
        if let Some(user) = &fresh.user_id {
            set.insert("fitbit.user_id", user);
        }
        set.insert("fitbit.status", "valid_token");
        let mut stored_refresh_token = previous.stored_refresh_token.clone();
        for _ in 0..RESEALED_RETRIES {
            let filter = doc! {"user_id": child.object_id(), "fitbit.refresh_token": &stored_refresh_token};
            let update = doc! {"$set": set.clone()};
            let result = self.store.timed(self.store.collection(USERAUTHS).update_one(filter, update)).await?;
            if result.matched_count == 1 {
                return Ok(true);
            }
            match self.find(child).await {
                Ok(Some(now))
                    if now.auth.refresh_token == previous.auth.refresh_token
                        && now.stored_refresh_token != stored_refresh_token =>
                {
                    stored_refresh_token = now.stored_refresh_token;
                }
                Ok(_) | Err(StoreError::Undecryptable(_)) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    pub async fn set_status(&self, child: ChildId, status: TokenStatus) -> Result<(), StoreError> {
        let update = doc! {"$set": {"fitbit.status": status_text(status)}};
        let collection = self.store.collection(USERAUTHS);
        self.store.timed(collection.update_one(doc! {"user_id": child.object_id()}, update)).await.map(|_| ())
    }

    /// Revoke and `invalid_grant`: the `fitbit` part goes; the record with `user_id` and `created_at` stays.
    pub async fn remove_authorization(&self, child: ChildId) -> Result<(), StoreError> {
        let update = doc! {"$unset": {"fitbit": ""}};
        let collection = self.store.collection(USERAUTHS);
        self.store.timed(collection.update_one(doc! {"user_id": child.object_id()}, update)).await.map(|_| ())
    }

    /// Stores the time of a finished sync; false when the child has no authorization any more.
    pub async fn set_last_sync(&self, child: ChildId, last_sync: &str) -> Result<bool, StoreError> {
        let filter = doc! {"user_id": child.object_id(), "fitbit.access_token": {"$exists": true}};
        let update = doc! {"$set": {"fitbit.last_sync": last_sync}};
        let result = self.store.timed(self.store.collection(USERAUTHS).update_one(filter, update)).await?;
        Ok(result.matched_count == 1)
    }

    /// Adds `kinds` to what the provider refuses under the authorization whose refresh token is `refresh_token` (in
    /// clear), if that authorization is still the stored one. Returns the kinds that were not refused before (none when
    /// the tokens were replaced meanwhile). Both queries use the `user_id` index.
    pub async fn add_permission_denied(
        &self,
        child: ChildId,
        refresh_token: &str,
        kinds: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        // Read again when the write missed: the same tokens may have been sealed again meanwhile.
        for _ in 0..RESEALED_RETRIES {
            let Some(stored) = self.find(child).await? else { return Ok(Vec::new()) };
            if stored.auth.refresh_token != refresh_token {
                return Ok(Vec::new());
            }
            let new: Vec<String> = kinds
                .iter()
                .filter(|kind| !stored.permission_denied.iter().any(|k| k == *kind))
                .map(|k| k.to_string())
                .collect();
            if new.is_empty() {
                return Ok(new);
            }
            let all: Vec<String> = stored.permission_denied.iter().chain(&new).cloned().collect();
            let filter = doc! {"user_id": child.object_id(), "fitbit.refresh_token": &stored.stored_refresh_token};
            let update = doc! {"$set": {PERMISSION_DENIED: all}};
            let result = self.store.timed(self.store.collection(USERAUTHS).update_one(filter, update)).await?;
            if result.matched_count == 1 {
                return Ok(new);
            }
        }
        Ok(Vec::new())
    }

    /// User deletion: the whole record goes. `None` when there was none.
    pub async fn delete(&self, child: ChildId) -> Result<Option<Document>, StoreError> {
        let collection = self.store.collection(USERAUTHS);
        self.store.timed(collection.find_one_and_delete(doc! {"user_id": child.object_id()})).await
    }

    /// Every child with a valid token, with its provider and `last_sync`, streamed in `_id` order from `after` on, a
    /// page at a time, so a tick never holds all children in memory.
    pub async fn valid_children_page(
        &self,
        after: Option<mongodb::bson::oid::ObjectId>,
        limit: i64,
    ) -> Result<Vec<ValidChild>, StoreError> {
        let mut filter = doc! {"fitbit.status": "valid_token"};
        if let Some(after) = after {
            filter.insert("_id", doc! {"$gt": after});
        }
        let collection = self.store.collection(USERAUTHS);
        let projection = doc! {"user_id": 1, "fitbit.provider": 1, "fitbit.last_sync": 1};
        let find = collection.find(filter).projection(projection).sort(doc! {"_id": 1}).limit(limit);
        let cursor = self.store.timed(find).await?;
        let documents: Vec<Document> = self.store.timed(futures::TryStreamExt::try_collect(cursor)).await?;
        Ok(documents
            .iter()
            .filter_map(|d| {
                let id = d.get_object_id("_id").ok()?;
                let child = ChildId::parse(&d.get_object_id("user_id").ok()?.to_hex()).ok()?;
                let fitbit = d.get_document("fitbit").ok();
                let text = |key: &str| fitbit.and_then(|f| f.get_str(key).ok());
                let provider = text("provider").and_then(ProviderKind::parse).unwrap_or_default();
                Some(ValidChild { id, child, provider, last_sync: text("last_sync").map(str::to_string) })
            })
            .collect())
    }

    /// The child whose Google tokens reach Google Health user `health_user_id` (stored as `fitbit.user_id` at POST
    /// auth and connect), on the `fitbit_user_id` index; with whether its tokens are still valid.
    pub async fn find_by_health_user(&self, health_user_id: &str) -> Result<Option<(ChildId, bool)>, StoreError> {
        let filter = doc! {"fitbit.user_id": health_user_id, "fitbit.provider": ProviderKind::Google.as_str()};
        let projection = doc! {"user_id": 1, "fitbit.status": 1};
        let collection = self.store.collection(USERAUTHS);
        let found = self.store.timed(collection.find_one(filter).projection(projection)).await?;
        Ok(found.and_then(|d| {
            let child = ChildId::parse(&d.get_object_id("user_id").ok()?.to_hex()).ok()?;
            let status = d.get_document("fitbit").ok().and_then(|f| f.get_str("status").ok().map(str::to_string));
            Some((child, status.as_deref() == Some("valid_token")))
        }))
    }

    fn fitbit_document(&self, child: ChildId, auth: &ProviderAuth) -> Document {
        let mut fitbit = Document::new();
        fitbit.insert("access_token", self.cipher.seal(&auth.access_token, &Aad::userauths(child, "access_token")));
        if let Some(exp) = auth.expires_in {
            fitbit.insert("expires_in", epoch_bson(exp));
        }
        fitbit.insert("refresh_token", self.cipher.seal(&auth.refresh_token, &Aad::userauths(child, "refresh_token")));
        if let Some(scope) = &auth.scope {
            fitbit.insert("scope", scope.as_str());
        }
        fitbit.insert("token_type", &auth.token_type);
        if let Some(user) = &auth.user_id {
            fitbit.insert("user_id", user);
        }
        if let Some(status) = auth.status {
            fitbit.insert("status", status_text(status));
        }
        if let Some(last_sync) = &auth.last_sync {
            fitbit.insert("last_sync", last_sync);
        }
        // Additive, and only where it differs from what a record without it means, so Fitbit records keep the
        // original's exact shape.
        if let Some(provider) = auth.provider.stored() {
            fitbit.insert("provider", provider);
        }
        fitbit
    }

    fn read_auth(&self, child: ChildId, fitbit: &Document) -> Result<Option<StoredAuth>, StoreError> {
        let text = |key: &str| fitbit.get_str(key).ok().filter(|s| !s.is_empty()).map(str::to_string);
        let (Some(access), Some(refresh)) = (text("access_token"), text("refresh_token")) else { return Ok(None) };
        let open = |value: &str, field: &str| {
            self.cipher.open(value, &Aad::userauths(child, field)).map_err(StoreError::Undecryptable)
        };
        let auth = ProviderAuth {
            access_token: open(&access, "access_token")?,
            refresh_token: open(&refresh, "refresh_token")?,
            expires_in: fitbit.get("expires_in").and_then(bson_number),
            scope: text("scope").map(Scopes::from),
            token_type: text("token_type").unwrap_or_else(|| "Bearer".into()),
            user_id: text("user_id"),
            status: text("status").and_then(|s| parse_status(&s)),
            last_sync: text("last_sync"),
            provider: text("provider").and_then(|p| ProviderKind::parse(&p)).unwrap_or_default(),
        };
        let permission_denied = fitbit
            .get_array("permission_denied")
            .map(|kinds| kinds.iter().filter_map(|kind| kind.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        Ok(Some(StoredAuth { auth, stored_refresh_token: refresh, permission_denied }))
    }
}

/// js-bson wrote integral numbers that fit as int32, larger ones as double.
fn epoch_bson(value: i64) -> Bson {
    match i32::try_from(value) {
        Ok(small) => Bson::Int32(small),
        Err(_) => Bson::Double(value as f64),
    }
}

fn bson_number(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(f) => Some(*f as i64),
        _ => None,
    }
}

fn status_text(status: TokenStatus) -> &'static str {
    match status {
        TokenStatus::ValidToken => "valid_token",
        TokenStatus::InvalidToken => "invalid_token",
        TokenStatus::InvalidGrant => "invalid_grant",
    }
}

fn parse_status(text: &str) -> Option<TokenStatus> {
    match text {
        "valid_token" => Some(TokenStatus::ValidToken),
        "invalid_token" => Some(TokenStatus::InvalidToken),
        "invalid_grant" => Some(TokenStatus::InvalidGrant),
        _ => None,
    }
}
