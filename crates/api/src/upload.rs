//! The checks every upload passes before anything is stored: not empty, within
//! `max_upload_bytes`, a supported format by its magic bytes, within `max_pixels` by
//! its header (nothing decoded yet). The id comes last, so refused bodies cost no hash.

use crate::{ApiError, Settings};

/// Validates an uploaded file and returns its header and id (content SHA-256).
pub fn validate_upload(
    bytes: &[u8],
    settings: &Settings,
) -> Result<(imaging::Header, String), ApiError> {
    let header = check_image(
        bytes,
        bytes.len() as u64,
        (settings.max_upload_bytes, "max_upload_bytes"),
        settings,
    )?;
    Ok((header, store::content_id(bytes)))
}

/// The checks of [`validate_upload`] on the first bytes `head` of a file of `size`
/// bytes whose cap is `max` (its value and variable name): a resumable upload is checked
/// on its first chunk, where every supported format's header sits, without the rest.
pub fn check_image(
    head: &[u8],
    size: u64,
    (max, limit): (u64, &str),
    settings: &Settings,
) -> Result<imaging::Header, ApiError> {
    if size == 0 {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body is empty; send a supported image ({})",
            supported_formats()
        )));
    }
    if size > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "the file is {size} bytes, more than {limit} ({max})"
        )));
    }
    if imaging::sniff(head).is_none() {
        return Err(imaging::Error::Unsupported.into());
    }
    Ok(imaging::read_header(head, &settings.imaging_limits())?)
}

/// `jpeg, png, ...`: the accepted formats, for problem details.
pub fn supported_formats() -> String {
    imaging::Format::ALL
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}
