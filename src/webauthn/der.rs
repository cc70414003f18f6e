//! Certificate helpers for attestation: parsing with `x509-cert`, public keys from SubjectPublicKeyInfo,
//! extensions by OID, and a minimal DER reader for the attestation extensions x509-cert does not model
//! (Android key description, Apple nonce).

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use x509_cert::Certificate;
use x509_cert::der::{Decode, oid::ObjectIdentifier};

/// Why a certificate was refused; the caller names the attestation format.
pub type CertResult<T> = Result<T, String>;

/// The largest certificate accepted.
pub const MAX_CERT_LEN: usize = 8 * 1024;

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const ED25519: &str = "1.3.101.112";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const P521: &str = "1.3.132.0.35";

/// Parses one DER certificate.
pub fn parse_cert(der: &[u8]) -> CertResult<Certificate> {
    if der.len() > MAX_CERT_LEN {
        return Err("certificate too large".into());
    }
    Certificate::from_der(der).map_err(|e| format!("certificate does not parse: {e}"))
}

/// The public key of a certificate: its algorithm family and the key bytes aws-lc-rs parses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertKey {
    /// An EC point on the named curve (OID string).
    Ec {
        /// Curve OID.
        curve: String,
        /// Uncompressed point.
        point: Vec<u8>,
    },
    /// PKCS#1 `RSAPublicKey` DER.
    Rsa(Vec<u8>),
    /// Raw Ed25519 key.
    Ed25519(Vec<u8>),
}

/// The certificate's subject public key.
pub fn cert_key(cert: &Certificate) -> CertResult<CertKey> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or("public key has unused bits")?
        .to_vec();
    let alg = spki.algorithm.oid.to_string();
    match alg.as_str() {
        EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or("EC key without a named curve")?
                .to_string();
            Ok(CertKey::Ec { curve, point: bits })
        }
        RSA_ENCRYPTION => Ok(CertKey::Rsa(bits)),
        ED25519 => Ok(CertKey::Ed25519(bits)),
        other => Err(format!("unsupported certificate key algorithm {other}")),
    }
}

/// Verifies an attestation signature made with the certificate's key under COSE algorithm `alg`.
pub fn verify_with_cert(
    cert: &Certificate,
    alg: i64,
    message: &[u8],
    sig: &[u8],
) -> CertResult<()> {
    let key = cert_key(cert)?;
    let (algorithm, bytes): (&'static dyn VerificationAlgorithm, Vec<u8>) = match (&key, alg) {
        (CertKey::Ec { curve, point }, -7) if curve == P256 => {
            (&signature::ECDSA_P256_SHA256_ASN1, point.clone())
        }
        (CertKey::Ec { curve, point }, -35) if curve == P384 => {
            (&signature::ECDSA_P384_SHA384_ASN1, point.clone())
        }
        (CertKey::Ec { curve, point }, -36) if curve == P521 => {
            (&signature::ECDSA_P521_SHA512_ASN1, point.clone())
        }
        (CertKey::Rsa(der), -257) => (&signature::RSA_PKCS1_2048_8192_SHA256, der.clone()),
        (CertKey::Rsa(der), -37) => (&signature::RSA_PSS_2048_8192_SHA256, der.clone()),
        (CertKey::Rsa(der), -65535) => (
            &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            der.clone(),
        ),
        (CertKey::Ed25519(raw), -8) => (&signature::ED25519, raw.clone()),
        _ => {
            return Err(format!(
                "algorithm {alg} does not match the certificate key"
            ));
        }
    };
    ParsedPublicKey::new(algorithm, bytes)
        .map_err(|e| format!("certificate key rejected: {e}"))?
        .verify_sig(message, sig)
        .map_err(|_| "signature does not verify with the certificate key".into())
}

/// The value of the extension with `oid_str`, and whether it is critical.
pub fn extension<'a>(cert: &'a Certificate, oid_str: &str) -> Option<(&'a [u8], bool)> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id.to_string() == oid_str)
        .map(|e| (e.extn_value.as_bytes(), e.critical))
}

/// `true` when the certificate is version 3.
pub fn is_v3(cert: &Certificate) -> bool {
    cert.tbs_certificate.version == x509_cert::certificate::Version::V3
}

/// `Some(ca)` from the basic constraints extension; `None` when it is absent.
pub fn basic_constraints_ca(cert: &Certificate) -> CertResult<Option<bool>> {
    match extension(cert, "2.5.29.19") {
        None => Ok(None),
        Some((value, _)) => x509_cert::ext::pkix::BasicConstraints::from_der(value)
            .map(|bc| Some(bc.ca))
            .map_err(|e| format!("basic constraints do not parse: {e}")),
    }
}

/// Subject attribute values by OID (C, O, OU, CN, ...), as text.
pub fn subject_attribute(cert: &Certificate, oid_str: &str) -> Option<String> {
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find_map(|atv| {
            (atv.oid.to_string() == oid_str)
                .then(|| String::from_utf8_lossy(atv.value.value()).into_owned())
        })
}

/// `true` when the subject is an empty name.
pub fn subject_is_empty(cert: &Certificate) -> bool {
    cert.tbs_certificate.subject.0.is_empty()
}

/// The certificate's extended key usages.
pub fn extended_key_usages(cert: &Certificate) -> CertResult<Vec<String>> {
    match extension(cert, "2.5.29.37") {
        None => Ok(Vec::new()),
        Some((value, _)) => x509_cert::ext::pkix::ExtendedKeyUsage::from_der(value)
            .map(|eku| eku.0.iter().map(ToString::to_string).collect())
            .map_err(|e| format!("extended key usage does not parse: {e}")),
    }
}

/// One DER TLV: tag class and constructed bit in `class`, the tag number, and the contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The first identifier octet with the tag number bits cleared (class and constructed bits).
    pub class: u8,
    /// The tag number (high-tag-number form decoded).
    pub number: u32,
    /// The contents octets.
    pub value: &'a [u8],
}

/// Reads one DER TLV from the front of `input`, returning it and the rest.
pub fn read_tlv(input: &[u8]) -> CertResult<(Tlv<'_>, &[u8])> {
    let err = || "truncated DER".to_string();
    let (&first, mut rest) = input.split_first().ok_or_else(err)?;
    let class = first & 0xe0;
    let mut number = u32::from(first & 0x1f);
    if number == 0x1f {
        number = 0;
        loop {
            let (&b, r) = rest.split_first().ok_or_else(err)?;
            rest = r;
            number = number.checked_mul(128).ok_or("DER tag too large")? | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let (&len0, r) = rest.split_first().ok_or_else(err)?;
    rest = r;
    let len = if len0 < 0x80 {
        usize::from(len0)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("bad DER length".into());
        }
        let (len_bytes, r) = rest.split_at(n);
        rest = r;
        len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return Err(err());
    }
    let (value, rest) = rest.split_at(len);
    Ok((
        Tlv {
            class,
            number,
            value,
        },
        rest,
    ))
}

/// All TLVs inside `contents`.
pub fn read_all(mut contents: &[u8]) -> CertResult<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        if out.len() > 256 {
            return Err("too many DER elements".into());
        }
        let (tlv, rest) = read_tlv(contents)?;
        out.push(tlv);
        contents = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_tag_numbers_and_long_lengths_are_read() {
        // [600] constructed, context-specific: BF 84 58, length 2, NULL.
        let (tlv, rest) = read_tlv(&[0xbf, 0x84, 0x58, 0x02, 0x05, 0x00, 0xff]).expect("tlv");
        assert_eq!(
            (tlv.class, tlv.number, tlv.value),
            (0xa0, 600, &[0x05, 0x00][..])
        );
        assert_eq!(rest, &[0xff]);
        let long = [&[0x04, 0x81, 0x80][..], &[7; 128]].concat();
        assert_eq!(read_tlv(&long).expect("tlv").0.value.len(), 128);
        assert!(read_tlv(&[0x04, 0x05, 0x00]).is_err());
        assert!(read_tlv(&[]).is_err());
    }
}
