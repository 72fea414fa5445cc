//! The engine end to end in-process: exact results against independent computations,
//! racing drivers, injected faults, crashes and resume, budgets, cancel, bad requests.

use jobs::testkit as common;

use futures::executor::block_on;
use jobs::driver::{self, Problem, Runner, local::Threads};
use jobs::{Config, Error, JobRequest, State, Unit, dataset, engine, spec, state};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use store::{KeyValue, MemoryKv};

const CHUNK: u32 = 4096;

fn config() -> Config {
    Config {
        // Small, so 7 merchants (estimated: at most 72 groups) span 5 reduce partitions.
        reduce_partition_rows: 15,
        kv_chunk_bytes: CHUNK,
        ..Config::default()
    }
}

fn job_id(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

fn store_dataset(kv: &MemoryKv, bytes: &[u8]) -> dataset::Dataset {
    let limits = dataset::IngestLimits {
        chunk_size: CHUNK,
        stride: 64,
        ..Default::default()
    };
    dataset::ingest(
        kv,
        bytes,
        dataset::Format::Csv,
        "00000000000000000000000000000001",
        &limits,
        1,
    )
    .unwrap()
    .0
}

fn request(task: &str, ds: &str, params: Value, extra: Value) -> JobRequest {
    let mut v = json!({"task": task, "input": {"dataset": ds}, "params": params, "retry": {"interval_ms": 5}});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn agg_params() -> Value {
    json!({"group_by": ["merchant"], "values": {"amount": ["sum", "count", "mean", "min", "max"]}})
}

fn drive<R: Runner>(kv: &MemoryKv, runner: &R, job: &str) -> jobs::JobStatus {
    block_on(driver::drive(
        kv,
        runner,
        job,
        Instant::now() + Duration::from_secs(60),
        Duration::ZERO,
        |_| {},
    ))
    .unwrap()
}

fn threads(kv: &Arc<MemoryKv>) -> Threads<MemoryKv> {
    Threads {
        kv: kv.clone(),
        chunk_size: CHUNK,
    }
}

/// Compares an aggregate result with the independent computation, cent for cent.
fn assert_exact(result: &Value, rows: &[(String, i64)]) {
    let want = common::expected(rows);
    let groups = result["groups"].as_array().unwrap();
    assert_eq!(groups.len(), want.len());
    assert_eq!(result["rows"], json!(rows.len()));
    for (g, (merchant, (count, sum, min, max))) in groups.iter().zip(&want) {
        assert_eq!(g["key"]["merchant"], json!(merchant));
        let a = &g["amount"];
        assert_eq!(a["count"], json!(count));
        assert_eq!(
            common::parse_cents(a["sum"].as_str().unwrap()),
            *sum,
            "{merchant}"
        );
        assert_eq!(
            common::parse_cents(a["min"].as_str().unwrap()),
            i128::from(*min)
        );
        assert_eq!(
            common::parse_cents(a["max"].as_str().unwrap()),
            i128::from(*max)
        );
        let mean: f64 = a["mean"].as_str().unwrap().parse().unwrap();
        let exact = *sum as f64 / 100.0 / *count as f64;
        assert!((mean - exact).abs() <= 1e-9 * exact.abs().max(1.0));
    }
}

#[test]
fn aggregate_is_exact_over_shards_and_partitions() {
    let kv = Arc::new(MemoryKv::new());
    let rows = common::sales(3000, 7);
    let ds = store_dataset(&kv, &common::sales_csv(&rows));
    let spec = spec::create(
        &*kv,
        request(
            "aggregate",
            &ds.id,
            agg_params(),
            json!({"shard_size": 250, "concurrency": 3}),
        ),
        &job_id(1),
        &config(),
        10,
    )
    .unwrap();
    assert_eq!((spec.shards, spec.partitions), (12, 5));
    let st = drive(&kv, &threads(&kv), &spec.id);
    assert_eq!(st.state, State::Succeeded, "{st:?}");
    assert_eq!(
        (st.shards.succeeded, st.items.succeeded, st.items.failed),
        (12, 3000, 0)
    );
    let result = engine::result(&*kv, &spec).unwrap().unwrap();
    assert_exact(&result, &rows);
    // The CSV form carries the same groups, in the same order, with the same sums.
    let pieces = engine::output(&*kv, &spec, true).unwrap().unwrap();
    let csv = pieces.collect::<Result<Vec<_>, _>>().unwrap().concat();
    let mut reader = csv::Reader::from_reader(&csv[..]);
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "merchant",
            "amount_sum",
            "amount_count",
            "amount_mean",
            "amount_min",
            "amount_max"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let groups = result["groups"].as_array().unwrap();
    assert_eq!(records.len(), common::MERCHANTS.len());
    assert_eq!(records.len(), groups.len());
    for (record, group) in records.iter().zip(groups) {
        assert_eq!(record[0], group["key"]["merchant"]);
        assert_eq!(record[1], group["amount"]["sum"]);
        assert_eq!(record[2], group["amount"]["count"].to_string());
    }
}

#[test]
fn matrix_stats_match_a_two_pass_computation() {
    let kv = Arc::new(MemoryKv::new());
    let (data, csv) = common::matrix(2000, 3);
    let ds = store_dataset(&kv, &csv);
    let spec = spec::create(
        &*kv,
        request(
            "matrix_stats",
            &ds.id,
            json!({}),
            json!({"shard_size": 170}),
        ),
        &job_id(2),
        &config(),
        10,
    )
    .unwrap();
    assert_eq!(drive(&kv, &threads(&kv), &spec.id).state, State::Succeeded);
    let r = engine::result(&*kv, &spec).unwrap().unwrap();
    let n = data.len() as f64;
    let close = |a: f64, b: f64, what: &str| {
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1e-12),
            "{what}: {a} vs {b}"
        )
    };
    let mean: Vec<f64> = (0..4)
        .map(|j| data.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let cov = |i: usize, j: usize| {
        data.iter()
            .map(|r| (r[i] - mean[i]) * (r[j] - mean[j]))
            .sum::<f64>()
            / n
    };
    for j in 0..4 {
        close(r["mean"][j].as_f64().unwrap(), mean[j], "mean");
        close(r["std"][j].as_f64().unwrap(), cov(j, j).sqrt(), "std");
        close(
            r["min"][j].as_f64().unwrap(),
            data.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min),
            "min",
        );
        close(
            r["max"][j].as_f64().unwrap(),
            data.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max),
            "max",
        );
        for k in 0..4 {
            close(
                r["correlation"][j][k].as_f64().unwrap(),
                cov(j, k) / (cov(j, j) * cov(k, k)).sqrt(),
                "corr",
            );
        }
    }
    // PCA: each component is a unit eigenvector of the sample covariance, with its value.
    for c in 0..2 {
        let v: Vec<f64> = (0..4)
            .map(|j| r["pca"]["components"][c][j].as_f64().unwrap())
            .collect();
        let lambda = r["pca"]["explained_variance"][c].as_f64().unwrap();
        close(v.iter().map(|x| x * x).sum::<f64>(), 1.0, "unit");
        for i in 0..4 {
            let cv: f64 = (0..4).map(|j| cov(i, j) * n / (n - 1.0) * v[j]).sum();
            assert!((cv - lambda * v[i]).abs() <= 1e-9 * lambda, "eigen {c}");
        }
    }
    let l0 = r["pca"]["explained_variance"][0].as_f64().unwrap();
    let trace: f64 = (0..4).map(|j| cov(j, j) * n / (n - 1.0)).sum();
    assert!(
        l0 > trace / 2.0,
        "the first component carries the a/b variance"
    );
}

#[test]
fn two_drivers_racing_give_the_same_result() {
    let kv = Arc::new(MemoryKv::new());
    let rows = common::sales(2500, 11);
    let ds = store_dataset(&kv, &common::sales_csv(&rows));
    let spec = spec::create(
        &*kv,
        request(
            "aggregate",
            &ds.id,
            agg_params(),
            json!({"shard_size": 100, "concurrency": 4}),
        ),
        &job_id(3),
        &config(),
        10,
    )
    .unwrap();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| drive(&kv, &threads(&kv), &spec.id));
        let b = s.spawn(|| drive(&kv, &threads(&kv), &spec.id));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!((a.state, b.state), (State::Succeeded, State::Succeeded));
    assert_eq!((&a.items, a.shards.succeeded), (&b.items, 25));
    assert_eq!(a.items.succeeded, 2500);
    assert_exact(&engine::result(&*kv, &spec).unwrap().unwrap(), &rows);
}

/// Counts units run and fails the chosen ones (503) while `failing` is set.
struct Flaky<K> {
    inner: Threads<K>,
    fail: Vec<Unit>,
    ran: AtomicUsize,
    stop_after: Option<usize>,
}

impl<K: KeyValue + Send + Sync + 'static> Runner for Flaky<K> {
    async fn run(&self, job: &str, unit: Unit) -> Result<(), Problem> {
        let n = self.ran.fetch_add(1, Ordering::SeqCst);
        if self.stop_after.is_some_and(|s| n >= s) {
            // A driver that died: nothing recorded (409 = stop without a failure record).
            return Err(Problem {
                status: 409,
                detail: "driver gone".into(),
            });
        }
        if self.fail.contains(&unit) {
            return Err(Problem {
                status: 503,
                detail: format!("injected failure of {}", unit.name()),
            });
        }
        self.inner.run(job, unit).await
    }
    async fn sleep(&self, d: Duration) {
        self.inner.sleep(d).await
    }
}

#[test]
fn kv_write_faults_are_retried_to_an_exact_result() {
    let kv = Arc::new(MemoryKv::new());
    let rows = common::sales(1200, 5);
    let ds = store_dataset(&kv, &common::sales_csv(&rows));
    let spec = spec::create(
        &*kv,
        request(
            "aggregate",
            &ds.id,
            agg_params(),
            json!({"shard_size": 300, "concurrency": 1}),
        ),
        &job_id(4),
        &config(),
        10,
    )
    .unwrap();
    // A write a few into the job fails: some shard's output or done record.
    kv.fail_nth_write(kv.writes() + 4);
    let st = drive(&kv, &threads(&kv), &spec.id);
    assert_eq!(st.state, State::Succeeded, "{st:?}");
    assert_exact(&engine::result(&*kv, &spec).unwrap().unwrap(), &rows);
    let failures: Vec<String> = kv
        .keys()
        .into_iter()
        .filter(|k| k.contains("/fail/"))
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let f: Value = serde_json::from_slice(&kv.get(&failures[0]).unwrap().unwrap()).unwrap();
    assert_eq!(f["status"], 503);
    assert!(
        f["detail"].as_str().unwrap().contains("injected fault"),
        "{f}"
    );
}

#[test]
fn an_always_failing_shard_fails_the_job_then_a_redrive_finishes_it() {
    let kv = Arc::new(MemoryKv::new());
    let rows = common::sales(1000, 9);
    let ds = store_dataset(&kv, &common::sales_csv(&rows));
    let spec = spec::create(
        &*kv,
        request(
            "aggregate",
            &ds.id,
            agg_params(),
            json!({"shard_size": 250}),
        ),
        &job_id(5),
        &config(),
        10,
    )
    .unwrap();
    let flaky = Flaky {
        inner: threads(&kv),
        fail: vec![Unit::Map(2)],
        ran: AtomicUsize::new(0),
        stop_after: None,
    };
    let st = drive(&kv, &flaky, &spec.id);
    assert_eq!(st.state, State::Failed, "{st:?}");
    assert_eq!(
        (st.shards.succeeded, st.shards.failed, st.items.failed),
        (3, 1, 250)
    );
    assert_eq!(st.errors.len(), 1);
    assert_eq!(
        (
            st.errors[0].shard,
            st.errors[0].status,
            st.errors[0].attempts
        ),
        (2, 503, 3)
    );
    assert!(st.errors[0].detail.contains("injected failure of m2"));
    assert!(engine::result(&*kv, &spec).unwrap().is_none());
    // `run` without the fault: only the failed shard runs, then the reduce.
    let counting = Flaky {
        inner: threads(&kv),
        fail: vec![],
        ran: AtomicUsize::new(0),
        stop_after: None,
    };
    let st = drive(&kv, &counting, &spec.id);
    assert_eq!(st.state, State::Succeeded, "{st:?}");
    assert_eq!(
        counting.ran.load(Ordering::SeqCst),
        1 + spec.partitions as usize
    );
    assert!(st.errors.is_empty());
    assert_exact(&engine::result(&*kv, &spec).unwrap().unwrap(), &rows);
}

#[test]
fn a_failing_shard_within_tolerance_succeeds_without_its_rows() {
    let kv = Arc::new(MemoryKv::new());
    let rows = common::sales(1000, 9);
    let ds = store_dataset(&kv, &common::sales_csv(&rows));
    let req = request(
        "aggregate",
        &ds.id,
        agg_params(),
        json!({"shard_size": 250, "tolerated_failure_percent": 25, "max_attempts": 2}),
    );
    let spec = spec::create(&*kv, req, &job_id(6), &config(), 10).unwrap();
    let flaky = Flaky {
        inner: threads(&kv),
        fail: vec![Unit::Map(1)],
        ran: AtomicUsize::new(0),
        stop_after: None,
    };
    let st = drive(&kv, &flaky, &spec.id);
    assert_eq!(st.state, State::Succeeded, "{st:?}");
    assert_eq!((st.shards.failed, st.errors[0].attempts), (1, 2));
    let kept: Vec<_> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| !(250..500).contains(i))
        .map(|(_, r)| r.clone())
        .collect();
    assert_exact(&engine::result(&*kv, &spec).unwrap().unwrap(), &kept);
}

#[test]
fn a_crash_mid_job_resumes_with_only_the_missing_shards() {
    let rows = common::sales(2000, 13);
    let csv = common::sales_csv(&rows);
    let extra = json!({"shard_size": 100, "concurrency": 1});
    // Uninterrupted.
    let kv0 = Arc::new(MemoryKv::new());
    let ds = store_dataset(&kv0, &csv);
    let spec0 = spec::create(
        &*kv0,
        request("aggregate", &ds.id, agg_params(), extra.clone()),
        &job_id(7),
        &config(),
        10,
    )
    .unwrap();
    assert_eq!(
        drive(&kv0, &threads(&kv0), &spec0.id).state,
        State::Succeeded
    );
    let whole = engine::result(&*kv0, &spec0).unwrap().unwrap();

    let kv = Arc::new(MemoryKv::new());
    store_dataset(&kv, &csv);
    let spec = spec::create(
        &*kv,
        request("aggregate", &ds.id, agg_params(), extra),
        &job_id(7),
        &config(),
        10,
    )
    .unwrap();
    // The driver dies after 8 of 20 shards...
    let dying = Flaky {
        inner: threads(&kv),
        fail: vec![],
        ran: AtomicUsize::new(0),
        stop_after: Some(8),
    };
    let st = drive(&kv, &dying, &spec.id);
    assert_eq!((st.state, st.shards.succeeded), (State::Running, 8));
    // ...and shard 8's instance died half-way through writing its outputs.
    kv.fail_writes_after(kv.writes() + 2);
    assert!(engine::execute_unit(&*kv, &spec.id, Unit::Map(8), CHUNK, 1).is_err());
    kv.clear_faults();
    assert_eq!(state::status(&*kv, &spec, 1).unwrap().shards.succeeded, 8);
    let resumed = Flaky {
        inner: threads(&kv),
        fail: vec![],
        ran: AtomicUsize::new(0),
        stop_after: None,
    };
    let st = drive(&kv, &resumed, &spec.id);
    assert_eq!(st.state, State::Succeeded);
    assert_eq!(
        resumed.ran.load(Ordering::SeqCst),
        12 + spec.partitions as usize,
        "only the missing shards ran"
    );
    assert_eq!(st.items.succeeded, 2000);
    assert_eq!(engine::result(&*kv, &spec).unwrap().unwrap(), whole);
}

#[test]
fn a_tiny_budget_finishes_over_several_runs_and_cancel_stops_new_units() {
    let kv = Arc::new(MemoryKv::new());
    let rows = common::sales(1000, 17);
    let ds = store_dataset(&kv, &common::sales_csv(&rows));
    let spec = spec::create(
        &*kv,
        request(
            "aggregate",
            &ds.id,
            agg_params(),
            json!({"shard_size": 100, "concurrency": 1}),
        ),
        &job_id(8),
        &config(),
        10,
    )
    .unwrap();
    let mut runs = 0;
    loop {
        runs += 1;
        // The budget ends as soon as one unit has started.
        let st = block_on(driver::drive(
            &*kv,
            &threads(&kv),
            &spec.id,
            Instant::now() + Duration::from_micros(1),
            Duration::ZERO,
            |_| {},
        ))
        .unwrap();
        if st.state == State::Succeeded {
            break;
        }
        assert_eq!(st.state, State::Running);
        assert!(runs < 100, "no progress: {st:?}");
    }
    assert!(runs > 3, "{runs} runs");
    assert_exact(&engine::result(&*kv, &spec).unwrap().unwrap(), &rows);

    let spec = spec::create(
        &*kv,
        request(
            "aggregate",
            &ds.id,
            agg_params(),
            json!({"shard_size": 100}),
        ),
        &job_id(9),
        &config(),
        10,
    )
    .unwrap();
    engine::cancel(&*kv, &spec.id, 20).unwrap();
    let st = drive(&kv, &threads(&kv), &spec.id);
    assert_eq!((st.state, st.shards.succeeded), (State::Cancelled, 0));
    assert!(matches!(
        engine::execute_unit(&*kv, &spec.id, Unit::Map(0), CHUNK, 1),
        Err(Error::Cancelled)
    ));
}

#[test]
fn bad_requests_are_refused_and_write_nothing() {
    let kv = MemoryKv::new();
    let ds = store_dataset(&kv, &common::sales_csv(&common::sales(100, 1)));
    let before = kv.keys();
    let cases = [
        (request("nope", &ds.id, json!({}), json!({})), 422, "task"),
        (
            request(
                "aggregate",
                &ds.id,
                json!({"group_by": "merchant", "values": {}}),
                json!({}),
            ),
            422,
            "params",
        ),
        (
            request(
                "aggregate",
                &ds.id,
                json!({"group_by": ["merchant"], "values": {"amount": ["median"]}}),
                json!({}),
            ),
            422,
            "params",
        ),
        (
            request(
                "aggregate",
                &ds.id,
                json!({"group_by": ["nope"], "values": {"amount": ["sum"]}}),
                json!({}),
            ),
            422,
            "params.group_by",
        ),
        (
            request(
                "aggregate",
                &ds.id,
                json!({"group_by": ["amount"], "values": {"merchant": ["sum"]}}),
                json!({}),
            ),
            422,
            "not a number column",
        ),
        (
            request(
                "aggregate",
                &ds.id,
                json!({"group_by": ["merchant"], "values": {"amount": ["sum"]}, "extra": 1}),
                json!({}),
            ),
            422,
            "params",
        ),
        (
            request(
                "matrix_stats",
                &ds.id,
                json!({"columns": ["merchant"]}),
                json!({}),
            ),
            422,
            "params.columns",
        ),
        (
            request("aggregate", &"0".repeat(64), agg_params(), json!({})),
            404,
            "input.dataset",
        ),
        (
            request("aggregate", &ds.id, agg_params(), json!({"shard_size": 1})),
            422,
            "max_shards",
        ),
        (
            request("aggregate", &ds.id, agg_params(), json!({"concurrency": 0})),
            422,
            "concurrency",
        ),
    ];
    let small = Config {
        max_shards: 50,
        ..config()
    };
    for (n, (req, status, names)) in cases.into_iter().enumerate() {
        let err = spec::create(&kv, req, &job_id(20 + n as u8), &small, 10).unwrap_err();
        assert_eq!(err.status(), status, "case {n}: {err}");
        assert!(err.to_string().contains(names), "case {n}: {err}");
        assert_eq!(kv.keys(), before, "case {n} wrote keys");
    }
}

#[test]
fn retry_delays_follow_step_functions() {
    let p = spec::RetryPolicy::default();
    assert_eq!(
        (p.interval_ms, p.backoff_rate, p.jitter),
        (1000, 2.0, spec::Jitter::Full)
    );
    assert_eq!(p.delay_ms(3, 0.999_999_9), 3999);
    assert_eq!(p.delay_ms(1, 0.0), 0);
    let none = spec::RetryPolicy {
        jitter: spec::Jitter::None,
        ..p
    };
    assert_eq!(
        [
            none.delay_ms(1, 0.5),
            none.delay_ms(2, 0.5),
            none.delay_ms(3, 0.5),
            none.delay_ms(20, 0.5)
        ],
        [1000, 2000, 4000, 60_000]
    );
}

#[test]
fn the_reduce_is_sized_by_the_estimated_groups_not_the_rows() {
    let kv = Arc::new(MemoryKv::new());
    let config = Config {
        reduce_partition_rows: 1000,
        ..config()
    };
    let partitions = |csv: &[u8], n: u8| {
        let ds = store_dataset(&kv, csv);
        spec::create(
            &*kv,
            request("aggregate", &ds.id, agg_params(), json!({})),
            &job_id(n),
            &config,
            10,
        )
        .unwrap()
        .partitions
    };
    // 5,000 rows over 7 merchants: one partition, where the rows alone would ask for 5.
    assert_eq!(
        partitions(&common::sales_csv(&common::sales(5000, 8)), 2),
        1
    );
    // 5,000 rows, each its own merchant: the estimate (within a few percent, plus the
    // margin) asks for about 6.
    let mut csv = b"order_id,merchant,amount\n".to_vec();
    for i in 0..5000 {
        csv.extend(format!("{i},m{i},1.00\n").bytes());
    }
    let many = partitions(&csv, 3);
    assert!(
        (5..=7).contains(&many),
        "{many} partitions for 5,000 groups"
    );
}
