//! The stage timer the `*_stages` examples share (`#[path]`-included: examples are
//! separate crates). Their output, `stage median_us min_us` lines, is what
//! `bench/render_stages.py` reads.

use std::time::Instant;

/// Runs `f` once to warm up, then `reps` times; prints the median and minimum in µs.
pub fn stage(name: &str, reps: usize, mut f: impl FnMut()) {
    f();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!("{name} {:.0} {:.0}", times[times.len() / 2], times[0]);
}
