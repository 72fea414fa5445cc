//! The processing steps' wire types: the `{"id"}` request `upload` chains with, the
//! steps' JSON answers, and the stateless `/api/vectorize` answer.

use crate::ApiError;
use serde::{Deserialize, Serialize};

/// Body of a chained step call: work on the stored original of `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRequest {
    pub id: String,
}

impl StepRequest {
    /// Parses a step body that did not sniff as an image.
    ///
    /// Anything that is not a JSON object is answered 415 (it was neither a supported
    /// image nor a step request: `POST /api/thumbnail` with text is a media-type
    /// problem); a JSON object without a valid `id` is 400.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        if body.trim_ascii_start().first() != Some(&b'{') {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body is neither a supported image ({}) nor a JSON step request {{\"id\": ...}}",
                crate::upload::supported_formats()
            )));
        }
        let request: StepRequest = serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("malformed step request: {e}")))?;
        if !store::is_valid_id(&request.id) {
            return Err(ApiError::BadRequest(
                "the step request's id is not 64 lowercase hex characters".to_owned(),
            ));
        }
        Ok(request)
    }
}

/// Answer of the chained thumbnail step (the thumbnail was stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailStepResult {
    pub width: u32,
    pub height: u32,
    /// Always `jpeg` for now.
    pub format: String,
    /// Encoded length in bytes.
    pub bytes: u64,
    /// BlurHash and dominant colour of the thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<store::Placeholder>,
}

/// Body of the chained filter step: store the variant `preset` of the stored original
/// `id` (what upload sends for each of its `auto_presets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantStepRequest {
    pub id: String,
    pub preset: String,
}

/// Answer of the chained filter step (the variant was stored): its name and shape.
pub type VariantStepResult = store::VariantInfo;

/// Answer of the chained vectorize step (the vector was stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorizeStepResult {
    pub dims: usize,
    /// 64-bit perceptual hash, hex.
    pub phash: String,
}

/// Answer of the stateless `POST /api/vectorize`: `{dims, vector, phash}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorizeResponse {
    pub dims: usize,
    pub vector: Vec<f32>,
    pub phash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_request_parsing() {
        let id = "0f".repeat(32);
        let ok = StepRequest::parse(format!(" {{\"id\":\"{id}\"}}").as_bytes()).unwrap();
        assert_eq!(ok.id, id);
        for (body, status) in [
            (&b""[..], 415),
            (b"plain text", 415),
            (b"<html></html>", 415),
            (b"{", 400),
            (b"{}", 400),
            (b"{\"id\": 5}", 400),
            (b"{\"id\": \"../../idx\"}", 400),
        ] {
            assert_eq!(
                StepRequest::parse(body).unwrap_err().status(),
                status,
                "{body:?}"
            );
        }
    }
}
