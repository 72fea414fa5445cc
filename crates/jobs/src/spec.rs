//! Job requests and specs: validated in full before anything is written, then the spec
//! is written once under the job id (its commit point) and never changed.

use crate::images::ImageTask;
use crate::tasks::Task;
use crate::{Config, Error, Result, chunked, dataset, keys};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::ops::Range;
use store::KeyValue;

/// `POST /api/jobs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    pub task: String,
    pub input: Input,
    #[serde(default)]
    pub params: Value,
    pub shard_size: Option<u64>,
    pub concurrency: Option<u32>,
    pub max_attempts: Option<u32>,
    pub tolerated_failure_percent: Option<f64>,
    pub retry: Option<RetryPolicy>,
}

/// What a job reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub dataset: Option<String>,
    pub images: Option<Value>,
}

/// Step Functions' `Retry` defaults: 1 s interval, backoff 2.0, full jitter; the
/// attempts themselves are the job's `max_attempts` (default 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    pub interval_ms: u64,
    pub backoff_rate: f64,
    pub max_delay_ms: u64,
    pub jitter: Jitter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Jitter {
    Full,
    None,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            interval_ms: 1000,
            backoff_rate: 2.0,
            max_delay_ms: 60_000,
            jitter: Jitter::Full,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): `interval·rate^(attempt-1)`
    /// capped at `max_delay_ms`; with full jitter a uniform draw below that (`unit` in [0,1)).
    pub fn delay_ms(&self, attempt: u32, unit: f64) -> u64 {
        let base =
            self.interval_ms as f64 * self.backoff_rate.powi(attempt.saturating_sub(1) as i32);
        let capped = base.min(self.max_delay_ms as f64);
        match self.jitter {
            Jitter::Full => (capped * unit.clamp(0.0, 1.0)) as u64,
            Jitter::None => capped as u64,
        }
    }
}

/// A unit of work: a map shard or a reduce partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Map(u32),
    Reduce(u32),
}

impl Unit {
    /// `m{i}` or `r{p}`: the key segment and the shard route's path segment.
    pub fn name(self) -> String {
        match self {
            Unit::Map(i) => format!("m{i}"),
            Unit::Reduce(p) => format!("r{p}"),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let (kind, n) = s.split_at_checked(1)?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.len() > 9 {
            return None;
        }
        let n = n.parse().ok()?;
        match kind {
            "m" => Some(Unit::Map(n)),
            "r" => Some(Unit::Reduce(n)),
            _ => None,
        }
    }
}

/// The stored spec (`job/{id}/spec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub id: String,
    pub task: String,
    pub params: Value,
    /// The dataset of a dataset job (empty for an image job).
    #[serde(default)]
    pub dataset: String,
    /// An image job: its items are the frozen image list (`job/{id}/items`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub images: bool,
    /// Items: the dataset's rows, or the images.
    pub rows: u64,
    pub shard_size: u64,
    pub shards: u32,
    pub partitions: u32,
    pub concurrency: u32,
    pub max_attempts: u32,
    pub tolerated_failure_percent: f64,
    pub retry: RetryPolicy,
    pub created_micros: u64,
}

impl JobSpec {
    /// The rows of map shard `i`.
    pub fn rows_of(&self, i: u32) -> Range<u64> {
        let start = u64::from(i) * self.shard_size;
        start.min(self.rows)..(start + self.shard_size).min(self.rows)
    }

    pub fn map_units(&self) -> impl Iterator<Item = Unit> {
        (0..self.shards).map(Unit::Map)
    }

    pub fn reduce_units(&self) -> impl Iterator<Item = Unit> {
        (0..self.partitions).map(Unit::Reduce)
    }

    /// Whether `unit` belongs to this job.
    pub fn has(&self, unit: Unit) -> bool {
        match unit {
            Unit::Map(i) => i < self.shards,
            Unit::Reduce(p) => p < self.partitions,
        }
    }

    /// The image task of an image job.
    pub fn image_task(&self) -> Result<ImageTask> {
        if !self.images {
            return Err(Error::Invalid(format!(
                "job {} is not an image job",
                self.id
            )));
        }
        ImageTask::new(&self.task, &self.params)
    }

    /// What the job reads, as the API shows it: `{"dataset": id}` or `{"images": count}`.
    pub fn input(&self) -> Value {
        if self.images {
            serde_json::json!({"images": self.rows})
        } else {
            serde_json::json!({"dataset": self.dataset})
        }
    }

    /// The task, resolved against the stored dataset.
    pub fn task<K: KeyValue>(&self, kv: &K) -> Result<(Task, dataset::Dataset)> {
        if self.images {
            return Err(Error::Invalid(format!(
                "task {} reads images, not a dataset",
                self.task
            )));
        }
        let ds = dataset::get(kv, &self.dataset)?.ok_or_else(|| {
            Error::Invalid(format!(
                "dataset {} was deleted while the job ran",
                self.dataset
            ))
        })?;
        Ok((Task::new(&self.task, &self.params, &ds)?, ds))
    }
}

/// Validates `req` in full (task, params, input, limits) and then writes the job: its
/// listing entry, then its spec last. A refused request writes nothing.
pub fn create<K: KeyValue>(
    kv: &K,
    req: JobRequest,
    id: &str,
    config: &Config,
    now_micros: u64,
) -> Result<JobSpec> {
    create_with(kv, req, id, config, now_micros, &|_| Ok(()))
}

/// [`create`] with `check`, which validates an image task's params further than their
/// schema (the `jobs` component checks a render query and a preset name against the
/// render catalog) before anything is resolved or written.
pub fn create_with<K: KeyValue>(
    kv: &K,
    req: JobRequest,
    id: &str,
    config: &Config,
    now_micros: u64,
    check: &dyn Fn(&ImageTask) -> Result<()>,
) -> Result<JobSpec> {
    let known = || {
        crate::tasks::NAMES
            .iter()
            .chain(&crate::images::NAMES)
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let is_image_task = crate::images::NAMES.contains(&req.task.as_str());
    if !is_image_task && !crate::tasks::NAMES.contains(&req.task.as_str()) {
        return Err(Error::Invalid(format!(
            "task: unknown task {:?} (known: {})",
            req.task,
            known()
        )));
    }
    let policy = Policy::validate(&req, config)?;
    let spec_key = keys::job_spec(id)?;
    if kv.exists(&spec_key)? {
        return Err(Error::Invalid(format!("a job {id} exists already")));
    }
    let params = if req.params.is_null() {
        serde_json::json!({})
    } else {
        req.params.clone()
    };
    let mut spec = JobSpec {
        id: id.to_owned(),
        task: req.task.clone(),
        params,
        dataset: String::new(),
        images: is_image_task,
        rows: 0,
        shard_size: 0,
        shards: 0,
        partitions: 1,
        concurrency: policy.concurrency,
        max_attempts: policy.max_attempts,
        tolerated_failure_percent: policy.tolerated,
        retry: policy.retry,
        created_micros: now_micros,
    };
    let items_key = keys::job_items(id)?;
    if is_image_task {
        let images = match (&req.input.images, &req.input.dataset) {
            (Some(images), None) => images,
            (_, Some(_)) => {
                return Err(Error::Invalid(format!(
                    "input: task {} reads images: give input.images (a list of ids, or \"all\"), not a dataset",
                    req.task
                )));
            }
            (None, None) => {
                return Err(Error::Invalid(
                    "input: name the images (input.images: a list of ids, or \"all\")".into(),
                ));
            }
        };
        let task = ImageTask::new(&req.task, &req.params)?;
        check(&task)?;
        let ids = crate::images::items::resolve(
            kv,
            images,
            config.kv_chunk_bytes,
            config.max_job_images,
        )?;
        spec.rows = ids.len() as u64;
        task.check_count(spec.rows, config)?;
        spec.shard_size = req
            .shard_size
            .unwrap_or_else(|| task.default_shard_size(config));
        spec.shards = shard_count(spec.rows, spec.shard_size, config.max_shards)?;
        crate::images::items::freeze(kv, id, &ids, config.kv_chunk_bytes)?;
    } else {
        if req.input.images.is_some() {
            return Err(Error::Invalid(format!(
                "input: task {} reads a dataset: give input.dataset, not images",
                req.task
            )));
        }
        let dataset_id = req
            .input
            .dataset
            .as_deref()
            .ok_or_else(|| Error::Invalid("input: name a dataset (input.dataset)".into()))?;
        let ds = dataset::get(kv, dataset_id)?
            .ok_or_else(|| Error::NotFound(format!("input.dataset: no dataset {dataset_id:?}")))?;
        let task = Task::new(&req.task, &req.params, &ds)?;
        spec.dataset = ds.id.clone();
        spec.rows = ds.rows;
        spec.shard_size = req.shard_size.unwrap_or(config.default_shard_rows);
        spec.shards = shard_count(spec.rows, spec.shard_size, config.max_shards)?;
        spec.partitions = task.partitions(&ds, config.reduce_partition_rows, config.max_partitions);
    }
    let listing = keys::job_listing(now_micros, id)?;
    let undo = || {
        let _ = kv.delete(&listing);
        let _ = chunked::delete(kv, &items_key);
    };
    if let Err(e) = kv.set(&listing, b"") {
        undo();
        return Err(e.into());
    }
    if let Err(e) = kv.set(
        &spec_key,
        &serde_json::to_vec(&spec).expect("spec serialises"),
    ) {
        undo();
        return Err(e.into());
    }
    Ok(spec)
}

/// `ceil(items / shard_size)`, refused past `max_shards`.
fn shard_count(items: u64, shard_size: u64, max_shards: u32) -> Result<u32> {
    if shard_size == 0 {
        return Err(Error::Invalid("shard_size: must be at least 1".into()));
    }
    let shards = items.div_ceil(shard_size);
    if shards > u64::from(max_shards) {
        return Err(Error::Invalid(format!(
            "shard_size: {shard_size} items per shard makes {shards} shards, more than max_shards ({max_shards})"
        )));
    }
    Ok(shards as u32)
}

/// The driving policy of a request, validated.
struct Policy {
    concurrency: u32,
    max_attempts: u32,
    tolerated: f64,
    retry: RetryPolicy,
}

impl Policy {
    fn validate(req: &JobRequest, config: &Config) -> Result<Self> {
        let concurrency = req.concurrency.unwrap_or(config.default_concurrency);
        if !(1..=config.max_concurrency).contains(&concurrency) {
            return Err(Error::Invalid(format!(
                "concurrency: must be 1 to {}",
                config.max_concurrency
            )));
        }
        let max_attempts = req.max_attempts.unwrap_or(3);
        if !(1..=10).contains(&max_attempts) {
            return Err(Error::Invalid("max_attempts: must be 1 to 10".into()));
        }
        let tolerated = req.tolerated_failure_percent.unwrap_or(0.0);
        if !(0.0..=100.0).contains(&tolerated) {
            return Err(Error::Invalid(
                "tolerated_failure_percent: must be 0 to 100".into(),
            ));
        }
        let retry = req.retry.clone().unwrap_or_default();
        if !(retry.backoff_rate >= 1.0 && retry.backoff_rate <= 10.0) || retry.interval_ms > 600_000
        {
            return Err(Error::Invalid(
                "retry: backoff_rate must be 1 to 10 and interval_ms at most 600000".into(),
            ));
        }
        Ok(Policy {
            concurrency,
            max_attempts,
            tolerated,
            retry,
        })
    }
}

/// The spec of job `id`; `None` when there is none (or `id` is not a job id).
pub fn get<K: KeyValue>(kv: &K, id: &str) -> Result<Option<JobSpec>> {
    crate::state::read_by_id(kv, keys::job_spec(id))
}

/// One page of job ids, newest first.
pub fn list<K: KeyValue>(
    kv: &K,
    limit: usize,
    after: Option<&str>,
) -> Result<(Vec<JobSpec>, Option<String>)> {
    keys::page(kv, keys::JOB_LIST_PREFIX, limit, after, |id| get(kv, id))
}

/// Deletes job `id`: spec first, then every other key of the job. `false` when absent.
pub fn delete<K: KeyValue>(kv: &K, id: &str) -> Result<bool> {
    let Some(spec) = get(kv, id)? else {
        return Ok(false);
    };
    kv.delete(&keys::job_spec(id)?)?;
    kv.delete(&keys::job_listing(spec.created_micros, id)?)?;
    let prefix = keys::job_prefix(id)?;
    for key in kv
        .get_keys()?
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
    {
        kv.delete(&key)?;
    }
    Ok(true)
}
