//! Domain types with parse constructors: a value of one of these types is valid by construction.
//!
//! This module depends on nothing internal. Database rows are mapped to these types in `repo/`; API DTOs are
//! mapped to and from them in `api/`.

pub mod jcs;
pub mod tenant;

use std::fmt;

use crate::clock::Millis;

pub use tenant::{
    Attachment, AttestationPreference, CorsConfig, MfaProfile, ResidentKey, TenantConfig,
    TokenAlgorithm, UserVerification,
};

/// A tenant's identifier: a UUID, shown in its hyphenated lowercase form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(uuid::Uuid);

impl TenantId {
    /// A new random tenant id.
    pub fn new() -> Self {
        TenantId(uuid::Uuid::new_v4())
    }

    /// Parses a UUID string.
    pub fn parse(s: &str) -> Option<Self> {
        uuid::Uuid::parse_str(s).ok().map(TenantId)
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A tenant: one application (or environment of one) using Tessera.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    /// Identifier.
    pub id: TenantId,
    /// Human-readable name.
    pub display_name: String,
    /// Creation time.
    pub created_at: Millis,
    /// Last change of the tenant or its configuration.
    pub updated_at: Millis,
}

/// A tenant API key's metadata; the key's value is never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Identifier.
    pub id: String,
    /// Owner.
    pub tenant_id: TenantId,
    /// Name given at creation.
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    /// Creation time.
    pub created_at: Millis,
    /// When the key last authenticated a request (updated at most once a minute).
    pub last_used_at: Option<Millis>,
    /// When the key was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<Millis>,
}

/// A user of a tenant, named by the application's own user id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Tessera's internal identifier (a UUID).
    pub id: String,
    /// Owner.
    pub tenant_id: TenantId,
    /// The application's user id; the WebAuthn user handle is its UTF-8 bytes.
    pub user_id: String,
    /// User name shown by authenticators.
    pub name: String,
    /// Display name shown by authenticators.
    pub display_name: String,
    /// Optional icon URL.
    pub icon: Option<String>,
    /// Creation time.
    pub created_at: Millis,
    /// Last change.
    pub updated_at: Millis,
}

/// A registered WebAuthn credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// Tessera's internal id (a UUID).
    pub id: String,
    /// Owner.
    pub tenant_id: TenantId,
    /// The internal id of the user it belongs to.
    pub user_pk: String,
    /// The WebAuthn credential id, base64url without padding.
    pub credential_id: String,
    /// The COSE public key as the authenticator encoded it.
    pub public_key: Vec<u8>,
    /// The COSE algorithm id.
    pub algorithm: i64,
    /// The signature counter last seen.
    pub sign_count: u32,
    /// The authenticator's AAGUID (hyphenated UUID).
    pub aaguid: String,
    /// Transports reported at registration.
    pub transports: Vec<String>,
    /// The attestation format (`none`, `packed`, ...).
    pub attestation_format: String,
    /// Backup eligible (BE), fixed at registration.
    pub backup_eligible: bool,
    /// Backup state (BS) at the last use.
    pub backup_state: bool,
    /// Whether the user was verified at the last use.
    pub user_verified: bool,
    /// A second-factor (MFA) credential, refused by passkey login.
    pub is_mfa: bool,
    /// Human-readable name.
    pub name: Option<String>,
    /// Registration time.
    pub created_at: Millis,
    /// Last successful use.
    pub last_used_at: Option<Millis>,
}

/// A transaction to be signed with a passkey, and its evidence once signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// Tessera's internal id.
    pub id: String,
    /// Owner.
    pub tenant_id: TenantId,
    /// The application's transaction id, unique per tenant.
    pub transaction_id: String,
    /// The internal id of the user who must sign.
    pub user_pk: String,
    /// `pending`, `signed`, `expired` or `failed`.
    pub status: String,
    /// The transaction data in RFC 8785 canonical JSON.
    pub data: String,
    /// The transaction hash (hex SHA-256), the first 32 bytes of the challenge.
    pub hash: String,
    /// Creation time.
    pub created_at: Millis,
    /// When the challenge expires.
    pub expires_at: Millis,
    /// When it was signed.
    pub signed_at: Option<Millis>,
    /// The credential that signed it (base64url).
    pub credential_id: Option<String>,
    /// Evidence: the signed authenticator data.
    pub authenticator_data: Option<Vec<u8>>,
    /// Evidence: the signed client data JSON.
    pub client_data_json: Option<Vec<u8>>,
    /// Evidence: the signature.
    pub signature: Option<Vec<u8>>,
    /// Evidence: the credential's COSE public key.
    pub public_key: Option<Vec<u8>>,
}

/// A token-signing key's public metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyInfo {
    /// The key id (`kid`).
    pub id: String,
    /// Owner.
    pub tenant_id: TenantId,
    /// JOSE algorithm.
    pub algorithm: TokenAlgorithm,
    /// The public key as a JWK.
    pub public_jwk: serde_json::Value,
    /// `true` for the one key that signs new tokens.
    pub active: bool,
    /// Creation time.
    pub created_at: Millis,
    /// When the key stopped signing.
    pub retired_at: Option<Millis>,
}

/// One audit-log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Identifier.
    pub id: String,
    /// Owner.
    pub tenant_id: TenantId,
    /// What happened, in snake_case (`tenant_created`, `webauthn_login_final_failed`, ...).
    pub kind: String,
    /// The failure reason code, for failures.
    pub error: Option<String>,
    /// The request id of the HTTP request that caused it.
    pub request_id: Option<String>,
    /// The client's IP address.
    pub source_ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// The application's user id concerned.
    pub actor_user_id: Option<String>,
    /// The credential concerned.
    pub credential_id: Option<String>,
    /// The transaction concerned.
    pub transaction_id: Option<String>,
    /// Further non-secret details.
    pub details: Option<serde_json::Value>,
    /// When it happened.
    pub created_at: Millis,
}

/// One page of a listing, with the total number of items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The number of items across all pages.
    pub total: u64,
}

/// Page number and size, both starting at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Page number, 1-based.
    pub page: u64,
    /// Items per page.
    pub per_page: u64,
}

impl PageRequest {
    /// The largest page size served.
    pub const MAX_PER_PAGE: u64 = 1000;

    /// Validates page and size; `None` when either is out of range.
    pub fn new(page: u64, per_page: u64) -> Option<Self> {
        (page >= 1 && (1..=Self::MAX_PER_PAGE).contains(&per_page))
            .then_some(PageRequest { page, per_page })
    }

    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// Sort order of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortDirection {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_parse_only_uuids() {
        let id = TenantId::new();
        assert_eq!(TenantId::parse(&id.to_string()), Some(id));
        assert_eq!(TenantId::parse("not-a-uuid"), None);
        assert_eq!(TenantId::parse(""), None);
    }

    #[test]
    fn page_requests_are_bounded() {
        assert!(PageRequest::new(0, 20).is_none());
        assert!(PageRequest::new(1, 0).is_none());
        assert!(PageRequest::new(1, 1001).is_none());
        assert_eq!(PageRequest::new(3, 20).map(|p| p.offset()), Some(40));
    }
}
