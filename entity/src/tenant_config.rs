//! A tenant's WebAuthn, CORS and token configuration (one row per tenant).

use sea_orm::entity::prelude::*;

/// A row of `tenant_configs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_configs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    /// Column `tenant_id`.
    pub tenant_id: String,
    /// Column `rp_id`.
    pub rp_id: String,
    /// Column `rp_name`.
    pub rp_name: String,
    /// Column `rp_icon`.
    pub rp_icon: Option<String>,
    /// Column `origins`.
    pub origins: String,
    /// Column `timeout_ms`.
    pub timeout_ms: i64,
    /// Column `user_verification`.
    pub user_verification: String,
    /// Column `attestation`.
    pub attestation: String,
    /// Column `resident_key`.
    pub resident_key: String,
    /// Column `attachment`.
    pub attachment: Option<String>,
    /// Column `mfa`.
    pub mfa: String,
    /// Column `cors_origins`.
    pub cors_origins: String,
    /// Column `cors_allow_unsafe_wildcard`.
    pub cors_allow_unsafe_wildcard: bool,
    /// Column `token_lifetime_secs`.
    pub token_lifetime_secs: i64,
    /// Column `token_algorithm`.
    pub token_algorithm: String,
    /// Column `policy`.
    pub policy: String,
    /// Column `updated_at`.
    pub updated_at: i64,
}

/// `tenant_configs` has no relations declared here; foreign keys live in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
