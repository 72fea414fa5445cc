//! How instances get their memories, tables and stacks: wasmtime's pooling allocator,
//! configured as Spin's `spin-core` does (`crates/core/src/lib.rs`, `Config::default`),
//! or on-demand `mmap`s.
//!
//! Spin turns pooling on whenever the machine can reserve 42 bits of address space,
//! so `spin up` users get it; the benchmark must measure what they get. Pooling
//! reserves every slot once at start-up and recycles it (`madvise`) instead of mapping
//! and unmapping a linear memory, a table and an async stack per request. Turn it off
//! with `--pooling off` (or `DARKROOM_HOST_POOLING=0`, Spin's `SPIN_WASMTIME_POOLING=0`)
//! to compare. The sizes below are Spin's, including its environment overrides, so a
//! deployment tuned for Spin is tuned the same way here.

use std::sync::OnceLock;

use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

const MB: usize = 1 << 20;
const GB: usize = 1 << 30;

static CHOICE: OnceLock<bool> = OnceLock::new();

/// Chooses pooling (`true`) or on-demand allocation for this process. Only the first
/// choice counts, and only before the first host starts (the engine is process-wide);
/// returns the choice in force.
pub fn choose_pooling(on: bool) -> bool {
    *CHOICE.get_or_init(|| on)
}

/// Whether this process's engine pools instances: the explicit choice, else
/// `DARKROOM_HOST_POOLING` or `SPIN_WASMTIME_POOLING` (`1`/`0`), else Spin's probe.
pub fn pooling() -> bool {
    *CHOICE.get_or_init(|| {
        ["DARKROOM_HOST_POOLING", "SPIN_WASMTIME_POOLING"]
            .iter()
            .find_map(|k| match std::env::var(k).as_deref() {
                Ok("1") => Some(true),
                Ok("0") => Some(false),
                Ok(other) => {
                    eprintln!("darkroom-host: ignoring {k}={other:?} (expected 1 or 0)");
                    None
                }
                Err(_) => None,
            })
            .unwrap_or_else(address_space_allows_pooling)
    })
}

/// Sets `config`'s allocation strategy from [`pooling`].
pub fn configure(config: &mut Config) {
    if pooling() {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(spin_pool()));
    } else {
        config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    }
}

/// Spin's pool: `SPIN_MAX_INSTANCE_COUNT` (1,000) concurrent instances and the limits
/// derived from it, each overridable by the same `SPIN_WASMTIME_*` variable as in Spin.
fn spin_pool() -> PoolingAllocationConfig {
    let max_instances = env("SPIN_MAX_INSTANCE_COUNT", 1_000u32);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(env("SPIN_WASMTIME_INSTANCE_COUNT", max_instances))
        .total_memories(env("SPIN_WASMTIME_TOTAL_MEMORIES", max_instances))
        .total_tables(env("SPIN_WASMTIME_TOTAL_TABLES", 2 * max_instances))
        .total_stacks(env("SPIN_WASMTIME_TOTAL_STACKS", max_instances))
        .total_core_instances(env("SPIN_WASMTIME_TOTAL_CORE_INSTANCES", 4 * max_instances))
        .table_elements(env("SPIN_WASMTIME_INSTANCE_TABLE_ELEMENTS", 100_000))
        .max_component_instance_size(env("SPIN_WASMTIME_INSTANCE_SIZE", 10 * MB))
        .max_core_instance_size(env("SPIN_WASMTIME_CORE_INSTANCE_SIZE", 10 * MB))
        .max_core_instances_per_component(env("SPIN_WASMTIME_CORE_INSTANCE_COUNT", 200))
        .max_tables_per_component(env("SPIN_WASMTIME_INSTANCE_TABLES", 64))
        .max_memories_per_component(env("SPIN_WASMTIME_INSTANCE_MEMORIES", 32))
        .max_tables_per_module(env("SPIN_WASMTIME_MAX_TABLES_PER_MODULE", 2))
        .max_memories_per_module(env("SPIN_WASMTIME_MAX_MEMORIES_PER_MODULE", 2))
        // The per-request cap stays the store's limiter (`--max-instance-memory`).
        .max_memory_size(4 * GB)
        .linear_memory_keep_resident(env("SPIN_WASMTIME_LINEAR_MEMORY_KEEP_RESIDENT", 2 * MB))
        .table_keep_resident(env("SPIN_WASMTIME_TABLE_KEEP_RESIDENT", MB / 2));
    pool
}

/// A variable's value, else `default`. Unlike Spin (which panics), a bad value is
/// reported and ignored.
fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("darkroom-host: ignoring {name}={v:?} (not a number)");
            default
        }),
        Err(_) => default,
    }
}

/// Spin's probe (`use_pooling_allocator_by_default`): a pool of 1,000 memories
/// reserves about 2^42 bytes of address space, which some 39-bit systems lack; try to
/// reserve that much once and pool only if it works.
fn address_space_allows_pooling() -> bool {
    const BITS: u32 = 42;
    let mut config = Config::new();
    config.wasm_memory64(true);
    config.memory_reservation(1 << BITS);
    let Ok(engine) = wasmtime::Engine::new(&config) else {
        return false;
    };
    let mut store = wasmtime::Store::new(&engine, ());
    let ty = wasmtime::MemoryType::new64(0, Some(1 << (BITS - 16)));
    wasmtime::Memory::new(&mut store, ty).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spins_pool_builds_an_engine() {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(spin_pool()));
        wasmtime::Engine::new(&config).expect("Spin's pooling limits are a valid config");
    }
}
