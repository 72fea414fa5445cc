//! Renders of 50 MP photos stay small: shrink-on-load decodes a JPEG with DCT scaling and
//! streams a PNG row by row, so a 1024 px render of either needs a few MiB beyond the input bytes,
//! far inside a 128 MiB instance (measured: 15 MiB for a 1024 px-wide render, 53 MiB for a
//! 1024x1024 cover, whose decode keeps imaging's 2x margin over the 1536x1024 resize;
//! bound 64 MiB). Measured with a counting allocator (this test binary
//! only), as the peak of live heap bytes above what was live before the render.
//! libwebp's own buffers (lossy WebP) come from C `malloc` and are not counted here;
//! in wasm they share the instance's linear memory, which the e2e suite measures
//! (`tests/e2e/tests/render.rs`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use imaging::{Format, testkit};
use render::{Limits, OutputFormat, Presets, RenderOptions};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Peak heap growth (bytes) while `f` runs.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - base)
}

#[test]
fn fifty_megapixel_renders_stay_small() {
    const MIB: usize = 1024 * 1024;
    let (w, h) = (8660, 5773); // 49.99 MP, just under the default max_pixels
    let photo = testkit::synthetic_photo(w, h, 50);
    let jpeg = testkit::encode(&photo, Format::Jpeg, 85);
    let png = testkit::encode(&photo, Format::Png, 0);
    drop(photo);
    let presets = Presets::builtin();
    let limits = Limits::default();
    for (name, bytes) in [("jpeg", &jpeg), ("png", &png)] {
        for query in [
            "w=1024&h=1024&fit=cover",
            "w=1024&preset=juno",
            "w=1024&h=768&fit=contain&gravity=smart",
        ] {
            for format in [OutputFormat::Jpeg, OutputFormat::Webp] {
                let opts = RenderOptions::parse(query, &presets).unwrap();
                let (out, peak) =
                    peak_growth(|| render::render(bytes, &opts, format, &limits).unwrap());
                println!(
                    "50 MP {name} -> {query} as {}: {}x{}, peak heap growth {:.1} MiB",
                    format.name(),
                    out.width,
                    out.height,
                    peak as f64 / MIB as f64
                );
                assert!(out.width <= 1024 && out.height <= 1024);
                assert!(
                    peak < 64 * MIB,
                    "{name} {query} {}: peak {peak} bytes",
                    format.name()
                );
            }
        }
    }
}
