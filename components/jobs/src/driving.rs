//! `/api/jobs`: create and drive, run again, status, result, cancel, delete, and the
//! unit route the driver sends each shard to.

use api::{ApiError, Query, rfc3339_utc};
use darkroom_spin::kv::SpinKv;
use darkroom_spin::{Incoming, Reply, auth, incoming::random_hex};
use futures::StreamExt;
use jobs::driver::{self, Problem, Runner, now_micros};
use jobs::images::ImageTask;
use jobs::{JobSpec, JobStatus, Unit, engine, spec, state};
use serde_json::{Value, json};
use spin_sdk::http::{Method, Request, Response};
use std::time::{Duration, Instant};

/// The API object of a job.
fn object(spec: &JobSpec, st: &JobStatus) -> Value {
    json!({
        "id": st.id, "task": st.task, "state": st.state,
        "created": rfc3339_utc(st.created_micros), "updated": rfc3339_utc(st.updated_micros),
        "input": spec.input(), "params": spec.params,
        "shards": st.shards, "reduce": st.reduce, "items": st.items, "errors": st.errors,
        "concurrency": spec.concurrency, "max_attempts": spec.max_attempts,
        "tolerated_failure_percent": spec.tolerated_failure_percent,
        "result": (st.state == state::State::Succeeded).then(|| format!("/api/jobs/{}/result", st.id)),
    })
}

fn find(kv: &SpinKv, id: &str) -> Result<JobSpec, ApiError> {
    spec::get(kv, id)?.ok_or_else(|| ApiError::NotFound(format!("no job {id}")))
}

pub async fn create(req: Incoming) -> Result<Reply, ApiError> {
    let config = crate::config()?;
    let ndjson = wants_ndjson(&req);
    let body = req.body(1 << 20).await?;
    let request: jobs::JobRequest = serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("the job request is not valid: {e}")))?;
    let kv = crate::kv()?;
    let presets = crate::steps::presets()?;
    let check = |task: &ImageTask| crate::steps::check(task, &presets);
    let spec = spec::create_with(&kv, request, &random_hex(16), &config, now_micros(), &check)?;
    drive(kv, spec, config, ndjson).await
}

pub async fn run(req: &Incoming, id: &str) -> Result<Reply, ApiError> {
    let config = crate::config()?;
    let kv = crate::kv()?;
    let spec = find(&kv, id)?;
    drive(kv, spec, config, wants_ndjson(req)).await
}

fn wants_ndjson(req: &Incoming) -> bool {
    req.header("accept").is_some_and(|a| a.contains("application/x-ndjson"))
}

/// Drives the job within `job_request_budget_ms`: a JSON answer (200 finished, 202
/// not yet) or NDJSON events while it runs.
async fn drive(kv: SpinKv, spec: JobSpec, config: jobs::Config, ndjson: bool) -> Result<Reply, ApiError> {
    let location = format!("/api/jobs/{}", spec.id);
    let deadline = Instant::now() + Duration::from_millis(config.job_request_budget_ms);
    let runner = HttpRunner { base: config.jobs_base_url.clone() };
    if !ndjson {
        let st = driver::drive(&kv, &runner, &spec.id, deadline, Duration::from_secs(3600), |_| {}).await?;
        let status = if st.state.is_terminal() { 200 } else { 202 };
        return Ok(Reply::json(status, &object(&spec, &st)).header("location", &location));
    }
    let (tx, rx) = futures::channel::mpsc::unbounded::<Vec<u8>>();
    let line = |event: &str, key: &str, value: Value| {
        let mut bytes = serde_json::to_vec(&json!({"event": event, key: value})).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    };
    let driving = async move {
        let mut first = true;
        let progress = |st: &JobStatus| {
            let event = if std::mem::take(&mut first) {
                line("start", "job", object(&spec, st))
            } else {
                let mut l = line("progress", "shards", json!(st.shards));
                l.pop();
                let mut v: Value = serde_json::from_slice(&l).unwrap_or_default();
                v["items"] = json!(st.items);
                v["reduce"] = json!(st.reduce);
                v["state"] = json!(st.state);
                let mut b = serde_json::to_vec(&v).unwrap_or_default();
                b.push(b'\n');
                b
            };
            let _ = tx.unbounded_send(event);
        };
        let end = match driver::drive(&kv, &runner, &spec.id, deadline, Duration::from_millis(250), progress).await {
            Ok(st) => line("end", "job", object(&spec, &st)),
            Err(e) => line("error", "problem", serde_json::to_value(ApiError::from(e).problem()).unwrap_or_default()),
        };
        let _ = tx.unbounded_send(end);
    };
    let body = futures::stream::select(rx, futures::stream::once(driving).filter_map(|()| std::future::ready(None)));
    Ok(Reply::stream(200, "application/x-ndjson", body.boxed_local()).header("location", &location))
}

/// Sends a unit to `{base}/api/jobs/{id}/units/{unit}`: a fresh instance per unit.
struct HttpRunner {
    base: String,
}

impl Runner for HttpRunner {
    async fn run(&self, job: &str, unit: Unit) -> Result<(), Problem> {
        let mut request = Request::builder();
        request.method(Method::Post).uri(format!("{}/api/jobs/{job}/units/{}", self.base, unit.name()));
        if let Some(authorization) = auth::chain_authorization() {
            request.header("authorization", authorization);
        }
        let response: Response = spin_sdk::http::send(request.body(Vec::new()).build())
            .await
            .map_err(|e| Problem { status: 502, detail: format!("the shard request could not be sent: {e}") })?;
        let status = *response.status();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let detail = serde_json::from_slice::<Value>(response.body())
            .ok()
            .and_then(|p| p.get("detail").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| format!("the shard answered {status} without a problem body"));
        // A trap is an empty 500: retryable, like any server-side failure.
        Err(Problem { status, detail })
    }

    async fn sleep(&self, d: Duration) {
        darkroom_spin::yielding::sleep(d).await
    }
}

pub fn list(req: &Incoming) -> Result<Reply, ApiError> {
    let query = Query::parse(req.query())?;
    let kv = crate::kv()?;
    let (specs, next) = spec::list(&kv, query.limit(20, 100)?, query.cursor())?;
    let now = now_micros();
    let jobs = specs.iter().map(|s| Ok(object(s, &state::status(&kv, s, now)?))).collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Reply::json(200, &json!({"jobs": jobs, "next": next})))
}

pub fn status(id: &str) -> Result<Reply, ApiError> {
    let kv = crate::kv()?;
    let spec = find(&kv, id)?;
    Ok(Reply::json(200, &object(&spec, &state::status(&kv, &spec, now_micros())?)))
}

pub fn delete(id: &str) -> Result<Reply, ApiError> {
    if spec::delete(&crate::kv()?, id)? { Ok(Reply::empty(204)) } else { Err(ApiError::NotFound(format!("no job {id}"))) }
}

pub fn cancel(id: &str) -> Result<Reply, ApiError> {
    let kv = crate::kv()?;
    let spec = find(&kv, id)?;
    engine::cancel(&kv, id, now_micros())?;
    Ok(Reply::json(202, &object(&spec, &state::status(&kv, &spec, now_micros())?)))
}

/// The job's output, streamed as it is read from the store (an `aggregate` with a
/// million groups never sits whole in the instance). An error before the first byte is a
/// problem answer; one after it ends the body early, and the client sees it truncated.
pub fn result(req: &Incoming, id: &str) -> Result<Reply, ApiError> {
    let kv = std::rc::Rc::new(crate::kv()?);
    let spec = find(&kv, id)?;
    let csv = Query::parse(req.query())?.get("format")? == Some("csv");
    let mut pieces = engine::output(kv, &spec, csv)?.ok_or_else(|| ApiError::Conflict(format!("job {id} has no result yet")))?;
    let first = pieces.next().transpose()?.unwrap_or_default();
    let job = spec.id.clone();
    let rest = pieces.map_while(move |piece| piece.inspect_err(|e| eprintln!("job {job}: result cut short: {e}")).ok());
    let body = futures::stream::iter(std::iter::once(first).chain(rest)).boxed_local();
    let content_type = if csv { "text/csv; charset=utf-8" } else { "application/json" };
    Ok(Reply::stream(200, content_type, body))
}

/// Runs one unit in this instance (what the driver's shard requests reach); an image
/// job's step shard calls the step components from here ([`crate::steps::Chained`]).
pub async fn unit(id: &str, unit: &str) -> Result<Reply, ApiError> {
    let unit = Unit::parse(unit).ok_or_else(|| ApiError::NotFound(format!("no unit {unit}")))?;
    let config = crate::config()?;
    let ran = engine::execute_unit_with(&crate::kv()?, id, unit, &crate::steps::Chained, config.kv_chunk_bytes, now_micros()).await?;
    Ok(Reply::json(200, &json!({"unit": unit.name(), "ran": format!("{ran:?}")})))
}
