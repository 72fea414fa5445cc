//! darkroom's end-to-end suite: black-box HTTP tests against a base URL.
//!
//! - [`target`]: where the app runs. With `BASE_URL` set, the suite talks to that server
//!   (`spin up`, `./run.sh`, a deployment); otherwise it starts the test host
//!   (`darkroom-host`) in-process on a free loopback port with a fresh state directory.
//! - [`client`]: a blocking HTTP client whose replies keep status, headers and body,
//!   whatever the status.
//! - [`fixtures`]: images generated in the tests (never downloaded), multipart bodies,
//!   crafted over-limit headers.
//! - [`expect`]: the API contract (`shared/API.md`) as assertions.
//! - [`hostile`]: the hostile corpus (truncated, corrupt, over-limit, polyglot inputs).
//! - [`kvcheck`]: reads the host's key-value store (its SQLite file, or its Redis
//!   database) and checks no blob is partial.
//! - [`runtime_config`]: `DARKROOM_E2E_RUNTIME_CONFIG`, the suite on Redis: a runtime
//!   config per host, each with a Redis database of its own.
//! - [`parallel`]: many requests at once on a thread pool; the whole listing paged.
//! - [`replicas`]: the replica stack (`scripts/replicas.sh`, `DARKROOM_REPLICAS`): two
//!   host processes on one Redis behind haproxy.
//! - [`rawhttp`]: requests `ureq` will not send (chunked bodies the server cuts short).
//!
//! ```no_run
//! use darkroom_e2e::{app, fixtures};
//!
//! let photo = fixtures::photo(64, 48, fixtures::seed(1));
//! let reply = app().post("/api/images", &fixtures::jpeg(&photo, 85), "image/jpeg");
//! assert_eq!(reply.status, 201, "{reply}");
//! ```
//!
//! Run it: `cargo test --release -p darkroom-e2e` (host in-process, SQLite),
//! `DARKROOM_E2E_RUNTIME_CONFIG=runtime-config/redis.toml cargo test --release -p darkroom-e2e`
//! (host in-process, key-value on that Redis), or
//! `BASE_URL=http://127.0.0.1:3000 cargo test --release -p darkroom-e2e` against a
//! running darkroom.

pub mod client;
pub mod expect;
pub mod fixtures;
pub mod hostile;
pub mod kvcheck;
pub mod parallel;
pub mod rawhttp;
pub mod replicas;
pub mod runtime_config;
pub mod target;

pub use client::{Client, Reply};
pub use target::{App, Host, HostOptions, app, dedicated_host};
