//! [`Settings`]: limits and knobs, read through a lookup closure (the components pass
//! Spin variables; tests pass a map), so this crate never reads the environment itself.
//! Unset variables take safe defaults; a set but unusable value is an error naming the
//! variable, so a misconfiguration fails loudly instead of running without a limit.

use crate::multipart::MultipartLimits;

/// Every limit and knob, with the defaults of `docs/contracts.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `max_upload_bytes`: request body cap (413 beyond). Default 25 MiB.
    pub max_upload_bytes: u64,
    /// `max_pixels`: width×height cap read from the header (413 beyond). Default 50 MP.
    pub max_pixels: u64,
    /// `thumbnail_size`: default thumbnail box side. Default 128.
    pub thumbnail_size: u32,
    /// `max_thumbnail_size`: largest `size` accepted (422 beyond). Default 1024.
    pub max_thumbnail_size: u32,
    /// `thumbnail_quality`: JPEG quality 1..=100. Default 80.
    pub thumbnail_quality: u8,
    /// `kv_chunk_bytes`: blob chunk size, at most 1,000,000. Default 1,000,000.
    pub kv_chunk_bytes: u32,
    /// `kv_inline_blobs`: write a blob that fits in one value whole into its manifest's
    /// key (one write instead of two; `store::blob::INLINE`). Default true. Versions
    /// before it cannot read such blobs: set false while replicas of one still run
    /// during a rolling update (docs/limits.md).
    pub kv_inline_blobs: bool,
    /// `max_similar_k`: largest `k` of `/similar`. Default 100.
    pub max_similar_k: usize,
    /// `max_batch`: most ids in one `/api/vectorize/batch`. Default 500.
    pub max_batch: usize,
    /// `duplicate_threshold`: cosine similarity from which two images are near
    /// duplicates, in [-1, 1]. Default [`vectors::DUPLICATE_THRESHOLD`], the value the
    /// feature evaluation chose (docs/vectors.md).
    pub duplicate_threshold: f32,
    /// `max_multipart_parts`: most parts in one multipart upload (413 beyond). Default 32.
    pub max_multipart_parts: usize,
    /// `max_part_header_bytes`: largest header block of one multipart part (413
    /// beyond). Default 8192.
    pub max_part_header_bytes: usize,
    /// `max_decode_bytes`: largest pixel buffer one decode may allocate (413 beyond), so
    /// a valid but huge image (a PNG zlib bomb of 7000×7000 RGB) is refused instead of
    /// running the instance out of its 128 MiB. Default 64 MiB.
    pub max_decode_bytes: u64,
    /// `auto_presets`: the presets upload stores as variants of every new image
    /// (comma-separated preset names; `none` for no variants). Default `clarendon`.
    pub auto_presets: Vec<String>,
}

/// A variable whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variable `{name}` = {value:?} is invalid: {reason}")]
pub struct SettingsError {
    /// The variable's name.
    pub name: &'static str,
    /// The value as read.
    pub value: String,
    /// What a valid value looks like.
    pub reason: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_lookup(|_| None).expect("the defaults are valid")
    }
}

impl Settings {
    /// The name of every variable read, for manifests and docs.
    pub const VARIABLES: [&'static str; 14] = [
        "max_upload_bytes",
        "max_pixels",
        "thumbnail_size",
        "max_thumbnail_size",
        "thumbnail_quality",
        "kv_chunk_bytes",
        "kv_inline_blobs",
        "max_similar_k",
        "max_batch",
        "duplicate_threshold",
        "max_multipart_parts",
        "max_part_header_bytes",
        "max_decode_bytes",
        "auto_presets",
    ];

    /// Reads each variable through `lookup` (`None` = unset, default applies).
    /// Surrounding whitespace is ignored; an empty value counts as unset.
    pub fn from_lookup<F>(lookup: F) -> Result<Self, SettingsError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let var = Var { lookup: &lookup };
        let settings = Settings {
            max_upload_bytes: var.int("max_upload_bytes", 26_214_400, 1, 1 << 30)?,
            max_pixels: var.int("max_pixels", 50_000_000, 1, 1 << 32)?,
            max_thumbnail_size: var.int("max_thumbnail_size", 1024, 1, 8192)?,
            thumbnail_size: var.int("thumbnail_size", 128, 1, 8192)?,
            thumbnail_quality: var.int("thumbnail_quality", 80, 1, 100)?,
            kv_chunk_bytes: var.int(
                "kv_chunk_bytes",
                1_000_000,
                1,
                u64::from(store::MAX_CHUNK_BYTES),
            )?,
            kv_inline_blobs: var.flag("kv_inline_blobs", true)?,
            max_similar_k: var.int("max_similar_k", 100, 1, 10_000)?,
            max_batch: var.int("max_batch", 500, 1, 10_000)?,
            duplicate_threshold: var.float(
                "duplicate_threshold",
                vectors::DUPLICATE_THRESHOLD,
                -1.0,
                1.0,
            )?,
            max_multipart_parts: var.int("max_multipart_parts", 32, 1, 1_000)?,
            max_part_header_bytes: var.int("max_part_header_bytes", 8192, 256, 1 << 20)?,
            max_decode_bytes: var.int("max_decode_bytes", 64 << 20, 1 << 20, 1 << 32)?,
            auto_presets: var.names("auto_presets", "clarendon", 8)?,
        };
        if settings.thumbnail_size > settings.max_thumbnail_size {
            return Err(SettingsError {
                name: "thumbnail_size",
                value: settings.thumbnail_size.to_string(),
                reason: format!(
                    "must not exceed max_thumbnail_size ({})",
                    settings.max_thumbnail_size
                ),
            });
        }
        Ok(settings)
    }

    /// The decoder limits these settings imply.
    pub fn imaging_limits(&self) -> imaging::Limits {
        imaging::Limits {
            max_pixels: self.max_pixels,
            max_alloc: self.max_decode_bytes,
        }
    }

    /// The multipart parser's limits.
    pub fn multipart_limits(&self) -> MultipartLimits {
        MultipartLimits {
            max_parts: self.max_multipart_parts,
            max_part_header_bytes: self.max_part_header_bytes,
        }
    }
}

pub(crate) struct Var<'a, F> {
    pub(crate) lookup: &'a F,
}

impl<F: Fn(&str) -> Option<String>> Var<'_, F> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn int<T: TryFrom<u64>>(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<T, SettingsError> {
        let value = match self.raw(name) {
            None => default,
            Some(raw) => {
                let invalid = |reason: String| SettingsError {
                    name,
                    value: raw.clone(),
                    reason,
                };
                let n: u64 = raw
                    .replace('_', "")
                    .parse()
                    .map_err(|_| invalid(format!("expected an integer between {min} and {max}")))?;
                if !(min..=max).contains(&n) {
                    return Err(invalid(format!("must be between {min} and {max}")));
                }
                n
            }
        };
        T::try_from(value).map_err(|_| SettingsError {
            name,
            value: value.to_string(),
            reason: "does not fit this platform".to_owned(),
        })
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`).
    fn flag(&self, name: &'static str, default: bool) -> Result<bool, SettingsError> {
        match self.raw(name).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(raw) => Err(SettingsError {
                name,
                value: raw.to_owned(),
                reason: "expected true or false".to_owned(),
            }),
        }
    }

    /// A comma-separated list of at most `max` variant names (`none` = empty list).
    fn names(
        &self,
        name: &'static str,
        default: &str,
        max: usize,
    ) -> Result<Vec<String>, SettingsError> {
        let raw = self.raw(name).unwrap_or_else(|| default.to_owned());
        if raw == "none" {
            return Ok(Vec::new());
        }
        let names: Vec<String> = raw.split(',').map(|n| n.trim().to_owned()).collect();
        let bad = names
            .iter()
            .find(|n| !store::keys::is_valid_variant_name(n));
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        if bad.is_some() || names.len() > max || unique.len() != names.len() {
            return Err(SettingsError {
                name,
                value: raw,
                reason: format!(
                    "expected `none` or up to {max} distinct comma-separated names of a-z, 0-9, _ and -"
                ),
            });
        }
        Ok(names)
    }

    fn float(
        &self,
        name: &'static str,
        default: f32,
        min: f32,
        max: f32,
    ) -> Result<f32, SettingsError> {
        let Some(raw) = self.raw(name) else {
            return Ok(default);
        };
        match raw.parse::<f32>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(SettingsError {
                name,
                value: raw,
                reason: format!("expected a number between {min} and {max}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = Settings::default();
        assert_eq!(s.max_upload_bytes, 26_214_400);
        assert_eq!(s.max_pixels, 50_000_000);
        assert_eq!(
            (s.thumbnail_size, s.max_thumbnail_size, s.thumbnail_quality),
            (128, 1024, 80)
        );
        assert_eq!(s.kv_chunk_bytes, 1_000_000);
        assert!(s.kv_inline_blobs);
        assert!(!with(&[("kv_inline_blobs", " false ")]).unwrap().kv_inline_blobs);
        assert_eq!((s.max_similar_k, s.max_batch), (100, 500));
        assert_eq!(s.duplicate_threshold, vectors::DUPLICATE_THRESHOLD);
        assert_eq!(s.imaging_limits().max_pixels, 50_000_000);
        assert_eq!(s.imaging_limits().max_alloc, 64 << 20);
        assert_eq!(s.multipart_limits().max_parts, 32);
        assert_eq!(s.auto_presets, ["clarendon"]);
    }

    #[test]
    fn auto_presets_are_a_list_or_none() {
        assert_eq!(
            with(&[("auto_presets", " moon , 1977 ")])
                .unwrap()
                .auto_presets,
            ["moon", "1977"]
        );
        assert!(
            with(&[("auto_presets", "none")])
                .unwrap()
                .auto_presets
                .is_empty()
        );
        for bad in ["Moon", "moon,moon", "a,,b", "../x"] {
            assert_eq!(
                with(&[("auto_presets", bad)]).unwrap_err().name,
                "auto_presets",
                "{bad}"
            );
        }
    }

    #[test]
    fn values_override_defaults() {
        let s = with(&[
            ("max_upload_bytes", " 20000 "),
            ("max_pixels", "10_000"),
            ("thumbnail_size", ""),
        ])
        .unwrap();
        assert_eq!(
            (s.max_upload_bytes, s.max_pixels, s.thumbnail_size),
            (20_000, 10_000, 128)
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("kv_chunk_bytes", "1000001"),
            ("kv_inline_blobs", "maybe"),
            ("max_upload_bytes", "lots"),
            ("max_pixels", "0"),
            ("thumbnail_quality", "101"),
            ("duplicate_threshold", "1.5"),
            ("duplicate_threshold", "NaN"),
            ("max_thumbnail_size", "-1"),
        ] {
            let err = with(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name);
            assert!(err.to_string().contains(name), "{err}");
        }
        let err = with(&[("thumbnail_size", "512"), ("max_thumbnail_size", "256")]).unwrap_err();
        assert_eq!(err.name, "thumbnail_size");
    }
}
