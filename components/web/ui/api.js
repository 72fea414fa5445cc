// The darkroom HTTP API as the UI uses it: the API token on writes, problem details
// as errors, uploads with progress events, and jobs driven to their end over NDJSON.

const TOKEN_KEY = 'darkroom.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new CustomEvent('darkroom:token'));
}

/** An RFC 9457 problem (or a network failure) the UI can show as it is. */
export class ApiProblem extends Error {
  constructor(status, problem) {
    const title = problem.title || `HTTP ${status}`;
    super(problem.detail ? `${title}: ${problem.detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = problem.detail || '';
  }

  /** What to tell the user: auth problems say what to do about them. */
  get friendly() {
    if (this.status === 401) return 'This darkroom needs its API token for changes. Sign in with the token, then try again.';
    if (this.status === 403) return `The API token was refused (${this.detail || 'wrong token'}). Sign in with the right one.`;
    return this.message;
  }
}

function authHeaders(headers = {}) {
  const t = token();
  return t ? { ...headers, authorization: `Bearer ${t}` } : headers;
}

async function problemOf(response) {
  let body = {};
  try {
    const text = await response.text();
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  const problem = new ApiProblem(response.status, body);
  if (response.status === 401 || response.status === 403) {
    window.dispatchEvent(new CustomEvent('darkroom:unauthorized', { detail: problem }));
  }
  return problem;
}

/** fetch() with the token on writes; a 4xx/5xx answer throws its ApiProblem. */
export async function request(path, options = {}) {
  const method = (options.method || 'GET').toUpperCase();
  const headers = method === 'GET' || method === 'HEAD' ? options.headers || {} : authHeaders(options.headers);
  let response;
  try {
    response = await fetch(path, { ...options, method, headers });
  } catch (err) {
    throw new ApiProblem(0, { title: 'Network error', detail: String(err.message || err) });
  }
  if (!response.ok) throw await problemOf(response);
  return response;
}

export async function getJson(path) {
  return (await request(path)).json();
}

export async function sendJson(method, path, body) {
  const response = await request(path, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.status === 204 ? null : response.json();
}

/**
 * POSTs `file` (raw bytes) to `path` with XMLHttpRequest, whose upload progress events
 * fetch() lacks. `onProgress(fraction)`; resolves with the JSON answer.
 */
export function upload(path, file, onProgress, contentType) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('content-type', contentType || file.type || 'application/octet-stream');
    xhr.setRequestHeader('accept', 'application/json');
    const t = token();
    if (t) xhr.setRequestHeader('authorization', `Bearer ${t}`);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let body = {};
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : {};
      } catch {
        body = {};
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body);
      } else {
        const problem = new ApiProblem(xhr.status, body);
        if (xhr.status === 401 || xhr.status === 403) {
          window.dispatchEvent(new CustomEvent('darkroom:unauthorized', { detail: problem }));
        }
        reject(problem);
      }
    });
    xhr.addEventListener('error', () => reject(new ApiProblem(0, { title: 'Network error', detail: 'the upload was interrupted' })));
    xhr.send(file);
  });
}

/** Lists every page of a `{"<key>": [...], "next"}` listing, up to `max` items. */
export async function listAll(path, key, max = 500) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await getJson(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    items.push(...page[key]);
    cursor = page.next;
  } while (cursor && items.length < max);
  return items.slice(0, max);
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
export const isTerminal = (state) => TERMINAL.has(state);

/** Reads one NDJSON answer to its end; `onEvent(event)` per line; returns the last job seen. */
async function readEvents(response, onEvent) {
  let job = null;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const handle = (line) => {
    if (!line.trim()) return;
    const event = JSON.parse(line);
    if (event.job) job = event.job;
    onEvent(event);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      handle(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
  handle(buffered);
  return job;
}

/**
 * Creates a job (`spec` as POST /api/jobs takes it) or resumes job `spec.id`, and drives
 * it with `run` until it ends, streaming progress: `onProgress({shards, items, job})`.
 * Resolves with the finished job.
 */
export async function driveJob(spec, onProgress) {
  const ndjson = { accept: 'application/x-ndjson' };
  let job = null;
  let id = spec.id || null;
  for (let round = 0; round < 1000; round++) {
    const response = id
      ? await request(`/api/jobs/${id}/run`, { method: 'POST', headers: ndjson })
      : await request('/api/jobs', { method: 'POST', headers: { ...ndjson, 'content-type': 'application/json' }, body: JSON.stringify(spec) });
    try {
      job = await readEvents(response, (event) => {
        if (event.job) onProgress({ shards: event.job.shards, items: event.job.items, job: event.job });
        else if (event.event === 'progress') onProgress({ shards: event.shards, items: event.items, job });
      });
    } catch {
      job = null; // the stream broke off: ask the job where it is
    }
    if (!job && !id) {
      const location = response.headers.get('location');
      if (!location) throw new ApiProblem(0, { title: 'Job not started', detail: 'the answer named no job' });
      id = location.split('/').pop();
    }
    id = id || job.id;
    if (!job) job = await getJson(`/api/jobs/${id}`);
    onProgress({ shards: job.shards, items: job.items, job });
    if (isTerminal(job.state)) return job;
  }
  throw new ApiProblem(0, { title: 'Job did not finish', detail: 'gave up after 1000 runs' });
}

/** The fraction of a job's work done, from its shard (or item) counts. */
export function jobFraction(progress) {
  const s = progress.shards;
  if (s && s.total) return Math.min(1, (s.succeeded + s.failed) / s.total);
  const i = progress.items;
  if (i && i.total) return Math.min(1, (i.succeeded + i.failed) / i.total);
  return 0;
}
