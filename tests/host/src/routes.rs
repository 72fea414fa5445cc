//! HTTP route matching with Spin's precedence (`crates/http/src/routes.rs`,
//! which delegates to `routefinder`): a route is a list of segments, exact
//! segments beat `:param` segments beat a trailing wildcard, compared from the
//! left, so `/one/two/...` beats `/one/...` and `/foo` beats `/foo/...` for
//! `/foo`. Private routes never enter the router; they are reached only by
//! service chaining through [`RouteMatch::synthetic`].

use std::fmt;

/// `(name, value)` of each `:name` segment.
type Params = Vec<(String, String)>;

/// One public route of the application.
#[derive(Debug, Clone)]
struct Route {
    component_id: String,
    /// The route with the (always `/`) base applied and one trailing slash
    /// removed, like Spin's `based_route` (`/` becomes the empty string).
    based_route: String,
    /// The route as written in the manifest.
    raw_route: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Exact(String),
    Param(String),
    Wildcard,
}

/// The router over all public `[[trigger.http]]` routes.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

/// The outcome of routing one path: which component, and what the `spin-*`
/// headers need to know about the match.
#[derive(Debug, Clone)]
pub struct RouteMatch {
    pub component_id: String,
    based_route: String,
    raw_route: String,
    /// `spin-path-info`.
    path_info: String,
    /// `(name, value)` of each `:name` segment.
    params: Vec<(String, String)>,
}

impl Router {
    /// Builds the router from `(component id, raw route)` pairs in manifest
    /// order. A duplicate route replaces the earlier one (Spin keeps the last
    /// and logs the replaced one, returned here as `(route, replaced, effective)`).
    pub fn build<'a>(
        routes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Self, Vec<(String, String, String)>) {
        let mut out: Vec<Route> = Vec::new();
        let mut duplicates = Vec::new();
        for (component_id, raw) in routes {
            let based_route = sanitize(&absolutize(raw));
            let route = Route {
                component_id: component_id.to_owned(),
                segments: parse_segments(&based_route),
                based_route,
                raw_route: raw.to_owned(),
            };
            if let Some(existing) = out.iter_mut().find(|r| r.raw_route == raw) {
                duplicates.push((
                    raw.to_owned(),
                    existing.component_id.clone(),
                    component_id.to_owned(),
                ));
                *existing = route;
            } else {
                out.push(route);
            }
        }
        (Self { routes: out }, duplicates)
    }

    /// Routes a request path (without the query), or `None` for a 404.
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.routes
            .iter()
            .filter_map(|r| r.matches(&parts).map(|m| (r, m)))
            .max_by(|(a, _), (b, _)| rank(&a.segments).cmp(&rank(&b.segments)))
            .map(|(route, (params, wildcard))| RouteMatch {
                component_id: route.component_id.clone(),
                based_route: route.based_route.clone(),
                raw_route: route.raw_route.clone(),
                path_info: wildcard
                    .map(|rest| trailing_wildcard(&rest, path.ends_with('/')))
                    .unwrap_or_default(),
                params,
            })
    }

    /// `(component id, display route)` in manifest order, for the start-up banner.
    pub fn routes(&self) -> impl Iterator<Item = (&str, DisplayRoute<'_>)> {
        self.routes
            .iter()
            .map(|r| (r.component_id.as_str(), DisplayRoute(r)))
    }
}

/// Formats a route like `spin up` prints it: `/api/images` or `/static (wildcard)`.
pub struct DisplayRoute<'a>(&'a Route);

impl fmt::Display for DisplayRoute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        match r.segments.last() {
            Some(Segment::Wildcard) => {
                let prefix = r
                    .based_route
                    .strip_suffix("/...")
                    .or_else(|| r.based_route.strip_suffix("/*"))
                    .unwrap_or(&r.based_route);
                write!(f, "{prefix} (wildcard)")
            }
            _ => write!(f, "{}", r.based_route),
        }
    }
}

impl Route {
    /// Matches path parts; returns the captured params and, for wildcard
    /// routes, the parts the wildcard swallowed.
    fn matches(&self, parts: &[&str]) -> Option<(Params, Option<Vec<String>>)> {
        let mut params = Vec::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Wildcard => {
                    let rest = parts.get(i..).unwrap_or_default();
                    return Some((params, Some(rest.iter().map(|s| s.to_string()).collect())));
                }
                Segment::Exact(s) => {
                    if parts.get(i) != Some(&s.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    params.push((name.clone(), (*parts.get(i)?).to_owned()));
                }
            }
        }
        (parts.len() == self.segments.len()).then_some((params, None))
    }
}

/// Lexicographic specificity: exact (3) > param (2) > end of route (1) >
/// wildcard (0), so an exact route beats a wildcard that also matches.
fn rank(segments: &[Segment]) -> Vec<u8> {
    let mut r: Vec<u8> = segments
        .iter()
        .map(|s| match s {
            Segment::Exact(_) => 3,
            Segment::Param(_) => 2,
            Segment::Wildcard => 0,
        })
        .collect();
    r.push(1);
    r
}

fn parse_segments(based_route: &str) -> Vec<Segment> {
    let route = based_route
        .strip_suffix("/...")
        .map(|p| format!("{p}/*"))
        .unwrap_or_else(|| based_route.to_owned());
    let route = if route == "..." {
        "*".to_owned()
    } else {
        route
    };
    route
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s == "*" {
                Segment::Wildcard
            } else if let Some(name) = s.strip_prefix(':') {
                Segment::Param(name.to_owned())
            } else {
                Segment::Exact(s.to_owned())
            }
        })
        .collect()
}

/// Spin keeps the trailing slash that routefinder drops from the wildcard.
fn trailing_wildcard(rest: &[String], path_ends_with_slash: bool) -> String {
    let s = rest.join("/");
    match (s.is_empty(), path_ends_with_slash) {
        (true, false) => s,
        (true, true) => "/".to_owned(),
        (false, false) => format!("/{s}"),
        (false, true) => format!("/{s}/"),
    }
}

fn absolutize(s: &str) -> String {
    if s.starts_with('/') {
        s.to_owned()
    } else {
        format!("/{s}")
    }
}

fn sanitize(s: &str) -> String {
    s.strip_suffix('/').unwrap_or(s).to_owned()
}

impl RouteMatch {
    /// The match Spin synthesises for a service-chaining request: the callee
    /// behaves as if it were mounted at `/...`, with the whole path as path info.
    pub fn synthetic(component_id: &str, path: &str) -> Self {
        Self {
            component_id: component_id.to_owned(),
            based_route: "/...".into(),
            raw_route: "/...".into(),
            path_info: path.to_owned(),
            params: Vec::new(),
        }
    }

    /// `spin-matched-route`: the route with the base applied.
    pub fn based_route(&self) -> &str {
        &self.based_route
    }

    /// `spin-raw-component-route`: the route as written in the manifest.
    pub fn raw_route(&self) -> &str {
        &self.raw_route
    }

    /// `spin-component-route`: the raw route without a trailing `/...`.
    pub fn raw_route_or_prefix(&self) -> &str {
        self.raw_route
            .strip_suffix("/...")
            .unwrap_or(&self.raw_route)
    }

    /// `spin-path-info`: what the trailing wildcard matched (empty otherwise).
    pub fn path_info(&self) -> &str {
        &self.path_info
    }

    /// `:name` captures, for `spin-path-match-<name>`.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        Router::build(routes.iter().copied()).0
    }

    fn id(r: &Router, path: &str) -> Option<String> {
        r.route(path).map(|m| m.component_id)
    }

    #[test]
    fn exact_param_wildcard_precedence() {
        let r = router(&[
            ("all", "/..."),
            ("one", "/one/..."),
            ("onetwo", "/one/two/..."),
            ("exact", "/one"),
            ("param", "/one/:x"),
            ("root", "/"),
        ]);
        assert_eq!(id(&r, "/one").as_deref(), Some("exact"));
        assert_eq!(id(&r, "/one/z").as_deref(), Some("param"));
        assert_eq!(id(&r, "/one/two").as_deref(), Some("onetwo"));
        assert_eq!(id(&r, "/one/z/y").as_deref(), Some("one"));
        assert_eq!(id(&r, "/one/two/three").as_deref(), Some("onetwo"));
        assert_eq!(id(&r, "/").as_deref(), Some("root"));
        assert_eq!(id(&r, "/else").as_deref(), Some("all"));
    }

    #[test]
    fn no_match_is_none_and_duplicates_keep_the_last() {
        let (r, dups) = Router::build([("a", "/x"), ("b", "/x")]);
        assert_eq!(id(&r, "/x").as_deref(), Some("b"));
        assert_eq!(dups.len(), 1);
        assert_eq!(id(&r, "/y"), None);
    }

    #[test]
    fn path_info_and_params_like_spin() {
        let r = router(&[("c", "/foo/:userid/...")]);
        let m = r.route("/foo/42/bar").unwrap();
        assert_eq!(m.path_info(), "/bar");
        assert_eq!(m.params(), &[("userid".to_string(), "42".to_string())]);
        assert_eq!(m.based_route(), "/foo/:userid/...");
        assert_eq!(m.raw_route_or_prefix(), "/foo/:userid");
        let r = router(&[("c", "/foo/...")]);
        assert_eq!(r.route("/foo").unwrap().path_info(), "");
        assert_eq!(r.route("/foo/").unwrap().path_info(), "/");
        assert_eq!(r.route("/foo/a/b/").unwrap().path_info(), "/a/b/");
        let r = router(&[("c", "/")]);
        assert_eq!(r.route("/").unwrap().based_route(), "");
    }
}
