#!/usr/bin/env bash
# Benchmark: top-10 similar search over 10k and 100k stored random unit vectors, as the
# wasm `vectorize` component under darkroom's test host, against numpy brute force on the
# same matrix in the same run. Prints a markdown table (docs/vectors-search.md has one).
#
#   bench/search.sh            # 10k and 100k
#   bench/search.sh 50000      # other sizes
#   BENCH_REPS=31 bench/search.sh
#
# Not a test: timings depend on the machine. The store is seeded directly through the
# host's SQLite file before the host starts (see bench/search.py); the search itself is
# the real component, reached over HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
VENV="$TARGET/bench-venv"
WORK="$TARGET/bench"

log "building the components and the test host (release)"
scripts/build-components.sh >&2
cargo build --release -p darkroom-e2e -p darkroom-host >&2

if ! "$VENV/bin/python" -c 'import numpy' 2>/dev/null; then
    log "installing numpy into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q numpy
fi
mkdir -p "$WORK"
# numpy's BLAS picks its kernels from the CPU; a pinned OPENBLAS_CORETYPE or L2 size
# (set on some CI images) would handicap it. Unset both, for this command only.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    "$VENV/bin/python" bench/search.py "$TARGET/release/darkroom-host" "$PWD/spin.toml" "$WORK" "$@"
