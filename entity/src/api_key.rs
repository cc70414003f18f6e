//! A tenant API key, stored as the SHA-256 hash of its value.

use sea_orm::entity::prelude::*;

/// A row of `api_keys`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    /// Column `id`.
    pub id: String,
    /// Column `tenant_id`.
    pub tenant_id: String,
    /// Column `name`.
    pub name: String,
    /// Column `key_hash`.
    pub key_hash: String,
    /// Column `prefix`.
    pub prefix: String,
    /// Column `created_at`.
    pub created_at: i64,
    /// Column `last_used_at`.
    pub last_used_at: Option<i64>,
    /// Column `revoked_at`.
    pub revoked_at: Option<i64>,
}

/// `api_keys` has no relations declared here; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
