//! Writing and reading the audit log. Entries are written outside any failing transaction, so failures are
//! recorded too; they never contain secrets.

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

impl Tessera {
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
        Ok(repo::audit::list(&self.db, tenant, filter, page).await?)
    }
}
