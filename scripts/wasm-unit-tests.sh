#!/usr/bin/env bash
# The image and jobs crates' tests compiled for wasm with simd128 and run in wasmtime:
# the wasm SIMD code paths (the scaled decoder's IDCT, the resize, the JPEG writer's DCT
# and colour conversion, the filters' matrix pass, the dataset CSV reader's block
# classifier) against their scalar forms, where the components run them. A native
# `cargo test` compiles none of that code.
#
#   scripts/wasm-unit-tests.sh        (./test.sh runs it after the workspace's tests)
#
# Builds for wasm32-wasip1 (a WASI command, so libtest's `main` runs as is) with the
# components' flags (.cargo/config.toml), and runs each binary with scripts/wasi_test_run.py
# in the `wasmtime` wheel from PyPI (target/venv-wasm). Prints cargo-style
# `Running` and `test result:` lines for test.sh's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

TARGET=wasm32-wasip1
VENV=target/venv-wasm
# The test binaries: the crates' unit tests and the integration tests that compare SIMD
# with scalar code or decode what the SIMD code wrote.
# (Cargo takes each --test for whichever of the packages has it.)
TESTS=(-p darkroom-imaging -p darkroom-render -p darkroom-jobs --lib
       --test jpeg_writer --test jpeg_scaled --test simd --test filters_vs_reference --test presets_vs_chromium)

wasip1_env
ensure_bench_venv "$VENV" wasmtime==51.0.0

log "cargo test --release --target $TARGET --no-run ${TESTS[*]}"
mapfile -t binaries < <(cargo test --release --target "$TARGET" --no-run --message-format=json "${TESTS[@]}" \
    | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["profile"]["test"] and m.get("executable"):
        print(m["executable"])')
[[ ${#binaries[@]} -gt 0 ]] || die "no wasm test binaries were built"
status=0
for wasm in "${binaries[@]}"; do
    echo "     Running $(basename "${wasm%-*}") ($wasm)"
    "$VENV/bin/python" scripts/wasi_test_run.py "$wasm" || status=1
done
exit "$status"
