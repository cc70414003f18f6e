//! Every W3C WebAuthn Level 3 test vector (§16) runs through `tessera::webauthn` with its expected result, plus
//! negative controls derived from them (one altered bit, a stricter policy).

use serde_json::Value;
use tessera::webauthn::attestation::{AttestationPolicy, AttestationType};
use tessera::webauthn::authentication::{
    AuthenticationPolicy, SignCount, StoredCredential, verify_authentication,
};
use tessera::webauthn::cose::{CoseAlgorithm, CoseKey, KeyMaterial};
use tessera::webauthn::json::{AuthenticationResponse, RegistrationResponse};
use tessera::webauthn::registration::{
    RegisteredCredential, RegistrationPolicy, verify_registration,
};
use tessera::webauthn::{RelyingParty, UserVerification, WebauthnError};

const ALL_ALGORITHMS: [CoseAlgorithm; 7] = [
    CoseAlgorithm::ES256,
    CoseAlgorithm::ES384,
    CoseAlgorithm::ES512,
    CoseAlgorithm::EdDSA,
    CoseAlgorithm::RS256,
    CoseAlgorithm::PS256,
    CoseAlgorithm::RS1,
];

fn vectors() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/w3c-webauthn-l3.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vector file")).expect("json")
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn rp_for(v: &Value) -> RelyingParty {
    let mut rp = RelyingParty::new(
        v["rp_id"].as_str().expect("rp"),
        vec![v["origin"].as_str().expect("origin").into()],
    );
    for req in v["rp_policy_requirements"].as_array().expect("array") {
        let req = req.as_str().expect("str");
        if req == "allow_cross_origin" {
            rp.allow_cross_origin = true;
        }
        if let Some(top) = req.strip_prefix("allow_top_origin:") {
            rp.allowed_top_origins.push(top.into());
        }
    }
    rp
}

fn attestation_policy(v: &Value) -> AttestationPolicy {
    let relaxed = v["rp_policy_requirements"]
        .as_array()
        .expect("array")
        .iter()
        .any(|r| r == "no_android_key_origin_purpose_check");
    AttestationPolicy {
        android_key_require_generated_sign_key: !relaxed,
    }
}

fn register(
    v: &Value,
    uv: UserVerification,
    policy: AttestationPolicy,
) -> Result<RegisteredCredential, WebauthnError> {
    let rp = rp_for(v);
    let response = RegistrationResponse {
        credential_id: hex(&v["credential"]["credential_id"]),
        client_data_json: hex(&v["spec_values"]["client_data_json"]),
        attestation_object: hex(&v["spec_values"]["attestation_object"]),
        transports: vec![],
        authenticator_attachment: None,
        cred_props_rk: None,
    };
    let challenge = hex(&v["spec_values"]["challenge"]);
    verify_registration(
        &response,
        &RegistrationPolicy {
            rp: &rp,
            challenge: &challenge,
            user_verification: uv,
            algorithms: &ALL_ALGORITHMS,
            attestation: policy,
        },
    )
}

fn attestation_type_name(t: AttestationType) -> &'static str {
    match t {
        AttestationType::None => "None",
        AttestationType::SelfAttestation => "Self",
        AttestationType::Basic => "Basic",
        AttestationType::AttCa => "AttCA",
        AttestationType::AnonCa => "AnonCA",
    }
}

/// The credential public key the vector says the registration must produce.
fn check_key(key: &CoseKey, expected: &Value) {
    assert_eq!(key.alg.id(), expected["alg"].as_i64().expect("alg"));
    match &key.material {
        KeyMaterial::Ec2 { x, y, .. } => {
            assert_eq!(x, &hex(&expected["x"]));
            assert_eq!(y, &hex(&expected["y"]));
        }
        KeyMaterial::Ed25519(x) => assert_eq!(x.to_vec(), hex(&expected["x"])),
        KeyMaterial::Rsa { n, e } => {
            assert_eq!(n, &hex(&expected["n"]));
            assert_eq!(e, &hex(&expected["e"]));
        }
    }
}

/// Ed448 (COSE -53) is not offered by Tessera; its credentials are refused at registration with a typed error.
fn is_ed448(v: &Value) -> bool {
    v["cose_alg"] == -53
}

#[test]
fn every_registration_vector_verifies_with_its_expected_result() {
    let all = vectors();
    let mut checked = 0;
    for v in all["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .chain(all["alternate_vectors"].as_array().expect("alt"))
    {
        if v["ceremony"] != "registration" {
            continue;
        }
        let id = v["id"].as_str().expect("id");
        let result = register(v, UserVerification::Preferred, attestation_policy(v));
        if is_ed448(v) {
            assert!(
                matches!(result, Err(WebauthnError::InvalidPublicKey(_))),
                "{id}: {result:?}"
            );
            checked += 1;
            continue;
        }
        let cred = result.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            cred.credential_id,
            hex(&v["credential"]["credential_id"]),
            "{id}"
        );
        assert_eq!(cred.aaguid.to_vec(), hex(&v["expected_aaguid"]), "{id}");
        assert_eq!(cred.sign_count, 0, "{id}");
        assert_eq!(
            cred.attestation.format,
            v["attestation_format"].as_str().expect("fmt"),
            "{id}"
        );
        let expected_types: Vec<&str> = v["expected_attestation_types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| t.as_str().expect("str"))
            .collect();
        assert!(
            expected_types.contains(&attestation_type_name(cred.attestation.kind)),
            "{id}: {:?}",
            cred.attestation.kind
        );
        if !v["trust_anchor_cert"].is_null() {
            assert!(
                !cred.attestation.x5c.is_empty(),
                "{id}: the chain is returned for policy"
            );
        }
        check_key(&cred.public_key, &v["credential"]["credential_public_key"]);
        checked += 1;
    }
    assert_eq!(checked, 16, "15 registrations and the alternate");
}

#[test]
fn every_authentication_vector_verifies_against_its_registration() {
    let all = vectors();
    let list = all["vectors"].as_array().expect("vectors");
    let mut checked = 0;
    for v in list.iter().filter(|v| v["ceremony"] == "authentication") {
        let id = v["id"].as_str().expect("id");
        let reg = list
            .iter()
            .find(|r| r["id"] == v["paired_vector"])
            .expect("paired registration");
        let registered = register(reg, UserVerification::Preferred, attestation_policy(reg));
        if is_ed448(v) {
            assert!(registered.is_err(), "{id}");
            checked += 1;
            continue;
        }
        let registered = registered.unwrap_or_else(|e| panic!("{id}: {e}"));
        let outcome = authenticate(v, &registered, |_| {}, UserVerification::Preferred)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            outcome.counter,
            SignCount::NotSupported,
            "{id}: zero and zero passes"
        );
        checked += 1;
    }
    assert_eq!(checked, 15);
}

fn authenticate(
    v: &Value,
    registered: &RegisteredCredential,
    tamper: impl FnOnce(&mut AuthenticationResponse),
    uv: UserVerification,
) -> Result<tessera::webauthn::authentication::AuthenticationOutcome, WebauthnError> {
    let rp = rp_for(v);
    let mut response = AuthenticationResponse {
        credential_id: hex(&v["credential"]["credential_id"]),
        client_data_json: hex(&v["spec_values"]["client_data_json"]),
        authenticator_data: hex(&v["spec_values"]["authenticator_data"]),
        signature: hex(&v["spec_values"]["signature"]),
        user_handle: None,
    };
    tamper(&mut response);
    let challenge = hex(&v["spec_values"]["challenge"]);
    let allow = vec![registered.credential_id.clone()];
    verify_authentication(
        &response,
        &StoredCredential {
            credential_id: &registered.credential_id,
            public_key: &registered.public_key,
            sign_count: 0,
            backup_eligible: registered.flags.be,
            user_handle: b"unused",
        },
        &AuthenticationPolicy {
            rp: &rp,
            challenge: &challenge,
            user_verification: uv,
            allow_credentials: Some(&allow),
        },
    )
}

#[test]
fn an_altered_bit_in_any_signed_input_fails_every_authentication_vector() {
    let all = vectors();
    let list = all["vectors"].as_array().expect("vectors");
    for v in list
        .iter()
        .filter(|v| v["ceremony"] == "authentication" && !is_ed448(v))
    {
        let id = v["id"].as_str().expect("id");
        let reg = list
            .iter()
            .find(|r| r["id"] == v["paired_vector"])
            .expect("paired registration");
        let registered =
            register(reg, UserVerification::Preferred, attestation_policy(reg)).expect("registers");
        let sig = authenticate(
            v,
            &registered,
            |r| *r.signature.last_mut().expect("sig") ^= 1,
            UserVerification::Preferred,
        );
        assert_eq!(
            sig.err(),
            Some(WebauthnError::BadSignature),
            "{id}: signature"
        );
        let counter = authenticate(
            v,
            &registered,
            |r| r.authenticator_data[36] ^= 1,
            UserVerification::Preferred,
        );
        assert_eq!(
            counter.err(),
            Some(WebauthnError::BadSignature),
            "{id}: counter"
        );
        let extra_data = authenticate(
            v,
            &registered,
            |r| {
                let text = String::from_utf8(r.client_data_json.clone()).expect("utf-8");
                r.client_data_json = text
                    .replacen("\"origin\"", "\"x\":1,\"origin\"", 1)
                    .into_bytes();
            },
            UserVerification::Preferred,
        );
        assert_eq!(
            extra_data.err(),
            Some(WebauthnError::BadSignature),
            "{id}: client data"
        );
    }
}

#[test]
fn required_user_verification_refuses_exactly_the_vectors_without_uv() {
    let all = vectors();
    let list = all["vectors"].as_array().expect("vectors");
    for v in list.iter().filter(|v| !is_ed448(v)) {
        let id = v["id"].as_str().expect("id");
        let uv = v["decoded"]["authenticator_data_fields"]["flags_bits"]["uv"]
            .as_bool()
            .expect("uv bit");
        let result = if v["ceremony"] == "registration" {
            register(v, UserVerification::Required, attestation_policy(v)).map(|_| ())
        } else {
            let reg = list
                .iter()
                .find(|r| r["id"] == v["paired_vector"])
                .expect("pair");
            let registered = register(reg, UserVerification::Preferred, attestation_policy(reg))
                .expect("registers");
            authenticate(v, &registered, |_| {}, UserVerification::Required).map(|_| ())
        };
        if uv {
            assert_eq!(result, Ok(()), "{id}");
        } else {
            assert_eq!(result, Err(WebauthnError::UserVerificationRequired), "{id}");
        }
    }
}

#[test]
fn the_android_key_vector_without_origin_and_purpose_fails_the_strict_check() {
    let all = vectors();
    let main = all["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .find(|v| v["id"] == "android-key.ES256/registration")
        .expect("vector");
    let strict = register(
        main,
        UserVerification::Preferred,
        AttestationPolicy::default(),
    );
    assert!(
        matches!(
            strict,
            Err(WebauthnError::InvalidAttestation {
                format: "android-key",
                ..
            })
        ),
        "{strict:?}"
    );
    let alternate = &all["alternate_vectors"][0];
    assert!(
        register(
            alternate,
            UserVerification::Preferred,
            AttestationPolicy::default()
        )
        .is_ok()
    );
}

#[test]
fn cross_origin_vectors_fail_without_the_policy_that_allows_them() {
    let all = vectors();
    let v = all["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .find(|v| v["id"] == "none.ES256.crossOrigin/registration")
        .expect("vector");
    let mut strict = v.clone();
    strict["rp_policy_requirements"] = serde_json::json!([]);
    assert_eq!(
        register(
            &strict,
            UserVerification::Preferred,
            AttestationPolicy::default()
        )
        .err(),
        Some(WebauthnError::CrossOriginNotAllowed)
    );
    let top = all["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .find(|v| v["id"] == "none.ES256.topOrigin/registration")
        .expect("vector");
    let mut no_top = top.clone();
    no_top["rp_policy_requirements"] = serde_json::json!(["allow_cross_origin"]);
    assert!(matches!(
        register(
            &no_top,
            UserVerification::Preferred,
            AttestationPolicy::default()
        ),
        Err(WebauthnError::TopOriginNotAllowed(_))
    ));
}
