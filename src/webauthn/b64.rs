//! base64url as WebAuthn JSON uses it: encoded without padding, decoded with or without padding. The standard
//! alphabet is accepted on input too, since some clients send it.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Encodes without padding.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url (or standard base64), with or without padding.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    let trimmed = s.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_and_alphabets_are_tolerated() {
        assert_eq!(decode("_-8").as_deref(), Some(&[0xff, 0xef][..]));
        assert_eq!(decode("_-8=").as_deref(), Some(&[0xff, 0xef][..]));
        assert_eq!(decode("/+8=").as_deref(), Some(&[0xff, 0xef][..]));
        assert_eq!(decode("***"), None);
        assert_eq!(encode(&[0xff, 0xef]), "_-8");
    }
}
