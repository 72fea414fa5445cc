// Duplicates: runs the `dedupe` job over every image with live progress, then shows each
// group side by side; the user keeps one and deletes the rest (as Immich's review does).

import { driveJob, getJson, request } from './api.js';
import { progressPanel } from './jobview.js';
import { clear, field, formatBytes, h, megapixels, pageHead, problemText, tileUrl, toast } from './ui.js';

export async function duplicatesPage(view) {
  const threshold = h('input', { type: 'range', min: 0.8, max: 1, step: 0.005, value: 0.9, id: 'threshold' });
  const thresholdValue = h('output', { for: 'threshold' }, '0.900');
  threshold.addEventListener('input', () => (thresholdValue.textContent = Number(threshold.value).toFixed(3)));
  const run = h('button.primary', { type: 'submit', id: 'find-duplicates' }, 'Find duplicates');
  const progressBox = h('div');
  const groupsBox = h('div.stack', { id: 'groups' });
  const form = h('form.card', h('div.row',
    h('div.grow', field('Similarity threshold', threshold, h('span', 'Cosine similarity of the image vectors: ', thresholdValue, '. Higher finds closer copies.'))),
    run), progressBox);
  clear(view, pageHead('Duplicates', 'Near-identical photos, found by the dedupe job over every stored image.'), form, groupsBox);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    run.disabled = true;
    const progress = progressPanel('Dedupe progress');
    clear(progressBox, progress.el);
    groupsBox.replaceChildren();
    try {
      const job = await driveJob({ task: 'dedupe', input: { images: 'all' }, params: { threshold: Number(threshold.value) } }, progress.update);
      if (job.state !== 'succeeded') throw new Error(`The job ${job.state}: ${(job.errors || []).map((x) => x.detail).join('; ') || 'see Jobs'}`);
      const result = await getJson(job.result);
      await showGroups(groupsBox, result.groups);
    } catch (err) {
      progressBox.append(problemText(err));
    } finally {
      run.disabled = false;
    }
  });
}

async function showGroups(box, groups) {
  if (!groups.length) {
    clear(box, h('div.empty', h('h2', 'No duplicates'), h('p', 'No two images are that similar. Lower the threshold to look further.')));
    return;
  }
  clear(box, h('h2', `${groups.length} group${groups.length === 1 ? '' : 's'} to review`));
  for (const [n, ids] of groups.entries()) {
    const images = (await Promise.all(ids.map((id) => getJson(`/api/images/${id}`).catch(() => null)))).filter(Boolean);
    if (images.length > 1) box.append(groupCard(n + 1, images));
  }
}

function groupCard(n, images) {
  // Keep the largest by default: most pixels, then most bytes.
  const best = [...images].sort((a, b) => b.width * b.height - a.width * a.height || b.bytes - a.bytes)[0];
  let keep = best.id;
  const name = `keep-${n}`;
  const cards = images.map((image) => {
    const radio = h('input', { type: 'radio', name, value: image.id, checked: image.id === keep });
    const card = h('div.dup-card', { dataset: { id: image.id } },
      h('img', { src: tileUrl(image.id, 480), alt: `Image ${image.id.slice(0, 8)}`, loading: 'lazy' }),
      h('div.meta',
        h('label', radio, 'Keep this one'),
        h('div', h('strong', `${image.width} × ${image.height}`), h('span.muted', ` · ${megapixels(image.width, image.height)}`)),
        h('div.muted', `${image.format.toUpperCase()} · ${formatBytes(image.bytes)}`),
        h('a.small', { href: `#/image/${image.id}` }, image.id.slice(0, 12))));
    radio.addEventListener('change', () => {
      keep = image.id;
      refresh();
    });
    card.addEventListener('click', (e) => {
      if (e.target.closest('a, input, label')) return;
      radio.checked = true;
      keep = image.id;
      refresh();
    });
    return card;
  });
  const button = h('button.danger', { type: 'button' });
  const status = h('div');
  function refresh() {
    for (const card of cards) card.classList.toggle('keep', card.dataset.id === keep);
    button.textContent = `Keep 1, delete ${images.length - 1}`;
  }
  refresh();
  const el = h('section.card.dup-group', { 'aria-label': `Duplicate group ${n}` },
    h('div.section-title', h('h3', `Group ${n} · ${images.length} images`), button), h('div.dup-row', cards), status);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      for (const image of images) {
        if (image.id !== keep) await request(`/api/images/${image.id}`, { method: 'DELETE' });
      }
      toast(`Deleted ${images.length - 1} duplicate${images.length > 2 ? 's' : ''}`);
      clear(el, h('p', h('span.keep-tag', 'Resolved: '), `kept `, h('a', { href: `#/image/${keep}` }, keep.slice(0, 12)), `, deleted ${images.length - 1}.`));
      el.classList.add('resolved');
    } catch (err) {
      clear(status, problemText(err));
      button.disabled = false;
    }
  });
  return el;
}
