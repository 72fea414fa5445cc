//! `GET /api/filters` and `POST /api/filter`.

use api::{ApiError, StepRequest, VariantStepRequest};
use darkroom_spin::{Incoming, Reply, kv};
use render::RenderOptions;

use crate::config::Config;
use crate::{api_error, variants};

/// The filter and preset catalog.
pub fn catalog() -> Result<Reply, ApiError> {
    let config = Config::load()?;
    Ok(Reply::json(
        200,
        &serde_json::json!({ "filters": render::filter_catalog(), "presets": config.presets.catalog() }),
    ))
}

/// Parameters `POST /api/filter` takes: an effect and the output.
const FILTER_PARAMS: [&str; 5] = ["filter", "preset", "format", "q", "lossless"];

/// Image bytes in: the image, oriented, full size (at most `max_render_pixels`), with the
/// effect applied, metadata stripped. `{"id", "preset"}` in: the chained step that stores
/// that preset's variant of a stored image.
pub async fn post(req: Incoming) -> Result<Reply, ApiError> {
    let config = Config::load()?;
    let query = req.query().to_owned();
    let accept = req.header("accept").map(str::to_owned);
    let body = req.body(config.settings.max_upload_bytes).await?;
    if imaging::sniff(&body).is_none() {
        let step: VariantStepRequest = serde_json::from_slice(&body).map_err(|e| {
            // Neither an image nor a step: say what the body should have been.
            StepRequest::parse(&body).err().unwrap_or_else(|| ApiError::BadRequest(format!("malformed filter step request: {e}")))
        })?;
        let store = kv::open_store(&config.settings)?;
        let info = variants::store_preset(&store, &config, &step.id, &step.preset)?;
        return Ok(Reply::json(200, &info));
    }
    for (name, _) in form_urlencoded::parse(query.as_bytes()) {
        if !FILTER_PARAMS.contains(&name.as_ref()) {
            return Err(ApiError::BadRequest(format!(
                "{name}: not a parameter of /api/filter (it takes filter, preset, format, q and lossless; resize with a render URL)"
            )));
        }
    }
    let opts = RenderOptions::parse(&query, &config.presets).map_err(api_error)?;
    if opts.effect.is_none() {
        return Err(ApiError::BadRequest("filter: give filter=CHAIN or preset=NAME".into()));
    }
    let header = imaging::read_header(&body, &config.limits.imaging)?;
    let format = opts.output_format(accept.as_deref(), header.has_alpha);
    let out = render::render(&body, &opts, format, &config.limits).map_err(api_error)?;
    Ok(Reply::new(200, out.format.mime(), out.bytes)
        .header("x-content-type-options", "nosniff")
        .header("vary", "Accept"))
}

