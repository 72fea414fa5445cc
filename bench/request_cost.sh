#!/usr/bin/env bash
# Benchmark (issue 15): the per-request cost of a phone-sized photo. Where one 2 MP
# thumbnail request's time goes (natively and in wasm, stage by stage, with Pillow for
# scale), Spin's pooling allocator off vs on, thumbnail throughput against thumbor 7.8
# (1.5-3 MP and 12 MP, 4 and 16 connections) and the upload pipeline against thumbor
# with file and result storage, all in one run. Prints markdown tables
# (docs/performance.md, "Per-request cost", has this machine's).
#
#   bench/request_cost.sh
#   BENCH_REPS=51 BENCH_LOAD_SECS=20 bench/request_cost.sh
#   BENCH_SKIP=throughput,upload bench/request_cost.sh     # breakdown and pooling only
#
# Installs Pillow, scikit-image and thumbor into $TARGET/bench-venv (PyPI); inputs are
# generated once into $TARGET/bench-inputs. Not a test: timings depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"

log "building the components, the test host and the bench tool (release)"
scripts/build-components.sh >&2
# The host with the e2e suite's features (as ./test.sh builds it), so a warm test
# build is reused instead of rebuilding wasmtime.
cargo build --release -p darkroom-e2e -p darkroom-host -p darkroom-bench-thumb >&2

ensure_bench_venv "$TARGET/bench-venv" pillow scikit-image numpy thumbor
# The upload row on Redis (SpinKube's store): a throwaway redis-server, as ./test.sh's.
start_redis
trap stop_redis EXIT

BENCH_REDIS_URL="$REDIS_URL/1" "$TARGET/bench-venv/bin/python" bench/request_cost.py "$TARGET/release/darkroom-host" \
    "$TARGET/release/darkroom-bench-thumb" "$PWD/spin.toml" "$TARGET/bench-inputs"
