#!/usr/bin/env bash
# Benchmark (issue 11): darkroom's batch jobs vs the tools people use for the same work,
# in one run. Prints markdown tables (docs/performance.md has this machine's):
#   - `aggregate` (sum of amount by merchant) over a generated 1,000,000-row sales CSV,
#     from upload to result over HTTP through the wasm components, vs pandas
#     read_csv + groupby().sum() and DuckDB on the same file; the totals are checked
#     cent for cent against each other and the generator;
#   - a `variant` job (preset clarendon) over 1,000 photos in images per second, vs
#     Pillow in a multiprocessing.Pool(2); "n/a" while the server has no image tasks;
#     then where one variant's time goes: decode, preset, encode and the whole render,
#     natively and in wasm (crates/render/examples/variant_stages.rs), with Pillow's
#     time for the same steps.
#
#   bench/jobs.sh
#   BENCH_ROWS=100000 BENCH_PHOTOS=50 BENCH_REPS=1 bench/jobs.sh     # quick
#   BENCH_SKIP=variant bench/jobs.sh                                 # aggregate only
#   BENCH_SKIP=aggregate BENCH_STAGE_REPS=31 bench/jobs.sh           # variant; stages median of 31
#
# Installs pandas, DuckDB, Pillow and scikit-image into $TARGET/bench-venv (PyPI);
# inputs are generated into $TARGET/bench-inputs. Not a test: timings depend on the
# machine and on what else runs on it. See bench/jobs.py for every knob.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
VENV="$TARGET/bench-venv"
WORK="$TARGET/bench-inputs"

log "building the components and the test host (release)"
scripts/build-components.sh >&2
cargo build --release -p darkroom-e2e -p darkroom-host >&2

ensure_bench_venv "$VENV" pillow scikit-image numpy pandas duckdb wasmtime

mkdir -p "$WORK"
"$VENV/bin/python" bench/jobs.py "$TARGET/release/darkroom-host" "$PWD/spin.toml" "$WORK"

# One variant, stage by stage: the example natively and built for wasm32-wasip1 with the
# components' flags (as bench/render.sh builds render_stages), run in wasmtime.
if [[ ",${BENCH_SKIP:-}," != *,variant,* ]]; then
    log "variant stage breakdown (crates/render/examples/variant_stages.rs)"
    cargo build --release -p darkroom-render --example variant_stages >&2
    wasip1_env
    cargo build --release --target wasm32-wasip1 -p darkroom-render --example variant_stages >&2
    echo
    echo "### One variant, stage by stage (medians, µs)"
    echo
    "$VENV/bin/python" bench/render_stages.py --pillow-clarendon "$TARGET/release/examples/variant_stages" \
        "$TARGET/wasm32-wasip1/release/examples/variant_stages.wasm" "${BENCH_STAGE_REPS:-15}" clarendon 2048 \
        "$WORK/job-photos/p00000.jpg"
fi
