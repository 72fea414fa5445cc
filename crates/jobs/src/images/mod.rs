//! Image tasks: jobs over a frozen list of stored images (`input.images`).
//!
//! - `variant`, `render`, `vectorize` call a step component per image ([`Steps`], which
//!   the `jobs` component implements over Spin service chaining and native tests over
//!   closures); a step that refuses an image (4xx) is a per-item failure recorded with
//!   its detail, a step that fails on its side (5xx, unreachable) fails the shard, which
//!   the driver retries.
//! - `dedupe` and `cluster` read the stored feature vectors ([`dedupe`], [`cluster`]).
//!
//! Every image task has one reduce partition, which writes the task's output.

pub mod cluster;
pub mod dedupe;
pub mod items;
mod run;

pub use run::{execute_map, execute_reduce, refuses_item};

use crate::driver::Problem;
use crate::{Config, Error, Result};
use serde_json::{Map, Value, json};
use std::future::Future;

/// Names of the image tasks.
pub const NAMES: [&str; 5] = ["variant", "render", "vectorize", "dedupe", "cluster"];

/// Map shard size of `dedupe` and `cluster` when the request names none: their shards
/// read vectors, not images, so they take many more items than a step shard.
pub const VECTOR_SHARD_IMAGES: u64 = 256;

/// Largest `k` of `cluster`.
pub const MAX_K: u64 = 64;

/// Longest `render` query.
pub const MAX_QUERY_BYTES: usize = 2048;

/// A step a job applies to every image, through the component that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Stores variant `preset` (`POST /api/images/{id}/variants`).
    Variant { preset: String },
    /// Renders `query` into the render cache (`POST /images/{id}/render?{query}`).
    Render { query: String },
    /// Recomputes the image's vector (`POST /api/vectorize {"id"}`).
    Vectorize,
}

/// Applies a step to one image, somewhere. An `Err` with a status that
/// [`refuses_item`] is a per-item failure; any other `Err` fails the shard.
pub trait Steps {
    fn apply(&self, step: &Step, id: &str) -> impl Future<Output = Result<(), Problem>>;
}

/// No steps: for runners that only run units which need none (dataset jobs,
/// `dedupe`, `cluster`, every reduce). A step unit given these fails with a 500.
pub struct NoSteps;

impl Steps for NoSteps {
    async fn apply(&self, _: &Step, _: &str) -> Result<(), Problem> {
        Err(Problem {
            status: 500,
            detail: "this runner cannot call step components".into(),
        })
    }
}

/// An image task with its params validated.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageTask {
    Step(Step),
    /// Near-duplicate groups: cosine similarity at least `threshold`.
    Dedupe {
        threshold: f32,
    },
    /// k-means++ over the vectors.
    Cluster {
        k: usize,
    },
}

impl ImageTask {
    /// Validates `params` for task `name` against its schema; errors name the param.
    pub fn new(name: &str, params: &Value) -> Result<Self> {
        let empty = Map::new();
        let params = match params {
            Value::Null => &empty,
            Value::Object(m) => m,
            _ => return Err(Error::Invalid("params: must be a JSON object".into())),
        };
        let allowed: &[&str] = match name {
            "variant" => &["preset"],
            "render" => &["query"],
            "vectorize" => &[],
            "dedupe" => &["threshold"],
            "cluster" => &["k"],
            other => {
                return Err(Error::Invalid(format!(
                    "task: {other:?} is not an image task (image tasks: {})",
                    NAMES.join(", ")
                )));
            }
        };
        if let Some(unknown) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::Invalid(format!(
                "params.{unknown}: unknown parameter of {name} (it takes: {})",
                if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        let string = |key: &str| -> Result<String> {
            match params.get(key) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(Error::Invalid(format!("params.{key}: must be a string"))),
                None => Err(Error::Invalid(format!("params.{key}: required"))),
            }
        };
        Ok(match name {
            "variant" => {
                let preset = string("preset")?;
                if !store::keys::is_valid_variant_name(&preset) {
                    return Err(Error::Invalid(format!(
                        "params.preset: {:?} is not a preset name (GET /api/filters lists them)",
                        preset.chars().take(80).collect::<String>()
                    )));
                }
                ImageTask::Step(Step::Variant { preset })
            }
            "render" => {
                let query = string("query")?;
                let query = query.trim_start_matches('?').to_owned();
                if query.is_empty() || query.len() > MAX_QUERY_BYTES {
                    return Err(Error::Invalid(format!(
                        "params.query: a render URL's query (e.g. \"w=512&format=webp\"), 1 to {MAX_QUERY_BYTES} bytes"
                    )));
                }
                ImageTask::Step(Step::Render { query })
            }
            "vectorize" => ImageTask::Step(Step::Vectorize),
            "dedupe" => {
                let threshold = match params.get("threshold") {
                    None => f64::from(vectors_threshold()),
                    Some(v) => v
                        .as_f64()
                        .filter(|t| (0.0..=1.0).contains(t))
                        .ok_or_else(|| {
                            Error::Invalid("params.threshold: must be a number from 0 to 1".into())
                        })?,
                };
                ImageTask::Dedupe {
                    threshold: threshold as f32,
                }
            }
            "cluster" => {
                let k = match params.get("k") {
                    None => 8,
                    Some(v) => v
                        .as_u64()
                        .filter(|k| (1..=MAX_K).contains(k))
                        .ok_or_else(|| {
                            Error::Invalid(format!(
                                "params.k: must be an integer from 1 to {MAX_K}"
                            ))
                        })?,
                };
                ImageTask::Cluster { k: k as usize }
            }
            _ => unreachable!("checked above"),
        })
    }

    /// Images per map shard when the request names no `shard_size`.
    pub fn default_shard_size(&self, config: &Config) -> u64 {
        match self {
            ImageTask::Step(_) => config.default_shard_images,
            ImageTask::Dedupe { .. } | ImageTask::Cluster { .. } => VECTOR_SHARD_IMAGES,
        }
    }

    /// Checks that the task can take `images` images (the limits of `cluster`).
    pub fn check_count(&self, images: u64, config: &Config) -> Result<()> {
        if let ImageTask::Cluster { k } = self {
            if images > config.max_cluster_images {
                return Err(Error::TooLarge(format!(
                    "input.images: cluster takes at most max_cluster_images = {} images (its one reduce holds every vector); this job has {images}",
                    config.max_cluster_images
                )));
            }
            if *k as u64 > images {
                return Err(Error::Invalid(format!(
                    "params.k: {k} clusters of {images} images; k must be at most the number of images"
                )));
            }
        }
        Ok(())
    }
}

/// The default near-duplicate threshold, the vectors' own.
fn vectors_threshold() -> f32 {
    vectors::DUPLICATE_THRESHOLD
}

/// A vector with its item index.
pub(crate) type Indexed = (usize, Vec<f32>);

/// The current-version vectors of items `range` of `ids` (item index, vector), and the
/// items that have none (never vectorized, of an older feature version, deleted), as
/// per-item failures.
pub(crate) fn vectors_of<K: store::KeyValue>(
    kv: &K,
    chunk_size: u32,
    ids: &[String],
    range: std::ops::Range<usize>,
) -> Result<(Vec<Indexed>, Vec<crate::state::ItemError>)> {
    let store = store::Store::new(kv, chunk_size.clamp(1, store::MAX_CHUNK_BYTES))?;
    let (mut found, mut failed) = (Vec::new(), Vec::new());
    for (item, id) in ids[range.clone()]
        .iter()
        .enumerate()
        .map(|(i, id)| (i + range.start, id))
    {
        let vector = match store::segments::raw_id(id) {
            Some(raw) => store.loose_vector_of(&raw, vectors::FEATURE_VERSION, vectors::DIMS)?,
            None => None,
        };
        match vector {
            Some(v) => found.push((item, v)),
            None => failed.push(crate::state::ItemError {
                item: item as u64,
                id: id.clone(),
                status: 422,
                detail: format!(
                    "image {id} has no vector of feature version {} (run a vectorize job over it)",
                    vectors::FEATURE_VERSION
                ),
            }),
        }
    }
    Ok((found, failed))
}

/// The image tasks' catalog entries (`GET /api/tasks`).
pub fn catalog() -> Vec<Value> {
    let object = |properties: Value, required: &[&str]| json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties});
    let step_output =
        "{\"images\": n, \"succeeded\": n, \"failed\": [{\"id\", \"status\", \"detail\"}]}";
    vec![
        json!({
            "name": "variant",
            "description": "Stores variant PRESET of every image, through the render component's POST /api/images/{id}/variants (idempotent: an existing variant is kept). An image the step refuses (413, 415, 422) is a per-item failure.",
            "input": "images",
            "params": object(json!({"preset": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$", "description": "a preset name (GET /api/filters)"}}), &["preset"]),
            "output": step_output
        }),
        json!({
            "name": "render",
            "description": "Renders every image with a render URL's query into the render cache, under the key a GET /images/{id}/render?QUERY uses, so that GET is a cache hit. AVIF may be as large as avif_job_max_pixels (public GETs: avif_max_pixels). format=auto pre-renders what a client without an Accept header gets (JPEG, PNG with alpha).",
            "input": "images",
            "params": object(json!({"query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_BYTES, "description": "render URL parameters, e.g. w=512&format=webp"}}), &["query"]),
            "output": step_output
        }),
        json!({
            "name": "vectorize",
            "description": "Recomputes every image's feature vector through the vectorize step, as an upload does (e.g. after a feature version change).",
            "input": "images",
            "params": object(json!({}), &[]),
            "output": step_output
        }),
        json!({
            "name": "dedupe",
            "description": "Near-duplicate groups: images whose stored vectors have cosine similarity at least THRESHOLD, joined transitively (union-find). Map shards find the edges from their images to every later image, streaming vectors in blocks. Images without a vector of the current feature version are listed as failed.",
            "input": "images",
            "params": object(json!({"threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": vectors::DUPLICATE_THRESHOLD}}), &[]),
            "output": "{\"images\": n, \"groups\": [[id, ...], ...], \"failed\": [...]}: each group sorted, groups sorted, singletons omitted"
        }),
        json!({
            "name": "cluster",
            "description": "k-means++ (fixed seed, deterministic) over the images' stored vectors, in one reduce over at most max_cluster_images images. centroid_id is the member nearest its cluster's centroid.",
            "input": "images",
            "params": object(json!({"k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 8}}), &[]),
            "output": "{\"images\": n, \"clusters\": [{\"centroid_id\", \"ids\": [...]}], \"failed\": [...]}: ids sorted, clusters largest first"
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_validated_naming_the_param() {
        let invalid = |name: &str, params: Value| match ImageTask::new(name, &params) {
            Err(Error::Invalid(detail)) => detail,
            other => panic!("{name} {params}: {other:?}"),
        };
        assert!(invalid("variant", json!({})).starts_with("params.preset"));
        assert!(invalid("variant", json!({"preset": 3})).starts_with("params.preset"));
        assert!(invalid("variant", json!({"preset": "../x"})).starts_with("params.preset"));
        assert!(invalid("render", json!({"query": ""})).starts_with("params.query"));
        assert!(invalid("dedupe", json!({"threshold": 1.5})).starts_with("params.threshold"));
        assert!(invalid("cluster", json!({"k": 0})).starts_with("params.k"));
        assert!(invalid("cluster", json!({"k": 2.5})).starts_with("params.k"));
        assert!(invalid("vectorize", json!({"x": 1})).starts_with("params.x"));
        assert!(invalid("vectorize", json!([1])).starts_with("params"));
        assert!(invalid("aggregate", json!({})).starts_with("task"));
        assert_eq!(
            ImageTask::new("render", &json!({"query": "?w=5"})).unwrap(),
            ImageTask::Step(Step::Render {
                query: "w=5".into()
            })
        );
        assert_eq!(
            ImageTask::new("cluster", &Value::Null).unwrap(),
            ImageTask::Cluster { k: 8 }
        );
    }
}
