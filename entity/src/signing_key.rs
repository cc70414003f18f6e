//! A tenant token-signing key, its private half encrypted at rest.

use sea_orm::entity::prelude::*;

/// A row of `signing_keys`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    /// Column `id`.
    pub id: String,
    /// Column `tenant_id`.
    pub tenant_id: String,
    /// Column `algorithm`.
    pub algorithm: String,
    #[sea_orm(column_type = "Blob")]
    /// Column `encrypted_private_key`.
    pub encrypted_private_key: Vec<u8>,
    /// Column `public_jwk`.
    pub public_jwk: String,
    /// Column `status`.
    pub status: String,
    /// Column `created_at`.
    pub created_at: i64,
    /// Column `retired_at`.
    pub retired_at: Option<i64>,
}

/// `signing_keys` has no relations declared here; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
