#!/usr/bin/env bash
# Builds darkroom's Spin components (and the test host's probe) for wasm32-wasip2.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
build_components "$@"
