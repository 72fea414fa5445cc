//! The signer behind `darkroom-sign`: turns image ids, paths or URLs into signed URLs
//! (`docs/auth.md`), with the first of the `url_signing_keys` and an expiry.
//!
//! ```
//! let env = |name: &str| (name == "SPIN_VARIABLE_URL_SIGNING_KEYS").then(|| "k1:secret".to_owned());
//! let args: Vec<String> = ["--ttl", "60", "http://127.0.0.1:3000/images/abc/thumbnail"].map(String::from).into();
//! let sign::Outcome::Urls(urls) = sign::run(&args, env, 1_000)? else { unreachable!() };
//! assert!(urls[0].starts_with("http://127.0.0.1:3000/images/abc/thumbnail?expires=1060&sig="));
//! assert!(urls[0].ends_with("&kid=k1"));
//! # Ok::<(), anyhow::Error>(())
//! ```

use anyhow::{Context, bail};
use auth::SigningKeys;

pub const USAGE: &str = "\
darkroom-sign: print signed URLs for darkroom's originals and thumbnails

usage: darkroom-sign [--ttl SECONDS | --expires UNIX] [--base URL] [--keys-file FILE] TARGET...

TARGET  an image id (signs /images/{id}), a path (/images/{id} or /images/{id}/thumbnail),
        or a full URL (http://host:port/images/{id}/thumbnail); any query is replaced
--ttl   lifetime in seconds from now (default 3600)
--expires  the last valid second, Unix time (instead of --ttl)
--base  prefix for ids and paths, e.g. http://127.0.0.1:3000

Keys (the same value as the url_signing_keys variable; the first key signs), from the
first of: --keys-file FILE, $URL_SIGNING_KEYS, $SPIN_VARIABLE_URL_SIGNING_KEYS.
(--keys KEYS also works, but puts the secret in the process list.)
";

/// Lifetime of a signed URL when neither `--ttl` nor `--expires` is given.
pub const DEFAULT_TTL: u64 = 3600;

/// What a run prints.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Help,
    Urls(Vec<String>),
}

/// Signs every target in `args`; `env` reads environment variables, `now` is Unix seconds.
pub fn run(args: &[String], env: impl Fn(&str) -> Option<String>, now: u64) -> anyhow::Result<Outcome> {
    let (mut ttl, mut expires, mut base, mut keys) = (None, None, String::new(), None);
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().cloned().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Outcome::Help),
            "--ttl" => ttl = Some(value("--ttl")?.parse::<u64>().context("--ttl takes seconds")?),
            "--expires" => expires = Some(value("--expires")?.parse::<u64>().context("--expires takes Unix seconds")?),
            "--base" => base = value("--base")?.trim_end_matches('/').to_owned(),
            "--keys" => keys = Some(value("--keys")?),
            "--keys-file" => {
                let file = value("--keys-file")?;
                keys = Some(std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?.trim().to_owned());
            }
            flag if flag.starts_with("--") => bail!("unknown option {flag}"),
            target => targets.push(target.to_owned()),
        }
    }
    if ttl.is_some() && expires.is_some() {
        bail!("give --ttl or --expires, not both");
    }
    if targets.is_empty() {
        bail!("nothing to sign: give an image id, a path or a URL");
    }
    let keys = keys
        .or_else(|| env("URL_SIGNING_KEYS"))
        .or_else(|| env("SPIN_VARIABLE_URL_SIGNING_KEYS"))
        .context("no keys: set SPIN_VARIABLE_URL_SIGNING_KEYS (or URL_SIGNING_KEYS, or --keys-file)")?;
    let keys = SigningKeys::parse(&keys)?.context("the keys are empty")?;
    let expires = expires.unwrap_or_else(|| now.saturating_add(ttl.unwrap_or(DEFAULT_TTL)));
    let urls = targets.iter().map(|target| sign_target(&keys, &base, target, expires)).collect::<anyhow::Result<_>>()?;
    Ok(Outcome::Urls(urls))
}

/// `prefix + path + "?" + [query &] signature`, where the target is an id, a path or a URL;
/// a query (a render URL's `w=…&format=…`) is kept and covered by the signature.
fn sign_target(keys: &SigningKeys, base: &str, target: &str, expires: u64) -> anyhow::Result<String> {
    let target = target.split('#').next().unwrap_or_default();
    let (target, query) = target.split_once('?').unwrap_or((target, ""));
    let (prefix, path) = if let Some(scheme_end) = target.find("://") {
        let path_start = target[scheme_end + 3..].find('/').map(|i| scheme_end + 3 + i).context("the URL has no path")?;
        (&target[..path_start], target[path_start..].to_owned())
    } else if target.starts_with('/') {
        (base, target.to_owned())
    } else if target.len() == 64 && target.bytes().all(|b| b.is_ascii_hexdigit()) {
        (base, format!("/images/{}", target.to_ascii_lowercase()))
    } else {
        bail!("{target:?} is neither an image id, a path starting with '/', nor a URL");
    };
    let signed = auth::signed_target(&path, query);
    let signature = keys.signed_query(&signed, expires);
    Ok(match signed.split_once('?') {
        Some((_, kept)) => format!("{prefix}{path}?{kept}&{signature}"),
        None => format!("{prefix}{path}?{signature}"),
    })
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
