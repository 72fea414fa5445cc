// The test harness: a darkroom test host on a free port with a temp store, Debian's
// chromium through playwright-core, a page that records every console error, page error
// and failed request, axe-core, screenshots, and photos painted by the browser itself.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const target = process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
// The npm packages live under target/ (scripts/lib.sh: ensure_web_node), not in the tree.
const require = createRequire(join(process.env.DARKROOM_WEB_NODE || join(target, 'web-node'), 'package.json'));
const { chromium } = require('playwright-core');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const SCREENSHOTS = process.env.DARKROOM_WEB_SCREENSHOTS || join(target, 'web-screenshots');

async function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** Starts target/release/darkroom-host on spin.toml with `variables`; returns { url, stop }. */
export async function startHost(variables = {}) {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), 'darkroom-web-'));
  const host = process.env.DARKROOM_HOST_BIN || join(target, 'release', 'darkroom-host');
  const args = ['--listen', `127.0.0.1:${port}`, '--state-dir', state];
  for (const [k, v] of Object.entries(variables)) args.push('--variable', `${k}=${v}`);
  args.push(join(ROOT, 'spin.toml'));
  const child = spawn(host, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 200000) stderr = stderr.slice(-100000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`darkroom-host exited (${child.exitCode}):\n${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`darkroom-host did not answer on ${url}:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(state, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/**
 * A page whose console errors, uncaught errors, failed requests and 4xx/5xx answers are
 * collected in `problems`; those matching one of `allowed` (regexps) are expected.
 */
export async function openPage(browser, { viewport = { width: 1366, height: 900 }, colorScheme = 'light', allowed = [] } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, deviceScaleFactor: 1 });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await context.newPage();
  const problems = [];
  const note = (text) => {
    if (!allowed.some((re) => re.test(text))) problems.push(text);
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error') note(`console: ${msg.text()} (${msg.location().url || ''})`);
  });
  page.on('pageerror', (err) => note(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    const failure = req.failure() ? req.failure().errorText : '';
    // A navigation away aborts the images still loading: not a failure of the app.
    if (failure !== 'net::ERR_ABORTED') note(`request failed: ${req.method()} ${req.url()} ${failure}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) note(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
  page.on('dialog', (dialog) => dialog.accept());
  page.problems = problems;
  page.allow = (re) => allowed.push(re);
  return page;
}

/** Fails when axe-core finds a serious or critical violation on the page as it is. */
export async function axe(page, label) {
  // Through the DevTools protocol: the page's own CSP (rightly) refuses an inline script.
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(`${AXE_SOURCE};0`);
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const lines = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`);
    throw new Error(`axe-core on ${label}:\n${lines.join('\n')}`);
  }
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // From the top (the header is sticky), and images decode asynchronously: a
  // full-page capture could catch one still blank.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.evaluate(() => Promise.all([...document.images].filter((i) => i.complete).map((i) => i.decode().catch(() => {}))));
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits until every <img> in the page (or under `selector`) has loaded. */
export async function imagesLoaded(page, selector = 'body') {
  await page.waitForFunction((sel) => [...document.querySelectorAll(`${sel} img`)].every((img) => img.complete && img.naturalWidth > 0), selector, { timeout: 60000 });
}

/**
 * JPEG bytes of a generated "photo" (a landscape-like scene of scene `kind`, at
 * width × height), painted by the browser's canvas: no fixture files, no image library.
 */
export async function photo(page, kind, width, height, quality = 0.9) {
  const base64 = await page.evaluate(async ({ kind, width, height, quality }) => {
    const canvas = new OffscreenCanvas(width, height);
    const g = canvas.getContext('2d');
    const W = width;
    const H = height;
    let seed = 7 + kind.length * 31;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    if (kind === 'sunset') {
      const sky = g.createLinearGradient(0, 0, 0, H);
      sky.addColorStop(0, '#1d2b64');
      sky.addColorStop(0.55, '#f8766d');
      sky.addColorStop(1, '#ffd27f');
      g.fillStyle = sky;
      g.fillRect(0, 0, W, H);
      g.fillStyle = '#fff3c4';
      g.beginPath();
      g.arc(W * 0.68, H * 0.58, H * 0.12, 0, Math.PI * 2);
      g.fill();
      for (const [y, c] of [[0.7, '#3b1f3a'], [0.8, '#2a1429'], [0.9, '#170a17']]) {
        g.fillStyle = c;
        g.beginPath();
        g.moveTo(0, H);
        for (let x = 0; x <= W; x += W / 12) g.lineTo(x, H * y - rand() * H * 0.12);
        g.lineTo(W, H);
        g.fill();
      }
    } else if (kind === 'ocean') {
      const sky = g.createLinearGradient(0, 0, 0, H * 0.5);
      sky.addColorStop(0, '#8fd3f4');
      sky.addColorStop(1, '#e0f7ff');
      g.fillStyle = sky;
      g.fillRect(0, 0, W, H * 0.5);
      for (let i = 0; i < 40; i++) {
        g.fillStyle = `hsl(${195 + rand() * 20}, 80%, ${25 + rand() * 25}%)`;
        g.fillRect(0, H * 0.5 + (i * H) / 80, W, H / 80 + 1);
      }
      g.fillStyle = '#ffffff';
      for (let i = 0; i < 6; i++) {
        g.beginPath();
        g.ellipse(rand() * W, rand() * H * 0.3, W * 0.08, H * 0.03, 0, 0, Math.PI * 2);
        g.fill();
      }
    } else {
      g.fillStyle = '#0f3d1e';
      g.fillRect(0, 0, W, H);
      for (let i = 0; i < 260; i++) {
        g.fillStyle = `hsl(${80 + rand() * 70}, ${40 + rand() * 40}%, ${15 + rand() * 45}%)`;
        g.beginPath();
        g.arc(rand() * W, rand() * H, (0.02 + rand() * 0.07) * W, 0, Math.PI * 2);
        g.fill();
      }
      g.fillStyle = '#5a3a1a';
      for (let i = 0; i < 9; i++) g.fillRect(rand() * W, H * 0.45, W * 0.02, H * 0.55);
    }
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, { kind, width, height, quality });
  return Buffer.from(base64, 'base64');
}

/** The lowercase hex SHA-256 of `bytes`: an image's id. */
export async function sha256(bytes) {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(bytes).digest('hex');
}

/** Width and height from a PNG's IHDR. */
export function pngSize(bytes) {
  if (bytes.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error('not a PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
