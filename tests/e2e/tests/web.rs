//! The `web` component (issue 14): the UI's `index.html`, its content-hashed assets and
//! the OpenAPI document, each with the security and caching headers it promises.
//! The pages themselves are tested in Chromium (`tests/web`, `./test.sh --web`).

use std::collections::BTreeSet;

use darkroom_e2e::target::workspace_root;
use darkroom_e2e::{Reply, app, expect, fixtures};

#[track_caller]
fn secured(reply: &Reply) {
    let csp = reply.header("content-security-policy").unwrap_or_else(|| panic!("no CSP\n{reply}"));
    for directive in ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "object-src 'none'", "frame-ancestors 'none'"] {
        assert!(csp.split(';').any(|d| d.trim() == directive), "CSP lacks {directive:?}: {csp}");
    }
    assert!(!csp.contains("unsafe-"), "{csp}");
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{reply}");
}

/// Every `/assets/NAME.HASH.EXT` named in `text`.
fn asset_refs(text: &str) -> BTreeSet<String> {
    text.match_indices("/assets/")
        .map(|(i, _)| {
            let rest = &text[i..];
            let end = rest.find(['"', '\'', ')', ' ', '\n']).unwrap_or(rest.len());
            rest[..end].to_owned()
        })
        .collect()
}

#[test]
fn index_and_every_asset_it_reaches_are_hashed_immutable_and_under_csp() {
    let client = app();
    let index = client.get("/");
    index.expect_status(200);
    assert_eq!(index.media_type().as_deref(), Some("text/html"), "{index}");
    assert_eq!(index.header("cache-control"), Some("no-cache"), "{index}");
    secured(&index);
    let html = index.text();
    assert!(!html.contains("<script>") && !html.contains(" style="), "inline script or style in index.html");

    // Walk the module graph from index.html: every reference resolves, is named by the
    // hash of its own bytes, and is served immutable.
    let mut todo: Vec<String> = asset_refs(&html).into_iter().collect();
    let mut seen = BTreeSet::new();
    while let Some(path) = todo.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let reply = client.get(&path);
        reply.expect_status(200);
        secured(&reply);
        assert_eq!(reply.header("cache-control"), Some("public, max-age=31536000, immutable"), "{reply}");
        let name = path.trim_start_matches("/assets/");
        let hash = name.split('.').nth(1).unwrap_or_default();
        assert_eq!(hash, &fixtures::sha256_hex(&reply.body)[..8], "{name} is not named by its content hash");
        if name.ends_with(".js") || name.ends_with(".css") {
            let text = reply.text();
            assert!(!text.contains("from './") && !text.contains("import './"), "{name} imports an unhashed name");
            todo.extend(asset_refs(&text));
        }
    }
    let kinds: BTreeSet<&str> = seen.iter().filter_map(|p| p.rsplit('.').next()).collect();
    assert_eq!(kinds, BTreeSet::from(["css", "js", "svg"]), "{seen:?}");
    assert!(seen.len() >= 10, "the UI's modules are reached from index.html: {seen:?}");
}

#[test]
fn unknown_assets_and_writes_are_problems_under_csp() {
    let client = app();
    let missing = client.get("/assets/app.00000000.js");
    expect::problem(&missing, 404);
    secured(&missing);
    let post = client.post("/", b"x", "text/plain");
    expect::problem(&post, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"), "{post}");
    secured(&post);
}

#[test]
fn the_openapi_document_is_served_as_committed() {
    let reply = app().get("/api/openapi.json");
    let doc = expect::json(&reply, 200);
    secured(&reply);
    let committed = std::fs::read(workspace_root().join("docs/openapi.json")).unwrap();
    assert!(reply.body == committed, "GET /api/openapi.json differs from docs/openapi.json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{doc}");
    assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()), "{doc}");
}
