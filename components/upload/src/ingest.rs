//! One upload: validate, store the original (the commit point), then run the missing
//! derivative steps concurrently over service chaining and record the result.

use api::{ApiError, ImageObject, Settings, StepRequest, ThumbnailStepResult, VariantStepRequest, VectorizeStepResult};
use darkroom_spin::{chain, kv};
use store::{BlobKind, Derived, ImageRecord, KeyValue, Store, ThumbInfo, VariantInfo, VectorInfo};

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

/// What one derivative step records in the image record.
enum Output {
    Thumbnail(ThumbInfo),
    Vector(VectorInfo),
    Variant(VariantInfo),
}

/// Which derivative a step makes (and so how its answer reads).
#[derive(Clone, Copy)]
enum Kind {
    Thumbnail,
    Vector,
    Variant,
}

/// A derivative step of an upload: the component it chains to, and what it already
/// produced for this image (`Some` when its output is stored and recorded, so a
/// re-upload repairs without redoing).
struct Step {
    kind: Kind,
    component: &'static str,
    path: &'static str,
    body: serde_json::Value,
    done: Option<Output>,
}

impl Step {
    async fn run(self) -> Result<Output, ApiError> {
        if let Some(done) = self.done {
            return Ok(done);
        }
        let value: serde_json::Value = chain::post_json(self.component, self.path, &self.body).await?;
        let unreadable = |e: serde_json::Error| {
            ApiError::BadGateway(format!("the {} step answered unexpected JSON: {e}", self.component))
        };
        Ok(match self.kind {
            Kind::Thumbnail => {
                let r: ThumbnailStepResult = serde_json::from_value(value).map_err(unreadable)?;
                Output::Thumbnail(ThumbInfo {
                    width: r.width,
                    height: r.height,
                    format: r.format,
                    bytes: r.bytes,
                    placeholder: r.placeholder,
                })
            }
            Kind::Vector => {
                let r: VectorizeStepResult = serde_json::from_value(value).map_err(unreadable)?;
                Output::Vector(VectorInfo { dims: r.dims, phash: r.phash })
            }
            Kind::Variant => Output::Variant(serde_json::from_value(value).map_err(unreadable)?),
        })
    }
}

/// The steps of image `id`: thumbnail, vector, then one filter step per auto preset,
/// each marked done when `previous` recorded it and its blob is still stored.
fn plan<K: KeyValue>(
    store: &Store<K>,
    settings: &Settings,
    id: &str,
    previous: Option<&ImageRecord>,
) -> Result<Vec<Step>, ApiError> {
    let step_body = serde_json::to_value(StepRequest { id: id.to_owned() }).unwrap_or_default();
    let stored = |kind| -> Result<bool, ApiError> { Ok(store.has_blob(id, kind)?) };
    let thumbnail = match previous.and_then(|r| r.thumbnail.clone()) {
        Some(info) if stored(BlobKind::Thumbnail)? => Some(Output::Thumbnail(info)),
        _ => None,
    };
    let vector = match previous.and_then(|r| r.vector.clone()) {
        Some(info) if stored(BlobKind::Vector)? => Some(Output::Vector(info)),
        _ => None,
    };
    let mut steps = vec![
        Step { kind: Kind::Thumbnail, component: "thumbnail", path: "/api/thumbnail", body: step_body.clone(), done: thumbnail },
        Step { kind: Kind::Vector, component: "vectorize", path: "/api/vectorize", body: step_body, done: vector },
    ];
    for preset in &settings.auto_presets {
        let recorded = previous.and_then(|r| r.variants.iter().find(|v| &v.name == preset)).cloned();
        let done = match recorded {
            Some(info) if store.has_derived(id, Derived::Variant(preset))? => Some(Output::Variant(info)),
            _ => None,
        };
        let body = serde_json::to_value(VariantStepRequest { id: id.to_owned(), preset: preset.clone() }).unwrap_or_default();
        steps.push(Step { kind: Kind::Variant, component: "render", path: "/api/filter", body, done });
    }
    Ok(steps)
}

pub async fn ingest(settings: &Settings, file: Validated) -> Result<Stored, ApiError> {
    let Validated { bytes, header, id } = file;
    let store = kv::open_store(settings)?;
    let original = Original::find(&store, header, id, bytes.len() as u64)?;
    if original.created {
        store.put_blob(&original.id, BlobKind::Original, &bytes, original.header.format.mime())?;
    }
    drop(bytes);
    derive(settings, &store, original).await
}

/// An image whose original is about to be stored (or is stored already), with what the
/// store held of it before: what [`derive`] needs, whichever way the bytes arrived.
pub struct Original {
    pub header: imaging::Header,
    pub id: String,
    pub size: u64,
    /// The original was not stored yet: this upload stores it (answered 201).
    pub created: bool,
    previous: Option<ImageRecord>,
}

impl Original {
    /// Looks up image `id` before its original is stored.
    pub fn find<K: KeyValue>(store: &Store<K>, header: imaging::Header, id: String, size: u64) -> Result<Self, ApiError> {
        let previous = store.get_record(&id)?;
        // Existence only: an original under one value's size is stored whole in its
        // manifest's key, which reading would fetch.
        let created = !store.has_original(&id)?;
        Ok(Self { header, id, size, created, previous })
    }
}

/// The rest of an upload once its original is stored: the derivative steps, the record
/// and the listing entry (the same for a single `POST` and a resumable upload).
pub async fn derive<K: KeyValue>(settings: &Settings, store: &Store<K>, original: Original) -> Result<Stored, ApiError> {
    let Original { header, id, size, created, previous } = original;
    let has_original = !created;
    // Only the steps whose output is missing run again: a re-upload repairs, never redoes.
    let steps = plan(store, settings, &id, previous.as_ref())?;
    let outcomes = futures::future::join_all(steps.into_iter().map(Step::run)).await;

    // A step that refuses the image (its pixel data is corrupt past a valid header, or
    // it needs more memory to decode than allowed at the step's size, e.g. an interlaced
    // 7000x7000 PNG for a 2048 px variant) refuses the upload: remove what was stored for
    // an image never ingested whole, so nothing of it stays.
    let mut outcomes = outcomes;
    let refused = outcomes.iter().position(|outcome| outcome.as_ref().err().is_some_and(ApiError::is_client_error));
    if let Some(Err(refusal)) = refused.map(|i| outcomes.swap_remove(i)) {
        if previous.is_none() {
            store.delete_image(&id)?;
        }
        return Err(refusal);
    }

    let (width, height) = header.oriented_size();
    let mut record = ImageRecord {
        id: id.clone(),
        format: header.format.name().to_owned(),
        width,
        height,
        bytes: size,
        alpha: header.has_alpha,
        created_micros: previous.as_ref().map_or_else(now_micros, |r| r.created_micros),
        thumbnail: None,
        vector: None,
        variants: Vec::new(),
    };
    let mut failure = None;
    for outcome in outcomes {
        match outcome {
            Ok(Output::Thumbnail(info)) => record.thumbnail = Some(info),
            Ok(Output::Vector(info)) => record.vector = Some(info),
            Ok(Output::Variant(info)) => record.variants.push(info),
            Err(err) => failure = failure.or(Some(err)),
        }
    }
    // The listing entry, then the record: the record commits the image
    // (`Store::has_image`), and an entry without one is skipped by the listing, so an
    // upload that dies here is whole or invisible, never listed-but-missing.
    store.ensure_listed(&record)?;
    store.put_record(&record)?;

    // The original is safe either way; a failed step is reported, and a retry repairs it.
    if let Some(err) = failure {
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
