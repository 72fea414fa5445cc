//! Signed URLs and bearer tokens against fixed vectors and every way to get them wrong.

use auth::{AuthError, BearerToken, SigningKeys, string_to_sign};

const PATH: &str = "/images/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const EXPIRES: u64 = 1_900_000_000;
const NOW: u64 = 1_800_000_000;

fn keys(spec: &str) -> SigningKeys {
    SigningKeys::parse(spec).unwrap().unwrap()
}

#[test]
fn string_to_sign_is_documented_form() {
    assert_eq!(string_to_sign("GET", "/images/x/thumbnail", 17), "GET\n/images/x/thumbnail\n17");
}

#[test]
fn known_answer_matches_openssl() {
    // `printf 'GET\nx\n1' | openssl dgst -sha256 -hmac key`: the recipe in docs/auth.md.
    let sig = keys("key").sign("GET", "x", 1);
    assert_eq!(sig.sig, "89a0e874afeac5b3bbfb13380f93b8b3243875b891325bcae93a86972bcf5d58");
    assert_eq!(sig.kid, None);
    assert_eq!(sig.to_query(), format!("expires=1&sig={}", sig.sig));
}

#[test]
fn valid_until_expiry_inclusive() {
    let keys = keys("k1:secret-one");
    let query = keys.signed_query(PATH, EXPIRES);
    assert!(query.ends_with("&kid=k1"), "{query}");
    assert_eq!(keys.verify("GET", PATH, &query, NOW), Ok(EXPIRES));
    assert_eq!(keys.verify("HEAD", PATH, &query, NOW), Ok(EXPIRES));
    assert_eq!(keys.verify("GET", PATH, &query, EXPIRES), Ok(EXPIRES));
    assert_eq!(keys.verify("GET", PATH, &query, EXPIRES + 1), Err(AuthError::Expired));
    // The signature parameters may come in any order.
    let shuffled = query.split('&').rev().collect::<Vec<_>>().join("&");
    assert_eq!(keys.verify("GET", PATH, &shuffled, NOW), Ok(EXPIRES));
    // Any other parameter is covered: adding one breaks the signature.
    assert_eq!(keys.verify("GET", PATH, &format!("foo=bar&{query}"), NOW), Err(AuthError::BadSignature));
}

#[test]
fn the_query_is_covered_in_order_without_the_signature() {
    let keys = keys("k1:secret-one");
    let target = auth::signed_target(PATH, "w=300&format=webp");
    let query = format!("w=300&format=webp&{}", keys.signed_query(&target, EXPIRES));
    assert_eq!(keys.verify("GET", PATH, &query, NOW), Ok(EXPIRES));
    // The signature parameters may sit anywhere; the others keep their order.
    let signature = keys.signed_query(&target, EXPIRES);
    assert_eq!(keys.verify("GET", PATH, &format!("{signature}&w=300&format=webp"), NOW), Ok(EXPIRES));
    assert_eq!(keys.verify("GET", PATH, &format!("format=webp&{signature}&w=300"), NOW), Err(AuthError::BadSignature));
    for tampered in [query.replace("w=300", "w=301"), query.replace("w=300&", ""), format!("{query}&q=10")] {
        assert_eq!(keys.verify("GET", PATH, &tampered, NOW), Err(AuthError::BadSignature), "{tampered}");
    }
}

#[test]
fn tampering_is_refused() {
    let keys = keys("k1:secret-one");
    let sig = keys.sign("GET", PATH, EXPIRES);
    let q = |expires: u64, sig: &str| format!("expires={expires}&sig={sig}&kid=k1");
    // Another path, a thumbnail instead of the original, another method, a later expiry.
    assert_eq!(keys.verify("GET", &format!("{PATH}/thumbnail"), &sig.to_query(), NOW), Err(AuthError::BadSignature));
    assert_eq!(keys.verify("DELETE", PATH, &sig.to_query(), NOW), Err(AuthError::BadSignature));
    assert_eq!(keys.verify("GET", PATH, &q(EXPIRES + 1, &sig.sig), NOW), Err(AuthError::BadSignature));
    // One flipped digit.
    let mut flipped = sig.sig.clone().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(keys.verify("GET", PATH, &q(EXPIRES, &flipped), NOW), Err(AuthError::BadSignature));
    // Uppercase hex of the right MAC is the same MAC.
    assert_eq!(keys.verify("GET", PATH, &q(EXPIRES, &sig.sig.to_uppercase()), NOW), Ok(EXPIRES));
}

#[test]
fn malformed_and_missing_parameters() {
    let keys = keys("k1:secret-one");
    let good = keys.sign("GET", PATH, EXPIRES);
    let cases = [
        ("", AuthError::MissingSignature),
        ("expires=1900000000", AuthError::MissingSignature),
        (&format!("sig={}", good.sig) as &str, AuthError::MissingSignature),
        (&format!("expires=-1&sig={}", good.sig), AuthError::MalformedSignature("`expires` must be Unix seconds")),
        (&format!("expires=1e9&sig={}", good.sig), AuthError::MalformedSignature("`expires` must be Unix seconds")),
        (&format!("expires=99999999999999999999999&sig={}", good.sig), AuthError::MalformedSignature("`expires` must be Unix seconds")),
        ("expires=1900000000&sig=abcd", AuthError::MalformedSignature("`sig` must be 64 hex digits")),
        (&format!("expires=1900000000&sig={}zz", &good.sig[..62]), AuthError::MalformedSignature("`sig` must be 64 hex digits")),
        (&format!("expires=1900000000&expires=1900000000&sig={}", good.sig), AuthError::MalformedSignature("a signature parameter appears twice")),
        (&format!("expires=1900000000&sig={}&kid=a%20b", good.sig), AuthError::MalformedSignature("`kid` is not a key id")),
        (&format!("expires=1900000000&sig={}&kid=k9", good.sig), AuthError::UnknownKey),
    ];
    for (query, expected) in cases {
        let got = keys.verify("GET", PATH, query, NOW);
        assert_eq!(got, Err(expected.clone()), "{query}");
        assert_eq!(expected.status(), 403);
    }
}

#[test]
fn rotation_first_signs_any_verifies() {
    let old = keys("k1:old-secret");
    let rotated = keys("k2:new-secret,k1:old-secret");
    let new_only = keys("k2:new-secret");
    // A URL signed before the rotation still verifies after it.
    let before = old.signed_query(PATH, EXPIRES);
    assert_eq!(rotated.verify("GET", PATH, &before, NOW), Ok(EXPIRES));
    // New URLs are signed with the new key, and stop verifying where only the old one is known.
    let after = rotated.signed_query(PATH, EXPIRES);
    assert!(after.ends_with("kid=k2"), "{after}");
    assert_eq!(new_only.verify("GET", PATH, &after, NOW), Ok(EXPIRES));
    assert_eq!(old.verify("GET", PATH, &after, NOW), Err(AuthError::UnknownKey));
    assert_eq!(new_only.verify("GET", PATH, &before, NOW), Err(AuthError::UnknownKey));
    // Without kid, every key is tried.
    let no_kid = before.replace("&kid=k1", "");
    assert_eq!(rotated.verify("GET", PATH, &no_kid, NOW), Ok(EXPIRES));
    assert_eq!(new_only.verify("GET", PATH, &no_kid, NOW), Err(AuthError::BadSignature));
    // A kid pointing at the wrong key does not fall back to the others.
    let wrong_kid = before.replace("kid=k1", "kid=k2");
    assert_eq!(rotated.verify("GET", PATH, &wrong_kid, NOW), Err(AuthError::BadSignature));
}

#[test]
fn plain_secrets_sign_without_kid() {
    let keys = keys("first-plain,second-plain");
    let query = keys.signed_query(PATH, EXPIRES);
    assert!(!query.contains("kid="), "{query}");
    assert_eq!(keys.verify("GET", PATH, &query, NOW), Ok(EXPIRES));
    let second = SigningKeys::parse("second-plain").unwrap().unwrap().signed_query(PATH, EXPIRES);
    assert_eq!(keys.verify("GET", PATH, &second, NOW), Ok(EXPIRES));
}

#[test]
fn bearer_token_statuses() {
    let token = BearerToken::new("tok").unwrap();
    assert_eq!(token.check(Some("Bearer tok")), Ok(()));
    assert_eq!(token.check(None).unwrap_err().status(), 401);
    assert_eq!(token.check(Some("Bearer x")).unwrap_err().status(), 403);
    assert_eq!(AuthError::Config("x".into()).status(), 500);
}
