// A job's live progress (a bar driven by the NDJSON stream) and its result as tables.

import { jobFraction } from './api.js';
import { h } from './ui.js';

/** A progress panel; `update(progress)` takes what driveJob reports. */
export function progressPanel(label) {
  const bar = h('progress', { max: 100, value: 0, 'aria-label': label });
  const text = h('span.muted.small', 'Starting…');
  const percent = h('strong.count', '0%');
  const el = h('div.job-progress', { 'aria-live': 'polite' }, h('div.row', h('span.grow', text), percent), bar);
  function update(progress) {
    const fraction = jobFraction(progress);
    bar.value = Math.round(fraction * 100);
    percent.textContent = `${Math.round(fraction * 100)}%`;
    const s = progress.shards || {};
    const i = progress.items || {};
    const parts = [];
    if (s.total) parts.push(`${s.succeeded + s.failed} of ${s.total} shards`);
    if (i.total) parts.push(`${i.succeeded} of ${i.total} items${i.failed ? `, ${i.failed} failed` : ''}`);
    const state = progress.job ? progress.job.state : 'running';
    text.textContent = `${state[0].toUpperCase()}${state.slice(1)}${parts.length ? ` · ${parts.join(' · ')}` : ''}`;
  }
  return { el, update };
}

function table(headers, rows, numeric = () => false) {
  return h('div.table-wrap', { tabindex: 0 }, h('table',
    h('thead', h('tr', headers.map((name, i) => h(`th${numeric(i) ? '.num' : ''}`, { scope: 'col' }, name)))),
    h('tbody', rows.map((row) => h('tr', row.map((cell, i) => h(`td${numeric(i) ? '.num' : ''}`, cell === undefined || cell === null ? '–' : String(cell))))))));
}

const round = (v) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v);

/** The result of a finished job, shown for what its task is. */
export function resultView(job, result) {
  if (job.task === 'aggregate' && result.groups) {
    const keys = result.groups.length ? Object.keys(result.groups[0].key) : [];
    const columns = [];
    for (const group of result.groups.slice(0, 1)) {
      for (const [column, ops] of Object.entries(group)) {
        if (column === 'key') continue;
        for (const op of Object.keys(ops)) columns.push([column, op]);
      }
    }
    const rows = result.groups.map((g) => [...keys.map((k) => g.key[k]), ...columns.map(([c, op]) => g[c] && g[c][op])]);
    return h('div.stack', { id: 'result' },
      h('div.row', h('span.grow.muted', `${result.rows} rows in ${result.groups.length} groups${result.skipped ? `, ${result.skipped} skipped` : ''}`),
        h('a.button.small', { href: `/api/jobs/${job.id}/result?format=csv`, download: `aggregate-${job.id}.csv` }, 'Download CSV')),
      table([...keys, ...columns.map(([c, op]) => `${c} ${op}`)], rows, (i) => i >= keys.length));
  }
  if (job.task === 'matrix_stats' && result.columns) {
    const rows = result.columns.map((c, i) => [c, round(result.mean[i]), round(result.std[i]), round(result.min[i]), round(result.max[i])]);
    return h('div.stack', { id: 'result' }, h('p.muted', `${result.n} rows × ${result.dims} columns`),
      table(['column', 'mean', 'std', 'min', 'max'], rows, (i) => i > 0));
  }
  if (job.task === 'dedupe' && result.groups) {
    return h('div.stack', { id: 'result' }, h('p', `${result.groups.length} group${result.groups.length === 1 ? '' : 's'} of near-duplicates among ${result.images} images. `,
      h('a', { href: '#/duplicates' }, 'Review them')));
  }
  if (job.task === 'cluster' && result.clusters) {
    return h('div.stack', { id: 'result' }, table(['cluster', 'images', 'centre image'], result.clusters.map((c, i) => [i + 1, c.ids.length, c.centroid_id.slice(0, 12)]), (i) => i === 1),
      h('p', h('a', { href: '#/map' }, 'See them on the map')));
  }
  if (typeof result.images === 'number' && typeof result.succeeded === 'number') {
    return h('div.stack', { id: 'result' }, table(['images', 'succeeded', 'failed'], [[result.images, result.succeeded, (result.failed || []).length]], () => true),
      (result.failed || []).length ? table(['image', 'status', 'detail'], result.failed.map((f) => [f.id.slice(0, 12), f.status, f.detail])) : null);
  }
  return h('pre.json', { id: 'result' }, JSON.stringify(result, null, 2));
}
