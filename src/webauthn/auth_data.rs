//! Authenticator data (section 6.1): rpIdHash, flags, signature counter, attested credential data and extensions,
//! parsed strictly: every length is checked, and nothing may follow the last structure.

use ciborium::Value;

use super::cose::CoseKey;
use super::{Flags, WebauthnError};

/// The largest authenticator data accepted.
pub const MAX_AUTH_DATA_LEN: usize = 16 * 1024;
/// The longest credential id allowed (section 5.4.3).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// Attested credential data (section 6.5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestedCredential {
    /// The authenticator's AAGUID.
    pub aaguid: [u8; 16],
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The credential public key, parsed.
    pub public_key: CoseKey,
    /// The credential public key exactly as the authenticator encoded it, for storage.
    pub public_key_cbor: Vec<u8>,
}

/// Parsed authenticator data.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP id the authenticator used.
    pub rp_id_hash: [u8; 32],
    /// Flags.
    pub flags: Flags,
    /// Signature counter.
    pub sign_count: u32,
    /// Present when the AT flag is set.
    pub attested_credential: Option<AttestedCredential>,
    /// Present when the ED flag is set.
    pub extensions: Option<Value>,
}

/// Reads one CBOR item from the front of `input`, advancing it.
fn read_cbor(input: &mut &[u8], what: &'static str) -> Result<Value, WebauthnError> {
    ciborium::de::from_reader_with_recursion_limit(input, 16)
        .map_err(|_| WebauthnError::InvalidCbor(what))
}

impl AuthenticatorData {
    /// Parses authenticator data bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, WebauthnError> {
        if bytes.len() > MAX_AUTH_DATA_LEN {
            return Err(WebauthnError::TooLarge("authenticator data"));
        }
        if bytes.len() < 37 {
            return Err(WebauthnError::InvalidAuthenticatorData(
                "shorter than 37 bytes",
            ));
        }
        let (head, mut rest) = bytes.split_at(37);
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&head[..32]);
        let flags = Flags::from_byte(head[32]);
        let sign_count = u32::from_be_bytes([head[33], head[34], head[35], head[36]]);

        let attested_credential = if flags.at {
            if rest.len() < 18 {
                return Err(WebauthnError::InvalidAuthenticatorData(
                    "attested credential data truncated",
                ));
            }
            let (fixed, after) = rest.split_at(18);
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&fixed[..16]);
            let id_len = usize::from(u16::from_be_bytes([fixed[16], fixed[17]]));
            if id_len == 0 || id_len > MAX_CREDENTIAL_ID_LEN {
                return Err(WebauthnError::InvalidAuthenticatorData(
                    "credential id length out of range",
                ));
            }
            if after.len() < id_len {
                return Err(WebauthnError::InvalidAuthenticatorData(
                    "credential id truncated",
                ));
            }
            let (credential_id, mut key_and_rest) = after.split_at(id_len);
            let before = key_and_rest;
            let key_value = read_cbor(&mut key_and_rest, "credential public key")?;
            let key_len = before.len() - key_and_rest.len();
            let public_key = CoseKey::from_value(&key_value)?;
            rest = key_and_rest;
            Some(AttestedCredential {
                aaguid,
                credential_id: credential_id.to_vec(),
                public_key,
                public_key_cbor: before[..key_len].to_vec(),
            })
        } else {
            None
        };

        let extensions = if flags.ed {
            let value = read_cbor(&mut rest, "authenticator extensions")?;
            if !matches!(value, Value::Map(_)) {
                return Err(WebauthnError::InvalidCbor("authenticator extensions"));
            }
            Some(value)
        } else {
            None
        };
        if !rest.is_empty() {
            return Err(WebauthnError::TrailingBytes("authenticator data"));
        }
        Ok(AuthenticatorData {
            rp_id_hash,
            flags,
            sign_count,
            attested_credential,
            extensions,
        })
    }

    /// Checks that the authenticator used this relying party id.
    pub fn verify_rp_id(&self, rp_id: &str) -> Result<(), WebauthnError> {
        use subtle::ConstantTimeEq;
        if bool::from(self.rp_id_hash.ct_eq(&super::sha256(rp_id.as_bytes()))) {
            Ok(())
        } else {
            Err(WebauthnError::RpIdHashMismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(flags: u8) -> Vec<u8> {
        let mut v = super::super::sha256(b"example.com").to_vec();
        v.push(flags);
        v.extend_from_slice(&7u32.to_be_bytes());
        v
    }

    #[test]
    fn assertion_authenticator_data_parses() {
        let ad = AuthenticatorData::parse(&base(0x05)).expect("parse");
        assert!(ad.flags.up && ad.flags.uv && !ad.flags.at);
        assert_eq!(ad.sign_count, 7);
        assert_eq!(ad.verify_rp_id("example.com"), Ok(()));
        assert_eq!(
            ad.verify_rp_id("example.org"),
            Err(WebauthnError::RpIdHashMismatch)
        );
    }

    #[test]
    fn truncated_and_trailing_bytes_are_refused() {
        assert!(AuthenticatorData::parse(&base(0x05)[..36]).is_err());
        let mut trailing = base(0x05);
        trailing.push(0);
        assert_eq!(
            AuthenticatorData::parse(&trailing),
            Err(WebauthnError::TrailingBytes("authenticator data"))
        );
        // AT set with nothing after the header.
        assert!(AuthenticatorData::parse(&base(0x45)).is_err());
        // ED set with a non-map.
        let mut ed = base(0x85);
        ed.push(0x01);
        assert!(AuthenticatorData::parse(&ed).is_err());
        // ED set with an empty map is fine.
        let mut ed = base(0x85);
        ed.push(0xa0);
        assert!(AuthenticatorData::parse(&ed).is_ok());
    }

    #[test]
    fn credential_id_lengths_are_bounded() {
        let mut v = base(0x45);
        v.extend_from_slice(&[0; 16]);
        v.extend_from_slice(&1024u16.to_be_bytes());
        v.extend_from_slice(&[1; 1024]);
        assert!(matches!(
            AuthenticatorData::parse(&v),
            Err(WebauthnError::InvalidAuthenticatorData(_))
        ));
    }
}
