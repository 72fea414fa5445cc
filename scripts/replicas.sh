#!/usr/bin/env bash
# The replica stack (issue 13): darkroom as SpinKube runs it, on one machine. Two
# test-host processes (target/release/darkroom-host, the binary `cargo test --release`
# builds) share one throwaway redis-server behind haproxy (Debian's, round robin, health
# checks on /.well-known/spin/health), which stands in for the Kubernetes Service. Each
# replica runs under a small supervisor that restarts it when it dies, as the kubelet
# restarts a killed container. `jobs_base_url` is the balancer's URL, so job shards
# spread over both replicas. r2 runs with `kv_inline_blobs=false`, writing every blob as
# chunks and a manifest as releases before that variable did, while r1 writes small
# blobs whole into one key: the mixed state of a rolling update, so reads through the
# balancer cross the two forms both ways.
#
#   scripts/replicas.sh [-- CARGO TEST ARGS]   bring the stack up, run tests/e2e/tests/replicas.rs
#                                              through it (one test at a time), tear it down
#   scripts/replicas.sh --up                   bring it up and wait (Ctrl-C tears it down);
#                                              prints the DARKROOM_REPLICAS line to export
#
# Every port is a free loopback port. The stack's directory (replica logs, haproxy's
# config, log and stats socket, stack.json) is removed after a passing run and kept, with
# its path printed, after a failing one. The tests find the stack through
# DARKROOM_REPLICAS=<dir>/stack.json; without it they say they skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

mode=test
while [[ $# -gt 0 ]]; do
    case "$1" in
        --up) mode=up ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
        --) shift; break ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

# The host binary and the replica test executable of the workspace's own `cargo test
# --release` (same feature unification, so nothing rebuilds after ./test.sh's first run;
# `-p darkroom-host` alone would rebuild wasmtime).
artifacts() {
    cargo test --release --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    kind, name = m["target"]["kind"], m["target"]["name"]
    # The binary itself (what integration tests run), not its unit-test harness.
    if kind == ["bin"] and name == "darkroom-host" and not m["profile"]["test"]:
        print("host", m["executable"])
    elif kind == ["test"] and name == "replicas":
        print("test", m["executable"])
'
}

# Debian's haproxy (apt_install), as ensure_redis_server does.
ensure_haproxy() {
    HAPROXY="$(command -v haproxy || true)"
    [[ -z "$HAPROXY" && -x /usr/sbin/haproxy ]] && HAPROXY=/usr/sbin/haproxy
    [[ -n "$HAPROXY" ]] && return 0
    apt_install haproxy
    HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
    # Debian's package enables a system-wide service on port 80 where systemd runs; the
    # stack starts its own haproxy and leaves that one alone.
}

# Waits until http://127.0.0.1:$1/.well-known/spin/health answers 200.
wait_healthy() {
    local port="$1" what="$2" i
    for i in $(seq 1 300); do
        if python3 -c 'import sys, urllib.request as u; u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=1)' \
            "http://127.0.0.1:$port/.well-known/spin/health" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "$what did not become healthy on port $port (logs in $STACK)"
}

# Runs replica $1 on port $2 and restarts it whenever it exits, until $STACK/stopping
# exists. The current process id is in $STACK/$1.pid; every start is logged.
supervise() {
    local name="$1" port="$2" pid extra=()
    [[ "$name" == r2 ]] && extra=(--variable "kv_inline_blobs=false")
    while [[ ! -e "$STACK/stopping" ]]; do
        echo "==> $(date -u +%H:%M:%S.%N) starting $name on 127.0.0.1:$port" >>"$STACK/$name.log"
        "$HOST_BIN" --listen "127.0.0.1:$port" --state-dir "$STACK/$name" \
            --runtime-config-file "$STACK/runtime-config.toml" \
            --kv-max-value-bytes 1000000 --max-instance-memory $((128 << 20)) \
            --variable "jobs_base_url=$BALANCER_URL" "${extra[@]}" spin.toml >>"$STACK/$name.log" 2>&1 &
        pid=$!
        echo "$pid" >"$STACK/$name.pid.tmp" && mv "$STACK/$name.pid.tmp" "$STACK/$name.pid"
        wait "$pid" && status=0 || status=$?
        echo "==> $(date -u +%H:%M:%S.%N) $name (pid $pid) exited with status $status" >>"$STACK/$name.log"
        sleep 0.2
    done
}

SUPERVISORS=()
HAPROXY_PID=
teardown() {
    local status=$?
    [[ -n "${STACK:-}" ]] || return 0
    touch "$STACK/stopping"
    local pid name
    for pid in "${SUPERVISORS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for name in r1 r2; do
        [[ -f "$STACK/$name.pid" ]] && kill "$(cat "$STACK/$name.pid")" 2>/dev/null || true
    done
    [[ -n "$HAPROXY_PID" ]] && kill "$HAPROXY_PID" 2>/dev/null || true
    for pid in "${SUPERVISORS[@]}" $HAPROXY_PID; do wait "$pid" 2>/dev/null || true; done
    stop_redis
    if [[ $status -eq 0 && $mode == test ]]; then
        rm -rf "$STACK"
    else
        log "replica stack logs kept in $STACK (r1.log, r2.log, haproxy.log)"
    fi
}

mapfile -t found < <(artifacts)
HOST_BIN= TEST_BIN=
for line in "${found[@]}"; do
    case "$line" in
        host\ *) HOST_BIN="${line#host }" ;;
        test\ *) TEST_BIN="${line#test }" ;;
    esac
done
[[ -x "$HOST_BIN" ]] || die "no darkroom-host binary from cargo test --release --no-run (does it build?)"
[[ $mode == up || -x "$TEST_BIN" ]] || die "no replicas test executable from cargo test --release --no-run"
for wasm in $(component_packages); do
    [[ -f "target/$WASM_TARGET/release/$wasm.wasm" ]] || die "target/$WASM_TARGET/release/$wasm.wasm is missing: run scripts/build-components.sh"
done
ensure_haproxy

STACK="$(mktemp -d "${TMPDIR:-/tmp}/darkroom-replicas.XXXXXX")"
trap teardown EXIT
trap 'exit 130' INT TERM
start_redis
printf '[key_value_store.default]\ntype = "redis"\nurl = "%s/1"\n' "$REDIS_URL" >"$STACK/runtime-config.toml"

BALANCER_PORT="$(free_port)"
BALANCER_URL="http://127.0.0.1:$BALANCER_PORT"
R1_PORT="$(free_port)"
R2_PORT="$(free_port)"
while [[ $R2_PORT == "$R1_PORT" ]]; do R2_PORT="$(free_port)"; done

supervise r1 "$R1_PORT" &
SUPERVISORS+=($!)
supervise r2 "$R2_PORT" &
SUPERVISORS+=($!)
wait_healthy "$R1_PORT" r1
wait_healthy "$R2_PORT" r2

# Round robin per request, like a Service's iptables/IPVS spreading; a replica leaves the
# rotation after two failed health checks 200 ms apart, as a failing readiness probe
# takes a pod out of the Service's endpoints. A connection refused is retried once, on
# the other server (the request never reached a replica); a request a replica took and
# then died on is never retried: the client gets haproxy's 502.
cat >"$STACK/haproxy.cfg" <<EOF
global
    maxconn 2048
    stats socket $STACK/haproxy.sock mode 600 level admin
    log $STACK/haproxy-log.sock local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 180s
    timeout server 180s
    retries 1
    option redispatch 1

frontend darkroom
    bind 127.0.0.1:$BALANCER_PORT
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /.well-known/spin/health
    default-server inter 200ms fall 2 rise 1
    server r1 127.0.0.1:$R1_PORT check
    server r2 127.0.0.1:$R2_PORT check
EOF
# haproxy logs through syslog only: a small Python reader on a unix datagram socket
# keeps one line per request (server, status, path) in haproxy.log.
python3 - "$STACK/haproxy-log.sock" "$STACK/haproxy.log" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(65536).decode("utf-8", "replace").rstrip("\n") + "\n")
EOF
SUPERVISORS+=($!)
for _ in $(seq 1 50); do [[ -S "$STACK/haproxy-log.sock" ]] && break; sleep 0.1; done
"$HAPROXY" -c -q -f "$STACK/haproxy.cfg" || die "haproxy rejected $STACK/haproxy.cfg"
"$HAPROXY" -db -f "$STACK/haproxy.cfg" >>"$STACK/haproxy.out" 2>&1 &
HAPROXY_PID=$!
wait_healthy "$BALANCER_PORT" haproxy

python3 - "$STACK" <<EOF
import json, sys
stack = sys.argv[1]
json.dump({
    "balancer": "$BALANCER_URL",
    "stats_socket": f"{stack}/haproxy.sock",
    "haproxy_log": f"{stack}/haproxy.log",
    "redis_url": "$REDIS_URL/1",
    "state_dir": stack,
    "replicas": [
        {"name": n, "url": f"http://127.0.0.1:{p}", "pid_file": f"{stack}/{n}.pid", "log": f"{stack}/{n}.log"}
        for n, p in (("r1", $R1_PORT), ("r2", $R2_PORT))
    ],
}, open(f"{stack}/stack.json", "w"), indent=2)
EOF
export DARKROOM_REPLICAS="$STACK/stack.json"
log "replica stack: haproxy $BALANCER_URL -> r1 127.0.0.1:$R1_PORT (pid $(cat "$STACK/r1.pid")), r2 127.0.0.1:$R2_PORT (pid $(cat "$STACK/r2.pid")); Redis $REDIS_URL/1"

if [[ $mode == up ]]; then
    echo "export DARKROOM_REPLICAS=$DARKROOM_REPLICAS"
    log "Ctrl-C tears the stack down"
    while true; do sleep 3600; done
fi

started=$SECONDS
# One test at a time: the kill test takes a replica down, which the others must not see.
set +e
(cd tests/e2e && "$TEST_BIN" --test-threads=1 "$@") 2>&1 | tee "$STACK/suite.log"
status=${PIPESTATUS[0]}
set -e
log "replica suite took $((SECONDS - started)) s"
# The numbers of the closing note, one line per test that got that far.
echo "==> replica numbers"
grep -o 'e2e: replicas: [^S].*' "$STACK/suite.log" | sed 's/^e2e: replicas: /  /' || true
exit "$status"
