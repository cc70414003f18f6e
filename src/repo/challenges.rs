//! Consumed ceremony challenges: a challenge that finished a ceremony is recorded until it expires, so that it
//! cannot finish another on any replica.

use entity::consumed_challenge;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::RepoResult;
use crate::clock::Millis;
use crate::model::TenantId;

/// Records a challenge as consumed; `false` when it already was (a replay).
pub async fn consume<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    digest: &str,
    expires_at: Millis,
) -> RepoResult<bool> {
    let res = consumed_challenge::Entity::insert(consumed_challenge::ActiveModel {
        id: Set(digest.to_string()),
        tenant_id: Set(tenant.to_string()),
        expires_at: Set(expires_at),
    })
    .exec_without_returning(db)
    .await;
    match res {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = super::RepoError::Db(e);
            if err.is_unique_violation() {
                Ok(false)
            } else {
                Err(err)
            }
        }
    }
}

/// Records deleted by one statement of [`purge_expired`].
const PURGE_CHUNK: u64 = 2_000;

/// Deletes records of challenges that have expired (they can no longer be presented anyway), a chunk per
/// statement, so that a large purge never holds the database's write lock (SQLite) for long: ceremonies' writes
/// take their turns between the chunks.
pub async fn purge_expired<C: ConnectionTrait>(db: &C, now: Millis) -> RepoResult<u64> {
    use sea_orm::sea_query::Query;
    let mut total = 0;
    loop {
        let chunk = Query::select()
            .column(consumed_challenge::Column::Id)
            .from(consumed_challenge::Entity)
            .and_where(consumed_challenge::Column::ExpiresAt.lt(now))
            .limit(PURGE_CHUNK)
            .to_owned();
        let res = consumed_challenge::Entity::delete_many()
            .filter(consumed_challenge::Column::Id.in_subquery(chunk))
            .exec(db)
            .await?;
        total += res.rows_affected;
        if res.rows_affected < PURGE_CHUNK {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// `true` when the challenge was already consumed (checked before verification so that a replay is reported as
/// one; the insert in [`consume`] stays the authority under concurrency).
pub async fn is_consumed<C: ConnectionTrait>(db: &C, digest: &str) -> RepoResult<bool> {
    Ok(consumed_challenge::Entity::find_by_id(digest.to_string())
        .one(db)
        .await?
        .is_some())
}
