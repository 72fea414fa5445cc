# Shared helpers for darkroom's scripts. Source it from the repository root:
#   cd "$(dirname "$0")" && source scripts/lib.sh

# The wasm components' target.
WASM_TARGET=wasm32-wasip2

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A free TCP port on the loopback interface.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs "$@" as root: directly when this is root, else through sudo (an error without it).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    else
        command -v sudo >/dev/null || die "not root and no sudo to run: $*"
        sudo "$@"
    fi
}

# Installs Debian packages (arguments go to `apt-get install`, e.g. --no-install-recommends)
# as root; when the first try fails (a clean image has no package lists), refreshes the
# lists with `apt-get update` and tries again. The scripts' one way to get a system tool.
apt_install() {
    command -v apt-get >/dev/null || die "no apt-get to install $*: install it by hand"
    log "installing (Debian): $*"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; then
        as_root apt-get update -q >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
    fi
}

# spin.toml's `source` paths are relative to the repository (target/...): a different
# CARGO_TARGET_DIR would build the components where neither Spin nor the host look.
check_target_dir() {
    if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
        local want have
        want="$(cd "$PWD" && pwd -P)/target"
        have="$(mkdir -p "$CARGO_TARGET_DIR" && cd "$CARGO_TARGET_DIR" && pwd -P)"
        if [[ "$have" != "$want" ]]; then
            log "warning: CARGO_TARGET_DIR=$CARGO_TARGET_DIR, but spin.toml loads components from $want"
        fi
    fi
    # A cold build and the test run need about 10 GiB (target/ is ~6.5 GiB after a full
    # ./test.sh); say so up front rather than fail mid-build with "No space left on device".
    local dir="${CARGO_TARGET_DIR:-$PWD}" free_kib
    free_kib="$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 { print $4 }')"
    if [[ -n "$free_kib" && "$free_kib" -lt $((10 * 1024 * 1024)) ]]; then
        log "warning: $((free_kib / 1024)) MiB free on $(df -P "$dir" | awk 'NR == 2 { print $6 }'): a full build and test run needs about 10 GiB"
    fi
}

# Installs the wasm32-wasip2 target if it is missing.
ensure_wasm_target() {
    command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs)"
    if command -v rustup >/dev/null; then
        if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
            log "installing the $WASM_TARGET target"
            rustup target add "$WASM_TARGET"
        fi
    else
        log "rustup not found; assuming the $WASM_TARGET target is installed"
    fi
}

# The C compiler for wasm32-wasip2: the render component links libwebp's lossy WebP
# encoder (C, through the libwebp-sys crate). `.cargo/config.toml` points
# CC_wasm32_wasip2 at scripts/wasm-cc, which runs Debian's clang with Debian's wasi-libc
# headers (docs/render.md "WebP"). Installs the packages clang, llvm (llvm-ar) and
# wasi-libc when one is missing: with apt-get as root, or through sudo when present.
ensure_wasm_cc() {
    local have_cc=0 have_ar=0 have_libc=0 c
    for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
        command -v "$c" >/dev/null && { have_cc=1; break; }
    done
    for c in llvm-ar llvm-ar-19 llvm-ar-18 llvm-ar-17 llvm-ar-16 llvm-ar-15 llvm-ar-14; do
        command -v "$c" >/dev/null && { have_ar=1; break; }
    done
    [[ -f "${WASI_SYSROOT_INCLUDE:-/usr/include/wasm32-wasi}/stdlib.h" ]] && have_libc=1
    if [[ $have_cc$have_ar$have_libc == 111 ]]; then
        ensure_wasm_sse_headers
        return 0
    fi
    command -v apt-get >/dev/null || die "the wasm C toolchain is missing: install clang, llvm-ar and wasi-libc's headers (or set WASM_CLANG and WASI_SYSROOT_INCLUDE)"
    apt_install --no-install-recommends clang llvm wasi-libc
    ensure_wasm_sse_headers
}

# The environment for builds for wasm32-wasip1 (WASI commands: the benches' stage
# examples and scripts/wasm-unit-tests.sh) with the components' flags: simd128, and the C
# compiler and flags .cargo/config.toml gives wasm32-wasip2 (libwebp's SSE2 on wasm SIMD).
# Installs the target and the wasm C toolchain when missing.
wasip1_env() {
    if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip1; then
        log "installing the wasm32-wasip1 target"
        rustup target add wasm32-wasip1 >&2
    fi
    ensure_wasm_cc
    local cflags
    cflags="$(sed -n 's/^CFLAGS_wasm32_wasip2 = "\(.*\)"$/\1/p' .cargo/config.toml)"
    [[ -n "$cflags" ]] || die "no CFLAGS_wasm32_wasip2 in .cargo/config.toml"
    export CC_wasm32_wasip1="$PWD/scripts/wasm-cc" AR_wasm32_wasip1="$PWD/scripts/wasm-ar"
    export CFLAGS_wasm32_wasip1="$cflags"
    export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128"
}

# Emscripten's SSE/SSE2 intrinsics headers (xmmintrin.h, emmintrin.h), which implement
# each x86 intrinsic with wasm SIMD (wasm_simd128.h, shipped with clang). With them
# libwebp's hand-written SSE2 encoder code builds for wasm32 (its EMSCRIPTEN path), 2-3x
# faster than its plain C (docs/render.md "WebP"). Only the two headers are taken, from
# Debian's emscripten package (MIT or NCSA; its copyright file is kept next to them),
# fetched with `apt-get download` into .cache/wasm-sse2 (scripts/wasm-cc looks there),
# not installed: the package itself is 800 MB with its own LLVM.
WASM_SSE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache/wasm-sse2"
ensure_wasm_sse_headers() {
    [[ -f "$WASM_SSE_DIR/emmintrin.h" && -f "$WASM_SSE_DIR/xmmintrin.h" ]] && return 0
    command -v apt-get >/dev/null || die "emscripten's SSE2 headers are missing: put xmmintrin.h and emmintrin.h from emscripten's system/include/compat into $WASM_SSE_DIR"
    log "fetching emscripten's SSE2-on-wasm-SIMD headers (apt-get download emscripten) into $WASM_SSE_DIR"
    local tmp; tmp="$(mktemp -d)"
    if ! (cd "$tmp" && apt-get download -q emscripten >&2 2>/dev/null); then
        as_root apt-get update -q >&2
        (cd "$tmp" && apt-get download -q emscripten >&2) || die "apt-get download emscripten failed"
    fi
    mkdir -p "$tmp/x" "$WASM_SSE_DIR"
    dpkg-deb --fsys-tarfile "$tmp"/emscripten_*.deb \
        | tar -x -C "$tmp/x" ./usr/share/emscripten/system/include/compat/xmmintrin.h \
            ./usr/share/emscripten/system/include/compat/emmintrin.h ./usr/share/doc/emscripten/copyright
    cp "$tmp"/x/usr/share/emscripten/system/include/compat/{xmmintrin,emmintrin}.h "$tmp/x/usr/share/doc/emscripten/copyright" "$WASM_SSE_DIR/"
    rm -rf "$tmp"
}

# The component packages: the wasm files spin.toml loads (`source = ".../NAME.wasm"`),
# plus the test host's probe component.
component_packages() {
    local names=()
    if [[ -f spin.toml ]]; then
        mapfile -t names < <(sed -nE 's/^[[:space:]]*source[[:space:]]*=[[:space:]]*"[^"]*\/([A-Za-z0-9_-]+)\.wasm".*/\1/p' spin.toml | sort -u)
    fi
    if [[ ${#names[@]} -eq 0 ]]; then
        names=(upload thumbnail vectorize media)
    fi
    names+=(probe)
    printf '%s\n' "${names[@]}" | sort -u
}

# Builds every component for wasm32-wasip2 in release (as `spin build` does); extra
# arguments go to cargo.
build_components() {
    ensure_wasm_target
    ensure_wasm_cc
    check_target_dir
    local args=() pkg
    while read -r pkg; do args+=(-p "$pkg"); done < <(component_packages)
    log "building components: cargo build --release --target $WASM_TARGET ${args[*]}"
    cargo build --release --target "$WASM_TARGET" "${args[@]}" "$@"
}

# A Python venv at $1 with the PyPI packages that follow (installed when one of them does
# not import; the import name is the package name but for the few mapped here). Used by
# the benchmarks and by the deploy manifests' tests.
ensure_bench_venv() {
    local venv="$1"; shift
    local imports; imports="$(IFS=,; echo "$*" | sed 's/[<>=!~][^,]*//g; s/pillow/PIL/; s/scikit-image/skimage/; s/pyyaml/yaml/; s/kubernetes-validate/kubernetes_validate/')"
    if ! "$venv/bin/python" -c "import $imports" 2>/dev/null; then
        log "installing $* into $venv"
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
        "$venv/bin/pip" install -q "$@"
    fi
}

# A Python venv at $1 with the pinned requirements file $2 (tests/contract's), installed
# again whenever the file changes: the venv keeps a copy of the file it was made from.
ensure_requirements_venv() {
    local venv="$1" requirements="$2"
    if [[ -x "$venv/bin/python" ]] && cmp -s "$requirements" "$venv/requirements.txt"; then
        return 0
    fi
    log "installing $requirements into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
}

# Benchmarks: sharp (npm, its libvips binary comes in the package) under $1.
ensure_bench_sharp() {
    local node="$1"
    if ! (cd "$node" 2>/dev/null && node -e 'require("sharp")' 2>/dev/null); then
        log "installing sharp into $node"
        mkdir -p "$node"
        [ -f "$node/package.json" ] || echo '{"name":"darkroom-bench-node","private":true}' >"$node/package.json"
        (cd "$node" && npm install --no-save --silent sharp >&2)
    fi
}

# The browser tests (tests/web): Debian's chromium, and the npm packages pinned in
# tests/web/package-lock.json (playwright-core, axe-core) installed with `npm ci` into
# target/web-node, again whenever the lock file changes. Node and npm come from Debian
# when missing.
ensure_web_tests() {
    local dir="${CARGO_TARGET_DIR:-target}/web-node"
    command -v chromium >/dev/null || apt_install chromium
    command -v npm >/dev/null || apt_install nodejs npm
    if ! cmp -s tests/web/package-lock.json "$dir/package-lock.json" || [[ ! -d "$dir/node_modules/playwright-core" ]]; then
        log "npm ci (tests/web: playwright-core, axe-core) into $dir"
        rm -rf "$dir" && mkdir -p "$dir"
        cp tests/web/package.json tests/web/package-lock.json "$dir/"
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    fi
}

# Runs the browser flows (tests/web/flows.test.js) against the test host binary
# (target/release/darkroom-host, built by the workspace's `cargo test --release`),
# screenshots in target/web-screenshots. Prints node's TAP; returns its status.
run_web_tests() {
    ensure_web_tests
    local host="${CARGO_TARGET_DIR:-target}/release/darkroom-host"
    [[ -x "$host" ]] || die "$host is missing: run cargo test --release --no-run first"
    node --test --test-reporter=tap --test-concurrency=1 tests/web/flows.test.js
}

# Key-value on Redis: installs Debian's redis-server when it is missing (apt-get as
# root, else through sudo when there is one).
ensure_redis_server() {
    command -v redis-server >/dev/null && return 0
    apt_install redis-server
}

# Starts a throwaway redis-server on a free loopback port: a temp dir, no persistence
# (no RDB, no AOF), 4096 databases (the e2e suite gives each host its own). Sets
# REDIS_PORT, REDIS_URL (redis://127.0.0.1:PORT), REDIS_DIR and REDIS_PID; stop it with
# stop_redis (e.g. from an EXIT trap).
start_redis() {
    ensure_redis_server
    REDIS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/darkroom-redis.XXXXXX")"
    REDIS_PORT="$(free_port)"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" \
        --save '' --appendonly no --databases 4096 --protected-mode yes \
        --daemonize no --logfile "$REDIS_DIR/redis.log" &
    REDIS_PID=$!
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
    local i
    for i in $(seq 1 100); do
        if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
            log "redis-server $(redis-server --version | grep -o 'v=[0-9.]*') on $REDIS_URL (pid $REDIS_PID, dir $REDIS_DIR)"
            return 0
        fi
        kill -0 "$REDIS_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$REDIS_DIR/redis.log" >&2 || true
    die "redis-server did not start on port $REDIS_PORT"
}

# Stops the server start_redis started (by its pid) and removes its directory.
stop_redis() {
    if [[ -n "${REDIS_PID:-}" ]]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=
    fi
    if [[ -n "${REDIS_DIR:-}" ]]; then
        rm -rf "$REDIS_DIR"
        REDIS_DIR=
    fi
}

# The integration-test executables `cargo test --release` built for the package in
# directory $1 (e.g. tests/e2e), one path a line (more arguments: the first run's package
# selection, e.g. -p darkroom-e2e), building nothing new: the second (Redis)
# e2e run reuses the first run's binaries rather than a `-p` build, whose different
# feature unification would recompile crates.
test_executables() {
    local manifest; manifest="$(cd "$1" && pwd -P)/Cargo.toml"; shift
    cargo test --release --no-run --message-format=json "$@" 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and m["target"]["kind"] == ["test"] and m["manifest_path"] == sys.argv[1]):
        print(m["executable"])
' "$manifest"
}
