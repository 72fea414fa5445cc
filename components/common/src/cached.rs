//! Serving stored, immutable bytes: a strong `ETag`, a year-long cache lifetime, `304` on
//! a matching `If-None-Match`, and the sniffed type with `nosniff`. Originals,
//! thumbnails, variants and cached renders are all served this way.

use api::ApiError;
use api::range::{self, Wanted};
use std::ops::Range;
use store::BlobManifest;

use crate::{Incoming, Reply};

/// Serves the blob that `fetch` reads, under `etag` (a quoted strong tag). When the client
/// already has `etag`, `exists` is asked instead and a `304` answers without reading the
/// bytes; either way an absent blob is `missing()`.
pub fn serve(
    req: &Incoming,
    etag: &str,
    exists: impl FnOnce() -> Result<bool, ApiError>,
    fetch: impl FnOnce() -> Result<Option<(BlobManifest, Vec<u8>)>, ApiError>,
    missing: impl Fn() -> ApiError,
) -> Result<Reply, ApiError> {
    if req.header("if-none-match").is_some_and(|v| etag_matches(v, etag)) {
        // Only answer 304 for something that exists.
        if exists()? {
            return Ok(immutable(Reply::empty(304), etag));
        }
        return Err(missing());
    }
    let (manifest, bytes) = fetch()?.ok_or_else(missing)?;
    // The type was sniffed or chosen by darkroom; only raster types are ever stored.
    Ok(immutable(Reply::new(200, &manifest.content_type, bytes), etag))
}

/// Answers a `Range` request for stored bytes with `206` (or `416`), reading only the
/// bytes asked for: `manifest` gives the blob's manifest, `fetch` its bytes in a range.
/// `None` when the whole body should be sent instead: no `Range`, a range this does not
/// take ([`api::range`]), an `If-Range` that no longer matches, or an `If-None-Match`
/// that matches (its `304` comes first, RFC 9110 §13.2.2).
pub fn serve_range(
    req: &Incoming,
    etag: &str,
    manifest: impl FnOnce() -> Result<Option<BlobManifest>, ApiError>,
    fetch: impl FnOnce(&BlobManifest, Range<u64>) -> Result<Vec<u8>, ApiError>,
    missing: impl Fn() -> ApiError,
) -> Result<Option<Reply>, ApiError> {
    if req.header("range").is_none() || req.header("if-none-match").is_some_and(|v| etag_matches(v, etag)) {
        return Ok(None);
    }
    let manifest = manifest()?.ok_or_else(&missing)?;
    match range::requested(req.header("range"), req.header("if-range"), etag, manifest.size) {
        Wanted::Whole => Ok(None),
        Wanted::Unsatisfiable => Err(ApiError::RangeNotSatisfiable { size: manifest.size }),
        Wanted::Part(part) => {
            let bytes = fetch(&manifest, part.clone())?;
            let reply = Reply::new(206, &manifest.content_type, bytes)
                .header("content-range", &range::content_range(&part, manifest.size))
                .header("accept-ranges", "bytes");
            Ok(Some(immutable(reply, etag)))
        }
    }
}

/// The headers of content-addressed bytes that never change under their URL.
pub fn immutable(reply: Reply, etag: &str) -> Reply {
    reply
        .header("etag", etag)
        .header("cache-control", "public, max-age=31536000, immutable")
        .header("x-content-type-options", "nosniff")
}

/// `If-None-Match` may list several tags, or `*`; weak tags match too (RFC 9110 §13.1.2).
pub fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}
