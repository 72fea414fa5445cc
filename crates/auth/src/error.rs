//! [`AuthError`]: why a request is refused. Every message is safe to show a client: it
//! never holds a secret, a token or an expected signature.

/// Why a request is refused, by cause; [`AuthError::status`] gives the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// 401: no `Authorization: Bearer` credentials.
    #[error("this request needs an `Authorization: Bearer <api_token>` header")]
    MissingToken,
    /// 403: a bearer token that is not the configured one.
    #[error("the bearer token is not valid")]
    WrongToken,
    /// 403: a read that needs a signed URL came without `expires` and `sig`.
    #[error("this URL needs a signature: add `expires` and `sig` query parameters")]
    MissingSignature,
    /// 403: `expires`, `sig` or `kid` is malformed or repeated.
    #[error("malformed URL signature: {0}")]
    MalformedSignature(&'static str),
    /// 403: the URL's `expires` is in the past.
    #[error("the signed URL has expired")]
    Expired,
    /// 403: `kid` names no configured key.
    #[error("the signed URL names an unknown key")]
    UnknownKey,
    /// 403: the signature does not match the path and expiry under any key.
    #[error("the URL signature is not valid")]
    BadSignature,
    /// 500: the auth variables cannot be used (an empty secret, a repeated key id...).
    #[error("bad auth configuration: {0}")]
    Config(String),
}

impl AuthError {
    /// The HTTP status: 401 for missing credentials, 403 for wrong ones, 500 for a
    /// configuration the operator must fix.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingToken => 401,
            AuthError::Config(_) => 500,
            _ => 403,
        }
    }
}
