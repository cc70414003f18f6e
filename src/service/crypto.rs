//! Keys derived from the server secret, randomness and hashing.
//!
//! The server secret never encrypts anything directly: HKDF-SHA256 derives one AES-256-GCM key per purpose, so a
//! ciphertext made for one purpose cannot be opened as another. Every ciphertext also binds associated data (for
//! example the tenant and key id of a stored signing key), so a blob cannot be moved to another row.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf;

use crate::config::SecretKey;

/// Decryption failed: the data was altered, belongs elsewhere, or was made under another server secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("ciphertext could not be opened")]
pub struct OpenError;

/// The purposes a derived key can serve.
#[derive(Clone, Copy)]
enum Purpose {
    /// Encrypting signing keys at rest.
    Storage,
    /// Sealing ceremony state into challenges.
    Ceremony,
}

impl Purpose {
    fn info(self) -> &'static [u8] {
        match self {
            Purpose::Storage => b"tessera/v1/storage",
            Purpose::Ceremony => b"tessera/v1/ceremony",
        }
    }
}

/// The AEAD keys derived from the server secret.
pub struct ServerKeys {
    storage: LessSafeKey,
    ceremony: LessSafeKey,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKeys([redacted])")
    }
}

fn derive(secret: &SecretKey, purpose: Purpose) -> LessSafeKey {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"tessera").extract(secret.bytes());
    let info = [purpose.info()];
    // Expanding 32 bytes from HKDF-SHA256 cannot fail: the limit is 255 hash lengths.
    #[expect(
        clippy::expect_used,
        reason = "HKDF expansion of one key length is infallible"
    )]
    let okm = prk
        .expand(&info, &AES_256_GCM)
        .expect("HKDF expands one AES-256 key");
    LessSafeKey::new(UnboundKey::from(okm))
}

impl ServerKeys {
    /// Derives the purpose keys from the server secret.
    pub fn derive(secret: &SecretKey) -> Self {
        ServerKeys {
            storage: derive(secret, Purpose::Storage),
            ceremony: derive(secret, Purpose::Ceremony),
        }
    }

    /// Encrypts data to be stored in the database; `aad` names the row it belongs to.
    pub fn encrypt_at_rest(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal(&self.storage, aad, plaintext)
    }

    /// Decrypts data made by [`ServerKeys::encrypt_at_rest`] with the same `aad`.
    pub fn decrypt_at_rest(&self, aad: &[u8], blob: &[u8]) -> Result<Vec<u8>, OpenError> {
        open(&self.storage, aad, blob)
    }

    /// Seals ceremony state; `aad` binds it to its tenant.
    pub fn seal_ceremony(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal(&self.ceremony, aad, plaintext)
    }

    /// Opens ceremony state sealed by [`ServerKeys::seal_ceremony`] with the same `aad`.
    pub fn open_ceremony(&self, aad: &[u8], blob: &[u8]) -> Result<Vec<u8>, OpenError> {
        open(&self.ceremony, aad, blob)
    }
}

/// `nonce || ciphertext || tag` under a fresh random nonce.
fn seal(key: &LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(plaintext);
    let mut body = out.split_off(NONCE_LEN);
    // Sealing fails only for inputs over 64 GiB, far beyond any request or key.
    #[expect(
        clippy::expect_used,
        reason = "AES-GCM sealing of bounded inputs is infallible"
    )]
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(aad),
        &mut body,
    )
    .expect("AES-GCM seals bounded input");
    out.extend_from_slice(&body);
    out
}

fn open(key: &LessSafeKey, aad: &[u8], blob: &[u8]) -> Result<Vec<u8>, OpenError> {
    if blob.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return Err(OpenError);
    }
    let (nonce, body) = blob.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
    let mut body = body.to_vec();
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad), &mut body)
        .map_err(|_| OpenError)?
        .len();
    body.truncate(plain_len);
    Ok(body)
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The system RNG failing is unrecoverable; continuing without randomness would be worse.
    #[expect(
        clippy::expect_used,
        reason = "no safe way to continue without randomness"
    )]
    aws_lc_rs::rand::fill(&mut buf).expect("system random number generator");
    buf
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Compares two byte strings in constant time (for equal lengths).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A new random 32-byte server secret.
pub fn generate_secret_key() -> SecretKey {
    SecretKey::from_bytes(random_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> ServerKeys {
        ServerKeys::derive(&SecretKey::from_bytes([byte; 32]))
    }

    #[test]
    fn stored_data_opens_only_with_the_same_secret_and_row() {
        let k = keys(1);
        let blob = k.encrypt_at_rest(b"tenant/kid", b"private key");
        assert_eq!(
            k.decrypt_at_rest(b"tenant/kid", &blob).as_deref(),
            Ok(&b"private key"[..])
        );
        assert_eq!(k.decrypt_at_rest(b"tenant/other", &blob), Err(OpenError));
        assert_eq!(
            keys(2).decrypt_at_rest(b"tenant/kid", &blob),
            Err(OpenError)
        );
        let mut tampered = blob.clone();
        tampered[NONCE_LEN] ^= 1;
        assert_eq!(k.decrypt_at_rest(b"tenant/kid", &tampered), Err(OpenError));
        assert_eq!(
            k.decrypt_at_rest(b"tenant/kid", &blob[..10]),
            Err(OpenError)
        );
    }

    #[test]
    fn purposes_do_not_open_each_other() {
        let k = keys(1);
        let sealed = k.seal_ceremony(b"t", b"state");
        assert_eq!(k.open_ceremony(b"t", &sealed).as_deref(), Ok(&b"state"[..]));
        assert_eq!(k.decrypt_at_rest(b"t", &sealed), Err(OpenError));
    }

    #[test]
    fn constant_time_comparison_matches_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
