//! What a running app shares across requests ([`App`]) and what one request's
//! `Store` owns ([`InstanceState`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::bindings::ProxyPre;

use crate::kv::KeyValue;
use crate::memory::MemoryLimiter;
use crate::outbound::AllowedHosts;
use crate::routes::Router;
use crate::variables::Variables;

/// The loaded application: built once at start-up, shared by all requests.
pub struct App {
    pub router: Router,
    pub variables: Variables,
    pub kv: Arc<KeyValue>,
    /// Components reachable by a `[[trigger.http]]` (public or private).
    pub components: HashMap<String, ComponentRuntime>,
    pub max_instance_memory: Option<usize>,
}

/// One component, pre-instantiated: each request instantiates `pre` afresh.
pub struct ComponentRuntime {
    pub pre: ProxyPre<InstanceState>,
    pub allowed_stores: HashSet<String>,
    pub allowed_hosts: AllowedHosts,
    pub environment: Vec<(String, String)>,
}

/// The data of one request's `Store`.
pub struct InstanceState {
    pub app: Arc<App>,
    pub component_id: String,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub limiter: MemoryLimiter,
    /// Key-value stores currently open (Spin caps them at 256).
    pub open_stores: usize,
    /// Sum of the peak memory of the chained requests this one made.
    pub chained_peak: Arc<AtomicUsize>,
}

impl InstanceState {
    pub fn new(app: Arc<App>, component_id: &str) -> Self {
        let component = &app.components[component_id];
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout().inherit_stderr();
        for (k, v) in &component.environment {
            wasi.env(k, v);
        }
        let limiter = MemoryLimiter::new(app.max_instance_memory);
        Self {
            component_id: component_id.to_owned(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limiter,
            open_stores: 0,
            chained_peak: Arc::default(),
            app,
        }
    }

    /// The runtime data of the component this instance runs.
    pub fn component(&self) -> &ComponentRuntime {
        &self.app.components[&self.component_id]
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
