//! One negative test per verification check, driven by the hand-written test authenticator, plus the happy paths
//! for every algorithm and attestation format it can produce.

mod common;

use common::authenticator::{Alg, Attestation, TestAuthenticator, Tweaks};
use serde_json::Value;
use tessera::webauthn::attestation::{AttestationPolicy, AttestationType};
use tessera::webauthn::authentication::{
    AuthenticationOutcome, AuthenticationPolicy, SignCount, StoredCredential, verify_authentication,
};
use tessera::webauthn::cose::CoseAlgorithm;
use tessera::webauthn::json::{AuthenticationResponse, RegistrationResponse};
use tessera::webauthn::options::{
    CreationOptions, CreationSettings, CredentialDescriptor, DEFAULT_ALGORITHMS, RequestOptions,
    RpEntity, UserEntity, UserHandle,
};
use tessera::webauthn::registration::{
    RegisteredCredential, RegistrationPolicy, verify_registration,
};
use tessera::webauthn::{RelyingParty, UserVerification, WebauthnError};

const ORIGIN: &str = "https://example.com";
const CHALLENGE: [u8; 32] = [42; 32];

fn rp() -> RelyingParty {
    RelyingParty::new("example.com", vec![ORIGIN.into()])
}

fn creation_options() -> Value {
    let handle = UserHandle::new(b"user-1".to_vec()).expect("handle");
    serde_json::to_value(CreationOptions::new(
        RpEntity {
            id: "example.com".into(),
            name: "Example".into(),
        },
        UserEntity::new(&handle, "alice", "Alice"),
        &CHALLENGE,
        CreationSettings {
            algorithms: &DEFAULT_ALGORITHMS,
            timeout_ms: 60_000,
            exclude: vec![],
            attachment: None,
            resident_key: "required",
            user_verification: UserVerification::Preferred,
            attestation: "direct",
            hints: vec![],
        },
    ))
    .expect("json")
}

fn register_with(
    auth: &mut TestAuthenticator,
    tweaks: &Tweaks,
    uv: UserVerification,
    algorithms: &[CoseAlgorithm],
) -> Result<RegisteredCredential, WebauthnError> {
    let json = auth.create_with(&creation_options(), ORIGIN, tweaks);
    let response = RegistrationResponse::from_value(json)?;
    verify_registration(
        &response,
        &RegistrationPolicy {
            rp: &rp(),
            challenge: &CHALLENGE,
            user_verification: uv,
            algorithms,
            attestation: AttestationPolicy::default(),
        },
    )
}

fn register(
    auth: &mut TestAuthenticator,
    tweaks: &Tweaks,
) -> Result<RegisteredCredential, WebauthnError> {
    register_with(
        auth,
        tweaks,
        UserVerification::Preferred,
        &DEFAULT_ALGORITHMS,
    )
}

fn request_options(allow: &[Vec<u8>]) -> Value {
    serde_json::to_value(RequestOptions::new(
        "example.com",
        &CHALLENGE,
        60_000,
        allow
            .iter()
            .map(|id| CredentialDescriptor::new(id, vec![]))
            .collect(),
        UserVerification::Preferred,
    ))
    .expect("json")
}

struct Login<'a> {
    registered: &'a RegisteredCredential,
    stored_count: u32,
    allow: Option<Vec<Vec<u8>>>,
    uv: UserVerification,
    user_handle: Vec<u8>,
}

impl<'a> Login<'a> {
    fn new(registered: &'a RegisteredCredential) -> Self {
        Login {
            registered,
            stored_count: 0,
            allow: Some(vec![registered.credential_id.clone()]),
            uv: UserVerification::Preferred,
            user_handle: b"user-1".to_vec(),
        }
    }

    fn run(
        &self,
        auth: &mut TestAuthenticator,
        tweaks: &Tweaks,
    ) -> Result<AuthenticationOutcome, WebauthnError> {
        let options = request_options(self.allow.as_deref().unwrap_or(&[]));
        let json = auth.get_with(&options, ORIGIN, tweaks);
        let response = AuthenticationResponse::from_value(json)?;
        verify_authentication(
            &response,
            &StoredCredential {
                credential_id: &self.registered.credential_id,
                public_key: &self.registered.public_key,
                sign_count: self.stored_count,
                backup_eligible: self.registered.flags.be,
                user_handle: &self.user_handle,
            },
            &AuthenticationPolicy {
                rp: &rp(),
                challenge: &CHALLENGE,
                user_verification: self.uv,
                allow_credentials: self.allow.as_deref(),
            },
        )
    }
}

#[test]
fn every_algorithm_registers_and_logs_in() {
    for alg in [Alg::ES256, Alg::ES384, Alg::EdDSA, Alg::RS256] {
        let mut auth = TestAuthenticator {
            alg,
            ..TestAuthenticator::new()
        };
        let reg =
            register(&mut auth, &Tweaks::default()).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(reg.public_key.alg.id(), alg.id());
        let outcome = Login::new(&reg)
            .run(&mut auth, &Tweaks::default())
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(outcome.counter, SignCount::Increased);
        assert_eq!(outcome.sign_count, 1);
    }
}

#[test]
fn every_attestation_format_of_the_test_authenticator_verifies() {
    for (attestation, kind) in [
        (Attestation::None, AttestationType::None),
        (Attestation::PackedSelf, AttestationType::SelfAttestation),
        (Attestation::PackedX5c, AttestationType::Basic),
        (Attestation::FidoU2f, AttestationType::Basic),
    ] {
        let mut auth = TestAuthenticator {
            attestation,
            ..TestAuthenticator::new()
        };
        let reg = register(&mut auth, &Tweaks::default())
            .unwrap_or_else(|e| panic!("{attestation:?}: {e}"));
        assert_eq!(reg.attestation.kind, kind, "{attestation:?}");
        // Tampered attestation signatures fail.
        let mut auth = TestAuthenticator {
            attestation,
            ..TestAuthenticator::new()
        };
        if attestation != Attestation::None {
            let err = register(
                &mut auth,
                &Tweaks {
                    corrupt_signature: true,
                    ..Default::default()
                },
            )
            .expect_err("tampered");
            assert!(
                matches!(err, WebauthnError::InvalidAttestation { .. }),
                "{attestation:?}: {err:?}"
            );
        }
    }
}

#[test]
fn registration_refuses_a_wrong_origin() {
    let t = Tweaks {
        origin: Some("https://evil.example".into()),
        ..Default::default()
    };
    assert!(matches!(
        register(&mut TestAuthenticator::new(), &t),
        Err(WebauthnError::OriginNotAllowed(_))
    ));
}

#[test]
fn registration_refuses_a_wrong_rp_id_hash() {
    let t = Tweaks {
        rp_id: Some("evil.example".into()),
        ..Default::default()
    };
    assert_eq!(
        register(&mut TestAuthenticator::new(), &t).err(),
        Some(WebauthnError::RpIdHashMismatch)
    );
}

#[test]
fn registration_refuses_the_wrong_client_data_type() {
    let t = Tweaks {
        client_data_type: Some("webauthn.get".into()),
        ..Default::default()
    };
    assert!(matches!(
        register(&mut TestAuthenticator::new(), &t),
        Err(WebauthnError::WrongClientDataType { .. })
    ));
}

#[test]
fn registration_refuses_a_mismatched_challenge() {
    let t = Tweaks {
        challenge: Some(vec![1; 32]),
        ..Default::default()
    };
    assert_eq!(
        register(&mut TestAuthenticator::new(), &t).err(),
        Some(WebauthnError::ChallengeMismatch)
    );
}

#[test]
fn registration_refuses_missing_uv_when_required_and_missing_up_always() {
    let mut auth = TestAuthenticator {
        uv: false,
        ..TestAuthenticator::new()
    };
    let err = register_with(
        &mut auth,
        &Tweaks::default(),
        UserVerification::Required,
        &DEFAULT_ALGORITHMS,
    );
    assert_eq!(err.err(), Some(WebauthnError::UserVerificationRequired));
    assert!(
        register(&mut auth, &Tweaks::default()).is_ok(),
        "UV preferred accepts UV=0"
    );
    let mut auth = TestAuthenticator {
        up: false,
        ..TestAuthenticator::new()
    };
    assert_eq!(
        register(&mut auth, &Tweaks::default()).err(),
        Some(WebauthnError::UserNotPresent)
    );
}

#[test]
fn registration_refuses_backup_state_without_eligibility() {
    let mut auth = TestAuthenticator {
        be: false,
        bs: true,
        ..TestAuthenticator::new()
    };
    assert_eq!(
        register(&mut auth, &Tweaks::default()).err(),
        Some(WebauthnError::BackupStateWithoutEligibility)
    );
}

#[test]
fn registration_refuses_an_algorithm_that_was_not_offered() {
    let mut auth = TestAuthenticator {
        alg: Alg::RS256,
        ..TestAuthenticator::new()
    };
    let err = register_with(
        &mut auth,
        &Tweaks::default(),
        UserVerification::Preferred,
        &[CoseAlgorithm::ES256],
    );
    assert_eq!(err.err(), Some(WebauthnError::AlgorithmNotAllowed(-257)));
}

#[test]
fn registration_refuses_trailing_and_truncated_cbor() {
    let t = Tweaks {
        trailing_bytes: true,
        ..Default::default()
    };
    assert_eq!(
        register(&mut TestAuthenticator::new(), &t).err(),
        Some(WebauthnError::TrailingBytes("attestationObject"))
    );
    let t = Tweaks {
        truncate: true,
        ..Default::default()
    };
    assert!(matches!(
        register(&mut TestAuthenticator::new(), &t),
        Err(WebauthnError::InvalidCbor(_))
    ));
}

#[test]
fn registration_refuses_oversized_inputs() {
    let t = Tweaks {
        client_data_padding: 10_000,
        ..Default::default()
    };
    assert!(matches!(
        register(&mut TestAuthenticator::new(), &t),
        Err(WebauthnError::TooLarge(_))
    ));
}

#[test]
fn registration_refuses_a_cross_origin_ceremony() {
    let t = Tweaks {
        cross_origin: Some(true),
        ..Default::default()
    };
    assert_eq!(
        register(&mut TestAuthenticator::new(), &t).err(),
        Some(WebauthnError::CrossOriginNotAllowed)
    );
}

fn registered(auth: &mut TestAuthenticator) -> RegisteredCredential {
    register(auth, &Tweaks::default()).expect("registers")
}

/// A predicate on the expected error.
type ErrorCheck = fn(&WebauthnError) -> bool;

#[test]
fn login_refuses_a_wrong_origin_rp_id_type_and_challenge() {
    let mut auth = TestAuthenticator::new();
    let reg = registered(&mut auth);
    let login = Login::new(&reg);
    let cases: [(Tweaks, ErrorCheck); 4] = [
        (
            Tweaks {
                origin: Some("https://evil.example".into()),
                ..Default::default()
            },
            |e| matches!(e, WebauthnError::OriginNotAllowed(_)),
        ),
        (
            Tweaks {
                rp_id: Some("evil.example".into()),
                ..Default::default()
            },
            |e| *e == WebauthnError::RpIdHashMismatch,
        ),
        (
            Tweaks {
                client_data_type: Some("webauthn.create".into()),
                ..Default::default()
            },
            |e| matches!(e, WebauthnError::WrongClientDataType { .. }),
        ),
        (
            Tweaks {
                challenge: Some(vec![0; 32]),
                ..Default::default()
            },
            |e| *e == WebauthnError::ChallengeMismatch,
        ),
    ];
    for (t, expected) in cases {
        let err = login.run(&mut auth, &t).expect_err("refused");
        assert!(expected(&err), "{t:?}: {err:?}");
    }
}

#[test]
fn login_refuses_a_bad_signature() {
    let mut auth = TestAuthenticator::new();
    let reg = registered(&mut auth);
    let t = Tweaks {
        corrupt_signature: true,
        ..Default::default()
    };
    assert_eq!(
        Login::new(&reg).run(&mut auth, &t).err(),
        Some(WebauthnError::BadSignature)
    );
}

#[test]
fn login_refuses_missing_uv_when_required() {
    let mut auth = TestAuthenticator::new();
    let reg = registered(&mut auth);
    auth.uv = false;
    let mut login = Login::new(&reg);
    login.uv = UserVerification::Required;
    assert_eq!(
        login.run(&mut auth, &Tweaks::default()).err(),
        Some(WebauthnError::UserVerificationRequired)
    );
}

#[test]
fn login_reports_a_counter_regression_as_a_possible_clone() {
    let mut auth = TestAuthenticator::new();
    let reg = registered(&mut auth);
    let mut login = Login::new(&reg);
    login.stored_count = 10;
    let outcome = login
        .run(
            &mut auth,
            &Tweaks {
                sign_count: Some(5),
                ..Default::default()
            },
        )
        .expect("verifies");
    assert_eq!(
        outcome.counter,
        SignCount::Regressed {
            stored: 10,
            received: 5
        }
    );
    let equal = login
        .run(
            &mut auth,
            &Tweaks {
                sign_count: Some(10),
                ..Default::default()
            },
        )
        .expect("verifies");
    assert_eq!(
        equal.counter,
        SignCount::Regressed {
            stored: 10,
            received: 10
        },
        "equal is not an increase"
    );
    // An authenticator that never counts passes (zero and zero).
    let mut still = TestAuthenticator {
        counter_step: 0,
        ..TestAuthenticator::new()
    };
    let reg = registered(&mut still);
    assert_eq!(
        Login::new(&reg)
            .run(&mut still, &Tweaks::default())
            .expect("verifies")
            .counter,
        SignCount::NotSupported
    );
}

#[test]
fn login_refuses_a_backup_eligibility_flip() {
    let mut auth = TestAuthenticator::new();
    let reg = registered(&mut auth);
    auth.be = false;
    auth.bs = false;
    assert_eq!(
        Login::new(&reg).run(&mut auth, &Tweaks::default()).err(),
        Some(WebauthnError::BackupEligibilityChanged)
    );
    // Backup state may change while eligibility stays.
    auth.be = true;
    assert!(Login::new(&reg).run(&mut auth, &Tweaks::default()).is_ok());
}

#[test]
fn login_refuses_trailing_and_truncated_authenticator_data() {
    let mut auth = TestAuthenticator::new();
    let reg = registered(&mut auth);
    let t = Tweaks {
        trailing_bytes: true,
        ..Default::default()
    };
    assert_eq!(
        Login::new(&reg).run(&mut auth, &t).err(),
        Some(WebauthnError::TrailingBytes("authenticator data"))
    );
    let t = Tweaks {
        truncate: true,
        ..Default::default()
    };
    assert!(matches!(
        Login::new(&reg).run(&mut auth, &t),
        Err(WebauthnError::InvalidAuthenticatorData(_))
    ));
}

#[test]
fn login_refuses_a_credential_that_is_not_allowed() {
    let mut auth = TestAuthenticator::new();
    let reg = registered(&mut auth);
    let mut login = Login::new(&reg);
    login.allow = Some(vec![vec![1, 2, 3]]);
    let options = request_options(&[vec![1, 2, 3]]);
    let json = auth.assert_with(0, &options, ORIGIN, &Tweaks::default());
    let response = AuthenticationResponse::from_value(json).expect("parse");
    let err = verify_authentication(
        &response,
        &StoredCredential {
            credential_id: &reg.credential_id,
            public_key: &reg.public_key,
            sign_count: 0,
            backup_eligible: true,
            user_handle: b"user-1",
        },
        &AuthenticationPolicy {
            rp: &rp(),
            challenge: &CHALLENGE,
            user_verification: UserVerification::Preferred,
            allow_credentials: login.allow.as_deref(),
        },
    );
    assert_eq!(err.err(), Some(WebauthnError::CredentialNotAllowed));
}

#[test]
fn login_checks_the_user_handle() {
    let mut auth = TestAuthenticator::new();
    let reg = registered(&mut auth);
    let mut login = Login::new(&reg);
    let t = Tweaks {
        user_handle: Some(Some(b"user-2".to_vec())),
        ..Default::default()
    };
    assert_eq!(
        login.run(&mut auth, &t).err(),
        Some(WebauthnError::UserHandleMismatch)
    );
    // A missing user handle is fine for a user-bound login ...
    let t = Tweaks {
        user_handle: Some(None),
        ..Default::default()
    };
    assert!(login.run(&mut auth, &t).is_ok());
    // ... and refused for a discoverable one.
    login.allow = None;
    assert_eq!(
        login.run(&mut auth, &t).err(),
        Some(WebauthnError::UserHandleMissing)
    );
    assert!(login.run(&mut auth, &Tweaks::default()).is_ok());
}

#[test]
fn oversized_and_malformed_assertions_are_refused_without_panics() {
    let mut auth = TestAuthenticator::new();
    let reg = registered(&mut auth);
    let t = Tweaks {
        client_data_padding: 10_000,
        ..Default::default()
    };
    assert!(matches!(
        Login::new(&reg).run(&mut auth, &t),
        Err(WebauthnError::TooLarge(_))
    ));
    for garbage in [&b""[..], b"{}", b"[]", b"null", &[0xff; 64]] {
        assert!(AuthenticationResponse::from_json(garbage).is_err());
        assert!(RegistrationResponse::from_json(garbage).is_err());
    }
}
