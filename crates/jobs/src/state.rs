//! Job status, computed by reading what is stored: each unit's done record, failure
//! records and start marker, and the cancel marker. No counter is kept anywhere, so a
//! crash loses nothing and any client (or a second driver) sees the same status.

use crate::spec::{JobSpec, Unit};
use crate::{Error, Result, keys};
use serde::{Deserialize, Serialize};
use store::KeyValue;

/// Written by a unit after its outputs (`job/{id}/done/{unit}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// Items the unit covered (dataset rows, images).
    pub rows: u64,
    /// Dataset rows that were not records of the task (bad values): not failures.
    pub skipped: u64,
    /// Items that failed on their own (an image a step refused): they count against
    /// `tolerated_failure_percent`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed: u64,
    /// The first [`MAX_DONE_ERRORS`] of those failures, for the status' `errors`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ItemError>,
    pub at: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// At most this many per-item failures are kept in a done record (the unit's output
/// keeps them all), so a record stays far under the KV's value cap.
pub const MAX_DONE_ERRORS: usize = 20;

/// One item that failed: its index in the job's items, its id, and the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemError {
    pub item: u64,
    pub id: String,
    pub status: u16,
    pub detail: String,
}

/// One failed attempt (`job/{id}/fail/{unit}/{n}`), written by the driver that ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub status: u16,
    pub detail: String,
    /// Not worth retrying (a client error): the unit counts as failed at once.
    pub fatal: bool,
    pub at: u64,
}

/// A marker with a time (start, cancel).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mark {
    pub at: u64,
}

/// How long a start marker counts as "running" (a crashed driver's goes stale).
pub const RUNNING_WINDOW_MICROS: u64 = 60_000_000;

/// What is stored about one unit.
#[derive(Debug, Clone, Default)]
pub struct UnitState {
    pub done: Option<Done>,
    pub failures: u32,
    pub last_failure: Option<Failure>,
    pub started: Option<u64>,
}

impl UnitState {
    /// No result, and either its attempts are used up or its last failure was fatal.
    pub fn exhausted(&self, max_attempts: u32) -> bool {
        self.done.is_none()
            && (self.failures >= max_attempts
                || self.last_failure.as_ref().is_some_and(|f| f.fatal))
    }
}

pub(crate) fn read_json<K: KeyValue, T: serde::de::DeserializeOwned>(
    kv: &K,
    key: &str,
) -> Result<Option<T>> {
    match kv.get(key)? {
        Some(raw) => Ok(Some(
            serde_json::from_slice(&raw).map_err(|e| Error::corrupt(key, e))?,
        )),
        None => Ok(None),
    }
}

/// [`read_json`] at a key built from a client's id: an id that cannot be a key is
/// simply absent.
pub(crate) fn read_by_id<K: KeyValue, T: serde::de::DeserializeOwned>(
    kv: &K,
    key: Result<String>,
) -> Result<Option<T>> {
    match key {
        Ok(key) => read_json(kv, &key),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Number of failure records of `unit` (they are numbered 1, 2, … without gaps).
pub fn failure_count<K: KeyValue>(kv: &K, job: &str, unit: Unit) -> Result<u32> {
    let mut n = 0;
    while kv.exists(&keys::unit_failure(job, &unit.name(), n + 1)?)? {
        n += 1;
    }
    Ok(n)
}

pub fn unit_state<K: KeyValue>(kv: &K, job: &str, unit: Unit) -> Result<UnitState> {
    let name = unit.name();
    let done: Option<Done> = read_json(kv, &keys::unit_done(job, &name)?)?;
    if done.is_some() {
        return Ok(UnitState {
            done,
            ..Default::default()
        });
    }
    let failures = failure_count(kv, job, unit)?;
    let last_failure = if failures > 0 {
        read_json(kv, &keys::unit_failure(job, &name, failures)?)?
    } else {
        None
    };
    let started = read_json::<_, Mark>(kv, &keys::unit_start(job, &name)?)?.map(|m| m.at);
    Ok(UnitState {
        done,
        failures,
        last_failure,
        started,
    })
}

pub fn is_cancelled<K: KeyValue>(kv: &K, job: &str) -> Result<bool> {
    Ok(kv.exists(&keys::job_cancel(job)?)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl State {
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Succeeded | State::Failed | State::Cancelled)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardCounts {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub pending: u64,
    pub running: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemCounts {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEntry {
    pub shard: u32,
    /// The image, for a per-item failure (the shard itself succeeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub phase: String,
    pub status: u16,
    pub detail: String,
    pub attempts: u32,
}

/// What `GET /api/jobs/{id}` answers (times as microseconds; the component formats them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    pub id: String,
    pub task: String,
    pub state: State,
    pub created_micros: u64,
    pub updated_micros: u64,
    pub shards: ShardCounts,
    pub reduce: ShardCounts,
    pub items: ItemCounts,
    pub skipped: u64,
    pub errors: Vec<ErrorEntry>,
    /// Every map shard has a result or has used up its attempts.
    pub map_settled: bool,
}

/// At most this many entries in `errors`.
pub const MAX_ERRORS: usize = 100;

/// Reads the job's status from the store.
pub fn status<K: KeyValue>(kv: &K, spec: &JobSpec, now_micros: u64) -> Result<JobStatus> {
    let job = spec.id.as_str();
    let cancelled: Option<Mark> = read_json(kv, &keys::job_cancel(job)?)?;
    let mut updated = spec
        .created_micros
        .max(cancelled.as_ref().map_or(0, |m| m.at));
    let mut errors = Vec::new();
    let mut any_activity = false;
    let mut count =
        |unit: Unit, counts: &mut ShardCounts, errors: &mut Vec<ErrorEntry>| -> Result<UnitState> {
            let st = unit_state(kv, job, unit)?;
            counts.total += 1;
            let exhausted = st.exhausted(spec.max_attempts);
            if let Some(done) = &st.done {
                counts.succeeded += 1;
                updated = updated.max(done.at);
            } else if exhausted {
                counts.failed += 1;
            } else if st
                .started
                .is_some_and(|at| now_micros.saturating_sub(at) < RUNNING_WINDOW_MICROS)
            {
                counts.running += 1;
            } else {
                counts.pending += 1;
            }
            if let Some(f) = st.last_failure.as_ref().filter(|_| st.done.is_none()) {
                updated = updated.max(f.at);
                if errors.len() < MAX_ERRORS {
                    let (phase, shard) = match unit {
                        Unit::Map(i) => ("map", i),
                        Unit::Reduce(p) => ("reduce", p),
                    };
                    errors.push(ErrorEntry {
                        shard,
                        item: None,
                        phase: phase.into(),
                        status: f.status,
                        detail: f.detail.clone(),
                        attempts: st.failures,
                    });
                }
            }
            updated = updated.max(st.started.unwrap_or(0));
            any_activity |= st.done.is_some() || st.failures > 0 || st.started.is_some();
            Ok(st)
        };
    let (mut shards, mut reduce, mut items, mut skipped) = (
        ShardCounts::default(),
        ShardCounts::default(),
        ItemCounts {
            total: spec.rows,
            ..Default::default()
        },
        0,
    );
    for unit in spec.map_units() {
        let st = count(unit, &mut shards, &mut errors)?;
        let Unit::Map(i) = unit else { unreachable!() };
        if let Some(done) = &st.done {
            let failed = done.skipped + done.failed;
            items.succeeded += done.rows.saturating_sub(failed);
            items.failed += failed;
            skipped += done.skipped;
            for e in &done.errors {
                if errors.len() < MAX_ERRORS {
                    errors.push(ErrorEntry {
                        shard: i,
                        item: Some(e.id.clone()),
                        phase: "map".into(),
                        status: e.status,
                        detail: e.detail.clone(),
                        attempts: 1,
                    });
                }
            }
        } else if st.exhausted(spec.max_attempts) {
            items.failed += spec.rows_of(i).end - spec.rows_of(i).start;
        }
    }
    let mut reduce_failed = false;
    for unit in spec.reduce_units() {
        reduce_failed |= count(unit, &mut reduce, &mut errors)?.exhausted(spec.max_attempts);
    }
    let map_settled = shards.succeeded + shards.failed == shards.total;
    let failed_rows = items.failed - skipped;
    let over_tolerance = spec.tolerated_failure_percent < 100.0
        && (failed_rows as f64) * 100.0
            > spec.tolerated_failure_percent * (spec.rows.max(1) as f64);
    let state = if reduce.succeeded == reduce.total {
        State::Succeeded
    } else if reduce_failed
        || (map_settled && over_tolerance)
        || (map_settled && shards.succeeded == 0 && shards.total > 0)
    {
        State::Failed
    } else if cancelled.is_some() {
        State::Cancelled
    } else if any_activity {
        State::Running
    } else {
        State::Pending
    };
    Ok(JobStatus {
        id: spec.id.clone(),
        task: spec.task.clone(),
        state,
        created_micros: spec.created_micros,
        updated_micros: updated,
        shards,
        reduce,
        items,
        skipped,
        errors,
        map_settled,
    })
}
