//! Per-request memory accounting and the `--max-instance-memory` cap.
//!
//! Wasmtime asks the store's [`ResourceLimiter`] before creating or growing a
//! linear memory, so the limiter sees every byte of linear memory the instance
//! ever had: the running total's maximum is the request's peak. The cap is per
//! linear memory, like Spin's (`StoreLimits::memory_size`): growth beyond it
//! fails, `memory.grow` returns -1, and the guest's allocator reports OOM
//! (usually a trap, i.e. a 500).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::ResourceLimiter;

/// A shared, readable-from-outside-the-store peak counter.
#[derive(Debug, Clone, Default)]
pub struct PeakMemory(Arc<AtomicUsize>);

impl PeakMemory {
    /// The highest total linear memory size seen so far, in bytes.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// The [`ResourceLimiter`] of one request's store.
#[derive(Debug)]
pub struct MemoryLimiter {
    cap: Option<usize>,
    total: usize,
    peak: PeakMemory,
}

impl MemoryLimiter {
    pub fn new(cap: Option<usize>) -> Self {
        Self {
            cap,
            total: 0,
            peak: PeakMemory::default(),
        }
    }

    pub fn peak(&self) -> PeakMemory {
        self.peak.clone()
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if self.cap.is_some_and(|cap| desired > cap) || maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        self.total += desired.saturating_sub(current);
        self.peak.0.fetch_max(self.total, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}
