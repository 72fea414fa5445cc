//! `darkroom-eval <folder-of-photos> [--threshold T] [--max-side PX] [--jobs N] [--limit N]`
//!
//! Prints the evaluation of darkroom's feature vectors on the photos of a folder
//! (see `docs/vectors.md`). Exits 1 on errors, 0 otherwise (missed targets are printed).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: darkroom-eval <folder-of-photos> [--threshold T] [--max-side PX] [--jobs N] [--limit N] [--strict]
  --threshold T   duplicate threshold (default vectors::DUPLICATE_THRESHOLD)
  --max-side PX   photos are first shrunk to this long side (default 1024)
  --jobs N        threads (default: available cores, at most 2)
  --limit N       use only the first N photos (by file name)
  --strict        exit 2 when a target is missed";

struct Args {
    dir: PathBuf,
    threshold: f32,
    max_side: u32,
    jobs: usize,
    limit: Option<usize>,
    strict: bool,
}

fn parse() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut out = Args {
        dir: PathBuf::new(),
        threshold: vectors::DUPLICATE_THRESHOLD,
        max_side: 1024,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get().min(2)),
        limit: None,
        strict: false,
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--threshold" => {
                out.threshold = value("--threshold")?.parse().context("--threshold")?
            }
            "--max-side" => out.max_side = value("--max-side")?.parse().context("--max-side")?,
            "--jobs" => out.jobs = value("--jobs")?.parse().context("--jobs")?,
            "--limit" => out.limit = Some(value("--limit")?.parse().context("--limit")?),
            "--strict" => out.strict = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with('-') => bail!("unknown option {s}\n{USAGE}"),
            s if dir.is_none() => dir = Some(PathBuf::from(s)),
            s => bail!("unexpected argument {s}\n{USAGE}"),
        }
    }
    out.dir = dir.with_context(|| USAGE.to_string())?;
    Ok(out)
}

fn run() -> Result<bool> {
    let args = parse()?;
    let started = std::time::Instant::now();
    let eval::PhotoSet { photos, skipped } =
        eval::load_photos(&args.dir, args.max_side, args.limit)?;
    for (name, why) in &skipped {
        eprintln!("skipped {name}: {why}");
    }
    if photos.len() < 2 {
        bail!(
            "{} holds {} usable photos; at least 2 are needed",
            args.dir.display(),
            photos.len()
        );
    }
    let loaded = started.elapsed();
    let report = eval::evaluate_photos(&photos, args.threshold, args.jobs, eval::features_of)?;
    println!(
        "darkroom-eval: {} (photos shrunk to <= {} px), FEATURE_VERSION {}, features decoded at >= {} px",
        args.dir.display(),
        args.max_side,
        vectors::FEATURE_VERSION,
        eval::DECODE_SIDE
    );
    print!("{report}");
    println!(
        "time: load {:.1}s, variants + features {:.1}s ({} jobs)",
        loaded.as_secs_f64(),
        (started.elapsed() - loaded).as_secs_f64(),
        args.jobs
    );
    // Extraction alone (no decode), on the first photo as the service sees it.
    let bytes = eval::variants::original(&photos[0].base)?;
    let img = imaging::decode_at_least(
        &bytes,
        &imaging::Limits::default(),
        eval::DECODE_SIDE,
        eval::DECODE_SIDE,
    )?;
    let runs = 200;
    let t = std::time::Instant::now();
    for _ in 0..runs {
        std::hint::black_box(vectors::extract(std::hint::black_box(&img)));
    }
    println!(
        "extract: {:.0} µs per image ({}x{} decoded, one thread)",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(runs),
        img.width(),
        img.height()
    );
    Ok(report.misses().is_empty() || !args.strict)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
