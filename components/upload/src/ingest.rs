//! One upload: validate, store the original (the commit point), then run the missing
//! derivative steps concurrently over service chaining and record the result.

use api::{ApiError, ImageObject, Settings, StepRequest, ThumbnailStepResult, VectorizeStepResult};
use darkroom_spin::{chain, kv};
use store::{BlobKind, ImageRecord, ThumbInfo, VectorInfo};

pub struct Stored {
    pub object: ImageObject,
    /// False when the same bytes were already stored (a re-upload).
    pub created: bool,
}

/// Bytes that passed [`api::validate_upload`], with what it found, so the checks (and
/// the SHA-256) run once per file even when a multipart body is validated up front.
pub struct Validated {
    bytes: Vec<u8>,
    header: imaging::Header,
    id: String,
}

impl Validated {
    pub fn check(bytes: Vec<u8>, settings: &Settings) -> Result<Self, ApiError> {
        let (header, id) = api::validate_upload(&bytes, settings)?;
        Ok(Self { bytes, header, id })
    }
}

pub async fn ingest(settings: &Settings, file: Validated) -> Result<Stored, ApiError> {
    let Validated { bytes, header, id } = file;
    let store = kv::open_store(settings)?;

    let previous = store.get_record(&id)?;
    let has_original = store.blob_manifest(&id, BlobKind::Original)?.is_some();
    if !has_original {
        store.put_blob(&id, BlobKind::Original, &bytes, header.format.mime())?;
    }
    let size = bytes.len() as u64;
    drop(bytes);

    // Only the steps whose output is missing run again: a re-upload repairs, never redoes.
    let thumbnail_done = match previous.as_ref().and_then(|r| r.thumbnail.clone()) {
        Some(info) if store.blob_manifest(&id, BlobKind::Thumbnail)?.is_some() => Some(info),
        _ => None,
    };
    let vector_done = match previous.as_ref().and_then(|r| r.vector.clone()) {
        Some(info) if store.blob_manifest(&id, BlobKind::Vector)?.is_some() => Some(info),
        _ => None,
    };
    let step = StepRequest { id: id.clone() };
    let (thumbnail, vector) = futures::join!(
        async {
            match thumbnail_done {
                Some(info) => Ok(info),
                None => chain::post_json::<_, ThumbnailStepResult>("thumbnail", "/api/thumbnail", &step)
                    .await
                    .map(|r| ThumbInfo { width: r.width, height: r.height, format: r.format, bytes: r.bytes }),
            }
        },
        async {
            match vector_done {
                Some(info) => Ok(info),
                None => chain::post_json::<_, VectorizeStepResult>("vectorize", "/api/vectorize", &step)
                    .await
                    .map(|r| VectorInfo { dims: r.dims, phash: r.phash }),
            }
        }
    );

    // A step that refuses the image (its pixel data is corrupt past a valid header, or
    // it needs more memory to decode than allowed) refuses the upload: remove what was
    // stored for an image never ingested whole, so nothing of it stays.
    let refusal = thumbnail.as_ref().err().is_some_and(ApiError::is_client_error)
        || vector.as_ref().err().is_some_and(ApiError::is_client_error);
    if refusal {
        if previous.is_none() {
            store.delete_image(&id)?;
        }
        let thumbnail_err = thumbnail.err().filter(ApiError::is_client_error);
        return Err(thumbnail_err.or(vector.err()).expect("a step failed"));
    }

    let (width, height) = header.oriented_size();
    let record = ImageRecord {
        id: id.clone(),
        format: header.format.name().to_owned(),
        width,
        height,
        bytes: size,
        created_micros: previous.as_ref().map_or_else(now_micros, |r| r.created_micros),
        thumbnail: thumbnail.as_ref().ok().cloned(),
        vector: vector.as_ref().ok().cloned(),
    };
    store.put_record(&record)?;
    store.ensure_listed(&record)?;

    // The original is safe either way; a failed step is reported, and a retry repairs it.
    if let Err(err) = thumbnail.and(vector) {
        return Err(ApiError::BadGateway(format!(
            "image {id} was stored, but a processing step failed; upload it again to retry: {err}"
        )));
    }
    Ok(Stored { object: ImageObject::from(&record), created: !has_original })
}

fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
