//! `GET /images/{id}/render?w=&h=&fit=&gravity=&crop=&filter=&preset=&format=&q=&dpr=&bg=&enlarge=`
//!
//! The options are parsed and the geometry planned from the image record before anything
//! else is read, so bad parameters (400/422) and oversized outputs (413) cost no store
//! read. The result is stored as a derived blob named by the SHA-256 of the image id,
//! the canonical options and the negotiated format: that hash is also the `ETag`, so a
//! client's copy stays valid for as long as the image exists, and the second request for
//! the same render is a store read (`darkroom-cache: hit`).

use api::ApiError;
use darkroom_spin::{Incoming, Reply, auth, cached, kv};
use render::RenderOptions;
use sha2::{Digest, Sha256};
use store::{BlobKind, Derived};

use crate::config::Config;
use crate::{api_error, unknown};

/// What a render URL may carry when `render_presets_only` is set.
const PRESETS_ONLY_PARAMS: [&str; 5] = ["preset", "format", "expires", "sig", "kid"];

pub fn get(req: &Incoming, id: &str) -> Result<Reply, ApiError> {
    let config = Config::load()?;
    let query = req.query();
    if config.presets_only {
        presets_only(query)?;
    }
    let opts = RenderOptions::parse(query, &config.presets).map_err(api_error)?;
    let signed_until = auth::require_signature(req)?;
    if !store::is_valid_id(id) {
        return Err(unknown(id));
    }
    let store = kv::open_store(&config.settings)?;
    let record = store.get_record(id)?.ok_or_else(|| unknown(id))?;
    let plan = render::plan(&opts, record.width, record.height).map_err(api_error)?;
    let format = opts.output_format_within(req.header("accept"), record.alpha, plan.out_pixels(), &config.limits);
    render::check_budget(&plan, format, &config.limits).map_err(api_error)?;

    let canonical = opts.canonical();
    let key = hex::encode(Sha256::digest(format!("{id}\n{canonical}\n{}", format.name())));
    let etag = format!("\"{key}\"");
    let finish = |reply: Reply, cache: &str| {
        auth::signed_caching(cached::immutable(reply, &etag).header("vary", "Accept").header("darkroom-cache", cache), signed_until)
    };
    if req.header("if-none-match").is_some_and(|v| cached::etag_matches(v, &etag)) {
        // The bytes are a pure function of the tag's inputs: the client's copy is current.
        return Ok(finish(Reply::empty(304), "hit"));
    }
    if let Some((manifest, bytes)) = store.get_derived(id, Derived::Render(&key))? {
        return Ok(finish(Reply::new(200, &manifest.content_type, bytes), "hit"));
    }
    let (_, original) = store.get_blob(id, BlobKind::Original)?.ok_or_else(|| unknown(id))?;
    let out = render::render(&original, &opts, format, &config.limits).map_err(api_error)?;
    drop(original);
    // The render is answered even when caching it fails; the next request renders again.
    if let Err(err) = store.put_derived(id, Derived::Render(&key), &out.bytes, format.mime(), [out.width, out.height], &canonical) {
        eprintln!("darkroom: could not cache render {key} of {id}: {err}");
    }
    Ok(finish(Reply::new(200, format.mime(), out.bytes), "miss"))
}

/// Refuses every parameter but a preset (and the format and signature) when the
/// deployment only serves presets.
fn presets_only(query: &str) -> Result<(), ApiError> {
    let mut has_preset = false;
    for (name, _) in form_urlencoded::parse(query.as_bytes()) {
        if !PRESETS_ONLY_PARAMS.contains(&name.as_ref()) {
            return Err(ApiError::Forbidden(format!(
                "{name}: this deployment sets render_presets_only, so render URLs may only name a preset (and a format)"
            )));
        }
        has_preset |= name == "preset";
    }
    if !has_preset {
        return Err(ApiError::Forbidden(
            "preset: this deployment sets render_presets_only, so render URLs must name a preset".into(),
        ));
    }
    Ok(())
}
