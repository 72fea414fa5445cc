//! Running one unit: a map shard over its row range, or a reduce partition over every
//! map shard's output for it. Each unit writes its outputs and then its done record,
//! which is its commit point; results are deterministic, so running a unit twice (two
//! drivers, a retry after a lost answer) rewrites the same bytes.

use crate::spec::{self, JobSpec, Unit};
use crate::state::{self, Done};
use crate::tasks::Pieces;
use crate::{Error, Result, chunked, keys};
use store::KeyValue;

/// What running a unit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// It ran and committed its result.
    Done,
    /// Its result was stored already; nothing was written.
    AlreadyDone,
}

/// Runs `unit` of job `job` against the store (what the shard route calls).
pub fn execute_unit<K: KeyValue>(
    kv: &K,
    job: &str,
    unit: Unit,
    chunk_size: u32,
    now_micros: u64,
) -> Result<Ran> {
    let spec = spec::get(kv, job)?.ok_or_else(|| Error::NotFound(format!("no job {job}")))?;
    if !spec.has(unit) {
        return Err(Error::NotFound(format!(
            "job {job} has no unit {}",
            unit.name()
        )));
    }
    let done_key = keys::unit_done(job, &unit.name())?;
    if kv.exists(&done_key)? {
        return Ok(Ran::AlreadyDone);
    }
    if state::is_cancelled(kv, job)? {
        return Err(Error::Cancelled);
    }
    let (task, ds) = spec.task(kv)?;
    let done = match unit {
        Unit::Map(i) => {
            let index = ds.index(kv)?;
            let (parts, rows, skipped) =
                task.map(kv, &ds, &index, spec.rows_of(i), spec.partitions)?;
            for (p, bytes) in parts.iter().enumerate() {
                chunked::put(
                    kv,
                    &keys::unit_output(job, &unit.name(), p as u32)?,
                    bytes,
                    chunk_size,
                )?;
            }
            Done {
                rows,
                skipped,
                at: now_micros,
            }
        }
        Unit::Reduce(p) => {
            let mut inputs = Vec::new();
            for key in reduce_inputs(kv, &spec, p)? {
                inputs.push(
                    chunked::reader(kv, &key)?
                        .ok_or_else(|| Error::Corrupt(format!("{key} is missing")))?,
                );
            }
            let mut out = chunked::ValueWriter::new(
                kv,
                &keys::unit_output(job, &unit.name(), 0)?,
                chunk_size,
            );
            task.merge(inputs, &mut out)?;
            out.commit()?;
            Done {
                rows: 0,
                skipped: 0,
                at: now_micros,
            }
        }
    };
    kv.set(
        &done_key,
        &serde_json::to_vec(&done).expect("done serialises"),
    )?;
    Ok(Ran::Done)
}

/// The output keys reduce partition `p` merges: every map shard with a result, in
/// shard order. A shard that used up its attempts is left out when the job's tolerance
/// allows it; a pending shard, or failures over the tolerance, mean no reduce.
fn reduce_inputs<K: KeyValue>(kv: &K, spec: &JobSpec, p: u32) -> Result<Vec<String>> {
    let st = state::status(kv, spec, 0)?;
    if !st.map_settled || st.state == state::State::Failed {
        return Err(Error::NotReady(format!(
            "the map shards are not all done ({:?})",
            st.shards
        )));
    }
    let mut inputs = Vec::new();
    for unit in spec.map_units() {
        let st = state::unit_state(kv, &spec.id, unit)?;
        if st.done.is_some() {
            inputs.push(keys::unit_output(&spec.id, &unit.name(), p)?);
        } else if !st.exhausted(spec.max_attempts) {
            return Err(Error::NotReady(format!(
                "map shard {} has no result yet",
                unit.name()
            )));
        }
    }
    Ok(inputs)
}

/// The task's output once every reduce partition is done, in pieces of bytes (JSON, or
/// CSV with `csv`), read from the partitions and the map shards' done records as it is
/// sent, so no request holds a large result. `None` while the job is unfinished.
pub fn output<'a, K: KeyValue + Clone + 'a>(
    kv: K,
    spec: &JobSpec,
    csv: bool,
) -> Result<Option<Pieces<'a>>> {
    let mut parts = Vec::new();
    for unit in spec.reduce_units() {
        if !kv.exists(&keys::unit_done(&spec.id, &unit.name())?)? {
            return Ok(None);
        }
        match chunked::reader(kv.clone(), &keys::unit_output(&spec.id, &unit.name(), 0)?)? {
            Some(reader) => parts.push(reader),
            None => return Ok(None),
        }
    }
    let (mut rows, mut skipped) = (0, 0);
    for unit in spec.map_units() {
        if let Some(done) =
            state::read_json::<_, Done>(&kv, &keys::unit_done(&spec.id, &unit.name())?)?
        {
            rows += done.rows;
            skipped += done.skipped;
        }
    }
    let (task, _) = spec.task(&kv)?;
    Ok(Some(task.output(parts, rows, skipped, csv)?))
}

/// The task's JSON output, whole (for small results and tests); `None` while unfinished.
pub fn result<K: KeyValue>(kv: &K, spec: &JobSpec) -> Result<Option<serde_json::Value>> {
    let Some(pieces) = output(kv, spec, false)? else {
        return Ok(None);
    };
    let bytes = pieces.collect::<Result<Vec<_>>>()?.concat();
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::corrupt("job output", e))
}

/// Marks the job cancelled: drivers start no new unit (running ones finish).
pub fn cancel<K: KeyValue>(kv: &K, job: &str, now_micros: u64) -> Result<()> {
    kv.set(
        &keys::job_cancel(job)?,
        &serde_json::to_vec(&state::Mark { at: now_micros }).expect("serialises"),
    )?;
    Ok(())
}
