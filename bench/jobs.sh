#!/usr/bin/env bash
# Benchmark (issue 11): darkroom's batch jobs vs the tools people use for the same work,
# in one run. Prints markdown tables (docs/performance.md has this machine's):
#   - `aggregate` (sum of amount by merchant) over a generated 1,000,000-row sales CSV,
#     from upload to result over HTTP through the wasm components, vs pandas
#     read_csv + groupby().sum() and DuckDB on the same file; the totals are checked
#     cent for cent against each other and the generator;
#   - a `variant` job (preset clarendon) over 1,000 photos in images per second, vs
#     Pillow in a multiprocessing.Pool(2); "n/a" while the server has no image tasks.
#
#   bench/jobs.sh
#   BENCH_ROWS=100000 BENCH_PHOTOS=50 BENCH_REPS=1 bench/jobs.sh     # quick
#   BENCH_SKIP=variant bench/jobs.sh                                 # aggregate only
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

ensure_bench_venv "$VENV" pillow scikit-image numpy pandas duckdb

mkdir -p "$WORK"
"$VENV/bin/python" bench/jobs.py "$TARGET/release/darkroom-host" "$PWD/spin.toml" "$WORK"
