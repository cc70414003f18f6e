//! `CollectedClientData` (section 5.8.1): parsed from `clientDataJSON` as JSON (extra keys allowed) and checked
//! against the ceremony's type, challenge and origins (sections 7.1 steps 7-10 and 7.2 steps 11-14).

use serde::Deserialize;

use super::{RelyingParty, WebauthnError, b64};

/// The largest `clientDataJSON` accepted.
pub const MAX_CLIENT_DATA_LEN: usize = 8 * 1024;

/// The ceremony a client data object belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyType {
    /// `webauthn.create`.
    Create,
    /// `webauthn.get`.
    Get,
}

impl CeremonyType {
    fn as_str(self) -> &'static str {
        match self {
            CeremonyType::Create => "webauthn.create",
            CeremonyType::Get => "webauthn.get",
        }
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
    #[serde(rename = "topOrigin", default)]
    top_origin: Option<String>,
}

/// Parsed client data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientData {
    /// `type`.
    pub kind: String,
    /// The challenge bytes (decoded from base64url).
    pub challenge: Vec<u8>,
    /// `origin`.
    pub origin: String,
    /// `crossOrigin` (false when absent).
    pub cross_origin: bool,
    /// `topOrigin`.
    pub top_origin: Option<String>,
    /// SHA-256 of the raw `clientDataJSON`.
    pub hash: [u8; 32],
}

impl ClientData {
    /// Parses raw `clientDataJSON` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, WebauthnError> {
        if bytes.len() > MAX_CLIENT_DATA_LEN {
            return Err(WebauthnError::TooLarge("clientDataJSON"));
        }
        let raw: Raw = serde_json::from_slice(bytes)
            .map_err(|e| WebauthnError::InvalidClientData(e.to_string()))?;
        let challenge = b64::decode(&raw.challenge).ok_or(WebauthnError::InvalidClientData(
            "challenge is not base64url".into(),
        ))?;
        Ok(ClientData {
            kind: raw.kind,
            challenge,
            origin: raw.origin,
            cross_origin: raw.cross_origin.unwrap_or(false),
            top_origin: raw.top_origin,
            hash: super::sha256(bytes),
        })
    }

    /// Checks type, challenge (in constant time), origin, crossOrigin and topOrigin.
    pub fn verify(
        &self,
        ceremony: CeremonyType,
        expected_challenge: &[u8],
        rp: &RelyingParty,
    ) -> Result<(), WebauthnError> {
        if self.kind != ceremony.as_str() {
            return Err(WebauthnError::WrongClientDataType {
                expected: ceremony.as_str(),
            });
        }
        use subtle::ConstantTimeEq;
        if self.challenge.len() != expected_challenge.len()
            || !bool::from(self.challenge.ct_eq(expected_challenge))
        {
            return Err(WebauthnError::ChallengeMismatch);
        }
        if !rp.origins.iter().any(|o| o == &self.origin) {
            return Err(WebauthnError::OriginNotAllowed(self.origin.clone()));
        }
        if self.cross_origin && !rp.allow_cross_origin {
            return Err(WebauthnError::CrossOriginNotAllowed);
        }
        if let Some(top) = &self.top_origin {
            if !self.cross_origin {
                // A topOrigin is only meaningful for cross-origin ceremonies; it must then be the origin itself.
                if top != &self.origin {
                    return Err(WebauthnError::TopOriginNotAllowed(top.clone()));
                }
            } else if !rp.allowed_top_origins.iter().any(|o| o == top) {
                return Err(WebauthnError::TopOriginNotAllowed(top.clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp() -> RelyingParty {
        RelyingParty::new("example.com", vec!["https://example.com".into()])
    }

    fn json(kind: &str, challenge: &[u8], origin: &str, extra: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"{kind}","challenge":"{}","origin":"{origin}"{extra}}}"#,
            b64::encode(challenge)
        )
        .into_bytes()
    }

    #[test]
    fn a_matching_client_data_verifies_and_extra_keys_are_ignored() {
        let cd = ClientData::parse(&json(
            "webauthn.get",
            b"abc",
            "https://example.com",
            r#","other":1"#,
        ))
        .expect("parse");
        assert_eq!(cd.verify(CeremonyType::Get, b"abc", &rp()), Ok(()));
    }

    #[test]
    fn each_mismatch_has_its_own_error() {
        let check = |kind, challenge: &[u8], origin, extra| {
            ClientData::parse(&json(kind, challenge, origin, extra))
                .and_then(|cd| cd.verify(CeremonyType::Get, b"abc", &rp()))
        };
        assert!(matches!(
            check("webauthn.create", b"abc", "https://example.com", ""),
            Err(WebauthnError::WrongClientDataType { .. })
        ));
        assert_eq!(
            check("webauthn.get", b"abd", "https://example.com", ""),
            Err(WebauthnError::ChallengeMismatch)
        );
        assert_eq!(
            check("webauthn.get", b"ab", "https://example.com", ""),
            Err(WebauthnError::ChallengeMismatch)
        );
        assert!(matches!(
            check("webauthn.get", b"abc", "https://example.com.evil", ""),
            Err(WebauthnError::OriginNotAllowed(_))
        ));
        assert!(matches!(
            check("webauthn.get", b"abc", "https://EXAMPLE.com", ""),
            Err(WebauthnError::OriginNotAllowed(_))
        ));
        assert_eq!(
            check(
                "webauthn.get",
                b"abc",
                "https://example.com",
                r#","crossOrigin":true"#
            ),
            Err(WebauthnError::CrossOriginNotAllowed)
        );
        assert!(matches!(
            check(
                "webauthn.get",
                b"abc",
                "https://example.com",
                r#","topOrigin":"https://evil.com""#
            ),
            Err(WebauthnError::TopOriginNotAllowed(_))
        ));
    }

    #[test]
    fn malformed_client_data_is_refused() {
        assert!(matches!(
            ClientData::parse(b"not json"),
            Err(WebauthnError::InvalidClientData(_))
        ));
        assert!(matches!(
            ClientData::parse(br#"{"type":"webauthn.get"}"#),
            Err(WebauthnError::InvalidClientData(_))
        ));
        assert!(matches!(
            ClientData::parse(br#"{"type":"webauthn.get","challenge":"***","origin":"x"}"#),
            Err(WebauthnError::InvalidClientData(_))
        ));
        assert_eq!(
            ClientData::parse(&vec![b' '; MAX_CLIENT_DATA_LEN + 1]),
            Err(WebauthnError::TooLarge("clientDataJSON"))
        );
    }
}
