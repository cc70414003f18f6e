//! A transaction to be signed with a passkey, with its evidence once signed.

use sea_orm::entity::prelude::*;

/// A row of `transactions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    /// Column `id`.
    pub id: String,
    /// Column `tenant_id`.
    pub tenant_id: String,
    /// Column `transaction_id`.
    pub transaction_id: String,
    /// Column `user_pk`.
    pub user_pk: String,
    /// Column `status`.
    pub status: String,
    /// Column `data`.
    pub data: String,
    /// Column `hash`.
    pub hash: String,
    /// Column `created_at`.
    pub created_at: i64,
    /// Column `expires_at`.
    pub expires_at: i64,
    /// Column `signed_at`.
    pub signed_at: Option<i64>,
    /// Column `credential_id`.
    pub credential_id: Option<String>,
    #[sea_orm(column_type = "Blob")]
    /// Column `authenticator_data`.
    pub authenticator_data: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob")]
    /// Column `client_data_json`.
    pub client_data_json: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob")]
    /// Column `signature`.
    pub signature: Option<Vec<u8>>,
    #[sea_orm(column_type = "Blob")]
    /// Column `public_key`.
    pub public_key: Option<Vec<u8>>,
}

/// `transactions` has no relations declared here; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
