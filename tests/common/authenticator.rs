//! A hand-written software authenticator for tests. It can set every flag, counter, algorithm and attestation
//! format Tessera's checks need, and produce deliberately wrong responses through [`Tweaks`]. Its output is the
//! credential JSON a browser would send (webauthn-json shape, base64url without padding).

#![allow(dead_code)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;
use serde_json::{Value as Json, json};

/// Credential key algorithms the authenticator can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// P-256.
    ES256,
    /// P-384.
    ES384,
    /// Ed25519.
    EdDSA,
    /// RSA-2048 PKCS#1 v1.5 SHA-256.
    RS256,
}

impl Alg {
    /// COSE id.
    pub fn id(self) -> i64 {
        match self {
            Alg::ES256 => -7,
            Alg::ES384 => -35,
            Alg::EdDSA => -8,
            Alg::RS256 => -257,
        }
    }
}

/// Attestation formats the authenticator can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attestation {
    /// `none`.
    None,
    /// `packed` signed by the credential key.
    PackedSelf,
    /// `packed` with an attestation certificate.
    PackedX5c,
    /// `fido-u2f` (ES256 credentials only).
    FidoU2f,
}

enum Key {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(aws_lc_rs::rsa::KeyPair),
}

impl Key {
    fn generate(alg: Alg) -> Self {
        match alg {
            Alg::ES256 => {
                Key::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).expect("p256"))
            }
            Alg::ES384 => {
                Key::Ec(EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).expect("p384"))
            }
            Alg::EdDSA => Key::Ed(Ed25519KeyPair::generate().expect("ed25519")),
            Alg::RS256 => Key::Rsa(
                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa"),
            ),
        }
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Key::Ec(k) => k.sign(&rng, msg).expect("sign").as_ref().to_vec(),
            Key::Ed(k) => k.sign(msg).as_ref().to_vec(),
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .expect("sign");
                sig
            }
        }
    }

    fn cose(&self, alg: Alg) -> Value {
        let i = |n: i64| Value::Integer(n.into());
        match self {
            Key::Ec(k) => {
                let point = k.public_key().as_ref();
                let size = (point.len() - 1) / 2;
                let crv = if alg == Alg::ES256 { 1 } else { 2 };
                Value::Map(vec![
                    (i(1), i(2)),
                    (i(3), i(alg.id())),
                    (i(-1), i(crv)),
                    (i(-2), Value::Bytes(point[1..=size].to_vec())),
                    (i(-3), Value::Bytes(point[1 + size..].to_vec())),
                ])
            }
            Key::Ed(k) => Value::Map(vec![
                (i(1), i(1)),
                (i(3), i(-8)),
                (i(-1), i(6)),
                (i(-2), Value::Bytes(k.public_key().as_ref().to_vec())),
            ]),
            Key::Rsa(k) => {
                let public = k.public_key();
                Value::Map(vec![
                    (i(1), i(3)),
                    (i(3), i(-257)),
                    (
                        i(-1),
                        Value::Bytes(public.modulus().big_endian_without_leading_zero().to_vec()),
                    ),
                    (
                        i(-2),
                        Value::Bytes(public.exponent().big_endian_without_leading_zero().to_vec()),
                    ),
                ])
            }
        }
    }

    fn ec_point(&self) -> Vec<u8> {
        match self {
            Key::Ec(k) => k.public_key().as_ref().to_vec(),
            _ => panic!("not an EC key"),
        }
    }
}

/// One stored credential.
pub struct Credential {
    /// Credential id.
    pub id: Vec<u8>,
    /// RP id it belongs to.
    pub rp_id: String,
    /// The user handle given at registration.
    pub user_handle: Vec<u8>,
    /// Its signature counter.
    pub sign_count: u32,
    key: Key,
    alg: Alg,
}

/// Deliberate deviations for negative tests; `None` means "behave correctly".
#[derive(Clone, Debug, Default)]
pub struct Tweaks {
    /// Replaces `clientDataJSON.type`.
    pub client_data_type: Option<String>,
    /// Replaces the origin.
    pub origin: Option<String>,
    /// Replaces the challenge.
    pub challenge: Option<Vec<u8>>,
    /// Hashes this RP id into the authenticator data instead of the real one.
    pub rp_id: Option<String>,
    /// Sets `crossOrigin`.
    pub cross_origin: Option<bool>,
    /// Flips a bit of the signature.
    pub corrupt_signature: bool,
    /// Appends a byte after the CBOR attestation object (registration) or authenticator data (assertion).
    pub trailing_bytes: bool,
    /// Cuts the last bytes off the attestation object or authenticator data.
    pub truncate: bool,
    /// Replaces the user handle in an assertion (`Some(None)` omits it).
    pub user_handle: Option<Option<Vec<u8>>>,
    /// Sets the signature counter of this assertion.
    pub sign_count: Option<u32>,
    /// Adds `n` bytes of padding to `clientDataJSON`.
    pub client_data_padding: usize,
    /// Uses this credential id for a new credential instead of a random one.
    pub credential_id: Option<Vec<u8>>,
}

/// The software authenticator.
pub struct TestAuthenticator {
    /// Algorithm of new credentials.
    pub alg: Alg,
    /// Attestation format of new credentials.
    pub attestation: Attestation,
    /// AAGUID.
    pub aaguid: [u8; 16],
    /// User presence flag.
    pub up: bool,
    /// User verification flag.
    pub uv: bool,
    /// Backup eligibility flag.
    pub be: bool,
    /// Backup state flag.
    pub bs: bool,
    /// Counter increment per assertion (0: the counter is always 0).
    pub counter_step: u32,
    /// Return the user handle in assertions.
    pub return_user_handle: bool,
    /// Transports reported at registration.
    pub transports: Vec<String>,
    /// Stored credentials.
    pub credentials: Vec<Credential>,
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .expect("base64url from the server")
}

fn sha256(b: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b);
    d.as_ref().try_into().expect("32 bytes")
}

fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).expect("cbor");
    out
}

/// A P-256 attestation key and its certificate (subject as section 8.2.1 requires, with the AAGUID extension).
fn attestation_cert(aaguid: &[u8; 16]) -> (EcdsaKeyPair, Vec<u8>) {
    let key =
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("attestation key");
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "DE");
    dn.push(rcgen::DnType::OrganizationName, "Tessera Test");
    dn.push(
        rcgen::DnType::OrganizationalUnitName,
        "Authenticator Attestation",
    );
    dn.push(rcgen::DnType::CommonName, "Tessera Test Authenticator");
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let mut octets = vec![0x04, 0x10];
    octets.extend_from_slice(aaguid);
    params
        .custom_extensions
        .push(rcgen::CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4],
            octets,
        ));
    let cert = params.self_signed(&key).expect("certificate");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
        .expect("pkcs8");
    (pair, cert.der().to_vec())
}

impl Default for TestAuthenticator {
    fn default() -> Self {
        TestAuthenticator {
            alg: Alg::ES256,
            attestation: Attestation::None,
            aaguid: [0x7e; 16],
            up: true,
            uv: true,
            be: true,
            bs: true,
            counter_step: 1,
            return_user_handle: true,
            transports: vec!["internal".into(), "hybrid".into()],
            credentials: Vec::new(),
        }
    }
}

impl TestAuthenticator {
    /// A platform passkey: ES256, UV, backed up, counter increasing, no attestation.
    pub fn new() -> Self {
        Self::default()
    }

    fn flags(&self, at: bool) -> u8 {
        u8::from(self.up)
            | (u8::from(self.uv) << 2)
            | (u8::from(self.be) << 3)
            | (u8::from(self.bs) << 4)
            | (u8::from(at) << 6)
    }

    fn client_data(&self, kind: &str, challenge: &[u8], origin: &str, t: &Tweaks) -> Vec<u8> {
        let mut cd = json!({
            "type": t.client_data_type.clone().unwrap_or_else(|| kind.to_string()),
            "challenge": b64(t.challenge.as_deref().unwrap_or(challenge)),
            "origin": t.origin.clone().unwrap_or_else(|| origin.to_string()),
        });
        if let Some(c) = t.cross_origin {
            cd["crossOrigin"] = json!(c);
        }
        if t.client_data_padding > 0 {
            cd["padding"] = json!("x".repeat(t.client_data_padding));
        }
        serde_json::to_vec(&cd).expect("client data")
    }

    /// Answers `navigator.credentials.create()` for creation options (the `publicKey` member, WebAuthn JSON).
    pub fn create(&mut self, options: &Json, origin: &str) -> Json {
        self.create_with(options, origin, &Tweaks::default())
    }

    /// As [`TestAuthenticator::create`], with deviations.
    pub fn create_with(&mut self, options: &Json, origin: &str, t: &Tweaks) -> Json {
        let rp_id = options["rp"]["id"].as_str().expect("rp.id").to_string();
        let challenge = unb64(options["challenge"].as_str().expect("challenge"));
        let user_handle = unb64(options["user"]["id"].as_str().expect("user.id"));
        let client_data_json = self.client_data("webauthn.create", &challenge, origin, t);
        let cdh = sha256(&client_data_json);

        let key = Key::generate(self.alg);
        let random: [u8; 32] = aws_lc_rs::rand::generate(&SystemRandom::new())
            .expect("rng")
            .expose();
        let id = t.credential_id.clone().unwrap_or_else(|| random.to_vec());
        let cose_key = key.cose(self.alg);
        let rp_id_hash = sha256(t.rp_id.as_deref().unwrap_or(&rp_id).as_bytes());
        let u2f = self.attestation == Attestation::FidoU2f;
        let mut auth_data = rp_id_hash.to_vec();
        auth_data.push(if u2f { 0x41 } else { self.flags(true) });
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&if u2f { [0; 16] } else { self.aaguid });
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cbor(&cose_key));

        let mut signed = auth_data.clone();
        signed.extend_from_slice(&cdh);
        let text = |s: &str| Value::Text(s.into());
        let (fmt, stmt) = match self.attestation {
            Attestation::None => ("none", vec![]),
            Attestation::PackedSelf => {
                let mut sig = key.sign(&signed);
                if t.corrupt_signature {
                    sig[8] ^= 1;
                }
                (
                    "packed",
                    vec![
                        (text("alg"), Value::Integer(self.alg.id().into())),
                        (text("sig"), Value::Bytes(sig)),
                    ],
                )
            }
            Attestation::PackedX5c => {
                let (att_key, cert) = attestation_cert(&self.aaguid);
                let mut sig = att_key
                    .sign(&SystemRandom::new(), &signed)
                    .expect("sign")
                    .as_ref()
                    .to_vec();
                if t.corrupt_signature {
                    sig[8] ^= 1;
                }
                (
                    "packed",
                    vec![
                        (text("alg"), Value::Integer((-7).into())),
                        (text("sig"), Value::Bytes(sig)),
                        (text("x5c"), Value::Array(vec![Value::Bytes(cert)])),
                    ],
                )
            }
            Attestation::FidoU2f => {
                let (att_key, cert) = attestation_cert(&[0; 16]);
                let mut data = vec![0u8];
                data.extend_from_slice(&rp_id_hash);
                data.extend_from_slice(&cdh);
                data.extend_from_slice(&id);
                data.extend_from_slice(&key.ec_point());
                let mut sig = att_key
                    .sign(&SystemRandom::new(), &data)
                    .expect("sign")
                    .as_ref()
                    .to_vec();
                if t.corrupt_signature {
                    sig[8] ^= 1;
                }
                (
                    "fido-u2f",
                    vec![
                        (text("sig"), Value::Bytes(sig)),
                        (text("x5c"), Value::Array(vec![Value::Bytes(cert)])),
                    ],
                )
            }
        };
        let mut attestation_object = cbor(&Value::Map(vec![
            (text("fmt"), text(fmt)),
            (text("attStmt"), Value::Map(stmt)),
            (text("authData"), Value::Bytes(auth_data)),
        ]));
        if t.trailing_bytes {
            attestation_object.push(0);
        }
        if t.truncate {
            attestation_object.truncate(attestation_object.len() - 10);
        }
        self.credentials.push(Credential {
            id: id.to_vec(),
            rp_id,
            user_handle,
            sign_count: 0,
            key,
            alg: self.alg,
        });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(&client_data_json),
                "attestationObject": b64(&attestation_object),
                "transports": self.transports,
            },
            "clientExtensionResults": {"credProps": {"rk": true}},
        })
    }

    /// Answers `navigator.credentials.get()` for request options (the `publicKey` member) with the first stored
    /// credential that is allowed (any of this RP's for an empty allow list).
    pub fn get(&mut self, options: &Json, origin: &str) -> Json {
        self.get_with(options, origin, &Tweaks::default())
    }

    /// As [`TestAuthenticator::get`], with deviations.
    pub fn get_with(&mut self, options: &Json, origin: &str, t: &Tweaks) -> Json {
        let rp_id = options["rpId"].as_str().expect("rpId").to_string();
        let allowed: Vec<Vec<u8>> = options["allowCredentials"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| unb64(d["id"].as_str().expect("id")))
                    .collect()
            })
            .unwrap_or_default();
        let index = self
            .credentials
            .iter()
            .position(|c| c.rp_id == rp_id && (allowed.is_empty() || allowed.contains(&c.id)))
            .expect("a credential for this request");
        self.assert_with(index, options, origin, t)
    }

    /// Produces an assertion with credential `index`, whatever the allow list says.
    pub fn assert_with(&mut self, index: usize, options: &Json, origin: &str, t: &Tweaks) -> Json {
        let challenge = unb64(options["challenge"].as_str().expect("challenge"));
        let rp_id = options["rpId"].as_str().expect("rpId").to_string();
        let flags = self.flags(false);
        let step = self.counter_step;
        let return_handle = self.return_user_handle;
        let client_data_json = self.client_data("webauthn.get", &challenge, origin, t);
        let cred = &mut self.credentials[index];
        cred.sign_count = cred.sign_count.wrapping_add(step);
        let count = t.sign_count.unwrap_or(cred.sign_count);
        let mut auth_data = sha256(t.rp_id.as_deref().unwrap_or(&rp_id).as_bytes()).to_vec();
        auth_data.push(flags);
        auth_data.extend_from_slice(&count.to_be_bytes());
        if t.trailing_bytes {
            auth_data.push(0);
        }
        if t.truncate {
            auth_data.truncate(30);
        }
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha256(&client_data_json));
        let mut sig = cred.key.sign(&signed);
        if t.corrupt_signature {
            let last = sig.len() - 1;
            sig[last] ^= 1;
        }
        let handle = match &t.user_handle {
            Some(h) => h.clone(),
            None => return_handle.then(|| cred.user_handle.clone()),
        };
        json!({
            "id": b64(&cred.id),
            "rawId": b64(&cred.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(&client_data_json),
                "authenticatorData": b64(&auth_data),
                "signature": b64(&sig),
                "userHandle": handle.map(|h| b64(&h)),
            },
            "clientExtensionResults": {},
        })
    }
}
