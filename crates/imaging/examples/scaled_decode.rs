//! Times `imaging::decode_at_least` on JPEG files and reports the peak heap it takes
//! (a counting allocator), to check shrink-on-load's speed and memory natively.
//!
//! ```text
//! cargo run --release -p darkroom-imaging --example scaled_decode -- \
//!     [--jpeg-decoder] REPS BOX MAX_ALLOC_MIB FILE...
//! ```
//! One line per file: `FILE WxH median_ms peak_heap_bytes` (the decoded size, the
//! median of REPS decodes after a warm-up, the largest heap in use during one decode
//! above what was in use before it). `--jpeg-decoder`: `jpeg-decoder`'s scaled decode
//! at the same scale instead (what shrink-on-load used for progressive files before).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn main() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let reference = args.first().is_some_and(|a| a == "--jpeg-decoder");
    if reference {
        args.remove(0);
    }
    let usage = "usage: scaled_decode [--jpeg-decoder] REPS BOX MAX_ALLOC_MIB FILE...";
    let num = |i: usize| -> Result<u64, String> {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or(usage.to_string())
    };
    let (reps, side, mib) = (num(0)? as usize, num(1)? as u32, num(2)?);
    let limits = imaging::Limits {
        max_alloc: mib << 20,
        ..Default::default()
    };
    for file in args.get(3..).unwrap_or_default() {
        let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let before = IN_USE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let decode = || {
            if reference {
                jpeg_decoder_scaled(&bytes, side)
            } else {
                imaging::decode_at_least(&bytes, &limits, side, side)
                    .map(|img| (img.width(), img.height()))
                    .map_err(|e| format!("{file}: {e}"))
            }
        };
        let (w, h) = decode()?;
        let peak = PEAK.load(Ordering::Relaxed) - before;
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            std::hint::black_box(decode()?);
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(reps / 2).copied().unwrap_or(f64::NAN);
        println!("{file} {w}x{h} {median:.3} {peak}");
    }
    Ok(())
}

/// `jpeg-decoder`'s decode at the scale `decode_at_least` picks for a `side` box.
fn jpeg_decoder_scaled(bytes: &[u8], side: u32) -> Result<(u32, u32), String> {
    let mut dec = jpeg_decoder::Decoder::new(bytes);
    dec.read_info().map_err(|e| e.to_string())?;
    let info = dec.info().ok_or("no info")?;
    let d = imaging::shrink_factor(info.width.into(), info.height.into(), side, side) as u16;
    let (w, h) = dec
        .scale(info.width.div_ceil(d), info.height.div_ceil(d))
        .map_err(|e| e.to_string())?;
    dec.decode().map_err(|e| e.to_string())?;
    Ok((w.into(), h.into()))
}
