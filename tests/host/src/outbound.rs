//! Outbound HTTP (`wasi:http/outgoing-handler`) with Spin's rules:
//!
//! - a request is allowed only if a component's `allowed_outbound_hosts`
//!   entry matches its scheme, host and port; otherwise the guest gets
//!   `error-code::http-request-denied` at once (never a hang). Unlike Spin,
//!   relative URLs (`http://self`) and CIDR entries are not supported;
//! - `http://<component>.spin.internal/...` is service chaining: it needs an
//!   entry for that host (or `http://*.spin.internal`) and runs in-process in a
//!   fresh instance of the callee, as a spawned task, so several chained calls
//!   of one request run concurrently;
//! - other allowed hosts go to the network through wasmtime's default sender.

use wasmtime_wasi_http::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::body::HyperOutgoingBody;
use wasmtime_wasi_http::types::{
    HostFutureIncomingResponse, IncomingResponse, OutgoingRequestConfig, default_send_request,
};
use wasmtime_wasi_http::{HttpResult, WasiHttpCtx, WasiHttpView};

use crate::state::InstanceState;

const CHAINING_SUFFIX: &str = ".spin.internal";

/// A component's parsed `allowed_outbound_hosts`, matched like Spin's
/// `outbound-networking-config/src/allowed_hosts.rs`.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    entries: Vec<HostPattern>,
}

#[derive(Debug, Clone)]
struct HostPattern {
    /// `None` for `*://`.
    scheme: Option<String>,
    host: HostMatch,
    /// `None` for `:*`; otherwise a half-open range (`:80` is `80..81`).
    ports: Option<(u16, u32)>,
}

#[derive(Debug, Clone)]
enum HostMatch {
    Any,
    /// `*.example.com`, stored as `.example.com`.
    Subdomain(String),
    /// `self`: only relative URLs, which this host does not support.
    ToSelf,
    Exact(String),
}

impl AllowedHosts {
    /// Parses entries such as `https://example.com`, `http://localhost:3000`,
    /// `*://*.example.com:*`, `http://thumbnail.spin.internal` or
    /// `http://*.spin.internal`, with Spin's errors for malformed ones.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        if entries.len() == 1 && entries[0] == "insecure:allow-all" {
            return Err("'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic".into());
        }
        let entries = entries
            .iter()
            .map(|e| parse_entry(e))
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Whether a request to `scheme://host[:port]` may be made. A missing
    /// port means the scheme's well-known port; `*.spin.internal` hosts are
    /// ordinary host names here (so `*://*:*` also allows service chaining).
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let host = host.to_ascii_lowercase();
        self.entries.iter().any(|p| {
            let scheme_ok = p.scheme.as_deref().is_none_or(|s| s == scheme);
            let host_ok = match &p.host {
                HostMatch::Any => true,
                HostMatch::Subdomain(suffix) => host.ends_with(suffix.as_str()),
                HostMatch::ToSelf => false,
                HostMatch::Exact(h) => *h == host,
            };
            let port_ok = match p.ports {
                None => true,
                Some((lo, hi)) => port
                    .or_else(|| well_known_port(scheme))
                    .is_some_and(|q| lo <= q && u32::from(q) < hi),
            };
            scheme_ok && host_ok && port_ok
        })
    }
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn parse_entry(entry: &str) -> Result<HostPattern, String> {
    let bad = |why: String| format!("invalid allowed_outbound_hosts entry {entry:?}: {why}");
    let url = entry.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("does not contain a scheme (e.g., 'http://' or '*://')".into()))?;
    if scheme != "*" && (scheme.is_empty() || !scheme.chars().all(char::is_alphabetic)) {
        return Err(bad(format!(
            "scheme {scheme:?} contains non alphabetic character"
        )));
    }
    let (host, rest) = rest.rsplit_once(':').unwrap_or((rest, ""));
    let port = match rest.split_once('/') {
        Some((_, path)) if !path.is_empty() => {
            return Err(bad("has a path but is not allowed to".into()));
        }
        Some((port, _)) => port,
        None => rest,
    };
    let host = host.trim().trim_end_matches('/').to_ascii_lowercase();
    let host = if host == "*" {
        HostMatch::Any
    } else if host == "self" || host == "self.alt" {
        HostMatch::ToSelf
    } else if let Some(domain) = host.strip_prefix("*.") {
        if domain.contains('*') {
            return Err(bad("wildcards are allowed only as prefixes".into()));
        }
        HostMatch::Subdomain(format!(".{domain}"))
    } else if host.contains('*') || host.is_empty() || host.contains('/') {
        return Err(bad(
            "wildcards are allowed only as subdomains, and paths not at all".into(),
        ));
    } else {
        HostMatch::Exact(host)
    };
    let ports = if port == "*" {
        None
    } else if port.is_empty() {
        let p = well_known_port(scheme).ok_or_else(|| {
            bad(format!("no port was provided and the scheme {scheme:?} does not have a known default port number"))
        })?;
        Some((p, u32::from(p) + 1))
    } else if let Some((lo, hi)) = port.split_once("..") {
        let n = |s: &str| {
            s.parse::<u16>()
                .map_err(|_| bad(format!("port range {port:?} contains non-number")))
        };
        Some((n(lo)?, u32::from(n(hi)?)))
    } else {
        let p = port
            .parse::<u16>()
            .map_err(|_| bad(format!("port {port:?} is not a number")))?;
        Some((p, u32::from(p) + 1))
    };
    Ok(HostPattern {
        scheme: (scheme != "*").then(|| scheme.to_owned()),
        host,
        ports,
    })
}

/// The callee component of a `http://<id>.spin.internal` URL.
fn chaining_target(host: &str) -> Option<&str> {
    host.strip_suffix(CHAINING_SUFFIX)
        .filter(|id| !id.is_empty() && !id.contains('.'))
}

impl WasiHttpView for InstanceState {
    fn ctx(&mut self) -> &mut WasiHttpCtx {
        &mut self.http
    }

    fn table(&mut self) -> &mut wasmtime::component::ResourceTable {
        &mut self.table
    }

    fn send_request(
        &mut self,
        request: hyper::Request<HyperOutgoingBody>,
        config: OutgoingRequestConfig,
    ) -> HttpResult<HostFutureIncomingResponse> {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let Some(host) = uri.host().map(str::to_ascii_lowercase) else {
            return Err(ErrorCode::HttpRequestUriInvalid.into());
        };
        let port = uri.port_u16();
        if !self.component().allowed_hosts.allows(&scheme, &host, port) {
            eprintln!(
                "darkroom-host: component {:?} tried to make an HTTP request to a non-allowed host: {scheme}://{host}{} (add it to allowed_outbound_hosts)",
                self.component_id,
                port.map(|p| format!(":{p}")).unwrap_or_default()
            );
            return Err(ErrorCode::HttpRequestDenied.into());
        }
        let Some(target) = chaining_target(&host) else {
            return Ok(default_send_request(request, config));
        };
        let target = target.to_owned();
        let app = self.app.clone();
        let chained_peak = self.chained_peak.clone();
        let between_bytes_timeout = config.between_bytes_timeout;
        let handle = wasmtime_wasi::runtime::spawn(async move {
            match crate::server::handle_chained(app, &target, request, chained_peak).await {
                Ok(resp) => Ok(Ok(IncomingResponse {
                    resp,
                    worker: None,
                    between_bytes_timeout,
                })),
                Err(code) => Ok(Err(code)),
            }
        });
        Ok(HostFutureIncomingResponse::pending(handle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn matching() {
        let h = hosts(&[
            "https://example.com",
            "http://localhost:3000",
            "*://*.test.org:*",
            "http://thumbnail.spin.internal",
        ]);
        assert!(h.allows("https", "example.com", None));
        assert!(h.allows("https", "example.com", Some(443)));
        assert!(!h.allows("http", "example.com", None));
        assert!(!h.allows("https", "example.com", Some(8443)));
        assert!(h.allows("http", "localhost", Some(3000)));
        assert!(!h.allows("http", "localhost", Some(3001)));
        assert!(h.allows("http", "a.test.org", Some(1)));
        assert!(!h.allows("http", "test.org", Some(1)));
        assert!(h.allows("http", "thumbnail.spin.internal", None));
        assert!(!h.allows("http", "vectorize.spin.internal", None));
        let all = hosts(&["*://*:*"]);
        assert!(all.allows("http", "x.y", Some(5)));
        assert!(all.allows("http", "x.spin.internal", None));
        assert!(!hosts(&["http://self"]).allows("http", "self", None));
        assert!(AllowedHosts::parse(&["*://example.com".into()]).is_err());
        assert!(AllowedHosts::parse(&["insecure:allow-all".into()]).is_err());
        assert!(hosts(&["http://*.spin.internal"]).allows("http", "x.spin.internal", None));
        assert!(hosts(&["http://127.0.0.1:1..3"]).allows("http", "127.0.0.1", Some(2)));
        assert!(!hosts(&["http://127.0.0.1:1..3"]).allows("http", "127.0.0.1", Some(3)));
        assert!(AllowedHosts::parse(&["example.com".into()]).is_err());
    }
}
