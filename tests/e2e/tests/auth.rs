//! Auth (issue 5, item 3), through the real components on hosts of their own:
//! `api_token` guards every write, chained steps still run under it, and
//! `url_signing_keys` guards reads of stored bytes with expiring HMAC-SHA256 URLs.
//!
//! The signatures here are computed with an HMAC written out below from SHA-256, not
//! with the `auth` crate, so the tests check the construction `docs/auth.md` documents.
//! Skipped (with a notice) when `BASE_URL` is set: a remote server's variables are not
//! the suite's to change.

use std::time::{SystemTime, UNIX_EPOCH};

use darkroom_e2e::expect::{self, Upload};
use darkroom_e2e::fixtures::{self, Part, seed};
use darkroom_e2e::{Client, Reply, dedicated_host};
use sha2::{Digest, Sha256};

const TOKEN: &str = "e2e-token-0123456789abcdef";

/// HMAC-SHA256 (RFC 2104), from SHA-256 alone.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// `path?expires=…&sig=…[&kid=…]`, signed as docs/auth.md says.
fn signed(path: &str, secret: &str, expires: u64, kid: Option<&str>) -> String {
    let sig = hex::encode(hmac_sha256(secret.as_bytes(), format!("GET\n{path}\n{expires}").as_bytes()));
    match kid {
        Some(kid) => format!("{path}?expires={expires}&sig={sig}&kid={kid}"),
        None => format!("{path}?expires={expires}&sig={sig}"),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Fresh JPEG bytes for test input `n`.
fn photo_jpeg(n: u64) -> Vec<u8> {
    fixtures::jpeg(&fixtures::photo(96, 64, seed(n)), 85)
}

#[track_caller]
fn unauthorized(reply: &Reply) {
    expect::problem(reply, 401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "WWW-Authenticate\n{reply}");
}

#[track_caller]
fn forbidden(reply: &Reply) {
    expect::problem(reply, 403);
}

/// Uploads `bytes` with the token; the chained thumbnail and vectorize steps must have
/// run (the object says so). Returns the id.
#[track_caller]
fn upload_with_token(client: &Client, bytes: &[u8], auth: &[(&str, &str)]) -> String {
    let reply = client.post_with("/api/images", bytes, "image/jpeg", auth);
    let object = expect::json(&reply, 201);
    expect::image_object(&object, &Upload { bytes, format: "jpeg", width: 96, height: 64 }, &reply)
}

#[test]
fn writes_need_the_api_token() {
    let Some(host) = dedicated_host("writes_need_the_api_token", &[("api_token", TOKEN)]) else { return };
    let client = host.client();
    let right = bearer(TOKEN);
    let auth = [("authorization", right.as_str())];
    let bytes = photo_jpeg(301);
    let id = fixtures::sha256_hex(&bytes);

    // Upload: no token 401, wrong token (or scheme) 403/401, and nothing is stored.
    unauthorized(&client.post("/api/images", &bytes, "image/jpeg"));
    unauthorized(&client.post_with("/api/images", &bytes, "image/jpeg", &[("authorization", &format!("Basic {TOKEN}"))]));
    forbidden(&client.post_with("/api/images", &bytes, "image/jpeg", &[("authorization", "Bearer wrong")]));
    forbidden(&client.post_with("/api/images", &bytes, "image/jpeg", &[("authorization", &bearer(&TOKEN[..TOKEN.len() - 1]))]));
    expect::problem(&client.get(&format!("/api/images/{id}")), 404);

    // The right token: 201, and the chained thumbnail and vectorize steps ran under it.
    assert_eq!(upload_with_token(&client, &bytes, &auth), id);
    let thumb = client.get(&format!("/images/{id}/thumbnail"));
    expect::immutable_blob(&thumb, "image/jpeg");
    let vector = expect::json(&client.get(&format!("/api/images/{id}/vector")), 200);
    assert!(vector["dims"].as_u64().unwrap_or(0) > 0, "{vector}");
    // The scheme name is case-insensitive (RFC 6750).
    let again = client.post_with("/api/images", &bytes, "image/jpeg", &[("authorization", &format!("bearer {TOKEN}"))]);
    expect::json(&again, 200);

    // Multipart uploads chain too.
    let second = photo_jpeg(302);
    let (content_type, body) = fixtures::multipart(&[Part { name: "file", filename: "b.jpg", content_type: "image/jpeg", bytes: &second }]);
    unauthorized(&client.post("/api/images", &body, &content_type));
    let reply = client.post_with("/api/images", &body, &content_type, &auth);
    let images = expect::json(&reply, 201);
    let object = &images["images"][0];
    assert!(object["thumbnail"]["width"].as_u64().is_some() && object["vector"]["dims"].as_u64().is_some(), "{reply}");

    // Reads stay public without signing: the list, the object, the original.
    expect::json(&client.get("/api/images"), 200);
    expect::json(&client.get(&format!("/api/images/{id}")), 200);
    expect::immutable_blob(&client.get(&format!("/images/{id}")), "image/jpeg");
    let similar = expect::json(&client.get(&format!("/api/images/{id}/similar?k=3")), 200);
    assert!(similar["results"].is_array(), "{similar}");

    // The public steps are writes too.
    unauthorized(&client.post("/api/thumbnail", &bytes, "image/jpeg"));
    client.post_with("/api/thumbnail", &bytes, "image/jpeg", &auth).expect_status(200);
    unauthorized(&client.post("/api/vectorize", &bytes, "image/jpeg"));
    expect::json(&client.post_with("/api/vectorize", &bytes, "image/jpeg", &auth), 200);
    let batch = serde_json::json!({ "ids": [id] }).to_string();
    unauthorized(&client.post("/api/vectorize/batch", batch.as_bytes(), "application/json"));
    forbidden(&client.post_with("/api/vectorize/batch", batch.as_bytes(), "application/json", &[("authorization", "Bearer x")]));
    expect::json(&client.post_with("/api/vectorize/batch", batch.as_bytes(), "application/json", &auth), 200);

    // Delete: 401, 403, then 204 and gone.
    let path = format!("/api/images/{id}");
    unauthorized(&client.delete(&path));
    forbidden(&client.delete_with(&path, &[("authorization", "Bearer wrong")]));
    expect::json(&client.get(&path), 200);
    client.delete_with(&path, &auth).expect_status(204);
    expect::problem(&client.get(&path), 404);
    expect::still_serving(&client);
}

#[test]
fn reads_need_a_signed_url() {
    // k2 is the new key (signs), k1 the old one (still verifies).
    let keys = "k2:new-secret-0123456789,k1:old-secret-0123456789";
    let Some(host) = dedicated_host("reads_need_a_signed_url", &[("url_signing_keys", keys)]) else { return };
    let client = host.client();
    let bytes = photo_jpeg(311);
    // No api_token here: uploads need none.
    let id = upload_with_token(&client, &bytes, &[]);
    let original = format!("/images/{id}");
    let thumbnail = format!("/images/{id}/thumbnail");
    let later = now() + 600;

    // No signature, or half of one: 403 for both blobs.
    for path in [&original, &thumbnail] {
        forbidden(&client.get(path));
        forbidden(&client.get(&format!("{path}?expires={later}")));
        forbidden(&client.get(&format!("{path}?sig={}", "0".repeat(64))));
    }

    // Signed with the first key: 200, the same bytes, cacheable only until expiry.
    let reply = client.get(&signed(&original, "new-secret-0123456789", later, Some("k2")));
    reply.expect_status(200);
    assert_eq!(reply.body, bytes, "the original, byte for byte");
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{reply}");
    let cache = reply.header("cache-control").unwrap_or_default();
    assert!(cache.starts_with("private, max-age="), "a signed reply is not for shared caches\n{reply}");
    let max_age: u64 = cache.trim_start_matches("private, max-age=").parse().unwrap();
    assert!(max_age <= 600, "{reply}");
    let thumb = client.get(&signed(&thumbnail, "new-secret-0123456789", later, Some("k2")));
    thumb.expect_status(200);
    assert_eq!(thumb.media_type().as_deref(), Some("image/jpeg"), "{thumb}");

    // The rotated-out key still verifies, with or without its kid.
    client.get(&signed(&original, "old-secret-0123456789", later, Some("k1"))).expect_status(200);
    client.get(&signed(&thumbnail, "old-secret-0123456789", later, None)).expect_status(200);

    // Tampered signature, another path's signature, expired, unknown key id, unknown key.
    let good = signed(&original, "new-secret-0123456789", later, Some("k2"));
    let sig_at = good.find("sig=").unwrap() + 4;
    let mut tampered = good.clone().into_bytes();
    tampered[sig_at] = if tampered[sig_at] == b'a' { b'b' } else { b'a' };
    forbidden(&client.get(&String::from_utf8(tampered).unwrap()));
    forbidden(&client.get(&good.replacen(&original, &thumbnail, 1)));
    forbidden(&client.get(&good.replace(&format!("expires={later}"), &format!("expires={}", later + 1))));
    let expired = signed(&original, "new-secret-0123456789", now() - 5, Some("k2"));
    let problem = expect::problem(&client.get(&expired), 403);
    assert!(problem["detail"].as_str().unwrap_or_default().contains("expired"), "{problem}");
    forbidden(&client.get(&signed(&original, "new-secret-0123456789", later, Some("k9"))));
    forbidden(&client.get(&signed(&original, "new-secret-0123456789", later, Some("k1"))));
    forbidden(&client.get(&signed(&original, "never-configured", later, None)));
    forbidden(&client.get(&format!("{}&sig={}", good, "0".repeat(64))));

    // A 304 needs a signature as well.
    let etag = format!("\"{id}\"");
    forbidden(&client.get_with(&original, &[("if-none-match", &etag)]));
    client.get_with(&good, &[("if-none-match", &etag)]).expect_status(304);

    // Everything else stays as it was: the object, listing, vectors, health.
    expect::json(&client.get(&format!("/api/images/{id}")), 200);
    expect::json(&client.get("/api/images"), 200);
    expect::json(&client.get(&format!("/api/images/{id}/vector")), 200);
    expect::still_serving(&client);
}

#[test]
fn token_and_signing_together() {
    let vars = [("api_token", TOKEN), ("url_signing_keys", "only-secret-0123456789")];
    let Some(host) = dedicated_host("token_and_signing_together", &vars) else { return };
    let client = host.client();
    let bytes = photo_jpeg(321);
    let right = bearer(TOKEN);
    unauthorized(&client.post("/api/images", &bytes, "image/jpeg"));
    let id = upload_with_token(&client, &bytes, &[("authorization", &right)]);
    let path = format!("/images/{id}/thumbnail");
    forbidden(&client.get(&path));
    // The bearer token is not a read credential.
    forbidden(&client.get_with(&path, &[("authorization", &right)]));
    client.get(&signed(&path, "only-secret-0123456789", now() + 60, None)).expect_status(200);
}
