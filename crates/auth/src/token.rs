//! [`BearerToken`]: the shared secret that write requests carry as
//! `Authorization: Bearer <token>`.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AuthError;

/// The configured API token. Only its SHA-256 is kept for comparison, so comparing
/// digests in constant time also hides the token's length.
#[derive(Clone)]
pub struct BearerToken {
    token: String,
    digest: [u8; 32],
}

impl BearerToken {
    /// The token from the `api_token` variable; `None` (auth off) when it is empty or
    /// only whitespace. Surrounding whitespace is not part of the token.
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty()).then(|| Self { token: token.to_owned(), digest: Sha256::digest(token).into() })
    }

    /// Checks an `Authorization` header value: missing, or not the `Bearer` scheme, is
    /// [`AuthError::MissingToken`] (401); another token is [`AuthError::WrongToken`] (403).
    pub fn check(&self, authorization: Option<&str>) -> Result<(), AuthError> {
        let presented = authorization.and_then(bearer_credentials).ok_or(AuthError::MissingToken)?;
        let digest: [u8; 32] = Sha256::digest(presented).into();
        if bool::from(digest.ct_eq(&self.digest)) { Ok(()) } else { Err(AuthError::WrongToken) }
    }

    /// `Bearer <token>`: the header value for a request this service makes itself
    /// (a chained call to a sibling component).
    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// The credentials of a `Bearer` header (RFC 6750 §2.1: the scheme is
/// case-insensitive), or `None` for another scheme or an empty token.
fn bearer_credentials(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_whitespace() {
        let token = BearerToken::new("  abc  ").unwrap();
        assert_eq!(token.check(Some("Bearer abc")), Ok(()));
        assert_eq!(token.check(Some("bearer   abc ")), Ok(()));
        assert_eq!(token.check(Some("Basic abc")), Err(AuthError::MissingToken));
        assert_eq!(token.check(Some("Bearer")), Err(AuthError::MissingToken));
        assert_eq!(token.check(Some("Bearer ")), Err(AuthError::MissingToken));
        assert_eq!(token.check(Some("")), Err(AuthError::MissingToken));
        assert_eq!(token.check(Some("Bearer abcd")), Err(AuthError::WrongToken));
        assert_eq!(token.check(Some("Bearer ab")), Err(AuthError::WrongToken));
        assert_eq!(token.header_value(), "Bearer abc");
        assert!(!format!("{token:?}").contains("abc"));
    }
}
