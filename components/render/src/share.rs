//! `POST /api/images/{id}/share` `{"ttl": seconds, "variant": NAME?}` →
//! `{"url", "expires"}`: a link to the original (or a variant) that works for `ttl`
//! seconds when `url_signing_keys` is set, and a plain link otherwise (reads are public
//! then; `expires` is `null`).

use api::ApiError;
use darkroom_spin::{Incoming, Reply, auth, kv};
use serde::Deserialize;
use store::Derived;

use crate::config::Config;
use crate::unknown;

/// The body of a share request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Share {
    ttl: Option<u64>,
    variant: Option<String>,
}

/// Default lifetime of a share link: one day.
const DEFAULT_TTL: u64 = 24 * 3600;

pub async fn post(req: Incoming, id: &str) -> Result<Reply, ApiError> {
    let config = Config::load()?;
    let body = req.body(16 * 1024).await?;
    let share: Share = if body.trim_ascii().is_empty() {
        Share { ttl: None, variant: None }
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("expected {{\"ttl\": seconds, \"variant\": NAME}}: {e}")))?
    };
    let ttl = share.ttl.unwrap_or(DEFAULT_TTL);
    if ttl == 0 || ttl > config.max_share_ttl {
        return Err(ApiError::Unprocessable(format!("ttl: must be between 1 and max_share_ttl ({}) seconds", config.max_share_ttl)));
    }
    if !store::is_valid_id(id) {
        return Err(unknown(id));
    }
    let store = kv::open_store(&config.settings)?;
    if !store.has_image(id)? {
        return Err(unknown(id));
    }
    let path = match &share.variant {
        None => format!("/images/{id}"),
        Some(name) => {
            let exists = store::keys::is_valid_variant_name(name) && store.has_derived(id, Derived::Variant(name))?;
            if !exists {
                return Err(ApiError::NotFound(format!("image {id} has no variant named {name:?}")));
            }
            format!("/images/{id}/variants/{name}")
        }
    };
    let (url, expires) = match auth::signing_keys()? {
        Some(keys) => {
            let expires = auth::unix_now().saturating_add(ttl);
            (format!("{path}?{}", keys.signed_query(&path, expires)), Some(api::rfc3339_utc(expires * 1_000_000)))
        }
        None => (path, None),
    };
    Ok(Reply::json(201, &serde_json::json!({ "url": url, "expires": expires })))
}
