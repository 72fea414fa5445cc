#!/usr/bin/env bash
# darkroom's test entry point (CI runs it through .ci/run).
#
#   ./test.sh                 install what is missing, build the components, run every test,
#                             then the no-chaining step below (about 25 s more)
#   ./test.sh --no-build      skip the component build (fast iteration)
#   ./test.sh --e2e           only the end-to-end suite (against the in-process test host),
#                             on SQLite and then on Redis
#   ./test.sh --no-redis      skip the second end-to-end run (on Redis)
#   ./test.sh --redis-only    only the end-to-end run on Redis (binaries of an earlier run)
#   ./test.sh --contract      only the OpenAPI contract: docs/openapi.json's checks and a bounded
#                             schemathesis run against the test host (tests/contract)
#   ./test.sh --no-contract   skip the contract step of the full run
#   ./test.sh --web           only the browser tests: the web UI's flows in headless Chromium
#                             (tests/web, playwright-core + axe-core from npm, Debian's chromium)
#   ./test.sh --no-web        skip the browser tests
#   ./test.sh --no-chaining   only the no-chaining step: the skeleton, jobs and image-jobs suites
#                             on spin.no-chaining.toml (steps over HTTP through the host's own
#                             listener, docs/deploy.md); skipped in a run with BASE_URL or -- ARGS
#   ./test.sh --wasm          only the image crates' tests built for wasm (simd128) and run in
#                             wasmtime (scripts/wasm-unit-tests.sh): their wasm SIMD paths
#   ./test.sh --no-wasm       skip that step of the full run
#   ./test.sh --replicas      only the replica suite: two host processes on one redis-server
#                             behind haproxy (scripts/replicas.sh, tests/e2e/tests/replicas.rs)
#   ./test.sh --no-replicas   skip the replica suite a full run ends with
#   ./test.sh -- ARGS         extra arguments for `cargo test` (e.g. -- -p darkroom-store)
#
# `cargo test --release` covers the workspace's default members: the core crates, the
# test host and the end-to-end suite (which starts the host on the built components),
# with the key-value store on SQLite (Spin's default). A throwaway redis-server (Debian's,
# installed when missing) then serves a second run of the end-to-end binaries with every
# host's `default` store on Redis (DARKROOM_E2E_RUNTIME_CONFIG, a database per host); it
# also serves the host's own Redis tests (DARKROOM_TEST_REDIS_URL). Last, deploy/spinkube/
# is validated (tests/deploy, pytest in target/venv-deploy), and the OpenAPI contract is
# checked (tests/contract, pytest in target/venv-contract): the document against its YAML
# source, OpenAPI 3.1 and the manifests' routes, then schemathesis against the test host.
# The image crates' tests also run compiled for wasm with simd128, in wasmtime
# (scripts/wasm-unit-tests.sh), so the SIMD code the components run is tested as such.
# Then the web UI's flows run in headless Chromium against the test host (tests/web;
# screenshots in target/web-screenshots).
# Last of all, the replica suite (docs/deploy.md "Replicas, proven on one machine"):
# scripts/replicas.sh starts two darkroom-host processes on a redis-server of their own
# behind Debian's haproxy (installed when missing) and runs tests/e2e/tests/replicas.rs
# through the balancer.
# Set BASE_URL to point the end-to-end suite at a running darkroom instead (no Redis run).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

build=1
redis=1
contract=1
web=1
wasm=1
replicas=1
packages=()
# all: the workspace's tests then the no-chaining step; e2e, no-chaining: only that.
mode=all
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-build) build=0 ;;
        --e2e) mode=e2e; packages=(-p darkroom-e2e) ;;
        --no-chaining) mode=no-chaining ;;
        --web) mode=web ;;
        --no-web) web=0 ;;
        --wasm) mode=wasm ;;
        --no-wasm) wasm=0 ;;
        --no-redis) redis=0 ;;
        --replicas) mode=replicas ;;
        --no-replicas) replicas=0 ;;
        --redis-only) mode=redis-only ;;
        --contract) mode=contract ;;
        --no-contract) contract=0 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
        --) shift; break ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

ensure_wasm_target
if [[ $build -eq 1 ]]; then
    build_components
fi

logfile="$(mktemp "${TMPDIR:-/tmp}/darkroom-test.XXXXXX")"
trap 'stop_redis; rm -f "$logfile"' EXIT
if [[ $mode != no-chaining && $mode != contract && $mode != web && $mode != replicas && $mode != wasm ]]; then
    start_redis
    export DARKROOM_TEST_REDIS_URL="$REDIS_URL"
fi
status=0
set +e
if [[ $mode == all || $mode == e2e ]]; then
    log "cargo test --release --no-fail-fast ${packages[*]} $*"
    cargo test --release --no-fail-fast "${packages[@]}" "$@" 2>&1 | tee -a "$logfile"
    status=${PIPESTATUS[0]}
fi
# The image crates' tests in wasm (simd128), as the components run their code.
if [[ $mode == wasm || ( $mode == all && $wasm -eq 1 && $# -eq 0 ) ]]; then
    echo "==> wasm: scripts/wasm-unit-tests.sh" | tee -a "$logfile"
    scripts/wasm-unit-tests.sh 2>&1 | tee -a "$logfile"
    step=${PIPESTATUS[0]}
    [[ $status -ne 0 ]] || status=$step
fi
# The same component binaries on spin.no-chaining.toml: every in-process host gets its
# own URL as chain_base_url, so each chained step is a real HTTP request to its listener.
if [[ $mode == no-chaining || ( $mode == all && $# -eq 0 && -z "${BASE_URL:-}" ) ]]; then
    echo "==> no-chaining: DARKROOM_E2E_MANIFEST=spin.no-chaining.toml" | tee -a "$logfile"
    DARKROOM_E2E_MANIFEST=spin.no-chaining.toml cargo test --release --no-fail-fast \
        -p darkroom-e2e --test skeleton --test jobs --test image_jobs "$@" 2>&1 | tee -a "$logfile"
    step=${PIPESTATUS[0]}
    [[ $status -ne 0 ]] || status=$step
fi
# The e2e binaries of the first run again, every host's `default` store on Redis.
if [[ $redis -eq 1 && ( $mode == all || $mode == e2e || $mode == redis-only ) && $# -eq 0 && -z "${BASE_URL:-}" ]]; then
    runtime_config="$REDIS_DIR/runtime-config.toml"
    printf '[key_value_store.default]\ntype = "redis"\nurl = "%s"\n' "$REDIS_URL" >"$runtime_config"
    echo "==> redis: DARKROOM_E2E_RUNTIME_CONFIG=$runtime_config" | tee -a "$logfile"
    started=$SECONDS
    mapfile -t executables < <(test_executables tests/e2e "${packages[@]}")
    if [[ ${#executables[@]} -eq 0 ]]; then
        log "no e2e test executables found"; status=1
    fi
    for exe in "${executables[@]}"; do
        name="$(basename "$exe")"; name="${name%-*}"
        echo "     Running tests/$name.rs ($exe)" | tee -a "$logfile"
        (cd tests/e2e && DARKROOM_E2E_RUNTIME_CONFIG="$runtime_config" "$exe") 2>&1 | tee -a "$logfile"
        [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
    done
    log "e2e on Redis took $((SECONDS - started)) s"
fi
# deploy/spinkube/ against spin-operator's CRD (../shared/spinkube/) and Kubernetes' schemas.
if [[ $mode == all && $# -eq 0 ]]; then
    ensure_bench_venv target/venv-deploy pytest jsonschema pyyaml kubernetes-validate
    echo "==> deploy" | tee -a "$logfile"
    echo "     Running pytest (tests/deploy/test_spinkube.py)" | tee -a "$logfile"
    target/venv-deploy/bin/python -m pytest -q -rs -p no:cacheprovider tests/deploy 2>&1 | tee -a "$logfile"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
fi
# The OpenAPI contract (tests/contract): the document's checks, then schemathesis against
# the test host binary `cargo test --release` built (a `--contract` run builds it the
# same way, so no second wasmtime build with other features).
if [[ $mode == contract || ( $mode == all && $contract -eq 1 && $# -eq 0 && -z "${BASE_URL:-}" ) ]]; then
    if [[ $mode == contract ]]; then
        cargo test --release --no-run 2>&1 | tail -n 3
    fi
    ensure_requirements_venv target/venv-contract tests/contract/requirements.txt
    echo "==> contract" | tee -a "$logfile"
    echo "     Running pytest (tests/contract)" | tee -a "$logfile"
    started=$SECONDS
    target/venv-contract/bin/python -m pytest -q -rs -s -p no:cacheprovider tests/contract 2>&1 | tee -a "$logfile"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
    log "contract tests took $((SECONDS - started)) s"
fi
# The web UI in headless Chromium, against the host binary the workspace's tests built.
if [[ $web -eq 1 && ( $mode == web || ( $mode == all && $# -eq 0 && -z "${BASE_URL:-}" ) ) ]]; then
    if [[ $mode == web ]]; then
        # The host binary as the workspace builds it (a `-p darkroom-host` build would
        # unify features differently and rebuild wasmtime).
        cargo test --release --no-run >/dev/null 2>&1 || cargo test --release --no-run
    fi
    echo "==> web" | tee -a "$logfile"
    echo "     Running tests/web/flows.test.js (tests/web/flows.test.js)" | tee -a "$logfile"
    started=$SECONDS
    webout="$(mktemp "${TMPDIR:-/tmp}/darkroom-web.XXXXXX")"
    run_web_tests 2>&1 | tee "$webout"
    step=${PIPESTATUS[0]}
    passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$webout" | tail -1)
    failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$webout" | tail -1)
    grep -E '^\s*not ok ' "$webout" | sed 's/^ */    /' >>"$logfile" || true
    result=ok; [[ $step -eq 0 ]] || result=FAILED
    echo "test result: $result. ${passed:-0} passed; ${failed:-0} failed; finished in $((SECONDS - started))s" | tee -a "$logfile"
    rm -f "$webout"
    [[ $status -ne 0 ]] || status=$step
fi
# The replica stack (its own redis-server, two host processes, haproxy) and its suite.
if [[ $mode == replicas || ( $mode == all && $replicas -eq 1 && $# -eq 0 && -z "${BASE_URL:-}" ) ]]; then
    echo "==> replicas: scripts/replicas.sh" | tee -a "$logfile"
    echo "     Running tests/replicas.rs (scripts/replicas.sh)" | tee -a "$logfile"
    scripts/replicas.sh 2>&1 | tee -a "$logfile"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
fi
set -e

# One line per test runner: which binary, and cargo's own summary of it.
echo
echo "==> summary"
awk '
    /^==> wasm/ { prefix = "wasm " }
    /^==> no-chaining/ { prefix = "no-chaining " }
    /^==> redis/ { prefix = "redis " }
    /^==> deploy/ { prefix = "deploy " }
    /^==> contract/ { prefix = "contract " }
    /^==> web/ { prefix = "web " }
    /^==> replicas/ { prefix = "" }
    /^[[:space:]]+Running / {
        line = $0; sub(/^[[:space:]]+Running /, "", line)
        bin = line; sub(/^.*\//, "", bin); sub(/\)$/, "", bin); sub(/\.wasm$/, "", bin); sub(/-[0-9a-f]+$/, "", bin)
        sub(/ \(.*$/, "", line); runner = prefix bin ": " line; next
    }
    /^[[:space:]]+Doc-tests / { runner = prefix $2 ": doc-tests"; next }
    /^test result:/ { sub(/^test result: /, ""); printf "  %-44s %s\n", runner, $0 }
    /^[0-9]+ passed.* in [0-9.]+s( \([0-9:]+\))?$/ { printf "  %-44s %s\n", runner, $0 }
' "$logfile"
if [[ $status -ne 0 ]]; then
    echo "==> FAILED (exit status $status)"
    grep -E '^error(\[|:)|^    [A-Za-z0-9_:]+$' "$logfile" | sed -n '1,40p' | sed 's/^/  /' || true
else
    echo "==> all tests passed"
fi
exit "$status"
