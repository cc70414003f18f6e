//! The initial schema: tenants and their configuration, API keys, signing keys, users, credentials, consumed
//! challenges, transactions and the audit log. Every tenant-owned row cascades when its tenant is deleted.
//!
//! Identifiers are text (UUIDs and base64url), timestamps are Unix milliseconds (`BIGINT`), and JSON documents are
//! text, so that SQLite and PostgreSQL store exactly the same values.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates the initial schema.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables in creation order; dropped in reverse.
const TABLES: [&str; 9] = [
    "tenants",
    "tenant_configs",
    "api_keys",
    "signing_keys",
    "users",
    "credentials",
    "consumed_challenges",
    "transactions",
    "audit_logs",
];

fn tenant_fk(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_tenant"))
        .from(table, "tenant_id")
        .to("tenants", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn user_fk(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_user"))
        .from(table, "user_pk")
        .to("users", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("tenants")
                .col(string_len("id", 36).primary_key())
                .col(string("display_name"))
                .col(big_integer("created_at"))
                .col(big_integer("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("tenant_configs")
                .col(string_len("tenant_id", 36).primary_key())
                .col(string("rp_id"))
                .col(string("rp_name"))
                .col(string_null("rp_icon"))
                .col(text("origins"))
                .col(big_integer("timeout_ms"))
                .col(string_len("user_verification", 16))
                .col(string_len("attestation", 16))
                .col(string_len("resident_key", 16))
                .col(string_len_null("attachment", 16))
                .col(text("mfa"))
                .col(text("cors_origins"))
                .col(boolean("cors_allow_unsafe_wildcard"))
                .col(big_integer("token_lifetime_secs"))
                .col(string_len("token_algorithm", 8))
                .col(text("policy"))
                .col(big_integer("updated_at"))
                .foreign_key(&mut tenant_fk("tenant_configs"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("api_keys")
                .col(string_len("id", 36).primary_key())
                .col(string_len("tenant_id", 36))
                .col(string("name"))
                .col(string_len("key_hash", 64).unique_key())
                .col(string_len("prefix", 16))
                .col(big_integer("created_at"))
                .col(big_integer_null("last_used_at"))
                .col(big_integer_null("revoked_at"))
                .foreign_key(&mut tenant_fk("api_keys"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_api_keys_tenant")
                .table("api_keys")
                .col("tenant_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("signing_keys")
                .col(string_len("id", 36).primary_key())
                .col(string_len("tenant_id", 36))
                .col(string_len("algorithm", 8))
                .col(blob("encrypted_private_key"))
                .col(text("public_jwk"))
                .col(string_len("status", 16))
                .col(big_integer("created_at"))
                .col(big_integer_null("retired_at"))
                .foreign_key(&mut tenant_fk("signing_keys"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_signing_keys_tenant")
                .table("signing_keys")
                .col("tenant_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(string_len("id", 36).primary_key())
                .col(string_len("tenant_id", 36))
                .col(string("user_id"))
                .col(string("name"))
                .col(string("display_name"))
                .col(string_null("icon"))
                .col(big_integer("created_at"))
                .col(big_integer("updated_at"))
                .foreign_key(&mut tenant_fk("users"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_users_tenant_user_id")
                .table("users")
                .col("tenant_id")
                .col("user_id")
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("credentials")
                .col(string_len("id", 36).primary_key())
                .col(string_len("tenant_id", 36))
                .col(string_len("user_pk", 36))
                .col(string_len("credential_id", 1400))
                .col(blob("public_key"))
                .col(integer("algorithm"))
                .col(big_integer("sign_count"))
                .col(string_len("aaguid", 36))
                .col(text("transports"))
                .col(string_len("attestation_format", 32))
                .col(boolean("backup_eligible"))
                .col(boolean("backup_state"))
                .col(boolean("user_verified"))
                .col(boolean("is_mfa"))
                .col(string_null("name"))
                .col(big_integer("created_at"))
                .col(big_integer_null("last_used_at"))
                .foreign_key(&mut tenant_fk("credentials"))
                .foreign_key(&mut user_fk("credentials"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_credentials_tenant_credential_id")
                .table("credentials")
                .col("tenant_id")
                .col("credential_id")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_credentials_user")
                .table("credentials")
                .col("user_pk")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("consumed_challenges")
                .col(string_len("id", 64).primary_key())
                .col(string_len("tenant_id", 36))
                .col(big_integer("expires_at"))
                .foreign_key(&mut tenant_fk("consumed_challenges"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_consumed_challenges_expires")
                .table("consumed_challenges")
                .col("expires_at")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("transactions")
                .col(string_len("id", 36).primary_key())
                .col(string_len("tenant_id", 36))
                .col(string_len("transaction_id", 128))
                .col(string_len("user_pk", 36))
                .col(string_len("status", 16))
                .col(text("data"))
                .col(string_len("hash", 64))
                .col(big_integer("created_at"))
                .col(big_integer("expires_at"))
                .col(big_integer_null("signed_at"))
                .col(string_len_null("credential_id", 1400))
                .col(blob_null("authenticator_data"))
                .col(blob_null("client_data_json"))
                .col(blob_null("signature"))
                .col(blob_null("public_key"))
                .foreign_key(&mut tenant_fk("transactions"))
                .foreign_key(&mut user_fk("transactions"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_transactions_tenant_transaction_id")
                .table("transactions")
                .col("tenant_id")
                .col("transaction_id")
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("audit_logs")
                .col(string_len("id", 36).primary_key())
                .col(string_len("tenant_id", 36))
                .col(string_len("type", 64))
                .col(string_null("error"))
                .col(string_len_null("request_id", 64))
                .col(string_len_null("source_ip", 64))
                .col(string_null("user_agent"))
                .col(string_null("actor_user_id"))
                .col(string_len_null("credential_id", 1400))
                .col(string_len_null("transaction_id", 128))
                .col(text_null("details"))
                .col(big_integer("created_at"))
                .foreign_key(&mut tenant_fk("audit_logs"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_logs_tenant_created")
                .table("audit_logs")
                .col("tenant_id")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            m.drop_table(Table::drop().table(*table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
