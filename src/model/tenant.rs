//! A tenant's configuration and its validation rules.

use serde::{Deserialize, Serialize};

/// WebAuthn `userVerification`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// UV must be performed; assertions without the UV flag are refused.
    Required,
    /// UV is asked for but not enforced.
    Preferred,
    /// UV should not be performed.
    Discouraged,
}

/// WebAuthn `attestation` conveyance preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttestationPreference {
    /// No attestation.
    None,
    /// Attestation, possibly anonymised by the client.
    Indirect,
    /// The authenticator's attestation as produced.
    Direct,
    /// Enterprise attestation.
    Enterprise,
}

/// WebAuthn `residentKey` requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResidentKey {
    /// Server-side credentials preferred.
    Discouraged,
    /// Discoverable credentials preferred.
    Preferred,
    /// Discoverable credentials required.
    Required,
}

/// WebAuthn `authenticatorAttachment`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attachment {
    /// Built into the device.
    #[serde(rename = "platform")]
    Platform,
    /// A roaming authenticator (security key, phone).
    #[serde(rename = "cross-platform")]
    CrossPlatform,
}

/// JOSE algorithm of a tenant's token-signing keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenAlgorithm {
    /// ECDSA P-256 with SHA-256 (the default).
    ES256,
    /// Ed25519.
    EdDSA,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys.
    RS256,
}

impl TokenAlgorithm {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAlgorithm::ES256 => "ES256",
            TokenAlgorithm::EdDSA => "EdDSA",
            TokenAlgorithm::RS256 => "RS256",
        }
    }

    /// Parses a JOSE name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(TokenAlgorithm::ES256),
            "EdDSA" => Some(TokenAlgorithm::EdDSA),
            "RS256" => Some(TokenAlgorithm::RS256),
            _ => None,
        }
    }
}

/// The second-factor (MFA) ceremony profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaProfile {
    /// Ceremony timeout in milliseconds.
    pub timeout_ms: u64,
    /// User verification for MFA ceremonies.
    pub user_verification: UserVerification,
    /// Authenticator attachment for MFA registration.
    pub attachment: Option<Attachment>,
    /// Attestation preference for MFA registration.
    pub attestation: AttestationPreference,
    /// Resident key requirement for MFA registration.
    pub resident_key: ResidentKey,
}

impl Default for MfaProfile {
    fn default() -> Self {
        MfaProfile {
            timeout_ms: 60_000,
            user_verification: UserVerification::Preferred,
            attachment: Some(Attachment::CrossPlatform),
            attestation: AttestationPreference::Direct,
            resident_key: ResidentKey::Discouraged,
        }
    }
}

/// CORS settings for the tenant's public endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CorsConfig {
    /// Origins allowed to call the public endpoints from a browser.
    pub allowed_origins: Vec<String>,
    /// Allows `*` in `allowed_origins`.
    pub allow_unsafe_wildcard: bool,
}

/// Tenant policy switches beyond the WebAuthn options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantPolicy {
    /// Accept an assertion whose signature counter did not increase (it is audited either way).
    pub allow_counter_regression: bool,
    /// User verification required for transaction signing.
    pub transaction_user_verification: UserVerification,
    /// User verification required for MFA step-up.
    pub mfa_require_user_verification: bool,
}

impl Default for TenantPolicy {
    fn default() -> Self {
        TenantPolicy {
            allow_counter_regression: false,
            transaction_user_verification: UserVerification::Required,
            mfa_require_user_verification: false,
        }
    }
}

/// A tenant's complete configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantConfig {
    /// Relying party id (a domain).
    pub rp_id: String,
    /// Relying party name shown by authenticators.
    pub rp_name: String,
    /// Optional relying party icon URL (stored, not sent to clients).
    pub rp_icon: Option<String>,
    /// Exact origins allowed in `clientDataJSON.origin`.
    pub origins: Vec<String>,
    /// Ceremony timeout in milliseconds.
    pub timeout_ms: u64,
    /// User verification for passkey ceremonies.
    pub user_verification: UserVerification,
    /// Attestation preference for passkey registration.
    pub attestation: AttestationPreference,
    /// Resident key requirement for passkey registration.
    pub resident_key: ResidentKey,
    /// Authenticator attachment for passkey registration (any when absent).
    pub attachment: Option<Attachment>,
    /// The MFA profile.
    pub mfa: MfaProfile,
    /// CORS.
    pub cors: CorsConfig,
    /// Token lifetime in seconds.
    pub token_lifetime_secs: u64,
    /// Token signing algorithm.
    pub token_algorithm: TokenAlgorithm,
    /// Policy switches.
    pub policy: TenantPolicy,
}

impl TenantConfig {
    /// Shortest allowed ceremony timeout.
    pub const MIN_TIMEOUT_MS: u64 = 10_000;
    /// Longest allowed ceremony timeout.
    pub const MAX_TIMEOUT_MS: u64 = 600_000;
    /// Longest allowed token lifetime.
    pub const MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;

    /// A configuration with Tessera's defaults for a relying party and its origins.
    pub fn new(rp_id: &str, rp_name: &str, origins: Vec<String>) -> Self {
        TenantConfig {
            rp_id: rp_id.to_string(),
            rp_name: rp_name.to_string(),
            rp_icon: None,
            cors: CorsConfig {
                allowed_origins: origins
                    .iter()
                    .filter(|o| !o.starts_with("android:"))
                    .cloned()
                    .collect(),
                allow_unsafe_wildcard: false,
            },
            origins,
            timeout_ms: 300_000,
            user_verification: UserVerification::Preferred,
            attestation: AttestationPreference::None,
            resident_key: ResidentKey::Required,
            attachment: None,
            mfa: MfaProfile::default(),
            token_lifetime_secs: 300,
            token_algorithm: TokenAlgorithm::ES256,
            policy: TenantPolicy::default(),
        }
    }

    /// Checks every rule and returns every violation, each naming its field.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if !is_valid_rp_id(&self.rp_id) {
            errors.push(format!(
                "webauthn.relying_party.id: {:?} is not a valid domain",
                self.rp_id
            ));
        }
        if self.rp_name.trim().is_empty() || self.rp_name.len() > 128 {
            errors.push("webauthn.relying_party.display_name: must be 1 to 128 characters".into());
        }
        if let Some(icon) = &self.rp_icon
            && url::Url::parse(icon).is_err()
        {
            errors.push("webauthn.relying_party.icon: must be a URL".into());
        }
        if self.origins.is_empty() {
            errors.push("webauthn.relying_party.origins: at least one origin is required".into());
        }
        if self.origins.len() > 64 {
            errors.push("webauthn.relying_party.origins: at most 64 origins".into());
        }
        for origin in &self.origins {
            if let Err(e) = check_origin(origin, &self.rp_id) {
                errors.push(format!("webauthn.relying_party.origins: {origin:?} {e}"));
            }
        }
        for (field, timeout) in [
            ("webauthn.timeout", self.timeout_ms),
            ("mfa.timeout", self.mfa.timeout_ms),
        ] {
            if !(Self::MIN_TIMEOUT_MS..=Self::MAX_TIMEOUT_MS).contains(&timeout) {
                errors.push(format!(
                    "{field}: must be between {} and {} milliseconds",
                    Self::MIN_TIMEOUT_MS,
                    Self::MAX_TIMEOUT_MS
                ));
            }
        }
        if self.cors.allowed_origins.len() > 64 {
            errors.push("cors.allowed_origins: at most 64 origins".into());
        }
        for origin in &self.cors.allowed_origins {
            if origin == "*" {
                if !self.cors.allow_unsafe_wildcard {
                    errors.push(
                        "cors.allowed_origins: \"*\" requires cors.allow_unsafe_wildcard".into(),
                    );
                }
            } else if parse_web_origin(origin).is_none() {
                errors.push(format!(
                    "cors.allowed_origins: {origin:?} is not an origin (scheme://host[:port])"
                ));
            }
        }
        if !(30..=Self::MAX_TOKEN_LIFETIME_SECS).contains(&self.token_lifetime_secs) {
            errors.push(format!(
                "token.lifetime: must be between 30 and {} seconds",
                Self::MAX_TOKEN_LIFETIME_SECS
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A relying party id: a lowercase domain name of letters, digits and hyphens (or `localhost`).
pub fn is_valid_rp_id(rp_id: &str) -> bool {
    !rp_id.is_empty()
        && rp_id.len() <= 253
        && rp_id.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Parses `scheme://host[:port]` with no path, query or fragment; returns `(scheme, host)`.
pub fn parse_web_origin(origin: &str) -> Option<(String, String)> {
    let url = url::Url::parse(origin).ok()?;
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = url.host_str()?.to_string();
    // The serialised origin must be exactly what was given: no path, no trailing slash, no user info.
    if url.origin().ascii_serialization() != origin {
        return None;
    }
    Some((scheme.to_string(), host))
}

/// Checks one allowed WebAuthn origin against the RP id.
fn check_origin(origin: &str, rp_id: &str) -> Result<(), &'static str> {
    if let Some(hash) = origin.strip_prefix("android:apk-key-hash:") {
        let ok = !hash.is_empty()
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=');
        return if ok {
            Ok(())
        } else {
            Err("is not a valid android:apk-key-hash origin")
        };
    }
    let (scheme, host) = parse_web_origin(origin)
        .ok_or("is not an origin (scheme://host[:port] or android:apk-key-hash:...)")?;
    let local = host == "localhost" || host.ends_with(".localhost");
    if scheme == "http" && !local {
        return Err("must use https (http is allowed for localhost only)");
    }
    if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
        return Err("is not the relying party id or one of its subdomains");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TenantConfig {
        TenantConfig::new(
            "example.com",
            "Example",
            vec![
                "https://example.com".into(),
                "https://app.example.com:8443".into(),
            ],
        )
    }

    #[test]
    fn a_default_configuration_is_valid() {
        assert_eq!(config().validate(), Ok(()));
        assert_eq!(
            TenantConfig::new("localhost", "Dev", vec!["http://localhost:8000".into()]).validate(),
            Ok(())
        );
    }

    #[test]
    fn origins_must_belong_to_the_relying_party() {
        let mut c = config();
        c.origins = vec![
            "https://evil.com".into(),
            "https://notexample.com".into(),
            "http://example.com".into(),
            "https://example.com/".into(),
            "https://example.com/path".into(),
        ];
        let errors = c.validate().expect_err("invalid origins");
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn android_origins_are_accepted() {
        let mut c = config();
        c.origins
            .push("android:apk-key-hash:-sYXRdwJA3hvue3mKpYrOZ9zSPC7b4mbgzJmdZEDO5w".into());
        assert_eq!(c.validate(), Ok(()));
        c.origins.push("android:apk-key-hash:".into());
        assert!(c.validate().is_err());
    }

    #[test]
    fn rp_ids_must_be_domains() {
        for bad in [
            "",
            "Example.com",
            "https://example.com",
            "example.com:443",
            "-a.com",
            "a..com",
        ] {
            assert!(!is_valid_rp_id(bad), "{bad}");
        }
        for good in [
            "localhost",
            "example.com",
            "login.example.co.uk",
            "xn--bcher-kva.example",
        ] {
            assert!(is_valid_rp_id(good), "{good}");
        }
    }

    #[test]
    fn every_violation_is_listed() {
        let mut c = config();
        c.rp_id = "Bad Domain".into();
        c.timeout_ms = 5;
        c.token_lifetime_secs = 0;
        c.cors.allowed_origins = vec!["*".into()];
        let errors = c.validate().expect_err("invalid");
        // rp id, both origins (no longer under the rp id), timeout, token lifetime, wildcard
        assert_eq!(errors.len(), 6, "{errors:?}");
    }
}
