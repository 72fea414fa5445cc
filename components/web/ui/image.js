// Image page: the original's facts, its variants, a preset picker with a live preview,
// a render-URL builder, similar images with scores, a share link and delete.

import { ApiProblem, getJson, request, sendJson } from './api.js';
import { canvasFor } from './blurhash.js';
import { clear, copy, fadeImage, field, formatBytes, formatDate, h, loading, megapixels, problemText, tileUrl, toast } from './ui.js';

const PREVIEW = 'w=1200&h=1200&fit=inside&format=webp';
const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'];
const GRAVITIES = ['center', 'smart', 'north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest'];
const FORMATS = ['auto', 'jpeg', 'webp', 'png', 'avif'];

let filtersCache = null;
async function filters() {
  if (!filtersCache) filtersCache = await getJson('/api/filters').catch(() => ({ filters: [], presets: [] }));
  return filtersCache;
}

export async function imagePage(view, id) {
  view.append(loading('Loading the image'));
  let image;
  try {
    image = await getJson(`/api/images/${id}`);
  } catch (err) {
    if (err instanceof ApiProblem && err.status === 404) {
      clear(view, h('div.empty', h('h1', 'No such image'), h('p', 'It may have been deleted.'), h('a.button.primary', { href: '#/' }, 'Back to the gallery')));
      return;
    }
    throw err;
  }
  const catalog = await filters();

  // The viewer: the original's rendition, replaced by a preset's while one is picked.
  const base = `/images/${id}/render?${PREVIEW}`;
  const viewerImg = h('img', { src: base, alt: `Image ${id.slice(0, 8)}`, id: 'preview' });
  const viewerLabel = h('span.label', { id: 'preview-label' }, 'Original');
  const placeholder = image.placeholder && image.placeholder.blurhash ? canvasFor(image.placeholder.blurhash) : null;
  const viewer = h('div.viewer', viewerImg, viewerLabel);
  viewerImg.addEventListener('load', () => viewerImg.classList.remove('busy'));
  function showPreview(src, label) {
    if (viewerImg.getAttribute('src') === src) return;
    viewerImg.classList.add('busy');
    viewerImg.src = src;
    viewerLabel.textContent = label;
    viewerImg.dataset.label = label;
  }

  // Presets: a chip per preset, the original first.
  const presetChips = h('div.chips', { role: 'group', 'aria-label': 'Presets' });
  const saveVariant = h('button.small', { type: 'button', disabled: true }, 'Save as variant');
  let current = null;
  function pick(name) {
    current = name;
    for (const chip of presetChips.children) chip.setAttribute('aria-pressed', String(chip.dataset.preset === (name || '')));
    saveVariant.disabled = !name || variants.some((v) => v.name === name);
    showPreview(name ? `/images/${id}/render?${PREVIEW}&preset=${encodeURIComponent(name)}` : base, name ? `Preset: ${name}` : 'Original');
  }
  presetChips.append(h('button.chip', { type: 'button', 'aria-pressed': 'true', dataset: { preset: '' }, onclick: () => pick(null) }, 'Original'));
  for (const preset of catalog.presets) {
    presetChips.append(h('button.chip', { type: 'button', 'aria-pressed': 'false', title: preset.description || preset.chain, dataset: { preset: preset.name }, onclick: () => pick(preset.name) }, preset.name));
  }
  saveVariant.addEventListener('click', async () => {
    saveVariant.disabled = true;
    try {
      await sendJson('POST', `/api/images/${id}/variants`, { preset: current });
      await loadVariants();
      toast(`Variant ${current} stored`);
    } catch (err) {
      toast(err.friendly || err.message);
      saveVariant.disabled = false;
    }
  });

  const variantsBox = h('div.thumbs', { id: 'variants' });
  let variants = image.variants;
  function renderVariants() {
    clear(variantsBox, variants.length ? variants.map((v) =>
      h('a.thumb', { href: v.url, target: '_blank', rel: 'noopener', dataset: { variant: v.name } },
        fadeImage(v.url, `Variant ${v.name}`, { class: 'loaded' }),
        h('span.meta', h('strong', v.name), h('span.muted', `${v.width}×${v.height}`)))) : h('p.muted', 'No stored variants yet: pick a preset and save it.'));
  }
  // The image object lists the variants made at upload; this lists every stored one.
  async function loadVariants() {
    variants = (await getJson(`/api/images/${id}/variants`)).variants;
    renderVariants();
    saveVariant.disabled = !current || variants.some((v) => v.name === current);
  }
  renderVariants();
  loadVariants().catch(() => {});

  const similarBox = h('div.thumbs', { id: 'similar' }, loading('Finding similar images'));
  getJson(`/api/images/${id}/similar?k=8`).then((answer) => {
    clear(similarBox, answer.results.length ? answer.results.map((r) =>
      h('a.thumb', { href: `#/image/${r.id}`, dataset: { id: r.id } },
        fadeImage(tileUrl(r.id, 240), `Similar image ${r.id.slice(0, 8)}`),
        h('span.meta', h('span.muted', r.id.slice(0, 6)), h('span.score', { title: 'cosine similarity of the image vectors (1 = same)' }, Math.min(1, r.score).toFixed(3))))) : h('p.muted', 'No other images yet.'));
  }).catch((err) => clear(similarBox, problemText(err)));

  // Facts.
  const swatch = image.placeholder && image.placeholder.color ? h('span.swatch', { style: { background: image.placeholder.color } }) : null;
  const facts = h('dl.facts',
    h('dt', 'Format'), h('dd', image.format.toUpperCase()),
    h('dt', 'Size'), h('dd', `${image.width} × ${image.height} (${megapixels(image.width, image.height)})`),
    h('dt', 'Bytes'), h('dd', formatBytes(image.bytes)),
    h('dt', 'Uploaded'), h('dd', formatDate(image.created)),
    h('dt', 'Colour'), h('dd', swatch, image.placeholder ? image.placeholder.color : '–'),
    h('dt', 'Vector'), h('dd', image.vector ? `${image.vector.dims} dimensions` : 'not yet'),
    h('dt', 'Id'), h('dd.mono.small', image.id));
  if (placeholder) {
    placeholder.classList.add('blurhash-sample');
  }

  // Share and delete.
  const shareOut = h('div');
  const shareButton = h('button', { type: 'button' }, 'Share link');
  shareButton.addEventListener('click', async () => {
    try {
      const answer = await sendJson('POST', `/api/images/${id}/share`, { ttl: 86400 });
      const url = new URL(answer.url, location.origin).href;
      const box = h('input', { value: url, readonly: true, 'aria-label': 'Share link' });
      clear(shareOut, h('div.urlbox', box, h('button.small', { type: 'button', onclick: () => copy(url, 'Link copied') }, 'Copy')),
        h('p.muted.small', answer.expires ? `Valid until ${formatDate(answer.expires)}.` : 'Reads are public here: the link does not expire.'));
    } catch (err) {
      clear(shareOut, problemText(err));
    }
  });
  const deleteButton = h('button.danger', { type: 'button' }, 'Delete');
  deleteButton.addEventListener('click', async () => {
    if (!confirm('Delete this image, its thumbnail, variants and vector?')) return;
    try {
      await request(`/api/images/${id}`, { method: 'DELETE' });
      toast('Image deleted');
      location.hash = '#/';
    } catch (err) {
      clear(shareOut, problemText(err));
    }
  });

  clear(view,
    h('div.page-head', h('div', h('h1', `Image ${id.slice(0, 8)}`), h('p.muted', `${image.format.toUpperCase()} · ${image.width}×${image.height} · ${formatBytes(image.bytes)}`)),
      h('div.row', h('a.button', { href: image.urls.original, target: '_blank', rel: 'noopener' }, 'Original'), shareButton, deleteButton)),
    shareOut,
    h('div.image-layout',
      h('div.stack',
        viewer,
        h('section.card', { 'aria-labelledby': 'presets-title' },
          h('div.section-title', h('h2', { id: 'presets-title' }, 'Presets'), saveVariant),
          h('p.muted.small', 'Pick one to preview it on this image.'), presetChips),
        h('section.card', { 'aria-labelledby': 'similar-title' }, h('h2', { id: 'similar-title' }, 'Similar images'), similarBox)),
      h('div.stack',
        h('section.card', { 'aria-labelledby': 'facts-title' }, h('h2', { id: 'facts-title' }, 'Facts'), facts),
        h('section.card', { 'aria-labelledby': 'variants-title' }, h('h2', { id: 'variants-title' }, 'Variants'), variantsBox),
        builder(id, catalog))));
}

/** The render-URL builder: a form whose every change rebuilds the URL and its preview. */
function builder(id, catalog) {
  const select = (options, value) => h('select', options.map((o) => h('option', { value: o, selected: o === value }, o)));
  const controls = {
    w: h('input', { type: 'number', min: 1, max: 8000, value: 640, inputmode: 'numeric' }),
    h: h('input', { type: 'number', min: 1, max: 8000, value: 400, inputmode: 'numeric' }),
    fit: select(FITS, 'cover'),
    gravity: select(GRAVITIES, 'center'),
    format: select(FORMATS, 'webp'),
    q: h('input', { type: 'number', min: 1, max: 100, value: 80 }),
    preset: select(['', ...catalog.presets.map((p) => p.name)], ''),
    filter: h('input', { type: 'text', placeholder: 'grayscale,contrast:1.2', spellcheck: 'false' }),
  };
  controls.preset.options[0].textContent = '(none)';
  const url = h('input', { readonly: true, id: 'render-url', 'aria-label': 'Render URL' });
  const openLink = h('a.button.small', { target: '_blank', rel: 'noopener', id: 'render-open' }, 'Open');
  const img = h('img', { alt: 'Render preview', id: 'render-preview' });
  const size = h('p.muted.small', { id: 'render-size', 'aria-live': 'polite' });
  const problem = h('div');
  img.addEventListener('load', () => {
    size.textContent = `Rendered ${img.naturalWidth} × ${img.naturalHeight}`;
    problem.replaceChildren();
  });
  img.addEventListener('error', async () => {
    size.textContent = '';
    try {
      await request(url.value);
    } catch (err) {
      clear(problem, problemText(err));
    }
  });

  let timer = null;
  function update() {
    const q = new URLSearchParams();
    for (const key of ['w', 'h', 'fit', 'gravity', 'format', 'q', 'preset', 'filter']) {
      const value = controls[key].value.trim();
      if (value) q.set(key, value);
    }
    const path = `/images/${id}/render?${q.toString().replaceAll('%2C', ',').replaceAll('%3A', ':')}`;
    url.value = new URL(path, location.origin).href;
    openLink.href = path;
    clearTimeout(timer);
    timer = setTimeout(() => {
      img.src = path;
    }, 300);
  }
  for (const control of Object.values(controls)) {
    control.addEventListener('input', update);
    control.addEventListener('change', update);
  }
  update();
  return h('section.card', { 'aria-labelledby': 'builder-title' },
    h('h2', { id: 'builder-title' }, 'Render URL'),
    h('div.grid-2', field('Width', controls.w), field('Height', controls.h), field('Fit', controls.fit), field('Gravity', controls.gravity),
      field('Format', controls.format), field('Quality', controls.q), field('Preset', controls.preset), field('Filters', controls.filter)),
    h('div.urlbox', url, h('button.small', { type: 'button', onclick: () => copy(url.value, 'URL copied') }, 'Copy'), openLink),
    h('div.builder-preview', img), size, problem);
}
