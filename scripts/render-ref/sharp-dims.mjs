// Writes crates/render/tests/data/sharp_dims.json: the output size sharp gives for every
// fit x enlarge x one/two-sided box x dpr x source aspect (and a few crops), which
// crates/render/tests/plan_vs_sharp.rs compares `render::plan` with, row by row.
//
//   cd scripts/render-ref && npm ci && node sharp-dims.mjs
//
// darkroom's `dpr` multiplies w and h (rounded) before the resize, as imgproxy does; sharp
// has no dpr, so each row asks sharp for round(w * dpr) x round(h * dpr). `enlarge=0` is
// sharp's `withoutEnlargement: true`. `crop` is sharp's `extract` before `resize`.
import sharp from 'sharp';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// One thread and no cache: the machine is shared.
sharp.concurrency(1);
sharp.cache(false);

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, '../../crates/render/tests/data/sharp_dims.json');

const sources = [[1600, 1200], [1200, 1600], [1920, 1080], [1080, 1920], [1000, 1000],
  [333, 251], [3000, 500], [257, 1023], [7, 5], [1, 1]];
const boxes = [[300, null], [null, 300], [300, 300], [1024, 768], [768, 1024], [100, 700],
  [1200, null], [null, 1200], [1100, 1000], [1, 1], [2, 9]];
const fits = ['cover', 'contain', 'fill', 'inside', 'outside'];
const dprs = [1, 1.5, 2, 3];
const crops = [null, [10, 20, 200, 150]];

const rows = [];
for (const [sw, sh] of sources) {
  // One solid raw image per source size: no decoder, so no shrink-on-load rounding.
  const raw = Buffer.alloc(sw * sh * 3, 128);
  for (const crop of crops) {
    if (crop && (crop[0] + crop[2] > sw || crop[1] + crop[3] > sh)) continue;
    for (const [w, h] of boxes) for (const fit of fits) for (const enlarge of [false, true]) for (const dpr of dprs) {
      const tw = w == null ? null : Math.round(w * dpr);
      const th = h == null ? null : Math.round(h * dpr);
      let img = sharp(raw, { raw: { width: sw, height: sh, channels: 3 }, limitInputPixels: false });
      if (crop) img = img.extract({ left: crop[0], top: crop[1], width: crop[2], height: crop[3] });
      img = img.resize({ width: tw ?? undefined, height: th ?? undefined, fit, withoutEnlargement: !enlarge });
      const { info } = await img.raw().toBuffer({ resolveWithObject: true });
      rows.push({ src: [sw, sh], crop, w, h, fit, enlarge, dpr, out: [info.width, info.height] });
    }
  }
}
writeFileSync(out, JSON.stringify({ sharp: sharp.versions.sharp, vips: sharp.versions.vips, rows }, null, 0)
  .replace(/\},\{/g, '},\n{') + '\n');
console.log(`${rows.length} rows -> ${out}`);
