//! Credential JSON as browsers and libraries send it: the webauthn-json shape and the
//! `PublicKeyCredential.toJSON()` shape (they agree on field names), with base64url fields that may be padded.
//! Unknown fields are ignored; trailing data after the JSON object is refused.

use serde::Deserialize;

use super::{WebauthnError, b64};

/// Transports a credential may list; anything else is dropped.
const KNOWN_TRANSPORTS: [&str; 7] = [
    "usb",
    "nfc",
    "ble",
    "smart-card",
    "hybrid",
    "internal",
    "cable",
];

#[derive(Deserialize)]
struct RawAttestationResponse {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "attestationObject")]
    attestation_object: String,
    #[serde(default)]
    transports: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawAssertionResponse {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "authenticatorData")]
    authenticator_data: String,
    signature: String,
    #[serde(rename = "userHandle", default)]
    user_handle: Option<String>,
}

#[derive(Deserialize)]
struct RawCredential<R> {
    id: String,
    #[serde(rename = "rawId", default)]
    raw_id: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    response: R,
    #[serde(rename = "authenticatorAttachment", default)]
    authenticator_attachment: Option<String>,
    #[serde(rename = "clientExtensionResults", default)]
    client_extension_results: Option<serde_json::Value>,
    /// Legacy top-level transports (older webauthn-json).
    #[serde(default)]
    transports: Option<Vec<String>>,
}

/// A registration response (`navigator.credentials.create()` result) with its byte fields decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationResponse {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// Raw `clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// Raw `attestationObject`.
    pub attestation_object: Vec<u8>,
    /// Known transports, deduplicated.
    pub transports: Vec<String>,
    /// `platform` or `cross-platform`, when the client said.
    pub authenticator_attachment: Option<String>,
    /// `clientExtensionResults.credProps.rk`, when present.
    pub cred_props_rk: Option<bool>,
}

/// An authentication response (`navigator.credentials.get()` result) with its byte fields decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticationResponse {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// Raw `clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// Raw `authenticatorData`.
    pub authenticator_data: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
    /// The user handle; `None` when absent, null or empty.
    pub user_handle: Option<Vec<u8>>,
}

fn field(value: &str, name: &'static str, max: usize) -> Result<Vec<u8>, WebauthnError> {
    // base64 grows by 4/3; refuse oversized text before decoding it.
    if value.len() > max.div_ceil(3) * 4 + 4 {
        return Err(WebauthnError::TooLarge(name));
    }
    b64::decode(value).ok_or(WebauthnError::InvalidBase64(name))
}

fn credential_id<R>(raw: &RawCredential<R>) -> Result<Vec<u8>, WebauthnError> {
    if raw.kind != "public-key" {
        return Err(WebauthnError::InvalidCredentialType);
    }
    let id = field(&raw.id, "id", super::auth_data::MAX_CREDENTIAL_ID_LEN)?;
    if id.is_empty() {
        return Err(WebauthnError::InvalidBase64("id"));
    }
    if let Some(raw_id) = &raw.raw_id
        && field(raw_id, "rawId", super::auth_data::MAX_CREDENTIAL_ID_LEN)? != id
    {
        return Err(WebauthnError::CredentialIdMismatch);
    }
    Ok(id)
}

fn transports(lists: [Option<&Vec<String>>; 2]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in lists.into_iter().flatten().flatten().take(16) {
        if KNOWN_TRANSPORTS.contains(&t.as_str()) && !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

impl RegistrationResponse {
    /// Parses credential JSON text.
    pub fn from_json(json: &[u8]) -> Result<Self, WebauthnError> {
        let raw: RawCredential<RawAttestationResponse> =
            serde_json::from_slice(json).map_err(|e| WebauthnError::InvalidJson(e.to_string()))?;
        Self::from_raw(raw)
    }

    /// Parses an already-decoded JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, WebauthnError> {
        let raw: RawCredential<RawAttestationResponse> =
            serde_json::from_value(value).map_err(|e| WebauthnError::InvalidJson(e.to_string()))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawCredential<RawAttestationResponse>) -> Result<Self, WebauthnError> {
        let credential_id = credential_id(&raw)?;
        Ok(RegistrationResponse {
            credential_id,
            client_data_json: field(
                &raw.response.client_data_json,
                "clientDataJSON",
                super::client_data::MAX_CLIENT_DATA_LEN,
            )?,
            attestation_object: field(
                &raw.response.attestation_object,
                "attestationObject",
                super::attestation::MAX_ATTESTATION_OBJECT_LEN,
            )?,
            transports: transports([raw.response.transports.as_ref(), raw.transports.as_ref()]),
            authenticator_attachment: raw
                .authenticator_attachment
                .filter(|a| a == "platform" || a == "cross-platform"),
            cred_props_rk: raw
                .client_extension_results
                .as_ref()
                .and_then(|r| r.get("credProps"))
                .and_then(|p| p.get("rk"))
                .and_then(serde_json::Value::as_bool),
        })
    }
}

impl AuthenticationResponse {
    /// Parses credential JSON text.
    pub fn from_json(json: &[u8]) -> Result<Self, WebauthnError> {
        let raw: RawCredential<RawAssertionResponse> =
            serde_json::from_slice(json).map_err(|e| WebauthnError::InvalidJson(e.to_string()))?;
        Self::from_raw(raw)
    }

    /// Parses an already-decoded JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Self, WebauthnError> {
        let raw: RawCredential<RawAssertionResponse> =
            serde_json::from_value(value).map_err(|e| WebauthnError::InvalidJson(e.to_string()))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawCredential<RawAssertionResponse>) -> Result<Self, WebauthnError> {
        let credential_id = credential_id(&raw)?;
        let user_handle = match raw.response.user_handle.as_deref() {
            None | Some("") => None,
            Some(h) => Some(field(h, "userHandle", 64)?),
        };
        if user_handle.as_ref().is_some_and(|h| h.len() > 64) {
            return Err(WebauthnError::TooLarge("userHandle"));
        }
        Ok(AuthenticationResponse {
            credential_id,
            client_data_json: field(
                &raw.response.client_data_json,
                "clientDataJSON",
                super::client_data::MAX_CLIENT_DATA_LEN,
            )?,
            authenticator_data: field(
                &raw.response.authenticator_data,
                "authenticatorData",
                super::auth_data::MAX_AUTH_DATA_LEN,
            )?,
            signature: field(&raw.response.signature, "signature", 2048)?,
            user_handle,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_json_shapes_parse_with_padding_and_unknown_fields() {
        let json = br#"{"id":"AQID","rawId":"AQID==","type":"public-key","authenticatorAttachment":"platform",
            "response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AQ","userHandle":null,"extra":1},
            "clientExtensionResults":{},"unknown":true}"#;
        let r = AuthenticationResponse::from_json(json).expect("parse");
        assert_eq!(r.credential_id, vec![1, 2, 3]);
        assert_eq!(r.user_handle, None);
    }

    #[test]
    fn malformed_credentials_are_refused() {
        let wrong_type = br#"{"id":"AQID","type":"password","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AQ"}}"#;
        assert_eq!(
            AuthenticationResponse::from_json(wrong_type),
            Err(WebauthnError::InvalidCredentialType)
        );
        let mismatch = br#"{"id":"AQID","rawId":"AQIE","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AQ"}}"#;
        assert_eq!(
            AuthenticationResponse::from_json(mismatch),
            Err(WebauthnError::CredentialIdMismatch)
        );
        let bad_b64 = br#"{"id":"A*ID","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AQ"}}"#;
        assert_eq!(
            AuthenticationResponse::from_json(bad_b64),
            Err(WebauthnError::InvalidBase64("id"))
        );
        let trailing = br#"{"id":"AQID","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AQ"}} x"#;
        assert!(matches!(
            AuthenticationResponse::from_json(trailing),
            Err(WebauthnError::InvalidJson(_))
        ));
        let huge = format!(
            r#"{{"id":"AQID","type":"public-key","response":{{"clientDataJSON":"e30","authenticatorData":"{}","signature":"AQ"}}}}"#,
            "A".repeat(40_000)
        );
        assert_eq!(
            AuthenticationResponse::from_json(huge.as_bytes()),
            Err(WebauthnError::TooLarge("authenticatorData"))
        );
    }

    #[test]
    fn registration_transports_are_filtered_and_cred_props_read() {
        let json = br#"{"id":"AQID","type":"public-key","transports":["usb"],
            "response":{"clientDataJSON":"e30","attestationObject":"oA","transports":["internal","hybrid","bogus","internal"]},
            "clientExtensionResults":{"credProps":{"rk":true}}}"#;
        let r = RegistrationResponse::from_json(json).expect("parse");
        assert_eq!(r.transports, vec!["internal", "hybrid", "usb"]);
        assert_eq!(r.cred_props_rk, Some(true));
    }
}
