//! Request bodies: raw bytes or `multipart/form-data` (RFC 7578).
//!
//! The Content-Type header only chooses between the two ([`body_kind`]); what the bytes
//! are is decided later by sniffing. The body is already buffered under
//! `max_upload_bytes`, so a small parser over the slice does the job without an async
//! runtime: parts borrow nothing, every search is bounded, and the part count and
//! per-part header size are limited before any part is copied.

use crate::ApiError;

/// How to read a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyKind {
    /// The body is the file itself.
    Raw,
    /// `multipart/form-data` with this boundary.
    Multipart {
        /// The boundary parameter, unquoted.
        boundary: String,
    },
}

/// Limits of [`parse_multipart`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartLimits {
    /// Most parts accepted (413 beyond).
    pub max_parts: usize,
    /// Largest header block of one part, in bytes (413 beyond).
    pub max_part_header_bytes: usize,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        MultipartLimits {
            max_parts: 32,
            max_part_header_bytes: 8192,
        }
    }
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field name.
    pub name: String,
    /// The client's file name: informational only, never trusted for anything.
    pub filename: Option<String>,
    /// The part's content.
    pub bytes: Vec<u8>,
}

/// Chooses raw or multipart from the Content-Type header (absent = raw).
///
/// `multipart/form-data` without a usable boundary is 400. Every other type, including
/// a wrong one such as `text/plain` on a JPEG, is raw: the bytes are sniffed later.
pub fn body_kind(content_type: Option<&str>) -> Result<BodyKind, ApiError> {
    let Some(content_type) = content_type else {
        return Ok(BodyKind::Raw);
    };
    let (media_type, params) = split_header_value(content_type);
    if !media_type.eq_ignore_ascii_case("multipart/form-data") {
        return Ok(BodyKind::Raw);
    }
    let boundary = params
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .ok_or_else(|| {
            ApiError::BadRequest("multipart/form-data without a boundary parameter".into())
        })?;
    check_boundary(&boundary)?;
    Ok(BodyKind::Multipart { boundary })
}

/// Splits a multipart body into parts.
///
/// `content_type` is the request's Content-Type (`multipart/form-data; boundary=...`);
/// a bare boundary (as found in [`BodyKind::Multipart`]) is accepted too. A missing or
/// wrong boundary, a truncated body, or a part without `Content-Disposition: form-data;
/// name=...` is 400; more than `max_parts` parts or a header block over
/// `max_part_header_bytes` is 413.
pub fn parse_multipart(
    content_type: &str,
    body: &[u8],
    limits: MultipartLimits,
) -> Result<Vec<Part>, ApiError> {
    let boundary = if content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        match body_kind(Some(content_type))? {
            BodyKind::Multipart { boundary } => boundary,
            BodyKind::Raw => {
                return Err(ApiError::BadRequest(format!(
                    "{content_type:?} is not multipart/form-data"
                )));
            }
        }
    } else {
        check_boundary(content_type)?;
        content_type.to_owned()
    };
    Parser {
        body,
        delimiter: format!("--{boundary}").into_bytes(),
        limits,
    }
    .parts()
}

/// RFC 2046: 1 to 70 characters from a restricted set, not ending in a space.
fn check_boundary(boundary: &str) -> Result<(), ApiError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b);
    if boundary.is_empty()
        || boundary.len() > 70
        || !boundary.bytes().all(allowed)
        || boundary.ends_with(' ')
    {
        return Err(ApiError::BadRequest(
            "the multipart boundary is empty, too long or has invalid characters".into(),
        ));
    }
    Ok(())
}

struct Parser<'a> {
    body: &'a [u8],
    delimiter: Vec<u8>,
    limits: MultipartLimits,
}

impl Parser<'_> {
    fn parts(&self) -> Result<Vec<Part>, ApiError> {
        let body = self.body;
        // The first delimiter starts the body or follows a preamble's CRLF.
        let mut pos = if body.starts_with(&self.delimiter) {
            self.delimiter.len()
        } else {
            let with_crlf = [b"\r\n".as_slice(), &self.delimiter].concat();
            find(body, &with_crlf, 0)
                .map(|at| at + with_crlf.len())
                .ok_or_else(|| {
                    ApiError::BadRequest("the multipart body does not contain its boundary".into())
                })?
        };
        let mut parts = Vec::new();
        loop {
            // After a delimiter: `--` closes the body, else optional padding and CRLF.
            let rest = &body[pos..];
            if rest.starts_with(b"--") {
                return Ok(parts);
            }
            let padding = rest
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            if !rest[padding..].starts_with(b"\r\n") {
                return Err(truncated());
            }
            pos += padding + 2;
            if parts.len() == self.limits.max_parts {
                return Err(ApiError::PayloadTooLarge(format!(
                    "the multipart body has more than max_multipart_parts ({}) parts",
                    self.limits.max_parts
                )));
            }
            let (part, end) = self.part(pos)?;
            parts.push(part);
            pos = end;
        }
    }

    /// Reads the part starting at `start`; returns it and the position after the
    /// delimiter that ends it.
    fn part(&self, start: usize) -> Result<(Part, usize), ApiError> {
        let body = self.body;
        let max = self.limits.max_part_header_bytes;
        let window = &body[start..body.len().min(start.saturating_add(max + 4))];
        let header_len = if window.starts_with(b"\r\n") {
            0 // no headers at all
        } else {
            match find(window, b"\r\n\r\n", 0) {
                Some(at) => at + 2,
                None if window.len() > max => {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "a multipart part's headers exceed max_part_header_bytes ({max})"
                    )));
                }
                None => return Err(truncated()),
            }
        };
        let headers = &body[start..start + header_len];
        let content_start = start + header_len + 2;
        let closing = [b"\r\n".as_slice(), &self.delimiter].concat();
        let content_end = find(body, &closing, content_start).ok_or_else(truncated)?;
        let (name, filename) = disposition(headers)?;
        let part = Part {
            name,
            filename,
            bytes: body[content_start..content_end].to_vec(),
        };
        Ok((part, content_end + closing.len()))
    }
}

fn truncated() -> ApiError {
    ApiError::BadRequest("the multipart body is truncated or malformed".into())
}

/// `name` and `filename` from the part's `Content-Disposition: form-data` header.
fn disposition(headers: &[u8]) -> Result<(String, Option<String>), ApiError> {
    let text = String::from_utf8_lossy(headers);
    for line in text.split("\r\n") {
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        if !field.trim().eq_ignore_ascii_case("content-disposition") {
            continue;
        }
        let (kind, params) = split_header_value(value);
        if !kind.eq_ignore_ascii_case("form-data") {
            break;
        }
        let param = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        let name = param("name")
            .ok_or_else(|| ApiError::BadRequest("a multipart part has no field name".into()))?;
        let filename = param("filename").or_else(|| param("filename*").map(|v| ext_value(&v)));
        return Ok((name, filename));
    }
    Err(ApiError::BadRequest(
        "a multipart part lacks `Content-Disposition: form-data`".into(),
    ))
}

/// RFC 8187 `charset'lang'percent-encoded` → decoded text (lossy; names are cosmetic).
fn ext_value(v: &str) -> String {
    let encoded = v.splitn(3, '\'').nth(2).unwrap_or(v);
    form_urlencoded::parse(format!("x={}", encoded.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `type; a=1; b="x;y"` → (`type`, [(a, 1), (b, x;y)]): quoted strings may hold `;` and
/// backslash escapes.
fn split_header_value(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = Vec::new();
    let (mut current, mut quoted, mut escaped) = (String::new(), false, false);
    for c in value.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' if quoted => escaped = true,
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => pieces.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    pieces.push(current);
    let mut pieces = pieces.into_iter();
    let media = pieces.next().unwrap_or_default().trim().to_owned();
    let params = pieces
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_owned(), v.to_owned()))
        })
        .collect();
    (media, params)
}

/// First index of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let offset = haystack[at..=haystack.len() - needle.len()]
            .iter()
            .position(|&b| b == first)?;
        at += offset;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (name, filename, bytes) in parts {
            b.extend_from_slice(b"--XyZ\r\n");
            let file = filename
                .map(|f| format!("; filename=\"{f}\""))
                .unwrap_or_default();
            b.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"{file}\r\n").as_bytes(),
            );
            b.extend_from_slice(b"Content-Type: image/jpeg\r\n\r\n");
            b.extend_from_slice(bytes);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"--XyZ--\r\n");
        b
    }

    fn status(r: Result<Vec<Part>, ApiError>) -> u16 {
        r.unwrap_err().status()
    }

    #[test]
    fn body_kinds() {
        assert_eq!(body_kind(None).unwrap(), BodyKind::Raw);
        assert_eq!(body_kind(Some("image/jpeg")).unwrap(), BodyKind::Raw);
        assert_eq!(
            body_kind(Some("text/plain; boundary=x")).unwrap(),
            BodyKind::Raw
        );
        assert_eq!(
            body_kind(Some(
                "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b:c\""
            ))
            .unwrap(),
            BodyKind::Multipart {
                boundary: "a b:c".into()
            }
        );
        for bad in [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=\"\"",
        ] {
            assert_eq!(body_kind(Some(bad)).unwrap_err().status(), 400, "{bad}");
        }
        let long = format!("multipart/form-data; boundary={}", "a".repeat(71));
        assert_eq!(body_kind(Some(&long)).unwrap_err().status(), 400);
    }

    #[test]
    fn parts_with_binary_content() {
        // Content with CRLFs, dashes, and near-misses of the delimiter (a real one may not occur).
        let tricky: &[u8] = b"\r\n--XyY\r\n--Xy\r\n\x00\xff";
        let b = body(&[
            ("file", Some("a.jpg"), tricky),
            ("file", Some("b \\\"q\\\".png"), b""),
            ("note", None, b"hi"),
        ]);
        let parts = parse_multipart(CT, &b, MultipartLimits::default()).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts[0],
            Part {
                name: "file".into(),
                filename: Some("a.jpg".into()),
                bytes: tricky.to_vec()
            }
        );
        assert_eq!(parts[1].filename.as_deref(), Some("b \"q\".png"));
        assert!(parts[1].bytes.is_empty());
        assert_eq!(
            (
                parts[2].name.as_str(),
                parts[2].filename.as_deref(),
                &parts[2].bytes[..]
            ),
            ("note", None, &b"hi"[..])
        );
        // The bare boundary works the same as the Content-Type.
        assert_eq!(
            parse_multipart("XyZ", &b, MultipartLimits::default()).unwrap(),
            parts
        );
    }

    #[test]
    fn preamble_epilogue_and_padding() {
        let b = b"preamble\r\n--XyZ  \r\nContent-Disposition: form-data; name=f; filename*=UTF-8''%E2%82%AC.jpg\r\n\r\nabc\r\n--XyZ--epilogue";
        let parts = parse_multipart(CT, b, MultipartLimits::default()).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].bytes, b"abc");
        assert_eq!(parts[0].filename.as_deref(), Some("€.jpg"));
        // No parts at all.
        assert!(
            parse_multipart(CT, b"--XyZ--\r\n", MultipartLimits::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn malformed_bodies_are_400() {
        let good = body(&[("file", Some("a.jpg"), b"data")]);
        let limits = MultipartLimits::default();
        assert_eq!(
            status(parse_multipart(
                "multipart/form-data; boundary=other",
                &good,
                limits
            )),
            400
        );
        assert_eq!(
            status(parse_multipart("multipart/form-data", &good, limits)),
            400
        );
        assert_eq!(status(parse_multipart("image/png", &good, limits)), 400);
        // Cut at every offset: never a panic, always 400 or a (shorter) valid parse.
        for cut in 0..good.len() {
            if let Err(e) = parse_multipart(CT, &good[..cut], limits) {
                assert_eq!(e.status(), 400, "cut at {cut}");
            }
        }
        let no_disposition = b"--XyZ\r\nContent-Type: image/png\r\n\r\nx\r\n--XyZ--";
        assert_eq!(status(parse_multipart(CT, no_disposition, limits)), 400);
        let no_name = b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--";
        assert_eq!(status(parse_multipart(CT, no_name, limits)), 400);
        let garbage_after_delimiter = b"--XyZjunk\r\n\r\nx\r\n--XyZ--";
        assert_eq!(
            status(parse_multipart(CT, garbage_after_delimiter, limits)),
            400
        );
    }

    #[test]
    fn too_many_parts_and_huge_headers_are_413() {
        let files: Vec<(&str, Option<&str>, &[u8])> =
            (0..1000).map(|_| ("file", Some("x"), &b"x"[..])).collect();
        let b = body(&files);
        let err = parse_multipart(
            CT,
            &b,
            MultipartLimits {
                max_parts: 32,
                max_part_header_bytes: 8192,
            },
        )
        .unwrap_err();
        assert_eq!(err.status(), 413);
        assert!(err.problem().detail.contains("32"));
        assert_eq!(
            parse_multipart(
                CT,
                &b,
                MultipartLimits {
                    max_parts: 1000,
                    max_part_header_bytes: 8192
                }
            )
            .unwrap()
            .len(),
            1000
        );

        let huge_name = "n".repeat(20_000);
        let b = body(&[(&huge_name, None, b"x")]);
        let err = parse_multipart(CT, &b, MultipartLimits::default()).unwrap_err();
        assert_eq!(err.status(), 413);
        assert!(err.problem().detail.contains("8192"));
    }

    #[test]
    fn find_is_correct() {
        assert_eq!(find(b"abcabd", b"abd", 0), Some(3));
        assert_eq!(find(b"abcabd", b"abd", 4), None);
        assert_eq!(find(b"ab", b"abc", 0), None);
        assert_eq!(find(b"xx", b"", 0), None);
        assert_eq!(find(b"aaab", b"aab", 0), Some(1));
    }
}
