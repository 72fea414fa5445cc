// Jobs: the list with state, a "new job" form generated from each task's JSON Schema,
// live progress while it runs (driving `run` until it ends), and its result.

import { driveJob, getJson, isTerminal, listAll, request } from './api.js';
import { progressPanel, resultView } from './jobview.js';
import { schemaForm } from './schemaform.js';
import { clear, field, formatDate, h, loading, pageHead, problemText, toast } from './ui.js';

export async function jobsPage(view, ctx) {
  const listBox = h('div', loading('Loading jobs'));
  const formBox = h('section.card', { 'aria-labelledby': 'new-job-title' }, h('h2', { id: 'new-job-title' }, 'New job'), loading('Loading tasks'));
  const runBox = h('div.stack', { id: 'run' });
  clear(view, pageHead('Jobs', 'Batch work over images or datasets, run in shards and resumable.'),
    h('div.jobs-layout', h('div.stack', runBox, h('section.card', { 'aria-labelledby': 'jobs-title' }, h('h2', { id: 'jobs-title' }, 'Recent jobs'), listBox)), formBox));

  const refreshList = async () => {
    try {
      const jobs = (await getJson('/api/jobs?limit=25')).jobs;
      clear(listBox, jobs.length ? jobsTable(jobs) : h('p.muted', 'No jobs yet: start one with the form.'));
    } catch (err) {
      clear(listBox, problemText(err));
    }
  };
  const [{ tasks }, datasets] = await Promise.all([getJson('/api/tasks'), listAll('/api/datasets', 'datasets', 200).catch(() => [])]);
  refreshList();
  newJobForm(formBox, tasks, datasets, ctx.params, runBox, refreshList);
}

function jobsTable(jobs) {
  return h('div.table-wrap', { tabindex: 0 }, h('table',
    h('thead', h('tr', h('th', { scope: 'col' }, 'Task'), h('th', { scope: 'col' }, 'State'), h('th.num', { scope: 'col' }, 'Items'), h('th', { scope: 'col' }, 'Created'))),
    h('tbody', jobs.map((job) => h('tr',
      h('td', h('a', { href: `#/jobs/${job.id}` }, job.task)),
      h('td', h(`span.badge.${job.state}`, job.state)),
      h('td.num', job.items ? `${job.items.succeeded}/${job.items.total}` : '–'),
      h('td', formatDate(job.created)))))));
}

function newJobForm(box, tasks, datasets, params, runBox, refreshList) {
  const taskSelect = h('select', { name: 'task', id: 'task' }, tasks.map((t) => h('option', { value: t.name, selected: t.name === params.get('task') }, t.name)));
  const datasetSelect = h('select', { name: 'dataset', id: 'dataset' }, datasets.map((d) =>
    h('option', { value: d.id, selected: d.id === params.get('dataset') }, `${d.id.slice(0, 10)}… · ${d.rows} rows · ${d.columns.map((c) => c.name).join(', ').slice(0, 40)}`)));
  const description = h('p.muted.small');
  const inputBox = h('div');
  const paramsBox = h('div');
  const submit = h('button.primary', { type: 'submit' }, 'Run job');
  const problem = h('div');
  let form = null;
  const task = () => tasks.find((t) => t.name === taskSelect.value);
  function refresh() {
    const t = task();
    description.textContent = t.description;
    const dataset = datasets.find((d) => d.id === datasetSelect.value);
    if (t.input === 'dataset') {
      clear(inputBox, datasets.length ? field('Dataset', datasetSelect) : h('p.problem', 'Upload a dataset first (Datasets).'));
    } else {
      clear(inputBox, h('p.small', 'Input: every stored image.'));
    }
    form = schemaForm(t.params, t.input === 'dataset' && dataset ? dataset.columns.map((c) => c.name) : []);
    clear(paramsBox, form.el);
    submit.disabled = t.input === 'dataset' && !datasets.length;
  }
  taskSelect.addEventListener('change', refresh);
  datasetSelect.addEventListener('change', refresh);
  const el = h('form', { id: 'new-job' }, field('Task', taskSelect), description, inputBox, paramsBox, h('div.row.end', submit), problem);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    problem.replaceChildren();
    const t = task();
    let spec;
    try {
      spec = { task: t.name, input: t.input === 'dataset' ? { dataset: datasetSelect.value } : { images: 'all' }, params: form.value() };
    } catch (err) {
      clear(problem, problemText(err));
      return;
    }
    submit.disabled = true;
    try {
      await runJobInto(runBox, spec, t.name);
      refreshList();
    } catch (err) {
      clear(problem, problemText(err));
    } finally {
      submit.disabled = false;
    }
  });
  clear(box, h('h2', { id: 'new-job-title' }, 'New job'), el);
  refresh();
}

/** Runs (or resumes) a job in a card with its progress, then shows its result there. */
async function runJobInto(box, spec, name) {
  const progress = progressPanel(`Progress of ${name}`);
  const resultBox = h('div');
  const card = h('section.card', { 'aria-label': `Job ${name}` }, h('h2', `${name}`), progress.el, resultBox);
  box.prepend(card);
  const job = await driveJob(spec, progress.update);
  card.querySelector('h2').replaceChildren(h('a', { href: `#/jobs/${job.id}` }, name), ' ', h(`span.badge.${job.state}`, job.state));
  await showResult(resultBox, job);
  return job;
}

async function showResult(box, job) {
  if (job.state === 'succeeded' && job.result) {
    const result = await getJson(job.result);
    clear(box, resultView(job, result));
  } else if (job.errors && job.errors.length) {
    clear(box, h('div.table-wrap', { tabindex: 0 }, h('table', h('thead', h('tr', h('th', 'Shard'), h('th', 'Status'), h('th', 'Detail'))),
      h('tbody', job.errors.map((err) => h('tr', h('td', err.shard), h('td', err.status), h('td', err.detail)))))));
  }
}

export async function jobPage(view, id) {
  view.append(loading('Loading the job'));
  const job = await getJson(`/api/jobs/${id}`);
  const progress = progressPanel(`Progress of ${job.task}`);
  progress.update({ shards: job.shards, items: job.items, job });
  const resultBox = h('div');
  const actions = h('div.row');
  if (!isTerminal(job.state)) {
    actions.append(h('button.primary', { type: 'button', onclick: async (e) => {
      e.currentTarget.disabled = true;
      try {
        const done = await driveJob({ id }, progress.update);
        await showResult(resultBox, done);
      } catch (err) {
        resultBox.append(problemText(err));
      }
    } }, 'Resume'));
    actions.append(h('button', { type: 'button', onclick: async () => {
      await request(`/api/jobs/${id}/cancel`, { method: 'POST' }).catch((err) => toast(err.friendly || err.message));
      location.reload();
    } }, 'Cancel'));
  }
  actions.append(h('button.danger', { type: 'button', onclick: async () => {
    try {
      await request(`/api/jobs/${id}`, { method: 'DELETE' });
      toast('Job deleted');
      location.hash = '#/jobs';
    } catch (err) {
      toast(err.friendly || err.message);
    }
  } }, 'Delete'));
  clear(view, pageHead(`Job: ${job.task}`, h('span', h(`span.badge.${job.state}`, job.state), ` · created ${formatDate(job.created)} · `, h('span.mono.small', job.id)), actions),
    h('div.stack', h('section.card', progress.el), h('section.card', h('h2', 'Result'), resultBox)));
  resultBox.append(h('p.muted', isTerminal(job.state) ? 'No result.' : 'The result appears when the job has run to its end.'));
  await showResult(resultBox, job).catch((err) => clear(resultBox, problemText(err)));
}
