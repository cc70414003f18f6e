//! The audit log.

use entity::audit_log;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::{RepoError, RepoResult, json_column};
use crate::clock::Millis;
use crate::model::{AuditEntry, Page, PageRequest, TenantId};

/// Filters for listing audit entries; every filter present must match.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Entries strictly after this time.
    pub start: Option<Millis>,
    /// Entries strictly before this time.
    pub end: Option<Millis>,
    /// Entries of any of these kinds.
    pub kinds: Vec<String>,
    /// Entries whose actor user id contains this text.
    pub actor_user_id: Option<String>,
    /// Entries whose source IP contains this text.
    pub source_ip: Option<String>,
    /// Entries whose actor user id or source IP contains this text.
    pub q: Option<String>,
}

fn to_entry(m: audit_log::Model) -> RepoResult<AuditEntry> {
    Ok(AuditEntry {
        tenant_id: TenantId::parse(&m.tenant_id).ok_or_else(|| RepoError::Corrupt {
            table: "audit_logs",
            reason: "tenant_id is not a UUID".into(),
        })?,
        details: m
            .details
            .as_deref()
            .map(|d| json_column("audit_logs", d))
            .transpose()?,
        id: m.id,
        kind: m.r#type,
        error: m.error,
        request_id: m.request_id,
        source_ip: m.source_ip,
        user_agent: m.user_agent,
        actor_user_id: m.actor_user_id,
        credential_id: m.credential_id,
        transaction_id: m.transaction_id,
        created_at: m.created_at,
    })
}

/// Appends an entry.
pub async fn insert<C: ConnectionTrait>(db: &C, e: &AuditEntry) -> RepoResult<()> {
    insert_many(db, std::slice::from_ref(e)).await
}

/// Appends entries in one statement.
pub async fn insert_many<C: ConnectionTrait>(db: &C, entries: &[AuditEntry]) -> RepoResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    audit_log::Entity::insert_many(entries.iter().map(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn row(e: &AuditEntry) -> audit_log::ActiveModel {
    audit_log::ActiveModel {
        id: Set(e.id.clone()),
        tenant_id: Set(e.tenant_id.to_string()),
        r#type: Set(e.kind.clone()),
        error: Set(e.error.clone()),
        request_id: Set(e.request_id.clone()),
        source_ip: Set(e.source_ip.clone()),
        user_agent: Set(e.user_agent.clone()),
        actor_user_id: Set(e.actor_user_id.clone()),
        credential_id: Set(e.credential_id.clone()),
        transaction_id: Set(e.transaction_id.clone()),
        details: Set(e.details.as_ref().map(|d| d.to_string())),
        created_at: Set(e.created_at),
    }
}

/// A page of a tenant's entries, newest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    filter: &AuditFilter,
    page: PageRequest,
) -> RepoResult<Page<AuditEntry>> {
    let mut cond = Condition::all().add(audit_log::Column::TenantId.eq(tenant.to_string()));
    if let Some(start) = filter.start {
        cond = cond.add(audit_log::Column::CreatedAt.gt(start));
    }
    if let Some(end) = filter.end {
        cond = cond.add(audit_log::Column::CreatedAt.lt(end));
    }
    if !filter.kinds.is_empty() {
        cond = cond.add(audit_log::Column::Type.is_in(filter.kinds.clone()));
    }
    if let Some(actor) = &filter.actor_user_id {
        cond = cond.add(audit_log::Column::ActorUserId.contains(actor));
    }
    if let Some(ip) = &filter.source_ip {
        cond = cond.add(audit_log::Column::SourceIp.contains(ip));
    }
    if let Some(q) = &filter.q {
        cond = cond.add(
            Condition::any()
                .add(audit_log::Column::ActorUserId.contains(q))
                .add(audit_log::Column::SourceIp.contains(q)),
        );
    }
    let query = audit_log::Entity::find().filter(cond);
    let total = query.clone().count(db).await?;
    let items = query
        .order_by_desc(audit_log::Column::CreatedAt)
        .order_by_desc(audit_log::Column::Id)
        .offset(page.offset())
        .limit(page.per_page)
        .all(db)
        .await?
        .into_iter()
        .map(to_entry)
        .collect::<RepoResult<_>>()?;
    Ok(Page { items, total })
}
