//! `darkroom upload DIR|FILE...`: a few uploads at once, a progress bar, a summary table;
//! files past [`crate::resumable::THRESHOLD`] in resumable parts.

use crate::client::{Client, json_body};
use crate::error::{Error, Result};
use crate::output;
use crate::Io;
use indicatif::HumanBytes;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What happened to one file.
#[derive(Debug)]
pub struct Uploaded {
    pub path: PathBuf,
    pub bytes: u64,
    /// The image id and whether it is new (`201`) rather than already stored (`200`).
    pub outcome: Result<(String, bool)>,
}

/// The files to upload: the given files as they are, and each directory's images
/// (judged by their magic bytes, as the server judges them); the rest is noted on `io.err`.
pub fn collect(paths: &[PathBuf], io: &mut Io<'_>) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| Error::File { path: path.clone(), source })?;
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut entries = std::fs::read_dir(path)
            .and_then(|d| d.map(|e| e.map(|e| e.path())).collect::<std::io::Result<Vec<_>>>())
            .map_err(|source| Error::File { path: path.clone(), source })?;
        entries.sort();
        for entry in entries {
            if entry.is_dir() {
                writeln!(io.err, "note: skipped {}: a directory (not recursed into)", entry.display())?;
            } else if is_image(&entry) {
                files.push(entry);
            } else {
                writeln!(io.err, "note: skipped {}: not an image (JPEG, PNG, GIF, WebP, TIFF or BMP)", entry.display())?;
            }
        }
    }
    Ok(files)
}

/// Whether the file starts like an image the server accepts.
fn is_image(path: &Path) -> bool {
    let mut head = Vec::with_capacity(32);
    File::open(path).and_then(|f| f.take(32).read_to_end(&mut head)).is_ok() && imaging::sniff(&head).is_some()
}

/// Uploads `files` with `concurrency` threads; answers one entry per file, in order.
pub fn upload_all(client: &Client, files: &[PathBuf], concurrency: usize, progress: bool) -> Vec<Uploaded> {
    let total: u64 = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum();
    let bar = output::bar(progress, total, "{spinner} [{bar:30}] {bytes}/{total_bytes} {msg}");
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Uploaded>>> = Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..concurrency.clamp(1, files.len().max(1)) {
            s.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(index) else { break };
                    let uploaded = upload_one(client, path);
                    bar.inc(uploaded.bytes);
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    bar.set_message(format!("{finished}/{} files", files.len()));
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(uploaded);
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    results.into_inner().unwrap_or_default().into_iter().flatten().collect()
}

fn upload_one(client: &Client, path: &Path) -> Uploaded {
    let file = File::open(path).map_err(|source| Error::File { path: path.to_owned(), source });
    let bytes = file.as_ref().ok().and_then(|f| f.metadata().ok()).map_or(0, |m| m.len());
    let outcome = file.and_then(|file| {
        if bytes > crate::resumable::THRESHOLD {
            let (image, created) = crate::resumable::upload(client, path, "image", "application/octet-stream")?;
            let id = image["id"].as_str().ok_or_else(|| Error::Protocol { url: client.url("/api/uploads"), message: format!("no id in {image}") })?;
            return Ok((id.to_owned(), created));
        }
        let response = client.post("/api/images", file, "application/octet-stream", "application/json")?;
        let created = response.status().as_u16() == 201;
        let url = client.url("/api/images");
        let image = json_body(response, &url)?;
        let id = image["id"].as_str().ok_or_else(|| Error::Protocol { url, message: format!("no id in {image}") })?;
        Ok((id.to_owned(), created))
    });
    Uploaded { path: path.to_owned(), bytes, outcome }
}

/// The summary table and its closing line; `true` when every upload succeeded.
pub fn summary(uploaded: &[Uploaded], io: &mut Io<'_>) -> Result<bool> {
    let rows = uploaded.iter().map(|u| {
        let (id, status) = match &u.outcome {
            Ok((id, true)) => (id.clone(), "created".to_owned()),
            Ok((id, false)) => (id.clone(), "already stored".to_owned()),
            Err(e) => (String::new(), format!("failed: {e}")),
        };
        vec![u.path.display().to_string(), id, HumanBytes(u.bytes).to_string(), status]
    });
    write!(io.out, "{}", output::table(&["file", "id", "size", "status"], rows))?;
    let failed = uploaded.iter().filter(|u| u.outcome.is_err()).count();
    let created = uploaded.iter().filter(|u| matches!(u.outcome, Ok((_, true)))).count();
    let stored = uploaded.len() - failed;
    writeln!(io.out, "{stored} uploaded ({created} new, {} already stored), {failed} failed", stored - created)?;
    Ok(failed == 0)
}

/// The command: exit code 0 when every file uploaded, 1 otherwise.
pub fn command(client: &Client, args: &crate::args::UploadArgs, io: &mut Io<'_>) -> Result<i32> {
    let files = collect(&args.paths, io)?;
    if files.is_empty() {
        return Err(Error::Usage("no images to upload".into()));
    }
    let uploaded = upload_all(client, &files, usize::from(args.concurrency), io.progress);
    Ok(if summary(&uploaded, io)? { 0 } else { 1 })
}
