//! The native half of `bench/thumbnail.sh` (see `docs/performance.md`).
//!
//! ```text
//! darkroom-bench-thumb core REPS FILE...
//!     imaging::thumbnail (fit 128x128, JPEG q80) on each file, REPS times after one
//!     warm-up; one line per file: `FILE median_ms min_ms out_bytes`.
//! darkroom-bench-thumb pipeline REPS FILE...
//!     The upload's two decoding steps on each file (thumbnail 128 q80, and the feature
//!     vector), as the components run them (each decodes the original at the box it
//!     needs) and with one decode at the larger box feeding both; median of REPS after
//!     a warm-up. One line per file: `FILE thumb_ms vector_ms separate_ms one_decode_ms`.
//! darkroom-bench-thumb load URL CONCURRENCY SECONDS [--get] [--distinct] FILE...
//!     CONCURRENCY threads send requests to URL (loopback HTTP/1.1, one connection per
//!     request) for SECONDS: POST of the files' bytes in turn, or GET of URL/FILE-NAME
//!     with --get. --distinct makes every POSTed JPEG unique (a COM segment after SOI),
//!     so a content-addressed store sees new images. Prints
//!     `requests ok failed seconds rps p50_ms p99_ms`.
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("core") => core(&args[1..]),
        Some("pipeline") => pipeline(&args[1..]),
        Some("load") => load(&args[1..]),
        _ => Err("usage: darkroom-bench-thumb core|pipeline REPS FILE... | load URL CONC SECS [--get] [--distinct] FILE...".into()),
    };
    if let Err(e) = result {
        eprintln!("darkroom-bench-thumb: {e}");
        std::process::exit(2);
    }
}

type Res = Result<(), String>;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn core(args: &[String]) -> Res {
    let reps: usize = args.first().and_then(|s| s.parse().ok()).ok_or("REPS")?;
    let spec = imaging::ThumbnailSpec {
        max_side: 128,
        quality: 80,
    };
    let limits = imaging::Limits::default();
    for file in &args[1..] {
        let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let warm =
            imaging::thumbnail(&bytes, &spec, &limits).map_err(|e| format!("{file}: {e}"))?;
        let mut times = samples_ms(reps, || {
            imaging::thumbnail(&bytes, &spec, &limits).map_err(|e| e.to_string())
        })?;
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "{file} {:.3} {:.3} {}",
            median(&mut times),
            min,
            warm.bytes.len()
        );
    }
    Ok(())
}

/// Milliseconds of each of `reps` runs of `f`.
fn samples_ms<T>(
    reps: usize,
    mut f: impl FnMut() -> Result<T, String>,
) -> Result<Vec<f64>, String> {
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        std::hint::black_box(f()?);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(times)
}

/// Median milliseconds of `reps` runs of `f`, after one warm-up run.
fn time_ms<T>(reps: usize, mut f: impl FnMut() -> Result<T, String>) -> Result<f64, String> {
    std::hint::black_box(f()?);
    Ok(median(&mut samples_ms(reps, f)?))
}

fn pipeline(args: &[String]) -> Res {
    let reps: usize = args.first().and_then(|s| s.parse().ok()).ok_or("REPS")?;
    let spec = imaging::ThumbnailSpec::default();
    let limits = imaging::Limits::default();
    let side = vectors::DECODE_SIDE;
    for file in &args[1..] {
        let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let thumb = || imaging::thumbnail(&bytes, &spec, &limits).map_err(|e| e.to_string());
        let vector = || {
            imaging::decode_at_least(&bytes, &limits, side, side)
                .map(|img| vectors::extract(&img))
                .map_err(|e| e.to_string())
        };
        let thumb_ms = time_ms(reps, thumb)?;
        let vector_ms = time_ms(reps, vector)?;
        let separate_ms = time_ms(reps, || Ok((thumb()?, vector()?)))?;
        // One decode at the larger of the two boxes (the vector's: 256 > 128).
        let one_ms = time_ms(reps, || {
            let img =
                imaging::decode_at_least(&bytes, &limits, side, side).map_err(|e| e.to_string())?;
            let t = imaging::thumbnail_from_image(&img, &spec).map_err(|e| e.to_string())?;
            Ok((t, vectors::extract(&img)))
        })?;
        println!("{file} {thumb_ms:.3} {vector_ms:.3} {separate_ms:.3} {one_ms:.3}");
    }
    Ok(())
}

/// `host:port` and the path of an `http://` URL.
fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (auth, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((auth.to_string(), format!("/{path}")))
}

/// With a COM segment right after SOI: distinct bytes, same pixels.
fn make_distinct(jpeg: &[u8], n: u64) -> Vec<u8> {
    let tag = format!("darkroom-bench {n}");
    let mut out = Vec::with_capacity(jpeg.len() + tag.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((tag.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// One request on a fresh connection; `Ok(status)`.
fn request(auth: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(auth)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {auth}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let line = resp.split(|&b| b == b'\r').next().unwrap_or_default();
    let status = std::str::from_utf8(line)
        .ok()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok(status)
}

fn load(args: &[String]) -> Res {
    let url = args.first().ok_or("URL")?.clone();
    let conc: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .ok_or("CONCURRENCY")?;
    let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).ok_or("SECONDS")?;
    let mut get = false;
    let mut distinct = false;
    let mut files = Vec::new();
    for a in &args[3..] {
        match a.as_str() {
            "--get" => get = true,
            "--distinct" => distinct = true,
            f => files.push(f.to_string()),
        }
    }
    if files.is_empty() {
        return Err("no files".into());
    }
    let (auth, base_path) = split_url(&url)?;
    let bodies: Arc<Vec<(String, Vec<u8>)>> = Arc::new(
        files
            .iter()
            .map(|f| {
                let name = std::path::Path::new(f)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                std::fs::read(f)
                    .map(|b| (name, b))
                    .map_err(|e| format!("{f}: {e}"))
            })
            .collect::<Result<_, _>>()?,
    );
    let counter = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let threads: Vec<_> = (0..conc)
        .map(|_| {
            let (bodies, counter, failed) = (bodies.clone(), counter.clone(), failed.clone());
            let (auth, base_path) = (auth.clone(), base_path.clone());
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let (name, body) = &bodies[(n as usize) % bodies.len()];
                    let t = Instant::now();
                    let status = if get {
                        let path = format!("{}/{name}", base_path.trim_end_matches('/'));
                        request(&auth, "GET", &path, &[])
                    } else if distinct {
                        request(&auth, "POST", &base_path, &make_distinct(body, n))
                    } else {
                        request(&auth, "POST", &base_path, body)
                    };
                    match status {
                        Ok(s) if (200..300).contains(&s) => {
                            lat.push(t.elapsed().as_secs_f64() * 1e3)
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    let ok = lat.len();
    let failed = failed.load(Ordering::Relaxed);
    let p50 = if ok > 0 { median(&mut lat) } else { f64::NAN };
    let p99 = if ok > 0 {
        lat[((ok as f64 * 0.99) as usize).min(ok - 1)]
    } else {
        f64::NAN
    };
    println!(
        "{} {ok} {failed} {elapsed:.2} {:.2} {p50:.1} {p99:.1}",
        ok as u64 + failed,
        ok as f64 / elapsed
    );
    Ok(())
}
