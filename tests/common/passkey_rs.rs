//! 1Password's passkey-rs as an independent WebAuthn client: an authenticator holding one passkey (found with or
//! without an allow list, as a discoverable credential should be) and a user who always consents and verifies.

#![allow(dead_code)]

use passkey_authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey_client::Client;
use passkey_types::Passkey;
use passkey_types::ctap2::{Aaguid, Ctap2Error};

/// A user who is always present and verified.
pub struct Consenting;

#[async_trait::async_trait]
impl UserValidationMethod for Consenting {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Self::PasskeyItem>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

/// The client type.
pub type PasskeyClient = Client<
    Option<Passkey>,
    Consenting,
    passkey_crypto::AvailableBackend,
    public_suffix::PublicSuffixList,
    (),
>;

/// A client whose authenticator holds no passkey yet.
pub fn client() -> PasskeyClient {
    Client::new(Authenticator::new(
        Aaguid::new_empty(),
        None::<Passkey>,
        Consenting,
        passkey_crypto::AvailableBackend,
    ))
    .allows_insecure_localhost(true)
}
