//! Writing and reading the audit log. Entries are written outside any failing transaction, so failures are
//! recorded too; they never contain secrets.
//!
//! A serving process writes entries through [`AuditWriter`]: a background task that lets entries gather for a few
//! milliseconds and inserts them in one statement, so ceremonies do not wait for an audit commit each. Readers flush the queue first, so this
//! replica's entries are always visible to its own reads; shutdown flushes it too. Without a writer (the CLI)
//! entries are inserted directly.

use tokio::sync::{mpsc, oneshot};

use super::{RequestMeta, Result, Tessera};
use crate::model::{AuditEntry, Page, PageRequest, TenantId};
use crate::repo::{self, audit::AuditFilter};

/// What an audit entry is about, beyond its kind.
#[derive(Clone, Debug, Default)]
pub struct AuditSubject {
    /// The application's user id.
    pub user_id: Option<String>,
    /// The credential id.
    pub credential_id: Option<String>,
    /// The transaction id.
    pub transaction_id: Option<String>,
    /// Further non-secret details.
    pub details: Option<serde_json::Value>,
}

/// Entries queued at most before writers fall back to direct inserts.
const QUEUE: usize = 4096;
/// Entries written in one statement at most.
const BATCH: usize = 256;
/// How long the writer lets entries gather after the first one arrives.
const GATHER: std::time::Duration = std::time::Duration::from_millis(10);

enum Message {
    Entry(Box<AuditEntry>),
    Flush(oneshot::Sender<()>),
}

/// The handle to the background audit writer.
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Message>,
}

impl AuditWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: sea_orm::DatabaseConnection) -> Self {
        let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);
        tokio::spawn(async move {
            let mut batch: Vec<AuditEntry> = Vec::with_capacity(BATCH);
            let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
            // Whether the last batch was full, so more are likely queued: then there is nothing to wait for.
            let mut backlog = false;
            while let Some(first) = rx.recv().await {
                // Let a batch gather before draining, unless someone waits for a flush: waking this task and
                // writing for every entry costs a thread hand-off and a commit each (measured: ~250 µs of CPU per
                // login at 1,000 logins/s).
                if !backlog && !matches!(first, Message::Flush(_)) {
                    tokio::time::sleep(GATHER).await;
                }
                let mut next = Some(first);
                while let Some(msg) = next.take() {
                    match msg {
                        Message::Entry(e) => batch.push(*e),
                        Message::Flush(w) => waiters.push(w),
                    }
                    if batch.len() < BATCH {
                        next = rx.try_recv().ok();
                    }
                }
                backlog = batch.len() >= BATCH;
                if let Err(e) = repo::audit::insert_many(&db, &batch).await {
                    tracing::error!(error = %e, entries = batch.len(), "audit entries not written");
                }
                batch.clear();
                for w in waiters.drain(..) {
                    let _ = w.send(());
                }
            }
        });
        AuditWriter { tx }
    }
}

impl Tessera {
    /// Writes audit entries, logins' uses and (on SQLite, whose one writer gains from group commit where
    /// PostgreSQL's concurrent statements do not need it) registrations through background writers from now on
    /// (for serving processes; they run on the current runtime).
    pub fn with_background_writers(mut self) -> Self {
        self.audit_writer = Some(AuditWriter::start(self.db.clone()));
        self.use_writer = Some(repo::credential_uses::UseWriter::start(self.db.clone()));
        if self.db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            self.registration_writer = Some(repo::registrations::RegistrationWriter::start(
                self.db.clone(),
            ));
        }
        self
    }

    /// Waits until every audit entry queued so far is written.
    pub async fn flush_audit(&self) {
        if let Some(w) = &self.audit_writer {
            let (tx, rx) = oneshot::channel();
            if w.tx.send(Message::Flush(tx)).await.is_ok() {
                let _ = rx.await;
            }
        }
    }

    /// Appends an audit entry. A failure to write it is logged and does not fail the caller's operation.
    pub async fn audit(
        &self,
        tenant: TenantId,
        kind: &str,
        error: Option<&str>,
        meta: &RequestMeta,
        subject: AuditSubject,
    ) {
        let entry = AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant,
            kind: kind.to_string(),
            error: error.map(str::to_string),
            request_id: meta.request_id.clone(),
            source_ip: meta.source_ip.clone(),
            user_agent: meta.user_agent.clone(),
            actor_user_id: subject.user_id,
            credential_id: subject.credential_id,
            transaction_id: subject.transaction_id,
            details: subject.details,
            created_at: self.clock.now_ms(),
        };
        let entry = match &self.audit_writer {
            Some(w) => match w.tx.try_send(Message::Entry(Box::new(entry))) {
                Ok(()) => return,
                // A full or stopped queue: write directly rather than lose the entry.
                Err(
                    mpsc::error::TrySendError::Full(Message::Entry(e))
                    | mpsc::error::TrySendError::Closed(Message::Entry(e)),
                ) => *e,
                Err(_) => return,
            },
            None => entry,
        };
        if let Err(e) = repo::audit::insert(&self.db, &entry).await {
            tracing::error!(tenant.id = %tenant, audit.kind = kind, error = %e, "audit entry not written");
        }
    }

    /// A page of a tenant's audit entries, newest first.
    pub async fn list_audit(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        self.require_tenant(tenant).await?;
        self.flush_audit().await;
        Ok(repo::audit::list(&self.listings, tenant, filter, page).await?)
    }
}
