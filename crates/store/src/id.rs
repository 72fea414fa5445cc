//! Content-addressed ids: the lowercase hex SHA-256 of the original bytes, so the same
//! bytes always get the same id and re-uploads are idempotent.

use sha2::{Digest, Sha256};

/// Length of an id: 32 bytes of SHA-256 as hex.
pub const ID_LEN: usize = 64;

/// The id of `bytes`: lowercase hex SHA-256.
pub fn content_id(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` looks like an id (64 lowercase hex chars).
///
/// Ids come from URLs; validating them before building any key keeps a path like
/// `../idx` or a 10 KB segment from ever reaching the key-value store.
pub fn is_valid_id(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            content_id(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_valid_id(&content_id(b"")));
    }

    #[test]
    fn rejects_non_ids() {
        assert!(!is_valid_id(""));
        assert!(!is_valid_id(&"A".repeat(64)));
        assert!(!is_valid_id(&"a".repeat(63)));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id(&format!("{}/", "a".repeat(63))));
    }
}
