"""Stage breakdown of a render (bench/render.sh): the same example binary
(crates/render/examples/render_stages.rs) natively and in wasm, side by side.

    python bench/render_stages.py NATIVE_BIN WASM_FILE REPS W H JPEG

The wasm file is the example built for wasm32-wasip1 with the components' flags
(simd128, libwebp's SSE2 on wasm SIMD); it runs here in wasmtime (the `wasmtime` wheel
from PyPI, Cranelift, SIMD on), as the test host and Spin run the components. Prints a
markdown table of median microseconds per stage and the wasm/native ratio.
"""
import os
import subprocess
import sys

import wasmtime


def parse(text):
    """`stage median_us min_us` lines -> {stage: median_us}; '#' lines are headers."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, median, _ = line.split()
        rows[name] = float(median)
    return rows


def run_wasm(wasm, args, jpeg):
    cfg = wasmtime.Config()
    cfg.wasm_simd = True
    engine = wasmtime.Engine(cfg)
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    out = os.path.join(os.path.dirname(os.path.abspath(jpeg)), "render-stages-wasm.out")
    wasi.stdout_file = out
    wasi.inherit_stderr()
    wasi.preopen_dir(os.path.dirname(os.path.abspath(jpeg)), "/data")
    wasi.argv = ["render_stages", *args, "/data/" + os.path.basename(jpeg)]
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, wasm))
    instance.exports(store)["_start"](store)
    with open(out) as f:
        return f.read()


def main():
    native, wasm, reps, w, h, jpeg = sys.argv[1:7]
    args = [reps, w, h]
    native_out = subprocess.run([native, *args, jpeg], check=True, capture_output=True, text=True).stdout
    wasm_out = run_wasm(wasm, args, jpeg)
    print(next(l for l in native_out.splitlines() if l.startswith("#")).replace(jpeg, os.path.basename(jpeg)))
    print()
    n, m = parse(native_out), parse(wasm_out)
    print("| stage | native µs | wasm µs | wasm / native |")
    print("|---|---:|---:|---:|")
    for stage, t in n.items():
        print(f"| {stage} | {t:,.0f} | {m[stage]:,.0f} | {m[stage] / t:.2f}x |")


if __name__ == "__main__":
    main()
