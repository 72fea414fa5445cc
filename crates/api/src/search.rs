//! Answers over stored vectors: one vector, the top-k similar images, batch statistics.

use crate::ApiError;
use serde::{Deserialize, Serialize};

/// `GET /api/images/{id}/vector`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorResponse {
    pub id: String,
    pub dims: usize,
    pub vector: Vec<f32>,
    pub phash: String,
}

/// `GET /api/images/{id}/similar?k=`: best first, the image itself excluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarResponse {
    pub id: String,
    pub results: Vec<SimilarResult>,
}

/// One hit of a similarity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarResult {
    pub id: String,
    /// Cosine similarity in [-1, 1].
    pub score: f32,
}

/// `POST /api/vectorize/batch` body: `{"ids": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    pub ids: Vec<String>,
}

impl BatchRequest {
    /// Parses and checks a batch request: malformed JSON or ids are 400, an empty list or
    /// more than `max_batch` ids is 422.
    pub fn parse(body: &[u8], max_batch: usize) -> Result<Self, ApiError> {
        let request: BatchRequest = serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("malformed batch request: {e}")))?;
        if request.ids.is_empty() {
            return Err(ApiError::Unprocessable(
                "the batch request names no ids".into(),
            ));
        }
        if request.ids.len() > max_batch {
            return Err(ApiError::Unprocessable(format!(
                "the batch request names {} ids, more than max_batch ({max_batch})",
                request.ids.len()
            )));
        }
        if let Some(bad) = request.ids.iter().find(|id| !store::is_valid_id(id)) {
            let shown: String = bad.chars().take(80).collect();
            return Err(ApiError::BadRequest(format!(
                "{shown:?} is not an image id (64 lowercase hex characters)"
            )));
        }
        Ok(request)
    }
}

/// A near-duplicate pair of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicatePair {
    pub a: String,
    pub b: String,
    pub score: f32,
}

/// `POST /api/vectorize/batch` answer: statistics over the n×D matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResponse {
    pub n: usize,
    pub dims: usize,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// n×n cosine similarities, rows in request order.
    pub similarity: Vec<Vec<f32>>,
    pub duplicates: Vec<DuplicatePair>,
    /// PCA to 2-D, one `[x, y]` per id in request order.
    pub projection: Vec<[f32; 2]>,
}

impl BatchResponse {
    /// The answer for `ids` (the request's order, which is the matrix's row order):
    /// duplicate pairs name ids instead of row numbers.
    pub fn new(ids: &[String], stats: vectors::BatchStats) -> Self {
        let id = |row: usize| ids.get(row).cloned().unwrap_or_default();
        BatchResponse {
            n: stats.n,
            dims: stats.dims,
            duplicates: stats
                .duplicates
                .iter()
                .map(|&(a, b, score)| DuplicatePair {
                    a: id(a),
                    b: id(b),
                    score,
                })
                .collect(),
            mean: stats.mean,
            std: stats.std,
            similarity: stats.similarity,
            projection: stats.projection,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_response_names_ids() {
        let ids = vec!["a".repeat(64), "b".repeat(64), "c".repeat(64)];
        let rows = [[1.0f32, 0.0], [1.0, 0.001], [0.0, 1.0]].concat();
        let matrix = vectors::ndarray::Array2::from_shape_vec((3, 2), rows).unwrap();
        let response = BatchResponse::new(
            &ids,
            vectors::batch_stats(matrix, vectors::DUPLICATE_THRESHOLD),
        );
        assert_eq!((response.n, response.dims), (3, 2));
        assert_eq!(response.duplicates.len(), 1);
        assert_eq!(
            (&response.duplicates[0].a, &response.duplicates[0].b),
            (&ids[0], &ids[1])
        );
        let json = serde_json::to_value(&response).unwrap();
        for field in [
            "n",
            "dims",
            "mean",
            "std",
            "similarity",
            "duplicates",
            "projection",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        assert_eq!(json["projection"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn batch_request_checks() {
        let id = "a".repeat(64);
        let ok = format!("{{\"ids\": [\"{id}\", \"{id}\"]}}");
        assert_eq!(BatchRequest::parse(ok.as_bytes(), 2).unwrap().ids.len(), 2);
        assert_eq!(
            BatchRequest::parse(ok.as_bytes(), 1).unwrap_err().status(),
            422
        );
        assert_eq!(
            BatchRequest::parse(b"{\"ids\": []}", 5)
                .unwrap_err()
                .status(),
            422
        );
        assert_eq!(BatchRequest::parse(b"[1]", 5).unwrap_err().status(), 400);
        assert_eq!(
            BatchRequest::parse(b"{\"ids\": [\"x\"]}", 5)
                .unwrap_err()
                .status(),
            400
        );
    }
}
