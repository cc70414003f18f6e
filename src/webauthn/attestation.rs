//! Attestation objects and statement formats (sections 6.5 and 8): `none`, `packed` (self and x5c), `fido-u2f`,
//! `tpm`, `android-key` and `apple`.
//!
//! Verification here checks each format's procedure: the signature, the binding to the authenticator data and
//! client data, and the format's certificate requirements. It returns the attestation type and the certificate
//! chain; whether that chain leads to a trusted root is policy, decided by the caller.

use ciborium::Value;

use super::auth_data::AuthenticatorData;
use super::cose::{CoseAlgorithm, CoseKey, KeyMaterial};
use super::der::{self, CertKey, read_all, read_tlv};
use super::{WebauthnError, sha256};

/// The largest attestation object accepted.
pub const MAX_ATTESTATION_OBJECT_LEN: usize = 32 * 1024;
/// The most certificates accepted in `x5c`.
const MAX_X5C: usize = 5;

/// The attestation type a verification procedure establishes (section 6.5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttestationType {
    /// No attestation statement.
    None,
    /// Signed by the credential key itself.
    SelfAttestation,
    /// Signed by an attestation key whose certificate identifies a batch of authenticators.
    Basic,
    /// Signed by a key certified by an attestation CA (TPM).
    AttCa,
    /// Signed by an anonymising CA (Apple).
    AnonCa,
}

impl AttestationType {
    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationType::None => "none",
            AttestationType::SelfAttestation => "self",
            AttestationType::Basic => "basic",
            AttestationType::AttCa => "attca",
            AttestationType::AnonCa => "anonca",
        }
    }
}

/// What an attestation statement established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationResult {
    /// The statement format (`fmt`).
    pub format: String,
    /// The attestation type.
    pub kind: AttestationType,
    /// The certificate chain (DER), leaf first; empty for `none` and self attestation.
    pub x5c: Vec<Vec<u8>>,
}

/// Attestation checks a relying party may relax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationPolicy {
    /// For `android-key`: require `origin == KM_ORIGIN_GENERATED` and `purpose` to contain `KM_PURPOSE_SIGN`.
    pub android_key_require_generated_sign_key: bool,
}

impl Default for AttestationPolicy {
    fn default() -> Self {
        AttestationPolicy {
            android_key_require_generated_sign_key: true,
        }
    }
}

/// A decoded attestation object.
#[derive(Clone, Debug, PartialEq)]
pub struct AttestationObject {
    /// `fmt`.
    pub fmt: String,
    /// `attStmt`.
    pub att_stmt: Value,
    /// Raw `authData` bytes.
    pub auth_data_raw: Vec<u8>,
}

fn text_key<'a>(map: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    map.iter().find_map(|(k, v)| match k {
        Value::Text(t) if t == key => Some(v),
        _ => None,
    })
}

impl AttestationObject {
    /// Decodes the CBOR attestation object; nothing may follow it.
    pub fn parse(bytes: &[u8]) -> Result<Self, WebauthnError> {
        if bytes.len() > MAX_ATTESTATION_OBJECT_LEN {
            return Err(WebauthnError::TooLarge("attestationObject"));
        }
        let mut rest = bytes;
        let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, 16)
            .map_err(|_| WebauthnError::InvalidCbor("attestationObject"))?;
        if !rest.is_empty() {
            return Err(WebauthnError::TrailingBytes("attestationObject"));
        }
        let Value::Map(map) = value else {
            return Err(WebauthnError::InvalidCbor("attestationObject"));
        };
        let fmt = match text_key(&map, "fmt") {
            Some(Value::Text(t)) => t.clone(),
            _ => return Err(WebauthnError::InvalidCbor("attestationObject.fmt")),
        };
        let att_stmt = match text_key(&map, "attStmt") {
            Some(v @ Value::Map(_)) => v.clone(),
            _ => return Err(WebauthnError::InvalidCbor("attestationObject.attStmt")),
        };
        let auth_data_raw = match text_key(&map, "authData") {
            Some(Value::Bytes(b)) => b.clone(),
            _ => return Err(WebauthnError::InvalidCbor("attestationObject.authData")),
        };
        Ok(AttestationObject {
            fmt,
            att_stmt,
            auth_data_raw,
        })
    }
}

/// The statement's fields.
struct Stmt<'a> {
    map: &'a [(Value, Value)],
    format: &'static str,
}

impl<'a> Stmt<'a> {
    fn err(&self, reason: impl Into<String>) -> WebauthnError {
        WebauthnError::InvalidAttestation {
            format: self.format,
            reason: reason.into(),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        text_key(self.map, key)
    }

    fn alg(&self) -> Result<i64, WebauthnError> {
        match self.get("alg") {
            Some(Value::Integer(i)) => {
                i64::try_from(i128::from(*i)).map_err(|_| self.err("alg out of range"))
            }
            _ => Err(self.err("alg missing")),
        }
    }

    fn bytes(&self, key: &str) -> Result<&'a [u8], WebauthnError> {
        match self.get(key) {
            Some(Value::Bytes(b)) => Ok(b),
            _ => Err(self.err(format!("{key} missing"))),
        }
    }

    fn text(&self, key: &str) -> Result<&'a str, WebauthnError> {
        match self.get(key) {
            Some(Value::Text(t)) => Ok(t),
            _ => Err(self.err(format!("{key} missing"))),
        }
    }

    /// `x5c` as DER certificates; `None` when absent.
    fn x5c(&self) -> Result<Option<Vec<Vec<u8>>>, WebauthnError> {
        match self.get("x5c") {
            None => Ok(None),
            Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_X5C => items
                .iter()
                .map(|c| match c {
                    Value::Bytes(b) => Ok(b.clone()),
                    _ => Err(self.err("x5c entries must be byte strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(self.err("x5c must be a non-empty array of at most 5 certificates")),
        }
    }

    fn cert(&self, der: &[u8]) -> Result<x509_cert::Certificate, WebauthnError> {
        der::parse_cert(der).map_err(|e| self.err(e))
    }
}

/// `authData || clientDataHash`, the message most formats sign.
fn to_be_signed(auth_data_raw: &[u8], client_data_hash: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(auth_data_raw.len() + 32);
    m.extend_from_slice(auth_data_raw);
    m.extend_from_slice(client_data_hash);
    m
}

/// `true` when the certificate's key is the credential public key.
fn cert_key_is(cert: &x509_cert::Certificate, key: &CoseKey) -> bool {
    match (der::cert_key(cert), &key.material) {
        (Ok(CertKey::Ec { point, .. }), KeyMaterial::Ec2 { .. }) => point == key.public_key_bytes(),
        (Ok(CertKey::Rsa(der)), KeyMaterial::Rsa { .. }) => der == key.public_key_bytes(),
        (Ok(CertKey::Ed25519(raw)), KeyMaterial::Ed25519(k)) => raw == k,
        _ => false,
    }
}

/// The AAGUID extension (1.3.6.1.4.1.45724.1.1.4), when present, must match and must not be critical.
fn check_aaguid_extension(
    stmt: &Stmt<'_>,
    cert: &x509_cert::Certificate,
    aaguid: &[u8; 16],
) -> Result<(), WebauthnError> {
    if let Some((value, critical)) = der::extension(cert, "1.3.6.1.4.1.45724.1.1.4") {
        if critical {
            return Err(stmt.err("the AAGUID extension must not be critical"));
        }
        let (tlv, rest) = read_tlv(value).map_err(|e| stmt.err(e))?;
        if tlv.number != 4 || !rest.is_empty() || tlv.value != aaguid {
            return Err(stmt.err("the certificate's AAGUID does not match the authenticator data"));
        }
    }
    Ok(())
}

/// Verifies the attestation statement of a registration.
pub fn verify(
    object: &AttestationObject,
    auth_data: &AuthenticatorData,
    client_data_hash: &[u8; 32],
    policy: &AttestationPolicy,
) -> Result<AttestationResult, WebauthnError> {
    let credential = auth_data
        .attested_credential
        .as_ref()
        .ok_or(WebauthnError::MissingAttestedCredentialData)?;
    let Value::Map(map) = &object.att_stmt else {
        return Err(WebauthnError::InvalidCbor("attStmt"));
    };
    let format: &'static str = match object.fmt.as_str() {
        "none" => "none",
        "packed" => "packed",
        "fido-u2f" => "fido-u2f",
        "tpm" => "tpm",
        "android-key" => "android-key",
        "apple" => "apple",
        other => {
            return Err(WebauthnError::UnsupportedAttestationFormat(
                other.chars().take(32).collect(),
            ));
        }
    };
    let stmt = Stmt { map, format };
    let signed = to_be_signed(&object.auth_data_raw, client_data_hash);
    let result = |kind, x5c| AttestationResult {
        format: format.to_string(),
        kind,
        x5c,
    };

    match format {
        "none" => {
            if !map.is_empty() {
                return Err(stmt.err("attStmt must be empty"));
            }
            Ok(result(AttestationType::None, Vec::new()))
        }
        "packed" => {
            let alg = stmt.alg()?;
            let sig = stmt.bytes("sig")?;
            match stmt.x5c()? {
                Some(x5c) => {
                    let leaf = stmt.cert(&x5c[0])?;
                    der::verify_with_cert(&leaf, alg, &signed, sig).map_err(|e| stmt.err(e))?;
                    if !der::is_v3(&leaf) {
                        return Err(stmt.err("certificate must be version 3"));
                    }
                    for (name, oid) in [("C", "2.5.4.6"), ("O", "2.5.4.10"), ("CN", "2.5.4.3")] {
                        if der::subject_attribute(&leaf, oid).is_none_or(|v| v.is_empty()) {
                            return Err(stmt.err(format!("certificate subject lacks {name}")));
                        }
                    }
                    if der::subject_attribute(&leaf, "2.5.4.11").as_deref()
                        != Some("Authenticator Attestation")
                    {
                        return Err(stmt
                            .err("certificate subject OU must be \"Authenticator Attestation\""));
                    }
                    if der::basic_constraints_ca(&leaf).map_err(|e| stmt.err(e))? == Some(true) {
                        return Err(stmt.err("attestation certificate must not be a CA"));
                    }
                    check_aaguid_extension(&stmt, &leaf, &credential.aaguid)?;
                    Ok(result(AttestationType::Basic, x5c))
                }
                None => {
                    if alg != credential.public_key.alg.id() {
                        return Err(
                            stmt.err("self attestation alg differs from the credential key's")
                        );
                    }
                    credential
                        .public_key
                        .verify(&signed, sig)
                        .map_err(|_| stmt.err("self attestation signature does not verify"))?;
                    Ok(result(AttestationType::SelfAttestation, Vec::new()))
                }
            }
        }
        "fido-u2f" => {
            let sig = stmt.bytes("sig")?;
            let x5c = stmt.x5c()?.ok_or_else(|| stmt.err("x5c missing"))?;
            if x5c.len() != 1 {
                return Err(stmt.err("x5c must hold exactly one certificate"));
            }
            let cert = stmt.cert(&x5c[0])?;
            match der::cert_key(&cert) {
                Ok(CertKey::Ec { curve, .. }) if curve == "1.2.840.10045.3.1.7" => {}
                _ => return Err(stmt.err("the certificate key must be P-256")),
            }
            let KeyMaterial::Ec2 { curve: 1, x, y } = &credential.public_key.material else {
                return Err(stmt.err("the credential key must be P-256"));
            };
            let mut data = Vec::with_capacity(1 + 32 + 32 + credential.credential_id.len() + 65);
            data.push(0);
            data.extend_from_slice(&auth_data.rp_id_hash);
            data.extend_from_slice(client_data_hash);
            data.extend_from_slice(&credential.credential_id);
            data.push(0x04);
            data.extend_from_slice(x);
            data.extend_from_slice(y);
            der::verify_with_cert(&cert, CoseAlgorithm::ES256.id(), &data, sig)
                .map_err(|e| stmt.err(e))?;
            Ok(result(AttestationType::Basic, x5c))
        }
        "apple" => {
            let x5c = stmt.x5c()?.ok_or_else(|| stmt.err("x5c missing"))?;
            let leaf = stmt.cert(&x5c[0])?;
            let nonce = sha256(&signed);
            let (ext, _) = der::extension(&leaf, "1.2.840.113635.100.8.2")
                .ok_or_else(|| stmt.err("nonce extension missing"))?;
            // SEQUENCE { [1] EXPLICIT OCTET STRING nonce }
            let found = (|| -> der::CertResult<Vec<u8>> {
                let (seq, _) = read_tlv(ext)?;
                let (tagged, _) = read_tlv(seq.value)?;
                let (octets, _) = read_tlv(tagged.value)?;
                if seq.number != 16 || tagged.number != 1 || octets.number != 4 {
                    return Err("unexpected structure".into());
                }
                Ok(octets.value.to_vec())
            })()
            .map_err(|e| stmt.err(format!("nonce extension: {e}")))?;
            if found != nonce {
                return Err(stmt.err("nonce does not match authenticator and client data"));
            }
            if !cert_key_is(&leaf, &credential.public_key) {
                return Err(stmt.err("the certificate key is not the credential key"));
            }
            Ok(result(AttestationType::AnonCa, x5c))
        }
        "android-key" => {
            let alg = stmt.alg()?;
            let sig = stmt.bytes("sig")?;
            let x5c = stmt.x5c()?.ok_or_else(|| stmt.err("x5c missing"))?;
            let leaf = stmt.cert(&x5c[0])?;
            der::verify_with_cert(&leaf, alg, &signed, sig).map_err(|e| stmt.err(e))?;
            if !cert_key_is(&leaf, &credential.public_key) {
                return Err(stmt.err("the certificate key is not the credential key"));
            }
            let (ext, _) = der::extension(&leaf, "1.3.6.1.4.1.11129.2.1.17")
                .ok_or_else(|| stmt.err("key description extension missing"))?;
            check_android_key_description(&stmt, ext, client_data_hash, policy)?;
            Ok(result(AttestationType::Basic, x5c))
        }
        "tpm" => verify_tpm(&stmt, &signed, credential, policy)
            .map(|x5c| result(AttestationType::AttCa, x5c)),
        _ => Err(WebauthnError::UnsupportedAttestationFormat(
            format.to_string(),
        )),
    }
}

/// Checks the Android key description (KeyDescription ASN.1).
fn check_android_key_description(
    stmt: &Stmt<'_>,
    ext: &[u8],
    client_data_hash: &[u8; 32],
    policy: &AttestationPolicy,
) -> Result<(), WebauthnError> {
    let (seq, _) = read_tlv(ext).map_err(|e| stmt.err(e))?;
    let fields = read_all(seq.value).map_err(|e| stmt.err(e))?;
    if seq.number != 16 || fields.len() < 8 {
        return Err(stmt.err("key description has the wrong shape"));
    }
    if fields[4].number != 4 || fields[4].value != client_data_hash {
        return Err(stmt.err("attestationChallenge is not the client data hash"));
    }
    let mut purposes = Vec::new();
    let mut origins = Vec::new();
    for list in [&fields[6], &fields[7]] {
        for item in read_all(list.value).map_err(|e| stmt.err(e))? {
            match item.number {
                600 => return Err(stmt.err("allApplications must not be present")),
                1 => {
                    // [1] EXPLICIT SET OF INTEGER
                    let (set, _) = read_tlv(item.value).map_err(|e| stmt.err(e))?;
                    for p in read_all(set.value).map_err(|e| stmt.err(e))? {
                        purposes.push(p.value.to_vec());
                    }
                }
                702 => {
                    let (v, _) = read_tlv(item.value).map_err(|e| stmt.err(e))?;
                    origins.push(v.value.to_vec());
                }
                _ => {}
            }
        }
    }
    if policy.android_key_require_generated_sign_key {
        if origins.is_empty() || origins.iter().any(|o| o.as_slice() != [0]) {
            return Err(stmt.err("the key was not generated in the keystore (origin)"));
        }
        if !purposes.iter().any(|p| p.as_slice() == [2]) {
            return Err(stmt.err("the key's purpose does not include signing"));
        }
    }
    Ok(())
}

/// A big-endian reader over TPM structures.
struct TpmReader<'a>(&'a [u8]);

impl<'a> TpmReader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn sized(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
}

const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ALG_NULL: u16 = 0x0010;

fn tpm_hash(alg: u16, data: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::digest;
    let algorithm = match alg {
        0x0004 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        0x000B => &digest::SHA256,
        0x000C => &digest::SHA384,
        0x000D => &digest::SHA512,
        _ => return None,
    };
    Some(digest::digest(algorithm, data).as_ref().to_vec())
}

fn cose_hash(alg: i64, data: &[u8]) -> Option<Vec<u8>> {
    match alg {
        -7 | -257 | -37 | -8 => tpm_hash(0x000B, data),
        -35 => tpm_hash(0x000C, data),
        -36 => tpm_hash(0x000D, data),
        -65535 => tpm_hash(0x0004, data),
        _ => None,
    }
}

fn verify_tpm(
    stmt: &Stmt<'_>,
    signed: &[u8],
    credential: &super::auth_data::AttestedCredential,
    _policy: &AttestationPolicy,
) -> Result<Vec<Vec<u8>>, WebauthnError> {
    if stmt.text("ver")? != "2.0" {
        return Err(stmt.err("ver must be \"2.0\""));
    }
    let alg = stmt.alg()?;
    let sig = stmt.bytes("sig")?;
    let cert_info = stmt.bytes("certInfo")?;
    let pub_area = stmt.bytes("pubArea")?;
    let x5c = stmt.x5c()?.ok_or_else(|| stmt.err("x5c missing"))?;
    let truncated = || stmt.err("pubArea truncated or unsupported");

    // pubArea (TPMT_PUBLIC) must describe the credential public key.
    let mut r = TpmReader(pub_area);
    let kind = r.u16().ok_or_else(truncated)?;
    let name_alg = r.u16().ok_or_else(truncated)?;
    r.u32().ok_or_else(truncated)?; // objectAttributes
    r.sized().ok_or_else(truncated)?; // authPolicy
    let symmetric = r.u16().ok_or_else(truncated)?;
    let scheme = r.u16().ok_or_else(truncated)?;
    if symmetric != TPM_ALG_NULL || scheme != TPM_ALG_NULL {
        return Err(stmt.err("pubArea symmetric and scheme must be TPM_ALG_NULL"));
    }
    match (kind, &credential.public_key.material) {
        (TPM_ALG_ECC, KeyMaterial::Ec2 { curve, x, y }) => {
            let curve_id = r.u16().ok_or_else(truncated)?;
            let kdf = r.u16().ok_or_else(truncated)?;
            let ux = r.sized().ok_or_else(truncated)?;
            let uy = r.sized().ok_or_else(truncated)?;
            let want_curve = match curve {
                1 => 0x0003,
                2 => 0x0004,
                _ => 0x0005,
            };
            if curve_id != want_curve
                || kdf != TPM_ALG_NULL
                || ux != x.as_slice()
                || uy != y.as_slice()
            {
                return Err(stmt.err("pubArea does not match the credential public key"));
            }
        }
        (TPM_ALG_RSA, KeyMaterial::Rsa { n, e }) => {
            r.u16().ok_or_else(truncated)?; // keyBits
            let exponent = r.u32().ok_or_else(truncated)?;
            let unique = r.sized().ok_or_else(truncated)?;
            let exponent = if exponent == 0 { 65537 } else { exponent };
            let e_value = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            if unique != n.as_slice() || u64::from(exponent) != e_value {
                return Err(stmt.err("pubArea does not match the credential public key"));
            }
        }
        _ => return Err(stmt.err("pubArea type does not match the credential public key")),
    }
    if !r.0.is_empty() {
        return Err(stmt.err("trailing bytes after pubArea"));
    }

    // certInfo (TPMS_ATTEST).
    let bad = || stmt.err("certInfo truncated");
    let mut c = TpmReader(cert_info);
    if c.u32().ok_or_else(bad)? != 0xff54_4347 {
        return Err(stmt.err("certInfo magic is not TPM_GENERATED_VALUE"));
    }
    if c.u16().ok_or_else(bad)? != 0x8017 {
        return Err(stmt.err("certInfo type is not TPM_ST_ATTEST_CERTIFY"));
    }
    c.sized().ok_or_else(bad)?; // qualifiedSigner
    let extra_data = c.sized().ok_or_else(bad)?;
    c.take(17).ok_or_else(bad)?; // clockInfo
    c.take(8).ok_or_else(bad)?; // firmwareVersion
    let name = c.sized().ok_or_else(bad)?;
    c.sized().ok_or_else(bad)?; // qualifiedName
    if !c.0.is_empty() {
        return Err(stmt.err("trailing bytes after certInfo"));
    }
    if cose_hash(alg, signed).as_deref() != Some(extra_data) {
        return Err(stmt.err("certInfo extraData is not the hash of authData and client data"));
    }
    let mut expected_name = name_alg.to_be_bytes().to_vec();
    expected_name.extend(
        tpm_hash(name_alg, pub_area).ok_or_else(|| stmt.err("unsupported pubArea nameAlg"))?,
    );
    if name != expected_name.as_slice() {
        return Err(stmt.err("certInfo attested name is not the name of pubArea"));
    }

    // The AIK certificate.
    let aik = stmt.cert(&x5c[0])?;
    der::verify_with_cert(&aik, alg, cert_info, sig).map_err(|e| stmt.err(e))?;
    if !der::is_v3(&aik) {
        return Err(stmt.err("AIK certificate must be version 3"));
    }
    if !der::subject_is_empty(&aik) {
        return Err(stmt.err("AIK certificate subject must be empty"));
    }
    if der::extension(&aik, "2.5.29.17").is_none() {
        return Err(stmt.err("AIK certificate lacks the subject alternative name"));
    }
    if !der::extended_key_usages(&aik)
        .map_err(|e| stmt.err(e))?
        .iter()
        .any(|u| u == "2.23.133.8.3")
    {
        return Err(stmt.err("AIK certificate lacks the tcg-kp-AIKCertificate usage"));
    }
    if der::basic_constraints_ca(&aik).map_err(|e| stmt.err(e))? == Some(true) {
        return Err(stmt.err("AIK certificate must not be a CA"));
    }
    check_aaguid_extension(stmt, &aik, &credential.aaguid)?;
    Ok(x5c)
}
