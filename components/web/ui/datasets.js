// Datasets: upload a CSV (or NDJSON), list them, and preview one: its columns with their
// types and its first rows, read with a Range request so a large file costs 64 KiB.

import { getJson, listAll, request, upload } from './api.js';
import { parseCsv } from './csv.js';
import { clear, formatBytes, formatDate, h, loading, pageHead, problemText, toast } from './ui.js';

const PREVIEW_BYTES = 65536;

export async function datasetsPage(view) {
  const input = h('input.visually-hidden', { type: 'file', id: 'dataset-input', accept: '.csv,text/csv,.ndjson,.jsonl,application/x-ndjson' });
  const bar = h('progress', { max: 100, value: 0, hidden: true, 'aria-label': 'Dataset upload progress' });
  const status = h('div', { 'aria-live': 'polite' });
  const zone = h('label.dropzone', { for: 'dataset-input' }, h('span.big', 'Drop a CSV file here'), h('span.muted', 'or click to choose one: a header row, then records (NDJSON works too)'), input);
  const listBox = h('div', loading('Loading datasets'));
  clear(view, pageHead('Datasets', 'Tables for the aggregate and matrix_stats jobs.'), zone, h('div.stack', bar, status),
    h('section.card', { 'aria-labelledby': 'datasets-title' }, h('h2', { id: 'datasets-title' }, 'Stored datasets'), listBox));

  async function refresh() {
    try {
      const datasets = await listAll('/api/datasets', 'datasets', 200);
      clear(listBox, datasets.length ? datasetsTable(datasets) : h('p.muted', 'No datasets yet.'));
    } catch (err) {
      clear(listBox, problemText(err));
    }
  }
  async function send(file) {
    bar.hidden = false;
    bar.value = 0;
    status.replaceChildren(h('p.muted', `Uploading ${file.name} (${formatBytes(file.size)})…`));
    const ndjson = /\.(nd)?jsonl?$|ndjson/i.test(file.name) || file.type === 'application/x-ndjson';
    try {
      const dataset = await upload('/api/datasets', file, (f) => (bar.value = Math.round(f * 100)), ndjson ? 'application/x-ndjson' : 'text/csv');
      toast(`Dataset stored: ${dataset.rows} rows`);
      location.hash = `#/datasets/${dataset.id}`;
    } catch (err) {
      bar.hidden = true;
      clear(status, problemText(err));
    }
  }
  input.addEventListener('change', () => input.files[0] && send(input.files[0]));
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer.files[0]) send(e.dataTransfer.files[0]);
  });
  await refresh();
}

function datasetsTable(datasets) {
  return h('div.table-wrap', { tabindex: 0 }, h('table',
    h('thead', h('tr', ['Dataset', 'Format', 'Rows', 'Size', 'Columns', 'Created'].map((t, i) => h(`th${i === 2 || i === 3 ? '.num' : ''}`, { scope: 'col' }, t)))),
    h('tbody', datasets.map((d) => h('tr',
      h('td', h('a.mono', { href: `#/datasets/${d.id}` }, d.id.slice(0, 12))),
      h('td', d.format.toUpperCase()),
      h('td.num', d.rows.toLocaleString()),
      h('td.num', formatBytes(d.bytes)),
      h('td', d.columns.map((c) => c.name).join(', ')),
      h('td', formatDate(d.created)))))));
}

export async function datasetPage(view, id) {
  view.append(loading('Loading the dataset'));
  const dataset = await getJson(`/api/datasets/${id}`);
  const response = await request(`/datasets/${id}`, { headers: { range: `bytes=0-${PREVIEW_BYTES - 1}` } });
  const text = await response.text();
  const complete = response.status === 200 || dataset.bytes <= PREVIEW_BYTES;
  let header = dataset.columns.map((c) => c.name);
  let rows = [];
  if (dataset.format === 'csv') {
    const records = parseCsv(text, complete, 21);
    header = records[0] || header;
    rows = records.slice(1);
  } else {
    rows = text.split('\n').slice(0, complete ? undefined : -1).filter((l) => l.trim()).slice(0, 20).map((line) => {
      const record = JSON.parse(line);
      return header.map((name) => (record[name] === undefined ? '' : String(record[name])));
    });
  }
  const types = new Map(dataset.columns.map((c) => [c.name, c.type]));
  const remove = h('button.danger', { type: 'button' }, 'Delete');
  remove.addEventListener('click', async () => {
    try {
      await request(`/api/datasets/${id}`, { method: 'DELETE' });
      toast('Dataset deleted');
      location.hash = '#/datasets';
    } catch (err) {
      toast(err.friendly || err.message);
    }
  });
  clear(view,
    pageHead(`Dataset ${id.slice(0, 8)}`, `${dataset.format.toUpperCase()} · ${dataset.rows.toLocaleString()} rows · ${formatBytes(dataset.bytes)} · ${formatDate(dataset.created)}`,
      h('a.button.primary', { href: `#/jobs?task=aggregate&dataset=${id}` }, 'Aggregate'),
      h('a.button', { href: `#/jobs?task=matrix_stats&dataset=${id}` }, 'Statistics'),
      h('a.button', { href: `/datasets/${id}`, download: `${id.slice(0, 12)}.${dataset.format}` }, 'Download'), remove),
    h('section.card', { 'aria-labelledby': 'columns-title' }, h('h2', { id: 'columns-title' }, `${dataset.columns.length} columns`),
      h('div.chips', { id: 'columns' }, dataset.columns.map((c) => h('span.chip', { dataset: { type: c.type } }, c.name, h('span.muted.small', c.type))))),
    h('section.card', { 'aria-labelledby': 'rows-title' }, h('h2', { id: 'rows-title' }, `First ${rows.length} rows`),
      h('div.table-wrap', { id: 'preview-rows', tabindex: 0, 'aria-label': 'First rows' }, h('table',
        h('thead', h('tr', header.map((name) => h(`th${types.get(name) === 'number' ? '.num' : ''}`, { scope: 'col' }, name)))),
        h('tbody', rows.map((row) => h('tr', header.map((name, i) => h(`td${types.get(name) === 'number' ? '.num' : ''}`, row[i] ?? '')))))))));
}
