//! Admin API data transfer objects in the Hanko Passkey API's JSON shapes, and their mapping to domain types.

use poem_openapi::{Enum, Object};

use crate::clock::rfc3339;
use crate::model::{
    self, ApiKey, Attachment, AttestationPreference, AuditEntry, ResidentKey, SigningKeyInfo,
    Tenant, TenantConfig, TokenAlgorithm, User, UserVerification,
};

/// `userVerification`.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum UserVerificationDto {
    /// UV required.
    Required,
    /// UV preferred.
    Preferred,
    /// UV discouraged.
    Discouraged,
}

/// `attestation`.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum AttestationDto {
    /// No attestation.
    None,
    /// Indirect.
    Indirect,
    /// Direct.
    Direct,
    /// Enterprise.
    Enterprise,
}

/// `residentKey`.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum ResidentKeyDto {
    /// Discouraged.
    Discouraged,
    /// Preferred.
    Preferred,
    /// Required.
    Required,
}

/// `authenticatorAttachment`.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AttachmentDto {
    /// Platform authenticator.
    #[oai(rename = "platform")]
    #[serde(rename = "platform")]
    Platform,
    /// Roaming authenticator.
    #[oai(rename = "cross-platform")]
    #[serde(rename = "cross-platform")]
    CrossPlatform,
}

/// Token signing algorithm.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TokenAlgorithmDto {
    /// ECDSA P-256 SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
    /// RSA PKCS#1 v1.5 SHA-256.
    RS256,
}

macro_rules! enum_map {
    ($dto:ty, $model:ty, $($v:ident),+) => {
        impl From<$dto> for $model {
            fn from(v: $dto) -> Self { match v { $(<$dto>::$v => <$model>::$v),+ } }
        }
        impl From<$model> for $dto {
            fn from(v: $model) -> Self { match v { $(<$model>::$v => <$dto>::$v),+ } }
        }
    };
}
enum_map!(
    UserVerificationDto,
    UserVerification,
    Required,
    Preferred,
    Discouraged
);
enum_map!(
    AttestationDto,
    AttestationPreference,
    None,
    Indirect,
    Direct,
    Enterprise
);
enum_map!(
    ResidentKeyDto,
    ResidentKey,
    Discouraged,
    Preferred,
    Required
);
enum_map!(AttachmentDto, Attachment, Platform, CrossPlatform);
enum_map!(TokenAlgorithmDto, TokenAlgorithm, ES256, EdDSA, RS256);

/// CORS settings.
#[derive(Object, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CorsDto {
    /// Origins allowed to call the public endpoints from a browser.
    pub allowed_origins: Vec<String>,
    /// Allows `*` among the origins.
    #[oai(default)]
    #[serde(default)]
    pub allow_unsafe_wildcard: bool,
}

/// The relying party.
#[derive(Object, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RelyingPartyDto {
    /// RP id: a domain such as `example.com`.
    pub id: String,
    /// Name shown by authenticators.
    pub display_name: String,
    /// Optional icon URL.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub icon: Option<String>,
    /// Exact origins allowed in ceremonies, including `android:apk-key-hash:...`.
    pub origins: Vec<String>,
}

/// Passkey ceremony settings.
#[derive(Object, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WebauthnDto {
    /// The relying party.
    pub relying_party: RelyingPartyDto,
    /// Ceremony timeout in milliseconds.
    pub timeout: u64,
    /// Default `required`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_verification: Option<UserVerificationDto>,
    /// Any attachment when absent.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attachment: Option<AttachmentDto>,
    /// Default `direct`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attestation_preference: Option<AttestationDto>,
    /// Default `required`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resident_key_requirement: Option<ResidentKeyDto>,
}

/// Second-factor (MFA) ceremony settings.
#[derive(Object, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MfaDto {
    /// Timeout in milliseconds; the passkey timeout when absent.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timeout: Option<u64>,
    /// Default `preferred`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_verification: Option<UserVerificationDto>,
    /// Default `cross-platform`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attachment: Option<AttachmentDto>,
    /// Default `direct`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attestation_preference: Option<AttestationDto>,
    /// Default `discouraged`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resident_key_requirement: Option<ResidentKeyDto>,
}

/// Token settings (a Tessera extension).
#[derive(Object, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TokenDto {
    /// Token lifetime in seconds; default 300.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lifetime: Option<u64>,
    /// Signing algorithm; default ES256. Changing it rotates the signing key.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub algorithm: Option<TokenAlgorithmDto>,
}

/// Policy switches (a Tessera extension).
#[derive(Object, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PolicyDto {
    /// Accept assertions whose signature counter did not increase; default false.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub allow_counter_regression: Option<bool>,
    /// User verification for transaction signing; default `required`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub transaction_user_verification: Option<UserVerificationDto>,
    /// Require user verification for MFA step-up; default false.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mfa_require_user_verification: Option<bool>,
}

/// A tenant's configuration.
#[derive(Object, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TenantConfigDto {
    /// CORS for the public endpoints.
    pub cors: CorsDto,
    /// Passkey ceremonies.
    pub webauthn: WebauthnDto,
    /// MFA ceremonies; defaults when absent.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mfa: Option<MfaDto>,
    /// Tokens; defaults when absent.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token: Option<TokenDto>,
    /// Policy; defaults when absent.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy: Option<PolicyDto>,
}

impl From<TenantConfigDto> for TenantConfig {
    /// Fills omitted settings with the Hanko Passkey API's defaults, so that existing tenant definitions behave
    /// the same.
    fn from(d: TenantConfigDto) -> Self {
        let w = d.webauthn;
        let mut c = TenantConfig::new(
            &w.relying_party.id,
            &w.relying_party.display_name,
            w.relying_party.origins,
        );
        c.rp_icon = w.relying_party.icon;
        c.timeout_ms = w.timeout;
        c.user_verification = w
            .user_verification
            .map_or(UserVerification::Required, Into::into);
        c.attachment = w.attachment.map(Into::into);
        c.attestation = w
            .attestation_preference
            .map_or(AttestationPreference::Direct, Into::into);
        c.resident_key = w
            .resident_key_requirement
            .map_or(ResidentKey::Required, Into::into);
        c.cors = model::CorsConfig {
            allowed_origins: d.cors.allowed_origins,
            allow_unsafe_wildcard: d.cors.allow_unsafe_wildcard,
        };
        let defaults = model::MfaProfile::default();
        c.mfa = match d.mfa {
            Some(m) => model::MfaProfile {
                timeout_ms: m.timeout.unwrap_or(c.timeout_ms),
                user_verification: m
                    .user_verification
                    .map_or(defaults.user_verification, Into::into),
                attachment: m.attachment.map_or(defaults.attachment, |a| Some(a.into())),
                attestation: m
                    .attestation_preference
                    .map_or(defaults.attestation, Into::into),
                resident_key: m
                    .resident_key_requirement
                    .map_or(defaults.resident_key, Into::into),
            },
            None => model::MfaProfile {
                timeout_ms: c.timeout_ms,
                ..defaults
            },
        };
        if let Some(t) = d.token {
            if let Some(l) = t.lifetime {
                c.token_lifetime_secs = l;
            }
            if let Some(a) = t.algorithm {
                c.token_algorithm = a.into();
            }
        }
        if let Some(p) = d.policy {
            if let Some(v) = p.allow_counter_regression {
                c.policy.allow_counter_regression = v;
            }
            if let Some(v) = p.transaction_user_verification {
                c.policy.transaction_user_verification = v.into();
            }
            if let Some(v) = p.mfa_require_user_verification {
                c.policy.mfa_require_user_verification = v;
            }
        }
        c
    }
}

impl From<&TenantConfig> for TenantConfigDto {
    fn from(c: &TenantConfig) -> Self {
        TenantConfigDto {
            cors: CorsDto {
                allowed_origins: c.cors.allowed_origins.clone(),
                allow_unsafe_wildcard: c.cors.allow_unsafe_wildcard,
            },
            webauthn: WebauthnDto {
                relying_party: RelyingPartyDto {
                    id: c.rp_id.clone(),
                    display_name: c.rp_name.clone(),
                    icon: c.rp_icon.clone(),
                    origins: c.origins.clone(),
                },
                timeout: c.timeout_ms,
                user_verification: Some(c.user_verification.into()),
                attachment: c.attachment.map(Into::into),
                attestation_preference: Some(c.attestation.into()),
                resident_key_requirement: Some(c.resident_key.into()),
            },
            mfa: Some(MfaDto {
                timeout: Some(c.mfa.timeout_ms),
                user_verification: Some(c.mfa.user_verification.into()),
                attachment: c.mfa.attachment.map(Into::into),
                attestation_preference: Some(c.mfa.attestation.into()),
                resident_key_requirement: Some(c.mfa.resident_key.into()),
            }),
            token: Some(TokenDto {
                lifetime: Some(c.token_lifetime_secs),
                algorithm: Some(c.token_algorithm.into()),
            }),
            policy: Some(PolicyDto {
                allow_counter_regression: Some(c.policy.allow_counter_regression),
                transaction_user_verification: Some(c.policy.transaction_user_verification.into()),
                mfa_require_user_verification: Some(c.policy.mfa_require_user_verification),
            }),
        }
    }
}

/// Body of `POST /tenants`.
#[derive(Object, Clone, Debug)]
#[oai(example)]
pub struct CreateTenantDto {
    /// Tenant name.
    pub display_name: String,
    /// Also create an API key named "Initial API Key" and return its value.
    #[oai(default)]
    pub create_api_key: bool,
    /// Configuration.
    pub config: TenantConfigDto,
}

impl poem_openapi::types::Example for CreateTenantDto {
    fn example() -> Self {
        CreateTenantDto {
            display_name: "Shop".into(),
            create_api_key: true,
            config: TenantConfigDto::from(&TenantConfig::new(
                "shop.example",
                "Shop",
                vec!["https://shop.example".into()],
            )),
        }
    }
}

/// Body of `PUT /tenants/{tenant_id}`.
#[derive(Object, Clone, Debug)]
pub struct UpdateTenantDto {
    /// New tenant name.
    pub display_name: String,
}

/// An API key. `secret` is present only in the response that created it.
#[derive(Object, Clone, Debug)]
pub struct SecretDto {
    /// Key id.
    pub id: String,
    /// Key name.
    pub name: String,
    /// The key's value: shown once, at creation.
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    /// Creation time.
    pub created_at: String,
    /// Last successful use (updated at most once a minute).
    #[oai(skip_serializing_if_is_none)]
    pub last_used_at: Option<String>,
    /// Revocation time; revoked keys authenticate nothing.
    #[oai(skip_serializing_if_is_none)]
    pub revoked_at: Option<String>,
}

impl SecretDto {
    /// Maps a key, with its value when it was just created.
    pub fn new(k: &ApiKey, secret: Option<String>) -> Self {
        SecretDto {
            id: k.id.clone(),
            name: k.name.clone(),
            secret,
            prefix: k.prefix.clone(),
            created_at: rfc3339(k.created_at),
            last_used_at: k.last_used_at.map(rfc3339),
            revoked_at: k.revoked_at.map(rfc3339),
        }
    }
}

/// Body of `POST /tenants/{tenant_id}/secrets/api`.
#[derive(Object, Clone, Debug)]
pub struct CreateSecretDto {
    /// Key name.
    pub name: String,
}

/// Response of `POST /tenants`.
#[derive(Object, Clone, Debug)]
pub struct CreatedTenantDto {
    /// The new tenant's id.
    pub id: String,
    /// The first API key, when `create_api_key` was true.
    #[oai(skip_serializing_if_is_none)]
    pub api_key: Option<SecretDto>,
}

/// A tenant in a list.
#[derive(Object, Clone, Debug)]
pub struct TenantSummaryDto {
    /// Tenant id.
    pub id: String,
    /// Tenant name.
    pub display_name: String,
}

impl From<&Tenant> for TenantSummaryDto {
    fn from(t: &Tenant) -> Self {
        TenantSummaryDto {
            id: t.id.to_string(),
            display_name: t.display_name.clone(),
        }
    }
}

/// A tenant with its configuration.
#[derive(Object, Clone, Debug)]
pub struct TenantDto {
    /// Tenant id.
    pub id: String,
    /// Tenant name.
    pub display_name: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Configuration.
    pub config: TenantConfigDto,
}

/// A user.
#[derive(Object, Clone, Debug)]
pub struct UserDto {
    /// Tessera's internal id.
    pub id: String,
    /// The application's user id.
    pub user_id: String,
    /// User name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Icon URL.
    #[oai(skip_serializing_if_is_none)]
    pub icon: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        UserDto {
            id: u.id.clone(),
            user_id: u.user_id.clone(),
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            icon: u.icon.clone(),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

/// An audit-log entry.
#[derive(Object, Clone, Debug)]
pub struct AuditLogDto {
    /// Entry id.
    pub id: String,
    /// What happened.
    #[oai(rename = "type")]
    pub kind: String,
    /// Failure reason code.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// Request id.
    pub meta_http_request_id: Option<String>,
    /// Client IP.
    pub meta_source_ip: Option<String>,
    /// Client user agent.
    pub meta_user_agent: Option<String>,
    /// The application's user id.
    #[oai(skip_serializing_if_is_none)]
    pub actor_user_id: Option<String>,
    /// Credential id.
    #[oai(skip_serializing_if_is_none)]
    pub credential_id: Option<String>,
    /// Transaction id.
    pub transaction_id: Option<String>,
    /// Further details.
    #[oai(skip_serializing_if_is_none)]
    pub details: Option<serde_json::Value>,
    /// Tenant id.
    pub tenant_id: String,
    /// Time.
    pub created_at: String,
    /// Same as `created_at`: entries never change.
    pub updated_at: String,
}

impl From<&AuditEntry> for AuditLogDto {
    fn from(e: &AuditEntry) -> Self {
        AuditLogDto {
            id: e.id.clone(),
            kind: e.kind.clone(),
            error: e.error.clone(),
            meta_http_request_id: e.request_id.clone(),
            meta_source_ip: e.source_ip.clone(),
            meta_user_agent: e.user_agent.clone(),
            actor_user_id: e.actor_user_id.clone(),
            credential_id: e.credential_id.clone(),
            transaction_id: e.transaction_id.clone(),
            details: e.details.clone(),
            tenant_id: e.tenant_id.to_string(),
            created_at: rfc3339(e.created_at),
            updated_at: rfc3339(e.created_at),
        }
    }
}

/// A token-signing key's public part.
#[derive(Object, Clone, Debug)]
pub struct SigningKeyDto {
    /// Key id (`kid`).
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// `active` (signs new tokens) or `retired` (verifies old ones).
    pub status: String,
    /// Public JWK.
    pub public_jwk: serde_json::Value,
    /// Creation time.
    pub created_at: String,
    /// Retirement time.
    #[oai(skip_serializing_if_is_none)]
    pub retired_at: Option<String>,
}

impl From<&SigningKeyInfo> for SigningKeyDto {
    fn from(k: &SigningKeyInfo) -> Self {
        SigningKeyDto {
            kid: k.id.clone(),
            alg: k.algorithm.as_str().to_string(),
            status: if k.active { "active" } else { "retired" }.to_string(),
            public_jwk: k.public_jwk.clone(),
            created_at: rfc3339(k.created_at),
            retired_at: k.retired_at.map(rfc3339),
        }
    }
}
