//! The `spin-*` request headers, computed exactly like Spin's
//! `crates/trigger-http/src/headers.rs` (`compute_default_headers`): names
//! are the `SPIN_*` constants lower-cased with `_` turned into `-`.

use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue, Uri};

use crate::routes::RouteMatch;

/// The header carrying the peak linear memory of the instance that handled
/// the request (darkroom-host only; Spin has no equivalent).
pub const PEAK_MEMORY: &str = "darkroom-host-peak-memory";

/// The header carrying how long the request's instantiation took, in µs
/// (darkroom-host only): the first line of the per-request breakdown.
pub const INSTANTIATE_US: &str = "darkroom-host-instantiate-us";

/// The client address Spin reports for service-chaining requests.
pub const CHAINED_CLIENT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// `(name, value)` pairs Spin adds to every request it hands to a component.
pub fn spin_headers(
    uri: &Uri,
    host: &str,
    m: &RouteMatch,
    client: SocketAddr,
) -> Vec<(String, String)> {
    let abs_path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let scheme = uri.scheme_str().unwrap_or("http");
    let mut res = vec![
        ("spin-path-info".to_owned(), m.path_info().to_owned()),
        (
            "spin-full-url".to_owned(),
            format!("{scheme}://{host}{abs_path}"),
        ),
        ("spin-matched-route".to_owned(), m.based_route().to_owned()),
        ("spin-base-path".to_owned(), "/".to_owned()),
        (
            "spin-raw-component-route".to_owned(),
            m.raw_route().to_owned(),
        ),
        (
            "spin-component-route".to_owned(),
            m.raw_route_or_prefix().to_owned(),
        ),
        ("spin-client-addr".to_owned(), client.to_string()),
    ];
    for (name, value) in m.params() {
        let key = format!("SPIN_PATH_MATCH_{}", name.to_ascii_uppercase());
        res.push((key.replace('_', "-").to_ascii_lowercase(), value.clone()));
    }
    res
}

/// Appends the `spin-*` headers to the request's own headers (Spin rebuilds
/// the map as "original headers, then spin headers"; invalid ones are skipped).
pub fn apply(headers: &mut HeaderMap, uri: &Uri, m: &RouteMatch, client: SocketAddr) {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    for (name, value) in spin_headers(uri, &host, m, client) {
        if let (Ok(n), Ok(v)) = (name.parse::<HeaderName>(), HeaderValue::from_str(&value)) {
            headers.append(n, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::Router;

    #[test]
    fn matches_spins_own_test() {
        let (r, _) = Router::build([("c", "/foo/:userid/...")]);
        let m = r.route("/foo/42/bar").unwrap();
        let uri: Uri = "https://fermyon.dev/foo/42/bar?key1=value1&key2=value2"
            .parse()
            .unwrap();
        let h = spin_headers(&uri, "fermyon.dev", &m, "127.0.0.1:8777".parse().unwrap());
        let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("spin-full-url"),
            Some("https://fermyon.dev/foo/42/bar?key1=value1&key2=value2")
        );
        assert_eq!(get("spin-path-info"), Some("/bar"));
        assert_eq!(get("spin-matched-route"), Some("/foo/:userid/..."));
        assert_eq!(get("spin-base-path"), Some("/"));
        assert_eq!(get("spin-raw-component-route"), Some("/foo/:userid/..."));
        assert_eq!(get("spin-component-route"), Some("/foo/:userid"));
        assert_eq!(get("spin-client-addr"), Some("127.0.0.1:8777"));
        assert_eq!(get("spin-path-match-userid"), Some("42"));
    }
}
