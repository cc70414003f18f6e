//! Tenant API keys, stored as SHA-256 hashes.

use entity::api_key;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::{RepoError, RepoResult};
use crate::clock::Millis;
use crate::model::{ApiKey, TenantId};

fn to_key(m: api_key::Model) -> RepoResult<ApiKey> {
    Ok(ApiKey {
        tenant_id: TenantId::parse(&m.tenant_id).ok_or_else(|| RepoError::Corrupt {
            table: "api_keys",
            reason: "tenant_id is not a UUID".into(),
        })?,
        id: m.id,
        name: m.name,
        prefix: m.prefix,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
    })
}

/// Inserts a key with the hex SHA-256 of its value.
pub async fn insert<C: ConnectionTrait>(db: &C, key: &ApiKey, key_hash: &str) -> RepoResult<()> {
    api_key::Entity::insert(api_key::ActiveModel {
        id: Set(key.id.clone()),
        tenant_id: Set(key.tenant_id.to_string()),
        name: Set(key.name.clone()),
        key_hash: Set(key_hash.to_string()),
        prefix: Set(key.prefix.clone()),
        created_at: Set(key.created_at),
        last_used_at: Set(key.last_used_at),
        revoked_at: Set(key.revoked_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A tenant's keys, oldest first, revoked ones included.
pub async fn list<C: ConnectionTrait>(db: &C, tenant: TenantId) -> RepoResult<Vec<ApiKey>> {
    api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(tenant.to_string()))
        .order_by_asc(api_key::Column::CreatedAt)
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_key)
        .collect()
}

/// Finds a key by the hash of its value, with the stored hash for a constant-time comparison.
pub async fn find_by_hash<C: ConnectionTrait>(
    db: &C,
    key_hash: &str,
) -> RepoResult<Option<(ApiKey, String)>> {
    match api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(key_hash))
        .one(db)
        .await?
    {
        Some(m) => {
            let hash = m.key_hash.clone();
            Ok(Some((to_key(m)?, hash)))
        }
        None => Ok(None),
    }
}

/// Revokes a tenant's key; `false` when the tenant has no such key or it was already revoked.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    id: &str,
    now: Millis,
) -> RepoResult<bool> {
    let res = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Some(now).into())
        .filter(
            Condition::all()
                .add(api_key::Column::TenantId.eq(tenant.to_string()))
                .add(api_key::Column::Id.eq(id))
                .add(api_key::Column::RevokedAt.is_null()),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Records that a key was used.
pub async fn touch<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    id: &str,
    now: Millis,
) -> RepoResult<()> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Some(now).into())
        .filter(api_key::Column::TenantId.eq(tenant.to_string()))
        .filter(api_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
