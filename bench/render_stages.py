"""Stage breakdown of a render example natively and in wasm, side by side:
crates/render/examples/render_stages.rs (bench/render.sh) and variant_stages.rs
(bench/jobs.sh).

    python bench/render_stages.py [--pillow-clarendon] NATIVE_BIN WASM_FILE ARG... IMAGE

The example gets ARG... then IMAGE (opened to the guest as /data/IMAGE). The wasm file is
the example built for wasm32-wasip1 with the components' flags (simd128, libwebp's SSE2
on wasm SIMD); it runs here in wasmtime (the `wasmtime` wheel from PyPI, Cranelift, SIMD
on), as the test host and Spin run the components. Prints a markdown table of median
microseconds per stage and the wasm/native ratio. --pillow-clarendon adds Pillow's time
for the decode, preset and encode stages of a variant (bench/jobs.py's `clarendon`,
step by step; the first ARG is the repetitions).
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


def run_wasm(wasm, args, image):
    cfg = wasmtime.Config()
    cfg.wasm_simd = True
    engine = wasmtime.Engine(cfg)
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    name = os.path.splitext(os.path.basename(wasm))[0]
    out = os.path.join(os.path.dirname(os.path.abspath(image)), f"{name}-wasm.out")
    wasi.stdout_file = out
    wasi.inherit_stderr()
    wasi.preopen_dir(os.path.dirname(os.path.abspath(image)), "/data")
    wasi.argv = [name, *args, "/data/" + os.path.basename(image)]
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, wasm))
    instance.exports(store)["_start"](store)
    with open(out) as f:
        return f.read()


def main():
    argv = sys.argv[1:]
    pillow = argv[0] == "--pillow-clarendon"
    if pillow:
        argv = argv[1:]
    native, wasm, *args, image = argv
    native_out = subprocess.run([native, *args, image], check=True, capture_output=True, text=True).stdout
    wasm_out = run_wasm(wasm, args, image)
    print(next(l for l in native_out.splitlines() if l.startswith("#")).replace(image, os.path.basename(image)))
    print()
    n, m = parse(native_out), parse(wasm_out)
    p = {}
    if pillow:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from jobs import clarendon_stages
        p = clarendon_stages(image, int(args[0]))
    head = "| stage | native µs | wasm µs | wasm / native |" + (" Pillow µs | wasm / Pillow |" if pillow else "")
    print(head)
    print("|---|---:|---:|---:|" + ("---:|---:|" if pillow else ""))
    for stage, t in n.items():
        row = f"| {stage} | {t:,.0f} | {m[stage]:,.0f} | {m[stage] / t:.2f}x |"
        if pillow:
            row += f" {p[stage]:,.0f} | {m[stage] / p[stage]:.2f}x |" if stage in p else "  |  |"
        print(row)


if __name__ == "__main__":
    main()
