// Small DOM helpers shared by the pages: an element builder, formatting, toasts.

/**
 * h('a.tile', {href}, child, ...): an element with classes from the tag, attributes
 * (`on*` functions become listeners, `dataset`/`style` objects are applied through the
 * DOM, never as inline attributes CSP would block) and children (strings, nodes, arrays).
 */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs instanceof Node || typeof attrs === 'string' || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'style') for (const [p, v] of Object.entries(value)) el.style.setProperty(p, v);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'class') el.className += ` ${value}`;
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function formatBytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDate(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const shortId = (id) => (id ? `${id.slice(0, 10)}…` : '');
export const megapixels = (w, h) => `${((w * h) / 1e6).toFixed(w * h < 1e6 ? 2 : 1)} MP`;

export function toast(message) {
  const box = document.getElementById('toasts');
  const el = h('div.toast', message);
  box.append(el);
  setTimeout(() => el.remove(), 3500);
}

export function loading(label = 'Loading') {
  return h('div.loading', { role: 'status' }, h('span.spinner', { 'aria-hidden': 'true' }), h('span.visually-hidden', label));
}

export function pageHead(title, subtitle, ...actions) {
  return h('div.page-head', h('div', h('h1', title), subtitle ? h('p.muted', subtitle) : null), actions.length ? h('div.row', actions) : null);
}

/** A problem shown in place (per file, per form). */
export function problemText(err) {
  return h('p.problem', { role: 'alert' }, err && err.friendly ? err.friendly : String(err && err.message ? err.message : err));
}

export async function copy(text, what = 'Copied') {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} to the clipboard`);
  } catch {
    toast('Copy failed: select the text and copy it by hand');
  }
}

/** A thumbnail-sized rendition of image `id` (square, smart-cropped, WebP). */
export function tileUrl(id, size = 360) {
  return `/images/${id}/render?w=${size}&h=${size}&fit=cover&format=webp`;
}

/** An <img> that fades in over its placeholder once loaded. */
export function fadeImage(src, alt, attrs = {}) {
  const img = h('img', { src, alt, loading: 'lazy', decoding: 'async', ...attrs });
  const done = () => img.classList.add('loaded');
  if (img.complete && img.naturalWidth) done();
  else img.addEventListener('load', done, { once: true });
  return img;
}

/** A labelled field: label, control, optional hint. */
export function field(labelText, control, hint) {
  if (!control.id) control.id = `f-${Math.random().toString(36).slice(2, 9)}`;
  return h('div.field', h('label', { for: control.id }, labelText), control, hint ? h('div.hint', hint) : null);
}
