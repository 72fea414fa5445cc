//! HMAC-SHA256 signed URLs with an expiry.
//!
//! ```text
//! string-to-sign = METHOD "\n" PATH "\n" EXPIRES      e.g. "GET\n/images/{id}\n1767225600"
//! sig            = lowercase hex of HMAC-SHA256(secret, string-to-sign)   (64 characters)
//! URL            = PATH "?expires=" EXPIRES "&sig=" sig [ "&kid=" KEY-ID ]
//! ```
//! `PATH` is the request path exactly as sent, without the query; `EXPIRES` is the last
//! valid second, in Unix seconds, as decimal digits. Other query parameters are not
//! signed. Verification rejects a missing, repeated or malformed `expires`/`sig`/`kid`,
//! an expired URL, an unknown `kid`, and a signature that no candidate key produces; the
//! MACs are compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

use crate::{AuthError, SigningKey, SigningKeys};

type HmacSha256 = Hmac<Sha256>;

/// What a signature covers of a URL: the path, and the query without the signature's
/// own parameters (`expires`, `sig`, `kid`), in the order sent, so a render URL's
/// `w=…&format=…` cannot be changed without breaking its signature. A URL with no other
/// parameters is covered by its path alone.
///
/// ```
/// assert_eq!(auth::signed_target("/images/ab", "expires=9&sig=00"), "/images/ab");
/// assert_eq!(auth::signed_target("/images/ab/render", "w=300&expires=9&sig=00&format=webp"), "/images/ab/render?w=300&format=webp");
/// ```
pub fn signed_target(path: &str, query: &str) -> String {
    let rest: Vec<&str> = query
        .split('&')
        .filter(|part| !part.is_empty())
        .filter(|part| {
            let name = part.split_once('=').map_or(*part, |(name, _)| name);
            !matches!(name, "expires" | "sig" | "kid")
        })
        .collect();
    if rest.is_empty() { path.to_owned() } else { format!("{path}?{}", rest.join("&")) }
}

/// `"{method}\n{path}\n{expires}"`: the bytes a URL signature covers (`path` being the
/// [`signed_target`] of the URL).
pub fn string_to_sign(method: &str, path: &str, expires: u64) -> String {
    format!("{method}\n{path}\n{expires}")
}

/// A URL signature: what goes into the query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub expires: u64,
    /// Lowercase hex HMAC-SHA256.
    pub sig: String,
    /// The signing key's id, when it has one.
    pub kid: Option<String>,
}

impl Signature {
    /// `expires=…&sig=…[&kid=…]` (key ids need no percent-encoding).
    pub fn to_query(&self) -> String {
        let mut query = format!("expires={}&sig={}", self.expires, self.sig);
        if let Some(kid) = &self.kid {
            query.push_str("&kid=");
            query.push_str(kid);
        }
        query
    }
}

fn mac(key: &SigningKey, message: &str) -> [u8; 32] {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key.secret()).expect("HMAC accepts any key length");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().into()
}

impl SigningKeys {
    /// Signs `method path` until `expires` (Unix seconds) with the first key.
    pub fn sign(&self, method: &str, path: &str, expires: u64) -> Signature {
        let key = self.signing_key();
        Signature {
            expires,
            sig: hex::encode(mac(key, &string_to_sign(method, path, expires))),
            kid: key.id().map(str::to_owned),
        }
    }

    /// The query string of a `GET` of `path` signed until `expires`.
    pub fn signed_query(&self, path: &str, expires: u64) -> String {
        self.sign("GET", path, expires).to_query()
    }

    /// Checks the signature in `query` (the raw query string, without `?`) for
    /// `method path` at time `now` (Unix seconds). A `HEAD` is checked as the `GET`
    /// it mirrors. Returns the URL's `expires`.
    pub fn verify(&self, method: &str, path: &str, query: &str, now: u64) -> Result<u64, AuthError> {
        let params = SignedParams::parse(query)?;
        if now > params.expires {
            return Err(AuthError::Expired);
        }
        let method = if method.eq_ignore_ascii_case("HEAD") { "GET" } else { method };
        let message = string_to_sign(method, &signed_target(path, query), params.expires);
        // Check every candidate without stopping at the first match.
        let mut valid = Choice::from(0);
        for key in self.candidates(params.kid.as_deref())? {
            valid |= mac(key, &message).ct_eq(&params.sig);
        }
        if bool::from(valid) { Ok(params.expires) } else { Err(AuthError::BadSignature) }
    }
}

/// `expires`, `sig` and `kid` from a query string, each at most once.
struct SignedParams {
    expires: u64,
    sig: [u8; 32],
    kid: Option<String>,
}

impl SignedParams {
    fn parse(query: &str) -> Result<Self, AuthError> {
        let (mut expires, mut sig, mut kid) = (None, None, None);
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "expires" => &mut expires,
                "sig" => &mut sig,
                "kid" => &mut kid,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(AuthError::MalformedSignature("a signature parameter appears twice"));
            }
        }
        let (Some(expires), Some(sig)) = (expires, sig) else {
            return Err(AuthError::MissingSignature);
        };
        let expires = Some(expires.as_str())
            .filter(|e| (1..=20).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|e| e.parse::<u64>().ok())
            .ok_or(AuthError::MalformedSignature("`expires` must be Unix seconds"))?;
        let mut mac = [0u8; 32];
        hex::decode_to_slice(&sig, &mut mac)
            .map_err(|_| AuthError::MalformedSignature("`sig` must be 64 hex digits"))?;
        if kid.as_deref().is_some_and(|k| !crate::keys::is_key_id(k)) {
            return Err(AuthError::MalformedSignature("`kid` is not a key id"));
        }
        Ok(Self { expires, sig: mac, kid })
    }
}
