#!/usr/bin/env bash
# Installs Debian's chromium (headless screenshots: the reference renderings of CSS
# filters and CSSgram presets for crates/render, made by scripts/render-ref/make-refs.py).
# Only the reference generation needs it; the tests read the committed PNGs.
set -euo pipefail
if command -v chromium >/dev/null; then
    exit 0
fi
apt-get update -qq
apt-get install -y -qq chromium
