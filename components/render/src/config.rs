//! The render component's variables, read once per request.

use api::{ApiError, Settings};
use darkroom_spin::settings;
use render::{Limits, Presets};

/// Everything a render request needs to know about the deployment.
pub struct Config {
    /// The shared limits (`max_upload_bytes`, `max_pixels`, `max_decode_bytes`, chunks).
    pub settings: Settings,
    /// Output budgets and decode limits.
    pub limits: Limits,
    /// Built-in presets plus `filter_presets`.
    pub presets: Presets,
    /// `variant_size`: the long side stored variants are made at (never the original's
    /// 50 MP). Default 2048.
    pub variant_size: u32,
    /// `render_presets_only`: render URLs may only name a preset (and a format), like
    /// imgproxy's "only presets", so a public deployment's cache cannot be filled with
    /// arbitrary parameter combinations. Default false.
    pub presets_only: bool,
    /// `max_share_ttl`: the longest lifetime of a share link, seconds. Default 7 days.
    pub max_share_ttl: u64,
    /// `avif_job_max_pixels`: the AVIF budget of a pre-render (`POST`, what a `render` job
    /// sends with the API token), never of a public GET. Default 4 MP.
    pub avif_job_max_pixels: u64,
}

impl Config {
    pub fn load() -> Result<Self, ApiError> {
        let settings = settings::load()?;
        let var = |name: &str| spin_sdk::variables::get(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let int = |name: &'static str, default: u64, min: u64, max: u64| -> Result<u64, ApiError> {
            match var(name) {
                None => Ok(default),
                Some(raw) => raw
                    .replace('_', "")
                    .parse::<u64>()
                    .ok()
                    .filter(|v| (min..=max).contains(v))
                    .ok_or_else(|| bad_config(name, &raw, &format!("expected an integer between {min} and {max}"))),
            }
        };
        let limits = Limits {
            max_render_pixels: int("max_render_pixels", Limits::DEFAULT_MAX_RENDER_PIXELS, 1, 1 << 32)?,
            avif_max_pixels: int("avif_max_pixels", Limits::DEFAULT_AVIF_MAX_PIXELS, 0, 1 << 32)?,
            avif_speed: int("avif_speed", u64::from(Limits::DEFAULT_AVIF_SPEED), 1, 10)? as u8,
            webp_effort: int("webp_effort", u64::from(Limits::DEFAULT_WEBP_EFFORT), 0, 6)? as u8,
            imaging: settings.imaging_limits(),
        };
        let presets = match var("filter_presets") {
            None => Presets::builtin(),
            Some(json) => Presets::builtin()
                .with_user_json(&json)
                .map_err(|e| bad_config("filter_presets", &json, &e.to_string()))?,
        };
        let presets_only = match var("render_presets_only").as_deref() {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(raw) => return Err(bad_config("render_presets_only", raw, "expected true or false")),
        };
        Ok(Config {
            limits,
            presets,
            variant_size: int("variant_size", 2048, 16, 8192)? as u32,
            presets_only,
            max_share_ttl: int("max_share_ttl", 7 * 24 * 3600, 1, 366 * 24 * 3600)?,
            avif_job_max_pixels: int("avif_job_max_pixels", 4_000_000, 0, 1 << 32)?,
            settings,
        })
    }
}

fn bad_config(name: &str, value: &str, reason: &str) -> ApiError {
    ApiError::Internal(format!("bad configuration: variable `{name}` = {value:?} is invalid: {reason}"))
}
