//! Fuzzes every WebAuthn parser and the verification procedures on arbitrary input: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::webauthn::attestation::{self, AttestationObject, AttestationPolicy};
use tessera::webauthn::auth_data::AuthenticatorData;
use tessera::webauthn::authentication::{AuthenticationPolicy, StoredCredential, verify_authentication};
use tessera::webauthn::client_data::{CeremonyType, ClientData};
use tessera::webauthn::cose::CoseKey;
use tessera::webauthn::json::{AuthenticationResponse, RegistrationResponse};
use tessera::webauthn::registration::{RegistrationPolicy, verify_registration};
use tessera::webauthn::{RelyingParty, UserVerification};

fuzz_target!(|data: &[u8]| {
    let rp = RelyingParty::new("example.com", vec!["https://example.com".into()]);
    let _ = CoseKey::from_cbor(data);
    if let Ok(cd) = ClientData::parse(data) {
        let _ = cd.verify(CeremonyType::Get, b"challenge", &rp);
    }
    if let Ok(ad) = AuthenticatorData::parse(data) {
        let _ = ad.verify_rp_id("example.com");
    }
    if let Ok(object) = AttestationObject::parse(data) {
        if let Ok(ad) = AuthenticatorData::parse(&object.auth_data_raw) {
            let _ = attestation::verify(&object, &ad, &[0; 32], &AttestationPolicy::default());
        }
    }
    if let Ok(reg) = RegistrationResponse::from_json(data) {
        let _ = verify_registration(
            &reg,
            &RegistrationPolicy {
                rp: &rp,
                challenge: b"challenge",
                user_verification: UserVerification::Preferred,
                algorithms: &tessera::webauthn::options::DEFAULT_ALGORITHMS,
                attestation: AttestationPolicy::default(),
            },
        );
    }
    if let Ok(auth) = AuthenticationResponse::from_json(data) {
        // A fixed P-256 key (the W3C vector none.ES256) to reach the signature check.
        let key_cbor = [
            0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20, 0xaf, 0xef, 0xa1, 0x6f, 0x97, 0xca, 0x9b, 0x2d,
            0x23, 0xeb, 0x86, 0xcc, 0xb6, 0x40, 0x98, 0xd2, 0x0d, 0xb9, 0x08, 0x56, 0x06, 0x2e, 0xb2, 0x49, 0xc3, 0x3a,
            0x9b, 0x67, 0x2f, 0x26, 0xdf, 0x61, 0x22, 0x58, 0x20, 0x93, 0x0a, 0x56, 0xb8, 0x7a, 0x2f, 0xca, 0x66, 0x33,
            0x4b, 0x03, 0x45, 0x8a, 0xbf, 0x87, 0x97, 0x17, 0xc1, 0x2c, 0xc6, 0x8e, 0xd7, 0x32, 0x90, 0xaf, 0x2e, 0x26,
            0x64, 0x79, 0x6b, 0x92, 0x20,
        ];
        if let Ok(key) = CoseKey::from_cbor(&key_cbor) {
            let id = auth.credential_id.clone();
            let _ = verify_authentication(
                &auth,
                &StoredCredential {
                    credential_id: &id,
                    public_key: &key,
                    sign_count: 0,
                    backup_eligible: false,
                    user_handle: b"user",
                },
                &AuthenticationPolicy {
                    rp: &rp,
                    challenge: b"challenge",
                    user_verification: UserVerification::Preferred,
                    allow_credentials: None,
                },
            );
        }
    }
});
