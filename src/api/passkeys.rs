//! The public passkey API, per tenant: registration, login, credentials and JWKS, with the Hanko Passkey API's
//! paths (`/registration/...`, `/login/...`) as aliases of the same handlers.

use poem::Request;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, SecurityScheme, Tags};
use serde_json::Value;

use super::admin::{NoContent, link_header};
use super::error::ApiError;
use super::{parse_tenant_id, request_meta};
use crate::clock::rfc3339;
use crate::model::{Credential, PageRequest, SortDirection, TenantId};
use crate::service::Tessera;
use crate::service::ceremony::CeremonyKind;
use crate::service::passkeys::NewUser;
use crate::webauthn::b64;

#[derive(Tags)]
enum PasskeyTags {
    /// Passkey registration.
    Registration,
    /// Passkey login.
    Login,
    /// Second factor (MFA step-up).
    Mfa,
    /// Registered credentials.
    Credentials,
    /// Token verification keys.
    Tokens,
}

/// The tenant's API key in the `apiKey` header (any case).
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "apiKey",
    key_in = "header",
    rename = "apiKey"
)]
pub struct ApiKeyHeader(ApiKey);

/// The tenant's API key as `Authorization: Bearer <key>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "apiKeyBearer")]
pub struct ApiKeyBearer(Bearer);

/// A tenant API key, in either form.
#[derive(SecurityScheme)]
pub enum TenantKey {
    /// `apiKey: <key>`.
    Header(ApiKeyHeader),
    /// `Authorization: Bearer <key>`.
    Bearer(ApiKeyBearer),
}

impl TenantKey {
    /// The presented key.
    pub fn value(&self) -> &str {
        match self {
            TenantKey::Header(k) => &k.0.key,
            TenantKey::Bearer(b) => &b.0.token,
        }
    }
}

/// Body of registration initialize.
#[derive(Object, Debug)]
#[oai(example)]
pub struct InitRegistrationDto {
    /// The application's user id (1 to 64 bytes); the WebAuthn user handle is its UTF-8 bytes.
    pub user_id: String,
    /// User name shown by authenticators (at most 128 characters).
    pub username: String,
    /// Display name; the user name when absent or blank.
    pub display_name: Option<String>,
    /// Icon URL.
    pub icon: Option<String>,
}

impl poem_openapi::types::Example for InitRegistrationDto {
    fn example() -> Self {
        InitRegistrationDto {
            user_id: "7f3c2a10-user".into(),
            username: "alice@example.com".into(),
            display_name: Some("Alice".into()),
            icon: None,
        }
    }
}

/// Body of login initialize; empty for discoverable (usernameless) login.
#[derive(Object, Debug, Default)]
#[oai(example)]
pub struct InitLoginDto {
    /// Limit the login to this user's passkeys; needs the API key.
    pub user_id: Option<String>,
}

impl poem_openapi::types::Example for InitLoginDto {
    fn example() -> Self {
        InitLoginDto {
            user_id: Some("7f3c2a10-user".into()),
        }
    }
}

/// WebAuthn options wrapped as `navigator.credentials` expects them.
#[derive(Object, Debug)]
pub struct PublicKeyOptionsDto {
    /// `PublicKeyCredentialCreationOptions` or `PublicKeyCredentialRequestOptions` in WebAuthn JSON (base64url).
    #[oai(rename = "publicKey")]
    pub public_key: Value,
}

/// A signed JWT.
#[derive(Object, Debug)]
pub struct TokenDto {
    /// Verify it with the tenant's JWKS; claims `sub`, `aud`, `iss`, `iat`, `exp`, `jti`, `cred`, `tid`, `amr`.
    pub token: String,
}

/// A registered credential (Hanko's shape).
#[derive(Object, Debug)]
pub struct CredentialDto {
    /// Credential id, base64url.
    pub id: String,
    /// Human-readable name.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// COSE public key, base64url.
    pub public_key: String,
    /// Attestation format (`none`, `packed`, ...).
    pub attestation_type: String,
    /// Authenticator AAGUID.
    pub aaguid: String,
    /// Last successful use.
    #[oai(skip_serializing_if_is_none)]
    pub last_used_at: Option<String>,
    /// Registration time.
    pub created_at: String,
    /// Transports reported at registration.
    pub transports: Vec<String>,
    /// Backup eligible.
    pub backup_eligible: bool,
    /// Backed up at the last use.
    pub backup_state: bool,
    /// A second-factor credential.
    pub is_mfa: bool,
    /// The application's user id.
    pub user_id: String,
}

/// The API shape of a credential owned by `user_id`.
pub fn credential_dto(c: &Credential, user_id: String) -> CredentialDto {
    CredentialDto {
        id: c.credential_id.clone(),
        name: c.name.clone(),
        public_key: b64::encode(&c.public_key),
        attestation_type: c.attestation_format.clone(),
        aaguid: c.aaguid.clone(),
        last_used_at: c.last_used_at.map(rfc3339),
        created_at: rfc3339(c.created_at),
        transports: c.transports.clone(),
        backup_eligible: c.backup_eligible,
        backup_state: c.backup_state,
        is_mfa: c.is_mfa,
        user_id,
    }
}

/// Body of credential update.
#[derive(Object, Debug)]
#[oai(example)]
pub struct UpdateCredentialDto {
    /// New name (1 to 128 characters).
    pub name: String,
}

impl poem_openapi::types::Example for UpdateCredentialDto {
    fn example() -> Self {
        UpdateCredentialDto {
            name: "Work laptop".into(),
        }
    }
}

/// A page of credentials.
#[derive(ApiResponse)]
pub enum CredentialPage {
    /// One page, with `Link` and `X-Total-Count`.
    #[oai(status = 200)]
    Ok(
        Json<Vec<CredentialDto>>,
        /// RFC 8288 links.
        #[oai(header = "Link")]
        String,
        /// Total number of credentials.
        #[oai(header = "X-Total-Count")]
        u64,
    ),
}

/// The JWKS with caching headers.
#[derive(ApiResponse)]
pub enum JwksResponse {
    /// The keys that may verify a live token.
    #[oai(status = 200)]
    Ok(
        Json<Value>,
        /// Caching: shorter than any key's retirement period.
        #[oai(header = "Cache-Control")]
        String,
    ),
}

/// The public passkey API.
pub struct PasskeyApi {
    /// The services.
    pub tessera: Tessera,
}

impl PasskeyApi {
    async fn authorize(&self, tenant: TenantId, key: &TenantKey) -> Result<(), ApiError> {
        self.tessera
            .authenticate_api_key(tenant, key.value())
            .await?;
        Ok(())
    }

    async fn register_init(
        &self,
        req: &Request,
        tenant: &str,
        key: &TenantKey,
        body: InitRegistrationDto,
        kind: CeremonyKind,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        let tenant = parse_tenant_id(tenant)?;
        self.tessera.tenant_config(tenant).await?;
        self.authorize(tenant, key).await?;
        let user = NewUser {
            user_id: body.user_id,
            username: body.username,
            display_name: body.display_name,
            icon: body.icon,
        };
        let options = self
            .tessera
            .begin_registration(tenant, user, kind, &request_meta(req))
            .await?;
        Ok(Json(PublicKeyOptionsDto {
            public_key: serde_json::to_value(options).map_err(|e| ApiError::internal(&e))?,
        }))
    }

    /// Finishes a registration of `kind`; `key` is checked when given (MFA needs it, passkeys do not).
    async fn register_final(
        &self,
        req: &Request,
        tenant: &str,
        key: Option<&TenantKey>,
        body: Value,
        kind: CeremonyKind,
    ) -> Result<Json<TokenDto>, ApiError> {
        let tenant = parse_tenant_id(tenant)?;
        self.tessera.tenant_config(tenant).await?;
        if let Some(key) = key {
            self.authorize(tenant, key).await?;
        }
        let done = self
            .tessera
            .finish_registration(tenant, body, &[kind], &request_meta(req))
            .await?;
        Ok(Json(TokenDto { token: done.token }))
    }

    async fn mfa_login_init(
        &self,
        req: &Request,
        tenant: &str,
        key: &TenantKey,
        body: InitLoginDto,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        let tenant = parse_tenant_id(tenant)?;
        self.tessera.tenant_config(tenant).await?;
        self.authorize(tenant, key).await?;
        let user_id = body
            .user_id
            .filter(|u| !u.is_empty())
            .ok_or_else(|| ApiError::invalid("user_id is a required field"))?;
        let options = self
            .tessera
            .begin_login(
                tenant,
                Some(user_id),
                CeremonyKind::MfaLogin,
                &request_meta(req),
            )
            .await?;
        Ok(Json(PublicKeyOptionsDto {
            public_key: serde_json::to_value(options).map_err(|e| ApiError::internal(&e))?,
        }))
    }

    async fn login_init(
        &self,
        req: &Request,
        tenant: &str,
        body: Option<InitLoginDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        let tenant = parse_tenant_id(tenant)?;
        self.tessera.tenant_config(tenant).await?;
        let user_id = body.and_then(|b| b.user_id).filter(|u| !u.is_empty());
        if user_id.is_some() {
            // A user-bound login reveals which credentials a user has: only the application may ask.
            let key = presented_api_key(req).ok_or_else(|| {
                ApiError::unauthorized(
                    "missing_api_key",
                    "api key is missing",
                    "a login for a given user_id needs the tenant's API key",
                )
            })?;
            self.tessera.authenticate_api_key(tenant, &key).await?;
        }
        let options = self
            .tessera
            .begin_login(tenant, user_id, CeremonyKind::Login, &request_meta(req))
            .await?;
        Ok(Json(PublicKeyOptionsDto {
            public_key: serde_json::to_value(options).map_err(|e| ApiError::internal(&e))?,
        }))
    }

    /// Finishes a login of `kind`; `key` is checked when given.
    async fn login_final(
        &self,
        req: &Request,
        tenant: &str,
        key: Option<&TenantKey>,
        body: Value,
        kind: CeremonyKind,
    ) -> Result<Json<TokenDto>, ApiError> {
        let tenant = parse_tenant_id(tenant)?;
        self.tessera.tenant_config(tenant).await?;
        if let Some(key) = key {
            self.authorize(tenant, key).await?;
        }
        let done = self
            .tessera
            .finish_login(tenant, body, &[kind], &request_meta(req))
            .await?;
        Ok(Json(TokenDto { token: done.token }))
    }
}

/// The API key from `apiKey` (any case) or `Authorization: Bearer`, if any.
pub fn presented_api_key(req: &Request) -> Option<String> {
    let headers = req.headers();
    headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .or_else(|| {
            headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(|v| v.trim().to_string())
        })
}

#[OpenApi]
impl PasskeyApi {
    /// Start registering a passkey for a user: returns creation options for `navigator.credentials.create()`,
    /// excluding the user's existing credentials. Nothing is stored until finalize. Needs the tenant API key.
    /// Errors: 400 `invalid_tenant_id` or `validation_failed`, 401 `invalid_api_key`, 404 `tenant_not_found`.
    #[oai(
        path = "/:tenant_id/credentials/register/initialize",
        method = "post",
        operation_id = "initialize_registration",
        tag = "PasskeyTags::Registration"
    )]
    async fn initialize_registration(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<InitRegistrationDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        self.register_init(req, &tenant_id, &key, body.0, CeremonyKind::Registration)
            .await
    }

    /// Hanko-compatible alias of `initialize_registration`.
    #[oai(
        path = "/:tenant_id/registration/initialize",
        method = "post",
        operation_id = "initialize_registration_hanko",
        tag = "PasskeyTags::Registration"
    )]
    async fn initialize_registration_hanko(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<InitRegistrationDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        self.register_init(req, &tenant_id, &key, body.0, CeremonyKind::Registration)
            .await
    }

    /// Finish a registration with the credential from `navigator.credentials.create()` (webauthn-json or
    /// `toJSON()` shape); stores the passkey and returns a token. Public: the sealed challenge proves the
    /// ceremony. Errors: 400 with the failed check as `code` (e.g. `origin_not_allowed`, `challenge_expired`,
    /// `challenge_replayed`), 404 `tenant_not_found`, 409 `credential_exists`.
    #[oai(
        path = "/:tenant_id/credentials/register/finalize",
        method = "post",
        operation_id = "finalize_registration",
        tag = "PasskeyTags::Registration"
    )]
    async fn finalize_registration(
        &self,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<Value>,
    ) -> Result<Json<TokenDto>, ApiError> {
        self.register_final(req, &tenant_id, None, body.0, CeremonyKind::Registration)
            .await
    }

    /// Hanko-compatible alias of `finalize_registration`.
    #[oai(
        path = "/:tenant_id/registration/finalize",
        method = "post",
        operation_id = "finalize_registration_hanko",
        tag = "PasskeyTags::Registration"
    )]
    async fn finalize_registration_hanko(
        &self,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<Value>,
    ) -> Result<Json<TokenDto>, ApiError> {
        self.register_final(req, &tenant_id, None, body.0, CeremonyKind::Registration)
            .await
    }

    /// Start a login: an empty body (or `{}`) starts a discoverable login; `{"user_id"}` limits it to that user's
    /// passkeys and then needs the API key. Returns request options for `navigator.credentials.get()`.
    /// Errors: 400 `no_credentials`, 401 `missing_api_key` or `invalid_api_key`, 404 `tenant_not_found` or
    /// `user_not_found`.
    #[oai(
        path = "/:tenant_id/credentials/login/initialize",
        method = "post",
        operation_id = "initialize_login",
        tag = "PasskeyTags::Login"
    )]
    async fn initialize_login(
        &self,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<InitLoginDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        self.login_init(req, &tenant_id, Some(body.0)).await
    }

    /// Hanko-compatible alias of `initialize_login`.
    #[oai(
        path = "/:tenant_id/login/initialize",
        method = "post",
        operation_id = "initialize_login_hanko",
        tag = "PasskeyTags::Login"
    )]
    async fn initialize_login_hanko(
        &self,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<InitLoginDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        self.login_init(req, &tenant_id, Some(body.0)).await
    }

    /// Finish a login with the assertion from `navigator.credentials.get()`; returns a token. Public.
    /// Errors: 400 `challenge_*`, 401 with the failed check as `code` (e.g. `bad_signature`,
    /// `credential_not_found`, `sign_count_regressed`), 404 `tenant_not_found`.
    #[oai(
        path = "/:tenant_id/credentials/login/finalize",
        method = "post",
        operation_id = "finalize_login",
        tag = "PasskeyTags::Login"
    )]
    async fn finalize_login(
        &self,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<Value>,
    ) -> Result<Json<TokenDto>, ApiError> {
        self.login_final(req, &tenant_id, None, body.0, CeremonyKind::Login)
            .await
    }

    /// Hanko-compatible alias of `finalize_login`.
    #[oai(
        path = "/:tenant_id/login/finalize",
        method = "post",
        operation_id = "finalize_login_hanko",
        tag = "PasskeyTags::Login"
    )]
    async fn finalize_login_hanko(
        &self,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<Value>,
    ) -> Result<Json<TokenDto>, ApiError> {
        self.login_final(req, &tenant_id, None, body.0, CeremonyKind::Login)
            .await
    }

    /// Start registering a second-factor credential (security key) for a user who signed in another way, with
    /// the tenant's MFA profile. Needs the API key. Errors: 400, 401, 404.
    #[oai(
        path = "/:tenant_id/credentials/mfa/register/initialize",
        method = "post",
        operation_id = "initialize_mfa_registration",
        tag = "PasskeyTags::Mfa"
    )]
    async fn initialize_mfa_registration(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<InitRegistrationDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        self.register_init(req, &tenant_id, &key, body.0, CeremonyKind::MfaRegistration)
            .await
    }

    /// Hanko-compatible alias of `initialize_mfa_registration`.
    #[oai(
        path = "/:tenant_id/mfa/registration/initialize",
        method = "post",
        operation_id = "initialize_mfa_registration_hanko",
        tag = "PasskeyTags::Mfa"
    )]
    async fn initialize_mfa_registration_hanko(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<InitRegistrationDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        self.register_init(req, &tenant_id, &key, body.0, CeremonyKind::MfaRegistration)
            .await
    }

    /// Finish an MFA registration; the credential is marked as MFA and refused by passkey login. Needs the API
    /// key. Errors as `finalize_registration`, plus 401.
    #[oai(
        path = "/:tenant_id/credentials/mfa/register/finalize",
        method = "post",
        operation_id = "finalize_mfa_registration",
        tag = "PasskeyTags::Mfa"
    )]
    async fn finalize_mfa_registration(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<Value>,
    ) -> Result<Json<TokenDto>, ApiError> {
        self.register_final(
            req,
            &tenant_id,
            Some(&key),
            body.0,
            CeremonyKind::MfaRegistration,
        )
        .await
    }

    /// Hanko-compatible alias of `finalize_mfa_registration`.
    #[oai(
        path = "/:tenant_id/mfa/registration/finalize",
        method = "post",
        operation_id = "finalize_mfa_registration_hanko",
        tag = "PasskeyTags::Mfa"
    )]
    async fn finalize_mfa_registration_hanko(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<Value>,
    ) -> Result<Json<TokenDto>, ApiError> {
        self.register_final(
            req,
            &tenant_id,
            Some(&key),
            body.0,
            CeremonyKind::MfaRegistration,
        )
        .await
    }

    /// Start a step-up for `{"user_id"}` with any of the user's credentials. Needs the API key. Errors: 400
    /// (`user_id` missing, `no_credentials`), 401, 404 `user_not_found`.
    #[oai(
        path = "/:tenant_id/credentials/mfa/login/initialize",
        method = "post",
        operation_id = "initialize_mfa_login",
        tag = "PasskeyTags::Mfa"
    )]
    async fn initialize_mfa_login(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<InitLoginDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        self.mfa_login_init(req, &tenant_id, &key, body.0).await
    }

    /// Hanko-compatible alias of `initialize_mfa_login`.
    #[oai(
        path = "/:tenant_id/mfa/login/initialize",
        method = "post",
        operation_id = "initialize_mfa_login_hanko",
        tag = "PasskeyTags::Mfa"
    )]
    async fn initialize_mfa_login_hanko(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<InitLoginDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        self.mfa_login_init(req, &tenant_id, &key, body.0).await
    }

    /// Finish a step-up; the token has `acr: "step-up"`, `amr` with `mfa`, and `uv`. Needs the API key. Errors as
    /// `finalize_login`.
    #[oai(
        path = "/:tenant_id/credentials/mfa/login/finalize",
        method = "post",
        operation_id = "finalize_mfa_login",
        tag = "PasskeyTags::Mfa"
    )]
    async fn finalize_mfa_login(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<Value>,
    ) -> Result<Json<TokenDto>, ApiError> {
        self.login_final(req, &tenant_id, Some(&key), body.0, CeremonyKind::MfaLogin)
            .await
    }

    /// Hanko-compatible alias of `finalize_mfa_login`.
    #[oai(
        path = "/:tenant_id/mfa/login/finalize",
        method = "post",
        operation_id = "finalize_mfa_login_hanko",
        tag = "PasskeyTags::Mfa"
    )]
    async fn finalize_mfa_login_hanko(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<Value>,
    ) -> Result<Json<TokenDto>, ApiError> {
        self.login_final(req, &tenant_id, Some(&key), body.0, CeremonyKind::MfaLogin)
            .await
    }

    /// List credentials, of one user (`user_id`, the application's id) or of the whole tenant, oldest first
    /// unless `order=desc`, with `Link` and `X-Total-Count`. Needs the API key. Errors: 400, 401, 404.
    #[oai(
        path = "/:tenant_id/credentials",
        method = "get",
        operation_id = "list_credentials",
        tag = "PasskeyTags::Credentials"
    )]
    async fn list_credentials(
        &self,
        key: TenantKey,
        tenant_id: Path<String>,
        user_id: Query<Option<String>>,
        page: Query<Option<u64>>,
        per_page: Query<Option<u64>>,
        order: Query<Option<String>>,
    ) -> Result<CredentialPage, ApiError> {
        let tenant = parse_tenant_id(&tenant_id)?;
        self.tessera.tenant_config(tenant).await?;
        self.authorize(tenant, &key).await?;
        // Without paging parameters the whole list is returned (up to the maximum page size), as the SDK expects.
        let per_page = per_page.0.unwrap_or(PageRequest::MAX_PER_PAGE);
        let page = PageRequest::new(page.0.unwrap_or(1), per_page).ok_or_else(|| {
            ApiError::invalid(format!(
                "page must be at least 1 and per_page between 1 and {}",
                PageRequest::MAX_PER_PAGE
            ))
        })?;
        let direction = match order.0.as_deref() {
            None | Some("asc") => SortDirection::Asc,
            Some("desc") => SortDirection::Desc,
            Some(_) => return Err(ApiError::invalid("order must be one of 'asc desc'")),
        };
        let (result, owners) = self
            .tessera
            .list_credentials(tenant, user_id.0.as_deref(), page, direction)
            .await?;
        let owner = |pk: &str| {
            owners
                .iter()
                .find(|(p, _)| p == pk)
                .map(|(_, u)| u.clone())
                .unwrap_or_default()
        };
        Ok(CredentialPage::Ok(
            Json(
                result
                    .items
                    .iter()
                    .map(|c| credential_dto(c, owner(&c.user_pk)))
                    .collect(),
            ),
            link_header(&format!("/{tenant}/credentials"), page, result.total),
            result.total,
        ))
    }

    /// Get one credential. Needs the API key. Errors: 400, 401, 404 `credential_not_found`.
    #[oai(
        path = "/:tenant_id/credentials/:credential_id",
        method = "get",
        operation_id = "get_credential",
        tag = "PasskeyTags::Credentials"
    )]
    async fn get_credential(
        &self,
        key: TenantKey,
        tenant_id: Path<String>,
        credential_id: Path<String>,
    ) -> Result<Json<CredentialDto>, ApiError> {
        let tenant = parse_tenant_id(&tenant_id)?;
        self.tessera.tenant_config(tenant).await?;
        self.authorize(tenant, &key).await?;
        let (c, owner) = self.tessera.get_credential(tenant, &credential_id).await?;
        Ok(Json(credential_dto(&c, owner)))
    }

    /// Rename a credential; 204 with an empty body. Needs the API key. Errors: 400, 401, 404.
    #[oai(
        path = "/:tenant_id/credentials/:credential_id",
        method = "patch",
        operation_id = "update_credential",
        tag = "PasskeyTags::Credentials"
    )]
    async fn update_credential(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        credential_id: Path<String>,
        body: Json<UpdateCredentialDto>,
    ) -> Result<NoContent, ApiError> {
        let tenant = parse_tenant_id(&tenant_id)?;
        self.tessera.tenant_config(tenant).await?;
        self.authorize(tenant, &key).await?;
        self.tessera
            .rename_credential(tenant, &credential_id, &body.name, &request_meta(req))
            .await?;
        Ok(NoContent::NoContent)
    }

    /// Delete a credential; 204 with an empty body. Needs the API key. Errors: 400, 401, 404.
    #[oai(
        path = "/:tenant_id/credentials/:credential_id",
        method = "delete",
        operation_id = "delete_credential",
        tag = "PasskeyTags::Credentials"
    )]
    async fn delete_credential(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        credential_id: Path<String>,
    ) -> Result<NoContent, ApiError> {
        let tenant = parse_tenant_id(&tenant_id)?;
        self.tessera.tenant_config(tenant).await?;
        self.authorize(tenant, &key).await?;
        self.tessera
            .delete_credential(tenant, &credential_id, &request_meta(req))
            .await?;
        Ok(NoContent::NoContent)
    }

    /// The tenant's JSON Web Key Set: the active signing key and retired keys that may still verify a live
    /// token. Public; cacheable for 60 seconds. Errors: 400, 404 `tenant_not_found`.
    #[oai(
        path = "/:tenant_id/.well-known/jwks.json",
        method = "get",
        operation_id = "get_jwks",
        tag = "PasskeyTags::Tokens"
    )]
    async fn jwks(&self, tenant_id: Path<String>) -> Result<JwksResponse, ApiError> {
        let tenant = parse_tenant_id(&tenant_id)?;
        let jwks = self.tessera.jwks(tenant).await?;
        Ok(JwksResponse::Ok(Json(jwks), "public, max-age=60".into()))
    }
}
