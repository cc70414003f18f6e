//! A tenant's user, named by the application's own user id.

use sea_orm::entity::prelude::*;

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    /// Column `id`.
    pub id: String,
    /// Column `tenant_id`.
    pub tenant_id: String,
    /// Column `user_id`.
    pub user_id: String,
    /// Column `name`.
    pub name: String,
    /// Column `display_name`.
    pub display_name: String,
    /// Column `icon`.
    pub icon: Option<String>,
    /// Column `created_at`.
    pub created_at: i64,
    /// Column `updated_at`.
    pub updated_at: i64,
}

/// `users` has no relations declared here; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
