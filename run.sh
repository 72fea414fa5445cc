#!/usr/bin/env bash
# Builds darkroom and serves it on SPIN_HTTP_LISTEN_ADDR (default 127.0.0.1:3000).
# With the Spin CLI on PATH: `spin build && spin up`; otherwise the test host
# (tests/host). Extra arguments go to `spin up` or to the host, e.g.
#   ./run.sh --variable max_upload_bytes=1048576
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

addr="${SPIN_HTTP_LISTEN_ADDR:-127.0.0.1:3000}"
export SPIN_HTTP_LISTEN_ADDR="$addr"

if command -v spin >/dev/null; then
    ensure_wasm_target
    ensure_wasm_cc
    log "spin build && spin up --listen $addr"
    spin build
    exec spin up --listen "$addr" "$@"
fi

log "spin not on PATH: serving with the test host (tests/host)"
build_components
cargo build --release -p darkroom-host
check_target_dir
host="${CARGO_TARGET_DIR:-target}/release/darkroom-host"
log "$host --listen $addr $* spin.toml"
exec "$host" --listen "$addr" "$@" spin.toml
