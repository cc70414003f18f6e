//! A successful registration's writes: the challenge becomes consumed, the user is created (or their profile
//! refreshed) and the credential is stored, atomically and in as few database round trips as the backend allows.
//!
//! SQLite runs the three statements in one round trip to its connection thread, inside one transaction (three
//! round trips in all, against six one statement at a time); PostgreSQL runs them as one statement
//! (data-modifying CTEs). Either way the writes are all or nothing. When the combined write hits a unique index
//! (a credential id registered before, or a replayed challenge whose credential still exists) nothing of it
//! stands and the writes run again one at a time, so that the outcome names the right cause.

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, TransactionTrait, Value,
};

use super::{RepoResult, to_json_column};
use crate::clock::Millis;
use crate::model::{Credential, TenantId, User};

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

/// Bind values of the combined write, numbered from 1 in the SQL below.
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

/// The profile refresh of an existing user (`P` is the placeholder prefix, `?` or `$`).
fn refresh(p: char) -> String {
    format!(
        "ON CONFLICT (tenant_id, user_id) DO UPDATE SET \
         name = CASE WHEN {p}10 THEN users.name ELSE excluded.name END, \
         display_name = CASE WHEN {p}11 THEN users.display_name ELSE excluded.display_name END, \
         icon = excluded.icon, updated_at = excluded.updated_at"
    )
}

fn sqlite_sql() -> String {
    format!(
        "INSERT INTO consumed_challenges (id, tenant_id, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO NOTHING RETURNING 'c' AS side, id AS item;
         INSERT INTO users ({USER_COLUMNS}) VALUES (?4, ?2, ?5, ?6, ?7, ?8, ?9, ?9) {}
         RETURNING 'u' AS side, id AS item;
         INSERT INTO credentials ({CREDENTIAL_COLUMNS}) VALUES (?12, ?2,
             (SELECT id FROM users WHERE tenant_id = ?2 AND user_id = ?5),
             ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
        refresh('?')
    )
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
         SELECT 'c'::text AS side, id::text AS item FROM c UNION ALL SELECT 'u'::text, id::text FROM u",
        refresh('$').replace("$10", "$10::boolean").replace("$11", "$11::boolean")
    )
}

/// Writes a registration (see the module documentation). Guarantees: a challenge finishes at most one ceremony;
/// nothing is written unless everything is; a credential id is stored once.
pub async fn store(db: &DatabaseConnection, r: &NewRegistration) -> RepoResult<Stored> {
    match combined(db, r).await {
        Err(e) if e.is_unique_violation() => {
            tracing::debug!(error = %e, "a registration's combined write hit a unique index; writing it one statement at a time");
            one_at_a_time(db, r).await
        }
        other => other,
    }
}

/// The combined write. A unique violation means nothing was written.
async fn combined(db: &DatabaseConnection, r: &NewRegistration) -> RepoResult<Stored> {
    let backend = db.get_database_backend();
    let rows = if backend == DatabaseBackend::Postgres {
        db.query_all_raw(Statement::from_sql_and_values(
            backend,
            postgres_sql(),
            values(r),
        ))
        .await?
    } else {
        let txn = db.begin().await?;
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sqlite_sql(),
                values(r),
            ))
            .await?;
        let consumed = rows.iter().any(|row| {
            row.try_get::<String>("", "side")
                .is_ok_and(|side| side == "c")
        });
        if !consumed {
            // A replay whose credential has gone meanwhile: the user's refresh and the credential's insert ran
            // and are rolled back with the transaction, dropped here.
            return Ok(Stored::Replayed);
        }
        txn.commit().await?;
        rows
    };
    let mut consumed = false;
    let mut user_pk = None;
    for row in rows {
        let side: String = row.try_get("", "side")?;
        let item: String = row.try_get("", "item")?;
        match side.as_str() {
            "c" => consumed = true,
            _ => user_pk = Some(item),
        }
    }
    Ok(match (consumed, user_pk) {
        (true, Some(user_pk)) => Stored::Stored { user_pk },
        // PostgreSQL: the user and credential inserts are conditional on the challenge's, so nothing was written.
        _ => Stored::Replayed,
    })
}

/// The writes one statement at a time in one transaction, each outcome told apart.
async fn one_at_a_time(db: &DatabaseConnection, r: &NewRegistration) -> RepoResult<Stored> {
    let txn = db.begin().await?;
    if !super::challenges::consume(&txn, r.tenant, &r.challenge_digest, r.challenge_expires_at)
        .await?
    {
        return Ok(Stored::Replayed);
    }
    let user = match super::users::find_by_user_id(&txn, r.tenant, &r.user.user_id).await? {
        Some(mut u) => {
            u.name = r.user.name.clone().unwrap_or(u.name);
            u.display_name = r.user.display_name.clone().unwrap_or(u.display_name);
            u.icon = r.user.icon.clone();
            u.updated_at = r.now;
            super::users::update_profile(&txn, &u).await?;
            u
        }
        None => {
            let u = User {
                id: r.user.id.clone(),
                tenant_id: r.tenant,
                user_id: r.user.user_id.clone(),
                name: r.user.name.clone().unwrap_or_default(),
                display_name: r.user.display_name.clone().unwrap_or_default(),
                icon: r.user.icon.clone(),
                created_at: r.now,
                updated_at: r.now,
            };
            super::users::insert(&txn, &u).await?;
            u
        }
    };
    let credential = Credential {
        user_pk: user.id.clone(),
        ..r.credential.clone()
    };
    match super::credentials::insert(&txn, &credential).await {
        Ok(()) => {}
        Err(e) if e.is_unique_violation() => return Ok(Stored::CredentialExists),
        Err(e) => return Err(e),
    }
    txn.commit().await?;
    Ok(Stored::Stored { user_pk: user.id })
}
