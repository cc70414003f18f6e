//! An audit-log entry: one ceremony step or administrative change, failures included.

use sea_orm::entity::prelude::*;

/// A row of `audit_logs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    /// Column `id`.
    pub id: String,
    /// Column `tenant_id`.
    pub tenant_id: String,
    #[sea_orm(column_name = "type")]
    /// Column `type`.
    pub r#type: String,
    /// Column `error`.
    pub error: Option<String>,
    /// Column `request_id`.
    pub request_id: Option<String>,
    /// Column `source_ip`.
    pub source_ip: Option<String>,
    /// Column `user_agent`.
    pub user_agent: Option<String>,
    /// Column `actor_user_id`.
    pub actor_user_id: Option<String>,
    /// Column `credential_id`.
    pub credential_id: Option<String>,
    /// Column `transaction_id`.
    pub transaction_id: Option<String>,
    /// Column `details`.
    pub details: Option<String>,
    /// Column `created_at`.
    pub created_at: i64,
}

/// `audit_logs` has no relations declared here; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
