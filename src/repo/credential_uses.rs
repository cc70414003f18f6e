//! A successful login's writes: the challenge becomes consumed and the credential's use (counter, backup state,
//! user verification, time) is recorded, for many logins in one statement and one commit.
//!
//! The write is the authority on replays, deleted credentials and counters, so the service can verify against a
//! cached credential. A serving process sends its logins through [`UseWriter`], a background task that takes
//! whatever logins have queued up while the previous batch was written and writes them together (see
//! [`super::group_commit`]).

use std::collections::HashSet;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, TransactionTrait, Value,
};

use super::group_commit::GroupWriter;
use super::{RepoError, RepoResult};
use crate::clock::Millis;
use crate::model::TenantId;

/// What the write did for one login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UseRecorded {
    /// The challenge is now consumed and the credential's use recorded.
    Recorded,
    /// The challenge was consumed before: the login must fail.
    Replayed,
    /// The challenge is now consumed, but the credential's stored counter is not below the presented one (a
    /// replica saw a later use, or the authenticator was cloned): the use was not recorded.
    CounterRegressed,
    /// The challenge is now consumed, but the credential no longer exists.
    CredentialGone,
}

/// One login's writes.
#[derive(Clone, Debug)]
pub struct CredentialUse {
    /// The tenant.
    pub tenant: TenantId,
    /// The digest of the ceremony's challenge (the consumed-challenge key).
    pub challenge_digest: String,
    /// Until when the challenge record must be kept (the challenge's own expiry).
    pub challenge_expires_at: Millis,
    /// The credential's row id.
    pub credential: String,
    /// The counter the authenticator presented.
    pub sign_count: u32,
    /// Refuse the use unless the counter increased (or both it and the stored one are zero).
    pub enforce_counter: bool,
    /// The backup state flag presented.
    pub backup_state: bool,
    /// Whether the user was verified.
    pub user_verified: bool,
    /// When.
    pub now: Millis,
}

/// Logins written in one statement at most.
const BATCH: usize = 64;
/// Bind values per login in the batch statements.
const VALUES_PER_USE: usize = 9;

/// Writes the logins' uses, one outcome per login in order. Logins that share a challenge or a credential are
/// written in successive statements, so each statement sees at most one use of a row and a counter check sees the
/// previous use.
///
/// Guarantees: a challenge finishes at most one login (the insert of its record decides, on every replica); a use
/// is recorded only with a fresh challenge, on an existing credential and, when enforced, with a counter above
/// the stored one; counters never go down.
///
/// Each write is atomic: PostgreSQL runs one statement (data-modifying CTEs); SQLite runs an update of the
/// credentials whose challenges are not consumed yet and the insert of the challenge records in one transaction
/// (one commit for the whole batch). When a write of several logins fails (say, one login's tenant was deleted
/// meanwhile), nothing of it was written and each of its logins is written again on its own, so one login's
/// failure is not the others'.
pub async fn record_uses(
    db: &DatabaseConnection,
    uses: &[CredentialUse],
) -> Vec<RepoResult<UseRecorded>> {
    let mut outcomes: Vec<Option<RepoResult<UseRecorded>>> = uses.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..uses.len()).collect();
    while !pending.is_empty() {
        // The next write's logins: distinct challenges and credentials, at most BATCH; the rest wait.
        let mut digests = HashSet::new();
        let mut credentials = HashSet::new();
        let mut chunk = Vec::new();
        let mut later = Vec::new();
        for i in pending {
            let u = &uses[i];
            if chunk.len() < BATCH
                && !digests.contains(u.challenge_digest.as_str())
                && !credentials.contains(&(u.tenant, u.credential.as_str()))
            {
                digests.insert(u.challenge_digest.as_str());
                credentials.insert((u.tenant, u.credential.as_str()));
                chunk.push(i);
            } else {
                later.push(i);
            }
        }
        let batch: Vec<&CredentialUse> = chunk.iter().map(|&i| &uses[i]).collect();
        match write(db, &batch).await {
            Ok(written) => {
                for (&i, used) in chunk.iter().zip(batch) {
                    outcomes[i] = Some(outcome(db, used, &written).await);
                }
            }
            Err(e) if batch.len() == 1 => outcomes[chunk[0]] = Some(Err(e)),
            Err(e) => {
                tracing::warn!(error = %e, logins = batch.len(), "a batch of login uses failed; writing them one by one");
                for (&i, used) in chunk.iter().zip(batch) {
                    outcomes[i] = Some(match write(db, &[used]).await {
                        Ok(written) => outcome(db, used, &written).await,
                        Err(e) => Err(e),
                    });
                }
            }
        }
        pending = later;
    }
    outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Err(RepoError::Corrupt {
                    table: "credentials",
                    reason: "a login's use was not written".into(),
                })
            })
        })
        .collect()
}

/// What one write did: the challenge digests it recorded and the credential row ids it updated.
#[derive(Default)]
struct Written {
    consumed: HashSet<String>,
    updated: HashSet<String>,
}

/// One write of [`record_uses`] (distinct challenges and credentials). An error means nothing was written.
async fn write(db: &DatabaseConnection, batch: &[&CredentialUse]) -> RepoResult<Written> {
    let backend = db.get_database_backend();
    let mut values = Vec::with_capacity(batch.len() * VALUES_PER_USE);
    for u in batch {
        values.extend([
            Value::from(u.challenge_digest.as_str()),
            Value::from(u.tenant.to_string()),
            Value::from(u.challenge_expires_at),
            Value::from(u.credential.as_str()),
            Value::from(i64::from(u.sign_count)),
            Value::from(u.backup_state),
            Value::from(u.user_verified),
            Value::from(u.now),
            Value::from(u.enforce_counter),
        ]);
    }
    if backend == DatabaseBackend::Postgres {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                postgres_sql(batch.len()),
                values,
            ))
            .await?;
        written(rows)
    } else {
        // Both statements go to SQLite's connection thread in one round trip, inside one transaction.
        let txn = db.begin().await?;
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sqlite_sql(batch.len()),
                values,
            ))
            .await?;
        let written = written(rows)?;
        txn.commit().await?;
        Ok(written)
    }
}

/// Reads the rows the write statements return: `side` is `c` for a consumed challenge, `u` for an updated
/// credential; `item` is its key.
fn written(rows: Vec<sea_orm::QueryResult>) -> RepoResult<Written> {
    let mut written = Written::default();
    for row in rows {
        let side: String = row.try_get("", "side")?;
        let item: String = row.try_get("", "item")?;
        if side == "c" {
            written.consumed.insert(item);
        } else {
            written.updated.insert(item);
        }
    }
    Ok(written)
}

/// What a write did for one of its logins; a refused use is told apart by whether the credential still exists.
async fn outcome<C: ConnectionTrait>(
    db: &C,
    used: &CredentialUse,
    written: &Written,
) -> RepoResult<UseRecorded> {
    Ok(if !written.consumed.contains(&used.challenge_digest) {
        UseRecorded::Replayed
    } else if written.updated.contains(&used.credential) {
        UseRecorded::Recorded
    } else if super::credentials::exists(db, used.tenant, &used.credential).await? {
        UseRecorded::CounterRegressed
    } else {
        UseRecorded::CredentialGone
    })
}

/// The numbered placeholders of the `n`-th login's values, as `f` formats them from the first number.
fn rows(count: usize, f: impl Fn(usize) -> String) -> String {
    (0..count)
        .map(|n| f(n * VALUES_PER_USE + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

fn postgres_sql(count: usize) -> String {
    let values = rows(count, |p| {
        format!(
            "(${}::text, ${}::text, ${}::bigint, ${}::text, ${}::bigint, ${}::boolean, ${}::boolean, ${}::bigint, \
             ${}::boolean)",
            p,
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8
        )
    });
    format!(
        "WITH v (digest, tenant, expires, cid, cnt, bs, uv, at, enforce) AS (VALUES {values}),
         c AS (
            INSERT INTO consumed_challenges (id, tenant_id, expires_at) SELECT digest, tenant, expires FROM v
            ON CONFLICT (id) DO NOTHING RETURNING id
         ), u AS (
            UPDATE credentials SET sign_count = GREATEST(credentials.sign_count, v.cnt), backup_state = v.bs,
                user_verified = v.uv, last_used_at = v.at
            FROM v
            WHERE credentials.tenant_id = v.tenant AND credentials.id = v.cid AND v.digest IN (SELECT id FROM c)
              AND (NOT v.enforce OR v.cnt > credentials.sign_count OR (v.cnt = 0 AND credentials.sign_count = 0))
            RETURNING credentials.id
         )
         SELECT 'c'::text AS side, id::text AS item FROM c UNION ALL SELECT 'u'::text, id::text FROM u"
    )
}

fn sqlite_sql(count: usize) -> String {
    let updates = rows(count, |p| {
        format!(
            "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
            p,
            p + 1,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8
        )
    });
    let inserts = rows(count, |p| format!("(?{}, ?{}, ?{})", p, p + 1, p + 2));
    format!(
        "WITH v (digest, tenant, cid, cnt, bs, uv, at, enforce) AS (VALUES {updates})
         UPDATE credentials SET sign_count = MAX(credentials.sign_count, v.cnt), backup_state = v.bs,
             user_verified = v.uv, last_used_at = v.at
         FROM v
         WHERE credentials.tenant_id = v.tenant AND credentials.id = v.cid
           AND NOT EXISTS (SELECT 1 FROM consumed_challenges c WHERE c.id = v.digest)
           AND (NOT v.enforce OR v.cnt > credentials.sign_count OR (v.cnt = 0 AND credentials.sign_count = 0))
         RETURNING 'u' AS side, id AS item;
         INSERT INTO consumed_challenges (id, tenant_id, expires_at) VALUES {inserts}
         ON CONFLICT (id) DO NOTHING RETURNING 'c' AS side, id AS item"
    )
}

/// The handle to the background login writer (see the module documentation).
#[derive(Clone)]
pub struct UseWriter(GroupWriter<CredentialUse, UseRecorded>);

impl UseWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        UseWriter(GroupWriter::start(
            db,
            BATCH,
            "login writer",
            |db, uses| async move { record_uses(&db, &uses).await },
        ))
    }

    /// Writes one login's use together with whatever other logins are waiting.
    pub async fn record(&self, used: CredentialUse) -> RepoResult<UseRecorded> {
        self.0.write(used).await
    }
}
