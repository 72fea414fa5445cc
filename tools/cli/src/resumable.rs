//! Files past the platform's request cap go to `/api/uploads` (tus 1.0) in parts: a
//! `PATCH` that fails (a dropped connection, a 5xx) is followed by a `HEAD`, and the
//! upload resumes from the offset the server answers. The finished file's answer is
//! what a single `POST` would have answered (`GET` of the upload).

use crate::client::{Client, json_body};
use crate::error::{Error, Result};
use serde_json::Value;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

/// Files larger than this are sent in parts (Fermyon Wasm Functions caps a request at
/// 10 MiB; a part stays well under it).
pub const THRESHOLD: u64 = 8 << 20;
/// The size of each part.
pub const PART_BYTES: u64 = 8 << 20;
/// Failed `PATCH`es in a row before the upload gives up.
const MAX_RETRIES: u32 = 5;

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Uploads `path` as `kind` (`image` or `dataset`, of `content_type`); answers the
/// single `POST`'s JSON and whether it was new (201).
pub fn upload(client: &Client, path: &Path, kind: &str, content_type: &str) -> Result<(Value, bool)> {
    let file_error = |source| Error::File { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(file_error)?;
    let length = file.metadata().map_err(file_error)?.len();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let metadata = format!("kind {},filename {},filetype {}", base64(kind), base64(&name), base64(content_type));
    let created = client.tus("POST", "/api/uploads", &[("upload-length", length.to_string()), ("upload-metadata", metadata)], b"")?;
    let location = created
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| Error::Protocol { url: client.url("/api/uploads"), message: "no Location for the new upload".into() })?;

    let mut offset = 0u64;
    let mut failures = 0;
    let mut buf = Vec::with_capacity(PART_BYTES as usize);
    while offset < length {
        buf.clear();
        file.seek(SeekFrom::Start(offset)).map_err(file_error)?;
        (&mut file).take(PART_BYTES).read_to_end(&mut buf).map_err(file_error)?;
        let headers = [("content-type", "application/offset+octet-stream".to_owned()), ("upload-offset", offset.to_string())];
        match client.tus("PATCH", &location, &headers, &buf).and_then(|r| upload_offset(client, &location, &r)) {
            Ok(next) => {
                offset = next;
                failures = 0;
            }
            // A dropped connection or a server failure: ask where the upload stands.
            // 409: the offset moved under us (a PATCH we thought lost was stored).
            Err(e) if e.is_transient() || matches!(e, Error::Problem { status: 409, .. }) => {
                failures += 1;
                if failures > MAX_RETRIES {
                    return Err(e);
                }
                std::thread::sleep(Duration::from_millis(200 << failures.min(5)));
                let head = client.tus("HEAD", &location, &[], b"");
                offset = match head.and_then(|r| upload_offset(client, &location, &r)) {
                    Ok(at) => at,
                    Err(_) => offset,
                };
            }
            Err(e) => return Err(e),
        }
    }
    let response = client.get(&location)?;
    let created = response.status().as_u16() == 201;
    Ok((json_body(response, &client.url(&location))?, created))
}

fn upload_offset(client: &Client, location: &str, response: &ureq::http::Response<ureq::Body>) -> Result<u64> {
    response
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Protocol { url: client.url(location), message: "no Upload-Offset in the answer".into() })
}
