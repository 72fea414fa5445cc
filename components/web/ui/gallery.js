// Gallery: newest first, a page at a time as the end of the grid scrolls into view;
// BlurHash placeholders stand in until each tile's rendition has loaded.

import { getJson } from './api.js';
import { canvasFor } from './blurhash.js';
import { clear, fadeImage, formatBytes, h, loading, pageHead, problemText, tileUrl } from './ui.js';

// Images per page; `#/?limit=N` changes it (1-100).
const PAGE = 40;

export function tile(image) {
  const placeholder = image.placeholder && image.placeholder.blurhash ? canvasFor(image.placeholder.blurhash) : null;
  const label = `${image.format.toUpperCase()} ${image.width}×${image.height}, ${formatBytes(image.bytes)}`;
  const a = h('a.tile', { href: `#/image/${image.id}`, 'aria-label': `Image ${image.id.slice(0, 8)}: ${label}`, dataset: { id: image.id } },
    placeholder,
    fadeImage(tileUrl(image.id), ''),
    h('span.caption', { 'aria-hidden': 'true' }, label));
  if (!placeholder && image.placeholder && image.placeholder.color) a.style.setProperty('background', image.placeholder.color);
  return a;
}

export async function galleryPage(view, ctx) {
  const count = h('span.count', '');
  const grid = h('div.gallery', { role: 'list' });
  const sentinel = h('div.sentinel', { 'aria-hidden': 'true' });
  const status = h('div');
  clear(view, pageHead('Gallery', count, h('a.button.primary', { href: '#/upload' }, 'Upload images')), grid, sentinel, status);

  const limit = Math.min(100, Math.max(1, Number(ctx.params.get('limit')) || PAGE));
  let cursor = null;
  let shown = 0;
  let busy = false;
  let finished = false;

  async function more() {
    if (busy || finished) return;
    busy = true;
    status.replaceChildren(loading('Loading images'));
    try {
      const page = await getJson(`/api/images?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const image of page.images) {
        const t = tile(image);
        t.setAttribute('role', 'listitem');
        grid.append(t);
      }
      shown += page.images.length;
      cursor = page.next;
      finished = !cursor;
      count.textContent = `${shown}${finished ? '' : '+'} image${shown === 1 ? '' : 's'}, newest first`;
      status.replaceChildren();
      if (shown === 0) {
        status.replaceChildren(h('div.empty', h('h2', 'No images yet'), h('p', 'Upload a few photos to see them here, with thumbnails, variants and similar images.'),
          h('a.button.primary', { href: '#/upload' }, 'Upload images')));
      }
    } catch (err) {
      status.replaceChildren(problemText(err));
      finished = true;
    } finally {
      busy = false;
    }
    // A short first page may not fill the screen: keep loading while the sentinel shows.
    if (!finished && sentinel.getBoundingClientRect().top < innerHeight + 400) more();
  }

  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) more();
  }, { rootMargin: '400px' });
  observer.observe(sentinel);
  ctx.onLeave(() => observer.disconnect());
  await more();
}
