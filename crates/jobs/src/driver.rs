//! Driving a job: run every unit without a result, at most `concurrency` at a time,
//! retrying with Step Functions' backoff, recording each failed attempt, until the
//! time budget runs out. Which units run and whether the reduce may start are decided
//! from the store (`state::status`), so a driver that dies loses nothing and two
//! drivers of one job only repeat deterministic work.
//!
//! How a unit runs is the [`Runner`]'s business: over HTTP to its own instance in the
//! component, on a thread in native tests ([`local::Threads`]).

use crate::spec::{self, JobSpec, Unit};
use crate::state::{self, Failure, JobStatus, Mark};
use crate::{Error, Result, keys};
use futures::StreamExt;
use std::future::Future;
use std::time::{Duration, Instant};
use store::KeyValue;

/// Why a unit's run failed, as its answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub detail: String,
}

impl From<&Error> for Problem {
    fn from(e: &Error) -> Self {
        Problem {
            status: e.status(),
            detail: e.to_string(),
        }
    }
}

/// Runs units somewhere and waits.
pub trait Runner {
    /// Runs `unit` of `job` to its commit (or failure).
    fn run(&self, job: &str, unit: Unit) -> impl Future<Output = std::result::Result<(), Problem>>;
    /// Waits `d` (between attempts).
    fn sleep(&self, d: Duration) -> impl Future<Output = ()>;
}

/// Wall-clock microseconds (records carry them; budgets use `Instant`).
pub fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Drives job `job` until it ends or `deadline` passes; `progress` sees the status
/// read from the store at start, after units finish (at most every `every`) and at the
/// end. Answers the final status, read from the store.
pub async fn drive<K: KeyValue, R: Runner>(
    kv: &K,
    runner: &R,
    job: &str,
    deadline: Instant,
    every: Duration,
    mut progress: impl FnMut(&JobStatus),
) -> Result<JobStatus> {
    let spec = spec::get(kv, job)?.ok_or_else(|| Error::NotFound(format!("no job {job}")))?;
    let mut last = Instant::now();
    let st = state::status(kv, &spec, now_micros())?;
    progress(&st);
    // At least one wave of units starts per drive, however small the budget, so
    // repeated `run`s always make progress.
    let started = std::cell::Cell::new(0usize);
    let wave = spec.concurrency.max(1) as usize;
    let may_start = || Instant::now() < deadline || started.get() < wave;
    for phase in [Phase::Map, Phase::Reduce] {
        let st = state::status(kv, &spec, now_micros())?;
        // A failed job is driven again: its failed units get new attempts (redrive).
        if matches!(st.state, state::State::Succeeded | state::State::Cancelled) || !may_start() {
            return Ok(st);
        }
        if phase == Phase::Reduce && (!st.map_settled || st.state == state::State::Failed) {
            return Ok(st);
        }
        let units: Vec<Unit> = match phase {
            Phase::Map => spec.map_units().collect(),
            Phase::Reduce => spec.reduce_units().collect(),
        };
        let mut todo = Vec::new();
        for unit in units {
            if !kv.exists(&keys::unit_done(job, &unit.name())?)? {
                todo.push(unit);
            }
        }
        let mut running = futures::stream::iter(todo)
            .map(|unit| run_unit(kv, runner, &spec, unit, &may_start, &started))
            .buffer_unordered(wave);
        while running.next().await.is_some() {
            if last.elapsed() >= every {
                last = Instant::now();
                progress(&state::status(kv, &spec, now_micros())?);
            }
        }
    }
    state::status(kv, &spec, now_micros())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Map,
    Reduce,
}

/// Runs one unit with retries. Every failed attempt leaves a failure record (numbered
/// after those already stored); a client error is fatal at once, a cancel or a
/// not-ready answer stops without one. Store errors while recording are not fatal to
/// the driver: the next status read sees what was stored.
async fn run_unit<K: KeyValue, R: Runner>(
    kv: &K,
    runner: &R,
    spec: &JobSpec,
    unit: Unit,
    may_start: &impl Fn() -> bool,
    started: &std::cell::Cell<usize>,
) {
    let job = spec.id.as_str();
    let name = unit.name();
    let Ok(mut numbered) = state::failure_count(kv, job, unit) else {
        return;
    };
    let mut rng = Jitter::new(now_micros() ^ (u64::from(numbered) << 32) ^ hash(&name));
    for attempt in 1..=spec.max_attempts {
        if !may_start() || state::is_cancelled(kv, job).unwrap_or(true) {
            return;
        }
        if kv
            .exists(&keys::unit_done(job, &name).unwrap_or_default())
            .unwrap_or(false)
        {
            return;
        }
        started.set(started.get() + 1);
        if let Ok(key) = keys::unit_start(job, &name) {
            let _ = kv.set(
                &key,
                &serde_json::to_vec(&Mark { at: now_micros() }).expect("serialises"),
            );
        }
        let problem = match runner.run(job, unit).await {
            Ok(()) => return,
            Err(p) => p,
        };
        if problem.status == 409 {
            return;
        }
        let fatal = problem.status < 500;
        numbered += 1;
        let failure = Failure {
            status: problem.status,
            detail: problem.detail,
            fatal,
            at: now_micros(),
        };
        if let Ok(key) = keys::unit_failure(job, &name, numbered) {
            let _ = kv.set(&key, &serde_json::to_vec(&failure).expect("serialises"));
        }
        if fatal || attempt == spec.max_attempts {
            return;
        }
        if !may_start() {
            return;
        }
        runner
            .sleep(Duration::from_millis(
                spec.retry.delay_ms(attempt, rng.unit()),
            ))
            .await;
    }
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// xorshift64*: the jitter draw needs no cryptographic randomness, only spread.
struct Jitter(u64);

impl Jitter {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runners for native use: units on threads over a shared store.
pub mod local {
    use super::*;
    use std::sync::Arc;

    /// Runs each unit on its own thread against `kv` (as each shard request gets its
    /// own instance in Spin).
    pub struct Threads<K> {
        pub kv: Arc<K>,
        pub chunk_size: u32,
    }

    impl<K: KeyValue + Send + Sync + 'static> Runner for Threads<K> {
        fn run(
            &self,
            job: &str,
            unit: Unit,
        ) -> impl Future<Output = std::result::Result<(), Problem>> {
            let (tx, rx) = futures::channel::oneshot::channel();
            let (kv, job, chunk_size) = (self.kv.clone(), job.to_owned(), self.chunk_size);
            std::thread::spawn(move || {
                let result =
                    crate::engine::execute_unit(&*kv, &job, unit, chunk_size, now_micros());
                let _ = tx.send(result.map(|_| ()).map_err(|e| Problem::from(&e)));
            });
            async move {
                rx.await.unwrap_or_else(|_| {
                    Err(Problem {
                        status: 500,
                        detail: "the unit's thread panicked".into(),
                    })
                })
            }
        }

        fn sleep(&self, d: Duration) -> impl Future<Output = ()> {
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            std::thread::spawn(move || {
                std::thread::sleep(d);
                let _ = tx.send(());
            });
            async move {
                let _ = rx.await;
            }
        }
    }
}
