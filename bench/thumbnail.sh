#!/usr/bin/env bash
# Benchmark (issue 6): a 128x128 JPEG q80 thumbnail of baseline/progressive JPEGs at
# 2/12/24/50 MP and a 12 MP PNG, timed as darkroom's native core, as the wasm thumbnail
# component under darkroom's test host (over HTTP and inside the host, with peak guest
# memory), with Pillow and with sharp, in one run; then throughput with concurrent
# loopback clients: darkroom vs thumbor on 2 MP photos, and darkroom's upload pipeline.
# Prints markdown tables (docs/performance.md has this machine's).
#
#   bench/thumbnail.sh
#   BENCH_REPS=15 BENCH_LOAD_SECS=30 BENCH_CONC=16 bench/thumbnail.sh
#   BENCH_SKIP=thumbor,load,50 bench/thumbnail.sh     # quicker
#
# Installs Pillow, scikit-image and thumbor into $TARGET/bench-venv and sharp into
# $TARGET/bench-node (PyPI and npm); inputs are generated once into $TARGET/bench-inputs.
# Not a test: timings depend on the machine and on what else runs on it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
VENV="$TARGET/bench-venv"
NODE="$TARGET/bench-node"
WORK="$TARGET/bench-inputs"

log "building the components, the test host and the bench tool (release)"
scripts/build-components.sh >&2
cargo build --release -p darkroom-e2e -p darkroom-host -p darkroom-bench-thumb >&2

ensure_bench_venv "$VENV" pillow scikit-image numpy thumbor
ensure_bench_sharp "$NODE"

"$VENV/bin/python" bench/thumbnail.py "$TARGET/release/darkroom-host" \
    "$TARGET/release/darkroom-bench-thumb" "$PWD/spin.toml" "$WORK" "$NODE"
