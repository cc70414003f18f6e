//! Tenant users as the admin API sees them.

use super::audit::AuditSubject;
use super::{Error, RequestMeta, Result, Tessera};
use crate::model::{Credential, Page, PageRequest, SortDirection, TenantId, User};
use crate::repo;

impl Tessera {
    /// A page of a tenant's users.
    pub async fn list_users(
        &self,
        tenant: TenantId,
        page: PageRequest,
        direction: SortDirection,
    ) -> Result<Page<User>> {
        self.require_tenant(tenant).await?;
        Ok(repo::users::list(&self.listings, tenant, page, direction).await?)
    }

    /// A tenant's user by internal id or application user id.
    pub async fn get_user(&self, tenant: TenantId, id: &str) -> Result<User> {
        self.require_tenant(tenant).await?;
        repo::users::find(&self.db, tenant, id)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// The credentials of the user with the application's `user_id`, oldest first: one query when the user has
    /// any; `NotFound("user")` when there is no such user.
    pub(crate) async fn credentials_of_user_id(
        &self,
        tenant: TenantId,
        user_id: &str,
    ) -> Result<Vec<Credential>> {
        let creds = repo::credentials::for_user_id(&self.db, tenant, user_id).await?;
        if creds.is_empty()
            && repo::users::find_by_user_id(&self.db, tenant, user_id)
                .await?
                .is_none()
        {
            return Err(Error::NotFound("user"));
        }
        Ok(creds)
    }

    /// Deletes a tenant's user with their credentials and transactions.
    pub async fn delete_user(&self, tenant: TenantId, id: &str, meta: &RequestMeta) -> Result<()> {
        let user = self.get_user(tenant, id).await?;
        if !repo::users::delete(&self.db, tenant, &user.id).await? {
            return Err(Error::NotFound("user"));
        }
        self.audit(
            tenant,
            "user_deleted",
            None,
            meta,
            AuditSubject {
                user_id: Some(user.user_id),
                ..Default::default()
            },
        )
        .await;
        Ok(())
    }
}
