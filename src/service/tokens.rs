//! Signed tokens and the JWKS. A tenant's active signing key is decrypted once and cached (with its JWKS) for
//! the cache lifetime; rotation on this replica invalidates the cache at once, other replicas see it within the
//! lifetime. Tokens are compact JWS signed with aws-lc-rs: ES256 (fixed-size r||s), EdDSA, or RS256.

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::{Error, Result, Tessera};
use crate::model::{TenantId, TokenAlgorithm};
use crate::repo;

enum KeyPair {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(aws_lc_rs::rsa::KeyPair),
}

/// A tenant's decrypted active key and its published JWKS.
pub struct TenantKeys {
    kid: String,
    /// base64url of the JOSE header.
    header: String,
    key: KeyPair,
    /// The JWKS document.
    pub jwks: serde_json::Value,
    /// Verifiers for every published key, by kid.
    verifiers: Vec<(String, Verifier)>,
}

/// A published public key, ready to check a token's signature.
enum Verifier {
    Ec(Vec<u8>),
    Ed(Vec<u8>),
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl Verifier {
    /// The verifier for a published JWK, if it is one Tessera publishes.
    fn from_jwk(jwk: &serde_json::Value) -> Option<(String, Verifier)> {
        let field = |name: &str| {
            jwk.get(name)
                .and_then(|v| v.as_str())
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        };
        let kid = jwk.get("kid")?.as_str()?.to_string();
        let verifier = match jwk.get("kty")?.as_str()? {
            "EC" => {
                let mut point = vec![4];
                point.extend(field("x")?);
                point.extend(field("y")?);
                Verifier::Ec(point)
            }
            "OKP" => Verifier::Ed(field("x")?),
            "RSA" => Verifier::Rsa {
                n: field("n")?,
                e: field("e")?,
            },
            _ => return None,
        };
        Some((kid, verifier))
    }

    fn verify(&self, alg: &str, message: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
            UnparsedPublicKey,
        };
        match (self, alg) {
            (Verifier::Ec(point), "ES256") => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            (Verifier::Ed(key), "EdDSA") => UnparsedPublicKey::new(&ED25519, key)
                .verify(message, signature)
                .is_ok(),
            (Verifier::Rsa { n, e }, "RS256") => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            _ => false,
        }
    }
}

/// Claims of every token Tessera issues.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The application's user id.
    pub sub: String,
    /// Audience: the RP id.
    pub aud: Vec<String>,
    /// Issuer: `{public_url}/{tenant_id}`.
    pub iss: String,
    /// Issued at (seconds).
    pub iat: i64,
    /// Expiry (seconds).
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// The credential used (base64url).
    pub cred: String,
    /// The tenant id.
    pub tid: String,
    /// Authentication methods (RFC 8176): `pop` (proof of possession of a key), plus `mfa` when the user was
    /// verified (possession and biometrics or PIN).
    pub amr: Vec<String>,
    /// Whether the authenticator verified the user.
    pub uv: bool,
    /// The transaction id (transaction tokens only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trans: Option<String>,
    /// The transaction hash, base64url (transaction tokens only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trans_hash: Option<String>,
    /// Authentication context: `passkey` (first-factor login or registration), `step-up` (a second factor on top
    /// of the application's own login), or `transaction` (a signed transaction).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub acr: Option<String>,
}

impl Tessera {
    /// The token issuer of a tenant.
    pub fn issuer(&self, tenant: TenantId) -> String {
        format!("{}/{tenant}", self.public_url)
    }

    /// The tenant's keys, loaded and decrypted once per cache lifetime.
    pub async fn tenant_keys(&self, tenant: TenantId) -> Result<Arc<TenantKeys>> {
        let this = self.clone();
        self.signers
            .try_get_with(
                tenant,
                async move { this.load_keys(tenant).await.map(Arc::new) },
            )
            .await
            .map_err(|e: Arc<Error>| match &*e {
                Error::NotFound(what) => Error::NotFound(what),
                other => Error::Internal(other.to_string()),
            })
    }

    /// Forgets a tenant's cached keys (after a rotation or a configuration change).
    pub async fn forget_keys(&self, tenant: TenantId) {
        self.signers.invalidate(&tenant).await;
    }

    async fn load_keys(&self, tenant: TenantId) -> Result<TenantKeys> {
        let config = self.tenant_config(tenant).await?;
        let keys = repo::signing_keys::list(&self.db, tenant).await?;
        let active = keys
            .iter()
            .find(|k| k.info.active)
            .ok_or_else(|| Error::Internal(format!("tenant {tenant} has no active signing key")))?;
        let pkcs8 = self.decrypt_signing_key(active)?;
        let bad = |e: aws_lc_rs::error::KeyRejected| {
            Error::Internal(format!("signing key rejected: {e}"))
        };
        let key = match active.info.algorithm {
            TokenAlgorithm::ES256 => KeyPair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).map_err(bad)?,
            ),
            TokenAlgorithm::EdDSA => KeyPair::Ed(Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(bad)?),
            TokenAlgorithm::RS256 => {
                KeyPair::Rsa(aws_lc_rs::rsa::KeyPair::from_pkcs8(&pkcs8).map_err(bad)?)
            }
        };
        // A retired key stays published while a token it signed may still be live.
        let now = self.clock.now_ms();
        let lifetime_ms =
            i64::try_from(config.token_lifetime_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let published: Vec<serde_json::Value> = keys
            .iter()
            .filter(|k| {
                k.info.active
                    || k.info
                        .retired_at
                        .is_some_and(|r| r.saturating_add(lifetime_ms) > now)
            })
            .map(|k| k.info.public_jwk.clone())
            .collect();
        let verifiers = published.iter().filter_map(Verifier::from_jwk).collect();
        let header = serde_json::json!({"alg": active.info.algorithm.as_str(), "kid": active.info.id, "typ": "JWT"});
        Ok(TenantKeys {
            kid: active.info.id.clone(),
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            key,
            jwks: serde_json::json!({ "keys": published }),
            verifiers,
        })
    }

    /// Signs `claims` with the tenant's active key.
    pub async fn sign_token(&self, tenant: TenantId, claims: &Claims) -> Result<String> {
        let keys = self.tenant_keys(tenant).await?;
        let payload = serde_json::to_vec(claims).map_err(|e| Error::Internal(e.to_string()))?;
        let mut token = String::with_capacity(keys.header.len() + payload.len() * 4 / 3 + 100);
        token.push_str(&keys.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let rng = SystemRandom::new();
        let sign_err = |_| Error::Internal(format!("signing with key {} failed", keys.kid));
        let signature = match &keys.key {
            KeyPair::Ec(k) => k
                .sign(&rng, token.as_bytes())
                .map_err(sign_err)?
                .as_ref()
                .to_vec(),
            KeyPair::Ed(k) => k.sign(token.as_bytes()).as_ref().to_vec(),
            KeyPair::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, token.as_bytes(), &mut sig)
                    .map_err(sign_err)?;
                sig
            }
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// The tenant's JWKS: the active key and retired keys that may still verify a live token.
    pub async fn jwks(&self, tenant: TenantId) -> Result<serde_json::Value> {
        Ok(self.tenant_keys(tenant).await?.jwks.clone())
    }

    /// Checks a token this tenant issued: signature by a published key, tenant and expiry. Returns its claims;
    /// `Error::InvalidToken` for anything else, without saying which check failed.
    pub async fn verify_token(&self, tenant: TenantId, token: &str) -> Result<Claims> {
        let bad = || Error::InvalidToken;
        let keys = self.tenant_keys(tenant).await?;
        let (signed, signature) = token.rsplit_once('.').ok_or_else(bad)?;
        let (header, payload) = signed.split_once('.').ok_or_else(bad)?;
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| bad());
        let header: serde_json::Value =
            serde_json::from_slice(&decode(header)?).map_err(|_| bad())?;
        let kid = header.get("kid").and_then(|v| v.as_str()).ok_or_else(bad)?;
        let alg = header.get("alg").and_then(|v| v.as_str()).ok_or_else(bad)?;
        let (_, verifier) = keys
            .verifiers
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or_else(bad)?;
        if !verifier.verify(alg, signed.as_bytes(), &decode(signature)?) {
            return Err(bad());
        }
        let claims: Claims = serde_json::from_slice(&decode(payload)?).map_err(|_| bad())?;
        let now = self.clock.now_ms() / 1000;
        if claims.tid != tenant.to_string() || claims.exp <= now {
            return Err(bad());
        }
        Ok(claims)
    }
}
