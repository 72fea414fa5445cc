#!/usr/bin/env bash
# Installs Debian's chromium: the browser the web UI's tests drive (tests/web, through
# playwright-core; `ensure_web_tests` in scripts/lib.sh does the same), and the one that
# made the reference renderings of CSS filters and CSSgram presets for crates/render
# (scripts/render-ref/make-refs.py; the render tests read the committed PNGs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
command -v chromium >/dev/null || apt_install chromium
