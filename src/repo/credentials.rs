//! Registered WebAuthn credentials.

use entity::credential;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{RepoError, RepoResult, json_column, to_json_column};
use crate::clock::Millis;
use crate::model::{Credential, Page, PageRequest, SortDirection, TenantId};

fn to_credential(m: credential::Model) -> RepoResult<Credential> {
    let corrupt = |reason: &str| RepoError::Corrupt {
        table: "credentials",
        reason: reason.into(),
    };
    Ok(Credential {
        tenant_id: TenantId::parse(&m.tenant_id).ok_or_else(|| corrupt("tenant_id"))?,
        transports: json_column("credentials", &m.transports)?,
        sign_count: u32::try_from(m.sign_count).map_err(|_| corrupt("sign_count"))?,
        id: m.id,
        user_pk: m.user_pk,
        credential_id: m.credential_id,
        public_key: m.public_key,
        algorithm: i64::from(m.algorithm),
        aaguid: m.aaguid,
        attestation_format: m.attestation_format,
        backup_eligible: m.backup_eligible,
        backup_state: m.backup_state,
        user_verified: m.user_verified,
        is_mfa: m.is_mfa,
        name: m.name,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
    })
}

fn active(c: &Credential) -> credential::ActiveModel {
    credential::ActiveModel {
        id: Set(c.id.clone()),
        tenant_id: Set(c.tenant_id.to_string()),
        user_pk: Set(c.user_pk.clone()),
        credential_id: Set(c.credential_id.clone()),
        public_key: Set(c.public_key.clone()),
        algorithm: Set(i32::try_from(c.algorithm).unwrap_or(0)),
        sign_count: Set(i64::from(c.sign_count)),
        aaguid: Set(c.aaguid.clone()),
        transports: Set(to_json_column(&c.transports)),
        attestation_format: Set(c.attestation_format.clone()),
        backup_eligible: Set(c.backup_eligible),
        backup_state: Set(c.backup_state),
        user_verified: Set(c.user_verified),
        is_mfa: Set(c.is_mfa),
        name: Set(c.name.clone()),
        created_at: Set(c.created_at),
        last_used_at: Set(c.last_used_at),
    }
}

/// Inserts a credential.
pub async fn insert<C: ConnectionTrait>(db: &C, c: &Credential) -> RepoResult<()> {
    credential::Entity::insert(active(c))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Inserts credentials in one statement (bulk seeding); keep batches to a few hundred rows.
pub async fn insert_many<C: ConnectionTrait>(db: &C, credentials: &[Credential]) -> RepoResult<()> {
    if credentials.is_empty() {
        return Ok(());
    }
    credential::Entity::insert_many(credentials.iter().map(active))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A tenant's credential by its WebAuthn credential id (base64url).
pub async fn find<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    credential_id: &str,
) -> RepoResult<Option<Credential>> {
    credential::Entity::find()
        .filter(credential::Column::TenantId.eq(tenant.to_string()))
        .filter(credential::Column::CredentialId.eq(credential_id))
        .one(db)
        .await?
        .map(to_credential)
        .transpose()
}

/// A tenant's credential with its owner, in one query.
pub async fn find_with_owner<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    credential_id: &str,
) -> RepoResult<Option<(Credential, crate::model::User)>> {
    let found = credential::Entity::find()
        .find_also_related(entity::user::Entity)
        .filter(credential::Column::TenantId.eq(tenant.to_string()))
        .filter(credential::Column::CredentialId.eq(credential_id))
        .one(db)
        .await?;
    match found {
        Some((c, Some(u))) => Ok(Some((to_credential(c)?, super::users::to_user(u)?))),
        _ => Ok(None),
    }
}

/// A user's credentials, oldest first.
pub async fn for_user<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    user_pk: &str,
) -> RepoResult<Vec<Credential>> {
    credential::Entity::find()
        .filter(credential::Column::TenantId.eq(tenant.to_string()))
        .filter(credential::Column::UserPk.eq(user_pk))
        .order_by_asc(credential::Column::CreatedAt)
        .order_by_asc(credential::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_credential)
        .collect()
}

/// The credentials of the user named by the application's `user_id`, oldest first, in one query (joined through
/// `users`). Empty both when the user has none and when there is no such user.
pub async fn for_user_id<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    user_id: &str,
) -> RepoResult<Vec<Credential>> {
    let tenant = tenant.to_string();
    credential::Entity::find()
        .inner_join(entity::user::Entity)
        .filter(entity::user::Column::TenantId.eq(tenant.as_str()))
        .filter(entity::user::Column::UserId.eq(user_id))
        .filter(credential::Column::TenantId.eq(tenant.as_str()))
        .order_by_asc(credential::Column::CreatedAt)
        .order_by_asc(credential::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_credential)
        .collect()
}

/// A page of a tenant's credentials, optionally of one user.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    user_pk: Option<&str>,
    page: PageRequest,
    direction: SortDirection,
) -> RepoResult<Page<Credential>> {
    let mut query =
        credential::Entity::find().filter(credential::Column::TenantId.eq(tenant.to_string()));
    if let Some(u) = user_pk {
        query = query.filter(credential::Column::UserPk.eq(u));
    }
    let total = query.clone().count(db).await?;
    let query = match direction {
        SortDirection::Asc => query
            .order_by_asc(credential::Column::CreatedAt)
            .order_by_asc(credential::Column::Id),
        SortDirection::Desc => query
            .order_by_desc(credential::Column::CreatedAt)
            .order_by_desc(credential::Column::Id),
    };
    let items = query
        .offset(page.offset())
        .limit(page.per_page)
        .all(db)
        .await?
        .into_iter()
        .map(to_credential)
        .collect::<RepoResult<_>>()?;
    Ok(Page { items, total })
}

/// Records a successful use: counter, backup state, UV and time.
pub async fn record_use<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    id: &str,
    sign_count: u32,
    backup_state: bool,
    user_verified: bool,
    now: Millis,
) -> RepoResult<bool> {
    let res = credential::Entity::update_many()
        .col_expr(credential::Column::SignCount, i64::from(sign_count).into())
        .col_expr(credential::Column::BackupState, backup_state.into())
        .col_expr(credential::Column::UserVerified, user_verified.into())
        .col_expr(credential::Column::LastUsedAt, Some(now).into())
        .filter(credential::Column::TenantId.eq(tenant.to_string()))
        .filter(credential::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Renames a credential.
pub async fn rename<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    id: &str,
    name: &str,
) -> RepoResult<bool> {
    let res = credential::Entity::update_many()
        .col_expr(credential::Column::Name, Some(name.to_string()).into())
        .filter(credential::Column::TenantId.eq(tenant.to_string()))
        .filter(credential::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Deletes a credential.
pub async fn delete<C: ConnectionTrait>(db: &C, tenant: TenantId, id: &str) -> RepoResult<bool> {
    let res = credential::Entity::delete_many()
        .filter(credential::Column::TenantId.eq(tenant.to_string()))
        .filter(credential::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// `true` when the tenant's credential with this row id exists.
pub async fn exists<C: ConnectionTrait>(db: &C, tenant: TenantId, id: &str) -> RepoResult<bool> {
    Ok(credential::Entity::find_by_id(id.to_string())
        .filter(credential::Column::TenantId.eq(tenant.to_string()))
        .count(db)
        .await?
        > 0)
}
