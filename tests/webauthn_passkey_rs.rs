//! An independent client: 1Password's passkey-rs (`passkey-client` + `passkey-authenticator`) registers and
//! authenticates through `tessera::webauthn` with ES256 and EdDSA, discoverable and not. The options Tessera
//! builds are fed to the client as JSON, and the client's credentials come back as JSON, so the JSON shapes are
//! exercised too.

mod common;

use passkey_types::webauthn::{CredentialCreationOptions, CredentialRequestOptions};
use tessera::webauthn::attestation::AttestationPolicy;
use tessera::webauthn::authentication::{
    AuthenticationPolicy, SignCount, StoredCredential, verify_authentication,
};
use tessera::webauthn::cose::CoseAlgorithm;
use tessera::webauthn::json::{AuthenticationResponse, RegistrationResponse};
use tessera::webauthn::options::{
    CreationOptions, CreationSettings, CredentialDescriptor, RequestOptions, RpEntity, UserEntity,
    UserHandle,
};
use tessera::webauthn::registration::{RegistrationPolicy, verify_registration};
use tessera::webauthn::{RelyingParty, UserVerification};

const ORIGIN: &str = "https://login.example.com";

async fn ceremony(alg: CoseAlgorithm, discoverable: bool) {
    let mut client = common::passkey_rs::client();
    let origin = url::Url::parse(ORIGIN).expect("origin");
    let rp = RelyingParty::new("example.com", vec![ORIGIN.into()]);
    let handle = UserHandle::new(b"user-4711".to_vec()).expect("handle");

    // Registration.
    let challenge = [7u8; 32];
    let creation = CreationOptions::new(
        RpEntity {
            id: "example.com".into(),
            name: "Example".into(),
        },
        UserEntity::new(&handle, "alice@example.com", "Alice"),
        &challenge,
        CreationSettings {
            algorithms: &[alg],
            timeout_ms: 60_000,
            exclude: vec![],
            attachment: None,
            resident_key: if discoverable {
                "required"
            } else {
                "discouraged"
            },
            user_verification: UserVerification::Required,
            attestation: "none",
            hints: vec![],
        },
    );
    let request: CredentialCreationOptions =
        serde_json::from_value(serde_json::json!({ "publicKey": creation }))
            .expect("passkey-rs reads Tessera's creation options");
    let created = client
        .register(&origin, request, None)
        .await
        .expect("passkey-rs registers");
    let json = serde_json::to_vec(&created).expect("credential json");
    let response =
        RegistrationResponse::from_json(&json).expect("Tessera reads passkey-rs's credential");
    let registered = verify_registration(
        &response,
        &RegistrationPolicy {
            rp: &rp,
            challenge: &challenge,
            user_verification: UserVerification::Required,
            algorithms: &[alg],
            attestation: AttestationPolicy::default(),
        },
    )
    .expect("registration verifies");
    assert_eq!(registered.public_key.alg, alg);
    assert!(registered.flags.uv);

    // Authentication.
    let challenge = [9u8; 32];
    let allow = if discoverable {
        vec![]
    } else {
        vec![CredentialDescriptor::new(&registered.credential_id, vec![])]
    };
    let options = RequestOptions::new(
        "example.com",
        &challenge,
        60_000,
        allow,
        UserVerification::Required,
    );
    let request: CredentialRequestOptions =
        serde_json::from_value(serde_json::json!({ "publicKey": options }))
            .expect("passkey-rs reads Tessera's request options");
    let assertion = client
        .authenticate(&origin, request, None)
        .await
        .expect("passkey-rs authenticates");
    let json = serde_json::to_vec(&assertion).expect("assertion json");
    let response =
        AuthenticationResponse::from_json(&json).expect("Tessera reads passkey-rs's assertion");
    if discoverable {
        assert_eq!(
            response.user_handle.as_deref(),
            Some(handle.as_bytes()),
            "discoverable credentials return the user handle"
        );
    }
    let allow_ids = vec![registered.credential_id.clone()];
    let outcome = verify_authentication(
        &response,
        &StoredCredential {
            credential_id: &registered.credential_id,
            public_key: &registered.public_key,
            sign_count: registered.sign_count,
            backup_eligible: registered.flags.be,
            user_handle: handle.as_bytes(),
        },
        &AuthenticationPolicy {
            rp: &rp,
            challenge: &challenge,
            user_verification: UserVerification::Required,
            allow_credentials: if discoverable { None } else { Some(&allow_ids) },
        },
    )
    .expect("assertion verifies");
    assert!(outcome.flags.uv);
    assert!(matches!(
        outcome.counter,
        SignCount::NotSupported | SignCount::Increased
    ));

    // The same assertion under another challenge fails.
    let other = [10u8; 32];
    let err = verify_authentication(
        &response,
        &StoredCredential {
            credential_id: &registered.credential_id,
            public_key: &registered.public_key,
            sign_count: registered.sign_count,
            backup_eligible: registered.flags.be,
            user_handle: handle.as_bytes(),
        },
        &AuthenticationPolicy {
            rp: &rp,
            challenge: &other,
            user_verification: UserVerification::Required,
            allow_credentials: None,
        },
    );
    assert!(err.is_err());
}

#[tokio::test]
async fn passkey_rs_registers_and_logs_in_with_a_discoverable_es256_passkey() {
    ceremony(CoseAlgorithm::ES256, true).await;
}

#[tokio::test]
async fn passkey_rs_registers_and_logs_in_with_a_non_discoverable_es256_key() {
    ceremony(CoseAlgorithm::ES256, false).await;
}

#[tokio::test]
async fn passkey_rs_registers_and_logs_in_with_a_discoverable_ed25519_passkey() {
    ceremony(CoseAlgorithm::EdDSA, true).await;
}

#[tokio::test]
async fn passkey_rs_registers_and_logs_in_with_a_non_discoverable_ed25519_key() {
    ceremony(CoseAlgorithm::EdDSA, false).await;
}
