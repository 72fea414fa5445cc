// API page: the routes of /api/openapi.json, grouped by their first path segment, each
// with its summary, parameters and documented responses.

import { getJson } from './api.js';
import { clear, h, pageHead } from './ui.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

export async function apiPage(view) {
  const doc = await getJson('/api/openapi.json');
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    const group = path.startsWith('/api/') ? path.split('/')[2] : path.split('/')[1] || '/';
    if (!groups.has(group)) groups.set(group, []);
    for (const method of METHODS) if (item[method]) groups.get(group).push([method, path, item[method], item.parameters || []]);
  }
  const count = [...groups.values()].reduce((n, routes) => n + routes.length, 0);
  const filter = h('input', { type: 'search', placeholder: 'Filter routes', 'aria-label': 'Filter routes' });
  const body = h('div.stack', { id: 'routes' });
  const sections = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([group, routes]) =>
    h('section.card', { 'aria-label': `${group} routes` }, h('h2', group), routes.map(([method, path, op, shared]) => route(method, path, op, shared))));
  body.append(...sections);
  filter.addEventListener('input', () => {
    const q = filter.value.toLowerCase();
    for (const el of body.querySelectorAll('.route')) el.hidden = q && !el.dataset.search.includes(q);
    for (const section of sections) section.hidden = !section.querySelector('.route:not([hidden])');
  });
  clear(view, pageHead('API', `${doc.info.title} ${doc.info.version}: ${count} operations, OpenAPI ${doc.openapi}.`,
    h('a.button', { href: '/api/openapi.json', download: 'openapi.json' }, 'Download openapi.json')), h('div.field', filter), body);
}

function route(method, path, op, shared) {
  const params = [...shared, ...(op.parameters || [])];
  const responses = Object.entries(op.responses || {});
  const details = params.length || responses.length || op.description
    ? h('details', h('summary', 'Details'),
      op.description ? h('p', op.description) : null,
      params.length ? h('p', h('strong', 'Parameters: '), params.map((p, i) => [i ? ', ' : '', h('code', p.name || (p.$ref || '').split('/').pop()), p.in ? ` (${p.in})` : ''])) : null,
      responses.length ? h('p', h('strong', 'Responses: '), responses.map(([status, r], i) => [i ? ', ' : '', h('code', status), r.description ? ` ${r.description}` : ''])) : null)
    : null;
  const el = h('div.route', h(`span.method.${method}`, method), h('div', h('div.path', path), h('div.muted.small', op.summary || op.operationId || '')), details);
  el.dataset.search = `${method} ${path} ${op.summary || ''}`.toLowerCase();
  return el;
}
