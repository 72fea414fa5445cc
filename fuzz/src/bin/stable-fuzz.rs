//! A stable-Rust stand-in for cargo-fuzz, for machines without a nightly toolchain:
//! replays the corpus, then mutates it at random (no coverage feedback) for a bounded
//! time. A panicking input is written to the artifacts folder, like libFuzzer's
//! `crash-*` files. It finds less than libFuzzer, but it needs nothing but `cargo`.
//!
//! ```text
//! stable-fuzz [--target thumbnail|sniff_header] [--seconds N] [--seed S]
//!             [--artifacts DIR] [CORPUS_DIR...]
//! stable-fuzz --write-seeds DIR     # writes the seed corpus (for cargo-fuzz) and exits
//! ```

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Most inputs kept in the in-memory pool.
const MAX_POOL: usize = 4096;
/// Largest input the mutator grows to.
const MAX_LEN: usize = 256 * 1024;

fn main() {
    let mut target = "thumbnail".to_owned();
    let (mut seconds, mut seed) = (60u64, None);
    let mut artifacts = PathBuf::from("fuzz/artifacts/stable");
    let mut corpora = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| die(&format!("{arg} needs a value")));
        match arg.as_str() {
            "--target" => target = value(),
            "--seconds" => seconds = value().parse().unwrap_or_else(|_| die("--seconds takes a number")),
            "--seed" => seed = Some(value().parse().unwrap_or_else(|_| die("--seed takes a number"))),
            "--artifacts" => artifacts = PathBuf::from(value()),
            "--write-seeds" => {
                let dir = PathBuf::from(value());
                std::fs::create_dir_all(&dir).unwrap_or_else(|e| die(&format!("{}: {e}", dir.display())));
                for (name, bytes) in darkroom_fuzz::seeds() {
                    std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| die(&format!("{}: {e}", dir.display())));
                }
                return;
            }
            flag if flag.starts_with('-') => die(&format!("unknown option {flag}")),
            dir => corpora.push(PathBuf::from(dir)),
        }
    }
    let check: fn(&[u8]) = match target.as_str() {
        "thumbnail" => darkroom_fuzz::pipeline,
        "sniff_header" => darkroom_fuzz::sniff_and_header,
        other => die(&format!("unknown target {other} (thumbnail, sniff_header)")),
    };
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
    });
    eprintln!("stable-fuzz: target {target}, {seconds} s, seed {seed} (replay with --seed {seed})");

    // Quiet panics: the message is kept and printed once per new crasher.
    let last_panic = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = last_panic.clone();
    panic::set_hook(Box::new(move |info| *sink.lock().unwrap() = info.to_string()));

    let mut pool: Vec<Vec<u8>> = darkroom_fuzz::seeds().into_iter().map(|(_, bytes)| bytes).collect();
    for dir in &corpora {
        pool.extend(read_dir(dir));
    }
    let mut rng = Rng(seed);
    let mut crashes = 0usize;
    let run = |input: &[u8], crashes: &mut usize| -> bool {
        if panic::catch_unwind(AssertUnwindSafe(|| check(input))).is_ok() {
            return true;
        }
        *crashes += 1;
        let path = artifacts.join(format!("crash-{:016x}", fnv1a(input)));
        if !path.exists() {
            let _ = std::fs::create_dir_all(&artifacts);
            let _ = std::fs::write(&path, input);
            eprintln!("stable-fuzz: CRASH {} ({} bytes): {}", path.display(), input.len(), last_panic.lock().unwrap());
        }
        false
    };

    for input in pool.clone() {
        run(&input, &mut crashes);
    }
    let replayed = pool.len();
    let (start, deadline) = (Instant::now(), Instant::now() + Duration::from_secs(seconds));
    let mut execs = 0u64;
    while Instant::now() < deadline {
        let mut input = pool[rng.below(pool.len())].clone();
        let other = pool[rng.below(pool.len())].clone();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut input, &other, &mut rng);
        }
        execs += 1;
        let survived = run(&input, &mut crashes);
        // Keep mutants that still parse as an image header: they reach deeper code.
        if survived && imaging::read_header(&input, &darkroom_fuzz::LIMITS).is_ok() {
            if pool.len() < MAX_POOL {
                pool.push(input);
            } else {
                let slot = rng.below(pool.len());
                pool[slot] = input;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "stable-fuzz: replayed {replayed}, ran {execs} mutants in {secs:.0} s ({:.0}/s), pool {}, crashing runs {crashes}",
        execs as f64 / secs,
        pool.len()
    );
    if crashes > 0 {
        std::process::exit(1);
    }
}

fn die(message: &str) -> ! {
    eprintln!("stable-fuzz: {message}");
    std::process::exit(2);
}

fn read_dir(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().filter(|e| e.path().is_file()).filter_map(|e| std::fs::read(e.path()).ok()).collect()
}

/// One random edit, of the kinds that break image parsers: flipped bits, boundary
/// values in 16/32-bit fields, cut or repeated ranges, splices of another input.
fn mutate(input: &mut Vec<u8>, other: &[u8], rng: &mut Rng) {
    const INTERESTING: [u32; 10] = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 100_000, 0x7fff_ffff, 0xffff_ffff];
    if input.is_empty() {
        input.push(rng.next() as u8);
        return;
    }
    let at = rng.below(input.len());
    match rng.below(9) {
        0 => input[at] ^= 1 << rng.below(8),
        1 => input[at] = rng.next() as u8,
        2 => {
            let value = INTERESTING[rng.below(INTERESTING.len())];
            let bytes = if rng.below(2) == 0 { value.to_be_bytes() } else { value.to_le_bytes() };
            let width = if rng.below(2) == 0 { 2 } else { 4 };
            let bytes = if width == 2 { if bytes[0] == 0 && bytes[1] == 0 { &bytes[2..] } else { &bytes[..2] } } else { &bytes[..] };
            for (i, b) in bytes.iter().enumerate() {
                if let Some(slot) = input.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
        3 => input.truncate(at.max(1)),
        4 => {
            let end = (at + 1 + rng.below(64)).min(input.len());
            input.drain(at..end);
        }
        5 if input.len() < MAX_LEN => {
            let end = (at + 1 + rng.below(256)).min(input.len());
            let chunk = input[at..end].to_vec();
            let to = rng.below(input.len());
            input.splice(to..to, chunk);
        }
        6 if input.len() < MAX_LEN => {
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            input.splice(at..at, bytes);
        }
        7 if !other.is_empty() => {
            let from = rng.below(other.len());
            let tail = &other[from..(from + 1 + rng.below(512)).min(other.len())];
            input.truncate(at);
            input.extend_from_slice(tail);
        }
        _ => {
            let len = 1 + rng.below(8);
            for b in input.iter_mut().skip(at).take(len) {
                *b = 0xff;
            }
        }
    }
}

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
