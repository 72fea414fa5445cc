"""Runs one Rust test binary built for wasm32-wasip1 in wasmtime (scripts/wasm-unit-tests.sh).

    python scripts/wasi_test_run.py TEST.wasm [LIBTEST ARGS...]

SIMD on, as Spin and the test host run the components (Cranelift). The repository is
opened to the guest at its own absolute path, so tests that read their fixtures through
`env!("CARGO_MANIFEST_DIR")` find them. Exits with the test binary's exit code.
"""
import os
import sys

import wasmtime


def main():
    wasm, *args = sys.argv[1:]
    cfg = wasmtime.Config()
    cfg.wasm_simd = True
    engine = wasmtime.Engine(cfg)
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    # One thread (no threads in WASI preview 1); no capture, since a panic aborts the
    # whole binary in wasm and a captured message would be lost with it.
    wasi.argv = [os.path.basename(wasm), "--test-threads=1", "--nocapture", *args]
    root = os.getcwd()
    wasi.preopen_dir(root, root)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, wasm))
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        sys.exit(e.code)
    except wasmtime.Trap as e:
        print(f"trap: {e}", file=sys.stderr)
        # A failing test panics, and a panic aborts: say so the way cargo would.
        print("test result: FAILED. the test binary aborted (a failed test panics, and panics abort in wasm)")
        sys.exit(101)


if __name__ == "__main__":
    main()
