//! `darkroom job run|status|result|list|cancel`.
//!
//! `run` creates the job asking for NDJSON progress (`start`, `progress`…, `end`; an
//! `error` event when driving failed) and moves a progress bar with it. A driving
//! request stops at the server's `job_request_budget_ms`, and a connection can drop: in
//! both cases the job is still stored, so `run` asks `POST /api/jobs/{id}/run` to go on,
//! until the job reaches a terminal state. That is safe to repeat: the server runs only
//! the shards without a stored result.

use crate::Io;
use crate::args::RunArgs;
use crate::client::{Client, NDJSON, json_body};
use crate::error::{Error, Result};
use crate::output;
use indicatif::ProgressBar;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};
use ureq::Body;
use ureq::http::Response;

/// Failed driving requests in a row (no answer, a broken stream, a 5xx) before giving up.
const MAX_FAILURES: u32 = 5;
/// Driving requests in a row that end with no unit finished before giving up.
const MAX_STALLED: u32 = 60;

/// How one driving request ended.
#[derive(Debug)]
pub enum Driven {
    /// An `end` event (or a plain JSON answer): the job as that request left it.
    Ended(Value),
    /// No end: the stream broke off, or the server reported an `error` event.
    Broken(Error),
}

fn is_terminal(job: &Value) -> bool {
    matches!(job["state"].as_str(), Some("succeeded" | "failed" | "cancelled"))
}

/// Units finished (succeeded or failed), map and reduce: what must grow run over run.
fn finished_units(counts: &Value) -> u64 {
    ["shards", "reduce"]
        .iter()
        .map(|k| counts[k]["succeeded"].as_u64().unwrap_or(0) + counts[k]["failed"].as_u64().unwrap_or(0))
        .sum()
}

/// Moves the bar to the counts of a job object or a progress event.
fn show(bar: &ProgressBar, counts: &Value) {
    let total = ["shards", "reduce"].iter().map(|k| counts[k]["total"].as_u64().unwrap_or(0)).sum();
    bar.set_length(total);
    bar.set_position(finished_units(counts));
    let items = &counts["items"];
    bar.set_message(format!(
        "{} · items {}/{}",
        counts["state"].as_str().unwrap_or("running"),
        items["succeeded"].as_u64().unwrap_or(0),
        items["total"].as_u64().unwrap_or(0)
    ));
}

/// Reads a progress stream to its end event; `id` learns the job's id from `start`.
pub fn follow(reader: impl BufRead, url: &str, bar: &ProgressBar, id: &mut Option<String>) -> Driven {
    let broken = |message: String| Driven::Broken(Error::Transport { url: url.to_owned(), message });
    for line in reader.lines() {
        let line = match line {
            Ok(line) => line,
            Err(e) => return broken(format!("the progress stream broke off: {e}")),
        };
        if line.trim().is_empty() {
            continue;
        }
        let event: Value = match serde_json::from_str(&line) {
            Ok(event) => event,
            // A line cut in half by a dropped connection, most likely.
            Err(e) => return broken(format!("the progress stream broke off in a line ({e})")),
        };
        match event["event"].as_str() {
            Some("start") => {
                if id.is_none() {
                    *id = event["job"]["id"].as_str().map(str::to_owned);
                }
                show(bar, &event["job"]);
            }
            Some("progress") => show(bar, &event),
            Some("end") => return Driven::Ended(event["job"].clone()),
            Some("error") => {
                let p = &event["problem"];
                return Driven::Broken(Error::Problem {
                    status: p["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(500),
                    title: p["title"].as_str().unwrap_or("Error").to_owned(),
                    detail: p["detail"].as_str().unwrap_or("driving the job failed").to_owned(),
                });
            }
            // Events this version does not know are someone else's.
            _ => {}
        }
    }
    broken("the progress stream ended before the job's end event".into())
}

/// Follows one driving request's answer: NDJSON events, or one JSON job object.
fn drive(response: Response<Body>, url: &str, bar: &ProgressBar, id: &mut Option<String>) -> Driven {
    if id.is_none() {
        *id = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.strip_prefix("/api/jobs/"))
            .map(str::to_owned);
    }
    let ndjson = response.headers().get("content-type").and_then(|c| c.to_str().ok()).is_some_and(|c| c.starts_with(NDJSON));
    if ndjson {
        return follow(BufReader::new(response.into_body().into_reader()), url, bar, id);
    }
    match json_body(response, url) {
        Ok(job) => {
            show(bar, &job);
            Driven::Ended(job)
        }
        Err(e) => Driven::Broken(e),
    }
}

/// Creates the job and drives it to a terminal state; answers it and the requests used.
pub fn run_to_end(client: &Client, request: &Value, io: &mut Io<'_>) -> Result<(Value, u32)> {
    let bar = output::bar(io.progress, 1, "{spinner} [{bar:30}] {pos}/{len} units {msg} ({elapsed})");
    bar.set_message("creating the job");
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut id = None;
    // Creating it: a failure here leaves nothing to resume.
    let mut next: Result<Response<Body>> = Ok(client.post_json("/api/jobs", request, NDJSON)?);
    let mut url = client.url("/api/jobs");
    let (mut requests, mut failures, mut stalled, mut done) = (1, 0, 0, 0);
    loop {
        let driven = match next {
            Ok(response) => drive(response, &url, &bar, &mut id),
            Err(e) if e.is_transient() => Driven::Broken(e),
            Err(e) => {
                bar.finish_and_clear();
                return Err(e);
            }
        };
        match driven {
            Driven::Ended(job) if is_terminal(&job) => {
                bar.finish_and_clear();
                return Ok((job, requests));
            }
            Driven::Ended(job) => {
                failures = 0;
                let now = finished_units(&job);
                stalled = if now > done { 0 } else { stalled + 1 };
                done = done.max(now);
                if stalled >= MAX_STALLED {
                    bar.finish_and_clear();
                    return Err(Error::Protocol { url, message: format!("the job made no progress in {MAX_STALLED} requests in a row") });
                }
                if stalled > 0 {
                    // Another driver may hold the pending units: give it time.
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
            Driven::Broken(e) => {
                failures += 1;
                if failures > MAX_FAILURES || !e.is_transient() {
                    bar.finish_and_clear();
                    return Err(e);
                }
                bar.suspend(|| writeln!(io.err, "note: {e}; driving the job again")).map_err(Error::Output)?;
                std::thread::sleep(Duration::from_millis(250 << failures.min(5)));
            }
        }
        let Some(id) = id.as_deref() else {
            bar.finish_and_clear();
            return Err(Error::Protocol { url, message: "the answer names no job (no Location, no start event)".into() });
        };
        let path = format!("/api/jobs/{id}/run");
        url = client.url(&path);
        requests += 1;
        next = client.post_json(&path, &json!({}), NDJSON);
    }
}

/// Prints a job's result: pretty JSON, or the CSV the server makes.
fn print_result(client: &Client, id: &str, csv: bool, io: &mut Io<'_>) -> Result<()> {
    let path = format!("/api/jobs/{id}/result");
    if csv {
        let path = format!("{path}?format=csv");
        let mut body = client.get(&path)?.into_body().into_reader();
        std::io::copy(&mut body, io.out).map_err(|e| Error::Transport { url: client.url(&path), message: e.to_string() })?;
    } else {
        let result = client.get_json(&path)?;
        serde_json::to_writer_pretty(&mut *io.out, &result).map_err(std::io::Error::from)?;
        writeln!(io.out)?;
    }
    Ok(())
}

fn job_id(job: &Value) -> &str {
    job["id"].as_str().unwrap_or("?")
}

pub fn run(client: &Client, args: &RunArgs, io: &mut Io<'_>) -> Result<i32> {
    let started = Instant::now();
    let (job, requests) = run_to_end(client, &args.request(), io)?;
    write!(io.out, "{}", output::job(&job))?;
    writeln!(io.out, "driven   {requests} request(s), {:.1} s", started.elapsed().as_secs_f64())?;
    if job["state"] != "succeeded" {
        return Ok(1);
    }
    writeln!(io.out)?;
    print_result(client, job_id(&job), args.csv, io)?;
    Ok(0)
}

pub fn status(client: &Client, id: &str, io: &mut Io<'_>) -> Result<i32> {
    let job = client.get_json(&format!("/api/jobs/{id}"))?;
    write!(io.out, "{}", output::job(&job))?;
    Ok(0)
}

pub fn result(client: &Client, id: &str, csv: bool, io: &mut Io<'_>) -> Result<i32> {
    print_result(client, id, csv, io)?;
    Ok(0)
}

pub fn cancel(client: &Client, id: &str, io: &mut Io<'_>) -> Result<i32> {
    let response = client.post_json(&format!("/api/jobs/{id}/cancel"), &json!({}), "application/json")?;
    let job = json_body(response, &client.url(&format!("/api/jobs/{id}/cancel")))?;
    write!(io.out, "{}", output::job(&job))?;
    Ok(0)
}

pub fn list(client: &Client, limit: u32, cursor: Option<&str>, io: &mut Io<'_>) -> Result<i32> {
    let mut path = format!("/api/jobs?limit={limit}");
    if let Some(cursor) = cursor {
        path.push_str("&cursor=");
        path.extend(form_urlencoded::byte_serialize(cursor.as_bytes()));
    }
    let listing = client.get_json(&path)?;
    let jobs = listing["jobs"].as_array().cloned().unwrap_or_default();
    let count = |c: &Value| format!("{}/{}", c["succeeded"].as_u64().unwrap_or(0), c["total"].as_u64().unwrap_or(0));
    let rows = jobs.iter().map(|j| {
        let text = |k: &str| j[k].as_str().unwrap_or("").to_owned();
        vec![text("id"), text("task"), text("state"), count(&j["shards"]), count(&j["items"]), text("created")]
    });
    write!(io.out, "{}", output::table(&["id", "task", "state", "shards", "items", "created"], rows))?;
    if let Some(next) = listing["next"].as_str() {
        writeln!(io.out, "more: darkroom job list --cursor {next}")?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(events: &[Value]) -> String {
        events.iter().map(|e| format!("{e}\n")).collect()
    }

    fn job(state: &str, done: u64) -> Value {
        json!({"id": "j1", "state": state, "shards": {"total": 4, "succeeded": done, "failed": 0},
               "reduce": {"total": 1, "succeeded": 0, "failed": 0}, "items": {"total": 40, "succeeded": done * 10}})
    }

    #[test]
    fn a_whole_stream_ends_with_the_end_events_job_and_names_the_job() {
        let text = lines(&[
            json!({"event": "start", "job": job("running", 0)}),
            json!({"event": "progress", "shards": {"total": 4, "succeeded": 2, "failed": 0}, "reduce": {"total": 1}, "items": {"total": 40, "succeeded": 20}, "state": "running"}),
            json!({"event": "end", "job": job("succeeded", 4)}),
        ]);
        let bar = ProgressBar::hidden();
        let mut id = None;
        match follow(text.as_bytes(), "u", &bar, &mut id) {
            Driven::Ended(j) => assert_eq!(j["state"], "succeeded"),
            other => panic!("{other:?}"),
        }
        assert_eq!(id.as_deref(), Some("j1"));
        assert_eq!((bar.position(), bar.length()), (2, Some(5)));
    }

    #[test]
    fn a_stream_cut_off_is_broken_and_worth_another_run() {
        let mut text = lines(&[json!({"event": "start", "job": job("running", 0)})]);
        text.push_str(r#"{"event": "progr"#);
        let mut id = None;
        match follow(text.as_bytes(), "u", &ProgressBar::hidden(), &mut id) {
            Driven::Broken(e) => assert!(e.is_transient(), "{e}"),
            other => panic!("{other:?}"),
        }
        let text = lines(&[json!({"event": "start", "job": job("running", 0)})]);
        assert!(matches!(follow(text.as_bytes(), "u", &ProgressBar::hidden(), &mut None), Driven::Broken(_)));
    }

    #[test]
    fn an_error_event_carries_the_problem() {
        let text = lines(&[json!({"event": "error", "problem": {"status": 503, "title": "Service Unavailable", "detail": "kv down"}})]);
        match follow(text.as_bytes(), "u", &ProgressBar::hidden(), &mut None) {
            Driven::Broken(e) => assert_eq!(e.to_string(), "Service Unavailable: kv down (HTTP 503)"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn progress_counts_map_and_reduce_units() {
        assert_eq!(finished_units(&json!({"shards": {"succeeded": 3, "failed": 1}, "reduce": {"succeeded": 2}})), 6);
        assert!(is_terminal(&job("failed", 1)) && !is_terminal(&job("running", 1)) && !is_terminal(&json!({})));
    }
}
