//! `Range: bytes=…` on downloads (RFC 9110 §14), so an original or a dataset larger than
//! a platform's response cap (10 MiB on Fermyon Wasm Functions) can be fetched in parts.
//!
//! One range per request, like most object stores answer: a header this does not take
//! (several ranges, another unit, bad syntax) is ignored and the whole body is sent, as
//! the RFC allows. A range that starts past the end is `416`.

use std::ops::Range;

/// What a `Range` header asks of a body of `size` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// No usable range: the whole body, `200`.
    Whole,
    /// These bytes, `206` with `Content-Range`.
    Part(Range<u64>),
    /// Nothing of the body: `416` with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Reads `header` (the `Range` value, if any) against a body of `size` bytes.
pub fn wanted(header: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| -> Option<Option<u64>> {
        let s = s.trim();
        if s.is_empty() {
            return Some(None);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Past u64: as far as any body goes.
        Some(Some(s.parse().unwrap_or(u64::MAX)))
    };
    let (Some(first), Some(last)) = (number(first), number(last)) else {
        return Wanted::Whole;
    };
    match (first, last) {
        // `bytes=-N`: the last N bytes.
        (None, Some(n)) if n > 0 && size > 0 => Wanted::Part(size.saturating_sub(n)..size),
        (None, Some(_)) => Wanted::Unsatisfiable,
        (None, None) => Wanted::Whole,
        (Some(a), _) if a >= size => Wanted::Unsatisfiable,
        (Some(a), None) => Wanted::Part(a..size),
        (Some(a), Some(b)) if b < a => Wanted::Whole,
        (Some(a), Some(b)) => Wanted::Part(a..b.saturating_add(1).min(size)),
    }
}

/// What a request asks of a body of `size` bytes tagged `etag`: its `Range` (see
/// [`wanted`]), unless an `If-Range` names another tag (the client's copy is stale, so it
/// gets the whole body, RFC 9110 §13.1.5).
pub fn requested(range: Option<&str>, if_range: Option<&str>, etag: &str, size: u64) -> Wanted {
    if if_range.is_some_and(|v| v.trim() != etag) {
        return Wanted::Whole;
    }
    wanted(range, size)
}

/// The `Content-Range` value of part `r` of `size` bytes.
pub fn content_range(r: &Range<u64>, size: u64) -> String {
    format!("bytes {}-{}/{size}", r.start, r.end - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_follow_rfc_9110() {
        let w = |h: &str| wanted(Some(h), 1000);
        assert_eq!(wanted(None, 1000), Wanted::Whole);
        assert_eq!(w("bytes=0-499"), Wanted::Part(0..500));
        assert_eq!(w("bytes=500-"), Wanted::Part(500..1000));
        assert_eq!(w("bytes=-200"), Wanted::Part(800..1000));
        assert_eq!(w("bytes=-5000"), Wanted::Part(0..1000));
        assert_eq!(
            w("bytes=900-99999999999999999999999"),
            Wanted::Part(900..1000)
        );
        assert_eq!(w("bytes=999-999"), Wanted::Part(999..1000));
        assert_eq!(content_range(&(999..1000), 1000), "bytes 999-999/1000");
        assert_eq!(w("bytes=1000-"), Wanted::Unsatisfiable);
        assert_eq!(w("bytes=-0"), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-"), 0), Wanted::Unsatisfiable);
    }

    #[test]
    fn a_stale_if_range_means_the_whole_body() {
        let tag = "\"abc\"";
        assert_eq!(
            requested(Some("bytes=0-9"), None, tag, 100),
            Wanted::Part(0..10)
        );
        assert_eq!(
            requested(Some("bytes=0-9"), Some(tag), tag, 100),
            Wanted::Part(0..10)
        );
        assert_eq!(
            requested(Some("bytes=0-9"), Some("\"old\""), tag, 100),
            Wanted::Whole
        );
        assert_eq!(requested(None, Some(tag), tag, 100), Wanted::Whole);
    }

    #[test]
    fn ranges_this_does_not_take_mean_the_whole_body() {
        for h in [
            "bytes=0-1,5-9",
            "items=0-5",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=10",
        ] {
            assert_eq!(wanted(Some(h), 1000), Wanted::Whole, "{h}");
        }
    }
}
