//! Cooperative yields under Spin's executor.
//!
//! `spin_executor::run` polls the handler with a waker that does nothing and, when the
//! handler is pending, waits on the WASI pollables registered so far; it panics (the
//! instance traps) when there are none. A future that yields by waking itself and
//! returning `Pending` (futures' `FuturesUnordered` does after polling many children; a
//! channel woken by its own sender does too) therefore traps at random. [`Cooperative`]
//! notices a wake during the poll and registers an already-ready pollable, so the
//! executor simply polls again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// Wraps a handler future; see the module doc.
pub struct Cooperative<F> {
    inner: Pin<Box<F>>,
    woken: Arc<Woken>,
}

struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl<F: Future> Cooperative<F> {
    pub fn new(inner: F) -> Self {
        Self { inner: Box::pin(inner), woken: Arc::new(Woken(AtomicBool::new(false))) }
    }
}

impl<F: Future> Future for Cooperative<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.woken.0.store(false, Ordering::SeqCst);
        let waker = Waker::from(self.woken.clone());
        match self.inner.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(out) => Poll::Ready(out),
            Poll::Pending => {
                if self.woken.0.load(Ordering::SeqCst) {
                    // Ready at once: the executor polls again instead of finding nothing to wait on.
                    let now = wasi::clocks::monotonic_clock::subscribe_duration(0);
                    spin_executor::push_waker(now, cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// Waits `d` without blocking the instance: registers a WASI clock pollable with Spin's
/// executor, so the other futures of the request (shard requests in flight, a streamed
/// body) keep running meanwhile, where `std::thread::sleep` would stop them all.
pub fn sleep(d: std::time::Duration) -> Sleep {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    Sleep { deadline: wasi::clocks::monotonic_clock::now().saturating_add(nanos), registered: false }
}

/// See [`sleep`].
pub struct Sleep {
    deadline: u64,
    registered: bool,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if wasi::clocks::monotonic_clock::now() >= self.deadline {
            return Poll::Ready(());
        }
        // The executor keeps a pollable until it is ready, so one registration is enough.
        if !self.registered {
            let at = wasi::clocks::monotonic_clock::subscribe_instant(self.deadline);
            spin_executor::push_waker(at, cx.waker().clone());
            self.registered = true;
        }
        Poll::Pending
    }
}
