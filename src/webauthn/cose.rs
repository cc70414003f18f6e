//! COSE public keys (RFC 9052/9053, section 6.5.1.1 of WebAuthn) and signature verification with aws-lc-rs.
//!
//! Supported: EC2 P-256/P-384/P-521 (ES256/ES384/ES512), OKP Ed25519 (EdDSA) and RSA (RS256, PS256, and RS1 for
//! FIDO conformance). A key's `alg` must agree with its type and curve.

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use ciborium::Value;

use super::WebauthnError;

/// The largest encoded COSE key accepted (an RSA-8192 key is about 1.1 KB).
pub const MAX_COSE_KEY_LEN: usize = 2048;

/// A COSE signature algorithm identifier Tessera verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoseAlgorithm {
    /// ECDSA P-256 SHA-256 (-7).
    ES256,
    /// ECDSA P-384 SHA-384 (-35).
    ES384,
    /// ECDSA P-521 SHA-512 (-36).
    ES512,
    /// Ed25519 (-8).
    EdDSA,
    /// RSASSA-PKCS1-v1_5 SHA-256 (-257).
    RS256,
    /// RSASSA-PSS SHA-256 (-37).
    PS256,
    /// RSASSA-PKCS1-v1_5 SHA-1 (-65535), for FIDO conformance only.
    RS1,
}

impl CoseAlgorithm {
    /// The COSE identifier.
    pub fn id(self) -> i64 {
        match self {
            CoseAlgorithm::ES256 => -7,
            CoseAlgorithm::ES384 => -35,
            CoseAlgorithm::ES512 => -36,
            CoseAlgorithm::EdDSA => -8,
            CoseAlgorithm::RS256 => -257,
            CoseAlgorithm::PS256 => -37,
            CoseAlgorithm::RS1 => -65535,
        }
    }

    /// The algorithm for a COSE identifier.
    pub fn from_id(id: i64) -> Option<Self> {
        Some(match id {
            -7 => CoseAlgorithm::ES256,
            -35 => CoseAlgorithm::ES384,
            -36 => CoseAlgorithm::ES512,
            -8 => CoseAlgorithm::EdDSA,
            -257 => CoseAlgorithm::RS256,
            -37 => CoseAlgorithm::PS256,
            -65535 => CoseAlgorithm::RS1,
            _ => return None,
        })
    }

    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            CoseAlgorithm::ES256 => &signature::ECDSA_P256_SHA256_ASN1,
            CoseAlgorithm::ES384 => &signature::ECDSA_P384_SHA384_ASN1,
            CoseAlgorithm::ES512 => &signature::ECDSA_P521_SHA512_ASN1,
            CoseAlgorithm::EdDSA => &signature::ED25519,
            CoseAlgorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            CoseAlgorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            CoseAlgorithm::RS1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        }
    }
}

/// The key material of a COSE key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An elliptic-curve point (`x`, `y` of the curve's size).
    Ec2 {
        /// COSE curve id: 1 (P-256), 2 (P-384), 3 (P-521).
        curve: i64,
        /// x coordinate.
        x: Vec<u8>,
        /// y coordinate.
        y: Vec<u8>,
    },
    /// An Ed25519 public key.
    Ed25519([u8; 32]),
    /// An RSA public key.
    Rsa {
        /// Modulus, big-endian.
        n: Vec<u8>,
        /// Public exponent, big-endian.
        e: Vec<u8>,
    },
}

/// A parsed COSE public key with its algorithm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoseKey {
    /// The signature algorithm.
    pub alg: CoseAlgorithm,
    /// The key.
    pub material: KeyMaterial,
}

fn map_get(map: &[(Value, Value)], label: i64) -> Option<&Value> {
    map.iter().find_map(|(k, v)| match k {
        Value::Integer(i) if i128::from(*i) == i128::from(label) => Some(v),
        _ => None,
    })
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Integer(i)) => i64::try_from(i128::from(*i)).ok(),
        _ => None,
    }
}

fn bytes(v: Option<&Value>) -> Option<&[u8]> {
    match v {
        Some(Value::Bytes(b)) => Some(b),
        _ => None,
    }
}

fn bad(reason: &str) -> WebauthnError {
    WebauthnError::InvalidPublicKey(reason.to_string())
}

/// DER length octets.
fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// A DER INTEGER of a big-endian unsigned value.
fn der_uint(v: &[u8], out: &mut Vec<u8>) {
    let v = &v[v
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(v.len().saturating_sub(1))..];
    let pad = v.first().is_some_and(|b| b & 0x80 != 0);
    out.push(0x02);
    der_len(v.len() + usize::from(pad), out);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(v);
}

impl CoseKey {
    /// Parses a COSE key from its CBOR value, checking that `alg`, `kty` and `crv` agree and sizes are right.
    pub fn from_value(value: &Value) -> Result<Self, WebauthnError> {
        let Value::Map(map) = value else {
            return Err(bad("not a CBOR map"));
        };
        let kty = int(map_get(map, 1)).ok_or_else(|| bad("kty missing"))?;
        let alg_id = int(map_get(map, 3)).ok_or_else(|| bad("alg missing"))?;
        let alg = CoseAlgorithm::from_id(alg_id)
            .ok_or_else(|| bad(&format!("algorithm {alg_id} is not supported")))?;
        let material = match (kty, alg) {
            (2, CoseAlgorithm::ES256 | CoseAlgorithm::ES384 | CoseAlgorithm::ES512) => {
                let curve = int(map_get(map, -1)).ok_or_else(|| bad("crv missing"))?;
                let (want_curve, size) = match alg {
                    CoseAlgorithm::ES256 => (1, 32),
                    CoseAlgorithm::ES384 => (2, 48),
                    _ => (3, 66),
                };
                if curve != want_curve {
                    return Err(bad("crv does not match alg"));
                }
                let x = bytes(map_get(map, -2)).ok_or_else(|| bad("x missing"))?;
                let y = bytes(map_get(map, -3))
                    .ok_or_else(|| bad("y missing (compressed points are not supported)"))?;
                if x.len() != size || y.len() != size {
                    return Err(bad("coordinate size does not match the curve"));
                }
                KeyMaterial::Ec2 {
                    curve,
                    x: x.to_vec(),
                    y: y.to_vec(),
                }
            }
            (1, CoseAlgorithm::EdDSA) => {
                let crv = int(map_get(map, -1)).ok_or_else(|| bad("crv missing"))?;
                if crv != 6 {
                    return Err(bad("only Ed25519 (crv 6) is supported for EdDSA"));
                }
                let x = bytes(map_get(map, -2)).ok_or_else(|| bad("x missing"))?;
                KeyMaterial::Ed25519(
                    x.try_into()
                        .map_err(|_| bad("Ed25519 key must be 32 bytes"))?,
                )
            }
            (3, CoseAlgorithm::RS256 | CoseAlgorithm::PS256 | CoseAlgorithm::RS1) => {
                let n = bytes(map_get(map, -1)).ok_or_else(|| bad("n missing"))?;
                let e = bytes(map_get(map, -2)).ok_or_else(|| bad("e missing"))?;
                if e.is_empty() || e.len() > 8 || n.len() > 1024 {
                    return Err(bad("RSA key size out of range"));
                }
                KeyMaterial::Rsa {
                    n: n.to_vec(),
                    e: e.to_vec(),
                }
            }
            _ => return Err(bad("kty does not match alg")),
        };
        let key = CoseKey { alg, material };
        // Reject points off the curve and unusable RSA keys now rather than at the first login.
        key.parsed()?;
        Ok(key)
    }

    /// Parses a COSE key from CBOR bytes with nothing after it.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, WebauthnError> {
        if bytes.len() > MAX_COSE_KEY_LEN {
            return Err(WebauthnError::TooLarge("credential public key"));
        }
        let mut rest = bytes;
        let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, 8)
            .map_err(|_| WebauthnError::InvalidCbor("credential public key"))?;
        if !rest.is_empty() {
            return Err(WebauthnError::TrailingBytes("credential public key"));
        }
        Self::from_value(&value)
    }

    /// The key in the encoding aws-lc-rs parses: an uncompressed SEC1 point, raw Ed25519 bytes, or PKCS#1
    /// `RSAPublicKey` DER.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &self.material {
            KeyMaterial::Ec2 { x, y, .. } => {
                let mut p = Vec::with_capacity(1 + x.len() + y.len());
                p.push(0x04);
                p.extend_from_slice(x);
                p.extend_from_slice(y);
                p
            }
            KeyMaterial::Ed25519(k) => k.to_vec(),
            KeyMaterial::Rsa { n, e } => {
                let mut body = Vec::with_capacity(n.len() + e.len() + 16);
                der_uint(n, &mut body);
                der_uint(e, &mut body);
                let mut out = vec![0x30];
                der_len(body.len(), &mut out);
                out.extend_from_slice(&body);
                out
            }
        }
    }

    /// The key parsed for verification; parse once and reuse it for many signatures.
    pub fn parsed(&self) -> Result<ParsedPublicKey, WebauthnError> {
        ParsedPublicKey::new(self.alg.verification(), self.public_key_bytes())
            .map_err(|e| bad(&format!("key rejected: {e}")))
    }

    /// Verifies `signature` over `message` (ASN.1 DER for ECDSA, raw for EdDSA and RSA).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), WebauthnError> {
        self.parsed()?
            .verify_sig(message, signature)
            .map_err(|_| WebauthnError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec2(alg: i64, crv: i64, size: usize) -> Value {
        Value::Map(vec![
            (Value::Integer(1.into()), Value::Integer(2.into())),
            (Value::Integer(3.into()), Value::Integer(alg.into())),
            (Value::Integer((-1).into()), Value::Integer(crv.into())),
            (Value::Integer((-2).into()), Value::Bytes(vec![1; size])),
            (Value::Integer((-3).into()), Value::Bytes(vec![2; size])),
        ])
    }

    #[test]
    fn mismatched_alg_kty_and_curve_are_refused() {
        assert!(
            CoseKey::from_value(&ec2(-7, 2, 32)).is_err(),
            "P-384 curve with ES256"
        );
        assert!(
            CoseKey::from_value(&ec2(-7, 1, 31)).is_err(),
            "short coordinate"
        );
        assert!(
            CoseKey::from_value(&ec2(-8, 1, 32)).is_err(),
            "EdDSA with EC2"
        );
        assert!(
            CoseKey::from_value(&ec2(-999, 1, 32)).is_err(),
            "unknown alg"
        );
        assert!(
            CoseKey::from_value(&ec2(-7, 1, 32)).is_err(),
            "point not on the curve"
        );
        assert!(CoseKey::from_value(&Value::Bytes(vec![])).is_err());
    }

    #[test]
    fn trailing_bytes_after_a_key_are_refused() {
        let mut buf = Vec::new();
        ciborium::into_writer(&ec2(-7, 1, 32), &mut buf).expect("encode");
        buf.push(0);
        assert_eq!(
            CoseKey::from_cbor(&buf),
            Err(WebauthnError::TrailingBytes("credential public key"))
        );
    }

    #[test]
    fn rsa_public_keys_encode_as_pkcs1_der() {
        let key = CoseKey {
            alg: CoseAlgorithm::RS256,
            material: KeyMaterial::Rsa {
                n: vec![0x80, 1],
                e: vec![1, 0, 1],
            },
        };
        assert_eq!(
            key.public_key_bytes(),
            vec![
                0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
    }
}
