// BlurHash decoder (https://blurha.sh, the algorithm of woltapp/blurhash, MIT):
// a few DCT components in base 83, painted into a small canvas under a thumbnail.

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';

function decode83(text) {
  let value = 0;
  for (const c of text) {
    const digit = DIGITS.indexOf(c);
    if (digit < 0) throw new Error(`blurhash: bad character ${c}`);
    value = value * 83 + digit;
  }
  return value;
}

function srgbToLinear(v) {
  const x = v / 255;
  return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
}

function linearToSrgb(v) {
  const x = Math.max(0, Math.min(1, v));
  return x <= 0.0031308 ? Math.round(x * 12.92 * 255 + 0.5) : Math.round((1.055 * Math.pow(x, 1 / 2.4) - 0.055) * 255 + 0.5);
}

const signPow = (v, e) => Math.sign(v) * Math.pow(Math.abs(v), e);

/** RGBA pixels (width × height) of `hash`; throws on a malformed hash. */
export function decode(hash, width, height, punch = 1) {
  if (!hash || hash.length < 6) throw new Error('blurhash: too short');
  const size = decode83(hash[0]);
  const nx = (size % 9) + 1;
  const ny = Math.floor(size / 9) + 1;
  if (hash.length !== 4 + 2 * nx * ny) throw new Error('blurhash: length does not match its size flag');
  const maximum = ((decode83(hash[1]) + 1) / 166) * punch;
  const colors = [];
  const dc = decode83(hash.slice(2, 6));
  colors.push([srgbToLinear(dc >> 16), srgbToLinear((dc >> 8) & 255), srgbToLinear(dc & 255)]);
  for (let i = 1; i < nx * ny; i++) {
    const v = decode83(hash.slice(4 + i * 2, 6 + i * 2));
    const q = [Math.floor(v / 361), Math.floor(v / 19) % 19, v % 19];
    colors.push(q.map((c) => signPow((c - 9) / 9, 2) * maximum));
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  const cosX = new Float64Array(width * nx);
  for (let x = 0; x < width; x++) for (let i = 0; i < nx; i++) cosX[x * nx + i] = Math.cos((Math.PI * x * i) / width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < ny; j++) {
        const cy = Math.cos((Math.PI * y * j) / height);
        for (let i = 0; i < nx; i++) {
          const basis = cosX[x * nx + i] * cy;
          const c = colors[i + j * nx];
          r += c[0] * basis;
          g += c[1] * basis;
          b += c[2] * basis;
        }
      }
      const o = 4 * (x + y * width);
      pixels[o] = linearToSrgb(r);
      pixels[o + 1] = linearToSrgb(g);
      pixels[o + 2] = linearToSrgb(b);
      pixels[o + 3] = 255;
    }
  }
  return pixels;
}

/** A 32×32 canvas painted with `hash` (CSS stretches it), or null when it cannot be decoded. */
export function canvasFor(hash) {
  try {
    const canvas = document.createElement('canvas');
    canvas.width = 32;
    canvas.height = 32;
    canvas.setAttribute('aria-hidden', 'true');
    const ctx = canvas.getContext('2d');
    ctx.putImageData(new ImageData(decode(hash, 32, 32), 32, 32), 0, 0);
    return canvas;
  } catch {
    return null;
  }
}
