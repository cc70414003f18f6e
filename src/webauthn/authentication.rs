//! Authentication ceremony verification (section 7.2).

use super::auth_data::AuthenticatorData;
use super::client_data::{CeremonyType, ClientData};
use super::cose::CoseKey;
use super::json::AuthenticationResponse;
use super::{Flags, RelyingParty, UserVerification, WebauthnError, check_flags};

/// What the relying party expects of an assertion.
#[derive(Clone, Debug)]
pub struct AuthenticationPolicy<'a> {
    /// The relying party.
    pub rp: &'a RelyingParty,
    /// The challenge issued for this ceremony.
    pub challenge: &'a [u8],
    /// The user-verification requirement.
    pub user_verification: UserVerification,
    /// The credentials allowed; `None` for a discoverable (usernameless) ceremony.
    pub allow_credentials: Option<&'a [Vec<u8>]>,
}

/// The stored credential the assertion claims to come from.
#[derive(Clone, Debug)]
pub struct StoredCredential<'a> {
    /// Its id.
    pub credential_id: &'a [u8],
    /// Its public key.
    pub public_key: &'a CoseKey,
    /// The signature counter last seen.
    pub sign_count: u32,
    /// Backup eligibility recorded at registration.
    pub backup_eligible: bool,
    /// The user handle of its user.
    pub user_handle: &'a [u8],
}

/// The signature counter's verdict (section 7.2 step 21).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignCount {
    /// Both stored and received counters are zero: the authenticator does not count.
    NotSupported,
    /// The counter increased.
    Increased,
    /// The counter did not increase: a sign that the authenticator may have been cloned. Policy decides.
    Regressed {
        /// The stored value.
        stored: u32,
        /// The received value.
        received: u32,
    },
}

/// A verified assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthenticationOutcome {
    /// The received signature counter.
    pub sign_count: u32,
    /// The counter verdict.
    pub counter: SignCount,
    /// The flags.
    pub flags: Flags,
}

/// Verifies an assertion for `stored` against the policy.
pub fn verify_authentication(
    response: &AuthenticationResponse,
    stored: &StoredCredential<'_>,
    policy: &AuthenticationPolicy<'_>,
) -> Result<AuthenticationOutcome, WebauthnError> {
    use subtle::ConstantTimeEq;
    if response.credential_id != stored.credential_id {
        return Err(WebauthnError::CredentialIdMismatch);
    }
    // Step 5: the credential is allowed.
    if let Some(allowed) = policy.allow_credentials
        && !allowed
            .iter()
            .any(|id| id.as_slice() == stored.credential_id)
    {
        return Err(WebauthnError::CredentialNotAllowed);
    }
    // Step 6: the user handle.
    match (&response.user_handle, policy.allow_credentials) {
        (None, None) => return Err(WebauthnError::UserHandleMissing),
        (Some(handle), _) => {
            if handle.len() != stored.user_handle.len()
                || !bool::from(handle.ct_eq(stored.user_handle))
            {
                return Err(WebauthnError::UserHandleMismatch);
            }
        }
        (None, Some(_)) => {}
    }
    // Steps 10-14: client data.
    let client_data = ClientData::parse(&response.client_data_json)?;
    client_data.verify(CeremonyType::Get, policy.challenge, policy.rp)?;
    // Steps 15-19: authenticator data.
    let auth_data = AuthenticatorData::parse(&response.authenticator_data)?;
    auth_data.verify_rp_id(&policy.rp.id)?;
    check_flags(auth_data.flags, policy.user_verification)?;
    if auth_data.flags.be != stored.backup_eligible {
        return Err(WebauthnError::BackupEligibilityChanged);
    }
    // Step 20: the signature over authenticatorData || SHA-256(clientDataJSON).
    let mut signed = Vec::with_capacity(response.authenticator_data.len() + 32);
    signed.extend_from_slice(&response.authenticator_data);
    signed.extend_from_slice(&client_data.hash);
    stored.public_key.verify(&signed, &response.signature)?;
    // Step 21: the counter.
    let received = auth_data.sign_count;
    let counter = if received == 0 && stored.sign_count == 0 {
        SignCount::NotSupported
    } else if received > stored.sign_count {
        SignCount::Increased
    } else {
        SignCount::Regressed {
            stored: stored.sign_count,
            received,
        }
    };
    Ok(AuthenticationOutcome {
        sign_count: received,
        counter,
        flags: auth_data.flags,
    })
}
