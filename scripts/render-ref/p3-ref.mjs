// sharp's sRGB conversion of crates/render/tests/data/p3-patches.png (Display P3 patches
// with the profile embedded): the centre pixel of each 16x16 patch, into
// crates/render/tests/data/p3_srgb_sharp.json for tests/icc.rs.
//
//   node p3-ref.mjs icc   writes sharp's own Display P3 profile to tests/data/display-p3.icc
//                         (then `cargo run --release -p darkroom-render --example p3_fixture`)
//   node p3-ref.mjs       writes the reference table
import sharp from 'sharp';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const data = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../crates/render/tests/data');
if (process.argv[2] === 'icc') {
  const tagged = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#808080' } })
    .withIccProfile('p3').png().toBuffer();
  writeFileSync(path.join(data, 'display-p3.icc'), (await sharp(tagged).metadata()).icc);
  process.exit(0);
}
// sharp converts an input with an embedded profile to sRGB by default.
const { data: px, info } = await sharp(path.join(data, 'p3-patches.png')).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
const patches = [];
for (let i = 0; i * 16 < info.width; i++) {
  const o = (8 * info.width + i * 16 + 8) * info.channels;
  patches.push([px[o], px[o + 1], px[o + 2]]);
}
writeFileSync(path.join(data, 'p3_srgb_sharp.json'), JSON.stringify({ sharp: sharp.versions.sharp, srgb: patches }) + '\n');
console.log(patches);
