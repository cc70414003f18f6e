//! Transaction signing: initialize with the transaction, finalize with the user's assertion, read the record and
//! its evidence. Every call needs the tenant API key.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};
use serde_json::Value;

use super::error::ApiError;
use super::passkeys::{PublicKeyOptionsDto, TenantKey, TokenDto};
use super::{parse_tenant_id, request_meta};
use crate::clock::rfc3339;
use crate::model::{TenantId, Transaction};
use crate::service::Tessera;
use crate::service::transactions::effective_status;
use crate::webauthn::b64;

#[derive(Tags)]
enum TransactionTags {
    /// Transaction signing.
    Transactions,
}

/// Body of transaction initialize.
#[derive(Object, Debug)]
#[oai(example)]
pub struct InitTransactionDto {
    /// The application's user id of the signer.
    pub user_id: String,
    /// The application's transaction id, unique per tenant (at most 128 bytes).
    pub transaction_id: String,
    /// Any JSON value describing the transaction; it is hashed in RFC 8785 canonical form.
    pub transaction_data: Value,
}

impl poem_openapi::types::Example for InitTransactionDto {
    fn example() -> Self {
        InitTransactionDto {
            user_id: "7f3c2a10-user".into(),
            transaction_id: "payment-2026-0042".into(),
            transaction_data: serde_json::json!({"amount": "100.00", "currency": "EUR", "to": "DE89370400440532013000"}),
        }
    }
}

/// The signing evidence of a signed transaction; all binary fields base64url.
#[derive(Object, Debug)]
pub struct EvidenceDto {
    /// The credential that signed.
    pub credential_id: String,
    /// The signed authenticator data.
    pub authenticator_data: String,
    /// The signed client data JSON (its challenge starts with the transaction hash).
    pub client_data_json: String,
    /// The signature over `authenticator_data || SHA-256(client_data_json)`.
    pub signature: String,
    /// The credential's COSE public key.
    pub public_key: String,
}

/// A transaction and, once signed, its evidence.
#[derive(Object, Debug)]
pub struct TransactionDto {
    /// The application's transaction id.
    pub transaction_id: String,
    /// Same as `transaction_id` (Hanko's name).
    pub identifier: String,
    /// The signer's application user id.
    pub user_id: String,
    /// `pending`, `signed`, `expired` or `failed`.
    pub status: String,
    /// The transaction data.
    pub data: Value,
    /// Hex SHA-256 of `JCS({"transaction_data": data, "transaction_id": id})`: the first 32 challenge bytes.
    pub hash: String,
    /// Creation time.
    pub created_at: String,
    /// When the signing challenge expires.
    pub expires_at: String,
    /// Signing time.
    #[oai(skip_serializing_if_is_none)]
    pub signed_at: Option<String>,
    /// The evidence, once signed.
    #[oai(skip_serializing_if_is_none)]
    pub evidence: Option<EvidenceDto>,
}

fn dto(t: &Transaction, user_id: String, now: i64) -> TransactionDto {
    let evidence = match (
        &t.credential_id,
        &t.authenticator_data,
        &t.client_data_json,
        &t.signature,
        &t.public_key,
    ) {
        (Some(c), Some(a), Some(d), Some(s), Some(k)) => Some(EvidenceDto {
            credential_id: c.clone(),
            authenticator_data: b64::encode(a),
            client_data_json: b64::encode(d),
            signature: b64::encode(s),
            public_key: b64::encode(k),
        }),
        _ => None,
    };
    TransactionDto {
        transaction_id: t.transaction_id.clone(),
        identifier: t.transaction_id.clone(),
        user_id,
        status: effective_status(t, now),
        data: serde_json::from_str(&t.data).unwrap_or(Value::Null),
        hash: t.hash.clone(),
        created_at: rfc3339(t.created_at),
        expires_at: rfc3339(t.expires_at),
        signed_at: t.signed_at.map(rfc3339),
        evidence,
    }
}

/// The transaction API.
pub struct TransactionApi {
    /// The services.
    pub tessera: Tessera,
}

impl TransactionApi {
    async fn authorize(&self, tenant: &str, key: &TenantKey) -> Result<TenantId, ApiError> {
        let tenant = parse_tenant_id(tenant)?;
        self.tessera.tenant_config(tenant).await?;
        self.tessera
            .authenticate_api_key(tenant, key.value())
            .await?;
        Ok(tenant)
    }

    async fn list(
        &self,
        tenant: TenantId,
        user: &str,
    ) -> Result<Json<Vec<TransactionDto>>, ApiError> {
        let (items, user_id) = self.tessera.list_transactions(tenant, user).await?;
        let now = self.tessera.clock.now_ms();
        Ok(Json(
            items.iter().map(|t| dto(t, user_id.clone(), now)).collect(),
        ))
    }
}

#[OpenApi]
impl TransactionApi {
    /// Start signing a transaction: stores it as pending and returns request options whose challenge starts
    /// with the transaction hash. Needs the API key. Errors: 400 `validation_failed` or `no_credentials` (the
    /// user has no passkey), 401, 404 `user_not_found`, 409 `transaction_exists`.
    #[oai(
        path = "/:tenant_id/transaction/initialize",
        method = "post",
        operation_id = "initialize_transaction",
        tag = "TransactionTags::Transactions"
    )]
    async fn initialize(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<InitTransactionDto>,
    ) -> Result<Json<PublicKeyOptionsDto>, ApiError> {
        let tenant = self.authorize(&tenant_id, &key).await?;
        let options = self
            .tessera
            .begin_transaction(
                tenant,
                &body.user_id,
                &body.transaction_id,
                &body.transaction_data,
                &request_meta(req),
            )
            .await?;
        Ok(Json(PublicKeyOptionsDto {
            public_key: serde_json::to_value(options).map_err(|e| ApiError::internal(&e))?,
        }))
    }

    /// Finish signing with the assertion; stores the evidence and returns a token with `trans` and
    /// `trans_hash`. A userHandle is not required. Needs the API key. Errors: 400 `challenge_*`, 401 with the
    /// failed check as `code` (`transaction_mismatch`, `bad_signature`, ...), 409 `transaction_closed`.
    #[oai(
        path = "/:tenant_id/transaction/finalize",
        method = "post",
        operation_id = "finalize_transaction",
        tag = "TransactionTags::Transactions"
    )]
    async fn finalize(
        &self,
        key: TenantKey,
        req: &Request,
        tenant_id: Path<String>,
        body: Json<Value>,
    ) -> Result<Json<TokenDto>, ApiError> {
        let tenant = self.authorize(&tenant_id, &key).await?;
        let done = self
            .tessera
            .finish_transaction(tenant, body.0, &request_meta(req))
            .await?;
        Ok(Json(TokenDto { token: done.token }))
    }

    /// Get a transaction with its status and evidence. Needs the API key. Errors: 400, 401, 404
    /// `transaction_not_found`.
    #[oai(
        path = "/:tenant_id/transactions/:transaction_id",
        method = "get",
        operation_id = "get_transaction",
        tag = "TransactionTags::Transactions"
    )]
    async fn get(
        &self,
        key: TenantKey,
        tenant_id: Path<String>,
        transaction_id: Path<String>,
    ) -> Result<Json<TransactionDto>, ApiError> {
        let tenant = self.authorize(&tenant_id, &key).await?;
        let (t, user_id) = self
            .tessera
            .get_transaction(tenant, &transaction_id)
            .await?;
        Ok(Json(dto(&t, user_id, self.tessera.clock.now_ms())))
    }

    /// List a user's transactions (`user_id`: the application's user id), newest first. Needs the API key.
    /// Errors: 400, 401, 404 `tenant_not_found`.
    #[oai(
        path = "/:tenant_id/transactions",
        method = "get",
        operation_id = "list_transactions",
        tag = "TransactionTags::Transactions"
    )]
    async fn list_for_user(
        &self,
        key: TenantKey,
        tenant_id: Path<String>,
        user_id: Query<String>,
    ) -> Result<Json<Vec<TransactionDto>>, ApiError> {
        let tenant = self.authorize(&tenant_id, &key).await?;
        self.list(tenant, &user_id).await
    }

    /// Hanko-compatible list of a user's transactions; the path takes the application's user id (or Tessera's
    /// internal id). Needs the API key.
    #[oai(
        path = "/:tenant_id/transaction/:user_id",
        method = "get",
        operation_id = "list_transactions_hanko",
        tag = "TransactionTags::Transactions"
    )]
    async fn list_hanko(
        &self,
        key: TenantKey,
        tenant_id: Path<String>,
        user_id: Path<String>,
    ) -> Result<Json<Vec<TransactionDto>>, ApiError> {
        let tenant = self.authorize(&tenant_id, &key).await?;
        self.list(tenant, &user_id).await
    }
}
