//! Tenant API keys: 256-bit random values shown once, stored as SHA-256 hashes, compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::audit::AuditSubject;
use super::crypto::{constant_time_eq, random_bytes, sha256};
use super::{Error, RequestMeta, Result, Tessera};
use crate::clock::Millis;
use crate::model::{ApiKey, TenantId};
use crate::repo;

/// Every API key starts with this, so that secret scanners and people recognise one.
pub const API_KEY_PREFIX: &str = "tsk_";
/// The longest API key value accepted for a lookup; anything longer is refused without hashing.
const MAX_KEY_LEN: usize = 256;
/// `last_used_at` is written at most this often per key.
const TOUCH_INTERVAL_MS: Millis = 60_000;

/// The hex SHA-256 of a key value, as stored.
pub fn hash_api_key(value: &str) -> String {
    hex::encode(sha256(value.as_bytes()))
}

impl Tessera {
    /// A new key for `tenant`: its metadata, its value and the value's hash.
    pub(crate) fn new_api_key(
        &self,
        tenant: TenantId,
        name: &str,
        now: Millis,
    ) -> (ApiKey, String, String) {
        let value = format!(
            "{API_KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(random_bytes::<32>())
        );
        let key = ApiKey {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant,
            name: name.trim().to_string(),
            prefix: value.chars().take(12).collect(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let hash = hash_api_key(&value);
        (key, value, hash)
    }

    /// Creates an API key; its value is returned here and never again.
    pub async fn create_api_key(
        &self,
        tenant: TenantId,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<(ApiKey, String)> {
        if name.trim().is_empty() || name.len() > 128 {
            return Err(Error::Invalid(vec![
                "name: must be 1 to 128 characters".into(),
            ]));
        }
        self.require_tenant(tenant).await?;
        let (key, value, hash) = self.new_api_key(tenant, name, self.clock.now_ms());
        repo::api_keys::insert(&self.db, &key, &hash).await?;
        self.audit_api_key(tenant, "api_key_created", &key, meta)
            .await;
        Ok((key, value))
    }

    /// A tenant's API keys without their values.
    pub async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        self.require_tenant(tenant).await?;
        Ok(repo::api_keys::list(&self.db, tenant).await?)
    }

    /// Revokes an API key; it is refused from this moment on this replica, and within the cache lifetime on others.
    pub async fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.require_tenant(tenant).await?;
        let keys = repo::api_keys::list(&self.db, tenant).await?;
        let key = keys
            .into_iter()
            .find(|k| k.id == id && k.revoked_at.is_none())
            .ok_or(Error::NotFound("api key"))?;
        if !repo::api_keys::revoke(&self.db, tenant, id, self.clock.now_ms()).await? {
            return Err(Error::NotFound("api key"));
        }
        self.api_keys.invalidate_all();
        self.audit_api_key(tenant, "api_key_revoked", &key, meta)
            .await;
        Ok(())
    }

    /// Checks a presented API key for `tenant`. Unknown, revoked and other tenants' keys are all `InvalidApiKey`.
    pub async fn authenticate_api_key(&self, tenant: TenantId, presented: &str) -> Result<ApiKey> {
        let presented = presented.trim();
        if presented.is_empty() || presented.len() > MAX_KEY_LEN {
            return Err(Error::InvalidApiKey);
        }
        let hash = hash_api_key(presented);
        let db = self.db.clone();
        let lookup_hash = hash.clone();
        let found = self
            .api_keys
            .try_get_with(hash.clone(), async move {
                repo::api_keys::find_by_hash(&db, &lookup_hash)
                    .await
                    .map(|row| {
                        row.filter(|(_, stored)| {
                            constant_time_eq(stored.as_bytes(), lookup_hash.as_bytes())
                        })
                        .map(|(key, _)| key)
                    })
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let key = found.ok_or(Error::InvalidApiKey)?;
        if key.tenant_id != tenant || key.revoked_at.is_some() {
            return Err(Error::InvalidApiKey);
        }
        let now = self.clock.now_ms();
        if key.last_used_at.is_none_or(|t| now - t > TOUCH_INTERVAL_MS) {
            // Record the use without holding up the request; the cached copy is refreshed so the write is not
            // repeated for every request.
            let mut touched = key.clone();
            touched.last_used_at = Some(now);
            self.api_keys.insert(hash, Some(touched)).await;
            let db = self.db.clone();
            let id = key.id.clone();
            tokio::spawn(async move {
                if let Err(e) = repo::api_keys::touch(&db, tenant, &id, now).await {
                    tracing::warn!(tenant.id = %tenant, error = %e, "api key last_used_at not updated");
                }
            });
        }
        Ok(key)
    }

    pub(crate) async fn audit_api_key(
        &self,
        tenant: TenantId,
        kind: &str,
        key: &ApiKey,
        meta: &RequestMeta,
    ) {
        let details =
            serde_json::json!({"api_key_id": key.id, "name": key.name, "prefix": key.prefix});
        self.audit(
            tenant,
            kind,
            None,
            meta,
            AuditSubject {
                details: Some(details),
                ..Default::default()
            },
        )
        .await;
    }
}
