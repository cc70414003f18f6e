//! Transaction signing: the user's passkey signs one specific transaction.
//!
//! The challenge is `SHA-256(JCS({"transaction_data": data, "transaction_id": id})) || sealed state`, so the signed
//! client data commits to the transaction: anyone holding the assertion and the transaction can check the binding
//! without Tessera (RFC 8785 canonical JSON, then SHA-256, then the WebAuthn signature over
//! `authenticatorData || SHA-256(clientDataJSON)`). Initialize stores the pending transaction; finalize stores
//! the evidence and marks it signed, once.

use sea_orm::TransactionTrait;
use serde_json::{Value, json};

use super::audit::AuditSubject;
use super::ceremony::{
    CeremonyKind, CeremonyState, ChallengeError, challenge_digest, policy_digest,
};
use super::passkeys::{CResult, CeremonyError, Finished, uv, verify_stored};
use super::{Error, RequestMeta, Tessera};
use crate::model::{TenantId, Transaction, jcs};
use crate::repo;
use crate::webauthn::authentication::SignCount;
use crate::webauthn::b64;
use crate::webauthn::client_data::ClientData;
use crate::webauthn::json::AuthenticationResponse;
use crate::webauthn::options::{CredentialDescriptor, RequestOptions};

/// The longest transaction id.
pub const MAX_TRANSACTION_ID_LEN: usize = 128;
/// The largest canonical transaction data.
pub const MAX_TRANSACTION_DATA_LEN: usize = 16 * 1024;

/// The transaction hash and the canonical data; `None` when the data has a number JSON cannot carry exactly.
pub fn transaction_hash(transaction_id: &str, data: &Value) -> Option<([u8; 32], String)> {
    let canonical_data = jcs::canonicalize(data)?;
    let binding =
        jcs::canonicalize(&json!({"transaction_data": data, "transaction_id": transaction_id}))?;
    Some((super::crypto::sha256(binding.as_bytes()), canonical_data))
}

/// The status a reader sees: a pending transaction past its expiry is `expired`.
pub fn effective_status(t: &Transaction, now: i64) -> String {
    if t.status == "pending" && now >= t.expires_at {
        "expired".into()
    } else {
        t.status.clone()
    }
}

impl Tessera {
    /// Starts signing a transaction: stores it as pending and returns request options for the user's passkeys.
    pub async fn begin_transaction(
        &self,
        tenant: TenantId,
        user_id: &str,
        transaction_id: &str,
        data: &Value,
        meta: &RequestMeta,
    ) -> CResult<RequestOptions> {
        let result = self
            .begin_transaction_inner(tenant, user_id, transaction_id, data)
            .await;
        let subject = AuditSubject {
            user_id: Some(user_id.to_string()),
            transaction_id: Some(
                transaction_id
                    .chars()
                    .take(MAX_TRANSACTION_ID_LEN)
                    .collect(),
            ),
            ..Default::default()
        };
        self.audit_step(
            tenant,
            CeremonyKind::Transaction,
            "init",
            result.as_ref().map(|_| ()),
            meta,
            subject,
        )
        .await;
        result
    }

    async fn begin_transaction_inner(
        &self,
        tenant: TenantId,
        user_id: &str,
        transaction_id: &str,
        data: &Value,
    ) -> CResult<RequestOptions> {
        let mut errors = Vec::new();
        if transaction_id.is_empty() || transaction_id.len() > MAX_TRANSACTION_ID_LEN {
            errors.push(format!(
                "transaction_id: must be 1 to {MAX_TRANSACTION_ID_LEN} bytes"
            ));
        }
        if data.is_null() {
            errors.push("transaction_data: is required".to_string());
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors).into());
        }
        let (hash, canonical) = transaction_hash(transaction_id, data).ok_or_else(|| {
            Error::Invalid(vec!["transaction_data: numbers must be finite".into()])
        })?;
        if canonical.len() > MAX_TRANSACTION_DATA_LEN {
            return Err(Error::Invalid(vec![format!(
                "transaction_data: at most {MAX_TRANSACTION_DATA_LEN} bytes"
            )])
            .into());
        }
        let config = self.tenant_config(tenant).await?;
        let creds = self.credentials_of_user_id(tenant, user_id).await?;
        let allow: Vec<CredentialDescriptor> = creds
            .iter()
            .filter(|c| !c.is_mfa)
            .filter_map(|c| {
                b64::decode(&c.credential_id)
                    .map(|id| CredentialDescriptor::new(&id, c.transports.clone()))
            })
            .collect();
        // Every credential names its owner, so the user's row id comes with them.
        let user_pk = match creds.first() {
            Some(c) if !allow.is_empty() => c.user_pk.clone(),
            _ => return Err(CeremonyError::NoCredentials),
        };
        let now = self.clock.now_ms();
        let expires_at = now + i64::try_from(config.timeout_ms).unwrap_or(i64::MAX);
        let record = Transaction {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant,
            transaction_id: transaction_id.to_string(),
            user_pk,
            status: "pending".into(),
            data: canonical,
            hash: hex::encode(hash),
            created_at: now,
            expires_at,
            signed_at: None,
            credential_id: None,
            authenticator_data: None,
            client_data_json: None,
            signature: None,
            public_key: None,
        };
        repo::transactions::insert(&self.db, &record)
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    CeremonyError::TransactionExists
                } else {
                    Error::from(e).into()
                }
            })?;
        let user_verification = config.policy.transaction_user_verification;
        let state = CeremonyState {
            kind: CeremonyKind::Transaction,
            user_id: Some(user_id.to_string()),
            username: None,
            display_name: None,
            icon: None,
            transaction: Some(transaction_id.to_string()),
            expires_at,
            user_verification,
            policy: policy_digest(&config),
        };
        let challenge = self.seal_challenge(tenant, &state, &hash);
        Ok(RequestOptions::new(
            &config.rp_id,
            &challenge,
            config.timeout_ms,
            allow,
            uv(user_verification),
        ))
    }

    /// Finishes signing a transaction: verifies the assertion and its binding, stores the evidence, returns a
    /// token with `trans` and `trans_hash`.
    pub async fn finish_transaction(
        &self,
        tenant: TenantId,
        credential: Value,
        meta: &RequestMeta,
    ) -> CResult<Finished> {
        let mut subject = AuditSubject::default();
        let result = self
            .finish_transaction_inner(tenant, credential, &mut subject)
            .await;
        self.audit_step(
            tenant,
            CeremonyKind::Transaction,
            "final",
            result.as_ref().map(|_| ()),
            meta,
            subject,
        )
        .await;
        result
    }

    async fn finish_transaction_inner(
        &self,
        tenant: TenantId,
        credential: Value,
        subject: &mut AuditSubject,
    ) -> CResult<Finished> {
        let response =
            AuthenticationResponse::from_value(credential).map_err(CeremonyError::Assertion)?;
        let credential_id = b64::encode(&response.credential_id);
        subject.credential_id = Some(credential_id.clone());
        let client_data =
            ClientData::parse(&response.client_data_json).map_err(CeremonyError::Assertion)?;
        let config = self.tenant_config(tenant).await?;
        let state = self.open_challenge(
            tenant,
            &client_data.challenge,
            32,
            &[CeremonyKind::Transaction],
            &config,
        )?;
        if repo::challenges::is_consumed(&self.db, &challenge_digest(&client_data.challenge))
            .await
            .map_err(Error::from)?
        {
            return Err(ChallengeError::Replayed.into());
        }
        subject.user_id = state.user_id.clone();
        let transaction_id = state.transaction.clone().ok_or(ChallengeError::Unknown)?;
        subject.transaction_id = Some(transaction_id.clone());
        let mut record = repo::transactions::find(&self.db, tenant, &transaction_id)
            .await
            .map_err(Error::from)?
            .ok_or(ChallengeError::Unknown)?;
        match record.status.as_str() {
            "pending" => {}
            "signed" => return Err(ChallengeError::Replayed.into()),
            other => return Err(CeremonyError::TransactionClosed(other.to_string())),
        }
        // The binding: what the challenge commits to must be what is stored, recomputed from the stored data.
        let stored_data: Value = serde_json::from_str(&record.data)
            .map_err(|e| Error::Internal(format!("stored transaction data: {e}")))?;
        let (hash, _) = transaction_hash(&record.transaction_id, &stored_data)
            .ok_or(CeremonyError::TransactionMismatch)?;
        if client_data.challenge[..32] != hash || hex::encode(hash) != record.hash {
            return Err(CeremonyError::TransactionMismatch);
        }

        let (stored, user) = repo::credentials::find_with_owner(&self.db, tenant, &credential_id)
            .await
            .map_err(Error::from)?
            .ok_or(CeremonyError::CredentialNotFound)?;
        if stored.user_pk != record.user_pk {
            return Err(CeremonyError::UserMismatch);
        }
        if stored.is_mfa {
            return Err(CeremonyError::WrongCredentialKind(
                "MFA credentials are not usable for transactions",
            ));
        }
        // Non-discoverable: authenticators that omit userHandle (U2F keys, hybrid) are accepted.
        let verified = verify_stored(
            &config,
            &response,
            &client_data.challenge,
            &stored,
            &user,
            state.user_verification,
            true,
        );
        let outcome = match verified {
            Ok(o) => o,
            Err(e @ CeremonyError::Assertion(_)) => {
                // An authentic challenge with a failing assertion ends the transaction.
                repo::transactions::conclude(&self.db, &record, "failed")
                    .await
                    .map_err(Error::from)?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if matches!(outcome.counter, SignCount::Regressed { .. })
            && !config.policy.allow_counter_regression
        {
            repo::transactions::conclude(&self.db, &record, "failed")
                .await
                .map_err(Error::from)?;
            return Err(CeremonyError::CounterRegressed);
        }

        let now = self.clock.now_ms();
        record.signed_at = Some(now);
        record.credential_id = Some(credential_id.clone());
        record.authenticator_data = Some(response.authenticator_data.clone());
        record.client_data_json = Some(response.client_data_json.clone());
        record.signature = Some(response.signature.clone());
        record.public_key = Some(stored.public_key.clone());
        let txn = self.db.begin().await.map_err(Error::from)?;
        if !repo::challenges::consume(
            &txn,
            tenant,
            &challenge_digest(&client_data.challenge),
            state.expires_at,
        )
        .await
        .map_err(Error::from)?
            || !repo::transactions::conclude(&txn, &record, "signed")
                .await
                .map_err(Error::from)?
        {
            return Err(ChallengeError::Replayed.into());
        }
        repo::credentials::record_use(
            &txn,
            tenant,
            &stored.id,
            stored.sign_count.max(outcome.sign_count),
            outcome.flags.bs,
            outcome.flags.uv,
            now,
        )
        .await
        .map_err(Error::from)?;
        txn.commit().await.map_err(Error::from)?;

        let mut claims = self.claims(
            tenant,
            &config,
            &user.user_id,
            &credential_id,
            outcome.flags.uv,
            CeremonyKind::Transaction,
        );
        claims.trans = Some(transaction_id);
        claims.trans_hash = Some(b64::encode(&hash));
        let token = self.sign_token(tenant, &claims).await?;
        Ok(Finished { token, claims })
    }

    /// A transaction with the application user id of its signer.
    pub async fn get_transaction(
        &self,
        tenant: TenantId,
        transaction_id: &str,
    ) -> Result<(Transaction, String), Error> {
        self.require_tenant(tenant).await?;
        let t = repo::transactions::find(&self.db, tenant, transaction_id)
            .await?
            .ok_or(Error::NotFound("transaction"))?;
        let user_id = repo::users::get(&self.db, tenant, &t.user_pk)
            .await?
            .map(|u| u.user_id)
            .unwrap_or_default();
        Ok((t, user_id))
    }

    /// A user's transactions (by the application's user id, or Tessera's internal id), newest first.
    pub async fn list_transactions(
        &self,
        tenant: TenantId,
        user: &str,
    ) -> Result<(Vec<Transaction>, String), Error> {
        self.require_tenant(tenant).await?;
        let Some(u) = repo::users::find(&self.db, tenant, user).await? else {
            return Ok((Vec::new(), user.to_string()));
        };
        Ok((
            repo::transactions::for_user(&self.db, tenant, &u.id).await?,
            u.user_id,
        ))
    }
}
