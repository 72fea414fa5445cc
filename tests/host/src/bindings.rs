//! Host bindings for the Spin interfaces darkroom's components import,
//! generated from the WIT vendored in `tests/host/wit/` (spin-sdk 5.2.0).

wasmtime::component::bindgen!({
    path: "wit",
    world: "fermyon:spin/host",
    imports: { default: async | trappable },
    with: { "fermyon:spin/key-value.store": crate::kv::OpenStore },
});

pub use fermyon::spin::{key_value, variables};
