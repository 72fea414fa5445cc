//! probe: a Spin component that exercises darkroom-host in the host's own
//! tests. One `op` query parameter selects what it does; every answer is JSON.
//!
//! - `op=headers` (default): the component's name and every `spin-*` header
//! - `op=kv-set|kv-get&label=L&key=K[&value=V]`: key-value access
//! - `op=var&name=N`: `variables::get`
//! - `op=fetch&url=U`: an outbound GET
//! - `op=chain&run=R`: two concurrent chained calls to the private `worker`,
//!   each waiting (bounded) for the other: both succeed only if they overlap
//! - `op=chain-a|chain-b&run=R`: the two halves of `chain`
//! - `op=chain-headers`: the `spin-*` headers the chained `worker` received
//! - `op=alloc&mib=N`: allocate and touch N MiB
//! - `op=trap`: panic (a wasm trap)
//!
//! Without an `op` parameter, the `PROBE_DEFAULT_OP` environment variable (from the
//! manifest's `environment`) chooses, so a manifest variant can put the probe in a
//! real component's place, e.g. a `thumbnail` that always traps.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use spin_sdk::http::{IntoResponse, Request, Response, send};
use spin_sdk::http_component;
use spin_sdk::key_value::{Error as KvError, Store};

#[http_component]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let q: HashMap<String, String> = req
        .query()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let arg = |k: &str| q.get(k).cloned().unwrap_or_default();
    let op = q
        .get("op")
        .cloned()
        .unwrap_or_else(|| std::env::var("PROBE_DEFAULT_OP").unwrap_or_default());
    let body = match op.as_str() {
        "" | "headers" => headers(&req),
        "kv-set" => kv(&arg("label"), |s| {
            s.set(&arg("key"), arg("value").as_bytes())
                .map(|()| json!(true))
        }),
        "kv-get" => kv(&arg("label"), |s| {
            s.get(&arg("key"))
                .map(|v| json!(v.map(|v| String::from_utf8_lossy(&v).into_owned())))
        }),
        "var" => match spin_sdk::variables::get(&arg("name")) {
            Ok(v) => json!({ "value": v }),
            Err(e) => json!({ "error": format!("{e:?}") }),
        },
        "fetch" => match send::<_, Response>(Request::get(arg("url")).build()).await {
            Ok(r) => json!({ "status": r.status(), "body": String::from_utf8_lossy(r.body()) }),
            Err(e) => json!({ "error": format!("{e:?}") }),
        },
        "chain" => {
            let run = arg("run");
            let a = call(format!(
                "http://worker.spin.internal/chain/a?op=chain-a&run={run}"
            ));
            let b = call(format!(
                "http://worker.spin.internal/chain/b?op=chain-b&run={run}"
            ));
            let (a, b) = futures::join!(a, b);
            json!({ "a": a, "b": b })
        }
        "chain-a" => meet(&arg("run"), "a", "b"),
        "chain-b" => meet(&arg("run"), "b", "a"),
        "chain-headers" => call("http://worker.spin.internal/some/path?x=1".into()).await,
        "alloc" => {
            let n = arg("mib").parse::<usize>().unwrap_or(0) << 20;
            let mut v = vec![0u8; n];
            for i in (0..n).step_by(4096) {
                v[i] = 1;
            }
            json!({ "touched": std::hint::black_box(&v).iter().step_by(4096).map(|b| *b as usize).sum::<usize>() })
        }
        "trap" => panic!("probe: trap requested"),
        other => json!({ "error": format!("unknown op {other:?}") }),
    };
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build())
}

fn headers(req: &Request) -> Value {
    let spin: serde_json::Map<String, Value> = req
        .headers()
        .filter(|(k, _)| k.starts_with("spin-") || *k == "host")
        .map(|(k, v)| (k.to_owned(), json!(v.as_str().unwrap_or_default())))
        .collect();
    json!({
        "component": spin_sdk::variables::get("component_name").unwrap_or_default(),
        "method": req.method().to_string(),
        "path": req.path(),
        "headers": spin,
    })
}

fn kv(label: &str, f: impl FnOnce(&Store) -> Result<Value, KvError>) -> Value {
    match Store::open(label).and_then(|s| f(&s)) {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({ "error": match e {
            KvError::AccessDenied => "access-denied".to_owned(),
            KvError::NoSuchStore => "no-such-store".to_owned(),
            KvError::StoreTableFull => "store-table-full".to_owned(),
            KvError::Other(m) => format!("other: {m}"),
        }}),
    }
}

async fn call(url: String) -> Value {
    match send::<_, Response>(Request::get(url).build()).await {
        Ok(r) => json!({
            "status": r.status(),
            "body": serde_json::from_slice::<Value>(r.body()).unwrap_or(Value::Null),
        }),
        Err(e) => json!({ "error": format!("{e:?}") }),
    }
}

/// Half of the overlap proof: announce `me`, then wait (bounded) until
/// `other` has announced itself. If the two calls ran one after the other,
/// the first would time out.
fn meet(run: &str, me: &str, other: &str) -> Value {
    let store = Store::open_default().expect("default store");
    store
        .set(&format!("chain/{run}/{me}"), b"entered")
        .expect("set");
    for _ in 0..500 {
        if store
            .exists(&format!("chain/{run}/{other}"))
            .unwrap_or(false)
        {
            return json!({ "met": other });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    json!({ "timeout": other })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
