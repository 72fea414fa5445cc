//! Stored variants: the chained step and `POST /api/images/{id}/variants` make them,
//! `GET /images/{id}/variants/{name}` serves them.
//!
//! A variant is the original, oriented, fitted inside `variant_size` (never enlarged),
//! with an effect applied, stored as a derived blob whose manifest records its size and
//! the effect it was made with. Making one again with the same effect is a harmless
//! rewrite of the same bytes; another effect under a taken name is a 409.

use api::{ApiError, VariantObject};
use darkroom_spin::{Incoming, Reply, auth, cached, kv};
use render::{Effect, Fit, FormatChoice, RenderOptions};
use serde::Deserialize;
use store::{BlobKind, Derived, KeyValue, Store, VariantInfo};

use crate::config::Config;
use crate::{api_error, unknown};

/// Stores (or finds) the variant named after preset `preset` of image `id`.
pub fn store_preset<K: KeyValue>(store: &Store<K>, config: &Config, id: &str, preset: &str) -> Result<VariantInfo, ApiError> {
    let effect = config
        .presets
        .get(preset)
        .cloned()
        .ok_or_else(|| ApiError::Unprocessable(format!("preset: no preset named {preset:?} (GET /api/filters lists them)")))?;
    store_effect(store, config, id, preset, Effect::Preset(effect)).map(|(info, _)| info)
}

/// Stores variant `name` of image `id` made with `effect`; `true` when it was made now,
/// `false` when the same variant was already stored.
pub fn store_effect<K: KeyValue>(
    store: &Store<K>,
    config: &Config,
    id: &str,
    name: &str,
    effect: Effect,
) -> Result<(VariantInfo, bool), ApiError> {
    if !store::keys::is_valid_variant_name(name) {
        return Err(ApiError::Unprocessable(format!(
            "name: {name:?} is not a variant name (1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit)"
        )));
    }
    if !store::is_valid_id(id) {
        return Err(unknown(id));
    }
    let made_from = effect.canonical();
    if let Some(existing) = store.derived_manifest(id, Derived::Variant(name))? {
        if existing.made_from.as_deref() == Some(made_from.as_str()) {
            return Ok((info(name, &existing), false));
        }
        return Err(ApiError::Conflict(format!(
            "image {id} already has a variant named {name:?} made with another effect; choose another name"
        )));
    }
    // The original, not the record: the upload's own filter steps run before it records.
    let (_, original) = store.get_blob(id, BlobKind::Original)?.ok_or_else(|| unknown(id))?;
    let alpha = imaging::read_header(&original, &config.limits.imaging)?.has_alpha;
    let out = render_within_memory(&original, config, effect, alpha)?;
    let format = out.format;
    let manifest = store.put_derived(id, Derived::Variant(name), &out.bytes, format.mime(), [out.width, out.height], &made_from)?;
    Ok((info(name, &manifest), true))
}

/// Renders the variant at `variant_size`, or, when the decoders cannot reduce the original
/// to that size within `max_decode_bytes` (a 4000x4000 RGBA PNG has no integer reduction
/// that still covers 2x2048 px, so it would need a 122 MiB full decode), at half and then a
/// quarter of it, where they can. Deterministic: the same original always gets the same
/// size. Other errors are returned as they are.
fn render_within_memory(original: &[u8], config: &Config, effect: Effect, alpha: bool) -> Result<render::Rendered, ApiError> {
    let sizes = [config.variant_size, config.variant_size / 2, config.variant_size / 4];
    let mut last = None;
    for size in sizes.into_iter().filter(|&s| s >= 64) {
        let opts = RenderOptions {
            w: Some(size),
            h: Some(size),
            fit: Fit::Inside,
            effect: Some(effect.clone()),
            format: if alpha { FormatChoice::Png } else { FormatChoice::Jpeg },
            ..RenderOptions::default()
        };
        let format = opts.output_format(None, alpha);
        match render::render(original, &opts, format, &config.limits) {
            Ok(out) => return Ok(out),
            Err(err @ render::Error::Image(_)) if err.status() == 413 => last = Some(err),
            Err(err) => return Err(api_error(err)),
        }
    }
    Err(api_error(last.unwrap_or_else(|| render::Error::TooLarge("variant_size is too small".into()))))
}

fn info(name: &str, manifest: &store::BlobManifest) -> VariantInfo {
    let [width, height] = manifest.dims.unwrap_or_default();
    let format = manifest.content_type.strip_prefix("image/").unwrap_or("jpeg").to_owned();
    VariantInfo { name: name.to_owned(), width, height, format }
}

/// `GET /images/{id}/variants/{name}`: the stored bytes, cached like originals (the ETag is
/// the bytes' SHA-256), signed when `url_signing_keys` is set.
pub fn get(req: &Incoming, id: &str, name: &str) -> Result<Reply, ApiError> {
    let signed_until = auth::require_signature(req)?;
    let config = Config::load()?;
    let missing = || ApiError::NotFound(format!("image {id} has no variant named {name:?}"));
    if !store::is_valid_id(id) || !store::keys::is_valid_variant_name(name) {
        return Err(missing());
    }
    let store = kv::open_store(&config.settings)?;
    // A variant of an upload that died before its record is not served (`Store::has_image`).
    if !store.has_image(id)? {
        return Err(ApiError::NotFound(format!("no image with id {id}")));
    }
    // One read: the tag is the bytes' SHA-256, in the manifest, and a variant that fits
    // in one value sits whole in the manifest's key anyway.
    let (manifest, bytes) = store.get_derived(id, Derived::Variant(name))?.ok_or_else(missing)?;
    let etag = format!("\"{}\"", manifest.sha256);
    let reply = cached::serve(req, &etag, || Ok(true), || Ok(Some((manifest, bytes))), missing)?;
    Ok(auth::signed_caching(reply, signed_until))
}

/// The body of `POST /api/images/{id}/variants`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewVariant {
    preset: Option<String>,
    filter: Option<String>,
    name: Option<String>,
}

/// `POST /api/images/{id}/variants` `{"preset": NAME}` or `{"filter": CHAIN, "name": NAME}`:
/// 201 with the variant when made now, 200 when it was already stored.
pub async fn post(req: Incoming, id: &str) -> Result<Reply, ApiError> {
    let config = Config::load()?;
    let body = req.body(64 * 1024).await?;
    let new: NewVariant = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected {{\"preset\": NAME}} or {{\"filter\": CHAIN, \"name\": NAME}}: {e}")))?;
    let (name, effect) = match (new.preset, new.filter, new.name) {
        (Some(preset), None, name) => {
            let effect = config
                .presets
                .get(&preset)
                .cloned()
                .ok_or_else(|| ApiError::Unprocessable(format!("preset: no preset named {preset:?} (GET /api/filters lists them)")))?;
            (name.unwrap_or(preset), Effect::Preset(effect))
        }
        (None, Some(chain), Some(name)) => (name, Effect::Chain(render::Chain::parse(&chain).map_err(api_error)?)),
        (None, Some(_), None) => return Err(ApiError::BadRequest("name: a filter variant needs a name".into())),
        _ => return Err(ApiError::BadRequest("give either preset, or filter with name".into())),
    };
    let store = kv::open_store(&config.settings)?;
    let (info, created) = store_effect(&store, &config, id, &name, effect)?;
    let object = VariantObject::new(id, &info);
    Ok(Reply::json(if created { 201 } else { 200 }, &object).header("location", &object.url))
}

/// `GET /api/images/{id}/variants`: the variants the upload recorded and every preset-named
/// variant stored since (probed by name: the store has no prefix listing).
pub fn list(id: &str) -> Result<Reply, ApiError> {
    let config = Config::load()?;
    if !store::is_valid_id(id) {
        return Err(unknown(id));
    }
    let store = kv::open_store(&config.settings)?;
    let record = store.get_record(id)?.ok_or_else(|| unknown(id))?;
    let mut variants: Vec<VariantInfo> = record.variants.clone();
    for preset in config.presets.catalog() {
        if variants.iter().any(|v| v.name == preset.name) {
            continue;
        }
        if let Some(manifest) = store.derived_manifest(id, Derived::Variant(&preset.name))? {
            variants.push(info(&preset.name, &manifest));
        }
    }
    let objects: Vec<VariantObject> = variants.iter().map(|v| VariantObject::new(id, v)).collect();
    Ok(Reply::json(200, &serde_json::json!({ "variants": objects })))
}
