//! The typed errors of WebAuthn verification. Each has a stable snake_case [`WebauthnError::code`] for audit logs
//! and API errors; the `Display` text explains it to a developer and never contains secrets.

/// Why a WebAuthn response was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebauthnError {
    /// The credential JSON could not be parsed.
    #[error("malformed credential JSON: {0}")]
    InvalidJson(String),
    /// A field was not valid base64url.
    #[error("{0} is not valid base64url")]
    InvalidBase64(&'static str),
    /// An input exceeded its size bound.
    #[error("{0} is too large")]
    TooLarge(&'static str),
    /// The credential `type` was not `public-key`.
    #[error("credential type must be \"public-key\"")]
    InvalidCredentialType,
    /// `id` and `rawId` disagree.
    #[error("id and rawId do not match")]
    CredentialIdMismatch,
    /// `clientDataJSON` was not valid JSON of the expected shape.
    #[error("malformed clientDataJSON: {0}")]
    InvalidClientData(String),
    /// `clientDataJSON.type` was wrong for the ceremony.
    #[error("clientDataJSON.type must be {expected}")]
    WrongClientDataType {
        /// The expected type.
        expected: &'static str,
    },
    /// The challenge differs from the one issued.
    #[error("the challenge does not match the one issued")]
    ChallengeMismatch,
    /// The origin is not one of the relying party's.
    #[error("origin {0:?} is not allowed")]
    OriginNotAllowed(String),
    /// The ceremony ran cross-origin and the relying party does not allow that.
    #[error("cross-origin ceremonies are not allowed")]
    CrossOriginNotAllowed,
    /// The top-level origin is not allowed.
    #[error("top origin {0:?} is not allowed")]
    TopOriginNotAllowed(String),
    /// The authenticator data could not be parsed.
    #[error("malformed authenticator data: {0}")]
    InvalidAuthenticatorData(&'static str),
    /// CBOR could not be decoded or had the wrong shape.
    #[error("malformed CBOR in {0}")]
    InvalidCbor(&'static str),
    /// Bytes followed a complete structure.
    #[error("trailing bytes after {0}")]
    TrailingBytes(&'static str),
    /// The rpIdHash is not SHA-256 of the RP id.
    #[error("rpIdHash does not match the relying party id")]
    RpIdHashMismatch,
    /// The UP flag was not set.
    #[error("the user was not present (UP flag not set)")]
    UserNotPresent,
    /// UV was required and the UV flag was not set.
    #[error("user verification was required (UV flag not set)")]
    UserVerificationRequired,
    /// BS was set without BE.
    #[error("backup state set on a credential that is not backup eligible")]
    BackupStateWithoutEligibility,
    /// BE differs from the value at registration.
    #[error("backup eligibility changed since registration")]
    BackupEligibilityChanged,
    /// A registration without attested credential data.
    #[error("attested credential data missing")]
    MissingAttestedCredentialData,
    /// The credential public key is malformed or of an unsupported type.
    #[error("unsupported or malformed credential public key: {0}")]
    InvalidPublicKey(String),
    /// The key's algorithm was not among those offered.
    #[error("algorithm {0} was not offered")]
    AlgorithmNotAllowed(i64),
    /// The attestation statement format is not supported.
    #[error("unsupported attestation format {0:?}")]
    UnsupportedAttestationFormat(String),
    /// The attestation statement failed verification.
    #[error("invalid {format} attestation: {reason}")]
    InvalidAttestation {
        /// The format.
        format: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The credential is not in the ceremony's allow list.
    #[error("the credential is not allowed for this ceremony")]
    CredentialNotAllowed,
    /// The user handle does not match the credential's user.
    #[error("userHandle does not match the credential's user")]
    UserHandleMismatch,
    /// A discoverable login without a user handle.
    #[error("userHandle is required for discoverable login")]
    UserHandleMissing,
}

impl WebauthnError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            WebauthnError::InvalidJson(_) => "invalid_credential_json",
            WebauthnError::InvalidBase64(_) => "invalid_base64",
            WebauthnError::TooLarge(_) => "input_too_large",
            WebauthnError::InvalidCredentialType => "invalid_credential_type",
            WebauthnError::CredentialIdMismatch => "credential_id_mismatch",
            WebauthnError::InvalidClientData(_) => "invalid_client_data",
            WebauthnError::WrongClientDataType { .. } => "wrong_client_data_type",
            WebauthnError::ChallengeMismatch => "challenge_mismatch",
            WebauthnError::OriginNotAllowed(_) => "origin_not_allowed",
            WebauthnError::CrossOriginNotAllowed => "cross_origin_not_allowed",
            WebauthnError::TopOriginNotAllowed(_) => "top_origin_not_allowed",
            WebauthnError::InvalidAuthenticatorData(_) => "invalid_authenticator_data",
            WebauthnError::InvalidCbor(_) => "invalid_cbor",
            WebauthnError::TrailingBytes(_) => "trailing_bytes",
            WebauthnError::RpIdHashMismatch => "rp_id_hash_mismatch",
            WebauthnError::UserNotPresent => "user_not_present",
            WebauthnError::UserVerificationRequired => "user_verification_required",
            WebauthnError::BackupStateWithoutEligibility => "backup_state_invalid",
            WebauthnError::BackupEligibilityChanged => "backup_eligibility_changed",
            WebauthnError::MissingAttestedCredentialData => "missing_attested_credential_data",
            WebauthnError::InvalidPublicKey(_) => "invalid_public_key",
            WebauthnError::AlgorithmNotAllowed(_) => "algorithm_not_allowed",
            WebauthnError::UnsupportedAttestationFormat(_) => "unsupported_attestation_format",
            WebauthnError::InvalidAttestation { .. } => "invalid_attestation",
            WebauthnError::BadSignature => "bad_signature",
            WebauthnError::CredentialNotAllowed => "credential_not_allowed",
            WebauthnError::UserHandleMismatch => "user_handle_mismatch",
            WebauthnError::UserHandleMissing => "user_handle_missing",
        }
    }
}
