//! [`SigningKeys`]: the `url_signing_keys` variable, parsed.
//!
//! A comma-separated list; each entry is `kid:secret` (a key id of 1 to 64 characters
//! from `A-Z a-z 0-9 . _ -`, then the secret) or a plain secret. The secret is used as
//! its UTF-8 bytes. The first entry signs; every entry verifies.

use crate::AuthError;

/// One HMAC key.
#[derive(Clone)]
pub struct SigningKey {
    id: Option<String>,
    secret: Vec<u8>,
}

impl SigningKey {
    /// The key id, sent as the `kid` query parameter, if the key has one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?}, <redacted>)", self.id)
    }
}

/// The configured keys, newest (the signing key) first. Never empty.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    keys: Vec<SigningKey>,
}

impl SigningKeys {
    /// Parses `url_signing_keys`; `Ok(None)` (signing off) when it holds no key.
    /// A repeated key id or an empty secret is a [`AuthError::Config`] error.
    pub fn parse(spec: &str) -> Result<Option<Self>, AuthError> {
        let mut keys: Vec<SigningKey> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let key = match entry.split_once(':') {
                Some((id, secret)) if is_key_id(id) => SigningKey { id: Some(id.to_owned()), secret: secret.as_bytes().to_vec() },
                _ => SigningKey { id: None, secret: entry.as_bytes().to_vec() },
            };
            if key.secret.is_empty() {
                return Err(AuthError::Config(format!("url_signing_keys: key {:?} has an empty secret", key.id.unwrap_or_default())));
            }
            if key.id.is_some() && keys.iter().any(|k| k.id == key.id) {
                return Err(AuthError::Config(format!("url_signing_keys: key id {:?} appears twice", key.id.unwrap_or_default())));
            }
            keys.push(key);
        }
        Ok((!keys.is_empty()).then_some(Self { keys }))
    }

    /// The key that signs new URLs: the first one.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[0]
    }

    /// Every key, in configuration order.
    pub fn all(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The keys a signature may be checked against: the one `kid` names, or all when
    /// the URL names none.
    pub(crate) fn candidates(&self, kid: Option<&str>) -> Result<Vec<&SigningKey>, AuthError> {
        match kid {
            None => Ok(self.keys.iter().collect()),
            Some(kid) => {
                let key = self.keys.iter().find(|k| k.id.as_deref() == Some(kid)).ok_or(AuthError::UnknownKey)?;
                Ok(vec![key])
            }
        }
    }
}

/// 1 to 64 characters of `A-Z a-z 0-9 . _ -`.
pub fn is_key_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_plain_secrets_and_blanks() {
        assert!(SigningKeys::parse("").unwrap().is_none());
        assert!(SigningKeys::parse(" , ,").unwrap().is_none());
        let keys = SigningKeys::parse("k2:two, plain-secret ,k1:one:with:colons").unwrap().unwrap();
        let ids: Vec<_> = keys.all().iter().map(SigningKey::id).collect();
        assert_eq!(ids, [Some("k2"), None, Some("k1")]);
        assert_eq!(keys.all()[1].secret(), b"plain-secret");
        assert_eq!(keys.all()[2].secret(), b"one:with:colons");
        assert_eq!(keys.signing_key().id(), Some("k2"));
        // Not a key id (a space): the whole entry is a plain secret.
        let keys = SigningKeys::parse("not an id:secret").unwrap().unwrap();
        assert_eq!(keys.signing_key().id(), None);
        assert_eq!(keys.signing_key().secret(), b"not an id:secret");
    }

    #[test]
    fn refuses_empty_secrets_and_repeated_ids() {
        assert!(matches!(SigningKeys::parse("k1:"), Err(AuthError::Config(_))));
        assert!(matches!(SigningKeys::parse("k1:a,k1:b"), Err(AuthError::Config(_))));
        let err = SigningKeys::parse("k1:topsecret,k1:b").unwrap_err();
        assert!(!err.to_string().contains("topsecret"));
    }
}
