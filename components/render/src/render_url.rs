//! `GET /images/{id}/render?w=&h=&fit=&gravity=&crop=&filter=&preset=&format=&q=&dpr=&bg=&enlarge=`
//!
//! The options are parsed and the geometry planned from the image record before anything
//! else is read, so bad parameters (400/422) and oversized outputs (413) cost no store
//! read. The result is stored as a derived blob named by the SHA-256 of the image id,
//! the canonical options and the negotiated format: that hash is also the `ETag`, so a
//! client's copy stays valid for as long as the image exists, and the second request for
//! the same render is a store read (`darkroom-cache: hit`).
//!
//! `POST` of the same URL (a write: it needs the API token when one is set) renders into
//! the cache without answering the bytes: what a `render` job does per image. It may make
//! AVIF up to `avif_job_max_pixels`; a later GET finds such a render in the cache even
//! though it is over the public `avif_max_pixels`.

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
    let mut target = Target::plan(&config, &config.limits, id, &opts, req.header("accept"))?;
    let etag = format!("\"{}\"", target.key);
    let finish = |reply: Reply, cache: &str| {
        auth::signed_caching(cached::immutable(reply, &etag).header("vary", "Accept").header("darkroom-cache", cache), signed_until)
    };
    if req.header("if-none-match").is_some_and(|v| cached::etag_matches(v, &etag)) {
        // The bytes are a pure function of the tag's inputs: the client's copy is current.
        return Ok(finish(Reply::empty(304), "hit"));
    }
    if let Some((manifest, bytes)) = target.store.get_derived(id, Derived::Render(&target.key))? {
        return Ok(finish(Reply::new(200, &manifest.content_type, bytes), "hit"));
    }
    // Over the budget of a public request: 413, unless a render job made it (above).
    if let Some(err) = target.over_budget.take() {
        return Err(err);
    }
    let (bytes, cached) = target.render()?;
    // The render is answered even when caching it failed; the next request renders again.
    if let Err(err) = cached {
        eprintln!("darkroom: could not cache render {} of {id}: {err}", target.key);
    }
    Ok(finish(Reply::new(200, target.format.mime(), bytes), "miss"))
}

/// `POST /images/{id}/render?…`: renders into the cache what the GET of the same URL
/// (without an `Accept` header) answers, and answers what it stored, not the bytes. What
/// a render job calls for each image. A write, so it needs the API token when one is
/// set: the only requests that get the larger AVIF budget `avif_job_max_pixels`.
pub fn prerender(req: &Incoming, id: &str) -> Result<Reply, ApiError> {
    let config = Config::load()?;
    let opts = RenderOptions::parse(req.query(), &config.presets).map_err(api_error)?;
    let limits = render::Limits { avif_max_pixels: config.avif_job_max_pixels, ..config.limits };
    let mut target = Target::plan(&config, &limits, id, &opts, req.header("accept"))?;
    let stored = |target: &Target, cache: &str| {
        Reply::json(200, &serde_json::json!({"id": id, "key": target.key, "format": target.format.name(), "cache": cache}))
    };
    if target.store.has_derived(id, Derived::Render(&target.key))? {
        return Ok(stored(&target, "hit"));
    }
    if let Some(err) = target.over_budget.take() {
        return Err(err);
    }
    // What a job asked for is the cache entry itself: a failed write fails the request
    // (503), so the job's shard retries it instead of counting the image as done.
    target.render()?.1?;
    Ok(stored(&target, "miss"))
}

/// A render URL resolved against the stored image: the output format, the cache key,
/// and whether the render is over the budget it was planned with.
struct Target<'a> {
    store: store::Store<darkroom_spin::kv::SpinKv>,
    id: &'a str,
    opts: &'a RenderOptions,
    format: render::OutputFormat,
    key: String,
    canonical: String,
    limits: render::Limits,
    over_budget: Option<ApiError>,
}

impl<'a> Target<'a> {
    fn plan(config: &Config, limits: &render::Limits, id: &'a str, opts: &'a RenderOptions, accept: Option<&str>) -> Result<Self, ApiError> {
        if !store::is_valid_id(id) {
            return Err(unknown(id));
        }
        let store = kv::open_store(&config.settings)?;
        let record = store.get_record(id)?.ok_or_else(|| unknown(id))?;
        let plan = render::plan(opts, record.width, record.height).map_err(api_error)?;
        let format = opts.output_format_within(accept, record.alpha, plan.out_pixels(), limits);
        let over_budget = render::check_budget(&plan, format, limits).err().map(api_error);
        let canonical = opts.canonical();
        let key = hex::encode(Sha256::digest(format!("{id}\n{canonical}\n{}", format.name())));
        Ok(Target { store, id, opts, format, key, canonical, limits: *limits, over_budget })
    }

    /// Renders, and caches the result: the bytes, and whether caching them worked (a GET
    /// answers the bytes either way; a pre-render needs the cache entry).
    fn render(&self) -> Result<(Vec<u8>, Result<(), store::Error>), ApiError> {
        let (_, original) = self.store.get_blob(self.id, BlobKind::Original)?.ok_or_else(|| unknown(self.id))?;
        let out = render::render(&original, self.opts, self.format, &self.limits).map_err(api_error)?;
        drop(original);
        let cached = self
            .store
            .put_derived(self.id, Derived::Render(&self.key), &out.bytes, self.format.mime(), [out.width, out.height], &self.canonical)
            .map(drop);
        Ok((out.bytes, cached))
    }
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
