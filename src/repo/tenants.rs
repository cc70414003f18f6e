//! Tenants and their configuration.

use entity::{tenant, tenant_config};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::{RepoError, RepoResult, json_column, to_json_column};
use crate::clock::Millis;
use crate::model::{
    Attachment, AttestationPreference, ResidentKey, Tenant, TenantConfig, TenantId, TokenAlgorithm,
    UserVerification,
};

fn to_tenant(m: tenant::Model) -> RepoResult<Tenant> {
    Ok(Tenant {
        id: TenantId::parse(&m.id).ok_or_else(|| RepoError::Corrupt {
            table: "tenants",
            reason: "id is not a UUID".into(),
        })?,
        display_name: m.display_name,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Enum columns are stored as their JSON string without quotes.
fn enum_to_column<T: serde::Serialize>(v: &T) -> String {
    to_json_column(v).trim_matches('"').to_string()
}

fn enum_from_column<T: serde::de::DeserializeOwned>(v: &str) -> RepoResult<T> {
    json_column("tenant_configs", &format!("\"{v}\""))
}

fn to_config(m: tenant_config::Model) -> RepoResult<TenantConfig> {
    let corrupt = |reason: &str| RepoError::Corrupt {
        table: "tenant_configs",
        reason: reason.into(),
    };
    Ok(TenantConfig {
        rp_id: m.rp_id,
        rp_name: m.rp_name,
        rp_icon: m.rp_icon,
        origins: json_column("tenant_configs", &m.origins)?,
        timeout_ms: u64::try_from(m.timeout_ms).map_err(|_| corrupt("negative timeout"))?,
        user_verification: enum_from_column::<UserVerification>(&m.user_verification)?,
        attestation: enum_from_column::<AttestationPreference>(&m.attestation)?,
        resident_key: enum_from_column::<ResidentKey>(&m.resident_key)?,
        attachment: m
            .attachment
            .as_deref()
            .map(enum_from_column::<Attachment>)
            .transpose()?,
        mfa: json_column("tenant_configs", &m.mfa)?,
        cors: crate::model::CorsConfig {
            allowed_origins: json_column("tenant_configs", &m.cors_origins)?,
            allow_unsafe_wildcard: m.cors_allow_unsafe_wildcard,
        },
        token_lifetime_secs: u64::try_from(m.token_lifetime_secs)
            .map_err(|_| corrupt("negative token lifetime"))?,
        token_algorithm: TokenAlgorithm::parse(&m.token_algorithm)
            .ok_or_else(|| corrupt("unknown token algorithm"))?,
        policy: json_column("tenant_configs", &m.policy)?,
    })
}

fn config_row(tenant_id: TenantId, c: &TenantConfig, now: Millis) -> tenant_config::ActiveModel {
    tenant_config::ActiveModel {
        tenant_id: Set(tenant_id.to_string()),
        rp_id: Set(c.rp_id.clone()),
        rp_name: Set(c.rp_name.clone()),
        rp_icon: Set(c.rp_icon.clone()),
        origins: Set(to_json_column(&c.origins)),
        timeout_ms: Set(i64::try_from(c.timeout_ms).unwrap_or(i64::MAX)),
        user_verification: Set(enum_to_column(&c.user_verification)),
        attestation: Set(enum_to_column(&c.attestation)),
        resident_key: Set(enum_to_column(&c.resident_key)),
        attachment: Set(c.attachment.as_ref().map(enum_to_column)),
        mfa: Set(to_json_column(&c.mfa)),
        cors_origins: Set(to_json_column(&c.cors.allowed_origins)),
        cors_allow_unsafe_wildcard: Set(c.cors.allow_unsafe_wildcard),
        token_lifetime_secs: Set(i64::try_from(c.token_lifetime_secs).unwrap_or(i64::MAX)),
        token_algorithm: Set(c.token_algorithm.as_str().to_string()),
        policy: Set(to_json_column(&c.policy)),
        updated_at: Set(now),
    }
}

/// Inserts a tenant and its configuration.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    tenant: &Tenant,
    config: &TenantConfig,
) -> RepoResult<()> {
    tenant::Entity::insert(tenant::ActiveModel {
        id: Set(tenant.id.to_string()),
        display_name: Set(tenant.display_name.clone()),
        created_at: Set(tenant.created_at),
        updated_at: Set(tenant.updated_at),
    })
    .exec_without_returning(db)
    .await?;
    tenant_config::Entity::insert(config_row(tenant.id, config, tenant.created_at))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// All tenants, oldest first.
pub async fn list<C: ConnectionTrait>(db: &C) -> RepoResult<Vec<Tenant>> {
    tenant::Entity::find()
        .order_by_asc(tenant::Column::CreatedAt)
        .order_by_asc(tenant::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_tenant)
        .collect()
}

/// One tenant.
pub async fn get<C: ConnectionTrait>(db: &C, id: TenantId) -> RepoResult<Option<Tenant>> {
    tenant::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .map(to_tenant)
        .transpose()
}

/// A tenant's configuration.
pub async fn get_config<C: ConnectionTrait>(
    db: &C,
    id: TenantId,
) -> RepoResult<Option<TenantConfig>> {
    tenant_config::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .map(to_config)
        .transpose()
}

/// Renames a tenant; `false` when it does not exist.
pub async fn rename<C: ConnectionTrait>(
    db: &C,
    id: TenantId,
    display_name: &str,
    now: Millis,
) -> RepoResult<bool> {
    let res = tenant::Entity::update_many()
        .col_expr(tenant::Column::DisplayName, display_name.into())
        .col_expr(tenant::Column::UpdatedAt, now.into())
        .filter(tenant::Column::Id.eq(id.to_string()))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Replaces a tenant's configuration; `false` when the tenant does not exist.
pub async fn replace_config<C: ConnectionTrait>(
    db: &C,
    id: TenantId,
    config: &TenantConfig,
    now: Millis,
) -> RepoResult<bool> {
    let res = tenant_config::Entity::update_many()
        .set(config_row(id, config, now))
        .filter(tenant_config::Column::TenantId.eq(id.to_string()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(false);
    }
    tenant::Entity::update_many()
        .col_expr(tenant::Column::UpdatedAt, now.into())
        .filter(tenant::Column::Id.eq(id.to_string()))
        .exec(db)
        .await?;
    Ok(true)
}

/// Deletes a tenant and, by cascade, everything it owns; `false` when it did not exist.
pub async fn delete<C: ConnectionTrait>(db: &C, id: TenantId) -> RepoResult<bool> {
    let res = tenant::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}
