//! `/api/uploads`: resumable uploads (tus 1.0 core with `creation` and `termination`)
//! for files past a platform's request cap, finished exactly as a single `POST` would
//! finish them: an image through [`ingest::derive`], a dataset through
//! `jobs::dataset::ingest_stored`. The parts are stored as the final blob's chunks
//! (`store::resumable`), so completing copies nothing; see `docs/uploads.md`.

use crate::ingest::{self, Original};
use api::tus::{self, Kind, Limits, Metadata};
use api::{ApiError, Settings};
use darkroom_spin::kv::SpinKv;
use darkroom_spin::{Incoming, Reply, auth, incoming::random_hex, settings};
use jobs::dataset::{self, Format};
use serde_json::{Value, json};
use spin_sdk::http::Method;
use store::resumable::image_parts;
use store::{BlobKind, Store, Upload};

const ALLOWED: &str = "OPTIONS, POST";
const ALLOWED_ONE: &str = "OPTIONS, HEAD, PATCH, DELETE, GET";

/// Routes `/api/uploads[/{uid}]`; every answer, errors included, carries `Tus-Resumable`.
pub async fn route(req: Incoming) -> Reply {
    let reply = match handle(req).await {
        Ok(reply) => reply,
        Err(err) => {
            if err.status() >= 500 {
                eprintln!("darkroom: {err:#}");
            }
            let reply = Reply::problem(&err);
            match err {
                ApiError::PreconditionFailed(_) => reply.header("tus-version", tus::VERSION),
                _ => reply,
            }
        }
    };
    reply.header("tus-resumable", tus::VERSION)
}

async fn handle(req: Incoming) -> Result<Reply, ApiError> {
    let segments = req.segments_after("/api/uploads").unwrap_or_default();
    let uid = match segments.as_slice() {
        [] => None,
        [uid] => Some((*uid).to_owned()),
        _ => return Err(ApiError::NotFound("no such upload route".into())),
    };
    // An unlisted method is 405 before anything else (even a missing `Tus-Resumable`).
    let listed = match (&uid, req.method()) {
        (_, Method::Options) | (None, Method::Post) => true,
        (Some(_), Method::Head | Method::Patch | Method::Delete | Method::Get) => true,
        _ => false,
    };
    if !listed {
        let allowed = if uid.is_some() { ALLOWED_ONE } else { ALLOWED };
        return Err(ApiError::MethodNotAllowed { allowed });
    }
    let limits = load_limits()?;
    if *req.method() == Method::Options {
        let max = limits.max_image_bytes.max(limits.max_dataset_bytes);
        return Ok(Reply::empty(204)
            .header("tus-version", tus::VERSION)
            .header("tus-extension", tus::EXTENSIONS)
            .header("tus-max-size", &max.to_string()));
    }
    // GET (what a finished upload made) is this server's own, not a tus request.
    if *req.method() != Method::Get {
        tus::check_version(req.header("tus-resumable"))?;
    }
    // Reads of an upload's state need the token too: `serve` lets GET and HEAD through.
    if matches!(req.method(), Method::Get | Method::Head) && auth::api_token().is_some() {
        auth::require_token_on_read(&req)?;
    }
    let settings = settings::load()?;
    let store = darkroom_spin::kv::open_store(&settings)?;
    // Past the method check, the collection URL has only POST left.
    let Some(uid) = uid else {
        return create(&req, &store, &settings, &limits);
    };
    let upload = find(&store, &uid)?;
    match req.method() {
        Method::Head => {
            let progress = store.upload_progress(&uid, &upload)?;
            Ok(Reply::empty(200)
                .header("upload-offset", &progress.offset.to_string())
                .header("upload-length", &upload.length.to_string())
                .header("cache-control", "no-store"))
        }
        Method::Patch => patch(req, &store, &settings, &limits, &uid, &upload).await,
        Method::Delete => {
            let finished = store.upload_result(&uid)?.is_some();
            store.delete_upload(&uid, &upload, !finished)?;
            Ok(Reply::empty(204))
        }
        Method::Get => result(&store, &uid, &upload),
        _ => Err(ApiError::MethodNotAllowed { allowed: ALLOWED_ONE }),
    }
}

fn load_limits() -> Result<Limits, ApiError> {
    Limits::from_lookup(|name| spin_sdk::variables::get(name).ok().filter(|v| !v.trim().is_empty()))
        .map_err(|e| ApiError::Internal(format!("bad configuration: {e}")))
}

fn now_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// The upload `uid`; unknown, terminated and expired ones are 404.
fn find(store: &Store<SpinKv>, uid: &str) -> Result<Upload, ApiError> {
    let gone = || ApiError::NotFound(format!("no upload {uid} (never created, terminated, or expired)"));
    if !store::is_valid_upload_id(uid) {
        return Err(gone());
    }
    match store.upload(uid)? {
        Some(upload) if upload.expires_micros >= now_micros() => Ok(upload),
        _ => Err(gone()),
    }
}

/// `POST /api/uploads`: checks the declared file before any byte arrives.
fn create(req: &Incoming, store: &Store<SpinKv>, settings: &Settings, limits: &Limits) -> Result<Reply, ApiError> {
    if req.header("upload-defer-length").is_some() {
        return Err(ApiError::BadRequest("Upload-Defer-Length is not supported: send Upload-Length".into()));
    }
    if req.header("content-length").and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0) > 0 {
        return Err(ApiError::BadRequest("creation-with-upload is not supported: create with an empty body, then PATCH".into()));
    }
    let length = tus::offset(req.header("upload-length"), "Upload-Length")?;
    let meta = Metadata::parse(req.header("upload-metadata"))?;
    limits.check_length(meta.kind, length)?;
    let uid = random_hex(16);
    let parts = match meta.kind {
        Kind::Image => {
            if length == 0 {
                api::check_image(&[], 0, (limits.max_image_bytes, "max_resumable_image_bytes"), settings)?;
            }
            image_parts(&uid)?
        }
        Kind::Dataset => {
            dataset_format(meta.content_type.as_deref())?;
            if length == 0 {
                return Err(ApiError::BadRequest("the dataset is empty".into()));
            }
            jobs::keys::dataset_chunks(&uid)?
        }
    };
    // Unfinished uploads past their time go now: no timer runs on the platform.
    if let Err(e) = store.sweep_uploads(now_micros()) {
        eprintln!("darkroom: sweeping expired uploads: {e}");
    }
    let created_micros = now_micros();
    let upload = Upload {
        length,
        chunk_size: settings.kv_chunk_bytes,
        parts,
        kind: meta.kind.as_str().to_owned(),
        filename: meta.filename,
        content_type: meta.content_type,
        created_micros,
        expires_micros: created_micros + limits.ttl_seconds * 1_000_000,
    };
    store.create_upload(&uid, &upload)?;
    Ok(Reply::empty(201).header("location", &format!("/api/uploads/{uid}")))
}

fn dataset_format(content_type: Option<&str>) -> Result<Format, ApiError> {
    let ct = content_type.unwrap_or("");
    Format::from_content_type(ct).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "a dataset upload's filetype {ct:?}: send text/csv (with a header row) or application/x-ndjson in Upload-Metadata"
        ))
    })
}

/// `PATCH /api/uploads/{uid}`: appends at the client's offset; the `PATCH` that brings
/// the upload to its length also finishes it.
async fn patch(req: Incoming, store: &Store<SpinKv>, settings: &Settings, limits: &Limits, uid: &str, upload: &Upload) -> Result<Reply, ApiError> {
    tus::check_patch_type(req.header("content-type"))?;
    let offset = tus::offset(req.header("upload-offset"), "Upload-Offset")?;
    let progress = store.upload_progress(uid, upload)?;
    if offset != progress.offset {
        return Err(ApiError::Conflict(format!(
            "Upload-Offset {offset} is not the upload's offset {}: HEAD the upload and resume from its Upload-Offset",
            progress.offset
        )));
    }
    let declared = req.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    limits.check_part(declared, offset, upload.length)?;
    let at = if progress.is_complete(upload) {
        offset
    } else {
        let mut body = req.body_reader(limits.max_part_bytes, "max_upload_part_bytes")?;
        let appended = store.append_upload(uid, upload, &progress, &mut body, limits.max_part_bytes)?;
        if appended.overflow {
            return Err(ApiError::PayloadTooLarge(format!(
                "the PATCH body went past Upload-Length ({}) or max_upload_part_bytes ({}); stored up to offset {}",
                upload.length, limits.max_part_bytes, appended.offset
            )));
        }
        // An image is judged by its first chunk as soon as that is stored, so a file
        // that is no image (or is too many pixels) is refused now, not after its last part.
        let first = u64::from(upload.chunk_size).min(upload.length);
        if upload.kind == Kind::Image.as_str() && progress.offset < first && appended.offset >= first && appended.offset < upload.length {
            let head = store.upload_chunk(upload, 0)?;
            if let Err(err) = api::check_image(&head, upload.length, (limits.max_image_bytes, "max_resumable_image_bytes"), settings) {
                store.delete_upload(uid, upload, true)?;
                return Err(err);
            }
        }
        appended.offset
    };
    if at == upload.length && store.upload_result(uid)?.is_none() {
        finish(store, settings, limits, uid, upload).await?;
    }
    Ok(Reply::empty(204).header("upload-offset", &at.to_string()))
}

/// What a finished upload made: status, `Location`, and the single `POST`'s JSON.
fn answer(status: u16, location: String, body: Value) -> Value {
    json!({ "status": status, "location": location, "body": body })
}

/// Turns a complete upload into its image or dataset and records the answer. A refusal
/// (4xx: not an image, a malformed dataset) removes the upload and all of its bytes;
/// any other failure keeps them, and an empty `PATCH` at the end offset retries.
async fn finish(store: &Store<SpinKv>, settings: &Settings, limits: &Limits, uid: &str, upload: &Upload) -> Result<(), ApiError> {
    let made = match upload.kind.as_str() {
        "dataset" => finish_dataset(store, limits, uid, upload),
        _ => finish_image(store, settings, limits, upload).await,
    };
    let made = match made {
        Ok(made) => made,
        Err(err) => {
            if err.is_client_error() {
                store.delete_upload(uid, upload, true)?;
            }
            return Err(err);
        }
    };
    store.finish_upload(uid, &serde_json::to_vec(&made).unwrap_or_default())?;
    Ok(())
}

async fn finish_image(store: &Store<SpinKv>, settings: &Settings, limits: &Limits, upload: &Upload) -> Result<Value, ApiError> {
    let head = store.upload_chunk(upload, 0)?;
    let header = api::check_image(&head, upload.length, (limits.max_image_bytes, "max_resumable_image_bytes"), settings)?;
    drop(head);
    let (id, digest) = store.hash_upload(upload)?;
    let original = Original::find(store, header, id, upload.length)?;
    if original.created {
        let content_type = original.header.format.mime();
        store.adopt_blob(&original.id, BlobKind::Original, &upload.parts, (upload.length, upload.chunk_size), (&original.id, &digest), content_type)?;
    } else {
        // A re-upload: the stored original stays, these bytes (the same) go.
        store.delete_upload_parts(upload)?;
    }
    let stored = ingest::derive(settings, store, original).await?;
    let location = format!("/api/images/{}", stored.object.id);
    let body = serde_json::to_value(&stored.object).unwrap_or_default();
    Ok(answer(if stored.created { 201 } else { 200 }, location, body))
}

fn finish_dataset(store: &Store<SpinKv>, limits: &Limits, uid: &str, upload: &Upload) -> Result<Value, ApiError> {
    let format = dataset_format(upload.content_type.as_deref())?;
    let config = jobs::Config::from_lookup(|name| spin_sdk::variables::get(name).ok().filter(|v| !v.trim().is_empty()))
        .map_err(|e| ApiError::Internal(format!("bad configuration: {e}")))?;
    let ingest_limits = dataset::IngestLimits {
        max_bytes: limits.max_dataset_bytes,
        chunk_size: upload.chunk_size,
        ..config.ingest_limits()
    };
    let reader = store.upload_reader(upload);
    let (ds, created) = dataset::ingest_stored(store.kv(), reader, format, uid, &ingest_limits, now_micros())?;
    Ok(answer(if created { 201 } else { 200 }, format!("/api/datasets/{}", ds.id), api::dataset_object(&ds)))
}

/// `GET /api/uploads/{uid}`: once finished, exactly what the single `POST` would have
/// answered (status, `Location`, JSON); before, 409 with the offset.
fn result(store: &Store<SpinKv>, uid: &str, upload: &Upload) -> Result<Reply, ApiError> {
    let Some(raw) = store.upload_result(uid)? else {
        let progress = store.upload_progress(uid, upload)?;
        return Err(ApiError::Conflict(format!(
            "upload {uid} is at offset {} of {}: it has no result until its last byte arrives",
            progress.offset, upload.length
        )));
    };
    let made: Value = serde_json::from_slice(&raw).map_err(|e| ApiError::Internal(format!("upload result: {e}")))?;
    let status = made["status"].as_u64().unwrap_or(200) as u16;
    let location = made["location"].as_str().unwrap_or_default().to_owned();
    Ok(Reply::json(status, &made["body"]).header("location", &location))
}
