#!/usr/bin/env bash
# Remakes docs/img/presets/*.jpg (the before/after pictures in docs/render.md) with the
# render crate's own code: the test photo at 320 px, as is and through each preset.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p darkroom-render --example preset_gallery
