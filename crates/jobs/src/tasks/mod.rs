//! The task catalog: what each task takes (a JSON Schema for its params), reads and
//! answers, and the map / merge / finish steps the engine runs for dataset tasks.

pub mod aggregate;
pub mod matrix;

use crate::dataset::{self, Dataset};
use crate::{Error, Result};
use aggregate::Aggregate;
use matrix::MatrixStats;
use serde_json::{Value, json};
use std::io::{BufReader, Read, Write};
use std::ops::Range;
use store::KeyValue;

/// Names of the dataset tasks (image tasks: [`crate::images::NAMES`]).
pub const NAMES: [&str; 2] = ["aggregate", "matrix_stats"];

/// `GET /api/tasks`: the dataset tasks, then the image tasks ([`crate::images::catalog`]).
pub fn catalog() -> Value {
    let mut tasks = dataset_catalog();
    tasks.extend(crate::images::catalog());
    json!({ "tasks": tasks })
}

fn dataset_catalog() -> Vec<Value> {
    vec![
        json!({
            "name": "aggregate",
            "description": "Group-by over a dataset's records with sum, count, mean, min and max. Sums are exact decimals (strings); means are rounded to 12 places. Map shards read row ranges and store partial aggregates split by key hash; reduce partitions merge them exactly.",
            "input": "dataset",
            "params": aggregate::schema(),
            "output": "{\"rows\", \"skipped\", \"groups\": [{\"key\": {column: value}, column: {\"sum\": \"decimal\", \"count\": n, \"mean\", \"min\", \"max\"}}]} sorted by key; ?format=csv for CSV"
        }),
        json!({
            "name": "matrix_stats",
            "description": "Mean, std (ddof 0), min, max, Pearson correlation and a 2-D PCA (sample covariance) of a dataset's number columns. Shard moments merge with Chan et al.'s pairwise update.",
            "input": "dataset",
            "params": matrix::schema(),
            "output": "{\"n\", \"dims\", \"columns\", \"mean\", \"std\", \"min\", \"max\", \"correlation\", \"pca\": {\"components\", \"explained_variance\"}, \"rows\", \"skipped\"}"
        }),
    ]
}

/// A task with its params resolved against its input.
#[derive(Debug, Clone)]
pub enum Task {
    Aggregate(Aggregate),
    MatrixStats(MatrixStats),
}

impl Task {
    /// Resolves `name` and `params` against dataset `ds`: unknown tasks, params against
    /// the schema and unknown columns are [`Error::Invalid`], naming the parameter.
    pub fn new(name: &str, params: &Value, ds: &Dataset) -> Result<Self> {
        let params = if params.is_null() { &json!({}) } else { params };
        if !params.is_object() {
            return Err(Error::Invalid("params: must be a JSON object".into()));
        }
        match name {
            "aggregate" => Ok(Task::Aggregate(Aggregate::new(params, ds)?)),
            "matrix_stats" => Ok(Task::MatrixStats(MatrixStats::new(params, ds)?)),
            other => Err(Error::Invalid(format!(
                "task: unknown task {other:?} (known: {})",
                NAMES.join(", ")
            ))),
        }
    }

    /// How many reduce partitions the job gets: `ceil(groups / rows_per_partition)`, so
    /// each reduce merges at most about that many groups, where `groups` bounds the
    /// `aggregate`'s groups: the product of its key columns' distinct estimates (with a
    /// margin) when the upload counted them, else the rows.
    pub fn partitions(&self, ds: &Dataset, rows_per_partition: u64, max: u32) -> u32 {
        match self {
            Task::Aggregate(agg) => agg
                .groups_bound(ds)
                .div_ceil(rows_per_partition.max(1))
                .clamp(1, u64::from(max.max(1))) as u32,
            Task::MatrixStats(_) => 1,
        }
    }

    /// Runs a map shard over rows `range`: one partial per partition, rows read, rows skipped.
    pub fn map<K: KeyValue>(
        &self,
        kv: &K,
        ds: &Dataset,
        index: &[u64],
        range: Range<u64>,
        partitions: u32,
    ) -> Result<(Vec<Vec<u8>>, u64, u64)> {
        match self {
            Task::Aggregate(agg) => {
                let mut mapper = agg.mapper();
                dataset::read_rows(kv, ds, index, range, |row| mapper.row(row))?;
                let (rows, skipped) = (mapper.rows, mapper.skipped);
                Ok((mapper.finish(partitions)?, rows, skipped))
            }
            Task::MatrixStats(m) => {
                let mut mapper = m.mapper();
                dataset::read_rows(kv, ds, index, range, |row| mapper.row(row))?;
                let (rows, skipped) = (mapper.rows, mapper.skipped);
                Ok((vec![mapper.finish()], rows, skipped))
            }
        }
    }

    /// Merges partials of one partition (in shard order) into `out`.
    pub fn merge<R: Read>(&self, partials: Vec<R>, out: &mut impl Write) -> Result<()> {
        match self {
            Task::Aggregate(agg) => {
                agg.merge(partials.into_iter().map(BufReader::new).collect(), out)
            }
            Task::MatrixStats(m) => {
                let merged = m.merge(partials.into_iter().map(read_all))?;
                out.write_all(&merged)
                    .map_err(|e| Error::Corrupt(e.to_string()))
            }
        }
    }

    /// The task's output from its reduced partitions, in pieces of bytes: JSON, or CSV
    /// (`csv`) for the tasks that have a tabular output. An `aggregate` streams its
    /// groups; the others are small and come in one piece.
    pub fn output<'a, R: Read + 'a>(
        self,
        parts: Vec<R>,
        rows: u64,
        skipped: u64,
        csv: bool,
    ) -> Result<Pieces<'a>> {
        match self {
            Task::Aggregate(agg) => Ok(Box::new(agg.output(
                parts.into_iter().map(BufReader::new).collect(),
                rows,
                skipped,
                csv,
            ))),
            Task::MatrixStats(_) if csv => Err(Error::Invalid(
                "format: task matrix_stats has no CSV output".into(),
            )),
            Task::MatrixStats(m) => {
                let parts = parts
                    .into_iter()
                    .map(read_all)
                    .collect::<Result<Vec<_>>>()?;
                let value = m.finish(parts, rows, skipped)?;
                Ok(Box::new(std::iter::once(Ok(
                    serde_json::to_vec(&value).expect("serialises")
                ))))
            }
        }
    }
}

/// An output in pieces of bytes (an error ends it).
pub type Pieces<'a> = Box<dyn Iterator<Item = Result<Vec<u8>>> + 'a>;

/// A whole stored value, for the tasks whose partials are small.
fn read_all(mut r: impl Read) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)
        .map_err(|e| Error::Corrupt(format!("a stored partial: {e}")))?;
    Ok(bytes)
}
