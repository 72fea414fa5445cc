//! Embeds the UI (`ui/`) with content-hashed asset names.
//!
//! Every file under `ui/` but `index.html` becomes `/assets/NAME.HASH.EXT`, HASH being
//! the first 8 hex digits of the SHA-256 of the file *after* its own references were
//! rewritten, so a change anywhere renames every file that (transitively) imports it:
//! browsers may then cache assets forever (`immutable`) while `index.html` is revalidated.
//! A reference is a quoted `./NAME` (ES module imports) or `/assets/NAME` (index.html,
//! CSS `url()`), with NAME a file in `ui/`; the module graph must be acyclic.
//!
//! Writes the rewritten files and `assets.rs` (the table `lib.rs` includes) to OUT_DIR.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let ui = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("ui");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", ui.display());

    let mut sources = BTreeMap::new();
    for entry in std::fs::read_dir(&ui).expect("components/web/ui") {
        let path = entry.unwrap().path();
        if path.is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
            let name = path.file_name().unwrap().to_str().expect("UTF-8 file name").to_owned();
            sources.insert(name, std::fs::read(&path).unwrap());
        }
    }
    assert!(sources.contains_key("index.html"), "ui/index.html is missing");

    let mut hashed = BTreeMap::new();
    let names: Vec<String> = sources.keys().filter(|n| *n != "index.html").cloned().collect();
    for name in &names {
        resolve(name, &sources, &mut hashed, &mut Vec::new());
    }

    let assets_dir = out.join("assets");
    std::fs::create_dir_all(&assets_dir).unwrap();
    let mut table = String::from("/// (hashed name, content type, bytes), sorted by name.\npub static ASSETS: &[(&str, &str, &[u8])] = &[\n");
    let mut entries: Vec<&(String, Vec<u8>)> = hashed.values().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (hashed_name, bytes) in entries {
        let file = assets_dir.join(hashed_name);
        std::fs::write(&file, bytes).unwrap();
        writeln!(table, "    ({hashed_name:?}, {:?}, include_bytes!({:?})),", content_type(hashed_name), file.display().to_string()).unwrap();
    }
    table.push_str("];\n");
    let index = rewrite(&sources["index.html"], &hashed);
    let index_file = out.join("index.html");
    std::fs::write(&index_file, index).unwrap();
    writeln!(table, "/// `index.html` with its references rewritten to the hashed names.\npub static INDEX_HTML: &[u8] = include_bytes!({:?});", index_file.display().to_string()).unwrap();
    std::fs::write(out.join("assets.rs"), table).unwrap();
}

/// Hashes `name` after hashing (and rewriting) everything it references.
fn resolve(name: &str, sources: &BTreeMap<String, Vec<u8>>, hashed: &mut BTreeMap<String, (String, Vec<u8>)>, stack: &mut Vec<String>) {
    if hashed.contains_key(name) {
        return;
    }
    assert!(!stack.iter().any(|s| s == name), "ui/: reference cycle {stack:?} -> {name}");
    stack.push(name.to_owned());
    let text = &sources[name];
    for other in sources.keys() {
        if other != name && other != "index.html" && references(text, other) {
            resolve(other, sources, hashed, stack);
        }
    }
    stack.pop();
    let bytes = rewrite(text, hashed);
    let digest = hex::encode(Sha256::digest(&bytes));
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    hashed.insert(name.to_owned(), (format!("{stem}.{}.{ext}", &digest[..8]), bytes));
}

fn patterns(name: &str) -> Vec<(String, char)> {
    let mut out = Vec::new();
    for prefix in ["./", "/assets/"] {
        for quote in ['"', '\'', ')'] {
            out.push((format!("{prefix}{name}"), quote));
        }
    }
    out
}

fn references(text: &[u8], name: &str) -> bool {
    let text = String::from_utf8_lossy(text);
    patterns(name).iter().any(|(p, q)| text.contains(&format!("{p}{q}")))
}

/// Replaces every reference to a hashed file with `/assets/HASHED` (absolute, so the
/// same text works from index.html, a module or a stylesheet).
fn rewrite(text: &[u8], hashed: &BTreeMap<String, (String, Vec<u8>)>) -> Vec<u8> {
    let Ok(mut text) = String::from_utf8(text.to_vec()) else { return text.to_vec() };
    for (name, (hashed_name, _)) in hashed {
        for (pattern, quote) in patterns(name) {
            text = text.replace(&format!("{pattern}{quote}"), &format!("/assets/{hashed_name}{quote}"));
        }
    }
    text.into_bytes()
}

fn content_type(name: &str) -> &'static str {
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("txt") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        other => panic!("ui/: no content type for extension {other:?}"),
    }
}
