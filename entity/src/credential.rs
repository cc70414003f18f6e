//! A registered WebAuthn credential (passkey or MFA key).

use sea_orm::entity::prelude::*;

/// A row of `credentials`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    /// Column `id`.
    pub id: String,
    /// Column `tenant_id`.
    pub tenant_id: String,
    /// Column `user_pk`.
    pub user_pk: String,
    /// Column `credential_id`.
    pub credential_id: String,
    #[sea_orm(column_type = "Blob")]
    /// Column `public_key`.
    pub public_key: Vec<u8>,
    /// Column `algorithm`.
    pub algorithm: i32,
    /// Column `sign_count`.
    pub sign_count: i64,
    /// Column `aaguid`.
    pub aaguid: String,
    /// Column `transports`.
    pub transports: String,
    /// Column `attestation_format`.
    pub attestation_format: String,
    /// Column `backup_eligible`.
    pub backup_eligible: bool,
    /// Column `backup_state`.
    pub backup_state: bool,
    /// Column `user_verified`.
    pub user_verified: bool,
    /// Column `is_mfa`.
    pub is_mfa: bool,
    /// Column `name`.
    pub name: Option<String>,
    /// Column `created_at`.
    pub created_at: i64,
    /// Column `last_used_at`.
    pub last_used_at: Option<i64>,
}

/// Relations of `credentials`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user the credential belongs to.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserPk",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
