//! The key layout of `docs/contracts.md`, built in one place.
//!
//! ```text
//! img/{id}/{kind}/m        blob manifest (JSON), written last: the commit point; or
//!                          0x00, the manifest, "\n" and the bytes (`blob::INLINE`)
//! img/{id}/{kind}/{n}      blob chunk n (0-based)
//! img/{id}/meta            image record (JSON)
//! img/{id}/variant/{name}/m|{n}   a stored variant (a named, filtered rendition)
//! img/{id}/render/{hash}/m|{n}    a cached render; {hash} = SHA-256 of its canonical options
//! idx/{rev:020}/{id}       listing entry, rev = u64::MAX - created_micros
//! vseg/{hash}/m            vector segment manifest (JSON), written last
//! vseg/{hash}/{n}          vector segment chunk n
//! vcat/head                vector catalog: what the last key listing found (binary)
//! vcat/mark                token rewritten after every change to the set of vectors
//! ```
//! Every builder takes an id that has already been validated or checks it itself, so a
//! key is always ASCII and at most [`MAX_KEY_BYTES`] long.

use crate::{BlobKind, Error, ID_LEN, Result, is_valid_id};

/// Longest key the store ever builds (Fermyon allows 255).
pub const MAX_KEY_BYTES: usize = 250;

/// Prefix of every listing entry.
pub const INDEX_PREFIX: &str = "idx/";

/// Prefix of every key that belongs to image `id`, except its listing entries.
pub fn image_prefix(id: &str) -> Result<String> {
    checked(format!("img/{}/", valid(id)?))
}

/// The manifest key of a blob.
pub fn manifest(id: &str, kind: BlobKind) -> Result<String> {
    base_manifest(&blob_base(id, kind)?)
}

/// The key of chunk `n` of a blob.
pub fn chunk(id: &str, kind: BlobKind, n: u32) -> Result<String> {
    base_chunk(&blob_base(id, kind)?, n)
}

/// The common start of a blob's keys: `img/{id}/{kind}`.
pub fn blob_base(id: &str, kind: BlobKind) -> Result<String> {
    checked(format!("img/{}/{}", valid(id)?, kind.as_str()))
}

/// `{base}/m`: the manifest of the blob at `base`.
pub fn base_manifest(base: &str) -> Result<String> {
    checked(format!("{base}/m"))
}

/// `{base}/{n}`: chunk `n` of the blob at `base`.
pub fn base_chunk(base: &str, n: u32) -> Result<String> {
    checked(format!("{base}/{n}"))
}

/// Longest variant name: short enough that every key of a variant fits.
pub const MAX_VARIANT_NAME: usize = 64;

/// Whether `name` can name a variant: 1 to [`MAX_VARIANT_NAME`] of `a-z 0-9 _ -`,
/// starting with a letter or digit (so it is also a safe URL path segment).
pub fn is_valid_variant_name(name: &str) -> bool {
    (1..=MAX_VARIANT_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
}

/// The base of variant `name` of image `id`: `img/{id}/variant/{name}`.
pub fn variant_base(id: &str, name: &str) -> Result<String> {
    if !is_valid_variant_name(name) {
        return Err(Error::InvalidKey(format!(
            "not a variant name: {:?}",
            truncate(name)
        )));
    }
    checked(format!("img/{}/variant/{name}", valid(id)?))
}

/// The base of the cached render `hash` (a SHA-256 hex) of image `id`.
pub fn render_base(id: &str, hash: &str) -> Result<String> {
    checked(format!("img/{}/render/{}", valid(id)?, valid(hash)?))
}

/// The image record key.
pub fn record(id: &str) -> Result<String> {
    checked(format!("img/{}/meta", valid(id)?))
}

/// The listing key of `id` created at `created_micros`.
pub fn index(created_micros: u64, id: &str) -> Result<String> {
    checked(format!(
        "{INDEX_PREFIX}{:020}/{}",
        rev(created_micros),
        valid(id)?
    ))
}

/// The vector catalog (`segments::catalog`).
pub const VECTOR_CATALOG: &str = "vcat/head";

/// The token that dates the vector catalog (`segments::catalog`).
pub const VECTOR_MARKER: &str = "vcat/mark";

/// Prefix of every vector segment key.
pub const SEGMENT_PREFIX: &str = "vseg/";

/// The manifest key of vector segment `hash` (the SHA-256 of its bytes).
pub fn segment_manifest(hash: &str) -> Result<String> {
    checked(format!("{SEGMENT_PREFIX}{}/m", valid(hash)?))
}

/// The key of chunk `n` of vector segment `hash`.
pub fn segment_chunk(hash: &str, n: u32) -> Result<String> {
    checked(format!("{SEGMENT_PREFIX}{}/{n}", valid(hash)?))
}

/// The hash of a `vseg/{hash}/m` key; `None` for any other key.
pub fn parse_segment_manifest(key: &str) -> Option<&str> {
    let hash = key.strip_prefix(SEGMENT_PREFIX)?.strip_suffix("/m")?;
    Some(hash).filter(|h| is_valid_id(h))
}

/// Reverse time, so ascending key order is newest first.
pub fn rev(created_micros: u64) -> u64 {
    u64::MAX - created_micros
}

/// Splits a listing key into `(rev, id)`; `None` for anything else.
pub fn parse_index(key: &str) -> Option<(u64, &str)> {
    let rest = key.strip_prefix(INDEX_PREFIX)?;
    let (rev, id) = rest.split_once('/')?;
    if rev.len() != 20 || !rev.bytes().all(|b| b.is_ascii_digit()) || !is_valid_id(id) {
        return None;
    }
    Some((rev.parse().ok()?, id))
}

/// Splits `img/{id}/{kind}/m` into `(id, kind)`; `None` for any other key.
pub fn parse_manifest(key: &str) -> Option<(&str, BlobKind)> {
    manifest_parts(key).filter(|(id, _)| is_valid_id(id))
}

/// [`parse_manifest`] without checking the id's characters, for callers that decode it
/// anyway (`segments::raw_id` refuses what `is_valid_id` refuses).
pub fn manifest_parts(key: &str) -> Option<(&str, BlobKind)> {
    let rest = key.strip_prefix("img/")?.strip_suffix("/m")?;
    let (id, kind) = (rest.get(..ID_LEN)?, rest.get(ID_LEN..)?.strip_prefix('/')?);
    Some((id, BlobKind::parse(kind)?))
}

/// The id of an image record key `img/{id}/meta`, its characters unchecked (as
/// [`manifest_parts`]); `None` for any other key.
pub fn record_id_unchecked(key: &str) -> Option<&str> {
    key.strip_prefix("img/")?.strip_suffix("/meta").filter(|id| id.len() == ID_LEN)
}

/// Splits `img/{id}/{kind}/{n}` into `(id, kind, n)`; `None` for any other key.
pub fn parse_chunk(key: &str) -> Option<(&str, BlobKind, u32)> {
    let mut it = key.strip_prefix("img/")?.split('/');
    let (id, kind, n) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || !is_valid_id(id) || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((id, BlobKind::parse(kind)?, n.parse().ok()?))
}

fn valid(id: &str) -> Result<&str> {
    if is_valid_id(id) {
        Ok(id)
    } else {
        Err(Error::InvalidKey(format!(
            "not an image id: {:?}",
            truncate(id)
        )))
    }
}

fn checked(key: String) -> Result<String> {
    if key.len() > MAX_KEY_BYTES || !key.is_ascii() {
        return Err(Error::InvalidKey(format!(
            "key breaks the layout: {:?}",
            truncate(&key)
        )));
    }
    Ok(key)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn layout_matches_the_contract() {
        assert_eq!(
            manifest(ID, BlobKind::Original).unwrap(),
            format!("img/{ID}/original/m")
        );
        assert_eq!(
            chunk(ID, BlobKind::Thumbnail, 3).unwrap(),
            format!("img/{ID}/thumbnail/3")
        );
        assert_eq!(record(ID).unwrap(), format!("img/{ID}/meta"));
        let idx = index(5, ID).unwrap();
        assert_eq!(idx, format!("idx/{:020}/{ID}", u64::MAX - 5));
        assert_eq!(parse_index(&idx), Some((u64::MAX - 5, ID)));
        assert_eq!(
            parse_manifest(&format!("img/{ID}/vector/m")),
            Some((ID, BlobKind::Vector))
        );
        assert_eq!(parse_manifest(&format!("img/{ID}/vector/0")), None);
        assert_eq!(
            parse_chunk(&format!("img/{ID}/vector/12")),
            Some((ID, BlobKind::Vector, 12))
        );
        assert_eq!(parse_chunk(&format!("img/{ID}/vector/m")), None);
        assert_eq!(parse_chunk(&format!("img/{ID}/meta")), None);
    }

    #[test]
    fn segment_keys() {
        assert_eq!(segment_manifest(ID).unwrap(), format!("vseg/{ID}/m"));
        assert_eq!(segment_chunk(ID, 7).unwrap(), format!("vseg/{ID}/7"));
        assert_eq!(parse_segment_manifest(&format!("vseg/{ID}/m")), Some(ID));
        assert_eq!(parse_segment_manifest(&format!("vseg/{ID}/0")), None);
        assert_eq!(parse_manifest(&format!("vseg/{ID}/m")), None);
    }

    #[test]
    fn derived_blob_keys_stay_under_the_image_and_apart_from_kinds() {
        let v = variant_base(ID, "clarendon").unwrap();
        assert_eq!(
            base_manifest(&v).unwrap(),
            format!("img/{ID}/variant/clarendon/m")
        );
        assert_eq!(
            base_chunk(&v, 2).unwrap(),
            format!("img/{ID}/variant/clarendon/2")
        );
        assert!(v.starts_with(&image_prefix(ID).unwrap()));
        assert_eq!(parse_manifest(&base_manifest(&v).unwrap()), None);
        assert_eq!(parse_chunk(&base_chunk(&v, 2).unwrap()), None);
        let r = render_base(ID, ID).unwrap();
        assert_eq!(
            base_manifest(&r).unwrap(),
            format!("img/{ID}/render/{ID}/m")
        );
        assert_eq!(parse_chunk(&base_chunk(&r, 0).unwrap()), None);
        for bad in ["", "Upper", "-lead", "a/b", "a.b", &"x".repeat(65)] {
            assert!(variant_base(ID, bad).is_err(), "{bad:?}");
        }
        assert!(render_base(ID, "../x").is_err());
        let longest = base_chunk(
            &variant_base(ID, &"x".repeat(MAX_VARIANT_NAME)).unwrap(),
            u32::MAX,
        );
        assert!(longest.unwrap().len() <= MAX_KEY_BYTES);
    }

    #[test]
    fn longest_keys_fit() {
        assert!(chunk(ID, BlobKind::Thumbnail, u32::MAX).unwrap().len() <= MAX_KEY_BYTES);
        assert!(index(0, ID).unwrap().len() <= MAX_KEY_BYTES);
    }

    #[test]
    fn bad_ids_never_become_keys() {
        for id in ["", "../idx", &"A".repeat(64), &"a".repeat(300)] {
            assert!(matches!(record(id), Err(Error::InvalidKey(_))));
        }
    }

    #[test]
    fn newer_sorts_first() {
        assert!(index(2, ID).unwrap() < index(1, ID).unwrap());
        assert!(index(u64::MAX, ID).unwrap() < index(0, ID).unwrap());
    }
}
