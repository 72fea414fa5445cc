//! Image jobs through the engine in-process: the frozen image list, step shards with
//! per-item failures and retried shard failures, tolerance, dedupe and cluster over
//! stored vectors, and bad requests that write nothing.

use jobs::testkit::{near, random_unit, store_images, store_vector};

use futures::executor::block_on;
use jobs::driver::{self, Problem, Runner};
use jobs::images::{Step, Steps};
use jobs::{Config, Error, JobRequest, State, Unit, engine, spec};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use store::{KeyValue, MemoryKv};

const CHUNK: u32 = 4096;

fn config() -> Config {
    Config {
        kv_chunk_bytes: CHUNK,
        ..Config::default()
    }
}

fn job_id(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

fn request(task: &str, images: Value, params: Value, extra: Value) -> JobRequest {
    let mut v = json!({"task": task, "input": {"images": images}, "params": params, "retry": {"interval_ms": 1}});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

/// A step that records every call, refuses the ids in `refuse` (415) and answers 503 to
/// the first call for each id in `flaky`.
#[derive(Default)]
struct FakeSteps {
    refuse: HashSet<String>,
    flaky: Mutex<HashSet<String>>,
    calls: Mutex<Vec<(Step, String)>>,
}

impl Steps for FakeSteps {
    async fn apply(&self, step: &Step, id: &str) -> Result<(), Problem> {
        self.calls
            .lock()
            .unwrap()
            .push((step.clone(), id.to_owned()));
        if self.refuse.contains(id) {
            return Err(Problem {
                status: 415,
                detail: format!("not an image this step takes: {id}"),
            });
        }
        if self.flaky.lock().unwrap().remove(id) {
            return Err(Problem {
                status: 503,
                detail: "the step is busy".into(),
            });
        }
        Ok(())
    }
}

/// Runs each unit inline with `steps` (as the jobs component's unit route does).
struct Inline<'a> {
    kv: &'a MemoryKv,
    steps: &'a FakeSteps,
}

impl Runner for Inline<'_> {
    async fn run(&self, job: &str, unit: Unit) -> Result<(), Problem> {
        engine::execute_unit_with(self.kv, job, unit, self.steps, CHUNK, driver::now_micros())
            .await
            .map(drop)
            .map_err(|e| Problem::from(&e))
    }
    async fn sleep(&self, _: Duration) {}
}

/// Creates job `job_id(n)` from `request`'s arguments (what these tests check is the run).
fn create(kv: &MemoryKv, n: u8, task: &str, images: Value, params: Value, extra: Value) -> String {
    let job = job_id(n);
    spec::create(kv, request(task, images, params, extra), &job, &config(), 1).unwrap();
    job
}

fn drive(kv: &MemoryKv, steps: &FakeSteps, job: &str) -> jobs::JobStatus {
    let runner = Inline { kv, steps };
    block_on(driver::drive(
        kv,
        &runner,
        job,
        Instant::now() + Duration::from_secs(60),
        Duration::ZERO,
        |_| {},
    ))
    .unwrap()
}

fn result(kv: &MemoryKv, job: &str) -> Value {
    engine::result(kv, &spec::get(kv, job).unwrap().unwrap())
        .unwrap()
        .expect("a result")
}

#[test]
fn a_step_job_calls_every_image_records_refusals_and_retries_failed_shards() {
    let kv = MemoryKv::new();
    let ids = store_images(&kv, 21, 0);
    let mut sorted = ids.clone();
    sorted.sort();
    let steps = FakeSteps {
        refuse: [sorted[4].clone()].into(),
        flaky: Mutex::new([sorted[17].clone()].into()),
        ..Default::default()
    };
    let job = job_id(1);
    let req = request(
        "variant",
        json!("all"),
        json!({"preset": "clarendon"}),
        json!({"shard_size": 5, "tolerated_failure_percent": 10}),
    );
    let created = spec::create(&kv, req, &job, &config(), 1).unwrap();
    assert_eq!(
        (created.rows, created.shards, created.images),
        (21, 5, true)
    );
    assert_eq!(created.input(), json!({"images": 21}));

    let st = drive(&kv, &steps, &job);
    assert_eq!(st.state, State::Succeeded, "{st:?}");
    assert_eq!(
        (st.items.total, st.items.succeeded, st.items.failed),
        (21, 20, 1)
    );
    assert_eq!(st.shards.succeeded, 5);
    // The refusal is in the status with its image and detail.
    let item_errors: Vec<_> = st.errors.iter().filter(|e| e.item.is_some()).collect();
    assert_eq!(item_errors.len(), 1, "{:?}", st.errors);
    assert_eq!(
        (item_errors[0].item.as_deref(), item_errors[0].status),
        (Some(sorted[4].as_str()), 415)
    );
    assert!(item_errors[0].detail.contains("not an image"));

    // Every image was called with the step; the flaky shard's images again on its retry.
    let calls = steps.calls.lock().unwrap().clone();
    let called: HashSet<&str> = calls.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(called.len(), 21);
    assert!(calls.iter().all(|(s, _)| *s
        == Step::Variant {
            preset: "clarendon".into()
        }));
    assert_eq!(calls.iter().filter(|(_, id)| *id == sorted[17]).count(), 2);
    assert_eq!(calls.iter().filter(|(_, id)| *id == sorted[0]).count(), 1);

    let out = result(&kv, &job);
    assert_eq!(out["images"], 21);
    assert_eq!(out["succeeded"], 20);
    assert_eq!(out["failed"].as_array().unwrap().len(), 1);
    assert_eq!(out["failed"][0]["id"], json!(sorted[4]));
    assert_eq!(out["failed"][0]["status"], 415);

    // Running it again does nothing: every unit has its result.
    let before = steps.calls.lock().unwrap().len();
    assert_eq!(drive(&kv, &steps, &job).state, State::Succeeded);
    assert_eq!(steps.calls.lock().unwrap().len(), before);
}

#[test]
fn refusals_over_the_tolerance_fail_the_job_and_a_shard_that_keeps_failing_lists_its_images() {
    let kv = MemoryKv::new();
    let ids = store_images(&kv, 6, 0);
    let steps = FakeSteps {
        refuse: [ids[1].clone()].into(),
        ..Default::default()
    };
    let job = create(
        &kv,
        2,
        "vectorize",
        json!(ids),
        json!({}),
        json!({"shard_size": 2}),
    );
    let st = drive(&kv, &steps, &job);
    assert_eq!(st.state, State::Failed);
    assert_eq!((st.items.succeeded, st.items.failed), (5, 1));
    assert!(
        engine::result(&kv, &spec::get(&kv, &job).unwrap().unwrap())
            .unwrap()
            .is_none()
    );

    // A step that is always down fails its shard after max_attempts; within the
    // tolerance the job succeeds and lists that shard's images as failed.
    let down = FakeSteps::default();
    struct Down<'a>(&'a FakeSteps, &'a str);
    impl Steps for Down<'_> {
        async fn apply(&self, step: &Step, id: &str) -> Result<(), Problem> {
            if id == self.1 {
                return Err(Problem {
                    status: 502,
                    detail: "the vectorize step could not be reached".into(),
                });
            }
            self.0.apply(step, id).await
        }
    }
    let job = create(
        &kv,
        3,
        "vectorize",
        json!(ids),
        json!({}),
        json!({"shard_size": 2, "tolerated_failure_percent": 40, "max_attempts": 2}),
    );
    let steps = Down(&down, &ids[5]);
    struct Inline2<'a>(&'a MemoryKv, &'a Down<'a>);
    impl Runner for Inline2<'_> {
        async fn run(&self, job: &str, unit: Unit) -> Result<(), Problem> {
            engine::execute_unit_with(self.0, job, unit, self.1, CHUNK, 1)
                .await
                .map(drop)
                .map_err(|e| Problem::from(&e))
        }
        async fn sleep(&self, _: Duration) {}
    }
    let st = block_on(driver::drive(
        &kv,
        &Inline2(&kv, &steps),
        &job,
        Instant::now() + Duration::from_secs(60),
        Duration::ZERO,
        |_| {},
    ))
    .unwrap();
    assert_eq!(st.state, State::Succeeded, "{st:?}");
    assert_eq!((st.shards.succeeded, st.shards.failed), (2, 1));
    assert_eq!((st.items.succeeded, st.items.failed), (4, 2));
    let out = result(&kv, &job);
    assert_eq!(out["succeeded"], 4);
    let failed: Vec<&str> = out["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec![ids[4].as_str(), ids[5].as_str()]);
    assert_eq!(out["failed"][1]["status"], 502);
}

#[test]
fn dedupe_finds_the_near_duplicate_groups_over_shards() {
    let kv = MemoryKv::new();
    let ids = store_images(&kv, 40, 0);
    // Groups {0, 10, 20} and {5, 33}; image 7 has no vector; the rest are distinct.
    let centre = |i: usize| match i {
        10 | 20 => 0,
        33 => 5,
        i => i,
    };
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| *i != 7) {
        store_vector(
            &kv,
            id,
            &near(&random_unit(centre(i) as u64), 0.1, i as u64),
        );
    }
    let job = create(
        &kv,
        4,
        "dedupe",
        json!(ids),
        json!({"threshold": 0.9}),
        json!({"shard_size": 6, "tolerated_failure_percent": 5}),
    );
    let st = drive(&kv, &FakeSteps::default(), &job);
    assert_eq!(st.state, State::Succeeded, "{st:?}");
    assert_eq!((st.items.succeeded, st.items.failed), (39, 1));
    let out = result(&kv, &job);
    let group = |members: &[usize]| {
        let mut g: Vec<&str> = members.iter().map(|&i| ids[i].as_str()).collect();
        g.sort();
        g
    };
    let mut want = vec![group(&[0, 10, 20]), group(&[5, 33])];
    want.sort();
    assert_eq!(out["groups"], json!(want));
    assert_eq!(out["failed"][0]["id"], json!(ids[7]));
    assert_eq!(out["failed"][0]["status"], 422);

    // The same images in another order and other shards: the same groups.
    let mut reversed = ids.clone();
    reversed.reverse();
    let again = create(
        &kv,
        5,
        "dedupe",
        json!(reversed),
        json!({"threshold": 0.9}),
        json!({"shard_size": 11, "tolerated_failure_percent": 5}),
    );
    drive(&kv, &FakeSteps::default(), &again);
    assert_eq!(result(&kv, &again)["groups"], out["groups"]);
}

#[test]
fn cluster_separates_synthetic_groups_deterministically() {
    let kv = MemoryKv::new();
    let ids = store_images(&kv, 30, 0);
    for (i, id) in ids.iter().enumerate() {
        store_vector(
            &kv,
            id,
            &near(&random_unit(500 + (i % 3) as u64), 0.3, i as u64),
        );
    }
    let job = create(
        &kv,
        6,
        "cluster",
        json!(ids),
        json!({"k": 3}),
        json!({"shard_size": 7}),
    );
    assert_eq!(
        drive(&kv, &FakeSteps::default(), &job).state,
        State::Succeeded
    );
    let out = result(&kv, &job);
    let clusters = out["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 3);
    for c in clusters {
        let members: Vec<&str> = c["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(members.len(), 10);
        let group = ids.iter().position(|id| id == members[0]).unwrap() % 3;
        assert!(
            members
                .iter()
                .all(|m| ids.iter().position(|id| id == m).unwrap() % 3 == group)
        );
        assert!(members.contains(&c["centroid_id"].as_str().unwrap()));
    }
    let again = create(
        &kv,
        7,
        "cluster",
        json!(ids),
        json!({"k": 3}),
        json!({"shard_size": 4}),
    );
    drive(&kv, &FakeSteps::default(), &again);
    assert_eq!(result(&kv, &again), out);
}

#[test]
fn bad_image_requests_are_refused_and_write_nothing() {
    let kv = MemoryKv::new();
    let ids = store_images(&kv, 4, 0);
    let keys = |kv: &MemoryKv| {
        let mut k = kv.get_keys().unwrap();
        k.sort();
        k
    };
    let before = keys(&kv);
    let unknown = "e".repeat(64);
    let refuse = |req: JobRequest| spec::create(&kv, req, &job_id(9), &config(), 1).unwrap_err();
    let cases: Vec<(JobRequest, u16, &str)> = vec![
        (
            request(
                "variant",
                json!([ids[0], unknown]),
                json!({"preset": "clarendon"}),
                json!({}),
            ),
            404,
            "input.images[1]",
        ),
        (
            request(
                "variant",
                json!("every"),
                json!({"preset": "clarendon"}),
                json!({}),
            ),
            422,
            "input.images",
        ),
        (
            request("variant", json!(ids), json!({}), json!({})),
            422,
            "params.preset",
        ),
        (
            request("cluster", json!(ids), json!({"k": 5}), json!({})),
            422,
            "params.k",
        ),
        (
            request(
                "dedupe",
                json!(ids),
                json!({"threshold": "high"}),
                json!({}),
            ),
            422,
            "params.threshold",
        ),
        (
            request("vectorize", json!(ids), json!({}), json!({"shard_size": 0})),
            422,
            "shard_size",
        ),
        (
            serde_json::from_value(json!({"task": "aggregate", "input": {"images": "all"}}))
                .unwrap(),
            422,
            "input",
        ),
        (
            serde_json::from_value(json!({"task": "vectorize", "input": {"dataset": "a"}}))
                .unwrap(),
            422,
            "input",
        ),
    ];
    for (req, status, names) in cases {
        let e = refuse(req);
        assert_eq!(e.status(), status, "{e}");
        assert!(e.to_string().starts_with(names), "{e}");
    }
    let small = Config {
        max_cluster_images: 3,
        max_job_images: 10,
        ..config()
    };
    let e = spec::create(
        &kv,
        request("cluster", json!(ids), json!({"k": 2}), json!({})),
        &job_id(9),
        &small,
        1,
    )
    .unwrap_err();
    assert!(matches!(e, Error::TooLarge(_)), "{e}");
    let tiny = Config {
        max_job_images: 3,
        ..config()
    };
    let e = spec::create(
        &kv,
        request("vectorize", json!("all"), json!({}), json!({})),
        &job_id(9),
        &tiny,
        1,
    )
    .unwrap_err();
    assert!(matches!(e, Error::TooLarge(_)), "{e}");
    // A check from the component refuses before anything is resolved or written.
    let check = |_: &jobs::images::ImageTask| {
        Err(Error::Invalid("params.query: w: must be positive".into()))
    };
    let e = spec::create_with(
        &kv,
        request("render", json!(ids), json!({"query": "w=0"}), json!({})),
        &job_id(9),
        &config(),
        1,
        &check,
    )
    .unwrap_err();
    assert_eq!(e.status(), 422);
    assert_eq!(keys(&kv), before, "a refused request wrote something");
}
