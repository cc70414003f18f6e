//! A successful registration's writes: the challenge becomes consumed, the user is created (or their profile
//! refreshed) and the credential is stored, atomically and in as few database round trips as the backend allows.
//!
//! PostgreSQL runs the three writes as one statement (data-modifying CTEs). SQLite runs them as one batch of
//! statements in a transaction, the user's and the credential's conditional on the challenge not being consumed
//! yet and the challenge's last; a serving process sends its SQLite registrations through [`RegistrationWriter`],
//! which writes whatever registrations have queued up while the previous batch was written in one batch and one
//! commit (group commit, as for logins). A replayed challenge writes nothing and fails nothing; every unique index
//! but the credential id's is met by an upsert or a fresh UUID, so a write that hits one is a credential id
//! registered before. A failing write stands not at all, and the registrations of a failing batch are written
//! again one by one, so that one registration's failure is not the others'.

use std::sync::LazyLock;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, TransactionTrait, Value,
};

use super::group_commit::GroupWriter;
use super::{RepoError, RepoResult, to_json_column};
use crate::clock::Millis;
use crate::model::{Credential, TenantId};

/// The user a registration is for: created on their first credential, their profile refreshed on later ones.
#[derive(Clone, Debug)]
pub struct UserUpsert {
    /// The row id a new user gets (an existing user keeps theirs).
    pub id: String,
    /// The application's user id.
    pub user_id: String,
    /// The user name, when the ceremony gave one (an existing user keeps theirs otherwise; a new user gets "").
    pub name: Option<String>,
    /// The display name, likewise.
    pub display_name: Option<String>,
    /// The icon URL; replaces the stored one.
    pub icon: Option<String>,
}

/// One registration's writes.
#[derive(Clone, Debug)]
pub struct NewRegistration {
    /// The tenant.
    pub tenant: TenantId,
    /// The digest of the ceremony's challenge (the consumed-challenge key).
    pub challenge_digest: String,
    /// Until when the challenge record must be kept (the challenge's own expiry).
    pub challenge_expires_at: Millis,
    /// The user.
    pub user: UserUpsert,
    /// The credential. Its `user_pk` is not read: the credential belongs to the user above.
    pub credential: Credential,
    /// When.
    pub now: Millis,
}

/// What [`store`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Everything was written; the credential belongs to the user with this row id.
    Stored {
        /// The user's row id.
        user_pk: String,
    },
    /// The challenge was consumed before: nothing was written.
    Replayed,
    /// A credential with this credential id exists: nothing was written.
    CredentialExists,
}

/// Bind values of one registration's writes, numbered from 1 in the SQL below (from `1 + n * VALUES_PER_REGISTRATION`
/// for the `n`-th registration of a SQLite batch).
fn values(r: &NewRegistration) -> Vec<Value> {
    let c = &r.credential;
    vec![
        Value::from(r.challenge_digest.as_str()),             // 1
        Value::from(r.tenant.to_string()),                    // 2
        Value::from(r.challenge_expires_at),                  // 3
        Value::from(r.user.id.as_str()),                      // 4
        Value::from(r.user.user_id.as_str()),                 // 5
        Value::from(r.user.name.clone().unwrap_or_default()), // 6
        Value::from(r.user.display_name.clone().unwrap_or_default()), // 7
        Value::from(r.user.icon.clone()),                     // 8
        Value::from(r.now),                                   // 9
        Value::from(r.user.name.is_none()),                   // 10: keep the stored name
        Value::from(r.user.display_name.is_none()),           // 11: keep the stored display name
        Value::from(c.id.as_str()),                           // 12
        Value::from(c.credential_id.as_str()),                // 13
        Value::from(c.public_key.clone()),                    // 14
        Value::from(i32::try_from(c.algorithm).unwrap_or(0)), // 15
        Value::from(i64::from(c.sign_count)),                 // 16
        Value::from(c.aaguid.as_str()),                       // 17
        Value::from(to_json_column(&c.transports)),           // 18
        Value::from(c.attestation_format.as_str()),           // 19
        Value::from(c.backup_eligible),                       // 20
        Value::from(c.backup_state),                          // 21
        Value::from(c.user_verified),                         // 22
        Value::from(c.is_mfa),                                // 23
        Value::from(c.name.clone()),                          // 24
        Value::from(c.created_at),                            // 25
        Value::from(c.last_used_at),                          // 26
    ]
}

const USER_COLUMNS: &str =
    "id, tenant_id, user_id, name, display_name, icon, created_at, updated_at";
const CREDENTIAL_COLUMNS: &str = "id, tenant_id, user_pk, credential_id, public_key, algorithm, sign_count, \
     aaguid, transports, attestation_format, backup_eligible, backup_state, user_verified, is_mfa, name, \
     created_at, last_used_at";

/// The profile refresh of an existing user, given the placeholders of "keep the stored name" and "keep the stored
/// display name".
fn refresh(keep_name: &str, keep_display_name: &str) -> String {
    format!(
        "ON CONFLICT (tenant_id, user_id) DO UPDATE SET \
         name = CASE WHEN {keep_name} THEN users.name ELSE excluded.name END, \
         display_name = CASE WHEN {keep_display_name} THEN users.display_name ELSE excluded.display_name END, \
         icon = excluded.icon, updated_at = excluded.updated_at"
    )
}

/// Bind values per registration.
const VALUES_PER_REGISTRATION: usize = 26;
/// Registrations written in one SQLite batch at most.
const BATCH: usize = 64;

/// The combined write on PostgreSQL, built once.
static POSTGRES_SQL: LazyLock<String> = LazyLock::new(postgres_sql);

/// The writes of `count` registrations on SQLite, each returning rows tagged with its index `n`: `u` with the
/// user's row id when the user was written, `c` when the challenge was consumed. The user's and the credential's
/// inserts run only while the challenge is not consumed, and the challenge's insert comes last, so a replayed
/// challenge writes nothing (SQLite has one writer: nothing else commits between the statements).
fn sqlite_sql(count: usize) -> String {
    (0..count)
        .map(|n| {
            let b = n * VALUES_PER_REGISTRATION;
            let p = |k: usize| format!("?{}", b + k);
            let fresh = format!(
                "WHERE NOT EXISTS (SELECT 1 FROM consumed_challenges WHERE id = {})",
                p(1)
            );
            format!(
                "INSERT INTO users ({USER_COLUMNS}) SELECT {}, {}, {}, {}, {}, {}, {}, {} {fresh} {}
                 RETURNING 'u' AS side, id AS item, {n} AS n;
                 INSERT INTO credentials ({CREDENTIAL_COLUMNS}) SELECT {}, {},
                     (SELECT id FROM users WHERE tenant_id = {} AND user_id = {}),
                     {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} {fresh};
                 INSERT INTO consumed_challenges (id, tenant_id, expires_at) VALUES ({}, {}, {})
                 ON CONFLICT (id) DO NOTHING RETURNING 'c' AS side, id AS item, {n} AS n",
                p(4),
                p(2),
                p(5),
                p(6),
                p(7),
                p(8),
                p(9),
                p(9),
                refresh(&p(10), &p(11)),
                p(12),
                p(2),
                p(2),
                p(5),
                p(13),
                p(14),
                p(15),
                p(16),
                p(17),
                p(18),
                p(19),
                p(20),
                p(21),
                p(22),
                p(23),
                p(24),
                p(25),
                p(26),
                p(1),
                p(2),
                p(3),
            )
        })
        .collect::<Vec<_>>()
        .join(";\n")
}

fn postgres_sql() -> String {
    format!(
        "WITH c AS (
            INSERT INTO consumed_challenges (id, tenant_id, expires_at) VALUES ($1::text, $2::text, $3::bigint)
            ON CONFLICT (id) DO NOTHING RETURNING id
         ), u AS (
            INSERT INTO users ({USER_COLUMNS})
            SELECT $4::text, $2::text, $5::text, $6::text, $7::text, $8::text, $9::bigint, $9::bigint
            WHERE EXISTS (SELECT 1 FROM c)
            {}
            RETURNING id
         ), cr AS (
            INSERT INTO credentials ({CREDENTIAL_COLUMNS})
            SELECT $12::text, $2::text, u.id, $13::text, $14::bytea, $15::integer, $16::bigint, $17::text,
                $18::text, $19::text, $20::boolean, $21::boolean, $22::boolean, $23::boolean, $24::text,
                $25::bigint, $26::bigint
            FROM u
            RETURNING id
         )
         SELECT 'c'::text AS side, id::text AS item, 0::bigint AS n FROM c
         UNION ALL SELECT 'u'::text, id::text, 0::bigint FROM u",
        refresh("$10::boolean", "$11::boolean")
    )
}

/// Writes a registration (see the module documentation). Guarantees: a challenge finishes at most one ceremony;
/// nothing is written unless everything is; a credential id is stored once per tenant.
pub async fn store(db: &DatabaseConnection, r: &NewRegistration) -> RepoResult<Stored> {
    let written = if db.get_database_backend() == DatabaseBackend::Postgres {
        combined_postgres(db, r).await
    } else {
        combined_sqlite(db, std::slice::from_ref(r)).await
    };
    match written {
        Ok(mut stored) => stored
            .pop()
            .ok_or_else(|| not_written("the write returned nothing")),
        // The unique index on (tenant_id, credential_id) is the only one the write can hit.
        Err(e) if e.is_unique_violation() => Ok(Stored::CredentialExists),
        Err(e) => Err(e),
    }
}

/// Writes registrations, one outcome per registration in order, with the guarantees of [`store`]: on SQLite in
/// one batch and one commit (a failing batch is written again registration by registration), on PostgreSQL one
/// statement each.
pub async fn store_many(
    db: &DatabaseConnection,
    regs: &[NewRegistration],
) -> Vec<RepoResult<Stored>> {
    if regs.len() > 1 && db.get_database_backend() != DatabaseBackend::Postgres {
        match combined_sqlite(db, regs).await {
            Ok(stored) => return stored.into_iter().map(Ok).collect(),
            Err(e) => {
                tracing::debug!(error = %e, registrations = regs.len(), "a batch of registrations failed; writing them one by one");
            }
        }
    }
    let mut outcomes = Vec::with_capacity(regs.len());
    for r in regs {
        outcomes.push(store(db, r).await);
    }
    outcomes
}

fn not_written(reason: &str) -> RepoError {
    RepoError::Corrupt {
        table: "credentials",
        reason: reason.into(),
    }
}

/// The combined write on PostgreSQL (one registration). An error means nothing was written.
async fn combined_postgres(
    db: &DatabaseConnection,
    r: &NewRegistration,
) -> RepoResult<Vec<Stored>> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            POSTGRES_SQL.as_str(),
            values(r),
        ))
        .await?;
    outcomes(rows, 1)
}

/// The combined write of registrations on SQLite, in one transaction. An error means nothing was written.
async fn combined_sqlite(
    db: &DatabaseConnection,
    regs: &[NewRegistration],
) -> RepoResult<Vec<Stored>> {
    let mut values_all = Vec::with_capacity(regs.len() * VALUES_PER_REGISTRATION);
    for r in regs {
        values_all.extend(values(r));
    }
    let txn = db.begin().await?;
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            sqlite_sql(regs.len()),
            values_all,
        ))
        .await?;
    let stored = outcomes(rows, regs.len())?;
    txn.commit().await?;
    Ok(stored)
}

/// Reads what a combined write of `count` registrations did from its rows (`side` `c` for a consumed challenge,
/// `u` for a written user with its row id as `item`, `n` the registration's index).
fn outcomes(rows: Vec<sea_orm::QueryResult>, count: usize) -> RepoResult<Vec<Stored>> {
    let mut consumed = vec![false; count];
    let mut user_pks: Vec<Option<String>> = vec![None; count];
    for row in rows {
        let side: String = row.try_get("", "side")?;
        let item: String = row.try_get("", "item")?;
        let n: i64 = row.try_get("", "n")?;
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n < count)
            .ok_or_else(|| not_written("a row of another batch"))?;
        match side.as_str() {
            "c" => consumed[n] = true,
            _ => user_pks[n] = Some(item),
        }
    }
    consumed
        .into_iter()
        .zip(user_pks)
        .map(|(consumed, user_pk)| match (consumed, user_pk) {
            (true, Some(user_pk)) => Ok(Stored::Stored { user_pk }),
            // The user's and the credential's inserts are conditional on the challenge's: nothing was written.
            (false, None) => Ok(Stored::Replayed),
            _ => Err(not_written("a registration was written in part")),
        })
        .collect()
}

/// The handle to the background registration writer (SQLite; see the module documentation).
#[derive(Clone)]
pub struct RegistrationWriter(GroupWriter<NewRegistration, Stored>);

impl RegistrationWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        RegistrationWriter(GroupWriter::start(
            db,
            BATCH,
            "registration writer",
            |db, regs| async move { store_many(&db, &regs).await },
        ))
    }

    /// Writes one registration together with whatever other registrations are waiting.
    pub async fn store(&self, r: NewRegistration) -> RepoResult<Stored> {
        self.0.write(r).await
    }
}
