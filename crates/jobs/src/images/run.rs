//! Running the units of an image job: a map shard over its items (steps called, or
//! vectors read), the one reduce that writes the task's output.
//!
//! A map shard writes two outputs: partition 0, the task's partial (a step count, dedupe
//! edges, packed vectors), and partition 1, every per-item failure; its done record keeps
//! the count and the first few failures for the status.

use super::{ImageTask, Steps, cluster, dedupe, items};
use crate::spec::{JobSpec, Unit};
use crate::state::{Done, ItemError, MAX_DONE_ERRORS, UnitState};
use crate::{Error, Result, chunked, keys};
use serde_json::{Value, json};
use store::KeyValue;

/// Longest per-item failure detail kept.
const MAX_DETAIL: usize = 300;

/// Whether a step's answer refuses the image itself (a per-item failure) rather than
/// failing the call: client errors other than those about the call (401, 403, 408, 429).
pub fn refuses_item(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 403 | 408 | 429)
}

/// Runs map shard `i` of image job `spec`: its outputs (partitions 0 and 1) and done record.
pub async fn execute_map<K: KeyValue, S: Steps>(
    kv: &K,
    spec: &JobSpec,
    task: &ImageTask,
    i: u32,
    steps: &S,
    chunk_size: u32,
    now_micros: u64,
) -> Result<(Vec<Vec<u8>>, Done)> {
    let ids = items::read(kv, &spec.id)?;
    let rows = spec.rows_of(i);
    let range = rows.start as usize..(rows.end as usize).min(ids.len());
    let (partial, failed) = match task {
        ImageTask::Step(step) => {
            let (mut succeeded, mut failed) = (0u64, Vec::new());
            for item in range.clone() {
                let id = &ids[item];
                match steps.apply(step, id).await {
                    Ok(()) => succeeded += 1,
                    Err(p) if refuses_item(p.status) => failed.push(ItemError {
                        item: item as u64,
                        id: id.clone(),
                        status: p.status,
                        detail: p.detail.chars().take(MAX_DETAIL).collect(),
                    }),
                    Err(p) => {
                        return Err(Error::Step {
                            status: p.status,
                            detail: format!("image {id}: {}", p.detail),
                        });
                    }
                }
            }
            (to_json(&json!({ "succeeded": succeeded })), failed)
        }
        ImageTask::Dedupe { threshold } => {
            let (edges, failed) = dedupe::edges(kv, chunk_size, &ids, range.clone(), *threshold)?;
            (to_json(&json!({ "edges": edges })), failed)
        }
        ImageTask::Cluster { .. } => cluster::gather(kv, chunk_size, &ids, range.clone())?,
    };
    let done = Done {
        rows: range.len() as u64,
        skipped: 0,
        failed: failed.len() as u64,
        errors: failed.iter().take(MAX_DONE_ERRORS).cloned().collect(),
        at: now_micros,
    };
    Ok((vec![partial, to_json(&failed)], done))
}

/// Runs the reduce of image job `spec` over its settled map shards (`maps`: each shard
/// with what is stored about it, done or out of attempts): the task's output (JSON).
/// The items of a shard that failed are listed as failed with the shard's last problem.
pub fn execute_reduce<K: KeyValue>(
    kv: &K,
    spec: &JobSpec,
    task: &ImageTask,
    maps: &[(u32, UnitState)],
) -> Result<Vec<u8>> {
    let ids = items::read(kv, &spec.id)?;
    let output = |i: u32, part: u32| -> Result<Vec<u8>> {
        let key = keys::unit_output(&spec.id, &Unit::Map(i).name(), part)?;
        chunked::get(kv, &key)?.ok_or_else(|| Error::Corrupt(format!("{key} is missing")))
    };
    let mut failed: Vec<ItemError> = Vec::new();
    let mut done = Vec::new();
    for (i, st) in maps {
        if st.done.is_some() {
            let f: Vec<ItemError> = serde_json::from_slice(&output(*i, 1)?)
                .map_err(|e| Error::corrupt("item failures", e))?;
            failed.extend(f);
            done.push(*i);
        } else {
            let (status, detail) = st
                .last_failure
                .as_ref()
                .map_or((500, String::new()), |f| (f.status, f.detail.clone()));
            let rows = spec.rows_of(*i);
            failed.extend(
                (rows.start..rows.end.min(ids.len() as u64)).map(|item| ItemError {
                    item,
                    id: ids[item as usize].clone(),
                    status,
                    detail: format!("its shard m{i} failed: {detail}"),
                }),
            );
        }
    }
    failed.sort_by_key(|f| f.item);
    let failed_json: Vec<Value> = failed
        .iter()
        .map(|f| json!({"id": f.id, "status": f.status, "detail": f.detail}))
        .collect();
    let out = match task {
        ImageTask::Step(_) => {
            let mut succeeded = 0u64;
            for i in &done {
                let partial: Value = serde_json::from_slice(&output(*i, 0)?)
                    .map_err(|e| Error::corrupt("step partial", e))?;
                succeeded += partial["succeeded"].as_u64().unwrap_or(0);
            }
            json!({"images": ids.len(), "succeeded": succeeded, "failed": failed_json})
        }
        ImageTask::Dedupe { .. } => {
            let mut edges: Vec<(u32, u32)> = Vec::new();
            for i in &done {
                #[derive(serde::Deserialize)]
                struct Partial {
                    edges: Vec<(u32, u32)>,
                }
                let p: Partial = serde_json::from_slice(&output(*i, 0)?)
                    .map_err(|e| Error::corrupt("dedupe partial", e))?;
                if p.edges
                    .iter()
                    .any(|&(a, b)| a as usize >= ids.len() || b as usize >= ids.len())
                {
                    return Err(Error::Corrupt("a dedupe edge names no item".into()));
                }
                edges.extend(p.edges);
            }
            let mut groups: Vec<Vec<&str>> = dedupe::groups(ids.len(), &edges)
                .into_iter()
                .map(|g| {
                    let mut g: Vec<&str> = g.into_iter().map(|x| ids[x].as_str()).collect();
                    g.sort_unstable();
                    g
                })
                .collect();
            groups.sort_unstable();
            json!({"images": ids.len(), "groups": groups, "failed": failed_json})
        }
        ImageTask::Cluster { k } => {
            let (mut items, mut points) = (Vec::new(), Vec::new());
            for i in &done {
                cluster::unpack(&output(*i, 0)?, &mut items, &mut points)?;
            }
            if items.iter().any(|&x| x >= ids.len()) {
                return Err(Error::Corrupt("a cluster row names no item".into()));
            }
            let mut clusters: Vec<(Vec<&str>, &str)> = cluster::kmeans(&points, *k, cluster::SEED)
                .into_iter()
                .map(|c| {
                    let mut members: Vec<&str> =
                        c.members.iter().map(|&m| ids[items[m]].as_str()).collect();
                    members.sort_unstable();
                    (members, ids[items[c.nearest]].as_str())
                })
                .collect();
            clusters.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
            let clusters: Vec<Value> = clusters
                .into_iter()
                .map(|(members, centroid)| json!({"centroid_id": centroid, "ids": members}))
                .collect();
            json!({"images": ids.len(), "clusters": clusters, "failed": failed_json})
        }
    };
    Ok(to_json(&out))
}

fn to_json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialises")
}
