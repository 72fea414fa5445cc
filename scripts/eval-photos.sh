#!/usr/bin/env bash
# Collects the real photo set of the feature evaluation (docs/vectors.md) into
# target/eval-photos/ (or $1). Nothing here runs at test time and no photo is committed.
#
# The photos come from packages of this machine's registries, pinned by version:
#   Debian: plasma-workspace-wallpapers, mate-backgrounds, lomiri-wallpapers-16.04,
#           lomiri-wallpapers-20.04, ukui-wallpapers (fetched with `apt-get download`
#           and unpacked with `dpkg-deb -x` into the output folder: nothing is installed
#           system-wide, so no root is needed once the apt lists exist);
#   PyPI:   scikit-image (the wheel's skimage/data sample images, `pip download`).
#
# De-duplication (a wallpaper shipped at several resolutions, crops or colourings is one
# photo, and keeping two would count true duplicates as false ones):
#   - Plasma: one file per wallpaper, the largest of contents/images/ (never images_dark/,
#     the portrait crops or screenshot.*).
#   - MATE: Elephants in one resolution; of the recoloured "Ubuntu-Mate-*-no-logo" and
#     "MATE-Stripes-*" designs one each.
#   - MATE: none of the abstract PNG overlays (Arc-Colors-Transparent-Wallpaper, Flow,
#     Gulp, Silk, Spring, Waves): nearly transparent, meant to tint a background colour,
#     they are all but blank once flattened on white.
#   - scikit-image: motorcycle_left only (motorcycle_right is the other stereo view).
#   - gnome-backgrounds 43 (WebP/SVG light/dark pairs of drawings), sway-backgrounds (one
#     logo in many sizes) and desktop-base (boot/login themes) are not used.
# Usage: scripts/eval-photos.sh [output-folder]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/eval-photos}"
cache="$out/.packages"
mkdir -p "$out" "$cache/deb" "$cache/pypi"

debs=(
  "plasma-workspace-wallpapers=4:5.27.5-2"
  "mate-backgrounds=1.26.0-1"
  "lomiri-wallpapers-16.04=20.04.0-2"
  "lomiri-wallpapers-20.04=20.04.0-2"
  "ukui-wallpapers=20.04.3-1.1"
)
wheel="scikit-image==0.26.0"

# --- fetch (cached) -----------------------------------------------------------------------
need_update=1
for spec in "${debs[@]}"; do
  name="${spec%%=*}"
  if ! ls "$cache/deb/${name}"_*.deb >/dev/null 2>&1; then
    if [ "$need_update" = 1 ] && [ "$(id -u)" = 0 ]; then
      apt-get update -qq || true
      need_update=0
    fi
    # Pinned first; if that exact version is gone, the candidate (recorded in MANIFEST).
    (cd "$cache/deb" && { apt-get download -q "$spec" 2>/dev/null || apt-get download -q "$name"; })
  fi
done
if ! ls "$cache/pypi/"scikit_image-*.whl >/dev/null 2>&1; then
  python3 -m pip download -q --no-deps --only-binary :all: -d "$cache/pypi" "$wheel"
fi

# --- unpack ----------------------------------------------------------------------------------
rm -rf "$cache/x"
mkdir -p "$cache/x"
for deb in "$cache"/deb/*.deb; do
  name="$(basename "$deb")"
  name="${name%%_*}"
  mkdir -p "$cache/x/$name"
  dpkg-deb -x "$deb" "$cache/x/$name"
done
python3 - "$cache/pypi" "$cache/x/scikit-image" <<'PY'
import glob, os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
whl = sorted(glob.glob(os.path.join(src, "scikit_image-*.whl")))[-1]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("skimage/data/") and n.count("/") == 2:
            z.extract(n, dst)
PY

# --- collect ---------------------------------------------------------------------------------
find "$out" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) -delete
take() { # take PACKAGE SOURCE-FILE
  local pkg="$1" src="$2" base
  base="$(basename "$src")"
  cp "$src" "$out/${pkg}__${base}"
}

# Plasma: <Name>/contents/images/<W>x<H>.<ext>; the largest landscape file of each.
for dir in "$cache"/x/plasma-workspace-wallpapers/usr/share/wallpapers/*/contents/images; do
  name="$(basename "$(dirname "$(dirname "$dir")")")"
  best="$(ls "$dir" | awk -F'[x.]' '$1 >= $2 { print $1 * $2, $0 }' | sort -n | tail -1 | cut -d' ' -f2)"
  [ -n "$best" ] || continue
  cp "$dir/$best" "$out/plasma__${name}.${best##*.}"
done

mate="$cache/x/mate-backgrounds/usr/share/backgrounds/mate"
for f in "$mate"/nature/*.jpg "$mate"/abstract/Elephants.jpg \
  "$mate"/desktop/GreenTraditional.jpg "$mate"/desktop/Float-into-MATE.png \
  "$mate"/desktop/Stripes.png "$mate"/desktop/Ubuntu-Mate-Warm-no-logo.png; do
  [ -f "$f" ] && take mate "$f"
done

for pkg in lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 ukui-wallpapers; do
  for f in "$cache/x/$pkg"/usr/share/backgrounds/*.jpg "$cache/x/$pkg"/usr/share/backgrounds/*.png; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt 50000 ] && take "$pkg" "$f"
  done
done

sk="$cache/x/scikit-image/skimage/data"
for n in astronaut.png camera.png chelsea.png coffee.png rocket.jpg moon.png coins.png \
  hubble_deep_field.jpg motorcycle_left.png retina.jpg brick.png grass.png gravel.png \
  page.png text.png ihc.png cell.png clock_motion.png; do
  [ -f "$sk/$n" ] && take skimage "$sk/$n"
done

# --- manifest ----------------------------------------------------------------------------
{
  echo "# darkroom evaluation photo set (scripts/eval-photos.sh)"
  for deb in "$cache"/deb/*.deb; do
    dpkg-deb -f "$deb" Package Version | paste -sd' ' -
  done
  basename "$(ls "$cache"/pypi/scikit_image-*.whl | tail -1)"
  echo "photos: $(find "$out" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) | wc -l)"
} >"$out/MANIFEST"
cat "$out/MANIFEST"
