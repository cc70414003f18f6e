//! Passkey registration and login, and the credentials they create.
//!
//! Initialize builds WebAuthn options around a sealed challenge and writes nothing. Finalize opens the challenge,
//! verifies the response with `webauthn/`, and consumes the challenge together with storing the outcome: a
//! registration in one database transaction, a login in one conditional write that is the authority on replays,
//! deleted credentials and counters (a login may verify against a cached credential). Every step is audited,
//! failures included, with a reason code.

use std::sync::Arc;

use serde_json::Value;

use super::audit::AuditSubject;
use super::ceremony::{
    CeremonyKind, CeremonyState, ChallengeError, challenge_digest, policy_digest,
};
use super::tokens::Claims;
use super::{Error, RequestMeta, Tessera};
use crate::model::{
    Credential, Page, PageRequest, SortDirection, TenantConfig, TenantId, User, UserVerification,
};
use crate::repo;
use crate::repo::credential_uses::{self, CredentialUse, UseRecorded};
use crate::repo::registrations::{NewRegistration, Stored, UserUpsert};
use crate::webauthn::attestation::AttestationPolicy;
use crate::webauthn::authentication::{
    AuthenticationOutcome, AuthenticationPolicy, SignCount, StoredCredential, verify_authentication,
};
use crate::webauthn::client_data::ClientData;
use crate::webauthn::cose::CoseKey;
use crate::webauthn::json::{AuthenticationResponse, RegistrationResponse};
use crate::webauthn::options::{
    CreationOptions, CreationSettings, CredentialDescriptor, DEFAULT_ALGORITHMS, RequestOptions,
    RpEntity, UserEntity, UserHandle,
};
use crate::webauthn::registration::{RegistrationPolicy, verify_registration};
use crate::webauthn::{self, RelyingParty, WebauthnError, b64};

/// Why a ceremony step failed.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// A service failure (not found, invalid input, internal).
    #[error(transparent)]
    Service(#[from] Error),
    /// The challenge cannot finish this ceremony.
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
    /// The registration response failed verification.
    #[error("registration refused: {0}")]
    Registration(WebauthnError),
    /// The assertion failed verification.
    #[error("assertion refused: {0}")]
    Assertion(WebauthnError),
    /// No credential with this id exists in the tenant.
    #[error("unknown credential")]
    CredentialNotFound,
    /// The credential is registered already.
    #[error("this credential is already registered")]
    CredentialExists,
    /// A second-factor credential was used for passkey login, or a passkey where the ceremony wants another kind.
    #[error("{0}")]
    WrongCredentialKind(&'static str),
    /// The user has no credential usable for this ceremony.
    #[error("the user has no credential usable for this ceremony")]
    NoCredentials,
    /// The credential belongs to another user than the ceremony's.
    #[error("the credential does not belong to this ceremony's user")]
    UserMismatch,
    /// The signature counter did not increase.
    #[error("the signature counter did not increase (possible cloned authenticator)")]
    CounterRegressed,
    /// The transaction id is taken in this tenant.
    #[error("transaction already exists")]
    TransactionExists,
    /// The transaction's data or id do not match the hash the challenge carries.
    #[error("the assertion was made for other transaction data")]
    TransactionMismatch,
    /// The transaction is no longer pending.
    #[error("the transaction is {0}")]
    TransactionClosed(String),
}

impl CeremonyError {
    /// A stable reason code, for the audit log and the API.
    pub fn code(&self) -> &'static str {
        match self {
            CeremonyError::Service(Error::NotFound("user")) => "user_not_found",
            CeremonyError::Service(Error::NotFound(_)) => "not_found",
            CeremonyError::Service(Error::Invalid(_)) => "validation_failed",
            CeremonyError::Service(Error::InvalidApiKey) => "invalid_api_key",
            CeremonyError::Service(Error::Conflict(_)) => "conflict",
            CeremonyError::Service(_) => "internal_error",
            CeremonyError::Challenge(c) => c.code(),
            CeremonyError::Registration(e) | CeremonyError::Assertion(e) => e.code(),
            CeremonyError::CredentialNotFound => "credential_not_found",
            CeremonyError::CredentialExists => "credential_exists",
            CeremonyError::WrongCredentialKind(_) => "credential_kind_not_allowed",
            CeremonyError::NoCredentials => "no_credentials",
            CeremonyError::UserMismatch => "credential_not_allowed",
            CeremonyError::CounterRegressed => "sign_count_regressed",
            CeremonyError::TransactionExists => "transaction_exists",
            CeremonyError::TransactionMismatch => "transaction_mismatch",
            CeremonyError::TransactionClosed(_) => "transaction_closed",
        }
    }
}

pub(crate) type CResult<T> = Result<T, CeremonyError>;

/// A registration request.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// The application's user id; the user handle is its UTF-8 bytes (1 to 64 bytes).
    pub user_id: String,
    /// User name.
    pub username: String,
    /// Display name (the user name when absent or blank).
    pub display_name: Option<String>,
    /// Icon URL.
    pub icon: Option<String>,
}

/// A finished ceremony: the token and what it is about.
#[derive(Clone, Debug)]
pub struct Finished {
    /// The signed JWT.
    pub token: String,
    /// Its claims.
    pub claims: Claims,
}

/// The names of well-known authenticators by AAGUID, from the bundled data file.
fn aaguid_name(aaguid: &str) -> Option<String> {
    static NAMES: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| serde_json::from_str(include_str!("aaguid_names.json")).unwrap_or_default())
        .get(aaguid)
        .cloned()
}

/// The relying party of a tenant, as verification needs it.
pub fn relying_party(config: &TenantConfig) -> RelyingParty {
    RelyingParty::new(config.rp_id.clone(), config.origins.clone())
}

/// Verifies an assertion made with `stored`, a credential of `user`. A user-bound ceremony allows exactly this
/// credential and does not need a user handle; a discoverable one needs it.
pub(crate) fn verify_stored(
    config: &TenantConfig,
    response: &AuthenticationResponse,
    challenge: &[u8],
    stored: &Credential,
    user: &User,
    user_verification: UserVerification,
    user_bound: bool,
) -> CResult<AuthenticationOutcome> {
    let key = CoseKey::from_cbor(&stored.public_key)
        .map_err(|e| Error::Internal(format!("stored key unreadable: {e}")))?;
    let rp = relying_party(config);
    let allow = vec![response.credential_id.clone()];
    verify_authentication(
        response,
        &StoredCredential {
            credential_id: &response.credential_id,
            public_key: &key,
            sign_count: stored.sign_count,
            backup_eligible: stored.backup_eligible,
            user_handle: user.user_id.as_bytes(),
        },
        &AuthenticationPolicy {
            rp: &rp,
            challenge,
            user_verification: uv(user_verification),
            allow_credentials: user_bound.then_some(allow.as_slice()),
        },
    )
    .map_err(CeremonyError::Assertion)
}

/// The WebAuthn form of a tenant's user-verification setting.
pub(crate) fn uv(u: UserVerification) -> webauthn::UserVerification {
    match u {
        UserVerification::Required => webauthn::UserVerification::Required,
        UserVerification::Preferred => webauthn::UserVerification::Preferred,
        UserVerification::Discouraged => webauthn::UserVerification::Discouraged,
    }
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn format_aaguid(a: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*a).hyphenated().to_string()
}

fn validate_new_user(u: &NewUser) -> Result<(), Error> {
    let mut errors = Vec::new();
    if u.user_id.is_empty() || u.user_id.len() > 64 {
        errors.push("user_id: must be 1 to 64 bytes".to_string());
    }
    if u.username.trim().is_empty() || u.username.chars().count() > 128 {
        errors.push("username: must be 1 to 128 characters".to_string());
    }
    if u.display_name
        .as_ref()
        .is_some_and(|d| d.chars().count() > 128)
    {
        errors.push("display_name: cannot be longer than 128 characters".to_string());
    }
    if let Some(icon) = &u.icon
        && (url::Url::parse(icon).is_err() || icon.len() > 2048)
    {
        errors.push("icon: must be a valid URL".to_string());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

impl Tessera {
    pub(crate) async fn audit_step(
        &self,
        tenant: TenantId,
        kind: CeremonyKind,
        step: &'static str,
        outcome: Result<(), &CeremonyError>,
        meta: &RequestMeta,
        subject: AuditSubject,
    ) {
        let (suffix, code) = match outcome {
            Ok(()) => ("succeeded", None),
            Err(e) => ("failed", Some(e.code())),
        };
        self.metrics.ceremony(kind.name(), step, code);
        let kind_name = format!("{}_{step}_{suffix}", kind.audit_prefix());
        self.audit(tenant, &kind_name, code, meta, subject).await;
    }

    /// Starts a registration: creation options for `user`, excluding their existing credentials.
    pub async fn begin_registration(
        &self,
        tenant: TenantId,
        user: NewUser,
        kind: CeremonyKind,
        meta: &RequestMeta,
    ) -> CResult<CreationOptions> {
        let result = self.begin_registration_inner(tenant, &user, kind).await;
        let subject = AuditSubject {
            user_id: Some(user.user_id.clone()),
            ..Default::default()
        };
        self.audit_step(
            tenant,
            kind,
            "init",
            result.as_ref().map(|_| ()),
            meta,
            subject,
        )
        .await;
        result
    }

    async fn begin_registration_inner(
        &self,
        tenant: TenantId,
        user: &NewUser,
        kind: CeremonyKind,
    ) -> CResult<CreationOptions> {
        validate_new_user(user)?;
        let config = self.tenant_config(tenant).await?;
        let handle = UserHandle::new(user.user_id.as_bytes().to_vec())
            .map_err(|e| Error::Invalid(vec![format!("user_id: {e}")]))?;
        let display_name = user
            .display_name
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| user.username.clone());
        let existing = repo::credentials::for_user_id(&self.db, tenant, &user.user_id)
            .await
            .map_err(Error::from)?;
        let mfa = kind == CeremonyKind::MfaRegistration;
        let (timeout, user_verification, attachment, resident_key, attestation) = if mfa {
            (
                config.mfa.timeout_ms,
                config.mfa.user_verification,
                config.mfa.attachment,
                config.mfa.resident_key,
                config.mfa.attestation,
            )
        } else {
            (
                config.timeout_ms,
                config.user_verification,
                config.attachment,
                config.resident_key,
                config.attestation,
            )
        };
        let state = CeremonyState {
            kind,
            user_id: Some(user.user_id.clone()),
            username: Some(user.username.clone()),
            display_name: Some(display_name.clone()),
            icon: user.icon.clone(),
            transaction: None,
            expires_at: self.clock.now_ms() + i64::try_from(timeout).unwrap_or(i64::MAX),
            user_verification,
            policy: policy_digest(&config),
        };
        let challenge = self.seal_challenge(tenant, &state, &[]);
        let exclude = existing
            .iter()
            .filter_map(|c| {
                b64::decode(&c.credential_id)
                    .map(|id| CredentialDescriptor::new(&id, c.transports.clone()))
            })
            .collect();
        let attachment = attachment.map(|a| enum_str(&a));
        Ok(CreationOptions::new(
            RpEntity {
                id: config.rp_id.clone(),
                name: config.rp_name.clone(),
            },
            UserEntity::new(&handle, &user.username, &display_name),
            &challenge,
            CreationSettings {
                algorithms: &DEFAULT_ALGORITHMS,
                timeout_ms: timeout,
                exclude,
                attachment: attachment.as_deref(),
                resident_key: &enum_str(&resident_key),
                user_verification: uv(user_verification),
                attestation: &enum_str(&attestation),
                hints: if mfa {
                    vec!["security-key".into()]
                } else {
                    vec![]
                },
            },
        ))
    }

    /// Finishes a registration: verifies the credential, stores it (and the user, on their first credential) and
    /// returns a token.
    pub async fn finish_registration(
        &self,
        tenant: TenantId,
        credential: Value,
        kinds: &[CeremonyKind],
        meta: &RequestMeta,
    ) -> CResult<Finished> {
        let mut subject = AuditSubject::default();
        let mut kind = kinds.first().copied().unwrap_or(CeremonyKind::Registration);
        let result = self
            .finish_registration_inner(tenant, credential, kinds, &mut subject, &mut kind)
            .await;
        self.audit_step(
            tenant,
            kind,
            "final",
            result.as_ref().map(|_| ()),
            meta,
            subject,
        )
        .await;
        result
    }

    async fn finish_registration_inner(
        &self,
        tenant: TenantId,
        credential: Value,
        kinds: &[CeremonyKind],
        subject: &mut AuditSubject,
        kind: &mut CeremonyKind,
    ) -> CResult<Finished> {
        let response =
            RegistrationResponse::from_value(credential).map_err(CeremonyError::Registration)?;
        subject.credential_id = Some(b64::encode(&response.credential_id));
        let client_data =
            ClientData::parse(&response.client_data_json).map_err(CeremonyError::Registration)?;
        let config = self.tenant_config(tenant).await?;
        let state = self.open_challenge(tenant, &client_data.challenge, 0, kinds, &config)?;
        *kind = state.kind;
        let user_id = state.user_id.clone().ok_or(ChallengeError::Unknown)?;
        subject.user_id = Some(user_id.clone());
        let rp = relying_party(&config);
        let registered = verify_registration(
            &response,
            &RegistrationPolicy {
                rp: &rp,
                challenge: &client_data.challenge,
                user_verification: uv(state.user_verification),
                algorithms: &DEFAULT_ALGORITHMS,
                attestation: AttestationPolicy::default(),
            },
        )
        .map_err(CeremonyError::Registration)?;

        let now = self.clock.now_ms();
        let credential_id = b64::encode(&registered.credential_id);
        let aaguid = format_aaguid(&registered.aaguid);
        let name = aaguid_name(&aaguid).unwrap_or_else(|| {
            if state.kind == CeremonyKind::MfaRegistration {
                "Security key"
            } else {
                "Passkey"
            }
            .to_string()
        });

        let stored = Credential {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant,
            // Filled in by the write: the credential belongs to the user below, new or existing.
            user_pk: String::new(),
            credential_id: credential_id.clone(),
            public_key: registered.public_key_cbor.clone(),
            algorithm: registered.public_key.alg.id(),
            sign_count: registered.sign_count,
            aaguid,
            transports: registered.transports.clone(),
            attestation_format: registered.attestation.format.clone(),
            backup_eligible: registered.flags.be,
            backup_state: registered.flags.bs,
            user_verified: registered.flags.uv,
            is_mfa: state.kind == CeremonyKind::MfaRegistration,
            name: Some(name),
            created_at: now,
            last_used_at: Some(now),
        };
        // One atomic write consumes the challenge (the authority on replays), creates or refreshes the user and
        // stores the credential (a credential id registered before is caught by its unique index).
        let outcome = self
            .store_registration(NewRegistration {
                tenant,
                challenge_digest: challenge_digest(&client_data.challenge),
                challenge_expires_at: state.expires_at,
                user: UserUpsert {
                    id: uuid::Uuid::new_v4().to_string(),
                    user_id: user_id.clone(),
                    name: state.username.clone(),
                    display_name: state.display_name.clone(),
                    icon: state.icon.clone(),
                },
                credential: stored,
                now,
            })
            .await?;
        match outcome {
            Stored::Stored { .. } => {}
            Stored::Replayed => return Err(ChallengeError::Replayed.into()),
            Stored::CredentialExists => return Err(CeremonyError::CredentialExists),
        }

        let claims = self.claims(
            tenant,
            &config,
            &user_id,
            &credential_id,
            registered.flags.uv,
            state.kind,
        );
        let token = self.sign_token(tenant, &claims).await?;
        Ok(Finished { token, claims })
    }

    pub(crate) fn claims(
        &self,
        tenant: TenantId,
        config: &TenantConfig,
        user_id: &str,
        credential_id: &str,
        user_verified: bool,
        kind: CeremonyKind,
    ) -> Claims {
        let now = self.clock.now_ms() / 1000;
        let step_up = matches!(kind, CeremonyKind::MfaLogin | CeremonyKind::MfaRegistration);
        // "pop": proof of possession of a key. "mfa": a verified passkey is multi-factor on its own, and a
        // step-up is a second factor on top of the application's first.
        let mut amr = vec!["pop".to_string()];
        if user_verified || step_up {
            amr.push("mfa".to_string());
        }
        let acr = match kind {
            CeremonyKind::MfaLogin | CeremonyKind::MfaRegistration => "step-up",
            CeremonyKind::Transaction => "transaction",
            _ => "passkey",
        };
        Claims {
            sub: user_id.to_string(),
            aud: vec![config.rp_id.clone()],
            iss: self.issuer(tenant),
            iat: now,
            exp: now + i64::try_from(config.token_lifetime_secs).unwrap_or(300),
            jti: uuid::Uuid::new_v4().to_string(),
            cred: credential_id.to_string(),
            tid: tenant.to_string(),
            amr,
            uv: user_verified,
            trans: None,
            trans_hash: None,
            acr: Some(acr.to_string()),
        }
    }

    /// Starts a login: discoverable when `user_id` is `None`, otherwise limited to the user's credentials of the
    /// ceremony's kind.
    pub async fn begin_login(
        &self,
        tenant: TenantId,
        user_id: Option<String>,
        kind: CeremonyKind,
        meta: &RequestMeta,
    ) -> CResult<RequestOptions> {
        let result = self
            .begin_login_inner(tenant, user_id.as_deref(), kind)
            .await;
        let subject = AuditSubject {
            user_id,
            ..Default::default()
        };
        self.audit_step(
            tenant,
            kind,
            "init",
            result.as_ref().map(|_| ()),
            meta,
            subject,
        )
        .await;
        result
    }

    async fn begin_login_inner(
        &self,
        tenant: TenantId,
        user_id: Option<&str>,
        kind: CeremonyKind,
    ) -> CResult<RequestOptions> {
        let config = self.tenant_config(tenant).await?;
        let mfa = kind == CeremonyKind::MfaLogin;
        let allow = match user_id {
            None => Vec::new(),
            Some(user_id) => {
                let creds = self.credentials_of_user_id(tenant, user_id).await?;
                // Passkey login uses passkeys only; MFA login accepts any of the user's credentials.
                let usable: Vec<CredentialDescriptor> = creds
                    .iter()
                    .filter(|c| mfa || !c.is_mfa)
                    .filter_map(|c| {
                        b64::decode(&c.credential_id)
                            .map(|id| CredentialDescriptor::new(&id, c.transports.clone()))
                    })
                    .collect();
                if usable.is_empty() {
                    return Err(CeremonyError::NoCredentials);
                }
                usable
            }
        };
        let (timeout, mut user_verification) = if mfa {
            (config.mfa.timeout_ms, config.mfa.user_verification)
        } else {
            (config.timeout_ms, config.user_verification)
        };
        if mfa && config.policy.mfa_require_user_verification {
            user_verification = UserVerification::Required;
        }
        let state = CeremonyState {
            kind,
            user_id: user_id.map(str::to_string),
            username: None,
            display_name: None,
            icon: None,
            transaction: None,
            expires_at: self.clock.now_ms() + i64::try_from(timeout).unwrap_or(i64::MAX),
            user_verification,
            policy: policy_digest(&config),
        };
        let challenge = self.seal_challenge(tenant, &state, &[]);
        Ok(RequestOptions::new(
            &config.rp_id,
            &challenge,
            timeout,
            allow,
            uv(user_verification),
        ))
    }

    /// Finishes a login: verifies the assertion, records the credential's use and returns a token.
    pub async fn finish_login(
        &self,
        tenant: TenantId,
        credential: Value,
        kinds: &[CeremonyKind],
        meta: &RequestMeta,
    ) -> CResult<Finished> {
        let mut subject = AuditSubject::default();
        let mut kind = kinds.first().copied().unwrap_or(CeremonyKind::Login);
        let result = self
            .finish_login_inner(tenant, credential, kinds, &mut subject, &mut kind)
            .await;
        self.audit_step(
            tenant,
            kind,
            "final",
            result.as_ref().map(|_| ()),
            meta,
            subject,
        )
        .await;
        result
    }

    async fn finish_login_inner(
        &self,
        tenant: TenantId,
        credential: Value,
        kinds: &[CeremonyKind],
        subject: &mut AuditSubject,
        kind: &mut CeremonyKind,
    ) -> CResult<Finished> {
        let response =
            AuthenticationResponse::from_value(credential).map_err(CeremonyError::Assertion)?;
        let credential_id = b64::encode(&response.credential_id);
        subject.credential_id = Some(credential_id.clone());
        let client_data =
            ClientData::parse(&response.client_data_json).map_err(CeremonyError::Assertion)?;
        let config = self.tenant_config(tenant).await?;
        let state = self.open_challenge(tenant, &client_data.challenge, 0, kinds, &config)?;
        let digest = challenge_digest(&client_data.challenge);
        *kind = state.kind;
        subject.user_id = state.user_id.clone();

        // No separate replay check up front: the write below refuses a consumed challenge atomically, and a
        // replayed assertion is also caught by its counter, where it is reported as the replay it is.
        let found = self
            .credential_with_owner(tenant, &credential_id)
            .await?
            .ok_or(CeremonyError::CredentialNotFound)?;
        let (stored, user) = (&found.0, &found.1);
        if stored.is_mfa && state.kind == CeremonyKind::Login {
            return Err(CeremonyError::WrongCredentialKind(
                "MFA credentials are not usable for passkey login",
            ));
        }
        subject.user_id = Some(user.user_id.clone());
        if state.user_id.as_ref().is_some_and(|u| u != &user.user_id) {
            return Err(CeremonyError::UserMismatch);
        }
        let outcome = verify_stored(
            &config,
            &response,
            &client_data.challenge,
            stored,
            user,
            state.user_verification,
            state.user_id.is_some(),
        )?;
        if let SignCount::Regressed {
            stored: before,
            received,
        } = outcome.counter
        {
            if !config.policy.allow_counter_regression {
                if repo::challenges::is_consumed(&self.db, &digest)
                    .await
                    .map_err(Error::from)?
                {
                    return Err(ChallengeError::Replayed.into());
                }
                return Err(CeremonyError::CounterRegressed);
            }
            tracing::warn!(tenant.id = %tenant, stored = before, received, "sign counter regression accepted by tenant policy");
        }

        // The write is the authority: it refuses a consumed challenge, a credential deleted meanwhile (on any
        // replica) and, unless the tenant allows regressions, a counter that another use has overtaken.
        let recorded = self
            .record_use(CredentialUse {
                tenant,
                challenge_digest: digest,
                challenge_expires_at: state.expires_at,
                credential: stored.id.clone(),
                sign_count: outcome.sign_count,
                enforce_counter: !config.policy.allow_counter_regression,
                backup_state: outcome.flags.bs,
                user_verified: outcome.flags.uv,
                now: self.clock.now_ms(),
            })
            .await?;
        let key = (tenant, credential_id.clone());
        match recorded {
            UseRecorded::Recorded => {
                let mut fresh = stored.clone();
                fresh.sign_count = stored.sign_count.max(outcome.sign_count);
                self.credentials
                    .insert(key, Arc::new((fresh, user.clone())))
                    .await;
            }
            UseRecorded::Replayed => return Err(ChallengeError::Replayed.into()),
            UseRecorded::CounterRegressed => {
                self.credentials.invalidate(&key).await;
                return Err(CeremonyError::CounterRegressed);
            }
            UseRecorded::CredentialGone => {
                self.credentials.invalidate(&key).await;
                return Err(CeremonyError::CredentialNotFound);
            }
        }

        let claims = self.claims(
            tenant,
            &config,
            &user.user_id,
            &credential_id,
            outcome.flags.uv,
            state.kind,
        );
        let token = self.sign_token(tenant, &claims).await?;
        Ok(Finished { token, claims })
    }

    /// Writes a registration: through the background writer, together with other registrations, when there is one.
    async fn store_registration(&self, r: NewRegistration) -> Result<Stored, Error> {
        Ok(match &self.registration_writer {
            Some(writer) => writer.store(r).await?,
            None => repo::registrations::store(&self.db, &r).await?,
        })
    }

    /// Writes a login's use: through the background writer, together with other logins, when there is one.
    async fn record_use(&self, used: CredentialUse) -> Result<UseRecorded, Error> {
        Ok(match &self.use_writer {
            Some(writer) => writer.record(used).await?,
            None => credential_uses::record_uses(&self.db, std::slice::from_ref(&used))
                .await
                .pop()
                .ok_or_else(|| Error::Internal("a login's use was not written".into()))??,
        })
    }

    /// A credential and its owner for a login, from the cache when this replica has seen it within the cache
    /// lifetime. What a login reads from it never changes (key, owner, kind) except the counter, which the
    /// login's write checks against the stored row.
    async fn credential_with_owner(
        &self,
        tenant: TenantId,
        credential_id: &str,
    ) -> Result<Option<Arc<(Credential, crate::model::User)>>, Error> {
        let key = (tenant, credential_id.to_string());
        if let Some(hit) = self.credentials.get(&key).await {
            return Ok(Some(hit));
        }
        let Some(pair) =
            repo::credentials::find_with_owner(&self.db, tenant, credential_id).await?
        else {
            return Ok(None);
        };
        let pair = Arc::new(pair);
        self.credentials.insert(key, pair.clone()).await;
        Ok(Some(pair))
    }

    /// A page of a tenant's credentials, optionally of one user (by the application's user id).
    pub async fn list_credentials(
        &self,
        tenant: TenantId,
        user_id: Option<&str>,
        page: PageRequest,
        direction: SortDirection,
    ) -> Result<(Page<Credential>, Vec<(String, String)>), Error> {
        self.require_tenant(tenant).await?;
        let user_pk = match user_id {
            Some(u) => match repo::users::find_by_user_id(&self.db, tenant, u).await? {
                Some(user) => Some(user.id),
                None => {
                    return Ok((
                        Page {
                            items: vec![],
                            total: 0,
                        },
                        vec![],
                    ));
                }
            },
            None => None,
        };
        let page =
            repo::credentials::list(&self.listings, tenant, user_pk.as_deref(), page, direction)
                .await?;
        let owners = self.owners(tenant, &page.items).await?;
        Ok((page, owners))
    }

    /// `(user_pk, user_id)` pairs for the owners of `credentials`.
    async fn owners(
        &self,
        tenant: TenantId,
        credentials: &[Credential],
    ) -> Result<Vec<(String, String)>, Error> {
        let mut ids: Vec<String> = credentials.iter().map(|c| c.user_pk.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        let owners = repo::users::by_ids(&self.listings, tenant, &ids)
            .await?
            .into_iter()
            .map(|u| (u.id, u.user_id))
            .collect();
        Ok(owners)
    }

    /// One credential with its owner's application user id.
    pub async fn get_credential(
        &self,
        tenant: TenantId,
        credential_id: &str,
    ) -> Result<(Credential, String), Error> {
        let (c, owner) = repo::credentials::find_with_owner(
            &self.db,
            tenant,
            credential_id.trim_end_matches('='),
        )
        .await?
        .ok_or(Error::NotFound("credential"))?;
        Ok((c, owner.user_id))
    }

    /// One credential of the user with application user id `user_id`; another user's credential is not found.
    pub async fn get_own_credential(
        &self,
        tenant: TenantId,
        user_id: &str,
        credential_id: &str,
    ) -> Result<Credential, Error> {
        let (c, owner) = self.get_credential(tenant, credential_id).await?;
        if owner != user_id {
            return Err(Error::NotFound("credential"));
        }
        Ok(c)
    }

    /// Renames a credential.
    pub async fn rename_credential(
        &self,
        tenant: TenantId,
        credential_id: &str,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<(), Error> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(Error::Invalid(vec![
                "name: must be 1 to 128 characters".into(),
            ]));
        }
        let (c, owner) = self.get_credential(tenant, credential_id).await?;
        repo::credentials::rename(&self.db, tenant, &c.id, name).await?;
        let subject = AuditSubject {
            user_id: Some(owner),
            credential_id: Some(c.credential_id),
            ..Default::default()
        };
        self.audit(tenant, "webauthn_credential_updated", None, meta, subject)
            .await;
        Ok(())
    }

    /// Deletes a credential.
    pub async fn delete_credential(
        &self,
        tenant: TenantId,
        credential_id: &str,
        meta: &RequestMeta,
    ) -> Result<(), Error> {
        let (c, owner) = self.get_credential(tenant, credential_id).await?;
        if !repo::credentials::delete(&self.db, tenant, &c.id).await? {
            return Err(Error::NotFound("credential"));
        }
        self.credentials
            .invalidate(&(tenant, c.credential_id.clone()))
            .await;
        let subject = AuditSubject {
            user_id: Some(owner),
            credential_id: Some(c.credential_id),
            ..Default::default()
        };
        self.audit(tenant, "webauthn_credential_deleted", None, meta, subject)
            .await;
        Ok(())
    }

    /// Deletes consumed-challenge records that have expired.
    pub async fn purge_consumed_challenges(&self) -> Result<u64, Error> {
        Ok(repo::challenges::purge_expired(&self.db, self.clock.now_ms()).await?)
    }
}
