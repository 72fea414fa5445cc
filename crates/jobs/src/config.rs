//! The jobs capability's settings, read from Spin variables through a lookup (so the
//! core crate never touches Spin) with safe defaults.

use crate::dataset::IngestLimits;
use crate::{Error, Result};

/// Every variable this crate reads (each must be declared in `spin.toml`).
pub const VARIABLES: [&str; 15] = [
    "max_job_images",
    "default_shard_images",
    "max_cluster_images",
    "reduce_partition_rows",
    "max_dataset_bytes",
    "max_dataset_line_bytes",
    "max_shards",
    "default_shard_rows",
    "max_concurrency",
    "default_concurrency",
    "max_partitions",
    "job_request_budget_ms",
    "jobs_base_url",
    "kv_chunk_bytes",
    "dataset_store_helper",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Largest dataset body (default 64 MiB: a 1M-row sales CSV is ~40 MB).
    pub max_dataset_bytes: u64,
    pub max_dataset_line_bytes: u64,
    pub max_shards: u32,
    pub default_shard_rows: u64,
    pub max_concurrency: u32,
    pub default_concurrency: u32,
    pub max_partitions: u32,
    /// Rows per reduce partition of an `aggregate` (an upper bound on its groups), so no
    /// reduce request holds more groups than this however many distinct keys there are.
    pub reduce_partition_rows: u64,
    /// A driving request stops starting units after this long (default 25 s).
    pub job_request_budget_ms: u64,
    /// Where shard requests go (default `http://jobs.spin.internal`).
    pub jobs_base_url: String,
    pub kv_chunk_bytes: u32,
    /// Most images one image job takes (its frozen list is read whole by every unit:
    /// 64 bytes an id, so the default 10,000 is 640 KB).
    pub max_job_images: u64,
    /// Images per map shard of `variant`, `render` and `vectorize` (default 8): each
    /// image is one chained step request, and a shard must fit one request's 30 s.
    pub default_shard_images: u64,
    /// Most images a `cluster` job takes: its one reduce holds every vector (209 f32s
    /// each) and runs k-means over them in one request (default 5,000: ~4 MB, a few s).
    pub max_cluster_images: u64,
    /// Whether a dataset upload hands its bytes to a second instance of `jobs` (over
    /// service chaining) that stores and hashes them while the upload parses: `on`
    /// (default) or `off` (everything in the one instance; the manifest without service
    /// chaining sets it).
    pub dataset_store_helper: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self::from_lookup(|_| None).expect("defaults are valid")
    }
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let int = |name: &str, default: u64, min: u64, max: u64| -> Result<u64> {
            match lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
            {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "variable {name} = {v:?} is not an integer in {min}..={max}"
                        ))
                    }),
            }
        };
        let config = Config {
            max_dataset_bytes: int("max_dataset_bytes", 64 << 20, 1, 1 << 32)?,
            max_dataset_line_bytes: int("max_dataset_line_bytes", 1 << 20, 16, 1 << 24)?,
            max_shards: int("max_shards", 1000, 1, 100_000)? as u32,
            default_shard_rows: int("default_shard_rows", 100_000, 1, 10_000_000)?,
            max_concurrency: int("max_concurrency", 16, 1, 1000)? as u32,
            default_concurrency: int("default_concurrency", 4, 1, 1000)? as u32,
            max_partitions: int("max_partitions", 64, 1, 10_000)? as u32,
            reduce_partition_rows: int("reduce_partition_rows", 250_000, 1, 1 << 40)?,
            job_request_budget_ms: int("job_request_budget_ms", 25_000, 1, 3_600_000)?,
            jobs_base_url: lookup("jobs_base_url")
                .map(|v| v.trim().trim_end_matches('/').to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "http://jobs.spin.internal".into()),
            kv_chunk_bytes: int(
                "kv_chunk_bytes",
                1_000_000,
                1,
                u64::from(store::MAX_CHUNK_BYTES),
            )? as u32,
            max_job_images: int("max_job_images", 10_000, 1, 200_000)?,
            default_shard_images: int("default_shard_images", 8, 1, 10_000)?,
            max_cluster_images: int("max_cluster_images", 5_000, 2, 50_000)?,
            dataset_store_helper: match lookup("dataset_store_helper")
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref()
            {
                None | Some("" | "on" | "true" | "1") => true,
                Some("off" | "false" | "0") => false,
                Some(other) => {
                    return Err(Error::Invalid(format!(
                        "variable dataset_store_helper = {other:?} is not on or off"
                    )));
                }
            },
        };
        if config.default_concurrency > config.max_concurrency {
            return Err(Error::Invalid(
                "variable default_concurrency exceeds max_concurrency".into(),
            ));
        }
        Ok(config)
    }

    pub fn ingest_limits(&self) -> IngestLimits {
        IngestLimits {
            max_bytes: self.max_dataset_bytes,
            max_line_bytes: self.max_dataset_line_bytes,
            chunk_size: self.kv_chunk_bytes,
            ..IngestLimits::default()
        }
    }
}
