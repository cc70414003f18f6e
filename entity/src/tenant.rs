//! A tenant: one application using Tessera.

use sea_orm::entity::prelude::*;

/// A row of `tenants`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    /// Column `id`.
    pub id: String,
    /// Column `display_name`.
    pub display_name: String,
    /// Column `created_at`.
    pub created_at: i64,
    /// Column `updated_at`.
    pub updated_at: i64,
}

/// `tenants` has no relations declared here; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
