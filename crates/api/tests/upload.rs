//! `validate_upload` and the multipart path on real images made in the test.

use api::{ApiError, BodyKind, MultipartLimits, Settings};
use imaging::{Format, testkit};

fn settings(vars: &[(&str, &str)]) -> Settings {
    Settings::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap()
}

fn status<T: std::fmt::Debug>(r: Result<T, ApiError>) -> u16 {
    r.unwrap_err().status()
}

#[test]
fn real_images_pass_with_their_sniffed_format_and_id() {
    let photo = testkit::synthetic_photo(320, 200, 7);
    for format in Format::ALL {
        let bytes = testkit::encode(&photo, format, 85);
        let (header, id) = api::validate_upload(&bytes, &Settings::default()).unwrap();
        assert_eq!(header.format, format);
        assert_eq!(header.oriented_size(), (320, 200));
        assert_eq!(id, store::content_id(&bytes));
    }
}

#[test]
fn refusals_by_cause() {
    let defaults = Settings::default();
    let png = testkit::encode(&testkit::synthetic_photo(320, 200, 8), Format::Png, 0);
    // Empty, text, HTML/SVG: 415 whatever the client claims.
    for body in [
        &b""[..],
        b"hello",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        b"<!DOCTYPE html>",
    ] {
        let err = api::validate_upload(body, &defaults).unwrap_err();
        assert_eq!(err.status(), 415);
        assert!(!err.problem().detail.is_empty());
    }
    // Truncated after the magic bytes: still not a usable image.
    assert_eq!(status(api::validate_upload(&png[..12], &defaults)), 415);
    // Over max_pixels from the header alone: 413, the detail names the limit.
    let small = settings(&[("max_pixels", "10000")]);
    let err = api::validate_upload(&png, &small).unwrap_err();
    assert_eq!(err.status(), 413);
    assert!(
        err.problem().detail.contains("max_pixels (10000)"),
        "{}",
        err.problem().detail
    );
    // Over max_upload_bytes: 413.
    let tiny = settings(&[("max_upload_bytes", "100")]);
    assert_eq!(status(api::validate_upload(&png, &tiny)), 413);
}

#[test]
fn multipart_upload_yields_the_files() {
    let jpeg = testkit::encode(&testkit::synthetic_photo(64, 48, 9), Format::Jpeg, 80);
    let png = testkit::encode(&testkit::synthetic_photo(48, 64, 10), Format::Png, 0);
    let boundary = "----darkroom0123";
    let mut body = Vec::new();
    for (name, file) in [("a.jpg", &jpeg), ("notes.txt", &png)] {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n").as_bytes());
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");

    let BodyKind::Multipart { boundary: found } = api::body_kind(Some(&content_type)).unwrap()
    else {
        panic!("multipart expected");
    };
    let parts =
        api::parse_multipart(&found, &body, Settings::default().multipart_limits()).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].bytes, jpeg);
    assert_eq!(parts[1].bytes, png);
    let formats: Vec<_> = parts
        .iter()
        .map(|p| {
            api::validate_upload(&p.bytes, &Settings::default())
                .unwrap()
                .0
                .format
        })
        .collect();
    assert_eq!(formats, [Format::Jpeg, Format::Png]);
    let one_part = MultipartLimits {
        max_parts: 1,
        ..Default::default()
    };
    assert_eq!(
        status(api::parse_multipart(&content_type, &body, one_part)),
        413
    );
}
