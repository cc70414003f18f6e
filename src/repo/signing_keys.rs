//! Token-signing keys; the private half is stored encrypted by the service.

use entity::signing_key;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::{RepoError, RepoResult, json_column};
use crate::clock::Millis;
use crate::model::{SigningKeyInfo, TenantId, TokenAlgorithm};

/// Status of the key that signs new tokens.
pub const ACTIVE: &str = "active";
/// Status of a key that only verifies tokens it signed before.
pub const RETIRED: &str = "retired";

/// A stored key: public metadata plus the encrypted private key.
pub struct StoredKey {
    /// Public metadata.
    pub info: SigningKeyInfo,
    /// The encrypted PKCS#8 private key.
    pub encrypted_private_key: Vec<u8>,
}

fn to_stored(m: signing_key::Model) -> RepoResult<StoredKey> {
    let corrupt = |reason: &str| RepoError::Corrupt {
        table: "signing_keys",
        reason: reason.into(),
    };
    Ok(StoredKey {
        info: SigningKeyInfo {
            tenant_id: TenantId::parse(&m.tenant_id).ok_or_else(|| corrupt("tenant_id"))?,
            algorithm: TokenAlgorithm::parse(&m.algorithm).ok_or_else(|| corrupt("algorithm"))?,
            public_jwk: json_column("signing_keys", &m.public_jwk)?,
            active: m.status == ACTIVE,
            id: m.id,
            created_at: m.created_at,
            retired_at: m.retired_at,
        },
        encrypted_private_key: m.encrypted_private_key,
    })
}

/// Inserts a key.
pub async fn insert<C: ConnectionTrait>(db: &C, key: &StoredKey) -> RepoResult<()> {
    signing_key::Entity::insert(signing_key::ActiveModel {
        id: Set(key.info.id.clone()),
        tenant_id: Set(key.info.tenant_id.to_string()),
        algorithm: Set(key.info.algorithm.as_str().to_string()),
        encrypted_private_key: Set(key.encrypted_private_key.clone()),
        public_jwk: Set(key.info.public_jwk.to_string()),
        status: Set(if key.info.active { ACTIVE } else { RETIRED }.to_string()),
        created_at: Set(key.info.created_at),
        retired_at: Set(key.info.retired_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A tenant's keys: the active one first, then the others newest first.
pub async fn list<C: ConnectionTrait>(db: &C, tenant: TenantId) -> RepoResult<Vec<StoredKey>> {
    signing_key::Entity::find()
        .filter(signing_key::Column::TenantId.eq(tenant.to_string()))
        // "active" sorts before "retired".
        .order_by_asc(signing_key::Column::Status)
        .order_by_desc(signing_key::Column::CreatedAt)
        .order_by_desc(signing_key::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_stored)
        .collect()
}

/// Retires the tenant's active keys.
pub async fn retire_active<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    now: Millis,
) -> RepoResult<()> {
    signing_key::Entity::update_many()
        .col_expr(signing_key::Column::Status, RETIRED.into())
        .col_expr(signing_key::Column::RetiredAt, Some(now).into())
        .filter(signing_key::Column::TenantId.eq(tenant.to_string()))
        .filter(signing_key::Column::Status.eq(ACTIVE))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes retired keys that stopped signing before `cutoff`: no live token can need them.
pub async fn prune_retired<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    cutoff: Millis,
) -> RepoResult<u64> {
    let res = signing_key::Entity::delete_many()
        .filter(signing_key::Column::TenantId.eq(tenant.to_string()))
        .filter(signing_key::Column::Status.eq(RETIRED))
        .filter(signing_key::Column::RetiredAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
