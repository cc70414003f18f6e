//! WebAuthn verification costs per algorithm, on the W3C Level 3 test vectors: a registration (`none` and
//! `packed` attestation) and an assertion. Run with `cargo bench --bench webauthn`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use tessera::webauthn::attestation::AttestationPolicy;
use tessera::webauthn::authentication::{
    AuthenticationPolicy, StoredCredential, verify_authentication,
};
use tessera::webauthn::cose::CoseAlgorithm;
use tessera::webauthn::json::{AuthenticationResponse, RegistrationResponse};
use tessera::webauthn::registration::{RegistrationPolicy, verify_registration};
use tessera::webauthn::{RelyingParty, UserVerification};

const ALGS: [CoseAlgorithm; 6] = [
    CoseAlgorithm::ES256,
    CoseAlgorithm::ES384,
    CoseAlgorithm::ES512,
    CoseAlgorithm::EdDSA,
    CoseAlgorithm::RS256,
    CoseAlgorithm::PS256,
];

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_default()).unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/w3c-webauthn-l3.json"
    );
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_default();
    let empty = Vec::new();
    let list = all["vectors"].as_array().unwrap_or(&empty);
    let rp = RelyingParty::new("example.org", vec!["https://example.org".into()]);
    for (name, id) in [
        ("none/ES256", "none.ES256"),
        ("packed-self/ES256", "packed-self.ES256"),
        ("packed-x5c/ES256", "packed.ES256"),
        ("packed-x5c/ES384", "packed.ES384"),
        ("packed-x5c/ES512", "packed.ES512"),
        ("packed-x5c/EdDSA", "packed.EdDSA"),
        ("packed-x5c/RS256", "packed.RS256"),
    ] {
        let Some(reg) = list
            .iter()
            .find(|v| v["id"] == format!("{id}/registration"))
        else {
            continue;
        };
        let Some(auth) = list
            .iter()
            .find(|v| v["id"] == format!("{id}/authentication"))
        else {
            continue;
        };
        let response = RegistrationResponse {
            credential_id: hex(&reg["credential"]["credential_id"]),
            client_data_json: hex(&reg["spec_values"]["client_data_json"]),
            attestation_object: hex(&reg["spec_values"]["attestation_object"]),
            transports: vec![],
            authenticator_attachment: None,
            cred_props_rk: None,
        };
        let reg_challenge = hex(&reg["spec_values"]["challenge"]);
        let policy = RegistrationPolicy {
            rp: &rp,
            challenge: &reg_challenge,
            user_verification: UserVerification::Preferred,
            algorithms: &ALGS,
            attestation: AttestationPolicy::default(),
        };
        let Ok(registered) = verify_registration(&response, &policy) else {
            continue;
        };
        c.bench_function(&format!("register/{name}"), |b| {
            b.iter(|| verify_registration(black_box(&response), &policy))
        });

        let assertion = AuthenticationResponse {
            credential_id: registered.credential_id.clone(),
            client_data_json: hex(&auth["spec_values"]["client_data_json"]),
            authenticator_data: hex(&auth["spec_values"]["authenticator_data"]),
            signature: hex(&auth["spec_values"]["signature"]),
            user_handle: None,
        };
        let challenge = hex(&auth["spec_values"]["challenge"]);
        let allow = vec![registered.credential_id.clone()];
        let stored = StoredCredential {
            credential_id: &registered.credential_id,
            public_key: &registered.public_key,
            sign_count: 0,
            backup_eligible: registered.flags.be,
            user_handle: b"",
        };
        let policy = AuthenticationPolicy {
            rp: &rp,
            challenge: &challenge,
            user_verification: UserVerification::Preferred,
            allow_credentials: Some(&allow),
        };
        if verify_authentication(&assertion, &stored, &policy).is_err() {
            continue;
        }
        let alg = name.rsplit('/').next().unwrap_or(name);
        if name.starts_with("packed-x5c") || name == "none/ES256" {
            c.bench_function(&format!("assert/{alg}"), |b| {
                b.iter(|| verify_authentication(black_box(&assertion), &stored, &policy))
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
