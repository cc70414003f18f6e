//! Tenant lifecycle and configuration.

use std::sync::Arc;

use sea_orm::TransactionTrait;

use super::audit::AuditSubject;
use super::{Error, RequestMeta, Result, Tessera};
use crate::model::{ApiKey, Tenant, TenantConfig, TenantId};
use crate::repo;

/// A created tenant, with its first API key when one was asked for.
pub struct CreatedTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// The first API key and its value, shown once.
    pub api_key: Option<(ApiKey, String)>,
}

fn check_display_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 128 {
        return Err(Error::Invalid(vec![
            "display_name: must be 1 to 128 characters".into(),
        ]));
    }
    Ok(())
}

impl Tessera {
    /// Creates a tenant with its configuration and first signing key, and an API key when `create_api_key`.
    pub async fn create_tenant(
        &self,
        display_name: &str,
        config: TenantConfig,
        create_api_key: bool,
        meta: &RequestMeta,
    ) -> Result<CreatedTenant> {
        let mut errors = check_display_name(display_name)
            .err()
            .map(|e| match e {
                Error::Invalid(v) => v,
                _ => Vec::new(),
            })
            .unwrap_or_default();
        if let Err(mut e) = config.validate() {
            errors.append(&mut e);
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let now = self.clock.now_ms();
        let tenant = Tenant {
            id: TenantId::new(),
            display_name: display_name.trim().to_string(),
            created_at: now,
            updated_at: now,
        };
        let signing_key = self.new_signing_key(tenant.id, config.token_algorithm, now)?;
        let api_key = create_api_key.then(|| self.new_api_key(tenant.id, "Initial API Key", now));

        let txn = self.db.begin().await?;
        repo::tenants::insert(&txn, &tenant, &config).await?;
        repo::signing_keys::insert(&txn, &signing_key).await?;
        if let Some((key, _, hash)) = &api_key {
            repo::api_keys::insert(&txn, key, hash).await?;
        }
        txn.commit().await?;

        self.audit(
            tenant.id,
            "tenant_created",
            None,
            meta,
            AuditSubject::default(),
        )
        .await;
        if let Some((key, _, _)) = &api_key {
            self.audit_api_key(tenant.id, "api_key_created", key, meta)
                .await;
        }
        Ok(CreatedTenant {
            tenant,
            api_key: api_key.map(|(key, value, _)| (key, value)),
        })
    }

    /// All tenants.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        Ok(repo::tenants::list(&self.listings).await?)
    }

    /// One tenant with its configuration.
    pub async fn get_tenant(&self, id: TenantId) -> Result<(Tenant, Arc<TenantConfig>)> {
        let tenant = self.require_tenant(id).await?;
        Ok((tenant, self.tenant_config(id).await?))
    }

    /// The tenant, or `NotFound`.
    pub async fn require_tenant(&self, id: TenantId) -> Result<Tenant> {
        repo::tenants::get(&self.db, id)
            .await?
            .ok_or(Error::NotFound("tenant"))
    }

    /// A tenant's configuration, cached.
    pub async fn tenant_config(&self, id: TenantId) -> Result<Arc<TenantConfig>> {
        let db = self.db.clone();
        self.configs
            .try_get_with(id, async move {
                match repo::tenants::get_config(&db, id).await {
                    Ok(Some(c)) => Ok(Arc::new(c)),
                    Ok(None) => Err(Error::NotFound("tenant")),
                    Err(e) => Err(Error::Repo(e)),
                }
            })
            .await
            .map_err(|e: Arc<Error>| match &*e {
                Error::NotFound(what) => Error::NotFound(what),
                other => Error::Internal(other.to_string()),
            })
    }

    /// Renames a tenant.
    pub async fn rename_tenant(
        &self,
        id: TenantId,
        display_name: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        check_display_name(display_name)?;
        let now = self.clock.now_ms();
        if !repo::tenants::rename(&self.db, id, display_name.trim(), now).await? {
            return Err(Error::NotFound("tenant"));
        }
        self.audit(id, "tenant_updated", None, meta, AuditSubject::default())
            .await;
        Ok(())
    }

    /// Replaces a tenant's configuration after validating it. Changing the token algorithm rotates the signing key.
    pub async fn replace_tenant_config(
        &self,
        id: TenantId,
        config: TenantConfig,
        meta: &RequestMeta,
    ) -> Result<Arc<TenantConfig>> {
        config.validate().map_err(Error::Invalid)?;
        let previous = self.tenant_config(id).await?;
        let now = self.clock.now_ms();
        let txn = self.db.begin().await?;
        if !repo::tenants::replace_config(&txn, id, &config, now).await? {
            return Err(Error::NotFound("tenant"));
        }
        if previous.token_algorithm != config.token_algorithm {
            self.rotate_signing_key_in(&txn, id, config.token_algorithm, now)
                .await?;
        }
        txn.commit().await?;
        self.configs.invalidate(&id).await;
        self.forget_keys(id).await;
        self.audit(
            id,
            "tenant_config_updated",
            None,
            meta,
            AuditSubject::default(),
        )
        .await;
        Ok(Arc::new(config))
    }

    /// Deletes a tenant and everything it owns.
    pub async fn delete_tenant(&self, id: TenantId) -> Result<()> {
        if !repo::tenants::delete(&self.db, id).await? {
            return Err(Error::NotFound("tenant"));
        }
        self.configs.invalidate(&id).await;
        self.forget_keys(id).await;
        self.api_keys.invalidate_all();
        tracing::info!(tenant.id = %id, "tenant deleted");
        Ok(())
    }
}
