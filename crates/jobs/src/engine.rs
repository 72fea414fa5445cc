//! Running one unit: a map shard over its row range (or its images: [`images`]), or a
//! reduce partition over every map shard's output for it. Each unit writes its outputs and then its done record,
//! which is its commit point; results are deterministic, so running a unit twice (two
//! drivers, a retry after a lost answer) rewrites the same bytes.

use crate::spec::{self, JobSpec, Unit};
use crate::state::{self, Done};
use crate::tasks::Pieces;
use crate::{Error, Result, chunked, images, keys};
use futures::FutureExt;
use store::KeyValue;

/// What running a unit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// It ran and committed its result.
    Done,
    /// Its result was stored already; nothing was written.
    AlreadyDone,
}

/// Runs `unit` of job `job` against the store, for units that call no step component
/// (dataset jobs, `dedupe`, `cluster`, every reduce); a step unit fails with a 500.
pub fn execute_unit<K: KeyValue>(
    kv: &K,
    job: &str,
    unit: Unit,
    chunk_size: u32,
    now_micros: u64,
) -> Result<Ran> {
    // Without steps nothing awaits, so one poll finishes it.
    execute_unit_with(kv, job, unit, &images::NoSteps, chunk_size, now_micros)
        .now_or_never()
        .unwrap_or_else(|| Err(Error::Corrupt("a unit without steps did not finish".into())))
}

/// Runs `unit` of job `job` (what the shard route calls), calling `steps` for the
/// images of an image job's step shard.
pub async fn execute_unit_with<K: KeyValue, S: images::Steps>(
    kv: &K,
    job: &str,
    unit: Unit,
    steps: &S,
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
    let (parts, done) = if spec.images {
        let task = spec.image_task()?;
        match unit {
            Unit::Map(i) => {
                images::execute_map(kv, &spec, &task, i, steps, chunk_size, now_micros).await?
            }
            Unit::Reduce(_) => {
                let maps = settled_maps(kv, &spec)?;
                let out = images::execute_reduce(kv, &spec, &task, &maps)?;
                (vec![out], reduce_done(now_micros))
            }
        }
    } else {
        dataset_unit(kv, &spec, unit, chunk_size, now_micros)?
    };
    for (p, bytes) in parts.iter().enumerate() {
        chunked::put(
            kv,
            &keys::unit_output(job, &unit.name(), p as u32)?,
            bytes,
            chunk_size,
        )?;
    }
    kv.set(
        &done_key,
        &serde_json::to_vec(&done).expect("done serialises"),
    )?;
    Ok(Ran::Done)
}

fn reduce_done(now_micros: u64) -> Done {
    Done {
        rows: 0,
        skipped: 0,
        failed: 0,
        errors: Vec::new(),
        at: now_micros,
    }
}

/// A unit of a dataset job: its outputs (a map shard's, one per partition) and done
/// record. A reduce streams its merge into its output itself and answers no parts.
fn dataset_unit<K: KeyValue>(
    kv: &K,
    spec: &JobSpec,
    unit: Unit,
    chunk_size: u32,
    now_micros: u64,
) -> Result<(Vec<Vec<u8>>, Done)> {
    let (task, ds) = spec.task(kv)?;
    Ok(match unit {
        Unit::Map(i) => {
            let index = ds.index(kv)?;
            let (parts, rows, skipped) =
                task.map(kv, &ds, &index, spec.rows_of(i), spec.partitions)?;
            let done = Done {
                rows,
                skipped,
                ..reduce_done(now_micros)
            };
            (parts, done)
        }
        Unit::Reduce(p) => {
            let mut inputs = Vec::new();
            for (i, st) in settled_maps(kv, spec)? {
                if st.done.is_some() {
                    let key = keys::unit_output(&spec.id, &Unit::Map(i).name(), p)?;
                    inputs.push(
                        chunked::reader(kv, &key)?
                            .ok_or_else(|| Error::Corrupt(format!("{key} is missing")))?,
                    );
                }
            }
            let mut out = chunked::ValueWriter::new(
                kv,
                &keys::unit_output(&spec.id, &unit.name(), 0)?,
                chunk_size,
            );
            task.merge(inputs, &mut out)?;
            out.commit()?;
            (Vec::new(), reduce_done(now_micros))
        }
    })
}

/// Every map shard with what is stored about it, once each has a result or has used up
/// its attempts (a reduce's inputs: a failed shard is left out when the job's tolerance
/// allows it). A pending shard, or failures over the tolerance, mean no reduce.
fn settled_maps<K: KeyValue>(kv: &K, spec: &JobSpec) -> Result<Vec<(u32, state::UnitState)>> {
    let st = state::status(kv, spec, 0)?;
    if !st.map_settled || st.state == state::State::Failed {
        return Err(Error::NotReady(format!(
            "the map shards are not all done ({:?})",
            st.shards
        )));
    }
    let mut maps = Vec::new();
    for unit in spec.map_units() {
        let Unit::Map(i) = unit else { unreachable!() };
        let st = state::unit_state(kv, &spec.id, unit)?;
        if st.done.is_none() && !st.exhausted(spec.max_attempts) {
            return Err(Error::NotReady(format!(
                "map shard {} has no result yet",
                unit.name()
            )));
        }
        maps.push((i, st));
    }
    Ok(maps)
}

/// The task's output once every reduce partition is done, in pieces of bytes (JSON, or
/// CSV with `csv`), read from the partitions and the map shards' done records as it is
/// sent, so no request holds a large result. `None` while the job is unfinished.
pub fn output<'a, K: KeyValue + Clone + 'a>(
    kv: K,
    spec: &JobSpec,
    csv: bool,
) -> Result<Option<Pieces<'a>>> {
    if spec.images {
        // The one reduce wrote the output whole.
        if csv {
            return Err(Error::Invalid(format!(
                "format: task {} has no CSV output",
                spec.task
            )));
        }
        let unit = Unit::Reduce(0).name();
        if !kv.exists(&keys::unit_done(&spec.id, &unit)?)? {
            return Ok(None);
        }
        let bytes = chunked::get(&kv, &keys::unit_output(&spec.id, &unit, 0)?)?;
        return Ok(bytes.map(|b| Box::new(std::iter::once(Ok(b))) as Pieces<'a>));
    }
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
