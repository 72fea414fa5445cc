//! The key layout of datasets and jobs, built in one place (see `docs/jobs.md`).
//!
//! ```text
//! ds/{id}/m                 dataset record (JSON), written last: the commit point
//! ds/{id}/idx               row-offset index (u64 LE byte offsets, one per `stride` rows)
//! dsc/{upload}/{n}          dataset chunk n, under the ingest's own upload token
//! dsp/{upload}              an ingest whose chunks another instance stores (while it runs)
//! dsl/{rev:020}/{id}        dataset listing entry, rev = u64::MAX - created_micros
//! job/{id}/items/m|n        an image job's frozen image list (chunked: 64-char ids, no separator)
//! job/{id}/spec             job spec (JSON), written once: the commit point of a job
//! job/{id}/cancel           cancel marker
//! job/{id}/start/{unit}     when a driver last started the unit (JSON)
//! job/{id}/out/{unit}/{p}/m|n  unit output for reduce partition p (chunked value)
//! job/{id}/done/{unit}      unit summary (JSON), written after its outputs: its commit point
//! job/{id}/fail/{unit}/{n}  failure record of attempt n (JSON), written by that attempt's driver
//! jobl/{rev:020}/{id}       job listing entry
//! ```
//! Units are `m{i}` (map shard i) and `r{p}` (reduce partition p). Every key has one
//! writer, or several writers that write the same bytes (deterministic results).

use crate::{Error, Result};

/// Longest key built (Fermyon allows 255).
pub const MAX_KEY_BYTES: usize = 250;

pub const DATASET_LIST_PREFIX: &str = "dsl/";
pub const JOB_LIST_PREFIX: &str = "jobl/";

pub fn dataset_record(id: &str) -> Result<String> {
    checked(format!("ds/{}/m", hex_id(id, 64)?))
}
pub fn dataset_index(id: &str) -> Result<String> {
    checked(format!("ds/{}/idx", hex_id(id, 64)?))
}
/// `dsc/{upload}`: the base of an upload's dataset chunks (`{base}/{n}`).
pub fn dataset_chunks(upload: &str) -> Result<String> {
    checked(format!("dsc/{}", hex_id(upload, 32)?))
}
pub fn dataset_chunk(upload: &str, n: u32) -> Result<String> {
    checked(format!("dsc/{}/{n}", hex_id(upload, 32)?))
}
/// `dsp/{upload}`: written by an ingest before another instance stores its chunks,
/// which stores only for an upload so marked: a stray request leaves nothing behind.
pub fn dataset_pending(upload: &str) -> Result<String> {
    checked(format!("dsp/{}", hex_id(upload, 32)?))
}
pub fn dataset_listing(created_micros: u64, id: &str) -> Result<String> {
    checked(format!(
        "{DATASET_LIST_PREFIX}{:020}/{}",
        u64::MAX - created_micros,
        hex_id(id, 64)?
    ))
}

pub fn job_prefix(id: &str) -> Result<String> {
    checked(format!("job/{}/", hex_id(id, 32)?))
}
pub fn job_spec(id: &str) -> Result<String> {
    Ok(job_prefix(id)? + "spec")
}
/// The frozen image list of an image job (a [`crate::chunked`] value prefix).
pub fn job_items(id: &str) -> Result<String> {
    Ok(job_prefix(id)? + "items")
}
pub fn job_cancel(id: &str) -> Result<String> {
    Ok(job_prefix(id)? + "cancel")
}
pub fn unit_start(id: &str, unit: &str) -> Result<String> {
    checked(job_prefix(id)? + "start/" + unit)
}
pub fn unit_output(id: &str, unit: &str, part: u32) -> Result<String> {
    checked(format!("{}out/{unit}/{part}", job_prefix(id)?))
}
pub fn unit_done(id: &str, unit: &str) -> Result<String> {
    checked(job_prefix(id)? + "done/" + unit)
}
pub fn unit_failure(id: &str, unit: &str, attempt: u32) -> Result<String> {
    checked(format!("{}fail/{unit}/{attempt}", job_prefix(id)?))
}
pub fn job_listing(created_micros: u64, id: &str) -> Result<String> {
    checked(format!(
        "{JOB_LIST_PREFIX}{:020}/{}",
        u64::MAX - created_micros,
        hex_id(id, 32)?
    ))
}

/// Splits a listing key (`dsl/…` or `jobl/…`) into its id; `None` for anything else.
pub fn parse_listing<'a>(prefix: &str, key: &'a str) -> Option<&'a str> {
    let (rev, id) = key.strip_prefix(prefix)?.split_once('/')?;
    (rev.len() == 20 && rev.bytes().all(|b| b.is_ascii_digit()) && is_hex(id)).then_some(id)
}

/// One page of a listing (`dsl/` or `jobl/`), newest first: the items `get` finds for
/// up to `limit` entries after cursor `after`, and the cursor of the next page.
pub fn page<K: store::KeyValue, T>(
    kv: &K,
    prefix: &str,
    limit: usize,
    after: Option<&str>,
    get: impl Fn(&str) -> Result<Option<T>>,
) -> Result<(Vec<T>, Option<String>)> {
    let mut entries: Vec<String> = kv
        .get_keys()?
        .into_iter()
        .filter(|k| parse_listing(prefix, k).is_some())
        .collect();
    entries.sort_unstable();
    let start = after.map_or(0, |a| entries.partition_point(|k| k.as_str() <= a));
    let mut out = Vec::new();
    for (i, key) in entries[start..].iter().enumerate() {
        if let Some(item) = get(parse_listing(prefix, key).expect("filtered"))? {
            out.push(item);
        }
        if out.len() == limit {
            return Ok((out, (start + i + 1 < entries.len()).then(|| key.clone())));
        }
    }
    Ok((out, None))
}

/// Whether `s` is lowercase hex (ids of datasets: 64, of jobs and uploads: 32).
pub fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex_id(id: &str, len: usize) -> Result<&str> {
    if id.len() == len && is_hex(id) {
        Ok(id)
    } else {
        Err(Error::NotFound(format!(
            "not a valid id: {:?}",
            id.chars().take(80).collect::<String>()
        )))
    }
}

fn checked(key: String) -> Result<String> {
    if key.len() > MAX_KEY_BYTES || !key.is_ascii() {
        return Err(Error::Store(store::Error::InvalidKey(
            key.chars().take(80).collect(),
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let ds = "a".repeat(64);
        let job = "b".repeat(32);
        assert_eq!(dataset_record(&ds).unwrap(), format!("ds/{ds}/m"));
        assert_eq!(dataset_chunk(&job, 3).unwrap(), format!("dsc/{job}/3"));
        assert_eq!(
            unit_output(&job, "m12", 3).unwrap(),
            format!("job/{job}/out/m12/3")
        );
        assert_eq!(
            unit_failure(&job, "r0", 2).unwrap(),
            format!("job/{job}/fail/r0/2")
        );
        let l = job_listing(5, &job).unwrap();
        assert_eq!(parse_listing(JOB_LIST_PREFIX, &l), Some(job.as_str()));
        assert!(job_listing(2, &job).unwrap() < job_listing(1, &job).unwrap());
        assert!(matches!(job_spec("../x"), Err(Error::NotFound(_))));
        assert!(matches!(
            dataset_record(&"A".repeat(64)),
            Err(Error::NotFound(_))
        ));
    }
}
