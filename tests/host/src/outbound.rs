//! Outbound HTTP (`wasi:http/outgoing-handler`) with Spin's rules:
//!
//! - a request is allowed only if a component's `allowed_outbound_hosts`
//!   entry matches its scheme, host and port; otherwise the guest gets
//!   `error-code::http-request-denied` at once (never a hang);
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

/// A component's parsed `allowed_outbound_hosts`.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    allow_all: bool,
    entries: Vec<HostPattern>,
}

#[derive(Debug, Clone)]
struct HostPattern {
    /// `None` for `*://`.
    scheme: Option<String>,
    host: String,
    port: PortPattern,
}

#[derive(Debug, Clone)]
enum PortPattern {
    Any,
    /// No port written: the scheme's default port.
    Default,
    Range(u16, u16),
}

impl AllowedHosts {
    /// Parses entries such as `https://example.com`, `http://localhost:3000`,
    /// `*://*.example.com:*`, `http://thumbnail.spin.internal`,
    /// `http://*.spin.internal` or `insecure:allow-all`.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut out = Self::default();
        for entry in entries {
            if entry == "insecure:allow-all" {
                out.allow_all = true;
                continue;
            }
            out.entries.push(parse_entry(entry)?);
        }
        Ok(out)
    }

    /// Whether a request to `scheme://host[:port]` may be made.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let host = host.to_ascii_lowercase();
        let chaining = host.ends_with(CHAINING_SUFFIX);
        if self.allow_all && !chaining {
            return true;
        }
        self.entries.iter().any(|p| {
            let scheme_ok = p.scheme.as_deref().is_none_or(|s| s == scheme);
            let host_ok = if p.host == "*" {
                !chaining
            } else if let Some(suffix) = p.host.strip_prefix("*.") {
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix)
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            } else {
                p.host == host
            };
            let effective = port.or(match scheme {
                "http" => Some(80),
                "https" => Some(443),
                _ => None,
            });
            let port_ok = match p.port {
                PortPattern::Any => true,
                PortPattern::Range(lo, hi) => effective.is_some_and(|q| lo <= q && q <= hi),
                PortPattern::Default => {
                    // No port in the entry: the entry's scheme default (or the
                    // request scheme's default for `*://`).
                    let default = match p.scheme.as_deref().unwrap_or(scheme) {
                        "http" => Some(80),
                        "https" => Some(443),
                        _ => None,
                    };
                    chaining || (effective.is_some() && effective == default)
                }
            };
            scheme_ok && host_ok && port_ok
        })
    }
}

fn parse_entry(entry: &str) -> Result<HostPattern, String> {
    let bad = |why: &str| format!("invalid allowed_outbound_hosts entry {entry:?}: {why}");
    let (scheme, rest) = entry
        .split_once("://")
        .ok_or_else(|| bad("expected scheme://host[:port]"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') {
        return Err(bad("paths are not allowed"));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    if host.is_empty() {
        return Err(bad("missing host"));
    }
    let port = match port {
        None => PortPattern::Default,
        Some("*") => PortPattern::Any,
        Some(p) => match p.split_once("..") {
            Some((lo, hi)) => PortPattern::Range(
                lo.parse().map_err(|_| bad("invalid port range"))?,
                hi.parse::<u16>()
                    .map_err(|_| bad("invalid port range"))?
                    .saturating_sub(1),
            ),
            None => {
                let n = p.parse().map_err(|_| bad("invalid port"))?;
                PortPattern::Range(n, n)
            }
        },
    };
    Ok(HostPattern {
        scheme: (scheme != "*").then(|| scheme.to_ascii_lowercase()),
        host: host.to_ascii_lowercase(),
        port,
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
        assert!(!all.allows("http", "x.spin.internal", None));
        assert!(hosts(&["http://*.spin.internal"]).allows("http", "x.spin.internal", None));
        assert!(hosts(&["http://127.0.0.1:1..3"]).allows("http", "127.0.0.1", Some(2)));
        assert!(!hosts(&["http://127.0.0.1:1..3"]).allows("http", "127.0.0.1", Some(3)));
        assert!(AllowedHosts::parse(&["example.com".into()]).is_err());
    }
}
