//! The HTTP/1.1 server and the request executor shared by inbound requests
//! and service chaining (Spin's `HttpServer::handle` /
//! `handle_trigger_route` and its wasi executor).
//!
//! Every request gets a fresh `Store` and instance from the component's
//! `ProxyPre`; the guest runs in its own task so it may keep streaming the
//! body after sending the response head. Anything that goes wrong in the
//! guest before a response is set (trap, instantiation failure, an error
//! response) becomes an empty 500, as in Spin, and the server keeps serving.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::body::HyperOutgoingBody;

use crate::headers::{self, CHAINED_CLIENT_ADDR, INSTANTIATE_US, PEAK_MEMORY};
use crate::routes::RouteMatch;
use crate::state::{App, InstanceState};

type Body = HyperOutgoingBody;

/// Accepts connections until `shutdown` fires.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let (stream, client_addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("darkroom-host: accept failed: {e}");
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        // Responses are written in a few small pieces; without this, delayed ACKs stall
        // each keep-alive response by tens of milliseconds (docs/performance.md).
        if let Err(e) = stream.set_nodelay(true) {
            eprintln!("darkroom-host: TCP_NODELAY for {client_addr}: {e}");
        }
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(handle(app, req, client_addr).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
                && !e.is_incomplete_message()
            {
                eprintln!("darkroom-host: error serving {client_addr}: {e}");
            }
        });
    }
}

/// Who started a request: the log line and the memory header depend on it.
enum Caller {
    Client {
        method: String,
        path: String,
        start: Instant,
    },
    /// A chained call; its peak memory is added to the caller's tally.
    Chained(Arc<AtomicUsize>),
}

/// Handles one request from the network.
async fn handle(app: Arc<App>, req: Request<Incoming>, client_addr: SocketAddr) -> Response<Body> {
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let mut req = req.map(|b| {
        b.map_err(wasmtime_wasi_http::hyper_request_error)
            .boxed_unsync()
    });
    // Spin drops a `Host: *.spin.internal` header from outside requests.
    if req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| {
            h.split(':')
                .next()
                .unwrap_or("")
                .ends_with(".spin.internal")
        })
    {
        req.headers_mut().remove(http::header::HOST);
    }
    if path == "/.well-known/spin/health" {
        return text(StatusCode::OK, "OK");
    }
    let Some(route_match) = app.router.route(&path) else {
        log_line(
            &method,
            &path,
            StatusCode::NOT_FOUND.as_u16(),
            start,
            None,
            0,
        );
        return empty(StatusCode::NOT_FOUND);
    };
    execute(
        &app,
        route_match,
        req,
        client_addr,
        Caller::Client {
            method,
            path,
            start,
        },
    )
    .await
}

/// Runs a service-chaining request (`http://<target>.spin.internal/...`) in a
/// fresh instance of `target`, as Spin's outbound interceptor does: the
/// callee sees a synthetic `/...` match with the whole path as path info.
pub async fn handle_chained(
    app: Arc<App>,
    target: &str,
    req: Request<Body>,
    caller_chained_peak: Arc<AtomicUsize>,
) -> Result<Response<Body>, ErrorCode> {
    if !app.components.contains_key(target) {
        eprintln!(
            "darkroom-host: service chaining to {target:?}: no such component with an HTTP trigger"
        );
        return Err(ErrorCode::DestinationNotFound);
    }
    let route_match = RouteMatch::synthetic(target, req.uri().path());
    Ok(execute(
        &app,
        route_match,
        req,
        CHAINED_CLIENT_ADDR,
        Caller::Chained(caller_chained_peak),
    )
    .await)
}

async fn execute(
    app: &Arc<App>,
    route_match: RouteMatch,
    mut req: Request<Body>,
    client: SocketAddr,
    caller: Caller,
) -> Response<Body> {
    if let Err(message) = set_req_uri(&mut req) {
        return text(StatusCode::BAD_REQUEST, &message);
    }
    let uri = req.uri().clone();
    headers::apply(req.headers_mut(), &uri, &route_match, client);

    let component_id = route_match.component_id.clone();
    let state = InstanceState::new(app.clone(), &component_id);
    let peak = state.limiter.peak();
    let chained_peak = state.chained_peak.clone();
    let pre = app.components[&component_id].pre.clone();
    let mut store = Store::new(pre.engine(), state);
    store.limiter(|s| &mut s.limiter);

    let (tx, rx) = tokio::sync::oneshot::channel();
    let prepared = (|| -> wasmtime::Result<_> {
        let data = store.data_mut();
        Ok((
            data.new_incoming_request(Scheme::Http, req)?,
            data.new_response_outparam(tx)?,
        ))
    })();
    let (request, outparam) = match prepared {
        Ok(p) => p,
        Err(e) => return failed(&component_id, &format!("{e:?}"), &caller),
    };
    let instantiate_us = Arc::new(AtomicU64::new(0));
    let instantiated = instantiate_us.clone();
    let task = tokio::spawn(async move {
        let begun = Instant::now();
        let proxy = pre.instantiate_async(&mut store).await?;
        instantiated.store(begun.elapsed().as_micros() as u64, Ordering::Relaxed);
        proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, request, outparam)
            .await
    });

    let (response, task) = match rx.await {
        Ok(Ok(resp)) => (resp, Some(task)),
        Ok(Err(code)) => (
            failed(
                &component_id,
                &format!("guest failed to produce a response: {code:?}"),
                &caller,
            ),
            Some(task),
        ),
        Err(_) => {
            let why = match task.await {
                Ok(Ok(())) => "guest returned without setting a response".to_owned(),
                Ok(Err(e)) => format!("guest invocation failed: {e:?}"),
                Err(e) => format!("guest invocation panicked: {e}"),
            };
            (failed(&component_id, &why, &caller), None)
        }
    };
    let status = response.status().as_u16();
    let mut response = response;
    if let Caller::Client { .. } = caller {
        let headers = response.headers_mut();
        headers.insert(PEAK_MEMORY, HeaderValue::from(peak.get() as u64));
        headers.insert(
            INSTANTIATE_US,
            HeaderValue::from(instantiate_us.load(Ordering::Relaxed)),
        );
    }
    // Account for the instance once it has finished (it may still be
    // streaming the body): log line for client requests, tally for chained.
    tokio::spawn(async move {
        if let Some(task) = task {
            match task.await {
                Ok(Err(e)) => eprintln!(
                    "darkroom-host: component {component_id:?} failed after the response started: {e:?}"
                ),
                Err(e) => eprintln!("darkroom-host: component {component_id:?} panicked: {e}"),
                Ok(Ok(())) => {}
            }
        }
        let own = peak.get();
        let chained = chained_peak.load(Ordering::Relaxed);
        match caller {
            Caller::Client {
                method,
                path,
                start,
            } => log_line(&method, &path, status, start, Some(own), chained),
            Caller::Chained(tally) => {
                tally.fetch_add(own + chained, Ordering::Relaxed);
            }
        }
    });
    response
}

/// Logs the error behind a 500, as Spin does, and builds the response.
fn failed(component_id: &str, why: &str, caller: &Caller) -> Response<Body> {
    let via = if matches!(caller, Caller::Chained(_)) {
        " (chained)"
    } else {
        ""
    };
    eprintln!("darkroom-host: error processing request for component {component_id:?}{via}: {why}");
    empty(StatusCode::INTERNAL_SERVER_ERROR)
}

fn log_line(
    method: &str,
    path: &str,
    status: u16,
    start: Instant,
    peak: Option<usize>,
    chained: usize,
) {
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    match peak {
        Some(peak) => eprintln!(
            "darkroom-host: {method} {path} -> {status} in {ms:.1} ms, peak memory {peak} bytes (+{chained} bytes in chained calls)"
        ),
        None => eprintln!("darkroom-host: {method} {path} -> {status} in {ms:.1} ms"),
    }
}

/// Gives the request an absolute URI from the `Host` header or its own
/// authority (Spin's `set_req_uri`), so `spin-full-url` and the guest's
/// `authority` are right.
fn set_req_uri(req: &mut Request<Body>) -> Result<(), String> {
    let header = req
        .headers()
        .get(http::header::HOST)
        .map(|h| {
            h.to_str()
                .map_err(|_| "'Host' header is not valid UTF-8".to_owned())?
                .parse::<http::uri::Authority>()
                .map_err(|_| "'Host' header contains an invalid authority".to_owned())
        })
        .transpose()?;
    let mut parts = req.uri().clone().into_parts();
    let authority = match (header, parts.authority.take()) {
        (None, None) => return Err("no 'Host' header present in request".into()),
        (Some(a), None) | (None, Some(a)) => a,
        (Some(h), Some(u)) if h == u => h,
        (Some(_), Some(_)) => {
            return Err("authority in 'Host' header does not match authority in URI".into());
        }
    };
    parts.scheme = Some(http::uri::Scheme::HTTP);
    parts.authority = Some(authority);
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    *req.uri_mut() = Uri::from_parts(parts).map_err(|e| e.to_string())?;
    Ok(())
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(
        Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::copy_from_slice(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r
}
