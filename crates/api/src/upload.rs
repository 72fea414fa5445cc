//! The checks every upload passes before anything is stored: not empty, within
//! `max_upload_bytes`, a supported format by its magic bytes, within `max_pixels` by
//! its header (nothing decoded yet). The id comes last, so refused bodies cost no hash.

use crate::{ApiError, Settings};

/// Validates an uploaded file and returns its header and id (content SHA-256).
pub fn validate_upload(
    bytes: &[u8],
    settings: &Settings,
) -> Result<(imaging::Header, String), ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body is empty; send a supported image ({})",
            supported_formats()
        )));
    }
    if bytes.len() as u64 > settings.max_upload_bytes {
        return Err(ApiError::PayloadTooLarge(format!(
            "the file is {} bytes, more than max_upload_bytes ({})",
            bytes.len(),
            settings.max_upload_bytes
        )));
    }
    if imaging::sniff(bytes).is_none() {
        return Err(imaging::Error::Unsupported.into());
    }
    let header = imaging::read_header(bytes, &settings.imaging_limits())?;
    Ok((header, store::content_id(bytes)))
}

/// `jpeg, png, ...`: the accepted formats, for problem details.
pub fn supported_formats() -> String {
    imaging::Format::ALL
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}
