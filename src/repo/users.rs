//! Tenant users.

use entity::user;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{RepoError, RepoResult};
use crate::model::{Page, PageRequest, SortDirection, TenantId, User};

pub(crate) fn to_user(m: user::Model) -> RepoResult<User> {
    Ok(User {
        tenant_id: TenantId::parse(&m.tenant_id).ok_or_else(|| RepoError::Corrupt {
            table: "users",
            reason: "tenant_id is not a UUID".into(),
        })?,
        id: m.id,
        user_id: m.user_id,
        name: m.name,
        display_name: m.display_name,
        icon: m.icon,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// A page of a tenant's users ordered by creation time.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    page: PageRequest,
    direction: SortDirection,
) -> RepoResult<Page<User>> {
    let query = user::Entity::find().filter(user::Column::TenantId.eq(tenant.to_string()));
    let total = query.clone().count(db).await?;
    let query = match direction {
        SortDirection::Asc => query
            .order_by_asc(user::Column::CreatedAt)
            .order_by_asc(user::Column::Id),
        SortDirection::Desc => query
            .order_by_desc(user::Column::CreatedAt)
            .order_by_desc(user::Column::Id),
    };
    let items = query
        .offset(page.offset())
        .limit(page.per_page)
        .all(db)
        .await?
        .into_iter()
        .map(to_user)
        .collect::<RepoResult<_>>()?;
    Ok(Page { items, total })
}

/// A tenant's user by Tessera's internal id or, failing that, by the application's user id.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    id_or_user_id: &str,
) -> RepoResult<Option<User>> {
    let found = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.to_string()))
        .filter(
            Condition::any()
                .add(user::Column::Id.eq(id_or_user_id))
                .add(user::Column::UserId.eq(id_or_user_id)),
        )
        .all(db)
        .await?;
    // Prefer the internal id when both match different users.
    let pick = found
        .iter()
        .position(|m| m.id == id_or_user_id)
        .or(if found.is_empty() { None } else { Some(0) });
    match pick {
        Some(i) => found.into_iter().nth(i).map(to_user).transpose(),
        None => Ok(None),
    }
}

/// Deletes a tenant's user and, by cascade, their credentials and transactions.
pub async fn delete<C: ConnectionTrait>(db: &C, tenant: TenantId, id: &str) -> RepoResult<bool> {
    let res = user::Entity::delete_many()
        .filter(user::Column::TenantId.eq(tenant.to_string()))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// A tenant's user by the application's user id.
pub async fn find_by_user_id<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    user_id: &str,
) -> RepoResult<Option<User>> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.to_string()))
        .filter(user::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .map(to_user)
        .transpose()
}

/// A tenant's user by internal id.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    id: &str,
) -> RepoResult<Option<User>> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.to_string()))
        .filter(user::Column::Id.eq(id))
        .one(db)
        .await?
        .map(to_user)
        .transpose()
}

fn active(u: &User) -> user::ActiveModel {
    use sea_orm::ActiveValue::Set;
    user::ActiveModel {
        id: Set(u.id.clone()),
        tenant_id: Set(u.tenant_id.to_string()),
        user_id: Set(u.user_id.clone()),
        name: Set(u.name.clone()),
        display_name: Set(u.display_name.clone()),
        icon: Set(u.icon.clone()),
        created_at: Set(u.created_at),
        updated_at: Set(u.updated_at),
    }
}

/// Inserts a user.
pub async fn insert<C: ConnectionTrait>(db: &C, u: &User) -> RepoResult<()> {
    user::Entity::insert(active(u))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Inserts users in one statement (bulk seeding); keep batches to a few hundred rows.
pub async fn insert_many<C: ConnectionTrait>(db: &C, users: &[User]) -> RepoResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    user::Entity::insert_many(users.iter().map(active))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Updates a user's names and icon.
pub async fn update_profile<C: ConnectionTrait>(db: &C, u: &User) -> RepoResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::Name, u.name.clone().into())
        .col_expr(user::Column::DisplayName, u.display_name.clone().into())
        .col_expr(user::Column::Icon, u.icon.clone().into())
        .col_expr(user::Column::UpdatedAt, u.updated_at.into())
        .filter(user::Column::TenantId.eq(u.tenant_id.to_string()))
        .filter(user::Column::Id.eq(u.id.clone()))
        .exec(db)
        .await?;
    Ok(())
}

/// A tenant's users with the given internal ids, in one query.
pub async fn by_ids<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    ids: &[String],
) -> RepoResult<Vec<User>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.to_string()))
        .filter(user::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(to_user)
        .collect()
}
