//! A challenge that finished a ceremony, kept until it expires so it cannot finish another.

use sea_orm::entity::prelude::*;

/// A row of `consumed_challenges`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consumed_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    /// Column `id`.
    pub id: String,
    /// Column `tenant_id`.
    pub tenant_id: String,
    /// Column `expires_at`.
    pub expires_at: i64,
}

/// `consumed_challenges` has no relations declared here; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
