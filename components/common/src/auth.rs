//! Access control from Spin variables (the rules themselves live in the `auth` crate).
//!
//! - `api_token` (secret; empty = off): every request whose method is not `GET`, `HEAD`
//!   or `OPTIONS` needs `Authorization: Bearer <api_token>`. [`crate::serve`] checks it
//!   before any handler runs: missing is 401 with `WWW-Authenticate: Bearer`, wrong is
//!   403. Chained calls carry the same token ([`chain_authorization`]).
//! - `url_signing_keys` (secret; empty = off): handlers that serve stored bytes call
//!   [`require_signature`]; a missing, bad or expired signature is 403.
//!
//! A variable the component does not declare reads as empty, i.e. off: every component
//! that takes writes declares `api_token` in `spin.toml` (the e2e suite checks each).

use api::ApiError;
use auth::{AuthError, BearerToken, SigningKeys};
use spin_sdk::http::Method;

use crate::{Incoming, Reply};

/// A Spin variable, empty when unset or undeclared.
fn variable(name: &str) -> String {
    spin_sdk::variables::get(name).unwrap_or_default()
}

/// The configured API token, if writes need one.
pub fn api_token() -> Option<BearerToken> {
    BearerToken::new(&variable("api_token"))
}

/// Refuses a write (any method but `GET`, `HEAD`, `OPTIONS`) without the API token.
pub fn require_token(req: &Incoming) -> Result<(), ApiError> {
    if matches!(req.method(), Method::Get | Method::Head | Method::Options) {
        return Ok(());
    }
    match api_token() {
        Some(token) => token.check(req.header("authorization")).map_err(to_api_error),
        None => Ok(()),
    }
}

/// Refuses a read (`GET`, `HEAD`) without the API token, when one is set: for state
/// only writers should see, such as a resumable upload's progress.
pub fn require_token_on_read(req: &Incoming) -> Result<(), ApiError> {
    match api_token() {
        Some(token) => token.check(req.header("authorization")).map_err(to_api_error),
        None => Ok(()),
    }
}

/// Refuses a read of stored bytes without a valid signed URL, when signing is on.
/// Returns the URL's expiry (`None` when signing is off), for [`signed_caching`].
pub fn require_signature(req: &Incoming) -> Result<Option<u64>, ApiError> {
    let Some(keys) = signing_keys()? else {
        return Ok(None);
    };
    let expires = keys.verify(&req.method().to_string(), req.path(), req.query(), unix_now()).map_err(to_api_error)?;
    Ok(Some(expires))
}

/// The URL signing keys, when signing is on (share links sign with the first).
pub fn signing_keys() -> Result<Option<SigningKeys>, ApiError> {
    SigningKeys::parse(&variable("url_signing_keys")).map_err(to_api_error)
}

/// A reply to a signed URL may be cached only by the client, and only until the URL
/// expires: a shared cache would otherwise go on serving it to anyone after expiry.
pub fn signed_caching(reply: Reply, expires: Option<u64>) -> Reply {
    match expires {
        Some(expires) => {
            let max_age = expires.saturating_sub(unix_now());
            reply.set_header("cache-control", &format!("private, max-age={max_age}"))
        }
        None => reply,
    }
}

/// The `Authorization` value for a chained call: the component's own API token, the
/// same one the caller was just checked against.
pub fn chain_authorization() -> Option<String> {
    api_token().map(|token| token.header_value())
}

/// Seconds since the Unix epoch, from the host's wall clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn to_api_error(err: AuthError) -> ApiError {
    match err.status() {
        401 => ApiError::Unauthorized(err.to_string()),
        403 => ApiError::Forbidden(err.to_string()),
        _ => ApiError::Internal(err.to_string()),
    }
}
