//! Many requests at once: a fixed pool of threads over numbered jobs, and the whole
//! image listing paged through (the concurrency and replica suites).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::{Client, expect};

/// Runs `job(i)` for i in 0..n on `threads` threads; returns the results in order. A
/// panicking job fails the caller once every thread has stopped.
pub fn parallel<T: Send + 'static>(n: usize, threads: usize, job: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let next = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<Vec<Option<T>>>> = Arc::new(Mutex::new((0..n).map(|_| None).collect()));
    let job = Arc::new(job);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (next, results, job) = (next.clone(), results.clone(), job.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let value = job(i);
                    results.lock().unwrap()[i] = Some(value);
                }
            })
        })
        .collect();
    for handle in handles {
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
    let results = std::mem::take(&mut *results.lock().unwrap());
    results.into_iter().map(|r| r.expect("every job ran")).collect()
}

/// Every id of the whole listing (`GET /api/images`), in order, paging with `limit`.
pub fn list_all(client: &Client, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/images?limit={limit}&cursor={c}"),
            None => format!("/api/images?limit={limit}"),
        };
        let reply = client.get(&path);
        let page = expect::json(&reply, 200);
        let images = page["images"].as_array().unwrap_or_else(|| panic!("images\n{reply}"));
        assert!(images.len() <= limit, "a page holds at most `limit` images\n{reply}");
        ids.extend(images.iter().map(|o| o["id"].as_str().unwrap_or_else(|| panic!("id\n{reply}")).to_string()));
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return ids,
        }
    }
}
