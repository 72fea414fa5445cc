#!/usr/bin/env bash
# Fuzzes imaging (sniff, header read, decode, thumbnail) for a bounded time. Not part of
# CI or ./test.sh. See docs/fuzzing.md.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]     targets: thumbnail, sniff_header (default: all, 60 s each)
#   FUZZ_ENGINE=cargo-fuzz|stable|auto         default auto: cargo-fuzz when a nightly toolchain is there
#   FUZZ_TARGET_DIR=DIR                        cargo target dir of the fuzz build (default fuzz/target)
#
# cargo-fuzz (libFuzzer + AddressSanitizer) needs nightly Rust; the script installs
# cargo-fuzz itself if it is missing. Without nightly it falls back to fuzz/'s stable
# runner (replay + random mutation, no coverage feedback).
#
# Every crasher is copied to crates/imaging/tests/fuzz_corpus/, which
# `cargo test -p darkroom-imaging --test fuzz_corpus` replays: fix imaging until it passes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

which="${1:-all}"
seconds="${2:-60}"
engine="${FUZZ_ENGINE:-auto}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
corpus_keep="crates/imaging/tests/fuzz_corpus"
targets=(thumbnail sniff_header)
[[ "$which" == all ]] || targets=("$which")

has_nightly() { command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly'; }
if [[ "$engine" == auto ]]; then
    if has_nightly; then
        engine=cargo-fuzz
    else
        log "no nightly toolchain; trying to install one (rustup toolchain install nightly)"
        if command -v rustup >/dev/null && rustup toolchain install nightly --profile minimal >/dev/null 2>&1; then
            engine=cargo-fuzz
        else
            log "nightly is not available here: using the stable runner (no coverage feedback)"
            engine=stable
        fi
    fi
fi

# The stable runner also writes the seed corpus for cargo-fuzz.
log "building the stable runner"
cargo build --quiet --release --no-default-features --bin stable-fuzz --manifest-path fuzz/Cargo.toml
stable="$CARGO_TARGET_DIR/release/stable-fuzz"

if [[ "$engine" == cargo-fuzz ]] && ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

status=0
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    artifacts="fuzz/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    "$stable" --write-seeds "$corpus"
    log "fuzzing $target for ${seconds}s with $engine"
    if [[ "$engine" == cargo-fuzz ]]; then
        # The first corpus folder receives new inputs; the kept corpus is read only.
        (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" "../$corpus_keep" -- \
            -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=262144 \
            -print_final_stats=1) || status=1
    else
        "$stable" --target "$target" --seconds "$seconds" --artifacts "$artifacts" "$corpus" "$corpus_keep" || status=1
    fi
    for crash in "$artifacts"/crash-* "$artifacts"/oom-* "$artifacts"/timeout-*; do
        [[ -f "$crash" ]] || continue
        name="$(basename "$crash" | cut -d- -f1)-$(sha256sum "$crash" | cut -c1-16)"
        if [[ ! -f "$corpus_keep/$name" ]]; then
            cp "$crash" "$corpus_keep/$name"
            log "new finding: $corpus_keep/$name (from $crash)"
        fi
    done
done

if [[ $status -ne 0 ]]; then
    log "findings copied to $corpus_keep; reproduce with: cargo test --release -p darkroom-imaging --test fuzz_corpus"
fi
exit "$status"
