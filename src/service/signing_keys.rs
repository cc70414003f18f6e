//! Token-signing keys: generated per tenant, encrypted at rest under a key derived from the server secret, rotated
//! through the admin API. A retired key stays published until no token it signed can still be live.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use super::audit::AuditSubject;
use super::{Error, RequestMeta, Result, Tessera};
use crate::clock::Millis;
use crate::model::{SigningKeyInfo, TenantConfig, TenantId, TokenAlgorithm};
use crate::repo;
use crate::repo::signing_keys::StoredKey;

/// The associated data binding an encrypted private key to its tenant and key id.
pub(crate) fn key_aad(tenant: TenantId, kid: &str) -> Vec<u8> {
    format!("signing_key:{tenant}:{kid}").into_bytes()
}

/// A new key pair: the PKCS#8 private key and the public JWK.
fn generate(algorithm: TokenAlgorithm, kid: &str) -> Result<(Vec<u8>, serde_json::Value)> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let internal =
        |e: aws_lc_rs::error::Unspecified| Error::Internal(format!("key generation: {e}"));
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    match algorithm {
        TokenAlgorithm::ES256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(internal)?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|e| Error::Internal(format!("key generation: {e}")))?;
            // Uncompressed SEC1 point: 0x04 || x || y.
            let point = pair.public_key().as_ref();
            let (x, y) = point.get(1..).unwrap_or_default().split_at(32);
            Ok((
                pkcs8.as_ref().to_vec(),
                json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": kid, "alg": "ES256", "use": "sig"}),
            ))
        }
        TokenAlgorithm::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(internal)?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                .map_err(|e| Error::Internal(format!("key generation: {e}")))?;
            Ok((
                pkcs8.as_ref().to_vec(),
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()), "kid": kid, "alg": "EdDSA", "use": "sig"}),
            ))
        }
        TokenAlgorithm::RS256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(internal)?;
            let der = pair.as_der().map_err(internal)?.as_ref().to_vec();
            let public = pair.public_key();
            Ok((
                der,
                json!({"kty": "RSA", "n": b64(public.modulus().big_endian_without_leading_zero()), "e": b64(public.exponent().big_endian_without_leading_zero()), "kid": kid, "alg": "RS256", "use": "sig"}),
            ))
        }
    }
}

impl Tessera {
    /// Generates an active key for `tenant`, encrypted for storage (not yet stored).
    pub(crate) fn new_signing_key(
        &self,
        tenant: TenantId,
        algorithm: TokenAlgorithm,
        now: Millis,
    ) -> Result<StoredKey> {
        let kid = uuid::Uuid::now_v7().to_string();
        let (pkcs8, jwk) = generate(algorithm, &kid)?;
        Ok(StoredKey {
            encrypted_private_key: self.keys.encrypt_at_rest(&key_aad(tenant, &kid), &pkcs8),
            info: SigningKeyInfo {
                id: kid,
                tenant_id: tenant,
                algorithm,
                public_jwk: jwk,
                active: true,
                created_at: now,
                retired_at: None,
            },
        })
    }

    /// Retires the active key and stores a new one, inside the caller's transaction.
    pub(crate) async fn rotate_signing_key_in<C: ConnectionTrait>(
        &self,
        db: &C,
        tenant: TenantId,
        algorithm: TokenAlgorithm,
        now: Millis,
    ) -> Result<SigningKeyInfo> {
        let key = self.new_signing_key(tenant, algorithm, now)?;
        repo::signing_keys::retire_active(db, tenant, now).await?;
        repo::signing_keys::insert(db, &key).await?;
        // Keys retired longer ago than any token can live verify nothing any more.
        let cutoff = now - i64::try_from(TenantConfig::MAX_TOKEN_LIFETIME_SECS * 1000).unwrap_or(0);
        repo::signing_keys::prune_retired(db, tenant, cutoff).await?;
        Ok(key.info)
    }

    /// Rotates a tenant's signing key: the new key signs from now on, the old one stays published.
    pub async fn rotate_signing_key(
        &self,
        tenant: TenantId,
        meta: &RequestMeta,
    ) -> Result<SigningKeyInfo> {
        let config = self.tenant_config(tenant).await?;
        let now = self.clock.now_ms();
        let txn = self.db.begin().await?;
        let info = self
            .rotate_signing_key_in(&txn, tenant, config.token_algorithm, now)
            .await?;
        txn.commit().await?;
        self.forget_keys(tenant).await;
        self.audit(
            tenant,
            "signing_key_rotated",
            None,
            meta,
            AuditSubject {
                details: Some(json!({"kid": info.id, "alg": info.algorithm.as_str()})),
                ..Default::default()
            },
        )
        .await;
        Ok(info)
    }

    /// A tenant's signing keys (public parts): the active one first, then the others newest first.
    pub async fn list_signing_keys(&self, tenant: TenantId) -> Result<Vec<SigningKeyInfo>> {
        self.require_tenant(tenant).await?;
        Ok(repo::signing_keys::list(&self.db, tenant)
            .await?
            .into_iter()
            .map(|k| k.info)
            .collect())
    }

    /// Decrypts a stored private key (PKCS#8 DER for every algorithm).
    pub fn decrypt_signing_key(&self, key: &StoredKey) -> Result<Vec<u8>> {
        self.keys
            .decrypt_at_rest(
                &key_aad(key.info.tenant_id, &key.info.id),
                &key.encrypted_private_key,
            )
            .map_err(|_| {
                Error::Internal(format!(
                    "signing key {} cannot be decrypted: was the server secret changed?",
                    key.info.id
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_publish_their_public_half_only() {
        for alg in [
            TokenAlgorithm::ES256,
            TokenAlgorithm::EdDSA,
            TokenAlgorithm::RS256,
        ] {
            let (private, jwk) = generate(alg, "kid-1").expect("generate");
            assert!(!private.is_empty());
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["kid"], "kid-1");
            assert!(jwk.get("d").is_none(), "no private parameter in {jwk}");
        }
    }
}
