//! darkroom's batch jobs, with no Spin dependency so they are tested natively: datasets
//! (CSV/NDJSON stored in chunks with a row-offset index), a task catalog, and an engine
//! that fans a job out in units (map shards, reduce partitions) whose results are
//! written once each, with status always computed from what is stored.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | [`Config`]: the Spin variables of the jobs capability |
//! | [`keys`] | the key layout of datasets and jobs |
//! | [`chunked`] | values over the KV's size cap; streaming chunk writer and range reader |
//! | [`dataset`] | ingest (streaming validation), records, row-range reads |
//! | [`tasks`] | the catalog, `aggregate`, `matrix_stats` |
//! | [`images`] | image tasks: the frozen image list, steps, `dedupe`, `cluster` |
//! | [`spec`] | job requests, validation, the spec written once, units |
//! | [`state`] | per-unit records and the status read from them |
//! | [`engine`] | running one unit; the result; cancel |
//! | [`driver`] | the [`Runner`](driver::Runner) trait, retries, bounded concurrency, budget |
//! | [`error`] | [`Error`] |

pub mod chunked;
pub mod config;
pub mod dataset;
pub mod driver;
pub mod engine;
pub mod error;
pub mod images;
pub mod keys;
pub mod spec;
pub mod state;
pub mod tasks;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::Config;
pub use error::{Error, Result};
pub use spec::{JobRequest, JobSpec, Unit};
pub use state::{JobStatus, State};
