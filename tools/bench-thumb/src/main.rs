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
//! darkroom-bench-thumb stages REPS FILE...
//!     imaging::thumbnail_staged (fit 128x128, JPEG q80): the median of each stage
//!     (header, decode, resize, encode) and of the whole call over REPS
//!     runs after a warm-up. One line per file: `FILE stage=µs... total=µs`.
//! darkroom-bench-thumb load URL CONCURRENCY SECONDS [--get] [--distinct]
//!         [--keep-alive] [--thumbor-upload] [--get-url] FILE...
//!     CONCURRENCY threads send requests to URL (loopback HTTP/1.1, one connection per
//!     request, or one per thread with --keep-alive) for SECONDS: POST of the files'
//!     bytes in turn, or GET of URL/FILE-NAME with --get. --distinct makes every POSTed
//!     JPEG unique (a COM segment after SOI), so a content-addressed store sees new
//!     images. --thumbor-upload makes each request thumbor's upload pipeline: POST
//!     URL/image (stored by its file storage), then GET URL/unsafe/fit-in/128x128/ of
//!     the Location it answered (made, then kept by its result storage); the pair
//!     counts as one request. --get-url GETs URL itself (no files). Prints
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
        Some("stages") => stages(&args[1..]),
        Some("load") => load(&args[1..]),
        _ => Err("usage: darkroom-bench-thumb core|pipeline|stages REPS FILE... | load URL CONC SECS [--get] [--distinct] [--keep-alive] [--thumbor-upload] [--get-url] FILE...".into()),
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

/// REPS (the first argument), the benchmark's thumbnail (128 px, JPEG q80) and limits.
fn thumbnail_bench(
    args: &[String],
) -> Result<(usize, imaging::ThumbnailSpec, imaging::Limits), String> {
    let reps = args.first().and_then(|s| s.parse().ok()).ok_or("REPS")?;
    let spec = imaging::ThumbnailSpec {
        max_side: 128,
        quality: 80,
    };
    Ok((reps, spec, imaging::Limits::default()))
}

fn core(args: &[String]) -> Res {
    let (reps, spec, limits) = thumbnail_bench(args)?;
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

/// The breakdown's native half: each stage's median in µs, as the thumbnail component
/// reports them in `Server-Timing` (docs/performance.md).
fn stages(args: &[String]) -> Res {
    let (reps, spec, limits) = thumbnail_bench(args)?;
    for file in &args[1..] {
        let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let mut runs: Vec<Vec<(&'static str, f64)>> = Vec::with_capacity(reps);
        for i in 0..=reps {
            let mut stages = imaging::Stages::start();
            let t = Instant::now();
            imaging::thumbnail_staged(&bytes, &spec, &limits, &mut stages)
                .map_err(|e| format!("{file}: {e}"))?;
            let total = t.elapsed().as_secs_f64() * 1e6;
            if i > 0 {
                let mut run: Vec<_> = stages
                    .entries()
                    .iter()
                    .map(|(name, d)| (*name, d.as_secs_f64() * 1e6))
                    .collect();
                run.push(("total", total));
                runs.push(run);
            }
        }
        let line: Vec<String> = runs[0]
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                let mut v: Vec<f64> = runs.iter().map(|r| r[i].1).collect();
                format!("{name}={:.0}", median(&mut v))
            })
            .collect();
        println!("{file} {}", line.join(" "));
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

/// An HTTP/1.1 client for one load thread: a fresh connection per request, or one kept
/// alive (and reopened when the server closes it).
struct Client {
    auth: String,
    keep_alive: bool,
    conn: Option<std::io::BufReader<TcpStream>>,
}

/// A response's status and `Location` header (the body is read and dropped).
struct Answer {
    status: u16,
    location: Option<String>,
}

impl Client {
    fn new(auth: &str, keep_alive: bool) -> Self {
        Self {
            auth: auth.to_string(),
            keep_alive,
            conn: None,
        }
    }

    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> std::io::Result<Answer> {
        let answer = self.exchange(method, path, body);
        if answer.is_err() || !self.keep_alive {
            self.conn = None;
        }
        answer
    }

    fn exchange(&mut self, method: &str, path: &str, body: &[u8]) -> std::io::Result<Answer> {
        use std::io::BufRead;
        if self.conn.is_none() {
            let s = TcpStream::connect(&self.auth)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(120)))?;
            self.conn = Some(std::io::BufReader::with_capacity(64 * 1024, s));
        }
        let conn = self.conn.as_mut().expect("connected above");
        let connection = if self.keep_alive {
            "keep-alive"
        } else {
            "close"
        };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: {connection}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            self.auth,
            body.len()
        );
        let s = conn.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let mut line = String::new();
        conn.read_line(&mut line)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| bad("status line"))?;
        let (mut length, mut chunked, mut close, mut location) = (None, false, false, None);
        loop {
            line.clear();
            if conn.read_line(&mut line)? == 0 {
                return Err(bad("headers cut short"));
            }
            let Some((name, value)) = line.trim_end().split_once(':') else {
                break;
            };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<u64>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "location" => location = Some(value.to_string()),
                _ => {}
            }
        }
        let sink = &mut std::io::sink();
        if chunked {
            loop {
                line.clear();
                conn.read_line(&mut line)?;
                let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| bad("chunk size"))?;
                std::io::copy(&mut conn.by_ref().take(size + 2), sink)?;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            std::io::copy(&mut conn.by_ref().take(n), sink)?;
        } else {
            std::io::copy(conn, sink)?;
            close = true;
        }
        if close {
            self.conn = None;
        }
        Ok(Answer { status, location })
    }
}

/// A finished request: its latency in ms, or one more failure.
fn record(lat: &mut Vec<f64>, failed: &AtomicU64, began: Instant, done: bool) {
    if done {
        lat.push(began.elapsed().as_secs_f64() * 1e3);
    } else {
        failed.fetch_add(1, Ordering::Relaxed);
    }
}

fn ok(answer: &std::io::Result<Answer>) -> bool {
    matches!(answer, Ok(a) if (200..300).contains(&a.status))
}

fn load(args: &[String]) -> Res {
    let url = args.first().ok_or("URL")?.clone();
    let conc: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .ok_or("CONCURRENCY")?;
    let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).ok_or("SECONDS")?;
    let (mut get, mut distinct, mut keep_alive, mut thumbor_upload) = (false, false, false, false);
    let mut get_url = false;
    let mut files = Vec::new();
    for a in &args[3..] {
        match a.as_str() {
            "--get" => get = true,
            "--distinct" => distinct = true,
            "--keep-alive" => keep_alive = true,
            "--thumbor-upload" => thumbor_upload = true,
            "--get-url" => get_url = true,
            f => files.push(f.to_string()),
        }
    }
    if files.is_empty() && !get_url {
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
                let mut client = Client::new(&auth, keep_alive);
                let base = base_path.trim_end_matches('/');
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    if get_url {
                        let done = ok(&client.request("GET", &base_path, &[]));
                        record(&mut lat, &failed, t, done);
                        continue;
                    }
                    let (name, body) = &bodies[(n as usize) % bodies.len()];
                    let done = if thumbor_upload {
                        let stored = client.request(
                            "POST",
                            &format!("{base}/image"),
                            &make_distinct(body, n),
                        );
                        match stored {
                            Ok(Answer {
                                status: 201,
                                location: Some(loc),
                            }) => {
                                let id =
                                    loc.rsplit("/image/").next().unwrap_or_default().to_string();
                                ok(&client.request(
                                    "GET",
                                    &format!("{base}/unsafe/fit-in/128x128/{id}"),
                                    &[],
                                ))
                            }
                            _ => false,
                        }
                    } else if get {
                        ok(&client.request("GET", &format!("{base}/{name}"), &[]))
                    } else if distinct {
                        ok(&client.request("POST", &base_path, &make_distinct(body, n)))
                    } else {
                        ok(&client.request("POST", &base_path, body))
                    };
                    record(&mut lat, &failed, t, done);
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
