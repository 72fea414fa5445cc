//! The signer's URLs verify with the service's own check, for every form of target.

use auth::SigningKeys;
use sign::{Outcome, run};

const ID: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const KEYS: &str = "k2:new-secret,k1:old-secret";
const NOW: u64 = 1_800_000_000;

fn sign(args: &[&str], keys_env: Option<&str>) -> anyhow::Result<Vec<String>> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env = |name: &str| (name == "SPIN_VARIABLE_URL_SIGNING_KEYS").then(|| keys_env.map(str::to_owned)).flatten();
    match run(&args, env, NOW)? {
        Outcome::Urls(urls) => Ok(urls),
        Outcome::Help => panic!("help"),
    }
}

/// Splits a signed URL and checks it as the media component does.
fn verifies(url: &str, path: &str, at: u64) -> bool {
    let (_, query) = url.split_once('?').unwrap();
    SigningKeys::parse(KEYS).unwrap().unwrap().verify("GET", path, query, at).is_ok()
}

#[test]
fn ids_paths_and_urls() {
    let thumb = format!("/images/{ID}/thumbnail");
    let urls = sign(
        &["--base", "http://h:3000/", ID, &thumb, &format!("https://cdn.example/images/{ID}?old=1")],
        Some(KEYS),
    )
    .unwrap();
    assert!(urls[0].starts_with(&format!("http://h:3000/images/{ID}?expires={}&sig=", NOW + 3600)), "{}", urls[0]);
    assert!(urls[0].ends_with("&kid=k2"), "the first key signs: {}", urls[0]);
    assert!(verifies(&urls[0], &format!("/images/{ID}"), NOW));
    assert!(urls[1].starts_with(&format!("http://h:3000{thumb}?")), "{}", urls[1]);
    assert!(verifies(&urls[1], &thumb, NOW));
    // A query is kept and signed with the path (render URLs' parameters are covered).
    assert!(urls[2].starts_with(&format!("https://cdn.example/images/{ID}?old=1&expires=")), "{}", urls[2]);
    assert!(verifies(&urls[2], &format!("/images/{ID}"), NOW + 3600));
    assert!(!verifies(&urls[2], &format!("/images/{ID}"), NOW + 3601));
    assert!(!verifies(&urls[2].replace("old=1", "old=2"), &format!("/images/{ID}"), NOW));
}

#[test]
fn render_urls_are_signed_with_their_query_and_old_signatures_replaced() {
    let render = format!("/images/{ID}/render");
    let first = sign(&[&format!("{render}?w=300&format=webp")], Some(KEYS)).unwrap().remove(0);
    assert!(verifies(&first, &render, NOW));
    assert!(!verifies(&first.replace("w=300", "w=3000"), &render, NOW));
    // Signing a signed URL again replaces its signature instead of covering it.
    let path_and_query = &first[first.find("/images").unwrap()..];
    let again = sign(&["--ttl", "60", path_and_query], Some(KEYS)).unwrap().remove(0);
    assert_eq!(again.matches("sig=").count(), 1, "{again}");
    assert!(again.contains("?w=300&format=webp&expires="), "{again}");
    assert!(verifies(&again, &render, NOW));
}

#[test]
fn expiry_options() {
    let ttl = sign(&["--ttl", "5", ID], Some(KEYS)).unwrap();
    assert!(ttl[0].contains(&format!("expires={}", NOW + 5)), "{}", ttl[0]);
    let fixed = sign(&["--expires", "1900000000", ID], Some(KEYS)).unwrap();
    assert!(fixed[0].contains("expires=1900000000"), "{}", fixed[0]);
    assert!(sign(&["--ttl", "5", "--expires", "9", ID], Some(KEYS)).is_err());
    assert!(sign(&["--ttl", "soon", ID], Some(KEYS)).is_err());
}

#[test]
fn keys_from_flag_and_errors() {
    let urls = sign(&["--keys", "plain", ID], None).unwrap();
    assert!(!urls[0].contains("kid="), "{}", urls[0]);
    assert!(sign(&[ID], None).unwrap_err().to_string().contains("no keys"));
    assert!(sign(&[ID], Some(" , ")).is_err());
    assert!(sign(&[], Some(KEYS)).is_err());
    assert!(sign(&["not-an-id"], Some(KEYS)).is_err());
    assert!(sign(&["--frobnicate", ID], Some(KEYS)).is_err());
}
