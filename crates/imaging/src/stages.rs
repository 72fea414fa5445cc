//! Wall time per stage of one request's image work (header, decode, resize, encode...),
//! for the `Server-Timing` response header and the per-request breakdown bench
//! (`docs/performance.md`). `std::time::Instant` is WASI's monotonic clock in a
//! component, so the same code times itself natively and in wasm.

use std::time::{Duration, Instant};

/// Stages in the order they ran; each lasts from the previous mark to its own.
#[derive(Debug, Clone)]
pub struct Stages {
    last: Instant,
    entries: Vec<(&'static str, Duration)>,
}

impl Default for Stages {
    fn default() -> Self {
        Self::start()
    }
}

impl Stages {
    /// Starts the clock for the first stage.
    pub fn start() -> Self {
        Self {
            last: Instant::now(),
            entries: Vec::new(),
        }
    }

    /// Ends the current stage, naming it, and starts the next.
    pub fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.entries.push((name, now - self.last));
        self.last = now;
    }

    /// The stages so far.
    pub fn entries(&self) -> &[(&'static str, Duration)] {
        &self.entries
    }

    /// The `Server-Timing` header value (W3C Server Timing): `name;dur=MS, ...`, with
    /// milliseconds to the microsecond.
    ///
    /// ```
    /// let mut s = imaging::Stages::start();
    /// s.mark("decode");
    /// assert!(s.server_timing().starts_with("decode;dur="));
    /// ```
    pub fn server_timing(&self) -> String {
        self.entries
            .iter()
            .map(|(name, d)| format!("{name};dur={:.3}", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
