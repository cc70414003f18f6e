//! Stateless ceremonies: the state of a ceremony (tenant, kind, user, expiry, policy digest) is sealed into its
//! challenge with AES-256-GCM under a key derived from the server secret, with the tenant id as associated data.
//! `initialize` writes nothing; `finalize` opens the challenge found in `clientDataJSON`, and single use is
//! enforced by recording the consumed challenge until it expires. Any replica can finish what another began.

use serde::{Deserialize, Serialize};

use super::Tessera;
use super::crypto::sha256;
use crate::clock::Millis;
use crate::model::{TenantConfig, TenantId, UserVerification};

/// What a ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CeremonyKind {
    /// Passkey registration.
    Registration,
    /// Passkey login (discoverable or user-bound).
    Login,
    /// Second-factor registration.
    MfaRegistration,
    /// Second-factor login.
    MfaLogin,
    /// Transaction signing.
    Transaction,
}

impl CeremonyKind {
    /// The audit-log prefix of this kind (Hanko's names).
    pub fn audit_prefix(self) -> &'static str {
        match self {
            CeremonyKind::Registration => "webauthn_registration",
            CeremonyKind::Login => "webauthn_authentication",
            CeremonyKind::MfaRegistration => "mfa_registration",
            CeremonyKind::MfaLogin => "mfa_authentication",
            CeremonyKind::Transaction => "webauthn_transaction",
        }
    }

    /// The short name of this kind in metrics.
    pub fn name(self) -> &'static str {
        match self {
            CeremonyKind::Registration => "registration",
            CeremonyKind::Login => "login",
            CeremonyKind::MfaRegistration => "mfa_registration",
            CeremonyKind::MfaLogin => "mfa_login",
            CeremonyKind::Transaction => "transaction",
        }
    }
}

/// The state sealed into a challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonyState {
    /// Kind.
    #[serde(rename = "k")]
    pub kind: CeremonyKind,
    /// The application's user id, for registration and user-bound ceremonies.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// User name (registration).
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Display name (registration).
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Icon (registration).
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// The transaction's internal id (transactions).
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// Expiry, Unix milliseconds.
    #[serde(rename = "e")]
    pub expires_at: Millis,
    /// User verification requirement in force.
    #[serde(rename = "v")]
    pub user_verification: UserVerification,
    /// Digest of the tenant settings the ceremony was started under.
    #[serde(rename = "p", with = "serde_bytes_array")]
    pub policy: [u8; 8],
}

mod serde_bytes_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 8], D::Error> {
        let v: ciborium::Value = Deserialize::deserialize(d)?;
        match v {
            ciborium::Value::Bytes(b) => b
                .try_into()
                .map_err(|_| serde::de::Error::custom("policy digest length")),
            _ => Err(serde::de::Error::custom("policy digest type")),
        }
    }
}

/// Why a challenge cannot finish a ceremony.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// Not issued by this deployment for this tenant, or altered.
    #[error("the challenge was not issued for this tenant")]
    Unknown,
    /// Issued for another kind of ceremony.
    #[error("the challenge belongs to another kind of ceremony")]
    WrongKind,
    /// Past its expiry.
    #[error("the challenge has expired; start the ceremony again")]
    Expired,
    /// The tenant's settings changed since the ceremony began.
    #[error("the tenant's configuration changed since the ceremony began; start again")]
    PolicyChanged,
    /// Already used to finish a ceremony.
    #[error("the challenge was already used")]
    Replayed,
}

impl ChallengeError {
    /// A stable code.
    pub fn code(self) -> &'static str {
        match self {
            ChallengeError::Unknown => "challenge_invalid",
            ChallengeError::WrongKind => "challenge_wrong_ceremony",
            ChallengeError::Expired => "challenge_expired",
            ChallengeError::PolicyChanged => "challenge_outdated",
            ChallengeError::Replayed => "challenge_replayed",
        }
    }
}

fn aad(tenant: TenantId) -> Vec<u8> {
    format!("tessera/challenge/{tenant}").into_bytes()
}

/// The digest of the settings a ceremony depends on.
pub fn policy_digest(config: &TenantConfig) -> [u8; 8] {
    let doc = format!(
        "{}\n{}\n{}",
        config.rp_id,
        config.origins.join(" "),
        config.timeout_ms
    );
    let d = sha256(doc.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// The hex SHA-256 of a challenge, as recorded when it is consumed.
pub fn challenge_digest(challenge: &[u8]) -> String {
    hex::encode(sha256(challenge))
}

impl Tessera {
    /// Seals ceremony state into a challenge for `tenant`; `prefix` (transactions) is prepended.
    pub fn seal_challenge(
        &self,
        tenant: TenantId,
        state: &CeremonyState,
        prefix: &[u8],
    ) -> Vec<u8> {
        let mut plain = Vec::with_capacity(96);
        // Serialising a plain struct to CBOR in memory cannot fail.
        let _ = ciborium::into_writer(state, &mut plain);
        let sealed = self.keys.seal_ceremony(&aad(tenant), &plain);
        let mut out = Vec::with_capacity(prefix.len() + sealed.len());
        out.extend_from_slice(prefix);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a challenge for `tenant` and checks its kind, expiry and policy digest. `prefix_len` bytes (the
    /// transaction hash) precede the sealed state.
    pub fn open_challenge(
        &self,
        tenant: TenantId,
        challenge: &[u8],
        prefix_len: usize,
        kinds: &[CeremonyKind],
        config: &TenantConfig,
    ) -> Result<CeremonyState, ChallengeError> {
        if challenge.len() > 2048 || challenge.len() < prefix_len {
            return Err(ChallengeError::Unknown);
        }
        let plain = self
            .keys
            .open_ceremony(&aad(tenant), &challenge[prefix_len..])
            .map_err(|_| ChallengeError::Unknown)?;
        let state: CeremonyState =
            ciborium::from_reader(plain.as_slice()).map_err(|_| ChallengeError::Unknown)?;
        if !kinds.contains(&state.kind) {
            return Err(ChallengeError::WrongKind);
        }
        if self.clock.now_ms() >= state.expires_at {
            return Err(ChallengeError::Expired);
        }
        if state.policy != policy_digest(config) {
            return Err(ChallengeError::PolicyChanged);
        }
        Ok(state)
    }
}
