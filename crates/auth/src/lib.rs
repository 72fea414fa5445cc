//! darkroom's access control, with no Spin dependency: who may write, and who may read
//! a stored image.
//!
//! | module | what it holds |
//! |---|---|
//! | [`token`] | [`BearerToken`]: the `api_token` that POST and DELETE need, checked in constant time |
//! | [`keys`] | [`SigningKeys`]: `url_signing_keys` parsed (`kid:secret` or plain secrets), several for rotation |
//! | [`signing`] | [`string_to_sign`], [`SigningKeys::sign`], [`SigningKeys::verify`]: HMAC-SHA256 signed URLs with an expiry |
//! | [`error`] | [`AuthError`]: why a request is refused, and its HTTP status |
//!
//! A signed URL is `{path}?expires={unix seconds}&sig={hex HMAC-SHA256}[&kid={key id}]`,
//! the MAC taken over `"GET\n{path}\n{expires}"` (see [`string_to_sign`]). The signer
//! uses the first key; verification accepts any of them, so keys rotate by prepending a
//! new one, waiting out the longest URL lifetime, then dropping the old one.
//!
//! ```
//! use auth::{AuthError, BearerToken, SigningKeys};
//!
//! // Writes: a bearer token. An empty variable turns the check off.
//! assert!(BearerToken::new("").is_none());
//! let token = BearerToken::new("s3cret").unwrap();
//! assert!(token.check(Some("Bearer s3cret")).is_ok());
//! assert_eq!(token.check(None).unwrap_err().status(), 401);
//! assert_eq!(token.check(Some("Bearer nope")).unwrap_err().status(), 403);
//!
//! // Reads: signed URLs. The first key signs, any key verifies.
//! let keys = SigningKeys::parse("k2:new-secret,k1:old-secret")?.unwrap();
//! let path = "/images/abc/thumbnail";
//! let query = keys.signed_query(path, 1_900_000_000);
//! assert!(query.starts_with("expires=1900000000&sig="));
//! assert_eq!(keys.verify("GET", path, &query, 1_800_000_000), Ok(1_900_000_000));
//! assert!(matches!(keys.verify("GET", path, &query, 1_900_000_001), Err(AuthError::Expired)));
//! assert!(matches!(keys.verify("GET", "/images/other", &query, 0), Err(AuthError::BadSignature)));
//! # Ok::<(), AuthError>(())
//! ```

pub mod error;
pub mod keys;
pub mod signing;
pub mod token;

pub use error::AuthError;
pub use keys::{SigningKey, SigningKeys};
pub use signing::{Signature, signed_target, string_to_sign};
pub use token::BearerToken;
