//! Database migrations for Tessera, one file per change.
//!
//! Migrations describe tables with their own identifiers and never depend on the `entity` crate, so that an old
//! migration keeps meaning what it meant when it was written.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;

/// The ordered list of Tessera's migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261122_000001_initial::Migration)]
    }
}
