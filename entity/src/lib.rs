//! sea-orm entities for Tessera's tables: the generated shape of the schema in the `migration` crate, with no logic
//! and no serde. Repositories in `tessera::repo` map these models to domain types; they never leave that layer.

pub mod api_key;
pub mod audit_log;
pub mod consumed_challenge;
pub mod credential;
pub mod signing_key;
pub mod tenant;
pub mod tenant_config;
pub mod transaction;
pub mod user;
