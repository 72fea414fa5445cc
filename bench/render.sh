#!/usr/bin/env bash
# Benchmark (issue 12): render URLs of a 12 MP JPEG through the wasm render component
# under darkroom's test host (over HTTP, every request a cache miss, plus one cache hit),
# against sharp and Pillow doing the same work in process, in one run: 1024 px cover as
# JPEG and as WebP, 256 px with sepia and with blur, AVIF at 1 MP and 512 px. Prints markdown tables with times,
# bytes, SSIM to a JPEG q95 render of the same geometry, and ratios.
#
#   bench/render.sh
#   BENCH_REPS=15 bench/render.sh
#
# Installs Pillow and scikit-image into $TARGET/bench-venv and sharp into
# $TARGET/bench-node (PyPI and npm), as bench/thumbnail.sh does. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
VENV="$TARGET/bench-venv"
NODE="$TARGET/bench-node"
WORK="$TARGET/bench-inputs"

log "building the components and the test host (release)"
scripts/build-components.sh >&2
# With the e2e package, so wasmtime's features unify as in `cargo test` and the host
# shares its build (the host alone is a different feature set: a full wasmtime rebuild).
cargo build --release -p darkroom-e2e -p darkroom-host >&2

ensure_bench_venv "$VENV" pillow scikit-image numpy
ensure_bench_sharp "$NODE"

mkdir -p "$WORK"
"$VENV/bin/python" bench/render.py "$TARGET/release/darkroom-host" "$PWD/spin.toml" "$WORK" "$NODE"

# Where the time goes: the stages of the 1024 px cover render, natively and in wasm
# (the same example, built for wasm32-wasip1 with the components' flags, run in wasmtime).
log "stage breakdown (crates/render/examples/render_stages.rs)"
ensure_bench_venv "$VENV" wasmtime
cargo build --release -p darkroom-render --example render_stages >&2
wasip1_env
cargo build --release --target wasm32-wasip1 -p darkroom-render --example render_stages >&2
"$VENV/bin/python" bench/render_stages.py "$TARGET/release/examples/render_stages" \
    "$TARGET/wasm32-wasip1/release/examples/render_stages.wasm" "${BENCH_REPS:-5}" 1024 768 "$WORK/render-12mp.jpg"
