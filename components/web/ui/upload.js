// Upload: drop files or pick them; each is POSTed on its own with a progress bar, and
// its problem detail (too large, not an image, ...) is shown next to it.

import { upload } from './api.js';
import { formatBytes, h, clear, pageHead } from './ui.js';

const PARALLEL = 2;

export async function uploadPage(view) {
  const input = h('input.visually-hidden', { type: 'file', id: 'file-input', accept: 'image/*', multiple: true });
  const list = h('ul.uploads', { 'aria-label': 'Uploads' });
  const summary = h('p.muted', { 'aria-live': 'polite' });
  const zone = h('label.dropzone', { for: 'file-input' },
    icon(),
    h('span.big', 'Drop photos here'),
    h('span.muted', 'or click to choose files: JPEG, PNG, WebP, GIF, AVIF…'),
    input);
  clear(view, pageHead('Upload', 'Each photo is stored, thumbnailed, vectorised and given its variants as it arrives.'), zone, summary, list);

  const queue = [];
  let active = 0;
  let done = 0;
  let failed = 0;

  function start(files) {
    for (const file of files) {
      const item = row(file);
      list.prepend(item.el);
      queue.push(item);
    }
    pump();
  }

  function pump() {
    while (active < PARALLEL && queue.length) {
      const item = queue.shift();
      active++;
      item.send().then((ok) => {
        active--;
        if (ok) done++;
        else failed++;
        summary.textContent = `${done} uploaded${failed ? `, ${failed} failed` : ''}${queue.length + active ? `, ${queue.length + active} to go` : ''}.`;
        pump();
      });
    }
  }

  input.addEventListener('change', () => {
    start([...input.files]);
    input.value = '';
  });
  for (const type of ['dragenter', 'dragover']) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add('over');
    });
  }
  for (const type of ['dragleave', 'drop']) zone.addEventListener(type, () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    start([...e.dataTransfer.files]);
  });
}

function row(file) {
  const preview = h('img', { alt: '', src: URL.createObjectURL(file) });
  preview.addEventListener('load', () => URL.revokeObjectURL(preview.src), { once: true });
  preview.addEventListener('error', () => preview.removeAttribute('src'), { once: true });
  const bar = h('progress', { max: 100, value: 0, 'aria-label': `Upload progress of ${file.name}` });
  const status = h('div.status', 'Waiting…');
  const action = h('div');
  const el = h('li.upload-item', preview, h('div', h('div.name', { title: file.name }, file.name), bar, status), action);
  el.dataset.name = file.name;
  async function send() {
    el.classList.add('sending');
    status.textContent = `Uploading ${formatBytes(file.size)}…`;
    try {
      const body = await upload('/api/images', file, (f) => {
        bar.value = Math.round(f * 100);
        if (f >= 1) status.textContent = 'Processing…';
      });
      const image = body.images ? body.images[0] : body;
      bar.value = 100;
      el.classList.add('done');
      el.dataset.id = image.id;
      status.textContent = `Stored: ${image.format.toUpperCase()} ${image.width}×${image.height}, ${formatBytes(image.bytes)}`;
      action.append(h('a.button.small', { href: `#/image/${image.id}` }, 'Open'));
      return true;
    } catch (err) {
      el.classList.add('error');
      status.textContent = err.friendly || err.message;
      status.setAttribute('role', 'alert');
      return false;
    }
  }
  return { el, send };
}

function icon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '40');
  svg.setAttribute('height', '40');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M12 16V4m0 0-4 4m4-4 4 4M4 16v2a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-2');
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '2');
  path.setAttribute('stroke-linecap', 'round');
  path.setAttribute('stroke-linejoin', 'round');
  svg.append(path);
  return svg;
}
