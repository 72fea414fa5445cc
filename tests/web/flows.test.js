// The web UI's flows in headless Chromium against the test host (issue 14, part 4).
// Each flow saves a screenshot under target/web-screenshots and fails on any console
// error, page error, failed request or unexpected 4xx/5xx, and on any serious or
// critical axe-core violation of the pages it visits.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { axe, imagesLoaded, launchBrowser, openPage, photo, pngSize, screenshot, sha256, startHost } from './harness.js';

let host;
let browser;
const photos = {};

async function flow(name, options, body) {
  const page = await openPage(browser, options);
  try {
    await body(page);
    await screenshot(page, name);
    assert.deepEqual(page.problems, [], `${name}: console errors or failed requests`);
  } catch (err) {
    await screenshot(page, `${name}-failed`).catch(() => {});
    throw err;
  } finally {
    await page.context().close();
  }
}

const avg = (page, selector) => page.$eval(selector, (img) => {
  const c = document.createElement('canvas');
  c.width = 32;
  c.height = 32;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0, 32, 32);
  const d = g.getImageData(0, 0, 32, 32).data;
  let sat = 0;
  let lum = 0;
  for (let i = 0; i < d.length; i += 4) {
    const [r, gg, b] = [d[i], d[i + 1], d[i + 2]];
    sat += Math.max(r, gg, b) - Math.min(r, gg, b);
    lum += (r + gg + b) / 3;
  }
  return { sat: sat / 1024, lum: lum / 1024 };
});

describe('web UI', { concurrency: false }, () => {
  before(async () => {
    host = await startHost();
    browser = await launchBrowser();
    const page = await browser.newPage();
    photos.sunset = await photo(page, 'sunset', 1200, 800);
    photos.ocean = await photo(page, 'ocean', 1200, 800);
    photos.forest = await photo(page, 'forest', 900, 900);
    // The near duplicate: the same scene, smaller and recompressed.
    photos.sunsetSmall = await photo(page, 'sunset', 900, 600, 0.75);
    for (const [k, bytes] of Object.entries(photos)) photos[`${k}Id`] = await sha256(bytes);
    await page.close();
  });
  after(async () => {
    if (browser) await browser.close();
    browser = null;
    if (host) await host.stop();
  });

  test('the page is served with a strict CSP and hashed, immutable assets', async () => {
    const index = await fetch(`${host.url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const csp = index.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await index.text();
    const app = html.match(/\/assets\/app\.[0-9a-f]{8}\.js/);
    assert.ok(app, html);
    const asset = await fetch(`${host.url}${app[0]}`);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(asset.headers.get('content-type'), /^text\/javascript/);
    assert.doesNotMatch(await asset.text(), /from '\.\//, 'imports are rewritten to hashed names');
    const doc = await (await fetch(`${host.url}/api/openapi.json`)).json();
    assert.match(doc.openapi, /^3\.1/);
  });

  test('upload three photos through the file input, with progress, and see them in the gallery', async () => {
    await flow('01-upload', {}, async (page) => {
      await page.goto(`${host.url}/#/upload`);
      // Uploads at 256 KiB/s (DevTools' throttling), so each file's bar moves through
      // values between 0 and 100 (upload progress events); the page records them.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
      await page.evaluate(() => {
        window.progressSeen = {};
        new MutationObserver((records) => {
          for (const r of records) {
            const name = r.target.closest('.upload-item').dataset.name;
            (window.progressSeen[name] ||= []).push(Number(r.target.getAttribute('value')));
          }
        }).observe(document.querySelector('.uploads'), { attributes: true, attributeFilter: ['value'], subtree: true });
      });
      await page.locator('#file-input').setInputFiles([
        { name: 'sunset.jpg', mimeType: 'image/jpeg', buffer: photos.sunset },
        { name: 'ocean.jpg', mimeType: 'image/jpeg', buffer: photos.ocean },
        { name: 'forest.jpg', mimeType: 'image/jpeg', buffer: photos.forest },
      ]);
      await page.locator('.upload-item progress').first().waitFor();
      assert.equal(await page.locator('.upload-item progress').count(), 3, 'a progress bar per file');
      await page.locator('.upload-item.done').nth(2).waitFor({ timeout: 120000 });
      const values = await page.locator('.upload-item progress').evaluateAll((bars) => bars.map((b) => b.value));
      assert.deepEqual(values, [100, 100, 100]);
      const seen = await page.evaluate(() => window.progressSeen);
      for (const name of ['sunset.jpg', 'ocean.jpg', 'forest.jpg']) {
        assert.ok((seen[name] || []).some((v) => v > 0 && v < 100), `${name}: no progress between 0 and 100: ${seen[name]}`);
      }
      const ids = await page.locator('.upload-item.done').evaluateAll((items) => items.map((i) => i.dataset.id).sort());
      assert.deepEqual(ids, [photos.sunsetId, photos.oceanId, photos.forestId].sort());
      await imagesLoaded(page, '.uploads');
      await axe(page, 'upload');
    });
    await flow('02-gallery', {}, async (page) => {
      await page.goto(`${host.url}/#/`);
      await page.locator('.tile img.loaded').nth(2).waitFor({ timeout: 60000 });
      const ids = await page.locator('.tile').evaluateAll((tiles) => tiles.map((t) => t.dataset.id));
      assert.deepEqual([...ids].sort(), [photos.sunsetId, photos.oceanId, photos.forestId].sort());
      // Newest first, as the API lists them (the uploads ran two at a time).
      const listing = await (await fetch(`${host.url}/api/images`)).json();
      assert.deepEqual(ids, listing.images.map((i) => i.id));
      assert.equal(await page.locator('.tile canvas').count(), 3, 'a BlurHash placeholder per tile');
      await axe(page, 'gallery');
    });
    await flow('02-gallery-pages', {}, async (page) => {
      // One image a page: the next pages load as the end of the grid comes into view.
      const listed = [];
      page.on('request', (req) => req.url().includes('/api/images?') && listed.push(req.url()));
      await page.goto(`${host.url}/#/?limit=1`);
      await page.locator('.tile').nth(2).waitFor();
      await page.locator('.count').filter({ hasText: /^3 images/ }).waitFor();
      assert.equal(listed.length, 3, listed.join('\n'));
      assert.ok(listed.slice(1).every((u) => u.includes('cursor=')), listed.join('\n'));
      const ids = await page.locator('.tile').evaluateAll((tiles) => tiles.map((t) => t.dataset.id));
      assert.equal(new Set(ids).size, 3);
      // By keyboard: Tab reaches the skip link, the nav, then the tiles; Enter opens one.
      let focused = '';
      for (let i = 0; i < 20 && !focused.startsWith('tile:'); i++) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate(() => (document.activeElement.classList.contains('tile') ? `tile:${document.activeElement.dataset.id}` : document.activeElement.textContent));
      }
      assert.ok(focused.startsWith('tile:'), 'a tile takes the focus by Tab');
      await page.keyboard.press('Enter');
      await page.waitForURL(new RegExp(`#/image/${focused.slice(5)}$`));
      await page.locator('#facts-title').waitFor();
    });
  });

  test('an image page shows variants and similar images; a preset changes the preview', async () => {
    await flow('03-image', {}, async (page) => {
      await page.goto(`${host.url}/#/`);
      await page.locator(`.tile[data-id="${photos.sunsetId}"]`).click();
      await page.waitForURL(new RegExp(`#/image/${photos.sunsetId}$`));
      await page.locator('#variants .thumb').first().waitFor();
      assert.ok(await page.locator('#variants [data-variant="clarendon"]').count(), 'the auto preset variant is listed');
      await page.locator('#similar .thumb .score').nth(1).waitFor({ timeout: 30000 });
      const scores = await page.locator('#similar .score').allTextContents();
      assert.equal(scores.length, 2, `${scores}`);
      for (const s of scores) assert.ok(/^-?[01]\.\d{3}$/.test(s) && Math.abs(Number(s)) <= 1, s);
      await imagesLoaded(page, '.viewer');
      const before = await avg(page, '#preview');
      await page.getByRole('button', { name: 'inkwell' }).click();
      await page.waitForFunction(() => document.querySelector('#preview').src.includes('preset=inkwell'));
      await imagesLoaded(page, '.viewer');
      await page.waitForFunction(() => !document.querySelector('#preview').classList.contains('busy'));
      const afterPreset = await avg(page, '#preview');
      assert.equal(await page.locator('#preview-label').textContent(), 'Preset: inkwell');
      // inkwell is black and white: the colourful sunset loses (nearly) all saturation.
      assert.ok(before.sat > 40 && afterPreset.sat < 8, `saturation ${before.sat} -> ${afterPreset.sat}`);
      await imagesLoaded(page);
      await axe(page, 'image page');
    });
  });

  test('the render-URL builder makes a URL that answers an image of the requested size', async () => {
    await flow('04-render-url', {}, async (page) => {
      await page.goto(`${host.url}/#/image/${photos.oceanId}`);
      await page.locator('#render-url').waitFor();
      const form = page.locator('section', { has: page.locator('#builder-title') });
      await form.getByLabel('Width').fill('300');
      await form.getByLabel('Height').fill('200');
      await form.getByLabel('Fit').selectOption('cover');
      await form.getByLabel('Gravity').selectOption('smart');
      await form.getByLabel('Format').selectOption('png');
      await form.getByLabel('Preset').selectOption('juno');
      await page.waitForFunction(() => document.querySelector('#render-size').textContent.includes('300 × 200'), null, { timeout: 30000 });
      const url = await page.locator('#render-url').inputValue();
      assert.match(url, /w=300&h=200&fit=cover&gravity=smart&format=png/);
      await page.locator('#render-url').scrollIntoViewIfNeeded();
      // Open it: the bytes are a 300 × 200 PNG.
      const response = await page.request.get(url);
      assert.equal(response.status(), 200);
      assert.equal(response.headers()['content-type'], 'image/png');
      assert.deepEqual(pngSize(await response.body()), { width: 300, height: 200 });
      await axe(page, 'render builder');
    });
  });

  test('dedupe finds the near-duplicate pair at 100%; deleting one removes it from the gallery', async () => {
    await flow('05-duplicates', {}, async (page) => {
      await page.goto(`${host.url}/#/upload`);
      await page.locator('#file-input').setInputFiles([{ name: 'sunset-small.jpg', mimeType: 'image/jpeg', buffer: photos.sunsetSmall }]);
      await page.locator('.upload-item.done').waitFor({ timeout: 60000 });
      await page.goto(`${host.url}/#/duplicates`);
      await page.locator('#find-duplicates').click();
      await page.locator('.dup-group').first().waitFor({ timeout: 120000 });
      assert.equal(await page.locator('.job-progress progress').evaluate((p) => p.value), 100);
      assert.equal(await page.locator('.job-progress strong').textContent(), '100%');
      assert.equal(await page.locator('.dup-group').count(), 1, 'one group: the sunset pair');
      const pair = await page.locator('.dup-group .dup-card').evaluateAll((cards) => cards.map((c) => c.dataset.id).sort());
      assert.deepEqual(pair, [photos.sunsetId, photos.sunsetSmallId].sort());
      // The larger one is kept by default; its resolution is shown.
      assert.equal(await page.locator('.dup-card.keep').getAttribute('data-id'), photos.sunsetId);
      assert.match(await page.locator('.dup-card.keep').textContent(), /1200 × 800/);
      await imagesLoaded(page, '#groups');
      await axe(page, 'duplicates');
      await screenshot(page, '05-duplicates-review');
      await page.getByRole('button', { name: 'Keep 1, delete 1' }).click();
      await page.locator('.dup-group.resolved').waitFor();
      await page.goto(`${host.url}/#/`);
      await page.locator('.tile').nth(2).waitFor();
      await page.waitForTimeout(300);
      const ids = await page.locator('.tile').evaluateAll((tiles) => tiles.map((t) => t.dataset.id));
      assert.ok(!ids.includes(photos.sunsetSmallId), 'the deleted duplicate left the gallery');
      assert.equal(ids.length, 3);
      assert.equal((await fetch(`${host.url}/api/images/${photos.sunsetSmallId}`)).status, 404);
    });
  });

  test('a CSV dataset is previewed, and aggregate from the form shows the totals table', async () => {
    const merchants = ['acme', 'bolt', 'cargo'];
    let csv = 'order_id,merchant,amount,country\n';
    const totals = new Map();
    for (let i = 0; i < 60; i++) {
      const m = merchants[(i * 7) % 3];
      const cents = 1000 + ((i * 7919) % 50000);
      totals.set(m, (totals.get(m) || 0) + cents);
      csv += `${i + 1},${m},${(cents / 100).toFixed(2)},${i % 2 ? 'DE' : 'FR'}\n`;
    }
    await flow('06-dataset', {}, async (page) => {
      await page.goto(`${host.url}/#/datasets`);
      await page.locator('#dataset-input').setInputFiles({ name: 'orders.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await page.waitForURL(/#\/datasets\/[0-9a-f]{64}$/);
      await page.locator('#preview-rows tbody tr').first().waitFor();
      assert.deepEqual(await page.locator('#columns .chip').evaluateAll((c) => c.map((x) => x.firstChild.textContent)), ['order_id', 'merchant', 'amount', 'country']);
      assert.equal(await page.locator('#preview-rows tbody tr').count(), 20);
      assert.deepEqual(await page.locator('#preview-rows tbody tr').first().locator('td').allTextContents(), csv.split('\n')[1].split(','));
      await axe(page, 'dataset');
      await screenshot(page, '06-dataset-preview');
      await page.getByRole('link', { name: 'Aggregate' }).click();
      await page.locator('#new-job input[name="group_by"]').fill('merchant');
      await page.getByLabel('Values: column').fill('amount');
      await page.getByRole('button', { name: 'Run job' }).click();
      await page.locator('#result table').waitFor({ timeout: 120000 });
      const headers = await page.locator('#result thead th').allTextContents();
      const rows = await page.locator('#result tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
      const [sum, count] = [headers.indexOf('amount sum'), headers.indexOf('amount count')];
      assert.ok(headers[0] === 'merchant' && sum > 0 && count > 0, `${headers}`);
      // Exact decimal sums, as the server computes them.
      const expected = merchants.map((m) => [m, (totals.get(m) / 100).toFixed(2), '20']);
      assert.deepEqual(rows.map((r) => [r[0], Number(r[sum]).toFixed(2), r[count]]), expected);
      assert.match(await page.locator('#result a', { hasText: 'Download CSV' }).getAttribute('href'), /format=csv/);
      await axe(page, 'jobs');
    });
  });

  test('the collection map, the jobs list and the API page render', async () => {
    await flow('07-map', {}, async (page) => {
      await page.goto(`${host.url}/#/map`);
      await page.locator('#k').fill('3');
      await page.getByRole('button', { name: 'Draw the map' }).click();
      await page.locator('#map .point').nth(2).waitFor({ timeout: 120000 });
      assert.equal(await page.locator('#map .point').count(), 3);
      await imagesLoaded(page, '#map');
      await axe(page, 'map');
    });
    await flow('08-jobs', {}, async (page) => {
      await page.goto(`${host.url}/#/jobs`);
      await page.locator('table a').first().waitFor();
      const tasks = await page.locator('tbody td:first-child').allTextContents();
      for (const t of ['dedupe', 'aggregate', 'cluster']) assert.ok(tasks.includes(t), `${tasks}`);
      await axe(page, 'jobs list');
    });
    await flow('09-api', {}, async (page) => {
      await page.goto(`${host.url}/#/api`);
      await page.locator('.route').first().waitFor();
      const doc = await (await fetch(`${host.url}/api/openapi.json`)).json();
      const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).filter((k) => ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].includes(k)).length, 0);
      assert.equal(await page.locator('.route').count(), operations);
      await axe(page, 'API page');
    });
  });

  test('phone width and dark mode', async () => {
    await flow('10-phone-dark', { viewport: { width: 390, height: 844 }, colorScheme: 'dark' }, async (page) => {
      await page.goto(`${host.url}/#/`);
      await page.locator('.tile img.loaded').nth(2).waitFor({ timeout: 60000 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'no horizontal scrolling at 390 px');
      await axe(page, 'phone gallery');
      await page.getByRole('button', { name: 'Menu' }).click();
      await page.getByRole('link', { name: 'Jobs' }).waitFor();
      await axe(page, 'phone menu');
    });
    await flow('10-phone-dark-image', { viewport: { width: 390, height: 844 }, colorScheme: 'dark' }, async (page) => {
      await page.goto(`${host.url}/#/image/${photos.forestId}`);
      await page.locator('#similar .score').first().waitFor({ timeout: 30000 });
      await imagesLoaded(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'no horizontal scrolling at 390 px');
      await axe(page, 'phone image page');
    });
  });

  test('save a preset as a variant, share, delete', async () => {
    await flow('12-image-actions', {}, async (page) => {
      await page.goto(`${host.url}/#/image/${photos.forestId}`);
      await page.getByRole('button', { name: 'moon' }).click();
      await page.getByRole('button', { name: 'Save as variant' }).click();
      await page.locator('#variants [data-variant="moon"]').waitFor({ timeout: 60000 });
      const stored = await (await fetch(`${host.url}/api/images/${photos.forestId}/variants`)).json();
      assert.ok(stored.variants.some((v) => v.name === 'moon'), JSON.stringify(stored.variants));
      await page.getByRole('button', { name: 'Share link' }).click();
      const link = await page.getByLabel('Share link').inputValue();
      assert.equal(link, `${host.url}/images/${photos.forestId}`);
      await imagesLoaded(page);
      await axe(page, 'image actions');
      await screenshot(page, '12-image-saved-shared');
      await page.getByRole('button', { name: 'Delete' }).click();
      await page.waitForURL(/#\/$/);
      await page.locator('.tile').nth(1).waitFor();
      const ids = await page.locator('.tile').evaluateAll((tiles) => tiles.map((t) => t.dataset.id));
      assert.deepEqual(ids.sort(), [photos.sunsetId, photos.oceanId].sort());
    });
  });
});

describe('web UI with api_token set', { concurrency: false }, () => {
  let locked;
  before(async () => {
    locked = await startHost({ api_token: 'web-test-token-0123456789' });
    browser = browser || (await launchBrowser());
  });
  after(async () => {
    if (locked) await locked.stop();
    if (browser) await browser.close();
    browser = null;
  });

  test('a write without the token shows a clear message; signed in, it works', async () => {
    await flow('11-token', { allowed: [/401/] }, async (page) => {
      await page.goto(`${locked.url}/#/upload`);
      const bytes = await photo(page, 'ocean', 640, 480);
      await page.locator('#file-input').setInputFiles({ name: 'ocean.jpg', mimeType: 'image/jpeg', buffer: bytes });
      await page.locator('.upload-item.error').waitFor({ timeout: 60000 });
      assert.match(await page.locator('.upload-item.error .status').textContent(), /needs its API token/);
      await page.locator('#notice').waitFor();
      assert.match(await page.locator('#notice').textContent(), /Sign-in needed/);
      await axe(page, 'token notice');
      await screenshot(page, '11-token-refused');
      await page.locator('#notice button').click();
      await page.locator('#token-input').fill('web-test-token-0123456789');
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal(await page.locator('#token-button').textContent(), 'Signed in');
      await page.locator('#file-input').setInputFiles({ name: 'ocean.jpg', mimeType: 'image/jpeg', buffer: bytes });
      await page.locator('.upload-item.done').waitFor({ timeout: 60000 });
      assert.equal(await page.locator('.upload-item.done').getAttribute('data-id'), await sha256(bytes));
    });
  });
});
