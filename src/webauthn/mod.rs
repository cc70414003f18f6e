//! WebAuthn relying-party verification, written from the W3C Web Authentication Level 3 specification
//! (sections 5 to 8).
//!
//! This module is pure: no I/O, no database, no HTTP, no clock. The service hands it bytes, the expected challenge
//! and a policy, and gets back a typed outcome or a typed [`WebauthnError`]. What an outcome *means* (for example
//! whether a sign-counter regression refuses the login) is the service's decision.
//!
//! - [`options`]: `PublicKeyCredentialCreationOptions` and `PublicKeyCredentialRequestOptions` in their JSON form.
//! - [`json`]: the credential JSON sent by browsers (webauthn-json and `PublicKeyCredential.toJSON()` shapes).
//! - [`client_data`], [`auth_data`], [`cose`]: the parsed pieces of a response.
//! - [`attestation`]: the attestation statement formats `none`, `packed`, `fido-u2f`, `tpm`, `android-key`,
//!   `apple`.
//! - [`registration`] (section 7.1) and [`authentication`] (section 7.2): the ceremonies' verification procedures.
//!
//! Every parser bounds its input and never panics on bad input; the fuzz target in `tests/fuzz` checks that.

pub mod attestation;
pub mod auth_data;
pub mod authentication;
pub mod b64;
pub mod client_data;
pub mod cose;
mod der;
mod error;
pub mod json;
pub mod options;
pub mod registration;

pub use error::WebauthnError;

/// SHA-256, as used throughout WebAuthn (client data hash, rpIdHash).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The relying party as verification needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP id, e.g. `example.com`.
    pub id: String,
    /// Origins allowed in `clientDataJSON.origin`, compared exactly.
    pub origins: Vec<String>,
    /// Accept `crossOrigin: true` (the ceremony ran in a cross-origin iframe).
    pub allow_cross_origin: bool,
    /// Top-level origins accepted in `topOrigin` when `crossOrigin` is true.
    pub allowed_top_origins: Vec<String>,
}

impl RelyingParty {
    /// A relying party accepting only same-origin ceremonies from `origins`.
    pub fn new(id: impl Into<String>, origins: Vec<String>) -> Self {
        RelyingParty {
            id: id.into(),
            origins,
            allow_cross_origin: false,
            allowed_top_origins: Vec::new(),
        }
    }
}

/// The relying party's user-verification requirement for a ceremony.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserVerification {
    /// The UV flag must be set.
    Required,
    /// Asked for, not enforced.
    Preferred,
    /// Not asked for.
    Discouraged,
}

impl UserVerification {
    /// The WebAuthn JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            UserVerification::Required => "required",
            UserVerification::Preferred => "preferred",
            UserVerification::Discouraged => "discouraged",
        }
    }
}

/// Authenticator data flags (section 6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Flags {
    /// User present (bit 0).
    pub up: bool,
    /// User verified (bit 2).
    pub uv: bool,
    /// Backup eligible (bit 3).
    pub be: bool,
    /// Backup state (bit 4).
    pub bs: bool,
    /// Attested credential data included (bit 6).
    pub at: bool,
    /// Extension data included (bit 7).
    pub ed: bool,
}

impl Flags {
    /// Decodes the flags byte.
    pub fn from_byte(b: u8) -> Self {
        Flags {
            up: b & 0x01 != 0,
            uv: b & 0x04 != 0,
            be: b & 0x08 != 0,
            bs: b & 0x10 != 0,
            at: b & 0x40 != 0,
            ed: b & 0x80 != 0,
        }
    }

    /// Encodes the flags byte.
    pub fn to_byte(self) -> u8 {
        u8::from(self.up)
            | (u8::from(self.uv) << 2)
            | (u8::from(self.be) << 3)
            | (u8::from(self.bs) << 4)
            | (u8::from(self.at) << 6)
            | (u8::from(self.ed) << 7)
    }
}

/// Checks the UP, UV and backup flags common to both ceremonies (sections 7.1 steps 14-18, 7.2 steps 16-19).
fn check_flags(flags: Flags, uv: UserVerification) -> Result<(), WebauthnError> {
    if !flags.up {
        return Err(WebauthnError::UserNotPresent);
    }
    if uv == UserVerification::Required && !flags.uv {
        return Err(WebauthnError::UserVerificationRequired);
    }
    if flags.bs && !flags.be {
        return Err(WebauthnError::BackupStateWithoutEligibility);
    }
    Ok(())
}
