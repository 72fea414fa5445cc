// Collection map: every image's vector projected to 2-D (PCA, POST /api/vectorize/batch)
// as a zoomable, draggable scatter of thumbnails, coloured by the `cluster` job.

import { driveJob, getJson, listAll, sendJson } from './api.js';
import { progressPanel } from './jobview.js';
import { clear, field, h, pageHead, problemText, tileUrl } from './ui.js';

const COLORS = ['#e8590c', '#c2185b', '#7c3aed', '#0ea5e9', '#16a34a', '#ca8a04', '#db2777', '#0891b2', '#65a30d', '#9333ea', '#dc2626', '#2563eb'];
const LIMIT = 500;

export async function mapPage(view) {
  const k = h('input', { type: 'number', min: 1, max: 12, value: 4, id: 'k' });
  const draw = h('button.primary', { type: 'submit' }, 'Draw the map');
  const progressBox = h('div');
  const mapBox = h('div');
  const form = h('form.card', h('div.row', h('div', field('Clusters', k)), h('div.grow'), draw), progressBox);
  clear(view, pageHead('Collection map', 'Images placed by what they look like: near neighbours look alike. Scroll or pinch to zoom, drag to pan.'), form, mapBox);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    draw.disabled = true;
    progressBox.replaceChildren();
    try {
      const images = await listAll('/api/images?limit=100', 'images', LIMIT);
      const ids = images.filter((i) => i.vector).map((i) => i.id);
      if (ids.length < 2) {
        clear(mapBox, h('div.empty', h('h2', 'Not enough images'), h('p', 'The map needs at least two images with vectors.')));
        return;
      }
      const progress = progressPanel('Cluster progress');
      progressBox.append(progress.el);
      const [batch, job] = await Promise.all([
        sendJson('POST', '/api/vectorize/batch', { ids }),
        driveJob({ task: 'cluster', input: { images: ids }, params: { k: Math.min(Number(k.value) || 4, ids.length) } }, progress.update),
      ]);
      const clusters = job.state === 'succeeded' ? (await getJson(job.result)).clusters : [];
      const clusterOf = new Map();
      clusters.forEach((c, n) => c.ids.forEach((id) => clusterOf.set(id, n)));
      clear(mapBox, scatter(ids, batch.projection, clusterOf), legend(clusters));
    } catch (err) {
      progressBox.append(problemText(err));
    } finally {
      draw.disabled = false;
    }
  });
}

function legend(clusters) {
  return h('div.legend', clusters.map((c, n) => h('span', { style: { '--c': COLORS[n % COLORS.length] } }, `Cluster ${n + 1} (${c.ids.length})`)));
}

function scatter(ids, projection, clusterOf) {
  // A wide plane, as the map's box is: points spread over the width of the screen.
  const [W, H] = [1800, 1000];
  const xs = projection.map((p) => p[0]);
  const ys = projection.map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = (v, lo, hi, size) => (hi > lo ? 80 + ((v - lo) / (hi - lo)) * (size - 160) : size / 2);
  const plane = h('div.plane', { style: { width: `${W}px`, height: `${H}px` } });
  ids.forEach((id, i) => {
    const c = clusterOf.has(id) ? COLORS[clusterOf.get(id) % COLORS.length] : 'var(--muted)';
    plane.append(h('a.point', { href: `#/image/${id}`, 'aria-label': `Image ${id.slice(0, 8)}${clusterOf.has(id) ? `, cluster ${clusterOf.get(id) + 1}` : ''}`,
      style: { left: `${scale(xs[i], minX, maxX, W)}px`, top: `${scale(ys[i], minY, maxY, H)}px`, '--c': c } },
    h('img', { src: tileUrl(id, 192), alt: '', loading: 'lazy' })));
  });
  const map = h('div.map', { id: 'map', role: 'region', 'aria-label': 'Collection map' }, plane);
  let zoom = 1;
  let x = 0;
  let y = 0;
  const apply = () => plane.style.setProperty('transform', `translate(${x}px, ${y}px) scale(${zoom})`);
  const zoomAt = (factor, cx, cy) => {
    const next = Math.max(0.2, Math.min(8, zoom * factor));
    x = cx - ((cx - x) * next) / zoom;
    y = cy - ((cy - y) * next) / zoom;
    zoom = next;
    apply();
  };
  const fit = () => {
    const r = map.getBoundingClientRect();
    zoom = Math.min(r.width / W, r.height / H);
    x = (r.width - W * zoom) / 2;
    y = (r.height - H * zoom) / 2;
    apply();
  };
  map.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = map.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  let drag = null;
  map.addEventListener('pointerdown', (e) => {
    if (e.target.closest('a')) return;
    drag = { px: e.clientX, py: e.clientY, x, y };
    map.setPointerCapture(e.pointerId);
    map.classList.add('dragging');
  });
  map.addEventListener('pointermove', (e) => {
    if (!drag) return;
    x = drag.x + e.clientX - drag.px;
    y = drag.y + e.clientY - drag.py;
    apply();
  });
  map.addEventListener('pointerup', () => {
    drag = null;
    map.classList.remove('dragging');
  });
  const center = (f) => () => {
    const r = map.getBoundingClientRect();
    zoomAt(f, r.width / 2, r.height / 2);
  };
  map.append(h('div.map-tools',
    h('button.small', { type: 'button', 'aria-label': 'Zoom in', onclick: center(1.3) }, '+'),
    h('button.small', { type: 'button', 'aria-label': 'Zoom out', onclick: center(1 / 1.3) }, '−'),
    h('button.small', { type: 'button', 'aria-label': 'Fit to view', onclick: fit }, '⤢')));
  requestAnimationFrame(fit);
  return map;
}
