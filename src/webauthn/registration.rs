//! Registration ceremony verification (section 7.1).

use super::attestation::{AttestationObject, AttestationPolicy, AttestationResult};
use super::auth_data::AuthenticatorData;
use super::client_data::{CeremonyType, ClientData};
use super::cose::{CoseAlgorithm, CoseKey};
use super::json::RegistrationResponse;
use super::{Flags, RelyingParty, UserVerification, WebauthnError, check_flags};

/// What the relying party expects of a registration.
#[derive(Clone, Debug)]
pub struct RegistrationPolicy<'a> {
    /// The relying party.
    pub rp: &'a RelyingParty,
    /// The challenge issued for this ceremony.
    pub challenge: &'a [u8],
    /// The user-verification requirement.
    pub user_verification: UserVerification,
    /// The algorithms offered in `pubKeyCredParams`.
    pub algorithms: &'a [CoseAlgorithm],
    /// Attestation checks.
    pub attestation: AttestationPolicy,
}

/// A verified new credential, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredCredential {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The public key, parsed.
    pub public_key: CoseKey,
    /// The public key as the authenticator encoded it (COSE, CBOR), for storage.
    pub public_key_cbor: Vec<u8>,
    /// The authenticator's AAGUID.
    pub aaguid: [u8; 16],
    /// The initial signature counter.
    pub sign_count: u32,
    /// The flags of the registration.
    pub flags: Flags,
    /// The attestation format, type and certificate chain.
    pub attestation: AttestationResult,
    /// Transports reported by the client.
    pub transports: Vec<String>,
    /// The authenticator attachment reported by the client.
    pub authenticator_attachment: Option<String>,
    /// Whether the client reported a discoverable credential (`credProps.rk`).
    pub discoverable: Option<bool>,
}

/// Verifies a registration response against the policy; on success the credential may be stored.
pub fn verify_registration(
    response: &RegistrationResponse,
    policy: &RegistrationPolicy<'_>,
) -> Result<RegisteredCredential, WebauthnError> {
    // Steps 5-11: client data.
    let client_data = ClientData::parse(&response.client_data_json)?;
    client_data.verify(CeremonyType::Create, policy.challenge, policy.rp)?;

    // Steps 12-13: attestation object and authenticator data.
    let object = AttestationObject::parse(&response.attestation_object)?;
    let auth_data = AuthenticatorData::parse(&object.auth_data_raw)?;
    auth_data.verify_rp_id(&policy.rp.id)?;
    // Steps 14-18: flags.
    check_flags(auth_data.flags, policy.user_verification)?;
    let credential = auth_data
        .attested_credential
        .as_ref()
        .ok_or(WebauthnError::MissingAttestedCredentialData)?;
    if credential.credential_id != response.credential_id {
        return Err(WebauthnError::CredentialIdMismatch);
    }
    // Step 20: the algorithm was offered.
    if !policy.algorithms.contains(&credential.public_key.alg) {
        return Err(WebauthnError::AlgorithmNotAllowed(
            credential.public_key.alg.id(),
        ));
    }
    // Steps 21-24: the attestation statement.
    let attestation =
        super::attestation::verify(&object, &auth_data, &client_data.hash, &policy.attestation)?;

    Ok(RegisteredCredential {
        credential_id: credential.credential_id.clone(),
        public_key: credential.public_key.clone(),
        public_key_cbor: credential.public_key_cbor.clone(),
        aaguid: credential.aaguid,
        sign_count: auth_data.sign_count,
        flags: auth_data.flags,
        attestation,
        transports: response.transports.clone(),
        authenticator_attachment: response.authenticator_attachment.clone(),
        discoverable: response.cred_props_rk,
    })
}
