//! Bulk seeding for scale measurements: fills a tenant with users, one passkey each, straight into the
//! database in batched transactions. The seeded credentials are real ES256 public keys (one key pair shared by
//! all, since nobody signs with them) under random credential ids, and row ids are made as registrations make them
//! (random for users, time-ordered for credentials), so that lookups, indexes and row sizes are what registrations
//! would have made.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use sea_orm::TransactionTrait;

use super::{Error, Result, Tessera};
use crate::model::{Credential, TenantId, User};
use crate::repo;
use crate::webauthn::b64;

/// Rows per insert statement and per transaction.
const BATCH: usize = 500;

impl Tessera {
    /// Adds `count` users with one passkey each to `tenant`, `progress` called after each batch with the number
    /// stored so far. User ids are `{prefix}{n}`.
    pub async fn seed_credentials(
        &self,
        tenant: TenantId,
        count: usize,
        prefix: &str,
        mut progress: impl FnMut(usize),
    ) -> Result<usize> {
        self.require_tenant(tenant).await?;
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| Error::Internal("key generation failed".into()))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .map_err(|_| Error::Internal("key generation failed".into()))?;
        let point = key.public_key().as_ref();
        let cose = cose_es256(point)?;
        let now = self.clock.now_ms();
        let mut stored = 0;
        while stored < count {
            let n = BATCH.min(count - stored);
            let mut users = Vec::with_capacity(n);
            let mut credentials = Vec::with_capacity(n);
            for i in stored..stored + n {
                let user_pk = uuid::Uuid::new_v4().to_string();
                let user_id = format!("{prefix}{i}");
                credentials.push(Credential {
                    id: uuid::Uuid::now_v7().to_string(),
                    tenant_id: tenant,
                    user_pk: user_pk.clone(),
                    credential_id: b64::encode(&super::crypto::random_bytes::<32>()),
                    public_key: cose.clone(),
                    algorithm: -7,
                    sign_count: 0,
                    aaguid: "00000000-0000-0000-0000-000000000000".into(),
                    transports: vec!["internal".into()],
                    attestation_format: "none".into(),
                    backup_eligible: false,
                    backup_state: false,
                    user_verified: true,
                    is_mfa: false,
                    name: None,
                    created_at: now,
                    last_used_at: None,
                });
                users.push(User {
                    id: user_pk,
                    tenant_id: tenant,
                    name: user_id.clone(),
                    display_name: user_id.clone(),
                    user_id,
                    icon: None,
                    created_at: now,
                    updated_at: now,
                });
            }
            let txn = self.db.begin().await?;
            repo::users::insert_many(&txn, &users).await?;
            repo::credentials::insert_many(&txn, &credentials).await?;
            txn.commit().await?;
            stored += n;
            progress(stored);
        }
        Ok(stored)
    }
}

/// The COSE_Key of an uncompressed P-256 point.
fn cose_es256(point: &[u8]) -> Result<Vec<u8>> {
    use ciborium::Value as Cbor;
    let (x, y) = point
        .get(1..33)
        .zip(point.get(33..65))
        .ok_or_else(|| Error::Internal("unexpected public key size".into()))?;
    let i = |n: i64| Cbor::Integer(n.into());
    let key = Cbor::Map(vec![
        (i(1), i(2)),
        (i(3), i(-7)),
        (i(-1), i(1)),
        (i(-2), Cbor::Bytes(x.to_vec())),
        (i(-3), Cbor::Bytes(y.to_vec())),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&key, &mut out).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(out)
}
