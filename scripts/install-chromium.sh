#!/usr/bin/env bash
# Installs Debian's chromium: the browser the web UI's tests drive (tests/web, through
# playwright-core), and the one that made the reference renderings of CSS filters and
# CSSgram presets for crates/render (scripts/render-ref/make-refs.py; the render tests
# read the committed PNGs).
set -euo pipefail
if command -v chromium >/dev/null; then
    exit 0
fi
apt-get update -qq
apt-get install -y -qq chromium
