//! `PublicKeyCredentialCreationOptions` and `PublicKeyCredentialRequestOptions` in the WebAuthn JSON form
//! (section 5.4 and 5.5; binary fields as base64url without padding), ready to wrap in `{"publicKey": ...}`.

use serde::Serialize;

use super::cose::CoseAlgorithm;
use super::{UserVerification, WebauthnError, b64};

/// The algorithms offered by default, in order of preference.
pub const DEFAULT_ALGORITHMS: [CoseAlgorithm; 5] = [
    CoseAlgorithm::ES256,
    CoseAlgorithm::EdDSA,
    CoseAlgorithm::ES384,
    CoseAlgorithm::RS256,
    CoseAlgorithm::PS256,
];

/// A user handle: 1 to 64 bytes (section 5.4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserHandle(Vec<u8>);

impl UserHandle {
    /// Validates the length.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, WebauthnError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(WebauthnError::InvalidJson(
                "user id must not be empty".into(),
            ));
        }
        if bytes.len() > 64 {
            return Err(WebauthnError::TooLarge("user id (at most 64 bytes)"));
        }
        Ok(UserHandle(bytes))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// `PublicKeyCredentialRpEntity`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RpEntity {
    /// RP id.
    pub id: String,
    /// RP name.
    pub name: String,
}

/// `PublicKeyCredentialUserEntity`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserEntity {
    /// The user handle, base64url.
    pub id: String,
    /// User name.
    pub name: String,
    /// Display name.
    pub display_name: String,
}

impl UserEntity {
    /// A user entity for a validated handle.
    pub fn new(handle: &UserHandle, name: &str, display_name: &str) -> Self {
        UserEntity {
            id: b64::encode(handle.as_bytes()),
            name: name.to_string(),
            display_name: display_name.to_string(),
        }
    }
}

/// `PublicKeyCredentialParameters`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CredentialParameters {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// COSE algorithm id.
    pub alg: i64,
}

/// `PublicKeyCredentialDescriptor`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CredentialDescriptor {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Credential id, base64url.
    pub id: String,
    /// Transports, when known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
}

impl CredentialDescriptor {
    /// A descriptor for a credential id with its transports.
    pub fn new(id: &[u8], transports: Vec<String>) -> Self {
        CredentialDescriptor {
            kind: "public-key",
            id: b64::encode(id),
            transports,
        }
    }
}

/// `AuthenticatorSelectionCriteria`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    /// `platform` or `cross-platform`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<String>,
    /// `discouraged`, `preferred` or `required`.
    pub resident_key: String,
    /// `true` exactly when `residentKey` is `required` (for Level 1 clients).
    pub require_resident_key: bool,
    /// `required`, `preferred` or `discouraged`.
    pub user_verification: String,
}

/// `PublicKeyCredentialCreationOptions`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// The relying party.
    pub rp: RpEntity,
    /// The user.
    pub user: UserEntity,
    /// The challenge, base64url.
    pub challenge: String,
    /// Offered algorithms.
    pub pub_key_cred_params: Vec<CredentialParameters>,
    /// Timeout in milliseconds.
    pub timeout: u64,
    /// Credentials the user already has, so that an authenticator is not registered twice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude_credentials: Vec<CredentialDescriptor>,
    /// Authenticator selection.
    pub authenticator_selection: AuthenticatorSelection,
    /// `none`, `indirect`, `direct` or `enterprise`.
    pub attestation: String,
    /// Client hints (`security-key`, `client-device`, `hybrid`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// Extensions: `credProps` is always requested.
    pub extensions: serde_json::Value,
}

/// Inputs of [`CreationOptions::new`] beyond RP, user and challenge.
#[derive(Clone, Debug)]
pub struct CreationSettings<'a> {
    /// Offered algorithms, in order.
    pub algorithms: &'a [CoseAlgorithm],
    /// Timeout in milliseconds.
    pub timeout_ms: u64,
    /// Credentials to exclude.
    pub exclude: Vec<CredentialDescriptor>,
    /// Attachment.
    pub attachment: Option<&'a str>,
    /// `discouraged`, `preferred` or `required`.
    pub resident_key: &'a str,
    /// User verification.
    pub user_verification: UserVerification,
    /// Attestation conveyance.
    pub attestation: &'a str,
    /// Hints.
    pub hints: Vec<String>,
}

impl CreationOptions {
    /// Builds creation options.
    pub fn new(rp: RpEntity, user: UserEntity, challenge: &[u8], s: CreationSettings<'_>) -> Self {
        CreationOptions {
            rp,
            user,
            challenge: b64::encode(challenge),
            pub_key_cred_params: s
                .algorithms
                .iter()
                .map(|a| CredentialParameters {
                    kind: "public-key",
                    alg: a.id(),
                })
                .collect(),
            timeout: s.timeout_ms,
            exclude_credentials: s.exclude,
            authenticator_selection: AuthenticatorSelection {
                authenticator_attachment: s.attachment.map(str::to_string),
                resident_key: s.resident_key.to_string(),
                require_resident_key: s.resident_key == "required",
                user_verification: s.user_verification.as_str().to_string(),
            },
            attestation: s.attestation.to_string(),
            hints: s.hints,
            extensions: serde_json::json!({"credProps": true}),
        }
    }
}

/// `PublicKeyCredentialRequestOptions`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    /// The challenge, base64url.
    pub challenge: String,
    /// Timeout in milliseconds.
    pub timeout: u64,
    /// RP id.
    pub rp_id: String,
    /// Allowed credentials; empty for discoverable login.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow_credentials: Vec<CredentialDescriptor>,
    /// User verification.
    pub user_verification: String,
    /// Client hints.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

impl RequestOptions {
    /// Builds request options.
    pub fn new(
        rp_id: &str,
        challenge: &[u8],
        timeout_ms: u64,
        allow: Vec<CredentialDescriptor>,
        user_verification: UserVerification,
    ) -> Self {
        RequestOptions {
            challenge: b64::encode(challenge),
            timeout: timeout_ms,
            rp_id: rp_id.to_string(),
            allow_credentials: allow,
            user_verification: user_verification.as_str().to_string(),
            hints: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_handles_are_one_to_sixty_four_bytes() {
        assert!(UserHandle::new(Vec::new()).is_err());
        assert!(UserHandle::new(vec![1; 64]).is_ok());
        assert!(UserHandle::new(vec![1; 65]).is_err());
    }

    #[test]
    fn creation_options_serialise_in_webauthn_json() {
        let handle = UserHandle::new(b"user-1".to_vec()).expect("handle");
        let opts = CreationOptions::new(
            RpEntity {
                id: "example.com".into(),
                name: "Example".into(),
            },
            UserEntity::new(&handle, "alice", "Alice"),
            &[1, 2, 3],
            CreationSettings {
                algorithms: &DEFAULT_ALGORITHMS,
                timeout_ms: 60_000,
                exclude: vec![CredentialDescriptor::new(&[9], vec!["usb".into()])],
                attachment: Some("platform"),
                resident_key: "required",
                user_verification: UserVerification::Preferred,
                attestation: "none",
                hints: vec![],
            },
        );
        let json = serde_json::to_value(&opts).expect("json");
        assert_eq!(json["user"]["id"], "dXNlci0x");
        assert_eq!(json["challenge"], "AQID");
        assert_eq!(
            json["pubKeyCredParams"][0],
            serde_json::json!({"type": "public-key", "alg": -7})
        );
        assert_eq!(json["pubKeyCredParams"][1]["alg"], -8);
        assert_eq!(
            json["excludeCredentials"][0],
            serde_json::json!({"type": "public-key", "id": "CQ", "transports": ["usb"]})
        );
        assert_eq!(json["authenticatorSelection"]["requireResidentKey"], true);
        assert_eq!(json["extensions"]["credProps"], true);
        assert!(json.get("hints").is_none());
    }
}
