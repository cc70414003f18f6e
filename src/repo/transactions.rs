//! Transactions and their signing evidence.

use entity::transaction;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::{RepoError, RepoResult};
use crate::model::{TenantId, Transaction};

fn to_transaction(m: transaction::Model) -> RepoResult<Transaction> {
    Ok(Transaction {
        tenant_id: TenantId::parse(&m.tenant_id).ok_or_else(|| RepoError::Corrupt {
            table: "transactions",
            reason: "tenant_id is not a UUID".into(),
        })?,
        id: m.id,
        transaction_id: m.transaction_id,
        user_pk: m.user_pk,
        status: m.status,
        data: m.data,
        hash: m.hash,
        created_at: m.created_at,
        expires_at: m.expires_at,
        signed_at: m.signed_at,
        credential_id: m.credential_id,
        authenticator_data: m.authenticator_data,
        client_data_json: m.client_data_json,
        signature: m.signature,
        public_key: m.public_key,
    })
}

/// Inserts a pending transaction.
pub async fn insert<C: ConnectionTrait>(db: &C, t: &Transaction) -> RepoResult<()> {
    transaction::Entity::insert(transaction::ActiveModel {
        id: Set(t.id.clone()),
        tenant_id: Set(t.tenant_id.to_string()),
        transaction_id: Set(t.transaction_id.clone()),
        user_pk: Set(t.user_pk.clone()),
        status: Set(t.status.clone()),
        data: Set(t.data.clone()),
        hash: Set(t.hash.clone()),
        created_at: Set(t.created_at),
        expires_at: Set(t.expires_at),
        signed_at: Set(t.signed_at),
        credential_id: Set(t.credential_id.clone()),
        authenticator_data: Set(t.authenticator_data.clone()),
        client_data_json: Set(t.client_data_json.clone()),
        signature: Set(t.signature.clone()),
        public_key: Set(t.public_key.clone()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A tenant's transaction by the application's transaction id.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    transaction_id: &str,
) -> RepoResult<Option<Transaction>> {
    transaction::Entity::find()
        .filter(transaction::Column::TenantId.eq(tenant.to_string()))
        .filter(transaction::Column::TransactionId.eq(transaction_id))
        .one(db)
        .await?
        .map(to_transaction)
        .transpose()
}

/// A user's transactions, newest first.
pub async fn for_user<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    user_pk: &str,
) -> RepoResult<Vec<Transaction>> {
    transaction::Entity::find()
        .filter(transaction::Column::TenantId.eq(tenant.to_string()))
        .filter(transaction::Column::UserPk.eq(user_pk))
        .order_by_desc(transaction::Column::CreatedAt)
        .order_by_desc(transaction::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_transaction)
        .collect()
}

/// Moves a pending transaction to `status` with its evidence; `false` when it was no longer pending.
pub async fn conclude<C: ConnectionTrait>(
    db: &C,
    t: &Transaction,
    status: &str,
) -> RepoResult<bool> {
    let res = transaction::Entity::update_many()
        .col_expr(transaction::Column::Status, status.into())
        .col_expr(transaction::Column::SignedAt, t.signed_at.into())
        .col_expr(
            transaction::Column::CredentialId,
            t.credential_id.clone().into(),
        )
        .col_expr(
            transaction::Column::AuthenticatorData,
            t.authenticator_data.clone().into(),
        )
        .col_expr(
            transaction::Column::ClientDataJson,
            t.client_data_json.clone().into(),
        )
        .col_expr(transaction::Column::Signature, t.signature.clone().into())
        .col_expr(transaction::Column::PublicKey, t.public_key.clone().into())
        .filter(transaction::Column::TenantId.eq(t.tenant_id.to_string()))
        .filter(transaction::Column::Id.eq(t.id.clone()))
        .filter(transaction::Column::Status.eq("pending"))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}
